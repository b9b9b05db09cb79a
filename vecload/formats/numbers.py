"""Bulk parsing of decimal numbers with numpy, bit-identical to ``np.float32(float(text))``.

gensim turns each value into ``np.float32(text)``, which numpy computes as ``float32(float(text))``: the
decimal is first rounded to the nearest double, then to float32. We reproduce exactly that. Each field's
bytes are gathered right-aligned into a 16- or 24-byte row, its digits are combined eight at a time with
integer arithmetic (SWAR), and the double is formed as ``mantissa / 10**k``. When the mantissa is below
2**53 and ``k <= 22`` both operands are exact doubles and IEEE division rounds once, so the result is the
correctly rounded double of the decimal (Clinger's fast path). Every other field (exponents, very long
digit strings, ``nan``/``inf``, anything odd) goes to Python's ``float``, which also rounds correctly
(except that ``_`` digit separators, which ``float`` accepts, are refused).
"""

from __future__ import annotations

from concurrent.futures import Executor

import numpy as np

from vecload.formats.batches import Scratch, Scratches, run_batches

#: Bytes of padding callers put before the buffer, so right-aligned gathers never start before it.
PAD = 24

_DIGIT, _DOT, _SIGN, _OTHER = 1, 2, 3, 0
_LUT = np.zeros(256, dtype=np.uint8)
_LUT[ord("0") : ord("9") + 1] = _DIGIT
_LUT[ord(".")] = _DOT
_LUT[ord("-")] = _SIGN
_LUT[ord("+")] = _SIGN
_POW10_U64 = np.array([10**i for i in range(20)], dtype=np.uint64)
_POW10_F64 = np.array([10.0**i for i in range(23)], dtype=np.float64)
_POW10_F64_NEXT = _POW10_F64[1:].copy()
_MAX_EXACT = np.uint64(1 << 53)
_ONE, _FOUR, _SEVEN, _THREE_U8 = np.uint64(1), np.uint64(4), np.uint64(7), np.uint8(3)
_DOT_TO_ZERO = np.uint64(0x1E)  # '.' ^ 0x1E == '0'
_EIGHT_DIGITS = np.uint64(100_000_000)
BATCH = 1 << 15  # see Tuning.batch_values and vecload.formats.batches


_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_HIGH = np.uint64(0x8080808080808080)
_NIB_HI = np.uint64(0xF0F0F0F0F0F0F0F0)
_SIXES = np.uint64(0x0606060606060606)
_THREES = np.uint64(0x3333333333333333)


def _pad_tables() -> tuple[np.ndarray, ...]:
    """Per pad length p (0..16): masks keeping bytes at columns >= p, and '0' fill for the rest."""
    keep = np.zeros((17, 16), dtype=np.uint8)
    zero = np.zeros((17, 16), dtype=np.uint8)
    for p in range(17):
        keep[p, p:] = 0xFF
        zero[p, :p] = 0x30
    words = [t.view("<u8") for t in (keep, zero)]
    return tuple(np.ascontiguousarray(w[:, i]) for w in words for i in (0, 1))


