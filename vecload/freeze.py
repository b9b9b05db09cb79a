"""Proofs that frozen tensors stay frozen: exact fingerprints, :func:`assert_frozen`, and :func:`audit`.

What counts as frozen: every parameter with ``requires_grad=False``, every floating-point buffer (except
normalisation running statistics, which are meant to change), and the frozen part of every
:class:`vecload.PretrainedEmbedding` (its frozen rows, wherever they lie; all rows with ``freeze="all"``).
"""

from __future__ import annotations

import fnmatch
import hashlib
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Union

import torch
from torch import nn

from vecload.errors import FrozenTableModified

Rows = Union[int, torch.Tensor]  # a first row, or the row of each entry
_RUNNING_STATS = ("running_mean", "running_var", "num_batches_tracked")
_SPARSE_OK = {"SGD", "Adagrad", "SparseAdam"}  # checked on torch 2.13; SGD and Adagrad only without weight decay


class FreezeWarning(UserWarning):
    """:func:`audit` found a way in which a frozen tensor can change, or a freezing set-up that will fail."""


@dataclass(frozen=True)
class Finding:
    """One problem :func:`audit` found.

    Attributes:
        code: A stable short name (``max_norm``, ``stale_grad``, ``optimizer``, ``grad_hook``, ``sparse``,
            ``shared``, ``omitted``).
        name: The parameter or module it concerns.
        message: What is wrong and what it does.
        fix: What to do instead.
    """

    code: str
    name: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.name}: {self.message}. Fix: {self.fix}"


# -- fingerprints -------------------------------------------------------------------------------------------
def frozen_tensors(model: nn.Module, exclude: Iterable[str] = ()) -> Iterator[tuple[str, torch.Tensor, Rows]]:
    """Yield ``(name, tensor, rows)`` for every frozen tensor of ``model`` (see the module docstring).

    ``rows`` is the first row's number in the index space, or the number of each row (the frozen rows of
    a :class:`vecload.PretrainedEmbedding` with ``trainable=`` rows among them, gathered).

    Args:
        model: The model.
        exclude: ``fnmatch`` patterns of names to leave out.
    """
    from vecload.embedding import PretrainedEmbedding

    patterns = list(exclude)
    seen: set[int] = set()
    for prefix, module in model.named_modules():
        dot = f"{prefix}." if prefix else ""
        if isinstance(module, PretrainedEmbedding):
            items: list[tuple[str, torch.Tensor, Rows]] = [
                (dot + name, tensor, rows) for name, (tensor, rows) in module.frozen_tensors().items()]
        else:
            items = [(dot + n, p, 0) for n, p in module.named_parameters(recurse=False) if not p.requires_grad]
            items += [(dot + n, b, 0) for n, b in module.named_buffers(recurse=False)
                      if b is not None and b.is_floating_point() and n not in _RUNNING_STATS]
        for name, tensor, row in items:
            if id(tensor) in seen or any(fnmatch.fnmatchcase(name, p) for p in patterns):
                continue
            seen.add(id(tensor))
            yield name, tensor, row


def tensor_sha256(tensor: torch.Tensor) -> str:
    """A hash of a tensor's dtype, shape and bytes (exact: any change to any bit changes it)."""
    data = tensor.detach().contiguous().cpu().reshape(-1).view(torch.uint8).numpy()
    digest = hashlib.sha256(f"{tensor.dtype}{tuple(tensor.shape)}".encode())
    digest.update(memoryview(data))
    return digest.hexdigest()


def fingerprint_frozen(model: nn.Module, exclude: Iterable[str] = ()) -> dict[str, str]:
    """The sha256 of every frozen tensor of ``model``, by name.

    Example:
        >>> before = vecload.fingerprint_frozen(model); train(model)
        >>> assert vecload.fingerprint_frozen(model) == before
    """
    return {name: tensor_sha256(tensor) for name, tensor, _ in frozen_tensors(model, exclude)}


