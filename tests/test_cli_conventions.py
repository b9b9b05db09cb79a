"""The command line a newcomer expects (issue 17): pipes, exit statuses, empty results, data problems on
stderr and --strict, one voice for messages, the conventions every command follows, and the quick look."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from gensim.test.utils import datapath

import vecload
from tests.helpers import FIXTURES, ROOT, child_env
from vecload.cli import _shell as cli
from vecload.cli import main
from vecload.errors import OutputExistsError, VecloadError
from vecload.describe import peek



def run(*args: str) -> tuple[int, str, str]:
    """Run the CLI in-process; return its exit status, stdout and stderr."""
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def converted(tmp_path: Path) -> Path:
    """tiny.vec converted into tmp_path."""
    out = tmp_path / "tiny.pth"
    if not out.exists():
        vecload.convert(FIXTURES / "tiny.vec", out)
    return out


# --- 1. pipes ------------------------------------------------------------------------------------------


def test_a_closed_pipe_ends_output_quietly_with_the_status_the_work_deserves(tmp_path: Path) -> None:
    """With a real `head` closing stdout, convert still writes its file and exits 0, info exits 0, no error."""
    out = tmp_path / "x.pth"
    script = ('"$PY" -m vecload convert "$SRC" -o "$OUT" 2>convert.err | head -n 0; echo "${PIPESTATUS[0]}" >convert.rc\n'
              '"$PY" -m vecload info "$SRC" 2>info.err | head -1 >info.out; echo "${PIPESTATUS[0]}" >info.rc\n')
    env = {**child_env(), "PY": sys.executable, "SRC": str(FIXTURES / "tiny.vec"), "OUT": str(out)}
    subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, check=True, timeout=60)
    # head -n 0 exits at once, so convert's first line meets a closed pipe: the conversion still counts
    assert (tmp_path / "convert.rc").read_text() == "0\n"
    assert (tmp_path / "convert.err").read_text() == ""
    assert torch.equal(torch.load(out, weights_only=True), vecload.load(FIXTURES / "tiny.vec").vectors)
    assert (tmp_path / "info.rc").read_text() == "0\n"
    assert (tmp_path / "info.err").read_text() == ""
    assert (tmp_path / "info.out").read_text() == f"path: {FIXTURES / 'tiny.vec'}\n"


def test_output_to_a_closed_stdout_is_dropped_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """_out swallows BrokenPipeError on stdout and stderr, so the command goes on to its own exit status."""
    calls: list[str] = []

    def broken(text: str = "", **kwargs: object) -> None:
        calls.append(text)
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(cli.click, "echo", broken)
    cli._out("first")
    cli._out("second", err=True)
    assert calls == ["first", "second"]


# --- 4. exit statuses, table-driven over every command ----------------------------------------------------


def _saved_model(tmp_path: Path, changed: bool) -> Path:
    """A state_dict whose embedding holds tiny.vec's rows after two specials (one row changed if asked)."""
    weight = torch.cat([torch.zeros(2, 3), vecload.load(converted(tmp_path)).vectors.clone()])
    if changed:
        weight[3, 0] += 1
    path = tmp_path / f"model-{changed}.pt"
    torch.save({"emb.weight": weight}, path)
    return path


