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
* ``wsd-mid`` - the same at the geometric middle of ``result.lr`` and ``one_cycle_peak``;
* ``tri2-bounds`` - the paper's triangular2 between the reading's CLR bounds, as the hand-off
  gives it (``result.to_schedule("triangular2", ipe, epochs=budget)``: whole cycles of about
  4 epochs a half cycle, the run ending at ``base_lr``); momentum left alone, as in the paper;
* ``exp-bounds`` - the paper's exp_range between the bounds, as the hand-off gives it (the
  amplitude falling to 10% over the budget);
* ``tri2-peak`` - triangular2 with the same cycles, from ``min(base_lr, peak / 25)`` up to the
  plan's 1cycle peak (a cyclic hedge at the plan's own rate);
* ``open`` - the plan ``recommend`` gives without a budget (``epochs=None``: the paper's
  open-ended triangular cycle between the bounds, half cycles of 4 epochs, momentum cycled),
  stopped at the budget wherever the cycle is;
* ``lin``, ``lin-short``, ``cos-short``, ``paper`` - the plan's 1cycle at its own peak in
  another shape (:data:`ONE_CYCLE_SHAPES`): linear instead of cosine phases, a 10% warm-up
  instead of 30%, or the paper's three phases (linear, up 45%, down 45% to peak/25, the last
  10% to peak/2.5e5); the momentum cycle follows the same phases (left alone where the plan
  leaves it alone);
