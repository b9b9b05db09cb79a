"""Detection that proves its answer, the peers' leniencies vecload shares, and the lenient mode for dirty files.

Every text file whose first data row is a token and ``dim`` numbers reads as text; a file reads as
word2vec binary only when its first records line up and hold bytes no text has. Anything else is refused
with what was seen, the likely cause and the format to try.
"""

from __future__ import annotations

import gzip
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from gensim.test.utils import datapath

from tests.helpers import FIXTURES, bits, decimals, reference_parse, word2vec_binary, write_file
from vecload.errors import ArgumentError, FormatError, ParseError, VecloadError
from vecload.formats import ReadOptions, open_source, read_table
from vecload.formats.detect import HEAD_BYTES, detect_format


def expect(table, tokens: list[str], rows: list[list[str]]) -> None:
    """The table holds exactly these tokens and float32(float(text)) of these values, bit for bit."""
    assert table.tokens == tokens
    assert np.array_equal(bits(table.vectors), bits(decimals(rows)))


# --- text is never read as binary ---------------------------------------------------------------------


def test_blank_line_after_the_header_reads_as_text(tmp_path: Path) -> None:
    """The issue's example (it lines up as two 16-byte 'records') reads as text with its exact values."""
    path = write_file(tmp_path, "blank.vec", b"2 4\n\nx 1.5 1.0 2.0 3.0\ny 0.25 0.5 0.1 0.2\n")
    assert detect_format(open_source(path)) == "word2vec"
    table = read_table(path)
    expect(table, ["x", "y"], [["1.5", "1.0", "2.0", "3.0"], ["0.25", "0.5", "0.1", "0.2"]])
    assert table.report.blank_lines == 1 and table.report.examples["blank_lines"] == [["", 2]]


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["plain", "bom"])
def test_blank_lines_then_a_last_row_without_newline(tmp_path: Path, bom: bytes) -> None:
    """Leading blank lines, then the only row without a final newline: the row arrives in the reader's
    second block (the first holds only the blank lines); it once read as 'a token but no values'."""
    path = write_file(tmp_path, "late.txt", bom + b"\n \nw0 -1.286")
    table = read_table(path)
    expect(table, ["w0"], [["-1.286"]])
    assert table.report.blank_lines == 2 and table.report.examples["blank_lines"] == [["", 1], ["", 2]]
    assert table.report.bom == bool(bom)


def test_a_megabyte_of_leading_blank_lines_is_skipped_in_linear_time(tmp_path: Path) -> None:
    """1,000,000 blank lines before the first row (1 MB; a 1 KB gzip) are counted in one pass: sliced off
    line by line they took 15 s, and a 2 MiB block of them a minute."""
    path = write_file(tmp_path, "blank.txt.gz", gzip.compress(b"\n" * 1_000_000 + b"w 1.5\n"))
    start = time.perf_counter()
    table = read_table(path)
    assert time.perf_counter() - start < 5
    expect(table, ["w"], [["1.5"]])
    assert table.report.blank_lines == 1_000_000 and table.report.examples["blank_lines"][-1] == ["", 20]


def test_decimal_commas_are_refused_naming_them(tmp_path: Path) -> None:
    """Decimal commas (which also line up as binary records) are refused as text, with the cause."""
    path = write_file(tmp_path, "comma.vec", b"2 2\nx 1,5 1.0\ny 0.25 0.5\n")
    assert detect_format(open_source(path)) == "word2vec"
    with pytest.raises(ParseError, match=r"comma\.vec:2: value 1 \('1,5'\) is not a number \(decimal commas"):
        read_table(path)


def test_digit_separators_are_refused_not_read_as_binary(tmp_path: Path) -> None:
    """'1_000' (which float() accepts) is refused as a number, never read as binary."""
    path = write_file(tmp_path, "under.vec", b"2 2\nx 1_000 1.0\ny 0.25 0.5\n")
    assert detect_format(open_source(path)) == "word2vec"
    with pytest.raises(ParseError, match=r"under\.vec:2: value 1 \('1_000'\) is not a number \(it has a '_' digit separator"):
        read_table(path)


