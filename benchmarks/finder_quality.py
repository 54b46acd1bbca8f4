"""Finder quality: our range-test suggestions against torch-lr-finder's, trained and judged.

Same task, model, optimizer and seeds as time_to_accuracy (MNIST-1D CNN, SGD
momentum 0.9, batch 128). On every seed, from a fresh model:

* **ours**: :func:`clr_torch.range_test` (exponential sweep 1e-4 -> 10, 200
  steps, accuracy on held-out batches carved from the training set), read by
  clr_core: ``result.lr`` trained as a fixed rate, and the bounds
  ``base_lr``/``max_lr`` trained through the hand-off (triangular, triangular2,
  exp_range, 1cycle; 30 epochs);
* **torch-lr-finder**: ``LRFinder.range_test`` over the same rates (1e-4 -> 10,
  its default 100 iterations, smoothing and stop rule) and the steepest-gradient
  suggestion of ``LRFinder.plot`` (its defaults ``skip_start=10, skip_end=5``),
  trained as a fixed rate.

Fixed rates train 100 epochs, as the grid's best rate. Each is compared with the
grid's best fixed rate (``_common.GRID``): gap of the final accuracy (mean over
seeds) and of the peak of the mean curve, and the number of collapsed runs
(final accuracy < 50% or a non-finite loss). The spread of our ``max_lr``
across seeds (largest / smallest) is reported for single sweeps and for
:func:`clr_core.rangetest.combine` of ``--combine`` sweeps (disjoint seed groups).

Runs are shared with time_to_accuracy through the cache in ``/tmp/clr_bench``;
after time_to_accuracy this adds about 5 minutes of one core.

Run::

    PYTHONPATH=. python benchmarks/finder_quality.py
    PYTHONPATH=. python benchmarks/finder_quality.py --quick
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import statistics
from pathlib import Path
from typing import Any

import _common as c
from time_to_accuracy import Variant, plan

from clr_core.rangetest import combine


def judge(runs: list[dict[str, Any]], ref_final: float, ref_peak: float) -> dict[str, Any]:
    """Final accuracy, peak of the mean curve, gaps to the grid's best, collapses."""
    finals = [r["acc"][-1] for r in runs]
    peak = max(c.mean_curve(runs))
    return {
        "final_mean": statistics.fmean(finals),
        "final_std": statistics.stdev(finals) if len(finals) > 1 else 0.0,
        "worst_final": min(finals),
        "peak_mean": peak,
        "gap_final": statistics.fmean(finals) - ref_final,
        "gap_peak": peak - ref_peak,
        "collapsed": sum(c.collapsed(r) for r in runs),
        "finals": finals,
    }


