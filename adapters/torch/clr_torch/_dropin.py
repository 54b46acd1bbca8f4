"""Drop-in replacements for PyTorch's CyclicLR, OneCycleLR and CosineAnnealingWarmRestarts.

Same names, signatures, public attributes, param-group keys and ``last_epoch``
resume rule, and the same LR and momentum sequence step for step; but each is a
:class:`~clr_torch.ScheduleLR` over clr_core schedules: the state is plain data,
a custom amplitude scale survives pickle and checkpoints, restoring never
clobbers the optimizer's rates, and a 1cycle stepped past its end holds its
final value instead of raising. Each also loads a state dict saved by PyTorch's
class of the same name (a migration); the differences are listed in
``docs/torch.md``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import torch
from torch.optim import Optimizer

import clr_core
from clr_core import SCALAR, Schedule
from clr_core.validation import fail, short_repr

from ._scheduler import (
    ScheduleLR,
    _Described,
    _fast,
    _field,
    _State,
    state_int,
    state_real,
    state_reals,
)

__all__ = ["CyclicLR", "OneCycleLR", "CosineAnnealingWarmRestarts"]

_MODES = ("triangular", "triangular2", "exp_range")


def _scalar(name: str, value: Any) -> Any:
    """A 0-d (one-element) tensor argument read once as a Python number."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise fail(name, "a number or a one-element tensor", value)
        return value.item()
    return value


def _format(name: str, optimizer: Optimizer, value: Any) -> list[Any]:
    """One value per param group (PyTorch's ``_format_param`` rule); tensors read as numbers."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise fail(name, f"a number or a list of {n} (one per param group)", value)
        return [_scalar(f"{name}[{i}]", v) for i, v in enumerate(value)]
    return [_scalar(name, value)] * n


def _shared(items: list[Any]) -> list[Any]:
    """Reuse one object for equal schedules (groups with the same bounds share work)."""
    out: list[Any] = []
    for s in items:
        out.append(next((o for o in out if o == s), s))
    return out


def _momenta(
    rates: list[Schedule], base: list[Any], top: list[Any], names: tuple[str, str]
) -> list[Schedule | None]:
    """Each rate's inverse momentum cycle; a bound outside [0, 1] is named and refused."""
    out = []
    for i, (s, b, m) in enumerate(zip(rates, base, top, strict=True)):
        try:
            out.append(s.momentum(b, m))
        except (ValueError, TypeError) as exc:
            where = "" if len(rates) == 1 else f" (param group {i})"
            raise type(exc)(
                f"{exc}{where}. clr_torch refuses momenta outside [0, 1]: a momentum above 1 "
                f"makes SGD diverge. Received: {names[0]}={b!r}, {names[1]}={m!r}"
            ) from None
    return _shared(out)


def _torch_counters(sd: dict[str, Any], n: int) -> tuple[int, int, list[float], list[float]]:
    """last_epoch, _step_count, _last_lr and base_lrs of a state saved by PyTorch."""
    return (
        state_int(_field("last_epoch"), sd["last_epoch"], -1),
        state_int(_field("_step_count"), sd["_step_count"], 0),
        state_reals(_field("_last_lr"), sd["_last_lr"], n, 0.0),
        state_reals(_field("base_lrs"), sd["base_lrs"], n, 0.0),
    )


def _require(sd: dict[str, Any], cls: str, keys: tuple[str, ...]) -> None:
    missing = [k for k in keys if k not in sd]
    if missing:
        raise ValueError(
            f"The state_dict is neither clr_torch's nor torch.optim.lr_scheduler.{cls}'s: "
            f"it lacks the key(s) {missing}."
        )


def _migrating(cls: str, build: Callable[[], Any]) -> Any:
    """Build schedules from a PyTorch state; the core's refusals name the state they came from."""
    try:
        return build()
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"Invalid torch.optim.lr_scheduler.{cls} state_dict: {exc}") from None


def _not_made_here(whose: str, shape: str, lrs: list[Schedule], moms: list[Any]) -> ValueError:
    """The refusal of a state_dict whose schedules this drop-in cannot have made."""
    return ValueError(
        f"The state_dict's schedules are not {whose} ({shape}): load it into a "
        f"clr_torch.ScheduleLR instead. Received: schedules={short_repr(lrs)}, "
        f"momentum={short_repr(moms)}"
    )


