"""The errors vecload raises.

Every error a user can cause derives from :class:`VecloadError`, so one ``except`` catches them all and
the CLI turns each into a one-paragraph message::

    VecloadError                  base class; str(err) is the whole message
    ├── FormatError               the file is not in a supported format (or not the one asked for)
    ├── ParseError                a source file is malformed; names the file and the line or byte offset
    ├── IntegrityError            a converted file is damaged, unsafe, or does not match its vocabulary
    ├── OutputExistsError         an output exists and ``force`` was not given
    └── FrozenTableModified       a tensor that should be frozen changed during training
"""

from __future__ import annotations

import os


class VecloadError(Exception):
    """Base class of every error vecload raises for bad input or misuse."""


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
        super().__init__(f"{where}: {message}")


class IntegrityError(VecloadError):
    """A converted file is damaged, unsafe to load, or does not match its vocabulary."""


class OutputExistsError(VecloadError):
    """An output file exists and overwriting it was not asked for."""


class FrozenTableModified(VecloadError):
    """A tensor that should have stayed frozen changed.

    Attributes:
        changes: One entry per changed tensor: its name, the changed rows and the largest change.
    """

    def __init__(self, message: str, changes: list[dict] | None = None) -> None:
        super().__init__(message)
        self.changes = changes or []
