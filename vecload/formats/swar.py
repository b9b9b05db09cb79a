"""The fast paths of :mod:`vecload.formats.numbers`: a batch of decimal fields parsed as 64-bit words (SWAR).

Each field's last 8 or 16 bytes are gathered right-aligned into one or two little-endian uint64 words; the
bytes before the field are set to '0', the dot is read as '0', and the digits are checked and combined
eight at a time with integer arithmetic. A field passes when it is a plain decimal (an optional leading
minus, digits, one dot) whose digits stay below 2**53; its double is then formed exactly (see
:func:`_to_double`). Every other field is left to the slower paths of :mod:`vecload.formats.numbers`.
Each step writes into the batch's reused arrays (``out=``), and every ``np.take`` of a small table uses
``mode="clip"`` (unbuffered: faster, and it keeps a field without a dot in range).
"""

from __future__ import annotations

import numpy as np

from vecload.formats.batches import Scratch

POW10_F64 = np.array([10.0**i for i in range(23)], dtype=np.float64)
MAX_EXACT = np.uint64(1 << 53)
_ONE, _FOUR, _SEVEN, _THREE_U8 = np.uint64(1), np.uint64(4), np.uint64(7), np.uint8(3)
_SIXTY_THREE = np.uint64(63)
_DOT_TO_ZERO = np.uint64(0x1E)  # '.' ^ 0x1E == '0'
_EIGHT_DIGITS = np.uint64(100_000_000)
_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_HIGH = np.uint64(0x8080808080808080)
_NIB_HI = np.uint64(0xF0F0F0F0F0F0F0F0)
_SIXES = np.uint64(0x0606060606060606)
_THREES = np.uint64(0x3333333333333333)


