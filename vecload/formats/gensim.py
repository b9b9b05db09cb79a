"""The reference engine: gensim's ``KeyedVectors.load_word2vec_format``, made safe.

gensim reads the numbers; a structural pre-scan of our own (tokens and row boundaries only) catches
what gensim gets silently wrong: rows dropped when the header's count is too small, duplicate tokens
(gensim leaves ``None`` keys behind), rows of the wrong length, and errors without a line number.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from vecload.errors import UTF8_REPAIR, ParseError
from vecload.formats.header import BOM, MAX_LINE_BYTES, parse_header
from vecload.formats.source import Source
from vecload.formats.builder import TableBuilder
from vecload.formats.table import ReadOptions, Table

_CHUNK = 1 << 20


def read_gensim(source: Source, fmt: str, options: ReadOptions) -> Table:
    """Read a source with gensim, checked against a structural pre-scan.

    Args:
        source: The stream to read.
        fmt: One of ``glove``, ``word2vec``, ``word2vec-binary``.
        options: The read options.

    Returns:
        The table, bit-identical to what gensim parses, with duplicates handled by ``options``.

    Raises:
        ParseError: The file is malformed, or gensim would silently return a wrong table.
    """
    from gensim.models import KeyedVectors

    if fmt == "word2vec-binary":
        tokens, where, dim, bom, count = _scan_binary(source, options)
    else:
        tokens, where, dim, bom, count = _scan_text(source, fmt, options)
    if not tokens:  # limit=0, or a header promising no rows: nothing for gensim to read
        builder = TableBuilder(source.name, fmt, dim, options)
        builder.report.bom = bom
        return builder.finish()
    try:
        with _plain_path(source, options.max_bytes) as path, _gensim_errors(source.name):
            kv = KeyedVectors.load_word2vec_format(
                os.fspath(path),
                binary=fmt == "word2vec-binary",
                no_header=fmt == "glove",
                unicode_errors=options.unicode_errors,
                limit=len(tokens),
            )
    except ParseError as exc:
        if fmt != "word2vec-binary":
            _locate_bad_number(source, where, exc, options.max_bytes)
        raise
    # With duplicate tokens gensim leaves trailing None keys over unfilled rows; drop both (the pre-scan
    # reports the duplicates).
    gensim_tokens = list(kv.index_to_key)
    while gensim_tokens and gensim_tokens[-1] is None:
        gensim_tokens.pop()
    if None in gensim_tokens or kv.vectors.shape[0] < len(gensim_tokens):
        raise ParseError(source.name, "gensim returned an inconsistent table; use engine='native'")
    if bom and gensim_tokens and gensim_tokens[0].startswith("\ufeff"):
        gensim_tokens[0] = gensim_tokens[0][1:]
    index = {t: i for i, t in enumerate(gensim_tokens)}
    missing = [t for t in tokens if t not in index]
    if missing:
        raise ParseError(
            source.name,
            f"gensim's tokens differ from the file's rows (for example {missing[0]!r}); use engine='native'",
        )
    builder = TableBuilder(source.name, fmt, dim, options, unit="offset" if fmt == "word2vec-binary" else "line")
    builder.report.bom = bom
    rows = kv.vectors[: len(gensim_tokens)][np.fromiter((index[t] for t in tokens), dtype=np.intp, count=len(tokens))]
    builder.add_chunk(tokens, np.asarray(rows, dtype=np.float32), where)
    if count is not None:
        builder.report.header = [count, dim]
    return builder.finish()


def _scan_text(source: Source, fmt: str, options: ReadOptions) -> tuple[list[str], list[int], int, bool, int | None]:
    """Tokens, line numbers, dim, BOM and header count (None for GloVe) of a text file, split as gensim
    splits, with every row's length checked."""
    tokens: list[str] = []
    where: list[int] = []
    limit = options.limit
    with source.open(options.max_bytes) as stream:
        first = _readline(stream, source.name, 1)
        bom = first.startswith(BOM)
        line_no = 1
        header = None
        if fmt == "word2vec":
            header = parse_header(first, source.name)
            dim = header.dim
            line = _readline(stream, source.name, 2)
            line_no = 2
        else:
            line = first[len(BOM):] if bom else first
            first_row = line.rstrip().split(b" ")
            if not first_row[0]:
                raise ParseError(source.name, "the first row has no token (it starts with a space)", line=1)
            dim = len(first_row) - 1
        while line and (limit is None or len(tokens) < limit):
            if header is not None and len(tokens) == header.count:
                if line.strip():
                    raise ParseError(
                        source.name,
                        f"the header promises {header.count} rows but there are more (gensim would "
                        f"silently drop them); fix the header's count",
                        line=line_no,
                    )
            else:
                parts = line.rstrip().split(b" ")
                if len(parts) - 1 != dim:
                    raise ParseError(
                        source.name,
                        f"{len(parts) - 1} values, expected {dim} (gensim splits on single spaces; "
                        f"tokens with spaces need engine='native')",
                        line=line_no,
                    )
                tokens.append(_decode(parts[0], options, source.name, line_no))
                where.append(line_no)
            line_no += 1
            line = _readline(stream, source.name, line_no)
    if header is not None and len(tokens) < min(header.count, header.count if limit is None else limit):
        raise ParseError(
            source.name,
            f"the header promises {header.count} rows but the file ends after {len(tokens)}",
            line=line_no,
        )
    if dim <= 0:
        raise ParseError(source.name, "the first row has no values", line=1)
    return tokens, where, dim, bom, header.count if header is not None else None


