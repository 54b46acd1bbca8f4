"""Keras learning-rate schedules over the clr_core formulas.

:class:`CoreSchedule` wraps any :class:`clr_core.Schedule` as a
``keras.optimizers.schedules.LearningRateSchedule``. Its ``__call__`` is the
core formula evaluated on ``keras.ops`` at the optimizer's step, as the step
is (an integer variable),

    lr(step) = float32(schedule.evaluate(step, keras.ops))

so the value inside a compiled train step (``tf.function``, XLA, ``jax.jit``,
torch) is the same expression the core evaluates on Python numbers. The core
takes the position inside a cycle or a piece from the integer step first
(``step mod T``), so the float32 result is off only by the rounding of the
final value at any step: measured at most 1.2e-7 relative (one float32 ulp)
near steps 1e6, 1e7, 2e7 and 2**24 + 1 on all three backends; the tests
allow 4 ulps (4.8e-7). A Python or NumPy step (a call outside training) is
evaluated by the core in double precision and rounded once to float32. No
formula is restated here.

The named classes carry the argument names of tensorflow-addons'
``CyclicalLearningRate`` family (``initial_learning_rate``,
``maximal_learning_rate``, ``step_size`` = half a cycle, ``scale_mode``,
``gamma``) and of PyTorch's ``OneCycleLR``; each builds the equivalent core
schedule and is otherwise a :class:`CoreSchedule`.

Every class is registered with
``keras.saving.register_keras_serializable(package="clr_keras")``, so a model
compiled with one saves to ``.keras`` and loads back with
``keras.models.load_model`` once ``clr_keras`` is imported. ``get_config()``
returns exactly the constructor's keywords as plain JSON data.
"""

from __future__ import annotations

import inspect
import math
import numbers
from typing import Any

import keras
import numpy as np
from keras import ops
from keras.optimizers.schedules import LearningRateSchedule

import clr_core
from clr_core import validation
from clr_core.rangetest import Plan
from clr_core.validation import argument_names, choice, fail, short_repr

__all__ = [
    "CoreSchedule",
    "TriangularCyclicalLearningRate",
    "Triangular2CyclicalLearningRate",
    "ExponentialCyclicalLearningRate",
    "OneCycleSchedule",
    "ScaledSchedule",
]

#: The largest float32: the dtype every schedule is evaluated in inside Keras.
FLOAT32_MAX = float(np.finfo(np.float32).max)


def _core_schedule(value: Any) -> clr_core.Schedule:
    if isinstance(value, Plan):
        return value.lr
    if isinstance(value, dict):
        value = clr_core.from_config(value)
    if not isinstance(value, clr_core.Schedule):
        raise fail(
            "schedule",
            "a clr_core schedule, its to_config() dict or a clr_core.rangetest.Plan",
            value,
            TypeError,
        )
    return value


def _check_float32(rates: tuple[float, ...], argument: str, received: Any) -> None:
    """Refuse rates that overflow float32 (they would be inf in Keras, then NaN weights)."""
    if not all(math.isfinite(r) and abs(r) <= FLOAT32_MAX for r in rates):
        reach = max(abs(r) for r in rates)
        raise ValueError(
            f"Argument `{argument}` must give rates representable in float32, the dtype "
            f"Keras evaluates schedules in (at most {FLOAT32_MAX:.9g}); the rates reach "
            f"{reach!r}. Received: {argument}={short_repr(received)}"
        )


def _step_total(config: Any) -> int:
    """The sum of the integers in a schedule's config (its step counts; rates are floats)."""
    if isinstance(config, dict):
        return sum(_step_total(v) for v in config.values())
    if isinstance(config, (list, tuple)):
        return sum(_step_total(v) for v in config)
    if isinstance(config, int) and not isinstance(config, bool):
        return abs(config)
    return 0


