"""Property tests of every cycle invariant (stdlib only: runs in the `core` env)."""

from __future__ import annotations

import dataclasses
import math
import pickle

import clr_strategies as cs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import clr_core as C

REL = 1e-12


def close(a: float, b: float, rel: float = 1e-9, abs_: float = 1e-15) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


# --------------------------------------------------------------------------- #
# Bounds, finiteness, types
# --------------------------------------------------------------------------- #


@given(cs.any_schedule | cs.any_with_momentum, cs.steps)
def test_values_are_finite_floats_within_bounds(s: C.Schedule, t: int) -> None:
    v = s(t)
    assert type(v) is float
    assert math.isfinite(v)
    lo, hi = s.bounds()
    assert lo - 1e-12 * max(1.0, abs(lo)) <= v <= hi + 1e-12 * max(1.0, abs(hi))


@given(cs.any_schedule, cs.small_steps)
def test_past_the_end_holds_the_final_value(s: C.Schedule, extra: int) -> None:
    n = s.duration
    if n is None:  # never settles: cyclic policies and restarts
        return
    assert s(n + extra) == s(n)


# --------------------------------------------------------------------------- #
# The cyclic family
# --------------------------------------------------------------------------- #


@given(cs.triangular() | cs.triangular2() | cs.exp_range() | cs.cyclic(), st.integers(0, 50))
def test_cycle_start_is_base_and_peak_is_scaled_max(s, k: int) -> None:
    c = s.to_cyclic() if hasattr(s, "to_cyclic") else s
    length = c.step_size_up + c.step_size_down
    start, peak = k * length, k * length + c.step_size_up
    cycle = k + 1
    x_start = cycle if c.scale_mode == "cycle" else start
    x_peak = cycle if c.scale_mode == "cycle" else peak
    s_peak = c.scale.factor(float(x_peak), C.SCALAR)
    if c.scale_target == "both":
        assert close(s(start), c.base_lr * c.scale.factor(float(x_start), C.SCALAR))
        assert close(s(peak), c.max_lr * s_peak)
    else:
        assert close(s(start), c.base_lr)
        assert close(s(peak), c.base_lr + (c.max_lr - c.base_lr) * s_peak)


@given(cs.triangular(), st.integers(0, 10_000), st.integers(1, 20))
def test_triangular_is_periodic(s: C.Triangular, t: int, k: int) -> None:
    assert close(s(t), s(t + k * s.cycle_length), rel=1e-9)


@given(cs.cyclic(), st.integers(0, 10_000))
@example(C.Cyclic(0.0, 1.0, 3, 7, shape="hann"), 0)
def test_cyclic_with_constant_scale_is_periodic(s: C.Cyclic, t: int) -> None:
    if not isinstance(s.scale, C.ConstantScale):
        return
    assert close(s(t), s(t + s.cycle_length), rel=1e-9, abs_=1e-12)


@given(cs.triangular2(), st.integers(1, 30), st.integers(0, 10_000))
def test_triangular2_halves_the_amplitude_every_cycle(s: C.Triangular2, k: int, t: int) -> None:
    t = t % s.cycle_length
    a = s(t) - s.base_lr
    b = s(t + k * s.cycle_length) - s.base_lr
    assert close(b, a * 0.5**k, rel=1e-9, abs_=1e-12 * s.max_lr)


@given(cs.exp_range(), st.integers(0, 20_000))
def test_exp_range_envelope_shrinks_by_gamma_power_step(s: C.ExpRange, t: int) -> None:
    envelope = s.gamma**t
    if s.decay == "amplitude":
        assert s(t) <= s.base_lr + (s.max_lr - s.base_lr) * envelope * (1 + 1e-12) + 1e-15
        assert s(t) >= s.base_lr * (1 - 1e-12)
    else:
        assert s(t) <= s.max_lr * envelope * (1 + 1e-12) + 1e-15
        assert s(t) >= s.base_lr * envelope * (1 - 1e-12) - 1e-15


@given(cs.cyclic() | cs.triangular() | cs.triangular2() | cs.exp_range(), st.integers(0, 20_000))
def test_step_to_step_change_is_bounded_by_amplitude_over_step_size(s, t: int) -> None:
    c = s.to_cyclic() if hasattr(s, "to_cyclic") else s
    amplitude = c.max_lr - c.base_lr
    slope = c.shape.max_slope * amplitude / min(c.step_size_up, c.step_size_down)
    if c.scale_target == "both":
        slope += c.max_lr * (1.0 - c.scale.factor(1.0, C.SCALAR)) + c.max_lr
    assert abs(s(t + 1) - s(t)) <= slope * (1 + 1e-9) + 1e-15


