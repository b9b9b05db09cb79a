"""Where a native read (and a convert's write) spends its time, stage by stage, against the floor.

Usage::

    python scripts/profile_read.py                      # the three benchmark files in bench-out/
    python scripts/profile_read.py FILE [FILE ...] --threads 1

Each file is converted once (``vecload.convert`` into a temporary directory) with timers wrapped around
the functions of each stage; a stage's time is exclusive (the stages it calls are counted under their own
name), so the rows add up to the whole. The floor is the same bytes read with plain ``readinto`` into one
buffer and with ``np.fromfile``. Timers cost a little per call (a few calls per block, never per row).
Stages:

* reading: the stream's ``read``/``readinto`` calls (the page cache, or decompression);
* lines: cutting the stream into blocks of whole lines (text) and the block checks (CRLF, trailing
  whitespace, canonical lines);
* separators: the newline and space positions of a block (text), the record boundaries and the gather
  of each record's floats (binary);
* numbers: parsing the values (text; on the parse threads, timed as the wall time of the call);
* tokens: cutting out and decoding the tokens;
* builder: the builder's own work per chunk (finite check, options, bookkeeping);
* repeats: checking the chunk's tokens against those kept (the token set's hashing and merges);
* copy: copying rows into the builder's blocks, and ``finish`` joining them;
* write checks / write: the convert's checks of the tokens, then writing the archive (the tensor's
  fingerprint is hashed on a thread meanwhile, as is the source's sha256 during the read: neither is a
  stage of its own).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


class Profile:
    """Exclusive wall time per stage, from timers wrapped around functions (main thread only)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._stack: list[list[Any]] = []  # [stage, start, time spent in callees]

    def enter(self, stage: str) -> None:
        self._stack.append([stage, time.perf_counter(), 0.0])

    def leave(self) -> None:
        stage, start, inner = self._stack.pop()
        spent = time.perf_counter() - start
        self.seconds[stage] += spent - inner
        self.calls[stage] += 1
        if self._stack:
            self._stack[-1][2] += spent

    def wrap(self, owner: Any, attr: str, stage: str) -> Callable[[], None]:
        """Replace ``owner.attr`` by a timed version; return the undo."""
        original = getattr(owner, attr)

        def timed(*args: Any, **kwargs: Any) -> Any:
            self.enter(stage)
            try:
                return original(*args, **kwargs)
            finally:
                self.leave()

        setattr(owner, attr, timed)
        return lambda: setattr(owner, attr, original)

    def wrap_generator(self, owner: Any, attr: str, stage: str) -> Callable[[], None]:
        """Like :meth:`wrap` for a generator function: each ``next`` is timed."""
        original = getattr(owner, attr)
        profile = self

        def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
            inner = original(*args, **kwargs)
            while True:
                profile.enter(stage)
                try:
                    item = next(inner)
                except StopIteration:
                    return
                finally:
                    profile.leave()
                yield item

        setattr(owner, attr, timed)
        return lambda: setattr(owner, attr, original)


class _TimedStream:
    """A stream whose reads are timed as the 'reading' stage."""

    def __init__(self, stream: Any, profile: Profile) -> None:
        self._stream, self._profile = stream, profile

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def __enter__(self) -> "_TimedStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stream.close()

    def read(self, *args: Any) -> bytes:
        self._profile.enter("reading")
        try:
            return self._stream.read(*args)
        finally:
            self._profile.leave()

    def readinto(self, buffer: Any) -> int:
        self._profile.enter("reading")
        try:
            return self._stream.readinto(buffer)
        finally:
            self._profile.leave()


