"""1cycle (Smith, arXiv 1708.07120 and 1803.09820) and cosine warm restarts (SGDR)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from ._base import Schedule, register
from ._xp import PI, SCALAR, to_float
from .validation import MAX_STEPS, boolean, choice, fail, integer, momentum_pair, real

__all__ = ["OneCycle", "OneCycleMomentum", "CosineRestarts"]

#: CosineRestarts with T_mult > 1 holds its value at this step and beyond: its float
#: geometry stays finite below it for every T_0, T_mult <= 2**53, and the constant is
#: exact in float32 (a namespace's cast of it never overflows).
_HUGE_STEP = 2.0**100


def _phase_ends(total_steps: int, pct_start: float, three_phase: bool) -> tuple[float, ...]:
    if three_phase:
        return (
            float(pct_start * total_steps) - 1.0,
            float(2 * pct_start * total_steps) - 2.0,
            float(total_steps) - 1.0,
        )
    return (float(pct_start * total_steps) - 1.0, float(total_steps) - 1.0)


def _weights(t: Any, ends: tuple[float, ...], strategy: str, xp: Any) -> list[Any]:
    """Each phase's anneal weight at position ``t``: ``1 + cos(pi q)`` (``"cos"``) or ``q``
    (``"linear"``), ``q`` the fraction of the phase done. Shared by a rate and its momentum."""
    out = []
    start = 0.0
    for end in ends:
        pct = (t - start) / (end - start)
        out.append(xp.cos(PI * pct) + 1.0 if strategy == "cos" else pct)
        start = end
    return out


def _annealed(
    t: Any,
    ends: tuple[float, ...],
    weights: list[Any],
    values: tuple[float, ...],
    strategy: str,
    xp: Any,
) -> Any:
    """The anneal from ``values[i]`` to ``values[i + 1]`` over the phase ``i`` holding ``t``.

    PyTorch's ``OneCycleLR._annealing_cos`` / ``_annealing_linear``, same operation order:
    ``b + (a - b) / 2 (1 + cos(pi q))`` or ``(b - a) q + a``.
    """
    out = None
    for i in reversed(range(len(ends))):
        a, b, w = values[i], values[i + 1], weights[i]
        v = b + (a - b) / 2.0 * w if strategy == "cos" else (b - a) * w + a
        out = v if out is None else xp.where(t <= ends[i], v, out)
    return out


class _Phased(Schedule):
    """What 1cycle's rate and momentum share: the phases and their anneal."""

    total_steps: int
    pct_start: float
    anneal_strategy: str
    three_phase: bool

    def _check_phases(self) -> None:
        n = integer("total_steps", self.total_steps, low=2, high=MAX_STEPS)
        p = real("pct_start", self.pct_start, low=0.0, high=1.0, low_open=True, high_open=True)
        three = boolean("three_phase", self.three_phase)
        choice("anneal_strategy", self.anneal_strategy, ("cos", "linear"))
        ends = _phase_ends(n, p, three)
        if any(not b > a for a, b in zip((0.0, *ends), ends, strict=False)):
            raise ValueError(
                f"Argument `pct_start` leaves an empty phase with total_steps={n}: "
                f"phase boundaries {ends}. Received: pct_start={self.pct_start!r}"
            )
        self._set("total_steps", n)
        self._set("pct_start", p)
        self._set("_ends", ends)  # not a field: derived, kept for the hot path

    @property
    def duration(self) -> int:
        return self.total_steps

    def _values(self) -> tuple[float, ...]:
        """The value at each phase boundary, from step 0 to the end."""
        raise NotImplementedError

    def _position(self, step: Any, xp: Any) -> Any:
        """The step as a float, held at the last step ``total_steps - 1``."""
        return to_float(xp.minimum(step, self.total_steps - 1), xp)

    def evaluate(self, step: Any, xp: Any = SCALAR) -> Any:
        t = self._position(step, xp)
        ends, strategy = self._ends, self.anneal_strategy  # type: ignore[attr-defined]
        values = self._vals  # type: ignore[attr-defined]
        return _annealed(t, ends, _weights(t, ends, strategy, xp), values, strategy, xp)

    def _same_phases(self, other: Schedule) -> bool:
        return isinstance(other, _Phased) and self._same(
            other, "total_steps", "pct_start", "anneal_strategy", "three_phase"
        )


@register
@dataclasses.dataclass(frozen=True)
class OneCycle(_Phased):
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
        top = real("max_lr", self.max_lr, low=0.0)
        self._set("max_lr", top)
        self._check_phases()
        div = real("div_factor", self.div_factor, low=0.0, low_open=True)
        if not math.isfinite(top / div):
            raise fail("div_factor", "large enough for max_lr / div_factor to be finite", div)
        final = real("final_div_factor", self.final_div_factor, low=0.0, low_open=True)
        if not math.isfinite(top / div / final):
            raise fail("final_div_factor", "large enough for the final rate to be finite", final)
        self._set("div_factor", div)
        self._set("final_div_factor", final)
        self._set("_vals", self._values())  # not a field: derived, kept for the hot path

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

    def bounds(self) -> tuple[float, float]:
        # every value lies between the phases' end values (div_factor < 1 puts the
        # start above max_lr; final_div_factor < 1 puts the end above the start)
        return (min(self._values()), max(self._values()))

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

    def _fuse(self, momentum: Schedule) -> Callable[..., tuple[Any, Any]] | None:
        if not (type(momentum) is OneCycleMomentum and self._same_phases(momentum)):
            return None
        position, ends, strategy = self._position, self._ends, self.anneal_strategy  # type: ignore[attr-defined]
        rates, momenta = self._values(), momentum._values()

        def rate_and_momentum(step: Any, xp: Any = SCALAR) -> tuple[Any, Any]:
            t = position(step, xp)
            w = _weights(t, ends, strategy, xp)
            return _annealed(t, ends, w, rates, strategy, xp), _annealed(
                t, ends, w, momenta, strategy, xp
            )

        return rate_and_momentum