def _readline(stream, name: str, line_no: int) -> bytes:
    """One line, refusing lines so long that the file must be binary data read as text."""
    line = stream.readline(MAX_LINE_BYTES + 1)
    if len(line) > MAX_LINE_BYTES:
        raise ParseError(
            name,
            f"a line longer than {MAX_LINE_BYTES >> 20} MiB: this is not a text vector file "
            f"(binary data read as text?)",
            line=line_no,
        )
    return line


def _scan_binary(source: Source, options: ReadOptions) -> tuple[list[str], list[int], int, bool, int]:
    """Tokens, byte offsets, dim, BOM and header count of a word2vec binary file, walked record by record
    as gensim does. The stream is read whole, so a compressed one is bounded by ``max_bytes`` (see
    :meth:`Source.bound`) and refused past it."""
    with source.open(options.max_bytes) as stream:
        data = stream.read()
    newline = data.find(b"\n")
    header = parse_header(data[: newline + 1], source.name)
    bom = data.startswith(BOM)
    record = header.dim * 4
    pos = newline + 1
    count = header.count if options.limit is None else min(header.count, options.limit)
    tokens: list[str] = []
    where: list[int] = []
    for _ in range(count):
        space = data.find(b" ", pos)
        if space < 0 or len(data) - space - 1 < record:
            raise ParseError(
                source.name,
                f"the file ends inside record {len(tokens) + 1} of {header.count} (truncated?)",
                offset=pos,
            )
        try:
            token = data[pos:space].decode("utf-8", options.unicode_errors).lstrip("\n")
        except UnicodeDecodeError as exc:
            raise ParseError(
                source.name,
                f"token of record {len(tokens) + 1} is not valid UTF-8 ({exc.reason})",
                offset=pos,
                fix=UTF8_REPAIR,
            ) from exc
        tokens.append(token)
        where.append(pos)
        pos = space + 1 + record
    if (options.limit is None or options.limit >= header.count) and data[pos:].strip():
        raise ParseError(
            source.name,
            f"data after the {header.count} records the header promises (gensim would silently "
            f"drop it); fix the header's count",
            offset=pos,
        )
    return tokens, where, header.dim, bom, header.count


def _locate_bad_number(source: Source, where: list[int], cause: ParseError, max_bytes: int | None) -> None:
    """Find the row whose value gensim could not parse, and raise an error naming its line."""
    rows = set(where)
    with source.open(max_bytes) as stream:
        for line_no, line in enumerate(stream, start=1):
            if line_no not in rows:
                continue
            for field in line.rstrip().split(b" ")[1:]:
                try:
                    float(field)
                except ValueError:
                    shown = field[:40].decode("utf-8", "replace")
                    raise ParseError(source.name, f"{shown!r} is not a number", line=line_no) from cause


def _decode(raw: bytes, options: ReadOptions, name: str, line_no: int) -> str:
    try:
        return raw.decode("utf-8", options.unicode_errors)
    except UnicodeDecodeError as exc:
        raise ParseError(
            name,
            f"the token is not valid UTF-8 ({exc.reason} at byte {exc.start})",
            line=line_no,
            fix=UTF8_REPAIR,
        ) from exc


#: The suffix from which smart_open (which gensim opens files with) infers each compression (its
#: lzma.open reads legacy .lzma streams as well as xz).
_SMART_OPEN_SUFFIX = {None: "", "gzip": ".gz", "bz2": ".bz2", "xz": ".xz", "lzma": ".xz"}


@contextmanager
def _plain_path(source: Source, max_bytes: int | None = None) -> Iterator[Path]:
    """A path gensim opens as the source's bytes, whatever the source's name.

    gensim (through smart_open) picks a decompressor from the file name, not the content: a plain file
    named ``.gz`` would be fed to gzip, a gzip file named ``.txt`` read as text. So gensim gets a link
    named for the detected compression, or, for an archive member, a decompressed copy (bounded by
    ``max_bytes`` like every read).
    """
    with tempfile.TemporaryDirectory(prefix="vecload-") as tmp:
        if source.archive is None:
            link = Path(tmp) / ("vectors" + _SMART_OPEN_SUFFIX[source.compression])
            try:
                link.symlink_to(source.path.resolve())
            except OSError:  # no symlinks here (some Windows setups): a copy of the stored bytes
                shutil.copyfile(source.path, link)
            yield link
            return
        plain = Path(tmp) / "vectors"
        with source.open(max_bytes) as stream, open(plain, "wb") as out:
            shutil.copyfileobj(stream, out, _CHUNK)
        yield plain


class _QuietThread(logging.Filter):
    """Drops gensim's records below ERROR logged by one thread: the logger's level, a process-wide setting
    that concurrent reads would restore out of order, is left alone."""

    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or record.thread != self.thread


@contextmanager
def _gensim_errors(name: str) -> Iterator[None]:
    """Turn every exception gensim or smart_open raises into a ParseError naming the file, and quiet its
    logging in this thread (a MemoryError stays what it is)."""
    log = logging.getLogger("gensim.models.keyedvectors")
    quiet = _QuietThread()
    log.addFilter(quiet)
    try:
        yield
    except MemoryError:
        raise
    except Exception as exc:  # gensim's errors name no file and no line; smart_open's are bare OSErrors
        raise ParseError(name, f"gensim could not read it: {type(exc).__name__}: {exc}") from exc
    finally:
        log.removeFilter(quiet)
