"""AutoOneCycleCallback: the core's self-finding 1cycle driven through model.fit.

The model of most tests is y = w x with x = 1 and a loss whose gradient is exactly 1
and whose value is h(w) (a fall, then a blow-up past w = -3): the weight after each
step is known in closed form from the rates and momenta used, so the values applied
inside the compiled step are checked, not only the values the callback recorded.
"""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from keras import ops
from keras_recording import KernelRecorder, sync

import clr_core
import clr_keras
from clr_core.rangetest import AutoOneCycle
from clr_keras._util import to_numpy

BACKEND = keras.backend.backend()
TOTAL = 100
KW = {"start_lr": 1e-3, "end_lr": 10.0, "ramp_fraction": 0.5, "final_div_factor": 100.0}
S0 = 3.0  # the loss blows up once the weight passes -S0


def _h(s):
    return np.where(s < S0, 2.0 / (1.0 + s), 2.0 / (1.0 + S0) + 100.0 * (s - S0))


def _edge_loss(y_true, y_pred):
    """Value h(w), gradient exactly 1 (w = y_pred, x = 1)."""
    w = ops.mean(y_pred)
    s = -w
    value = ops.where(s < S0, 2.0 / (1.0 + s), 2.0 / (1.0 + S0) + 100.0 * (s - S0))
    return w + ops.stop_gradient(value - w)


def _model(optimizer, jit=False, loss=_edge_loss, **compile_kw):
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    model.compile(optimizer, loss=loss, jit_compile=jit, **compile_kw)
    return model


def _data(n):
    return np.ones((n, 1), "float32"), np.zeros((n, 1), "float32")


def _fit(model, callbacks, steps, **kw):
    x, y = _data(steps)
    rec = KernelRecorder()
    model.fit(x, y, batch_size=1, shuffle=False, verbose=0, callbacks=[*callbacks, rec], **kw)
    return np.array(rec.w)


def _sgd_hand(lrs, momenta, w=0.0, v=0.0):
    out = []
    for lr, m in zip(lrs, momenta, strict=True):
        v = m * v - lr
        w += v
        out.append(w)
    return np.array(out)


def _replay(losses, total=TOTAL, **kw):
    """The core object fed the same losses: its rates and momenta step by step."""
    core = AutoOneCycle(total, **{**KW, **kw})
    lrs, momenta = [], []
    for t in range(total):
        lrs.append(core.lr(t))
        momenta.append(core.momentum_at(t))
        if t < len(losses):
            core.update(t, losses[t])
    return core, lrs, momenta


def _sgd(momentum=0.9):
    return keras.optimizers.SGD(learning_rate=0.01, momentum=momentum)


# ----------------------------------------------------------------- the values used


@pytest.mark.parametrize("jit", [False, True], ids=["nojit", "jit"])
def test_rates_and_momenta_are_the_core_objects_step_for_step(jit):
    opt = _sgd()
    cb = clr_keras.AutoOneCycleCallback(TOTAL, **KW)
    w = _fit(_model(opt, jit), [cb], TOTAL)
    assert cb.auto.decided
    assert 10 < cb.auto.decided_at < 50
    core, lrs, momenta = _replay(cb.losses)
    assert core.peak == cb.auto.peak
    assert core.decided_at == cb.auto.decided_at
    assert cb.lrs == lrs
    assert cb.momenta == momenta
    assert len(cb.losses) == cb.auto.decided_at  # fed until the decision, then no more
    # the compiled step really used them (not the ramp's rate, not a baked-in 0.9)
    np.testing.assert_allclose(w, _sgd_hand(lrs, momenta), rtol=2e-5, atol=1e-6)
    ramp_only = [cb.auto.ramp(t) for t in range(TOTAL)]
    assert not np.allclose(w, _sgd_hand(ramp_only, momenta), rtol=1e-3)
    assert not np.allclose(w, _sgd_hand(lrs, [0.9] * TOTAL), rtol=1e-3)
    # each fed loss is that step's own: h(w) before the step
    before = np.concatenate([[0.0], _sgd_hand(lrs, momenta)[:-1]])
    np.testing.assert_allclose(cb.losses, _h(-before[: len(cb.losses)]), rtol=1e-5)
    # after fit: the optimizer's own float momentum; the rate variable at the next step's
    assert opt.momentum == 0.9
    assert isinstance(opt.momentum, float)
    assert float(to_numpy(opt.learning_rate)) == pytest.approx(cb.auto.lr(TOTAL), rel=1e-6)


