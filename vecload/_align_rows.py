"""Row-level work of an alignment: the releasing gather, the OOV initialisation and the row statistics."""

from __future__ import annotations

from typing import Any

import numpy as np

from vecload.errors import Option, VecloadError, Wording

#: Rows the statistics accumulator converts to float64 at a time.
_STATS_BLOCK = 512
#: OOV rows drawn at a time.
_INIT_BLOCK = 1024
#: Rows of the read table released at a time while gathering.
_GATHER_BLOCK = 1024


def gather_releasing(buf: np.ndarray, dest: np.ndarray, source_index: np.ndarray, n: int) -> np.ndarray:
    """A new ``[n, dim]`` array with ``out[dest[i]] = buf[source_index[i]]``, releasing ``buf`` as it goes.

    The rows used are first moved inside ``buf`` into the order of their (first) destination, then copied
    to ``out`` from the end a block at a time, ``buf`` shrinking after each block (a shrinking resize
    returns the memory). Both sides are walked in order, so the pages written and freed stay balanced and
    the peak stays near the larger table, not the sum. ``buf`` must own its memory and have no views; it
    is left with no rows. Rows of ``out`` not in ``dest`` are left uninitialised.
    """
    dim = buf.shape[1]
    order = np.argsort(dest, kind="stable")
    dest_sorted, src_sorted = dest[order], source_index[order]
    _, first = np.unique(src_sorted, return_index=True)
    first.sort()  # the first destination of each source row used, in destination order
    primary_src, primary_dest = src_sorted[first], dest_sorted[first]
    _move_rows(buf, primary_src.tolist())
    buf.resize((len(first), dim), refcheck=False)
    out = np.empty((n, dim), dtype=np.float32)
    end = len(first)
    while end > 0:
        start = max(0, end - _GATHER_BLOCK)
        out[primary_dest[start:end]] = buf[start:end]
        buf.resize((start, dim), refcheck=False)
        end = start
    if len(first) < len(dest):
        # destinations that share a source row copy it from that row's first destination
        where = {s: d for s, d in zip(primary_src.tolist(), primary_dest.tolist())}
        repeats = np.setdiff1d(np.arange(len(dest)), first, assume_unique=True)
        out[dest_sorted[repeats]] = out[[where[s] for s in src_sorted[repeats].tolist()]]
    return out


def _move_rows(buf: np.ndarray, sources: list[int]) -> None:
    """Move row ``sources[k]`` to row ``k`` for every k, in place (one spare row), following chains and cycles."""
    target = {s: k for k, s in enumerate(sources)}
    done: set[int] = set()
    for start in sources:
        if start in done:
            continue
        chain = [start]
        cur = target[start]
        while cur in target and cur not in done and cur != start:
            chain.append(cur)
            cur = target[cur]
        if cur == start:
            if len(chain) > 1:
                saved = buf[chain[-1]].copy()
                for i in range(len(chain) - 1, 0, -1):
                    buf[chain[i]] = buf[chain[i - 1]]
                buf[start] = saved
        else:
            buf[cur] = buf[chain[-1]]
            for i in range(len(chain) - 1, 0, -1):
                buf[chain[i]] = buf[chain[i - 1]]
        done.update(chain)


def initialise(rows: np.ndarray, init_rows: list[int], oov: str, seed: int, stats: RowStats | None) -> dict[str, Any]:
    """Fill the rows without a pretrained vector; returns what was done, for the metadata."""
    record: dict[str, Any] = {"method": oov, "seed": seed if oov in ("normal", "uniform") else None}
    dim = rows.shape[1]
    if oov == "zeros":
        rows[init_rows] = 0.0
        return record
    assert stats is not None
    mean, std = stats.mean_std(dim)
    record.update(stats_rows=stats.count, stats_skipped=stats.skipped, mean=mean.tolist(), std=std.tolist())
    if oov == "mean":
        rows[init_rows] = mean.astype(np.float32)
        return record
    rng = np.random.default_rng(seed)
    scale = std if oov == "normal" else np.sqrt(3.0) * std
    # A block of rows at a time: the generator's stream does not depend on how a request is split, so
    # this gives the same values as one call, without float64 temporaries the size of every OOV row
    # (30,000 OOV rows of 300 values took 130 MiB more at the peak).
    for start in range(0, len(init_rows), _INIT_BLOCK):
        count = min(_INIT_BLOCK, len(init_rows) - start)
        if oov == "normal":
            draws = rng.standard_normal((count, dim))
        else:
            draws = rng.uniform(-1.0, 1.0, (count, dim))
        draws *= scale
        draws += mean  # mean + scale * draw, as float64, then rounded once
        rows[init_rows[start : start + count]] = draws
    return record


class RowStats:
    """Per-dimension mean and (population) standard deviation of every finite row, accumulated chunk by
    chunk: float64 sums of the rows and of their squares, added row after row in file order."""

    def __init__(self) -> None:
        self.count = 0
        self.skipped = 0
        self._sum: np.ndarray | None = None
        self._sumsq: np.ndarray | None = None

    def add(self, rows: np.ndarray) -> None:
        """Accumulate a chunk ``[n, dim]`` (rows with NaN or Inf are skipped and counted)."""
        if self._sum is None:
            self._sum = np.zeros(rows.shape[1], dtype=np.float64)
            self._sumsq = np.zeros(rows.shape[1], dtype=np.float64)
        buf = np.empty((min(len(rows), _STATS_BLOCK) + 1, rows.shape[1]), dtype=np.float64)
        for start in range(0, len(rows), _STATS_BLOCK):
            block = rows[start : start + _STATS_BLOCK]
            total = self._sum_block(buf, block, self._sum)
            if not np.isfinite(total).all():
                # float32 values cannot overflow a float64 sum, so only NaN or Inf rows get here
                finite = np.isfinite(block).all(axis=1)
                self.skipped += int((~finite).sum())
                block = block[finite]
                total = self._sum_block(buf, block, self._sum)
            self._sum = total
            np.square(buf[1 : len(block) + 1], out=buf[1 : len(block) + 1])
            buf[0] = self._sumsq
            self._sumsq = buf[: len(block) + 1].sum(axis=0)
            self.count += len(block)

    @staticmethod
    def _sum_block(buf: np.ndarray, block: np.ndarray, running: np.ndarray) -> np.ndarray:
        """``running`` plus the rows of ``block``, added one after another (left in ``buf[1:]`` as float64)."""
        # the running sum heads the block: numpy reduces axis 0 row after row, so the result is the
        # sequential sum in file order whatever the chunking
        buf[0] = running
        buf[1 : len(block) + 1] = block
        return buf[: len(block) + 1].sum(axis=0)

    def mean_std(self, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, std)`` as float64 arrays ``[dim]``: ``sum / n`` and ``sqrt(max(sumsq / n - mean**2, 0))``.

        Raises:
            VecloadError: No finite row was seen.
        """
        if not self.count or self._sum is None or self._sumsq is None:
            raise VecloadError("the source gave no finite rows to take the OOV statistics from",
                               fix=Wording("use {}", Option("oov", "zeros")))
        assert self._sum.shape == (dim,)
        mean = self._sum / self.count
        std = np.sqrt(np.maximum(self._sumsq / self.count - mean * mean, 0.0))
        return mean, std
