"""A collapse guard for the plan (docs/benchmarks.md, lab notebook: a collapse guard,
2026-12-02).

No reading taken before a run places a peak to within the width of a cliff (on
``digits-finetune-sgd`` a peak of 0.149 trained and 0.162 collapsed). A guard inside the run
can: after every epoch it compares the epoch's mean training loss ``L_e`` with the best so far
``L*`` and the first epoch's ``L_1``; it keeps a copy of the model and optimizer at every epoch
that passes, and when an epoch has lost more than :data:`LOST` of the progress made since the
first (``L_e > L* + LOST * (L_1 - L*)``) or its loss is not finite, it restores the last copy
that passed and multiplies every later rate by :data:`BACKOFF` (at most :data:`TRIES` times).
The schedule's step count runs on: the lost epoch counts against the budget. The decision is
:class:`clr_core.rangetest.CollapseGuard`'s and :class:`clr_torch.CollapseGuard` holds the
copies and applies the factor (the screens of the twelfth session ran this script's own loop,
before the adapter existed).

A second screen (``--streak 2``) fires only when two epochs in a row lose the progress (a
non-finite loss still fires at once), and restores the copy from before the first of them.
A third (``--rise 0.1``, the default of the built guard since) also asks the epoch's loss to
be more than a tenth above the best (``L_e > L* + 0.1 |L*|``): a wobble on a plateau near the
start is not a collapse.

This screen trains the suite's plans under the guard (the same seeds, data order and budget as
the unguarded runs; a run that never triggers repeats its unguarded run) and prints, per task
and candidate, the final score with and without the guard, the runs collapsed, and the runs on
which the guard fired; under a row with collapsed runs, each such seed's details::

    python benchmarks/guard.py --tasks <tasks> --candidates shipped stress --streak 2 --jobs 2

The budget and the collapse line are the first machine's grid's (``prior.REFERENCE``); with
``--reference here`` they are this machine's grid's, as in the suite's ``plans`` rows.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT / "adapters" / "torch", ROOT):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import prior as P
import suite as S

from clr_core import Schedule, from_config
from clr_torch.demo.tasks import SUITE, load_task, run_jobs, train

#: The share of the progress since the first epoch an epoch may lose before the guard fires.
LOST = 0.5
#: The factor on every later rate when it fires.
BACKOFF = 0.5
#: The most times it fires in a run.
TRIES = 3
#: Epochs in a row that must lose the progress before it fires (a non-finite loss fires at
#: once): 1 in the first screen, 2 in the second (``--streak``).
STREAKS = (1, 2)
#: The least rise above the best loss, as a share of it (``--rise``): 0 in the first three
#: screens, 0.1 in the fourth (docs/benchmarks.md: a third trigger).
RISES = (0.0, 0.1)
#: Where the budget and the grid's best come from (``--reference``): ``first``, the first
#: machine's grid (``prior.REFERENCE``, the default); ``here``, this machine's grid in the
#: cache (``suite.budget``), the budget the suite's ``plans`` rows train over here.
REFERENCES = ("first", "here")
_REFERENCE = {"which": "first"}


def reference(task: str, jobs: int) -> tuple[int, float]:
    """The budget (epochs) and the grid's best that the runs and the collapse line use."""
    if _REFERENCE["which"] == "first":
        return P.REFERENCE[task]
    g = S.grid_summary(task, S.grid_runs(task, S.SEEDS, jobs, False))
    return int(g["epoch"]), float(g["peak"])


def guarded_job(
    task_name: str,
    lr_config: dict[str, Any],
    momentum_config: dict[str, Any] | None,
    epochs: int,
    seed: int,
    streak: int = 1,
    rise: float = 0.0,
) -> dict[str, Any]:
    """One run of ``suite.train_job``'s loop (``tasks.train``: the task's optimizer, its
    seeding and data order) under the guard: scores per epoch, diverged, and the epochs at which
    the guard fired."""
    import torch

    torch.set_num_threads(1)
    rule = {"lost": LOST, "streak": streak, "backoff": BACKOFF, "tries": TRIES, "rise": rise}
    run = train(
        load_task(task_name),
        from_config(lr_config),
        epochs=epochs,
        seed=seed,
        momentum=None if momentum_config is None else from_config(momentum_config),
        record=False,
        guard=rule,
    )
    return {"scores": run.scores, "diverged": run.diverged, "fired": list(run.fired)}


