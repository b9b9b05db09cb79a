"""Conformance with the peers: inputs from gensim's, torchtext's, AllenNLP's and spaCy's own tests and code.

Each case rebuilds an input that a peer's test suite or reader documents (the docstring names it) and
states vecload's answer: the same table as gensim, bit for bit, where gensim is right, and a clear refusal
that names the line and the cause where a peer is wrong or silently drops or invents data.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import re
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gensim.test.utils import datapath

import vecload
from tests.helpers import bits, decimals, word2vec_binary, write_file
from vecload.errors import FormatError, ParseError, VecloadError


def _gensim(path: Path, **kwargs):
    """gensim's own reader, ``KeyedVectors.load_word2vec_format``."""
    from gensim.models import KeyedVectors

    return KeyedVectors.load_word2vec_format(str(path), **kwargs)


def _same_as_gensim(vectors: vecload.Vectors, kv) -> None:
    """Same tokens in the same order, and bit-identical float32 values."""
    assert vectors.tokens == kv.index_to_key
    assert vectors.vectors.shape == kv.vectors.shape
    assert np.array_equal(bits(vectors.vectors.numpy()), bits(kv.vectors))


def _refusal(path: Path, pattern: str, error: type[VecloadError] = VecloadError, **options) -> str:
    """Expect ``error`` and ``pattern`` in its message, path removed (tmp_path holds the test's name)."""
    with pytest.raises(error) as caught:
        vecload.load(path, **options)
    message = str(caught.value).replace(str(path), "<file>")
    assert re.search(pattern, message), message
    return message


