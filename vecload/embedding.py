""":class:`PretrainedEmbedding`: a pretrained table whose frozen rows are frozen by construction.

(A plain ``nn.Embedding`` over a table is :meth:`vecload.Vectors.to_embedding`.) The index space::

    [0, S)              specials (``<pad>``, ``<unk>``, ...)                        trainable
    [S, S + P)          the rows of the vectors, in their order; frozen, except the rows marked in ``trainable``
                        (an aligned table's OOV rows and specials)
    [S + P, S + P + X)  extra rows (out-of-vocabulary words)                       trainable

``freeze=True`` keeps that split, ``freeze="all"`` freezes every row and ``freeze=False`` trains every row.

Where each part lives:

- ``table``: every row, in index order. Not a parameter (no optimizer, weight decay or momentum reaches
  it) and not a buffer either, so DDP neither broadcasts it at construction nor syncs it at each forward;
  ``.to()``, ``.cuda()``, ``.half()`` move it all the same. With ``freeze=False`` it is a parameter.
- ``extra``: the trainable rows, one ``nn.Parameter``, copied into their places in ``table`` before each
  lookup and each ``state_dict()``. A lookup is one gather from ``table``; the backward pass routes the
  gradients to ``extra`` only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import nn

from vecload import _embedding_state as state
from vecload._cast import cast_rows
from vecload._embedding_lookup import clip, lookup_compiled, lookup_eager, renorm_
from vecload.errors import ArgumentError, TokenNotFound
from vecload.vectors import DTYPES

if TYPE_CHECKING:
    from vecload.vectors import Vectors

FreezeMode = Literal["pretrained", "all", "none"]
_FREEZE_VALUES: dict[object, FreezeMode] = {True: "pretrained", "pretrained": "pretrained", "all": "all",
                                            False: "none", "none": "none"}


class PretrainedEmbedding(nn.Module):
    """A frozen pretrained table plus trainable rows (specials, OOV words, any rows you mark).

    Args:
        vectors: What :func:`vecload.load` or :func:`vecload.align` returns, or a 2-D float tensor (then
            ``tokens`` is required). An aligned table brings its own defaults: no added specials, its
            ``trainable_mask`` as ``trainable`` and its ``pad_index`` as ``padding_idx``.
        tokens: The tokens of a plain tensor's rows.
        specials: Tokens of new trainable rows placed first; default ``("<pad>", "<unk>")``.
        extra_tokens: Tokens of new trainable rows appended last (out-of-vocabulary words).
        extra_vectors: Initial values ``[len(extra_tokens), dim]`` for those rows (default: random).
        trainable: A bool tensor, one entry per row of ``vectors``: these rows train (starting from their
            values), the others are frozen. "Freeze these rows, train those" in one argument.
        freeze: ``nn.Embedding.from_pretrained``'s meaning, for the pretrained rows: ``True`` (or
            ``"pretrained"``) freezes them while the specials, extra and ``trainable`` rows train;
            ``False`` (or ``"none"``) trains every row; ``"all"`` freezes every row.
        padding_idx: A row (int, or its token) that gets no gradient, as in ``nn.Embedding``: a new
            special there starts at zero (as ``nn.Embedding(n, d, padding_idx=...)``), a pretrained row
            keeps its value (as ``nn.Embedding.from_pretrained``; an aligned table's pad row is zero).
            Default: an aligned table's pad row, none for other vectors; ``None``: no padding row.
        max_norm: Looked-up rows with a larger ``norm_type``-norm are scaled down to it, as in ``nn.Embedding``:
            a trainable row is renormalised in place before the lookup (same values, same gradient as
            ``nn.Embedding``); a frozen row never is (that would change the frozen table): its output is
            scaled instead.
        norm_type: The p of the p-norm for ``max_norm``.
        scale_grad_by_freq: Divide each row's gradient by its count in the batch, as ``nn.Embedding``.
        sparse: Sparse gradients for the trainable rows (``SparseAdam``; ``SGD``/``Adagrad`` without
            weight decay); with ``scale_grad_by_freq`` too. Refused under DDP, whose reducer takes sparse
            gradients only from ``nn.Embedding``. Under ``torch.compile`` the lookup runs eagerly, outside
            the graph (a graph break), so that only the rows a batch reads get a gradient entry.
        init_std: Standard deviation of the random new rows; default that of the pretrained values (of up
            to 2,000 evenly spaced rows, finite values only).
        seed: Seed of the random new rows (a private generator: the global RNG is untouched).
        copy: Copy the pretrained rows (default). ``False`` shares the caller's memory when nothing is
            added, nothing trains and no dtype or device change; the module never writes those rows.
        persist_frozen: ``False`` keeps the frozen rows out of ``state_dict()``: it holds the trainable
            rows, ``table_fingerprint``, which ``load_state_dict`` checks against the module's table, and
            ``table_layout`` (these arguments, for ``vecload check-frozen`` to rebuild the module).
        device: Where to build the table (default: the vectors' device); ``"meta"`` allocates nothing.
        dtype: The table's dtype (default: the vectors'), e.g. ``torch.bfloat16``; converted chunk by chunk.

    Example:
        >>> emb = PretrainedEmbedding(vecload.load("glove.6B.50d.pth"), specials=("<pad>", "<unk>"),
        ...                           padding_idx="<pad>")
        >>> emb.get_index("<unk>"), emb.get_index("the"), emb.num_embeddings
        (1, 2, 400002)
    """

    def __init__(
        self,
        vectors: Vectors | torch.Tensor,
        tokens: Sequence[str] | None = None,
        *,
        specials: Sequence[str] | None = None,
        extra_tokens: Sequence[str] = (),
        extra_vectors: torch.Tensor | None = None,
        trainable: torch.Tensor | None = None,
        freeze: bool | str = True,
        padding_idx: int | str | None = state.ALIGNED_PAD,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        init_std: float | None = None,
        seed: int = 0,
        copy: bool = True,
        persist_frozen: bool = True,
        device: str | torch.device | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        weight, pretrained_tokens, aligned = state.unpack(vectors, tokens)
        if freeze not in _FREEZE_VALUES:
            raise ArgumentError(f"freeze must be True, False, 'pretrained', 'all' or 'none', got {freeze!r}")
        if sparse and torch.distributed.is_available() and torch.distributed.is_initialized():
            raise ArgumentError("sparse=True under torch.distributed: DDP's reducer accepts sparse gradients only "
                                "from nn.Embedding modules and fails at the first backward; use sparse=False")
        specials = aligned.get("specials", ("<pad>", "<unk>")) if specials is None else specials
        for name, given in (("specials", specials), ("extra_tokens", extra_tokens)):
            if isinstance(given, str) or not all(isinstance(token, str) for token in given):
                raise ArgumentError(f"{name} must be a sequence of str tokens (a tuple or list), got {given!r}")
        if dtype is not None and dtype not in DTYPES:
            raise ArgumentError(f"dtype must be one of torch.float32, torch.float16, torch.bfloat16, got {dtype!r}")
        if padding_idx is state.ALIGNED_PAD:  # an aligned table's pad row, after added specials; else none
            padding_idx = None if aligned.get("padding_idx") is None else aligned["padding_idx"] + len(specials)
        self.freeze: FreezeMode = _FREEZE_VALUES[freeze]
        self.num_specials, self.num_extra = len(specials), len(extra_tokens)
        self.num_pretrained, self.embedding_dim = int(weight.shape[0]), int(weight.shape[1])
        self.num_embeddings = self.num_specials + self.num_pretrained + self.num_extra
        self.tokens = state.RowTokens(specials, pretrained_tokens, extra_tokens)
        self._stoi = state.check_tokens(self.tokens, self.num_specials, self.num_pretrained,
                                        eager=isinstance(vectors, torch.Tensor))
        self.max_norm, self.norm_type, self.sparse = max_norm, norm_type, sparse
        self.scale_grad_by_freq, self.persist_frozen = scale_grad_by_freq, persist_frozen
        self.padding_idx = self._padding_row(padding_idx)
        mask = state.row_mask(trainable if trainable is not None else aligned.get("trainable"), self.num_pretrained)
        s, p = self.num_specials, self.num_pretrained
        rows = torch.cat([torch.arange(s), s + mask.nonzero().flatten(), torch.arange(s + p, self.num_embeddings)])

        dtype = weight.dtype if dtype is None else dtype
        device = weight.device if device is None else torch.device(device)
        std = state.spread(weight.detach(), dtype, device) if init_std is None else init_std
        if not copy and not len(rows) and self.freeze != "none" and weight.is_contiguous():
            table = cast_rows(weight.detach(), dtype=dtype, device=device)  # shared when nothing changes
            self._borrowed = table.data_ptr() == weight.data_ptr()  # the caller's memory: never written
        else:
            self._borrowed = False
            table = torch.empty(self.num_embeddings, self.embedding_dim, dtype=dtype, device=device)
            cast_rows(weight.detach(), out=table[s : s + p])
        extra = state.initial_rows(self, table, rows, extra_vectors, std, seed)
        self._place(table, extra, rows)

    @classmethod
    def from_aligned(cls, aligned: Any, *, freeze: bool | str = True, padding_idx: int | str | None = state.ALIGNED_PAD,
                     **kwargs: Any) -> PretrainedEmbedding:
        """The embedding of an aligned table: found rows frozen, OOV rows and specials trainable, pad row zero.

        ``Aligned.to_embedding`` calls this, with the same arguments.

        Args:
            aligned: What :func:`vecload.align` returns, or an aligned file loaded with :func:`vecload.load`.
            freeze: As in the constructor.
            padding_idx: The aligned table's pad row by default; ``None`` for no padding row (the pad row
                then stays a frozen row of zeros, which ``trainable=`` can make trainable); or another row.
            **kwargs: The constructor's other arguments (``trainable=`` overrides the aligned mask).

        Raises:
            ArgumentError: ``aligned`` is not an aligned table.

        Example:
            >>> aligned = vecload.align("glove.6B.300d.pth", task_tokens, specials=("<pad>", "<unk>"))
            >>> emb = PretrainedEmbedding.from_aligned(aligned, dtype=torch.bfloat16)
        """
        if state.aligned_defaults(aligned) is None:
            raise ArgumentError(f"from_aligned needs an aligned table (what vecload.align returns, or an aligned file "
                                f"loaded with vecload.load); this {type(aligned).__name__} carries no alignment: "
                                f"use PretrainedEmbedding(vectors, ...) instead")
        return cls(aligned, freeze=freeze, padding_idx=padding_idx, **kwargs)

    # -- the index space -------------------------------------------------------------------------------
    def get_index(self, key: str, default: int | None = None) -> int:
        """The row of ``key`` (gensim's name); ``default`` when it has none and a default is given.

        Raises:
            TokenNotFound: The token is not in the embedding and no default was given (a ``KeyError``).
        """
        if self._stoi is None:  # built on first use: a 400k-token dict is 37 MiB a lookup-only user never needs
            self._stoi = state.token_index(self.tokens, self.num_specials, self.num_pretrained)
        row = self._stoi.get(key, default)
        if row is None:
            raise TokenNotFound(f"{key!r} is not in this embedding ({self.num_embeddings} rows)")
        return row

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and self.get_index(token, -1) >= 0

    @property
    def pretrained_rows(self) -> range:
        """The rows that hold the vectors' rows (``trainable`` ones included)."""
        return range(self.num_specials, self.num_specials + self.num_pretrained)

    @property
    def pretrained(self) -> torch.Tensor:
        """The vectors' rows (a view of ``table``)."""
        return self.table[self.num_specials : self.num_specials + self.num_pretrained]

    @property
    def trainable_rows(self) -> torch.Tensor:
        """The rows held in ``extra``, in order (int64)."""
        return self._rows

    @property
    def weight(self) -> torch.Tensor:
        """The whole table as the lookup sees it: a detached view of ``table``, no copy. Read it, never
        write it (a write would reach the frozen rows); ``.clone()`` it to keep a snapshot."""
        self.sync()
        return self.table.detach()

    def frozen_tensors(self) -> dict[str, tuple[torch.Tensor, int | torch.Tensor]]:
        """The frozen parts, by name: ``(tensor, first row)``, or ``(rows gathered, their row numbers)``."""
        parts: dict[str, tuple[torch.Tensor, int | torch.Tensor]] = {}
        if self.freeze != "none":
            rows = state.frozen_rows(self)
            if len(rows) and int(rows[-1] - rows[0]) == len(rows) - 1:
                start, end = int(rows[0]), int(rows[-1]) + 1
                parts[f"table[{start}:{end}]"] = (self.table[start:end], start)
            elif len(rows):
                parts["table[frozen rows]"] = (self.table[rows.to(self.table.device)], rows)
        if self.freeze == "all" and self.extra.numel():
            parts["extra"] = (self.extra, self._rows)
        return parts

    # -- forward ---------------------------------------------------------------------------------------
    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        """Look up ``indices`` (an integer tensor of any shape); returns ``[*indices.shape, embedding_dim]``."""
        options = (-1 if self.padding_idx is None else self.padding_idx, self.scale_grad_by_freq, self.sparse)
        if self.max_norm is not None:  # before the lookup, as nn.Embedding: trainable rows only
            renormed = renorm_(indices, self.table, self.extra, self._slot, self.max_norm, self.norm_type)
        if not torch.compiler.is_compiling():
            out = self._lookup_eager(indices, options)
        elif self.sparse:  # disabled here, not with a decorator: that would import torch._dynamo (70 MiB) on import
            out = torch.compiler.disable(self._lookup_eager)(indices, options)
        else:
            out = lookup_compiled(indices, self.table, self.extra, self._slot, options)
        return out if self.max_norm is None else clip(out, self.max_norm, self.norm_type, renormed)

    def _lookup_eager(self, indices: torch.Tensor, options: tuple[int, bool, bool]) -> torch.Tensor:
        """The eager lookup, run outside any compiled graph: a sparse gradient that holds only the rows a
        batch reads (as ``nn.Embedding``'s) needs its own backward, which ``torch.compile`` cannot trace."""
        self.sync()
        return lookup_eager(indices, self.table, self.extra, self._slot, options)

    def sync(self) -> None:
        """Copy the trainable rows into their places in ``table`` (done before each lookup and ``state_dict``).

        Always copied: a fused optimizer step, or an update through ``.data``, writes ``extra`` without
        moving its version counter, so no cheaper test can tell that it changed.
        """
        with torch.no_grad():
            if len(self._rows):
                self.table.index_copy_(0, self._rows, self.extra.to(self.table.dtype))
            for row in self._trainable_pad:  # a new special as padding row reads as zero, whatever extra holds
                self.table[row].zero_()

    # -- construction, moves, checkpoints --------------------------------------------------------------
    def _place(self, table: torch.Tensor, extra: torch.Tensor, rows: torch.Tensor) -> None:
        """Register ``table`` (plain attribute, or a parameter), ``extra`` and the row maps."""
        # one entry per row: int32 (1.6 MB for 400k rows, against 3.2 MB in int64) unless the table is larger
        small = self.num_embeddings < 2**31 - 1
        slot = torch.full((self.num_embeddings,), len(rows), dtype=torch.int32 if small else torch.long)
        slot[rows] = torch.arange(len(rows), dtype=slot.dtype)
        self._trainable_pad = ()
        if self.padding_idx is not None and slot[self.padding_idx] < len(rows):
            slot[self.padding_idx] = len(rows)  # in extra (so checkpoints keep their layout), never trained
            pretrained = self.num_specials <= self.padding_idx < self.num_specials + self.num_pretrained
            # a special or extra row as padding reads as zero; a pretrained one keeps its value, as in
            # nn.Embedding.from_pretrained(padding_idx=...)
            self._trainable_pad = () if pretrained else (self.padding_idx,)
        self._rows, self._slot = rows.to(table.device), slot.to(table.device)
        if self.freeze == "none":
            self.table = nn.Parameter(table)
        else:
            self.table = table
        if self.freeze == "all":
            self.register_buffer("extra", extra)
        else:
            self.extra = nn.Parameter(extra)
        self.sync()

    def _apply(self, fn: Callable[[torch.Tensor], torch.Tensor], recurse: bool = True) -> PretrainedEmbedding:
        super()._apply(fn, recurse)
        if not isinstance(self.table, nn.Parameter):
            self.table = fn(self.table)
        self._rows, self._slot = self._rows.to(self.table.device), self._slot.to(self.table.device)
        return self

    def _save_to_state_dict(self, destination: dict[str, Any], prefix: str, keep_vars: bool) -> None:
        state.save_state(self, destination, prefix, keep_vars)
        super()._save_to_state_dict(destination, prefix, keep_vars)

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, local_metadata: dict[str, Any],
                              strict: bool, missing_keys: list[str], unexpected_keys: list[str],
                              error_msgs: list[str]) -> None:
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)
        state.load_state(self, state_dict, prefix, missing_keys, unexpected_keys)

    def _padding_row(self, padding_idx: int | str | None) -> int | None:
        if padding_idx is None:
            return None
        row = state.added_row(self, padding_idx) if isinstance(padding_idx, str) else int(padding_idx)
        if row < 0:
            row += self.num_embeddings
        if not 0 <= row < self.num_embeddings:
            raise ArgumentError(f"padding_idx {padding_idx!r} is outside the {self.num_embeddings} rows")
        return row

    def extra_repr(self) -> str:
        text = (f"{self.num_embeddings}, {self.embedding_dim}, specials={self.num_specials}, "
                f"pretrained={self.num_pretrained}, extra={self.num_extra}, trainable={len(self._rows)}, "
                f"freeze={self.freeze!r}")
        for name in ("padding_idx", "max_norm"):
            if getattr(self, name) is not None:
                text += f", {name}={getattr(self, name)}"
        for name in ("scale_grad_by_freq", "sparse"):
            if getattr(self, name):
                text += f", {name}=True"
        return text + ("" if self.persist_frozen else ", persist_frozen=False")

