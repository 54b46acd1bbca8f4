"""The LR range test for Keras 3 models, run through ``model.fit``.

The core decides; Keras only trains. :func:`range_test` runs ``model.fit``
with a :class:`RangeTestCallback` that, before batch ``i``, sets the
optimizer's rate to ``sweep(i)`` (``clr_core.rangetest.ExponentialSweep`` or
``LinearSweep``), and after it feeds that batch's loss (and metric) to the
core's ``SweepMonitor``, stopping the fit when the monitor says so. The
analysis (smoothing, bounds, suggestions, confidence) is the core's
``monitor.result()``.

**Each batch's own loss.** Keras reports in ``logs`` the running mean since
the start of the epoch. The callback resets the compiled metrics (the loss
tracker included) before every batch, so the ``logs`` after batch ``i`` hold
batch ``i``'s own loss and metric, exactly, with no differencing of means.

**One step per point.** A model compiled with ``steps_per_execution > 1``
would run several batches at one rate per point; the sweep runs with
``steps_per_execution = 1`` and the model's own value is put back afterwards.

**Data.** Arrays, a ``tf.data.Dataset``, a ``keras.utils.PyDataset`` (or any
re-iterable input ``fit`` takes) are cycled through as many epochs as the
sweep needs. A Python generator can be read once only (``fit`` would replay
its first batches after it runs out), so it is read in a single pass; when it
ends before the sweep does, the result's ``stop_reason`` says the sweep was
cut short.

**Restore.** When the fit starts (after ``fit`` has built the model and the
optimizer, before the first step) a callback snapshots every model variable
(weights, non-trainable state, seed generators) and every optimizer variable
(iterations, the learning-rate variable, slots, loss-scale state); afterwards,
normally or after an exception, they are all assigned back, and the
learning-rate object, the compiled train function and ``steps_per_execution``
are put back. A model that was not built before (a ``Sequential`` without
``Input``) stays built, with the weights it was initialised with.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import types
from typing import Any

import keras

from clr_core import rangetest as _rt
from clr_core.rangetest import (
    ExponentialSweep,
    LinearSweep,
    RangeTestResult,
    SweepMonitor,
)
from clr_core.validation import MAX_STEPS, boolean, choice, fail, integer, real

from ._momentum import sweep_momentum
from ._util import to_numpy, unwrap_optimizer

__all__ = ["range_test", "RangeTestCallback"]

#: ``model.fit`` arguments that range_test sets itself.
_RESERVED_FIT_KWARGS = ("x", "y", "batch_size", "epochs", "initial_epoch", "verbose")


def _jax_sync(model: Any) -> None:
    sync = getattr(model, "jax_state_sync", None)
    if sync is not None:
        sync()


class _Run:
    """Everything a range test changes, and how to put it back exactly."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.optimizer = model.optimizer
        self.inner = unwrap_optimizer(model.optimizer)  # a LossScaleOptimizer's inner one
        self.learning_rate = self.inner._learning_rate
        self.train_function = getattr(model, "train_function", None)
        self.steps_per_execution = getattr(model, "steps_per_execution", 1)
        self.stop_training = getattr(model, "stop_training", False)
        self.history = getattr(model, "history", None)
        self.temporary_lr: Any = None
        self.model_values: list[Any] | None = None
        self.optimizer_values: list[Any] | None = None

    def _optimizer_variables(self) -> list[Any]:
        return [v for v in self.optimizer.variables if v is not self.temporary_lr]

    def build(self, first_inputs: Any) -> None:
        """Build what ``fit`` would build in its first step, so the snapshot holds it all.

        A model built by ``fit`` inside its first step (TensorFlow) would be
        snapshotted without its weights and optimizer slots. An unbuilt model is
        called once on the first batch's inputs (inference mode), as Keras
        advises for building; the optimizer gets its slots, at zero.
        """
        model, optimizer = self.model, self.optimizer
        if not model.built:
            if first_inputs is None:
                raise fail(
                    "model",
                    "built (call it on a batch, or give it a keras.Input) when the data "
                    "cannot be peeked at",
                    model,
                )
            with _scope(model):
                model(first_inputs, training=False)
        if not optimizer.built:
            with _scope(model):
                optimizer.build(model.trainable_variables)

    def prepare(self) -> None:
        """A variable in place of a schedule, one step per execution, a fresh train function."""
        if not isinstance(self.inner._learning_rate, keras.Variable):
            # A schedule or callable: sweep a temporary variable in its place (tracked by
            # the optimizer, so a compiled step reads it from the train state).
            with _scope(self.model):
                lr = keras.Variable(0.0, dtype="float32", trainable=False, name="lr")
            self.inner._learning_rate = lr
            self.temporary_lr = lr
        if self.steps_per_execution != 1:
            self.model.steps_per_execution = 1
        self.model.train_function = None  # trace a train function that reads the swept rate

    def snapshot(self) -> None:
        """The values to put back (before ``prepare`` adds the temporary rate)."""
        self.model_values = [to_numpy(v) for v in self.model.variables]
        self.optimizer_values = [to_numpy(v) for v in self._optimizer_variables()]

    def restore(self, variables: bool = True) -> None:
        """Put back the learning rate and train function; with ``variables``, every value."""
        model, inner = self.model, self.inner
        if self.temporary_lr is not None:
            inner._learning_rate = self.learning_rate
            untrack = getattr(inner, "_untrack_variable", None)
            if untrack is not None:
                untrack(self.temporary_lr)
            self.temporary_lr = None
        if variables and self.model_values is not None and self.optimizer_values is not None:
            for v, value in zip(model.variables, self.model_values, strict=True):
                v.assign(value)
            for v, value in zip(self._optimizer_variables(), self.optimizer_values, strict=True):
                v.assign(value)
        model.reset_metrics()
        model.steps_per_execution = self.steps_per_execution
        model.train_function = self.train_function
        model.stop_training = self.stop_training
        if self.history is not None:
            model.history = self.history


