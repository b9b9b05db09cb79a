"""Writers: tokens and a float32 matrix back to GloVe text, word2vec text or binary, or the Embedding
Projector's TSV pair (with TensorBoard's ``projector_config.pbtxt``). They know nothing of torch.

Round trips are exact: a text value is the shortest decimal that reads back (``float32(float(text))``, as
vecload and gensim read it) to the same float32 bits, and binary values are the float32 bytes
themselves. What a reader would split, merge or drop is refused before anything is written, naming the
row and the token.

Example:
    >>> write_vectors(fh, ["the", "cat"], np.zeros((2, 50), np.float32), "word2vec")
"""

from __future__ import annotations

import re

import bz2
import gzip
import lzma
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np

from vecload.errors import ArgumentError, Option, VecloadError, Wording
from vecload.formats.rows import is_number

#: The formats ``export`` writes (``projector`` is a folder of two TSV files).
EXPORT_FORMATS = ("glove", "word2vec", "word2vec-binary", "projector")
#: What to do with rows holding NaN or Inf: refuse them (the default), or write them.
EXPORT_NONFINITE = ("error", "keep")
#: The format each suffix means (after any compression suffix).
SUFFIXES = {".txt": "glove", ".vec": "word2vec", ".bin": "word2vec-binary"}
#: Compression by the output's last suffix (gzip at level 6, the gzip tool's default; 9 is far slower).
COMPRESSORS: dict[str, Callable[[BinaryIO], BinaryIO]] = {
    ".gz": lambda fh: gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=6, mtime=0),  # type: ignore[dict-item]
    ".bz2": lambda fh: bz2.BZ2File(fh, "wb"),  # type: ignore[dict-item]
    ".xz": lambda fh: lzma.LZMAFile(fh, "wb"),  # type: ignore[dict-item]
}
_BLOCK = 4096
_SPACES_OK = Wording("{} keeps tokens with spaces", Option("format", "glove"))


def write_vectors(fh: BinaryIO, tokens: Sequence[str], array: np.ndarray, fmt: str, *,
                  progress: bool = False) -> None:
    """Write a table to ``fh`` as ``glove``, ``word2vec`` (text) or ``word2vec-binary``.

    The rows must have passed :func:`check_table` for ``fmt``. Binary rows are written as the original
    word2vec tool writes them: ``token``, a space, ``dim`` little-endian float32s, a newline.

    Args:
        fh: A binary file, open for writing.
        tokens: One token per row.
        array: A float32 matrix ``[len(tokens), dim]``.
        fmt: ``"glove"``, ``"word2vec"`` or ``"word2vec-binary"``.
        progress: Show a tqdm bar over the rows.
    """
    count, dim = array.shape
    if fmt != "glove":
        fh.write(f"{count} {dim}\n".encode())
    line = _binary_rows if fmt == "word2vec-binary" else _text_rows
    for start, stop in _blocks(count, progress):
        fh.write(line(tokens[start:stop], array[start:stop], " "))


def write_tsv(fh: BinaryIO, array: np.ndarray, *, progress: bool = False) -> None:
    """Write the Embedding Projector's ``tensors.tsv``: one row a line, values tab-separated."""
    for start, stop in _blocks(len(array), progress):
        text = shortest_text(array[start:stop])
        fh.write(("\n".join("\t".join(row) for row in text.tolist()) + "\n").encode("utf-8"))


def write_lines(fh: BinaryIO, tokens: Sequence[str]) -> None:
    """Write one token a line (the projector's one-column ``metadata.tsv``, which has no header line)."""
    for start in range(0, len(tokens), _BLOCK):
        fh.write(("\n".join(tokens[start:start + _BLOCK]) + "\n").encode("utf-8"))


def projector_config(name: str) -> bytes:
    """``projector_config.pbtxt``, as tensorboardX writes it: TensorBoard's projector then reads the TSV pair
    beside it (``tensorboard --logdir FOLDER``)."""
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    return (f'embeddings {{\n  tensor_name: "{quoted}"\n  tensor_path: "tensors.tsv"\n'
            f'  metadata_path: "metadata.tsv"\n}}\n').encode("utf-8")


def check_table(tokens: Sequence[str], array: np.ndarray, fmt: str, nonfinite: str = "error", where: str = "") -> None:
    """Refuse what ``fmt`` cannot carry exactly, naming the first such row and token.

    Args:
        tokens: One token per row.
        array: A float32 matrix ``[len(tokens), dim]``.
        fmt: One of :data:`EXPORT_FORMATS`.
        nonfinite: ``"error"`` refuses rows with NaN or Inf; ``"keep"`` writes them.
        where: The output, named at the start of a refusal.

    Raises:
        ArgumentError: An unknown format or ``nonfinite`` value, or a matrix that is not float32 2-D.
        VecloadError: A token the format's readers would read differently (a space where a space splits,
            a line break, an empty token, a tab in the projector's TSV), an unencodable token, an empty
            table, or a row with NaN or Inf.
    """
    if fmt not in EXPORT_FORMATS:
        raise ArgumentError(f"unknown export format {fmt!r}; choose one of: {', '.join(EXPORT_FORMATS)}")
    if nonfinite not in EXPORT_NONFINITE:
        raise ArgumentError(f"nonfinite must be one of {', '.join(map(repr, EXPORT_NONFINITE))}, got {nonfinite!r}")
    if array.dtype != np.float32 or array.ndim != 2 or array.shape[0] != len(tokens):
        raise ArgumentError(f"expected a float32 matrix of {len(tokens)} rows, got {array.dtype} {array.shape}")
    at = f"{where}: " if where else ""
    if not len(tokens) or not array.shape[1]:
        raise VecloadError(f"{at}a table of {array.shape[0]} x {array.shape[1]} has nothing to export")
    for row, token in enumerate(tokens):
        problem = _token_problem(token, row, fmt)
        if problem:
            message, fix = problem
            raise VecloadError(f"{at}row {row}, token {token!r}: {message}; nothing was written", fix=fix)
    if nonfinite == "error":
        bad = ~np.isfinite(array).all(axis=1)
        if bad.any():
            row, count = int(np.argmax(bad)), int(bad.sum())
            raise VecloadError(
                f"{at}row {row}, token {tokens[row]!r}: holds NaN or Inf ({count} such row{'s' * (count != 1)}), "
                f"which most tools that read {fmt} cannot use; nothing was written",
                fix=Wording("pass {} to write them anyway", Option("nonfinite", "keep")))


