"""clr_keras.CollapseGuard: the core's collapse guard as a callback of model.fit."""

from __future__ import annotations

import math
import pickle

import keras
import numpy as np
import pytest

import clr_core
import clr_keras
from clr_core.rangetest import CollapseGuard as CoreGuard
from clr_keras._util import to_numpy

REPEATS = 10  # optimizer steps an epoch: the whole data set, ten times over


def problem() -> tuple[np.ndarray, np.ndarray, float]:
    """Least squares on 8 features; full-batch gradient descent is stable below 2 / lam."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 8)).astype("float32")
    y = (x @ rng.standard_normal((8, 1)) + 0.1 * rng.standard_normal((64, 1))).astype("float32")
    lam = float(np.linalg.eigvalsh(2.0 * x.T.astype("float64") @ x / len(x)).max())
    return x, y, lam


X, Y, LAM = problem()


def build(high: float | None, momentum: float = 0.0, rate: float | None = None) -> keras.Model:
    """Three epochs at 0.5 / lam, then ``high / lam`` (a schedule); or a float ``rate``."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, use_bias=False)])
    if rate is None:
        assert high is not None
        schedule = clr_core.Join(
            (clr_core.Constant(0.5 / LAM), clr_core.Constant(high / LAM)), (3 * REPEATS,)
        )
        lr: object = clr_keras.CoreSchedule(schedule)
    else:
        lr = rate
    model.compile(keras.optimizers.SGD(learning_rate=lr, momentum=momentum), loss="mse")
    return model


def fit(model, epochs, callbacks=(), initial_epoch=0):
    x, y = np.concatenate([X] * REPEATS), np.concatenate([Y] * REPEATS)
    return model.fit(x, y, batch_size=len(X), epochs=epochs, initial_epoch=initial_epoch,
                     shuffle=False, verbose=0, callbacks=list(callbacks))  # fmt: skip


def weights(model):
    return [to_numpy(v) for v in model.weights]


MOMENTUM = clr_core.Constant(0.5)  # a CyclicalMomentum beside the guard
#: Above the edge of heavy-ball momentum 0.5, 2 (1 + 0.5) / lam; half of it is below.
HIGH = 5.0


def test_a_fit_it_never_fires_on_is_the_unguarded_fit():
    plain = build(1.5, momentum=0.5)
    h0 = fit(plain, 10, [clr_keras.CyclicalMomentum(MOMENTUM)])
    guarded = build(1.5, momentum=0.5)
    guard = clr_keras.CollapseGuard()
    h1 = fit(guarded, 10, [guard, clr_keras.CyclicalMomentum(MOMENTUM)])
    assert guard.fired == ()
    assert h0.history["loss"] == h1.history["loss"]
    assert all(np.array_equal(a, b) for a, b in zip(weights(plain), weights(guarded), strict=True))
    assert isinstance(guarded.optimizer._learning_rate, clr_keras.CoreSchedule)


def test_it_rescues_a_collapse_beside_cyclical_momentum():
    plain = build(HIGH, momentum=0.5)
    h0 = fit(plain, 12, [clr_keras.CyclicalMomentum(MOMENTUM)])
    model = build(HIGH, momentum=0.5)
    guard = clr_keras.CollapseGuard()
    h1 = fit(model, 12, [guard, clr_keras.CyclicalMomentum(MOMENTUM)])
    end = h0.history["loss"][-1]
    assert not (end < h0.history["loss"][0])  # diverged (or not finite)
    assert guard.fired
    assert h1.history["loss"][-1] < 0.05 * h1.history["loss"][0]
    lr = model.optimizer._learning_rate
    assert isinstance(lr, clr_keras.ScaledSchedule)
    assert lr.factor == guard.scale
    assert isinstance(lr.schedule, clr_keras.CoreSchedule)
    assert float(lr(100)) == pytest.approx(guard.scale * HIGH / LAM, rel=1e-6)


def test_a_float_rate_is_multiplied_as_reduce_lr_on_plateau_does():
    model = build(None, rate=3.0 / LAM)
    guard = clr_keras.CollapseGuard()
    history = fit(model, 12, [guard])
    assert guard.fired
    assert float(to_numpy(model.optimizer.learning_rate)) == pytest.approx(
        guard.scale * 3.0 / LAM, rel=1e-6
    )
    assert history.history["loss"][-1] < 0.05 * max(history.history["loss"])
    assert int(to_numpy(model.optimizer.iterations)) == 12 * REPEATS  # time went on


