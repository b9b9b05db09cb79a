"""The ``vecload`` command: a thin shell over the library. Each command parses options, calls one
library function and reports; library errors become one-paragraph messages with exit status 1."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from vecload import __version__
from vecload.errors import VecloadError


def _errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into click errors (exit 1) and Ctrl-C into a short message (exit 130).

    The library's log messages (a stale temporary removed, a write interrupted by a signal) are printed on
    stderr while the command runs.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _library_messages():
            try:
                return func(*args, **kwargs)
            except VecloadError as exc:
                raise click.ClickException(str(exc)) from exc
            except OSError as exc:  # a missing or unreadable file, a name too long
                where = f"{exc.filename}: " if exc.filename else ""
                raise click.ClickException(f"{where}{exc.strerror or exc}") from exc
            except KeyboardInterrupt as exc:
                written = getattr(exc, "written", None)  # set when the output was already complete
                click.echo(f"interrupted after {written} was written completely" if written
                           else "interrupted; nothing was written", err=True)
                sys.exit(130)

    return wrapper


class _Echo(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        click.echo(record.getMessage(), err=True)


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


_READ_OPTIONS = [
    click.option("--format", "fmt", type=click.Choice(["glove", "word2vec", "word2vec-binary"]),
                 help="Read as this format instead of detecting it."),
    click.option("--engine", type=click.Choice(["native", "gensim"]), default=None,
                 help="Which reader parses the file (default: native)."),
    click.option("--member", default=None, help="The member to read from a zip or tar archive (or SRC as archive.zip:member, archive.tar.gz:member)."),
    click.option("--limit", type=click.IntRange(min=0), default=None, help="Read only the first N rows."),
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
]


def _read_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_READ_OPTIONS):
        func = option(func)
    return func


_ALIGN_OPTIONS = [
    click.option("--vocab", type=click.Path(exists=True, dir_okay=False), default=None,
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vecload")
def main() -> None:
    """Pretrained word vectors (GloVe, word2vec, fastText .vec) as PyTorch embeddings."""


@main.command()
@click.argument("src")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False), default=None,
              help="The converted file to write (default: beside SRC, glove.6B.50d.txt -> glove.6B.50d.pth).")
@click.option("--force", is_flag=True, help="Overwrite existing outputs (never the source).")
@click.option("--vocab-out", type=click.Path(dir_okay=False), default=None,
              help="Also write the tokens to this file, one per line (JSON lines if a token holds a line break "
                   "or is empty), for tools outside vecload.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
@_read_options
@_align_options
@_errors
def convert(src: str, out: str | None, force: bool, vocab_out: str | None, quiet: bool, fmt: str | None,
            engine: str | None, member: str | None, limit: int | None, unicode_errors: str, duplicates: str,
            nonfinite: str, bad_rows: str, max_bytes: int | None, **align: Any) -> None:
    """Convert SRC to one OUT.pth: the float32 weight tensor, with its tokens and metadata inside.

    torch.load(OUT.pth, weights_only=True) returns the bare tensor; vecload.load(OUT.pth) returns the
    tokens too. With --vocab, keep only the task vocabulary's rows, in its order, after the specials, and
    report the coverage."""
    from vecload.vectors import convert_with_meta

    if align["vocab"] is not None:
        _convert_aligned(src, out, force, vocab_out, quiet, fmt, engine, member, limit, unicode_errors,
                         duplicates, nonfinite, bad_rows, max_bytes, **align)
        return
    written, meta = convert_with_meta(src, out, force=force, vocab_out=vocab_out, format=fmt, engine=engine,
                                      member=member, limit=limit, unicode_errors=unicode_errors, duplicates=duplicates,
                                      nonfinite=nonfinite, progress=_progress(quiet), **_bad_rows_option(bad_rows),
                                      **_bound(max_bytes))
    _echo_skipped(meta)
    if not quiet:
        click.echo(f"read {src} as {meta['format']}: {meta['count']} x {meta['dim']}")
        click.echo(f"  {_report_line(meta)}")
        _echo_written(written, meta, vocab_out, "tokens, source sha256, fingerprints")


def _echo_written(written: Path, meta: dict[str, Any], vocab_out: str | None, inside: str) -> None:
    click.echo(f"wrote {written} ({Path(written).stat().st_size:,} bytes: float32 [{meta['count']}, {meta['dim']}], "
               f"{inside})")
    if vocab_out:
        click.echo(f"wrote {vocab_out} ({meta['count']:,} tokens in row order, one per line; JSON lines if a "
                   f"token holds a line break or is empty)")


def _convert_aligned(src: str, out: str | None, force: bool, vocab_out: str | None, quiet: bool, fmt: str | None, engine: str | None,
                     member: str | None, limit: int | None, unicode_errors: str, duplicates: str, nonfinite: str,
                     bad_rows: str, max_bytes: int | None, vocab: str, vocab_layout: str, vocab_duplicates: str,
                     specials: str, pad: str | None,
                     lowercase: bool, normalizers: tuple[str, ...], oov: str, seed: int, report_json: str | None,
                     verify_source: bool) -> None:
    """``convert --vocab``: align, write, and print the coverage report."""
    from vecload.alignment import convert_aligned
    from vecload.coverage import CoverageReport

    special_list = [t for t in specials.split(",") if t] if specials else []
    pad_token = ("<pad>" if "<pad>" in special_list else None) if pad is None else (pad or None)
    lookup = ["exact", *(["lower"] if lowercase else []), *normalizers]
    written, meta = convert_aligned(src, vocab, out, force=force, report_json=report_json, vocab_out=vocab_out,
                                    member=member, format=fmt,
                                    engine=engine, limit=limit, unicode_errors=unicode_errors, duplicates=duplicates,
                                    nonfinite=nonfinite, layout=vocab_layout, vocab_duplicates=vocab_duplicates,
                                    specials=special_list, pad=pad_token, lookup=lookup, oov=oov, seed=seed,
                                    verify_source=verify_source, progress=_progress(quiet),
                                    **_bad_rows_option(bad_rows), **_bound(max_bytes))
    _echo_skipped(meta)
    if quiet:
        return
    click.echo(f"read {src} as {meta['format']}: {_report_line(meta)}")
    click.echo(CoverageReport.from_dict(meta["align"]["coverage"]).summary())
    check = meta["align"]["self_check"]
    click.echo(f"self-check: {check['rows_compared']} rows equal to the source bit for bit"
               + (f" (re-read: {check['source_reread']})" if check["source_reread"] else ""))
    _echo_written(written, meta, vocab_out, "tokens, origins, coverage, source sha256")
    if report_json:
        click.echo(f"wrote {report_json} (coverage report)")


@main.command()
@click.argument("path")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object, for scripts.")
@click.option("--verify", is_flag=True, help="For a converted file, hash every byte of the tensor.")
@_read_options
@_errors
def info(path: str, as_json: bool, verify: bool, fmt: str | None, engine: str | None, member: str | None,
         limit: int | None, unicode_errors: str, duplicates: str, nonfinite: str, bad_rows: str,
         max_bytes: int | None) -> None:
    """Describe a source or converted file: format, count, dim, sha256, first tokens, norms."""
    from vecload.inspect import describe

    details = describe(path, verify=verify, format=fmt, engine=engine, member=member, limit=limit,
                       unicode_errors=unicode_errors, duplicates=duplicates, nonfinite=nonfinite,
                       max_bytes=max_bytes, **_bad_rows_option(bad_rows))
    if as_json:
        click.echo(json.dumps(details, ensure_ascii=False, indent=2))
        return
    for key, value in details.items():
        if isinstance(value, dict):
            click.echo(f"{key}:")
            for sub, subvalue in value.items():
                click.echo(f"  {sub}: {subvalue}")
        else:
            click.echo(f"{key}: {value}")


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


def _echo_skipped(meta: dict[str, Any]) -> None:
    """Say on stderr, even with --quiet, that bad rows were skipped: data was left out on request."""
    from vecload.formats.table import ParseReport

    report = ParseReport(**meta.get("report", {}))
    if report.bad_rows:
        click.echo(report.skipped(_unit(meta)), err=True)


@main.command("check-frozen")
@click.option("--model", "model_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A saved state_dict to check (loaded with weights_only=True); needs --vectors.")
@click.option("--vectors", "vectors_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="The converted (or source) vectors the model was built from.")
@_errors
def check_frozen(model_path: str | None, vectors_path: str | None) -> None:
    """Show which ways of freezing an embedding keep the table bit-identical, per optimizer and max_norm.

    With --model and --vectors: report whether the model's pretrained rows still equal the vectors
    (exit status 1 if they changed or cannot be found).
    """
    from vecload import checks

    if (model_path is None) != (vectors_path is None):
        raise click.UsageError("--model and --vectors go together")
    if model_path is None:
        click.echo(checks.format_matrix(checks.check_frozen_matrix()))
        return
    result = checks.check_saved_model(model_path, vectors_path)
    click.echo(checks.format_saved(result, model_path, vectors_path))
    if not result.untouched:
        sys.exit(1)
