"""`LearningRateFinder`: clr_torch's range test as a Lightning callback.

Requirements this module is written against:

* Lightning stays optional: this module is imported only when
  ``clr_torch.LearningRateFinder`` is first looked up, never by ``import clr_torch``;
  it works with ``pytorch_lightning`` and with ``lightning.pytorch`` (the one the
  program already imported, else whichever is installed);
* the sweep runs *through the Trainer*, as Lightning's own finder does: the
  module's ``training_step`` and the optimizer from ``configure_optimizers``, with
  the Trainer's strategy (DDP), precision, gradient accumulation and clipping.
  The Trainer's callbacks and loggers are swapped out while it runs, so they see
  none of it; ``self.log`` goes nowhere and warns about nothing;
* no analysis here: the rates, the stop rule and the reading come from clr_core's
  :class:`~clr_core.rangetest.SweepMonitor`; this module feeds it one
  ``(lr, loss, metric)`` point per real optimizer step;
* afterwards, also when the sweep raises, the module's parameters, gradients,
  buffers and modes, the optimizer's state and hyper-parameters, the precision
  plugin's scaler, the Python, NumPy and torch RNG states, and the Trainer's loop
  counters, data loaders, callbacks, loggers and schedulers are as they were: a
  fit with the finder trains from exactly where a fit without it would start;
* under DDP the loss (and metric) is averaged over ranks each step, every rank
  takes the same decision, and rank 0's result is broadcast so every rank
  installs the same plan.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import math
import os
import sys
import warnings
from collections.abc import Mapping
from typing import Any

import torch

import clr_core
from clr_core import rangetest as _rt
from clr_core.validation import MAX_STEPS, argument_names, fail, integer, real

from ._rangetest import _batch_len, _set_lr, _Snapshot
from ._scheduler import ScheduleLR, momentum_key_for, sweep_momentum

__all__ = ["LearningRateFinder"]


def _lightning() -> Any:
    """The Lightning package to build on: the one already imported, else the installed one."""
    for name in ("pytorch_lightning", "lightning.pytorch"):
        if name in sys.modules:
            return sys.modules[name]
    try:
        import pytorch_lightning

        return pytorch_lightning
    except ImportError:
        pass
    try:
        import lightning.pytorch

        return lightning.pytorch
    except ImportError:
        raise ImportError(
            "clr_torch.LearningRateFinder needs Lightning: pip install lightning "
            "(or pytorch-lightning)."
        ) from None


pl = _lightning()


def _sub(name: str) -> Any:
    """A submodule of the Lightning package in use (``"utilities.parsing"``...)."""
    return importlib.import_module(f"{pl.__name__}.{name}")


_rank_zero_warn = _sub("utilities.rank_zero").rank_zero_warn
_parsing = _sub("utilities.parsing")
_LRSchedulerConfig = _sub("utilities.types").LRSchedulerConfig
_DummyLogger = _sub("loggers.logger").DummyLogger
_LoopBase = _sub("loops.loop")._Loop
_Callback: Any = pl.Callback


def _recommend(result: Any, iterations_per_epoch: int, epochs: float) -> Any:
    """The plan the finder installs for a run of ``epochs`` epochs: the core's recommendation
    (a ``clr_core.rangetest.Plan``)."""
    return result.recommend(iterations_per_epoch, epochs)


def _checked_budget(budget: Any) -> tuple[int, float] | None:
    """A saved ``(iterations per epoch, epochs)`` budget, checked as the plan will use it:
    a step count >= 1 and a number of epochs giving ``PLAN_MIN_STEPS`` (4) to 2**53
    optimizer steps."""
    if budget is None:
        return None
    name = "state_dict['budget']"
    if not isinstance(budget, (list, tuple)) or len(budget) != 2:
        raise fail(name, "None or [iterations_per_epoch, epochs]", budget, TypeError)
    ipe = integer(f"{name}[0]", budget[0], low=1, high=MAX_STEPS)
    epochs = real(f"{name}[1]", budget[1], low=0.0, low_open=True)
    total = epochs * ipe
    if not (math.isfinite(total) and _rt.PLAN_MIN_STEPS <= round(total) <= MAX_STEPS):
        raise fail(name, f"a budget of {_rt.PLAN_MIN_STEPS} to 2**53 optimizer steps", budget)
    return ipe, epochs


def _scaled(schedule: clr_core.Schedule, ratio: float) -> clr_core.Schedule:
    """``schedule`` with its rates multiplied by ``ratio`` (a param group's share)."""
    if ratio == 1.0:
        return schedule
    keys = [f.name for f in dataclasses.fields(schedule) if f.name in ("base_lr", "max_lr")]
    if not keys:
        raise ValueError(
            f"Cannot scale a {type(schedule).__name__} plan for param groups with different "
            "rates; give every group the same rate in configure_optimizers, or install=False."
        )
    return dataclasses.replace(schedule, **{k: getattr(schedule, k) * ratio for k in keys})


def _momentum_values(optimizer: torch.optim.Optimizer) -> tuple[str, list[float]] | None:
    """The optimizer's momentum key and each group's momentum (beta1), or None."""
    try:
        key = momentum_key_for(optimizer)
    except ValueError:
        return None
    values = []
    for group in optimizer.param_groups:
        v = group[key]
        values.append(float(v[0] if isinstance(v, (tuple, list)) else v))
    return key, values


# --------------------------------------------------------------------------- #
# Trainer state swapped out while the sweep runs
# --------------------------------------------------------------------------- #

_LOOP_FLAGS = (
    "_restarting",
    "_loaded_from_state_dict",
    "_resuming_from_checkpoint",
    "_restart_stage",
    "_skip_next_val",
    "_last_train_dl_reload_epoch",
    "max_batches",
    "_combined_loader_states_to_load",
)
_MISSING = object()


def _loops(loop: Any) -> list[Any]:
    """``loop`` and every loop below it."""
    found = [loop]
    for v in vars(loop).values():
        if isinstance(v, _LoopBase):
            found += _loops(v)
    return found


class _TrainerState:
    """What the sweep changes on the Trainer, to put back afterwards."""

    def __init__(self, trainer: Any) -> None:
        fit = trainer.fit_loop
        self.trainer = trainer
        self.optimizers = trainer.strategy.optimizers
        self.lr_scheduler_configs = trainer.strategy.lr_scheduler_configs
        self.callbacks = trainer.callbacks
        self.loggers = trainer.loggers
        self.limit_val_batches = trainer.limit_val_batches
        self.max_steps = fit.epoch_loop.max_steps
        self.min_steps = fit.epoch_loop.min_steps
        self.max_epochs = fit.max_epochs
        self.min_epochs = fit.min_epochs
        self.should_stop = trainer.should_stop
        self.loop_state = copy.deepcopy(fit.state_dict())
        self.flags = [
            (loop, {k: vars(loop)[k] for k in _LOOP_FLAGS if k in vars(loop)})
            for loop in _loops(fit)
        ]
        self.combined_loader = fit._combined_loader
        self.data_fetcher = fit._data_fetcher
        self.val_check_batch = getattr(trainer, "val_check_batch", _MISSING)

    def swap_loaders_out(self) -> None:
        """A fresh train loader for the sweep; the original (if any) stays unconsumed."""
        fit = self.trainer.fit_loop
        fit._combined_loader = None
        fit._data_fetcher = None

    def enter_sweep(self, sweeper: Any, max_steps: int) -> None:
        trainer, fit = self.trainer, self.trainer.fit_loop
        trainer.strategy.lr_scheduler_configs = []
        trainer.callbacks = [sweeper]
        trainer.logger = _DummyLogger() if self.loggers else None
        trainer.limit_val_batches = 0  # no validation inside the sweep
        fit.epoch_loop.max_steps = max_steps
        fit.epoch_loop.min_steps = None
        fit.max_epochs = -1  # the loader is cycled as needed; the sweeper stops the loop
        fit.min_epochs = 0
        trainer.should_stop = False

    def restore(self) -> None:
        trainer, fit = self.trainer, self.trainer.fit_loop
        if fit._data_fetcher is not None and fit._data_fetcher is not self.data_fetcher:
            fit._data_fetcher.teardown()
        trainer.strategy.optimizers = self.optimizers
        trainer.strategy.lr_scheduler_configs = self.lr_scheduler_configs
        trainer.callbacks = self.callbacks
        trainer.loggers = self.loggers
        trainer.limit_val_batches = self.limit_val_batches
        fit.epoch_loop.max_steps = self.max_steps
        fit.epoch_loop.min_steps = self.min_steps
        fit.max_epochs = self.max_epochs
        fit.min_epochs = self.min_epochs
        fit.load_state_dict(copy.deepcopy(self.loop_state))
        for loop, flags in self.flags:
            vars(loop).update(flags)
        fit._combined_loader = self.combined_loader
        fit._data_fetcher = self.data_fetcher
        if self.combined_loader is not None and any(
            getattr(dl, "persistent_workers", False) and getattr(dl, "num_workers", 0) > 0
            for dl in self.combined_loader.flattened
        ):
            # persistent workers share one iterator between the sweep and the original
            fit._combined_loader = fit._data_fetcher = None
        if self.val_check_batch is not _MISSING:
            trainer.val_check_batch = self.val_check_batch
        trainer.should_stop = self.should_stop
        trainer._logger_connector.reset_results()
        trainer._logger_connector.reset_metrics()


# --------------------------------------------------------------------------- #
# The callback that feeds the monitor during the sweep
# --------------------------------------------------------------------------- #


def _loss_of(outputs: Any) -> torch.Tensor | None:
    if isinstance(outputs, torch.Tensor):
        return outputs
    if isinstance(outputs, Mapping):
        v = outputs.get("loss")
        return v if isinstance(v, torch.Tensor) else None
    return None


class _Sweeper(_Callback):  # type: ignore[misc]
    """Sets the sweep's rate before each optimizer step and records its loss after it."""

    def __init__(self, finder: LearningRateFinder, optimizer: torch.optim.Optimizer) -> None:
        self.finder = finder
        self.optimizer = optimizer
        self.monitor = _rt.SweepMonitor(finder.sweep, **finder._monitor_kw)
        groups = optimizer.param_groups
        ref = float(groups[0]["lr"])
        self.ratios = [float(g["lr"]) / ref if ref > 0 else 1.0 for g in groups]
        self.steps = 0
        self._hook = optimizer.register_step_post_hook(self._count)
        self.window = 0
        self.total = 0.0
        self.losses_in_window = 0
        self.metric_values: list[float] = []
        self.lr = math.nan
        self.steps_at_start = 0
        self.batch_size: int | None = None
        self.skipped_steps = 0
        self.consecutive_skips = 0
        self.batches_in_epoch = 0
        self.cut_short: str | None = None
        self.bar: Any = None

    def _count(self, *_: Any) -> None:
        self.steps += 1

    def close(self) -> None:
        self._hook.remove()
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        if self.finder._show_bar and trainer.is_global_zero and self.bar is None:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                return
            self.bar = tqdm(total=self.monitor.num_steps, desc="range test", leave=False)

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self.batches_in_epoch = 0

    def on_train_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int
    ) -> None:
        self.batches_in_epoch += 1
        if self.batch_size is None:
            self.batch_size = _batch_len(batch)
        if self.window == 0:  # the first batch of an optimizer step
            self.lr = float(self.monitor.lr(self.monitor.step_index))
            for g, r in zip(self.optimizer.param_groups, self.ratios, strict=True):
                _set_lr(g, self.lr * r)
            self.steps_at_start = self.steps

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        automatic = pl_module.automatic_optimization
        norm = trainer.accumulate_grad_batches if automatic else 1
        self.window += 1
        loss = _loss_of(outputs)
        if loss is not None:
            self.total += float(loss.detach()) * norm
            self.losses_in_window += 1
            if self.finder.metric is not None:
                self.metric_values.append(self._metric(trainer, outputs))
        stepped = self.steps > self.steps_at_start
        if automatic:
            done = stepped or not trainer.fit_loop.epoch_loop._should_accumulate()
        else:  # manual optimization: one point per optimizer.step() the module takes
            done = stepped or self.window >= self.finder.max_skips
        if not done:
            return
        n = self.losses_in_window
        loss_value = self.total / n if n else 0.0
        metric = sum(self.metric_values) / len(self.metric_values) if self.metric_values else None
        self.window, self.total, self.losses_in_window, self.metric_values = 0, 0.0, 0, []
        skipped = not stepped or n == 0
        loss_value, metric, skipped = self._reduce(trainer, loss_value, metric, skipped)
        if skipped:
            self.skipped_steps += 1
            self.consecutive_skips += 1
            if self.consecutive_skips >= self.finder.max_skips:
                warnings.warn(
                    f"Range test stopped: {self.consecutive_skips} optimizer steps in a row "
                    "were skipped (the precision plugin's scaler found inf/NaN gradients, or "
                    "training_step returned None).",
                    RuntimeWarning,
                    stacklevel=2,
                )
                trainer.should_stop = True
            return
        self.consecutive_skips = 0
        stop = self.monitor.update(self.lr, loss_value, metric)
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(lr=f"{self.lr:.3g}", loss=f"{loss_value:.4g}", refresh=False)
        if self._any(trainer, bool(stop)):
            trainer.should_stop = True

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        if self.batches_in_epoch == 0 and not self.monitor.done:
            # a loader that gave batches once and nothing now: a one-shot iterable
            self.cut_short = (
                f"cut short: train_dataloader ran out, at point {self.monitor.step_index} of "
                f"{self.monitor.num_steps}"
            )
            trainer.should_stop = True

    def _metric(self, trainer: Any, outputs: Any) -> float:
        key = self.finder.metric
        if isinstance(outputs, Mapping) and key in outputs:
            return float(outputs[key])
        logged = trainer._logger_connector.metrics["callback"]
        for name in (key, f"{key}_step"):
            if name in logged:
                return float(logged[name])
        raise ValueError(
            f"LearningRateFinder(metric={key!r}): training_step neither returned it in its "
            f"output dict (keys {sorted(outputs) if isinstance(outputs, Mapping) else []}) nor "
            f"logged it with self.log({key!r}, value) (logged: {sorted(logged)})."
        )

    def _reduce(
        self, trainer: Any, loss: float, metric: float | None, skipped: bool
    ) -> tuple[float, float | None, bool]:
        world = trainer.world_size
        if world <= 1:
            return loss, metric, skipped
        t = torch.tensor(
            [loss, 0.0 if metric is None else metric, float(skipped)],
            dtype=torch.float64,
            device=trainer.strategy.root_device,
        )
        loss_, metric_, skipped_ = (
            float(v) for v in trainer.strategy.reduce(t, reduce_op="sum").tolist()
        )
        return loss_ / world, None if metric is None else metric_ / world, skipped_ > 0

    def _any(self, trainer: Any, flag: bool) -> bool:
        if trainer.world_size <= 1:
            return flag
        t = torch.tensor([float(flag)], dtype=torch.float64, device=trainer.strategy.root_device)
        return bool(trainer.strategy.reduce(t, reduce_op="sum").item() > 0)


