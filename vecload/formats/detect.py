"""Recognise a vector format from the first bytes of a stream, and name what anything else looks like."""

from __future__ import annotations

import re

from vecload.errors import ArgumentError, FormatError, Option, Wording
from vecload.formats.fasttext_layout import FASTTEXT_FORMAT, looks_like_fasttext
from vecload.formats.header import BOM, HEADER, MAX_DIM, MAX_LINE_BYTES
from vecload.formats.rows import is_number, row_cause, row_problem
from vecload.formats.source import Source

#: The formats vecload reads. fastText ``.vec`` files are word2vec text; ``fasttext-bin`` is a fastText model.
FORMATS = ("glove", "word2vec", "word2vec-binary", "fasttext-bin")
FORMAT_HELP = (
    "glove (text, no header), word2vec (text with a 'count dim' header, also fastText .vec), "
    "word2vec-binary and fasttext-bin (a fastText .bin model), each optionally gzip-, bz2-, xz- or "
    "lzma-compressed, or a member of a zip or tar archive (tar, tar.gz, tar.bz2, tar.xz, tar.lzma; archive:member)"
)

#: The fix when text and binary evidence disagree: name the format.
_EITHER_FORMAT = Wording("pass {} or {}", Option("format", "word2vec"), Option("format", "word2vec-binary"))

HEAD_BYTES = 1 << 16
_BLANK_LINES = re.compile(rb"(?:[ \t\r]*\n)*")
#: Detection reads at most this much: a first row of MAX_LINE_BYTES, or two records of MAX_DIM values.
MAX_SNIFF_BYTES = 1 << 25
#: How many binary records after a header detection checks (fewer when the header promises fewer, or
#: when two of them already span EVIDENCE_BYTES).
EVIDENCE_ROWS = 8
#: How much of the bytes after a header detection examines at least (when there is that much).
EVIDENCE_BYTES = 1 << 20
#: The longest binary token detection looks for (word2vec.c allows 100 bytes).
MAX_TOKEN_BYTES = 1 << 12
#: Bytes that no text vector file holds (tab, newline, CR and the like are text).
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BAD_TOKEN = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
#: A field that is a number, or one written with a decimal comma or '_' separators (bytes a float32 rarely is).
_NUMBER_LIKE = re.compile(rb"[-+]?(?:[0-9][0-9.,_]*|[.,][0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?|[-+]?(?:nan|inf|infinity)",
                          re.IGNORECASE)


def detect_format(source: Source, max_bytes: int | None = None) -> str:
    """Return the format of a source, judged from its content.

    The first 64 KiB are read, then more (up to :data:`MAX_SNIFF_BYTES`) while the evidence is not yet
    complete: a first row longer than what was read, or binary records not yet whole.

    Args:
        source: The stream to look at.
        max_bytes: The decompression bound, as for the read (see :meth:`Source.open`).

    Returns:
        One of :data:`FORMATS`.

    Raises:
        FormatError: The content is empty, in no supported format, or reads neither as text nor as
            binary with certainty; the message says what it looks like and which ``format`` to try.
    """
    with source.open(max_bytes) as stream:
        try:
            head = stream.read(HEAD_BYTES)
            eof = len(head) < HEAD_BYTES
            while True:
                verdict = _sniff(head, source.name, eof, eof or len(head) >= MAX_SNIFF_BYTES)
                if verdict is not None:
                    return verdict
                more = stream.read(len(head))
                eof = len(more) < len(head)
                head += more
        except (OSError, EOFError, ValueError) as exc:
            raise FormatError(f"{source.name}: cannot read ({exc})") from exc


def sniff(head: bytes, name: str, eof: bool = True) -> str:
    """Classify the first bytes of a stream (all of it when ``eof``); see :func:`detect_format`."""
    verdict = _sniff(head, name, eof, True)
    assert verdict is not None
    return verdict


