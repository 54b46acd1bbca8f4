"""`schedule(array)` on NumPy: the formula in NumPy's namespace, checked steps, exact positions."""

from __future__ import annotations

import clr_strategies as cs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import clr_core as C
from clr_core._xp import namespace_of


@given(
    cs.any_schedule | cs.any_with_momentum,
    st.integers(0, 10**12),
    st.sampled_from([np.int64, np.uint64, np.int32, np.float64]),
)
def test_calling_with_a_numpy_array_equals_the_scalar_path(s, offset, dtype) -> None:
    if dtype is np.int32:
        offset %= 2**31 - 100
    if dtype is np.float64:
        offset %= 2**53 - 100  # whole floats
    steps = np.arange(offset, offset + 64).astype(dtype)
    out = s(steps)
    assert isinstance(out, np.ndarray)
    assert out.shape == steps.shape
    assert out.dtype == np.float64
    ref = np.array([s(int(t)) for t in steps])
    # the same operations; NumPy's pow/cos may differ from libm's in the last bit
    assert np.all(np.abs(out - ref) <= 1e-12 * np.abs(ref))


def test_a_0d_array_gives_a_numpy_value_and_a_numpy_integer_a_float() -> None:
    s = C.Triangular(0.001, 0.006, 2000)
    out = s(np.array(1000))
    assert np.ndim(out) == 0
    assert isinstance(out, (np.ndarray, np.floating))
    assert float(out) == s(1000)
    assert type(s(np.int64(1000))) is float  # a NumPy scalar is a number: the exact path


def test_integer_arrays_keep_positions_exact_far_past_2_53() -> None:
    s = C.Triangular(0.001, 0.006, 2000)  # + - * / only: bit for bit
    steps = np.array([2**62 + 1000, 2**62 + 3000, 2**63 - 1], dtype=np.int64)
    assert s(steps).tolist() == [s(int(t)) for t in steps]
    assert s(steps)[0] != s(float(steps[0]))  # float(2**62 + 1000) would lose the position


@pytest.mark.parametrize(
    ("steps", "exc", "what"),
    [
        (np.array([0, -1]), ValueError, ">= 0"),
        (np.array([0.0, 2.5]), ValueError, "whole numbers"),
        (np.array([np.nan]), ValueError, "whole numbers"),
        (np.array([True, False]), TypeError, "integer"),
        (np.array([1 + 2j]), TypeError, "integer"),
        (np.array(["3"]), TypeError, "integer"),
        (np.array([3], dtype=object), TypeError, "integer"),
    ],
)
def test_bad_numpy_steps_are_refused_naming_step(steps, exc, what) -> None:
    with pytest.raises(exc, match=f"`step`.*{what}"):
        C.Triangular(0.1, 1.0, 10)(steps)


def test_an_object_that_is_neither_a_number_nor_an_array_is_refused() -> None:
    with pytest.raises(TypeError, match="`step` must be a non-negative int or an array"):
        C.Constant(0.1)([1, 2])  # a list: give np.asarray(...) for many steps


def test_namespace_of_finds_numpy_from_the_array_type() -> None:
    assert namespace_of(np.zeros(3)) is np
    assert namespace_of(3) is None
    assert namespace_of([1]) is None


def test_float32_arrays_stay_float32_in_and_give_numpy_values() -> None:
    s = C.OneCycle(0.1, 1000)
    out = s(np.arange(10, dtype=np.float32))
    assert out.dtype == np.float32
    assert np.allclose(out, [s(t) for t in range(10)], rtol=1e-6)
