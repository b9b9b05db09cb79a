"""Choosing an archive's member: the one named, or else the only one that could hold vectors."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from vecload.errors import FormatError, Option, Symbol, Wording

#: How many member names an error lists.
LISTED = 20

_T = TypeVar("_T")


def vector_like(name: str, size: int) -> bool:
    """Could this member hold vectors: a non-empty file that is not a directory or macOS metadata."""
    base = name.rstrip("/").rsplit("/", 1)[-1]
    return size > 0 and not name.endswith("/") and not base.startswith("._") and not name.startswith("__MACOSX/")


def same_name(stored: str, asked: str) -> bool:
    """Member names match with or without a leading ``./`` (``tar -C dir .`` writes one)."""
    return stored == asked or stored.removeprefix("./") == asked.removeprefix("./")


def _listing(count: int, names: list[str]) -> str:
    if not count:
        return "it has no vector-like members"
    more = f" and {count - len(names):,} more" if count > len(names) else ""
    return f"members: {', '.join(names)}{more}"


def chosen_member(file: Path, kind: str, member: str | None, count: int, names: list[str], first: _T | None,
            found: _T | None) -> _T:
    """The member to read: the one named, or else the archive's only vector-like one; refuse otherwise.

    Args:
        count: The vector-like members; ``names``: the first of their names, for the listing.
        first: The first vector-like member; ``found``: the named one, if it is there.
    """
    if member is None:
        if count != 1:
            _refuse_listing(file, kind, count, names)
        found = first
    elif found is None:
        raise FormatError(f"{file}: has no member {member!r} ({_listing(count, names)})")
    assert found is not None
    return found


def _refuse_listing(file: Path, kind: str, count: int, names: list[str]) -> None:
    if not count:
        raise FormatError(f"{file}: is a {kind} archive with no vector-like members (only empty files or folders)")
    raise FormatError(
        f"{file}: is a {kind} archive with {count:,} members ({_listing(count, names)})",
        fix=Wording(f"name one as {file}:MEMBER or with {{}}", Option("member", Symbol("MEMBER"))),
    )
