"""Zip archives read without ``zipfile``'s whole-directory load: the central directory entry by entry
(zip64 included), and one member's data decompressed as it is read, its size and CRC-32 checked."""

from __future__ import annotations

import bz2
import io
import os
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from vecload.errors import FormatError, ParseError

_CHUNK = 1 << 20
ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"


def zip_names(file: str | os.PathLike[str]) -> Iterator[str]:
    """The names of a zip archive's members, read one central directory entry at a time.

    Raises:
        FormatError: The archive is damaged.
    """
    for entry in zip_entries(Path(file)):
        yield entry.name


_EOCD = struct.Struct("<4s4H2LH")
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_LOCAL = struct.Struct("<4s2B4HL2L2H")
ZIP_METHODS = {0: "stored", 8: "deflate", 12: "bzip2", 14: "lzma"}
#: The methods read by :class:`ZipMember` (the others through ``zipfile``).
ZIP_STREAMED = (0, 8, 12)


@dataclass(frozen=True)
class ZipEntry:
    name: str
    flags: int
    method: int
    crc: int
    packed: int
    size: int
    offset: int


def zip_entries(file: Path) -> Iterator[ZipEntry]:
    """The central directory's entries, parsed one at a time from a buffered read (zip64 included)."""
    with open(file, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        tail_start = max(0, size - (_EOCD.size + 0xFFFF))
        fh.seek(tail_start)
        tail = fh.read()
        at = tail.rfind(EMPTY_ZIP_MAGIC)
        if at < 0 or len(tail) - at < _EOCD.size:
            raise FormatError(f"{file}: byte 0: starts as a zip archive but has no end of central directory record "
                              f"(damaged or cut short); download it again")
        _, _, _, _, total, cd_size, cd_offset, _ = _EOCD.unpack_from(tail, at)
        eocd = tail_start + at
        if total == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
            locator = tail[at - _EOCD64_LOCATOR.size : at] if at >= _EOCD64_LOCATOR.size else b""
            if len(locator) == _EOCD64_LOCATOR.size and locator.startswith(b"PK\x06\x07"):
                _, _, eocd64_at, _ = _EOCD64_LOCATOR.unpack(locator)
                fh.seek(eocd64_at)
                record = fh.read(_EOCD64.size)
                if len(record) < _EOCD64.size or not record.startswith(b"PK\x06\x06"):
                    raise FormatError(f"{file}: damaged zip64 archive (bad end of central directory); download it again")
                _, _, _, _, _, _, _, total, cd_size, cd_offset = _EOCD64.unpack(record)
                eocd = eocd64_at
        concat = eocd - cd_size - cd_offset  # bytes prepended to the archive (a self-extractor's stub)
        if concat < 0:
            raise FormatError(f"{file}: damaged zip archive (bad central directory offset); download it again")
        fh.seek(cd_offset + concat)
        reader = io.BufferedReader(fh, _CHUNK)  # type: ignore[arg-type]
        for _ in range(total):
            fixed = reader.read(_CENTRAL.size)
            if len(fixed) < _CENTRAL.size or not fixed.startswith(b"PK\x01\x02"):
                raise FormatError(f"{file}: damaged zip archive (bad central directory entry); download it again")
            fields = _CENTRAL.unpack(fixed)
            flags, method, crc, packed, unpacked = fields[5], fields[6], fields[9], fields[10], fields[11]
            name_len, extra_len, comment_len, offset = fields[12], fields[13], fields[14], fields[18]
            variable = reader.read(name_len + extra_len + comment_len)
            raw_name = variable[:name_len]
            name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "replace")
            if 0xFFFFFFFF in (packed, unpacked, offset):
                try:
                    unpacked, packed, offset = _zip64_extra(variable[name_len : name_len + extra_len], unpacked, packed,
                                                            offset)
                except struct.error:  # a zip64 field claiming more bytes than the entry holds
                    raise FormatError(f"{file}: damaged zip archive (bad zip64 extra field); download it again") from None
            yield ZipEntry(name, flags, method, crc, packed, unpacked, offset + concat)


