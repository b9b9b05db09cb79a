"""vecload's text parser against pandas, pyarrow and polars: speed, peak memory, exactness and process costs.

Usage::

    python scripts/compare_parsers.py            # bench-out/text-400000x50.txt and text-100000x300.txt, 3 runs
    python scripts/compare_parsers.py --runs 1 --bench-dir /tmp/small --files a.txt   # a quick look
    make compare-parsers                         # the same in .venv-parsers, which has pandas, pyarrow, polars

Every read runs in a child process of its own. Its time is the read alone, after imports, to the form
vecload's reader returns (a list of str tokens and a C-contiguous float32 array); its peak memory is the
child's maximum resident set size as the OS reports it (``wait4``); rows are medians of ``--runs``.

Exact means bit-identical to ``np.float32(float(text))`` for every value (the decimal rounded to the
nearest double, then to float32) and the same token bytes, rows and order as a plain split of each line
(the token is everything before the last ``dim`` fields). The reference of a bench file is computed once
in a child and cached beside it (``*.ref-*.npy``). Besides the bench files, each parser reads the number
parser's differential cases (``tests/test_numbers.py``), decimals whose float32 differs when rounded
directly (the double-rounding rule), special spellings (nan, inf, ``1_000``, subnormals, overflow) and
odd tokens (spaces, quotes, ``#``, non-UTF-8 bytes, a word2vec header); see :mod:`parser_cases`.

The alternatives are read with the settings a vector file needs: delimiter ' ', no quoting, no comment
character, no NA strings, the token column as text (or bytes) and every value column as float64, then
cast to float32; the ``-f32`` variants parse straight to float32 to show why that is not allowed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling bench and parser_cases modules
from bench import PY, ROOT, machine, run_child  # noqa: E402
from parser_cases import CASES_NOTE, child_cases, compare, field_count, reference_arrays  # noqa: E402
from parser_readers import PARSED, VARIANTS, library_version  # noqa: E402

SCRIPT = str(Path(__file__).resolve())
FILES = ("text-400000x50.txt", "text-100000x300.txt")
MAKE = {"text-400000x50.txt": "text50", "text-100000x300.txt": "text300"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per parser and file (median reported)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, from: {', '.join(VARIANTS)}")
    parser.add_argument("--bench-dir", type=Path, default=ROOT / "bench-out", help="where the bench files are")
    parser.add_argument("--files", default=",".join(FILES), help="bench files (names in --bench-dir)")
    parser.add_argument("--cache", type=Path, default=None, help="where the cached references go (default: --bench-dir)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child)))
        return 0
    files = [args.bench_dir / name for name in args.files.split(",")]
    missing = [f for f in files if not f.is_file()]
    if missing:
        for f in missing:
            how = (f"python scripts/bench.py --sections {MAKE[f.name]} --runs 1" if f.name in MAKE else
                   "a GloVe-shaped text file of your own")
            print(f"error: {f} is missing; make it with `{how}` (bench.py writes it into bench-out/ before it "
                  f"measures it)", file=sys.stderr)
        return 2
    variants = [v.strip() for v in args.variants.split(",")]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}")
    cache = args.cache or args.bench_dir
    cache.mkdir(parents=True, exist_ok=True)
    print(f"Machine: {machine()}\n", flush=True)
    refs = {f: _reference(f, cache) for f in files}
    timings = _time_all(variants, files, args.runs)
    checks = {(v, f): _child_or_error("check", v, str(f), refs[f]) for v in variants for f in files}
    cases = {v: _child_or_error("cases", v) for v in variants}
    print(report(variants, files, timings, checks, cases))
    load = os.getloadavg()[0]
    print(f"\nLoad average at the end: {load:.1f} (timings on a machine shared with other work vary).")
    return 0


# ---------------------------------------------------------------- the parent's side


def _reference(path: Path, cache: Path) -> str:
    """The cached reference of a bench file (computed in a child, so this process stays small)."""
    stat = path.stat()
    stem = cache / f"{path.name}.ref-{stat.st_size}-{stat.st_mtime_ns}"
    if not Path(f"{stem}.npy").exists():
        print(f"reference values of {path.name} (once; cached as {stem}.npy)", file=sys.stderr, flush=True)
        run_child("", [PY, SCRIPT, "--child", "reference", str(path), str(stem)])
    return str(stem)


def _time_all(variants: list[str], files: list[Path], runs: int) -> dict:
    """{(variant, file): {"seconds", "peak_mib", "import_s", "import_mib"} or {"error"}}, runs interleaved."""
    samples: dict = {(v, f): [] for v in variants for f in files}
    for run in range(runs):
        for f in files:
            for v in variants:
                got = _child_or_error("time", v, str(f))
                samples[(v, f)].append(got)
                where = f"{got['read_s']:.2f} s, {got['peak_mib']:.0f} MiB" if "error" not in got else got["error"][:80]
                print(f"  run {run + 1}: {v} {f.name}: {where}", file=sys.stderr, flush=True)
    out = {}
    for key, runs_ in samples.items():
        good = [r for r in runs_ if "error" not in r]
        if not good:
            out[key] = runs_[0]
            continue
        out[key] = {name: statistics.median(r[name] for r in good) for name in ("read_s", "parse_s", "peak_mib", "import_s", "import_mib")}
        out[key]["runs"] = len(good)
    return out


def _child_or_error(mode: str, *args: str) -> dict:
    """Run this script as a child in ``mode``; its JSON and peak RSS, or {"error": the last line it printed}."""
    try:
        payload, _, peak = run_child("", [PY, SCRIPT, "--child", mode, *args])
    except RuntimeError as exc:
        lines = [line for line in str(exc).splitlines() if line.strip()]
        return {"error": lines[-1] if lines else str(exc)}
    payload["peak_mib"] = peak
    return payload


# ---------------------------------------------------------------- the children


def child(mode: str, *args: str) -> dict:
    """One measurement in this (fresh) process; returns what the parent reports."""
    if mode == "reference":
        path, stem = args
        with open(path, "rb") as fh:
            tokens, values, _ = reference_arrays(fh, header=False)
        np.save(f"{stem}.npy", values)
        Path(f"{stem}.tokens").write_bytes(b"\n".join(tokens))
        return {"rows": len(tokens)}
    variant = VARIANTS[args[0]]
    if mode == "cases":
        return child_cases(variant)
    path = args[1]
    dim = field_count(path)
    threads_before = _os_threads()
    effects = _side_effects()
    start = time.perf_counter()
    variant.load()
    imported = time.perf_counter()
    import_mib = _rss_mib()
    PARSED.clear()
    tokens, values = variant.read(path, False, dim)
    read_s = time.perf_counter() - imported
    parse_s = PARSED[-1] - imported
    assert values.dtype == np.float32 and values.flags.c_contiguous and values.shape == (len(tokens), dim)
    if mode == "time":
        return {"read_s": read_s, "parse_s": parse_s, "import_s": imported - start, "import_mib": import_mib}
    stem = args[2]
    want_tokens = Path(f"{stem}.tokens").read_bytes().split(b"\n")
    want = np.load(f"{stem}.npy", mmap_mode="r")
    diff = compare(tokens, values, want_tokens, want, lambda r: Path(path).read_bytes().split(b"\n")[r])
    count = values.size
    del tokens, values, want
    import threading

    return {
        "exact": diff or f"exact, {count:,} values",
        "values": count,
        "os_threads": [len(threads_before), len(after := _os_threads())],
        "new_threads": _new_names(threads_before, after),
        "py_threads": threading.active_count(),
        "side_effects": _changes(effects, _side_effects()),
        "fork": _fork_read(variant, dim),
        "version": library_version(variant.module),
    }


def _os_threads() -> list[str]:
    """The names of this process's threads as the OS lists them (Python's, and those a library started)."""
    names = []
    for task in os.listdir("/proc/self/task"):
        try:
            names.append(Path(f"/proc/self/task/{task}/comm").read_text().strip())
        except OSError:  # ended meanwhile
            pass
    return sorted(names)


def _rss_mib() -> float:
    """This process's resident set size now, MiB."""
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:")) / 1024


