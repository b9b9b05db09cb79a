"""Everything that builds ``torch.nn`` modules from vectors."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


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
