"""``vecload check-frozen --model M --vectors V``: find the pretrained rows of converted vectors in a saved
``state_dict`` and report which of them changed."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vecload._embedding_state import FINGERPRINT_KEY, LAYOUT_KEY
from vecload.errors import IntegrityError


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

    Handles a :class:`PretrainedEmbedding` (``*.table``, specials first; with ``persist_frozen=False``,
    ``*.table_fingerprint``: the module is rebuilt from ``vectors`` with the layout the checkpoint records
    and the fingerprints compared) and a plain ``nn.Embedding``
    (``*.weight``) whose pretrained rows may be offset by specials; the file is loaded with
    ``weights_only=True`` (no code in it runs), and nested dicts (``{"model": state_dict, ...}``) are searched.

    Raises:
        IntegrityError: The model file cannot be loaded safely; or it is a ``persist_frozen=False`` checkpoint
            that was not saved from ``vectors`` (another file, other rows or dtype: the fingerprints differ,
            or its trainable rows have another shape), or that records no layout to compare with.
    """
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
    fingerprints = [k for k in tensors if k.endswith(FINGERPRINT_KEY)]
    if best is None and fingerprints:  # PretrainedEmbedding(persist_frozen=False): no frozen row was saved
        _check_fingerprint(path, vectors, tensors, fingerprints[0])
        best = SavedCheck(fingerprints[0], None, int(reference.shape[0]))
    result = best or SavedCheck(None, None, int(reference.shape[0]))
    result.candidates = candidates
    return result


def _check_fingerprint(model: Path, vectors: str | os.PathLike[str], tensors: dict[str, torch.Tensor],
                       key: str) -> None:
    """Rebuild the module from ``vectors`` with the checkpoint's layout; refuse another table or row shape."""
    from vecload.embedding import PretrainedEmbedding
    from vecload._embedding_state import table_fingerprint
    from vecload.errors import ArgumentError
    from vecload.loader import load

    prefix = key[: -len(FINGERPRINT_KEY)]
    if prefix + LAYOUT_KEY not in tensors:
        raise IntegrityError(f"{model}: '{key}' stands in for the frozen rows, but the checkpoint records no "
                             f"'{prefix}{LAYOUT_KEY}' (saved by vecload 0.3 or earlier), so it cannot be compared "
                             f"with {vectors}; build the module from {vectors} as in training and call "
                             f"load_state_dict, which checks the fingerprint")
    try:
        layout = json.loads(bytes(tensors[prefix + LAYOUT_KEY].tolist()).decode("utf-8"))
        vectors_loaded = load(vectors)
        mask = torch.zeros(len(vectors_loaded), dtype=torch.bool)
        mask[layout["trainable"]] = True
        emb = PretrainedEmbedding(vectors_loaded, specials=layout["specials"], extra_tokens=layout["extra_tokens"],
                                  trainable=mask, padding_idx=layout["padding_idx"], freeze=layout["freeze"],
                                  dtype=getattr(torch, layout["dtype"]), init_std=0.0)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        if isinstance(exc, ArgumentError):  # the layout names tokens or rows these vectors do not have
            raise IntegrityError(f"{model}: was not saved from {vectors}: the module it records cannot be built "
                                 f"from them ({exc}); give the converted file the model was built from") from exc
        raise IntegrityError(f"{model}: '{prefix}{LAYOUT_KEY}' is damaged ({type(exc).__name__}: {exc}); "
                             f"save the checkpoint again") from exc
    extra = tensors.get(prefix + "extra")
    if extra is not None and tuple(extra.shape) != tuple(emb.extra.shape):
        raise IntegrityError(f"{model}: '{prefix}extra' holds trainable rows of shape {tuple(extra.shape)}; the "
                             f"module built from {vectors} has {tuple(emb.extra.shape)}: the model was not "
                             f"built from these vectors")
    if not torch.equal(tensors[key].cpu(), table_fingerprint(emb)):
        raise IntegrityError(f"{model}: '{key}' does not match the frozen table built from {vectors} with the "
                             f"checkpoint's layout (specials, extra tokens, trainable rows, dtype): the model was "
                             f"trained on other vectors (another file, or other rows); give the converted file it "
                             f"was built from (for an aligned table, the aligned file)")


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
        return (f"{model}: '{result.key}' stands in for the frozen rows (saved with persist_frozen=False) and "
                f"matches the table built from {vectors}: the frozen rows are not in the file, so they cannot have "
                f"changed there")
    where = f"{model}: '{result.key}' holds the {result.rows} pretrained rows at rows {result.offset}..{result.offset + result.rows - 1}"
    if not result.changed:
        return f"{where}: all bit-identical (untouched)"
    shown = ", ".join(str(r + result.offset) for r in result.changed[:10]) + (", ..." if len(result.changed) > 10 else "")
    count = len(result.changed)
    return f"{where}: {count} row{'s' if count != 1 else ''} changed (rows {shown}), largest change {result.max_abs_change:.6g}"
