"""`schedule(array)` on JAX, and clr_core schedules handed to optax as they are.

Run in the tox env ``jax`` (jax[cpu], optax). jax and optax are imported
unconditionally: a missing one fails the run instead of skipping it.
"""

from __future__ import annotations

import clr_strategies as cs
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st

import clr_core as C

F32 = float(np.finfo(np.float32).eps)  # 1.19e-7


def float32_error(s: C.Schedule, steps: np.ndarray) -> float:
    """Largest error of the int32 JAX evaluation against the exact Python one, relative to
    the schedule's peak (bounds()[1])."""
    got = np.asarray(s(jnp.asarray(steps, dtype=jnp.int32)), dtype=np.float64)
    ref = np.array([s(int(t)) for t in steps])
    return float(np.max(np.abs(got - ref)) / s.bounds()[1])


def near(step: int, n: int = 4001) -> np.ndarray:
    return np.arange(step, step + n)


@pytest.mark.parametrize(
    "s",
    [
        C.Triangular(1e-3, 6e-3, 2000),  # was 7.0e-5 at 1e6 and 4.4e-3 at 2e7
        C.Triangular(0.0, 1e-2, 7),  # was 1.6e-2 at 1e6 and 1.0 at 2e7
        C.Triangular(1e-3, 6e-3, 1),  # step_size_up=1 past 2**24 gave base instead of max
        C.ExpRange(1e-3, 6e-3, 2000, gamma=0.9999999),  # was 1.9e-2 at 1e6, 0.17 at 1e7
        C.Triangular2(1e-3, 6e-3, 2000),
        C.Cyclic(1e-3, 6e-3, 700, 1300, shape="hann"),
    ],
    ids=repr,
)
@pytest.mark.parametrize("at", [10**6, 10**7, 2 * 10**7, 2**24 + 1, 2**31 - 5000])
def test_float32_error_stays_at_rounding_of_the_value_at_any_step(s, at: int) -> None:
    assert float32_error(s, near(at)) <= 3 * F32


def test_optax_sgd_takes_a_schedule_directly() -> None:
    s = C.Triangular(0.01, 0.1, step_size_up=4)
    opt = optax.sgd(learning_rate=s)  # raised: step must be a non-negative int
    params = {"w": jnp.ones(3)}
    state = opt.init(params)
    grads = {"w": jnp.ones(3)}
    for t in range(10):
        updates, state = opt.update(grads, state, params)
        assert float(updates["w"][0]) == pytest.approx(-s(t), rel=1e-6)


def test_optax_inject_hyperparams_cycles_rate_and_momentum_under_jit() -> None:
    s = C.OneCycle(0.5, total_steps=50)
    m = s.momentum(0.85, 0.95)
    opt = optax.inject_hyperparams(optax.sgd)(learning_rate=s, momentum=m)
    params = jnp.zeros(2)
    state = opt.init(params)
    traces = []

    @jax.jit
    def step(state):
        traces.append(1)
        _, state = opt.update(jnp.ones(2), state, params)
        return state

    lrs, moms = [], []
    for _ in range(60):
        state = step(state)
        lrs.append(float(state.hyperparams["learning_rate"]))
        moms.append(float(state.hyperparams["momentum"]))
    assert len(traces) == 1  # traced once, whatever the count
    # inject_hyperparams records the value for the update it just made: count 0, 1, ...
    # (float32 rounding of 1cycle's terms: relative to its peak)
    assert np.allclose(lrs, [s(t) for t in range(60)], rtol=0, atol=4 * F32 * 0.5)
    assert np.allclose(moms, [m(t) for t in range(60)], rtol=0, atol=4 * F32 * 0.95)


def test_a_jax_step_gives_a_jax_array_and_traces_once() -> None:
    s = C.warmup(C.Triangular2(1e-3, 6e-3, 50), 20)
    traces = []

    @jax.jit
    def f(count):
        traces.append(1)
        return s(count)

    out = [f(jnp.int32(t)) for t in range(0, 300, 7)]
    assert len(traces) == 1
    assert all(isinstance(v, jax.Array) and v.dtype == jnp.float32 for v in out)
    ref = [s(t) for t in range(0, 300, 7)]
    assert np.allclose([float(v) for v in out], ref, rtol=0, atol=4 * F32 * 6e-3)
    assert s(jnp.arange(5)).shape == (5,)


@given(cs.any_schedule | cs.any_with_momentum, st.integers(0, 2**31 - 300))
def test_jax_int32_evaluation_equals_the_scalar_path_to_float32(s, offset: int) -> None:
    steps = np.arange(offset, offset + 257)
    got = np.asarray(s(jnp.asarray(steps, dtype=jnp.int32)), dtype=np.float64)
    ref = np.array([s(int(t)) for t in steps])
    lo, hi = s.bounds()
    # float32 rounding of the terms: relative to the schedule's largest value
    assert np.all(np.abs(got - ref) <= 16 * F32 * max(abs(lo), abs(hi))), np.max(np.abs(got - ref))
