r"""Reading a range test: the two CLR bounds, single-rate suggestions, confidence.

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

The rules
---------
Let ``S`` be the smoothed loss (:func:`smooth`, along the point index; half-width
``h = max(1, round(smooth_fraction * n))``), ``S_min`` its minimum, ``S_0`` its
highest value before that and the *span* ``D = S_0 - S_min`` the total fall. Every
threshold is a fraction of ``D``, so a shifted or negative loss reads the same.

* **The valley.** ``x_down`` is where ``S`` has fallen to ``S_min + D / 2`` on
  the way down, ``x_up`` where it has risen back to that level (both interpolated
  between points). The **centre** is :math:`x_c = (x_{down} + x_{up}) / 2` and the
  **edge** :math:`x_e = x_{down} + \tfrac34 (x_{up} - x_{down})`, three quarters
  of the way across, toward the blow-up. Both average the two sides of the
  valley, so they are far steadier across seeds than the bottom of a broad, noisy
  valley (docs/benchmarks.md, "The reading": 1.3-1.6x against 2.0-3.7x on the
  suite's fitted tasks).
* **base_lr** (the paper: where the loss starts falling clearly; with a metric,
  where it starts to rise): the tangent to ``S`` at the point of steepest descent
  meets ``S_0`` at ``x_onset``, the knee; when that lies within the first ``h``
  points the curve was already changing at the first rate and ``base_lr`` is the
  sweep start.
* **max_lr** (the paper: where the loss stops falling): ``exp(x_c)``, the middle
  of the valley. Without a rise back (a sweep that never diverged) or with a
  metric, the older rule: the rate at ``S_min``, at least a factor 1.25 below the
  blow-up point (where a running median of half-width ``0.02 n`` bottoms out), the
  metric's own reading capped by the loss's. A non-finite loss at rate ``r`` caps
  it at ``r / 1.25``.
* **lr** (one fixed rate): ``min(0.4 exp(x_e), max_lr / 1.25)``, within
  ``[base_lr, max_lr]``; without an edge, the last rate with a tenth of the fall
  still ahead, at most ``max_lr / 1.25``.
* **The 1cycle peak** (:attr:`RangeTestResult.one_cycle_peak`, the peak of
  :func:`~clr_core.rangetest.recommend`'s plan): ``0.8 exp(x_e)``.

Single-rate suggestions, all read off the smoothed loss: ``steepest`` (argmin of
``dS/dx`` before the minimum), ``valley`` (the middle, in log-LR, of the descent
from the knee to the minimum, as fastai's ``valley``), ``minimum`` (the blow-up
point) and ``min_div_10``, ``center`` and ``edge`` (above), ``metric_peak`` (the
rate at the best smoothed metric). With a metric, ``diagnostics["metric_ragged_lr"]``
is where the metric turns ragged (reported, not used: on recorded MNIST-1D sweeps
it fires well below the rates training validates).

The **confidence** is the product of factors in ``[0, 1]``, each with a reason
when it is below 0.8: too few points (``n / 50`` below 50); noise
(``1 / (1 + (sigma / (0.15 D))^2)``, ``sigma`` the robust standard deviation of
the loss about ``S``); never diverged (0.5: widen the sweep); already falling at
the first rate (0.8: start lower); the minimum in the first tenth of the sweep
(0.1: diverged at once, start lower); a flat curve (``D < 2 sigma``: confidence
0, the bounds are then the sweep's ends, and ``lr`` a guess, ``FLAT_LR_FACTOR`` (0.01)
times the last rate but not below the first; the reason says whether the loss blew up
at the end (the median of its last three points ``5 sigma`` above the median of all, or
non-finite: a plateau, raising ``end_lr`` cannot help) or not (widen the sweep)). A
loss that fell only as it blew up (``S``'s last descent below halfway down its fall
starting within the last ``2h`` points, the smoother's reach, and the sweep ended on a
non-finite loss or a last point above ``S_0``) reads the same as a flat one that blew
up: the fall and the blow-up are one event, narrower than the smoothing resolves, and no
valley lies below the blow-up (``diagnostics["fell_into_blow_up"]``).

Example
-------
>>> import math
>>> lrs = [10 ** (-4 + 5 * i / 99) for i in range(100)]
>>> def loss(lr):  # flat, falls from 1e-3, bottoms at 0.1, blows up
...     x = math.log10(lr)
...     return 2.0 if x < -3 else (2.0 - (x + 3) if x < -1 else 0.0 + 40 * (x + 1) ** 2)
>>> r = analyze(lrs, [loss(v) for v in lrs])
>>> print(r.summary())  # doctest: +NORMALIZE_WHITESPACE
base_lr     0.001
max_lr      0.0266
lr          0.0212   (a fixed rate)
1cycle peak 0.0425   (the plan's peak: recommend())
confidence  1.00
bounds from loss
suggestions steepest=0.00739, valley=0.00977, minimum=0.0955, min_div_10=0.00955,
center=0.0266, edge=0.0531
- Clear curve: onset, valley and blow-up all seen.
>>> round(r.blow_up_lr, 3)   # the bottom of the V, 0.1
0.095
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from ..validation import fail, integer, real
from ._handoff import edge_factor, noise_limited
from ._landmarks import SMOOTH, Landmarks, ragged_index, read_curve, x_down
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

#: ``lr`` (one fixed rate) is this fraction of the edge (half the 1cycle peak) ...
LR_FACTOR = 0.4
#: ... and this fraction on a noise-limited reading (:func:`noise_limited`), log-linear
#: between: the noisy-label task's good fixed rates are 0.024-0.053 of its edge.
NOISY_LR_FACTOR = 0.035
#: ``lr`` of a flat loss (no valley to read): this fraction of the sweep's last rate (not
#: below its first). Not fitted on a flat sweep: on the suite's SGD tasks whose sweeps
#: stopped at a blow-up, the best fixed rate is 0.0027-0.075 of the last rate (geometric
#: mean 0.013); two decades below is a guess that trains, not a reading. It does not
#: depend on whether the loss blew up at the end: that test only chooses the advice (on a
#: noisy loss it can miss a blow-up by a hair, and the sweep's first rate, where the loss
#: did not move, is the rate least likely to train).
FLAT_LR_FACTOR = 0.01
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
        try:
            out.append(float(v))
        except OverflowError:  # an int beyond the float range (10**400)
            raise fail(f"{name}[{i}]", "a number within the float range", v) from None
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
    h: int  # the smoothing half-width, in points (or bins)


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

    return _Curves(x, lo, me, ok(lo), ok(me), bins, max(1, round(a.smooth_fraction * len(x))))


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
        factor = edge_factor(LR_FACTOR, NOISY_LR_FACTOR, _noise_weight(c))
        lr = min(factor * suggestions["edge"], max_lr / _LR_MARGIN)
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


def _noise_weight(c: _Curves) -> float:
    """How noise-limited the loss curve is (:func:`noise_limited` of its noise / span)."""
    lo = c.loss
    return noise_limited(lo.noise / lo.span) if c.loss_ok and lo.span > 0 else 0.0


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
        "noise_limited": _noise_weight(c),
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
        Each point's rate: finite, ``>= 0``, increasing (``lr == 0`` has no log: unread).
    losses : sequence of float
        The training loss at each point; shifted and negative losses read the same.
        The reading stops at the first non-finite loss, which counts as divergence.
    metrics : sequence of float, optional
        A metric at each point (e.g. held-out accuracy): ``base_lr`` and ``max_lr``
        are then read off it, as in the paper, the loss still capping them.
    batch_size : int, optional
        Recorded in the provenance: the bounds hold for this batch size.
    metric_mode, metric_name : {"max", "min"}, str
        Whether the metric is better high (accuracy) or low; its name, for plots.
    smooth_fraction, provenance : float, dict
        Smoothing half-width as a fraction of the points (0.05); extra JSON data to
        keep with the result (sweep parameters...).

    Returns
    -------
    RangeTestResult

    Raises
    ------
    ValueError, TypeError
        Fewer than :data:`MIN_POINTS` points (unless the last loss is non-finite: the
        result then says the sweep diverged at once), lengths that differ, rates
        negative, non-finite or unsorted (ValueError); values not real (TypeError).

    Notes
    -----
    The rules are this module's (its documentation and example): with ``x_down``,
    ``x_up`` the log-rates halfway into the loss valley and halfway back out,
    :math:`\text{max\_lr} = e^{(x_{down} + x_{up})/2}`, the edge
    :math:`e^{x_{down} + \frac34 (x_{up} - x_{down})}` and
    :math:`\text{lr} = \min(0.4\,\text{edge}, \text{max\_lr}/1.25)`.
    """
    a = _inputs(
        lrs, losses, metrics, batch_size, metric_mode, metric_name, smooth_fraction, provenance
    )
    first, stop, reasons = _usable(a)
    result = functools.partial(
        RangeTestResult, lrs=tuple(a.lrs), losses=tuple(a.losses),
        metrics=None if a.metrics is None else tuple(a.metrics), provenance=a.provenance,
    )  # fmt: skip
    if stop - first < MIN_POINTS:
        return _at_once(result, a, first, stop, reasons)
    c = _read(a, first, stop)
    if a.metrics is not None and not c.metric_ok:
        reasons.append("The metric is flat (its change is within its noise): it was ignored.")
    diverged = stop < len(a.lrs) or c.loss.i_div is not None
    smoothed = tuple(_smoothed_per_point(c, len(a.lrs), first, stop))
    fell = c.loss_ok and not c.metric_ok and _fell_into_blow_up(c.loss, c.h, stop < len(a.lrs))
    if fell or not (c.loss_ok or c.metric_ok):  # nothing to read
        return _flat(result, a, c, (first, stop), reasons, smoothed, diverged or fell, fell=fell)
    base_lr, max_lr, lr, suggestions = _bounds(c, a, stop)
    confidence, more, early = _confidence(c, stop - first, diverged, c.h)
    if early:
        base_lr = min(math.exp(c.x[0]), max_lr)
    reasons += more or ([] if reasons else ["Clear curve: onset, valley and blow-up all seen."])
    primary = c.metric if (c.metric is not None and c.metric_ok) else c.loss
    return result(
        base_lr=base_lr, max_lr=max_lr, lr=lr, confidence=max(0.0, min(1.0, confidence)),
        reasons=tuple(reasons), suggestions=suggestions, smoothed=smoothed, diverged=diverged,
        bounds_from="metric" if primary is c.metric else "loss",
        diagnostics=_diagnostics(c, stop - first, c.h, primary.noise / primary.span),
    )  # fmt: skip


