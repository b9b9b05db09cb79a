"""A table in another dtype or on another device, copied in chunks from a (memory-mapped) float32 table.

:class:`vecload.PretrainedEmbedding` builds its table with it, and ``vecload.load(..., dtype=, device=)``
can. A converted file's tensor is memory-mapped: casting it whole makes every page of it resident (a
float32 400k x 300 table is 458 MiB) on top of the bfloat16 copy (229 MiB). When the tensor is a clean
file mapping (no page of it written in this process), the rows are read from the file with ``pread`` into
one reused ``chunk_bytes`` buffer: the file passes through the page cache once, in order, with the
kernel's readahead, and no page of the mapping becomes resident. Otherwise the mapping is read chunk by
chunk and each chunk's pages are handed back (``madvise(MADV_PAGEOUT)``). Measured in
``scripts/bench_training.py``: building a bfloat16 400k x 300 PretrainedEmbedding adds 1.19 x the bf16
table to a bare ``import torch, numpy, vecload`` process; ``.to(torch.bfloat16)`` of the mapped tensor
adds 3.0 x.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch

from vecload.errors import ArgumentError

CHUNK_BYTES = 1 << 20  # source bytes per copy: small against any real table, large enough to stream
_MADV_PAGEOUT = 21  # linux/mman.h; Linux 5.4 and later (older kernels answer EINVAL, which is harmless)
_PAGE = 4096


def cast_rows(
    src: torch.Tensor,
    *,
    dtype: torch.dtype | None = None,
    device: str | torch.device | None = None,
    out: torch.Tensor | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> torch.Tensor:
    """``src`` (2-D) as ``dtype`` on ``device``, copied chunk by chunk; ``src`` itself when nothing changes.

    Args:
        src: The table, usually the memory-mapped float32 tensor of a converted file.
        dtype: The target dtype (default: ``src``'s).
        device: The target device (default: ``src``'s); ``"meta"`` allocates nothing and copies nothing.
        out: Write into this tensor (of ``src``'s shape) instead of a new one.
        chunk_bytes: Source bytes per copy.

    Returns:
        The converted table (``out`` when given).

    Example:
        >>> half = cast_rows(vecload.load("glove.pth").vectors, dtype=torch.bfloat16, device="cuda")
    """
    dtype = src.dtype if dtype is None else dtype
    device = src.device if device is None else torch.device(device)
    if out is None:
        if dtype == src.dtype and device == src.device:
            return src
        out = torch.empty(src.shape, dtype=dtype, device=device)
    if src.device.type == "meta" and out.device.type != "meta":
        raise ArgumentError("a table on the meta device holds no values to copy to "
                            f"{out.device}; load it on a real device")
    if out.device.type == "meta" or src.numel() == 0:
        return out
    step = max(1, chunk_bytes // max(1, src[0].numel() * src.element_size()))
    with torch.no_grad(), _rows_reader(src, step) as read:
        for start in range(0, src.shape[0], step):
            out[start : start + step].copy_(read(start, min(step, src.shape[0] - start)))
    return out


def take_rows(src: torch.Tensor, rows: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``src[rows]`` (a few rows) copied into ``out`` (cast as ``copy_`` casts). From a file mapping they are
    read one by one (with ``pread`` when the mapping is clean), so that no readahead window of the mapping
    stays resident: 2,000 scattered rows of a 400k x 300 float32 file would leave about 128 MiB of it."""
    if not _file_backed(src):
        return out.copy_(src[rows.to(src.device)])
    with _rows_reader(src, 1) as read:
        for i, row in enumerate(rows.tolist()):
            out[i].copy_(read(row, 1)[0])
    return out


@contextmanager
def _rows_reader(src: torch.Tensor, step: int) -> Iterator[Callable[[int, int], torch.Tensor]]:
    """A function ``read(start, count)`` giving ``src[start : start + count]`` (``count <= step``): read from
    the file into one reused buffer when ``src`` is a clean file mapping, else from ``src``, handing the
    pages of each part read back to the kernel (file mappings only) once the next part is asked for."""
    opened = _open_clean(src)
    if opened is None:
        release, last = _file_backed(src), []

        def from_mapping(start: int, count: int) -> torch.Tensor:
            if release and last:
                _page_out(last.pop())
            last.append(src[start : start + count])
            return last[-1]

        yield from_mapping
        if release:
            _page_out(src)
        return
    fd, offset, path = opened
    row_bytes = src[0].numel() * src.element_size()
    buffer = torch.empty(step, *src.shape[1:], dtype=src.dtype)
    view = memoryview(buffer.numpy()).cast("B")
    try:
        def from_file(start: int, count: int) -> torch.Tensor:
            done, size = 0, count * row_bytes
            while done < size:
                got = os.preadv(fd, [view[done:size]], offset + start * row_bytes + done)
                if got <= 0:
                    raise OSError(f"{path}: ends before row {start + count} of its table (truncated while open)")
                done += got
            return buffer[:count]

        yield from_file
        _page_out(src)  # what the load's fingerprint check read through the mapping (the sampled rows)
    finally:
        os.close(fd)


def _open_clean(tensor: torch.Tensor) -> tuple[int, int, str] | None:
    """``(descriptor, byte offset, path)`` of the file that holds ``tensor``'s values, opened for reading, when
    it lies in a private file mapping of which no page was written in this process and the path still
    names the mapped file (``convert --force`` renames a new file over it); else None."""
    found = _clean_file_mapping(tensor)
    if found is None:
        return None
    path, offset, inode = found
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    if os.fstat(fd).st_ino != inode:
        os.close(fd)
        return None
    return fd, offset, path


def _clean_file_mapping(tensor: torch.Tensor) -> tuple[str, int, int] | None:
    """``(path, byte offset, inode)`` of a CPU tensor lying in a file mapping of which no page was copied on
    write (the file holds its values); else None."""
    if not sys.platform.startswith("linux") or tensor.device.type != "cpu" or not tensor.is_contiguous():
        return None
    start, size = tensor.data_ptr(), tensor.numel() * tensor.element_size()
    try:
        with open("/proc/self/smaps", encoding="utf-8", errors="surrogateescape") as smaps:
            found = None
            for line in smaps:
                fields = line.split(maxsplit=5)
                if found is None:
                    if "-" in fields[0] and ":" not in fields[0]:
                        low, high = (int(part, 16) for part in fields[0].split("-"))
                        if low <= start < high:
                            if start + size > high or len(fields) < 6 or not fields[5].startswith("/"):
                                return None
                            found = (fields[5].rstrip("\n"), int(fields[2], 16) + start - low, int(fields[4]))
                elif fields[0] == "Anonymous:":  # pages copied on write: the file no longer holds them
                    return found if int(fields[1]) == 0 else None
    except (OSError, ValueError, IndexError):
        return None
    return None


def _file_backed(tensor: torch.Tensor) -> bool:
    """Whether ``tensor`` lies in a contiguous file mapping of this process (Linux; False elsewhere)."""
    if not sys.platform.startswith("linux") or tensor.device.type != "cpu" or not tensor.is_contiguous():
        return False
    start = tensor.data_ptr()
    end = start + tensor.numel() * tensor.element_size()
    try:
        with open("/proc/self/maps", encoding="ascii", errors="replace") as maps:
            for line in maps:
                fields = line.split(maxsplit=5)
                low, high = (int(part, 16) for part in fields[0].split("-"))
                if low <= start < high:
                    return end <= high and len(fields) == 6 and fields[5].startswith("/")
    except OSError:
        return False
    return False


def _page_out(part: torch.Tensor) -> None:
    """Ask the kernel to drop the resident pages of a read chunk (file pages: read again if touched again)."""
    libc = _libc()
    if libc is None or not part.numel():
        return
    start = part.data_ptr() // _PAGE * _PAGE
    end = part.data_ptr() + part.numel() * part.element_size()
    libc.madvise(ctypes.c_void_p(start), ctypes.c_size_t(end - start), ctypes.c_int(_MADV_PAGEOUT))


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library, for ``madvise`` (looked up once: ``find_library`` runs ``ldconfig``); None if none."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name, use_errno=True) if name else None
    except OSError:
        return None
