"""``clr demo``: the CLR paper's Table 1 in miniature, on a CPU, offline.

The pipeline (:func:`run_demo`):

1. **Range test.** A few LR range tests (:func:`clr_torch.demo.tasks.sweep` with
   :data:`~clr_torch.demo.tasks.DEMO_SWEEP`: the library's default exponential
   sweep, read off the training loss by clr_core) on fresh models, combined into
   median bounds (:func:`clr_core.rangetest.combine`). The test set plays no part
   in choosing a rate.
2. **Training.** The same network trained from the same seeds with

   * ``fixed``: the range test's single-rate suggestion ``result.lr``, for twice
     the budget (as in the paper, where the fixed rate trains to its plateau,
     70,000 iterations, against CLR's 25,000);
   * ``triangular``, ``triangular2``, ``exp_range``: ``result.to_schedule(...)``
     between ``base_lr`` and ``max_lr``, fitted to the budget (whole cycles, ending
     at ``base_lr``), momentum held at 0.9 as in the CLR paper;
   * ``1cycle``: ``result.to_one_cycle(...)`` peaking at ``result.one_cycle_peak``, with the
     inverse momentum cycle 0.95 -> 0.85 -> 0.95 (Smith 2018) from
     ``schedule.momentum()`` (Adam: on ``beta1``); left out when it is the
     recommended plan itself;
   * ``recommended``: ``result.recommend(iterations_per_epoch, epochs)``, the plan
     clr-core stands behind for the budget (its policy, e.g. ``one_cycle``, and its
     reasons are reported), the table's highlighted row. It trains as the recipe
     does: under :class:`clr_torch.CollapseGuard` at its defaults, which restores the
     last good epoch and halves the rates if training collapses (the runs on which it
     fired are reported).

   The runs are independent and seeded, so they go to ``jobs`` worker processes
   (:func:`clr_torch.demo.tasks.run_jobs`; the range tests too) and give the same
   numbers as a serial run. Each process uses ``threads`` torch threads.
3. **Table.** Per policy: iterations trained, final test accuracy (mean ± std
   over seeds), iterations until the policy's *mean* curve comes within 0.5
   points of the best of the fixed rate's mean curve, and the speed-up against
   the fixed rate's own iterations to that target.
4. **Figures.** The sweep with the bounds marked, the LR and momentum of every
   policy, and mean test accuracy against iteration.

Everything is written to a staging folder beside ``--out`` and moved into place
(file by file, with :func:`os.replace`) only when the run has finished: an
interrupted run (Ctrl-C stops the workers too) leaves ``--out`` as it was.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from clr_core import Constant, Schedule
from clr_core.rangetest import Plan, RangeTestResult, combine
from clr_core.validation import choice, fail, instance, integer

from .tasks import (
    DEMO_SWEEP,
    TASKS,
    SweepSettings,
    Task,
    TrainRun,
    default_jobs,
    load_task,
    mean_curve,
    reach,
    run_jobs,
    sweep,
    train,
)

__all__ = ["Preset", "PRESETS", "POLICIES", "DemoConfig", "run_demo", "main"]

#: The policies compared, in table order (``1cycle`` is left out when it is the
#: recommended plan; ``recommended`` is the highlighted row).
POLICIES = ("fixed", "triangular", "triangular2", "exp_range", "1cycle", "recommended")
#: "Reaches the target": the mean curve comes within this much accuracy of it (0.5 points).
TOLERANCE = 0.005
#: Momentum (SGD) / beta1 (Adam) of the policies that do not cycle it.
FIXED_MOMENTUM = 0.9
#: 1cycle's inverse momentum cycle (Smith 2018, arXiv 1803.09820).
ONE_CYCLE_MOMENTUM = (0.85, 0.95)
FILES = (
    "results.md",
    "results.json",
    "range_test.json",
    "range_test.png",
    "schedules.png",
    "accuracy.png",
)


@dataclasses.dataclass(frozen=True)
class Preset:
    """How much work a run does.

    Attributes
    ----------
    seeds : int
        Training seeds per policy.
    epochs : int
        Epoch budget of the cyclic policies, 1cycle and the recommended plan.
    fixed_factor : int
        The fixed rate trains ``fixed_factor * epochs`` epochs.
    sweeps : int
        Range tests run (seeds ``0 .. sweeps - 1``) and combined.
    sweep_steps : int
        Points in each range test's sweep (the rest of the sweep is
        :data:`~clr_torch.demo.tasks.DEMO_SWEEP`).
    """

    seeds: int
    epochs: int
    fixed_factor: int = 2
    sweeps: int = 3
    sweep_steps: int = DEMO_SWEEP.steps


PRESETS = {
    "quick": Preset(seeds=2, epochs=12, sweeps=3, sweep_steps=150),
    "default": Preset(seeds=5, epochs=30, sweeps=3, sweep_steps=200),
    "full": Preset(seeds=10, epochs=50, sweeps=5, sweep_steps=300),
}


@dataclasses.dataclass(frozen=True)
class DemoConfig:
    """One demo run's settings, validated on construction.

    ``DemoConfig.from_preset("quick", seeds=3)`` starts from a preset and
    overrides some numbers. ``threads`` is the torch threads of each process
    (default 1); how many processes run the jobs is :func:`run_demo`'s ``jobs``,
    which changes the time a run takes and never its numbers.
    """

    dataset: str = "mnist1d"
    optimizer: str = "sgd"
    preset: str = "default"
    seeds: int = 5
    epochs: int = 30
    fixed_epochs: int = 60
    sweeps: int = 3
    sweep_steps: int = 200
    threads: int | None = None

    def __post_init__(self) -> None:
        choice("dataset", self.dataset, TASKS)
        choice("optimizer", self.optimizer, ("sgd", "adam"))
        choice("preset", self.preset, tuple(PRESETS))
        for name in ("seeds", "epochs", "fixed_epochs", "sweeps"):
            object.__setattr__(self, name, integer(name, getattr(self, name), low=1))
        object.__setattr__(self, "sweep_steps", integer("sweep_steps", self.sweep_steps, low=20))
        if self.threads is not None:
            object.__setattr__(self, "threads", integer("threads", self.threads, low=1))

    @classmethod
    def from_preset(cls, preset: str = "default", **overrides: Any) -> DemoConfig:
        """The preset's numbers, with ``overrides`` (``None`` values ignored) on top."""
        p = PRESETS[choice("preset", preset, tuple(PRESETS))]
        kw: dict[str, Any] = {
            "preset": preset,
            "seeds": p.seeds,
            "epochs": p.epochs,
            "sweeps": p.sweeps,
            "sweep_steps": p.sweep_steps,
        }
        kw.update({k: v for k, v in overrides.items() if v is not None})
        if overrides.get("fixed_epochs") is None:
            kw["fixed_epochs"] = p.fixed_factor * integer("epochs", kw["epochs"], low=1)
        return cls(**kw)

    @property
    def sweep_settings(self) -> SweepSettings:
        """The demo's sweep (:data:`~clr_torch.demo.tasks.DEMO_SWEEP`) with this run's steps."""
        return dataclasses.replace(DEMO_SWEEP, steps=self.sweep_steps)