def _zip64_extra(extra: bytes, unpacked: int, packed: int, offset: int) -> tuple[int, int, int]:
    """Sizes and offset from a zip64 extra field, for those the fixed fields mark as 0xFFFFFFFF."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<2H", extra, pos)
        if tag == 1:
            values = list(struct.unpack_from(f"<{length // 8}Q", extra, pos + 4))
            if unpacked == 0xFFFFFFFF and values:
                unpacked = values.pop(0)
            if packed == 0xFFFFFFFF and values:
                packed = values.pop(0)
            if offset == 0xFFFFFFFF and values:
                offset = values.pop(0)
            break
        pos += 4 + length
    return unpacked, packed, offset


def zipfile_member(raw: BinaryIO, offset: int) -> BinaryIO:
    """The member whose local header is at ``offset``, opened by ``zipfile`` (the entry located, not the
    last entry of the same name, which is what opening by name gives)."""
    archive = zipfile.ZipFile(raw)  # type: ignore[arg-type]
    for info in archive.infolist():
        if info.header_offset == offset:
            return archive.open(info)  # type: ignore[return-value]
    raise zipfile.BadZipFile("zipfile does not find the member's entry")


class ZipMember(io.RawIOBase):
    """One member's bytes, decompressed from its data in the archive, with its size and CRC-32 checked."""

    def __init__(self, raw: BinaryIO, name: str, entry: ZipEntry) -> None:
        raw.seek(entry.offset)
        header = raw.read(_LOCAL.size)
        if len(header) < _LOCAL.size or not header.startswith(ZIP_MAGIC):
            raise ParseError(name, "damaged zip archive (bad local header); download it again", offset=entry.offset)
        name_len, extra_len = _LOCAL.unpack(header)[-2:]
        raw.seek(entry.offset + _LOCAL.size + name_len + extra_len)
        self._raw = raw
        self._left = entry.packed
        self._packed_total = self._left
        self._expected = entry.size
        self._crc = 0
        self._expected_crc = entry.crc
        self._produced = 0
        self._eof = False
        self._decompressor = {0: None, 8: zlib.decompressobj(-15), 12: bz2.BZ2Decompressor()}[entry.method]

    def readable(self) -> bool:
        return True

    def consumed(self) -> int:
        """The compressed bytes read so far."""
        return self._packed_total - self._left

    def readinto(self, buffer) -> int:  # type: ignore[override]
        wanted = len(buffer)
        data = b""
        while not data and not self._eof:
            data = self._next(wanted)
        buffer[: len(data)] = data
        self._crc = zlib.crc32(data, self._crc)
        self._produced += len(data)
        if self._produced > self._expected or self._eof and (self._produced != self._expected or self._crc != self._expected_crc):
            raise zipfile.BadZipFile(
                f"the member's data gives {self._produced:,} bytes with CRC-32 {self._crc:08x}, the archive "
                f"records {self._expected:,} bytes with CRC-32 {self._expected_crc:08x}"
            )
        return len(data)

    def _next(self, wanted: int) -> bytes:
        """Up to ``wanted`` decompressed bytes (possibly none); sets ``_eof`` at the end of the member."""
        unpack = self._decompressor
        if unpack is None:
            data = self._packed(wanted) if self._left else b""
        elif unpack.eof:
            data = b""
        elif isinstance(unpack, bz2.BZ2Decompressor):
            data = unpack.decompress(self._packed(1 << 16) if unpack.needs_input else b"", wanted)
        else:
            tail = unpack.unconsumed_tail
            if not tail and self._left:
                tail = self._packed(1 << 16)
            data = unpack.decompress(tail, wanted)
            if not data and not unpack.eof and not unpack.unconsumed_tail and not self._left:
                raise EOFError("the member's compressed data ends before its end marker")
        if not data and (unpack is None or unpack.eof):
            self._eof = True
        return data

    def _packed(self, most: int) -> bytes:
        """Up to ``most`` more of the member's stored bytes."""
        if not self._left:
            raise EOFError("the member's compressed data ends before its end marker")
        data = self._raw.read(min(self._left, most))
        if not data:
            raise EOFError("the archive ends inside the member's data")
        self._left -= len(data)
        return data


