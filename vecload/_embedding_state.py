"""What :class:`vecload.PretrainedEmbedding` is built from and what its checkpoints hold.

- :func:`unpack`: a :class:`vecload.Vectors`, an aligned table (duck-typed: ``trainable_mask`` and
  ``pad_index``) or a plain tensor with its tokens, as a weight, tokens and the aligned table's defaults.
- :func:`initial_rows`: the trainable rows' first values (seeded noise for new rows, their own for marked ones).
- :func:`save_state` / :func:`load_state`: the ``state_dict`` entries. With ``persist_frozen=True`` (the
  default) ``table`` holds every row, trainable rows current; with ``persist_frozen=False`` the frozen rows
  are left out and ``table_fingerprint`` (sha256 of the dtype, shape, row layout and sampled frozen rows)
  stands in for them, checked on load.
"""

from __future__ import annotations

import hashlib
import json
import itertools
import operator
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import torch

from vecload._cast import take_rows
from vecload.alignment.meta import check_metadata, trainable_mask
from vecload.errors import ArgumentError, IntegrityError
from vecload.store import sample_rows

if TYPE_CHECKING:
    from vecload.embedding import PretrainedEmbedding

FINGERPRINT_KEY = "table_fingerprint"
LAYOUT_KEY = "table_layout"  # beside the fingerprint: how to rebuild the module from its vectors (check-frozen)
STD_ROWS = 2_000  # rows whose spread sets the new rows' default std (all rows of a smaller table)


def unpack(vectors: Any, tokens: Sequence[str] | None) -> tuple[torch.Tensor, Sequence[str], dict[str, Any]]:
    """The weight tensor and tokens of ``vectors``, and the defaults an aligned table brings."""
    if isinstance(vectors, torch.Tensor):
        if tokens is None:
            raise ArgumentError("a plain tensor needs its tokens: PretrainedEmbedding(tensor, tokens)")
        weight, names = vectors, list(tokens)
    else:
        if tokens is not None:
            raise ArgumentError("tokens is only for a plain tensor; Vectors carry their own")
        if not isinstance(getattr(vectors, "vectors", None), torch.Tensor) or not hasattr(vectors, "tokens"):
            raise ArgumentError(f"PretrainedEmbedding takes vecload.Vectors (vecload.load(path)), an aligned table "
                                f"or a tensor with its tokens, got {type(vectors).__name__}")
        weight, names = vectors.vectors, vectors.tokens  # not copied: the module's RowTokens share it
    if weight.dim() != 2 or not weight.is_floating_point():
        raise ArgumentError(f"vectors must be a 2-D float tensor, got {weight.dtype} {tuple(weight.shape)}")
    if weight.shape[0] != len(names):
        raise ArgumentError(f"{len(names)} tokens for {weight.shape[0]} rows")
    return weight, names, aligned_defaults(vectors) or {}


class _AlignedPad:
    """The default ``padding_idx``: an aligned table's pad row (None for any other vectors)."""

    def __repr__(self) -> str:
        return "ALIGNED_PAD"


ALIGNED_PAD: Any = _AlignedPad()


def aligned_defaults(vectors: Any) -> dict[str, Any] | None:
    """What an aligned table brings (no added specials, its OOV rows and specials trainable, its pad row), or
    None for other vectors. An aligned file loaded again with ``vecload.load`` is one: its metadata holds it.

    Raises:
        IntegrityError: The file's alignment metadata is damaged.
    """
    if hasattr(vectors, "trainable_mask") and hasattr(vectors, "pad_index"):  # what vecload.align returns
        return {"specials": (), "trainable": vectors.trainable_mask, "padding_idx": vectors.pad_index}
    meta = getattr(vectors, "meta", None)
    if not isinstance(meta, dict) or "align" not in meta:
        return None
    check_metadata(meta["align"], len(vectors.tokens))
    return {"specials": (), "trainable": trainable_mask(meta["align"]), "padding_idx": meta["align"].get("pad_index")}


class RowTokens(Sequence[str]):
    """Every row's token (specials, the vectors' tokens, extra tokens), read-only, without copying the
    vectors' list (a copy is 3.2 MB of pointers for 400k tokens). Compares equal to a list or tuple of the
    same tokens; a slice is a list. The vectors' list is shared: a ``Vectors`` is not to be edited in place.
    """

    __slots__ = ("_parts", "_sizes")

    def __init__(self, specials: Sequence[str], pretrained: Sequence[str], extra: Sequence[str]) -> None:
        self._parts = (tuple(specials), pretrained, tuple(extra))
        self._sizes = (len(self._parts[0]), len(pretrained), len(self._parts[2]))

    def __len__(self) -> int:
        return sum(self._sizes)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step == 1:  # at C speed: emb.tokens[s : s + p] is the vectors' 400k tokens
                return list(itertools.islice(self, start, max(start, stop)))
            return [self[i] for i in range(start, stop, step)]
        row = operator.index(index)
        row = row + len(self) if row < 0 else row
        if not 0 <= row < len(self):
            raise IndexError(f"row {index} is outside the {len(self)} rows")
        for part, size in zip(self._parts, self._sizes):
            if row < size:
                return part[row]
            row -= size
        raise AssertionError("unreachable")

    def __iter__(self) -> Iterator[str]:
        return itertools.chain(*self._parts)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (list, tuple, RowTokens)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RowTokens({len(self)} tokens: {self[:3]}...)"


