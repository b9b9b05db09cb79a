"""The native readers: parity with gensim, every format and container, and errors with a location."""

from __future__ import annotations

import bz2
import random
import gzip
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from gensim.test.utils import datapath

from tests.helpers import FIXTURES, bits, reference_parse, same_table, word2vec_binary
from vecload import ParseError, VecloadError
from vecload.formats import ReadOptions, Tuning, read_table
from vecload.formats.numbers import PAD
from vecload.formats.textbulk import Controls

NATIVE = FIXTURES / "native"

#: gensim's real vector files that gensim itself reads correctly (file, read options).
GENSIM_FILES = [
    ("test_glove.txt", {}),
    ("lee_fasttext.vec", {}),
    ("euclidean_vectors.bin", {}),
    ("poincare_vectors.bin", {}),
    ("EN.1-10.cbow1_wind5_hs0_neg10_size300_smpl1e-05.txt", {}),
    ("IT.1-10.cbow1_wind5_hs0_neg10_size300_smpl1e-05.txt", {}),
    ("crime-and-punishment.vec", {}),
    ("pang_lee_polarity_fasttext.vec", {"unicode_errors": "replace"}),
    ("pang_lee_polarity_fasttext.vec", {"unicode_errors": "ignore"}),
    ("high_precision.kv.txt", {}),
    ("high_precision.kv.bin", {}),
    ("toy-model.vec", {}),
    ("word2vec_pre_kv_c", {}),
    ("w2v_keyedvectors_load_test.modeldata", {"unicode_errors": "replace"}),
]

#: Fixtures gensim reads, in every format and container.
GENSIM_READABLE = [
    "small.glove.txt",
    "small.w2v.txt",
    "small.vec",
    "small.crlf.txt",
    "small.nofinalnewline.txt",
    "small.glove.txt.gz",
    "small.w2v.txt.bz2",
    "glove.small.zip:small.50d.txt",
    "glove.small.zip:small.w2v.txt",
    "small.bin",
    "small.nonewline.bin",
    "small.bin.gz",
]


def test_native_is_the_default_engine(tmp_path: Path) -> None:
    """Without engine=, a file the engines read differently ('1_000', which gensim reads as 1000) is read as
    the native engine reads it: refused at its line."""
    path = tmp_path / "separator.txt"
    path.write_bytes(b"x 1_000 2.0\ny 0.5 0.25\n")
    assert read_table(path, engine="gensim").vectors.tolist() == [[1000.0, 2.0], [0.5, 0.25]]
    for options in ({}, {"engine": "native"}):
        with pytest.raises(ParseError, match=r"separator\.txt:1: value 1 \('1_000'\) is not a number \(it has a '_' digit separator"):
            read_table(path, **options)


@pytest.mark.parametrize(("name", "options"), GENSIM_FILES, ids=[f"{n}-{o}" for n, o in GENSIM_FILES])
def test_parity_with_gensim_on_gensim_test_data(name: str, options: dict) -> None:
    """Native and gensim engines give identical tokens and bit-identical vectors on gensim's own files."""
    path = datapath(name)
    opts = ReadOptions(**options)
    same_table(read_table(path, engine="native", options=opts), read_table(path, engine="gensim", options=opts))


@pytest.mark.parametrize("name", GENSIM_READABLE)
def test_parity_with_gensim_on_fixtures(name: str) -> None:
    """Native and gensim engines agree bit for bit on every fixture gensim can read."""
    path = f"{NATIVE}/{name}"
    same_table(read_table(path, engine="native"), read_table(path, engine="gensim"))


def test_parity_limit_with_gensim() -> None:
    """limit=N reads the same first N rows as gensim's limit."""
    path = datapath("lee_fasttext.vec")
    opts = ReadOptions(limit=100)
    native = read_table(path, options=opts)
    assert len(native.tokens) == 100
    same_table(native, read_table(path, engine="gensim", options=opts))


