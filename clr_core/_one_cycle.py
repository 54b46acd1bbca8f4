"""1cycle (Smith, arXiv 1708.07120 and 1803.09820) and cosine warm restarts (SGDR)."""

from __future__ import annotations

import dataclasses
from typing import Any

from ._base import Schedule, _fail, boolean, choice, integer, real, register
from ._xp import PI, SCALAR

__all__ = ["OneCycle", "OneCycleMomentum", "CosineRestarts"]


def _anneal(strategy: str, start: float, end: float, pct: Any, xp: Any) -> Any:
    # PyTorch's OneCycleLR._annealing_cos / _annealing_linear, same operation order.
    if strategy == "cos":
        cos_out = xp.cos(PI * pct) + 1.0
        return end + (start - end) / 2.0 * cos_out
    return (end - start) * pct + start


def _phase_ends(total_steps: int, pct_start: float, three_phase: bool) -> tuple[float, ...]:
    if three_phase:
        return (
            float(pct_start * total_steps) - 1.0,
            float(2 * pct_start * total_steps) - 2.0,
            float(total_steps) - 1.0,
        )
    return (float(pct_start * total_steps) - 1.0, float(total_steps) - 1.0)


def _check_phases(total_steps: Any, pct_start: Any, three_phase: Any) -> tuple[int, float, bool]:
    n = integer("total_steps", total_steps, low=2)
    p = real("pct_start", pct_start, low=0.0, high=1.0, low_open=True, high_open=True)
    three = boolean("three_phase", three_phase)
    ends = _phase_ends(n, p, three)
    start = 0.0
    for end in ends:
        if not end > start:
            raise ValueError(
                f"Argument `pct_start` leaves an empty phase with total_steps={n}: "
                f"phase boundaries {ends}. Received: pct_start={pct_start!r}"
            )
        start = end
    return n, p, three


def _phased(
    step: Any, ends: tuple[float, ...], values: tuple[float, ...], strategy: str, xp: Any
) -> Any:
    """Piecewise anneal from values[i] to values[i+1] over phase i, held past the end."""
    step = xp.minimum(step, ends[-1])
    start = 0.0
    out = None
    for i in reversed(range(len(ends))):
        start = 0.0 if i == 0 else ends[i - 1]
        pct = (step - start) / (ends[i] - start)
        v = _anneal(strategy, values[i], values[i + 1], pct, xp)
        out = v if out is None else xp.where(step <= ends[i], v, out)
    return out