# --------------------------------------------------------------------------- #
# Progress across processes
# --------------------------------------------------------------------------- #


class _BarTicks:
    """The serial run's tick target: ``put(n)`` advances the bar directly."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar

    def put(self, n: int) -> None:
        self.bar.update(n)


@contextlib.contextmanager
def _ticks(bar: Any, parallel: bool) -> Iterator[Any]:
    """Something with ``put(n)`` that a job (here or in a worker) calls to advance ``bar``.

    Workers cannot share a tqdm bar: in parallel, they put their ticks on a queue
    of a ``multiprocessing`` manager, and a thread of this process reads it into
    the bar.
    """
    if not parallel:
        yield _BarTicks(bar)
        return
    import multiprocessing
    import threading

    with multiprocessing.get_context("spawn").Manager() as manager:
        queue = manager.Queue()

        def drain() -> None:
            for n in iter(queue.get, None):
                bar.update(n)

        reader = threading.Thread(target=drain, name="clr-demo-progress", daemon=True)
        reader.start()
        try:
            yield queue
        finally:
            queue.put(None)
            reader.join()


# --------------------------------------------------------------------------- #
# (1) the range test
# --------------------------------------------------------------------------- #


def _sweep_job(
    task: Task, seed: int, settings: SweepSettings, optimizer: str, threads: int
) -> RangeTestResult:
    """One range test, in this process or a worker (module level: picklable)."""
    torch.set_num_threads(threads)
    return sweep(task, seed, settings, optimizer)


def _range_tests(
    task: Task, config: DemoConfig, jobs: int, progress: bool
) -> tuple[RangeTestResult, list[RangeTestResult]]:
    settings = config.sweep_settings
    work = [
        (task, seed, settings, config.optimizer, config.threads or 1)
        for seed in range(config.sweeps)
    ]
    with tqdm(
        total=config.sweeps * settings.steps,
        desc="(1) range test",
        unit="step",
        file=sys.stderr,
        disable=not progress,
        leave=False,
    ) as bar:
        results = run_jobs(_sweep_job, work, jobs, on_done=lambda i, r: bar.update(settings.steps))
    return combine(results), results


# --------------------------------------------------------------------------- #
# (2) training
# --------------------------------------------------------------------------- #


@dataclasses.dataclass(frozen=True)
class _Policy:
    """One row of the table: a rate schedule, a momentum schedule, a length."""

    policy: str
    lr: Schedule
    momentum: Schedule | None  # None: held at FIXED_MOMENTUM
    epochs: int
    plan_policy: str | None = None  # the recommended plan's own policy name
    guarded: bool = False  # trained under clr_torch.CollapseGuard (its defaults)


def _plans(result: RangeTestResult, task: Task, config: DemoConfig) -> list[_Policy]:
    ipe, e = task.steps_per_epoch, config.epochs
    one = result.to_one_cycle(ipe, e)
    one_mom = one.momentum(*ONE_CYCLE_MOMENTUM)
    plan = result.recommend(ipe, e)
    rows = [
        _Policy("fixed", Constant(result.lr), None, config.fixed_epochs),
        _Policy("triangular", result.to_triangular(ipe, epochs=e), None, e),
        _Policy("triangular2", result.to_triangular2(ipe, epochs=e), None, e),
        _Policy("exp_range", result.to_exp_range(ipe, epochs=e), None, e),
    ]
    if (plan.lr, plan.momentum) != (one, one_mom):
        rows.append(_Policy("1cycle", one, one_mom, e))
    rows.append(_Policy("recommended", plan.lr, plan.momentum, e, plan.policy, guarded=True))
    return rows


def _train_job(
    trainer: Callable[..., TrainRun],
    task: Task,
    plan: _Policy,
    seed: int,
    optimizer: str,
    threads: int,
    ticks: Any,
) -> TrainRun:
    """One training run, in this process or a worker; ``ticks.put(1)`` after each epoch."""
    torch.set_num_threads(threads)
    guard: dict[str, Any] = {"guard": {}} if plan.guarded else {}
    return trainer(
        task,
        plan.lr,
        epochs=plan.epochs,
        seed=seed,
        optimizer=optimizer,
        momentum=plan.momentum,
        on_epoch=lambda epoch, score: ticks.put(1),
        record=False,
        **guard,
    )


def _train_all(
    task: Task,
    plans: list[_Policy],
    config: DemoConfig,
    jobs: int,
    progress: bool,
    trainer: Callable[..., TrainRun],
) -> dict[str, list[TrainRun]]:
    order = [(plan, seed) for plan in plans for seed in range(config.seeds)]
    parallel = jobs > 1 and len(order) > 1
    n = min(jobs, len(order)) if parallel else 1
    bar = tqdm(
        total=sum(plan.epochs for plan, _ in order),
        desc=f"(2) training ({n} process{'es' if n > 1 else ''})",
        unit="epoch",
        file=sys.stderr,
        disable=not progress,
        leave=False,
    )
    with bar, _ticks(bar, parallel) as ticks:
        work = [
            (trainer, task, plan, seed, config.optimizer, config.threads or 1, ticks)
            for plan, seed in order
        ]
        done = run_jobs(_train_job, work, jobs if parallel else 1)
    runs: dict[str, list[TrainRun]] = {p.policy: [] for p in plans}
    for (plan, _), run in zip(order, done, strict=True):
        runs[plan.policy].append(run)
    return runs


# --------------------------------------------------------------------------- #
# (3) the table
# --------------------------------------------------------------------------- #


def _std(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def _summarise(
    plans: list[_Policy], runs: dict[str, list[TrainRun]], ipe: int
) -> tuple[float, list[dict[str, Any]]]:
    curves = {p.policy: mean_curve([r.accuracies for r in runs[p.policy]]) for p in plans}
    target = max(curves["fixed"])
    fixed_iters = reach(curves["fixed"], target, ipe, TOLERANCE)
    rows = []
    for p in plans:
        finals = [r.final for r in runs[p.policy]]
        hit = reach(curves[p.policy], target, ipe, TOLERANCE)
        row: dict[str, Any] = {"policy": p.policy}
        if p.plan_policy is not None:
            row["plan_policy"] = p.plan_policy
        row.update(
            {
                "iterations": p.epochs * ipe,
                "final_accuracy_mean": statistics.fmean(finals),
                "final_accuracy_std": _std(finals),
                "final_accuracies": finals,
                "best_mean_accuracy": max(curves[p.policy]),
                "iterations_to_target": hit,
                "speedup": None if hit is None or fixed_iters is None else fixed_iters / hit,
                "diverged_runs": sum(r.diverged for r in runs[p.policy]),
                "guarded": p.guarded,
                "guard_fired": [list(r.fired) for r in runs[p.policy]],
                "lr_schedule": p.lr.to_config(),
                "momentum_schedule": None if p.momentum is None else p.momentum.to_config(),
                "mean_curve": curves[p.policy],
                "std_curve": [
                    _std(list(v)) for v in zip(*(r.accuracies for r in runs[p.policy]), strict=True)
                ],
            }
        )
        rows.append(row)
    return target, rows


def _pct(x: float) -> str:
    return f"{100 * x:.2f}"


def _int(n: int | None) -> str:
    return "not reached" if n is None else f"{n:,}"


def _label(row: dict[str, Any]) -> str:
    """The policy cell: the recommended row names its plan's policy."""
    if row["policy"] == "recommended":
        return f"recommended: {row['plan_policy']}"
    return str(row["policy"])


