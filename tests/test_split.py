"""A text file read on two processes (vecload.formats.textsplit) gives what a read on one gives: the same
table bit for bit and the same report, or the same error with the same line, whatever lies in either
part; a helper that cannot start, stops early or sends garbage changes nothing but the time taken; and
nothing is left running afterwards."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import FUZZ_EXAMPLES, bits, same_table
from vecload.errors import VecloadError
from vecload.formats import ReadOptions, Tuning, read_table, textsplit

ONE = Tuning(split_bytes=0, text_block=4096)
TWO = Tuning(split_bytes=1, text_block=4096, threads=2)


def rows_text(count: int, dim: int, start: int = 0, spaces: bool = False) -> list[str]:
    """``count`` GloVe rows with decimals of several shapes (and some tokens with spaces)."""
    rng = np.random.default_rng(start)
    lines = []
    for i in range(start, start + count):
        values = " ".join(f"{v:.{1 + i % 7}f}" for v in rng.normal(size=dim))
        lines.append(f"{'new york' if spaces and i % 13 == 5 else 'w'}{i} {values}")
    return lines


def outcome(path: Path, tuning: Tuning, **options) -> tuple:
    """The table and report of a read, or the error's type and message."""
    try:
        table = read_table(str(path), tuning=tuning, options=ReadOptions(**options))
    except VecloadError as exc:
        return type(exc).__name__, str(exc)
    return table.tokens, bits(table.vectors).tobytes(), table.vectors.shape, table.report.to_dict()


def assert_same(path: Path, **options) -> tuple:
    """Split and single reads agree; return the outcome."""
    single = outcome(path, ONE, **options)
    assert outcome(path, TWO, **options) == single
    return single


@pytest.fixture
def merged(monkeypatch):
    """Records what each split read's merge returned (None: the helper read its whole part)."""
    results = []
    merge = textsplit.Split.merge

    def spy(self, reader, progress):
        results.append(rest := merge(self, reader, progress))
        return rest

    monkeypatch.setattr(textsplit.Split, "merge", spy)
    return results


def test_clean_file_is_read_by_both_processes(tmp_path: Path, merged) -> None:
    """A clean file: the helper reads its whole part, and the table is the single read's, bit for bit."""
    path = tmp_path / "clean.txt"
    path.write_text("\n".join(rows_text(3000, 7, spaces=True)) + "\n")
    single = read_table(str(path), tuning=ONE)
    split = read_table(str(path), tuning=TWO)
    assert merged == [None]
    same_table(single, split)
    assert split.report == single.report and len(split.tokens) == 3000


@pytest.mark.parametrize("case", ["blank_crlf_repeats", "word2vec", "count_short", "count_long", "no_newline"])
def test_layouts_in_the_helpers_part(tmp_path: Path, case: str) -> None:
    """Blank lines, CRLF, repeated tokens across the parts, a word2vec header (right, too small, too
    large) and a missing final newline read as on one process."""
    lines = rows_text(2000, 5)
    if case == "blank_crlf_repeats":
        lines[1500:1500] = ["", "  ", "w3 " + " ".join(["1.5"] * 5), "w4 " + " ".join(["nan"] * 5)]
        lines[1800] += "\r"
    data = "\n".join(lines) + "\n"
    if case in ("word2vec", "count_short", "count_long"):
        count = {"word2vec": 2000, "count_short": 1990, "count_long": 2010}[case]
        data = f"{count} 5\n" + data
    if case == "no_newline":
        data = data.rstrip("\n")
    path = tmp_path / "layout.txt"
    path.write_text(data)
    result = assert_same(path)
    assert (result[0] in ("ParseError",)) == (case in ("count_short", "count_long"))


@pytest.mark.parametrize("damage, options", [
    ("w1900 1.0 2.0 x 4.0 5.0", {}),
    ("w1900 1.0 2.0", {}),
    ("w1900 1.0 2.0", {"bad_rows": "skip"}),
    ("\udcff 1 2 3 4 5", {}),
    ("\udcff 1 2 3 4 5", {"unicode_errors": "replace"}),
    ("w10 1 2 3 4 5", {"duplicates": "error"}),
    ("w1900 1 2 inf 4 5", {"nonfinite": "error"}),
])
def test_problems_in_the_helpers_part(tmp_path: Path, damage: str, options: dict) -> None:
    """A bad row, an undecodable token, a repeat or a non-finite row in the helper's part: the same error,
    line included, or the same report."""
    lines = rows_text(2000, 5)
    lines[1900] = damage
    path = tmp_path / "damaged.txt"
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"))
    assert_same(path, **options)


