"""Parsing numbers in batches on threads: the pool of one read and the arrays each thread reuses.

numpy releases the GIL inside its loops, so batches parse on two cores at once, provided each call is long
enough to outlast handing the GIL over (batches of 32k values: tens of microseconds a call; at 16k two
threads were no faster than one), and provided the batches' arrays are reused rather than allocated: the
parse threads' malloc arenas handed fresh temporaries back to the kernel after each batch and faulted them
in again (2.1 million page faults and 5.9 s of system time reading 569 MB). A thread's arrays take about
135 bytes a value (4.4 MiB); larger batches and 4 MiB blocks were a little faster on 300-wide rows but
took an alignment's peak past its budget (see README, Performance).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np


def default_threads() -> int:
    """Threads that parse batches of numbers (results never depend on it): ``VECLOAD_THREADS`` if it is a
    positive integer (anything else is ignored), else up to 2. Read at each call, not at import."""
    value = os.environ.get("VECLOAD_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else min(2, os.cpu_count() or 1)


@contextmanager
def parse_pool(threads: int | None = None) -> Iterator[Executor | None]:
    """A thread pool for one read, shut down (its threads joined) when the read ends; None for one thread.

    The pool lives only as long as the read: a module-level pool would outlive it, and a process that
    forks afterwards (``multiprocessing`` with fork, DataLoader workers) would hang on the copy.

    Args:
        threads: How many threads (None: :func:`default_threads`).
    """
    count = default_threads() if threads is None else threads
    if count <= 1:
        yield None
        return
    pool = ThreadPoolExecutor(max_workers=count, thread_name_prefix="vecload-parse")
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_batches(run: Callable[[int], None], batches: range, pool: Executor | None) -> None:
    """Call ``run`` on every batch, on the pool's threads when there are enough batches; numpy releases
    the GIL inside its loops, so batches run on several cores at once."""
    if pool is not None and len(batches) >= 2:
        list(pool.map(run, batches))
    else:
        for i in batches:
            run(i)


class Scratch:
    """The arrays one thread parses a batch in (see :mod:`vecload.formats.numbers`), reused batch after
    batch: every step writes into them with ``out=``."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.lo, self.hi, self.dot_lo, self.dot_hi, self.t, self.t2 = (np.empty(size, np.uint64) for _ in range(6))
        self.starts, self.ends, self.lengths, self.pad, self.k, self.at = (np.empty(size, np.int64) for _ in range(6))
        self.negative, self.fits, self.fast, self.flag = (np.empty(size, np.bool_) for _ in range(4))
        self.values, self.w, self.scale = (np.empty(size, np.float64) for _ in range(3))
        self.c1, self.c2, self.c3 = (np.empty(size, np.uint8) for _ in range(3))


class Scratches(threading.local):
    """One :class:`Scratch` per thread, for one read (dropped with it)."""

    def get(self, size: int) -> Scratch:
        scratch: Scratch | None = getattr(self, "scratch", None)
        if scratch is None or scratch.size < size:
            scratch = self.scratch = Scratch(size)
        return scratch
