"""range_test: a real sweep on scikit-learn digits, per-batch values, exact restore."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops
from keras_recording import KernelRecorder

import clr_core
import clr_keras
from clr_core.rangetest import RangeTestResult

BACKEND = keras.backend.backend()


def _np(x):
    return np.array(ops.convert_to_numpy(x), copy=True)


def _mlp(dropout=False, batchnorm=False):
    layers = [keras.Input((64,)), keras.layers.Dense(64, activation="relu")]
    if batchnorm:
        layers.append(keras.layers.BatchNormalization())
    if dropout:
        layers.append(keras.layers.Dropout(0.2))
    layers.append(keras.layers.Dense(10))
    return keras.Sequential(layers)


def _compile(model, optimizer):
    model.compile(
        optimizer,
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def _state(model):
    return (
        [_np(v) for v in model.variables],
        [_np(v) for v in model.optimizer.variables],
        _np(model.optimizer.learning_rate),
    )


def _assert_same_state(before, after):
    for kind, a, b in zip(("model", "optimizer"), before[:2], after[:2], strict=True):
        assert len(a) == len(b), kind
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert x.dtype == y.dtype, f"{kind} variable {i} dtype differs"
            assert np.array_equal(x, y), f"{kind} variable {i} differs"
    assert np.array_equal(before[2], after[2]), "learning rate differs"


def test_digits_range_test_bounds_train_well(digits):
    x, y, xt, yt = digits
    model = _compile(_mlp(), keras.optimizers.SGD(learning_rate=0.01, momentum=0.9))
    initial = [_np(v) for v in model.get_weights()]
    result = clr_keras.range_test(
        model,
        x,
        y,
        batch_size=64,
        start_lr=1e-4,
        end_lr=10.0,
        num_steps=100,
        metric="accuracy",
        progress=True,
    )
    assert isinstance(result, RangeTestResult)
    assert result.provenance["batch_size"] == 64
    assert result.provenance["sweep"]["type"] == "ExponentialSweep"
    assert 20 <= len(result.lrs) <= 100
    assert len(result.metrics) == len(result.lrs)
    assert result.lrs[0] == pytest.approx(1e-4)
    # a sweep from 1e-4 starts flat: the stop rule must not end it on that noise
    assert result.provenance["points"] > 50
    assert 1e-4 <= result.base_lr < result.max_lr < 10.0
    print(result.summary())
    # weights back to their initial values: the training below starts fresh
    for a, b in zip(initial, model.get_weights(), strict=True):
        assert np.array_equal(a, b)

    steps_per_epoch = int(np.ceil(len(x) / 64))
    epochs = 8
    schedule = result.to_schedule("triangular", steps_per_epoch, epochs=epochs)
    model.compile(
        keras.optimizers.SGD(learning_rate=clr_keras.CoreSchedule(schedule), momentum=0.9),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x, y, batch_size=64, epochs=epochs, verbose=0)
    _, acc = model.evaluate(xt, yt, verbose=0)
    print(
        f"[{BACKEND}] held-out accuracy with the suggested bounds "
        f"{result.base_lr:.3g}-{result.max_lr:.3g}: {acc:.4f}"
    )
    assert acc >= 0.93


def test_each_batch_own_loss_and_metric(digits):
    """With a negligible rate the weights stay put, so the loss of batch i is the initial
    model's loss on batch i, not the running epoch mean Keras puts in logs."""
    x, y, _, _ = digits
    model = _compile(_mlp(), keras.optimizers.SGD(learning_rate=0.01))
    bs, n = 32, 12
    logits = _np(model(x[: bs * n], training=False)).astype("float64")
    logp = logits - logits.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    nll = -logp[np.arange(bs * n), y[: bs * n]]
    hit = (logits.argmax(1) == y[: bs * n]).astype("float64")
    own_loss = nll.reshape(n, bs).mean(1)
    own_acc = hit.reshape(n, bs).mean(1)
    result = clr_keras.range_test(
        model,
        x,
        y,
        batch_size=bs,
        start_lr=1e-12,
        end_lr=2e-12,
        num_steps=n,
        mode="linear",
        metric="accuracy",
        min_steps=n,
        progress=False,
        fit_kwargs={"shuffle": False},
    )
    assert len(result.losses) == n
    np.testing.assert_allclose(result.losses, own_loss, rtol=1e-5)
    np.testing.assert_allclose(result.metrics, own_acc, atol=1e-6)
    running = np.cumsum(own_loss) / np.arange(1, n + 1)
    assert not np.allclose(result.losses[1:], running[1:], rtol=1e-3)
    np.testing.assert_allclose(result.lrs, np.linspace(1e-12, 2e-12, n), rtol=1e-6)