def _scope(model: Any) -> Any:
    """The model's tf.distribute strategy scope (TensorFlow backend), else a no-op."""
    strategy = getattr(model, "distribute_strategy", None)
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


class RangeTestCallback(keras.callbacks.Callback):  # type: ignore[misc]
    """Sets the rate of sweep point ``i`` before batch ``i`` and feeds the monitor after it.

    Use :func:`range_test` unless you need your own ``fit`` call; with your own
    call, compile the model with a float learning rate, restore the model
    yourself, and read ``callback.monitor.result()``.

    Parameters
    ----------
    monitor : clr_core.rangetest.SweepMonitor
    metric : str, optional
        Key of a compiled metric in ``logs`` (e.g. ``"accuracy"``) to record per batch.
    progress : bool
        Show a progress bar (``keras.utils.Progbar``).
    """

    def __init__(self, monitor: SweepMonitor, metric: str | None = None, progress: bool = True):
        super().__init__()
        if not isinstance(monitor, SweepMonitor):
            raise fail("monitor", "a clr_core.rangetest.SweepMonitor", monitor, TypeError)
        self.monitor = monitor
        self.metric = metric
        self.progress = progress
        self._bar: Any = None
        self._lr = math.nan

    def on_train_begin(self, logs: Any = None) -> None:
        if self.progress:
            self._bar = keras.utils.Progbar(
                self.monitor.num_steps,
                unit_name="lr step",
                stateful_metrics=["lr", "loss", self.metric or "loss"],
            )

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        model = self.model
        _jax_sync(model)  # JAX: pull the train state in; fit re-reads it after this hook
        model.reset_metrics()  # logs after this batch = this batch's own values
        self._lr = self.monitor.lr(self.monitor.step_index)
        model.optimizer.learning_rate = self._lr

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        logs = logs or {}
        loss = float(logs["loss"])
        metric = None
        if self.metric is not None:
            if self.metric not in logs:
                raise ValueError(
                    f"Argument `metric` must name a compiled metric in the training logs "
                    f"{sorted(logs)}. Received: metric={self.metric!r}"
                )
            metric = float(logs[self.metric])
        stop = self.monitor.update(self._lr, loss, metric)
        if self._bar is not None:
            values: list[tuple[str, float]] = [("lr", self._lr), ("loss", loss)]
            if self.metric is not None and metric is not None:
                values.append((self.metric, metric))
            self._bar.update(self.monitor.step_index, values=values, finalize=False)
        if stop or self.monitor.done:
            self.model.stop_training = True

    def on_train_end(self, logs: Any = None) -> None:
        if self._bar is not None:
            self._bar.update(self.monitor.step_index, finalize=True)
            print(f"range test: {self.monitor.stop_reason or 'stopped'}")