def _fired(data: dict[str, Any]) -> str:
    """How many guarded runs the guard restored, and at which epochs (1-based)."""
    fired = [f for row in data["policies"] if row["guarded"] for f in row["guard_fired"]]
    hit = [f for f in fired if f]
    if not hit:
        return f"none of the {len(fired)} runs"
    epochs = "; ".join(", ".join(str(e + 1) for e in f) for f in hit)
    return f"{len(hit)} of the {len(fired)} runs (at epoch {epochs})"


def table_markdown(data: dict[str, Any]) -> str:
    """The paper's table (and its notes) as markdown, from :func:`run_demo`'s result.

    The recommended plan's row is in bold.
    """
    target = data["target_accuracy"]
    rt = data["range_test"]
    c = data["config"]
    ipe = data["iterations_per_epoch"]
    head = (
        f"| policy | iterations | final test accuracy (%) | iterations to {_pct(target)}% "
        "| speed-up |"
    )
    lines = [head, "|:--|--:|--:|--:|--:|"]
    for row in data["policies"]:
        sp = row["speedup"]
        cells = [
            _label(row),
            f"{row['iterations']:,}",
            f"{_pct(row['final_accuracy_mean'])} ± {_pct(row['final_accuracy_std'])}",
            _int(row["iterations_to_target"]),
            "–" if sp is None else f"{sp:.2f}x",
        ]
        if row["policy"] == "recommended":
            cells = [f"**{cell}**" for cell in cells]
        lines.append("| " + " | ".join(cells) + " |")
    opt = "SGD, momentum 0.9" if c["optimizer"] == "sgd" else "Adam (beta1 0.9)"
    mom = "momentum" if c["optimizer"] == "sgd" else "beta1"
    shown = {row["policy"] for row in data["policies"]}
    notes = [
        "",
        f"{c['dataset']}, {opt}, batch {data['batch_size']} ({ipe} "
        f"iterations an epoch), {c['seeds']} seed(s); accuracy is on the test set.",
        f"Target: {_pct(target)}%, the best of the fixed rate's mean test-accuracy curve; a "
        f"policy reaches it when its mean curve (over seeds) comes within "
        f"{100 * TOLERANCE:.1f} points. Speed-up: the fixed rate's iterations to the target "
        "over the policy's.",
        f"Range test: {rt['sweeps']} sweep(s), {rt['iterations']:,} iterations in all, not "
        "counted above (the fixed rate and the plan came from it too). "
        f"base_lr {rt['base_lr']:.3g}, max_lr {rt['max_lr']:.3g}, lr {rt['lr']:.3g}, "
        f"confidence {rt['confidence']:.2f}.",
        f"- fixed: lr {rt['lr']:.3g} for {c['fixed_epochs']} epochs (twice the budget, so its "
        "best is a plateau, as in the paper), momentum held.",
        f"- triangular, triangular2, exp_range: between base_lr and max_lr, {c['epochs']} "
        "epochs in whole cycles, momentum held (as in the CLR paper).",
    ]
    one = (
        f"- 1cycle: the hand-off `result.to_one_cycle({ipe}, {c['epochs']})`, peak "
        f"{rt['one_cycle_peak']:.3g} (the range test's 1cycle peak, above the cautious "
        f"max_lr), start peak/10, {mom} cycled "
        f"{ONE_CYCLE_MOMENTUM[1]} -> {ONE_CYCLE_MOMENTUM[0]} -> {ONE_CYCLE_MOMENTUM[1]}"
    )
    notes.append(one + ("." if "1cycle" in shown else ": the recommended plan itself (one row)."))
    plan = data["recommendation"]
    notes.append(
        f"- **recommended**: `result.recommend({ipe}, {c['epochs']})`, the plan clr-core "
        f"recommends for this budget: {plan['policy']}, "
        + (f"{mom} held" if plan["momentum"] is None else f"{mom} cycled")
        + ", trained under the collapse guard (`clr_torch.CollapseGuard()`, as the recipe "
        + f"does): it restored {_fired(data)}. Its reasons:"
    )
    notes += [f"  - {reason}" for reason in plan["reasons"]]
    diverged = [
        f"{_label(r)} ({r['diverged_runs']})" for r in data["policies"] if r["diverged_runs"]
    ]
    if diverged:
        notes.append("- runs that diverged (counted at 10% from then on): " + ", ".join(diverged))
    return "\n".join(lines + notes) + "\n"


