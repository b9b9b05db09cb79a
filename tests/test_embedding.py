"""Tests of vecload.embedding (PretrainedEmbedding) and Vectors.to_embedding."""

from __future__ import annotations

from pathlib import Path

from gensim.test.utils import datapath
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import vecload
from vecload import PretrainedEmbedding
from vecload._embedding_lookup import lookup_compiled

GLOVE = Path(datapath("test_glove.txt"))


def _table(rows: int = 12, dim: int = 5, seed: int = 0) -> tuple[torch.Tensor, list[str]]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(rows, dim, generator=generator), [f"w{i}" for i in range(rows)]


def _emb(**kwargs) -> PretrainedEmbedding:
    weight, tokens = _table()
    options = {"specials": ("<pad>", "<unk>", "<cls>"), "padding_idx": "<pad>"} | kwargs
    return PretrainedEmbedding(weight, tokens, **options)


def _adamw_steps(module: nn.Module, indices: torch.Tensor, steps: int, weight_decay: float = 0.1) -> None:
    params = [p for p in module.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=0.05, weight_decay=weight_decay)
    for _ in range(steps):
        opt.zero_grad()
        module(indices).pow(2).sum().backward()
        opt.step()


def test_to_embedding_frozen_is_bit_identical_after_adamw() -> None:
    """Vectors.to_embedding(freeze=True): the weight is bit-identical after AdamW steps with weight decay."""
    weight, tokens = _table()
    emb = vecload.Vectors(tokens, weight).to_embedding(freeze=True)
    model = nn.Sequential(emb, nn.Linear(5, 1))
    before = weight.clone()
    _adamw_steps(model, torch.tensor([[0, 3, 7], [1, 1, 11]]), steps=5)
    assert torch.equal(emb.weight, before)
    assert torch.equal(weight, before)


def test_to_embedding_unfrozen_changes_and_leaves_caller_alone() -> None:
    """Vectors.to_embedding(freeze=False) trains a copy: the module changes, the caller's tensor does not."""
    weight, tokens = _table()
    emb = vecload.Vectors(tokens, weight).to_embedding(freeze=False)
    before = weight.clone()
    _adamw_steps(emb, torch.tensor([0, 3, 7]), steps=3)
    assert not torch.equal(emb.weight, before)
    assert torch.equal(weight, before)


def test_index_space_specials_pretrained_extra() -> None:
    """Specials come first, then the pretrained rows, then extra tokens."""
    emb = _emb(extra_tokens=["oov1", "oov2"])
    assert (emb.get_index("<pad>"), emb.get_index("<unk>"), emb.get_index("<cls>")) == (0, 1, 2)
    assert (emb.get_index("w0"), emb.get_index("w11"), emb.get_index("oov1"), emb.get_index("oov2")) == (3, 14, 15, 16)
    assert (emb.num_embeddings, emb.embedding_dim) == (17, 5)
    assert emb.tokens[:4] == ["<pad>", "<unk>", "<cls>", "w0"] and emb.tokens[-1] == "oov2"
    assert emb.pretrained_rows == range(3, 15)
    with pytest.raises(KeyError, match="'nope' is not in this embedding"):
        emb.get_index("nope")


def test_weight_is_the_whole_table() -> None:
    """emb.weight: zero pad row, the specials, the pretrained rows bit-for-bit, the extra rows."""
    weight, _ = _table()
    emb = _emb(extra_tokens=["oov"], extra_vectors=torch.full((1, 5), 0.5))
    table = emb.weight
    assert table.shape == (16, 5) and not table.requires_grad
    assert torch.equal(table[0], torch.zeros(5))
    assert torch.equal(table[1:3], emb.extra.detach()[1:3])
    assert torch.equal(table[3:15], weight)
    assert torch.equal(table[15], torch.full((5,), 0.5))


