"""The distinct tokens a reader has kept so far, in row order, for dropping repeats as rows are read.

A Python set of 400,000 tokens costs 16 MiB, and 24 MiB while it grows, on top of the tokens themselves.
:class:`TokenSet` keeps the tokens' hashes instead, sorted in a numpy array beside each one's row (12
bytes a token), and only the tokens added since the last merge in a small set. A token is seen when its
hash is in the array *and* the token in that row is equal, so two tokens with the same hash are never
confused: the hash only narrows the search. The recent set is merged into the arrays whenever it passes
a sixteenth of them (at least 65,536 tokens), so each token is copied a constant number of times overall
(16 on average), and the set stays small (an eighth took 6 MiB more at the peak for 2.2M tokens).
Hashes are Python's own (cached in each string, so the first lookup's index reuses them), each computed
once: the hashes of a chunk :meth:`TokenSet.all_new` checked are kept for the :meth:`TokenSet.extend`
that adds it.

A bitmap of 16 to 32 bits a token (2 to 4 bytes; 128 KiB at first) marks the hashes held (a bit at
``hash mod size``), so the usual chunk, whose tokens are all new, is settled by one vectorised look-up in
it: only the few tokens whose bit is set (a sixteenth at most, by chance) are looked for in the set and
the arrays. With the hashes computed once and each merge one linear merge of two sorted runs, this took
the "repeats" stage of scripts/profile_read.py for the 400k tokens of the binary benchmark file from
0.17 s to 0.11 s (on this project's 2-core machine).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from vecload._memory import own_array

_MIN_RECENT = 1 << 16
_EMPTY = np.empty(0, dtype=np.int32)
#: The fewest bits the bitmap has per token (it is rebuilt larger when it would have fewer).
_BITS_PER_TOKEN = 16


class TokenSet:
    """Distinct tokens in the order they were added.

    Attributes:
        tokens: The tokens, in order (the table's tokens once the read ends).
    """

    def __init__(self, key: Callable[[str], int] = hash, min_recent: int = _MIN_RECENT,
                 bits: int = 1 << 20) -> None:
        """Args:
            key: The hash of a token (tests pass one that collides).
            min_recent: The fewest recent tokens that trigger a merge (tests pass a small one).
            bits: The bitmap's first size, a power of two of at least 8 (tests pass a small one).
        """
        self._key = key
        self._min_recent = min_recent
        self.tokens: list[str] = []
        self._hashes = np.empty(0, dtype=np.int64)  # sorted hashes of tokens[:merged]
        self._rows = _EMPTY  # the row of each hash
        self._merged = 0
        self._recent: set[str] = set()  # tokens[merged:]
        self._pending: list[np.ndarray] = []  # the hashes of tokens[merged:], in order
        self._bits = np.zeros(bits // 8, dtype=np.uint8)  # bit (hash mod 8 * len) set for every token held
        self._checked: tuple[Sequence[str], np.ndarray] | None = None  # the last all_new chunk, its hashes

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        if token in self._recent:
            return True
        return self._in_arrays(token, self._key(token))

    def add(self, token: str) -> None:
        """Add a token that is not in the set."""
        self.extend([token])

    def extend(self, tokens: Sequence[str]) -> None:
        """Add distinct tokens none of which is in the set."""
        checked, self._checked = self._checked, None
        if checked is not None and isinstance(tokens, list) and checked[0] == tokens:
            hashes = checked[1]  # the chunk all_new has just checked (the same strings: compared by identity)
        else:
            hashes = self._hash(tokens)
        self.tokens.extend(tokens)
        self._recent.update(tokens)
        self._pending.append(hashes)
        self._mark(hashes)
        if len(self.tokens) * _BITS_PER_TOKEN > 8 * len(self._bits):
            self._rebuild_bits()
        if len(self._recent) >= max(self._min_recent, self._merged >> 4):
            self._merge()

    def all_new(self, tokens: Sequence[str]) -> bool:
        """True when the tokens are distinct and none is in the set (the usual chunk), settled with one
        vectorised pass over their hashes: equal tokens have equal hashes, so distinct hashes that the set
        does not hold prove it. False means "maybe not" (a repeat, or only equal hashes): ask :meth:`seen`."""
        hashes = self._hash(tokens)
        self._checked = (list(tokens), hashes)  # a copy: the caller may reuse its list
        ordered = np.sort(hashes)
        if len(ordered) > 1 and not (ordered[1:] != ordered[:-1]).all():
            return False
        marked = self._marked(hashes)
        if not marked.any():
            return True
        at = np.flatnonzero(marked)  # the few tokens whose bit is set: those held, and some by chance
        if not self._recent.isdisjoint([tokens[i] for i in at.tolist()]):
            return False
        return not self._in_sorted(np.sort(hashes[at])).any()

    def seen(self, tokens: Sequence[str]) -> list[bool]:
        """For each token, whether it is in the set (a chunk at a time: one vectorised search)."""
        if self._recent.isdisjoint(tokens):  # the usual case, in C
            found = [False] * len(tokens)
        else:
            found = [token in self._recent for token in tokens]
        if not len(self._hashes):
            return found
        hashes = np.sort(self._hash(tokens))  # sorted keys search a sorted array faster
        matches = hashes[self._in_sorted(hashes)]
        if len(matches):  # a hash match: compare the tokens themselves
            candidates = set(matches.tolist())
            for i, token in enumerate(tokens):
                if not found[i] and self._key(token) in candidates:
                    found[i] = self._in_arrays(token, self._key(token))
        return found

    def _hash(self, tokens: Sequence[str]) -> np.ndarray:
        return np.fromiter(map(self._key, tokens), dtype=np.int64, count=len(tokens))

    def _in_sorted(self, hashes: np.ndarray) -> np.ndarray:
        """For each hash, whether the sorted arrays hold it."""
        if not len(self._hashes):
            return np.zeros(len(hashes), dtype=bool)
        at = np.minimum(np.searchsorted(self._hashes, hashes), len(self._hashes) - 1)
        return self._hashes[at] == hashes

    def _in_arrays(self, token: str, key: int) -> bool:
        start = int(np.searchsorted(self._hashes, key, side="left"))
        stop = int(np.searchsorted(self._hashes, key, side="right"))
        return any(self.tokens[row] == token for row in self._rows[start:stop].tolist())

    def _marked(self, hashes: np.ndarray) -> np.ndarray:
        """For each hash, whether its bit is set."""
        slot = hashes & (8 * len(self._bits) - 1)
        return (self._bits[slot >> 3] >> (slot & 7).astype(np.uint8)) & 1 != 0

    def _mark(self, hashes: np.ndarray) -> None:
        slot = hashes & (8 * len(self._bits) - 1)
        np.bitwise_or.at(self._bits, slot >> 3, np.left_shift(1, slot & 7).astype(np.uint8))

    def _rebuild_bits(self) -> None:
        """A bitmap of the next power of two above :data:`_BITS_PER_TOKEN` bits a token, with the bits of
        every token held (at least twice the size before: the rebuilds cost a constant per token)."""
        self._bits = own_array(1 << (len(self.tokens) * _BITS_PER_TOKEN).bit_length() - 3, np.uint8)  # zeros
        for hashes in (self._hashes, *self._pending):
            for start in range(0, len(hashes), _MIN_RECENT):  # a slice at a time: small temporaries
                self._mark(hashes[start : start + _MIN_RECENT])

    def _merge(self) -> None:
        """Move the recent tokens' hashes into the sorted arrays: the recent ones are sorted, and each
        lands at the place ``searchsorted`` finds for it among the held ones (after its equals, so rows of
        equal hashes stay in row order), the held ones filling the rest in order: one linear pass, and the
        hashes' arrays, then the rows', exist twice only while they are copied. (A stable sort of the
        concatenated runs held the keys, their order and the result at once: 100 MiB at the peak for
        glove.840B's 2.2M tokens added 800 at a time, against 72 MiB now with the merged arrays in mappings
        of their own, the recent set and the list of tokens included.)"""
        new = np.concatenate(self._pending)
        self._recent, self._pending = set(), []  # freed before the arrays grow: no look-ups meanwhile
        order = np.argsort(new, kind="stable")
        new = new[order]
        rows = (order + self._merged).astype(np.int32 if len(self.tokens) < 1 << 31 else np.int64)
        del order
        at = np.searchsorted(self._hashes, new, side="right")
        at += np.arange(len(new))  # where each new hash goes in the merged array
        held = np.ones(len(self._hashes) + len(new), dtype=bool)
        held[at] = False
        self._hashes = _place(self._hashes, new, at, held)
        self._rows = _place(self._rows, rows, at, held)  # int64 once either needs it
        self._merged = len(self.tokens)


def _place(old: np.ndarray, new: np.ndarray, at: np.ndarray, held: np.ndarray) -> np.ndarray:
    """``old`` and ``new`` merged: ``new`` at the positions ``at``, ``old`` in order where ``held``."""
    merged = own_array(len(held), np.result_type(old, new))
    merged[at] = new
    merged[held] = old
    return merged
