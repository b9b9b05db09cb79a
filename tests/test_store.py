"""The converted file (vecload.store) and how it is written (vecload._atomic): one file, nothing planted."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import vecload
import vecload._atomic as atomic
import vecload.store as store
import vecload.store.layout
from tests.helpers import FIXTURES, bits, child_env, edit_tokens, records, rewrite, start_vecload, word2vec_binary
from vecload.cli import main
from vecload.errors import IntegrityError, OutputExistsError, VecloadError

TOKENS = ["the", "of", "café", "u.s."]


def _converted(tmp_path: Path, name: str = "t.pth") -> Path:
    return vecload.convert(FIXTURES / "tiny.glove.txt", tmp_path / name)


def run(*args: str) -> tuple[int, str]:
    """Run the CLI; return its exit code and everything it printed."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


# -- the file -----------------------------------------------------------------------------------------------


def test_one_file_holds_the_tensor_and_its_records(tmp_path: Path) -> None:
    """The archive is torch.save's plus two vecload records; torch.load (mmap too) gives the bare tensor."""
    out = _converted(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["t.pth"]
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
    root = names[0].split("/")[0]
    assert names[-2:] == [f"{root}/vecload/tokens.json", f"{root}/vecload/meta.json"]
    plain, mapped = torch.load(out, weights_only=True), torch.load(out, weights_only=True, mmap=True)
    assert type(plain) is torch.Tensor and plain.dtype == torch.float32 and plain.shape == (4, 3)
    assert np.array_equal(bits(mapped.numpy()), bits(plain.numpy()))
    assert torch.equal(torch.nn.Embedding.from_pretrained(torch.load(out)).weight, plain)
    tokens_record, meta_record = records(out)
    assert json.loads(tokens_record) == TOKENS
    document = json.loads(meta_record)
    assert (document["kind"], document["layout"]) == ("vecload-table", 2)
    assert document["meta"]["tokens_sha256"] == hashlib.sha256(json.dumps(TOKENS, ensure_ascii=False,
                                                                           separators=(",", ":")).encode()).hexdigest()
    loaded = vecload.load(out, verify=True)
    assert loaded.tokens == TOKENS and torch.equal(loaded.vectors, plain)


def test_token_encoding_is_unambiguous(tmp_path: Path) -> None:
    """["a b"] and ["a", "b"] get different token fingerprints, and each round-trips."""
    one = vecload.Vectors(["a b"], torch.zeros(1, 2)).save(tmp_path / "one.pth")
    two = vecload.Vectors(["a", "b"], torch.zeros(2, 2)).save(tmp_path / "two.pth")
    assert vecload.load(one).meta["tokens_sha256"] != vecload.load(two).meta["tokens_sha256"]
    assert vecload.load(one).tokens == ["a b"] and vecload.load(two).tokens == ["a", "b"]


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda t: [t[1], t[0], *t[2:]], id="swap"),
        pytest.param(lambda t: ["THE", *t[1:]], id="rename"),
        pytest.param(lambda t: t[::-1], id="reorder"),
        pytest.param(lambda t: [t[0], t[0], *t[2:]], id="duplicate"),
        pytest.param(lambda t: [*t[:3], "u.s. "], id="trailing-space"),
    ],
)
def test_edited_tokens_are_refused(tmp_path: Path, edit) -> None:
    """Swapping, renaming, reordering or duplicating tokens inside the file is refused by the token hash."""
    out = _converted(tmp_path)
    edit_tokens(out, edit(TOKENS))
    with pytest.raises(IntegrityError, match=r"t\.pth: the tokens do not match their fingerprint \(tokens_sha256\)"):
        vecload.load(out)
    code, output = run("info", "--verify", str(out))
    assert code == 1 and "do not match their fingerprint" in output and "Traceback" not in output


def test_duplicate_tokens_are_refused_even_with_a_matching_hash(tmp_path: Path) -> None:
    """A duplicated token whose hash was forged too is refused on every load, verify or not."""
    out = _converted(tmp_path)
    edit_tokens(out, ["the", "of", "the", "u.s."], rehash=True)
    for verify in (False, True):
        with pytest.raises(IntegrityError, match=r"t\.pth: the tokens are not distinct"):
            vecload.load(out, verify=verify)
    for args in (["info", str(out)], ["info", "--verify", str(out)]):
        code, output = run(*args)
        assert code == 1 and "the tokens are not distinct" in output and "Traceback" not in output


