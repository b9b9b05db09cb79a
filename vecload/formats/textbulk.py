"""The bulk path of the text reader: a block of canonical lines (single spaces, no tabs, no blank lines)
parsed with numpy (newline and space positions) and the numbers in batches by :mod:`vecload.formats.numbers`.
Rows it cannot place are handed back to the reader's per-line path, which gives the same result and the
exact line of any problem; ``reader`` is the :class:`vecload.formats.text` reader of the file.
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any, NamedTuple

import numpy as np

from vecload.errors import ParseError
from vecload.formats.numbers import PAD, BadNumber, parse_rows
from vecload.formats.rows import bad_value

_PADDING = b"0" * PAD
#: Blocks at least this long have their control bytes found in two halves on two threads.
_SPLIT = 1 << 20


class BadRow(Exception):
    """The bulk path met a bad row under bad_rows="skip": the per-line path reads the block instead."""


def canonical(data: bytes, buf: np.ndarray, newlines: np.ndarray) -> bool:
    """True when no line of the padded block has tabs, CRs, blank or edge whitespace (double spaces are
    checked later)."""
    if not len(newlines) or data[PAD] <= 32 or any(c in data for c in (b"\t", b"\r", b"\x0b", b"\x0c")):
        return False
    return bool(buf[newlines - 1].min() > 32 and buf[newlines[:-1] + 1].min(initial=33) > 32)


class Controls(NamedTuple):
    """The bytes <= 32 of a padded block: where they are (``at``), which they are (``kinds``) and, among
    them, the newlines. In a canonical block they are the fields' spaces and the newlines, and (rarely)
    other control bytes inside tokens."""

    at: np.ndarray
    kinds: np.ndarray
    newlines: np.ndarray

    @classmethod
    def of(cls, buf: np.ndarray, pool: Executor | None = None) -> Controls:
        """Find them in one pass over the block (two halves on two threads with a pool: numpy releases the GIL)."""
        if pool is None or len(buf) < _SPLIT:
            at = np.flatnonzero(buf <= 32)
        else:
            half = len(buf) // 2
            second = pool.submit(lambda: np.flatnonzero(buf[half:] <= 32) + half)
            at = np.concatenate((np.flatnonzero(buf[:half] <= 32), second.result()))
        kinds = buf[at]
        return cls(at, kinds, at[kinds == 10])

    def double_space(self) -> bool:
        """Whether two spaces follow each other: ``b"  " in data``, from the controls (a ninth of the bytes:
        0.17 ms against 2.9 ms for a 2 MiB block of 300-wide rows)."""
        next_to = np.flatnonzero(self.at[1:] - self.at[:-1] == 1)
        return bool(((self.kinds[next_to] == 32) & (self.kinds[next_to + 1] == 32)).any())

    def upto(self, newlines: int) -> Controls:
        """Those of the first ``newlines`` lines."""
        end = int(np.searchsorted(self.at, self.newlines[newlines - 1], side="right")) if newlines else 0
        return Controls(self.at[:end], self.kinds[:end], self.newlines[:newlines])


def read_canonical(
    reader: Any, data: bytes, buf: np.ndarray, controls: Controls, line: int, remaining: int | None, final: bool
) -> int:
    """Parse a block of canonical lines (``data`` is the padded block) in bulk; return how many lines it used."""
    if remaining is not None and remaining < len(controls.newlines):
        controls = controls.upto(remaining)
        data = data[: controls.newlines[-1] + 1] if len(controls.newlines) else _PADDING
        buf = np.frombuffer(data, dtype=np.uint8)
    n = len(controls.newlines)
    if n == 0:
        return 0
    try:
        return _bulk(reader, data, buf, controls, line, remaining, final)
    except BadRow:  # bad_rows="skip": the per-line path skips the bad rows and reads the rest
        return reader.read_lines(data[PAD:], line, remaining, final)


def _bulk(
    reader: Any, data: bytes, buf: np.ndarray, controls: Controls, line: int, remaining: int | None, final: bool
) -> int:
    """:func:`read_canonical` for at least one line; raises BadRow (bad_rows="skip") where a row is bad."""
    newlines = controls.newlines
    dim, n = reader.dim, len(newlines)
    # When every line has exactly `dim` spaces, row r's separators are row r of the controls' offsets:
    # no other offsets of the block's fields are ever built. (A double space there is an empty field,
    # which the parser reports as the per-line path would.)
    separators = controls.at
    starts = np.empty(n, dtype=np.int64)
    starts[0] = PAD
    starts[1:] = newlines[:-1] + 1
    if len(separators) == n * (dim + 1):
        bounds = separators.reshape(n, dim + 1)
        # each row's last separator is its newline, and all the others are spaces
        if (bounds[:, -1] == newlines).all() and np.count_nonzero(controls.kinds == 32) == n * dim:
            return _rows(reader, data, buf, bounds, starts, line)
    if controls.double_space():  # an empty field or a token with a double space: the per-line path decides
        return reader.read_lines(data[PAD:], line, remaining, final)
    spaces = separators[controls.kinds == 32]
    first = np.searchsorted(spaces, starts)
    count = np.searchsorted(spaces, newlines) - first
    extra = count - dim
    if (extra < 0).any():
        if reader.skip:
            raise BadRow
        bad = int(np.argmax(extra < 0))
        reader.read_lines(data[starts[bad] :], line + bad, 1, final)
        raise AssertionError("the per-line path did not find the bad row")  # pragma: no cover
    bounds = np.empty((n, dim + 1), dtype=np.int64)
    bounds[:, :-1] = _token_spaces(reader, data, spaces, starts, first, extra, line).reshape(n, dim)
    bounds[:, -1] = newlines
    return _rows(reader, data, buf, bounds, starts, line)


def _rows(reader: Any, data: bytes, buf: np.ndarray, bounds: np.ndarray, starts: np.ndarray, line: int) -> int:
    """Parse rows whose separators are known: row r's ``dim`` value-separating spaces, then its newline."""
    n, dim = len(bounds), reader.dim
    raw = [data[a:b] for a, b in zip(starts.tolist(), bounds[:, 0].tolist())]
    values = reader.builder.room(n)  # parsed straight into the table's rows where they fit
    if values is None:
        values = np.empty((n, dim), dtype=np.float32)
    try:
        parse_rows(buf, data, bounds, values, reader.pool, reader.tuning.batch_values, reader.scratches)
    except BadNumber as exc:
        if reader.skip:
            raise BadRow from None
        row, column = divmod(exc.index, dim)
        raise ParseError(reader.name, bad_value(exc.text, column), line=line + row) from None
    reader.add(raw, values, np.arange(line, line + n))
    return n


def _token_spaces(
    reader: Any, data: bytes, spaces: np.ndarray, starts: np.ndarray, first: np.ndarray, extra: np.ndarray, line: int
) -> np.ndarray:
    """The spaces that separate values, for a block where some tokens contain spaces."""
    keep = np.ones(len(spaces), dtype=bool)
    for row in np.flatnonzero(extra).tolist():
        lo = int(first[row])
        hi = lo + int(extra[row])
        keep[lo:hi] = False
        token = data[starts[row] : spaces[hi]]
        problem = reader.token_problem(token)
        if problem:
            if reader.skip:
                raise BadRow
            raise ParseError(reader.name, problem, line=line + row)
    return spaces[keep]
