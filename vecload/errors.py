"""The errors vecload raises.

Every error a user can cause derives from :class:`VecloadError`, so one ``except`` catches them all and
the CLI turns each into a one-paragraph message::

    VecloadError                  base class; str(err) is the whole message
    ├── FormatError               the file is not in a supported format (or not the one asked for)
    ├── ParseError                a source file is malformed; names the file and the line or byte offset
    ├── IntegrityError            a converted file is damaged, unsafe, or does not match its vocabulary
    ├── OutputExistsError         an output exists and ``force`` was not given
    ├── FrozenTableModified       a tensor that should be frozen changed during training
    ├── ArgumentError             a bad argument or option value (also a ``ValueError``)
    └── TokenNotFound             a token is not in the table (also a ``KeyError``, as a dict's missing key)

Paths are the exception: a missing or unreadable file raises ``FileNotFoundError`` / ``PermissionError``
(``OSError``), as ``open`` does.

An error whose fix is to pass an option carries that option (:class:`Option`, inside a :class:`Wording`),
so the same error reads in Python terms (``str(err)``: ``pass force=True to overwrite it``) and in the
command line's (``err.render(spell)``: ``pass --force to overwrite it``); the CLI holds the one table of
command-line spellings.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Option:
    """A library option (or function) that a message names as the fix.

    Attributes:
        name: The keyword argument (``"unicode_errors"``), or a function's dotted name with ``call=True``.
        value: The value to pass (True for a flag); a :class:`Symbol` for a placeholder such as ``N``.
        call: ``name`` is a function, spelled ``name()`` in Python terms.
    """

    name: str
    value: object = True
    call: bool = False

    def python(self) -> str:
        """The option as Python code spells it: ``force=True``, ``unicode_errors='replace'``, ``limit=N``."""
        if self.call:
            return f"{self.name}()"
        return f"{self.name}={self.value!r}"


@dataclass(frozen=True)
class Symbol:
    """A placeholder value, written as it is in both spellings (``limit=N``, ``--limit N``)."""

    text: str

    def __repr__(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


class Wording:
    """Text that names options: a constant template with ``{}`` slots, filled in Python or CLI terms.

    Example:
        >>> Wording("pass {} to overwrite it", Option("force")).render()
        'pass force=True to overwrite it'
    """

    def __init__(self, template: str, *options: Option) -> None:
        self.template = template
        self.options = options

    def render(self, spell: Callable[[Option], str] | None = None) -> str:
        """The text with each option spelled by ``spell`` (default: Python terms)."""
        return self.template.format(*((spell or Option.python)(option) for option in self.options))


#: The fix for a token that is not UTF-8, named by every reader.
UTF8_REPAIR = Wording("{} or {} repairs it", Option("unicode_errors", "replace"), Option("unicode_errors", "ignore"))


class VecloadError(Exception):
    """Base class of every error vecload raises for bad input or misuse.

    Args:
        message: What went wrong (and the fix, when it names no option).
        fix: The fix, when it names options: appended after ``"; "`` in the caller's terms.
    """

    def __init__(self, message: str = "", *args: object, fix: Wording | None = None) -> None:
        self.message = message
        self.fix = fix
        super().__init__(self.render(), *args)

    def render(self, spell: Callable[[Option], str] | None = None) -> str:
        """The whole message with options spelled by ``spell`` (default: Python terms, as ``str()`` gives)."""
        if self.fix is None:
            return self.message
        return f"{self.message}; {self.fix.render(spell)}"


class FormatError(VecloadError):
    """The file is not in a supported format, or not in the format that was asked for."""


class ParseError(VecloadError):
    """A source file is malformed at a known place.

    Args:
        path: The file (for an archive member, ``archive.zip:member``).
        message: What was wrong, and what was expected.
        line: The 1-based line number, for text formats.
        offset: The byte offset in the (decompressed) stream, for binary formats.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        message: str,
        *,
        line: int | None = None,
        offset: int | None = None,
        fix: Wording | None = None,
    ) -> None:
        self.path = str(path)
        self.line = line
        self.offset = offset
        self.reason = message
        if line is not None:
            where = f"{self.path}:{line}"
        elif offset is not None:
            where = f"{self.path}: byte {offset}"
        else:
            where = self.path
        super().__init__(f"{where}: {message}", fix=fix)


class IntegrityError(VecloadError):
    """A converted file is damaged, unsafe to load, or does not match its vocabulary."""


class OutputExistsError(VecloadError):
    """An output file exists and overwriting it was not asked for."""


class ArgumentError(VecloadError, ValueError):
    """An argument or option has a value vecload cannot use; the message names it and what is allowed."""


class TokenNotFound(VecloadError, KeyError):
    """A token is not in the table or embedding; also a ``KeyError``, as gensim's and a dict's lookups raise."""

    def __str__(self) -> str:
        return self.render()  # KeyError would show the message's repr


class FrozenTableModified(VecloadError):
    """A tensor that should have stayed frozen changed.

    Attributes:
        changes: One entry per changed tensor: its name, the changed rows and the largest change.
    """

    def __init__(self, message: str, changes: list[dict] | None = None) -> None:
        super().__init__(message)
        self.changes = changes or []
