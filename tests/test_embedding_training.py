"""Tests of PretrainedEmbedding in training set-ups: aligned tables, row masks, checkpoints, DDP, dtype and
device, torch.compile, and the bugs of issue 13 (each test here failed on vecload 0.2)."""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

import pytest
from gensim.test.utils import datapath
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch import nn

import vecload
from vecload import PretrainedEmbedding
from vecload._cast import _file_backed, cast_rows



def _lee() -> Path:
    """gensim's lee_fasttext.vec (1,762 x 10), found when a test runs (DDP's spawned ranks skip gensim's import)."""
    return Path(datapath("lee_fasttext.vec"))


def _table(rows: int = 12, dim: int = 5, seed: int = 0) -> tuple[torch.Tensor, list[str]]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(rows, dim, generator=generator), [f"w{i}" for i in range(rows)]


def _train(model: nn.Module, indices: torch.Tensor, steps: int, weight_decay: float = 0.1) -> None:
    """AdamW steps on a squared-output loss, over the trainable parameters."""
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.05, weight_decay=weight_decay)
    for _ in range(steps):
        opt.zero_grad()
        model(indices).pow(2).sum().backward()
        opt.step()


@pytest.fixture(scope="module")
def aligned_30k() -> vecload.Aligned:
    """lee_fasttext.vec (1,762 real rows) aligned to a 30,000-token task vocabulary: its tokens + made-up ones."""
    tokens = vecload.load(_lee()).tokens
    task = tokens + [f"madeup{i}" for i in range(30_000 - len(tokens))]
    return vecload.align(_lee(), task, specials=("<pad>", "<unk>"), oov="normal")


# -- aligned tables and row masks ---------------------------------------------------------------------------
def test_aligned_30k_trains_oov_and_specials_found_rows_bit_identical(aligned_30k) -> None:
    """From an aligned 30k-token table: AdamW(weight_decay) trains OOV rows and <unk>; found rows and pad stay."""
    aligned = aligned_30k
    emb = PretrainedEmbedding.from_aligned(aligned)
    found = torch.tensor([o not in ("pad", "special", "oov") for o in aligned.origins])
    assert emb.num_embeddings == len(aligned) == 30_002 and emb.padding_idx == aligned.pad_index == 0
    assert sorted(emb.trainable_rows.tolist()) == aligned.trainable_mask.nonzero().flatten().tolist()
    model = nn.Sequential(emb, nn.Linear(emb.embedding_dim, 1))
    generator = torch.Generator().manual_seed(0)
    indices = torch.randint(0, emb.num_embeddings, (64, 12), generator=generator)
    indices[:, 0], indices[:, 1] = 0, 1
    before = aligned.vectors.clone()
    with vecload.assert_frozen(model):
        _train(model, indices, steps=5)
    table = emb.weight
    assert torch.equal(table[found], before[found])
    assert torch.equal(table[0], torch.zeros(emb.embedding_dim))
    used_oov = torch.zeros(len(aligned), dtype=torch.bool)
    used_oov[indices.flatten()] = True
    used_oov &= torch.tensor([o == "oov" for o in aligned.origins])
    assert (table[used_oov] != before[used_oov]).any(1).all() and not torch.equal(table[1], before[1])
    assert torch.equal(aligned.vectors, before)


def test_plain_constructor_takes_an_aligned_table(aligned_30k) -> None:
    """PretrainedEmbedding(aligned) (the issue's repro, which raised '<pad>' is both row 0 and row 2) = from_aligned."""
    emb = PretrainedEmbedding(aligned_30k)
    other = PretrainedEmbedding.from_aligned(aligned_30k)
    assert emb.tokens == aligned_30k.tokens and torch.equal(emb.weight, other.weight)
    assert torch.equal(emb.trainable_rows, other.trainable_rows)
    shifted = PretrainedEmbedding(aligned_30k, specials=("<cls>",))
    assert shifted.padding_idx == 1 and shifted.trainable_rows.tolist() == [0, *(emb.trainable_rows + 1).tolist()]
    with pytest.raises(vecload.ArgumentError, match="this Vectors carries no alignment"):
        PretrainedEmbedding.from_aligned(vecload.load(_lee()))


