"""What a library leaves behind in the process that reads with it (scripts/compare_parsers.py): threads,
process-wide settings it changed, and whether a read still works in a child forked after a read.
"""

from __future__ import annotations

import locale
import logging
import os
import signal
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np


def os_threads() -> list[str]:
    """The names of this process's threads as the OS lists them (Python's, and those a library started)."""
    names = []
    for task in os.listdir("/proc/self/task"):
        try:
            names.append(Path(f"/proc/self/task/{task}/comm").read_text().strip())
        except OSError:  # ended meanwhile
            pass
    return sorted(names)


def rss_mib() -> float:
    """This process's resident set size now, MiB."""
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:")) / 1024


def side_effects() -> dict:
    """Process-wide state a library could change on import or on a read."""
    handlers = {}
    for sig in signal.valid_signals():
        try:
            handlers[f"signal {sig!s}"] = repr(signal.getsignal(sig))
        except (ValueError, OSError):
            pass
    return {
        **handlers,
        **{f"os.environ[{k!r}]": v for k, v in os.environ.items()},
        "warnings.filters": repr(warnings.filters),
        "logging root": repr((logging.root.level, logging.root.handlers)),
        "locale": locale.setlocale(locale.LC_ALL, None),
        "recursion limit": sys.getrecursionlimit(),
        "switch interval": sys.getswitchinterval(),
        "sys.excepthook": repr(sys.excepthook),
        "numpy errstate": repr(np.geterr()),
    }


def new_names(before: list[str], after: list[str]) -> str:
    """The threads started since ``before``, as ``name x count``."""
    new = Counter(after) - Counter(before)
    return ", ".join(f"{name} x{count}" if count > 1 else name for name, count in sorted(new.items()))


def changes(before: dict, after: dict) -> list[str]:
    """The names of the process-wide settings that differ (set, changed or removed)."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def fork_read(variant, dim: int, timeout: float = 10.0) -> str:
    """Fork after the read and read a small file in the child: "ok", or how it failed (a hang is killed)."""
    with tempfile.TemporaryDirectory() as folder:
        small = Path(folder) / "small.txt"
        small.write_text("".join(f"w{i} " + " ".join(["0.5"] * dim) + "\n" for i in range(200)))
        pid = os.fork()
        if pid == 0:  # the child: never return into the caller's code
            code = 1
            try:
                signal.alarm(int(timeout) + 5)
                tokens, _ = variant.read(str(small), False, dim)
                code = 0 if len(tokens) == 200 else 3
            finally:
                os._exit(code)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                return "ok" if code == 0 else f"failed (exit {code})"
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return f"hung (killed after {timeout:.0f} s)"