class FrozenGuard:
    """What :func:`assert_frozen` returns: a snapshot of the frozen tensors, checked on exit or by :meth:`check`."""

    def __init__(self, model: nn.Module, detail: bool = True, exclude: Iterable[str] = ()) -> None:
        self.model, self.detail, self.exclude = model, detail, list(exclude)
        self.snapshot: dict[str, tuple[str, torch.Tensor | None, Rows]] = {}

    def __enter__(self) -> FrozenGuard:
        self.snapshot = {
            name: (tensor_sha256(t), t.detach().cpu().clone() if self.detail else None, row)
            for name, t, row in frozen_tensors(self.model, self.exclude)
        }
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.check()

    def check(self) -> None:
        """Compare the frozen tensors with the snapshot now.

        Raises:
            FrozenTableModified: A frozen tensor changed; names it, the rows and the largest change.
        """
        current = {name: (t, row) for name, t, row in frozen_tensors(self.model, self.exclude)}
        changes = []
        for name, (digest, copy, row) in self.snapshot.items():
            if name not in current:
                changes.append({"name": name, "rows": [], "max_abs_change": None, "note": "no longer frozen or gone"})
            elif tensor_sha256(current[name][0]) != digest:
                changes.append(_describe_change(name, copy, current[name][0], row))
        if changes:
            lines = [_change_line(change) for change in changes]
            raise FrozenTableModified(
                f"{len(changes)} frozen tensor{'s' if len(changes) > 1 else ''} changed:\n  " + "\n  ".join(lines)
                + "\nRun vecload.audit(model, optimizer) to find the cause.",
                changes,
            )


def assert_frozen(model: nn.Module, *, detail: bool = True, exclude: Iterable[str] = ()) -> FrozenGuard:
    """A context manager that raises if any frozen tensor of ``model`` changed inside the block.

    Args:
        model: The model.
        detail: Keep a CPU copy of the frozen tensors to name the changed rows and the size of the change;
            ``False`` keeps only hashes (then only the tensor is named).
        exclude: ``fnmatch`` patterns of tensor names to leave out.

    Raises:
        FrozenTableModified: On leaving the block (or on ``guard.check()``) if a frozen tensor changed.

    Example:
        >>> with vecload.assert_frozen(model):
        ...     train(model, steps=100)
    """
    return FrozenGuard(model, detail, exclude)


def _describe_change(name: str, before: torch.Tensor | None, after: torch.Tensor, row: Rows) -> dict[str, Any]:
    """Which rows differ bit for bit, and the largest absolute change (inf where a NaN appeared or went)."""
    if before is None or before.shape != after.shape or before.dtype != after.dtype:
        note = "bytes differ" if before is None else "shape or dtype changed"
        return {"name": name, "rows": [], "max_abs_change": None, "note": note}
    now = after.detach().cpu()
    count = now.shape[0] if now.dim() else 1
    a, b = _bits(now).reshape(count, -1), _bits(before).reshape(count, -1)
    differs = a != b
    changed = differs.any(1)
    diff = (now.double() - before.double()).abs().reshape(count, -1).nan_to_num(nan=float("inf"))
    largest = float(torch.where(differs, diff, 0.0).max()) if differs.any() else 0.0
    where = changed.nonzero().flatten()
    rows = (where + row if isinstance(row, int) else row.cpu()[where]).tolist()
    return {"name": name, "rows": rows, "max_abs_change": largest, "total_rows": count}


def _bits(tensor: torch.Tensor) -> torch.Tensor:
    """The tensor's raw bits as integers of the same width (so -0.0 != 0.0 and NaN == the same NaN)."""
    ints = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}
    flat = tensor.contiguous().reshape(-1)
    width = flat.element_size()
    return flat.view(ints[width]) if width in ints and not flat.is_complex() else flat.view(torch.uint8)


