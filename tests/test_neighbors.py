"""Neighbours equal to gensim's most_similar on the same table, and gensim's KeyedVectors both ways (issue 14)."""

from __future__ import annotations

from pathlib import Path

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from gensim.test.utils import datapath

import vecload
from tests.helpers import bits
from vecload import neighbors
from vecload.cli import main

QUERIES = [(["night"], []), (["government"], []), (["night", "year"], ["day"]), ([], ["the"])]


@pytest.fixture(scope="module")
def lee() -> vecload.Vectors:
    """gensim's lee_fasttext.vec (1,762 x 10), read by vecload."""
    return vecload.load(Path(datapath("lee_fasttext.vec")))


@pytest.fixture(scope="module")
def lee_kv():
    """The same file, read by gensim."""
    from gensim.models import KeyedVectors

    return KeyedVectors.load_word2vec_format(Path(datapath("lee_fasttext.vec")))


@pytest.mark.parametrize(("positive", "negative"), QUERIES)
def test_most_similar_equals_gensims(lee: vecload.Vectors, lee_kv, positive: list[str], negative: list[str]) -> None:
    """Same neighbours in the same order, cosines equal to float32 rounding, query words left out."""
    ours = lee.most_similar(positive, negative, topn=15)
    theirs = lee_kv.most_similar(positive=positive, negative=negative, topn=15)
    assert [token for token, _ in ours] == [token for token, _ in theirs]
    assert np.allclose([s for _, s in ours], [s for _, s in theirs], rtol=0, atol=2e-6)
    assert not set(positive + negative) & {token for token, _ in ours}


def test_blocks_do_not_change_the_answer(lee: vecload.Vectors) -> None:
    """Scoring 7 rows at a time gives the rows one block gives (cosines to float32 rounding: BLAS sums differ)."""
    rows = [lee.get_index("night")]
    small = neighbors.most_similar(lee.vectors, rows, topn=20, block=7)
    whole = neighbors.most_similar(lee.vectors, rows, topn=20)
    assert [r for r, _ in small] == [r for r, _ in whole]
    assert np.allclose([s for _, s in small], [s for _, s in whole], rtol=0, atol=1e-6)


def test_similarity_equals_gensims_and_zero_rows_are_never_neighbours(lee: vecload.Vectors, lee_kv) -> None:
    """similarity matches gensim's; a row of zeros (cosine 0/0) is never returned."""
    assert lee.similarity("night", "day") == pytest.approx(float(lee_kv.similarity("night", "day")), abs=1e-6)
    table = vecload.Vectors(["a", "b", "zero", "c"], torch.tensor([[1.0, 0], [1, 0.1], [0, 0], [-1, 0]]))
    assert [token for token, _ in table.most_similar("a", topn=5)] == ["b", "c"]
    with pytest.raises(KeyError, match="'zzzq' is not in the vocabulary"):
        table.most_similar("zzzq")


def test_to_keyedvectors_shares_memory_and_keeps_keys_and_order(lee: vecload.Vectors, lee_kv) -> None:
    """Same keys and order, the same float32 memory, and gensim's own most_similar works on it."""
    kv = lee.to_keyedvectors()
    assert kv.index_to_key == lee.tokens and kv.key_to_index == lee.key_to_index
    assert kv.vectors.dtype == np.float32 and np.shares_memory(kv.vectors, lee.vectors.numpy())
    assert kv.most_similar("night", topn=5) == lee_kv.most_similar("night", topn=5)


def test_from_keyedvectors_gives_the_table_vecload_reads(lee: vecload.Vectors, lee_kv) -> None:
    """A gensim-loaded KeyedVectors becomes Vectors with identical tokens and bits, sharing its memory."""
    vectors = vecload.Vectors.from_keyedvectors(lee_kv)
    assert vectors.tokens == lee.tokens
    assert np.array_equal(bits(vectors.vectors.numpy()), bits(lee.vectors.numpy()))
    assert np.shares_memory(vectors.vectors.numpy(), lee_kv.vectors)


def test_from_keyedvectors_refuses_what_is_not_a_table_of_strings() -> None:
    """Integer keys (doc2vec tags) and other objects are refused with the row named."""
    from gensim.models import KeyedVectors

    kv = KeyedVectors(2)
    kv.add_vectors(["a", 7], np.zeros((2, 2), np.float32))
    with pytest.raises(vecload.ArgumentError, match="row 1: key 7 is not a non-empty string"):
        vecload.Vectors.from_keyedvectors(kv)
    with pytest.raises(vecload.ArgumentError, match="expected a gensim KeyedVectors, got dict"):
        vecload.Vectors.from_keyedvectors({})


def test_cli_neighbors_prints_and_refuses_unknown_words(tmp_path) -> None:
    """`vecload neighbors` gives each word's list (JSON too); an unknown word is exit 1 naming it."""
    src = str(Path(datapath("lee_fasttext.vec")))
    result = CliRunner().invoke(main, ["neighbors", src, "night", "-n", "2", "--json"])
    assert result.exit_code == 0, result.output
    assert [token for token, _ in json.loads(result.stdout)["night"]] == ["night,", "night."]
    result = CliRunner().invoke(main, ["neighbors", src, "night", "zzzq"])
    assert result.exit_code == 1 and "'zzzq'" in result.stderr
