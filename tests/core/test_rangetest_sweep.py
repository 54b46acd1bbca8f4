"""Range-test sweeps are ordinary clr_core schedules."""

from __future__ import annotations

import itertools
import math
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

import clr_core
from clr_core.rangetest import ExponentialSweep, LinearSweep

starts = st.floats(min_value=1e-8, max_value=1.0)
ratios = st.floats(min_value=1.01, max_value=1e8)
counts = st.integers(min_value=2, max_value=2000)


@given(starts, ratios, counts)
def test_exponential_endpoints_monotone_and_held(start, ratio, n):
    s = ExponentialSweep(start, start * ratio, n)
    assert s(0) == start
    assert s(n - 1) == start * ratio
    assert s(n + 5) == s.end_lr
    values = [s(i) for i in sorted(set(range(0, n, max(1, n // 50))) | {n - 1})]
    assert all(b > a for a, b in itertools.pairwise(values))
    assert s.bounds() == (start, start * ratio)
    assert s.duration == n - 1


@given(starts, ratios, counts)
def test_exponential_points_are_log_uniform(start, ratio, n):
    s = ExponentialSweep(start, start * ratio, n)
    i = n // 2
    expected = math.log(start) + math.log(ratio) * i / (n - 1)
    assert math.log(s(i)) == pytest.approx(expected, rel=1e-9, abs=1e-9)


@given(st.floats(min_value=0.0, max_value=1.0), ratios, counts)
def test_linear_endpoints(start, ratio, n):
    end = start * ratio + 1e-3
    s = LinearSweep(start, end, n)
    assert s(0) == start
    assert s(n - 1) == end
    assert s(n + 1) == end
    if n > 2:
        assert s(1) - s(0) == pytest.approx((end - start) / (n - 1), rel=1e-9)


@pytest.mark.parametrize("sweep", [ExponentialSweep(1e-5, 10.0, 123), LinearSweep(0.0, 0.02, 7)])
def test_config_and_pickle_round_trip(sweep):
    assert clr_core.from_config(sweep.to_config()) == sweep
    assert pickle.loads(pickle.dumps(sweep)) == sweep
    assert type(sweep).__name__ in clr_core.registered_types()


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        ((0.0, 1.0, 10), ValueError, "start_lr"),
        ((1.0, 1.0, 10), ValueError, "end_lr"),
        ((1e-3, 1.0, 1), ValueError, "num_steps"),
        (("a", 1.0, 10), TypeError, "start_lr"),
        ((1e-3, math.inf, 10), ValueError, "end_lr"),
    ],
)
def test_exponential_validation(args, exc, match):
    with pytest.raises(exc, match=f"Argument `{match}`"):
        ExponentialSweep(*args)


def test_linear_allows_zero_start_but_not_negative():
    assert LinearSweep(0.0, 1.0, 3)(1) == 0.5
    with pytest.raises(ValueError, match="start_lr"):
        LinearSweep(-0.1, 1.0, 3)
