"""tensorflow-addons' own cyclical learning-rate tests, run against clr_keras's named classes.

The cases, their arguments, expected values and tolerances are those of
``tensorflow_addons/optimizers/tests/cyclical_learning_rate_test.py``
(tensorflow/addons, the last version of the file), rewritten for this suite:

* each schedule is used as built and after a config round trip, both as TFA's
  file does it (``from_config(get_config())``) and through
  ``keras.optimizers.schedules.serialize`` / ``deserialize`` (the older form);
* each is evaluated at Python int steps (TFA's calls) and at once on an integer
  step tensor, the form a compiled train step evaluates (``keras.ops`` in
  float32);
* TFA's two callable ``scale_fn`` tests use a registered ``clr_core.Scale``
  holding the same function, with ``clr_keras.CoreSchedule``: a callable cannot
  be saved, a registered Scale can.

TFA's tolerance is ``assert_allclose(actual, expected, rtol=1e-6)`` (plus
``atol=1e-6`` in the scale_fn tests); it holds here in float32.
"""

from __future__ import annotations

import dataclasses
import math

import keras
import numpy as np
import pytest
from keras import ops

import clr_core
import clr_keras


@clr_core.register
@dataclasses.dataclass(frozen=True)
class InverseFifthPower(clr_core.Scale):
    """TFA's test ``scale_fn``: ``s(x) = 1 / 5 ** (x * 0.0001)``."""

    def factor(self, x, xp):
        return xp.exp(x * (-0.0001 * math.log(5.0)))


def _roundtrip(schedule, how):
    if how == "as_built":
        return schedule
    if how == "from_config":  # TFA's current test file
        return type(schedule).from_config(schedule.get_config())
    blob = keras.optimizers.schedules.serialize(schedule)  # TFA's older test file
    return keras.optimizers.schedules.deserialize(blob)


HOW = ["as_built", "from_config", "serialize"]


def _check(schedule, steps, expected, rtol=1e-6, atol=0.0):
    """TFA's assertion, at Python int steps and on an int32 step tensor (float32 ops)."""
    at_ints = np.array([float(ops.convert_to_numpy(schedule(int(t)))) for t in steps])
    np.testing.assert_allclose(at_ints, expected, rtol=rtol, atol=atol)
    tensor = ops.convert_to_tensor(np.asarray(steps, dtype="int32"))
    in_ops = np.asarray(ops.convert_to_numpy(schedule(tensor)), dtype="float64")
    np.testing.assert_allclose(in_ops, expected, rtol=rtol, atol=atol)
    return np.max(np.abs(in_ops - expected) / np.abs(expected))


@pytest.mark.parametrize("how", HOW)
def test_triangular_cyclical_learning_rate(how):
    initial_learning_rate, max_learning_rate, step_size = 0.1, 1, 40
    lr = clr_keras.TriangularCyclicalLearningRate(
        initial_learning_rate=initial_learning_rate,
        maximal_learning_rate=max_learning_rate,
        step_size=step_size,
    )
    lr = _roundtrip(lr, how)
    expected = np.concatenate(
        [
            np.linspace(initial_learning_rate, max_learning_rate, num=step_size + 1),
            np.linspace(max_learning_rate, initial_learning_rate, num=step_size + 1)[1:],
        ]
    )
    _check(lr, range(len(expected)), expected)


@pytest.mark.parametrize("how", HOW)
def test_triangular2_cyclical_learning_rate(how):
    initial_lr, maximal_lr, step_size = 0.1, 1, 30
    lr = clr_keras.Triangular2CyclicalLearningRate(
        initial_learning_rate=initial_lr, maximal_learning_rate=maximal_lr, step_size=step_size
    )
    lr = _roundtrip(lr, how)
    middle_lr = (maximal_lr + initial_lr) / 2
    expected = np.concatenate(
        [
            np.linspace(initial_lr, maximal_lr, num=step_size + 1),
            np.linspace(maximal_lr, initial_lr, num=step_size + 1)[1:],
            np.linspace(initial_lr, middle_lr, num=step_size + 1)[1:],
            np.linspace(middle_lr, initial_lr, num=step_size + 1)[1:],
        ]
    )
    _check(lr, range(len(expected)), expected)


@pytest.mark.parametrize("how", HOW)
def test_exponential_cyclical_learning_rate(how, capsys):
    initial_learning_rate, maximal_learning_rate, step_size, gamma = 0.1, 1, 2000, 0.996
    lr = clr_keras.ExponentialCyclicalLearningRate(
        initial_learning_rate=initial_learning_rate,
        maximal_learning_rate=maximal_learning_rate,
        step_size=step_size,
        gamma=gamma,
    )
    lr = _roundtrip(lr, how)
    steps = np.arange(0, 8001)
    non_bounded_value = np.abs(steps / 2000.0 - 2 * np.floor(1 + steps / (2 * 2000)) + 1)
    expected = initial_learning_rate + (maximal_learning_rate - initial_learning_rate) * (
        np.maximum(0, (1 - non_bounded_value)) * (gamma**steps)
    )
    worst = _check(lr, steps, expected)
    with capsys.disabled():
        print(f"\n[{keras.backend.backend()}] exp_range float32 max relative error: {worst:.2e}")


def _scale_fn(x):
    return 1 / (5 ** (x * 0.0001))


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("scale_mode", ["cycle", "iterations"])
def test_custom_cyclical_learning_rate_with_a_registered_scale(how, scale_mode):
    initial_learning_rate, maximal_learning_rate, step_size = 0.1, 1, 4000
    # TFA: CyclicalLearningRate(..., scale_fn=scale_fn, scale_mode=scale_mode)
    lr = clr_keras.CoreSchedule(
        clr_core.Cyclic(
            initial_learning_rate,
            maximal_learning_rate,
            step_size_up=step_size,
            scale=InverseFifthPower(),
            scale_mode=scale_mode,
        )
    )
    lr = _roundtrip(lr, how)
    assert lr.schedule.scale == InverseFifthPower()
    steps = np.arange(1, 8001)
    cycle = np.floor(1 + steps / (2 * step_size))
    non_bounded_value = np.abs(steps / step_size - 2 * cycle + 1)
    scale = _scale_fn(cycle if scale_mode == "cycle" else steps)
    expected = initial_learning_rate + (maximal_learning_rate - initial_learning_rate) * (
        np.maximum(0, 1 - non_bounded_value) * scale
    )
    _check(lr, steps, expected, rtol=1e-6, atol=1e-6)


def test_the_scale_fn_is_the_same_function():
    x = np.array([0.0, 1.0, 2.0, 17.0, 4000.0, 8000.0])
    np.testing.assert_allclose(InverseFifthPower().factor(x, np), _scale_fn(x), rtol=1e-14)
