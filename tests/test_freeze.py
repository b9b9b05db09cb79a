"""Tests of vecload.freeze (fingerprints, assert_frozen, audit) vecload.freeze_matrix and vecload.saved_check (check-frozen)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from torch import nn

import vecload
from vecload import FreezeWarning, FrozenTableModified, PretrainedEmbedding, assert_frozen, audit
from vecload.freeze_matrix import METHODS, OPTIMIZERS, Cell, _cause, check_frozen_matrix, format_matrix
from vecload.saved_check import check_saved_model, format_saved
from vecload.cli import main

# Frozen table unchanged, per method and max_norm, over OPTIMIZERS in order:
# SGD, SGD mom+wd, Adam, AdamW wd, Adagrad, SparseAdam (sparse=True). Y: bit-identical, N: changed.
EXPECTED = {
    ("requires_grad=False", False): "YYYYYY",
    ("requires_grad=False", True): "NNNNNN",
    ("requires_grad=False, set late", False): "YNNNYY",
    ("requires_grad=False, set late", True): "NNNNNN",
    ("from_pretrained(freeze=True)", False): "YYYYYY",
    ("from_pretrained(freeze=True)", True): "NNNNNN",
    ("left out of optimizer", False): "YYYYYY",
    ("left out of optimizer", True): "NNNNNN",
    ("gradient mask (hook)", False): "YNYNYY",
    ("gradient mask (hook)", True): "NNNNNN",
    ("gradient mask, set late", False): "YNNNYN",
    ("gradient mask, set late", True): "NNNNNN",
    ("PretrainedEmbedding", False): "YYYYYY",
    ("PretrainedEmbedding", True): "YYYYYY",
}


@pytest.fixture(scope="module")
def matrix() -> list[Cell]:
    """The whole check-frozen matrix, run once."""
    return check_frozen_matrix()


def test_matrix_covers_every_combination(matrix: list[Cell]) -> None:
    """Every method x optimizer x max_norm cell ran, without errors."""
    assert len(matrix) == len(METHODS) * len(OPTIMIZERS) * 2 == len(EXPECTED) * len(OPTIMIZERS)
    assert [c.error for c in matrix if c.error] == []


@pytest.mark.parametrize(("method", "max_norm"), list(EXPECTED))
def test_matrix_frozen_outcome(matrix: list[Cell], method: str, max_norm: bool) -> None:
    """Per optimizer: the frozen table is bit-identical where the method is sound, changed where not."""
    row = [c for c in matrix if c.method == method and c.max_norm == max_norm]
    got = "".join("Y" if c.frozen_unchanged else "N" for c in row)
    assert got == EXPECTED[(method, max_norm)]
    assert all(c.specials_trained for c in row)


def test_matrix_caller_tensor_changes_only_with_from_pretrained_and_max_norm(matrix: list[Cell]) -> None:
    """from_pretrained shares the caller's tensor: max_norm changes it; nothing else touches it."""
    changed = {(c.method, c.max_norm) for c in matrix if not c.caller_unchanged}
    assert changed == {("from_pretrained(freeze=True)", True)}


def test_audit_flags_every_unsound_cell(matrix: list[Cell]) -> None:
    """Every cell whose frozen table (or caller's tensor) changed has an audit finding that explains it."""
    unflagged = [(c.method, c.optimizer, c.max_norm) for c in matrix if not c.sound and not _cause(c)]
    assert unflagged == []


def test_audit_silent_on_pretrained_embedding(matrix: list[Cell]) -> None:
    """PretrainedEmbedding cells produce no finding at all."""
    assert [c.findings for c in matrix if c.method == "PretrainedEmbedding" and c.findings] == []


def test_format_matrix_names_the_reasons(matrix: list[Cell]) -> None:
    """The printed table has a row per method x max_norm and a footnote per distinct reason."""
    text = format_matrix(matrix)
    assert text.count("\n| ") == len(EXPECTED)
    assert "| PretrainedEmbedding | 1.0 | yes / yes | yes / yes |" in text
    assert "max_norm renormalises looked-up rows in place" in text
    assert "gradient masking: weight decay moves masked rows" in text
    assert "caller's tensor changed" in text


# -- assert_frozen ------------------------------------------------------------------------------------------
def _frozen_model() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Embedding(6, 3), nn.Linear(3, 2), nn.BatchNorm1d(2))
    model[0].weight.requires_grad_(False)
    return model


def test_assert_frozen_names_tensor_rows_and_change() -> None:
    """A change inside the block raises FrozenTableModified naming the tensor, the rows and the size."""
    model = _frozen_model()
    with pytest.raises(FrozenTableModified, match=r"0\.weight: 2 of 6 rows changed \(rows 1, 4\), largest change 0\.5") as info:
        with assert_frozen(model):
            with torch.no_grad():
                model[0].weight[1, 0] += 0.5
                model[0].weight[4, 2] -= 0.25
    assert info.value.changes[0]["name"] == "0.weight" and info.value.changes[0]["rows"] == [1, 4]


