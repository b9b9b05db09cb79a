"""Reading files into :class:`~vecload.vectors.Vectors` (:func:`load`): a source is opened
(:mod:`vecload.formats`) and read into a table wrapped with its provenance, or a converted file is loaded by
:mod:`vecload.store`. Writing converted files is :mod:`vecload.conversion`, which needs no torch.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import torch

import vecload.store as store
from vecload._cast import cast_rows
from vecload._pth import is_converted
from vecload.conversion import check_path, read_source
from vecload.errors import ArgumentError
from vecload.vectors import Vectors, check_dtype

if TYPE_CHECKING:
    from vecload.formats import Source
    
# The readers (vecload.formats) are imported where a source is read, not here: loading a converted file
# needs none of them, and their imports are a tenth of that load's time.


def load(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    engine: str | None = None,
    member: str | None = None,
    verify: bool = False,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    **read_options: Any,
) -> Vectors:
    """Load vectors from a source file (GloVe, word2vec text or binary, fastText .vec) or a converted .pth.

    Args:
        path: The file; ``archive.zip:member`` (or ``archive.tar.gz:member``) reads a member of a zip or tar archive.
        format: Read as this format instead of detecting it.
        engine: ``"native"`` or ``"gensim"``.
        member: The member of a zip or tar archive.
        verify: For a converted file, hash every byte against the fingerprint.
        device: Put the table there (``"cuda"``, ``"meta"``, ...), built chunk by chunk from the file.
        dtype: ``torch.float16`` or ``torch.bfloat16`` for a narrower table in memory (the float32 rows are
            rounded, chunk by chunk, without a second full float32 copy); such a table cannot be saved.
        **read_options: :class:`vecload.ReadOptions` fields (``limit``, ``keep``, ``unicode_errors``,
            ``duplicates``, ``nonfinite``, ``bad_rows``, ``progress``).

    Returns:
        The vectors.

    Example:
        >>> v = vecload.load("glove.6B.50d.txt")
        >>> emb = v.to_embedding(freeze=True)
    """
    check_path(path)
    if member is None and is_converted(path):
        if format or engine or read_options:
            raise ArgumentError(f"{path}: is a converted file; format, engine and read options apply to sources")
        vectors = load_converted(path, verify=verify)
    else:
        from vecload.formats import open_source

        source = open_source(path, member, read_options.get("max_bytes"))
        vectors = _read(source, format, engine, read_options)
    if device is not None or dtype is not None:
        vectors.vectors = cast_rows(vectors.vectors, dtype=check_dtype(dtype), device=device)
    return vectors


def _read(source: Source, format: str | None, engine: str | None, read_options: dict[str, Any]) -> Vectors:
    """Read an opened source into :class:`Vectors` recording its provenance."""
    table, meta = read_source(source, format, engine, read_options)
    return Vectors(table.tokens, torch.from_numpy(table.vectors), meta)


def load_converted(path: str | os.PathLike[str], *, verify: bool = False) -> Vectors:
    """Load a converted ``.pth``: its tokens, tensor (memory-mapped) and metadata, all checked.

    Args:
        path: The ``.pth`` file.
        verify: Also hash every byte of the tensor against the fingerprint (slower on large tables).

    Raises:
        OSError: The file is missing or unreadable.
        IntegrityError: The file is damaged, unsafe, not a vecload table, or does not match its fingerprints.
    """
    tokens, tensor, meta = store.load(path, verify=verify)
    vectors = Vectors(tokens, tensor, meta)
    return vectors
