"""Format detection and the gensim reference engine on tiny fixtures and gensim's real files."""

from __future__ import annotations

import numpy as np
import pytest

import vecload

from tests.conftest import FIXTURES, bits, gensim_data, reference_parse
from vecload.errors import FormatError, ParseError, VecloadError
from vecload.formats import ReadOptions, open_source, read_table
from vecload.formats.detect import detect_format

TINY = [
    ("tiny.glove.txt", "glove", None),
    ("tiny.w2v.txt", "word2vec", None),
    ("tiny.vec", "word2vec", None),
    ("tiny.w2v.bin", "word2vec-binary", None),
    ("tiny-nonl.w2v.bin", "word2vec-binary", None),
    ("tiny.glove.txt.gz", "glove", "gzip"),
    ("tiny.w2v.bin.bz2", "word2vec-binary", "bz2"),
    ("gzip-named.txt", "word2vec", "gzip"),
    ("tiny.zip:tiny.glove.txt", "glove", "zip"),
    ("tiny.zip:tiny.w2v.txt", "word2vec", "zip"),
]

REAL = [
    ("test_glove.txt", "glove"),
    ("lee_fasttext.vec", "word2vec"),
    ("EN.1-10.cbow1_wind5_hs0_neg10_size300_smpl1e-05.txt", "word2vec"),
    ("crime-and-punishment.vec", "word2vec"),
    ("toy-model.vec", "word2vec"),
    ("high_precision.kv.txt", "word2vec"),
    ("euclidean_vectors.bin", "word2vec-binary"),
    ("poincare_vectors.bin", "word2vec-binary"),
    ("high_precision.kv.bin", "word2vec-binary"),
]


@pytest.mark.parametrize(("name", "fmt", "compression"), TINY)
def test_detects_format_and_compression_from_content(name: str, fmt: str, compression: str | None) -> None:
    """Each tiny fixture is recognised by its bytes, whatever its name says."""
    source = open_source(str(FIXTURES / name))
    assert source.compression == compression
    assert detect_format(source) == fmt


@pytest.mark.parametrize(("name", "fmt", "compression"), TINY)
def test_gensim_engine_matches_independent_parse_on_fixtures(name: str, fmt: str, compression: str | None) -> None:
    """The gensim engine returns exactly the tokens and float32 bits an independent parser finds."""
    table = read_table(str(FIXTURES / name), engine="gensim")
    plain = FIXTURES / name.split(":")[-1] if compression == "zip" else FIXTURES / name
    tokens, values = reference_parse(plain, binary=fmt == "word2vec-binary")
    assert table.format == fmt
    assert table.tokens == tokens == ["the", "of", "café", "u.s."]
    assert np.array_equal(bits(table.vectors), bits(values))


@pytest.mark.parametrize(("name", "fmt"), REAL)
def test_gensim_engine_matches_independent_parse_on_real_files(name: str, fmt: str) -> None:
    """gensim's own shipped vector files read bit-identically to an independent parse."""
    path = gensim_data() / name
    table = read_table(str(path), engine="gensim")
    tokens, values = reference_parse(path, binary=fmt == "word2vec-binary")
    assert table.format == fmt
    assert table.tokens == tokens
    assert np.array_equal(bits(table.vectors), bits(values))


def test_bom_and_crlf_are_stripped() -> None:
    """A UTF-8 BOM and CRLF line ends leave the first token and the values untouched."""
    table = read_table(str(FIXTURES / "tiny-crlf-bom.glove.txt"), engine="gensim")
    assert table.tokens[0] == "the"
    assert table.report.bom is True
    _, values = reference_parse(FIXTURES / "tiny.glove.txt")
    assert np.array_equal(bits(table.vectors), bits(values))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.txt", r"empty\.txt: is empty"),
        ("page.txt", r"page\.txt: is an HTML or XML page"),
        ("raw-glove-vectors.bin", r"raw-glove-vectors\.bin: is binary data without a word2vec"),
    ],
)
def test_foreign_files_are_refused_with_what_they_look_like(name: str, message: str) -> None:
    """Files that are not vectors get a FormatError saying what they look like."""
    with pytest.raises(FormatError, match=message):
        read_table(str(FIXTURES / "bad" / name))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("header-too-small.txt", r"header-too-small\.txt:5: the header promises 3 rows but there are more"),
        ("header-too-large.txt", r"header-too-large\.txt:6: the header promises 5 rows but the file ends after 4"),
        ("short-row.txt", r"short-row\.txt:2: 2 values, expected 3"),
        ("truncated.w2v.bin", r"truncated\.w2v\.bin: byte \d+: the file ends inside record 4 of 4"),
        ("not-a-number.txt", r"not-a-number\.txt:2: '0\.57O88' is not a number"),
    ],
)
def test_gensim_engine_reports_damage_with_a_location(name: str, message: str) -> None:
    """Where gensim would fail vaguely or drop rows silently, the error names the file and place."""
    with pytest.raises(ParseError, match=message):
        read_table(str(FIXTURES / "bad" / name), engine="gensim")


