"""CoreSchedule and the named schedules: values, serialisation, save/load, compiled fit."""

from __future__ import annotations

import inspect
import json
import math
import re
import zipfile

import keras
import numpy as np
import pytest
from keras import ops
from keras_recording import sync

import clr_core
import clr_keras

BACKEND = keras.backend.backend()


def _np(x):
    return np.asarray(ops.convert_to_numpy(x))


def _close(got, ref, hi):
    """float32 agreement: a few float32 ulps of the schedule's scale."""
    np.testing.assert_allclose(got, ref, rtol=2e-5, atol=2e-6 * hi)


# One composite schedule whose pieces use every op of the core namespace:
# floor, abs, where, minimum, maximum, cos, exp/power (exp_range, triangular2), log (SGDR).
COMPOSITE = clr_core.Join(
    [
        clr_core.Triangular2(0.01, 0.1, step_size_up=3, step_size_down=2),
        clr_core.ExpRange(0.01, 0.1, step_size_up=4, gamma=0.97),
        clr_core.OneCycle(0.1, total_steps=12, three_phase=True),
        clr_core.CosineRestarts(0.1, T_0=2, T_mult=2, eta_min=0.001, decay=0.7),
        clr_core.Cyclic(0.02, 0.1, 3, shape="hann", scale=clr_core.ExpScale(0.9)),
    ],
    boundaries=[10, 20, 32, 45],
)

NAMED = [
    (
        clr_keras.TriangularCyclicalLearningRate,
        {
            "initial_learning_rate": 0.001,
            "maximal_learning_rate": 0.006,
            "step_size": 4,
            "scale_mode": "cycle",
            "name": "TriangularCyclicalLearningRate",
        },
    ),
    (
        clr_keras.Triangular2CyclicalLearningRate,
        {
            "initial_learning_rate": 0.001,
            "maximal_learning_rate": 0.006,
            "step_size": 3,
            "scale_mode": "cycle",
            "name": "tri2",
        },
    ),
    (
        clr_keras.ExponentialCyclicalLearningRate,
        {
            "initial_learning_rate": 0.001,
            "maximal_learning_rate": 0.006,
            "step_size": 3,
            "scale_mode": "iterations",
            "gamma": 0.96,
            "name": "ExponentialCyclicalLearningRate",
        },
    ),
    (
        clr_keras.OneCycleSchedule,
        {
            "max_lr": 0.1,
            "total_steps": 30,
            "pct_start": 0.25,
            "anneal_strategy": "linear",
            "div_factor": 10.0,
            "final_div_factor": 100.0,
            "three_phase": True,
            "name": "OneCycleSchedule",
        },
    ),
]

ALL = [
    (clr_keras.CoreSchedule, {"schedule": COMPOSITE.to_config(), "name": None}),
    (
        clr_keras.CoreSchedule,
        {"schedule": clr_core.Triangular(0.1, 1.0, 5).to_config(), "name": "x"},
    ),
    *NAMED,
]
IDS = [c.__name__ + str(i) for i, (c, _) in enumerate(ALL)]


def _tfa_reference(kind, kw, steps):
    """tensorflow-addons' CyclicalLearningRate formula, written independently (float64)."""
    s = float(kw["step_size"])
    cycle = np.floor(1 + steps / (2 * s))
    x = np.abs(steps / s - 2 * cycle + 1)
    m = cycle if kw["scale_mode"] == "cycle" else steps
    scale = {"tri": 1.0 + 0 * m, "tri2": 1 / (2.0 ** (m - 1)), "exp": kw.get("gamma", 1.0) ** m}[
        kind
    ]
    lo, hi = kw["initial_learning_rate"], kw["maximal_learning_rate"]
    return lo + (hi - lo) * np.maximum(0.0, 1 - x) * scale


# ----------------------------------------------------------------- eager values