@pytest.mark.parametrize("shape", [(), (7,), (3, 4), (2, 3, 4)])
def test_forward_equals_nn_embedding_for_any_shape(shape: tuple[int, ...]) -> None:
    """forward(indices) equals nn.Embedding over emb.weight, bit-for-bit, for any index shape."""
    emb = _emb(extra_tokens=["oov"])
    reference = nn.Embedding.from_pretrained(emb.weight)
    indices = torch.randint(0, emb.num_embeddings, shape, generator=torch.Generator().manual_seed(1))
    assert torch.equal(emb(indices), reference(indices))
    assert emb(indices).shape == (*shape, 5)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("freeze", [True, False])
def test_gradients_match_nn_embedding(freeze: bool, sparse: bool) -> None:
    """Gradients equal nn.Embedding's; the frozen rows get none, the pad row none."""
    emb = _emb(extra_tokens=["oov"], freeze=freeze, sparse=sparse)
    reference = nn.Embedding.from_pretrained(emb.weight, freeze=False, padding_idx=0, sparse=sparse)
    indices = torch.tensor([[0, 1, 2, 3], [15, 9, 9, 0]])
    upstream = torch.randn(2, 4, 5, generator=torch.Generator().manual_seed(2))
    (emb(indices) * upstream).sum().backward()
    (reference(indices) * upstream).sum().backward()
    expected = reference.weight.grad.to_dense()
    assert emb.extra.grad.is_sparse == sparse
    got = emb.extra.grad.to_dense()
    assert torch.equal(got[:3], expected[:3]) and torch.equal(got[3:], expected[15:])
    if freeze:
        assert isinstance(emb.table, torch.Tensor) and not isinstance(emb.table, nn.Parameter)
    else:
        table_grad = emb.table.grad.to_dense()
        assert torch.equal(table_grad[3:15], expected[3:15])
        assert torch.equal(table_grad[:3], torch.zeros(3, 5))


def test_freeze_values() -> None:
    """freeze=True/'pretrained' trains only extra rows, 'all' trains nothing, False/'none' trains all."""
    assert [n for n, _ in _emb(freeze=True).named_parameters()] == ["extra"]
    assert [n for n, _ in _emb(freeze="pretrained").named_parameters()] == ["extra"]
    assert list(_emb(freeze="all").parameters()) == []
    assert sorted(n for n, _ in _emb(freeze=False).named_parameters()) == ["extra", "table"]
    assert sorted(_emb(freeze="all").state_dict()) == sorted(_emb().state_dict()) == ["extra", "table"]
    with pytest.raises(ValueError, match="freeze must be"):
        _emb(freeze="yes")


def test_frozen_rows_unchanged_under_every_optimizer_state() -> None:
    """With weight decay and momentum, the pretrained rows stay bit-identical; optimizers never see them."""
    weight, tokens = _table()
    emb = PretrainedEmbedding(weight, tokens, specials=("<unk>",))
    opt = torch.optim.SGD(emb.parameters(), lr=0.5, momentum=0.9, weight_decay=0.5)
    assert [p for g in opt.param_groups for p in g["params"]] == [emb.extra]
    for _ in range(5):
        opt.zero_grad(set_to_none=False)
        emb(torch.tensor([0, 1, 5])).sum().backward()
        opt.step()
    assert torch.equal(emb.pretrained, weight)


def test_pad_row_stays_zero_under_weight_decay() -> None:
    """The pad row reads as exactly zero and gets no gradient, with AdamW weight decay."""
    emb = _emb()
    _adamw_steps(emb, torch.tensor([[0, 0, 1, 4], [2, 0, 3, 0]]), steps=10, weight_decay=0.5)
    assert torch.equal(emb.weight[0], torch.zeros(5))
    assert torch.equal(emb(torch.tensor([0])), torch.zeros(1, 5))
    assert torch.equal(emb.extra.detach()[0], torch.zeros(5))


