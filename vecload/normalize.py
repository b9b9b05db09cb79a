"""Token normalisers for the lookup chain of :func:`vecload.align`.

A lookup step is a name and a function ``str -> str`` applied to both sides: a task token matches a
source token at a step when the step maps both to the same key. Built-in steps, combinable with ``+``
(applied left to right, e.g. ``"lower+digits"``):

- ``exact``: the token itself;
- ``lower``: ``str.lower``;
- ``casefold``: ``str.casefold`` (also folds ``ß`` to ``ss`` and the like);
- ``digits``: every Unicode decimal digit replaced by ``0`` (``1999`` -> ``0000``);
- ``strip_accents``: NFKD decomposition with combining marks removed (``café`` -> ``cafe``);
- ``nfkc``: Unicode NFKC normalisation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vecload.errors import VecloadError

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
        VecloadError: An unknown name, an unnamed lambda, a reserved or repeated name, or an empty chain.

    Example:
        >>> [s.name for s in lookup_chain(["exact", "lower", ("nohyphen", lambda t: t.replace("-", ""))])]
        ['exact', 'lower', 'nohyphen']
    """
    if isinstance(specs, str):
        specs = [specs]
    steps = [_step(spec) for spec in specs]
    if not steps:
        raise VecloadError("the lookup chain is empty; use at least ('exact',)")
    names = [step.name for step in steps]
    for name in names:
        if names.count(name) > 1:
            raise VecloadError(f"lookup step {name!r} appears twice in the chain {names}")
        if name in RESERVED:
            raise VecloadError(f"lookup step name {name!r} is reserved for {sorted(RESERVED)}; rename it")
    return steps


def _step(spec: StepSpec) -> Step:
    if isinstance(spec, str):
        parts = spec.split("+")
        unknown = [part for part in parts if part not in NORMALIZERS]
        if unknown:
            raise VecloadError(
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
            raise VecloadError("a lookup function needs a name: pass it as a (name, function) pair")
        return Step(name, spec)
    raise VecloadError(f"a lookup step must be a name, a function or a (name, function) pair, got {spec!r}")


def _compose(funcs: list[Callable[[str], str]]) -> Callable[[str], str]:
    def composed(token: str) -> str:
        for func in funcs:
            token = func(token)
        return token

    return composed
