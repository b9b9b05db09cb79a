"""Writing converted files (:func:`convert`): a source is opened (:mod:`vecload.formats`), read into a table
and written with its provenance by :mod:`vecload.store`.

Nothing here imports torch: ``vecload convert`` reads with numpy and writes the archive itself
(:mod:`vecload.store.archive`), so a conversion skips torch's import (about two seconds and 200 MiB).
:mod:`vecload.loader` builds on this module to load into :class:`~vecload.vectors.Vectors`.
"""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import vecload.store as store
from vecload._atomic import check_outputs
from vecload._pth import is_converted
from vecload.errors import ArgumentError, Option, VecloadError, Wording

if TYPE_CHECKING:
    from vecload.formats import Source
    from vecload.formats.table import Table


def convert(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    force: bool = False,
    vocab_out: str | os.PathLike[str] | None = None,
    format: str | None = None,
    engine: str | None = None,
    member: str | None = None,
    **read_options: Any,
) -> Path:
    """Convert a source file into one ``OUT.pth`` holding the float32 tensor, its tokens and metadata.

    The output's directory, the output itself and the source are checked before the source is read: a
    missing or read-only directory, an existing output (unless ``force``) or an output that is the source
    (even with ``force``) fail at once. Temporaries that killed conversions left for the same output are
    removed (and logged).

    Args:
        src: The source file.
        out: The ``.pth`` to write; by default beside the source (``glove.6B.50d.txt`` -> ``glove.6B.50d.pth``).
        force: Overwrite existing outputs.
        vocab_out: Also write the tokens there, one per line (JSON lines if a token holds a line break or is
            empty), for tools outside vecload.
        format, engine, member, **read_options: As for :func:`load`.

    Returns:
        The path written.

    Raises:
        OutputExistsError: An output exists and ``force`` is False (checked before reading).
        VecloadError: The table read has no rows (a ``0 dim`` header, ``limit=0``, every row filtered): a
            converted file is never empty. Or the output cannot be written there, or writing failed
            (nothing was written).

    Example:
        >>> vecload.convert("glove.6B.50d.txt")  # -> glove.6B.50d.pth
    """
    check_path(src)
    extra = (Path(vocab_out),) if vocab_out is not None else ()
    source, target = prepare_output(src, out, member, force, extra, max_bytes=read_options.get("max_bytes"))
    table, meta = read_source(source, format, engine, read_options)
    if not table.tokens:
        raise _no_rows(source, table, read_options.get("limit"))
    store.save(target, table.tokens, table.vectors, meta, force=force, progress=bool(read_options.get("progress")),
               vocab_out=Path(vocab_out) if vocab_out is not None else None, sources=source_paths(src, source))
    return target


def read_source(source: Source, format: str | None, engine: str | None,
                read_options: dict[str, Any]) -> tuple[Table, dict[str, Any]]:
    """Read an opened source with the readers (:func:`vecload.formats.read_table`); return the table and the
    metadata to record: format, parse report, the source file's name, size and sha256, the options.

    The sha256 is computed on a second thread while the table is read (hashlib releases the GIL), so it
    costs no wall time where a core is free. The thread is joined before this returns, and stops at its
    next block when the read fails or the wait for it is interrupted.
    """
    from vecload.formats import ReadOptions, read_table

    stop = threading.Event()
    with ThreadPoolExecutor(1, thread_name_prefix="vecload-hash") as pool:
        described = pool.submit(describe_source, source, stop)
        try:
            table = read_table(source, format=format, engine=engine, options=ReadOptions.of(**read_options))
            meta = {"format": table.format, "report": table.report.to_dict(), "source": described.result(),
                    "options": _recorded_options(format, engine, read_options)}
        except BaseException:  # a failed read, or Ctrl-C while waiting for the hash: stop it at its next block
            stop.set()
            raise
    return table, meta


