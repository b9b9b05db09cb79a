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
odd tokens (spaces, quotes, ``#``, non-UTF-8 bytes, a word2vec header); see :mod:`parser_cases`. The
parsers and their settings are in :mod:`parser_readers` (the ``-f32`` ones parse straight to float32).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench and the parser_* modules beside this one
from bench import PY, ROOT, machine, run_child  # noqa: E402
from parser_cases import CASES_NOTE, child_cases, compare, field_count, reference_arrays  # noqa: E402
from parser_probes import changes, fork_read, new_names, os_threads, rss_mib, side_effects  # noqa: E402
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
    parser.add_argument("--cache", type=Path, help="where the cached references go (default: --bench-dir)")
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
    """{(variant, file): medians of each child's figures, the fastest read and the run count, or {"error"}};
    the runs go round every parser and file in turn, so a busy spell on the machine hits them all alike."""
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
        names = ("read_s", "parse_s", "peak_mib", "import_s", "import_mib")
        out[key] = {name: statistics.median(r[name] for r in good) for name in names}
        out[key]["runs"] = len(good)
        out[key]["fastest_s"] = min(r["read_s"] for r in good)
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
    threads_before = os_threads()
    effects = side_effects()
    start = time.perf_counter()
    variant.load()
    imported = time.perf_counter()
    import_mib = rss_mib()
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
    return {
        "exact": diff or f"exact, {count:,} values",
        "values": count,
        "os_threads": [len(threads_before), len(after := os_threads())],
        "new_threads": new_names(threads_before, after),
        "py_threads": threading.active_count(),
        "side_effects": changes(effects, side_effects()),
        "fork": fork_read(variant, dim),
        "version": library_version(variant.module),
    }


# ---------------------------------------------------------------- report


def report(variants: list[str], files: list[Path], timings: dict, checks: dict, cases: dict) -> str:
    """Three markdown tables (speed and memory, exactness, process costs) and the cases each parser missed."""
    out = _speed(variants, files, timings, checks) + [""] + _exactness(variants, files, checks, cases) + [""]
    out += _costs(variants, files, timings, checks, cases)
    out += ["", CASES_NOTE, "", "Cases each parser did not read as expected:"]
    for v in variants:
        misses = cases[v].get("misses") or ([cases[v]["error"]] if "error" in cases[v] else [])
        out.append(f"- {v}:" + (" none" if not misses else ""))
        out += [f"  - {_cell(m, 300)}" for m in misses]
    return "\n".join(out)


def _speed(variants: list[str], files: list[Path], timings: dict, checks: dict) -> list[str]:
    """The speed and memory table, one row per parser and file."""
    out = ["Speed and memory (the read alone, to str tokens and C-contiguous float32 rows; medians, MB/s and the "
           "ratio from the median, the fastest run being the one least disturbed by other work; peak RSS of the "
           "whole child process):", ""]
    for f in files:
        counts = [c["values"] for (_, g), c in checks.items() if g == f and "values" in c]
        table = f"its float32 table {counts[0] * 4 / 2**20:.0f} MiB" if counts else "no parser read it"
        out.append(f"- {f.name}: {f.stat().st_size / 1e6:.0f} MB, {table}")
    out += ["", "| parser | file | median s | fastest s | of which the library's call | MB/s | vs vecload | "
            "peak RSS MiB | runs |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for f in files:
        size = f.stat().st_size
        base = timings.get(("vecload", f), {}).get("read_s")
        for v in variants:
            t = timings[(v, f)]
            if "error" in t:
                out.append(f"| {v} | {f.name} | refused: {_cell(t['error'])} | | | | | | |")
                continue
            ratio = f"{base / t['read_s']:.2f}x" if base else ""
            out.append(f"| {v} | {f.name} | {t['read_s']:.2f} | {t['fastest_s']:.2f} | {t['parse_s']:.2f} | "
                       f"{size / t['read_s'] / 1e6:.0f} | {ratio} | {t['peak_mib']:.0f} | {t['runs']} |")
    return out


def _exactness(variants: list[str], files: list[Path], checks: dict, cases: dict) -> list[str]:
    """The exactness table: the bench files value by value, then each group of cases."""
    out = ["Exactness (bit-identical to float32(float(text)), same token bytes, rows and order):", "",
           "| parser | settings | " + " | ".join(f.name for f in files) + " | differential | double rounding | "
           "special spellings | tokens and rows |", "|---|---|" + "---|" * (len(files) + 4)]
    for v in variants:
        bench = [_cell(checks[(v, f)]["exact"]) if "error" not in checks[(v, f)] else
                 "refused: " + _cell(checks[(v, f)]["error"]) for f in files]
        groups = [_group(cases[v], g) for g in ("differential", "double rounding", "special", "tokens")]
        out.append(f"| {v} | {VARIANTS[v].settings} | " + " | ".join(bench + groups) + " |")
    return out


def _costs(variants: list[str], files: list[Path], timings: dict, checks: dict, cases: dict) -> list[str]:
    """The process costs table: import, threads left, fork, process-wide changes, warnings."""
    out = ["Process costs (after one read of the first file; OS threads from /proc/self/task, the 2 before the "
           "import being Python's main thread and numpy's OpenBLAS thread):", "",
           "| parser | version | import s | RSS after import MiB | OS threads before import -> after read | "
           "Python threads after read | read after fork | process-wide changes | warnings |",
           "|---|---|---:|---:|---|---:|---|---|---|"]
    for v in variants:
        t, c = timings[(v, files[0])], cases[v]
        k = next((checks[(v, f)] for f in files if "error" not in checks[(v, f)]), checks[(v, files[0])])
        imp = f"{t['import_s']:.2f} | {t['import_mib']:.0f}" if "error" not in t else " | "
        threads = " -> ".join(map(str, k.get("os_threads", [])))
        threads += f" ({k['new_threads']})" if k.get("new_threads") else ""
        warn = "; ".join(sorted(set(c.get("warnings", [])))) or "none"
        version = k.get("version", c.get("version", ""))
        out.append(f"| {v} | {version} | {imp} | {threads} | {k.get('py_threads', '')} | "
                   f"{k.get('fork', _cell(k.get('error', '')))} | {', '.join(k.get('side_effects', [])) or 'none'} | "
                   f"{_cell(warn)} |")
    return out


def _group(cases: dict, group: str) -> str:
    """One exactness cell for a group of cases: all as expected, or how many were refused and how many wrong."""
    if "error" in cases:
        return "n/a"
    n = cases["groups"][group]
    if n["expected"] == n["total"]:
        return f"exact, {n['values']:,} values" if n["total"] == 1 else f"all {n['total']} as expected"
    wrong = f"**{n['wrong']} wrong**" if n["wrong"] else "0 wrong"
    return f"{n['expected']} of {n['total']} as expected, {n['refused']} refused, {wrong}"


def _cell(text: str, limit: int = 160) -> str:
    """Text fit for one markdown table cell."""
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 3] + "..."


if __name__ == "__main__":
    sys.exit(main())
