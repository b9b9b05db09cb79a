"""Tests for vecload.SubwordEmbedding: gensim's vectors for any token, shared memory, and freezing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from gensim.models.fasttext import load_facebook_vectors

from gensim.test.utils import datapath

import vecload
from tests.helpers import bits
from vecload.formats import open_source
from vecload.formats.fasttext import read_model

TOKENS = ["goverment", "recieved", "australiaa", "паровоз", "rechtsschutzversicherungsgesellschaften", "", "x"]


@pytest.mark.parametrize("name", ["lee_fasttext.bin", "non_ascii_fasttext.bin", None])
def test_output_equals_gensim_for_known_and_unseen_tokens(name: str | None, fasttext_bin: Path) -> None:
    """embed() gives gensim's kv[token] bit for bit on the CPU; a token without n-grams gets zeros."""
    path = Path(datapath(name)) if name else fasttext_bin
    kv = load_facebook_vectors(str(path))
    embedding = vecload.SubwordEmbedding.from_pretrained(path)
    tokens = TOKENS + kv.index_to_key[:200]
    expected = np.array([kv[t] if t in kv.key_to_index or kv.get_vector(t).any() else np.zeros(kv.vector_size)
                         for t in tokens], dtype=np.float32)
    out = embedding.embed(tokens)
    assert out.dtype == torch.float32 and out.shape == (len(tokens), kv.vector_size)
    assert np.array_equal(bits(out.numpy()), bits(expected))


def test_encode_gives_embedding_bag_input(fasttext_bin: Path) -> None:
    """encode() returns each token's bag: its own row first when known, then its n-gram buckets after the words."""
    embedding = vecload.SubwordEmbedding.from_pretrained(fasttext_bin)
    known = embedding.words[0]
    input, offsets = embedding.encode([known, "zzqx", ""])
    words = len(embedding.words)
    assert input.dtype == torch.int64 and offsets.tolist()[0] == 0
    first, second = input[: offsets[1]].tolist(), input[offsets[1]: offsets[2]].tolist()
    assert first[0] == 0 and all(i >= words for i in first[1:]) and len(first) > 1
    assert all(i >= words for i in second) and offsets[2] == len(input)  # "" has no n-gram of 3 to 5 chars
    assert torch.equal(embedding(input, offsets)[2], torch.zeros(embedding.embedding_dim))
    with pytest.raises(vecload.ArgumentError, match="a list of tokens, not one string"):
        embedding.encode("word")


def test_table_is_the_model_matrix_not_a_copy(fasttext_bin: Path) -> None:
    """The EmbeddingBag's weight is the array read from the file (same memory): no second bucket table."""
    model = read_model(open_source(fasttext_bin))
    embedding = vecload.SubwordEmbedding(model)
    assert embedding.bag.weight.data_ptr() == model.matrix.ctypes.data
    assert embedding.num_embeddings == len(model.words) + 3000 and embedding.embedding_dim == 16


def test_frozen_by_default_and_guarded_by_assert_frozen(fasttext_bin: Path) -> None:
    """freeze=True: no gradient reaches the table and assert_frozen catches a change; freeze=False trains it."""
    embedding = vecload.SubwordEmbedding.from_pretrained(fasttext_bin)
    head = torch.nn.Linear(16, 2)
    model = torch.nn.Sequential()
    model.add_module("embedding", embedding)
    model.add_module("head", head)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    with vecload.assert_frozen(model):
        head(embedding.embed(TOKENS)).sum().backward()
        optimizer.step()
    assert embedding.bag.weight.grad is None
    with pytest.raises(vecload.FrozenTableModified, match="bag.weight"):
        with vecload.assert_frozen(model):
            embedding.bag.weight.data[-1] += 1
    trainable = vecload.SubwordEmbedding.from_pretrained(fasttext_bin, freeze=False)
    before = trainable.embed(["goverment"]).detach().clone()
    trainable.embed(["goverment"]).sum().backward()
    torch.optim.SGD(trainable.parameters(), lr=0.5).step()
    assert not torch.equal(trainable.embed(["goverment"]), before)
