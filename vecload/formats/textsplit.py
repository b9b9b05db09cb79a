"""A large plain text file read on two processes: the caller reads the first part, a helper the rest.

numpy releases the GIL only inside its loops, and the rest of a text read (cutting lines, decoding tokens,
the duplicate check) holds it, so a second thread adds little (see :mod:`vecload.formats.batches`). A second
*process* does not share the GIL: the helper (:mod:`vecload.formats.textworker`, started with the same
Python, the same ``sys.path`` and the file's open descriptor, so it reads the very file the caller opened)
reads the second part with the same reader code and sends each block's rows, tokens and line numbers
through a pipe. A thread of the caller's writes the rows straight into the table's spare rows, beyond any
the caller's part can fill (a row takes at least ``2 * dim + 2`` bytes). Once the caller's part is read, the
helper's blocks go through the table builder in file order like the caller's own (repeats, non-finite rows
and the header's count are decided there, by the same code), which moves their rows into place and hands
the pages they came from back to the kernel, so the table never exists twice. The caller's memory grows as
it takes in the helper's tokens, so it takes in at most half of them while the helper still runs, then
waits for the helper to end: the helper's own memory (about 50 MiB) is never held beside the caller's
largest, and the merge still overlaps the helper's read.

The helper stops at the first block that is not clean rows (an error, a bad row skipped, a token
repaired), and the caller reads the rest of the file itself from that block on, so every problem is found,
and named with its line, by the same code as in a read on one process; if the helper cannot start or
dies, the caller reads its part the same way. The result is identical to a read on one process.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from typing import IO, Any, NamedTuple

import numpy as np

from vecload.formats.batches import default_threads
from vecload.formats.builder import release_rows
from vecload.formats.source import Source
from vecload.formats.table import MAX_EXAMPLES, ReadOptions, Tuning

#: The caller's share of the file. The helper pipes its rows, the caller hashes the source beside its read (in
#: a conversion): on the 840B-shaped convert their rates a byte were equal within the runs' noise (5%).
SHARE = 0.5
#: Bytes more the caller reads, half of what it reads while the helper starts (Python and numpy: 0.14 s,
#: 130 MB/s of 300-wide rows on this project's machines). On a 259 MB file the helper ended 0.2 s after the
#: caller's part without it; on glove.840B's 5.6 GB it is nothing. At most an eighth of the file.
HEAD_START = 9 << 20
#: The frame before each block the helper sends: rows (-1 when its part is done), token bytes, the block's
#: bytes and lines, its blank lines, how many of their line numbers follow, and the first row's line
#: (0: every row's line follows).
FRAME = np.dtype([(name, "<i8") for name in ("rows", "token_bytes", "bytes", "lines", "blank", "examples", "first")])
_PROGRAM = ("import json, sys; config = json.loads(sys.stdin.readline()); sys.path[:] = config['path']; "
            "from vecload.formats.textworker import main; main(config)")


class FileRange:
    """Bytes ``start`` to ``end`` (None: the end) of an open file, read with ``pread``: no shared position."""

    def __init__(self, fd: int, start: int, end: int | None = None) -> None:
        self.fd, self.position, self.end = fd, start, end

    def read(self, size: int) -> bytes:
        if self.end is not None:
            size = min(size, self.end - self.position)
        data = os.pread(self.fd, size, self.position) if size > 0 else b""
        self.position += len(data)
        return data


class _Block(NamedTuple):
    """One block of the helper's part: its rows' tokens and lines, where its rows were placed, its extent."""

    tokens: bytes
    where: np.ndarray | range  # a range where the rows' lines are consecutive
    start: int
    rows: int
    bytes: int
    lines: int
    blank: int
    examples: np.ndarray


class Split:
    """The plan and the helper of one split read (see the module docstring); :meth:`close` always."""

    def __init__(self, fd: int, size: int, middle: int) -> None:
        self.fd, self.size, self.middle = fd, size, middle
        self.first_spare = 0  # the first table row the helper's rows go to
        self._process: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None
        self._blocks: queue.Queue = queue.Queue()
        self._rows: np.ndarray | None = None  # the table's spare rows, the helper's
        self._builder: Any = None

    @classmethod
    def plan(cls, source: Source, stream: IO[bytes], options: ReadOptions, tuning: Tuning) -> Split | None:
        """A split of a plain file of at least ``tuning.split_bytes`` with two cores to use, else None.

        Reads with a ``limit`` or a ``keep`` filter are not split (they keep few rows, and the helper would
        place all of its own).
        """
        threads = default_threads() if tuning.threads is None else tuning.threads
        if (options.limit is not None or options.keep is not None or source.archive is not None or threads < 2
                or source.compression is not None or os.name != "posix" or not sys.executable or not tuning.split_bytes):
            return None
        try:
            fd = stream.fileno()
            size = os.fstat(fd).st_size
        except (OSError, AttributeError, ValueError):
            return None
        if size < tuning.split_bytes:
            return None
        guess = int(size * SHARE) + min(HEAD_START, size // 8)
        ahead = os.pread(fd, 1 << 20, guess)
        cut = ahead.find(b"\n")
        return None if cut < 0 or guess + cut + 1 >= size else cls(fd, size, guess + cut + 1)

    def head(self) -> FileRange:
        """The caller's part."""
        return FileRange(self.fd, 0, self.middle)

    def capacity(self, dim: int) -> int:
        """Rows the table must have room for: as many as each part could hold, the helper's after the caller's."""
        self.first_spare = -(-self.middle // (2 * dim + 2))
        return self.first_spare + -(-(self.size - self.middle) // (2 * dim + 2)) + 1

    def start(self, reader: Any) -> None:
        """Start the helper on the second part, once the caller knows the dimension (``reader.builder`` exists);
        only the first call does anything."""
        if self._builder is not None:
            return
        self._builder = reader.builder
        self._rows = reader.builder.block()[self.first_spare :]
        config = {"path": [entry for entry in sys.path if isinstance(entry, str)],
                  "module": os.path.realpath(__file__), "parent": os.getpid(),
                  "fd": self.fd, "start": self.middle, "name": reader.name, "fmt": reader.fmt, "dim": reader.dim,
                  "origin": reader.origin, "header_like": reader.header_like,
                  "unicode_errors": reader.options.unicode_errors, "bad_rows": reader.options.bad_rows,
                  "text_block": reader.tuning.text_block, "batch_values": reader.tuning.batch_values}
        try:
            self._process = subprocess.Popen([sys.executable, "-c", _PROGRAM], stdin=subprocess.PIPE,
                                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, pass_fds=(self.fd,))
            self._process.stdin.write(json.dumps(config).encode() + b"\n")  # type: ignore[union-attr]
            self._process.stdin.close()  # type: ignore[union-attr]
        except (OSError, ValueError, TypeError):
            self.close()  # the caller reads the second part itself
            self._blocks.put(False)
            return
        self._thread = threading.Thread(target=self._receive, name="vecload-split", daemon=True)
        self._thread.start()

    def merge(self, reader: Any, progress: Any) -> FileRange | None:
        """Add the helper's blocks after the caller's part (which ended before line ``reader.line``), moving
        ``reader.line`` on; return the part still to read (None when the helper read to the end)."""
        base, offset = reader.line - 1, self.middle
        builder = reader.builder
        while self._builder is not None:
            if offset - self.middle >= (self.size - self.middle) // 2:
                self._await_helper()  # half of its part merged: the rest once it has ended
            block = self._blocks.get()
            if isinstance(block, bool):
                if block:
                    self.close()
                    return None
                break
            if reader.wanted is not None and builder.report.rows_read + block.rows >= reader.wanted:
                break  # the header's count ends in this block: the caller reads it, as on one process
            tokens = _tokens(block)
            if tokens is None:
                break  # not what the helper writes: the caller reads from this block on
            if block.rows:
                rows = self._rows[block.start : block.start + block.rows]  # type: ignore[index]
                where = block.where
                builder.add_chunk(tokens, rows, where + base if isinstance(where, np.ndarray)
                                  else range(where.start + base, where.stop + base))
                release_rows(self._rows, builder.written() - self.first_spare, block.start + block.rows)
            reader.blank_lines += block.blank
            room = MAX_EXAMPLES - len(reader.blank_examples)
            reader.blank_examples.extend((block.examples[:room] + base).tolist())
            offset, reader.line = offset + block.bytes, reader.line + block.lines
            if progress is not None:
                progress.update(block.bytes)
        self.close()
        return FileRange(self.fd, offset)

    def _await_helper(self) -> None:
        """Wait until the helper has sent its part (or failed) and ended, so that its memory is gone before the
        caller's grows further with the helper's tokens (a helper that outlives its last frame by a second is
        stopped by :meth:`close` later)."""
        if self._thread is not None:
            self._thread.join()
        if self._process is not None and self._process.returncode is None:
            try:
                self._process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass

    def close(self) -> None:
        """Stop the helper (if it still runs) and the thread receiving its blocks; free its rows' spare pages."""
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()
            process.stdout.close()  # type: ignore[union-attr]
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._rows is not None:  # the pages past the table's rows
            release_rows(self._rows, self._builder.written() - self.first_spare, len(self._rows))
            self._rows = None

    def _receive(self) -> None:
        """On a thread: read the helper's frames, placing each block's rows in the table's spare rows, until
        it is done (True), stops or dies (False)."""
        pipe = self._process.stdout  # type: ignore[union-attr]
        placed, done = 0, False
        try:
            while True:
                frame = _read(pipe, FRAME.itemsize)
                if frame is None:
                    break
                head = np.frombuffer(frame, FRAME)[0]
                rows, first = int(head["rows"]), int(head["first"])
                if rows < 0:
                    done = True
                    break
                if placed + rows > len(self._rows) or min(head.tolist()) < 0:  # type: ignore[arg-type]
                    break  # not a frame the helper writes
                examples = np.frombuffer(_read(pipe, 8 * min(int(head["examples"]), MAX_EXAMPLES)) or b"", np.int64)
                where = range(first, first + rows) if first else np.frombuffer(_read(pipe, 8 * rows) or b"", np.int64)
                tokens = _read(pipe, int(head["token_bytes"]))
                if tokens is None or len(where) != rows or len(examples) != int(head["examples"]):
                    break
                if rows and not _read_into(pipe, self._rows[placed : placed + rows]):  # type: ignore[index]
                    break
                self._blocks.put(_Block(tokens, where, placed, rows, int(head["bytes"]), int(head["lines"]),
                                        int(head["blank"]), examples))
                placed += rows
        except Exception:  # noqa: BLE001 - whatever went wrong, the caller reads the rest itself
            done = False
        finally:
            self._blocks.put(done)


def _tokens(block: _Block) -> list[str] | None:
    """The block's tokens, or None where they are not one per row of UTF-8."""
    try:
        tokens = block.tokens.decode("utf-8").split("\n") if block.rows else []
    except UnicodeDecodeError:
        return None
    return tokens if len(tokens) == block.rows else None


def _read(pipe: IO[bytes], size: int) -> bytes | None:
    """Exactly ``size`` bytes from the pipe, or None at its end."""
    data = pipe.read(size) if size else b""
    return data if len(data) == size else None


def _read_into(pipe: IO[bytes], rows: np.ndarray) -> bool:
    """Fill ``rows`` from the pipe; False at its end."""
    view = memoryview(rows).cast("B")
    got = 0
    while got < len(view):
        n = pipe.readinto(view[got:])  # type: ignore[attr-defined]
        if not n:
            return False
        got += n
    return True