# command -> exit status -> the arguments that end with it (built in tmp_path)
EXIT_CASES: dict[str, dict[int, Callable[[Path], list[object]]]] = {
    "convert": {
        0: lambda t: ["convert", FIXTURES / "tiny.vec", "-o", t / "ok.pth", "-q"],
        1: lambda t: ["convert", FIXTURES / "bad" / "short-row.txt", "-o", t / "bad.pth"],
        2: lambda t: ["convert", FIXTURES / "tiny.vec", "--limit", "-1"],
    },
    "info": {
        0: lambda t: ["info", FIXTURES / "tiny.vec"],
        1: lambda t: ["info", FIXTURES / "bad" / "short-row.txt"],
        2: lambda t: ["info", FIXTURES / "tiny.vec", "--format", "nope"],
    },
    "check-frozen": {
        0: lambda t: ["check-frozen", "--model", _saved_model(t, False), "--vectors", converted(t)],
        1: lambda t: ["check-frozen", "--model", _saved_model(t, True), "--vectors", converted(t)],
        2: lambda t: ["check-frozen", "--model", FIXTURES / "tiny.vec"],
    },
    "export": {
        0: lambda t: ["export", FIXTURES / "tiny.vec", "-o", t / "x.bin", "-q"],
        1: lambda t: ["export", FIXTURES / "bad" / "short-row.txt", "-o", t / "x.vec"],
        2: lambda t: ["export", FIXTURES / "tiny.vec", "-o", t / "x.unknown-suffix"],
    },
    "neighbors": {
        0: lambda t: ["neighbors", FIXTURES / "tiny.vec", vecload.load(FIXTURES / "tiny.vec").tokens[0]],
        1: lambda t: ["neighbors", FIXTURES / "bad" / "short-row.txt", "the"],
        2: lambda t: ["neighbors", FIXTURES / "tiny.vec", "the", "-n", "0"],
    },
    "eval": {
        0: lambda t: ["eval", datapath("lee_fasttext.vec"), "--no-analogies", "-q"],
        1: lambda t: ["eval", FIXTURES / "bad" / "short-row.txt"],
        2: lambda t: ["eval", FIXTURES / "tiny.vec", "--restrict-vocab", "0"],
    },
}
# the library call each command makes, interrupted by Ctrl-C for the 130 case
INTERRUPTED = {"convert": ("vecload.conversion", "convert"), "info": ("vecload.describe", "peek"),
               "check-frozen": ("vecload.saved_check", "check_saved_model"), "export": ("vecload.exporter", "export"),
               "neighbors": ("vecload.exporter", "open_table"), "eval": ("vecload.exporter", "open_table")}
MISSING = [["convert", "/nonexistent/v.txt"], ["convert", FIXTURES / "tiny.vec", "--vocab", "/nonexistent/v.txt"],
           ["info", "/nonexistent/v.txt"],
           ["check-frozen", "--model", "/nonexistent/m.pt", "--vectors", FIXTURES / "tiny.vec"],
           ["export", "/nonexistent/v.txt", "-o", "-", "--format", "word2vec"], ["neighbors", "/nonexistent/v.txt", "the"],
           ["eval", "/nonexistent/v.txt"]]


def test_the_exit_status_table_covers_every_command() -> None:
    """Every command `vecload --help` lists has its row in each table below."""
    assert set(EXIT_CASES) == set(INTERRUPTED) == {args[0] for args in MISSING} == set(main.commands)


@pytest.mark.parametrize(("command", "status"), [(c, s) for c in EXIT_CASES for s in (0, 1, 2)])
def test_exit_status_0_done_1_bad_data_2_bad_usage(tmp_path: Path, command: str, status: int) -> None:
    """Each command exits 0 when done, 1 on bad data (one `Error:` line), 2 on bad usage; never a traceback."""
    code, stdout, stderr = run(*EXIT_CASES[command][status](tmp_path))
    assert code == status, (stdout, stderr)
    assert "Traceback" not in stdout + stderr
    if status == 1 and command != "check-frozen":
        assert stderr.startswith("Error: ") and len(stderr.splitlines()) == 1
    if status == 2:
        assert "Usage: " in stderr and "Error: " in stderr


@pytest.mark.parametrize("args", MISSING, ids=lambda args: " ".join(str(a) for a in args[:3:2]))
def test_a_missing_input_is_exit_1_for_every_command(args: list[object]) -> None:
    """A missing input file, whichever option names it, is one `Error:` line and exit 1 (no usage block)."""
    code, stdout, stderr = run(*args)
    assert code == 1 and stdout == ""
    assert re.fullmatch(r"Error: /nonexistent/\S+: .*(no such file|No such file or directory).*\n", stderr), stderr


@pytest.mark.parametrize("command", sorted(INTERRUPTED))
def test_ctrl_c_is_exit_130_and_says_nothing_was_written_only_where_writing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    """Ctrl-C exits 130 everywhere; only convert, which writes, says that nothing was written."""
    module, name = INTERRUPTED[command]

    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(f"{module}.{name}", interrupt)
    code, _, stderr = run(*EXIT_CASES[command][0](tmp_path))
    assert code == 130
    assert stderr == ("interrupted; nothing was written\n" if command in ("convert", "export") else "interrupted\n")


# --- 2. empty is an error ---------------------------------------------------------------------------------


