"""What Keras' own tests check of a ``LearningRateSchedule``, checked of every clr_keras schedule.

Keras 3 tests its built-in schedules in
``keras/src/optimizers/schedules/learning_rate_schedule_test.py`` with
``TestCase.run_class_serialization_test`` (``keras/src/testing/test_case.py``),
values at Python, ``backend.Variable`` (float32 and int64) steps with
``assertAllClose(..., 1e-6)``, and a ``model.fit`` whose optimizer holds only
its ``iterations`` variable; ``optimizers/optimizer_test.py`` and the
``LearningRateScheduler``/``ReduceLROnPlateau`` tests check how an optimizer
holds a schedule; ``base_optimizer.get_config``/``from_config`` serialise it.
Each check is re-created here (written anew, generically) and run against
every public clr_keras schedule class *and* one Keras built-in
(``CosineDecayRestarts``, the ``keras`` subject), so the expectations are
proved to be Keras' own. Where clr_keras differs on purpose, the test
``test_differences_from_keras`` pins both behaviours; docs/keras.md lists
them ("Differences from Keras' schedules").
"""

from __future__ import annotations

import copy
import json
import math
import os
import pickle
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from keras import ops

import clr_core
import clr_keras
from clr_keras._util import to_numpy

BACKEND = keras.backend.backend()
SCHEDULES = keras.optimizers.schedules


def _sgdr(config, step):
    """Keras' CosineDecayRestarts, written independently in float64 (restart by restart)."""
    length, factor, t = float(config["first_decay_steps"]), 1.0, float(step)
    while t >= length:
        t, length, factor = t - length, length * config["t_mul"], factor * config["m_mul"]
    cosine = 0.5 * factor * (1.0 + math.cos(math.pi * t / length))
    return config["initial_learning_rate"] * ((1.0 - config["alpha"]) * cosine + config["alpha"])


def _core(schedule, step):
    """A clr_keras schedule's value: its core schedule on Python numbers (float64)."""
    return schedule.schedule(int(step))


# (class, constructor keywords, reference value in float64)
SUBJECTS = {
    "keras": (
        SCHEDULES.CosineDecayRestarts,
        {
            "initial_learning_rate": 0.1,
            "first_decay_steps": 10,
            "t_mul": 2.0,
            "m_mul": 0.9,
            "alpha": 0.1,
            "name": "my_cdr",
        },
        lambda s, t: _sgdr(s.get_config(), t),
    ),
    "CoreSchedule": (
        clr_keras.CoreSchedule,
        {
            "schedule": clr_core.Join(
                [
                    clr_core.OneCycle(0.1, total_steps=40, three_phase=True),
                    clr_core.CosineRestarts(0.1, T_0=7, T_mult=2, eta_min=0.001, decay=0.8),
                    clr_core.ExpRange(0.01, 0.1, step_size_up=9, gamma=0.995),
                ],
                boundaries=[40, 90],
            ).to_config(),
            "name": "my_core",
        },
        _core,
    ),
    "CoreSchedule-unnamed": (
        clr_keras.CoreSchedule,
        {"schedule": clr_core.Triangular2(0.01, 0.1, step_size_up=6).to_config(), "name": None},
        _core,
    ),
    "Triangular": (
        clr_keras.TriangularCyclicalLearningRate,
        {
            "initial_learning_rate": 0.01,
            "maximal_learning_rate": 0.1,
            "step_size": 7,
            "scale_mode": "cycle",
            "name": "tri",
        },
        _core,
    ),
    "Triangular2": (
        clr_keras.Triangular2CyclicalLearningRate,
        {
            "initial_learning_rate": 0.01,
            "maximal_learning_rate": 0.1,
            "step_size": 6,
            "scale_mode": "iterations",
            "name": "tri2",
        },
        _core,
    ),
    "Exponential": (
        clr_keras.ExponentialCyclicalLearningRate,
        {
            "initial_learning_rate": 0.01,
            "maximal_learning_rate": 0.1,
            "step_size": 5,
            "scale_mode": "iterations",
            "gamma": 0.99,
            "name": "exp",
        },
        _core,
    ),
    "OneCycle": (
        clr_keras.OneCycleSchedule,
        {
            "max_lr": 0.1,
            "total_steps": 100,
            "pct_start": 0.3,
            "anneal_strategy": "cos",
            "div_factor": 25.0,
            "final_div_factor": 1e4,
            "three_phase": False,
            "name": "ocs",
        },
        _core,
    ),
    "Scaled": (
        clr_keras.ScaledSchedule,
        {
            "schedule": clr_keras.CoreSchedule(clr_core.Triangular(0.01, 0.1, step_size_up=6)),
            "factor": 0.25,
            "name": "scaled",
        },
        lambda s, t: s.factor * s.schedule.schedule(int(t)),
    ),
}
IDS = list(SUBJECTS)
STEPS = list(range(0, 260, 3))  # every subject: warm-up, restarts, cycles, the end held


