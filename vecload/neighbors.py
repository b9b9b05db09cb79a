"""Cosine neighbours on a float tensor, in blocks, with gensim's ``most_similar`` semantics.

Pure torch functions on a ``[count, dim]`` tensor and row indices: the table is scored a block of rows at
a time, so no normalised copy of the whole table is ever held (a 400,000 x 300 table needs a block's
worth of extra memory, not 480 MB). :class:`vecload.Vectors` maps tokens to rows and calls these.

Example:
    >>> most_similar(table, [12], [], topn=3)  # [(row, cosine), ...], row 12 itself left out
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

#: Rows scored at once.
BLOCK = 65_536


def most_similar(
    table: torch.Tensor,
    positive: Sequence[int],
    negative: Sequence[int] = (),
    topn: int = 10,
    *,
    block: int = BLOCK,
) -> list[tuple[int, float]]:
    """The ``topn`` rows nearest (by cosine) to the mean of the query rows' unit vectors, as gensim does.

    The query is the mean of the unit vectors of ``positive`` rows minus those of ``negative`` rows
    (weights +1 and -1, divided by the number of rows), normalised; the query rows are left out of the
    answer. Rows of norm zero score nothing (they are never neighbours).

    Args:
        table: ``[count, dim]`` floats.
        positive: Rows that pull the query towards them.
        negative: Rows that push it away.
        topn: How many neighbours.
        block: Rows scored at once.

    Returns:
        ``(row, cosine)`` pairs, the most similar first.
    """
    rows = [*positive, *negative]
    if not rows:
        raise ValueError("give at least one positive or negative row")
    if topn < 1:
        return []
    weights = torch.tensor([1.0] * len(positive) + [-1.0] * len(negative), dtype=table.dtype)
    units = _unit(table[rows])
    query = _unit((weights[:, None] * units).sum(0) / len(rows))
    scores, found = _top(table, query, topn + len(set(rows)), block)
    skip = set(rows)
    return [(row, score) for row, score in zip(found, scores) if row not in skip and score != float("-inf")][:topn]


def similarity(table: torch.Tensor, a: int, b: int) -> float:
    """The cosine of rows ``a`` and ``b`` (as gensim's ``similarity``: the dot product of unit vectors)."""
    pair = _unit(table[[a, b]])
    return float(pair[0] @ pair[1])


def cosines(table: torch.Tensor, query: torch.Tensor, *, block: int = BLOCK) -> torch.Tensor:
    """The cosine of every row with ``query`` (NaN for rows of norm zero), computed a block at a time."""
    unit = _unit(query)
    out = torch.empty(len(table), dtype=table.dtype)
    for start in range(0, len(table), block):
        part = table[start:start + block]
        out[start:start + block] = (part @ unit) / torch.linalg.vector_norm(part, dim=1)
    return out


def _top(table: torch.Tensor, query: torch.Tensor, k: int, block: int) -> tuple[list[float], list[int]]:
    """The ``k`` best cosines with a unit ``query`` and their rows, keeping only the best ``k`` per block."""
    best_scores = torch.empty(0, dtype=table.dtype)
    best_rows = torch.empty(0, dtype=torch.long)
    for start in range(0, len(table), block):
        part = table[start:start + block]
        scores = (part @ query) / torch.linalg.vector_norm(part, dim=1)
        scores = torch.nan_to_num(scores, nan=-torch.inf)  # rows of norm zero: 0 / 0
        scores = torch.cat([best_scores, scores])
        rows = torch.cat([best_rows, torch.arange(start, start + len(part))])
        keep = torch.topk(scores, min(k, len(scores))).indices
        best_scores, best_rows = scores[keep], rows[keep]
    order = torch.argsort(best_scores, descending=True, stable=True)
    return best_scores[order].tolist(), best_rows[order].tolist()


def _unit(x: torch.Tensor) -> torch.Tensor:
    """``x`` (a vector, or rows) divided by its L2 norm."""
    return x / torch.linalg.vector_norm(x, dim=-1, keepdim=True)
