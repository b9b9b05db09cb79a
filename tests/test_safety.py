"""Untrusted converted files and interrupted conversions: nothing executed, nothing half-written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import vecload
from tests.helpers import FIXTURES, child_env, edit_tokens, records, rewrite, start_vecload
from vecload.errors import IntegrityError, VecloadError


class _Payload:
    """Unpickling this runs a shell command that creates a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _converted(tmp_path: Path, name: str = "t.pth") -> Path:
    return vecload.convert(FIXTURES / "tiny.glove.txt", tmp_path / name)


def test_malicious_pickle_is_refused_and_not_run(tmp_path: Path) -> None:
    """A .pth whose pickle runs code under a plain torch.load is refused by vecload without running it."""
    out = _converted(tmp_path)
    marker = tmp_path / "pwned"
    torch.save(_Payload(marker), out)
    with pytest.raises(IntegrityError, match="refused: it holds Python objects other than tensors, which could run code"):
        vecload.load(out)
    assert not marker.exists()
    torch.load(out, weights_only=False)  # the payload is real: an unsafe load runs it
    assert marker.exists()


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_pth_is_refused(tmp_path: Path, keep: float) -> None:
    """A .pth cut short is an IntegrityError naming the file."""
    out = _converted(tmp_path)
    data = out.read_bytes()
    out.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(IntegrityError, match=r"t\.pth: is not a PyTorch file \(no readable zip archive"):
        vecload.load(out)


class _Subclass(torch.Tensor):
    """A tensor subclass: torch.save pickles its class, which weights_only=True refuses to import."""


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        (torch.zeros(4, 3, dtype=torch.float64), r"holds a float64 tensor of shape \(4, 3\); expected a 2-D float32 table"),
        (torch.zeros(12), r"holds a float32 tensor of shape \(12,\); expected a 2-D float32 table"),
        (torch.zeros(4, 3, requires_grad=True), r"holds a float32 tensor of shape \(4, 3\) that requires grad"),
        (torch.nn.Parameter(torch.zeros(4, 3)), r"holds a float32 nn\.Parameter of shape \(4, 3\), not a plain tensor"),
        (torch.zeros(5, 3), "has 5 rows but 4 tokens"),
        (torch.zeros(4, 3), "the tensor does not match its fingerprint"),
        (torch.zeros(8, 3)[::2], "holds a view into a larger storage"),
        ({"weight": torch.zeros(4, 3)}, r"holds a dict of 1 tensors, not a plain tensor"),
        (torch.zeros(4, 3).as_subclass(_Subclass), r"holds Python objects other than a plain tensor, which could run "
                                                   r"code when unpickled; vecload never unpickles them"),
    ],
)
def test_wrong_tensor_is_refused(tmp_path: Path, tensor: object, message: str) -> None:
    """A tensor of the wrong dtype, rank, shape, kind or content, or no tensor at all, beside vecload's records."""
    out = _converted(tmp_path)
    rewrite(out, tensor=tensor)
    with pytest.raises(IntegrityError, match=message):
        vecload.load(out)


def test_token_list_shorter_than_the_rows_is_refused(tmp_path: Path) -> None:
    """A token list that no longer has one token per row is refused, even with a matching token hash."""
    out = _converted(tmp_path)
    edit_tokens(out, ["the", "of", "café"], rehash=True)
    with pytest.raises(IntegrityError, match=r"t\.pth: has 4 rows but 3 tokens"):
        vecload.load(out)


def test_damaged_metadata_record_is_refused(tmp_path: Path) -> None:
    """A metadata record that is not JSON is an IntegrityError naming the file."""
    out = _converted(tmp_path)
    rewrite(out, meta_record=b'{"kind": "vecload-table", "tok')
    with pytest.raises(IntegrityError, match=r"t\.pth: damaged: its metadata are not valid JSON"):
        vecload.load(out)


