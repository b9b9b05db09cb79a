"""The parsers scripts/compare_parsers.py measures, each as ``read(path, header, dim) -> (tokens, float32 rows)``.

Every alternative is called with the settings a vector file needs (delimiter ' ', no quoting, no comment
character, no NA strings, the token column as text or bytes, ``dim`` value columns) and returns what
vecload's reader returns: a list of str tokens (non-UTF-8 bytes kept as surrogate escapes where the
library hands back bytes) and a C-contiguous float32 array. A library imports inside its reader only.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np


#: When each read's library call returned (the rest of a read is turning its result into vecload's form).
PARSED: list[float] = []


@dataclass(frozen=True)
class Variant:
    """One parser with fixed settings."""

    module: str
    settings: str
    read: Callable[[str, bool, int], tuple[list, np.ndarray]]

    def load(self) -> None:
        """Import the library (timed apart from the read)."""
        importlib.import_module(self.module)


def library_version(module: str) -> str:
    """``name version`` of the library a variant uses."""
    top = module.split(".")[0]
    return f"{top} {getattr(importlib.import_module(top), '__version__', '?')}"


def read_vecload(path: str, header: bool, dim: int, *, threads: int | None = None) -> tuple[list, np.ndarray]:
    """vecload's native reader (the numpy parser of vecload/formats/numbers.py)."""
    from vecload.formats import Tuning, read_table

    table = read_table(path, format="word2vec" if header else "glove", tuning=Tuning(threads=threads))
    PARSED.append(time.perf_counter())
    return table.tokens, table.vectors


def read_pandas(path: str, header: bool, dim: int, *, precision: str | None = "round_trip",
                dtype: str = "float64") -> tuple[list, np.ndarray]:
    """pandas' C reader; ``precision`` is its float_precision (None: the default parser). pandas 3.1 reads a
    local file of 5 MB or more on a thread per core (at most its mode.max_threads) by itself, and its
    float_precision is deprecated ("all float precision modes now use the same converter")."""
    import csv
    from collections import defaultdict

    import pandas as pd

    extra = {} if precision is None else {"float_precision": precision}
    frame = pd.read_csv(
        path, sep=" ", header=None, skiprows=1 if header else 0, quoting=csv.QUOTE_NONE, comment=None,
        na_filter=False, engine="c", index_col=False, encoding="utf-8", encoding_errors="surrogateescape",
        dtype=defaultdict(lambda: np.dtype(dtype), {0: object}), **extra,
    )
    PARSED.append(time.perf_counter())
    if frame.shape[1] != dim + 1:
        raise ValueError(f"{frame.shape[1] - 1} value columns, expected {dim}")
    with np.errstate(over="ignore"):  # beyond float32's range is inf, as in the reference
        values = np.ascontiguousarray(frame.iloc[:, 1:].to_numpy(dtype=np.float32))
    return frame[0].tolist(), values


def read_pyarrow(path: str, header: bool, dim: int, *, threads: bool = True,
                 dtype: str = "float64") -> tuple[list, np.ndarray]:
    """pyarrow.csv.read_csv, the token column as binary (bytes kept as they are)."""
    import pyarrow as pa
    from pyarrow import csv

    names = [f"f{i}" for i in range(dim + 1)]
    kind = getattr(pa, dtype)()
    table = csv.read_csv(
        path,
        read_options=csv.ReadOptions(column_names=names, skip_rows=1 if header else 0, use_threads=threads),
        parse_options=csv.ParseOptions(delimiter=" ", quote_char=False, double_quote=False, escape_char=False),
        convert_options=csv.ConvertOptions(column_types={"f0": pa.binary(), **{n: kind for n in names[1:]}},
                                           null_values=[], strings_can_be_null=False, check_utf8=False),
    )
    PARSED.append(time.perf_counter())
    out = np.empty((table.num_rows, dim), dtype=np.float32)
    with np.errstate(over="ignore"):  # beyond float32's range is inf, as in the reference
        for j, column in enumerate(table.columns[1:]):
            start = 0
            for chunk in column.chunks:  # the value buffer itself: to_numpy() would import pandas (0.5 s)
                assert chunk.null_count == 0
                width = chunk.type.byte_width
                buffer = chunk.buffers()[1]
                values = np.frombuffer(buffer, f"<f{width}", len(chunk), chunk.offset * width)
                out[start : start + len(chunk), j] = values
                start += len(chunk)
    tokens = [t.decode("utf-8", "surrogateescape") for t in table.column(0).to_pylist()]
    return tokens, out


def read_polars(path: str, header: bool, dim: int, *, dtype: str = "Float64") -> tuple[list, np.ndarray]:
    """polars.read_csv (its CSV reader has no binary column type: tokens must be UTF-8)."""
    import polars as pl

    names = [f"column_{i + 1}" for i in range(dim + 1)]
    kind = getattr(pl, dtype)
    frame = pl.read_csv(
        path, has_header=False, separator=" ", quote_char=None, comment_prefix=None, skip_rows=1 if header else 0,
        schema={names[0]: pl.String, **{n: kind for n in names[1:]}}, infer_schema=False, null_values=None,
        empty_string_is_null=False, encoding="utf8", raise_if_empty=True, truncate_ragged_lines=False,
    )
    PARSED.append(time.perf_counter())
    values = frame.select(pl.exclude(names[0]).cast(pl.Float32)).to_numpy()
    return frame[names[0]].to_list(), np.ascontiguousarray(values, dtype=np.float32)


#: Every parser measured, by name; ``-f32`` variants parse straight to float32 (not the reference's rule).
VARIANTS: dict[str, Variant] = {
    "vecload": Variant("vecload.formats", "read_table, 2 parse threads", read_vecload),
    "vecload-1t": Variant("vecload.formats", "read_table, 1 parse thread", partial(read_vecload, threads=1)),
    "pandas-round_trip": Variant("pandas", "C engine, float_precision='round_trip', float64 -> float32", read_pandas),
    "pandas-default": Variant("pandas", "C engine, default float_precision, float64 -> float32",
                              partial(read_pandas, precision=None)),
    "pandas-f32": Variant("pandas", "C engine, default float_precision, dtype float32",
                          partial(read_pandas, precision=None, dtype="float32")),
    "pyarrow": Variant("pyarrow.csv", "read_csv, use_threads=True, float64 -> float32", read_pyarrow),
    "pyarrow-1t": Variant("pyarrow.csv", "read_csv, use_threads=False, float64 -> float32",
                          partial(read_pyarrow, threads=False)),
    "pyarrow-f32": Variant("pyarrow.csv", "read_csv, use_threads=True, float32 (direct)",
                           partial(read_pyarrow, dtype="float32")),
    "polars": Variant("polars", "read_csv, Float64 -> Float32", read_polars),
    "polars-f32": Variant("polars", "read_csv, Float32 (direct)", partial(read_polars, dtype="Float32")),
}
