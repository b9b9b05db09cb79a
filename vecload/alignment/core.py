"""The one alignment core: :func:`align` for a vector file, a converted file or a :class:`~vecload.Vectors`.

A vector file is read in one streaming pass that keeps only the rows a lookup can use (the reader's
``keep`` filter) while the OOV statistics see every row (its ``on_rows``); a converted file is loaded;
vectors in memory are used as they are. All three then go through the same steps: match the task tokens
(:class:`~vecload.alignment.lookup.Lookup`), gather the found rows (one numpy ``take``), fill the rows
without a pretrained vector (:mod:`vecload.alignment.oov`), zero the pad, self-check a sample by another
route (:mod:`vecload.alignment.selfcheck`) and count the coverage.
"""

from __future__ import annotations

import dataclasses
import os
from array import array
from typing import Any

import numpy as np
import torch

from vecload.alignment.aligned import Aligned
from vecload.alignment.coverage import CoverageReport
from vecload.alignment.lookup import Lookup, lookup_chain
from vecload.alignment.oov import OOV_METHODS, OovRequest, RowStats, fill_oov
from vecload.alignment.options import AlignOptions
from vecload.alignment.selfcheck import SelfCheck
from vecload.alignment.vocab import TaskRows, TokensSpec, task_rows
from vecload.errors import ArgumentError
from vecload.formats import ReadOptions, open_source, read_table
from vecload._pth import is_converted
from vecload.loader import load_converted
from vecload.vectors import Vectors


def align(
    source: str | os.PathLike[str] | Vectors,
    tokens: TokensSpec,
    options: AlignOptions | None = None,
    *,
    format: str | None = None,
    engine: str | None = None,
    member: str | None = None,
    **fields: Any,
) -> Aligned:
    """The rows of a task vocabulary, in the task's order, after the specials, from a file or a table.

    Options come as keyword arguments named after the fields of :class:`TaskOptions` (``specials``, ``pad``,
    ``layout``, ``vocab_duplicates``), :class:`RowOptions` (``lookup``, ``oov``, ``seed``),
    :class:`CheckOptions` (``check_rows``, ``verify_source``, ``top_missing``) and :class:`vecload.ReadOptions`
    (``limit``, ``unicode_errors``, ``duplicates``, ``nonfinite``, ``bad_rows``, ``progress``,
    ``max_bytes``), or all at once as an :class:`AlignOptions`; keyword arguments override ``options``.

    Args:
        source: A vector file (any format :func:`vecload.load` reads, a converted ``.pth`` included), or
            :class:`vecload.Vectors` already loaded (not modified; read options other than ``limit`` and
            ``format``/``engine``/``member``/``verify_source`` apply only to files that are read).
        tokens: The task's tokens: a list, a mapping token -> count, or a vocabulary file (one token per
            line, ``TOKEN<TAB>COUNT`` or ``TOKEN COUNT`` lines; see :mod:`vecload.alignment.vocab`).
        options: Every option at once; the defaults when None.
        format, engine, member: As for :func:`vecload.load`.
        **fields: Single options by name, as listed above.

    Returns:
        The aligned vectors.

    Raises:
        ArgumentError: An unknown option or a value it does not allow.
        VecloadError: A bad vocabulary; ParseError and FormatError for a bad source.
        IntegrityError: The self-check found a row that differs from the source (a bug; please report).

    Example:
        >>> a = vecload.align("glove.6B.50d.txt", "vocab.txt", lookup=("exact", "lower"), oov="normal")
        >>> b = vecload.align(vecload.load("glove.6B.50d.pth"), ["the", "cat"], specials=("<pad>",))
        >>> print(a.coverage.summary())
    """
    if not isinstance(source, (str, os.PathLike, Vectors)):
        raise ArgumentError(f"source must be a path or vecload.Vectors, got {type(source).__name__}")
    opts = AlignOptions.build(options, **fields)
    task = task_rows(tokens, opts.task)
    if isinstance(source, Vectors):
        _refuse_file_options(opts, format, engine, member, "vectors in memory are not read from a file")
        return _align_table(source, task, opts)
    if member is None and is_converted(source):
        _refuse_file_options(opts, format, engine, member, f"{source}: is a converted file")
        return _align_table(load_converted(source), task, opts)
    return _align_file(source, task, opts, format, engine, member)