def _check_int32_steps(schedule: clr_core.Schedule, argument: str, received: Any) -> None:
    """Evaluate the schedule once at an int32 step tensor, as a train step will.

    Keras counts optimizer steps in int32 on the JAX and torch backends (int64
    on TensorFlow). A step count the schedule holds (a cycle length, a phase
    end, a boundary) that the backend cannot combine with an int32 step
    (JAX: above 2**31 - 1; torch: some beyond it) would fail the first train
    step; it is refused here, at construction or load, instead.
    """
    try:
        schedule.evaluate(ops.convert_to_tensor(0, dtype="int32"), ops)
    except Exception as error:  # any backend's conversion error: said once, clearly
        if 4 * _step_total(schedule.to_config()) < 2**31:
            raise  # no count it holds (nor a cycle of them) nears 2**31: not the steps
        raise ValueError(
            f"Argument `{argument}` must keep its step counts below 2**31 = {2**31}: Keras "
            "counts optimizer steps in int32 on the JAX and torch backends, and evaluating "
            f"the schedule at an int32 step failed ({type(error).__name__}: "
            f"{str(error)[:200]}). Received: {argument}={short_repr(received)}"
        ) from error


def _check_config(cls: type, config: Any, required: tuple[str, ...]) -> dict[str, Any]:
    """A config dict for ``cls(**config)``: known keys only, the required ones present."""
    name = cls.__name__
    if not isinstance(config, dict):
        raise fail("config", f"a dict (the {name} config)", config, TypeError)
    allowed = list(inspect.signature(cls).parameters)
    unknown = sorted(k if isinstance(k, str) else short_repr(k) for k in config if k not in allowed)
    missing = [k for k in required if k not in config]
    if unknown or missing:
        problem = "; ".join(
            part
            for part in (
                f"unknown key(s) {short_repr(unknown)}" if unknown else "",
                f"missing key(s) {missing}" if missing else "",
            )
            if part
        )
        raise ValueError(
            f"Argument `config` must hold the keywords of {name} ({allowed}): {problem}. "
            f"Received: config={short_repr(config)}"
        )
    return dict(config)


def _host_steps(step: Any) -> Any:
    """Python and NumPy steps, validated as the core validates them; ``None`` for tensors.

    Returns an ``int`` for a scalar (exact at any size) or an int64 array.
    Negative, fractional, NaN, bool and string steps are refused. Backend
    tensors and Keras variables (the optimizer's ``iterations``, which Keras
    keeps non-negative) are not inspected: inside a compiled step their values
    are not known.
    """
    if isinstance(step, (bool, np.bool_, str, bytes)):
        raise fail("step", "a non-negative integer", step, TypeError)
    if isinstance(step, numbers.Integral):
        return validation.step(int(step))
    if not isinstance(step, (numbers.Number, np.ndarray, np.generic, list, tuple)):
        return None
    values = np.asarray(step)
    if values.dtype.kind not in "iuf":
        raise fail("step", "a non-negative integer", step, TypeError)
    if values.dtype.kind == "f" and not np.all(np.isfinite(values) & (values == np.floor(values))):
        raise fail("step", "a whole number of optimizer steps (an integer)", step)
    if np.any(values < 0):
        raise fail("step", ">= 0", step)
    if values.ndim == 0 and values.dtype.kind == "f":
        return int(values)
    return values.astype(np.int64)  # also widens int8/uint8 arrays, which would wrap


#: Step dtypes the core's arithmetic is not exact in (``step mod T`` wraps in int8, a
#: float16 step of 100 divided by 200 is off by 1e-4; TensorFlow will not subtract an
#: int64 from a uint32): widened before evaluation.
_WIDER_STEP = {
    "int8": "int32",
    "int16": "int32",
    "uint8": "int32",
    "uint16": "int32",
    "uint32": "int64",  # TensorFlow mixes no unsigned with signed integers
    "uint64": "int64",
    "float16": "float32",
    "bfloat16": "float32",
}


def _widened(step: Any) -> Any:
    """A step tensor or variable in a dtype the formula is exact in (int32/64, float32/64).

    Keras' built-in schedules cast any step to float32; the core keeps integer
    steps integral (exact position in a cycle at any step), so only narrow
    and unsigned dtypes are widened: 8- and 16-bit integers to int32, unsigned
    32- and 64-bit ones to int64 (int32 on JAX without x64, as Keras' own step
    counter), half floats to float32. The optimizer's counter passes as is.
    """
    dtype = getattr(step, "dtype", None)
    wider = None if dtype is None else _WIDER_STEP.get(keras.backend.standardize_dtype(dtype))
    return step if wider is None else ops.cast(step, wider)


def _name(value: Any, default: str | None) -> str | None:
    if value is None:
        return default
    if not isinstance(value, str):
        raise fail("name", "a str or None", value, TypeError)
    return value


