"""Momentum cycling for Keras 3 optimizers: SGD's ``momentum``, Adam's ``beta_1``.

Keras 3 optimizers keep these hyper-parameters as plain Python floats that
``update_step`` reads. A compiled train function (``tf.function``, XLA,
``jax.jit``) reads such a float once, at trace time, and bakes it in as a
constant: assigning ``optimizer.momentum = 0.85`` between batches then changes
nothing (measured: TensorFlow with and without ``jit_compile``, JAX with
``jit_compile=True``; only eager torch and non-jitted JAX see it).

:class:`CyclicalMomentum` therefore makes the value a function of the
optimizer's step *inside* the compiled update, exactly as a Keras
``LearningRateSchedule`` is::

    momentum(step) = CoreSchedule(schedule)(optimizer.iterations)

It does so only while the model's train function runs. The callback wraps
``model.train_function``; the wrapper puts a stand-in for the float in the
optimizer's attribute, calls the train function, and puts the original float
back in a ``finally`` clause. Outside the train step, where callbacks, saving
and checkpointing happen, the optimizer is exactly as the user built it: the
attribute is the original float, ``get_config()`` is plain data, no variable
is added to the optimizer's state. A ``ModelCheckpoint`` or
``BackupAndRestore`` taken mid-fit therefore saves an ordinary optimizer, and
an exception or ``KeyboardInterrupt`` anywhere in ``fit`` leaves nothing
behind (a wrapper left on ``train_function`` by an interrupted fit only runs
the original function; it unwraps itself on its next call). Since the value
derives from the step counter, which is part of the optimizer's state,
resuming from a checkpoint resumes the momentum cycle too.
"""

from __future__ import annotations

import math
from typing import Any

import keras

import clr_core
from clr_core.rangetest import Plan
from clr_core.validation import choice, fail

from ._schedules import CoreSchedule
from ._trainstep import TrainStepCallback, setattr_plain
from ._util import to_numpy, train_step_counter, unwrap_optimizer

__all__ = ["CyclicalMomentum"]

_ATTRIBUTES = ("momentum", "beta_1")


class _ScheduledHyperparameter(keras.Variable):  # type: ignore[misc]
    """Stands in for a float hyper-parameter inside the train step: ``schedule(step)``.

    A Keras variable in type only (so every backend's ops and the variable's
    arithmetic accept it); its value is not stored but computed at every read
    from the optimizer's step counter, through the stateless scope on JAX, so
    the compiled update evaluates the schedule at each step. Optimizers test
    such floats against constants in Python (SGD's ``if self.momentum != 0``
    decides whether momentum buffers exist); those comparisons are answered
    statically with the schedule's upper bound ``static`` (the buffers exist
    whenever the schedule can be non-zero).
    """

    _should_act_as_resource_variable = False  # TensorFlow: no resource handle to read

    def __init__(self, schedule: CoreSchedule, step: Any, static: float, name: str) -> None:
        super().__init__(static, dtype="float32", trainable=False, name=name)
        self._schedule = schedule
        self._step = step
        self._static = static

    @property
    def value(self) -> Any:
        return self._schedule(self._step)

    def __eq__(self, other: object) -> Any:
        if isinstance(other, (int, float)):
            return self._static == other
        return super().__eq__(other)

    def __ne__(self, other: object) -> Any:
        if isinstance(other, (int, float)):
            return self._static != other
        return super().__ne__(other)

    def __gt__(self, other: object) -> Any:
        if isinstance(other, (int, float)):
            return self._static > other
        return super().__gt__(other)

    def __ge__(self, other: object) -> Any:
        if isinstance(other, (int, float)):
            return self._static >= other
        return super().__ge__(other)

    def __lt__(self, other: object) -> Any:
        if isinstance(other, (int, float)):
            return self._static < other
        return super().__lt__(other)

    def __le__(self, other: object) -> Any:
        if isinstance(other, (int, float)):
            return self._static <= other
        return super().__le__(other)

    __hash__ = keras.Variable.__hash__


def _attribute_for(optimizer: Any, attribute: str | None) -> str:
    if attribute is not None:
        if not hasattr(optimizer, attribute):
            raise ValueError(
                "Argument `attribute` names a hyper-parameter the optimizer lacks: "
                f"{type(optimizer).__name__} has no `{attribute}`. "
                f"Received: attribute={attribute!r}"
            )
        return attribute
    for name in _ATTRIBUTES:
        if hasattr(optimizer, name):
            return name
    raise ValueError(
        f"CyclicalMomentum needs an optimizer with a `momentum` (SGD, RMSprop) or `beta_1` "
        f"(Adam, AdamW, Nadam, Adamax, Lion) hyper-parameter; {type(optimizer).__name__} has "
        "neither. Received: optimizer="
        f"{optimizer!r}"
    )


def sweep_momentum(optimizer: Any) -> float | None:
    """The momentum (``momentum``, SGD and RMSprop) or ``beta_1`` (the Adam family) of
    ``optimizer`` (a loss-scale wrapper's inner one), as a float; ``None`` for an optimizer
    with neither, or one whose value is not a plain number. Recorded in a range test's
    provenance (``"momentum"``), where ``recommend`` reads it."""
    inner = unwrap_optimizer(optimizer)
    try:
        value = getattr(inner, _attribute_for(inner, None))
    except ValueError:  # neither attribute
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def driven_momentum(
    optimizer: Any, attribute: str | None, owner: str, hint: str
) -> tuple[str, Any]:
    """The optimizer's momentum-like hyper-parameter a callback will drive: its name and
    current value, checked once for every callback that cycles it.

    The value must be a plain float (the callback swaps it for a scheduled stand-in), and
    SGD's momentum must not be 0: ``fit`` has built the optimizer, without momentum
    buffers, before any callback runs. ``owner`` names the callback in the messages;
    ``hint`` ends the momentum=0 message ("Create it with momentum > 0" + ``hint``).
    """
    name = _attribute_for(optimizer, attribute)
    current = getattr(optimizer, name)
    if isinstance(current, bool) or not isinstance(current, (int, float)):
        raise ValueError(
            f"{owner} drives `{name}` as a float; {type(optimizer).__name__}."
            f"{name} is {current!r}. Create the optimizer with a float `{name}`."
        )
    if name == "momentum" and float(current) == 0.0:
        raise ValueError(
            f"{type(optimizer).__name__} has momentum=0.0, so it has no momentum buffers to "
            f"cycle. Create it with momentum > 0{hint}"
        )
    return name, current


