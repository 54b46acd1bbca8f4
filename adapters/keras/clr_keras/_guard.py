"""`CollapseGuard` for Keras: the core's collapse guard as a callback of ``model.fit``.

Requirements this module is written against:

* no decision here: when to keep a copy, when to restore it and the factor on the rates are
  :class:`clr_core.rangetest.CollapseGuard`'s; this callback feeds it each epoch's training
  loss (``logs["loss"]``), holds the copies and applies the factor;
* a restore assigns the model's weights (not its seed generators) and the optimizer's
  variables back, except its step counter and its learning-rate variable: the schedule's time
  goes on, as in PyTorch;
* the factor goes into the optimizer the way Keras users change a rate: a float rate's
  variable is multiplied, as ``ReduceLROnPlateau`` does; a ``LearningRateSchedule`` is
  replaced by :class:`ScaledSchedule` over it (registered, so ``model.save`` keeps it) and the
  train function traced again; no extra variable joins the optimizer;
* it works beside :class:`clr_keras.CyclicalMomentum` (a plan's momentum), on the TensorFlow,
  JAX and torch backends;
* the state is plain data and NumPy arrays; a state is untrusted, checked against the model
  before anything changes, so a refused load leaves the callback as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
import numpy as np
from keras.optimizers.schedules import LearningRateSchedule

from clr_core.rangetest import CollapseGuard as _Decision
from clr_core.validation import fail, short_repr

from ._schedules import ScaledSchedule
from ._trainstep import fresh_train_function
from ._util import to_numpy, unwrap_optimizer

__all__ = ["CollapseGuard"]

_STATE_FORMAT = "clr_keras.CollapseGuard/1"
_STATE_KEYS = frozenset(("format", "guard", "model", "optimizer"))


def _arrays(name: str, value: Any, like: list[np.ndarray]) -> list[np.ndarray]:
    """``value`` as arrays of the shapes and dtypes of ``like`` (untrusted)."""
    if not isinstance(value, (list, tuple)):
        raise fail(name, f"a list of {len(like)} arrays", value, TypeError)
    if len(value) != len(like):
        raise fail(name, f"a list of {len(like)} arrays; it has {len(value)}", short_repr(value))
    out = []
    for i, (v, mine) in enumerate(zip(value, like, strict=True)):
        if not isinstance(v, np.ndarray) or v.shape != mine.shape or v.dtype != mine.dtype:
            got = f"{v.dtype} {v.shape}" if isinstance(v, np.ndarray) else v
            raise fail(f"{name}[{i}]", f"a {mine.dtype} array of shape {mine.shape}", got,
                       TypeError if not isinstance(v, np.ndarray) else ValueError)  # fmt: skip
        out.append(np.array(v, copy=True))
    return out


class CollapseGuard(keras.callbacks.Callback):  # type: ignore[misc]
    r"""Restores the last good epoch and lowers the rates when training collapses.

    After every epoch the epoch's mean training loss :math:`L_e` (``logs[monitor]``) goes to
    :class:`clr_core.rangetest.CollapseGuard` (:attr:`decision`). With :math:`L^*` the lowest
    so far and :math:`L_1` the first, an epoch **loses its progress** when
    :math:`L_e > L^* + \text{lost}\,(L_1 - L^*)` or :math:`L_e` is not finite. After ``streak``
    such epochs in a row (at once for a non-finite loss) the callback assigns back the model's
    weights and the optimizer's state copied after the last epoch that passed, and multiplies
    the rate by ``backoff`` (``tries`` times at most); with no try left, a non-finite loss
    stops the fit.

    Parameters
    ----------
    monitor : str
        The key of the epoch's training loss in the logs.
    **rule
        ``lost``, ``streak``, ``backoff``, ``tries``, ``rise``:
        :class:`clr_core.rangetest.CollapseGuard`'s keywords, with its defaults.

    Notes
    -----
    * A restore keeps the optimizer's step counter and learning-rate variable: the schedule's
      time goes on, and the lost epochs count against the budget.
    * The rate: a float rate's variable is multiplied (as ``ReduceLROnPlateau`` does; a callback
      that sets the rate every epoch would undo it); a ``LearningRateSchedule`` is replaced by
      :class:`ScaledSchedule` over it, which the optimizer keeps after the fit.
    * One copy of the weights and of the optimizer's state is held in host memory.
    * It cannot run beside :class:`clr_keras.AutoOneCycleCallback`, which sets the rate inside
      the train step itself.

    Examples
    --------
    >>> import clr_keras
    >>> guard = clr_keras.CollapseGuard()
    >>> # model.fit(x, y, epochs=30, callbacks=[guard, clr_keras.CyclicalMomentum(...)])
    >>> guard.decision.streak, guard.scale
    (2, 1.0)
    """

    def __init__(self, *, monitor: str = "loss", **rule: Any) -> None:
        super().__init__()
        self.decision = _Decision(**rule)  # the rule's defaults and checks live in the core
        if not isinstance(monitor, str):
            raise fail("monitor", "a str (a key of the epoch's logs)", monitor, TypeError)
        self.monitor = monitor
        self._model_copy: list[np.ndarray] | None = None
        self._optimizer_copy: list[np.ndarray] | None = None
        self._pending: dict[str, Any] | None = None  # a loaded state not yet checked
        self._checked_step = False

    @property
    def scale(self) -> float:
        """The factor on the rates now: ``backoff`` to the number of restores."""
        return self.decision.scale

    @property
    def fired(self) -> tuple[int, ...]:
        """The epochs (counted from 0 in this callback's life) at which it restored a copy."""
        return self.decision.fired

    # ------------------------------------------------------------------ the variables

    def _optimizer_variables(self) -> list[Any]:
        """The optimizer's variables a restore assigns: all but step counters and rates."""
        optimizer = self.model.optimizer
        skip = set()
        for opt in (optimizer, unwrap_optimizer(optimizer)):  # a LossScaleOptimizer's inner one
            for name in ("_iterations", "_learning_rate"):
                v = getattr(opt, name, None)
                if isinstance(v, keras.Variable):
                    skip.add(id(v))
        return [v for v in optimizer.variables if id(v) not in skip]

    def _take(self) -> None:
        self._model_copy = [to_numpy(v) for v in self.model.weights]
        self._optimizer_copy = [to_numpy(v) for v in self._optimizer_variables()]

    def _restore(self) -> None:
        assert self._model_copy is not None
        assert self._optimizer_copy is not None
        for v, value in zip(self.model.weights, self._model_copy, strict=True):
            v.assign(value)
        for v, value in zip(self._optimizer_variables(), self._optimizer_copy, strict=True):
            v.assign(value)
        self._lower_rate()

    def _lower_rate(self) -> None:
        inner = unwrap_optimizer(self.model.optimizer)
        rate = inner._learning_rate
        backoff = self.decision.backoff
        if isinstance(rate, keras.Variable):
            rate.assign(to_numpy(rate) * backoff)
            return
        if isinstance(rate, ScaledSchedule):  # lower its factor: no schedule inside another
            scaled = ScaledSchedule(rate.schedule, rate.factor * backoff, rate.name)
        else:
            scaled = ScaledSchedule(rate, backoff)
        inner.learning_rate = scaled
        owner = getattr(self.model.train_function, "_clr_owner", None)
        if owner is not None and getattr(owner, "_wrapped", None) is self.model.train_function:
            owner._retrace()  # a CyclicalMomentum's train step: traced again, in place
        elif self.model.train_function is not None:
            self.model.train_function = fresh_train_function(self.model)

    # ------------------------------------------------------------------ Keras hooks

    def on_train_begin(self, logs: Any = None) -> None:
        model = self.model
        optimizer = getattr(model, "optimizer", None)
        if optimizer is None:
            raise fail("model", "compiled with an optimizer", model, TypeError)
        rate = unwrap_optimizer(optimizer)._learning_rate
        if not isinstance(rate, (keras.Variable, LearningRateSchedule)):
            raise fail("learning_rate", "a float or a LearningRateSchedule for CollapseGuard",
                       rate, TypeError)  # fmt: skip
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self._load(pending)  # checked against this model now; raises before any step
        if self._model_copy is None:
            self._take()
        else:  # copies from an earlier fit: of this model?
            shapes = [tuple(v.shape) for v in model.weights]
            if shapes != [a.shape for a in self._model_copy]:
                raise ValueError(
                    "CollapseGuard holds copies of another model's weights (shapes "
                    f"{short_repr([a.shape for a in self._model_copy])}, this model's "
                    f"{short_repr(shapes)}): use one guard per model."
                )
        self._checked_step = False

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        if self._checked_step:
            return
        self._checked_step = True
        owner = getattr(self.model.train_function, "_clr_owner", None)
        if type(owner).__name__ == "AutoOneCycleCallback":
            raise ValueError(
                "CollapseGuard cannot run beside AutoOneCycleCallback, which sets the rate "
                "inside the train step: use the range test's plan (CoreSchedule and "
                "CyclicalMomentum) with the guard."
            )

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        logs = logs or {}
        if self.monitor not in logs:
            raise ValueError(
                f"CollapseGuard watches logs[{self.monitor!r}], which this fit does not log. "
                f"Received: logs keys {sorted(logs)}"
            )
        action = self.decision.update(logs[self.monitor])
        if action == "keep":
            self._take()
        elif action == "restore":
            self._restore()
        elif action == "diverged":
            self.model.stop_training = True

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        """The decision (plain data) and the copies (NumPy arrays; pickle or ``np.savez``)."""
        return {
            "format": _STATE_FORMAT,
            "guard": self.decision.state_dict(),
            "model": None if self._model_copy is None else list(self._model_copy),
            "optimizer": None if self._optimizer_copy is None else list(self._optimizer_copy),
        }

    def load_state_dict(self, state: Any) -> None:
        """Load a :meth:`state_dict` (untrusted). With a model set (in a fit, or by
        ``set_model``) the copies are checked against it now; otherwise at the next fit's
        start, before any step. A refused state changes nothing."""
        if not isinstance(state, Mapping) or state.get("format") != _STATE_FORMAT:
            raise fail("state", f"a CollapseGuard.state_dict() ({_STATE_FORMAT})",
                       type(state).__name__)  # fmt: skip
        if set(state) != _STATE_KEYS:
            keys = sorted(map(str, state))
            raise fail("state", f"a dict with exactly the keys {sorted(_STATE_KEYS)}", keys)
        _Decision.from_state_dict(state["guard"])
        if (state["model"] is None) != (state["optimizer"] is None):
            raise fail("state['optimizer']", "given exactly when state['model'] is",
                       type(state["optimizer"]).__name__)  # fmt: skip
        for key in ("model", "optimizer"):
            if state[key] is not None and not isinstance(state[key], (list, tuple)):
                raise fail(f"state[{key!r}]", "a list of arrays", state[key], TypeError)
        optimizer = getattr(getattr(self, "model", None), "optimizer", None)
        if optimizer is not None and optimizer.built:
            self._load(state)
            return
        self._pending = dict(state)

    def _load(self, state: Mapping[str, Any]) -> None:
        decision = _Decision.from_state_dict(state["guard"])
        model_copy = optimizer_copy = None
        if state["model"] is not None:
            mine = [to_numpy(v) for v in self.model.weights]
            model_copy = _arrays("state['model']", state["model"], mine)
            mine = [to_numpy(v) for v in self._optimizer_variables()]
            optimizer_copy = _arrays("state['optimizer']", state["optimizer"], mine)
        for name, copies in (("model", model_copy), ("optimizer", optimizer_copy)):
            for i, a in enumerate(copies or []):
                if a.dtype.kind == "f" and not np.isfinite(a).all():
                    raise fail(f"state[{name!r}][{i}]", "finite (a copy of a good epoch)",
                               "an array with non-finite values")  # fmt: skip
        self.decision = decision
        self._model_copy, self._optimizer_copy = model_copy, optimizer_copy

    def __repr__(self) -> str:
        d = self.decision
        return (f"CollapseGuard(lost={d.lost!r}, streak={d.streak!r}, backoff={d.backoff!r}, "
                f"tries={d.tries!r}, rise={d.rise!r}, monitor={self.monitor!r})")  # fmt: skip