def _is_tf_dataset(x: Any) -> bool:
    return hasattr(x, "element_spec") and hasattr(x, "take")


def _no_batches(x: Any) -> Exception:
    return fail("x", "data that yields at least one batch", x)


def _inputs(batch: Any) -> Any:
    return keras.utils.unpack_x_y_sample_weight(batch)[0] if isinstance(batch, tuple) else batch


def _leading_size(batch: Any) -> int | None:
    leaves = keras.tree.flatten(_inputs(batch))
    if not leaves:
        return None
    shape = getattr(leaves[0], "shape", None)
    return None if not shape else int(shape[0])


def _data(x: Any, batch_size: int | None, built: bool) -> tuple[Any, int | None, bool, Any]:
    """(x to pass to ``fit``, the batch size the sweep is measured at, one pass only,
    the first batch's inputs when the model is not built yet, else ``None``).

    Refuses input with no batches. A Python generator is peeked at for its
    batch size and handed on as a generator of the same batches.
    """
    if isinstance(x, types.GeneratorType):
        try:
            first = next(x)
        except StopIteration:
            raise _no_batches(x) from None
        chained = (b for b in itertools.chain([first], x))
        return chained, batch_size or _leading_size(first), True, _inputs(first)
    if isinstance(x, keras.utils.PyDataset):
        if x.num_batches == 0:
            raise _no_batches(x)
        first = x[0]
        return x, batch_size or _leading_size(first), False, _inputs(first)
    if _is_tf_dataset(x):
        for element in x.take(1):
            return x, batch_size or _leading_size(element), False, _inputs(element)
        raise _no_batches(x)
    leaves = keras.tree.flatten(x)
    if leaves and all(hasattr(v, "shape") and len(v.shape) > 0 for v in leaves):  # arrays
        n = int(leaves[0].shape[0])
        if n == 0:
            raise _no_batches(x)
        size = min(batch_size or 32, n)  # 32: model.fit's default
        first = None if built else keras.tree.map_structure(lambda a: a[:size], x)
        return x, size, False, first
    if batch_size is not None and built:
        return x, batch_size, False, None
    try:  # another re-iterable loader (torch DataLoader, grain): read its first batch
        batch = next(iter(x))
    except StopIteration:
        raise _no_batches(x) from None
    except TypeError:
        return x, batch_size, False, None
    return x, batch_size or _leading_size(batch), False, _inputs(batch)


def _fit_kwargs(fit_kwargs: Any) -> dict[str, Any]:
    if fit_kwargs is None:
        return {}
    if not isinstance(fit_kwargs, dict):
        raise fail("fit_kwargs", "a dict of model.fit keywords or None", fit_kwargs, TypeError)
    taken = [k for k in _RESERVED_FIT_KWARGS if k in fit_kwargs]
    if taken:
        raise ValueError(
            f"Argument `fit_kwargs` must not set {taken}: range_test passes the data and "
            "its batch size itself, and runs as many epochs as the sweep needs (stopping "
            f"after `num_steps` points). Received: fit_kwargs={fit_kwargs!r}"
        )
    return dict(fit_kwargs)


