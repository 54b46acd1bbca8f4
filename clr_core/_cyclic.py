"""Cyclical learning rates (Smith, arXiv 1506.01186): triangular, triangular2, exp_range.

One formula serves every cyclic policy. With half-cycle lengths ``u`` (up)
and ``d`` (down) and ``T = u + d``, at step ``t``::

    p = t mod T                               # position in the cycle, [0, T)
    c = (t - p) / T + 1                       # cycle number, 1-based
    f = p / u            if p <= u            # the triangle: 0 -> 1 -> 0
        (T - p) / d      otherwise
    w = shape(f)                              # triangle, Welch or Hann profile
    s = scale(c) or scale(t)                  # amplitude scale, by cycle or iteration
    lr = base_lr + (max_lr - base_lr) * w * s
    m  = max_m + (base_m - max_m) * w * s     # the inverse momentum

:func:`ramp_and_scale` computes ``(w, s)`` and :func:`toward` the last two
lines; every cyclic rate, its momentum and the fused pair use these two and
nothing else. This is PyTorch's ``CyclicLR`` generalised by the cycle shape,
with one difference: PyTorch computes the position as ``1 + t / T - c`` in
floating point, clr_core as ``t mod T`` in the step's own (integer)
arithmetic, exact at any step. The two agree to a relative 1e-12 over the
ranges the tests cover.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from ._base import Component, Schedule, register
from ._xp import PI, SCALAR, to_float
from .validation import MAX_STEPS, choice, fail, instance, integer, interval, real

__all__ = [
    "Shape",
    "Triangle",
    "Welch",
    "Hann",
    "Scale",
    "ConstantScale",
    "HalvingScale",
    "ExpScale",
    "Cyclic",
    "CyclicMomentum",
    "Triangular",
    "Triangular2",
    "ExpRange",
    "ramp_and_scale",
    "toward",
]


# --------------------------------------------------------------------------- #
# Cycle shapes: maps of the triangle ramp f in [0, 1] onto [0, 1], f(0)=0, f(1)=1
# --------------------------------------------------------------------------- #


@dataclasses.dataclass(frozen=True)
class Shape(Component):
    """Profile of a cycle: a monotone map ``w = shape(f)`` of the triangle ramp.

    ``f`` rises linearly from 0 to 1 over the up half-cycle and falls back to 0
    over the down half-cycle; a shape must map 0 to 0 and 1 to 1 and stay in
    ``[0, 1]``. ``max_slope`` bounds ``|dw/df|`` (used by the step-to-step
    change guarantee). Subclass, decorate with :func:`clr_core.register`, and
    implement :meth:`profile` against ``xp`` to add your own.
    """

    max_slope = 1.0

    def profile(self, f: Any, xp: Any) -> Any:
        raise NotImplementedError


@register
@dataclasses.dataclass(frozen=True)
class Triangle(Shape):
    """The paper's linear window: ``w = f``."""

    def profile(self, f: Any, xp: Any) -> Any:
        return f


@register
@dataclasses.dataclass(frozen=True)
class Welch(Shape):
    """Parabolic (Welch) window: ``w = f (2 - f)``; flat at the peak."""

    max_slope = 2.0

    def profile(self, f: Any, xp: Any) -> Any:
        return f * (2.0 - f)


@register
@dataclasses.dataclass(frozen=True)
class Hann(Shape):
    """Sinusoidal (Hann) window: ``w = (1 - cos(pi f)) / 2``."""

    max_slope = PI / 2.0

    def profile(self, f: Any, xp: Any) -> Any:
        return (1.0 - xp.cos(PI * f)) / 2.0


_SHAPES: dict[str, Shape] = {"triangle": Triangle(), "welch": Welch(), "hann": Hann()}


def _shape(value: Any) -> Shape:
    if isinstance(value, str):
        if value not in _SHAPES:
            raise fail("shape", f"a Shape or one of {tuple(_SHAPES)}", value)
        return _SHAPES[value]
    return instance("shape", value, Shape, f"a Shape or one of {tuple(_SHAPES)}")


# --------------------------------------------------------------------------- #
# Amplitude scales
# --------------------------------------------------------------------------- #


