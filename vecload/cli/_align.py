"""``convert --vocab``: the alignment options (choices and defaults from :mod:`vecload.alignment.options`),
the rule that they go only with ``--vocab``, and the call of an aligned conversion."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from vecload.cli._shell import _progress
from vecload.alignment.options import (
    FALLBACKS,
    LAYOUTS,
    NORMALIZERS,
    OOV_METHODS,
    VOCAB_DUPLICATES,
    RowOptions,
    TaskOptions,
)

_TASK, _ROWS = TaskOptions(), RowOptions()

_ALIGN_OPTIONS = [
    click.option("--vocab", type=click.Path(dir_okay=False), default=None,
                 help="Align to this task vocabulary: one token per line, or TOKEN<TAB>COUNT / TOKEN COUNT lines."),
    click.option("--vocab-layout", type=click.Choice(LAYOUTS), default=_TASK.layout,
                 help="How to read --vocab (auto: counts when every line has them)."),
    click.option("--vocab-duplicates", type=click.Choice(VOCAB_DUPLICATES), default=_TASK.vocab_duplicates,
                 help="Refuse a repeated task token, or keep its first entry (and report the rest)."),
    click.option("--specials", default=",".join(_TASK.specials), show_default=True,
                 help="Comma-separated tokens placed first ('' for none)."),
    click.option("--pad", default=None,
                 help=f"The special with a zero row (default: {_TASK.pad} when it is a special; '' for none)."),
    click.option("--lowercase", is_flag=True, help="When the exact token is missing, match it case-insensitively "
                                                   "(first source token in file order)."),
    click.option("--normalize", "normalizers", multiple=True,
                 help=f"Another lookup step, tried after those before it: "
                      f"{', '.join(n for n in NORMALIZERS if n not in _ROWS.lookup + ('lower',))}, "
                      f"or several joined with + (repeatable)."),
    click.option("--oov", type=click.Choice(list(OOV_METHODS)), default=_ROWS.oov, show_default=True,
                 help="Initialisation of rows the source lacks (mean/normal/uniform: per-dimension pretrained statistics; "
                      "subword: fastText's vector from the word's character n-grams, for a fastText .bin source)."),
    click.option("--oov-fallback", type=click.Choice(FALLBACKS), default=_ROWS.oov_fallback, show_default=True,
                 help="With --oov subword: the method for the specials and the words with no known n-gram."),
    click.option("--seed", type=click.IntRange(min=0), default=_ROWS.seed, show_default=True,
                 help="Seed for --oov normal/uniform."),
    click.option("--report-json", type=click.Path(dir_okay=False), default=None, help="Also write the coverage report as JSON."),
    click.option("--verify-source", is_flag=True, help="Self-check: also read the sampled rows from SRC a second time."),
]
#: The options that mean nothing without --vocab (their parameter names).
_ALIGN_ONLY = ("vocab_layout", "vocab_duplicates", "specials", "pad", "lowercase", "normalizers", "oov", "oov_fallback", "seed",
               "report_json", "verify_source")


def _align_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the alignment options to a command, and refuse them (exit 2) when ``--vocab`` is not given."""

    @functools.wraps(func)
    def command(**values: Any) -> Any:
        if values["vocab"] is None:
            context = click.get_current_context()
            given = [param.opts[0] for param in context.command.params
                     if param.name in _ALIGN_ONLY and context.get_parameter_source(param.name)
                     not in (None, click.core.ParameterSource.DEFAULT)]
            if given:
                many = len(given) > 1
                raise click.UsageError(f"{', '.join(given)} only appl{'y' if many else 'ies'} when aligning to a "
                                       f"task vocabulary; add --vocab FILE, or leave {'them' if many else 'it'} out")
        return func(**values)

    for option in reversed(_ALIGN_OPTIONS):
        command = option(command)
    return command



def _convert_aligned(src: str, out: str | None, force: bool, vocab_out: str | None, quiet: bool, fmt: str | None,
                     engine: str | None, member: str | None, limit: int | None, read: dict[str, Any], vocab: str,
                     **values: Any) -> tuple[Path, dict[str, Any]]:
    """``convert --vocab``: the command line's values as the alignment's options; align and write."""
    from vecload.alignment.write import convert_aligned

    specials = [t for t in values["specials"].split(",") if t] if values["specials"] else []
    pad = values["pad"]
    pad = (_TASK.pad if _TASK.pad in specials else None) if pad is None else (pad or None)
    lookup = [*_ROWS.lookup, *(["lower"] if values["lowercase"] else []), *values["normalizers"]]
    return convert_aligned(src, vocab, out, force=force, report_json=values["report_json"], vocab_out=vocab_out,
                           format=fmt, engine=engine, member=member, limit=limit, layout=values["vocab_layout"],
                           vocab_duplicates=values["vocab_duplicates"], specials=specials, pad=pad, lookup=lookup,
                           oov=values["oov"], oov_fallback=values["oov_fallback"], seed=values["seed"],
                           verify_source=values["verify_source"],
                           progress=_progress(quiet), **read)
