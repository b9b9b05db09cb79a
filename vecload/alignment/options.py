"""The alignment's options, one frozen dataclass per concern, with their defaults and choices defined here
once (the command line takes its choices and defaults from them).

- :class:`TaskOptions`: the table's rows: the specials, the pad, how a vocabulary file is read;
- :class:`RowOptions`: how each row is filled: the lookup chain, the OOV method and its seed;
- :class:`CheckOptions`: the self-check and the report;
- :class:`vecload.ReadOptions`: how the source file is read (``limit``, ``unicode_errors``, ...).

:class:`AlignOptions` holds one of each. :func:`vecload.align` takes either an ``AlignOptions`` or the
fields themselves as keyword arguments (``oov="mean"``), which :meth:`AlignOptions.build` routes to their
dataclass by name; each dataclass checks its values and raises :class:`~vecload.errors.ArgumentError`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from vecload.alignment.lookup import NORMALIZERS, StepSpec, lookup_chain
from vecload.alignment.oov import FALLBACKS, OOV_METHODS
from vecload.alignment.vocab import LAYOUTS, VOCAB_DUPLICATES
from vecload.errors import ArgumentError
from vecload.formats import ReadOptions

__all__ = ["FALLBACKS", "LAYOUTS", "NORMALIZERS", "OOV_METHODS", "VOCAB_DUPLICATES", "AlignOptions", "CheckOptions",
           "RowOptions", "TaskOptions"]

#: ReadOptions fields that the alignment sets itself (its filter and its statistics).
_SET_BY_ALIGN = ("keep", "on_rows")


@dataclass(frozen=True)
class TaskOptions:
    """The aligned table's rows.

    Attributes:
        specials: Tokens placed first, in this order; never looked up. A special that is also a task token
            is kept once, as a special, and reported.
        pad: The special that gets a zero row (None: no zero row).
        layout: How a vocabulary file is read: one of :data:`LAYOUTS` (see :mod:`vecload.alignment.vocab`).
        vocab_duplicates: ``"error"`` refuses a repeated task token; ``"first"`` keeps the first.
    """

    specials: tuple[str, ...] = ("<pad>", "<unk>")
    pad: str | None = "<pad>"
    layout: str = LAYOUTS[0]
    vocab_duplicates: str = VOCAB_DUPLICATES[0]

    def __post_init__(self) -> None:
        if isinstance(self.specials, str):
            raise ArgumentError(f"specials must be a sequence of tokens, got the string {self.specials!r}")
        specials = tuple(self.specials)
        object.__setattr__(self, "specials", specials)
        for token in specials:
            if not isinstance(token, str) or not token:
                raise ArgumentError(f"a special must be a non-empty string, got {token!r}")
        if len(set(specials)) != len(specials):
            raise ArgumentError(f"specials repeat a token: {list(specials)}")
        if self.pad is not None and self.pad not in specials:
            raise ArgumentError(f"pad {self.pad!r} is not one of the specials {list(specials)}; add it, or pass pad=None")
        _choice("layout", self.layout, LAYOUTS)
        _choice("vocab_duplicates", self.vocab_duplicates, VOCAB_DUPLICATES)


@dataclass(frozen=True)
class RowOptions:
    """How each row is filled.

    Attributes:
        lookup: The lookup chain, tried in order: names of :data:`NORMALIZERS` (``"lower"``, combined with
            ``+`` as in ``"lower+digits"``), ``(name, function)`` pairs or named functions.
        oov: How rows the source lacks are filled: one of :data:`OOV_METHODS` (``zeros``, ``mean``,
            ``normal``, ``uniform``; see :mod:`vecload.alignment.oov`).
        seed: The seed of ``numpy.random.default_rng`` for the methods that draw.
        oov_fallback: With ``oov="subword"``, the method for the specials and the tokens with no known
            n-gram (one of :data:`FALLBACKS`).
    """

    lookup: tuple[StepSpec, ...] = ("exact",)
    oov: str = "normal"
    seed: int = 0
    oov_fallback: str = "normal"

    def __post_init__(self) -> None:
        if isinstance(self.lookup, str) or callable(self.lookup):
            lookup = (self.lookup,)
        elif isinstance(self.lookup, Iterable):
            lookup = tuple(self.lookup)
        else:
            raise ArgumentError(f"lookup must be a sequence of steps, got {type(self.lookup).__name__}")
        object.__setattr__(self, "lookup", lookup)
        names = [step.name for step in lookup_chain(lookup)]
        taken = [name for name in names if name in OOV_METHODS]
        if taken:
            raise ArgumentError(f"lookup step name {taken[0]!r} is the name of an OOV method; rename it")
        _choice("oov", self.oov, tuple(OOV_METHODS))
        _choice("oov_fallback", self.oov_fallback, FALLBACKS)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ArgumentError(f"seed must be a whole number >= 0, got {self.seed!r}")


@dataclass(frozen=True)
class CheckOptions:
    """The self-check and the report.

    Attributes:
        check_rows: How many rows the self-check compares (0 turns it off).
        verify_source: Also read the sampled rows from the file a second time and compare them.
        top_missing: How many missing tokens the coverage report lists.
    """

    check_rows: int = 256
    verify_source: bool = False
    top_missing: int = 20

    def __post_init__(self) -> None:
        for name in ("check_rows", "top_missing"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ArgumentError(f"{name} must be a whole number >= 0, got {value!r}")
        if not isinstance(self.verify_source, bool):
            raise ArgumentError(f"verify_source must be True or False, got {self.verify_source!r}")


@dataclass(frozen=True)
class AlignOptions:
    """Every option of an alignment, one dataclass per concern.

    Example:
        >>> AlignOptions.build(oov="mean", limit=1000).rows.oov
        'mean'
    """

    task: TaskOptions = field(default_factory=TaskOptions)
    rows: RowOptions = field(default_factory=RowOptions)
    check: CheckOptions = field(default_factory=CheckOptions)
    read: ReadOptions = field(default_factory=ReadOptions)

    def __post_init__(self) -> None:
        for name, kind in _CONCERNS.items():
            if not isinstance(getattr(self, name), kind):
                raise ArgumentError(f"{name} must be a {kind.__name__}, got {type(getattr(self, name)).__name__}")
        given = [name for name in _SET_BY_ALIGN if getattr(self.read, name) is not None]
        if given:
            raise ArgumentError(f"the alignment sets the read option {given[0]!r} itself; leave it out")

    @classmethod
    def build(cls, options: AlignOptions | None = None, **fields: Any) -> AlignOptions:
        """``options`` (or the defaults) with the named fields replaced, each in its dataclass.

        Raises:
            ArgumentError: A name that is no option's, or a value the option does not allow.
        """
        options = options if options is not None else cls()
        if not isinstance(options, AlignOptions):
            raise ArgumentError(f"options must be an AlignOptions, got {type(options).__name__}")
        if not fields:
            return options
        own = [name for name in _SET_BY_ALIGN if name in fields]
        if own:
            raise ArgumentError(f"the alignment sets the read option {own[0]!r} itself; leave it out")
        unknown = sorted(set(fields) - set(_FIELDS))
        if unknown:
            raise ArgumentError(f"unknown alignment option {unknown[0]!r}; the options are: {', '.join(_FIELDS)}")
        changes = {}
        for concern in _CONCERNS:
            mine = {name: value for name, value in fields.items() if _FIELDS[name] == concern}
            if mine:
                changes[concern] = dataclasses.replace(getattr(options, concern), **mine)
        return dataclasses.replace(options, **changes)


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ArgumentError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")


_CONCERNS: dict[str, type] = {"task": TaskOptions, "rows": RowOptions, "check": CheckOptions, "read": ReadOptions}
#: Every option's name -> its concern (the keyword arguments :func:`vecload.align` accepts).
_FIELDS: dict[str, str] = {
    f.name: concern for concern, kind in _CONCERNS.items() for f in dataclasses.fields(kind)
    if f.name not in _SET_BY_ALIGN
}