def _add_member(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    """Add a regular file member holding ``data``."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


# --- gensim: its test_data files and test_keyedvectors.py / test_word2vec.py ---------------------------------

_REAL = [
    # (file in gensim's test_data, gensim's reader options, the peer test that reads it)
    ("word2vec_pre_kv_c", {}, "test_word2vec.py::test_load_pre_keyed_vector_model_c_format"),
    ("euclidean_vectors.bin", {"binary": True}, "test_keyedvectors.py::TestKeyedVectors.setUp"),
    ("high_precision.kv.txt", {}, "test_datatype.py::test_medium_precision"),
    ("high_precision.kv.bin", {"binary": True}, "test_datatype.py::test_type_conversion"),
    ("test_glove.txt", {"no_header": True}, "test_glove2word2vec.py::test_conversion"),
    ("EN.1-10.cbow1_wind5_hs0_neg10_size300_smpl1e-05.txt", {}, "test_translation_matrix.py::setUp"),
    ("toy-model.vec", {}, "test_fasttext.py::test_in_vocab"),
    ("crime-and-punishment.vec", {}, "test_fasttext.py::TestFastTextKeyedVectors.setUp"),
    ("lee_fasttext.vec", {}, "test_fasttext.py::setUp"),
]


@pytest.mark.parametrize("name, options, peer_test", _REAL, ids=[r[2] + ":" + r[0] for r in _REAL])
def test_gensim_test_data_files_read_bit_for_bit_as_gensim(name: str, options: dict, peer_test: str) -> None:
    """gensim test_data files read by the peer tests named in the ids: same tokens, same float32 bits."""
    path = Path(datapath(name))
    _same_as_gensim(vecload.load(path), _gensim(path, **options))


def test_gensim_non_ascii_vocab_strict_is_refused_with_the_line() -> None:
    """gensim test_keyedvectors.py::test_load_model_and_vocab_file_strict: a token cut mid-character."""
    path = Path(datapath("w2v_keyedvectors_load_test.modeldata"))
    with pytest.raises(ParseError, match=r"modeldata:2: the token is not valid UTF-8"):
        vecload.load(path)


@pytest.mark.parametrize("errors", ["replace", "ignore"])
def test_gensim_non_ascii_vocab_repaired_as_gensim_and_reported(errors: str) -> None:
    """gensim test_keyedvectors.py::test_load_model_and_vocab_file_replace / _ignore: same table, repairs listed."""
    path = Path(datapath("w2v_keyedvectors_load_test.modeldata"))
    vectors = vecload.load(path, unicode_errors=errors)
    _same_as_gensim(vectors, _gensim(path, unicode_errors=errors))
    report = vectors.meta["report"]
    assert report["decoding_repairs"] == 2
    assert [line for _, line in report["examples"]["decoding_repairs"]] == [2, 3]


def test_gensim_fasttext_vec_with_broken_tokens_is_refused_then_repaired() -> None:
    """gensim test_data/pang_lee_polarity_fasttext.vec (test_fasttext.py's supervised model): five non-UTF-8 tokens."""
    path = Path(datapath("pang_lee_polarity_fasttext.vec"))
    with pytest.raises(ParseError, match=r"fasttext\.vec:150: the token is not valid UTF-8"):
        vecload.load(path)
    vectors = vecload.load(path, unicode_errors="replace")
    _same_as_gensim(vectors, _gensim(path, unicode_errors="replace"))
    assert [line for _, line in vectors.meta["report"]["examples"]["decoding_repairs"]] == [150, 284, 435, 444, 1573]


def test_gensim_fasttext_pretrained_vec_short_of_its_header_is_refused() -> None:
    """gensim test_data/pretrained.vec (test_fasttext.py::_train_model_with_pretrained_vectors): header 3, one row."""
    path = Path(datapath("pretrained.vec"))
    with pytest.raises(ParseError, match=r"pretrained\.vec:3: the header promises 3 rows but the file ends after 1"):
        vecload.load(path)
    assert vecload.load(path, limit=1).tokens == ["dummy"]


_BINARY_DICTS = [
    [("abc", [1, 2, 3]), ("cde", [4, 5, 6]), ("def", [7, 8, 9])],
    [("abc", [1, 2, 3]), ("cdefg", [4, 5, 6]), ("d", [7, 8, 9])],
]


@pytest.mark.parametrize("rows", _BINARY_DICTS, ids=["equal-tokens", "unequal-tokens"])
@pytest.mark.parametrize("limit", [None, 1, 2])
def test_gensim_binary_dicts_with_and_without_limit(tmp_path: Path, rows: list, limit: int | None) -> None:
    """gensim test_keyedvectors.py::LoadWord2VecFormatTest::test_load_word2vec_format_basic / _limit."""
    path = write_file(tmp_path, "w2v.bin", word2vec_binary(rows, newline=False))
    options = {} if limit is None else {"limit": limit}
    _same_as_gensim(vecload.load(path, **options), _gensim(path, binary=True, **options))


def test_gensim_binary_tokens_lose_leading_newlines_as_in_gensim(tmp_path: Path) -> None:
    """gensim test_keyedvectors.py::LoadWord2VecFormatTest::test_load_word2vec_format_space_stripping."""
    rows = [("\nabc", [1, 2, 3]), ("cdefdg", [4, 5, 6]), ("\n\ndef", [7, 8, 9])]
    path = write_file(tmp_path, "w2v.bin", word2vec_binary(rows, newline=False))
    vectors = vecload.load(path)
    assert vectors.tokens == ["abc", "cdefdg", "def"]
    _same_as_gensim(vectors, _gensim(path, binary=True))


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_gensim_save_reload_round_trip(tmp_path: Path, binary: bool) -> None:
    """gensim test_keyedvectors.py::test_save_reload: 20 rows of 100 written by gensim, read bit for bit."""
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=100)
    weights = np.random.default_rng(7).standard_normal((20, 100)).astype(np.float32) / 100
    kv.add_vectors([str(i) for i in range(20)], weights)
    path = tmp_path / ("kv.bin" if binary else "kv.txt")
    kv.save_word2vec_format(str(path), binary=binary)
    vectors = vecload.load(path)
    assert vectors.meta["format"] == ("word2vec-binary" if binary else "word2vec")
    _same_as_gensim(vectors, kv)
    _same_as_gensim(vectors, _gensim(path, binary=binary))


def test_gensim_no_header_file_reads_as_glove(tmp_path: Path) -> None:
    """gensim test_keyedvectors.py::test_no_header: save_word2vec_format(write_header=False), no_header=True."""
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=100)
    kv.add_vectors([str(i) for i in range(20)], np.random.default_rng(8).random((20, 100), dtype=np.float32) - 0.5)
    path = tmp_path / "kv.txt"
    kv.save_word2vec_format(str(path), binary=False, write_header=False)
    vectors = vecload.load(path)
    assert vectors.meta["format"] == "glove"
    _same_as_gensim(vectors, _gensim(path, binary=False, no_header=True))


