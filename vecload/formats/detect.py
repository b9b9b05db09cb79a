"""Recognise a vector format from the first bytes of a stream, and name what anything else looks like."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from vecload.errors import FormatError, ParseError, VecloadError
from vecload.formats.source import Source

#: The formats vecload reads. fastText ``.vec`` files are word2vec text.
FORMATS = ("glove", "word2vec", "word2vec-binary")
FORMAT_HELP = (
    "glove (text, no header), word2vec (text with a 'count dim' header, also fastText .vec) "
    "and word2vec-binary, each optionally gzip-, bz2- or xz-compressed, or a member of a zip or tar archive "
    "(tar, tar.gz, tar.bz2, tar.xz; archive:member)"
)

BOM = b"\xef\xbb\xbf"
HEAD_BYTES = 1 << 16
#: The largest dimension accepted in a header (real vectors have at most a few thousand).
MAX_DIM = 1 << 20
#: gzip and zip (deflate) expand at most about 1032-fold.
_DEFLATE_MAX_RATIO = 1032
_SLACK = 1 << 24
#: The longest line a text reader accepts (a 300-d row is about 3 KB); longer means binary data read as text.
MAX_LINE_BYTES = 1 << 24
_HEADER = re.compile(rb"^\s*(\d+)[ \t]+(\d+)[ \t]*\r?$")
_BLANK_LINES = re.compile(rb"(?:[ \t\r]*\n)*")
_NUMBER_CHARS = re.compile(rb"^[0-9eE+\-.nNaAiIfF \t\r]*$")
_FASTTEXT_BIN_MAGIC = 793712314


@dataclass(frozen=True)
class Header:
    """A word2vec header: the number of rows and the dimension it promises, and its length in bytes."""

    count: int
    dim: int
    length: int


def detect_format(source: Source) -> str:
    """Return the format of a source, judged from its content.

    Args:
        source: The stream to look at.

    Returns:
        One of :data:`FORMATS`.

    Raises:
        FormatError: The content is empty or in no supported format; the message says what it looks like.
    """
    with source.open() as stream:
        try:
            head = stream.read(HEAD_BYTES)
        except (OSError, EOFError, ValueError) as exc:
            raise FormatError(f"{source.name}: cannot read ({exc})") from exc
    return sniff(head, source.name)


def sniff(head: bytes, name: str) -> str:
    """Classify the first bytes of a stream; see :func:`detect_format`."""
    if not head.strip():
        raise FormatError(f"{name}: is empty; expected vectors in one of: {FORMAT_HELP}")
    _refuse_known_foreign(head, name)
    text_head = head[len(BOM):] if head.startswith(BOM) else head
    text_head = text_head[_BLANK_LINES.match(text_head).end():]  # readers skip (and count) blank lines
    first, newline, rest = text_head.partition(b"\n")
    if not newline and len(head) >= HEAD_BYTES:
        raise FormatError(
            f"{name}: has no line break in its first {HEAD_BYTES >> 10} KiB, so it is not a text vector file "
            f"and has no word2vec header; supported formats: {FORMAT_HELP}"
        )
    header = _HEADER.match(first)
    if header and newline:
        dim = int(header.group(2))
        second = rest.split(b"\n", 1)[0]
        token_end = second.find(b" ")
        if token_end >= 0 and _NUMBER_CHARS.match(second[token_end:]):
            fields = second[token_end:].split()
            if len(fields) >= dim or len(rest) < 2:
                return "word2vec"
        return "word2vec-binary"
    if header and not newline:
        return "word2vec"  # a header with no rows; the reader reports it
    if _looks_like_text_row(first):
        return "glove"
    try:
        shown = first[:60].decode("utf-8").rstrip()
        if b"\x00" in text_head[:4096]:
            raise UnicodeDecodeError("utf-8", b"", 0, 1, "NUL byte")
    except UnicodeDecodeError:
        raise FormatError(
            f"{name}: is binary data without a word2vec 'count dim' header (a fastText .bin model, or "
            f"GloVe's own vectors.bin?), which vecload does not read; supported formats: {FORMAT_HELP}"
        ) from None
    raise FormatError(
        f"{name}: is text but not vectors: its first line {shown!r} is neither a 'count dim' header "
        f"nor 'token value value ...'; supported formats: {FORMAT_HELP}"
    )


def parse_header(line: bytes, name: str) -> Header:
    """Parse a word2vec ``count dim`` header line.

    Raises:
        ParseError: The line is not two non-negative integers.
    """
    raw = line[len(BOM):] if line.startswith(BOM) else line
    match = _HEADER.match(raw.rstrip(b"\n"))
    if not match:
        shown = raw[:60].decode("utf-8", "replace").rstrip()
        raise ParseError(name, f"expected a 'count dim' header, found {shown!r}", line=1)
    return Header(int(match.group(1)), int(match.group(2)), len(line))


def check_header(header: Header, source: Source, binary: bool) -> None:
    """Refuse a header whose promise cannot fit in the file, before anything is allocated for it.

    Each binary record takes at least ``4 * dim + 2`` bytes (a one-byte token and its space), each text
    row at least ``2 * dim + 2``. Where the decompressed size is known (plain files, zip members) or
    bounded (gzip), a count that would need more bytes than the stream can hold is refused.

    Raises:
        ParseError: The dimension is implausible, or the count cannot fit in the file.
    """
    if header.dim > MAX_DIM:
        raise ParseError(source.name, f"the header gives dim {header.dim:,}; vecload accepts at most {MAX_DIM:,}", line=1)
    row = (4 * header.dim + 2) if binary else (2 * header.dim + 2)
    size = source.uncompressed_size()
    bound = "the file has"
    if size is None and source.compression == "gzip":
        size, bound = source.size() * _DEFLATE_MAX_RATIO, "the gzip stream can expand to at most"
    if size is not None and header.count * row > size + _SLACK:
        raise ParseError(
            source.name,
            f"the header promises {header.count:,} rows of {header.dim} values, which need at least "
            f"{header.count * row:,} bytes, but {bound} {size:,}; the header is wrong or the file is truncated",
            line=1,
        )


def _looks_like_text_row(first: bytes) -> bool:
    """True for a line of UTF-8 text with a token followed by at least one number."""
    try:
        line = first.decode("utf-8").rstrip("\r")
    except UnicodeDecodeError:
        return False
    fields = line.split(" ")
    if len(fields) < 2:
        return False
    try:
        float(fields[-1])
    except ValueError:
        return False
    return True


def _refuse_known_foreign(head: bytes, name: str) -> None:
    """Raise a specific error for files people commonly mistake for vector files."""
    if len(head) >= 8:
        magic, version = struct.unpack("<ii", head[:8])
        if magic == _FASTTEXT_BIN_MAGIC and 0 <= version < 100:
            raise FormatError(
                f"{name}: is a fastText .bin model, not a vector file; use the .vec file fastText "
                f"writes beside it (or export one with gensim's load_facebook_vectors); supported "
                f"formats: {FORMAT_HELP}"
            )
    lowered = head[:1024].lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")):
        raise FormatError(
            f"{name}: is an HTML or XML page (a failed download, perhaps), not vectors; "
            f"supported formats: {FORMAT_HELP}"
        )
    if head.startswith(b"PK\x03\x04"):
        raise FormatError(f"{name}: is a zip archive nested inside another container; extract it first")
    if head.startswith((b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")):
        raise FormatError(
            f"{name}: is a Python pickle (a gensim model or KeyedVectors.save file?), not a vector "
            f"file; pickles can run code, so vecload does not read them"
        )


def check_format(name: str) -> str:
    """Validate a user-supplied format name."""
    if name not in FORMATS:
        raise VecloadError(f"unknown format {name!r}; choose one of: {', '.join(FORMATS)}")
    return name
