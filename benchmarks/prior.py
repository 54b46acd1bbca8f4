"""A prior over tasks against the range test (docs/benchmarks.md, lab notebook: a prior over
tasks, 2026-12-02).

Does the range test place the plan's 1cycle peak better than what a user knows before any
sweep, the optimizer's family? And does a prior learned from some tasks of the suite improve
the reading on the others? Half of the suite's first 26 tasks (the even positions of ``SUITE``,
which hold the three original fit tasks) fits one constant per optimizer family for each
candidate below; the other half judges it. Later tasks (blind checks) join neither side.

Per seed, the shipped default range test (``suite.SWEEP``) read by the shipped analysis gives the
plan's peak ``P0`` (the fixed rate of a constant plan) and ``M`` (``max_lr``; ``result.lr`` where
the reading has no confidence). Per task, ``B`` is the best peak of the 1cycle peak scan
(:data:`SCAN`, the scan table of docs/benchmarks.md). Per optimizer family ``f`` (adaptive:
Adam, AdamW, RMSprop; sgd: SGD with or without momentum), geometric means over the fit tasks
of the family:

* ``shipped``: ``P0``;
* ``family``: ``F_f``, the mean best peak: no range test at all;
* ``shipped-c``: ``c_f * P0``, ``c_f`` the mean of ``B / P0`` (a family's correction of the
  shipped rule);
* ``maxlr-k``: ``k_f * M``, ``k_f`` the mean of ``B / M``;
* ``halfway``: ``sqrt(F_f * c_f * P0)``, the corrected reading shrunk halfway to the prior;
* ``shrink``: ``sqrt(F_f * P0)``, the shipped reading itself shrunk halfway (in log) to the
  family's constant: no constant beyond ``F_f`` (the nineteenth session's screen, lab notebook:
  the reading shrunk to the prior);
* ``gate-noise``: ``F_f ** (1 - a) * P0 ** a`` with ``a = (1 + w) / 2``, ``w`` the reading's
  noise weight: the shrink, undone as far as the reading counts as noise-limited (the twentieth
  session's screen, lab notebook: evidence-gated shrinkage);
* ``gate-noisebatch``: the same, with ``w`` counted only at a batch of at most
  ``SMALL_BATCH`` (32, the shipped batch rule's threshold), else 0;
* ``gate-batch``: the reading itself (``a = 1``) at a batch of at most ``SMALL_BATCH``, the
  shrink (``a = 1/2``) otherwise;
* ``noisy-refit``: the shipped reading with the noise-limited peak factor (``NOISY_PEAK_FACTOR``,
  0.11, chosen in the first session on one fit task) replaced by :data:`NOISY_REFIT`, the
  factor ``noisyfit`` finds best on the fit half; only noise-limited seeds move.

``weight`` fits the shrink's weight itself on the fit half: ``F_f ** (1 - a) * P0 ** a`` for
``a`` in 0, 0.1, ..., 1, by the proxy's two measures on :data:`FIT` alone.

The seven tasks added after the twelfth session (``LATER``, the suite's positions 26-32) join
neither side of the fit: ``proxy`` reports them as a third split, judged by the same frozen
constants; the tasks added after that screen's protocol (``BLIND``) are a fourth. A task joins
``proxy`` once its scan row is in :data:`SCAN`.

``proxy`` compares each candidate's peaks with the scan's labels (no training); ``train``
trains each candidate's plan (the shipped plan's 1cycle with its peak replaced, the momentum
rule unchanged) over the documented budget, 10 seeds, side by side with the shipped plan::

    python benchmarks/prior.py proxy --jobs 2
    python benchmarks/prior.py train --tasks <held-out tasks> --jobs 2
    python benchmarks/prior.py train --tasks <tasks> --candidates shipped shrink --jobs 2
    python benchmarks/prior.py proxy --splits fit --candidates shipped shrink gate-noise \
        gate-noisebatch gate-batch --jobs 2
    python benchmarks/prior.py weight --jobs 2
    python benchmarks/prior.py noisyfit --jobs 2
    python benchmarks/prior.py edgeratio --jobs 2
    python benchmarks/prior.py budgetscan --tasks friedman-mlp-sgd diabetes-mlp-sgd \
        --epochs 10 30 95 --jobs 2
    python benchmarks/prior.py klaw --tasks <tasks> --jobs 2

``select`` trains the shipped plan and each named candidate's plan on the training set less a
validation split (its last 15%, whole batches, :data:`VAL_SHARE`), scores the split after
every epoch and reports the test score at the epoch the split scores best (checkpoint
selection, the test set never consulted), beside the same run's last epoch and the shipped plan
trained on the whole training set::

    python benchmarks/prior.py select --tasks <tasks> --candidates noisy-refit --jobs 2

``klaw`` reads each task's fixed-rate grid as an overfitting probe would: per good rate that
turns, the epoch of its best and the learning rate spent by then (the twenty-first session's
screen, lab notebook: the fixed amount of learning rate).

``budgetscan`` runs the 1cycle peak scan (the plan's shape at every grid rate, 10 seeds) over
other budgets than the task's own, to see whether a task's best peak moves with its budget.
"""