def test_tokens_with_spaces_keep_them() -> None:
    """The token is everything before the last dim fields (glove.840B style); gensim cannot read this."""
    path = NATIVE / "spaces.glove.txt"
    table = read_table(path)
    tokens, rows = reference_parse(path, header=False)
    assert table.tokens == tokens == ["the", ". . .", "at home", "New York", "b"]
    assert np.array_equal(bits(table.vectors), bits(rows))


def test_bom_is_stripped_and_reported() -> None:
    """A UTF-8 BOM is not part of the first token, and the report says it was there."""
    path = NATIVE / "small.bom.txt"
    table = read_table(path)
    tokens, rows = reference_parse(path, header=False)
    assert table.tokens == tokens and table.tokens[0] == "the"
    assert np.array_equal(bits(table.vectors), bits(rows))
    assert table.report.bom is True


def test_blank_lines_are_skipped_and_counted() -> None:
    """Blank lines (in the middle and at the end) are skipped and counted with their line numbers."""
    table = read_table(NATIVE / "blank.glove.txt", format="glove")
    same_table(table, read_table(NATIVE / "small.glove.txt"))
    assert table.report.blank_lines == 3
    assert [n for _, n in table.report.examples["blank_lines"]] == [4, 12, 13]


def test_fast_and_per_line_paths_agree(tmp_path: Path) -> None:
    """A file with CRLF, trailing whitespace and blank lines (per-line path) reads like its canonical twin (bulk path)."""
    canonical = (NATIVE / "small.glove.txt").read_text(encoding="utf-8")
    odd = tmp_path / "odd.txt"
    odd.write_bytes(("\n" + canonical.replace("\n", " \t\r\n\n")).encode("utf-8"))
    same_table(read_table(odd, format="glove"), read_table(NATIVE / "small.glove.txt"))


def test_fields_are_separated_by_single_spaces_as_in_gensim(tmp_path: Path) -> None:
    """A tab belongs to the token (as gensim reads it); a double space between values is a located error (an empty field)."""
    tabbed = tmp_path / "tab.txt"
    tabbed.write_bytes(b"th\te 0.5 1.5\nof 2.5 3.5\n")
    for engine in ("native", "gensim"):
        assert read_table(tabbed, engine=engine).tokens == ["th\te", "of"]
    double = tmp_path / "double.txt"
    double.write_bytes(b"the 0.5 1.5\nof 2.5  3.5\n")
    with pytest.raises(ParseError, match=r"double\.txt:2: 3 values, expected 2 \(set by line 1\)"):
        read_table(double)


@pytest.mark.parametrize("row, found", [(b"w2  2.5", 2), (b"w2 -0.5704   2.5", 4), (b"w2 1.5 \t 2.5", None)])
def test_a_double_space_before_the_values_is_an_empty_field_not_a_token(tmp_path: Path, row: bytes, found) -> None:
    """`w2  2.5` with dim 1 is a row with an empty field (gensim refuses it too), not the token 'w2 ';
    a token with a tab and spaces around it is still a token."""
    path = tmp_path / "empty.txt"
    path.write_bytes(b"w1 1.5\n" + row + b"\n")
    if found is None:
        assert read_table(path).tokens == ["w1", "w2 1.5 \t"]
        return
    with pytest.raises(ParseError, match=rf"empty\.txt:2: {found} values, expected 1 \(set by line 1\)"):
        read_table(path)
    with pytest.raises(ParseError, match=rf"empty\.txt:2: {found} values, expected 1 \(gensim splits"):
        read_table(path, engine="gensim")


def test_double_spaces_are_found_from_the_controls_as_in_the_bytes() -> None:
    """Controls.double_space says what ``b"  " in data`` says, for blocks of spaces, tabs, newlines and text."""
    rng = random.Random(7)
    for _ in range(3000):
        data = b"0" * PAD + bytes(rng.choice(b"ab  \n\t.") for _ in range(rng.randrange(0, 40)))
        assert Controls.of(np.frombuffer(data, dtype=np.uint8)).double_space() == (b"  " in data), data


