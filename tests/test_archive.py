"""The tensor's archive written without torch (vecload.store.archive): what torch.save writes, record for record."""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import vecload
from tests.helpers import FIXTURES, bits, child_env
from vecload.store.archive import ALIGNMENT, pickle_int, tensor_pickle, write_archive


def _ours(array: np.ndarray, records=()) -> bytes:
    fh = io.BytesIO()
    write_archive(fh, array, "0" * 40, list(records))
    return fh.getvalue()


def _records(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None  # every CRC right
        return {info.filename: archive.read(info) for info in archive.infolist()}


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (300, 256), (70_000, 1), (1, 70_000), (0, 4)])
def test_records_are_torch_saves_byte_for_byte(shape: tuple[int, int]) -> None:
    """Every record but the random serialization id equals what torch.save writes for the same tensor."""
    array = np.arange(shape[0] * shape[1], dtype=np.float32).reshape(shape) / 7
    theirs = io.BytesIO()
    torch.save(torch.empty(shape).copy_(torch.from_numpy(array)), theirs)  # from_numpy: strides (0, 0) when empty
    mine, expected = _records(_ours(array)), _records(theirs.getvalue())
    assert list(mine) == list(expected)
    del mine["archive/.data/serialization_id"], expected["archive/.data/serialization_id"]
    assert mine == expected


@pytest.mark.parametrize("n", [0, 1, 255, 256, 65_535, 65_536, 2**31 - 1, 2**31, 2**40 + 3, 2**63])
def test_pickle_ints_are_what_pickle_writes(n: int) -> None:
    """Sizes are encoded as pickle protocol 2 encodes them (the reference: the pickle module itself)."""
    assert pickle_int(n) == pickle.dumps(n, protocol=2)[2:-1]


def test_a_tensor_past_two_gigavalues_pickles_as_torch_would() -> None:
    """The pickle of a shape over 2**31 values loads (weights_only) as that shape's rebuild call."""
    data = tensor_pickle(3_000_000, 1_000)
    assert b"\x8a" in data  # LONG1 for 3e9
    ops = [op.name for op, _, _ in __import__("pickletools").genops(data)]
    assert ops.count("GLOBAL") == 3 and ops[-1] == "STOP"


def test_values_start_aligned_and_load_memory_mapped(tmp_path: Path) -> None:
    """The values record starts at a multiple of 64 bytes; torch.load (weights_only, mmap) returns them exactly."""
    array = np.random.default_rng(0).standard_normal((123, 7)).astype(np.float32)
    path = tmp_path / "t.pth"
    path.write_bytes(_ours(array, [("vecload/x.json", b"[]")]))
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("archive/data/0")
        with open(path, "rb") as fh:
            fh.seek(info.header_offset + 26)
            name_len, extra_len = np.frombuffer(fh.read(4), dtype="<u2").tolist()
        start = info.header_offset + 30 + name_len + extra_len
    assert start % ALIGNMENT == 0
    for mmap in (False, True):
        loaded = torch.load(path, weights_only=True, mmap=mmap)
        assert loaded.dtype == torch.float32 and (bits(loaded.numpy()) == bits(array)).all()


def test_the_same_table_gives_the_same_file(tmp_path: Path) -> None:
    """Converting twice writes identical bytes (no random id, no timestamps)."""
    a = vecload.convert(FIXTURES / "tiny.glove.txt", tmp_path / "a.pth")
    b = vecload.convert(FIXTURES / "tiny.glove.txt", tmp_path / "b.pth")
    assert a.read_bytes() == b.read_bytes()


def test_convert_never_imports_torch(tmp_path: Path) -> None:
    """`vecload convert` (CLI and library) writes the file without importing torch."""
    out = tmp_path / "t.pth"
    src = str(FIXTURES / "tiny.glove.txt")
    code = (f"import sys, vecload\nfrom vecload.cli import main\nvecload.convert({src!r}, {str(out)!r})\n"
            f"try:\n    main(['convert', {src!r}, '-o', {str(tmp_path / 'c.pth')!r}, '-q'])\n"
            "except SystemExit as exc:\n    assert not exc.code, exc.code\nprint('torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
    assert torch.equal(torch.load(out, weights_only=True), vecload.load(tmp_path / "c.pth").vectors)


@pytest.mark.parametrize("rows", [240, 250, 260])  # 3,840 bytes: zipfile's zip64 band below the limit; 4,000; 4,160
def test_values_stay_aligned_around_the_zip64_limit(rows: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Around a lowered zip64 limit (zipfile's extra starts at limit/1.05) the values start 64-aligned and load exactly."""
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 4_000)
    array = np.random.default_rng(rows).standard_normal((rows, 4)).astype(np.float32)
    path = tmp_path / "t.pth"
    path.write_bytes(_ours(array, [("vecload/x.json", b"[]")]))
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        offset = archive.getinfo("archive/data/0").header_offset
    name_len, extra_len = np.frombuffer(raw[offset + 26 : offset + 30], dtype="<u2").tolist()
    start = offset + 30 + name_len + extra_len
    assert start % ALIGNMENT == 0 and raw[start : start + array.nbytes] == array.tobytes()
    for mmap in (False, True):
        assert (bits(torch.load(path, weights_only=True, mmap=mmap).numpy()) == bits(array)).all()


@pytest.mark.parametrize("shape", [(3_000_000, 1_000), (2**31, 1), (1, 2**31), (65_536, 65_537)])
def test_a_pickle_past_two_gigavalues_loads_weights_only(shape: tuple[int, int]) -> None:
    """torch's weights_only unpickler rebuilds the LONG1-sized pickle as that shape (over a meta storage)."""
    from torch import _weights_only_unpickler

    ids = []

    def storage(saved_id: tuple) -> torch.storage.TypedStorage:
        ids.append(saved_id[2:])
        return torch.storage.TypedStorage(wrap_storage=torch.UntypedStorage(saved_id[4] * 4, device="meta"),
                                          dtype=torch.float32, _internal=True)

    unpickler = _weights_only_unpickler.Unpickler(io.BytesIO(tensor_pickle(*shape)))
    unpickler.persistent_load = storage
    tensor = unpickler.load()
    assert ids == [("0", "cpu", shape[0] * shape[1])]
    assert tensor.shape == shape and tensor.stride() == (shape[1], 1) and tensor.dtype == torch.float32