def check_path(path: object) -> None:
    """A path is a str or an os.PathLike (a KeyedVectors, say, is not: see ``Vectors.from_keyedvectors``)."""
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentError(f"expected a path (str or os.PathLike), got {type(path).__name__}")


def default_output(source: Source) -> Path:
    """Where ``convert`` writes by default: beside the source, ``glove.6B.50d.txt.gz`` -> ``glove.6B.50d.pth``."""
    return source.path.with_name(source.stem + ".pth")


def describe_source(source: Source, stop: threading.Event | None = None) -> dict[str, Any]:
    """Name, size and sha256 of the stored source file (None once ``stop`` is set)."""
    digest = hashlib.sha256()
    with open(source.path, "rb") as fh:
        while block := fh.read(1 << 22):
            if stop is not None and stop.is_set():
                return None  # type: ignore[return-value]
            digest.update(block)
    return {
        "name": source.path.name,
        "member": source.member,
        "compression": source.compression,
        "size": source.path.stat().st_size,
        "sha256": digest.hexdigest(),
    }


def _no_rows(source: Source, table: Table, limit: int | None) -> VecloadError:
    """The refusal to write a table of no rows, with the reason it has none."""
    where = f"{source.name}: no rows to convert, so nothing was written"
    if limit == 0:
        return VecloadError(where, fix=Wording("{} asks for none; give a limit of at least 1", Option("limit", 0)))
    report = table.report
    if report.header is not None and report.header[0] == 0:
        return VecloadError(f"{where} (its header says {report.header[0]} {report.header[1]}: no rows of "
                            f"{report.header[1]} values)")
    if not report.rows_read:
        return VecloadError(f"{where} (it holds no data rows)")
    return VecloadError(f"{where} (all {report.rows_read} rows read were left out: {report.summary()})")


def prepare_output(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str] | None,
    member: str | None,
    force: bool,
    extra: tuple[Path, ...] = (),
    inputs: tuple[Path, ...] = (),
    max_bytes: int | None = None,
) -> tuple[Source, Path]:
    """Resolve the source and the output, refusing unwritable or existing outputs before any reading.

    Args:
        src: The source, as the user named it.
        out: The ``.pth`` to write, or None for the default beside the source.
        member: The member of a zip archive.
        force: Allow replacing existing outputs.
        extra: Other outputs of the same conversion.
        inputs: Other files read by the conversion (never to be overwritten).
        max_bytes: The decompression bound for walking a compressed tar archive to the member.
    """
    protected = (*source_paths(src), *inputs)
    if out is not None:  # checked before the source is even opened
        check_outputs([Path(out), *extra], force, protected)
    if member is None and is_converted(src):
        store.load(src)  # says what the file is when it is not one of vecload's tables
        raise VecloadError(f"{src}: is already a converted file, nothing to convert",
                           fix=Wording("{} reads it as it is", Option("vecload.load", call=True)))
    from vecload.formats import open_source

    source = open_source(src, member, max_bytes)
    target = Path(out) if out is not None else default_output(source)
    check_outputs([target, *extra], force, (*source_paths(src, source), *inputs))
    return source, target


def source_paths(src: str | os.PathLike[str], source: Source | None = None) -> tuple[Path, ...]:
    """The files a source names: the path as given, the archive of ``archive.zip:member``, the opened file."""
    text = os.fspath(src)
    paths = [Path(text)]
    archive = text.rpartition(":")[0]
    if archive:
        paths.append(Path(archive))
    if source is not None:
        paths.append(source.path)
    return tuple(paths)


def _recorded_options(format: str | None, engine: str | None, read_options: dict[str, Any]) -> dict[str, Any]:
    from vecload.formats import DEFAULT_ENGINE

    recorded: dict[str, Any] = {"format": format, "engine": engine or DEFAULT_ENGINE}
    for key, value in read_options.items():
        if key in ("progress",):
            continue
        recorded[key] = value if isinstance(value, (str, int, float, bool, type(None))) else f"<{type(value).__name__}>"
    return recorded
