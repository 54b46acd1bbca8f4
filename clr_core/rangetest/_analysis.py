"""Reading a range test: the two CLR bounds, single-rate suggestions, confidence.

The reading is written as named steps, each a function of plain numbers:

1. :func:`_inputs` checks and converts the arguments;
2. :func:`_usable` finds the points to read (up to the first non-finite value);
3. :func:`clr_core.rangetest._landmarks.read_curve` finds each curve's landmarks
   (on binned points when a sweep has more than :data:`MAX_POINTS` of them);
4. :func:`_bounds` reads the bounds and the single-rate suggestions off them;
5. :func:`_confidence` multiplies the confidence factors, each with its reason.

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

import dataclasses
import functools
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from ..validation import fail, integer, real
from ._landmarks import SMOOTH, Landmarks, ragged_index, read_curve
from ._result import RangeTestResult
from ._smoothing import bin_points, median, smooth

__all__ = ["analyze", "combine", "smooth", "MIN_POINTS", "MAX_POINTS"]

#: Fewest points :func:`analyze` accepts (fewer only when the last loss is non-finite).
MIN_POINTS = 5
#: Points below which the confidence is reduced ("too few points").
GOOD_POINTS = 50
#: Sweeps with more usable points than this are read on this many bins of the log-LR
#: axis (the median of each curve per bin), so a reading costs ``O(n log n)``.
MAX_POINTS = 2048

#: ``lr`` (one fixed rate) is this fraction of the edge (half the 1cycle peak).
LR_FACTOR = 0.4
_MAX_MARGIN = 1.25  # max_lr: at least this factor below the blow-up point
_LR_MARGIN = 1.25  # lr stays this factor below max_lr
_FLAT_SNR = 2.0  # span below this many noise units -> "flat"
_NOISE_REF = 0.15  # noise / span at which the noise factor of the confidence is 0.5


def _floats(name: str, values: Any) -> list[float]:
    if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__iter__"):
        raise fail(name, "a sequence of real numbers", values, TypeError)
    out: list[float] = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            try:  # numpy scalars and 0-d tensors
                v = float(v)
            except (TypeError, ValueError):
                raise fail(f"{name}[{i}]", "a real number", v, TypeError) from None
        out.append(float(v))
    return out


@dataclasses.dataclass(frozen=True)
class _Inputs:
    lrs: list[float]
    losses: list[float]
    metrics: list[float] | None
    metric_mode: str
    smooth_fraction: float
    provenance: dict[str, Any]


def _inputs(
    lrs: Any, losses: Any, metrics: Any, batch_size: Any, metric_mode: Any,
    metric_name: Any, smooth_fraction: Any, provenance: Any,
) -> _Inputs:  # fmt: skip
    """Step 1: check every argument, convert the curves to lists of floats."""
    lr_list = _floats("lrs", lrs)
    loss_list = _floats("losses", losses)
    n = len(lr_list)
    if len(loss_list) != n:
        raise fail("losses", f"as long as lrs ({n} values)", f"<{len(loss_list)} values>")
    ends_nonfinite = n > 0 and not math.isfinite(loss_list[-1])
    if n < MIN_POINTS and not ends_nonfinite:
        raise ValueError(
            f"A range test needs at least {MIN_POINTS} points to analyse. Received: {n} point(s)."
        )
    for i, v in enumerate(lr_list):
        if not (math.isfinite(v) and v >= 0):
            raise fail(f"lrs[{i}]", "finite and >= 0", v)
        if i and v <= lr_list[i - 1]:
            raise ValueError(
                "Argument `lrs` must be strictly increasing. "
                f"Received: lrs[{i - 1}]={lr_list[i - 1]!r}, lrs[{i}]={v!r}"
            )
    metric_list: list[float] | None = None
    if metrics is not None:
        metric_list = _floats("metrics", metrics)
        if len(metric_list) != n:
            raise fail("metrics", f"as long as lrs ({n} values)", f"<{len(metric_list)} values>")
    if metric_mode not in ("max", "min"):
        raise fail("metric_mode", "one of ('max', 'min')", metric_mode)
    if batch_size is not None:
        batch_size = integer("batch_size", batch_size, low=1)
    if provenance is not None and not isinstance(provenance, Mapping):
        raise fail("provenance", "a dict", provenance, TypeError)
    prov: dict[str, Any] = dict(provenance or {})
    prov["batch_size"] = batch_size if batch_size is not None else prov.get("batch_size")
    if metric_list is not None:
        prov["metric_name"] = metric_name or prov.get("metric_name") or "metric"
        prov["metric_mode"] = metric_mode
    sf = real("smooth_fraction", smooth_fraction, low=0.0, high=0.5)
    return _Inputs(lr_list, loss_list, metric_list, metric_mode, sf, prov)


def _usable(a: _Inputs) -> tuple[int, int, list[str]]:
    """Step 2: the points to read, ``[first, stop)``, and the reasons for leaving any out:
    a point at ``lr == 0`` (no log) and everything from the first non-finite value on."""
    n = len(a.lrs)
    first = 1 if n and a.lrs[0] == 0.0 else 0
    stop = n
    for i in range(first, n):
        if not math.isfinite(a.losses[i]) or (
            a.metrics is not None and not math.isfinite(a.metrics[i])
        ):
            stop = i
            break
    reasons = []
    if first:
        reasons.append("The point at lr=0 has no place on the log-LR axis and was skipped.")
    if stop < n:
        loss_bad = not math.isfinite(a.losses[stop])
        bad = a.losses[stop] if loss_bad else a.metrics[stop]  # type: ignore[index]
        reasons.append(
            f"The {'loss' if loss_bad else 'metric'} became non-finite ({bad}) at "
            f"lr={a.lrs[stop]:.3g} (point {stop}); the analysis stops there."
        )
    return first, stop, reasons


def _scaled(values: Sequence[float]) -> list[float]:
    """``values`` divided by a power of two that keeps sums and differences finite (the
    reading is invariant to a positive factor, and a power of two changes no digit)."""
    top = max((abs(v) for v in values), default=0.0)
    if top < 1e300:
        return list(values)
    k = math.frexp(top)[1] + 4
    return [math.ldexp(v, -k) for v in values]


@dataclasses.dataclass(frozen=True)
class _Curves:
    """The curves read, on the points (or bins) analysed."""

    x: list[float]
    loss: Landmarks
    metric: Landmarks | None
    loss_ok: bool
    metric_ok: bool
    bins: list[int] | None  # the bin of each usable point, when binned


def _read(a: _Inputs, first: int, stop: int) -> _Curves:
    """Step 3: the landmarks of the loss (and the metric, negated when it is maximised)."""
    x = [math.log(v) for v in a.lrs[first:stop]]
    ys = [_scaled(a.losses[first:stop])]
    if a.metrics is not None:
        sign = -1.0 if a.metric_mode == "max" else 1.0
        ys.append(_scaled([sign * v for v in a.metrics[first:stop]]))
    bins = None
    if len(x) > MAX_POINTS:
        x, ys, bins = bin_points(x, ys, MAX_POINTS)
    lo = read_curve(x, ys[0], a.smooth_fraction)
    me = read_curve(x, ys[1], a.smooth_fraction) if len(ys) > 1 else None

    def ok(r: Landmarks | None) -> bool:
        return r is not None and r.span > 0 and r.span >= _FLAT_SNR * r.noise

    return _Curves(x, lo, me, ok(lo), ok(me), bins)


def _bounds(c: _Curves, a: _Inputs, stop: int) -> tuple[float, float, float, dict[str, float]]:
    """Step 4: ``base_lr``, ``max_lr``, ``lr`` and the single-rate suggestions (see
    :func:`analyze`'s Notes for the rules)."""
    lo, me, x = c.loss, c.metric, c.x

    def at(i: int) -> float:
        return math.exp(x[i])

    primary = me if (me is not None and c.metric_ok) else lo
    suggestions: dict[str, float] = {}
    if c.loss_ok:
        suggestions["steepest"] = at(lo.i_steep)
        suggestions["valley"] = math.exp(0.5 * (lo.x_onset + x[lo.i_min]))
        suggestions["minimum"] = at(lo.i_min)
        suggestions["min_div_10"] = at(lo.i_min) / 10.0
        if lo.x_center is not None and lo.x_edge is not None:
            suggestions["center"] = math.exp(lo.x_center)
            suggestions["edge"] = math.exp(lo.x_edge)
    if me is not None and c.metric_ok:
        suggestions["metric_peak"] = at(me.i_min)
    base_lr = math.exp(primary.x_onset)
    if primary is lo and "center" in suggestions:
        max_lr = suggestions["center"]  # the middle of the valley: robust to the noise
    else:
        max_lr = min(at(primary.i_low), at(primary.i_min) / _MAX_MARGIN)
        if c.loss_ok:  # the loss caps a metric reading: never past where the loss turns up
            max_lr = min(max_lr, at(lo.i_low), at(lo.i_min) / _MAX_MARGIN)
    if stop < len(a.lrs):
        max_lr = min(max_lr, a.lrs[stop] / _MAX_MARGIN)
    max_lr = max(max_lr, at(0))
    base_lr = min(base_lr, max_lr)
    if "edge" in suggestions:
        lr = min(LR_FACTOR * suggestions["edge"], max_lr / _LR_MARGIN)
    else:
        lr = min(at((lo if c.loss_ok else primary).i_top), max_lr / _LR_MARGIN)
    lr = min(max(lr, base_lr), max_lr)
    return base_lr, max_lr, lr, suggestions


def _confidence(c: _Curves, m: int, diverged: bool, h: int) -> tuple[float, list[str], bool]:
    """Step 5: the product of the confidence factors and a reason for each one below 0.8;
    also whether the curve was already changing at the first rate (base_lr = start)."""
    primary = c.metric if (c.metric is not None and c.metric_ok) else c.loss
    factors: list[float] = []
    reasons: list[str] = []
    if m < GOOD_POINTS:
        factors.append(m / GOOD_POINTS)
        reasons.append(
            f"Too few points: only {m} usable; use 100 or more sweep steps for a reliable reading."
        )
    rel = primary.noise / primary.span
    f_noise = 1.0 / (1.0 + (rel / _NOISE_REF) ** 2)
    factors.append(f_noise)
    if f_noise < 0.8:
        reasons.append(
            f"Too noisy: the point-to-point noise is {rel:.0%} of the curve's whole "
            f"{'fall' if primary is c.loss else 'change'}; use a larger batch, a smoother "
            "loss (e.g. on a fixed held-out batch) or repeat the sweep and combine()."
        )
    n = len(c.x)
    if primary.i_min <= max(1, n // 10):
        factors.append(0.1)
        reasons.append(
            "Diverged at once: the curve is at its best within the first tenth of the "
            "sweep. Start the sweep lower (e.g. 100 times lower)."
        )
    elif not diverged:
        factors.append(0.5)
        still = c.loss.i_min >= n - 1 - h
        reasons.append(
            "Never diverged: the loss was "
            + ("still falling" if still else "not yet rising clearly")
            + " at the end of the sweep, so max_lr may be too low. Widen the sweep "
            "(raise end_lr) to see the blow-up."
        )
    early = primary.x_onset <= c.x[min(h, n - 1)] and primary.i_min > max(1, n // 10)
    if early:
        factors.append(0.8)
        reasons.append(
            "The curve already changes at the first rate: base_lr is the sweep start. "
            "Start the sweep lower to see where the improvement begins."
        )
    return math.prod(factors), reasons, early


def _smoothed_per_point(c: _Curves, n: int, first: int, stop: int) -> list[float]:
    out = [math.nan] * n
    s = c.loss.s
    out[first:stop] = s if c.bins is None else [s[b] for b in c.bins]
    return out


def _diagnostics(c: _Curves, m: int, h: int, rel: float) -> dict[str, Any]:
    lo, me, x = c.loss, c.metric, c.x
    d: dict[str, Any] = {
        "usable_points": m,
        "smoothing_half_width": h,
        "loss_span": lo.span,
        "loss_noise": lo.noise,
        "blow_up_lr": math.exp(x[lo.i_min]),
        "smoothed_min_lr": math.exp(x[lo.i_low]),
        "risen_lr": math.exp(x[lo.i_div]) if lo.i_div is not None else None,
        "noise_to_span": rel,
    }
    if c.bins is not None:
        d["binned_to"] = len(x)
    if me is not None:
        i_ragged = ragged_index(me) if c.metric_ok else None
        d["metric_span"] = me.span
        d["metric_noise"] = me.noise
        d["metric_best_lr"] = math.exp(x[me.i_min])
        d["metric_ragged_lr"] = math.exp(x[i_ragged]) if i_ragged is not None else None
    return d


def analyze(
    lrs: Sequence[float],
    losses: Sequence[float],
    metrics: Sequence[float] | None = None,
    *,
    batch_size: int | None = None,
    metric_mode: str = "max",
    metric_name: str | None = None,
    smooth_fraction: float = SMOOTH,
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
    a = _inputs(
        lrs, losses, metrics, batch_size, metric_mode, metric_name, smooth_fraction, provenance
    )
    n = len(a.lrs)
    first, stop, reasons = _usable(a)
    m = stop - first
    result = functools.partial(
        RangeTestResult, lrs=tuple(a.lrs), losses=tuple(a.losses),
        metrics=None if a.metrics is None else tuple(a.metrics), provenance=a.provenance,
    )  # fmt: skip
    if m < MIN_POINTS:
        reasons.append(
            f"Only {m} usable point(s) before the loss became non-finite: the sweep diverged "
            "at once. Start it lower (e.g. 100 times lower) and run it again."
        )
        start = a.lrs[first] if first < n else a.lrs[0]
        return result(
            base_lr=start, max_lr=start, lr=start, confidence=0.0, reasons=tuple(reasons),
            suggestions={}, smoothed=(math.nan,) * n, diverged=True, bounds_from="loss",
            diagnostics={"usable_points": m},
        )  # fmt: skip
    c = _read(a, first, stop)
    if a.metrics is not None and not c.metric_ok:
        reasons.append("The metric is flat (its change is within its noise): it was ignored.")
    diverged = stop < n or c.loss.i_div is not None
    smoothed = tuple(_smoothed_per_point(c, n, first, stop))
    at0, at_end = math.exp(c.x[0]), math.exp(c.x[-1])
    if not (c.loss_ok or c.metric_ok):
        reasons.append(
            "The loss is flat: its fall over the sweep "
            f"({max(c.loss.span, 0.0):.3g}) is within the noise ({c.loss.noise:.3g}). Nothing "
            "can be read off it (the bounds are the ends of the sweep): widen the sweep (raise "
            "end_lr) or check that the model trains at all."
        )
        return result(
            base_lr=at0, max_lr=at_end, lr=at0, confidence=0.0, reasons=tuple(reasons),
            suggestions={}, smoothed=smoothed, diverged=diverged, bounds_from="loss",
            diagnostics={"usable_points": m, "smoothing_half_width": max(1, round(
                a.smooth_fraction * m)), "loss_span": c.loss.span, "loss_noise": c.loss.noise},
        )  # fmt: skip
    base_lr, max_lr, lr, suggestions = _bounds(c, a, stop)
    h = max(1, round(a.smooth_fraction * len(c.x)))
    confidence, more, early = _confidence(c, m, diverged, h)
    if early:
        base_lr = min(at0, max_lr)
    reasons += more
    primary = c.metric if (c.metric is not None and c.metric_ok) else c.loss
    if not reasons:
        reasons.append("Clear curve: onset, valley and blow-up all seen.")
    return result(
        base_lr=base_lr, max_lr=max_lr, lr=lr, confidence=max(0.0, min(1.0, confidence)),
        reasons=tuple(reasons), suggestions=suggestions, smoothed=smoothed, diverged=diverged,
        bounds_from="metric" if primary is c.metric else "loss",
        diagnostics=_diagnostics(c, m, h, primary.noise / primary.span),
    )  # fmt: skip


def _log_median(values: Sequence[float]) -> float:
    return math.exp(median([math.log(v) for v in values]))


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
        raise fail("results", "a non-empty sequence of RangeTestResult", results)
    for i, r in enumerate(items):
        if not isinstance(r, RangeTestResult):
            raise fail(f"results[{i}]", "a RangeTestResult", r, TypeError)
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
    confidence = median([r.confidence for r in items]) * f_spread
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
