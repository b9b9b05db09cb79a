"""Bulk parsing of decimal numbers with numpy, bit-identical to ``np.float32(float(text))``.

gensim turns each value into ``np.float32(text)``, which numpy computes as ``float32(float(text))``: the
decimal is first rounded to the nearest double, then to float32. We reproduce exactly that. Each field's
bytes are gathered right-aligned into one or two 64-bit words (:mod:`vecload.formats.swar`; a 16- or
24-byte row for the longer ones), its digits are combined eight at a time with integer arithmetic (SWAR),
and the double is formed as ``mantissa / 10**k``. When the mantissa is below
2**53 and ``k <= 22`` both operands are exact doubles and IEEE division rounds once, so the result is the
correctly rounded double of the decimal (Clinger's fast path). Every other field (exponents, very long
digit strings, ``nan``/``inf``, anything odd) goes to Python's ``float``, which also rounds correctly
(except that ``_`` digit separators, which ``float`` accepts, are refused).
"""

from __future__ import annotations

from concurrent.futures import Executor

import numpy as np

from vecload.formats.batches import Scratch, Scratches, run_batches
from vecload.formats.swar import MAX_EXACT, POW10_F64, fields, parse8, parse16

#: Bytes of padding callers put before the buffer, so right-aligned gathers never start before it.
PAD = 24

_DIGIT, _DOT, _SIGN, _OTHER = 1, 2, 3, 0
_LUT = np.zeros(256, dtype=np.uint8)
_LUT[ord("0") : ord("9") + 1] = _DIGIT
_LUT[ord(".")] = _DOT
_LUT[ord("-")] = _SIGN
_LUT[ord("+")] = _SIGN
_POW10_U64 = np.array([10**i for i in range(20)], dtype=np.uint64)
BATCH = 1 << 15  # see Tuning.batch_values and vecload.formats.batches


class BadNumber(ValueError):
    """Field ``index`` of a bulk parse is not a number."""

    def __init__(self, index: int, text: bytes) -> None:
        super().__init__(f"field {index}: {text!r}")
        self.index = index
        self.text = text


