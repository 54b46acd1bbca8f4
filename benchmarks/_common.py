"""Shared pieces of the training benchmarks (time_to_accuracy, finder_quality).

* the task: MNIST-1D and its CNN from :mod:`clr_torch.demo.tasks` (SGD, momentum 0.9,
  batch 128, 32 iterations an epoch), trained with its :func:`train`;
* a per-run cache, one JSON file under ``/tmp/clr_bench`` (``$CLR_BENCH_CACHE``): every
  finished training run, range test and torch-lr-finder sweep is written there at
  once, keyed by everything that determines it, so an interrupted benchmark resumes
  where it stopped and the two benchmarks share the runs they have in common;
* our automatic range test (:func:`clr_torch.range_test`, read by clr_core) and
  torch-lr-finder's steepest-gradient suggestion, run the same way on the same seeds;
* the reading of the curves: mean curve over seeds, iterations until it comes within
  0.5 points of a target, collapsed runs.

Not a test module; nothing here is imported by the package.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT / "adapters" / "keras", ROOT / "adapters" / "torch", ROOT):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import torch

from clr_core import Constant, Schedule
from clr_core.rangetest import RangeTestResult
from clr_torch import range_test
from clr_torch.demo.tasks import (
    Task,
    batches,
    hold_out,
    load_task,
    make_model,
    make_optimizer,
    train,
)

TASK = "mnist1d"
#: "Reaches the target": the mean curve comes within this much of it (0.5 points).
TOLERANCE = 0.005
#: A run has collapsed when its final test accuracy is below this (or non-finite).
COLLAPSE_BELOW = 0.5
#: Our range test: exponential sweep 1e-4 -> 10 in 200 steps, accuracy on 4 held-out
#: batches carved from the training set (the test set plays no part), as ``clr demo``.
SWEEP_START, SWEEP_END, SWEEP_STEPS, HELD_OUT_BATCHES = 1e-4, 10.0, 200, 4
#: torch-lr-finder: the same start and end, its default 100 iterations, its
#: defaults otherwise (smoothing 0.05, stop at 5x the best loss), suggestion from
#: ``LRFinder.plot(skip_start=10, skip_end=5)`` (steepest gradient).
FINDER_STEPS = 100
#: The 1cycle momentum cycle (Smith 2018), as ``clr demo`` uses.
ONE_CYCLE_MOMENTUM = (0.85, 0.95)

CACHE_DIR = Path(os.environ.get("CLR_BENCH_CACHE", "/tmp/clr_bench"))


# --------------------------------------------------------------------------- #
# Set-up and cache
# --------------------------------------------------------------------------- #


def setup(threads: int = 1) -> Task:
    """One torch thread (2 shared cores) and the MNIST-1D task."""
    torch.set_num_threads(threads)
    return load_task(TASK)


def machine() -> str:
    """One line naming the machine and versions, for the results."""
    import clr_core

    return (
        f"{platform.machine()} {os.cpu_count()} cores ({platform.processor() or 'cpu'}), "
        f"python {platform.python_version()}, torch {torch.__version__}, "
        f"clr_core {clr_core.__version__}, 1 torch thread"
    )


class Cache:
    """Finished results by key, in one JSON file rewritten atomically after each put."""

    def __init__(self, name: str) -> None:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        self.path = CACHE_DIR / f"{name}.json"
        self.data: dict[str, Any] = {}
        if self.path.exists():
            with self.path.open(encoding="utf-8") as f:
                self.data = json.load(f)

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def put(self, key: str, value: Any) -> None:
        self.data[key] = value
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(self.data, f)
        os.replace(tmp, self.path)


def _key(*parts: Any) -> str:
    return "|".join(
        json.dumps(p, sort_keys=True, separators=(",", ":")) if isinstance(p, dict) else str(p)
        for p in parts
    )


# --------------------------------------------------------------------------- #
# Training
# --------------------------------------------------------------------------- #


def run_training(
    cache: Cache,
    task: Task,
    lr: float | Schedule,
    *,
    epochs: int,
    seed: int,
    momentum: Schedule | None = None,
    log: Callable[[str], None] | None = print,
    label: str = "",
) -> dict[str, Any]:
    """Train once (or read the cached run): ``{"acc": [...], "diverged": bool, "seconds": s}``."""
    schedule = lr if isinstance(lr, Schedule) else Constant(float(lr))
    mom = None if momentum is None else momentum.to_config()
    key = _key("train", task.name, schedule.to_config(), mom or "m0.9", f"e{epochs}", f"s{seed}")
    hit = cache.get(key)
    if hit is not None:
        return hit
    t0 = time.perf_counter()
    run = train(task, schedule, epochs=epochs, seed=seed, momentum=momentum)
    out = {
        "acc": [a if math.isfinite(a) else 0.0 for a in run.accuracies],
        "diverged": bool(run.diverged),
        "seconds": time.perf_counter() - t0,
    }
    cache.put(key, out)
    if log is not None:
        log(
            f"  {label or key}: seed {seed}, final {100 * out['acc'][-1]:.2f}%, "
            f"best {100 * max(out['acc']):.2f}%, {out['seconds']:.1f} s"
        )
    return out


def collapsed(run: dict[str, Any]) -> bool:
    """Final accuracy below 50%, non-finite, or the loss went non-finite."""
    final = run["acc"][-1]
    return bool(run["diverged"]) or not math.isfinite(final) or final < COLLAPSE_BELOW


def mean_curve(runs: Sequence[dict[str, Any]]) -> list[float]:
    """The mean test accuracy after each epoch, over the runs."""
    return [statistics.fmean(v) for v in zip(*(r["acc"] for r in runs), strict=True)]


def reach(curve: Sequence[float], target: float, ipe: int) -> int | None:
    """Iterations until ``curve`` (one point an epoch) comes within TOLERANCE of ``target``."""
    for epoch, acc in enumerate(curve):
        if acc >= target - TOLERANCE:
            return (epoch + 1) * ipe
    return None


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def pm(values: Sequence[float]) -> str:
    """``mean ± std`` of accuracies, in percent."""
    m, s = mean_std(values)
    return f"{100 * m:.2f} ± {100 * s:.2f}"


# --------------------------------------------------------------------------- #
# Range tests
# --------------------------------------------------------------------------- #


def our_range_test(cache: Cache, task: Task, seed: int) -> tuple[RangeTestResult, int]:
    """Our automatic range test on a fresh model (seed ``seed``): the result and the
    optimizer steps it took (what counts against the policies it hands off to)."""
    key = _key("ours", task.name, SWEEP_START, SWEEP_END, SWEEP_STEPS, HELD_OUT_BATCHES, seed)
    hit = cache.get(key)
    if hit is not None:
        return RangeTestResult.from_json(hit["result"]), hit["iterations"]
    sub, val = hold_out(task, HELD_OUT_BATCHES)
    torch.manual_seed(seed)
    model = make_model(task.name)
    opt = make_optimizer("sgd", model.parameters(), SWEEP_START)
    stream = batches(sub, torch.Generator().manual_seed(seed))
    loader = [next(stream) for _ in range(SWEEP_STEPS)]
    result = range_test(
        model,
        opt,
        loader,
        torch.nn.functional.cross_entropy,
        start_lr=SWEEP_START,
        end_lr=SWEEP_END,
        num_steps=SWEEP_STEPS,
        metric="accuracy",
        val_loader=val,
        val_batches=len(val),
        progress=False,
    )
    iterations = len(result.lrs)
    cache.put(key, {"result": result.to_json(indent=None), "iterations": iterations})
    return result, iterations


def finder_suggestion(cache: Cache, task: Task, seed: int) -> tuple[float, int]:
    """torch-lr-finder's steepest-gradient suggestion on a fresh model (seed ``seed``)
    and the optimizer steps its sweep took."""
    key = _key("torch-lr-finder", task.name, SWEEP_START, SWEEP_END, FINDER_STEPS, seed)
    hit = cache.get(key)
    if hit is not None:
        return hit["lr"], hit["iterations"]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from torch_lr_finder import LRFinder

    torch.manual_seed(seed)
    model = make_model(task.name)
    opt = make_optimizer("sgd", model.parameters(), SWEEP_START)
    stream = batches(task, torch.Generator().manual_seed(seed))
    data = [next(stream) for _ in range(FINDER_STEPS)]
    loader = torch.utils.data.DataLoader(_Batches(data), batch_size=None, shuffle=False)
    finder = LRFinder(model, opt, torch.nn.CrossEntropyLoss(), device="cpu")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        finder.range_test(loader, start_lr=SWEEP_START, end_lr=SWEEP_END, num_iter=FINDER_STEPS)
        fig, ax = plt.subplots()
        _, lr = finder.plot(ax=ax, suggest_lr=True)
        plt.close(fig)
    iterations = len(finder.history["lr"])
    finder.reset()
    cache.put(key, {"lr": float(lr), "iterations": iterations})
    return float(lr), iterations


class _Batches(torch.utils.data.Dataset):  # type: ignore[type-arg]
    """Ready-made ``(x, y)`` batches as a map-style dataset (``batch_size=None`` loader)."""

    def __init__(self, items: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.items[i]


# --------------------------------------------------------------------------- #
# The fixed-rate grid (shared by time_to_accuracy and finder_quality)
# --------------------------------------------------------------------------- #

#: The exhaustive grid of fixed rates, and the epochs each is trained. The rates
#: around the best (0.05-0.15) get 100 epochs, so their plateau (and a late
#: collapse) is inside the run; the others 60 (GUIDE section 4: the best, 0.1,
#: is within 0.5 points of its best mean at epoch ~42 of 100).
GRID = {0.003: 60, 0.01: 60, 0.03: 60, 0.05: 100, 0.1: 100, 0.15: 100, 0.2: 60, 0.3: 60}


def grid_epochs(quick: bool) -> dict[float, int]:
    """The grid, or a much shorter one for ``--quick``."""
    return dict.fromkeys((0.01, 0.1, 0.3), 6) if quick else dict(GRID)


def run_grid(
    cache: Cache, task: Task, grid: dict[float, int], seeds: Sequence[int]
) -> dict[float, list[dict[str, Any]]]:
    """Every rate of ``grid`` on every seed (cached)."""
    return {
        lr: [
            run_training(cache, task, lr, epochs=e, seed=s, label=f"fixed {lr:g} ({e} ep)")
            for s in seeds
        ]
        for lr, e in grid.items()
    }


def grid_best(runs: dict[float, list[dict[str, Any]]]) -> tuple[float, float]:
    """The grid's best rate (highest maximum of its mean curve) and that maximum."""
    best = max(runs, key=lambda lr: max(mean_curve(runs[lr])))
    return best, max(mean_curve(runs[best]))
