"""`schedule(tensor)` on PyTorch: the formula on torch tensors, a torch result.

Run in the tox env ``torch``; torch is imported unconditionally.
"""

from __future__ import annotations

import clr_strategies as cs
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import clr_core as C

F32 = float(torch.finfo(torch.float32).eps)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.float32, torch.float64])
def test_a_torch_tensor_of_steps_gives_a_torch_tensor(dtype) -> None:
    s = C.Triangular(1e-3, 6e-3, 2000)
    steps = torch.arange(0, 8000, 7, dtype=dtype)
    out = s(steps)
    assert isinstance(out, torch.Tensor)
    assert out.shape == steps.shape
    expected = torch.float64 if dtype == torch.float64 else torch.get_default_dtype()
    assert out.dtype == expected
    ref = np.array([s(int(t)) for t in steps])
    assert np.allclose(out.double().numpy(), ref, rtol=0, atol=3 * F32 * 6e-3)
    zero_d = s(torch.tensor(1000))
    assert zero_d.shape == ()
    assert float(zero_d) == pytest.approx(s(1000), rel=2 * F32)


def test_int64_tensors_keep_the_position_exact_past_2_24() -> None:
    s = C.Triangular(1e-3, 6e-3, 1)  # the cycle flips every step
    steps = torch.arange(2**24, 2**24 + 10)  # float32(2**24 + 1) == 2**24: a float step loses it
    got = s(steps).double().numpy()
    assert np.allclose(got, [s(int(t)) for t in steps], rtol=2 * F32, atol=0)


@given(cs.any_schedule | cs.any_with_momentum, st.integers(0, 2**40))
def test_torch_evaluation_equals_the_scalar_path_to_float32(s, offset: int) -> None:
    steps = torch.arange(offset, offset + 64)
    got = s(steps).double().numpy()
    ref = np.array([s(int(t)) for t in steps])
    lo, hi = s.bounds()
    assert np.all(np.abs(got - ref) <= 16 * F32 * max(abs(lo), abs(hi)))
