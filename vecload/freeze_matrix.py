"""The matrix behind ``vecload check-frozen``: train a small model for every freezing method x optimizer x
``max_norm`` and report whether the frozen table stayed frozen (a saved model is checked by
:mod:`vecload.saved_check`)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from vecload.embedding import PretrainedEmbedding
from vecload.freeze import audit

SPECIALS, ROWS, DIM, STEPS, WARMUP = 2, 20, 8, 6, 3
MAX_NORM = 1.0

METHODS = (
    "requires_grad=False",
    "requires_grad=False, set late",
    "from_pretrained(freeze=True)",
    "left out of optimizer",
    "gradient mask (hook)",
    "gradient mask, set late",
    "PretrainedEmbedding",
)
OPTIMIZERS: dict[str, Callable[[list[nn.Parameter]], torch.optim.Optimizer]] = {
    "SGD": lambda p: torch.optim.SGD(p, lr=0.1),
    "SGD mom+wd": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
    "Adam": lambda p: torch.optim.Adam(p, lr=0.01),
    "AdamW wd": lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.01),
    "Adagrad": lambda p: torch.optim.Adagrad(p, lr=0.1),
    "SparseAdam": lambda p: torch.optim.SparseAdam(p, lr=0.01),
}


@dataclass
class Cell:
    """The outcome of one method x optimizer x max_norm run."""

    method: str
    optimizer: str
    max_norm: bool
    frozen_unchanged: bool | None = None  # None: not applicable (see error)
    specials_trained: bool | None = None
    caller_unchanged: bool = True
    error: str | None = None
    findings: list[str] = field(default_factory=list)

    @property
    def sound(self) -> bool:
        """The run worked, the frozen table (and the caller's tensor) stayed bit-identical, specials trained."""
        return self.error is None and bool(self.frozen_unchanged and self.caller_unchanged and self.specials_trained)


def check_frozen_matrix(seed: int = 0) -> list[Cell]:
    """Run every cell of the matrix (deterministic: fixed seeds, CPU, a few steps each).

    Returns:
        One :class:`Cell` per method x optimizer x (without, with) ``max_norm``.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: threads only add contention
    try:
        return [_run_cell(method, opt, max_norm, seed)
                for method in METHODS for opt in OPTIMIZERS for max_norm in (False, True)]
    finally:
        torch.set_num_threads(threads)


class _Model(nn.Module):
    """specials + pretrained table -> mean pooling -> linear head; ``lookup`` hides how the table is built."""

    def __init__(self, lookup: Callable[[torch.Tensor], torch.Tensor], parts: dict[str, nn.Module]) -> None:
        super().__init__()
        self.parts = nn.ModuleDict(parts)
        self.lookup = lookup
        self.head = nn.Linear(DIM, 2)

    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        return self.head(self.lookup(indices).mean(1))


def _build(method: str, weight: torch.Tensor, special_init: torch.Tensor, max_norm: float | None,
           sparse: bool) -> tuple[_Model, Callable[[], torch.Tensor], Callable[[], torch.Tensor]]:
    """The model, a reader of its pretrained rows and a reader of its special rows."""
    if method == "PretrainedEmbedding":
        emb = PretrainedEmbedding(weight, [f"w{i}" for i in range(ROWS)], specials=("<unk>", "<cls>"),
                                  max_norm=max_norm, sparse=sparse)
        with torch.no_grad():
            emb.extra.copy_(special_init)
        return _Model(emb, {"emb": emb}), lambda: emb.pretrained, lambda: emb.extra
    if method.startswith("gradient mask"):
        table = nn.Embedding.from_pretrained(torch.cat([special_init, weight]), freeze=False, max_norm=max_norm,
                                             sparse=sparse)
        return _Model(table, {"table": table}), lambda: table.weight[SPECIALS:], lambda: table.weight[:SPECIALS]
    if method == "from_pretrained(freeze=True)":
        table = nn.Embedding.from_pretrained(weight, freeze=True, max_norm=max_norm, sparse=sparse)  # shares `weight`
    else:
        table = nn.Embedding.from_pretrained(weight.clone(), freeze=method == "requires_grad=False",
                                             max_norm=max_norm, sparse=sparse)
    specials = nn.Embedding.from_pretrained(special_init.clone(), freeze=False, sparse=sparse)

    def lookup(indices: torch.Tensor) -> torch.Tensor:
        is_special = (indices < SPECIALS).unsqueeze(-1)
        return torch.where(is_special, specials(indices.clamp(max=SPECIALS - 1)), table((indices - SPECIALS).clamp(min=0)))

    model = _Model(lookup, {"table": table, "specials": specials})
    return model, lambda: table.weight, lambda: specials.weight


def _optimizers(opt_name: str, model: _Model, method: str) -> list[torch.optim.Optimizer]:
    params = [(n, p) for n, p in model.named_parameters()
              if not (method == "left out of optimizer" and n.startswith("parts.table."))]
    if opt_name != "SparseAdam":
        return [OPTIMIZERS[opt_name]([p for _, p in params])]
    # As users do: SparseAdam for the embeddings' (sparse) gradients, Adam for the dense rest.
    embedding = [p for n, p in params if n.startswith("parts.")]
    dense = [p for n, p in params if not n.startswith("parts.")]
    return [OPTIMIZERS["SparseAdam"](embedding), torch.optim.Adam(dense, lr=0.01)]


def _run_cell(method: str, opt_name: str, use_max_norm: bool, seed: int) -> Cell:
    cell = Cell(method, opt_name, use_max_norm)
    generator = torch.Generator().manual_seed(seed)
    weight = torch.randn(ROWS, DIM, generator=generator)  # norms ~2.8: max_norm=1 renormalises every row read
    caller = weight.clone()
    special_init = torch.randn(SPECIALS, DIM, generator=generator)
    steps = WARMUP + STEPS if method.endswith("set late") else STEPS
    batches = [(torch.randint(0, SPECIALS + ROWS, (4, 6), generator=generator), torch.randint(0, 2, (4,), generator=generator))
               for _ in range(steps)]
    torch.manual_seed(seed)  # the head's initial weights
    model, pretrained, specials = _build(method, weight, special_init, MAX_NORM if use_max_norm else None,
                                         sparse=opt_name == "SparseAdam")
    late = method.endswith("set late")
    try:
        optimizers = _optimizers(opt_name, model, method)
        if method.startswith("gradient mask") and not late:
            model.parts["table"].weight.register_hook(_mask_pretrained)
        for step, (indices, target) in enumerate(batches):
            if step == (WARMUP if late else 0):
                if late:
                    _freeze_late(model, method)
                before, cell.findings = pretrained().detach().clone(), _findings(model, optimizers, method, weight)
                specials_before = specials().detach().clone()
            loss = F.cross_entropy(model(indices), target)
            for opt in optimizers:
                opt.zero_grad(set_to_none=not late)
            loss.backward()
            for opt in optimizers:
                opt.step()
    except Exception as exc:  # report what the user would see
        cell.error = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        return cell
    cell.frozen_unchanged = torch.equal(pretrained().detach(), before)
    cell.specials_trained = not torch.equal(specials().detach(), specials_before)
    cell.caller_unchanged = torch.equal(weight, caller)
    return cell


def _mask_pretrained(grad: torch.Tensor) -> torch.Tensor:
    """Zero the gradient of the pretrained rows (the specials, rows 0..1, keep theirs)."""
    if grad.is_sparse:
        grad = grad.coalesce()
        keep = (grad.indices()[0] < SPECIALS).unsqueeze(1)
        return torch.sparse_coo_tensor(grad.indices(), grad.values() * keep, grad.shape, check_invariants=False)
    mask = torch.zeros(grad.shape[0], 1, dtype=grad.dtype)
    mask[:SPECIALS] = 1
    return grad * mask


def _freeze_late(model: _Model, method: str) -> None:
    """Freeze after some training: requires_grad_(False), or a gradient mask, as users add them later."""
    if method.startswith("gradient mask"):
        model.parts["table"].weight.register_hook(_mask_pretrained)
    else:
        model.parts["table"].weight.requires_grad_(False)


def _findings(model: nn.Module, optimizers: list[torch.optim.Optimizer], method: str,
              weight: torch.Tensor) -> list[str]:
    sources = [weight] if method == "from_pretrained(freeze=True)" else []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [f.code for f in audit(model, optimizers, sources=sources, warn=False)]


_REASONS = {
    "max_norm": "max_norm renormalises looked-up rows in place during forward, frozen or not",
    "shared": "from_pretrained shares the caller's tensor, so it changed too",
    "optimizer": "the frozen weight sits in an optimizer whose weight decay / momentum / saved state move it "
                 "once it has a gradient tensor (zero_grad(set_to_none=False) leaves one)",
    "stale_grad": "the frozen weight still holds a (zero) gradient tensor",
    "grad_hook": "gradient masking: weight decay moves masked rows, and momentum / Adam state keeps moving "
                 "rows that had gradients before the mask",
    "sparse": "the optimizer does not accept sparse gradients",
}


def format_matrix(cells: list[Cell]) -> str:
    """The matrix as a markdown table (rows: method x max_norm, columns: optimizers) and its footnotes.

    Each cell is ``frozen table unchanged / specials trained``, ``n/a`` with a footnote when the run failed.
    """
    notes: dict[str, int] = {}
    names = [f"{name} (sparse=True)" if name == "SparseAdam" else name for name in OPTIMIZERS]
    header = "| method | max_norm | " + " | ".join(names) + " |"
    lines = [header, "|---|---|" + "---|" * len(OPTIMIZERS)]
    for method in METHODS:
        for use_max_norm in (False, True):
            row = [c for c in cells if c.method == method and c.max_norm == use_max_norm]
            texts = [_cell_text(c, notes) for c in row]
            lines.append(f"| {method} | {'1.0' if use_max_norm else '-'} | " + " | ".join(texts) + " |")
    lines.append("")
    lines.append("Each cell: frozen table unchanged (bit-identical) / special tokens trained.")
    lines += [f"[{n}] {text}" for text, n in notes.items()]
    return "\n".join(lines)


def _cell_text(cell: Cell, notes: dict[str, int]) -> str:
    if cell.error is not None:
        reason = cell.error
    elif cell.sound:
        return "yes / yes"
    else:
        reason = "; ".join(_REASONS.get(code, code) for code in _cause(cell)) or "not flagged by vecload.audit"
    number = notes.setdefault(reason, len(notes) + 1)
    if cell.error is not None:
        return f"n/a [{number}]"
    text = f"{'yes' if cell.frozen_unchanged else 'NO'} / {'yes' if cell.specials_trained else 'NO'}"
    if not cell.caller_unchanged:
        text += ", caller's tensor changed"
    return f"{text} [{number}]"


def _cause(cell: Cell) -> list[str]:
    """The audit code that explains a failed cell (the most direct cause), and ``shared`` if the caller's
    tensor changed."""
    order = ["max_norm", "grad_hook", "optimizer", "stale_grad", "sparse"]
    codes = [c for c in order if c in cell.findings][:1]
    if not cell.caller_unchanged and "shared" in cell.findings:
        codes.append("shared")
    return codes
