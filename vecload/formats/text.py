"""The native text reader: GloVe, word2vec text and fastText ``.vec``, with numpy and the standard library.

The stream is read in blocks of whole lines. In a block whose lines are canonical (single spaces, no
tabs, no blank lines) the row structure is found with numpy (newline and space positions) and the
numbers are parsed in bulk by :mod:`vecload.formats.numbers`; any other block is read line by line.
Both give the same result; the per-line path also finds the exact line of any problem.

Policies:
    * Fields are separated by single spaces, as GloVe and fastText write them and gensim reads them: a
      tab or leading whitespace belongs to the token, and a double space makes an empty field (an error).
    * The token is everything before the last ``dim`` fields, so tokens with spaces (glove.840B) keep
      them. A row whose extra leading fields are all numbers is an error (too many values), not a token.
    * ``dim`` comes from the header (word2vec) or the first row (GloVe).
    * CRLF line ends, trailing whitespace (any mix of spaces and tabs, as gensim strips it) and a UTF-8
      BOM (reported) are accepted; a missing final newline is fine.
    * Blank lines are skipped anywhere and counted in the report (``blank_lines``).
    * A value is what ``float()`` reads, except that ``_`` digit separators and whitespace inside a field
      (tabs between values) are refused; errors name the likely cause (tabs, decimal commas).
    * ``bad_rows="skip"`` skips rows with the wrong number of values, a value that is not a number or an
      undecodable token (under ``unicode_errors="strict"``), and reports them (``bad_rows``). Skipped
      rows count as rows read, so ``limit`` and the header's count include them. A file where most rows
      would be skipped is refused: its dimension (from the header or the first row) is wrong.
"""

from __future__ import annotations

import re
from concurrent.futures import Executor
from typing import Any, BinaryIO

import numpy as np

from vecload.errors import ParseError
from vecload.formats.builder import TableBuilder
from vecload.formats.header import BOM, HEADER, check_header, cut_short_hint, parse_header
from vecload.formats.batches import Scratches, parse_pool
from vecload.formats.numbers import PAD
from vecload.formats.rows import is_number, row_cause
from vecload.formats.source import Source
from vecload.formats.table import ReadOptions, Table, Tuning
from vecload.formats.textblocks import blocks, decode_tokens, progress_bar
from vecload.formats.textbulk import Controls, canonical, read_canonical
from vecload.formats.textlines import read_lines
from vecload.formats.textsplit import Split

_PADDING = b"0" * PAD
#: Spaces and tabs before a line's end (stripped, as gensim strips them).
_TRAILING = re.compile(rb"[ \t]+\n")
#: Blank lines (ASCII whitespace only, as bytes.strip() sees them) at the start of a block.
_LEADING_BLANK_LINES = re.compile(rb"(?:[ \t\r\x0b\x0c]*\n)*")


def read_text(source: Source, fmt: str, options: ReadOptions, tuning: Tuning = Tuning()) -> Table:
    """Read a GloVe or word2vec text source.

    Args:
        source: The stream to read.
        fmt: ``"glove"`` or ``"word2vec"``.
        options: Limits, filter and policies.
        tuning: Block size, batch size and threads.

    Returns:
        The table; ``report`` says what was read, skipped and repaired.

    Raises:
        ParseError: The file is malformed; the message names the line.
    """
    with parse_pool(tuning.threads) as pool, source.open(options.max_bytes) as stream:
        return TextReader(source, fmt, options, tuning, pool).read(stream)


