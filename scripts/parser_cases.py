"""The exactness cases of scripts/compare_parsers.py, the plain reference they are judged by, and the comparison.

The reference reads a line as a plain split: the token is everything before the last ``dim`` single-space
fields (trailing spaces and a CR dropped), each value is ``np.float32(float(field))``. Cases come in four
groups: the number parser's differential cases (reused from tests/test_numbers.py), decimals whose float32
differs when rounded directly instead of through the nearest double, special spellings one per file, and
odd tokens and rows. A case either has a reference table, or a reason every reader must refuse it.
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, localcontext
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

CASES_NOTE = (
    "Cases: *differential* = tests/test_numbers.py digit_cases() (1 to 25 digits in every form, exponents, "
    "17-20 significant digits, 2**53/2**64/10**19 boundaries, subnormal and overflow values), 5 to a row; "
    "*double rounding* = decimals a hair off a float32 halfway point whose nearest double is the halfway "
    "point itself, so float32(float64(text)) differs from text rounded straight to float32; *special* = one "
    "file per spelling (nan/inf forms, subnormals, near-overflow, `1_000`, `0x1`, `nan(1)`, ...); *tokens* = "
    "tokens with spaces, quotes, `#`, non-UTF-8 bytes, NA-like words, a word2vec header, fastText's trailing "
    "space, CRLF, a missing last newline, a short row, an empty field. Refused = the reader raised on a case it "
    "should read (a clean refusal, no wrong data); wrong = it returned data that differs from the reference or "
    "read a case every reader must refuse."
)

#: Spellings that ``float()`` refuses, or that vecload refuses by rule: every reader must refuse them.
MUST_REFUSE = {
    b"1_000": "a digit separator: float() reads 1000, vecload refuses it (no vector file writes them)",
    b"0x1": "hex", b"0x1p3": "a hex float (C's strtod reads it)", b"nan(1)": "C's NaN payload syntax",
    b"1,5": "a decimal comma", b"1.5.5": "two dots", b"e5": "no digits", b"1e": "no exponent digits",
    b"-": "a lone sign", b"+-1": "two signs", b"infinit": "a misspelt inf", b"1d5": "Fortran's exponent",
}
SPECIAL = [
    b"nan", b"NaN", b"NAN", b"-nan", b"+nan", b"inf", b"-inf", b"+inf", b"Inf", b"INF", b"infinity", b"Infinity",
    b"-Infinity", b"1e5", b"1E5", b"1e+5", b"1e-5", b".5", b"5.", b"-.5", b"-5.", b"+1.5", b"-0", b"-0.0", b"+0",
    b"00.5", b"1.4e-45", b"1.401298464324817e-45", b"7.006492321624085e-46", b"7.1e-46", b"1e-46", b"1e-40",
    b"1.1754942e-38", b"1.17549435e-38", b"3.4028235e38", b"3.4028234663852886e38", b"3.4028235677973366e38",
    b"3.40282357e38", b"3.4028236e38", b"1e39", b"-1e39", b"1e308", b"1e309", b"1e-400",
    b"123456789012345678901234567890", b"0.000000000000000000000000000000000000000000001401298464324817",
    *MUST_REFUSE,
]


@dataclass(frozen=True)
class Case:
    """A small file a reader must read as the reference does, or refuse (``refuse`` says why)."""

    group: str
    name: str
    data: bytes
    header: bool = False
    refuse: str | None = None


def cases() -> list[Case]:
    """Every case, in report order."""
    sys.path.insert(0, str(ROOT))
    try:
        from tests.test_numbers import digit_cases
    except ImportError as exc:
        raise SystemExit(f"tests/test_numbers.py needs pytest and hypothesis ({exc}); `make compare-parsers` "
                         f"installs them in .venv-parsers") from None
    out = [Case("differential", f"digit_cases() ({len(digit_cases())} fields)", _rows(digit_cases(), 5)),
           Case("double rounding", "64 halfway decimals", _rows(double_rounding_fields(), 4))]
    for text in SPECIAL:
        out.append(Case("special", text.decode(), b"a 0.5 " + text + b"\nb 0.25 0.75\n", refuse=MUST_REFUSE.get(text)))
    out += [Case("tokens", name, data, header, refuse) for name, data, header, refuse in [
        ("token with spaces ('. . .' as in glove.840B)", b"the 0.1 0.2\n. . . 0.3 0.4\nat & t 0.5 0.6\n", False, None),
        ("quotes in and around tokens", b'"quoted" 1 2\n\'single\' 3 4\nit\'s 5 6\n"half 7 8\na"b 9 10\n"" 11 12\n',
         False, None),
        ("'#' at the start of a token", b"# 1 2\n#hash 3 4\n##x 5 6\n", False, None),
        ("non-UTF-8 token bytes", b"caf\xe9 1 2\nok 3 4\n\xff\xfe 5 6\n", False, None),
        ("NA-like tokens", b"NA 1 2\nnull 3 4\nnan 5 6\nNaN 7 8\nN/A 9 10\n1e5 11 12\nTrue 13 14\n-1 15 16\n",
         False, None),
        ("word2vec header line", b"3 2\nw 1 2\nx 3 4\ny 5 6\n", True, None),
        ("fastText .vec trailing space", b"2 2\nw 1 2 \nx 3 4 \n", True, None),
        ("CRLF line ends", b"w 1 2\r\nx 3 4\r\n", False, None),
        ("no newline at the end", b"w 1 2\nx 3 4", False, None),
        ("a row with a value missing", b"w 1 2\nx 3\ny 5 6\n", False, "a short row"),
        ("an empty field (double space)", b"w 1 2\nx 3  4\n", False, "an empty value"),
    ]]
    return out


def double_rounding_fields(count: int = 64) -> list[bytes]:
    """Decimals where float32(nearest double) != nearest float32: a hair above a float32 halfway point
    (even lower neighbour) or below it (odd), close enough that the nearest double is the halfway point."""
    rng = np.random.default_rng(7)
    patterns = np.concatenate([[0x3F800000, 0x3F800001, 0x00000002, 0x00000001],
                               rng.integers(1, 0x7F7FFFFF, count - 4, dtype=np.uint32)]).astype(np.uint32)
    out = []
    with localcontext() as ctx:
        ctx.prec = 200
        for i, pattern in enumerate(patterns.tolist()):
            low = np.array([pattern], dtype=np.uint32).view(np.float32)[0]
            high = np.nextafter(low, np.float32(np.inf))
            half = (Decimal(float(low)) + Decimal(float(high))) / 2
            step = (Decimal(float(high)) - Decimal(float(low))) * Decimal("1e-20")
            text = half + step if pattern % 2 == 0 else half - step
            field = ("-" if i % 3 == 2 else "") + format(text, "e")
            direct = high if pattern % 2 == 0 else low
            got = np.float32(float(field))
            assert float(field) == float(half) * (-1 if field[0] == "-" else 1) and abs(got) != direct, field
            out.append(field.encode())
    return out


def child_cases(variant) -> dict:
    """Read every case with ``variant``; per group how many went as expected, were refused or were wrong."""
    from parser_readers import library_version

    groups: dict[str, dict[str, int]] = {}
    misses, caught_all = [], []
    with tempfile.TemporaryDirectory() as folder:
        for i, case in enumerate(cases()):
            path = Path(folder) / f"case{i}.txt"
            path.write_bytes(case.data)
            lines = case.data.split(b"\n")
            tokens, want, dim = reference_arrays(lines, case.header) if case.refuse is None else ([], None, 2)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    got = variant.read(str(path), case.header, dim)
                    error = None
                except Exception as exc:  # noqa: BLE001 - any refusal counts; its message is reported
                    got, error = None, f"{type(exc).__name__}: {exc}".replace(folder + "/", "")
            caught_all += [f"{w.category.__name__}: {w.message}" for w in caught]
            if case.refuse is None:
                diff = error or compare(*got, tokens, want, lambda r: lines[r + case.header])
                verdict = "expected" if diff is None else "refused" if error else "wrong"
            else:
                diff = None if error else f"read it ({case.refuse}): {_shown(got)}"
                verdict = "expected" if error else "wrong"
            counts = groups.setdefault(case.group, {"total": 0, "expected": 0, "refused": 0, "wrong": 0, "values": 0})
            counts["total"] += 1
            counts["values"] += 0 if want is None else want.size
            counts[verdict] += 1
            if diff:
                misses.append(f"{case.group} / {case.name}: {verdict}: {diff}")
    return {"groups": groups, "misses": misses, "warnings": sorted(set(caught_all)),
            "version": library_version(variant.module)}


def reference_arrays(lines: Iterable[bytes], header: bool) -> tuple[list[bytes], np.ndarray, int]:
    """Tokens (bytes), float32(float(field)) values and the dimension of a file's lines."""
    rows = [line.rstrip(b"\r\n").rstrip(b" ") for line in lines]
    if rows and not rows[-1]:  # after the last newline
        rows.pop()
    if header:
        dim, rows = int(rows[0].split()[1]), rows[1:]
    else:
        dim = _common_count(rows[:100])
    tokens, values = [], np.empty((len(rows), dim), dtype=np.float32)
    with np.errstate(over="ignore"):
        for r, row in enumerate(rows):
            fields = row.split(b" ")
            tokens.append(b" ".join(fields[:-dim]))
            values[r] = np.array([float(f) for f in fields[-dim:]], dtype=np.float64)
    return tokens, values, dim


