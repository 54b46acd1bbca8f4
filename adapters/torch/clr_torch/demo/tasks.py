"""The small offline tasks that ``clr demo`` and ``benchmarks/`` train on.

One module holds the tasks, the training loop, the range test as the demo and the
benchmarks run it, the reading of the resulting curves, and a pool that runs
independent seeded jobs in worker processes. Nothing is downloaded: every data set
is generated or ships with a package.

The suite (:data:`SUITE`), each task a data set, a network, an optimizer, a batch
size and a test metric:

===========================  ==================================================  =========  ========
task                         data and network                                    optimizer  metric
===========================  ==================================================  =========  ========
``mnist1d-cnn-sgd``          MNIST-1D 4000/1000, 1-D CNN (2 conv, 2 linear)      SGD 0.9    accuracy
``mnist1d-cnn-adam``         the same                                            Adam       accuracy
``digits-mlp-sgd``           scikit-learn digits 1400/397, MLP 64-64-10          SGD 0.9    accuracy
``digits-resnet-sgd``        digits as 8x8 images, CNN with BatchNorm and two    SGD 0.9,   accuracy
                             residual blocks                                     wd 5e-4
``noisy-mlp-sgd``            ``make_classification``, 4 classes, 20% of labels   SGD 0.9    accuracy
                             flipped, 1000/1000, MLP 20-256-256-4
``friedman-mlp-sgd``         ``make_friedman1`` (noise 1.0) 2000/500, MLP        SGD 0.9    test MSE
                             10-64-64-1, targets standardised, MSE loss
``mnist1d-mlp-adamw``        MNIST-1D 8000/2000 (10,000 generated), MLP          AdamW      accuracy
                             40-256-256-10                                       wd 0.01
``motif-gru-sgd``            generated sequences, one of four motifs hidden in   SGD 0.9    accuracy
                             noise, 2000/1000, GRU 48 units
``adding-lstm-sgd``          the adding problem (20 steps), 2000/1000, LSTM 32   SGD 0.9    test MSE
                             units, target standardised
``count-transformer-adamw``  generated tokens: how often the first occurs among  AdamW      accuracy
                             the rest, 2000/1000; 2-layer pre-norm Transformer   wd 0.01
``recall-rnn-sgd``           delayed recall (12 steps), 2000/1000, tanh RNN 64   SGD 0.9    accuracy
``friedman3-deepmlp-adam``   ``make_friedman3`` (noise 0.1) 2000/1000, MLP with  Adam       test MSE
                             six hidden layers of 64, no normalisation
``mnist1d-dropout-sgd``      MNIST-1D 4000/1000, MLP 40-512-512-10 with dropout  SGD 0.9    accuracy
                             0.5 after each hidden layer
``digits-dropout-sgd``       scikit-learn digits 1400/397, MLP 64-256-256-10     SGD 0.9,   accuracy
                             with dropout 0.5 after each hidden layer            batch 16
``clean8-mlp-sgd``           ``make_classification``, 8 classes, clean labels,   SGD 0.9,   accuracy
                             2000/1000, MLP 20-128-128-8                         batch 16
``digits-cnn-adam``          digits as 8x8 images, CNN (2 conv, max-pool, 2      Adam,      accuracy
                             linear), no normalisation                           batch 32
``spirals-mlp-adam``         three interleaved spiral arms in the plane (3       Adam,      accuracy
                             turns, noise 0.03), 12000/3000, MLP 2-128x3-3       batch 256
``hastie-mlp-plainsgd``      ``make_hastie_10_2`` (10 Gaussian features; is the  SGD, no    accuracy
                             sum of squares above 9.34?), 1000/2000, MLP         momentum
                             10-64-64-2
``digits-linear-sgd``        scikit-learn digits 1400/397, a linear softmax      SGD 0.9,   accuracy
                             classifier 64-10 (logistic regression)              batch 32
``digits-ae-adam``           scikit-learn digits 1400/397 reconstructed through  Adam       test MSE
                             a bottleneck: autoencoder 64-32-8-32-64, pixels
                             centred on the training mean image
``digits-finetune-adamw``    fine-tuning: the digits CNN pretrained on digits    AdamW      accuracy
                             0-4, a new head, all of it trained on 250 images    wd 0.01,
                             of digits 5-9 (tested on the test split's 5-9)      batch 16
``digits-finetune-sgd``      the same fine-tuning with SGD                       SGD 0.9,   accuracy
                                                                                 batch 32
``mnist1d-finetune-adam``    fine-tuning: the MNIST-1D CNN pretrained on         Adam,      accuracy
                             classes 0-4, a new head, all of it trained on 500   batch 32
                             signals of classes 5-9 (tested on the test split's
                             5-9)
``mnist1d-finetune-sgd``     the same fine-tuning with SGD                       SGD 0.9,   accuracy
                                                                                 batch 32
``digits-mlp-adam-b8``       the digits MLP (64-64-10) trained with Adam in      Adam,      accuracy
                             batches of 8                                        batch 8
``digits-mlp-rmsprop``       the digits MLP (64-64-10) trained with RMSprop      RMSprop,   accuracy
                                                                                 batch 64
``digits-aug-nesterov``      digits as 8x8 images, each training image moved     SGD,       accuracy
                             by up to a pixel each way in every batch; the       Nesterov
                             digits CNN; cross-entropy with label smoothing 0.1  0.9,
                                                                                 wd 5e-4,
                                                                                 batch 32
``digits-deepmlp-sgd``       scikit-learn digits 1400/397, MLP 64-64x6-10 (six   SGD 0.9    accuracy
                             hidden ReLU layers, no normalisation)
``digits-augmlp-adam``       digits as 8x8 images, moved by up to a pixel each   Adam,      accuracy
                             way in every batch, flattened into an MLP           batch 32
                             64-256-256-10
``digits-augresnet-sgd``     the same augmentation on the digits ResNet          SGD 0.9,   accuracy
                                                                                 wd 5e-4
``mnist1d-deepmlp-sgd``      MNIST-1D 4000/1000, MLP 40-64x8-10 (eight hidden    SGD 0.9    accuracy
                             ReLU layers, no normalisation)
``digits-deepcnn-sgd``       digits as 8x8 images, a plain CNN of four 3x3       SGD 0.9    accuracy
                             convolutions of 32 channels (max-pool after the
                             second, linear 512-10), ReLU, no normalisation
``digits-lnmlp-adamw``       scikit-learn digits 1400/397, MLP 64-128x3-10,      AdamW      accuracy
                             each hidden layer linear, LayerNorm, GELU           wd 0.01,
                                                                                 batch 32
``motif-gru-adam``           the motif sequences and GRU of ``motif-gru-sgd``    Adam       accuracy
``diabetes-mlp-sgd``         scikit-learn's diabetes data (442 patients, 10      SGD 0.9,   test MSE
                             features; shuffled once) 300/142, MLP 10-64-64-1,   batch 32
                             targets standardised, MSE loss
===========================  ==================================================  =========  ========

``"mnist1d"`` and ``"digits"`` (:data:`TASKS`, what ``clr demo --dataset`` offers) are
the first and third tasks; the demo's ``--optimizer adam`` swaps the optimizer.

:func:`train` runs one training job at a fixed rate or under a clr_core schedule
(driven through :class:`clr_torch.ScheduleLR`, momentum cycled when asked) and
returns the test metric after every epoch. Everything is seeded: the same
arguments give the same curve, in this process or in a worker.
"""