def test_digit_separators_are_refused_in_the_bulk_path(tmp_path: Path) -> None:
    """Deep in a canonical block (the bulk parser's float() fallback), '1_5' is refused with its line."""
    lines = [f"w{i} 0.5 0.25" for i in range(3000)]
    lines[2000] = "w2000 0.5 1_5"
    path = write_file(tmp_path, "deep.txt", ("\n".join(lines) + "\n").encode())
    with pytest.raises(ParseError, match=r"deep\.txt:2001: value 2 \('1_5'\) is not a number"):
        read_table(path)


def test_gensim_written_file_with_a_blank_line_after_the_header(tmp_path: Path) -> None:
    """A file gensim wrote, with a blank line after its header, reads as text, equal to the original."""
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=4)
    rng = np.random.default_rng(3)
    kv.add_vectors([f"w{i}" for i in range(20)], rng.standard_normal((20, 4)).astype(np.float32))
    original = tmp_path / "kv.vec"
    kv.save_word2vec_format(str(original))
    header, rest = original.read_bytes().split(b"\n", 1)
    path = write_file(tmp_path, "blank.vec", header + b"\n\n" + rest)
    table = read_table(path)
    reference = read_table(original, engine="gensim")
    assert table.format == "word2vec" and table.tokens == reference.tokens
    assert np.array_equal(bits(table.vectors), bits(reference.vectors))


def test_infinity_in_the_first_row_reads_as_text(tmp_path: Path) -> None:
    """'Infinity' (which float() and gensim accept) in the first data row is text, reported as non-finite."""
    path = write_file(tmp_path, "inf.vec", b"2 2\nx Infinity -inf\ny 0.25 nan\n")
    table = read_table(path)
    assert table.format == "word2vec" and table.tokens == ["x", "y"]
    assert table.vectors[0].tolist() == [float("inf"), float("-inf")] and np.isnan(table.vectors[1, 1])
    assert table.report.nonfinite == 2


def test_token_with_spaces_in_the_first_row_reads_as_text(tmp_path: Path) -> None:
    """The token is everything before the last dim fields, in the first row too."""
    path = write_file(tmp_path, "spaces.vec", b"2 2\nNew York 1.0 2.0\ny 0.25 0.5\n")
    expect(read_table(path), ["New York", "y"], [["1.0", "2.0"], ["0.25", "0.5"]])


@pytest.mark.parametrize("header", [True, False], ids=["word2vec", "glove"])
def test_rows_longer_than_the_first_read(tmp_path: Path, header: bool) -> None:
    """Rows of 20,000 values (far past the first 64 KiB read) are detected and read as text exactly."""
    rng = np.random.default_rng(1)
    values = rng.standard_normal((3, 20000)).astype(np.float32)
    lines = [f"t{i} " + " ".join(repr(float(v)) for v in row) for i, row in enumerate(values)]
    data = (("3 20000\n" if header else "") + "\n".join(lines) + "\n").encode()
    assert len(lines[0]) > HEAD_BYTES
    path = write_file(tmp_path, "long.vec", data)
    table = read_table(path)
    assert table.format == ("word2vec" if header else "glove")
    tokens, expected = reference_parse(path)
    assert table.tokens == tokens and np.array_equal(bits(table.vectors), bits(values))


def test_header_only_file_is_reported_in_text_terms(tmp_path: Path) -> None:
    """A header with no rows is word2vec text: the error counts rows, not binary records."""
    path = write_file(tmp_path, "head.vec", b"1000 300\n")
    assert detect_format(open_source(path)) == "word2vec"
    with pytest.raises(ParseError, match=r"head\.vec:2: the header promises 1000 rows but the file ends after 0") as err:
        read_table(path)
    assert "record" not in str(err.value)


def test_zero_row_header_is_word2vec_text(tmp_path: Path) -> None:
    """A '0 300' header is labelled word2vec text (not binary), with no rows."""
    path = write_file(tmp_path, "zero.vec", b"0 300\n")
    assert detect_format(open_source(path)) == "word2vec"
    table = read_table(path)
    assert table.format == "word2vec" and table.tokens == [] and table.vectors.shape == (0, 300)


