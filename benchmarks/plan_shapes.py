"""Other plan shapes at the rates the reading gives, against the plan.

Per task and seed, the cached range test's reading (``suite.readings``) fixes the rates;
each variant is trained over the equal budget (``suite.budget``), 10 seeds, cached in the
suite's cache like every other run. The variants:

* ``plan`` - the plan (``result.recommend``): 1cycle at ``one_cycle_peak``, 30%
  warm-up from peak/25, momentum cycled 0.95 -> 0.85 -> 0.95 (on a reading without
  confidence, a constant at ``result.lr``);
* ``wsd-lr`` - warm-up, stable, decay (WSD) at ``result.lr``: a linear warm-up from
  lr/25 over 5% of the budget, the rate held, a linear decay to lr/1e4 over the last
  20%; momentum left alone;
* ``wsd-mid`` - the same at the geometric middle of ``result.lr`` and ``one_cycle_peak``.

    python benchmarks/plan_shapes.py [--tasks ...] [--jobs N] [--shapes wsd-lr ...]

The last column pairs each shape with ``result.lr`` held fixed (``suite.py plans``); on a
reading without confidence the plan itself is that constant.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT / "adapters" / "torch", ROOT):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import suite as S

from clr_core import Constant, Join, Linear, Schedule
from clr_core.rangetest import RangeTestResult
from clr_torch.demo.tasks import SUITE, load_task

#: WSD: the warm-up's and the decay's share of the budget.
WARMUP, DECAY = 0.05, 0.2


def wsd(peak: float, total: int) -> Schedule:
    """Warm-up from peak/25 over ``WARMUP`` of ``total``, hold, decay to peak/1e4 over the
    last ``DECAY``."""
    w = max(1, round(WARMUP * total))
    d = max(1, round(DECAY * total))
    return Join(
        (Linear(peak / 25, peak, w), Constant(peak), Linear(peak, peak / 1e4, d)),
        (w, total - d),
    )


def _variants(total: int, ipe: int, epochs: int) -> dict[str, Callable[[RangeTestResult], Any]]:
    def plan(r: RangeTestResult) -> tuple[Schedule, Schedule | None]:
        p = r.recommend(ipe, epochs)
        return p.lr, p.momentum

    return {
        "plan": plan,
        "wsd-lr": lambda r: (wsd(r.lr, total), None),
        "wsd-mid": lambda r: (wsd(math.sqrt(r.lr * r.one_cycle_peak), total), None),
    }


def _paired(task: str, final: Sequence[float], base: Sequence[float]) -> str:
    """Mean and standard error of ``final - base`` by seed: points of accuracy, or for MSE
    percent better (+) or worse (-) than the mean of ``base``."""
    if S.higher(task):
        diff = [100 * (a - b) for a, b in zip(final, base, strict=True)]
        unit = " pt"
    else:
        ref = statistics.fmean(base)
        diff = [100 * (b - a) / ref for a, b in zip(final, base, strict=True)]
        unit = "%"
    se = statistics.stdev(diff) / math.sqrt(len(diff))
    return f"{statistics.fmean(diff):+.2f} ± {se:.2f}{unit}"


def run(task: str, jobs: int, shapes: Sequence[str] = ("plan", "wsd-lr", "wsd-mid")) -> list[str]:
    epochs = S.budget(task, S.SEEDS, jobs, False)
    ipe = load_task(task).steps_per_epoch
    grid_peak = S.grid_summary(task, S.grid_runs(task, S.SEEDS, jobs, False))["peak"]
    reads = [r for r, _ in S.readings(task, S.SEEDS, jobs)]
    split = "fit" if task in S.FIT_TASKS else "held out"
    fixed = [r["scores"][-1] for r in S.plan_runs(task, S.SEEDS, jobs, False, "fixed")[0]]
    rows = []
    base: list[float] = []
    for name, make in _variants(epochs * ipe, ipe, epochs).items():
        if name not in shapes:
            continue
        specs = [(*make(r), epochs, s, None) for r, s in zip(reads, S.SEEDS, strict=True)]
        runs = S.train_many(task, specs, jobs, name)
        final = [r["scores"][-1] for r in runs]
        mean, std, n_collapsed = S._stats(task, runs, grid_peak)
        if not base:
            base = final
        k = 100 if S.higher(task) else 1
        diff = [k * (a - b) for a, b in zip(final, base, strict=True)]
        se = statistics.stdev(diff) / math.sqrt(len(diff)) if name != "plan" else 0.0
        rows.append(
            f"| {task} | {split} | {name} | {S.fmt(task, mean)} ± {S.fmt(task, std)} | "
            f"{n_collapsed}/{len(runs)} | {statistics.fmean(diff):+.3g} ± {se:.2g} | "
            f"{_paired(task, final, fixed)} |"
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--tasks", nargs="*", default=list(SUITE), choices=list(SUITE))
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument(
        "--shapes", nargs="*", default=["wsd-lr", "wsd-mid"], choices=["wsd-lr", "wsd-mid"],
        help="the shapes besides the plan, which is always run (the paired base)",
    )  # fmt: skip
    args = p.parse_args(argv)
    print(
        "| task | split | shape | final | collapsed | minus the plan (paired) | minus the "
        "fixed `result.lr` (paired) |"
    )
    print("|:--|:--|:--|--:|--:|--:|--:|")
    for task in args.tasks:
        print("\n".join(run(task, args.jobs, ["plan", *args.shapes])), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