def test_duplicates_keep_first_and_are_reported() -> None:
    """A repeated token keeps its first row; the repeat is counted with its line."""
    table = read_table(str(FIXTURES / "bad" / "duplicate.txt"), engine="gensim")
    assert table.tokens == ["the", "of", "café", "u.s."]
    assert table.report.duplicates == 1
    assert table.report.examples["duplicates"] == [["the", 5]]
    _, values = reference_parse(FIXTURES / "tiny.glove.txt")
    assert np.array_equal(bits(table.vectors), bits(values))


def test_duplicates_can_be_an_error() -> None:
    """duplicates='error' refuses the file, naming both lines."""
    with pytest.raises(ParseError, match=r"duplicate\.txt:5: duplicate token 'the' \(first at line 1\)"):
        read_table(str(FIXTURES / "bad" / "duplicate.txt"), engine="gensim", options=ReadOptions(duplicates="error"))


def test_zip_archive_without_member_lists_members() -> None:
    """An archive with several members asks which one, listing them."""
    with pytest.raises(FormatError, match=r"tiny\.zip: is a zip archive with 2 members.*tiny\.glove\.txt, tiny\.w2v\.txt"):
        open_source(str(FIXTURES / "tiny.zip"))


def test_unknown_format_name_is_refused() -> None:
    """--format takes only the supported names."""
    with pytest.raises(vecload.ArgumentError, match="unknown format 'fasttext'"):
        read_table(str(FIXTURES / "tiny.vec"), format="fasttext")


def test_paths_raise_oserrors_and_bad_arguments_argument_errors(tmp_path: Path) -> None:
    """A missing source is FileNotFoundError, a directory IsADirectoryError; unknown options ArgumentError."""
    with pytest.raises(FileNotFoundError, match="no such file") as missing:
        vecload.load(tmp_path / "missing.txt")
    assert missing.value.filename == str(tmp_path / "missing.txt")
    with pytest.raises(IsADirectoryError, match="is a directory, not a vector file"):
        vecload.load(tmp_path)
    with pytest.raises(vecload.ArgumentError, match=r"unknown read option 'limt'; the read options are: limit, "):
        vecload.load(FIXTURES / "tiny.vec", limt=2)
    with pytest.raises(vecload.ArgumentError, match="unknown engine 'nope'; choose one of: gensim, native"):
        vecload.load(FIXTURES / "tiny.vec", engine="nope")
    with pytest.raises(ValueError, match="duplicates must be one of 'first', 'error', got 'last'"):
        vecload.convert(FIXTURES / "tiny.vec", tmp_path / "t.pth", duplicates="last")
    assert list(tmp_path.iterdir()) == []


def test_format_override_skips_detection() -> None:
    """format= reads a word2vec text file's header line as a glove row when told to, and fails clearly."""
    with pytest.raises(ParseError, match=r"tiny\.w2v\.txt:2: 3 values, expected 1"):
        read_table(str(FIXTURES / "tiny.w2v.txt"), format="glove", engine="gensim")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("model-from-gensim-3.8.0.w2v", r"is a Python pickle .*pickles can run code"),
        ("questions-words.txt", r"is text but not vectors: its first line ': capital-common-countries'"),
    ],
)
def test_real_non_vector_files_are_refused(name: str, message: str) -> None:
    """gensim's own pickled model and analogy questions are named for what they are."""
    with pytest.raises(FormatError, match=message):
        read_table(str(gensim_data() / name))
