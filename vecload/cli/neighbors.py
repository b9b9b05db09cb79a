"""``vecload neighbors``."""

from __future__ import annotations

import json

import click

from vecload.cli._shell import _errors, _out, _progress, examples, main


@main.command(epilog=examples(
    "vecload neighbors glove.6B.50d.pth king queen          # the 10 nearest to each word",
    "vecload neighbors glove.6B.50d.pth king -n 3 --json",
))
@click.argument("table")
@click.argument("words", nargs=-1, required=True)
@click.option("-n", "--topn", type=click.IntRange(min=1), default=10, show_default=True,
              help="How many neighbours per word.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar while a source is read.")
@click.option("--json", "as_json", is_flag=True, help="Print {word: [[neighbour, cosine], ...]} as JSON.")
@_errors()
def neighbors(table: str, words: tuple[str, ...], topn: int, quiet: bool, as_json: bool) -> None:
    """The nearest neighbours of each WORD in TABLE by cosine similarity, as gensim's most_similar gives
    them (the word itself left out)."""
    from vecload.exporter import open_table

    vectors = open_table(table, progress=_progress(quiet))
    missing = [word for word in words if word not in vectors]
    if missing:
        raise click.ClickException(f"{table}: not in the table: {', '.join(map(repr, missing))}")
    found = {word: vectors.most_similar(word, topn=topn) for word in words}
    if as_json:
        _out(json.dumps(found, ensure_ascii=False, indent=2))
        return
    for word, pairs in found.items():
        _out(f"{word}: " + "  ".join(f"{other} {score:.4f}" for other, score in pairs))
