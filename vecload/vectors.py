"""The loaded table (:class:`Vectors`), and the converted form: ``NAME.pth`` plus ``NAME.vocab.json``.

``NAME.pth`` holds exactly the float32 weight tensor, so ``torch.load(p, weights_only=True)`` returns it.
``NAME.vocab.json`` holds the tokens in row order and the metadata: where the rows came from, how they
were read, and a fingerprint of the tensor, so that a vocabulary is never paired with the wrong tensor.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from vecload import __version__
from vecload._atomic import check_writable, write_all
from vecload.errors import FormatError, IntegrityError, VecloadError

if TYPE_CHECKING:
    from torch import nn

    from vecload.alignment import Aligned
    from vecload.formats import Source
    from vecload.formats.table import Table

# The readers (vecload.formats) are imported where a source is read, not here: loading a converted file
# needs none of them, and their imports are a tenth of that load's time.

VOCAB_SUFFIX = ".vocab.json"
VOCAB_KIND = "vecload-vocabulary"
VOCAB_LAYOUT = 1
# The fingerprint checked on every load: the first and last rows, plus rows spread through the table.
# Few spread rows, because each one faults in a whole readahead window of a memory-mapped file.
_SAMPLE_EDGE = 256
_SAMPLE_SPREAD = 16


class Vectors:
    """Tokens and their vectors, one row per token.

    Args:
        tokens: One token per row, all distinct.
        vectors: A float32 tensor ``[len(tokens), dim]``.
        meta: Metadata (source, format, parse report, ...), as stored beside a converted file.

    Example:
        >>> v = vecload.load("glove.6B.50d.pth")
        >>> v["the"].shape, v.index("the"), "the" in v
        (torch.Size([50]), 0, True)
    """

    def __init__(self, tokens: list[str], vectors: torch.Tensor, meta: dict[str, Any] | None = None) -> None:
        if vectors.dtype != torch.float32 or vectors.dim() != 2:
            raise ValueError(f"vectors must be a 2-D float32 tensor, got {vectors.dtype} {tuple(vectors.shape)}")
        if vectors.shape[0] != len(tokens):
            raise ValueError(f"{len(tokens)} tokens for {vectors.shape[0]} rows")
        self.tokens = tokens
        self.vectors = vectors
        self.meta: dict[str, Any] = meta or {}
        self._index: dict[str, int] | None = None

    @property
    def dim(self) -> int:
        """The number of values per vector."""
        return int(self.vectors.shape[1])

    @property
    def stoi(self) -> dict[str, int]:
        """Token to row, built on first use."""
        if self._index is None:
            self._index = {token: row for row, token in enumerate(self.tokens)}
            if len(self._index) != len(self.tokens):
                raise IntegrityError("the vocabulary has duplicate tokens, so rows cannot be addressed by token")
        return self._index

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> torch.Tensor:
        return self.vectors[self.index(token)]

    def index(self, token: str) -> int:
        """The row of ``token``.

        Raises:
            KeyError: The token is not in the vocabulary.
        """
        try:
            return self.stoi[token]
        except KeyError:
            raise KeyError(f"{token!r} is not in the vocabulary ({len(self)} tokens)") from None

    def __repr__(self) -> str:
        return f"Vectors(count={len(self)}, dim={self.dim})"

    def to_embedding(self, freeze: bool = True, padding_idx: int | None = None, **kwargs: Any) -> nn.Embedding:
        """An ``nn.Embedding`` over these rows, via ``nn.Embedding.from_pretrained``.

        Args:
            freeze: Keep the weight out of training (``requires_grad=False``).
            padding_idx: As in ``nn.Embedding``.
            **kwargs: ``max_norm``, ``norm_type``, ``scale_grad_by_freq``, ``sparse``.
        """
        from vecload.embedding import to_embedding

        return to_embedding(self.vectors, freeze=freeze, padding_idx=padding_idx, **kwargs)

    def align(self, tokens: Any, **kwargs: Any) -> Aligned:
        """These rows in a task vocabulary's order, with specials, OOV rows and a coverage report.

        Takes the arguments of :func:`vecload.align` that do not concern reading (``specials``, ``pad``,
        ``lookup``, ``oov``, ``seed``, ``limit``, ``layout``, ``vocab_duplicates``, ``top_missing``,
        ``check_rows``); the OOV statistics cover all rows here (or the first ``limit``).

        Example:
            >>> a = vecload.load("glove.6B.50d.pth").align(["<unk>", "the", "cat"], specials=("<pad>",))
        """
        from vecload.alignment import align_vectors

        return align_vectors(self, tokens, **kwargs)

    def save(
        self,
        path: str | os.PathLike[str],
        *,
        force: bool = False,
        progress: bool = False,
        extra: list[tuple[Path, Callable[[Path], None]]] = (),  # type: ignore[assignment]
    ) -> Path:
        """Write ``path`` (the tensor) and the vocabulary beside it, atomically.

        Args:
            path: The tensor's path; the vocabulary goes beside it (``X.pth`` -> ``X.vocab.json``).
            force: Overwrite existing files.
            progress: Show a tqdm bar while the tensor is written.
            extra: More ``(path, writer)`` pairs written in the same atomic unit, after the pair.

        Returns:
            The tensor's path.

        Raises:
            OutputExistsError: An output exists and ``force`` is False.
        """
        out = Path(path)
        vectors = self.vectors.contiguous()
        meta = dict(self.meta)
        meta.update(count=len(self), dim=self.dim, vecload_version=__version__, tensor=fingerprint(vectors))
        document = {"kind": VOCAB_KIND, "layout": VOCAB_LAYOUT, "meta": meta, "tokens": self.tokens}
        write_all(
            [
                (out, lambda tmp: _save_tensor(vectors, tmp, progress)),
                (vocab_path(out), lambda tmp: write_json(tmp, document)),
                *extra,
            ],
            force=force,
        )
        self.meta = meta  # now describes what is on disk: count, dim, fingerprint
        return out


def vocab_path(pth: str | os.PathLike[str]) -> Path:
    """The vocabulary file that belongs to a tensor file: ``X.pth`` -> ``X.vocab.json``.

    Only a ``.pth`` or ``.pt`` suffix is replaced, so ``glove.6B.50d`` and ``glove.6B.300d`` keep
    distinct vocabularies (``glove.6B.50d.vocab.json``), and ``x.pt`` gets ``x.pt.vocab.json``.
    """
    path = Path(pth)
    stem = path.name[: -len(".pth")] if path.name.endswith(".pth") and len(path.name) > 4 else path.name
    return path.with_name(stem + VOCAB_SUFFIX)


def default_output(source: Source) -> Path:
    """Where ``convert`` writes by default: beside the source, ``glove.6B.50d.txt.gz`` -> ``glove.6B.50d.pth``."""
    return source.path.with_name(source.stem + ".pth")


def fingerprint(vectors: torch.Tensor) -> dict[str, Any]:
    """An exact fingerprint of a float32 table: its shape, a hash of sampled rows, and a hash of all bytes."""
    array = vectors.detach().cpu().contiguous().numpy()
    return {
        "dtype": "float32",
        "shape": list(array.shape),
        "sample_sha256": _sample_hash(array),
        "sha256": _full_hash(array),
    }


def _full_hash(array: np.ndarray) -> str:
    """sha256 of every byte, without copying (an empty table hashes as no bytes)."""
    return hashlib.sha256(np.ascontiguousarray(array).reshape(-1).view(np.uint8)).hexdigest()


def sample_rows(count: int) -> np.ndarray:
    """The rows the load-time fingerprint hashes: the first and last 256, and 16 spread evenly."""
    spread = np.linspace(0, max(count - 1, 0), num=min(count, _SAMPLE_SPREAD), dtype=np.int64).tolist()
    rows = {*range(min(count, _SAMPLE_EDGE)), *range(max(count - _SAMPLE_EDGE, 0), count), *spread}
    # sorted in Python: np.unique's first call costs more than the whole hash (a lazy import)
    return np.array(sorted(rows), dtype=np.int64)


def _sample_hash(array: np.ndarray) -> str:
    """A hash of the shape and the :func:`sample_rows`, cheap on a memory-mapped tensor."""
    digest = hashlib.sha256(repr(array.shape).encode())
    if array.shape[0]:
        digest.update(np.ascontiguousarray(array[sample_rows(array.shape[0])]).tobytes())
    return digest.hexdigest()


def _save_tensor(vectors: torch.Tensor, path: Path, progress: bool) -> None:
    """torch.save the bare tensor, with a byte-count progress bar if asked."""
    if not progress:
        torch.save(vectors, path)
        return
    from tqdm import tqdm

    total = vectors.numel() * vectors.element_size()
    with open(path, "wb") as fh, tqdm(total=total, unit="B", unit_scale=True, desc="writing", leave=False) as bar:

        class _Counting:
            def write(self, data) -> int:
                written = fh.write(data)
                bar.update(min(written, max(total - bar.n, 0)))
                return written

            def flush(self) -> None:
                fh.flush()

        torch.save(vectors, _Counting())


def write_json(path: Path, document: dict, indent: int | None = None) -> None:
    """Write a JSON document as UTF-8 (compact unless ``indent``), ending in a newline."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(document, fh, ensure_ascii=False, indent=indent, separators=(",", ":") if indent is None else None)
        fh.write("\n")


