"""Benchmark vecload's readers against gensim, each measurement in its own process.

Usage::

    python scripts/bench.py                 # full sizes, 3 runs each, markdown table on stdout
    python scripts/bench.py --quick         # small files, 1 run: a smoke test of the script
    python scripts/bench.py --runs 5 --gensim-runs 1 --sections text50,binary
    python scripts/bench.py --sections big   # the glove.840B-shaped convert (5.6 GB, made on first use)

Generated files are cached in ``bench-out/`` (git-ignored). Every row is the median of its runs. Times
"in-process" are the read alone, after imports; "whole process" rows time a complete command as a user
runs it. Peak memory is the child's maximum resident set size as the OS reports it (``getrusage``); where
a text read was split across two processes (see vecload/formats/textsplit.py), the most that the child and
its helper held at once, bounded from above by sampling both peaks from /proc (see :class:`TreePeak`).

Sections are plain functions in :data:`SECTIONS`; a new benchmark appends one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling bench_align module


@dataclass
class Config:
    """Options shared by all sections."""

    out: Path
    runs: int
    gensim_runs: int
    quick: bool
    results: list[dict] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)

    def rows(self, full: int) -> int:
        """Row count for a file: full size, or small in quick mode."""
        return max(full // 100, 200) if self.quick else full


# ---------------------------------------------------------------- measuring


#: Appended to every child program: its own peak RSS. Its children's (a split text read's helper) are taken
#: from /proc while they run (see :class:`TreePeak`): ``RUSAGE_CHILDREN`` would count, for a child started
#: with ``vfork`` as ``subprocess`` starts them, the parent's own peak at that moment.
_PEAKS = ("\nimport json as _json, resource as _resource\n"
          "print(_json.dumps({'peak_self_kib': _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss}))\n")


class TreePeak(threading.Thread):
    """Samples, every 20 ms, the peak RSS (``VmHWM``) of process ``pid`` and of each of its children.

    At each sample, the process's peak so far plus its children's is at least what they held at once at any
    moment since the last sample (a child's peak only grows while it runs its own program); at the first
    sample after a child has ended, its last peak seen is added once more, for the moments between that
    sample and its end. The largest such sum, or the process's own final peak if larger, bounds what they
    held at once, short of a child's growth in its last interval. That is below the sum of the final peaks,
    since a split read's helper ends before its caller's memory grows most. A child between ``vfork`` and
    ``exec`` shares its parent's memory and shows the same peak: it is left out until it runs its own program.
    """

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.done = pid, threading.Event()
        self.tree_kib, self.children_kib = 0, 0

    def run(self) -> None:
        last: dict[int, int] = {}  # each running child's peak at the last sample
        while not self.done.wait(0.02):
            own = _hwm_kib(self.pid)
            if own is None:
                continue
            now = {child: kib for child in _children(self.pid) if (kib := _hwm_kib(child)) is not None and kib != own}
            ended = sum(kib for child, kib in last.items() if child not in now)
            last = now
            self.tree_kib = max(self.tree_kib, own + sum(now.values()) + ended)
            self.children_kib = max(self.children_kib, sum(now.values()))

    def stop(self) -> None:
        self.done.set()
        self.join()


def _hwm_kib(pid: int) -> int | None:
    """The peak RSS of a running process in KiB (None once it has ended)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next((int(line.split()[1]) for line in fh if line.startswith("VmHWM:")), None)
    except (OSError, ValueError):
        return None


def _children(pid: int) -> list[int]:
    """The children of ``pid``: each of its threads' ``children`` list, or where the kernel has none, every
    process whose parent it is."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                found.extend(int(child) for child in fh.read().split())
        except FileNotFoundError:
            if not os.path.exists(f"/proc/{pid}/task/{task}"):
                continue  # the thread ended
            return [int(entry) for entry in os.listdir("/proc") if entry.isdigit() and _parent(int(entry)) == pid]
        except OSError:
            continue
    return found


def _parent(pid: int) -> int | None:
    """The parent of a running process (None once it has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rpartition(")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def run_child(code: str, args: list[str] | None = None) -> tuple[dict, float, float]:
    """Run Python code (or a command) in a fresh process; return its JSON output, wall seconds, peak RSS MiB
    (with its helper processes' where a ``vecload`` command or Python code ran: see :class:`TreePeak`)."""
    if args is not None and args[:3] == [PY, "-m", "vecload"]:  # the command, run as `python -m vecload` runs it
        code = (f"import runpy, sys\nsys.argv = {['vecload'] + args[3:]!r}\ntry:\n"
                "    runpy.run_module('vecload', run_name='__main__', alter_sys=True)\n"
                "except SystemExit as exit:\n    if exit.code:\n        raise\n")
        args = None
    cmd = args if args is not None else [PY, "-c", code + _PEAKS]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    tree = TreePeak(proc.pid)
    tree.start()
    out, err = proc.stdout.read(), proc.stderr.read()
    tree.stop()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed ({proc.returncode}):\n{err.decode()[-2000:]}")
    payload: dict = {}
    for line in out.decode().splitlines():
        if line.startswith("{"):
            payload.update(json.loads(line))
    peak = usage.ru_maxrss
    if "peak_self_kib" in payload:
        peak = max(payload.pop("peak_self_kib"), tree.tree_kib)
    if tree.children_kib:
        payload["children_mib"] = tree.children_kib / 1024
    return payload, wall, peak / 1024


def measure(cfg: Config, section: str, label: str, code: str | None = None, args: list[str] | None = None,
            runs: int | None = None, rows: int = 0, size: int = 0, key: str = "read_s") -> dict:
    """Median over runs of one child measurement; records and returns a result row."""
    times, walls, peaks = [], [], []
    for _ in range(runs or cfg.runs):
        payload, wall, peak = run_child(code or "", args)
        times.append(payload.get(key, wall))
        walls.append(wall)
        peaks.append(peak)
    row = {
        "section": section,
        "label": label,
        "seconds": statistics.median(times),
        "runs": len(times),
        "peak_mib": statistics.median(peaks),
        "rows": rows,
        "bytes": size,
    }
    cfg.results.append(row)
    print(f"  {label}: {row['seconds']:.3f} s, {row['peak_mib']:.0f} MiB peak", file=sys.stderr)
    return row


# ---------------------------------------------------------------- generated inputs


def make_text(path: Path, rows: int, dim: int, seed: int) -> Path:
    """A GloVe-shaped text file: 'wN v1 ... vdim', values with up to 5 significant digits."""
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".part")
    with open(tmp, "w", encoding="utf-8") as fh:
        for start in range(0, rows, 20_000):
            n = min(20_000, rows - start)
            block = (rng.standard_normal((n, dim)) * 0.4).astype(np.float32)
            fh.write("".join(f"w{start + i} " + " ".join(["%.5g" % v for v in row.tolist()]) + "\n"
                             for i, row in enumerate(block)))
    tmp.rename(path)
    return path


def make_binary(path: Path, rows: int, dim: int, seed: int) -> Path:
    """A word2vec binary file (newline after each vector, as word2vec.c writes)."""
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".part")
    with open(tmp, "wb") as fh:
        fh.write(f"{rows} {dim}\n".encode())
        for start in range(0, rows, 20_000):
            n = min(20_000, rows - start)
            block = rng.standard_normal((n, dim)).astype("<f4")
            fh.write(b"".join(f"w{start + i} ".encode() + row.tobytes() + b"\n" for i, row in enumerate(block)))
    tmp.rename(path)
    return path


# ---------------------------------------------------------------- child programs

NATIVE = """
import json, time, torch
from vecload.formats import read_table
t = time.perf_counter()
table = read_table({path!r}, engine={engine!r})
tensor = torch.from_numpy(table.vectors)
print(json.dumps({{"read_s": time.perf_counter() - t, "shape": list(tensor.shape)}}))
"""

GENSIM = """
import json, logging, time, torch
from gensim.models import KeyedVectors
t = time.perf_counter()
kv = KeyedVectors.load_word2vec_format({path!r}, binary={binary}, no_header={no_header})
tensor = torch.from_numpy(kv.vectors)
print(json.dumps({{"read_s": time.perf_counter() - t, "shape": list(tensor.shape)}}))
"""

GENSIM_SAVE = """
import torch
from gensim.models import KeyedVectors
kv = KeyedVectors.load_word2vec_format({path!r}, binary={binary}, no_header={no_header})
torch.save(torch.from_numpy(kv.vectors), {out!r})
"""

LOAD = """
import json, time, torch
t = time.perf_counter()
import vecload
v = vecload.load({path!r})
row = v.vectors[len(v) - 1].sum().item()
print(json.dumps({{"read_s": time.perf_counter() - t, "shape": [len(v), v.vector_size]}}))
"""


def bare_torch(cfg: Config) -> None:
    """Baseline: a process that only imports torch."""
    print("baseline", file=sys.stderr)
    measure(cfg, "baseline", "python -c 'import torch' (whole process)", "import torch", key="wall")


def read_section(cfg: Config, section: str, path: Path, fmt: str, rows: int) -> None:
    """In-process reads (native, engine=gensim, gensim) and whole-process converts of one file."""
    print(section, file=sys.stderr)
    size = path.stat().st_size
    binary, no_header = fmt == "word2vec-binary", fmt == "glove"
    gensim_code = GENSIM.format(path=str(path), binary=binary, no_header=no_header)
    measure(cfg, section, "gensim load_word2vec_format (in-process)", gensim_code, runs=cfg.gensim_runs, rows=rows, size=size)
    measure(cfg, section, "vecload engine=gensim (in-process)", NATIVE.format(path=str(path), engine="gensim"),
            runs=cfg.gensim_runs, rows=rows, size=size)
    measure(cfg, section, "vecload native (in-process)", NATIVE.format(path=str(path), engine="native"), rows=rows, size=size)
    out = cfg.out / f"{path.stem}.pth"
    measure(cfg, section, "gensim load + torch.save (whole process)",
            GENSIM_SAVE.format(path=str(path), binary=binary, no_header=no_header, out=str(cfg.out / "gensim.pt")),
            runs=cfg.gensim_runs, rows=rows, size=size, key="wall")
    measure(cfg, section, "vecload convert (whole process)", args=[PY, "-m", "vecload", "convert", str(path), "-o", str(out),
            "--force", "-q"], rows=rows, size=size, key="wall")


def section_text50(cfg: Config) -> None:
    """Text shaped like glove.6B.50d: 400,000 x 50."""
    rows = cfg.rows(400_000)
    read_section(cfg, f"text {rows:,} x 50", make_text(cfg.out / f"text-{rows}x50.txt", rows, 50, 1), "glove", rows)


def section_text300(cfg: Config) -> None:
    """Text shaped like glove.6B.300d: 100,000 x 300."""
    rows = cfg.rows(100_000)
    read_section(cfg, f"text {rows:,} x 300", make_text(cfg.out / f"text-{rows}x300.txt", rows, 300, 2), "glove", rows)


def section_binary(cfg: Config) -> None:
    """word2vec binary: 400,000 x 300."""
    rows = cfg.rows(400_000)
    read_section(cfg, f"binary {rows:,} x 300", make_binary(cfg.out / f"bin-{rows}x300.bin", rows, 300, 3), "word2vec-binary", rows)


def section_load(cfg: Config) -> None:
    """vecload.load of a converted 400,000 x 300 table, timed after `import torch`."""
    rows = cfg.rows(400_000)
    section = f"load converted {rows:,} x 300"
    print(section, file=sys.stderr)
    source = make_binary(cfg.out / f"bin-{rows}x300.bin", rows, 300, 3)
    pth = cfg.out / f"{source.stem}.pth"
    if not _single_file(pth):  # missing, or a bare tensor cached by vecload 0.1
        run_child("", [PY, "-m", "vecload", "convert", str(source), "-o", str(pth), "--force", "-q"])
    measure(cfg, section, "vecload.load converted .pth (in-process, after import torch)", LOAD.format(path=str(pth)),
            rows=rows, size=pth.stat().st_size)


def _single_file(pth: Path) -> bool:
    """True when ``pth`` is a converted file that carries its tokens (the layout this vecload writes)."""
    import zipfile

    try:
        with zipfile.ZipFile(pth) as archive:
            return any(name.endswith("/vecload/meta.json") for name in archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def section_forward(cfg: Config) -> None:
    """PretrainedEmbedding's forward pass against nn.Embedding of the same size (scripts/bench_forward.py)."""
    print("forward pass", file=sys.stderr)
    # In a child process, like every measurement: torch's tables must not swell this process, whose peak
    # RSS the later children would inherit.
    code = (f"from bench_forward import bench_forward, format_table; "
            f"print(format_table(bench_forward(repeats={5 if cfg.quick else 20}, quiet=True)))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "scripts")]))
    table = subprocess.run([PY, "-c", code], capture_output=True, text=True, env=env, check=True, cwd=ROOT).stdout
    cfg.tables.append("Forward pass, PretrainedEmbedding vs nn.Embedding (ratio = PretrainedEmbedding / "
                      "nn.Embedding, fastest of alternating blocks, 1 thread):\n\n" + table.strip())


def section_align(cfg: Config) -> None:
    """Align 30k task tokens against a 2M x 300 text file (scripts/bench_align.py)."""
    print("align", file=sys.stderr)
    from bench_align import bench_align

    rows = 20_000 if cfg.quick else 2_000_000
    f = bench_align(rows=rows, dim=300, vocab_size=3_000 if cfg.quick else 30_000, out_dir=cfg.out, runs=cfg.runs)
    mib = 2**20
    native = f"{f['native_seconds']:.1f} s, peak {f['native_rss'] / mib:.0f} MiB" if f["native_seconds"] else "n/a"
    cfg.tables.append(
        f"Align {f['vocab']:,} task tokens against a {f['rows']:,} x {f['dim']} text file "
        f"({f['file_bytes'] / 1e9:.2f} GB), oov={f['oov']}:\n\n"
        "| measurement | value |\n|---|---:|\n"
        f"| aligned rows ({f['found']:,} found, {f['oov_rows']:,} OOV) | {f['aligned_rows']:,} "
        f"({f['aligned_bytes'] / mib:.0f} MiB) |\n"
        f"| bare `import torch, numpy, vecload` peak RSS | {f['baseline_rss'] / mib:.0f} MiB |\n"
        f"| constant: imports + reading a 5,000-row file of the same width | {f['constant_rss'] / mib:.0f} MiB |\n"
        f"| align peak RSS | {f['align_rss'] / mib:.0f} MiB (bare +{f['align_rss_over_baseline'] / mib:.0f} MiB; "
        f"allowed: {f['allowed_rule']} = {f['allowed_rss'] / mib:.0f} MiB: "
        f"{'met' if f['memory_target_met'] else 'MISSED'}) |\n"
        f"| align time (median of {cfg.runs}) | {f['align_seconds']:.1f} s |\n"
        f"| native reader alone, whole file | {native} (align at least as fast: "
        f"{'met' if f['speed_target_met'] else 'MISSED'}) |"
    )


def section_training(cfg: Config) -> None:
    """Checkpoint size, DDP synchronisation and the bfloat16 build's peak (scripts/bench_training.py)."""
    print("training", file=sys.stderr)
    import bench_training

    bench_training.OUT.mkdir(exist_ok=True)
    cfg.tables.append("Training (scripts/bench_training.py):\n\n" + "\n".join(
        bench_training.SECTIONS[name]() for name in ("checkpoint", "ddp", "bf16")))


def section_big(cfg: Config) -> None:
    """A glove.840B-shaped convert, 2.2M x 300 (scripts/bench_big.py; the 5.6 GB file is made on first use)."""
    print("big", file=sys.stderr)
    from bench_big import bench_big, format_big

    cfg.tables.append(format_big(bench_big(cfg.out, rows=22_000 if cfg.quick else 2_200_000, runs=cfg.runs)))


#: The benchmark sections, in order; add new ones here.
SECTIONS: dict[str, Callable[[Config], None]] = {
    "baseline": bare_torch,
    "text50": section_text50,
    "text300": section_text300,
    "binary": section_binary,
    "load": section_load,
    "align": section_align,
    "forward": section_forward,
    "training": section_training,
    "big": section_big,
}
#: What runs without --sections: all but "big" (5.6 GB of disk and a few minutes).
DEFAULT_SECTIONS = [name for name in SECTIONS if name != "big"]


# ---------------------------------------------------------------- report


def report(cfg: Config) -> str:
    """The results as a markdown table, with ratios against gensim's own loader in the same section."""
    lines = [
        "| section | measurement | median s | vs gensim | rows/s | MB/s | peak RSS MiB | runs |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    baseline = {r["section"]: r for r in cfg.results if r["label"].startswith("gensim load_word2vec_format")}
    whole = {r["section"]: r for r in cfg.results if r["label"].startswith("gensim load + torch.save")}
    binary_gensim = next((r for r in cfg.results if r["section"].startswith("binary") and r["label"].startswith("gensim load_w")), None)
    for r in cfg.results:
        ref = whole.get(r["section"]) if "whole process" in r["label"] else baseline.get(r["section"])
        if r["section"].startswith("load") and binary_gensim:
            ref = binary_gensim
        ratio = f"{ref['seconds'] / r['seconds']:.1f}x" if ref and r is not ref and r["seconds"] > 0 else ""
        rate = f"{r['rows'] / r['seconds']:,.0f}" if r["rows"] else ""
        mbs = f"{r['bytes'] / r['seconds'] / 1e6:.0f}" if r["bytes"] else ""
        lines.append(f"| {r['section']} | {r['label']} | {r['seconds']:.3f} | {ratio} | {rate} | {mbs} | "
                     f"{r['peak_mib']:.0f} | {r['runs']} |")
    return "\n".join(lines)


def memory_check(cfg: Config) -> str:
    """Convert's peak RSS against the budget: bare import torch + 1.3 x tensor + tokens + 60 MiB."""
    base = next((r for r in cfg.results if r["section"] == "baseline"), None)
    notes = []
    for r in cfg.results:
        if base is None or r["label"] != "vecload convert (whole process)":
            continue
        dim = int(r["section"].rsplit("x", 1)[1])
        tensor = r["rows"] * dim * 4 / 2**20
        tokens = r["rows"] * 120 / 2**20  # a str object, its list slot and its dict entry, roughly
        budget = base["peak_mib"] + 1.3 * tensor + tokens + 60
        verdict = "within" if r["peak_mib"] <= budget else "OVER"
        notes.append(f"- {r['section']}: convert peak {r['peak_mib']:.0f} MiB vs budget {budget:.0f} MiB "
                     f"(torch {base['peak_mib']:.0f} + 1.3 x tensor {tensor:.0f} + tokens {tokens:.0f} + 60): {verdict}")
    return "\n".join(notes)


def machine() -> str:
    """One line describing the machine."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}, "
            f"load average at start {load:.1f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small files and one run each (a smoke test)")
    parser.add_argument("--runs", type=int, default=3, help="runs per vecload measurement (median reported)")
    parser.add_argument("--gensim-runs", type=int, default=None, help="runs per gensim measurement (default: --runs)")
    parser.add_argument("--sections", default=",".join(DEFAULT_SECTIONS),
                        help=f"comma-separated, from: {', '.join(SECTIONS)} (default: all but big)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-out", help="where generated files go")
    args = parser.parse_args(argv)
    runs = 1 if args.quick else args.runs
    cfg = Config(args.out, runs, args.gensim_runs or runs, args.quick)
    cfg.out.mkdir(parents=True, exist_ok=True)
    print(f"Machine: {machine()}\n")
    for name in args.sections.split(","):
        SECTIONS[name.strip()](cfg)
    print(report(cfg))
    checks = memory_check(cfg)
    if checks:
        print("\nMemory:\n" + checks)
    for table in cfg.tables:
        print("\n" + table)


if __name__ == "__main__":
    main()
