"""The table builder every reader feeds: rows chunk by chunk in, one :class:`Table` out.

It applies the read options as rows arrive (the ``on_rows`` hook, non-finite rows, the ``keep`` filter,
repeated tokens), so memory stays proportional to the rows kept whatever the stream holds. Each chunk goes
through the same steps, vectorised per chunk; the tokens kept so far live in a :class:`TokenSet` (16 bytes a
token rather than a set's 40 to 60).

Kept rows are copied into blocks (a reader may instead write a chunk straight into the free rows
:meth:`TableBuilder.room` gives and pass them to the same :meth:`TableBuilder.add_chunk`, which then only
counts them): the first sized for the rows expected (a header's count, or an estimate
from the file's size), the next ones of :data:`BLOCK_BYTES`. A table that fits its first block is returned
as a view of it (pages never written cost no memory); otherwise :meth:`TableBuilder.finish` copies the blocks
into one array, freeing each block as it is copied, so the table never exists twice in memory.
"""

from __future__ import annotations

import mmap
from collections.abc import Sequence

import numpy as np

from vecload._memory import mapping
from vecload.errors import Option, ParseError, Wording
from vecload.formats.table import MAX_EXAMPLES, ParseReport, ReadOptions, Table
from vecload.formats.tokenset import TokenSet

#: The size of the blocks rows are copied into after the first, and the most an unchecked count (a header
#: of a compressed stream, only a claim) reserves at first.
BLOCK_BYTES = 1 << 26
#: Arrays of at least this many bytes get a mapping of their own (see :func:`empty_rows`).
_OWN_MAPPING = 1 << 22
_RESERVE_BYTES = 1 << 28


