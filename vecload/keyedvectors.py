"""gensim both ways: tokens and a float32 tensor to a ``KeyedVectors``, and back.

The values are shared, not copied, wherever both sides accept the memory (a contiguous float32 CPU
tensor): changing one changes the other. gensim's own ``.kv`` / model files are pickles and stay
refused; load a file you trust with ``KeyedVectors.load`` and pass the object to :func:`from_keyedvectors`.

Example:
    >>> kv = to_keyedvectors(["the", "cat"], torch.zeros(2, 50))
    >>> tokens, tensor = from_keyedvectors(kv)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from vecload.errors import ArgumentError

if TYPE_CHECKING:
    from gensim.models import KeyedVectors


def to_keyedvectors(tokens: Sequence[str], tensor: torch.Tensor) -> KeyedVectors:
    """A gensim ``KeyedVectors`` with the same keys, in the same order, over the same float32 values.

    Args:
        tokens: One distinct token per row.
        tensor: ``[len(tokens), dim]`` float32; shared with the result when contiguous and on the CPU.

    Returns:
        The ``KeyedVectors``: ``kv.index_to_key == tokens`` and ``kv.vectors`` holds the same bits.
    """
    from gensim.models import KeyedVectors

    array = tensor.detach().cpu().contiguous().numpy()
    if array.dtype != np.float32 or array.ndim != 2 or array.shape[0] != len(tokens):
        raise ArgumentError(f"expected a float32 tensor of {len(tokens)} rows, got {array.dtype} {array.shape}")
    kv = KeyedVectors(int(array.shape[1]), dtype=np.float32)
    kv.index_to_key = list(tokens)
    kv.key_to_index = {token: row for row, token in enumerate(kv.index_to_key)}
    if len(kv.key_to_index) != len(tokens):
        raise ArgumentError("the tokens are not distinct; gensim would address only one row of each")
    kv.next_index = len(tokens)
    kv.vectors = array
    return kv


def from_keyedvectors(kv: Any) -> tuple[list[str], torch.Tensor]:
    """The tokens and float32 tensor of a gensim ``KeyedVectors`` (shared when already float32 contiguous).

    Args:
        kv: A ``KeyedVectors`` (``model.wv`` of a Word2Vec or FastText model is one).

    Returns:
        ``(tokens, tensor)`` in gensim's row order.

    Raises:
        ArgumentError: ``kv`` is not a ``KeyedVectors``, a key is not a non-empty string, or its rows and
            keys disagree in number.
    """
    keys = getattr(kv, "index_to_key", None)
    vectors = getattr(kv, "vectors", None)
    if not isinstance(keys, list) or not isinstance(vectors, np.ndarray) or vectors.ndim != 2:
        raise ArgumentError(f"expected a gensim KeyedVectors, got {type(kv).__name__}")
    if len(keys) != len(vectors):
        raise ArgumentError(f"the KeyedVectors has {len(keys)} keys for {len(vectors)} rows")
    for row, key in enumerate(keys):
        if not isinstance(key, str) or not key:
            raise ArgumentError(f"row {row}: key {key!r} is not a non-empty string; vecload's tokens are strings")
    if len(set(keys)) != len(keys):
        raise ArgumentError("the KeyedVectors repeats a key")
    array = np.ascontiguousarray(vectors, dtype=np.float32)
    if not array.flags.writeable:  # a memory-mapped KeyedVectors: torch wants memory it may write
        array = array.copy()
    return list(keys), torch.from_numpy(array)