@given(
    cs.triangular() | cs.triangular2() | cs.exp_range() | cs.cyclic() | cs.one_cycle(),
    cs.small_steps,
)
def test_momentum_moves_opposite_to_the_rate(s, t: int) -> None:
    m = s.momentum()
    d_lr, d_m = s(t + 1) - s(t), m(t + 1) - m(t)
    tol = 1e-12
    if d_lr > tol * max(1.0, s.bounds()[1]):
        assert d_m <= tol
    if d_lr < -tol * max(1.0, s.bounds()[1]):
        assert d_m >= -tol


@given(cs.triangular() | cs.cyclic())
def test_momentum_is_max_at_cycle_start_and_base_at_peak(s) -> None:
    m = s.momentum(0.8, 0.9)
    if getattr(s, "scale_target", "amplitude") == "both":
        assert isinstance(m, C.Inverse)  # the mirror image of a decaying rate
        return
    assert close(m(0), 0.9)
    if isinstance(s, C.Triangular) or isinstance(s.scale, C.ConstantScale):
        assert close(m(s.step_size_up), 0.8)


def test_named_policies_equal_their_general_form() -> None:
    for s in (
        C.Triangular(0.1, 1.0, 3, 5),
        C.Triangular2(0.1, 1.0, 3, 5),
        C.ExpRange(0.1, 1.0, 3, 5, gamma=0.99),
        C.ExpRange(0.1, 1.0, 3, 5, gamma=0.99, decay="both"),
    ):
        c = s.to_cyclic()
        assert [s(t) for t in range(100)] == [c(t) for t in range(100)]
        assert s.momentum() == c.momentum()


def test_shapes_keep_start_and_peak_and_differ_in_between() -> None:
    vals = {name: C.Cyclic(0.0, 1.0, 4, shape=name) for name in ("triangle", "welch", "hann")}
    for s in vals.values():
        assert s(0) == 0.0
        assert s(4) == 1.0
        assert s(8) == 0.0
    assert vals["triangle"](1) == 0.25
    assert vals["welch"](1) == pytest.approx(0.4375)
    assert vals["hann"](1) == pytest.approx((1 - math.cos(math.pi / 4)) / 2)


def test_exp_range_both_is_the_papers_reading() -> None:
    s = C.ExpRange(0.1, 1.0, 2, gamma=0.9, decay="both")
    for t in range(20):
        amp = C.Triangular(0.1, 1.0, 2)(t)
        assert s(t) == pytest.approx(amp * 0.9**t, rel=1e-12)


# --------------------------------------------------------------------------- #
# 1cycle, restarts, composition
# --------------------------------------------------------------------------- #