def test_every_public_schedule_class_is_a_subject():
    """A new public schedule class must join the subjects (and so every check here)."""
    public = {
        obj
        for name in clr_keras.__all__
        if isinstance(obj := getattr(clr_keras, name), type)
        and issubclass(obj, SCHEDULES.LearningRateSchedule)
    }
    assert public == {cls for cls, _, _ in SUBJECTS.values()} - {SCHEDULES.CosineDecayRestarts}


@pytest.fixture(params=IDS)
def subject(request):
    cls, kwargs, reference = SUBJECTS[request.param]
    return cls, dict(kwargs), reference


def _np(value):
    return to_numpy(value) if isinstance(value, keras.Variable) or ops.is_tensor(value) else value


def _assert_close(got, expected):
    """Keras' tolerance in these tests: ``assertAllClose(x, expected, 1e-6)`` (atol=rtol=1e-6)."""
    np.testing.assert_allclose(_np(got), expected, atol=1e-6, rtol=1e-6)


def _values(schedule, steps=STEPS):
    """The schedule at ``steps``, one vectorised call on an int32 tensor (the optimizer's path)."""
    return _np(schedule(ops.convert_to_tensor(np.asarray(steps), dtype="int32"))).astype(float)


def _json_keeping_tuples(value):
    """JSON text in which a tuple and a list differ (as Keras' serialization test encodes)."""

    def encode(obj):
        if isinstance(obj, tuple):
            return {"__tuple__": [encode(v) for v in obj]}
        if isinstance(obj, list):
            return [encode(v) for v in obj]
        if isinstance(obj, dict):
            return {k: encode(v) for k, v in obj.items()}
        return obj

    return json.dumps(encode(value), sort_keys=True)


def _attributes(obj):
    return set(dir(obj)) - {"__annotations__"}


# ------------------------------------------------- run_class_serialization_test


def test_from_config_of_get_config_is_the_same_schedule(subject):
    """``cls.from_config(get_config())``: the same config, the same attributes, the same values."""
    cls, kwargs, reference = subject
    schedule = cls(**kwargs)
    config = schedule.get_config()
    assert json.loads(json.dumps(config)) == config  # plain JSON data
    revived = cls.from_config(config)
    assert _json_keeping_tuples(revived.get_config()) == _json_keeping_tuples(config)
    assert _attributes(revived) == _attributes(schedule)
    np.testing.assert_array_equal(_values(revived), _values(schedule))
    _assert_close(_values(schedule), [reference(schedule, t) for t in STEPS])


def test_serialize_keras_object_through_json_is_the_same_schedule(subject):
    cls, kwargs, _ = subject
    schedule = cls(**kwargs)
    blob = json.dumps(keras.saving.serialize_keras_object(schedule))
    revived = keras.saving.deserialize_keras_object(json.loads(blob))
    assert type(revived) is cls
    assert _json_keeping_tuples(revived.get_config()) == _json_keeping_tuples(schedule.get_config())
    assert _attributes(revived) == _attributes(schedule)
    np.testing.assert_array_equal(_values(revived), _values(schedule))


