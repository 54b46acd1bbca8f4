"""Time to accuracy: the CLR paper's Table 1 in miniature, against an exhaustive fixed-LR grid.

MNIST-1D (4000 train / 1000 test, generated offline) and its small 1-D CNN
(:mod:`clr_torch.demo.tasks`), SGD with momentum 0.9, batch 128 (32 iterations an
epoch), one torch thread.

* **Reference**: every rate of a fixed-LR grid (``_common.GRID``: 0.003 ... 0.3)
  on every seed. The best rate is the one whose *mean* test-accuracy curve
  peaks highest; the target is that peak, and the reference time is the
  iterations until that mean curve first comes within 0.5 points of it.
* **Automatic choice**: on each seed, our range test (:func:`clr_torch.range_test`,
  exponential sweep 1e-4 -> 10, 200 steps, accuracy on held-out batches carved
  from the training set) read by clr_core, then the hand-off:
  ``result.lr`` as a fixed rate, ``to_triangular`` / ``to_triangular2`` /
  ``to_exp_range`` fitted to the budget (momentum held at 0.9) and
  ``to_one_cycle`` (momentum cycled 0.95 -> 0.85 -> 0.95), all with the hand-off's
  defaults. The range test's own optimizer steps are added to each policy's
  iterations to the target.

Reported per policy: iterations to the target (mean curve within 0.5 points),
speed-up against the best fixed rate, final test accuracy (mean ± std over
seeds), the peak of the mean curve, and the number of collapsed runs (final
accuracy < 50% or a non-finite loss).

Every run is cached in ``/tmp/clr_bench/runs.json`` (``$CLR_BENCH_CACHE``), so an
interrupted run resumes, and finder_quality reuses the same runs. About 45
minutes of one core with the defaults.

Run::

    PYTHONPATH=. python benchmarks/time_to_accuracy.py            # 10 seeds
    PYTHONPATH=. python benchmarks/time_to_accuracy.py --quick    # sanity, ~2 min
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _common as c

from clr_core import Constant, OneCycle, Schedule
from clr_core.rangetest import DEFAULT_EPOCHS_PER_HALF_CYCLE, ONE_CYCLE_DIV, combine

POLICIES = ("fixed (ours)", "triangular", "triangular2", "exp_range", "1cycle")


@dataclass(frozen=True)
class Variant:
    """One policy as the hand-off configures it, trained for ``epochs``.

    The defaults are the hand-off's own (``result.to_schedule``); the other fields
    describe the alternatives tried as evidence for its defaults: ``peak`` names the
    reading used as the top of the cycle (``"default"``: the hand-off's own
    choice, ``max_lr`` for the cyclic policies and ``one_cycle_peak`` for 1cycle;
    ``"max_lr"``, or a key of
    ``result.suggestions`` such as ``"minimum"``), ``div`` is 1cycle's
    ``div_factor``, ``half`` the epochs per half cycle, and ``hand`` a hand-picked
    1cycle peak (no range test: its iterations are not added), ``sweeps`` how many
    range tests (other seeds) ``combine()`` merges into the reading (their
    iterations all count).
    """

    name: str
    policy: str
    epochs: int
    peak: str = "default"
    div: float = ONE_CYCLE_DIV
    half: float = DEFAULT_EPOCHS_PER_HALF_CYCLE
    hand: float | None = None
    scale: float = 1.0
    sweeps: int = 1


#: Alternatives to the hand-off's defaults (``--explore``), 30 epochs unless named.
EXPLORE = (
    Variant("1cycle, peak max_lr, 50 ep", "1cycle", 50, peak="max_lr"),
    Variant("1cycle, peak max_lr", "1cycle", 30, peak="max_lr"),
    Variant("1cycle, peak max_lr, div 25", "1cycle", 30, peak="max_lr", div=25.0),
    Variant("1cycle, peak minimum", "1cycle", 30, peak="minimum"),
    Variant("1cycle, peak minimum, div 25", "1cycle", 30, peak="minimum", div=25.0),
    Variant("1cycle, peak metric_peak", "1cycle", 30, peak="metric_peak"),
    Variant("triangular, top minimum", "triangular", 30, peak="minimum"),
    Variant("triangular2, top minimum", "triangular2", 30, peak="minimum"),
    Variant("triangular2, 2-ep half cycles", "triangular2", 30, half=2.0),
    Variant("1cycle (default peak), div 25", "1cycle", 30, div=25.0),
    Variant("1cycle, combine() of 3 sweeps", "1cycle", 30, sweeps=3),
    Variant("1cycle, combine() of 3 sweeps, div 25", "1cycle", 30, div=25.0, sweeps=3),
    Variant("1cycle, peak 2x max_lr", "1cycle", 30, peak="max_lr", scale=2.0),
    Variant("1cycle, peak 2x max_lr, div 25", "1cycle", 30, peak="max_lr", div=25.0, scale=2.0),
    Variant(
        "1cycle, peak 2x max_lr, div 25, 20 ep", "1cycle", 20, peak="max_lr", div=25.0, scale=2.0
    ),
    Variant("hand-tuned 1cycle 0.25, div 25", "1cycle", 30, div=25.0, hand=0.25),
    Variant("hand-tuned 1cycle 0.25, div 10", "1cycle", 30, hand=0.25),
    Variant("hand-tuned 1cycle 0.25, div 25, 20 ep", "1cycle", 20, div=25.0, hand=0.25),
)


def plan(result: Any, variant: Variant, ipe: int) -> tuple[Schedule, Schedule | None]:
    """The rate (and momentum) schedule the hand-off gives for ``variant``."""
    e = variant.epochs
    if variant.hand is not None:
        one = OneCycle(variant.hand, total_steps=e * ipe, div_factor=variant.div)
        return one, one.momentum(*c.ONE_CYCLE_MOMENTUM)
    if variant.policy == "fixed (ours)":
        return Constant(result.lr), None
    top = None  # "default": the hand-off's own choice
    if variant.peak != "default":
        top = result.max_lr if variant.peak == "max_lr" else result.suggestions[variant.peak]
        top *= variant.scale
    if variant.policy == "1cycle":
        one = result.to_one_cycle(ipe, e, peak=top, div_factor=variant.div)
        return one, one.momentum(*c.ONE_CYCLE_MOMENTUM)
    if top is not None:
        result = dataclasses.replace(result, max_lr=top)
    return result.to_schedule(
        variant.policy, ipe, epochs=e, epochs_per_half_cycle=variant.half
    ), None


def summarise(
    runs: list[dict[str, Any]], target: float, ipe: int, extra_iterations: int = 0
) -> dict[str, Any]:
    """Mean-curve figures of one policy's runs."""
    curve = c.mean_curve(runs)
    finals = [r["acc"][-1] for r in runs]
    hit = c.reach(curve, target, ipe)
    return {
        "epochs": len(curve),
        "iterations": len(curve) * ipe,
        "reach": hit,
        "reach_total": None if hit is None else hit + extra_iterations,
        "final_mean": statistics.fmean(finals),
        "final_std": statistics.stdev(finals) if len(finals) > 1 else 0.0,
        "peak_mean": max(curve),
        "collapsed": sum(c.collapsed(r) for r in runs),
        "finals": finals,
        "mean_curve": curve,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=10, help="training seeds 0..N-1 (default 10)")
    p.add_argument("--epochs", type=int, default=30, help="budget of the cyclic policies")
    p.add_argument("--fixed-epochs", type=int, default=100, help="epochs of fixed (ours)")
    p.add_argument(
        "--one-cycle-epochs",
        type=int,
        nargs="*",
        default=[15, 20],
        help="extra, shorter 1cycle budgets (evidence for the hand-off default)",
    )
    p.add_argument(
        "--explore",
        action="store_true",
        help="also train the alternatives to the hand-off's defaults (EXPLORE)",
    )
    p.add_argument("--quick", action="store_true", help="2 seeds, tiny grid, 6 epochs")
    p.add_argument("--out", type=Path, default=c.CACHE_DIR / "time_to_accuracy.json")
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.epochs, args.fixed_epochs, args.one_cycle_epochs = 2, 6, 6, [4]
    task = c.setup()
    ipe = task.steps_per_epoch
    cache = c.Cache("runs" if not args.quick else "runs_quick")
    seeds = list(range(args.seeds))

    print(f"# time_to_accuracy  {datetime.date.today()}  {c.machine()}")
    print(f"seeds {seeds}, {ipe} iterations an epoch, cache {cache.path}")

    # (1) the automatic choice, per seed (first: the longest part is the grid)
    tests = [c.our_range_test(cache, task, s) for s in seeds]
    rt_iters = [it for _, it in tests]
    rt_mean = round(statistics.fmean(rt_iters))
    variants = [Variant("fixed (ours)", "fixed (ours)", args.fixed_epochs)]
    variants += [Variant(pol, pol, args.epochs) for pol in POLICIES[1:]]
    variants += [Variant(f"1cycle {e} ep", "1cycle", e) for e in args.one_cycle_epochs]
    if args.explore:
        variants += [
            dataclasses.replace(v, epochs=min(v.epochs, args.epochs)) if args.quick else v
            for v in EXPLORE
        ]
    hand = {v.name for v in variants if v.hand is not None}
    policy_runs: dict[str, list[dict[str, Any]]] = {}
    for v in variants:
        policy_runs[v.name] = []
        for s, (result, _) in zip(seeds, tests, strict=True):
            if v.sweeps > 1:  # this seed's sweep and v.sweeps - 1 more on other seeds
                more = [
                    c.our_range_test(cache, task, s + j * len(seeds))[0] for j in range(1, v.sweeps)
                ]
                result = combine([result, *more])
            lr, mom = plan(result, v, ipe)
            policy_runs[v.name].append(
                c.run_training(
                    cache,
                    task,
                    lr,
                    epochs=v.epochs,
                    seed=s,
                    momentum=mom,
                    label=f"{v.name} ({v.epochs} ep)",
                )
            )

    # (2) the grid
    grid = c.grid_epochs(args.quick)
    grid_runs = c.run_grid(cache, task, grid, seeds)
    best_lr, target = c.grid_best(grid_runs)
    ref = summarise(grid_runs[best_lr], target, ipe)

    # (3) the tables
    rows = {f"fixed {lr:g}": summarise(r, target, ipe) for lr, r in grid_runs.items()}
    sweeps = {v.name: v.sweeps for v in variants}
    auto = {
        name: summarise(r, target, ipe, 0 if name in hand else sweeps[name] * rt_mean)
        for name, r in policy_runs.items()
    }
    ref_reach = ref["reach"]

    def speedup(row: dict[str, Any]) -> float | None:
        tot = row["reach_total"]
        return None if tot is None or ref_reach is None else ref_reach / tot

    print(
        f"\nGrid ({len(seeds)} seeds). Target: the best mean curve's peak, "
        f"{100 * target:.2f}% (lr {best_lr:g}); reached = within 0.5 points.\n"
    )
    print(
        "| fixed lr | epochs | final acc. (%) | peak of mean (%) | iterations to target "
        "| collapsed |"
    )
    print("|--:|--:|--:|--:|--:|--:|")
    for name, row in rows.items():
        print(
            f"| {name[6:]} | {row['epochs']} | {c.pm(row['finals'])} | "
            f"{100 * row['peak_mean']:.2f} | {row['reach'] or 'not reached'} | "
            f"{row['collapsed']}/{len(seeds)} |"
        )
    lrs = [r.lr for r, _ in tests]
    maxs = [r.max_lr for r, _ in tests]
    bases = [r.base_lr for r, _ in tests]
    print(
        f"\nOur range test per seed: {min(rt_iters)}-{max(rt_iters)} iterations "
        f"(mean {rt_mean}, counted against every policy below); base_lr "
        f"{min(bases):.3g}-{max(bases):.3g}, max_lr {min(maxs):.3g}-{max(maxs):.3g}, "
        f"lr {min(lrs):.3g}-{max(lrs):.3g}.\n"
    )
    print(
        f"| policy | epochs | iterations to {100 * target:.2f}% (+{rt_mean} range test) "
        "| speed-up | final acc. (%) | peak of mean (%) | collapsed |"
    )
    print("|:--|--:|--:|--:|--:|--:|--:|")
    print(
        f"| best fixed ({best_lr:g}) | {ref['epochs']} | {ref_reach} | 1.00x | "
        f"{c.pm(ref['finals'])} | {100 * ref['peak_mean']:.2f} | {ref['collapsed']}/{len(seeds)} |"
    )
    for name, row in auto.items():
        sp = speedup(row)
        extra = 0 if name in hand else sweeps[name] * rt_mean
        hit = "not reached" if row["reach"] is None else f"{row['reach']} + {extra} = "
        hit += "" if row["reach"] is None else str(row["reach_total"])
        print(
            f"| {name} | {row['epochs']} | {hit} | "
            + ("–" if sp is None else f"{sp:.2f}x")
            + f" | {c.pm(row['finals'])} | {100 * row['peak_mean']:.2f} | "
            f"{row['collapsed']}/{len(seeds)} |"
        )
    data = {
        "date": str(datetime.date.today()),
        "machine": c.machine(),
        "seeds": seeds,
        "iterations_per_epoch": ipe,
        "best_fixed_lr": best_lr,
        "target": target,
        "reference_reach": ref_reach,
        "range_test": {
            "iterations": rt_iters,
            "base_lr": bases,
            "max_lr": maxs,
            "lr": lrs,
            "confidence": [r.confidence for r, _ in tests],
        },
        "grid": rows,
        "policies": {k: {**v, "speedup": speedup(v)} for k, v in auto.items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1))
    print(f"\nwritten: {args.out}")
    return data


if __name__ == "__main__":
    main()
