"""Screens of the reading that need no training (docs/benchmarks.md, lab notebook).

Both replay the suite's cached range tests (``benchmarks/suite.py``: every sweep is
cached point by point) and interpolate each seed's own cached peak-scan and grid
outcomes at the rates a variant reads (``noise_limited._interp``):

* ``stop``: the sweep's stop rule (``SweepMonitor``'s ``beta`` and
  ``diverge_threshold``) replayed on each cached sweep; the sweep is cut where the
  variant would have stopped it and read again. A stricter rule can only cut a sweep,
  and the points before the cut are the ones the real, shorter sweep records (same
  seed, same batches), so no sweep is re-run.
* ``pace``: sweeps that start higher at the shipped pace (33 steps a decade), or take
  fewer steps, run per seed (cached) and read by the shipped rule;
* ``smooth``: the analysis' smoothing width (``smooth_fraction``, shipped
  ``SMOOTH``) on the cached sweeps;
* ``pretrained``: the default range test from partly trained weights (a task's model
  trained at a fixed rate for some epochs first), for tasks whose sweep reads flat;
* ``flat``: where ``FLAT_LR_FACTOR`` comes from: on each SGD task whose sweeps stop
  before their end (at a blow-up), the grid's best rate over the sweeps' median last rate;
* ``margin``: per seed, the largest 1cycle peak factor (peak = c x edge) whose outcome
  stays within a point of the shipped factor's, against the reading's noise / span;
* ``flatpeak``: on tasks whose sweeps read flat, each seed's own 1cycle peak-scan outcome
  interpolated at ``k`` times its fallback rate (a 1cycle in place of the constant);
* ``probe``: a blind task's probe runs, made before its protocol (one seed, a few fixed
  rates, the test metric every third epoch), to check that it is learnable and not trivial;
* ``midrun``: the limit read in mid-run: each seed's plan trained through its warm-up
  (30% of the budget), then the rate raised from there at the range test's pace until
  the loss rises; the best peak and outcomes at multiples of that limit;
* ``factors``: each seed's own scan and grid outcomes interpolated at fixed multiples of
  its edge (the clean and noise-limited factors of the peak and of ``result.lr``, and
  points between), whatever the noise-limited weight says: what either rule would give;
* ``curvature``: the top Hessian eigenvalue ``lambda`` of the training loss at
  initialisation (power iteration on Hessian-vector products over ``CURV_EXAMPLES``
  training examples, shifted when it lands on a negative eigenvalue), and the limit
  ``2 (1 + beta) / lambda`` of heavy-ball SGD, against the grid's best, the best 1cycle
  peak and the sweep's edge (SGD tasks).
* ``batch``: the task at other batch sizes, nothing else changed (same data, network,
  optimizer and epochs): each seed's range test and a 1cycle peak scan at each batch, the
  best peak over the median edge, and outcomes interpolated at multiples of each seed's
  edge; does the best peak follow the batch while the edge does not?
* ``noisypeak``: the noise-limited peak factor (``NOISY_PEAK_FACTOR``) varied, each seed's
  plan interpolated on its own scan at its own noise weight, on the tasks and on their
  batch variants (``--batches``, the batch screen's cached runs).
* ``batchrule``: a peak rule that reads the batch size ``B``: the clean factor
  ``PEAK_FACTOR * min(1, B / BATCH_REF) ** alpha``, and optionally the noise / span
  scaled by ``sqrt(B / BATCH_REF)`` before the noise-limited band; each seed's plan
  interpolated on its own scan, on the tasks and the fit tasks' batch variants.
* ``heldout``: landmarks of the held-out loss and accuracy in the raw sweeps
  (``raw_sweeps.py``, ``wide300``: 1e-6 -> 10 in 300 steps, 512 held-out training examples
  measured after every step), against the best 1cycle peak: does the best peak sit at a
  steadier multiple of a held-out landmark, across tasks, than of the training loss's edge?
* ``blind``: the details a blind task's result table quotes: each grid rate's mean-curve peak,
  its epoch, the final score and the runs collapsed; the grid chosen on other seeds; the
  readings (noise / span, noise-limited weights, edges, confidence, steps, ``lr``, the plan's
  peaks, how many plans carry the small-batch caveat); each 1cycle scan peak's mean final
  score and collapses; each seed's trained plan and fixed ``result.lr``;
* ``noisesource``: which part of an augmented task's recipe makes its sweeps noise-limited:
  each seed's shipped range test on the task as it is, without its augmentation, without its
  label smoothing, and without either (no training; descriptive, no rule is fitted on it);
* ``augsweep``: on tasks that augment, the plan from a range test read on batches *without*
  the augmentation (the same seeds, weights and batch order; the plan then trains with it)
  beside the shipped plan, from the augmented sweep: 10 seeds each, the budget;
* ``fellreplay``: the rule for a loss that fell only as it blew up replayed on the cached
  range tests (no training): the readings whose numbers it changes, the sweeps it fires on
  and how far from the end their last descent starts, in smoothing half-widths, against the
  nearest of the others (``--repeats``: also ``flatrepeat``'s extra sweeps);
* ``flatland``: on the tasks whose sweeps read flat, landmarks of the blow-up (the first rate
  a share above the flat level) against the last rate the fallback reads: their spread across
  seeds and the grid's best rate over their geometric mean (descriptive, no training);
* ``flatrepeat``: the plan from three range tests per seed joined by ``combine()`` (the
  fallback of a flat reading becomes the median of three) beside the shipped plan from one,
  both trained over the budget;
* ``fellblowup``: each seed's plan and fixed ``result.lr`` read with the rule for a loss
  that fell only as it blew up (shipped) and with that rule switched off for the screen,
  both trained over the budget; which seeds it fired on, and their finals;
* ``maxlr``: each seed's own 1cycle scan interpolated at fixed multiples of its ``max_lr``
  (:data:`MAXLR_MULTIPLES`) against the shipped plan and the scan's best peak, and that best
  peak over the median ``max_lr``: where the fine-tuning tasks' best peaks sit (descriptive);
* ``spreadstat``: how far the steadiness target (largest over smallest of 10 seeds at most
  1.5x) is from each task's reading: the log-standard deviation of the plan's peak and of
  ``max_lr`` across seeds, and the chance that 10 log-normal draws of that deviation meet
  1.5x (by simulation, fixed seed).
* ``gns``: the gradient noise scale ``tr(Sigma) / |G|^2`` measured in each seed's range test
  (the gradient on the whole batch and on its halves at every step), over the decade below the
  edge; peak rules that shrink the edge by ``1 / (1 + B_noise / B)`` (SGD) or its square root
  (Adam), interpolated on each seed's own scan, on the fit rows of the batch rule and the
  held-out tasks.
* ``repeats``: ``combine()`` of one, two and three range tests from each seed's initial weights
  (each with its own batch order): the spreads of the plan's peak and ``max_lr`` across seeds,
  the plan interpolated on each seed's own scan, and the steps.
* ``robust``: the issue's "robust fit on the log-LR axis instead of running smoothers": the
  landmarks read off a LOESS fit (local linear or quadratic, tricube weights, bisquare
  robustness iterations; ``LOESS_VARIANTS``) in place of the shipped smoother, the noise still
  read about the shipped one; on the shipped sweeps and on 100-step sweeps (the cost target),
  the peak rule scaled by ``SHORT_SCALES`` on the latter; each seed's plan interpolated on its
  own scan; the decision lines of the rule written in the notebook.
* ``plainsgd``: the SGD tasks with SGD without momentum, for the range test and for training;
  the plan's momentum cycle (which turns heavy-ball momentum on) against the plan's rates
  alone (momentum left at 0), trained over the equal budget, 10 seeds, paired by seed.
* ``plainflat``: after a plain-SGD sweep that reads flat, the constant plan at 1, 10 and 19 times
  the fallback rate (``PLAIN_FLAT_FACTORS``), plain SGD, 10 seeds.
* ``lrfree``: the step size a learning-rate-free optimizer settles on (Prodigy's ``d`` on the
  Adam tasks, D-Adaptation SGD's ``d / |g_0|`` on the SGD tasks; lr 1, defaults) after 50, 100
  and 200 steps from each seed's initial weights: its spread across seeds, the best 1cycle
  peak over it, and each seed's own scan interpolated at multiples of it; the multiple chosen
  per family on its fit task and the notebook's decision lines on the held-out tasks.
* ``trials``: short trial runs of the plan's 1cycle (a fraction of the budget) at the seed's
  plan peak snapped to its scan and at scan rates 2 and 4 steps either side, judged by the score
  on a held-out part of the training set or by the training loss; each seed's full-budget scan
  run at the chosen peak against the one at the snapped plan peak; the variant chosen on the
  fit tasks and the notebook's decision lines on the held-out ones.
* ``peakcap``: the plan's peak capped at ``c x max_lr`` (``--caps``; ``inf``: no cap) in place
  of the shipped ``PEAK_CAP``: per task, the range of peak / ``max_lr`` without a cap; per cap,
  the seeds whose peak changes, the plan
  interpolated on each seed's own 1cycle scan with that cap minus the shipped plan, and where a
  seed changes that plan trained (10 seeds).

    python benchmarks/screens.py stop --tasks mnist1d-cnn-sgd noisy-mlp-sgd mnist1d-mlp-adamw
    python benchmarks/screens.py pace --tasks mnist1d-cnn-sgd noisy-mlp-sgd mnist1d-mlp-adamw
    python benchmarks/screens.py pace --tasks motif-gru-sgd --sweeps 1e-5,10,600 1e-5,10,1000
    python benchmarks/screens.py smooth
    python benchmarks/screens.py pretrained --tasks motif-gru-sgd
    python benchmarks/screens.py flat --tasks mnist1d-cnn-sgd digits-mlp-sgd \
        digits-resnet-sgd noisy-mlp-sgd friedman-mlp-sgd
    python benchmarks/screens.py margin
    python benchmarks/screens.py curvature --tasks <SGD tasks>
    python benchmarks/screens.py flatpeak --tasks motif-gru-sgd adding-lstm-sgd recall-rnn-sgd
    python benchmarks/screens.py probe --tasks recall-rnn-sgd --rates 0.03 0.3
    python benchmarks/screens.py midrun --tasks <the first eleven> --jobs 2
    python benchmarks/screens.py factors --tasks friedman3-deepmlp-adam
    python benchmarks/screens.py batch --tasks mnist1d-cnn-sgd --batches 512 32 --jobs 2
    python benchmarks/screens.py noisypeak --tasks <all> --batches 512 32
    python benchmarks/screens.py batchrule --tasks <all>
    python benchmarks/screens.py batchrule --tasks <all> --train 0.25 scaled --jobs 2
    python benchmarks/screens.py heldout --tasks <the first seven>
    python benchmarks/screens.py spreadstat --tasks <all>
    python benchmarks/screens.py blind --tasks digits-dropout-sgd clean8-mlp-sgd
    python benchmarks/screens.py gns --tasks <the first fifteen> --jobs 2
    python benchmarks/screens.py repeats --tasks <the first fifteen> --jobs 2
    python benchmarks/screens.py robust --tasks <all> --jobs 2
    python benchmarks/screens.py plainsgd --tasks <the SGD tasks that read a slope> --jobs 2
    python benchmarks/screens.py plainflat --tasks motif-gru-sgd adding-lstm-sgd recall-rnn-sgd
    python benchmarks/screens.py peakcap --tasks <all> --caps 3 4 --jobs 2
    python benchmarks/screens.py lrfree --tasks noisy-mlp-sgd mnist1d-mlp-adamw <others> --jobs 2
    python benchmarks/screens.py trials --tasks noisy-mlp-sgd mnist1d-mlp-adamw <others> --jobs 2
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

import noise_limited as N
import suite as S

from clr_core import Constant
from clr_core.rangetest import ExponentialSweep, RangeTestResult, SweepMonitor
from clr_core.rangetest._analysis import LR_FACTOR, NOISY_LR_FACTOR
from clr_core.rangetest._handoff import (
    NOISY_PEAK_FACTOR,
    PEAK_FACTOR,
    edge_factor,
    noise_limited,
    one_cycle_peak,
)
from clr_torch.demo.tasks import SUITE, load_task

#: (beta, diverge_threshold) of the stop rule; the first is the shipped default.
STOP_VARIANTS = (
    (0.98, 1.0), (0.98, 0.7), (0.98, 0.5), (0.98, 0.4), (0.98, 0.3),
    (0.97, 0.7), (0.97, 0.5), (0.95, 1.0), (0.95, 0.7), (0.95, 0.5),
    (0.9, 1.0), (0.9, 0.5),
)  # fmt: skip
#: Sweeps of the pace screen: (start, end, steps); the first is the shipped default.
PACES = ((1e-5, 10.0, 200), (1e-4, 10.0, 167), (1e-3, 10.0, 133), (1e-4, 10.0, 100))
#: Smoothing widths of the smooth screen (half-width of a box pass, fraction of the points).
SMOOTHS = (0.02, 0.035, 0.05, 0.07, 0.1, 0.14)
#: (rate, epochs) of the training before the range test in the pretrained screen.
PRETRAIN = ((0.01, 15), (0.03, 5), (0.03, 15), (0.1, 6))
#: Peak factors of the margin screen.
FACTORS = (0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.35, 1.5)
#: Training examples (the first of the training set) and power iterations of the
#: curvature screen.
CURV_EXAMPLES = 512
CURV_ITERATIONS = 20


def _cut(lrs: Sequence[float], losses: Sequence[float], beta: float, threshold: float) -> int:
    """How many points the sweep keeps under the stop rule ``(beta, threshold)``."""
    sweep = S.SWEEP
    m = SweepMonitor(
        ExponentialSweep(sweep.start, sweep.end, num_steps=sweep.steps),
        beta=beta,
        diverge_threshold=threshold,
    )
    for lr, loss in zip(lrs, losses, strict=True):
        if m.update(lr, loss):
            break
    return len(m.losses)


def _spread(v: Sequence[float]) -> float:
    return max(v) / min(v)


def _outcomes(task: str) -> tuple[dict[float, list[Any]], dict[float, list[Any]], int, int]:
    """A task's cached 1cycle scan and fixed-rate grid, the last epoch of its budget (the
    index the interpolations read) and the scale of its score (100 for accuracy)."""
    scan = S.peak_scan(task, S.SEEDS, 1, False)
    grid = S.grid_runs(task, S.SEEDS, 1, False)
    last = S.budget(task, S.SEEDS, 1, False) - 1
    return scan, grid, last, 100 if S.higher(task) else 1


def _best_window(task: str, scanned: dict[float, list[Any]]) -> tuple[float, list[float], dict]:
    """The scan's best peak (by mean final score), the peaks within 0.3 points of it (1% of
    MSE), and every peak's ``(mean, sd, collapsed)`` against the grid's best."""
    grid_peak = S.grid_summary(task, S.grid_runs(task, S.SEEDS, 1, False))["peak"]
    scan = {p: S._stats(task, rs, grid_peak) for p, rs in scanned.items()}
    sign = 1 if S.higher(task) else -1
    best = max(scan, key=lambda p: sign * scan[p][0])
    tol = 0.003 if S.higher(task) else 0.01 * abs(scan[best][0])
    good = [p for p in scan if sign * (scan[best][0] - scan[p][0]) <= tol]
    return best, good, scan


def stop(tasks: Sequence[str], variants: Sequence[tuple[float, float]]) -> None:
    head = ("task", "beta", "threshold", "steps (median, max)", "peak (median, spread)",
            "plan, interpolated", "`lr` (median, spread)", "fixed, interpolated",
            "no edge")  # fmt: skip
    print("| " + " | ".join(head) + " |")
    for task in tasks:
        scan, grid, last, k = _outcomes(task)
        sweeps = S.range_tests(task, S.SWEEP, S.SEEDS, 1)
        for beta, threshold in variants:
            steps, peaks, lrs, plan, fixed, no_edge = [], [], [], [], [], 0
            for i, (r, _) in enumerate(sweeps):
                n = _cut(r.lrs, r.losses, beta, threshold)
                a = S.reread(r, n)
                no_edge += "edge" not in a.suggestions
                peak = one_cycle_peak(a.max_lr, a.suggestions, a.noise_weight)
                steps.append(n)
                peaks.append(peak)
                lrs.append(a.lr)
                plan.append(k * N._interp(scan, i, peak, -1))
                fixed.append(k * N._interp(grid, i, a.lr, last))
            cells = (task, beta, threshold, f"{statistics.median(steps):.0f}, {max(steps)}",
                     f"{statistics.median(peaks):.3g}, {_spread(peaks):.2f}x",
                     f"{statistics.fmean(plan):.4g}", f"{statistics.median(lrs):.3g}, "
                     f"{_spread(lrs):.2f}x", f"{statistics.fmean(fixed):.4g}", no_edge)  # fmt: skip
            print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)


def pace(tasks: Sequence[str], jobs: int, paces: Sequence[tuple[float, float, int]]) -> None:
    head = ("task", "sweep", "steps (median, max)", "edge spread", "`max_lr` spread",
            "peak (median, spread)", "plan, interpolated", "`lr` (median)",
            "fixed, interpolated", "no edge")  # fmt: skip
    print("| " + " | ".join(head) + " |")
    for task in tasks:
        scan = S.peak_scan(task, S.SEEDS, jobs, False)
        grid = S.grid_runs(task, S.SEEDS, jobs, False)
        last = S.budget(task, S.SEEDS, jobs, False) - 1
        k = 100 if S.higher(task) else 1
        for start, end, num in paces:
            settings = S.SweepSettings(start, end, num, 0)
            reads = S.readings(task, S.SEEDS, jobs, settings)
            edges = [r.suggestions.get("edge", r.max_lr) for r, _ in reads]
            peaks = [one_cycle_peak(r.max_lr, r.suggestions, r.noise_weight) for r, _ in reads]
            plan = [k * N._interp(scan, i, p, -1) for i, p in enumerate(peaks)]
            fixed = [k * N._interp(grid, i, r.lr, last) for i, (r, _) in enumerate(reads)]
            steps = [n for _, n in reads]
            no_edge = sum("edge" not in r.suggestions for r, _ in reads)
            cells = (task, f"{start:g} -> {end:g} in {num}",
                     f"{statistics.median(steps):.0f}, {max(steps)}", f"{_spread(edges):.2f}x",
                     f"{_spread([r.max_lr for r, _ in reads]):.2f}x",
                     f"{statistics.median(peaks):.3g}, {_spread(peaks):.2f}x",
                     f"{statistics.fmean(plan):.4g}",
                     f"{statistics.median(r.lr for r, _ in reads):.3g}",
                     f"{statistics.fmean(fixed):.4g}", no_edge)  # fmt: skip
            print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)


def smooth(tasks: Sequence[str]) -> None:
    head = ("task", "smooth_fraction", "edge (median, spread)", "`max_lr` spread",
            "peak spread", "plan, interpolated", "noise-limited weight (sum of 10)")  # fmt: skip
    print("| " + " | ".join(head) + " |")
    for task in tasks:
        scan = S.peak_scan(task, S.SEEDS, 1, False)
        k = 100 if S.higher(task) else 1
        sweeps = S.range_tests(task, S.SWEEP, S.SEEDS, 1)
        for width in SMOOTHS:
            reads = [S.reread(r, smooth_fraction=width) for r, _ in sweeps]
            edges = [a.suggestions.get("edge", a.max_lr) for a in reads]
            peaks = [one_cycle_peak(a.max_lr, a.suggestions, a.noise_weight) for a in reads]
            plan = [k * N._interp(scan, i, p, -1) for i, p in enumerate(peaks)]
            cells = (task, width, f"{statistics.median(edges):.3g}, {_spread(edges):.2f}x",
                     f"{_spread([a.max_lr for a in reads]):.2f}x", f"{_spread(peaks):.2f}x",
                     f"{statistics.fmean(plan):.4g}",
                     f"{sum(a.noise_weight for a in reads):.1f}")  # fmt: skip
            print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)


def pretrained(tasks: Sequence[str], seeds: Sequence[int] = (0, 1, 2)) -> None:
    import torch

    from clr_torch import range_test
    from clr_torch.demo.tasks import accuracy, batches, load_task, make_model, make_optimizer

    torch.set_num_threads(1)
    print("| task | trained first | seed | test accuracy then | confidence | edge | first reason |")
    for name in tasks:
        task = load_task(name)
        for rate, epochs in PRETRAIN:
            for seed in seeds:
                torch.manual_seed(seed)
                model = make_model(name)
                opt = make_optimizer(task.spec.optimizer, model.parameters(), rate)
                stream = batches(task, torch.Generator().manual_seed(seed))
                for _ in range(epochs * task.steps_per_epoch):
                    x, y = next(stream)
                    opt.zero_grad()
                    task.loss_fn(model(x), y).backward()
                    opt.step()
                acc = accuracy(model, task.x_test, task.y_test)
                loader = [next(stream) for _ in range(S.SWEEP.steps)]
                r = range_test(model, opt, loader, task.loss_fn, progress=False)
                edge = r.suggestions.get("edge", float("nan"))
                why = r.reasons[0][:40] + "..."
                cells = (name, f"{epochs} epochs at {rate:g}", seed, f"{100 * acc:.1f}",
                         f"{r.confidence:.2f}", f"{edge:.3g}", why)  # fmt: skip
                print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)


def flat(tasks: Sequence[str]) -> None:
    print("| task | grid's best rate | sweeps' median last rate | ratio |")
    ratios = []
    for task in tasks:
        best = S.grid_summary(task, S.grid_runs(task, S.SEEDS, 1, False))["lr"]
        sweeps = S.range_tests(task, S.SWEEP, S.SEEDS, 1)
        last = statistics.median(r.lrs[-1] for r, _ in sweeps)
        if statistics.median(n for _, n in sweeps) >= S.SWEEP.steps:
            print(f"| {task} | {best:g} | {last:.3g} (ran to the end: left out) | - |")
            continue
        ratios.append(best / last)
        print(f"| {task} | {best:g} | {last:.3g} | {best / last:.4f} |")
    if ratios:
        gm = statistics.geometric_mean(ratios)
        print(f"| geometric mean | | | {gm:.4f} (range {min(ratios):.4f}-{max(ratios):.4f}) |")


def _ranks(v: Sequence[float]) -> list[float]:
    order = sorted(range(len(v)), key=v.__getitem__)
    r = [0.0] * len(v)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for q in range(i, j + 1):
            r[order[q]] = (i + j) / 2
        i = j + 1
    return r


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation (ties at their mean rank)."""
    return statistics.correlation(_ranks(x), _ranks(y))


