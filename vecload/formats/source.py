"""Where the bytes come from: plain files, gzip, bz2, xz and legacy lzma streams, and members of zip and tar archives.

A :class:`Source` names one stream of (decompressed) bytes. Compression and archives are detected from
magic bytes, never from the file name, so ``vectors.txt`` that is really gzip still reads. A tar archive
(plain, or inside gzip, bz2, xz or lzma) is recognised by the ``ustar`` magic and a valid checksum in its first
512-byte header, after decompression.

Opening one member of a large archive stays cheap: a zip's central directory is scanned entry by entry
(never held whole, never turned into one ``ZipInfo`` per member), and a tar is walked header by header up
to the member, so time is bounded by the archive's directory and memory by a constant.

Decompressed streams are bounded: a stream is refused, as it is read, once its decompressed bytes pass
the larger of :data:`MIN_BOUND` and :data:`BOUND_RATIO` times the compressed bytes read so far. Real
vector files compress 1 to 4 times; deflate bombs about 1000 times, bzip2 bombs up to a million times.
Checking the ratio as the stream is read (not against the whole file's size) stops a bomb after at most
``MIN_BOUND`` bytes, however large its compressed file. ``max_bytes`` replaces the rule by a fixed number
of decompressed bytes (to read a genuine file that compresses more than 100-fold, or to refuse sooner).
"""

from __future__ import annotations

import bz2
import errno
import gzip
import io
import lzma
import os
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

from vecload.errors import FormatError, Option, ParseError, Symbol, Wording

GZIP_MAGIC = b"\x1f\x8b"
BZ2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
TAR_MAGIC = b"ustar"
#: A decompressed stream may always grow to this many bytes (small files compressed very well stay readable).
MIN_BOUND = 256 << 20
#: ... and to this many times its compressed size. Vector files compress 1.1 (binary) to about 4 times
#: (text with short decimals); deflate and bzip2 bombs reach 1000 to 1,000,000 times.
BOUND_RATIO = 100
#: The suffixes :attr:`Source.stem` strips, outermost first.
_SUFFIXES = (".gz", ".bz2", ".xz", ".lzma", ".zip", ".tgz", ".tbz2", ".tbz", ".txz", ".tar", ".txt", ".vec", ".bin", ".w2v")
#: How many member names an error lists.
_LISTED = 20
_BLOCK = 512
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Source:
    """One stream of vector data: a file, possibly compressed, or a member of a zip or tar archive.

    Attributes:
        path: The file on disk.
        member: The member's name inside an archive, or None.
        compression: ``"gzip"``, ``"bz2"``, ``"xz"``, ``"lzma"`` (the legacy ``.lzma`` format), ``"zip"`` (a zip member) or None. For a tar member,
            the compression of the whole tar stream.
        archive: ``"zip"`` or ``"tar"`` for a member, else None.
        member_offset: Zip: the member's local header offset. Tar: the offset of the member's data in the
            (decompressed) tar stream.
        member_size: The member's size (decompressed), as its archive records it.
        packed_size: Zip: the member's compressed size.
        method: Zip: the member's compression method (0 stored, 8 deflate, 12 bzip2, 14 lzma).
        crc: Zip: the member's CRC-32, checked when the member has been read to its end.
    """

    path: Path
    member: str | None = None
    compression: str | None = None
    archive: str | None = None
    member_offset: int = 0
    member_size: int | None = None
    packed_size: int | None = None
    method: int = 0
    crc: int = 0

    @property
    def name(self) -> str:
        """The name used in messages: ``path`` or ``archive.zip:member``."""
        return f"{self.path}:{self.member}" if self.member else str(self.path)

    @property
    def stem(self) -> str:
        """The file name without vector, archive and compression extensions (``glove.6B.50d``)."""
        name = Path(self.member).name if self.member else self.path.name
        stripped = True
        while stripped:
            stripped = False
            for ext in _SUFFIXES:
                if name.lower().endswith(ext) and len(name) > len(ext):
                    name, stripped = name[: -len(ext)], True
                    break
        return name

    def open(self, max_bytes: int | None = None) -> BinaryIO:
        """Open a fresh binary stream of the decompressed bytes.

        Reading it raises :class:`ParseError` (with the byte offset reached) where a compressed stream or
        an archive is truncated or damaged, instead of the decompressor's bare exception, and where a
        compressed stream inflates past its bound (see the module docstring).

        Args:
            max_bytes: The most decompressed bytes to accept (None: the ratio rule).
        """
        raw = open(self.path, "rb")
        try:
            stream: BinaryIO = raw
            consumed = raw.tell  # the compressed bytes read so far, for the bound
            if self.archive == "zip" and self.method not in _ZIP_STREAMED:
                # rarely used methods (LZMA) are left to zipfile, which reads the whole central directory
                stream = _zipfile_member(raw, self)  # type: ignore[assignment]
            elif self.archive == "zip":
                member = _ZipMember(raw, self)
                consumed = member.consumed
                stream = io.BufferedReader(member, _PIECE)  # type: ignore[arg-type, assignment]
            elif self.compression is not None:
                stream = _DECOMPRESSORS[self.compression](raw)
            if self.inflates:
                stream = _Counted(stream, max_bytes, consumed)  # type: ignore[assignment]
            if self.archive == "tar":
                tar_member = _TarMember(stream, self.member_offset, self.member_size or 0, seekable=stream is raw)
                stream = io.BufferedReader(tar_member, _PIECE)  # type: ignore[arg-type, assignment]
        except (zipfile.BadZipFile, ValueError, KeyError, EOFError, NotImplementedError, struct.error) as exc:
            raw.close()  # zipfile's own errors on a damaged directory (a name that is not UTF-8, ...)
            raise ParseError(self.name, f"damaged zip archive ({exc}); download it again") from exc
        except BaseException:
            raw.close()
            raise
        if stream is raw:
            return raw
        return _GuardedStream(self, stream, raw)

    @property
    def inflates(self) -> bool:
        """True when the stored bytes are compressed (and reading them is bounded)."""
        return self.compression is not None and not (self.archive == "zip" and self.method == 0)

    def size(self) -> int:
        """The size of the stored (possibly compressed) bytes: a zip member's compressed size, a tar
        member's size (plain tar) or the whole compressed tar stream's."""
        if self.archive == "zip":
            return self.packed_size or 0
        if self.archive == "tar" and self.compression is None:
            return self.member_size or 0
        return self.path.stat().st_size

    def uncompressed_size(self) -> int | None:
        """The decompressed size where the container records it, else None."""
        if self.archive is not None:
            return self.member_size
        if self.compression is None:
            return self.path.stat().st_size
        return None

    @property
    def kind(self) -> str:
        """What to call the stream in messages: ``gzip``, ``bz2``, ``xz``, ``lzma``, ``zip`` or ``tar``."""
        return self.compression or self.archive or "file"


