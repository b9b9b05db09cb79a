"""Tests of how PretrainedEmbedding builds its table and index space: the token view, the new rows' std
read from the source, and the aligned-table entry points (issue 13's review)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import vecload
from vecload import PretrainedEmbedding
from vecload._cast import _clean_file_mapping, cast_rows, take_rows
from vecload._embedding_state import STD_ROWS


def _table(rows: int = 12, dim: int = 5, seed: int = 0) -> tuple[torch.Tensor, list[str]]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(rows, dim, generator=generator), [f"w{i}" for i in range(rows)]


def test_tokens_view_reads_as_the_list_it_replaces() -> None:
    """emb.tokens shares the vectors' list yet indexes, slices, iterates and compares as the copied list did."""
    weight, tokens = _table()
    vectors = vecload.Vectors(tokens, weight)
    emb = PretrainedEmbedding(vectors, specials=("<pad>", "<unk>"), extra_tokens=["oov"])
    expected = ["<pad>", "<unk>", *tokens, "oov"]
    assert emb.tokens == expected and expected == emb.tokens and emb.tokens != expected[:-1]
    assert list(emb.tokens) == expected and len(emb.tokens) == 15
    assert [emb.tokens[i] for i in (0, 2, 13, 14, -1, -15)] == ["<pad>", "w0", "w11", "oov", "oov", "<pad>"]
    assert emb.tokens[1:4] == ["<unk>", "w0", "w1"] and emb.tokens[::-5] == expected[::-5]
    assert emb.tokens.index("w3") == 5 and "oov" in emb.tokens
    with pytest.raises(IndexError, match="row 15 is outside the 15 rows"):
        emb.tokens[15]


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_new_rows_std_is_that_of_the_finished_table(dtype: torch.dtype) -> None:
    """The default std (read from the source before the table exists) is the std of the table's sampled rows."""
    weight, tokens = _table(rows=2 * STD_ROWS + 7, dim=3)
    weight[5] = float("nan")  # a non-finite value is left out, as before
    emb = PretrainedEmbedding(weight, tokens, specials=("<pad>", "<unk>"), extra_tokens=["oov"], dtype=dtype, seed=4)
    rows = emb.pretrained[torch.linspace(0, len(tokens) - 1, STD_ROWS).long()].float()
    std = float(rows[torch.isfinite(rows)].std())
    expected = (torch.randn(3, 3, generator=torch.Generator().manual_seed(4)) * std).to(dtype)
    assert torch.equal(emb.extra.detach(), expected)


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="madvise on Linux only")
def test_cast_of_a_mapped_file_in_small_chunks_is_exact(tmp_path: Path) -> None:
    """A converted file cast chunk by chunk (read with pread) equals one .to(); the mapping reads the same after."""
    weight, tokens = _table(rows=3000, dim=7)
    vecload.Vectors(tokens, weight).save(tmp_path / "t.pth")
    vectors = vecload.load(tmp_path / "t.pth")
    assert _clean_file_mapping(vectors.vectors) is not None  # read with pread, not through the mapping
    out = cast_rows(vectors.vectors, dtype=torch.bfloat16, chunk_bytes=1000)
    assert torch.equal(out, weight.to(torch.bfloat16)) and torch.equal(vectors.vectors, weight)


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="pread of the mapping on Linux only")
def test_cast_reads_what_the_mapping_holds_not_what_the_file_holds(tmp_path: Path) -> None:
    """A mapped table written in place, or whose file was replaced after loading, casts to the values in memory."""
    weight, tokens = _table(rows=500, dim=6)
    vecload.Vectors(tokens, weight).save(tmp_path / "t.pth")
    edited = vecload.load(tmp_path / "t.pth")
    edited.vectors[7] = 42.0  # copied on write: the file still holds the old row
    assert _clean_file_mapping(edited.vectors) is None
    assert torch.equal(cast_rows(edited.vectors, dtype=torch.bfloat16), edited.vectors.to(torch.bfloat16))
    assert float(take_rows(edited.vectors, torch.tensor([7, 3]), torch.empty(2, 6))[0, 0]) == 42.0
    kept = vecload.load(tmp_path / "t.pth")
    vecload.Vectors(tokens, weight + 1).save(tmp_path / "t.pth", force=True)  # renamed over the mapped file
    assert torch.equal(cast_rows(kept.vectors, dtype=torch.float16, chunk_bytes=700), weight.half())
    assert torch.equal(take_rows(kept.vectors, torch.tensor([499, 0]), torch.empty(2, 6)), weight[[499, 0]])


