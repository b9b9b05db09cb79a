"""Writing a converted file: the tensor's archive (as ``torch.save`` writes it, without torch), the tokens and
metadata records beside it, atomically."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from vecload._atomic import Writer, write_files
from vecload._version import __version__
from vecload.errors import VecloadError
from vecload.store.layout import (
    CAP_FIXED,
    CAP_PER_ROW,
    KIND,
    LAYOUT,
    LINE_BREAKS,
    META_RECORD,
    TOKENS_RECORD,
    all_strings,
    distinct,
    encode_tokens,
    fingerprint,
    record_cap,
)
from vecload.store.archive import write_archive

if TYPE_CHECKING:
    import torch

def save(
    path: Path,
    tokens: list[str],
    vectors: np.ndarray | torch.Tensor,
    meta: dict[str, Any],
    *,
    force: bool = False,
    progress: bool = False,
    vocab_out: Path | None = None,
    extra: Sequence[tuple[Path, Writer]] = (),
    sources: Sequence[Path] = (),
) -> dict[str, Any]:
    """Write one converted file (and the requested extras) atomically.

    Args:
        path: The ``.pth`` to write.
        tokens: One distinct string per row.
        vectors: The float32 table (an array, or a tensor, copied to the CPU if it is elsewhere).
        meta: Metadata to record (source, format, report, options, ...).
        force: Overwrite existing outputs.
        progress: Show a tqdm bar while the tensor is written.
        vocab_out: Also write the tokens there, one per line (JSON lines if a token holds a line break or is
            empty), for tools outside vecload.
        extra: More ``(path, writer)`` pairs written in the same unit.
        sources: Files being read, which no output may replace.

    Returns:
        The metadata as written (with count, dim, version and fingerprints).

    Raises:
        OutputExistsError: An output exists and ``force`` is False.
        VecloadError: The tokens are not distinct strings, or writing failed (nothing was written).
    """
    dtype = str(vectors.dtype).removeprefix("torch.")  # checked before as_array: numpy has no bfloat16
    if dtype != "float32" or vectors.ndim != 2:
        raise VecloadError(f"{path}: a converted file holds a 2-D float32 table, not {vectors.ndim}-D {dtype}")
    vectors = as_array(vectors)
    if len(tokens) != len(vectors):
        raise VecloadError(f"{path}: {len(tokens)} tokens for {len(vectors)} rows; each row needs its token")
    if not all_strings(tokens):
        raise VecloadError(f"{path}: every token must be a str")
    if not distinct(tokens):
        raise VecloadError(f"{path}: the tokens are not distinct, so rows could not be addressed by token")
    tokens_record = encode_tokens(tokens)
    written = dict(meta)
    written.update(count=len(tokens), dim=int(vectors.shape[1]), vecload_version=__version__,
                   tensor=_fingerprint_sized(vectors), tokens_sha256=hashlib.sha256(tokens_record).hexdigest())
    cap = record_cap(len(tokens))
    if max(len(tokens_record), len(_meta_record(written))) > cap:  # the real fingerprint has the same size
        raise VecloadError(f"{path}: the tokens or metadata take more than {cap:,} bytes, more than a converted "
                           f"file may hold ({CAP_FIXED >> 20} MiB + {CAP_PER_ROW} bytes a row)")

    def records(hashed: Future) -> Iterator[tuple[str, bytes | bytearray]]:
        yield TOKENS_RECORD, tokens_record
        written["tensor"] = hashed.result()
        yield META_RECORD, _meta_record(written)

    def write_converted(fh: BinaryIO) -> None:
        # The fingerprint hashes every byte of the table (hashlib releases the GIL) on a thread while the
        # values are written; the metadata record, written after them, waits for it.
        with ThreadPoolExecutor(1, thread_name_prefix="vecload-hash") as pool:
            _write(fh, vectors, records(pool.submit(fingerprint, vectors)), progress)

    outputs: list[tuple[Path, Writer]] = [(Path(path), write_converted)]
    if vocab_out is not None:
        outputs.append((Path(vocab_out), lambda fh: write_token_lines(fh, tokens)))
    outputs.extend(extra)
    write_files(outputs, force=force, sources=sources)
    return written


def write_table(fh: BinaryIO, vectors: np.ndarray, tokens_record: bytes | bytearray, meta_record: bytes,
                progress: bool) -> None:
    """The bare tensor's archive (:mod:`vecload.store.archive`) with the given vecload records in it."""
    _write(fh, as_array(vectors), [(TOKENS_RECORD, tokens_record), (META_RECORD, meta_record)], progress)


def _write(fh: BinaryIO, array: np.ndarray, records: Iterable[tuple[str, bytes | bytearray]], progress: bool) -> None:
    """The archive, its serialization id derived from the shape (the same table always gives the same file)."""
    serial = str(int(hashlib.sha256(repr(array.shape).encode()).hexdigest()[:32], 16)).zfill(40)
    if not progress:
        write_archive(fh, array, serial, records)
        return
    from tqdm import tqdm

    with tqdm(total=array.nbytes, unit="B", unit_scale=True, desc="writing", leave=False) as bar:
        write_archive(fh, array, serial, records, bar.update)


def _meta_record(meta: dict[str, Any]) -> bytes:
    return json.dumps({"kind": KIND, "layout": LAYOUT, "meta": meta}, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def _fingerprint_sized(array: np.ndarray) -> dict[str, Any]:
    """A stand-in for :func:`fingerprint` with the same keys and lengths, for checking the record's size."""
    return {"dtype": "float32", "shape": list(array.shape), "sample_sha256": "0" * 64, "sha256": "0" * 64}


def as_array(vectors: np.ndarray | torch.Tensor) -> np.ndarray:
    """The table as a C-contiguous float32 numpy array (a tensor's own memory where it can be)."""
    if not isinstance(vectors, np.ndarray):
        vectors = vectors.detach().cpu().contiguous().numpy()
    return np.ascontiguousarray(vectors)


def write_token_lines(fh: BinaryIO, tokens: list[str]) -> None:
    """The tokens one per line; every line a JSON string when a token holds a line break or is empty."""
    if token_lines_are_json(tokens):
        joined = "\n".join(json.dumps(token, ensure_ascii=False) for token in tokens)
    else:
        joined = "\n".join(tokens)
    fh.write(joined.encode("utf-8"))
    if tokens:
        fh.write(b"\n")


def token_lines_are_json(tokens: list[str]) -> bool:
    """True when :func:`write_token_lines` writes JSON lines for ``tokens``."""
    return LINE_BREAKS.search("".join(tokens)) is not None or "" in tokens


def write_json(fh: BinaryIO, document: Any, indent: int | None = None) -> None:
    """A JSON document in UTF-8 (compact unless ``indent``), ending in a newline."""
    separators = (",", ":") if indent is None else None
    fh.write(json.dumps(document, ensure_ascii=False, indent=indent, separators=separators).encode("utf-8") + b"\n")
