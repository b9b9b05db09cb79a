"""Decompressed streams, bounded and guarded: a stream is refused, as it is read, once its decompressed bytes
pass the larger of :data:`MIN_BOUND` and :data:`BOUND_RATIO` times the compressed bytes read so far (or
``max_bytes``), and damage or a bomb surfaces as a :class:`ParseError` with the offset reached."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile
import zlib
from collections.abc import Callable
from typing import BinaryIO

from vecload.errors import ParseError

#: The least a compressed stream may always inflate to, whatever its ratio.
MIN_BOUND = 256 << 20
#: The most decompressed bytes per compressed byte read, past MIN_BOUND.
BOUND_RATIO = 100

DECOMPRESSORS = {
    "gzip": lambda raw: gzip.GzipFile(fileobj=raw, mode="rb"),
    "bz2": lambda raw: bz2.BZ2File(raw, mode="rb"),
    "xz": lambda raw: lzma.LZMAFile(raw, mode="rb"),
    "lzma": lambda raw: lzma.LZMAFile(raw, mode="rb", format=lzma.FORMAT_ALONE),
}
PIECE = 1 << 16


class _TooLarge(Exception):
    """A decompressed stream passed its bound: args are the bound, and the compressed bytes read or None
    (a ``max_bytes`` bound)."""


class Counted:
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


class GuardedStream(io.RawIOBase):
    """A decompressing stream that reports damage and bombs as a ParseError, and closes what lies beneath it."""

    def __init__(self, name: str, kind: str, stream: BinaryIO, underlying) -> None:
        self._name = name
        self._kind = kind
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
            piece = self._guard(self._stream.read, PIECE if wanted is None else min(wanted, PIECE))
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
            raise ParseError(self._name, _bomb_message(self._kind, *exc.args), offset=self._position) from None
        except (EOFError, OSError, zlib.error, lzma.LZMAError, zipfile.BadZipFile) as exc:
            raise ParseError(
                self._name,
                f"the {self._kind} stream is truncated or damaged ({exc}); download the file again",
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


def _bomb_message(kind: str, limit: int, consumed: int | None) -> str:
    """Why a stream that inflated past ``limit`` bytes was stopped, and how to read it anyway."""
    if consumed is None:
        why = "the max_bytes given"
    else:
        why = (f"from {consumed:,} compressed bytes; vecload's default bound is the larger of {MIN_BOUND >> 20} MiB "
               f"and {BOUND_RATIO} times the compressed bytes read, while real vector files compress 1-4 times")
    return (
        f"the {kind} stream inflates past {limit:,} bytes ({why}): a decompression bomb? If the file is "
        f"genuine, raise the bound with max_bytes= (CLI --max-bytes)"
    )