from __future__ import annotations

import argparse
import functools
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

from clr_core import OneCycle, Schedule
from clr_core.rangetest import RangeTestResult
from clr_core.rangetest._handoff import budget_steps, one_cycle_peak
from clr_core.rangetest._recommend import (
    PLAN_DIV,
    PLAN_MOMENTUM,
    PLAN_PCT_START,
    SMALL_BATCH,
    recorded_momentum,
)
from clr_torch.demo.tasks import SUITE, load_task

#: The 1cycle peak scan's labels per task, copied from docs/benchmarks.md (the scan table,
#: "The 1cycle peak scan (an oracle)"; each task's first machine): the best peak, the lowest and
#: highest peak within 0.3 points (1% of MSE) of it, and the first peak with a collapsed run
#: (``inf``: none).
SCAN: dict[str, tuple[float, float, float, float]] = {
    "mnist1d-cnn-sgd": (0.215, 0.215, 0.215, 0.316),
    "mnist1d-cnn-adam": (0.0316, 0.0316, 0.0464, math.inf),
    "digits-mlp-sgd": (0.681, 0.681, 0.681, 1.47),
    "digits-resnet-sgd": (0.464, 0.316, 2.15, math.inf),
    "noisy-mlp-sgd": (0.0215, 0.0147, 0.215, math.inf),
    "friedman-mlp-sgd": (0.0147, 0.01, 0.0215, math.inf),
    "mnist1d-mlp-adamw": (0.0215, 0.0147, 0.0215, math.inf),
    "motif-gru-sgd": (0.0681, 0.0681, 0.215, 0.01),
    "adding-lstm-sgd": (0.215, 0.215, 0.215, 0.01),
    "count-transformer-adamw": (0.00215, 0.00215, 0.0147, 0.0464),
    "recall-rnn-sgd": (0.0215, 0.0215, 0.0215, 0.001),
    "friedman3-deepmlp-adam": (0.0215, 0.0147, 0.0215, 0.0316),
    "mnist1d-dropout-sgd": (0.147, 0.147, 0.215, 0.464),
    "digits-dropout-sgd": (0.0464, 0.0316, 0.0464, 0.147),
    "clean8-mlp-sgd": (0.0316, 0.0316, 0.0464, math.inf),
    "digits-cnn-adam": (0.0215, 0.00681, 0.0215, 0.0681),
    "spirals-mlp-adam": (0.0316, 0.00215, 0.0681, 0.000316),
    "hastie-mlp-plainsgd": (0.0464, 0.0147, 0.0681, 1.47),
    "digits-linear-sgd": (0.464, 0.215, 0.681, math.inf),
    "digits-ae-adam": (0.0316, 0.0316, 0.0316, 0.1),
    "digits-finetune-adamw": (0.0147, 0.0147, 0.0147, 0.0001),
    "digits-finetune-sgd": (0.1, 0.1, 0.1, 0.215),
    "mnist1d-finetune-adam": (0.0464, 0.0464, 0.0464, 0.0001),
    "mnist1d-finetune-sgd": (0.1, 0.0681, 0.1, 0.215),
    "digits-mlp-adam-b8": (0.0316, 0.0316, 0.0316, 0.147),
    "digits-mlp-rmsprop": (0.01, 0.01, 0.01, 0.147),
    # The later tasks (each one's scan row; the first collapse counted on the side *above*
    # the best peak, since a peak too low to train is not what the column asks about).
    "digits-aug-nesterov": (0.1, 0.0464, 0.316, math.inf),
    "digits-deepmlp-sgd": (0.1, 0.1, 0.1, 0.147),
    "digits-augmlp-adam": (0.00681, 0.00464, 0.00681, math.inf),
    "digits-augresnet-sgd": (0.215, 0.0681, 2.15, math.inf),
    "mnist1d-deepmlp-sgd": (0.147, 0.147, 0.147, 0.215),
    "digits-deepcnn-sgd": (0.147, 0.147, 0.147, 0.215),
    "digits-lnmlp-adamw": (0.00316, 0.000681, 0.00681, 0.681),
    # the twenty-seventh blind task (nineteenth session, this machine's scan)
    "motif-gru-adam": (0.0215, 0.0147, 0.0215, 0.1),
    # the twenty-eighth blind task (twentieth session, this machine's scan; peaks of 0.00147
    # and below too low to train in 10 epochs, the first collapse above the best 0.316)
    "diabetes-mlp-sgd": (0.0147, 0.01, 0.0215, 0.316),
}