@dataclasses.dataclass(frozen=True)
class Scale(Component):
    """Amplitude scale ``s(x)`` applied to each cycle, ``x`` being the cycle number
    (1-based, ``scale_mode="cycle"``) or the step (``scale_mode="iterations"``).

    A scale must stay in ``[0, 1]`` for ``x >= 0``. Subclass, decorate with
    :func:`clr_core.register`, and implement :meth:`factor` against ``xp``.
    Being a registered value, your scale survives ``to_config`` and pickle,
    unlike PyTorch's ``scale_fn`` callables.
    """

    def factor(self, x: Any, xp: Any) -> Any:
        raise NotImplementedError


@register
@dataclasses.dataclass(frozen=True)
class ConstantScale(Scale):
    """``s(x) = 1``: every cycle has the full amplitude (triangular)."""

    def factor(self, x: Any, xp: Any) -> Any:
        return 1.0


@register
@dataclasses.dataclass(frozen=True)
class HalvingScale(Scale):
    """``s(x) = 0.5 ** (x - 1)``: the amplitude halves every cycle (triangular2)."""

    def factor(self, x: Any, xp: Any) -> Any:
        return xp.power(0.5, x - 1.0)


@register
@dataclasses.dataclass(frozen=True)
class ExpScale(Scale):
    """``s(x) = gamma ** x`` (exp_range, applied per iteration).

    Evaluated as ``exp(x ln(gamma))`` with ``ln(gamma)`` taken in double
    precision, so a float32 evaluation never rounds ``gamma`` itself (a
    rounding that ``x`` would multiply: 0.17 relative at ``x = 1e7`` for
    ``gamma = 0.9999999``).

    Parameters
    ----------
    gamma : float
        Decay base in ``(0, 1]``.
    """

    gamma: float = 1.0

    def __post_init__(self) -> None:
        self._set("gamma", real("gamma", self.gamma, low=0.0, high=1.0, low_open=True))

    def factor(self, x: Any, xp: Any) -> Any:
        if self.gamma == 1.0:
            return 1.0
        return xp.exp(x * math.log(self.gamma))


# --------------------------------------------------------------------------- #
# The shared formula
# --------------------------------------------------------------------------- #


def ramp_and_scale(
    step: Any, up: int, down: int, shape: Shape, scale: Scale, scale_mode: str, xp: Any
) -> tuple[Any, Any]:
    """``(w, s)`` at ``step``: the shaped ramp in ``[0, 1]`` and the amplitude scale.

    The position ``p = step mod T`` comes from the step's own arithmetic (exact
    for integers), and only ``p / u``, ``(T - p) / d`` and the cycle number
    turn to floats.
    """
    total = up + down
    p = xp.mod(step, total)
    f = xp.where(p <= up, xp.true_divide(p, up), xp.true_divide(total - p, down))
    w = shape.profile(f, xp)
    if type(scale) is ConstantScale:  # s = 1 at every cycle: nothing to compute
        return w, 1.0
    x = xp.true_divide(step - p, total) + 1.0 if scale_mode == "cycle" else to_float(step, xp)
    return w, scale.factor(x, xp)


def toward(start: Any, end: Any, w: Any, s: Any) -> Any:
    """``start + (end - start) w s``: the rate (``base_lr -> max_lr``) or its inverse
    momentum (``max_momentum -> base_momentum``) at ramp ``w`` and scale ``s``."""
    return start + (end - start) * w * s


class _Cycle(Schedule):
    """What every cyclic schedule shares: two bounds and the half-cycle lengths."""

    step_size_up: int
    step_size_down: int | None

    def _check_cycle(self, low: str, high: str, ceiling: float | None = None) -> None:
        """Validate and normalise the bounds ``low <= high`` and the half cycles."""
        lo, hi = interval(low, getattr(self, low), high, getattr(self, high), ceiling=ceiling)
        self._set(low, lo)
        self._set(high, hi)
        up = integer("step_size_up", self.step_size_up, low=1, high=MAX_STEPS)
        down = self.step_size_down
        down = up if down is None else integer("step_size_down", down, low=1, high=MAX_STEPS)
        self._set("step_size_up", up)
        self._set("step_size_down", down)

    @property
    def cycle_length(self) -> int:
        """Steps in one full cycle, ``step_size_up + step_size_down``."""
        return self.step_size_up + self.step_size_down  # type: ignore[operator]