def test_gensim_too_short_binary_is_refused(tmp_path: Path) -> None:
    """gensim test_word2vec.py::test_too_short_binary_word2vec_format: the header's count one too large."""
    rows = [(f"w{i}", [i, i + 0.5]) for i in range(12)]
    path = write_file(tmp_path, "w2v.bin", word2vec_binary(rows, count=13))
    _refusal(path, r"record 13 of 13 \(truncated\?\)|promises 13 .*truncated", ParseError)


def test_gensim_too_short_text_is_refused(tmp_path: Path) -> None:
    """gensim test_word2vec.py::test_too_short_text_word2vec_format: the header's count one too large."""
    body = "".join(f"w{i} {i} {i}.5\n" for i in range(12))
    path = write_file(tmp_path, "w2v.txt", ("13 2\n" + body).encode())
    with pytest.raises(ParseError, match=r"w2v\.txt:14: the header promises 13 rows but the file ends after 12"):
        vecload.load(path)


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_gensim_duplicates_keep_the_first_row_without_none_keys(tmp_path: Path, binary: bool) -> None:
    """gensim keyedvectors.py::_add_word_to_kv: a repeated word leaves a None key and a zero row; vecload reports it."""
    if binary:
        data = word2vec_binary([("a", [1, 2]), ("b", [3, 4]), ("a", [5, 6])])
    else:
        data = b"3 2\na 1.0 2.0\nb 3.0 4.0\na 5.0 6.0\n"
    path = write_file(tmp_path, "dup.bin" if binary else "dup.txt", data)
    vectors = vecload.load(path)
    assert vectors.tokens == ["a", "b"]
    assert vectors.vectors.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    report = vectors.meta["report"]
    assert (report["rows_read"], report["rows_kept"], report["duplicates"]) == (3, 2, 1)
    assert report["examples"]["duplicates"][0][0] == "a"
    with pytest.raises(ParseError, match=r"duplicate token 'a'"):
        vecload.load(path, duplicates="error")


def test_gensim_header_count_too_small_is_refused_not_truncated(tmp_path: Path) -> None:
    """gensim keyedvectors.py::_word2vec_read_text reads only the header's count and drops the rest silently."""
    path = write_file(tmp_path, "small.txt", b"2 2\na 1.0 2.0\nb 3.0 4.0\nc 5.0 6.0\n")
    with pytest.raises(ParseError, match=r"small\.txt:4: the header promises 2 rows but there are more"):
        vecload.load(path)
    _same_as_gensim(vecload.load(path, limit=2), _gensim(path, limit=2))


def test_gensim_binary_header_count_too_small_is_refused_but_limit_reads_it(tmp_path: Path) -> None:
    """gensim keyedvectors.py::_word2vec_read_binary stops at the header's count; vecload refuses, or honours limit."""
    path = write_file(tmp_path, "small.bin", word2vec_binary([("a", [1, 2]), ("b", [3, 4]), ("c", [5, 6])], count=2, newline=False))
    with pytest.raises(ParseError, match=r"the header's count is too small"):
        vecload.load(path)
    _same_as_gensim(vecload.load(path, limit=2), _gensim(path, binary=True, limit=2))


