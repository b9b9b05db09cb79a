"""vecload: pretrained word vectors as PyTorch embeddings you can trust.

``import vecload`` is cheap: torch and gensim are imported only when a name that needs them is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from vecload.errors import (
    ArgumentError,
    FormatError,
    FrozenTableModified,
    IntegrityError,
    OutputExistsError,
    ParseError,
    TokenNotFound,
    VecloadError,
)

from vecload._version import __version__

# name -> module that defines it; imported on first use (these modules import torch).
_LAZY = {
    "Vectors": "vecload.vectors",
    "convert": "vecload.conversion",
    "load": "vecload.loader",
    "ReadOptions": "vecload.formats.table",
    "align": "vecload.alignment",
    "Aligned": "vecload.alignment",
    "CoverageReport": "vecload.alignment",
    "PretrainedEmbedding": "vecload.embedding",
    "SubwordEmbedding": "vecload.subword",
    "assert_frozen": "vecload.freeze",
    "audit": "vecload.freeze",
    "fingerprint_frozen": "vecload.freeze",
    "Finding": "vecload.freeze",
    "FreezeWarning": "vecload.freeze",
    "export": "vecload.exporter",
    "evaluate": "vecload.evaluation",
}

__all__ = [
    "ArgumentError",
    "FormatError",
    "FrozenTableModified",
    "IntegrityError",
    "OutputExistsError",
    "ParseError",
    "TokenNotFound",
    "VecloadError",
    "__version__",
    *_LAZY,
]

if TYPE_CHECKING:
    from vecload.alignment import Aligned, CoverageReport, align
    from vecload.embedding import PretrainedEmbedding
    from vecload.formats.table import ReadOptions
    from vecload.freeze import Finding, FreezeWarning, assert_frozen, audit, fingerprint_frozen
    from vecload.evaluation import evaluate
    from vecload.exporter import export
    from vecload.conversion import convert
    from vecload.loader import load
    from vecload.subword import SubwordEmbedding
    from vecload.vectors import Vectors


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vecload' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
