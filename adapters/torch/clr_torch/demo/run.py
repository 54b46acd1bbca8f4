"""``clr demo``: the CLR paper's Table 1 in miniature, on a CPU, offline.

The pipeline (:func:`run_demo`):

1. **Range test.** A few LR range tests (:func:`clr_torch.range_test`, exponential
   sweep, held-out accuracy as the metric, read off by clr_core) on fresh models,
   combined into median bounds (:func:`clr_core.rangetest.combine`). The held-out
   batches are carved from the *training* set (the last four batches' worth of
   examples), so the test set plays no part in choosing a rate.
2. **Training.** The same network trained from the same seeds with

   * ``fixed``: the range test's single-rate suggestion ``result.lr``, for twice
     the budget (as in the paper, where the fixed rate trains to its plateau,
     70,000 iterations, against CLR's 25,000);
   * ``triangular``, ``triangular2``, ``exp_range``: ``result.to_schedule(...)``
     between ``base_lr`` and ``max_lr``, fitted to the budget (whole cycles, ending
     at ``base_lr``), momentum held at 0.9 as in the CLR paper;
   * ``1cycle``: ``result.to_one_cycle(...)`` peaking at ``result.one_cycle_peak``, with the
     inverse momentum cycle 0.95 -> 0.85 -> 0.95 (Smith 2018) from
     ``schedule.momentum()`` (Adam: on ``beta1``).

3. **Table.** Per policy: iterations trained, final test accuracy (mean ± std
   over seeds), iterations until the policy's *mean* curve comes within 0.5
   points of the best of the fixed rate's mean curve, and the speed-up against
   the fixed rate's own iterations to that target.
4. **Figures.** The sweep with the bounds marked, the LR and momentum of every
   policy, and mean test accuracy against iteration.

Everything is written to a staging folder beside ``--out`` and moved into place
(file by file, with :func:`os.replace`) only when the run has finished: an
interrupted run leaves ``--out`` as it was.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from clr_core import Constant, Schedule
from clr_core.rangetest import RangeTestResult, combine

from .._rangetest import range_test
from .tasks import (
    TASKS,
    Task,
    TrainRun,
    batches,
    hold_out,
    load_task,
    make_model,
    make_optimizer,
    train,
)

__all__ = ["Preset", "PRESETS", "POLICIES", "DemoConfig", "run_demo", "main"]

#: The policies compared, in table order.
POLICIES = ("fixed", "triangular", "triangular2", "exp_range", "1cycle")
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
        Epoch budget of the cyclic policies and 1cycle.
    fixed_factor : int
        The fixed rate trains ``fixed_factor * epochs`` epochs.
    sweeps : int
        Range tests run (seeds ``0 .. sweeps - 1``) and combined.
    sweep_steps : int
        Points in each range test's sweep.
    """

    seeds: int
    epochs: int
    fixed_factor: int = 2
    sweeps: int = 3
    sweep_steps: int = 200


PRESETS = {
    "quick": Preset(seeds=2, epochs=12, sweeps=3, sweep_steps=150),
    "default": Preset(seeds=5, epochs=30, sweeps=3, sweep_steps=200),
    "full": Preset(seeds=10, epochs=50, sweeps=5, sweep_steps=300),
}

SWEEP_START, SWEEP_END = 1e-4, 10.0
HELD_OUT_BATCHES = 4


def _fail(name: str, expected: str, value: Any, kind: type[Exception] = ValueError) -> Exception:
    return kind(f"Argument `{name}` must be {expected}. Received: {name}={value!r}")


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(name, "an int", value, TypeError)
    if value < 1:
        raise _fail(name, "an int >= 1", value)
    return value


