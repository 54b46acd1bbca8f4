"""``CosineRestarts.cycle``: the position inside the restart cycles, against a reference."""

from __future__ import annotations

import math

import clr_strategies as cs
from hypothesis import example, given
from hypothesis import strategies as st

import clr_core as C


def reference(s: C.CosineRestarts, step: float) -> tuple[int, float, int]:
    """(i, T_cur, T_i) by walking the cycles one by one in integer arithmetic."""
    i, start, length = 0, 0, s.T_0
    while start + length <= step:
        i, start, length = i + 1, start + length, length * s.T_mult
    return i, step - start, length


def sgdr(s: C.CosineRestarts, i: int, t_cur: float, t_i: int) -> float:
    peak = s.eta_min + (s.max_lr - s.eta_min) * s.decay**i
    return s.eta_min + (peak - s.eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2


@given(cs.restarts(), st.integers(0, 10**5))
@example(C.CosineRestarts(1.0, T_0=3, T_mult=2), 2)  # the last step of the first cycle
@example(C.CosineRestarts(1.0, T_0=3, T_mult=2), 3)  # the first step of the second
@example(C.CosineRestarts(1.0, T_0=1, T_mult=4), 21)  # starts 0, 1, 5, 21: a restart
def test_cycle_matches_the_walked_cycles(s: C.CosineRestarts, step: int) -> None:
    i, t_cur, t_i = reference(s, step)
    got = s.cycle(step)
    assert got == (float(i), float(t_cur), float(t_i))
    assert all(type(x) is float for x in got)


@given(cs.restarts(), st.integers(0, 10**5), st.sampled_from([0.25, 0.5, 0.75]))
def test_a_fractional_step_lies_inside_its_cycle(
    s: C.CosineRestarts, step: int, frac: float
) -> None:
    i, t_cur, t_i = reference(s, step)
    got_i, got_cur, got_len = s.cycle(step + frac)
    assert (got_i, got_len) == (float(i), float(t_i))
    assert math.isclose(got_cur, t_cur + frac, rel_tol=1e-12)


@given(cs.restarts(), st.integers(0, 10**5))
def test_evaluate_is_the_sgdr_formula_at_the_cycle_position(s: C.CosineRestarts, step: int) -> None:
    expected = sgdr(s, *reference(s, step))
    assert math.isclose(s(step), expected, rel_tol=1e-9, abs_tol=1e-15)


def test_cycle_of_a_huge_integer_step_is_exact_with_equal_cycles() -> None:
    s = C.CosineRestarts(1.0, T_0=10)
    assert s.cycle(10**30 + 7) == (1e29, 7.0, 10.0)
    assert s.cycle(2**60 + 3) == (float((2**60 + 3) // 10), float((2**60 + 3) % 10), 10.0)
