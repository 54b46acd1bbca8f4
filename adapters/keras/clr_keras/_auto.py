"""`AutoOneCycleCallback`: a 1cycle that finds its own peak during ``model.fit``.

Requirements this module is written against:

* no reading here: the ramp, the stop rule, the reading of the edge and the
  anneal are :class:`clr_core.rangetest.AutoOneCycle`'s; this module applies its
  rate and momentum and feeds it each optimizer step's own loss;
* the rate and momentum of step ``t`` are evaluated inside the compiled train
  step at the optimizer's step counter, as a Keras ``LearningRateSchedule`` is
  (the core's schedule as far as it is known, through :class:`CoreSchedule`);
  when the peak is decided the train function is traced once more;
* the optimizer outside the train step is the one the user built (see
  :mod:`clr_keras._trainstep`): the same learning-rate variable, the same
  momentum float, plain ``get_config()``, no extra variable;
* the loss fed to the core is the batch's own, not Keras' running mean, and the
  logs every callback sees are Keras' own;
* the state is plain JSON; a resumed fit continues with the identical rates; a
  refused state changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
import numpy as np
from keras import ops

import clr_core
from clr_core.rangetest import AutoOneCycle
from clr_core.validation import MAX_STEPS, choice, fail, integer

from ._momentum import _ATTRIBUTES, _ScheduledHyperparameter, driven_momentum
from ._schedules import CoreSchedule
from ._trainstep import TrainStepCallback, setattr_plain
from ._util import to_numpy, train_step_counter, unwrap_optimizer

__all__ = ["AutoOneCycleCallback"]

_STATE_FORMAT = "clr_keras.AutoOneCycleCallback/1"


def _shifted(schedule: clr_core.Schedule, offset: int) -> clr_core.Schedule:
    """``schedule`` read at ``step - offset`` (the optimizer had taken ``offset`` steps before)."""
    if offset == 0:
        return schedule
    return clr_core.Join((clr_core.Constant(schedule(0)), schedule), (offset,))


def _index(variables: list[Any], target: Any, what: str) -> int:
    for i, v in enumerate(variables):
        if v is target:
            return i
    raise RuntimeError(f"AutoOneCycleCallback could not find {what} in the train state.")


class AutoOneCycleCallback(TrainStepCallback):
    """1cycle over ``total_steps`` optimizer steps whose peak is read off its own warm-up.

    Before the decision, step ``t`` runs at the ramp's rate
    :math:`\\eta_t = \\eta_0 (\\eta_1 / \\eta_0)^{t / (R - 1)}` with momentum at
    its maximum; each step's own training loss goes to the core's stop rule;
    once it reads the edge, the peak is fixed ``peak_factor`` below it and the
    rest of the budget anneals along a half cosine while momentum rises back
    (:class:`clr_core.rangetest.AutoOneCycle`, which holds every formula).

    Step ``t`` is the optimizer's update ``first_step + t`` (its
    ``iterations``, as a ``LearningRateSchedule`` counts); the rate and
    momentum are evaluated at that count inside the compiled train step.

    Parameters
    ----------
    total_steps : int
        The budget in optimizer steps (``epochs * steps_per_epoch``).
    attribute : {"momentum", "beta_1"}, optional
        The hyper-parameter the momentum cycle drives; by default ``momentum``
        if the optimizer has one, else ``beta_1``. Ignored with ``momentum=None``.
    first_step : int or None
        The optimizer step that is this callback's step 0: ``0`` (the default)
        for a fresh optimizer, so that a fresh callback on a restored optimizer
        is refused instead of starting a new ramp; ``None`` for wherever the
        optimizer stands when this callback's first ``fit`` begins.
    **kwargs
        The ramp and the rule (:class:`clr_core.rangetest.AutoOneCycle`):
        ``start_lr``, ``end_lr``, ``ramp_fraction``, ``peak_factor``,
        ``final_div_factor``, ``momentum`` (``(base, max)``, or ``None`` to
        leave the optimizer's own alone), ``rise``, ``beta``, ``min_steps``.

    Attributes
    ----------
    auto : clr_core.rangetest.AutoOneCycle
        The core object: ``auto.decided``, ``auto.peak``, ``auto.decided_at``,
        ``auto.reading`` (the ramp's range-test reading).
    lrs, momenta : list of float
        The rate and momentum (``None``: left alone) of each optimizer step of
        the last ``fit``, as the core gives them (the train step evaluates them
        in float32).
    losses : list of float
        The loss of each step fed to the core in the last ``fit``.

    Notes
    -----
    Requirements, checked when ``fit`` starts (``ValueError``, nothing changed):
    the optimizer has a float learning rate (not a schedule: this callback sets
    the rate), ``steps_per_execution=1`` (one loss per step is read),
    no ``gradient_accumulation_steps``, a compiled loss (its per-batch value is
    read from Keras' loss tracker) and, to cycle momentum, a ``momentum > 0``
    (SGD) or a ``beta_1``. Under ``mixed_float16`` the rate and momentum are the
    ``LossScaleOptimizer``'s inner optimizer's; a step the loss scale skips
    (non-finite gradients) is not counted, as Keras' schedules do not count it.

    Between batches and after ``fit`` the optimizer is as built: its momentum
    float, a plain ``get_config()``, no extra variable (a ``ModelCheckpoint``
    saved at any time loads); its learning-rate variable is set, at the end of
    each epoch and of ``fit``, to the rate of the next step. For an exact
    resume save :meth:`state_dict` (plain JSON) with the model, and give it to
    :meth:`load_state_dict` of a new callback before the resumed ``fit``.

    Examples
    --------
    >>> auto = AutoOneCycleCallback(total_steps=12 * 22, start_lr=1e-4, end_lr=10.0)
    >>> auto.auto.decided
    False

    Then ``model.fit(x, y, epochs=12, callbacks=[auto])`` (22 batches an epoch);
    afterwards ``auto.auto.peak`` is the peak it read and ``auto.auto.decided_at``
    the step it read it at.
    """

    def __init__(
        self,
        total_steps: int,
        *,
        attribute: str | None = None,
        first_step: int | None = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self.auto = AutoOneCycle(total_steps, **kwargs)
        if attribute is not None:
            choice("attribute", attribute, _ATTRIBUTES)
        self.attribute = attribute
        #: The optimizer step this callback's step 0 is (``None`` until its first fit starts).
        self.first_step = (
            None if first_step is None else integer("first_step", first_step, low=0, high=MAX_STEPS)
        )
        self.lrs: list[float] = []
        self.momenta: list[float | None] = []
        self.losses: list[float] = []
        self._clear()

    def _clear(self) -> None:
        self._optimizer: Any = None  # the optimizer holding the hyper-parameters
        self._lr_variable: Any = None
        self._name: str | None = None  # the momentum attribute, or None
        self._original: Any = None
        self._stand_in: _ScheduledHyperparameter | None = None
        self._lr_schedule: CoreSchedule | None = None
        self._traced: tuple[Any, int] = (None, 0)  # the schedule and first step traced
        self._step: int | None = None  # the optimizer's step count before the next batch
        self._last: tuple[int, float | None] | None = None
        self._tracker: Any = None
        self._jax: dict[str, Any] = {}

    def _describe(self) -> str:
        return "AutoOneCycleCallback"

    # -- checks when fit starts -----------------------------------------------------------
    def _check_model(self) -> None:
        model = self.model
        spe = getattr(model, "steps_per_execution", 1)
        if spe != 1:
            raise ValueError(
                "AutoOneCycleCallback reads the loss of every optimizer step: compile the model "
                f"with steps_per_execution=1. Received: steps_per_execution={spe!r}"
            )
        optimizer = unwrap_optimizer(model.optimizer)
        accumulation = getattr(optimizer, "gradient_accumulation_steps", None)
        if accumulation:
            raise ValueError(
                "AutoOneCycleCallback feeds one loss per optimizer step; an optimizer with "
                "gradient_accumulation_steps updates once per several batches. Create it "
                f"without. Received: gradient_accumulation_steps={accumulation!r}"
            )
        lr = getattr(optimizer, "_learning_rate", None)
        if not isinstance(lr, keras.Variable):
            raise ValueError(
                "AutoOneCycleCallback sets the learning rate itself: create the optimizer with "
                f"a float learning_rate, not a schedule. Received: learning_rate={lr!r}"
            )
        if not self.auto.decided and getattr(model, "_loss_tracker", None) is None:
            raise ValueError(
                "AutoOneCycleCallback reads each step's loss from Keras' loss tracker: compile "
                "the model with a loss."
            )

    def _check_momentum(self, optimizer: Any) -> tuple[str, Any] | None:
        if self.auto.momentum is None:
            return None
        return driven_momentum(
            optimizer,
            self.attribute,
            "AutoOneCycleCallback",
            " (e.g. the cycle's maximum), or pass momentum=None to leave momentum alone.",
        )

    # -- Keras hooks ----------------------------------------------------------------------
    def on_train_begin(self, logs: Any = None) -> None:
        self._clear()
        self._check_model()
        optimizer = unwrap_optimizer(self.model.optimizer)
        momentum = self._check_momentum(optimizer)
        self.lrs, self.momenta, self.losses = [], [], []
        self._optimizer = optimizer
        self._lr_variable = optimizer._learning_rate
        self._tracker = getattr(self.model, "_loss_tracker", None)
        if momentum is not None and self.auto.momentum is not None:
            self._name, self._original = momentum
            top = float(self.auto.momentum[1])
            self._stand_in = _ScheduledHyperparameter(
                CoreSchedule(clr_core.Constant(top)),
                train_step_counter(optimizer),
                top,  # SGD keeps its momentum buffers: the cycle is never 0
                name=f"auto_one_cycle_{self._name}",
            )
        self._prepare_schedules()
        self._install()  # traces on its first call, with the schedules prepared here

    def _prepare_schedules(self) -> None:
        """The graph schedules for the decision so far (traced on the next call)."""
        offset = int(self.first_step or 0)
        self._lr_schedule = CoreSchedule(_shifted(self.auto.schedule, offset))
        momentum = self.auto.momentum_schedule
        if self._stand_in is not None and momentum is not None:
            self._stand_in._schedule = CoreSchedule(_shifted(momentum, offset))
        self._traced = (self.auto.schedule, offset)

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        if self._step is None:
            self._start()
        traced_schedule, traced_offset = self._traced
        if self.auto.schedule is not traced_schedule or self.first_step != traced_offset:
            # decided, or the first fit fixed first_step: trace again (once)
            self._prepare_schedules()
            self._retrace()
        self._last = None
        self._armed = True

    def _start(self) -> None:
        """The position check at the first batch (a BackupAndRestore may have set the step)."""
        sync = getattr(self.model, "jax_state_sync", None)
        if sync is not None:  # JAX: the variables hold the state (a no-op before a fit's step)
            sync()
        counter = int(to_numpy(train_step_counter(self._optimizer)))
        if self.first_step is None:
            self.first_step = counter  # this callback's step 0
        auto, offset = self.auto, self.first_step
        local = counter - offset
        if not auto.decided and local != auto.monitor.step_index:
            raise ValueError(
                f"The optimizer is at step {counter}, step {local} of this callback (whose step 0 "
                f"is optimizer step {offset}), but the ramp has recorded "
                f"{auto.monitor.step_index} steps. To resume, load the state_dict() saved with "
                "this checkpoint (load_state_dict); to start on an optimizer that has already "
                "stepped, pass first_step=None."
            )
        if auto.decided and local < int(auto.decided_at or 0):
            raise ValueError(
                f"The optimizer is at step {counter} (step {local} of this callback), before "
                f"the decision at step {auto.decided_at} recorded in this callback's state: "
                "load the state_dict() saved with this checkpoint."
            )
        self._step = counter

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self._armed = False
        if self._last is None or self._step is None:
            raise RuntimeError(
                "AutoOneCycleCallback's train step did not run for this batch: another "
                "callback replaced model.train_function during fit."
            )
        counter, loss = self._last
        self._last = None
        step = self._step - int(self.first_step or 0)
        if counter == self._step + 1:  # the update was applied (a loss scale may skip it)
            self.lrs.append(self.auto.lr(step))
            self.momenta.append(self.auto.momentum_at(step))
            if loss is not None and not self.auto.decided:
                self.losses.append(loss)
                self.auto.update(step, loss)
        self._step = counter

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self._show_rate()

    def on_train_end(self, logs: Any = None) -> None:
        self._show_rate()
        self._remove()
        self._clear()

    def _show_rate(self) -> None:
        """The learning-rate variable reads the rate of the next step, as a schedule would."""
        if self._step is not None and self._lr_variable is not None:
            self._lr_variable.assign(self.auto.lr(max(0, self._step - int(self.first_step or 0))))

    # -- inside the train step -------------------------------------------------------------
    def _run(self, fresh: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        ramp = not self.auto.decided
        jax = keras.backend.backend() == "jax"
        if jax:
            args, old = self._jax_before(args, ramp)
        else:
            old = self._before(ramp)
        optimizer = self._optimizer
        setattr_plain(optimizer, "_learning_rate", self._lr_schedule)
        if self._stand_in is not None:
            setattr_plain(optimizer, str(self._name), self._stand_in)
        try:
            result = fresh(*args, **kwargs)
        except BaseException:
            if not jax and old is not None:
                for v, value in zip(self._tracker.variables, old, strict=True):
                    v.assign(value)
            raise
        finally:
            setattr_plain(optimizer, "_learning_rate", self._lr_variable)
            if self._stand_in is not None:
                setattr_plain(optimizer, str(self._name), self._original)
        if jax:
            return self._jax_after(result, old)
        return self._after(result, old)

    def _before(self, ramp: bool) -> list[np.ndarray] | None:
        if not ramp:
            return None
        old = [to_numpy(v) for v in self._tracker.variables]
        for v, value in zip(self._tracker.variables, old, strict=True):
            v.assign(np.zeros_like(value))
        return old

    def _after(self, logs: Any, old: list[np.ndarray] | None) -> Any:
        counter = int(to_numpy(train_step_counter(self._optimizer)))
        loss = None
        if old is not None:
            batch = [to_numpy(v) for v in self._tracker.variables]
            loss, total = self._own_loss(logs, old, batch)
            for v, value in zip(self._tracker.variables, total, strict=True):
                v.assign(value)
            logs["loss"] = ops.divide_no_nan(*(ops.convert_to_tensor(t) for t in total))
        self._last = (counter, loss)
        return logs

    def _jax_indices(self) -> dict[str, Any]:
        if not self._jax:
            model = self.model
            self._jax = {
                "counter": _index(
                    model.optimizer.variables,
                    train_step_counter(self._optimizer),
                    "the optimizer's step counter",
                ),
                "tracker": (
                    []
                    if self._tracker is None
                    else [
                        _index(model.metrics_variables, v, "the loss tracker")
                        for v in self._tracker.variables
                    ]
                ),
            }
        return self._jax

    def _jax_before(self, args: tuple[Any, ...], ramp: bool) -> tuple[Any, Any]:
        if not ramp:
            return args, None
        state = args[0]
        metrics = list(state[3])
        idx = self._jax_indices()["tracker"]
        old = [np.array(metrics[i], copy=True) for i in idx]
        for i in idx:
            metrics[i] = ops.zeros_like(metrics[i])
        return ((*state[:3], metrics), *args[1:]), old

    def _jax_after(self, result: Any, old: list[np.ndarray] | None) -> Any:
        logs, state = result
        indices = self._jax_indices()
        counter = int(np.asarray(state[2][indices["counter"]]))
        loss = None
        if old is not None:
            metrics = list(state[3])
            batch = [np.array(metrics[i], copy=True) for i in indices["tracker"]]
            loss, total = self._own_loss(logs, old, batch)
            for i, value in zip(indices["tracker"], total, strict=True):
                metrics[i] = ops.convert_to_tensor(value)
            state = (*state[:3], metrics)
            logs["loss"] = ops.divide_no_nan(*(ops.convert_to_tensor(t) for t in total))
        self._last = (counter, loss)
        return logs, state

    def _own_loss(
        self, logs: Any, old: list[np.ndarray], batch: list[np.ndarray]
    ) -> tuple[float, list[np.ndarray]]:
        """The batch's own loss, and the tracker's totals as Keras would have them."""
        if not isinstance(logs, Mapping) or "loss" not in logs or float(batch[1]) == 0.0:
            raise ValueError(
                "AutoOneCycleCallback reads each step's loss from Keras' loss tracker, which "
                "this model's train_step did not update: use the built-in train_step (a "
                "custom one must call self._loss_tracker.update_state like Keras' own)."
            )
        loss = float(to_numpy(logs["loss"]))
        # what Keras' assign_add would have stored: the same float32 sums
        total = [np.add(o, b, dtype=o.dtype) for o, b in zip(old, batch, strict=True)]
        return loss, total

    # -- state -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Plain JSON data: the core object's state, ``first_step`` and ``attribute``."""
        return {
            "format": _STATE_FORMAT,
            "auto": self.auto.state_dict(),
            "first_step": self.first_step,
            "attribute": self.attribute,
        }

    def load_state_dict(self, state: Any) -> None:
        """Validate everything, then restore (a refused state changes nothing)."""
        if not isinstance(state, Mapping) or state.get("format") != _STATE_FORMAT:
            raise fail("state", f"an AutoOneCycleCallback.state_dict() ({_STATE_FORMAT})", state)
        extra = set(state) - {"format", "auto", "first_step", "attribute"}
        if extra:
            raise fail("state", "free of unknown keys", sorted(map(str, extra)))
        auto = AutoOneCycle.from_state_dict(state.get("auto"))
        first = state.get("first_step")
        if first is not None:
            first = integer("state['first_step']", first, low=0, high=MAX_STEPS)
        elif auto.decided or auto.monitor.step_index > 0:
            raise fail("state['first_step']", "set once steps are recorded", first)
        if state.get("attribute") != self.attribute:
            raise fail(
                "state['attribute']", f"this callback's attribute ({self.attribute!r})",
                state.get("attribute"),
            )  # fmt: skip
        self.auto, self.first_step = auto, first
        self._step = None  # the position is checked again at the next batch

    def __repr__(self) -> str:
        return f"AutoOneCycleCallback({self.auto!r})"