def test_large_file_parity_exercises_bulk_path(tmp_path: Path) -> None:
    """Thousands of rows with mixed number styles (exponents, signs, long digits) match gensim bit for bit."""
    rng = np.random.default_rng(7)
    values = rng.standard_normal((3000, 7)) * np.exp(rng.uniform(-14, 8, (3000, 7)))
    styles = [repr, lambda v: "%.5g" % v, lambda v: "%.6f" % v, lambda v: repr(float(np.float32(v))), lambda v: "%.18f" % v]
    lines = [f"w{i} " + " ".join(styles[(i + j) % 5](float(v)) for j, v in enumerate(row)) for i, row in enumerate(values)]
    path = tmp_path / "mixed.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    same_table(read_table(path), read_table(path, engine="gensim"))


def test_keep_filter_and_limit_in_one_pass() -> None:
    """keep= and limit= select rows in one pass; the report counts what the filter dropped."""
    keep = {"the", "café", "日本", "Zürich"}.__contains__
    table = read_table(NATIVE / "small.glove.txt", options=ReadOptions(keep=keep, limit=6))
    assert table.tokens == ["the", "café", "日本"]
    assert table.report.rows_read == 6 and table.report.filtered == 3
    full = read_table(NATIVE / "small.glove.txt")
    assert np.array_equal(table.vectors, full.vectors[[0, 2, 4]])


def test_duplicates_keep_first_and_report(tmp_path: Path) -> None:
    """A repeated token keeps its first row, and the report names the line of the repeat."""
    path = tmp_path / "dup.txt"
    path.write_text("a 1 2\nb 3 4\na 5 6\n", encoding="utf-8")
    table = read_table(path)
    assert table.tokens == ["a", "b"] and table.vectors.tolist() == [[1, 2], [3, 4]]
    assert table.report.duplicates == 1 and table.report.examples["duplicates"] == [["a", 3]]
    with pytest.raises(ParseError, match=r"dup.txt:3: duplicate token 'a' \(first at line 1\)"):
        read_table(path, options=ReadOptions(duplicates="error"))


def test_nonfinite_reported_or_refused(tmp_path: Path) -> None:
    """NaN/Inf rows are kept and reported, or refused with the line."""
    path = tmp_path / "nan.txt"
    path.write_text("a 1 2\nb nan 4\nc 5 -inf\n", encoding="utf-8")
    table = read_table(path)
    assert table.report.nonfinite == 2 and np.isnan(table.vectors[1, 0])
    with pytest.raises(ParseError, match=r"nan.txt:2: a value is NaN or infinite"):
        read_table(path, options=ReadOptions(nonfinite="error"))


TEXT_ERRORS = [
    ("a 1 2 3\nb 1 2\n", "glove", r"bad.txt:2: 2 values, expected 3 \(set by line 1\)"),
    ("a 1 2 3\nb 1 2 3 4\n", "glove", r"bad.txt:2: 4 values, expected 3 \(set by line 1\)"),
    ("a 1 2 3\nb 1 x 3\n", "glove", r"bad.txt:2: value 2 \('x'\) is not a number"),
    ("a 1 2 3\nb 1 2 1e\n", "glove", r"bad.txt:2: value 3 \('1e'\) is not a number"),
    ("3 2\na 1 2\nb 1 2\n", "word2vec", r"bad.txt:4: the header promises 3 rows but the file ends after 2"),
    ("1 2\na 1 2\nb 1 2\n", "word2vec", r"bad.txt:3: the header promises 1 rows but there are more"),
    ("2 3\na 1 2\nb 1 2\n", "word2vec", r"bad.txt:2: 2 values, expected 3 \(set by the header\)"),
    ("2 2\na 1 2 3\nb 1 2 3\n", "word2vec", r"bad.txt:2: 3 values, expected 2 \(set by the header\)"),
    ("a 1 2\nb\xff 1 2\n", "glove", r"bad.txt:2: the token is not valid UTF-8"),
    ("a 1 2\nb 1", "glove", r"bad.txt:2: 1 values, expected 2 \(set by line 1\) \(the file ends here: truncated\?\)"),
]


