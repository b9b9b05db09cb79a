"""Benchmark: what a training script pays for a PretrainedEmbedding (issue 13), each figure in a fresh process.

- ``checkpoint``: the size of ``torch.save(emb.state_dict())`` for a 400k x 300 table with 3 specials,
  ``persist_frozen=False`` (target: under 100 KB) against the default (every row);
- ``ddp``: bytes DistributedDataParallel broadcasts (counted at ``torch.distributed._broadcast_coalesced``,
  which its construction-time and per-forward syncs go through) and seconds per step, 2 gloo ranks on
  CPU, a 200k x 300 table, 5 AdamW steps, DDP's defaults: PretrainedEmbedding against the same table held
  as a buffer (vecload 0.2's layout);
- ``bf16``: the peak RSS of building a bfloat16 PretrainedEmbedding from a converted float32 400k x 300
  file, against a bare ``import torch, numpy, vecload`` process (target: baseline + 1.2 x the bf16 table).

Run ``python scripts/bench_training.py`` (all three) or name sections: ``python scripts/bench_training.py bf16``.
Files go to ``bench-out/`` (gitignored). Only the public API and the standard library are used.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench-out"
MIB = 1 << 20

# VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and exec, so a child would report its parent's peak.
_PEAK = """
def PEAK():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
"""

_CHECKPOINT = _PEAK + """
import io, json, torch, vecload
weight = torch.randn(400_000, 300)
tokens = [f"w{i}" for i in range(400_000)]
sizes = {}
for persist in (False, True):
    emb = vecload.PretrainedEmbedding(weight, tokens, specials=("<pad>", "<unk>", "<cls>"), padding_idx="<pad>",
                                      persist_frozen=persist)
    buffer = io.BytesIO()
    torch.save(emb.state_dict(), buffer)
    sizes[str(persist)] = buffer.tell()
    del emb, buffer
print(json.dumps({"small_bytes": sizes["False"], "full_bytes": sizes["True"]}))
"""

_BASELINE = _PEAK + """
import json, numpy, torch, vecload
from vecload import PretrainedEmbedding
print(json.dumps({"peak": PEAK()}))
"""

_MAKE = """
import sys, torch, vecload
weight = torch.randn(400_000, 300, generator=torch.Generator().manual_seed(0))
vecload.Vectors([f"w{i:07d}" for i in range(400_000)], weight).save(sys.argv[1], force=True)
print("{}")
"""

_LOADED = _PEAK + """
import json, sys, numpy, torch, vecload
from vecload import PretrainedEmbedding
vectors = vecload.load(sys.argv[1])
print(json.dumps({"peak": PEAK()}))
"""

_BF16 = _PEAK + """
import json, sys, time, torch, vecload
start = time.perf_counter()
emb = vecload.PretrainedEmbedding(vecload.load(sys.argv[1]), specials=("<pad>", "<unk>", "<cls>"),
                                  padding_idx="<pad>", dtype=torch.bfloat16)
seconds = time.perf_counter() - start
print(json.dumps({"peak": PEAK(), "table": emb.table.numel() * emb.table.element_size(), "seconds": seconds}))
"""

_DDP = """
import json, os, sys, time, warnings
import torch, torch.distributed as dist, torch.multiprocessing as mp, torch.nn.functional as F
from torch import nn
import vecload

ROWS, DIM, STEPS = 200_000, 300, 5

class BufferTable(nn.Module):
    def __init__(self, weight):
        super().__init__()
        self.register_buffer("table", weight)
        self.extra = nn.Parameter(torch.zeros(2, weight.shape[1]))
    def forward(self, indices):
        return F.embedding(indices, self.table) + F.embedding(indices.clamp(max=1), self.extra)