def test_aligned_file_loaded_again_becomes_an_embedding(tmp_path: Path) -> None:
    """The issue's repro: PretrainedEmbedding(Aligned.from_vectors(vecload.load(aligned .pth))): OOV and <unk> train."""
    aligned = vecload.align(_lee(), ["the", "of", "zzzq"], specials=("<pad>", "<unk>"))
    aligned.save(tmp_path / "task.pth")
    emb = PretrainedEmbedding(vecload.Aligned.from_vectors(vecload.load(tmp_path / "task.pth")))
    assert emb.tokens == ["<pad>", "<unk>", "the", "of", "zzzq"] and emb.padding_idx == 0
    assert emb.trainable_rows.tolist() == [1, 4] and torch.equal(emb.weight, aligned.vectors)


def test_trainable_mask_trains_exactly_those_rows() -> None:
    """trainable= (any bool mask) trains the marked rows from their values; the rest stay bit-identical."""
    weight, tokens = _table()
    mask = torch.zeros(12, dtype=torch.bool)
    mask[[2, 7, 8]] = True
    emb = PretrainedEmbedding(weight, tokens, specials=("<unk>",), trainable=mask)
    assert emb.trainable_rows.tolist() == [0, 3, 8, 9] and torch.equal(emb.extra.detach()[1:], weight[mask])
    _train(emb, torch.arange(13), steps=3)
    moved = (emb.weight[1:] != weight).any(1)
    assert torch.equal(moved, mask)
    with pytest.raises(vecload.ArgumentError, match="trainable must be a bool tensor of 12 entries"):
        PretrainedEmbedding(weight, tokens, trainable=torch.ones(11, dtype=torch.bool))


# -- checkpoints ---------------------------------------------------------------------------------------------
def test_state_dict_has_current_specials_without_a_forward() -> None:
    """After an optimizer step, state_dict()['table'] holds the new specials (vecload 0.2: the old ones)."""
    weight, tokens = _table()
    emb = PretrainedEmbedding(weight, tokens)
    opt = torch.optim.SGD(emb.parameters(), lr=1.0)
    emb(torch.tensor([1, 3])).sum().backward()
    opt.step()
    state = emb.state_dict()
    assert torch.equal(state["table"][1], state["extra"][1])
    assert torch.equal(nn.Embedding.from_pretrained(state["table"]).weight[1], emb.extra.detach()[1])


def test_persist_frozen_false_is_small_and_checks_the_table(tmp_path: Path) -> None:
    """persist_frozen=False saves trainable rows and a fingerprint; it loads into the same table only."""
    weight, tokens = _table(rows=2000, dim=50)
    emb = PretrainedEmbedding(weight, tokens, specials=("<pad>", "<unk>", "<cls>"), padding_idx="<pad>",
                              persist_frozen=False)
    _train(emb, torch.tensor([1, 2, 7]), steps=2)
    assert sorted(emb.state_dict()) == ["extra", "table_fingerprint", "table_layout"]
    torch.save(emb.state_dict(), tmp_path / "ckpt.pt")
    assert (tmp_path / "ckpt.pt").stat().st_size < 5_000
    fresh = PretrainedEmbedding(weight.clone(), tokens, specials=("<pad>", "<unk>", "<cls>"), padding_idx="<pad>")
    fresh.load_state_dict(torch.load(tmp_path / "ckpt.pt", weights_only=True))
    assert torch.equal(fresh.weight, emb.weight)
    changed = weight.clone()
    changed[-1, 0] += 1  # the last row is always among the sampled ones
    other = PretrainedEmbedding(changed, tokens, specials=("<pad>", "<unk>", "<cls>"), padding_idx="<pad>")
    with pytest.raises(vecload.IntegrityError, match="saved from a different frozen table"):
        other.load_state_dict(torch.load(tmp_path / "ckpt.pt", weights_only=True))
    halved = PretrainedEmbedding(weight, tokens, specials=("<pad>", "<unk>", "<cls>"), padding_idx="<pad>",
                                 dtype=torch.bfloat16)
    with pytest.raises(vecload.IntegrityError, match="another file, dtype"):
        halved.load_state_dict(torch.load(tmp_path / "ckpt.pt", weights_only=True))
    with pytest.raises(RuntimeError, match='Missing key.*"table"'):
        other.load_state_dict({"extra": emb.extra.detach()})