from __future__ import annotations

import itertools
import math
import os
import signal
import statistics
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from clr_core import Constant, Schedule
from clr_core.rangetest import (
    DEFAULT_END_LR,
    DEFAULT_NUM_STEPS,
    DEFAULT_START_LR,
    RangeTestResult,
)

from .._auto import AutoOneCycleLR
from .._guard import CollapseGuard
from .._rangetest import range_test
from .._scheduler import ScheduleLR

__all__ = [
    "SUITE",
    "TASKS",
    "TaskSpec",
    "Task",
    "TrainRun",
    "SweepSettings",
    "DEMO_SWEEP",
    "batches",
    "shift",
    "hold_out",
    "validation_split",
    "load_task",
    "make_model",
    "make_optimizer",
    "train",
    "sweep",
    "evaluate",
    "accuracy",
    "mean_curve",
    "reach",
    "run_jobs",
    "default_jobs",
]


@dataclass(frozen=True)
class TaskSpec:
    """What a task is made of: its data, network, optimizer, batch size and metric.

    Attributes
    ----------
    name : str
        The task's name in :data:`SUITE`.
    data : str
        The data set (``"mnist1d"``, ``"mnist1d-10k"``, ``"digits"``,
        ``"digits-images"``, ``"noisy"``, ``"friedman"``, ``"motif"``, ``"adding"``,
        ``"count"``, ``"recall"``, ``"friedman3"``, ``"clean8"``, ``"spirals"``,
        ``"hastie"``, ``"digits-ae"``, ``"digits-few"``, ``"mnist1d-few"``, ``"diabetes"``).
    model : str
        The network (``"cnn1d"``, ``"mlp-digits"``, ``"resnet-digits"``,
        ``"mlp-noisy"``, ``"mlp-friedman"``, ``"mlp-mnist1d"``, ``"gru"``, ``"lstm"``,
        ``"transformer"``, ``"rnn"``, ``"mlp-deep"``, ``"mlp-dropout"``,
        ``"mlp-digits-dropout"``, ``"mlp-clean8"``, ``"cnn-digits"``, ``"mlp-digits-deep"``,
        ``"mlp-spirals"``, ``"mlp-hastie"``, ``"linear-digits"``, ``"ae-digits"``,
        ``"cnn-digits-pretrained"``, ``"cnn1d-pretrained"``, ``"mlp-digits-images"``,
        ``"mlp-mnist1d-deep"``, ``"cnn-digits-deep"``, ``"mlp-digits-ln"``).
    optimizer : str
        ``"sgd"`` (momentum 0.9), ``"sgd-plain"`` (no momentum), ``"sgd-nesterov"``
        (Nesterov momentum 0.9), ``"adam"``, ``"adamw"`` or ``"rmsprop"`` (torch defaults).
    batch_size : int
    metric : str
        ``"accuracy"`` (higher is better) or ``"mse"`` (test mean squared error of the
        standardised target, lower is better).
    weight_decay : float
        Passed to the optimizer (AdamW's default 0.01 is written out).
    label_smoothing : float
        The cross-entropy's label smoothing (0: none).
    augment : bool
        Move each training image (``(n, 1, h, w)``) by up to one pixel in each direction,
        anew in every batch (:func:`batches`); the test images are never moved.
    """

    name: str
    data: str
    model: str
    optimizer: str
    batch_size: int
    metric: str = "accuracy"
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    augment: bool = False

    @property
    def higher_is_better(self) -> bool:
        return self.metric != "mse"


