"""The converted file: one ``.pth`` holding the float32 tensor, its tokens and its metadata.

The file is the zip archive ``torch.save`` writes for the bare tensor, so ``torch.load(p, weights_only=True)``
(with or without ``mmap=True``) returns exactly that tensor. vecload adds two records to the same archive,
under the archive's own folder, which ``torch.load`` never references:

- ``<archive>/vecload/tokens.json``: the tokens in row order, as one compact JSON array (UTF-8);
- ``<archive>/vecload/meta.json``: ``{"kind": "vecload-table", "layout": 2, "meta": {...}}`` where the
  metadata holds the source, format, parse report and options, ``vecload_version``, the tensor's
  fingerprint (dtype, shape, a hash of sampled rows, a hash of every byte) and ``tokens_sha256``, the
  sha256 of the tokens record, an unambiguous encoding (``["a b"]`` and ``["a", "b"]`` differ).

Every load checks the token hash, that the tokens are distinct strings, one per row, the shape and the
sampled rows; ``verify=True`` also hashes every byte. The records' sizes are bounded before they are read
(:func:`record_cap`), and anything a file holds raises :class:`~vecload.errors.IntegrityError`, never
another exception. The tensor is always loaded with ``weights_only=True``: no code from the file runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch

from vecload._version import __version__
from vecload._atomic import Writer, write_files
from vecload._pth import is_converted  # noqa: F401  (re-exported)
from vecload._pth import root as _root
from vecload.errors import IntegrityError, VecloadError

KIND = "vecload-table"
LAYOUT = 2
META_RECORD = "vecload/meta.json"
TOKENS_RECORD = "vecload/tokens.json"
#: What vecload 0.1 wrote beside the tensor; such pairs are refused with a message to convert again.
LEGACY_VOCAB_SUFFIX = ".vocab.json"
# A record may hold 64 MiB plus 256 bytes a row (tokens, or per-row alignment metadata): generous for any
# real vocabulary, and a bound on what a hostile file can make vecload read and parse.
_CAP_FIXED = 64 << 20
_CAP_PER_ROW = 256
# The pickle of a bare tensor is a few hundred bytes; a larger one is not a table vecload wrote.
_PICKLE_CAP = 64 << 10
_DESCRIBE_PICKLE_CAP = 64 << 20
# The fingerprint checked on every load: the first and last rows, plus rows spread through the table.
# Few spread rows, because each one faults in a whole readahead window of a memory-mapped file.
_SAMPLE_EDGE = 256
_SAMPLE_SPREAD = 16
_HEX64 = re.compile(r"[0-9a-f]{64}")
# Characters on which str.splitlines (and many tools) break a line: such tokens need JSON lines.
_LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def record_cap(rows: int) -> int:
    """The largest vecload record a table of ``rows`` rows may hold: 64 MiB + 256 bytes per row."""
    return _CAP_FIXED + _CAP_PER_ROW * rows


# -- writing ----------------------------------------------------------------------------------------------


def save(
    path: Path,
    tokens: list[str],
    vectors: torch.Tensor,
    meta: dict[str, Any],
    *,
    force: bool = False,
    progress: bool = False,
    vocab_out: Path | None = None,
    extra: Sequence[tuple[Path, Writer]] = (),
    sources: Sequence[Path] = (),
) -> dict[str, Any]:
    """Write one converted file (and the requested extras) atomically.

    Args:
        path: The ``.pth`` to write.
        tokens: One distinct string per row.
        vectors: The float32 table.
        meta: Metadata to record (source, format, report, options, ...).
        force: Overwrite existing outputs.
        progress: Show a tqdm bar while the tensor is written.
        vocab_out: Also write the tokens there, one per line (JSON lines if a token holds a line break or is
            empty), for tools outside vecload.
        extra: More ``(path, writer)`` pairs written in the same unit.
        sources: Files being read, which no output may replace.

    Returns:
        The metadata as written (with count, dim, version and fingerprints).

    Raises:
        OutputExistsError: An output exists and ``force`` is False.
        VecloadError: The tokens are not distinct strings, or writing failed (nothing was written).
    """
    vectors = vectors.detach().cpu().contiguous()
    if not _all_strings(tokens):
        raise VecloadError(f"{path}: every token must be a str")
    if not distinct(tokens):
        raise VecloadError(f"{path}: the tokens are not distinct, so rows could not be addressed by token")
    tokens_record = encode_tokens(tokens)
    written = dict(meta)
    written.update(count=len(tokens), dim=int(vectors.shape[1]), vecload_version=__version__,
                   tensor=fingerprint(vectors), tokens_sha256=hashlib.sha256(tokens_record).hexdigest())
    meta_record = json.dumps({"kind": KIND, "layout": LAYOUT, "meta": written}, ensure_ascii=False,
                             separators=(",", ":")).encode("utf-8")
    cap = record_cap(len(tokens))
    if max(len(tokens_record), len(meta_record)) > cap:
        raise VecloadError(f"{path}: the tokens or metadata take more than {cap:,} bytes, more than a converted "
                           f"file may hold ({_CAP_FIXED >> 20} MiB + {_CAP_PER_ROW} bytes a row)")
    outputs: list[tuple[Path, Writer]] = [
        (Path(path), lambda fh: write_table(fh, vectors, tokens_record, meta_record, progress))
    ]
    if vocab_out is not None:
        outputs.append((Path(vocab_out), lambda fh: write_token_lines(fh, tokens)))
    outputs.extend(extra)
    write_files(outputs, force=force, sources=sources)
    return written


def encode_tokens(tokens: list[str]) -> bytes:
    """The tokens record: a compact JSON array in UTF-8, hashed as it is stored."""
    try:
        return json.dumps(tokens, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise VecloadError(f"a token is not valid Unicode text ({exc.reason} at {exc.start})") from exc


def write_table(fh: BinaryIO, vectors: torch.Tensor, tokens_record: bytes, meta_record: bytes, progress: bool) -> None:
    """``torch.save`` the bare tensor into ``fh``, then add vecload's records to the same archive."""
    _save_tensor(vectors, fh, progress)
    fh.seek(0)
    with zipfile.ZipFile(fh, "a") as archive:  # type: ignore[arg-type]
        root = _root(archive.namelist())
        if root is None:
            raise VecloadError("torch.save wrote an archive without data.pkl")
        archive.writestr(f"{root}/{TOKENS_RECORD}", tokens_record)
        archive.writestr(f"{root}/{META_RECORD}", meta_record)


