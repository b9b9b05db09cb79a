"""Tests for fastText .bin models: gensim parity of the rows and of OOV subword rows, and damaged models."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from gensim.models.fasttext import load_facebook_vectors

from gensim.test.utils import datapath

from tests.helpers import bits, reference_parse
from vecload.errors import FormatError, ParseError
from vecload.formats import ReadOptions, open_source, read_table
from vecload.formats.fasttext import read_model
from vecload.formats.ngrams import ngram_buckets, subword_rows

#: gensim's real models: old format (no magic), version 11, version 12, cbow, non-ASCII words.
REAL = ["lee_fasttext.bin", "lee_fasttext_new.bin", "crime-and-punishment.bin", "toy-model.bin",
        "toy-model-pretrained.bin", "non_ascii_fasttext.bin"]
MISSPELLED = ["goverment", "recieved", "colour", "australiaa", "minsters", "hospitall", "паровоз", "naïveté",
              "rechtsschutzversicherungsgesellschaften", "x", "", "<", "the"]


def _gensim_rows(kv, words: list[str]) -> np.ndarray:
    """gensim's kv[word] for each word, zeros where gensim has no n-gram either (as fastText)."""
    rows = []
    for word in words:
        try:
            rows.append(kv[word])
        except KeyError:
            rows.append(np.zeros(kv.vector_size, dtype=np.float32))
    return np.array(rows, dtype=np.float32)


@pytest.mark.parametrize("name", REAL)
def test_real_models_read_bit_identical_to_gensim(name: str) -> None:
    """Each of gensim's real .bin models reads as fasttext-bin, tokens and rows equal to load_facebook_vectors."""
    path = Path(datapath(name))
    kv = load_facebook_vectors(str(path))
    table = read_table(str(path))
    assert table.format == "fasttext-bin"
    assert table.tokens == kv.index_to_key
    assert np.array_equal(bits(table.vectors), bits(kv.vectors))


@pytest.mark.parametrize("engine", ["native", "gensim"])
def test_generated_model_rows_and_report(fasttext_bin: Path, engine: str) -> None:
    """Both engines give gensim's rows for the trained model; the report records its shape and n-gram range."""
    kv = load_facebook_vectors(str(fasttext_bin))
    table = read_table(str(fasttext_bin), engine=engine)
    assert table.tokens == kv.index_to_key
    assert np.array_equal(bits(table.vectors), bits(kv.vectors))
    model = table.report.model
    assert (model["dim"], model["words"], model["minn"], model["maxn"], model["bucket"]) == (16, len(kv), 3, 5, 3000)
    assert table.report.header == [len(kv), 16]


@pytest.mark.parametrize("name", ["lee_fasttext.bin", "crime-and-punishment.bin", "non_ascii_fasttext.bin", None])
def test_subword_rows_equal_gensim_for_any_word(name: str | None, fasttext_bin: Path) -> None:
    """subword_rows gives gensim's kv[word] bit for bit, in the vocabulary or not; found is False without n-grams."""
    path = Path(datapath(name)) if name else fasttext_bin
    kv = load_facebook_vectors(str(path))
    words = MISSPELLED + kv.index_to_key[:50]
    rows, found = subword_rows(read_model(open_source(path)), words)
    assert rows.dtype == np.float32 and rows.shape == (len(words), kv.vector_size)
    assert np.array_equal(bits(rows), bits(_gensim_rows(kv, words)))
    expected = [word in kv.key_to_index or _has_ngrams(word, kv) for word in words]
    assert found.tolist() == expected
    assert found[MISSPELLED.index("goverment")] and rows[MISSPELLED.index("goverment")].any()


def _has_ngrams(word: str, kv) -> bool:
    """Whether gensim finds any n-gram of ``word``."""
    from gensim.models.fasttext import ft_ngram_hashes

    return bool(ft_ngram_hashes(word, kv.min_n, kv.max_n, kv.bucket))


def _fnv1a(data: bytes) -> int:
    """fastText's hash, written out: 32-bit FNV-1a over the bytes, each sign-extended as fastText's int8_t."""
    h = 2166136261
    for byte in data:
        h = ((h ^ (byte - 256 if byte > 127 else byte)) * 16777619) & 0xFFFFFFFF
    return h


