"""Large writes that go to the disk directly (``O_DIRECT``), past the page cache.

A large table written through the page cache first needs as much fresh memory again for its cached copy,
beside the table itself, and evicts what else was cached (the source being converted, often). On the
2-core virtual machines the speed issue was measured on, memory a process touches for the first time is
slow (about 2.3 s a GB, the host backing it), and the first 2.6 GB written through the page cache after
reading glove.840B took 6.8 s plus 0.7 s of fsync; the same bytes written directly took 1.4-2.2 s. A table
written directly is not in the page cache afterwards, so loading it right away reads the disk (a 480 MB
table: 0.35 s against 0.11 s): worth it only for the largest tables. So the values of a table of
:data:`DIRECT_BYTES` or more are written directly: each large write's whole pages go through one reused,
page-aligned buffer with ``O_DIRECT`` set on the descriptor for that write only, and its unaligned ends
through the file as usual. A file system that refuses ``O_DIRECT`` (older tmpfs, some network file
systems), a platform without ``fcntl`` and a file object that is not a plain file (``io.BytesIO``, a
wrapper) get ordinary writes; the bytes in the file are the same either way.
"""

from __future__ import annotations

import errno
import io
import os
from typing import Any, BinaryIO

from vecload._memory import mapping

try:
    import fcntl
except ImportError:  # no fcntl (Windows): ordinary writes
    fcntl = None  # type: ignore[assignment]

#: Tables this large (bytes of values) are written directly.
DIRECT_BYTES = 1 << 30
#: Writes at least this long go directly; the size of the aligned buffer.
PIECE = 1 << 24
_ALIGN = 4096  # a multiple of every logical block size O_DIRECT asks for


class DirectWrites:
    """A binary file (from ``open`` or ``os.fdopen``) whose writes of :data:`PIECE` bytes or more go to the
    disk directly; everything else is passed to the file. :meth:`close` (or leaving the ``with`` block) releases
    the buffer, not the file."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self._buffer: Any = None  # the aligned buffer, mapped at the first direct write
        self._direct = fcntl is not None and hasattr(os, "O_DIRECT")

    @staticmethod
    def suits(fh: Any) -> bool:
        """Whether ``fh`` is a file on a descriptor, written through as it is (not an in-memory file, nor a
        wrapper whose ``write`` does more than write): only those are worth, and safe, writing around."""
        if not isinstance(fh, (io.BufferedRandom, io.BufferedWriter, io.FileIO)):
            return False
        try:
            return fh.fileno() >= 0 and fh.seekable()
        except (OSError, ValueError):
            return False

    def __enter__(self) -> DirectWrites:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        if not self._direct or len(view) < PIECE:
            return self._fh.write(view)
        self._fh.flush()
        fd = self._fh.fileno()
        start = self._fh.tell()
        head = -start % _ALIGN
        body = (len(view) - head) // _ALIGN * _ALIGN
        _pwrite_all(fd, view[:head], start)
        done = head + self._write_direct(fd, view[head : head + body], start + head)
        _pwrite_all(fd, view[done:], start + done)
        self._fh.seek(start + len(view))
        return len(view)

    def close(self) -> None:
        if self._buffer is not None:
            self._buffer.close()
            self._buffer = None

    def _write_direct(self, fd: int, view: memoryview, offset: int) -> int:
        """Write whole pages of ``view`` at ``offset`` (aligned) with O_DIRECT; return how many bytes were
        written that way (the caller writes the rest as usual: all of it when O_DIRECT is refused). The flag
        is set only inside the ``try`` whose ``finally`` restores the descriptor's flags."""
        if self._buffer is None:
            self._buffer = mapping(PIECE)  # anonymous, so page-aligned
            if self._buffer is None:
                self._direct = False
                return 0
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        buffer = memoryview(self._buffer)
        done = 0
        try:
            try:
                fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_DIRECT)
            except OSError:
                self._direct = False
                return 0
            while done < len(view):
                size = min(PIECE, len(view) - done)
                buffer[:size] = view[done : done + size]
                try:
                    written = os.pwrite(fd, buffer[:size], offset + done)
                except OSError as exc:
                    if exc.errno != errno.EINVAL:
                        raise
                    self._direct = False  # the file system took the flag but not the write
                    break
                done += written
                if written != size:  # a short write: the rest goes as usual
                    break
        finally:
            buffer.release()
            fcntl.fcntl(fd, fcntl.F_SETFL, flags)
        return done


def _pwrite_all(fd: int, view: memoryview, offset: int) -> None:
    while len(view):
        written = os.pwrite(fd, view, offset)
        if written == 0:
            raise OSError(errno.EIO, "the file took no more bytes")
        view, offset = view[written:], offset + written
