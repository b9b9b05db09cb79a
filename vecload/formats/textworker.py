"""The helper process of a split text read (see :mod:`vecload.formats.textsplit`).

It reads the file from the offset it is given to the end, from the descriptor it inherits, with the text
reader's own code, and writes one frame per block to its standard output: the block's rows, tokens and line
numbers (counted from the first line of its part), its length in bytes and lines, and its blank lines. It
stops at the first block that is anything but clean rows (an error, a bad row skipped, a token repaired):
the caller reads from that block on itself. It ends when the caller is gone.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from vecload.formats.numbers import PAD
from vecload.formats.source import Source
from vecload.formats.table import ParseReport, ReadOptions, Tuning
from vecload.formats.text import TextReader
from vecload.formats.textblocks import blocks
from vecload.formats import textsplit
from vecload.formats.textsplit import FRAME, FileRange


def main(config: dict) -> None:
    """Read the part ``config`` describes and send its blocks (see the module docstring)."""
    if os.path.realpath(textsplit.__file__) != config["module"]:
        return  # another vecload than the caller's: the caller reads the part itself
    options = ReadOptions(unicode_errors=config["unicode_errors"], bad_rows=config["bad_rows"])
    tuning = Tuning(text_block=config["text_block"], batch_values=config["batch_values"], threads=1)
    reader = TextReader(Source(Path(config["name"])), config["fmt"], options, tuning)
    reader.dim, reader.origin, reader.header_like = config["dim"], config["origin"], config["header_like"]
    reader.builder = recorder = _Recorder()  # type: ignore[assignment]
    out = sys.stdout.buffer
    line = 1
    for block, final in blocks(FileRange(config["fd"], config["start"]), reader.name, tuning.text_block):
        if os.getppid() != config["parent"]:
            return
        blank, examples = reader.blank_lines, len(reader.blank_examples)
        try:
            after = reader.read_block(block, line, final)
        except Exception:  # noqa: BLE001 - any problem: the caller reads from this block on, and reports it
            return
        if recorder.report.bad_rows or recorder.report.decoding_repairs:
            return
        _send(out, recorder.take(), len(block) - PAD, after - line, reader.blank_lines - blank,
              reader.blank_examples[examples:])
        line = after
    out.write(_frame(-1, 0, 0, 0, 0, 0, 0))
    out.flush()


class _Recorder:
    """Stands in for the table builder: keeps a block's rows for its frame (the caller applies the policies)."""

    def __init__(self) -> None:
        self.report = ParseReport()
        self.chunks: list[tuple[list[str], np.ndarray, np.ndarray]] = []

    def room(self, rows: int) -> None:
        return None

    def add_chunk(self, tokens: list[str], rows: np.ndarray, where: np.ndarray) -> None:
        self.report.rows_read += len(tokens)
        self.chunks.append((tokens, rows, np.asarray(where, dtype=np.int64)))

    def take(self) -> list[tuple[list[str], np.ndarray, np.ndarray]]:
        chunks, self.chunks = self.chunks, []
        return chunks


def _send(out, chunks: list, size: int, lines: int, blank: int, examples: list[int]) -> None:
    """Write one block's frame: the header, the blank lines' examples, the rows' lines unless consecutive,
    the tokens (UTF-8, one per line), the rows."""
    tokens = [token for chunk in chunks for token in chunk[0]]
    where = np.concatenate([chunk[2] for chunk in chunks]) if chunks else np.empty(0, np.int64)
    rows = len(where)
    first = int(where[0]) if rows and int(where[-1]) - int(where[0]) == rows - 1 else 0
    text = "\n".join(tokens).encode("utf-8")
    out.write(_frame(rows, len(text), size, lines, blank, len(examples), first))
    out.write(np.asarray(examples, dtype=np.int64).tobytes())
    if not first:
        out.write(where.tobytes())
    out.write(text)
    for chunk in chunks:
        out.write(np.ascontiguousarray(chunk[1], dtype=np.float32).data.cast("B"))
    out.flush()


def _frame(*fields: int) -> bytes:
    return np.array([fields], dtype=FRAME).tobytes()
