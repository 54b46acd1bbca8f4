"""A signal that needs no split: the training gradient's strength against its own noise, read
after every epoch (docs/benchmarks.md, lab notebook: a signal that needs no split, 2026-12-03).

The fixed-amount screen (``prior.py klaw``) found that where overfitting sets a task's optimum,
each good rate stops improving its test score after spending a task-specific amount of learning
rate. A validation split could see that turn, but its data costs the run (the checkpoint
selection screen). This screen asks whether a statistic of the *training* data alone sees it:
the evidence-based criterion of Mahsereci, Balles, Lassner and Hennig ("Early stopping without a
validation set", 2017). With per-example gradients ``g_i`` over a mini-batch of ``B`` examples,
their mean ``m_k`` and unbiased variance ``v_k`` per parameter ``k``::

    EB = 1 - (B / P) * sum_k m_k**2 / v_k        (over the P parameters with v_k > 0)

Where the expected gradient is zero, ``B m_k**2 / v_k`` is about 1 on average and ``EB`` about
0; while the gradient still carries signal beyond its sampling noise, ``EB`` is negative. The
criterion stops a run at the first ``EB > 0``; it has no constant of its own.

Per run (a fixed rate of the task's grid, one seed), after every epoch: ``EB`` at the epoch's
weights, the mean over the task's batches of one fixed sample of the training set (at most
:data:`PROBE_EXAMPLES`, the model in eval mode, so dropout draws nothing); the run's test
scores, which must equal the cached grid run of the same rate and seed (the probe changes
nothing); and the *fire epoch*, the first epoch whose ``EB`` is above 0. Per task, each good
rate (``prior.py klaw``'s bar) is compared with the epoch ``e*`` of its mean curve's best (all
ten seeds, the cached grid)::

    python benchmarks/nosplit.py --tasks <tasks> --seeds 0 1 2 --jobs 2
"""

from __future__ import annotations

import argparse
import functools
import math
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT / "adapters" / "torch", ROOT):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import prior as PR
import suite as S

from clr_torch.demo.tasks import SUITE, load_task, run_jobs

#: The seed of the one fixed order the training set is cut into batches for the probe.
PROBE_ORDER = 20261203

#: The most training examples the probe reads (whole batches, at least four): the first ones of
#: :data:`PROBE_ORDER`, the same at every epoch.
PROBE_EXAMPLES = 2048

#: Bumped when the probe's measurement changes, so stale cache entries are not reused.
VERSION = 1


def eb_probe(task: Any) -> Any:
    """``probe(model) -> [EB, S]`` for :func:`clr_torch.demo.tasks.train`: the criterion ``EB``
    (the module docstring), a mean over the task's batches in :data:`PROBE_ORDER`, and
    ``S = B x mean_k (m_k**2 / v_k)`` over the same examples pooled (the gradient's signal in
    units of one batch's noise; ``EB``'s expectation is ``-S`` where the per-batch estimates are
    exact). ``S`` is cached with each run for the record; the screen's table and clauses read
    ``EB`` alone."""
    import torch
    from torch.func import functional_call, grad, vmap

    order = torch.randperm(len(task.x), generator=torch.Generator().manual_seed(PROBE_ORDER))
    b = task.batch_size
    n = max(4, PROBE_EXAMPLES // b) * b
    cuts = [order[i : i + b] for i in range(0, min(n, len(order)), b) if len(order[i : i + b]) == b]

    def probe(model: Any) -> list[float]:
        was = model.training
        model.eval()
        params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}

        def loss(p: dict[str, Any], x: Any, y: Any) -> Any:
            out = functional_call(model, p, (x.unsqueeze(0),))
            return task.loss_fn(out, y.unsqueeze(0))

        per_example = vmap(grad(loss), in_dims=(None, 0, 0))
        ebs: list[float] = []
        sums: list[Any] = []
        squares: list[Any] = []
        for idx in cuts:
            g = per_example(params, task.x[idx], task.y[idx])
            flat = torch.cat([t.reshape(b, -1) for t in g.values()], dim=1).double()
            m = flat.mean(0)
            v = flat.var(0, unbiased=True)
            keep = v > 0
            ebs.append(float(1.0 - b * (m[keep] ** 2 / v[keep]).sum() / keep.sum()))
            sums.append(flat.sum(0))
            squares.append((flat**2).sum(0))
        model.train(was)
        count = b * len(cuts)
        mean = torch.stack(sums).sum(0) / count
        var = (torch.stack(squares).sum(0) - count * mean**2) / (count - 1)
        keep = var > 0
        signal = float(b * (mean[keep] ** 2 / var[keep]).mean())
        return [statistics.fmean(ebs), signal]

    return probe


def probe_job(task_name: str, rate: float, epochs: int, seed: int) -> dict[str, Any]:
    """One fixed-rate run with the probe after every epoch (in a worker)."""
    import torch

    from clr_torch.demo.tasks import train

    torch.set_num_threads(1)
    task = load_task(task_name)
    run = train(task, rate, epochs=epochs, seed=seed, record=False, probe=eb_probe(task))
    return {"scores": run.scores, "diverged": run.diverged, "probes": run.probes}


