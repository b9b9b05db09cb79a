"""Everything that builds ``torch.nn`` modules from vectors: :func:`to_embedding` and
:class:`PretrainedEmbedding`.

:class:`PretrainedEmbedding` freezes by construction rather than by gradient masking. Its index space is::

    [0, S)            specials (``<pad>``, ``<unk>``, ...)          trainable unless freeze="all"
    [S, S + P)        the pretrained rows, in the vectors' order     frozen unless freeze=False
    [S + P, S + P + X) extra rows (out-of-vocabulary words)          trainable unless freeze="all"

The lookup table is one buffer, ``table`` (so ``model.parameters()`` never yields it and no optimizer,
weight decay or momentum can reach it); the trainable rows live in one ``nn.Parameter``, ``extra``
(``S + X`` rows: specials then extras), copied into their places in ``table`` before each lookup. A lookup
is then a single gather from ``table``, and the backward pass routes gradients to ``extra`` only.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from vecload.vectors import Vectors

FreezeMode = Literal["pretrained", "all", "none"]
_FREEZE_VALUES: dict[object, FreezeMode] = {True: "pretrained", "pretrained": "pretrained", "all": "all",
                                            False: "none", "none": "none"}


def to_embedding(
    weight: torch.Tensor,
    freeze: bool = True,
    padding_idx: int | None = None,
    **kwargs: Any,
) -> nn.Embedding:
    """``nn.Embedding.from_pretrained`` over ``weight``.

    The module shares ``weight``'s storage only when that is safe (frozen, no ``max_norm``); otherwise it
    gets its own copy, so training or in-place renormalisation never changes the caller's tensor.

    Args:
        weight: A float32 tensor ``[num_embeddings, embedding_dim]``.
        freeze: Keep the weight out of training (``requires_grad=False``).
        padding_idx: As in ``nn.Embedding``.
        **kwargs: ``max_norm``, ``norm_type``, ``scale_grad_by_freq``, ``sparse``.

    Example:
        >>> emb = to_embedding(vecload.load("glove.6B.50d.pth").vectors, freeze=True)
    """
    if not freeze or kwargs.get("max_norm") is not None:
        weight = weight.clone()
    return nn.Embedding.from_pretrained(weight, freeze=freeze, padding_idx=padding_idx, **kwargs)


class PretrainedEmbedding(nn.Module):
    """A frozen pretrained table plus trainable extra rows (specials, learnable tokens, OOV words).

    Rows are ordered specials, then the pretrained rows, then ``extra_tokens`` (see the module docstring).

    Args:
        vectors: What :func:`vecload.load` returns, or a 2-D float tensor (then ``tokens`` is required).
        tokens: The tokens of a plain tensor's rows.
        specials: Tokens placed before the pretrained rows; ``<pad>`` is row 0 by default.
        extra_tokens: Tokens of trainable rows appended after the pretrained rows (out-of-vocabulary words).
        extra_vectors: Initial values ``[len(extra_tokens), dim]`` for those rows (default: random, as specials).
        freeze: ``True`` or ``"pretrained"``: the pretrained rows are frozen, specials and extra rows train
            (the default, and the reason this class exists). ``"all"``: every row is frozen. ``False`` or
            ``"none"``: every row trains (the pretrained rows become a parameter).
        padding_idx: A special's row (an int, or the token, e.g. ``"<pad>"``) that is zero, gets no gradient,
            and reads as exactly zero whatever an optimizer does (weight decay included).
        max_norm: Looked-up vectors with a larger ``norm_type``-norm are scaled down to it. Unlike
            ``nn.Embedding`` this scales the output and never rewrites the stored table.
        norm_type: The p of the p-norm for ``max_norm``.
        sparse: Give the trainable rows sparse gradients (for ``SparseAdam``, or ``SGD``/``Adagrad``
            without weight decay).
        init_std: Standard deviation of the random initial specials; default the pretrained values' std.
        seed: Seed of the random initial rows (a private generator: the global RNG is untouched).
        copy: Copy the pretrained rows (default). ``False`` shares the caller's memory when it can; the
            module never writes those rows, but then the caller must not either.

    Example:
        >>> emb = PretrainedEmbedding(vecload.load("glove.6B.50d.pth"), specials=("<pad>", "<unk>"),
        ...                           padding_idx="<pad>")
        >>> emb.index("<unk>"), emb.index("the"), emb.num_embeddings
        (1, 2, 400002)
    """

    def __init__(
        self,
        vectors: Vectors | torch.Tensor,
        tokens: Sequence[str] | None = None,
        *,
        specials: Sequence[str] = ("<pad>", "<unk>"),
        extra_tokens: Sequence[str] = (),
        extra_vectors: torch.Tensor | None = None,
        freeze: bool | str = True,
        padding_idx: int | str | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        sparse: bool = False,
        init_std: float | None = None,
        seed: int = 0,
        copy: bool = True,
    ) -> None:
        super().__init__()
        weight, pretrained_tokens = _unpack(vectors, tokens)
        if freeze not in _FREEZE_VALUES:
            raise ValueError(f"freeze must be True, False, 'pretrained', 'all' or 'none', got {freeze!r}")
        self.freeze: FreezeMode = _FREEZE_VALUES[freeze]
        self.num_specials = len(specials)
        self.num_pretrained, self.embedding_dim = int(weight.shape[0]), int(weight.shape[1])
        self.num_extra = len(extra_tokens)
        self.num_embeddings = self.num_specials + self.num_pretrained + self.num_extra
        self.tokens: list[str] = [*specials, *pretrained_tokens, *extra_tokens]
        self._stoi = _token_index(self.tokens, self.num_specials, self.num_pretrained)
        self.padding_idx = self._padding_row(padding_idx)
        self.max_norm, self.norm_type, self.sparse = max_norm, norm_type, sparse
        self._synced: tuple[Any, ...] = ()
        self._layout = (self.num_specials, self.num_pretrained, -1 if padding_idx is None else self.padding_idx, sparse)

        trainable = self._initial_extra(weight, extra_vectors, init_std, seed)
        table = torch.empty(self.num_embeddings, self.embedding_dim, dtype=weight.dtype, device=weight.device)
        pretrained = weight.detach()
        if copy or self.freeze == "none" or not pretrained.is_contiguous() or self.num_specials + self.num_extra:
            table[self.num_specials : self.num_specials + self.num_pretrained] = pretrained
        else:
            table = pretrained
        if self.freeze == "none":
            self.table = nn.Parameter(table)
        else:
            self.register_buffer("table", table)
        if self.freeze == "all":
            self.register_buffer("extra", trainable)
        else:
            self.extra = nn.Parameter(trainable)
        self._mirror()

    # -- the index space -------------------------------------------------------------------------------
    def index(self, token: str) -> int:
        """The row of ``token``.

        Raises:
            KeyError: The token is not a special, pretrained or extra token.
        """
        try:
            return self._stoi[token]
        except KeyError:
            raise KeyError(f"{token!r} is not in this embedding ({self.num_embeddings} rows)") from None

    def __contains__(self, token: object) -> bool:
        return token in self._stoi

    @property
    def pretrained_rows(self) -> range:
        """The rows that hold the pretrained vectors."""
        return range(self.num_specials, self.num_specials + self.num_pretrained)

    @property
    def pretrained(self) -> torch.Tensor:
        """The pretrained rows (a view of ``table``; frozen unless ``freeze=False``)."""
        return self.table[self.num_specials : self.num_specials + self.num_pretrained]

    @property
    def weight(self) -> torch.Tensor:
        """The whole table ``[num_embeddings, embedding_dim]`` as the lookup sees it (a detached copy)."""
        with torch.no_grad():
            self._mirror()
            return self.table.detach().clone()

    def frozen_tensors(self) -> dict[str, tuple[torch.Tensor, int]]:
        """The frozen parts, by name: ``(tensor, row offset in the index space)``."""
        parts: dict[str, tuple[torch.Tensor, int]] = {}
        if self.freeze != "none":
            parts[f"table[{self.num_specials}:{self.num_specials + self.num_pretrained}]"] = (
                self.pretrained, self.num_specials)
        if self.freeze == "all" and self.extra.numel():
            parts["extra"] = (self.extra, 0)
        return parts

    # -- forward ---------------------------------------------------------------------------------------
    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        """Look up ``indices`` (an integer tensor of any shape); returns ``[*indices.shape, embedding_dim]``."""
        if torch.compiler.is_compiling():
            out = self._lookup_where(indices)
        else:
            table, extra = self.table, self.extra
            self._mirror(table, extra)
            if torch.is_grad_enabled() and (extra.requires_grad or table.requires_grad):
                out = _Lookup.apply(indices, table, extra, self._layout)
            else:
                out = F.embedding(indices, table)
        if self.max_norm is not None:
            out = self._clip(out)
        return out

    def _mirror(self, table: torch.Tensor | None = None, extra: torch.Tensor | None = None) -> None:
        """Copy the trainable rows into their places in ``table`` and zero the padding row.

        Skipped when neither tensor was replaced or written since the last copy (version counters say so).
        """
        table = self.table if table is None else table
        extra = self.extra if extra is None else extra
        synced = self._synced
        if (synced and synced[0]() is table and synced[1]() is extra and synced[2] == table._version
                and synced[3] == extra._version):
            return
        s, p = self.num_specials, self.num_pretrained
        with torch.no_grad():
            if s:
                table[:s].copy_(extra[:s])
            if self.num_extra:
                table[s + p :].copy_(extra[s:])
            if self.padding_idx is not None:
                table[self.padding_idx].zero_()
        self._synced = (weakref.ref(table), weakref.ref(extra), table._version, extra._version)

    def _lookup_where(self, indices: torch.Tensor) -> torch.Tensor:
        """The same lookup from two gathers and a select: one fused kernel under ``torch.compile``."""
        s, p = self.num_specials, self.num_pretrained
        is_extra = (indices < s) | (indices >= s + p)
        extra_rows = torch.where(indices < s, indices, indices - p).clamp(0, max(self.extra.shape[0] - 1, 0))
        pretrained = F.embedding((indices - s).clamp(0, max(p - 1, 0)), self.pretrained)
        extra = F.embedding(extra_rows, self.extra, sparse=self.sparse) if self.extra.shape[0] else pretrained
        out = torch.where(is_extra.unsqueeze(-1), extra, pretrained)
        if self.padding_idx is not None:
            out = out.masked_fill((indices == self.padding_idx).unsqueeze(-1), 0.0)
        return out

    def _clip(self, out: torch.Tensor) -> torch.Tensor:
        """Scale rows whose norm exceeds ``max_norm`` down to it (as ``torch.embedding_renorm_``, on the output)."""
        norms = torch.linalg.vector_norm(out.detach(), ord=self.norm_type, dim=-1, keepdim=True)
        scale = torch.where(norms > self.max_norm, self.max_norm / (norms + 1e-7), torch.ones_like(norms))
        return out * scale

    # -- construction helpers --------------------------------------------------------------------------
    def _padding_row(self, padding_idx: int | str | None) -> int | None:
        if padding_idx is None:
            return None
        row = self.index(padding_idx) if isinstance(padding_idx, str) else int(padding_idx)
        if row < 0:
            row += self.num_embeddings
        if not 0 <= row < self.num_specials:
            raise ValueError(
                f"padding_idx {padding_idx!r} is row {row}, not one of the {self.num_specials} specials "
                f"(rows 0..{self.num_specials - 1}); a pretrained row cannot be zeroed without changing the "
                f"frozen table: add '<pad>' to specials and pass padding_idx='<pad>'"
            )
        return row

    def _initial_extra(self, weight: torch.Tensor, extra_vectors: torch.Tensor | None, init_std: float | None,
                       seed: int) -> torch.Tensor:
        count = self.num_specials + self.num_extra
        finite = weight[torch.isfinite(weight)].float() if init_std is None else weight.new_zeros(0)
        # The table's spread, over its finite values only: a NaN or Inf row must not poison every special.
        std = float(finite.std()) if init_std is None and finite.numel() > 1 else (init_std or 1.0)
        generator = torch.Generator().manual_seed(seed)
        rows = torch.randn(count, self.embedding_dim, generator=generator).mul_(std).to(weight.dtype)
        if extra_vectors is not None:
            if tuple(extra_vectors.shape) != (self.num_extra, self.embedding_dim):
                raise ValueError(f"extra_vectors must be [{self.num_extra}, {self.embedding_dim}], "
                                 f"got {list(extra_vectors.shape)}")
            rows[self.num_specials :] = extra_vectors.detach().to(weight.dtype)
        if self.padding_idx is not None:
            rows[self.padding_idx] = 0
        return rows.to(weight.device)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_synced"] = ()  # weak references do not pickle; the next lookup copies again
        return state

    def extra_repr(self) -> str:
        text = (f"{self.num_embeddings}, {self.embedding_dim}, specials={self.num_specials}, "
                f"pretrained={self.num_pretrained}, extra={self.num_extra}, freeze={self.freeze!r}")
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.sparse:
            text += ", sparse=True"
        return text


class _Lookup(torch.autograd.Function):
    """One gather from ``table``; gradients go to the trainable rows (``extra``, and ``table`` if trainable)."""

    @staticmethod
    def forward(ctx: Any, indices: torch.Tensor, table: torch.Tensor, extra: torch.Tensor,
                layout: tuple[int, int, int, bool]) -> torch.Tensor:
        ctx.save_for_backward(indices)
        ctx.layout = layout
        ctx.sizes = (table.shape[0], extra.shape[0])
        return F.embedding(indices, table)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[None, torch.Tensor | None, torch.Tensor | None, None]:
        (indices,) = ctx.saved_tensors
        specials, pretrained, padding_idx, sparse = ctx.layout
        table_rows, extra_rows = ctx.sizes
        flat, grad = indices.reshape(-1), grad.reshape(-1, grad.shape[-1])
        is_pretrained = (flat >= specials) & (flat < specials + pretrained)
        grad_table = grad_extra = None
        if ctx.needs_input_grad[2]:
            target = torch.where(flat < specials, flat, flat - pretrained)
            keep = ~is_pretrained & (flat != padding_idx)
            grad_extra = _scatter(grad, target, keep, extra_rows, sparse)
        if ctx.needs_input_grad[1]:
            grad_table = _scatter(grad, flat, is_pretrained, table_rows, sparse)
        return None, grad_table, grad_extra, None


def _scatter(grad: torch.Tensor, rows: torch.Tensor, keep: torch.Tensor, count: int, sparse: bool) -> torch.Tensor:
    """Sum ``grad`` rows into ``count`` rows at ``rows`` where ``keep``; dense or sparse COO."""
    if sparse:
        return torch.sparse_coo_tensor(rows[keep].unsqueeze(0), grad[keep], (count, grad.shape[-1]), check_invariants=False)
    dump = torch.where(keep, rows, count)  # rows not kept land in a scratch row that is dropped
    out = grad.new_zeros(count + 1, grad.shape[-1]).index_add_(0, dump, grad)
    return out[:count]


def _unpack(vectors: Vectors | torch.Tensor, tokens: Sequence[str] | None) -> tuple[torch.Tensor, list[str]]:
    """The weight tensor and tokens of a Vectors or of a tensor and its tokens."""
    if isinstance(vectors, torch.Tensor):
        if tokens is None:
            raise TypeError("a plain tensor needs its tokens: PretrainedEmbedding(tensor, tokens)")
        weight, names = vectors, list(tokens)
    else:
        if tokens is not None:
            raise TypeError("tokens is only for a plain tensor; Vectors carry their own")
        weight, names = vectors.vectors, list(vectors.tokens)
    if weight.dim() != 2 or not weight.is_floating_point():
        raise ValueError(f"vectors must be a 2-D float tensor, got {weight.dtype} {tuple(weight.shape)}")
    if weight.shape[0] != len(names):
        raise ValueError(f"{len(names)} tokens for {weight.shape[0]} rows")
    return weight, names


def _token_index(tokens: list[str], specials: int, pretrained: int) -> dict[str, int]:
    """Token to row; a token may appear only once across specials, pretrained and extra rows."""
    index: dict[str, int] = {}
    for row, token in enumerate(tokens):
        if token in index:
            first = index[token]
            raise ValueError(
                f"{token!r} is both row {first} ({_part(first, specials, pretrained)}) and row {row} "
                f"({_part(row, specials, pretrained)}); drop it from specials or extra_tokens"
            )
        index[token] = row
    return index


def _part(row: int, specials: int, pretrained: int) -> str:
    return "a special" if row < specials else "a pretrained row" if row < specials + pretrained else "an extra row"