@dataclasses.dataclass(frozen=True)
class DemoConfig:
    """One demo run's settings, validated on construction.

    ``DemoConfig.from_preset("quick", seeds=3)`` starts from a preset and
    overrides some numbers.
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
        if self.dataset not in TASKS:
            raise _fail("dataset", f"one of {TASKS}", self.dataset)
        if self.optimizer not in ("sgd", "adam"):
            raise _fail("optimizer", "'sgd' or 'adam'", self.optimizer)
        if self.preset not in PRESETS:
            raise _fail("preset", f"one of {tuple(PRESETS)}", self.preset)
        for name in ("seeds", "epochs", "fixed_epochs", "sweeps"):
            _count(name, getattr(self, name))
        if _count("sweep_steps", self.sweep_steps) < 20:
            raise _fail("sweep_steps", "an int >= 20", self.sweep_steps)
        if self.threads is not None:
            _count("threads", self.threads)

    @classmethod
    def from_preset(cls, preset: str = "default", **overrides: Any) -> DemoConfig:
        """The preset's numbers, with ``overrides`` (``None`` values ignored) on top."""
        if preset not in PRESETS:
            raise _fail("preset", f"one of {tuple(PRESETS)}", preset)
        p = PRESETS[preset]
        kw: dict[str, Any] = {
            "preset": preset,
            "seeds": p.seeds,
            "epochs": p.epochs,
            "sweeps": p.sweeps,
            "sweep_steps": p.sweep_steps,
        }
        kw.update({k: v for k, v in overrides.items() if v is not None})
        if "fixed_epochs" not in overrides or overrides["fixed_epochs"] is None:
            kw["fixed_epochs"] = p.fixed_factor * _count("epochs", kw["epochs"])
        return cls(**kw)


# --------------------------------------------------------------------------- #
# (1) the range test
# --------------------------------------------------------------------------- #


def _range_tests(
    task: Task, config: DemoConfig, progress: bool
) -> tuple[RangeTestResult, list[RangeTestResult]]:
    sub, val = hold_out(task, HELD_OUT_BATCHES)
    results = []
    with tqdm(
        total=config.sweeps * config.sweep_steps,
        desc="(1) range test",
        unit="step",
        file=sys.stderr,
        disable=not progress,
        leave=False,
    ) as bar:
        for seed in range(config.sweeps):
            torch.manual_seed(seed)
            model = make_model(task.name)
            opt = make_optimizer(config.optimizer, model.parameters(), SWEEP_START)
            stream = batches(sub, torch.Generator().manual_seed(seed))
            loader = [next(stream) for _ in range(config.sweep_steps)]
            r = range_test(
                model,
                opt,
                loader,
                torch.nn.functional.cross_entropy,
                start_lr=SWEEP_START,
                end_lr=SWEEP_END,
                num_steps=config.sweep_steps,
                metric="accuracy",
                val_loader=val,
                val_batches=len(val),
                progress=False,
            )
            results.append(r)
            bar.update(config.sweep_steps)
    return combine(results), results


# --------------------------------------------------------------------------- #
# (2) training
# --------------------------------------------------------------------------- #


@dataclasses.dataclass(frozen=True)
class _Plan:
    policy: str
    lr: Schedule
    momentum: Schedule | None  # None: held at FIXED_MOMENTUM
    epochs: int


def _plans(result: RangeTestResult, task: Task, config: DemoConfig) -> list[_Plan]:
    ipe, e = task.steps_per_epoch, config.epochs
    one = result.to_one_cycle(ipe, e)
    return [
        _Plan("fixed", Constant(result.lr), None, config.fixed_epochs),
        _Plan("triangular", result.to_triangular(ipe, epochs=e), None, e),
        _Plan("triangular2", result.to_triangular2(ipe, epochs=e), None, e),
        _Plan("exp_range", result.to_exp_range(ipe, epochs=e), None, e),
        _Plan("1cycle", one, one.momentum(*ONE_CYCLE_MOMENTUM), e),
    ]


def _train_all(
    task: Task,
    plans: list[_Plan],
    config: DemoConfig,
    progress: bool,
    trainer: Callable[..., TrainRun],
) -> dict[str, list[TrainRun]]:
    runs: dict[str, list[TrainRun]] = {p.policy: [] for p in plans}
    total = config.seeds * sum(p.epochs for p in plans)
    with tqdm(
        total=total,
        desc="(2) training",
        unit="epoch",
        file=sys.stderr,
        disable=not progress,
        leave=False,
    ) as bar:
        for plan in plans:
            for seed in range(config.seeds):
                bar.set_postfix(policy=plan.policy, seed=seed, refresh=False)

                def tick(epoch: int, acc: float) -> None:
                    bar.update(1)

                runs[plan.policy].append(
                    trainer(
                        task,
                        plan.lr,
                        epochs=plan.epochs,
                        seed=seed,
                        optimizer=config.optimizer,
                        momentum=plan.momentum,
                        on_epoch=tick,
                    )
                )
    return runs


