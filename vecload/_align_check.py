"""The self-check of an alignment: sampled rows recomputed independently and compared bit for bit.

Before the rows are gathered, the check picks a sample of task rows (evenly spaced over all rows, and
over the rows found) and works out, by its own scan of the source tokens, which step should match each
one and which source row it should get; it copies those source rows. After the gather it compares the
aligned rows with the copies bit for bit, and the labels (origin, matched token) with its own. With
``verify_source`` it also reads the sampled tokens from the file again, in a second pass that keeps only
them, and compares those rows too. Any difference raises :class:`~vecload.errors.IntegrityError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from vecload.errors import IntegrityError
from vecload.normalize import Step

if TYPE_CHECKING:
    from vecload.formats import Source
    from vecload.vectors import Vectors

_NOT_LOOKED_UP = ("pad", "special")


class SelfCheck:
    """Expected rows for a sample of an alignment, taken before the rows are gathered.

    Args:
        steps: The lookup chain.
        tokens: The aligned tokens (specials first).
        origins: Each aligned row's origin, as the alignment decided.
        src_tokens: The source tokens in file order (the rows read).
        src_rows: Their rows (copied from for the sample; may be reordered afterwards).
        check_rows: The sample's size (0: no check).
    """

    def __init__(self, steps: Sequence[Step], tokens: list[str], origins: list[str], src_tokens: Sequence[str],
                 src_rows: np.ndarray, check_rows: int) -> None:
        self.tokens = tokens
        self.origins = origins
        self.enabled = check_rows > 0
        self.compared = 0
        self.oov_confirmed = 0
        self.reread = 0
        self.sample = _sample(origins, check_rows) if self.enabled else []
        looked_up = [r for r in self.sample if origins[r] not in _NOT_LOOKED_UP]
        first = _first_matches(steps, [tokens[r] for r in looked_up], src_tokens)
        self.expected: dict[int, tuple[str, str | None, np.ndarray | None]] = {}
        for r in looked_up:
            for step, found in zip(steps, first):
                index = found.get(tokens[r] if step.is_exact else step.func(tokens[r]))
                if index is not None:
                    self.expected[r] = (step.name, src_tokens[index], src_rows[index].copy())
                    break
            else:
                self.expected[r] = ("oov", None, None)
        for r, (origin, _, _) in self.expected.items():
            if origin != origins[r]:
                raise IntegrityError(
                    f"self-check failed: task token {tokens[r]!r} (row {r}) is labelled {origins[r]!r} but the "
                    f"source matches it at step {origin!r}; this is a bug in vecload, please report it"
                )

    def after(self, rows: np.ndarray, matched: list[str | None]) -> None:
        """Compare the gathered rows and their labels with the expectations."""
        for r, (origin, token, row) in self.expected.items():
            if matched[r] != token:
                raise IntegrityError(
                    f"self-check failed: row {r} ({self.tokens[r]!r}) is recorded as matching {matched[r]!r}, "
                    f"expected {token!r}; this is a bug in vecload, please report it"
                )
            if row is None:
                self.oov_confirmed += 1
                continue
            _compare(rows[r], row, f"row {r} ({self.tokens[r]!r}) differs from the source's row for {token!r}")
            self.compared += 1
        for r in self.sample:
            if self.origins[r] == "pad" and np.any(rows[r].view(np.uint32)):
                raise IntegrityError(f"self-check failed: the pad row {r} is not zero; this is a bug in vecload")

    def against_source(self, aligned: Vectors, source: Source, *, format: str | None, engine: str | None,
                       limit: int | None, read_options: dict[str, Any]) -> None:
        """Read the sampled tokens' rows from the file again (keeping only them) and compare."""
        from vecload.formats import ReadOptions, read_table

        wanted = {token: r for r, (_, token, row) in self.expected.items() if row is not None}
        options = ReadOptions(limit=limit, keep=set(wanted).__contains__,
                              **{k: v for k, v in read_options.items() if k != "progress"})
        table = read_table(source, format=format, engine=engine, options=options)
        index = {token: i for i, token in enumerate(table.tokens)}
        rows = aligned.vectors.numpy()
        sharing: dict[str, list[int]] = {}
        for r, token in enumerate(aligned.meta["align"]["matched"]):
            if token in wanted:
                sharing.setdefault(token, []).append(r)  # every row that took this source row
        for token in wanted:
            if token not in index:
                raise IntegrityError(f"self-check failed: {token!r} is not in {source.name} when read again")
            for r in sharing.get(token, [wanted[token]]):
                _compare(rows[r], table.vectors[index[token]],
                         f"row {r} ({self.tokens[r]!r}) differs from {token!r}'s row read again from {source.name}")
        self.reread = len(wanted)

    def summary(self) -> dict[str, Any]:
        """What was checked, for the metadata."""
        return {
            "sampled": len(self.sample),
            "rows_compared": self.compared,
            "oov_confirmed": self.oov_confirmed,
            "source_reread": self.reread,
        }


def _sample(origins: list[str], size: int) -> list[int]:
    """Evenly spaced rows over all rows and over the found rows (about ``size`` in all, sorted)."""
    found = [r for r, origin in enumerate(origins) if origin not in (*_NOT_LOOKED_UP, "oov")]
    picks: set[int] = set()
    for pool in (list(range(len(origins))), found):
        if pool:
            count = min(len(pool), max(1, size // 2))
            picks.update(pool[i] for i in np.linspace(0, len(pool) - 1, num=count).round().astype(int))
    return sorted(picks)


def _first_matches(steps: Sequence[Step], tokens: list[str], src_tokens: Sequence[str]) -> list[dict[str, int]]:
    """Per step: for each key of ``tokens``, the first source row with that key (one scan per step)."""
    result = []
    for step in steps:
        func = step.func
        keys = {func(t) for t in tokens}
        first: dict[str, int] = {}
        for i, src in enumerate(src_tokens):
            key = func(src)
            if key in keys and key not in first:
                first[key] = i
        result.append(first)
    return result


def _compare(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    if actual.shape != expected.shape or not np.array_equal(actual.view(np.uint32), expected.view(np.uint32)):
        raise IntegrityError(f"self-check failed: {what}; this is a bug in vecload, please report it")