def _align_file(path: str | os.PathLike[str], task: TaskRows, opts: AlignOptions, format: str | None,
                engine: str | None, member: str | None) -> Aligned:
    """A streamed, filtered read of the file, through the core."""
    lookup = Lookup(lookup_chain(opts.rows.lookup), task.task)
    stats = RowStats() if OOV_METHODS[opts.rows.oov].uses_stats else None
    src = open_source(path, member, opts.read.max_bytes)
    wanted = lookup.source_filter()
    hashes = array("q")  # every row's token hash, in file order: the statistics count a token once

    def keep(token: str) -> bool:
        hashes.append(hash(token))
        return wanted(token)

    read = dataclasses.replace(opts.read, keep=keep if stats else wanted, on_rows=stats.add if stats else None)
    model = _subword_model(src, opts, format, engine)
    table = _read_rows(src, model, format, engine, read)
    if stats is not None and _repeats(hashes):
        stats = _first_rows_stats(src, format, engine, opts.read, model, hashes)
    recorded = {f.name: getattr(opts.read, f.name) for f in dataclasses.fields(ReadOptions)
                if f.name not in ("keep", "on_rows", "progress")}
    meta: dict[str, Any] = {
        "format": table.format,
        "report": table.report.to_dict(),
        "source": {"name": src.path.name, "member": src.member, "compression": src.compression},
        "options": {"format": format, "engine": engine, **recorded},
    }
    aligned, check = _align_rows(task, lookup, table.tokens, table.vectors, stats, table.report.rows_read, opts, meta,
                                 model)
    del table, model  # the rows read are no longer needed once gathered and checked
    if opts.check.verify_source:
        check.against_file(src, format=format, engine=engine, options=opts.read)
    aligned.meta["align"]["self_check"] = check.summary()
    return aligned


def _repeats(hashes: array) -> bool:
    """True when some token hash comes twice (a repeated token, or, once in about 10**12 files, two tokens
    whose 64-bit hashes are equal: then the later one's row is left out of the statistics)."""
    keys = np.frombuffer(hashes, dtype=np.int64)
    return len(np.unique(keys)) != len(keys)


def _first_rows_stats(src: Any, format: str | None, engine: str | None, read: ReadOptions, model: Any,
                      hashes: array) -> RowStats:
    """The statistics over the first row of each token, as a converted table (which holds each token once)
    or a table in memory gives them: a second read of a file whose tokens repeat."""
    keys = np.frombuffer(hashes, dtype=np.int64)
    first = np.zeros(len(keys), dtype=bool)
    first[np.unique(keys, return_index=True)[1]] = True
    stats, position = RowStats(), [0]

    def add_first(rows: np.ndarray) -> None:
        start = position[0]
        position[0] += len(rows)
        stats.add(rows[first[start : position[0]]])

    again = dataclasses.replace(read, keep=lambda token: False, on_rows=add_first, progress=False)
    _read_rows(src, model, format, engine, again)
    return stats


def _read_rows(src: Any, model: Any, format: str | None, engine: str | None, read: ReadOptions) -> Any:
    """The source's rows through ``read``: from the fastText model already read, or by the readers."""
    if model is not None:
        return model.table(read)
    return read_table(src, format=format, engine=engine, options=read)


def _subword_model(src: Any, opts: AlignOptions, format: str | None, engine: str | None) -> Any:
    """The fastText model an ``oov="subword"`` alignment builds rows from, read once (its in-vocabulary
    rows come from the same read); None for the other methods."""
    if opts.rows.oov != "subword":
        return None
    from vecload.formats.detect import detect_format
    from vecload.formats.fasttext import FASTTEXT_FORMAT, read_model

    if (format or detect_format(src, opts.read.max_bytes)) != FASTTEXT_FORMAT:
        raise ArgumentError(f"{src.name}: oov='subword' builds rows from a fastText model, and this is not a "
                            f"fastText .bin file; choose another oov method")
    if engine not in (None, "native"):
        raise ArgumentError("oov='subword' reads the fastText model with the native engine; drop engine=")
    return read_model(src, opts.read)