# --------------------------------------------------------------------------- #
# The public callback
# --------------------------------------------------------------------------- #


class LearningRateFinder(_Callback):  # type: ignore[misc]
    r"""Run clr-core's LR range test at fit start and train with the plan it reads.

    A drop-in for Lightning's ``LearningRateFinder`` callback (same name, and the
    same options where they mean the same thing), with clr-core's sweep, stop rule
    and analysis. At ``on_fit_start`` it:

    1. runs the range test through the Trainer: the module's own
       ``training_step``, the optimizer from ``configure_optimizers``, the
       Trainer's strategy, precision, accumulation and clipping. Each optimizer
       step ``i`` sets every param group's rate to ``sweep(i) * lr_g / lr_0`` (the
       groups keep their ratios) and records the mean loss of the step;
    2. restores everything: module, optimizer, scaler, RNG states, the Trainer's
       loops, loaders, callbacks and loggers (the training that follows starts
       exactly where it would have without the finder);
    3. logs the result to the Trainer's loggers: ``lr_finder/base_lr``,
       ``max_lr``, ``lr``, ``one_cycle_peak``, ``confidence`` and ``points``, and
       the plot (``lr_finder``) where a logger takes images, or the plot and
       the result's JSON as ``lr_finder.png`` / ``lr_finder.json`` in the
       logger's ``log_dir``;
    4. installs the recommended plan (``result.recommend(...)``: 1cycle peaking at
       the result's ``one_cycle_peak`` over the fit's optimizer steps, with cycled momentum
       when the optimizer has momentum) as the Trainer's step-interval
       scheduler, a :class:`~clr_torch.ScheduleLR`, replacing the schedulers from
       ``configure_optimizers`` (with a warning when there were any). A result
       with confidence 0 (the loss diverged at once, or stayed flat) installs
       nothing and warns with its reasons.

    Parameters
    ----------
    min_lr, max_lr : float
        The sweep's first and last rate (Lightning's names; ``start_lr`` and
        ``end_lr`` in :func:`~clr_torch.range_test`). Defaults ``1e-5`` and ``10``.
    num_training_steps : int
        Optimizer steps in the sweep (200). The train loader is cycled when it
        is shorter.
    mode : {"exponential", "linear"}
        Exponential (default) or linear sweep (``"exp"`` is accepted too).
    early_stop_threshold : float or None
        When the sweep stops: once the smoothed loss rises above its best by
        this many *spans* (the fall from the first smoothed loss to the best;
        clr_core's ``diverge_threshold``, default 1; see
        :class:`~clr_core.rangetest.SweepMonitor`). ``None`` runs the whole
        sweep, stopping only at a non-finite loss. (Lightning's threshold is a
        ratio to the best loss; a span does not depend on the loss's offset.)
    update_attr : bool
        Also set the module's learning-rate attribute (``attr_name``, else
        ``lr`` or ``learning_rate``, on the module or its ``hparams``) to the
        result's fixed rate ``result.lr``, as Lightning's finder sets its
        suggestion; with ``install=False`` the optimizer's rates follow it too.
        Default ``False``: the installed plan drives the rates.
    attr_name : str
        The attribute for ``update_attr``.
    epochs : float, optional
        The plan's length in epochs. Default: the fit's own length, from
        ``Trainer(max_epochs=..., max_steps=...)`` (its
        ``estimated_stepping_batches``).
    install : bool
        Install the plan as the scheduler (default ``True``). ``False`` only
        runs, logs and keeps the result.
    cycle_momentum : bool
        Cycle momentum (``base_momentum`` to ``max_momentum``, inversely to the
        rate) when the optimizer has a momentum (SGD's ``momentum`` or Adam's
        ``beta1``) above 0. Default ``True``.
    base_momentum, max_momentum : float
        The momentum cycle's bounds (0.85 and 0.95, as torch's ``OneCycleLR``).
    metric : str, optional
        A metric to read the bounds from (higher is better, e.g. accuracy):
        the key of that name in the dict ``training_step`` returns, or a value
        it logs with ``self.log(metric, value)``.
    plot : bool
        Log the plot (needs matplotlib). Default ``True``.
    progress : bool
        A progress bar on rank 0 (when the Trainer shows one). Default ``True``.
    beta, min_steps : optional
        The monitor's smoothing factor and the points before its stop rule may
        fire (``None``: clr_core's defaults).
    max_skips : int
        Consecutive skipped optimizer steps (inf/NaN gradients under a scaler,
        ``training_step`` returning ``None``) after which the sweep stops (50).

    Attributes
    ----------
    result : clr_core.rangetest.RangeTestResult or None
        The reading, also kept in checkpoints: a fit resumed from one installs
        the same plan without sweeping again (the scheduler's position comes
        from the checkpoint).
    scheduler : ScheduleLR or None
        The installed scheduler.
    sweeping : bool
        ``True`` while the sweep runs (for module hooks that should tell).

    Notes
    -----
    The module's own training hooks (``on_train_start``,
    ``on_train_batch_start``...) run during the sweep, as under Lightning's
    finder; the Trainer's other callbacks and its loggers do not see it. Under
    DDP every rank sweeps its shard: the loss is averaged over ranks each step,
    all ranks stop together, and every rank installs rank 0's plan. The sweep
    does not run under ``fast_dev_run``, nor when resuming from a checkpoint.

    Examples
    --------
    >>> from clr_torch import LearningRateFinder                      # doctest: +SKIP
    >>> finder = LearningRateFinder(num_training_steps=100)            # doctest: +SKIP
    >>> trainer = pl.Trainer(max_epochs=10, callbacks=[finder])        # doctest: +SKIP
    >>> trainer.fit(model, train_loader)                               # doctest: +SKIP
    >>> finder.result.max_lr, finder.scheduler.schedules[0]            # doctest: +SKIP
    """

    SUPPORTED_MODES = ("exponential", "linear")

    def __init__(
        self,
        min_lr: float = _rt.DEFAULT_START_LR,
        max_lr: float = _rt.DEFAULT_END_LR,
        num_training_steps: int = _rt.DEFAULT_NUM_STEPS,
        mode: str = "exponential",
        early_stop_threshold: float | None = 1.0,
        update_attr: bool = False,
        attr_name: str = "",
        *,
        epochs: float | None = None,
        install: bool = True,
        cycle_momentum: bool = True,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
        metric: str | None = None,
        plot: bool = True,
        progress: bool = True,
        beta: float | None = None,
        min_steps: int | None = None,
        max_skips: int = 50,
    ) -> None:
        m = mode.lower() if isinstance(mode, str) else mode
        m = "exponential" if m == "exp" else m
        if m not in self.SUPPORTED_MODES:
            raise fail("mode", f"one of {self.SUPPORTED_MODES}", mode)
        for name, flag in (
            ("update_attr", update_attr),
            ("install", install),
            ("cycle_momentum", cycle_momentum),
            ("plot", plot),
            ("progress", progress),
        ):
            if not isinstance(flag, bool):
                raise fail(name, "a bool", flag, TypeError)
        if not isinstance(attr_name, str):
            raise fail("attr_name", "a str", attr_name, TypeError)
        if metric is not None and (not isinstance(metric, str) or not metric):
            raise fail("metric", "None or the name of a value training_step returns or logs",
                        metric, TypeError)  # fmt: skip
        if isinstance(max_skips, bool) or not isinstance(max_skips, int) or max_skips < 1:
            raise fail("max_skips", "an int >= 1", max_skips)
        if epochs is not None and (
            isinstance(epochs, bool)
            or not isinstance(epochs, (int, float))
            or not math.isfinite(epochs)
            or epochs <= 0
        ):
            raise fail("epochs", "None or a finite number > 0", epochs)
        for name, v in (("base_momentum", base_momentum), ("max_momentum", max_momentum)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v < 1.0:
                raise fail(name, "a number in [0, 1)", v)
        if base_momentum > max_momentum:
            raise fail("base_momentum", f"<= max_momentum ({max_momentum})", base_momentum)
        sweep_cls = _rt.ExponentialSweep if m == "exponential" else _rt.LinearSweep
        names = {"start_lr": "min_lr", "end_lr": "max_lr", "num_steps": "num_training_steps"}
        with argument_names(names):  # the sweep validates them, under these names
            self.sweep = sweep_cls(min_lr, max_lr, num_training_steps)
        monitor_kw: dict[str, Any] = {}
        if beta is not None:
            monitor_kw["beta"] = beta
        if early_stop_threshold is None:
            # the divergence rule never fires before the sweep's last point
            monitor_kw["min_steps"] = min(self.sweep.num_steps + 1, MAX_STEPS)
        else:
            monitor_kw["diverge_threshold"] = early_stop_threshold
            if min_steps is not None:
                monitor_kw["min_steps"] = min_steps
        _rt.SweepMonitor(self.sweep, **monitor_kw)  # every number validated now, not at fit
        self._monitor_kw = monitor_kw
        self._min_lr, self._max_lr = float(min_lr), float(max_lr)
        self._num_training_steps = int(num_training_steps)
        self._mode = m
        self._early_stop_threshold = early_stop_threshold
        self._update_attr, self._attr_name = update_attr, attr_name
        self.epochs, self.install = epochs, install
        self.cycle_momentum = cycle_momentum
        self.base_momentum, self.max_momentum = float(base_momentum), float(max_momentum)
        self.metric, self.plot, self.progress = metric, plot, progress
        self.max_skips = max_skips
        self.result: Any = None
        self.scheduler: ScheduleLR | None = None
        self.sweeping = False
        self._budget: tuple[int, float] | None = None
        self._from_checkpoint = False
        self._show_bar = False

    # ------------------------------------------------------------------ hooks

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        if trainer.fast_dev_run:
            _rank_zero_warn("Skipping the learning rate finder since `fast_dev_run` is enabled.")
            return
        if trainer.ckpt_path is not None:
            if self._from_checkpoint and self.result is not None and self.install:
                self._install(trainer, pl_module, self.result)
            elif self.install:
                _rank_zero_warn(
                    "LearningRateFinder: resuming from a checkpoint without a finder result "
                    "in it; the range test runs at the start of a new fit only, so the "
                    "schedulers from configure_optimizers are kept."
                )
            return
        self.lr_find(trainer, pl_module)

    def state_dict(self) -> dict[str, Any]:
        return {
            "result": None if self.result is None else self.result.to_dict(),
            "budget": None if self._budget is None else list(self._budget),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the reading and the fit's budget from a checkpoint (untrusted data: all
        of it is checked first, so a refused state changes nothing)."""
        if not isinstance(state_dict, Mapping):
            raise fail("state_dict", "a dict made by state_dict()", state_dict, TypeError)
        if set(state_dict) - {"result", "budget"}:
            unknown = sorted(map(str, set(state_dict) - {"result", "budget"}))
            raise fail("state_dict", "a dict with the keys ['budget', 'result']", unknown)
        result = state_dict.get("result")
        result = None if result is None else _rt.RangeTestResult.from_dict(result)
        budget = _checked_budget(state_dict.get("budget"))
        self.result, self._budget = result, budget
        self._from_checkpoint = True

    # ------------------------------------------------------------------ the test

    def lr_find(self, trainer: Any, pl_module: Any) -> Any:
        """Run the range test now, log it, install the plan; return the result."""
        optimizers = trainer.strategy.optimizers
        if len(optimizers) != 1:
            raise ValueError(
                "LearningRateFinder works with a single optimizer; configure_optimizers "
                f"returned {len(optimizers)}."
            )
        optimizer = optimizers[0]
        attr = self._attr(pl_module) if self._update_attr else None
        result = self._sweep(trainer, pl_module, optimizer)
        if trainer.world_size > 1:  # every rank installs rank 0's plan
            result = _rt.RangeTestResult.from_dict(trainer.strategy.broadcast(result.to_dict()))
        self.result = result
        self._log(trainer, result)
        if self.install:
            self._install(trainer, pl_module, result)
        if attr is not None:
            _parsing.lightning_setattr(pl_module, attr, result.lr)
            if not self.install:
                ref = float(optimizer.param_groups[0]["lr"])
                for g in optimizer.param_groups:
                    ratio = float(g["lr"]) / ref if ref > 0 else 1.0
                    _set_lr(g, result.lr * ratio)
        return result

    def _attr(self, pl_module: Any) -> str:
        has = _parsing.lightning_hasattr
        if self._attr_name:
            if not has(pl_module, self._attr_name):
                raise AttributeError(
                    f"LearningRateFinder(attr_name={self._attr_name!r}): no such field on the "
                    "module or its hparams."
                )
            return self._attr_name
        for name in ("lr", "learning_rate"):
            if has(pl_module, name):
                return name
        raise AttributeError(
            "LearningRateFinder(update_attr=True) needs a field `lr` or `learning_rate` on the "
            "module or its hparams; name yours with attr_name=..."
        )

    def _budget_of(self, trainer: Any) -> tuple[int, float] | None:
        """(optimizer steps per epoch, epochs) of the fit, for the plan."""
        batches = trainer.num_training_batches
        accumulate = trainer.accumulate_grad_batches
        total = trainer.estimated_stepping_batches
        finite = isinstance(batches, int) or (isinstance(batches, float) and math.isfinite(batches))
        ipe = math.ceil(batches / accumulate) if finite and batches > 0 else None
        if self.epochs is not None:
            if ipe is None:
                return None
            return ipe, float(self.epochs)
        if not math.isfinite(total) or total <= 0:
            return None
        if ipe is None:  # an iterable without a length: the whole fit is one "epoch"
            return int(total), 1.0
        return ipe, float(total) / ipe

    def _sweep(self, trainer: Any, pl_module: Any, optimizer: torch.optim.Optimizer) -> Any:
        scaler = getattr(trainer.precision_plugin, "scaler", None)
        snapshot = _Snapshot(pl_module, optimizer, scaler)
        saved = _TrainerState(trainer)
        self._show_bar = self.progress and trainer.progress_bar_callback is not None
        sweeper = _Sweeper(self, optimizer)
        self.sweeping = True
        try:
            saved.swap_loaders_out()
            trainer.fit_loop.setup_data()
            if trainer.fit_loop._combined_loader is None:
                raise ValueError("LearningRateFinder: the Trainer has no training batches.")
            self._budget = self._budget_of(trainer)
            if self._budget is None and self.install:
                raise ValueError(
                    "LearningRateFinder needs the fit's length to fit the plan: set "
                    "Trainer(max_epochs=...) or Trainer(max_steps=...), pass epochs=..., or "
                    "install=False."
                )
            start = trainer.global_step
            saved.enter_sweep(sweeper, start + self._num_training_steps + self.max_skips + 1)
            trainer.fit_loop.run()
        finally:
            sweeper.close()
            self.sweeping = False
            saved.restore()
            snapshot.restore()
        return self._result(trainer, sweeper, optimizer)

    def _result(self, trainer: Any, sweeper: _Sweeper, optimizer: torch.optim.Optimizer) -> Any:
        monitor = sweeper.monitor
        if not monitor.done and sweeper.cut_short is None:
            sweeper.cut_short = (
                f"cut short: the fit loop ended at point {monitor.step_index} of "
                f"{monitor.num_steps}"
            )
        world = trainer.world_size
        accumulate = trainer.accumulate_grad_batches
        per_device = sweeper.batch_size
        provenance = {
            "framework": f"torch {torch.__version__}, lightning {pl.__version__}",
            "optimizer": type(optimizer).__name__,
            "per_device_batch_size": per_device,
            "accumulation_steps": accumulate,
            "world_size": world,
            "skipped_steps": sweeper.skipped_steps,
            "param_groups": len(optimizer.param_groups),
            "momentum": sweep_momentum(optimizer),
            "strategy": type(trainer.strategy).__name__,
            "precision": str(trainer.precision),
        }
        if sweeper.cut_short is not None:
            if monitor.step_index < _rt.MIN_POINTS and all(
                math.isfinite(v) for v in monitor.losses
            ):
                raise ValueError(
                    f"LearningRateFinder: the sweep was {sweeper.cut_short}; a range test "
                    f"needs at least {_rt.MIN_POINTS} points. Give the Trainer a train loader "
                    "that can be iterated again, or more batches."
                )
            provenance["stop_reason"] = sweeper.cut_short
        kw: dict[str, Any] = {
            "batch_size": None if per_device is None else per_device * accumulate * world,
            "provenance": provenance,
        }
        if self.metric is not None:
            kw["metric_name"] = self.metric
        result = monitor.result(**kw)
        if sweeper.cut_short is not None:
            reason = f"The sweep was {sweeper.cut_short}."
            result = dataclasses.replace(result, reasons=(*result.reasons, reason))
        return result

    # ------------------------------------------------------------------ after

    def _install(self, trainer: Any, pl_module: Any, result: Any) -> None:
        """Install the plan of ``result`` in place of the fit's schedulers; a reading with
        no confidence installs nothing (a fresh fit and a resumed one alike)."""
        if result.confidence == 0.0:
            _rank_zero_warn(
                "LearningRateFinder: the range test gave no usable reading ("
                + " ".join(result.reasons)
                + ") The schedulers from configure_optimizers are kept; see .result."
            )
            return
        budget = self._budget
        if budget is None:
            budget = self._budget_of(trainer)
        if budget is None:
            raise ValueError(
                "LearningRateFinder needs the fit's length to fit the plan: set "
                "Trainer(max_epochs=...) or Trainer(max_steps=...), or pass epochs=..."
            )
        optimizer = trainer.strategy.optimizers[0]
        ref = float(optimizer.param_groups[0]["lr"])
        ratios = [float(g["lr"]) / ref if ref > 0 else 1.0 for g in optimizer.param_groups]
        plan = _recommend(result, *budget)
        schedules = [_scaled(plan.lr, r) for r in ratios]
        momentum = None
        found = _momentum_values(optimizer) if self.cycle_momentum else None
        if found is not None and all(v > 0 for v in found[1]):
            momentum = [s.momentum(self.base_momentum, self.max_momentum) for s in schedules]
        old = trainer.strategy.lr_scheduler_configs
        if old and not (len(old) == 1 and old[0].scheduler is self.scheduler):
            names = ", ".join(type(c.scheduler).__name__ for c in old)
            _rank_zero_warn(
                f"LearningRateFinder replaced the scheduler(s) from configure_optimizers "
                f"({names}) with its plan; pass install=False to keep yours."
            )
        self.scheduler = ScheduleLR(optimizer, schedules, momentum=momentum)
        config = _LRSchedulerConfig(self.scheduler, name="lr-clr", interval="step", frequency=1)
        trainer.strategy.lr_scheduler_configs = [config]

    def _log(self, trainer: Any, result: Any) -> None:
        if not trainer.loggers:
            return
        metrics = {
            "lr_finder/base_lr": result.base_lr,
            "lr_finder/max_lr": result.max_lr,
            "lr_finder/lr": result.lr,
            "lr_finder/one_cycle_peak": result.one_cycle_peak,
            "lr_finder/confidence": result.confidence,
            "lr_finder/points": float(len(result.lrs)),
        }
        step = trainer.global_step
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=step)
        if not trainer.is_global_zero:
            return
        fig = None
        if self.plot:
            try:
                import matplotlib.pyplot as plt
            except ImportError:
                warnings.warn(
                    "LearningRateFinder(plot=True) needs matplotlib to log the plot; "
                    "pip install matplotlib, or pass plot=False.",
                    RuntimeWarning,
                    stacklevel=3,
                )
            else:
                fig = result.plot().figure
        try:
            for logger in trainer.loggers:
                _log_artifacts(logger, result, fig, step)
        finally:
            if fig is not None:
                plt.close(fig)


def _log_artifacts(logger: Any, result: Any, fig: Any, step: int) -> None:
    """The plot where ``logger`` takes images; the result's JSON (and the plot, where
    the logger took no image) in its ``log_dir``."""
    took_image = fig is not None and _log_image(logger, fig, step)
    log_dir = getattr(logger, "log_dir", None)
    if not isinstance(log_dir, (str, os.PathLike)):
        return
    os.makedirs(log_dir, exist_ok=True)
    with open(os.path.join(log_dir, "lr_finder.json"), "w", encoding="utf-8") as f:
        f.write(result.to_json())
    if fig is not None and not took_image:
        fig.savefig(os.path.join(log_dir, "lr_finder.png"), dpi=100)


def _log_image(logger: Any, fig: Any, step: int) -> bool:
    if callable(getattr(logger, "log_image", None)):  # W&B, Neptune
        logger.log_image(key="lr_finder", images=[fig], step=step)
        return True
    experiment = logger.experiment
    if callable(getattr(experiment, "add_figure", None)):  # TensorBoard
        experiment.add_figure("lr_finder", fig, global_step=step)
        return True
    if callable(getattr(experiment, "log_figure", None)):
        run_id = getattr(logger, "run_id", None)
        if run_id is not None:  # MLflow
            experiment.log_figure(run_id, fig, "lr_finder.png")
        else:  # Comet
            experiment.log_figure(figure_name="lr_finder", figure=fig, step=step)
        return True
    return False
