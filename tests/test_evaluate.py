"""Evaluation through gensim's own functions gives gensim's figures (issue 14)."""

from __future__ import annotations

from pathlib import Path

import json
import logging

import pytest
from click.testing import CliRunner

from gensim.test.utils import datapath

import vecload
from vecload.cli import main
from vecload.evaluation import evaluate


@pytest.fixture(scope="module")
def lee_kv():
    """lee_fasttext.vec (1,762 x 10), read by gensim."""
    from gensim.models import KeyedVectors

    return KeyedVectors.load_word2vec_format(Path(datapath("lee_fasttext.vec")))


@pytest.mark.parametrize(("restrict", "case_insensitive"), [(300_000, True), (500, False)])
def test_figures_equal_gensims_on_the_same_table(lee_kv, restrict: int, case_insensitive: bool) -> None:
    """Spearman, Pearson, OOV share and analogy accuracy (per section and overall) are gensim's, exactly."""
    ours = evaluate(Path(datapath("lee_fasttext.vec")), restrict_vocab=restrict, case_insensitive=case_insensitive)
    for pairs, name in zip(ours["similarity"], ("wordsim353.tsv", "simlex999.txt")):
        pearson, spearman, oov = lee_kv.evaluate_word_pairs(str(Path(datapath(name))), restrict_vocab=restrict,
                                                            case_insensitive=case_insensitive)
        assert (pairs["spearman"], pairs["pearson"], pairs["oov"]) == (spearman[0], pearson[0], oov / 100)
    score, sections = lee_kv.evaluate_word_analogies(str(Path(datapath("questions-words.txt"))),
                                                     restrict_vocab=restrict, case_insensitive=case_insensitive)
    analogies = ours["analogies"]
    total = sections[-1]
    assert analogies["accuracy"] == score and analogies["total"] == len(total["correct"]) + len(total["incorrect"])
    assert [(s["section"], s["correct"]) for s in analogies["sections"]] == [
        (s["section"], len(s["correct"])) for s in sections[:-1]]
    assert analogies["questions"] == 19_544


def test_evaluation_changes_no_logging_setting_and_leaves_no_patch(lee_kv) -> None:
    """No handler or level is added anywhere; the KeyedVectors' most_similar is gensim's again afterwards."""
    loggers = [logging.getLogger(), logging.getLogger("gensim"), logging.getLogger("gensim.models.keyedvectors")]
    before = [(lg.level, list(lg.handlers)) for lg in loggers]
    table = vecload.Vectors.from_keyedvectors(lee_kv)
    evaluate(table, similarity=[Path(datapath("wordsim353.tsv"))], progress=True)
    assert [(lg.level, list(lg.handlers)) for lg in loggers] == before
    assert "most_similar" not in vars(lee_kv)


def test_a_set_out_of_vocabulary_has_no_figures_and_a_set_of_no_pairs_is_refused(tmp_path) -> None:
    """All pairs unknown: correlations None and oov 1.0 (gensim raises); a file of no pairs: a clear error."""
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("# a comment\nzzzq\tqqqz\t1.0\nnight\tzzzq\t2.0\n", encoding="utf-8")
    result = evaluate(Path(datapath("lee_fasttext.vec")), similarity=[pairs], analogies=False)
    assert result["similarity"][0] == {"file": str(pairs), "pairs": 2, "scored": 0, "spearman": None,
                                       "pearson": None, "oov": 1.0}
    pairs.write_text("night day 1.0\n", encoding="utf-8")
    with pytest.raises(vecload.VecloadError, match="pairs.tsv: holds no tab-separated 'word1 word2 score' lines"):
        evaluate(Path(datapath("lee_fasttext.vec")), similarity=[pairs], analogies=False)


def test_cli_eval_json_and_text(tmp_path) -> None:
    """`vecload eval --json` prints the figures; the text form has one line per set; bad usage is exit 2."""
    src = str(Path(datapath("lee_fasttext.vec")))
    result = CliRunner().invoke(main, ["eval", src, "--no-analogies", "--json"])
    assert result.exit_code == 0, result.output
    assert [p["pairs"] for p in json.loads(result.stdout)["similarity"]] == [353, 999]
    result = CliRunner().invoke(main, ["eval", src, "--similarity", str(Path(datapath("wordsim353.tsv"))), "-q"])
    assert result.exit_code == 0 and result.stdout.splitlines()[1].startswith("wordsim353.tsv ")
    assert "questions-words.txt" in result.stdout
    assert CliRunner().invoke(main, ["eval", src, "--restrict-vocab", "0"]).exit_code == 2


def test_one_known_pair_a_single_path_and_a_file_without_sections(tmp_path) -> None:
    """One pair with both words known gives no correlation and the true OOV share (gensim raises); a single
    path is one file, not its characters; an analogy file without ': section' lines is a clear error."""
    table = vecload.load(datapath("lee_fasttext.vec"))
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("the\tand\t5\nzzqx\tthe\t3\n", encoding="utf-8")
    result = evaluate(table, similarity=pairs, analogies=False)["similarity"]
    assert result == [{"file": str(pairs), "pairs": 2, "scored": 1, "spearman": None, "pearson": None, "oov": 0.5}]
    questions = tmp_path / "questions.txt"
    questions.write_text("the and of to\n", encoding="utf-8")
    with pytest.raises(vecload.VecloadError, match=r"questions\.txt: is not an analogy file gensim reads"):
        evaluate(table, similarity=[pairs], analogies=questions)
    with pytest.raises(vecload.ArgumentError, match="similarity must be a path or a list of paths"):
        evaluate(table, similarity=3)