#: Each task's budget (epochs) and grid's best (the references table of docs/benchmarks.md,
#: the first machine's grids): the plans are trained over that budget, and a run collapses by
#: the suite's rule against that grid's best, without recomputing the grid here.
REFERENCE: dict[str, tuple[int, float]] = {
    "mnist1d-cnn-sgd": (64, 0.9545),
    "mnist1d-cnn-adam": (86, 0.9464),
    "digits-mlp-sgd": (34, 0.9385),
    "digits-resnet-sgd": (46, 0.9798),
    "noisy-mlp-sgd": (23, 0.6350),
    "friedman-mlp-sgd": (95, 0.0557),
    "mnist1d-mlp-adamw": (60, 0.7963),
    "motif-gru-sgd": (51, 0.7858),
    "adding-lstm-sgd": (94, 0.0007),
    "count-transformer-adamw": (48, 0.9928),
    "recall-rnn-sgd": (57, 0.7572),
    "friedman3-deepmlp-adam": (91, 0.1057),
    "mnist1d-dropout-sgd": (95, 0.7630),
    "digits-dropout-sgd": (55, 0.9448),
    "clean8-mlp-sgd": (39, 0.7486),
    "digits-cnn-adam": (44, 0.9625),
    "spirals-mlp-adam": (78, 0.9073),
    "hastie-mlp-plainsgd": (100, 0.9230),
    "digits-linear-sgd": (40, 0.9217),
    "digits-ae-adam": (100, 0.1332),
    "digits-finetune-adamw": (47, 0.9462),
    "digits-finetune-sgd": (59, 0.9156),
    "mnist1d-finetune-adam": (26, 0.8712),
    "mnist1d-finetune-sgd": (56, 0.8852),
    "digits-mlp-adam-b8": (24, 0.9300),
    "digits-mlp-rmsprop": (55, 0.9259),
    # the twentieth and twenty-first blind tasks (fifteenth session): this machine's grids
    "digits-aug-nesterov": (58, 0.9897),
    "digits-deepmlp-sgd": (80, 0.9332),
    # the twenty-second and twenty-third blind tasks (fifteenth session): that machine's grids
    "digits-augmlp-adam": (52, 0.9365),
    "digits-augresnet-sgd": (60, 0.9849),
    # the twenty-fourth blind task (sixteenth session): this machine's grid
    "mnist1d-deepmlp-sgd": (143, 0.6717),
    # the twenty-fifth blind task (seventeenth session): this machine's grid
    "digits-deepcnn-sgd": (34, 0.9494),
    # the twenty-sixth blind task (eighteenth session): this machine's grid
    "digits-lnmlp-adamw": (50, 0.9466),
    # the twenty-seventh blind task (nineteenth session): this machine's grid
    "motif-gru-adam": (8, 0.8043),
    # the twenty-eighth blind task (twentieth session): this machine's grid
    "diabetes-mlp-sgd": (10, 0.4674),
}

#: Half a step of the scan's grid (six rates a decade), as a factor: a peak within it of a
#: scan rate would be snapped to that rate.
HALF_STEP = 10 ** (1 / 12)
#: The tasks of the prior screen: the suite's first 26 (the twelfth session's; later tasks
#: are blind checks and join neither side).
PRIOR_TASKS = tuple(SUITE)[:26]
#: The split: the even positions fit the constants, the odd ones judge them.
FIT = tuple(t for i, t in enumerate(PRIOR_TASKS) if i % 2 == 0)
HELD_OUT = tuple(t for i, t in enumerate(PRIOR_TASKS) if i % 2 == 1)
#: The tasks added after the twelfth session: judged by the frozen constants, fitted on none.
LATER = tuple(SUITE)[26:33]
#: The tasks added after the shrink screen's protocol (blind for every candidate here).
BLIND = tuple(SUITE)[33:]
CANDIDATES = (
    "shipped", "family", "shipped-c", "maxlr-k", "halfway", "shrink", "gate-noise",
    "gate-noisebatch", "gate-batch", "noisy-refit",
)  # fmt: skip
SPLITS = ("fit", "held out", "later", "blind")


def split_of(task: str) -> str:
    return (
        "fit" if task in FIT
        else "held out" if task in HELD_OUT
        else "later" if task in LATER
        else "blind"
    )  # fmt: skip


def family(task: str) -> str:
    return "adaptive" if SUITE[task].optimizer in ("adam", "adamw", "rmsprop") else "sgd"


def _gmean(values: Sequence[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values))


def reads(task: str, jobs: int, seeds: Sequence[int] = S.SEEDS) -> list[RangeTestResult]:
    """Each seed's shipped range test, read by the shipped analysis (cached by suite.py); the
    constants are always fitted on the suite's seeds (:data:`suite.SEEDS`)."""
    return [r for r, _ in S.readings(task, seeds, jobs)]


def shipped_peak(task: str, r: RangeTestResult, epochs: int | None = None) -> float:
    """The shipped plan's highest rate over the task's budget (its peak, or its fixed rate);
    ``epochs``: another budget than ``REFERENCE``'s."""
    e = REFERENCE[task][0] if epochs is None else epochs
    return r.recommend(load_task(task).steps_per_epoch, e).lr.bounds()[1]


def scale(r: RangeTestResult) -> float:
    """``max_lr``, or ``result.lr`` where the reading has no confidence."""
    return r.max_lr if r.confidence > 0 and math.isfinite(r.max_lr) else r.lr


Rule = Callable[[str, RangeTestResult], float]