@pytest.mark.parametrize(
    "core",
    [
        COMPOSITE,
        clr_core.Triangular(0.001, 0.006, 7),
        clr_core.Triangular2(0.001, 0.006, 5, 3),
        clr_core.ExpRange(0.001, 0.006, 5, gamma=0.97, decay="both"),
        clr_core.Cyclic(0.1, 1.0, 4, shape="welch", scale_mode="iterations"),
        clr_core.OneCycle(0.1, 50),
        clr_core.CosineRestarts(0.1, 3, 1, 0.001),
        clr_core.Triangular(0.001, 0.006, 7).momentum(),
        clr_core.OneCycle(0.1, 50).momentum(),
        clr_core.warmup(clr_core.OneCycle(0.1, 40), 5),
        clr_core.Inverse(clr_core.Linear(0.0, 1.0, 5)),
        clr_core.Constant(0.3),
    ],
    ids=lambda s: type(s).__name__,
)
def test_eager_values_equal_core(core):
    lr = clr_keras.CoreSchedule(core)
    n = 120
    ref = np.array([core(t) for t in range(n)])
    hi = core.bounds()[1]
    # a vector of steps, python ints, and an int64 variable (what the optimizer passes)
    _close(_np(lr(np.arange(n))), ref, hi)
    for t in (0, 1, 7, 59, n - 1):
        assert _np(lr(t)).dtype == np.float32
        _close(_np(lr(t)), ref[t], hi)
    step = keras.Variable(0, dtype="int64", trainable=False)
    for t in (0, 13, 101):
        step.assign(t)
        _close(_np(lr(step)), ref[t], hi)


@pytest.mark.parametrize(("cls", "kw"), NAMED[:3], ids=[c.__name__ for c, _ in NAMED[:3]])
@pytest.mark.parametrize("scale_mode", ["cycle", "iterations"])
def test_tfa_named_match_tfa_formula(cls, kw, scale_mode):
    kw = {**kw, "scale_mode": scale_mode}
    kind = {
        clr_keras.TriangularCyclicalLearningRate: "tri",
        clr_keras.Triangular2CyclicalLearningRate: "tri2",
        clr_keras.ExponentialCyclicalLearningRate: "exp",
    }[cls]
    steps = np.arange(100.0)
    _close(_np(cls(**kw)(steps)), _tfa_reference(kind, kw, steps), kw["maximal_learning_rate"])


def test_tfa_defaults():
    assert clr_keras.ExponentialCyclicalLearningRate(1e-4, 1e-2, 10).scale_mode == "iterations"
    assert clr_keras.TriangularCyclicalLearningRate(1e-4, 1e-2, 10).scale_mode == "cycle"
    s = clr_keras.TriangularCyclicalLearningRate(1e-4, 1e-2, step_size=10)
    assert s.schedule == clr_core.Cyclic(1e-4, 1e-2, step_size_up=10)  # step_size = half cycle


def test_one_cycle_schedule_is_core_one_cycle():
    s = clr_keras.OneCycleSchedule(0.1, 100, pct_start=0.25)
    assert s.schedule == clr_core.OneCycle(0.1, 100, pct_start=0.25)


# ----------------------------------------------------------------- validation


def test_validation():
    with pytest.raises(TypeError, match="Argument `schedule`"):
        clr_keras.CoreSchedule(0.1)
    with pytest.raises(TypeError, match="Argument `name`"):
        clr_keras.CoreSchedule(clr_core.Constant(0.1), name=3)
    with pytest.raises(ValueError, match="Argument `scale_mode`"):
        clr_keras.Triangular2CyclicalLearningRate(0.01, 0.1, 10, scale_mode="epoch")
    with pytest.raises(ValueError, match="Argument `gamma`"):
        clr_keras.ExponentialCyclicalLearningRate(0.01, 0.1, 10, gamma=1.5)
    with pytest.raises(ValueError, match="Argument `pct_start`"):
        clr_keras.OneCycleSchedule(0.1, 100, pct_start=1.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"initial_learning_rate": math.nan},
            "Argument `initial_learning_rate` must be finite. Received: initial_learning_rate=nan",
        ),
        (
            {"initial_learning_rate": "0.1"},
            "Argument `initial_learning_rate` must be a real number. "
            "Received: initial_learning_rate='0.1'",
        ),
        (
            {"maximal_learning_rate": 0.0001},
            "Argument `maximal_learning_rate` must be >= initial_learning_rate=0.001. "
            "Received: maximal_learning_rate=0.0001",
        ),
        (
            {"maximal_learning_rate": -math.inf},
            "Argument `maximal_learning_rate` must be finite",
        ),
        ({"step_size": 0}, "Argument `step_size` must be >= 1. Received: step_size=0"),
        ({"step_size": 2.5}, "Argument `step_size` must be an integer. Received: step_size=2.5"),
    ],
    ids=lambda v: str(v)[:30],
)
@pytest.mark.parametrize("cls", [c for c, _ in NAMED[:3]], ids=lambda c: c.__name__)
def test_named_classes_report_their_own_argument_names(cls, kwargs, message):
    args = {"initial_learning_rate": 0.001, "maximal_learning_rate": 0.006, "step_size": 4}
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError)) as info:
        cls(**args)
    assert str(info.value).startswith(message)
    for core_name in ("base_lr", "max_lr", "step_size_up"):
        assert core_name not in str(info.value)


