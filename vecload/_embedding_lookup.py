"""The lookups of :class:`vecload.PretrainedEmbedding`: eager (one gather, a custom backward) and compiled.

Both read the same two tensors: ``table`` (every row, in the index space's order) and ``extra`` (the
trainable rows), tied by ``slot`` (per row of ``table``: its row in ``extra``, or ``len(extra)`` for a row
that is not trained: a frozen row, or the padding row).
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

    The gather from ``table`` comes first, so an index out of range raises as in eager mode.
    """
    padding_idx, by_freq, sparse = options
    out = F.embedding(indices, table, padding_idx=None if padding_idx < 0 else padding_idx,
                      scale_grad_by_freq=by_freq, sparse=sparse)
    count = extra.shape[0]
    if count == 0:
        return out
    slots = slot[indices]
    if sparse:  # a sparse gradient cannot flow back through the cat below; clamped rows get zero gradient
        rows = F.embedding(slots.clamp(max=count - 1), extra, scale_grad_by_freq=by_freq, sparse=True)
    else:  # one zero row more, as padding: rows that are not trained read it and give it no gradient
        padded = torch.cat([extra, extra.new_zeros(1, extra.shape[1])])
        rows = F.embedding(slots, padded, padding_idx=count, scale_grad_by_freq=by_freq)
    return torch.where((slots < count).unsqueeze(-1), rows, out)


def clip(out: torch.Tensor, max_norm: float, norm_type: float) -> torch.Tensor:
    """Scale rows whose norm exceeds ``max_norm`` down to it (``torch.embedding_renorm_``'s factor)."""
    norms = torch.linalg.vector_norm(out.detach(), ord=norm_type, dim=-1, keepdim=True)
    scale = torch.where(norms > max_norm, max_norm / (norms + 1e-7), torch.ones_like(norms))
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
        slots = slot[flat]
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
