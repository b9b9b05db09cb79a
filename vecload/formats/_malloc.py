"""Keep glibc from returning and re-faulting the parser's scratch memory block after block.

The text reader's number parsing allocates and frees temporaries of a few hundred KiB per batch. glibc
serves those with fresh ``mmap`` pages, or from a heap it trims after every block, unless long-lived
allocations happen to pin it. Either way, each block pays page faults for memory it just released. In a
filtered read (an alignment keeping 30k of 2M rows), which pins nothing, that cost a quarter of the
run time (measured: 2M x 300 rows, 81 s against 65 s).

:func:`settle` sets glibc's thresholds once per process: mmap only for blocks of 32 MiB and more (the
ceiling of glibc's own dynamic threshold), and keep up to 20 MiB free at the top of the heap, about what
one block of parsing frees (8 MiB was too little: the faults came back). The text reader calls it for
filtered reads only: an unfiltered read pins the heap with the rows it keeps,
and retaining free memory there would only raise its peak (measured: +11 MiB on 400k x 50). It does
nothing off glibc, or when ``VECLOAD_MALLOPT=0``. :func:`release` hands the retained memory back at the
end of such a read, so that what the caller does next (an alignment gathers its rows) does not stack
on top of it. :func:`settled` wraps a read in both.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 << 20
_TRIM_THRESHOLD = 20 << 20
_done = False
_trim = None


def settle() -> None:
    """Set glibc's mmap and trim thresholds once (see the module docstring)."""
    global _done, _trim
    if _done:
        return
    _done = True
    if not sys.platform.startswith("linux") or os.environ.get("VECLOAD_MALLOPT") == "0":
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    _trim = getattr(libc, "malloc_trim", None)


@contextmanager
def settled() -> Iterator[None]:
    """:func:`settle` for the duration of a read, then :func:`release` what the heap kept."""
    settle()
    try:
        yield
    finally:
        release()


def release() -> None:
    """Return the free memory :func:`settle` let the heap keep (``malloc_trim``); a no-op without it."""
    if _trim is not None:
        _trim(0)
