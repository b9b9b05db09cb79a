"""Large writes past the page cache (vecload.store.direct): the same bytes as ordinary writes, whatever the
file system says to O_DIRECT, and the descriptor's flags as they were."""

from __future__ import annotations

import errno
import fcntl
import io
import mmap
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from vecload.store import archive, direct, write_table
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
    write_pieces(tmp_path / "f", parts)
    assert (tmp_path / "f").read_bytes() == b"".join(parts)


def test_the_direct_path_is_taken_where_the_file_system_allows_it(tmp_path: Path) -> None:
    """Where this file system takes O_DIRECT writes, DirectWrites makes them (so the tests above test them)."""
    page = mmap.mmap(-1, 4096)  # page-aligned, as O_DIRECT asks
    try:
        fd = os.open(tmp_path / "probe", os.O_WRONLY | os.O_CREAT | os.O_DIRECT)
        try:
            os.pwrite(fd, page, 0)
        finally:
            os.close(fd)
    except OSError:
        pytest.skip(f"{tmp_path} refuses O_DIRECT writes: there vecload makes ordinary ones")
    finally:
        page.close()
    out = write_pieces(tmp_path / "f", [b"a", payload(3 * 8192, 9)])
    assert out._direct


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
    monkeypatch.setattr(archive, "_CHUNK", 8192 * 3)  # the values in many chunks
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


def test_files_without_a_descriptor_are_written_as_usual(monkeypatch: pytest.MonkeyPatch) -> None:
    """An in-memory file (or any file object that is not a plain file) gets the archive as before."""
    monkeypatch.setattr(archive, "DIRECT_BYTES", 0)
    table = np.arange(2000 * 7, dtype=np.float32).reshape(2000, 7)
    memory = io.BytesIO()
    write_table(memory, table, b"[]", b"{}", False)
    monkeypatch.setattr(archive, "DIRECT_BYTES", 1 << 62)
    cached = io.BytesIO()
    write_table(cached, table, b"[]", b"{}", False)
    assert memory.getvalue() == cached.getvalue()
    assert not DirectWrites.suits(memory) and not DirectWrites.suits(io.BufferedWriter(io.BytesIO()))


def test_a_failure_before_the_first_direct_write_leaves_the_flags_alone(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """No memory for the aligned buffer: that error, with the descriptor's flags as they were."""

    def no_memory(*args: object) -> None:
        raise MemoryError("no memory for the buffer")

    monkeypatch.setattr(direct, "mapping", no_memory)
    with open(tmp_path / "f", "w+b") as fh, DirectWrites(fh) as out:
        flags = fcntl.fcntl(fh.fileno(), fcntl.F_GETFL)
        with pytest.raises(MemoryError, match="no memory"):
            out.write(payload(3 * 8192, 10))
        assert fcntl.fcntl(fh.fileno(), fcntl.F_GETFL) == flags


def test_without_fcntl_vecload_imports_and_writes_as_usual(tmp_path: Path) -> None:
    """A platform without fcntl (Windows) still imports vecload and converts, with ordinary writes."""
    (tmp_path / "v.txt").write_text("a 1.5 2.5\nb 3.5 4.5\n", encoding="ascii")
    program = ("import sys; sys.modules['fcntl'] = None\n"
               "import vecload\nfrom vecload.store import archive, direct\n"
               "assert direct.fcntl is None and not direct.DirectWrites(open(sys.argv[1] + '/v.txt', 'rb'))._direct\n"
               "archive.DIRECT_BYTES = 0\n"
               "vecload.convert(sys.argv[1] + '/v.txt', sys.argv[1] + '/v.pth')\n"
               "print(vecload.load(sys.argv[1] + '/v.pth').tokens)\n")
    done = subprocess.run([sys.executable, "-c", program, str(tmp_path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['a', 'b']"