@keras.saving.register_keras_serializable(package="clr_keras")
class CoreSchedule(LearningRateSchedule):  # type: ignore[misc]
    """A Keras ``LearningRateSchedule`` evaluating a clr_core schedule in ``keras.ops``.

    .. math::

        \\eta(t) = \\text{schedule.evaluate}(\\text{float32}(t), \\text{keras.ops})

    with ``t`` the optimizer's ``iterations`` (0 for the first update), which
    is the core's step. Works eagerly and inside compiled train steps on the
    TensorFlow, JAX and torch backends, with one trace per train function.

    Parameters
    ----------
    schedule : clr_core.Schedule, dict or clr_core.rangetest.Plan
        Any core schedule (or its ``to_config()`` data), e.g.
        ``clr_core.Triangular(1e-3, 6e-3, step_size_up=2000)``, or the plan
        of ``result.recommend(...)``, whose rate ``plan.lr`` is taken (its
        momentum goes to :class:`clr_keras.CyclicalMomentum`). The schedule is
        what is kept: ``self.schedule``, ``get_config()`` and a ``.keras`` file
        hold ``plan.lr``, not the plan (its policy and reasons are not saved),
        so a loaded model's schedule equals ``CoreSchedule(plan.lr)``.
    name : str, optional
        Name of the schedule (a Keras convention; not used in the math).

    Examples
    --------
    >>> import clr_core, clr_keras, keras
    >>> lr = clr_keras.CoreSchedule(clr_core.Triangular(0.001, 0.006, step_size_up=2))
    >>> optimizer = keras.optimizers.SGD(learning_rate=lr, momentum=0.9)
    >>> [round(float(lr(t)), 6) for t in range(5)]
    [0.001, 0.0035, 0.006, 0.0035, 0.001]
    """

    def __init__(self, schedule: Any, name: str | None = None) -> None:
        super().__init__()
        core = _core_schedule(schedule)
        _check_float32(core.bounds(), "schedule", schedule)
        _check_int32_steps(core, "schedule", schedule)
        self.schedule = core
        self.name = _name(name, None)

    def __call__(self, step: Any) -> Any:
        host = _host_steps(step)
        if host is None:  # a tensor or variable: the core formula on keras.ops, as it is
            return ops.cast(self.schedule.evaluate(_widened(step), ops), "float32")
        if isinstance(host, int):
            value: Any = self.schedule(host)
        else:
            value = np.broadcast_to(self.schedule.evaluate(host, np), host.shape)
        return ops.convert_to_tensor(np.asarray(value, dtype=np.float32))

    def get_config(self) -> dict[str, Any]:
        return {"schedule": self.schedule.to_config(), "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> CoreSchedule:
        return cls(**_check_config(cls, config, required=("schedule",)))

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return bool(self.get_config() == other.get_config())

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.schedule, self.name))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.schedule!r})"


class _NamedSchedule(CoreSchedule):
    """A :class:`CoreSchedule` whose config is its own (TFA-style) keywords."""

    _keywords: tuple[str, ...] = ()  # the constructor's keywords, in order

    _required: tuple[str, ...] = ()  # the keywords without a default

    def get_config(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self._keywords}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> CoreSchedule:
        return cls(**_check_config(cls, config, required=cls._required))


#: tensorflow-addons' argument names for the core's.
_TFA_NAMES = {
    "base_lr": "initial_learning_rate",
    "max_lr": "maximal_learning_rate",
    "step_size_up": "step_size",
}


class _TFACyclic(_NamedSchedule):
    _keywords: tuple[str, ...] = (
        "initial_learning_rate",
        "maximal_learning_rate",
        "step_size",
        "scale_mode",
        "name",
    )
    _required = ("initial_learning_rate", "maximal_learning_rate", "step_size")

    def _build(
        self,
        initial_learning_rate: Any,
        maximal_learning_rate: Any,
        step_size: Any,
        scale_mode: Any,
        scale: clr_core.Scale,
        name: Any,
    ) -> None:
        choice("scale_mode", scale_mode, ("cycle", "iterations"))
        with argument_names(_TFA_NAMES):
            core = clr_core.Cyclic(
                base_lr=initial_learning_rate,
                max_lr=maximal_learning_rate,
                step_size_up=step_size,
                scale=scale,
                scale_mode=scale_mode,
            )
        _check_float32(core.bounds(), "maximal_learning_rate", maximal_learning_rate)
        _check_int32_steps(core, "step_size", step_size)
        CoreSchedule.__init__(self, core, name=_name(name, type(self).__name__))
        # Normalised by the core (floats, int step size).
        self.initial_learning_rate = core.base_lr
        self.maximal_learning_rate = core.max_lr
        self.step_size = core.step_size_up
        self.scale_mode = scale_mode


