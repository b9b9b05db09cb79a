"""The read options every reading command takes, with choices and defaults from the library's own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from vecload.formats import DEFAULT_ENGINE, ENGINES, FORMATS, READ_CHOICES

def _positive_limit(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    if value is not None and value < 1:
        reason = "reads no rows, and an empty table is refused" if value == 0 else "is not a number of rows"
        raise click.BadParameter(f"{value} {reason}; give at least 1")
    return value


_READ_OPTIONS = [
    click.option("--format", "fmt", type=click.Choice(FORMATS),
                 help="Read as this format instead of detecting it."),
    click.option("--engine", type=click.Choice(list(ENGINES)), default=None,
                 help=f"Which reader parses the file (default: {DEFAULT_ENGINE})."),
    click.option("--member", default=None, help="The member to read from a zip or tar archive (or SRC as archive.zip:member, archive.tar.gz:member)."),
    click.option("--limit", type=int, default=None, callback=_positive_limit, metavar="N",
                 help="Read only the first N rows (N >= 1)."),
    click.option("--unicode-errors", type=click.Choice(READ_CHOICES["unicode_errors"]), default=READ_CHOICES["unicode_errors"][0],
                 help="What to do with tokens that are not valid UTF-8."),
    click.option("--duplicates", type=click.Choice(READ_CHOICES["duplicates"]), default=READ_CHOICES["duplicates"][0],
                 help="Keep the first row of a repeated token (and report the rest), or refuse the file."),
    click.option("--nonfinite", type=click.Choice(READ_CHOICES["nonfinite"]), default=READ_CHOICES["nonfinite"][0],
                 help="Keep rows with NaN/Inf values (and report them), or refuse the file."),
    click.option("--bad-rows", type=click.Choice(READ_CHOICES["bad_rows"]), default=READ_CHOICES["bad_rows"][0],
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


