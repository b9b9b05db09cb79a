"""Write outputs so that nothing is lost or planted: the old files or the new ones, never a mix.

Each output is written to a temporary file created exclusively (``O_CREAT | O_EXCL | O_NOFOLLOW``) in
its target's directory under an unpredictable name, ``.vecload-tmp.<target name>.<pid>.<random>``, so
a symlink planted in the directory is never followed. The files are fsynced, renamed over their targets
in one go, and the directories fsynced. On any exception, SIGINT, SIGTERM or SIGHUP the temporaries are
removed; the signal is then delivered again to the handler that was in place before, so the process
ends (or not) as it would have without vecload. The fixed prefix lets a later run find what a killed
run left behind: :func:`remove_stale_temps` deletes those of processes that no longer exist.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import signal
import stat
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from vecload.errors import Option, OutputExistsError, VecloadError, Wording

log = logging.getLogger(__name__)

TEMP_PREFIX = ".vecload-tmp."
_FORCE = Wording("pass {} to overwrite it", Option("force"))
_FORCE_LINK = Wording("remove it, or pass {} to replace the link itself", Option("force"))
_NOT_EVEN_FORCE = Wording("so vecload refuses even with {}; choose another output path", Option("force"))
_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))

Writer = Callable[[BinaryIO], None]


class _Interrupted(BaseException):
    """Raised by the temporary signal handlers; a BaseException so that no ``except Exception`` eats it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def check_outputs(targets: Sequence[Path], force: bool, sources: Sequence[Path] = ()) -> None:
    """Refuse outputs that cannot or must not be written, before anything is read.

    Args:
        targets: The files to write.
        force: Allow replacing existing files (and dangling symlinks).
        sources: Files being read; never overwritten, even with ``force``.

    Raises:
        OutputExistsError: A target exists (or is a dangling symlink) and ``force`` is False.
        FileNotFoundError, PermissionError, IsADirectoryError: A target's directory is missing or not
            writable, or a target is a directory.
        VecloadError: A target is a source, or named twice.
    """
    seen: dict[str, Path] = {}
    for target in targets:
        key = os.path.normcase(os.path.abspath(target))
        if key in seen:
            raise VecloadError(f"{target}: named twice as an output; give each output its own path")
        seen[key] = target
        for source in sources:
            if _same_file(target, source):
                raise VecloadError(
                    f"{target}: is the source being read ({source}); writing there would destroy it",
                    fix=_NOT_EVEN_FORCE)
        directory = target.parent
        if not directory.is_dir():
            raise FileNotFoundError(errno.ENOENT, f"directory {directory} does not exist; create it first; "
                                    f"nothing was read", str(target))
        if not os.access(directory, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, f"cannot write in directory {directory} (permission denied); "
                                  f"choose a writable directory; nothing was read or written", str(target))
        if os.path.islink(target) and not target.exists() and not force:
            raise OutputExistsError(
                f"{target}: is a dangling symbolic link (to {os.readlink(target)}); vecload does not write through "
                f"links", fix=_FORCE_LINK)
        if target.is_dir():
            raise IsADirectoryError(errno.EISDIR, "is a directory; name a file to write", str(target))
        if not os.path.islink(target) and target.exists() and not target.is_file():
            # a device or a pipe: renaming over it would destroy it (-o /dev/null --force as root)
            raise VecloadError(f"{target}: is not a regular file (a device or a pipe?); vecload writes a file "
                               f"and renames it into place, which would replace it", fix=_NOT_EVEN_FORCE)
        if target.exists() and not force:
            raise OutputExistsError(f"{target}: already exists", fix=_FORCE)


