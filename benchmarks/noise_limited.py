"""The noise-limited rule's lab notebook (docs/benchmarks.md, "noise-limited readings").

Everything here reuses the suite's cache (``benchmarks/suite.py``: grids, peak scans,
range tests), training only what is missing:

* ``listing``: each task's loss noise / span across its 10 seeds;
* ``screen``: the rule's variants screened by interpolating each seed's own peak-scan
  and grid outcome at its own reading (no training);
* ``shapes``: other schedule shapes than the plan's 1cycle at a task's peaks, and the
  plan with its momentum left alone (trains, cached).

    python benchmarks/noise_limited.py listing
    python benchmarks/noise_limited.py screen
    python benchmarks/noise_limited.py shapes --tasks noisy-mlp-sgd
"""

from __future__ import annotations

import argparse
import bisect
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

from clr_core import CosineRestarts, OneCycle, warmup
from clr_core.rangetest import RangeTestResult
from clr_torch.demo.tasks import SUITE, load_task

Rule = Callable[[RangeTestResult], float]


def _rel(r: RangeTestResult) -> float:
    return float(r.diagnostics["loss_noise"] / r.diagnostics["loss_span"])


def _edge(r: RangeTestResult) -> float:
    return float(r.suggestions["edge"])


def listing() -> None:
    for task in SUITE:
        split = "fit" if task in S.FIT_TASKS else "held out"
        rel = sorted(_rel(r) for r, _ in S.readings(task, S.SEEDS, 1))
        print(f"| {task} | {split} | " + " ".join(f"{v:.3f}" for v in rel) + " |")


def _interp(table: dict[float, list[Any]], seed: int, rate: float, epoch: int) -> float:
    """A seed's score at ``rate``, interpolated on the log-rate axis between grid rates."""
    rates = sorted(table)
    xs = [math.log(q) for q in rates]
    ys = [table[q][seed]["scores"][epoch] for q in rates]
    x = math.log(rate)
    if x <= xs[0]:
        return ys[0]
    if x >= xs[-1]:
        return ys[-1] if x <= xs[-1] + 0.2 else math.nan
    i = bisect.bisect(xs, x)
    w = (x - xs[i - 1]) / (xs[i] - xs[i - 1])
    return ys[i - 1] * (1 - w) + ys[i] * w


def _blend(rel: float, clean: float, noisy: float, band: tuple[float, float]) -> float:
    a, b = band
    w = 0.0 if rel <= a else 1.0 if rel >= b else math.log(rel / a) / math.log(b / a)
    return math.exp((1 - w) * math.log(clean) + w * math.log(noisy))


def _screen_row(tasks: Sequence[str], peak: Rule, fixed: Rule) -> list[str]:
    out = []
    for task in tasks:
        scan = S.peak_scan(task, S.SEEDS, 1, False)
        grid = S.grid_runs(task, S.SEEDS, 1, False)
        epochs = S.budget(task, S.SEEDS, 1, False)
        reads = [r for r, _ in S.readings(task, S.SEEDS, 1)]
        k = 100 if S.higher(task) else 1
        worst = min if S.higher(task) else max
        for table, rule, ep in ((scan, peak, -1), (grid, fixed, epochs - 1)):
            v = [k * _interp(table, i, rule(r), ep) for i, r in enumerate(reads)]
            out.append(f"{statistics.fmean(v):.4g} ({worst(v):.4g})")
    return out


def screen() -> None:
    tasks = list(SUITE)
    print("| variant | " + " | ".join(f"{t} plan | {t} fixed" for t in tasks) + " |")

    def before_fixed(r: RangeTestResult) -> float:
        return min(0.4 * _edge(r), r.max_lr / 1.25)

    rows: list[tuple[str, Rule, Rule]] = [
        ("before (no rule)", lambda r: 0.8 * _edge(r), before_fixed)
    ]
    for band in ((0.05, 0.07), (0.05, 0.09), (0.055, 0.07), (0.06, 0.07), (0.06, 0.06001)):
        for c_lo, l_lo in ((0.11, 0.035), (0.05, 0.035), (0.15, 0.035), (0.11, 0.025)):

            def peak(r: RangeTestResult, band=band, c_lo=c_lo) -> float:
                return _blend(_rel(r), 0.8, c_lo, band) * _edge(r)

            def fixed(r: RangeTestResult, band=band, l_lo=l_lo) -> float:
                return min(_blend(_rel(r), 0.4, l_lo, band) * _edge(r), r.max_lr / 1.25)

            rows.append((f"band {band}, c_lo {c_lo}, l_lo {l_lo}", peak, fixed))
    for name, peak_rule, fixed_rule in rows:
        print(f"| {name} | " + " | ".join(_screen_row(tasks, peak_rule, fixed_rule)) + " |")


def shapes(task: str, jobs: int) -> None:
    epochs = S.budget(task, S.SEEDS, jobs, False)
    ipe = load_task(task).steps_per_epoch
    total = epochs * ipe
    k = 100 if S.higher(task) else 1

    def cosine(p: float) -> Any:
        w = max(1, round(0.05 * total))
        return warmup(CosineRestarts(p, T_0=total - w), w, start_lr=p / 25)

    variants: dict[str, Callable[[float], tuple[Any, Any]]] = {
        "1cycle, momentum cycled (the plan's shape)": lambda p: S.one_cycle(p, total),
        "1cycle, momentum left alone": lambda p: (
            OneCycle(p, total_steps=total, pct_start=0.3, div_factor=25.0),
            None,
        ),
        "5% warm-up + cosine, momentum left alone": lambda p: (cosine(p), None),
    }
    rates = [p for p in S.GRIDS[task] if p >= S.grid_summary(task, S.grid_runs(
        task, S.SEEDS, jobs, False))["lr"]][:8]  # fmt: skip
    for name, make in variants.items():
        runs = S.train_many(task, [(*make(p), epochs, s, None) for p in rates for s in S.SEEDS],
                            jobs, name)  # fmt: skip
        n = len(S.SEEDS)
        means = [statistics.fmean(r["scores"][-1] for r in runs[i * n : (i + 1) * n])
                 for i in range(len(rates))]  # fmt: skip
        cells = [f"{p:.3g}: {k * m:.4g}" for p, m in zip(rates, means, strict=True)]
        print(f"| {task} | {name} | " + "; ".join(cells) + " |")
    plans = [r.recommend(ipe, epochs) for r, _ in S.readings(task, S.SEEDS, jobs)]
    pairs = list(zip(plans, S.SEEDS, strict=True))
    a = S.train_many(task, [(p.lr, p.momentum, epochs, s, None) for p, s in pairs], jobs, "plan")
    b = S.train_many(task, [(p.lr, None, epochs, s, None) for p, s in pairs], jobs, "no mom.")
    d = [k * (y["scores"][-1] - x["scores"][-1]) for x, y in zip(a, b, strict=True)]
    se = statistics.stdev(d) / math.sqrt(len(d))
    print(f"| {task} | the plan, momentum left alone minus cycled (paired) | "
          f"{statistics.fmean(d):+.4g} ± {se:.2g} |")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("command", choices=("listing", "screen", "shapes"))
    p.add_argument("--tasks", nargs="*", default=["noisy-mlp-sgd"], choices=list(SUITE))
    p.add_argument("--jobs", type=int, default=1)
    args = p.parse_args(argv)
    if args.command == "listing":
        listing()
    elif args.command == "screen":
        screen()
    else:
        for task in args.tasks:
            shapes(task, args.jobs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
