"""The small, offline tasks the demo and the benchmarks train on.

Two tasks, both generated or bundled, nothing downloaded:

* ``"mnist1d"``: MNIST-1D (4000 train / 1000 test, length-40 signals), generated
  by ``mnist1d.data.make_dataset(get_dataset_args())``, deterministic and offline,
  with the small 1-D CNN used in the paper reproductions here (Conv1d 1->32 k5 p2,
  ReLU, Conv1d 32->32 k5 s2 p2, ReLU, Linear 640->20, ReLU, Linear 20->10),
  batch 128, so 32 steps an epoch (the last batch holds the 32 left over).
* ``"digits"``: scikit-learn's bundled ``load_digits`` (1400 train / 397 held
  out, inputs scaled to [0, 1]) with an MLP 64->64->10, batch 64.

:func:`train` runs one training job at a fixed rate or under a clr_core schedule
(driven through :class:`clr_torch.ScheduleLR`, momentum cycled when asked) and
returns the test accuracy after every epoch. Everything is seeded: the same
arguments give the same curve.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from clr_core import Constant, Schedule

from .._scheduler import ScheduleLR

__all__ = [
    "TASKS",
    "Task",
    "TrainRun",
    "hold_out",
    "load_task",
    "make_model",
    "make_optimizer",
    "train",
]

TASKS = ("mnist1d", "digits")
BATCH = {"mnist1d": 128, "digits": 64}


@dataclass(frozen=True)
class Task:
    """A data set held in memory as tensors, with its batch size."""

    name: str
    x: torch.Tensor
    y: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    batch_size: int

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps in one epoch (the last, partial batch included)."""
        return -(-len(self.x) // self.batch_size)


_CACHE: dict[str, Task] = {}


def load_task(name: str) -> Task:
    """Build (once per process) the task ``name``: ``"mnist1d"`` or ``"digits"``."""
    if name not in TASKS:
        raise ValueError(f"Argument `name` must be one of {TASKS}. Received: name={name!r}")
    if name in _CACHE:
        return _CACHE[name]
    if name == "mnist1d":
        try:
            from mnist1d.data import get_dataset_args, make_dataset
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError(
                "The mnist1d task needs the `mnist1d` package: pip install 'clr-core[demo]'"
            ) from e
        # generated offline and deterministically; never get_dataset(), which downloads
        d = make_dataset(get_dataset_args())

        def sig(a: Any) -> torch.Tensor:
            return torch.tensor(a, dtype=torch.float32).unsqueeze(1)

        task = Task(
            name,
            sig(d["x"]),
            torch.tensor(d["y"]).long(),
            sig(d["x_test"]),
            torch.tensor(d["y_test"]).long(),
            BATCH[name],
        )
    else:
        try:
            from sklearn.datasets import load_digits
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError(
                "The digits task needs scikit-learn: pip install 'clr-core[demo]'"
            ) from e
        x, y = load_digits(return_X_y=True)
        xt = torch.tensor(x / 16.0, dtype=torch.float32)
        yt = torch.tensor(y).long()
        task = Task(name, xt[:1400], yt[:1400], xt[1400:], yt[1400:], BATCH[name])
    _CACHE[name] = task
    return task


def hold_out(task: Task, n_batches: int) -> tuple[Task, list[tuple[torch.Tensor, torch.Tensor]]]:
    """Split off the last ``n_batches`` batches of the *training* set as held-out batches.

    Returns the task without them (its test set is those examples, so nothing of
    the real test set is seen) and the held-out ``(x, y)`` batches: what a range
    test measures its accuracy on, leaving the test set to judge the training.
    """
    hold = n_batches * task.batch_size
    n = len(task.x) - hold
    if not 0 < hold < len(task.x):
        raise ValueError(
            f"Argument `n_batches` must leave training examples. Received: n_batches={n_batches!r}"
        )
    sub = Task(task.name, task.x[:n], task.y[:n], task.x[n:], task.y[n:], task.batch_size)
    val = [
        (task.x[i : i + task.batch_size], task.y[i : i + task.batch_size])
        for i in range(n, len(task.x), task.batch_size)
    ]
    return sub, val


def make_model(name: str) -> nn.Module:
    """The network for task ``name`` (initialised from torch's global RNG)."""
    if name == "mnist1d":
        return nn.Sequential(
            nn.Conv1d(1, 32, 5, padding=2),
            nn.ReLU(),
            nn.Conv1d(32, 32, 5, stride=2, padding=2),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(640, 20),
            nn.ReLU(),
            nn.Linear(20, 10),
        )
    if name == "digits":
        return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    raise ValueError(f"Argument `name` must be one of {TASKS}. Received: name={name!r}")


def make_optimizer(kind: str, params: Any, lr: float) -> torch.optim.Optimizer:
    """``"sgd"`` (momentum 0.9, as in the paper) or ``"adam"`` (torch defaults)."""
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise ValueError(f"Argument `kind` must be 'sgd' or 'adam'. Received: kind={kind!r}")


def batches(task: Task, generator: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless shuffled epochs of ``(x, y)`` batches (last one partial), from ``generator``."""
    n, b = len(task.x), task.batch_size
    while True:
        perm = torch.randperm(n, generator=generator)
        for i in range(0, n, b):
            idx = perm[i : i + b]
            yield task.x[idx], task.y[idx]


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Top-1 accuracy of ``model`` on ``(x, y)``, in [0, 1]."""
    model.eval()
    acc = float((model(x).argmax(1) == y).float().mean())
    model.train()
    return acc


@dataclass
class TrainRun:
    """What one training job produced."""

    accuracies: list[float] = field(default_factory=list)  # test accuracy after each epoch
    lrs: list[float] = field(default_factory=list)  # rate used at each iteration
    momenta: list[float] = field(default_factory=list)  # momentum / beta1 at each iteration
    diverged: bool = False  # the loss went non-finite (accuracy then counts as chance)

    @property
    def final(self) -> float:
        return self.accuracies[-1] if self.accuracies else math.nan

    @property
    def best(self) -> float:
        return max(self.accuracies) if self.accuracies else math.nan


def train(
    task: Task,
    lr: float | Schedule,
    *,
    epochs: int,
    seed: int,
    optimizer: str = "sgd",
    momentum: Schedule | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
) -> TrainRun:
    """Train a fresh model on ``task`` and record test accuracy after every epoch.

    Parameters
    ----------
    task : Task
        From :func:`load_task`.
    lr : float or clr_core.Schedule
        A fixed rate, or a schedule evaluated at the iteration count (one optimizer
        step = one iteration) through :class:`clr_torch.ScheduleLR`.
    epochs : int
        Passes over the training set.
    seed : int
        Seeds the initial weights and the batch order.
    optimizer : {"sgd", "adam"}
        SGD with momentum 0.9, or Adam.
    momentum : clr_core.Schedule, optional
        A momentum (SGD) or beta1 (Adam) schedule, cycled with the rate.
    on_epoch : callable, optional
        Called as ``on_epoch(epoch, accuracy)`` after each epoch (progress bars).

    A run whose loss turns non-finite is marked ``diverged``; its remaining epochs
    count at chance accuracy (0.1), as a collapsed run would score.
    """
    schedule = lr if isinstance(lr, Schedule) else Constant(float(lr))
    torch.manual_seed(seed)
    model = make_model(task.name)
    opt = make_optimizer(optimizer, model.parameters(), schedule(0))
    scheduler = ScheduleLR(opt, schedule, momentum=momentum)
    gen = torch.Generator().manual_seed(seed)
    stream = batches(task, gen)
    loss_fn = nn.CrossEntropyLoss()
    key = "momentum" if optimizer == "sgd" else "betas"
    run = TrainRun()
    for epoch in range(epochs):
        if not run.diverged:
            for _ in range(task.steps_per_epoch):
                group = opt.param_groups[0]
                run.lrs.append(float(group["lr"]))
                m = group[key]
                run.momenta.append(float(m[0] if isinstance(m, tuple) else m))
                xb, yb = next(stream)
                loss = loss_fn(model(xb), yb)
                if not math.isfinite(float(loss.detach())):
                    run.diverged = True
                    break
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                scheduler.step()
        acc = 0.1 if run.diverged else accuracy(model, task.x_test, task.y_test)
        run.accuracies.append(acc)
        if on_epoch is not None:
            on_epoch(epoch, acc)
    return run
