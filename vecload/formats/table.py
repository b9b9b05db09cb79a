"""What every reader returns: tokens in row order, a float32 matrix, and a report of what it saw."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields

from typing import Any

import numpy as np

from vecload.errors import ArgumentError

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
class Tuning:
    """How the native engine cuts a read into pieces. Results never depend on it: tests shrink the pieces
    so that rows, repeats and bad values cross every boundary.

    Attributes:
        text_block: Bytes of a text file read at a time.
        binary_block: Bytes of a binary file read at a time.
        batch_values: Numbers parsed per batch, a unit of work for the parse threads (large enough for two
            threads to run at once: see :mod:`vecload.formats.batches`).
        threads: Parse threads (None: ``VECLOAD_THREADS``, else up to 2).
        split_bytes: A plain text file at least this large is read on two processes when two threads are
            allowed (see :mod:`vecload.formats.textsplit`); 0 never splits.
    """

    text_block: int = 2 << 20
    binary_block: int = 16 << 20
    batch_values: int = 1 << 15
    threads: int | None = None
    split_bytes: int = 64 << 20


#: The allowed values of ReadOptions' choice fields, the first being the default (the CLI offers these).
READ_CHOICES: dict[str, tuple[str, ...]] = {
    "unicode_errors": ("strict", "replace", "ignore"),
    "duplicates": ("first", "error"),
    "nonfinite": ("keep", "error"),
    "bad_rows": ("error", "skip"),
}


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

    @classmethod
    def of(cls, **options: Any) -> ReadOptions:
        """Options from keyword arguments, naming an unknown one (``ReadOptions(**kw)`` raises TypeError).

        Raises:
            ArgumentError: A name that is not a read option, or a value out of range.
        """
        names = [item.name for item in fields(cls)]
        for name in options:
            if name not in names:
                raise ArgumentError(f"unknown read option {name!r}; the read options are: {', '.join(names)}")
        return cls(**options)

    def __post_init__(self) -> None:
        if self.limit is not None and (not isinstance(self.limit, int) or self.limit < 0):
            raise ArgumentError(f"limit must be a whole number >= 0, got {self.limit!r}")
        if self.max_bytes is not None and (not isinstance(self.max_bytes, int) or self.max_bytes < 1):
            raise ArgumentError(f"max_bytes must be a whole number >= 1, got {self.max_bytes!r}")
        for name in ("keep", "on_rows"):
            if getattr(self, name) is not None and not callable(getattr(self, name)):
                raise ArgumentError(f"{name} must be a function of a token (a set's __contains__ works), got "
                                    f"{type(getattr(self, name)).__name__}")
        for name, allowed in READ_CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ArgumentError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {getattr(self, name)!r}")