@pytest.mark.parametrize("record", ["tokens", "meta"])
def test_lone_surrogate_escapes_are_refused(tmp_path: Path, record: str) -> None:
    """A token (rehashed) or a metadata string spelled with a lone surrogate escape ('\\ud800'), which no
    UTF-8 text holds and vecload never writes, is damage; it loaded, then broke `vecload info --json`."""
    import hashlib

    from click.testing import CliRunner

    from vecload.cli import main

    out = _converted(tmp_path)
    document = json.loads(records(out)[1])
    if record == "tokens":
        tokens_record = b'["\\ud800x","of","caf\xc3\xa9","u.s."]'
        document["meta"]["tokens_sha256"] = hashlib.sha256(tokens_record).hexdigest()
        rewrite(out, tokens_record=tokens_record, meta_record=json.dumps(document).encode())
    else:
        document["meta"]["format"] = "\ud800"
        rewrite(out, meta_record=json.dumps(document).encode())  # ensure_ascii: written as an escape
    what = "tokens" if record == "tokens" else "metadata"
    with pytest.raises(IntegrityError, match=rf"t\.pth: damaged: its {what} are not valid JSON \(.*surrogates not allowed"):
        vecload.load(out)
    result = CliRunner().invoke(main, ["info", "--json", str(out)])
    assert result.exit_code == 1 and "surrogates not allowed" in result.output and result.exception is not None
    assert isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("bad", [7, None, ["x"], {"a": 1}])
def test_token_that_is_not_a_string_is_refused(tmp_path: Path, bad) -> None:
    """A token that JSON gives as a number, null, list or object makes the file damaged, not loadable."""
    out = _converted(tmp_path)
    tokens = json.loads(records(out)[0])
    tokens[2] = bad
    edit_tokens(out, tokens, rehash=True)
    with pytest.raises(IntegrityError, match=r"t\.pth: damaged: the tokens record is not a list of strings"):
        vecload.load(out)


def test_exception_inside_the_writer_leaves_old_output_intact(tmp_path: Path, monkeypatch) -> None:
    """If writing fails half-way (a full disk), even with force=True the old file stays and no temp remains."""
    out = _converted(tmp_path)
    before = out.read_bytes()
    import vecload.store.archive as archive

    real_values = archive._values

    def failing_values(zipped, fh, *args, **kwargs):
        real_values(zipped, fh, *args, **kwargs)
        fh.truncate(10)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(archive, "_values", failing_values)
    with pytest.raises(VecloadError, match=r"t\.pth: could not be written: No space left on device; nothing was written"):
        vecload.convert(FIXTURES / "tiny.w2v.txt", out, force=True)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.pth"]


def test_exception_inside_the_writer_leaves_nothing_new(tmp_path: Path, monkeypatch) -> None:
    """A failed first conversion (a quota error while adding the records) leaves no partial file."""
    import vecload.store.write

    def failing_write(*args, **kwargs):
        raise OSError(122, "Disk quota exceeded")

    monkeypatch.setattr(vecload.store.write, "_write", failing_write)
    with pytest.raises(VecloadError, match=r"n\.pth: could not be written: Disk quota exceeded; nothing was written"):
        vecload.convert(FIXTURES / "tiny.glove.txt", tmp_path / "n.pth")
    assert list(tmp_path.iterdir()) == []


def test_sigint_during_a_real_conversion_leaves_nothing(tmp_path: Path) -> None:
    """Ctrl-C sent to a running `vecload convert` while gensim reads its source exits 130 and writes no
    output and no temp file; the existing output is untouched."""
    src = tmp_path / "big.txt"  # 20,000 rows: gensim takes a good part of a second to read them
    row = " ".join(f"{j / 997:.6f}" for j in range(50))
    src.write_text("".join(f"w{i} {row}\n" for i in range(20_000)), encoding="utf-8")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    existing = out_dir / "big.pth"
    existing.write_bytes(b"old tensor")
    # the child says when it first opens its source (before gensim is even imported): the signal lands
    # in the middle of the conversion, and a conversion that finished first would exit 0 and fail here
    proc = start_vecload(["convert", str(src), "-o", str(existing), "--force", "--engine", "gensim", "-q"],
                         ready_at=str(src))
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert b"interrupted; nothing was written" in err and b"Traceback" not in err
    assert existing.read_bytes() == b"old tensor"
    assert [p.name for p in out_dir.iterdir()] == ["big.pth"]


