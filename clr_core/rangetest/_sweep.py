"""The learning-rate sweeps of a range test, as ordinary clr_core schedules."""

from __future__ import annotations

import dataclasses
import math
import sys
from typing import Any

from .._base import Schedule, register
from .._xp import SCALAR
from ..validation import MAX_STEPS, fail, integer, real

__all__ = [
    "ExponentialSweep",
    "LinearSweep",
    "DEFAULT_START_LR",
    "DEFAULT_END_LR",
    "DEFAULT_NUM_STEPS",
]

#: The default sweep of every adapter's range test: 1e-5 -> 10 (six decades: the useful
#: rates of SGD and of Adam alike) in 200 optimizer steps. On the benchmark suite
#: (docs/benchmarks.md, "The reading") 200 steps read the edge 1.3-1.6x steady across
#: seeds where 100 steps spread 1.2-2.7x; the stop rule usually ends it at 180-200.
DEFAULT_START_LR = 1e-5
DEFAULT_END_LR = 10.0
DEFAULT_NUM_STEPS = 200


def _check(sweep: _Sweep, low: float, low_open: bool) -> None:
    start = real("start_lr", sweep.start_lr, low=low, low_open=low_open)
    end = real("end_lr", sweep.end_lr, low=0.0)
    if end <= start:
        raise fail("end_lr", f"> start_lr={start!r}", sweep.end_lr)
    sweep._set("start_lr", start)
    sweep._set("end_lr", end)
    sweep._set("num_steps", integer("num_steps", sweep.num_steps, low=2, high=MAX_STEPS))


class _Sweep(Schedule):
    """What both sweeps share: their bounds and their length."""

    start_lr: float
    end_lr: float
    num_steps: int

    def bounds(self) -> tuple[float, float]:
        return (self.start_lr, self.end_lr)

    @property
    def duration(self) -> int:
        return self.num_steps - 1


@register
@dataclasses.dataclass(frozen=True)
class ExponentialSweep(_Sweep):
    r"""An exponential (log-uniform) range-test sweep, as most LR finders use.

    .. math::

        \eta_i = \eta_{start} \left(\frac{\eta_{end}}{\eta_{start}}\right)^{\min(i, n-1)/(n-1)}

    so ``sweep(0) == start_lr`` and ``sweep(num_steps - 1) == end_lr`` exactly;
    the rate is held at ``end_lr`` after that. Consecutive rates differ by the
    constant factor ``(end_lr / start_lr) ** (1 / (n - 1))``: the points are
    evenly spaced on the log-LR axis.

    Parameters
    ----------
    start_lr : float
        First rate, ``> 0``.
    end_lr : float
        Last rate, ``> start_lr``.
    num_steps : int
        Points in the sweep, ``>= 2`` (100-300 is usual).

    Examples
    --------
    >>> s = ExponentialSweep(1e-3, 1.0, num_steps=4)
    >>> [round(s(i), 6) for i in range(5)]
    [0.001, 0.01, 0.1, 1.0, 1.0]
    """

    start_lr: float
    end_lr: float
    num_steps: int = 100

    def __post_init__(self) -> None:
        _check(self, 0.0, True)
        if not math.isfinite(self.end_lr / self.start_lr):
            raise fail(
                "end_lr", f"at most {sys.float_info.max:.4g} x start_lr={self.start_lr!r} "
                "(the sweep's ratio must be a finite float)", self.end_lr,
            )  # fmt: skip

    def evaluate(self, step: Any, xp: Any = SCALAR) -> Any:
        last = self.num_steps - 1
        frac = xp.true_divide(xp.minimum(step, last), last)
        value = self.start_lr * xp.power(self.end_lr / self.start_lr, frac)
        return xp.where(step >= last, self.end_lr + 0.0 * frac, value)


@register
@dataclasses.dataclass(frozen=True)
class LinearSweep(_Sweep):
    r"""A linear range-test sweep, as in the CLR paper (section 3.3).

    .. math::

        \eta_i = \eta_{start} + (\eta_{end} - \eta_{start}) \frac{\min(i, n-1)}{n-1}

    ``sweep(0) == start_lr``, ``sweep(num_steps - 1) == end_lr``, held after.
    ``start_lr`` may be 0 (the analysis then skips that point, which has no
    place on the log-LR axis).

    Examples
    --------
    >>> s = LinearSweep(0.0, 0.02, num_steps=5)
    >>> [s(i) for i in range(6)]
    [0.0, 0.005, 0.01, 0.015, 0.02, 0.02]
    """

    start_lr: float
    end_lr: float
    num_steps: int = 100

    def __post_init__(self) -> None:
        _check(self, 0.0, False)

    def evaluate(self, step: Any, xp: Any = SCALAR) -> Any:
        last = self.num_steps - 1
        frac = xp.true_divide(xp.minimum(step, last), last)
        value = self.start_lr + (self.end_lr - self.start_lr) * frac
        return xp.where(step >= last, self.end_lr + 0.0 * frac, value)