#: The benchmark suite, in table order.
SUITE: dict[str, TaskSpec] = {
    s.name: s
    for s in (
        TaskSpec("mnist1d-cnn-sgd", "mnist1d", "cnn1d", "sgd", 128),
        TaskSpec("mnist1d-cnn-adam", "mnist1d", "cnn1d", "adam", 128),
        TaskSpec("digits-mlp-sgd", "digits", "mlp-digits", "sgd", 64),
        TaskSpec(
            "digits-resnet-sgd", "digits-images", "resnet-digits", "sgd", 64, "accuracy", 5e-4
        ),
        TaskSpec("noisy-mlp-sgd", "noisy", "mlp-noisy", "sgd", 32),
        TaskSpec("friedman-mlp-sgd", "friedman", "mlp-friedman", "sgd", 64, "mse"),
        TaskSpec("mnist1d-mlp-adamw", "mnist1d-10k", "mlp-mnist1d", "adamw", 128, "accuracy", 0.01),
        TaskSpec("motif-gru-sgd", "motif", "gru", "sgd", 64),
        TaskSpec("adding-lstm-sgd", "adding", "lstm", "sgd", 64, "mse"),
        TaskSpec("count-transformer-adamw", "count", "transformer", "adamw", 64, "accuracy", 0.01),
        TaskSpec("recall-rnn-sgd", "recall", "rnn", "sgd", 64),
        TaskSpec("friedman3-deepmlp-adam", "friedman3", "mlp-deep", "adam", 32, "mse"),
        TaskSpec("mnist1d-dropout-sgd", "mnist1d", "mlp-dropout", "sgd", 128),
        TaskSpec("digits-dropout-sgd", "digits", "mlp-digits-dropout", "sgd", 16),
        TaskSpec("clean8-mlp-sgd", "clean8", "mlp-clean8", "sgd", 16),
        TaskSpec("digits-cnn-adam", "digits-images", "cnn-digits", "adam", 32),
        TaskSpec("spirals-mlp-adam", "spirals", "mlp-spirals", "adam", 256),
        TaskSpec("hastie-mlp-plainsgd", "hastie", "mlp-hastie", "sgd-plain", 64),
        TaskSpec("digits-linear-sgd", "digits", "linear-digits", "sgd", 32),
        TaskSpec("digits-ae-adam", "digits-ae", "ae-digits", "adam", 64, "mse"),
        TaskSpec(
            "digits-finetune-adamw",
            "digits-few",
            "cnn-digits-pretrained",
            "adamw",
            16,
            "accuracy",
            0.01,
        ),
        TaskSpec("digits-finetune-sgd", "digits-few", "cnn-digits-pretrained", "sgd", 32),
        TaskSpec("mnist1d-finetune-adam", "mnist1d-few", "cnn1d-pretrained", "adam", 32),
        TaskSpec("mnist1d-finetune-sgd", "mnist1d-few", "cnn1d-pretrained", "sgd", 32),
        TaskSpec("digits-mlp-adam-b8", "digits", "mlp-digits", "adam", 8),
        TaskSpec("digits-mlp-rmsprop", "digits", "mlp-digits", "rmsprop", 64),
        TaskSpec(
            "digits-aug-nesterov",
            "digits-images",
            "cnn-digits",
            "sgd-nesterov",
            32,
            "accuracy",
            5e-4,
            label_smoothing=0.1,
            augment=True,
        ),
        TaskSpec("digits-deepmlp-sgd", "digits", "mlp-digits-deep", "sgd", 64),
        TaskSpec(
            "digits-augmlp-adam", "digits-images", "mlp-digits-images", "adam", 32, augment=True
        ),
        TaskSpec(
            "digits-augresnet-sgd",
            "digits-images",
            "resnet-digits",
            "sgd",
            64,
            "accuracy",
            5e-4,
            augment=True,
        ),
        TaskSpec("mnist1d-deepmlp-sgd", "mnist1d", "mlp-mnist1d-deep", "sgd", 128),
        TaskSpec("digits-deepcnn-sgd", "digits-images", "cnn-digits-deep", "sgd", 64),
        TaskSpec("digits-lnmlp-adamw", "digits", "mlp-digits-ln", "adamw", 32, "accuracy", 0.01),
        TaskSpec("motif-gru-adam", "motif", "gru", "adam", 64),
        TaskSpec("diabetes-mlp-sgd", "diabetes", "mlp-friedman", "sgd", 32, "mse"),
    )
}

#: The demo's ``--dataset`` choices and the suite task each one is.
TASKS = ("mnist1d", "digits")
_ALIASES = {"mnist1d": "mnist1d-cnn-sgd", "digits": "digits-mlp-sgd"}


@dataclass(frozen=True)
class Task:
    """A data set held in memory as tensors, with its batch size and metric."""

    name: str
    x: torch.Tensor
    y: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    batch_size: int
    spec: TaskSpec = field(default=SUITE["mnist1d-cnn-sgd"], repr=False)

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps in one epoch (the last, partial batch included)."""
        return -(-len(self.x) // self.batch_size)

    @property
    def metric(self) -> str:
        return self.spec.metric

    @property
    def chance(self) -> float:
        """The score of a model that learned nothing: 1/classes, or the MSE of predicting 0
        (the training mean of the standardised target)."""
        if self.spec.metric == "mse":
            return float((self.y_test**2).mean())
        return 1.0 / int(self.y.max() + 1)

    def loss_fn(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Cross-entropy (with the task's label smoothing), or MSE for the regression task."""
        if self.spec.metric == "mse":
            return nn.functional.mse_loss(output.squeeze(-1), target)
        return nn.functional.cross_entropy(
            output, target, label_smoothing=self.spec.label_smoothing
        )


_CACHE: dict[str, Task] = {}


