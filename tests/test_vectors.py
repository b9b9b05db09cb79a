"""The converted form (tensor + vocabulary), vecload.load and vecload.convert."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from gensim.test.utils import datapath
from torch import nn

import vecload
from tests.helpers import FIXTURES, bits, reference_parse, records, rewrite
from vecload.errors import IntegrityError, OutputExistsError, ParseError
from vecload.store import sample_rows


def test_convert_real_glove_gives_the_exact_float32_tensor(tmp_path: Path) -> None:
    """glove.6B.50d's head converts to a [76, 50] float32 tensor equal to its decimals in float32."""
    src = Path(datapath("test_glove.txt"))
    out = vecload.convert(src, tmp_path / "glove.pth")
    weight = torch.load(out, weights_only=True)
    assert weight.shape == torch.Size([76, 50]) and weight.dtype == torch.float32
    tokens, values = reference_parse(src)
    assert np.array_equal(bits(weight.numpy()), bits(values))
    assert torch.equal(torch.load(out, weights_only=True, mmap=True), weight)
    assert json.loads(records(out)[0]) == tokens and vecload.load(out).tokens == tokens
    assert [p.name for p in tmp_path.iterdir()] == ["glove.pth"]
    embedding = nn.Embedding.from_pretrained(torch.load(out, weights_only=True), freeze=True)
    assert torch.equal(embedding(torch.tensor([tokens.index("the")]))[0], torch.from_numpy(values[tokens.index("the")]))


def test_round_trip_convert_then_load(tmp_path: Path) -> None:
    """load() of a converted file returns the same tokens and bits as load() of its source."""
    src = Path(datapath("euclidean_vectors.bin"))
    direct = vecload.load(src)
    converted = vecload.load(vecload.convert(src, tmp_path / "e.pth"))
    assert converted.tokens == direct.tokens
    assert np.array_equal(bits(converted.vectors.numpy()), bits(direct.vectors.numpy()))
    assert converted.meta["format"] == "word2vec-binary"
    assert converted.meta["source"]["name"] == "euclidean_vectors.bin"
    assert converted.meta["count"] == len(direct) and converted.meta["dim"] == direct.vector_size


def test_vectors_lookup_api(tmp_path: Path) -> None:
    """len, in, [] and index() agree with the row order of the file."""
    vectors = vecload.load(FIXTURES / "tiny.w2v.txt")
    tokens, values = reference_parse(FIXTURES / "tiny.w2v.txt")
    assert len(vectors) == 4 and vectors.vector_size == 3 and vectors.tokens == tokens
    assert "café" in vectors and "missing" not in vectors
    assert vectors.get_index("café") == 2
    assert torch.equal(vectors["café"], torch.from_numpy(values[2]))
    with pytest.raises(KeyError, match="'missing' is not in the vocabulary"):
        vectors.get_index("missing")


def test_vectors_has_gensim_and_torchtext_names() -> None:
    """key_to_index, index_to_key, get_index(default), iteration, list lookup and get_vecs_by_tokens."""
    vectors = vecload.load(FIXTURES / "tiny.w2v.txt")
    tokens, values = reference_parse(FIXTURES / "tiny.w2v.txt")
    assert vectors.index_to_key == tokens and list(vectors) == tokens
    assert vectors.key_to_index == {token: row for row, token in enumerate(tokens)}
    assert vectors.get_index("missing", default=-1) == -1 and vectors.get_index(tokens[1]) == 1
    assert torch.equal(vectors[[tokens[2], tokens[0]]], torch.from_numpy(values[[2, 0]]))
    with pytest.raises(KeyError, match="'missing' is not in the vocabulary"):
        vectors[[tokens[0], "missing"]]
    got = vectors.get_vecs_by_tokens([tokens[3], "missing"])
    assert torch.equal(got[0], torch.from_numpy(values[3])) and torch.equal(got[1], torch.zeros(3))
    assert torch.equal(vectors.get_vecs_by_tokens("missing", default=torch.ones(3)), torch.ones(3))
    with pytest.raises(vecload.ArgumentError, match=r"default must have shape \(3,\)"):
        vectors.get_vecs_by_tokens("x", default=torch.ones(2))