def _pad_tables(width: int = 16) -> tuple[np.ndarray, ...]:
    """Per pad length p (0..width): masks keeping bytes at columns >= p, and '0' fill for the rest, as one
    uint64 array per word of the ``width`` bytes (their keep masks first, then their fills)."""
    keep = np.zeros((width + 1, width), dtype=np.uint8)
    zero = np.zeros((width + 1, width), dtype=np.uint8)
    for p in range(width + 1):
        keep[p, p:] = 0xFF
        zero[p, :p] = 0x30
    words = [t.view("<u8") for t in (keep, zero)]
    return tuple(np.ascontiguousarray(w[:, i]) for w in words for i in range(width // 8))


_KEEP_LO, _KEEP_HI, _ZERO_LO, _ZERO_HI = _pad_tables()
_KEEP8, _ZERO8 = _pad_tables(8)


def fields(buf: np.ndarray, width: int = 16) -> np.ndarray:
    """Every ``width`` bytes of ``buf`` from each offset, as a strided ``S<width>`` view (no copy): gathering
    such items is a plain copy, where gathering unaligned uint64 items takes numpy's slower unaligned path."""
    return np.ndarray(shape=(len(buf) - width + 1,), dtype=f"S{width}", buffer=buf, strides=(1,))


def parse8(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, lengths: np.ndarray, out: np.ndarray,
           scratch: Scratch) -> np.ndarray:
    """:func:`parse16` for fields of at most 8 bytes besides a leading minus (most values in vector
    files: ``0.25258``, ``-0.024385``), one uint64 word each: about half the array operations."""
    n = len(starts)
    word, dot, t, t2 = (a[:n] for a in (scratch.lo, scratch.dot_lo, scratch.t, scratch.t2))
    pad, k, at = (a[:n] for a in (scratch.pad, scratch.k, scratch.at))
    negative, fits, fast, flag = (a[:n] for a in (scratch.negative, scratch.fits, scratch.fast, scratch.flag))
    c1 = scratch.c1[:n]
    np.take(buf, starts, out=c1, mode="clip")
    np.equal(c1, 0x2D, out=negative)
    np.subtract(lengths, negative, out=pad)  # the bytes besides a minus
    # 9 of them led by '0' (0.0032569, as often as 1 field in 60) are read without it: .0032569
    np.add(starts, negative, out=at)
    np.take(buf, at, out=c1, mode="clip")
    np.equal(c1, 0x30, out=flag)
    np.equal(pad, 9, out=fits)
    flag &= fits
    pad -= flag
    # fits: 2..8 bytes besides a minus (and a leading '0'); pad: the bytes before them in the word, set to '0'
    np.greater(pad, 1, out=fits)  # a digit besides the dot
    np.less_equal(pad, 8, out=flag)
    fits &= flag
    np.subtract(8, pad, out=pad)
    pad *= fits
    np.subtract(ends, 8, out=at)
    np.copyto(word, fields(buf, 8)[at].view("<u8"))  # each field's last 8 bytes (indexing: np.take is slower)
    _clean(word, _KEEP8, _ZERO8, pad, dot, t)
    np.bitwise_count(dot, out=c1)
    np.equal(c1, 1, out=fast)
    fast &= fits
    fast &= _all_digits(word, t, t2, flag)
    # digits after the dot: 7 - its byte, which has 8 * byte + 7 bits below its 0x80 bit
    np.subtract(dot, _ONE, out=t)
    np.bitwise_count(t, out=c1)
    c1 >>= _THREE_U8
    np.copyto(k, c1, casting="unsafe")
    np.subtract(7, k, out=k)
    _swar8(word)  # below 10**8: always exact as a double
    _to_double(word, k, negative, out, scratch)
    return fast


def parse16(buf: np.ndarray, wide: np.ndarray, starts: np.ndarray, ends: np.ndarray, lengths: np.ndarray,
            out: np.ndarray, scratch: Scratch) -> np.ndarray:
    """Parse fields of at most 16 bytes (digits, one dot, a leading minus) with uint64 words into ``out``;
    return which it parsed (the rest are left to the slower paths), as a view of ``scratch``."""
    n = len(starts)
    lo, hi, dot_lo, dot_hi, t, t2 = (a[:n] for a in (scratch.lo, scratch.hi, scratch.dot_lo, scratch.dot_hi,
                                                      scratch.t, scratch.t2))
    pad, k, at = (a[:n] for a in (scratch.pad, scratch.k, scratch.at))
    negative, fits, fast, flag = (a[:n] for a in (scratch.negative, scratch.fits, scratch.fast, scratch.flag))
    c1, c2, c3 = (a[:n] for a in (scratch.c1, scratch.c2, scratch.c3))
    np.take(buf, starts, out=c1, mode="clip")
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
    pair = wide[at].view("<u8")  # each field's last 16 bytes: two little-endian words
    np.copyto(lo, pair[0::2])
    np.copyto(hi, pair[1::2])
    _clean(lo, _KEEP_LO, _ZERO_LO, pad, dot_lo, t)
    _clean(hi, _KEEP_HI, _ZERO_HI, pad, dot_hi, t)
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
    np.subtract(15, k, out=k)  # -1 without a dot: such fields are not fast, and the tables' takes clip
    _swar8(lo)
    _swar8(hi)
    lo *= _EIGHT_DIGITS
    lo += hi
    np.less(lo, MAX_EXACT, out=flag)
    fast &= flag
    _to_double(lo, k, negative, out, scratch)
    return fast


def _clean(word: np.ndarray, keep: np.ndarray, zero: np.ndarray, pad: np.ndarray, dot: np.ndarray,
           t: np.ndarray) -> None:
    """In place: the ``pad`` bytes before each field set to '0' (the tables ``keep`` and ``zero`` of this word),
    0x80 in ``dot`` at each '.', and each '.' read as '0'."""
    np.take(keep, pad, out=t, mode="clip")
    word &= t
    np.take(zero, pad, out=t, mode="clip")
    word |= t
    _bytes_equal(word, 0x2E, t, dot)
    np.right_shift(dot, _SEVEN, out=t)
    t *= _DOT_TO_ZERO
    word ^= t


def _to_double(digits: np.ndarray, k: np.ndarray, negative: np.ndarray, out: np.ndarray, scratch: Scratch) -> None:
    """The numbers whose digits, the dot read as '0', spell the integers ``digits`` (below 2**53), with ``k``
    digits after the dot, into ``out`` (contiguous float64): the digits spell I * 10**(k+1) + F, and the
    number is (I * 10**k + F) / 10**k, both exact doubles, so one division rounds it correctly. Entries the
    caller did not parse get meaningless values, which the slower paths overwrite."""
    n = len(digits)
    w, scale, t = scratch.w[:n], scratch.scale[:n], scratch.t[:n]
    np.copyto(out, digits, casting="unsafe")
    np.take(POW10_F64, k, out=scale, mode="clip")
    np.multiply(scale, 10.0, out=w)  # exact: k <= 15
    np.divide(out, w, out=w)
    np.floor(w, out=w)  # I: the fraction F / 10**(k+1) < 0.1 keeps the rounded quotient below I + 1
    w *= scale
    w *= 9.0
    out -= w
    out /= scale
    np.copyto(t, negative, casting="unsafe")  # the sign bit set on negatives (a masked negative is slow)
    t <<= _SIXTY_THREE
    bits = out.view(np.uint64)
    bits |= t


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