# --------------------------------------------------------------------------- #
# (4) figures
# --------------------------------------------------------------------------- #


def _figure(width: float, height: float, rows: int = 1) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    axes = fig.subplots(rows, 1, sharex=rows > 1)
    return fig, axes


def _plot_sweep(result: RangeTestResult, path: Path) -> None:
    fig, ax = _figure(7, 4.2)
    result.plot(ax)
    fig.savefig(path, dpi=110, bbox_inches="tight")


def _style(i: int, policy: str) -> dict[str, Any]:
    """Line colour and width: the recommended plan in black and thicker."""
    if policy == "recommended":
        return {"color": "k", "lw": 2.4}
    return {"color": f"C{i}", "lw": 1.3}


def _plot_schedules(plans: list[_Policy], ipe: int, optimizer: str, path: Path) -> None:
    fig, (top, bottom) = _figure(8, 6, rows=2)
    for i, p in enumerate(plans):
        steps = range(p.epochs * ipe)
        m = p.momentum if p.momentum is not None else Constant(FIXED_MOMENTUM)
        name = p.policy if p.plan_policy is None else f"recommended: {p.plan_policy}"
        top.plot(steps, [p.lr(t) for t in steps], label=name, **_style(i, p.policy))
        bottom.plot(steps, [m(t) for t in steps], label=name, **_style(i, p.policy))
    top.set_ylabel("learning rate")
    top.set_title("Schedules handed off from the range test (the fixed rate trains twice as long)")
    top.legend(fontsize="small")
    bottom.set_ylabel("momentum" if optimizer == "sgd" else "beta1")
    bottom.set_xlabel("iteration")
    fig.savefig(path, dpi=110, bbox_inches="tight")