@pytest.mark.parametrize("compress", ["gzip", "bz2"])
def test_truncated_compressed_stream_is_a_parse_error_with_offset(tmp_path: Path, compress: str) -> None:
    """A gzip or bz2 file cut short is reported with the file and the byte offset, and nothing is written."""
    import bz2
    import gzip

    body = b"".join(f"w{i} {i}.5 1.25 -3\n".encode() for i in range(5000))
    packed = gzip.compress(body) if compress == "gzip" else bz2.compress(body)
    src = tmp_path / "v.txt.gz"
    src.write_bytes(packed[:-100])
    with pytest.raises(vecload.ParseError, match=rf"v\.txt\.gz: byte \d+: the {compress} stream is truncated or damaged"):
        vecload.convert(src, tmp_path / "v.pth")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.txt.gz"]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("huge.txt", b"1000000000000 3\nthe 1 2 3\n", r"huge\.txt:1: the header promises 1,000,000,000,000 rows of 3 values.*the file has 26;"),
        ("huge.bin", b"1000000000000 300\nthe " + bytes(1200), r"huge\.bin:1: the header promises 1,000,000,000,000 rows of 300 values"),
        ("wide.txt", b"2 100000000000\nthe 1 2 3\n", r"wide\.txt:1: the header gives dim 100,000,000,000"),
    ],
)
def test_absurd_headers_are_refused_before_allocating(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    """A header promising more than the file can hold is refused by checking the file size, not by allocating."""
    src = tmp_path / name
    src.write_bytes(data)
    fmt = "word2vec-binary" if name.endswith(".bin") else "word2vec"
    with pytest.raises(vecload.ParseError, match=message):
        vecload.load(src, format=fmt)


_CAPPED_READ = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))  # 1.5 GiB of address space in all
from vecload.errors import ParseError
from vecload.formats import read_table
try:
    read_table(sys.argv[1])
except ParseError as exc:
    print(exc)
"""


@pytest.mark.parametrize("compress", ["gzip", "bz2"])
def test_absurd_header_in_a_compressed_stream_fails_without_exhausting_memory(tmp_path: Path, compress: str) -> None:
    """Where the size is unknown (bz2) or only bounded (gzip), the lie is caught within 1.5 GiB of address space.

    The header asks for 10^12 x 50 floats (200 TB): reserving them, even untouched, would fail under the limit.
    """
    import bz2
    import gzip

    body = b"1000000000000 50\n" + b"".join(f"w{i} ".encode() + b" ".join([b"0.5"] * 50) + b"\n" for i in range(100))
    src = tmp_path / "huge.txt.gz"
    src.write_bytes(gzip.compress(body) if compress == "gzip" else bz2.compress(body))
    env = child_env()
    done = subprocess.run([sys.executable, "-c", _CAPPED_READ, str(src)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "huge.txt.gz" in done.stdout and "the header promises" in done.stdout


def test_endless_line_fails_fast(tmp_path: Path) -> None:
    """A 'line' of tens of megabytes (binary data read as text) is refused after 16 MiB, not read whole."""
    src = tmp_path / "blob.txt"
    src.write_bytes(b"a 1.0 " + b"7" * (40 << 20) + b"\n")
    with pytest.raises(vecload.VecloadError, match=r"blob\.txt: (has no line break|byte 0: a line longer than 16 MiB)"):
        vecload.load(src)
    with pytest.raises(vecload.ParseError, match=r"blob\.txt: byte 0: a line longer than 16 MiB"):
        vecload.load(src, format="glove")


_FILE_TOO_LARGE = """
import os, resource, signal, sys, threading
import numpy as np
import vecload.store as store

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.RLIM_INFINITY))
table = np.arange(4 << 20, dtype=np.float32).reshape(-1, 64)  # 16 MiB: the write fails while the hash runs
try:
    store.save(os.path.join(sys.argv[1], "t.pth"), [str(i) for i in range(len(table))], table, {})
except Exception as exc:
    print(type(exc).__name__, exc)
print([t.name for t in threading.enumerate()], os.listdir(sys.argv[1]))
"""


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="no file size limit on this platform")
def test_a_write_past_the_file_size_limit_leaves_nothing_and_no_thread(tmp_path: Path) -> None:
    """A real EFBIG mid-values (RLIMIT_FSIZE, in a child): VecloadError, no file or temporary, no thread left."""
    done = subprocess.run([sys.executable, "-c", _FILE_TOO_LARGE, str(tmp_path)], capture_output=True, text=True,
                          env=child_env(), timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"VecloadError {tmp_path / 't.pth'}: could not be written: File too large; "
                                        f"nothing was written", "['MainThread'] []"]