def _change_line(change: dict[str, Any]) -> str:
    if not change["rows"]:
        return f"{change['name']}: {change.get('note', 'changed')}"
    rows = change["rows"]
    shown = ", ".join(map(str, rows[:10])) + (", ..." if len(rows) > 10 else "")
    return (f"{change['name']}: {len(rows)} of {change['total_rows']} rows changed (rows {shown}), "
            f"largest change {change['max_abs_change']:.6g}")


# -- audit --------------------------------------------------------------------------------------------------
def audit(
    model: nn.Module,
    optimizer: torch.optim.Optimizer | Iterable[torch.optim.Optimizer] | None = None,
    *,
    sources: Iterable[torch.Tensor] | None = None,
    warn: bool = True,
) -> list[Finding]:
    """Find the ways in which a model's frozen tensors can change, or its freezing set-up can fail.

    Checks: ``max_norm`` on a frozen embedding; frozen parameters that hold gradients, or sit in an
    optimizer with weight decay, momentum or optimizer state; gradient hooks on embedding weights
    (freezing by gradient masking); ``sparse=True`` with an optimizer that rejects sparse gradients;
    weights that share memory with a tensor the caller passed in (``sources``, e.g. ``vectors.vectors``);
    trainable parameters left out of the optimizer (frozen only by omission).

    Args:
        model: The model.
        optimizer: Its optimizer (or several); without it, optimizer checks are skipped.
        sources: Tensors the caller built the model from, checked for shared memory.
        warn: Also issue each finding as a :class:`FreezeWarning`.

    Returns:
        The findings, in model order; empty when nothing was found.

    Example:
        >>> for finding in vecload.audit(model, optimizer, warn=False):
        ...     print(finding)
    """
    optimizers = [optimizer] if isinstance(optimizer, torch.optim.Optimizer) else list(optimizer or [])
    groups = {id(p): (opt, group) for opt in optimizers for group in opt.param_groups for p in group["params"]}
    findings: list[Finding] = []
    for name, param in model.named_parameters():
        findings += _audit_parameter(name, param, groups.get(id(param)), bool(optimizers))
    for prefix, module in model.named_modules():
        findings += _audit_module(prefix, module, groups, bool(optimizers))
    if sources is not None:
        findings += _audit_sharing(model, list(sources))
    if warn:
        for finding in findings:
            warnings.warn(str(finding), FreezeWarning, stacklevel=2)
    return findings


def _audit_parameter(name: str, param: nn.Parameter, place: tuple[Any, dict] | None, has_opt: bool) -> list[Finding]:
    found: list[Finding] = []
    if param.requires_grad:
        if has_opt and place is None:
            found.append(Finding("omitted", name, "trainable but in no optimizer, so frozen only by omission "
                                 "(it still gets gradients, and max_norm or a later optimizer can change it)",
                                 f"{name}.requires_grad_(False), or use vecload.PretrainedEmbedding"))
        return found
    if param.grad is not None:
        found.append(Finding("stale_grad", name, "is frozen (requires_grad=False) but still holds a gradient; "
                             "optimizers apply weight decay and momentum to any parameter with a .grad",
                             f"set {name}.grad = None, and use optimizer.zero_grad(set_to_none=True)"))
    if place is not None:
        opt, group = place
        movers = _movers(opt, group, param)
        if movers:
            found.append(Finding("optimizer", name, f"is frozen but sits in {type(opt).__name__} with "
                                 f"{' and '.join(movers)}, which move it as soon as it has a gradient tensor "
                                 "(even an all-zero one)",
                                 "give the optimizer only trainable parameters: "
                                 "[p for p in model.parameters() if p.requires_grad]"))
    return found


def _movers(opt: torch.optim.Optimizer, group: dict, param: torch.Tensor) -> list[str]:
    """What in an optimizer group moves a parameter whose gradient is zero."""
    movers = []
    if group.get("weight_decay"):
        movers.append(f"weight_decay={group['weight_decay']}")
    if group.get("momentum"):
        movers.append(f"momentum={group['momentum']}")
    if "betas" in group and group["betas"][0]:
        movers.append(f"momentum (betas[0]={group['betas'][0]})")
    if opt.state.get(param):
        movers.append("saved state from earlier steps")
    return movers