def test_gensim_one_value_row_is_refused_not_broadcast(tmp_path: Path) -> None:
    """gensim keyedvectors.py::_word2vec_line_to_vector: 'a 1.0' under dim 3 is broadcast to [1, 1, 1]."""
    path = write_file(tmp_path, "short.txt", b"3 3\nb 1.0 2.0 3.0\na 1.0\nc 4.0 5.0 6.0\n")
    with pytest.raises(ParseError, match=r"short\.txt:3: 1 values, expected 3"):
        vecload.load(path, format="word2vec")


def test_gensim_tab_separated_row_is_refused_naming_tabs(tmp_path: Path) -> None:
    """gensim keyedvectors.py::_word2vec_line_to_vector keeps 'x<TAB>1.0' as the token and broadcasts 2.0."""
    path = write_file(tmp_path, "separators.vec", b"2 2\nx\t1.0 2.0\ny\t0.25 0.5\n")
    _refusal(path, r"(?i)\btabs?\b")


def test_gensim_trailing_whitespace_of_any_mix_is_stripped_as_in_gensim(tmp_path: Path) -> None:
    """gensim keyedvectors.py::_word2vec_line_to_vector strips trailing whitespace (line.rstrip())."""
    path = write_file(tmp_path, "trailing.txt", b"x 1.0 2.0 \t \ny 0.25 0.5\t\nz -1.5 3.0 \n")
    vectors = vecload.load(path)
    assert vectors.meta["format"] == "glove"
    _same_as_gensim(vectors, _gensim(path, no_header=True))


def test_gensim_blank_line_after_header_reads_as_text(tmp_path: Path) -> None:
    """issue 11's example, a gensim-written file with a blank line after the header: text, never binary."""
    path = write_file(tmp_path, "blank.vec", b"2 4\n\nx 1.5 1.0 2.0 3.0\ny 0.25 0.5 0.1 0.2\n")
    vectors = vecload.load(path)
    assert vectors.meta["format"] == "word2vec"
    assert vectors.tokens == ["x", "y"]
    assert np.array_equal(bits(vectors.vectors.numpy()), bits(decimals([["1.5", "1.0", "2.0", "3.0"], ["0.25", "0.5", "0.1", "0.2"]])))
    assert vectors.meta["report"]["blank_lines"] == 1


def test_gensim_refuses_decimal_commas_and_so_does_vecload(tmp_path: Path) -> None:
    """gensim _word2vec_line_to_vector: float('1,5') fails; vecload must refuse too, never read the text as binary."""
    path = write_file(tmp_path, "decimal.vec", b"2 2\nx 1,5 1.0\ny 0.25 0.5\n")
    _refusal(path, r"(?i)comma|'1,5'")


def test_gensim_underscore_digits_are_refused_at_the_line_not_read_as_binary(tmp_path: Path) -> None:
    """gensim _word2vec_line_to_vector reads '1_000' as 1000 only through Python's float syntax (C's strtof reads 1)."""
    path = write_file(tmp_path, "underscore.vec", b"2 2\nx 1_000 1.0\ny 0.25 0.5\n")
    _refusal(path, r"^<file>:2: .*'1_000'", ParseError)


def test_gensim_infinity_in_the_first_row_reads_as_text(tmp_path: Path) -> None:
    """gensim _word2vec_line_to_vector: np.float32('Infinity') is inf; vecload keeps it and reports it."""
    path = write_file(tmp_path, "inf.vec", b"2 2\nx Infinity 1.0\ny 0.25 0.5\n")
    vectors = vecload.load(path)
    assert vectors.meta["format"] == "word2vec"
    _same_as_gensim(vectors, _gensim(path))
    assert vectors.meta["report"]["nonfinite"] == 1


@pytest.mark.parametrize(
    "field, value",
    [("5534.250000000000000", 5534.25), ("18446744.73709551616", 18446744.73709551616), ("0.1000000000000000055511", 0.1)],
)
def test_gensim_nineteen_significant_digits_read_as_gensim(tmp_path: Path, field: str, value: float) -> None:
    """gensim _word2vec_line_to_vector parses each field with numpy (float32 of the decimal), whatever its length."""
    path = write_file(tmp_path, "digits.vec", f"1 2\nw {field} 1.25\n".encode())
    vectors = vecload.load(path)
    _same_as_gensim(vectors, _gensim(path))
    assert vectors.vectors[0, 0].item() == float(np.float32(value))


