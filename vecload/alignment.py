"""Align pretrained vectors to a task vocabulary: :func:`align` and its result, :class:`Aligned`.

The result has one row per task token, in the task's order, after the specials (``<pad>`` first, a zero
row, then ``<unk>``...). Each task token is looked up through a chain of steps (``exact``, then
``lower``, ... see :mod:`vecload.normalize`): at each step the token's key is compared with the keys of
the source tokens, and the first step that matches wins, so an exact match always beats a lowercase
match of another source token. When several source tokens share a key (``The``, ``the``, ``THE`` for
``lower``), the first in file order wins (in frequency-sorted files, the most frequent). Several task
tokens may share one source row (``US`` found as ``us`` when ``us`` is a task token too).

Rows the source lacks (OOV) and the specials other than the pad get the ``oov`` initialisation:
``zeros``; ``mean`` (the per-dimension mean of the pretrained rows); ``normal`` (per dimension, a normal
with the pretrained rows' mean and standard deviation); ``uniform`` (per dimension, uniform on
``mean ± sqrt(3) * std``, which has the same mean and variance). The statistics cover every finite row
the source gives (after ``limit``), not only the rows kept, and are computed in float64 by summing rows
in file order. Random rows come from ``numpy.random.default_rng(seed)``, drawn for those rows in row
order, computed in float64 and rounded to float32.

Reading a file is one streaming pass that keeps only the rows a lookup can use: every source token that
is a task token, and for each later step the first source token with each task key.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vecload._align_check import SelfCheck
from vecload._align_rows import RowStats, gather_releasing, initialise
from vecload.coverage import CoverageReport
from vecload.errors import VecloadError
from vecload.formats import ReadOptions, open_source, read_table
from vecload.normalize import Step, StepSpec, lookup_chain
from vecload.taskvocab import TaskVocab, TokensSpec, read_task_vocab
from vecload.loader import is_converted, load_converted
from vecload.vectors import Vectors


OOV_INITS = ("zeros", "mean", "normal", "uniform")


class Aligned(Vectors):
    """Vectors aligned to a task vocabulary, with where each row came from.

    Everything lives in ``meta["align"]``, so a converted file loaded again keeps it
    (``Aligned.from_vectors(vecload.load("task.pth"))``):

    - ``origins``: per row, ``"pad"``, ``"special"``, the lookup step that found it, or ``"oov"``;
    - ``matched``: per row, the source token whose row it is (None for pad, specials and OOV);
    - ``pad_index``, ``specials``, ``steps``, ``oov_init`` (method, seed and statistics), ``coverage``
      (a :class:`CoverageReport` dict) and ``self_check``.
    """

    @classmethod
    def from_vectors(cls, vectors: Vectors) -> Aligned:
        """View loaded vectors as aligned ones.

        Raises:
            VecloadError: The vectors were not written by an alignment.
        """
        align = vectors.meta.get("align")
        if not isinstance(align, dict) or len(align.get("origins", ())) != len(vectors):
            raise VecloadError("these vectors carry no alignment metadata (convert with a vocabulary first)")
        return cls(vectors.tokens, vectors.vectors, vectors.meta)

    @property
    def origins(self) -> list[str]:
        """Per row: ``"pad"``, ``"special"``, the lookup step that found it, or ``"oov"``."""
        return self.meta["align"]["origins"]

    @property
    def matched(self) -> list[str | None]:
        """Per row: the source token that gave the row, or None."""
        return self.meta["align"]["matched"]

    @property
    def pad_index(self) -> int | None:
        """The pad's row (give it to ``nn.Embedding`` as ``padding_idx``), or None."""
        return self.meta["align"]["pad_index"]

    @property
    def coverage(self) -> CoverageReport:
        """How much of the task vocabulary the source covered."""
        return CoverageReport.from_dict(self.meta["align"]["coverage"])

    @property
    def trainable_mask(self) -> torch.Tensor:
        """A bool tensor, True for rows with no pretrained vector (OOV and specials other than the pad)."""
        return torch.tensor([origin in ("oov", "special") for origin in self.origins], dtype=torch.bool)

    def __repr__(self) -> str:
        report = self.coverage
        return f"Aligned(count={len(self)}, dim={self.dim}, found={report.found_types}, oov={report.oov})"