def test_padding_idx_on_a_pretrained_row_as_nn_embedding() -> None:
    """A pretrained row as padding_idx keeps its value and gets no gradient, as nn.Embedding.from_pretrained."""
    weight, tokens = _table()
    emb = PretrainedEmbedding(weight, tokens, specials=("<unk>",), padding_idx=5, freeze=False)
    reference = nn.Embedding.from_pretrained(emb.weight.clone(), freeze=False, padding_idx=5)
    indices = torch.tensor([[5, 1, 0], [5, 5, 2]])
    assert torch.equal(emb(indices), reference(indices)) and torch.equal(emb.weight[5], weight[4])
    emb(indices).sum().backward()
    reference(indices).sum().backward()
    assert torch.equal(emb.table.grad, torch.cat([torch.zeros(1, 5), reference.weight.grad[1:]]))
    assert torch.equal(emb.extra.grad[0], reference.weight.grad[0])
    with pytest.raises(vecload.ArgumentError, match="padding_idx 40 is outside the 13 rows"):
        PretrainedEmbedding(weight, tokens, specials=("<unk>",), padding_idx=40)
    assert _emb(padding_idx=-15).padding_idx == 0


def test_duplicate_tokens_are_refused() -> None:
    """A special that is also a pretrained token is refused, naming both rows."""
    weight, tokens = _table()
    with pytest.raises(ValueError, match=r"'w3' is both row 0 \(a special\) and row 4 \(a pretrained row\)"):
        PretrainedEmbedding(weight, tokens, specials=("w3",))


def test_plain_tensor_needs_tokens() -> None:
    """A plain tensor without tokens is refused."""
    with pytest.raises(vecload.ArgumentError, match="needs its tokens"):
        PretrainedEmbedding(torch.zeros(3, 2))


def test_specials_init_is_seeded_and_leaves_global_rng_alone() -> None:
    """The same seed gives the same specials; the global RNG state is untouched."""
    state = torch.random.get_rng_state()
    a, b, c = _emb(seed=3), _emb(seed=3), _emb(seed=4)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(a.extra, b.extra) and not torch.equal(a.extra, c.extra)


def test_max_norm_scales_output_never_the_table() -> None:
    """max_norm clips looked-up vectors like nn.Embedding but leaves the stored rows bit-identical."""
    weight, tokens = _table()
    weight = weight * 3
    emb = PretrainedEmbedding(weight, tokens, specials=(), max_norm=1.0)
    reference = nn.Embedding.from_pretrained(weight.clone(), max_norm=1.0)
    indices = torch.arange(12)
    # The norm comes from a different kernel than torch.embedding_renorm_: equal to float32 rounding.
    torch.testing.assert_close(emb(indices), reference(indices), rtol=0, atol=1e-6)
    assert torch.equal(emb.pretrained, weight)


def test_state_dict_round_trip(tmp_path: Path) -> None:
    """state_dict saved with torch.save loads (weights_only=True) into a fresh module, bit-for-bit."""
    emb = _emb()
    _adamw_steps(emb, torch.tensor([1, 2, 4]), steps=3)
    torch.save(emb.state_dict(), tmp_path / "emb.pt")
    other = _emb(seed=9)
    other.load_state_dict(torch.load(tmp_path / "emb.pt", weights_only=True))
    assert torch.equal(other.weight, emb.weight)
    indices = torch.tensor([0, 1, 2, 3, 14])
    assert torch.equal(other(indices), emb(indices))


def test_dtype_and_device_moves() -> None:
    """.double() and .to('meta') move both parts; lookups follow."""
    emb = _emb().double()
    assert emb(torch.tensor([1, 4])).dtype == torch.float64
    meta = _emb().to("meta")
    assert meta(torch.tensor([1, 4], device="meta")).shape == (2, 5)


def test_autocast_cpu_bf16() -> None:
    """Under CPU bf16 autocast the lookup is unchanged (float32, as nn.Embedding)."""
    emb = _emb()
    indices = torch.tensor([[0, 1, 5]])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = emb(indices)
        out.sum().backward()
    assert out.dtype == torch.float32
    assert torch.equal(out, emb(indices))