def format_from_path(path: str | Path) -> str:
    """The format an output's name asks for: ``.txt`` GloVe, ``.vec`` word2vec text, ``.bin`` binary,
    each optionally ``.gz``, ``.bz2`` or ``.xz``.

    Raises:
        ArgumentError: The name has none of these suffixes.
    """
    name = Path(path).name.lower()
    for compression in COMPRESSORS:
        name = name.removesuffix(compression)
    fmt = SUFFIXES.get(Path(name).suffix)
    if fmt is None:
        raise ArgumentError(f"{path}: cannot tell the format from the name (.txt glove, .vec word2vec, .bin "
                            f"word2vec-binary, each optionally .gz/.bz2/.xz)",
                            fix=Wording("give {}", Option("format", "word2vec")))
    return fmt


@contextmanager
def compressed(fh: BinaryIO, path: str | Path) -> Iterator[BinaryIO]:
    """``fh``, compressed as the name's last suffix says (``.gz``, ``.bz2``, ``.xz``), or as it is."""
    make = COMPRESSORS.get(Path(path).suffix.lower())
    if make is None:
        yield fh
        return
    stream = make(fh)
    try:
        yield stream
    finally:
        stream.close()  # ends the compressed stream; fh stays open


def shortest_text(array: np.ndarray) -> np.ndarray:
    """Each float32 as the shortest decimal that reads back to the same bits, as a string array.

    numpy's float32 repr is the shortest decimal that rounds straight to the float32; readers round through
    float64 (``float()`` then float32), so each value is read back that way too, and any that came back
    different (none has been seen) is written as its float64 repr, which reads back exactly.
    """
    text = array.astype(str)
    finite = np.isfinite(array)
    back = text.astype(np.float64).astype(np.float32)
    wrong = finite & (back.view(np.uint32) != array.view(np.uint32))
    if wrong.any():
        text = text.astype("<U32")
        text[wrong] = [repr(float(value)) for value in array[wrong]]
    return text


def _text_rows(tokens: Sequence[str], block: np.ndarray, sep: str) -> bytes:
    text = shortest_text(block)
    return "".join(f"{token}{sep}{sep.join(row)}\n" for token, row in zip(tokens, text.tolist())).encode("utf-8")


def _binary_rows(tokens: Sequence[str], block: np.ndarray, sep: str) -> bytes:
    raw = np.ascontiguousarray(block, dtype="<f4").tobytes()
    width = 4 * block.shape[1]
    return b"".join(b"%s %s\n" % (token.encode("utf-8"), raw[i * width:(i + 1) * width])
                    for i, token in enumerate(tokens))


def _blocks(count: int, progress: bool) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of blocks of rows, with a tqdm bar over the rows when ``progress``."""
    from tqdm import tqdm

    with tqdm(total=count, unit="rows", unit_scale=True, desc="writing", leave=False, disable=not progress) as bar:
        for start in range(0, count, _BLOCK):
            stop = min(start + _BLOCK, count)
            yield start, stop
            bar.update(stop - start)


#: Control characters a word2vec binary token may not hold (format detection takes them for misaligned
#: records; a tab is fine).
_CONTROL_IN_TOKEN = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
_CONTROL_OK = Wording("a text format keeps it: {}", Option("format", "glove"))


def _token_problem(token: object, row: int, fmt: str) -> tuple[str, Wording | None] | None:
    """Why ``token`` (at ``row``) cannot be written in ``fmt`` so that readers get it back, or None."""
    if not isinstance(token, str) or not token:
        if token == "":
            return "an empty token cannot be read back", None
        return f"is a {type(token).__name__}, not a string", None
    if not token.isascii():
        try:
            token.encode("utf-8")
        except UnicodeEncodeError:
            return "cannot be encoded as UTF-8 (it holds a lone surrogate)", None
    if "\n" in token:
        return "holds a line break, which would split its row", None
    if fmt == "projector":
        return ("holds a tab, which the projector's TSV would split", None) if "\t" in token else None
    if fmt != "glove":
        if " " in token:
            return f"holds a space, which {fmt} readers (gensim, word2vec) split on", _SPACES_OK
        if fmt == "word2vec-binary" and _CONTROL_IN_TOKEN.search(token):
            return ("holds a control character (CR, NUL, ...), which makes a binary record look misaligned to "
                    "format detection", _CONTROL_OK)
        return None
    if row == 0 and token.startswith("\ufeff"):
        return "starts with U+FEFF, which readers drop as a byte-order mark at the start of a file", None
    if " " in token:
        if row == 0:
            return "holds a space: GloVe readers count the values on the first row, so its token may not", None
        if all(not part or is_number(part.encode("utf-8")) for part in token.split(" ")[1:]):
            return ("holds a space followed only by numbers or spaces (empty fields), which GloVe readers take "
                    "for more values", None)
    return None
