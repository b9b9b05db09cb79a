"""Fuzzing the converted-file loader: byte flips, truncations and record edits of a valid .pth.

The only outcomes allowed are an exact load (tokens and tensor bit-identical to what was written) or a
VecloadError; never another exception, a hang, or a silently different table or token list. The table
has fewer rows than the load-time sample, so every row is covered by the cheap fingerprint. The default
run tries a few dozen cases per test; `make fuzz` sets VECLOAD_FUZZ_EXAMPLES for a long session.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import vecload
from tests.helpers import FUZZ, bits, fuzz_summary
from vecload.errors import VecloadError
from vecload.store import write_table

TOKENS = ["the", "of", "café", "a b", "", "x\ny", "日本", "u.s."]
TRIED = {"cases": 0, "loaded": 0, "refused": 0}


@pytest.fixture(scope="module", autouse=True)
def _count_cases(request):
    """Report the cases tried, loaded and refused, and the tests failed (shown by `make fuzz`, which runs pytest with -s)."""
    yield from fuzz_summary(request, lambda: f"store fuzz: {TRIED['cases']} mutated files tried, {TRIED['loaded']} "
                                             f"loaded exactly, {TRIED['refused']} refused with a VecloadError")


def _original() -> tuple[bytes, torch.Tensor]:
    values = torch.from_numpy(np.random.default_rng(1).standard_normal((len(TOKENS), 5)).astype(np.float32))
    with tempfile.TemporaryDirectory() as tmp:
        out = vecload.Vectors(list(TOKENS), values, {"format": "glove"}).save(Path(tmp) / "t.pth")
        return out.read_bytes(), values


ORIGINAL, VALUES = _original()


def _outcome(data: bytes, expected: list[str] = TOKENS) -> None:
    """Load ``data`` as a .pth: exactly ``expected`` and the original rows, or a VecloadError, nothing else."""
    TRIED["cases"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.pth"
        path.write_bytes(data)
        for verify in (False, True):
            try:
                loaded = vecload.load(path, verify=verify)
            except VecloadError:
                TRIED["refused"] += verify
                continue
            assert loaded.tokens == expected
            assert np.array_equal(bits(loaded.vectors.numpy()), bits(VALUES.numpy()))
            TRIED["loaded"] += verify


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, len(ORIGINAL) - 1), st.integers(1, 255)), min_size=1, max_size=4))
def test_byte_flips(flips: list[tuple[int, int]]) -> None:
    """Flipped bits anywhere in the file: exact load or VecloadError."""
    data = bytearray(ORIGINAL)
    for offset, mask in flips:
        data[offset] ^= mask
    _outcome(bytes(data))


@FUZZ
@given(keep=st.integers(0, len(ORIGINAL) - 1), tail=st.binary(max_size=64))
def test_truncations(keep: int, tail: bytes) -> None:
    """The file cut short (and perhaps followed by junk): VecloadError."""
    _outcome(ORIGINAL[:keep] + tail)


def _record_edits() -> st.SearchStrategy:
    token = st.text(max_size=6)
    return st.one_of(
        st.tuples(st.just("swap"), st.integers(0, len(TOKENS) - 1), st.integers(0, len(TOKENS) - 1)),
        st.tuples(st.just("rename"), st.integers(0, len(TOKENS) - 1), token),
        st.tuples(st.just("duplicate"), st.integers(0, len(TOKENS) - 1), st.integers(0, len(TOKENS) - 1)),
        st.tuples(st.just("drop"), st.integers(0, len(TOKENS) - 1), st.none()),
        st.tuples(st.just("insert"), st.integers(0, len(TOKENS)), token),
        st.tuples(st.just("shape"), st.integers(0, 1), st.integers(-2, 10**30)),
        st.tuples(st.just("meta"), st.sampled_from(["tensor", "tokens_sha256", "count", "report", "kind", "layout"]),
                  st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                               lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
                               max_leaves=8)),
        st.tuples(st.just("raw"), st.sampled_from(["tokens", "meta"]), st.binary(max_size=40)),
    )


@FUZZ
@given(edit=_record_edits(), rehash=st.booleans())
def test_record_edits(edit: tuple, rehash: bool) -> None:
    """Edited tokens or metadata: refused, unless the token hash was recomputed to match the edit.

    A consistent edit (new tokens and their new hash) is a different, well-formed file: then the load
    must give exactly the edited tokens (or refuse them, e.g. duplicates or a wrong count).
    """
    import zipfile

    with zipfile.ZipFile(__import__("io").BytesIO(ORIGINAL)) as archive:
        tokens_record = archive.read("archive/vecload/tokens.json")
        document = json.loads(archive.read("archive/vecload/meta.json"))
    tokens = list(TOKENS)
    kind, a, b = edit
    if kind == "swap":
        tokens[a], tokens[b] = tokens[b], tokens[a]
    elif kind == "rename":
        tokens[a] = b
    elif kind == "duplicate":
        tokens[a] = tokens[b]
    elif kind == "drop":
        del tokens[a]
    elif kind == "insert":
        tokens.insert(a, b)
    elif kind == "shape":
        document["meta"]["tensor"]["shape"][a] = b
    elif kind == "meta":
        (document if a in ("kind", "layout") else document["meta"])[a] = b
    if kind in ("swap", "rename", "duplicate", "drop", "insert"):
        tokens_record = json.dumps(tokens, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if rehash and kind != "meta":
        document["meta"]["tokens_sha256"] = hashlib.sha256(tokens_record).hexdigest()
    meta_record = json.dumps(document).encode("utf-8")
    if kind == "raw":
        tokens_record, meta_record = (b, meta_record) if a == "tokens" else (tokens_record, b)
    import io

    fh = io.BytesIO()
    write_table(fh, VALUES, tokens_record, meta_record, False)
    _outcome(fh.getvalue(), tokens if rehash and kind != "meta" else TOKENS)