def _resumable(optimizer: Optimizer, last_epoch: Any) -> None:
    """PyTorch's resume rule: ``last_epoch != -1`` resumes a run, so every param group
    must hold the ``initial_lr`` the run started from (a restored optimizer's state).
    ``KeyError``, as PyTorch raises; a ``last_epoch`` that is not an int is refused
    later, by :class:`ScheduleLR`."""
    if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) or last_epoch == -1:
        return
    for i, group in enumerate(optimizer.param_groups):
        if "initial_lr" not in group:
            raise KeyError(
                f"param 'initial_lr' is not specified in param_groups[{i}] when resuming "
                f"with last_epoch={last_epoch}: last_epoch >= 0 resumes a run, from an "
                "optimizer restored with its state_dict (saved in the same run). To start "
                "a run, pass last_epoch=-1; to restore a scheduler, build it with "
                "last_epoch=-1 and call load_state_dict()."
            )


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise fail(name, "a bool", value, TypeError)
    return value


class CyclicLR(ScheduleLR):
    r"""Cyclical learning rate (Smith 2017), a drop-in for ``torch.optim.lr_scheduler.CyclicLR``.

    Per param group, at step ``t`` (``T = step_size_up + step_size_down``,
    ``r = step_size_up / T``)::

        c = floor(1 + t / T),  x = 1 + t / T - c
        f = x / r if x <= r else (x - 1) / (r - 1)
        lr_t = base_lr + (max_lr - base_lr) f s(.)
        m_t  = max_momentum - (max_momentum - base_momentum) f s(.)

    with ``s(c) = 1`` (``"triangular"``), ``s(c) = 2 ** (1 - c)`` (``"triangular2"``),
    ``s(t) = gamma ** t`` (``"exp_range"``), or your :class:`clr_core.Scale`
    evaluated at ``c`` or ``t`` by ``scale_mode``. The formulas are clr_core's
    :class:`~clr_core.Triangular`, :class:`~clr_core.Triangular2`,
    :class:`~clr_core.ExpRange` and :class:`~clr_core.Cyclic`.

    Parameters
    ----------
    optimizer, base_lr, max_lr, step_size_up, step_size_down, mode, gamma, scale_mode,
    cycle_momentum, base_momentum, max_momentum, last_epoch
        As in PyTorch (``base_lr``, ``max_lr`` and the momenta may be per-group
        lists, numbers or 0-d tensors). As in PyTorch, the built-in modes fix
        ``scale_mode``. Momenta must lie in ``[0, 1]``.
    scale_fn : clr_core.Scale, optional
        A custom amplitude scale. It must be a registered :class:`clr_core.Scale`
        value, not a callable: values survive ``state_dict``, ``weights_only``
        loading and pickle.
    momentum_key : str, optional
        Keyword-only extra: the param-group key for momentum (see
        :func:`clr_torch.momentum_key_for`).

    Attributes
    ----------
    max_lrs, total_size, step_ratio, mode, gamma, scale_mode, cycle_momentum, use_beta1,
    base_momentums, max_momentums, base_lrs, last_epoch
        PyTorch's, kept true to the schedules (also after ``load_state_dict``).
        A fresh scheduler writes ``initial_lr`` (= ``base_lr`` where absent),
        ``base_momentum`` and ``max_momentum`` into the param groups, as PyTorch does.

    Examples
    --------
    >>> import torch
    >>> from clr_torch import CyclicLR
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    >>> sched = CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=2)
    >>> lrs = []
    >>> for _ in range(4):
    ...     opt.step()
    ...     sched.step()
    ...     lrs.append(round(sched.get_last_lr()[0], 4))
    >>> lrs
    [0.055, 0.1, 0.055, 0.01]
    """

    max_lrs = _Described()
    total_size = _Described()
    step_ratio = _Described()
    mode = _Described()
    gamma = _Described()
    scale_mode = _Described()
    cycle_momentum = _Described()
    use_beta1 = _Described()
    base_momentums = _Described()
    max_momentums = _Described()

    def __init__(
        self,
        optimizer: Optimizer,
        base_lr: float | list[float],
        max_lr: float | list[float],
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn: clr_core.Scale | Callable[[float], float] | None = None,
        scale_mode: str = "cycle",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.8,
        max_momentum: float | list[float] = 0.9,
        last_epoch: int = -1,
        *,
        momentum_key: str | None = None,
    ) -> None:
        if scale_fn is not None and not isinstance(scale_fn, clr_core.Scale):
            raise TypeError(
                "Argument `scale_fn` must be a clr_core.Scale value, not a callable: callables "
                "are never stored, because they break state_dict, weights_only loading and "
                "pickle. Write your scale as a frozen dataclass subclassing clr_core.Scale with "
                "a `factor(x, xp)` method, decorate it with @clr_core.register, and pass an "
                f"instance. Received: scale_fn={scale_fn!r}"
            )
        if scale_fn is None and mode not in _MODES:
            raise fail("mode", f"one of {_MODES}", mode)
        if not isinstance(optimizer, Optimizer):
            raise fail("optimizer", "a torch.optim.Optimizer", optimizer, TypeError)
        lrs = _cyclic_rates(
            _format("base_lr", optimizer, base_lr),
            _format("max_lr", optimizer, max_lr),
            _scalar("step_size_up", step_size_up),
            _scalar("step_size_down", step_size_down),
            mode,
            _scalar("gamma", gamma),
            scale_fn,
            scale_mode,
        )
        moms: list[Schedule | None] = [None] * len(lrs)
        if _bool("cycle_momentum", cycle_momentum):
            moms = _momenta(
                lrs,
                _format("base_momentum", optimizer, base_momentum),
                _format("max_momentum", optimizer, max_momentum),
                ("base_momentum", "max_momentum"),
            )
        self.mode = mode
        self.gamma = _scalar("gamma", gamma)
        _resumable(optimizer, last_epoch)
        super().__init__(optimizer, lrs, moms, last_epoch, momentum_key)

    def scale_fn(self, x: float) -> float:
        """The amplitude scale at ``x`` (a cycle number or a step, by ``scale_mode``)."""
        return float(_fast(self._lr_schedules[0]).scale.factor(x, SCALAR))  # type: ignore[attr-defined]

    def _prepare_groups(self) -> None:
        # PyTorch writes base_lr first, so its base class records it as initial_lr.
        for group, s, m in zip(
            self.optimizer.param_groups, self._lr_schedules, self._momentum_schedules, strict=True
        ):
            lr = float(s.evaluate(0.0, SCALAR))
            if isinstance(group["lr"], torch.Tensor):
                group["lr"].fill_(lr)
            else:
                group["lr"] = lr
            if m is not None:
                group["max_momentum"] = m.max_momentum  # type: ignore[attr-defined]
                group["base_momentum"] = m.base_momentum  # type: ignore[attr-defined]

    def _describe(self) -> None:
        s0 = self._lr_schedules[0]
        c = _fast(s0)
        self.max_lrs = [s.max_lr for s in self._lr_schedules]  # type: ignore[attr-defined]
        self.total_size = float(c.cycle_length)  # type: ignore[attr-defined]
        self.step_ratio = c.step_size_up / self.total_size  # type: ignore[attr-defined]
        for cls, mode in zip(
            (clr_core.Triangular, clr_core.Triangular2, clr_core.ExpRange), _MODES, strict=True
        ):
            if type(s0) is cls:
                self.mode = mode
        if isinstance(s0, clr_core.ExpRange):
            self.gamma = s0.gamma
        self.scale_mode = c.scale_mode  # type: ignore[attr-defined]
        self.cycle_momentum = any(m is not None for m in self._momentum_schedules)
        self.use_beta1 = self.momentum_key == "betas"
        if self.cycle_momentum:
            self.base_momentums = [m.base_momentum for m in self._momentum_schedules]  # type: ignore[union-attr]
            self.max_momentums = [m.max_momentum for m in self._momentum_schedules]  # type: ignore[union-attr]
        else:
            self.__dict__.pop("base_momentums", None)
            self.__dict__.pop("max_momentums", None)

    def _check_kind(self, lrs: list[Schedule], moms: list[Schedule | None]) -> None:
        named = (clr_core.Triangular, clr_core.Triangular2, clr_core.ExpRange, clr_core.Cyclic)
        c0 = _fast(lrs[0])

        def same_cycle(c: Any) -> bool:
            return (c.step_size_up, c.step_size_down, c.shape, c.scale, c.scale_mode) == (
                c0.step_size_up,  # type: ignore[attr-defined]
                c0.step_size_down,  # type: ignore[attr-defined]
                c0.shape,  # type: ignore[attr-defined]
                c0.scale,  # type: ignore[attr-defined]
                c0.scale_mode,  # type: ignore[attr-defined]
            )

        ok = all(
            type(s) is type(lrs[0])
            and isinstance(s, named)
            and (not isinstance(s, clr_core.ExpRange) or s.decay == "amplitude")
            and _fast(s).shape == clr_core.Triangle()  # type: ignore[attr-defined]
            and _fast(s).scale_target == "amplitude"  # type: ignore[attr-defined]
            and same_cycle(_fast(s))
            for s in lrs
        )
        driven = [m for m in moms if m is not None]
        if driven:
            ok = ok and len(driven) == len(moms)
            ok = ok and all(type(m) is clr_core.CyclicMomentum and same_cycle(m) for m in driven)
        if not ok:
            raise _not_made_here(
                "a CyclicLR's",
                "one triangle cycle and scale for every param group, momentum on all or none",
                lrs,
                moms,
            )

    def _parse_foreign(self, sd: dict[str, Any]) -> _State:
        if "total_size" not in sd:
            return super()._parse_foreign(sd)
        _require(
            sd,
            "CyclicLR",
            (
                "base_lrs",
                "max_lrs",
                "total_size",
                "step_ratio",
                "mode",
                "scale_mode",
                "cycle_momentum",
                "last_epoch",
                "_step_count",
                "_last_lr",
            ),
        )
        n = len(self.optimizer.param_groups)
        last_epoch, step_count, last_lr, base_lrs = _torch_counters(sd, n)
        max_lrs = state_reals(_field("max_lrs"), sd["max_lrs"], n, 0.0)
        total = state_real(_field("total_size"), sd["total_size"], 2.0)
        ratio = state_real(_field("step_ratio"), sd["step_ratio"], 0.0, 1.0)
        up, down = round(total * ratio), round(total - total * ratio)
        if up < 1 or down < 1 or abs(up + down - total) > 1e-9 * total:
            raise fail(
                _field("total_size"),
                "a cycle of whole steps (clr_torch's step sizes are ints)",
                (total, ratio),
            )
        mode = sd["mode"]
        scale_mode = sd["scale_mode"]
        gamma = state_real(_field("gamma"), sd.get("gamma", 1.0))
        scale = self._migrated_scale(sd, mode, scale_mode)
        lrs = _migrating(
            "CyclicLR",
            lambda: _cyclic_rates(base_lrs, max_lrs, up, down, mode, gamma, scale, scale_mode),
        )
        moms: list[Schedule | None] = [None] * n
        key = None
        if _bool(_field("cycle_momentum"), sd["cycle_momentum"]):
            _require(sd, "CyclicLR", ("base_momentums", "max_momentums", "use_beta1"))
            beta1 = _bool(_field("use_beta1"), sd["use_beta1"])
            bms = state_reals(_field("base_momentums"), sd["base_momentums"], n)
            mms = state_reals(_field("max_momentums"), sd["max_momentums"], n)
            moms = _migrating(
                "CyclicLR", lambda: _momenta(lrs, bms, mms, ("base_momentums", "max_momentums"))
            )
            key = self._loaded_key("betas" if beta1 else "momentum", moms, _field("use_beta1"))
        return _State(
            lrs, moms, key, last_epoch, float(max(last_epoch, 0)), step_count, last_lr, base_lrs
        )

    def _migrated_scale(self, sd: dict[str, Any], mode: Any, scale_mode: Any) -> Any:
        """The scale of a PyTorch CyclicLR state: this scheduler's own custom Scale (as PyTorch
        keeps its instance's scale_fn), or the built-in mode's; refused where a callable was."""
        saved = sd.get("_scale_fn_custom")
        c0 = _fast(self._lr_schedules[0])
        own = c0.scale if type(self._lr_schedules[0]) is clr_core.Cyclic else None  # type: ignore[attr-defined]
        if own is not None:
            if saved is None:
                return own
            if not isinstance(saved, dict):
                raise fail(_field("_scale_fn_custom"), "a dict or None", saved, TypeError)
            fields = {f.name for f in dataclasses.fields(own)}
            if not set(saved) <= fields:
                raise ValueError(
                    "The state_dict's scale_fn was a callable object with the attributes "
                    f"{sorted(map(str, saved))}; this scheduler's scale "
                    f"{type(own).__name__} has the fields {sorted(fields)}. Build the "
                    "CyclicLR with a clr_core.Scale whose fields are those attributes."
                )
            return _migrating("CyclicLR", lambda: dataclasses.replace(own, **saved))
        for field, value in (("mode", mode), ("scale_mode", scale_mode)):
            if not isinstance(value, str):  # PyTorch keeps the strings it was given
                raise fail(_field(field), "a str", value, TypeError)
        built_in = {"triangular": "cycle", "triangular2": "cycle", "exp_range": "iterations"}
        if saved is not None or built_in.get(mode) != scale_mode:
            what = (
                f"a callable object (attributes {sorted(map(str, saved))})"
                if isinstance(saved, dict)
                else "a function (PyTorch saves none)"
            )
            raise ValueError(
                "This state_dict comes from torch.optim.lr_scheduler.CyclicLR with a custom "
                f"scale_fn, {what}: mode={short_repr(mode)}, "
                f"scale_mode={short_repr(scale_mode)}. clr_torch never "
                "runs callables from a checkpoint. Write the scale as a frozen dataclass "
                "subclassing clr_core.Scale with a factor(x, xp) method, decorate it with "
                "@clr_core.register, build clr_torch.CyclicLR(..., scale_fn=YourScale(...), "
                f"scale_mode={short_repr(scale_mode)}) and load this state_dict into it."
            )
        return None


