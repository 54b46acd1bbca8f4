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

**Restore.** Before the fit the callback snapshots every model variable
(weights, non-trainable state, seed generators), every optimizer variable
(iterations, the learning-rate variable, slots) and the learning-rate object;
afterwards, normally or after an exception, it assigns them all back and
puts back the model's compiled train function.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import keras
import numpy as np
from keras import ops

from clr_core._base import _fail, boolean, choice, integer, real
from clr_core.rangetest import (
    ExponentialSweep,
    LinearSweep,
    RangeTestResult,
    SweepMonitor,
)

__all__ = ["range_test", "RangeTestCallback"]


def _jax_sync(model: Any) -> None:
    sync = getattr(model, "jax_state_sync", None)
    if sync is not None:
        sync()


def _scope(model: Any) -> Any:
    """The model's tf.distribute strategy scope (TensorFlow backend), else a no-op."""
    strategy = getattr(model, "distribute_strategy", None)
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def _value(v: Any) -> np.ndarray:
    return np.array(ops.convert_to_numpy(v), copy=True)


class _Snapshot:
    """Everything a range test changes, captured so it can be put back exactly."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.optimizer = model.optimizer
        self.model_values = [_value(v) for v in model.variables]
        self.optimizer_values = [_value(v) for v in self.optimizer.variables]
        self.learning_rate = self.optimizer._learning_rate
        self.train_function = getattr(model, "train_function", None)
        self.stop_training = getattr(model, "stop_training", False)
        self.history = getattr(model, "history", None)
        self.temporary_lr: Any = None

    def restore(self, variables: bool = True) -> None:
        """Put back the learning rate and train function; with ``variables``, every value."""
        model, optimizer = self.model, self.optimizer
        if self.temporary_lr is not None:
            optimizer._learning_rate = self.learning_rate
            untrack = getattr(optimizer, "_untrack_variable", None)
            if untrack is not None:
                untrack(self.temporary_lr)
            self.temporary_lr = None
        if variables:
            for v, value in zip(model.variables, self.model_values, strict=False):
                v.assign(value)
            for v, value in zip(optimizer.variables, self.optimizer_values, strict=False):
                v.assign(value)
        model.reset_metrics()
        model.train_function = self.train_function
        model.stop_training = self.stop_training
        if self.history is not None:
            model.history = self.history


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
            raise _fail("monitor", "a clr_core.rangetest.SweepMonitor", monitor, TypeError)
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


def _first_batch_size(x: Any, batch_size: int | None) -> int | None:
    """The batch size the sweep is measured at (recorded in the result's provenance)."""
    if batch_size is not None:
        return batch_size
    if isinstance(x, keras.utils.PyDataset):
        first = x[0]
        inputs = first[0] if isinstance(first, tuple) else first
        leaf = keras.tree.flatten(inputs)[0]
        return int(ops.shape(leaf)[0])
    if hasattr(x, "element_spec") and hasattr(x, "take"):  # tf.data.Dataset
        for element in x.take(1):
            inputs = element[0] if isinstance(element, tuple) else element
            leaf = keras.tree.flatten(inputs)[0]
            return int(leaf.shape[0])
        return None
    return 32  # model.fit's default for arrays


def range_test(
    model: Any,
    x: Any,
    y: Any = None,
    *,
    batch_size: int | None = None,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
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
    exhausted. The model's variables, the optimizer's variables and its
    learning rate are restored afterwards, also after an exception. (An
    optimizer not built yet is built first, its slots at zero as ``fit``
    would create them; a learning-rate schedule is swapped for a variable
    during the sweep and put back.)

    Parameters
    ----------
    model : keras.Model
        A compiled model (its optimizer and loss are used as compiled).
    x, y, batch_size
        As in ``model.fit``: arrays, a ``tf.data.Dataset`` or a
        ``keras.utils.PyDataset`` (then ``y`` and ``batch_size`` are ``None``).
        Data are cycled through as many epochs as the sweep needs.
    start_lr, end_lr, num_steps, mode
        The sweep (same names as the PyTorch range test).
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
        Extra keywords for ``model.fit`` (e.g. ``{"shuffle": False}``).

    Returns
    -------
    clr_core.rangetest.RangeTestResult
        With ``base_lr``, ``max_lr``, ``suggestions``, ``confidence`` and the
        batch size in its provenance.
    """
    if getattr(model, "optimizer", None) is None:
        raise _fail("model", "a compiled keras.Model (call model.compile first)", model)
    choice("mode", mode, ("exp", "linear"))
    n = integer("num_steps", num_steps, low=2)
    if batch_size is not None:
        batch_size = integer("batch_size", batch_size, low=1)
    if metric is not None and not isinstance(metric, str):
        raise _fail("metric", "a str or None", metric, TypeError)
    boolean("progress", progress)
    boolean("restore", restore)
    real("start_lr", start_lr)
    sweep = (ExponentialSweep if mode == "exp" else LinearSweep)(start_lr, end_lr, n)
    monitor = SweepMonitor(
        sweep, beta=beta, diverge_threshold=diverge_threshold, min_steps=min_steps
    )
    measured_batch = _first_batch_size(x, batch_size)

    optimizer = model.optimizer
    if not optimizer.built:
        with _scope(model):
            optimizer.build(model.trainable_variables)
    snapshot = _Snapshot(model)
    try:
        if not isinstance(optimizer._learning_rate, keras.Variable):
            # A schedule or callable: sweep a temporary variable in its place.
            with _scope(model):
                lr_var = keras.Variable(
                    float(start_lr), dtype="float32", trainable=False, name="lr"
                )
            optimizer._learning_rate = lr_var
            snapshot.temporary_lr = lr_var
        model.train_function = None  # trace a train function that reads the swept rate
        callback = RangeTestCallback(monitor, metric=metric, progress=progress)
        kwargs = dict(fit_kwargs or {})
        model.fit(
            x,
            y,
            batch_size=batch_size,
            epochs=n,  # at least one batch an epoch: the callback stops the fit sooner
            verbose=0,
            callbacks=[callback, *kwargs.pop("callbacks", [])],
            **kwargs,
        )
    finally:
        snapshot.restore(variables=restore)
    return monitor.result(
        batch_size=measured_batch,
        metric_mode=metric_mode,
        metric_name=metric,
        provenance={"framework": f"keras {keras.__version__} ({keras.backend.backend()})"},
    )
