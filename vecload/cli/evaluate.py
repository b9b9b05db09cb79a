"""``vecload eval``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from vecload.cli._shell import _errors, _out, _progress, examples, main
from vecload.evaluation import RESTRICT_VOCAB


@main.command("eval", epilog=examples(
    "vecload eval glove.6B.50d.pth                             # WordSim353, SimLex-999, analogies",
    "vecload eval glove.6B.50d.pth --similarity my-pairs.tsv --no-analogies --json",
))
@click.argument("table")
@click.option("--similarity", "similarity", multiple=True, type=click.Path(dir_okay=False),
              help="A tab-separated 'word1 word2 score' file (repeatable; default: WordSim353 and SimLex-999 "
                   "from gensim's wheel).")
@click.option("--analogies", type=click.Path(dir_okay=False), default=None,
              help="A questions-words.txt-style file (default: gensim's copy).")
@click.option("--no-analogies", is_flag=True, help="Skip the analogies (the slow part on large tables).")
@click.option("--restrict-vocab", type=click.IntRange(min=1), default=RESTRICT_VOCAB, show_default=True,
              metavar="N", help="Only the first N rows answer and count as known (gensim's default).")
@click.option("--case-sensitive", is_flag=True, help="Match words case-sensitively (gensim folds case).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print every figure as one JSON object.")
@_errors()
def evaluate(table: str, similarity: tuple[str, ...], analogies: str | None, no_analogies: bool,
             restrict_vocab: int, case_sensitive: bool, quiet: bool, as_json: bool) -> None:
    """Score TABLE on word-pair similarity (Spearman, Pearson, share of pairs out of vocabulary) and
    analogies (accuracy per section and overall), through gensim's own evaluate_word_pairs and
    evaluate_word_analogies, so the figures match gensim's."""
    from vecload.evaluation import evaluate as score
    from vecload.exporter import open_table

    if no_analogies and analogies:
        raise click.UsageError("--analogies and --no-analogies contradict each other")
    vectors = open_table(table, progress=_progress(quiet))
    result = score(vectors, similarity=list(similarity) or None, analogies=False if no_analogies else analogies,
                   restrict_vocab=restrict_vocab, case_insensitive=not case_sensitive, progress=_progress(quiet))
    if as_json:
        _out(json.dumps(result, ensure_ascii=False, indent=2))
        return
    _echo(result)


def _echo(result: dict[str, Any]) -> None:
    """The figures as a short table."""
    case = "case-insensitive" if result["case_insensitive"] else "case-sensitive"
    _out(f"first {result['restrict_vocab']:,} rows, {case}")
    for pairs in result["similarity"]:
        figures = (f"spearman {pairs['spearman']:7.4f}  pearson {pairs['pearson']:7.4f}" if pairs["scored"]
                   else "no pair has both words in the table")
        _out(f"{Path(pairs['file']).name:24} {figures}  oov {pairs['oov']:6.1%} of {pairs['pairs']:,} pairs")
    analogies = result.get("analogies")
    if analogies:
        _out(f"{Path(analogies['file']).name:24} accuracy {analogies['accuracy']:6.1%} ({analogies['correct']:,}/"
             f"{analogies['total']:,})  oov {analogies['oov']:6.1%} of {analogies['questions']:,} questions")
        empty = [section for section in analogies["sections"] if not section["total"]]
        for section in analogies["sections"]:
            if section["total"]:
                _out(f"  {section['section']:30} {section['accuracy']:6.1%} ({section['correct']}/{section['total']})")
        if empty:
            _out(f"  ({len(empty)} of {len(analogies['sections'])} sections have no question in the vocabulary)")