def test_assert_frozen_passes_training_and_ignores_running_stats() -> None:
    """Training the trainable parts (BatchNorm statistics included) does not raise."""
    model = _frozen_model()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], weight_decay=0.1)
    with assert_frozen(model):
        for _ in range(3):
            opt.zero_grad()
            model(torch.tensor([0, 1, 2, 3])).sum().backward()
            opt.step()


def test_assert_frozen_pretrained_embedding_rows_in_index_space() -> None:
    """For a PretrainedEmbedding the changed rows are given in its index space (after the specials)."""
    emb = PretrainedEmbedding(torch.ones(4, 2), ["a", "b", "c", "d"], specials=("<pad>", "<unk>"))
    with pytest.raises(FrozenTableModified, match=r"table\[2:6\]: 1 of 4 rows changed \(rows 4\)"):
        with assert_frozen(emb):
            with torch.no_grad():
                emb.table[4] = 3.0


def test_assert_frozen_scattered_frozen_rows_in_index_space() -> None:
    """With trainable= rows among the frozen ones, a changed frozen row is named by its own row number."""
    mask = torch.tensor([False, True, False, False, True])
    emb = PretrainedEmbedding(torch.ones(5, 2), ["a", "b", "c", "d", "e"], specials=("<unk>",), trainable=mask)
    with assert_frozen(emb):  # the trainable rows may move
        with torch.no_grad():
            emb.extra[1:] += 1.0
        emb(torch.tensor([2, 5]))
    with pytest.raises(FrozenTableModified, match=r"table\[frozen rows\]: 1 of 3 rows changed \(rows 4\)"):
        with assert_frozen(emb):
            with torch.no_grad():
                emb.table[4] = 3.0


def test_assert_frozen_without_detail_names_the_tensor() -> None:
    """detail=False keeps only hashes: the tensor is named, its rows are not."""
    model = _frozen_model()
    with pytest.raises(FrozenTableModified, match=r"0\.weight: bytes differ"):
        with assert_frozen(model, detail=False):
            with torch.no_grad():
                model[0].weight[0, 0] = 9.0


def test_fingerprint_frozen_is_exact() -> None:
    """The fingerprint changes with a single bit of a frozen tensor, and only then."""
    model = _frozen_model()
    before = vecload.fingerprint_frozen(model)
    assert vecload.fingerprint_frozen(model) == before and list(before) == ["0.weight"]
    with torch.no_grad():
        model[0].weight.view(torch.int32)[2, 1] ^= 1
    assert vecload.fingerprint_frozen(model) != before


# -- audit --------------------------------------------------------------------------------------------------
def _codes(model: nn.Module, optimizer=None, **kwargs) -> list[tuple[str, str]]:
    return [(f.code, f.name) for f in audit(model, optimizer, warn=False, **kwargs)]


def test_audit_max_norm_on_frozen_embedding() -> None:
    """max_norm on a frozen nn.Embedding is flagged."""
    model = nn.Sequential(nn.Embedding.from_pretrained(torch.randn(4, 2), max_norm=1.0))
    assert _codes(model) == [("max_norm", "0.weight")]
    assert _codes(model[0]) == [("max_norm", "weight")]


def test_audit_stale_grad_and_optimizer_momentum() -> None:
    """A frozen parameter holding a gradient inside an optimizer with momentum is flagged twice."""
    emb = nn.Embedding(4, 2)
    opt = torch.optim.SGD(emb.parameters(), lr=0.1, momentum=0.9)
    emb(torch.tensor([1])).sum().backward()
    emb.weight.requires_grad_(False)
    assert _codes(emb, opt) == [("stale_grad", "weight"), ("optimizer", "weight")]


def test_audit_weight_decay_and_adam_betas() -> None:
    """AdamW's weight decay and betas are what move a frozen parameter; both are named."""
    emb = nn.Embedding(4, 2)
    emb.weight.requires_grad_(False)
    findings = audit(emb, torch.optim.AdamW(emb.parameters(), weight_decay=0.1), warn=False)
    assert "weight_decay=0.1 and momentum (betas[0]=0.9)" in findings[0].message


def test_audit_gradient_hook() -> None:
    """A gradient hook on an embedding weight is flagged as gradient-mask freezing."""
    emb = nn.Embedding(4, 2)
    emb.weight.register_hook(lambda g: g * 0)
    assert _codes(emb, torch.optim.SGD(emb.parameters(), lr=0.1)) == [("grad_hook", "weight")]


