"""The recommended plan in Keras: CoreSchedule(plan) applies its rate and
CyclicalMomentum(plan) its momentum."""

from __future__ import annotations

import json
import math

import keras
import numpy as np
import pytest

import clr_core
import clr_keras
from clr_core.rangetest import Plan, analyze
from clr_keras._util import to_numpy

STEPS_PER_EPOCH, EPOCHS = 10, 5


def _plan(**kw) -> Plan:
    """The plan of a synthetic sweep (flat, falling from 1e-3, blowing up past 0.1)."""
    lrs = [10 ** (-4 + 5 * i / 99) for i in range(100)]

    def loss(lr):
        x = math.log10(lr)
        return 2.0 if x < -3 else (2.0 - (x + 3) if x < -1 else 40 * (x + 1) ** 2)

    return analyze(lrs, [loss(v) for v in lrs]).recommend(STEPS_PER_EPOCH, EPOCHS, **kw)


def test_core_schedule_takes_the_plans_rate():
    plan = _plan()
    assert plan.policy == "one_cycle"
    assert plan.momentum is not None
    schedule = clr_keras.CoreSchedule(plan)
    assert schedule.schedule == plan.lr
    assert schedule == clr_keras.CoreSchedule(plan.lr)
    for t in (0, 7, 15, 30, 49, 60):
        assert float(to_numpy(schedule(t))) == pytest.approx(plan.lr(t), rel=1e-6)


def test_cyclical_momentum_takes_the_plans_momentum():
    plan = _plan()
    cb = clr_keras.CyclicalMomentum(plan)
    assert cb.schedule == plan.momentum


def test_cyclical_momentum_refuses_a_plan_without_momentum():
    plan = _plan(cycle_momentum=False)
    assert plan.momentum is None
    with pytest.raises(
        ValueError, match=r"Plan whose momentum is None.*leave CyclicalMomentum out"
    ):
        clr_keras.CyclicalMomentum(plan)
    constant = Plan(clr_core.Constant(0.1), None, "constant", ("a fixed rate",))
    with pytest.raises(ValueError, match="momentum is None"):
        clr_keras.CyclicalMomentum(constant)


def test_fit_applies_the_plan_step_for_step():
    plan = _plan()
    opt = keras.optimizers.SGD(learning_rate=clr_keras.CoreSchedule(plan), momentum=0.95)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(opt, loss="mse")
    momentum = clr_keras.CyclicalMomentum(plan)
    rates = []

    class _Rate(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            rates.append(float(to_numpy(self.model.optimizer.learning_rate)))

    x = np.random.default_rng(0).normal(size=(STEPS_PER_EPOCH * 4, 2)).astype("float32")
    model.fit(x, x[:, :1], batch_size=4, epochs=EPOCHS, verbose=0, callbacks=[momentum, _Rate()])
    total = STEPS_PER_EPOCH * EPOCHS
    expected = [plan.lr(t) for t in range(total)]  # in float32: within 5e-7 of the peak
    np.testing.assert_allclose(rates, expected, rtol=1e-6, atol=5e-7 * max(expected))
    assert momentum.history == [plan.momentum(t) for t in range(total)]
    assert opt.momentum == 0.95


def test_keras_file_round_trip_keeps_the_schedule_not_the_plan(tmp_path):
    plan = _plan()
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(clr_keras.CoreSchedule(plan), momentum=0.9), loss="mse")
    model.fit(np.ones((8, 2)), np.ones((8, 1)), batch_size=2, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    schedule = loaded.optimizer._learning_rate
    assert schedule == clr_keras.CoreSchedule(plan.lr)
    assert schedule.schedule == plan.lr
    config = schedule.get_config()
    assert json.loads(json.dumps(config)) == config
    assert config["schedule"] == plan.lr.to_config()  # the rate's schedule; no policy, no reasons
    assert "reasons" not in json.dumps(config)
    assert int(to_numpy(loaded.optimizer.iterations)) == 4