def open_source(path: str | os.PathLike[str], member: str | None = None, max_bytes: int | None = None) -> Source:
    """Resolve a user's path to a :class:`Source`.

    ``archive.zip:member.txt`` or ``archive.tar.gz:member.txt`` names a member of an archive, as does
    ``member=``. An archive with one vector-like member (a regular, non-empty file) reads that member.

    Args:
        path: A file, or ``archive:member``.
        member: The member of a zip or tar archive to read.
        max_bytes: The bound on a compressed tar stream walked to find the member (see :meth:`Source.open`).

    Returns:
        The source, with its compression and archive detected from magic bytes.

    Raises:
        FileNotFoundError: The file does not exist.
        IsADirectoryError: It is a directory.
        FormatError: It is not a regular file (a pipe), or is an archive and no (valid) member was named.
    """
    text = os.fspath(path)
    file = Path(text)
    if member is None and not file.exists() and ":" in text:
        archive, _, inner = text.rpartition(":")
        if Path(archive).is_file() and inner:
            file, member = Path(archive), inner
    if not file.exists():
        raise FileNotFoundError(errno.ENOENT, "no such file", text)
    if file.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory, not a vector file", text)
    if not file.is_file():  # each open of a pipe (<(zcat ...)) would lose what the previous one read
        raise FormatError(
            f"{text}: is not a regular file (a pipe or a device?); vecload opens a source several times (to "
            f"recognise its container and format, then to read it), so save it to a file first"
        )
    with open(file, "rb") as fh:
        magic = fh.read(_LZMA_ALONE.size)
    if magic.startswith((ZIP_MAGIC, _EMPTY_ZIP_MAGIC)):
        return _zip_source(file, member)
    compression = None
    for name, prefix in (("gzip", GZIP_MAGIC), ("bz2", BZ2_MAGIC), ("xz", XZ_MAGIC)):
        if magic.startswith(prefix):
            compression = name
    if compression is None and _is_lzma_alone(magic):
        compression = "lzma"
    if _is_tar(Source(file, compression=compression)):
        return _tar_source(file, compression, member, max_bytes)
    if member is not None:
        raise FormatError(f"{file}: is not a zip or tar archive, so it has no member {member!r}")
    return Source(file, compression=compression)