@pytest.mark.parametrize("tokens, expected", [
    ([], True), (["a"], True), (["a", "b", "a b"], True), (["a", "b", "a"], False), (["x"] * 2, False),
    ([str(i) for i in range(10_000)] + ["9999"], False), ([str(i) for i in range(10_000)], True),
])
def test_distinct_matches_a_set(tokens: list[str], expected: bool) -> None:
    """The hash-sorting check agrees with a set, repeats anywhere in the list included."""
    assert store.distinct(tokens) is expected is (len(set(tokens)) == len(tokens))


def test_saving_repeated_tokens_is_refused(tmp_path: Path) -> None:
    """Vectors with a repeated token cannot be saved: nothing is written."""
    with pytest.raises(VecloadError, match=r"d\.pth: the tokens are not distinct"):
        vecload.Vectors(["a", "a"], torch.zeros(2, 2)).save(tmp_path / "d.pth")
    assert list(tmp_path.iterdir()) == []


def test_state_dict_is_described_not_called_converted(tmp_path: Path) -> None:
    """A PyTorch file of someone else's is described as what it holds by load, info and convert."""
    out = tmp_path / "model.pth"
    torch.save(torch.nn.Sequential(*[torch.nn.Linear(2, 2) for _ in range(6)]).state_dict(), out)
    message = (r"model\.pth: is a PyTorch file holding a dict of 12 tensors, not a vecload table "
               r"\(vecload convert writes tables from word-vector files\)")
    with pytest.raises(IntegrityError, match=message):
        vecload.load(out)
    for command in ("info", "convert"):
        code, output = run(command, str(out), *(["-o", str(tmp_path / "x.pth")] if command == "convert" else []))
        assert code == 1 and "a dict of 12 tensors, not a vecload table" in output and "Traceback" not in output
        assert "already a converted file" not in output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pth"]


def test_convert_of_a_vecload_table_says_it_is_converted(tmp_path: Path) -> None:
    """Converting one of vecload's own files says it is already converted."""
    out = _converted(tmp_path)
    with pytest.raises(VecloadError, match=r"t\.pth: is already a converted file"):
        vecload.convert(out, tmp_path / "again.pth")


def test_missing_file_is_an_oserror(tmp_path: Path) -> None:
    """A missing .pth raises FileNotFoundError; the CLI makes it one line."""
    with pytest.raises(FileNotFoundError):
        vecload.load(tmp_path / "nope.pth")
    code, output = run("info", str(tmp_path / "nope.pth"))
    assert code == 1 and output.strip().endswith("nope.pth: No such file or directory") and len(output.splitlines()) == 1


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    ("meta_record", "message"),
    [
        (b'{"kind":"vecload-table","layout":2,"meta":' + _deep(200_000) + b"}", "its metadata are not valid JSON"),
        (b'{"kind":"vecload-table","layout":2,"meta":{"count":' + b"9" * 5000 + b"}}", "its metadata are not valid JSON"),
        (b'{"kind":"vecload-table","layout":2,"meta":{"tensor":"a string","tokens_sha256":"x"}}',
         "lacks a valid tensor or token fingerprint"),
        (b'{"kind":"vecload-table","layout":2,"meta":[]}', "lacks a valid tensor or token fingerprint"),
        (b'{"kind":"vecload-table","layout":3,"meta":{}}', "layout 3 is not supported"),
        (b'["not", "a", "dict"]', "its metadata record is not a vecload table's"),
        (b"\xff\xfe{}", "its metadata are not valid JSON"),
    ],
)
def test_hostile_metadata_raises_only_integrity_errors(tmp_path: Path, meta_record: bytes, message: str) -> None:
    """Deep nesting, 5,000-digit numbers, wrong types and bad UTF-8 in the record are IntegrityErrors."""
    out = _converted(tmp_path)
    rewrite(out, meta_record=meta_record)
    with pytest.raises(IntegrityError, match=message):
        vecload.load(out)
    code, output = run("info", str(out))
    assert code == 1 and message.split()[-1] in output and "Traceback" not in output


def test_hostile_parse_report_is_an_integrity_error_in_info(tmp_path: Path) -> None:
    """A report with unknown keys loads (it is only metadata) but info says the file is damaged."""
    out = _converted(tmp_path)
    document = json.loads(records(out)[1])
    document["meta"]["report"] = {"rows_read": {"x": 1}, "evil": 2}
    rewrite(out, meta_record=json.dumps(document).encode())
    code, output = run("info", str(out))
    assert code == 1 and "its parse report is malformed" in output and "Traceback" not in output