@register
@dataclasses.dataclass(frozen=True)
class OneCycleMomentum(_Phased):
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
        base, top = momentum_pair(self.base_momentum, self.max_momentum)
        self._set("base_momentum", base)
        self._set("max_momentum", top)
        self._check_phases()
        self._set("_vals", self._values())  # not a field: derived, kept for the hot path

    def _values(self) -> tuple[float, ...]:
        hi, lo = self.max_momentum, self.base_momentum
        return (hi, lo, hi, hi) if self.three_phase else (hi, lo, hi)

    def bounds(self) -> tuple[float, float]:
        return (self.base_momentum, self.max_momentum)


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
        self._set("T_0", integer("T_0", self.T_0, low=1, high=MAX_STEPS))
        self._set("T_mult", integer("T_mult", self.T_mult, low=1, high=MAX_STEPS))
        low = real("eta_min", self.eta_min, low=0.0)
        if low > top:
            raise fail("eta_min", f"<= max_lr={top!r}", self.eta_min)
        self._set("eta_min", low)
        self._set("decay", real("decay", self.decay, low=0.0, high=1.0, low_open=True))

    def cycle(self, step: Any, xp: Any = SCALAR) -> tuple[Any, Any, Any]:
        r"""The cycle that ``step`` falls in: ``(i, T_cur, T_i)``, as floats.

        With ``m = T_mult``, cycle ``i`` starts at step ``S_i`` and lasts ``T_i``::

            S_i = i T_0                       (m = 1)
            S_i = T_0 (m**i - 1) / (m - 1)    (m > 1)
            i   = max{k : S_k <= step},  T_cur = step - S_i,  T_i = T_0 m**i

        :meth:`evaluate` reads its position from this method, so the rate at
        ``step`` is ``eta_min + (peak_i - eta_min) (1 + cos(pi T_cur / T_i)) / 2``.
        As in :meth:`evaluate`, ``step`` is not validated (a fractional step
        lies inside its cycle) and may be an array or tensor of namespace ``xp``,
        which then gives arrays. With ``T_mult = 1`` the position of an integer
        step is exact at any size; with ``T_mult > 1`` it is exact up to
        ``2**53`` steps and held beyond ``2**100``.

        Parameters
        ----------
        step : int, float or array
            The step, ``>= 0``.
        xp : namespace
            The math namespace of ``step`` (the stdlib one for a Python number).

        Returns
        -------
        tuple
            ``(i, T_cur, T_i)``: the 0-based cycle index, the steps done in
            that cycle and its length.

        Examples
        --------
        >>> s = CosineRestarts(1.0, T_0=2, T_mult=2)
        >>> [s.cycle(t) for t in (0, 1, 2, 5, 6)]
        [(0.0, 0.0, 2.0), (0.0, 1.0, 2.0), (1.0, 0.0, 4.0), (1.0, 3.0, 4.0), (2.0, 0.0, 8.0)]
        >>> s.cycle(2.5)
        (1.0, 0.5, 4.0)
        """
        t0 = self.T_0
        if self.T_mult == 1:  # the position from the step's own (integer) arithmetic
            t_cur = xp.mod(step, t0)
            return xp.true_divide(step - t_cur, t0), to_float(t_cur, xp), float(t0)
        # Geometric cycles: the index from a float logarithm, exact up to 2**53 steps and
        # to rounding relative to the (growing) cycle beyond; held past 2**100.
        t = xp.minimum(to_float(step, xp), _HUGE_STEP)
        m, t0f = float(self.T_mult), float(t0)
        i = xp.floor(xp.log(t * (m - 1.0) / t0f + 1.0) / math.log(m))
        # Guard the float log against landing one cycle off at a boundary.
        start = t0f * (xp.power(m, i) - 1.0) / (m - 1.0)
        i = xp.where(t < start, i - 1.0, i)
        nxt = t0f * (xp.power(m, i + 1.0) - 1.0) / (m - 1.0)
        i = xp.where(t >= nxt, i + 1.0, i)
        start = t0f * (xp.power(m, i) - 1.0) / (m - 1.0)
        return i, t - start, t0f * xp.power(m, i)

    def evaluate(self, step: Any, xp: Any = SCALAR) -> Any:
        i, t_cur, t_i = self.cycle(step, xp)
        if self.decay == 1.0:
            peak = self.max_lr
        else:
            peak = self.eta_min + (self.max_lr - self.eta_min) * xp.power(self.decay, i)
        # ((1 + cos) / 2) first: never above 1, so a rate near the float maximum cannot overflow
        return self.eta_min + (peak - self.eta_min) * ((1.0 + xp.cos(PI * t_cur / t_i)) / 2.0)

    def bounds(self) -> tuple[float, float]:
        return (self.eta_min, self.max_lr)
