"""What the tests share: the committed fixture files, exact float32 comparison, an independent reference
parser, a word2vec binary writer, the converted file's records, the fuzz settings and a CLI child that
says when it has got somewhere.

A plain module imported by the tests (``from tests.helpers import bits``), not conftest.py, which pytest
loads by itself and which holds only fixtures. gensim's real vector files are named the one way gensim
itself names them: ``gensim.test.utils.datapath(name)``.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import json
import os
import select
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"

#: Cases per fuzz test: a few dozen by default, many more under `make fuzz` (VECLOAD_FUZZ_EXAMPLES).
FUZZ_EXAMPLES = int(os.environ.get("VECLOAD_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                derandomize=FUZZ_EXAMPLES <= 40)


def bits(array: np.ndarray) -> np.ndarray:
    """The raw bit patterns of a float32 array, for exact comparison (NaN payloads and -0.0 included)."""
    return np.ascontiguousarray(array, dtype=np.float32).view(np.uint32)


def same_table(a, b) -> None:
    """Assert that two read tables hold the same tokens and bit-identical float32 vectors."""
    assert a.tokens == b.tokens
    assert a.vectors.shape == b.vectors.shape
    assert np.array_equal(bits(a.vectors), bits(b.vectors))


def decimals(rows: Iterable[Sequence[str]]) -> np.ndarray:
    """An independent reading of decimal fields: float32(float(field)), row by row."""
    return np.array([[np.float32(float(field)) for field in row] for row in rows], dtype=np.float32)


def reference_parse(path: Path, binary: bool = False, header: bool | None = None) -> tuple[list[str], np.ndarray]:
    """A deliberately simple, independent parser: tokens and float32(float(decimal)) values.

    Text: the token is everything before the last ``dim`` single-space-separated fields. Binary: records
    of ``token<space>`` followed by ``dim`` little-endian float32s, an optional newline before each token.
    """
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    elif raw[:3] == b"BZh":
        raw = bz2.decompress(raw)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if binary:
        first, _, body = raw.partition(b"\n")
        count, dim = map(int, first.split())
        tokens, values, pos = [], [], 0
        for _ in range(count):
            while body[pos : pos + 1] == b"\n":
                pos += 1
            space = body.index(b" ", pos)
            tokens.append(body[pos:space].decode("utf-8"))
            values.append(struct.unpack(f"<{dim}f", body[space + 1 : space + 1 + 4 * dim]))
            pos = space + 1 + 4 * dim
        return tokens, np.array(values, dtype=np.float32).reshape(count, dim)
    lines = [line.rstrip() for line in raw.decode("utf-8").splitlines() if line.strip()]
    if header is None:
        header = len(lines[0].split()) == 2 and all(f.isdigit() for f in lines[0].split())
    dim = int(lines[0].split()[1]) if header else len(lines[0].split(" ")) - 1
    body = lines[1:] if header else lines
    tokens, rows = [], []
    for line in body:
        fields = line.split(" ")
        tokens.append(" ".join(fields[:-dim]))
        rows.append(fields[-dim:])
    return tokens, decimals(rows).reshape(len(tokens), dim)


def word2vec_binary(rows: Iterable[tuple[str | bytes, Sequence[float]]], count: int | None = None,
                    newline: bool = True) -> bytes:
    """A word2vec binary file: the header ``count dim``, then ``token SPACE float32 * dim`` records.

    ``count`` overrides the header's row count (a file that lies about its length); ``newline`` ends
    each record with a newline, as word2vec's C tool does (gensim writes none). Tokens given as bytes
    are written as they are (invalid UTF-8 included); values are packed as little-endian float32.
    """
    rows = list(rows)
    dim = len(rows[0][1]) if rows else 0
    out = [b"%d %d\n" % (len(rows) if count is None else count, dim)]
    for token, vector in rows:
        raw = token if isinstance(token, bytes) else token.encode("utf-8")
        out.append(raw + b" " + np.asarray(vector, dtype="<f4").tobytes() + (b"\n" if newline else b""))
    return b"".join(out)


def write_file(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to ``folder / name`` and return the path."""
    path = folder / name
    path.write_bytes(data)
    return path