# --- binary is still binary ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["euclidean_vectors.bin", "poincare_vectors.bin", "high_precision.kv.bin"])
def test_gensim_test_data_binaries_are_detected(name: str) -> None:
    """gensim's own word2vec binary files are still detected as binary."""
    assert detect_format(open_source(datapath(name))) == "word2vec-binary"


@pytest.mark.parametrize("name", ["word2vec_pre_kv_c", "pretrained.vec", "w2v_keyedvectors_load_test.modeldata"])
def test_gensim_test_data_text_without_extension_is_detected(name: str) -> None:
    """gensim's word2vec text files without a telling name are detected as text."""
    assert detect_format(open_source(datapath(name))) == "word2vec"


@pytest.mark.parametrize("dim", [1, 2, 300])
def test_gensim_written_binary_is_detected_and_read_exactly(tmp_path: Path, dim: int) -> None:
    """save_word2vec_format(binary=True) output is detected as binary and read bit for bit."""
    from gensim.models import KeyedVectors

    rng = np.random.default_rng(dim)
    values = rng.standard_normal((50, dim)).astype(np.float32)
    kv = KeyedVectors(vector_size=dim)
    kv.add_vectors([f"w{i}" for i in range(50)], values)
    path = tmp_path / "kv.bin"
    kv.save_word2vec_format(str(path), binary=True)
    table = read_table(path)
    assert table.format == "word2vec-binary" and table.tokens == [f"w{i}" for i in range(50)]
    assert np.array_equal(bits(table.vectors), bits(values))


def test_binary_with_a_blank_line_after_the_header_is_binary(tmp_path: Path) -> None:
    """A newline before a record is word2vec.c's separator: still binary."""
    data = word2vec_binary([(b"a", [1.0, 2.0]), (b"b", [3.0, 4.0])])
    path = write_file(tmp_path, "nl.bin", data.replace(b"\n", b"\n\n", 1))
    table = read_table(path)
    assert table.format == "word2vec-binary" and table.vectors.tolist() == [[1, 2], [3, 4]]


def test_truncated_binary_is_still_located_by_the_binary_reader(tmp_path: Path) -> None:
    """A binary file cut inside its first record keeps the binary reader's located error."""
    path = write_file(tmp_path, "cut.bin", word2vec_binary([(b"a", [1.0, 2.0])])[:-6])
    with pytest.raises(ParseError, match=r"cut\.bin: byte 4: the file ends inside record 1 of 1"):
        read_table(path)


def test_text_and_binary_evidence_disagreeing_is_refused(tmp_path: Path) -> None:
    """A first row that is text ('x 1.0', dim 1) whose bytes also line up as binary records holding
    binary bytes is refused, naming both readings and the formats to pass."""
    data = b"2 1\nx 1.0\ny " + struct.pack("<f", 1.0)
    path = write_file(tmp_path, "both.vec", data)
    with pytest.raises(FormatError, match=r"both\.vec: reads both as word2vec text \(line 2 .*; pass format='word2vec' or "
                                           r"format='word2vec-binary'"):
        read_table(path)
    assert read_table(path, format="word2vec-binary").tokens == ["x", "y"]


def test_text_with_a_bad_first_row_is_not_read_as_binary(tmp_path: Path) -> None:
    """Text whose first row is bad (a decimal comma) and whose later token holds a control byte lines up as
    binary records with a control byte in a vector; its parsing rows make it ambiguous, never binary."""
    data = b"3 2\na 1,5 2\n\x1bbc 1.5 2.5\nd 0.5 1.5\n"  # binary reading: 'a', 'c', 'd' and garbage floats
    path = write_file(tmp_path, "comma.vec", data)
    with pytest.raises(FormatError, match=r"comma\.vec: reads both as word2vec text \(line 2 is a token and number-like values; "
                                          r"line 2: value 1 \('1,5'\) is not a number \(decimal commas.*--format word2vec-binary"):
        read_table(path)
    with pytest.raises(ParseError, match=r"comma\.vec:2: value 1 \('1,5'\) is not a number \(decimal commas"):
        read_table(path, format="word2vec")
    skipped = read_table(path, format="word2vec", options=ReadOptions(bad_rows="skip"))
    expect(skipped, ["\x1bbc", "d"], [["1.5", "2.5"], ["0.5", "1.5"]])