class TextReader:
    """State of one read: the builder, the dimension and where it was set, line numbers."""

    def __init__(self, source: Source, fmt: str, options: ReadOptions, tuning: Tuning, pool: Executor | None = None) -> None:
        self.source = source
        self.tuning = tuning
        self.pool = pool
        self.scratches = Scratches()  # each parse thread's arrays, for this read
        self.name = source.name
        self.fmt = fmt
        self.options = options
        self.builder: TableBuilder | None = None
        self.dim = 0
        self.origin = ""
        self.header_count: int | None = None
        self.wanted: int | None = options.limit
        self.blank_lines = 0
        self.blank_examples: list[int] = []
        self._check_count = False
        self.skip = options.bad_rows == "skip"
        self.header_like = False  # a GloVe read whose first line looks like a word2vec header
        self._bom = False
        self.line = 1  # the next line to read
        self.split: Split | None = None

    def read(self, stream: BinaryIO) -> Table:
        """Read every block of the stream and return the table (a large plain file on two processes: see
        :mod:`vecload.formats.textsplit`)."""
        progress = progress_bar(self.source) if self.options.progress else None
        self.split = Split.plan(self.source, stream, self.options, self.tuning)
        try:
            if self.split is None:
                self._run(stream, progress)
            else:
                pool, self.pool = self.pool, None  # the helper has the other core
                self._run(self.split.head(), progress, final=False)
                rest = self.split.merge(self, progress)
                self.pool = pool
                if rest is not None:
                    self._run(rest, progress)
        except _Stop:
            pass
        finally:
            if self.split is not None:
                self.split.close()
        if progress is not None:
            progress.close()
        if self.builder is None:
            raise ParseError(self.name, "the file has no rows", line=1)
        return self._finish(self.line - 1)

    def _run(self, stream: Any, progress: Any, final: bool = True) -> None:
        """Read the stream's blocks from line ``self.line`` on (``final``: the stream ends the file)."""
        for block, last in blocks(stream, self.name, self.tuning.text_block):
            self.line = self._step(block, last and final, self.line, progress)
            if self.split is not None and self.builder is not None:
                self.split.start(self)

    def _step(self, block: bytes, final: bool, line: int, progress: Any) -> int:
        """Handle one padded block; return the next line number."""
        if progress is not None:
            progress.update(len(block) - PAD)
        if self.builder is None:
            body = block[PAD:]
            if line == 1 and body.startswith(BOM):
                body, self._bom = body[len(BOM):], True
            body, line = self._skip_leading_blank_lines(body, line)
            if not body and not final:
                return line  # only blank lines so far: the header or first row is in a later block
            rest, line = self._start(body, line)
            block = _PADDING + rest
        if self.wanted is not None and self.builder.report.rows_read >= self.wanted:
            if not self._check_count:
                raise _Stop
            self._refuse_extra(block[PAD:], line)
            return line + block.count(b"\n")
        return self.read_block(block, line, final)

    def _start(self, block: bytes, line: int) -> tuple[bytes, int]:
        """Read the header (word2vec) or the first row's dimension (GloVe) at the start of ``block`` (line ``line``)."""
        if self.fmt == "word2vec":
            newline = block.find(b"\n")
            header = parse_header(block[: newline + 1], self.name, line_number=line)
            if header.dim > 0:
                check_header(header, self.source, binary=False, limit=self.wanted)
            self.dim, self.header_count = header.dim, header.count
            self.origin = "set by the header"
            if self.wanted is None or self.wanted > header.count:
                self.wanted = header.count
                self._check_count = True
            block, line = block[newline + 1 :], line + 1
        else:
            first = block[: block.find(b"\n") + 1]
            # Fields are separated by single spaces, as GloVe writes them and gensim reads them: a tab
            # belongs to the token, and so does leading whitespace.
            fields = first.rstrip().split(b" ")
            self.dim = len(fields) - 1
            self.origin = f"set by line {line}"
            self.header_like = bool(HEADER.match(first.rstrip(b"\n")))
            if self.dim <= 0:
                cause = row_cause(first)
                raise ParseError(self.name, "the first row has a token but no values" + (f" ({cause})" if cause else ""),
                                 line=line)
        if self.dim <= 0:
            raise ParseError(self.name, f"the header gives dim {self.dim}; expected at least 1", line=1)
        if self.split is not None:  # room for both parts' rows, the helper's after the caller's
            self.builder = TableBuilder(self.name, self.fmt, self.dim, self.options, trusted=True, sparse=True,
                                        expected_rows=self.split.capacity(self.dim))
        else:
            self.builder = TableBuilder(self.name, self.fmt, self.dim, self.options, expected_rows=self._estimate(block),
                                        trusted=self.source.compression is None, exact=self.header_count is not None)
        self.builder.report.bom = self._bom
        if self.header_count is not None:
            self.builder.report.header = [self.header_count, self.dim]
        return block, line

    def _skip_leading_blank_lines(self, block: bytes, line: int) -> tuple[bytes, int]:
        """Drop blank lines (from line ``line``) before the header or first row, counting them; return the
        rest and its line (one regex match: slicing line by line was quadratic in the blank lines)."""
        end = _LEADING_BLANK_LINES.match(block).end()  # type: ignore[union-attr]
        skipped = block.count(b"\n", 0, end)
        self.blank_lines += skipped
        self.blank_examples.extend(range(line, line + min(skipped, max(20 - len(self.blank_examples), 0))))
        return block[end:], line + skipped

    def _estimate(self, block: bytes) -> int | None:
        """Rows to reserve: the header's count, or the file's size over the first block's bytes per row."""
        if self.wanted is not None and self.header_count is not None:
            return self.wanted
        size = self.source.uncompressed_size()
        lines = block.count(b"\n")
        if size is None or not lines:
            return self.wanted
        guess = int(size / (len(block) / lines) * 1.02) + 64
        return guess if self.wanted is None else min(guess, self.wanted)

    def read_block(self, data: bytes, line: int, final: bool) -> int:
        """Parse one padded block of whole lines starting at ``line``; return the next line number.

        ``data`` is :data:`PAD` bytes of padding (ASCII zeros, which no check below mistakes for
        whitespace) followed by the lines, as :func:`_blocks` builds it.
        """
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
        buf = np.frombuffer(data, dtype=np.uint8)
        controls = Controls.of(buf, self.pool)
        newlines = controls.newlines
        if len(newlines):
            ends = buf[newlines - 1]
            if (ends == 32).any() or (ends == 9).any():  # trailing spaces and tabs, stripped as gensim does
                data = _TRAILING.sub(b"\n", data)
                buf = np.frombuffer(data, dtype=np.uint8)
                controls = Controls.of(buf, self.pool)
                newlines = controls.newlines
        remaining = None if self.wanted is None else self.wanted - self.builder.report.rows_read
        if canonical(data, buf, newlines):
            used = read_canonical(self, data, buf, controls, line, remaining, final)
        else:
            used = self.read_lines(data[PAD:], line, remaining, final)
        if self._check_count and used < len(newlines):
            block = data[PAD:]
            rest = block.split(b"\n", used)[-1] if used else block
            self._refuse_extra(rest, line + used)
        return line + len(newlines)

    def _refuse_extra(self, rest: bytes, line: int) -> None:
        """Raise if ``rest`` (lines after the header's count of rows) holds anything but blank lines."""
        for offset, text in enumerate(rest.split(b"\n")):
            if text.strip():
                raise ParseError(
                    self.name,
                    f"the header promises {self.header_count} rows but there are more; fix the header's count",
                    line=line + offset,
                )

    def token_problem(self, token: bytes) -> str | None:
        """A 'token with spaces' whose extra fields are all numbers or empty (two spaces in a row) means the
        row has too many values: ``w1  1.5`` is not the token ``'w1 '``."""
        parts = token.split(b" ")
        if all(not p or is_number(p) for p in parts[1:]):
            return self.count_problem(len(parts) - 1 + self.dim, token)
        return None

    def count_problem(self, found: int, text: bytes, truncated: bool = False) -> str:
        """'N values, expected dim', with the likely cause."""
        message = f"{found} values, expected {self.dim} ({self.origin})"
        if truncated:
            message += " (the file ends here: truncated?)"
        if self.header_like:
            message += ("; line 1 looks like a word2vec 'count dim' header read as a GloVe row: read the "
                        "file as word2vec text, not glove")
        cause = row_cause(text)
        return message + (f"; {cause}" if cause else "")

    def read_lines(self, block: bytes, line: int, remaining: int | None, final: bool) -> int:
        """Parse a block line by line (see :func:`vecload.formats.textlines.read_lines`); return lines used."""
        return read_lines(self, block, line, remaining, final)

    def add(self, raw: list[bytes], rows: np.ndarray, where: np.ndarray) -> None:
        """Decode the tokens, round the values to float32 and hand the rows to the builder."""
        if not raw:
            return
        tokens = decode_tokens(raw, where, self.options.unicode_errors, self.name, self.builder, self.skip)
        if self.skip and None in tokens:  # bad_rows="skip": an undecodable token's row is dropped
            kept = [i for i, token in enumerate(tokens) if token is not None]
            tokens = [tokens[i] for i in kept]
            rows, where = rows[kept], where[kept]
        with np.errstate(over="ignore"):  # beyond float32's range is inf, as in gensim; reports count it
            rows = np.asarray(rows, dtype=np.float32)
        self.builder.add_chunk(tokens, rows, where)

    def _finish(self, last_line: int) -> Table:
        """Check the header's count against the rows, and return the table."""
        builder = self.builder
        read = builder.report.rows_read
        if self.header_count is not None and self.wanted is not None and read < self.wanted:
            raise ParseError(
                self.name,
                f"the header promises {self.header_count} rows but the file ends after {read} (truncated?)",
                line=last_line + 1,
                fix=cut_short_hint(read) if self.wanted == self.header_count and read else None,
            )
        bad = builder.report.bad_rows
        if bad and bad * 2 > read:  # skipping most rows is not cleaning a dirty file: the dimension is off
            first = builder.report.examples["bad_rows"][0][1]
            raise ParseError(
                self.name,
                f"skipping bad rows would skip {bad} of the {read} rows read; with most rows bad the dimension "
                f"({self.dim}, {self.origin}) is probably wrong, so nothing is read; first bad row: "
                f"{builder.report.examples['bad_rows'][0][0]}",
                line=first,
            )
        builder.report.blank_lines = self.blank_lines
        if self.blank_examples:
            builder.report.examples["blank_lines"] = [["", n] for n in self.blank_examples]
        return builder.finish()


class _Stop(Exception):
    """Enough rows were read."""