def _reference_buckets(word: str, minn: int, maxn: int, bucket: int) -> list[int]:
    """fastText's computeSubwords in plain Python: n-grams of whole characters of <word>, not the lone < or >."""
    chars = ["<", *word, ">"]
    out = []
    for i in range(len(chars)):
        for n in range(1, maxn + 1):
            if i + n > len(chars):
                break
            if n >= minn and not (n == 1 and (i == 0 or i + n == len(chars))):
                out.append(_fnv1a("".join(chars[i:i + n]).encode("utf-8")) % bucket)
    return out


@pytest.mark.parametrize("word", ["at", "goverment", "naïveté", "паровоз", "日本語", "", "a"])
def test_ngram_buckets_hash_as_fasttext(word: str) -> None:
    """The n-gram buckets equal a plain-Python FNV-1a over the UTF-8 n-grams of <word>, in fastText's order."""
    for minn, maxn in ((3, 6), (1, 3), (5, 5)):
        assert ngram_buckets(word, minn, maxn, 2_000_000) == _reference_buckets(word, minn, maxn, 2_000_000)
    assert ngram_buckets(word, 3, 6, 0) == []


def test_limit_and_keep_select_the_same_rows(fasttext_bin: Path) -> None:
    """limit reads the first rows; keep computes only the kept words' vectors, equal to the full table's rows."""
    full = read_table(str(fasttext_bin))
    first = read_table(str(fasttext_bin), options=ReadOptions(limit=10))
    assert first.tokens == full.tokens[:10] and np.array_equal(bits(first.vectors), bits(full.vectors[:10]))
    wanted = {"government", "australia", "police", "zzzz"}
    kept = read_table(str(fasttext_bin), options=ReadOptions(keep=wanted.__contains__))
    rows = [full.tokens.index(t) for t in kept.tokens]
    assert sorted(kept.tokens) == ["australia", "government", "police"]
    assert np.array_equal(bits(kept.vectors), bits(full.vectors[rows]))
    assert kept.report.filtered == len(full.tokens) - 3


def test_gzip_compressed_model_reads_the_same(fasttext_bin: Path, tmp_path: Path) -> None:
    """A gzip-compressed model (read as a stream of unknown size) gives the same table."""
    packed = tmp_path / "lee.bin.gz"
    packed.write_bytes(gzip.compress(fasttext_bin.read_bytes(), compresslevel=1))
    table, plain = read_table(str(packed)), read_table(str(fasttext_bin))
    assert table.tokens == plain.tokens and np.array_equal(bits(table.vectors), bits(plain.vectors))