def is_converted(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is meant as a converted file: named ``.pth``/``.pt``, or a ``torch.save`` zip."""
    file = Path(path)
    if file.suffix in (".pth", ".pt"):
        return True
    if not file.is_file() or not zipfile.is_zipfile(file):
        return False
    from vecload.formats.source import zip_names

    try:  # one central directory entry at a time: an archive of vectors may have many members
        return any(name.endswith("data.pkl") for name in zip_names(file))
    except FormatError:
        return False


def load_converted(path: str | os.PathLike[str], *, verify: bool = False) -> Vectors:
    """Load a converted ``.pth`` and its vocabulary, refusing anything that does not match.

    The tensor is loaded with ``weights_only=True`` (no code from the file runs) and memory-mapped.

    Args:
        path: The ``.pth`` file.
        verify: Also hash every byte of the tensor against the fingerprint (slower on large tables).

    Raises:
        IntegrityError: The file is damaged or unsafe, or the vocabulary does not match the tensor.
    """
    pth = Path(path)
    if not pth.is_file():
        raise IntegrityError(f"{pth}: no such file")
    vocab_file = vocab_path(pth)
    if not vocab_file.is_file():
        raise IntegrityError(f"{pth}: no vocabulary beside it (expected {vocab_file}); convert the source again")
    document = _read_vocab(vocab_file)
    try:
        tensor = torch.load(pth, weights_only=True, mmap=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        raise IntegrityError(
            f"{pth}: refused: it holds Python objects other than a plain tensor, which could run code when "
            f"unpickled; vecload loads only the tensors it writes (convert the source again)"
        ) from exc
    except Exception as exc:  # torch raises many types for damaged files
        raise IntegrityError(
            f"{pth}: cannot be read as a tensor file ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); "
            f"it is truncated, damaged or not a file vecload wrote; convert the source again"
        ) from exc
    meta, tokens = document["meta"], document["tokens"]
    _check_tensor(pth, tensor, meta, tokens, verify)
    return Vectors(tokens, tensor, meta)


def _read_vocab(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            document = json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IntegrityError(f"{path}: damaged vocabulary file ({exc})") from exc
    if not isinstance(document, dict) or document.get("kind") != VOCAB_KIND:
        raise IntegrityError(f"{path}: not a vecload vocabulary file")
    if document.get("layout") != VOCAB_LAYOUT:
        raise IntegrityError(f"{path}: vocabulary layout {document.get('layout')!r} is not supported by this version")
    tokens, meta = document.get("tokens"), document.get("meta")
    if not isinstance(tokens, list) or not _all_strings(tokens) or not isinstance(meta, dict):
        raise IntegrityError(f"{path}: damaged vocabulary file (tokens or metadata malformed)")
    return document


def _all_strings(items: list) -> bool:
    """True when every item is a str (``str.join`` checks that in C, twice as fast as collecting types)."""
    try:
        "".join(items)
    except TypeError:
        return False
    return True


def _check_tensor(pth: Path, tensor: object, meta: dict, tokens: list[str], verify: bool) -> None:
    if not isinstance(tensor, torch.Tensor):
        raise IntegrityError(f"{pth}: holds a {type(tensor).__name__}, not a tensor")
    if tensor.dtype != torch.float32 or tensor.dim() != 2:
        raise IntegrityError(f"{pth}: holds a {tensor.dtype} tensor of shape {tuple(tensor.shape)}; expected 2-D float32")
    if tensor.shape[0] != len(tokens):
        raise IntegrityError(f"{pth}: has {tensor.shape[0]} rows but its vocabulary has {len(tokens)} tokens")
    expected = meta.get("tensor") or {}
    array = tensor.numpy()
    if list(array.shape) != expected.get("shape") or _sample_hash(array) != expected.get("sample_sha256"):
        raise IntegrityError(
            f"{pth}: the tensor does not match its vocabulary's fingerprint (a vocabulary paired with the "
            f"wrong tensor, or a modified file); convert the source again"
        )
    if verify and _full_hash(array) != expected.get("sha256"):
        raise IntegrityError(f"{pth}: the tensor's bytes do not match the fingerprint (modified or damaged)")


def from_table(table: Table, source: Source | None = None, options: dict[str, Any] | None = None) -> Vectors:
    """Wrap a reader's table as :class:`Vectors`, recording where it came from."""
    meta: dict[str, Any] = {"format": table.format, "report": table.report.to_dict()}
    if source is not None:
        meta["source"] = describe_source(source)
    if options:
        meta["options"] = options
    return Vectors(table.tokens, torch.from_numpy(table.vectors), meta)


def describe_source(source: Source) -> dict[str, Any]:
    """Name, size and sha256 of the stored source file."""
    digest = hashlib.sha256()
    with open(source.path, "rb") as fh:
        while block := fh.read(1 << 22):
            digest.update(block)
    return {
        "name": source.path.name,
        "member": source.member,
        "compression": source.compression,
        "size": source.path.stat().st_size,
        "sha256": digest.hexdigest(),
    }


def load(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    engine: str | None = None,
    member: str | None = None,
    verify: bool = False,
    **read_options: Any,
) -> Vectors:
    """Load vectors from a source file (GloVe, word2vec text or binary, fastText .vec) or a converted .pth.

    Args:
        path: The file; ``archive.zip:member`` (or ``archive.tar.gz:member``) reads a member of a zip or tar archive.
        format: Read as this format instead of detecting it.
        engine: ``"native"`` or ``"gensim"``.
        member: The member of a zip or tar archive.
        verify: For a converted file, hash every byte against the fingerprint.
        **read_options: :class:`vecload.ReadOptions` fields (``limit``, ``keep``, ``unicode_errors``,
            ``duplicates``, ``nonfinite``, ``progress``).

    Returns:
        The vectors.

    Example:
        >>> v = vecload.load("glove.6B.50d.txt")
        >>> emb = v.to_embedding(freeze=True)
    """
    if member is None and is_converted(path):
        if format or engine or read_options:
            raise VecloadError(f"{path}: is a converted file; format, engine and read options apply to sources")
        return load_converted(path, verify=verify)
    from vecload.formats import ReadOptions, open_source, read_table

    source = open_source(path, member)
    table = read_table(source, format=format, engine=engine, options=ReadOptions(**read_options))
    return from_table(table, source, _recorded_options(format, engine, read_options))


def convert(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    force: bool = False,
    format: str | None = None,
    engine: str | None = None,
    member: str | None = None,
    **read_options: Any,
) -> Path:
    """Convert a source file into ``OUT.pth`` (the float32 tensor) and ``OUT.vocab.json``.

    Args:
        src: The source file.
        out: The tensor's path; by default beside the source (``glove.6B.50d.txt`` -> ``glove.6B.50d.pth``).
        force: Overwrite existing outputs.
        format, engine, member, **read_options: As for :func:`load`.

    Returns:
        The tensor's path.

    Raises:
        OutputExistsError: An output exists and ``force`` is False (checked before reading).
    """
    return convert_with_meta(src, out, force=force, format=format, engine=engine, member=member, **read_options)[0]


def convert_with_meta(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    force: bool = False,
    format: str | None = None,
    engine: str | None = None,
    member: str | None = None,
    **read_options: Any,
) -> tuple[Path, dict[str, Any]]:
    """:func:`convert`, also returning the metadata written beside the tensor (for reports)."""
    from vecload.formats import ReadOptions, read_table

    source, target = prepare_output(src, out, member, force)
    table = read_table(source, format=format, engine=engine, options=ReadOptions(**read_options))
    vectors = from_table(table, source, _recorded_options(format, engine, read_options))
    written = vectors.save(target, force=force, progress=bool(read_options.get("progress")))
    return written, vectors.meta


def prepare_output(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str] | None,
    member: str | None,
    force: bool,
    extra: tuple[Path, ...] = (),
) -> tuple[Source, Path]:
    """Resolve the source and the tensor's path, refusing existing outputs before any reading."""
    if member is None and is_converted(src):
        raise VecloadError(f"{src}: is already a converted file; vecload.load() reads it as it is")
    from vecload.formats import open_source

    source = open_source(src, member)
    target = Path(out) if out is not None else default_output(source)
    check_writable([target, vocab_path(target), *extra], force)
    return source, target


def _recorded_options(format: str | None, engine: str | None, read_options: dict[str, Any]) -> dict[str, Any]:
    from vecload.formats import DEFAULT_ENGINE

    recorded: dict[str, Any] = {"format": format, "engine": engine or DEFAULT_ENGINE}
    for key, value in read_options.items():
        if key in ("progress",):
            continue
        recorded[key] = value if isinstance(value, (str, int, float, bool, type(None))) else f"<{type(value).__name__}>"
    return recorded