def _side_effects() -> dict:
    """Process-wide state a library could change on import or on a read."""
    import locale
    import logging
    import signal
    import warnings

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


def _new_names(before: list[str], after: list[str]) -> str:
    """The threads started since ``before``, as ``name x count``."""
    from collections import Counter

    new = Counter(after) - Counter(before)
    return ", ".join(f"{name} x{count}" if count > 1 else name for name, count in sorted(new.items()))


def _changes(before: dict, after: dict) -> list[str]:
    """The names of the process-wide settings that differ (set, changed or removed)."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def _fork_read(variant, dim: int, timeout: float = 10.0) -> str:
    """Fork after the read and read a small file in the child: "ok", or how it failed (a hang is killed)."""
    import signal
    import tempfile

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


# ---------------------------------------------------------------- report


def report(variants: list[str], files: list[Path], timings: dict, checks: dict, cases: dict) -> str:
    """Three markdown tables (speed and memory, exactness, process costs) and the cases each parser missed."""
    out = ["Speed and memory (read alone, to str tokens + C-contiguous float32; peak RSS of the whole child):", ""]
    for f in files:
        counts = [c["values"] for (_, g), c in checks.items() if g == f and "values" in c]
        table = f"its float32 table {counts[0] * 4 / 2**20:.0f} MiB" if counts else "no parser read it"
        out.append(f"- {f.name}: {f.stat().st_size / 1e6:.0f} MB, {table}")
    out += ["", "| parser | file | median s | of which the library's call | MB/s | vs vecload | peak RSS MiB | runs |",
            "|---|---|---:|---:|---:|---:|---:|---:|"]
    for f in files:
        size = f.stat().st_size
        base = timings.get(("vecload", f), {}).get("read_s")
        for v in variants:
            t = timings[(v, f)]
            if "error" in t:
                out.append(f"| {v} | {f.name} | refused: {_cell(t['error'])} | | | | | |")
                continue
            ratio = f"{base / t['read_s']:.2f}x" if base else ""
            out.append(f"| {v} | {f.name} | {t['read_s']:.2f} | {t['parse_s']:.2f} | {size / t['read_s'] / 1e6:.0f} | {ratio} | "
                       f"{t['peak_mib']:.0f} | {t['runs']} |")
    out += ["", "Exactness (bit-identical to float32(float(text)), same token bytes, rows and order):", "",
            "| parser | settings | " + " | ".join(f.name for f in files) + " | differential | double rounding | "
            "special spellings | tokens and rows |", "|---|---|" + "---|" * (len(files) + 4)]
    for v in variants:
        c = cases[v]
        bench = [_cell(checks[(v, f)]["exact"]) if "error" not in checks[(v, f)] else
                 "refused: " + _cell(checks[(v, f)]["error"]) for f in files]
        groups = [_group(c, g) for g in ("differential", "double rounding", "special", "tokens")]
        out.append(f"| {v} | {VARIANTS[v].settings} | " + " | ".join(bench + groups) + " |")
    out += ["", "Process costs (after one read of the first file; OS threads from /proc/self/task, the 2 before the "
            "import being Python's main thread and numpy's OpenBLAS thread):", "",
            "| parser | version | import s | RSS after import MiB | OS threads before import -> after read | "
            "Python threads after read | read after fork | process-wide changes | warnings |",
            "|---|---|---:|---:|---|---:|---|---|---|"]
    for v in variants:
        t, k, c = timings[(v, files[0])], checks[(v, files[0])], cases[v]
        if "error" in k:
            k = next((checks[(v, f)] for f in files if "error" not in checks[(v, f)]), k)
        imp = f"{t['import_s']:.2f} | {t['import_mib']:.0f}" if "error" not in t else " | "
        threads = " -> ".join(map(str, k.get("os_threads", []))) + (f" ({k['new_threads']})" if k.get("new_threads") else "")
        warn = "; ".join(sorted(set(c.get("warnings", [])))) or "none"
        out.append(f"| {v} | {k.get('version', c.get('version', ''))} | {imp} | {threads} | {k.get('py_threads', '')} | "
                   f"{k.get('fork', _cell(k.get('error', '')))} | {', '.join(k.get('side_effects', [])) or 'none'} | "
                   f"{_cell(warn)} |")
    out += ["", CASES_NOTE, "", "Cases each parser did not read as expected:"]
    for v in variants:
        misses = cases[v].get("misses") or ([cases[v]["error"]] if "error" in cases[v] else [])
        out.append(f"- {v}:" + (" none" if not misses else ""))
        out += [f"  - {_cell(m, 300)}" for m in misses]
    return "\n".join(out)


def _group(cases: dict, group: str) -> str:
    """One exactness cell for a group of cases: "all N as expected" or how many missed."""
    if "error" in cases:
        return "n/a"
    n = cases["groups"][group]
    if n["expected"] == n["total"]:
        return f"all {n['total']} as expected ({n['values']:,} values)"
    wrong = f"**{n['wrong']} wrong**" if n["wrong"] else "0 wrong"
    return f"{n['expected']} of {n['total']} as expected, {n['refused']} refused, {wrong}"


def _cell(text: str, limit: int = 160) -> str:
    """Text fit for one markdown table cell."""
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 3] + "..."


if __name__ == "__main__":
    sys.exit(main())