def align(
    source: str | os.PathLike[str],
    tokens: TokensSpec,
    *,
    specials: Sequence[str] = ("<pad>", "<unk>"),
    pad: str | None = "<pad>",
    lookup: Sequence[StepSpec] = ("exact",),
    oov: str = "normal",
    seed: int = 0,
    limit: int | None = None,
    layout: str = "auto",
    vocab_duplicates: str = "error",
    top_missing: int = 20,
    check_rows: int = 256,
    verify_source: bool = False,
    format: str | None = None,
    engine: str | None = None,
    member: str | None = None,
    **read_options: Any,
) -> Aligned:
    """Read the rows of a task vocabulary from a vector file, in the task's order.

    Args:
        source: The vector file (any format :func:`vecload.load` reads, a converted ``.pth`` included).
        tokens: The task's tokens: a list, a mapping token -> count, or a vocabulary file (one token per
            line, ``TOKEN<TAB>COUNT`` or ``TOKEN COUNT`` lines; see :mod:`vecload.taskvocab`).
        specials: Tokens placed first, in this order; never looked up. A special that is also in the
            task vocabulary is kept once, as a special, and reported.
        pad: The special that gets a zero row (None: no zero row).
        lookup: The lookup chain: names from :mod:`vecload.normalize` (``"lower"``, ``"lower+digits"``),
            ``(name, function)`` pairs or named functions, tried in order.
        oov: How rows the source lacks are initialised: ``zeros``, ``mean``, ``normal`` or ``uniform``.
        seed: The seed of ``numpy.random.default_rng`` for ``normal`` and ``uniform``.
        limit: Use only the first ``limit`` rows of the source.
        layout: The vocabulary file's layout: ``"auto"``, ``"lines"`` or ``"counts"``.
        vocab_duplicates: ``"error"`` refuses a repeated task token; ``"first"`` keeps the first.
        top_missing: How many missing tokens the report lists.
        check_rows: How many rows the self-check compares (0 turns it off).
        verify_source: Also read the sampled rows from the file a second time and compare them.
        format, engine, member: As for :func:`vecload.load`.
        **read_options: ``unicode_errors``, ``duplicates``, ``nonfinite``, ``bad_rows``, ``progress``.

    Returns:
        The aligned vectors.

    Raises:
        VecloadError: Bad arguments or vocabulary; ParseError and FormatError for a bad source.
        IntegrityError: The self-check found a row that differs from the source (a bug; please report).

    Example:
        >>> a = vecload.align("glove.6B.50d.txt", "vocab.txt", lookup=("exact", "lower"), oov="normal")
        >>> print(a.coverage.summary())
        >>> emb = a.to_embedding(freeze=False, padding_idx=a.pad_index)
    """
    for key in ("keep", "on_rows", "limit"):
        if key in read_options:
            raise VecloadError(f"align() sets {key!r} itself; it cannot be passed as a read option")
    if member is None and is_converted(source):
        if format or engine or read_options or verify_source:
            raise VecloadError(f"{source}: is a converted file; format, engine and read options apply to sources")
        return align_vectors(load_converted(source), tokens, specials=specials, pad=pad, lookup=lookup, oov=oov,
                             seed=seed, limit=limit, layout=layout, vocab_duplicates=vocab_duplicates,
                             top_missing=top_missing, check_rows=check_rows)
    plan = _Plan(read_task_vocab(tokens, layout=layout, duplicates=vocab_duplicates), specials, pad, lookup)
    _check_oov(oov, seed)
    stats = RowStats() if oov in ("mean", "normal", "uniform") else None
    src = open_source(source, member, read_options.get("max_bytes"))
    options = ReadOptions(limit=limit, keep=plan.keep_function(), on_rows=stats.add if stats else None, **read_options)
    table = read_table(src, format=format, engine=engine, options=options)
    src_tokens, src_rows, parse_report, fmt = table.tokens, table.vectors, table.report, table.format
    del table  # its rows are released while they are gathered
    release = src_rows.flags.owndata and src_rows.flags.c_contiguous
    aligned = _align_rows(plan, src_tokens, src_rows, stats, oov, seed, parse_report.rows_read, top_missing,
                          check_rows, release)
    meta: dict[str, Any] = {
        "format": fmt,
        "report": parse_report.to_dict(),
        "source": {"name": src.path.name, "member": src.member, "compression": src.compression},
        "options": {"format": format, "engine": engine, "limit": limit,
                    **{k: v for k, v in read_options.items() if k != "progress"}},
    }
    meta["align"] = aligned.pop("align")
    meta["align"]["vocab"] = plan.vocab.name
    result = Aligned(aligned["tokens"], torch.from_numpy(aligned["rows"]), meta)
    check: SelfCheck = aligned["check"]
    if verify_source:
        check.against_source(result, src, format=format, engine=engine, limit=limit, read_options=read_options)
    meta["align"]["self_check"] = check.summary()
    return result


