"""The LR range test for PyTorch: run the model, feed the numbers to clr_core.

Requirements this module is written against:

* no analysis here: the sweep, the smoothing, the stop rule and the reading of
  the bounds are clr_core's (:class:`clr_core.rangetest.SweepMonitor`); this
  module only runs optimizer steps and reports ``(lr, loss, metric)`` points;
* one point per *real* optimizer step: gradient accumulation gathers several
  batches into one point, and a step that a ``GradScaler`` skips (inf/NaN
  gradients) records nothing and does not advance the sweep;
* afterwards, and also when the loop raises or is interrupted, the model's
  parameters, gradients, buffers and train/eval modes, the optimizer's state and
  every param group's hyper-parameters, the scaler's state and the Python, NumPy
  and torch RNG states are restored bit for bit, from copies held in memory:
  nothing is written to disk;
* under an initialised ``torch.distributed`` process group the loss and metric
  are averaged over ranks each step, every rank takes the same decision, and
  only rank 0 shows progress.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import nullcontext
from typing import Any

import torch

from clr_core import rangetest as _rt
from clr_core.validation import fail

from ._scheduler import _put, sweep_momentum

__all__ = ["RangeTest", "range_test", "accuracy"]

_INPUT_KEYS = ("inputs", "input", "x", "input_ids", "features", "image", "images")
_TARGET_KEYS = ("targets", "target", "labels", "label", "y")
_IGNORE_INDEX = -100
_STEP_FN_HINT = "Pass step_fn=lambda model, batch: (loss, metric) to compute it yourself."


# --------------------------------------------------------------------------- #
# Helpers
# --------------------------------------------------------------------------- #


def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Top-1 accuracy: ``mean(argmax(outputs, -1) == targets)``.

    Outputs of shape ``(N,)`` or ``(N, 1)`` are binary logits (``> 0`` is class 1).
    Targets equal to ``-100`` (the ``ignore_index`` of ``cross_entropy`` and of
    Hugging Face labels, e.g. padding tokens) are left out.
    """
    with torch.no_grad():
        if outputs.ndim == 1 or outputs.shape[-1] == 1:
            pred = (outputs.reshape(-1) > 0).to(targets.dtype)
            return float((pred == targets.reshape(-1)).float().mean())
        pred = outputs.argmax(dim=-1)
        hit = pred == targets
        if not targets.is_floating_point():
            keep = targets != _IGNORE_INDEX
            if not bool(keep.all()):
                return float(hit[keep].float().mean()) if bool(keep.any()) else math.nan
        return float(hit.float().mean())


