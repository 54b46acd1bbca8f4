"""The online stop rule: smoothing, divergence, non-finite losses, exact resume."""

from __future__ import annotations

import json
import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clr_core.rangetest import ExponentialSweep, LinearSweep, RangeTestResult, SweepMonitor


def loss_curve(lr: float, rng: random.Random, noise: float = 0.05) -> float:
    x = math.log10(lr)
    base = 2.3 if x < -3 else (2.3 - 0.7 * (x + 3) if x < -1 else 0.9 + 3 * (10 ** (x + 1) - 1))
    return base * math.exp(noise * rng.gauss(0.0, 1.0))


def run(monitor: SweepMonitor, feed, start: int = 0) -> SweepMonitor:
    for i in range(start, monitor.num_steps):
        if monitor.done:
            break
        if monitor.update(monitor.lr(i), feed(i)):
            break
    return monitor


def feeder(seed: int, shift: float = 0.0, scale: float = 1.0):
    rng = random.Random(seed)
    values = [loss_curve(ExponentialSweep(1e-5, 10.0, 200)(i), rng) for i in range(200)]
    return lambda i: scale * values[i] + shift


def test_debiased_ema_counts_from_sweep_start():
    m = SweepMonitor(ExponentialSweep(1e-3, 1.0, 10), beta=0.9)
    m.update(m.lr(0), 4.0)
    assert m.smoothed == [4.0]  # debiased: the first smoothed value is the first loss
    m.update(m.lr(1), 2.0)
    assert m.smoothed[1] == pytest.approx((0.9 * 0.1 * 4.0 + 0.1 * 2.0) / (1 - 0.81))


def test_stops_on_divergence_and_records_reason():
    m = run(SweepMonitor(ExponentialSweep(1e-5, 10.0, 200)), feeder(0))
    assert m.done
    assert m.stop_reason is not None
    assert m.stop_reason.startswith("diverged")
    assert m.step_index < 200
    assert m.lrs[-1] > 0.1  # not before the blow-up (near lr = 0.1)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_loss_stops_at_once_and_is_recorded(bad):
    m = SweepMonitor(LinearSweep(0.0, 1.0, 50))
    for i in range(5):
        assert m.update(m.lr(i), 1.0 - 0.01 * i) is False
    assert m.update(m.lr(5), bad) is True
    assert m.done
    assert "non-finite" in (m.stop_reason or "")
    assert m.step_index == 6
    last = m.losses[-1]
    assert (math.isnan(last) and math.isnan(bad)) or last == bad
    with pytest.raises(RuntimeError, match="over"):
        m.update(m.lr(6), 1.0)
    # the state survives strict JSON with the non-finite value in it
    back = SweepMonitor.from_state_dict(json.loads(json.dumps(m.state_dict(), allow_nan=False)))
    assert back.stop_reason == m.stop_reason
    assert repr(back.losses[-1]) == repr(last)


@pytest.mark.parametrize(("shift", "scale"), [(-10.0, 1.0), (100.0, 1.0), (-3.0, 0.01), (0, 7.0)])
def test_stop_rule_invariant_to_shift_and_scale(shift, scale):
    ref = run(SweepMonitor(ExponentialSweep(1e-5, 10.0, 200)), feeder(1))
    other = run(SweepMonitor(ExponentialSweep(1e-5, 10.0, 200)), feeder(1, shift, scale))
    assert other.step_index == ref.step_index
    assert (other.stop_reason or "")[:12] == (ref.stop_reason or "")[:12]


def test_constant_loss_never_diverges_and_sweep_completes():
    m = run(SweepMonitor(ExponentialSweep(1e-3, 1.0, 30)), lambda i: 0.7)
    assert m.stop_reason == "sweep complete"
    assert m.step_index == 30


@pytest.mark.parametrize("seed", range(20))
def test_flat_noisy_start_whose_first_point_is_lowest_does_not_stop_early(seed):
    # Regression: when the very first loss was the lowest of a flat, noisy start, the
    # noise measured at the best point was zero and the sweep stopped at min_steps.
    rng = random.Random(seed)
    noisy = [2.3 * math.exp(0.02 * rng.gauss(0.0, 1.0)) for _ in range(200)]
    noisy[0] = min(noisy) * 0.995  # the first point is the lowest of the flat stretch
    m = run(SweepMonitor(ExponentialSweep(1e-6, 1e-3, 200)), lambda i: noisy[i])
    assert m.stop_reason == "sweep complete", m.stop_reason
    assert m.step_index == 200


@given(st.integers(min_value=0, max_value=199), st.integers(min_value=0, max_value=50))
def test_resume_gives_identical_results(split, seed):
    feed = feeder(seed)
    whole = run(SweepMonitor(ExponentialSweep(1e-5, 10.0, 200)), feed)
    part = SweepMonitor(ExponentialSweep(1e-5, 10.0, 200))
    for i in range(split):
        if part.done or part.update(part.lr(i), feed(i)):
            break
    state = json.loads(json.dumps(part.state_dict(), allow_nan=False))
    resumed = run(SweepMonitor.from_state_dict(state), feed, start=part.step_index)
    assert resumed.state_dict() == whole.state_dict()
    assert resumed.result() == whole.result()


def test_load_state_dict_in_place_and_metric_bookkeeping():
    m = SweepMonitor(ExponentialSweep(1e-3, 1.0, 20))
    m.update(m.lr(0), 2.0, metric=0.1)
    with pytest.raises(ValueError, match="every point"):
        m.update(m.lr(1), 2.0)
    other = SweepMonitor(ExponentialSweep(1e-3, 1.0, 20))
    other.load_state_dict(m.state_dict())
    assert other.metrics == [0.1]
    assert other.step_index == 1


def test_result_carries_provenance():
    m = run(SweepMonitor(ExponentialSweep(1e-5, 10.0, 200)), feeder(2))
    r = m.result(batch_size=128)
    assert isinstance(r, RangeTestResult)
    assert r.provenance["batch_size"] == 128
    assert r.provenance["sweep"] == ExponentialSweep(1e-5, 10.0, 200).to_config()
    assert r.provenance["stop_reason"] == m.stop_reason
    assert r.diverged


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"beta": 1.0}, "beta"), ({"diverge_threshold": 0}, "diverge_threshold"),
     ({"min_steps": 0}, "min_steps")],
)  # fmt: skip
def test_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SweepMonitor(ExponentialSweep(1e-3, 1.0, 10), **kwargs)
    with pytest.raises(TypeError, match="sweep"):
        SweepMonitor("not a schedule")  # type: ignore[arg-type]