def test_schedules_serialize_and_deserialize(subject):
    """``keras.optimizers.schedules.serialize/deserialize``: a JSON dict naming the class."""
    cls, kwargs, _ = subject
    schedule = cls(**kwargs)
    serialized = SCHEDULES.serialize(schedule)
    assert set(serialized) == {"module", "class_name", "config", "registered_name"}
    assert serialized["class_name"] == cls.__name__
    if cls is not SCHEDULES.CosineDecayRestarts:  # registered: found by this name at load
        assert serialized["registered_name"] == f"clr_keras>{cls.__name__}"
        assert keras.saving.get_registered_object(serialized["registered_name"]) is cls
    assert serialized["config"] == schedule.get_config()
    revived = SCHEDULES.deserialize(json.loads(json.dumps(serialized)))
    assert type(revived) is cls
    assert revived.get_config() == schedule.get_config()
    np.testing.assert_array_equal(_values(revived), _values(schedule))


def test_name_is_an_attribute_kept_in_the_config(subject):
    cls, kwargs, _ = subject
    schedule = cls(**kwargs)
    assert schedule.name == kwargs["name"] == schedule.get_config()["name"]
    renamed = cls.from_config({**schedule.get_config(), "name": "renamed"})
    assert renamed.name == "renamed"
    np.testing.assert_array_equal(_values(renamed), _values(schedule))


# ------------------------------------------------------------ values and steps

# integer-valued steps every dtype below represents exactly (int8: <= 127, bfloat16: <= 256)
SMALL_STEPS = [0, 1, 5, 37, 64, 100, 120, 127]
STEP_DTYPES = [
    "int8",
    "uint8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
]


@pytest.mark.parametrize("dtype", STEP_DTYPES)
def test_a_step_tensor_of_any_int_or_float_dtype_gives_a_float32_scalar(subject, dtype):
    """Keras' schedules cast any step to float32; every dtype gives the same, right values."""
    cls, kwargs, reference = subject
    schedule = cls(**kwargs)
    value = schedule(ops.convert_to_tensor(SMALL_STEPS[-1], dtype=dtype))
    assert keras.backend.standardize_dtype(value.dtype) == "float32"
    assert tuple(value.shape) == ()
    _assert_close(value, reference(schedule, SMALL_STEPS[-1]))
    values = schedule(ops.convert_to_tensor(np.asarray(SMALL_STEPS), dtype=dtype))
    _assert_close(values, [reference(schedule, t) for t in SMALL_STEPS])
    if dtype != "bfloat16":  # NumPy has no bfloat16
        values = schedule(np.asarray(SMALL_STEPS, dtype=dtype))
        _assert_close(values, [reference(schedule, t) for t in SMALL_STEPS])


def test_python_and_numpy_steps(subject):
    cls, kwargs, reference = subject
    schedule = cls(**kwargs)
    for t in (0, 5, 37, 250):
        for step in (t, float(t), np.int64(t), np.int32(t), np.float32(t), np.float64(t)):
            value = schedule(step)
            assert keras.backend.standardize_dtype(value.dtype) == "float32"
            _assert_close(value, reference(schedule, t))


@pytest.mark.parametrize("dtype", ["float32", "int32", "int64"])
def test_a_variable_step_assigned_between_calls(subject, dtype):
    """Keras' ``test_staircase``/``test_variables`` (float32) and ``test_boundary_values``
    (int64): one step variable, assigned, read at each call."""
    cls, kwargs, reference = subject
    schedule = cls(**kwargs)
    step = keras.Variable(0, dtype=dtype, trainable=False)
    for t in (1, 2, 3, 4, 30, 100, 250):
        step.assign(t)
        _assert_close(schedule(step), reference(schedule, t))


def test_the_rate_is_float32_whatever_floatx_and_policy(subject):
    """A Keras built-in returns the dtype of its rate as a tensor: float32 on TensorFlow and
    JAX whatever floatx, floatx on torch. clr_keras returns float32 on every backend."""
    cls, kwargs, _ = subject
    try:
        keras.config.set_floatx("float64")
        schedule = cls(**kwargs)
        builtin = keras.backend.standardize_dtype(ops.convert_to_tensor(0.1).dtype)
        assert builtin == ("float64" if BACKEND == "torch" else "float32")
        expected = builtin if cls is SCHEDULES.CosineDecayRestarts else "float32"
        assert keras.backend.standardize_dtype(schedule(7).dtype) == expected
        keras.config.set_floatx("float32")
        keras.mixed_precision.set_global_policy("mixed_float16")
        step = ops.convert_to_tensor(7, dtype="int64")
        assert keras.backend.standardize_dtype(schedule(step).dtype) == "float32"
    finally:
        keras.config.set_floatx("float32")
        keras.mixed_precision.set_global_policy("float32")


