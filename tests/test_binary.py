"""The word2vec binary reader's record cutting, against a plain record-by-record reading of the bytes."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import bits
from vecload import ParseError
from vecload.formats import ReadOptions, Tuning, read_table

BLOCKS = [5, 13, 64, 1000, 1 << 16]  # from blocks smaller than a record to one block for the whole file


def _file(rng: random.Random, count: int, dim: int) -> bytes:
    """A binary file whose records have 0 to 3 newlines before the token, tokens with newlines inside
    (and repeats), and vectors full of space and newline bytes."""
    out = [b"%d %d\n" % (count, dim)]
    for _ in range(count):
        token = rng.choice([b"a", b"b\nc", b"\xc3\xa9t\xc3\xa9", b"tok%d" % rng.randint(0, 40),
                            b"x" * rng.randint(1, 9)])
        vector = bytes(rng.choice(b" \n\x00A\x7f\x80\xff") for _ in range(4 * dim))
        out.append(b"\n" * rng.choice([0, 1, 1, 2, 3]) + token + b" " + vector)
    return b"".join(out)


def _reference(data: bytes) -> tuple[list[str], np.ndarray, list[int]]:
    """Tokens, vectors and each token's byte offset, one record at a time as word2vec.c reads them."""
    head, _, _ = data.partition(b"\n")
    count, dim = map(int, head.split())
    tokens, vectors, offsets, pos = [], [], [], len(head) + 1
    for _ in range(count):
        while data[pos] == 10:
            pos += 1
        space = data.index(b" ", pos)
        tokens.append(data[pos:space].decode("utf-8"))
        offsets.append(pos)
        vectors.append(np.frombuffer(data, dtype="<f4", count=dim, offset=space + 1))
        pos = space + 1 + 4 * dim
    return tokens, np.array(vectors, dtype=np.float32).reshape(count, dim), offsets


def _first(tokens: list[str]) -> list[int]:
    """The index of each token's first record, in file order."""
    return sorted({token: i for i, token in reversed(list(enumerate(tokens)))}.values())


@pytest.mark.parametrize("block", BLOCKS)
def test_records_match_a_plain_reading(tmp_path: Path, block: int) -> None:
    """Random files, cut into blocks of every size: the same first tokens, bit-identical vectors, and
    repeats reported at the offsets of their records (duplicates="first")."""
    rng = random.Random(block)
    for case in range(30):
        data = _file(rng, rng.randint(1, 40), rng.choice([1, 2, 5]))
        path = tmp_path / f"{case}.bin"
        path.write_bytes(data)
        table = read_table(path, format="word2vec-binary", tuning=Tuning(binary_block=block))
        tokens, vectors, offsets = _reference(data)
        kept = _first(tokens)
        assert table.tokens == [tokens[i] for i in kept]
        assert np.array_equal(bits(table.vectors), bits(vectors[kept]))
        repeats = [[tokens[i], offsets[i]] for i in range(len(tokens)) if i not in kept]
        assert table.report.duplicates == len(repeats)
        examples = table.report.examples.get("duplicates", [])
        assert examples == repeats[: len(examples)]


@pytest.mark.parametrize("block", BLOCKS)
def test_limit_stops_inside_a_block(tmp_path: Path, block: int) -> None:
    """limit= below the records of a block reads exactly that many, whatever follows them."""
    rng = random.Random(3)
    data = _file(rng, 30, 2)
    path = tmp_path / "v.bin"
    path.write_bytes(data + b"not a record")
    tokens, vectors, _ = _reference(data)
    for limit in (1, 7, 29):
        table = read_table(path, format="word2vec-binary", options=ReadOptions(limit=limit),
                           tuning=Tuning(binary_block=block))
        kept = _first(tokens[:limit])
        assert table.tokens == [tokens[i] for i in kept] and table.report.rows_read == limit
        assert np.array_equal(bits(table.vectors), bits(vectors[kept]))


@pytest.mark.parametrize("block", BLOCKS)
def test_cut_anywhere_names_the_record_it_cuts(tmp_path: Path, block: int) -> None:
    """A file cut at any byte inside its records is refused naming the first record it lacks, at a byte
    offset between that record's first byte (the newlines before its token included) and the cut."""
    data = b"3 2\n" + b"ab " + bytes(8) + b"\n\nc " + b" \n  \n \n " + b"\nd\ne " + bytes(8)
    starts, ends = [4, 15, 27], [15, 27, 40]
    path = tmp_path / "cut.bin"
    for cut in range(starts[0], len(data)):
        path.write_bytes(data[:cut])
        whole = sum(1 for end in ends if end <= cut)
        message = rf"cut\.bin: byte \d+: the file ends inside record {whole + 1} of 3"
        with pytest.raises(ParseError, match=message) as info:
            read_table(path, format="word2vec-binary", tuning=Tuning(binary_block=block))
        assert starts[whole] <= info.value.offset <= cut


def test_bad_token_skipped_keeps_the_records_around_it(tmp_path: Path) -> None:
    """bad_rows="skip" drops a record whose token is not UTF-8 and reports it at its offset; the records
    after it keep their own vectors."""
    data = b"3 1\n" + b"a " + bytes(4) + b"\n\n\xff " + b"\x00\x00\x80\x3f" + b"\nc " + b"\x00\x00\x00\x40"
    path = tmp_path / "bad.bin"
    path.write_bytes(data)
    table = read_table(path, options=ReadOptions(bad_rows="skip"), tuning=Tuning(binary_block=7))
    assert table.tokens == ["a", "c"] and table.vectors.tolist() == [[0.0], [2.0]]
    message = "the token of record 2 is not valid UTF-8 (invalid start byte at byte 12)"
    assert table.report.examples["bad_rows"] == [[message, 12]]
