"""A table in another dtype or on another device, copied in chunks from a (memory-mapped) float32 table.

:class:`vecload.PretrainedEmbedding` builds its table with it, and ``vecload.load(..., dtype=, device=)``
can. A converted file's tensor is memory-mapped: casting it whole makes every page of it resident (a
float32 400k x 300 table is 458 MiB) on top of the bfloat16 copy (229 MiB). Copying ``chunk_bytes`` at a
time and handing each chunk's source pages back to the kernel (``madvise(MADV_PAGEOUT)``, only on
file-backed mappings, where it loses nothing: an unwritten page is read again from the file if touched)
keeps the cast at the target table plus one chunk. Measured in ``scripts/bench_training.py``: building a
bfloat16 400k x 300 PretrainedEmbedding adds 1.09 x the bf16 table to a process that loaded the file;
``.to(torch.bfloat16)`` of the mapped tensor adds 3.0 x.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys

import torch

from vecload.errors import ArgumentError

CHUNK_BYTES = 1 << 20  # source bytes per copy: small against any real table, large enough to stream
# linux/mman.h; MADV_PAGEOUT needs Linux 5.4 (older kernels answer EINVAL, which is harmless)
_MADV_NORMAL, _MADV_RANDOM, _MADV_WILLNEED, _MADV_PAGEOUT = 0, 1, 3, 21
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
    release = _file_backed(src)
    step = max(1, chunk_bytes // max(1, src[0].numel() * src.element_size()))
    if release:  # no kernel readahead past the chunk asked for (8 MiB on some disks): it would stay resident
        _madvise(src, _MADV_RANDOM)
    try:
        with torch.no_grad():
            for start in range(0, src.shape[0], step):
                part = src[start : start + step]
                if release:
                    _madvise(part, _MADV_WILLNEED)  # the chunk read in one go, as readahead would
                out[start : start + step].copy_(part)
                if release:
                    _madvise(part, _MADV_PAGEOUT)
    finally:
        if release:
            _madvise(src, _MADV_NORMAL)
    return out


def release_pages(tensor: torch.Tensor) -> None:
    """Hand the resident pages of a memory-mapped tensor back to the kernel (a no-op for any other tensor).

    For a few rows read from a mapped table (a sample): each read faults in a readahead window, so 2,000
    scattered rows of a 400k x 300 float32 file leave about 128 MiB of it resident.
    """
    if _file_backed(tensor):
        _madvise(tensor, _MADV_PAGEOUT)


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


def _madvise(part: torch.Tensor, advice: int) -> None:
    """``madvise`` over the pages of ``part`` (a hint: an error, such as an old kernel's EINVAL, is ignored)."""
    libc = _libc()
    if libc is None:
        return
    start = part.data_ptr() // _PAGE * _PAGE
    end = part.data_ptr() + part.numel() * part.element_size()
    libc.madvise(ctypes.c_void_p(start), ctypes.c_size_t(end - start), ctypes.c_int(advice))


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library, for ``madvise`` (looked up once: ``find_library`` runs ``ldconfig``); None where there is none."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name, use_errno=True) if name else None
    except OSError:
        return None
