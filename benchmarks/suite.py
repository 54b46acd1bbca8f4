"""The benchmark suite of the automatic choice: several tasks, each against its own grid.

Every task of :data:`clr_torch.demo.tasks.SUITE` gets

* an exhaustive grid of fixed rates (:data:`GRIDS`, six rates a decade), 10 seeds each,
  trained :data:`GRID_EPOCHS` epochs: the reference;
* the learning-rate-free optimizers a user would pick instead of a range test, at
  their documented defaults, over the budget the grid's best rate needs to reach its
  peak (:data:`ANCHORS`): Prodigy (lr 1, cosine over the budget), D-Adaptation SGD
  (lr 1, cosine, the task's momentum) and schedule-free AdamW (its defaults);
* the automatic choice: a range test per seed, then ``result.recommend`` for that
  budget, and ``result.lr`` as a fixed rate (``plans`` in this module);

and the tasks are split *before* anything is fitted (:data:`FIT_TASKS` /
:data:`HELD_OUT_TASKS`): constants of the reading may be chosen on the fitted
tasks only, and the tables report the held-out ones separately.

Every training run is cached as soon as it finishes in
``$CLR_BENCH_CACHE/suite/<task>.json`` (default ``/tmp/clr_bench``), keyed by
everything that determines it, so an interrupted run resumes and later commands
reuse the grid. Runs go to ``--jobs`` worker processes (one torch thread each); the
results do not depend on how many (every run is seeded).

Usage (from the repository root)::

    python benchmarks/suite.py grid [--tasks T ...] [--jobs N]    # the reference grids
    python benchmarks/suite.py anchors                             # Prodigy & co.
    python benchmarks/suite.py report                              # tables (markdown)
    python benchmarks/suite.py --quick ...                         # 2 seeds, short runs
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT / "adapters" / "torch", ROOT):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from clr_core import Constant, CosineRestarts, OneCycle, Schedule, from_config
from clr_core.rangetest import RangeTestResult
from clr_torch.demo.tasks import (
    SUITE,
    SweepSettings,
    load_task,
    mean_curve,
    run_jobs,
    sweep,
    train,
)

#: Tasks whose curves may be looked at while choosing the reading's constants.
FIT_TASKS = ("mnist1d-cnn-sgd", "noisy-mlp-sgd", "mnist1d-mlp-adamw")
#: Tasks never looked at while fitting: they decide whether a rule ships.
HELD_OUT_TASKS = (
    "mnist1d-cnn-adam",
    "digits-mlp-sgd",
    "digits-resnet-sgd",
    "friedman-mlp-sgd",
    "motif-gru-sgd",
    "adding-lstm-sgd",
    "count-transformer-adamw",
    "recall-rnn-sgd",
    "friedman3-deepmlp-adam",
    "mnist1d-dropout-sgd",
    "digits-dropout-sgd",
    "clean8-mlp-sgd",
    "digits-cnn-adam",
    "spirals-mlp-adam",
    "hastie-mlp-plainsgd",
    "digits-linear-sgd",
    "digits-ae-adam",
    "digits-finetune-adamw",
    "digits-finetune-sgd",
    "mnist1d-finetune-adam",
    "mnist1d-finetune-sgd",
    "digits-mlp-adam-b8",
    "digits-mlp-rmsprop",
    "digits-aug-nesterov",
    "digits-deepmlp-sgd",
    "digits-augmlp-adam",
    "digits-augresnet-sgd",
    "mnist1d-deepmlp-sgd",
    "digits-deepcnn-sgd",
    "digits-lnmlp-adamw",
    "motif-gru-adam",
    "diabetes-mlp-sgd",
)


def _decade_grid(low: float, high: float, per_decade: int = 6) -> tuple[float, ...]:
    """Rates ``10**(k / per_decade)`` from ``low`` to ``high`` (inclusive), rounded to 3 digits."""
    k0 = round(math.log10(low) * per_decade)
    k1 = round(math.log10(high) * per_decade)
    return tuple(float(f"{10 ** (k / per_decade):.3g}") for k in range(k0, k1 + 1))


#: The fixed-rate grid of every task (six rates a decade, bracketing the best and the
#: rates that collapse).
GRIDS: dict[str, tuple[float, ...]] = {
    "mnist1d-cnn-sgd": _decade_grid(1e-2, 0.464),
    "mnist1d-cnn-adam": _decade_grid(1e-3, 0.0464),
    "digits-mlp-sgd": _decade_grid(1e-2, 2.15),
    "digits-resnet-sgd": _decade_grid(1e-2, 2.15),
    "noisy-mlp-sgd": _decade_grid(1e-3, 0.215),
    "friedman-mlp-sgd": _decade_grid(1e-3, 0.316),
    "mnist1d-mlp-adamw": _decade_grid(3.16e-4, 0.0464),
    "motif-gru-sgd": _decade_grid(1e-2, 1.47),
    "adding-lstm-sgd": _decade_grid(1e-2, 1.47),
    "count-transformer-adamw": _decade_grid(3.16e-4, 0.0464),
    "recall-rnn-sgd": _decade_grid(1e-3, 1.0),
    "friedman3-deepmlp-adam": _decade_grid(3.16e-5, 0.1),
    "mnist1d-dropout-sgd": _decade_grid(1e-2, 0.464),
    "digits-dropout-sgd": _decade_grid(1e-3, 0.147),
    "clean8-mlp-sgd": _decade_grid(1e-3, 0.147),
    "digits-cnn-adam": _decade_grid(1e-4, 0.1),
    "spirals-mlp-adam": _decade_grid(3.16e-4, 0.1),
    "hastie-mlp-plainsgd": _decade_grid(1e-2, 10.0),
    "digits-linear-sgd": _decade_grid(1e-3, 10.0),
    "digits-ae-adam": _decade_grid(1e-4, 0.316),
    "digits-finetune-adamw": _decade_grid(1e-4, 0.1),
    "digits-finetune-sgd": _decade_grid(1e-3, 1.0),
    "mnist1d-finetune-adam": _decade_grid(1e-4, 0.1),
    "mnist1d-finetune-sgd": _decade_grid(3.16e-4, 0.215),
    "digits-mlp-adam-b8": _decade_grid(1e-4, 0.316),
    "digits-mlp-rmsprop": _decade_grid(1e-4, 1.0),
    "digits-aug-nesterov": _decade_grid(1e-3, 0.316),
    "digits-deepmlp-sgd": _decade_grid(1e-3, 0.316),
    "digits-augmlp-adam": _decade_grid(1e-4, 0.0464),
    "digits-augresnet-sgd": _decade_grid(3.16e-3, 2.15),
    "mnist1d-deepmlp-sgd": _decade_grid(3.16e-3, 0.316),
    "digits-deepcnn-sgd": _decade_grid(1e-3, 0.316),
    "digits-lnmlp-adamw": _decade_grid(1e-4, 1.0),
    "motif-gru-adam": _decade_grid(3.16e-4, 0.1),
    "diabetes-mlp-sgd": _decade_grid(1e-4, 0.316),
}
#: Epochs each grid rate trains: long enough that the best rate's mean curve peaks inside.
GRID_EPOCHS = {
    "mnist1d-cnn-sgd": 100,
    "mnist1d-cnn-adam": 100,
    "digits-mlp-sgd": 60,
    "digits-resnet-sgd": 60,
    "noisy-mlp-sgd": 40,
    "friedman-mlp-sgd": 100,
    "mnist1d-mlp-adamw": 60,
    "motif-gru-sgd": 60,
    "adding-lstm-sgd": 100,
    "count-transformer-adamw": 50,
    "recall-rnn-sgd": 60,
    "friedman3-deepmlp-adam": 100,
    "mnist1d-dropout-sgd": 100,
    "digits-dropout-sgd": 60,
    "clean8-mlp-sgd": 60,
    "digits-cnn-adam": 60,
    "spirals-mlp-adam": 80,
    "hastie-mlp-plainsgd": 100,
    "digits-linear-sgd": 60,
    "digits-ae-adam": 100,
    "digits-finetune-adamw": 60,
    "digits-finetune-sgd": 60,
    "mnist1d-finetune-adam": 60,
    "mnist1d-finetune-sgd": 60,
    "digits-mlp-adam-b8": 60,
    "digits-mlp-rmsprop": 60,
    "digits-aug-nesterov": 60,
    "digits-deepmlp-sgd": 100,
    "digits-augmlp-adam": 60,
    "digits-augresnet-sgd": 60,
    "mnist1d-deepmlp-sgd": 150,
    "digits-deepcnn-sgd": 60,
    "digits-lnmlp-adamw": 60,
    "motif-gru-adam": 60,
    "diabetes-mlp-sgd": 100,
}
SEEDS = tuple(range(10))
CACHE_DIR = Path(os.environ.get("CLR_BENCH_CACHE", "/tmp/clr_bench")) / "suite"
#: The cache file's entry that lists the machines whose runs it holds.
MACHINE_KEY = "__machines__"


def machine() -> dict[str, str]:
    """What the runs were computed with: torch, its CPU kernels, Python, the architecture."""
    import platform

    import torch

    return {
        "torch": torch.__version__,
        "cpu_kernels": torch.backends.cpu.get_cpu_capability(),
        "python": platform.python_version(),
        "arch": platform.machine(),
    }


# --------------------------------------------------------------------------- #
# Cache
# --------------------------------------------------------------------------- #


class Cache:
    """Finished runs of one task by key, in one JSON file.

    Several benchmark processes may share a file: each write takes an exclusive lock,
    re-reads the file, adds its entry and replaces the file atomically, so no process
    loses another's runs."""

    def __init__(self, task: str) -> None:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        self.path = CACHE_DIR / f"{task}.json"
        self.lock = CACHE_DIR / f"{task}.lock"
        self.data: dict[str, Any] = self._read()
        self._check_machine()

    def _check_machine(self) -> None:
        """Refuse to mix runs of two machines in one file, unless told to.

        Seeded runs do not always repeat to the digit on another machine (its arithmetic
        differs in the last bits; docs/benchmarks.md), so a file records every machine that
        wrote to it
        (:func:`machine`). A file of another machine is refused unless
        ``CLR_BENCH_MIX_MACHINES=1``, which adds this machine to its list; a file from
        before the record (none listed) is taken as this machine's, with a warning."""
        here = machine()
        seen = self.data.get(MACHINE_KEY)
        if seen is None:
            if self.data:
                print(
                    f"warning: {self.path} names no machine; recording this one "
                    f"({here}) as its own",
                    file=sys.stderr,
                )
            self.put(MACHINE_KEY, [here])
        elif here not in seen:
            if os.environ.get("CLR_BENCH_MIX_MACHINES") != "1":
                raise RuntimeError(
                    f"{self.path} holds runs of {seen}, not of this machine ({here}); "
                    "point CLR_BENCH_CACHE at another folder, or set "
                    "CLR_BENCH_MIX_MACHINES=1 to add to it knowingly"
                )
            self.put(MACHINE_KEY, [*seen, here])

    def machines(self) -> list[dict[str, str]]:
        """The machines whose runs this file holds."""
        return list(self.data.get(MACHINE_KEY) or [])

    def _read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        return data

    def get(self, key: str) -> Any:
        if key not in self.data:
            self.data.update(self._read())  # another process may have added it
        return self.data.get(key)

    def put(self, key: str, value: Any) -> None:
        import fcntl

        with self.lock.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.data.update(self._read())
            self.data[key] = value
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self.data), encoding="utf-8")
            os.replace(tmp, self.path)


