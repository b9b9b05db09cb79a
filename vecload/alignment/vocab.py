"""The task's vocabulary: the tokens to align, in order, with optional counts.

A vocabulary comes as a list of tokens, a mapping of token to count (in its iteration order), or a
UTF-8 file. A file is read in one of three layouts, detected from the whole file (``layout="auto"``):

- ``TOKEN<TAB>COUNT`` lines, split at the last tab, when any line holds a tab (then every line must);
- ``TOKEN COUNT`` lines, as word2vec's ``-save-vocab`` and GloVe's ``vocab_count`` write them, split at
  the last space, when *every* line ends in a space and a whole number;
- otherwise one token per line, the whole line being the token (spaces included).

A one-token-per-line file whose tokens all happen to end in `` <digits>`` would read as counts: pass
``layout="lines"`` (CLI: ``--vocab-layout lines``) for it. Lines end at ``\\n`` only (a ``\\r`` before it is
dropped), so tokens holding other Unicode line breaks survive; a UTF-8 BOM is dropped; a final newline
is optional; empty lines are errors.

:func:`task_rows` places the specials before the task tokens: the aligned table's rows, in order.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from vecload.errors import ArgumentError, Option, ParseError, VecloadError, Wording

if TYPE_CHECKING:
    from vecload.alignment.options import TaskOptions

#: How a vocabulary file is read (the first is the default).
LAYOUTS = ("auto", "lines", "counts")
#: What a repeated task token does: refuse it, or keep its first entry (the first is the default).
VOCAB_DUPLICATES = ("error", "first")
_BOM = "\ufeff"
#: How many duplicate examples a vocabulary keeps (the count is always complete).
MAX_EXAMPLES = 20

TokensSpec = Sequence[str] | Mapping[str, int] | str | os.PathLike[str]


@dataclass
class TaskVocab:
    """The tokens to align, in order.

    Attributes:
        tokens: Distinct tokens in task order.
        counts: Each token's count, or None when none were given.
        name: The file it came from, or ``"<list>"`` / ``"<mapping>"``.
        duplicates: Repeated entries dropped by ``duplicates="first"``.
        duplicate_examples: Up to :data:`MAX_EXAMPLES` ``[token, line or position]`` of those.
    """

    tokens: list[str]
    counts: list[int] | None
    name: str
    duplicates: int = 0
    duplicate_examples: list[list] = field(default_factory=list)


@dataclass
class TaskRows:
    """The aligned table's rows: the specials, then the task's tokens (those that are not specials).

    Attributes:
        vocab: The task vocabulary as read.
        specials: The specials, in order.
        pad: The special with a zero row, or None.
        task: The task tokens looked up, in task order.
        counts: Their counts, or None.
        specials_in_vocab: Specials that were also task tokens (kept once, as specials).
    """

    vocab: TaskVocab
    specials: list[str]
    pad: str | None
    task: list[str]
    counts: list[int] | None
    specials_in_vocab: list[str]

    @property
    def tokens(self) -> list[str]:
        """Every row's token: the specials, then the task tokens."""
        return self.specials + self.task

    @property
    def pad_index(self) -> int | None:
        """The pad's row, or None."""
        return self.specials.index(self.pad) if self.pad is not None else None


def task_rows(tokens: TokensSpec, options: TaskOptions) -> TaskRows:
    """Read the task vocabulary and place the specials first.

    Example:
        >>> task_rows(["<unk>", "the"], TaskOptions()).tokens
        ['<pad>', '<unk>', 'the']
    """
    vocab = read_task_vocab(tokens, layout=options.layout, duplicates=options.vocab_duplicates)
    specials = list(options.specials)
    special_set = set(specials)
    keep = [i for i, t in enumerate(vocab.tokens) if t not in special_set]
    return TaskRows(
        vocab=vocab,
        specials=specials,
        pad=options.pad,
        task=[vocab.tokens[i] for i in keep],
        counts=[vocab.counts[i] for i in keep] if vocab.counts is not None else None,
        specials_in_vocab=[t for t in vocab.tokens if t in special_set],
    )