def _to_device(batch: Any, device: torch.device | None) -> Any:
    if device is None:
        return batch
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return type(batch)({k: _to_device(v, device) for k, v in batch.items()})  # type: ignore[call-arg]
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # namedtuple
        return type(batch)(*(_to_device(v, device) for v in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


def _batch_len(batch: Any) -> int | None:
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.ndim else None
    if isinstance(batch, Mapping):
        for v in batch.values():
            n = _batch_len(v)
            if n is not None:
                return n
    if isinstance(batch, (list, tuple)):
        for v in batch:
            n = _batch_len(v)
            if n is not None:
                return n
    return None


def _find(batch: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for k in keys:
        if k in batch:
            return batch[k]
    return None


def _pick(batch: Mapping[str, Any], keys: tuple[str, ...], what: str) -> Any:
    found = _find(batch, keys)
    if found is None:
        raise KeyError(
            f"A dict batch needs one of the keys {keys} for the {what}; found {sorted(batch)}. "
            "Pass step_fn=lambda model, batch: loss to handle your batches."
        )
    return found


def _field(output: Any, name: str) -> Any:
    """``output[name]`` or ``output.name`` (Hugging Face ``ModelOutput``, dicts), else None."""
    if isinstance(output, Mapping):
        return output.get(name)
    return getattr(output, name, None)


def _keys(output: Any) -> list[str]:
    if isinstance(output, Mapping):
        return sorted(str(k) for k in output)
    if not hasattr(output, "__dict__"):
        return []
    return sorted(k for k in vars(output) if not k.startswith("_"))


def _model_loss(output: Any) -> torch.Tensor:
    """The loss of a model called as ``model(**batch)`` that computes its own."""
    loss = _field(output, "loss")
    if not isinstance(loss, torch.Tensor):
        raise TypeError(
            "With dict batches and no loss_fn the model is called as model(**batch) and must "
            "return its loss: an output with a `loss` entry or attribute, as Hugging Face "
            "models do when the batch holds `labels`. Received a "
            f"{type(output).__name__} with the fields {_keys(output)}. Pass loss_fn, or "
            "step_fn=lambda model, batch: loss to handle your batches."
        )
    return loss


def _logits_and_labels(output: Any, batch: Mapping[str, Any], metric: Any) -> tuple[Any, Any]:
    """What a metric is computed on for ``model(**batch)``: ``logits`` against ``labels``."""
    logits = _field(output, "logits")
    labels = _find(batch, _TARGET_KEYS)
    if not isinstance(logits, torch.Tensor) or labels is None:
        name = getattr(metric, "__name__", None) or repr(metric)
        missing = []
        if not isinstance(logits, torch.Tensor):
            missing.append(
                f"the model's output (a {type(output).__name__} with the fields "
                f"{_keys(output)}) has no `logits`"
            )
        if labels is None:
            missing.append(
                f"the batch has none of the keys {_TARGET_KEYS} (it has {sorted(batch)})"
            )
        raise ValueError(
            f"Cannot compute the metric {name!r}: with dict batches and no loss_fn it is "
            "computed on model(**batch).logits against batch['labels'], but "
            + " and ".join(missing)
            + f". {_STEP_FN_HINT}"
        )
    return logits.detach(), labels


class _Exhausted(Exception):
    """A one-shot train_loader ran out before the sweep ended."""


class _Batches:
    """Batches from ``loader``, a new pass (epoch) when one runs out.

    A loader that yields nothing on a new pass after giving batches before (a
    generator, any one-shot iterator) is exhausted: :class:`_Exhausted`.
    """

    def __init__(self, loader: Iterable[Any]) -> None:
        self.loader = loader
        self.it: Iterator[Any] = iter(loader)
        self.served = 0

    def next(self) -> Any:
        try:
            batch = next(self.it)
        except StopIteration:
            if self.served == 0:
                raise ValueError("Argument `train_loader` yields no batches.") from None
            self.it = iter(self.loader)
            try:
                batch = next(self.it)
            except StopIteration:
                raise _Exhausted from None
        self.served += 1
        return batch


# --------------------------------------------------------------------------- #
# Snapshot / restore: everything the sweep touches, bit-exact, in memory
# --------------------------------------------------------------------------- #


def _clone(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_clone(v) for v in value)
    return value


class _Snapshot:
    """In-memory copies of the model, optimizer, scaler and RNG states."""

    def __init__(
        self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scaler: Any
    ) -> None:
        self.model, self.optimizer, self.scaler = model, optimizer, scaler
        self.tensors = [
            (t, t.detach().clone()) for t in itertools.chain(model.parameters(), model.buffers())
        ]
        self.grads = [
            (p, None if p.grad is None else p.grad.detach().clone()) for p in model.parameters()
        ]
        self.modes = [(m, m.training) for m in model.modules()]
        self.opt_state = {p: _clone(s) for p, s in optimizer.state.items()}
        self.groups = [
            (g, {k: (v if k == "params" else _clone(v)) for k, v in g.items()})
            for g in optimizer.param_groups
        ]
        self.scaler_state = _clone(scaler.state_dict()) if scaler is not None else None
        self.py_rng = random.getstate()
        self.np_rng = None
        try:
            import numpy

            # The legacy global RNG is the one user code draws from.
            self.np_rng = numpy.random.get_state()  # noqa: NPY002
        except ImportError:  # pragma: no cover - numpy ships with the torch extra
            pass
        self.torch_rng = torch.get_rng_state()
        self.cuda_rng = (
            torch.cuda.get_rng_state_all()
            if torch.cuda.is_available() and torch.cuda.is_initialized()  # type: ignore[no-untyped-call]
            else None
        )

    def restore(self) -> None:
        with torch.no_grad():
            for tensor, copy in self.tensors:
                tensor.copy_(copy)
            for param, grad in self.grads:
                param.grad = None if grad is None else grad.clone()
        for m, training in self.modes:
            m.training = training
        opt = self.optimizer
        opt.state.clear()
        for key, state in self.opt_state.items():
            opt.state[key] = _clone(state)
        saved_groups = [g for g, _ in self.groups]
        if len(saved_groups) != len(opt.param_groups) or any(
            a is not b for a, b in zip(saved_groups, opt.param_groups, strict=True)
        ):
            opt.param_groups[:] = saved_groups
        for group, saved in self.groups:
            current = dict(group)
            group.clear()
            for k, v in saved.items():
                old = current.get(k)
                if (
                    isinstance(v, torch.Tensor)
                    and isinstance(old, torch.Tensor)
                    and old.shape == v.shape
                ):
                    with torch.no_grad():
                        old.copy_(v)  # keep the tensor's identity (compiled optimizers)
                    group[k] = old
                else:
                    group[k] = v if k == "params" else _clone(v)
        if self.scaler is not None:
            self.scaler.load_state_dict(_clone(self.scaler_state))
        random.setstate(self.py_rng)
        if self.np_rng is not None:
            import numpy

            numpy.random.set_state(self.np_rng)  # noqa: NPY002
        torch.set_rng_state(self.torch_rng)
        if self.cuda_rng is not None:
            torch.cuda.set_rng_state_all(self.cuda_rng)


# --------------------------------------------------------------------------- #
# Distributed
# --------------------------------------------------------------------------- #


def _dist() -> Any:
    d: Any = getattr(torch, "distributed", None)
    if d is not None and d.is_available() and d.is_initialized():
        return d
    return None


class _Reducer:
    """Averages the per-step numbers over ranks (a no-op without a process group)."""

    def __init__(self, device: torch.device) -> None:
        self.dist = _dist()
        self.world = self.dist.get_world_size() if self.dist else 1
        self.rank = self.dist.get_rank() if self.dist else 0
        if self.dist is not None:
            backend = str(self.dist.get_backend()).lower()
            self.device = device if "nccl" in backend else torch.device("cpu")

    def step(
        self, loss: float, metric: float | None, skipped: bool
    ) -> tuple[float, float | None, bool]:
        if self.dist is None:
            return loss, metric, skipped
        t = torch.tensor(
            [loss, 0.0 if metric is None else metric, float(skipped)],
            dtype=torch.float64,
            device=self.device,
        )
        self.dist.all_reduce(t)  # sum; NaN on any rank makes the mean NaN on all
        loss_, metric_, skipped_ = (float(v) for v in t.tolist())
        return (
            loss_ / self.world,
            None if metric is None else metric_ / self.world,
            skipped_ > 0,
        )

    def any(self, flag: bool) -> bool:
        if self.dist is None:
            return flag
        t = torch.tensor([float(flag)], dtype=torch.float64, device=self.device)
        self.dist.all_reduce(t)
        return bool(t.item() > 0)


# --------------------------------------------------------------------------- #
# The range test
# --------------------------------------------------------------------------- #


class RangeTest:
    r"""The LR range test (Smith 2017, section 3.3) on a PyTorch model.

    Each sweep step ``i`` sets every param group's rate to
    ``sweep(i) * lr_g / lr_0`` (``lr_g`` the group's rate when the test starts:
    groups keep their ratios, group 0 follows the sweep exactly), runs
    ``accumulation_steps`` batches forward and backward, takes one optimizer
    step, and reports ``(sweep(i), mean loss, metric)`` to clr_core's
    :class:`~clr_core.rangetest.SweepMonitor`, whose stop rule ends the sweep
    (divergence, a non-finite loss, or the sweep's end). The recorded points
    are analysed by clr_core into a :class:`~clr_core.rangetest.RangeTestResult`.

    Parameters
    ----------
    model : torch.nn.Module
    optimizer : torch.optim.Optimizer
        Any optimizer over the model's parameters.
    loss_fn : callable, optional
        ``loss_fn(outputs, targets) -> loss``. Needed unless ``step_fn`` is given
        or dict batches go to a model that returns its loss (``model(**batch)``
        with a ``loss`` entry or attribute, as Hugging Face models do).
    start_lr, end_lr : float
        Sweep bounds (default ``1e-5`` and ``10``: six decades, the useful rates of
        SGD and of Adam alike; ``clr_core.rangetest.DEFAULT_START_LR`` /
        ``DEFAULT_END_LR``).
    num_steps : int
        Optimizer steps (points) in the sweep, default 200
        (``clr_core.rangetest.DEFAULT_NUM_STEPS``: on the benchmark suite 200 steps
        read the edge 1.3-1.6x steady across seeds, 100 steps 1.2-2.7x). The loader is cycled
        when an epoch has fewer batches. A one-shot loader (a generator) that runs
        out first ends the sweep with the points it gave: a ``RuntimeWarning``,
        :attr:`cut_short` and the result's ``provenance["stop_reason"]`` and
        ``reasons`` say so (fewer than 5 points raise ``ValueError``).
    mode : {"exp", "linear"}
        :class:`~clr_core.rangetest.ExponentialSweep` (default) or
        :class:`~clr_core.rangetest.LinearSweep` (the paper's).
    step_fn : callable, optional
        ``step_fn(model, batch) -> loss`` or ``-> (loss, metric)``: your own
        forward pass (the batch is already on ``device``). The range test does
        the backward pass and the optimizer step.
    metric : "accuracy", callable or None
        A metric to record at each point, ``metric(outputs, targets) -> float``
        (higher is better, e.g. :func:`accuracy`), measured on the training
        batch or, with ``val_loader``, on ``val_batches`` held-out batches.
        Then the bounds are read off the metric, as in the paper. For dict
        batches without ``loss_fn`` (Hugging Face models, called as
        ``model(**batch)``) it is ``metric(output.logits, batch["labels"])``.
        With ``step_fn`` the metric is the second value ``step_fn`` returns.
        A requested metric that cannot be computed raises an error naming
        ``step_fn``; it is never dropped silently.
    val_loader : iterable, optional
        Held-out batches; the first ``val_batches`` are kept (on ``device``) and
        evaluated after every optimizer step, in eval mode without gradients.
    val_batches : int
        How many held-out batches (default 4).
    accumulation_steps : int
        Batches per optimizer step (default 1). Their losses are averaged into
        one point.
    scaler : torch.amp.GradScaler, optional
        For mixed precision: backward on the scaled loss, ``scaler.step`` and
        ``scaler.update``. A step the scaler skips (its scale drops: inf/NaN
        gradients) records no point and the sweep retries the same rate.
    autocast_dtype : torch.dtype, optional
        Run the default forward pass under ``torch.autocast`` with this dtype.
    device : torch.device or str, optional
        Where batches go; default the device of the model's first parameter.
    progress : bool
        A tqdm progress bar (rank 0 only).
    beta, diverge_threshold, min_steps
        Passed to the SweepMonitor (smoothing and the divergence rule); ``None``
        keeps clr_core's defaults.
    max_skips : int
        Consecutive scaler-skipped steps after which the test stops (default 50).
    restore : bool
        Restore everything afterwards (default ``True``).

    Notes
    -----
    Under ``torch.distributed`` (e.g. a DDP-wrapped model) every rank runs the
    test on its shard; loss and metric are all-reduced (mean) each step and the
    stop decision is shared, so all ranks return the same result. The recorded
    batch size is ``per-rank batch * accumulation_steps * world_size``.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        loss_fn: Callable[[Any, Any], torch.Tensor] | None = None,
        *,
        start_lr: float = _rt.DEFAULT_START_LR,
        end_lr: float = _rt.DEFAULT_END_LR,
        num_steps: int = _rt.DEFAULT_NUM_STEPS,
        mode: str = "exp",
        step_fn: Callable[[torch.nn.Module, Any], Any] | None = None,
        metric: str | Callable[[Any, Any], float] | None = None,
        val_loader: Iterable[Any] | None = None,
        val_batches: int = 4,
        accumulation_steps: int = 1,
        scaler: Any = None,
        autocast_dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        progress: bool = True,
        beta: float | None = None,
        diverge_threshold: float | None = None,
        min_steps: int | None = None,
        max_skips: int = 50,
        restore: bool = True,
    ) -> None:
        if not isinstance(model, torch.nn.Module):
            raise fail("model", "a torch.nn.Module", model, TypeError)
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise fail("optimizer", "a torch.optim.Optimizer", optimizer, TypeError)
        if mode not in ("exp", "linear"):
            raise fail("mode", "one of ('exp', 'linear')", mode)
        for name, v, low in (
            ("accumulation_steps", accumulation_steps, 1),
            ("val_batches", val_batches, 1),
            ("max_skips", max_skips, 1),
        ):
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise fail(name, f"an int >= {low}", v)
        if metric == "accuracy":
            metric = accuracy
        elif metric is not None and not callable(metric):
            raise fail("metric", "'accuracy', a callable or None", metric, TypeError)
        if val_loader is not None and metric is None and step_fn is None:
            raise fail(
                "metric", "given with val_loader (what to measure on the held-out batches)", None
            )
        if step_fn is not None and not callable(step_fn):
            raise fail("step_fn", "a callable step_fn(model, batch) -> loss", step_fn, TypeError)
        monitor_kw: dict[str, Any] = {}
        if beta is not None:
            monitor_kw["beta"] = beta
        if diverge_threshold is not None:
            monitor_kw["diverge_threshold"] = diverge_threshold
        if min_steps is not None:
            monitor_kw["min_steps"] = min_steps
        sweep_cls = _rt.ExponentialSweep if mode == "exp" else _rt.LinearSweep
        self.sweep = sweep_cls(start_lr, end_lr, num_steps)
        _rt.SweepMonitor(self.sweep, **monitor_kw)  # validate every number now, not mid-run
        self._monitor_kw = monitor_kw
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.mode, self.step_fn, self.metric = mode, step_fn, metric
        self.val_loader, self.val_batches = val_loader, val_batches
        self.accumulation_steps, self.scaler = accumulation_steps, scaler
        self.autocast_dtype = autocast_dtype
        if device is None:
            first = next(itertools.chain(model.parameters(), model.buffers()), None)
            self.device = first.device if first is not None else torch.device("cpu")
        else:
            self.device = torch.device(device)
        self.progress, self.max_skips, self.restore = progress, max_skips, restore
        self.monitor: Any = None
        self.skipped_steps = 0
        self.batch_size: int | None = None
        #: Why the sweep ended before its last point without the stop rule deciding
        #: (the train_loader ran out), or None.
        self.cut_short: str | None = None

    # ------------------------------------------------------------ one forward

    def _forward(self, batch: Any) -> tuple[torch.Tensor, float | None]:
        """(loss, metric or None) of one batch with the default or the user's step."""
        want_metric = self.metric is not None and self.val_loader is None
        if self.step_fn is not None:
            out = self.step_fn(self.model, batch)
            loss, m = (out[0], out[1]) if isinstance(out, (tuple, list)) else (out, None)
            if m is None and want_metric:
                raise TypeError(
                    f"metric={self._metric_name()!r} was requested, but step_fn returned only "
                    "the loss: with step_fn, the metric comes from step_fn, which must return "
                    "(loss, metric), e.g. (loss, clr_torch.accuracy(outputs, targets)); or "
                    "pass metric=None."
                )
            return loss, None if m is None else float(m)
        ctx = (
            torch.autocast(self.device.type, dtype=self.autocast_dtype)
            if self.autocast_dtype is not None
            else nullcontext()
        )
        with ctx:
            if isinstance(batch, Mapping):
                if self.loss_fn is None:
                    out = self.model(**batch)
                    loss = _model_loss(out)
                    if not want_metric:
                        return loss, None
                    outputs, targets = _logits_and_labels(out, batch, self.metric)
                    return loss, self._measure(outputs, targets)
                inputs = _pick(batch, _INPUT_KEYS, "inputs")
                targets = _pick(batch, _TARGET_KEYS, "targets")
            elif isinstance(batch, (list, tuple)) and len(batch) >= 2:
                inputs, targets = batch[0], batch[1]
            else:
                raise TypeError(
                    "Batches must be (inputs, targets, ...) tuples or lists, or dicts, for the "
                    f"default step. Received a {type(batch).__name__}. Pass "
                    "step_fn=lambda model, batch: loss to handle your batches."
                )
            if self.loss_fn is None:
                raise fail("loss_fn", "given for tuple batches (or pass step_fn)", None, TypeError)
            outputs = self.model(inputs)
            loss = self.loss_fn(outputs, targets)
        m = None
        if want_metric:
            m = self._measure(outputs.detach(), targets)
        return loss, m

    def _metric_name(self) -> str:
        return getattr(self.metric, "__name__", None) or "metric"

    def _measure(self, outputs: Any, targets: Any) -> float:
        assert self.metric is not None
        return float(self.metric(outputs, targets))

    def _val_metric(self, cache: list[Any]) -> float:
        modes = [(m, m.training) for m in self.model.modules()]
        self.model.eval()
        try:
            values = []
            with torch.no_grad():
                for batch in cache:
                    if self.step_fn is not None:
                        out = self.step_fn(self.model, batch)
                        if not isinstance(out, (tuple, list)) or out[1] is None:
                            raise TypeError(
                                "With val_loader and step_fn, step_fn must return (loss, metric)."
                            )
                        values.append(float(out[1]))
                    elif isinstance(batch, Mapping) and self.loss_fn is None:
                        output = self.model(**batch)
                        values.append(
                            self._measure(*_logits_and_labels(output, batch, self.metric))
                        )
                    else:
                        if isinstance(batch, Mapping):
                            inputs = _pick(batch, _INPUT_KEYS, "inputs")
                            targets = _pick(batch, _TARGET_KEYS, "targets")
                        else:
                            inputs, targets = batch[0], batch[1]
                        values.append(self._measure(self.model(inputs), targets))
            return sum(values) / len(values)
        finally:
            for m, training in modes:
                m.training = training

    # ------------------------------------------------------------------- run

    def run(self, train_loader: Iterable[Any]) -> Any:
        """Run the sweep on ``train_loader`` and return the ``RangeTestResult``."""
        snapshot = _Snapshot(self.model, self.optimizer, self.scaler) if self.restore else None
        try:
            return self._run(train_loader)
        finally:
            if snapshot is not None:
                snapshot.restore()

    def _run(self, train_loader: Iterable[Any]) -> Any:
        reducer = _Reducer(self.device)
        monitor = _rt.SweepMonitor(self.sweep, **self._monitor_kw)
        self.monitor = monitor
        self.skipped_steps = 0
        self.cut_short = None
        groups = self.optimizer.param_groups
        ref = float(groups[0]["lr"])
        ratios = [float(g["lr"]) / ref if ref > 0 else 1.0 for g in groups]
        val_cache = None
        if self.val_loader is not None:
            val_cache = [
                _to_device(b, self.device)
                for b in itertools.islice(iter(self.val_loader), self.val_batches)
            ]
            if not val_cache:
                raise ValueError("Argument `val_loader` yields no batches.")
        batches = _Batches(train_loader)
        bar = self._bar(reducer.rank)
        consecutive_skips = 0
        accum = self.accumulation_steps
        no_sync = getattr(self.model, "no_sync", None)
        self.model.train()
        try:
            while not monitor.done:
                try:
                    raw, exhausted = [batches.next() for _ in range(accum)], False
                except _Exhausted:
                    raw, exhausted = [], True
                if reducer.any(exhausted):  # every rank stops at the same step
                    self._cut_short(batches.served, monitor.step_index)
                    break
                lr = float(monitor.lr(monitor.step_index))
                for g, r in zip(groups, ratios, strict=True):
                    _set_lr(g, lr * r)
                self.optimizer.zero_grad(set_to_none=True)
                total, metrics = 0.0, []
                for k in range(accum):
                    batch = _to_device(raw[k], self.device)
                    if self.batch_size is None:
                        self.batch_size = _batch_len(batch)
                    sync = no_sync() if (no_sync is not None and k < accum - 1) else nullcontext()
                    with sync:
                        loss, m = self._forward(batch)
                        scaled = loss / accum if accum > 1 else loss
                        if self.scaler is not None:
                            self.scaler.scale(scaled).backward()
                        else:
                            scaled.backward()  # type: ignore[no-untyped-call]
                    total += float(loss.detach())
                    if m is not None:
                        metrics.append(m)
                skipped = False
                if self.scaler is not None:
                    before = float(self.scaler.get_scale())
                    self.scaler.step(self.optimizer)
                    self.scaler.update()
                    skipped = float(self.scaler.get_scale()) < before
                else:
                    self.optimizer.step()
                metric = sum(metrics) / len(metrics) if metrics else None
                if val_cache is not None and not skipped:
                    metric = self._val_metric(val_cache)
                loss_value, metric, skipped = reducer.step(total / accum, metric, skipped)
                if skipped:
                    self.skipped_steps += 1
                    consecutive_skips += 1
                    if consecutive_skips >= self.max_skips:
                        warnings.warn(
                            f"Range test stopped: the GradScaler skipped {consecutive_skips} "
                            "optimizer steps in a row (inf/NaN gradients).",
                            RuntimeWarning,
                            stacklevel=3,
                        )
                        break
                    continue
                consecutive_skips = 0
                stop = monitor.update(lr, loss_value, metric)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(lr=f"{lr:.3g}", loss=f"{loss_value:.4g}", refresh=False)
                if reducer.any(bool(stop)):
                    break
        finally:
            if bar is not None:
                bar.close()
        return self.result(world_size=reducer.world)

    def _cut_short(self, served: int, points: int) -> None:
        self.cut_short = (
            f"cut short: train_loader ran out after {served} batches, at point {points} of "
            f"{self.sweep.num_steps}"
        )
        warnings.warn(
            f"Range test {self.cut_short}; the result uses the points recorded. Give it a "
            "loader that can be iterated again (a DataLoader, a list) or lower num_steps.",
            RuntimeWarning,
            stacklevel=4,
        )

    def result(self, world_size: int | None = None) -> Any:
        """The :class:`~clr_core.rangetest.RangeTestResult` of the points recorded so far
        (also after an interruption: the monitor keeps them)."""
        if self.monitor is None:
            raise RuntimeError("The range test has not run yet.")
        world = (
            world_size if world_size is not None else (_dist().get_world_size() if _dist() else 1)
        )
        effective = None
        if self.batch_size is not None:
            effective = self.batch_size * self.accumulation_steps * world
        provenance = {
            "framework": f"torch {torch.__version__}",
            "optimizer": type(self.optimizer).__name__,
            "per_device_batch_size": self.batch_size,
            "accumulation_steps": self.accumulation_steps,
            "world_size": world,
            "skipped_steps": self.skipped_steps,
            "param_groups": len(self.optimizer.param_groups),
            "momentum": sweep_momentum(self.optimizer),
        }
        kw: dict[str, Any] = {"batch_size": effective, "provenance": provenance}
        if self.metric is not None or self.val_loader is not None:
            name = self._metric_name()
            kw["metric_name"] = name if self.val_loader is None else f"val_{name}"
        if self.cut_short is None:
            return self.monitor.result(**kw)
        points = self.monitor.step_index
        losses = self.monitor.losses
        if points < _rt.MIN_POINTS and all(math.isfinite(v) for v in losses):
            raise ValueError(
                f"Argument `train_loader` ran out after {points} point(s): a range test needs "
                f"at least {_rt.MIN_POINTS}. Give it a loader that can be iterated again "
                "(a DataLoader, a list) or more batches."
            )
        provenance["stop_reason"] = self.cut_short
        result = self.monitor.result(**kw)
        reason = (
            f"The sweep was {self.cut_short}: the rates above {result.lrs[-1]:.3g} were not tried."
        )
        return dataclasses.replace(result, reasons=(*result.reasons, reason))

    def _bar(self, rank: int) -> Any:
        if not self.progress or rank != 0:
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError:
            warnings.warn("progress=True needs tqdm; running without a progress bar.", stacklevel=4)
            return None
        return tqdm(total=self.sweep.num_steps, desc="range test", leave=False)


def _set_lr(group: dict[str, Any], lr: float) -> None:
    """Set a param group's rate (a tensor rate is filled in place)."""
    _put(group, "lr", lr)


def range_test(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    train_loader: Iterable[Any],
    loss_fn: Callable[[Any, Any], torch.Tensor] | None = None,
    **kwargs: Any,
) -> Any:
    """Run the LR range test and return clr_core's ``RangeTestResult``.

    ``range_test(model, optimizer, loader, loss_fn, **options)`` is
    ``RangeTest(model, optimizer, loss_fn, **options).run(loader)``; see
    :class:`RangeTest` for the options. Everything the test touches is restored
    afterwards, also when it raises or is interrupted.

    Examples
    --------
    >>> result = range_test(model, optimizer, train_loader, torch.nn.functional.cross_entropy,
    ...                     metric="accuracy")                       # doctest: +SKIP
    >>> result.base_lr, result.max_lr                                  # doctest: +SKIP
    >>> schedule = result.to_schedule("triangular", iterations_per_epoch=len(train_loader))
    ...                                                                # doctest: +SKIP
    """
    return RangeTest(model, optimizer, loss_fn, **kwargs).run(train_loader)
