"""How much of a task vocabulary a pretrained table covers: the :class:`CoverageReport` of an alignment."""

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
        oov: Types found at no step.
        tokens: The sum of the task tokens' counts, or None when no counts were given.
        found_tokens: The counts summed by step, or None.
        oov_tokens: The counts of the OOV types summed, or None.
        missing: The most frequent OOV types as ``[token, count]`` (count None without counts, and then
            the first OOV types in task order).
        specials: The special tokens placed first.
        specials_in_vocab: Specials that also appeared in the task vocabulary (kept once, as specials).
        vocab_duplicates: Repeated task tokens dropped (``duplicates="first"``).
        source_rows: Rows of the source looked at (after ``limit``).
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

    @property
    def found_types(self) -> int:
        """Types found at any step."""
        return sum(self.found.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CoverageReport:
        """The report stored by :meth:`to_dict` (as kept in a converted file's metadata)."""
        return cls(**data)

    def summary(self) -> str:
        """A few lines for people: one line per step and OOV, then the most frequent missing tokens."""
        extra = f" (+{len(self.specials)} specials: {', '.join(self.specials)})" if self.specials else ""
        lines = [f"coverage of {self.types:,} task types{extra} by {self.source_rows:,} source rows:"]
        rows = [(step, self.found.get(step, 0), (self.found_tokens or {}).get(step, 0)) for step in self.steps]
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