def key_of(*parts: Any) -> str:
    return "|".join(
        json.dumps(p, sort_keys=True, separators=(",", ":")) if isinstance(p, dict) else str(p)
        for p in parts
    )


# --------------------------------------------------------------------------- #
# One training job (runs in a worker)
# --------------------------------------------------------------------------- #


def anchor_optimizer(kind: str, weight_decay: float, momentum: float) -> Callable[..., Any]:
    """A factory ``(params, lr) -> optimizer`` for a learning-rate-free optimizer."""

    def make(params: Any, lr: float) -> Any:
        if kind == "prodigy":
            from prodigyopt import Prodigy

            return Prodigy(params, lr=lr, weight_decay=weight_decay)
        if kind == "dadapt-sgd":
            from dadaptation import DAdaptSGD

            return DAdaptSGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
        if kind == "sf-adamw":
            from schedulefree import AdamWScheduleFree

            return AdamWScheduleFree(params, lr=lr, weight_decay=weight_decay)
        raise ValueError(kind)

    return make


def train_job(
    task_name: str,
    lr_config: dict[str, Any],
    momentum_config: dict[str, Any] | None,
    epochs: int,
    seed: int,
    optimizer: str | None,
    auto: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train once; plain data back: scores per epoch, diverged, train losses, seconds.
    With ``auto``, under ``AutoOneCycleLR(**auto)`` (the rate schedule only sets the
    optimizer's initial rate)."""
    import torch

    torch.set_num_threads(1)
    task = load_task(task_name)
    schedule = from_config(lr_config)
    momentum = None if momentum_config is None else from_config(momentum_config)
    opt: Any = optimizer
    if optimizer in ("prodigy", "dadapt-sgd", "sf-adamw"):
        opt = anchor_optimizer(optimizer, task.spec.weight_decay, 0.9)
    t0 = time.perf_counter()
    run = train(
        task,
        schedule,
        epochs=epochs,
        seed=seed,
        optimizer=opt,
        momentum=momentum,
        record=auto is not None,
        auto=auto,
    )
    extra = {}
    if auto is not None:  # where the run put its peak
        extra = {"peak": max(run.lrs[run.lrs.index(max(run.lrs)) + 1 :], default=math.nan)}
    return {
        **extra,
        "scores": run.scores,
        "diverged": run.diverged,
        "train_losses": [x if math.isfinite(x) else None for x in run.train_losses],
        "seconds": round(time.perf_counter() - t0, 2),
    }


def train_many(
    task_name: str,
    specs: Sequence[tuple[Schedule, Schedule | None, int, int, str | None]],
    jobs: int,
    label: str = "",
    auto: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Train every ``(lr, momentum, epochs, seed, optimizer)`` of ``specs`` (cached)."""
    cache = Cache(task_name)
    keys = [
        key_of(
            "train",
            lr.to_config(),
            "m-" if mom is None else mom.to_config(),
            f"e{epochs}",
            f"s{seed}",
            opt or "task",
            *(() if auto is None else ("auto", auto, *((AUTO_VERSION,) if AUTO_VERSION else ()))),
        )
        for lr, mom, epochs, seed, opt in specs
    ]
    todo = [i for i, k in enumerate(keys) if cache.get(k) is None]
    work = [
        (
            task_name,
            specs[i][0].to_config(),
            None if specs[i][1] is None else specs[i][1].to_config(),
            specs[i][2],
            specs[i][3],
            specs[i][4],
            auto,
        )
        for i in todo
    ]
    if work:
        print(f"{task_name} {label}: {len(work)} run(s) to train", flush=True)

    def done(j: int, result: dict[str, Any]) -> None:
        cache.put(keys[todo[j]], result)

    run_jobs(train_job, work, jobs, on_done=done)
    return [cache.get(k) for k in keys]


# --------------------------------------------------------------------------- #
# Reading the runs
# --------------------------------------------------------------------------- #


def higher(task: str) -> bool:
    return SUITE[task].higher_is_better


def best_of(curve: Sequence[float], task: str) -> tuple[float, int]:
    """The best value of a mean curve and the epoch (1-based) it is first reached."""
    pick = max if higher(task) else min
    value = pick(curve)
    return value, list(curve).index(value) + 1


def grid_runs(task: str, seeds: Sequence[int], jobs: int, quick: bool) -> dict[float, list[Any]]:
    epochs = 6 if quick else GRID_EPOCHS[task]
    rates = GRIDS[task][::4] if quick else GRIDS[task]
    specs = [(Constant(lr), None, epochs, s, None) for lr in rates for s in seeds]
    runs = train_many(task, specs, jobs, "grid")
    n = len(seeds)
    return {lr: runs[i * n : (i + 1) * n] for i, lr in enumerate(rates)}


def grid_summary(task: str, runs: dict[float, list[Any]]) -> dict[str, Any]:
    """The grid's best rate (best peak of its mean curve), that peak and the epoch of it."""
    curves = {lr: mean_curve([r["scores"] for r in rs]) for lr, rs in runs.items()}
    sign = 1 if higher(task) else -1
    best = max(curves, key=lambda lr: sign * best_of(curves[lr], task)[0])
    peak, epoch = best_of(curves[best], task)
    return {"lr": best, "peak": peak, "epoch": epoch, "curves": curves}


def chosen_elsewhere(task: str, runs: dict[float, list[Any]]) -> float:
    """The grid's best without choosing on the seeds it is scored on: for every split of
    the seeds into two halves, the rate and epoch with the best mean on one half, scored
    by their mean on the other; the average over all splits. The grid's best peak picks
    the best of many noisy means on the very seeds it reports, so it is biased upward;
    this is what a grid search tuned on other seeds would score."""
    n = len(next(iter(runs.values())))
    sign = 1 if higher(task) else -1
    bad = -math.inf

    def mean(rs: list[Any], epoch: int, idx: Sequence[int]) -> float:
        v = statistics.fmean(rs[i]["scores"][epoch] for i in idx)
        return v if math.isfinite(v) else sign * bad

    out = []
    for half in itertools.combinations(range(n), n // 2):
        rest = [i for i in range(n) if i not in half]
        lr, epoch = max(
            ((lr, e) for lr, rs in runs.items() for e in range(len(rs[0]["scores"]))),
            key=lambda c: sign * mean(runs[c[0]], c[1], half),
        )
        out.append(mean(runs[lr], epoch, rest))
    return statistics.fmean(out)


def budget(task: str, seeds: Sequence[int], jobs: int, quick: bool) -> int:
    """The equal budget: epochs the grid's best fixed rate needs to reach its peak."""
    return grid_summary(task, grid_runs(task, seeds, jobs, quick))["epoch"]


#: The anchors, their optimizer key and their rate schedule as a function of the total steps.
ANCHORS: dict[str, Callable[[int], Schedule]] = {
    "prodigy": lambda total: CosineRestarts(1.0, total),
    "dadapt-sgd": lambda total: CosineRestarts(1.0, total),
    "sf-adamw": lambda total: Constant(0.0025),
}


def anchor_runs(task: str, seeds: Sequence[int], jobs: int, quick: bool) -> dict[str, list[Any]]:
    epochs = budget(task, seeds, jobs, quick)
    total = epochs * load_task(task).steps_per_epoch
    out = {}
    for name, schedule in ANCHORS.items():
        specs = [(schedule(total), None, epochs, s, name) for s in seeds]
        out[name] = train_many(task, specs, jobs, name)
    return out


def one_cycle(peak: float, total: int) -> tuple[Schedule, Schedule]:
    """The plan's 1cycle shape at ``peak`` (div 25, 30% warm-up) and its momentum cycle."""
    s = OneCycle(peak, total_steps=total, pct_start=0.3, div_factor=25.0)
    return s, s.momentum(0.85, 0.95)


def peak_scan(task: str, seeds: Sequence[int], jobs: int, quick: bool) -> dict[float, list[Any]]:
    """1cycle at the equal budget with its peak at each grid rate: the best a 1cycle of
    this shape can do on the task (an oracle, for reference)."""
    epochs = budget(task, seeds, jobs, quick)
    total = epochs * load_task(task).steps_per_epoch
    rates = GRIDS[task][::4] if quick else GRIDS[task]
    specs = [(*one_cycle(p, total), epochs, s, None) for p in rates for s in seeds]
    runs = train_many(task, specs, jobs, "1cycle peak scan")
    n = len(seeds)
    return {p: runs[i * n : (i + 1) * n] for i, p in enumerate(rates)}


# --------------------------------------------------------------------------- #
# The automatic choice: a range test per seed, then the plan
# --------------------------------------------------------------------------- #


def sweep_job(task_name: str, settings: dict[str, Any], seed: int) -> dict[str, Any]:
    """One range test (in a worker): the result as JSON, and its cost in optimizer steps."""
    import torch

    torch.set_num_threads(1)
    task = load_task(task_name)
    t0 = time.perf_counter()
    result = sweep(task, seed, SweepSettings(**settings))
    return {
        "result": result.to_json(indent=None),
        "steps": len(result.lrs),
        "seconds": round(time.perf_counter() - t0, 2),
    }


def range_tests(
    task: str, settings: SweepSettings, seeds: Sequence[int], jobs: int
) -> list[tuple[RangeTestResult, int]]:
    """Our range test on a fresh model per seed (cached): ``(result, steps)``."""
    cache = Cache(task)
    raw = dataclasses.asdict(settings)
    keys = [key_of("sweep", raw, f"s{s}") for s in seeds]
    todo = [i for i, k in enumerate(keys) if cache.get(k) is None]

    def done(j: int, value: dict[str, Any]) -> None:
        cache.put(keys[todo[j]], value)

    run_jobs(sweep_job, [(task, raw, seeds[i]) for i in todo], jobs, on_done=done)
    return [
        (RangeTestResult.from_json(cache.get(k)["result"]), cache.get(k)["steps"]) for k in keys
    ]


#: The default range test of the suite (and of the adapters): 1e-5 -> 10 in 200 steps,
#: the training loss alone.
SWEEP = SweepSettings(1e-5, 10.0, 200, 0)


def readings(
    task: str, seeds: Sequence[int], jobs: int, settings: SweepSettings = SWEEP
) -> list[tuple[RangeTestResult, int]]:
    """Each seed's range test, read by the current analysis (the sweeps are cached as
    points, so a change of the reading needs no new sweep)."""
    return [(reread(r), steps) for r, steps in range_tests(task, settings, seeds, jobs)]


def reread(r: RangeTestResult, points: int | None = None, **options: Any) -> RangeTestResult:
    """A cached range test read again by the current analysis, its first ``points``
    points only if given (what a sweep stopped there would have recorded); ``options``
    go to ``analyze`` (e.g. ``smooth_fraction``)."""
    from clr_core.rangetest import analyze

    prov = {k: v for k, v in r.provenance.items() if k not in ("metric_name", "metric_mode")}
    n = len(r.lrs) if points is None else points
    metrics = None if r.metrics is None else r.metrics[:n]
    return analyze(r.lrs[:n], r.losses[:n], metrics, provenance=prov, **options)


def plan_runs(
    task: str, seeds: Sequence[int], jobs: int, quick: bool, kind: str = "recommend"
) -> tuple[list[Any], list[RangeTestResult], list[int]]:
    """Train, per seed, what the automatic choice gives for the equal budget:
    ``recommend`` (the plan), ``fixed`` (``result.lr`` held) or ``auto``
    (:class:`clr_torch.AutoOneCycleLR` over the budget, no range test)."""
    epochs = budget(task, seeds, jobs, quick)
    ipe = load_task(task).steps_per_epoch
    if kind == "auto":
        specs_a = [(Constant(1e-5), None, epochs, s, None) for s in seeds]
        return train_many(task, specs_a, jobs, kind, auto={}), [], []
    reads = readings(task, seeds, jobs)
    specs: list[tuple[Schedule, Schedule | None, int, int, str | None]] = []
    for (r, _), seed in zip(reads, seeds, strict=True):
        if kind == "recommend":
            plan = r.recommend(ipe, epochs)
            specs.append((plan.lr, plan.momentum, epochs, seed, None))
        else:
            specs.append((Constant(r.lr), None, epochs, seed, None))
    runs = train_many(task, specs, jobs, kind)
    return runs, [r for r, _ in reads], [n for _, n in reads]


#: Which AutoOneCycle rule the cached runs were made with: "" - the peak at the rate where
#: the edge was called; "best" - the peak at the rate of the lowest smoothed loss.
AUTO_VERSION = "best"
#: Budgets (epochs) of the plan in the time-to-accuracy table.
SPEED_BUDGETS = (12, 16, 20, 24, 32)
#: "Reaches the grid's best": the mean curve comes within this much of its peak (0.5 points).
TOLERANCE = 0.005


def speed(task: str, seeds: Sequence[int], jobs: int, quick: bool) -> list[str]:
    """Time to accuracy: iterations until the mean curve comes within 0.5 points of the
    grid's best, for the best fixed rate and for the plan at shorter budgets (the range
    test's own steps added)."""
    from clr_torch.demo.tasks import reach

    runs = grid_runs(task, seeds, jobs, quick)
    g = grid_summary(task, runs)
    ipe = load_task(task).steps_per_epoch
    target = g["peak"]
    fixed_it = reach(g["curves"][g["lr"]], target, ipe, TOLERANCE)
    lines = [
        f"| best fixed rate ({g['lr']:g}) | {GRID_EPOCHS[task]} | {fixed_it or '-'} | 1.00x | "
        f"{fmt(task, g['curves'][g['lr']][-1])} |"
    ]
    reads = readings(task, seeds, jobs)
    test_steps = statistics.fmean(n for _, n in reads)
    for epochs in SPEED_BUDGETS[:2] if quick else SPEED_BUDGETS:
        specs = []
        for (r, _), seed in zip(reads, seeds, strict=True):
            plan = r.recommend(ipe, epochs)
            specs.append((plan.lr, plan.momentum, epochs, seed, None))
        res = train_many(task, specs, jobs, f"plan {epochs} epochs")
        curve = mean_curve([x["scores"] for x in res])
        it = reach(curve, target, ipe, TOLERANCE)
        total = None if it is None else it + test_steps
        ratio = "-" if total is None or fixed_it is None else f"{fixed_it / total:.2f}x"
        lines.append(
            f"| plan (`recommend`), {epochs} epochs | {epochs} | "
            f"{'not reached' if total is None else f'{total:.0f}'} | {ratio} | "
            f"{fmt(task, curve[-1])} |"
        )
    return lines


#: torch-lr-finder as its README runs it: the same start and end as ours, its default
#: 100 iterations, smoothing and stop rule; its suggestion from ``LRFinder.plot`` (the
#: steepest gradient, ``skip_start=10, skip_end=5``).
FINDER_STEPS = 100


def finder_job(task_name: str, seed: int) -> dict[str, Any]:
    """torch-lr-finder's steepest-gradient suggestion on a fresh model (in a worker)."""
    import contextlib
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch
    from torch_lr_finder import LRFinder

    from clr_torch.demo.tasks import batches, make_model, make_optimizer

    torch.set_num_threads(1)
    task = load_task(task_name)
    torch.manual_seed(seed)
    model = make_model(task.spec.name)
    opt = make_optimizer(
        task.spec.optimizer, model.parameters(), SWEEP.start, task.spec.weight_decay
    )
    stream = batches(task, torch.Generator().manual_seed(seed))
    data = [next(stream) for _ in range(FINDER_STEPS)]
    # ready-made batches as a map-style dataset: torch-lr-finder wants a DataLoader
    loader = torch.utils.data.DataLoader(data, batch_size=None, shuffle=False)
    finder = LRFinder(model, opt, task.loss_fn, device="cpu")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        finder.range_test(loader, start_lr=SWEEP.start, end_lr=SWEEP.end, num_iter=FINDER_STEPS)
        fig, ax = plt.subplots()
        _, lr = finder.plot(ax=ax, suggest_lr=True)
        plt.close(fig)
    return {"lr": float(lr), "steps": len(finder.history["lr"])}


def finder_runs(
    task: str, seeds: Sequence[int], jobs: int, quick: bool
) -> tuple[list[Any], list[float]]:
    """Train at torch-lr-finder's suggestion for the equal budget (cached)."""
    cache = Cache(task)
    keys = [key_of("torch-lr-finder", SWEEP.start, SWEEP.end, FINDER_STEPS, f"s{s}") for s in seeds]
    todo = [i for i, k in enumerate(keys) if cache.get(k) is None]

    def done(j: int, value: dict[str, Any]) -> None:
        cache.put(keys[todo[j]], value)

    run_jobs(finder_job, [(task, seeds[i]) for i in todo], jobs, on_done=done)
    lrs = [cache.get(k)["lr"] for k in keys]
    epochs = budget(task, seeds, jobs, quick)
    specs = [(Constant(lr), None, epochs, s, None) for lr, s in zip(lrs, seeds, strict=True)]
    return train_many(task, specs, jobs, "torch-lr-finder"), lrs


def collapsed(task: str, final: float, grid_peak: float, diverged: bool) -> bool:
    """Non-finite, or a final score no better than halfway from chance to the grid's best."""
    chance = load_task(task).chance
    mid = (chance + grid_peak) / 2
    return diverged or not math.isfinite(final) or (final < mid if higher(task) else final > mid)


def fmt(task: str, value: float) -> str:
    return f"{100 * value:.2f}" if higher(task) else f"{value:.4f}"


def _stats(task: str, runs: Sequence[Any], grid_peak: float) -> tuple[float, float, int]:
    finals = [r["scores"][-1] for r in runs]
    n_col = sum(
        collapsed(task, f, grid_peak, r["diverged"]) for f, r in zip(finals, runs, strict=True)
    )
    sd = statistics.stdev(finals) if len(finals) > 1 else 0.0
    return statistics.fmean(finals), sd, n_col


def _gap_value(task: str, value: float, ref: float) -> float:
    """Accuracy: points above (+) or below the reference; MSE: percent below (+) or above."""
    return 100 * (value - ref) if higher(task) else 100 * (ref - value) / ref


def _gap(task: str, value: float, ref: float) -> str:
    """:func:`_gap_value` as the tables print it."""
    g = _gap_value(task, value, ref)
    return f"{g:+.2f} pt" if higher(task) else f"{g:+.1f}%"


#: The issue's bars: the plan within 0.2 points of the reference, ``result.lr`` within 1
#: point of the grid's best (for MSE, both within 2%); spreads at most 1.5x.
PLAN_BAR, FIXED_BAR, MSE_BAR, SPREAD_BAR = 0.2, 1.0, 2.0, 1.5


def _targets(met: dict[str, dict[str, bool]]) -> str:
    """How many tasks meet each target, of all and of the held-out ones (the targets table's
    counts)."""
    rows = {
        "no collapse at `result.lr` or under `recommend`": "safe",
        "the plan within 0.2 points (regression: 2%) of the reference": "plan",
        "`result.lr` within 1 point (regression: 2%) of the grid's best": "fixed",
        "the plan's peak spreads at most 1.5x": "peak",
        "`max_lr` spreads at most 1.5x": "max_lr",
    }
    held = [t for t in met if t not in FIT_TASKS]
    lines = ["| target | tasks meeting it | of them held out |", "|:--|--:|--:|"]
    for text, key in rows.items():
        n, k = sum(met[t][key] for t in met), sum(met[t][key] for t in held)
        lines.append(f"| {text} | {n} of {len(met)} | {k} of {len(held)} |")
    return "\n".join(lines)


def reference(task: str, seeds: Sequence[int], jobs: int, quick: bool) -> float:
    """The better of the grid's best (its mean curve's peak) and Prodigy's mean final score."""
    g = grid_summary(task, grid_runs(task, seeds, jobs, quick))
    m = _stats(task, anchor_runs(task, seeds, jobs, quick)["prodigy"], g["peak"])[0]
    return max(g["peak"], m) if higher(task) else min(g["peak"], m)


def spread(values: Sequence[float]) -> float:
    return max(values) / min(values) if values and min(values) > 0 else math.inf


def plan_peaks(
    task: str, reads: Sequence[RangeTestResult], seeds: Sequence[int], jobs: int, quick: bool
) -> list[float]:
    """The highest rate of each seed's plan for the equal budget (its 1cycle peak; the
    fixed rate of a plan without confidence)."""
    epochs = budget(task, seeds, jobs, quick)
    ipe = load_task(task).steps_per_epoch
    return [r.recommend(ipe, epochs).lr.bounds()[1] for r in reads]


def report(tasks: Sequence[str], seeds: Sequence[int], jobs: int, quick: bool) -> str:
    """The suite's tables, as markdown: the references, the automatic choice, and how many
    tasks meet each of the issue's targets."""
    ref = [
        "| task | split | grid best lr | grid peak | chosen on other seeds | budget (epochs) | "
        + " | ".join(ANCHORS)
        + " | collapsed grid rates |",
        "|:--|:--|--:|--:|--:|--:|" + "--:|" * len(ANCHORS) + ":--|",
    ]
    auto = [
        "| task | split | reference | plan (recommend) | gap | collapsed | fixed `result.lr` "
        "| gap to grid | collapsed | peak spread | max_lr spread | test steps |",
        "|:--|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    met: dict[str, dict[str, bool]] = {}
    for task in tasks:
        runs = grid_runs(task, seeds, jobs, quick)
        g = grid_summary(task, runs)
        anchors = anchor_runs(task, seeds, jobs, quick)
        split = "fit" if task in FIT_TASKS else "held out"
        cells, best_ref = [], reference(task, seeds, jobs, quick)
        for name in ANCHORS:
            m, sd, n_col = _stats(task, anchors[name], g["peak"])
            cells.append(f"{fmt(task, m)} ± {fmt(task, sd)} ({n_col})")
        cols = [
            f"{lr:g}" for lr, rs in runs.items()
            if sum(collapsed(task, r["scores"][-1], g["peak"], r["diverged"]) for r in rs)
        ]  # fmt: skip
        ref.append(
            f"| {task} | {split} | {g['lr']:g} | {fmt(task, g['peak'])} | "
            f"{fmt(task, chosen_elsewhere(task, runs))} | {g['epoch']} | "
            + " | ".join(cells) + f" | {', '.join(cols) or '-'} |"
        )  # fmt: skip
        plan, reads, steps = plan_runs(task, seeds, jobs, quick, "recommend")
        fixed, _, _ = plan_runs(task, seeds, jobs, quick, "fixed")
        pm, psd, pcol = _stats(task, plan, g["peak"])
        fm, fsd, fcol = _stats(task, fixed, g["peak"])
        peaks = plan_peaks(task, reads, seeds, jobs, quick)
        acc = higher(task)  # the bars in the gap's own unit: points, or percent of MSE
        met[task] = {
            "safe": pcol == fcol == 0,
            "plan": _gap_value(task, pm, best_ref) >= -(PLAN_BAR if acc else MSE_BAR),
            "fixed": _gap_value(task, fm, g["peak"]) >= -(FIXED_BAR if acc else MSE_BAR),
            "peak": spread(peaks) <= SPREAD_BAR,
            "max_lr": spread([r.max_lr for r in reads]) <= SPREAD_BAR,
        }
        auto.append(
            f"| {task} | {split} | {fmt(task, best_ref)} | {fmt(task, pm)} ± {fmt(task, psd)} | "
            f"{_gap(task, pm, best_ref)} | {pcol}/{len(plan)} | {fmt(task, fm)} ± {fmt(task, fsd)}"
            f" | {_gap(task, fm, g['peak'])} | {fcol}/{len(fixed)} | {spread(peaks):.2f}x | "
            f"{spread([r.max_lr for r in reads]):.2f}x | {statistics.median(steps):.0f} "
            f"(max {max(steps)}) |"
        )
    return (
        "\n".join(ref) + "\n\n" + "\n".join(auto) + "\n\n" + _targets(met) + "\n\n"
        + _machines(tasks)
    )  # fmt: skip


def _machines(tasks: Sequence[str]) -> str:
    """Which machine ran each task's runs (more than one only when mixed knowingly)."""
    by: dict[str, list[str]] = {}
    for task in tasks:
        for m in Cache(task).machines():
            label = ", ".join(f"{k} {v}" for k, v in m.items())
            by.setdefault(label, []).append(task)
    lines = [f"- {label}: {', '.join(ts)}" for label, ts in by.items()]
    return "Runs made on:\n" + "\n".join(lines)


def report_scans(tasks: Sequence[str], seeds: Sequence[int], jobs: int, quick: bool) -> str:
    """The 1cycle peak scan: the best peak, its window and where runs start to collapse."""
    lines = [
        "| task | split | best peak | its final score | peaks within 0.3 points (1% MSE) | "
        "first peak with a collapse | the plan's peaks |",
        "|:--|:--|--:|--:|:--|--:|:--|",
    ]
    for task in tasks:
        g = grid_summary(task, grid_runs(task, seeds, jobs, quick))
        scan = peak_scan(task, seeds, jobs, quick)
        stats = {p: _stats(task, rs, g["peak"]) for p, rs in scan.items()}
        sign = 1 if higher(task) else -1
        best = max(stats, key=lambda p: sign * stats[p][0])
        tol = 0.003 if higher(task) else 0.01 * stats[best][0]
        near = [p for p in stats if abs(stats[p][0] - stats[best][0]) <= tol]
        cols = [p for p in stats if stats[p][2]]
        peaks = plan_peaks(task, [r for r, _ in readings(task, seeds, jobs)], seeds, jobs, quick)
        split = "fit" if task in FIT_TASKS else "held out"
        lines.append(
            f"| {task} | {split} | {best:g} | {fmt(task, stats[best][0])} | "
            f"{min(near):g}-{max(near):g} | {min(cols):g} | " if cols else
            f"| {task} | {split} | {best:g} | {fmt(task, stats[best][0])} | "
            f"{min(near):g}-{max(near):g} | none | "
        )  # fmt: skip
        lines[-1] += f"{min(peaks):.3g}-{max(peaks):.3g} |"
    return "\n".join(lines)


def report_alternatives(tasks: Sequence[str], seeds: Sequence[int], jobs: int, quick: bool) -> str:
    """AutoOneCycle, torch-lr-finder and the best 1cycle of the peak scan (an oracle)."""
    lines = [
        "| task | split | reference | AutoOneCycle | gap | collapsed | its peaks | "
        "torch-lr-finder, fixed | its picks | collapsed | best 1cycle (scan) |",
        "|:--|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for task in tasks:
        g = grid_summary(task, grid_runs(task, seeds, jobs, quick))
        anchors = anchor_runs(task, seeds, jobs, quick)
        pm = _stats(task, anchors["prodigy"], g["peak"])[0]
        best_ref = max(g["peak"], pm) if higher(task) else min(g["peak"], pm)
        auto, _, _ = plan_runs(task, seeds, jobs, quick, "auto")
        am, asd, acol = _stats(task, auto, g["peak"])
        peaks = [r["peak"] for r in auto]
        fr, picks = finder_runs(task, seeds, jobs, quick)
        fm, fsd, fcol = _stats(task, fr, g["peak"])
        scan = peak_scan(task, seeds, jobs, quick)
        means = {p: _stats(task, rs, g["peak"])[0] for p, rs in scan.items()}
        sign = 1 if higher(task) else -1
        p_best = max(means, key=lambda p: sign * means[p])
        split = "fit" if task in FIT_TASKS else "held out"
        lines.append(
            f"| {task} | {split} | {fmt(task, best_ref)} | {fmt(task, am)} ± {fmt(task, asd)} | "
            f"{_gap(task, am, best_ref)} | {acol}/{len(auto)} | {min(peaks):.3g}-{max(peaks):.3g} "
            f"| {fmt(task, fm)} ± {fmt(task, fsd)} | {min(picks):.3g}-{max(picks):.3g} | "
            f"{fcol}/{len(fr)} | {fmt(task, means[p_best])} at {p_best:g} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "command", choices=("grid", "anchors", "scan", "plans", "speed", "finder", "report")
    )
    p.add_argument("--tasks", nargs="*", default=list(SUITE), choices=list(SUITE))
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--seeds", type=int, default=len(SEEDS))
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    seeds = tuple(range(2 if args.quick else args.seeds))
    for task in args.tasks:
        if args.command == "grid":
            grid_runs(task, seeds, args.jobs, args.quick)
        elif args.command == "anchors":
            anchor_runs(task, seeds, args.jobs, args.quick)
        elif args.command == "scan":
            peak_scan(task, seeds, args.jobs, args.quick)
        elif args.command == "speed":
            print("\n".join(speed(task, seeds, args.jobs, args.quick)))
        elif args.command == "finder":
            finder_runs(task, seeds, args.jobs, args.quick)
        elif args.command == "plans":
            for kind in ("recommend", "fixed", "auto"):
                plan_runs(task, seeds, args.jobs, args.quick, kind)
    if args.command == "report":
        print(report(args.tasks, seeds, args.jobs, args.quick))
        print()
        print(report_alternatives(args.tasks, seeds, args.jobs, args.quick))
        print()
        print(report_scans(args.tasks, seeds, args.jobs, args.quick))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