def test_numpy_scalar_arguments(subject):
    """Keras' ``test_float64``: NumPy scalars as arguments give the same schedule and config.

    The dtype differs (docs/keras.md): a Keras built-in computes in the dtype of its
    ``initial_learning_rate`` (float64 for ``np.float64`` where the backend has it);
    a clr_keras schedule takes the value and returns float32 as always.
    """
    cls, kwargs, reference = subject
    numpy_kwargs = {
        k: (
            np.float64(v)
            if isinstance(v, float)
            else np.int64(v)
            if isinstance(v, int) and not isinstance(v, bool)
            else v
        )
        for k, v in kwargs.items()
    }
    schedule, plain = cls(**numpy_kwargs), cls(**kwargs)
    assert json.loads(json.dumps(SCHEDULES.serialize(schedule))) == SCHEDULES.serialize(plain)
    _assert_close(_values(schedule), [reference(plain, t) for t in STEPS])
    dtype = keras.backend.standardize_dtype(schedule(7).dtype)
    if cls is SCHEDULES.CosineDecayRestarts:
        assert dtype == keras.backend.standardize_dtype(ops.convert_to_tensor(np.float64(1)).dtype)
    else:
        assert dtype == "float32"
        np.testing.assert_array_equal(_values(schedule), _values(plain))


def test_a_compiled_call(subject):
    """The schedule traced once, with the step as a traced int32 argument (XLA / jax.jit)."""
    cls, kwargs, reference = subject
    schedule = cls(**kwargs)
    traces = []

    def rate(step):
        traces.append(1)
        return schedule(step)

    if BACKEND == "tensorflow":
        import tensorflow as tf

        compiled = tf.function(rate, jit_compile=True, reduce_retracing=True)
        spec = tf.TensorSpec((), tf.int32)
        compiled = compiled.get_concrete_function(spec)
    elif BACKEND == "jax":
        import jax

        compiled = jax.jit(rate)
    else:  # torch: eager tensors (torch.compile is not part of Keras' schedule contract)
        compiled = rate
    steps = [0, 3, 10, 29, 77, 250]
    for t in steps:
        value = compiled(ops.convert_to_tensor(t, dtype="int32"))
        assert keras.backend.standardize_dtype(value.dtype) == "float32"
        _assert_close(value, reference(schedule, t))
    assert len(traces) == (len(steps) if BACKEND == "torch" else 1)


def test_pickle_and_deepcopy(subject):
    cls, kwargs, _ = subject
    schedule = cls(**kwargs)
    for copied in (pickle.loads(pickle.dumps(schedule)), copy.deepcopy(schedule)):
        assert type(copied) is cls
        assert copied.get_config() == schedule.get_config()
        np.testing.assert_array_equal(_values(copied), _values(schedule))


# ------------------------------------------------------------ in an optimizer


def _at_step(optimizer, t):
    optimizer.iterations.assign(t)
    return float(_np(optimizer.learning_rate))


@pytest.mark.parametrize("optimizer_cls", [keras.optimizers.SGD, keras.optimizers.Adam])
def test_optimizer_get_config_and_from_config(subject, optimizer_cls):
    cls, kwargs, reference = subject
    schedule = cls(**kwargs)
    optimizer = optimizer_cls(learning_rate=schedule)
    config = optimizer.get_config()
    assert config["learning_rate"] == SCHEDULES.serialize(schedule)
    revived = optimizer_cls.from_config(json.loads(json.dumps(config)))
    assert type(revived._learning_rate) is cls
    assert revived._learning_rate.get_config() == schedule.get_config()
    assert revived.get_config() == config
    for t in (0, 9, 41, 250):
        _assert_close(_at_step(revived, t), reference(schedule, t))
        assert _at_step(revived, t) == _at_step(optimizer, t)


