"""Rows the source lacks: the OOV methods (one entry each in :data:`OOV_METHODS`) and the row statistics.

Every row without a pretrained vector (the task's OOV tokens, and the specials other than the pad) is
filled by the alignment's ``oov`` method, all in one request, in row order (specials first):

- ``zeros``: zero rows;
- ``mean``: the per-dimension mean of the pretrained rows;
- ``normal``: per dimension, ``mean + std * N(0, 1)``;
- ``uniform``: per dimension, uniform on ``mean ± sqrt(3) * std`` (the same mean and variance);
- ``subword``: for a fastText ``.bin`` source, the vector fastText builds from the token's character
  n-grams (equal to gensim's ``kv[token]``); tokens with no known n-gram, and the specials, are filled by
  the ``oov_fallback`` method. The coverage report counts these rows as ``subword``.

The statistics (:class:`RowStats`) cover every finite row the source gives (after ``limit``), summed in
float64 in file order; random rows come from ``numpy.random.default_rng(seed)``, drawn in row order,
computed in float64 and rounded to float32 once.

Adding a method is one entry in :data:`OOV_METHODS`: an :class:`OovMethod` whose ``fill`` takes an
:class:`OovRequest` (the tokens of the rows to fill, the width, the generator, the statistics when the
method asked for them, and the alignment's :class:`~vecload.alignment.options.RowOptions`) and returns
:class:`OovRows`: the float32 rows and, per row, its origin (``"oov"``, or a label of the method's own
such as ``"subword"``, which the coverage report then counts separately). A method can fall back on
another for the tokens it cannot build: ``OOV_METHODS["normal"].fill(dataclasses.replace(request,
tokens=rest))``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from vecload.errors import ArgumentError, Option, VecloadError, Wording

if TYPE_CHECKING:
    from vecload.alignment.options import RowOptions

#: Rows the statistics accumulator converts to float64 at a time.
_STATS_BLOCK = 512
#: Random rows drawn at a time: the generator's stream does not depend on how a request is split, so
#: this gives the values of one call without float64 temporaries the size of every OOV row (30,000 OOV
#: rows of 300 values took 130 MiB more at the peak in one call).
_DRAW_BLOCK = 1024


@dataclass
class OovRequest:
    """What an OOV method is asked to fill.

    Attributes:
        tokens: The tokens of the rows to fill, in row order (the specials other than the pad first, then
            the task's OOV tokens).
        specials: How many of ``tokens`` (the first) are specials; their origin stays ``"special"``.
        dim: The width of a row.
        rng: ``numpy.random.default_rng(seed)``, for the draws in row order.
        stats: The pretrained rows' statistics when the method has ``uses_stats``, else None.
        options: The alignment's row options (where a method's own settings live).
        model: The source's fastText model (``subword`` builds rows from it), or None.
    """

    tokens: list[str]
    specials: int
    dim: int
    rng: np.random.Generator
    stats: RowStats | None
    options: RowOptions
    model: Any = None


@dataclass
class OovRows:
    """An OOV method's answer.

    Attributes:
        rows: float32 ``[len(request.tokens), dim]``.
        origins: Per row, its origin (``"oov"``, or the method's own label); None: every row ``"oov"``.
            The specials' entries are ignored (they stay ``"special"``).
        record: What to store in ``meta["align"]["oov_init"]`` after the method and the seed.
    """

    rows: np.ndarray
    origins: list[str] | None = None
    record: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OovMethod:
    """One way to fill the rows a source lacks.

    Attributes:
        fill: Builds the rows of a request.
        uses_stats: The reader accumulates :class:`RowStats` over every row for it (``request.stats``).
        seeded: It draws from ``request.rng``, so the seed is recorded (None is recorded otherwise).
    """

    fill: Callable[[OovRequest], OovRows]
    uses_stats: bool = False
    seeded: bool = False


def fill_oov(method_name: str, request: OovRequest) -> tuple[np.ndarray, list[str], dict[str, Any]]:
    """Run an OOV method: its rows, each row's origin and the record for the metadata.

    Raises:
        VecloadError: The method returned rows of the wrong shape or type.

    Example:
        >>> request = OovRequest(["<unk>", "zzz"], 1, 3, np.random.default_rng(0), None, RowOptions(oov="zeros"))
        >>> rows, origins, record = fill_oov("zeros", request)
        >>> rows.tolist(), origins, record
        ([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], ['special', 'oov'], {'method': 'zeros', 'seed': None})
    """
    method = OOV_METHODS[method_name]
    answer = method.fill(request)
    rows = answer.rows
    count = len(request.tokens)
    if rows.dtype != np.float32 or rows.shape != (count, request.dim):
        raise VecloadError(f"OOV method {method_name!r} returned {rows.dtype} {rows.shape}, "
                           f"expected float32 {(count, request.dim)}")
    origins = ["special"] * request.specials + (answer.origins or ["oov"] * count)[request.specials :]
    record = {"method": method_name, "seed": request.options.seed if method.seeded else None, **answer.record}
    return rows, origins, record


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


def _zeros(request: OovRequest) -> OovRows:
    return OovRows(np.zeros((len(request.tokens), request.dim), dtype=np.float32))


def _mean(request: OovRequest) -> OovRows:
    mean, _, record = _statistics(request)
    return OovRows(np.tile(mean.astype(np.float32), (len(request.tokens), 1)), record=record)


def _normal(request: OovRequest) -> OovRows:
    mean, std, record = _statistics(request)
    return OovRows(_draw(request, mean, std, lambda rng, shape: rng.standard_normal(shape)), record=record)


def _uniform(request: OovRequest) -> OovRows:
    mean, std, record = _statistics(request)
    draw = _draw(request, mean, np.sqrt(3.0) * std, lambda rng, shape: rng.uniform(-1.0, 1.0, shape))
    return OovRows(draw, record=record)


def _subword(request: OovRequest) -> OovRows:
    """fastText's n-gram vector for each OOV token; the specials and tokens with no known n-gram go to
    the fallback method (in row order, so its draws are those it would make for those rows alone)."""
    from vecload.formats.ngrams import subword_rows

    if request.model is None:
        raise ArgumentError("oov='subword' builds rows from a fastText model: the source must be a fastText .bin "
                            "file", fix=Wording("or choose another method, e.g. {}", Option("oov", "normal")))
    out = np.empty((len(request.tokens), request.dim), dtype=np.float32)
    built, found = subword_rows(request.model, request.tokens[request.specials :])
    found = np.concatenate([np.zeros(request.specials, dtype=bool), found])
    out[request.specials :] = built
    rest = np.flatnonzero(~found)
    fallback = request.options.oov_fallback
    answer = OOV_METHODS[fallback].fill(replace(request, tokens=[request.tokens[i] for i in rest.tolist()]))
    out[rest] = answer.rows
    origins = np.where(found, "subword", "oov").tolist()
    return OovRows(out, origins, {"fallback": fallback, "subword_rows": int(found.sum()), **answer.record})


#: The OOV methods by name (the CLI's ``--oov`` choices); add one here.
OOV_METHODS: dict[str, OovMethod] = {
    "zeros": OovMethod(_zeros),
    "mean": OovMethod(_mean, uses_stats=True),
    "normal": OovMethod(_normal, uses_stats=True, seeded=True),
    "uniform": OovMethod(_uniform, uses_stats=True, seeded=True),
    "subword": OovMethod(_subword, uses_stats=True, seeded=True),
}
#: The methods ``subword`` can fall back on.
FALLBACKS = ("zeros", "mean", "normal", "uniform")


def _statistics(request: OovRequest) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The pretrained mean and std, and their record for the metadata."""
    assert request.stats is not None, "an OOV method that reads the statistics needs uses_stats=True"
    mean, std = request.stats.mean_std(request.dim)
    record = {"stats_rows": request.stats.count, "stats_skipped": request.stats.skipped,
              "mean": mean.tolist(), "std": std.tolist()}
    return mean, std, record


def _draw(request: OovRequest, mean: np.ndarray, scale: np.ndarray,
          sample: Callable[[np.random.Generator, tuple[int, int]], np.ndarray]) -> np.ndarray:
    """float32(mean + scale * draw) for every row, drawn a block of rows at a time in row order."""
    out = np.empty((len(request.tokens), request.dim), dtype=np.float32)
    for start in range(0, len(out), _DRAW_BLOCK):
        draws = sample(request.rng, (min(_DRAW_BLOCK, len(out) - start), request.dim))
        draws *= scale
        draws += mean  # as float64, then rounded once
        out[start : start + len(draws)] = draws
    return out