def test_default_output_sits_beside_the_source_without_extensions(tmp_path: Path) -> None:
    """glove.6B.50d.txt.gz converts to one file, glove.6B.50d.pth, beside it."""
    src = tmp_path / "glove.6B.50d.txt.gz"
    shutil.copy(FIXTURES / "tiny.glove.txt.gz", src)
    out = vecload.convert(src)
    assert out == tmp_path / "glove.6B.50d.pth"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["glove.6B.50d.pth", "glove.6B.50d.txt.gz"]


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    """An existing output is left alone unless force=True."""
    out = tmp_path / "t.pth"
    out.write_bytes(b"precious")
    with pytest.raises(OutputExistsError, match="already exists; pass force=True"):
        vecload.convert(FIXTURES / "tiny.glove.txt", out)
    assert out.read_bytes() == b"precious"
    vecload.convert(FIXTURES / "tiny.glove.txt", out, force=True)
    assert torch.load(out, weights_only=True).shape == (4, 3)


def test_failed_conversion_writes_nothing(tmp_path: Path) -> None:
    """A malformed source leaves no output and no temporary file behind."""
    with pytest.raises(ParseError):
        vecload.convert(FIXTURES / "bad" / "short-row.txt", tmp_path / "x.pth")
    assert list(tmp_path.iterdir()) == []


def test_vocabulary_paired_with_the_wrong_tensor_is_refused(tmp_path: Path) -> None:
    """Swapping in another tensor of the same shape fails the fingerprint check."""
    out = vecload.convert(FIXTURES / "tiny.glove.txt", tmp_path / "a.pth")
    other = vecload.convert(FIXTURES / "tiny.w2v.bin", tmp_path / "b.pth")
    weight = torch.load(other, weights_only=True)
    weight[1, 1] += 1.0
    rewrite(out, tensor=weight)
    with pytest.raises(IntegrityError, match="the tensor does not match its fingerprint"):
        vecload.load(out)


def test_verify_hashes_every_byte(tmp_path: Path) -> None:
    """verify=True notices a change outside the sampled rows; the default sample check passes it."""
    src = tmp_path / "big.txt"
    rows = 3000
    src.write_text("".join(f"w{i} {i}.5 -{i}.25\n" for i in range(rows)), encoding="utf-8")
    out = vecload.convert(src, tmp_path / "big.pth")
    weight = torch.load(out, weights_only=True)
    sampled = set(sample_rows(rows).tolist())
    row = next(r for r in range(rows) if r not in sampled)
    weight[row, 0] = 42.0
    rewrite(out, tensor=weight)
    assert vecload.load(out).vectors[row, 0] == 42.0
    with pytest.raises(IntegrityError, match="do not match the fingerprint"):
        vecload.load(out, verify=True)


def test_pair_written_by_vecload_0_1_is_refused_with_the_fix(tmp_path: Path) -> None:
    """A bare-tensor .pth with NAME.vocab.json beside it (vecload 0.1) is refused, saying to convert again."""
    out = tmp_path / "a.pth"
    torch.save(torch.zeros(4, 3), out)
    (tmp_path / "a.vocab.json").write_text('{"kind": "vecload-vocabulary", "layout": 1, "tokens": []}', encoding="utf-8")
    with pytest.raises(IntegrityError, match=r"a\.pth: was written by vecload 0\.1 .*a\.vocab\.json.*convert the source "
                                             r"again \(vecload convert SRC -o .*a\.pth --force\)"):
        vecload.load(out)


