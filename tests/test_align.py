"""Tests for vecload.align: real vectors (gensim's lee_fasttext.vec) aligned to the Lee corpus vocabulary."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import gensim
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import vecload
from vecload.alignment import Aligned
from vecload.alignment.vocab import read_task_vocab
from vecload.cli import main
from vecload.errors import ArgumentError, IntegrityError, ParseError, VecloadError
from vecload.formats import ReadOptions, read_table

DATA = Path(gensim.__file__).parent / "test/test_data"
VEC = DATA / "lee_fasttext.vec"
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
    return Counter((DATA / "lee.cor").read_bytes().decode("latin-1").split())


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


def _bits(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.float32).view(np.uint32)


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
        assert np.array_equal(_bits(aligned.vectors[row].numpy()), _bits(src_rows[index[matched]]))
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
    assert not np.any(_bits(a.vectors[2].numpy()))
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
    assert np.array_equal(_bits(aligned.vectors[rows].numpy()), _bits(draws.astype(np.float32)))


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
    assert np.array_equal(_bits(a.vectors[rows].numpy()), _bits(expected))


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
    with pytest.raises(VecloadError, match="no alignment metadata"):
        Aligned.from_vectors(vecload.load(VEC))


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
    """Bad arguments are refused with a message that says what to do."""
    with pytest.raises(VecloadError, match="pad '<pad>' is not one of the specials"):
        vecload.align(VEC, ["the"], specials=("<unk>",))
    with pytest.raises(VecloadError, match="unknown normaliser 'upper'"):
        vecload.align(VEC, ["the"], lookup=("exact", "upper"))
    with pytest.raises(VecloadError, match="oov must be one of"):
        vecload.align(VEC, ["the"], oov="random")
    with pytest.raises(VecloadError, match="needs a name"):
        vecload.align(VEC, ["the"], lookup=("exact", lambda t: t))
    with pytest.raises(VecloadError, match="no finite rows"):
        vecload.align(VEC, ["the"], limit=0, oov="normal")


def test_on_rows_sees_every_row_before_filtering(source) -> None:
    """ReadOptions.on_rows receives all rows read, in file order, while keep retains only a few."""
    src_tokens, src_rows = source
    seen: list[np.ndarray] = []
    table = read_table(VEC, options=ReadOptions(keep={"the", "of"}.__contains__, on_rows=lambda r: seen.append(r.copy())))
    assert table.tokens == ["the", "of"]
    assert np.array_equal(_bits(np.concatenate(seen)), _bits(src_rows))


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
