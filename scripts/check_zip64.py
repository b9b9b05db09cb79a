"""Check the single converted file past 4 GiB (zip64): save, torch.load (plain and mmap), vecload.load verify.

Not part of `make test` (it writes about 4.4 GB and needs about 10 GB of memory). Run by hand after a torch
upgrade::

    python scripts/check_zip64.py [DIRECTORY]

The file is deleted afterwards.
"""

from __future__ import annotations

import sys
import tempfile
import time
import zipfile
from pathlib import Path

import torch

import vecload

ROWS, DIM = 3_600_000, 300  # 4.32e9 bytes of float32, past 2**32


def main(directory: str | None = None) -> None:
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        path = Path(tmp) / "big.pth"
        table = torch.empty(ROWS, DIM, dtype=torch.float32)
        for start in range(0, ROWS, 100_000):  # distinct rows, cheaply: row i holds i, i+1, ...
            stop = min(start + 100_000, ROWS)
            table[start:stop] = torch.arange(start, stop, dtype=torch.float32)[:, None] + torch.arange(DIM)
        tokens = [f"w{i}" for i in range(ROWS)]
        print(f"torch {torch.__version__}; table {ROWS:,} x {DIM} = {table.numel() * 4:,} bytes (2**32 = {2**32:,})")
        t = time.perf_counter()
        vecload.Vectors(tokens, table).save(path)
        print(f"saved {path.stat().st_size:,} bytes in {time.perf_counter() - t:.1f} s")
        with zipfile.ZipFile(path) as archive:
            data = next(info for info in archive.infolist() if info.filename.endswith("/data/0"))
            print(f"zip records: {archive.namelist()}; data/0 is {data.file_size:,} bytes")
        t = time.perf_counter()
        mapped = torch.load(path, weights_only=True, mmap=True)
        assert type(mapped) is torch.Tensor and torch.equal(mapped, table), "torch.load(mmap=True) differs"
        print(f"torch.load(weights_only=True, mmap=True): exact ({time.perf_counter() - t:.1f} s with the comparison)")
        del mapped
        plain = torch.load(path, weights_only=True)
        assert torch.equal(plain, table), "torch.load differs"
        print("torch.load(weights_only=True): exact")
        del plain
        t = time.perf_counter()
        loaded = vecload.load(path)
        print(f"vecload.load: {time.perf_counter() - t:.2f} s")
        assert loaded.tokens == tokens and torch.equal(loaded.vectors, table)
        t = time.perf_counter()
        vecload.load(path, verify=True)
        print(f"vecload.load(verify=True): exact, {time.perf_counter() - t:.1f} s")
    print("zip64 check passed; file deleted")


if __name__ == "__main__":
    main(*sys.argv[1:2])