def test_full_checkpoint_of_another_shape_is_refused() -> None:
    """A full state_dict of a table of another shape is refused, naming both shapes."""
    weight, tokens = _table()
    small = PretrainedEmbedding(weight[:5], tokens[:5])
    with pytest.raises(vecload.IntegrityError, match=r"holds a \(14, 5\) table, this module a \(7, 5\) one"):
        small.load_state_dict(PretrainedEmbedding(weight, tokens).state_dict())


# -- the bugs listed in issue 13 ---------------------------------------------------------------------------
def test_init_std_zero_gives_zero_rows() -> None:
    """init_std=0.0 means zero initial rows (vecload 0.2 read it as 1.0)."""
    weight, tokens = _table()
    emb = PretrainedEmbedding(weight, tokens, specials=("<unk>", "<cls>"), extra_tokens=["oov"], init_std=0.0)
    assert torch.equal(emb.extra.detach(), torch.zeros(3, 5))


def test_weight_is_a_view_not_a_copy() -> None:
    """emb.weight shares the table's memory (vecload 0.2 copied the whole table on every access)."""
    weight, tokens = _table()
    emb = PretrainedEmbedding(weight, tokens)
    assert emb.weight.data_ptr() == emb.table.data_ptr() and not emb.weight.requires_grad


@pytest.mark.parametrize("freeze", [True, False])
def test_scale_grad_by_freq_as_nn_embedding(freeze: bool) -> None:
    """scale_grad_by_freq divides each row's gradient by its count in the batch, as nn.Embedding does."""
    weight, tokens = _table()
    emb = PretrainedEmbedding(weight, tokens, specials=("<pad>", "<unk>"), padding_idx=0, freeze=freeze,
                              scale_grad_by_freq=True)
    reference = nn.Embedding.from_pretrained(emb.weight.clone(), freeze=False, padding_idx=0, scale_grad_by_freq=True)
    indices = torch.tensor([[1, 1, 1, 0, 4], [4, 9, 1, 0, 0]])
    upstream = torch.randn(2, 5, 5, generator=torch.Generator().manual_seed(3))
    (emb(indices) * upstream).sum().backward()
    (reference(indices) * upstream).sum().backward()
    assert torch.equal(emb.extra.grad, reference.weight.grad[:2])
    if not freeze:
        assert torch.equal(emb.table.grad[2:], reference.weight.grad[2:])


def test_compiled_and_eager_agree_on_every_index() -> None:
    """Under torch.compile every index, out of range included, gives what eager gives (0.2: the <unk> row)."""
    weight, tokens = _table()
    emb = PretrainedEmbedding(weight, tokens, specials=("<pad>", "<unk>"), padding_idx="<pad>", extra_tokens=["x"])
    compiled = torch.compile(emb, backend="aot_eager", dynamic=False)
    inside = torch.arange(emb.num_embeddings)
    assert torch.equal(compiled(inside), emb(inside))
    for bad in (emb.num_embeddings, -1):
        with pytest.raises(IndexError, match="index out of range"):
            emb(torch.tensor([1, bad]))
        with pytest.raises(IndexError, match="index out of range"):
            compiled(torch.tensor([1, bad]))


def test_compiled_max_norm_renormalises_as_eager() -> None:
    """With max_norm, the compiled module renormalises the same trainable rows in place and returns the same values."""
    weight, tokens = _table()
    eager, traced = (PretrainedEmbedding(weight * 3, tokens, specials=("<unk>", "<cls>"), init_std=3.0, max_norm=1.0)
                     for _ in range(2))
    compiled = torch.compile(traced, backend="aot_eager", dynamic=False)
    for indices in (torch.tensor([[0, 5, 5, 1]]), torch.tensor([[4, 6, 7, 9]])):  # the second reads no special
        torch.testing.assert_close(compiled(indices), eager(indices), rtol=0, atol=1e-6)
    torch.testing.assert_close(traced.extra, eager.extra, rtol=0, atol=1e-6)
    assert (eager.extra.detach().norm(dim=1) < 1.0 + 1e-6).all() and torch.equal(traced.pretrained, weight * 3)


