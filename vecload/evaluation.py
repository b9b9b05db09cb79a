"""Word-similarity and analogy scores, through gensim's own ``evaluate_word_pairs`` and
``evaluate_word_analogies``, so the figures are the ones papers report.

The default sets are those gensim's wheel ships: WordSim353 and SimLex-999 (similarity) and Mikolov's
``questions-words.txt`` (analogies). gensim's functions log at INFO on gensim's loggers; nothing here
changes any logging setting.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vecload.errors import ArgumentError, VecloadError

if TYPE_CHECKING:
    from vecload.vectors import Vectors

#: gensim's defaults: only the first 300,000 rows answer, and words match case-insensitively.
RESTRICT_VOCAB = 300_000
SIMILARITY_SETS = ("wordsim353.tsv", "simlex999.txt")
ANALOGY_SET = "questions-words.txt"


def evaluate(
    table: Vectors | str | os.PathLike[str],
    *,
    similarity: list[str | os.PathLike[str]] | None = None,
    analogies: str | os.PathLike[str] | None | bool = None,
    restrict_vocab: int = RESTRICT_VOCAB,
    case_insensitive: bool = True,
    progress: bool = False,
) -> dict[str, Any]:
    """Score a table on word-pair similarity sets and an analogy set, with gensim's functions.

    Args:
        table: A :class:`~vecload.Vectors`, a converted ``.pth`` or a source file.
        similarity: Tab-separated ``word1 word2 score`` files; by default WordSim353 and SimLex-999.
        analogies: A ``questions-words.txt``-style file; by default gensim's copy; False for none.
        restrict_vocab: Only the first N rows are searched and count as known (gensim's default 300,000).
        case_insensitive: Match words whatever their case, the first row of a word winning (gensim's default).
        progress: Show a tqdm bar over the analogy questions.

    Returns:
        ``{"similarity": [{"file", "pairs", "scored", "spearman", "pearson", "oov"}, ...], "analogies": {"file",
        "questions", "oov", "accuracy", "correct", "total", "sections": [{"section", "correct", "total",
        "accuracy"}, ...]}}``; ``oov`` is the share of pairs or questions skipped for a word not known
        (the correlations are None when every pair was).

    Raises:
        ArgumentError: ``restrict_vocab`` is below 1.
        VecloadError: A similarity file holds no ``word1<TAB>word2<TAB>score`` line.

    Example:
        >>> vecload.evaluate("glove.6B.50d.pth")["similarity"][0]["spearman"]
    """
    from vecload.keyedvectors import to_keyedvectors  # torch and gensim: imported when used, so the CLI starts fast
    from vecload.loader import load
    from vecload.vectors import Vectors

    if isinstance(restrict_vocab, bool) or not isinstance(restrict_vocab, int) or restrict_vocab < 1:
        raise ArgumentError(f"restrict_vocab must be a whole number of at least 1, got {restrict_vocab!r}")
    if not isinstance(table, (Vectors, str, os.PathLike)):
        raise ArgumentError(f"table must be a path or vecload.Vectors, got {type(table).__name__}")
    if isinstance(similarity, (str, os.PathLike)):
        similarity = [similarity]  # one file
    if similarity is not None and (not isinstance(similarity, (list, tuple))
                                   or not all(isinstance(p, (str, os.PathLike)) for p in similarity)):
        raise ArgumentError(f"similarity must be a path or a list of paths, got {similarity!r}")
    vectors = table if isinstance(table, Vectors) else load(table)
    kv = to_keyedvectors(vectors.tokens, vectors.vectors)
    pair_files = [Path(p) for p in similarity] if similarity is not None else [_gensim_data(n) for n in SIMILARITY_SETS]
    result: dict[str, Any] = {"restrict_vocab": restrict_vocab, "case_insensitive": case_insensitive,
                              "similarity": [_pairs(kv, path, restrict_vocab, case_insensitive) for path in pair_files]}
    if analogies is not False:
        path = Path(analogies) if analogies not in (None, True) else _gensim_data(ANALOGY_SET)
        result["analogies"] = _analogies(kv, path, restrict_vocab, case_insensitive, progress)
    return result


def _pairs(kv: Any, path: Path, restrict_vocab: int, case_insensitive: bool) -> dict[str, Any]:
    """gensim's ``evaluate_word_pairs`` on one file, as a dict (no correlation when no pair is known)."""
    if not path.is_file():
        raise FileNotFoundError(2, "No such file", str(path))
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#") and len(line.split("\t")) == 3]
    pairs = len(rows)
    if not pairs:
        raise VecloadError(f"{path}: holds no tab-separated 'word1 word2 score' lines ('#' starts a comment)")
    fold = str.upper if case_insensitive else str  # as gensim compares them
    vocab = {fold(token) for token in kv.index_to_key[:restrict_vocab]}
    known = sum(1 for a, b, _ in rows if fold(a) in vocab and fold(b) in vocab)
    found = {"file": str(path), "pairs": pairs, "scored": known, "spearman": None, "pearson": None,
             "oov": (pairs - known) / pairs}
    if known < 2:  # no correlation of fewer than two pairs (gensim raises)
        return found
    try:
        pearson, spearman, oov = kv.evaluate_word_pairs(str(path), restrict_vocab=restrict_vocab,
                                                        case_insensitive=case_insensitive)
    except ValueError as exc:
        raise VecloadError(f"{path}: gensim could not score its pairs ({exc})") from exc
    return {**found, "scored": round(pairs * (1 - oov / 100)), "spearman": float(spearman[0]),
            "pearson": float(pearson[0]), "oov": float(oov) / 100}


def _analogies(kv: Any, path: Path, restrict_vocab: int, case_insensitive: bool, progress: bool) -> dict[str, Any]:
    """gensim's ``evaluate_word_analogies`` on one file, as a dict, with a bar over the questions."""
    from tqdm import tqdm

    if not path.is_file():
        raise FileNotFoundError(2, "No such file", str(path))
    questions = sum(1 for line in path.read_text(encoding="utf-8").splitlines()
                    if not line.startswith(": ") and len(line.split()) == 4)
    with tqdm(total=questions, unit="q", desc="analogies", leave=False, disable=not progress) as bar:
        search = kv.most_similar

        def counted(*args: Any, **kwargs: Any) -> Any:  # gensim calls it once per question it answers
            bar.update(1)
            return search(*args, **kwargs)

        kv.most_similar = counted  # on this one object only, which nobody else holds
        try:
            score, sections = kv.evaluate_word_analogies(str(path), restrict_vocab=restrict_vocab,
                                                         case_insensitive=case_insensitive)
        except ZeroDivisionError as exc:  # gensim: a file of no questions
            raise VecloadError(f"{path}: holds no analogy questions") from exc
        except ValueError as exc:  # gensim: questions before any ': section' line, and the like
            raise VecloadError(f"{path}: is not an analogy file gensim reads ({exc}); it holds ': section' "
                               f"lines, each followed by questions of four words") from exc
        finally:
            del kv.most_similar
    total = sections[-1]
    answered = len(total["correct"]) + len(total["incorrect"])
    return {
        "file": str(path), "questions": questions, "oov": (questions - answered) / questions if questions else 0.0,
        "accuracy": float(score), "correct": len(total["correct"]), "total": answered,
        "sections": [_section(s) for s in sections[:-1]],
    }


def _section(section: dict[str, Any]) -> dict[str, Any]:
    correct, total = len(section["correct"]), len(section["correct"]) + len(section["incorrect"])
    return {"section": section["section"], "correct": correct, "total": total,
            "accuracy": correct / total if total else 0.0}


def _gensim_data(name: str) -> Path:
    """One of the evaluation sets gensim's wheel ships."""
    from gensim.test.utils import datapath

    return Path(datapath(name))