def parse_rows(buf: np.ndarray, data: bytes, bounds: np.ndarray, out: np.ndarray, pool: Executor | None = None,
               batch: int = BATCH, scratches: Scratches | None = None) -> None:
    """Parse rows of fields given by their separators into ``out``, rounding each value to ``out``'s dtype.

    Row ``r``'s field ``j`` is ``data[bounds[r, j] + 1 : bounds[r, j + 1]]`` (``bounds`` holds each row's
    ``dim`` spaces and its newline), parsed exactly as ``float()`` would, then rounded. Rows are parsed a
    batch at a time, so no array of the whole block's field offsets or float64 values ever exists: the
    working memory is a few batches, whatever the block's size.

    Args:
        buf: ``data`` as a uint8 array; positions below :data:`PAD` must be padding.
        data: The bytes themselves (for the fallback path and messages).
        bounds: An int64 array ``[n, dim + 1]`` of separator offsets.
        out: The ``[n, dim]`` result (float32 for a table).
        pool: Threads to parse batches on (from :func:`~vecload.formats.batches.parse_pool`); None parses on
            the calling thread.
        batch: About how many numbers a batch holds.
        scratches: The threads' reusable arrays (one :class:`Scratches` per read; None: new ones).

    Raises:
        BadNumber: A field is not a number; ``index`` is ``row * dim + column``.
    """
    n, dim = out.shape
    wide = fields(buf)  # every 16 bytes, for the fields of more than 8
    per_batch = max(1, batch // dim)
    scratches = scratches if scratches is not None else Scratches()

    def run(r: int) -> None:
        part = bounds[r : r + per_batch]
        rows = len(part)
        scratch = scratches.get(per_batch * dim)
        starts, ends, values = (array[: rows * dim] for array in (scratch.starts, scratch.ends, scratch.values))
        np.add(part[:, :-1], 1, out=starts.reshape(rows, dim))
        np.copyto(ends.reshape(rows, dim), part[:, 1:])
        _parse_batch(buf, wide, data, starts, ends, values, r * dim, scratch)
        with np.errstate(over="ignore"):  # beyond float32's range is inf, as in gensim; reports count it
            out[r : r + per_batch] = values.reshape(rows, dim)

    run_batches(run, range(0, n, per_batch), pool)


def _parse_batch(
    buf: np.ndarray, wide: np.ndarray, data: bytes, starts: np.ndarray, ends: np.ndarray, out: np.ndarray, first: int,
    scratch: Scratch,
) -> None:
    """Parse one batch of fields into ``out`` (float64): 64-bit words (one a field where most fields are
    short, else two; :mod:`vecload.formats.swar`), then byte columns, then ``float()``.

    Raises:
        BadNumber: With ``index`` counted from ``first`` (the batch's position in the whole parse).
    """
    n = len(starts)
    if n == 0:
        return
    lengths = scratch.lengths[:n]
    np.subtract(ends, starts, out=lengths)
    if np.count_nonzero(lengths > 10) * 4 < n:  # mostly short fields: one word each, the rest on two
        slow = np.flatnonzero(~parse8(buf, starts, ends, lengths, out, scratch))
        if len(slow) * 32 > n:  # fewer go to float(): its cost a field beats two words' fixed cost a batch
            longer = np.empty(len(slow), dtype=np.float64)
            done = parse16(buf, wide, starts[slow], ends[slow], lengths[slow], longer, scratch)
            out[slow[done]] = longer[done]
            slow = slow[~done]
    else:
        slow = np.flatnonzero(~parse16(buf, wide, starts, ends, lengths, out, scratch))
    if len(slow) * 8 > n:
        sizes = lengths[slow]
        width = 16 if np.count_nonzero(sizes > 16) * 64 < len(slow) else 24
        slow = slow[~_parse_fixed(buf, ends[slow], sizes, width, out, slow)]
    if len(slow):
        out[slow] = _floats(data, starts[slow].tolist(), ends[slow].tolist(), slow.tolist(), first)


def _floats(data: bytes, starts: list[int], ends: list[int], index: list[int], first: int) -> list[float]:
    """Python's ``float`` of each field, in order (``index``: their places in the batch, which starts at field
    ``first``); BadNumber at the first it refuses, or that has a ``_`` digit separator."""
    values = []
    for start, end, i in zip(starts, ends, index):
        text = data[start:end]
        try:
            if b"_" in text:  # float() reads '1_000' as 1000; no vector file writes digit separators
                raise ValueError
            values.append(float(text))
        except ValueError:
            raise BadNumber(first + i, text) from None
    return values


def _parse_fixed(
    buf: np.ndarray, ends: np.ndarray, lengths: np.ndarray, width: int, out: np.ndarray, index: np.ndarray
) -> np.ndarray:
    """Parse fields of up to ``width`` bytes into ``out[index]`` one byte column at a time; return which did."""
    words = width // 8
    view = np.ndarray(shape=(len(buf) - width + 1,), dtype=f"S{width}", buffer=buf, strides=(1,))
    rows = view[ends - width].view(np.uint8).reshape(-1, width)
    pad = (width - lengths).astype(np.int64)
    fits = (lengths > 0) & (lengths <= width)
    pad[~fits] = 0
    cols = np.arange(width, dtype=np.int64)
    rows[cols[None, :] < pad[:, None]] = ord("0")
    classes = _LUT[rows]
    lead = np.minimum(pad, width - 1)
    r = np.arange(len(rows))
    lead_sign = classes[r, lead] == _SIGN
    negative = lead_sign & (rows[r, lead] == ord("-"))
    rows[r[lead_sign], lead[lead_sign]] = ord("0")
    dots = classes == _DOT
    ndots = np.count_nonzero(dots, axis=1)
    nondigit = np.count_nonzero(classes != _DIGIT, axis=1)
    digits = lengths - nondigit
    # Read with its dot as a '0', a field is an integer of digits + ndots decimal digits; at most 19 of
    # them stay below 10**19 < 2**64, so the uint64 arithmetic below never wraps (20 could).
    fast = fits & (ndots <= 1) & (nondigit == lead_sign + ndots) & (digits >= 1) & (digits + ndots <= 19)
    k = np.where(ndots == 1, width - 1 - np.argmax(dots, axis=1), 0)
    rows[dots] = ord("0")
    value = _swar(rows.view("<u8").reshape(-1, words))
    has_dot = ndots == 1
    power = _POW10_U64[np.minimum(k, 19)]
    frac = value % power
    mantissa = np.where(has_dot, (value - frac) // np.uint64(10) + frac, value)
    fast &= (mantissa < MAX_EXACT) & (k <= 22)
    result = mantissa.astype(np.float64) / POW10_F64[np.minimum(k, 22)]
    np.negative(result, out=result, where=negative)
    out[index[fast]] = result[fast]
    return fast


def _swar(words: np.ndarray) -> np.ndarray:
    """Combine rows of ASCII digits, eight per uint64 word (first digit in the lowest byte), into integers."""
    total = np.zeros(len(words), dtype=np.uint64)
    for w in range(words.shape[1]):
        x = words[:, w]
        x = ((x & np.uint64(0x0F0F0F0F0F0F0F0F)) * np.uint64(2561)) >> np.uint64(8)
        x = ((x & np.uint64(0x00FF00FF00FF00FF)) * np.uint64(6553601)) >> np.uint64(16)
        x = ((x & np.uint64(0x0000FFFF0000FFFF)) * np.uint64(42949672960001)) >> np.uint64(32)
        total = total * np.uint64(100_000_000) + x
    return total