def _cyclic_rates(
    base_lrs: list[Any],
    max_lrs: list[Any],
    up: Any,
    down: Any,
    mode: str,
    gamma: Any,
    scale: clr_core.Scale | None,
    scale_mode: str,
) -> list[Schedule]:
    """One cyclic rate schedule per group: the named policy, or Cyclic over a custom Scale."""
    out: list[Schedule] = []
    for b, m in zip(base_lrs, max_lrs, strict=True):
        if scale is not None:
            s: Schedule = clr_core.Cyclic(b, m, up, down, scale=scale, scale_mode=scale_mode)
        elif mode == "triangular":
            s = clr_core.Triangular(b, m, up, down)
        elif mode == "triangular2":
            s = clr_core.Triangular2(b, m, up, down)
        elif mode == "exp_range":
            s = clr_core.ExpRange(b, m, up, down, gamma=gamma)
        else:
            raise fail("mode", f"one of {_MODES}", mode)
        out.append(s)
    return _shared(out)


_ANNEAL = {"_annealing_cos": "cos", "_annealing_linear": "linear"}


class OneCycleLR(ScheduleLR):
    r"""The 1cycle policy (Smith 2018), a drop-in for ``torch.optim.lr_scheduler.OneCycleLR``.

    Per param group, with ``eta_0 = max_lr / div_factor`` and
    ``eta_min = eta_0 / final_div_factor``, the rate anneals
    ``eta_0 -> max_lr -> eta_min`` (or ``eta_0 -> max_lr -> eta_0 -> eta_min`` with
    ``three_phase=True``) over ``total_steps``; the momentum moves inversely
    ``max_momentum -> base_momentum -> max_momentum``. Each phase uses
    ``anneal(a, b, q) = b + (a - b)(1 + cos(pi q)) / 2`` (``"cos"``) or
    ``a + (b - a) q`` (``"linear"``): clr_core's :class:`~clr_core.OneCycle` and
    :class:`~clr_core.OneCycleMomentum`.

    Unlike PyTorch, stepping past ``total_steps`` holds the final rate instead of
    raising, and the schedule comes from the scheduler's own state: the
    param-group keys it writes (``initial_lr``, ``max_lr``, ``min_lr``,
    ``base_momentum``, ``max_momentum``, as PyTorch) are never read back.

    Parameters
    ----------
    optimizer, max_lr, total_steps, epochs, steps_per_epoch, pct_start, anneal_strategy,
    cycle_momentum, base_momentum, max_momentum, div_factor, final_div_factor,
    three_phase, last_epoch
        As in PyTorch (``max_lr`` and the momenta may be per-group lists,
        numbers or 0-d tensors). Momenta must lie in ``[0, 1]``.
    momentum_key : str, optional
        Keyword-only extra: see :class:`CyclicLR`.

    Examples
    --------
    >>> import torch
    >>> from clr_torch import OneCycleLR
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    >>> sched = OneCycleLR(opt, max_lr=1.0, total_steps=4, pct_start=0.5, anneal_strategy="linear")
    >>> lrs = [sched.get_last_lr()[0]]
    >>> for _ in range(5):  # one step past the end: held, no error
    ...     opt.step()
    ...     sched.step()
    ...     lrs.append(sched.get_last_lr()[0])
    >>> [round(v, 6) for v in lrs]
    [0.04, 1.0, 0.500002, 4e-06, 4e-06, 4e-06]
    """

    total_steps = _Described()
    max_lrs = _Described()
    cycle_momentum = _Described()
    use_beta1 = _Described()

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | list[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.85,
        max_momentum: float | list[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
        *,
        momentum_key: str | None = None,
    ) -> None:
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError(
                    "Argument `total_steps` must be given, or both `epochs` and "
                    "`steps_per_epoch`. Received: total_steps=None, "
                    f"epochs={epochs!r}, steps_per_epoch={steps_per_epoch!r}"
                )
            for name, v in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
                if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                    raise fail(name, "a positive int", v)
            total_steps = epochs * steps_per_epoch
        if not isinstance(optimizer, Optimizer):
            raise fail("optimizer", "a torch.optim.Optimizer", optimizer, TypeError)
        kw = {
            "pct_start": _scalar("pct_start", pct_start),
            "anneal_strategy": anneal_strategy,
            "div_factor": _scalar("div_factor", div_factor),
            "final_div_factor": _scalar("final_div_factor", final_div_factor),
            "three_phase": three_phase,
        }
        total = _scalar("total_steps", total_steps)
        lrs = _shared(
            [clr_core.OneCycle(m, total, **kw) for m in _format("max_lr", optimizer, max_lr)]
        )
        moms: list[Schedule | None] = [None] * len(lrs)
        if _bool("cycle_momentum", cycle_momentum):
            moms = _momenta(
                lrs,
                _format("base_momentum", optimizer, base_momentum),
                _format("max_momentum", optimizer, max_momentum),
                ("base_momentum", "max_momentum"),
            )
        _resumable(optimizer, last_epoch)
        super().__init__(optimizer, lrs, moms, last_epoch, momentum_key)

    def _prepare_groups(self) -> None:
        for group, s, m in zip(
            self.optimizer.param_groups, self._lr_schedules, self._momentum_schedules, strict=True
        ):
            group["initial_lr"] = s.initial_lr  # type: ignore[attr-defined]
            group["max_lr"] = s.max_lr  # type: ignore[attr-defined]
            group["min_lr"] = s.min_lr  # type: ignore[attr-defined]
            if m is not None:
                group["max_momentum"] = m.max_momentum  # type: ignore[attr-defined]
                group["base_momentum"] = m.base_momentum  # type: ignore[attr-defined]

    def _describe(self) -> None:
        self.total_steps = int(self._lr_schedules[0].total_steps)  # type: ignore[attr-defined]
        self.max_lrs = [s.max_lr for s in self._lr_schedules]  # type: ignore[attr-defined]
        self.cycle_momentum = any(m is not None for m in self._momentum_schedules)
        self.use_beta1 = self.momentum_key == "betas"

    def _check_kind(self, lrs: list[Schedule], moms: list[Schedule | None]) -> None:
        def phases(s: Any) -> tuple[Any, ...]:
            return (s.total_steps, s.pct_start, s.anneal_strategy, s.three_phase)

        ok = all(type(s) is clr_core.OneCycle for s in lrs)
        ok = ok and all(phases(s) == phases(lrs[0]) for s in lrs)
        driven = [m for m in moms if m is not None]
        if ok and driven:
            ok = len(driven) == len(moms) and all(
                type(m) is clr_core.OneCycleMomentum and phases(m) == phases(lrs[0]) for m in driven
            )
        if not ok:
            raise _not_made_here(
                "a OneCycleLR's",
                "one OneCycle shape for every param group, momentum on all or none",
                lrs,
                moms,
            )

    def _parse_foreign(self, sd: dict[str, Any]) -> _State:
        if "_schedule_phases" not in sd:
            return super()._parse_foreign(sd)
        _require(
            sd,
            "OneCycleLR",
            (
                "total_steps",
                "_schedule_phases",
                "cycle_momentum",
                "last_epoch",
                "_step_count",
                "_last_lr",
                "base_lrs",
            ),
        )
        n = len(self.optimizer.param_groups)
        last_epoch, step_count, last_lr, base_lrs = _torch_counters(sd, n)
        total = state_int(_field("total_steps"), sd["total_steps"], 2)
        phases = sd["_schedule_phases"]
        if not isinstance(phases, list) or len(phases) not in (2, 3):
            raise fail(_field("_schedule_phases"), "a list of 2 or 3 phases", phases, TypeError)
        if not isinstance(phases[0], dict) or "end_step" not in phases[0]:
            raise fail(f"{_field('_schedule_phases')}[0]", "a dict with 'end_step'", phases[0])
        end = state_real(f"{_field('_schedule_phases')}[0]['end_step']", phases[0]["end_step"])
        anneal = self._migrated_anneal(sd)
        # PyTorch keeps the peak and floor in the param groups, not in its state.
        groups = self.optimizer.param_groups
        need = ["initial_lr", "max_lr", "min_lr"]
        cycle_momentum = _bool(_field("cycle_momentum"), sd["cycle_momentum"])
        if cycle_momentum:
            need += ["base_momentum", "max_momentum"]
        values: dict[str, list[float]] = {}
        for k in need:
            if any(k not in g for g in groups):
                raise ValueError(
                    "A torch.optim.lr_scheduler.OneCycleLR state_dict keeps max_lr, initial_lr, "
                    "min_lr and the momenta in the optimizer's param groups, and they have no "
                    f"{k!r}: load the optimizer's state_dict (saved in the same run) before "
                    "the scheduler's."
                )
            # the rates are divided by one another (div_factor, final_div_factor): none is 0
            rate = k in ("initial_lr", "max_lr", "min_lr")
            values[k] = [
                state_real(f"param_groups[{i}][{k!r}]", g[k], 0.0, low_open=rate)
                for i, g in enumerate(groups)
            ]

        def build() -> list[Schedule]:
            return _shared(
                [
                    clr_core.OneCycle(
                        top,
                        total,
                        pct_start=(end + 1.0) / total,
                        anneal_strategy=anneal,
                        div_factor=top / start,
                        final_div_factor=start / low,
                        three_phase=len(phases) == 3,
                    )
                    for top, start, low in zip(
                        values["max_lr"], values["initial_lr"], values["min_lr"], strict=True
                    )
                ]
            )

        lrs = _migrating("OneCycleLR", build)
        # The group keys must be the saved run's: a OneCycleLR built after the optimizer
        # was restored overwrites them (PyTorch's does too) with its own arguments.
        # (PyTorch extrapolates at step total_steps, where clr_core holds the final rate.)
        at = float(max(last_epoch, 0))
        for i, (s, base, last) in enumerate(zip(lrs, base_lrs, last_lr, strict=True)):
            expect = (values["initial_lr"][i], float(s.evaluate(at, SCALAR)))
            got = (base, last if last_epoch < total else expect[1])
            if not all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(expect, got, strict=True)):
                raise ValueError(
                    "The optimizer's param groups do not hold this torch OneCycleLR state's "
                    f"schedule (param_groups[{i}]: initial_lr={expect[0]!r}, rate at step "
                    f"{last_epoch}: {expect[1]!r}; the state_dict: base_lrs[{i}]={base!r}, "
                    f"_last_lr[{i}]={last!r}). Build the OneCycleLR first, then load the "
                    "optimizer's state_dict, then this one."
                )
        moms: list[Schedule | None] = [None] * n
        key = None
        if cycle_momentum:
            beta1 = _bool(_field("use_beta1"), sd.get("use_beta1"))
            bms, mms = values["base_momentum"], values["max_momentum"]
            moms = _migrating(
                "OneCycleLR", lambda: _momenta(lrs, bms, mms, ("base_momentum", "max_momentum"))
            )
            key = self._loaded_key("betas" if beta1 else "momentum", moms, _field("use_beta1"))
        return _State(
            lrs, moms, key, last_epoch, float(max(last_epoch, 0)), step_count, last_lr, base_lrs
        )

    @staticmethod
    def _migrated_anneal(sd: dict[str, Any]) -> str:
        if "_anneal_func_type" in sd:
            kind = sd["_anneal_func_type"]
            if kind not in ("cos", "linear"):
                raise fail(_field("_anneal_func_type"), "'cos' or 'linear'", kind)
            return str(kind)
        fn = sd.get("anneal_func")  # states saved before PyTorch 2.2 hold the function
        from torch.optim.lr_scheduler import OneCycleLR as TorchOneCycleLR

        for name, kind in _ANNEAL.items():
            if fn is getattr(TorchOneCycleLR, name, None):
                return kind
        raise ValueError(
            "This torch.optim.lr_scheduler.OneCycleLR state_dict anneals with "
            f"{short_repr(fn)}, not PyTorch's cos or linear anneal; clr_torch never runs "
            "callables from a checkpoint. Build clr_torch.OneCycleLR(..., "
            "anneal_strategy='cos' or 'linear') and continue from last_epoch instead."
        )