def grid_steps(peak: float, best: float) -> float:
    """How far ``peak`` lies from ``best`` in steps of the scan's grid (six a decade)."""
    return abs(6 * math.log10(peak / best))


def in_window(peak: float, lo: float, hi: float) -> bool:
    """Whether ``peak`` lies in the scan's window ``lo``-``hi``, widened by half a step."""
    return lo / HALF_STEP <= peak <= hi * HALF_STEP


def toward(prior: float, reading: float, a: float) -> float:
    """``prior ** (1 - a) * reading ** a``: the reading moved toward the prior on the log axis
    (``a = 1``: the reading; ``a = 0``: the prior)."""
    return math.exp(a * math.log(reading) + (1.0 - a) * math.log(prior))


#: The noise-limited peak factors the ``noisyfit`` command tries (the shipped one is 0.11).
NOISY_FACTORS = (0.05, 0.08, 0.11, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8)
#: The factor ``noisyfit`` chose on the fit half (twentieth session): nearest the best peak
#: there (1.94 grid steps against the shipped 0.11's 2.15) with the most seeds in the window.
NOISY_REFIT = 0.25


def with_noisy_factor(task: str, r: RangeTestResult, factor: float) -> float:
    """The shipped plan's peak with ``factor`` in place of the noise-limited peak factor
    (``NOISY_PEAK_FACTOR``, 0.11): only a seed whose plan peaks at ``one_cycle_peak`` of a
    reading with an edge and a noise weight above 0 moves; the cap at ``PEAK_CAP x max_lr``
    still binds."""
    p0 = shipped_peak(task, r)
    edge, w = r.suggestions.get("edge"), r.noise_weight
    if edge is None or w <= 0.0 or not math.isclose(p0, r.one_cycle_peak, rel_tol=1e-9):
        return p0
    return one_cycle_peak(r.max_lr, r.suggestions, w, noisy=factor)


def small_batch(r: RangeTestResult) -> bool:
    """Whether the range test ran at a batch of at most ``SMALL_BATCH``."""
    b = r.provenance.get("batch_size")
    return b is not None and b <= SMALL_BATCH


def small_batch_noise(r: RangeTestResult) -> float:
    """The reading's noise weight where its batch is at most ``SMALL_BATCH``, else 0."""
    return r.noise_weight if small_batch(r) else 0.0


@functools.cache
def fit(jobs: int) -> dict[str, Rule]:
    """Each candidate's rule, its constants fitted on :data:`FIT` per family (printed)."""
    per: dict[str, dict[str, list[float]]] = {}
    for task in FIT:
        best = SCAN[task][0]
        rs = reads(task, jobs)
        p0 = _gmean([shipped_peak(task, r) for r in rs])
        m = _gmean([scale(r) for r in rs])
        d = per.setdefault(family(task), {"F": [], "c": [], "k": []})
        d["F"].append(best)
        d["c"].append(best / p0)
        d["k"].append(best / m)
    const = {f: {name: _gmean(v) for name, v in d.items()} for f, d in per.items()}
    for f, fc in const.items():
        print(f"{f}: F {fc['F']:.3g}, c {fc['c']:.3g}, k {fc['k']:.3g} "
              f"(from {len(per[f]['F'])} fit tasks)")  # fmt: skip

    def c(task: str, name: str) -> float:
        return const[family(task)][name]

    return {
        "shipped": shipped_peak,
        "family": lambda t, r: c(t, "F"),
        "shipped-c": lambda t, r: c(t, "c") * shipped_peak(t, r),
        "maxlr-k": lambda t, r: c(t, "k") * scale(r),
        "halfway": lambda t, r: math.sqrt(c(t, "F") * c(t, "c") * shipped_peak(t, r)),
        "shrink": lambda t, r: math.sqrt(c(t, "F") * shipped_peak(t, r)),
        "gate-noise": lambda t, r: toward(
            c(t, "F"), shipped_peak(t, r), (1.0 + r.noise_weight) / 2
        ),
        "gate-noisebatch": lambda t, r: toward(
            c(t, "F"), shipped_peak(t, r), (1.0 + small_batch_noise(r)) / 2
        ),
        "gate-batch": lambda t, r: toward(
            c(t, "F"), shipped_peak(t, r), 1.0 if small_batch(r) else 0.5
        ),
        "noisy-refit": lambda t, r: with_noisy_factor(t, r, NOISY_REFIT),
    }