def _at_once(result: Any, a: _Inputs, first: int, stop: int, reasons: list[str]) -> RangeTestResult:
    """Fewer than MIN_POINTS usable points before a non-finite loss: diverged at once."""
    m, n = stop - first, len(a.lrs)
    reasons.append(
        f"Only {m} usable point(s) before the loss became non-finite: the sweep diverged "
        "at once. Start it lower (e.g. 100 times lower) and run it again."
    )
    start = a.lrs[first] if first < n else a.lrs[0]
    out: RangeTestResult = result(
        base_lr=start, max_lr=start, lr=start, confidence=0.0, reasons=tuple(reasons),
        suggestions={}, smoothed=(math.nan,) * n, diverged=True, bounds_from="loss",
        diagnostics={"usable_points": m},
    )  # fmt: skip
    return out


#: A flat loss "rose at the end" when the median of its last three points lies this many
#: noise deviations above the median of the whole curve (or the sweep ended on a
#: non-finite loss): a blow-up is sudden, and the stop rule ends the sweep soon after it.
_FLAT_RISE = 5.0


def _rose_at_end(losses: Sequence[float], noise: float) -> bool:
    return median(losses[-3:]) - median(losses) > _FLAT_RISE * noise


def _fell_into_blow_up(lo: Landmarks, h: int, nonfinite_end: bool) -> bool:
    """Whether the loss fell only as it blew up: the smoothed curve's last descent into its
    minimum (the run of points at or below halfway down its fall that ends there) starts
    within the last ``2h`` points (the reach of the smoother's triangular kernel, so a fall
    confined to the last points looks exactly like this), and the sweep ended on a blow-up
    (a non-finite loss, or a last point above where the fall started). The fall and the
    blow-up are then one event, narrower than the smoothing can resolve: there is no valley
    below the blow-up to read (docs/benchmarks.md, "a loss that fell only as it blew up")."""
    k = lo.n - 2 - 2 * h  # the last point before the smoother's reach of the end
    down = x_down(lo)
    late = k < 0 or (down is not None and down > lo.x[k])
    return late and (nonfinite_end or lo.y[-1] > lo.s_start)