def test_text_with_decimal_commas_throughout_is_not_read_as_binary(tmp_path: Path) -> None:
    """Every row with decimal commas (no row parses) and a control byte in a token: the rows shaped like text
    (a token and dim number-like fields) keep the aligned records from being read as binary, with a limit too."""
    data = b"3 2\na 1,5 2\n\x1bbc 1,5 2,5\nd 0,5 1,5\n"  # binary reading: 'a', 'c', 'd' and garbage floats
    path = write_file(tmp_path, "commas.vec", data)
    for options in (None, ReadOptions(limit=2)):
        with pytest.raises(FormatError, match=r"commas\.vec: reads both as word2vec text \(line 2 is a token and number-like values; "
                                              r"line 2: value 1 \('1,5'\) is not a number \(decimal commas"):
            read_table(path, options=options)


def test_text_under_a_header_with_the_wrong_dim_is_not_read_as_binary(tmp_path: Path) -> None:
    """A header whose dim is wrong (3, rows of 2 values) over rows with a control byte in a token: the rows
    line up as three 12-byte binary records, but rows shaped like text make the file ambiguous."""
    data = b"3 3\na 1.5 2.5\n\x1bxyzc 0.5 1.5\ndefgh 0.25 0.5000\n"  # binary reading: 'a', 'c', 'h' and garbage
    path = write_file(tmp_path, "dim.vec", data)
    with pytest.raises(FormatError, match=r"dim\.vec: reads both as word2vec text \(line 2 is a token and number-like "
                                          r"values; line 2: 2 values, expected 3\) and as word2vec binary"):
        read_table(path)


def test_neither_text_nor_binary_is_refused(tmp_path: Path) -> None:
    """Binary bytes that do not line up as records (a token holding a newline) are refused, not guessed."""
    data = b"2 2\nab\ncd " + struct.pack("<2f", 1.0, 2.0) + b"\x00\x01"
    path = write_file(tmp_path, "odd.vec", data)
    with pytest.raises(FormatError, match=r"odd\.vec: has a word2vec header \(2 rows of 2 values\) but what follows is "
                                          r"neither text \(line 2: .*\) nor binary records \(misaligned after 0\)"):
        read_table(path)


# --- leniencies -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("tab_in_a_token", [False, True], ids=["bulk-path", "per-line-path"])
def test_trailing_spaces_and_tabs_are_stripped(tmp_path: Path, tab_in_a_token: bool) -> None:
    """Rows ending in any mix of spaces and tabs read like their clean twin, in bulk and line by line."""
    first = "a\tb" if tab_in_a_token else "ab"
    clean = f"2 3\n{first} 0.5 1.5 -2\nc 0.25 0.125 3e-5\n"
    dirty = f"2 3 \t\n{first} 0.5 1.5 -2 \t \t\nc 0.25 0.125 3e-5\t\n"
    table = read_table(write_file(tmp_path, "dirty.vec", dirty.encode()))
    twin = read_table(write_file(tmp_path, "clean.vec", clean.encode()))
    assert table.format == twin.format == "word2vec" and table.tokens == twin.tokens == [first, "c"]
    assert np.array_equal(bits(table.vectors), bits(twin.vectors))
    glove = read_table(write_file(tmp_path, "dirty.txt", dirty.split("\n", 1)[1].encode()))
    assert glove.format == "glove" and np.array_equal(bits(glove.vectors), bits(twin.vectors))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"2 2\nx\t1.0\t2.0\ny\t0.5\t0.25\n", r"tabs\.txt:2: 0 values, expected 2 \(set by the header\); it has tabs"),
        (b"x 1.0 2.0\ny 0.5\t0.25\nz 1 2\n", r"tabs\.txt:2: 1 values, expected 2 \(set by line 1\); it has tabs"),
        (b"x 1.0 2.0\ny 0.5 \t0.25\n", r"tabs\.txt:2: value 2 \('\\t0\.25'\) is not a number \(it has tabs"),
    ],
    ids=["word2vec", "one-row", "space-and-tab"],
)
def test_tab_separators_are_refused_naming_tabs(tmp_path: Path, data: bytes, message: str) -> None:
    """Tabs between fields are refused (gensim would make them part of a token) with a message naming tabs."""
    with pytest.raises(ParseError, match=message):
        read_table(write_file(tmp_path, "tabs.txt", data))


