"""SubwordEmbedding: fastText's vector for any token, as a PyTorch module built from a ``.bin`` model.

The module holds the model's input matrix as one ``nn.EmbeddingBag`` weight (the words' own rows, then the
n-gram buckets) shared with the array read from the file, not copied. A token becomes a bag of rows: its
own row when the model has the word, plus the buckets of its character n-grams (hashed as fastText and
gensim hash them); the bag's mean is fastText's vector. A token with neither gets zeros, as in fastText.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from vecload.errors import ArgumentError
from vecload.formats.fasttext import FastTextModel, read_model
from vecload.formats.ngrams import ngram_buckets


class SubwordEmbedding(nn.Module):
    """Maps any token to its fastText vector: an ``EmbeddingBag`` (mean) over word rows and n-gram buckets.

    Tokens become indices with :meth:`encode` (Python: hashing happens there, as a tokenizer's job), and
    :meth:`forward` takes those indices, so a data loader can encode once and the model run on tensors.
    :meth:`embed` does both. On the CPU its output equals gensim's ``kv[token]`` bit for bit (torch's
    bag mean adds the rows one after the other in float32 and divides by their count, as gensim does);
    another device may sum in another order, within float32 rounding of the sum.

    Args:
        model: The fastText model (see :meth:`from_pretrained`).
        freeze: True (the default) makes the table a parameter with ``requires_grad=False``, so
            :func:`vecload.assert_frozen` covers it; False trains it (in place: the model's matrix is the
            same memory).
        sparse: Sparse gradients, as ``nn.EmbeddingBag``'s.

    Attributes:
        bag: The ``nn.EmbeddingBag``; its weight is ``[len(words) + bucket, dim]``.
        words: The model's vocabulary, in row order.
        minn, maxn, bucket: The model's n-gram range and bucket count.

    Example:
        >>> embedding = SubwordEmbedding.from_pretrained("cc.en.300.bin")  # doctest: +SKIP
        >>> embedding.embed(["colour", "colourfull"]).shape  # doctest: +SKIP
        torch.Size([2, 300])
    """

    def __init__(self, model: FastTextModel, *, freeze: bool = True, sparse: bool = False) -> None:
        super().__init__()
        if model.matrix.shape[0] != len(model.words) + model.bucket:
            raise ArgumentError(f"{model.name}: the model was read without its matrix")
        weight = torch.from_numpy(model.matrix)  # shares the array: no second copy of the buckets
        self.bag = nn.EmbeddingBag.from_pretrained(weight, freeze=freeze, mode="mean", sparse=sparse)
        self.words = model.words
        self.minn, self.maxn, self.bucket = model.minn, model.maxn, model.bucket
        self._index = model.key_to_index

    @classmethod
    def from_pretrained(cls, model: str | os.PathLike[str] | FastTextModel, *, freeze: bool = True,
                        sparse: bool = False) -> SubwordEmbedding:
        """Build the module from a fastText ``.bin`` file (or a model already read).

        Example:
            >>> embedding = SubwordEmbedding.from_pretrained("lee_fasttext.bin")  # doctest: +SKIP
        """
        if not isinstance(model, FastTextModel):
            model = read_model(model)
        return cls(model, freeze=freeze, sparse=sparse)

    @property
    def embedding_dim(self) -> int:
        return int(self.bag.embedding_dim)

    @property
    def num_embeddings(self) -> int:
        return int(self.bag.num_embeddings)

    def encode(self, tokens: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Each token's bag of rows, as ``nn.EmbeddingBag`` takes them.

        Returns:
            ``(input, offsets)``: int64 row indices of all bags one after the other, and where each
            token's bag starts (an empty bag for a token with no row and no n-gram).
        """
        if isinstance(tokens, str):
            raise ArgumentError("encode takes a list of tokens, not one string")
        nwords = len(self.words)
        bags, offsets, start = [], [], 0
        for token in tokens:
            own = self._index.get(token)
            bag = [] if own is None else [own]
            bag.extend(nwords + h for h in ngram_buckets(token, self.minn, self.maxn, self.bucket))
            offsets.append(start)
            bags.append(bag)
            start += len(bag)
        flat = np.fromiter((i for bag in bags for i in bag), dtype=np.int64, count=start)
        return torch.from_numpy(flat), torch.tensor(offsets, dtype=torch.int64)

    def forward(self, input: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """The mean of each bag: ``[len(offsets), dim]`` (see :meth:`encode`)."""
        return self.bag(input, offsets)

    def embed(self, tokens: Sequence[str]) -> torch.Tensor:
        """fastText's vector of each token: ``forward(*encode(tokens))``."""
        return self(*self.encode(tokens))

    def extra_repr(self) -> str:
        return f"words={len(self.words)}, bucket={self.bucket}, minn={self.minn}, maxn={self.maxn}"