def spread(values: list[float]) -> float:
    """Largest over smallest."""
    return max(values) / min(values)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default 10)")
    p.add_argument("--epochs", type=int, default=100, help="epochs of the fixed rates")
    p.add_argument("--cycle-epochs", type=int, default=30, help="budget of the bounds' policies")
    p.add_argument("--combine", type=int, default=3, help="sweeps per combined reading")
    p.add_argument("--quick", action="store_true", help="2 seeds, 6 epochs, tiny grid")
    p.add_argument("--out", type=Path, default=c.CACHE_DIR / "finder_quality.json")
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.epochs, args.cycle_epochs, args.combine = 2, 6, 6, 2
    task = c.setup()
    ipe = task.steps_per_epoch
    cache = c.Cache("runs" if not args.quick else "runs_quick")
    seeds = list(range(args.seeds))
    print(f"# finder_quality  {datetime.date.today()}  {c.machine()}")

    ours = [c.our_range_test(cache, task, s)[0] for s in seeds]
    theirs = [c.finder_suggestion(cache, task, s)[0] for s in seeds]

    grid = c.grid_epochs(args.quick)
    grid_runs = c.run_grid(cache, task, grid, seeds)
    best_lr, ref_peak = c.grid_best(grid_runs)
    ref_final = statistics.fmean(r["acc"][-1] for r in grid_runs[best_lr])

    methods: dict[str, list[dict[str, Any]]] = {}
    methods["ours: result.lr (fixed)"] = [
        c.run_training(
            cache,
            task,
            plan(r, Variant("f", "fixed (ours)", args.epochs), ipe)[0],
            epochs=args.epochs,
            seed=s,
            label="fixed (ours)",
        )
        for s, r in zip(seeds, ours, strict=True)
    ]
    methods["torch-lr-finder: steepest (fixed)"] = [
        c.run_training(cache, task, lr, epochs=args.epochs, seed=s, label="torch-lr-finder")
        for s, lr in zip(seeds, theirs, strict=True)
    ]
    for pol in ("triangular", "triangular2", "exp_range", "1cycle"):
        v = Variant(pol, pol, args.cycle_epochs)
        runs = []
        for s, r in zip(seeds, ours, strict=True):
            lr, mom = plan(r, v, ipe)
            runs.append(
                c.run_training(cache, task, lr, epochs=v.epochs, seed=s, momentum=mom, label=pol)
            )
        methods[f"ours: bounds, {pol} ({args.cycle_epochs} ep)"] = runs
    rows = {k: judge(v, ref_final, ref_peak) for k, v in methods.items()}

    # spread of max_lr: single sweeps, and combine() of disjoint groups of sweeps
    k = args.combine
    extra = [c.our_range_test(cache, task, s)[0] for s in range(len(seeds), k * len(seeds))]
    pool = ours + extra
    combined = [combine(pool[i * k : (i + 1) * k]) for i in range(len(seeds))]

    def rng(vals: list[float]) -> str:
        return f"{min(vals):.3g}-{max(vals):.3g}"

    print(
        f"\nGrid best: fixed lr {best_lr:g}, {grid[best_lr]} epochs: final "
        f"{100 * ref_final:.2f}% (mean of {len(seeds)} seeds), peak of mean "
        f"{100 * ref_peak:.2f}%.\n"
    )
    print("Suggestions per seed (seed: ours lr / max_lr | torch-lr-finder):")
    for s, r, t in zip(seeds, ours, theirs, strict=True):
        print(f"  {s}: {r.lr:.3g} / {r.max_lr:.3g} | {t:.3g}")
    print(
        "\n| method | suggested lr | final acc. (%) | worst seed (%) | gap final (pts) "
        "| gap peak (pts) | collapsed |"
    )
    print("|:--|--:|--:|--:|--:|--:|--:|")
    bounds = rng([r.base_lr for r in ours]) + " to " + rng([r.max_lr for r in ours])
    sugg = {
        "ours: result.lr (fixed)": rng([r.lr for r in ours]),
        "torch-lr-finder: steepest (fixed)": rng(theirs),
    }
    for name, row in rows.items():
        print(
            f"| {name} | {sugg.get(name, bounds)} "
            f"| {c.pm(row['finals'])} | {100 * row['worst_final']:.2f} | "
            f"{100 * row['gap_final']:+.2f} | {100 * row['gap_peak']:+.2f} | "
            f"{row['collapsed']}/{len(seeds)} |"
        )
    single = [r.max_lr for r in ours]
    comb = [r.max_lr for r in combined]
    print(
        f"\nSpread of our max_lr over {len(seeds)} seeds (largest / smallest): single sweep "
        f"{spread(single):.2f}x ({rng(single)}); combine() of {k} sweeps "
        f"{spread(comb):.2f}x ({rng(comb)}). result.lr: single {spread([r.lr for r in ours]):.2f}x,"
        f" combined {spread([r.lr for r in combined]):.2f}x. torch-lr-finder: "
        f"{spread(theirs):.2f}x ({rng(theirs)})."
    )
    geo = math.exp(statistics.fmean(math.log(v) for v in single))
    print(f"(geometric mean of single-sweep max_lr: {geo:.3g})")
    data = {
        "date": str(datetime.date.today()),
        "machine": c.machine(),
        "seeds": seeds,
        "grid_best_lr": best_lr,
        "grid_best_final": ref_final,
        "grid_best_peak": ref_peak,
        "ours": [{"lr": r.lr, "base_lr": r.base_lr, "max_lr": r.max_lr} for r in ours],
        "torch_lr_finder": theirs,
        "combined_max_lr": comb,
        "combined_lr": [r.lr for r in combined],
        "methods": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1))
    print(f"\nwritten: {args.out}")
    return data


if __name__ == "__main__":
    main()