@pytest.mark.parametrize("jit", [False, True], ids=["nojit", "jit"])
def test_adam_beta_1_is_cycled(jit):
    opt = keras.optimizers.Adam(learning_rate=0.01, beta_1=0.9)
    cb = clr_keras.AutoOneCycleCallback(TOTAL, **KW)
    w = _fit(_model(opt, jit), [cb], TOTAL)
    _, lrs, beta1s = _replay(cb.losses)
    assert cb.momenta == beta1s
    assert len(set(beta1s)) > 10
    m = v = p = 0.0
    expected = []
    for t, (lr, b1) in enumerate(zip(lrs, beta1s, strict=True), start=1):  # Keras 3 Adam
        b2, eps = 0.999, 1e-7
        alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        m += (1.0 - m) * (1 - b1)
        v += (1.0 - v) * (1 - b2)
        p -= m * alpha / (np.sqrt(v) + eps)
        expected.append(p)
    np.testing.assert_allclose(w, expected, rtol=1e-4, atol=1e-6)
    assert opt.beta_1 == 0.9


def test_momentum_none_leaves_momentum_alone():
    opt = _sgd(momentum=0.0)  # no momentum buffers: fine when momentum is left alone
    cb = clr_keras.AutoOneCycleCallback(TOTAL, momentum=None, **KW)
    w = _fit(_model(opt), [cb], TOTAL)
    _, lrs, momenta = _replay(cb.losses, momentum=None)
    assert momenta == [None] * TOTAL
    assert cb.momenta == momenta
    np.testing.assert_allclose(w, _sgd_hand(lrs, [0.0] * TOTAL), rtol=2e-5, atol=1e-6)


def test_sgd_without_momentum_is_refused_when_momentum_is_cycled():
    opt = _sgd(momentum=0.0)
    cb = clr_keras.AutoOneCycleCallback(TOTAL, **KW)  # cycles momentum by default
    with pytest.raises(ValueError, match=r"momentum=0\.0.*pass momentum=None"):
        _fit(_model(opt), [cb], 3)
    assert opt.momentum == 0.0


def test_step_zero_is_where_the_optimizer_stood_when_the_first_fit_began():
    opt = _sgd()
    model = _model(opt, loss="mse")
    model.fit(*_data(5), batch_size=1, verbose=0)  # 5 plain steps first
    model.compile(opt, loss=_edge_loss)
    with pytest.raises(ValueError, match="pass first_step=None"):  # by default, step 0 is 0
        _fit(model, [clr_keras.AutoOneCycleCallback(TOTAL, **KW)], 20)
    assert int(to_numpy(opt.iterations)) == 5
    cb = clr_keras.AutoOneCycleCallback(TOTAL, first_step=None, **KW)
    _fit(model, [cb], 20)
    assert cb.first_step == 5
    assert not cb.auto.decided
    losses = list(cb.losses)
    _, lrs, _ = _replay(losses)
    assert cb.lrs == lrs[:20]
    # a second fit continues the same callback where the first stopped (the lists are
    # the last fit's)
    _fit(model, [cb], 30)
    assert cb.auto.decided
    _, lrs, _ = _replay(losses + cb.losses)
    assert cb.lrs == lrs[20:50]


# ----------------------------------------------------------------- logs and losses


class _Logs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batch_losses = []

    def on_train_batch_end(self, batch, logs=None):
        self.batch_losses.append(logs["loss"])


