"""The landmarks of one range-test curve: where it starts to fall, falls fastest, bottoms
out and blows up, and how noisy it is.

A curve here is to be *minimised* (a loss; a metric to maximise is negated by the
caller) and indexed by the sweep step, with ``x = ln(lr)`` its position on the
log-LR axis. :func:`read_curve` returns a frozen :class:`Landmarks`; every
threshold is a fraction of the curve's fall (its *span*), so a shifted or scaled
curve has the same landmarks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ._smoothing import box, derivative, median, running_median, smooth

__all__ = ["Landmarks", "read_curve", "ragged_index", "SMOOTH", "EDGE"]

#: Half-width of each box pass of the smoother, as a fraction of the points.
SMOOTH = 0.05
_FINE = 0.02  # half-width of the running median that locates the minimum and blow-up
_CAPK = 2.0  # the tail is capped this many spans above the start before smoothing
_DIVERGED_RISE = 0.3  # rise above the minimum, in spans, that counts as blow-up
_TOP_REMAINING = 0.1  # the last point with this fraction of the fall still ahead
_HALF = 0.5  # the valley's centre: between the half-fall and half-rise points
#: The edge: this far across the valley, from the half-fall to the half-rise point.
EDGE = 0.75
_RAGGED = 5.0  # metric: local scatter this many times its scatter on the rise -> ragged
_RAGGED_MIN = 0.05  # ... and at least this fraction of the metric's span


@dataclasses.dataclass(frozen=True)
class Landmarks:
    """Indices (into the curve) and levels of one curve's landmarks.

    ``s`` is the smoothed curve, ``fine`` the lightly smoothed running median that
    locates sharp features, ``d`` the derivative ``dS/dx`` against ``x = ln lr``.
    ``i_min`` is the bottom of the valley (the blow-up point), ``i_low`` the
    minimum of ``s``, ``i_steep`` the steepest descent before them, ``i_div`` the
    first point risen ``0.3`` spans above the minimum (``None``: never),
    ``x_onset`` the knee (on the log-LR axis), ``i_top`` the last point with a
    tenth of the fall still ahead, ``x_center`` the middle of the valley on the
    log-LR axis and ``x_edge`` three quarters of the way across it, toward the
    blow-up (both ``None`` when the curve never rose back halfway).
    ``span = s_start - s_min`` is the fall and ``noise`` the robust standard
    deviation of the curve about ``s``.
    """

    n: int
    x: list[float]
    y: list[float]
    s: list[float]
    fine: list[float]
    d: list[float]
    i_min: int
    i_low: int
    i_steep: int
    i_div: int | None
    i_top: int
    x_onset: float
    x_center: float | None
    x_edge: float | None
    s_min: float
    s_start: float
    span: float
    noise: float


def _cap_tail(y: Sequence[float]) -> list[float]:
    """Cap the blown-up tail ``_CAPK`` falls above the start, so it cannot smear into the
    valley when smoothed."""
    m = max(3, len(y) // 20)
    start_ref = median(y[:m])
    drop = start_ref - min(running_median(y, 2))
    if drop <= 0:
        return list(y)
    cap = start_ref + _CAPK * drop
    return [min(v, cap) for v in y]


def _valley(s: Sequence[float], fine: Sequence[float]) -> int:
    """The bottom of the valley: from the minimum of ``s`` walk on down ``fine`` while it
    falls (a mean drags the tip of a sharp V toward lower rates; a median does not),
    then take the middle of the flat bottom the running median leaves."""
    n = len(s)
    i_min = min(range(n), key=s.__getitem__)
    while i_min + 1 < n and fine[i_min + 1] <= fine[i_min]:
        i_min += 1
    a = i_min
    while a > 0 and fine[a - 1] <= fine[i_min]:
        a -= 1
    return (a + i_min) // 2


def _blow_up(fine: Sequence[float], i_min: int, span: float) -> int | None:
    """First point past the valley risen ``_DIVERGED_RISE`` spans above the minimum."""
    if span <= 0:
        return None
    f_min = min(fine)
    for i in range(i_min + 1, len(fine)):
        if fine[i] - f_min >= _DIVERGED_RISE * span:
            return i
    return None


def _noise(y: Sequence[float], s: Sequence[float], end: int) -> float:
    """Robust standard deviation (1.4826 MAD) of ``y - s`` before ``end``."""
    resid = [y[i] - s[i] for i in range(end)]
    mid = median(resid)
    return 1.4826 * median([abs(r - mid) for r in resid])


def _onset(
    x: Sequence[float], s: Sequence[float], d: Sequence[float], i_steep: int, s_start: float,
    span: float,
) -> float:  # fmt: skip
    """The knee: where the tangent at the steepest point meets the starting level,
    kept within ``[x_0, x_steep]``."""
    g, xs = d[i_steep], x[i_steep]
    if g < 0 and span > 0:
        return min(xs, max(x[0], xs - (s_start - s[i_steep]) / -g))
    return x[0]


def _crossing(
    x: Sequence[float], s: Sequence[float], level: float, i: int, step: int
) -> float | None:
    """Where ``s`` first reaches ``level`` walking from point ``i`` by ``step`` (+1 or -1),
    interpolated linearly between the two points around it; ``None``: never."""
    n = len(s)
    while 0 <= i + step < n:
        j = i + step
        if s[j] >= level:
            w = (level - s[i]) / (s[j] - s[i]) if s[j] != s[i] else 0.0
            return x[i] + w * (x[j] - x[i])
        i = j
    return None


def x_down(lo: Landmarks) -> float | None:
    """Where the smoothed curve, walked back from its minimum, was last halfway down its fall
    (on the log-LR axis, interpolated): the start of its last descent below halfway. ``None``
    when it is below halfway all the way back to the sweep's start."""
    return _half_down(lo.x, lo.s, lo.i_low, lo.span) if lo.span > 0 else None