def proxy(
    jobs: int,
    names: Sequence[str] = CANDIDATES,
    only: Sequence[str] = SPLITS,
    seeds: Sequence[int] = S.SEEDS,
) -> None:
    """Each candidate's peaks against the scan's labels, per split and per task; ``names``: the
    candidates, ``only``: the splits (the others' range tests are not even read); ``seeds``:
    whose range tests (the constants stay fitted on the suite's)."""
    n_seeds = len(seeds)
    rules = {n: rule for n, rule in fit(jobs).items() if n in names}
    tasks_all = tuple(
        t for t in (*PRIOR_TASKS, *LATER, *BLIND) if t in SCAN and split_of(t) in only
    )
    per_task = {t: reads(t, jobs, seeds) for t in tasks_all}
    peaks = {t: {n: [rule(t, r) for r in rs] for n, rule in rules.items()}
             for t, rs in per_task.items()}  # fmt: skip
    head = ("split", "candidate", "grid steps from the best peak (mean)", "seeds in the window",
            "tasks whose median seed is in it", "seeds at a collapsing peak",
            "tasks with peak spread <= 1.5x")  # fmt: skip
    print("| " + " | ".join(head) + " |")
    print("|:--|:--|" + "--:|" * (len(head) - 2))
    splits = (("fit", FIT), ("held out", HELD_OUT), ("later", LATER), ("blind", BLIND))
    for split, tasks in splits:
        tasks = tuple(t for t in tasks if t in SCAN and split in only)
        if not tasks:
            continue
        for name in rules:
            steps, inside, med, hot, steady = [], 0, 0, 0, 0
            for t in tasks:
                best, lo, hi, dead = SCAN[t]
                v = peaks[t][name]
                steps.append(statistics.fmean(grid_steps(p, best) for p in v))
                inside += sum(in_window(p, lo, hi) for p in v)
                m = statistics.median(v)
                med += in_window(m, lo, hi)
                hot += sum(p >= dead / HALF_STEP for p in v)
                steady += max(v) / min(v) <= 1.5
            print(f"| {split} | {name} | {statistics.fmean(steps):.2f} | {inside} of "
                  f"{n_seeds * len(tasks)} | {med} of {len(tasks)} | {hot} | {steady} of "
                  f"{len(tasks)} |")  # fmt: skip
    print()
    print(
        "| task | split | best peak (window) | first collapse | "
        + " | ".join(f"{n}: median peak (in window, collapsing)" for n in rules)
        + " |"
    )
    print("|:--|:--|:--|--:|" + "--:|" * len(rules))
    for t in tasks_all:
        best, lo, hi, dead = SCAN[t]
        cells = []
        for name in rules:
            v = peaks[t][name]
            inside = sum(in_window(p, lo, hi) for p in v)
            hot = sum(p >= dead / HALF_STEP for p in v)
            cells.append(f"{statistics.median(v):.3g} ({inside}, {hot})")
        split = split_of(t)
        print(f"| {t} | {split} | {best:g} ({lo:g}-{hi:g}) | {dead:g} | " + " | ".join(cells)
              + " |")  # fmt: skip


def weight(jobs: int) -> None:
    """The shrink's weight ``a`` fitted on :data:`FIT` alone, by the proxy's measures."""
    rules = fit(jobs)
    pairs = {t: [(shipped_peak(t, r), rules["family"](t, r)) for r in reads(t, jobs)]
             for t in FIT}  # fmt: skip
    print("| a | grid steps from the best peak (mean, fit) | seeds in the window (fit) |")
    print("|--:|--:|--:|")
    for i in range(11):
        a = i / 10
        steps, inside = [], 0
        for t, ps in pairs.items():
            best, lo, hi, _ = SCAN[t]
            v = [toward(f, p0, a) for p0, f in ps]
            steps.append(statistics.fmean(grid_steps(p, best) for p in v))
            inside += sum(in_window(p, lo, hi) for p in v)
        print(f"| {a:.1f} | {statistics.fmean(steps):.2f} | {inside} of {10 * len(pairs)} |")


def noisyfit(jobs: int) -> None:
    """The noise-limited peak factor fitted on :data:`FIT` alone, by the proxy's measures."""
    per = {t: reads(t, jobs) for t in FIT}
    moved = {t: sum(r.noise_weight > 0 for r in rs) for t, rs in per.items()}
    print("fit tasks with noise-limited seeds: "
          + ", ".join(f"{t} ({n})" for t, n in moved.items() if n))  # fmt: skip
    print("| noisy peak factor | grid steps from the best peak (mean, fit) | "
          "seeds in the window (fit) | the same, the noise-limited seeds only |")  # fmt: skip
    print("|--:|--:|--:|--:|")
    for f in NOISY_FACTORS:
        steps, inside, d_noisy, n_noisy = [], 0, [], 0
        for t, rs in per.items():
            best, lo, hi, _ = SCAN[t]
            v = [with_noisy_factor(t, r, f) for r in rs]
            d = [grid_steps(p, best) for p in v]
            steps.append(statistics.fmean(d))
            inside += sum(in_window(p, lo, hi) for p in v)
            for r, p, di in zip(rs, v, d, strict=True):
                if r.noise_weight > 0:
                    d_noisy.append(di)
                    n_noisy += in_window(p, lo, hi)
        print(f"| {f:g} | {statistics.fmean(steps):.2f} | {inside} of {10 * len(per)} | "
              f"{statistics.fmean(d_noisy):.2f}, {n_noisy} of {len(d_noisy)} |")  # fmt: skip


