"""The lookup chain of :func:`vecload.align`: its steps (token normalisers) and the matching itself.

A lookup step is a name and a function ``str -> str`` applied to both sides: a task token matches a
source token at a step when the step maps both to the same key. Built-in steps, combinable with ``+``
(applied left to right, e.g. ``"lower+digits"``):

- ``exact``: the token itself;
- ``lower``: ``str.lower``;
- ``casefold``: ``str.casefold`` (also folds ``ß`` to ``ss`` and the like);
- ``digits``: every Unicode decimal digit replaced by ``0`` (``1999`` -> ``0000``);
- ``strip_accents``: NFKD decomposition with combining marks removed (``café`` -> ``cafe``);
- ``nfkc``: Unicode NFKC normalisation.

:class:`Lookup` applies a chain to the source tokens: the reader's filter (which rows can ever be used)
and the match of every task token (the first step that finds it, the first source token in file order).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vecload.errors import ArgumentError

_DIGIT = re.compile(r"\d")


def _identity(token: str) -> str:
    return token


def _digits(token: str) -> str:
    return _DIGIT.sub("0", token)


def _strip_accents(token: str) -> str:
    decomposed = unicodedata.normalize("NFKD", token)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _nfkc(token: str) -> str:
    return unicodedata.normalize("NFKC", token)


#: The built-in normalisers by name.
NORMALIZERS: dict[str, Callable[[str], str]] = {
    "exact": _identity,
    "lower": str.lower,
    "casefold": str.casefold,
    "digits": _digits,
    "strip_accents": _strip_accents,
    "nfkc": _nfkc,
}

#: Names that label rows which did not come from a lookup step.
RESERVED = frozenset({"pad", "special", "oov"})

StepSpec = str | Callable[[str], str] | tuple[str, Callable[[str], str]]


@dataclass(frozen=True)
class Step:
    """One step of a lookup chain.

    Attributes:
        name: The label counted in the coverage report and stored as the rows' origin.
        func: The normaliser, applied to task and source tokens alike.
    """

    name: str
    func: Callable[[str], str]

    @property
    def is_exact(self) -> bool:
        """True for the identity step (its keys need no computing)."""
        return self.func is _identity


def lookup_chain(specs: Sequence[StepSpec]) -> list[Step]:
    """Turn user step specifications into :class:`Step` objects.

    Args:
        specs: Names (``"lower"``, ``"lower+digits"``), ``(name, callable)`` pairs, or named callables.

    Returns:
        The steps, in order.

    Raises:
        ArgumentError: An unknown name, an unnamed lambda, a reserved or repeated name, or an empty chain.

    Example:
        >>> [s.name for s in lookup_chain(["exact", "lower", ("nohyphen", lambda t: t.replace("-", ""))])]
        ['exact', 'lower', 'nohyphen']
    """
    if isinstance(specs, str):
        specs = [specs]
    steps = [_step(spec) for spec in specs]
    if not steps:
        raise ArgumentError("the lookup chain is empty; use at least ('exact',)")
    names = [step.name for step in steps]
    for name in names:
        if names.count(name) > 1:
            raise ArgumentError(f"lookup step {name!r} appears twice in the chain {names}")
        if name in RESERVED:
            raise ArgumentError(f"lookup step name {name!r} is reserved for {sorted(RESERVED)}; rename it")
    return steps


class Lookup:
    """A lookup chain applied to a task's tokens.

    Args:
        steps: The chain, from :func:`lookup_chain`.
        task: The task tokens to look up (specials excluded), distinct, in task order.

    Example:
        >>> Lookup(lookup_chain(["exact", "lower"]), ["The", "cat"]).match(["the", "The", "dog"])
        (['exact', 'oov'], [1, -1])
    """

    def __init__(self, steps: list[Step], task: list[str]) -> None:
        self.steps = steps
        self.task = task

    def source_filter(self) -> Callable[[str], bool]:
        """The reader's filter: keep a source row if some step can match it to a task token first."""
        exact = any(step.is_exact for step in self.steps)
        others = [(step.func, {step.func(t) for t in self.task}, set()) for step in self.steps if not step.is_exact]
        task_set = frozenset(self.task)
        if not others:
            return task_set.__contains__

        def keep(token: str) -> bool:
            wanted = exact and token in task_set
            for func, keys, claimed in others:
                key = func(token)
                if key in keys and key not in claimed:
                    claimed.add(key)  # later source tokens with this key can never be the first
                    wanted = True
            return wanted

        return keep

    def match(self, src_tokens: Sequence[str]) -> tuple[list[str], list[int]]:
        """Per task token: the step that found it (or ``"oov"``) and its source row (or -1)."""
        maps = [self._first_rows(step, src_tokens) for step in self.steps]
        origins: list[str] = []
        rows: list[int] = []
        for token in self.task:
            for step, first in zip(self.steps, maps):
                row = first.get(token if step.is_exact else step.func(token))
                if row is not None:
                    origins.append(step.name)
                    rows.append(row)
                    break
            else:
                origins.append("oov")
                rows.append(-1)
        return origins, rows

    def _first_rows(self, step: Step, src_tokens: Sequence[str]) -> dict[str, int]:
        """Key -> the first source row with that key (only the task's keys, except for ``exact``)."""
        first: dict[str, int] = {}
        if step.is_exact:
            for i, token in enumerate(src_tokens):
                first.setdefault(token, i)
            return first
        keys = {step.func(t) for t in self.task}
        for i, token in enumerate(src_tokens):
            key = step.func(token)
            if key in keys and key not in first:
                first[key] = i
        return first


def _step(spec: StepSpec) -> Step:
    if isinstance(spec, str):
        parts = spec.split("+")
        unknown = [part for part in parts if part not in NORMALIZERS]
        if unknown:
            raise ArgumentError(
                f"unknown normaliser {unknown[0]!r} in lookup step {spec!r}; choose from "
                f"{', '.join(NORMALIZERS)} (combine with '+'), or pass a (name, function) pair"
            )
        funcs = [NORMALIZERS[part] for part in parts]
        return Step(spec, funcs[0] if len(funcs) == 1 else _compose(funcs))
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str) and callable(spec[1]):
        return Step(spec[0], spec[1])
    if callable(spec):
        name = getattr(spec, "__name__", "")
        if not name or name == "<lambda>":
            raise ArgumentError("a lookup function needs a name: pass it as a (name, function) pair")
        return Step(name, spec)
    raise ArgumentError(f"a lookup step must be a name, a function or a (name, function) pair, got {spec!r}")


def _compose(funcs: list[Callable[[str], str]]) -> Callable[[str], str]:
    def composed(token: str) -> str:
        for func in funcs:
            token = func(token)
        return token

    return composed
