"""Drop-in replacements for PyTorch's CyclicLR, OneCycleLR and CosineAnnealingWarmRestarts.

Same names, same signatures, the same LR and momentum sequence step for step, but
each is a :class:`~clr_torch.ScheduleLR` over clr_core schedules: the state is plain
data, a custom amplitude scale survives pickle and checkpoints, resuming never
clobbers the optimizer's rates, and a 1cycle stepped past its end holds its final
value instead of raising.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch.optim import Optimizer

import clr_core
from clr_core import Schedule

from ._scheduler import ScheduleLR, _fail

__all__ = ["CyclicLR", "OneCycleLR", "CosineAnnealingWarmRestarts"]


def _format(name: str, optimizer: Optimizer, value: Any) -> list[Any]:
    """One value per param group (PyTorch's ``_format_param`` rule)."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise _fail(name, f"a number or a list of {n} (one per param group)", value)
        return list(value)
    return [value] * n


def _shared(items: list[Schedule]) -> list[Schedule]:
    """Reuse one object for equal schedules (groups with the same bounds share work)."""
    out: list[Schedule] = []
    for s in items:
        out.append(next((o for o in out if o == s), s))
    return out


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
        As in PyTorch (``base_lr``, ``max_lr`` and the momenta may be per-group lists).
        As in PyTorch, the built-in modes fix ``scale_mode``.
    scale_fn : clr_core.Scale, optional
        A custom amplitude scale. It must be a registered :class:`clr_core.Scale`
        value, not a callable: values survive ``state_dict``, ``weights_only``
        loading and pickle.
    momentum_key : str, optional
        Keyword-only extra: the param-group key for momentum (see
        :func:`clr_torch.momentum_key_for`). Momentum cycling works for SGD and
        RMSprop (``momentum``) and the Adam family (``betas[0]``).

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
        if scale_fn is None and mode not in ("triangular", "triangular2", "exp_range"):
            raise _fail("mode", "one of ('triangular', 'triangular2', 'exp_range')", mode)
        base_lrs = _format("base_lr", optimizer, base_lr)
        max_lrs = _format("max_lr", optimizer, max_lr)
        lrs: list[Schedule] = []
        for b, m in zip(base_lrs, max_lrs, strict=True):
            if scale_fn is not None:
                s: Schedule = clr_core.Cyclic(
                    b, m, step_size_up, step_size_down, scale=scale_fn, scale_mode=scale_mode
                )
            elif mode == "triangular":
                s = clr_core.Triangular(b, m, step_size_up, step_size_down)
            elif mode == "triangular2":
                s = clr_core.Triangular2(b, m, step_size_up, step_size_down)
            else:
                s = clr_core.ExpRange(b, m, step_size_up, step_size_down, gamma=gamma)
            lrs.append(s)
        lrs = _shared(lrs)
        moms: list[Schedule | None] = [None] * len(lrs)
        if cycle_momentum:
            bms = _format("base_momentum", optimizer, base_momentum)
            mms = _format("max_momentum", optimizer, max_momentum)
            moms = list(_shared([s.momentum(b, m) for s, b, m in zip(lrs, bms, mms, strict=True)]))
        self.max_lrs = max_lrs
        self.mode = mode
        self.gamma = gamma
        self.scale_mode = scale_mode if scale_fn is not None else None
        self.cycle_momentum = cycle_momentum
        super().__init__(optimizer, lrs, moms, last_epoch, momentum_key)
        self.use_beta1 = self.momentum_key == "betas"


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
    raising, and nothing is written into the optimizer's param groups besides the
    rate and momentum.

    Parameters
    ----------
    optimizer, max_lr, total_steps, epochs, steps_per_epoch, pct_start, anneal_strategy,
    cycle_momentum, base_momentum, max_momentum, div_factor, final_div_factor,
    three_phase, last_epoch
        As in PyTorch (``max_lr`` and the momenta may be per-group lists).
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
                    raise _fail(name, "a positive int", v)
            total_steps = epochs * steps_per_epoch
        max_lrs = _format("max_lr", optimizer, max_lr)
        lrs = _shared(
            [
                clr_core.OneCycle(
                    m,
                    total_steps,
                    pct_start=pct_start,
                    anneal_strategy=anneal_strategy,
                    div_factor=div_factor,
                    final_div_factor=final_div_factor,
                    three_phase=three_phase,
                )
                for m in max_lrs
            ]
        )
        moms: list[Schedule | None] = [None] * len(lrs)
        if cycle_momentum:
            bms = _format("base_momentum", optimizer, base_momentum)
            mms = _format("max_momentum", optimizer, max_momentum)
            moms = list(_shared([s.momentum(b, m) for s, b, m in zip(lrs, bms, mms, strict=True)]))
        self.total_steps = int(lrs[0].total_steps)  # type: ignore[attr-defined]
        self.max_lrs = max_lrs
        self.cycle_momentum = cycle_momentum
        super().__init__(optimizer, lrs, moms, last_epoch, momentum_key)
        self.use_beta1 = self.momentum_key == "betas"


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
    (``epoch + i / iters``) as PyTorch does.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_0: int,
        T_mult: int = 1,
        eta_min: float = 0.0,
        last_epoch: int = -1,
        decay: float = 1.0,
    ) -> None:
        peaks = []
        for i, group in enumerate(optimizer.param_groups):
            if "initial_lr" in group:
                peaks.append(float(group["initial_lr"]))
            elif last_epoch == -1:
                peaks.append(float(group["lr"]))
            else:
                raise ValueError(
                    f"Cannot resume with last_epoch={last_epoch}: param_groups[{i}] has no "
                    "'initial_lr' (the peak rate). Build the scheduler with last_epoch=-1 and "
                    "restore it with load_state_dict(), or restore the optimizer's state first."
                )
        lrs = _shared(
            [clr_core.CosineRestarts(p, T_0, T_mult, eta_min=eta_min, decay=decay) for p in peaks]
        )
        self.T_0 = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        super().__init__(optimizer, lrs, None, last_epoch)