def align_vectors(vectors: Vectors, tokens: TokensSpec, **kwargs: Any) -> Aligned:
    """Align already loaded vectors; see :meth:`vecload.Vectors.align` (``vectors`` is not modified)."""
    allowed = {"specials", "pad", "lookup", "oov", "seed", "limit", "layout", "vocab_duplicates",
               "top_missing", "check_rows"}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise TypeError(f"unexpected arguments for Vectors.align: {', '.join(unknown)}")
    plan = _Plan(read_task_vocab(tokens, layout=kwargs.get("layout", "auto"),
                                 duplicates=kwargs.get("vocab_duplicates", "error")),
                 kwargs.get("specials", ("<pad>", "<unk>")), kwargs.get("pad", "<pad>"), kwargs.get("lookup", ("exact",)))
    oov = kwargs.get("oov", "normal")
    _check_oov(oov, kwargs.get("seed", 0))
    limit = kwargs.get("limit")
    if limit is not None and limit < 0:
        raise VecloadError(f"limit must be >= 0, got {limit}")
    all_rows = vectors.vectors.detach().cpu().numpy()
    src_rows = all_rows[:limit] if limit is not None else all_rows
    src_tokens = vectors.tokens[: len(src_rows)]
    stats = None
    if oov in ("mean", "normal", "uniform"):
        stats = RowStats()
        stats.add(src_rows)
    aligned = _align_rows(plan, src_tokens, src_rows, stats, oov, kwargs.get("seed", 0), len(src_rows),
                          kwargs.get("top_missing", 20), kwargs.get("check_rows", 256), release=False)
    meta: dict[str, Any] = {k: v for k, v in vectors.meta.items() if k in ("format", "source", "report")}
    meta["align"] = aligned.pop("align")
    meta["align"].update(vocab=plan.vocab.name, self_check=aligned["check"].summary())
    return Aligned(aligned["tokens"], torch.from_numpy(aligned["rows"]), meta)


def _check_oov(oov: str, seed: int = 0) -> None:
    if oov not in OOV_INITS:
        raise VecloadError(f"oov must be one of {', '.join(OOV_INITS)}, got {oov!r}")
    if not isinstance(seed, int) or seed < 0:
        raise VecloadError(f"seed must be a non-negative integer, got {seed!r}")