def test_audit_silent_on_copy_false() -> None:
    """audit(sources=[weight]) finds nothing on PretrainedEmbedding(copy=False) (0.2: a false 'shared')."""
    weight, tokens = _table()
    emb = PretrainedEmbedding(weight, tokens, specials=(), copy=False)
    assert emb.table.data_ptr() == weight.data_ptr()
    opt = torch.optim.AdamW(emb.parameters(), weight_decay=0.1)
    assert vecload.audit(emb, opt, sources=[weight], warn=False) == []


@pytest.mark.parametrize("freeze", [True, False])
def test_max_norm_as_nn_embedding_except_frozen_rows(freeze: bool) -> None:
    """max_norm: values and gradients as nn.Embedding's, trainable rows renormalised in place, frozen rows never."""
    weight, tokens = _table()
    weight = weight * 3  # every row longer than 1
    mask = torch.zeros(12, dtype=torch.bool)
    mask[[0, 4]] = True
    emb = PretrainedEmbedding(weight, tokens, specials=(), trainable=mask, max_norm=1.0, freeze=freeze)
    reference = nn.Embedding.from_pretrained(weight.clone(), freeze=False, max_norm=1.0)
    indices = torch.tensor([[0, 4, 7], [4, 9, 0]])
    upstream = torch.randn(2, 3, 5, generator=torch.Generator().manual_seed(4))
    out, expected = emb(indices), reference(indices)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)
    (out * upstream).sum().backward()
    (expected * upstream).sum().backward()
    torch.testing.assert_close(emb.extra.grad, reference.weight.grad[[0, 4]], rtol=0, atol=1e-6)
    torch.testing.assert_close(emb.extra.detach(), reference.weight.detach()[[0, 4]], rtol=0, atol=1e-6)
    if freeze:  # nn.Embedding also rewrote rows 7 and 9; the frozen table did not change
        assert torch.equal(emb.weight[[7, 9]], weight[[7, 9]])
        assert not torch.equal(reference.weight.detach()[[7, 9]], weight[[7, 9]])
    else:  # everything trains: every looked-up row renormalised in place, as nn.Embedding
        torch.testing.assert_close(emb.weight, reference.weight.detach(), rtol=0, atol=1e-6)
        torch.testing.assert_close(emb.table.grad[[7, 9]], reference.weight.grad[[7, 9]], rtol=0, atol=1e-6)


def test_get_index_default_and_contains() -> None:
    """get_index(key, default) as gensim's: the row, the default, or KeyError; `in` agrees."""
    weight, tokens = _table()
    emb = PretrainedEmbedding(weight, tokens)
    assert (emb.get_index("w0"), emb.get_index("nope", -1), "w3" in emb, "nope" in emb) == (2, -1, True, False)
    with pytest.raises(KeyError, match="'nope' is not in this embedding"):
        emb.get_index("nope")


# -- dtype and device --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_dtype_builds_the_table_in_that_dtype(tmp_path: Path, dtype: torch.dtype) -> None:
    """dtype=: the table is the converted file's rows cast to it; the file's tensor stays float32."""
    vectors = vecload.load(vecload.convert(_lee(), tmp_path / "lee.pth"))
    emb = PretrainedEmbedding(vectors, specials=("<pad>",), padding_idx=0, dtype=dtype)
    assert emb.table.dtype == emb.extra.dtype == dtype and vectors.vectors.dtype == torch.float32
    assert torch.equal(emb.pretrained, vectors.vectors.to(dtype))
    assert emb(torch.tensor([0, 5])).dtype == dtype


def test_device_meta_allocates_nothing() -> None:
    """device='meta' builds the module's shapes without memory; lookups give meta tensors."""
    weight, tokens = _table()
    emb = PretrainedEmbedding(weight, tokens, device="meta", dtype=torch.bfloat16)
    assert emb.table.device.type == emb.extra.device.type == "meta"
    assert emb(torch.tensor([1, 4], device="meta")).shape == (2, 5)


