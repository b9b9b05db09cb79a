"""fastText's vectors from character n-grams, with numpy: for the words a model has, and for any other word.

fastText cuts ``<word>`` into its character n-grams of ``minn`` to ``maxn`` characters, hashes each one's
UTF-8 bytes with 32-bit FNV-1a (gensim's ``ft_ngram_hashes``, used here) into one of ``bucket`` rows, and
averages: a word in the vocabulary gets the mean of its own row and its n-gram rows, any other word the
mean of its n-gram rows (zeros when it has none). The sums run in gensim's order, one n-gram after the
other in float32, so every value equals gensim's ``kv[word]`` bit for bit.

Example:
    >>> model = read_model("cc.en.300.bin")  # doctest: +SKIP
    >>> rows, found = subword_rows(model, ["colour", "colourfull"])  # doctest: +SKIP
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from vecload.errors import ArgumentError
from vecload.formats.builder import TableBuilder
from vecload.formats.fasttext_layout import FASTTEXT_FORMAT
from vecload.formats.table import ReadOptions, Table

if TYPE_CHECKING:
    from vecload.formats.fasttext import FastTextModel

#: Words composed per step (bounds the scratch memory to a few of these rows at a time).
CHUNK = 16384


def subword_rows(model: FastTextModel, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """fastText's vector for each word, in the vocabulary or not: equal to gensim's ``kv[word]``.

    Args:
        model: The model (:func:`~vecload.formats.fasttext.read_model`).
        words: Any words.

    Returns:
        ``(rows, found)``: float32 ``[len(words), dim]``, and a bool array, False for a word that is not in
        the vocabulary and has no n-gram (its row is zeros, as in gensim and fastText).

    Example:
        >>> rows, found = subword_rows(model, ["the", "thhe", ""])  # doctest: +SKIP
        >>> found.tolist()  # doctest: +SKIP
        [True, True, False]
    """
    index = model.key_to_index
    ids = np.fromiter((index.get(word, -1) for word in words), dtype=np.int64, count=len(words))
    hashes = [ngram_buckets(word, model.minn, model.maxn, model.bucket) for word in words]
    found = (ids >= 0) | np.fromiter((bool(h) for h in hashes), dtype=bool, count=len(words))
    rows = np.empty((len(words), model.dim), dtype=np.float32)
    for start in range(0, len(words), CHUNK):
        stop = start + CHUNK
        rows[start:stop] = _compose(model, ids[start:stop], hashes[start:stop])
    return rows, found


def word_vectors(model: FastTextModel, start: int = 0, stop: int | None = None) -> np.ndarray:
    """The vectors of the model's words ``start:stop`` (all by default), as gensim's ``.vectors`` holds them."""
    stop = len(model.words) if stop is None else stop
    ids = np.arange(start, stop, dtype=np.int64)
    hashes = [ngram_buckets(word, model.minn, model.maxn, model.bucket) for word in model.words[start:stop]]
    return _compose(model, ids, hashes)


def ngram_buckets(word: str, minn: int, maxn: int, bucket: int) -> list[int]:
    """The bucket of each n-gram of ``<word>``, in fastText's order (gensim's ``ft_ngram_hashes``).

    Example:
        >>> ngram_buckets("at", 3, 3, 2_000_000)
        [1096174, 351106]
    """
    if not bucket or maxn <= 0:
        return []
    from gensim.models.fasttext import ft_ngram_hashes

    try:
        return ft_ngram_hashes(word, minn, maxn, bucket)
    except UnicodeEncodeError:
        raise ArgumentError(f"{word!r} cannot be encoded as UTF-8 (it holds a lone surrogate), so it has no "
                            f"fastText n-grams") from None


def model_table(model: FastTextModel, options: ReadOptions) -> Table:
    """The model's word vectors as a table, through the reading options (limit, keep, duplicates, ...).

    With ``keep`` (and no ``on_rows``), only the kept words' vectors are computed: an alignment to a task's
    30k words composes 30k vectors, not the model's millions. ``keep`` is then called twice per word.
    """
    count = len(model.words) if options.limit is None else min(options.limit, len(model.words))
    builder = TableBuilder(model.name, FASTTEXT_FORMAT, model.dim, options, unit="offset", expected_rows=count,
                           trusted=True)
    builder.report = copy.deepcopy(model.report)
    builder.report.model = model.describe()
    only_kept = options.keep is not None and options.on_rows is None
    with _progress_bar(model, count, options.progress) as bar:
        for start in range(0, count, CHUNK):
            stop = min(start + CHUNK, count)
            tokens = model.words[start:stop]
            if only_kept:
                kept = np.flatnonzero([options.keep(token) for token in tokens])  # type: ignore[misc]
                rows = np.zeros((len(tokens), model.dim), dtype=np.float32)
                hashes = [ngram_buckets(tokens[i], model.minn, model.maxn, model.bucket) for i in kept.tolist()]
                rows[kept] = _compose(model, kept + start, hashes)
            else:
                rows = word_vectors(model, start, stop)
            builder.add_chunk(tokens, rows, model.offsets[start:stop])
            bar.update(stop - start)
    return builder.finish()


def _progress_bar(model: FastTextModel, count: int, show: bool):
    """A tqdm bar over the words (``disable``d unless ``show``), closed when the block ends."""
    from tqdm import tqdm

    return tqdm(total=count, unit="word", unit_scale=True, disable=not show,
                desc=f"{model.name.rsplit('/', 1)[-1]}: word vectors")


def _compose(model: FastTextModel, ids: np.ndarray, hashes: list[list[int]]) -> np.ndarray:
    """Sum each word's own row (``ids[i] >= 0``) and n-gram rows one after the other, then divide by their count.

    The words are ordered by their number of n-grams, so that the words still adding an n-gram at step
    ``k`` are a prefix: each step is one gather and one add over that prefix.
    """
    n, dim = len(hashes), model.dim
    lengths = np.fromiter((len(h) for h in hashes), dtype=np.int64, count=n)
    order = np.argsort(-lengths, kind="stable")
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    flat = np.fromiter((b for h in hashes for b in h), dtype=np.int64, count=int(lengths.sum()))
    acc = np.zeros((n, dim), dtype=np.float32)
    known = ids[order] >= 0
    acc[known] = model.word_rows[ids[order][known]]
    buckets = model.bucket_rows
    sorted_lengths, sorted_starts = lengths[order], starts[order]
    for k in range(int(lengths.max()) if n else 0):
        prefix = int(np.searchsorted(-sorted_lengths, -k, side="left"))  # words with more than k n-grams
        acc[:prefix] += buckets[flat[sorted_starts[:prefix] + k]]
    counts = (sorted_lengths + known).astype(np.float32)
    np.divide(acc, counts[:, None], out=acc, where=counts[:, None] > 0)
    out = np.empty_like(acc)
    out[order] = acc
    return out
