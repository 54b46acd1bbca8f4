"""The smoothers and the derivative the reading of a range test is built from.

Every function here takes plain lists of floats and returns a new list of the
same length; windows are truncated at the ends. Costs: :func:`running_median` is
``O(n w log w)`` for a window of ``w`` points (the analysis keeps ``w`` small, or
bins the points first: see :func:`bin_points`); the rest is ``O(n)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["median", "running_median", "box", "smooth", "derivative", "bin_points"]


def median(values: Sequence[float]) -> float:
    """The median (the mean of the middle two for an even count; ``nan`` when empty)."""
    s = sorted(values)
    n = len(s)
    if n == 0:
        return math.nan
    m = n // 2
    return s[m] if n % 2 else 0.5 * (s[m - 1] + s[m])


def running_median(x: Sequence[float], k: int) -> list[float]:
    """Running median over ``[i-k, i+k]``, the window truncated at the ends."""
    n = len(x)
    return [median(x[max(0, i - k) : min(n, i + k + 1)]) for i in range(n)]


def box(x: Sequence[float], h: int) -> list[float]:
    """Running mean over ``[i-h, i+h]`` truncated at the ends (prefix sums, ``O(n)``)."""
    n = len(x)
    prefix = [0.0]
    acc = 0.0
    for v in x:
        acc += v
        prefix.append(acc)
    out = []
    for i in range(n):
        lo, hi = max(0, i - h), min(n, i + h + 1)
        out.append((prefix[hi] - prefix[lo]) / (hi - lo))
    return out


def smooth(values: Sequence[float], half_width: int) -> list[float]:
    """The analysis smoother: a 5-point running median, then two running means of ``2h+1``.

    The median removes isolated spikes; the two box passes make a triangular
    kernel (standard deviation about ``0.8 h`` points). The kernel is centred,
    so the curve is not shifted toward higher rates the way a causal EMA is
    (an EMA with ``beta`` lags by about ``beta / (1 - beta)`` points: 49 for
    0.98, a large part of a 100-point sweep). Windows are truncated at the ends.

    >>> smooth([1.0, 1.0, 9.0, 1.0, 1.0], 1)
    [1.0, 1.0, 1.0, 1.0, 1.0]
    """
    h = max(0, int(half_width))
    med = running_median(values, 2)
    return box(box(med, h), h) if h else med


def derivative(x: Sequence[float], s: Sequence[float], w: int) -> list[float]:
    """``dS/dx`` by central differences over ``[i-w, i+w]`` (truncated at the ends)."""
    n = len(s)
    out = []
    for i in range(n):
        lo, hi = max(0, i - w), min(n - 1, i + w)
        dx = x[hi] - x[lo]
        out.append((s[hi] - s[lo]) / dx if dx > 0 else 0.0)
    return out


def bin_points(
    x: Sequence[float], ys: Sequence[Sequence[float]], bins: int
) -> tuple[list[float], list[list[float]], list[int]]:
    """Group consecutive points into at most ``bins`` bins of equal count.

    Returns the mean ``x`` of each bin, the median of each curve in ``ys`` per
    bin, and the bin of every point. On a sweep (``x = ln lr`` increasing) the bins
    are intervals of the log-LR axis; for an exponential sweep, equal widths.
    ``O(n log(n / bins))``.

    >>> bin_points([0.0, 1.0, 2.0, 3.0], [[4.0, 2.0, 1.0, 3.0]], 2)
    ([0.5, 2.5], [[3.0, 2.0]], [0, 0, 1, 1])
    """
    n = len(x)
    size = max(1, -(-n // max(1, bins)))
    starts = range(0, n, size)
    xb = [sum(x[a : a + size]) / len(x[a : a + size]) for a in starts]
    yb = [[median(y[a : a + size]) for a in starts] for y in ys]
    return xb, yb, [i // size for i in range(n)]
