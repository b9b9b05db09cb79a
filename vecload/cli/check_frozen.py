"""``vecload check-frozen``."""

from __future__ import annotations

import json
import sys

import click

from vecload.cli._shell import _errors, _out, examples, main

@main.command("check-frozen", epilog=examples(
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

    import vecload.freeze_matrix as freeze_matrix
    import vecload.saved_check as saved_check

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
