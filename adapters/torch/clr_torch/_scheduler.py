"""`ScheduleLR`: a ``torch.optim.lr_scheduler.LRScheduler`` driven by clr_core schedules.

Requirements this module is written against:

* no formula lives here: every rate and momentum is ``schedule.evaluate(t, SCALAR)``
  of a :mod:`clr_core` schedule, in closed form from the step count ``t``;
* the scheduler's state is plain data (schedule configs, counters, floats), so
  ``torch.load(..., weights_only=True)`` accepts a checkpoint and pickle works;
* building the scheduler to resume (``last_epoch >= 0`` or ``load_state_dict``)
  never writes stale rates into a resumed optimizer;
* momentum goes through one explicit mapping, :data:`MOMENTUM_KEYS`;
* ``step()`` is cheap: a few Python calls per parameter group.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

import clr_core
from clr_core import SCALAR, Schedule
from clr_core._cyclic import fused_evaluator

__all__ = ["MOMENTUM_KEYS", "ScheduleLR", "momentum_key_for"]

_STATE_FORMAT = "clr_torch.ScheduleLR/1"


def _momentum_table() -> dict[type, str]:
    table: dict[type, str] = {}
    for name in ("SGD", "RMSprop", "Muon"):
        cls = getattr(torch.optim, name, None)
        if isinstance(cls, type):
            table[cls] = "momentum"
    for name in ("Adam", "AdamW", "NAdam", "RAdam", "Adamax", "SparseAdam"):
        cls = getattr(torch.optim, name, None)
        if isinstance(cls, type):
            table[cls] = "betas"
    return table


#: The momentum mapping, in one visible place: optimizer class -> the param-group
#: key the momentum schedule writes. ``"momentum"`` is a scalar (SGD, RMSprop);
#: ``"betas"`` is a tuple whose element 0 (beta1) is set (the Adam family).
#: Subclasses of these classes inherit their entry. Any other optimizer: pass
#: ``momentum_key`` (a scalar key, or a tuple-valued key whose element 0 is set),
#: or add an entry here.
MOMENTUM_KEYS: dict[type, str] = _momentum_table()


def _fail(name: str, requirement: str, value: Any, exc: type[Exception] = ValueError) -> Exception:
    return exc(f"Argument `{name}` must be {requirement}. Received: {name}={value!r}")


def momentum_key_for(optimizer: Optimizer, momentum_key: str | None = None) -> str:
    """The param-group key that carries ``optimizer``'s momentum (or beta1).

    ``momentum_key`` wins when given; otherwise :data:`MOMENTUM_KEYS` is looked
    up by the optimizer's class (its MRO, so subclasses work). Raises
    ``ValueError`` with the ways out when the optimizer has no known momentum
    or a group lacks the key.
    """
    if momentum_key is not None:
        if not isinstance(momentum_key, str) or not momentum_key:
            raise _fail("momentum_key", "a non-empty str", momentum_key, TypeError)
        key = momentum_key
    else:
        found = None
        for cls in type(optimizer).__mro__:
            if cls in MOMENTUM_KEYS:
                found = MOMENTUM_KEYS[cls]
                break
        if found is None:
            raise ValueError(
                f"Cannot cycle momentum: {type(optimizer).__name__} is not in clr_torch's "
                "momentum mapping (SGD/RMSprop: 'momentum'; Adam/AdamW/NAdam/RAdam/Adamax: "
                "betas[0]). Turn momentum cycling off with cycle_momentum=False (CyclicLR, "
                "OneCycleLR) or momentum=None (ScheduleLR), or name the optimizer's momentum "
                "hyper-parameter with momentum_key='momentum', 'betas' or your own key. "
                f"Received: optimizer={type(optimizer).__name__}"
            )
        key = found
    for i, group in enumerate(optimizer.param_groups):
        if key not in group:
            raise ValueError(
                f"Cannot cycle momentum: param_groups[{i}] of {type(optimizer).__name__} has no "
                f"{key!r} entry. Turn momentum cycling off with cycle_momentum=False (CyclicLR, "
                "OneCycleLR) or momentum=None (ScheduleLR), or pass the right momentum_key. "
                f"Received: momentum_key={key!r}"
            )
    return key


def _per_group(name: str, value: Any, n: int, allow_none: bool = False) -> list[Any]:
    """A schedule (or None) for each of ``n`` param groups, from one value or a sequence."""
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise _fail(name, f"one schedule or a list of {n} (one per param group)", value)
        items = list(value)
    else:
        items = [value] * n
    for i, item in enumerate(items):
        if item is None and allow_none:
            continue
        if not isinstance(item, Schedule):
            what = "a clr_core schedule" + (" or None" if allow_none else "")
            raise _fail(name if len(items) == 1 else f"{name}[{i}]", what, item, TypeError)
    return items


def _set_value(group: dict[str, Any], key: str, value: float) -> None:
    """Set ``group[key]``; a tensor-valued hyper-parameter is filled in place."""
    old = group[key]
    if isinstance(old, torch.Tensor):
        old.fill_(value)
    else:
        group[key] = value


def _unique(items: list[Any]) -> tuple[list[Any], list[int]]:
    """Distinct schedules (by identity, then value) and each group's index into them."""
    uniq: list[Any] = []
    index: list[int] = []
    for item in items:
        for j, u in enumerate(uniq):
            if u is item or u == item:
                index.append(j)
                break
        else:
            index.append(len(uniq))
            uniq.append(item)
    return uniq, index


