"""Export round trips (issue 14): every format and container back through vecload and gensim bit for bit,
refusals naming the row and token, stdout, the projector pair, and the CLI command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from gensim.test.utils import datapath

import vecload
from tests.helpers import bits
from vecload import VecloadError
from vecload.cli import main
from vecload.exporter import export
from vecload.formats.export import check_table, shortest_text

CONTAINERS = ["", ".gz", ".bz2", ".xz"]
SUFFIX = {"glove": ".txt", "word2vec": ".vec", "word2vec-binary": ".bin"}
#: Characters that stress every reader: spaces, tabs, CR, other whitespace, a BOM, non-ASCII, digits.
ALPHABET = st.sampled_from([*"ab1.e-", " ", "\t", "\r", "\x0b", "\x0c", "\x85", "\u2028", "\ufeff", "é", "中", "😀"])
FLOAT32 = st.one_of(st.floats(width=32, allow_nan=False, allow_infinity=False),
                    st.integers(0, 2**32 - 1).map(lambda b: np.uint32(b).view(np.float32)).filter(np.isfinite))


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], np.ndarray]:
    """Distinct tokens of any of ALPHABET and a finite float32 matrix (subnormals, -0.0, 9-digit values)."""
    dim = draw(st.integers(1, 5))
    tokens = draw(st.lists(st.text(ALPHABET, min_size=1, max_size=6), min_size=1, max_size=12, unique=True))
    flat = draw(st.lists(FLOAT32, min_size=len(tokens) * dim, max_size=len(tokens) * dim))
    return tokens, np.array(flat, dtype=np.float32).reshape(len(tokens), dim)


def _writable(tokens: list[str], array: np.ndarray, fmt: str) -> bool:
    try:
        check_table(tokens, array, fmt)
    except VecloadError as exc:
        assert str(exc).startswith("row "), exc  # every refusal names the row
        return False
    return True


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(table=tables(), fmt=st.sampled_from(list(SUFFIX)), container=st.sampled_from(CONTAINERS))
@example(table=(["a", "b c", "é中"], np.array([[1e-45], [-0.0], [0.1]], np.float32)), fmt="glove", container="")
@example(table=(["x", "y"], np.array([[16777216.0, 1.2345679e-38], [3.4028235e38, -1.17549435e-38]], np.float32)),
         fmt="word2vec", container=".gz")
def test_export_then_load_gives_identical_tokens_and_bits(tmp_path_factory: pytest.TempPathFactory,
                                                          table: tuple[list[str], np.ndarray], fmt: str,
                                                          container: str) -> None:
    """Whatever the writer accepts reads back (vecload; gensim for word2vec without spaces) bit for bit."""
    tokens, array = table
    assume(_writable(tokens, array, fmt))
    out = tmp_path_factory.mktemp("rt") / f"t{SUFFIX[fmt]}{container}"
    export(vecload.Vectors(tokens, torch.from_numpy(array)), out)
    back = vecload.load(out, format=fmt)
    assert back.tokens == tokens
    assert np.array_equal(bits(back.vectors.numpy()), bits(array))
    if fmt != "glove":
        from gensim.models import KeyedVectors

        kv = KeyedVectors.load_word2vec_format(out, binary=fmt == "word2vec-binary")
        assert kv.index_to_key == tokens and np.array_equal(bits(kv.vectors), bits(array))


@pytest.mark.parametrize("name", ["lee.txt", "lee.vec.gz", "lee.bin.bz2", "lee.vec.xz"])
def test_a_real_table_round_trips_with_detection_and_through_gensim(tmp_path: Path, name: str) -> None:
    """lee_fasttext.vec exported by suffix reads back unchanged, format detected; gensim reads it too."""
    from gensim.models import KeyedVectors

    src = vecload.load(Path(datapath("lee_fasttext.vec")))
    done = export(src, tmp_path / name)
    back = vecload.load(tmp_path / name)
    assert back.tokens == src.tokens and torch.equal(back.vectors, src.vectors)
    assert back.meta["format"] == done.format
    kv = KeyedVectors.load_word2vec_format(tmp_path / name, binary=done.format == "word2vec-binary",
                                           no_header=done.format == "glove")
    assert kv.index_to_key == src.tokens and np.array_equal(bits(kv.vectors), bits(src.vectors.numpy()))


def test_text_values_are_the_shortest_that_read_back() -> None:
    """0.1f is '0.1' (not 0.10000000149011612), and every value of a random block reads back through float()."""
    assert shortest_text(np.array([[0.1, -0.0, 1e-45, 16777216.0]], np.float32)).tolist() == [
        ["0.1", "-0.0", "1e-45", "1.6777216e+07"]]
    values = np.random.default_rng(0).integers(0, 2**32, 20_000, dtype=np.uint32).view(np.float32)
    values = values[np.isfinite(values)]
    text = shortest_text(values.reshape(1, -1))[0].tolist()
    assert np.array_equal(bits(np.array([np.float32(float(t)) for t in text])), bits(values))
    assert max(len(t.lstrip("-").replace(".", "").split("e")[0].strip("0")) for t in text) <= 9


@pytest.mark.parametrize(("fmt", "token", "row", "says"), [
    ("word2vec", "new york", 1, "holds a space"),
    ("word2vec-binary", "new york", 1, "holds a space"),
    ("glove", "a\nb", 1, "line break"),
    ("glove", "", 1, "empty token"),
    ("glove", "new york", 0, "first row"),
    ("glove", "x 1.5", 1, "followed only by numbers or spaces"),
    ("glove", "x ", 1, "followed only by numbers or spaces"),
    ("projector", "a\tb", 1, "tab"),
    ("word2vec-binary", "a\rb", 1, "control character"),
    ("word2vec-binary", "\x00x", 0, "control character"),
])
def test_refusals_name_the_row_and_the_token(tmp_path: Path, fmt: str, token: str, row: int, says: str) -> None:
    """What a reader would read differently is refused before writing, naming row and token; nothing is written."""
    tokens = ["the", "of"]
    tokens[row] = token
    out = tmp_path / ("p" if fmt == "projector" else f"t{SUFFIX[fmt]}")
    with pytest.raises(VecloadError, match=f"^{out}: row {row}, token {re.escape(repr(token))}: .*{says}") as info:
        export(vecload.Vectors(tokens, torch.zeros(2, 3)), out, format=fmt)
    assert "nothing was written" in str(info.value)
    assert not out.exists()  # a projector folder is made only once the table is read and checked


def test_words_split_on_newlines_only_and_repeats_are_refused(tmp_path: Path) -> None:
    """A words file is split on newlines only (a token may hold U+0085); a table with a repeated token is
    refused, since it would read back shorter; the words file is never an output."""
    table = vecload.Vectors(["a", "b", "a\x85b"], torch.tensor([[1.0], [2.0], [3.0]]))
    words = tmp_path / "w.txt"
    words.write_text("a\x85b\r\n", encoding="utf-8")
    export(table, tmp_path / "o.txt", words=words)
    assert vecload.load(tmp_path / "o.txt").tokens == ["a\x85b"]
    with pytest.raises(VecloadError, match="is the source being read"):
        export(table, words, words=words, format="glove", force=True)
    with pytest.raises(VecloadError, match=r"d\.txt: the tokens are not distinct.*nothing was written"):
        export(vecload.Vectors(["a", "a"], torch.eye(2)), tmp_path / "d.txt")
    assert not (tmp_path / "d.txt").exists()


def test_nonfinite_rows_are_refused_unless_kept(tmp_path: Path) -> None:
    """A NaN row is refused naming it (fix: nonfinite='keep'); kept, the binary file holds the NaN's bits."""
    array = torch.tensor([[1.0, 2.0], [float("nan"), 0.0]])
    vectors = vecload.Vectors(["a", "b"], array)
    with pytest.raises(VecloadError, match=r"x.bin: row 1, token 'b': holds NaN or Inf \(1 such row\).*nonfinite='keep'"):
        export(vectors, tmp_path / "x.bin")
    export(vectors, tmp_path / "x.bin", nonfinite="keep")
    back = vecload.load(tmp_path / "x.bin")
    assert np.array_equal(bits(back.vectors.numpy()), bits(array.numpy()))