def test_on_rows_sees_every_row_in_file_order(tmp_path: Path) -> None:
    """The on_rows hook sees the rows of both parts, in file order, as on one process."""
    path = tmp_path / "hook.txt"
    path.write_text("\n".join(rows_text(2500, 4)) + "\n")
    seen = {tuning: [] for tuning in (ONE, TWO)}
    for tuning, chunks in seen.items():
        read_table(str(path), tuning=tuning, options=ReadOptions(on_rows=lambda rows, c=chunks: c.append(rows.copy())))
    assert np.array_equal(bits(np.concatenate(seen[ONE])), bits(np.concatenate(seen[TWO])))


@pytest.mark.parametrize("program", [
    "import sys",  # exits at once
    "import sys; sys.stdout.buffer.write(bytes(range(256)) * 9)",  # garbage frames
    "import sys, numpy as np; sys.stdout.buffer.write(np.array([(10**9, 0, 0, 0, 0, 0, 1)], '<i8').tobytes())",
])
def test_a_failing_helper_changes_nothing(tmp_path: Path, monkeypatch, merged, program: str) -> None:
    """A helper that exits, sends garbage or claims more rows than fit: the caller reads its part itself."""
    path = tmp_path / "failing.txt"
    path.write_text("\n".join(rows_text(1500, 6)) + "\n")
    single = read_table(str(path), tuning=ONE)
    monkeypatch.setattr(textsplit, "_PROGRAM", program)
    same_table(single, read_table(str(path), tuning=TWO))
    assert merged and merged[0] is not None


def test_a_helper_that_cannot_start_changes_nothing(tmp_path: Path, monkeypatch) -> None:
    """No Python to start: the caller reads the whole file itself."""
    path = tmp_path / "nostart.txt"
    path.write_text("\n".join(rows_text(1500, 6)) + "\n")
    single = read_table(str(path), tuning=ONE)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    same_table(single, read_table(str(path), tuning=TWO))


def test_nothing_is_left_running(tmp_path: Path) -> None:
    """After a split read, and after one that fails in the helper's part, no thread or child process is left."""
    path = tmp_path / "left.txt"
    lines = rows_text(2000, 5)
    path.write_text("\n".join(lines) + "\n")
    before = threading.active_count()
    read_table(str(path), tuning=TWO)
    lines[1900] = "w1900 1 2"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(VecloadError, match=":1901: "):
        read_table(str(path), tuning=TWO)
    assert threading.active_count() == before
    children = [Path(f"/proc/self/task/{t}/children").read_text().split() for t in os.listdir("/proc/self/task")]
    assert not any(children)


def test_small_limited_or_filtered_reads_are_not_split(tmp_path: Path, merged) -> None:
    """Files under split_bytes, reads with a limit or a keep filter, and one thread: no helper."""
    path = tmp_path / "small.txt"
    path.write_text("\n".join(rows_text(500, 3)) + "\n")
    read_table(str(path), tuning=Tuning(text_block=4096))
    read_table(str(path), tuning=TWO, options=ReadOptions(limit=400))
    read_table(str(path), tuning=TWO, options=ReadOptions(keep=lambda token: token.endswith("7")))
    read_table(str(path), tuning=Tuning(split_bytes=1, threads=1))
    assert merged == []


@settings(max_examples=max(6, FUZZ_EXAMPLES // 25), deadline=None, derandomize=FUZZ_EXAMPLES <= 40)
@given(st.lists(st.tuples(st.integers(0, 1199), st.sampled_from(["", " ", "x", "\t", "\r", "1", "  ", "\xff"])),
                max_size=6),
       st.sampled_from(["first", "error"]), st.sampled_from(["error", "skip"]))
def test_damaged_files_read_alike(edits, duplicates: str, bad_rows: str) -> None:
    """Rows with bytes inserted anywhere read the same on one and two processes (fuzz)."""
    import tempfile

    lines = [line.encode() for line in rows_text(1200, 3, spaces=True)]
    for row, text in edits:
        cut = len(lines[row]) // 2
        lines[row] = lines[row][:cut] + text.encode("latin-1") + lines[row][cut:]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.txt"
        path.write_bytes(b"\n".join(lines) + b"\n")
        assert_same(path, duplicates=duplicates, bad_rows=bad_rows)


def test_the_second_half_is_merged_after_the_helper_has_ended(tmp_path: Path, monkeypatch) -> None:
    """The caller waits for the helper before it has taken in the helper's whole part, and after the wait
    the helper has ended (its memory is gone before the caller's grows with the rest of its tokens)."""
    path = tmp_path / "clean.txt"
    path.write_text("\n".join(rows_text(4000, 7)) + "\n")
    seen = []
    wait = textsplit.Split._await_helper

    def spy(self) -> None:
        wait(self)
        seen.append(self._process.returncode)

    monkeypatch.setattr(textsplit.Split, "_await_helper", spy)
    same_table(read_table(str(path), tuning=ONE), read_table(str(path), tuning=TWO))
    assert seen and seen[0] is not None