* ``fixed-mom`` - the plan's rates with its momentum cycle taken out (``plan.momentum``
  ``None``): the optimizer keeps its own momentum (0.9, Adam's beta1 0.9, or none).

The cyclic shapes apply where the plan is a 1cycle; on a reading without confidence they are
the plan itself (its constant), so those runs are the plan's.

    python benchmarks/plan_shapes.py [--tasks ...] [--jobs N] [--shapes wsd-lr ...]

The last column pairs each shape with ``result.lr`` held fixed (``suite.py plans``); on a
reading without confidence the plan itself is that constant.
"""

from __future__ import annotations

import argparse
import dataclasses
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

from clr_core import Constant, Join, Linear, Schedule, Triangular2
from clr_core.rangetest import RangeTestResult
from clr_core.rangetest._handoff import half_cycle
from clr_core.rangetest._recommend import PLAN_DIV, PLAN_MOMENTUM
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


#: The 1cycle shapes: ``(pct_start, anneal_strategy, three_phase)``; the plan's own is
#: ``(0.3, "cos", False)``.
ONE_CYCLE_SHAPES = {
    "lin": (0.3, "linear", False),
    "lin-short": (0.1, "linear", False),
    "cos-short": (0.1, "cos", False),
    "paper": (0.45, "linear", True),
}


def _lr_and_momentum(plan: Any) -> tuple[Schedule, Schedule | None]:
    return plan.lr, plan.momentum


def _variants(total: int, ipe: int, epochs: int) -> dict[str, Callable[[RangeTestResult], Any]]:
    def plan(r: RangeTestResult) -> tuple[Schedule, Schedule | None]:
        return _lr_and_momentum(r.recommend(ipe, epochs))

    step, _ = half_cycle(ipe, epochs)

    def cyclic(make: Callable[[RangeTestResult, float], Schedule]) -> Callable[..., Any]:
        def shape(r: RangeTestResult) -> tuple[Schedule, Schedule | None]:
            p = r.recommend(ipe, epochs)
            if p.policy != "one_cycle":
                return p.lr, p.momentum
            return make(r, p.lr.bounds()[1]), None

        return shape

    def reshaped(pct: float, anneal: str, three: bool) -> Callable[..., Any]:
        def shape(r: RangeTestResult) -> tuple[Schedule, Schedule | None]:
            p = r.recommend(ipe, epochs)
            if p.policy != "one_cycle":
                return p.lr, p.momentum
            one = dataclasses.replace(
                p.lr, pct_start=pct, anneal_strategy=anneal, three_phase=three
            )
            return one, None if p.momentum is None else one.momentum(*PLAN_MOMENTUM)

        return shape

    return {
        "plan": plan,
        "wsd-lr": lambda r: (wsd(r.lr, total), None),
        "wsd-mid": lambda r: (wsd(math.sqrt(r.lr * r.one_cycle_peak), total), None),
        "tri2-bounds": cyclic(lambda r, _: r.to_schedule("triangular2", ipe, epochs=epochs)),
        "exp-bounds": cyclic(lambda r, _: r.to_schedule("exp_range", ipe, epochs=epochs)),
        "tri2-peak": cyclic(
            lambda r, peak: Triangular2(min(r.base_lr, peak / PLAN_DIV), peak, step)
        ),
        "open": lambda r: _lr_and_momentum(r.recommend(ipe)),
        **{name: reshaped(*shape) for name, shape in ONE_CYCLE_SHAPES.items()},
        "fixed-mom": lambda r: (r.recommend(ipe, epochs).lr, None),
    }


#: The shapes this script can train besides the plan.
SHAPES = (
    *("wsd-lr", "wsd-mid", "tri2-bounds", "exp-bounds", "tri2-peak", "open"),
    *ONE_CYCLE_SHAPES,
    "fixed-mom",
)


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


#: Per task and shape: the mean final score, the paired mean difference to the plan and
#: the gap to the reference (filled by :func:`run`, read by :func:`decide`).
RESULTS: dict[str, dict[str, tuple[float, float, float]]] = {}


def run(task: str, jobs: int, shapes: Sequence[str] = ("plan", "wsd-lr", "wsd-mid")) -> list[str]:
    epochs = S.budget(task, S.SEEDS, jobs, False)
    ref = S.reference(task, S.SEEDS, jobs, False)
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
        gap = 100 * (mean - ref) if S.higher(task) else 100 * (ref - mean) / ref
        RESULTS.setdefault(task, {})[name] = (mean, statistics.fmean(diff), gap)
        rows.append(
            f"| {task} | {split} | {name} | {S.fmt(task, mean)} ± {S.fmt(task, std)} | "
            f"{n_collapsed}/{len(runs)} | {statistics.fmean(diff):+.3g} ± {se:.2g} | "
            f"{_paired(task, final, fixed)} | {S._gap(task, mean, ref)} |"
        )
    return rows


def decide(shapes: Sequence[str]) -> list[str]:
    """The decision lines (docs/benchmarks.md): per shape, the mean paired difference to the
    plan over the fit tasks (points; a shape replaces 1cycle only if it is positive), the
    held-out tasks where it is worse than the plan by more than 0.3 points (2% of MSE), the
    held-out classification mean against the plan's, and how many tasks end within 0.2
    points (2% of MSE) of the reference."""
    out = []
    fit = [t for t in RESULTS if t in S.FIT_TASKS]
    held = [t for t in RESULTS if t not in S.FIT_TASKS]
    for name in shapes:
        if name == "plan":
            continue
        d = {t: RESULTS[t][name][1] for t in RESULTS}
        rel = {t: d[t] if S.higher(t) else -100 * d[t] / RESULTS[t]["plan"][0] for t in d}
        bad = [t for t in held if (rel[t] < -0.3 if S.higher(t) else rel[t] < -2.0)]
        cls = [t for t in held if S.higher(t)]
        fit_mean = statistics.fmean(d[t] for t in fit) if fit else math.nan
        cls_mean = statistics.fmean(d[t] for t in cls) if cls else math.nan
        met = sum(RESULTS[t][name][2] >= (-0.2 if S.higher(t) else -2.0) for t in RESULTS)
        met0 = sum(RESULTS[t]["plan"][2] >= (-0.2 if S.higher(t) else -2.0) for t in RESULTS)
        ok = fit_mean > 0 and not bad and cls_mean >= 0
        out.append(
            f"{name}: fit tasks {fit_mean:+.3f} against the plan; held out worse than the bar on "
            f"{bad or 'none'}; held-out classification mean {cls_mean:+.3f}; within the 0.2 "
            f"target on {met} of {len(RESULTS)} (the plan {met0}) -> "
            + ("replaces 1cycle" if ok else "does not ship")
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--tasks", nargs="*", default=list(SUITE), choices=list(SUITE))
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument(
        "--shapes", nargs="*", default=["wsd-lr", "wsd-mid"], choices=list(SHAPES),
        help="the shapes besides the plan, which is always run (the paired base)",
    )  # fmt: skip
    args = p.parse_args(argv)
    print(
        "| task | split | shape | final | collapsed | minus the plan (paired) | minus the "
        "fixed `result.lr` (paired) | gap to the reference |"
    )
    print("|:--|:--|:--|--:|--:|--:|--:|--:|")
    for task in args.tasks:
        print("\n".join(run(task, args.jobs, ["plan", *args.shapes])), flush=True)
    print("\n".join(decide(args.shapes)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
