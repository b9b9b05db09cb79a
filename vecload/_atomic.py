"""Write outputs so that an interruption leaves either the old files or the new ones, never a mix."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from vecload.errors import OutputExistsError


def check_writable(paths: list[Path], force: bool) -> None:
    """Refuse to overwrite existing outputs unless ``force``, and refuse missing directories."""
    for path in paths:
        if path.exists() and not force:
            raise OutputExistsError(f"{path}: already exists; pass force=True (--force) to overwrite it")
        if not path.parent.is_dir():
            raise OutputExistsError(f"{path}: directory {path.parent} does not exist")


def write_all(outputs: list[tuple[Path, Callable[[Path], None]]], force: bool = False) -> None:
    """Write several files as one unit.

    Each writer writes to a temporary file beside its target; only when every writer has finished are
    the temporary files renamed over the targets, in the order given (put the file others depend on
    first), with SIGINT and SIGTERM held back during the renames. On any error the temporary files are
    removed and the targets are untouched.

    Args:
        outputs: ``(target, writer)`` pairs; ``writer(tmp_path)`` writes the whole file.
        force: Overwrite existing targets.

    Raises:
        OutputExistsError: A target exists and ``force`` is False.
    """
    targets = [target for target, _ in outputs]
    check_writable(targets, force)
    temps: list[Path] = []
    try:
        for target, writer in outputs:
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            temps.append(tmp)
            writer(tmp)
            _fsync(tmp)
        check_writable(targets, force)
        with _signals_deferred():
            for tmp, target in zip(temps, targets):
                os.replace(tmp, target)
            _fsync_directories({target.parent for target in targets})
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directories(directories: set[Path]) -> None:
    """Make the renames durable: a crash after this cannot bring the old names back."""
    for directory in directories:
        try:
            fd = os.open(directory, os.O_RDONLY)
        except OSError:  # some platforms cannot open a directory; the renames still happened
            continue
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, so neither can split a group of renames."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    deferred = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, lambda signum, frame: received.append(signum)) for signum in deferred}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if received:
            signal.raise_signal(received[0])