def row_mask(trainable: Any, rows: int) -> torch.Tensor:
    """``trainable`` as a CPU bool tensor of ``rows`` entries (None: no row)."""
    if trainable is None:
        return torch.zeros(rows, dtype=torch.bool)
    mask = torch.as_tensor(trainable)
    if mask.dtype != torch.bool or tuple(mask.shape) != (rows,):
        raise ArgumentError(f"trainable must be a bool tensor of {rows} entries (one per row of the vectors), "
                            f"got {mask.dtype} {tuple(mask.shape)}")
    return mask.cpu()


def check_tokens(tokens: Sequence[str], specials: int, pretrained: int, eager: bool) -> dict[str, int] | None:
    """Refuse a token that appears twice; the token index when ``eager`` (else None: built on first use).

    Without ``eager`` the vectors' own tokens are taken as distinct (``Vectors`` are) and only the added
    tokens are checked, against each other and in one pass over the vectors' tokens.
    """
    if eager:
        return token_index(tokens, specials, pretrained)
    added = tokens[:specials] + tokens[specials + pretrained :]
    seen = set(added)
    if len(seen) != len(added) or any(token in seen for token in itertools.islice(tokens, specials, specials + pretrained)):
        token_index(tokens, specials, pretrained)  # raises, naming the rows
    return None


def token_index(tokens: Sequence[str], specials: int, pretrained: int) -> dict[str, int]:
    """Token to row; a token may appear only once across specials, pretrained and extra rows."""
    index: dict[str, int] = {}
    for row, token in enumerate(tokens):
        if token in index:
            first = index[token]
            raise ArgumentError(
                f"{token!r} is both row {first} ({_part(first, specials, pretrained)}) and row {row} "
                f"({_part(row, specials, pretrained)}); drop it from specials or extra_tokens"
            )
        index[token] = row
    return index


def _part(row: int, specials: int, pretrained: int) -> str:
    return "a special" if row < specials else "a pretrained row" if row < specials + pretrained else "an extra row"


def added_row(emb: PretrainedEmbedding, token: str) -> int:
    """The row of a special or extra token (without building the whole token index), else any token's."""
    s, p = emb.num_specials, emb.num_pretrained
    for offset, part in ((0, emb.tokens[:s]), (s + p, emb.tokens[s + p :])):
        if token in part:
            return offset + part.index(token)
    return emb.get_index(token)


def initial_rows(emb: PretrainedEmbedding, table: torch.Tensor, rows: torch.Tensor,
                 extra_vectors: torch.Tensor | None, init_std: float, seed: int) -> torch.Tensor:
    """The trainable rows' initial values: random new rows, the marked rows' own values, extra_vectors."""
    s, x = emb.num_specials, emb.num_extra
    generator = torch.Generator().manual_seed(seed)
    new = torch.randn(s + x, emb.embedding_dim, generator=generator).mul_(init_std)
    if extra_vectors is not None:
        if tuple(extra_vectors.shape) != (x, emb.embedding_dim):
            raise ArgumentError(f"extra_vectors must be [{x}, {emb.embedding_dim}], got {list(extra_vectors.shape)}")
        new[s:] = extra_vectors.detach().float()
    if emb.padding_idx is not None and emb.padding_idx < s:
        new[emb.padding_idx] = 0
    out = torch.empty(len(rows), emb.embedding_dim, dtype=table.dtype, device=table.device)
    marked = len(rows) - s - x
    out[:s] = new[:s].to(table.dtype)
    out[s + marked :] = new[s:].to(table.dtype)
    if marked:
        out[s : s + marked] = table[rows[s : s + marked].to(table.device)]
    return out


def spread(rows: torch.Tensor, dtype: torch.dtype, device: torch.device) -> float:
    """The std of the finite values of up to ``STD_ROWS`` evenly spaced rows, as the table will hold them
    (``dtype`` on ``device``); 1.0 when there are none.

    Read from the source rows before the table is allocated, so its scratch never adds to the construction's
    peak; the same values as reading the finished table (the cast is elementwise).
    """
    if rows.device.type == "meta" or device.type == "meta" or rows.shape[0] == 0:
        return 1.0
    count = min(rows.shape[0], STD_ROWS)
    picks = torch.linspace(0, rows.shape[0] - 1, count).long()
    values = take_rows(rows, picks, torch.empty(count, rows.shape[1], dtype=dtype, device=device)).float()
    if bool(values.sum().isfinite()):  # every value finite (a NaN or Inf would make the sum one): no mask
        return float(values.std()) if values.numel() > 1 else 1.0
    kept = values[torch.isfinite(values)]  # a NaN or Inf row must not poison every new row
    return float(kept.std()) if kept.numel() > 1 else 1.0


