"""Where the bytes come from: plain files, gzip and bz2 streams, and members of zip archives.

A :class:`Source` names one stream of (decompressed) bytes. Compression is detected from magic bytes,
never from the file name, so ``vectors.txt`` that is really gzip still reads.
"""

from __future__ import annotations

import bz2
import gzip
import io
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from vecload.errors import FormatError, ParseError

GZIP_MAGIC = b"\x1f\x8b"
BZ2_MAGIC = b"BZh"
ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class Source:
    """One stream of vector data: a file, possibly compressed, or a member of a zip archive.

    Attributes:
        path: The file on disk.
        member: The member's name inside a zip archive, or None.
        compression: ``"gzip"``, ``"bz2"``, ``"zip"`` or None.
    """

    path: Path
    member: str | None = None
    compression: str | None = None

    @property
    def name(self) -> str:
        """The name used in messages: ``path`` or ``archive.zip:member``."""
        return f"{self.path}:{self.member}" if self.member else str(self.path)

    @property
    def stem(self) -> str:
        """The file name without vector and compression extensions (``glove.6B.50d``)."""
        name = Path(self.member).name if self.member else self.path.name
        for ext in (".gz", ".bz2", ".zip", ".txt", ".vec", ".bin", ".w2v"):
            if name.lower().endswith(ext) and len(name) > len(ext):
                name = name[: -len(ext)]
        return name

    def open(self) -> BinaryIO:
        """Open a fresh binary stream of the decompressed bytes.

        Reading it raises :class:`ParseError` (with the byte offset reached) where a compressed stream is
        truncated or damaged, instead of the decompressor's bare exception.
        """
        if self.compression == "zip":
            archive = zipfile.ZipFile(self.path)
            return _GuardedStream(self, archive.open(self.member), archive)  # type: ignore[arg-type]
        raw = open(self.path, "rb")
        if self.compression == "gzip":
            return _GuardedStream(self, gzip.GzipFile(fileobj=raw, mode="rb"), raw)
        if self.compression == "bz2":
            return _GuardedStream(self, bz2.BZ2File(raw, mode="rb"), raw)
        return raw

    def size(self) -> int:
        """The size of the stored (possibly compressed) bytes."""
        if self.compression == "zip":
            with zipfile.ZipFile(self.path) as archive:
                return archive.getinfo(self.member).compress_size  # type: ignore[arg-type]
        return self.path.stat().st_size

    def uncompressed_size(self) -> int | None:
        """The decompressed size where the container records it cheaply, else None."""
        if self.compression is None:
            return self.path.stat().st_size
        if self.compression == "zip":
            with zipfile.ZipFile(self.path) as archive:
                return archive.getinfo(self.member).file_size  # type: ignore[arg-type]
        return None


def open_source(path: str | os.PathLike[str], member: str | None = None) -> Source:
    """Resolve a user's path to a :class:`Source`.

    ``archive.zip:member.txt`` names a member of a zip archive, as does ``member=``.

    Args:
        path: A file, or ``archive.zip:member``.
        member: The member of a zip archive to read.

    Returns:
        The source, with its compression detected from magic bytes.

    Raises:
        FormatError: The file does not exist, is a directory, or is an archive and no (valid) member
            was named.
    """
    text = os.fspath(path)
    file = Path(text)
    if member is None and not file.exists() and ":" in text:
        archive, _, inner = text.rpartition(":")
        if Path(archive).is_file() and inner:
            file, member = Path(archive), inner
    if not file.exists():
        raise FormatError(f"{text}: no such file")
    if file.is_dir():
        raise FormatError(f"{text}: is a directory, not a vector file")
    with open(file, "rb") as fh:
        magic = fh.read(4)
    if magic.startswith(ZIP_MAGIC):
        return _zip_source(file, member)
    if member is not None:
        raise FormatError(f"{file}: is not a zip archive, so it has no member {member!r}")
    if magic.startswith(GZIP_MAGIC):
        return Source(file, compression="gzip")
    if magic.startswith(BZ2_MAGIC):
        return Source(file, compression="bz2")
    return Source(file)


def _zip_source(file: Path, member: str | None) -> Source:
    """A source for one member of a zip archive, or an error listing the members."""
    try:
        with zipfile.ZipFile(file) as archive:
            names = [i.filename for i in archive.infolist() if not i.is_dir()]
    except zipfile.BadZipFile as exc:
        raise FormatError(f"{file}: damaged zip archive ({exc})") from exc
    listing = ", ".join(names[:20]) + (" ..." if len(names) > 20 else "")
    if member is None:
        if len(names) == 1:
            return Source(file, names[0], "zip")
        raise FormatError(
            f"{file}: is a zip archive with {len(names)} members; name one as "
            f"{file}:MEMBER (members: {listing})"
        )
    if member not in names:
        raise FormatError(f"{file}: has no member {member!r} (members: {listing})")
    return Source(file, member, "zip")


_PIECE = 1 << 16


class _GuardedStream(io.RawIOBase):
    """A decompressing stream that reports damage as a ParseError and closes what lies beneath it."""

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
        except (EOFError, OSError, zlib.error, zipfile.BadZipFile) as exc:
            raise ParseError(
                self._source.name,
                f"the {self._source.compression} stream is truncated or damaged ({exc}); "
                f"download the file again",
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