def _digits_model(optimizer):
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)]
    )
    model.compile(
        optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def test_feeds_each_batch_own_loss_and_leaves_keras_logs_alone(digits):
    """The loss fed is the batch's own; every callback and History see Keras' running mean."""
    x, y = digits[0][:640], digits[1][:640]
    total = 4 * 10
    kw = {"start_lr": 1e-3, "end_lr": 10.0}

    class _Snap(keras.callbacks.Callback):  # the weights before each batch
        def __init__(self):
            super().__init__()
            self.weights = []

        def on_train_batch_begin(self, batch, logs=None):
            sync(self.model)
            self.weights.append([to_numpy(v) for v in self.model.trainable_variables])

    keras.utils.set_random_seed(1)
    cb, before, after, snap = clr_keras.AutoOneCycleCallback(total, **kw), _Logs(), _Logs(), _Snap()
    model = _digits_model(keras.optimizers.SGD(0.01, momentum=0.9))
    hist = model.fit(x, y, batch_size=64, epochs=4, shuffle=False, verbose=0,
                     callbacks=[before, snap, cb, after])  # fmt: skip
    assert len(cb.losses) >= 11
    # each fed loss is the loss of that batch at the weights before it
    probe = _digits_model(keras.optimizers.SGD(0.01))
    for i, loss in enumerate(cb.losses):
        for v, value in zip(probe.trainable_variables, snap.weights[i], strict=True):
            v.assign(value)
        j = (i % 10) * 64
        own = float(to_numpy(probe.compute_loss(x=x[j : j + 64], y=y[j : j + 64],
                                                y_pred=probe(x[j : j + 64]))))  # fmt: skip
        assert loss == pytest.approx(own, rel=1e-5)

    # the same run without the callback (the same rates and momenta, as schedules)
    keras.utils.set_random_seed(1)
    plain_before, plain_after = _Logs(), _Logs()
    schedule = clr_keras.CoreSchedule(cb.auto.schedule)
    ref = _digits_model(keras.optimizers.SGD(schedule, momentum=0.9))
    ref_hist = ref.fit(x, y, batch_size=64, epochs=4, shuffle=False, verbose=0,
                       callbacks=[plain_before,
                                  clr_keras.CyclicalMomentum(cb.auto.momentum_schedule),
                                  plain_after])  # fmt: skip
    np.testing.assert_allclose(before.batch_losses, plain_before.batch_losses, rtol=1e-5)
    np.testing.assert_allclose(after.batch_losses, plain_after.batch_losses, rtol=1e-5)
    np.testing.assert_allclose(hist.history["loss"], ref_hist.history["loss"], rtol=1e-5)
    assert before.batch_losses == after.batch_losses  # listed before or after: the same logs
    # and those are running means, not the fed per-batch losses
    assert before.batch_losses[1] != pytest.approx(cb.losses[1], rel=1e-3)


# ----------------------------------------------------------------- resume


@pytest.mark.parametrize("split", [12, 60], ids=["on_the_ramp", "after_the_decision"])
def test_resume_from_a_checkpoint_is_exact(split, tmp_path):
    ref_cb = clr_keras.AutoOneCycleCallback(TOTAL, **KW)
    ref_w = _fit(_model(_sgd()), [ref_cb], TOTAL)
    assert 12 < ref_cb.auto.decided_at < 60

    cb = clr_keras.AutoOneCycleCallback(TOTAL, **KW)
    model = _model(_sgd())
    first = _fit(model, [cb], split)
    model.save(tmp_path / "m.keras")
    (tmp_path / "auto.json").write_text(json.dumps(cb.state_dict()))

    resumed = keras.models.load_model(
        tmp_path / "m.keras", custom_objects={"_edge_loss": _edge_loss}
    )
    cb2 = clr_keras.AutoOneCycleCallback(TOTAL, **KW)
    cb2.load_state_dict(json.loads((tmp_path / "auto.json").read_text()))
    second = _fit(resumed, [cb2], TOTAL - split)
    assert cb.lrs + cb2.lrs == ref_cb.lrs
    assert cb.momenta + cb2.momenta == ref_cb.momenta
    assert cb2.auto.peak == ref_cb.auto.peak
    np.testing.assert_array_equal(np.concatenate([first, second]), ref_w)


def test_backup_and_restore_with_the_saved_state_resumes_exactly(tmp_path):
    """BackupAndRestore holds the model and optimizer; the callback's state is saved beside it."""
    x, y = _data(20)
    state_file, backup = tmp_path / "auto.json", str(tmp_path / "backup")

    class _StopAtEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 3:
                raise KeyboardInterrupt

    def run(extra=(), resume=True):
        cb = clr_keras.AutoOneCycleCallback(TOTAL, **KW)
        if resume and state_file.exists():
            cb.load_state_dict(json.loads(state_file.read_text()))
        save = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: state_file.write_text(json.dumps(cb.state_dict()))
        )
        model = _model(_sgd())
        callbacks = [keras.callbacks.BackupAndRestore(backup), cb, save, *extra]
        model.fit(x, y, batch_size=1, epochs=5, shuffle=False, verbose=0, callbacks=callbacks)
        sync(model)
        return model, cb

    reference, ref_cb = run()
    state_file.unlink()
    with pytest.raises(KeyboardInterrupt):
        run([_StopAtEpoch()])  # the ramp decided at step 28, within the 60 steps done
    with pytest.raises(ValueError, match="ramp has recorded 0 steps"):
        run(resume=False)  # a fresh callback on the restored optimizer (step 60) is refused
    resumed, cb = run()
    assert cb.auto.peak == ref_cb.auto.peak
    assert cb.lrs == ref_cb.lrs[60:]
    np.testing.assert_array_equal(
        to_numpy(resumed.layers[0].kernel), to_numpy(reference.layers[0].kernel)
    )