def _flat(
    result: Any, a: _Inputs, c: _Curves, usable: tuple[int, int], reasons: list[str],
    smoothed: tuple[float, ...], diverged: bool, *, fell: bool = False,
) -> RangeTestResult:  # fmt: skip
    """Nothing to read: neither curve falls by more than its noise, or (``fell``) the
    loss fell only as it blew up (:func:`_fell_into_blow_up`); the bounds are the sweep's
    ends.

    A flat loss that rose at the end (:func:`_rose_at_end`, or a non-finite end) is a
    model that did not learn within the sweep's steps at any rate below the blow-up: the
    reason says so, since raising ``end_lr`` cannot help there."""
    first, stop = usable
    m = stop - first
    h = max(1, round(a.smooth_fraction * m))
    rose = fell or stop < len(a.lrs) or _rose_at_end(a.losses[first:stop], c.loss.noise)
    start, last = math.exp(c.x[0]), math.exp(c.x[-1])
    if fell:
        head = (
            "The loss fell only as it blew up: its fall came within the last "
            f"{2 * h} points, the smoothing's reach, and the sweep ended on a blow-up (its last "
            f"rate {last:.3g}), so the fall and the blow-up cannot be told apart: no rate below "
            f"the blow-up was seen to train the model within the sweep's {m} steps."
        )
    else:
        head = (
            "The loss is flat: its fall over the sweep "
            f"({max(c.loss.span, 0.0):.3g}) is within the noise ({c.loss.noise:.3g})."
        )
        if rose:
            head += (
                " It did not fall before it rose at the end of the sweep (its last rate "
                f"{last:.3g}): no rate trained the model within the sweep's {m} steps."
            )
    lr = max(start, FLAT_LR_FACTOR * last)
    where = f"{FLAT_LR_FACTOR:g} x the sweep's last rate" if lr > start else "the first rate"
    guess = f"lr ({lr:.3g}) is {where}: a guess, not a reading."
    if rose:
        reasons.append(
            head + " Nothing can be read off it, and raising end_lr cannot help. A model "
            "whose loss moves only after many steps at a rate (a plateau, as recurrent "
            "networks and deep networks without normalisation often have) cannot be read by "
            "a short sweep: choose its rate another way, e.g. a few fixed rates a decade and "
            "more below where this sweep blew up. " + guess
        )
    else:
        reasons.append(
            head + " Nothing can be read off it (the bounds are the ends of the sweep): widen "
            "the sweep (raise end_lr) or check that the model trains at all. " + guess
        )
    out: RangeTestResult = result(
        base_lr=start, max_lr=last, lr=lr,
        confidence=0.0, reasons=tuple(reasons), suggestions={}, smoothed=smoothed,
        diverged=diverged, bounds_from="loss",
        diagnostics={"usable_points": m, "smoothing_half_width": h,
                     "loss_span": c.loss.span, "loss_noise": c.loss.noise,
                     **({"fell_into_blow_up": True} if fell else {})},
    )  # fmt: skip
    return out


def _log_median(values: Sequence[float]) -> float:
    return math.exp(median([math.log(v) for v in values]))


def _combined_reasons(
    items: Sequence[RangeTestResult], spread: Mapping[str, float], f_spread: float
) -> list[str]:
    """The combined reading's reasons: what was combined, whether the repeats agree, and
    every repeat's own reasons once each."""
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
    return reasons


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
    reasons = _combined_reasons(items, spread, f_spread)
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
            "noise_limited": median([r.noise_weight for r in items]),
        },
        provenance={"combined": [r.provenance for r in items]},
    )
