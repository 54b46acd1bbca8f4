"""Cyclical learning rates (Smith, arXiv 1506.01186): triangular, triangular2, exp_range.

One formula serves every cyclic policy. With half-cycle lengths ``u`` (up)
and ``d`` (down), ``T = u + d`` and ``r = u / T``, at step ``t``::

    c = floor(1 + t / T)                      # cycle number, 1-based
    x = 1 + t / T - c                         # position in the cycle, [0, 1)
    f = x / r            if x <= r            # the triangle: 0 -> 1 -> 0
        (x - 1) / (r - 1) otherwise
    w = shape(f)                              # triangle, Welch or Hann profile
    s = scale(c) or scale(t)                  # amplitude scale, by cycle or iteration
    lr = base_lr + (max_lr - base_lr) * w * s

This is exactly PyTorch's ``CyclicLR`` (same operations in the same order),
generalised by the cycle shape.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ._base import Component, Schedule, _fail, choice, integer, real, register
from ._xp import PI, SCALAR

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
            raise _fail("shape", f"a Shape or one of {tuple(_SHAPES)}", value)
        return _SHAPES[value]
    if not isinstance(value, Shape):
        raise _fail("shape", f"a Shape or one of {tuple(_SHAPES)}", value, TypeError)
    return value


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

    Parameters
    ----------
    gamma : float
        Decay base in ``(0, 1]``.
    """

    gamma: float = 1.0

    def __post_init__(self) -> None:
        self._set("gamma", real("gamma", self.gamma, low=0.0, high=1.0, low_open=True))

    def factor(self, x: Any, xp: Any) -> Any:
        return xp.power(self.gamma, x)


# --------------------------------------------------------------------------- #
# The shared formula
# --------------------------------------------------------------------------- #


def _cycle(step: Any, up: int, down: int, shape: Shape, xp: Any) -> tuple[Any, Any]:
    """(shaped ramp w, cycle number c) at ``step``; PyTorch's operations and order."""
    total = float(up + down)
    ratio = up / total
    cycle = xp.floor(1.0 + step / total)
    x = 1.0 + step / total - cycle
    f = xp.where(x <= ratio, x / ratio, (x - 1.0) / (ratio - 1.0))
    return shape.profile(f, xp), cycle


def _scale_arg(mode: str, step: Any, cycle: Any) -> Any:
    return cycle if mode == "cycle" else step


def _half_cycles(up: Any, down: Any) -> tuple[int, int]:
    u = integer("step_size_up", up, low=1)
    d = u if down is None else integer("step_size_down", down, low=1)
    return u, d