_KEEP_LO, _KEEP_HI, _ZERO_LO, _ZERO_HI = _pad_tables()


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
    fields = _fields16(buf)
    per_batch = max(1, batch // dim)
    scratches = scratches if scratches is not None else Scratches()

    def run(r: int) -> None:
        part = bounds[r : r + per_batch]
        rows = len(part)
        scratch = scratches.get(per_batch * dim)
        starts, ends, values = (array[: rows * dim] for array in (scratch.starts, scratch.ends, scratch.values))
        np.add(part[:, :-1], 1, out=starts.reshape(rows, dim))
        np.copyto(ends.reshape(rows, dim), part[:, 1:])
        _parse_batch(buf, fields, data, starts, ends, values, r * dim, scratch)
        with np.errstate(over="ignore"):  # beyond float32's range is inf, as in gensim; reports count it
            out[r : r + per_batch] = values.reshape(rows, dim)

    run_batches(run, range(0, n, per_batch), pool)


def _fields16(buf: np.ndarray) -> np.ndarray:
    """Every 16 bytes of ``buf`` from each offset, as a strided ``S16`` view (no copy): gathering 16-byte
    items is a plain copy, where gathering unaligned uint64 items takes numpy's slower unaligned path."""
    return np.ndarray(shape=(len(buf) - 15,), dtype="S16", buffer=buf, strides=(1,))


def _parse_batch(
    buf: np.ndarray, fields: np.ndarray, data: bytes, starts: np.ndarray, ends: np.ndarray, out: np.ndarray, first: int,
    scratch: Scratch,
) -> None:
    """Parse one batch of fields into ``out`` (float64): SWAR, then byte columns, then ``float()``.

    Raises:
        BadNumber: With ``index`` counted from ``first`` (the batch's position in the whole parse).
    """
    n = len(starts)
    if n == 0:
        return
    fast = _swar16_batch(buf, fields, starts, ends, out, scratch)
    slow = np.flatnonzero(~fast)
    if len(slow) * 8 > n:
        lengths = ends[slow] - starts[slow]
        width = 16 if np.count_nonzero(lengths > 16) * 64 < len(slow) else 24
        fast[slow] = _parse_fixed(buf, ends[slow], lengths, width, out, slow)
        slow = np.flatnonzero(~fast)
    for i in slow.tolist():
        text = data[starts[i] : ends[i]]
        try:
            if b"_" in text:  # float() reads '1_000' as 1000; no vector file writes digit separators
                raise ValueError
            out[i] = float(text)
        except ValueError:
            raise BadNumber(first + i, text) from None


def _swar16_batch(buf: np.ndarray, fields: np.ndarray, starts: np.ndarray, ends: np.ndarray, out: np.ndarray,
                  scratch: Scratch) -> np.ndarray:
    """Parse fields of at most 16 bytes (digits, one dot, a leading minus) with uint64 words into ``out``;
    return which it parsed (the rest are left to the slower paths), as a view of ``scratch``."""
    n = len(starts)
    lo, hi, dot_lo, dot_hi, t, t2 = (a[:n] for a in (scratch.lo, scratch.hi, scratch.dot_lo, scratch.dot_hi,
                                                      scratch.t, scratch.t2))
    lengths, pad, k, at = (a[:n] for a in (scratch.lengths, scratch.pad, scratch.k, scratch.at))
    negative, fits, fast, flag = (a[:n] for a in (scratch.negative, scratch.fits, scratch.fast, scratch.flag))
    v, w, scale = (a[:n] for a in (scratch.v, scratch.w, scratch.scale))
    c1, c2, c3 = (a[:n] for a in (scratch.c1, scratch.c2, scratch.c3))
    np.subtract(ends, starts, out=lengths)
    np.take(buf, starts, out=c1)
    np.equal(c1, 0x2D, out=negative)
    # fits: at least one byte besides a minus, at most 16; pad: the bytes before the field, set to '0'
    np.add(negative, 1, out=pad)
    np.greater(lengths, pad, out=fits)
    np.less_equal(lengths, 16, out=flag)
    fits &= flag
    np.subtract(16, lengths, out=pad)
    pad += negative
    pad *= fits
    np.subtract(ends, 16, out=at)
    pair = fields[at].view("<u8")  # each field's last 16 bytes: two little-endian words
    np.copyto(lo, pair[0::2])
    np.copyto(hi, pair[1::2])
    for word, keep, zero in ((lo, _KEEP_LO, _ZERO_LO), (hi, _KEEP_HI, _ZERO_HI)):
        np.take(keep, pad, out=t)
        word &= t
        np.take(zero, pad, out=t)
        word |= t
    _bytes_equal(lo, 0x2E, t, dot_lo)
    _bytes_equal(hi, 0x2E, t, dot_hi)
    for word, dot in ((lo, dot_lo), (hi, dot_hi)):  # each '.' read as '0'
        np.right_shift(dot, _SEVEN, out=t)
        t *= _DOT_TO_ZERO
        word ^= t
    np.bitwise_count(dot_lo, out=c1)
    np.bitwise_count(dot_hi, out=c2)
    c1 += c2
    np.equal(c1, 1, out=fast)
    fast &= fits
    fast &= _all_digits(lo, t, t2, flag)
    fast &= _all_digits(hi, t, t2, flag)
    # the dot's column: 8 * byte + 7 bits lie below its 0x80 bit; an empty mask counts as byte 8
    np.subtract(dot_lo, _ONE, out=t)
    np.bitwise_count(t, out=c1)
    c1 >>= _THREE_U8
    np.subtract(dot_hi, _ONE, out=t)
    np.bitwise_count(t, out=c2)
    c2 >>= _THREE_U8
    np.right_shift(c1, _THREE_U8, out=c3)
    c3 *= c2
    c3 += c1  # the dot's byte: byte_lo, or 8 + byte_hi
    np.copyto(k, c3, casting="unsafe")
    np.subtract(15, k, out=k)
    np.clip(k, 0, 15, out=k)
    _swar8(lo)
    _swar8(hi)
    lo *= _EIGHT_DIGITS
    lo += hi
    np.less(lo, _MAX_EXACT, out=flag)
    fast &= flag
    # with the dot read as '0' the digits spell I * 10**(k+1) + F; the number is (I * 10**k + F) / 10**k
    np.copyto(v, lo, casting="unsafe")
    np.take(_POW10_F64, k, out=scale)
    np.take(_POW10_F64_NEXT, k, out=w)
    np.divide(v, w, out=w)
    np.floor(w, out=w)
    w *= scale
    w *= 9.0
    v -= w
    v /= scale
    np.negative(v, out=v, where=negative)
    np.copyto(out, v, where=fast)
    return fast


def _bytes_equal(x: np.ndarray, byte: int, t: np.ndarray, out: np.ndarray) -> np.ndarray:
    """0x80 in each byte of ``x`` equal to ``byte``, 0 elsewhere (exact, no carries between bytes), into ``out``."""
    np.bitwise_xor(x, np.uint64(byte * 0x0101010101010101), out=t)
    np.bitwise_and(t, _LOW7, out=out)
    out += _LOW7
    out |= t
    np.invert(out, out=out)
    out &= _HIGH
    return out


def _all_digits(x: np.ndarray, t: np.ndarray, t2: np.ndarray, out: np.ndarray) -> np.ndarray:
    """True where all eight bytes are ASCII digits, into ``out``."""
    np.bitwise_and(x, _NIB_HI, out=t)
    np.add(x, _SIXES, out=t2)
    t2 &= _NIB_HI
    t2 >>= _FOUR
    t |= t2
    return np.equal(t, _THREES, out=out)


def _swar8(x: np.ndarray) -> np.ndarray:
    """Eight ASCII digits (first in the lowest byte) to their integer value, in place."""
    x &= np.uint64(0x0F0F0F0F0F0F0F0F)
    x *= np.uint64(2561)
    x >>= np.uint64(8)
    x &= np.uint64(0x00FF00FF00FF00FF)
    x *= np.uint64(6553601)
    x >>= np.uint64(16)
    x &= np.uint64(0x0000FFFF0000FFFF)
    x *= np.uint64(42949672960001)
    x >>= np.uint64(32)
    return x


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
    fast &= (mantissa < _MAX_EXACT) & (k <= 22)
    result = mantissa.astype(np.float64) / _POW10_F64[np.minimum(k, 22)]
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