def test_gensim_header_only_file_is_refused_in_text_terms(tmp_path: Path) -> None:
    """gensim _word2vec_read_text raises EOFError on '1000 300' and nothing else; vecload says the rows are missing."""
    path = write_file(tmp_path, "header-only.vec", b"1000 300\n")
    assert "record" not in _refusal(path, r"promises 1,?000 rows", ParseError)


# --- torchtext: vocab/vectors.py and its test assets ----------------------------------------------------------


def _cut_fasttext_vec(rows: int = 99, dim: int = 300) -> tuple[bytes, list[str], list[list[str]]]:
    """Like torchtext's test/asset/wiki.en.vec: fastText's header for 2,519,370 rows, then the first rows only."""
    rng = np.random.default_rng(11)
    tokens = [f"tok{i}" for i in range(rows)]
    fields = [[f"{x:.5g}" for x in rng.standard_normal(dim) / 10] for _ in range(rows)]
    body = "".join(f"{t} {' '.join(f)} \n" for t, f in zip(tokens, fields))
    return f"2519370 {dim}\n{body}".encode(), tokens, fields


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_torchtext_wiki_en_vec_cut_with_head_reads_with_limit(tmp_path: Path, compress: bool) -> None:
    """torchtext test/asset/wiki.en.vec (test_vector_transform): a .vec cut with head reads its first rows with limit."""
    data, tokens, fields = _cut_fasttext_vec()
    path = write_file(tmp_path, "wiki.en.vec.gz" if compress else "wiki.en.vec", gzip.compress(data) if compress else data)
    vectors = vecload.load(path, limit=50)
    assert vectors.tokens == tokens[:50]
    assert np.array_equal(bits(vectors.vectors.numpy()), bits(decimals(fields[:50])))
    _same_as_gensim(vectors, _gensim(path, limit=50))


def test_torchtext_wiki_en_vec_cut_with_head_is_refused_without_limit(tmp_path: Path) -> None:
    """torchtext vectors.py::Vectors.cache reads the cut wiki.en.vec whole; without limit vecload says it is cut short."""
    path = write_file(tmp_path, "wiki.en.vec", _cut_fasttext_vec()[0])
    _refusal(path, r"(?i)truncated|cut short", ParseError)


def test_torchtext_one_value_row_is_refused_not_skipped(tmp_path: Path) -> None:
    """torchtext vectors.py::Vectors.cache skips any row with one value as 'likely a header', silently."""
    path = write_file(tmp_path, "glove.txt", b"a 0.1 0.2 0.3\nb 0.5\nc 0.4 0.5 0.6\n")
    with pytest.raises(ParseError, match=r"glove\.txt:2: 1 values, expected 3 \(set by line 1\)"):
        vecload.load(path)


def test_torchtext_non_utf8_token_skipped_only_when_asked(tmp_path: Path) -> None:
    """torchtext vectors.py::Vectors.cache skips non-UTF8 tokens with an info log; vecload's bad_rows='skip' reports it."""
    path = write_file(tmp_path, "glove.txt", b"a 0.1 0.2\nb 0.3 0.4\n\xff\xfe 0.5 0.6\nc 0.7 0.8\n")
    with pytest.raises(ParseError, match=r"glove\.txt:3: the token is not valid UTF-8"):
        vecload.load(path)
    vectors = vecload.load(path, bad_rows="skip")
    assert vectors.tokens == ["a", "b", "c"]
    assert np.array_equal(bits(vectors.vectors.numpy()), bits(decimals([["0.1", "0.2"], ["0.3", "0.4"], ["0.7", "0.8"]])))
    report = vectors.meta["report"]
    assert report["bad_rows"] == 1
    assert [where for _, where in report["examples"]["bad_rows"]] == [3]


