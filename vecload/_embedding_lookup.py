"""The lookups of :class:`vecload.PretrainedEmbedding`: eager (one gather, a custom backward) and compiled.

Both read the same two tensors: ``table`` (every row, in the index space's order) and ``extra`` (the
trainable rows), tied by ``slot`` (per row of ``table``: its row in ``extra``, or ``len(extra)`` for a row
that is not trained: a frozen row, or the padding row; int32 below 2**31 rows, widened per batch).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F


def lookup_eager(indices: torch.Tensor, table: torch.Tensor, extra: torch.Tensor, slot: torch.Tensor,
                 options: tuple[int, bool, bool]) -> torch.Tensor:
    """One gather from ``table`` (whose trainable rows are current); gradients routed by ``slot``.

    ``options`` is ``(padding_idx or -1, scale_grad_by_freq, sparse)``.
    """
    if torch.is_grad_enabled() and (extra.requires_grad or table.requires_grad):
        return _Lookup.apply(indices, table, extra, slot, options)
    return F.embedding(indices, table)


def lookup_compiled(indices: torch.Tensor, table: torch.Tensor, extra: torch.Tensor, slot: torch.Tensor,
                    options: tuple[int, bool, bool]) -> torch.Tensor:
    """The same lookup from two gathers and a select, which ``torch.compile`` traces into one kernel.

    The gather from ``table`` comes first, so an index out of range raises as in eager mode. Dense gradients
    only: a sparse one could not leave out the rows a batch does not read (the module runs its eager
    lookup outside the graph for ``sparse=True``).
    """
    padding_idx, by_freq, _ = options
    out = F.embedding(indices, table, padding_idx=None if padding_idx < 0 else padding_idx,
                      scale_grad_by_freq=by_freq)
    count = extra.shape[0]
    if count == 0:
        return out
    slots = slot[indices].long()
    # one zero row more, as padding: rows that are not trained read it and give it no gradient
    padded = torch.cat([extra, extra.new_zeros(1, extra.shape[1])])
    rows = F.embedding(slots, padded, padding_idx=count, scale_grad_by_freq=by_freq)
    return torch.where((slots < count).unsqueeze(-1), rows, out)


def renorm_(indices: torch.Tensor, table: torch.Tensor, extra: torch.Tensor, slot: torch.Tensor, max_norm: float,
            norm_type: float) -> torch.Tensor:
    """Renormalise in place the looked-up rows that train, as ``nn.Embedding`` does with ``max_norm``.

    Those are the rows of ``extra`` (when it is trainable) and, when ``table`` is a trainable parameter,
    its other rows; a frozen row is never written. Returns where ``indices`` point at such a row.
    """
    count = extra.shape[0]
    if not indices.numel():  # an empty batch renormalises nothing (reductions over no rows fail)
        return torch.zeros(indices.shape, dtype=torch.bool, device=indices.device)
    with torch.no_grad():
        slots = slot[indices].long()
        in_extra = slots < count
        trains = in_extra & extra.requires_grad
        if count and extra.requires_grad:
            _renorm_rows(extra, slots.reshape(-1), in_extra.reshape(-1), max_norm, norm_type)
        if table.requires_grad:
            _renorm_rows(table, indices.reshape(-1), ~in_extra.reshape(-1), max_norm, norm_type)
            trains = torch.ones_like(in_extra)
    return trains


def _renorm_rows(weight: torch.Tensor, rows: torch.Tensor, keep: torch.Tensor, max_norm: float,
                 norm_type: float) -> None:
    """Scale ``weight[rows[keep]]`` down to ``max_norm`` where longer, in place, with fixed shapes (traceable).

    Positions not kept point at a kept row (or, when none is kept, write a row back unchanged); every
    write to one row carries the same value, so repeated rows are harmless.
    """
    fallback = torch.where(keep, rows, weight.shape[0]).min().clamp(max=weight.shape[0] - 1)
    target = torch.where(keep, rows, fallback)
    values = weight[target]
    norms = torch.linalg.vector_norm(values, ord=norm_type, dim=-1, keepdim=True)
    scale = torch.where((norms > max_norm) & keep.any(), max_norm / (norms + 1e-7), torch.ones_like(norms))
    weight.index_put_((target,), values * scale)


def clip(out: torch.Tensor, max_norm: float, norm_type: float, skip: torch.Tensor) -> torch.Tensor:
    """Scale output rows whose norm exceeds ``max_norm`` down to it (``torch.embedding_renorm_``'s factor),
    except where ``skip`` (rows already renormalised in place, whose gradient must stay unscaled)."""
    norms = torch.linalg.vector_norm(out.detach(), ord=norm_type, dim=-1, keepdim=True)
    longer = (norms > max_norm) & ~skip.unsqueeze(-1)
    scale = torch.where(longer, max_norm / (norms + 1e-7), torch.ones_like(norms))
    return out * scale


class _Lookup(torch.autograd.Function):
    """One gather from ``table``; gradients go to the trainable rows (``extra``, and ``table`` if trainable)."""

    @staticmethod
    def forward(ctx: Any, indices: torch.Tensor, table: torch.Tensor, extra: torch.Tensor, slot: torch.Tensor,
                options: tuple[int, bool, bool]) -> torch.Tensor:
        ctx.save_for_backward(indices, slot)
        ctx.options = options
        ctx.sizes = (table.shape[0], extra.shape[0])
        return F.embedding(indices, table)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
        indices, slot = ctx.saved_tensors
        padding_idx, by_freq, sparse = ctx.options
        table_rows, extra_rows = ctx.sizes
        flat, grad = indices.reshape(-1), grad.reshape(-1, grad.shape[-1])
        if by_freq:  # as nn.Embedding: each row's gradient divided by how often it occurs in the batch
            _, inverse, counts = torch.unique(flat, return_inverse=True, return_counts=True)
            grad = grad / counts[inverse].unsqueeze(1).to(grad.dtype)
        slots = slot[flat].long()
        grad_table = grad_extra = None
        if ctx.needs_input_grad[2]:
            grad_extra = _scatter(grad, slots, slots < extra_rows, extra_rows, sparse)
        if ctx.needs_input_grad[1]:
            grad_table = _scatter(grad, flat, (slots == extra_rows) & (flat != padding_idx), table_rows, sparse)
        return None, grad_table, grad_extra, None, None


def _scatter(grad: torch.Tensor, rows: torch.Tensor, keep: torch.Tensor, count: int, sparse: bool) -> torch.Tensor:
    """Sum ``grad`` rows into ``count`` rows at ``rows`` where ``keep``; dense or sparse COO."""
    if sparse:
        return torch.sparse_coo_tensor(rows[keep].unsqueeze(0), grad[keep], (count, grad.shape[-1]),
                                       check_invariants=False)
    dump = torch.where(keep, rows, count)  # rows not kept land in a scratch row that is dropped
    out = grad.new_zeros(count + 1, grad.shape[-1]).index_add_(0, dump, grad)
    return out[:count]