class _ShapedCycle(_Cycle):
    """A cycle with its own shape and amplitude scale: :class:`Cyclic` and its momentum."""

    shape: Shape
    scale: Scale
    scale_mode: str

    def _check_profile(self) -> None:
        self._set("shape", _shape(self.shape))
        instance("scale", self.scale, Scale, "a clr_core.Scale")
        choice("scale_mode", self.scale_mode, ("cycle", "iterations"))

    def _cycle_args(self) -> tuple[int, int, Shape, Scale, str]:
        """The arguments of :func:`ramp_and_scale` after the step."""
        down: int = self.step_size_down  # type: ignore[assignment]
        return self.step_size_up, down, self.shape, self.scale, self.scale_mode

    def _ramp_and_scale(self, step: Any, xp: Any) -> tuple[Any, Any]:
        return ramp_and_scale(
            step, self.step_size_up, self.step_size_down, self.shape, self.scale,  # type: ignore[arg-type]
            self.scale_mode, xp,
        )  # fmt: skip

    def _same_cycle(self, other: _ShapedCycle) -> bool:
        return self._same(other, "step_size_up", "step_size_down", "shape", "scale", "scale_mode")


@register
@dataclasses.dataclass(frozen=True)
class Cyclic(_ShapedCycle):
    r"""General cyclical learning rate: a cycle shape times an amplitude scale.

    .. math::

        p = t \bmod T,\quad c = (t - p)/T + 1,\quad
        f = \begin{cases} p / u & p \le u \\ (T - p)/d & p > u \end{cases}

        \eta_t = \eta_{base} + (\eta_{max} - \eta_{base})\, w(f)\, s(\cdot)

    with ``u = step_size_up``, ``d = step_size_down``, ``T = u + d``,
    ``w`` the :class:`Shape` and ``s`` the :class:`Scale`, evaluated at the cycle
    number ``c`` (``scale_mode="cycle"``) or at the step ``t``
    (``scale_mode="iterations"``). With ``scale_target="both"`` the scale
    multiplies the whole rate, so both bounds decline (the exp_range reading
    of the paper's text): ``eta_t = s (eta_base + (eta_max - eta_base) w)``.

    Parameters
    ----------
    base_lr, max_lr : float
        Lower and upper bound of the cycle, ``0 <= base_lr <= max_lr``.
    step_size_up : int
        Steps from ``base_lr`` to the peak (half a cycle), ``1 .. 2**53``.
    step_size_down : int, optional
        Steps back down; ``None`` means ``step_size_up`` (symmetric cycle).
    shape : Shape or {"triangle", "welch", "hann"}
        Cycle profile; default the paper's triangle.
    scale : Scale
        Amplitude scale; default :class:`ConstantScale`.
    scale_mode : {"cycle", "iterations"}
        What the scale is evaluated at.
    scale_target : {"amplitude", "both"}
        Scale the amplitude only (PyTorch, Keras ports) or the whole rate.

    Examples
    --------
    >>> s = Cyclic(0.1, 1.0, step_size_up=2, shape="welch")
    >>> [round(s(t), 4) for t in range(5)]
    [0.1, 0.775, 1.0, 0.775, 0.1]
    """

    base_lr: float
    max_lr: float
    step_size_up: int = 2000
    step_size_down: int | None = None
    shape: Shape = dataclasses.field(default_factory=Triangle)
    scale: Scale = dataclasses.field(default_factory=ConstantScale)
    scale_mode: str = "cycle"
    scale_target: str = "amplitude"

    def __post_init__(self) -> None:
        self._check_cycle("base_lr", "max_lr")
        self._check_profile()
        choice("scale_target", self.scale_target, ("amplitude", "both"))

    def evaluate(self, step: Any, xp: Any = SCALAR) -> Any:
        w, s = self._ramp_and_scale(step, xp)
        if self.scale_target == "both":
            return toward(self.base_lr, self.max_lr, w, 1.0) * s
        return toward(self.base_lr, self.max_lr, w, s)

    def bounds(self) -> tuple[float, float]:
        return (0.0 if self.scale_target == "both" else self.base_lr, self.max_lr)

    def momentum(self, base_momentum: float = 0.8, max_momentum: float = 0.9) -> Schedule:
        """The inverse momentum cycle, as PyTorch's ``CyclicLR(cycle_momentum=True)`` sets it.

        ``m_t = max_momentum - (max_momentum - base_momentum) w(f) s(.)``

        With ``scale_target="both"`` the whole rate decays, so the momentum is
        the rate's mirror image instead (:class:`~clr_core.Inverse`): it still
        moves opposite to the rate at every step.
        """
        if self.scale_target == "both":
            return Schedule.momentum(self, base_momentum, max_momentum)
        return CyclicMomentum(
            base_momentum,
            max_momentum,
            self.step_size_up,
            self.step_size_down,
            self.shape,
            self.scale,
            self.scale_mode,
        )

    def _fuse(self, momentum: Schedule) -> Callable[..., tuple[Any, Any]] | None:
        if not (
            type(momentum) is CyclicMomentum
            and self.scale_target == "amplitude"
            and self._same_cycle(momentum)
        ):
            return None
        up, down, shape, scale, mode = self._cycle_args()
        base, top = self.base_lr, self.max_lr
        m_top, m_base = momentum.max_momentum, momentum.base_momentum

        def rate_and_momentum(step: Any, xp: Any = SCALAR) -> tuple[Any, Any]:
            w, s = ramp_and_scale(step, up, down, shape, scale, mode, xp)
            return toward(base, top, w, s), toward(m_top, m_base, w, s)

        return rate_and_momentum


