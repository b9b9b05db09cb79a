"""Tar archives walked header by header (GNU long names and pax paths applied), and one member's bytes."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from vecload.errors import FormatError

TAR_MAGIC = b"ustar"
BLOCK = 512
_CHUNK = 1 << 20


def checksum_ok(block: bytes) -> bool:
    try:
        recorded = int(block[148:156].split(b"\0", 1)[0].strip() or b"-1", 8)
    except ValueError:
        return False
    return recorded == sum(block[:148]) + 8 * 32 + sum(block[156:])


def tar_members(stream: BinaryIO, file: Path) -> Iterator[tuple[str, int, int, bool]]:
    """(name, data offset, size, is a regular file) for each member, reading headers and skipping data;
    GNU long names and pax ``path`` records are applied."""
    position = 0
    long_name: str | None = None
    while True:
        block = stream.read(BLOCK)
        if len(block) < BLOCK or block == bytes(BLOCK):
            return  # the end-of-archive marker (or a tar cut at a header boundary, as tar itself accepts)
        if not checksum_ok(block):
            raise FormatError(f"{file}: damaged tar archive (bad header checksum at byte {position}); download it again")
        position += BLOCK
        try:
            size = _tar_number(block[124:136])
        except ValueError:  # not octal: damage that happens to keep the checksum right
            raise FormatError(f"{file}: damaged tar archive (the member size at byte {position - BLOCK} is not a "
                              f"number); download it again") from None
        if size < 0:  # a GNU base-256 negative size would walk backwards (tarfile itself loops forever)
            raise FormatError(f"{file}: damaged tar archive (negative member size at byte {position - BLOCK}); "
                              f"download it again")
        kind = block[156:157]
        padded = (size + BLOCK - 1) // BLOCK * BLOCK
        if kind in (b"L", b"x"):
            if size <= _CHUNK:
                data = stream.read(padded)[:size]
            else:  # no real name is a MiB long: skip it
                data = b""
                _skip(stream, padded)
            position += padded
            if kind == b"L":
                long_name = data.rstrip(b"\0").decode("utf-8", "replace")
            else:
                long_name = _pax_path(data) or long_name
            continue
        name = long_name
        long_name = None
        if name is None:
            raw = block[:100].split(b"\0", 1)[0]
            # POSIX ustar keeps a name prefix at 345; GNU tar ("ustar  ") keeps times there
            prefix = block[345:500].split(b"\0", 1)[0] if block[257:263] == TAR_MAGIC + b"\0" else b""
            name = ((prefix + b"/" + raw) if prefix else raw).decode("utf-8", "replace")
        yield name, position, size, kind in (b"0", b"\0", b"7")
        _skip(stream, padded)
        position += padded


def _tar_number(field: bytes) -> int:
    """A tar header's octal (or GNU base-256) number."""
    if field[:1] in (b"\x80", b"\xff"):
        value = int.from_bytes(field[1:], "big")
        return value - (1 << (8 * len(field) - 8)) if field[:1] == b"\xff" else value
    text = field.split(b"\0", 1)[0].strip()
    return int(text, 8) if text else 0


def _pax_path(data: bytes) -> str | None:
    """The ``path`` of a pax extended header, if it sets one."""
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            break
        try:
            length = int(data[pos:space])
        except ValueError:
            break
        record = data[space + 1 : pos + length - 1]
        key, _, value = record.partition(b"=")
        if key == b"path":
            return value.decode("utf-8", "replace")
        pos += max(length, 1)
    return None


def _skip(stream: BinaryIO, count: int) -> None:
    """Read and discard ``count`` bytes (seek where the stream allows it)."""
    if isinstance(stream, io.BufferedReader | io.FileIO) and stream.seekable():
        stream.seek(count, os.SEEK_CUR)
        return
    while count > 0:
        got = len(stream.read(min(count, _CHUNK)))
        if not got:
            return
        count -= got


class TarMember(io.RawIOBase):
    """The ``size`` bytes at ``offset`` of a tar stream. The bytes before the member are skipped at the
    first read, inside the guard that turns damage and bombs into ParseError (see Source.open)."""

    def __init__(self, stream: BinaryIO, offset: int, size: int, seekable: bool) -> None:
        self._stream = stream
        self._offset: int | None = offset
        self._seekable = seekable
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self._offset is not None:
            offset, self._offset = self._offset, None
            if self._seekable:
                self._stream.seek(offset)
            else:
                _skip(self._stream, offset)
        if not self._left:
            return 0
        data = self._stream.read(min(len(buffer), self._left))
        if not data:
            raise EOFError(f"the archive ends {self._left:,} bytes before the member's end")
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)


# --- shared ----------------------------------------------------------------------------------------