def test_a_restore_assigns_the_copy_of_the_last_good_epoch(monkeypatch):
    model = build(1.5)
    guard = clr_keras.CollapseGuard(streak=1)
    seen = {}

    class Probe(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                seen["kept"] = weights(self.model)

    losses = iter([2.0, 1.0, 5.0])
    original = guard.on_epoch_end

    def fed(epoch, logs=None):
        original(epoch, {"loss": next(losses)})

    monkeypatch.setattr(guard, "on_epoch_end", fed)
    fit(model, 3, [Probe(), guard])
    assert guard.fired == (2,)
    assert all(np.array_equal(a, b) for a, b in zip(weights(model), seen["kept"], strict=True))
    assert int(to_numpy(model.optimizer.iterations)) == 3 * REPEATS


def test_a_resume_through_save_and_pickle_is_exact(tmp_path):
    whole = build(HIGH, momentum=0.5)
    g0 = clr_keras.CollapseGuard()
    fit(whole, 12, [g0])
    assert g0.fired
    split = g0.fired[0] + 2  # after the restore: the optimizer holds a ScaledSchedule
    first = build(HIGH, momentum=0.5)
    g1 = clr_keras.CollapseGuard()
    fit(first, split, [g1])
    assert isinstance(first.optimizer._learning_rate, clr_keras.ScaledSchedule)
    path = str(tmp_path / "run.keras")
    first.save(path)
    state = pickle.loads(pickle.dumps(g1.state_dict()))
    resumed = keras.models.load_model(path)
    assert isinstance(resumed.optimizer._learning_rate, clr_keras.ScaledSchedule)
    g2 = clr_keras.CollapseGuard()
    g2.load_state_dict(state)
    fit(resumed, 12, [g2], initial_epoch=split)
    assert g2.fired == g0.fired
    assert g2.scale == g0.scale
    lr = resumed.optimizer._learning_rate  # lowered again after the resume: one wrapper
    assert isinstance(lr, clr_keras.ScaledSchedule)
    assert isinstance(lr.schedule, clr_keras.CoreSchedule)
    assert lr.factor == g0.scale
    for a, b in zip(weights(whole), weights(resumed), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_the_decision_is_the_cores():
    model = build(1.5)
    guard = clr_keras.CollapseGuard(lost=0.3, streak=3, backoff=0.25, tries=2)
    core = CoreGuard(lost=0.3, streak=3, backoff=0.25, tries=2)
    fit(model, 1, [guard])
    core.update(guard.state_dict()["guard"]["first"])
    for loss in (3.0, 1.0, 2.0, 2.5, 2.6, 0.8, math.nan, 0.7):
        guard.on_epoch_end(0, {"loss": loss})
        core.update(loss)
    assert guard.state_dict()["guard"] == core.state_dict()


def _guarded_model():
    model = build(1.5, momentum=0.5)
    guard = clr_keras.CollapseGuard()
    fit(model, 2, [guard])
    return model, guard


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda s: [], "state"),
        (lambda s: {**s, "format": "x"}, "state"),
        (lambda s: {**s, "extra": 1}, "state"),
        (lambda s: {**s, "guard": {**s["guard"], "best": 99.0}}, "best"),
        (lambda s: {**s, "model": s["model"][:-1]}, "model"),
        (lambda s: {**s, "model": [np.zeros((3, 1), "float32")]}, "model"),
        (lambda s: {**s, "model": [np.full((8, 1), np.nan, "float32")]}, "model"),
        (lambda s: {**s, "model": [np.zeros((8, 1), "float64")]}, "model"),
        (lambda s: {**s, "model": [[0.0] * 8]}, "model"),
        (lambda s: {**s, "model": "weights"}, "model"),
        (lambda s: {**s, "optimizer": None}, "optimizer"),
        (lambda s: {**s, "optimizer": [np.zeros((2, 2), "float32")] * 9}, "optimizer"),
    ],
)
def test_a_tampered_state_is_refused_naming_the_field_and_changes_nothing(change, field):
    _model, guard = _guarded_model()
    state = guard.state_dict()
    before = pickle.dumps(state)
    with pytest.raises((ValueError, TypeError), match=field):
        guard.load_state_dict(change(state))
    assert pickle.dumps(guard.state_dict()) == before