def test_tab_separated_glove_is_refused_naming_tabs(tmp_path: Path) -> None:
    """A tab-separated file without a header is not recognised as vectors, and the message says why."""
    path = write_file(tmp_path, "tabs.txt", b"x\t1.0\t2.0\ny\t0.5\t0.25\n")
    with pytest.raises(FormatError, match=r"tabs\.txt: is text but not vectors: .*; it has tabs between fields"):
        read_table(path)
    with pytest.raises(ParseError, match=r"tabs\.txt:1: the first row has a token but no values \(it has tabs"):
        read_table(path, format="glove")


def test_glove_format_on_a_vec_suggests_the_header(tmp_path: Path) -> None:
    """format='glove' on a .vec reads the header as a one-value row; the error says so and what to pass."""
    with pytest.raises(ParseError, match=r"tiny\.vec:2: 3 values, expected 1 \(set by line 1\); line 1 looks like a "
                                         r"word2vec 'count dim' header read as a GloVe row: read the file as word2vec text, not glove"):
        read_table(FIXTURES / "tiny.vec", format="glove")


def cut_vec(tmp_path: Path, promised: int, present: int, dim: int = 5) -> Path:
    """A .vec whose header promises ``promised`` rows of which ``present`` are there (made with head)."""
    rows = [f"w{i} " + " ".join(f"{(i * dim + j) / 7:.6f}" for j in range(dim)) for i in range(present)]
    return write_file(tmp_path, "cut.vec", (f"{promised} {dim}\n" + "\n".join(rows) + "\n").encode())


def test_limit_reads_a_file_cut_short_with_head(tmp_path: Path) -> None:
    """Like torchtext's test asset (2,519,370 rows promised, 99 present): limit reads the rows present;
    without it the error says the file looks cut short and how to read it."""
    path = cut_vec(tmp_path, 2_519_370, 99, dim=300)
    with pytest.raises(ParseError, match=r"cut\.vec:1: the header promises 2,519,370 rows .*cut short on purpose "
                                         r"\(with head\?\), limit=N reads its first N rows"):
        read_table(path)
    tokens, values = reference_parse(path)
    for limit in (99, 40):
        table = read_table(path, options=ReadOptions(limit=limit))
        assert table.tokens == tokens[:limit] and np.array_equal(bits(table.vectors), bits(values[:limit]))
    with pytest.raises(ParseError, match=r"cut\.vec:101: the header promises 2519370 rows but the file ends after 99"):
        read_table(path, options=ReadOptions(limit=100))


def test_a_small_cut_names_the_rows_present(tmp_path: Path) -> None:
    """A header promising a few more rows than present: the error gives the limit that reads them."""
    path = cut_vec(tmp_path, 150, 99)
    with pytest.raises(ParseError, match=r"cut\.vec:101: the header promises 150 rows but the file ends after 99 "
                                         r"\(truncated\?\); .*limit=99 reads the 99 rows present"):
        read_table(path)


