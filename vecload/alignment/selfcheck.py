"""The self-check of an alignment: a sample of rows matched again by another route and compared bit for bit.

The alignment matches with :class:`~vecload.alignment.lookup.Lookup`: one forward pass per step over the
source tokens, keyed by the task's keys, then each task token tried step by step. The check answers the
same question for a sample of rows (evenly spaced over all rows and over the rows found) the plain way:
for each step, a dictionary from each sampled token's key to the first source token with that key,
built by scanning the source tokens *backwards* and letting the last write win, every token (``exact``
included) put through the step's function. It then compares, for every sampled row, the origin, the
matched source token and the row's bits with what the alignment produced, and checks that the pad row
is zero. With ``verify_source`` it also reads the file again, keeping every token whose key at some step
is a sampled token's key (not the alignment's filter), matches the sample against those tokens the same
plain way, and compares the rows read again. Any difference raises :class:`~vecload.errors.IntegrityError`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from vecload.errors import IntegrityError
from vecload.formats import read_table

if TYPE_CHECKING:
    from vecload.alignment.lookup import Step
    from vecload.formats import ReadOptions, Source

_BUG = "this is a bug in vecload, please report it"


class SelfCheck:
    """The sampled rows of one alignment and what was found about them.

    Args:
        steps: The lookup chain.
        tokens: The aligned tokens (specials first).
        origins: Each aligned row's origin, as the alignment decided.
        matched: Each aligned row's source token, as the alignment decided (None: not from the source).
        rows: The aligned rows.
        size: About how many rows to sample (0: no check).

    Example:
        >>> check = SelfCheck(steps, tokens, origins, matched, rows, 256)
        >>> check.against(src_tokens, src_rows).summary()["rows_compared"]
        172
    """

    def __init__(self, steps: Sequence[Step], tokens: list[str], origins: list[str], matched: list[str | None],
                 rows: np.ndarray, size: int) -> None:
        self.steps = steps
        self.tokens = tokens
        self.origins = origins
        self.matched = matched
        self.rows = rows
        step_names = {step.name for step in steps}
        self.sample = _sample(origins, step_names, size) if size > 0 else []
        self.looked_up = [r for r in self.sample if origins[r] not in ("pad", "special")]
        self.compared = 0
        self.oov_confirmed = 0
        self.reread = 0

    def against(self, src_tokens: Sequence[str], src_rows: np.ndarray) -> SelfCheck:
        """Match the sample against the source tokens by the plain route and compare labels and rows."""
        if not self.sample:
            return self
        expected = _plain_match(self.steps, [self.tokens[r] for r in self.looked_up], src_tokens)
        for r in self.looked_up:
            origin, index = expected[self.tokens[r]]
            token = src_tokens[index] if index is not None else None
            self._labels(r, origin, token)
            if index is None:
                self.oov_confirmed += 1
            else:
                _compare(self.rows[r], src_rows[index],
                         f"row {r} ({self.tokens[r]!r}) differs from the source's row for {token!r}")
                self.compared += 1
        for r in self.sample:
            if self.origins[r] == "pad" and np.any(self.rows[r].view(np.uint32)):
                raise IntegrityError(f"self-check failed: the pad row {r} is not zero; {_BUG}")
        return self

    def against_file(self, source: Source, *, format: str | None, engine: str | None, options: ReadOptions) -> None:
        """Read the file again, keeping the tokens that share a key with a sampled token, and compare."""
        if not self.looked_up:
            return
        sampled = [self.tokens[r] for r in self.looked_up]
        keys = [(step.func, {step.func(t) for t in sampled}) for step in self.steps]

        def keep(token: str) -> bool:
            return any(func(token) in wanted for func, wanted in keys)

        table = read_table(source, format=format, engine=engine,
                           options=dataclasses.replace(options, keep=keep, on_rows=None, progress=False))
        expected = _plain_match(self.steps, sampled, table.tokens)
        reread: set[str] = set()
        for r in self.looked_up:
            origin, index = expected[self.tokens[r]]
            token = table.tokens[index] if index is not None else None
            self._labels(r, origin, token, f" when {source.name} is read again")
            if index is not None:
                _compare(self.rows[r], table.vectors[index],
                         f"row {r} ({self.tokens[r]!r}) differs from {token!r}'s row read again from {source.name}")
                reread.add(token)  # type: ignore[arg-type]
        self.reread = len(reread)

    def summary(self) -> dict[str, Any]:
        """What was checked, for the metadata."""
        return {"sampled": len(self.sample), "rows_compared": self.compared, "oov_confirmed": self.oov_confirmed,
                "source_reread": self.reread}

    def _labels(self, r: int, origin: str, token: str | None, where: str = "") -> None:
        """The alignment's origin and matched token for row ``r`` must be the plain route's."""
        # an OOV method's own label (e.g. "subword") is a row no step found, as "oov" is
        actual = self.origins[r] if self.origins[r] in {step.name for step in self.steps} else "oov"
        if actual != origin:
            raise IntegrityError(f"self-check failed: task token {self.tokens[r]!r} (row {r}) is labelled "
                                 f"{self.origins[r]!r} but the source matches it at step {origin!r}{where}; {_BUG}")
        if self.matched[r] != token:
            raise IntegrityError(f"self-check failed: row {r} ({self.tokens[r]!r}) is recorded as matching "
                                 f"{self.matched[r]!r}, expected {token!r}{where}; {_BUG}")


def _plain_match(steps: Sequence[Step], tokens: list[str], src_tokens: Sequence[str]) -> dict[str, tuple[str, int | None]]:
    """Per token: the first step whose key some source token shares, and the first such source row."""
    first_by_step = []
    for step in steps:
        wanted = {step.func(token) for token in tokens}
        first: dict[str, int] = {}
        for i in range(len(src_tokens) - 1, -1, -1):  # backwards: the last write is the first in file order
            key = step.func(src_tokens[i])
            if key in wanted:
                first[key] = i
        first_by_step.append(first)
    result: dict[str, tuple[str, int | None]] = {}
    for token in tokens:
        result[token] = ("oov", None)
        for step, first in zip(steps, first_by_step):
            if step.func(token) in first:
                result[token] = (step.name, first[step.func(token)])
                break
    return result


def _sample(origins: list[str], steps: set[str], size: int) -> list[int]:
    """Evenly spaced rows over all rows and over the found rows (about ``size`` in all, sorted)."""
    found = [r for r, origin in enumerate(origins) if origin in steps]
    picks: set[int] = set()
    for pool in (list(range(len(origins))), found):
        if pool:
            count = min(len(pool), max(1, size // 2))
            picks.update(pool[i] for i in np.linspace(0, len(pool) - 1, num=count).round().astype(int))
    return sorted(picks)


def _compare(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    if actual.shape != expected.shape or not np.array_equal(actual.view(np.uint32), expected.view(np.uint32)):
        raise IntegrityError(f"self-check failed: {what}; {_BUG}")