def test_resume_at_another_step_is_refused_before_anything_changes():
    cb = clr_keras.AutoOneCycleCallback(TOTAL, **KW)
    _fit(_model(_sgd()), [cb], 12)
    state = cb.state_dict()
    cb2 = clr_keras.AutoOneCycleCallback(TOTAL, **KW)
    cb2.load_state_dict(state)
    opt = _sgd()
    model = _model(opt)  # a fresh model at step 0, not the checkpoint at step 12
    with pytest.raises(ValueError, match="ramp has recorded 12 steps"):
        _fit(model, [cb2], 5)
    assert int(to_numpy(opt.iterations)) == 0
    assert opt.momentum == 0.9
    assert cb2.state_dict() == state


@pytest.mark.parametrize(
    "tamper",
    [
        lambda s: {**s, "format": "other"},
        lambda s: {**s, "first_step": -1},
        lambda s: {**s, "first_step": None},
        lambda s: {**s, "attribute": "beta_1"},
        lambda s: {**s, "extra": 1},
        lambda s: {**s, "auto": {**s["auto"], "peak": -3.0, "decided_at": 5}},
        lambda s: {**s, "auto": {**s["auto"], "config": {**s["auto"]["config"], "total_steps": 1}}},
        lambda s: [s],
    ],
    ids=[
        "format",
        "first_step",
        "first_step_none",
        "attribute",
        "extra",
        "peak",
        "config",
        "not_a_dict",
    ],
)
def test_a_refused_state_changes_nothing(tamper):
    cb = clr_keras.AutoOneCycleCallback(TOTAL, **KW)
    _fit(_model(_sgd()), [cb], 12)
    state = cb.state_dict()
    assert json.loads(json.dumps(state)) == state  # plain JSON
    with pytest.raises((ValueError, TypeError)):
        cb.load_state_dict(tamper(json.loads(json.dumps(state))))
    assert cb.state_dict() == state


# ----------------------------------------------------------------- the optimizer as built


def _assert_pristine(opt, lr_variable, n_variables):
    assert opt._learning_rate is lr_variable
    assert opt.momentum == 0.9
    assert isinstance(opt.momentum, float)
    assert len(opt.variables) == n_variables
    config = keras.optimizers.serialize(opt)
    assert json.loads(json.dumps(config)) == config
    assert config["config"]["momentum"] == 0.9


class _Probe(keras.callbacks.Callback):
    def __init__(self, opt):
        super().__init__()
        self.opt, self.checked = opt, 0

    def on_train_begin(self, logs=None):
        self.lr_variable, self.n = self.opt._learning_rate, len(self.opt.variables)

    def on_train_batch_begin(self, batch, logs=None):
        sync(self.model)
        _assert_pristine(self.opt, self.lr_variable, self.n)
        self.checked += 1

    on_train_batch_end = on_train_batch_begin


