"""``vecload export``."""

from __future__ import annotations

import json
import sys

import click

from vecload.cli._options import _positive_limit
from vecload.cli._shell import _cli_spelling, _discard, _errors, _out, _progress, examples, main
from vecload.formats.export import EXPORT_FORMATS, EXPORT_NONFINITE


@main.command(epilog=examples(
    "vecload export glove.6B.50d.pth -o glove.6B.50d.vec.gz      # word2vec text, from the suffix",
    "vecload export glove.6B.50d.pth -o - --format glove | head -3",
    "vecload export glove.6B.50d.pth --format projector -o projector --limit 5000",
))
@click.argument("table")
@click.option("-o", "--output", "out", required=True, type=click.Path(),
              help="The file to write (.txt GloVe, .vec word2vec text, .bin word2vec binary, each optionally "
                   ".gz/.bz2/.xz), '-' for stdout (text formats), or the folder for --format projector.")
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default=None,
              help="The format to write (default: from the output's suffix).")
@click.option("-f", "--force", is_flag=True, help="Overwrite existing outputs (never the source).")
@click.option("--nonfinite", type=click.Choice(EXPORT_NONFINITE), default=EXPORT_NONFINITE[0],
              help="Refuse rows with NaN/Inf (the default), or write them.")
@click.option("--words", type=click.Path(dir_okay=False), default=None,
              help="Write only the rows of these words (one per line), in that order.")
@click.option("--limit", type=int, default=None, callback=_positive_limit, metavar="N",
              help="Write only the first N rows (projector: 10,000 unless given).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as one JSON object.")
@_errors(writes=True)
def export(table: str, out: str, fmt: str | None, force: bool, nonfinite: str, words: str | None,
           limit: int | None, quiet: bool, as_json: bool) -> None:
    """Write TABLE (a converted file or any source) as GloVe, word2vec text or binary, or the Embedding
    Projector's tensors.tsv + metadata.tsv.

    Round trips are exact: text values are the shortest decimals that read back to the same float32
    (through vecload or gensim), binary values are the float32 bytes. Tokens a format's readers would
    split (a space in word2vec, a line break anywhere) and rows with NaN/Inf are refused, naming the row."""
    from vecload.errors import ArgumentError
    from vecload.exporter import export as write
    from vecload.exporter import export_format

    if words is not None and limit is not None:
        raise click.UsageError("give --words or --limit, not both")
    try:
        fmt = export_format(out, fmt)
    except ArgumentError as exc:
        raise click.UsageError(exc.render(_cli_spelling)) from exc
    try:
        done = write(table, out, format=fmt, force=force, nonfinite=nonfinite, words=words, limit=limit,
                     progress=_progress(quiet))
    except BrokenPipeError:  # `-o - | head`: the reader has what it wanted
        _discard(sys.stdout)
        return
    sizes = [path.stat().st_size for path in done.files]
    if as_json and done.files:
        _out(json.dumps({"files": [str(path) for path in done.files], "bytes": sizes, "format": done.format,
                         "count": done.count, "dim": done.dim}, ensure_ascii=False, indent=2))
    elif not quiet and done.files:
        files = ", ".join(f"{path} ({size:,} bytes)" for path, size in zip(done.files, sizes))
        _out(f"wrote {files}: {done.format}, {done.count:,} x {done.dim}")
