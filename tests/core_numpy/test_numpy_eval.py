"""The one formula, evaluated vectorised on NumPy arrays, equals the scalar path."""

from __future__ import annotations

import clr_strategies as cs
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import clr_core as C


def assert_close_rel(vec: np.ndarray, ref: list[float], rel: float = 1e-12) -> None:
    ref_a = np.asarray(ref)
    assert vec.shape == ref_a.shape
    assert np.all(np.isfinite(vec))
    # exact zeros must match exactly; everything else to `rel` relative
    worst = float(np.max(np.abs(vec - ref_a) / np.maximum(np.abs(ref_a), 1e-300)))
    assert worst <= rel, worst


@given(cs.any_schedule | cs.any_with_momentum, st.integers(0, 10**6))
def test_numpy_equals_scalar(s: C.Schedule, offset: int) -> None:
    steps = np.arange(offset, offset + 257, dtype=np.float64)
    vec = s.evaluate(steps, np)
    vec = np.broadcast_to(np.asarray(vec, dtype=np.float64), steps.shape)
    assert_close_rel(vec, [s(int(t)) for t in steps])


@given(cs.any_schedule | cs.any_with_momentum)
def test_numpy_equals_scalar_at_huge_steps(s: C.Schedule) -> None:
    steps = np.array([2.0**40, 2.0**50 + 3, 2.0**53], dtype=np.float64)
    vec = np.broadcast_to(np.asarray(s.evaluate(steps, np), dtype=np.float64), steps.shape)
    assert_close_rel(vec, [s(int(t)) for t in steps])


def test_numpy_integer_steps_are_accepted_by_the_scalar_call() -> None:
    s = C.Triangular(0.1, 1.0, 10)
    assert s(np.int64(10)) == 1.0
    assert s(np.uint32(20)) == s(20)


def test_vectorised_evaluation_of_a_long_run_is_one_call() -> None:
    s = C.OneCycle(0.5, 10_000, three_phase=True)
    vec = s.evaluate(np.arange(12_000.0), np)
    assert vec.shape == (12_000,)
    assert vec[0] == s(0)
    assert vec.max() <= 0.5
    assert np.all(vec[10_000:] == s(9_999))