def _audit_module(prefix: str, module: nn.Module, groups: dict[int, tuple[Any, dict]], has_opt: bool) -> list[Finding]:
    from vecload.embedding import PretrainedEmbedding

    found: list[Finding] = []
    name = prefix or "<model>"
    weight_name = f"{prefix}.weight" if prefix else "weight"
    if isinstance(module, (nn.Embedding, nn.EmbeddingBag)):
        weight = module.weight
        hooks = getattr(weight, "_backward_hooks", None) or getattr(weight, "_post_accumulate_grad_hooks", None)
        frozen = not weight.requires_grad or (has_opt and id(weight) not in groups) or bool(hooks)
        if module.max_norm is not None and frozen:
            found.append(Finding("max_norm", weight_name, f"max_norm={module.max_norm} renormalises looked-up "
                                 "rows in place during forward, even frozen and under torch.no_grad, so the "
                                 "frozen table changes", "use vecload.PretrainedEmbedding(max_norm=...), which "
                                 "scales the output and never the table, or drop max_norm"))
        if hooks:
            found.append(Finding("grad_hook", weight_name, "has gradient hooks, as used to freeze rows by "
                                 "masking their gradient; masked rows still move under weight decay, and rows "
                                 "with momentum or Adam state keep moving", "freeze by construction: "
                                 "vecload.PretrainedEmbedding(vectors, specials=...) (ignore this if the hook is "
                                 "not a mask)"))
    sparse = getattr(module, "sparse", False)
    if sparse:
        params = [p for p in module.parameters(recurse=False) if p.requires_grad]
        if isinstance(module, PretrainedEmbedding):
            params = [p for p in (module.extra, module.table) if isinstance(p, nn.Parameter) and p.requires_grad]
        for param in params:
            if id(param) in groups:
                opt, group = groups[id(param)]
                reason = _sparse_problem(opt, group)
                if reason:
                    found.append(Finding("sparse", name, f"sparse=True but {reason}",
                                         "use SparseAdam for the embedding (and Adam for the rest), SGD or "
                                         "Adagrad without weight decay, or sparse=False"))
    return found


def _sparse_problem(opt: torch.optim.Optimizer, group: dict) -> str | None:
    kind = type(opt).__name__
    if kind not in _SPARSE_OK:
        return f"{kind} does not accept sparse gradients"
    if kind != "SparseAdam" and group.get("weight_decay"):
        return f"{kind} with weight_decay does not accept sparse gradients"
    return None


def _audit_sharing(model: nn.Module, sources: list[torch.Tensor]) -> list[Finding]:
    spans = [_span(t) for t in sources]
    found = []
    for prefix, module in model.named_modules():
        for name, tensor in [*module.named_parameters(recurse=False), *module.named_buffers(recurse=False)]:
            full = f"{prefix}.{name}" if prefix else name
            # A PretrainedEmbedding's table is no parameter or buffer: its rows are written only where they are
            # its own copy (copy=False shares a table only when no row of it is ever written).
            can_write = tensor.requires_grad or (getattr(module, "max_norm", None) is not None
                                                 and isinstance(module, (nn.Embedding, nn.EmbeddingBag)))
            if can_write and any(_overlaps(_span(tensor), span) for span in spans):
                found.append(Finding("shared", full, "shares memory with a tensor you passed in "
                                     "(nn.Embedding.from_pretrained does not copy), and it can be written "
                                     "(training or max_norm), so your tensor changes too",
                                     "pass weight.clone(), or use vecload's to_embedding / PretrainedEmbedding"))
    return found


def _span(tensor: torch.Tensor) -> tuple[str, int, int]:
    storage = tensor.untyped_storage()
    return str(tensor.device), storage.data_ptr(), storage.data_ptr() + storage.nbytes()


def _overlaps(a: tuple[str, int, int], b: tuple[str, int, int]) -> bool:
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2] and a[2] > a[1]
