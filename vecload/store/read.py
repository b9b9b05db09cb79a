"""Reading a converted file: every record bounded before it is read, every check on every load; anything a
file holds raises :class:`~vecload.errors.IntegrityError` (see :mod:`vecload.store`).

torch is imported only where a tensor is loaded: :func:`read_meta` serves ``vecload convert``, which never
imports torch (see :mod:`vecload.store.archive`)."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vecload._pth import root as _root
from vecload._version import __version__
from vecload.errors import IntegrityError
from vecload.store.layout import (
    CAP_FIXED,
    DESCRIBE_PICKLE_CAP,
    HEX64,
    KIND,
    LAYOUT,
    LEGACY_VOCAB_SUFFIX,
    META_RECORD,
    PICKLE_CAP,
    TOKENS_RECORD,
    all_strings,
    distinct,
    full_hash,
    record_cap,
    sample_hash,
)

if TYPE_CHECKING:
    import torch

def legacy_vocab_path(pth: Path) -> Path:
    """Where vecload 0.1 put a tensor's vocabulary: ``X.pth`` -> ``X.vocab.json``."""
    stem = pth.name[: -len(".pth")] if pth.name.endswith(".pth") and len(pth.name) > 4 else pth.name
    return pth.with_name(stem + LEGACY_VOCAB_SUFFIX)


def load(path: str | os.PathLike[str], *, verify: bool = False) -> tuple[list[str], torch.Tensor, dict[str, Any]]:
    """Read a converted file: its tokens, its tensor (memory-mapped) and its metadata, all checked.

    Args:
        path: The ``.pth`` file.
        verify: Also hash every byte of the tensor against the fingerprint (slower on large tables).

    Returns:
        ``(tokens, tensor, meta)``.

    Raises:
        OSError: The file is missing or cannot be read.
        IntegrityError: The file is damaged, unsafe, not a vecload table, or does not match its fingerprints.
    """
    pth = Path(path)
    with open(pth, "rb") as fh:
        try:
            archive = zipfile.ZipFile(fh)
            names = archive.namelist()
        except Exception as exc:
            raise IntegrityError(
                f"{pth}: is not a PyTorch file (no readable zip archive: {_first_line(exc)}); vecload loads the .pth "
                f"files that vecload convert writes; it may be truncated or damaged, so convert the source again"
            ) from exc
        with archive:
            root = _root(names)
            if root is None:
                raise IntegrityError(f"{pth}: is a zip archive but not a PyTorch file (it has no data.pkl); "
                                     f"vecload loads the .pth files that vecload convert writes")
            infos = {name: _info(archive, f"{root}/{name}") for name in (META_RECORD, TOKENS_RECORD, "data.pkl")}
            if infos[META_RECORD] is None and infos[TOKENS_RECORD] is None:
                raise _not_a_table(pth)
            if infos[META_RECORD] is None or infos[TOKENS_RECORD] is None:
                raise IntegrityError(f"{pth}: damaged: one of vecload's two records is missing; convert the source again")
            if infos["data.pkl"].file_size > PICKLE_CAP:  # type: ignore[union-attr]
                raise IntegrityError(f"{pth}: holds more than a single tensor (a {infos['data.pkl'].file_size:,}-byte "  # type: ignore[union-attr]
                                     f"pickle); it is not a file vecload wrote; convert the source again")
            tensor = _load_tensor(pth)
            _check_tensor_object(pth, tensor)
            rows = int(tensor.shape[0])
            meta_bytes = _read_record(pth, archive, infos[META_RECORD], record_cap(rows))  # type: ignore[arg-type]
            tokens_bytes = _read_record(pth, archive, infos[TOKENS_RECORD], record_cap(rows))  # type: ignore[arg-type]
    meta = _parse_meta(pth, meta_bytes)
    tokens = _parse_tokens(pth, tokens_bytes, meta, rows)
    _check_tensor(pth, tensor, meta, verify)
    return tokens, tensor, meta