def _key(
    lr: Schedule, mom: Schedule | None, epochs: int, seed: int, streak: int, rise: float = 0.0
) -> str:
    # "adapter": the runs of clr_torch.CollapseGuard (from the fourteenth session on); the
    # screens in the notebook ran the script's own loop, which on a restore also loaded the
    # copy's momentum for one step (keys without it, on the machines of those sessions)
    variant = ("adapter",) if streak == 1 else (f"k{streak}", "adapter")
    if rise:
        variant = (*variant, f"r{rise!r}")
    momentum = "m-" if mom is None else mom.to_config()
    parts = (*variant, lr.to_config(), momentum, f"e{epochs}", f"s{seed}")
    return str(S.key_of("guard", LOST, BACKOFF, TRIES, *parts))


def guarded_many(
    task: str,
    specs: Sequence[tuple[Schedule, Schedule | None, int, int, str | None]],
    jobs: int,
    streak: int = 1,
    rise: float = 0.0,
) -> list[dict[str, Any]]:
    """Every ``(lr, momentum, epochs, seed, _)`` of ``specs`` under the guard (cached). A
    longer streak can only fire later than a shorter one: where the streak-1 guard's cached
    run never fired, no epoch lost the progress, and that run is the answer for any streak.
    A ``rise`` only adds a condition: where the guard without it never fired, that run is the
    answer with it."""
    cache = S.Cache(task)
    keys = [_key(lr, mom, epochs, seed, streak, rise) for lr, mom, epochs, seed, _ in specs]
    for k, (lr, mom, epochs, seed, _) in zip(keys, specs, strict=True):
        once = cache.get(_key(lr, mom, epochs, seed, 1))
        plain = cache.get(_key(lr, mom, epochs, seed, streak))
        if rise and cache.get(k) is None and plain is not None and not plain["fired"]:
            cache.put(k, plain)
        if streak != 1 and cache.get(k) is None and once is not None and not once["fired"]:
            cache.put(k, once)
    todo = [i for i, k in enumerate(keys) if cache.get(k) is None]
    work = []
    for i in todo:
        lr, mom, epochs, seed, _ = specs[i]
        work.append(
            (
                task,
                lr.to_config(),
                None if mom is None else mom.to_config(),
                epochs,
                seed,
                streak,
                rise,
            )
        )

    def done(j: int, result: dict[str, Any]) -> None:
        cache.put(keys[todo[j]], result)

    run_jobs(guarded_job, work, jobs, on_done=done)
    return [cache.get(k) for k in keys]


#: The stress plan's peak over the shipped plan's: a plan set too high on purpose, to see the
#: guard rescue runs on tasks where no plan collapses.
STRESS = 3.0
#: The stronger stress plan's (``stress10``), for a task where three times collapsed nothing
#: (docs/benchmarks.md: the twentieth blind task).
STRESS10 = 10.0


def specs_of(task: str, candidate: str, jobs: int) -> list[Any]:
    """The plans of ``candidate`` (prior.py's rules, or ``stress``: the plan's 1cycle at
    :data:`STRESS` times the shipped peak; ``stress10``: at :data:`STRESS10` times) over the
    task's documented budget."""
    epochs = reference(task, jobs)[0]
    reads = P.reads(task, jobs)
    if candidate in ("stress", "stress10"):
        k = STRESS if candidate == "stress" else STRESS10
        return [(*P.plan_with_peak(task, r, k * P.shipped_peak(task, r, epochs), epochs),
                 epochs, s, None) for r, s in zip(reads, S.SEEDS, strict=True)]  # fmt: skip
    if candidate == "shipped":
        ipe = load_task(task).steps_per_epoch
        plans = [r.recommend(ipe, epochs) for r in reads]
        return [(p.lr, p.momentum, epochs, s, None) for p, s in zip(plans, S.SEEDS, strict=True)]
    rule = P.fit(jobs)[candidate]
    return [(*P.candidate_plan(task, r, rule(task, r), epochs), epochs, s, None)
            for r, s in zip(reads, S.SEEDS, strict=True)]  # fmt: skip