def _same_file(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` name the same file (same resolved path, or the same inode)."""
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def write_files(outputs: Sequence[tuple[Path, Writer]], force: bool = False, sources: Sequence[Path] = ()) -> None:
    """Write several files as one unit, through exclusive temporaries renamed at the end.

    Args:
        outputs: ``(target, writer)`` pairs; ``writer(fh)`` writes the whole file to a binary file object
            opened for reading and writing.
        force: Overwrite existing targets.
        sources: Files being read, never to be overwritten.

    Raises:
        OutputExistsError: A target exists and ``force`` is False.
        VecloadError: Writing failed (full disk, quota, permission, a torch error); the message names the
            target and says that nothing was written.
    """
    targets = [target for target, _ in outputs]
    check_outputs(targets, force, sources)
    for target in targets:
        remove_stale_temps(target)
    temps: list[Path] = []
    identities: list[tuple[int, int]] = []
    current = targets[0]
    state = {"placing": False, "placed": False}
    try:
        with _signals_interrupt(state):
            for target, writer in outputs:
                current = target
                tmp, fd = _create_temp(target)
                temps.append(tmp)
                # written through the descriptor O_EXCL opened: reopening the name would follow a symlink
                # put in its place by anyone who can write to the directory (and can list it)
                with os.fdopen(fd, "r+b") as fh:
                    identities.append(_identity(os.fstat(fh.fileno())))
                    writer(fh)
                    fh.flush()
                    os.fsync(fh.fileno())
            check_outputs(targets, force, sources)
            for tmp, identity, target in zip(temps, identities, targets):
                if _identity(os.lstat(tmp)) != identity:
                    current = target
                    raise VecloadError(f"{target}: its temporary {tmp.name} was replaced by another file while "
                                       f"vecload wrote it; nothing was written")
            state["placing"] = True  # from here on a signal waits: the renames are not split
            for tmp, target in zip(temps, targets):
                current = target
                _place(tmp, target, force)
            state["placed"] = True
            _fsync_directories({target.parent for target in targets})
    except _Interrupted as exc:
        name = signal.Signals(exc.signum).name
        if state["placed"]:
            log.warning("%s: written completely, then interrupted by %s", current, name)
        else:
            _remove(temps)
            if exc.signum != signal.SIGINT:  # KeyboardInterrupt speaks for itself
                log.warning("%s: interrupted by %s while writing; nothing was written", current, name)
        try:
            _deliver(exc.signum)
        except KeyboardInterrupt as interrupt:
            interrupt.written = current if state["placed"] else None  # type: ignore[attr-defined]
            raise
        # reached only when the previous handler returned: the process goes on
        if not state["placed"]:
            raise VecloadError(f"{current}: interrupted by {name} while writing; nothing was written") from None
    except VecloadError:
        _remove(temps)
        raise
    except BaseException as exc:
        _remove(temps)
        if isinstance(exc, (OSError, RuntimeError, ValueError)):
            raise VecloadError(f"{current}: could not be written: {_reason(exc)}; nothing was written") from exc
        raise


def _create_temp(target: Path) -> tuple[Path, int]:
    """Create an empty temporary beside ``target``, exclusively, under an unpredictable name; return it and
    its open descriptor."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = target.with_name(f"{TEMP_PREFIX}{target.name}.{os.getpid()}.{secrets.token_hex(8)}")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        return tmp, fd
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(target))


def _identity(status: os.stat_result) -> tuple[int, int]:
    return status.st_dev, status.st_ino


def _place(tmp: Path, target: Path, force: bool) -> None:
    """Move ``tmp`` to ``target``; without ``force``, never over a file that appeared meanwhile."""
    if not force:
        try:
            os.link(tmp, target)  # fails if the target exists: no window between checking and renaming
        except FileExistsError:
            raise OutputExistsError(f"{target}: already exists (it appeared while vecload was writing)",
                                    fix=_FORCE) from None
        except OSError:  # a filesystem without hard links
            if os.path.lexists(target):
                raise OutputExistsError(f"{target}: already exists", fix=_FORCE) from None
            os.replace(tmp, target)
            return
        os.unlink(tmp)
        return
    os.replace(tmp, target)


def _remove(temps: list[Path]) -> None:
    for tmp in temps:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass


def _reason(exc: BaseException) -> str:
    """The most useful line of a write failure: the OSError behind a torch error, if there is one."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
        cause = cause.__cause__ or cause.__context__
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


def remove_stale_temps(target: Path) -> list[Path]:
    """Delete temporaries of ``target`` left by processes that no longer exist, and log each.

    Returns:
        The files removed.
    """
    removed: list[Path] = []
    prefix = f"{TEMP_PREFIX}{target.name}."
    try:
        names = [name for name in os.listdir(target.parent) if name.startswith(prefix)]
    except OSError:
        return removed
    for name in names:
        pid_text, _, token = name[len(prefix):].partition(".")
        if not pid_text.isdigit() or not token or "." in token or _alive(int(pid_text)):
            continue
        path = target.parent / name
        try:
            if not stat.S_ISREG(os.lstat(path).st_mode) and not os.path.islink(path):
                continue
            path.unlink()
        except OSError:
            continue
        log.warning("%s: removed a stale temporary file %s left by process %s, which no longer runs",
                    target, name, pid_text)
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid < 1 << 31  # another user's process, or a name no process could have
    return True


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


def _deliver(signum: int) -> None:
    """Send ``signum`` again, now that the previous handler is back: the process reacts as it would have."""
    signal.raise_signal(signum)


@contextmanager
def _signals_interrupt(state: dict[str, bool]) -> Iterator[None]:
    """While writing, turn SIGINT, SIGTERM and SIGHUP into :class:`_Interrupted` so the temporaries go.

    While ``state["placing"]`` is set the signal is only noted, and raised when the block ends. Installed
    only in the main thread (the only one Python delivers signals to), only over handlers that Python can
    restore and that do not ignore the signal, and always restored on the way out.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum: int, frame: object) -> None:
        if not received:
            received.append(signum)
            if not state["placing"]:
                raise _Interrupted(signum)

    previous: dict[int, object] = {}
    try:
        for signum in _SIGNALS:
            current = signal.getsignal(signum)
            if current is None or current is signal.SIG_IGN:
                continue
            previous[signum] = signal.signal(signum, handler)
        try:
            yield
        except BaseException as exc:
            if received and not isinstance(exc, _Interrupted):
                raise _Interrupted(received[0]) from exc  # torch wraps what its write callback raised
            raise
        if received:
            raise _Interrupted(received[0])
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)  # type: ignore[arg-type]
