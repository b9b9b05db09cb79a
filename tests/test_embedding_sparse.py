"""Tests of sparse=True under torch.compile (issue 13's review): only the rows a batch reads get a gradient
entry, and scale_grad_by_freq works with sparse gradients, as in eager mode."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vecload import PretrainedEmbedding


def _table(rows: int = 12, dim: int = 5) -> tuple[torch.Tensor, list[str]]:
    return torch.randn(rows, dim, generator=torch.Generator().manual_seed(0)), [f"w{i}" for i in range(rows)]


def _grad_rows(extra: nn.Parameter) -> list[int]:
    return sorted(set(extra.grad.coalesce().indices()[0].tolist()))


def test_compiled_sparse_gives_no_gradient_entry_to_rows_not_read() -> None:
    """A compiled sparse lookup of frozen rows only leaves the last trainable row out of the gradient, so
    SparseAdam's momentum never moves it (vecload 0.3: a zero-valued entry for that row, which moved)."""
    weight, tokens = _table()
    emb = PretrainedEmbedding(weight, tokens, specials=("<pad>", "<unk>", "<cls>"), sparse=True)
    compiled = torch.compile(emb, backend="aot_eager", dynamic=False)
    opt = torch.optim.SparseAdam([emb.extra], lr=0.1)
    for indices, expected in ((torch.tensor([[2, 4, 1]]), [1, 2]), (torch.tensor([[5, 7, 3]]), [])):
        opt.zero_grad()
        before = emb.extra.detach().clone()
        compiled(indices).pow(2).sum().backward()
        assert _grad_rows(emb.extra) == expected
        opt.step()
    assert torch.equal(emb.extra.detach(), before)  # no row read in the second step: none moved


def test_compiled_sparse_matches_eager_gradients() -> None:
    """Compiled and eager sparse lookups give the same output and the same sparse gradient."""
    weight, tokens = _table()
    eager, traced = (PretrainedEmbedding(weight, tokens, specials=("<pad>", "<unk>"), padding_idx=0,
                                         extra_tokens=["x"], sparse=True) for _ in range(2))
    compiled = torch.compile(traced, backend="aot_eager", dynamic=False)
    indices = torch.tensor([[0, 1, 1, 14, 6], [3, 14, 0, 2, 1]])
    upstream = torch.randn(2, 5, 5, generator=torch.Generator().manual_seed(1))
    out = compiled(indices)
    assert torch.equal(out, eager(indices))
    (out * upstream).sum().backward()
    (eager(indices) * upstream).sum().backward()
    assert torch.equal(traced.extra.grad.to_dense(), eager.extra.grad.to_dense())
    assert _grad_rows(traced.extra) == [1, 2]


def test_compiled_sparse_scale_grad_by_freq_as_nn_embedding() -> None:
    """sparse=True with scale_grad_by_freq compiles and divides by the counts as nn.Embedding (dense) does."""
    weight, tokens = _table()
    emb = PretrainedEmbedding(weight, tokens, specials=("<pad>", "<unk>"), sparse=True, scale_grad_by_freq=True)
    compiled = torch.compile(emb, backend="aot_eager", dynamic=False)
    reference = nn.Parameter(emb.weight.clone())
    indices = torch.tensor([[1, 1, 1, 0, 4], [4, 9, 1, 0, 0]])
    upstream = torch.randn(2, 5, 5, generator=torch.Generator().manual_seed(3))
    (compiled(indices) * upstream).sum().backward()
    (F.embedding(indices, reference, scale_grad_by_freq=True) * upstream).sum().backward()
    # a sparse gradient's repeated entries are summed in another order than nn.Embedding's: last-bit differences
    torch.testing.assert_close(emb.extra.grad.to_dense(), reference.grad[:2], rtol=0, atol=1e-6)
    assert _grad_rows(emb.extra) == [0, 1]