def _aligned(tmp_path: Path) -> tuple[vecload.Aligned, Path]:
    """An alignment of three task words to gensim's lee_fasttext.vec (one OOV), saved and its path."""
    from gensim.test.utils import datapath

    aligned = vecload.align(datapath("lee_fasttext.vec"), ["the", "of", "zzzq"], specials=("<pad>", "<unk>"))
    return aligned, aligned.save(tmp_path / "task.pth")


def test_aligned_file_loaded_back_becomes_an_embedding_without_from_vectors(tmp_path: Path) -> None:
    """PretrainedEmbedding(vecload.load(aligned file)) reads the alignment from the file's metadata: the same
    module as from the Aligned itself (vecload 0.3: '<pad>' is both a special and a pretrained row)."""
    aligned, path = _aligned(tmp_path)
    loaded = vecload.load(path)
    for emb in (PretrainedEmbedding(loaded), PretrainedEmbedding.from_aligned(loaded)):
        assert emb.tokens == ["<pad>", "<unk>", "the", "of", "zzzq"] and emb.padding_idx == 0
        assert emb.trainable_rows.tolist() == [1, 4] and torch.equal(emb.weight, aligned.vectors)


def test_from_aligned_padding_idx_none_opts_out_of_the_pad_row(tmp_path: Path) -> None:
    """from_aligned / to_embedding / the constructor: padding_idx=None means no padding row; the default the pad's."""
    aligned, _ = _aligned(tmp_path)
    assert aligned.to_embedding().padding_idx == 0 and PretrainedEmbedding(aligned).padding_idx == 0
    for emb in (PretrainedEmbedding.from_aligned(aligned, padding_idx=None), aligned.to_embedding(padding_idx=None),
                PretrainedEmbedding(aligned, padding_idx=None)):
        assert emb.padding_idx is None and emb.trainable_rows.tolist() == [1, 4]
    trained = PretrainedEmbedding.from_aligned(aligned, padding_idx=None, trainable=torch.tensor([True, True, False,
                                                                                                False, True]))
    trained(torch.tensor([0, 0])).sum().backward()  # the pad row, no longer padding, trains when marked
    assert trained.extra.grad[0].abs().sum() > 0


def test_to_embedding_has_from_aligneds_arguments() -> None:
    """Aligned.to_embedding takes exactly from_aligned's arguments (keyword-only after the first) and calls it."""
    import inspect

    def rest(function: object) -> list[tuple[str, object, object]]:
        parameters = list(inspect.signature(function).parameters.values())[1:]
        return [(p.name, p.kind, p.default) for p in parameters]

    assert rest(vecload.Aligned.to_embedding) == rest(PretrainedEmbedding.from_aligned)
    with pytest.raises(TypeError, match="positional"):
        PretrainedEmbedding.from_aligned(None, True)


def test_building_an_embedding_does_not_import_torch_dynamo() -> None:
    """Importing and building a PretrainedEmbedding leaves torch._dynamo (70 MiB, 1.8 s) unimported."""
    import subprocess
    import sys

    code = ("import sys, torch, vecload\nweight = torch.zeros(3, 2)\n"
            "vecload.PretrainedEmbedding(weight, ['a', 'b', 'c'], sparse=True)(torch.tensor([1]))\n"
            "assert 'torch._dynamo' not in sys.modules, 'torch._dynamo was imported'\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-500:]


def test_tokens_slices_in_every_direction() -> None:
    """Slices of emb.tokens (any start, stop and step, empty ones included) equal those of the list."""
    weight, tokens = _table(rows=6)
    emb = PretrainedEmbedding(weight, tokens, specials=("<pad>", "<unk>"), extra_tokens=["x", "y"])
    expected = ["<pad>", "<unk>", *tokens, "x", "y"]
    for index in (slice(None), slice(1, 9), slice(7, 3), slice(-3, None), slice(None, None, -2), slice(8, 1, -3),
                  slice(2, 100), slice(-100, 2)):
        assert emb.tokens[index] == expected[index]