def read_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The metadata record of a converted file, without its tokens or tensor (what was written, for reports).

    Raises:
        IntegrityError: The file is not a converted file or its metadata is damaged (:func:`load` says more).
    """
    pth = Path(path)
    try:
        with zipfile.ZipFile(pth) as archive:
            info = _info(archive, f"{_root(archive.namelist())}/{META_RECORD}")
            if info is None:
                raise _not_a_table(pth)
            return _parse_meta(pth, _read_record(pth, archive, info, CAP_FIXED))
    except zipfile.BadZipFile as exc:
        raise IntegrityError(f"{pth}: is not a converted file ({_first_line(exc)})") from exc


def _info(archive: zipfile.ZipFile, name: str) -> zipfile.ZipInfo | None:
    try:
        return archive.getinfo(name)
    except KeyError:
        return None


def _read_record(pth: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    """A record's bytes, refusing compressed or oversized records before reading them."""
    if info.compress_type != zipfile.ZIP_STORED or max(info.file_size, info.compress_size) > cap:
        raise IntegrityError(
            f"{pth}: the record {info.filename} is compressed or larger than a converted file may hold "
            f"({info.file_size:,} bytes; at most {cap:,} for this table); it is not a file vecload wrote"
        )
    try:
        return archive.read(info)
    except Exception as exc:  # a bad CRC, a damaged local header, a short file
        raise IntegrityError(f"{pth}: damaged: the record {info.filename} cannot be read ({_first_line(exc)}); "
                             f"convert the source again") from exc


def _parse_json(pth: Path, data: bytes, what: str) -> Any:
    try:
        document = json.loads(data.decode("utf-8"))
        if b"\\u" in data:  # only an escape can spell a lone surrogate ("\\ud800"): no UTF-8 file holds one
            json.dumps(document, ensure_ascii=False).encode("utf-8")
        return document
    except (ValueError, RecursionError) as exc:  # bad JSON or UTF-8, 5,000-digit numbers, deep nesting, surrogates
        raise IntegrityError(f"{pth}: damaged: its {what} are not valid JSON ({_first_line(exc)[:200]}); "
                             f"convert the source again") from exc


def _parse_meta(pth: Path, data: bytes) -> dict[str, Any]:
    document = _parse_json(pth, data, "metadata")
    if not isinstance(document, dict) or document.get("kind") != KIND:
        raise IntegrityError(f"{pth}: damaged: its metadata record is not a vecload table's; convert the source again")
    if document.get("layout") != LAYOUT:
        raise IntegrityError(f"{pth}: layout {document.get('layout')!r} is not supported by vecload {__version__} "
                             f"(it reads layout {LAYOUT}); convert the source again with this version")
    meta = document.get("meta")
    tensor = meta.get("tensor") if isinstance(meta, dict) else None
    valid = (
        isinstance(tensor, dict)
        and tensor.get("dtype") == "float32"
        and _is_shape(tensor.get("shape"))
        and all(isinstance(tensor.get(key), str) and HEX64.fullmatch(tensor[key]) for key in ("sample_sha256", "sha256"))
        and isinstance(meta.get("tokens_sha256"), str)
        and HEX64.fullmatch(meta["tokens_sha256"])
    )
    if not valid:
        raise IntegrityError(f"{pth}: damaged: its metadata lacks a valid tensor or token fingerprint; "
                             f"convert the source again")
    return meta  # type: ignore[return-value]


def _is_shape(shape: object) -> bool:
    return (isinstance(shape, list) and len(shape) == 2
            and all(type(n) is int and 0 <= n < 1 << 62 for n in shape))


def _parse_tokens(pth: Path, data: bytes, meta: dict[str, Any], rows: int) -> list[str]:
    """The checked token list: the record the hash names, a list of distinct strings, one per row.

    The hash is no signature (whoever edits the tokens can recompute it), so distinctness is checked
    on every load too, with :func:`distinct`.
    """
    if hashlib.sha256(data).hexdigest() != meta["tokens_sha256"]:
        raise IntegrityError(
            f"{pth}: the tokens do not match their fingerprint (tokens_sha256): they were edited, swapped, "
            f"renamed or reordered after conversion, so rows would no longer belong to their tokens; "
            f"convert the source again"
        )
    tokens = _parse_json(pth, data, "tokens")
    if not isinstance(tokens, list) or not all_strings(tokens):
        raise IntegrityError(f"{pth}: damaged: the tokens record is not a list of strings; convert the source again")
    if len(tokens) != rows:
        raise IntegrityError(f"{pth}: has {rows} rows but {len(tokens)} tokens; convert the source again")
    if not distinct(tokens):
        raise IntegrityError(f"{pth}: the tokens are not distinct, so rows cannot be addressed by token; "
                             f"convert the source again")
    return tokens