def edgeratio(jobs: int) -> None:
    """Per task of every split with at least three noise-limited seeds that read an edge: the
    scan's best peak over their median edge, and the task's budget in optimizer steps."""
    print("| task | split | best peak / median edge (noise-limited seeds) | budget (steps) |")
    print("|:--|:--|--:|--:|")
    for t in (*PRIOR_TASKS, *LATER, *BLIND):
        if t not in SCAN:
            continue
        edges = [r.suggestions["edge"] for r in reads(t, jobs)
                 if r.noise_weight > 0 and r.suggestions.get("edge") is not None]  # fmt: skip
        if len(edges) >= 3:
            steps = REFERENCE[t][0] * load_task(t).steps_per_epoch
            print(f"| {t} | {split_of(t)} | {SCAN[t][0] / statistics.median(edges):.3g} | "
                  f"{steps} |")  # fmt: skip


def budgetscan(tasks: Sequence[str], budgets: Sequence[int], jobs: int) -> None:
    """The 1cycle peak scan of each task over each budget (epochs): its best peak and the
    peaks within 0.3 points (1% of MSE) of it."""
    print("| task | budget (epochs, steps) | best peak | its final score | peaks within 0.3 "
          "points (1% of MSE) | mean final score at each peak |")  # fmt: skip
    print("|:--|--:|--:|--:|:--|:--|")
    for t in tasks:
        spe = load_task(t).steps_per_epoch
        rates = S.GRIDS[t]
        for e in budgets:
            specs = [(*S.one_cycle(p, e * spe), e, s, None) for p in rates for s in S.SEEDS]
            runs = S.train_many(t, specs, jobs, f"budget scan {e}")
            n = len(S.SEEDS)
            mean = {p: statistics.fmean(r["scores"][-1] for r in runs[i * n : (i + 1) * n])
                    for i, p in enumerate(rates)}  # fmt: skip
            finite = {p: v for p, v in mean.items() if math.isfinite(v)}
            up = S.higher(t)
            best = (max if up else min)(finite, key=finite.__getitem__)
            b = finite[best]
            near = [p for p, v in finite.items() if (v >= b - 0.003 if up else v <= 1.01 * b)]
            cells = ", ".join(f"{p:g}: {S.fmt(t, v)}" for p, v in mean.items())
            print(f"| {t} | {e}, {e * spe} | {best:g} | {S.fmt(t, b)} | {min(near):g}-"
                  f"{max(near):g} | {cells} |", flush=True)  # fmt: skip


#: ``klaw``: a grid rate *turns* if its last epoch ends worse than its own best by more than this
#: (points of accuracy; percent of MSE), as :func:`suite._gap_value` measures both.
TURN_BAR, TURN_MSE_BAR = 0.5, 1.0


def good_rates(task: str, summary: dict[str, Any]) -> list[tuple[float, int, bool]]:
    """The *good* rates of a grid (:func:`suite.grid_summary`), ascending: each rate whose mean
    curve's best is within the ``result.lr`` target's bar of the grid's best (a point, or 2% of
    MSE), as ``(eta, e*, turns)``: the epoch of that best, and whether the curve ends more than
    :data:`TURN_BAR` (:data:`TURN_MSE_BAR`) worse than it."""
    acc = S.higher(task)
    good_bar = S.FIXED_BAR if acc else S.MSE_BAR
    turn_bar = TURN_BAR if acc else TURN_MSE_BAR
    good: list[tuple[float, int, bool]] = []
    for eta, curve in sorted(summary["curves"].items()):
        if not all(math.isfinite(v) for v in curve):
            continue
        b, e = S.best_of(curve, task)
        if S._gap_value(task, b, summary["peak"]) >= -good_bar:
            good.append((eta, e, S._gap_value(task, curve[-1], b) < -turn_bar))
    return good


def klaw(tasks: Sequence[str], jobs: int) -> None:
    """Per task, the fixed-rate grid read as an overfitting probe would read it: for each *good*
    rate ``eta`` (its mean curve's best within the ``result.lr`` target's bar of the grid's
    best: a point, or 2% of MSE) whose curve *turns* (:data:`TURN_BAR`), the epoch ``e*`` of
    its best and ``K = eta x e* x steps an epoch``, the amount of learning rate it spends before
    it starts to overfit; the spread of ``K`` (largest over smallest) over those rates; and, at
    the highest good rate, ``e*`` as a share of the budget (how early in a run a held-out signal
    would see the turn at that rate; "-" where it does not turn)."""
    print("| task | split | steps an epoch | budget (epochs) | good rates | of them turn | K over "
          "the turning good rates | K spread | highest good rate: e* / budget |")  # fmt: skip
    print("|:--|:--|--:|--:|--:|--:|:--|--:|:--|")
    for t in tasks:
        spe = load_task(t).steps_per_epoch
        summary = S.grid_summary(t, S.grid_runs(t, S.SEEDS, jobs, False))
        good = good_rates(t, summary)
        ks = {eta: eta * e * spe for eta, e, turns in good if turns}
        spread = f"{max(ks.values()) / min(ks.values()):.2f}x" if len(ks) > 1 else "-"
        kcells = ", ".join(f"{eta:g}: {k:.3g}" for eta, k in ks.items()) or "-"
        eta, e, turns = good[-1]
        last = f"{eta:g}: {e / summary['epoch']:.2f}" if turns else f"{eta:g}: -"
        print(f"| {t} | {split_of(t)} | {spe} | {summary['epoch']} | {len(good)} | {len(ks)} | "
              f"{kcells} | {spread} | {last} |", flush=True)  # fmt: skip


