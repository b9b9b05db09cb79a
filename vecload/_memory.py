"""Private anonymous mappings of our own, for tables and large working arrays, kept out of ``malloc``'s heap."""

from __future__ import annotations

import mmap

import numpy as np

#: Arrays from this size get a mapping of their own.
OWN_FROM = 1 << 20


def mapping(nbytes: int, populate: bool = False, reserve: bool = True) -> mmap.mmap | None:
    """A private anonymous mapping of ``nbytes`` (zeros until written), unmapped when the last array using it
    goes; None where the platform has none. ``populate`` maps every page at once (``MAP_POPULATE``);
    ``reserve=False`` reserves no swap for it (``MAP_NORESERVE``). Private: a process forked meanwhile gets a
    copy, as of any other memory (``mmap``'s default is shared)."""
    if not hasattr(mmap, "MAP_PRIVATE"):
        return None
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | (getattr(mmap, "MAP_POPULATE", 0) if populate else 0)
    flags |= 0 if reserve else getattr(mmap, "MAP_NORESERVE", 0)
    return mmap.mmap(-1, nbytes, flags=flags)


def own_array(count: int, dtype: np.dtype | type) -> np.ndarray:
    """A zeroed 1-D array; from :data:`OWN_FROM` bytes in a :func:`mapping` of its own.

    A block that ``malloc`` mapped and then freed raises glibc's threshold for mapping large blocks to its
    size, after which every block below it (a reader's buffers too) comes from the heap, which keeps up to
    twice that much freed: with the threshold held fixed, a glove.840B-shaped conversion peaked 36 MiB
    lower, and these mappings, for the duplicate check's arrays (17.6 MB of hashes for 2.2M tokens), took
    23 MiB off its peak. Changing ``malloc``'s settings instead would change them for the whole process,
    which a library must not do.
    """
    nbytes = count * np.dtype(dtype).itemsize
    memory = mapping(nbytes) if nbytes >= OWN_FROM else None
    return np.zeros(count, dtype=dtype) if memory is None else np.frombuffer(memory, dtype=dtype)
