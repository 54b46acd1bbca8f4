"""Record real LR range-test curves (the test fixtures) and the training grids that judge them.

Two small tasks, each with SGD (momentum 0.9) and Adam:

* ``mnist1d``: the MNIST-1D CNN of ``docs``/GUIDE section 4 (Conv1d 1->32 k5 p2, ReLU,
  Conv1d 32->32 k5 s2 p2, ReLU, flatten, Linear 640->20, ReLU, Linear 20->10), batch 128,
  4000 train / 1000 test samples generated offline by ``mnist1d.data.make_dataset``.
* ``digits``: a scikit-learn ``load_digits`` MLP (64 -> 64 -> ReLU -> 10), batch 64,
  inputs scaled to [0, 1], the first 1400 samples for training and the other 397 held out.

``--curves`` runs an exponential range test per (task, optimizer, seed): one optimizer step per
sweep step, ``lr_i = start * (end / start) ** (i / (n - 1))`` (exactly
``clr_core.rangetest.ExponentialSweep``), recording the training-batch loss of that step and the
accuracy on 500 held-out samples after it. The sweep stops after the first non-finite loss, which
is written as ``nan``. Files go to ``tests/core/fixtures/<task>_<opt>_seed<k>.csv``.

``--check`` trains with what the analysis suggests (the fixed ``lr``, a triangular cycle
between the bounds fitted to the budget, and 1cycle peaking at ``max_lr``).

``--grid`` trains each task at a grid of fixed rates (a few epochs, two seeds) and prints the
final held-out accuracy: the reference the analysis of the fixtures is checked against.

Run (2 CPU cores, about 2-4 minutes for each part)::

    PYTHONPATH=.:adapters/torch python benchmarks/record_range_curves.py --curves
    PYTHONPATH=.:adapters/torch python benchmarks/record_range_curves.py --grid --seeds 0 1 2
    PYTHONPATH=.:adapters/torch python benchmarks/record_range_curves.py --check --seeds 0 1 2

Needs torch, numpy, scikit-learn and mnist1d (the ``demo`` extra).
"""

from __future__ import annotations

import argparse
import math
import pathlib
import time

import numpy as np
import torch
from torch import nn

from clr_torch.demo.tasks import load_task, make_model

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "tests" / "core" / "fixtures"

SWEEPS = {  # (task, optimizer) -> (start_lr, end_lr, num_steps)
    ("mnist1d", "sgd"): (1e-4, 10.0, 150),
    ("mnist1d", "adam"): (1e-5, 1.0, 150),
    ("digits", "sgd"): (1e-4, 10.0, 120),
    ("digits", "adam"): (1e-5, 1.0, 120),
}
BATCH = {"mnist1d": 128, "digits": 64}


def load(task: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    t = load_task(task)  # the demo's tasks: MNIST-1D generated offline, digits bundled
    return t.x, t.y, t.x_test, t.y_test


def model(task: str) -> nn.Module:
    return make_model(task)


def optimizer(name: str, params: object, lr: float) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)  # type: ignore[arg-type]
    return torch.optim.Adam(params, lr=lr)  # type: ignore[arg-type]


def batches(n: int, batch: int, gen: torch.Generator):  # endless shuffled epochs
    while True:
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n - batch + 1, batch):  # drop_last
            yield perm[i : i + batch]


def accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((net(x).argmax(1) == y).float().mean())


def range_test(task: str, opt: str, seed: int, data: tuple) -> list[tuple[float, float, float]]:
    x, y, xt, yt = data
    start, end, n = SWEEPS[(task, opt)]
    torch.manual_seed(seed)
    net = model(task)
    o = optimizer(opt, net.parameters(), start)
    gen = torch.Generator().manual_seed(seed)
    it = batches(len(x), BATCH[task], gen)
    xv, yv = xt[:500], yt[:500]
    rows = []
    for i in range(n):
        lr = start * (end / start) ** (i / (n - 1))
        for g in o.param_groups:
            g["lr"] = lr
        idx = next(it)
        loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
        o.zero_grad()
        loss.backward()
        o.step()
        value = float(loss.detach())
        if not math.isfinite(value):
            rows.append((lr, math.nan, math.nan))
            break
        rows.append((lr, value, accuracy(net, xv, yv)))
    return rows