def test_torchtext_two_dimensional_glove_reads(tmp_path: Path) -> None:
    """torchtext vectors.py::_infer_shape takes a row's dim only when it has more than 2 values, so 2-d files fail."""
    path = write_file(tmp_path, "glove.2d.txt", b"a 1.0 2.0\nb 3.0 4.0\nc -0.5 0.125\n")
    vectors = vecload.load(path)
    assert vectors.meta["format"] == "glove"
    _same_as_gensim(vectors, _gensim(path, no_header=True))


def test_torchtext_max_vectors_is_limit(tmp_path: Path) -> None:
    """torchtext vectors.py::Vectors(max_vectors=2) keeps the first rows of a frequency-sorted file."""
    path = write_file(tmp_path, "glove.txt", b"the 0.1 0.2 0.3\nof 0.4 0.5 0.6\nand 0.7 0.8 0.9\n")
    vectors = vecload.load(path, limit=2)
    assert vectors.tokens == ["the", "of"]
    assert np.array_equal(bits(vectors.vectors.numpy()), bits(decimals([["0.1", "0.2", "0.3"], ["0.4", "0.5", "0.6"]])))


# --- AllenNLP: modules/token_embedders/embedding.py and embedding_test.py -------------------------------------

_ALLENNLP_ROWS = {
    "think": ["0.143", "0.189", "0.555", "0.361", "0.472"],
    "make": ["0.878", "0.651", "0.044", "0.264", "0.872"],
    "difference": ["0.053", "0.162", "0.671", "0.110", "0.259"],
    "àèìòù": ["1.0", "2.0", "3.0", "4.0", "5.0"],
}
_ALLENNLP_MEMBER = "folder/fake_embeddings.5d.txt"


def _allennlp_text() -> bytes:
    """The rows of AllenNLP's fake_embeddings.5d.txt fixture, as GloVe text."""
    return "".join(f"{t} {' '.join(v)}\n" for t, v in _ALLENNLP_ROWS.items()).encode("utf-8")


def _check_allennlp_table(vectors: vecload.Vectors) -> None:
    """The AllenNLP rows, in order, with float32(float(field)) values."""
    assert vectors.tokens == list(_ALLENNLP_ROWS)
    assert np.array_equal(bits(vectors.vectors.numpy()), bits(decimals(list(_ALLENNLP_ROWS.values()))))


def test_allennlp_non_breaking_space_token_is_kept(tmp_path: Path) -> None:
    """AllenNLP embedding_test.py::test_embedding_constructed_directly_with_pretrained_file: a token of eight U+00A0."""
    nbsp = "\xa0" * 8
    path = tmp_path / "embeddings.gz"
    path.write_bytes(gzip.compress(f"word 1.0 2.3 -1.0\n{nbsp} 3.4 3.3 5.0\n".encode("utf-8")))
    vectors = vecload.load(path)
    assert vectors.tokens == ["word", nbsp]
    assert np.array_equal(bits(vectors.vectors.numpy()), bits(decimals([["1.0", "2.3", "-1.0"], ["3.4", "3.3", "5.0"]])))


def test_allennlp_multi_file_zip_lists_members_and_reads_the_named_one(tmp_path: Path) -> None:
    """AllenNLP embedding_test.py::test_read_embedding_file_inside_archive (.zip): name a member or be told them."""
    path = tmp_path / "multi-file-archive.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(_ALLENNLP_MEMBER, _allennlp_text())
        archive.writestr("folder/other.txt", b"not vectors\n")
    with pytest.raises(FormatError, match=r"2 members.*folder/fake_embeddings\.5d\.txt"):
        vecload.load(path)
    _check_allennlp_table(vecload.load(path, member=_ALLENNLP_MEMBER))
    _check_allennlp_table(vecload.load(f"{path}:{_ALLENNLP_MEMBER}"))