def test_oversized_or_compressed_record_is_refused_before_reading(tmp_path: Path, monkeypatch) -> None:
    """A record larger than the cap, or compressed, is refused from the zip directory, before it is read."""
    out = _converted(tmp_path)
    monkeypatch.setattr(store.layout, "CAP_FIXED", 100)
    monkeypatch.setattr(store.layout, "CAP_PER_ROW", 10)
    with pytest.raises(IntegrityError, match=r"the record archive/vecload/meta\.json is compressed or larger than a "
                                             r"converted file may hold \(\d+ bytes; at most 140 for this table\)"):
        vecload.load(out)
    monkeypatch.undo()
    tokens_record, meta_record = records(out)
    tensor = torch.load(out, weights_only=True)
    with open(out, "w+b") as fh:
        torch.save(tensor, fh)
        fh.seek(0)
        with zipfile.ZipFile(fh, "a") as archive:
            archive.writestr("archive/vecload/tokens.json", tokens_record, compress_type=zipfile.ZIP_DEFLATED)
            archive.writestr("archive/vecload/meta.json", meta_record)
    with pytest.raises(IntegrityError, match=r"the record archive/vecload/tokens\.json is compressed"):
        vecload.load(out)


# -- writing ------------------------------------------------------------------------------------------------


def test_vocab_out_writes_tokens_one_per_line(tmp_path: Path) -> None:
    """--vocab-out writes the tokens in row order, one per line, beside the one converted file."""
    out, vocab = tmp_path / "t.pth", tmp_path / "t.tokens.txt"
    code, output = run("convert", str(FIXTURES / "tiny.glove.txt"), "-o", str(out), "--vocab-out", str(vocab))
    assert code == 0, output
    assert f"wrote {vocab} (4 tokens in row order" in output
    assert vocab.read_text(encoding="utf-8") == "the\nof\ncafé\nu.s.\n"
    assert vecload.load(out).tokens == TOKENS


@pytest.mark.parametrize("tokens", [["a\nb", "c"], ["x", "y\rz"], ["", "q"], ["p\u2028q", "r"]])
def test_vocab_out_uses_json_lines_when_a_line_would_be_ambiguous(tmp_path: Path, tokens: list[str]) -> None:
    """A token with a line break (or an empty token) makes every line a JSON string."""
    vocab = tmp_path / "v.txt"
    vecload.Vectors(tokens, torch.zeros(2, 1)).save(tmp_path / "v.pth", vocab_out=vocab)
    lines = vocab.read_bytes().split(b"\n")
    assert lines[-1] == b"" and [json.loads(line) for line in lines[:-1]] == tokens


def test_vocab_out_existing_fails_before_reading(tmp_path: Path, monkeypatch) -> None:
    """An existing --vocab-out file is refused before the source is read, and nothing is written."""
    vocab = tmp_path / "v.txt"
    vocab.write_text("keep", encoding="utf-8")
    monkeypatch.setattr("vecload.formats.read_table", _must_not_read)
    with pytest.raises(OutputExistsError, match=r"v\.txt: already exists"):
        vecload.convert(FIXTURES / "tiny.glove.txt", tmp_path / "t.pth", vocab_out=vocab)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.txt"] and vocab.read_text(encoding="utf-8") == "keep"


def _must_not_read(*args, **kwargs):
    raise AssertionError("the source was read")


def test_read_only_directory_fails_fast_without_reading(tmp_path: Path, monkeypatch) -> None:
    """A directory without write permission fails at once, before the source is opened, with no traceback.

    Tests run as root, who may write anywhere, so os.access is made to answer as it would for a user.
    """
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == locked else real_access(p, mode, **kw))
    monkeypatch.setattr("vecload.formats.open_source", _must_not_read)
    start = time.monotonic()
    code, output = run("convert", str(FIXTURES / "tiny.glove.txt"), "-o", str(locked / "t.pth"))
    assert time.monotonic() - start < 1.0
    assert code == 1 and output.startswith("Error: ") and "Traceback" not in output
    assert f"{locked / 't.pth'}: cannot write in directory {locked} (permission denied)" in output
    assert "nothing was read or written" in output and list(locked.iterdir()) == []


def test_missing_directory_fails_before_reading(tmp_path: Path, monkeypatch) -> None:
    """An output in a directory that does not exist fails before the source is opened."""
    monkeypatch.setattr("vecload.formats.open_source", _must_not_read)
    with pytest.raises(FileNotFoundError, match=r"directory .*nowhere does not exist; create it first"):
        vecload.convert(FIXTURES / "tiny.glove.txt", tmp_path / "nowhere" / "t.pth")