#: The legacy .lzma ("LZMA alone") header: properties byte, dictionary size, uncompressed size.
_LZMA_ALONE = struct.Struct("<BLQ")


def _is_lzma_alone(magic: bytes) -> bool:
    """A legacy ``.lzma`` header, checked as strictly as xz's own format detection: a valid properties
    byte (lc + lp * 9 + pb * 45 with lc, lp <= 8 and pb <= 4), a dictionary size of 2**n or 2**n + 2**(n-1),
    and an unknown or plausible uncompressed size. The format has no magic bytes; text never passes."""
    if len(magic) < _LZMA_ALONE.size:
        return False
    props, dict_size, size = _LZMA_ALONE.unpack(magic)
    if props > 4 * 45 + 8 * 9 + 8 or dict_size == 0:
        return False
    low = dict_size & -dict_size  # the lowest set bit
    shape_ok = dict_size in (low, 3 * low)  # 2**n, or 2**n + 2**(n-1) == 3 * 2**(n-1)
    return shape_ok and (size == (1 << 64) - 1 or size < 1 << 38)


def zip_names(file: str | os.PathLike[str]) -> Iterator[str]:
    """The names of a zip archive's members, read one central directory entry at a time.

    Raises:
        FormatError: The archive is damaged.
    """
    for entry in _zip_entries(Path(file)):
        yield entry.name


# --- zip -------------------------------------------------------------------------------------------

_EOCD = struct.Struct("<4s4H2LH")
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_ZIP_METHODS = {0: "stored", 8: "deflate", 12: "bzip2", 14: "lzma"}
#: The methods read by :class:`_ZipMember` (the others through ``zipfile``).
_ZIP_STREAMED = (0, 8, 12)


@dataclass(frozen=True)
class _ZipEntry:
    name: str
    flags: int
    method: int
    crc: int
    packed: int
    size: int
    offset: int


def _zip_source(file: Path, member: str | None) -> Source:
    """A source for one member of a zip archive, or an error listing the members."""
    found = None
    first = None
    count = 0
    names: list[str] = []
    for entry in _zip_entries(file):
        if member is not None and _same_name(entry.name, member):
            found = entry  # the last entry of a name wins, as zipfile and unzip take it
        if _vector_like(entry.name, entry.size):
            if first is not None and entry.name == first.name:
                first = entry  # a later entry of the same name
                continue
            count += 1
            first = first or entry
            if len(names) < _LISTED:
                names.append(entry.name)
    found = _chosen(file, "zip", member, count, names, first, found)
    if found.flags & 0x1:
        raise FormatError(f"{file}:{found.name}: is encrypted; decrypt the archive first")
    if found.method not in _ZIP_METHODS:
        raise FormatError(
            f"{file}:{found.name}: uses zip compression method {found.method}, which vecload does not read "
            f"(it reads {', '.join(_ZIP_METHODS.values())}); extract the member first"
        )
    return Source(file, found.name, "zip", "zip", found.offset, found.size, found.packed, found.method, found.crc)


