"""The bulk number parser against the definition it must meet: ``np.float32(float(text))``, for every field.

Each case runs on one and on two threads, through the parser directly (every field in one batch, so long
fields take the byte-column path) and through the text reader (the bulk path of a canonical block).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import bits
from vecload.formats import Tuning, read_table
from vecload.formats.batches import parse_pool
from vecload.formats.numbers import PAD, BadNumber, parse_rows


def expected(fields: list[bytes]) -> np.ndarray:
    """The definition: the decimal rounded to the nearest double, then to float32."""
    with np.errstate(over="ignore"):
        return np.array([np.float32(float(f)) for f in fields], dtype=np.float32)


def parse(fields: list[bytes], per_row: int = 1, threads: int = 1, batch: int = 64) -> np.ndarray:
    """Parse ``fields`` with :func:`parse_rows` on ``threads`` threads, ``per_row`` fields to a row (one buffer),
    ``batch`` numbers to a batch (small, so there are many)."""
    rows = [fields[i : i + per_row] for i in range(0, len(fields), per_row)]
    data = b"0" * PAD + b"".join(b"t " + b" ".join(row) + b"\n" for row in rows)
    buf = np.frombuffer(data, dtype=np.uint8)
    separators = np.flatnonzero((buf == 32) | (buf == 10))
    out = np.empty((len(rows), per_row), dtype=np.float32)
    with parse_pool(threads) as pool:
        parse_rows(buf, data, separators.reshape(len(rows), per_row + 1), out, pool, batch)
    return out.ravel()


def digit_cases() -> list[bytes]:
    """Every digit count 1..25 with every dot position, signs, leading zeros, '.5' and '5.' forms, exponents,
    and the boundaries of the parser's integer arithmetic (2**53, 2**64, 10**19)."""
    rng = random.Random(19)
    cases: list[str] = []
    for count in range(1, 26):
        for digits in ("9" * count, "1" + "0" * (count - 1), "".join(rng.choice("0123456789") for _ in range(count)),
                       "5534250000000000000000000"[:count], "1844674473709551616000000"[:count]):
            for dot in range(count + 1):
                body = digits[:dot] + "." + digits[dot:]
                cases += [digits, body, "-" + body, "+" + body, "00" + body, "-0" + body]
            cases += [digits + "e-5", digits[:1] + "." + digits[1:] + "e10", "-" + digits + "E+3", digits + "."]
    cases += [
        "5534.250000000000000", "18446744.73709551616", "18446744073709551616", "18446744073709551615",
        "9007199254740993", "9007199254740992.5", "900719925474099.3", "10000000000000000000", "9999999999999999999",
        "1999999999999999999.5", ".5", "5.", "-.5", "-5.", "0.0000000000000000001", "-0", "-0.0",
        "3.4028235e38", "3.4028236e38", "1e-46", "1e39", "-1e39",
    ]
    return [c.encode() for c in cases]


@pytest.fixture(params=[1, 2], ids=["one-thread", "two-threads"])
def threads(request) -> int:
    """Run the test on one and on two parse threads, with small batches so there are many of them."""
    return request.param


def test_every_digit_count_parses_exactly(threads: int) -> None:
    """Fields of 1 to 25 digits, in every form, parse to float32(float(text)) bit for bit."""
    cases = digit_cases()
    for per_row in (1, 7, 50):
        usable = cases[: len(cases) - len(cases) % per_row]
        assert np.array_equal(bits(parse(usable, per_row, threads)), bits(expected(usable)))


def test_nineteen_digit_fields_from_the_issue(threads: int) -> None:
    """19 significant digits once wrapped the uint64 mantissa: 5534.250000000000000 read as 0.01777887."""
    fields = [b"5534.250000000000000", b"18446744.73709551616"] * 16  # a batch of long fields: byte-column path
    assert parse(fields, threads=threads).tolist() == [5534.25, np.float32(18446744.73709551616)] * 16


