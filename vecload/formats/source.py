"""Where the bytes come from: plain files, gzip, bz2, xz and legacy lzma streams, and members of zip and tar archives.

A :class:`Source` names one stream of (decompressed) bytes. Compression and archives are detected from
magic bytes, never from the file name, so ``vectors.txt`` that is really gzip still reads. A tar archive
(plain, or inside gzip, bz2, xz or lzma) is recognised by the ``ustar`` magic and a valid checksum in its first
512-byte header, after decompression.

Opening one member of a large archive stays cheap: a zip's central directory is scanned entry by entry
(never held whole, never turned into one ``ZipInfo`` per member), and a tar is walked header by header up
to the member, so time is bounded by the archive's directory and memory by a constant.

Decompressed streams are bounded (:mod:`vecload.formats.bounded`): a stream is refused, as it is read, once its
decompressed bytes pass the larger of ``MIN_BOUND`` and ``BOUND_RATIO`` times the compressed bytes read so far. Real
vector files compress 1 to 4 times; deflate bombs about 1000 times, bzip2 bombs up to a million times.
Checking the ratio as the stream is read (not against the whole file's size) stops a bomb after at most
``MIN_BOUND`` bytes, however large its compressed file. ``max_bytes`` replaces the rule by a fixed number
of decompressed bytes (to read a genuine file that compresses more than 100-fold, or to refuse sooner).
"""

from __future__ import annotations

import errno
import io
import os
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from vecload.errors import FormatError, ParseError
from vecload.formats.bounded import DECOMPRESSORS, PIECE, Counted, GuardedStream
from vecload.formats.members import LISTED, chosen_member, same_name, vector_like
from vecload.formats.tarfiles import BLOCK, TAR_MAGIC, TarMember, checksum_ok, tar_members
from vecload.formats.zipfiles import (
    EMPTY_ZIP_MAGIC,
    ZIP_MAGIC,
    ZIP_METHODS,
    ZIP_STREAMED,
    ZipEntry,
    ZipMember,
    zip_entries,
    zipfile_member,
)

GZIP_MAGIC = b"\x1f\x8b"
BZ2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
#: The suffixes :attr:`Source.stem` strips, outermost first.
_SUFFIXES = (".gz", ".bz2", ".xz", ".lzma", ".zip", ".tgz", ".tbz2", ".tbz", ".txz", ".tar", ".txt", ".vec", ".bin", ".w2v")


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
            if self.archive == "zip" and self.method not in ZIP_STREAMED:
                # rarely used methods (LZMA) are left to zipfile, which reads the whole central directory
                stream = zipfile_member(raw, self.member_offset)  # type: ignore[assignment]
            elif self.archive == "zip":
                entry = ZipEntry(self.member or "", 0, self.method, self.crc, self.packed_size or 0, self.member_size or 0,
                                 self.member_offset)
                member = ZipMember(raw, self.name, entry)
                consumed = member.consumed
                stream = io.BufferedReader(member, PIECE)  # type: ignore[arg-type, assignment]
            elif self.compression is not None:
                stream = DECOMPRESSORS[self.compression](raw)
            if self.inflates:
                stream = Counted(stream, max_bytes, consumed)  # type: ignore[assignment]
            if self.archive == "tar":
                tar_member = TarMember(stream, self.member_offset, self.member_size or 0, seekable=stream is raw)
                stream = io.BufferedReader(tar_member, PIECE)  # type: ignore[arg-type, assignment]
        except (zipfile.BadZipFile, ValueError, KeyError, EOFError, NotImplementedError, struct.error) as exc:
            raw.close()  # zipfile's own errors on a damaged directory (a name that is not UTF-8, ...)
            raise ParseError(self.name, f"damaged zip archive ({exc}); download it again") from exc
        except BaseException:
            raw.close()
            raise
        if stream is raw:
            return raw
        return GuardedStream(self.name, self.kind, stream, raw)

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
    if magic.startswith((ZIP_MAGIC, EMPTY_ZIP_MAGIC)):
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
    for entry in zip_entries(Path(file)):
        yield entry.name


def _zip_source(file: Path, member: str | None) -> Source:
    """A source for one member of a zip archive, or an error listing the members."""
    found = None
    first = None
    count = 0
    names: list[str] = []
    for entry in zip_entries(file):
        if member is not None and same_name(entry.name, member):
            found = entry  # the last entry of a name wins, as zipfile and unzip take it
        if vector_like(entry.name, entry.size):
            if first is not None and entry.name == first.name:
                first = entry  # a later entry of the same name
                continue
            count += 1
            first = first or entry
            if len(names) < LISTED:
                names.append(entry.name)
    found = chosen_member(file, "zip", member, count, names, first, found)
    if found.flags & 0x1:
        raise FormatError(f"{file}:{found.name}: is encrypted; decrypt the archive first")
    if found.method not in ZIP_METHODS:
        raise FormatError(
            f"{file}:{found.name}: uses zip compression method {found.method}, which vecload does not read "
            f"(it reads {', '.join(ZIP_METHODS.values())}); extract the member first"
        )
    return Source(file, found.name, "zip", "zip", found.offset, found.size, found.packed, found.method, found.crc)


def _is_tar(source: Source) -> bool:
    """True when the (decompressed) stream starts with a ustar header whose checksum is right."""
    try:
        with source.open() as stream:
            block = stream.read(BLOCK)
    except ParseError:
        return False  # a damaged stream is reported by the reader, as for any compressed file
    return len(block) == BLOCK and block[257:262] == TAR_MAGIC and checksum_ok(block)


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
            for name, offset, size, regular in tar_members(stream, file):
                if member is not None and regular and same_name(name, member):
                    found = (name, offset, size)  # the last copy wins
                if regular and vector_like(name, size):
                    if first is not None and name == first[0]:
                        first = (name, offset, size)  # a later copy of the same member
                        continue
                    count += 1
                    first = first or (name, offset, size)
                    if len(names) < LISTED:
                        names.append(name)
    except ParseError as exc:
        raise FormatError(f"{file}: cannot list the members of this {kind}-compressed tar archive: {exc.reason}") from exc
    name, offset, size = chosen_member(file, "tar", member, count, names, first, found)
    return Source(file, name, compression, "tar", offset, size)
