"""The distinct tokens a reader has kept so far, in row order, for dropping repeats as rows are read.

A Python set of 400,000 tokens costs 16 MiB, and 24 MiB while it grows, on top of the tokens themselves.
:class:`TokenSet` keeps the tokens' hashes instead, sorted in a numpy array beside each one's row (16
bytes a token), and only the tokens added since the last merge in a small set. A token is seen when its
hash is in the array *and* the token in that row is equal, so two tokens with the same hash are never
confused: the hash only narrows the search. The recent set is merged into the arrays whenever it passes
an eighth of them (at least 65,536 tokens), so each token is copied a constant number of times overall.
Hashes are Python's own (cached in each string, so the first lookup's index reuses them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

_MIN_RECENT = 1 << 16


class TokenSet:
    """Distinct tokens in the order they were added.

    Attributes:
        tokens: The tokens, in order (the table's tokens once the read ends).
    """

    def __init__(self, key: Callable[[str], int] = hash, min_recent: int = _MIN_RECENT) -> None:
        """Args:
            key: The hash of a token (tests pass one that collides).
            min_recent: The fewest recent tokens that trigger a merge (tests pass a small one).
        """
        self._key = key
        self._min_recent = min_recent
        self.tokens: list[str] = []
        self._hashes = np.empty(0, dtype=np.int64)  # sorted hashes of tokens[:merged]
        self._rows = np.empty(0, dtype=np.int64)  # the row of each hash
        self._merged = 0
        self._recent: set[str] = set()  # tokens[merged:]

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        if token in self._recent:
            return True
        return self._in_arrays(token, self._key(token))

    def add(self, token: str) -> None:
        """Add a token that is not in the set."""
        self.tokens.append(token)
        self._recent.add(token)
        self._maybe_merge()

    def extend(self, tokens: Sequence[str]) -> None:
        """Add distinct tokens none of which is in the set."""
        self.tokens.extend(tokens)
        self._recent.update(tokens)
        self._maybe_merge()

    def all_new(self, tokens: Sequence[str]) -> bool:
        """True when the tokens are distinct and none is in the set (the usual chunk), settled with one
        vectorised pass over their hashes: equal tokens have equal hashes, so distinct hashes that the set
        does not hold prove it. False means "maybe not" (a repeat, or only equal hashes): ask :meth:`seen`."""
        if not self._recent.isdisjoint(tokens):
            return False
        hashes = np.fromiter(map(self._key, tokens), dtype=np.int64, count=len(tokens))
        hashes.sort()
        if len(hashes) > 1 and not (hashes[1:] != hashes[:-1]).all():
            return False
        if not len(self._hashes):
            return True
        at = np.minimum(np.searchsorted(self._hashes, hashes), len(self._hashes) - 1)
        return not (self._hashes[at] == hashes).any()

    def seen(self, tokens: Sequence[str]) -> list[bool]:
        """For each token, whether it is in the set (a chunk at a time: one vectorised search)."""
        if self._recent.isdisjoint(tokens):  # the usual case, in C
            found = [False] * len(tokens)
        else:
            found = [token in self._recent for token in tokens]
        if not len(self._hashes):
            return found
        hashes = np.fromiter(map(self._key, tokens), dtype=np.int64, count=len(tokens))
        hashes.sort()  # sorted keys search a sorted array faster; which tokens match is settled below
        at = np.minimum(np.searchsorted(self._hashes, hashes), len(self._hashes) - 1)
        matches = hashes[self._hashes[at] == hashes]
        if len(matches):  # a hash match: compare the tokens themselves
            candidates = set(matches.tolist())
            for i, token in enumerate(tokens):
                if not found[i] and self._key(token) in candidates:
                    found[i] = self._in_arrays(token, self._key(token))
        return found

    def _in_arrays(self, token: str, key: int) -> bool:
        start = int(np.searchsorted(self._hashes, key, side="left"))
        stop = int(np.searchsorted(self._hashes, key, side="right"))
        return any(self.tokens[row] == token for row in self._rows[start:stop].tolist())

    def _maybe_merge(self) -> None:
        if len(self._recent) >= max(self._min_recent, self._merged >> 3):
            self._merge()

    def _merge(self) -> None:
        """Move the recent tokens' hashes into the sorted arrays, inserting them in place of a re-sort: the
        arrays exist twice only while they grow (a concatenate-and-sort held seven arrays the size of the
        set: 123 MB for glove.840B's 2.2M tokens, then the peak of the whole read)."""
        new = self.tokens[self._merged :]
        hashes = np.fromiter(map(self._key, new), dtype=np.int64, count=len(new))
        order = np.argsort(hashes, kind="stable")
        hashes = hashes[order]
        order += self._merged  # the new tokens' rows, in hash order
        at = np.searchsorted(self._hashes, hashes, side="right")  # after equal hashes: rows stay in order
        self._hashes = np.insert(self._hashes, at, hashes)
        self._rows = np.insert(self._rows, at, order)
        self._merged = len(self.tokens)
        self._recent = set()
