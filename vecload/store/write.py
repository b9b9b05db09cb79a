"""Writing a converted file: the tensor by ``torch.save``, the tokens and metadata records beside it, atomically."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

import torch

from vecload._atomic import Writer, write_files
from vecload._pth import root as _root
from vecload._version import __version__
from vecload.errors import VecloadError
from vecload.store.layout import (
    CAP_FIXED,
    CAP_PER_ROW,
    KIND,
    LAYOUT,
    LINE_BREAKS,
    META_RECORD,
    TOKENS_RECORD,
    all_strings,
    distinct,
    encode_tokens,
    fingerprint,
    record_cap,
)

def save(
    path: Path,
    tokens: list[str],
    vectors: torch.Tensor,
    meta: dict[str, Any],
    *,
    force: bool = False,
    progress: bool = False,
    vocab_out: Path | None = None,
    extra: Sequence[tuple[Path, Writer]] = (),
    sources: Sequence[Path] = (),
) -> dict[str, Any]:
    """Write one converted file (and the requested extras) atomically.

    Args:
        path: The ``.pth`` to write.
        tokens: One distinct string per row.
        vectors: The float32 table.
        meta: Metadata to record (source, format, report, options, ...).
        force: Overwrite existing outputs.
        progress: Show a tqdm bar while the tensor is written.
        vocab_out: Also write the tokens there, one per line (JSON lines if a token holds a line break or is
            empty), for tools outside vecload.
        extra: More ``(path, writer)`` pairs written in the same unit.
        sources: Files being read, which no output may replace.

    Returns:
        The metadata as written (with count, dim, version and fingerprints).

    Raises:
        OutputExistsError: An output exists and ``force`` is False.
        VecloadError: The tokens are not distinct strings, or writing failed (nothing was written).
    """
    vectors = vectors.detach().cpu().contiguous()
    if vectors.storage_offset() or vectors.untyped_storage().nbytes() != vectors.numel() * vectors.element_size():
        vectors = vectors.clone()  # a view: torch.save would write its whole storage, which load refuses
    if not all_strings(tokens):
        raise VecloadError(f"{path}: every token must be a str")
    if not distinct(tokens):
        raise VecloadError(f"{path}: the tokens are not distinct, so rows could not be addressed by token")
    tokens_record = encode_tokens(tokens)
    written = dict(meta)
    written.update(count=len(tokens), dim=int(vectors.shape[1]), vecload_version=__version__,
                   tensor=fingerprint(vectors), tokens_sha256=hashlib.sha256(tokens_record).hexdigest())
    meta_record = json.dumps({"kind": KIND, "layout": LAYOUT, "meta": written}, ensure_ascii=False,
                             separators=(",", ":")).encode("utf-8")
    cap = record_cap(len(tokens))
    if max(len(tokens_record), len(meta_record)) > cap:
        raise VecloadError(f"{path}: the tokens or metadata take more than {cap:,} bytes, more than a converted "
                           f"file may hold ({CAP_FIXED >> 20} MiB + {CAP_PER_ROW} bytes a row)")
    outputs: list[tuple[Path, Writer]] = [
        (Path(path), lambda fh: write_table(fh, vectors, tokens_record, meta_record, progress))
    ]
    if vocab_out is not None:
        outputs.append((Path(vocab_out), lambda fh: write_token_lines(fh, tokens)))
    outputs.extend(extra)
    write_files(outputs, force=force, sources=sources)
    return written


def write_table(fh: BinaryIO, vectors: torch.Tensor, tokens_record: bytes, meta_record: bytes, progress: bool) -> None:
    """``torch.save`` the bare tensor into ``fh``, then add vecload's records to the same archive."""
    _save_tensor(vectors, fh, progress)
    fh.seek(0)
    with zipfile.ZipFile(fh, "a") as archive:  # type: ignore[arg-type]
        root = _root(archive.namelist())
        if root is None:
            raise VecloadError("torch.save wrote an archive without data.pkl")
        archive.writestr(f"{root}/{TOKENS_RECORD}", tokens_record)
        archive.writestr(f"{root}/{META_RECORD}", meta_record)


def write_token_lines(fh: BinaryIO, tokens: list[str]) -> None:
    """The tokens one per line; every line a JSON string when a token holds a line break or is empty."""
    if token_lines_are_json(tokens):
        joined = "\n".join(json.dumps(token, ensure_ascii=False) for token in tokens)
    else:
        joined = "\n".join(tokens)
    fh.write(joined.encode("utf-8"))
    if tokens:
        fh.write(b"\n")


def token_lines_are_json(tokens: list[str]) -> bool:
    """True when :func:`write_token_lines` writes JSON lines for ``tokens``."""
    return LINE_BREAKS.search("".join(tokens)) is not None or "" in tokens


def write_json(fh: BinaryIO, document: Any, indent: int | None = None) -> None:
    """A JSON document in UTF-8 (compact unless ``indent``), ending in a newline."""
    separators = (",", ":") if indent is None else None
    fh.write(json.dumps(document, ensure_ascii=False, indent=indent, separators=separators).encode("utf-8") + b"\n")


def _save_tensor(vectors: torch.Tensor, fh: BinaryIO, progress: bool) -> None:
    """torch.save the bare tensor, with a byte-count progress bar if asked."""
    if not progress:
        torch.save(vectors, fh)
        return
    from tqdm import tqdm

    total = vectors.numel() * vectors.element_size()
    with tqdm(total=total, unit="B", unit_scale=True, desc="writing", leave=False) as bar:

        class _Counting:
            def write(self, data) -> int:
                written = fh.write(data)
                bar.update(min(written, max(total - bar.n, 0)))
                return written

            def flush(self) -> None:
                fh.flush()

        torch.save(vectors, _Counting())