def test_binary_cut_short_reads_with_limit(tmp_path: Path) -> None:
    """A binary file with fewer records than promised reads its first records with limit, and says how without."""
    records = [(f"w{i}".encode(), [float(i), -float(i)]) for i in range(3)]
    path = write_file(tmp_path, "cut.bin", word2vec_binary(records, count=10))
    with pytest.raises(ParseError, match=r"cut\.bin: byte \d+: the file ends inside record 4 of 10 \(truncated\?\); "
                                         r".*limit=3 reads the 3 rows present"):
        read_table(path)
    assert read_table(path, options=ReadOptions(limit=3)).vectors.tolist() == [[0, 0], [1, -1], [2, -2]]


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_limit_equal_to_a_too_small_count_reads_that_many(tmp_path: Path, binary: bool) -> None:
    """With limit equal to a header count that is too small, text and binary both read that many rows;
    without limit both refuse the extra rows."""
    if binary:
        path = write_file(tmp_path, "more.bin", word2vec_binary([(b"a", [1.0, 2.0]), (b"b", [3.0, 4.0])], count=1))
    else:
        path = write_file(tmp_path, "more.vec", b"1 2\na 1 2\nb 3 4\n")
    table = read_table(path, options=ReadOptions(limit=1))
    assert table.tokens == ["a"] and table.vectors.tolist() == [[1, 2]]
    with pytest.raises(ParseError, match="the header promises 1 rows but there are more|data after the 1 records"):
        read_table(path)


# --- bad_rows="skip" -----------------------------------------------------------------------------------


DIRTY = (
    b"a 1 2 3\n"
    b"b 1 2\n"  # too few values
    b"c 4 5 6\n"
    b"\n"
    b"d\xff 1 2 3\n"  # not UTF-8
    b"e 7 8 9\n"
    b"f 1 2 3 4\n"  # too many values
    b"g 1 1 1\n"
    b"h 1,5 2 3\n"  # decimal comma
    b"i 2 2 2\n"
    b"j 1 x 3\n"  # not a number
    b"k 3 3 3\n"
)
GOOD = (["a", "c", "e", "g", "i", "k"], [["1", "2", "3"], ["4", "5", "6"], ["7", "8", "9"], ["1", "1", "1"],
                                         ["2", "2", "2"], ["3", "3", "3"]])


def test_bad_rows_skip_reads_the_good_rows_and_reports_the_rest(tmp_path: Path) -> None:
    """Skipped rows are counted with their lines and reasons; the good rows are read exactly."""
    path = write_file(tmp_path, "dirty.txt", DIRTY)
    with pytest.raises(ParseError, match=r"dirty\.txt:2: 2 values, expected 3"):
        read_table(path)
    table = read_table(path, options=ReadOptions(bad_rows="skip"))
    expect(table, *GOOD)
    report = table.report
    assert report.bad_rows == 5 and report.rows_read == 11 and report.rows_kept == 6 and report.blank_lines == 1
    assert [n for _, n in report.examples["bad_rows"]] == [2, 5, 7, 9, 11]
    reasons = [r for r, _ in report.examples["bad_rows"]]
    assert reasons[0].startswith("2 values, expected 3") and reasons[1].startswith("the token is not valid UTF-8")
    assert reasons[2].startswith("4 values, expected 3") and "decimal commas" in reasons[3]
    assert reasons[4].startswith("value 2 ('x') is not a number")
    assert report.to_dict()["bad_rows"] == 5 and report.to_dict()["examples"]["bad_rows"][0] == [reasons[0], 2]
    assert "5 bad rows skipped (line 2: 2 values, expected 3" in report.summary()


def test_bad_rows_skip_limit_counts_skipped_rows(tmp_path: Path) -> None:
    """limit counts rows read, skipped ones included (as gensim's limit counts lines); blank lines are not rows."""
    path = write_file(tmp_path, "dirty.txt", DIRTY)
    table = read_table(path, options=ReadOptions(bad_rows="skip", limit=5))
    assert table.tokens == ["a", "c", "e"] and table.report.rows_read == 5 and table.report.bad_rows == 2


