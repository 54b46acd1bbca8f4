"""Reading a range test: smoothing, the two CLR bounds, single-rate suggestions, confidence.

Axes
----
Every curve is indexed by the sweep step ``i`` (the sampling axis). Smoothing
runs along ``i``: for an exponential sweep a window of ``k`` points covers a
fixed ratio of rates, for a linear sweep a fixed LR interval. Every
*derivative* is taken against the natural logarithm of the rate,
``x = ln(lr)``: ``dS/dx`` by central differences over ``x``, so the
"steepest" point does not depend on how the sweep spaced its points (an
iteration-index derivative, as torch-lr-finder's, depends on the sweep;
a derivative against linear LR, as Lightning's, favours high rates).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from .._base import _fail, real
from ._result import RangeTestResult

__all__ = ["analyze", "combine", "smooth", "MIN_POINTS"]

#: Fewest points :func:`analyze` accepts.
MIN_POINTS = 5
#: Points below which the confidence is reduced ("too few points").
GOOD_POINTS = 50

# The reading rules (documented in :func:`analyze`).
_FINE = 0.02  # half-width of the running median that locates the minimum and blow-up
_CAPK = 2.0  # the tail is capped this many spans above the start before smoothing
_SMOOTH = 0.05  # half-width of each box pass, as a fraction of the points
_DIVERGED_RISE = 0.3  # rise above the minimum, in spans, that counts as blow-up
_TOP_REMAINING = 0.1  # lr: the last point with this fraction of the fall still ahead
_MAX_MARGIN = 1.25  # max_lr: at least this factor below the blow-up point
_LR_MARGIN = 1.5  # lr stays this factor below max_lr
_FLAT_SNR = 2.0  # span below this many noise units -> "flat"
_NOISE_REF = 0.15  # noise / span at which the noise factor of the confidence is 0.5
_RAGGED = 5.0  # metric: local scatter this many times its scatter on the rise -> ragged
_RAGGED_MIN = 0.05  # ... and at least this fraction of the metric's span


def _floats(name: str, values: Any) -> list[float]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise _fail(name, "a sequence of real numbers", values, TypeError)
    out: list[float] = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            try:  # numpy scalars and 0-d tensors
                v = float(v)
            except (TypeError, ValueError):
                raise _fail(f"{name}[{i}]", "a real number", v, TypeError) from None
        out.append(float(v))
    return out


def _median(values: Sequence[float]) -> float:
    s = sorted(values)
    n = len(s)
    if n == 0:
        return math.nan
    m = n // 2
    return s[m] if n % 2 else 0.5 * (s[m - 1] + s[m])


def _median_filter(x: Sequence[float], k: int) -> list[float]:
    """Running median over ``2k+1`` points, the window truncated at the ends."""
    n = len(x)
    out = []
    for i in range(n):
        lo, hi = max(0, i - k), min(n, i + k + 1)
        out.append(_median(x[lo:hi]))
    return out


def _box(x: Sequence[float], h: int) -> list[float]:
    """Running mean over ``[i-h, i+h]`` truncated at the ends (prefix sums, O(n))."""
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
    med = _median_filter(values, 2)
    return _box(_box(med, h), h) if h else med


def _derivative(x: Sequence[float], s: Sequence[float], w: int) -> list[float]:
    """``dS/dx`` by central differences over ``[i-w, i+w]`` (truncated at the ends)."""
    n = len(s)
    out = []
    for i in range(n):
        lo, hi = max(0, i - w), min(n - 1, i + w)
        dx = x[hi] - x[lo]
        out.append((s[hi] - s[lo]) / dx if dx > 0 else 0.0)
    return out


def _ragged_index(reading: _Reading, y: Sequence[float]) -> int | None:
    """First point between the middle of the rise and the peak where the curve turns ragged.

    Local scatter ``r_i``: the running median (half-width ``max(2, h/2)``) of
    ``|y_i - (y_{i-1} + y_{i+1}) / 2|``.
    Its reference ``r_0`` is the median of ``r`` from the onset to the point
    where half the rise is done, where the metric climbs steadily. The curve
    is *ragged* from the first point past that one where ``r_i > 5 r_0`` and
    ``r_i > 0.05 D`` (so rounding-level scatter on a clean curve never counts).
    """
    n = reading.n
    h = max(2, round(_SMOOTH * n) // 2)
    # point-to-point scatter: distance to the mean of the two neighbours (blind to a
    # steady trend; a cliff lifts one or two points, which the running median ignores)
    dev = [abs(y[i] - 0.5 * (y[max(0, i - 1)] + y[min(n - 1, i + 1)])) for i in range(n)]
    i1 = reading.i_min
    s = reading.s
    half = reading.s_start - 0.5 * reading.span
    i0 = next((i for i in range(i1 + 1) if s[i] <= half), i1)
    lo = next((i for i in range(i0 + 1) if reading.x[i] >= reading.x_onset), i0)
    if i1 - i0 < 2:
        return None
    lo = min(lo, max(0, i0 - h))
    local = {i: _median(dev[max(0, i - h) : i + h + 1]) for i in range(lo, i1 + 1)}
    ref = _median([local[i] for i in range(lo, i0 + 1)])
    floor = max(_RAGGED * ref, _RAGGED_MIN * reading.span)
    for i in range(i0 + 1, i1 + 1):
        if local[i] > floor:
            return i
    return None


class _Reading:
    """The reading of one curve (to minimise): indices of its landmarks and its quality."""

    def __init__(self, x: list[float], y: list[float], smooth_fraction: float) -> None:
        n = len(y)
        self.n = n
        h = max(1, round(smooth_fraction * n))
        # Cap the blown-up tail before smoothing so it cannot smear into the valley.
        m = max(3, n // 20)
        start_ref = _median(y[:m])
        low = min(_median_filter(y, 2))
        drop = start_ref - low
        if drop > 0:
            cap = start_ref + _CAPK * drop
            y = [min(v, cap) for v in y]
        s = smooth(y, h)
        self.s = s
        self.x = x
        self.y = y
        # The minimum and the blow-up are sharp features: locate them on a running
        # median, which a steep rise cannot drag toward lower rates as a mean does.
        fine = _box(_median_filter(y, max(2, round(_FINE * n))), 1)
        self.fine = fine
        # Start from the minimum of the well-smoothed curve (robust to noise, but a mean
        # drags the tip of a sharp V toward lower rates) and walk down the running
        # median while it keeps falling: this undoes the drag at a sharp valley and
        # stays put in a broad, noisy one.
        i_min = min(range(n), key=s.__getitem__)
        while i_min + 1 < n and fine[i_min + 1] <= fine[i_min]:
            i_min += 1
        # A running median flattens the tip of a V into a plateau of ties: take its middle.
        a = i_min
        while a > 0 and fine[a - 1] <= fine[i_min]:
            a -= 1
        i_min = (a + i_min) // 2
        self.i_min = i_min
        self.s_min = min(s)
        self.s_start = max(s[: i_min + 1])
        self.span = self.s_start - self.s_min
        span = self.span
        # First point past the minimum where the curve has risen by _DIVERGED_RISE spans.
        self.i_div: int | None = None
        if span > 0:
            f_min = min(fine)
            for i in range(i_min + 1, n):
                if fine[i] - f_min >= _DIVERGED_RISE * span:
                    self.i_div = i
                    break
        end = self.i_div if self.i_div is not None else n
        resid = [y[i] - s[i] for i in range(end)]
        mid = _median(resid)
        self.noise = 1.4826 * _median([abs(r - mid) for r in resid])
        self.d = _derivative(x, s, max(1, h // 2))
        # Steepest descent on the way down (against ln lr).
        i_low = min(range(n), key=s.__getitem__)
        self.i_low = i_low
        self.i_steep = min(range(min(i_min, i_low) + 1), key=self.d.__getitem__)
        # Onset: where the tangent at the steepest point meets the starting level
        # (the "knee"), on the ln(lr) axis, kept within [x_0, x_steep].
        g = self.d[self.i_steep]
        xs = x[self.i_steep]
        self.x_onset = x[0]
        if g < 0 and span > 0:
            self.x_onset = min(xs, max(x[0], xs - (self.s_start - s[self.i_steep]) / -g))
        # Still clearly improving: the last point with _TOP_REMAINING of the fall ahead.
        self.i_top = i_low
        if span > 0:
            for i in range(i_low + 1):
                if s[i] - self.s_min <= _TOP_REMAINING * span:
                    self.i_top = max(0, i - 1)
                    break


def analyze(
    lrs: Sequence[float],
    losses: Sequence[float],
    metrics: Sequence[float] | None = None,
    *,
    batch_size: int | None = None,
    metric_mode: str = "max",
    metric_name: str | None = None,
    smooth_fraction: float = _SMOOTH,
    provenance: dict[str, Any] | None = None,
) -> RangeTestResult:
    r"""Read the two CLR bounds, single-rate suggestions and a confidence off a range test.

    Parameters
    ----------
    lrs : sequence of float
        The rate of each point, finite, ``>= 0`` and strictly increasing
        (a point at ``lr == 0`` is kept but not analysed: it has no log).
    losses : sequence of float
        The training loss at each point. Any values: negative and shifted
        losses read the same (every rule is invariant to adding a constant to
        the losses and to multiplying them by a positive factor). The analysis
        stops at the first non-finite loss, which counts as divergence.
    metrics : sequence of float, optional
        A metric at each point, e.g. held-out accuracy. The bounds are then
        read off it, as in the paper (see below), the loss still capping them.
    batch_size : int, optional
        Recorded in the provenance: the bounds hold for this batch size.
    metric_mode : {"max", "min"}
        Whether the metric is better high (accuracy) or low.
    metric_name : str, optional
        Name of the metric, for the provenance and plots.
    smooth_fraction : float
        Half-width of the smoothing windows as a fraction of the points (0.05).
    provenance : dict, optional
        Extra JSON data to keep with the result (sweep parameters...).

    Returns
    -------
    RangeTestResult

    Raises
    ------
    ValueError
        Fewer than :data:`MIN_POINTS` points (unless the last loss is
        non-finite: the result then says the sweep diverged at once and to start
        it lower), lengths that differ, rates that
        are negative, non-finite or not strictly increasing.
    TypeError
        Values that are not real numbers.

    Notes
    -----
    Let ``x = ln(lr)`` and ``S`` the smoothed loss (:func:`smooth`, along the
    point index; half-width ``h = max(1, round(smooth_fraction * n))``). Call
    ``S_min`` its minimum (at ``x_min``), ``S_0`` its highest value before
    that, and the *span* ``D = S_0 - S_min``: the total fall. Every
    threshold is a fraction of ``D``, so a shifted or negative loss reads the
    same. All derivatives are ``dS/dx``, against **log-LR**.

    * **base_lr** (the paper: where the loss starts falling clearly; with a
      metric, where it starts to rise). The tangent to ``S`` at the point of
      steepest descent (most negative ``dS/dx``) meets the starting level
      ``S_0`` at ``x_onset``; ``base_lr = exp(x_onset)``, the knee of the
      curve; when that lies within the first ``h`` points the curve was already
      changing at the first rate and ``base_lr`` is the sweep start.
    * **blow-up point** ``blow_up_lr``: where the curve bottoms out and turns
      up. Start at the minimum of ``S`` and walk on along a running median
      (half-width ``0.02 n``) while it keeps falling, then take the middle of
      the median's flat bottom. (A running mean drags the tip of a sharp valley
      toward lower rates, the steep rise leaking into it; a median does not.)
    * **max_lr** (the paper: where the loss stops falling, before it blows up;
      with a metric, where it slows, turns ragged or falls, the loss still
      capping it): the rate at
      ``S_min``, and at least a factor 1.25 below the blow-up point. On a broad,
      noisy valley ``S_min`` sits well inside it; on a sharp one the margin
      keeps ``max_lr`` off the cliff edge. A non-finite loss at rate ``r``
      caps it at ``r / 1.25`` too.
    * **lr** (one fixed rate): the last rate at which at least 10% of the
      fall is still ahead (``S - S_min >= 0.1 D``): the loss is still clearly
      improving there, before the valley floor where a fixed rate starts to
      risk collapse. At most ``max_lr / 1.5``, at least ``base_lr``.

    Single-rate suggestions, all read off the smoothed loss:

    * ``steepest``: argmin of ``dS/dx`` (central differences against log-LR,
      stencil ``h // 2`` points) before the minimum. On real curves it sits
      at a third to a half of ``lr``: safe but slow.
    * ``valley``: the middle, in log-LR, of the descent from the knee
      (``x_onset``) to the minimum: ``exp((x_onset + x_min) / 2)`` (fastai's
      ``valley`` likewise takes the middle of the longest descent).
    * ``minimum``: the bottom of the valley (the blow-up point above);
      ``min_div_10``: that over 10 (fastai's ``minimum`` rule).
    * ``metric_peak``: the rate at the best smoothed metric (with metrics).

    With a metric, ``diagnostics["metric_ragged_lr"]`` is where the metric
    turns *ragged* (the first point past the middle of its rise where the
    running median of its point-to-point scatter exceeds 5 times that scatter
    on the rise, and 0.05 of its span), or ``None``. It is
    reported, not used to cap ``max_lr``: on the recorded MNIST-1D SGD sweeps
    (``tests/core/fixtures``) it fires at 0.07-0.12, below the 0.13-0.17 that
    training validates as a cycle top, and on the digits sweeps it does not
    fire at all; a held-out accuracy measured after single steps scatters long
    before training at that rate goes wrong.

    The **confidence** is the product of factors in ``[0, 1]``, each with a
    reason when it is below 0.8 (the noise factor, a little below 1 on any
    real curve, only then): too few points (``n / 50`` below 50 points);
    noise (``1 / (1 + (sigma / (0.15 D))^2)``, ``sigma`` the robust standard
    deviation of the loss about ``S``); never diverged (0.5: widen the sweep);
    already falling at the first rate (0.8: start lower); the minimum in the
    first tenth of the sweep (0.1: diverged at once, start lower); a flat curve
    (``D < 2 sigma``: confidence 0, bounds are then the sweep's ends).

    Examples
    --------
    >>> import math
    >>> lrs = [10 ** (-4 + 5 * i / 99) for i in range(100)]
    >>> def loss(lr):  # flat, falls from 1e-3, bottoms at 0.1, blows up
    ...     x = math.log10(lr)
    ...     return 2.0 if x < -3 else (2.0 - (x + 3) if x < -1 else 0.0 + 40 * (x + 1) ** 2)
    >>> r = analyze(lrs, [loss(v) for v in lrs])
    >>> print(r.summary())
    base_lr     0.001
    max_lr      0.0534
    lr          0.0298   (a fixed rate)
    1cycle peak 0.0955   (recommended: to_one_cycle)
    confidence  1.00
    bounds from loss
    suggestions steepest=0.00739, valley=0.00977, minimum=0.0955, min_div_10=0.00955
    - Clear curve: onset, valley and blow-up all seen.
    >>> round(r.blow_up_lr, 3)   # the bottom of the V, 0.1; max_lr keeps clear of it
    0.095
    """
    lr_list = _floats("lrs", lrs)
    loss_list = _floats("losses", losses)
    n = len(lr_list)
    if len(loss_list) != n:
        raise _fail("losses", f"as long as lrs ({n} values)", f"<{len(loss_list)} values>")
    ends_nonfinite = n > 0 and not math.isfinite(loss_list[-1])
    if n < MIN_POINTS and not ends_nonfinite:
        raise ValueError(
            f"A range test needs at least {MIN_POINTS} points to analyse. Received: {n} point(s)."
        )
    for i, v in enumerate(lr_list):
        if not (math.isfinite(v) and v >= 0):
            raise _fail(f"lrs[{i}]", "finite and >= 0", v)
        if i and v <= lr_list[i - 1]:
            raise ValueError(
                "Argument `lrs` must be strictly increasing. "
                f"Received: lrs[{i - 1}]={lr_list[i - 1]!r}, lrs[{i}]={v!r}"
            )
    metric_list: list[float] | None = None
    if metrics is not None:
        metric_list = _floats("metrics", metrics)
        if len(metric_list) != n:
            raise _fail("metrics", f"as long as lrs ({n} values)", f"<{len(metric_list)} values>")
    if metric_mode not in ("max", "min"):
        raise _fail("metric_mode", "one of ('max', 'min')", metric_mode)
    if batch_size is not None:
        from .._base import integer

        batch_size = integer("batch_size", batch_size, low=1)
    smooth_fraction = real("smooth_fraction", smooth_fraction, low=0.0, high=0.5)

    prov: dict[str, Any] = dict(provenance or {})
    prov["batch_size"] = batch_size if batch_size is not None else prov.get("batch_size")
    if metric_list is not None:
        prov["metric_name"] = metric_name or prov.get("metric_name") or "metric"
        prov["metric_mode"] = metric_mode

    first = 1 if lr_list[0] == 0.0 else 0
    stop = n
    for i in range(first, n):
        if not math.isfinite(loss_list[i]) or (
            metric_list is not None and not math.isfinite(metric_list[i])
        ):
            stop = i
            break
    nonfinite = stop < n
    m = stop - first
    reasons: list[str] = []
    smoothed = [math.nan] * n
    if first:
        reasons.append("The point at lr=0 has no place on the log-LR axis and was skipped.")
    if nonfinite:
        what = "loss" if not math.isfinite(loss_list[stop]) else "metric"
        bad = loss_list[stop] if what == "loss" else metric_list[stop]  # type: ignore[index]
        reasons.append(
            f"The {what} became non-finite ({bad}) at lr={lr_list[stop]:.3g} (point {stop}); "
            "the analysis stops there."
        )
    if m < MIN_POINTS:
        start = lr_list[first]
        reasons.append(
            f"Only {m} usable point(s) before the loss became non-finite: the sweep diverged "
            "at once. Start it lower (e.g. 100 times lower) and run it again."
        )
        return RangeTestResult(
            base_lr=start, max_lr=start, lr=start, confidence=0.0, reasons=tuple(reasons),
            suggestions={}, lrs=tuple(lr_list), losses=tuple(loss_list), smoothed=tuple(smoothed),
            metrics=None if metric_list is None else tuple(metric_list), diverged=True,
            bounds_from="loss", diagnostics={"usable_points": m}, provenance=prov,
        )  # fmt: skip

    x = [math.log(v) for v in lr_list[first:stop]]

    def at(i: int) -> float:
        return math.exp(x[i])

    lo = _Reading(x, loss_list[first:stop], smooth_fraction)
    smoothed[first:stop] = lo.s
    loss_ok = lo.span > 0 and lo.span >= _FLAT_SNR * lo.noise
    me: _Reading | None = None
    metric_ok = False
    if metric_list is not None:
        sign = -1.0 if metric_mode == "max" else 1.0
        me = _Reading(x, [sign * v for v in metric_list[first:stop]], smooth_fraction)
        metric_ok = me.span > 0 and me.span >= _FLAT_SNR * me.noise
        if not metric_ok:
            reasons.append("The metric is flat (its change is within its noise): it was ignored.")
    primary = me if (me is not None and metric_ok) else lo
    diverged = nonfinite or lo.i_div is not None
    suggestions: dict[str, float] = {}
    diagnostics: dict[str, Any] = {
        "usable_points": m,
        "smoothing_half_width": max(1, round(smooth_fraction * m)),
        "loss_span": lo.span,
        "loss_noise": lo.noise,
    }
    if not (loss_ok or metric_ok):
        reasons.append(
            "The loss is flat: its fall over the sweep "
            f"({max(lo.span, 0.0):.3g}) is within the noise ({lo.noise:.3g}). Nothing can be "
            "read off it (the bounds are the ends of the sweep): widen the sweep (raise end_lr) "
            "or check that the model trains at all."
        )
        base_lr, max_lr, lr, confidence = at(0), at(m - 1), at(0), 0.0
        bounds_from = "loss"
    else:
        if loss_ok:
            suggestions["steepest"] = at(lo.i_steep)
            suggestions["valley"] = math.exp(0.5 * (lo.x_onset + x[lo.i_min]))
            suggestions["minimum"] = at(lo.i_min)
            suggestions["min_div_10"] = at(lo.i_min) / 10.0
        if me is not None and metric_ok:
            suggestions["metric_peak"] = at(me.i_min)
        bounds_from = "metric" if primary is me else "loss"
        base_lr = math.exp(primary.x_onset)
        max_lr = min(at(primary.i_low), at(primary.i_min) / _MAX_MARGIN)
        # Where the metric turns ragged (the paper's third max_lr cue): reported, not
        # used to cap max_lr (see the docstring for the evidence on real sweeps).
        i_ragged = _ragged_index(me, me.y) if (me is not None and primary is me) else None
        if loss_ok:  # the loss caps a metric reading: never past where the loss turns up
            max_lr = min(max_lr, at(lo.i_low), at(lo.i_min) / _MAX_MARGIN)
        if nonfinite:
            max_lr = min(max_lr, lr_list[stop] / _MAX_MARGIN)
        max_lr = max(max_lr, at(0))
        base_lr = min(base_lr, max_lr)
        lr = at((lo if loss_ok else primary).i_top)
        lr = min(max(min(lr, max_lr / _LR_MARGIN), base_lr), max_lr)

        factors: list[float] = []
        if m < GOOD_POINTS:
            factors.append(m / GOOD_POINTS)
            reasons.append(
                f"Too few points: only {m} usable; use 100 or more sweep steps for a reliable "
                "reading."
            )
        rel = primary.noise / primary.span
        f_noise = 1.0 / (1.0 + (rel / _NOISE_REF) ** 2)
        factors.append(f_noise)
        if f_noise < 0.8:
            reasons.append(
                f"Too noisy: the point-to-point noise is {rel:.0%} of the curve's whole "
                f"{'fall' if primary is lo else 'change'}; use a larger batch, a smoother "
                "loss (e.g. on a fixed held-out batch) or repeat the sweep and combine()."
            )
        h = max(1, round(smooth_fraction * m))
        if primary.i_min <= max(1, m // 10):
            factors.append(0.1)
            reasons.append(
                "Diverged at once: the curve is at its best within the first tenth of the "
                "sweep. Start the sweep lower (e.g. 100 times lower)."
            )
        elif not diverged:
            factors.append(0.5)
            still = lo.i_min >= m - 1 - h
            reasons.append(
                "Never diverged: the loss was "
                + ("still falling" if still else "not yet rising clearly")
                + " at the end of the sweep, so max_lr may be too low. Widen the sweep "
                "(raise end_lr) to see the blow-up."
            )
        if primary.x_onset <= x[min(h, m - 1)] and primary.i_min > max(1, m // 10):
            base_lr = min(at(0), max_lr)
            factors.append(0.8)
            reasons.append(
                "The curve already changes at the first rate: base_lr is the sweep start. "
                "Start the sweep lower to see where the improvement begins."
            )
        confidence = 1.0
        for f in factors:
            confidence *= f
        diagnostics.update(
            {
                "blow_up_lr": at(lo.i_min),
                "smoothed_min_lr": at(lo.i_low),
                "risen_lr": at(lo.i_div) if lo.i_div is not None else None,
                "noise_to_span": rel,
            }
        )
        if me is not None:
            diagnostics["metric_span"] = me.span
            diagnostics["metric_noise"] = me.noise
            diagnostics["metric_best_lr"] = at(me.i_min)
            diagnostics["metric_ragged_lr"] = at(i_ragged) if i_ragged is not None else None
    if not reasons:
        reasons.append("Clear curve: onset, valley and blow-up all seen.")
    return RangeTestResult(
        base_lr=base_lr,
        max_lr=max_lr,
        lr=lr,
        confidence=max(0.0, min(1.0, confidence)),
        reasons=tuple(reasons),
        suggestions=suggestions,
        lrs=tuple(lr_list),
        losses=tuple(loss_list),
        smoothed=tuple(smoothed),
        metrics=None if metric_list is None else tuple(metric_list),
        diverged=diverged,
        bounds_from=bounds_from,
        diagnostics=diagnostics,
        provenance=prov,
    )


def _log_median(values: Sequence[float]) -> float:
    return math.exp(_median([math.log(v) for v in values]))


def combine(results: Sequence[RangeTestResult]) -> RangeTestResult:
    """Combine repeated range tests (other seeds or batches) into median bounds.

    ``base_lr``, ``max_lr``, ``lr`` and each suggestion are the medians of the
    repeats on the log-LR axis (the geometric mean of the middle two for an
    even count). The *spread* of a bound is the ratio of its largest to its
    smallest value across the repeats; the confidence is the median confidence
    times ``1 / (1 + (d / 0.3)^2)`` with ``d`` the larger of ``log10`` of
    ``max_lr``'s spread and half of ``log10`` of ``base_lr``'s (the upper bound
    decides stability; the cycle sweeps every rate above the lower one): a
    ``max_lr`` spread of 2x (0.3 decades), or a ``base_lr`` spread of 4x, halves it. The
    curve kept is the first result's; the provenance lists every repeat's.

    Examples
    --------
    >>> a = RangeTestResult(0.01, 0.2, 0.1, 0.9, (), {}, (), (), ())
    >>> b = RangeTestResult(0.02, 0.1, 0.05, 0.8, (), {}, (), (), ())
    >>> c = combine([a, b])
    >>> round(c.max_lr, 4), c.diagnostics["spread"]["max_lr"], round(c.confidence, 2)
    (0.1414, 2.0, 0.42)
    """
    items = list(results)
    if not items:
        raise _fail("results", "a non-empty sequence of RangeTestResult", results)
    for i, r in enumerate(items):
        if not isinstance(r, RangeTestResult):
            raise _fail(f"results[{i}]", "a RangeTestResult", r, TypeError)
    if len(items) == 1:
        return items[0]
    base = _log_median([r.base_lr for r in items])
    top = _log_median([r.max_lr for r in items])
    lr = _log_median([r.lr for r in items])
    base = min(base, top)
    lr = min(max(lr, base), top)
    spread = {
        key: max(getattr(r, key) for r in items) / min(getattr(r, key) for r in items)
        for key in ("base_lr", "max_lr", "lr")
    }
    # max_lr decides whether training is stable; base_lr only where the cycle turns
    # back, and a cycle sweeps every rate between the two: its spread counts half.
    worst = max(math.log10(spread["max_lr"]), 0.5 * math.log10(spread["base_lr"]))
    f_spread = 1.0 / (1.0 + (worst / 0.3) ** 2)
    confidence = _median([r.confidence for r in items]) * f_spread
    names = sorted({k for r in items for k in r.suggestions})
    suggestions = {
        k: _log_median([r.suggestions[k] for r in items if k in r.suggestions]) for k in names
    }
    reasons = [f"Combined {len(items)} sweeps: median bounds on the log-LR axis."]
    if f_spread < 0.8:
        reasons.append(
            f"The repeats disagree: base_lr spreads {spread['base_lr']:.2g}x and max_lr "
            f"{spread['max_lr']:.2g}x between sweeps; run more repeats or longer sweeps."
        )
    for r in items:
        for reason in r.reasons:
            if reason not in reasons and not reason.startswith("Clear curve"):
                reasons.append(reason)
    first = items[0]
    return RangeTestResult(
        base_lr=base,
        max_lr=top,
        lr=lr,
        confidence=max(0.0, min(1.0, confidence)),
        reasons=tuple(reasons),
        suggestions=suggestions,
        lrs=first.lrs,
        losses=first.losses,
        smoothed=first.smoothed,
        metrics=first.metrics,
        diverged=all(r.diverged for r in items),
        bounds_from=first.bounds_from,
        diagnostics={
            "repeats": len(items),
            "spread": spread,
            "base_lrs": [r.base_lr for r in items],
            "max_lrs": [r.max_lr for r in items],
            "lrs": [r.lr for r in items],
        },
        provenance={"combined": [r.provenance for r in items]},
    )