@pytest.mark.parametrize("mode, suffix", [("w", ".tar"), ("w:gz", ".tar.gz"), ("w:bz2", ".tar.bz2"), ("w:xz", ".tar.xz")])
def test_allennlp_multi_file_tar_lists_members_and_reads_the_named_one(tmp_path: Path, mode: str, suffix: str) -> None:
    """AllenNLP embedding_test.py::test_read_embedding_file_inside_archive / test_embeddings_text_file (tar archives)."""
    path = tmp_path / f"multi-file-archive{suffix}"
    with tarfile.open(path, mode) as archive:
        _add_member(archive, _ALLENNLP_MEMBER, _allennlp_text())
        _add_member(archive, "folder/other.txt", b"not vectors\n")
    with pytest.raises(FormatError, match=r"folder/fake_embeddings\.5d\.txt"):
        vecload.load(path)
    _check_allennlp_table(vecload.load(path, member=_ALLENNLP_MEMBER))
    _check_allennlp_table(vecload.load(f"{path}:{_ALLENNLP_MEMBER}"))


@pytest.mark.parametrize("compress, suffix", [(lzma.compress, ".xz"), (bz2.compress, ".bz2"), (gzip.compress, ".gz")])
def test_allennlp_compressed_text_files_read(tmp_path: Path, compress, suffix: str) -> None:
    """AllenNLP embedding.py::EmbeddingsTextFile opens .gz, .bz2 and .xz (lzma) files; embedding_test's utf-8 sample."""
    path = write_file(tmp_path, f"embeddings.txt{suffix}", compress(_allennlp_text()))
    _check_allennlp_table(vecload.load(path))


def test_allennlp_legacy_lzma_file_is_read(tmp_path: Path) -> None:
    """AllenNLP embedding_test.py::test_embeddings_text_file reads .tar.lzma: a legacy LZMA stream is read."""
    path = write_file(tmp_path, "embeddings.txt.lzma", lzma.compress(_allennlp_text(), format=lzma.FORMAT_ALONE))
    _check_allennlp_table(vecload.load(path))


def test_allennlp_wrong_dimension_lines_refused_or_skipped_when_asked(tmp_path: Path) -> None:
    """AllenNLP embedding.py::_read_embeddings_from_text_file skips lines of the wrong dimension with a warning."""
    path = write_file(tmp_path, "glove.txt", b"a 0.1 0.2 0.3\nb 0.4 0.5\nc 0.7 0.8 0.9\nd 1.0 1.1 1.2 1.3\ne 1 2 3\n")
    with pytest.raises(ParseError, match=r"glove\.txt:2: 2 values, expected 3"):
        vecload.load(path)
    vectors = vecload.load(path, bad_rows="skip")
    assert vectors.tokens == ["a", "c", "e"]
    assert np.array_equal(bits(vectors.vectors.numpy()), bits(decimals([["0.1", "0.2", "0.3"], ["0.7", "0.8", "0.9"], ["1", "2", "3"]])))
    report = vectors.meta["report"]
    assert (report["rows_kept"], report["bad_rows"]) == (3, 2)
    assert [where for _, where in report["examples"]["bad_rows"]] == [2, 4]


def test_allennlp_duplicate_token_keeps_first_instead_of_last(tmp_path: Path) -> None:
    """AllenNLP embedding.py::_read_embeddings_from_text_file stores rows in a dict, so a repeated token's last row wins."""
    path = tmp_path / "embeddings.gz"
    path.write_bytes(gzip.compress(b"word1 1.0 2.3 -1.0\nword2 0.1 0.4 -4.0\nword1 9.0 9.0 9.0\n"))
    vectors = vecload.load(path)
    assert vectors.tokens == ["word1", "word2"]
    assert np.array_equal(bits(vectors.vectors.numpy()), bits(decimals([["1.0", "2.3", "-1.0"], ["0.1", "0.4", "-4.0"]])))
    assert vectors.meta["report"]["examples"]["duplicates"] == [["word1", 3]]
    with pytest.raises(ParseError, match=r"embeddings\.gz:3: duplicate token 'word1' \(first at line 1\)"):
        vecload.load(path, duplicates="error")


