"""How long analyze() takes, in pure Python: a 1,000-point sweep and 10^6 points.

A 10^6-row file is what a per-step training log fed to ``clr analyze`` looks like;
above ``MAX_POINTS`` (2048) the reading bins the points on the log-LR axis first,
so the cost is ``O(n log n)`` (the goal: under 5 s for 10^6 points).

Run: ``PYTHONPATH=. python benchmarks/analysis_speed.py``. Prints the median of
repeated timings (the figures quoted in docs/benchmarks.md).
"""

from __future__ import annotations

import math
import random
import statistics
import time

from clr_core.rangetest import analyze


def sweep(n: int = 1000, seed: int = 0) -> tuple[list[float], list[float], list[float]]:
    rng = random.Random(seed)
    lrs = [10 ** (-5 + 6 * i / (n - 1)) for i in range(n)]
    losses, accs = [], []
    for lr in lrs:
        x = math.log10(lr)
        y = 2.3 if x < -3 else (2.3 - 0.8 * (x + 3) if x < -1 else 0.7 + 4 * (10 ** (x + 1) - 1))
        losses.append(y * math.exp(0.05 * rng.gauss(0, 1)))
        accs.append(min(0.95, max(0.1, 0.1 + 0.4 * (x + 3))) + 0.01 * rng.gauss(0, 1))
    return lrs, losses, accs


def measure(repeats: int = 30) -> dict[str, dict[str, float]]:
    """Median and minimum seconds of ``analyze`` on the 1,000-point sweep, loss only and
    with the accuracy metric."""
    lrs, losses, accs = sweep()
    out = {}
    for label, metric in (("loss only", None), ("loss + accuracy", accs)):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            analyze(lrs, losses, metric)
            times.append(time.perf_counter() - t0)
        out[label] = {"median": statistics.median(times), "min": min(times), "runs": repeats}
    return out


def measure_large(n: int = 1_000_000, repeats: int = 3) -> dict[str, float]:
    """Median and minimum seconds of ``analyze`` on an ``n``-point sweep, loss only."""
    lrs, losses, _ = sweep(n)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        analyze(lrs, losses)
        times.append(time.perf_counter() - t0)
    return {"median": statistics.median(times), "min": min(times), "runs": repeats}


def main() -> None:
    """Print the timings."""
    for label, t in measure().items():
        print(
            f"analyze(), 1000 points, {label}: median {t['median'] * 1e3:.1f} ms "
            f"(min {t['min'] * 1e3:.1f} ms, {t['runs']} runs)"
        )
    t = measure_large()
    print(
        f"analyze(), 1,000,000 points, loss only: median {t['median']:.2f} s "
        f"(min {t['min']:.2f} s, {t['runs']} runs)"
    )


if __name__ == "__main__":
    main()