def margin(tasks: Sequence[str]) -> None:
    print("| task | split | noise / span, per seed | safe factor, per seed | Spearman |")
    for task in tasks:
        scan = S.peak_scan(task, S.SEEDS, 1, False)
        k = 100 if S.higher(task) else -1  # larger is better after the sign
        noise, safe = [], []
        for i, (r, _) in enumerate(S.readings(task, S.SEEDS, 1)):
            edge = r.suggestions["edge"]
            ref = k * N._interp(scan, i, PEAK_FACTOR * edge, -1)
            tol = 1.0 if k == 100 else 0.01 * abs(ref)
            ok = PEAK_FACTOR
            for c in (f for f in FACTORS if f > PEAK_FACTOR):
                if not k * N._interp(scan, i, c * edge, -1) >= ref - tol:  # nan: off the scan
                    break
                ok = c
            noise.append(r.diagnostics["loss_noise"] / r.diagnostics["loss_span"])
            safe.append(ok)
        split = "fit" if task in S.FIT_TASKS else "held out"
        rho = spearman(noise, safe) if len(set(safe)) > 1 else float("nan")
        print(f"| {task} | {split} | " + " ".join(f"{v:.3f}" for v in noise)
              + " | " + " ".join(f"{v:g}" for v in safe) + f" | {rho:+.2f} |")  # fmt: skip


def probe(tasks: Sequence[str], rates: Sequence[float], epochs: int) -> None:
    import torch

    from clr_torch.demo.tasks import load_task, train

    torch.set_num_threads(1)
    for name in tasks:
        task = load_task(name)
        k = 100 if S.higher(name) else 1
        for rate in rates:
            run = train(task, rate, epochs=epochs, seed=0)
            every = " ".join(f"{k * v:.4g}" for v in run.scores[::3])
            print(f"| {name} | {rate:g} | {every} | {k * run.scores[-1]:.4g} |", flush=True)


#: Multiples of the fallback rate tried as a 1cycle peak by the flatpeak screen.
FLAT_PEAKS = (1.0, 2.0, 3.0, 5.0, 10.0)


def flatpeak(tasks: Sequence[str]) -> None:
    print("| task | split | fallback rates | constant (trained) | "
          + " | ".join(f"1cycle at {k:g}x" for k in FLAT_PEAKS) + " |")  # fmt: skip
    for task in tasks:
        scan = S.peak_scan(task, S.SEEDS, 1, False)
        g = S.grid_summary(task, S.grid_runs(task, S.SEEDS, 1, False))
        reads = [r for r, _ in S.readings(task, S.SEEDS, 1)]
        fixed, _, _ = S.plan_runs(task, S.SEEDS, 1, False, "fixed")
        k = 100 if S.higher(task) else 1
        cells = [f"{min(r.lr for r in reads):.3g}-{max(r.lr for r in reads):.3g}",
                 f"{k * S._stats(task, fixed, g['peak'])[0]:.4g}"]  # fmt: skip
        for f in FLAT_PEAKS:
            v = [N._interp(scan, i, f * r.lr, -1) for i, r in enumerate(reads)]
            cells.append(f"{k * statistics.fmean(v):.4g}")
        split = "fit" if task in S.FIT_TASKS else "held out"
        print(f"| {task} | {split} | " + " | ".join(cells) + " |", flush=True)


