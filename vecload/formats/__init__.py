"""Readers for word-vector files. They return numpy arrays and know nothing of torch."""

from __future__ import annotations

import os
from collections.abc import Callable

from vecload.errors import ArgumentError, Option, VecloadError, Wording
from vecload.formats.detect import FORMATS, check_format, detect_format
from vecload.formats.source import Source, open_source
from vecload.formats.table import READ_CHOICES, ParseReport, ReadOptions, Table, Tuning

__all__ = ["DEFAULT_ENGINE", "ENGINES", "FORMATS", "READ_CHOICES", "ParseReport", "ReadOptions", "Source", "Table", "Tuning", "open_source", "read_table"]


def _gensim(source: Source, fmt: str, options: ReadOptions, tuning: Tuning) -> Table:
    if fmt == "fasttext-bin":
        from vecload.formats.fasttext import read_fasttext_gensim

        return read_fasttext_gensim(source, options)
    from vecload.formats.gensim import read_gensim

    return read_gensim(source, fmt, options)


def _native(source: Source, fmt: str, options: ReadOptions, tuning: Tuning) -> Table:
    if fmt == "word2vec-binary":
        from vecload.formats.binary import read_binary

        return read_binary(source, options, tuning)
    if fmt == "fasttext-bin":
        from vecload.formats.fasttext import read_fasttext

        return read_fasttext(source, options)
    from vecload.formats.text import read_text

    return read_text(source, fmt, options, tuning)


#: Reading engines by name; each takes (source, format, options) and returns a Table.
ENGINES: dict[str, Callable[[Source, str, ReadOptions, Tuning], Table]] = {"native": _native, "gensim": _gensim}
DEFAULT_ENGINE = "native"


def read_table(
    path: str | os.PathLike[str] | Source,
    *,
    format: str | None = None,
    engine: str | None = None,
    member: str | None = None,
    options: ReadOptions | None = None,
    tuning: Tuning | None = None,
) -> Table:
    """Read a vector file into tokens and a float32 matrix.

    Args:
        path: The file (``archive.zip:member`` or ``archive.tar.gz:member`` for a member of an archive), or a Source.
        format: Skip detection and read as this format (one of :data:`FORMATS`).
        engine: ``"native"`` or ``"gensim"``; None picks the default.
        member: The member of a zip or tar archive to read.
        options: Limits, filters and policies.
        tuning: How the native engine cuts the read into pieces (never changes the result).

    Returns:
        The table and a report of what was read.

    Raises:
        FormatError: The file is in no supported format.
        ParseError: The file is malformed; the message names the line or byte offset.
    """
    options = options or ReadOptions()
    source = path if isinstance(path, Source) else open_source(path, member, options.max_bytes)
    fmt = check_format(format) if format else detect_format(source, options.max_bytes)
    name = engine or DEFAULT_ENGINE
    if name not in ENGINES:
        raise ArgumentError(f"unknown engine {name!r}; choose one of: {', '.join(sorted(ENGINES))}")
    if name != "native" and options.bad_rows != "error":
        raise VecloadError(
            f"skipping bad rows is only for the native engine (the {name} engine reads every row or refuses "
            f"the file)",
            fix=Wording("drop {}", Option("engine", name)),
        )
    return ENGINES[name](source, fmt, options, tuning or Tuning())