def _plot_accuracy(data: dict[str, Any], path: Path) -> None:
    fig, ax = _figure(8, 4.8)
    ipe = data["iterations_per_epoch"]
    target = data["target_accuracy"]
    for i, row in enumerate(data["policies"]):
        mean, std = row["mean_curve"], row["std_curve"]
        x = [(e + 1) * ipe for e in range(len(mean))]
        style = _style(i, row["policy"])
        ax.plot(x, [100 * v for v in mean], label=_label(row), **style)
        ax.fill_between(
            x,
            [100 * (m - s) for m, s in zip(mean, std, strict=True)],
            [100 * (m + s) for m, s in zip(mean, std, strict=True)],
            color=style["color"],
            alpha=0.12,
            lw=0,
        )
        if row["iterations_to_target"] is not None:
            hit = [row["iterations_to_target"]], [100 * (target - TOLERANCE)]
            ax.plot(*hit, "o", color=style["color"])
    ax.axhline(
        100 * target, color="0.4", ls="--", lw=1, label=f"fixed rate's best {100 * target:.2f}%"
    )
    ax.axhline(100 * (target - TOLERANCE), color="0.6", ls=":", lw=1, label="within 0.5 points")
    low = min(min(r["mean_curve"]) for r in data["policies"])
    ax.set_ylim(max(0.0, 100 * max(low, target - 0.25)), 100 * min(1.0, target + 0.03) + 0.5)
    ax.set_xlabel("iteration")
    ax.set_ylabel("test accuracy (%), mean ± std over seeds")
    ax.set_title(f"{data['config']['dataset']}, {data['config']['optimizer']}")
    ax.legend(fontsize="small", loc="lower right")
    fig.savefig(path, dpi=110, bbox_inches="tight")