@contextmanager
def instrumented(profile: Profile) -> Iterator[None]:
    """Timers around every stage's functions, removed afterwards."""
    from vecload.formats import binary, builder, source, text, textbulk, tokenset
    from vecload.store import write

    undo = [
        profile.wrap_generator(text, "blocks", "lines"),
        profile.wrap(text.TextReader, "read_block", "lines"),
        profile.wrap(text.TextReader, "read_lines", "per-line path"),
        profile.wrap(textbulk, "_bulk", "separators"),
        profile.wrap(textbulk.Controls, "of", "separators"),
        profile.wrap(textbulk, "_rows", "tokens"),  # its own work: cutting out the tokens' bytes
        profile.wrap(textbulk, "parse_rows", "numbers"),
        profile.wrap(text, "decode_tokens", "tokens"),
        profile.wrap(text.TextReader, "add", "numbers"),  # its own work: rounding the per-line rows
        profile.wrap(binary, "_records", "separators"),
        profile.wrap(binary, "_decode", "tokens"),
        profile.wrap(builder.TableBuilder, "add_chunk", "builder"),
        profile.wrap(builder.TableBuilder, "_new_tokens", "repeats"),
        profile.wrap(tokenset.TokenSet, "extend", "repeats"),
        profile.wrap(builder.TableBuilder, "_append", "copy"),
        profile.wrap(builder.TableBuilder, "finish", "copy"),
        profile.wrap(write, "all_strings", "write checks"),
        profile.wrap(write, "distinct", "write checks"),
        profile.wrap(write, "encode_tokens", "write checks"),
        profile.wrap(write, "write_files", "write"),
    ]
    original_open = source.Source.open

    def open_timed(self: Any, *args: Any, **kwargs: Any) -> _TimedStream:
        return _TimedStream(original_open(self, *args, **kwargs), profile)

    source.Source.open = open_timed
    undo.append(lambda: setattr(source.Source, "open", original_open))
    try:
        yield
    finally:
        for step in reversed(undo):
            step()


def floor(path: Path) -> tuple[float, float]:
    """Seconds to read the file's bytes: ``readinto`` 16 MiB at a time into one buffer, and ``np.fromfile``."""
    buffer = bytearray(16 << 20)
    start = time.perf_counter()
    with open(path, "rb", buffering=0) as fh:
        while fh.readinto(buffer):
            pass
    plain = time.perf_counter() - start
    start = time.perf_counter()
    data = np.fromfile(path, dtype=np.uint8)
    fromfile = time.perf_counter() - start
    del data
    return plain, fromfile


def profile_file(path: Path, threads: int | None) -> str:
    """Convert ``path`` once under the timers; return the stage table as markdown."""
    import vecload
    from vecload.formats.table import Tuning

    plain, fromfile = floor(path)
    profile = Profile()
    tuning = Tuning(threads=threads)
    import vecload.formats as formats

    original = formats.read_table

    def read_table(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("tuning", tuning)
        return original(*args, **kwargs)

    with tempfile.TemporaryDirectory() as tmp, instrumented(profile):
        formats.read_table = read_table
        try:
            start = time.perf_counter()
            vecload.convert(path, Path(tmp) / "out.pth", force=True)
            total = time.perf_counter() - start
        finally:
            formats.read_table = original
    size = path.stat().st_size
    lines = [f"### {path.name} ({size / 1e6:.0f} MB, threads={threads or 'default'})", "",
             "| stage | seconds | share | calls |", "|---|---:|---:|---:|"]
    accounted = 0.0
    for stage, seconds in sorted(profile.seconds.items(), key=lambda kv: -kv[1]):
        accounted += seconds
        lines.append(f"| {stage} | {seconds:.3f} | {seconds / total:.0%} | {profile.calls[stage]} |")
    lines.append(f"| other (detection, metadata, ...) | {total - accounted:.3f} | {(total - accounted) / total:.0%} | |")
    lines.append(f"| **convert, total** | **{total:.3f}** | | |")
    lines.append(f"| floor: readinto 16 MiB | {plain:.3f} | {size / plain / 1e6:.0f} MB/s | |")
    lines.append(f"| floor: np.fromfile | {fromfile:.3f} | {size / fromfile / 1e6:.0f} MB/s | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = [ROOT / "bench-out" / name for name in ("text-400000x50.txt", "text-100000x300.txt", "bin-400000x300.bin")]
    parser.add_argument("files", nargs="*", type=Path, default=default)
    parser.add_argument("--threads", type=int, default=None, help="parse threads (default: as a plain read)")
    args = parser.parse_args(argv)
    for path in args.files:
        print(profile_file(path, args.threads) + "\n", flush=True)


if __name__ == "__main__":
    main()
