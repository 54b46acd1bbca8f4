"""`ScheduleLR`: a ``torch.optim.lr_scheduler.LRScheduler`` driven by clr_core schedules.

Requirements this module is written against:

* no formula lives here: every rate and momentum is a :mod:`clr_core` schedule
  evaluated in closed form at the scheduler's position;
* the scheduler's state is plain data (schedule configs, counters, floats), so
  ``torch.load(..., weights_only=True)`` accepts a checkpoint and pickle works;
* a state dict is untrusted data: :meth:`ScheduleLR.load_state_dict` validates
  all of it before it changes anything, so a refused load leaves the scheduler
  and the optimizer as they were;
* restoring a scheduler on a resumed optimizer never writes stale rates into it;
* momentum goes through one explicit mapping, :data:`MOMENTUM_KEYS`, and only
  into a key that holds a momentum (never ``params`` or ``lr``);
* ``step()`` is cheap: one write helper, a few Python calls per step.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, NamedTuple

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

import clr_core
from clr_core import SCALAR, Schedule, validation
from clr_core.rangetest import Plan
from clr_core.validation import MAX_STEPS, fail

__all__ = ["MOMENTUM_KEYS", "ScheduleLR", "momentum_key_for"]

_STATE_FORMAT = "clr_torch.ScheduleLR/1"
_STATE_KEYS = (
    "format",
    "schedules",
    "momentum",
    "momentum_key",
    "last_epoch",
    "position",
    "_step_count",
    "_last_lr",
    "base_lrs",
)


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
#: Subclasses of these classes inherit their entry. Another optimizer gets
#: PyTorch's rule (``"betas"`` if its defaults have it, else ``"momentum"``);
#: or pass ``momentum_key`` (a scalar key, or a tuple-valued key whose element 0
#: is set), or add an entry here.
MOMENTUM_KEYS: dict[type, str] = _momentum_table()

#: Param-group keys that never hold a momentum: writing one would corrupt the
#: optimizer (``params``) or its rates.
_NOT_MOMENTUM = frozenset(
    {"params", "lr", "initial_lr", "max_lr", "min_lr", "base_momentum", "max_momentum"}
)


def _number(value: Any) -> bool:
    """A real number (not a bool) or a one-element real tensor."""
    if isinstance(value, torch.Tensor):
        return value.numel() == 1 and not value.is_complex() and value.dtype != torch.bool
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _holds_momentum(value: Any) -> bool:
    """A param-group value a momentum can be written to: a number, or a tuple/list led by one."""
    if isinstance(value, (tuple, list)):
        return len(value) > 0 and _number(value[0])
    return _number(value)


def _check_key(optimizer: Optimizer, key: Any, name: str) -> str:
    """``key`` names a momentum in every param group: a str, not a rate or ``params``."""
    if not isinstance(key, str) or not key:
        raise fail(name, "a non-empty str", key, TypeError)
    if key in _NOT_MOMENTUM:
        raise fail(name, f"a momentum key, not one of {sorted(_NOT_MOMENTUM)}", key)
    for i, group in enumerate(optimizer.param_groups):
        if key not in group:
            raise ValueError(
                f"Cannot cycle momentum: param_groups[{i}] of {type(optimizer).__name__} has no "
                f"{key!r} entry. Turn momentum cycling off with cycle_momentum=False (CyclicLR, "
                "OneCycleLR) or momentum=None (ScheduleLR), or pass the right momentum_key. "
                f"Received: {name}={key!r}"
            )
        if not _holds_momentum(group[key]):
            raise fail(
                name,
                f"a key whose value is a number or a tuple led by one (param_groups[{i}][{key!r}] "
                f"is {type(group[key]).__name__})",
                key,
            )
    return key


def momentum_key_for(optimizer: Optimizer, momentum_key: str | None = None) -> str:
    """The param-group key that carries ``optimizer``'s momentum (or beta1).

    ``momentum_key`` wins when given; otherwise :data:`MOMENTUM_KEYS` is looked
    up by the optimizer's class (its MRO, so subclasses work), and an optimizer
    outside it gets PyTorch's rule (``"betas"`` if its defaults have that key,
    else ``"momentum"``). The key must be present in every param group with a
    number (or a tuple led by one) and must not be ``"params"``, ``"lr"`` or
    another rate key. Raises ``ValueError`` (``TypeError`` for a non-str key)
    with the ways out.
    """
    if momentum_key is not None:
        return _check_key(optimizer, momentum_key, "momentum_key")
    found = next((MOMENTUM_KEYS[c] for c in type(optimizer).__mro__ if c in MOMENTUM_KEYS), None)
    if found is None:
        defaults = getattr(optimizer, "defaults", {})
        found = next((k for k in ("betas", "momentum") if k in defaults), None)
    if found is None:
        raise ValueError(
            f"Cannot cycle momentum: {type(optimizer).__name__} is not in clr_torch's "
            "momentum mapping (SGD/RMSprop: 'momentum'; Adam/AdamW/NAdam/RAdam/Adamax: "
            "betas[0]). Turn momentum cycling off with cycle_momentum=False (CyclicLR, "
            "OneCycleLR) or momentum=None (ScheduleLR), or name the optimizer's momentum "
            "hyper-parameter with momentum_key='momentum', 'betas' or your own key. "
            f"Received: optimizer={type(optimizer).__name__}"
        )
    return _check_key(optimizer, found, "momentum_key")


def sweep_momentum(optimizer: Optimizer) -> float | None:
    """The momentum (or beta1) of ``optimizer``'s first param group, as a float; ``None`` for
    an optimizer without one. Recorded in a range test's provenance (``"momentum"``), where
    ``recommend`` reads it."""
    try:
        key = momentum_key_for(optimizer)
    except (TypeError, ValueError):
        return None
    value = optimizer.param_groups[0][key]
    value = value[0] if isinstance(value, (tuple, list)) else value
    m = float(value.item() if isinstance(value, torch.Tensor) else value)
    return m if math.isfinite(m) else None


def _per_group(name: str, value: Any, n: int, allow_none: bool = False) -> list[Any]:
    """A schedule (or None) for each of ``n`` param groups, from one value or a sequence."""
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise fail(name, f"one schedule or a list of {n} (one per param group)", value)
        items = list(value)
    else:
        items = [value] * n
    for i, item in enumerate(items):
        if item is None and allow_none:
            continue
        if not isinstance(item, Schedule):
            what = "a clr_core schedule" + (" or None" if allow_none else "")
            raise fail(name if len(items) == 1 else f"{name}[{i}]", what, item, TypeError)
    if allow_none:
        for i, item in enumerate(items):
            if item is not None:
                low, high = item.bounds()
                if not (low >= 0.0 and high <= 1.0):
                    raise fail(
                        name if len(items) == 1 else f"{name}[{i}]",
                        f"a schedule within [0, 1] (its bounds are {(low, high)})",
                        item,
                    )
    return items


# --------------------------------------------------------------------------- #
# The hot path: one write helper per scheduler, rebuilt when the schedules change
# --------------------------------------------------------------------------- #


def _fast(schedule: Schedule) -> Schedule:
    """The schedule to evaluate on the hot path: a named cyclic policy's equivalent
    general :class:`clr_core.Cyclic` (same core formula, one call less)."""
    if isinstance(schedule, (clr_core.Triangular, clr_core.Triangular2, clr_core.ExpRange)):
        return schedule.to_cyclic()
    return schedule


def _unique(items: list[Any]) -> tuple[list[Any], list[int]]:
    """Distinct items (by identity, then value) and each position's index into them."""
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