def frozen_rows(emb: PretrainedEmbedding) -> torch.Tensor:
    """The rows of ``table`` that are not mirrored from ``extra``: the pretrained rows that do not train."""
    mask = torch.ones(emb.num_embeddings, dtype=torch.bool)
    mask[emb.trainable_rows.cpu()] = False
    return mask.nonzero().flatten()


def table_fingerprint(emb: PretrainedEmbedding) -> torch.Tensor:
    """sha256 of the frozen rows' dtype, shape, positions and sampled rows, and of every row's token and the
    padding row (so a checkpoint never loads into another vocabulary or layout), as 32 uint8 values."""
    rows = frozen_rows(emb)
    table = emb.table.detach()
    digest = hashlib.sha256(f"{table.dtype} {tuple(table.shape)} pad={emb.padding_idx}".encode())
    digest.update(json.dumps(list(emb.tokens), ensure_ascii=False).encode("utf-8", "surrogatepass"))
    digest.update(rows.numpy().tobytes())
    picked = rows[torch.from_numpy(sample_rows(len(rows)))]
    if table.device.type != "meta":
        digest.update(table[picked.to(table.device)].cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return torch.frombuffer(bytearray(digest.digest()), dtype=torch.uint8)


def save_state(emb: PretrainedEmbedding, destination: dict[str, Any], prefix: str, keep_vars: bool) -> None:
    """Add ``table`` (every row, current) or ``table_fingerprint`` to ``destination``."""
    emb.sync()
    if isinstance(emb.table, torch.nn.Parameter):
        return  # everything trains: the table is a parameter, saved as one
    if emb.persist_frozen:
        destination[prefix + "table"] = emb.table if keep_vars else emb.table.detach()
    else:
        destination[prefix + FINGERPRINT_KEY] = table_fingerprint(emb)
        destination[prefix + LAYOUT_KEY] = table_layout(emb)


def table_layout(emb: PretrainedEmbedding) -> torch.Tensor:
    """The constructor's arguments beside the vectors (specials, extra tokens, trainable rows, padding row,
    freeze, dtype) as UTF-8 JSON in a uint8 tensor, so that ``vecload check-frozen`` can rebuild the module
    from the vectors it is given and compare fingerprints."""
    s, p = emb.num_specials, emb.num_pretrained
    rows = emb.trainable_rows.cpu()
    layout = {"specials": emb.tokens[:s], "extra_tokens": emb.tokens[s + p :], "padding_idx": emb.padding_idx,
              "freeze": emb.freeze, "dtype": str(emb.table.dtype).removeprefix("torch."),
              "trainable": (rows[(rows >= s) & (rows < s + p)] - s).tolist()}
    data = json.dumps(layout, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return torch.frombuffer(bytearray(data), dtype=torch.uint8)


def load_state(emb: PretrainedEmbedding, state: dict[str, Any], prefix: str, missing: list[str],
               unexpected: list[str]) -> None:
    """Take ``table`` from ``state``, or check ``table_fingerprint`` against this module's frozen rows.

    Raises:
        IntegrityError: The checkpoint was saved from another table (another file, dtype or row layout).
    """
    if isinstance(emb.table, torch.nn.Parameter):
        return
    for key in (prefix + "table", prefix + FINGERPRINT_KEY, prefix + LAYOUT_KEY):
        if key in unexpected:
            unexpected.remove(key)
    if prefix + "table" in state:
        given = state[prefix + "table"]
        if tuple(given.shape) != tuple(emb.table.shape):
            raise IntegrityError(f"{prefix}table: the checkpoint holds a {tuple(given.shape)} table, this module a "
                                 f"{tuple(emb.table.shape)} one; build the module from the same vectors")
        frozen = frozen_rows(emb).to(emb.table.device)
        if torch.equal(given.to(emb.table.device, emb.table.dtype)[frozen], emb.table[frozen]):
            return  # the same frozen rows (the trainable ones come from extra): nothing to write
        if emb._borrowed:
            raise IntegrityError(f"{prefix}table: the checkpoint's frozen rows differ from this module's, which "
                                 f"shares the caller's tensor (copy=False) and never writes it; build the module "
                                 f"from the vectors the checkpoint was trained on, or with copy=True")
        with torch.no_grad():
            emb.table.copy_(given)
    elif prefix + FINGERPRINT_KEY in state:
        given, own = state[prefix + FINGERPRINT_KEY], table_fingerprint(emb)
        if not torch.equal(given.cpu(), own):
            raise IntegrityError(
                f"{prefix}{FINGERPRINT_KEY}: this checkpoint was saved from a different frozen table "
                f"({bytes(given.tolist()).hex()[:16]}..., this module's {bytes(own.tolist()).hex()[:16]}...: another "
                f"file, dtype, row order or set of trainable rows); build the module from the converted file the "
                f"checkpoint was trained on, with the same specials, extra tokens and dtype"
            )
    else:
        missing.append(prefix + "table")
