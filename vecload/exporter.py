"""``vecload.export``: a table (converted file, any source, or :class:`~vecload.Vectors`) back to a vector file.

The writers live in :mod:`vecload.formats.export`; this module resolves the output, reads the table and
writes atomically through :mod:`vecload._atomic` (the old file or the new one, never a mix).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vecload._atomic import check_outputs, write_files
from vecload._pth import is_converted
from vecload.errors import ArgumentError, Option, VecloadError, Wording
from vecload.formats.export import (
    EXPORT_FORMATS,
    check_table,
    compressed,
    format_from_path,
    projector_config,
    write_lines,
    write_tsv,
    write_vectors,
)
from vecload.conversion import source_paths
from vecload.loader import load
from vecload.store import distinct
from vecload.vectors import Vectors

#: How many rows the projector gets by default (the browser's projector slows down past that).
PROJECTOR_LIMIT = 10_000
STDOUT = "-"


@dataclass(frozen=True)
class Exported:
    """What :func:`export` wrote: the files (none for stdout), the format, and the rows and dim written."""

    files: tuple[Path, ...]
    format: str
    count: int
    dim: int


def export(
    table: Vectors | str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    format: str | None = None,
    force: bool = False,
    nonfinite: str = "error",
    words: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    progress: bool = False,
    **read_options: Any,
) -> Exported:
    """Write a table as GloVe, word2vec text or binary, or the Embedding Projector's TSV pair.

    Text values are the shortest decimals that read back to the same float32, so exporting then reading
    (with vecload or gensim) gives the identical tokens and bit-identical tensor; binary is bit-exact.

    Args:
        table: A :class:`~vecload.Vectors`, a converted ``.pth`` or any source vecload reads.
        out: The file to write (compressed by a ``.gz``/``.bz2``/``.xz`` suffix), ``"-"`` for standard
            output (text formats), or the folder for ``projector`` (``tensors.tsv``, ``metadata.tsv`` and
            TensorBoard's ``projector_config.pbtxt``; the folder is created if missing).
        format: ``glove``, ``word2vec``, ``word2vec-binary`` or ``projector``; by default from ``out``'s
            suffix (``.txt``, ``.vec``, ``.bin``).
        force: Overwrite existing outputs (never the source).
        nonfinite: ``"error"`` refuses rows with NaN or Inf; ``"keep"`` writes them.
        words: Only the rows of these words, one per line, in that order (any format).
        limit: Only the first ``limit`` rows (for ``projector``, 10,000 unless given); of a source file, the
            first ``limit`` rows read, as ``vecload.load(..., limit=)`` counts them (repeats included).
        progress: Show a tqdm bar while writing.
        **read_options: As for :func:`vecload.load`, when ``table`` is a source file.

    Returns:
        What was written.

    Raises:
        ArgumentError: Bad arguments (an unknown format, binary to stdout, ``words`` with ``limit``).
        OutputExistsError: An output exists and ``force`` is False (checked before reading).
        VecloadError: A row the format cannot carry exactly (named with its token), or a word not in the table.

    Example:
        >>> vecload.export("glove.6B.50d.pth", "glove.6B.50d.vec.gz")  # word2vec text, gzip
    """
    fmt = export_format(out, format)
    if words is not None and limit is not None:
        raise ArgumentError("give words or limit, not both")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ArgumentError(f"limit must be a whole number of at least 1, got {limit!r}")
    if not isinstance(table, (Vectors, str, os.PathLike)) or not isinstance(out, (str, os.PathLike)):
        raise ArgumentError(f"export(table, out) takes a path or vecload.Vectors and an output path, got "
                            f"{type(table).__name__} and {type(out).__name__}")
    if fmt == "projector" and limit is None and words is None:
        limit = PROJECTOR_LIMIT
    wanted = _words(Path(words)) if words is not None else None  # a missing file fails before a long read
    targets = _targets(out, fmt)
    protected = (*(source_paths(table) if not isinstance(table, Vectors) else ()),
                 *((Path(words),) if words is not None else ()))
    folder = Path(out) if fmt == "projector" else None
    # a projector folder that does not exist yet is made once the table is read, never for a failed read
    check_outputs(targets if folder is None or folder.is_dir() else [folder], force, protected)
    if limit is not None and not isinstance(table, Vectors) and not is_converted(table):
        read_options.setdefault("limit", limit)  # a source: read only the rows written
    vectors = table if isinstance(table, Vectors) else open_table(table, progress=progress, **read_options)
    tokens, array = _rows(vectors, wanted, limit)
    check_table(tokens, array, fmt, nonfinite, "standard output" if not targets else str(out))
    if not distinct(tokens):
        raise VecloadError(f"{'standard output' if not targets else out}: the tokens are not distinct, so the "
                           f"written table would read back shorter; nothing was written")
    if folder is not None:
        folder.mkdir(exist_ok=True)
    if not targets:
        write_vectors(sys.stdout.buffer, tokens, array, fmt, progress=progress)
        sys.stdout.buffer.flush()
    elif fmt == "projector":
        source = vectors.meta.get("source")
        name = (source.get("name") if isinstance(source, dict) else None) or Path(out).name
        write_files([(targets[0], lambda fh: write_tsv(fh, array, progress=progress)),
                     (targets[1], lambda fh: write_lines(fh, tokens)),
                     (targets[2], lambda fh: fh.write(projector_config(str(name))))], force, protected)
    else:
        def writer(fh: Any) -> None:
            with compressed(fh, targets[0]) as stream:
                write_vectors(stream, tokens, array, fmt, progress=progress)

        write_files([(targets[0], writer)], force, protected)
    return Exported(tuple(targets), fmt, len(tokens), int(array.shape[1]))


def export_format(out: str | os.PathLike[str], format: str | None = None) -> str:
    """The format :func:`export` writes to ``out``: ``format`` if given, else the one its suffix names.

    Raises:
        ArgumentError: An unknown format, no format for stdout or an unknown suffix, or a format that
            cannot go to stdout.
    """
    to_stdout = os.fspath(out) == STDOUT
    if format is None and to_stdout:
        raise ArgumentError("writing to standard output needs a format",
                            fix=Wording("give {}", Option("format", "word2vec")))
    fmt = format or format_from_path(out)
    if fmt not in EXPORT_FORMATS:
        raise ArgumentError(f"unknown export format {fmt!r}; choose one of: {', '.join(EXPORT_FORMATS)}")
    if to_stdout and fmt in ("word2vec-binary", "projector"):
        raise ArgumentError(f"{fmt} is not written to standard output; name an output "
                            + ("folder" if fmt == "projector" else "file"))
    return fmt


def open_table(path: str | os.PathLike[str], *, progress: bool = False, **read_options: Any) -> Vectors:
    """A converted file as it is, or a source read with ``read_options`` (and a bar when ``progress``).

    Example:
        >>> open_table("glove.6B.50d.txt.gz", progress=True, limit=1000)
    """
    if is_converted(path) and not read_options.get("member"):
        return load(path, **read_options)  # read options on a converted file are refused there
    return load(path, progress=progress, **read_options)


def _targets(out: str | os.PathLike[str], fmt: str) -> list[Path]:
    """The files to write: none for stdout, the TSV pair in the projector's folder (created if missing)."""
    if os.fspath(out) == STDOUT:
        return []
    path = Path(out)
    if fmt != "projector":
        return [path]
    if path.exists() and not path.is_dir():
        raise VecloadError(f"{path}: is a file; the projector writes a folder (tensors.tsv, metadata.tsv)")
    return [path / "tensors.tsv", path / "metadata.tsv", path / "projector_config.pbtxt"]


def _words(path: Path) -> list[str]:
    """The words of a ``words`` file, one a line (split on newlines only, as task vocabularies are: tokens
    may hold other line-breaking characters), in order, each once; blank lines skipped."""
    lines = [line.removesuffix("\r") for line in path.read_text(encoding="utf-8").split("\n")]
    return [word for word in dict.fromkeys(lines) if word]


def _rows(vectors: Vectors, words: list[str] | None, limit: int | None) -> tuple[list[str], np.ndarray]:
    """The tokens and the float32 rows to write: all, the first ``limit``, or those of ``words``."""
    array = vectors.vectors.detach().cpu().numpy()
    if words is None:
        stop = len(vectors) if limit is None else min(limit, len(vectors))
        return vectors.tokens[:stop], array[:stop]
    missing = [word for word in words if word not in vectors]
    if missing:
        shown = ", ".join(map(repr, missing[:10])) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise VecloadError(f"{len(missing)} of {len(words)} words are not in the table: {shown}; nothing was written")
    return words, array[[vectors.get_index(word) for word in words]]
