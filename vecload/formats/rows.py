"""What is wrong with a text row that does not parse, in words a user can act on."""

from __future__ import annotations

import re

_DECIMAL_COMMA = re.compile(rb"(?:^|[ \t])[+-]?\d+,\d+(?:[ \t]|$)")
_DIGIT_SEPARATOR = re.compile(rb"\d_\d")


def row_problem(row: bytes, dim: int) -> str | None:
    """What keeps ``row`` from being a token and ``dim`` numbers (as the text reader reads it), or None."""
    fields = row.rstrip().rsplit(b" ", dim)
    cause = row_cause(row)
    suffix = f" ({cause})" if cause else ""
    if len(fields) < dim + 1:
        return f"{len(fields) - 1} values, expected {dim}{suffix}"
    for column, field in enumerate(fields[1:]):
        if not is_number(field):
            return f"value {column + 1} ({field.decode('utf-8', 'replace')!r}) is not a number{suffix}"
    parts = fields[0].split(b" ")
    if len(parts) > 1 and all(is_number(p) for p in parts[1:]):
        return f"{len(parts) - 1 + dim} values, expected {dim}"
    return None


def row_cause(row: bytes) -> str:
    """The likely cause of a text row that does not parse, in words ('' when none is recognised)."""
    body = row.rstrip()
    if b"\t" in body:
        return ("it has tabs between fields; vecload reads fields separated by single spaces, as GloVe, "
                "fastText and gensim write them: replace the tabs with spaces")
    if _DECIMAL_COMMA.search(body, max(body.find(b" "), 0)):  # in the values, not a token such as '1,000'
        return "decimal commas ('1,5'); vecload reads '.' as the decimal point: replace the commas with dots"
    if _DIGIT_SEPARATOR.search(body):
        return ("it has a '_' digit separator, which Python's float() accepts but no vector file writes; "
                "remove the '_'")
    return ""


def is_number(field: bytes) -> bool:
    """True when the text reader reads ``field`` as a number: ``float()`` syntax without ``_`` or whitespace."""
    if not field or b"_" in field or field[:1].isspace() or field[-1:].isspace():
        return False
    try:
        float(field)
    except ValueError:
        return False
    return True


def bad_value(text: bytes, column: int) -> str:
    """The message for value ``column`` (0-based) of a row, ``text``, that is not a number."""
    shown = text.decode("utf-8", "replace")
    cause = row_cause(text)
    if not cause and (text[:1].isspace() or text[-1:].isspace()):
        cause = "whitespace other than single spaces between values; replace it with single spaces"
    return f"value {column + 1} ({shown!r}) is not a number" + (f" ({cause})" if cause else "")
