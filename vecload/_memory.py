"""Large working arrays in anonymous mappings of their own, kept out of ``malloc``'s heap."""

from __future__ import annotations

import mmap

import numpy as np

#: Arrays from this size get a mapping of their own.
OWN_FROM = 1 << 20


def own_array(count: int, dtype: np.dtype | type) -> np.ndarray:
    """A zeroed 1-D array; from :data:`OWN_FROM` bytes in an anonymous mapping of its own, unmapped when the
    last array using it goes.

    A block that ``malloc`` mapped and then freed raises glibc's threshold for mapping large blocks to its
    size, after which every block below it (a reader's buffers too) comes from the heap, which keeps up to
    twice that much freed: with the threshold held fixed, a glove.840B-shaped conversion peaked 36 MiB
    lower, and these mappings, for the duplicate check's arrays (17.6 MB of hashes for 2.2M tokens), took
    23 MiB off its peak. Changing ``malloc``'s settings instead would change them for the whole process,
    which a library must not do.
    """
    nbytes = count * np.dtype(dtype).itemsize
    if nbytes < OWN_FROM or not hasattr(mmap, "MAP_PRIVATE"):
        return np.zeros(count, dtype=dtype)
    # private: a process forked meanwhile gets a copy, as of any other memory (mmap's default is shared)
    memory = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    return np.frombuffer(memory, dtype=dtype)