@pytest.mark.parametrize(("make", "flagged"), [
    (lambda p: torch.optim.Adam(p), True),
    (lambda p: torch.optim.AdamW(p), True),
    (lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.1), True),
    (lambda p: torch.optim.SGD(p, lr=0.1), False),
    (lambda p: torch.optim.Adagrad(p), False),
    (lambda p: torch.optim.SparseAdam(p), False),
])
def test_audit_sparse_with_optimizer(make, flagged: bool) -> None:
    """sparse=True is flagged exactly with the optimizers that reject sparse gradients."""
    emb = nn.Embedding(4, 2, sparse=True)
    assert _codes(emb, make(list(emb.parameters()))) == ([("sparse", "<model>")] if flagged else [])


def test_audit_shared_from_pretrained_tensor() -> None:
    """A trainable from_pretrained weight sharing the caller's tensor is flagged; a clone is not."""
    weight = torch.randn(4, 2)
    shared = nn.Embedding.from_pretrained(weight, freeze=False)
    assert _codes(shared, sources=[weight]) == [("shared", "weight")]
    assert _codes(nn.Embedding.from_pretrained(weight.clone(), freeze=False), sources=[weight]) == []


def test_audit_left_out_of_optimizer() -> None:
    """A trainable parameter in no optimizer is flagged as frozen by omission."""
    model = nn.Sequential(nn.Embedding(4, 2), nn.Linear(2, 1))
    assert _codes(model, torch.optim.SGD(model[1].parameters(), lr=0.1)) == [("omitted", "0.weight")]