def test_no_grad_and_inference_mode() -> None:
    """Lookups work under no_grad and inference_mode and give the same values."""
    emb = _emb()
    indices = torch.tensor([0, 2, 9])
    expected = emb(indices).detach()
    with torch.no_grad():
        assert torch.equal(emb(indices), expected)
    with torch.inference_mode():
        assert torch.equal(emb(indices), expected)


def test_compile_path_equals_eager() -> None:
    """The compile-time lookup (two gathers and a select) equals the eager one, values and gradients."""
    emb = _emb(extra_tokens=["oov"])
    indices = torch.tensor([[0, 1, 2, 3], [15, 9, 9, 0]])
    eager = emb(indices)
    eager.pow(2).sum().backward()
    grad = emb.extra.grad.clone()
    emb.extra.grad = None
    options = (emb.padding_idx, False, False)
    traced = lookup_compiled(indices, emb.table, emb.extra, emb._slot, options)
    traced.pow(2).sum().backward()
    assert torch.equal(traced, eager)
    assert torch.equal(emb.extra.grad, grad)


def test_torch_compile() -> None:
    """torch.compile (aot_eager backend, no C compiler needed) gives the eager values and gradients."""
    if not hasattr(torch, "compile") or "aot_eager" not in torch._dynamo.list_backends(exclude_tags=()):
        pytest.skip("torch.compile or its aot_eager backend is not available")
    emb = _emb()
    indices = torch.tensor([[0, 1, 2, 3], [4, 9, 9, 0]])
    eager = emb(indices).detach()
    out = torch.compile(emb, backend="aot_eager", fullgraph=True)(indices)  # a failure here is a real failure
    assert torch.equal(out, eager)
    out.sum().backward()
    assert emb.extra.grad[0].abs().sum() == 0 and emb.extra.grad[1].abs().sum() > 0


def test_copy_false_shares_when_nothing_is_added() -> None:
    """copy=False shares the caller's memory when there are no specials; copy=True never does."""
    weight, tokens = _table()
    shared = PretrainedEmbedding(weight, tokens, specials=(), copy=False)
    assert shared.table.data_ptr() == weight.data_ptr()
    assert PretrainedEmbedding(weight, tokens, specials=()).table.data_ptr() != weight.data_ptr()


def test_acceptance_converted_glove_three_specials_adamw(tmp_path: Path) -> None:
    """From a converted file, 3 specials, 50 AdamW steps (wd 0.1): pretrained bit-identical, specials moved, pad zero."""
    converted = vecload.convert(GLOVE, tmp_path / "glove.pth")
    vectors = vecload.load(converted)
    original = vectors.vectors.clone()
    emb = PretrainedEmbedding(vectors, specials=("<pad>", "<unk>", "<cls>"), padding_idx="<pad>")
    model = nn.Sequential(emb, nn.Linear(vectors.vector_size, 3))
    specials_before = emb.weight[:3].clone()
    opt = torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.1)
    generator = torch.Generator().manual_seed(0)
    with vecload.assert_frozen(model):
        for _ in range(50):
            indices = torch.randint(0, emb.num_embeddings, (8, 10), generator=generator)
            indices[:, :2] = torch.tensor([1, 2])
            indices[:, -2:] = 0
            loss = F.cross_entropy(model(indices).mean(1), torch.randint(0, 3, (8,), generator=generator))
            opt.zero_grad()
            loss.backward()
            opt.step()
    table = emb.weight
    assert torch.equal(table[3:], original)
    assert torch.equal(vectors.vectors, original)
    assert torch.equal(table[0], torch.zeros(vectors.vector_size))
    assert not torch.equal(table[1], specials_before[1]) and not torch.equal(table[2], specials_before[2])