def _pair(rate: Schedule, momentum: Schedule | None) -> Callable[[float], tuple[Any, Any]]:
    """``f(t) -> (rate(t), momentum(t) or None)``: the core's fused cycle when the two
    share one (:func:`clr_core.fuse`), else the two schedules one after the other."""
    f = rate.evaluate
    if momentum is None:

        def rate_only(t: float) -> tuple[Any, Any]:
            return f(t, SCALAR), None

        return rate_only
    fused = clr_core.fuse(rate, momentum)
    if fused is not None:
        return fused  # f(t, xp=SCALAR)
    g = momentum.evaluate

    def each(t: float) -> tuple[Any, Any]:
        return f(t, SCALAR), g(t, SCALAR)

    return each


def _put(group: dict[str, Any], key: str, value: float) -> None:
    """Set ``group[key]``; a tensor-valued hyper-parameter is filled in place."""
    old = group[key]
    if isinstance(old, torch.Tensor):
        old.fill_(value)
    else:
        group[key] = value


def _put_momentum(group: dict[str, Any], key: str, value: float) -> None:
    """Set a momentum that is not a plain float: a tensor (filled in place), or element 0
    of a tuple (``betas``; a tensor element is filled in place)."""
    old = group[key]
    if isinstance(old, (tuple, list)):
        if isinstance(old[0], torch.Tensor):
            old[0].fill_(value)
        else:
            group[key] = (value, *old[1:])
    else:
        _put(group, key, value)