@pytest.mark.parametrize(("content", "fmt", "message"), TEXT_ERRORS)
def test_text_errors_name_file_and_line(tmp_path: Path, content: str, fmt: str, message: str) -> None:
    """Every malformed text file raises a ParseError naming the file and line."""
    path = tmp_path / "bad.txt"
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(ParseError, match=message):
        read_table(path, format=fmt)


def test_bad_value_deep_in_a_block_is_located(tmp_path: Path) -> None:
    """A bad value found by the bulk parser still gets its exact line and column."""
    lines = [f"w{i} " + " ".join("0.25" for _ in range(5)) for i in range(5000)]
    lines[3170] = "w3170 0.25 0.25 0.25 -- 0.25"
    path = tmp_path / "bad.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ParseError, match=r"bad.txt:3171: value 4 \('--'\) is not a number"):
        read_table(path)


def test_invalid_utf8_text_replace_counts_repairs(tmp_path: Path) -> None:
    """unicode_errors='replace' repairs the token and counts it in the report."""
    path = tmp_path / "bad.txt"
    path.write_bytes(b"a 1 2\nb\xff 1 2\n")
    table = read_table(path, options=ReadOptions(unicode_errors="replace"))
    assert table.tokens == ["a", "b\ufffd"]
    assert table.report.decoding_repairs == 1 and table.report.examples["decoding_repairs"] == [["b\ufffd", 2]]


def test_truncated_gzip_is_a_parse_error(tmp_path: Path) -> None:
    """A gzip stream cut short raises ParseError (not EOFError)."""
    whole = gzip.compress(("\n".join(f"w{i} 0.5 0.25" for i in range(20000)) + "\n").encode())
    path = tmp_path / "cut.txt.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ParseError, match=r"cut\.txt\.gz: byte [1-9]\d+: the gzip stream is truncated or damaged"):
        read_table(path, format="glove")


def test_binary_truncated_record(tmp_path: Path) -> None:
    """A binary file cut inside a record names the record and its byte offset."""
    path = tmp_path / "cut.bin"
    path.write_bytes(word2vec_binary([(b"a", [1, 2]), (b"b", [3, 4])])[:-5])
    with pytest.raises(ParseError, match=r"cut.bin: byte 15: the file ends inside record 2 of 2"):
        read_table(path)


def test_binary_header_count_too_small(tmp_path: Path) -> None:
    """Records beyond the header's count are an error, not silently dropped."""
    path = tmp_path / "more.bin"
    path.write_bytes(word2vec_binary([(b"a", [1, 2]), (b"b", [3, 4])], count=1))
    with pytest.raises(ParseError, match=r"more.bin: byte 15: data after the 1 records the header promises"):
        read_table(path, format="word2vec-binary")


def test_binary_invalid_utf8_strict_and_replace(tmp_path: Path) -> None:
    """A non-UTF-8 token is an error naming record and offset, or repaired and counted on request."""
    path = tmp_path / "bad.bin"
    path.write_bytes(word2vec_binary([(b"a", [1, 2]), (b"b\xff", [3, 4])]))
    with pytest.raises(ParseError, match=r"bad.bin: byte 15: the token of record 2 is not valid UTF-8"):
        read_table(path)
    table = read_table(path, options=ReadOptions(unicode_errors="replace"))
    assert table.tokens == ["a", "b\ufffd"] and table.report.decoding_repairs == 1
    assert table.vectors.tolist() == [[1, 2], [3, 4]]


def test_binary_limit_and_report(tmp_path: Path) -> None:
    """limit= reads the first records only; the report records the header."""
    path = tmp_path / "v.bin"
    path.write_bytes(word2vec_binary([(b"a", [1, 2]), (b"b", [3, 4]), (b"c", [5, 6])], newline=False))
    table = read_table(path, options=ReadOptions(limit=2))
    assert table.tokens == ["a", "b"] and table.report.header == [3, 2] and table.report.rows_read == 2


def test_binary_large_parity(tmp_path: Path) -> None:
    """A binary file spanning several blocks matches gensim bit for bit."""
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((3000, 30)).astype(np.float32)
    path = tmp_path / "big.bin"
    path.write_bytes(word2vec_binary((f"tok{i}", row) for i, row in enumerate(vectors)))
    table = read_table(path)
    same_table(table, read_table(path, engine="gensim"))
    assert np.array_equal(table.vectors, vectors)