def test_long_fields_through_the_reader(tmp_path: Path, threads: int) -> None:
    """The same fields read from a file (the bulk path of canonical blocks) give the same bits."""
    cases = digit_cases()
    dim = 5
    cases = cases[: len(cases) - len(cases) % dim]
    lines = [f"w{i} " + " ".join(c.decode() for c in cases[i * dim : (i + 1) * dim]) for i in range(len(cases) // dim)]
    path = tmp_path / "numbers.txt"
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    table = read_table(path, format="glove", tuning=Tuning(batch_values=64, threads=threads))
    assert np.array_equal(bits(table.vectors.ravel()), bits(expected(cases)))


FIELD = st.from_regex(r"\A[+-]?[0-9]{0,24}(\.[0-9]{0,24})?([eE][+-]?[0-9]{1,3})?\Z").filter(
    lambda s: any(c.isdigit() for c in s.split("e")[0].split("E")[0])
)


@settings(max_examples=int(os.environ.get("VECLOAD_FUZZ_EXAMPLES", 100)), deadline=None)
@given(st.lists(FIELD, min_size=1, max_size=64))
def test_generated_fields_parse_exactly(fields: list[str]) -> None:
    """Any decimal field hypothesis makes parses to float32(float(text)) on one and two threads."""
    data = [f.encode() for f in fields]
    want = bits(expected(data))
    for threads in (1, 2):
        assert np.array_equal(bits(parse(data, threads=threads, batch=8)), want)


def first_refused(fields: list[bytes]) -> int | None:
    """The index of the first field ``float()`` refuses (or that has a '_' separator), None if none."""
    for i, field in enumerate(fields):
        try:
            float(field)
        except ValueError:
            return i
        if b"_" in field:
            return i
    return None


SHORT = [b".", b"-.", b"-", b"+", b"5", b"-5", b"5.", b".5", b"-.5", b"-5.", b"0", b"-0", b"0.0", b"-0.0",
         b"12345678", b"1234567.", b".1234567", b"-1234567", b"-.1234567", b"-1234567.", b"0.024385", b"-0.024385",
         b"99999999", b"9999999.9", b"-9.9999999", b"1.2.3", b"--1", b"1-2", b"1..2", b"1e5", b"nan", b"-inf",
         b"1_0", b"0x1", b"1.5e", b"12345678.9", b"+0.5", b"0.5+", b".-5", b"5-", b"1,5", b"\xff5", b"5a", b"a5",
         b"0.0032569", b"-0.0032569", b"00.123456", b"012345.67", b"-012345.67", b"0-1234567", b"-0-1234567",
         b"012345678", b"0.00032569", b"1.0032569", b"+0.0032569", b"0.003256.", b"0..032569", b"0_.032569"]


@pytest.mark.parametrize("field", SHORT, ids=[f.decode("latin-1") for f in SHORT])
def test_short_fields_parse_exactly_or_are_refused(field: bytes, threads: int) -> None:
    """Each short field among short valid ones (so the one-word path reads the batch), at every place in the
    batch: float32(float(text)) bit for bit, or BadNumber at its index where float() refuses it."""
    for at in (0, 5, 63):
        fields = [b"0.25258", b"-0.13939"] * 32
        fields[at] = field
        if first_refused(fields) is None:
            assert np.array_equal(bits(parse(fields, threads=threads)), bits(expected(fields)))
        else:
            with pytest.raises(BadNumber) as caught:
                parse(fields, threads=threads)
            assert caught.value.index == at


SHORT_FIELD = st.from_regex(rb"\A[-+]?0?[0-9.]{0,9}([eE][0-9]?)?\Z")


@settings(max_examples=int(os.environ.get("VECLOAD_FUZZ_EXAMPLES", 100)), deadline=None)
@given(st.lists(SHORT_FIELD.filter(bool), min_size=1, max_size=64))
def test_generated_short_fields_parse_exactly_or_are_refused(fields: list[bytes]) -> None:
    """Short fields in any mix of valid and invalid (dots, signs, exponents anywhere), on one and two threads."""
    refused = first_refused(fields)
    for threads in (1, 2):
        if refused is None:
            assert np.array_equal(bits(parse(fields, threads=threads, batch=8)), bits(expected(fields)))
        else:
            with pytest.raises(BadNumber) as caught:
                parse(fields, threads=threads, batch=8)
            assert caught.value.index == refused