def field_count(path: str) -> int:
    """The number of values per row of a headerless file (the fewest fields on its first lines, less one:
    a token with spaces only adds fields)."""
    with open(path, "rb") as fh:
        return _common_count([fh.readline().rstrip(b"\r\n ") for _ in range(100)])


def _common_count(rows: list[bytes]) -> int:
    return min(len(r.split(b" ")) - 1 for r in rows if r)


def compare(tokens: list, values: np.ndarray, want_tokens: list[bytes], want: np.ndarray,
            line: Callable[[int], bytes]) -> str | None:
    """None when a reader's result is the reference's bit for bit; else its first difference in words."""
    if len(tokens) != len(want_tokens) or values.shape != want.shape:
        return f"{len(tokens)} rows of {values.shape[1:]} values, expected {len(want_tokens)} of {want.shape[1:]}"
    for r, (a, b) in enumerate(zip(tokens, want_tokens)):
        got = a.encode("utf-8", "surrogateescape") if isinstance(a, str) else a
        if got != b:
            return f"row {r}: token {got!r}, expected {b!r}"
    bad, total = 0, 0
    for start in range(0, len(values), 65536):  # a block at a time: the reference may be a memory map
        a = np.ascontiguousarray(values[start : start + 65536]).view(np.uint32)
        b = np.ascontiguousarray(want[start : start + 65536]).view(np.uint32)
        diff = np.flatnonzero(a != b)
        if len(diff) and not bad:
            r, c = divmod(int(diff[0]), values.shape[1])
            text = line(start + r).rstrip(b"\r\n ").split(b" ")[-values.shape[1] + c]
            first = (f"row {start + r} value {c} ({text.decode(errors='replace')!r}): got {_f32(a.flat[diff[0]])}, "
                     f"expected {_f32(b.flat[diff[0]])}")
        bad += len(diff)
        total += a.size
    return None if not bad else f"{first}; {bad} of {total} values differ"


def _f32(pattern: int) -> str:
    value = np.array([pattern], dtype=np.uint32).view(np.float32)[0]
    return f"{float(value)!r} (0x{int(pattern):08x})"


def _rows(fields: list[bytes], dim: int) -> bytes:
    """Fields ``dim`` to a row, each row with a token ``w<i>``."""
    usable = fields[: len(fields) - len(fields) % dim]
    return b"".join(b"w%d " % (i // dim) + b" ".join(usable[i : i + dim]) + b"\n" for i in range(0, len(usable), dim))


def _shown(got: tuple[list, np.ndarray]) -> str:
    tokens, values = got
    return f"{len(tokens)} rows, first values {values.ravel()[:4].tolist()}"