def _need(module: str, package: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(f"This task needs `{package}`: pip install 'clr-core[demo]'") from e


def _standardise(x: Any, mean: Any, std: Any) -> torch.Tensor:
    return torch.tensor((x - mean) / std, dtype=torch.float32)


def _classes(
    datasets: Any,
    n: int,
    train: int,
    *,
    classes: int,
    informative: int,
    redundant: int,
    flip: float,
    seed: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``make_classification`` with 20 features in two clusters a class, standardised on its
    first ``train`` examples (the training split; the rest is the test set)."""
    x, y = datasets.make_classification(
        n_samples=n,
        n_features=20,
        n_informative=informative,
        n_redundant=redundant,
        n_classes=classes,
        n_clusters_per_class=2,
        flip_y=flip,
        class_sep=1.0,
        random_state=seed,
    )
    xt, yt = _standardise(x, x[:train].mean(0), x[:train].std(0)), torch.tensor(y).long()
    return xt[:train], yt[:train], xt[train:], yt[train:]


def _data(key: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(x, y, x_test, y_test)`` of data set ``key``, generated or bundled, never downloaded."""
    if key in ("mnist1d", "mnist1d-10k"):
        data = _need("mnist1d.data", "mnist1d")
        args = data.get_dataset_args()
        if key == "mnist1d-10k":
            args.num_samples = 10_000
        # generated offline and deterministically; never get_dataset(), which downloads
        d = data.make_dataset(args)

        def sig(a: Any) -> torch.Tensor:
            t = torch.tensor(a, dtype=torch.float32)
            return t.unsqueeze(1) if key == "mnist1d" else t

        return (
            sig(d["x"]),
            torch.tensor(d["y"]).long(),
            sig(d["x_test"]),
            torch.tensor(d["y_test"]).long(),
        )
    datasets = _need("sklearn.datasets", "scikit-learn")
    if key in ("digits", "digits-images"):
        x, y = datasets.load_digits(return_X_y=True)
        xt = torch.tensor(x / 16.0, dtype=torch.float32)
        if key == "digits-images":
            xt = xt.reshape(-1, 1, 8, 8)
        yt = torch.tensor(y).long()
        return xt[:1400], yt[:1400], xt[1400:], yt[1400:]
    if key == "digits-ae":  # reconstruct the image: the target is the input
        x, _ = datasets.load_digits(return_X_y=True)
        # centred on the training mean image, one scale for all pixels (some are always 0)
        xt = torch.tensor((x - x[:1400].mean(0)) / x[:1400].std(), dtype=torch.float32)
        return xt[:1400], xt[:1400], xt[1400:], xt[1400:]
    if key == "digits-few":  # digits 5-9 (as 0-4): the first 250 to train, the test split's
        x, y, xt, yt = _data("digits-images")
        late, late_test = y >= 5, yt >= 5
        return x[late][:FEW_SHOT], y[late][:FEW_SHOT] - 5, xt[late_test], yt[late_test] - 5
    if key == "mnist1d-few":  # classes 5-9 (as 0-4): the first 500 to train, the test split's
        x, y, xt, yt = _data("mnist1d")
        late, late_test = y >= 5, yt >= 5
        return x[late][:FEW_SHOT_1D], y[late][:FEW_SHOT_1D] - 5, xt[late_test], yt[late_test] - 5
    if key == "noisy":  # 4 classes, 20% of the labels flipped
        return _classes(
            datasets, 2000, 1000, classes=4, informative=10, redundant=5, flip=0.2, seed=0
        )
    if key == "clean8":  # 8 classes, clean labels
        return _classes(
            datasets, 3000, 2000, classes=8, informative=12, redundant=4, flip=0.0, seed=1
        )
    if key == "hastie":  # binary: is the sum of squares of 10 standard normals above 9.34?
        x, y = datasets.make_hastie_10_2(n_samples=3000, random_state=0)
        xt = torch.tensor(x, dtype=torch.float32)
        yt = torch.tensor((y > 0).astype("int64"))
        return xt[:1000], yt[:1000], xt[1000:], yt[1000:]
    if key == "friedman":
        x, y = datasets.make_friedman1(n_samples=2500, n_features=10, noise=1.0, random_state=0)
        xt = _standardise(x, x[:2000].mean(0), x[:2000].std(0))
        yt = _standardise(y, y[:2000].mean(), y[:2000].std())
        return xt[:2000], yt[:2000], xt[2000:], yt[2000:]
    if key == "diabetes":  # real measurements, shipped with scikit-learn (nothing downloaded)
        x, y = datasets.load_diabetes(return_X_y=True)
        order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0)).numpy()
        x, y = x[order], y[order]
        xt = _standardise(x, x[:300].mean(0), x[:300].std(0))
        yt = _standardise(y, y[:300].mean(), y[:300].std())
        return xt[:300], yt[:300], xt[300:], yt[300:]
    if key == "friedman3":
        x, y = datasets.make_friedman3(n_samples=3000, noise=0.1, random_state=0)
        xt = _standardise(x, x[:2000].mean(0), x[:2000].std(0))
        yt = _standardise(y, y[:2000].mean(), y[:2000].std())
        return xt[:2000], yt[:2000], xt[2000:], yt[2000:]
    if key == "motif":
        return _motifs()
    if key == "adding":
        return _adding()
    if key == "count":
        return _counts()
    if key == "recall":
        return _recall()
    if key == "spirals":
        return _spirals()
    raise ValueError(f"unknown data set {key!r}")


