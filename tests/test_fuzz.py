"""Fuzzing every reader: random bytes and random mutations of valid files.

The only outcomes allowed are an exact, self-consistent table (identical across engines where each
reads the file) or a vecload error that names the file and, for damage inside it, the line or byte
offset. The default run tries a few dozen cases per test; `make fuzz` sets VECLOAD_FUZZ_EXAMPLES for a
long session and prints how many cases were tried.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import FIXTURES, FUZZ, bits, fuzz_summary
from vecload.errors import FormatError, ParseError, VecloadError
from vecload.formats import ENGINES, ReadOptions, read_table

SEEDS = [
    (FIXTURES / name).read_bytes()
    for name in ("tiny.glove.txt", "tiny.w2v.txt", "tiny.vec", "tiny.w2v.bin", "tiny-nonl.w2v.bin",
                 "tiny.glove.txt.gz", "tiny.w2v.bin.bz2", "tiny-crlf-bom.glove.txt")
]
TRIED = {"cases": 0}


@pytest.fixture(scope="module", autouse=True)
def _count_cases(request):
    """Report the number of cases tried and of tests failed (shown by `make fuzz`, which runs pytest with -s)."""
    yield from fuzz_summary(request, lambda: f"fuzz: {TRIED['cases']} cases tried over engines {sorted(ENGINES)}")


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
        # Native also refuses, on purpose, '_' digit separators and tabs between values, which gensim
        # reads through numpy's float parsing ('1_000' as 1000, ' \t2.5' as 2.5).
        on_purpose = ("digit separator", "tabs between fields", "whitespace other than single spaces")
        if "gensim" in results and "" not in results["gensim"].tokens and not lenient:
            assert "native" not in errors or any(p in str(errors["native"]) for p in on_purpose), (
                f"native refused what gensim read: {errors['native']}")
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


# --- text is never read as binary, nor binary as text --------------------------------------------------
#
# Mutations aimed at what detection looks at: the word2vec header and the lines right after it. A read
# that succeeds must give the format family of the file it came from (text or binary) and exactly the
# table an independent, line-by-line (or record-by-record) reference gives for that format.

PLAIN_SEEDS = {
    name: (FIXTURES / name).read_bytes()
    for name in ("tiny.w2v.txt", "tiny.vec", "tiny.glove.txt", "tiny.w2v.bin", "tiny-nonl.w2v.bin")
}
_HEADER_LINE = re.compile(rb"\s*(\d+)[ \t]+(\d+)[ \t]*\r?")
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
WEIRD_VALUES = [b"Infinity", b"-inf", b"nan", b"1,5", b"1_000", b"1e5", b".5", b"5.", b"-0", b"0x1", b"", b"\t2.5",
                b"5534.250000000000000", b"18446744.73709551616", b"1.0\t2.0"]
SEPARATORS = [b" ", b"  ", b"\t", b" \t", b" \r"]
AFTER_HEADER = [b"", b"\n", b"\n\n", b" \n", b"\t\n", b"\r\n", b" \t \n"]


@st.composite
def header_mutations(draw) -> tuple[bytes, str]:
    """A plain seed with its header replaced or edited, blank lines after it, its first row's values
    swapped for odd ones, or its first lines mutated byte by byte; and what it now is (text, binary,
    or either when a control byte landed in a text seed)."""
    name = draw(st.sampled_from(sorted(PLAIN_SEEDS)))
    data = PLAIN_SEEDS[name]
    family = "binary" if name.endswith(".bin") else "text"
    head, _, body = data.partition(b"\n")
    if draw(st.booleans()) and _HEADER_LINE.fullmatch(head):
        count, dim = draw(st.integers(0, 6)), draw(st.integers(0, 5))
        head = str(count).encode() + draw(st.sampled_from(SEPARATORS)) + str(dim).encode() + draw(
            st.sampled_from([b"", b" ", b"\t", b" \t", b"\r"]))
    blank = draw(st.sampled_from(AFTER_HEADER))
    if family == "text" and draw(st.booleans()):
        first, _, others = body.partition(b"\n")
        fields = first.rstrip().split(b" ")
        for _ in range(draw(st.integers(1, 3))):
            fields[draw(st.integers(1, len(fields) - 1))] = draw(st.sampled_from(WEIRD_VALUES))
        body = draw(st.sampled_from(SEPARATORS[:1] * 3 + SEPARATORS)).join(fields) + draw(
            st.sampled_from([b"", b" ", b"\t", b" \t"])) + b"\n" + others
    mutated = head + b"\n" + blank + body
    if draw(st.booleans()):  # byte edits within the header and the next two lines
        reach = len(b"\n".join(mutated.split(b"\n")[:3])) + 1
        edits = draw(st.lists(st.tuples(st.sampled_from(["flip", "set", "insert", "delete", "duplicate"]),
                                        st.integers(0, reach - 1), st.integers(0, 255)), min_size=1, max_size=3))
        mutated = _mutate(mutated, edits)
    if draw(st.integers(0, 4)) == 0:
        mutated = mutated[: draw(st.integers(0, len(mutated)))]
    # What the bytes now are: text has no control byte at all; binary keeps some after its first line
    # (a cut or edit can leave a binary seed with only text, or put a control byte into a text seed).
    if not _CONTROL.search(mutated):
        return mutated, "text"
    return mutated, ("binary" if family == "binary" and _CONTROL.search(mutated.partition(b"\n")[2]) else "either")


def reference_table(data: bytes, fmt: str, limit: int | None) -> tuple[list[str], np.ndarray] | None:
    """What a strict reading of ``data`` as ``fmt`` gives (None: it is not a valid file of that format).

    Written independently of vecload: lines split on newlines, trailing ASCII whitespace dropped, blank
    lines skipped, the token is everything before the last ``dim`` single-space-separated fields, a value
    is what float() reads without '_' or whitespace; binary records are token, space, 4 * dim bytes,
    with newlines allowed before a token. The first row of each token is kept.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    rows: list[tuple[bytes, list[float]]] = []
    if fmt == "word2vec-binary":
        head, newline, body = data.partition(b"\n")
        match = _HEADER_LINE.fullmatch(head)
        if not newline or not match or int(match.group(2)) == 0:
            return None
        count, dim = int(match.group(1)), int(match.group(2))
        wanted = count if limit is None else min(limit, count)
        pos = 0
        while len(rows) < wanted:
            while body[pos : pos + 1] == b"\n":
                pos += 1
            space = body.find(b" ", pos)
            if space < 0 or space + 1 + 4 * dim > len(body):
                return None
            rows.append((body[pos:space], list(np.frombuffer(body, "<f4", dim, space + 1))))
            pos = space + 1 + 4 * dim
        if (limit is None or limit > count) and body[pos:].strip():
            return None
    else:
        lines = [line.rstrip() for line in data.split(b"\n")]
        numbered = [(i + 1, line) for i, line in enumerate(lines) if line.strip()]
        if fmt == "word2vec":
            if not numbered or not _HEADER_LINE.fullmatch(numbered[0][1]):
                return None
            count, dim = (int(g) for g in _HEADER_LINE.fullmatch(numbered[0][1]).groups())
            numbered = numbered[1:]
            wanted = count if limit is None else min(limit, count)
            if len(numbered) < wanted or (len(numbered) > wanted and (limit is None or limit > count)):
                return None
            numbered = numbered[:wanted]
        else:
            if not numbered:
                return None
            dim = len(numbered[0][1].split(b" ")) - 1
            numbered = numbered[:limit]
        if dim <= 0:
            return None
        for _, line in numbered:
            fields = line.rsplit(b" ", dim)
            if len(fields) != dim + 1 or not all(_number(f) for f in fields[1:]):
                return None
            parts = fields[0].split(b" ")
            if len(parts) > 1 and all(_number(p) for p in parts[1:]):
                return None
            rows.append((fields[0], [float(f) for f in fields[1:]]))
    tokens, values, seen = [], [], set()
    for token, row in rows:
        try:
            text = token.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if text not in seen:
            seen.add(text)
            tokens.append(text)
            values.append(row)
    # binary values are float32 already (a float64 hop would quiet a signalling NaN); text is float() then float32
    wide = np.float32 if fmt == "word2vec-binary" else np.float64
    with np.errstate(over="ignore"):
        return tokens, np.array(values, dtype=wide).astype(np.float32).reshape(len(tokens), dim)


