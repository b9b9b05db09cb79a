"""What every reader returns: tokens in row order, a float32 matrix, and a report of what it saw."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from vecload.errors import Option, Wording
from vecload.formats.tokenset import TokenSet

#: How many examples of each problem a report keeps (the counts are always complete).
MAX_EXAMPLES = 20
#: The problems a report counts, in the order reports list them.
_PROBLEMS = ("duplicates", "filtered", "nonfinite", "decoding_repairs", "blank_lines", "bad_rows")
#: The data problems :meth:`ParseReport.problems` names, and what happened to those rows. Blank lines and a
#: BOM are not among them (nothing is lost or changed), nor rows a caller's filter dropped (asked for).
_DATA_PROBLEMS = {
    "duplicates": ("repeated token", "repeated tokens", "dropped, the first row of each kept"),
    "nonfinite": ("row with NaN or Inf values", "rows with NaN or Inf values", "kept"),
    "decoding_repairs": ("token that was not UTF-8", "tokens that were not UTF-8", "repaired"),
}


@dataclass
class ParseReport:
    """What a reader saw while reading, kept in the converted file's metadata.

    Attributes:
        rows_read: Data rows in the file (header excluded) that the reader looked at, bad rows skipped
            included.
        rows_kept: Rows in the result.
        header: ``[count, dim]`` from a word2vec header (a fastText model's vocabulary size and dim), or None.
        model: A fastText model's dim, vocabulary size (``words``), ``minn``, ``maxn``, ``bucket`` and
            training arguments, or None.
        bom: The stream started with a UTF-8 byte order mark (stripped).
        duplicates: Rows dropped because their token appeared earlier (the first is kept).
        filtered: Rows dropped by a token filter (duplicates are only detected among kept tokens).
        nonfinite: Rows with NaN or Inf values (kept unless rejected).
        decoding_repairs: Tokens whose bytes were not valid UTF-8 and were repaired.
        blank_lines: Blank lines skipped (text formats).
        bad_rows: Rows skipped as malformed under ``bad_rows="skip"`` (wrong number of values, a value that
            is not a number, a token that is not UTF-8).
        examples: Up to :data:`MAX_EXAMPLES` ``[token, line or record]`` pairs per problem above
            (``[reason, line or offset]`` for ``bad_rows``).
    """

    rows_read: int = 0
    rows_kept: int = 0
    header: list[int] | None = None
    model: dict | None = None
    bom: bool = False
    duplicates: int = 0
    filtered: int = 0
    nonfinite: int = 0
    decoding_repairs: int = 0
    blank_lines: int = 0
    bad_rows: int = 0
    examples: dict[str, list[list]] = field(default_factory=dict)

    def note(self, problem: str, token: str, where: int) -> None:
        """Count one occurrence of ``problem`` and keep it as an example if there is room."""
        setattr(self, problem, getattr(self, problem) + 1)
        kept = self.examples.setdefault(problem, [])
        if len(kept) < MAX_EXAMPLES:
            kept.append([token, where])

    def to_dict(self) -> dict:
        """A JSON-ready dict; ``examples`` lists the problems in a fixed order, however they were found."""
        document = asdict(self)
        document["examples"] = {p: self.examples[p] for p in _PROBLEMS if p in self.examples}
        return document

    def summary(self, unit: str = "line") -> str:
        """One line for people: rows read and kept, then only the problems that occurred.

        Args:
            unit: What bad rows' locations are: ``"line"``, or ``"byte"`` for word2vec binary.
        """
        parts = [f"{self.rows_read} rows read", f"{self.rows_kept} kept"]
        for problem in _PROBLEMS:
            count = getattr(self, problem)
            if count:
                examples = self.examples.get(problem, [])[:3]
                if problem == "blank_lines":
                    shown = "lines " + ", ".join(str(n) for _, n in examples)
                elif problem == "bad_rows":
                    shown = "; ".join(f"{unit} {n}: {reason}" for reason, n in examples[:1])
                    parts.append(f"{count} bad rows skipped ({shown}{'; ...' if count > 1 else ''})")
                    continue
                else:
                    shown = ", ".join(repr(t) for t, _ in examples)
                parts.append(f"{count} {problem.replace('_', ' ')} ({shown})")
        if self.bom:
            parts.append("UTF-8 BOM stripped")
        return "; ".join(parts)

    def problems(self, unit: str = "line") -> list[str]:
        """One line per data problem found, with its count and first places (empty for a clean read):
        ``2 repeated tokens (dropped, the first row of each kept): line 5 'the', line 9 'of'``.

        Args:
            unit: ``"line"``, or ``"byte"`` for word2vec binary.
        """
        lines = []
        for problem, (one, many, outcome) in _DATA_PROBLEMS.items():
            count = getattr(self, problem)
            if count:
                examples = self.examples.get(problem, [])
                shown = ", ".join(f"{unit} {where} {token!r}" for token, where in examples[:3])
                more = ", ..." if count > min(len(examples), 3) else ""
                lines.append(f"{count} {one if count == 1 else many} ({outcome}): {shown}{more}")
        if self.bad_rows:
            lines.append(self.skipped(unit))
        return lines

    def skipped(self, unit: str = "line") -> str:
        """The one line the CLI prints when bad rows were skipped: ``skipped 3 bad rows (lines 3, 17, 20)``."""
        where = [str(n) for _, n in self.examples.get("bad_rows", [])[:10]]
        more = ", ..." if self.bad_rows > len(where) else ""
        return f"skipped {self.bad_rows} bad rows ({unit}s {', '.join(where)}{more})"


@dataclass
class Table:
    """Tokens in row order and their vectors.

    Attributes:
        tokens: One token per row.
        vectors: A C-contiguous float32 array of shape ``[len(tokens), dim]``.
        format: The format the rows were read as.
        report: What the reader saw.
    """

    tokens: list[str]
    vectors: np.ndarray
    format: str
    report: ParseReport

    def __post_init__(self) -> None:
        assert self.vectors.dtype == np.float32 and self.vectors.ndim == 2
        assert self.vectors.shape[0] == len(self.tokens), (self.vectors.shape, len(self.tokens))

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


@dataclass(frozen=True)
class ReadOptions:
    """How a reader treats what it finds.

    Attributes:
        limit: Read only the first ``limit`` rows of the file (frequency-sorted files make this useful).
        keep: Keep only the tokens for which this returns True (a set's ``__contains__`` works).
        unicode_errors: For tokens that are not valid UTF-8: ``"strict"`` (an error), ``"replace"``
            or ``"ignore"`` (repaired and counted in the report).
        duplicates: ``"first"`` keeps the first row of a repeated token and reports the rest;
            ``"error"`` refuses the file.
        nonfinite: ``"keep"`` keeps rows with NaN or Inf and reports them; ``"error"`` refuses the file.
        bad_rows: ``"error"`` (the default) refuses a malformed row with its line; ``"skip"`` (native engine
            only) skips rows with the wrong number of values, a value that is not a number, or a token
            that is not UTF-8 under ``unicode_errors="strict"``, and reports them (``bad_rows`` in the
            report). Skipped rows count as rows read: ``limit`` counts them, as gensim's ``limit``
            counts lines, and so does a header's count. A text file where more than half the rows
            read would be skipped is refused (its dimension is wrong, not its rows).
        progress: Show a tqdm progress bar.
        max_bytes: The most bytes a compressed stream may inflate to. None: the larger of 256 MiB and 100
            times the compressed bytes read so far (see :mod:`vecload.formats.source`). A stream past it
            is refused as a likely decompression bomb; set it for a genuine file that compresses more than
            100-fold.
        on_rows: Called with every chunk of rows the reader reads (a float32 array ``[n, dim]``), before
            any filtering: together the calls see exactly the ``rows_read`` rows, in file order, so a
            caller can compute statistics over the whole file while ``keep`` retains only a few rows
            (bad rows skipped under ``bad_rows="skip"`` are counted in ``rows_read`` but never passed).
            The array is only valid during the call (copy what you keep).
    """

    limit: int | None = None
    keep: Callable[[str], bool] | None = None
    unicode_errors: str = "strict"
    duplicates: str = "first"
    nonfinite: str = "keep"
    bad_rows: str = "error"
    progress: bool = False
    on_rows: Callable[[np.ndarray], None] | None = None
    max_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit < 0:
            raise ValueError(f"limit must be >= 0, got {self.limit}")
        if self.max_bytes is not None and self.max_bytes < 1:
            raise ValueError(f"max_bytes must be >= 1, got {self.max_bytes}")
        for name, allowed in (
            ("unicode_errors", ("strict", "replace", "ignore")),
            ("duplicates", ("first", "error")),
            ("nonfinite", ("keep", "error")),
            ("bad_rows", ("error", "skip")),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")


_RESERVE_BYTES = 1 << 28


class TableBuilder:
    """Collects rows chunk by chunk, applying the duplicate, filter and non-finite policies.

    Memory stays proportional to the rows kept, whatever the stream holds: each chunk's tokens are checked
    against the tokens kept so far (a :class:`TokenSet`, 16 bytes a token rather than a set's 40 to 60),
    so a repeated token is dropped (and reported) as it is read,
    and only kept rows are copied, straight into one matrix that grows in place (``ndarray.resize``,
    which the C library does with ``mremap``, not by copying); :meth:`finish` trims it the same way, so
    the full matrix never exists twice. A chunk without repeats (the usual case) is added in bulk after
    one set check. With ``expected_rows``
    (a header's count, or an estimate) the matrix is reserved once; pages never written cost nothing.

    Args:
        name: The source's name, for messages.
        fmt: The format being read.
        dim: The number of values per row.
        options: The read options.
        unit: ``"line"`` when locations are line numbers, ``"offset"`` for byte offsets.
        expected_rows: How many rows to reserve room for at first (None: grow as needed).
        trusted: ``expected_rows`` was checked against the stream's real size (else it is capped).
    """

    def __init__(
        self,
        name: str,
        fmt: str,
        dim: int,
        options: ReadOptions,
        unit: str = "line",
        expected_rows: int | None = None,
        trusted: bool = False,
    ) -> None:
        self.name = name
        self.format = fmt
        self.dim = dim
        self.options = options
        self.unit = unit
        self.report = ParseReport()
        self._seen = TokenSet()
        # Where each kept token was first seen, kept only when a duplicate must name it in an error.
        self._first: dict[str, int] | None = {} if options.duplicates == "error" else None
        # A count checked against the file's size is reserved whole; an unchecked one (a compressed stream
        # of unknown size) at most _RESERVE_BYTES' worth, since a header's count is only a claim.
        reserve = max(expected_rows or 0, 1)
        if not trusted:
            reserve = min(reserve, max(_RESERVE_BYTES // (4 * max(dim, 1)), 1))
        self._matrix = np.empty((reserve, dim), dtype=np.float32)
        self._rows = 0

    @property
    def remaining(self) -> int | None:
        """How many more rows may be read before ``limit`` is reached (None: no limit)."""
        if self.options.limit is None:
            return None
        return self.options.limit - self.report.rows_read

    def add_chunk(self, tokens: Sequence[str], rows: np.ndarray, where: Sequence[int]) -> None:
        """Add consecutive rows of the file.

        Args:
            tokens: The rows' tokens.
            rows: A float32 array ``[len(tokens), dim]``.
            where: Each row's line number (or byte offset), for reports and errors.
        """
        if not len(tokens):
            return
        if self.options.on_rows is not None:
            self.options.on_rows(rows)
        bad_rows = ~np.isfinite(rows).all(axis=1)
        where = where.tolist() if isinstance(where, np.ndarray) else where
        if self.options.keep is None and not bad_rows.any():
            if self._add_fresh(tokens, rows, where) or self._add_repeats(tokens, rows, where):
                return
        if self.options.keep is not None and self.options.nonfinite == "keep":
            self._add_filtered(tokens, rows, where, bad_rows)
            return
        keep = self.options.keep
        selected: list[int] = []
        report = self.report
        for i, token in enumerate(tokens):
            if bad_rows[i]:
                if self.options.nonfinite == "error":
                    raise self._error("a value is NaN or infinite", where[i],
                                      Wording("{} accepts it", Option("nonfinite", "keep")))
                report.note("nonfinite", token, int(where[i]))
            if keep is not None and not keep(token):
                report.note("filtered", token, int(where[i]))
                continue
            if self._claim(token, int(where[i])):
                selected.append(i)
        report.rows_read += len(tokens)
        if len(selected) == len(tokens):
            kept = np.ascontiguousarray(rows, dtype=np.float32)
        else:
            kept = rows[np.asarray(selected, dtype=np.intp)]
        if len(selected):
            self._append(kept)

    def _add_filtered(self, tokens: Sequence[str], rows: np.ndarray, where: Sequence[int], bad_rows: np.ndarray) -> None:
        """Add a chunk through the token filter: one filter call per row, in file order, then Python work
        only for the rows kept (a filter usually keeps few: an alignment keeps 30k of 2M)."""
        report = self.report
        for i in np.flatnonzero(bad_rows).tolist():
            report.note("nonfinite", tokens[i], int(where[i]))
        keep = self.options.keep
        flags = [keep(token) for token in tokens]  # type: ignore[misc]
        candidates = [i for i, flag in enumerate(flags) if flag]
        dropped = len(tokens) - len(candidates)
        if dropped:
            report.filtered += dropped
            examples = report.examples.setdefault("filtered", [])
            for i, flag in enumerate(flags):
                if len(examples) >= MAX_EXAMPLES:
                    break
                if not flag:
                    examples.append([tokens[i], int(where[i])])
        selected = [i for i in candidates if self._claim(tokens[i], int(where[i]))]
        report.rows_read += len(tokens)
        if selected:
            self._append(rows[np.asarray(selected, dtype=np.intp)])

    def _add_fresh(self, tokens: Sequence[str], rows: np.ndarray, where: Sequence[int]) -> bool:
        """Add a chunk in bulk when none of its tokens repeats; return False (adding nothing) otherwise."""
        if len(set(tokens)) != len(tokens) or any(self._seen.seen(tokens)):
            return False
        self._seen.extend(tokens)
        if self._first is not None:
            self._first.update(zip(tokens, where))
        self.report.rows_read += len(tokens)
        self._append(rows)
        return True

    def _add_repeats(self, tokens: Sequence[str], rows: np.ndarray, where: Sequence[int]) -> bool:
        """Add the rows of a chunk whose tokens were not seen before, reporting the rest as duplicates, with
        set operations rather than a loop over the rows (a stream of one repeated row stays fast); return
        False (adding nothing) when duplicates must raise instead."""
        if self._first is not None:
            return False
        n = len(tokens)
        first = dict(zip(reversed(tokens), range(n - 1, -1, -1)))  # each token's first row in the chunk
        candidates = list(first)
        selected = sorted(first[token] for token, seen in zip(candidates, self._seen.seen(candidates)) if not seen)
        self._seen.extend([tokens[i] for i in selected])
        report = self.report
        report.rows_read += n
        report.duplicates += n - len(selected)
        examples = report.examples.setdefault("duplicates", [])
        if len(examples) < MAX_EXAMPLES:
            kept = set(selected)
            for i in range(n):
                if i not in kept:
                    examples.append([tokens[i], int(where[i])])
                    if len(examples) >= MAX_EXAMPLES:
                        break
        if selected:
            self._append(rows[np.asarray(selected, dtype=np.intp)])
        return True

    def _claim(self, token: str, where: int) -> bool:
        """Mark ``token`` as kept and return True, or handle it as a duplicate and return False."""
        if token in self._seen:
            self._duplicate(token, where)
            return False
        self._seen.add(token)
        if self._first is not None:
            self._first[token] = where
        return True

    def _append(self, rows: np.ndarray) -> None:
        """Copy rows into the matrix, growing it in place by a quarter when full."""
        end = self._rows + len(rows)
        if end > len(self._matrix):
            self._matrix.resize((max(end, len(self._matrix) * 5 // 4 + 1024), self.dim), refcheck=False)
        self._matrix[self._rows : end] = rows
        self._rows = end

    def _duplicate(self, token: str, where: int) -> None:
        if self.options.duplicates == "error":
            first = self._first[token]  # type: ignore[index]
            raise self._error(f"duplicate token {token!r} (first at {self.unit} {first})", where,
                              Wording("{} keeps the first and reports the rest", Option("duplicates", "first")))
        self.report.note("duplicates", token, where)

    def _error(self, message: str, where: int, fix: Wording | None = None) -> Exception:
        from vecload.errors import ParseError

        if self.unit == "line":
            return ParseError(self.name, message, line=int(where), fix=fix)
        return ParseError(self.name, message, offset=int(where), fix=fix)

    def finish(self) -> Table:
        """Return the table; the builder must not be used afterwards."""
        total = self._rows
        out, self._matrix = self._matrix, np.empty((0, self.dim), dtype=np.float32)
        out.resize((total, self.dim), refcheck=False)
        self.report.rows_kept = total
        tokens = self._seen.tokens
        self._seen, self._first = TokenSet(), None
        return Table(tokens, out, self.format, self.report)