def test_cast_rows_in_chunks_equals_one_cast() -> None:
    """cast_rows copies chunk by chunk (here 3 rows at a time) to exactly what one .to() gives."""
    weight, _ = _table(rows=10, dim=4)
    out = cast_rows(weight, dtype=torch.bfloat16, device="cpu", chunk_bytes=48)
    assert torch.equal(out, weight.to(torch.bfloat16))
    assert cast_rows(weight) is weight


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pages are handed back on Linux only")
def test_cast_rows_hands_back_only_file_pages(tmp_path: Path) -> None:
    """A converted file's mapped tensor is seen as file-backed (its pages are released); a tensor in memory never."""
    vectors = vecload.load(vecload.convert(_lee(), tmp_path / "lee.pth"))
    assert _file_backed(vectors.vectors) and not _file_backed(vectors.vectors.clone())
    assert torch.equal(cast_rows(vectors.vectors, dtype=torch.float16, chunk_bytes=4096), vectors.vectors.half())
    assert torch.equal(vectors.vectors, vecload.load(tmp_path / "lee.pth").vectors)


# -- DistributedDataParallel -------------------------------------------------------------------------------
class _BufferTable(nn.Module):
    """The control: a frozen table held as a buffer (as vecload 0.2 did), plus trainable specials."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("table", weight.clone())
        self.extra = nn.Parameter(torch.zeros(2, weight.shape[1]))

    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        return F.embedding(indices, self.table) + F.embedding(indices.clamp(max=1), self.extra)


def _ddp_worker(rank: int, folder: str) -> None:
    """One gloo rank: count bytes DDP broadcasts for PretrainedEmbedding and for the control."""
    torch.set_num_threads(1)  # first: a forked rank must not enter the parent's OpenMP pool
    dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=2)
    moved = [0]
    broadcast = dist._broadcast_coalesced

    def counting(group, tensors, *args, **kwargs):  # every buffer/parameter sync of DDP goes through here
        moved[0] += sum(t.numel() * t.element_size() for t in tensors)
        return broadcast(group, tensors, *args, **kwargs)

    dist._broadcast_coalesced = counting
    weight = torch.full((1000, 16), float(rank))  # each rank its own table: a sync would overwrite rank 1's
    tokens = [f"w{i}" for i in range(1000)]
    result, keep = {}, []
    for name in ("ours", "control"):
        torch.manual_seed(rank)  # different initial specials: DDP must make them agree
        module = (PretrainedEmbedding(weight, tokens, specials=("<pad>", "<unk>"), padding_idx="<pad>")
                  if name == "ours" else _BufferTable(weight))
        moved[0] = 0
        with warnings.catch_warnings():
            warnings.simplefilter("error", FutureWarning)
            model = nn.parallel.DistributedDataParallel(module)
        keep.append(model)  # never torn down: see the end
        _train(model, torch.tensor([[1, 5, 9, 1]]), steps=3)
        extra = module.extra.detach().clone()
        gathered = [torch.empty_like(extra) for _ in range(2)]
        dist.all_gather(gathered, extra)
        own_rows = module.pretrained if name == "ours" else module.table
        result[name] = {"bytes": moved[0], "own_table": torch.equal(own_rows, weight),
                        "extra_agree": torch.equal(gathered[0], gathered[1])}
    try:
        PretrainedEmbedding(weight, tokens, sparse=True)
    except vecload.ArgumentError as exc:
        result["sparse"] = str(exc)
    torch.save(result, f"{folder}/rank{rank}.pt")
    dist.barrier()
    # Exit without destructors: on torch 2.13, freeing a DDP model's reducer (or the gloo process group)
    # joins gloo's worker thread while holding the GIL, and that thread may need the GIL to free its
    # last work: a deadlock seen here about once in a few runs.
    os._exit(0)


def test_ddp_never_moves_the_frozen_table(tmp_path: Path) -> None:
    """2 gloo ranks, DDP defaults: the control broadcasts its table at init and per step; ours moves none of it."""
    # fork: the ranks start in a second instead of importing torch again (10-19 s on a busy 2-core machine);
    # each rank runs on one thread, so no OpenMP pool is entered after the fork.
    ranks = mp.start_processes(_ddp_worker, args=(str(tmp_path),), nprocs=2, join=False, start_method="fork")
    deadline = time.monotonic() + 60
    while not ranks.join(timeout=1):
        if time.monotonic() > deadline:
            for process in ranks.processes:
                process.kill()
            pytest.fail("the 2 DDP ranks did not finish within 60 s")
    table_bytes = 1000 * 16 * 4
    for rank in (0, 1):
        result = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        assert result["control"]["bytes"] >= 4 * table_bytes  # at construction and at each of 3 forwards
        assert not result["control"]["own_table"] or rank == 0  # rank 1's table was overwritten by rank 0's
        assert result["ours"]["bytes"] < table_bytes // 10  # the specials and nothing else
        assert result["ours"]["own_table"] and result["ours"]["extra_agree"] and result["control"]["extra_agree"]
        assert "sparse=True under torch.distributed" in result["sparse"]


@pytest.mark.parametrize("how", ["fused", "data"])
def test_updates_that_move_no_version_counter_still_train(how: str) -> None:
    """A fused optimizer step, or an update through .data, writes the trainable rows without moving their
    version counter: the next lookup and the state_dict still see them (they were silently stale)."""
    vectors = vecload.Vectors([f"w{i}" for i in range(6)], torch.randn(6, 4, generator=torch.Generator().manual_seed(0)))
    emb = PretrainedEmbedding(vectors, specials=("<pad>", "<unk>"), padding_idx=0)
    frozen = emb.table[2:].clone()
    before = emb(torch.tensor([1])).clone()
    if how == "fused":
        opt = torch.optim.AdamW(emb.parameters(), lr=0.1, fused=True)
        emb(torch.tensor([1, 1])).pow(2).sum().backward()
        opt.step()
    else:
        emb.extra.data += 1.0
    after = emb(torch.tensor([1]))
    assert not torch.equal(after, before)
    assert torch.equal(after[0], emb.extra.detach()[emb._slot[1]].to(after.dtype))
    assert torch.equal(emb.state_dict()["table"][1], after[0])
    assert torch.equal(emb.table[2:], frozen) and not emb(torch.tensor([0])).any()


def test_a_small_checkpoint_refuses_another_vocabulary_or_layout(tmp_path) -> None:
    """persist_frozen=False: swapped tokens (same values), other specials or extra tokens, or another padding
    row are refused on load with IntegrityError; the same module layout loads."""
    tokens = [f"w{i}" for i in range(6)]
    values = torch.randn(6, 4, generator=torch.Generator().manual_seed(1))
    saved = PretrainedEmbedding(vecload.Vectors(tokens, values), specials=("<pad>", "<unk>"), padding_idx="<pad>",
                                persist_frozen=False).state_dict()
    swapped = tokens[:]
    swapped[2], swapped[3] = swapped[3], swapped[2]
    others = [
        dict(vectors=vecload.Vectors(swapped, values), specials=("<pad>", "<unk>"), padding_idx="<pad>"),
        dict(vectors=vecload.Vectors(tokens, values), specials=("<unk>", "<pad>"), padding_idx="<pad>"),
        dict(vectors=vecload.Vectors(tokens, values), specials=("<pad>", "<unk>"), padding_idx=None),
        dict(vectors=vecload.Vectors(tokens, values), specials=("<pad>", "<unk>"), padding_idx="<pad>",
             extra_tokens=["oov2"]),
    ]
    for kwargs in others:
        other = PretrainedEmbedding(kwargs.pop("vectors"), persist_frozen=False, **kwargs)
        with pytest.raises(vecload.IntegrityError):
            other.load_state_dict(saved, strict=False)
    same = PretrainedEmbedding(vecload.Vectors(tokens, values), specials=("<pad>", "<unk>"), padding_idx="<pad>",
                               persist_frozen=False)
    same.load_state_dict(saved)


def test_a_meta_table_is_never_copied_as_values() -> None:
    """A table on the meta device has no values: building a CPU embedding from it is an ArgumentError
    (it returned uninitialised memory)."""
    meta = vecload.load(datapath("lee_fasttext.vec"), device="meta")
    assert meta.vectors.device.type == "meta"
    with pytest.raises(vecload.ArgumentError, match="meta device holds no values"):
        meta.to_embedding(device="cpu")
    with pytest.raises(vecload.ArgumentError, match="meta device holds no values"):
        PretrainedEmbedding(meta, device="cpu")
