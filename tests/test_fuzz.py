"""Fuzzing every reader: random bytes and random mutations of valid files.

The only outcomes allowed are an exact, self-consistent table (identical across engines where each
reads the file) or a vecload error that names the file and, for damage inside it, the line or byte
offset. The default run tries a few dozen cases per test; `make fuzz` sets VECLOAD_FUZZ_EXAMPLES for a
long session and prints how many cases were tried.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FIXTURES, bits
from vecload.errors import FormatError, ParseError, VecloadError
from vecload.formats import ENGINES, ReadOptions, read_table

EXAMPLES = int(os.environ.get("VECLOAD_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=EXAMPLES <= 40)
SEEDS = [
    (FIXTURES / name).read_bytes()
    for name in ("tiny.glove.txt", "tiny.w2v.txt", "tiny.vec", "tiny.w2v.bin", "tiny-nonl.w2v.bin",
                 "tiny.glove.txt.gz", "tiny.w2v.bin.bz2", "tiny-crlf-bom.glove.txt")
]
TRIED = {"cases": 0}


@pytest.fixture(scope="module", autouse=True)
def _count_cases():
    """Report the number of cases tried (shown by `make fuzz`, which runs pytest with -s)."""
    yield
    print(f"\nfuzz: {TRIED['cases']} cases tried over engines {sorted(ENGINES)}, 0 failures")


def check(data: bytes, options: ReadOptions | None = None) -> None:
    """Read ``data`` with every engine; assert each outcome is allowed and successful reads agree."""
    TRIED["cases"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.vec"
        path.write_bytes(data)
        results, errors = {}, {}
        for engine in sorted(ENGINES):
            try:
                table = read_table(str(path), engine=engine, options=options)
            except VecloadError as exc:
                assert_located(exc, str(path))
                errors[engine] = exc
                continue
            assert table.vectors.dtype == np.float32 and table.vectors.flags.c_contiguous
            assert table.vectors.shape == (len(table.tokens), table.dim)
            assert len(set(table.tokens)) == len(table.tokens)
            assert table.report.rows_kept == len(table.tokens)
            results[engine] = table
        # The native reader reads everything gensim reads correctly (and more: tokens with spaces, BOMs).
        # Rows without a token are refused on purpose: gensim reads them as the empty token ''. And with
        # unicode_errors='replace'/'ignore' gensim decodes whole lines, so a bad byte inside a number is
        # dropped and the number misread; native repairs only tokens and refuses the number.
        lenient = options is not None and options.unicode_errors != "strict"
        if "gensim" in results and "" not in results["gensim"].tokens and not lenient:
            assert "native" not in errors, f"native refused what gensim read: {errors['native']}"
        if len(results) == 2 and (results["native"].tokens or results["gensim"].tokens):
            # (With no rows read, limit=0, the dimension is only each engine's reading of the first line.)
            native, reference = results["native"], results["gensim"]
            assert native.tokens == reference.tokens
            assert np.array_equal(bits(native.vectors), bits(reference.vectors))


def assert_located(exc: VecloadError, path: str) -> None:
    """A reader's error names the file, and damage inside it is located by line or byte offset."""
    message = str(exc)
    assert message.startswith(path), message
    if isinstance(exc, ParseError):
        assert exc.line is not None or exc.offset is not None, message
    else:
        assert isinstance(exc, FormatError), f"{type(exc).__name__}: {message}"


@FUZZ
@given(st.binary(max_size=512))
def test_random_bytes(data: bytes) -> None:
    """Arbitrary bytes give an exact table or a located vecload error."""
    check(data)


@FUZZ
@given(st.binary(max_size=256).map(lambda tail: b"3 2\n" + tail))
def test_random_bytes_after_a_header(data: bytes) -> None:
    """Arbitrary records after a valid word2vec header give an exact table or a located error."""
    check(data)


def _mutate(data: bytes, edits: list[tuple[str, int, int]]) -> bytes:
    buf = bytearray(data)
    for kind, where, value in edits:
        if not buf:
            break
        i = where % len(buf)
        if kind == "flip":
            buf[i] ^= 1 << (value % 8)
        elif kind == "set":
            buf[i] = value % 256
        elif kind == "insert":
            buf[i:i] = bytes([value % 256])
        elif kind == "delete":
            del buf[i]
        elif kind == "truncate":
            del buf[i:]
        elif kind == "duplicate":
            buf[i:i] = buf[i : i + value % 16]
    return bytes(buf)


EDITS = st.lists(
    st.tuples(
        st.sampled_from(["flip", "set", "insert", "delete", "truncate", "duplicate"]),
        st.integers(min_value=0, max_value=10_000),
        st.integers(min_value=0, max_value=255),
    ),
    min_size=1,
    max_size=4,
)


@FUZZ
@given(st.sampled_from(SEEDS), EDITS)
def test_mutated_valid_files(seed: bytes, edits: list[tuple[str, int, int]]) -> None:
    """Valid files with a few bytes flipped, inserted, deleted or cut give an exact table or a located error."""
    check(_mutate(seed, edits))


@FUZZ
@given(
    st.sampled_from(SEEDS),
    EDITS,
    st.sampled_from(["strict", "replace", "ignore"]),
    st.sampled_from(["first", "error"]),
    st.none() | st.integers(min_value=0, max_value=6),
)
def test_mutated_files_under_every_policy(seed: bytes, edits, unicode_errors: str, duplicates: str, limit) -> None:
    """The same holds under every decoding and duplicate policy, and with any row limit."""
    check(_mutate(seed, edits), ReadOptions(unicode_errors=unicode_errors, duplicates=duplicates, limit=limit))


def test_repaired_token_loses_leading_newlines_as_in_gensim() -> None:
    """Found by fuzzing: a repaired token whose invalid first byte hid a newline reads as gensim reads it."""
    seed = (FIXTURES / "tiny.w2v.bin").read_bytes()
    check(_mutate(seed, [("insert", 8, 0)]), ReadOptions(unicode_errors="ignore"))