#: The share of the training set a ``select`` run keeps out as its validation split (whole
#: batches, at least one): the short-trials screen's share.
VAL_SHARE = 0.15


def candidate_plan(
    task: str, r: RangeTestResult, peak: float, epochs: int | None = None
) -> tuple[Schedule, Schedule | None]:
    """A candidate's plan: the shipped plan itself where the candidate keeps its peak (so a
    constant fallback stays a constant), else :func:`plan_with_peak` at ``peak``."""
    e = REFERENCE[task][0] if epochs is None else epochs
    if math.isclose(peak, shipped_peak(task, r, e), rel_tol=1e-12):
        plan = r.recommend(load_task(task).steps_per_epoch, e)
        return plan.lr, plan.momentum
    return plan_with_peak(task, r, peak, e)


def select_job(
    task_name: str, lr_config: dict[str, Any], mom_config: dict[str, Any] | None, epochs: int,
    seed: int,
) -> dict[str, Any]:  # fmt: skip
    """One run on the training set less its validation split (in a worker): the test and the
    validation score after every epoch."""
    import torch

    from clr_core import from_config
    from clr_torch.demo.tasks import train, validation_split

    torch.set_num_threads(1)
    task = load_task(task_name)
    sub, val = validation_split(task, max(1, round(VAL_SHARE * len(task.x) / task.batch_size)))
    mom = None if mom_config is None else from_config(mom_config)
    run = train(sub, from_config(lr_config), epochs=epochs, seed=seed, momentum=mom,
                record=False, val=val)  # fmt: skip
    return {"scores": run.scores, "val_scores": run.val_scores, "diverged": run.diverged}


def selected(task: str, run: dict[str, Any]) -> float:
    """The test score at the epoch whose validation score is best (the last such epoch on a
    tie; the last epoch when none is finite)."""
    up = S.higher(task)
    vals = [v if v is not None and math.isfinite(v) else None for v in run["val_scores"]]
    best, at = None, len(vals) - 1
    for i, v in enumerate(vals):
        if v is not None and (best is None or (v >= best if up else v <= best)):
            best, at = v, i
    return float(run["scores"][at])


def select(tasks: Sequence[str], jobs: int, names: Sequence[str]) -> None:
    """Checkpoint selection on a validation split, for the shipped plan and ``names``."""
    rules = {n: rule for n, rule in fit(jobs).items() if n == "shipped" or n in names}
    head = ["shipped, whole training set"]
    for n in rules:
        head += [f"{n}, 85%: last epoch", f"{n}, 85%: selected"]
    print("| task | split | " + " | ".join(f"{h} (gap; collapsed)" for h in head) + " |")
    print("|:--|:--|" + "--:|" * len(head))
    for t in tasks:
        e, peak = REFERENCE[t]
        rs = reads(t, jobs)
        plans = [r.recommend(load_task(t).steps_per_epoch, e) for r in rs]
        full = S.train_many(t, [(p.lr, p.momentum, e, s, None)
                                for p, s in zip(plans, S.SEEDS, strict=True)], jobs,
                            "prior shipped")  # fmt: skip
        base = [r["scores"][-1] for r in full]
        cols = [(base, [r["diverged"] for r in full])]
        for name, rule in rules.items():
            if name == "shipped":
                specs = [(p.lr, p.momentum) for p in plans]
            else:
                specs = [candidate_plan(t, r, rule(t, r)) for r in rs]
            cache = S.Cache(t)
            keys = [S.key_of("select", lr.to_config(), "m-" if m is None else m.to_config(),
                             f"e{e}", f"s{s}", f"v{VAL_SHARE}")
                    for (lr, m), s in zip(specs, S.SEEDS, strict=True)]  # fmt: skip
            todo = [i for i, k in enumerate(keys) if cache.get(k) is None]
            work = [(t, specs[i][0].to_config(),
                     None if specs[i][1] is None else specs[i][1].to_config(), e, S.SEEDS[i])
                    for i in todo]  # fmt: skip
            if work:
                print(f"{t} select {name}: {len(work)} run(s) to train", flush=True)

            def done(j: int, result: dict[str, Any], c: Any = cache, k: list[str] = keys,
                     d: list[int] = todo) -> None:  # fmt: skip
                c.put(k[d[j]], result)

            S.run_jobs(select_job, work, jobs, on_done=done)
            runs = [cache.get(k) for k in keys]
            dead = [r["diverged"] for r in runs]
            cols.append(([r["scores"][-1] for r in runs], dead))
            cols.append(([selected(t, r) for r in runs], dead))
        cells = []
        for finals, dv in cols:
            m, sd = statistics.fmean(finals), statistics.stdev(finals)
            n_dead = sum(S.collapsed(t, f, peak, d) for f, d in zip(finals, dv, strict=True))
            gap = S._gap_value(t, m, statistics.fmean(base))
            unit = " pt" if S.higher(t) else "%"
            cells.append(f"{S.fmt(t, m)} ± {S.fmt(t, sd)} ({gap:+.2f}{unit}; {n_dead})")
        print(f"| {t} | {split_of(t)} | " + " | ".join(cells) + " |", flush=True)