def test_optimizer_is_as_built_between_batches():
    opt = _sgd()
    model = _model(opt)
    opt.build(model.trainable_variables)
    probe = _Probe(opt)
    _fit(model, [probe, clr_keras.AutoOneCycleCallback(TOTAL, **KW)], 40)
    assert probe.checked == 80
    _assert_pristine(opt, probe.lr_variable, probe.n)


def test_model_checkpoint_mid_fit_loads(tmp_path):
    opt = _sgd()
    ckpt = keras.callbacks.ModelCheckpoint(str(tmp_path / "m{batch:02d}.keras"), save_freq=15)
    cb = clr_keras.AutoOneCycleCallback(TOTAL, **KW)
    _fit(_model(opt, loss="mse"), [ckpt, cb], 40)
    files = sorted(tmp_path.glob("m*.keras"))
    assert len(files) == 2
    for path in files:
        loaded = keras.models.load_model(path)
        assert loaded.optimizer.momentum == 0.9
        assert len(loaded.optimizer.variables) == len(opt.variables)


class _Interrupt(keras.callbacks.Callback):
    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_train_batch_end(self, batch, logs=None):
        if batch == self.at:
            raise KeyboardInterrupt


@pytest.mark.parametrize("at", [5, 40], ids=["on_the_ramp", "after_the_decision"])
def test_keyboard_interrupt_leaves_the_optimizer_as_built(at):
    opt = _sgd()
    model = _model(opt)
    opt.build(model.trainable_variables)
    lr_variable, n = opt._learning_rate, len(opt.variables)
    cb = clr_keras.AutoOneCycleCallback(TOTAL, **KW)
    with pytest.raises(KeyboardInterrupt):
        _fit(model, [cb, _Interrupt(at)], TOTAL)
    _assert_pristine(opt, lr_variable, n)
    # a later fit without the callback trains at the optimizer's own rate and momentum
    sync(model)
    w0 = float(to_numpy(model.layers[0].kernel)[0, 0])
    v0 = float(to_numpy(opt.momentums[0])[0, 0])
    lr = float(to_numpy(opt.learning_rate))
    w = _fit(model, [], 3)
    np.testing.assert_allclose(w, _sgd_hand([lr] * 3, [0.9] * 3, w=w0, v=v0), rtol=1e-5)
    assert getattr(model.train_function, "_clr_previous", None) is None


# ----------------------------------------------------------------- mixed precision


def test_loss_scale_optimizer_drives_the_inner_optimizer(digits):
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = _digits_model(keras.optimizers.SGD(0.01, momentum=0.9))
        opt = model.optimizer
        assert isinstance(opt, keras.optimizers.LossScaleOptimizer)
        cb = clr_keras.AutoOneCycleCallback(8 * 22, start_lr=1e-3, end_lr=10.0)
        x, y = digits[0], digits[1]
        model.fit(x, y, batch_size=64, epochs=8, verbose=0, callbacks=[cb])
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert cb.auto.decided
    inner = opt.inner_optimizer
    steps = int(to_numpy(inner.iterations))
    assert len(cb.lrs) == steps  # skipped (non-finite) steps are not counted, as Keras does
    assert inner.momentum == 0.9
    assert float(to_numpy(inner.learning_rate)) == pytest.approx(cb.auto.lr(steps), rel=1e-6)


# ----------------------------------------------------------------- real training


def test_digits_decides_and_trains_without_collapse(digits):
    x_train, y_train, x_test, y_test = digits
    epochs, steps = 12, int(np.ceil(len(x_train) / 64))
    cb = clr_keras.AutoOneCycleCallback(epochs * steps, start_lr=1e-3, end_lr=3.0)
    model = _digits_model(keras.optimizers.SGD(0.01, momentum=0.9))
    hist = model.fit(x_train, y_train, batch_size=64, epochs=epochs, verbose=0, callbacks=[cb])
    assert cb.auto.decided
    assert cb.auto.decided_at <= 0.3 * epochs * steps
    assert 0.02 < cb.auto.peak < 1.5
    losses = hist.history["loss"]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.25 * losses[0]
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    # 0.96 on a CPU; on an H200 (JAX, TF32 matmuls) float rounding moved the decision and
    # this seed reached 0.83: the bar fails there (docs/keras.md), it is not loosened for it
    assert accuracy > 0.88