def test_to_embedding_frozen_table_survives_adamw_with_weight_decay() -> None:
    """A frozen embedding's weight is bit-identical after AdamW steps; freeze=False does move it."""
    vectors = vecload.load(datapath("test_glove.txt"))
    before = vectors.vectors.clone()
    for freeze in (True, False):
        torch.manual_seed(0)
        embedding = vectors.to_embedding(freeze=freeze)
        head = nn.Linear(vectors.vector_size, 2)
        params = [p for p in [*embedding.parameters(), *head.parameters()] if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=0.1, weight_decay=0.1)
        for _ in range(5):
            optimizer.zero_grad()
            loss = head(embedding(torch.arange(len(vectors)))).pow(2).mean()
            loss.backward()
            optimizer.step()
        changed = not torch.equal(embedding.weight.detach(), before)
        assert changed is (not freeze)
    assert torch.equal(vectors.vectors, before)


def test_save_with_progress_writes_the_same_file(tmp_path: Path) -> None:
    """The progress bar only observes the write: both files hold the same bytes."""
    vectors = vecload.load(datapath("lee_fasttext.vec"))
    plain = vectors.save(tmp_path / "plain.pth")
    shown = vectors.save(tmp_path / "shown.pth", progress=True)
    assert torch.equal(torch.load(plain, weights_only=True), torch.load(shown, weights_only=True))
    assert vecload.load(shown, verify=True).tokens == vectors.tokens


@pytest.mark.parametrize("tokens", [["a\nb", "c"], ["", "x"], ["only"]])
def test_any_token_round_trips_through_the_vocabulary(tmp_path: Path, tokens: list[str]) -> None:
    """Tokens with newlines (stored as a list), empty tokens and single tokens come back exactly."""
    vectors = vecload.Vectors(tokens, torch.arange(len(tokens) * 2, dtype=torch.float32).reshape(-1, 2))
    assert vecload.load(vectors.save(tmp_path / "t.pth")).tokens == tokens


def test_empty_table_round_trips(tmp_path: Path) -> None:
    """A table with no rows, saved explicitly, verifies and loads (convert refuses to write one)."""
    out = vecload.Vectors([], torch.zeros(0, 3)).save(tmp_path / "e.pth")
    loaded = vecload.load(out, verify=True)
    assert loaded.tokens == [] and tuple(loaded.vectors.shape) == (0, 3)


def test_bad_arguments_are_argument_errors_and_missing_tokens_token_not_found(tmp_path: Path) -> None:
    """Every bad argument is an ArgumentError (a ValueError too); a missing token is TokenNotFound, which is
    also a KeyError as gensim's lookups raise; both are VecloadErrors."""
    vectors = vecload.load(FIXTURES / "tiny.w2v.txt")
    with pytest.raises(vecload.TokenNotFound, match=r"^'zzqx' is not in the vocabulary \(4 tokens\)$") as missing:
        vectors["zzqx"]
    assert isinstance(missing.value, KeyError) and isinstance(missing.value, vecload.VecloadError)
    calls = {
        "look up a token or a list of tokens, got int": lambda: vectors[0],
        "a token is a str, got list": lambda: vectors.get_index(["x"]),
        "topn must be a whole number of at least 1": lambda: vectors.most_similar(vectors.tokens[0], topn=0),
        "freeze must be True or False": lambda: vectors.to_embedding(freeze="no"),
        "padding_idx must be a row number of the 4 rows": lambda: vectors.to_embedding(padding_idx=4),
        "expected a path .str or os.PathLike., got NoneType": lambda: vecload.load(None),
        "expected a path .str or os.PathLike., got int": lambda: vecload.convert(3),
        "keep must be a function of a token": lambda: vecload.load(FIXTURES / "tiny.w2v.txt", keep=5),
        "limit must be a whole number of at least 1, got '5'": lambda: vecload.export(vectors, tmp_path / "x.txt",
                                                                                      limit="5"),
    }
    for message, call in calls.items():
        with pytest.raises(vecload.ArgumentError, match=message):
            call()
    assert ["a"] not in vectors and 0 not in vectors
    assert list(tmp_path.iterdir()) == []