def test_keras_optimizers_serialize_and_deserialize(subject):
    cls, kwargs, reference = subject
    schedule = cls(**kwargs)
    blob = json.dumps(keras.optimizers.serialize(keras.optimizers.SGD(schedule, momentum=0.9)))
    revived = keras.optimizers.deserialize(json.loads(blob))
    assert isinstance(revived, keras.optimizers.SGD)  # torch: its TorchSGD subclass
    assert revived.momentum == 0.9
    assert type(revived._learning_rate) is cls
    assert revived._learning_rate.get_config() == schedule.get_config()
    _assert_close(_at_step(revived, 17), reference(schedule, 17))
    # mixed precision wraps the optimizer: the schedule travels inside the inner one
    wrapped = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(schedule))
    blob = json.dumps(keras.optimizers.serialize(wrapped))
    revived = keras.optimizers.deserialize(json.loads(blob))
    assert isinstance(revived, keras.optimizers.LossScaleOptimizer)
    assert type(revived.inner_optimizer._learning_rate) is cls
    assert revived.inner_optimizer._learning_rate.get_config() == schedule.get_config()
    revived.inner_optimizer.iterations.assign(23)
    _assert_close(revived.learning_rate, reference(schedule, 23))


def test_a_scheduled_optimizer_holds_only_its_iterations(subject):
    """Keras' ``test_fit_lr_correctness`` (one variable, 0) and
    ``test_setting_lr_to_callable_untracks_lr_var`` (2 variables become 1)."""
    cls, kwargs, _ = subject
    optimizer = keras.optimizers.Adam(learning_rate=cls(**kwargs))
    assert len(optimizer.variables) == 1
    assert int(_np(optimizer.variables[0])) == 0
    optimizer = keras.optimizers.Adam(learning_rate=0.001)
    assert len(optimizer.variables) == 2
    optimizer.learning_rate = cls(**kwargs)
    assert len(optimizer.variables) == 1
    assert type(optimizer._learning_rate) is cls


def test_setting_a_rate_on_a_scheduled_optimizer_is_refused(subject):
    """What ``LearningRateScheduler`` and ``ReduceLROnPlateau`` hit (Keras tests both)."""
    cls, kwargs, _ = subject
    optimizer = keras.optimizers.SGD(learning_rate=cls(**kwargs))
    with pytest.raises(TypeError, match="This optimizer was created with a `LearningRateSchedule`"):
        optimizer.learning_rate = 0.5


def test_fit_applies_the_rate_of_each_step(subject):
    """Keras' ``test_fit_lr_correctness``: Dense(2) from ones, 3 epochs of 4 batches of 4,
    compiled; the weights must be those of SGD stepped by hand with the reference rates."""
    cls, kwargs, reference = subject
    schedule = cls(**kwargs)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(2, kernel_initializer="ones", bias_initializer="ones"),
        ]
    )
    optimizer = keras.optimizers.SGD(learning_rate=schedule)
    model.compile(optimizer=optimizer, loss="mse", jit_compile=True)
    x = np.arange(32, dtype="float32").reshape((16, 2)) / 32.0
    y = x[:, ::-1] * 0.5
    model.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0)
    assert int(_np(optimizer.iterations)) == 4 * 3

    kernel, bias = np.ones((2, 2)), np.ones(2)
    for t in range(12):
        xb, yb = x[4 * (t % 4) : 4 * (t % 4) + 4].astype(float), y[4 * (t % 4) : 4 * (t % 4) + 4]
        residual = (xb @ kernel + bias - yb) / len(xb)  # d(mean squared error)/d(output)
        lr = reference(schedule, t)
        kernel, bias = kernel - lr * xb.T @ residual, bias - lr * residual.sum(0)
    got_kernel, got_bias = (_np(w) for w in model.layers[0].weights)
    np.testing.assert_allclose(got_kernel, kernel, rtol=1e-5)
    np.testing.assert_allclose(got_bias, bias, rtol=1e-5)
    _assert_close(optimizer.learning_rate, reference(schedule, 12))