def _half_down(x: Sequence[float], s: Sequence[float], i_low: int, span: float) -> float | None:
    """``x_down``: walking back from the minimum ``i_low``, where ``s`` reaches halfway up
    its fall ``span``."""
    return _crossing(x, s, s[i_low] + _HALF * span, i_low, -1)


def _across(
    x: Sequence[float], s: Sequence[float], i_low: int, span: float, w: float
) -> float | None:
    """A point across the valley on the log-LR axis: ``(1 - w) x_down + w x_up``, where the
    curve has fallen half its fall (``x_down``; the sweep start if never) and where it has
    risen back half of it (``x_up``); ``None`` when it never rose back halfway."""
    if span <= 0:
        return None
    down = _half_down(x, s, i_low, span)
    up = _crossing(x, s, s[i_low] + _HALF * span, i_low, +1)
    if up is None:
        return None
    return (1.0 - w) * (x[0] if down is None else down) + w * up


def _top(s: Sequence[float], i_low: int, s_min: float, span: float) -> int:
    """The last point with ``_TOP_REMAINING`` of the fall still ahead (clearly improving)."""
    if span > 0:
        for i in range(i_low + 1):
            if s[i] - s_min <= _TOP_REMAINING * span:
                return max(0, i - 1)
    return i_low


def read_curve(x: list[float], y: Sequence[float], smooth_fraction: float = SMOOTH) -> Landmarks:
    """The :class:`Landmarks` of curve ``y`` (to minimise) at log-rates ``x``."""
    n = len(y)
    h = max(1, round(smooth_fraction * n))
    yc = _cap_tail(y)
    s = smooth(yc, h)
    fine = box(running_median(yc, max(2, round(_FINE * n))), 1)
    i_min = _valley(s, fine)
    s_min = min(s)
    s_start = max(s[: i_min + 1])
    span = s_start - s_min
    i_div = _blow_up(fine, i_min, span)
    d = derivative(x, s, max(1, h // 2))
    i_low = min(range(n), key=s.__getitem__)
    i_steep = min(range(min(i_min, i_low) + 1), key=d.__getitem__)
    return Landmarks(
        n=n, x=x, y=yc, s=s, fine=fine, d=d, i_min=i_min, i_low=i_low, i_steep=i_steep,
        i_div=i_div, i_top=_top(s, i_low, s_min, span),
        x_onset=_onset(x, s, d, i_steep, s_start, span),
        x_center=_across(x, s, i_low, span, 0.5), x_edge=_across(x, s, i_low, span, EDGE),
        s_min=s_min, s_start=s_start,
        span=span, noise=_noise(yc, s, i_div if i_div is not None else n),
    )  # fmt: skip


def ragged_index(r: Landmarks) -> int | None:
    """First point between the middle of the rise and the peak where the curve turns ragged.

    Local scatter ``r_i``: the running median (half-width ``max(2, h/2)``) of
    ``|y_i - (y_{i-1} + y_{i+1}) / 2|``. Its reference ``r_0`` is the median of
    ``r`` from the onset to the point where half the rise is done, where the
    metric climbs steadily. The curve is *ragged* from the first point past that
    one where ``r_i > 5 r_0`` and ``r_i > 0.05 D`` (so rounding-level scatter on a
    clean curve never counts).
    """
    n, y, s = r.n, r.y, r.s
    h = max(2, round(SMOOTH * n) // 2)
    # point-to-point scatter: distance to the mean of the two neighbours (blind to a
    # steady trend; a cliff lifts one or two points, which the running median ignores)
    dev = [abs(y[i] - 0.5 * (y[max(0, i - 1)] + y[min(n - 1, i + 1)])) for i in range(n)]
    i1 = r.i_min
    half = r.s_start - 0.5 * r.span
    i0 = next((i for i in range(i1 + 1) if s[i] <= half), i1)
    lo = next((i for i in range(i0 + 1) if r.x[i] >= r.x_onset), i0)
    if i1 - i0 < 2:
        return None
    lo = min(lo, max(0, i0 - h))
    local = {i: median(dev[max(0, i - h) : i + h + 1]) for i in range(lo, i1 + 1)}
    ref = median([local[i] for i in range(lo, i0 + 1)])
    floor = max(_RAGGED * ref, _RAGGED_MIN * r.span)
    for i in range(i0 + 1, i1 + 1):
        if local[i] > floor:
            return i
    return None