def _sniff(head: bytes, name: str, eof: bool, final: bool) -> str | None:
    """Classify ``head``; None asks for more bytes (only when not ``final``)."""
    if not head.strip():
        if eof or final:
            raise FormatError(f"{name}: is empty; expected vectors in one of: {FORMAT_HELP}")
        return None
    if looks_like_fasttext(head):
        return FASTTEXT_FORMAT
    _refuse_known_foreign(head, name)
    text_head = head[len(BOM):] if head.startswith(BOM) else head
    skipped = _BLANK_LINES.match(text_head).end()  # readers skip (and count) blank lines
    lines_before = text_head.count(b"\n", 0, skipped)
    text_head = text_head[skipped:]
    first, newline, rest = text_head.partition(b"\n")
    if not newline and not eof:
        if _CONTROL.search(first):
            _refuse_binary_without_header(name)
        if not final and len(first) <= MAX_LINE_BYTES:
            return None
        raise FormatError(
            f"{name}: has no line break in its first {len(head) >> 20} MiB, so it is not a text vector file "
            f"and has no word2vec header; supported formats: {FORMAT_HELP}"
        )
    header = HEADER.match(first)
    if header:
        return _judge_header(int(header.group(1)), int(header.group(2)), rest, lines_before + 2, name, eof, final)
    if _looks_like_text_row(first):
        # Binary data whose first bytes happen to read as 'token number' is not text: its next rows are
        # not rows, and it holds bytes no text file has.
        if not _text_rows(text_head, len(first.rstrip().split(b" ")) - 1, eof):
            _refuse_binary_without_header(name)
        return "glove"
    try:
        shown = first[:60].decode("utf-8").rstrip()
        if b"\x00" in text_head[:4096]:
            raise UnicodeDecodeError("utf-8", b"", 0, 1, "NUL byte")
    except UnicodeDecodeError:
        _refuse_binary_without_header(name)
    cause = row_cause(first.rstrip(b"\r"))
    raise FormatError(
        f"{name}: is text but not vectors: its first line {shown!r} is neither a 'count dim' header "
        f"nor 'token value value ...'{'; ' + cause if cause else ''}; supported formats: {FORMAT_HELP}"
    )


def _judge_header(count: int, dim: int, body: bytes, line: int, name: str, eof: bool, final: bool) -> str | None:
    """Decide between word2vec text and binary after a ``count dim`` header, from the bytes after it.

    Text: the first data row (blank lines skipped) holds a token and ``dim`` numbers, and so do the
    next rows when the bytes hold any control byte (text never does). Binary: the first records line up
    (``token SPACE``, ``4 * dim`` bytes, an optional newline, the next token; at the end of the stream
    exactly ``count`` of them) and their vectors hold control bytes. Text that happens to line up as
    records is still text, since its "vectors" are printable. Text without a parsable first row goes to
    the text reader (which names the line and the cause) only when no byte of it is binary. When the
    evidence points both ways, or neither way with certainty, the file is refused.
    """
    if dim <= 0 or dim > MAX_DIM or count == 0 or (eof and not body.strip()):
        return "word2vec"  # nothing to misread: the text reader refuses or reads it in text terms
    text = _first_row(body, dim, line, eof, final)
    records = _records(body, dim, count, eof, final)
    if text is None or records is None:
        return None
    first_ok, problem, row_line = text
    state, values_binary, seen = records
    binary_ok = state == "aligned" and values_binary
    if first_ok and binary_ok:
        raise FormatError(
            f"{name}: reads both as word2vec text (line {row_line} is a token and {dim} numbers) and as "
            f"word2vec binary (the first {seen} records line up)",
            fix=_EITHER_FORMAT,
        )
    if first_ok and _text_rows(body, dim, eof):
        return "word2vec"
    if binary_ok or (state in ("truncated", "trailing") and values_binary):
        # Text whose rows are bad (decimal commas, a missing value, a header with the wrong dim) and whose
        # tokens hold control bytes also lines up as records; a row shaped like text (a token, then
        # number-like fields) says it may not be binary.
        text_line = row_line if first_ok else _text_like_row(body, dim, line, eof)
        if text_line is not None:
            seen_text = f"line {text_line} is a token and {dim} numbers" if first_ok else (
                f"line {text_line} is a token and number-like values; line {row_line}: {problem}")
            raise FormatError(
                f"{name}: reads both as word2vec text ({seen_text}) and as "
                f"word2vec binary (the first {seen} records line up); pass format='word2vec' "
                f"(--format word2vec) or format='word2vec-binary' (--format word2vec-binary)"
            )
        return "word2vec-binary"  # the binary reader locates a truncation or extra data itself
    window = body[: min(len(body), EVIDENCE_BYTES)]
    if not _CONTROL.search(window):
        return "word2vec"  # text (no byte of it is binary) whose rows the text reader refuses, with the line
    raise FormatError(
        f"{name}: has a word2vec header ({count:,} rows of {dim} values) but what follows is neither text "
        f"(line {row_line}: {problem}) nor binary records ({state} after {seen})",
        fix=Wording("if it is one of them, pass {} or {} to see where it goes wrong", Option("format", "word2vec"),
                    Option("format", "word2vec-binary")),
    )


def _first_row(body: bytes, dim: int, line: int, eof: bool, final: bool) -> tuple[bool, str, int] | None:
    """The text evidence: (the first data row parses, what is wrong with it, its line); None: read more."""
    pos = 0
    while True:
        newline = body.find(b"\n", pos)
        end = len(body) if newline < 0 else newline
        row = body[pos:end]
        if newline < 0 and not eof:
            if _CONTROL.search(row):
                return False, "binary bytes", line
            if not final and len(row) <= MAX_LINE_BYTES:
                return None
            return False, f"a line longer than {len(body) >> 20} MiB", line
        if row.strip() or newline < 0:
            break
        pos, line = newline + 1, line + 1
    problem = row_problem(row, dim)
    return problem is None, problem or "", line


