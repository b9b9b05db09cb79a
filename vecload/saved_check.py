"""``vecload check-frozen --model M --vectors V``: find the pretrained rows of converted vectors in a saved
``state_dict`` and report which of them changed."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

@dataclass
class SavedCheck:
    """Where a saved model holds the pretrained rows, and which of them changed."""

    key: str | None
    offset: int | None
    rows: int
    changed: list[int] = field(default_factory=list)
    max_abs_change: float = 0.0
    candidates: list[str] = field(default_factory=list)

    @property
    def untouched(self) -> bool:
        """The pretrained rows were found and are bit-identical."""
        return self.key is not None and not self.changed


def check_saved_model(model: str | os.PathLike[str], vectors: str | os.PathLike[str]) -> SavedCheck:
    """Find the pretrained rows of ``vectors`` in a saved state_dict and report which rows changed.

    Handles a :class:`PretrainedEmbedding` (``*.table``, specials first; with ``persist_frozen=False`` only
    ``*.table_fingerprint``, reported untouched: no frozen row is in the file) and a plain ``nn.Embedding``
    (``*.weight``) whose pretrained rows may be offset by specials; the file is loaded with
    ``weights_only=True`` (no code in it runs), and nested dicts (``{"model": state_dict, ...}``) are searched.

    Raises:
        IntegrityError: The model file cannot be loaded safely.
    """
    from vecload.errors import IntegrityError
    from vecload.loader import load

    path = Path(model)
    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except OSError:  # a missing or unreadable file is said as such
        raise
    except Exception as exc:
        raise IntegrityError(f"{path}: cannot be loaded with weights_only=True ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0]}); save it with torch.save(model.state_dict(), ...)") from exc
    reference = load(vectors).vectors
    tensors = dict(_flatten(state))
    candidates = [k for k, t in tensors.items() if t.dim() == 2 and t.is_floating_point()
                  and t.shape[1] == reference.shape[1] and t.shape[0] >= reference.shape[0]]
    best: SavedCheck | None = None
    for key in candidates:
        found = _locate(tensors[key], reference)
        if found is not None and (best is None or len(found[1]) < len(best.changed)):
            offset, changed, largest = found
            best = SavedCheck(key, offset, int(reference.shape[0]), changed, largest)
    fingerprints = [k for k in tensors if k.endswith("table_fingerprint")]
    if best is None and fingerprints:  # PretrainedEmbedding(persist_frozen=False): no frozen row was saved
        best = SavedCheck(fingerprints[0], None, int(reference.shape[0]))
    result = best or SavedCheck(None, None, int(reference.shape[0]))
    result.candidates = candidates
    return result


def _flatten(state: Any, prefix: str = "") -> list[tuple[str, torch.Tensor]]:
    if isinstance(state, torch.Tensor):
        return [(prefix or "<tensor>", state)]
    if isinstance(state, dict):
        out: list[tuple[str, torch.Tensor]] = []
        for key, value in state.items():
            out += _flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return out
    return []


def _locate(candidate: torch.Tensor, reference: torch.Tensor) -> tuple[int, list[int], float] | None:
    """The row offset at which ``reference`` sits in ``candidate`` (voted by exact row matches), or None."""
    cand = candidate.float()
    ref = reference.to(candidate.dtype).float()
    keys_c = _row_keys(cand).tolist()
    keys_r = _row_keys(ref)
    where: dict[int, int] = {}
    for row, key in enumerate(keys_c):
        where.setdefault(key, row)
    picks = torch.linspace(0, ref.shape[0] - 1, min(ref.shape[0], 256)).long().tolist()
    votes: dict[int, int] = {}
    for row in picks:
        hit = where.get(int(keys_r[row]))
        if hit is not None and 0 <= hit - row <= cand.shape[0] - ref.shape[0]:
            votes[hit - row] = votes.get(hit - row, 0) + 1
    if not votes:
        return None
    offset = max(votes, key=lambda o: votes[o])
    part = cand[offset : offset + ref.shape[0]]
    same = (part == ref).all(1) | ((part == ref) | (part.isnan() & ref.isnan())).all(1)
    changed = (~same).nonzero().flatten().tolist()
    largest = float((part - ref).abs().nan_to_num(nan=float("inf")).max()) if changed else 0.0
    return offset, changed, largest


def _row_keys(table: torch.Tensor) -> torch.Tensor:
    """An int64 key per row from its exact bits (equal rows, equal keys)."""
    bits = table.contiguous().view(torch.int32).long()
    weights = torch.arange(1, table.shape[1] + 1, dtype=torch.long) * 1_000_003 + 7919
    return (bits * weights).sum(1)


def format_saved(result: SavedCheck, model: str | os.PathLike[str], vectors: str | os.PathLike[str]) -> str:
    """A short report of :func:`check_saved_model`."""
    if result.key is None:
        shown = ", ".join(result.candidates) or "none"
        return (f"{model}: no tensor holds the {result.rows} rows of {vectors} (tensors of a fitting shape: {shown}); "
                f"was the model built from these vectors?")
    if result.offset is None:
        return (f"{model}: '{result.key}' stands in for the frozen rows (saved with persist_frozen=False): they are "
                f"not in the file, so they cannot have changed there; load_state_dict checks the fingerprint")
    where = f"{model}: '{result.key}' holds the {result.rows} pretrained rows at rows {result.offset}..{result.offset + result.rows - 1}"
    if not result.changed:
        return f"{where}: all bit-identical (untouched)"
    shown = ", ".join(str(r + result.offset) for r in result.changed[:10]) + (", ..." if len(result.changed) > 10 else "")
    count = len(result.changed)
    return f"{where}: {count} row{'s' if count != 1 else ''} changed (rows {shown}), largest change {result.max_abs_change:.6g}"