class _Plan:
    """The task rows (specials, then the task tokens), the lookup chain, and the streaming filter."""

    def __init__(self, vocab: TaskVocab, specials: Sequence[str], pad: str | None, lookup: Sequence[StepSpec]) -> None:
        if isinstance(specials, str):
            raise VecloadError(f"specials must be a sequence of tokens, got the string {specials!r}")
        specials = list(specials)
        for token in specials:
            if not isinstance(token, str) or not token:
                raise VecloadError(f"a special must be a non-empty string, got {token!r}")
        if len(set(specials)) != len(specials):
            raise VecloadError(f"specials repeat a token: {specials}")
        if pad is not None and pad not in specials:
            raise VecloadError(f"pad {pad!r} is not one of the specials {specials}; add it, or pass pad=None")
        self.vocab = vocab
        self.specials = specials
        self.pad = pad
        self.steps: list[Step] = lookup_chain(lookup)
        special_set = set(specials)
        self.specials_in_vocab = [t for t in vocab.tokens if t in special_set]
        keep = [i for i, t in enumerate(vocab.tokens) if t not in special_set]
        self.task = [vocab.tokens[i] for i in keep]
        self.counts = [vocab.counts[i] for i in keep] if vocab.counts is not None else None
        self.task_set = frozenset(self.task)

    def keep_function(self) -> Callable[[str], bool]:
        """The reader's filter: keep a source row if some step can match it to a task token first."""
        exact = any(step.is_exact for step in self.steps)
        others = [(step.func, {step.func(t) for t in self.task}, set()) for step in self.steps if not step.is_exact]
        task_set = self.task_set
        if not others:
            return task_set.__contains__

        def keep(token: str) -> bool:
            wanted = exact and token in task_set
            for func, keys, claimed in others:
                key = func(token)
                if key in keys and key not in claimed:
                    claimed.add(key)  # later source tokens with this key can never be the first
                    wanted = True
            return wanted

        return keep

    def match(self, src_tokens: Sequence[str]) -> tuple[list[str], list[int]]:
        """Per task token: the step that found it (or ``"oov"``) and its source row (or -1)."""
        maps: list[dict[str, int]] = []
        for step in self.steps:
            first: dict[str, int] = {}
            if step.is_exact:
                for i, token in enumerate(src_tokens):
                    first.setdefault(token, i)
            else:
                keys = {step.func(t) for t in self.task}
                for i, token in enumerate(src_tokens):
                    key = step.func(token)
                    if key in keys and key not in first:
                        first[key] = i
            maps.append(first)
        origins: list[str] = []
        rows: list[int] = []
        for token in self.task:
            for step, first in zip(self.steps, maps):
                row = first.get(token if step.is_exact else step.func(token))
                if row is not None:
                    origins.append(step.name)
                    rows.append(row)
                    break
            else:
                origins.append("oov")
                rows.append(-1)
        return origins, rows


def _align_rows(plan: _Plan, src_tokens: list[str], src_rows: np.ndarray, stats: RowStats | None, oov: str,
                seed: int, rows_read: int, top_missing: int, check_rows: int, release: bool) -> dict[str, Any]:
    """Match, gather, initialise and check; returns tokens, rows, the check and the ``align`` metadata."""
    origins, picks = plan.match(src_tokens)
    n_special = len(plan.specials)
    tokens = plan.specials + plan.task
    all_origins = ["pad" if t == plan.pad else "special" for t in plan.specials] + origins
    dest = np.flatnonzero(np.asarray(picks, dtype=np.intp) >= 0) + n_special
    source_index = np.asarray(picks, dtype=np.intp)[dest - n_special]
    check = SelfCheck(plan.steps, tokens, all_origins, src_tokens, src_rows, check_rows)
    dim = src_rows.shape[1]
    if release:
        rows = gather_releasing(src_rows, dest, source_index, len(tokens))
    else:
        rows = np.empty((len(tokens), dim), dtype=np.float32)
        rows[dest] = src_rows[source_index]
    init_rows = [i for i, origin in enumerate(all_origins) if origin in ("special", "oov")]
    oov_init = initialise(rows, init_rows, oov, seed, stats)
    if plan.pad is not None:
        rows[plan.specials.index(plan.pad)] = 0.0
    matched: list[str | None] = [None] * len(tokens)
    for d, s in zip(dest.tolist(), source_index.tolist()):
        matched[d] = src_tokens[s]
    check.after(rows, matched)
    report = _coverage(plan, origins, rows_read, top_missing)
    align = {
        "steps": [step.name for step in plan.steps],
        "specials": plan.specials,
        "pad_index": plan.specials.index(plan.pad) if plan.pad is not None else None,
        "origins": all_origins,
        "matched": matched,
        "oov_init": oov_init,
        "coverage": report.to_dict(),
    }
    return {"tokens": tokens, "rows": rows, "check": check, "align": align}


