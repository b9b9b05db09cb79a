"""TokenSet: the tokens kept so far, found by hash and confirmed by comparing the tokens themselves."""

from __future__ import annotations

import random

import numpy as np
import pytest

from vecload.formats.tokenset import TokenSet


BITMAPS = [1 << 20, 8]  # the default first bitmap, and one of 8 bits: rebuilt often, most bits set by chance


@pytest.mark.parametrize("bits", BITMAPS, ids=["bitmap", "tiny-bitmap"])
@pytest.mark.parametrize("buckets", [None, 3], ids=["python-hash", "colliding-hash"])
def test_membership_matches_a_set(buckets: int | None, bits: int) -> None:
    """Random adds, one at a time and in chunks, with merges every 8 tokens: membership and order match a
    set and a list, also when every token's hash is one of 3 values (equal hashes are told apart)."""
    key = hash if buckets is None else (lambda token: len(token) % buckets)
    rng = random.Random(7)
    for _ in range(200):
        kept, seen = TokenSet(key=key, min_recent=8, bits=bits), set()
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




@pytest.mark.parametrize("bits", BITMAPS, ids=["bitmap", "tiny-bitmap"])
@pytest.mark.parametrize("buckets", [None, 3], ids=["python-hash", "colliding-hash"])
def test_all_new_is_never_wrong(buckets: int | None, bits: int) -> None:
    """all_new says True only for distinct tokens none of which is kept, and always for those with
    distinct hashes not kept (so the usual chunk takes the fast path, also when most of the bitmap's
    bits are set by chance); equal hashes only ever give False."""
    key = hash if buckets is None else (lambda token: len(token) % buckets)
    rng = random.Random(11)
    for _ in range(200):
        kept, seen = TokenSet(key=key, min_recent=8, bits=bits), set()
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


def test_extend_after_all_new_of_a_list_changed_since() -> None:
    """A list all_new checked and then changed in place is added as it is now: the hashes all_new took
    are reused only for the same tokens."""
    kept = TokenSet(min_recent=1, bits=64)  # merged at once: seen() looks in the sorted arrays
    chunk = ["a", "b", "c"]
    assert kept.all_new(chunk)
    chunk[1] = "z"
    kept.extend(chunk)
    assert kept.seen(["a", "b", "z", "c"]) == [True, False, True, True]
    assert kept.all_new(["b"]) and not kept.all_new(["z"])


def test_many_tokens_across_merges_and_bitmap_rebuilds() -> None:
    """150,000 tokens in chunks of 5,000 (merges from 65,536 on, bitmap rebuilds at 65,536 and 131,072):
    every chunk is new, every earlier token is seen, and the order is kept."""
    kept, tokens = TokenSet(), [f"t{i}" for i in range(150_000)]
    for start in range(0, len(tokens), 5_000):
        chunk = tokens[start : start + 5_000]
        assert kept.all_new(chunk)
        kept.extend(chunk)
        low, high = max(start - 5_000, 0), min(start + 5_010, len(tokens))  # before, this chunk, 10 ahead
        assert kept.seen(tokens[low:high]) == [i < start + 5_000 for i in range(low, high)]
        assert not kept.all_new(tokens[: start + 5_000 : 997])
    assert kept.tokens == tokens


def test_extend_takes_any_sequence_after_all_new() -> None:
    """A tuple or a numpy array of the tokens all_new has just checked is added like a list."""
    kept = TokenSet(min_recent=1, bits=64)
    assert kept.all_new(["a", "b"])
    kept.extend(np.array(["a", "b"], dtype=object))
    assert kept.all_new(["c", "d"])
    kept.extend(("c", "d"))
    assert kept.tokens == ["a", "b", "c", "d"] and kept.seen(["d", "a", "e"]) == [True, True, False]


@pytest.mark.parametrize("buckets", [None, 3], ids=["python-hash", "colliding-hash"])
def test_merged_arrays_stay_sorted_with_each_row_in_place(buckets: int | None) -> None:
    """After every merge the held hashes are sorted, each beside the row of a token with that hash, rows
    of equal hashes in row order, and every merged row held once."""
    key = hash if buckets is None else (lambda token: len(token) % buckets)
    kept = TokenSet(key=key, min_recent=4, bits=64)
    tokens = [f"t{i}" * (1 + i % 4) for i in range(3_000)]
    for start in range(0, len(tokens), 7):
        kept.extend(tokens[start : start + 7])
        hashes, rows = kept._hashes, kept._rows.tolist()
        assert (hashes[1:] >= hashes[:-1]).all()  # not np.diff: the difference of two hashes can overflow int64
        assert hashes.tolist() == [key(kept.tokens[row]) for row in rows]
        assert sorted(rows) == list(range(kept._merged))
        assert all(a < b for a, b, h, g in zip(rows, rows[1:], hashes, hashes[1:]) if h == g)


def test_rows_past_int32_widen_the_merged_rows() -> None:
    """Rows numbered from 2**31 on are merged as int64 beside the int32 rows held (never wrapped to negative)."""

    class Long(list):  # a token list that says it is longer than memory allows
        def __len__(self) -> int:
            return (1 << 31) + 1

    kept = TokenSet(key=lambda token: 5 if token == "a" else 7)
    kept._hashes, kept._rows = np.array([5]), np.array([0], dtype=np.int32)
    kept._pending, kept._merged, kept.tokens = [np.array([7])], 1 << 31, Long()
    kept._merge()
    assert kept._rows.dtype == np.int64 and kept._rows.tolist() == [0, 1 << 31]