_LOAD = textwrap.dedent(
    """
    import json, sys
    import keras
    import numpy as np
    from keras import ops

    paths = json.loads(sys.argv[1])
    try:  # before `import clr_keras`, Keras cannot locate the classes
        keras.models.load_model(paths["Triangular"])
        before = "loaded"
    except TypeError as error:
        before = str(error)
    import clr_keras  # noqa: F401

    out = {"before": before}
    for key, path in paths.items():
        opt = keras.models.load_model(path).optimizer
        lr = opt._learning_rate
        out[key] = {
            "class": type(lr).__name__,
            "config": lr.get_config(),
            "iterations": int(ops.convert_to_numpy(opt.iterations)),
            "lr": float(ops.convert_to_numpy(opt.learning_rate)),
        }
    print("RESULT " + json.dumps(out))
    """
)


def test_model_save_and_load_model_in_a_fresh_process(tmp_path):
    """``model.save`` here, ``load_model`` in a new process that imports clr_keras first."""
    paths, expected = {}, {}
    x, y = np.ones((6, 3), "float32"), np.zeros((6, 2), "float32")
    for key, (cls, kwargs, reference) in SUBJECTS.items():
        schedule = cls(**kwargs)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile(keras.optimizers.SGD(learning_rate=schedule, momentum=0.9), loss="mse")
        model.fit(x, y, batch_size=2, epochs=1, verbose=0)  # 3 steps
        paths[key] = str(tmp_path / f"{key}.keras")
        model.save(paths[key])
        expected[key] = (cls.__name__, schedule.get_config(), reference(schedule, 3))
        keras.backend.clear_session()
    env = dict(os.environ, KERAS_BACKEND=BACKEND, TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    proc = subprocess.run(
        [sys.executable, "-c", _LOAD, json.dumps(paths)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT ") :])
    assert "Could not locate class 'TriangularCyclicalLearningRate'" in out["before"]
    for key, (name, config, lr) in expected.items():
        assert out[key]["class"] == name
        assert out[key]["config"] == config
        assert out[key]["iterations"] == 3
        np.testing.assert_allclose(out[key]["lr"], lr, atol=1e-6, rtol=1e-6)


# ---------------------------------------------- deliberate differences (docs/keras.md)


def test_differences_from_keras(subject):
    """Where clr_keras refuses what a Keras built-in accepts (docs/keras.md lists why).

    * A fractional or negative Python/NumPy step: Keras evaluates its formula
      there; clr_keras raises ValueError (an optimizer step is a whole number >= 0).
    * A config with an unknown or a missing key: Keras' ``cls(**config)`` raises
      TypeError; clr_keras raises ValueError naming the keys.
    * ``name``: Keras' ``__call__`` opens ``keras.name_scope(name)``, which refuses
      ``None`` and names with ``/`` at the first call; clr_keras opens none, and
      ``CoreSchedule``'s default name is ``None`` (Keras' default names are strings).
    * The rate's dtype: see ``test_numpy_scalar_arguments``.
    """
    cls, kwargs, reference = subject
    schedule = cls(**kwargs)
    config = schedule.get_config()
    unknown, missing = {**config, "warmup": 3}, {k: v for k, v in config.items() if k != "name"}
    missing.pop(next(iter(config)))
    if cls is SCHEDULES.CosineDecayRestarts:
        _assert_close(schedule(2.5), reference(schedule, 2.5))
        assert np.isfinite(float(_np(schedule(-3))))
        for bad in (unknown, missing):
            with pytest.raises(TypeError):
                cls.from_config(bad)
        assert isinstance(cls(*list(kwargs.values())[:2]).name, str)
        for name in (None, "a/b"):
            with pytest.raises(ValueError, match="Argument `name` must be a string"):
                cls.from_config({**config, "name": name})(3)
        return
    for step, message in ((2.5, "whole number"), (-3, ">= 0"), (np.array([1, -1]), ">= 0")):
        with pytest.raises(ValueError, match=f"Argument `step` must be .*{message}"):
            schedule(step)
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['warmup'\]"):
        cls.from_config(unknown)
    with pytest.raises(ValueError, match=r"missing key\(s\)"):
        cls.from_config(missing)
    default = cls.from_config({k: v for k, v in config.items() if k != "name"}).name
    assert default == (None if cls is clr_keras.CoreSchedule else cls.__name__)
    for name in (None, "a/b"):
        _assert_close(cls.from_config({**config, "name": name})(3), reference(schedule, 3))