class CyclicalMomentum(TrainStepCallback):
    """Drive an optimizer's momentum (SGD) or ``beta_1`` (Adam family) from a core schedule.

    The update at optimizer step ``t`` (``optimizer.iterations``, the step a
    learning-rate schedule is evaluated at) uses the hyper-parameter value
    ``schedule(t)``, computed inside the compiled train step like a Keras
    ``LearningRateSchedule``: e.g. the inverse cycle

    .. math::

        m_t = m_{max} - (m_{max} - m_{base})\\, w(f_t)\\, s(\\cdot)

    of ``clr_core.Triangular(...).momentum(0.8, 0.9)``, or
    ``clr_core.OneCycle(...).momentum(0.85, 0.95)``.

    Parameters
    ----------
    schedule : clr_core.Schedule or clr_core.rangetest.Plan
        A momentum schedule with values in ``[0, 1]``, or the plan of
        ``result.recommend(...)``, whose ``plan.momentum`` is taken (a plan
        whose momentum is ``None`` says to leave the optimizer's own alone:
        it is refused with a ``ValueError``; leave the callback out).
    attribute : {"momentum", "beta_1"}, optional
        The hyper-parameter to drive; by default ``momentum`` if the optimizer
        has one, else ``beta_1``. An optimizer with neither raises ``ValueError``
        when training starts.

    Notes
    -----
    SGD (and RMSprop) must be created with ``momentum > 0``, e.g. the
    schedule's maximum: Keras creates the momentum buffers only when the
    momentum is not 0, and it builds the optimizer before any callback runs,
    so an optimizer created with ``momentum=0.0`` is refused when ``fit``
    starts.

    The schedule replaces the hyper-parameter only while the train step runs
    (see the module docstring): between batches, and after ``fit`` ends in
    any way (normally, by an exception, by ``KeyboardInterrupt``), the
    optimizer's attribute is the float it was created with, so its
    ``get_config()``, a ``.keras`` file or a checkpoint saved at any time hold
    that plain value and no extra variable. The values used are in
    :attr:`history`.
    """

    def __init__(self, schedule: clr_core.Schedule | Plan, attribute: str | None = None) -> None:
        super().__init__()
        if isinstance(schedule, Plan):
            if schedule.momentum is None:
                raise ValueError(
                    "Argument `schedule` is a Plan whose momentum is None: the plan leaves the "
                    "optimizer's momentum alone (a constant plan, or recommend(..., "
                    "cycle_momentum=False)), so there is nothing to cycle; leave "
                    f"CyclicalMomentum out. Received: schedule=Plan(policy={schedule.policy!r}, "
                    "momentum=None)"
                )
            schedule = schedule.momentum
        if not isinstance(schedule, clr_core.Schedule):
            raise fail(
                "schedule", "a clr_core schedule or a clr_core.rangetest.Plan", schedule, TypeError
            )
        lo, hi = schedule.bounds()
        if lo < 0.0 or hi > 1.0:
            raise fail("schedule", "a momentum schedule with values in [0, 1]", schedule)
        if attribute is not None:
            choice("attribute", attribute, _ATTRIBUTES)
        self.schedule = schedule
        self.attribute = attribute
        self._graph_schedule = CoreSchedule(schedule)
        self._optimizer: Any = None
        self._name: str | None = None
        self._original: Any = None
        self._stand_in: _ScheduledHyperparameter | None = None
        self._step: int | None = None
        self._begin = 0
        #: The value used by each optimizer step of the last ``fit``, in order.
        self.history: list[float] = []

    def _run(self, fresh: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        setattr_plain(self._optimizer, str(self._name), self._stand_in)
        try:
            return fresh(*args, **kwargs)
        finally:
            setattr_plain(self._optimizer, str(self._name), self._original)

    # -- Keras hooks ----------------------------------------------------------------------
    def on_train_begin(self, logs: Any = None) -> None:
        self.history = []
        self._step = None
        optimizer = unwrap_optimizer(self.model.optimizer)
        name, current = driven_momentum(
            optimizer, self.attribute, "CyclicalMomentum", " (e.g. the schedule's maximum)."
        )
        self._optimizer, self._name, self._original = optimizer, name, current
        self._stand_in = _ScheduledHyperparameter(
            self._graph_schedule,
            train_step_counter(optimizer),
            float(self.schedule.bounds()[1]),
            name=f"cyclical_{name}",
        )
        self._install()

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        if self._step is None:
            # Before the first step the variables hold the state (also on JAX), after
            # every on_train_begin (a BackupAndRestore may have restored the step).
            self._step = int(to_numpy(train_step_counter(self._optimizer)))
        self._begin = batch
        self._armed = True

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self._armed = False
        if self._step is None:
            return
        for _ in range(max(1, batch - self._begin + 1)):  # steps_per_execution > 1
            self.history.append(self.schedule(self._step))
            self._step += 1

    def on_train_end(self, logs: Any = None) -> None:
        self._remove()
        self._optimizer = self._stand_in = self._original = None
