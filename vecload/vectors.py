"""The loaded table: :class:`Vectors`, tokens and their rows, with gensim's and torchtext's lookups.

:func:`vecload.load` and :func:`vecload.convert` (in :mod:`vecload.convert`) build it from files; a
converted table is one ``NAME.pth`` file (see :mod:`vecload.store`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

import vecload.store as store
from vecload._atomic import Writer
from vecload._cast import cast_rows
from vecload.errors import ArgumentError, IntegrityError, TokenNotFound

#: The dtypes a table may have in memory (``dtype=`` of :func:`vecload.load`); a converted file is float32.
DTYPES = (torch.float32, torch.float16, torch.bfloat16)

if TYPE_CHECKING:
    from torch import nn


class Vectors:
    """Tokens and their vectors, one row per token, with gensim's and torchtext's names for the lookups.

    Args:
        tokens: One token per row, all distinct.
        vectors: A float tensor ``[len(tokens), vector_size]``: float32 as read and stored, or float16 /
            bfloat16 when loaded with ``dtype=`` (such a table cannot be saved: the converted file is float32).
        meta: Metadata (source, format, parse report, ...), as stored inside a converted file.

    Example:
        >>> v = vecload.load("glove.6B.50d.pth")
        >>> v["the"].shape, v.get_index("the"), "the" in v, v[["the", "of"]].shape
        (torch.Size([50]), 0, True, torch.Size([2, 50]))
    """

    def __init__(self, tokens: list[str], vectors: torch.Tensor, meta: dict[str, Any] | None = None) -> None:
        if not isinstance(vectors, torch.Tensor) or vectors.dtype not in DTYPES or vectors.dim() != 2:
            got = f"{vectors.dtype} {tuple(vectors.shape)}" if isinstance(vectors, torch.Tensor) else type(vectors).__name__
            raise ArgumentError(f"vectors must be a 2-D float32, float16 or bfloat16 tensor, got {got}")
        if vectors.shape[0] != len(tokens):
            raise ArgumentError(f"{len(tokens)} tokens for {vectors.shape[0]} rows")
        self.tokens = tokens
        self.vectors = vectors
        self.meta: dict[str, Any] = meta or {}
        self._index: dict[str, int] | None = None

    @property
    def index_to_key(self) -> list[str]:
        """The tokens, one per row (gensim's name; the same list as ``tokens``)."""
        return self.tokens

    @property
    def vector_size(self) -> int:
        """The number of values per vector."""
        return int(self.vectors.shape[1])

    @property
    def key_to_index(self) -> dict[str, int]:
        """Token to row, built on first use."""
        if self._index is None:
            self._index = {token: row for row, token in enumerate(self.tokens)}
            if len(self._index) != len(self.tokens):
                source = self.meta.get("source") if isinstance(self.meta.get("source"), dict) else {}
                where = f"{source.get('name')}: " if source.get("name") else ""
                raise IntegrityError(f"{where}the tokens are not distinct, so rows cannot be addressed by token; "
                                     f"a converted file with repeated tokens was not written by vecload")
        return self._index

    def get_index(self, key: str, default: int | None = None) -> int:
        """The row of ``key``, or ``default`` when given and the key is missing.

        Raises:
            TokenNotFound: The key is missing and no default was given (a ``KeyError``).
        """
        if not isinstance(key, str):
            raise ArgumentError(f"a token is a str, got {type(key).__name__} {key!r}")
        row = self.key_to_index.get(key)
        if row is not None:
            return row
        if default is not None:
            return default
        raise TokenNotFound(f"{key!r} is not in the vocabulary ({len(self)} tokens)")

    def __len__(self) -> int:
        return len(self.tokens)

    def __iter__(self) -> Iterator[str]:
        return iter(self.tokens)

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and token in self.key_to_index

    def __getitem__(self, keys: str | Sequence[str]) -> torch.Tensor:
        """The vector of one token, or a ``[len(keys), vector_size]`` tensor for a list of tokens.

        Raises:
            TokenNotFound: A token is missing (a ``KeyError``; see :meth:`get_vecs_by_tokens` for a default).
        """
        if isinstance(keys, str):
            return self.vectors[self.get_index(keys)]
        if not isinstance(keys, (list, tuple)):
            raise ArgumentError(f"look up a token or a list of tokens, got {type(keys).__name__} {keys!r}")
        return self.vectors[[self.get_index(key) for key in keys]]

    def get_vecs_by_tokens(self, tokens: str | Sequence[str], default: torch.Tensor | None = None) -> torch.Tensor:
        """torchtext's lookup: the vectors of ``tokens``, with ``default`` (zeros unless given) for missing ones.

        Args:
            tokens: One token, or a list of tokens.
            default: The vector for a token that is missing, ``[vector_size]``; zeros by default.

        Returns:
            ``[vector_size]`` for one token, ``[len(tokens), vector_size]`` for a list.
        """
        if default is None:
            default = torch.zeros(self.vector_size, dtype=self.vectors.dtype)
        elif tuple(default.shape) != (self.vector_size,):
            raise ArgumentError(f"default must have shape ({self.vector_size},), got {tuple(default.shape)}")
        one = isinstance(tokens, str)
        keys = [tokens] if one else list(tokens)
        rows = [self.key_to_index.get(key, -1) for key in keys]
        found = torch.tensor(rows, dtype=torch.long)
        out = default.to(self.vectors.dtype).expand(len(keys), self.vector_size).clone()
        hit = found >= 0
        out[hit] = self.vectors[found[hit]]
        return out[0] if one else out

    def __repr__(self) -> str:
        return f"Vectors(count={len(self)}, vector_size={self.vector_size})"

    # -- neighbours and gensim (vecload.neighbors, vecload.keyedvectors) --

    def most_similar(self, positive: str | Sequence[str] = (), negative: str | Sequence[str] = (),
                     topn: int = 10) -> list[tuple[str, float]]:
        """The ``topn`` tokens nearest by cosine, as gensim's ``most_similar`` (query words left out).

        The query is the mean of the unit vectors of ``positive`` minus those of ``negative``; the table is
        scored in blocks, never normalised as a whole.

        Raises:
            TokenNotFound: A query word is missing (a ``KeyError``).

        Example:
            >>> vectors.most_similar("king")[:2]; vectors.most_similar(["king", "woman"], ["man"], topn=1)
        """
        from vecload import neighbors

        pos = [positive] if isinstance(positive, str) else list(positive)
        neg = [negative] if isinstance(negative, str) else list(negative)
        if not pos and not neg:
            raise ArgumentError("give at least one positive or negative word")
        if isinstance(topn, bool) or not isinstance(topn, int) or topn < 1:
            raise ArgumentError(f"topn must be a whole number of at least 1, got {topn!r}")
        found = neighbors.most_similar(self.vectors, [self.get_index(w) for w in pos],
                                       [self.get_index(w) for w in neg], topn)
        return [(self.tokens[row], score) for row, score in found]

    def similarity(self, a: str, b: str) -> float:
        """The cosine similarity of two tokens (gensim's ``similarity``).

        Raises:
            TokenNotFound: A token is missing (a ``KeyError``).
        """
        from vecload import neighbors

        return neighbors.similarity(self.vectors, self.get_index(a), self.get_index(b))

    def to_keyedvectors(self) -> Any:
        """A gensim ``KeyedVectors`` with the same keys, order and float32 values (sharing the memory).

        Example:
            >>> kv = vecload.load("glove.6B.50d.pth").to_keyedvectors(); kv.most_similar("king", topn=3)
        """
        from vecload.keyedvectors import to_keyedvectors

        return to_keyedvectors(self.tokens, self.vectors)

    @classmethod
    def from_keyedvectors(cls, kv: Any) -> Vectors:
        """The rows of a gensim ``KeyedVectors`` (``model.wv`` too), same keys, order and values.

        Example:
            >>> vectors = vecload.Vectors.from_keyedvectors(KeyedVectors.load("model.kv"))  # files you trust
        """
        from vecload.keyedvectors import from_keyedvectors

        tokens, tensor = from_keyedvectors(kv)
        return cls(tokens, tensor, {"format": "gensim KeyedVectors"})

    def to_embedding(self, freeze: bool = True, padding_idx: int | None = None, *,
                     device: str | torch.device | None = None, dtype: torch.dtype | None = None,
                     **kwargs: Any) -> nn.Embedding:
        """A plain ``nn.Embedding`` over these rows (``nn.Embedding.from_pretrained``, same arguments).

        The module shares the table's storage only when that is safe (frozen, no ``max_norm``, same dtype
        and device); otherwise it gets its own copy, so training or ``max_norm``'s in-place renormalisation
        never changes these vectors. A new dtype or device is built chunk by chunk from the (memory-mapped)
        table, without a second full host copy.

        Args:
            freeze: Keep the weight out of training (``requires_grad=False``).
            padding_idx: As in ``nn.Embedding``.
            device: Where the weight lives (default: the table's device).
            dtype: ``torch.float32``, ``torch.float16`` or ``torch.bfloat16`` (default: the table's).
            **kwargs: ``max_norm``, ``norm_type``, ``scale_grad_by_freq``, ``sparse``, as in ``nn.Embedding``.
        """
        from torch import nn

        if not isinstance(freeze, bool):
            raise ArgumentError(f"freeze must be True or False, got {freeze!r}")
        if padding_idx is not None and (isinstance(padding_idx, bool) or not isinstance(padding_idx, int)
                                        or not -len(self) <= padding_idx < len(self)):
            raise ArgumentError(f"padding_idx must be a row number of the {len(self)} rows, got {padding_idx!r}")
        weight = cast_rows(self.vectors, dtype=check_dtype(dtype), device=device)
        if weight is self.vectors and (not freeze or kwargs.get("max_norm") is not None):
            weight = weight.clone()
        return nn.Embedding.from_pretrained(weight, freeze=freeze, padding_idx=padding_idx, **kwargs)

    def save(
        self,
        path: str | os.PathLike[str],
        *,
        force: bool = False,
        progress: bool = False,
        vocab_out: str | os.PathLike[str] | None = None,
        extra: list[tuple[Path, Writer]] = (),  # type: ignore[assignment]
        sources: tuple[Path, ...] = (),
    ) -> Path:
        """Write one converted file holding the tensor, the tokens and the metadata, atomically.

        Args:
            path: The ``.pth`` to write.
            force: Overwrite existing files.
            progress: Show a tqdm bar while the tensor is written.
            vocab_out: Also write the tokens to this file, one per line (JSON lines if a token holds a line
                break or is empty), for tools outside vecload.
            extra: More ``(path, writer)`` pairs written in the same atomic unit.
            sources: Files being read, which no output may replace.

        Returns:
            The path written.

        Raises:
            OutputExistsError: An output exists and ``force`` is False.
            VecloadError: The output cannot be written (nothing was written).

        Example:
            >>> vecload.load("glove.6B.50d.txt").save("glove.6B.50d.pth", vocab_out="glove.6B.50d.tokens.txt")
        """
        out = Path(path)
        vocab = Path(vocab_out) if vocab_out is not None else None
        # now describes what is on disk: count, dim, fingerprints
        if self.vectors.dtype != torch.float32:
            raise ArgumentError(f"{out}: a converted file stores float32 and these vectors are {self.vectors.dtype}; "
                                f"save the table loaded without dtype=")
        self.meta = store.save(out, self.tokens, self.vectors, self.meta, force=force, progress=progress,
                               vocab_out=vocab, extra=extra, sources=sources)
        return out


def check_dtype(dtype: object) -> torch.dtype | None:
    """``dtype`` checked against :data:`DTYPES` (None: keep the table's)."""
    if dtype is not None and dtype not in DTYPES:
        raise ArgumentError(f"dtype must be one of torch.float32, torch.float16, torch.bfloat16, got {dtype!r}")
    return dtype  # type: ignore[return-value]