def _motifs(
    n: int = 3000, length: int = 24, channels: int = 6, classes: int = 4, width: int = 5
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sequences of Gaussian noise, ``(n, length, channels)``, each carrying its class's
    motif (a fixed random ``channels x width`` pattern, scaled by 0.7) at a random
    position; 2000 to train, the rest to test. Generated by a seeded torch RNG."""
    g = torch.Generator().manual_seed(0)
    motifs = torch.randn(classes, width, channels, generator=g)
    y = torch.randint(0, classes, (n,), generator=g)
    x = torch.randn(n, length, channels, generator=g)
    start = torch.randint(0, length - width + 1, (n,), generator=g)
    at = start[:, None] + torch.arange(width)  # (n, width): the motif's time steps
    x[torch.arange(n)[:, None], at] += 0.7 * motifs[y]
    return x[:2000], y[:2000], x[2000:], y[2000:]


def load_task(name: str) -> Task:
    """Build (once per process) the task ``name``: a key of :data:`SUITE`, or ``"mnist1d"`` /
    ``"digits"`` (the demo's names for ``mnist1d-cnn-sgd`` and ``digits-mlp-sgd``)."""
    spec_name = _ALIASES.get(name, name)
    if spec_name not in SUITE:
        choices = TASKS + tuple(SUITE)
        raise ValueError(f"Argument `name` must be one of {choices}. Received: name={name!r}")
    if name not in _CACHE:
        spec = SUITE[spec_name]
        x, y, xt, yt = _data(spec.data)
        _CACHE[name] = Task(name, x, y, xt, yt, spec.batch_size, spec)
    return _CACHE[name]


def _kept(task: Task, n_batches: int) -> int:
    """How many training examples are left once the last ``n_batches`` batches go."""
    hold = n_batches * task.batch_size
    if not 0 < hold < len(task.x):
        raise ValueError(
            f"Argument `n_batches` must leave training examples. Received: n_batches={n_batches!r}"
        )
    return len(task.x) - hold


def hold_out(task: Task, n_batches: int) -> tuple[Task, list[tuple[torch.Tensor, torch.Tensor]]]:
    """Split off the last ``n_batches`` batches of the *training* set as held-out batches.

    Returns the task without them (its test set is those examples, so nothing of
    the real test set is seen) and the held-out ``(x, y)`` batches: what a range
    test measures its metric on, leaving the test set to judge the training.
    """
    n = _kept(task, n_batches)
    sub = Task(
        task.name, task.x[:n], task.y[:n], task.x[n:], task.y[n:], task.batch_size, task.spec
    )
    val = [
        (task.x[i : i + task.batch_size], task.y[i : i + task.batch_size])
        for i in range(n, len(task.x), task.batch_size)
    ]
    return sub, val


def validation_split(task: Task, n_batches: int) -> tuple[Task, tuple[torch.Tensor, torch.Tensor]]:
    """The task trained on its training set less the last ``n_batches`` batches (its test set
    unchanged), and those examples as a validation split ``(x, y)``: what
    :func:`train` (``val=``) scores after every epoch, to choose a checkpoint without the test
    set."""
    n = _kept(task, n_batches)
    sub = Task(
        task.name, task.x[:n], task.y[:n], task.x_test, task.y_test, task.batch_size, task.spec
    )
    return sub, (task.x[n:], task.y[n:])


class _Residual(nn.Module):
    """``relu(x + bn(conv(relu(bn(conv(x))))))``: a basic residual block."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


def _adding(
    n: int = 3000, length: int = 20
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The adding problem: ``(n, length, 2)`` sequences of a uniform value and a marker
    that is 1 at two steps (one in each half); the target is the sum of the two marked
    values, standardised with the training set's mean and deviation. 2000 to train, the
    rest to test. Generated by a seeded torch RNG."""
    g = torch.Generator().manual_seed(0)
    values = torch.rand(n, length, generator=g)
    first = torch.randint(0, length // 2, (n,), generator=g)
    second = torch.randint(length // 2, length, (n,), generator=g)
    marks = torch.zeros(n, length)
    marks[torch.arange(n), first] = 1.0
    marks[torch.arange(n), second] = 1.0
    x = torch.stack([values, marks], dim=2)
    y = (values * marks).sum(1)
    y = (y - y[:2000].mean()) / y[:2000].std()
    return x[:2000], y[:2000], x[2000:], y[2000:]


def _counts(
    n: int = 3000, length: int = 32, vocab: int = 8, classes: int = 6
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Token sequences, ``(n, length)`` of ints below ``vocab``: the first token is a query,
    and the class is how often it occurs among the other ``length - 1`` (0 to 4, or 5
    and more). 2000 to train, the rest to test. Generated by a seeded torch RNG."""
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, vocab, (n, length), generator=g)
    y = (x[:, 1:] == x[:, :1]).sum(1).clamp(max=classes - 1)
    return x[:2000], y[:2000], x[2000:], y[2000:]


def _recall(
    n: int = 3000, length: int = 12, classes: int = 4
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Delayed recall: ``(n, length, classes)`` sequences of Gaussian noise, the first step
    carrying 2.0 more on its class's channel; the class must be recalled at the end. 2000
    to train, the rest to test. Generated by a seeded torch RNG."""
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, classes, (n,), generator=g)
    x = torch.randn(n, length, classes, generator=g)
    x[torch.arange(n), 0, y] += 2.0
    return x[:2000], y[:2000], x[2000:], y[2000:]


def _spirals(
    n: int = 15_000, classes: int = 3, turns: float = 3.0, noise: float = 0.03
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Points on ``classes`` interleaved spiral arms in the plane, ``(n, 2)``: for class
    ``k`` and ``t`` uniform in [0, 1], radius ``t`` at angle ``2 pi (turns t + k / classes)``,
    plus Gaussian noise of deviation ``noise``; 12,000 to train, the rest to test. Generated
    by a seeded torch RNG."""
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, classes, (n,), generator=g)
    t = torch.rand(n, generator=g)
    angle = 2 * math.pi * (turns * t + y / classes)
    x = torch.stack([t * torch.cos(angle), t * torch.sin(angle)], dim=1)
    x = x + noise * torch.randn(n, 2, generator=g)
    return x[:12_000], y[:12_000], x[12_000:], y[12_000:]


class _TransformerClassifier(nn.Module):
    """Token and position embeddings, two pre-norm Transformer encoder layers (4 heads, no
    dropout), read out from the first position."""

    def __init__(self, vocab: int = 8, length: int = 32, width: int = 32, classes: int = 6) -> None:
        super().__init__()
        self.tokens = nn.Embedding(vocab, width)
        self.positions = nn.Parameter(torch.randn(length, width) * 0.02)
        layer = nn.TransformerEncoderLayer(
            width, 4, 2 * width, dropout=0.0, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.out = nn.Linear(width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(self.tokens(x) + self.positions[: x.shape[1]])
        out: torch.Tensor = self.out(self.norm(h[:, 0]))
        return out


class _LSTMRegressor(nn.Module):
    """A one-layer LSTM read out (one value) from its last hidden state."""

    def __init__(self, channels: int = 2, hidden: int = 32) -> None:
        super().__init__()
        self.lstm = nn.LSTM(channels, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.lstm(x)
        out: torch.Tensor = self.out(h[-1])
        return out


class _RecurrentClassifier(nn.Module):
    """A one-layer recurrent network (``cell``: ``nn.GRU`` or the tanh ``nn.RNN``) read out
    from its last hidden state."""

    def __init__(
        self, cell: type[nn.GRU] | type[nn.RNN], channels: int, hidden: int, classes: int
    ) -> None:
        super().__init__()
        self.rnn = cell(channels, hidden, batch_first=True)
        self.out = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h = self.rnn(x)
        out: torch.Tensor = self.out(h[-1])
        return out


def _mlp(*widths: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(widths)):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


#: Fine-tuning: the training images of digits 5-9 the pretrained CNN is tuned on.
FEW_SHOT = 250
#: Fine-tuning on MNIST-1D: the training signals of classes 5-9 the pretrained CNN is tuned on.
FEW_SHOT_1D = 500


def _cnn1d(classes: int = 10) -> nn.Sequential:
    """The MNIST-1D CNN: two 1-D convolutions, then two linear layers."""
    return nn.Sequential(
        nn.Conv1d(1, 32, 5, padding=2),
        nn.ReLU(),
        nn.Conv1d(32, 32, 5, stride=2, padding=2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(640, 20),
        nn.ReLU(),
        nn.Linear(20, classes),
    )


def _cnn_digits(classes: int = 10) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 64),
        nn.ReLU(),
        nn.Linear(64, classes),
    )


_PRETRAINED: dict[str, dict[str, torch.Tensor]] = {}


def _pretrain(
    key: str, network: Callable[[], nn.Module], data: str, epochs: int, batch: int
) -> dict[str, torch.Tensor]:
    """``network()`` trained on classes 0-4 of data set ``data``'s training split with Adam
    1e-3 (seed 0, drawn before the network), its weights kept under ``key``: the same in every
    process, computed once per process, the caller's RNG state left as it was."""
    if key not in _PRETRAINED:
        x, y, _, _ = _data(data)
        x, y = x[y < 5], y[y < 5]
        with torch.random.fork_rng():
            torch.manual_seed(0)
            model = network()
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            for _ in range(epochs):
                perm = torch.randperm(len(x))
                for i in range(0, len(x), batch):
                    idx = perm[i : i + batch]
                    opt.zero_grad()
                    loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
                    loss.backward()  # type: ignore[no-untyped-call]
                    opt.step()
        _PRETRAINED[key] = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return _PRETRAINED[key]


def pretrained_digits_cnn() -> dict[str, torch.Tensor]:
    """The digits fine-tuning tasks' pretrained weights: the digits CNN trained on the
    training images of digits 0-4 (Adam 1e-3, batch 32, 20 epochs, seed 0)."""
    return _pretrain("cnn", lambda: _cnn_digits(5), "digits-images", 20, 32)


def pretrained_mnist1d_cnn() -> dict[str, torch.Tensor]:
    """The MNIST-1D fine-tuning task's pretrained weights: the MNIST-1D CNN trained on the
    training signals of classes 0-4 (Adam 1e-3, batch 128, 60 epochs, seed 0)."""
    return _pretrain("cnn1d", lambda: _cnn1d(5), "mnist1d", 60, 128)


def make_model(name: str) -> nn.Module:
    """The network of task ``name`` (initialised from torch's global RNG)."""
    spec = SUITE.get(_ALIASES.get(name, name))
    if spec is None:
        raise ValueError(f"Argument `name` must name a task. Received: name={name!r}")
    if spec.model == "cnn1d":
        return _cnn1d()
    if spec.model == "mlp-digits-images":  # the digits images, flattened
        return nn.Sequential(nn.Flatten(), _mlp(64, 256, 256, 10))
    if spec.model == "resnet-digits":
        return nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            _Residual(16),
            nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            _Residual(32),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(32, 10),
        )
    if spec.model == "cnn-digits":
        return _cnn_digits()
    if spec.model == "cnn-digits-deep":  # four plain 3x3 convolutions, no normalisation
        convs: list[nn.Module] = []
        for i in range(4):
            convs += [nn.Conv2d(1 if i == 0 else 32, 32, 3, padding=1), nn.ReLU()]
            if i == 1:
                convs.append(nn.MaxPool2d(2))
        return nn.Sequential(*convs, nn.Flatten(), nn.Linear(32 * 4 * 4, 10))
    if spec.model in ("cnn-digits-pretrained", "cnn1d-pretrained"):  # a new 5-way head
        digits = spec.model == "cnn-digits-pretrained"
        model = _cnn_digits(5) if digits else _cnn1d(5)
        head = "8." if digits else "7."
        weights = pretrained_digits_cnn() if digits else pretrained_mnist1d_cnn()
        model.load_state_dict(
            {k: v for k, v in weights.items() if not k.startswith(head)}, strict=False
        )
        return model
    if spec.model == "gru":
        return _RecurrentClassifier(nn.GRU, channels=6, hidden=48, classes=4)
    if spec.model == "lstm":
        return _LSTMRegressor()
    if spec.model == "transformer":
        return _TransformerClassifier()
    if spec.model == "rnn":
        return _RecurrentClassifier(nn.RNN, channels=4, hidden=64, classes=4)
    if spec.model in ("mlp-dropout", "mlp-digits-dropout"):
        inputs, width = (40, 512) if spec.model == "mlp-dropout" else (64, 256)
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(inputs, width),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(width, width),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(width, 10),
        )
    if spec.model == "mlp-digits-ln":  # linear, LayerNorm, GELU in each hidden layer
        layers: list[nn.Module] = []
        for fan_in in (64, 128, 128):
            layers += [nn.Linear(fan_in, 128), nn.LayerNorm(128), nn.GELU()]
        return nn.Sequential(*layers, nn.Linear(128, 10))
    if spec.model == "mlp-mnist1d-deep":  # the signals come as (n, 1, 40), as for the CNN
        return nn.Sequential(nn.Flatten(), *_mlp(40, *(64,) * 8, 10))
    widths = {
        "mlp-digits": (64, 64, 10),
        "mlp-noisy": (20, 256, 256, 4),
        "mlp-friedman": (10, 64, 64, 1),
        "mlp-mnist1d": (40, 256, 256, 10),
        "mlp-deep": (4, 64, 64, 64, 64, 64, 64, 1),
        "mlp-digits-deep": (64, 64, 64, 64, 64, 64, 64, 10),
        "mlp-clean8": (20, 128, 128, 8),
        "mlp-spirals": (2, 128, 128, 128, 3),
        "mlp-hastie": (10, 64, 64, 2),
        "linear-digits": (64, 10),
        "ae-digits": (64, 32, 8, 32, 64),
    }
    return _mlp(*widths[spec.model])


def make_optimizer(
    kind: str, params: Any, lr: float, weight_decay: float = 0.0
) -> torch.optim.Optimizer:
    """``"sgd"`` (momentum 0.9, as in the paper), ``"sgd-plain"`` (no momentum),
    ``"sgd-nesterov"`` (Nesterov momentum 0.9), ``"adam"``, ``"adamw"`` or ``"rmsprop"``
    (torch defaults: alpha 0.99, no momentum)."""
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    if kind == "sgd-plain":
        return torch.optim.SGD(params, lr=lr, momentum=0.0, weight_decay=weight_decay)
    if kind == "sgd-nesterov":
        return torch.optim.SGD(
            params, lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay
        )
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if kind == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(
        "Argument `kind` must be 'sgd', 'sgd-plain', 'sgd-nesterov', 'adam', 'adamw' or "
        "'rmsprop'. "
        f"Received: kind={kind!r}"
    )


def shift(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image of ``images`` (``(n, c, h, w)``) moved by -1, 0 or 1 pixel down and across,
    drawn from ``generator`` (the uncovered border is 0): a task's data augmentation."""
    n, _, h, w = images.shape
    padded = nn.functional.pad(images, (1, 1, 1, 1)).permute(0, 2, 3, 1)  # (n, h+2, w+2, c)
    down = torch.randint(0, 3, (n,), generator=generator)
    across = torch.randint(0, 3, (n,), generator=generator)
    rows = (down[:, None] + torch.arange(h))[:, :, None]
    cols = (across[:, None] + torch.arange(w))[:, None, :]
    return padded[torch.arange(n)[:, None, None], rows, cols].permute(0, 3, 1, 2).contiguous()


def batches(task: Task, generator: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless shuffled epochs of ``(x, y)`` batches (last one partial), from ``generator``;
    a task that augments moves each batch's images by :func:`shift` (the same generator)."""
    n, b = len(task.x), task.batch_size
    while True:
        perm = torch.randperm(n, generator=generator)
        for i in range(0, n, b):
            idx = perm[i : i + b]
            x = task.x[idx]
            yield (shift(x, generator) if task.spec.augment else x), task.y[idx]


@torch.no_grad()
def evaluate(model: nn.Module, task: Task, x: torch.Tensor, y: torch.Tensor) -> float:
    """The task's metric of ``model`` on ``(x, y)``: accuracy in [0, 1], or the MSE."""
    if task.metric != "mse":
        return accuracy(model, x, y)
    was = model.training
    model.eval()
    score = float(nn.functional.mse_loss(model(x).squeeze(-1), y))
    model.train(was)
    return score


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Top-1 accuracy of ``model`` on ``(x, y)``, in [0, 1]."""
    was = model.training
    model.eval()
    acc = float((model(x).argmax(1) == y).float().mean())
    model.train(was)
    return acc


@dataclass
class TrainRun:
    """What one training job produced."""

    scores: list[float] = field(default_factory=list)  # test metric after each epoch
    lrs: list[float] = field(default_factory=list)  # rate used at each iteration
    momenta: list[float] = field(default_factory=list)  # momentum / beta1 at each iteration
    train_losses: list[float] = field(default_factory=list)  # mean training loss of each epoch
    diverged: bool = False  # the loss went non-finite (the score then counts as chance)
    higher_is_better: bool = True
    fired: tuple[int, ...] = ()  # the epochs at which a CollapseGuard restored (train(guard=))
    val_scores: list[float] = field(default_factory=list)  # the metric on train(val=) per epoch
    probes: list[Any] = field(default_factory=list)  # train(probe=)'s value after each epoch

    @property
    def accuracies(self) -> list[float]:
        """The scores of a classification task (test accuracy after each epoch)."""
        return self.scores

    @property
    def final(self) -> float:
        return self.scores[-1] if self.scores else math.nan

    @property
    def best(self) -> float:
        if not self.scores:
            return math.nan
        return max(self.scores) if self.higher_is_better else min(self.scores)


#: Builds an optimizer from ``(params, initial lr)``: for optimizers the task does not name.
OptimizerFactory = Callable[[Any, float], torch.optim.Optimizer]


def _momentum_of(group: dict[str, Any]) -> float:
    for key in ("momentum", "betas"):
        if key in group:
            m = group[key]
            return float(m[0] if isinstance(m, (tuple, list)) else m)
    return math.nan


def train(
    task: Task,
    lr: float | Schedule,
    *,
    epochs: int,
    seed: int,
    optimizer: str | OptimizerFactory | None = None,
    momentum: Schedule | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
    record: bool = True,
    auto: dict[str, Any] | None = None,
    guard: dict[str, Any] | None = None,
    val: tuple[torch.Tensor, torch.Tensor] | None = None,
    probe: Callable[[nn.Module], Any] | None = None,
) -> TrainRun:
    """Train a fresh model on ``task`` and record the test metric after every epoch.

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
    optimizer : str or callable, optional
        ``"sgd"`` (momentum 0.9), ``"sgd-plain"``, ``"sgd-nesterov"``, ``"adam"``, ``"adamw"``,
        ``"rmsprop"``, or a factory ``(params, lr) -> Optimizer``; default the task's own. An
        optimizer with ``train()`` / ``eval()`` methods (schedule-free) is switched to
        ``eval()`` for every evaluation.
    momentum : clr_core.Schedule, optional
        A momentum (SGD) or beta1 (Adam) schedule, cycled with the rate.
    on_epoch : callable, optional
        Called as ``on_epoch(epoch, score)`` after each epoch (progress bars).
    record : bool
        Keep the rate and momentum of every iteration (``lrs``, ``momenta``).
    auto : dict, optional
        Train under :class:`clr_torch.AutoOneCycleLR` over the whole budget instead,
        with these keywords (``lr`` then only sets the optimizer's initial rate).
    guard : dict, optional
        Train under a :class:`clr_torch.CollapseGuard` with these keywords (``{}``: its
        defaults), fed each epoch's mean training loss; an epoch whose loss turns non-finite
        ends there and is fed as NaN, and the run diverges only when the guard says so.
    val : (x, y), optional
        Examples kept out of training (:func:`validation_split`), scored with the task's
        metric after every epoch into ``val_scores`` (NaN once the run has diverged).
    probe : callable, optional
        Called as ``probe(model)`` after every epoch's evaluation, its value appended to
        ``probes`` (None once the run has diverged). It must leave the model as it found it
        and draw no numbers from torch's global generator, so that the run is the one it
        would have been without it (a benchmark's measurement of the weights in mid-run).

    A run whose loss turns non-finite is marked ``diverged``; its remaining epochs
    score at :attr:`Task.chance`, as a collapsed run would.
    """
    schedule = lr if isinstance(lr, Schedule) else Constant(float(lr))
    torch.manual_seed(seed)
    model = make_model(task.spec.name)
    kind = task.spec.optimizer if optimizer is None else optimizer
    if callable(kind):
        opt = kind(model.parameters(), schedule(0))
    else:
        opt = make_optimizer(kind, model.parameters(), schedule(0), task.spec.weight_decay)
    scheduler: Any = (
        ScheduleLR(opt, schedule, momentum=momentum)
        if auto is None
        else AutoOneCycleLR(opt, epochs * task.steps_per_epoch, **auto)
    )
    switch = callable(getattr(opt, "train", None)) and callable(getattr(opt, "eval", None))
    stream = batches(task, torch.Generator().manual_seed(seed))
    run = TrainRun(higher_is_better=task.spec.higher_is_better)
    keeper = None if guard is None else CollapseGuard(opt, model, **guard)
    for epoch in range(epochs):
        if not run.diverged:
            finite = True
            if switch:
                opt.train()  # type: ignore[attr-defined]
            total = 0.0
            for _ in range(task.steps_per_epoch):
                if record:
                    group = opt.param_groups[0]
                    run.lrs.append(float(group["lr"]))
                    run.momenta.append(_momentum_of(group))
                xb, yb = next(stream)
                loss = task.loss_fn(model(xb), yb)
                value = float(loss.detach())
                if not math.isfinite(value):
                    finite = False
                    break
                total += value
                opt.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                opt.step()
                if auto is None:
                    scheduler.step()
                else:
                    scheduler.step(value)
            if switch:
                opt.eval()  # type: ignore[attr-defined]
            mean = total / task.steps_per_epoch if finite else math.nan
            run.train_losses.append(mean)
            if keeper is None:
                run.diverged = not finite
            else:
                run.diverged = keeper.step(mean) == "diverged"
                run.fired = keeper.fired
        score = task.chance if run.diverged else evaluate(model, task, task.x_test, task.y_test)
        if not math.isfinite(score):
            run.diverged, score = True, task.chance
        run.scores.append(score)
        if val is not None:
            run.val_scores.append(math.nan if run.diverged else evaluate(model, task, *val))
        if probe is not None:
            run.probes.append(None if run.diverged else probe(model))
        if on_epoch is not None:
            on_epoch(epoch, score)
    return run


# --------------------------------------------------------------------------- #
# The range test as the demo and the benchmarks run it
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class SweepSettings:
    """One range test's settings: an exponential sweep ``start -> end`` in ``steps``, the
    metric read on ``held_out`` batches carved from the *training* set (0, the default:
    none; the range test then reads the training loss alone). The defaults are the
    library's (``clr_core.rangetest.DEFAULT_START_LR``, ``DEFAULT_END_LR``,
    ``DEFAULT_NUM_STEPS``)."""

    start: float = DEFAULT_START_LR
    end: float = DEFAULT_END_LR
    steps: int = DEFAULT_NUM_STEPS
    held_out: int = 0


#: The demo's range test: the library's default sweep, the training loss alone.
DEMO_SWEEP = SweepSettings()


#: The offset between the generator seeds of a seed's batch orders (see :func:`sweep`).
ORDER_SEED = 7919


def sweep(
    task: Task,
    seed: int,
    settings: SweepSettings = DEMO_SWEEP,
    optimizer: str | None = None,
    *,
    order: int = 0,
    step_fn: Callable[[nn.Module, Any], Any] | None = None,
) -> RangeTestResult:
    """Our range test on a fresh model of ``task`` (seed ``seed``), read by clr_core.

    The held-out batches are the last of the training set; the test set plays no part.
    ``len(result.lrs)`` is the optimizer steps it took. ``order`` 0 draws the batches in the
    seed's own order (what every cached sweep used); ``order`` k > 0 in another, from the
    generator seed ``seed + ORDER_SEED * k``, the initial weights unchanged. ``step_fn``, if
    given, replaces ``task.loss_fn`` as the range test's step (``step_fn(model, batch) ->
    loss``; the benchmarks use it to record gradients along the sweep).
    """
    if settings.held_out:
        sub, val = hold_out(task, settings.held_out)
    else:
        sub, val = task, []
    torch.manual_seed(seed)
    model = make_model(task.spec.name)
    kind = task.spec.optimizer if optimizer is None else optimizer
    opt = make_optimizer(kind, model.parameters(), settings.start, task.spec.weight_decay)
    stream = batches(sub, torch.Generator().manual_seed(seed + ORDER_SEED * order))
    loader = [next(stream) for _ in range(settings.steps)]
    use_val = bool(val) and task.metric == "accuracy"
    result: RangeTestResult = range_test(
        model,
        opt,
        loader,
        task.loss_fn if step_fn is None else None,
        step_fn=step_fn,
        start_lr=settings.start,
        end_lr=settings.end,
        num_steps=settings.steps,
        metric="accuracy" if use_val else None,
        val_loader=val if use_val else None,
        val_batches=len(val) if use_val else 4,
        progress=False,
    )
    return result


# --------------------------------------------------------------------------- #
# Reading the curves
# --------------------------------------------------------------------------- #


def mean_curve(curves: Sequence[Sequence[float]]) -> list[float]:
    """The mean score after each epoch, over runs of the same length."""
    return [statistics.fmean(v) for v in zip(*curves, strict=True)]


def reach(
    curve: Sequence[float], target: float, ipe: int, tolerance: float, higher_is_better: bool = True
) -> int | None:
    """Iterations until ``curve`` (one point an epoch) comes within ``tolerance`` of ``target``
    (``None``: never)."""
    for epoch, score in enumerate(curve):
        if (score >= target - tolerance) if higher_is_better else (score <= target + tolerance):
            return (epoch + 1) * ipe
    return None


# --------------------------------------------------------------------------- #
# Independent jobs in worker processes
# --------------------------------------------------------------------------- #


def _init_worker() -> None:
    # Ctrl-C reaches every process of the terminal's group: the parent alone handles it
    # (run_jobs then stops the workers), so no worker prints a KeyboardInterrupt of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)


def _stop(pool: Any) -> None:
    """Stop ``pool`` now: drop its queued jobs and end the running ones."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
        return
    for process in list((pool._processes or {}).values()):
        process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def default_jobs() -> int:
    """As many workers as the process may use cores."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def run_jobs(
    fn: Callable[..., Any],
    jobs: Sequence[tuple[Any, ...]],
    n_jobs: int = 1,
    on_done: Callable[[int, Any], None] | None = None,
) -> list[Any]:
    """``[fn(*job) for job in jobs]``, in ``n_jobs`` worker processes (one torch thread each).

    ``fn`` must be importable (a module-level function); results come back in the
    order of ``jobs``, identical to a serial run since every job is seeded.
    ``on_done(index, result)`` is called in this process as each job finishes.
    If a job fails or the wait is interrupted (Ctrl-C), the queued jobs are dropped
    and the running ones stopped before the exception propagates; the workers ignore
    Ctrl-C themselves and leave it to this process.
    """
    if n_jobs <= 1 or len(jobs) <= 1:
        out = []
        for i, job in enumerate(jobs):
            out.append(fn(*job))
            if on_done is not None:
                on_done(i, out[-1])
        return out
    import concurrent.futures as cf
    import multiprocessing as mp

    results: list[Any] = [None] * len(jobs)
    ctx = mp.get_context("spawn")
    pool = cf.ProcessPoolExecutor(
        max_workers=min(n_jobs, len(jobs)), mp_context=ctx, initializer=_init_worker
    )
    try:
        futures = {pool.submit(fn, *job): i for i, job in enumerate(jobs)}
        for fut in cf.as_completed(futures):
            i = futures[fut]
            results[i] = fut.result()
            if on_done is not None:
                on_done(i, results[i])
    except BaseException:
        # Ctrl-C, or a job failed: stop the workers now instead of waiting for every
        # queued job (which is what leaving a `with` block would do).
        _stop(pool)
        raise
    pool.shutdown()
    return results
