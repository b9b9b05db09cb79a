"""``convert --vocab``: the alignment options, and the call and summary of an aligned conversion."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from vecload.cli._shell import _progress

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


