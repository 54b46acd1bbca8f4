"""Building blocks and composition: Constant, Linear (warm-up), Join, warmup.

(:class:`Inverse`, the default momentum, lives with :class:`Schedule` in ``_base``.)
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from ._base import Inverse, Schedule, check_nesting, register
from ._xp import SCALAR
from .validation import MAX_STEPS, fail, instance, integer, real

__all__ = ["Constant", "Linear", "Join", "Inverse", "warmup"]


@register
@dataclasses.dataclass(frozen=True)
class Constant(Schedule):
    """A fixed rate: ``eta_t = value``.

    Examples
    --------
    >>> Constant(0.1)(12345)
    0.1
    """

    value: float

    def __post_init__(self) -> None:
        self._set("value", real("value", self.value, low=0.0))

    def evaluate(self, step: Any, xp: Any = SCALAR) -> Any:
        return xp.where(step >= 0, self.value, self.value)  # shaped like step

    def bounds(self) -> tuple[float, float]:
        return (self.value, self.value)

    @property
    def duration(self) -> int:
        return 0


@register
@dataclasses.dataclass(frozen=True)
class Linear(Schedule):
    r"""A linear ramp from ``start`` to ``end`` over ``num_steps``, then held.

    .. math::

        \eta_t = \eta_{start} + (\eta_{end} - \eta_{start}) \min(t, n) / n

    Use it for warm-up (``Linear(0.0, peak, n)``) or a linear decay.

    Examples
    --------
    >>> s = Linear(0.0, 1.0, num_steps=4)
    >>> [s(t) for t in range(6)]
    [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    """

    start: float
    end: float
    num_steps: int

    def __post_init__(self) -> None:
        self._set("start", real("start", self.start, low=0.0))
        self._set("end", real("end", self.end, low=0.0))
        self._set("num_steps", integer("num_steps", self.num_steps, low=1, high=MAX_STEPS))
        self._set("_low", min(self.start, self.end))  # not fields: the bounds, for the hot path
        self._set("_high", max(self.start, self.end))

    def evaluate(self, step: Any, xp: Any = SCALAR) -> Any:
        n = self.num_steps
        v = self.start + (self.end - self.start) * xp.true_divide(xp.minimum(step, n), n)
        # rounding must not leave the bounds (Linear(1e308, 0.1, n)(n) would give 0.0)
        return xp.minimum(xp.maximum(v, self._low), self._high)  # type: ignore[attr-defined]

    def bounds(self) -> tuple[float, float]:
        return (self._low, self._high)  # type: ignore[attr-defined]

    @property
    def duration(self) -> int:
        return self.num_steps


@register
@dataclasses.dataclass(frozen=True)
class Join(Schedule):
    """Run ``schedules`` one after another, switching at absolute ``boundaries``.

    Piece ``i`` is active on ``[b_{i-1}, b_i)`` (``b_{-1} = 0``) and sees its
    *local* step ``t - b_{i-1}``, as in optax's ``join_schedules``, so each piece
    starts from its own step 0.

    Parameters
    ----------
    schedules : sequence of Schedule
        At least one.
    boundaries : sequence of int
        ``len(schedules) - 1`` strictly increasing steps ``>= 1``.

    Examples
    --------
    >>> s = Join([Linear(0.0, 1.0, 2), Constant(0.5)], boundaries=[2])
    >>> [s(t) for t in range(4)]
    [0.0, 0.5, 0.5, 0.5]
    """

    schedules: tuple[Schedule, ...]
    boundaries: tuple[int, ...]

    def __post_init__(self) -> None:
        if isinstance(self.schedules, (str, bytes)) or not hasattr(self.schedules, "__iter__"):
            raise fail("schedules", "a sequence of clr_core schedules", self.schedules, TypeError)
        pieces = tuple(self.schedules)
        if not pieces:
            raise fail("schedules", "non-empty", self.schedules)
        for i, p in enumerate(pieces):
            if not isinstance(p, Schedule):
                raise fail(f"schedules[{i}]", "a clr_core schedule", p, TypeError)
        self._set("_nest", check_nesting("schedules", pieces))
        if isinstance(self.boundaries, (str, bytes)) or not hasattr(self.boundaries, "__iter__"):
            raise fail("boundaries", "a sequence of ints", self.boundaries, TypeError)
        bounds = tuple(
            integer(f"boundaries[{i}]", b, low=1, high=MAX_STEPS)
            for i, b in enumerate(self.boundaries)
        )
        if len(bounds) != len(pieces) - 1:
            raise fail(
                "boundaries", f"of length len(schedules) - 1 = {len(pieces) - 1}", self.boundaries
            )
        if any(b >= c for b, c in itertools.pairwise(bounds)):
            raise fail("boundaries", "strictly increasing", self.boundaries)
        self._set("schedules", pieces)
        self._set("boundaries", bounds)

    def evaluate(self, step: Any, xp: Any = SCALAR) -> Any:
        out = self.schedules[0].evaluate(step, xp)
        for b, piece in zip(self.boundaries, self.schedules[1:], strict=True):
            local = xp.maximum(step - b, 0)  # the piece's own step, in the step's arithmetic
            out = xp.where(step >= b, piece.evaluate(local, xp), out)
        return out

    def bounds(self) -> tuple[float, float]:
        pairs = [p.bounds() for p in self.schedules]
        return (min(lo for lo, _ in pairs), max(hi for _, hi in pairs))

    @property
    def duration(self) -> int | None:
        last = self.schedules[-1].duration
        if last is None:
            return None
        return (self.boundaries[-1] if self.boundaries else 0) + last


def warmup(schedule: Schedule, steps: int, start_lr: float = 0.0) -> Join:
    """Prepend a linear warm-up from ``start_lr`` to ``schedule(0)`` over ``steps``.

    Examples
    --------
    >>> s = warmup(Constant(0.1), steps=2)
    >>> [s(t) for t in range(4)]
    [0.0, 0.05, 0.1, 0.1]
    """
    instance("schedule", schedule, Schedule, "a clr_core schedule")
    n = integer("steps", steps, low=1, high=MAX_STEPS)
    start = real("start_lr", start_lr, low=0.0)
    return Join((Linear(start, schedule(0), n), schedule), (n,))