class TableBuilder:
    """Collects rows chunk by chunk, applying the duplicate, filter and non-finite policies.

    Args:
        name: The source's name, for messages.
        fmt: The format being read.
        dim: The number of values per row.
        options: The read options.
        unit: ``"line"`` when locations are line numbers, ``"offset"`` for byte offsets.
        expected_rows: How many rows to reserve room for at first (None: one block's worth).
        trusted: ``expected_rows`` was checked against the stream's real size (else it is capped).
        exact: ``expected_rows`` is a header's count, the rows a sound file gives unless a filter drops
            some: the first block's pages are then mapped in one system call rather than faulted in one by
            one as rows arrive (0.15 s less for a 480 MB table).
        block_bytes: The size of the blocks after the first.
        sparse: ``expected_rows`` is a bound far above the rows a sound file gives (a split read's): the
            first block reserves no memory (``MAP_NORESERVE``); only the pages written cost any.
    """

    def __init__(self, name: str, fmt: str, dim: int, options: ReadOptions, unit: str = "line",
                 expected_rows: int | None = None, trusted: bool = False, exact: bool = False,
                 block_bytes: int = BLOCK_BYTES, sparse: bool = False) -> None:
        self.name = name
        self.format = fmt
        self.dim = dim
        self.options = options
        self.unit = unit
        self.report = ParseReport()
        self._seen = TokenSet()
        # Where each kept token was first seen, kept only when a duplicate must name it in an error.
        self._first: dict[str, int] | None = {} if options.duplicates == "error" else None
        self._block_rows = max(block_bytes // (4 * max(dim, 1)), 1)
        first = expected_rows or self._block_rows
        if not trusted:
            first = min(first, max(_RESERVE_BYTES // (4 * max(dim, 1)), 1))
        populate = exact and trusted and first == expected_rows and options.keep is None and not sparse
        self._blocks = [empty_rows(max(first, 1), dim, populate, reserve=not sparse)]
        self._filled = 0  # rows written into the last block
        self._room: np.ndarray | None = None  # the free rows last handed out by room()

    def room(self, rows: int) -> np.ndarray | None:
        """The last block's next ``rows`` free rows, for a reader to write a chunk into and then pass to
        :meth:`add_chunk` as its ``rows``, which are then not copied again. None where they do not fit, or
        where a ``keep`` filter may drop most of them (the reader then uses an array of its own).

        Example:
            >>> rows = builder.room(n)  # fill rows[:] in place, then
            >>> builder.add_chunk(tokens, rows, where)
        """
        block = self._blocks[-1]
        if self.options.keep is not None or len(block) - self._filled < rows:
            return None
        self._room = block[self._filled : self._filled + rows]
        return self._room

    def block(self) -> np.ndarray:
        """The first block, whole: a split read (:mod:`vecload.formats.textsplit`) places its helper's rows
        in its spare rows, then passes them to :meth:`add_chunk`, which moves them into place."""
        return self._blocks[0]

    def written(self) -> int:
        """How many rows of :meth:`block` hold the table's rows so far."""
        return self._filled if len(self._blocks) == 1 else len(self._blocks[0])

    def add_chunk(self, tokens: Sequence[str], rows: np.ndarray, where: Sequence[int]) -> None:
        """Add consecutive rows of the file.

        Args:
            tokens: The rows' tokens.
            rows: A float32 array ``[len(tokens), dim]``.
            where: Each row's line number (or byte offset), for reports and errors.

        Raises:
            ParseError: A non-finite row with ``nonfinite="error"`` or a repeated token with
                ``duplicates="error"``, whichever comes first in the file.
        """
        if not len(tokens):
            return
        if self.options.on_rows is not None:
            self.options.on_rows(rows)
        where = where.tolist() if isinstance(where, np.ndarray) else list(where)
        candidates = self._filter(tokens, where)
        selected, repeats = self._new_tokens(tokens, candidates)
        finite = np.isfinite(rows).all(axis=1)
        # only rows the table keeps are reported or refused (no loop over the rows when all are finite)
        bad = [] if finite.all() else [i for i in selected if not finite[i]]
        self._raise_first_error(tokens, where, bad, repeats)
        report = self.report
        for i in bad:
            report.note("nonfinite", tokens[i], where[i])
        report.duplicates += len(repeats)
        examples = report.examples.setdefault("duplicates", []) if repeats else []
        examples.extend([tokens[i], where[i]] for i in repeats[: MAX_EXAMPLES - len(examples)])
        report.rows_read += len(tokens)
        kept = list(tokens) if len(selected) == len(tokens) else [tokens[i] for i in selected]
        self._seen.extend(kept)
        if self._first is not None:
            self._first.update((tokens[i], where[i]) for i in selected)
        in_place, self._room = rows is self._room, None
        if len(selected) == len(tokens) and in_place:
            self._filled += len(rows)  # already where they belong
        elif len(selected) == len(tokens):
            self._append(rows)
        elif selected:
            self._append(rows[np.asarray(selected, dtype=np.intp)])

    def finish(self) -> Table:
        """Return the table; the builder must not be used afterwards."""
        blocks, self._blocks = self._blocks, []
        blocks[-1] = blocks[-1][: self._filled]
        total = sum(len(block) for block in blocks)
        if len(blocks) == 1:
            out = blocks[0]
        else:
            out = empty_rows(total, self.dim)
            start = 0
            while blocks:
                block = blocks.pop(0)  # freed once copied: the table never exists twice
                out[start : start + len(block)] = block
                start += len(block)
        self.report.rows_kept = total
        tokens = self._seen.tokens
        self._seen, self._first = TokenSet(), None
        return Table(tokens, out, self.format, self.report)

    def _filter(self, tokens: Sequence[str], where: list[int]) -> Sequence[int]:
        """The rows the ``keep`` filter keeps (all rows without one), reporting the rest."""
        keep = self.options.keep
        if keep is None:
            return range(len(tokens))
        flags = [keep(token) for token in tokens]
        candidates = [i for i, flag in enumerate(flags) if flag]
        dropped = len(tokens) - len(candidates)
        if dropped:
            self.report.filtered += dropped
            examples = self.report.examples.setdefault("filtered", [])
            for i, flag in enumerate(flags):
                if len(examples) >= MAX_EXAMPLES:
                    break
                if not flag:
                    examples.append([tokens[i], where[i]])
        return candidates

    def _new_tokens(self, tokens: Sequence[str], candidates: Sequence[int]) -> tuple[list[int], list[int]]:
        """Split the candidate rows into those whose token is new (the first of the chunk, not kept before)
        and repeats, both in file order, with set operations rather than a loop over the rows."""
        names = list(tokens) if isinstance(candidates, range) else [tokens[i] for i in candidates]
        if self._seen.all_new(names):
            return list(candidates), []  # the usual chunk: nothing repeats
        first = dict(zip(reversed(names), reversed(candidates)))  # each token's first candidate row
        fresh = [token for token, seen in zip(first, self._seen.seen(list(first))) if not seen]
        selected = sorted(first[token] for token in fresh)
        chosen = set(selected)
        return selected, [i for i in candidates if i not in chosen]

    def _raise_first_error(self, tokens: Sequence[str], where: list[int], bad: list[int], repeats: list[int]) -> None:
        """Raise for the first row the options refuse: a non-finite row or a repeated token."""
        errors = []
        if bad and self.options.nonfinite == "error":
            errors.append((bad[0], "nonfinite"))
        if repeats and self._first is not None:
            errors.append((repeats[0], "duplicate"))
        if not errors:
            return
        i, kind = min(errors)
        if kind == "nonfinite":
            raise self._error("a value is NaN or infinite", where[i], Wording("{} accepts it", Option("nonfinite", "keep")))
        token = tokens[i]
        first = self._first.get(token)  # type: ignore[union-attr]
        if first is None:  # first seen earlier in this chunk
            first = where[list(tokens).index(token)]
        raise self._error(f"duplicate token {token!r} (first at {self.unit} {first})", where[i],
                          Wording("{} keeps the first and reports the rest", Option("duplicates", "first")))

    def _append(self, rows: np.ndarray) -> None:
        """Copy rows into the blocks, starting a new block when the last one is full."""
        start = 0
        while start < len(rows):
            block = self._blocks[-1]
            if self._filled == len(block):
                self._blocks.append(empty_rows(self._block_rows, self.dim))
                self._filled, block = 0, self._blocks[-1]
            take = min(len(block) - self._filled, len(rows) - start)
            block[self._filled : self._filled + take] = rows[start : start + take]
            self._filled += take
            start += take

    def _error(self, message: str, where: int, fix: Wording | None = None) -> ParseError:
        if self.unit == "line":
            return ParseError(self.name, message, line=int(where), fix=fix)
        return ParseError(self.name, message, offset=int(where), fix=fix)


def empty_rows(rows: int, dim: int, populate: bool = False, reserve: bool = True) -> np.ndarray:
    """An uninitialised float32 ``[rows, dim]`` array; a large one in its own private anonymous mapping.

    numpy asks the kernel for transparent huge pages on every large array (``madvise(MADV_HUGEPAGE)``),
    and where the kernel compacts memory to find them on first touch (``defrag=madvise``, a common
    default), filling a fresh 480 MB table took 1.0-1.3 s on this project's machines against 0.27-0.31 s
    in ordinary pages. A mapping of our own gets ordinary pages (untouched rows still cost nothing) and is
    unmapped when the last array using it goes (:func:`vecload._memory.mapping`). ``populate`` maps every
    page at once, for a table whose every row will be written; ``reserve=False`` reserves no swap, for a
    bound far above the rows to come.
    """
    nbytes = rows * dim * 4
    memory = mapping(nbytes, populate, reserve) if nbytes >= _OWN_MAPPING else None
    if memory is None:
        return np.empty((rows, dim), dtype=np.float32)
    return np.frombuffer(memory, dtype=np.float32).reshape(rows, dim)


def release_rows(rows: np.ndarray, start: int, stop: int) -> None:
    """Hand back to the kernel the pages lying wholly within ``rows[start:stop]`` (``madvise(MADV_DONTNEED)``:
    read again they are zeros), where ``rows`` lies in a mapping of :func:`empty_rows`; else do nothing."""
    base = rows
    while isinstance(base.base, np.ndarray):
        base = base.base
    memory = getattr(base.base, "obj", None)
    start, stop = max(start, 0), min(stop, len(rows))
    if not isinstance(memory, mmap.mmap) or start >= stop or not hasattr(mmap, "MADV_DONTNEED"):
        return
    row_bytes = rows.strides[0]
    low = rows.ctypes.data - base.ctypes.data + start * row_bytes
    high = low + (stop - start) * row_bytes
    low = -(-low // mmap.PAGESIZE) * mmap.PAGESIZE
    high = high // mmap.PAGESIZE * mmap.PAGESIZE
    if low < high:
        memory.madvise(mmap.MADV_DONTNEED, low, high - low)