def test_whole_module_pickles(tmp_path: Path) -> None:
    """torch.save of the whole module (not just its state_dict) works and loads back equal."""
    emb = _emb()
    emb(torch.tensor([1]))
    torch.save(emb, tmp_path / "emb.pt")
    other = torch.load(tmp_path / "emb.pt", weights_only=False)  # our own file, written just above
    assert torch.equal(other(torch.tensor([0, 1, 5])), emb(torch.tensor([0, 1, 5])))


def test_optimizer_step_is_seen_by_next_lookup() -> None:
    """A trainable row updated in place by an optimizer is what the next lookup returns."""
    emb = _emb()
    emb(torch.tensor([1]))
    with torch.no_grad():
        emb.extra[1] += 1.0
    assert torch.equal(emb(torch.tensor([1]))[0], emb.extra.detach()[1])


def test_bad_constructor_arguments_are_argument_errors() -> None:
    """A string where a list of specials goes, an unsupported dtype, or something that is not vectors:
    ArgumentError naming it (a str was split into one-character specials; None raised AttributeError)."""
    vectors = vecload.Vectors(["a", "b"], torch.eye(2))
    for kwargs, says in [({"specials": "<pad>"}, "specials must be a sequence of str tokens"),
                         ({"extra_tokens": "ab"}, "extra_tokens must be a sequence of str tokens"),
                         ({"dtype": torch.int64}, "dtype must be one of")]:
        with pytest.raises(vecload.ArgumentError, match=says):
            PretrainedEmbedding(vectors, **kwargs)
    with pytest.raises(vecload.ArgumentError, match="PretrainedEmbedding takes vecload.Vectors"):
        PretrainedEmbedding(None)


def test_an_empty_batch_with_max_norm_gives_an_empty_output() -> None:
    """max_norm over a batch of no indices returns [0, 7, dim], as nn.Embedding does (it crashed in min())."""
    emb = PretrainedEmbedding(vecload.Vectors(["a", "b", "c"], torch.randn(3, 4)), max_norm=0.5)
    assert emb(torch.zeros(0, 7, dtype=torch.long)).shape == (0, 7, 4)


def test_copy_false_never_lets_load_state_dict_write_the_callers_tensor() -> None:
    """With copy=False the module shares the caller's tensor: a state_dict of the same rows loads (nothing is
    written), one with other frozen rows is refused instead of overwriting the caller's memory."""
    weight = torch.randn(5, 3, generator=torch.Generator().manual_seed(2))
    kept = weight.clone()
    emb = PretrainedEmbedding(weight, list("abcde"), specials=(), copy=False)
    emb.load_state_dict(emb.state_dict())
    with pytest.raises(vecload.IntegrityError, match=r"shares the caller's tensor \(copy=False\)"):
        emb.load_state_dict({"table": torch.zeros(5, 3), "extra": emb.extra.detach()})
    assert torch.equal(weight, kept)


def test_a_trainable_pretrained_padding_row_keeps_its_value_as_in_nn_embedding() -> None:
    """padding_idx on a pretrained row that trains keeps that row's vector and gets no gradient, as
    nn.Embedding.from_pretrained(freeze=False, padding_idx=...) (it was zeroed)."""
    values = torch.randn(10, 4, generator=torch.Generator().manual_seed(3))
    trainable = torch.zeros(10, dtype=torch.bool)
    trainable[3] = True
    emb = PretrainedEmbedding(vecload.Vectors([f"w{i}" for i in range(10)], values), specials=(),
                              trainable=trainable, padding_idx=3)
    reference = torch.nn.Embedding.from_pretrained(values.clone(), freeze=False, padding_idx=3)
    assert torch.equal(emb(torch.tensor([3])), reference(torch.tensor([3])))
    emb(torch.tensor([3, 3])).sum().backward()
    torch.optim.SGD(emb.parameters(), lr=1.0).step()
    assert torch.equal(emb(torch.tensor([3]))[0], values[3])
