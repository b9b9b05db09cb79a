"""The alignment recorded in a table's metadata (``meta["align"]``): checked, and what an embedding needs
from it (the trainable rows, the pad row). Below :class:`~vecload.alignment.aligned.Aligned` and
:class:`vecload.PretrainedEmbedding`, which both read it: a converted aligned file loaded with
:func:`vecload.load` is a plain ``Vectors`` that still carries it."""

from __future__ import annotations

from typing import Any

import torch

from vecload.alignment.coverage import CoverageReport
from vecload.errors import IntegrityError


def trainable_mask(align: dict[str, Any]) -> torch.Tensor:
    """True for rows with no pretrained vector: every row but the pad and the rows a lookup step found."""
    steps = set(align["steps"])
    return torch.tensor([o != "pad" and o not in steps for o in align["origins"]], dtype=torch.bool)


def check_metadata(align: Any, count: int) -> None:
    """``meta["align"]`` must have the entries the properties read, of the right types and lengths."""
    def bad(what: str) -> IntegrityError:
        return IntegrityError(f"the alignment metadata is damaged: {what}; convert with the vocabulary again")

    if not isinstance(align, dict):
        raise bad(f"meta['align'] is a {type(align).__name__}, not a dict")
    for key, kind in (("origins", list), ("matched", list), ("steps", list), ("specials", list), ("coverage", dict)):
        if not isinstance(align.get(key), kind):
            raise bad(f"'{key}' is {type(align.get(key)).__name__}, expected a {kind.__name__}")
    for key in ("origins", "matched"):
        if len(align[key]) != count:
            raise bad(f"'{key}' has {len(align[key])} entries for {count} rows")
    if not all(isinstance(origin, str) for origin in align["origins"]):
        raise bad("'origins' holds an entry that is not a string")
    if not all(token is None or isinstance(token, str) for token in align["matched"]):
        raise bad("'matched' holds an entry that is neither a string nor None")
    if not all(isinstance(step, str) for step in align["steps"]):
        raise bad("'steps' holds an entry that is not a string")
    pad = align.get("pad_index")
    if pad is not None and (isinstance(pad, bool) or not isinstance(pad, int) or not 0 <= pad < count
                            or align["origins"][pad] != "pad"):
        raise bad(f"'pad_index' is {pad!r}, not the row of the pad")
    try:
        CoverageReport.from_dict(align["coverage"])
    except TypeError as exc:
        raise bad(f"'coverage' does not hold a coverage report ({exc})") from exc
