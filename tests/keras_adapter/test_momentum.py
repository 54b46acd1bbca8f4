"""CyclicalMomentum: the value the compiled update uses really follows the core schedule,
and the optimizer outside the train step is always the one the user built."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from keras import ops
from keras_recording import KernelRecorder, sync

import clr_core
import clr_keras
from clr_keras._util import to_numpy

BACKEND = keras.backend.backend()
LR = 0.1
STEPS = 10
MOMENTUM = clr_core.Triangular(0.01, 0.1, step_size_up=3).momentum(0.5, 0.95)


def _mean_loss(y_true, y_pred):
    return ops.mean(y_pred)


def _model(optimizer, jit=False, loss=None, run_eagerly=False, steps_per_execution=1):
    """y = w x, x = 1, loss mean(y): the gradient is exactly 1 at every step."""
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    model.compile(
        optimizer,
        loss=loss or _mean_loss,
        jit_compile=jit,
        run_eagerly=run_eagerly,
        steps_per_execution=steps_per_execution,
    )
    return model


def _fit(optimizer, jit, callback, steps=STEPS, loss=None, model=None, extra=(), **fit_kw):
    model = model or _model(optimizer, jit, loss)
    rec = KernelRecorder()
    model.fit(
        np.ones((steps, 1), "float32"),
        np.zeros((steps, 1), "float32"),
        batch_size=1,
        epochs=fit_kw.pop("epochs", 1),
        shuffle=False,
        verbose=0,
        callbacks=[c for c in (*extra, callback, rec) if c is not None],
        **fit_kw,
    )
    return np.array(rec.w), model


def _sgd_hand(momenta, nesterov=False, w=0.0, v=0.0):
    out = []
    for m in momenta:
        v = m * v - LR
        w += (m * v - LR) if nesterov else v
        out.append(w)
    return np.array(out)


def _adam_hand(beta1s, b2=0.999, eps=1e-7):
    m = v = w = 0.0
    out = []
    for t, b1 in enumerate(beta1s, start=1):  # Keras 3 Adam, with this step's beta_1
        alpha = LR * np.sqrt(1 - b2**t) / (1 - b1**t)
        m += (1.0 - m) * (1 - b1)
        v += (1.0 - v) * (1 - b2)
        w -= m * alpha / (np.sqrt(v) + eps)
        out.append(w)
    return np.array(out)


def _assert_pristine(opt, original, n_variables):
    """The optimizer as the user built it: the original float, plain config, no extra state."""
    assert opt.momentum is original
    assert len(opt.variables) == n_variables
    assert all("cyclical" not in v.name for v in opt.variables)
    config = keras.optimizers.serialize(opt)
    assert json.loads(json.dumps(config)) == config
    assert config["config"]["momentum"] == original


# ----------------------------------------------------------------- the values used


@pytest.mark.parametrize("jit", [False, True], ids=["nojit", "jit"])
@pytest.mark.parametrize("nesterov", [False, True], ids=["plain", "nesterov"])
def test_sgd_momentum_follows_schedule(jit, nesterov):
    cb = clr_keras.CyclicalMomentum(MOMENTUM)
    opt = keras.optimizers.SGD(learning_rate=LR, momentum=0.9, nesterov=nesterov)
    w, _model = _fit(opt, jit, cb)
    momenta = [MOMENTUM(t) for t in range(STEPS)]
    assert cb.history == momenta
    np.testing.assert_allclose(w, _sgd_hand(momenta, nesterov), rtol=1e-5, atol=1e-6)
    # ... and not what a constant momentum (a float baked into the graph) would give
    assert not np.allclose(w, _sgd_hand([0.9] * STEPS, nesterov), rtol=1e-3)
    # after fit: the float the optimizer was built with, config serialisable
    assert isinstance(opt.momentum, float)
    assert opt.momentum == 0.9
    assert all("cyclical" not in v.name for v in opt.variables)
    json.dumps(keras.optimizers.serialize(opt))


@pytest.mark.parametrize("jit", [False, True], ids=["nojit", "jit"])
@pytest.mark.parametrize("cls", [keras.optimizers.Adam, keras.optimizers.AdamW])
def test_adam_beta_1_follows_schedule(jit, cls):
    sched = clr_core.OneCycle(0.1, total_steps=STEPS, pct_start=0.4).momentum(0.85, 0.95)
    cb = clr_keras.CyclicalMomentum(sched)
    kwargs = {"weight_decay": 0.0} if cls is keras.optimizers.AdamW else {}
    opt = cls(learning_rate=LR, beta_1=0.9, **kwargs)
    w, _ = _fit(opt, jit, cb)
    beta1s = [sched(t) for t in range(STEPS)]
    np.testing.assert_allclose(w, _adam_hand(beta1s), rtol=1e-4, atol=1e-6)
    assert not np.allclose(w, _adam_hand([0.9] * STEPS), rtol=1e-3)
    assert opt.beta_1 == 0.9


def test_steps_per_execution_uses_the_value_of_every_step():
    """Several steps in one compiled call: each reads the schedule at its own step."""
    cb = clr_keras.CyclicalMomentum(MOMENTUM)
    opt = keras.optimizers.SGD(learning_rate=LR, momentum=0.9)
    if BACKEND == "torch":  # the case cannot arise there
        with pytest.raises(ValueError, match="steps_per_execution` must be 1"):
            _model(opt, steps_per_execution=4).make_train_function()
        return
    model = _model(opt, steps_per_execution=4)
    model.fit(
        np.ones((12, 1), "float32"),
        np.zeros((12, 1), "float32"),
        batch_size=1,
        shuffle=False,
        verbose=0,
        callbacks=[cb],
    )
    sync(model)
    momenta = [MOMENTUM(t) for t in range(12)]
    assert cb.history == momenta
    w = float(to_numpy(model.layers[0].kernel)[0, 0])
    assert w == pytest.approx(_sgd_hand(momenta)[-1], rel=1e-5)
    assert w != pytest.approx(_sgd_hand([m for m in momenta[::4] for _ in range(4)])[-1])


@pytest.mark.parametrize("jit", [False, True], ids=["nojit", "jit"])
def test_cycles_after_a_plain_fit_traced_the_float(jit):
    """A train function traced before (momentum baked in) is not reused by the callback.

    (With jax.jit a re-made train function of the same bound method would share the
    old trace and its constant: the callback traces a new callable.)
    """
    opt = keras.optimizers.SGD(learning_rate=LR, momentum=0.9)
    model = _model(opt, jit)
    w_plain, _ = _fit(opt, jit, None, steps=3, model=model)
    np.testing.assert_allclose(w_plain, _sgd_hand([0.9] * 3), rtol=1e-5)
    sync(model)
    w0 = float(to_numpy(model.layers[0].kernel)[0, 0])
    v0 = float(to_numpy(opt.momentums[0])[0, 0])
    cb = clr_keras.CyclicalMomentum(MOMENTUM)
    w, _ = _fit(opt, jit, cb, steps=4, model=model)
    momenta = [MOMENTUM(t) for t in range(3, 7)]
    assert cb.history == momenta
    np.testing.assert_allclose(w, _sgd_hand(momenta, w=w0, v=v0), rtol=1e-5)
    _later_fit_uses_plain_momentum(model, opt)  # and the plain function is back after it


def test_resumes_at_optimizer_iterations():
    cb = clr_keras.CyclicalMomentum(MOMENTUM)
    opt = keras.optimizers.SGD(learning_rate=LR, momentum=0.9)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(opt, loss="mse")
    x, y = np.ones((8, 1), "float32"), np.zeros((8, 1), "float32")
    model.fit(x, y, batch_size=2, epochs=1, verbose=0, callbacks=[cb])
    model.fit(x, y, batch_size=2, epochs=1, verbose=0, callbacks=[cb])
    assert cb.history == [MOMENTUM(t) for t in range(4, 8)]


# ----------------------------------------------------------------- nothing corrupted


class _Probe(keras.callbacks.Callback):
    """Checks, between batches, that the optimizer is the one the user built."""

    def __init__(self, original, n_variables):
        super().__init__()
        self.original, self.n_variables, self.checked = original, n_variables, 0

    def on_train_batch_begin(self, batch, logs=None):
        sync(self.model)  # JAX: variables are purged during fit until synced
        _assert_pristine(self.model.optimizer, self.original, self.n_variables)
        self.checked += 1

    on_train_batch_end = on_train_batch_begin


def test_optimizer_is_pristine_between_batches():
    opt = keras.optimizers.SGD(learning_rate=LR, momentum=0.9)
    model = _model(opt)
    opt.build(model.trainable_variables)
    original, n = opt.momentum, len(opt.variables)
    before, after = _Probe(original, n), _Probe(original, n)
    _fit(opt, False, clr_keras.CyclicalMomentum(MOMENTUM), model=model, extra=(before,))
    model.fit(np.ones((3, 1)), np.zeros((3, 1)), batch_size=1, verbose=0, callbacks=[after])
    assert before.checked == 2 * STEPS
    _assert_pristine(opt, original, n)


def test_model_checkpoint_mid_fit_saves_a_loadable_file(tmp_path):
    opt = keras.optimizers.SGD(learning_rate=LR, momentum=0.9)
    ckpt = keras.callbacks.ModelCheckpoint(str(tmp_path / "m{batch:02d}.keras"), save_freq=3)
    cb = clr_keras.CyclicalMomentum(MOMENTUM)
    _fit(opt, False, cb, steps=7, loss="mse", extra=(ckpt,))
    files = sorted(tmp_path.glob("m*.keras"))
    assert len(files) == 2
    for path in files:
        loaded = keras.models.load_model(path)
        assert loaded.optimizer.momentum == 0.9
        assert len(loaded.optimizer.variables) == len(opt.variables)
    # the last checkpoint holds the optimizer state: resuming with the callback continues
    resumed = keras.models.load_model(files[-1])
    done = int(to_numpy(resumed.optimizer.iterations))
    assert done == 6
    cb2 = clr_keras.CyclicalMomentum(MOMENTUM)
    resumed.fit(np.ones((2, 1)), np.zeros((2, 1)), batch_size=1, verbose=0, callbacks=[cb2])
    assert cb2.history == [MOMENTUM(6), MOMENTUM(7)]


class _Interrupt(keras.callbacks.Callback):
    def __init__(self, at, hook="on_train_batch_end"):
        super().__init__()
        self.at = at
        setattr(self, hook, self._maybe_raise)

    def _maybe_raise(self, batch, logs=None):
        if batch == self.at:
            raise KeyboardInterrupt


class _RaisingLoss(keras.callbacks.Callback):
    """A loss that raises KeyboardInterrupt inside the train step of batch ``at``, once.

    Compiled, the loss runs only while the first step is traced: ``at=0`` raises
    inside the first call of the train function.
    """

    def __init__(self, at):
        super().__init__()
        self.at, self.armed, self.raised = at, False, False

    def on_train_batch_begin(self, batch, logs=None):
        self.armed = batch == self.at and not self.raised

    def __call__(self, y_true, y_pred):
        if self.armed:
            self.armed, self.raised = False, True
            raise KeyboardInterrupt
        return ops.mean(y_pred)


def _later_fit_uses_plain_momentum(model, opt):
    """After the interrupted fit, a fit without the callback trains at the constant 0.9."""
    sync(model)
    w0 = float(to_numpy(model.layers[0].kernel)[0, 0])
    v0 = float(to_numpy(opt.momentums[0])[0, 0])
    rec = KernelRecorder()
    model.fit(np.ones((3, 1)), np.zeros((3, 1)), batch_size=1, verbose=0, callbacks=[rec])
    np.testing.assert_allclose(rec.w, _sgd_hand([0.9] * 3, w=w0, v=v0), rtol=1e-5)
    assert getattr(model.train_function, "_clr_previous", None) is None


@pytest.mark.parametrize("where", ["callback", "in_step_eager", "in_step_trace"], ids=lambda s: s)
def test_keyboard_interrupt_leaves_the_optimizer_as_built(where):
    opt = keras.optimizers.SGD(learning_rate=LR, momentum=0.9)
    if where == "callback":  # raised by a callback, outside the train step
        model, extra = _model(opt), (_Interrupt(3),)
    elif where == "in_step_eager":  # raised inside the 4th train step (eager: loss every step)
        loss = _RaisingLoss(3)
        model, extra = _model(opt, loss=loss, run_eagerly=True), (loss,)
    else:  # raised inside the first call of the train function (while it is traced)
        loss = _RaisingLoss(0)
        model, extra = _model(opt, loss=loss), (loss,)
    opt.build(model.trainable_variables)
    original, n = opt.momentum, len(opt.variables)
    with pytest.raises(KeyboardInterrupt):
        _fit(opt, False, clr_keras.CyclicalMomentum(MOMENTUM), model=model, extra=extra)
    assert where == "callback" or loss.raised
    assert opt.momentum is original
    if BACKEND == "jax" and where == "in_step_trace":
        # Keras' JAX fit purges the variables during a step and has no state to put back
        # when its very first step raises: the model is unusable with or without us.
        assert all(v._value is None for v in opt.variables)
        return
    _assert_pristine(opt, original, n)
    _later_fit_uses_plain_momentum(model, opt)  # (the loss raises only once)
    _assert_pristine(opt, original, n)


def test_stale_wrapper_from_an_interrupted_fit_is_inert():
    """An exception outside the step leaves the wrapper; the next plain fit removes it."""
    opt = keras.optimizers.SGD(learning_rate=LR, momentum=0.9)
    model = _model(opt)
    with pytest.raises(KeyboardInterrupt):
        _fit(opt, False, clr_keras.CyclicalMomentum(MOMENTUM), model=model, extra=(_Interrupt(2),))
    assert getattr(model.train_function, "_clr_previous", None) is not None
    _later_fit_uses_plain_momentum(model, opt)
    # and a new fit with the callback again cycles from the current step
    cb = clr_keras.CyclicalMomentum(MOMENTUM)
    _fit(opt, False, cb, steps=2, model=model)
    assert cb.history == [MOMENTUM(6), MOMENTUM(7)]


def test_backup_and_restore_listed_before_resumes_exactly(tmp_path):
    x, y = np.ones((4, 1), "float32"), np.zeros((4, 1), "float32")

    def run(callbacks, epochs=4):
        opt = keras.optimizers.SGD(learning_rate=LR, momentum=0.9)
        model = _model(opt)
        model.fit(x, y, batch_size=1, epochs=epochs, shuffle=False, verbose=0, callbacks=callbacks)
        sync(model)
        return model

    reference = run([clr_keras.CyclicalMomentum(MOMENTUM)])
    backup = str(tmp_path / "backup")

    class _StopAtEpoch2(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(
            [
                keras.callbacks.BackupAndRestore(backup),
                clr_keras.CyclicalMomentum(MOMENTUM),
                _StopAtEpoch2(),
            ]
        )
    cb = clr_keras.CyclicalMomentum(MOMENTUM)
    resumed = run([keras.callbacks.BackupAndRestore(backup), cb])
    assert cb.history == [MOMENTUM(t) for t in range(8, 16)]  # resumed at step 8, not 0
    assert int(to_numpy(resumed.optimizer.iterations)) == 16
    np.testing.assert_allclose(
        to_numpy(resumed.layers[0].kernel), to_numpy(reference.layers[0].kernel), rtol=1e-6
    )


def test_save_after_training_loads(tmp_path):
    cb = clr_keras.CyclicalMomentum(MOMENTUM)
    lr = clr_keras.TriangularCyclicalLearningRate(0.01, 0.1, 3)
    opt = keras.optimizers.SGD(learning_rate=lr, momentum=0.9)
    _w, model = _fit(opt, False, cb, steps=4, loss="mse")
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.optimizer.momentum == 0.9
    assert loaded.optimizer._learning_rate == lr


# ----------------------------------------------------------------- refusals


def test_optimizer_without_momentum_or_beta_1_is_refused():
    cb = clr_keras.CyclicalMomentum(MOMENTUM)
    with pytest.raises(ValueError, match="neither"):
        _fit(keras.optimizers.Adagrad(learning_rate=LR), False, cb, steps=2)


def test_sgd_without_momentum_is_refused():
    opt = keras.optimizers.SGD(learning_rate=LR)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(opt, loss="mse")
    with pytest.raises(ValueError, match=r"momentum=0\.0"):
        model.fit(
            np.ones((2, 1)),
            np.ones((2, 1)),
            verbose=0,
            callbacks=[clr_keras.CyclicalMomentum(MOMENTUM)],
        )
    assert opt.momentum == 0.0


def test_docstring_asks_for_momentum_above_zero():
    doc = " ".join(clr_keras.CyclicalMomentum.__doc__.split())
    assert "must be created with ``momentum > 0``" in doc
    assert "must not" not in doc


def test_validation():
    with pytest.raises(TypeError, match="Argument `schedule`"):
        clr_keras.CyclicalMomentum(0.9)
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        clr_keras.CyclicalMomentum(clr_core.Triangular(0.5, 2.0, 3))
    with pytest.raises(ValueError, match="Argument `attribute`"):
        clr_keras.CyclicalMomentum(MOMENTUM, attribute="rho")