@pytest.mark.parametrize("how", ["same", "symlink", "hardlink", "dotted"])
def test_output_equal_to_the_source_is_refused_even_with_force(tmp_path: Path, how: str) -> None:
    """-o naming the source (directly, through a link or a hard link) is refused with --force; the source stays."""
    src = tmp_path / "v.txt"
    src.write_bytes((FIXTURES / "tiny.glove.txt").read_bytes())
    before = src.read_bytes()
    out = {"same": src, "symlink": tmp_path / "l.pth", "hardlink": tmp_path / "h.pth",
           "dotted": tmp_path / "." / "v.txt"}[how]
    if how == "symlink":
        out.symlink_to(src)
    if how == "hardlink":
        os.link(src, out)
    code, output = run("convert", str(src), "-o", str(out), "--force")
    assert code == 1 and "is the source being read" in output and "refuses even with --force" in output
    assert "Traceback" not in output and src.read_bytes() == before


def test_dangling_symlink_output_is_refused_unless_force(tmp_path: Path) -> None:
    """A dangling symlink at the output is refused; with --force the link itself is replaced, not followed."""
    out, target = tmp_path / "t.pth", tmp_path / "elsewhere"
    out.symlink_to(target)
    with pytest.raises(OutputExistsError, match=r"t\.pth: is a dangling symbolic link"):
        vecload.convert(FIXTURES / "tiny.glove.txt", out)
    vecload.convert(FIXTURES / "tiny.glove.txt", out, force=True)
    assert not out.is_symlink() and out.is_file() and not target.exists()


def test_symlinked_output_with_force_replaces_the_link_not_the_victim(tmp_path: Path) -> None:
    """--force over a symlink to another file replaces the link; the file it pointed to is untouched."""
    victim, out = tmp_path / "victim", tmp_path / "t.pth"
    victim.write_bytes(b"precious")
    out.symlink_to(victim)
    vecload.convert(FIXTURES / "tiny.glove.txt", out, force=True)
    assert victim.read_bytes() == b"precious" and not out.is_symlink() and vecload.load(out).tokens == TOKENS


def _plant(out_dir: Path, victim: Path) -> list[Path]:
    """Symlinks to ``victim`` at every temporary name an attacker can predict for ``out_dir/t.pth``."""
    pid = os.getpid()
    planted = [out_dir / f".t.pth.{p}.tmp" for p in range(pid - 50, pid + 50)]  # vecload 0.1's scheme
    planted += [out_dir / f".t.vocab.json.{p}.tmp" for p in range(pid - 50, pid + 50)]
    planted += [out_dir / f".vecload-tmp.t.pth.{pid}.{i:016x}" for i in range(64)]  # the fixed prefix, guessed tails
    planted += [out_dir / f".vecload-tmp.t.pth.{pid}.{'deadbeef' * 2}"]
    for link in planted:
        link.symlink_to(victim)
    return planted


def test_planted_symlinks_at_predictable_temp_names_are_never_followed(tmp_path: Path) -> None:
    """Symlinks planted at the old temporary names and at guesses of the new ones leave the victim alone."""
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    planted = _plant(out_dir, victim)
    out = vecload.convert(FIXTURES / "tiny.glove.txt", out_dir / "t.pth", force=True)
    assert victim.read_bytes() == b"precious"
    assert not out.is_symlink() and out.is_file() and vecload.load(out).tokens == TOKENS
    assert all(link.is_symlink() for link in planted)


def test_a_correctly_guessed_temp_name_is_refused_not_followed(tmp_path: Path, monkeypatch) -> None:
    """Even when the random tail is guessed right, O_EXCL refuses the planted link and a new name is drawn.

    The new names end in 64 random bits; the test forces the first draws to hit planted links.
    """
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    planted = _plant(out_dir, victim)
    real_token_hex = atomic.secrets.token_hex
    draws = iter(["deadbeef" * 2, "0" * 16, f"{63:016x}"])
    monkeypatch.setattr(atomic.secrets, "token_hex", lambda n: next(draws, None) or real_token_hex(n))
    out = vecload.convert(FIXTURES / "tiny.glove.txt", out_dir / "t.pth", vocab_out=out_dir / "t.txt")
    assert next(draws, None) is None  # every planted guess was drawn, and refused
    assert victim.read_bytes() == b"precious"
    assert not out.is_symlink() and out.is_file() and vecload.load(out).tokens == TOKENS
    assert all(link.is_symlink() for link in planted)
    assert sorted(p.name for p in out_dir.iterdir() if not p.is_symlink()) == ["t.pth", "t.txt"]