# --------------------------------------------------------------------------- #
# (3) the table
# --------------------------------------------------------------------------- #


def _mean_curve(runs: list[TrainRun]) -> list[float]:
    return [statistics.fmean(vals) for vals in zip(*(r.accuracies for r in runs), strict=True)]


def _std(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def _reach(curve: list[float], target: float, ipe: int) -> int | None:
    """Iterations until ``curve`` (one point per epoch) is within TOLERANCE of ``target``."""
    for epoch, acc in enumerate(curve):
        if acc >= target - TOLERANCE:
            return (epoch + 1) * ipe
    return None


def _summarise(
    plans: list[_Plan], runs: dict[str, list[TrainRun]], ipe: int
) -> tuple[float, list[dict[str, Any]]]:
    curves = {p.policy: _mean_curve(runs[p.policy]) for p in plans}
    target = max(curves["fixed"])
    fixed_iters = _reach(curves["fixed"], target, ipe)
    rows = []
    for p in plans:
        finals = [r.final for r in runs[p.policy]]
        reach = _reach(curves[p.policy], target, ipe)
        rows.append(
            {
                "policy": p.policy,
                "iterations": p.epochs * ipe,
                "final_accuracy_mean": statistics.fmean(finals),
                "final_accuracy_std": _std(finals),
                "final_accuracies": finals,
                "best_mean_accuracy": max(curves[p.policy]),
                "iterations_to_target": reach,
                "speedup": None if reach is None or fixed_iters is None else fixed_iters / reach,
                "diverged_runs": sum(r.diverged for r in runs[p.policy]),
                "lr_schedule": p.lr.to_config(),
                "momentum_schedule": None if p.momentum is None else p.momentum.to_config(),
                "mean_curve": curves[p.policy],
                "std_curve": [
                    _std(list(v)) for v in zip(*(r.accuracies for r in runs[p.policy]), strict=True)
                ],
            }
        )
    return target, rows


def _pct(x: float) -> str:
    return f"{100 * x:.2f}"


def _int(n: int | None) -> str:
    return "not reached" if n is None else f"{n:,}"


def table_markdown(data: dict[str, Any]) -> str:
    """The paper's table (and its notes) as markdown, from :func:`run_demo`'s result."""
    target = data["target_accuracy"]
    rt = data["range_test"]
    c = data["config"]
    head = (
        f"| policy | iterations | final test accuracy (%) | iterations to {_pct(target)}% "
        "| speed-up |"
    )
    lines = [head, "|:--|--:|--:|--:|--:|"]
    for row in data["policies"]:
        sp = row["speedup"]
        lines.append(
            f"| {row['policy']} | {row['iterations']:,} | {_pct(row['final_accuracy_mean'])} ± "
            f"{_pct(row['final_accuracy_std'])} | {_int(row['iterations_to_target'])} | "
            + ("–" if sp is None else f"{sp:.2f}x")
            + " |"
        )
    opt = "SGD, momentum 0.9" if c["optimizer"] == "sgd" else "Adam (beta1 0.9)"
    mom = "momentum" if c["optimizer"] == "sgd" else "beta1"
    notes = [
        "",
        f"{c['dataset']}, {opt}, batch {data['batch_size']} ({data['iterations_per_epoch']} "
        f"iterations an epoch), {c['seeds']} seed(s); accuracy is on the test set.",
        f"Target: {_pct(target)}%, the best of the fixed rate's mean test-accuracy curve; a "
        f"policy reaches it when its mean curve (over seeds) comes within "
        f"{100 * TOLERANCE:.1f} points. Speed-up: the fixed rate's iterations to the target "
        "over the policy's.",
        f"Range test: {rt['sweeps']} sweep(s), {rt['iterations']:,} iterations in all, not "
        "counted above (the fixed rate came from it too). "
        f"base_lr {rt['base_lr']:.3g}, max_lr {rt['max_lr']:.3g}, lr {rt['lr']:.3g}, "
        f"confidence {rt['confidence']:.2f}.",
        f"- fixed: lr {rt['lr']:.3g} for {c['fixed_epochs']} epochs (twice the budget, so its "
        "best is a plateau, as in the paper), momentum held.",
        f"- triangular, triangular2, exp_range: between base_lr and max_lr, {c['epochs']} "
        "epochs in whole cycles, momentum held (as in the CLR paper).",
        f"- 1cycle: peak {rt['one_cycle_peak']:.3g} (the range test's 1cycle peak, above the "
        f"cautious max_lr), start peak/10, {c['epochs']} epochs, {mom} cycled "
        f"{ONE_CYCLE_MOMENTUM[1]} -> {ONE_CYCLE_MOMENTUM[0]} -> {ONE_CYCLE_MOMENTUM[1]}.",
    ]
    diverged = [
        f"{r['policy']} ({r['diverged_runs']})" for r in data["policies"] if r["diverged_runs"]
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


def _plot_schedules(plans: list[_Plan], ipe: int, optimizer: str, path: Path) -> None:
    fig, (top, bottom) = _figure(8, 6, rows=2)
    for i, p in enumerate(plans):
        steps = range(p.epochs * ipe)
        m = p.momentum if p.momentum is not None else Constant(FIXED_MOMENTUM)
        top.plot(steps, [p.lr(t) for t in steps], color=f"C{i}", lw=1.3, label=p.policy)
        bottom.plot(steps, [m(t) for t in steps], color=f"C{i}", lw=1.3, label=p.policy)
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
        ax.plot(x, [100 * v for v in mean], color=f"C{i}", lw=1.5, label=row["policy"])
        ax.fill_between(
            x,
            [100 * (m - s) for m, s in zip(mean, std, strict=True)],
            [100 * (m + s) for m, s in zip(mean, std, strict=True)],
            color=f"C{i}",
            alpha=0.12,
            lw=0,
        )
        if row["iterations_to_target"] is not None:
            ax.plot([row["iterations_to_target"]], [100 * (target - TOLERANCE)], "o", color=f"C{i}")
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
        raise _fail("out", "a folder (it names an existing file)", str(out))
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


def run_demo(
    config: DemoConfig,
    out: str | os.PathLike[str],
    *,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    trainer: Callable[..., TrainRun] | None = None,
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
        The training function, default :func:`clr_torch.demo.tasks.train`.

    Returns
    -------
    dict
        What ``results.json`` holds: the configuration, the range test, and per
        policy the table's numbers, the schedules' configs and the mean curves.
    """
    if not isinstance(config, DemoConfig):
        raise _fail("config", "a DemoConfig", config, TypeError)
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
        result, sweeps = _range_tests(task, config, progress)
        rt_iters = sum(len(r.lrs) for r in sweeps)
        say(f"\n(1) LR range test ({len(sweeps)} sweep(s), {rt_iters} iterations)")
        for line in result.summary().splitlines():
            say("    " + line)
        if len(sweeps) > 1:
            for key in ("base_lr", "max_lr", "lr"):
                each = ", ".join(f"{getattr(r, key):.3g}" for r in sweeps)
                say(f"    {key} per sweep: {each}")
        plans = _plans(result, task, config)
        runs = _train_all(task, plans, config, progress, trainer or train)
        target, rows = _summarise(plans, runs, ipe)
        data: dict[str, Any] = {
            "config": dataclasses.asdict(config),
            "batch_size": task.batch_size,
            "iterations_per_epoch": ipe,
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
                "iterations": rt_iters,
                "per_sweep": [
                    {"base_lr": r.base_lr, "max_lr": r.max_lr, "lr": r.lr} for r in sweeps
                ],
            },
            "target_accuracy": target,
            "tolerance": TOLERANCE,
            "policies": rows,
        }
        table = table_markdown(data)
        say("\n(2) trained every policy; (3) results\n")
        for line in table.splitlines():
            say(line)
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
            _plot_schedules(plans, ipe, config.optimizer, staging / "schedules.png")
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
            raise _fail("out", "a folder (it names an existing file)", args.out)
    except (TypeError, ValueError) as e:
        print(f"clr demo: error: {e}", file=sys.stderr)
        return 2
    quiet = bool(args.json)
    try:
        data = run_demo(config, args.out, progress=not quiet, log=None if quiet else print)
    except KeyboardInterrupt:
        print(f"\nclr demo: interrupted; nothing written to {args.out}", file=sys.stderr)
        return 130
    except OSError as e:
        print(f"clr demo: error: cannot write to {args.out}: {e}", file=sys.stderr)
        return 2
    if quiet:
        print(json.dumps(data, indent=1, allow_nan=False))
    return 0
