"""Property tests: random valid tables round-trip exactly in every format; random corruptions raise our errors."""

from __future__ import annotations

import bz2
import gzip
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.helpers import bits, word2vec_binary
from vecload import ParseError, VecloadError
from vecload.formats import ReadOptions, read_table

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Tokens: no whitespace, no control characters, not empty; any other unicode.
TOKEN = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters="\ufeff\x85"),
    min_size=1,
    max_size=12,
)
FLOAT32 = st.floats(width=32, allow_nan=False, allow_infinity=False)
STYLES = [repr, lambda v: "%.9g" % v, lambda v: "%.17g" % v, lambda v: "%.9e" % v]


@st.composite
def tables(draw):
    """Distinct tokens and a float32 matrix."""
    dim = draw(st.integers(1, 6))
    tokens = draw(st.lists(TOKEN, min_size=1, max_size=25, unique=True))
    flat = draw(st.lists(FLOAT32, min_size=len(tokens) * dim, max_size=len(tokens) * dim))
    return tokens, np.array(flat, dtype=np.float32).reshape(len(tokens), dim)


def _text(tokens, vectors, header: bool, style, eol: str) -> bytes:
    lines = [f"{len(tokens)} {vectors.shape[1]}"] if header else []
    for token, row in zip(tokens, vectors):
        lines.append(token + " " + " ".join(style(float(v)) for v in row))
    return (eol.join(lines) + eol).encode("utf-8")


def _write(directory: Path, name: str, data: bytes, container: str) -> str:
    if container == "gzip":
        data = gzip.compress(data)
    elif container == "bz2":
        data = bz2.compress(data)
    elif container == "zip":
        path = directory / (name + ".zip")
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr(name, data)
        return f"{path}:{name}"
    path = directory / name
    path.write_bytes(data)
    return str(path)


@SETTINGS
@given(
    table=tables(),
    kind=st.sampled_from(["glove", "word2vec", "word2vec-binary", "word2vec-binary-nl"]),
    style=st.sampled_from(range(len(STYLES))),
    eol=st.sampled_from(["\n", "\r\n"]),
    container=st.sampled_from([None, "gzip", "bz2", "zip"]),
)
def test_random_tables_round_trip_exactly(table, kind, style, eol, container) -> None:
    """Any valid table written in any format and container reads back with the same tokens and bits."""
    tokens, vectors = table
    if kind.startswith("word2vec-binary"):
        data, fmt = word2vec_binary(zip(tokens, vectors), newline=kind.endswith("-nl")), "word2vec-binary"
        tokens = [t.lstrip("\n") for t in tokens]
    else:
        data, fmt = _text(tokens, vectors, kind == "word2vec", STYLES[style], eol), kind
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), "v.txt", data, container)
        result = read_table(path, format=fmt)
    assert result.tokens == tokens
    assert np.array_equal(bits(result.vectors), bits(vectors))


@SETTINGS
@given(table=tables(), limit=st.integers(0, 30))
def test_limit_reads_a_prefix(table, limit) -> None:
    """limit=N returns exactly the first N rows (or all, if fewer)."""
    tokens, vectors = table
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), "v.txt", _text(tokens, vectors, True, repr, "\n"), None)
        result = read_table(path, format="word2vec", options=ReadOptions(limit=limit))
    assert result.tokens == tokens[:limit]
    assert np.array_equal(bits(result.vectors), bits(vectors[:limit]))


@SETTINGS
@given(
    table=tables(),
    kind=st.sampled_from(["glove", "word2vec", "word2vec-binary"]),
    cut=st.floats(0, 1),
    junk=st.binary(min_size=1, max_size=6),
    how=st.sampled_from(["truncate", "insert", "overwrite"]),
)
def test_corruptions_raise_our_errors_with_a_location(table, kind, cut, junk, how) -> None:
    """Random corruption either still reads or raises a VecloadError that names a place; never anything else."""
    tokens, vectors = table
    data = word2vec_binary(zip(tokens, vectors)) if kind == "word2vec-binary" else _text(tokens, vectors, kind == "word2vec", repr, "\n")
    at = int(cut * len(data))
    if how == "truncate":
        data = data[:at]
    elif how == "insert":
        data = data[:at] + junk + data[at:]
    else:
        data = data[:at] + junk + data[at + len(junk) :]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bad.vec"
        path.write_bytes(data)
        try:
            read_table(path, format=kind)
        except VecloadError as exc:
            message = str(exc)
            assert message.startswith(str(path)), message
            located = f"{path}:" in message and message[len(str(path)) + 1 : len(str(path)) + 2].isdigit()
            assert located or f"{path}: byte " in message, message


@SETTINGS
@given(table=tables(), bad=st.sampled_from(["x", "1.2.3", "--1", "1e", "0x1", ""]), row=st.integers(0, 24))
def test_a_bad_value_names_its_line(table, bad, row) -> None:
    """A value that is not a number is reported at its exact line, as that value, or as a short row."""
    tokens, vectors = table
    row = row % len(tokens)
    assume(not (bad == "" and row == 0))  # an empty last field on line 1 just sets a smaller dim
    lines = _text(tokens, vectors, False, repr, "\n").decode().splitlines()
    fields = lines[row].split(" ")
    fields[-1] = bad
    lines[row] = " ".join(fields)
    dim = vectors.shape[1]
    if bad:
        reason = rf"value {dim} \({re.escape(repr(bad))}\) is not a number"
    else:  # the empty last field leaves one value fewer than line 1 set
        reason = rf"{dim - 1} values, expected {dim} \(set by line 1\)"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bad.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        with pytest.raises(ParseError, match=rf"^{re.escape(str(path))}:{row + 1}: {reason}"):
            read_table(path, format="glove")