def test_zip_member_and_listing() -> None:
    """A zip member is read by archive:member or member=, and a bare archive lists its members."""
    by_colon = read_table(f"{NATIVE}/glove.small.zip:small.50d.txt")
    by_member = read_table(NATIVE / "glove.small.zip", member="small.50d.txt")
    same_table(by_colon, by_member)
    same_table(by_colon, read_table(NATIVE / "small.glove.txt"))
    with pytest.raises(VecloadError, match="members: small.50d.txt, small.w2v.txt"):
        read_table(NATIVE / "glove.small.zip")


def test_cli_convert_zip_member_and_info(tmp_path: Path) -> None:
    """`vecload convert archive.zip:member` and `--member` work end to end; `info` shows the report."""
    from vecload.cli import main

    runner = CliRunner()
    out = tmp_path / "a.pth"
    result = runner.invoke(main, ["convert", f"{NATIVE}/glove.small.zip:small.50d.txt", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "10 rows read; 10 kept" in result.output
    out2 = tmp_path / "b.pth"
    result = runner.invoke(main, ["convert", str(NATIVE / "glove.small.zip"), "--member", "small.w2v.txt", "-o", str(out2)])
    assert result.exit_code == 0, result.output
    import vecload

    a, b = vecload.load(out), vecload.load(out2)
    assert a.tokens == b.tokens and bool((a.vectors == b.vectors).all())
    assert a.meta["report"]["rows_read"] == 10 and a.meta["options"]["engine"] == "native"
    info = runner.invoke(main, ["info", str(out)])
    assert info.exit_code == 0 and "report: 10 rows read; 10 kept" in info.output


def test_cli_reports_parse_errors_with_line(tmp_path: Path) -> None:
    """The CLI turns a ParseError into exit 1 with the file and line."""
    from vecload.cli import main

    path = tmp_path / "bad.txt"
    path.write_text("a 1 2\nb 1\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["convert", str(path), "-o", str(tmp_path / "o.pth")])
    assert result.exit_code == 1
    assert f"{path}:2: 1 values, expected 2 (set by line 1)" in result.output


def test_compressed_containers_all_agree() -> None:
    """Plain, gzip, bz2 and zip copies of the same rows give the same table."""
    plain = read_table(NATIVE / "small.glove.txt")
    for name in ("small.glove.txt.gz", "small.w2v.txt.bz2", "small.crlf.txt", "small.vec", "small.bin"):
        same_table(read_table(NATIVE / name), plain)
    assert gzip.decompress((NATIVE / "small.glove.txt.gz").read_bytes()) == (NATIVE / "small.glove.txt").read_bytes()
    assert bz2.decompress((NATIVE / "small.w2v.txt.bz2").read_bytes()).endswith((NATIVE / "small.glove.txt").read_bytes())
    with zipfile.ZipFile(NATIVE / "glove.small.zip") as archive:
        assert archive.read("small.50d.txt") == (NATIVE / "small.glove.txt").read_bytes()


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_many_duplicates_across_blocks(tmp_path: Path, binary: bool) -> None:
    """Repeats anywhere (adjacent, far apart, three times, in other blocks) keep the first row of each
    token, in file order, and the report lists them in file order with their lines or offsets."""
    rng = np.random.default_rng(5)
    names = [f"t{i}" for i in range(60)]
    tokens = [names[i] for i in rng.integers(0, 60, 300)]
    values = rng.standard_normal((300, 64)).astype(np.float32)  # binary: past the reader's 64 KiB first read
    path = tmp_path / ("dups.bin" if binary else "dups.txt")
    where = []
    if binary:
        body = bytearray(b"300 64\n")
        for token, row in zip(tokens, values):
            where.append(len(body))
            body += token.encode() + b" " + row.astype("<f4").tobytes() + b"\n"
        path.write_bytes(bytes(body))
    else:
        path.write_text("".join(f"{t} " + " ".join(repr(float(v)) for v in row) + "\n" for t, row in zip(tokens, values)))
        where = list(range(1, 301))
    table = read_table(path, tuning=Tuning(text_block=97, binary_block=997))  # repeats cross many blocks
    first: dict[str, int] = {}
    repeats = []
    for i, token in enumerate(tokens):
        if token in first:
            repeats.append([token, where[i]])
        else:
            first[token] = i
    assert table.tokens == list(first)
    assert table.vectors.tobytes() == values[list(first.values())].tobytes()
    assert table.report.rows_read == 300 and table.report.rows_kept == len(first)
    assert table.report.duplicates == len(repeats) and table.report.examples["duplicates"] == repeats[:20]


@pytest.mark.parametrize("threads", [1, 2])
def test_many_batches_parse_exactly_and_locate_the_first_bad_value(tmp_path: Path, threads: int) -> None:
    """Blocks parsed in many row batches (on one or two threads) give float32(float(text)) for every value,
    and of two bad values in different batches the first in the file is reported."""
    # 8 rows per batch (hundreds of batches) in one block, so both bad values are in it
    tuning = Tuning(batch_values=8 * 50, text_block=8 << 20, threads=threads)
    rng = np.random.default_rng(11)
    values = rng.standard_normal((3000, 50)) * 10.0 ** rng.integers(-8, 9, (3000, 50))
    styles = ["%.9g", "%r", "%.3e", "%.17g", "%g"]
    lines = [
        f"w{i} " + " ".join(styles[(i + j) % len(styles)] % v for j, v in enumerate(row.tolist()))
        for i, row in enumerate(values)
    ]
    path = tmp_path / "many.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    table = read_table(path, tuning=tuning)
    expected = np.array([[float(f) for f in line.split(" ")[1:]] for line in lines]).astype(np.float32)
    assert np.array_equal(bits(table.vectors), bits(expected))
    assert table.tokens == [f"w{i}" for i in range(3000)]
    lines[2500] = lines[2500].rsplit(" ", 1)[0] + " 1.2.3"
    lines[1200] = " ".join(f if j != 8 else "nan?" for j, f in enumerate(lines[1200].split(" ")))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ParseError, match=r"many\.txt:1201: value 8 \('nan\?'\) is not a number"):
        read_table(path, tuning=tuning)


@pytest.mark.parametrize("suffix", ["", "\tx"], ids=["bulk-path", "per-line-path"])
def test_values_beyond_float32_become_inf_quietly_and_are_reported(tmp_path: Path, suffix: str) -> None:
    """1e39 rounds to inf in float32, as in gensim; no numpy warning escapes, and the row is reported."""
    import warnings

    path = tmp_path / "big.txt"
    # a tab in the first token sends the block down the per-line path
    path.write_text(f"a{suffix} 1.5 2\nb 1e39 -1e39\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = read_table(path)
    assert table.vectors[1].tolist() == [float("inf"), float("-inf")]
    assert table.report.nonfinite == 1 and table.report.examples["nonfinite"] == [["b", 2]]


@pytest.mark.parametrize(
    "body",
    ["w0 1 2\nw1  4\n", "w0 1 2\nw1 3  \n", "w0 1 2\nw1 1e  5\n", "w0 1 2\nw 1  2 3\n", "w0 1 2\nx  y 1 2\n"],
    ids=["empty-first-value", "trailing-double-space", "bad-then-empty", "extra-field", "token-double-space"],
)
def test_double_spaces_read_the_same_in_bulk_and_line_by_line(tmp_path: Path, body: str) -> None:
    """A double space gives the same result (the same table, or the same error and line) whether its block
    is read in bulk or line by line (a tab in an earlier token sends the whole block line by line)."""
    outcomes = []
    for first in ("a 0 0\n", "a\tb 0 0\n"):
        path = tmp_path / "double.txt"
        path.write_text(first + body, encoding="utf-8")
        try:
            table = read_table(path)
        except ParseError as exc:
            outcomes.append(str(exc))
        else:
            outcomes.append((table.tokens[1:], table.vectors[1:].tobytes()))
    assert outcomes[0] == outcomes[1]