@register
@dataclasses.dataclass(frozen=True)
class CyclicMomentum(_ShapedCycle):
    r"""Momentum that cycles inversely to a :class:`Cyclic` rate.

    .. math::

        m_t = m_{max} - (m_{max} - m_{base})\, w(f)\, s(\cdot)

    with ``w``, ``f`` and ``s`` as in :class:`Cyclic`. Made by
    :meth:`Cyclic.momentum`; equal to what PyTorch's ``CyclicLR`` writes into
    ``momentum`` (SGD) or ``betas[0]`` (Adam).

    Examples
    --------
    >>> m = Triangular(0.1, 1.0, 2).momentum(0.8, 0.9)
    >>> [round(m(t), 4) for t in range(5)]
    [0.9, 0.85, 0.8, 0.85, 0.9]
    """

    base_momentum: float
    max_momentum: float
    step_size_up: int = 2000
    step_size_down: int | None = None
    shape: Shape = dataclasses.field(default_factory=Triangle)
    scale: Scale = dataclasses.field(default_factory=ConstantScale)
    scale_mode: str = "cycle"

    def __post_init__(self) -> None:
        self._check_cycle("base_momentum", "max_momentum", ceiling=1.0)
        self._check_profile()

    def evaluate(self, step: Any, xp: Any = SCALAR) -> Any:
        w, s = self._ramp_and_scale(step, xp)
        return toward(self.max_momentum, self.base_momentum, w, s)

    def bounds(self) -> tuple[float, float]:
        return (self.base_momentum, self.max_momentum)


class _NamedCyclic(_Cycle):
    """Shared behaviour of the named policies: delegate to their :class:`Cyclic` form."""

    base_lr: float
    max_lr: float

    def _check_common(self) -> None:
        self._check_cycle("base_lr", "max_lr")
        # The equivalent general form, built once; not a field (not in eq, config or repr).
        self._set("_cyclic", self.to_cyclic())

    def to_cyclic(self) -> Cyclic:
        """The equivalent general :class:`Cyclic` schedule."""
        raise NotImplementedError

    def evaluate(self, step: Any, xp: Any = SCALAR) -> Any:
        return self._cyclic.evaluate(step, xp)  # type: ignore[attr-defined]

    def bounds(self) -> tuple[float, float]:
        return self._cyclic.bounds()  # type: ignore[attr-defined, no-any-return]

    def momentum(self, base_momentum: float = 0.8, max_momentum: float = 0.9) -> Schedule:
        """The inverse momentum cycle (PyTorch's defaults 0.8, 0.9); see :meth:`Cyclic.momentum`."""
        return self._cyclic.momentum(base_momentum, max_momentum)  # type: ignore[attr-defined, no-any-return]

    def _fuse(self, momentum: Schedule) -> Callable[..., tuple[Any, Any]] | None:
        return self._cyclic._fuse(momentum)  # type: ignore[attr-defined, no-any-return]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_cyclic", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._set("_cyclic", self.to_cyclic())