@pytest.mark.parametrize("lr_kind", ["float", "schedule"])
def test_exact_restore_after_normal_end(digits, lr_kind):
    x, y, _, _ = digits
    lr = 0.003 if lr_kind == "float" else clr_keras.TriangularCyclicalLearningRate(1e-3, 1e-2, 5)
    model = _compile(_mlp(dropout=True, batchnorm=True), keras.optimizers.Adam(learning_rate=lr))
    model.fit(x[:256], y[:256], batch_size=64, epochs=1, verbose=0)  # non-trivial slots
    lr_object = model.optimizer._learning_rate
    before = _state(model)
    clr_keras.range_test(
        model, x, y, batch_size=64, start_lr=1e-3, end_lr=1.0, num_steps=15, progress=False
    )
    _assert_same_state(before, _state(model))
    assert model.optimizer._learning_rate is lr_object
    # the restored model trains on with its own rate (its train function is back)
    model.fit(x[:128], y[:128], batch_size=64, epochs=1, verbose=0, shuffle=False)
    assert int(_np(model.optimizer.iterations)) == int(before[1][0]) + 2
    step = int(before[1][0]) + 2
    expected = np.float32(0.003) if lr_kind == "float" else _np(lr(step))
    assert np.array_equal(_np(model.optimizer.learning_rate), expected)


class _Boom(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch == 4:
            raise RuntimeError("injected failure")


def test_exact_restore_after_exception(digits):
    x, y, _, _ = digits
    model = _compile(
        _mlp(dropout=True, batchnorm=True), keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)
    )
    model.fit(x[:256], y[:256], batch_size=64, epochs=1, verbose=0)
    before = _state(model)
    n_opt_vars = len(model.optimizer.variables)
    with pytest.raises(RuntimeError, match="injected failure"):
        clr_keras.range_test(
            model,
            x,
            y,
            batch_size=64,
            start_lr=1e-3,
            end_lr=1.0,
            num_steps=30,
            progress=False,
            fit_kwargs={"callbacks": [_Boom()]},
        )
    assert len(model.optimizer.variables) == n_opt_vars
    _assert_same_state(before, _state(model))
    model.optimizer.learning_rate = 0.01
    model.fit(x[:64], y[:64], batch_size=64, epochs=1, verbose=0)  # still trainable


class _Digits(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size):
        super().__init__()
        self.x, self.y, self.bs = x, y, batch_size

    def __len__(self):
        return len(self.x) // self.bs

    def __getitem__(self, i):
        s = slice(i * self.bs, (i + 1) * self.bs)
        return self.x[s], self.y[s]


def test_pydataset_input(digits):
    x, y, _, _ = digits
    model = _compile(_mlp(), keras.optimizers.SGD(learning_rate=0.01))
    before = _state(model)
    data = _Digits(x[:500], y[:500], 50)  # 10 batches an epoch, the sweep needs 3 epochs
    result = clr_keras.range_test(
        model,
        data,
        start_lr=1e-3,
        end_lr=0.5,
        num_steps=30,
        mode="linear",
        progress=False,
        min_steps=30,
    )
    assert result.provenance["batch_size"] == 50
    assert len(result.lrs) == 30
    _assert_same_state(before, _state(model))


def test_errors(digits):
    x, y, _, _ = digits
    with pytest.raises(ValueError, match="compiled"):
        clr_keras.range_test(_mlp(), x, y, start_lr=1e-3, end_lr=1.0)
    model = _compile(_mlp(), keras.optimizers.SGD(learning_rate=0.01))
    with pytest.raises(ValueError, match="Argument `mode`"):
        clr_keras.range_test(model, x, y, start_lr=1e-3, end_lr=1.0, mode="cubic")
    with pytest.raises(ValueError, match="Argument `end_lr`"):
        clr_keras.range_test(model, x, y, start_lr=1.0, end_lr=0.1)
    before = _state(model)
    with pytest.raises(ValueError, match="Argument `metric`"):
        clr_keras.range_test(
            model, x, y, start_lr=1e-3, end_lr=1.0, num_steps=5, metric="f1", progress=False
        )
    _assert_same_state(before, _state(model))


def test_callback_form_with_own_fit(digits):
    x, y, _, _ = digits
    model = _compile(_mlp(), keras.optimizers.SGD(learning_rate=0.01))
    monitor = clr_core.rangetest.SweepMonitor(
        clr_core.rangetest.ExponentialSweep(1e-3, 1.0, num_steps=12), min_steps=12
    )
    cb = clr_keras.RangeTestCallback(monitor, progress=False)
    model.fit(x[:640], y[:640], batch_size=64, epochs=5, verbose=0, callbacks=[cb])
    assert monitor.done
    assert monitor.step_index == 12
    assert int(_np(model.optimizer.iterations)) == 12


