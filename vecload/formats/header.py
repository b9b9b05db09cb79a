"""The word2vec ``count dim`` header: parsed, and checked against what the file can hold before anything
is allocated for it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from vecload.errors import Option, ParseError, Symbol, Wording
from vecload.formats.source import Source

BOM = b"\xef\xbb\xbf"
#: The largest dimension accepted in a header (real vectors have at most a few thousand).
MAX_DIM = 1 << 20
#: gzip and zip (deflate) expand at most about 1032-fold.
_DEFLATE_MAX_RATIO = 1032
_SLACK = 1 << 24
#: The longest line a text reader accepts (a 300-d row is about 3 KB); longer means binary data read as text.
MAX_LINE_BYTES = 1 << 24
HEADER = re.compile(rb"^\s*(\d+)[ \t]+(\d+)[ \t]*\r?$")


@dataclass(frozen=True)
class Header:
    """A word2vec header: the number of rows and the dimension it promises, and its length in bytes."""

    count: int
    dim: int
    length: int


def parse_header(line: bytes, name: str, *, line_number: int = 1) -> Header:
    """Parse a word2vec ``count dim`` header line (the file's line ``line_number``).

    Raises:
        ParseError: The line is not two non-negative integers.
    """
    raw = line[len(BOM):] if line.startswith(BOM) else line
    match = HEADER.match(raw.rstrip(b"\n"))
    if not match:
        shown = raw[:60].decode("utf-8", "replace").rstrip()
        raise ParseError(name, f"expected a 'count dim' header, found {shown!r}", line=line_number)
    return Header(int(match.group(1)), int(match.group(2)), len(line))


def check_header(header: Header, source: Source, binary: bool, limit: int | None = None) -> None:
    """Refuse a header whose promise cannot fit in the file, before anything is allocated for it.

    Each binary record takes at least ``4 * dim + 2`` bytes (a one-byte token and its space), each text
    row at least ``2 * dim + 2``. Where the decompressed size is known (plain files, zip members) or
    bounded (gzip), a count that would need more bytes than the stream can hold is refused. With a
    ``limit`` below the count only the first ``limit`` rows must fit (a file cut short with ``head``
    still reads its first rows, as in gensim).

    Raises:
        ParseError: The dimension is implausible, or the rows to read cannot fit in the file.
    """
    if header.dim > MAX_DIM:
        raise ParseError(source.name, f"the header gives dim {header.dim:,}; vecload accepts at most {MAX_DIM:,}", line=1)
    row = (4 * header.dim + 2) if binary else (2 * header.dim + 2)
    rows = header.count if limit is None else min(limit, header.count)
    size = source.uncompressed_size()
    bound = "the file has"
    if size is None and source.compression == "gzip":
        size, bound = source.size() * _DEFLATE_MAX_RATIO, "the gzip stream can expand to at most"
    if size is not None and rows * row > size + _SLACK:
        raise ParseError(
            source.name,
            f"the header promises {header.count:,} rows of {header.dim} values, which need at least "
            f"{header.count * row:,} bytes, but {bound} {size:,}; the header is wrong or the file is truncated",
            line=1,
            fix=cut_short_hint(None) if rows == header.count else None,
        )


def cut_short_hint(present: int | None) -> Wording:
    """The fix for a file with fewer rows than its header promises: it may have been cut with ``head``."""
    if present is None:
        return Wording("if the file was cut short on purpose (with head?), {} reads its first N rows",
                       Option("limit", Symbol("N")))
    return Wording(f"if the file was cut short on purpose (with head?), {{}} reads the {present} rows present",
                   Option("limit", present))
