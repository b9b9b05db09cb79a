"""Tests for vecload.align: real vectors (gensim's lee_fasttext.vec) aligned to the Lee corpus vocabulary."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from gensim.test.utils import datapath

import vecload
from vecload.alignment import Aligned
from vecload.alignment.vocab import read_task_vocab
from vecload.cli import main
from vecload.errors import ArgumentError, IntegrityError, ParseError, VecloadError
from vecload.formats import ReadOptions, read_table
from tests.helpers import bits

VEC = Path(datapath("lee_fasttext.vec"))
SPECIALS = ("<pad>", "<unk>")


@pytest.fixture(scope="module")
def source() -> tuple[list[str], np.ndarray]:
    """The source's tokens and rows as gensim's own loader gives them (the reference)."""
    from gensim.models import KeyedVectors

    kv = KeyedVectors.load_word2vec_format(str(VEC), binary=False)
    return list(kv.index_to_key), np.asarray(kv.vectors, dtype=np.float32)


@pytest.fixture(scope="module")
def counts() -> Counter:
    """Whitespace-split token counts of gensim's Lee test corpus (Latin-1 text)."""
    return Counter(Path(datapath("lee.cor")).read_bytes().decode("latin-1").split())


@pytest.fixture(scope="module")
def vocab(counts: Counter) -> dict[str, int]:
    """The task vocabulary: most frequent first, ties in first-seen order."""
    return dict(counts.most_common())


@pytest.fixture(scope="module")
def aligned(vocab: dict[str, int]) -> Aligned:
    """The corpus vocabulary aligned with exact then lowercase lookup and normal OOV rows."""
    return vecload.align(VEC, vocab, lookup=("exact", "lower"), oov="normal", seed=7)


def _expected_match(token: str, src_tokens: list[str]) -> tuple[str, str | None]:
    """The step and source token that should match ``token``, by a plain scan of the source."""
    if token in src_tokens:
        return "exact", token
    for src in src_tokens:
        if src.lower() == token.lower():
            return "lower", src
    return "oov", None


