"""TokenSet: the tokens kept so far, found by hash and confirmed by comparing the tokens themselves."""

from __future__ import annotations

import random

import pytest

from vecload.formats.tokenset import TokenSet


@pytest.mark.parametrize("buckets", [None, 3], ids=["python-hash", "colliding-hash"])
def test_membership_matches_a_set(buckets: int | None) -> None:
    """Random adds, one at a time and in chunks, with merges every 8 tokens: membership and order match a
    set and a list, also when every token's hash is one of 3 values (equal hashes are told apart)."""
    key = hash if buckets is None else (lambda token: len(token) % buckets)
    rng = random.Random(7)
    for _ in range(200):
        kept, seen = TokenSet(key=key, min_recent=8), set()
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




@pytest.mark.parametrize("buckets", [None, 3], ids=["python-hash", "colliding-hash"])
def test_all_new_is_never_wrong(buckets: int | None) -> None:
    """all_new says True only for distinct tokens none of which is kept, and always for those with
    distinct hashes not kept (so the usual chunk takes the fast path); equal hashes only ever give False."""
    key = hash if buckets is None else (lambda token: len(token) % buckets)
    rng = random.Random(11)
    for _ in range(200):
        kept, seen = TokenSet(key=key, min_recent=8), set()
        for _ in range(rng.randint(1, 30)):
            chunk = [str(rng.randint(0, 300)) for _ in range(rng.randint(1, 12))]
            truth = len(set(chunk)) == len(chunk) and seen.isdisjoint(chunk)
            answer = kept.all_new(chunk)
            assert not answer or truth
            if buckets is None and truth:
                assert answer
            fresh = list(dict.fromkeys(token for token in chunk if token not in seen))
            kept.extend(fresh)
            seen.update(fresh)