def plan_with_peak(
    task: str, r: RangeTestResult, peak: float, epochs: int | None = None
) -> tuple[Schedule, Schedule | None]:
    """The plan's 1cycle over the task's budget (``epochs``, else ``REFERENCE``'s) at ``peak``,
    with the plan's momentum rule (cycled, unless the sweep ran without momentum)."""
    e = REFERENCE[task][0] if epochs is None else epochs
    total = budget_steps(load_task(task).steps_per_epoch, e)
    lr = OneCycle(peak, total_steps=total, pct_start=PLAN_PCT_START, div_factor=PLAN_DIV)
    plain = recorded_momentum(r.provenance) == 0.0
    return lr, None if plain else lr.momentum(*PLAN_MOMENTUM)


def train(
    tasks: Sequence[str],
    jobs: int,
    names: Sequence[str] = CANDIDATES,
    seeds: Sequence[int] = S.SEEDS,
) -> None:
    """Each candidate's plan trained over the budget, one run a seed of ``seeds``, beside the
    shipped plan (the first column); ``names``: the candidates to train (``shipped`` is always
    trained). The last column is the paired gap of the last candidate to the shipped plan, seed
    by seed: its mean and standard error (points, or percent of the shipped plan's MSE)."""
    rules = {n: rule for n, rule in fit(jobs).items() if n == "shipped" or n in names}
    print("| task | split | " + " | ".join(f"{n}: final (gap to shipped; collapsed)"
                                             for n in rules) + " | paired gap (SE) |")  # fmt: skip
    print("|:--|:--|" + "--:|" * (len(rules) + 1))
    for t in tasks:
        rs = reads(t, jobs, seeds)
        finals: list[list[float]] = []
        cells: list[str] = []
        base = None
        for name, rule in rules.items():
            if name == "shipped":
                plans = [r.recommend(load_task(t).steps_per_epoch, REFERENCE[t][0]) for r in rs]
                specs = [
                    (p.lr, p.momentum, REFERENCE[t][0], s, None)
                    for p, s in zip(plans, seeds, strict=True)
                ]
            else:
                specs = [(*candidate_plan(t, r, rule(t, r)), REFERENCE[t][0], s, None)
                         for r, s in zip(rs, seeds, strict=True)]  # fmt: skip
            runs = S.train_many(t, specs, jobs, f"prior {name}")
            finals.append([run["scores"][-1] for run in runs])
            mean, sd, dead = S._stats(t, runs, REFERENCE[t][1])
            if base is None:
                base = mean
            gap = S._gap_value(t, mean, base)
            unit = " pt" if S.higher(t) else "%"
            cells.append(f"{S.fmt(t, mean)} ± {S.fmt(t, sd)} ({gap:+.2f}{unit}; {dead})")
        diffs = [S._gap_value(t, b, a) for a, b in zip(finals[0], finals[-1], strict=True)]
        se = statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else math.nan
        cells.append(f"{statistics.fmean(diffs):+.2f} ({se:.2f})")
        print(f"| {t} | {split_of(t)} | " + " | ".join(cells) + " |", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "command",
        choices=(
            "proxy",
            "train",
            "weight",
            "noisyfit",
            "edgeratio",
            "budgetscan",
            "select",
            "klaw",
        ),
    )
    p.add_argument("--epochs", nargs="*", type=int, default=[10, 30, 95])
    p.add_argument("--tasks", nargs="*", default=list(HELD_OUT), choices=list(SUITE))
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--candidates", nargs="*", default=list(CANDIDATES), choices=CANDIDATES)
    p.add_argument("--splits", nargs="*", default=list(SPLITS), choices=SPLITS)
    p.add_argument("--seeds", nargs="*", type=int, default=list(S.SEEDS),
                   help="the range tests' and runs' seeds (default: the suite's 0-9)")  # fmt: skip
    args = p.parse_args(argv)
    if args.command == "proxy":
        proxy(args.jobs, args.candidates, args.splits, args.seeds)
    elif args.command == "weight":
        weight(args.jobs)
    elif args.command == "noisyfit":
        noisyfit(args.jobs)
    elif args.command == "edgeratio":
        edgeratio(args.jobs)
    elif args.command == "select":
        select(args.tasks, args.jobs, [n for n in args.candidates if n != "shipped"])
    elif args.command == "budgetscan":
        budgetscan(args.tasks, args.epochs, args.jobs)
    elif args.command == "klaw":
        klaw(args.tasks, args.jobs)
    else:
        train(args.tasks, args.jobs, args.candidates, args.seeds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
