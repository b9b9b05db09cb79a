"""Large writes past the page cache (vecload.store.direct): the same bytes as ordinary writes, whatever the
file system says to O_DIRECT, and the descriptor's flags as they were."""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from vecload.store import archive, direct
from vecload.store.direct import DirectWrites


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pieces of 8 KiB, so that a few hundred KiB make many of them."""
    monkeypatch.setattr(direct, "PIECE", 8192)


def payload(size: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


def write_pieces(path: Path, parts: list[bytes]) -> DirectWrites:
    with open(path, "w+b") as fh, DirectWrites(fh) as out:
        for part in parts:
            assert out.write(part) == len(part)
        assert out.tell() == sum(map(len, parts))
        assert not os.O_DIRECT & fcntl.fcntl(fh.fileno(), fcntl.F_GETFL)  # the flag is set for a write only
    return out


@pytest.mark.parametrize("head", [0, 1, 77, 4095, 4096, 4097])
def test_unaligned_large_writes_give_the_same_bytes(tmp_path: Path, head: int) -> None:
    """Small writes before, between and after large ones at every alignment: the file holds them in order."""
    parts = [b"h" * head, payload(3 * 8192 + 11, 1), b"x", payload(8192, 2), payload(5 * 8192 + 4095, 3), b"end"]
    out = write_pieces(tmp_path / "f", parts)
    assert (tmp_path / "f").read_bytes() == b"".join(parts)
    assert out._direct  # this file system took O_DIRECT: the direct path was the one tested


def test_a_refused_flag_falls_back_to_ordinary_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = fcntl.fcntl

    def refusing(fd: int, command: int, arg: int = 0) -> int:
        if command == fcntl.F_SETFL and arg & os.O_DIRECT:
            raise OSError(errno.EINVAL, "no O_DIRECT here")
        return real(fd, command, arg)

    monkeypatch.setattr(direct.fcntl, "fcntl", refusing)
    parts = [b"ab", payload(4 * 8192 + 5, 4), payload(9 * 8192, 5)]
    out = write_pieces(tmp_path / "f", parts)
    assert not out._direct and (tmp_path / "f").read_bytes() == b"".join(parts)


@pytest.mark.parametrize("failure", ["einval", "short"])
def test_a_refused_or_short_direct_write_is_finished_ordinarily(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               failure: str) -> None:
    """A file system that takes the flag but refuses the write (EINVAL), or writes part of a piece: the rest
    of the bytes are written as usual, in their places."""
    real = os.pwrite
    calls = []

    def flaky(fd: int, data: memoryview, offset: int) -> int:
        if os.O_DIRECT & fcntl.fcntl(fd, fcntl.F_GETFL):
            calls.append(offset)
            if failure == "einval" or len(calls) == 2:
                if failure == "einval":
                    raise OSError(errno.EINVAL, "refused")
                return real(fd, data[:4096], offset)  # a short write
        return real(fd, data, offset)

    monkeypatch.setattr(direct.os, "pwrite", flaky)
    parts = [b"abc", payload(6 * 8192 + 1, 6), payload(3 * 8192, 7)]
    write_pieces(tmp_path / "f", parts)
    assert calls and (tmp_path / "f").read_bytes() == b"".join(parts)


def test_other_errors_are_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk is an error, not a reason to try again another way; the flags are restored."""
    real = os.pwrite

    def full(fd: int, data: memoryview, offset: int) -> int:
        if os.O_DIRECT & fcntl.fcntl(fd, fcntl.F_GETFL):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data, offset)

    monkeypatch.setattr(direct.os, "pwrite", full)
    with open(tmp_path / "f", "w+b") as fh, DirectWrites(fh) as out:
        with pytest.raises(OSError, match="No space"):
            out.write(payload(4 * 8192 + 3, 8))
        assert not os.O_DIRECT & fcntl.fcntl(fh.fileno(), fcntl.F_GETFL)


def test_a_large_table_archive_is_the_same_file_written_directly(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The archive of a table written directly is byte for byte the one written through the page cache, and
    torch.load reads it."""
    table = np.random.default_rng(9).standard_normal((1000, 37)).astype(np.float32)
    records = [("vecload/tokens.json", b"[]"), ("vecload/meta.json", b"{}")]
    files = {}
    for name, threshold in (("cached", 1 << 62), ("direct", 0)):
        monkeypatch.setattr(archive, "DIRECT_BYTES", threshold)
        with open(tmp_path / name, "w+b") as fh:
            archive.write_archive(fh, table, "1" * 40, records)
        files[name] = (tmp_path / name).read_bytes()
    assert files["direct"] == files["cached"]
    loaded = torch.load(tmp_path / "direct", weights_only=True)
    assert np.array_equal(loaded.numpy().view(np.uint32), table.view(np.uint32))
