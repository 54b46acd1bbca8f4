"""Range tests recorded from real training runs, checked against real training grids.

The curves and the grids come from ``benchmarks/record_range_curves.py``; the grid
numbers are in ``tests/core/fixtures/README.md``. In short (held-out accuracy, mean of
3 seeds): MNIST-1D CNN + SGD: best fixed rate 0.1 (94.0%), 0.15 93.0%, 0.2 unstable,
0.3 collapses; + Adam: best 0.01 (91.8%), 0.02 collapses on 1 seed of 3, 0.03 on 1-2;
digits MLP + SGD: 0.1-0.3 best (92%), 0.5 90.9%, 1.0 collapses; + Adam: 0.01-0.03 best
(91-92%), 0.05-0.1 still 90%.
"""

from __future__ import annotations

import pathlib

import pytest

from clr_core.rangetest import analyze, combine, read_sweep_csv

FIXTURES = pathlib.Path(__file__).parent / "fixtures"

# task -> (lr low, lr high, max_lr low, max_lr high, where fixed training collapses,
#          the largest rate at which no fixed run collapsed)
# The last column comes from the benchmark suite's 10-seed grids (docs/benchmarks.md:
# MNIST-1D CNN SGD 0.1 (0.147 collapses 1 of 10), Adam 0.0215 (0.0316 collapses 1 of 10),
# digits MLP SGD 0.681 (1.0 collapses 4 of 10)); digits Adam has no suite grid.
EXPECT = {
    "mnist1d_sgd": (0.05, 0.15, 0.1, 0.2, 0.3, 0.1),
    "mnist1d_adam": (0.004, 0.015, 0.008, 0.02, 0.03, 0.0215),
    "digits_sgd": (0.1, 0.35, 0.2, 0.5, 1.0, 0.681),
    "digits_adam": (0.008, 0.04, 0.02, 0.1, None, None),
}
CASES = [(task, seed) for task in EXPECT for seed in (0, 1)]


def load(task: str, seed: int):
    return read_sweep_csv(FIXTURES / f"{task}_seed{seed}.csv", "accuracy")


@pytest.mark.parametrize("with_metric", [False, True])
@pytest.mark.parametrize(("task", "seed"), CASES)
def test_fixture_reading_matches_the_training_grid(task, seed, with_metric):
    lrs, losses, acc, _ = load(task, seed)
    r = analyze(lrs, losses, acc if with_metric else None, metric_name="accuracy")
    lr_lo, lr_hi, max_lo, max_hi, collapse, safe = EXPECT[task]
    assert lr_lo <= r.lr <= lr_hi, r.summary()
    assert max_lo <= r.max_lr <= max_hi, r.summary()
    assert r.base_lr < r.lr < r.max_lr
    if collapse is not None:
        assert r.max_lr <= collapse / 1.4  # a clear margin below the collapse
    if safe is not None:
        assert r.lr <= safe  # never a fixed rate at which a grid run collapsed
    assert r.max_lr / r.lr >= 1.2
    assert r.diverged
    assert r.confidence >= 0.7
    assert r.bounds_from == ("metric" if with_metric else "loss")


@pytest.mark.parametrize("task", list(EXPECT))
def test_fixture_repeats_agree(task):
    results = [analyze(*load(task, seed)[:2]) for seed in (0, 1)]
    both = combine(results)
    assert both.diagnostics["spread"]["max_lr"] < 1.7
    assert both.confidence >= 0.6
    lr_lo, lr_hi, *_ = EXPECT[task]
    assert lr_lo <= both.lr <= lr_hi


def test_mnist1d_sgd_suggestions_are_named_and_ordered():
    lrs, losses, *_ = load("mnist1d_sgd", 0)
    r = analyze(lrs, losses, batch_size=128)
    s = r.suggestions
    assert s["steepest"] < s["minimum"]
    assert s["min_div_10"] < s["minimum"]
    assert s["steepest"] < r.lr  # steepest-in-log-LR is safe but slow here
    assert r.to_triangular(32, epochs=20).step_size_up == 160  # 640 steps: 2 cycles