def _top_eigenvalue(model: Any, loss: Any, seed: int, iterations: int) -> float:
    """The largest eigenvalue of the Hessian of ``loss`` in ``model``'s parameters, by
    power iteration; if that lands on a negative eigenvalue ``m`` (the largest in
    magnitude), the iteration is repeated on ``H - m I``."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, params, create_graph=True)

    def hvp(v: list[Any]) -> list[Any]:
        dot = torch.stack([(g * u).sum() for g, u in zip(grads, v, strict=True)]).sum()
        return list(torch.autograd.grad(dot, params, retain_graph=True))

    def power(shift: float) -> float:
        g = torch.Generator().manual_seed(seed)
        v = [torch.randn(p.shape, generator=g) for p in params]
        value = 0.0
        for _ in range(iterations):
            norm = torch.stack([(u * u).sum() for u in v]).sum().sqrt()
            v = [u / norm for u in v]
            hv = [h - shift * u for h, u in zip(hvp(v), v, strict=True)]
            value = float(sum((h * u).sum() for h, u in zip(hv, v, strict=True)))
            v = hv
        return value + shift

    top = power(0.0)
    return top if top > 0 else power(top)


def curvature(tasks: Sequence[str]) -> None:
    import torch

    from clr_torch.demo.tasks import load_task, make_model

    torch.set_num_threads(1)
    print(
        "| task | split | limit 3.8 / lambda (median, spread) | grid best / limit | best 1cycle "
        "peak / limit | sweep edge / limit | first collapsing grid rate / limit |"
    )
    for name in tasks:
        task = load_task(name)
        limits = []
        for seed in S.SEEDS:
            torch.manual_seed(seed)
            model = make_model(name)
            x, y = task.x[:CURV_EXAMPLES], task.y[:CURV_EXAMPLES]
            lam = _top_eigenvalue(model, task.loss_fn(model(x), y), seed, CURV_ITERATIONS)
            limits.append(2 * (1 + 0.9) / lam)
        limit = statistics.median(limits)
        runs = S.grid_runs(name, S.SEEDS, 1, False)
        grid = S.grid_summary(name, runs)
        best_peak, _, _ = _best_window(name, S.peak_scan(name, S.SEEDS, 1, False))
        edges = [r.suggestions.get("edge") for r, _ in S.readings(name, S.SEEDS, 1)]
        edge = statistics.median([e for e in edges if e]) if any(edges) else float("nan")
        collapsing = [
            lr for lr, rs in runs.items()
            if any(S.collapsed(name, r["scores"][-1], grid["peak"], r["diverged"]) for r in rs)
        ]  # fmt: skip
        first = min(collapsing) if collapsing else float("nan")
        split = "fit" if name in S.FIT_TASKS else "held out"
        print(f"| {name} | {split} | {limit:.3g} ({_spread(limits):.2f}x) | "
              f"{grid['lr'] / limit:.3g} | {best_peak / limit:.3g} | {edge / limit:.3g} | "
              f"{first / limit:.3g} |", flush=True)  # fmt: skip


#: The mid-run screen: the fraction of the budget trained under the plan before the
#: re-read (the plan's own warm-up, so the rate there is the plan's peak), the re-read's
#: pace (steps a decade, the range test's), its last rate, and the loss ratios (running
#: median of ``MIDRUN_MEDIAN`` points over the median of the first ones) that call the
#: limit; and the peak factors tried on that limit.
MIDRUN_AT = 0.3
MIDRUN_PACE = 200 / 6
MIDRUN_END = 10.0
MIDRUN_MEDIAN = 5
MIDRUN_RISES = (1.5, 2.0, 3.0)
MIDRUN_FACTORS = (0.25, 0.35, 0.5, 0.7, 1.0)


def midrun_job(task_name: str, seed: int) -> dict[str, Any]:
    """Train a fresh model under the seed's plan for the first ``MIDRUN_AT`` of the budget
    (the very steps, batches and rates of the real run), then raise the rate from there
    at the range test's pace, momentum held, until the loss is non-finite, has risen
    past the largest ratio, or the rate passes ``MIDRUN_END``. Plain data back."""
    import torch

    from clr_torch import ScheduleLR
    from clr_torch.demo.tasks import batches, evaluate, load_task, make_model, make_optimizer

    torch.set_num_threads(1)
    task = load_task(task_name)
    reading = S.readings(task_name, [seed], 1)[0][0]
    epochs = S.budget(task_name, S.SEEDS, 1, False)
    ipe = task.steps_per_epoch
    plan = reading.recommend(ipe, epochs)
    torch.manual_seed(seed)
    model = make_model(task_name)
    opt = make_optimizer(task.spec.optimizer, model.parameters(), plan.lr(0),
                         task.spec.weight_decay)  # fmt: skip
    sched = ScheduleLR(opt, plan)
    stream = batches(task, torch.Generator().manual_seed(seed))
    warm = round(MIDRUN_AT * epochs * ipe)
    for _ in range(warm):
        x, y = next(stream)
        opt.zero_grad(set_to_none=True)
        task.loss_fn(model(x), y).backward()
        opt.step()
        sched.step()
    score = evaluate(model, task, task.x_test, task.y_test)
    start = float(opt.param_groups[0]["lr"])
    lrs: list[float] = []
    losses: list[float | None] = []
    k = 0
    while True:
        lr = start * 10 ** (k / MIDRUN_PACE)
        if lr > MIDRUN_END:
            break
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = next(stream)
        loss = task.loss_fn(model(x), y)
        value = float(loss.detach())
        lrs.append(lr)
        losses.append(value if math.isfinite(value) else None)
        if not math.isfinite(value):
            break
        window = [v for v in losses[-MIDRUN_MEDIAN:] if v is not None]
        base = statistics.median(v for v in losses[:MIDRUN_MEDIAN] if v is not None)
        if k >= MIDRUN_MEDIAN and statistics.median(window) > max(MIDRUN_RISES) * base:
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        k += 1
    return {"warm": warm, "score": score, "start": start, "lrs": lrs, "losses": losses,
            "policy": plan.policy}  # fmt: skip


def midrun_limit(lrs: Sequence[float], losses: Sequence[float | None], rise: float) -> float:
    """The first rate at which the running median of ``MIDRUN_MEDIAN`` losses exceeds
    ``rise`` times the median of the first ones (a non-finite loss counts as a rise);
    NaN when the loss never rose that far."""
    base = statistics.median(v for v in losses[:MIDRUN_MEDIAN] if v is not None)
    for i in range(len(losses)):
        window = losses[max(0, i - MIDRUN_MEDIAN + 1) : i + 1]
        if None in window:
            return float(lrs[i])
        if i >= MIDRUN_MEDIAN and statistics.median(window) > rise * base:  # type: ignore[type-var]
            return float(lrs[i])
    return math.nan


def midrun_runs(task: str, jobs: int) -> list[dict[str, Any]]:
    """The mid-run re-reads of every seed (cached with the suite's runs)."""
    cache = S.Cache(task)
    version = {"at": MIDRUN_AT, "pace": MIDRUN_PACE, "end": MIDRUN_END,
               "median": MIDRUN_MEDIAN, "rise": max(MIDRUN_RISES)}  # fmt: skip
    keys = [S.key_of("midrun", version, f"s{s}") for s in S.SEEDS]
    todo = [i for i, key in enumerate(keys) if cache.get(key) is None]

    def done(j: int, value: dict[str, Any]) -> None:
        cache.put(keys[todo[j]], value)

    S.run_jobs(midrun_job, [(task, S.SEEDS[i]) for i in todo], jobs, on_done=done)
    return [cache.get(key) for key in keys]


def midrun(tasks: Sequence[str], jobs: int) -> None:
    head = ("task", "split", "rate at the re-read (median)", "rise", "limit (median, spread)",
            "limit / rate", "best 1cycle peak / limit", "window of good peaks / limit",
            "the plan (trained)", "the plan's peak, interpolated",
            *(f"{c:g} x limit" for c in MIDRUN_FACTORS))  # fmt: skip
    print("| " + " | ".join(head) + " |")
    for task in tasks:
        runs = midrun_runs(task, jobs)
        scanned = S.peak_scan(task, S.SEEDS, 1, False)
        grid = S.grid_summary(task, S.grid_runs(task, S.SEEDS, 1, False))
        best, good, _ = _best_window(task, scanned)
        k = 100 if S.higher(task) else 1
        reads = [r for r, _ in S.readings(task, S.SEEDS, 1)]
        plan, _, _ = S.plan_runs(task, S.SEEDS, 1, False)
        shipped = k * S._stats(task, plan, grid["peak"])[0]
        flat_plan = any(r["policy"] == "constant" for r in runs)
        at_peak = k * statistics.fmean(
            N._interp(scanned, i, one_cycle_peak(r.max_lr, r.suggestions, r.noise_weight), -1)
            for i, r in enumerate(reads)
        )
        split = "fit" if task in S.FIT_TASKS else "held out"
        starts = [r["start"] for r in runs]
        for rise in MIDRUN_RISES:
            limits = [midrun_limit(r["lrs"], r["losses"], rise) for r in runs]
            found = [v for v in limits if math.isfinite(v)]
            med = statistics.median(found) if found else math.nan
            cells = [task, split, f"{statistics.median(starts):.3g}", f"{rise:g}",
                     f"{med:.3g}, {_spread(found):.2f}x ({len(found)} of {len(runs)})"
                     if found else "none",
                     f"{med / statistics.median(starts):.3g}", f"{best / med:.3g}",
                     f"{min(good) / med:.3g}-{max(good) / med:.3g}", f"{shipped:.4g}",
                     "(a constant)" if flat_plan else f"{at_peak:.4g}"]  # fmt: skip
            for c in MIDRUN_FACTORS:
                # noise-limited seeds keep the shipped peak (the variant is for clean
                # and flat readings); a seed without a limit keeps it too
                v = [
                    N._interp(scanned, i, c * lim if math.isfinite(lim) and r.noise_weight == 0
                              else one_cycle_peak(r.max_lr, r.suggestions, r.noise_weight), -1)
                    for i, (lim, r) in enumerate(zip(limits, reads, strict=True))
                ]  # fmt: skip
                cells.append(f"{k * statistics.fmean(v):.4g}")
            print("| " + " | ".join(cells) + " |", flush=True)


#: Multiples of the edge tried by the factors screen: as a 1cycle peak, and as a fixed rate.
PEAK_MULTIPLES = (NOISY_PEAK_FACTOR, 0.3, 0.5, PEAK_FACTOR)
FIXED_MULTIPLES = (NOISY_LR_FACTOR, 0.1, LR_FACTOR)


def factors(tasks: Sequence[str]) -> None:
    head = ("task", "split", "the plan's peak, interpolated",
            *(f"1cycle at {c:g} x edge" for c in PEAK_MULTIPLES),
            *(f"fixed at {c:g} x edge" for c in FIXED_MULTIPLES))  # fmt: skip
    print("| " + " | ".join(head) + " |")
    for task in tasks:
        scan, grid, last, k = _outcomes(task)
        reads = [r for r, _ in S.readings(task, S.SEEDS, 1)]
        edges = [r.suggestions.get("edge") for r in reads]
        split = "fit" if task in S.FIT_TASKS else "held out"
        if None in edges:
            print(f"| {task} | {split} | (a seed without an edge) |", flush=True)
            continue
        peaks = [one_cycle_peak(r.max_lr, r.suggestions, r.noise_weight) for r in reads]
        cells = [
            f"{k * statistics.fmean(N._interp(scan, i, p, -1) for i, p in enumerate(peaks)):.4g}"
        ]
        for c in PEAK_MULTIPLES:
            v = [N._interp(scan, i, c * e, -1) for i, e in enumerate(edges)]
            cells.append(f"{k * statistics.fmean(v):.4g}")
        for c in FIXED_MULTIPLES:
            v = [N._interp(grid, i, c * e, last) for i, e in enumerate(edges)]
            cells.append(f"{k * statistics.fmean(v):.4g}")
        print(f"| {task} | {split} | " + " | ".join(cells) + " |", flush=True)


def batch_job(task_name: str, batch: int, kind: str, peak: float, seed: int) -> dict[str, Any]:
    """One run of the batch screen on ``task_name`` with batch size ``batch``: the default
    range test (``kind`` "sweep"), or the plan's 1cycle shape at ``peak`` over the task's
    budget in epochs (``kind`` "scan"). Plain data back."""
    import torch

    from clr_torch.demo.tasks import sweep, train

    torch.set_num_threads(1)
    task = dataclasses.replace(load_task(task_name), batch_size=batch)
    if kind == "sweep":
        result = sweep(task, seed, S.SWEEP)
        return {"result": result.to_json(indent=None), "steps": len(result.lrs)}
    epochs = S.budget(task_name, S.SEEDS, 1, False)
    lr, momentum = S.one_cycle(peak, epochs * task.steps_per_epoch)
    run = train(task, lr, epochs=epochs, seed=seed, momentum=momentum)
    return {"scores": run.scores, "diverged": run.diverged}


def batch_rates(task: str, batch: int) -> tuple[float, ...]:
    """The scan's peaks at ``batch``: the task's grid, without its top rate for a smaller
    batch (cost), up to 2.15 times its top for a larger one."""
    grid, own = S.GRIDS[task], SUITE[task].batch_size
    if batch < own:
        return grid[:-1]
    return S._decade_grid(grid[0], grid[-1] * 2.15) if batch > own else grid


def batch_runs(task: str, batch: int, jobs: int) -> tuple[list[Any], dict[float, list[Any]]]:
    """Every seed's reading and the 1cycle scan at ``batch`` (the suite's own cached runs at
    the task's batch size; the others cached as ``<task>-b<batch>``)."""
    if batch == SUITE[task].batch_size:
        return [r for r, _ in S.readings(task, S.SEEDS, 1)], S.peak_scan(task, S.SEEDS, 1, False)
    cache = S.Cache(f"{task}-b{batch}")
    epochs = S.budget(task, S.SEEDS, 1, False)
    rates = batch_rates(task, batch)
    work = [("sweep", math.nan, s) for s in S.SEEDS]
    work += [("scan", p, s) for p in rates for s in S.SEEDS]
    keys = [
        S.key_of("sweep", dataclasses.asdict(S.SWEEP), f"s{s}") if kind == "sweep"
        else S.key_of("scan", f"{p:g}", f"e{epochs}", f"s{s}")
        for kind, p, s in work
    ]  # fmt: skip
    todo = [i for i, key in enumerate(keys) if cache.get(key) is None]
    if todo:
        print(f"{task} at batch {batch}: {len(todo)} run(s) to train", flush=True)

    def done(j: int, value: dict[str, Any]) -> None:
        cache.put(keys[todo[j]], value)

    S.run_jobs(batch_job, [(task, batch, *work[i]) for i in todo], jobs, on_done=done)
    n = len(S.SEEDS)
    reads = [S.reread(RangeTestResult.from_json(cache.get(k)["result"])) for k in keys[:n]]
    runs = [cache.get(k) for k in keys[n:]]
    return reads, {p: runs[i * n : (i + 1) * n] for i, p in enumerate(rates)}


#: Multiples of each seed's edge at which the batch screen interpolates its scan.
BATCH_MULTIPLES = (NOISY_PEAK_FACTOR, 0.3, 0.5, PEAK_FACTOR)


def batch(tasks: Sequence[str], batches: Sequence[int], jobs: int) -> None:
    head = ("task", "batch", "steps an epoch", "noise / span", "edge (median, spread)",
            "best 1cycle peak (score)", "peaks within 0.3 points", "first peak with a collapse",
            "best peak / median edge", "the shipped plan's peak, interpolated",
            *(f"{c:g} x edge" for c in BATCH_MULTIPLES))  # fmt: skip
    print("| " + " | ".join(head) + " |")
    for task in tasks:
        own = SUITE[task].batch_size
        for b in sorted({own, *batches}):
            reads, scanned = batch_runs(task, b, jobs)
            epochs = S.budget(task, S.SEEDS, 1, False)
            best, good, scan = _best_window(task, scanned)
            k = 100 if S.higher(task) else 1
            broke = [p for p in sorted(scan) if scan[p][2] > 0 and p > best]
            edges = [r.suggestions.get("edge") for r in reads]
            noise = [r.diagnostics.get("noise_to_span", math.nan) for r in reads]
            cells = [task, str(b), str(-(-len(load_task(task).x) // b)),
                     f"{min(noise):.3f}-{max(noise):.3f}"]  # fmt: skip
            if None in edges:
                print("| " + " | ".join([*cells, "(a seed without an edge)"]) + " |")
                continue
            med = statistics.median(edges)
            peaks = [one_cycle_peak(r.max_lr, r.suggestions, r.noise_weight) for r in reads]
            shipped = statistics.fmean(N._interp(scanned, i, p, -1) for i, p in enumerate(peaks))
            cells += [f"{med:.3g}, {_spread(edges):.2f}x",
                      f"{best:g} ({k * scan[best][0]:.4g})", f"{min(good):g}-{max(good):g}",
                      f"{broke[0]:g}" if broke else "none", f"{best / med:.3g}",
                      f"{k * shipped:.4g}"]  # fmt: skip
            for c in BATCH_MULTIPLES:
                v = [N._interp(scanned, i, c * e, -1) for i, e in enumerate(edges)]
                cells.append(f"{k * statistics.fmean(v):.4g}")
            print("| " + " | ".join(cells) + f" |  ({epochs} epochs)", flush=True)


#: Noise-limited peak factors tried by the noisypeak screen (the first is the shipped one).
NOISY_PEAKS = (NOISY_PEAK_FACTOR, 0.2, 0.3, 0.5)


def noisypeak(tasks: Sequence[str], batches: Sequence[int], jobs: int) -> None:
    head = ("task", "split", "batch", "noise-limited seeds (weight > 0)",
            *(f"plan, noisy factor {c:g}" for c in NOISY_PEAKS))  # fmt: skip
    print("| " + " | ".join(head) + " |")
    fit_rows: list[list[float]] = []  # the decision's step 1: fit rows with a noise-limited seed
    for task in tasks:
        split = "fit" if task in S.FIT_TASKS else "held out"
        k = 100 if S.higher(task) else 1
        own = SUITE[task].batch_size
        variants = sorted({own, *batches}) if task in S.FIT_TASKS else [own]
        for b in variants:
            reads, scanned = batch_runs(task, b, jobs)
            cells = [task, split, str(b), str(sum(r.noise_weight > 0 for r in reads))]
            if all(r.suggestions.get("edge") is None for r in reads):
                print("| " + " | ".join([*cells, "(no edge: flat readings)"]) + " |", flush=True)
                continue
            means = []
            for c in NOISY_PEAKS:
                v = []
                for i, r in enumerate(reads):
                    edge = r.suggestions.get("edge")
                    peak = (r.max_lr if edge is None
                            else edge_factor(PEAK_FACTOR, c, r.noise_weight) * edge)  # fmt: skip
                    v.append(N._interp(scanned, i, peak, -1))
                means.append(k * statistics.fmean(v))
            cells += [f"{m:.4g}" for m in means]
            if split == "fit" and any(r.noise_weight > 0 for r in reads):
                fit_rows.append(means)
            print("| " + " | ".join(cells) + " |", flush=True)
    if fit_rows:
        print("mean of the fit rows with a noise-limited seed: " + ", ".join(
            f"{c:g}: {statistics.fmean(col):.2f}"
            for c, col in zip(NOISY_PEAKS, zip(*fit_rows, strict=True), strict=True)))  # fmt: skip


#: The batch rule's reference batch (the fit tasks' common batch size, not fitted), its
#: exponents, and whether the noise / span is scaled to the reference batch.
BATCH_REF = 128
BATCH_RULES = tuple((a, scaled) for scaled in (False, True) for a in (0.0, 0.25, 0.5, 1.0))
#: The fit rows of the batch rule: the batch screen's variants and the noisy task's own.
BATCH_FIT_ROWS = (
    ("mnist1d-cnn-sgd", 32), ("mnist1d-cnn-sgd", 128), ("mnist1d-cnn-sgd", 512),
    ("mnist1d-mlp-adamw", 32), ("mnist1d-mlp-adamw", 128), ("mnist1d-mlp-adamw", 512),
    ("noisy-mlp-sgd", 32),
)  # fmt: skip


def batch_rule_peak(r: Any, batch: int, alpha: float, scaled: bool) -> float:
    """The plan's peak under the batch rule ``(alpha, scaled)`` for reading ``r`` at ``batch``."""
    edge = r.suggestions.get("edge")
    if edge is None:
        return float(r.max_lr)
    ratio = batch / BATCH_REF
    noise = r.diagnostics.get("noise_to_span", math.nan) * (math.sqrt(ratio) if scaled else 1.0)
    clean = PEAK_FACTOR * min(1.0, ratio) ** alpha
    return edge_factor(clean, NOISY_PEAK_FACTOR, noise_limited(noise)) * edge


def batch_trained(task: str, batch: int, peaks: Sequence[float], jobs: int) -> list[Any]:
    """Each seed's plan trained at its own 1cycle ``peaks`` (cached as the batch screen's runs)."""
    cache = S.Cache(f"{task}-b{batch}")
    epochs = S.budget(task, S.SEEDS, 1, False)
    keys = [
        S.key_of("scan", f"{p:g}", f"e{epochs}", f"s{s}")
        for p, s in zip(peaks, S.SEEDS, strict=True)
    ]
    todo = [i for i, key in enumerate(keys) if cache.get(key) is None]
    if todo:
        print(f"{task} at batch {batch}: {len(todo)} plan(s) to train", flush=True)

    def done(j: int, value: dict[str, Any]) -> None:
        cache.put(keys[todo[j]], value)

    work = [(task, batch, "scan", peaks[i], S.SEEDS[i]) for i in todo]
    S.run_jobs(batch_job, work, jobs, on_done=done)
    return [cache.get(key) for key in keys]


def batchrule_train(tasks: Sequence[str], alpha: float, scaled: bool, jobs: int) -> None:
    """The plans of rule ``(alpha, scaled)`` trained on every row whose peaks it changes,
    beside the shipped rule's plans trained the same way (mean final score, the paired
    difference)."""
    rows = [*BATCH_FIT_ROWS,
            *((t, SUITE[t].batch_size) for t in tasks if t not in S.FIT_TASKS)]  # fmt: skip
    print("| task | split | batch | shipped plan (trained) | the rule's plan (trained) | "
          "rule minus shipped | collapsed (rule) |")  # fmt: skip
    fit_diffs: list[float] = []  # a row's mean difference; 0 where the peaks are unchanged
    held_diffs: list[float] = []  # held-out classification tasks with an edge
    for task, b in rows:
        reads, _ = batch_runs(task, b, jobs)
        new = [batch_rule_peak(r, b, alpha, scaled) for r in reads]
        old = [batch_rule_peak(r, b, 0.0, False) for r in reads]
        split = "fit" if task in S.FIT_TASKS else "held out"
        flat = all(r.suggestions.get("edge") is None for r in reads)
        counted = fit_diffs if split == "fit" else held_diffs if S.higher(task) and not flat else []
        if flat or new == old:
            counted.append(0.0)
            print(f"| {task} | {split} | {b} | (peaks unchanged) |", flush=True)
            continue
        grid_peak = S.grid_summary(task, S.grid_runs(task, S.SEEDS, 1, False))["peak"]
        k = 100 if S.higher(task) else 1
        runs_old = batch_trained(task, b, old, jobs)
        runs_new = batch_trained(task, b, new, jobs)
        m_old, _, _ = S._stats(task, runs_old, grid_peak)
        m_new, _, n_col = S._stats(task, runs_new, grid_peak)
        diffs = [
            k * (n["scores"][-1] - o["scores"][-1]) for n, o in zip(runs_new, runs_old, strict=True)
        ]
        sd = statistics.stdev(diffs) if len(diffs) > 1 else 0.0
        counted.append(statistics.fmean(diffs))
        print(f"| {task} | {split} | {b} | {k * m_old:.4g} | {k * m_new:.4g} | "
              f"{statistics.fmean(diffs):+.3g} ± {sd:.2g} | {n_col}/{len(runs_new)} |",
              flush=True)  # fmt: skip
    for label, values in (("fit rows", fit_diffs), ("held-out classification", held_diffs)):
        if values:
            print(f"rule minus shipped, mean of the {label} ({len(values)}): "
                  f"{statistics.fmean(values):+.2f}")  # fmt: skip


def batchrule(tasks: Sequence[str], jobs: int) -> None:
    rows = [*BATCH_FIT_ROWS,
            *((t, SUITE[t].batch_size) for t in tasks if t not in S.FIT_TASKS)]  # fmt: skip
    names = [f"alpha {a:g}{', noise scaled' if sc else ''}" for a, sc in BATCH_RULES]
    print("| task | split | batch | " + " | ".join(names) + " |")
    fit_rows: list[list[float]] = []
    held_rows: list[list[float]] = []  # held-out classification tasks with an edge
    for task, b in rows:
        reads, scanned = batch_runs(task, b, jobs)
        split = "fit" if task in S.FIT_TASKS else "held out"
        if all(r.suggestions.get("edge") is None for r in reads):
            print(f"| {task} | {split} | {b} | (no edge: flat readings) |", flush=True)
            continue
        k = 100 if S.higher(task) else 1
        means = []
        for a, sc in BATCH_RULES:
            v = [N._interp(scanned, i, batch_rule_peak(r, b, a, sc), -1)
                 for i, r in enumerate(reads)]  # fmt: skip
            means.append(k * statistics.fmean(v))
        if split == "fit":
            fit_rows.append(means)
        elif S.higher(task):
            held_rows.append(means)
        cells = [f"{m:.4g}" for m in means]
        print(f"| {task} | {split} | {b} | " + " | ".join(cells) + " |", flush=True)
    for label, table in (("fit rows", fit_rows), ("held-out classification", held_rows)):
        if table:
            print(f"mean of the {label}: " + ", ".join(
                f"{n}: {statistics.fmean(col):.2f}"
                for n, col in zip(names, zip(*table, strict=True), strict=True)))  # fmt: skip


#: The gradient noise scale screen: each seed's sweep is read over the rates from the edge
#: over GNS_WINDOW up to the edge (the decade in which the loss falls toward the edge); the
#: factors c of its rules; its fit rows (the batch rule's and the noisy task at batch 512);
#: the optimizers whose rule takes the square root (Adam's step is normalised by the
#: gradient's own size, and its best rate follows the batch as a square root: the batch
#: screen's AdamW rows, and Malladi et al. 2022).
GNS_WINDOW = 10.0
GNS_FACTORS = (0.4, 0.6, 0.8, 1.0, 1.3, 1.6, 2.0)
GNS_FIT_ROWS = (*BATCH_FIT_ROWS, ("noisy-mlp-sgd", 512))
ADAPTIVE = ("adam", "adamw")


def gns_job(task_name: str, batch: int, seed: int) -> dict[str, Any]:
    """The suite's range test of ``task_name`` at ``batch`` (seed ``seed``), with the squared
    norm of the training loss's gradient on the whole batch and on each half of it recorded
    at every step (from the same forward pass, so the sweep is the cached one). Plain data."""
    import torch

    from clr_torch.demo.tasks import sweep

    torch.set_num_threads(1)
    task = dataclasses.replace(load_task(task_name), batch_size=batch)
    rows: list[list[float]] = []

    def step(model: Any, batch_xy: Any) -> Any:
        params = [q for q in model.parameters() if q.requires_grad]

        def squared(loss: Any) -> float:
            grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
            return float(sum(float((g.detach() ** 2).sum()) for g in grads if g is not None))

        x, target = batch_xy[0], batch_xy[1]
        out = model(x)
        loss = task.loss_fn(out, target)
        b = int(out.shape[0])
        h = b // 2
        halves = [squared(task.loss_fn(out[:h], target[:h])),
                  squared(task.loss_fn(out[h:], target[h:]))]  # fmt: skip
        rows.append([b, h, squared(loss), *halves])
        return loss

    result = sweep(task, seed, S.SWEEP, step_fn=step)
    return {"lrs": list(result.lrs), "losses": list(result.losses), "grads": rows}


def gns_runs(task: str, batch: int, jobs: int) -> list[dict[str, Any]]:
    """Every seed's :func:`gns_job` at ``batch`` (cached as ``<task>-gns``)."""
    cache = S.Cache(f"{task}-gns")
    keys = [S.key_of("gns", dataclasses.asdict(S.SWEEP), f"b{batch}", f"s{s}") for s in S.SEEDS]
    todo = [i for i, key in enumerate(keys) if cache.get(key) is None]
    if todo:
        print(f"{task} at batch {batch}: {len(todo)} sweep(s) to measure", flush=True)

    def done(j: int, value: dict[str, Any]) -> None:
        cache.put(keys[todo[j]], value)

    S.run_jobs(gns_job, [(task, batch, S.SEEDS[i]) for i in todo], jobs, on_done=done)
    return [cache.get(key) for key in keys]


def noise_scale(rec: dict[str, Any], edge: float) -> tuple[float, int]:
    """The simple gradient noise scale ``B = tr(Sigma) / |G|^2`` (McCandlish et al. 2018) over
    the steps whose rate lies in ``[edge / GNS_WINDOW, edge]``, and their count.

    Per step, with ``|g_b|^2`` the squared gradient norm on the batch of ``b`` examples and
    ``|g_h|^2`` the mean over its two halves (``h`` their harmonic mean size), the unbiased
    ``S = (|g_h|^2 - |g_b|^2) / (1/h - 1/b)`` and ``G = |g_b|^2 - S / b``; each is averaged over
    the window before the ratio (inf where the mean ``G`` is not positive)."""
    traces, signals = [], []
    for lr, (b, h, full, h1, h2) in zip(rec["lrs"], rec["grads"], strict=True):
        if not edge / GNS_WINDOW <= lr <= edge:
            continue
        inv_h = (1.0 / h + 1.0 / (b - h)) / 2.0
        trace = ((h1 + h2) / 2.0 - full) / (inv_h - 1.0 / b)
        traces.append(trace)
        signals.append(full - trace / b)
    if not traces:
        return math.nan, 0
    g = statistics.fmean(signals)
    return (statistics.fmean(traces) / g if g > 0 else math.inf), len(traces)


def gns_factor(x: float, optimizer: str) -> float:
    """The rule's shrinkage at noise scale over batch ``x``: ``1 / (1 + x)`` for SGD (the
    optimal step of McCandlish et al.), ``1 / sqrt(1 + x)`` for Adam and AdamW."""
    return 1.0 / math.sqrt(1.0 + x) if optimizer in ADAPTIVE else 1.0 / (1.0 + x)


def gns_peak(r: Any, x: float, optimizer: str, c: float | None, keep_noise: bool) -> float:
    """The plan's peak under the noise-scale rule: ``c * gns_factor * edge``, the noise-limited
    weight applied on top if ``keep_noise``; the shipped peak where ``c`` is None or the
    noise scale is undefined (no window, or a mean signal that is not positive)."""
    edge = r.suggestions.get("edge")
    if c is None or edge is None or not math.isfinite(x):
        return one_cycle_peak(r.max_lr, r.suggestions, r.noise_weight)
    clean = c * gns_factor(x, optimizer)
    return (edge_factor(clean, NOISY_PEAK_FACTOR, r.noise_weight) if keep_noise else clean) * edge


def gns_rows(
    tasks: Sequence[str], jobs: int
) -> list[tuple[str, int, list[Any], dict, list[float]]]:
    """The screen's rows (fit rows first, then the held-out tasks at their own batch): each
    row's readings, its 1cycle scan and each seed's noise scale over its batch; every measured
    sweep is checked to be the cached one, point for point."""
    rows = [*GNS_FIT_ROWS,
            *((t, SUITE[t].batch_size) for t in tasks if t not in S.FIT_TASKS)]  # fmt: skip
    out = []
    for task, b in rows:
        reads, scanned = batch_runs(task, b, jobs)
        recs = gns_runs(task, b, jobs)
        xs = []
        for r, rec in zip(reads, recs, strict=True):
            if list(r.lrs) != rec["lrs"] or list(r.losses) != rec["losses"]:
                raise SystemExit(f"{task} at batch {b}: the measured sweep is not the cached one")
            if len(rec["grads"]) != len(rec["lrs"]):
                raise SystemExit(f"{task} at batch {b}: {len(rec['grads'])} gradients recorded")
            edge = r.suggestions.get("edge")
            xs.append(math.nan if edge is None else noise_scale(rec, edge)[0] / b)
        out.append((task, b, reads, scanned, xs))
    return out


def gns(tasks: Sequence[str], jobs: int) -> None:
    rows = gns_rows(tasks, jobs)
    print(
        "| task | split | optimizer | batch | noise scale (median, spread) | noise scale / batch "
        "(median) | the rule's shrinkage (median) | best peak / median edge (R) | R / shrinkage |"
    )
    ranks: dict[tuple[bool, bool], list[tuple[float, float]]] = {}
    for task, b, reads, scanned, xs in rows:
        split = "fit" if task in S.FIT_TASKS else "held out"
        opt = SUITE[task].optimizer
        found = [x for x in xs if math.isfinite(x)]
        if not found:
            print(f"| {task} | {split} | {opt} | {b} | (no edge, or no signal) |", flush=True)
            continue
        best, _, _ = _best_window(task, scanned)
        med_edge = statistics.median(r.suggestions["edge"] for r in reads
                                     if r.suggestions.get("edge") is not None)  # fmt: skip
        x = statistics.median(found)
        f = gns_factor(x, opt)
        ratio = best / med_edge
        ranks.setdefault((split == "fit", opt in ADAPTIVE), []).append((f, ratio))
        print(f"| {task} | {split} | {opt} | {b} | {x * b:.3g}, {_spread(found):.2f}x"
              f"{'' if len(found) == len(xs) else f' ({len(xs) - len(found)} undefined)'} | "
              f"{x:.3g} | {f:.3g} | {ratio:.3g} | {ratio / f:.3g} |", flush=True)  # fmt: skip
    for (fit, adaptive), pairs in sorted(ranks.items()):
        if len(pairs) > 2:
            rho = spearman([p for p, _ in pairs], [q for _, q in pairs])
            print(f"Spearman(shrinkage, R), {'fit' if fit else 'held-out'} "
                  f"{'Adam' if adaptive else 'SGD'} rows ({len(pairs)}): {rho:+.2f}")  # fmt: skip
    variants = [(None, False), *((c, k) for k in (False, True) for c in GNS_FACTORS)]
    names = ["shipped", *(f"c {c:g}{' + noise rule' if k else ''}" for c, k in variants[1:])]
    print("| task | split | batch | " + " | ".join(names) + " |")
    fit_rows: list[list[float]] = []
    held: list[tuple[str, list[float]]] = []
    for task, b, reads, scanned, xs in rows:
        split = "fit" if task in S.FIT_TASKS else "held out"
        if all(r.suggestions.get("edge") is None for r in reads):
            print(f"| {task} | {split} | {b} | (no edge: flat readings) |", flush=True)
            continue
        k = 100 if S.higher(task) else 1
        opt = SUITE[task].optimizer
        means = []
        for c, keep in variants:
            v = [N._interp(scanned, i, gns_peak(r, xs[i], opt, c, keep), -1)
                 for i, r in enumerate(reads)]  # fmt: skip
            means.append(k * statistics.fmean(v))
        if split == "fit":
            fit_rows.append(means)
        else:
            held.append((task, means))
        print(f"| {task} | {split} | {b} | " + " | ".join(f"{m:.4g}" for m in means) + " |",
              flush=True)  # fmt: skip
    whole = [m for m in fit_rows if all(math.isfinite(v) for v in m)]
    if len(whole) < len(fit_rows):
        print(f"{len(fit_rows) - len(whole)} fit row(s) left out of the means: a peak above "
              "the row's scan (nan)")  # fmt: skip
    fit_means = [statistics.fmean(col) for col in zip(*whole, strict=True)]
    print("mean of the fit rows: " + ", ".join(
        f"{n}: {m:.2f}" for n, m in zip(names, fit_means, strict=True)))  # fmt: skip
    j = max(range(1, len(variants)), key=lambda i: fit_means[i])
    print(f"chosen on the fit rows: {names[j]} ({fit_means[j] - fit_means[0]:+.2f} over shipped)")
    worse = []
    acc = []
    for task, means in held:
        if S.higher(task):
            acc.append(means[j] - means[0])
            bad = means[j] - means[0] < -0.3
        else:
            bad = means[j] > 1.02 * means[0]
        print(
            f"  {task}: shipped {means[0]:.4g}, chosen {means[j]:.4g}" + (" (worse)" if bad else "")
        )
        worse += [task] if bad else []

    def misses(i: int) -> int:
        return sum(
            not (m[i] - m[0] >= -0.3 if S.higher(t) else m[i] <= 1.02 * m[0]) for t, m in held
        )

    print("held-out tasks worse than the bar, by column: " + ", ".join(
        f"{n}: {misses(i)}" for i, n in enumerate(names) if i))  # fmt: skip
    gain = statistics.fmean(acc) if acc else math.nan
    print(f"held-out classification, chosen minus shipped, mean: {gain:+.2f}; worse than the bar "
          f"on: {', '.join(worse) or 'none'}")  # fmt: skip
    passed = fit_means[j] - fit_means[0] >= 0.3 and gain >= 0 and not worse
    print("decision: " + ("passes the screen (next: trained check)" if passed else "rejected"))


#: The repeats screen: how many range tests from the same initial weights (each with its own
#: batch order, ``clr_torch.demo.tasks.sweep``'s ``order``) ``combine()`` takes.
REPEATS = (1, 2, 3)


def repeat_job(task_name: str, seed: int, order: int) -> dict[str, Any]:
    """The suite's default range test of ``task_name`` from seed ``seed``'s initial weights,
    its batches drawn in another order (``order`` >= 1). Plain data back."""
    import torch

    from clr_torch.demo.tasks import sweep

    torch.set_num_threads(1)
    result = sweep(load_task(task_name), seed, S.SWEEP, order=order)
    return {"result": result.to_json(indent=None), "steps": len(result.lrs)}


def repeat_reads(task: str, jobs: int) -> list[list[tuple[RangeTestResult, int]]]:
    """Per seed, its cached range test and ``max(REPEATS) - 1`` more from the same weights
    (cached as ``<task>-repeats``), each read by the current analysis."""
    cache = S.Cache(f"{task}-repeats")
    work = [(s, o) for s in S.SEEDS for o in range(1, max(REPEATS))]
    keys = [S.key_of("repeat", dataclasses.asdict(S.SWEEP), f"s{s}", f"o{o}") for s, o in work]
    todo = [i for i, key in enumerate(keys) if cache.get(key) is None]
    if todo:
        print(f"{task}: {len(todo)} range test(s) to run", flush=True)

    def done(j: int, value: dict[str, Any]) -> None:
        cache.put(keys[todo[j]], value)

    S.run_jobs(repeat_job, [(task, *work[i]) for i in todo], jobs, on_done=done)
    first = S.readings(task, S.SEEDS, 1)
    out = []
    for i, s in enumerate(S.SEEDS):
        more = [cache.get(k) for k, (s2, _) in zip(keys, work, strict=True) if s2 == s]
        out.append([first[i], *((S.reread(RangeTestResult.from_json(v["result"])), v["steps"])
                                for v in more)])  # fmt: skip
    return out


def repeats(tasks: Sequence[str], jobs: int) -> None:
    from clr_core.rangetest import combine

    head = ["task", "split"]
    for n in REPEATS:
        head += [f"{n}: steps", f"{n}: peak spread", f"{n}: max_lr spread", f"{n}: plan"]
    print("| " + " | ".join(head) + " |")
    met = {n: [0, 0, 0.0, 0.0] for n in REPEATS}  # peak met, max_lr met, their chances
    fit_plans: dict[int, list[float]] = {n: [] for n in REPEATS}
    for task in tasks:
        per_seed = repeat_reads(task, jobs)
        scan = S.peak_scan(task, S.SEEDS, 1, False)
        k = 100 if S.higher(task) else 1
        cells = [task, "fit" if task in S.FIT_TASKS else "held out"]
        for n in REPEATS:
            reads = [combine([r for r, _ in rs[:n]]) for rs in per_seed]
            steps = statistics.median(sum(st for _, st in rs[:n]) for rs in per_seed)
            peaks = [one_cycle_peak(r.max_lr, r.suggestions, r.noise_weight) for r in reads]
            tops = [r.max_lr for r in reads]
            plan = statistics.fmean(N._interp(scan, i, p, -1) for i, p in enumerate(peaks))
            if task in S.FIT_TASKS:
                fit_plans[n].append(k * plan)
            for j, vals in enumerate((peaks, tops)):
                met[n][j] += _spread(vals) <= 1.5
                met[n][2 + j] += _chance_within(statistics.stdev(math.log(v) for v in vals))
            cells += [f"{steps:g}", f"{_spread(peaks):.2f}x", f"{_spread(tops):.2f}x",
                      f"{k * plan:.4g}"]  # fmt: skip
        print("| " + " | ".join(cells) + " |", flush=True)
    for n in REPEATS:
        a, b, ca, cb = met[n]
        print(f"{n} range test(s): peak spread met on {a} of {len(tasks)} (expected by the "
              f"chances {ca:.1f}), max_lr on {b} (expected {cb:.1f})"
              + (f"; the plan's mean on the fit tasks {statistics.fmean(fit_plans[n]):.3f}"
                 if fit_plans[n] else ""))  # fmt: skip


#: Variants of the robust-fit screen: (degree, span as a fraction of the points, robustness
#: iterations) of a LOESS fit on the log-LR axis in place of the analysis' smoother.
LOESS_VARIANTS = (
    (1, 0.1, 2), (1, 0.15, 2), (1, 0.2, 2), (2, 0.15, 2), (2, 0.2, 2), (2, 0.3, 2), (2, 0.2, 0),
)  # fmt: skip
#: The cost target's sweep (1e-5 -> 10 in 100 steps) and the scales of the shipped peak rule
#: tried on it (the edge of a faster sweep reads higher).
SHORT_SWEEP = S.SweepSettings(1e-5, 10.0, 100, 0)
SHORT_SCALES = (0.6, 0.75, 0.9, 1.0)


def _solve(a: list[list[float]], b: list[float]) -> list[float] | None:
    """Gaussian elimination with partial pivoting; ``None`` for a singular system."""
    n = len(b)
    m = [[*row, v] for row, v in zip(a, b, strict=True)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        if abs(m[p][c]) < 1e-12:
            return None
        m[c], m[p] = m[p], m[c]
        for r in range(c + 1, n):
            f = m[r][c] / m[c][c]
            for k in range(c, n + 1):
                m[r][k] -= f * m[c][k]
    out = [0.0] * n
    for c in range(n - 1, -1, -1):
        out[c] = (m[c][n] - sum(m[c][k] * out[k] for k in range(c + 1, n))) / m[c][c]
    return out


def loess(y: Sequence[float], frac: float, degree: int, iterations: int) -> list[float]:
    """Cleveland's LOESS of ``y`` at equally spaced points (an exponential sweep is equally
    spaced in ``ln lr``): at each point a polynomial of ``degree`` fitted by weighted least
    squares to the nearest ``ceil(frac n)`` points, tricube weights in the distance; then
    ``iterations`` refits with bisquare robustness weights (residuals over six median absolute
    residuals)."""
    n = len(y)
    q = max(degree + 2, min(n, math.ceil(frac * n)))
    robust = [1.0] * n
    fit = list(y)
    for it in range(iterations + 1):
        fit = []
        for i in range(n):
            lo = max(0, min(i - q // 2, n - q))
            idx = range(lo, lo + q)
            dmax = max(abs(j - i) for j in idx) * 1.0001 or 1.0
            a = [[0.0] * (degree + 1) for _ in range(degree + 1)]
            b = [0.0] * (degree + 1)
            for j in idx:
                u = (j - i) / dmax
                w = (1 - abs(u) ** 3) ** 3 * robust[j]
                pw = [u**k for k in range(degree + 1)]
                for r in range(degree + 1):
                    b[r] += w * pw[r] * y[j]
                    for c in range(degree + 1):
                        a[r][c] += w * pw[r] * pw[c]
            coef = _solve(a, b)
            if coef is None:
                tw = a[0][0] or 1.0
                fit.append(b[0] / tw)
            else:
                fit.append(coef[0])
        if it == iterations:
            break
        resid = [v - f for v, f in zip(y, fit, strict=True)]
        mad = statistics.median(abs(r) for r in resid)
        if mad <= 0:
            break
        robust = [(1 - (r / (6 * mad)) ** 2) ** 2 if abs(r) < 6 * mad else 0.0 for r in resid]
    return fit


class _Smoother:
    """Within the block, the landmarks' smoothed curve is a LOESS fit (``variant``; ``None``:
    the shipped smoother) while the noise, and with it the noise-limited weight, is read about
    the shipped smoother as before (the noise-limited band was fitted at that reading)."""

    def __init__(self, variant: tuple[int, float, int] | None) -> None:
        self.variant = variant

    def __enter__(self) -> None:
        from clr_core.rangetest import _landmarks as L

        self.saved = (L.smooth, L._noise)
        if self.variant is None:
            return
        shipped_smooth, shipped_noise = self.saved
        degree, frac, iterations = self.variant

        def fit(values: Sequence[float], half_width: int) -> list[float]:
            return loess(values, frac, degree, iterations)

        def noise(y: Sequence[float], s: Sequence[float], end: int) -> float:
            h = max(1, round(L.SMOOTH * len(y)))
            return shipped_noise(y, shipped_smooth(y, h), end)

        L.smooth, L._noise = fit, noise

    def __exit__(self, *exc: object) -> None:
        from clr_core.rangetest import _landmarks as L

        L.smooth, L._noise = self.saved


def _variant_name(v: tuple[int, float, int] | None) -> str:
    return "shipped" if v is None else f"loess d{v[0]} f{v[1]:g} r{v[2]}"


def robust(tasks: Sequence[str], jobs: int) -> None:
    """The robust-fit screen: the shipped reading against LOESS fits, on the shipped sweeps
    and on 100-step sweeps (the latter with the peak rule scaled by ``SHORT_SCALES``)."""
    variants: list[tuple[int, float, int] | None] = [None, *LOESS_VARIANTS]
    head = ("task", "split", "sweep", "smoother", "scale", "steps (median)", "edge spread",
            "`max_lr` spread", "peak (median, spread)", "plan, interpolated",
            "noise-limited weight (sum)", "seeds without an edge")  # fmt: skip
    print("| " + " | ".join(head) + " |")
    # rows[(sweep, variant, scale)][task] = (plan, log peak spread, peak spread)
    rows: dict[tuple[int, str, float], dict[str, tuple[float, float, float]]] = {}
    for task in tasks:
        scan = S.peak_scan(task, S.SEEDS, jobs, False)
        k = 100 if S.higher(task) else 1
        split = "fit" if task in S.FIT_TASKS else "held out"
        for settings in (S.SWEEP, SHORT_SWEEP):
            sweeps = S.range_tests(task, settings, S.SEEDS, jobs)
            for v in variants:
                with _Smoother(v):
                    reads = [S.reread(r) for r, _ in sweeps]
                edges = [a.suggestions.get("edge", a.max_lr) for a in reads]
                base = [one_cycle_peak(a.max_lr, a.suggestions, a.noise_weight) for a in reads]
                scales = (1.0,) if settings is S.SWEEP else SHORT_SCALES
                for c in scales:
                    peaks = [c * p for p in base]
                    plan = statistics.fmean(
                        k * N._interp(scan, i, p, -1) for i, p in enumerate(peaks)
                    )
                    sd = statistics.stdev(math.log(p) for p in peaks)
                    key = (settings.steps, _variant_name(v), c)
                    rows.setdefault(key, {})[task] = (plan, sd, _spread(peaks))
                    cells = (task, split, settings.steps, _variant_name(v), c,
                             f"{statistics.median(n for _, n in sweeps):.0f}",
                             f"{_spread(edges):.2f}x",
                             f"{_spread([a.max_lr for a in reads]):.2f}x",
                             f"{statistics.median(peaks):.3g}, {_spread(peaks):.2f}x",
                             f"{plan:.4g}",
                             f"{sum(a.noise_weight for a in reads):.1f}",
                             sum("edge" not in a.suggestions for a in reads))  # fmt: skip
                    print("| " + " | ".join(str(x) for x in cells) + " |", flush=True)
    _robust_decide(tasks, rows)


def _robust_decide(
    tasks: Sequence[str], rows: dict[tuple[int, str, float], dict[str, tuple[float, float, float]]]
) -> None:
    """The decision lines of the robust-fit screen (the rule in docs/benchmarks.md)."""
    fit = [t for t in tasks if t in S.FIT_TASKS]
    held = [t for t in tasks if t not in S.FIT_TASKS]
    ship = rows[(S.SWEEP.steps, "shipped", 1.0)]

    def worse(task: str, plan: float, ref: float, bar: float) -> bool:
        # a flat reading's plan is its fallback rate, not a 1cycle at this peak: no scan to read
        if math.isnan(plan):
            return not math.isnan(ref)
        if S.higher(task):
            return plan < ref - bar
        return plan > ref * (1 + bar / 15)  # 0.3 -> 2% of MSE, 0.1 -> 0.67%

    def held_check(key: tuple[int, str, float]) -> str:
        row = rows[key]
        met = sum(row[t][2] <= 1.5 for t in held)
        met0 = sum(ship[t][2] <= 1.5 for t in held)
        sd = statistics.fmean(row[t][1] for t in held)
        sd0 = statistics.fmean(ship[t][1] for t in held)
        losses = [t for t in held if worse(t, row[t][0], ship[t][0], 0.3)]
        cls = [t for t in held if S.higher(t) and not math.isnan(ship[t][0] + row[t][0])]
        mean = statistics.fmean(row[t][0] for t in cls)
        mean0 = statistics.fmean(ship[t][0] for t in cls)
        ok = met >= met0 and sd < sd0 and not losses and mean >= mean0
        return (f"held out: peak target met on {met} (shipped {met0}), mean log-sd {sd:.3f} "
                f"(shipped {sd0:.3f}), beyond the bar on {losses or 'none'}, classification "
                f"mean {mean:.3f} (shipped {mean0:.3f}) -> "
                f"{'PASSES' if ok else 'FAILS'}")  # fmt: skip

    for key, row in rows.items():
        met = sum(row[t][2] <= 1.5 for t in tasks)
        print(f"{key[0]} steps, {key[1]} x{key[2]:g}: peak spread <= 1.5x on {met} of "
              f"{len(tasks)} (held out {sum(row[t][2] <= 1.5 for t in held)} of {len(held)}); "
              f"fit-task plans {', '.join(f'{row[t][0]:.4g}' for t in fit)}")  # fmt: skip
    # Q1: the shipped sweep, the smoother replaced
    eligible = []
    for (steps, name, c), row in rows.items():
        if steps != S.SWEEP.steps or name == "shipped":
            continue
        if all(not worse(t, row[t][0], ship[t][0], 0.1) for t in fit):
            eligible.append((statistics.fmean(row[t][1] for t in fit), name, (steps, name, c)))
    sd0 = statistics.fmean(ship[t][1] for t in fit)
    print(
        f"Q1 (200 steps): fit-task mean log-sd of the peak, shipped {sd0:.3f}; eligible "
        + (", ".join(f"{n} {sd:.3f}" for sd, n, _ in sorted(eligible)) or "none")
    )
    if eligible and min(eligible)[0] < sd0:
        sd, name, key = min(eligible)
        print(f"Q1 chosen: {name} ({sd:.3f}); " + (held_check(key) if held else ""))
    else:
        print("Q1: no variant lowers the fit tasks' spread within the plan's bar -> rejected")
    # Q2: the 100-step sweep, any smoother, the peak rule scaled
    cands = []
    for (steps, name, c), row in rows.items():
        if steps != SHORT_SWEEP.steps:
            continue
        if all(not worse(t, row[t][0], ship[t][0], 0.1) and row[t][2] <= max(1.5, ship[t][2])
               for t in fit):  # fmt: skip
            cands.append((statistics.fmean(row[t][0] for t in fit), name, c, (steps, name, c)))
    print("Q2 (100 steps): candidates on the fit tasks: "
          + (", ".join(f"{n} x{c:g} {m:.3f}" for m, n, c, _ in sorted(cands, reverse=True))
             or "none"))  # fmt: skip
    if cands:
        m, name, c, key = max(cands)
        print(f"Q2 chosen: {name} x{c:g} (fit mean {m:.3f}); " + (held_check(key) if held else ""))
    else:
        print(
            "Q2: no 100-step reading keeps the fit tasks' plan and spread -> the cost target "
            "cannot come from a robust fit"
        )


def plain_job(task_name: str, seed: int) -> dict[str, Any]:
    """The suite's default range test of ``task_name`` from seed ``seed``, the task's SGD run
    without momentum (``"sgd-plain"``). Plain data back."""
    import torch

    from clr_torch.demo.tasks import sweep

    torch.set_num_threads(1)
    result = sweep(load_task(task_name), seed, S.SWEEP, optimizer="sgd-plain")
    return {"result": result.to_json(indent=None), "steps": len(result.lrs)}


def plain_reads(task: str, jobs: int) -> list[RangeTestResult]:
    """Each seed's plain-SGD range test (cached as ``<task>-plainsgd``), read again."""
    cache = S.Cache(f"{task}-plainsgd")
    keys = [S.key_of("plain", dataclasses.asdict(S.SWEEP), f"s{s}") for s in S.SEEDS]
    todo = [i for i, key in enumerate(keys) if cache.get(key) is None]

    def done(j: int, value: dict[str, Any]) -> None:
        cache.put(keys[todo[j]], value)

    S.run_jobs(plain_job, [(task, S.SEEDS[i]) for i in todo], jobs, on_done=done)
    return [S.reread(RangeTestResult.from_json(cache.get(k)["result"])) for k in keys]


def _cycle(plan: Any) -> Any:
    """The plan's inverse momentum cycle (``PLAN_MOMENTUM``); none for a constant plan."""
    from clr_core.rangetest._recommend import PLAN_MOMENTUM

    return None if plan.policy == "constant" else plan.lr.momentum(*PLAN_MOMENTUM)


def plainsgd(tasks: Sequence[str], jobs: int) -> None:
    """The plan for a sweep run without momentum: its momentum cycle (0.95 -> 0.85 -> 0.95,
    turning heavy-ball momentum on) against its rates alone (momentum left at 0), trained over
    the equal budget, paired by seed; the decision lines of the rule in the notebook."""
    head = ("task", "split", "peak (median, spread)", "momentum cycled", "collapsed",
            "momentum left at 0", "collapsed", "left minus cycled (paired)")  # fmt: skip
    print("| " + " | ".join(head) + " |")
    rows: dict[str, tuple[float, int, int]] = {}  # task -> (left - cycled, collapses a, b)
    for task in tasks:
        epochs = S.budget(task, S.SEEDS, jobs, False)
        ipe = load_task(task).steps_per_epoch
        grid_peak = S.grid_summary(task, S.grid_runs(task, S.SEEDS, jobs, False))["peak"]
        plans = [r.recommend(ipe, epochs) for r in plain_reads(task, jobs)]
        out = []
        for cycled in (True, False):
            # the cycle written out: since this screen's rule shipped, recommend itself
            # leaves momentum alone after a sweep whose provenance records momentum 0
            specs = [(p.lr, _cycle(p) if cycled else None, epochs, s, "sgd-plain")
                     for p, s in zip(plans, S.SEEDS, strict=True)]  # fmt: skip
            out.append(S.train_many(task, specs, jobs, "plain, cycled" if cycled else "plain"))
        (ma, sa, ca), (mb, sb, cb) = (S._stats(task, rs, grid_peak) for rs in out)
        k = 100 if S.higher(task) else 1
        diff = [k * (b["scores"][-1] - a["scores"][-1]) for a, b in zip(*out, strict=True)]
        if not S.higher(task):  # percent better (+) or worse (-) in MSE
            diff = [-100 * d / ma for d in diff]
        se = statistics.stdev(diff) / math.sqrt(len(diff))
        rows[task] = (statistics.fmean(diff), ca, cb)
        peaks = [p.lr.bounds()[1] for p in plans]
        cells = (
            task,
            "fit" if task in S.FIT_TASKS else "held out",
            f"{statistics.median(peaks):.3g}, {_spread(peaks):.2f}x",
            f"{S.fmt(task, ma)} ± {S.fmt(task, sa)}",
            f"{ca}/10",
            f"{S.fmt(task, mb)} ± {S.fmt(task, sb)}",
            f"{cb}/10",
            f"{statistics.fmean(diff):+.2f} ± {se:.2f}" + (" pt" if S.higher(task) else "%"),
        )
        print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)  # fmt: skip
    fit = [t for t in rows if t in S.FIT_TASKS]
    held = [t for t in rows if t not in S.FIT_TASKS]
    fit_mean = statistics.fmean(rows[t][0] for t in fit) if fit else math.nan
    bad = [t for t in held if rows[t][0] < (-0.3 if S.higher(t) else -2.0)]
    safer = [t for t in rows if rows[t][1] > 0 and rows[t][2] == 0]
    riskier = [t for t in rows if rows[t][2] > 0 and rows[t][1] == 0]
    leave = not riskier and (bool(safer) or (fit_mean >= 0 and not bad))
    print(f"left minus cycled: fit-task mean {fit_mean:+.3f}; held out worse than the bar on "
          f"{bad or 'none'}; collapses only when cycled on {safer or 'none'}, only when left "
          f"on {riskier or 'none'} -> "
          + ("the plan leaves momentum alone after a sweep without it" if leave
             else "the cycle stays"))  # fmt: skip


#: Multiples of the fallback rate tried after a flat plain-SGD sweep: 1 (as shipped), 10 (heavy
#: ball's step factor 1 / (1 - beta) alone) and 19 ((1 + beta) / (1 - beta), beta = 0.9: the step
#: factor and the stability limit's, together; see the notebook).
PLAIN_FLAT_FACTORS = (1.0, 10.0, 19.0)


def plainflat(tasks: Sequence[str], jobs: int) -> None:
    """After a plain-SGD sweep that reads flat: the constant plan at ``k`` times the fallback
    rate, plain SGD, over the equal budget, 10 seeds; the decision line of the notebook's rule."""
    from clr_core import Constant

    head = ["task", "fallback rates"] + [f"x{k:g}" for k in PLAIN_FLAT_FACTORS]
    print("| " + " | ".join(head) + " |")
    ok = True
    for task in tasks:
        epochs = S.budget(task, S.SEEDS, jobs, False)
        grid_peak = S.grid_summary(task, S.grid_runs(task, S.SEEDS, jobs, False))["peak"]
        reads = plain_reads(task, jobs)
        flat = [r.confidence <= 0.0 for r in reads]
        stats = {}
        for k in PLAIN_FLAT_FACTORS:
            specs = [(Constant(k * r.lr), None, epochs, s, "sgd-plain")
                     for r, s in zip(reads, S.SEEDS, strict=True)]  # fmt: skip
            stats[k] = S._stats(task, S.train_many(task, specs, jobs, f"plain x{k:g}"), grid_peak)
        sign = 1 if S.higher(task) else -1
        top = max(PLAIN_FLAT_FACTORS)
        ok = ok and all(flat) and stats[top][2] == 0
        ok = ok and sign * (stats[top][0] - stats[1.0][0]) > 0
        lrs = [r.lr for r in reads]
        cells = [task, f"{min(lrs):.3g}-{max(lrs):.3g} ({sum(flat)} of 10 flat)"] + [
            f"{S.fmt(task, m)} ± {S.fmt(task, sd)} ({c}/10)" for m, sd, c in stats.values()
        ]
        print("| " + " | ".join(cells) + " |", flush=True)
    print(f"x{max(PLAIN_FLAT_FACTORS):g}: no collapse and better than x1 on every task: {ok}")


#: The raw sweeps the heldout screen reads, and its landmarks: (reading, suggestion).
HELDOUT_CONFIG = "wide300"
HELDOUT_MARKS = (
    ("loss", "edge"),
    ("val_loss", "metric_peak"),
    ("val_loss", "max_lr"),
    ("val_acc", "metric_peak"),
    ("val_acc", "max_lr"),
)


def heldout(tasks: Sequence[str]) -> None:
    import readings as RD
    from raw_sweeps import CONFIGS, raw_key

    cfg = CONFIGS[HELDOUT_CONFIG]
    names = [f"{k}: {m}" for k, m in HELDOUT_MARKS]
    print("| task | split | best 1cycle peak | "
          + " | ".join(f"{n} (median, spread; best peak / it)" for n in names) + " |")  # fmt: skip
    for task in tasks:
        cache = S.Cache(f"sweeps-{task}")
        recs = [cache.get(raw_key(cfg, s)) for s in S.SEEDS]
        recs = [r for r in recs if r is not None]
        best, _, _ = _best_window(task, S.peak_scan(task, S.SEEDS, 1, False))
        cells = [task, "fit" if task in S.FIT_TASKS else "held out", f"{best:g}"]
        stops = [RD.replay(r, cfg) for r in recs]
        for kind, mark in HELDOUT_MARKS:
            if kind == "val_acc" and not S.higher(task):
                cells.append("-")
                continue
            reads = [RD.read(r, n, kind, task) for r, n in zip(recs, stops, strict=True)]
            vals = [r.suggestions.get(mark) if mark != "max_lr" else r.max_lr for r in reads]
            found = [v for v in vals if v is not None and v > 0]
            if not found:
                cells.append("none")
                continue
            med = RD.gmedian(found)
            cells.append(f"{med:.3g}, {_spread(found):.2f}x ({len(found)}); {best / med:.3g}")
        print("| " + " | ".join(cells) + " |", flush=True)


def _chance_within(sd: float, n: int = 10, limit: float = 1.5, reps: int = 20_000) -> float:
    """The chance that ``n`` log-normal draws of log-standard deviation ``sd`` spread (largest
    over smallest) at most ``limit``, by simulation with a fixed seed."""
    import random

    rng = random.Random(0)
    hits = 0
    for _ in range(reps):
        xs = [rng.gauss(0.0, sd) for _ in range(n)]
        hits += max(xs) - min(xs) <= math.log(limit)
    return hits / reps


def spreadstat(tasks: Sequence[str]) -> None:
    for sd in (0.08, 0.1, 0.12, 0.15):
        print(f"10 draws of log-sd {sd:g} spread at most 1.5x with chance {_chance_within(sd):.2f}")
    print("| task | split | peak: spread, log-sd, chance | max_lr: spread, log-sd, chance |")
    expected, met = [0.0, 0.0], [0, 0]
    for task in tasks:
        reads = [r for r, _ in S.readings(task, S.SEEDS, 1)]
        peaks = S.plan_peaks(task, reads, S.SEEDS, 1, False)
        cells = []
        for j, vals in enumerate((peaks, [r.max_lr for r in reads])):
            sd = statistics.stdev(math.log(v) for v in vals)
            chance = _chance_within(sd)
            expected[j] += chance
            met[j] += _spread(vals) <= 1.5
            cells.append(f"{_spread(vals):.2f}x, {sd:.3f}, {chance:.2f}")
        split = "fit" if task in S.FIT_TASKS else "held out"
        print(f"| {task} | {split} | " + " | ".join(cells) + " |", flush=True)
    print(f"met / expected by the chances: peak {met[0]} / {expected[0]:.1f}, "
          f"max_lr {met[1]} / {expected[1]:.1f}")  # fmt: skip


def blind(tasks: Sequence[str]) -> None:
    def span(v: Sequence[float], fmt: str = ".3g") -> str:
        return f"{min(v):{fmt}}-{max(v):{fmt}}"

    for task in tasks:
        k = 100 if S.higher(task) else 1
        runs = S.grid_runs(task, S.SEEDS, 1, False)
        g = S.grid_summary(task, runs)
        print(f"## {task}: grid best {g['lr']:g}, {k * g['peak']:.4g} at epoch {g['epoch']}; "
              f"chosen on other seeds {k * S.chosen_elsewhere(task, runs):.4g}")  # fmt: skip
        for lr, curve in g["curves"].items():
            peak, epoch = S.best_of(curve, task)
            dead = S._stats(task, runs[lr], g["peak"])[2]
            print(f"  {lr:g}: peak {k * peak:.4g} at epoch {epoch}, final {k * curve[-1]:.4g}, "
                  f"collapsed {dead} of {len(runs[lr])}")  # fmt: skip
        pairs = S.readings(task, S.SEEDS, 1)
        reads = [r for r, _ in pairs]
        steps = [n for _, n in pairs]
        edges = [e for e in (r.suggestions.get("edge") for r in reads) if e is not None]
        noise = [r.diagnostics.get("noise_to_span", math.nan) for r in reads]  # none if flat
        print(f"  readings: noise / span {span(noise)}, "
              f"weights {[round(r.noise_weight, 2) for r in reads]}, "
              f"confidence {span([r.confidence for r in reads], '.2f')}, "
              f"steps {span(steps, 'd')}, lr {span([r.lr for r in reads])}")  # fmt: skip
        if edges:
            print(f"  edges {span(edges)} (median {statistics.median(edges):.3g}), {len(edges)} "
                  f"of {len(reads)} seeds; the plan's peaks "
                  f"{span(S.plan_peaks(task, reads, S.SEEDS, 1, False))}")  # fmt: skip
        if len(edges) < len(reads):
            no_edge = [r.max_lr for r in reads if r.suggestions.get("edge") is None]
            print(f"  seeds without an edge: {len(no_edge)}, their max_lr {span(no_edge)}")
        ipe, epochs = load_task(task).steps_per_epoch, S.budget(task, S.SEEDS, 1, False)
        plans = [r.recommend(ipe, epochs) for r in reads]
        small = sum(any(x.startswith("The batch is small") for x in p.reasons) for p in plans)
        print(f"  plans whose reasons carry the small-batch caveat: {small} of {len(reads)}")
        print("  the plans' policies (highest rates): " + ", ".join(
            f"{name} {sum(p.policy == name for p in plans)} ("
            + span([p.lr.bounds()[1] for p in plans if p.policy == name]) + ")"
            for name in sorted({p.policy for p in plans})))  # fmt: skip
        scan = S.peak_scan(task, S.SEEDS, 1, False)
        print("  1cycle scan, peak: mean final (collapsed): " + ", ".join(
            f"{p:g}: {k * m:.4g} ({c})" for p, (m, _, c) in
            ((p, S._stats(task, scan[p], g["peak"])) for p in sorted(scan))))  # fmt: skip
        # one_cycle_peak is the plan's peak where the plan is an uncapped 1cycle; the plan's own
        # highest rates (a constant plan's rate, a capped peak) are the "plan's peaks" above
        print("  per seed, max_lr / one_cycle_peak / a 1cycle there, interpolated on the scan: "
              + ", ".join(
            f"{r.max_lr:.3g} / {r.one_cycle_peak:.3g} / "
            f"{k * N._interp(scan, i, r.one_cycle_peak, -1):.4g}"
            for i, r in enumerate(reads)))  # fmt: skip
        plan, _, _ = S.plan_runs(task, S.SEEDS, 1, False, "recommend")
        fixed, _, _ = S.plan_runs(task, S.SEEDS, 1, False, "fixed")
        print("  per seed, plan / fixed: " + ", ".join(
            f"{k * p['scores'][-1]:.4g} / {k * f['scores'][-1]:.4g}"
            for p, f in zip(plan, fixed, strict=True)))  # fmt: skip


#: Multiples of each seed's ``max_lr`` tried as the 1cycle peak by the maxlr screen.
MAXLR_MULTIPLES = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)


#: The recipe variants of the noise-source screen: (label, changes to the task's spec).
NOISE_SOURCES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("as it is", {}),
    ("no augmentation", {"augment": False}),
    ("no label smoothing", {"label_smoothing": 0.0}),
    ("neither", {"augment": False, "label_smoothing": 0.0}),
)


def noisesource(tasks: Sequence[str]) -> None:
    from clr_torch.demo.tasks import sweep

    print("| task | recipe | noise / span (median; range) | noise-limited seeds | "
          "median edge | median plan peak / edge |")  # fmt: skip
    print("|:--|:--|--:|--:|--:|--:|")
    for task in tasks:
        base = load_task(task)
        for label, changes in NOISE_SOURCES:
            t = dataclasses.replace(base, spec=dataclasses.replace(base.spec, **changes))
            reads = [sweep(t, seed, S.SWEEP) for seed in S.SEEDS]
            noise = [r.diagnostics.get("noise_to_span", math.nan) for r in reads]
            edges = [r.suggestions["edge"] for r in reads if "edge" in r.suggestions]
            ipe, epochs = t.steps_per_epoch, S.budget(task, S.SEEDS, 1, False)
            ratio = [r.recommend(ipe, epochs).lr.bounds()[1] / r.suggestions["edge"]
                     for r in reads if "edge" in r.suggestions]  # fmt: skip
            print(f"| {task} | {label} | {statistics.median(noise):.3f}; {min(noise):.3f}-"
                  f"{max(noise):.3f} | {sum(r.noise_weight > 0.5 for r in reads)} of "
                  f"{len(reads)} | {statistics.median(edges) if edges else math.nan:.3g} | "
                  f"{statistics.median(ratio) if ratio else math.nan:.2f} |",
                  flush=True)  # fmt: skip


def _plans_trained(
    task: str, reads: Sequence[RangeTestResult], epochs: int, jobs: int, label: str, peak: float
) -> tuple[list[Any], list[Any], float, int]:
    """Each seed's reading's recommended plan over ``epochs``, trained on that seed (cached):
    the plans, the runs, their mean final score and how many collapsed (against ``peak``,
    the grid's best)."""
    ipe = load_task(task).steps_per_epoch
    plans = [r.recommend(ipe, epochs) for r in reads]
    specs = [(p.lr, p.momentum, epochs, s, None) for p, s in zip(plans, S.SEEDS, strict=True)]
    runs = S.train_many(task, specs, jobs, label)
    mean, _, dead = S._stats(task, runs, peak)
    return plans, runs, mean, dead


def augsweep(tasks: Sequence[str], jobs: int) -> None:
    from clr_torch.demo.tasks import sweep

    print("| task | sweep | noise / span | noise-limited seeds | median edge | the plan's peaks | "
          "final (collapsed) | change | paired, per seed |")  # fmt: skip
    print("|:--|:--|--:|--:|--:|--:|--:|--:|:--|")
    for task in tasks:
        base = load_task(task)
        if not base.spec.augment:
            raise ValueError(f"augsweep: task {task!r} does not augment")
        plain = dataclasses.replace(base, spec=dataclasses.replace(base.spec, augment=False))
        epochs = S.budget(task, S.SEEDS, jobs, False)
        g = S.grid_summary(task, S.grid_runs(task, S.SEEDS, jobs, False))
        rows: list[tuple[str, list[Any]]] = [
            ("augmented (shipped)", [r for r, _ in S.readings(task, S.SEEDS, jobs)]),
            ("without augmentation", [sweep(plain, seed, S.SWEEP) for seed in S.SEEDS]),
        ]
        first: list[float] = []
        for label, reads in rows:
            plans, runs, mean, dead = _plans_trained(
                task, reads, epochs, jobs, f"augsweep {label}", g["peak"]
            )
            finals = [r["scores"][-1] for r in runs]
            paired = ""
            if first:  # each seed against the shipped sweep's plan on the same seed
                diff = [S._gap_value(task, b, a) for a, b in zip(first, finals, strict=True)]
                sd = statistics.stdev(diff)
                t = statistics.fmean(diff) / sd * len(diff) ** 0.5
                paired = (f"{sum(d > 0 for d in diff)} better, {sum(d < 0 for d in diff)} "
                          f"worse; sd of the difference {sd:.2f}, t {t:.2f}")  # fmt: skip
            else:
                first = finals
            noise = [r.diagnostics.get("noise_to_span", math.nan) for r in reads]
            edges = [r.suggestions["edge"] for r in reads if "edge" in r.suggestions]
            peaks = [p.lr.bounds()[1] for p in plans]
            print(f"| {task} | {label} | {min(noise):.3f}-{max(noise):.3f} | "
                  f"{sum(r.noise_weight > 0.5 for r in reads)} of {len(reads)} | "
                  f"{statistics.median(edges) if edges else math.nan:.3g} | "
                  f"{min(peaks):.3g}-{max(peaks):.3g} | {S.fmt(task, mean)} ({dead}) | "
                  f"{S._gap_value(task, mean, statistics.fmean(first)):+.2f} | {paired} |",
                  flush=True)  # fmt: skip


def fellblowup(tasks: Sequence[str], jobs: int) -> None:
    """Each seed's plan and ``result.lr`` read with the rule for a loss that fell only as
    it blew up (shipped) and without it (the rule switched off for this screen only),
    trained over the budget; the seeds the rule fired on, paired."""
    import clr_core.rangetest._analysis as A

    print("| task | reading | seeds the rule fired on | the plans (policy: peaks) | plan, final "
          "(collapsed) | `result.lr`, final (collapsed) |")  # fmt: skip
    print("|:--|:--|:--|:--|--:|--:|")
    for task in tasks:
        epochs = S.budget(task, S.SEEDS, jobs, False)
        g = S.grid_summary(task, S.grid_runs(task, S.SEEDS, jobs, False))
        swept = [r for r, _ in S.range_tests(task, S.SWEEP, S.SEEDS, jobs)]
        on = [S.reread(r) for r in swept]
        rule, A._fell_into_blow_up = A._fell_into_blow_up, lambda *_: False
        try:
            off = [S.reread(r) for r in swept]
        finally:
            A._fell_into_blow_up = rule
        fired = [
            s for s, r in zip(S.SEEDS, on, strict=True) if "fell_into_blow_up" in r.diagnostics
        ]
        for label, reads in (("with the rule (shipped)", on), ("without it", off)):
            fixed = [
                (Constant(r.lr), None, epochs, s, None) for r, s in zip(reads, S.SEEDS, strict=True)
            ]
            plans, plan_runs, plan_mean, plan_dead = _plans_trained(
                task, reads, epochs, jobs, f"fellblowup {label} recommend", g["peak"]
            )
            fixed_runs = S.train_many(task, fixed, jobs, f"fellblowup {label} fixed")
            fixed_mean, _, fixed_dead = S._stats(task, fixed_runs, g["peak"])
            cells = []
            for runs, mean, dead in (
                (plan_runs, plan_mean, plan_dead),
                (fixed_runs, fixed_mean, fixed_dead),
            ):
                on_fired = " ".join(
                    f"s{s}: {S.fmt(task, r['scores'][-1])}"
                    for s, r in zip(S.SEEDS, runs, strict=True)
                    if s in fired
                )
                cells.append(
                    f"{S.fmt(task, mean)} ({dead})" + (f"; {on_fired}" if on_fired else "")
                )
            kinds = sorted({p.policy for p in plans})
            peaks = " ".join(f"{k}: {min(p.lr.bounds()[1] for p in plans if p.policy == k):.3g}-"
                             f"{max(p.lr.bounds()[1] for p in plans if p.policy == k):.3g}"
                             for k in kinds)  # fmt: skip
            print(f"| {task} | {label} | {' '.join(f's{s}' for s in fired) or 'none'} | {peaks} "
                  f"| {cells[0]} | {cells[1]} |", flush=True)  # fmt: skip


def _descent_from_end(r: RangeTestResult) -> float | None:
    """How far from the last usable point the smoothed loss's last descent below halfway
    down its fall starts, in smoothing half-widths ``h`` (the rule for a loss that fell only
    as it blew up fires within ``2h``); ``None`` for a flat loss."""
    from clr_core.rangetest._analysis import _FLAT_SNR
    from clr_core.rangetest._landmarks import SMOOTH, read_curve, x_down

    stop = next((i for i, v in enumerate(r.losses) if not math.isfinite(v)), len(r.losses))
    x = [math.log(v) for v in r.lrs[:stop]]
    lo = read_curve(x, r.losses[:stop])
    if not (lo.span > 0 and lo.span >= _FLAT_SNR * lo.noise):
        return None
    down = x_down(lo)
    i_down = 0 if down is None else next(i for i, v in enumerate(x) if v >= down)
    return (len(x) - 1 - i_down) / max(1, round(SMOOTH * len(x)))


def fellreplay(tasks: Sequence[str], repeats: bool) -> None:
    """The rule for a loss that fell only as it blew up, replayed on the cached range tests
    (no training): per task, the readings whose numbers it changes, the seeds it fires on
    with their descent's distance from the end (in ``h``), and the nearest of the others;
    with ``repeats``, also on the two extra sweeps per seed of ``flatrepeat``."""
    import clr_core.rangetest._analysis as A

    def numbers(r: RangeTestResult) -> tuple[float, ...]:
        return (r.confidence, r.lr, r.max_lr, r.base_lr)

    print("| task | sweeps | numbers changed | fired (distance in h) | nearest other (h) |")
    print("|:--|--:|:--|:--|--:|")
    for task in tasks:
        sweeps = [(f"s{s}", r) for s, (r, _) in enumerate(S.range_tests(task, S.SWEEP, S.SEEDS, 1))]
        if repeats:
            sweeps += [
                (f"s{s}o{o}", r)
                for s, rs in enumerate(repeat_reads(task, 1))
                for o, (r, _) in enumerate(rs[1:3], start=1)
            ]
        on = [S.reread(r) for _, r in sweeps]
        rule, A._fell_into_blow_up = A._fell_into_blow_up, lambda *_: False
        try:
            off = [S.reread(r) for _, r in sweeps]
        finally:
            A._fell_into_blow_up = rule
        changed = [
            n for (n, _), a, b in zip(sweeps, on, off, strict=True) if numbers(a) != numbers(b)
        ]
        dist = {n: _descent_from_end(r) for n, r in sweeps}
        fired = [
            n for (n, _), r in zip(sweeps, on, strict=True) if "fell_into_blow_up" in r.diagnostics
        ]
        others = [d for n, d in dist.items() if d is not None and n not in fired]
        shown = " ".join(f"{n} ({dist[n]:.2f})" for n in fired) or "none"
        nearest = f"{min(others):.2f}" if others else "-"
        print(f"| {task} | {len(sweeps)} | {' '.join(changed) or 'none'} | {shown} | {nearest} |",
              flush=True)  # fmt: skip


#: The grid's best fixed rate of the tasks whose sweeps read flat (docs/benchmarks.md, the
#: references table; the recurrent tasks' grids ran on the first machines).
FLAT_BEST = {
    "motif-gru-sgd": 0.1,
    "adding-lstm-sgd": 0.1,
    "recall-rnn-sgd": 0.01,
    "digits-deepmlp-sgd": 0.0464,
    "mnist1d-deepmlp-sgd": 0.0464,
}
#: The rises above the flat level (a share of it) tried as the flat reading's landmark.
FLAT_RISES = (0.02, 0.05, 0.1, 0.3)


def _risen(r: RangeTestResult, rise: float) -> float:
    """The first rate whose loss is non-finite or more than ``rise`` of the flat level (the
    median of the sweep's first half) above it; the last rate if none is."""
    n = len(r.losses)
    level = statistics.median(r.losses[: n // 2])
    for lr, v in zip(r.lrs, r.losses, strict=True):
        if not math.isfinite(v) or v > level + rise * abs(level):
            return lr
    return r.lrs[-1]


def flatland(tasks: Sequence[str]) -> None:
    """Landmarks of a flat sweep that blew up, against the last rate the fallback reads
    (descriptive, no training): each one's spread across the seeds and the grid's best rate
    over its geometric mean."""
    print("| task | the last rate (shipped) | " + " | ".join(f"risen {r:.0%}" for r in FLAT_RISES)
          + " |")  # fmt: skip
    print("|:--|" + "--:|" * (1 + len(FLAT_RISES)))
    for task in tasks:
        reads = [r for r, _ in S.readings(task, S.SEEDS, 1)]
        cells = []
        for rise in (None, *FLAT_RISES):
            v = [r.lrs[-1] if rise is None else _risen(r, rise) for r in reads]
            mean = math.exp(statistics.fmean(math.log(x) for x in v))
            cells.append(f"{max(v) / min(v):.3g}x, {FLAT_BEST[task] / mean:.3g}")
        print(f"| {task} | " + " | ".join(cells) + " |")


def flatrepeat(tasks: Sequence[str], jobs: int) -> None:
    """The plan from three range tests per seed (the seed's own and two more from the same
    weights, batches in other orders) joined by ``combine()``, against the shipped plan from
    one, both trained over the budget (a flat reading's fallback becomes the median of three)."""
    from clr_core.rangetest import combine

    print("| task | range tests | flat readings | the plans' rates | final (collapsed) | change "
          "| paired, per seed |")  # fmt: skip
    print("|:--|:--|--:|--:|--:|--:|:--|")
    import prior as P  # the budgets and grid bests, so no grid is re-run here

    for task in tasks:
        epochs, peak = P.REFERENCE[task]
        reads = repeat_reads(task, jobs)
        rows = [
            ("one (shipped)", [rs[0][0] for rs in reads]),
            ("three, combined", [combine([r for r, _ in rs[:3]]) for rs in reads]),
        ]
        first: list[float] = []
        for label, rr in rows:
            plans, runs, mean, dead = _plans_trained(
                task, rr, epochs, jobs, f"flatrepeat {label}", peak
            )
            finals = [r["scores"][-1] for r in runs]
            paired = ""
            if first:
                diff = [S._gap_value(task, b, a) for a, b in zip(first, finals, strict=True)]
                paired = f"{sum(d > 0 for d in diff)} better, {sum(d < 0 for d in diff)} worse"
            else:
                first = finals
            peaks = [p.lr.bounds()[1] for p in plans]
            print(f"| {task} | {label} | {sum(r.confidence <= 0 for r in rr)} of {len(rr)} | "
                  f"{min(peaks):.3g}-{max(peaks):.3g} | {S.fmt(task, mean)} ({dead}) | "
                  f"{S._gap_value(task, mean, statistics.fmean(first)):+.2f} | {paired} |",
                  flush=True)  # fmt: skip


def maxlr(tasks: Sequence[str]) -> None:
    head = ("task", "split", "median max_lr", "best peak (its score) / median max_lr",
            "the plan, interpolated",
            *(f"1cycle at {c:g} x max_lr" for c in MAXLR_MULTIPLES))  # fmt: skip
    print("| " + " | ".join(head) + " |")
    print("|" + ":--|" * 2 + "--:|" * (len(head) - 2))
    for task in tasks:
        scan, _, _, k = _outcomes(task)
        best, _, stats = _best_window(task, scan)
        reads = [r for r, _ in S.readings(task, S.SEEDS, 1)]
        median = statistics.median(r.max_lr for r in reads)
        split = "fit" if task in S.FIT_TASKS else "held out"
        cells = [f"{median:.3g}", f"{best / median:.2f} ({k * stats[best][0]:.4g})"]
        plan = [N._interp(scan, i, r.one_cycle_peak, -1) for i, r in enumerate(reads)]
        cells.append(f"{k * statistics.fmean(plan):.4g}")
        for c in MAXLR_MULTIPLES:
            v = [N._interp(scan, i, c * r.max_lr, -1) for i, r in enumerate(reads)]
            cells.append(f"{k * statistics.fmean(v):.4g}")
        print(f"| {task} | {split} | " + " | ".join(cells) + " |", flush=True)


#: The learning-rate-free screen: the optimizer whose step-size estimate is read, by the
#: task's optimizer family; the steps at which it is read (100 is the cost target); the
#: multiples of the estimate at which each seed's own 1cycle scan is interpolated; the
#: fit task of each family (the one the multiple is chosen on).
LRFREE_PROBE = {"sgd": "dadapt-sgd", "adam": "prodigy", "adamw": "prodigy"}
LRFREE_STEPS = (50, 100, 200)
LRFREE_AT = 100
LRFREE_MULTIPLES = (0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0)
LRFREE_FIT = {"dadapt-sgd": "noisy-mlp-sgd", "prodigy": "mnist1d-mlp-adamw"}
#: Multiples past the protocol's list, looked at after the decision (printed, never chosen).
LRFREE_AFTER = (7.0, 10.0, 15.0)


def lrfree_job(task_name: str, seed: int) -> dict[str, Any]:
    """The task's learning-rate-free optimizer at its defaults (``LRFREE_PROBE``: Prodigy for
    Adam and AdamW, D-Adaptation SGD with the task's momentum 0.9 for SGD; lr 1, constant,
    the task's weight decay) for ``max(LRFREE_STEPS)`` steps from the seed's initial weights
    on the seed's batches (those of its range test). After every step, the step size it
    applies: Prodigy's ``d`` (its Adam rate), D-Adaptation SGD's ``d * lr / |g_0|``; and the
    training loss. Plain data."""
    import torch

    from clr_torch.demo.tasks import batches, make_model

    torch.set_num_threads(1)
    task = load_task(task_name)
    kind = LRFREE_PROBE[task.spec.optimizer]
    torch.manual_seed(seed)
    model = make_model(task.spec.name)
    opt = S.anchor_optimizer(kind, task.spec.weight_decay, 0.9)(model.parameters(), 1.0)
    stream = batches(task, torch.Generator().manual_seed(seed))
    est: list[float | None] = []
    losses: list[float | None] = []
    for _ in range(max(LRFREE_STEPS)):
        xb, yb = next(stream)
        loss = task.loss_fn(model(xb), yb)
        value = float(loss.detach())
        losses.append(value if math.isfinite(value) else None)
        if not math.isfinite(value):
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
        g = opt.param_groups[0]
        size = float(g["d"]) * float(g["lr"])
        if kind == "dadapt-sgd":
            size /= float(g["g0_norm"])
        est.append(size if math.isfinite(size) else None)
    return {"kind": kind, "est": est, "losses": losses}


def lrfree_runs(task: str, jobs: int) -> list[dict[str, Any]]:
    """Every seed's :func:`lrfree_job` (cached as ``<task>-lrfree``)."""
    cache = S.Cache(f"{task}-lrfree")
    keys = [S.key_of("lrfree", max(LRFREE_STEPS), f"s{s}") for s in S.SEEDS]
    todo = [i for i, key in enumerate(keys) if cache.get(key) is None]
    if todo:
        print(f"{task}: {len(todo)} probe(s) to run", flush=True)

    def done(j: int, value: dict[str, Any]) -> None:
        cache.put(keys[todo[j]], value)

    S.run_jobs(lrfree_job, [(task, S.SEEDS[i]) for i in todo], jobs, on_done=done)
    return [cache.get(key) for key in keys]


def lrfree_estimate(rec: dict[str, Any], steps: int) -> float:
    """The step size after ``steps`` steps (nan if the probe's loss turned non-finite first)."""
    est = rec["est"]
    return math.nan if len(est) < steps or est[steps - 1] is None else float(est[steps - 1])


def _interp_mean(scan: dict[float, list[Any]], rates: Sequence[float]) -> float:
    """The mean over seeds of each seed's final score interpolated at its own rate (nan if any
    seed's rate is off the scan or undefined)."""
    v = [N._interp(scan, i, q, -1) if math.isfinite(q) else math.nan for i, q in enumerate(rates)]
    return statistics.fmean(v) if all(math.isfinite(x) for x in v) else math.nan


def lrfree(tasks: Sequence[str], jobs: int) -> None:
    if no_probe := [t for t in tasks if SUITE[t].optimizer not in LRFREE_PROBE]:
        raise SystemExit(f"lrfree: no learning-rate-free probe for {no_probe} (their optimizer)")
    fam = {t: LRFREE_PROBE[SUITE[t].optimizer] for t in tasks}
    for kind, fit in LRFREE_FIT.items():
        if kind in fam.values() and fit not in tasks:
            raise SystemExit(f"lrfree: the {kind} rows need their fit task {fit} in --tasks")
    rows: dict[str, dict[str, Any]] = {}
    for task in tasks:
        recs = lrfree_runs(task, jobs)
        scan, _, _, k = _outcomes(task)
        best, _, stats = _best_window(task, scan)
        reads = [r for r, _ in S.readings(task, S.SEEDS, 1)]
        peaks = [r.one_cycle_peak for r in reads]
        rows[task] = {
            "k": k, "scan": scan, "best": best, "best_score": stats[best][0],
            "peaks": peaks, "shipped": _interp_mean(scan, peaks),
            "est": {n: [lrfree_estimate(rec, n) for rec in recs] for n in LRFREE_STEPS},
            "diverged": sum(None in rec["losses"] for rec in recs),
        }  # fmt: skip
    print("| task | split | probe | diverged | estimate at 50 / 100 / 200 steps (median; spread) "
          "| best 1cycle peak / median estimate at 100 | scan's best | the plan, interpolated "
          "(its peak's spread) |")  # fmt: skip
    print("|:--|:--|:--|--:|:--|--:|--:|--:|")
    for task, row in rows.items():
        k = row["k"]
        cells = []
        for n in LRFREE_STEPS:
            e = [x for x in row["est"][n] if math.isfinite(x)]
            cells.append(f"{statistics.median(e):.3g}; {_spread(e):.2f}x" if e else "-")
        e100 = [x for x in row["est"][LRFREE_AT] if math.isfinite(x)]
        ratio = row["best"] / statistics.median(e100) if e100 else math.nan
        split = "fit" if task in S.FIT_TASKS else "held out"
        print(f"| {task} | {split} | {fam[task]} | {row['diverged']}/10 | {' / '.join(cells)} | "
              f"{ratio:.3g} | {k * row['best_score']:.4g} at {row['best']:.3g} | "
              f"{k * row['shipped']:.4g} ({_spread(row['peaks']):.2f}x) |")  # fmt: skip
    print()
    multiples = (*LRFREE_MULTIPLES, *LRFREE_AFTER)
    head = ("task", "split", *(f"{c:g} x estimate" for c in LRFREE_MULTIPLES),
            *(f"{c:g} x (afterwards)" for c in LRFREE_AFTER))  # fmt: skip
    print("Each seed's scan interpolated at c x its estimate after "
          f"{LRFREE_AT} steps (mean final score):")  # fmt: skip
    print("| " + " | ".join(head) + " |")
    print("|" + ":--|" * 2 + "--:|" * len(multiples))
    outcome: dict[str, dict[float, float]] = {}
    for task, row in rows.items():
        every = {
            c: _interp_mean(row["scan"], [c * x for x in row["est"][LRFREE_AT]]) for c in multiples
        }
        outcome[task] = {c: every[c] for c in LRFREE_MULTIPLES}
        split = "fit" if task in S.FIT_TASKS else "held out"
        cells = [f"{row['k'] * v:.4g}" for v in every.values()]
        print(f"| {task} | {split} | " + " | ".join(cells) + " |")
    print()
    for kind, fit in LRFREE_FIT.items():
        members = [t for t in tasks if fam[t] == kind]
        if not members:
            continue
        if not S.higher(fit):
            raise SystemExit(f"lrfree: the fit task {fit} must score accuracy (the tie rule)")
        ok = {c: v for c, v in outcome[fit].items() if math.isfinite(v)}
        top = max(ok.values())
        chosen = min(c for c, v in ok.items() if top - v <= 0.0005)  # a tie: within 0.05 points
        print(f"{kind}: c = {chosen:g}, chosen on {fit}")
        gains, worst, off = [], 0.0, []
        for t in members:
            if t == fit:
                continue
            row, v = rows[t], outcome[t][chosen]
            if not math.isfinite(v):
                off.append(t)
                continue
            if S.higher(t):
                d = row["k"] * (v - row["shipped"])
                gains.append(d)
                worst = min(worst, d / 0.3)
            else:
                d = 100 * (row["shipped"] - v) / row["shipped"]  # percent better (+)
                worst = min(worst, d / 2.0)
            e = [x for x in row["est"][LRFREE_AT] if math.isfinite(x)]
            steady = bool(e) and len(e) == 10 and _spread(e) <= 1.5
            gap = f"{d:+.2f} pt" if S.higher(t) else f"{d:+.1f}%"
            print(f"  {t}: {gap} against the "
                  f"shipped plan; estimate spread {(_spread(e) if e else math.nan):.2f}x "
                  f"({'meets' if steady else 'misses'} 1.5x), shipped peak "
                  f"{_spread(row['peaks']):.2f}x")  # fmt: skip
        mean_gain = statistics.fmean(gains) if gains else math.nan
        print(
            f"  held out: mean gain {mean_gain:+.2f} pt (classification), worst against its "
            f"bar {worst:.2f} (below -1: worse than the bar), off the scan: {off or 'none'}"
        )


#: The trials screen: trial lengths (fractions of the equal budget, at least one epoch), the
#: candidate sets (grid steps of the task's scan from the seed's plan peak snapped to it; six
#: steps a decade, so 2 steps is x2.15), the share of the training set held out for the
#: validation signal, and the fit tasks that choose the variant (those with scans here).
TRIAL_FRACTIONS = (0.1, 0.25)
TRIAL_SETS = {"3": (-2, 0, 2), "5": (-4, -2, 0, 2, 4)}
TRIAL_SIGNALS = ("val", "train")
TRIAL_VAL_SHARE = 0.15
TRIAL_FIT = ("noisy-mlp-sgd", "mnist1d-mlp-adamw")


def trial_epochs(task: str, fraction: float) -> int:
    return max(1, round(fraction * S.budget(task, S.SEEDS, 1, False)))


def trial_job(task_name: str, peak: float, epochs: int, seed: int, signal: str) -> dict[str, Any]:
    """A short trial: the plan's 1cycle shape at ``peak`` compressed into ``epochs`` epochs,
    from the seed's initial weights. ``signal`` "val" trains on the training set less its last
    :data:`TRIAL_VAL_SHARE` (whole batches) and scores on those held-out examples after each
    epoch (the test set plays no part); "train" trains on the whole training set and keeps the
    mean training loss of each epoch (its test scores are recorded, never used to choose)."""
    import torch

    from clr_torch.demo.tasks import hold_out, train

    torch.set_num_threads(1)
    task = load_task(task_name)
    if signal == "val":
        task, _ = hold_out(task, max(1, round(TRIAL_VAL_SHARE * len(task.x) / task.batch_size)))
    lr, mom = S.one_cycle(peak, epochs * task.steps_per_epoch)
    run = train(task, lr, epochs=epochs, seed=seed, momentum=mom, record=False)
    return {
        "scores": run.scores,
        "diverged": run.diverged,
        "train_losses": [x if math.isfinite(x) else None for x in run.train_losses],
    }


def _snap(rates: Sequence[float], rate: float) -> int:
    """The index of the rate of ``rates`` (sorted) nearest ``rate`` on the log axis."""
    return min(range(len(rates)), key=lambda i: abs(math.log(rates[i] / rate)))


def trial_runs(task: str, jobs: int) -> tuple[dict[tuple[str, float, float, int], Any], list[int]]:
    """Every trial any variant needs (cached as ``<task>-trials``): by ``(signal, fraction,
    rate, seed)``; and each seed's plan peak's index on the scan."""
    rates = sorted(S.GRIDS[task])
    reads = [r for r, _ in S.readings(task, S.SEEDS, 1)]
    snapped = [_snap(rates, p) for p in S.plan_peaks(task, reads, S.SEEDS, 1, False)]
    widest = TRIAL_SETS["5"]
    want = [
        (sig, f, rates[i + o], s)
        for sig in TRIAL_SIGNALS
        for f in TRIAL_FRACTIONS
        for s, i in zip(S.SEEDS, snapped, strict=True)
        for o in widest
        if 0 <= i + o < len(rates)
    ]
    cache = S.Cache(f"{task}-trials")
    keys = [S.key_of("trial", sig, f"p{p}", f"e{trial_epochs(task, f)}", f"s{s}")
            for sig, f, p, s in want]  # fmt: skip
    todo = [i for i, key in enumerate(keys) if cache.get(key) is None]
    if todo:
        print(f"{task}: {len(todo)} trial(s) to run", flush=True)

    def done(j: int, value: dict[str, Any]) -> None:
        cache.put(keys[todo[j]], value)

    work = [(task, want[i][2], trial_epochs(task, want[i][1]), want[i][3], want[i][0])
            for i in todo]  # fmt: skip
    S.run_jobs(trial_job, work, jobs, on_done=done)
    return {w: cache.get(key) for w, key in zip(want, keys, strict=True)}, snapped


def _trial_value(task: str, signal: str, rec: dict[str, Any]) -> float:
    """What a trial says, larger is better: the validation score (negated for MSE), or the
    negated training loss of its last epoch; a diverged trial says -inf."""
    if rec["diverged"]:
        return -math.inf
    if signal == "val":
        v = rec["scores"][-1]
        return v if S.higher(task) else -v
    loss = rec["train_losses"][-1]
    return -math.inf if loss is None else -loss


def trials(tasks: Sequence[str], jobs: int) -> None:
    if missing := [t for t in TRIAL_FIT if t not in tasks]:
        raise SystemExit(f"trials: the fit tasks {missing} must be in --tasks")
    variants = [(sig, f, name) for sig in TRIAL_SIGNALS for f in TRIAL_FRACTIONS
                for name in TRIAL_SETS]  # fmt: skip
    rows: dict[str, dict[str, Any]] = {}
    for task in tasks:
        recs, snapped = trial_runs(task, jobs)
        scan, _, _, k = _outcomes(task)
        rates = sorted(S.GRIDS[task])
        grid_peak = S.grid_summary(task, S.grid_runs(task, S.SEEDS, 1, False))["peak"]
        plan_runs, _, _ = S.plan_runs(task, S.SEEDS, 1, False)

        def final(rate: float, seed: int, scan: dict[float, list[Any]] = scan) -> float:
            return float(scan[rate][seed]["scores"][-1])

        base = [final(rates[i], s) for s, i in zip(S.SEEDS, snapped, strict=True)]
        out: dict[Any, Any] = {}
        for sig, f, name in variants:
            picks, scores = [], []
            for s, i in zip(S.SEEDS, snapped, strict=True):
                cands = [rates[i + o] for o in TRIAL_SETS[name] if 0 <= i + o < len(rates)]
                # the best signal; on a tie the smaller rate (candidates run low to high)
                pick = max(cands, key=lambda p: _trial_value(task, sig, recs[(sig, f, p, s)]))
                picks.append(rates.index(pick) - i)
                scores.append(final(pick, s))
            n_col = sum(S.collapsed(task, v, grid_peak, False) for v in scores)
            out[(sig, f, name)] = (statistics.fmean(scores), picks, n_col)
        oracle = {}
        for name, offs in TRIAL_SETS.items():
            sign = 1 if S.higher(task) else -1
            oracle[name] = statistics.fmean(
                max((final(rates[i + o], s) for o in offs if 0 <= i + o < len(rates)),
                    key=lambda v: sign * v)
                for s, i in zip(S.SEEDS, snapped, strict=True)
            )  # fmt: skip
        rows[task] = {
            "k": k, "base": statistics.fmean(base), "out": out, "oracle": oracle,
            "trained": S._stats(task, plan_runs, grid_peak)[0],
            "base_col": sum(S.collapsed(task, v, grid_peak, False) for v in base),
            "epochs": {f: trial_epochs(task, f) for f in TRIAL_FRACTIONS},
            "budget": S.budget(task, S.SEEDS, 1, False),
        }  # fmt: skip

    def gain(task: str, v: float) -> float:
        row = rows[task]
        if S.higher(task):
            return 100 * (v - row["base"])
        return 100 * (row["base"] - v) / row["base"]  # percent better (+)

    print("Each seed's own 1cycle scan (the equal budget) at the peak its trials choose, "
          "against the scan at the seed's plan peak snapped to the scan (mean final score; "
          "gain in points, or percent of MSE better):")  # fmt: skip
    head = ["task", "split", "budget; trial epochs", "the plan (trained)", "the plan, snapped",
            *(f"{sig} {f:g} x{name}" for sig, f, name in variants),
            *(f"best of x{name} (oracle)" for name in TRIAL_SETS)]  # fmt: skip
    print("| " + " | ".join(head) + " |")
    print("|" + ":--|" * 3 + "--:|" * (len(head) - 3))
    for task, row in rows.items():
        k = row["k"]
        split = "fit" if task in S.FIT_TASKS else "held out"
        ep = ", ".join(str(row["epochs"][f]) for f in TRIAL_FRACTIONS)
        cells = [f"{k * m:.4g} ({gain(task, m):+.2f}; {c} coll.)"
                 for m, _, c in (row["out"][v] for v in variants)]  # fmt: skip
        orc = [f"{k * row['oracle'][n]:.4g} ({gain(task, row['oracle'][n]):+.2f})"
               for n in TRIAL_SETS]  # fmt: skip
        print(f"| {task} | {split} | {row['budget']}; {ep} | {k * row['trained']:.4g} | "
              f"{k * row['base']:.4g} ({row['base_col']} coll.) | " + " | ".join(cells + orc)
              + " |")  # fmt: skip
    print()
    print("Grid steps chosen (0: the snapped plan peak; 2 steps: x2.15), per seed:")
    for task, row in rows.items():
        print(f"- {task}: " + "; ".join(
            f"{sig} {f:g} x{name} {row['out'][(sig, f, name)][1]}"
            for sig, f, name in variants))  # fmt: skip
    print()
    cost = {v: len(TRIAL_SETS[v[2]]) * v[1] for v in variants}
    fit_mean = {v: statistics.fmean(gain(t, rows[t]["out"][v][0]) for t in TRIAL_FIT)
                for v in variants}  # fmt: skip
    top = max(fit_mean.values())
    chosen = min((v for v in variants if top - fit_mean[v] <= 0.05), key=lambda v: cost[v])
    print(
        "fit tasks' mean gain per variant: "
        + "; ".join(
            f"{sig} {f:g} x{name} {fit_mean[(sig, f, name)]:+.2f}" for sig, f, name in variants
        )
    )
    print(f"chosen on {', '.join(TRIAL_FIT)}: {chosen[0]} {chosen[1]:g} x{chosen[2]} "
          f"(trials cost {cost[chosen]:g} x the budget)")  # fmt: skip
    gains, worst, new_col = [], math.inf, []
    for t in tasks:
        if t in TRIAL_FIT:
            continue
        m, _, c = rows[t]["out"][chosen]
        g = gain(t, m)
        if S.higher(t):
            gains.append(g)
        worst = min(worst, g / (0.3 if S.higher(t) else 2.0))
        if c > rows[t]["base_col"]:
            new_col.append(t)
        print(f"  {t}: {g:+.2f} {'pt' if S.higher(t) else '%'} against the snapped plan")
    mean_gain = statistics.fmean(gains) if gains else math.nan
    passed = mean_gain >= 0.3 and worst >= -1 and not new_col
    print(
        f"  held out: mean gain {mean_gain:+.2f} pt (classification; bar +0.30), worst against "
        f"its bar {worst:.2f} (below -1: worse than the bar), more collapses than the snapped "
        f"plan: {new_col or 'none'} -> {'passes' if passed else 'rejected'}"
    )


#: The screens that take the tasks alone, by command.
BY_TASKS: dict[str, Callable[[Sequence[str]], None]] = {
    "smooth": smooth, "pretrained": pretrained, "flat": flat, "margin": margin,
    "curvature": curvature, "flatpeak": flatpeak, "factors": factors, "heldout": heldout,
    "spreadstat": spreadstat, "blind": blind, "maxlr": maxlr, "noisesource": noisesource,
}  # fmt: skip


def peakcap(tasks: Sequence[str], caps: Sequence[float], jobs: int) -> None:
    from clr_core.rangetest._recommend import PLAN_MOMENTUM

    print("| task | split | cap | seeds changed | plan, interpolated (capped - shipped) | "
          "the capped plan, trained | collapsed |")  # fmt: skip
    print("|:--|:--|--:|--:|--:|--:|--:|")
    for task in tasks:
        scan, _, _, k = _outcomes(task)
        reads = [r for r, _ in S.readings(task, S.SEEDS, 1)]
        epochs = S.budget(task, S.SEEDS, 1, False)
        ipe = load_task(task).steps_per_epoch
        grid_peak = S.grid_summary(task, S.grid_runs(task, S.SEEDS, 1, False))["peak"]
        split = "fit" if task in S.FIT_TASKS else "held out"
        ratios = [one_cycle_peak(r.max_lr, r.suggestions, r.noise_weight, math.inf) / r.max_lr
                  for r in reads]  # fmt: skip
        print(f"| {task} | {split} | none | peak / max_lr without a cap: "
              f"{min(ratios):.2f}-{max(ratios):.2f} | | | |")  # fmt: skip
        for c in caps:
            plans = [r.recommend(ipe, epochs) for r in reads]
            peaks = [one_cycle_peak(r.max_lr, r.suggestions, r.noise_weight, c) for r in reads]
            changed = [
                i for i, (r, p) in enumerate(zip(reads, plans, strict=True))
                if p.policy == "one_cycle" and peaks[i] != r.one_cycle_peak
            ]  # fmt: skip
            diff = statistics.fmean(
                k * (N._interp(scan, i, peaks[i], -1) - N._interp(scan, i, r.one_cycle_peak, -1))
                for i, r in enumerate(reads)
            )  # fmt: skip
            trained, collapsed = "-", "-"
            if changed:
                specs = []
                for i, (p, seed) in enumerate(zip(plans, S.SEEDS, strict=True)):
                    lr = dataclasses.replace(p.lr, max_lr=peaks[i]) if i in changed else p.lr
                    mom = p.momentum
                    if i in changed and mom is not None:
                        mom = lr.momentum(*PLAN_MOMENTUM)
                    specs.append((lr, mom, epochs, seed, None))
                runs = S.train_many(task, specs, jobs, f"peakcap {c:g}")
                m, sd, n_col = S._stats(task, runs, grid_peak)
                trained = f"{S.fmt(task, m)} ± {S.fmt(task, sd)}"
                collapsed = f"{n_col}/{len(runs)}"
            print(
                f"| {task} | {split} | {c:g} | {len(changed)} (seeds {changed or '-'}) | "
                f"{diff:+.4g} | {trained} | {collapsed} |",
                flush=True,
            )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    commands = ("stop", "pace", "probe", "midrun", "batch", "noisypeak", "batchrule", "gns",
                "repeats", "robust", "plainsgd", "plainflat", "peakcap", "lrfree", "trials",
                "augsweep", "fellblowup", "fellreplay", "flatland", "flatrepeat",
                *BY_TASKS)  # fmt: skip
    p.add_argument("command", choices=commands)
    p.add_argument("--tasks", nargs="*", default=list(S.FIT_TASKS), choices=list(SUITE))
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument(
        "--sweeps", nargs="*", metavar="START,END,STEPS", help="pace: the sweeps (PACES)"
    )
    p.add_argument("--rates", nargs="*", type=float, default=[], help="probe: fixed rates")
    p.add_argument("--epochs", type=int, default=30, help="probe: epochs")
    p.add_argument(
        "--batches", nargs="*", type=int, default=[], help="batch, noisypeak: batch sizes"
    )
    p.add_argument(
        "--train", nargs=2, metavar=("ALPHA", "scaled|plain"), help="batchrule: train this rule"
    )
    p.add_argument("--caps", nargs="*", type=float, default=[3.0, 4.0], help="peakcap: the caps")
    p.add_argument(
        "--repeats", action="store_true", help="fellreplay: also flatrepeat's extra sweeps"
    )
    args = p.parse_args(argv)
    if args.command in BY_TASKS:
        BY_TASKS[args.command](args.tasks)
    elif args.command == "stop":
        stop(args.tasks, STOP_VARIANTS)
    elif args.command == "pace":
        paces = [tuple(map(float, v.split(","))) for v in args.sweeps or []]
        pace(args.tasks, args.jobs, [(a, b, int(n)) for a, b, n in paces] or PACES)
    elif args.command == "augsweep":
        augsweep(args.tasks, args.jobs)
    elif args.command == "fellblowup":
        fellblowup(args.tasks, args.jobs)
    elif args.command == "flatland":
        flatland(args.tasks)
    elif args.command == "fellreplay":
        fellreplay(args.tasks, args.repeats)
    elif args.command == "flatrepeat":
        flatrepeat(args.tasks, args.jobs)
    elif args.command == "probe":
        probe(args.tasks, args.rates, args.epochs)
    elif args.command == "midrun":
        midrun(args.tasks, args.jobs)
    elif args.command == "batch":
        batch(args.tasks, args.batches, args.jobs)
    elif args.command == "noisypeak":
        noisypeak(args.tasks, args.batches, args.jobs)
    elif args.command == "gns":
        gns(args.tasks, args.jobs)
    elif args.command == "repeats":
        repeats(args.tasks, args.jobs)
    elif args.command == "robust":
        robust(args.tasks, args.jobs)
    elif args.command == "plainsgd":
        plainsgd(args.tasks, args.jobs)
    elif args.command == "plainflat":
        plainflat(args.tasks, args.jobs)
    elif args.command == "peakcap":
        peakcap(args.tasks, args.caps, args.jobs)
    elif args.command == "lrfree":
        lrfree(args.tasks, args.jobs)
    elif args.command == "trials":
        trials(args.tasks, args.jobs)
    elif args.train:
        batchrule_train(args.tasks, float(args.train[0]), args.train[1] == "scaled", args.jobs)
    else:
        batchrule(args.tasks, args.jobs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