@pytest.mark.parametrize(
    ("make", "argument"),
    [
        (lambda: clr_keras.TriangularCyclicalLearningRate(1e-3, 1e39, 10), "maximal_learning_rate"),
        (lambda: clr_keras.Triangular2CyclicalLearningRate(0, 1e39, 10), "maximal_learning_rate"),
        (lambda: clr_keras.ExponentialCyclicalLearningRate(0, 1e300, 10), "maximal_learning_rate"),
        (lambda: clr_keras.OneCycleSchedule(1e39, 100), "max_lr"),
        (lambda: clr_keras.OneCycleSchedule(0.1, 100, div_factor=1e-300), "div_factor"),
        (
            lambda: clr_keras.OneCycleSchedule(1.0, 100, div_factor=1.0, final_div_factor=1e-300),
            "final_div_factor",
        ),
        (lambda: clr_keras.CoreSchedule(clr_core.Triangular(0.0, 1e39, 10)), "schedule"),
        (lambda: clr_keras.CoreSchedule(clr_core.Constant(4e38).to_config()), "schedule"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_bounds_overflowing_float32_are_refused(make, argument):
    with pytest.raises(ValueError, match=f"Argument `{argument}` must give rates representable"):
        make()


def test_largest_float32_bound_is_accepted():
    top = float(np.finfo(np.float32).max)
    s = clr_keras.TriangularCyclicalLearningRate(0.0, top, 2)
    assert np.isfinite(_np(s(2)))


def _tamper(path, out, key, value):
    """Rewrite every ``key`` in the .keras archive's config.json to ``value``."""

    def edit(node):
        if isinstance(node, dict):
            return {k: (value if k == key else edit(v)) for k, v in node.items()}
        if isinstance(node, list):
            return [edit(v) for v in node]
        return node

    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "config.json":
                data = json.dumps(edit(json.loads(data))).encode()
            dst.writestr(item, data)


@pytest.mark.parametrize("safe_mode", [True, False])
@pytest.mark.parametrize(
    ("cls", "kw", "key", "value", "message"),
    [
        (
            clr_keras.TriangularCyclicalLearningRate,
            NAMED[0][1],
            "maximal_learning_rate",
            1e39,
            "Argument `maximal_learning_rate` must give rates representable in float32",
        ),
        (
            clr_keras.OneCycleSchedule,
            NAMED[3][1],
            "div_factor",
            1e-300,
            "Argument `div_factor` must give rates representable in float32",
        ),
        (
            clr_keras.CoreSchedule,
            {"schedule": clr_core.Triangular(0.1, 1.0, 5).to_config(), "name": "x"},
            "max_lr",
            1e39,
            "Argument `schedule` must give rates representable in float32",
        ),
    ],
    ids=["tfa", "one_cycle", "core"],
)
def test_tampered_keras_file_with_overflowing_bound_is_refused(
    cls, kw, key, value, message, safe_mode, tmp_path
):
    model = _tiny_model()
    model.compile(keras.optimizers.SGD(learning_rate=cls(**kw)), loss="mse")
    model.save(tmp_path / "m.keras")
    _tamper(tmp_path / "m.keras", tmp_path / "bad.keras", key, value)
    with pytest.raises(ValueError, match=message):
        keras.models.load_model(tmp_path / "bad.keras", safe_mode=safe_mode)
    keras.models.load_model(tmp_path / "m.keras", safe_mode=safe_mode)  # the original loads


def test_core_schedule_from_config_without_schedule_is_clear():
    with pytest.raises(ValueError, match=r"Argument `config` .*missing key\(s\) \['schedule'\]"):
        clr_keras.CoreSchedule.from_config({})
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['shedule'\]"):
        clr_keras.CoreSchedule.from_config({"shedule": {}, "schedule": {"type": "Constant"}})
    with pytest.raises(TypeError, match="Argument `config` must be a dict"):
        clr_keras.CoreSchedule.from_config([1])


@pytest.mark.parametrize(("cls", "kw"), NAMED, ids=[c.__name__ for c, _ in NAMED])
def test_named_from_config_with_unknown_or_missing_keys_is_clear(cls, kw):
    with pytest.raises(ValueError, match=rf"keywords of {cls.__name__}.*unknown key\(s\) \['lr'\]"):
        cls.from_config({**kw, "lr": 0.1})
    first = next(iter(kw))
    partial = {k: v for k, v in kw.items() if k != first}
    with pytest.raises(ValueError, match=rf"missing key\(s\) \['{first}'\]"):
        cls.from_config(partial)


@pytest.mark.parametrize(
    ("step", "error", "message"),
    [
        (-1, ValueError, "Argument `step` must be >= 0"),
        (np.int64(-3), ValueError, "Argument `step` must be >= 0"),
        (2.5, ValueError, "Argument `step` must be a whole number"),
        (math.nan, ValueError, "Argument `step` must be a whole number"),
        (math.inf, ValueError, "Argument `step` must be a whole number"),
        (np.array([0.0, 1.5]), ValueError, "Argument `step` must be a whole number"),
        (np.array([3, -1]), ValueError, "Argument `step` must be >= 0"),
        (True, TypeError, "Argument `step` must be a non-negative integer"),
        ("3", TypeError, "Argument `step` must be a non-negative integer"),
    ],
    ids=repr,
)
def test_core_schedule_refuses_the_steps_the_core_refuses(step, error, message):
    s = clr_keras.CoreSchedule(clr_core.Triangular(0.1, 1.0, 4))
    with pytest.raises(error, match=message):
        s(step)
    with pytest.raises((ValueError, TypeError)):
        s.schedule(step)  # the core refuses it too
    assert _np(s(3.0)) == pytest.approx(s.schedule(3))  # an integral float is a step


# ----------------------------------------------------------------- serialisation


@pytest.mark.parametrize(
    "cls",
    [
        clr_keras.TriangularCyclicalLearningRate,
        clr_keras.Triangular2CyclicalLearningRate,
        clr_keras.ExponentialCyclicalLearningRate,
        clr_keras.OneCycleSchedule,
    ],
)
def test_config_keywords_are_the_constructor_signature(cls):
    """get_config() lists exactly the constructor's parameters, in order: the hand-kept
    keyword tuple cannot drift from the signature."""
    assert cls._keywords == tuple(inspect.signature(cls).parameters)


@pytest.mark.parametrize(("cls", "kw"), ALL, ids=IDS)
def test_get_config_is_constructor_keywords(cls, kw):
    s = cls(**kw)
    config = s.get_config()
    assert config == kw
    assert json.loads(json.dumps(config)) == config  # plain data
    again = cls.from_config(config)
    assert again == s
    assert again.schedule == s.schedule
    assert cls(**config) == s


@pytest.mark.parametrize(("cls", "kw"), ALL, ids=IDS)
def test_keras_serialize_roundtrip_through_json(cls, kw):
    s = cls(**kw)
    blob = json.dumps(keras.optimizers.schedules.serialize(s))
    back = keras.optimizers.schedules.deserialize(json.loads(blob))
    assert type(back) is cls
    assert back == s
    assert back.get_config() == kw
    steps = np.arange(60)
    np.testing.assert_array_equal(_np(back(steps)), _np(s(steps)))


def test_core_schedule_accepts_config_and_equality():
    a = clr_keras.CoreSchedule(COMPOSITE)
    b = clr_keras.CoreSchedule(COMPOSITE.to_config())
    assert a == b
    assert hash(a) == hash(b)
    assert a != clr_keras.CoreSchedule(clr_core.Constant(0.1))


def _tiny_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    return model


@pytest.mark.parametrize(("cls", "kw"), ALL, ids=IDS)
def test_keras_file_save_load_compiled_model(cls, kw, tmp_path):
    s = cls(**kw)
    model = _tiny_model()
    model.compile(keras.optimizers.SGD(learning_rate=s, momentum=0.9), loss="mse")
    model.fit(np.ones((4, 3), "float32"), np.zeros((4, 2), "float32"), verbose=0, epochs=1)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)  # no custom_objects: registered on import
    lr = loaded.optimizer._learning_rate
    assert type(lr) is cls
    assert lr == s
    assert lr.get_config() == kw
    assert int(_np(loaded.optimizer.iterations)) == 1
    step = loaded.optimizer.iterations
    np.testing.assert_array_equal(_np(loaded.optimizer.learning_rate), _np(s(step)))
    _close(_np(loaded.optimizer.learning_rate), s.schedule(1), s.schedule.bounds()[1])


# ----------------------------------------------------------------- inside model.fit


class _CountingSchedule(clr_keras.CoreSchedule):
    """Counts Python-level calls: a compiled train function calls it only while tracing."""

    calls = 0

    def __call__(self, step):
        type(self).calls += 1
        return super().__call__(step)


class _LrProbe(keras.callbacks.Callback):
    """Reads the rate the compiled step really used.

    The model is ``y = w x`` with x = 1 and loss mean(y), so dL/dw = 1: with plain
    SGD and ``w`` set to 0 before a step, ``w`` is exactly ``-lr`` after it.
    """

    def __init__(self):
        super().__init__()
        self.used = []

    def on_train_batch_begin(self, batch, logs=None):
        sync(self.model)
        self.model.layers[0].kernel.assign(np.zeros((1, 1), "float32"))

    def on_train_batch_end(self, batch, logs=None):
        sync(self.model)
        self.used.append(-float(_np(self.model.layers[0].kernel)[0, 0]))


def _probe_fit(schedule, jit, steps_per_epoch=25, epochs=2):
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    model.compile(
        keras.optimizers.SGD(learning_rate=schedule),
        loss=lambda y_true, y_pred: ops.mean(y_pred),
        jit_compile=jit,
    )
    n = steps_per_epoch * 2
    probe = _LrProbe()
    model.fit(
        np.ones((n, 1), "float32"),
        np.zeros((n, 1), "float32"),
        batch_size=2,
        epochs=epochs,
        shuffle=False,
        verbose=0,
        callbacks=[probe],
    )
    return np.array(probe.used), model


@pytest.mark.parametrize("jit", [False, True], ids=["nojit", "jit"])
@pytest.mark.parametrize(
    "make",
    [
        lambda: _CountingSchedule(COMPOSITE),
        lambda: clr_keras.ExponentialCyclicalLearningRate(0.01, 0.1, 3, "cycle", gamma=0.8),
    ],
    ids=["composite", "tfa_exp"],
)
def test_rate_used_in_fit_equals_core_every_step(make, jit):
    schedule = make()
    _CountingSchedule.calls = 0
    used, model = _probe_fit(schedule, jit)
    n = len(used)
    assert n == 50
    assert int(_np(model.optimizer.iterations)) == 50
    ref = np.array([schedule.schedule(t) for t in range(n)])
    hi = schedule.schedule.bounds()[1]
    _close(used, ref, hi)
    assert len(set(np.round(ref, 6))) > 10  # the schedule really moves
    if isinstance(schedule, _CountingSchedule):
        if BACKEND == "tensorflow" or (BACKEND == "jax" and jit):
            # compiled (tf.function, XLA, jax.jit): traced once, not once per step
            assert 1 <= _CountingSchedule.calls <= 3, _CountingSchedule.calls
        else:  # eager train step (JAX without jit, torch): one evaluation per step
            assert _CountingSchedule.calls >= n


def test_max_float32_difference_report(capsys):
    """Not a threshold test: prints the largest float32 deviation seen in one fit."""
    used, _ = _probe_fit(clr_keras.CoreSchedule(COMPOSITE), jit=False)
    ref = np.array([COMPOSITE(t) for t in range(len(used))])
    rel = np.max(np.abs(used - ref) / COMPOSITE.bounds()[1])
    with capsys.disabled():
        print(f"\n[{BACKEND}] max |lr_keras - lr_core| / max_lr over a fit: {rel:.2e}")
    assert rel < 2e-6


# ----------------------------------------------------------------- float32 at any step

#: The position in the cycle comes from the integer step, so float32 only rounds the
#: final value: the cyclic policies stay within 2 ulps of the value (2.4e-7 relative),
#: every schedule within 5e-7 of its largest rate. Steps near 1e6, 1e7, 2e7 (past
#: 2**24, where float32 stops counting exactly) and the top of an int32 counter.
LARGE_STEPS = [
    t for at in (10**6, 10**7, 2 * 10**7, 2**24 + 1, 2**31 - 8) for t in range(at - 6, at + 7)
]
CYCLIC = {
    "Triangular(1e-3, 6e-3, 2000)": clr_core.Triangular(1e-3, 6e-3, 2000),
    "Triangular(0, 1e-2, 7)": clr_core.Triangular(0.0, 1e-2, 7),
    "ExpRange(gamma=0.9999999)": clr_core.ExpRange(1e-3, 6e-3, 2000, gamma=0.9999999),
    "Triangular(step_size_up=1)": clr_core.Triangular(1e-3, 6e-3, 1),
    "Triangular2": clr_core.Triangular2(1e-3, 6e-3, 2000),
    "Cyclic hann": clr_core.Cyclic(0.02, 0.1, 13, 6, shape="hann", scale=clr_core.ExpScale(0.9)),
    "momentum": clr_core.Triangular(1e-3, 6e-3, 2000).momentum(),
}
OTHERS = {
    "OneCycle": clr_core.OneCycle(0.1, 3 * 10**7),
    "OneCycle three_phase linear": clr_core.OneCycle(
        0.1, 3 * 10**7, three_phase=True, anneal_strategy="linear"
    ),
    "CosineRestarts": clr_core.CosineRestarts(0.1, 7, 2, 0.001, decay=0.999999),
    "warmup": clr_core.warmup(clr_core.Triangular(1e-3, 6e-3, 2000), 10**6),
    "Linear": clr_core.Linear(0.1, 0.0, 2 * 10**7),
}


def _at_counter(schedule, steps):
    """Values at the optimizer's own step variable (int64 or int32 by backend)."""
    counter = keras.optimizers.SGD().iterations
    lr = clr_keras.CoreSchedule(schedule)
    out = []
    for t in steps:
        counter.assign(t)
        out.append(float(_np(lr(counter))))
    return np.array(out)


@pytest.mark.parametrize("name", list(CYCLIC))
def test_float32_error_of_cyclic_policies_at_large_steps(name, capsys):
    schedule = CYCLIC[name]
    got = _at_counter(schedule, LARGE_STEPS)
    ref = np.array([schedule(t) for t in LARGE_STEPS])
    rel = np.abs(got - ref) / np.where(ref == 0, 1.0, np.abs(ref))
    with capsys.disabled():
        print(f"\n[{BACKEND}] {name}: max relative error {rel.max():.2e}")
    assert rel.max() <= 2.4e-7
    assert np.all(got[ref == 0] == 0)


@pytest.mark.parametrize("name", list(OTHERS))
def test_float32_error_of_every_schedule_at_large_steps(name):
    schedule = OTHERS[name]
    got = _at_counter(schedule, LARGE_STEPS)
    ref = np.array([schedule(t) for t in LARGE_STEPS])
    assert np.max(np.abs(got - ref)) <= 5e-7 * schedule.bounds()[1]


# ----------------------------------------------------------------- step counts at the edge


@pytest.mark.parametrize(
    ("make", "argument"),
    [
        (lambda: clr_keras.TriangularCyclicalLearningRate(1e-3, 6e-3, 10**400), "step_size"),
        (lambda: clr_keras.OneCycleSchedule(0.1, 10**400), "total_steps"),
        (
            lambda: clr_keras.CoreSchedule(
                clr_core.CosineRestarts(0.1, 10, 1).to_config() | {"T_0": 10**400}
            ),
            "T_0",
        ),
        (
            lambda: clr_keras.CoreSchedule(
                clr_core.Join([clr_core.Constant(0.1), clr_core.Constant(0.2)], [1]).to_config()
                | {"boundaries": [10**400]}
            ),
            "boundaries[0]",
        ),
    ],
    ids=["step_size", "total_steps", "T_0", "Join boundary"],
)
def test_huge_integers_are_refused_at_construction(make, argument):
    with pytest.raises(ValueError, match=rf"Argument `{re.escape(argument)}` must be <= "):
        make()


def test_huge_step_size_in_a_keras_file_is_refused_at_load(tmp_path):
    model = _tiny_model()
    model.compile(
        keras.optimizers.SGD(learning_rate=clr_keras.TriangularCyclicalLearningRate(0.1, 1, 4)),
        loss="mse",
    )
    model.save(tmp_path / "m.keras")
    _tamper(tmp_path / "m.keras", tmp_path / "bad.keras", "step_size", 10**400)
    with pytest.raises(ValueError, match="Argument `step_size` must be <= 9007199254740992"):
        keras.models.load_model(tmp_path / "bad.keras")


def test_a_join_beyond_the_piece_limit_is_refused_at_once():
    config = {
        "type": "Join",
        "schedules": [{"type": "Constant", "value": 0.1}] * 20_000,
        "boundaries": list(range(1, 20_000)),
    }
    with pytest.raises(ValueError, match="at most 1000"):
        clr_keras.CoreSchedule(config)


@pytest.mark.parametrize(
    "core",
    [
        clr_core.Triangular(0.1, 1.0, 2**30),
        clr_core.Triangular(0.1, 1.0, 2**40),
        clr_core.OneCycle(0.1, 2**31),
        clr_core.OneCycle(0.1, 2**45),
        clr_core.CosineRestarts(0.1, 2**40, 2),
        clr_core.Join([clr_core.Constant(0.1), clr_core.Constant(0.2)], [2**40]),
    ],
    ids=lambda s: f"{type(s).__name__}",
)
def test_step_counts_the_step_counter_cannot_take_fail_at_construction_not_in_fit(core):
    """Keras counts steps in int32 on JAX and torch: refused when built, or evaluated right."""
    try:
        lr = clr_keras.CoreSchedule(core)
    except ValueError as error:
        message = str(error)
        lr = None
    if lr is None:
        assert "must keep its step counts below 2**31" in message
        assert BACKEND != "tensorflow"  # an int64 counter takes them all
        return
    counter = keras.optimizers.SGD().iterations
    for t in (0, 5, 2**31 - 2):
        counter.assign(t)
        _close(_np(lr(counter)), core(t), core.bounds()[1])


def test_a_backend_failure_unrelated_to_step_counts_is_not_blamed_on_them(monkeypatch):
    # Seen on a GPU: JAX out of memory at the construction-time evaluation was reported as
    # "must keep its step counts below 2**31". Small counts: the backend's error, as it is.
    class DeviceError(RuntimeError):
        pass

    def fail(self, step, xp):
        raise DeviceError("RESOURCE_EXHAUSTED: out of memory")

    monkeypatch.setattr(clr_core.OneCycle, "evaluate", fail)
    with pytest.raises(DeviceError, match="RESOURCE_EXHAUSTED"):
        clr_keras.CoreSchedule(clr_core.OneCycle(0.1, 1000))
    with pytest.raises(ValueError, match="must keep its step counts below 2"):
        clr_keras.CoreSchedule(clr_core.OneCycle(0.1, 2**30))  # a count near it: said so


def test_jax_refuses_a_cycle_of_2_to_the_31_steps():
    make = lambda: clr_keras.TriangularCyclicalLearningRate(0.1, 1.0, 2**30)  # noqa: E731
    if BACKEND == "jax":
        with pytest.raises(ValueError, match="Argument `step_size` must keep its step counts"):
            make()
    else:
        assert make().step_size == 2**30