def _align_table(vectors: Vectors, task: TaskRows, opts: AlignOptions) -> Aligned:
    """Vectors in memory (the first ``limit`` rows), through the core."""
    lookup = Lookup(lookup_chain(opts.rows.lookup), task.task)
    rows = vectors.vectors.detach().cpu().numpy()
    if opts.read.limit is not None:
        rows = rows[: opts.read.limit]
    stats = None
    if OOV_METHODS[opts.rows.oov].uses_stats:
        stats = RowStats()
        stats.add(rows)
    meta = {key: value for key, value in vectors.meta.items() if key in ("format", "source", "report")}
    aligned, check = _align_rows(task, lookup, vectors.tokens[: len(rows)], rows, stats, len(rows), opts, meta)
    aligned.meta["align"]["self_check"] = check.summary()
    return aligned


def _refuse_file_options(opts: AlignOptions, format: str | None, engine: str | None, member: str | None,
                         what: str) -> None:
    """Reading options make no sense for a table that is not read from a source: refuse them."""
    defaults = ReadOptions()
    named = {"format": format, "engine": engine, "member": member}
    given = [name for name, value in named.items() if value is not None]
    given += [f.name for f in dataclasses.fields(ReadOptions) if f.name not in ("limit", "progress")
              and getattr(opts.read, f.name) != getattr(defaults, f.name)]
    given += ["verify_source"] if opts.check.verify_source else []
    if given:
        raise ArgumentError(f"{what}; {', '.join(given)} apply only to reading a source file")


def _align_rows(task: TaskRows, lookup: Lookup, src_tokens: list[str], src_rows: np.ndarray, stats: RowStats | None,
                rows_read: int, opts: AlignOptions, meta: dict[str, Any], model: Any = None) -> tuple[Aligned, SelfCheck]:
    """The core: match, gather, fill, zero the pad, check, count; the aligned vectors and their check."""
    task_origins, picks = lookup.match(src_tokens)
    tokens = task.tokens
    n_special = len(task.specials)
    dim = src_rows.shape[1]
    index = np.zeros(len(tokens), dtype=np.intp)  # specials and OOV rows take row 0, overwritten below
    index[n_special:] = np.maximum(np.asarray(picks, dtype=np.intp), 0)
    rows = np.take(src_rows, index, axis=0) if len(src_rows) else np.zeros((len(tokens), dim), dtype=np.float32)
    origins = ["pad" if t == task.pad else "special" for t in task.specials] + task_origins
    fill = [r for r, origin in enumerate(origins) if origin in ("special", "oov")]
    request = OovRequest(tokens=[tokens[r] for r in fill], specials=origins.count("special"), dim=dim,
                         rng=np.random.default_rng(opts.rows.seed), stats=stats, options=opts.rows, model=model)
    filled, filled_origins, oov_init = fill_oov(opts.rows.oov, request)
    rows[fill] = filled
    del filled
    for r, origin in zip(fill, filled_origins):
        origins[r] = origin
    if task.pad_index is not None:
        rows[task.pad_index] = 0.0
    matched: list[str | None] = [None] * n_special + [src_tokens[p] if p >= 0 else None for p in picks]
    check = SelfCheck(lookup.steps, tokens, origins, matched, rows, opts.check.check_rows).against(src_tokens, src_rows)
    coverage = CoverageReport.count([step.name for step in lookup.steps], task.task, origins[n_special:], task.counts,
                                    opts.check.top_missing, specials=list(task.specials),
                                    specials_in_vocab=task.specials_in_vocab, vocab_duplicates=task.vocab.duplicates,
                                    source_rows=rows_read)
    meta["align"] = {
        "steps": [step.name for step in lookup.steps],
        "specials": list(task.specials),
        "pad_index": task.pad_index,
        "origins": origins,
        "matched": matched,
        "oov_init": oov_init,
        "coverage": coverage.to_dict(),
        "vocab": task.vocab.name,
    }
    return Aligned(tokens, torch.from_numpy(rows), meta), check