def write_token_lines(fh: BinaryIO, tokens: list[str]) -> None:
    """The tokens one per line; every line a JSON string when a token holds a line break or is empty."""
    if token_lines_are_json(tokens):
        joined = "\n".join(json.dumps(token, ensure_ascii=False) for token in tokens)
    else:
        joined = "\n".join(tokens)
    fh.write(joined.encode("utf-8"))
    if tokens:
        fh.write(b"\n")


def token_lines_are_json(tokens: list[str]) -> bool:
    """True when :func:`write_token_lines` writes JSON lines for ``tokens``."""
    return _LINE_BREAKS.search("".join(tokens)) is not None or "" in tokens


def write_json(fh: BinaryIO, document: Any, indent: int | None = None) -> None:
    """A JSON document in UTF-8 (compact unless ``indent``), ending in a newline."""
    separators = (",", ":") if indent is None else None
    fh.write(json.dumps(document, ensure_ascii=False, indent=indent, separators=separators).encode("utf-8") + b"\n")


def _save_tensor(vectors: torch.Tensor, fh: BinaryIO, progress: bool) -> None:
    """torch.save the bare tensor, with a byte-count progress bar if asked."""
    if not progress:
        torch.save(vectors, fh)
        return
    from tqdm import tqdm

    total = vectors.numel() * vectors.element_size()
    with tqdm(total=total, unit="B", unit_scale=True, desc="writing", leave=False) as bar:

        class _Counting:
            def write(self, data) -> int:
                written = fh.write(data)
                bar.update(min(written, max(total - bar.n, 0)))
                return written

            def flush(self) -> None:
                fh.flush()

        torch.save(vectors, _Counting())


# -- fingerprints -----------------------------------------------------------------------------------------


def fingerprint(vectors: torch.Tensor) -> dict[str, Any]:
    """An exact fingerprint of a float32 table: its shape, a hash of sampled rows, and a hash of all bytes."""
    array = vectors.detach().cpu().contiguous().numpy()
    return {
        "dtype": "float32",
        "shape": list(array.shape),
        "sample_sha256": _sample_hash(array),
        "sha256": _full_hash(array),
    }