# --------------------------------------------------------------------------- #
# the whole run
# --------------------------------------------------------------------------- #


def _staging(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise fail("out", "a folder (it names an existing file)", str(out))
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    return Path(
        tempfile.mkdtemp(prefix=f".{out.name or 'clr-demo'}.", suffix=".partial", dir=parent)
    )


def _publish(staging: Path, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in FILES:
        os.replace(staging / name, out / name)
        written.append(out / name)
    return written


def _data(
    config: DemoConfig,
    task: Task,
    result: RangeTestResult,
    sweeps: list[RangeTestResult],
    plan: Plan,
) -> dict[str, Any]:
    """The head of ``results.json``: the configuration, the range test, the plan."""
    return {
        "config": dataclasses.asdict(config),
        "batch_size": task.batch_size,
        "iterations_per_epoch": task.steps_per_epoch,
        "range_test": {
            "base_lr": result.base_lr,
            "max_lr": result.max_lr,
            "lr": result.lr,
            "one_cycle_peak": result.one_cycle_peak,
            "confidence": result.confidence,
            "reasons": list(result.reasons),
            "suggestions": dict(result.suggestions),
            "bounds_from": result.bounds_from,
            "sweeps": len(sweeps),
            "iterations": sum(len(r.lrs) for r in sweeps),
            "per_sweep": [{"base_lr": r.base_lr, "max_lr": r.max_lr, "lr": r.lr} for r in sweeps],
        },
        "recommendation": plan.to_config(),
    }


def _write(
    staging: Path,
    data: dict[str, Any],
    table: str,
    result: RangeTestResult,
    plans: list[_Policy],
    progress: bool,
    started: float,
) -> None:
    """Write every file of :data:`FILES` to ``staging`` (``data`` gets its ``seconds``)."""
    with tqdm(
        total=len(FILES),
        desc="(4) figures",
        unit="file",
        file=sys.stderr,
        disable=not progress,
        leave=False,
    ) as bar:
        _plot_sweep(result, staging / "range_test.png")
        bar.update(1)
        optimizer = data["config"]["optimizer"]
        _plot_schedules(plans, data["iterations_per_epoch"], optimizer, staging / "schedules.png")
        bar.update(1)
        _plot_accuracy(data, staging / "accuracy.png")
        bar.update(1)
        result.to_json(staging / "range_test.json")
        bar.update(1)
        data["seconds"] = round(time.perf_counter() - started, 1)
        (staging / "results.json").write_text(
            json.dumps(data, indent=1, allow_nan=False) + "\n", encoding="utf-8"
        )
        bar.update(1)
        title = "# clr demo: the CLR paper's Table 1 in miniature\n\n"
        (staging / "results.md").write_text(title + table, encoding="utf-8")
        bar.update(1)


def run_demo(
    config: DemoConfig,
    out: str | os.PathLike[str],
    *,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    trainer: Callable[..., TrainRun] | None = None,
    jobs: int | None = None,
) -> dict[str, Any]:
    """Run the demo and write its files to ``out``; return the result as JSON data.

    Parameters
    ----------
    config : DemoConfig
    out : path
        Output folder. The files (``results.md``, ``results.json``,
        ``range_test.json`` and three PNG figures) are written to a staging
        folder beside it and moved in only when everything is done, so an
        interrupted or failed run changes nothing in ``out``.
    progress : bool
        tqdm progress bars on stderr.
    log : callable, optional
        Called with each line of the human-readable report (e.g. ``print``).
    trainer : callable, optional
        The training function, default :func:`clr_torch.demo.tasks.train`; with
        ``jobs > 1`` it must be importable (a module-level function), since the
        workers import it.
    jobs : int, optional
        Worker processes for the range tests and the training runs (default: one
        per core, :func:`~clr_torch.demo.tasks.default_jobs`; 1: everything in this
        process). Every run is seeded, so the numbers do not depend on it.

    Returns
    -------
    dict
        What ``results.json`` holds: the configuration, the range test, the
        recommended plan (``Plan.to_config()``), and per policy the table's
        numbers, the schedules' configs and the mean curves; then ``jobs`` and
        ``seconds``, how the run was done.
    """
    instance("config", config, DemoConfig, "a DemoConfig")
    jobs = default_jobs() if jobs is None else integer("jobs", jobs, low=1)
    say = log if log is not None else (lambda line: None)
    out = Path(out)
    staging = _staging(out)
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads or 1)
    started = time.perf_counter()
    try:
        task = load_task(config.dataset)
        ipe = task.steps_per_epoch
        say(
            f"clr demo: {config.dataset}, {config.optimizer}, preset {config.preset}: "
            f"{config.seeds} seed(s), {config.epochs} epochs (fixed rate {config.fixed_epochs})"
        )
        result, sweeps = _range_tests(task, config, jobs, progress)
        rt_iters = sum(len(r.lrs) for r in sweeps)
        say(f"\n(1) LR range test ({len(sweeps)} sweep(s), {rt_iters} iterations)")
        for line in result.summary().splitlines():
            say("    " + line)
        if len(sweeps) > 1:
            for key in ("base_lr", "max_lr", "lr"):
                each = ", ".join(f"{getattr(r, key):.3g}" for r in sweeps)
                say(f"    {key} per sweep: {each}")
        plan = result.recommend(ipe, config.epochs)
        say(
            f"\n    recommended for {config.epochs} epochs "
            f"(result.recommend({ipe}, {config.epochs})): {plan.policy}"
        )
        for reason in plan.reasons:
            say("      - " + reason)
        plans = _plans(result, task, config)
        runs = _train_all(task, plans, config, jobs, progress, trainer or train)
        target, rows = _summarise(plans, runs, ipe)
        data = _data(config, task, result, sweeps, plan)
        data.update({"target_accuracy": target, "tolerance": TOLERANCE, "policies": rows})
        data["jobs"] = jobs
        table = table_markdown(data)
        say("\n(2) trained every policy; (3) results\n")
        for line in table.splitlines():
            say(line)
        _write(staging, data, table, result, plans, progress, started)
        written = _publish(staging, out)
    finally:
        torch.set_num_threads(threads)
        shutil.rmtree(staging, ignore_errors=True)
    say(f"\n(4) wrote {', '.join(p.name for p in written)} to {out}/ in {data['seconds']:.0f} s")
    return data


def main(args: argparse.Namespace) -> int:
    """``clr demo`` with the options declared in :mod:`clr_torch.demo.cli`; the exit status."""
    try:
        config = DemoConfig.from_preset(
            args.preset,
            dataset=args.dataset,
            optimizer=args.optimizer,
            seeds=args.seeds,
            epochs=args.epochs,
            threads=args.threads,
        )
        if Path(args.out).exists() and not Path(args.out).is_dir():
            raise fail("out", "a folder (it names an existing file)", args.out)
    except (TypeError, ValueError) as e:
        print(f"clr demo: error: {e}", file=sys.stderr)
        return 2
    quiet = bool(args.json)
    try:
        data = run_demo(
            config, args.out, progress=not quiet, log=None if quiet else print, jobs=args.jobs
        )
    except KeyboardInterrupt:
        print(f"\nclr demo: interrupted; nothing written to {args.out}", file=sys.stderr)
        return 130
    except OSError as e:
        print(f"clr demo: error: cannot write to {args.out}: {e}", file=sys.stderr)
        return 2
    if quiet:
        print(json.dumps(data, indent=1, allow_nan=False))
    return 0