def _load_tensor(pth: Path, ours: bool = True) -> object:
    """``torch.load`` with ``weights_only=True`` (no code runs), memory-mapped; every failure an IntegrityError.

    Args:
        pth: The file.
        ours: The file carries vecload's records (the advice is to convert again); else it is someone
            else's PyTorch file, loaded only to say what it holds.
    """
    import torch

    advice = ("convert the source again" if ours
              else "it is not a vecload table (vecload convert writes tables from word-vector files)")
    try:
        return torch.load(pth, weights_only=True, mmap=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        raise IntegrityError(
            f"{pth}: refused: it holds Python objects other than {'a plain tensor' if ours else 'tensors'}, which "
            f"could run code when unpickled; vecload never unpickles them (weights_only=True); {advice}"
        ) from exc
    except Exception as exc:  # torch raises many types for damaged files
        raise IntegrityError(
            f"{pth}: cannot be read as a tensor file ({type(exc).__name__}: {_first_line(exc)[:200]}); "
            f"it is truncated, damaged or not a file vecload wrote; {advice}"
        ) from exc


def _check_tensor_object(pth: Path, tensor: object) -> None:
    """The file's object must be a plain, 2-D, contiguous float32 CPU tensor without autograd."""
    import torch

    if type(tensor) is not torch.Tensor:
        raise IntegrityError(f"{pth}: holds {describe_object(tensor)}, not a plain tensor; "
                             f"it is not a table vecload wrote; convert the source again")
    if tensor.requires_grad or tensor.layout != torch.strided or tensor.dtype != torch.float32 or tensor.dim() != 2:
        raise IntegrityError(
            f"{pth}: holds a {_dtype(tensor)} tensor of shape {tuple(tensor.shape)}"
            f"{' that requires grad' if tensor.requires_grad else ''}; expected a 2-D float32 table; convert the source again"
        )
    if not tensor.is_contiguous() or tensor.storage_offset() != 0 or tensor.untyped_storage().nbytes() != tensor.numel() * 4:
        raise IntegrityError(f"{pth}: holds a view into a larger storage, not a table vecload wrote; convert the source again")


def _check_tensor(pth: Path, tensor: torch.Tensor, meta: dict[str, Any], verify: bool) -> None:
    expected = meta["tensor"]
    array = tensor.numpy()
    if list(array.shape) != expected["shape"] or sample_hash(array) != expected["sample_sha256"]:
        raise IntegrityError(
            f"{pth}: the tensor does not match its fingerprint (shape {list(array.shape)} or sampled rows differ "
            f"from what was written): the file was modified or damaged; convert the source again"
        )
    if verify and full_hash(array) != expected["sha256"]:
        raise IntegrityError(f"{pth}: the tensor's bytes do not match the fingerprint (modified or damaged); "
                             f"convert the source again")


def _not_a_table(pth: Path) -> IntegrityError:
    """The error for a PyTorch file without vecload's records: a 0.1 pair, or someone else's file."""
    legacy = legacy_vocab_path(pth)
    if legacy.is_file():
        return IntegrityError(
            f"{pth}: was written by vecload 0.1 (a bare tensor with its tokens in {legacy.name}); this version "
            f"reads only the single file that holds the tensor and its tokens together; convert the source again "
            f"(vecload convert SRC -o {pth} --force) to get it"
        )
    return IntegrityError(f"{pth}: is a PyTorch file holding {describe_object(_load_any(pth))}, not a vecload "
                          f"table (vecload convert writes tables from word-vector files)")


def _load_any(pth: Path) -> object:
    """The object in someone else's PyTorch file, loaded only to say what it is (weights_only, mmap)."""
    with zipfile.ZipFile(pth) as archive:
        root = _root(archive.namelist())
        size = archive.getinfo(f"{root}/data.pkl").file_size
    if size > DESCRIBE_PICKLE_CAP:
        raise IntegrityError(f"{pth}: is a PyTorch file with a {size:,}-byte pickle, not a vecload table "
                             f"(vecload convert writes tables from word-vector files)")
    return _load_tensor(pth, ours=False)


def describe_object(obj: object) -> str:
    """A few words on what a PyTorch file holds: ``a dict of 12 tensors``, ``a float64 tensor of shape (4, 3)``."""
    import torch

    if isinstance(obj, torch.Tensor):
        kind = "nn.Parameter" if isinstance(obj, torch.nn.Parameter) else "tensor"
        return f"a {_dtype(obj)} {kind} of shape {tuple(obj.shape)}"
    for container in (dict, list, tuple):  # an OrderedDict state_dict is "a dict" to a user
        if isinstance(obj, container):
            values = list(obj.values()) if isinstance(obj, dict) else list(obj)  # type: ignore[attr-defined]
            tensors = sum(isinstance(value, torch.Tensor) for value in values)
            what = "tensors" if values and tensors == len(values) else "entries"
            return f"a {container.__name__} of {len(values)} {what}"
    return f"a {type(obj).__name__}"


def _dtype(tensor: torch.Tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__