def test_a_symlink_swapped_in_for_the_created_temp_is_never_written_through(tmp_path: Path, monkeypatch) -> None:
    """An attacker who lists the directory and replaces the fresh temporary by a symlink (a race, forced
    here) gets nothing: the table is written through the descriptor O_EXCL opened, the swap is noticed
    before the rename, and neither the victim nor the output is touched."""
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    real_create = atomic._create_temp

    def create_then_swap(target: Path):
        created = real_create(target)
        tmp = created[0] if isinstance(created, tuple) else created
        tmp.unlink()
        tmp.symlink_to(victim)
        return created

    monkeypatch.setattr(atomic, "_create_temp", create_then_swap)
    out = tmp_path / "t.pth"
    with pytest.raises(VecloadError, match=r"t\.pth: its temporary \.vecload-tmp\.t\.pth\.\d+\.[0-9a-f]{16} was replaced "
                                           r"by another file while vecload wrote it; nothing was written"):
        vecload.convert(FIXTURES / "tiny.glove.txt", out)
    assert victim.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim"]


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path: Path) -> None:
    """convert removes the temporaries a killed run left for the same output, says so, and keeps live ones."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".vecload-tmp.t.pth.{dead.pid}.0123456789abcdef"
    live = tmp_path / f".vecload-tmp.t.pth.{os.getppid()}.0123456789abcdef"
    other = tmp_path / f".vecload-tmp.u.pth.{dead.pid}.0123456789abcdef"
    for path in (stale, live, other):
        path.write_bytes(b"half a table")
    code, output = run("convert", str(FIXTURES / "tiny.glove.txt"), "-o", str(tmp_path / "t.pth"))
    assert code == 0, output
    assert f"removed a stale temporary file {stale.name} left by process {dead.pid}, which no longer runs" in output
    assert not stale.exists() and live.exists() and other.exists()


def test_signal_handlers_are_restored_after_writing(tmp_path: Path) -> None:
    """Saving installs its handlers only while writing: afterwards every handler is the one before."""
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    _converted(tmp_path)
    assert {s: signal.getsignal(s) for s in before} == before


def test_write_failure_names_the_output_not_the_temporary(tmp_path: Path) -> None:
    """A file-size limit hit while writing (a full disk) is one paragraph naming the output, exit 1, nothing left."""
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))\n"
        "from vecload.cli import main\n"
        "main()\n"
    )
    out = tmp_path / "t.pth"
    env = child_env()
    done = subprocess.run([sys.executable, "-c", code, "convert", str(FIXTURES / "tiny.glove.txt"), "-o", str(out)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stderr == f"Error: {out}: could not be written: File too large; nothing was written\n"
    assert list(tmp_path.iterdir()) == []


_BIG_ROWS, _BIG_DIM = 20_000, 200


@pytest.fixture(scope="module")
def big_source(tmp_path_factory) -> Path:
    """A 16 MB word2vec binary file: long enough to interrupt while reading and while writing."""
    path = tmp_path_factory.mktemp("big") / "big.bin"
    values = np.random.default_rng(3).standard_normal((_BIG_ROWS, _BIG_DIM))
    path.write_bytes(word2vec_binary((f"w{i}", row) for i, row in enumerate(values)))
    return path


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("phase", ["reading", "writing"])
def test_signal_at_a_random_point_leaves_no_file(tmp_path: Path, big_source: Path, signum: int, phase: str) -> None:
    """SIGTERM or SIGINT at a random moment of a real conversion leaves no output and no temporary.

    The signal is sent a random delay after the child opens its source, or creates its temporary.
    """
    out = tmp_path / "big.pth"
    # the child says when it opens its source, or its temporary: no polling
    proc = start_vecload(["convert", str(big_source), "-o", str(out), "-q"],
                         ready_at=str(big_source) if phase == "reading" else f"/{atomic.TEMP_PREFIX}")
    rng = random.Random()
    time.sleep(rng.uniform(0, 0.03))
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert b"Traceback" not in err
    if left:  # the signal came after the rename: then the file is whole
        assert left == ["big.pth"] and len(vecload.load(out, verify=True)) == _BIG_ROWS
        return
    if signum == signal.SIGINT:
        assert proc.returncode == 130 and err.endswith(b"interrupted; nothing was written\n"), err.decode()
    else:
        assert proc.returncode == -signal.SIGTERM, err.decode()
    if phase == "writing" and signum == signal.SIGTERM:
        assert b"interrupted by SIGTERM while writing; nothing was written" in err


def test_aligned_convert_writes_one_file_plus_the_named_extras(tmp_path: Path) -> None:
    """convert --vocab with --report-json and --vocab-out writes the one .pth and exactly those two files."""
    task = tmp_path / "task.txt"
    task.write_text("of\nzzz\n", encoding="utf-8")
    out, report, tokens = tmp_path / "a.pth", tmp_path / "r.json", tmp_path / "a.tokens"
    code, output = run("convert", str(FIXTURES / "tiny.glove.txt"), "-o", str(out), "--vocab", str(task),
                       "--report-json", str(report), "--vocab-out", str(tokens), "-q")
    assert code == 0, output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pth", "a.tokens", "r.json", "task.txt"]
    assert tokens.read_text(encoding="utf-8") == "<pad>\n<unk>\nof\nzzz\n" == "".join(t + "\n" for t in vecload.load(out).tokens)


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_force_never_replaces_a_device_or_a_pipe(tmp_path: Path, kind: str) -> None:
    """-o FIFO --force (or a device node, as /dev/null) is refused: renaming over it would destroy it."""
    target = tmp_path / kind
    if kind == "fifo":
        os.mkfifo(target)
    else:
        try:
            os.mknod(target, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        except PermissionError:
            pytest.skip("creating a device node needs root")
    with pytest.raises(VecloadError, match=r"is not a regular file \(a device or a pipe\?\).*refuses even with force"):
        vecload.convert(FIXTURES / "tiny.glove.txt", target, force=True)
    assert not target.is_file() and (target.is_fifo() or target.is_char_device())


def test_a_view_of_a_larger_table_saves_as_its_own_rows(tmp_path: Path) -> None:
    """Saving a slice (rows 2..6 of a table) writes those rows only, and the file loads (vecload 0.3 wrote the
    whole storage, which load refused as 'a view into a larger storage')."""
    table = torch.arange(40, dtype=torch.float32).reshape(10, 4)
    vecload.Vectors([f"w{i}" for i in range(2, 6)], table[2:6]).save(tmp_path / "part.pth")
    loaded = vecload.load(tmp_path / "part.pth", verify=True)
    assert loaded.tokens == ["w2", "w3", "w4", "w5"] and torch.equal(loaded.vectors, table[2:6])


@pytest.mark.parametrize("table, found", [
    (torch.zeros(3, 2, dtype=torch.bfloat16), "2-D bfloat16"),
    (torch.zeros(3, 2, dtype=torch.float16), "2-D float16"),
    (torch.zeros(3, 2, 1), "3-D float32"),
    (np.zeros((3, 2), dtype=">f4"), "2-D >f4"),
])
def test_saving_a_table_that_is_not_float32_is_refused(tmp_path: Path, table, found: str) -> None:
    """store.save refuses a non-float32 table (a bfloat16 tensor too) with a VecloadError, writing nothing."""
    with pytest.raises(VecloadError, match=rf"t\.pth: a converted file holds a 2-D float32 table, not {found}$"):
        store.save(tmp_path / "t.pth", ["a", "b", "c"], table, {})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("count", [0, 1, 65_535, 65_536, 65_537, 140_000])
def test_the_tokens_record_is_the_json_array_whatever_the_slices(count: int) -> None:
    """encode_tokens encodes a slice at a time: the record is still json.dumps of the whole list, byte for
    byte, across slice boundaries and with tokens that JSON escapes."""
    tokens = [f'w{i}\u00e9"\\\n\t' if i % 5 == 0 else f"t{i}" for i in range(count)]
    want = json.dumps(tokens, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert bytes(vecload.store.layout.encode_tokens(tokens)) == want


@pytest.mark.parametrize("bad", [2, 65_536, 65_537, 139_999])
def test_a_lone_surrogate_is_named_where_the_whole_array_would_fail(bad: int) -> None:
    """The error's position is the character of the whole JSON text, also in a later slice."""
    tokens = [f"t{i}" for i in range(140_000)]
    tokens[bad] = "ab\ud800c"
    with pytest.raises(UnicodeEncodeError) as whole:
        json.dumps(tokens, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    with pytest.raises(vecload.VecloadError, match=rf"surrogates not allowed at {whole.value.start}\)"):
        vecload.store.layout.encode_tokens(tokens)