@register
@dataclasses.dataclass(frozen=True)
class OneCycle(Schedule):
    r"""The 1cycle policy: warm up to ``max_lr``, then anneal far below the start.

    With ``eta_0 = max_lr / div_factor`` and ``eta_min = eta_0 / final_div_factor``,
    two phases (default, as PyTorch and fastai)::

        0 .. p N - 1        : eta_0   -> max_lr
        p N - 1 .. N - 1    : max_lr  -> eta_min

    or three (``three_phase=True``, the paper's schedule)::

        0 .. p N - 1        : eta_0   -> max_lr
        p N - 1 .. 2 p N - 2: max_lr  -> eta_0
        2 p N - 2 .. N - 1  : eta_0   -> eta_min

    each annealed by ``anneal(a, b, q) = b + (a - b)(1 + cos(pi q)) / 2``
    (``"cos"``) or ``a + (b - a) q`` (``"linear"``), ``q`` the fraction of the
    phase done. Identical to ``torch.optim.lr_scheduler.OneCycleLR`` for steps
    ``0 .. N - 1``; past the end it holds ``eta_min`` instead of raising.

    Parameters
    ----------
    max_lr : float
        Peak rate.
    total_steps : int
        Length ``N`` of the cycle in optimizer steps, ``>= 2``.
    pct_start : float
        Fraction ``p`` of the cycle spent rising, in ``(0, 1)``.
    anneal_strategy : {"cos", "linear"}
    div_factor : float
        ``eta_0 = max_lr / div_factor`` (default 25).
    final_div_factor : float
        ``eta_min = eta_0 / final_div_factor`` (default 1e4).
    three_phase : bool

    Examples
    --------
    >>> s = OneCycle(1.0, total_steps=5, pct_start=0.4, anneal_strategy="linear",
    ...              div_factor=10.0, final_div_factor=10.0)
    >>> [round(s(t), 4) for t in range(6)]
    [0.1, 1.0, 0.67, 0.34, 0.01, 0.01]
    """

    max_lr: float
    total_steps: int
    pct_start: float = 0.3
    anneal_strategy: str = "cos"
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    three_phase: bool = False

    def __post_init__(self) -> None:
        self._set("max_lr", real("max_lr", self.max_lr, low=0.0))
        n, p, _ = _check_phases(self.total_steps, self.pct_start, self.three_phase)
        self._set("total_steps", n)
        self._set("pct_start", p)
        choice("anneal_strategy", self.anneal_strategy, ("cos", "linear"))
        self._set("div_factor", real("div_factor", self.div_factor, low=0.0, low_open=True))
        self._set(
            "final_div_factor",
            real("final_div_factor", self.final_div_factor, low=0.0, low_open=True),
        )

    @property
    def duration(self) -> int:
        return self.total_steps

    @property
    def initial_lr(self) -> float:
        """``max_lr / div_factor``, the starting rate."""
        return self.max_lr / self.div_factor

    @property
    def min_lr(self) -> float:
        """``initial_lr / final_div_factor``, the final rate."""
        return self.initial_lr / self.final_div_factor

    def _values(self) -> tuple[float, ...]:
        if self.three_phase:
            return (self.initial_lr, self.max_lr, self.initial_lr, self.min_lr)
        return (self.initial_lr, self.max_lr, self.min_lr)

    def evaluate(self, step: Any, xp: Any = SCALAR) -> Any:
        ends = _phase_ends(self.total_steps, self.pct_start, self.three_phase)
        return _phased(step, ends, self._values(), self.anneal_strategy, xp)

    def bounds(self) -> tuple[float, float]:
        return (min(self.min_lr, self.initial_lr), self.max_lr)

    def momentum(self, base_momentum: float = 0.85, max_momentum: float = 0.95) -> OneCycleMomentum:
        """The inverse momentum cycle, as ``OneCycleLR(cycle_momentum=True)`` sets it."""
        return OneCycleMomentum(
            base_momentum,
            max_momentum,
            self.total_steps,
            self.pct_start,
            self.anneal_strategy,
            self.three_phase,
        )


@register
@dataclasses.dataclass(frozen=True)
class OneCycleMomentum(Schedule):
    r"""Momentum of the 1cycle policy: ``max_momentum -> base_momentum -> max_momentum``.

    The phases of :class:`OneCycle` with the same anneal; in three-phase mode the
    last phase holds ``max_momentum``. Made by :meth:`OneCycle.momentum`.

    Examples
    --------
    >>> m = OneCycle(1.0, 5, pct_start=0.4, anneal_strategy="linear").momentum(0.85, 0.95)
    >>> [round(m(t), 4) for t in range(5)]
    [0.95, 0.85, 0.8833, 0.9167, 0.95]
    """

    base_momentum: float
    max_momentum: float
    total_steps: int
    pct_start: float = 0.3
    anneal_strategy: str = "cos"
    three_phase: bool = False

    def __post_init__(self) -> None:
        base = real("base_momentum", self.base_momentum, low=0.0, high=1.0)
        top = real("max_momentum", self.max_momentum, low=0.0, high=1.0)
        if top < base:
            raise _fail("max_momentum", f">= base_momentum={base!r}", self.max_momentum)
        self._set("base_momentum", base)
        self._set("max_momentum", top)
        n, p, _ = _check_phases(self.total_steps, self.pct_start, self.three_phase)
        self._set("total_steps", n)
        self._set("pct_start", p)
        choice("anneal_strategy", self.anneal_strategy, ("cos", "linear"))

    def evaluate(self, step: Any, xp: Any = SCALAR) -> Any:
        ends = _phase_ends(self.total_steps, self.pct_start, self.three_phase)
        hi, lo = self.max_momentum, self.base_momentum
        values = (hi, lo, hi, hi) if self.three_phase else (hi, lo, hi)
        return _phased(step, ends, values, self.anneal_strategy, xp)

    def bounds(self) -> tuple[float, float]:
        return (self.base_momentum, self.max_momentum)

    @property
    def duration(self) -> int:
        return self.total_steps