# ----------------------------------------------------------------- edges (one test each)


def test_unbuilt_sequential_model_is_built_and_trains_afterwards(digits):
    """A Sequential without Input: the sweep builds it, and later fits still work."""
    x, y, _, _ = digits
    model = keras.Sequential([keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)])
    _compile(model, keras.optimizers.SGD(learning_rate=0.01, momentum=0.9))
    assert not model.built
    result = clr_keras.range_test(
        model, x, y, batch_size=32, start_lr=1e-3, end_lr=1.0, num_steps=12, progress=False
    )
    assert len(result.lrs) >= 5
    assert model.built
    opt = model.optimizer
    assert opt.built
    assert len(opt.variables) == 2 + len(model.trainable_variables)
    assert int(_np(opt.iterations)) == 0
    before = _state(model)
    model.fit(x[:64], y[:64], batch_size=32, epochs=1, verbose=0)  # no "Unknown variable"
    assert int(_np(opt.iterations)) == 2
    assert not np.array_equal(before[0][0], _np(model.variables[0]))


def test_steps_per_execution_gives_one_step_per_point(digits):
    """steps_per_execution=4 would put 4 batches at one rate in one point."""
    x, y, _, _ = digits
    model = _mlp()
    model.compile(
        keras.optimizers.SGD(learning_rate=0.01),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        steps_per_execution=1 if BACKEND == "torch" else 4,  # torch: Keras allows only 1
    )
    spe = model.steps_per_execution
    bs, n = 32, 12
    logits = _np(model(x[: bs * n], training=False)).astype("float64")
    logp = logits - logits.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    own_loss = (-logp[np.arange(bs * n), y[: bs * n]]).reshape(n, bs).mean(1)
    result = clr_keras.range_test(
        model,
        x,
        y,
        batch_size=bs,
        start_lr=1e-12,
        end_lr=2e-12,
        num_steps=n,
        mode="linear",
        min_steps=n,
        progress=False,
        fit_kwargs={"shuffle": False},
    )
    assert len(result.losses) == n  # one point per batch, not per 4
    np.testing.assert_allclose(result.losses, own_loss, rtol=1e-5)
    assert result.provenance["batch_size"] == bs
    assert model.steps_per_execution == spe  # put back


def test_python_generator_is_read_once_and_the_sweep_cut_short(digits):
    x, y, _, _ = digits
    model = _compile(_mlp(), keras.optimizers.SGD(learning_rate=0.01))
    before = _state(model)

    def batches():
        for i in range(8):
            yield x[i * 16 : (i + 1) * 16], y[i * 16 : (i + 1) * 16]

    result = clr_keras.range_test(
        model, batches(), start_lr=1e-4, end_lr=1e-3, num_steps=40, min_steps=40, progress=False
    )
    assert len(result.lrs) == 8  # not 40: fit would replay the first batches
    assert result.provenance["stop_reason"] == "cut short: the data ran out after 8 of 40 points"
    assert result.provenance["batch_size"] == 16
    _assert_same_state(before, _state(model))


def test_mixed_float16_with_a_schedule(digits):
    x, y, _, _ = digits
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    try:
        schedule = clr_keras.TriangularCyclicalLearningRate(1e-3, 1e-2, 5)
        model = _compile(_mlp(), keras.optimizers.SGD(learning_rate=schedule))
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        model.fit(x[:128], y[:128], batch_size=64, epochs=1, verbose=0)
        before = _state(model)
        result = clr_keras.range_test(
            model, x, y, batch_size=64, start_lr=1e-3, end_lr=1.0, num_steps=15, progress=False
        )
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    assert len(result.lrs) >= 5
    assert model.optimizer.inner_optimizer._learning_rate is schedule
    _assert_same_state(before, _state(model))


@pytest.mark.parametrize("kind", ["pydataset", "generator", "arrays"])
def test_empty_data_is_a_clear_error(kind):
    model = _compile(_mlp(), keras.optimizers.SGD(learning_rate=0.01))
    x = np.zeros((0, 64), "float32")
    y = np.zeros((0,), "int32")
    data = {
        "pydataset": (_Digits(x, y, 8), None),
        "generator": ((b for b in []), None),
        "arrays": (x, y),
    }[kind]
    with pytest.raises(ValueError, match="Argument `x` must be data that yields at least one"):
        clr_keras.range_test(model, *data, progress=False)


