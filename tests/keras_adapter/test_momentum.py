"""CyclicalMomentum: the value the compiled update uses really follows the core schedule."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from keras import ops

import clr_core
import clr_keras

BACKEND = keras.backend.backend()
LR = 0.1
STEPS = 10
MOMENTUM = clr_core.Triangular(0.01, 0.1, step_size_up=3).momentum(0.5, 0.95)


def _np(x):
    return np.asarray(ops.convert_to_numpy(x))


class _Weights(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.w = []

    def on_train_batch_end(self, batch, logs=None):
        fn = getattr(self.model, "jax_state_sync", None)
        if fn is not None:
            fn()
        self.w.append(float(_np(self.model.layers[0].kernel)[0, 0]))


def _fit(optimizer, jit, callback, steps=STEPS, loss=None):
    """y = w x, x = 1, loss mean(y): the gradient is exactly 1 at every step."""
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    loss = loss or (lambda y_true, y_pred: ops.mean(y_pred))
    model.compile(optimizer, loss=loss, jit_compile=jit)
    rec = _Weights()
    model.fit(
        np.ones((steps, 1), "float32"),
        np.zeros((steps, 1), "float32"),
        batch_size=1,
        epochs=1,
        shuffle=False,
        verbose=0,
        callbacks=[c for c in (callback, rec) if c is not None],
    )
    return np.array(rec.w), model


def _sgd_hand(momenta, nesterov=False):
    v = w = 0.0
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
    # after fit: a plain float again, the extra variable untracked, config serialisable
    assert isinstance(opt.momentum, float)
    assert opt.momentum == pytest.approx(momenta[-1])
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
    assert isinstance(opt.beta_1, float)


def test_resumes_at_optimizer_iterations():
    cb = clr_keras.CyclicalMomentum(MOMENTUM)
    opt = keras.optimizers.SGD(learning_rate=LR, momentum=0.9)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(opt, loss="mse")
    x, y = np.ones((8, 1), "float32"), np.zeros((8, 1), "float32")
    model.fit(x, y, batch_size=2, epochs=1, verbose=0, callbacks=[cb])
    model.fit(x, y, batch_size=2, epochs=1, verbose=0, callbacks=[cb])
    assert cb.history == [MOMENTUM(t) for t in range(4, 8)]


def test_save_after_training_loads(tmp_path):
    cb = clr_keras.CyclicalMomentum(MOMENTUM)
    lr = clr_keras.TriangularCyclicalLearningRate(0.01, 0.1, 3)
    opt = keras.optimizers.SGD(learning_rate=lr, momentum=0.9)
    _w, model = _fit(opt, False, cb, steps=4, loss="mse")
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.optimizer.momentum == pytest.approx(MOMENTUM(3))
    assert loaded.optimizer._learning_rate == lr


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


def test_validation():
    with pytest.raises(TypeError, match="Argument `schedule`"):
        clr_keras.CyclicalMomentum(0.9)
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        clr_keras.CyclicalMomentum(clr_core.Triangular(0.5, 2.0, 3))
    with pytest.raises(ValueError, match="Argument `attribute`"):
        clr_keras.CyclicalMomentum(MOMENTUM, attribute="rho")