def test_audit_warns() -> None:
    """Each finding is also issued as a FreezeWarning with the fix in it."""
    model = nn.Embedding.from_pretrained(torch.randn(4, 2), max_norm=1.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        audit(model)
    assert [w.category for w in caught] == [FreezeWarning]
    assert "Fix: use vecload.PretrainedEmbedding(max_norm=...)" in str(caught[0].message)


def test_audit_clean_pretrained_embedding_with_adamw() -> None:
    """A PretrainedEmbedding with AdamW and weight decay has nothing to report."""
    emb = PretrainedEmbedding(torch.randn(4, 2), list("abcd"), max_norm=1.0)
    assert _codes(emb, torch.optim.AdamW(emb.parameters(), weight_decay=0.1)) == []


# -- saved models -------------------------------------------------------------------------------------------
def _vectors(tmp_path: Path) -> tuple[Path, vecload.Vectors]:
    generator = torch.Generator().manual_seed(0)
    vectors = vecload.Vectors([f"w{i}" for i in range(30)], torch.randn(30, 4, generator=generator))
    return vectors.save(tmp_path / "v.pth"), vectors


def test_saved_pretrained_embedding_untouched(tmp_path: Path) -> None:
    """A trained PretrainedEmbedding's state_dict holds the vectors at offset 3, bit-identical."""
    path, vectors = _vectors(tmp_path)
    model = nn.Sequential(PretrainedEmbedding(vectors, specials=("<pad>", "<unk>", "<cls>")), nn.Linear(4, 1))
    torch.save({"model": model.state_dict(), "step": 3}, tmp_path / "m.pt")
    result = check_saved_model(tmp_path / "m.pt", path)
    assert (result.key, result.offset, result.changed, result.untouched) == ("model.0.table", 3, [], True)


def test_saved_small_checkpoint_is_compared_with_the_vectors_given(tmp_path: Path) -> None:
    """A persist_frozen=False checkpoint is rebuilt from the vectors given and its fingerprint compared: the
    same file passes; other values, other tokens, another dtype or missing rows fail with exit status 1
    (vecload 0.3 reported any file untouched)."""
    path, vectors = _vectors(tmp_path)
    emb = PretrainedEmbedding(vectors, specials=("<pad>", "<unk>"), padding_idx="<pad>", extra_tokens=["oov"],
                              dtype=torch.bfloat16, persist_frozen=False)
    torch.save({"model": {"emb": emb.state_dict()}}, tmp_path / "m.pt")
    result = check_saved_model(tmp_path / "m.pt", path)
    assert (result.key, result.offset, result.untouched) == ("model.emb.table_fingerprint", None, True)
    assert "matches the table built from" in format_saved(result, tmp_path / "m.pt", path)
    changed = vectors.vectors.clone()
    changed[-1, 0] += 1  # the last row is always sampled
    others = {"values": vecload.Vectors(vectors.tokens, changed),
              "tokens": vecload.Vectors([f"x{i}" for i in range(30)], vectors.vectors),
              "rows": vecload.Vectors(vectors.tokens[:29], vectors.vectors[:29].clone())}
    for name, other in others.items():
        other_path = other.save(tmp_path / f"{name}.pth")
        with pytest.raises(vecload.IntegrityError, match="does not match the frozen table built from"):
            check_saved_model(tmp_path / "m.pt", other_path)
        args = ["check-frozen", "--model", str(tmp_path / "m.pt"), "--vectors", str(other_path)]
        run = CliRunner().invoke(main, args)
        assert run.exit_code == 1 and "give the converted file it was built from" in run.output
    wrong = dict(emb.state_dict(), extra=torch.zeros(2, 4))
    torch.save(wrong, tmp_path / "w.pt")
    shapes = r"trainable rows of shape \(2, 4\); the module built from .* has \(3, 4\)"
    with pytest.raises(vecload.IntegrityError, match=shapes):
        check_saved_model(tmp_path / "w.pt", path)
    old = {k: v for k, v in emb.state_dict().items() if k != "table_layout"}
    torch.save(old, tmp_path / "old.pt")
    with pytest.raises(vecload.IntegrityError, match="records no 'table_layout'.*call load_state_dict"):
        check_saved_model(tmp_path / "old.pt", path)


def test_saved_plain_embedding_with_changed_rows(tmp_path: Path) -> None:
    """A plain nn.Embedding with 2 specials in front and 2 changed rows: both rows named, exit status 1."""
    path, vectors = _vectors(tmp_path)
    weight = torch.cat([torch.zeros(2, 4), vectors.vectors])
    weight[5, 1] += 0.5
    weight[20] *= 2
    torch.save({"emb.weight": weight}, tmp_path / "m.pt")
    result = check_saved_model(tmp_path / "m.pt", path)
    assert (result.key, result.offset, result.changed) == ("emb.weight", 2, [3, 18])
    run = CliRunner().invoke(main, ["check-frozen", "--model", str(tmp_path / "m.pt"), "--vectors", str(path)])
    assert run.exit_code == 1
    assert "'emb.weight' holds the 30 pretrained rows at rows 2..31: 2 rows changed (rows 5, 20)" in run.output


def test_saved_model_without_the_vectors(tmp_path: Path) -> None:
    """A state_dict that does not hold the vectors says so."""
    path, _ = _vectors(tmp_path)
    torch.save({"emb.weight": torch.ones(40, 4)}, tmp_path / "m.pt")
    run = CliRunner().invoke(main, ["check-frozen", "--model", str(tmp_path / "m.pt"), "--vectors", str(path)])
    assert run.exit_code == 1 and "no tensor holds the 30 rows" in run.output and "emb.weight" in run.output


def test_cli_check_frozen_needs_both_paths(tmp_path: Path) -> None:
    """--model without --vectors is a usage error (exit 2)."""
    path, _ = _vectors(tmp_path)
    run = CliRunner().invoke(main, ["check-frozen", "--model", str(path)])
    assert run.exit_code == 2 and "--model and --vectors go together" in run.output


def test_assert_frozen_sees_sign_of_zero_and_nan() -> None:
    """Bit-level: 0.0 -> -0.0 is a change (of size 0), a new NaN is a change of size inf."""
    model = nn.Embedding.from_pretrained(torch.zeros(3, 2))
    with pytest.raises(FrozenTableModified, match=r"weight: 2 of 3 rows changed \(rows 0, 2\), largest change inf"):
        with assert_frozen(model):
            with torch.no_grad():
                model.weight[0, 0] = -0.0
                model.weight[2, 1] = float("nan")


def test_audit_sparse_pretrained_embedding_with_adam() -> None:
    """PretrainedEmbedding(sparse=True) with Adam is flagged; with SparseAdam it is not."""
    emb = PretrainedEmbedding(torch.randn(4, 2), list("abcd"), sparse=True)
    assert _codes(emb, torch.optim.Adam(emb.parameters())) == [("sparse", "<model>")]
    assert _codes(emb, torch.optim.SparseAdam(emb.parameters())) == []


def test_saved_small_checkpoint_of_an_aligned_table(tmp_path: Path) -> None:
    """A persist_frozen=False checkpoint of an aligned table checks against the aligned file, not its source."""
    from gensim.test.utils import datapath

    aligned = vecload.align(datapath("lee_fasttext.vec"), ["the", "of", "zzzq"], specials=("<pad>", "<unk>"))
    task = aligned.save(tmp_path / "task.pth")
    torch.save(aligned.to_embedding(persist_frozen=False, dtype=torch.bfloat16).state_dict(), tmp_path / "m.pt")
    assert check_saved_model(tmp_path / "m.pt", task).untouched
    source = vecload.convert(datapath("lee_fasttext.vec"), tmp_path / "lee.pth")
    with pytest.raises(vecload.IntegrityError, match="for an aligned table, the aligned file"):
        check_saved_model(tmp_path / "m.pt", source)
