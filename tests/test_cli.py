"""The vecload command, through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from gensim.test.utils import datapath

from tests.helpers import FIXTURES, bits, reference_parse
from vecload.cli import main


def run(*args: str) -> tuple[int, str]:
    """Run the CLI; return its exit code and everything it printed."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_convert_writes_tensor_and_vocabulary(tmp_path: Path) -> None:
    """convert prints what it read and wrote; the tensor equals the source's values."""
    out = tmp_path / "glove.pth"
    code, output = run("convert", datapath("test_glove.txt"), "-o", str(out))
    assert code == 0, output
    assert "as glove: 76 x 50" in output and f"wrote {out}" in output
    _, values = reference_parse(datapath("test_glove.txt"))
    assert np.array_equal(bits(torch.load(out, weights_only=True).numpy()), bits(values))
    assert [p.name for p in tmp_path.iterdir()] == ["glove.pth"]


def test_convert_refuses_to_overwrite(tmp_path: Path) -> None:
    """A second convert to the same output fails with exit 1 unless --force."""
    out = tmp_path / "t.pth"
    assert run("convert", str(FIXTURES / "tiny.vec"), "-o", str(out), "-q")[0] == 0
    code, output = run("convert", str(FIXTURES / "tiny.vec"), "-o", str(out))
    assert code == 1 and "already exists" in output and "Traceback" not in output
    assert run("convert", str(FIXTURES / "tiny.vec"), "-o", str(out), "--force", "-q")[0] == 0


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.txt", "is empty"),
        ("page.txt", "is an HTML or XML page"),
        ("model.bin", "model.bin: byte 0: has fastText's magic number but an implausible header"),
        ("raw-glove-vectors.bin", "binary data without a word2vec"),
        ("header-too-small.txt", "the header promises 3 rows but there are more"),
        ("header-too-large.txt", "the header promises 5 rows but the file ends after 4"),
        ("short-row.txt", "short-row.txt:2: 2 values, expected 3"),
        ("not-a-number.txt", "not-a-number.txt:2: value 2 ('0.57O88') is not a number"),
        ("truncated.w2v.bin", "the file ends inside record 4 of 4"),
    ],
)
def test_malformed_input_gives_one_paragraph_exit_1_and_no_output(tmp_path: Path, name: str, message: str) -> None:
    """Each malformed input is refused with its reason, no traceback, and no file written."""
    code, output = run("convert", str(FIXTURES / "bad" / name), "-o", str(tmp_path / "x.pth"))
    assert code == 1
    assert message in output
    assert output.startswith("Error: ") and "Traceback" not in output
    assert len(output.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_duplicates_error_flag(tmp_path: Path) -> None:
    """--duplicates error turns a reported duplicate into a refusal."""
    code, output = run("convert", str(FIXTURES / "bad" / "duplicate.txt"), "-o", str(tmp_path / "d.pth"), "--duplicates", "error")
    assert code == 1 and "duplicate token 'the'" in output
    code, output = run("convert", str(FIXTURES / "bad" / "duplicate.txt"), "-o", str(tmp_path / "d.pth"))
    assert code == 0 and "1 duplicates ('the')" in output


def test_zip_member_syntax(tmp_path: Path) -> None:
    """archive.zip:member converts that member; the bare archive lists its members."""
    code, output = run("convert", f"{FIXTURES / 'tiny.zip'}:tiny.w2v.txt", "-o", str(tmp_path / "z.pth"))
    assert code == 0, output
    assert torch.load(tmp_path / "z.pth", weights_only=True).shape == (4, 3)
    code, output = run("convert", str(FIXTURES / "tiny.zip"), "-o", str(tmp_path / "y.pth"))
    assert code == 1 and "name one as" in output


def test_info_json_on_source_and_converted(tmp_path: Path) -> None:
    """info --json reports format, count, dim, first tokens and, for converted files, the fingerprint."""
    code, output = run("info", "--json", str(FIXTURES / "tiny.w2v.bin"))
    assert code == 0, output
    details = json.loads(output)
    assert (details["format"], details["count"], details["dim"]) == ("word2vec-binary", 4, 3)
    assert details["first_tokens"] == ["the", "of", "café", "u.s."]
    out = tmp_path / "t.pth"
    run("convert", str(FIXTURES / "tiny.w2v.bin"), "-o", str(out), "-q")
    details = json.loads(run("info", "--json", str(out))[1])
    assert details["kind"] == "converted" and details["tensor"]["shape"] == [4, 3]
    assert details["source"]["name"] == "tiny.w2v.bin" and len(details["source"]["sha256"]) == 64


def test_missing_file_is_exit_1() -> None:
    """A path that does not exist is a one-line error."""
    code, output = run("convert", "/nonexistent/vectors.txt")
    assert code == 1 and "no such file" in output


def test_usage_error_is_exit_2() -> None:
    """A bad option is a usage error (exit 2), as click reports it."""
    code, _ = run("convert", str(FIXTURES / "tiny.vec"), "--format", "nope")
    assert code == 2


def test_convert_to_standard_output_is_a_usage_error(tmp_path: Path, monkeypatch) -> None:
    """`-o -` names standard output, where a binary .pth does not go: exit 2, and no file named '-'."""
    monkeypatch.chdir(tmp_path)
    code, output = run("convert", str(FIXTURES / "tiny.vec"), "-o", "-")
    assert code == 2 and "is not written to standard output" in output
    assert list(tmp_path.iterdir()) == []