def good_rates(task: str) -> tuple[dict[str, Any], list[tuple[float, int, bool]]]:
    """The cached grid's summary and its good rates ``(eta, e*, turns)`` (``prior.good_rates``,
    ``prior.py klaw``'s bars; read off the cache: nothing is trained here)."""
    summary = S.grid_summary(task, S.grid_runs(task, S.SEEDS, 1, False))
    return summary, PR.good_rates(task, summary)


def fire_epoch(probes: Sequence[Any]) -> int | None:
    """The first epoch (1-based) whose ``EB`` is above 0, or None."""
    for i, p in enumerate(probes):
        if p is not None and p[0] > 0:
            return i + 1
    return None


def _store(cache: S.Cache, todo: Sequence[str], j: int, result: dict[str, Any]) -> None:
    cache.put(todo[j], result)


def screen(tasks: Sequence[str], seeds: Sequence[int], jobs: int) -> None:
    print("| task | split | budget (epochs) | rate | good | turns | e* (mean curve) | fire epochs "
          "(seeds) | fire / e* (median) | EB after epoch 1, at e*, at the end (median) | "
          "repeats the grid |")  # fmt: skip
    print("|:--|:--|--:|--:|:--|:--|--:|:--|--:|:--|:--|")
    rows: list[dict[str, Any]] = []
    for t in tasks:
        summary, good = good_rates(t)
        horizon = S.GRID_EPOCHS[t]
        cache = S.Cache(t)
        grid = S.grid_runs(t, seeds, 1, False)
        rates = [eta for eta, _, turns in good if turns] + [good[-1][0], summary["lr"]]
        rates = sorted(set(rates))
        keys = {(eta, s): S.key_of("nosplit", VERSION, eta, f"e{horizon}", f"s{s}")
                for eta in rates for s in seeds}  # fmt: skip
        todo = [keys[k] for k in keys if cache.get(keys[k]) is None]
        if todo:
            print(f"{t}: {len(todo)} probed run(s) to train", file=sys.stderr, flush=True)
        work = [(t, eta, horizon, s) for (eta, s), k in keys.items() if k in todo]
        run_jobs(probe_job, work, jobs, on_done=functools.partial(_store, cache, todo))
        for eta in rates:
            info = next(((e, turns) for g, e, turns in good if g == eta), None)
            e_star = info[0] if info else S.best_of(summary["curves"][eta], t)[1]
            runs = [cache.get(keys[eta, s]) for s in seeds]
            fires = [fire_epoch(r["probes"]) for r in runs]
            same = all(r["scores"] == g["scores"] for r, g in zip(runs, grid[eta], strict=True))
            ebs = []
            for at in (1, e_star, horizon):
                vals = [r["probes"][at - 1][0] for r in runs if r["probes"][at - 1] is not None]
                ebs.append(f"{statistics.median(vals):.3g}" if vals else "-")
            label = "grid's best" if eta == summary["lr"] else ""
            inf = [math.inf if f is None else f for f in fires]
            ratio = statistics.median(inf) / e_star  # inf where most seeds never fire
            shown = "never" if math.isinf(ratio) else f"{ratio:.2f}"
            rows.append({"task": t, "fit": PR.split_of(t) == "fit", "turns": bool(info and info[1]),
                         "ratio": ratio, "fire": statistics.median(inf), "budget": summary["epoch"],
                         "task_turns": any(turns for _, _, turns in good)})  # fmt: skip
            print(
                f"| {t} | {PR.split_of(t)} | {summary['epoch']} | {eta:g} {label} | "
                f"{'yes' if info else 'no'} | {'yes' if info and info[1] else 'no'} | {e_star} | "
                f"{', '.join('-' if f is None else str(f) for f in fires)} | {shown} | "
                f"{' / '.join(ebs)} | {'yes' if same else 'NO'} |",
                flush=True,
            )
    clauses(rows)


#: Clause (a)'s window around ``e*`` (a factor either way) and clause (b)'s share of the budget
#: (the protocol's decision rule, written before the run).
WINDOW, LATE = 1.5, 0.8


def clauses(rows: Sequence[dict[str, Any]]) -> None:
    """The protocol's two clauses, on the fit tasks and on the others apart."""
    for side, fit in (("fit", True), ("held out, later and blind", False)):
        mine = [r for r in rows if r["fit"] == fit]
        turning = [r for r in mine if r["turns"]]
        inside = [r for r in turning if 1 / WINDOW <= r["ratio"] <= WINDOW]
        quiet = sorted({r["task"] for r in mine if not r["task_turns"]})
        early = sorted({r["task"] for r in mine if not r["task_turns"]
                        and r["fire"] < LATE * r["budget"]})  # fmt: skip
        ratios = [r["ratio"] for r in turning if math.isfinite(r["ratio"])]
        span = f"{min(ratios):.2f}-{max(ratios):.2f}" if ratios else "-"
        span += f", never on {len(turning) - len(ratios)}"
        print(f"\n{side}: (a) fire / e* within {WINDOW}x on {len(inside)} of {len(turning)} "
              f"turning good rates (fire / e* {span}); (b) {len(quiet) - len(early)} of "
              f"{len(quiet)} tasks without a turning good rate fire late or never"
              + (f" (early: {', '.join(early)})" if early else ""))  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--tasks", nargs="*", required=True, choices=list(SUITE))
    p.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    p.add_argument("--jobs", type=int, default=1)
    args = p.parse_args(argv)
    screen(args.tasks, args.seeds, args.jobs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