def test_truncated_model_names_file_and_offset_at_every_cut(fasttext_bin: Path, tmp_path: Path) -> None:
    """A model cut anywhere (header, vocabulary, either matrix) is a ParseError naming the file and the end offset."""
    data = fasttext_bin.read_bytes()
    cut = tmp_path / "cut.bin"
    sizes = sorted({*range(1, 400, 7), *range(400, len(data), len(data) // 97), len(data) - 1})
    for size in sizes:
        cut.write_bytes(data[:size])
        with pytest.raises((ParseError, FormatError)) as caught:
            read_table(str(cut), format="fasttext-bin")
        message = str(caught.value)
        assert message.startswith(f"{cut}: "), (size, message)
        if size >= 68:  # past the arguments and the vocabulary's counts
            assert f"byte {size}: the file ends inside" in message and "truncated" in message, (size, message)


def test_trailing_bytes_and_bad_header_are_refused(fasttext_bin: Path, tmp_path: Path) -> None:
    """Bytes after the output matrix, or a header whose dim disagrees with the matrix, are refused with an offset."""
    data = fasttext_bin.read_bytes()
    joined = tmp_path / "joined.bin"
    joined.write_bytes(data + b"\0" * 5)
    with pytest.raises(ParseError, match=rf"joined\.bin: byte {len(data)}: unexpected bytes after the model's end"):
        read_table(str(joined))
    damaged = tmp_path / "dim.bin"
    damaged.write_bytes(data[:8] + (17).to_bytes(4, "little") + data[12:])
    with pytest.raises(ParseError, match=r"dim\.bin: byte \d+: the input matrix is \d+ x 16, expected \d+ x 17"):
        read_table(str(damaged))
    counts = tmp_path / "counts.bin"
    counts.write_bytes(data[:68] + (12345).to_bytes(4, "little") + data[72:])
    with pytest.raises(ParseError, match=r"counts\.bin: byte 64: the vocabulary has \d+ entries, 12345 words"):
        read_table(str(counts))


def test_corrupted_bytes_never_escape_as_other_exceptions(fasttext_bin: Path, tmp_path: Path) -> None:
    """Random bytes overwritten in the header, the vocabulary or the matrices' headers: a vecload error or a table."""
    from vecload.errors import VecloadError

    data = fasttext_bin.read_bytes()
    rng = np.random.default_rng(15)
    damaged = tmp_path / "damaged.bin"
    refused = 0
    for _ in range(100):
        mutated = bytearray(data)
        for at in rng.integers(0, 30_000, size=3):
            mutated[at] = int(rng.integers(0, 256))
        damaged.write_bytes(bytes(mutated))
        try:
            read_model(open_source(damaged))
        except VecloadError as exc:
            assert str(exc).startswith(f"{damaged}"), str(exc)
            refused += 1
    assert refused > 10


def test_cli_convert_of_damaged_model_is_one_line(fasttext_bin: Path, tmp_path: Path) -> None:
    """vecload convert of a truncated .bin exits 1 with the offset, no traceback, nothing written."""
    from click.testing import CliRunner

    from vecload.cli import main

    cut = tmp_path / "cut.bin"
    cut.write_bytes(fasttext_bin.read_bytes()[:5000])
    out = tmp_path / "out"
    out.mkdir()
    result = CliRunner().invoke(main, ["convert", str(cut), "-o", str(out / "x.pth")], catch_exceptions=False)
    assert result.exit_code == 1
    assert "byte 5000: the file ends inside" in result.output and "Traceback" not in result.output
    assert list(out.iterdir()) == []


def test_load_and_convert_give_gensim_rows(fasttext_bin: Path, tmp_path: Path) -> None:
    """vecload.load and convert of a .bin give the model's tokens and gensim's rows, and record the model."""
    import vecload

    kv = load_facebook_vectors(str(fasttext_bin))
    vectors = vecload.load(fasttext_bin)
    assert vectors.tokens == kv.index_to_key
    assert np.array_equal(bits(vectors.vectors.numpy()), bits(kv.vectors))
    converted = vecload.load(vecload.convert(fasttext_bin, tmp_path / "lee.pth"))
    assert np.array_equal(bits(converted.vectors.numpy()), bits(kv.vectors))
    assert converted.meta["report"]["model"]["bucket"] == 3000


@pytest.mark.parametrize(("model", "vec", "differ"), [
    ("crime-and-punishment.bin", "crime-and-punishment.vec", ["</s>"]),
    ("toy-model.bin", "toy-model.vec", []),
    ("lee_fasttext.bin", "lee_fasttext.vec", []),
])
def test_bin_and_its_vec_twin_agree(model: str, vec: str, differ: list[str]) -> None:
    """A .bin and the .vec fastText wrote beside it agree on tokens and on every printed digit, except </s>.

    fastText 0.2 gives ``</s>`` its own row only; gensim (and vecload, bit-identical to gensim) also averages
    in the n-grams of ``<</s>>``, as the older fastText that wrote lee_fasttext did.
    """
    table = read_table(str(Path(datapath(model))))
    tokens, values = reference_parse(Path(datapath(vec)))
    assert table.tokens == tokens
    printed = 10.0 ** (np.floor(np.log10(np.maximum(np.abs(values), 1e-30))) - 4)  # one unit of the 5th digit
    off = (np.abs(table.vectors - values) > printed).any(axis=1)
    assert [tokens[i] for i in np.flatnonzero(off)] == differ


def test_supervised_and_non_utf8_models_are_explained() -> None:
    """A classifier is refused as such; cp852 words need unicode_errors, and then read with repairs counted."""
    with pytest.raises(FormatError, match=r"is a supervised fastText classifier \(2 labels\), not word vectors"):
        read_table(str(Path(datapath("pang_lee_polarity_fasttext.bin"))))
    path = Path(datapath("cp852_fasttext.bin"))
    with pytest.raises(ParseError, match=r"cp852_fasttext\.bin: byte 88: word 2 .* not UTF-8.*unicode_errors='replace'"):
        read_table(str(path))
    table = read_table(str(path), options=ReadOptions(unicode_errors="replace"))
    kv = load_facebook_vectors(str(path), encoding="cp852")
    report = table.report
    assert len(table.tokens) + report.duplicates == len(kv) and report.decoding_repairs > report.duplicates > 0
    clean = [i for i, token in enumerate(table.tokens) if "\ufffd" not in token]
    assert len(clean) > len(kv) // 2
    assert np.array_equal(bits(table.vectors[clean]), bits(kv[[table.tokens[i] for i in clean]]))
    assert table.report.model["version"] == 0 and table.report.model["model"] == "skipgram"


def test_info_shows_the_model_without_reading_its_vectors(fasttext_bin: Path) -> None:
    """vecload info on a .bin: a quick look names dim, vocabulary size, n-gram range and buckets; --full too."""
    import json

    from click.testing import CliRunner

    from vecload.cli import main

    quick = CliRunner().invoke(main, ["info", str(fasttext_bin), "--json"], catch_exceptions=False)
    details = json.loads(quick.output)
    assert details["format"] == "fasttext-bin" and "no vectors computed" in details["look"]
    assert {k: details["model"][k] for k in ("dim", "words", "minn", "maxn", "bucket")} == {
        "dim": 16, "words": details["count"], "minn": 3, "maxn": 5, "bucket": 3000}
    full = CliRunner().invoke(main, ["info", str(fasttext_bin), "--full"], catch_exceptions=False)
    assert full.exit_code == 0 and "  bucket: 3000" in full.output and "  minn: 3" in full.output


def test_align_fills_oov_rows_with_fasttext_subword_vectors(tmp_path: Path) -> None:
    """oov="subword": misspelled task words get gensim's kv[word] bit for bit, counted as subword rows;
    found words are exact rows; the specials come from the fallback method (zeros here)."""
    import vecload

    path = Path(datapath("lee_fasttext.bin"))
    kv = load_facebook_vectors(str(path))
    words = ["the", "goverment", "runnning", "government", "xyzzyq"]
    assert [word in kv.key_to_index for word in words] == [True, False, False, True, False]
    aligned = vecload.align(path, words, oov="subword", oov_fallback="zeros", specials=("<pad>", "<unk>"))
    assert aligned.origins == ["pad", "special", "exact", "subword", "subword", "exact", "subword"]
    for word in words:
        row = aligned.vectors[aligned.get_index(word)].numpy()
        assert np.array_equal(bits(row), bits(kv[word])), word
    assert not aligned.vectors[1].any()  # <unk>: the zeros fallback
    report = aligned.coverage
    assert (report.found_types, report.oov) == (2, 0)
    assert "subword          3 types" in report.summary()
    assert aligned.meta["align"]["oov_init"]["fallback"] == "zeros"
    assert aligned.trainable_mask.tolist() == [False, True, False, True, True, False, True]


def test_subword_needs_a_fasttext_model_and_the_cli_takes_it(tmp_path: Path) -> None:
    """A text source with oov="subword" is a clear ArgumentError; the CLI's --oov subword aligns a .bin
    and --oov-fallback without --vocab is a usage error."""
    import vecload
    from click.testing import CliRunner

    from vecload.cli import main

    with pytest.raises(vecload.ArgumentError, match=r"lee_fasttext\.vec: oov='subword' builds rows from a fastText"):
        vecload.align(Path(datapath("lee_fasttext.vec")), ["the", "goverment"], oov="subword")
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("the\ngoverment\n")
    out = tmp_path / "task.pth"
    result = CliRunner().invoke(main, ["convert", str(Path(datapath("lee_fasttext.bin"))), "-o", str(out),
                                       "--vocab", str(vocab), "--oov", "subword"])
    assert result.exit_code == 0, result.output
    assert "subword          1 types  50.00%" in result.output
    assert vecload.load(out).meta["align"]["origins"] == ["pad", "special", "exact", "subword"]
    result = CliRunner().invoke(main, ["convert", str(Path(datapath("lee_fasttext.bin"))), "-o", str(tmp_path / "x.pth"),
                                       "--oov-fallback", "zeros"])
    assert result.exit_code == 2 and "--oov-fallback only applies when aligning" in result.output
