"""AutoOneCycle: a 1cycle that reads its own peak during its warm-up (pure core object)."""

from __future__ import annotations

import itertools
import json
import math
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clr_core.rangetest import AutoOneCycle

EDGE = 0.05  # the synthetic task blows up above this rate


def loss_at(t: int, lr: float) -> float:
    """Falls while the rate is useful, explodes above EDGE."""
    if lr > EDGE:
        return 1.0 + 400.0 * (lr - EDGE)
    return 2.0 - min(1.5, 30.0 * lr) - 0.0001 * t


def run(auto: AutoOneCycle, steps: int | None = None) -> list[float]:
    lrs = []
    for t in range(auto.total_steps if steps is None else steps):
        lr = auto.lr(t)
        lrs.append(lr)
        auto.update(t, loss_at(t, lr))
    return lrs


def test_ramps_until_the_edge_then_anneals_from_below_it():
    auto = AutoOneCycle(2000, start_lr=1e-5, end_lr=1.0, ramp_fraction=0.5, peak_factor=0.5)
    lrs = run(auto)
    assert auto.decided
    k = auto.decided_at
    assert k < 1000  # decided within the ramp
    assert all(b > a for a, b in itertools.pairwise(lrs[:k]))  # the ramp rises
    assert auto.peak < EDGE
    assert lrs[k] == pytest.approx(auto.peak)
    assert all(b <= a + 1e-15 for a, b in zip(lrs[k:], lrs[k + 1 :], strict=False))  # anneals
    assert lrs[-1] == pytest.approx(auto.peak / 1e4, rel=1e-3)
    assert auto.lr(10**6) == pytest.approx(auto.peak / 1e4)  # holds its final value past the end


def test_momentum_is_held_on_the_ramp_and_cycles_back_after():
    auto = AutoOneCycle(1000, start_lr=1e-5, end_lr=1.0, ramp_fraction=0.5)
    run(auto)
    k = auto.decided_at
    assert auto.momentum_at(0) == auto.momentum_at(k - 1) == 0.95
    assert auto.momentum_at(k) == pytest.approx(0.85)
    assert auto.momentum_at(999) == pytest.approx(0.95, abs=1e-6)
    assert AutoOneCycle(1000, momentum=None).momentum_at(3) is None


def test_ramp_that_never_sees_the_edge_decides_at_its_end():
    auto = AutoOneCycle(1000, start_lr=1e-6, end_lr=1e-3, ramp_fraction=0.3)
    run(auto)
    assert auto.decided_at == 300
    assert auto.peak <= 1e-3
    assert not auto.reading.diverged


def test_a_nan_loss_decides_at_once():
    auto = AutoOneCycle(500, start_lr=1e-4, end_lr=1.0)
    for t in range(20):
        auto.update(t, 1.0)
    assert auto.update(20, math.nan)
    assert auto.decided_at == 21
    assert auto.peak <= auto.ramp(20)


@pytest.mark.parametrize("split", [0, 1, 137, 299, 300, 301, 999])
def test_state_round_trip_resumes_exactly(split):
    ref = AutoOneCycle(1000, start_lr=1e-5, end_lr=1.0)
    expected = run(ref)
    auto = AutoOneCycle(1000, start_lr=1e-5, end_lr=1.0)
    got = run(auto, split)
    state = json.loads(json.dumps(auto.state_dict(), allow_nan=False))  # strict JSON
    resumed = AutoOneCycle.from_state_dict(state)
    for t in range(split, 1000):
        lr = resumed.lr(t)
        got.append(lr)
        resumed.update(t, loss_at(t, lr))
    assert got == expected
    assert pickle.loads(pickle.dumps(resumed)).lr(999) == expected[-1]


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda s: s.update(format="x"), "state"),
        (lambda s: s["config"].update(peak_factor=2.0), "peak_factor"),
        (lambda s: s["config"].pop("rise"), "config"),
        (lambda s: s.update(peak=-1.0), "peak"),
        (lambda s: s.update(peak=None), "peak"),
        (lambda s: s.update(decided_at=5), "decided_at"),
        (lambda s: s.update(decided_at="7"), "decided_at"),
        (lambda s: s["monitor"].update(beta=0.5), "monitor"),
        (lambda s: s.update(peak=1e9), "peak"),
    ],
)
def test_tampered_state_is_refused_and_changes_nothing(mutate, match):
    auto = AutoOneCycle(1000, start_lr=1e-5, end_lr=1.0)
    run(auto)
    state = auto.state_dict()
    before = json.dumps(state)
    bad = json.loads(before)
    mutate(bad)
    with pytest.raises((ValueError, TypeError), match=match):
        auto.load_state_dict(bad)
    assert json.dumps(auto.state_dict()) == before


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"total_steps": 10}, "total_steps"),
        ({"start_lr": 0.0}, "start_lr"),
        ({"end_lr": 1e-6}, "end_lr"),
        ({"ramp_fraction": 1.0}, "ramp_fraction"),
        ({"peak_factor": 0.0}, "peak_factor"),
        ({"final_div_factor": 0.5}, "final_div_factor"),
        ({"momentum": (0.95, 0.85)}, "max_momentum"),
        ({"momentum": "high"}, "momentum"),
        ({"rise": -1.0}, "rise"),
        # so narrow a ramp that the default EMA factor rounds to 1: the caller gave no beta
        ({"start_lr": 1.0, "end_lr": 1.0000000000000002}, "end_lr"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, name):
    args = {"total_steps": 1000, **kwargs}
    with pytest.raises((ValueError, TypeError), match=f"`{name}`"):
        AutoOneCycle(**args)


def test_steps_must_come_in_order_on_the_ramp():
    auto = AutoOneCycle(1000)
    auto.update(0, 1.0)
    with pytest.raises(ValueError, match="step"):
        auto.update(5, 1.0)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.1, 10.0), min_size=30, max_size=200))
def test_any_loss_sequence_keeps_the_rate_within_the_ramp(losses):
    auto = AutoOneCycle(400, start_lr=1e-4, end_lr=1.0, ramp_fraction=0.5)
    for t, v in enumerate(losses):
        assert 0 < auto.lr(t) <= 1.0
        auto.update(t, v)
    for t in range(len(losses), 400):
        assert 0 < auto.lr(t) <= 1.0
        auto.update(t, 1.0)
    assert auto.decided