def sample_rows(count: int) -> np.ndarray:
    """The rows the load-time fingerprint hashes: the first and last 256, and 16 spread evenly."""
    spread = np.linspace(0, max(count - 1, 0), num=min(count, _SAMPLE_SPREAD), dtype=np.int64).tolist()
    rows = {*range(min(count, _SAMPLE_EDGE)), *range(max(count - _SAMPLE_EDGE, 0), count), *spread}
    # sorted in Python: np.unique's first call costs more than the whole hash (a lazy import)
    return np.array(sorted(rows), dtype=np.int64)


def _full_hash(array: np.ndarray) -> str:
    """sha256 of every byte, without copying (an empty table hashes as no bytes)."""
    return hashlib.sha256(np.ascontiguousarray(array).reshape(-1).view(np.uint8)).hexdigest()


def _sample_hash(array: np.ndarray) -> str:
    """A hash of the shape and the :func:`sample_rows`, cheap on a memory-mapped tensor."""
    digest = hashlib.sha256(repr(array.shape).encode())
    if array.shape[0]:
        digest.update(np.ascontiguousarray(array[sample_rows(array.shape[0])]).tobytes())
    return digest.hexdigest()


# -- reading ----------------------------------------------------------------------------------------------


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
            if infos["data.pkl"].file_size > _PICKLE_CAP:  # type: ignore[union-attr]
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
            return _parse_meta(pth, _read_record(pth, archive, info, _CAP_FIXED))
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
        and all(isinstance(tensor.get(key), str) and _HEX64.fullmatch(tensor[key]) for key in ("sample_sha256", "sha256"))
        and isinstance(meta.get("tokens_sha256"), str)
        and _HEX64.fullmatch(meta["tokens_sha256"])
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
    if not isinstance(tokens, list) or not _all_strings(tokens):
        raise IntegrityError(f"{pth}: damaged: the tokens record is not a list of strings; convert the source again")
    if len(tokens) != rows:
        raise IntegrityError(f"{pth}: has {rows} rows but {len(tokens)} tokens; convert the source again")
    if not distinct(tokens):
        raise IntegrityError(f"{pth}: the tokens are not distinct, so rows cannot be addressed by token; "
                             f"convert the source again")
    return tokens


def distinct(tokens: Sequence[str]) -> bool:
    """True when no token repeats.

    Sorting the tokens' 64-bit hashes costs 30 ms for 400,000 tokens against 50-110 ms for a set of
    them (which must also grow its table and hold every string); equal hashes, almost always a repeat,
    are settled exactly by a set. The hashes stay cached in the strings for the first lookup's index.
    """
    hashes = np.fromiter(map(hash, tokens), dtype=np.int64, count=len(tokens))
    hashes.sort()
    if not (hashes[1:] == hashes[:-1]).any():
        return True
    return len(set(tokens)) == len(tokens)


def _all_strings(items: list) -> bool:
    """True when every item is a str (``str.join`` checks that in C, twice as fast as collecting types)."""
    try:
        "".join(items)
    except TypeError:
        return False
    return True


def _load_tensor(pth: Path, ours: bool = True) -> object:
    """``torch.load`` with ``weights_only=True`` (no code runs), memory-mapped; every failure an IntegrityError.

    Args:
        pth: The file.
        ours: The file carries vecload's records (the advice is to convert again); else it is someone
            else's PyTorch file, loaded only to say what it holds.
    """
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
    if list(array.shape) != expected["shape"] or _sample_hash(array) != expected["sample_sha256"]:
        raise IntegrityError(
            f"{pth}: the tensor does not match its fingerprint (shape {list(array.shape)} or sampled rows differ "
            f"from what was written): the file was modified or damaged; convert the source again"
        )
    if verify and _full_hash(array) != expected["sha256"]:
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
    if size > _DESCRIBE_PICKLE_CAP:
        raise IntegrityError(f"{pth}: is a PyTorch file with a {size:,}-byte pickle, not a vecload table "
                             f"(vecload convert writes tables from word-vector files)")
    return _load_tensor(pth, ours=False)


def describe_object(obj: object) -> str:
    """A few words on what a PyTorch file holds: ``a dict of 12 tensors``, ``a float64 tensor of shape (4, 3)``."""
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