Writer = Callable[[list[dict[str, Any]], float], list[Any]]


def _writer(lrs: list[Schedule], moms: list[Schedule | None], key: str) -> Writer:
    """The one write helper: ``write(param_groups, t)`` sets each param group's rate (and
    momentum, under ``key``) at position ``t`` and returns the rates.

    Each distinct schedule (or fused rate and momentum pair) is evaluated once per
    step. Only the ``len(lrs)`` groups the schedules were given for are written: a
    group added to the optimizer later is left alone. A plain float is stored; a
    tensor is filled in place; a tuple momentum (``betas``) gets element 0.
    """
    n = len(lrs)
    pairs, index = _unique(
        [(_fast(s), None if m is None else _fast(m)) for s, m in zip(lrs, moms, strict=True)]
    )
    values = [_pair(s, m) for s, m in pairs]
    if len(values) == 1:
        # One rate and momentum for every group (any drop-in, a single schedule): the
        # values are computed once and the loop reads no per-group lists.
        value = values[0]
        driven = moms[0] is not None

        def write(param_groups: list[dict[str, Any]], t: float) -> list[Any]:
            lr, m = value(t)
            for group in param_groups if len(param_groups) == n else param_groups[:n]:
                if type(group["lr"]) is float:
                    group["lr"] = lr
                else:
                    _put(group, "lr", lr)
                if driven:
                    if type(group[key]) is float:
                        group[key] = m
                    else:
                        _put_momentum(group, key, m)
            return [lr] * n

        return write

    def write_each(param_groups: list[dict[str, Any]], t: float) -> list[Any]:
        both = [f(t) for f in values]
        rates = []
        for group, j in zip(param_groups, index):  # noqa: B905 (n groups at most)
            lr, m = both[j]
            rates.append(lr)
            if type(group["lr"]) is float:
                group["lr"] = lr
            else:
                _put(group, "lr", lr)
            if m is not None:
                if type(group[key]) is float:
                    group[key] = m
                else:
                    _put_momentum(group, key, m)
        return rates

    return write_each


# --------------------------------------------------------------------------- #
# State validation
# --------------------------------------------------------------------------- #


class _State(NamedTuple):
    """A fully validated state, ready to be committed."""

    lrs: list[Schedule]
    moms: list[Schedule | None]
    key: str | None
    last_epoch: int
    position: float
    step_count: int
    last_lr: list[float]
    base_lrs: list[float]


def _field(name: str) -> str:
    return f"state_dict[{name!r}]"


def state_real(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
) -> float:
    """A finite real number (or one-element tensor) from a state dict, as ``float``
    (``low_open``: above ``low``, not equal to it)."""
    if isinstance(value, torch.Tensor) and _number(value):
        value = value.item()
    if not _number(value):
        raise fail(name, "a real number", value, TypeError)
    return validation.real(name, value, low=low, high=high, low_open=low_open)