@register
@dataclasses.dataclass(frozen=True)
class Cyclic(Schedule):
    r"""General cyclical learning rate: a cycle shape times an amplitude scale.

    .. math::

        c = \lfloor 1 + t/T \rfloor,\quad x = 1 + t/T - c,\quad
        f = \begin{cases} x / r & x \le r \\ (x-1)/(r-1) & x > r \end{cases}

        \eta_t = \eta_{base} + (\eta_{max} - \eta_{base})\, w(f)\, s(\cdot)

    with ``T = step_size_up + step_size_down``, ``r = step_size_up / T``,
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
        Steps from ``base_lr`` to the peak (half a cycle), ``>= 1``.
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
        base = real("base_lr", self.base_lr, low=0.0)
        top = real("max_lr", self.max_lr, low=0.0)
        if top < base:
            raise _fail("max_lr", f">= base_lr={base!r}", self.max_lr)
        self._set("base_lr", base)
        self._set("max_lr", top)
        up, down = _half_cycles(self.step_size_up, self.step_size_down)
        self._set("step_size_up", up)
        self._set("step_size_down", down)
        self._set("shape", _shape(self.shape))
        if not isinstance(self.scale, Scale):
            raise _fail("scale", "a clr_core.Scale", self.scale, TypeError)
        choice("scale_mode", self.scale_mode, ("cycle", "iterations"))
        choice("scale_target", self.scale_target, ("amplitude", "both"))

    def evaluate(self, step: Any, xp: Any = SCALAR) -> Any:
        w, cycle = _cycle(step, self.step_size_up, self.step_size_down, self.shape, xp)  # type: ignore[arg-type]
        s = self.scale.factor(_scale_arg(self.scale_mode, step, cycle), xp)
        if self.scale_target == "both":
            return (self.base_lr + (self.max_lr - self.base_lr) * w) * s
        return self.base_lr + (self.max_lr - self.base_lr) * w * s

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

    @property
    def cycle_length(self) -> int:
        """Steps in one full cycle, ``step_size_up + step_size_down``."""
        return self.step_size_up + self.step_size_down  # type: ignore[operator]


@register
@dataclasses.dataclass(frozen=True)
class CyclicMomentum(Schedule):
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
        base = real("base_momentum", self.base_momentum, low=0.0, high=1.0)
        top = real("max_momentum", self.max_momentum, low=0.0, high=1.0)
        if top < base:
            raise _fail("max_momentum", f">= base_momentum={base!r}", self.max_momentum)
        self._set("base_momentum", base)
        self._set("max_momentum", top)
        up, down = _half_cycles(self.step_size_up, self.step_size_down)
        self._set("step_size_up", up)
        self._set("step_size_down", down)
        self._set("shape", _shape(self.shape))
        if not isinstance(self.scale, Scale):
            raise _fail("scale", "a clr_core.Scale", self.scale, TypeError)
        choice("scale_mode", self.scale_mode, ("cycle", "iterations"))

    def evaluate(self, step: Any, xp: Any = SCALAR) -> Any:
        w, cycle = _cycle(step, self.step_size_up, self.step_size_down, self.shape, xp)  # type: ignore[arg-type]
        s = self.scale.factor(_scale_arg(self.scale_mode, step, cycle), xp)
        return self.max_momentum - (self.max_momentum - self.base_momentum) * w * s

    def bounds(self) -> tuple[float, float]:
        return (self.base_momentum, self.max_momentum)


class _NamedCyclic(Schedule):
    """Shared behaviour of the named policies: delegate to their :class:`Cyclic` form."""

    base_lr: float
    max_lr: float
    step_size_up: int
    step_size_down: int | None

    def _check_common(self) -> None:
        base = real("base_lr", self.base_lr, low=0.0)
        top = real("max_lr", self.max_lr, low=0.0)
        if top < base:
            raise _fail("max_lr", f">= base_lr={base!r}", self.max_lr)
        self._set("base_lr", base)
        self._set("max_lr", top)
        up, down = _half_cycles(self.step_size_up, self.step_size_down)
        self._set("step_size_up", up)
        self._set("step_size_down", down)
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

    @property
    def cycle_length(self) -> int:
        """Steps in one full cycle, ``step_size_up + step_size_down``."""
        return self.step_size_up + self.step_size_down  # type: ignore[operator]

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
    >>> [s(t) for t in range(4)]
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


def fused_evaluator(rate: Schedule, momentum: Schedule) -> Any:
    """One function giving ``(rate(t), momentum(t))`` when both share one cycle, else ``None``.

    A :class:`Cyclic` rate (or a named policy) and the :class:`CyclicMomentum`
    from its :meth:`~Cyclic.momentum` share the ramp ``w`` and the scale ``s``;
    the returned ``f(step, xp=SCALAR)`` computes them once and applies both
    formulas with the very operations of :meth:`Cyclic.evaluate` and
    :meth:`CyclicMomentum.evaluate`, so its values are bit-identical to calling
    the two schedules. Adapters use it on their hot path.
    """
    if isinstance(rate, _NamedCyclic):
        rate = rate._cyclic  # type: ignore[attr-defined]
    if not (
        type(rate) is Cyclic
        and type(momentum) is CyclicMomentum
        and rate.scale_target == "amplitude"
        and rate.step_size_up == momentum.step_size_up
        and rate.step_size_down == momentum.step_size_down
        and rate.shape == momentum.shape
        and rate.scale == momentum.scale
        and rate.scale_mode == momentum.scale_mode
    ):
        return None
    up, down = rate.step_size_up, rate.step_size_down
    shape, scale, mode = rate.shape, rate.scale, rate.scale_mode
    base, top = rate.base_lr, rate.max_lr
    m_base, m_top = momentum.base_momentum, momentum.max_momentum

    def both(step: Any, xp: Any = SCALAR) -> tuple[Any, Any]:
        w, cycle = _cycle(step, up, down, shape, xp)  # type: ignore[arg-type]
        s = scale.factor(_scale_arg(mode, step, cycle), xp)
        return base + (top - base) * w * s, m_top - (m_top - m_base) * w * s

    return both