def test_a_state_loaded_before_the_fit_is_checked_at_its_start_before_any_step():
    _model, guard = _guarded_model()
    bad = {**guard.state_dict(), "model": [np.zeros((3, 1), "float32")]}
    fresh = clr_keras.CollapseGuard()
    fresh.load_state_dict(bad)  # no model yet: checked when the fit starts
    other = build(1.5, momentum=0.5)
    before = weights(other)
    with pytest.raises(ValueError, match="model"):
        fit(other, 2, [fresh])
    assert all(np.array_equal(a, b) for a, b in zip(weights(other), before, strict=True))
    assert fresh.decision.epochs == 0


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"lost": 0.0}, "lost"), ({"streak": 0}, "streak"), ({"backoff": 1.0}, "backoff"),
     ({"tries": -1}, "tries"), ({"monitor": 3}, "monitor"), ({"rise": -1.0}, "rise"),
     ({"patience": 3}, "patience")],
)  # fmt: skip
def test_bad_arguments_are_refused_naming_them(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=name):
        clr_keras.CollapseGuard(**kwargs)


def test_a_guard_holding_another_models_copies_refuses_to_start():
    _model, guard = _guarded_model()
    other = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2, use_bias=False)])
    other.compile(keras.optimizers.SGD(0.01), loss="mse")
    with pytest.raises(ValueError, match="another model"):
        other.fit(np.concatenate([X] * 2), np.zeros((128, 2), "float32"), epochs=1, verbose=0,
                  callbacks=[guard])  # fmt: skip


def test_a_missing_monitor_says_which_keys_there_are():
    model = build(1.5)
    with pytest.raises(ValueError, match="val_loss"):
        fit(model, 1, [clr_keras.CollapseGuard(monitor="val_loss")])


def test_it_refuses_to_run_beside_auto_one_cycle():
    model = build(None, rate=0.01, momentum=0.9)
    auto = clr_keras.AutoOneCycleCallback(total_steps=50)
    with pytest.raises(ValueError, match="AutoOneCycleCallback"):
        fit(model, 1, [clr_keras.CollapseGuard(), auto])


def test_scaled_schedule_round_trips_and_checks_its_arguments():
    inner = clr_keras.CoreSchedule(clr_core.Triangular(0.01, 0.1, 4))
    lr = clr_keras.ScaledSchedule(inner, 0.25)
    again = clr_keras.ScaledSchedule.from_config(lr.get_config())
    assert [float(again(t)) for t in range(8)] == [float(lr(t)) for t in range(8)]
    assert float(lr(4)) == pytest.approx(0.025)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(lr))
    assert isinstance(restored, clr_keras.ScaledSchedule)
    assert restored.factor == 0.25
    for factor in (0.0, 1.5, math.nan, "0.5", True):
        with pytest.raises((ValueError, TypeError), match="factor"):
            clr_keras.ScaledSchedule(inner, factor)
    with pytest.raises(TypeError, match="schedule"):
        clr_keras.ScaledSchedule(0.1, 0.5)
    with pytest.raises(ValueError, match=r"missing key\(s\) \['factor'\]"):
        clr_keras.ScaledSchedule.from_config({"schedule": lr.get_config()["schedule"]})


def test_a_scaled_schedule_already_in_place_is_lowered_not_wrapped_again():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, use_bias=False)])
    inner = clr_keras.CoreSchedule(clr_core.Constant(0.5 / LAM))
    model.compile(keras.optimizers.SGD(clr_keras.ScaledSchedule(inner, 0.5)), loss="mse")
    guard = clr_keras.CollapseGuard(streak=1)
    fit(model, 1, [guard])  # a resumed run: the saved optimizer holds a ScaledSchedule
    for loss in (1.0, 0.5, 5.0):
        guard.on_epoch_end(0, {"loss": loss})
    assert guard.fired == (3,)
    lr = model.optimizer._learning_rate
    assert isinstance(lr, clr_keras.ScaledSchedule)
    assert lr.schedule == inner
    assert lr.factor == 0.25