def _fast(schedule: Schedule) -> Schedule:
    """The schedule to evaluate on the hot path: a named cyclic policy's equivalent
    general :class:`clr_core.Cyclic` (same core formula, one call less)."""
    to_cyclic = getattr(schedule, "to_cyclic", None)
    if isinstance(schedule, (clr_core.Triangular, clr_core.Triangular2, clr_core.ExpRange)):
        return to_cyclic()  # type: ignore[misc, no-any-return]
    return schedule


class ScheduleLR(LRScheduler):
    r"""Set each param group's rate (and optionally momentum) from clr_core schedules.

    After ``t`` calls of :meth:`step` (``t == last_epoch``) param group ``g`` has

    .. math::

        \eta_g = S_g(t), \qquad m_g = M_g(t)

    where ``S_g`` is the group's rate schedule and ``M_g`` its momentum schedule,
    evaluated in closed form by clr_core: no chained updates, so the value at any
    step is independent of history and a resumed run continues the identical
    sequence.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
    schedule : clr_core.Schedule or sequence of them
        One schedule for every group, or one per param group.
    momentum : clr_core.Schedule or sequence of (Schedule or None), optional
        Momentum schedule(s), e.g. ``schedule.momentum(0.85, 0.95)``; ``None``
        leaves momentum alone. Written to the key given by :func:`momentum_key_for`:
        ``momentum`` for SGD/RMSprop, ``betas[0]`` for the Adam family.
    last_epoch : int
        ``-1`` (default) starts a new run and writes ``S_g(0)`` (and ``M_g(0)``)
        into the optimizer. ``k >= 0`` resumes after ``k`` steps: nothing is
        written to the optimizer (whose rates were restored with its own state),
        and the next :meth:`step` applies step ``k + 1``. (PyTorch's built-in
        schedulers instead step once more in the constructor and overwrite the
        rates.)
    momentum_key : str, optional
        Overrides the mapping: ``"momentum"``, ``"betas"`` or your optimizer's
        own key; for a tuple-valued key element 0 is set.

    Notes
    -----
    ``state_dict()`` holds the schedules' configs (plain JSON data), the step
    count and the last rates, so ``torch.load(f, weights_only=True)`` reads it.
    ``load_state_dict`` restores the schedules from the checkpoint. If the
    optimizer still holds the rates this scheduler last wrote (it was not
    restored after the scheduler was built) the loaded step's rates are applied;
    rates restored with the optimizer's own state are never overwritten. Either
    order of restoring optimizer and scheduler therefore resumes exactly.

    Examples
    --------
    >>> import torch, clr_core
    >>> from clr_torch import ScheduleLR
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    >>> lr = clr_core.Triangular(0.001, 0.006, step_size_up=2)
    >>> sched = ScheduleLR(opt, lr, momentum=lr.momentum(0.8, 0.9))
    >>> for _ in range(2):
    ...     opt.step()
    ...     sched.step()
    >>> sched.get_last_lr(), opt.param_groups[0]["momentum"]
    ([0.006], 0.8)
    """

    _position: float
    _resume_at: int
    _momentum_key: str | None
    _mkey: str

    def __init__(
        self,
        optimizer: Optimizer,
        schedule: Schedule | Sequence[Schedule],
        momentum: Schedule | Sequence[Schedule | None] | None = None,
        last_epoch: int = -1,
        momentum_key: str | None = None,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise _fail("optimizer", "a torch.optim.Optimizer", optimizer, TypeError)
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, numbers.Integral):
            raise _fail("last_epoch", "an int >= -1", last_epoch, TypeError)
        if last_epoch < -1:
            raise _fail("last_epoch", "an int >= -1", last_epoch)
        n = len(optimizer.param_groups)
        self.optimizer = optimizer
        self._set_schedules(
            _per_group("schedule", schedule, n),
            _per_group("momentum", momentum, n, allow_none=True),
            momentum_key,
        )
        self._resume_at = int(last_epoch)
        self._position = float(last_epoch)
        # The base class attaches the optimizer, records `initial_lr` if absent (used
        # by SequentialLR), patches optimizer.step for the call-order warning and
        # calls self._initial_step(), overridden below.
        super().__init__(optimizer, -1)
        self.base_lrs = [float(s.evaluate(0.0, SCALAR)) for s in self._lr_schedules]

    # ------------------------------------------------------------------ setup

    def _set_schedules(
        self, lrs: list[Schedule], moms: list[Schedule | None], momentum_key: str | None
    ) -> None:
        self._lr_schedules = lrs
        self._momentum_schedules = moms
        if any(m is not None for m in moms):
            self._momentum_key = momentum_key_for(self.optimizer, momentum_key)
        else:
            self._momentum_key = momentum_key
        self._build_plan()

    def _build_plan(self) -> None:
        """Precompute the hot path: bound ``evaluate`` methods of the distinct schedules."""
        uniq, self._lr_index = _unique([_fast(s) for s in self._lr_schedules])
        self._lr_evals = [s.evaluate for s in uniq]
        self._lr_single = self._lr_evals[0] if len(uniq) == 1 else None
        key = self._mkey = self._momentum_key or ""
        groups = self.optimizer.param_groups
        driven = [(i, _fast(m)) for i, m in enumerate(self._momentum_schedules) if m is not None]
        uniq, index = _unique([m for _, m in driven])
        self._momentum_evals = [m.evaluate for m in uniq]
        # One core call for both when the rate and momentum share a cycle (bit-identical).
        self._fused = None
        if self._lr_single is not None and len(uniq) == 1:
            self._fused = fused_evaluator(_fast(self._lr_schedules[0]), uniq[0])
        self._momentum_plan = [
            (i, j, isinstance(groups[i][key], (tuple, list)))
            for (i, _), j in zip(driven, index, strict=True)
        ]
        # fused, and momentum on every group under a scalar key: one loop writes both
        self._fused_scalar = (
            self._fused is not None
            and len(self._momentum_plan) == len(groups)
            and not any(is_tuple for _, _, is_tuple in self._momentum_plan)
        )
        # the group count the single pass was planned for (-1: no single pass)
        self._fused_n = len(groups) if self._fused_scalar else -1

    def __getstate__(self) -> dict[str, Any]:
        # Bound methods are caches: pickle the schedules (plain values) only.
        state = dict(self.__dict__)
        for name in (
            "_lr_index",
            "_lr_evals",
            "_lr_single",
            "_momentum_evals",
            "_momentum_plan",
            "_mkey",
            "_fused",
            "_fused_scalar",
            "_fused_n",
        ):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._build_plan()

    @property
    def schedules(self) -> list[Schedule]:
        """The rate schedule of each param group."""
        return list(self._lr_schedules)

    @property
    def momentum_schedules(self) -> list[Schedule | None]:
        """The momentum schedule of each param group (``None``: not driven)."""
        return list(self._momentum_schedules)

    @property
    def momentum_key(self) -> str | None:
        """The param-group key momentum is written to, or ``None``."""
        return self._momentum_key

    def _initial_step(self) -> None:
        if self._resume_at >= 0:
            # Resume: adopt the step count, compute (do not write) the rates.
            self.last_epoch = self._resume_at
            self._position = float(self._resume_at)
            self._resume_at = -1
            self._step_count = 1
            self._last_lr = self._rates(self._position)
            return
        self._resume_at = -1
        self._step_count = 0
        self.last_epoch = -1
        self._position = -1.0
        self.step()

    # --------------------------------------------------------------- hot path

    def _rates(self, t: float) -> list[Any]:
        vals = [f(t, SCALAR) for f in self._lr_evals]
        return [vals[i] for i in self._lr_index]

    def _apply(self) -> None:
        """Write the rates (and momenta) at ``self._position`` into the optimizer."""
        t = self._position
        groups = self.optimizer.param_groups
        single = self._lr_single
        fused = self._fused
        moms: tuple[Any, ...] = ()
        if fused is not None:
            lr, m0 = fused(t, SCALAR)
            lrs = [lr] * len(groups)
            if len(groups) == self._fused_n:
                # every group (as planned): one pass writes rate and scalar momentum
                key = self._mkey
                for group in groups:
                    if type(group["lr"]) is float and type(group[key]) is float:
                        group["lr"] = lr
                        group[key] = m0
                    else:
                        _set_value(group, "lr", lr)
                        _set_value(group, key, m0)
                self._last_lr = lrs
                return
            moms = (m0,)
            for group in groups:
                if type(group["lr"]) is float:
                    group["lr"] = lr
                else:
                    _set_value(group, "lr", lr)
        elif single is not None:
            lr = single(t, SCALAR)
            lrs = [lr] * len(groups)
            for group in groups:
                if type(group["lr"]) is float:
                    group["lr"] = lr
                else:
                    _set_value(group, "lr", lr)
        else:
            lrs = self._rates(t)
            for group, lr in zip(groups, lrs, strict=True):
                if type(group["lr"]) is float:
                    group["lr"] = lr
                else:
                    _set_value(group, "lr", lr)
        if self._momentum_plan:
            key = self._mkey
            evals = self._momentum_evals
            if fused is not None:
                pass
            elif len(evals) == 1:
                moms = (evals[0](t, SCALAR),)
            else:
                moms = tuple([f(t, SCALAR) for f in evals])
            for i, j, is_tuple in self._momentum_plan:
                m = moms[j]
                group = groups[i]
                if not is_tuple:
                    if type(group[key]) is float:
                        group[key] = m
                    else:
                        _set_value(group, key, m)
                else:
                    old = group[key]
                    if isinstance(old[0], torch.Tensor):
                        old[0].fill_(m)
                    else:
                        group[key] = (m, *old[1:])
        self._last_lr = lrs

    def step(self, epoch: float | None = None) -> None:
        """Advance one optimizer step and set the rates (and momenta) for the next one.

        ``step(epoch)`` jumps to position ``epoch`` (closed form; a float position
        evaluates the schedule between steps, as ``CosineAnnealingWarmRestarts`` does).
        """
        count = self._step_count
        if count == 1:
            self._check_call_order()
        self._step_count = count + 1
        if epoch is None:
            self.last_epoch += 1
            self._position += 1.0
        else:
            self._jump(epoch)
        self._apply()

    def _jump(self, epoch: Any) -> None:
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Real):
            raise _fail("epoch", "a real number >= 0", epoch, TypeError)
        pos = float(epoch)
        if not (math.isfinite(pos) and pos >= 0.0):
            raise _fail("epoch", "a real number >= 0", epoch)
        self.last_epoch = math.floor(pos)
        self._position = pos

    def _update_lr(self, epoch: float | None = None) -> None:
        # Called by SequentialLR at its milestones (``_update_lr(0)``).
        if epoch is None:
            self.last_epoch += 1
            self._position += 1.0
        else:
            self._jump(epoch)
        self._apply()

    def _check_call_order(self) -> None:
        # PyTorch's warnings (the same texts), for both its step-patching schemes.
        opt = self.optimizer
        fn = opt.step
        if not (hasattr(fn, "_wrapped_by_lr_sched") or hasattr(fn, "_with_counter")):
            warnings.warn(
                "Seems like `optimizer.step()` has been overridden after learning rate scheduler "
                "initialization. Please, make sure to call `optimizer.step()` before "
                "`lr_scheduler.step()`. See more details at "
                "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate",
                UserWarning,
                stacklevel=3,
            )
        elif not (getattr(opt, "_opt_called", False) or getattr(opt, "_step_count", 0) >= 1):
            warnings.warn(
                "Detected call of `lr_scheduler.step()` before `optimizer.step()`. "
                "In PyTorch 1.1.0 and later, you should call them in the opposite order: "
                "`optimizer.step()` before `lr_scheduler.step()`.  Failure to do this "
                "will result in PyTorch skipping the first value of the learning rate schedule. "
                "See more details at "
                "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate",
                UserWarning,
                stacklevel=3,
            )

    def get_lr(self) -> list[Any]:
        """The rates at the current position, in closed form (no side effects)."""
        return self._rates(self._position)

    def _get_closed_form_lr(self) -> list[Any]:
        return self._rates(self._position)

    def get_last_lr(self) -> list[Any]:
        """The rates set by the latest :meth:`step` (a new list; floats)."""
        return list(self._last_lr)

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        """Plain data: schedule configs, step counters and the last rates.

        Safe for ``torch.load(..., weights_only=True)`` and JSON.
        """
        return {
            "format": _STATE_FORMAT,
            "schedules": [s.to_config() for s in self._lr_schedules],
            "momentum": [None if m is None else m.to_config() for m in self._momentum_schedules],
            "momentum_key": self._momentum_key,
            "last_epoch": int(self.last_epoch),
            "position": float(self._position),
            "_step_count": int(self._step_count),
            "_last_lr": [float(v) for v in self._last_lr],
            "base_lrs": [float(v) for v in self.base_lrs],
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict` (see the class notes on the optimizer's rates).

        The schedules come from the checkpoint (configs are data: rebuilt through
        clr_core's registry only, nothing imported or evaluated), so the resumed
        run continues the identical sequence whatever arguments this scheduler
        was built with.
        """
        if not isinstance(state_dict, dict) or state_dict.get("format") != _STATE_FORMAT:
            raise _fail(
                "state_dict",
                f"a dict made by ScheduleLR.state_dict() (format {_STATE_FORMAT!r})",
                state_dict if not isinstance(state_dict, dict) else sorted(state_dict),
            )
        n = len(self.optimizer.param_groups)
        lrs = [clr_core.from_config(c) for c in state_dict["schedules"]]
        moms = [None if c is None else clr_core.from_config(c) for c in state_dict["momentum"]]
        if len(lrs) != n or len(moms) != n:
            raise ValueError(
                f"The state_dict has schedules for {len(lrs)} param groups; the optimizer has {n}."
            )
        # Do the optimizer's rates still hold what this scheduler last wrote (nobody
        # restored them since)? Then re-applying the loaded step overwrites nothing.
        untouched = self._holds_own_rates()
        self._set_schedules(lrs, moms, state_dict["momentum_key"])
        self.last_epoch = int(state_dict["last_epoch"])
        self._position = float(state_dict.get("position", self.last_epoch))
        self._step_count = int(state_dict["_step_count"])
        self.base_lrs = [float(v) for v in state_dict["base_lrs"]]
        if untouched and self._position >= 0.0:
            self._apply()
        else:
            self._last_lr = [float(v) for v in state_dict["_last_lr"]]

    def _holds_own_rates(self) -> bool:
        last = getattr(self, "_last_lr", None)
        groups = self.optimizer.param_groups
        if last is None or len(last) != len(groups):
            return False
        return all(float(g["lr"]) == float(v) for g, v in zip(groups, last, strict=True))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(last_epoch={self.last_epoch}, "
            f"schedules={self._lr_schedules!r}, momentum={self._momentum_schedules!r}, "
            f"momentum_key={self._momentum_key!r})"
        )
