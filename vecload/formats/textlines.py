"""The per-line path of the text reader: any block of lines (irregular whitespace, blank lines), and the
exact line of any problem; ``reader`` is the :class:`vecload.formats.text` reader of the file. It gives the
same rows as the bulk path (:mod:`vecload.formats.textbulk`), which hands it the blocks it cannot place.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from vecload.errors import ParseError
from vecload.formats.rows import bad_value, is_number
from vecload.formats.textblocks import undecodable

#: Bytes no value field may hold: '_' (float() reads '1_000') and whitespace other than the separating spaces.
_NOT_IN_VALUES = re.compile(rb"[_\t\r\x0b\x0c]")


def read_lines(reader: Any, block: bytes, line: int, remaining: int | None, final: bool) -> int:
    """Parse a block line by line (irregular whitespace, blank lines, or to locate an error); return lines used.

    ``remaining`` counts rows, bad rows skipped included (blank lines are not rows).
    """
    dim = reader.dim
    raw: list[bytes] = []
    where: list[int] = []
    values: list[float] = []
    lines = block.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    used = 0
    taken = 0
    for offset, text in enumerate(lines):
        if remaining is not None and taken >= remaining:
            break
        used = offset + 1
        number = line + offset
        if not text.strip():
            reader.blank_lines += 1
            if len(reader.blank_examples) < 20:
                reader.blank_examples.append(number)
            continue
        taken += 1
        # Single spaces separate fields, as in gensim: tabs and leading whitespace belong to the token.
        tail = text.rstrip()
        head = tail.rsplit(b" ", dim)
        problem = None
        if len(head) < dim + 1:
            problem = reader.count_problem(len(head) - 1, tail, final and offset == len(lines) - 1)
        elif b" " in head[0]:
            problem = reader.token_problem(head[0])
        if problem is None and reader.skip and reader.options.unicode_errors == "strict":
            problem = undecodable(head[0])  # here, so that bad rows are reported in file order
        if problem is None:
            if _NOT_IN_VALUES.search(tail, len(head[0])):
                problem = _first_bad_value(head)
            else:
                try:
                    row = [float(field) for field in head[1:]]
                except ValueError:
                    problem = _first_bad_value(head)
        if problem is not None:
            if not reader.skip:
                raise ParseError(reader.name, problem, line=number)
            reader.builder.report.rows_read += 1
            reader.builder.report.note("bad_rows", problem, number)
            continue
        values.extend(row)
        raw.append(head[0])
        where.append(number)
    rows = np.array(values, dtype=np.float64).reshape(len(raw), dim)
    reader.add(raw, rows, np.array(where, dtype=np.int64))
    return used


def _first_bad_value(head: list[bytes]) -> str:
    """The message for the first field of a row that is not a number."""
    for column, field in enumerate(head[1:]):
        if not is_number(field):
            return bad_value(field, column)
    raise AssertionError("no bad value in the row")  # pragma: no cover