def state_int(name: str, value: Any, low: int, high: int = MAX_STEPS) -> int:
    """An int in ``[low, high]`` from a state dict (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise fail(name, "an int", value, TypeError)
    v = int(value)
    if not low <= v <= high:
        raise fail(name, f"an int in [{low}, {high}]", value)
    return v


def state_list(name: str, value: Any, n: int) -> list[Any]:
    """A list (or tuple) of ``n`` items, one per param group."""
    if not isinstance(value, (list, tuple)):
        raise fail(name, f"a list of {n} (one per param group)", value, TypeError)
    if len(value) != n:
        raise fail(name, f"a list of {n} (one per param group); it has {len(value)}", value)
    return list(value)


def state_reals(name: str, value: Any, n: int, low: float | None = None) -> list[float]:
    return [state_real(f"{name}[{i}]", v, low) for i, v in enumerate(state_list(name, value, n))]


def _check_values(
    lrs: list[Schedule], moms: list[Schedule | None], t: float, names: tuple[str, str]
) -> None:
    """The schedules give a finite rate >= 0 and a momentum in [0, 1] at position ``t``
    (checked before anything is written: a schedule that fails to evaluate is refused)."""
    for name, items, high in ((names[0], lrs, math.inf), (names[1], moms, 1.0)):
        for i, s in enumerate(items):
            if s is None:
                continue
            try:
                v = float(s.evaluate(t, SCALAR))
            except (ArithmeticError, ValueError, TypeError) as exc:
                raise ValueError(
                    f"Invalid {name}[{i}]: it fails at step {t}: {type(exc).__name__}: {exc}. "
                    f"Received: {s!r}"
                ) from None
            if not (math.isfinite(v) and 0.0 <= v <= high):
                bound = "[0, 1]" if high == 1.0 else "[0, inf)"
                raise ValueError(
                    f"Invalid {name}[{i}]: its value at step {t} is {v!r}, outside {bound}. "
                    f"Received: {s!r}"
                )


def _schedule_from(name: str, config: Any) -> Schedule:
    """A schedule rebuilt from config data through clr_core's registry only."""
    try:
        out = clr_core.from_config(config)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"Invalid {name}: {exc}") from None
    except (OverflowError, RecursionError) as exc:
        raise ValueError(f"Invalid {name}: {type(exc).__name__}: {exc}") from None
    if not isinstance(out, Schedule):
        raise fail(name, "the config of a schedule", config, TypeError)
    return out


