"""Momentum cycling for Keras 3 optimizers: SGD's ``momentum``, Adam's ``beta_1``.

Keras 3 optimizers keep these hyper-parameters as plain Python floats that
``update_step`` reads. A compiled train function (``tf.function``, XLA,
``jax.jit``) reads such a float once, at trace time, and bakes it in as a
constant: assigning ``optimizer.momentum = 0.85`` between batches then changes
nothing (measured: TensorFlow with and without ``jit_compile``, JAX with
``jit_compile=True``; only eager torch and non-jitted JAX see it).

:class:`CyclicalMomentum` therefore swaps the float for a scalar Keras
variable for the duration of ``fit`` and assigns the core's momentum value to
it before every train batch. The compiled step reads the variable, so the
value the update uses changes every step. The variable is tracked by the
optimizer (JAX's stateless train step needs it in the optimizer state; the
callback re-syncs that state each batch). At the end of ``fit`` the variable
is untracked again and the attribute is a Python float holding the last value,
so ``get_config`` and ``.keras`` saving work as before.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

import clr_core
from clr_core._base import _fail, choice

__all__ = ["CyclicalMomentum"]

_ATTRIBUTES = ("momentum", "beta_1")


class _Hyperparameter(keras.Variable):  # type: ignore[misc]
    """A float32 scalar Keras variable standing in for a float hyper-parameter.

    Optimizers test such floats against constants in Python (SGD's
    ``if self.momentum != 0`` decides whether momentum buffers exist); a
    variable cannot answer that inside a graph. Comparisons with Python numbers
    are therefore answered statically, with the schedule's upper bound
    ``static`` (the buffers exist whenever the schedule can be non-zero), while
    every arithmetic use reads the variable's current value.
    """

    _static: float = 0.0

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


def _unwrap(optimizer: Any) -> Any:
    # LossScaleOptimizer and similar wrappers keep the real optimizer inside.
    inner = getattr(optimizer, "inner_optimizer", None)
    return optimizer if inner is None else inner


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


class CyclicalMomentum(keras.callbacks.Callback):  # type: ignore[misc]
    """Drive an optimizer's momentum (SGD) or ``beta_1`` (Adam family) from a core schedule.

    Before every train batch the hyper-parameter is set to
    ``schedule(optimizer.iterations)``, the core's scalar value at the
    optimizer step the batch will take, e.g. the inverse cycle

    .. math::

        m_t = m_{max} - (m_{max} - m_{base})\\, w(f_t)\\, s(\\cdot)

    of ``clr_core.Triangular(...).momentum(0.8, 0.9)``, or
    ``clr_core.OneCycle(...).momentum(0.85, 0.95)``.

    Parameters
    ----------
    schedule : clr_core.Schedule
        A momentum schedule with values in ``[0, 1]``.
    attribute : {"momentum", "beta_1"}, optional
        The hyper-parameter to drive; by default ``momentum`` if the optimizer
        has one, else ``beta_1``. An optimizer with neither raises ``ValueError``
        when training starts.

    Notes
    -----
    The value reaches the compiled update through a Keras variable (see the
    module docstring); on JAX the callback synchronises the train state
    before each batch, which costs a little host time per step. SGD must not
    be created with ``momentum > 0`` (with 0 it has no momentum buffers).
    """

    def __init__(self, schedule: clr_core.Schedule, attribute: str | None = None) -> None:
        super().__init__()
        if not isinstance(schedule, clr_core.Schedule):
            raise _fail("schedule", "a clr_core schedule", schedule, TypeError)
        lo, hi = schedule.bounds()
        if lo < 0.0 or hi > 1.0:
            raise _fail("schedule", "a momentum schedule with values in [0, 1]", schedule)
        if attribute is not None:
            choice("attribute", attribute, _ATTRIBUTES)
        self.schedule = schedule
        self.attribute = attribute
        self._optimizer: Any = None
        self._name: str | None = None
        self._variable: _Hyperparameter | None = None
        #: The value set before each batch of the last ``fit``, in order.
        self.history: list[float] = []

    # -- install / uninstall --------------------------------------------------------------
    def _install(self) -> None:
        optimizer = _unwrap(self.model.optimizer)
        name = _attribute_for(optimizer, self.attribute)
        current = getattr(optimizer, name)
        if isinstance(current, _Hyperparameter):  # left over from an interrupted fit
            self._optimizer, self._name, self._variable = optimizer, name, current
            return
        if callable(current) or not isinstance(current, (int, float)):
            raise ValueError(
                f"CyclicalMomentum drives `{name}` as a float; {type(optimizer).__name__}."
                f"{name} is {current!r}. Create the optimizer with a float `{name}`."
            )
        if name == "momentum" and float(current) == 0.0:
            # fit builds the optimizer (without momentum buffers) before callbacks run
            raise ValueError(
                f"{type(optimizer).__name__} has momentum=0.0, so it has no momentum buffers to "
                "cycle. Create it with momentum > 0 (e.g. the schedule's maximum)."
            )
        step = int(ops.convert_to_numpy(optimizer.iterations))
        variable = _Hyperparameter(
            self.schedule(step), dtype="float32", trainable=False, name=f"cyclical_{name}"
        )
        variable._static = float(self.schedule.bounds()[1])
        setattr(optimizer, name, variable)  # tracked by the optimizer
        self._optimizer, self._name, self._variable = optimizer, name, variable

    def _uninstall(self) -> None:
        if self._variable is None:
            return
        value = float(ops.convert_to_numpy(self._variable))
        optimizer, name, variable = self._optimizer, str(self._name), self._variable
        setattr(optimizer, name, value)
        untrack = getattr(optimizer, "_untrack_variable", None)
        if untrack is not None:
            untrack(variable)
        self._optimizer = self._name = self._variable = None

    # -- Keras hooks ----------------------------------------------------------------------
    def on_train_begin(self, logs: Any = None) -> None:
        self.history = []
        self._install()

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        sync = getattr(self.model, "jax_state_sync", None)
        if sync is not None:
            sync()  # JAX: pull the train state into the variables; fit re-reads it.
        assert self._variable is not None
        step = int(ops.convert_to_numpy(self._optimizer.iterations))
        value = self.schedule(step)
        self._variable.assign(value)
        self.history.append(value)

    def on_train_end(self, logs: Any = None) -> None:
        self._uninstall()