@pytest.mark.parametrize("key", ["epochs", "batch_size", "x", "verbose"])
def test_fit_kwargs_setting_what_range_test_sets_is_a_clear_error(digits, key):
    x, y, _, _ = digits
    model = _compile(_mlp(), keras.optimizers.SGD(learning_rate=0.01))
    before = _state(model)
    with pytest.raises(ValueError, match=rf"Argument `fit_kwargs` must not set \['{key}'\]"):
        clr_keras.range_test(model, x, y, progress=False, fit_kwargs={key: 3})
    with pytest.raises(TypeError, match="Argument `fit_kwargs` must be a dict"):
        clr_keras.range_test(model, x, y, progress=False, fit_kwargs=[("epochs", 3)])
    _assert_same_state(before, _state(model))


def test_nan_at_the_first_step_reads_diverged_at_once(digits):
    x, y, _, _ = digits
    model = _mlp()
    model.compile(  # every loss is NaN, the first one included
        keras.optimizers.SGD(learning_rate=0.01), loss=lambda t, p: ops.mean(p) * np.nan
    )
    before = _state(model)
    result = clr_keras.range_test(
        model, x, y, batch_size=32, start_lr=1e-4, end_lr=1.0, num_steps=30, progress=False
    )
    assert len(result.losses) == 1
    assert np.isnan(result.losses[0])
    assert result.confidence == 0.0
    reasons = result.reasons
    assert any("diverged at once" in r and "Start it lower" in r for r in reasons), reasons
    _assert_same_state(before, _state(model))


def test_no_numpy_deprecation_warning_under_error_filter(digits):
    """keras.ops.convert_to_numpy on a JAX variable warns about __array__'s copy keyword."""
    import warnings

    x, y, _, _ = digits
    model = _compile(_mlp(batchnorm=True), keras.optimizers.Adam(learning_rate=0.01))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clr_keras.range_test(
            model, x, y, batch_size=64, start_lr=1e-3, end_lr=1.0, num_steps=12, progress=False
        )


def test_huge_num_steps_is_refused_before_anything_runs(digits):
    x, y, _, _ = digits
    model = _compile(_mlp(), keras.optimizers.SGD(learning_rate=0.01))
    before = _state(model)
    with pytest.raises(ValueError, match="Argument `num_steps` must be <="):
        clr_keras.range_test(model, x, y, num_steps=10**400, progress=False)
    _assert_same_state(before, _state(model))


@pytest.mark.parametrize("lr_kind", ["float", "schedule"])
def test_the_rate_each_step_uses_is_the_sweep(lr_kind):
    """y = w x, x = 1, loss mean(y): plain SGD moves w by exactly -lr at each step."""
    lr = 0.1 if lr_kind == "float" else clr_keras.TriangularCyclicalLearningRate(0.1, 1.0, 3)
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    model.compile(keras.optimizers.SGD(lr), loss=lambda t, p: ops.mean(p))
    kernel = KernelRecorder()
    result = clr_keras.range_test(
        model,
        np.ones((5, 1), "float32"),
        np.zeros((5, 1), "float32"),
        batch_size=1,
        start_lr=1e-3,
        end_lr=1.0,
        num_steps=12,
        min_steps=12,
        progress=False,
        fit_kwargs={"callbacks": [kernel]},
    )
    used = -np.diff([0.0, *kernel.w])
    np.testing.assert_allclose(used, result.lrs, rtol=1e-5)
    np.testing.assert_allclose(result.lrs, np.geomspace(1e-3, 1.0, 12), rtol=1e-9)


@pytest.mark.parametrize(
    ("make", "momentum"),
    [
        (lambda: keras.optimizers.SGD(learning_rate=0.01), 0.0),
        (lambda: keras.optimizers.SGD(learning_rate=0.01, momentum=0.9), 0.9),
        (lambda: keras.optimizers.Adam(beta_1=0.8), 0.8),
        (lambda: keras.optimizers.Adagrad(), None),
    ],
)
def test_the_sweeps_momentum_is_recorded_for_recommend(digits, make, momentum):
    x, y, _, _ = digits
    model = _compile(_mlp(), make())
    result = clr_keras.range_test(
        model, x, y, batch_size=64, start_lr=1e-4, end_lr=1.0, num_steps=20, progress=False
    )
    recorded = result.provenance["momentum"]
    assert recorded == (None if momentum is None else pytest.approx(momentum))
    assert result.provenance["optimizer"] == type(model.optimizer).__name__
    plan = result.recommend(22, 3)
    assert (plan.momentum is None) == (momentum == 0.0)
