"""How much of a task vocabulary a pretrained table covers: the :class:`CoverageReport` of an alignment.

Rows are counted by origin: each lookup step (``found``), ``oov`` (the rows nobody could fill from the
source) and any other origin an OOV method gives its rows, such as ``subword`` (``filled``, kept apart from
both); specials are not counted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class CoverageReport:
    """Coverage of the task's tokens (specials excluded), by type and, with counts, by token frequency.

    Attributes:
        steps: The lookup chain, in order (``["exact", "lower"]``).
        types: Task tokens aligned (distinct, specials excluded).
        found: Types found at each step (each type counted at the first step that matched it).
        oov: Types found at no step (and not built by the OOV method).
        tokens: The sum of the task tokens' counts, or None when no counts were given.
        found_tokens: The counts summed by step, or None.
        oov_tokens: The counts of the OOV types summed, or None.
        missing: The most frequent OOV types as ``[token, count]`` (count None without counts, and then
            the first OOV types in task order).
        specials: The special tokens placed first.
        specials_in_vocab: Specials that also appeared in the task vocabulary (kept once, as specials).
        vocab_duplicates: Repeated task tokens dropped (``duplicates="first"``).
        source_rows: Rows of the source looked at (after ``limit``).
        filled: Types given another origin by the OOV method (``{"subword": 120}``); empty for the
            built-in methods, and then left out of :meth:`to_dict`.
        filled_tokens: Their counts summed by origin, or None.
    """

    steps: list[str]
    types: int = 0
    found: dict[str, int] = field(default_factory=dict)
    oov: int = 0
    tokens: int | None = None
    found_tokens: dict[str, int] | None = None
    oov_tokens: int | None = None
    missing: list[list] = field(default_factory=list)
    specials: list[str] = field(default_factory=list)
    specials_in_vocab: list[str] = field(default_factory=list)
    vocab_duplicates: int = 0
    source_rows: int = 0
    filled: dict[str, int] = field(default_factory=dict)
    filled_tokens: dict[str, int] | None = None

    @classmethod
    def count(cls, steps: list[str], task: list[str], origins: list[str], counts: list[int] | None,
              top_missing: int, **context: Any) -> CoverageReport:
        """Count the task rows by origin, by type and (with counts) by token.

        Args:
            steps: The lookup chain's names.
            task: The task tokens (specials excluded), in row order.
            origins: Each task token's origin: a step, ``"oov"``, or an OOV method's own label.
            counts: Each task token's count, or None.
            top_missing: How many OOV tokens :attr:`missing` lists.
            **context: ``specials``, ``specials_in_vocab``, ``vocab_duplicates``, ``source_rows``.

        Example:
            >>> CoverageReport.count(["exact"], ["a", "b"], ["exact", "oov"], None, 20).found
            {'exact': 1}
        """
        by_type: dict[str, int] = {}
        by_token: dict[str, int] = {}
        for i, origin in enumerate(origins):
            by_type[origin] = by_type.get(origin, 0) + 1
            if counts is not None:
                by_token[origin] = by_token.get(origin, 0) + counts[i]
        others = [origin for origin in by_type if origin not in steps and origin != "oov"]
        report = cls(steps=list(steps), types=len(task), found={s: by_type.get(s, 0) for s in steps},
                     oov=by_type.get("oov", 0), filled={o: by_type[o] for o in others}, **context)
        if counts is not None:
            report.tokens = sum(counts)
            report.found_tokens = {s: by_token.get(s, 0) for s in steps}
            report.oov_tokens = by_token.get("oov", 0)
            report.filled_tokens = {o: by_token[o] for o in others} if others else None
        missing = [i for i, origin in enumerate(origins) if origin == "oov"]
        if counts is not None:
            missing.sort(key=lambda i: -counts[i])  # stable: ties stay in task order
        report.missing = [[task[i], counts[i] if counts is not None else None] for i in missing[:top_missing]]
        return report

    @property
    def found_types(self) -> int:
        """Types found at any step."""
        return sum(self.found.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (without ``filled`` and ``filled_tokens`` when no row has such an origin)."""
        data = asdict(self)
        if not self.filled:
            del data["filled"], data["filled_tokens"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CoverageReport:
        """The report stored by :meth:`to_dict` (as kept in a converted file's metadata)."""
        return cls(**data)

    def summary(self) -> str:
        """A few lines for people: one line per step, other origin and OOV, then the most frequent missing."""
        extra = f" (+{len(self.specials)} specials: {', '.join(self.specials)})" if self.specials else ""
        lines = [f"coverage of {self.types:,} task types{extra} by {self.source_rows:,} source rows:"]
        rows = [(step, self.found.get(step, 0), (self.found_tokens or {}).get(step, 0)) for step in self.steps]
        rows += [(origin, types, (self.filled_tokens or {}).get(origin, 0)) for origin, types in self.filled.items()]
        rows.append(("oov", self.oov, self.oov_tokens or 0))
        width = max(len(name) for name, _, _ in rows)
        for name, types, tokens in rows:
            line = f"  {name:<{width}}  {types:>9,} types {_percent(types, self.types)}"
            if self.tokens is not None:
                line += f"  {tokens:>12,} tokens {_percent(tokens, self.tokens)}"
            lines.append(line)
        if self.missing:
            label = "most frequent missing" if self.tokens is not None else "first missing"
            shown = ", ".join(repr(t) if c is None else f"{t!r} ({c:,})" for t, c in self.missing[:10])
            lines.append(f"{label}: {shown}")
        if self.specials_in_vocab:
            lines.append(f"specials also in the task vocabulary (kept once, as specials): {self.specials_in_vocab}")
        if self.vocab_duplicates:
            lines.append(f"repeated task tokens dropped: {self.vocab_duplicates:,}")
        return "\n".join(lines)


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:6.2f}%" if whole else "     -%"
