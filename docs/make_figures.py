"""Draw the figures of the documentation with clr-core's own code.

Every curve is a clr_core schedule evaluated by the library (``schedule.evaluate(steps,
numpy)``) or a range test analysed by ``clr_core.rangetest`` and drawn by
``RangeTestResult.plot()``. The PNG files are committed in ``docs/figures/``;
after changing a schedule or the analysis, redraw them with::

    PYTHONPATH=. python docs/make_figures.py            # writes docs/figures/*.png

``--out DIR`` writes elsewhere (the tox ``docs`` env draws them into a temporary
folder to prove the script still runs against the current code). Needs numpy
and matplotlib; deterministic (fixed seeds).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import clr_core
from clr_core.rangetest import analyze, read_sweep_csv

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "core" / "fixtures" / "digits_sgd_seed0.csv"
DPI = 100


def _save(fig: plt.Figure, out: Path, name: str) -> None:
    fig.tight_layout()
    path = out / name
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    print(f"wrote {path}")


def policies(out: Path) -> None:
    """The paper's three policies over 6 half cycles."""
    steps = np.arange(0, 6 * 200 + 1, dtype=np.float64)
    base, top, half = 0.001, 0.006, 200
    named = [
        ("triangular", clr_core.Triangular(base, top, step_size_up=half)),
        ("triangular2", clr_core.Triangular2(base, top, step_size_up=half)),
        ("exp_range (gamma=0.999)", clr_core.ExpRange(base, top, step_size_up=half, gamma=0.999)),
        (
            'exp_range, decay="both"',
            clr_core.ExpRange(base, top, step_size_up=half, gamma=0.999, decay="both"),
        ),
    ]
    fig, axes = plt.subplots(len(named), 1, figsize=(7, 7.2), sharex=True)
    for ax, (label, s) in zip(axes, named, strict=True):
        ax.plot(steps, s.evaluate(steps, np), lw=1.8)
        ax.set_ylabel("lr")
        ax.set_title(label, fontsize=10, loc="left")
        ax.set_ylim(0, top * 1.08)
        ax.axhline(base, color="0.6", lw=0.8, ls=":")
    axes[-1].set_xlabel("optimizer step (step_size_up = 200)")
    _save(fig, out, "policies.png")


def shapes(out: Path) -> None:
    """One cycle of each shape, and an asymmetric cycle."""
    steps = np.arange(0, 401, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(7, 3.3))
    for name in ("triangle", "welch", "hann"):
        s = clr_core.Cyclic(0.0, 1.0, step_size_up=200, shape=name)
        ax.plot(steps, s.evaluate(steps, np), label=f'shape="{name}"')
    skew = clr_core.Cyclic(0.0, 1.0, step_size_up=100, step_size_down=300)
    ax.plot(steps, skew.evaluate(steps, np), ls="--", color="0.4",
            label="triangle, step_size_up=100, step_size_down=300")  # fmt: skip
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("w (fraction of the amplitude)")
    ax.legend(fontsize="small", loc="upper right")
    _save(fig, out, "shapes.png")


def one_cycle(out: Path) -> None:
    """1cycle: rate and momentum, two- and three-phase."""
    n = 1000
    steps = np.arange(0, n + 100, dtype=np.float64)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.3), sharey=True)
    for ax, three in zip(axes, (False, True), strict=True):
        s = clr_core.OneCycle(0.1, total_steps=n, div_factor=10.0, three_phase=three)
        m = s.momentum(0.85, 0.95)
        ax.plot(steps, s.evaluate(steps, np), color="C0", label="lr")
        ax.set_ylabel("lr", color="C0")
        ax.set_xlabel("optimizer step (total_steps = 1000)")
        ax.set_title("three_phase=True (the 2018 report)" if three else "two phases (default)",
                     fontsize=10)  # fmt: skip
        ax2 = ax.twinx()
        ax2.plot(steps, m.evaluate(steps, np), color="C1", label="momentum")
        ax2.set_ylim(0.83, 0.97)
        ax2.set_ylabel("momentum", color="C1")
        ax.axvline(n - 1, color="0.6", lw=0.8, ls=":")
    _save(fig, out, "one_cycle.png")


def saddle(out: Path) -> None:
    """A toy: noisy gradient descent leaving a saddle, fixed rates against a cycle.

    f(x, y) = x^2 / 2 + c (y^2 - 1)^2 / 4 has a saddle at (0, 0) and minima at
    y = +-1; the gradient in x carries unit Gaussian noise (the minibatch noise),
    which sets a loss floor proportional to the rate. Start at (1, 1e-4).
    """
    c, n = 0.2, 2400
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(n)
    schedules = {
        "fixed 0.02": clr_core.Constant(0.02),
        "fixed 0.6": clr_core.Constant(0.6),
        "triangular 0.02 - 0.6": clr_core.Triangular(0.02, 0.6, step_size_up=100),
    }
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for label, s in schedules.items():
        x, y = 1.0, 1e-4
        losses = []
        for t in range(n):
            lr = s(t)
            gx = x + noise[t]
            gy = c * (y**3 - y)
            x, y = x - lr * gx, y - lr * gy
            losses.append(0.5 * x * x + c * (y * y - 1.0) ** 2 / 4.0)
        # a running mean over 20 steps, so the noise floor reads as a level
        smooth = np.convolve(losses, np.ones(20) / 20, mode="valid")
        ax.plot(np.arange(len(smooth)) + 19, smooth, label=label, lw=1.4)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (running mean of 20)")
    ax.set_title("toy saddle: f = x²/2 + c(y²-1)²/4, noisy gradient in x", fontsize=10)
    ax.legend(fontsize="small")
    _save(fig, out, "saddle.png")


def range_test(out: Path) -> None:
    """A recorded range test (digits MLP, SGD) read by clr_core.rangetest.analyze."""
    lrs, losses, accuracy, _ = read_sweep_csv(FIXTURE, "accuracy")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    analyze(lrs, losses, batch_size=64).plot(ax=axes[0])
    axes[0].set_title("loss only", fontsize=10)
    analyze(lrs, losses, accuracy, batch_size=64, metric_name="accuracy").plot(ax=axes[1])
    axes[1].set_title("with held-out accuracy (bounds from the metric)", fontsize=10)
    _save(fig, out, "range_test.png")


FIGURES = {
    "policies": policies,
    "shapes": shapes,
    "one_cycle": one_cycle,
    "saddle": saddle,
    "range_test": range_test,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "figures"))
    parser.add_argument("names", nargs="*", help=f"some of {', '.join(FIGURES)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in FIGURES]
    if unknown:
        parser.error(f"unknown figure(s) {unknown}; choose from {list(FIGURES)}")
    out = Path(args.out)
    os.makedirs(out, exist_ok=True)
    for name in args.names or FIGURES:
        FIGURES[name](out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
