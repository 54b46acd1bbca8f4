"""`schedule(tensor)` on TensorFlow (eager and in tf.function) and on Keras variables.

Run in the tox env ``keras-tensorflow``; tensorflow is imported unconditionally.
"""

from __future__ import annotations

import clr_strategies as cs
import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

import clr_core as C

F32 = float(np.finfo(np.float32).eps)


@pytest.mark.parametrize("dtype", [tf.int64, tf.int32, tf.float32])
def test_a_tf_tensor_of_steps_gives_a_float32_tensor(dtype) -> None:
    s = C.Triangular2(1e-3, 6e-3, 200)
    steps = tf.range(0, 3000, 7, dtype=dtype)
    out = s(steps)
    assert tf.is_tensor(out)
    assert out.dtype == tf.float32
    assert out.shape == steps.shape
    ref = np.array([s(int(t)) for t in steps.numpy()])
    assert np.allclose(out.numpy(), ref, rtol=0, atol=3 * F32 * 6e-3)


def test_tf_function_traces_once_and_keras_variables_work() -> None:
    s = C.warmup(C.OneCycle(0.1, 500), 20)
    traces = []

    @tf.function
    def f(step):
        traces.append(1)
        return s(step)

    values = [float(f(tf.constant(t, tf.int64))) for t in range(0, 600, 50)]
    assert len(traces) == 1
    assert np.allclose(values, [s(t) for t in range(0, 600, 50)], rtol=0, atol=4 * F32 * 0.1)
    iterations = keras.Variable(250, dtype="int64")  # what an optimizer counts with
    assert float(s(iterations)) == pytest.approx(s(250), rel=4 * F32)
    assert float(s(tf.Variable(250, dtype=tf.int64))) == pytest.approx(s(250), rel=4 * F32)


@settings(max_examples=30)
@given(cs.any_schedule | cs.any_with_momentum, st.integers(0, 2**40))
def test_tf_evaluation_equals_the_scalar_path_to_float32(s, offset: int) -> None:
    steps = tf.range(offset, offset + 64, dtype=tf.int64)
    got = s(steps).numpy().astype(np.float64)
    ref = np.array([s(int(t)) for t in steps.numpy()])
    lo, hi = s.bounds()
    assert np.all(np.abs(got - ref) <= 16 * F32 * max(abs(lo), abs(hi)))