def train(task: str, opt: str, lr, epochs: int, seed: int, data: tuple) -> list[float]:
    """Train at a fixed rate (a float) or a clr_core schedule (called with the step)."""
    x, y, xt, yt = data
    torch.manual_seed(seed)
    net = model(task)
    sched = lr if callable(lr) else (lambda t: lr)
    o = optimizer(opt, net.parameters(), sched(0))
    gen = torch.Generator().manual_seed(seed)
    steps = len(x) // BATCH[task]
    it = batches(len(x), BATCH[task], gen)
    accs = []
    t = 0
    for _ in range(epochs):
        for _ in range(steps):
            for g in o.param_groups:
                g["lr"] = sched(t)
            t += 1
            idx = next(it)
            loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
            o.zero_grad()
            loss.backward()
            o.step()
        accs.append(accuracy(net, xt, yt) if math.isfinite(float(loss.detach())) else 0.1)
    return accs


def record(seeds: list[int]) -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for task in ("mnist1d", "digits"):
        data = load(task)
        for opt in ("sgd", "adam"):
            for seed in seeds:
                rows = range_test(task, opt, seed, data)
                path = FIXTURES / f"{task}_{opt}_seed{seed}.csv"
                with path.open("w") as f:
                    f.write("lr,loss,accuracy\n")
                    for lr, loss, acc in rows:
                        f.write(f"{lr:.6g},{loss:.5g},{acc:.4g}\n")
                print(f"wrote {path.name}: {len(rows)} points")


GRIDS = {
    ("mnist1d", "sgd"): [0.003, 0.01, 0.03, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0],
    ("mnist1d", "adam"): [1e-4, 3e-4, 1e-3, 3e-3, 5e-3, 1e-2, 2e-2, 3e-2, 1e-1],
    ("digits", "sgd"): [0.003, 0.01, 0.03, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0],
    ("digits", "adam"): [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 2e-2, 3e-2, 5e-2, 1e-1],
}
EPOCHS = {"mnist1d": 20, "digits": 15}


def grid(seeds: list[int]) -> None:
    for task in ("mnist1d", "digits"):
        data = load(task)
        for opt in ("sgd", "adam"):
            print(f"\n{task} {opt}: held-out accuracy after {EPOCHS[task]} epochs (seeds {seeds})")
            print("lr        final(mean)  best-epoch(mean)  finals by seed")
            for lr in GRIDS[(task, opt)]:
                runs = [train(task, opt, lr, EPOCHS[task], s, data) for s in seeds]
                finals = [r[-1] for r in runs]
                bests = [max(r) for r in runs]
                print(
                    f"{lr:<9g} {np.mean(finals):.3f}        {np.mean(bests):.3f}"
                    f"             {' '.join(f'{v:.3f}' for v in finals)}"
                )


def check(seeds: list[int]) -> None:
    """Train with what the analysis of the recorded curves suggests (seeds 0 and 1 combined)."""
    from clr_core.rangetest import analyze, combine, read_sweep_csv

    for task in ("mnist1d", "digits"):
        data = load(task)
        ipe = len(data[0]) // BATCH[task]
        for opt in ("sgd", "adam"):
            res = combine(
                [
                    analyze(*read_sweep_csv(FIXTURES / f"{task}_{opt}_seed{k}.csv")[:2])
                    for k in (0, 1)
                ]
            )
            e = EPOCHS[task]
            runs = {
                f"fixed lr={res.lr:.3g}": res.lr,
                f"triangular {res.base_lr:.3g}-{res.max_lr:.3g}": res.to_triangular(ipe, epochs=e),
                f"one_cycle peak {res.one_cycle_peak:.3g}": res.to_one_cycle(ipe, e),
            }
            print(f"\n{task} {opt} ({e} epochs, seeds {seeds}): held-out accuracy")
            for name, lr in runs.items():
                finals = [train(task, opt, lr, e, s, data)[-1] for s in seeds]
                print(
                    f"  {name:<34} {np.mean(finals):.3f}  ({' '.join(f'{v:.3f}' for v in finals)})"
                )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--curves", action="store_true", help="record the range-test fixtures")
    p.add_argument("--grid", action="store_true", help="run the fixed-LR training grids")
    p.add_argument("--check", action="store_true", help="train with the analysed suggestions")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    a = p.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    if a.curves:
        record(a.seeds)
    if a.grid:
        grid(a.seeds)
    if a.check:
        check(a.seeds)
    print(f"done in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
