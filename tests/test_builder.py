"""Tests of vecload.formats.builder: one add path, the same table whatever the blocks and chunks."""

from __future__ import annotations

import numpy as np
import pytest

from vecload.errors import ParseError
from vecload.formats.builder import TableBuilder
from vecload.formats.table import ReadOptions


def _build(chunks, options: ReadOptions, **kwargs):
    builder = TableBuilder("t.vec", "word2vec", 2, options, **kwargs)
    line = 2
    for tokens in chunks:
        rows = np.array([[float(len(t)), float(i + line)] for i, t in enumerate(tokens)], dtype=np.float32)
        builder.add_chunk(tokens, rows, list(range(line, line + len(tokens))))
        line += len(tokens)
    return builder.finish()


CHUNKS = [["a", "b", "a"], ["c", "b", "d", "e"], ["f", "a", "g"]]


@pytest.mark.parametrize("block_bytes,expected_rows", [(8, None), (8, 2), (1 << 20, None), (1 << 20, 100)])
def test_blocks_and_reservations_give_the_same_table(block_bytes: int, expected_rows: int | None) -> None:
    """Blocks of one row, a small first block, or one big block: identical tokens, rows and report."""
    table = _build(CHUNKS, ReadOptions(), block_bytes=block_bytes, expected_rows=expected_rows, trusted=True)
    assert table.tokens == ["a", "b", "c", "d", "e", "f", "g"]
    assert table.vectors[:, 1].tolist() == [2.0, 3.0, 5.0, 7.0, 8.0, 9.0, 11.0]
    assert table.vectors.flags["C_CONTIGUOUS"] and table.vectors.shape == (7, 2)
    report = table.report
    assert (report.rows_read, report.rows_kept, report.duplicates) == (10, 7, 3)
    assert report.examples["duplicates"] == [["a", 4], ["b", 6], ["a", 10]]


def test_filter_nonfinite_and_repeats_in_one_chunk() -> None:
    """keep drops rows (reported), repeats are dropped, and only NaN rows the table keeps are reported."""
    builder = TableBuilder("t.vec", "word2vec", 2, ReadOptions(keep=lambda t: t != "x"))
    rows = np.array([[1, 1], [np.nan, 2], [np.inf, 3], [np.nan, 4], [5, 5]], dtype=np.float32)
    builder.add_chunk(["a", "x", "b", "a", "c"], rows, [2, 3, 4, 5, 6])
    table = builder.finish()
    assert table.tokens == ["a", "b", "c"] and table.vectors[[0, 2]].tolist() == [[1, 1], [5, 5]]
    assert (table.report.filtered, table.report.nonfinite, table.report.duplicates) == (1, 1, 1)
    assert table.report.examples["nonfinite"] == [["b", 4]]
    strict = TableBuilder("t.vec", "word2vec", 2, ReadOptions(keep=lambda t: t != "x", nonfinite="error"))
    strict.add_chunk(["a", "x"], rows[:2], [2, 3])  # the NaN row is filtered out: nothing to refuse
    assert strict.finish().tokens == ["a"]


def test_the_first_refused_row_in_file_order_is_the_error() -> None:
    """With both policies strict, the error names whichever row comes first: the repeat here."""
    options = ReadOptions(duplicates="error", nonfinite="error")
    builder = TableBuilder("t.vec", "word2vec", 2, options)
    rows = np.array([[1, 1], [2, 2], [np.inf, 3]], dtype=np.float32)
    with pytest.raises(ParseError, match=r"^t.vec:3: duplicate token 'a' \(first at line 2\)"):
        builder.add_chunk(["a", "a", "b"], rows, [2, 3, 4])
    builder = TableBuilder("t.vec", "word2vec", 2, options)
    with pytest.raises(ParseError, match=r"^t.vec:4: a value is NaN or infinite"):
        builder.add_chunk(["a", "b", "c", "a"], np.array([[1, 1], [2, 2], [np.nan, 3], [4, 4]], dtype=np.float32),
                          [2, 3, 4, 5])


@pytest.mark.parametrize("block_bytes,expected_rows", [(8, None), (24, 4), (1 << 20, 100)])
def test_rows_written_in_place_give_the_same_table(block_bytes: int, expected_rows: int | None) -> None:
    """Chunks written into room() (where it fits; an own array where not) give the table the plain add
    path gives, repeats dropped from rows in place included; a keep filter gets no room."""
    plain = _build(CHUNKS, ReadOptions(), block_bytes=block_bytes, expected_rows=expected_rows, trusted=True)
    builder = TableBuilder("t.vec", "word2vec", 2, ReadOptions(), block_bytes=block_bytes,
                           expected_rows=expected_rows, trusted=True)
    line, placed = 2, 0
    for tokens in CHUNKS:
        rows = builder.room(len(tokens))
        placed += rows is not None
        if rows is None:
            rows = np.empty((len(tokens), 2), dtype=np.float32)
        rows[:] = [[float(len(t)), float(i + line)] for i, t in enumerate(tokens)]
        builder.add_chunk(tokens, rows, list(range(line, line + len(tokens))))
        line += len(tokens)
    table = builder.finish()
    assert table.tokens == plain.tokens and table.report == plain.report
    assert np.array_equal(table.vectors, plain.vectors) and table.vectors.flags["C_CONTIGUOUS"]
    assert placed == (0 if block_bytes == 8 else 1 if block_bytes == 24 else 3)
    assert TableBuilder("t.vec", "word2vec", 2, ReadOptions(keep=bool), expected_rows=10).room(1) is None


def test_large_rows_live_in_their_own_mapping_as_long_as_any_view() -> None:
    """empty_rows: a large table is a writable float32 array over a private mapping that outlives the call
    and stays valid through views and torch.from_numpy; a small one is a plain array."""
    import gc
    import mmap

    import torch

    from vecload.formats.builder import empty_rows

    big = empty_rows(1 << 12, 300)
    assert big.shape == (4096, 300) and big.dtype == np.float32 and big.flags.writeable and big.flags.c_contiguous
    assert isinstance(big.base.base.obj, mmap.mmap)  # a reshape of frombuffer's view of the mapping
    big[:] = np.arange(300, dtype=np.float32)
    view = torch.from_numpy(big[4000:])
    del big
    gc.collect()
    assert torch.equal(view[-1], torch.arange(300, dtype=torch.float32))
    assert empty_rows(10, 3).base is None
    populated = empty_rows(1 << 12, 300, populate=True)
    populated[-1] = 7.0
    assert populated.flags.writeable and float(populated[-1].sum()) == 2100.0