def test_empty_results_are_refused_with_the_reason(tmp_path: Path) -> None:
    """--limit 0 (usage, 2), an empty --vocab and a '0 300' header (data, 1) are refused; nothing is written."""
    code, _, stderr = run("convert", FIXTURES / "tiny.vec", "-o", tmp_path / "a.pth", "--limit", "0")
    assert code == 2 and "Invalid value for '--limit': 0 reads no rows, and an empty table is refused" in stderr
    empty = tmp_path / "empty-vocab.txt"
    empty.write_text("")
    code, _, stderr = run("convert", FIXTURES / "tiny.vec", "--vocab", empty, "-o", tmp_path / "b.pth")
    assert code == 1 and stderr == f"Error: {empty}: the task vocabulary is empty (no tokens), so there is nothing " \
                                   f"to align; an aligned table would hold only the specials\n"
    zero = tmp_path / "zero.vec"
    zero.write_bytes(b"0 300\n")
    code, _, stderr = run("convert", zero, "-o", tmp_path / "c.pth")
    assert code == 1 and stderr == (f"Error: {zero}: no rows to convert, so nothing was written (its header says "
                                    f"0 300: no rows of 300 values)\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty-vocab.txt", "zero.vec"]


def test_library_refuses_to_convert_or_align_nothing(tmp_path: Path) -> None:
    """vecload.convert(limit=0) and align([]) raise; vecload.load(limit=0) still returns the exact (empty) table."""
    with pytest.raises(VecloadError, match=r"tiny\.vec: no rows to convert, so nothing was written; limit=0 asks "
                                           r"for none; give a limit of at least 1"):
        vecload.convert(FIXTURES / "tiny.vec", tmp_path / "e.pth", limit=0)
    with pytest.raises(VecloadError, match=r"<list>: the task vocabulary is empty"):
        vecload.align(FIXTURES / "tiny.vec", [])
    assert list(tmp_path.iterdir()) == []
    assert tuple(vecload.load(FIXTURES / "tiny.vec", limit=0).vectors.shape) == (0, 3)


# --- 3. data problems on stderr, --strict -------------------------------------------------------------------

GOOD = b"the 1 2 3\nof 4 5 6\n"
# problem -> (file, lenient flags, the stderr line with -q, what --strict says)
PROBLEMS = {
    "duplicates": (GOOD + b"the 7 8 9\n", [],
                   "warning: 1 repeated token (dropped, the first row of each kept): line 3 'the'",
                   r"p\.txt:3: duplicate token 'the' \(first at line 1\); --duplicates first keeps the first"),
    "nonfinite": (GOOD + b"and nan 1 2\n", [],
                  "warning: 1 row with NaN or Inf values (kept): line 3 'and'",
                  r"p\.txt:3: a value is NaN or infinite; --nonfinite keep accepts it"),
    "repairs": (GOOD + b"caf\xe9 1 2 3\n", ["--unicode-errors", "replace"],
                "warning: 1 token that was not UTF-8 (repaired): line 3 'caf\ufffd'",
                r"p\.txt:3: the token is not valid UTF-8 .*; --unicode-errors replace or --unicode-errors ignore "
                r"repairs it"),
    "bad rows": (GOOD + b"a 1 2 3\nb 1 2\nc 1 2 3\n", ["--bad-rows", "skip"],
                 "skipped 1 bad rows (lines 4)",
                 r"p\.txt:4: 2 values, expected 3"),
}


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_each_data_problem_is_said_on_stderr_even_quiet_and_refused_with_strict(tmp_path: Path, problem: str) -> None:
    """One stderr line per problem (count and first lines) with -q, exit 0; --strict refuses it, exit 1."""
    data, flags, line, refusal = PROBLEMS[problem]
    src = tmp_path / "p.txt"
    src.write_bytes(data)
    code, stdout, stderr = run("convert", src, "-o", tmp_path / "ok.pth", "-q", *flags)
    assert (code, stdout, stderr) == (0, "", line + "\n")
    code, _, stderr = run("convert", src, "-o", tmp_path / "strict.pth", "--strict")
    assert code == 1 and re.fullmatch(f"Error: .*{refusal}.*\n", stderr), stderr
    assert not (tmp_path / "strict.pth").exists()
    code, _, stderr = run("info", src, "--strict")
    assert code == 1 and re.fullmatch(f"Error: .*{refusal}.*\n", stderr), stderr
    if flags:  # an explicit leniency beside --strict is a contradiction: bad usage
        code, _, stderr = run("convert", src, "-o", tmp_path / "c.pth", "--strict", *flags)
        assert code == 2 and f"--strict refuses every data problem; it cannot go with {' '.join(flags)}" in stderr


