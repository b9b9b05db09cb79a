"""Every ```python block in README.md runs as pasted, in a folder holding small real stand-ins under the
file names the README uses (gensim's GloVe sample, 76 x 50, for every GloVe file it names)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from gensim.test.utils import datapath

import vecload

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```$", README.read_text(encoding="utf-8"), re.S | re.M)


def stand_ins(folder: Path) -> None:
    """The files the README's blocks name, made small: the GloVe sample stands in for glove.6B.50d and
    glove.840B.300d (the blocks do not depend on the size or dim), and a task vocabulary with counts."""
    sample = datapath("test_glove.txt")
    for name in ("glove.6B.50d.txt", "glove.840B.300d.txt"):
        shutil.copyfile(sample, folder / name)
    vecload.convert(folder / "glove.6B.50d.txt", folder / "glove.6B.50d.pth")
    (folder / "vocab.tsv").write_text("the\t10\nThe\t4\npeople\t3\nzebra\t1\n", encoding="utf-8")


def test_the_readme_has_python_blocks() -> None:
    """The extraction finds the README's Quick start, Freezing and alignment blocks."""
    assert len(BLOCKS) >= 3 and all(block.strip() for block in BLOCKS)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs_as_pasted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index: int) -> None:
    """The block runs unchanged (relative paths resolve in a folder of stand-ins) without raising."""
    stand_ins(tmp_path)
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[index], f"README.md python block {index + 1}", "exec"), {"__name__": "__readme__"})