# ----------------------------------------------------------------- refusals


def test_steps_per_execution_above_one_is_refused():
    opt = _sgd()
    model = _model(opt, steps_per_execution=4)
    # (the torch backend refuses it itself, before any callback runs)
    match = "steps_per_execution` must be 1" if BACKEND == "torch" else "steps_per_execution=1"
    with pytest.raises(ValueError, match=match):
        _fit(model, [clr_keras.AutoOneCycleCallback(TOTAL, **KW)], 8)
    assert opt.momentum == 0.9
    assert int(to_numpy(opt.iterations)) == 0


def test_gradient_accumulation_is_refused():
    opt = keras.optimizers.SGD(0.01, momentum=0.9, gradient_accumulation_steps=2)
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        _fit(_model(opt), [clr_keras.AutoOneCycleCallback(TOTAL, **KW)], 4)


def test_a_learning_rate_schedule_is_refused():
    opt = keras.optimizers.SGD(clr_keras.CoreSchedule(clr_core.Constant(0.1)), momentum=0.9)
    with pytest.raises(ValueError, match="float learning_rate"):
        _fit(_model(opt), [clr_keras.AutoOneCycleCallback(TOTAL, **KW)], 4)


def test_sgd_without_momentum_is_refused_unless_momentum_is_none():
    with pytest.raises(ValueError, match=r"momentum=0\.0.*momentum=None"):
        _fit(_model(_sgd(0.0)), [clr_keras.AutoOneCycleCallback(TOTAL, **KW)], 4)
    model = _model(keras.optimizers.Adagrad(0.01))
    with pytest.raises(ValueError, match="neither"):
        _fit(model, [clr_keras.AutoOneCycleCallback(TOTAL, **KW)], 4)


def test_two_callbacks_driving_the_step_are_refused():
    cbs = [
        clr_keras.CyclicalMomentum(clr_core.Constant(0.9)),
        clr_keras.AutoOneCycleCallback(TOTAL, **KW),
    ]
    opt = _sgd()
    with pytest.raises(ValueError, match="use one of them per fit"):
        _fit(_model(opt), cbs, 4)
    assert opt.momentum == 0.9


def test_bad_arguments_are_refused_at_construction():
    with pytest.raises(ValueError, match="Argument `total_steps`"):
        clr_keras.AutoOneCycleCallback(5)
    with pytest.raises(ValueError, match="Argument `attribute`"):
        clr_keras.AutoOneCycleCallback(TOTAL, attribute="rho")
    with pytest.raises(TypeError):
        clr_keras.AutoOneCycleCallback(TOTAL, nonsense=1)


@pytest.mark.parametrize("first_step", [2**60, 10**400])
def test_a_first_step_beyond_2_53_is_refused_at_construction_and_load(first_step):
    # accepted before, then the first fit raised about a Join's boundaries[0]
    with pytest.raises(ValueError, match="`first_step`"):
        clr_keras.AutoOneCycleCallback(TOTAL, first_step=first_step)
    cb = clr_keras.AutoOneCycleCallback(TOTAL, **KW)
    state = cb.state_dict()
    with pytest.raises(ValueError, match="first_step"):
        cb.load_state_dict({**state, "first_step": first_step})
    assert cb.state_dict() == state


def test_unknown_keys_of_mixed_types_are_named():
    cb = clr_keras.AutoOneCycleCallback(TOTAL, **KW)
    state = cb.state_dict()
    # was TypeError: '<' not supported between instances of 'str' and 'int'
    with pytest.raises(ValueError, match=r"unknown keys.*\['1', 'x'\]"):
        cb.load_state_dict({**state, 1: 2, "x": 3})
    assert cb.state_dict() == state
