"""Align pretrained vectors to a task vocabulary: :func:`align`, its result :class:`Aligned` and its options.

The result has one row per task token, in the task's order, after the specials (``<pad>`` first, a zero
row, then ``<unk>``...). Each task token is looked up through a chain of steps (``exact``, then
``lower``, ...): the first step that matches wins, so an exact match always beats a lowercase match of
another source token; when several source tokens share a key (``The``, ``the``), the first in file order
wins. Rows the source lacks, and the specials other than the pad, are filled by the OOV method.

The modules, in the order a call goes through them:

- :mod:`~vecload.alignment.options`: the options, one dataclass per concern, with their choices;
- :mod:`~vecload.alignment.vocab`: the task vocabulary (a list, a mapping, a file) and the specials;
- :mod:`~vecload.alignment.core`: :func:`align`, one core for files and for tables in memory;
- :mod:`~vecload.alignment.lookup`: the lookup steps (normalisers) and the matching;
- :mod:`~vecload.alignment.oov`: the OOV methods (one entry each) and the row statistics;
- :mod:`~vecload.alignment.selfcheck`: a sample matched again by another route, compared bit for bit;
- :mod:`~vecload.alignment.coverage`: the :class:`CoverageReport`;
- :mod:`~vecload.alignment.aligned`: :class:`Aligned`; :mod:`~vecload.alignment.write`: ``convert --vocab``.

(The package is ``vecload.alignment``, not ``vecload.align``: importing a subpackage binds its name on
the parent package, which would replace the function ``vecload.align`` with the module.)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> module; imported on first use, so that the options (and the CLI that reads their choices) do not
# import torch
_LAZY = {
    "align": "vecload.alignment.core",
    "Aligned": "vecload.alignment.aligned",
    "CoverageReport": "vecload.alignment.coverage",
    "AlignOptions": "vecload.alignment.options",
    "CheckOptions": "vecload.alignment.options",
    "RowOptions": "vecload.alignment.options",
    "TaskOptions": "vecload.alignment.options",
    "convert_aligned": "vecload.alignment.write",
}
__all__ = sorted(_LAZY)

if TYPE_CHECKING:
    from vecload.alignment.aligned import Aligned
    from vecload.alignment.core import align
    from vecload.alignment.coverage import CoverageReport
    from vecload.alignment.options import AlignOptions, CheckOptions, RowOptions, TaskOptions
    from vecload.alignment.write import convert_aligned


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vecload.alignment' has no attribute {name!r}")