def test_strict_refuses_repeated_task_tokens(tmp_path: Path) -> None:
    """--strict also refuses --vocab-duplicates first; --vocab-duplicates first alone is said on stderr."""
    vocab = tmp_path / "v.txt"
    vocab.write_text("the\nof\nthe\n", encoding="utf-8")
    code, _, stderr = run("convert", FIXTURES / "tiny.vec", "--vocab", vocab, "-o", tmp_path / "a.pth", "-q",
                          "--vocab-duplicates", "first")
    assert (code, stderr) == (0, "warning: 1 repeated task token (dropped, the first kept)\n")
    code, _, stderr = run("convert", FIXTURES / "tiny.vec", "--vocab", vocab, "-o", tmp_path / "b.pth", "--strict")
    assert code == 1 and stderr.endswith("; remove it, or pass --vocab-duplicates first to keep the first\n")


# --- 4. one voice -------------------------------------------------------------------------------------------


def test_messages_name_flags_in_the_cli_and_arguments_in_python(tmp_path: Path) -> None:
    """The same error reads `--force` on the command line and `force=True` from Python."""
    out = converted(tmp_path)
    code, _, stderr = run("convert", FIXTURES / "tiny.vec", "-o", out)
    assert code == 1 and stderr == f"Error: {out}: already exists; pass --force to overwrite it\n"
    with pytest.raises(OutputExistsError) as err:
        vecload.convert(FIXTURES / "tiny.vec", out)
    assert str(err.value) == f"{out}: already exists; pass force=True to overwrite it"
    code, _, stderr = run("convert", out)
    assert stderr == f"Error: {out}: is already a converted file, nothing to convert; vecload info reads it as it is\n"
    with pytest.raises(VecloadError, match=r"nothing to convert; vecload\.load\(\) reads it as it is$"):
        vecload.convert(out)
    cut = tmp_path / "cut.vec"
    cut.write_bytes(b"5 3\na 1 2 3\nb 1 2 3\nc 1 2 3\n")
    code, _, stderr = run("convert", cut, "-o", tmp_path / "cut.pth")
    assert code == 1 and stderr.endswith("(with head?), --limit 3 reads the 3 rows present\n")


def test_every_option_an_error_names_has_a_cli_spelling() -> None:
    """Each Option(...) the library puts in a message is in the CLI's one table of wording."""
    named = set()
    for path in (ROOT / "vecload").rglob("*.py"):
        named |= set(re.findall(r'Option\("([\w.]+)"', path.read_text(encoding="utf-8")))
    assert {"force", "unicode_errors", "limit", "duplicates", "nonfinite", "vecload.load"} <= named
    assert named <= set(cli._CLI_TERMS)


def test_human_output_never_shows_none(tmp_path: Path) -> None:
    """info's text output leaves out absent values (no `member: None`, `compression: None`)."""
    for args in (["info", FIXTURES / "tiny.vec"], ["info", FIXTURES / "tiny.vec", "--full"],
                 ["info", converted(tmp_path)]):
        code, stdout, _ = run(*args)
        assert code == 0 and "None" not in stdout and "null" not in stdout, stdout


