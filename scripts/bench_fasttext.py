"""Time and peak memory of reading a fastText .bin model and of its subword rows for OOV words.

Generates a model of 200k words + 500k buckets x 100 (Facebook's format written with struct, random
values), then runs each step in a fresh process and reports wall time and peak RSS above the imports:

    python scripts/bench_fasttext.py [--words 200000] [--buckets 500000] [--dim 100] [--oov 30000]

Steps: ``read`` (read_model: the vocabulary and the input matrix, once), ``table`` (read + every word's
vector, what ``vecload convert`` writes), ``align`` (``vecload.align(model.bin, tokens, oov="subword")``
for 30k task words the model has and 30k it lacks, whose rows are built from their n-grams; the OOV
statistics for the specials' ``normal`` fallback see every word's vector) and ``gensim`` (gensim's
load_facebook_vectors, for comparison).
"""

from __future__ import annotations

import argparse
import json
import resource
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_STEP = r"""
import json, resource, sys, time
import numpy as np
from vecload.formats import open_source
from vecload.formats.fasttext import read_model
import gensim.models.fasttext
import torch  # imported before the baseline: vecload.align's module imports it, the measurement should not
import vecload
step, path, oov = sys.argv[1], sys.argv[2], int(sys.argv[3])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
if step == "gensim":
    gensim.models.fasttext.load_facebook_vectors(path)
elif step == "align":  # vecload.align(model.bin, 60k task words, oov="subword"), timed from here
    words = read_model(open_source(path), matrix=False).words  # the vocabulary only, before the clock
    found = words[::max(len(words) // oov, 1)][:oov]
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    aligned = vecload.align(path, found + [f"{w}zq" for w in found], oov="subword")
    assert aligned.coverage.found_types == len(found), aligned.coverage.summary()
else:
    model = read_model(open_source(path))
    if step == "table":
        model.table()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"step": step, "seconds": round(time.perf_counter() - start, 2), "peak_mib": (peak - base) // 1024}))
"""


def write_model(path: Path, words: int, buckets: int, dim: int, seed: int = 0) -> None:
    """Write an unsupervised skipgram model in fastText 0.2's format (version 12), random values."""
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
    lengths = rng.integers(3, 13, size=words)
    vocab = {f"{bytes(letters[rng.integers(0, 26, size=n)]).decode()}{i}" for i, n in enumerate(lengths)}
    with open(path, "wb") as fh:
        fh.write(struct.pack("<2i", 793712314, 12))
        fh.write(struct.pack("<12id", dim, 5, 5, 5, 5, 1, 2, 2, buckets, 3, 6, 100, 1e-4))
        fh.write(struct.pack("<3iqq", len(vocab), len(vocab), 0, 10 * len(vocab), -1))
        fh.write(b"".join(w.encode() + b"\0" + struct.pack("<qb", 10, 0) for w in vocab))
        for rows in (len(vocab) + buckets, len(vocab)):  # the input matrix, then the output matrix
            fh.write(struct.pack("<?2q", False, rows, dim))
            for start in range(0, rows, 65536):
                count = min(65536, rows - start)
                fh.write((rng.standard_normal((count, dim), dtype=np.float32) * 0.1).tobytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=200_000)
    parser.add_argument("--buckets", type=int, default=500_000)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--oov", type=int, default=30_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.bin"
        start = time.perf_counter()
        write_model(path, args.words, args.buckets, args.dim)
        size = path.stat().st_size
        print(f"model: {args.words:,} words + {args.buckets:,} buckets x {args.dim}, {size / 2**20:.0f} MiB "
              f"(input matrix {4 * (args.words + args.buckets) * args.dim / 2**20:.0f} MiB), written in "
              f"{time.perf_counter() - start:.1f} s")
        for step in ("read", "table", "align", "gensim"):
            out = subprocess.run([sys.executable, "-c", _STEP, step, str(path), str(args.oov)], check=True,
                                 capture_output=True, text=True).stdout
            print(json.loads(out.strip().splitlines()[-1]))
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"(peak: each step's process's peak RSS above its imports; {own} MiB for this script)")


if __name__ == "__main__":
    main()