def test_export_is_atomic_refuses_existing_outputs_and_the_source(tmp_path: Path) -> None:
    """An existing output needs force (checked before reading); the source is never overwritten."""
    src = tmp_path / "v.vec"
    src.write_bytes((Path(datapath("lee_fasttext.vec"))).read_bytes())
    export(src, tmp_path / "v.bin")
    with pytest.raises(vecload.OutputExistsError, match="force=True"):
        export(src, tmp_path / "v.bin")
    with pytest.raises(VecloadError, match="is the source being read"):
        export(src, src, force=True)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".vecload-tmp")] == []


def test_projector_writes_the_tsv_pair_for_chosen_words(tmp_path: Path) -> None:
    """--words picks rows in the file's order: tensors.tsv tab-separated values, metadata.tsv one token a line."""
    src = Path(datapath("test_glove.txt"))
    (tmp_path / "words.txt").write_text("people\nthe\n", encoding="utf-8")
    done = export(src, tmp_path / "proj", format="projector", words=tmp_path / "words.txt")
    assert (done.count, done.dim) == (2, 50)
    assert (tmp_path / "proj" / "metadata.tsv").read_text(encoding="utf-8") == "people\nthe\n"
    rows = [[np.float32(float(v)) for v in line.split("\t")]
            for line in (tmp_path / "proj" / "tensors.tsv").read_text(encoding="utf-8").splitlines()]
    table = vecload.load(src)
    assert np.array_equal(np.array(rows, np.float32), table[["people", "the"]].numpy())
    assert 'tensor_path: "tensors.tsv"' in (tmp_path / "proj" / "projector_config.pbtxt").read_text(encoding="utf-8")
    (tmp_path / "bad.txt").write_text("people\nzzzq\n", encoding="utf-8")
    with pytest.raises(VecloadError, match="1 of 2 words are not in the table: 'zzzq'"):
        export(src, tmp_path / "proj2", format="projector", words=tmp_path / "bad.txt")