def range_test(
    model: Any,
    x: Any,
    y: Any = None,
    *,
    batch_size: int | None = None,
    start_lr: float = _rt.DEFAULT_START_LR,
    end_lr: float = _rt.DEFAULT_END_LR,
    num_steps: int = _rt.DEFAULT_NUM_STEPS,
    mode: str = "exp",
    metric: str | None = None,
    metric_mode: str = "max",
    beta: float = 0.98,
    diverge_threshold: float = 1.0,
    min_steps: int = 10,
    progress: bool = True,
    restore: bool = True,
    fit_kwargs: dict[str, Any] | None = None,
) -> RangeTestResult:
    """Run the LR range test on a compiled Keras model; return the core's ``RangeTestResult``.

    Training step ``i`` uses rate ``sweep(i)``: exponential (``mode="exp"``)
    ``start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))`` or linear
    (``mode="linear"``) ``start_lr + (end_lr - start_lr) i / (num_steps - 1)``.
    Each batch's own loss (and ``metric``) goes to the core's ``SweepMonitor``,
    which stops the sweep on a non-finite loss, on divergence or when it is
    exhausted; one point is one optimizer step on one batch (the sweep runs
    with ``steps_per_execution=1``). The model's variables, the optimizer's
    variables and its learning rate are restored afterwards, also after an
    exception. (A model or optimizer not built yet is built by ``fit`` and
    restored to its initial values; a learning-rate schedule, also inside a
    mixed-precision ``LossScaleOptimizer``, is swapped for a variable during
    the sweep and put back.)

    Parameters
    ----------
    model : keras.Model
        A compiled model (its optimizer and loss are used as compiled).
    x, y, batch_size
        As in ``model.fit``: arrays, a ``tf.data.Dataset``, a
        ``keras.utils.PyDataset`` or a Python generator (then ``y`` and
        ``batch_size`` are ``None``). Re-iterable data are cycled through as
        many epochs as the sweep needs; a generator is read once, and if it
        ends first the result's ``provenance["stop_reason"]`` says the sweep
        was cut short. Data with no batch raise ``ValueError``.
    start_lr, end_lr, num_steps, mode
        The sweep (same names and defaults as the PyTorch range test: ``1e-5`` to
        ``10`` in 200 steps, the core's ``DEFAULT_START_LR``, ``DEFAULT_END_LR``,
        ``DEFAULT_NUM_STEPS``).
    metric : str, optional
        A compiled metric to record per batch, e.g. ``"accuracy"``.
    metric_mode : {"max", "min"}
        Whether a higher metric is better (passed to the analysis).
    beta, diverge_threshold, min_steps
        The core stop rule (see ``clr_core.rangetest.SweepMonitor``).
    progress : bool
        Show a progress bar.
    restore : bool
        Put the model and optimizer back afterwards (default ``True``).
    fit_kwargs : dict, optional
        Extra keywords for ``model.fit`` (e.g. ``{"shuffle": False}`` or
        ``{"callbacks": [...]}``); ``x``, ``y``, ``batch_size``, ``epochs``,
        ``initial_epoch`` and ``verbose`` are set by ``range_test`` and
        refused here.

    Returns
    -------
    clr_core.rangetest.RangeTestResult
        With ``base_lr``, ``max_lr``, ``suggestions``, ``confidence`` and the
        batch size in its provenance.
    """
    if getattr(model, "optimizer", None) is None:
        raise fail("model", "a compiled keras.Model (call model.compile first)", model)
    choice("mode", mode, ("exp", "linear"))
    n = integer("num_steps", num_steps, low=2, high=MAX_STEPS)
    if batch_size is not None:
        batch_size = integer("batch_size", batch_size, low=1)
    if metric is not None and not isinstance(metric, str):
        raise fail("metric", "a str or None", metric, TypeError)
    boolean("progress", progress)
    boolean("restore", restore)
    real("start_lr", start_lr)
    kwargs = _fit_kwargs(fit_kwargs)
    sweep = (ExponentialSweep if mode == "exp" else LinearSweep)(start_lr, end_lr, n)
    monitor = SweepMonitor(
        sweep, beta=beta, diverge_threshold=diverge_threshold, min_steps=min_steps
    )
    x, measured_batch, one_pass, first_inputs = _data(x, batch_size, model.built)

    if one_pass or _is_tf_dataset(x):
        kwargs.setdefault("shuffle", False)  # fit ignores it there, with a warning
    if one_pass:
        kwargs.setdefault("steps_per_epoch", n)  # fit warns only if the data end sooner
    run = _Run(model)
    run.build(first_inputs)
    run.snapshot()
    try:
        run.prepare()
        callback = RangeTestCallback(monitor, metric=metric, progress=progress)
        model.fit(
            x,
            y,
            batch_size=batch_size,
            # At least one batch an epoch: the callback stops the fit sooner. A
            # generator is read once (fit would replay its first batches).
            epochs=1 if one_pass else n,
            verbose=0,
            callbacks=[callback, *kwargs.pop("callbacks", [])],
            **kwargs,
        )
    finally:
        run.restore(variables=restore)
    provenance: dict[str, Any] = {
        "framework": f"keras {keras.__version__} ({keras.backend.backend()})",
        "optimizer": type(model.optimizer).__name__,
        "momentum": sweep_momentum(model.optimizer),
    }
    if monitor.stop_reason is None:
        cause = "the data ran out" if one_pass else "fit stopped"
        provenance["stop_reason"] = f"cut short: {cause} after {monitor.step_index} of {n} points"
    return monitor.result(
        batch_size=measured_batch,
        metric_mode=metric_mode,
        metric_name=metric,
        provenance=provenance,
    )
