"""``vecload convert``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from vecload.cli._align import _align_options, _convert_aligned
from vecload.cli._options import _read_options
from vecload.cli._report import _bad_rows_option, _bound, _echo_problems, _problems, _report_line
from vecload.cli._shell import _errors, _out, _progress, _strict, examples, main

@main.command(epilog=examples(
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
    from vecload.conversion import convert
    from vecload.store import read_meta

    if out == "-":
        raise click.UsageError("a converted file is a binary .pth and is not written to standard output; "
                               "name a file with -o")
    options = _strict(options, strict)
    read = {"unicode_errors": options.pop("unicode_errors"), "duplicates": options.pop("duplicates"),
            "nonfinite": options.pop("nonfinite"), **_bad_rows_option(options.pop("bad_rows")), **_bound(max_bytes)}
    if options["vocab"] is not None:
        written, meta = _convert_aligned(src, out, force, vocab_out, quiet, fmt, engine, member, limit, read, **options)
    else:
        written = convert(src, out, force=force, vocab_out=vocab_out, format=fmt, engine=engine, member=member,
                          limit=limit, progress=_progress(quiet), **read)
        meta = read_meta(written)
    _echo_problems(meta)
    if as_json:
        _out(json.dumps(_written_json(written, meta, vocab_out, options.get("report_json")), ensure_ascii=False,
                        indent=2))
    elif not quiet:
        _echo_summary(src, written, meta, vocab_out, options.get("report_json"))


def _echo_summary(src: str, written: Path, meta: dict[str, Any], vocab_out: str | None, report_json: str | None) -> None:
    """The human summary of a conversion, on stdout."""
    from vecload.alignment.coverage import CoverageReport

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