def _number(field: bytes) -> bool:
    if not field or b"_" in field or field[:1].isspace() or field[-1:].isspace():
        return False
    try:
        float(field)
    except ValueError:
        return False
    return True


def check_family(data: bytes, family: str, limit: int | None = None) -> None:
    """The native reader gives an error, or the table of the file's own family that the reference gives."""
    TRIED["cases"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.vec"
        path.write_bytes(data)
        try:
            table = read_table(str(path), options=ReadOptions(limit=limit))
        except VecloadError as exc:
            assert_located(exc, str(path))
            return
    read_as = "binary" if table.format == "word2vec-binary" else "text"
    # (a table of no rows, from a '0 dim' header or limit=0, misreads nothing: it is labelled text)
    assert read_as == family or family == "either" or not table.report.rows_read, f"{family} read as {table.format}: {data!r}"
    reference = reference_table(data, table.format, limit)
    assert reference is not None, f"read as {table.format}, which the reference refuses: {data!r}"
    assert table.tokens == reference[0], data
    assert np.array_equal(bits(table.vectors), bits(reference[1])), data


@FUZZ
@given(header_mutations(), st.none() | st.integers(min_value=0, max_value=5))
def test_mutated_headers_never_cross_text_and_binary(case: tuple[bytes, str], limit) -> None:
    """Headers and the lines after them, mutated: never text read as binary or binary as text, and any
    table is exactly the reference's."""
    data, family = case
    check_family(data, family, limit)
    check(data)


@pytest.mark.parametrize(
    "data",
    [
        b"2 4\n\nx 1.5 1.0 2.0 3.0\ny 0.25 0.5 0.1 0.2\n",
        b"2 2\nx 1,5 1.0\ny 0.25 0.5\n",
        b"2 2\nx 1_000 1.0\ny 0.25 0.5\n",
        b"2 2\nx Infinity 1.0\ny 0.25 0.5\n",
        b"1000 300\n",
        b"0 300\n",
    ],
)
def test_issue_examples_stay_text(data: bytes) -> None:
    """The issue's examples: text (a table equal to the reference's, or a text error), never binary."""
    check_family(data, "text")