def _zip_entries(file: Path) -> Iterator[_ZipEntry]:
    """The central directory's entries, parsed one at a time from a buffered read (zip64 included)."""
    with open(file, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        tail_start = max(0, size - (_EOCD.size + 0xFFFF))
        fh.seek(tail_start)
        tail = fh.read()
        at = tail.rfind(_EMPTY_ZIP_MAGIC)
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
            yield _ZipEntry(name, flags, method, crc, packed, unpacked, offset + concat)


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


def _zipfile_member(raw: BinaryIO, source: Source) -> BinaryIO:
    """The member at ``source.member_offset``, opened by ``zipfile`` (the entry located, not the last
    entry of the same name, which is what opening by name gives)."""
    archive = zipfile.ZipFile(raw)  # type: ignore[arg-type]
    for info in archive.infolist():
        if info.header_offset == source.member_offset:
            return archive.open(info)  # type: ignore[return-value]
    raise zipfile.BadZipFile("zipfile does not find the member's entry")


class _ZipMember(io.RawIOBase):
    """One member's bytes, decompressed from its data in the archive, with its size and CRC-32 checked."""

    def __init__(self, raw: BinaryIO, source: Source) -> None:
        raw.seek(source.member_offset)
        header = raw.read(_LOCAL.size)
        if len(header) < _LOCAL.size or not header.startswith(ZIP_MAGIC):
            raise ParseError(source.name, "damaged zip archive (bad local header); download it again",
                             offset=source.member_offset)
        name_len, extra_len = _LOCAL.unpack(header)[-2:]
        raw.seek(source.member_offset + _LOCAL.size + name_len + extra_len)
        self._raw = raw
        self._left = source.packed_size or 0
        self._packed_total = self._left
        self._expected = source.member_size or 0
        self._crc = 0
        self._expected_crc = source.crc
        self._produced = 0
        self._eof = False
        self._decompressor = {0: None, 8: zlib.decompressobj(-15), 12: bz2.BZ2Decompressor()}[source.method]

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


# --- tar -------------------------------------------------------------------------------------------


def _is_tar(source: Source) -> bool:
    """True when the (decompressed) stream starts with a ustar header whose checksum is right."""
    try:
        with source.open() as stream:
            block = stream.read(_BLOCK)
    except ParseError:
        return False  # a damaged stream is reported by the reader, as for any compressed file
    return len(block) == _BLOCK and block[257:262] == TAR_MAGIC and _checksum_ok(block)


def _checksum_ok(block: bytes) -> bool:
    try:
        recorded = int(block[148:156].split(b"\0", 1)[0].strip() or b"-1", 8)
    except ValueError:
        return False
    return recorded == sum(block[:148]) + 8 * 32 + sum(block[156:])


def _tar_source(file: Path, compression: str | None, member: str | None, max_bytes: int | None = None) -> Source:
    """A source for one member of a tar archive, or an error listing the members; the archive is walked
    header by header to its end, since a later copy of a member (appended by ``tar -r`` or ``tar -u``) is
    the one tar extracts."""
    found = first = None
    count = 0
    names: list[str] = []
    kind = compression or "plain"
    archive = Source(file, compression=compression)
    try:
        with archive.open(max_bytes) as stream:
            for name, offset, size, regular in _tar_members(stream, file):
                if member is not None and regular and _same_name(name, member):
                    found = (name, offset, size)  # the last copy wins
                if regular and _vector_like(name, size):
                    if first is not None and name == first[0]:
                        first = (name, offset, size)  # a later copy of the same member
                        continue
                    count += 1
                    first = first or (name, offset, size)
                    if len(names) < _LISTED:
                        names.append(name)
    except ParseError as exc:
        raise FormatError(f"{file}: cannot list the members of this {kind}-compressed tar archive: {exc.reason}") from exc
    name, offset, size = _chosen(file, "tar", member, count, names, first, found)
    return Source(file, name, compression, "tar", offset, size)


def _tar_members(stream: BinaryIO, file: Path) -> Iterator[tuple[str, int, int, bool]]:
    """(name, data offset, size, is a regular file) for each member, reading headers and skipping data;
    GNU long names and pax ``path`` records are applied."""
    position = 0
    long_name: str | None = None
    while True:
        block = stream.read(_BLOCK)
        if len(block) < _BLOCK or block == bytes(_BLOCK):
            return  # the end-of-archive marker (or a tar cut at a header boundary, as tar itself accepts)
        if not _checksum_ok(block):
            raise FormatError(f"{file}: damaged tar archive (bad header checksum at byte {position}); download it again")
        position += _BLOCK
        try:
            size = _tar_number(block[124:136])
        except ValueError:  # not octal: damage that happens to keep the checksum right
            raise FormatError(f"{file}: damaged tar archive (the member size at byte {position - _BLOCK} is not a "
                              f"number); download it again") from None
        if size < 0:  # a GNU base-256 negative size would walk backwards (tarfile itself loops forever)
            raise FormatError(f"{file}: damaged tar archive (negative member size at byte {position - _BLOCK}); "
                              f"download it again")
        kind = block[156:157]
        padded = (size + _BLOCK - 1) // _BLOCK * _BLOCK
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


class _TarMember(io.RawIOBase):
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


def _vector_like(name: str, size: int) -> bool:
    """Could this member hold vectors: a non-empty file that is not a directory or macOS metadata."""
    base = name.rstrip("/").rsplit("/", 1)[-1]
    return size > 0 and not name.endswith("/") and not base.startswith("._") and not name.startswith("__MACOSX/")


def _same_name(stored: str, asked: str) -> bool:
    """Member names match with or without a leading ``./`` (``tar -C dir .`` writes one)."""
    return stored == asked or stored.removeprefix("./") == asked.removeprefix("./")


def _listing(count: int, names: list[str]) -> str:
    if not count:
        return "it has no vector-like members"
    more = f" and {count - len(names):,} more" if count > len(names) else ""
    return f"members: {', '.join(names)}{more}"


_T = TypeVar("_T")


def _chosen(file: Path, kind: str, member: str | None, count: int, names: list[str], first: _T | None,
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


_DECOMPRESSORS = {
    "gzip": lambda raw: gzip.GzipFile(fileobj=raw, mode="rb"),
    "bz2": lambda raw: bz2.BZ2File(raw, mode="rb"),
    "xz": lambda raw: lzma.LZMAFile(raw, mode="rb"),
    "lzma": lambda raw: lzma.LZMAFile(raw, mode="rb", format=lzma.FORMAT_ALONE),
}
_PIECE = 1 << 16


class _TooLarge(Exception):
    """A decompressed stream passed its bound: args are the bound, and the compressed bytes read or None
    (a ``max_bytes`` bound)."""


class _Counted:
    """Counts the decompressed bytes a stream yields and stops it past its bound: ``max_bytes``, or the
    larger of MIN_BOUND and BOUND_RATIO times the compressed bytes read so far (``consumed()``)."""

    def __init__(self, stream: BinaryIO, max_bytes: int | None, consumed: Callable[[], int]) -> None:
        self._stream = stream
        self._max_bytes = max_bytes
        self._consumed = consumed
        self._check_at = MIN_BOUND if max_bytes is None else max_bytes
        self.total = 0

    def read(self, size: int = -1) -> bytes:
        return self._count(self._stream.read(size if size is not None and size >= 0 else self._check_at + 1 - self.total))

    def readline(self, size: int = -1) -> bytes:
        return self._count(self._stream.readline(size))

    def seekable(self) -> bool:
        return False

    def _count(self, data: bytes) -> bytes:
        self.total += len(data)
        if self.total > self._check_at:  # past the last bound computed: compute it again
            if self._max_bytes is not None:
                raise _TooLarge(self._max_bytes, None)
            consumed = self._consumed()
            self._check_at = max(MIN_BOUND, BOUND_RATIO * consumed)
            if self.total > self._check_at:
                raise _TooLarge(self._check_at, consumed)
        return data

    def close(self) -> None:
        self._stream.close()


class _GuardedStream(io.RawIOBase):
    """A decompressing stream that reports damage and bombs as a ParseError, and closes what lies beneath it."""

    def __init__(self, source: Source, stream: BinaryIO, underlying) -> None:
        self._source = source
        self._stream = stream
        self._underlying = underlying
        self._position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        # Read in pieces so that a damaged stream is located to within one piece, not one large request.
        pieces: list[bytes] = []
        wanted = size if size is not None and size >= 0 else None
        while wanted is None or wanted > 0:
            piece = self._guard(self._stream.read, _PIECE if wanted is None else min(wanted, _PIECE))
            if not piece:
                break
            pieces.append(piece)
            if wanted is not None:
                wanted -= len(piece)
        return b"".join(pieces)

    def readline(self, size: int = -1) -> bytes:  # type: ignore[override]
        return self._guard(self._stream.readline, size)

    def _guard(self, method, size: int) -> bytes:
        try:
            data = method(size)
        except _TooLarge as exc:
            raise ParseError(self._source.name, _bomb_message(self._source, *exc.args), offset=self._position) from None
        except (EOFError, OSError, zlib.error, lzma.LZMAError, zipfile.BadZipFile) as exc:
            raise ParseError(
                self._source.name,
                f"the {self._source.kind} stream is truncated or damaged ({exc}); download the file again",
                offset=self._position,
            ) from exc
        self._position += len(data)
        return data

    def close(self) -> None:
        if not self.closed:
            try:
                self._stream.close()
            finally:
                self._underlying.close()
        super().close()


def _bomb_message(source: Source, limit: int, consumed: int | None) -> str:
    """Why a stream that inflated past ``limit`` bytes was stopped, and how to read it anyway."""
    if consumed is None:
        why = "the max_bytes given"
    else:
        why = (f"from {consumed:,} compressed bytes; vecload's default bound is the larger of {MIN_BOUND >> 20} MiB "
               f"and {BOUND_RATIO} times the compressed bytes read, while real vector files compress 1-4 times")
    return (
        f"the {source.kind} stream inflates past {limit:,} bytes ({why}): a decompression bomb? If the file is "
        f"genuine, raise the bound with max_bytes= (CLI --max-bytes)"
    )