def test_an_unreadable_input_does_not_say_nothing_was_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A permission error on the source names the source and its reason, nothing about writing."""
    import vecload.formats

    src = str(FIXTURES / "tiny.vec")

    def refuse(path: object, member: object = None, max_bytes: object = None) -> None:
        raise PermissionError(13, "Permission denied", src)

    monkeypatch.setattr(vecload.formats, "open_source", refuse)
    code, _, stderr = run("convert", src, "-o", tmp_path / "x.pth")
    assert (code, stderr) == (1, f"Error: {src}: Permission denied\n")


# --- 5. conventions -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", sorted(EXIT_CASES))
def test_every_command_has_quiet_json_and_ends_its_help_with_examples(command: str) -> None:
    """-q/--quiet and --json everywhere, -f/--force where files are written, two or three examples last."""
    code, stdout, _ = run(command, "-h")
    assert code == 0
    assert "-q, --quiet" in stdout and "--json" in stdout
    assert ("-f, --force" in stdout) == (command in ("convert", "export"))
    examples = stdout.rstrip().split("Examples:\n")[-1].splitlines()
    assert 2 <= len(examples) <= 3 and all(line.startswith(f"    vecload {command}") for line in examples)


def test_convert_json_prints_the_parse_report(tmp_path: Path) -> None:
    """convert --json prints one JSON object: what was written and the parse report."""
    src = tmp_path / "p.txt"
    src.write_bytes(GOOD + b"the 7 8 9\n")
    code, stdout, stderr = run("convert", src, "-o", tmp_path / "p.pth", "--json")
    assert code == 0 and stderr.startswith("warning: 1 repeated token")
    document = json.loads(stdout)
    assert (document["output"], document["format"], document["count"], document["dim"]) == (
        str(tmp_path / "p.pth"), "glove", 2, 3)
    assert document["report"]["rows_read"] == 3 and document["report"]["duplicates"] == 1
    assert document["problems"] == [stderr[len("warning: "):].rstrip("\n")]


def test_check_frozen_json_and_quiet(tmp_path: Path) -> None:
    """check-frozen --model --json gives the rows that changed; -q prints nothing, the status says it."""
    model, vectors = _saved_model(tmp_path, True), converted(tmp_path)
    code, stdout, _ = run("check-frozen", "--model", model, "--vectors", vectors, "--json")
    document = json.loads(stdout)
    assert code == 1 and document["changed"] == [1] and document["key"] == "emb.weight" and not document["untouched"]
    assert run("check-frozen", "-q", "--model", model, "--vectors", vectors)[:2] == (1, "")


# --- 6. a quick look ----------------------------------------------------------------------------------------


def test_info_takes_a_quick_look_and_full_reads_every_row(tmp_path: Path) -> None:
    """A gzip with a bad row deep inside: info reads the header and first rows (and says so); --full finds it."""
    rows = [f"w{i} {i % 7}.5 1.25 -2.0\n" for i in range(20000)]
    rows[15000] = "broken 1.0 2.0\n"
    src = tmp_path / "big.txt.gz"
    src.write_bytes(gzip.compress(("20000 3\n" + "".join(rows)).encode()))
    code, stdout, _ = run("info", src)
    assert code == 0
    assert stdout.splitlines()[2:8] == [
        "look: quick: the header and the first 10 rows only (--full reads every row)", "format: word2vec",
        "compression: gzip", f"size: {src.stat().st_size}", "count: 20000", "dim: 3"]
    code, _, stderr = run("info", src, "--full")
    assert code == 1 and stderr == f"Error: {src}:15002: 2 values, expected 3 (set by the header)\n"


def test_quick_look_estimates_a_headerless_count_and_counts_a_short_file() -> None:
    """GloVe has no header: a file read to its end is counted; a longer uncompressed one is estimated."""
    whole = peek(FIXTURES / "tiny.glove.txt")
    assert (whole["look"], whole["count"], whole["count_estimate"]) == ("quick: the whole file, 4 rows", 4, None)
    path = FIXTURES / "native" / "small.glove.txt"
    sample = peek(path, rows=2)
    assert sample["count"] is None and sample["count_estimate"] == path.read_bytes().count(b"\n")
    assert sample["first_tokens"] == vecload.load(path, limit=2).tokens


def test_quick_look_does_not_import_torch() -> None:
    """info's quick look needs no torch (importing it alone takes about two seconds): it stays out."""
    code = ("import sys\nfrom vecload.cli import main\n"
            f"main(['info', {str(FIXTURES / 'tiny.w2v.bin.bz2')!r}], standalone_mode=False)\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env=child_env())
    assert done.returncode == 0, done.stderr
    assert "look: quick: the whole file, 4 rows\nformat: word2vec-binary\ncompression: bz2\n" in done.stdout


def test_ctrl_c_while_the_interpreter_exits_prints_no_traceback(tmp_path: Path) -> None:
    """A Ctrl-C after the command finished (in an exit handler) changes nothing: no traceback, status 0,
    the file written (found by the random-signal test: 'Exception ignored in atexit callback')."""
    out = tmp_path / "t.pth"
    code = ("import atexit, os, signal, sys\n"
            "atexit.register(lambda: os.kill(os.getpid(), signal.SIGINT))\n"
            "from vecload.cli import run\n"
            f"sys.argv = ['vecload', 'convert', {str(FIXTURES / 'tiny.glove.txt')!r}, '-o', {str(out)!r}, '-q']\n"
            "run()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env=child_env())
    assert (done.returncode, done.stderr) == (0, "") and vecload.load(out).tokens == ["the", "of", "café", "u.s."]