def _stats(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and population std: float64 sums row after row, as documented."""
    total = np.zeros(rows.shape[1])
    squares = np.zeros(rows.shape[1])
    for row in rows.astype(np.float64):
        total += row
        squares += row * row
    mean = total / len(rows)
    return mean, np.sqrt(np.maximum(squares / len(rows) - mean * mean, 0.0))


def test_found_rows_equal_source_rows(aligned: Aligned, source, vocab) -> None:
    """Every found token's row is, bit for bit, the row the file gives its matched source token."""
    src_tokens, src_rows = source
    index = {t: i for i, t in enumerate(src_tokens)}
    assert aligned.tokens == [*SPECIALS, *vocab]
    found = 0
    for row, (token, origin, matched) in enumerate(zip(aligned.tokens, aligned.origins, aligned.matched)):
        if origin in ("pad", "special", "oov"):
            assert matched is None
            continue
        assert (origin, matched) == _expected_match(token, src_tokens)
        assert np.array_equal(bits(aligned.vectors[row].numpy()), bits(src_rows[index[matched]]))
        found += 1
    assert found == 713


def test_report_counts_are_exact(aligned: Aligned, source, vocab) -> None:
    """The coverage report's counts equal an independent count by type and by token."""
    src_tokens, _ = source
    by_type: Counter = Counter()
    by_token: Counter = Counter()
    missing = []
    for token, count in vocab.items():
        step, _ = _expected_match(token, src_tokens)
        by_type[step] += 1
        by_token[step] += count
        if step == "oov":
            missing.append((-count, len(missing), token, count))
    report = aligned.coverage
    assert report.types == len(vocab) == 1870
    assert report.found == {"exact": by_type["exact"], "lower": by_type["lower"]} == {"exact": 674, "lower": 39}
    assert report.oov == by_type["oov"] == 1157
    assert report.tokens == sum(vocab.values())
    assert report.found_tokens == {"exact": by_token["exact"], "lower": by_token["lower"]}
    assert report.oov_tokens == by_token["oov"]
    assert report.missing == [[t, c] for _, _, t, c in sorted(missing)[:20]]
    assert report.source_rows == 1762 and report.specials == list(SPECIALS) and report.specials_in_vocab == []


def test_specials_sit_where_asked_and_pad_is_zero(vocab) -> None:
    """Specials come first in the given order; the pad row is all +0.0 bits wherever it is."""
    a = vecload.align(VEC, list(vocab)[:50], specials=("<unk>", "<bos>", "<pad>"), pad="<pad>", oov="normal")
    assert a.tokens[:3] == ["<unk>", "<bos>", "<pad>"] and a.tokens[3:] == list(vocab)[:50]
    assert a.pad_index == 2 and a.origins[:3] == ["special", "special", "pad"]
    assert not np.any(bits(a.vectors[2].numpy()))
    assert np.all(a.vectors[[0, 1]].numpy() != 0)
    none = vecload.align(VEC, ["the"], specials=(), pad=None)
    assert none.tokens == ["the"] and none.pad_index is None


def test_normal_oov_rows_use_pretrained_mean_and_std(aligned: Aligned, source) -> None:
    """OOV and non-pad special rows are float32(mean + std * N(0,1)) from default_rng(seed), in row order."""
    _, src_rows = source
    mean, std = _stats(src_rows)
    init = aligned.meta["align"]["oov_init"]
    assert init["method"] == "normal" and init["seed"] == 7 and init["stats_rows"] == 1762
    assert np.array_equal(np.array(init["mean"]), mean) and np.array_equal(np.array(init["std"]), std)
    assert np.allclose(mean, src_rows.astype(np.float64).mean(axis=0), rtol=1e-12, atol=1e-15)
    assert np.allclose(std, src_rows.astype(np.float64).std(axis=0), rtol=1e-9)
    rows = [i for i, o in enumerate(aligned.origins) if o in ("special", "oov")]
    assert rows[0] == 1 and len(rows) == 1 + 1157
    draws = mean + std * np.random.default_rng(7).standard_normal((len(rows), src_rows.shape[1]))
    assert np.array_equal(bits(aligned.vectors[rows].numpy()), bits(draws.astype(np.float32)))


def test_oov_seed_reproducible_and_seeds_differ(vocab) -> None:
    """The same seed gives the same rows; another seed changes only the initialised rows."""
    tokens = list(vocab)[:300]
    a = vecload.align(VEC, tokens, oov="normal", seed=3)
    b = vecload.align(VEC, tokens, oov="normal", seed=3)
    c = vecload.align(VEC, tokens, oov="normal", seed=4)
    assert torch.equal(a.vectors, b.vectors)
    init = a.trainable_mask
    assert init.sum() > 10
    assert torch.equal(a.vectors[~init], c.vectors[~init])
    assert not torch.any(a.vectors[init] == c.vectors[init])


@pytest.mark.parametrize("oov", ["zeros", "mean", "uniform"])
def test_other_oov_initialisations(oov: str, vocab, source) -> None:
    """zeros, mean and uniform (mean ± sqrt(3)·std) give exactly the documented rows."""
    _, src_rows = source
    a = vecload.align(VEC, list(vocab)[:300], oov=oov, seed=11)
    rows = a.trainable_mask.nonzero().flatten().tolist()
    mean, std = _stats(src_rows)
    if oov == "zeros":
        expected = np.zeros((len(rows), src_rows.shape[1]), dtype=np.float32)
    elif oov == "mean":
        expected = np.tile(mean.astype(np.float32), (len(rows), 1))
    else:
        draws = mean + np.sqrt(3.0) * std * np.random.default_rng(11).uniform(-1.0, 1.0, (len(rows), src_rows.shape[1]))
        expected = draws.astype(np.float32)
    assert np.array_equal(bits(a.vectors[rows].numpy()), bits(expected))


def test_exact_beats_lowercase_and_first_in_file_order_wins(source) -> None:
    """'The' matches itself although 'the' comes first; 'THE' takes the first of 'the'/'The' in file order."""
    src_tokens, _ = source
    assert src_tokens.index("the") < src_tokens.index("The")
    a = vecload.align(VEC, ["The", "THE", "tHe"], lookup=("exact", "lower"), specials=(), pad=None)
    assert a.origins == ["exact", "lower", "lower"] and a.matched == ["The", "the", "the"]
    assert a.coverage.found == {"exact": 1, "lower": 2}
    only_exact = vecload.align(VEC, ["The", "THE"], specials=(), pad=None)
    assert only_exact.origins == ["exact", "oov"]


def test_digits_normaliser_and_custom_step(source) -> None:
    """'digits' maps 4-digit years to the first 4-digit source token; a named function is a step too."""
    src_tokens, _ = source
    first_four = next(t for t in src_tokens if len(t) == 4 and t.isdigit())
    a = vecload.align(VEC, ["1066", "Said", "said.."], specials=(), pad=None,
                      lookup=("exact", "digits", "lower", ("nodot", lambda t: t.rstrip("."))))
    assert a.origins == ["digits", "lower", "nodot"]
    first_nodot = next(t for t in src_tokens if t.rstrip(".") == "said")
    assert first_nodot == "said."  # 'said.' comes before 'said' in the file, so it wins the key
    assert a.matched == [first_four, "said", first_nodot]
    assert a.coverage.found == {"exact": 0, "digits": 1, "lower": 1, "nodot": 1}


def test_limit_uses_only_the_first_rows(source, vocab) -> None:
    """With limit=100 only the first 100 rows are matched and feed the statistics."""
    src_tokens, src_rows = source
    a = vecload.align(VEC, vocab, limit=100, oov="mean")
    head = set(src_tokens[:100])
    for token, origin in zip(a.tokens[2:], a.origins[2:]):
        assert origin == ("exact" if token in head else "oov")
    assert a.coverage.source_rows == 100 and a.coverage.found["exact"] == len(head & set(vocab))
    assert np.array_equal(np.array(a.meta["align"]["oov_init"]["mean"]), _stats(src_rows[:100])[0])


def test_vectors_align_equals_file_align(aligned: Aligned, vocab) -> None:
    """Aligning loaded vectors gives the same tokens, rows and labels, and leaves the table untouched."""
    loaded = vecload.load(VEC)
    before = loaded.vectors.clone()
    again = vecload.align(loaded, vocab, lookup=("exact", "lower"), oov="normal", seed=7)
    assert again.tokens == aligned.tokens and again.origins == aligned.origins and again.matched == aligned.matched
    assert torch.equal(again.vectors, aligned.vectors)
    assert torch.equal(loaded.vectors, before)
    assert again.coverage == aligned.coverage


def test_specials_in_vocab_kept_once(vocab) -> None:
    """A special that is also a task token is kept once, as a special, and reported."""
    a = vecload.align(VEC, ["the", "<unk>", "of"], oov="zeros")
    assert a.tokens == ["<pad>", "<unk>", "the", "of"]
    assert a.coverage.specials_in_vocab == ["<unk>"] and a.coverage.types == 2


def test_trainable_mask_and_reload(tmp_path: Path, aligned: Aligned) -> None:
    """Saved and loaded again, the alignment metadata survives and marks OOV and special rows trainable."""
    out = aligned.save(tmp_path / "task.pth")
    back = Aligned.from_vectors(vecload.load(out))
    assert torch.equal(back.vectors, aligned.vectors) and back.origins == aligned.origins
    mask = back.trainable_mask
    assert mask.tolist() == [o in ("special", "oov") for o in aligned.origins]
    assert mask[0].item() is False and mask[1].item() is True and int(mask.sum()) == 1158
    with pytest.raises(ArgumentError, match="no alignment metadata"):
        Aligned.from_vectors(vecload.load(VEC))
    with pytest.raises(ArgumentError, match="from_vectors takes vecload.Vectors, got dict"):
        Aligned.from_vectors({"align": {}})


def _damage(align: dict, entry: str) -> None:
    """Break one entry of a copy of meta['align'] the way a hostile or damaged file could."""
    if entry == "origins-length":
        align["origins"] = align["origins"][:-1]
    elif entry == "origins-type":
        align["origins"][3] = 7
    elif entry == "matched-type":
        align["matched"][2] = ["the"]
    elif entry == "pad-type":
        align["pad_index"] = "0"
    elif entry == "pad-row":
        align["pad_index"] = 1
    elif entry == "coverage":
        align["coverage"] = {"steps": ["exact"], "rows": 3}
    elif entry == "steps":
        align["steps"] = "exact"


@pytest.mark.parametrize(("entry", "message"), [
    ("origins-length", "'origins' has 1871 entries for 1872 rows"),
    ("origins-type", "'origins' holds an entry that is not a string"),
    ("matched-type", "'matched' holds an entry that is neither a string nor None"),
    ("pad-type", "'pad_index' is '0', not the row of the pad"),
    ("pad-row", "'pad_index' is 1, not the row of the pad"),
    ("coverage", "'coverage' does not hold a coverage report"),
    ("steps", "'steps' is str, expected a list"),
])
def test_from_vectors_refuses_damaged_metadata(aligned: Aligned, entry: str, message: str) -> None:
    """Aligned.from_vectors checks meta['align'] and names the damaged entry in an IntegrityError."""
    meta = json.loads(json.dumps(aligned.meta))
    _damage(meta["align"], entry)
    with pytest.raises(IntegrityError, match=f"the alignment metadata is damaged: {message}"):
        Aligned.from_vectors(vecload.Vectors(aligned.tokens, aligned.vectors, meta))
    with pytest.raises(IntegrityError, match=r"meta\['align'\] is a list, not a dict"):
        Aligned.from_vectors(vecload.Vectors(aligned.tokens, aligned.vectors, {"align": []}))


def test_self_check_catches_a_misplaced_row(aligned: Aligned, source) -> None:
    """Two found rows swapped after the gather are caught when the sample is compared with the source."""
    from vecload.alignment.lookup import lookup_chain
    from vecload.alignment.selfcheck import SelfCheck

    src_tokens, src_rows = source
    steps = lookup_chain(("exact", "lower"))
    rows = aligned.vectors.numpy().copy()
    assert SelfCheck(steps, aligned.tokens, aligned.origins, aligned.matched, rows, 256).against(
        src_tokens, src_rows).summary()["rows_compared"] == aligned.meta["align"]["self_check"]["rows_compared"]
    found = [r for r, origin in enumerate(aligned.origins) if origin == "exact"]
    rows[[found[0], found[-1]]] = rows[[found[-1], found[0]]]
    with pytest.raises(IntegrityError, match=f"row {found[0]} .* differs from the source's row"):
        SelfCheck(steps, aligned.tokens, aligned.origins, aligned.matched, rows, 256).against(src_tokens, src_rows)


def test_self_check_does_not_share_the_lookup_code(monkeypatch: pytest.MonkeyPatch, vocab) -> None:
    """A lookup that matches each found token to the next token's source row is caught: the check's own scan
    does not go through Lookup.match."""
    from vecload.alignment.lookup import Lookup

    real = Lookup.match

    def shifted(self, src_tokens):
        origins, picks = real(self, src_tokens)
        found = [i for i, p in enumerate(picks) if p >= 0]
        moved = list(picks)
        for i, j in zip(found, found[1:] + found[:1]):
            moved[i] = picks[j]
        return origins, moved

    monkeypatch.setattr(Lookup, "match", shifted)
    with pytest.raises(IntegrityError, match="is recorded as matching"):
        vecload.align(VEC, vocab)


def test_verify_source_catches_a_reader_that_returns_wrong_rows(monkeypatch: pytest.MonkeyPatch, vocab) -> None:
    """A filtered read whose rows are off by one passes the in-memory check but not the re-read."""
    import vecload.alignment.core as align_module
    from vecload.formats import read_table as real_read_table

    def off_by_one(*args, **kwargs):
        table = real_read_table(*args, **kwargs)
        table.vectors = np.ascontiguousarray(np.roll(table.vectors, 1, axis=0))
        return table

    monkeypatch.setattr(align_module, "read_table", off_by_one)
    a = vecload.align(VEC, vocab)
    assert a.meta["align"]["self_check"]["rows_compared"] > 100
    with pytest.raises(IntegrityError, match="read again"):
        vecload.align(VEC, vocab, verify_source=True)


def test_self_check_compares_found_rows(aligned: Aligned) -> None:
    """The self-check compared found rows bit for bit and confirmed sampled OOV tokens are missing."""
    check = aligned.meta["align"]["self_check"]
    assert check["rows_compared"] >= 128 and check["oov_confirmed"] > 0 and check["source_reread"] == 0
    small = vecload.align(VEC, ["the", "zzz"], specials=(), pad=None, verify_source=True)
    assert small.meta["align"]["self_check"] == {"sampled": 2, "rows_compared": 1, "oov_confirmed": 1,
                                                 "source_reread": 1}


def test_vocab_file_layouts(tmp_path: Path) -> None:
    """Token-per-line, TAB counts and space counts files are read as documented."""
    lines = tmp_path / "lines.txt"
    lines.write_bytes("the\nNew York\n1999\r\n".encode())
    assert read_task_vocab(lines).tokens == ["the", "New York", "1999"] and read_task_vocab(lines).counts is None
    tab = tmp_path / "tab.tsv"
    tab.write_text("the\t10\nNew York\t3\n", encoding="utf-8")
    assert (read_task_vocab(tab).tokens, read_task_vocab(tab).counts) == (["the", "New York"], [10, 3])
    space = tmp_path / "space.txt"
    space.write_text("\ufeffthe 10\nof 7", encoding="utf-8")
    assert (read_task_vocab(space).tokens, read_task_vocab(space).counts) == (["the", "of"], [10, 7])
    assert read_task_vocab(space, layout="lines").tokens == ["the 10", "of 7"]


def test_vocab_file_errors(tmp_path: Path) -> None:
    """Malformed vocabulary files name the file and line; duplicates are refused or dropped and reported."""
    bad = tmp_path / "bad.tsv"
    bad.write_text("the\t10\nof\tmany\n", encoding="utf-8")
    with pytest.raises(ParseError, match=r"bad.tsv:2: expected a whole number"):
        read_task_vocab(bad)
    empty = tmp_path / "empty.txt"
    empty.write_text("the\n\nof\n", encoding="utf-8")
    with pytest.raises(ParseError, match=r"empty.txt:2: empty line"):
        read_task_vocab(empty)
    dup = tmp_path / "dup.txt"
    dup.write_text("the\nof\nthe\n", encoding="utf-8")
    with pytest.raises(VecloadError, match=r"'the' at line 3 repeats line 1"):
        read_task_vocab(dup)
    kept = read_task_vocab(dup, duplicates="first")
    assert kept.tokens == ["the", "of"] and kept.duplicates == 1 and kept.duplicate_examples == [["the", 3]]
    a = vecload.align(VEC, dup, vocab_duplicates="first")
    assert a.coverage.vocab_duplicates == 1 and a.tokens == ["<pad>", "<unk>", "the", "of"]


def test_argument_errors() -> None:
    """Bad arguments raise ArgumentError (a ValueError) with a message that says what to do."""
    with pytest.raises(ArgumentError, match="pad '<pad>' is not one of the specials"):
        vecload.align(VEC, ["the"], specials=("<unk>",))
    with pytest.raises(ArgumentError, match="unknown normaliser 'upper'"):
        vecload.align(VEC, ["the"], lookup=("exact", "upper"))
    with pytest.raises(ArgumentError, match="oov must be one of 'zeros', 'mean', 'normal', 'uniform', 'subword', got 'random'"):
        vecload.align(VEC, ["the"], oov="random")
    with pytest.raises(ArgumentError, match="needs a name"):
        vecload.align(VEC, ["the"], lookup=("exact", lambda t: t))
    with pytest.raises(ArgumentError, match="lookup step name 'normal' is the name of an OOV method"):
        vecload.align(VEC, ["the"], lookup=("exact", ("normal", str.lower)))
    with pytest.raises(ArgumentError, match="unknown alignment option 'oov_init'; the options are: specials, pad"):
        vecload.align(VEC, ["the"], oov_init="zeros")
    with pytest.raises(ArgumentError, match="seed must be a whole number >= 0, got -1"):
        vecload.align(VEC, ["the"], seed=-1)
    with pytest.raises(ArgumentError, match="check_rows must be a whole number >= 0, got '5'"):
        vecload.align(VEC, ["the"], check_rows="5")
    with pytest.raises(ArgumentError, match="sets the read option 'keep' itself"):
        vecload.align(VEC, ["the"], keep=lambda token: True)
    with pytest.raises(ArgumentError, match="tokens must be a list of tokens, a mapping token -> count or a "
                                            "vocabulary file, got int"):
        vecload.align(VEC, 5)
    with pytest.raises(ArgumentError, match="source must be a path or vecload.Vectors, got NoneType"):
        vecload.align(None, ["the"])
    with pytest.raises(ArgumentError, match="lookup must be a sequence of steps, got int"):
        vecload.align(VEC, ["the"], lookup=5)
    with pytest.raises(ValueError, match="specials must be a sequence of tokens, got the string '<pad>'"):
        vecload.align(VEC, ["the"], specials="<pad>")
    with pytest.raises(VecloadError, match="no finite rows"):
        vecload.align(VEC, ["the"], limit=0, oov="normal")


def test_on_rows_sees_every_row_before_filtering(source) -> None:
    """ReadOptions.on_rows receives all rows read, in file order, while keep retains only a few."""
    src_tokens, src_rows = source
    seen: list[np.ndarray] = []
    table = read_table(VEC, options=ReadOptions(keep={"the", "of"}.__contains__, on_rows=lambda r: seen.append(r.copy())))
    assert table.tokens == ["the", "of"]
    assert np.array_equal(bits(np.concatenate(seen)), bits(src_rows))


def test_cli_convert_with_vocab(tmp_path: Path, vocab, aligned: Aligned) -> None:
    """convert --vocab writes the aligned table, prints the coverage and writes the JSON report."""
    vocab_file = tmp_path / "vocab.tsv"
    vocab_file.write_text("".join(f"{t}\t{c}\n" for t, c in vocab.items()), encoding="utf-8")
    out, report = tmp_path / "task.pth", tmp_path / "report.json"
    result = CliRunner().invoke(main, ["convert", str(VEC), "-o", str(out), "--vocab", str(vocab_file), "--lowercase",
                                       "--oov", "normal", "--seed", "7", "--report-json", str(report)])
    assert result.exit_code == 0, result.output
    assert aligned.coverage.summary() in result.output
    assert "  exact        674 types  36.04%         2,569 tokens  64.50%\n" in result.output
    assert "  oov        1,157 types  61.87%         1,364 tokens  34.25%\n" in result.output
    assert "most frequent missing: 'Saudi' (7), 'Iraqi' (7), 'U.S.' (7)," in result.output
    loaded = vecload.load(out)
    assert loaded.tokens == aligned.tokens and torch.equal(loaded.vectors, aligned.vectors)
    assert loaded.meta["align"]["origins"] == aligned.origins
    document = json.loads(report.read_text(encoding="utf-8"))
    assert document["coverage"] == aligned.meta["align"]["coverage"] == loaded.meta["align"]["coverage"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "task.pth", "vocab.tsv"]
    again = CliRunner().invoke(main, ["convert", str(VEC), "-o", str(out), "--vocab", str(vocab_file)])
    assert again.exit_code == 1 and "already exists" in again.output


def test_cli_specials_and_pad_options(tmp_path: Path) -> None:
    """--specials '' writes no specials; --specials with no <pad> gives no zero row."""
    vocab_file = tmp_path / "v.txt"
    vocab_file.write_text("the\nzzz\n", encoding="utf-8")
    out = tmp_path / "a.pth"
    result = CliRunner().invoke(main, ["convert", str(VEC), "-o", str(out), "--vocab", str(vocab_file), "--specials", "",
                                       "-q"])
    assert result.exit_code == 0, result.output
    assert vecload.load(out).tokens == ["the", "zzz"]
    out2 = tmp_path / "b.pth"
    result = CliRunner().invoke(main, ["convert", str(VEC), "-o", str(out2), "--vocab", str(vocab_file),
                                       "--specials", "<unk>", "-q"])
    assert result.exit_code == 0, result.output
    loaded = Aligned.from_vectors(vecload.load(out2))
    assert loaded.tokens == ["<unk>", "the", "zzz"] and loaded.pad_index is None


def test_row_stats_skip_nonfinite_rows_and_ignore_chunking() -> None:
    """RowStats gives the sequential float64 sums of the finite rows, however the rows are chunked."""
    from vecload.alignment.oov import RowStats

    rng = np.random.default_rng(5)
    rows = (rng.standard_normal((1500, 7)) * rng.uniform(0.01, 50.0, (1500, 1))).astype(np.float32)
    rows[5, 2], rows[1200, 0] = np.nan, np.inf
    stats = RowStats()
    for chunk in np.array_split(rows, [1, 700, 701, 1100]):
        stats.add(chunk)
    finite = rows[np.isfinite(rows).all(axis=1)]
    mean, std = stats.mean_std(7)
    assert (stats.count, stats.skipped) == (1498, 2)
    assert np.array_equal(mean, _stats(finite)[0]) and np.array_equal(std, _stats(finite)[1])


def test_align_a_converted_file(tmp_path: Path, vocab, aligned: Aligned) -> None:
    """Aligning a converted .pth gives the same result as aligning the source file."""
    pth = vecload.convert(VEC, tmp_path / "lee.pth")
    again = vecload.align(pth, vocab, lookup=("exact", "lower"), oov="normal", seed=7)
    assert again.tokens == aligned.tokens and torch.equal(again.vectors, aligned.vectors)
    assert again.origins == aligned.origins


def test_options_dataclasses_equal_keyword_arguments(vocab) -> None:
    """An AlignOptions gives what the same keyword arguments give; keyword arguments override it."""
    from vecload.alignment import AlignOptions, CheckOptions, RowOptions, TaskOptions

    options = AlignOptions(task=TaskOptions(specials=("<unk>",), pad=None),
                           rows=RowOptions(lookup=("exact", "lower"), oov="uniform", seed=5),
                           check=CheckOptions(top_missing=3), read=ReadOptions(limit=800))
    a = vecload.align(VEC, vocab, options)
    b = vecload.align(VEC, vocab, specials=["<unk>"], pad=None, lookup=["exact", "lower"], oov="uniform", seed=5,
                      top_missing=3, limit=800)
    assert a.tokens == b.tokens and torch.equal(a.vectors, b.vectors) and a.meta == b.meta
    assert len(a.coverage.missing) == 3 and a.coverage.source_rows == 800
    c = vecload.align(VEC, vocab, options, seed=6)
    assert a.origins == c.origins and not torch.equal(a.vectors, c.vectors)
    assert c.meta["align"]["oov_init"]["seed"] == 6


def test_vectors_refuse_options_for_reading_files(tmp_path: Path) -> None:
    """Vectors in memory and converted files take limit but refuse format, engine, other read options and
    verify_source, naming them."""
    loaded = vecload.load(VEC)
    with pytest.raises(ArgumentError, match="vectors in memory are not read from a file; format, unicode_errors, "
                                            "verify_source apply only to reading a source file"):
        vecload.align(loaded, ["the"], format="word2vec", unicode_errors="replace", verify_source=True)
    pth = vecload.convert(VEC, tmp_path / "lee.pth")
    with pytest.raises(ArgumentError, match=r"lee\.pth: is a converted file; bad_rows apply only"):
        vecload.align(pth, ["the"], bad_rows="skip")
    head = vecload.align(pth, ["the", "of"], limit=1, oov="zeros")
    assert head.origins == ["pad", "special", "exact", "oov"] and head.coverage.source_rows == 1


def test_an_oov_method_is_one_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A method added to OOV_METHODS is offered by name, labels its rows, falls back on another method, and
    the coverage report counts its rows apart from found and OOV rows."""
    import dataclasses

    from vecload.alignment.oov import OOV_METHODS, OovMethod, OovRows

    def capitals(request):
        """Rows of ones for capitalised tokens; the others from the zeros method."""
        built = [i for i, t in enumerate(request.tokens) if i >= request.specials and t[:1].isupper()]
        rest = [i for i in range(len(request.tokens)) if i not in built]
        rows = np.ones((len(request.tokens), request.dim), dtype=np.float32)
        fallback = OOV_METHODS["zeros"].fill(dataclasses.replace(request, tokens=[request.tokens[i] for i in rest]))
        rows[rest] = fallback.rows
        origins = ["capitals" if i in built else "oov" for i in range(len(request.tokens))]
        return OovRows(rows, origins, {"built": len(built)})

    monkeypatch.setitem(OOV_METHODS, "capitals", OovMethod(capitals))
    a = vecload.align(VEC, {"the": 5, "Zzz": 3, "zzz": 2, "Qqq": 1}, oov="capitals")
    assert a.origins == ["pad", "special", "exact", "capitals", "oov", "capitals"]
    assert a.vectors[[3, 5]].eq(1).all() and not a.vectors[[0, 1, 4]].any()
    assert a.meta["align"]["oov_init"] == {"method": "capitals", "seed": None, "built": 2}
    report = a.coverage
    assert (report.found, report.filled, report.oov) == ({"exact": 1}, {"capitals": 2}, 1)
    assert (report.filled_tokens, report.oov_tokens, report.missing) == ({"capitals": 4}, 2, [["zzz", 2]])
    assert "  capitals          2 types  50.00%             4 tokens  36.36%\n" in report.summary()
    assert a.trainable_mask.tolist() == [False, True, False, True, True, True]
    assert "filled" not in vecload.align(VEC, ["the"]).meta["align"]["coverage"]


def test_cli_align_flags_without_vocab_are_a_usage_error(tmp_path: Path) -> None:
    """convert without --vocab refuses the alignment's flags (exit 2), naming them, and writes nothing."""
    out = tmp_path / "a.pth"
    result = CliRunner().invoke(main, ["convert", str(VEC), "-o", str(out), "--oov", "mean", "--lowercase",
                                       "--report-json", str(tmp_path / "r.json"), "--specials", "<unk>"])
    assert result.exit_code == 2, result.output
    assert "Error: --specials, --lowercase, --oov, --report-json only apply when aligning to a task vocabulary; " \
           "add --vocab FILE, or leave them out" in result.output
    assert list(tmp_path.iterdir()) == []
    one = CliRunner().invoke(main, ["convert", str(VEC), "-o", str(out), "--seed", "0"])
    assert one.exit_code == 2 and "Error: --seed only applies when aligning" in one.output and "leave it out" in one.output
    plain = CliRunner().invoke(main, ["convert", str(VEC), "-o", str(out), "-q"])
    assert plain.exit_code == 0 and out.exists()


@pytest.mark.parametrize("oov", ["mean", "normal", "uniform"])
def test_oov_rows_equal_for_a_file_with_repeats_its_converted_copy_and_vectors(tmp_path: Path, oov: str) -> None:
    """A repeated token counts once in the OOV statistics, as in the converted table (which holds it once):
    the file, the .pth and the table in memory give bit-identical aligned tables."""
    source = tmp_path / "al.txt"
    source.write_text("the 1 2\nThe 3 4\ncat 5 6\nthe 100 200\nDog 7 8\nbig 1000 -1000\n", encoding="utf-8")
    converted = vecload.convert(source, tmp_path / "al.pth")
    tables = [vecload.align(src, ["the", "zzz", "cat"], oov=oov) for src in (source, converted, vecload.load(source))]
    for other in tables[1:]:
        assert np.array_equal(bits(other.vectors.numpy()), bits(tables[0].vectors.numpy()))
        assert other.meta["align"]["oov_init"]["stats_rows"] == tables[0].meta["align"]["oov_init"]["stats_rows"] == 5