@pytest.mark.parametrize("first", [b"111 222 333", b"hello 1 2"])
def test_allennlp_first_lines_that_are_not_headers_are_rows(tmp_path: Path, first: bytes) -> None:
    """AllenNLP embedding_test.py::test_embeddings_text_file_num_tokens: these first lines are rows, not headers."""
    path = write_file(tmp_path, "vectors.txt", first + b"\nx 1 2\n")
    vectors = vecload.load(path)
    assert vectors.meta["format"] == "glove"
    assert vectors.tokens == [first.split()[0].decode(), "x"]
    assert np.array_equal(bits(vectors.vectors.numpy()), bits(decimals([first.decode().split()[1:], ["1", "2"]])))


# --- spaCy: training/initialize.py (read_vectors, open_file, ensure_shape) --------------------------------


def test_spacy_tokens_with_spaces_keep_them(tmp_path: Path) -> None:
    """spaCy initialize.py::read_vectors splits with rsplit(' ', dim), so 'new york' is one token (glove.840B)."""
    path = write_file(tmp_path, "vectors.vec", b"3 2\nhello 1 2\nnew york 3 4\nlos angeles ca 5 6\n")
    vectors = vecload.load(path)
    assert vectors.tokens == ["hello", "new york", "los angeles ca"]
    assert vectors.vectors.tolist() == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]


def test_spacy_token_with_spaces_in_the_first_row_reads_as_text(tmp_path: Path) -> None:
    """spaCy initialize.py::read_vectors reads a first row 'a b 1.0 2.0' as token 'a b'; detection must not say binary."""
    path = write_file(tmp_path, "vectors.vec", b"2 2\na b 1.0 2.0\ny 0.25 0.5\n")
    vectors = vecload.load(path)
    assert vectors.meta["format"] == "word2vec"
    assert vectors.tokens == ["a b", "y"]
    assert vectors.vectors.tolist() == [[1.0, 2.0], [0.25, 0.5]]


def test_spacy_header_count_too_large_is_refused_not_zero_filled(tmp_path: Path) -> None:
    """spaCy initialize.py::read_vectors allocates the header's shape with numpy.zeros, leaving missing rows zero."""
    path = tmp_path / "vectors.vec.gz"
    path.write_bytes(gzip.compress(b"5 3\na 0.1 0.2 0.3\nb 0.4 0.5 0.6\n"))
    with pytest.raises(ParseError, match=r"vectors\.vec\.gz:4: the header promises 5 rows but the file ends after 2"):
        vecload.load(path)


def test_spacy_zip_first_member_is_not_taken_silently(tmp_path: Path) -> None:
    """spaCy initialize.py::open_file opens names[0] of any zip; vecload lists the members instead."""
    path = tmp_path / "vectors.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("README.txt", b"These are word vectors.\n")
        archive.writestr("vectors.txt", b"a 1.0 2.0\n")
    with pytest.raises(FormatError, match=r"README\.txt, vectors\.txt"):
        vecload.load(path)
    assert vecload.load(path, member="vectors.txt").tokens == ["a"]


# --- streams the peers inflate without a bound ----------------------------------------------------------


def test_gensim_gzip_stream_far_larger_than_its_table_is_bounded(tmp_path: Path) -> None:
    """gensim utils.open inflates a .gz with no bound; one row repeated 4 MiB-worth is refused under max_bytes."""
    row = b"a 1.0 2.0\n"
    path = tmp_path / "bomb.txt.gz"
    path.write_bytes(gzip.compress(row * ((4 << 20) // len(row)), compresslevel=9))
    _refusal(path, r"max.bytes", max_bytes=1 << 20)
    vectors = vecload.load(path, max_bytes=8 << 20)
    assert vectors.tokens == ["a"]
    assert vectors.meta["report"]["duplicates"] == (4 << 20) // len(row) - 1