@register
@dataclasses.dataclass(frozen=True)
class Triangular(_NamedCyclic):
    r"""The paper's ``triangular`` policy: a linear cycle of constant amplitude.

    .. math::

        \eta_t = \eta_{base} + (\eta_{max} - \eta_{base})\, f(t)

    with the triangle ramp ``f`` of :class:`Cyclic`. Identical, step for step,
    to ``torch.optim.lr_scheduler.CyclicLR(mode="triangular")`` with the same
    arguments (asymmetric cycles included).

    Parameters
    ----------
    base_lr, max_lr : float
        Cycle bounds, ``0 <= base_lr <= max_lr``.
    step_size_up : int
        Steps in the rising half cycle (the paper advises 2-10 epochs).
    step_size_down : int, optional
        Steps in the falling half cycle; default ``step_size_up``.

    Examples
    --------
    >>> s = Triangular(0.001, 0.006, step_size_up=2)
    >>> [round(s(t), 6) for t in range(5)]
    [0.001, 0.0035, 0.006, 0.0035, 0.001]
    """

    base_lr: float
    max_lr: float
    step_size_up: int = 2000
    step_size_down: int | None = None

    def __post_init__(self) -> None:
        self._check_common()

    def to_cyclic(self) -> Cyclic:
        return Cyclic(self.base_lr, self.max_lr, self.step_size_up, self.step_size_down)


@register
@dataclasses.dataclass(frozen=True)
class Triangular2(_NamedCyclic):
    r"""The paper's ``triangular2`` policy: the amplitude halves every cycle.

    .. math::

        \eta_t = \eta_{base} + (\eta_{max} - \eta_{base})\, f(t)\, 2^{-(c-1)}

    with ``c`` the 1-based cycle number. Identical to
    ``CyclicLR(mode="triangular2")``.

    Examples
    --------
    >>> s = Triangular2(0.0, 1.0, step_size_up=1)
    >>> [s(t) for t in range(6)]
    [0.0, 1.0, 0.0, 0.5, 0.0, 0.25]
    """

    base_lr: float
    max_lr: float
    step_size_up: int = 2000
    step_size_down: int | None = None

    def __post_init__(self) -> None:
        self._check_common()

    def to_cyclic(self) -> Cyclic:
        return Cyclic(
            self.base_lr, self.max_lr, self.step_size_up, self.step_size_down, scale=HalvingScale()
        )


@register
@dataclasses.dataclass(frozen=True)
class ExpRange(_NamedCyclic):
    r"""The paper's ``exp_range`` policy: the amplitude decays as ``gamma ** t``.

    .. math::

        \eta_t = \eta_{base} + (\eta_{max} - \eta_{base})\, f(t)\, \gamma^{t}

    (``decay="amplitude"``, the default: PyTorch's ``CyclicLR(mode="exp_range")``
    and the Keras ports). The paper's text says both boundaries decline by
    ``gamma ** t``; ``decay="both"`` gives that reading:
    ``eta_t = gamma^t (eta_base + (eta_max - eta_base) f(t))``.

    Parameters
    ----------
    base_lr, max_lr, step_size_up, step_size_down
        As in :class:`Triangular`.
    gamma : float
        Per-step decay in ``(0, 1]``, e.g. ``0.99994``.
    decay : {"amplitude", "both"}
        What ``gamma ** t`` multiplies.

    Examples
    --------
    >>> s = ExpRange(0.0, 1.0, step_size_up=1, gamma=0.5)
    >>> [round(s(t), 12) for t in range(4)]
    [0.0, 0.5, 0.0, 0.125]
    """

    base_lr: float
    max_lr: float
    step_size_up: int = 2000
    step_size_down: int | None = None
    gamma: float = 1.0
    decay: str = "amplitude"

    def __post_init__(self) -> None:
        self._set("gamma", real("gamma", self.gamma, low=0.0, high=1.0, low_open=True))
        choice("decay", self.decay, ("amplitude", "both"))
        self._check_common()

    def to_cyclic(self) -> Cyclic:
        return Cyclic(
            self.base_lr,
            self.max_lr,
            self.step_size_up,
            self.step_size_down,
            scale=ExpScale(self.gamma),
            scale_mode="iterations",
            scale_target="amplitude" if self.decay == "amplitude" else "both",
        )