@given(cs.one_cycle())
def test_one_cycle_starts_peaks_and_ends_where_documented(s: C.OneCycle) -> None:
    n, p = s.total_steps, s.pct_start
    assert close(s(0), s.initial_lr)
    assert close(s(n - 1), s.min_lr)
    peak_step = float(p * n) - 1
    if peak_step.is_integer():
        assert close(s(int(peak_step)), s.max_lr)
    assert max(s(t) for t in range(0, n, max(1, n // 500))) <= s.max_lr * (1 + 1e-12)
    m = s.momentum(0.85, 0.95)
    assert close(m(0), 0.95)
    assert close(m(n - 1), 0.95)


def test_one_cycle_three_phase_returns_to_initial_before_annihilation() -> None:
    s = C.OneCycle(1.0, 100, pct_start=0.25, anneal_strategy="linear", three_phase=True)
    assert s(24) == pytest.approx(1.0)
    assert s(48) == pytest.approx(s.initial_lr)
    assert s(99) == pytest.approx(s.min_lr)
    assert s(10**9) == s(99)


@given(cs.restarts(), st.integers(0, 20))
def test_restarts_peak_at_each_restart(s: C.CosineRestarts, i: int) -> None:
    t0, m = s.T_0, s.T_mult
    start = t0 * i if m == 1 else t0 * (m**i - 1) // (m - 1)
    peak = s.eta_min + (s.max_lr - s.eta_min) * s.decay**i
    assert close(s(start), peak, rel=1e-9, abs_=1e-15)
    if i > 0:  # the step before a restart is the last step of the previous cycle
        prev_len = t0 * m ** (i - 1)
        prev_peak = s.eta_min + (s.max_lr - s.eta_min) * s.decay ** (i - 1)
        cos = math.cos(math.pi * (prev_len - 1) / prev_len)
        expected = s.eta_min + (prev_peak - s.eta_min) * (1 + cos) / 2
        assert close(s(start - 1), expected, rel=1e-9, abs_=1e-15)


@given(cs.joined(), cs.small_steps)
def test_join_hands_each_piece_its_local_step(s: C.Join, t: int) -> None:
    edges = (0, *s.boundaries)
    i = max(k for k, b in enumerate(edges) if b <= t)
    assert s(t) == s.schedules[i](t - edges[i])


def test_warmup_then_schedule() -> None:
    s = C.warmup(C.OneCycle(1.0, 100), steps=10)
    assert s(0) == 0.0
    assert s(10) == C.OneCycle(1.0, 100)(0)
    assert s(60) == C.OneCycle(1.0, 100)(50)


def test_inverse_momentum_of_a_restart_schedule() -> None:
    s = C.CosineRestarts(1.0, T_0=10)
    m = s.momentum(0.85, 0.95)
    assert m(0) == pytest.approx(0.85)
    assert m(5) == pytest.approx(0.90)


# --------------------------------------------------------------------------- #
# Values: equality, hashing, config and pickle round trips
# --------------------------------------------------------------------------- #


@given(cs.any_schedule | cs.any_with_momentum)
def test_config_and_pickle_round_trip(s: C.Schedule) -> None:
    import json

    cfg = s.to_config()
    assert json.loads(json.dumps(cfg)) == cfg
    back = C.from_config(json.loads(json.dumps(cfg)))
    assert back == s
    assert hash(back) == hash(s)
    assert back.to_config() == cfg
    p = pickle.loads(pickle.dumps(s))
    assert p == s
    assert [p(t) for t in (0, 1, 17, 1000)] == [s(t) for t in (0, 1, 17, 1000)]


def test_int_and_float_arguments_give_equal_values() -> None:
    assert C.Triangular(1, 2, 10) == C.Triangular(1.0, 2.0, 10, 10)
    assert C.Triangular(1, 2, 10.0) == C.Triangular(1, 2, 10)


def test_schedules_are_immutable() -> None:
    s = C.Triangular(0.1, 1.0, 10)
    with pytest.raises(AttributeError):
        s.base_lr = 0.5  # type: ignore[misc]


def test_named_cyclic_pickle_rebuilds_its_cache() -> None:
    s = C.ExpRange(0.1, 1.0, 3, gamma=0.9)
    p = pickle.loads(pickle.dumps(s))
    assert "_cyclic" not in s.__getstate__()
    assert p(5) == s(5)
    assert repr(p) == repr(s)
    assert "_cyclic" not in repr(s)


@given(
    cs.cyclic() | cs.triangular() | cs.triangular2() | cs.exp_range() | cs.one_cycle(),
    st.integers(0, 50_000) | st.integers(0, 2**70),
    st.booleans(),
)
def test_fused_rate_and_momentum_are_bit_identical_to_separate_evaluation(
    s, t: int, as_float: bool
) -> None:
    m = s.momentum()
    f = C.fuse(s, m)
    both_decay = getattr(getattr(s, "_cyclic", s), "scale_target", "amplitude") == "both"
    if both_decay:  # the momentum is the rate's Inverse then: nothing to share
        assert f is None
        return
    assert f is not None
    step = float(t) if as_float else t
    assert f(step) == (s.evaluate(step), m.evaluate(step))
    assert f(t) == (s(t), m(t))


def test_fuse_refuses_schedules_that_do_not_share_a_cycle() -> None:
    a = C.Triangular(0.01, 0.1, 100)
    assert C.fuse(a, C.Triangular(0.01, 0.1, 101).momentum()) is None
    assert C.fuse(a, C.Constant(0.9)) is None
    assert C.fuse(C.OneCycle(0.1, total_steps=100), a.momentum()) is None
    one = C.OneCycle(0.1, total_steps=100)
    assert C.fuse(one, C.OneCycle(0.1, total_steps=101).momentum()) is None
    assert C.fuse(one, one.momentum()) is not None
    with pytest.raises(TypeError, match="momentum"):
        C.fuse(a, 0.9)  # type: ignore[arg-type]


def test_fuse_shares_the_cycle_computation() -> None:
    """The pair costs one ramp: the shape's profile runs once for both values."""
    calls = []

    @dataclasses.dataclass(frozen=True)
    class Counting(C.Triangle):
        def profile(self, f, xp):
            calls.append(f)
            return f

    s = C.Cyclic(0.1, 1.0, 4, shape=Counting())
    f = C.fuse(s, s.momentum())
    assert f is not None
    f(3)
    assert len(calls) == 1