class _Described:
    """A public attribute that describes the schedules: set while the scheduler is built or
    loads a state, refused afterwards.

    PyTorch's schedulers read such attributes (``base_lrs``, ``max_lrs``, ``eta_min``...)
    back at every step, so assigning one changes their rates; here the schedules are values
    and the attribute is only their description, so an assignment is refused rather than
    silently ignored. The value lives in the instance ``__dict__`` (``vars()`` lists it, as
    PyTorch's does); nothing on the per-step path pays for the check.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        try:
            return obj.__dict__[self.name]
        except KeyError:
            raise AttributeError(
                f"{type(obj).__name__!r} object has no attribute {self.name!r}"
            ) from None

    def __set__(self, obj: Any, value: Any) -> None:
        if not obj.__dict__.get("_describing", True):
            raise AttributeError(
                f"{type(obj).__name__}.{self.name} describes the schedules the scheduler was "
                "built with and is not read back (PyTorch's schedulers would take it from the "
                "next step on): build a scheduler with the new value, or load a state_dict"
            )
        obj.__dict__[self.name] = value


class ScheduleLR(LRScheduler):
    r"""Set each param group's rate (and optionally momentum) from clr_core schedules.

    At position ``t`` (after ``t`` calls of :meth:`step`, ``t == last_epoch``)
    param group ``g`` has

    .. math::

        \eta_g = S_g(t), \qquad m_g = M_g(t)

    where ``S_g`` is the group's rate schedule and ``M_g`` its momentum schedule,
    evaluated in closed form by clr_core: no chained updates, so the value at any
    step is independent of history and a resumed run continues the identical
    sequence.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
    schedule : clr_core.Schedule, sequence of them, or clr_core.rangetest.Plan
        One schedule for every group, or one per param group; or the plan of
        ``result.recommend(...)``, whose rate and momentum schedules are then used
        (``momentum`` must be ``None``).
    momentum : clr_core.Schedule or sequence of (Schedule or None), optional
        Momentum schedule(s) within ``[0, 1]``, e.g. ``schedule.momentum(0.85, 0.95)``;
        ``None`` leaves momentum alone. Written to the key given by
        :func:`momentum_key_for`: ``momentum`` for SGD/RMSprop, ``betas[0]`` for
        the Adam family.
    last_epoch : int
        As in PyTorch: ``-1`` (default) starts a new run at position 0;
        ``k >= 0`` resumes a run whose scheduler had ``last_epoch == k + 1``
        (PyTorch steps once in the constructor), so the scheduler is at
        position ``k + 1`` and writes ``S_g(k + 1)``, the rates a resumed
        optimizer already holds.
    momentum_key : str, optional
        Overrides the mapping: ``"momentum"``, ``"betas"`` or your optimizer's
        own key; for a tuple-valued key element 0 is set. Never ``"params"``,
        ``"lr"`` or another rate key.

    Notes
    -----
    ``state_dict()`` holds the schedules' configs (plain JSON data), the step
    count and the last rates, so ``torch.load(f, weights_only=True)`` reads it.
    ``load_state_dict`` validates the whole state first and restores the
    schedules from it. If the optimizer still holds the rates this scheduler
    last wrote (it was not restored after the scheduler was built) the loaded
    step's rates are applied; rates restored with the optimizer's own state are
    never overwritten. Either order of restoring optimizer and scheduler
    therefore resumes exactly.

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

    # The write helper is a cache, not state: a slot keeps it out of ``__dict__``
    # (and so out of state_dict() comparisons, pickles and copies).
    __slots__ = ("_write",)

    #: Whether step() warns about PyTorch's call order (CosineAnnealingWarmRestarts never does).
    _check_order: ClassVar[bool] = True

    _write: Writer
    _position: float
    _start: int
    _momentum_key: str | None
    _last_lr: list[Any]
    base_lrs = _Described()

    def __init__(
        self,
        optimizer: Optimizer,
        schedule: Schedule | Sequence[Schedule] | Plan,
        momentum: Schedule | Sequence[Schedule | None] | None = None,
        last_epoch: int = -1,
        momentum_key: str | None = None,
    ) -> None:
        # Validate everything before the optimizer is touched.
        if not isinstance(optimizer, Optimizer):
            raise fail("optimizer", "a torch.optim.Optimizer", optimizer, TypeError)
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, numbers.Integral):
            raise fail("last_epoch", "an int >= -1", last_epoch, TypeError)
        if not -1 <= last_epoch < MAX_STEPS:
            raise fail("last_epoch", f"an int in [-1, {MAX_STEPS})", last_epoch)
        if isinstance(schedule, Plan):  # result.recommend(...): its rate and its momentum
            if momentum is not None:
                raise fail(
                    "momentum", "None when schedule is a Plan (the plan has its own)", momentum
                )
            schedule, momentum = schedule.lr, schedule.momentum
        n = len(optimizer.param_groups)
        lrs = _per_group("schedule", schedule, n)
        moms = _per_group("momentum", momentum, n, allow_none=True)
        if any(m is not None for m in moms):
            key: str | None = momentum_key_for(optimizer, momentum_key)
        elif momentum_key is not None:
            if not isinstance(momentum_key, str) or not momentum_key:
                raise fail("momentum_key", "a non-empty str", momentum_key, TypeError)
            if momentum_key in _NOT_MOMENTUM:
                raise fail(
                    "momentum_key",
                    f"a momentum key, not one of {sorted(_NOT_MOMENTUM)}",
                    momentum_key,
                )
            key = momentum_key
        else:
            key = None
        _check_values(lrs, moms, float(last_epoch + 1), ("schedule", "momentum"))
        self.optimizer = optimizer
        self._set_schedules(lrs, moms, key)
        self._start = int(last_epoch)
        if last_epoch == -1:
            self._prepare_groups()
        # The base class records `initial_lr` where absent (SequentialLR reads it),
        # patches optimizer.step for the call-order warning and calls
        # self._initial_step(), overridden below.
        super().__init__(optimizer, -1)
        self.base_lrs = [float(s.evaluate(0.0, SCALAR)) for s in self._lr_schedules]
        self._describe()
        self.__dict__["_describing"] = False  # from now on `_Described` refuses assignment

    # ------------------------------------------------------------ subclass hooks

    def _prepare_groups(self) -> None:
        """Write extra param-group keys on a fresh start (the drop-ins write PyTorch's)."""

    def _describe(self) -> None:
        """Set public attributes from the schedules (the drop-ins set PyTorch's)."""

    def _check_kind(self, lrs: list[Schedule], moms: list[Schedule | None]) -> None:
        """Refuse loaded schedules this class cannot describe (the drop-ins check their kind)."""

    def _parse_foreign(self, state: dict[str, Any]) -> _State:
        """Parse a state dict in another format (the drop-ins read PyTorch's own)."""
        raise fail(
            "state_dict",
            f"a dict made by ScheduleLR.state_dict() (format {_STATE_FORMAT!r})",
            sorted(map(str, state)),
        )

    # ------------------------------------------------------------------ setup

    def _set_schedules(
        self, lrs: list[Schedule], moms: list[Schedule | None], key: str | None
    ) -> None:
        self._lr_schedules = lrs
        self._momentum_schedules = moms
        self._momentum_key = key
        self._write = _writer(lrs, moms, key or "")

    def __getstate__(self) -> dict[str, Any]:
        # The write helper is a cache: pickle the schedules (plain values) only.
        return dict(self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._set_schedules(self._lr_schedules, self._momentum_schedules, self._momentum_key)

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
        # PyTorch's: count from `last_epoch` and step once. A resumed scheduler
        # (last_epoch=k) lands on position k + 1; SequentialLR calls this again
        # later to restart a scheduler from scratch.
        start, self._start = self._start, -1
        self._step_count = 0
        self.last_epoch = start
        self._position = float(start)
        self.step()

    # --------------------------------------------------------------- hot path

    def step(self, epoch: float | None = None) -> None:
        """Advance one optimizer step and set the rates (and momenta) for the next one.

        ``step(epoch)`` jumps to position ``epoch`` (closed form; a float position
        evaluates the schedule between steps, as ``CosineAnnealingWarmRestarts`` does).
        """
        if self._step_count == 1 and self._check_order:
            self._check_call_order()
        self._step_count += 1
        self._update_lr(epoch)

    def _update_lr(self, epoch: float | None = None) -> None:
        # The one step advance (SequentialLR calls `_update_lr(0)` at its milestones).
        if epoch is None:
            self.last_epoch += 1
            t = self._position = self._position + 1.0
        else:
            t = self._jump(epoch)
        self._last_lr = self._write(self.optimizer.param_groups, t)

    def _jump(self, epoch: Any) -> float:
        """Go to position ``epoch`` (validated); returns it as a float."""
        if not _number(epoch):
            raise fail("epoch", "a real number >= 0", epoch, TypeError)
        pos = float(epoch)
        if not (math.isfinite(pos) and 0.0 <= pos < MAX_STEPS):
            raise fail("epoch", f"a real number in [0, {MAX_STEPS})", epoch)
        self.last_epoch = math.floor(pos)
        self._position = pos
        return pos

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

    def _rates(self, t: float) -> list[Any]:
        return [s.evaluate(t, SCALAR) for s in self._lr_schedules]

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

        The whole state is validated first (schedules rebuilt through clr_core's
        registry only: nothing imported or evaluated; counters in range; the
        momentum key one this optimizer holds a momentum in); a refused state
        raises ``ValueError`` or ``TypeError`` naming the field and changes
        nothing. The resumed run then continues the checkpoint's sequence
        whatever arguments this scheduler was built with.
        """
        if not isinstance(state_dict, dict):
            raise fail("state_dict", "a dict made by state_dict()", state_dict, TypeError)
        if "format" in state_dict:
            state = self._parse_state(state_dict)
        else:
            state = self._parse_foreign(state_dict)
        self._check_kind(state.lrs, state.moms)
        _check_values(
            state.lrs, state.moms, state.position, (_field("schedules"), _field("momentum"))
        )
        self._commit(state)

    def _parse_state(self, sd: dict[str, Any]) -> _State:
        if sd["format"] != _STATE_FORMAT:
            raise fail(_field("format"), repr(_STATE_FORMAT), sd["format"])
        unknown = sorted(map(str, set(sd) - set(_STATE_KEYS)))
        if unknown:
            raise fail("state_dict", f"a dict with the keys {list(_STATE_KEYS)}", unknown)
        missing = [k for k in _STATE_KEYS if k not in sd and k != "position"]
        if missing:
            raise ValueError(f"The state_dict lacks the key(s) {missing}.")
        n = len(self.optimizer.param_groups)
        lrs = [
            _schedule_from(f"{_field('schedules')}[{i}]", c)
            for i, c in enumerate(state_list(_field("schedules"), sd["schedules"], n))
        ]
        moms: list[Schedule | None] = [
            None if c is None else _schedule_from(f"{_field('momentum')}[{i}]", c)
            for i, c in enumerate(state_list(_field("momentum"), sd["momentum"], n))
        ]
        _per_group(_field("momentum"), moms, n, allow_none=True)  # within [0, 1]
        key = self._loaded_key(sd["momentum_key"], moms, _field("momentum_key"))
        last_epoch = state_int(_field("last_epoch"), sd["last_epoch"], -1)
        position = state_real(
            _field("position"), sd.get("position", max(last_epoch, 0)), 0.0, float(MAX_STEPS)
        )
        return _State(
            lrs,
            moms,
            key,
            last_epoch,
            position,
            state_int(_field("_step_count"), sd["_step_count"], 0),
            state_reals(_field("_last_lr"), sd["_last_lr"], n, 0.0),
            state_reals(_field("base_lrs"), sd["base_lrs"], n, 0.0),
        )

    def _loaded_key(self, key: Any, moms: list[Schedule | None], name: str) -> str | None:
        """The momentum key of a loaded state: the one this scheduler resolves, or refused."""
        if key is not None and not isinstance(key, str):
            raise fail(name, "a str or None", key, TypeError)
        if all(m is None for m in moms):
            return self._momentum_key  # nothing will be written through it
        expected = self._momentum_key
        if expected is None:
            try:
                expected = momentum_key_for(self.optimizer)
            except ValueError as exc:
                raise ValueError(
                    f"The state_dict cycles momentum through {key!r}, but this scheduler has no "
                    f"momentum key: build it with momentum_key={key!r}. ({exc})"
                ) from None
        if key != expected:
            raise fail(name, f"{expected!r}, the momentum key of this optimizer", key)
        return _check_key(self.optimizer, key, name)

    def _commit(self, state: _State) -> None:
        """Adopt a validated state (nothing here can fail half-way)."""
        # Do the optimizer's rates still hold what this scheduler last wrote (nobody
        # restored them since)? Then writing the loaded step overwrites nothing.
        untouched = self._holds_own_rates()
        self._set_schedules(state.lrs, state.moms, state.key)
        self.last_epoch = state.last_epoch
        self._position = state.position
        self._step_count = state.step_count
        self.__dict__["_describing"] = True
        self.base_lrs = list(state.base_lrs)
        if untouched:
            self._last_lr = self._write(self.optimizer.param_groups, self._position)
        else:
            self._last_lr = list(state.last_lr)
        self._describe()
        self.__dict__["_describing"] = False

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