def _coverage(plan: _Plan, origins: list[str], rows_read: int, top_missing: int) -> CoverageReport:
    """Count the matches by step, by type and (with counts) by token."""
    names = [step.name for step in plan.steps]
    report = CoverageReport(
        steps=names,
        types=len(plan.task),
        found={name: 0 for name in names},
        specials=list(plan.specials),
        specials_in_vocab=plan.specials_in_vocab,
        vocab_duplicates=plan.vocab.duplicates,
        source_rows=rows_read,
    )
    counts = plan.counts
    if counts is not None:
        report.tokens = sum(counts)
        report.found_tokens = {name: 0 for name in names}
        report.oov_tokens = 0
    missing: list[tuple[int, int]] = []
    for i, origin in enumerate(origins):
        if origin == "oov":
            report.oov += 1
            missing.append((-(counts[i]) if counts is not None else 0, i))
            if counts is not None:
                report.oov_tokens += counts[i]  # type: ignore[operator]
        else:
            report.found[origin] += 1
            if counts is not None:
                report.found_tokens[origin] += counts[i]  # type: ignore[index]
    missing.sort()
    report.missing = [[plan.task[i], counts[i] if counts is not None else None] for _, i in missing[:top_missing]]
    return report



def convert_aligned(
    src: str | os.PathLike[str],
    tokens: TokensSpec,
    out: str | os.PathLike[str] | None = None,
    *,
    force: bool = False,
    report_json: str | os.PathLike[str] | None = None,
    vocab_out: str | os.PathLike[str] | None = None,
    member: str | None = None,
    **kwargs: Any,
) -> tuple[Path, dict[str, Any]]:
    """Align ``src`` to a task vocabulary and write one ``OUT.pth`` (and a JSON report, and the tokens).

    The file's metadata holds the alignment (origins, matched tokens, OOV initialisation and statistics,
    coverage report, self-check) and the source's name, size and sha256.

    Args:
        src: The vector file.
        tokens: The task's tokens, as for :func:`align`.
        out: The ``.pth`` to write; by default beside the source (``glove.6B.50d.txt`` -> ``glove.6B.50d.pth``).
        force: Overwrite existing outputs.
        report_json: Also write the coverage report there (in the same atomic unit).
        vocab_out: Also write the aligned tokens there, one per line (JSON lines if a token holds a line
            break or is empty).
        member: The member of a zip or tar archive.
        **kwargs: As for :func:`align`.

    Returns:
        The path written, and the metadata written into it.

    Raises:
        OutputExistsError: An output exists and ``force`` is False (checked before reading).
    """
    from vecload.store import write_json
    from vecload.loader import describe_source, prepare_output, source_paths

    extra = tuple(Path(p) for p in (report_json, vocab_out) if p is not None)
    inputs = (Path(tokens),) if isinstance(tokens, (str, os.PathLike)) else ()
    source, target = prepare_output(src, out, member, force, extra, inputs, kwargs.get("max_bytes"))
    aligned = align(src, tokens, member=member, **kwargs)
    aligned.meta["source"] = describe_source(source)
    writers = []
    if report_json is not None:
        document = {"source": aligned.meta["source"], "vocab": aligned.meta["align"]["vocab"],
                    "output": str(target), "coverage": aligned.meta["align"]["coverage"],
                    "self_check": aligned.meta["align"]["self_check"]}
        writers.append((Path(report_json), lambda fh: write_json(fh, document, indent=2)))
    written = aligned.save(target, force=force, vocab_out=vocab_out, extra=writers,
                           sources=(*source_paths(src, source), *inputs))
    return written, aligned.meta