@keras.saving.register_keras_serializable(package="clr_keras")
class TriangularCyclicalLearningRate(_TFACyclic):
    """tensorflow-addons' ``TriangularCyclicalLearningRate`` on the core formula.

    .. math::

        c = \\lfloor 1 + t / (2 s) \\rfloor,\\quad x = |t / s - 2 c + 1|,\\quad
        \\eta_t = \\eta_0 + (\\eta_1 - \\eta_0) \\max(0, 1 - x)

    i.e. ``clr_core.Cyclic(initial_learning_rate, maximal_learning_rate,
    step_size_up=step_size, scale_mode=scale_mode)``.

    Parameters
    ----------
    initial_learning_rate, maximal_learning_rate : float
        Cycle bounds ``eta_0 <= eta_1``.
    step_size : int
        Half a cycle in optimizer steps (TFA's meaning; PyTorch's ``step_size_up``).
    scale_mode : {"cycle", "iterations"}
        Kept for TFA compatibility; the triangular scale is 1 either way.
    name : str, optional
    """

    def __init__(
        self,
        initial_learning_rate: float,
        maximal_learning_rate: float,
        step_size: int,
        scale_mode: str = "cycle",
        name: str | None = "TriangularCyclicalLearningRate",
    ) -> None:
        self._build(
            initial_learning_rate,
            maximal_learning_rate,
            step_size,
            scale_mode,
            clr_core.ConstantScale(),
            name,
        )


@keras.saving.register_keras_serializable(package="clr_keras")
class Triangular2CyclicalLearningRate(_TFACyclic):
    """tensorflow-addons' ``Triangular2CyclicalLearningRate``: amplitude halves each cycle.

    .. math::

        \\eta_t = \\eta_0 + (\\eta_1 - \\eta_0) \\max(0, 1 - x)\\, 2^{-(m - 1)}

    with ``m`` the 1-based cycle number ``c`` (``scale_mode="cycle"``) or the
    step ``t`` (``"iterations"``), ``c`` and ``x`` as in
    :class:`TriangularCyclicalLearningRate`.
    """

    def __init__(
        self,
        initial_learning_rate: float,
        maximal_learning_rate: float,
        step_size: int,
        scale_mode: str = "cycle",
        name: str | None = "Triangular2CyclicalLearningRate",
    ) -> None:
        self._build(
            initial_learning_rate,
            maximal_learning_rate,
            step_size,
            scale_mode,
            clr_core.HalvingScale(),
            name,
        )


@keras.saving.register_keras_serializable(package="clr_keras")
class ExponentialCyclicalLearningRate(_TFACyclic):
    """tensorflow-addons' ``ExponentialCyclicalLearningRate``: amplitude times ``gamma ** m``.

    .. math::

        \\eta_t = \\eta_0 + (\\eta_1 - \\eta_0) \\max(0, 1 - x)\\, \\gamma^{m}

    with ``m = t`` (``scale_mode="iterations"``, the default, PyTorch's
    ``exp_range``) or the 1-based cycle number (``"cycle"``).

    Parameters
    ----------
    initial_learning_rate, maximal_learning_rate, step_size, scale_mode, name
        As in :class:`TriangularCyclicalLearningRate`.
    gamma : float
        Decay base in ``(0, 1]``.
    """

    _keywords = (
        "initial_learning_rate",
        "maximal_learning_rate",
        "step_size",
        "scale_mode",
        "gamma",
        "name",
    )

    def __init__(
        self,
        initial_learning_rate: float,
        maximal_learning_rate: float,
        step_size: int,
        scale_mode: str = "iterations",
        gamma: float = 1.0,
        name: str | None = "ExponentialCyclicalLearningRate",
    ) -> None:
        scale = clr_core.ExpScale(gamma)
        self.gamma = scale.gamma
        self._build(
            initial_learning_rate, maximal_learning_rate, step_size, scale_mode, scale, name
        )