def test_bad_rows_skip_in_the_bulk_path_matches_the_clean_file(tmp_path: Path) -> None:
    """Bad rows deep in canonical blocks (bulk path) are skipped; the rest equals the file without them."""
    rng = np.random.default_rng(2)
    values = rng.standard_normal((4000, 6))
    lines = [f"w{i} " + " ".join(repr(float(v)) for v in row) for i, row in enumerate(values)]
    clean = write_file(tmp_path, "clean.txt", ("\n".join(lines) + "\n").encode())
    bad = {1500: "w1500 1 2 3", 2500: "w2500 1 2 3 4 5 oops", 3900: "w3900 1 2 3 4 5 6 7"}
    dirty_lines = list(lines)
    for i, text in bad.items():
        dirty_lines[i] = text
    dirty = write_file(tmp_path, "dirty.txt", ("\n".join(dirty_lines) + "\n").encode())
    table = read_table(dirty, options=ReadOptions(bad_rows="skip"))
    reference = read_table(clean)
    keep = [i for i in range(4000) if i not in bad]
    assert table.tokens == [reference.tokens[i] for i in keep]
    assert np.array_equal(bits(table.vectors), bits(reference.vectors[keep]))
    assert [n for _, n in table.report.examples["bad_rows"]] == [i + 1 for i in sorted(bad)]


def test_bad_rows_skip_word2vec_counts_against_the_header(tmp_path: Path) -> None:
    """In a word2vec file skipped rows are rows: the header's count includes them."""
    path = write_file(tmp_path, "dirty.vec", b"3 2\na 1 2\nb 1\nc 3 4\n")
    table = read_table(path, options=ReadOptions(bad_rows="skip"))
    assert table.tokens == ["a", "c"] and table.report.bad_rows == 1 and table.report.rows_read == 3


def test_bad_rows_skip_binary_undecodable_tokens(tmp_path: Path) -> None:
    """In a binary file a record whose token is not UTF-8 is skipped and reported at its offset."""
    path = write_file(tmp_path, "bad.bin", word2vec_binary([(b"a", [1.0, 2.0]), (b"b\xff", [3.0, 4.0]), (b"c", [5.0, 6.0])]))
    table = read_table(path, options=ReadOptions(bad_rows="skip"))
    assert table.tokens == ["a", "c"] and table.vectors.tolist() == [[1, 2], [5, 6]]
    assert table.report.bad_rows == 1 and table.report.rows_read == 3
    assert table.report.examples["bad_rows"][0][1] == 15


def test_bad_rows_skip_is_only_for_the_native_engine(tmp_path: Path) -> None:
    """The gensim engine cannot skip rows: asking it to is a clear error."""
    with pytest.raises(VecloadError, match=r"skipping bad rows is only for the native engine .*; drop engine='gensim'"):
        read_table(FIXTURES / "tiny.vec", engine="gensim", options=ReadOptions(bad_rows="skip"))
    with pytest.raises(ArgumentError, match="bad_rows must be one of"):
        ReadOptions(bad_rows="drop")


def test_cli_bad_rows_skip_says_so_on_stderr_even_quiet(tmp_path: Path) -> None:
    """`convert --bad-rows skip -q` writes the table and one stderr line naming the skipped lines."""
    from vecload.cli import main

    import vecload

    path = write_file(tmp_path, "dirty.txt", DIRTY)
    out = tmp_path / "o.pth"
    result = CliRunner().invoke(main, ["convert", str(path), "-o", str(out), "-q", "--bad-rows", "skip"])
    assert result.exit_code == 0, result.output
    assert result.stderr == "skipped 5 bad rows (lines 2, 5, 7, 9, 11)\n" and result.stdout == ""
    loaded = vecload.load(out)
    assert loaded.tokens == GOOD[0] and loaded.meta["report"]["bad_rows"] == 5
    assert loaded.meta["options"]["bad_rows"] == "skip"
    refused = CliRunner().invoke(main, ["convert", str(path), "-o", str(tmp_path / "p.pth")])
    assert refused.exit_code == 1 and "dirty.txt:2: 2 values, expected 3" in refused.output
    info = CliRunner().invoke(main, ["info", str(path), "--bad-rows", "skip", "--full"])
    assert info.exit_code == 0 and "5 bad rows skipped (line 2: 2 values, expected 3" in info.output


