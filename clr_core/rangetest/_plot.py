"""The picture of a range test: loss against rate on a log axis, bounds marked."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ._reading import Reading

__all__ = ["plot"]


def _points(xs: Sequence[float], ys: Sequence[float]) -> list[tuple[float, float]]:
    """The points with a finite ``y`` and a positive ``x`` (drawable on a log axis)."""
    return [(a, b) for a, b in zip(xs, ys, strict=False) if math.isfinite(b) and a > 0]


def _marks(ax: Any, result: Reading, show_suggestions: bool) -> None:
    """The bounds band, ``lr``, the 1cycle peak and (optionally) every suggestion."""
    ax.axvspan(result.base_lr, result.max_lr, color="C2", alpha=0.15,
               label=f"CLR bounds {result.base_lr:.2g} - {result.max_lr:.2g}")  # fmt: skip
    ax.axvline(result.lr, color="C3", ls="--", lw=1.5, label=f"lr {result.lr:.2g}")
    peak = result.one_cycle_peak
    ax.axvline(peak, color="C1", ls="-.", lw=1.5, label=f"1cycle peak {peak:.2g}")
    if show_suggestions:
        for i, (name, v) in enumerate(result.suggestions.items()):
            ax.axvline(v, color=f"C{4 + i}", ls=":", lw=1, label=f"{name} {v:.2g}")


def plot(result: Reading, ax: Any = None, *, show_suggestions: bool = True) -> Any:
    """Draw the loss (raw and smoothed) against the rate on a log axis, bounds marked.

    Needs matplotlib (``pip install clr-core[plot]``). Returns the axes.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "RangeTestResult.plot() needs matplotlib: pip install 'clr-core[plot]'"
        ) from None
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.2))
    raw = _points(result.lrs, result.losses)
    if raw:
        ax.plot(*zip(*raw, strict=False), color="0.75", lw=1, label="loss")
    sm = _points(result.lrs, result.smoothed)
    if sm:
        ax.plot(*zip(*sm, strict=False), color="C0", lw=2, label="smoothed loss")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    _marks(ax, result, show_suggestions)
    if sm:
        lo = min(b for _, b in sm)
        hi = max(b for _, b in sm)
        pad = 0.15 * (hi - lo or 1.0)
        if math.isfinite(lo - pad) and math.isfinite(hi + 2 * pad):
            ax.set_ylim(lo - pad, hi + 2 * pad)
    if result.metrics is not None:
        ax2 = ax.twinx()
        pts = _points(result.lrs, result.metrics)
        if pts:
            ax2.plot(*zip(*pts, strict=False), color="C1", lw=1, alpha=0.8, label="metric")
        ax2.set_ylabel(str(result.provenance.get("metric_name") or "metric"))
    ax.set_title(f"LR range test (confidence {result.confidence:.2f})")
    ax.legend(fontsize="small", loc="best")
    return ax