@keras.saving.register_keras_serializable(package="clr_keras")
class OneCycleSchedule(_NamedSchedule):
    """The 1cycle policy (PyTorch ``OneCycleLR`` arguments) as a Keras schedule.

    ``clr_core.OneCycle(max_lr, total_steps, pct_start, anneal_strategy,
    div_factor, final_div_factor, three_phase)``: from ``max_lr / div_factor``
    up to ``max_lr`` over the first ``pct_start`` of ``total_steps``, then
    annealed to ``max_lr / (div_factor * final_div_factor)`` (cosine by
    default), held after ``total_steps``. Pair it with
    :class:`clr_keras.CyclicalMomentum` and ``schedule.momentum(0.85, 0.95)``
    for the momentum half of the policy.
    """

    _keywords = (
        "max_lr",
        "total_steps",
        "pct_start",
        "anneal_strategy",
        "div_factor",
        "final_div_factor",
        "three_phase",
        "name",
    )
    _required = ("max_lr", "total_steps")

    def __init__(
        self,
        max_lr: float,
        total_steps: int,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        name: str | None = "OneCycleSchedule",
    ) -> None:
        core = clr_core.OneCycle(
            max_lr,
            total_steps,
            pct_start=pct_start,
            anneal_strategy=anneal_strategy,
            div_factor=div_factor,
            final_div_factor=final_div_factor,
            three_phase=three_phase,
        )
        _check_float32((core.max_lr,), "max_lr", max_lr)
        _check_float32((core.initial_lr,), "div_factor", div_factor)
        _check_float32((core.min_lr,), "final_div_factor", final_div_factor)
        _check_int32_steps(core, "total_steps", total_steps)
        super().__init__(core, name=_name(name, "OneCycleSchedule"))
        for k in self._keywords[:-1]:
            setattr(self, k, getattr(core, k))


@keras.saving.register_keras_serializable(package="clr_keras")
class ScaledSchedule(LearningRateSchedule):  # type: ignore[misc]
    r"""A learning-rate schedule times a constant factor.

    .. math::

        \eta'(t) = \text{factor} \cdot \eta(t)

    :class:`clr_keras.CollapseGuard` puts it in the optimizer's place of a schedule when it
    lowers the rate. It is registered, so ``model.save`` keeps it and ``load_model`` reads it
    (``clr_keras`` imported); its config holds the inner schedule serialized.

    Parameters
    ----------
    schedule : keras.optimizers.schedules.LearningRateSchedule or dict
        The schedule, or its ``keras.saving.serialize_keras_object`` data.
    factor : float
        In ``(0, 1]``.
    name : str, optional
        Name of the schedule (a Keras convention; not used in the math).

    Examples
    --------
    >>> import clr_core, clr_keras
    >>> lr = clr_keras.ScaledSchedule(clr_keras.CoreSchedule(clr_core.Constant(0.1)), 0.5)
    >>> round(float(lr(3)), 6)
    0.05
    """

    def __init__(self, schedule: Any, factor: Any, name: str | None = None) -> None:
        super().__init__()
        if isinstance(schedule, dict):
            schedule = keras.saving.deserialize_keras_object(schedule)
        if not isinstance(schedule, LearningRateSchedule):
            raise fail("schedule", "a keras LearningRateSchedule", schedule, TypeError)
        self.schedule = schedule
        self.factor = validation.real("factor", factor, low=0.0, high=1.0, low_open=True)
        self.name = _name(name, "ScaledSchedule")

    def __call__(self, step: Any) -> Any:
        factor = ops.convert_to_tensor(self.factor, dtype="float32")  # float32 whatever floatx
        return ops.multiply(ops.cast(self.schedule(step), "float32"), factor)

    def get_config(self) -> dict[str, Any]:
        return {
            "schedule": keras.saving.serialize_keras_object(self.schedule),
            "factor": self.factor,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ScaledSchedule:
        return cls(**_check_config(cls, config, required=("schedule", "factor")))

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return bool(self.get_config() == other.get_config())

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(self.get_config())))

    def __repr__(self) -> str:
        return f"ScaledSchedule({self.schedule!r}, {self.factor!r})"