def test_align_passes_bad_rows_through(tmp_path: Path) -> None:
    """vecload.align reads with bad_rows like load does, and the CLI's aligned convert too."""
    import vecload
    from vecload.cli import main

    path = write_file(tmp_path, "dirty.txt", DIRTY)
    vocab = write_file(tmp_path, "vocab.txt", b"a\nk\nb\n")
    with pytest.raises(ParseError, match=r"dirty\.txt:2: 2 values"):
        vecload.align(path, ["a", "k", "b"])
    aligned = vecload.align(path, ["a", "k", "b"], bad_rows="skip", oov="zeros")
    assert aligned.tokens == ["<pad>", "<unk>", "a", "k", "b"]
    assert aligned.vectors[2:4].tolist() == [[1, 2, 3], [3, 3, 3]] and aligned.meta["report"]["bad_rows"] == 5
    result = CliRunner().invoke(main, ["convert", str(path), "--vocab", str(vocab), "-o", str(tmp_path / "a.pth"),
                                       "-q", "--bad-rows", "skip", "--verify-source"])
    assert result.exit_code == 0, result.output
    assert result.stderr == "skipped 5 bad rows (lines 2, 5, 7, 9, 11)\n"


def test_bad_rows_skip_refuses_when_most_rows_are_bad(tmp_path: Path) -> None:
    """A first row with an extra value sets the wrong dimension; skipping every other row would keep it alone,
    so the file is refused instead, naming the dimension's origin."""
    path = write_file(tmp_path, "off.txt", b"a 1 2 3 4\nb 1 2 3\nc 4 5 6\nd 7 8 9\n")
    with pytest.raises(ParseError, match=r"off\.txt:2: skipping bad rows would skip 3 of the 4 rows read; .*"
                                         r"dimension \(4, set by line 1\) is probably wrong"):
        read_table(path, options=ReadOptions(bad_rows="skip"))


def test_binary_records_longer_than_the_first_read_are_detected(tmp_path: Path) -> None:
    """Records of 70,000 values (280 KB each, past the first 64 KiB read) are detected as binary."""
    rng = np.random.default_rng(4)
    values = rng.standard_normal((3, 70000)).astype(np.float32)
    data = b"3 70000\n" + b"".join(f"w{i} ".encode() + row.tobytes() + b"\n" for i, row in enumerate(values))
    table = read_table(write_file(tmp_path, "wide.bin", data))
    assert table.format == "word2vec-binary" and np.array_equal(bits(table.vectors), bits(values))


def test_binary_whose_damaged_header_reads_as_a_glove_row_is_refused(tmp_path: Path) -> None:
    """Found by fuzzing: a binary file whose count became a NUL byte starts with '\\x00 3', a 'GloVe row';
    with limit=1 it was read as text. Its next rows are not rows and it holds binary bytes: refused."""
    data = (FIXTURES / "tiny.w2v.bin").read_bytes()
    path = write_file(tmp_path, "damaged.bin", b"\x00" + data[1:])
    with pytest.raises(FormatError, match=r"damaged\.bin: is binary data without a word2vec 'count dim' header"):
        read_table(path, options=ReadOptions(limit=1))


def test_a_first_row_then_control_bytes_that_are_not_utf8_is_binary_not_text(tmp_path: Path) -> None:
    """A mutated binary file whose first line reads as a GloVe row ('< 3') and whose next row holds control
    bytes that are not UTF-8 (float bytes) is refused as binary, even when a limit reads only the first row
    (found by make fuzz: it was read as the GloVe row '<' 3.0)."""
    path = tmp_path / "mutated.vec"
    path.write_bytes(b"< 3\n\n\nthe \x19\x04\xd6>\x1d\xac\x7f>\xb7(\xd3\xbeof 9")
    for limit in (1, None):
        with pytest.raises(FormatError, match="is binary data without a word2vec 'count dim' header"):
            read_table(str(path), options=ReadOptions(limit=limit))