class CosineAnnealingWarmRestarts(ScheduleLR):
    r"""SGDR, a drop-in for ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts``.

    Cycle ``i`` lasts ``T_i = T_0 T_mult**i`` steps; with ``T_cur`` the steps
    since the last restart and ``eta_max`` the group's initial rate::

        peak_i = eta_min + (eta_max - eta_min) decay**i
        lr = eta_min + (peak_i - eta_min) (1 + cos(pi T_cur / T_i)) / 2

    (clr_core's :class:`~clr_core.CosineRestarts`). ``decay`` (default 1, PyTorch's
    behaviour) is an extra that lowers each restart's peak.

    ``eta_max`` is each group's ``initial_lr`` if set (as in PyTorch) or else its
    current ``lr``. ``step(epoch)`` accepts fractional epochs
    (``epoch + i / iters``) as PyTorch does. ``T_cur`` and ``T_i`` read the
    current cycle; setting ``T_cur`` moves within it (the next :meth:`step`
    continues from there), as in PyTorch. Like PyTorch's, this scheduler never
    warns about the order of ``optimizer.step()`` and ``scheduler.step()``.
    """

    _check_order = False

    T_0 = _Described()
    T_mult = _Described()
    eta_min = _Described()
    decay = _Described()

    def __init__(
        self,
        optimizer: Optimizer,
        T_0: int,
        T_mult: int = 1,
        eta_min: float = 0.0,
        last_epoch: int = -1,
        decay: float = 1.0,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise fail("optimizer", "a torch.optim.Optimizer", optimizer, TypeError)
        _resumable(optimizer, last_epoch)
        peaks = [
            float(g["initial_lr"] if "initial_lr" in g else g["lr"]) for g in optimizer.param_groups
        ]
        kw = {
            "T_mult": _scalar("T_mult", T_mult),
            "eta_min": _scalar("eta_min", eta_min),
            "decay": _scalar("decay", decay),
        }
        t0 = _scalar("T_0", T_0)
        lrs = _shared([clr_core.CosineRestarts(p, t0, **kw) for p in peaks])
        super().__init__(optimizer, lrs, None, last_epoch)

    def _describe(self) -> None:
        s = self._lr_schedules[0]
        self.T_0 = s.T_0  # type: ignore[attr-defined]
        self.T_mult = s.T_mult  # type: ignore[attr-defined]
        self.eta_min = s.eta_min  # type: ignore[attr-defined]
        self.decay = s.decay  # type: ignore[attr-defined]

    def _cycle(self) -> tuple[Any, Any, Any]:
        return self._lr_schedules[0].cycle(self._position)  # type: ignore[attr-defined, no-any-return]

    @property
    def T_cur(self) -> float:
        """Steps since the last restart (fractional after ``step(epoch)`` with a fraction)."""
        t = float(self._cycle()[1])
        return int(t) if t.is_integer() else t

    @T_cur.setter
    def T_cur(self, value: float) -> None:
        v = state_real("T_cur", value, 0.0, float(2**53))
        self._position += v - self.T_cur

    @property
    def T_i(self) -> int:
        """Length of the current cycle, ``T_0 * T_mult ** i``."""
        return int(self._cycle()[2])

    def _check_kind(self, lrs: list[Schedule], moms: list[Schedule | None]) -> None:
        def cycle(s: Any) -> tuple[Any, ...]:
            return (s.T_0, s.T_mult, s.eta_min, s.decay)

        ok = all(type(s) is clr_core.CosineRestarts for s in lrs)
        ok = ok and all(cycle(s) == cycle(lrs[0]) for s in lrs)
        if not ok or any(m is not None for m in moms):
            raise _not_made_here(
                "a CosineAnnealingWarmRestarts'",
                "one CosineRestarts cycle for every param group, no momentum",
                lrs,
                moms,
            )

    def _parse_foreign(self, sd: dict[str, Any]) -> _State:
        if "T_0" not in sd:
            return super()._parse_foreign(sd)
        _require(
            sd,
            "CosineAnnealingWarmRestarts",
            (
                "T_0",
                "T_i",
                "T_mult",
                "eta_min",
                "T_cur",
                "base_lrs",
                "last_epoch",
                "_step_count",
                "_last_lr",
            ),
        )
        n = len(self.optimizer.param_groups)
        last_epoch, step_count, last_lr, base_lrs = _torch_counters(sd, n)
        t0 = state_int(_field("T_0"), sd["T_0"], 1)
        mult = state_int(_field("T_mult"), sd["T_mult"], 1)
        t_i = state_int(_field("T_i"), sd["T_i"], 1)
        t_cur = state_real(_field("T_cur"), sd["T_cur"], 0.0, float(2**53))
        eta_min = state_real(_field("eta_min"), sd["eta_min"], 0.0)
        # The position: the start of the cycle of length T_i, plus T_cur.
        if mult == 1:
            start = (max(last_epoch, 0) // t0) * t0
        else:
            start, length = 0, t0
            while length < t_i:
                start, length = start + length, length * mult
            if length != t_i:
                raise fail(_field("T_i"), f"T_0 * T_mult**i (T_0={t0}, T_mult={mult})", t_i)
        lrs = _migrating(
            "CosineAnnealingWarmRestarts",
            lambda: _shared(
                [clr_core.CosineRestarts(p, t0, mult, eta_min=eta_min) for p in base_lrs]
            ),
        )
        position = state_real(_field("T_cur"), start + t_cur, 0.0, float(2**53))
        return _State(
            lrs, [None] * n, self._momentum_key, last_epoch, position, step_count, last_lr, base_lrs
        )
