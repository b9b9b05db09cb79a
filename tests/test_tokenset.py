"""TokenSet: the tokens kept so far, found by hash and confirmed by comparing the tokens themselves."""

from __future__ import annotations

import random

import pytest

import vecload.formats.tokenset as tokenset
from tests.helpers import FIXTURES
from vecload.formats import read_table
from vecload.formats.tokenset import TokenSet


@pytest.mark.parametrize("buckets", [None, 3], ids=["python-hash", "colliding-hash"])
def test_membership_matches_a_set(monkeypatch: pytest.MonkeyPatch, buckets: int | None) -> None:
    """Random adds, one at a time and in chunks, with merges every 8 tokens: membership and order match a
    set and a list, also when every token's hash is one of 3 values (equal hashes are told apart)."""
    monkeypatch.setattr(tokenset, "_MIN_RECENT", 8)
    if buckets:
        monkeypatch.setattr(tokenset, "hash", lambda token: len(token) % buckets, raising=False)
    rng = random.Random(7)
    for _ in range(200):
        kept, seen = TokenSet(), set()
        order: list[str] = []
        for _ in range(rng.randint(1, 40)):
            chunk = [str(rng.randint(0, 200)) for _ in range(rng.randint(1, 20))]
            assert kept.seen(chunk) == [token in seen for token in chunk]
            fresh = list(dict.fromkeys(token for token in chunk if token not in seen))
            if rng.random() < 0.5:
                kept.extend(fresh)
            else:
                for token in fresh:
                    assert token not in kept
                    kept.add(token)
            seen.update(fresh)
            order += fresh
            assert all(token in kept for token in fresh) and kept.tokens == order


def test_repeats_across_merges_are_dropped_even_when_hashes_collide(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file whose repeats come long after their first rows reads the same with colliding hashes."""
    path = tmp_path / "repeats.txt"
    rows = [f"w{i % 700} {i}.5 {i}.25\n" for i in range(2000)]
    path.write_text("".join(rows), encoding="utf-8")
    plain = read_table(path)
    monkeypatch.setattr(tokenset, "_MIN_RECENT", 16)
    monkeypatch.setattr(tokenset, "hash", lambda token: len(token), raising=False)
    forced = read_table(path)
    assert plain.tokens == forced.tokens == [f"w{i}" for i in range(700)]
    assert plain.vectors.tobytes() == forced.vectors.tobytes()
    assert plain.report.duplicates == forced.report.duplicates == 1300
    assert read_table(FIXTURES / "tiny.glove.txt").tokens == ["the", "of", "café", "u.s."]