def _text_rows(body: bytes, dim: int, eof: bool) -> bool:
    """True unless ``body`` holds control bytes (in its first EVIDENCE_BYTES) and one of its first
    EVIDENCE_ROWS rows is not a token and ``dim`` numbers, or holds control bytes and is not UTF-8 (float
    bytes): text rows, or text whose bad rows the text reader reports, but not binary data whose first
    bytes happen to read as a row."""
    window = body[:EVIDENCE_BYTES]
    if not _CONTROL.search(window):
        return True
    lines = window.split(b"\n")
    if not eof or len(body) > len(window):
        lines.pop()  # it may be cut
    rows = [line for line in lines if line.strip()][:EVIDENCE_ROWS]
    return all(row_problem(row, dim) is None and (_utf8(row) or not _CONTROL.search(row)) for row in rows)


def _text_like_row(body: bytes, dim: int, line: int, eof: bool) -> int | None:
    """The line of the first of ``body``'s first EVIDENCE_ROWS rows shaped like text: UTF-8, ending in
    number-like fields (decimal commas and '_' included, however many: the header's dim may be wrong) that
    make at least half of the fields after the first, as no binary record is; ``line`` is body's first
    line. None if there is none."""
    window = body[:EVIDENCE_BYTES]
    lines = window.split(b"\n")
    if not eof or len(body) > len(window):
        lines.pop()  # it may be cut
    rows = 0
    for offset, row in enumerate(lines):
        if not row.strip():
            continue
        fields = row.rstrip().split(b" ")
        numbers = 0
        while numbers < len(fields) - 1 and _NUMBER_LIKE.fullmatch(fields[-1 - numbers]):
            numbers += 1
        if numbers and 2 * numbers >= len(fields) - 1 and _utf8(row):
            return line + offset
        rows += 1
        if rows == EVIDENCE_ROWS:
            break
    return None


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _records(body: bytes, dim: int, count: int, eof: bool, final: bool) -> tuple[str, bool, int] | None:
    """The binary evidence: (state, whether the vectors hold control bytes, records that lined up); None: read more.

    ``state`` is ``aligned`` (the first :data:`EVIDENCE_ROWS` records, or two when they span
    :data:`EVIDENCE_BYTES`, or at the end of the stream exactly ``count`` of them),
    ``truncated`` (the stream ends inside a record), ``trailing`` (data after ``count`` records) or
    ``misaligned`` (a token with a newline or control byte inside, or no space where one must be).
    """
    record = 4 * dim
    wanted = min(count, EVIDENCE_ROWS)
    pos = seen = 0
    binary = False
    while seen < wanted and not (seen >= 2 and pos >= EVIDENCE_BYTES):
        while body[pos : pos + 1] == b"\n":
            pos += 1
        space = body.find(b" ", pos, pos + MAX_TOKEN_BYTES)
        if space < 0 and len(body) - pos < MAX_TOKEN_BYTES and not eof:
            return None if not final else ("aligned" if seen else "misaligned", binary, seen)
        if space < 0 or space == pos or _BAD_TOKEN.search(body, pos, space):
            if space < 0 and eof and not body[pos:].strip():
                return "truncated", binary, seen
            return ("truncated" if space < 0 and eof else "misaligned"), binary, seen
        if space + 1 + record > len(body):
            if not eof:
                return None if not final else ("aligned" if seen else "misaligned", binary, seen)
            return "truncated", binary or bool(_CONTROL.search(body, space + 1)), seen
        binary = binary or bool(_CONTROL.search(body, space + 1, space + 1 + record))
        pos = space + 1 + record
        seen += 1
    if eof and seen == count and body[pos:].strip():
        return "trailing", binary, seen
    return "aligned", binary, seen


def _refuse_binary_without_header(name: str) -> None:
    raise FormatError(
        f"{name}: is binary data without a word2vec 'count dim' header (GloVe's own vectors.bin, or a "
        f"damaged fastText model?), which vecload does not read; supported formats: {FORMAT_HELP}"
    )


def _looks_like_text_row(first: bytes) -> bool:
    """True for a line of UTF-8 text with a token followed by at least one number (trailing whitespace ignored)."""
    try:
        first.decode("utf-8")
    except UnicodeDecodeError:
        return False
    fields = first.rstrip().split(b" ")
    return len(fields) >= 2 and is_number(fields[-1])


def _refuse_known_foreign(head: bytes, name: str) -> None:
    """Raise a specific error for files people commonly mistake for vector files."""
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
        raise ArgumentError(f"unknown format {name!r}; choose one of: {', '.join(FORMATS)}")
    return name