@register
@dataclasses.dataclass(frozen=True)
class CosineRestarts(Schedule):
    r"""Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter).

    Cycle ``i`` (0-based) lasts ``T_i = T_0 * T_mult**i`` steps; with ``T_cur``
    the steps done in the current cycle::

        eta_t = eta_min + (peak_i - eta_min) (1 + cos(pi T_cur / T_i)) / 2
        peak_i = eta_min + (max_lr - eta_min) decay**i

    With ``decay=1`` this is ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts``
    step for step (``max_lr`` being the optimizer's initial rate); ``decay < 1``
    lowers every restart's peak (Keras' ``m_mul``).

    Parameters
    ----------
    max_lr : float
        Peak of the first cycle.
    T_0 : int
        Length of the first cycle, ``>= 1``.
    T_mult : int
        Growth factor of the cycle length, ``>= 1``.
    eta_min : float
        Floor, ``0 <= eta_min <= max_lr``.
    decay : float
        Per-restart peak multiplier in ``(0, 1]``.

    Examples
    --------
    >>> s = CosineRestarts(1.0, T_0=2, T_mult=2, decay=0.5)
    >>> [round(s(t), 4) for t in range(8)]
    [1.0, 0.5, 0.5, 0.4268, 0.25, 0.0732, 0.25, 0.2405]
    """

    max_lr: float
    T_0: int
    T_mult: int = 1
    eta_min: float = 0.0
    decay: float = 1.0

    def __post_init__(self) -> None:
        top = real("max_lr", self.max_lr, low=0.0)
        self._set("max_lr", top)
        self._set("T_0", integer("T_0", self.T_0, low=1))
        self._set("T_mult", integer("T_mult", self.T_mult, low=1))
        low = real("eta_min", self.eta_min, low=0.0)
        if low > top:
            raise _fail("eta_min", f"<= max_lr={top!r}", self.eta_min)
        self._set("eta_min", low)
        self._set("decay", real("decay", self.decay, low=0.0, high=1.0, low_open=True))

    def _cycle(self, step: Any, xp: Any) -> tuple[Any, Any, Any]:
        """(cycle index i, T_cur, T_i) at ``step``."""
        t0 = float(self.T_0)
        if self.T_mult == 1:
            i = xp.floor(step / t0)
            return i, step - i * t0, t0
        m = float(self.T_mult)
        i = xp.floor(xp.log(step * (m - 1.0) / t0 + 1.0) / xp.log(m))
        # Guard the float log against landing one cycle off at a boundary.
        start = t0 * (xp.power(m, i) - 1.0) / (m - 1.0)
        i = xp.where(step < start, i - 1.0, i)
        nxt = t0 * (xp.power(m, i + 1.0) - 1.0) / (m - 1.0)
        i = xp.where(step >= nxt, i + 1.0, i)
        start = t0 * (xp.power(m, i) - 1.0) / (m - 1.0)
        return i, step - start, t0 * xp.power(m, i)

    def evaluate(self, step: Any, xp: Any = SCALAR) -> Any:
        i, t_cur, t_i = self._cycle(step, xp)
        if self.decay == 1.0:
            peak = self.max_lr
        else:
            peak = self.eta_min + (self.max_lr - self.eta_min) * xp.power(self.decay, i)
        return self.eta_min + (peak - self.eta_min) * (1.0 + xp.cos(PI * t_cur / t_i)) / 2.0

    def bounds(self) -> tuple[float, float]:
        return (self.eta_min, self.max_lr)
