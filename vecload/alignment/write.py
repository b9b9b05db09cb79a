"""``convert --vocab``: align a source file and write one ``OUT.pth`` (and the report and tokens beside it)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vecload.alignment.core import align
from vecload.alignment.options import AlignOptions
from vecload.alignment.vocab import TokensSpec
from vecload.store import write_json
from vecload.conversion import describe_source, prepare_output, source_paths


def convert_aligned(
    src: str | os.PathLike[str],
    tokens: TokensSpec,
    out: str | os.PathLike[str] | None = None,
    options: AlignOptions | None = None,
    *,
    force: bool = False,
    report_json: str | os.PathLike[str] | None = None,
    vocab_out: str | os.PathLike[str] | None = None,
    format: str | None = None,
    engine: str | None = None,
    member: str | None = None,
    **fields: Any,
) -> tuple[Path, dict[str, Any]]:
    """Align ``src`` to a task vocabulary and write one ``OUT.pth`` (and a JSON report, and the tokens).

    The file's metadata holds the alignment (origins, matched tokens, OOV initialisation and statistics,
    coverage report, self-check) and the source's name, size and sha256. The outputs are checked before
    anything is read.

    Args:
        src: The vector file.
        tokens: The task's tokens, as for :func:`vecload.align`.
        out: The ``.pth`` to write; by default beside the source (``glove.6B.50d.txt`` -> ``glove.6B.50d.pth``).
        options: The alignment's options, as for :func:`vecload.align`.
        force: Overwrite existing outputs.
        report_json: Also write the coverage report there (in the same atomic unit).
        vocab_out: Also write the aligned tokens there, one per line (JSON lines if a token holds a line
            break or is empty).
        format, engine, member, **fields: As for :func:`vecload.align`.

    Returns:
        The path written, and the metadata written into it.

    Raises:
        OutputExistsError: An output exists and ``force`` is False (checked before reading).

    Example:
        >>> path, meta = convert_aligned("glove.6B.50d.txt", "vocab.txt", "task.pth", lookup=("exact", "lower"))
    """
    opts = AlignOptions.build(options, **fields)
    extra = tuple(Path(p) for p in (report_json, vocab_out) if p is not None)
    inputs = (Path(tokens),) if isinstance(tokens, (str, os.PathLike)) else ()
    source, target = prepare_output(src, out, member, force, extra, inputs, opts.read.max_bytes)
    aligned = align(src, tokens, opts, format=format, engine=engine, member=member)
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