def worker(rank, folder):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous-ddp", rank=rank, world_size=2)
    moved = [0]
    broadcast = dist._broadcast_coalesced
    def counting(group, tensors, *args, **kwargs):
        moved[0] += sum(t.numel() * t.element_size() for t in tensors)
        return broadcast(group, tensors, *args, **kwargs)
    dist._broadcast_coalesced = counting
    weight = torch.randn(ROWS, DIM, generator=torch.Generator().manual_seed(0))
    tokens = [f"w{i}" for i in range(ROWS)]
    result, keep = {}, []
    for name in ("PretrainedEmbedding", "table as a buffer"):
        module = (vecload.PretrainedEmbedding(weight, tokens, specials=("<pad>", "<unk>"), padding_idx="<pad>")
                  if name == "PretrainedEmbedding" else BufferTable(weight.clone()))
        moved[0] = 0
        with warnings.catch_warnings():
            warnings.simplefilter("error", FutureWarning)  # no deprecated argument: DDP's defaults
            model = nn.parallel.DistributedDataParallel(module)
        init_bytes = moved[0]
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.01, weight_decay=0.1)
        indices = torch.randint(0, ROWS, (32, 16), generator=torch.Generator().manual_seed(rank))
        dist.barrier()
        start = time.perf_counter()
        for _ in range(STEPS):
            opt.zero_grad()
            model(indices).pow(2).mean().backward()
            opt.step()
        dist.barrier()
        result[name] = {"init_bytes": init_bytes, "step_bytes": moved[0] - init_bytes,
                        "seconds_per_step": (time.perf_counter() - start) / STEPS}
        keep.append(model)
    if rank == 0:
        print(json.dumps(result), flush=True)
    dist.barrier()
    os._exit(0)  # no teardown: freeing DDP's reducer can deadlock on torch 2.13 (see tests/test_embedding_training.py)

if __name__ == "__main__":
    # a file an earlier run left (its ranks end with os._exit, so the store never removes it) hangs the rendezvous
    if os.path.exists(os.path.join(sys.argv[1], "rendezvous-ddp")):
        os.remove(os.path.join(sys.argv[1], "rendezvous-ddp"))
    mp.spawn(worker, args=(sys.argv[1],), nprocs=2, join=True)
"""


def run(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh Python; return the JSON it prints last."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    script = OUT / "bench_training_child.py"
    script.write_text(code, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads([line for line in proc.stdout.splitlines() if line.startswith("{")][-1])


def checkpoint() -> str:
    """The checkpoint sizes, as a markdown line."""
    r = run(_CHECKPOINT)
    verdict = "within" if r["small_bytes"] < 100_000 else "OVER"
    return (f"- checkpoint, 400k x 300 + 3 specials: persist_frozen=False {r['small_bytes'] / 1000:.1f} KB "
            f"(target < 100 KB: {verdict}); default (every row) {r['full_bytes'] / MIB:.0f} MiB")


def ddp() -> str:
    """Bytes broadcast by DDP and seconds per step, as markdown lines."""
    r = run(_DDP, str(OUT))
    lines = ["- DDP, 2 gloo ranks, 200k x 300 table, 5 AdamW steps, DDP's defaults (bytes rank 0 broadcast):"]
    for name, f in r.items():
        lines.append(f"  - {name}: {f['init_bytes'] / MIB:.3f} MiB at construction, {f['step_bytes'] / MIB:.3f} MiB "
                     f"over the steps, {f['seconds_per_step'] * 1000:.0f} ms per step")
    return "\n".join(lines)


def bf16() -> str:
    """The peak of building a bfloat16 embedding from a converted file, against the budget."""
    path = OUT / "bench-training-400k.pth"
    if not path.exists():
        run(_MAKE, str(path))
    base, loaded, built = run(_BASELINE), run(_LOADED, str(path)), run(_BF16, str(path))
    table = built["table"]
    lines = [f"- bfloat16 400k x 300 PretrainedEmbedding from a converted float32 file ({table / MIB:.0f} MiB in bf16), "
             f"peak {built['peak'] / MIB:.0f} MiB, {built['seconds']:.2f} s:"]
    for name, start in (("bare import torch, numpy, vecload", base), ("the same + vecload.load (tokens, mmap)", loaded)):
        budget = start["peak"] + 1.2 * table
        lines.append(f"  - over {name} ({start['peak'] / MIB:.0f} MiB): {(built['peak'] - start['peak']) / table:.2f} x "
                     f"the bf16 table; budget + 1.2 x = {budget / MIB:.0f} MiB: "
                     f"{'within' if built['peak'] <= budget else 'OVER'}")
    return "\n".join(lines)


SECTIONS = {"checkpoint": checkpoint, "ddp": ddp, "bf16": bf16}


def main(argv: list[str] | None = None) -> None:
    names = (argv if argv is not None else sys.argv[1:]) or list(SECTIONS)
    OUT.mkdir(exist_ok=True)
    for name in names:
        print(SECTIONS[name](), flush=True)


if __name__ == "__main__":
    main()