def test_words_and_limit_pick_rows_in_any_format(tmp_path: Path) -> None:
    """words= writes those rows in the file's order; limit= the first N; both at once is refused."""
    src = Path(datapath("lee_fasttext.vec"))
    table = vecload.load(src)
    (tmp_path / "words.txt").write_text("night\nthe\n\nnight\n", encoding="utf-8")
    export(src, tmp_path / "w.vec", words=tmp_path / "words.txt")
    back = vecload.load(tmp_path / "w.vec")
    assert back.tokens == ["night", "the"] and torch.equal(back.vectors, table[["night", "the"]])
    export(table, tmp_path / "l.bin", limit=3)
    assert vecload.load(tmp_path / "l.bin").tokens == table.tokens[:3]
    with pytest.raises(vecload.ArgumentError, match="words or limit, not both"):
        export(table, tmp_path / "x.vec", words=tmp_path / "words.txt", limit=3)


def test_cli_export_to_stdout_and_file(tmp_path: Path) -> None:
    """`-o -` prints the text format and nothing else; a file gets a one-line summary; --json describes it."""
    from click.testing import CliRunner

    src = str(Path(datapath("test_glove.txt")))
    result = CliRunner().invoke(main, ["export", src, "-o", "-", "--format", "word2vec", "--limit", "2"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "2 50" and len(lines) == 3 and lines[1].startswith("the 0.418 0.24968 ")
    result = CliRunner().invoke(main, ["export", src, "-o", str(tmp_path / "g.bin"), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["count"] == 76
    result = CliRunner().invoke(main, ["export", src, "-o", "-", "--format", "word2vec-binary"])
    assert result.exit_code == 2 and "not written to standard output" in result.stderr


def test_cli_export_to_a_pipe_closed_early_exits_0_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    """`vecload export ... -o - | head -n 1`: the reader leaving (BrokenPipeError) is exit 0, nothing on stderr."""
    from click.testing import CliRunner

    def closed(fh, *args, **kwargs) -> None:
        fh.write(b"w0 1.0\n")
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("vecload.exporter.write_vectors", closed)
    result = CliRunner().invoke(main, ["export", str(Path(datapath("test_glove.txt"))), "-o", "-", "--format", "glove"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "w0 1.0\n", "")