def rescued(task: str, specs: list[Any], plain: list[Any], guarded: list[Any], jobs: int) -> None:
    """Below a row with collapsed runs: each such seed's peak and reading, where its unguarded
    run peaked, and its guarded final against the mean of the shipped plan's runs that did
    not collapse (points; for MSE, percent better)."""
    grid_peak = reference(task, jobs)[1]
    shipped = S.train_many(task, specs_of(task, "shipped", jobs), jobs, "prior shipped")
    kept = [r["scores"][-1] for r in shipped
            if not S.collapsed(task, r["scores"][-1], grid_peak, r["diverged"])]  # fmt: skip
    ref = sum(kept) / len(kept)
    reads = P.reads(task, jobs)
    for seed, (spec, a, b) in enumerate(zip(specs, plain, guarded, strict=True)):
        if not S.collapsed(task, a["scores"][-1], grid_peak, a["diverged"]):
            continue
        best, epoch = S.best_of(a["scores"], task)
        r, end, saved = reads[seed], a["scores"][-1], b["scores"][-1]
        print(f"  seed {seed}: peak {spec[0].bounds()[1]:.3g} (edge "
              f"{r.suggestions.get('edge', math.nan):.3g}, max_lr {r.max_lr:.3g}); unguarded "
              f"{S.fmt(task, best)} at epoch {epoch}, final {S.fmt(task, end)}; guarded "
              f"{S.fmt(task, saved)}, {S._gap_value(task, saved, ref):+.2f} against the "
              f"shipped plan's runs that did not collapse ({S.fmt(task, ref)})")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--tasks", nargs="*", default=list(P.HELD_OUT), choices=list(SUITE))
    p.add_argument(
        "--candidates",
        nargs="*",
        default=["shipped"],
        choices=[*P.CANDIDATES, "stress", "stress10"],
    )
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--streak", type=int, default=1, choices=STREAKS, help="epochs in a row")
    p.add_argument("--rise", type=float, default=0.0, choices=RISES,
                   help="least rise above the best, as a share of it")  # fmt: skip
    p.add_argument("--reference", default="first", choices=REFERENCES,
                   help="budget and grid's best: the first machine's or this one's")  # fmt: skip
    args = p.parse_args(argv)
    _REFERENCE["which"] = args.reference
    fitted = sorted(set(args.candidates) - {"shipped", "stress", "stress10"})
    if args.reference == "here" and fitted:
        p.error(f"--reference here takes shipped, stress and stress10 only (the prior's rules "
                f"were fitted on the first machines' budgets), not {fitted}")  # fmt: skip
    print("| task | candidate | without the guard (collapsed) | with it (collapsed) | "
          "gap | runs on which it fired (epochs) |")  # fmt: skip
    print("|:--|:--|--:|--:|--:|:--|")
    for task in args.tasks:
        grid_peak = reference(task, args.jobs)[1]
        for cand in args.candidates:
            specs = specs_of(task, cand, args.jobs)
            plain = S.train_many(task, specs, args.jobs, f"prior {cand}")
            guarded = guarded_many(task, specs, args.jobs, args.streak, args.rise)
            m0, _, c0 = S._stats(task, plain, grid_peak)
            m1, _, c1 = S._stats(task, guarded, grid_peak)
            unit = " pt" if S.higher(task) else "%"
            fired = [f"s{s}: {g['fired']}" for s, g in zip(S.SEEDS, guarded, strict=True)
                     if g["fired"]]  # fmt: skip
            print(f"| {task} | {cand} | {S.fmt(task, m0)} ({c0}) | {S.fmt(task, m1)} ({c1}) | "
                  f"{S._gap_value(task, m1, m0):+.2f}{unit} | "
                  f"{len(fired)} of {len(guarded)}{': ' if fired else ''}{', '.join(fired)} |",
                  flush=True)  # fmt: skip
            quiet = [(a, b) for a, b in zip(plain, guarded, strict=True) if not b["fired"]]
            same = all(a["scores"] == b["scores"] for a, b in quiet)
            print(f"  the {len(quiet)} runs on which it did not fire repeat their unguarded runs "
                  f"score for score: {same}")  # fmt: skip
            if c0:
                rescued(task, specs, plain, guarded, args.jobs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