def read_task_vocab(tokens: TokensSpec, *, layout: str = "auto", duplicates: str = "error") -> TaskVocab:
    """Read the task's vocabulary from a list, a mapping or a file.

    Args:
        tokens: A sequence of tokens, a mapping token -> count, or a path to a vocabulary file.
        layout: For files: ``"auto"``, ``"lines"`` (one token per line) or ``"counts"`` (token and count).
        duplicates: ``"error"`` refuses a repeated token; ``"first"`` keeps its first entry (and count)
            and reports the rest.

    Returns:
        The vocabulary.

    Raises:
        OSError: The file is missing or unreadable.
        ParseError: A file is malformed (names the line).
        ArgumentError: A bad ``layout`` or ``duplicates``, or a token or count of the wrong type.
        VecloadError: A repeated token with ``duplicates="error"``, an empty token, or no tokens at all
            (an empty vocabulary is a mistake, never a table of only the specials).

    Example:
        >>> read_task_vocab({"the": 10, "cat": 2}).counts
        [10, 2]
    """
    if layout not in LAYOUTS:
        raise ArgumentError(f"layout must be one of {', '.join(map(repr, LAYOUTS))}, got {layout!r}")
    if duplicates not in VOCAB_DUPLICATES:
        raise ArgumentError(f"duplicates must be one of {', '.join(map(repr, VOCAB_DUPLICATES))}, got {duplicates!r}")
    if isinstance(tokens, (str, os.PathLike)):
        name = str(tokens)
        entries, counts, unit = _read_file(Path(tokens), layout), None, "line"
        if entries and entries[0][2] is not None:
            counts = []
    elif isinstance(tokens, Mapping):
        name, unit, counts = "<mapping>", "position", []
        entries = [(token, i, _count(count, token)) for i, (token, count) in enumerate(tokens.items())]
    elif isinstance(tokens, Iterable):
        name, unit, counts = "<list>", "position", None
        entries = [(token, i, None) for i, token in enumerate(tokens)]
    else:
        raise ArgumentError(f"tokens must be a list of tokens, a mapping token -> count or a vocabulary file, "
                            f"got {type(tokens).__name__}")
    vocab = TaskVocab([], counts, name)
    first: dict[str, int] = {}
    for token, where, count in entries:
        _check_token(token, name, unit, where)
        if token in first:
            if duplicates == "error":
                raise VecloadError(f"{name}: token {token!r} at {unit} {where} repeats {unit} {first[token]}",
                                   fix=Wording("remove it, or pass {} to keep the first",
                                               Option("vocab_duplicates", "first")))
            vocab.duplicates += 1
            if len(vocab.duplicate_examples) < MAX_EXAMPLES:
                vocab.duplicate_examples.append([token, where])
            continue
        first[token] = where
        vocab.tokens.append(token)
        if vocab.counts is not None:
            vocab.counts.append(count)  # type: ignore[arg-type]
    if not vocab.tokens:
        raise VecloadError(f"{name}: the task vocabulary is empty (no tokens), so there is nothing to align; "
                           f"an aligned table would hold only the specials")
    return vocab


def _read_file(path: Path, layout: str) -> list[tuple[str, int, int | None]]:
    """``(token, line, count or None)`` for every line of a vocabulary file."""
    data = path.read_bytes()  # a missing or unreadable file raises OSError, naming it
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = _text_line(exc.object, exc.start)
        raise ParseError(path, f"not valid UTF-8 ({exc.reason}); save the vocabulary as UTF-8", line=line) from exc
    if text.startswith(_BOM):
        text = text[1:]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    for number, line in enumerate(lines, 1):
        if not line:
            raise ParseError(path, "empty line (a token cannot be empty); remove it", line=number)
    if layout == "lines":
        return [(line, number, None) for number, line in enumerate(lines, 1)]
    if layout == "counts" or any("\t" in line for line in lines):
        sep = "\t" if any("\t" in line for line in lines) else " "
        return [_split_count(path, line, number, sep) for number, line in enumerate(lines, 1)]
    if lines and all(_looks_counted(line) for line in lines):
        return [_split_count(path, line, number, " ") for number, line in enumerate(lines, 1)]
    return [(line, number, None) for number, line in enumerate(lines, 1)]


def _text_line(data: bytes, offset: int) -> int:
    """The 1-based line of a byte offset."""
    return data.count(b"\n", 0, offset) + 1


def _looks_counted(line: str) -> bool:
    token, sep, count = line.rpartition(" ")
    return bool(sep and token and count.isascii() and count.isdigit())


def _split_count(path: Path, line: str, number: int, sep: str) -> tuple[str, int, int]:
    token, found, count = line.rpartition(sep)
    shown = "<TAB>" if sep == "\t" else "<space>"
    if not found or not token:
        raise ParseError(path, f"expected TOKEN{shown}COUNT, found {line!r}", line=number)
    if not (count.isascii() and count.isdigit()):
        raise ParseError(
            path,
            f"expected a whole number after the last {shown}, found {count!r}",
            line=number,
            fix=Wording("a one-token-per-line file? pass {}", Option("layout", "lines")),
        )
    return token, number, int(count)


def _count(count: object, token: str) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ArgumentError(f"the count of {token!r} must be a whole number >= 0, got {count!r}")
    return count


def _check_token(token: object, name: str, unit: str, where: int) -> None:
    if not isinstance(token, str):
        raise ArgumentError(f"{name}: the token at {unit} {where} is a {type(token).__name__}, not a str")
    if not token:
        raise ArgumentError(f"{name}: the token at {unit} {where} is empty")