def records(pth: Path) -> tuple[bytes, bytes]:
    """The raw tokens and metadata records inside a converted file."""
    with zipfile.ZipFile(pth) as archive:
        root = archive.namelist()[0].split("/")[0]
        return archive.read(f"{root}/vecload/tokens.json"), archive.read(f"{root}/vecload/meta.json")


def rewrite(pth: Path, *, tensor=None, tokens_record: bytes | None = None, meta_record: bytes | None = None) -> None:
    """Write ``pth`` again with some parts replaced (no fingerprint is updated): ``torch.save`` of the tensor
    (any object), then vecload's records added to its archive, as vecload 0.3 wrote its files."""
    import torch

    old_tokens, old_meta = records(pth)
    if tensor is None:
        tensor = torch.load(pth, weights_only=True).clone()
    with open(pth, "w+b") as fh:
        torch.save(tensor, fh)
        fh.seek(0)
        with zipfile.ZipFile(fh, "a") as archive:
            archive.writestr("archive/vecload/tokens.json", old_tokens if tokens_record is None else tokens_record)
            archive.writestr("archive/vecload/meta.json", old_meta if meta_record is None else meta_record)


def edit_tokens(pth: Path, tokens: list, rehash: bool = False) -> None:
    """Replace the token list inside ``pth``; with ``rehash``, also update its fingerprint to match."""
    encoded = json.dumps(tokens, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    meta_record = None
    if rehash:
        document = json.loads(records(pth)[1])
        document["meta"]["tokens_sha256"] = hashlib.sha256(encoded).hexdigest()
        meta_record = json.dumps(document).encode("utf-8")
    rewrite(pth, tokens_record=encoded, meta_record=meta_record)


def child_env() -> dict[str, str]:
    """The environment for a child Python that imports this checkout's vecload."""
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def fuzz_summary(request, describe: Callable[[], str]) -> Iterator[None]:
    """For a module fixture: after the module's tests, print ``describe()`` and how many of them failed.

    `make fuzz` runs pytest with -s to show it. The count is pytest's own, so a failing run never
    reads as a clean one.
    """
    before = request.session.testsfailed
    yield
    failed = request.session.testsfailed - before
    print(f"\n{describe()}; {failed} failed test{'' if failed == 1 else 's'}")


# The child: `vecload ARGS`, which writes one byte to the inherited pipe ``fd`` the first time it opens
# a path containing ``needle`` (an audit hook sees every open, the library's and gensim's alike).
_READY_CHILD = """\
import os, sys
fd, needle = int(sys.argv[1]), sys.argv[2]
def _ready(event, args):
    global fd
    if fd is not None and event == "open" and isinstance(args[0], (str, bytes, os.PathLike)) \\
            and needle in os.fsdecode(args[0]):
        os.write(fd, b"!")
        os.close(fd)
        fd = None
sys.addaudithook(_ready)
sys.argv = ["vecload", *sys.argv[3:]]
from vecload.cli import run
run()
"""


def start_vecload(args: Sequence[str], *, ready_at: str, timeout: float = 60.0) -> subprocess.Popen:
    """Start ``vecload ARGS`` in a child and return once it opens a path containing ``ready_at``.

    The child says so on a pipe at that very moment, so a signal sent next lands while the command is
    at that point (reading its source, writing its temporary...), with no polling and no fixed sleep.
    """
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.Popen([sys.executable, "-c", _READY_CHILD, str(write_end), ready_at, *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(),
                                pass_fds=(write_end,))
    finally:
        os.close(write_end)
    with os.fdopen(read_end, "rb") as ready:
        arrived = select.select([ready], [], [], timeout)[0] and ready.read(1)
    if not arrived:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"vecload never opened {ready_at!r}: {err.decode(errors='replace')}")
    return proc
