"""What ``vecload info`` shows: a plain dict describing a source or a converted file."""

from __future__ import annotations

import os
from typing import Any

import torch

from vecload.errors import IntegrityError
from vecload.formats.table import ParseReport
from vecload.vectors import is_converted, load

_FIRST = 10


def describe(path: str | os.PathLike[str], *, verify: bool = False, **load_options: Any) -> dict[str, Any]:
    """Format, size, provenance, first tokens and a norm summary of a vector file.

    Args:
        path: A source file or a converted ``.pth``.
        verify: For a converted file, hash every byte of the tensor against its fingerprint.
        **load_options: As for :func:`vecload.load` (only for sources).

    Returns:
        A JSON-ready dict.
    """
    converted = load_options.get("member") is None and is_converted(path)
    if converted:
        vectors = load(path, verify=verify)
    else:
        vectors = load(path, **{k: v for k, v in load_options.items() if v is not None})
    meta = vectors.meta
    norms = vectors.vectors.norm(dim=1) if len(vectors) else torch.zeros(0)
    details: dict[str, Any] = {
        "path": os.fspath(path),
        "kind": "converted" if converted else "source",
        "format": meta.get("format"),
        "count": len(vectors),
        "dim": vectors.dim,
        "source": meta.get("source"),
        "first_tokens": vectors.tokens[:_FIRST],
        "norms": _summary(norms),
        "report": _report(path, meta.get("report"), meta.get("format")),
    }
    if converted:
        details["tokens_sha256"] = meta.get("tokens_sha256")
        details["tensor"] = meta.get("tensor")
        details["options"] = meta.get("options")
        details["vecload_version"] = meta.get("vecload_version")
        details["verified"] = verify
    return details


def _report(path: str | os.PathLike[str], report: object, fmt: object) -> str | None:
    """The parse report's one-line summary; a converted file's record is untrusted, so check its shape."""
    if not report:
        return None
    try:
        return ParseReport(**report).summary("byte" if fmt == "word2vec-binary" else "line")  # type: ignore[arg-type]
    except Exception as exc:  # wrong keys or value types in a hand-edited record
        raise IntegrityError(f"{os.fspath(path)}: damaged: its parse report is malformed ({exc}); "
                             f"convert the source again") from exc


def _summary(norms: torch.Tensor) -> dict[str, float] | None:
    if not len(norms):
        return None
    finite = norms[torch.isfinite(norms)]
    if not len(finite):
        return {"min": None, "mean": None, "max": None, "zero_rows": 0}  # every row has NaN/Inf; JSON has no NaN
    return {
        "min": round(float(finite.min()), 6),
        "mean": round(float(finite.mean()), 6),
        "max": round(float(finite.max()), 6),
        "zero_rows": int((norms == 0).sum()),
    }
