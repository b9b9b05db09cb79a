"""Forward-pass cost of ``vecload.PretrainedEmbedding`` against a plain ``nn.Embedding`` of the same size.

Run standalone (``python scripts/bench_forward.py``) or call :func:`bench_forward` (``scripts/bench.py``
does). Prints a small markdown table; the ratio is PretrainedEmbedding time / nn.Embedding time (fastest of
alternating blocks, same indices, same thread count).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import nn

from vecload import PretrainedEmbedding

CASES = (
    # (rows, dim, batch, length)
    (100_000, 300, 64, 128),
    (400_000, 50, 256, 64),
    (20_000, 100, 32, 32),
)


def bench_forward(
    cases: tuple[tuple[int, int, int, int], ...] = CASES,
    specials: int = 3,
    repeats: int = 20,
    seed: int = 0,
    threads: int | None = 1,
    quiet: bool = False,
) -> list[dict[str, float | int | str]]:
    """Time forward passes of both modules, with gradients on (training) and under ``torch.no_grad``.

    Args:
        cases: ``(pretrained rows, dim, batch, sequence length)`` per case.
        specials: Specials in front of the pretrained rows (the plain table has the same total size).
        repeats: Timed blocks per module (the fastest is reported).
        seed: Seed of the random table and indices.
        threads: torch's intra-op threads while timing (1 by default: steadier on a shared machine;
            None leaves torch's setting).
        quiet: Do not print the table.

    Returns:
        One dict per case and mode: rows, dim, indices, mode, plain_ms, pretrained_ms, ratio.
    """
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        results = _run(cases, specials, repeats, seed)
    finally:
        torch.set_num_threads(previous)
    if not quiet:
        print(format_table(results))
    return results


def _run(cases: tuple[tuple[int, int, int, int], ...], specials: int, repeats: int,
         seed: int) -> list[dict[str, float | int | str]]:
    generator = torch.Generator().manual_seed(seed)
    results: list[dict[str, float | int | str]] = []
    for rows, dim, batch, length in cases:
        weight = torch.randn(rows, dim, generator=generator)
        tokens = [f"t{i}" for i in range(rows)]
        ours = PretrainedEmbedding(weight, tokens, specials=[f"<s{i}>" for i in range(specials)], padding_idx=0)
        plain = nn.Embedding(rows + specials, dim, padding_idx=0)
        indices = torch.randint(0, rows + specials, (batch, length), generator=generator)
        indices[:, ::8] = 1  # some specials, as real batches have
        for mode in ("train", "no_grad"):
            plain_s, ours_s = _time_pair(lambda: plain(indices), lambda: ours(indices), repeats, mode)
            results.append({"rows": rows + specials, "dim": dim, "indices": batch * length, "mode": mode,
                            "plain_ms": plain_s * 1e3, "pretrained_ms": ours_s * 1e3, "ratio": ours_s / plain_s})
    return results


def format_table(results: list[dict[str, float | int | str]]) -> str:
    """The results as a markdown table."""
    lines = ["| table | indices | mode | nn.Embedding ms | PretrainedEmbedding ms | ratio |",
             "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['rows']:,} x {r['dim']} | {r['indices']:,} | {r['mode']} | {r['plain_ms']:.3f} | "
                     f"{r['pretrained_ms']:.3f} | {r['ratio']:.2f}x |")
    return "\n".join(lines)


def _time_pair(first: Callable[[], object], second: Callable[[], object], repeats: int,
               mode: str) -> tuple[float, float]:
    """Seconds per call of each, timed in alternating blocks of ~20 ms; the fastest block of each counts.

    The minimum, not the mean, because on a shared machine every disturbance only adds time.
    """
    context = torch.no_grad() if mode == "no_grad" else torch.enable_grad()
    with context:
        for call in (first, second):
            call()
        start = time.perf_counter()
        first()
        number = max(1, int(0.02 / max(time.perf_counter() - start, 1e-6)))
        best = [float("inf"), float("inf")]
        for _ in range(repeats):
            for slot, call in enumerate((first, second)):
                start = time.perf_counter()
                for _ in range(number):
                    call()
                best[slot] = min(best[slot], (time.perf_counter() - start) / number)
    return best[0], best[1]


if __name__ == "__main__":
    bench_forward()
