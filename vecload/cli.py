"""The ``vecload`` command: a thin shell over the library. Each command parses options, calls one
library function and reports.

Every command ends with one of these exit statuses (tested in ``tests/test_cli_conventions.py``):

====  =====================================================================================================
0     done (also when whoever reads stdout stops early: ``vecload info x.pth | head -1``)
1     bad data or a file problem: a malformed or missing input, an existing output, rows that changed
2     bad usage: an unknown option, a value out of range, options that contradict each other
130   interrupted with Ctrl-C
====  =====================================================================================================

Library errors name their fixes as options (:class:`vecload.errors.Option`); :data:`_CLI_TERMS` spells them
as this command's flags, so messages read ``pass --force`` here and ``pass force=True`` in Python.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from vecload import __version__
from vecload.errors import Option, VecloadError

#: The one table of wording that differs between the library and the command line: library names (as
#: errors carry them) -> their command-line spelling, ``{}`` standing for the value.
_CLI_TERMS: dict[str, str] = {
    "force": "--force",
    "unicode_errors": "--unicode-errors {}",
    "limit": "--limit {}",
    "format": "--format {}",
    "engine": "--engine {}",
    "member": "--member {}",
    "duplicates": "--duplicates {}",
    "nonfinite": "--nonfinite {}",
    "bad_rows": "--bad-rows {}",
    "max_bytes": "--max-bytes {}",
    "vocab_duplicates": "--vocab-duplicates {}",
    "layout": "--vocab-layout {}",
    "oov": "--oov {}",
    "vecload.load": "vecload info",
}

#: What --strict sets: every data problem becomes an error.
_STRICT = {"unicode_errors": "strict", "duplicates": "error", "nonfinite": "error", "bad_rows": "error",
           "vocab_duplicates": "error"}


def _cli_spelling(option: Option) -> str:
    """An option as this command line spells it (``--unicode-errors replace``); unknown names as in Python."""
    term = _CLI_TERMS.get(option.name)
    if term is None:
        return option.python()
    return term.format(option.value) if "{}" in term else term


def _errors(writes: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Turn library errors into one-paragraph messages (exit 1) and Ctrl-C into a short message (exit 130).

    Args:
        writes: The command writes files, so an interruption says whether they were written.

    The library's log messages (a stale temporary removed, a write interrupted by a signal) are printed on
    stderr while the command runs.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _library_messages():
                try:
                    return func(*args, **kwargs)
                except VecloadError as exc:
                    raise click.ClickException(exc.render(_cli_spelling)) from exc
                except OSError as exc:  # a missing or unreadable file, a name too long
                    where = f"{exc.filename}: " if exc.filename else ""
                    raise click.ClickException(f"{where}{exc.strerror or exc}") from exc
                except KeyboardInterrupt as exc:
                    written = getattr(exc, "written", None)  # set when the output was already complete
                    if written:
                        message = f"interrupted after {written} was written completely"
                    else:
                        message = "interrupted; nothing was written" if writes else "interrupted"
                    _out(message, err=True)
                    sys.exit(130)

        return wrapper

    return decorate


def _out(text: str = "", err: bool = False) -> None:
    """Print a line on stdout (or stderr); when the reader has gone (``| head -1``), stop printing quietly.

    The work a command does never depends on its output, so a closed pipe ends the output, not the
    command: the rest of its output goes to /dev/null and its exit status is the one the work deserves.
    """
    try:
        click.echo(text, err=err)
    except BrokenPipeError:
        _discard(sys.stderr if err else sys.stdout)


def _discard(stream: Any) -> None:
    """Point a standard stream at /dev/null, so that nothing (not even the flush at exit) writes to the
    closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (tests' CliRunner): nothing to redirect
        pass


class _Echo(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        _out(record.getMessage(), err=True)


class _library_messages:
    """Print vecload's warnings on stderr for the duration of one command (the CLI owns its process)."""

    def __enter__(self) -> None:
        self.logger = logging.getLogger("vecload")
        self.handler = _Echo(logging.WARNING)
        self.logger.addHandler(self.handler)

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self.handler)


def _progress(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


def _strict(options: dict[str, Any], strict: bool) -> dict[str, Any]:
    """The read options with --strict applied: every data problem an error; a lenient flag beside it is a
    usage error (exit 2)."""
    if not strict:
        return options
    context = click.get_current_context()
    for name, value in _STRICT.items():
        if name not in options:
            continue
        given = context.get_parameter_source(name) not in (None, click.core.ParameterSource.DEFAULT)
        if given and options[name] != value:
            raise click.UsageError(f"--strict refuses every data problem; it cannot go with "
                                   f"{_CLI_TERMS[name].format(options[name])}")
        options[name] = value
    return options


def _positive_limit(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    if value is not None and value < 1:
        reason = "reads no rows, and an empty table is refused" if value == 0 else "is not a number of rows"
        raise click.BadParameter(f"{value} {reason}; give at least 1")
    return value


_READ_OPTIONS = [
    click.option("--format", "fmt", type=click.Choice(["glove", "word2vec", "word2vec-binary"]),
                 help="Read as this format instead of detecting it."),
    click.option("--engine", type=click.Choice(["native", "gensim"]), default=None,
                 help="Which reader parses the file (default: native)."),
    click.option("--member", default=None, help="The member to read from a zip or tar archive (or SRC as archive.zip:member, archive.tar.gz:member)."),
    click.option("--limit", type=int, default=None, callback=_positive_limit, metavar="N",
                 help="Read only the first N rows (N >= 1)."),
    click.option("--unicode-errors", type=click.Choice(["strict", "replace", "ignore"]), default="strict",
                 help="What to do with tokens that are not valid UTF-8."),
    click.option("--duplicates", type=click.Choice(["first", "error"]), default="first",
                 help="Keep the first row of a repeated token (and report the rest), or refuse the file."),
    click.option("--nonfinite", type=click.Choice(["keep", "error"]), default="keep",
                 help="Keep rows with NaN/Inf values (and report them), or refuse the file."),
    click.option("--bad-rows", type=click.Choice(["error", "skip"]), default="error",
                 help="Refuse a malformed row (wrong number of values, a value that is not a number, a token "
                      "that is not UTF-8), or skip such rows and report them (native engine; --limit counts them)."),
    click.option("--max-bytes", type=click.IntRange(min=1), default=None,
                 help="Refuse a compressed stream past N decompressed bytes (default: past the larger of 256 MiB "
                      "and 100 times the compressed bytes read)."),
    click.option("--strict", is_flag=True,
                 help="Refuse every data problem: repeated tokens, rows with NaN/Inf, tokens that are not UTF-8, "
                      "malformed rows (and repeated task tokens with --vocab). Blank lines and a BOM are no problem."),
]


def _read_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_READ_OPTIONS):
        func = option(func)
    return func


_ALIGN_OPTIONS = [
    click.option("--vocab", type=click.Path(dir_okay=False), default=None,
                 help="Align to this task vocabulary: one token per line, or TOKEN<TAB>COUNT / TOKEN COUNT lines."),
    click.option("--vocab-layout", type=click.Choice(["auto", "lines", "counts"]), default="auto",
                 help="How to read --vocab (auto: counts when every line has them)."),
    click.option("--vocab-duplicates", type=click.Choice(["error", "first"]), default="error",
                 help="Refuse a repeated task token, or keep its first entry (and report the rest)."),
    click.option("--specials", default="<pad>,<unk>", show_default=True,
                 help="Comma-separated tokens placed first ('' for none)."),
    click.option("--pad", default=None, help="The special with a zero row (default: <pad> when it is a special; '' for none)."),
    click.option("--lowercase", is_flag=True, help="When the exact token is missing, match it case-insensitively (first source token in file order)."),
    click.option("--normalize", "normalizers", multiple=True,
                 help="Another lookup step, tried after those before it: digits, casefold, strip_accents, nfkc, "
                      "or several joined with + (repeatable)."),
    click.option("--oov", type=click.Choice(["zeros", "mean", "normal", "uniform"]), default="normal", show_default=True,
                 help="Initialisation of rows the source lacks (mean/normal/uniform: per-dimension pretrained statistics)."),
    click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed for --oov normal/uniform."),
    click.option("--report-json", type=click.Path(dir_okay=False), default=None, help="Also write the coverage report as JSON."),
    click.option("--verify-source", is_flag=True, help="Self-check: also read the sampled rows from SRC a second time."),
]


def _align_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_ALIGN_OPTIONS):
        func = option(func)
    return func


def _examples(*lines: str) -> str:
    """A help epilog of examples, kept line by line (click rewraps paragraphs without the \\b marker)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


_HELP = {"help_option_names": ["-h", "--help"]}


@click.group(context_settings=_HELP, epilog=_examples(
    "vecload convert glove.6B.50d.txt            # -> glove.6B.50d.pth",
    "vecload info glove.6B.50d.txt.gz            # a quick look: format, count, dim",
    "vecload check-frozen                        # which ways of freezing hold",
))
@click.version_option(__version__, prog_name="vecload")
def main() -> None:
    """Pretrained word vectors (GloVe, word2vec, fastText .vec) as PyTorch embeddings.

    Exit status: 0 done, 1 bad data (or a file problem), 2 bad usage, 130 interrupted.
    """


def run() -> None:
    """The ``vecload`` command: :func:`main`, then Ctrl-C ignored while the interpreter shuts down.

    By then the work is done (or refused, and said so); a Ctrl-C landing in an exit handler would only
    print a traceback over a finished command. Only the command does this, never the library.
    """
    try:
        main()
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@main.command(epilog=_examples(
    "vecload convert glove.6B.50d.txt                     # -> glove.6B.50d.pth",
    "vecload convert glove.6B.zip:glove.6B.300d.txt -o glove300.pth --strict",
    "vecload convert lee_fasttext.vec --vocab vocab.txt --lowercase --json",
))
@click.argument("src")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False), default=None,
              help="The converted file to write (default: beside SRC, glove.6B.50d.txt -> glove.6B.50d.pth).")
@click.option("-f", "--force", is_flag=True, help="Overwrite existing outputs (never the source).")
@click.option("--vocab-out", type=click.Path(dir_okay=False), default=None,
              help="Also write the tokens to this file, one per line (JSON lines if a token holds a line break "
                   "or is empty), for tools outside vecload.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary (data problems are still said on stderr).")
@click.option("--json", "as_json", is_flag=True, help="Print what was written and the parse report as one JSON object.")
@_read_options
@_align_options
@_errors(writes=True)
def convert(src: str, out: str | None, force: bool, vocab_out: str | None, quiet: bool, as_json: bool,
            fmt: str | None, engine: str | None, member: str | None, limit: int | None, strict: bool,
            max_bytes: int | None, **options: Any) -> None:
    """Convert SRC to one OUT.pth: the float32 weight tensor, with its tokens and metadata inside.

    torch.load(OUT.pth, weights_only=True) returns the bare tensor; vecload.load(OUT.pth) returns the
    tokens too. With --vocab, keep only the task vocabulary's rows, in its order, after the specials, and
    report the coverage. Data problems (repeated tokens, NaN/Inf rows, repaired tokens, skipped rows) are
    said on stderr, even with -q; --strict refuses them."""
    from vecload.vectors import convert_with_meta

    options = _strict(options, strict)
    read = {"unicode_errors": options.pop("unicode_errors"), "duplicates": options.pop("duplicates"),
            "nonfinite": options.pop("nonfinite"), **_bad_rows_option(options.pop("bad_rows")), **_bound(max_bytes)}
    if options["vocab"] is not None:
        written, meta = _convert_aligned(src, out, force, vocab_out, quiet, fmt, engine, member, limit, read, **options)
    else:
        written, meta = convert_with_meta(src, out, force=force, vocab_out=vocab_out, format=fmt, engine=engine,
                                          member=member, limit=limit, progress=_progress(quiet), **read)
    _echo_problems(meta)
    if as_json:
        _out(json.dumps(_written_json(written, meta, vocab_out, options.get("report_json")), ensure_ascii=False,
                        indent=2))
    elif not quiet:
        _echo_summary(src, written, meta, vocab_out, options.get("report_json"))


def _convert_aligned(src: str, out: str | None, force: bool, vocab_out: str | None, quiet: bool, fmt: str | None,
                     engine: str | None, member: str | None, limit: int | None, read: dict[str, Any], vocab: str,
                     vocab_layout: str, vocab_duplicates: str, specials: str, pad: str | None, lowercase: bool,
                     normalizers: tuple[str, ...], oov: str, seed: int, report_json: str | None,
                     verify_source: bool) -> tuple[Path, dict[str, Any]]:
    """``convert --vocab``: align and write."""
    from vecload.alignment import convert_aligned

    special_list = [t for t in specials.split(",") if t] if specials else []
    pad_token = ("<pad>" if "<pad>" in special_list else None) if pad is None else (pad or None)
    lookup = ["exact", *(["lower"] if lowercase else []), *normalizers]
    return convert_aligned(src, vocab, out, force=force, report_json=report_json, vocab_out=vocab_out,
                           member=member, format=fmt, engine=engine, limit=limit, layout=vocab_layout,
                           vocab_duplicates=vocab_duplicates, specials=special_list, pad=pad_token, lookup=lookup,
                           oov=oov, seed=seed, verify_source=verify_source, progress=_progress(quiet), **read)


def _echo_summary(src: str, written: Path, meta: dict[str, Any], vocab_out: str | None, report_json: str | None) -> None:
    """The human summary of a conversion, on stdout."""
    from vecload.coverage import CoverageReport

    if "align" not in meta:
        _out(f"read {src} as {meta['format']}: {meta['count']} x {meta['dim']}")
        _out(f"  {_report_line(meta)}")
        _echo_written(written, meta, vocab_out, "tokens, source sha256, fingerprints")
        return
    _out(f"read {src} as {meta['format']}: {_report_line(meta)}")
    _out(CoverageReport.from_dict(meta["align"]["coverage"]).summary())
    check = meta["align"]["self_check"]
    _out(f"self-check: {check['rows_compared']} rows equal to the source bit for bit"
         + (f" (re-read: {check['source_reread']})" if check["source_reread"] else ""))
    _echo_written(written, meta, vocab_out, "tokens, origins, coverage, source sha256")
    if report_json:
        _out(f"wrote {report_json} (coverage report)")


def _echo_written(written: Path, meta: dict[str, Any], vocab_out: str | None, inside: str) -> None:
    _out(f"wrote {written} ({Path(written).stat().st_size:,} bytes: float32 [{meta['count']}, {meta['dim']}], "
         f"{inside})")
    if vocab_out:
        _out(f"wrote {vocab_out} ({meta['count']:,} tokens in row order, one per line; JSON lines if a "
             f"token holds a line break or is empty)")


def _written_json(written: Path, meta: dict[str, Any], vocab_out: str | None, report_json: str | None) -> dict[str, Any]:
    """What ``convert --json`` prints: the files written, the table's shape, the parse report (and coverage)."""
    document: dict[str, Any] = {
        "output": str(written), "vocab_out": vocab_out, "report_json": report_json,
        "format": meta["format"], "count": meta["count"], "dim": meta["dim"], "source": meta.get("source"),
        "report": meta.get("report"), "problems": _problems(meta),
    }
    if "align" in meta:
        document["coverage"] = meta["align"]["coverage"]
        document["self_check"] = meta["align"]["self_check"]
    return document


@main.command(epilog=_examples(
    "vecload info glove.6B.50d.txt.gz          # quick look: header and first rows",
    "vecload info glove.6B.50d.txt.gz --full   # read every row: count, sha256, norms, report",
    "vecload info glove.6B.50d.pth --json      # a converted file: provenance and fingerprint",
))
@click.argument("path")
@click.option("--full", is_flag=True, help="For a source, read every row (count, sha256, norms, parse report), "
                                           "with a progress bar; without it, only the header and first rows.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object, for scripts.")
@click.option("--verify", is_flag=True, help="For a converted file, hash every byte of the tensor.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar (data problems are still said on stderr).")
@_read_options
@_errors()
def info(path: str, full: bool, as_json: bool, verify: bool, quiet: bool, fmt: str | None, engine: str | None,
         member: str | None, limit: int | None, strict: bool, max_bytes: int | None, **options: Any) -> None:
    """Describe a source or converted file.

    For a source: by default a quick look (format, compression, file size, the header's count and dim,
    the first tokens) that reads only what it needs; --full reads every row (--limit N, the first N). For
    a converted file: its provenance, fingerprint and norms, from its records."""
    from vecload.inspect import describe, is_converted, peek

    options = _strict(options, strict)
    read = {"format": fmt, "engine": engine, "member": member, "limit": limit, "max_bytes": max_bytes,
            "unicode_errors": options["unicode_errors"], "duplicates": options["duplicates"],
            "nonfinite": options["nonfinite"], **_bad_rows_option(options["bad_rows"])}
    if full or verify or limit is not None or (member is None and is_converted(path)):
        details = describe(path, verify=verify, progress=_progress(quiet) or None, **read)
    else:
        details = peek(path, **read)
    for line in details.get("problems") or []:
        _say_problem(line)
    if as_json:
        _out(json.dumps(details, ensure_ascii=False, indent=2))
        return
    _echo_details(details)


def _echo_details(details: dict[str, Any]) -> None:
    """``key: value`` lines; nested dicts indented; absent (None) values left out."""
    for key, value in details.items():
        if key == "count" and value is None:
            value = "not in a header (GloVe has none); --full counts the rows"
        if value is None or key == "problems":
            continue
        if key == "look" and "whole file" not in value:
            value = f"{value} (--full reads every row)"
        if isinstance(value, dict):
            _out(f"{key}:")
            for sub, subvalue in value.items():
                if subvalue is not None:
                    _out(f"  {sub}: {subvalue}")
        else:
            _out(f"{key}: {value}")


def _bound(max_bytes: int | None) -> dict[str, int]:
    """``max_bytes`` as a read option, only when given (so default reads record no such option)."""
    return {} if max_bytes is None else {"max_bytes": max_bytes}


def _report_line(meta: dict[str, Any]) -> str:
    from vecload.formats.table import ParseReport

    report = ParseReport(**meta.get("report", {}))
    return report.summary(_unit(meta))


def _bad_rows_option(bad_rows: str) -> dict[str, str]:
    """Pass bad_rows only when it is not the default, so converted files record what was asked."""
    return {} if bad_rows == "error" else {"bad_rows": bad_rows}


def _unit(meta: dict[str, Any]) -> str:
    return "byte" if meta.get("format") == "word2vec-binary" else "line"


def _problems(meta: dict[str, Any]) -> list[str]:
    """One line per data problem of a conversion: the parse report's, then repeated task tokens."""
    from vecload.formats.table import ParseReport

    lines = ParseReport(**meta.get("report", {})).problems(_unit(meta))
    repeats = meta.get("align", {}).get("coverage", {}).get("vocab_duplicates", 0)
    if repeats:
        lines.append(f"{repeats} repeated task token{'s' if repeats != 1 else ''} (dropped, the first kept)")
    return lines


def _echo_problems(meta: dict[str, Any]) -> None:
    """Say every data problem on stderr, one line each, even with --quiet: rows were dropped, kept with
    NaN/Inf, repaired or skipped, and a user must not learn that only from a summary line."""
    for line in _problems(meta):
        _say_problem(line)


def _say_problem(line: str) -> None:
    """One data problem on stderr (``skipped N bad rows ...`` says itself; the others are warnings)."""
    _out(line if line.startswith("skipped ") else f"warning: {line}", err=True)


@main.command("check-frozen", epilog=_examples(
    "vecload check-frozen                                       # the matrix (a few seconds)",
    "vecload check-frozen --model model.pt --vectors glove.pth  # were the pretrained rows untouched?",
    "vecload check-frozen -q --model model.pt --vectors glove.pth && echo untouched",
))
@click.option("--model", "model_path", type=click.Path(dir_okay=False), default=None,
              help="A saved state_dict to check (loaded with weights_only=True); needs --vectors.")
@click.option("--vectors", "vectors_path", type=click.Path(dir_okay=False), default=None,
              help="The converted (or source) vectors the model was built from.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object, for scripts.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing; the exit status says it.")
@_errors()
def check_frozen(model_path: str | None, vectors_path: str | None, as_json: bool, quiet: bool) -> None:
    """Show which ways of freezing an embedding keep the table bit-identical, per optimizer and max_norm.

    With --model and --vectors: report whether the model's pretrained rows still equal the vectors
    (exit status 1 if they changed or cannot be found).
    """
    from dataclasses import asdict

    from vecload import freeze_matrix, saved_check

    if (model_path is None) != (vectors_path is None):
        raise click.UsageError("--model and --vectors go together")
    if model_path is None:
        cells = freeze_matrix.check_frozen_matrix()
        if as_json:
            _out(json.dumps([{**asdict(cell), "sound": cell.sound} for cell in cells], indent=2))
        elif not quiet:
            _out(freeze_matrix.format_matrix(cells))
        return
    result = saved_check.check_saved_model(model_path, vectors_path)
    if as_json:
        _out(json.dumps({**asdict(result), "untouched": result.untouched}, indent=2))
    elif not quiet:
        _out(saved_check.format_saved(result, model_path, vectors_path))
    if not result.untouched:
        sys.exit(1)
