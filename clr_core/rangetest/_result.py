"""The value a range test produces, its hand-off to a schedule, and its file forms."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
from typing import Any

from .._base import Schedule, _fail, choice, integer, real
from .._cyclic import ExpRange, Triangular, Triangular2
from .._one_cycle import OneCycle
from ._io import META_PREFIX, decode_float, encode_float, read_sweep_csv

__all__ = [
    "RangeTestResult",
    "half_cycle",
    "DEFAULT_EPOCHS_PER_HALF_CYCLE",
    "ONE_CYCLE_DIV",
    "RECOMMENDED_POLICY",
]

#: The CLR paper (section 3.2) advises a half cycle of 2-10 epochs; we default to 4,
#: in the lower middle: short enough for several cycles in a modest budget.
DEFAULT_EPOCHS_PER_HALF_CYCLE = 4.0
#: 1cycle starts at ``peak / 10``: the low end about an order of magnitude below the peak,
#: as in Smith's 1cycle examples (arXiv 1708.07120, 1803.09820). PyTorch and fastai default
#: to 25; pass ``div_factor=25`` for theirs (on MNIST-1D, docs/benchmarks.md, 25 helped a
#: hand-picked peak of 0.25 and did not help the range test's own peak).
ONE_CYCLE_DIV = 10.0
#: The policy the hand-off recommends: 1cycle (see :meth:`RangeTestResult.to_one_cycle`).
RECOMMENDED_POLICY = "one_cycle"

_POLICIES = ("triangular", "triangular2", "exp_range", "one_cycle")


def half_cycle(
    iterations_per_epoch: int,
    epochs: float | None = None,
    epochs_per_half_cycle: float = DEFAULT_EPOCHS_PER_HALF_CYCLE,
) -> tuple[int, int]:
    """``(step_size, cycles)`` for a cyclic policy by the paper's 2-10 epochs rule.

    Without a budget, ``step_size = round(epochs_per_half_cycle * iterations_per_epoch)``
    and ``cycles = 0`` (open-ended). With ``epochs``, the budget of
    ``T = round(epochs * iterations_per_epoch)`` steps is split into
    ``c = max(1, round(T / (2 h)))`` whole cycles (``h`` the target half cycle in
    steps) and ``step_size = T // (2 c)``: training for ``2 c step_size`` steps ends
    exactly at the end of a cycle, at ``base_lr``, as the paper advises (at most
    ``2c - 1`` steps of the budget are left over).

    >>> half_cycle(100)
    (400, 0)
    >>> half_cycle(100, epochs=30)   # 3000 steps: 4 cycles of 2 * 375
    (375, 4)
    """
    ipe = integer("iterations_per_epoch", iterations_per_epoch, low=1)
    h = real("epochs_per_half_cycle", epochs_per_half_cycle, low=0.0, low_open=True)
    target = max(1, round(h * ipe))
    if epochs is None:
        return target, 0
    total = round(real("epochs", epochs, low=0.0, low_open=True) * ipe)
    if total < 2:
        raise _fail("epochs", f"long enough for 2 steps at {ipe} iterations per epoch", epochs)
    cycles = max(1, round(total / (2 * target)))
    return total // (2 * cycles), cycles


def _tuple(values: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


@dataclasses.dataclass(frozen=True, eq=False)
class RangeTestResult:
    """The reading of an LR range test (see :func:`~clr_core.rangetest.analyze`).

    Attributes
    ----------
    base_lr, max_lr : float
        The two CLR bounds, as the paper reads them off the curve.
    lr : float
        One rate for a fixed-LR schedule: a conservative pick below ``max_lr``.
        (For 1cycle the peak is :attr:`one_cycle_peak`; see :meth:`to_one_cycle`.)
    confidence : float
        How far to trust the bounds, in ``[0, 1]``; ``reasons`` says why it is not 1.
    reasons : tuple of str
        Plain-English diagnoses (too few points, too noisy, never diverged...).
    suggestions : dict
        Every single-rate method computed, by name: ``"steepest"``,
        ``"valley"``, ``"minimum"``, ``"min_div_10"`` (and ``"metric_peak"``
        when a metric was given).
    lrs, losses : tuple of float
        The recorded points, non-finite losses included.
    smoothed : tuple of float
        The smoothed loss at each point (``nan`` where the analysis stopped:
        after a non-finite loss, or at ``lr == 0``).
    metrics : tuple of float or None
        The recorded metric (e.g. held-out accuracy), if any.
    diverged : bool
        Whether the sweep reached the blow-up (a non-finite loss, or the
        smoothed curve rising well above its minimum).
    bounds_from : {"loss", "metric"}
        Which curve the bounds were read from.
    diagnostics : dict
        Numbers behind the reading (span, noise, landmarks), for inspection.
    provenance : dict
        Sweep parameters, batch size, stop reason: how the curve was made.
    """

    base_lr: float
    max_lr: float
    lr: float
    confidence: float
    reasons: tuple[str, ...]
    suggestions: dict[str, float]
    lrs: tuple[float, ...]
    losses: tuple[float, ...]
    smoothed: tuple[float, ...]
    metrics: tuple[float, ...] | None = None
    diverged: bool = False
    bounds_from: str = "loss"
    diagnostics: dict[str, Any] = dataclasses.field(default_factory=dict)
    provenance: dict[str, Any] = dataclasses.field(default_factory=dict)

    __hash__ = None  # type: ignore[assignment]  # holds dicts: a value, but not hashable

    def __eq__(self, other: object) -> bool:
        """Equal when every field is, ``nan`` matching ``nan`` (as after a file round trip)."""
        if not isinstance(other, RangeTestResult):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    @property
    def blow_up_lr(self) -> float | None:
        """Where the loss bottoms out and turns up (``diagnostics["blow_up_lr"]``), if found."""
        v = self.diagnostics.get("blow_up_lr")
        return None if v is None else float(v)

    # ------------------------------------------------------------------ hand-off

    def to_schedule(
        self,
        policy: str = "triangular",
        iterations_per_epoch: int = 1,
        *,
        epochs: float | None = None,
        epochs_per_half_cycle: float = DEFAULT_EPOCHS_PER_HALF_CYCLE,
        **kwargs: Any,
    ) -> Schedule:
        """A configured clr_core schedule between the bounds found.

        Parameters
        ----------
        policy : {"triangular", "triangular2", "exp_range", "one_cycle"}
        iterations_per_epoch : int
            Optimizer steps per epoch.
        epochs : float, optional
            The training budget. Cyclic policies are fitted to it so the run ends
            at a cycle end (:func:`half_cycle`); ``one_cycle`` needs it (its
            ``total_steps = round(epochs * iterations_per_epoch)``).
        epochs_per_half_cycle : float
            The paper's 2-10 epochs per half cycle; default 4.
        **kwargs
            Passed on: ``gamma`` for ``exp_range`` (default: the amplitude
            falls to 10% over the budget, else the paper's 0.99994);
            ``div_factor`` (default 10), ``pct_start``, ``three_phase``... for
            ``one_cycle``.

        Examples
        --------
        >>> r = RangeTestResult(0.01, 0.2, 0.1, 1.0, (), {}, (), (), ())
        >>> r.to_schedule("triangular", iterations_per_epoch=32, epochs=30)
        Triangular(base_lr=0.01, max_lr=0.2, step_size_up=120, step_size_down=120)
        >>> r.to_schedule("one_cycle", 32, epochs=30).div_factor
        10.0
        """
        choice("policy", policy, _POLICIES)
        if policy == "one_cycle":
            if epochs is None:
                raise _fail("epochs", "given for policy='one_cycle' (its total length)", epochs)
            return self.to_one_cycle(iterations_per_epoch, epochs, **kwargs)
        step, cycles = half_cycle(iterations_per_epoch, epochs, epochs_per_half_cycle)
        if policy == "triangular":
            return Triangular(self.base_lr, self.max_lr, step, **kwargs)
        if policy == "triangular2":
            return Triangular2(self.base_lr, self.max_lr, step, **kwargs)
        if "gamma" not in kwargs:
            kwargs["gamma"] = 0.1 ** (1.0 / (2 * step * cycles)) if cycles else 0.99994
        return ExpRange(self.base_lr, self.max_lr, step, **kwargs)

    def to_triangular(
        self,
        iterations_per_epoch: int,
        *,
        epochs: float | None = None,
        epochs_per_half_cycle: float = DEFAULT_EPOCHS_PER_HALF_CYCLE,
    ) -> Triangular:
        """:meth:`to_schedule` with ``policy="triangular"``."""
        s = self.to_schedule("triangular", iterations_per_epoch, epochs=epochs,
                             epochs_per_half_cycle=epochs_per_half_cycle)  # fmt: skip
        assert isinstance(s, Triangular)
        return s

    def to_triangular2(
        self,
        iterations_per_epoch: int,
        *,
        epochs: float | None = None,
        epochs_per_half_cycle: float = DEFAULT_EPOCHS_PER_HALF_CYCLE,
    ) -> Triangular2:
        """:meth:`to_schedule` with ``policy="triangular2"``."""
        s = self.to_schedule("triangular2", iterations_per_epoch, epochs=epochs,
                             epochs_per_half_cycle=epochs_per_half_cycle)  # fmt: skip
        assert isinstance(s, Triangular2)
        return s

    def to_exp_range(
        self,
        iterations_per_epoch: int,
        *,
        epochs: float | None = None,
        epochs_per_half_cycle: float = DEFAULT_EPOCHS_PER_HALF_CYCLE,
        gamma: float | None = None,
    ) -> ExpRange:
        """:meth:`to_schedule` with ``policy="exp_range"``."""
        extra = {} if gamma is None else {"gamma": gamma}
        s = self.to_schedule("exp_range", iterations_per_epoch, epochs=epochs,
                             epochs_per_half_cycle=epochs_per_half_cycle, **extra)  # fmt: skip
        assert isinstance(s, ExpRange)
        return s

    @property
    def one_cycle_peak(self) -> float:
        """The peak for 1cycle: the top of the usable range, not the cautious ``max_lr``.

        ``min(metric_peak, minimum)`` of :attr:`suggestions` (whichever exist: the
        rate at the best smoothed metric, and the bottom of the loss valley), never
        below ``max_lr``; ``max_lr`` when neither was read. A cyclic policy spends
        a long time at its top, so ``max_lr`` keeps a margin below the blow-up; 1cycle
        passes its peak once and then anneals, and Smith's 1cycle report (arXiv
        1803.09820) takes the peak at the largest rate that still trains. Measured
        on MNIST-1D over 10 seeds (docs/benchmarks.md), 30-epoch 1cycle peaking here
        ended 1.2 points above one peaking at ``max_lr``, with no run collapsing.
        """
        cands = [self.suggestions[k] for k in ("metric_peak", "minimum") if k in self.suggestions]
        return max(self.max_lr, min(cands)) if cands else self.max_lr

    def to_one_cycle(
        self,
        iterations_per_epoch: int,
        epochs: float,
        *,
        peak: float | None = None,
        div_factor: float = ONE_CYCLE_DIV,
        **kwargs: Any,
    ) -> OneCycle:
        """1cycle over ``epochs`` peaking at :attr:`one_cycle_peak`, from ``peak / div_factor``.

        ``peak`` overrides the peak (e.g. ``result.max_lr`` for a cautious run);
        ``div_factor`` defaults to 10; other keywords go to
        :class:`~clr_core.OneCycle` (``pct_start``, ``three_phase``, ...). Of the
        policies the hand-off offers, this is the one we recommend
        (:data:`RECOMMENDED_POLICY`): on MNIST-1D triangular2 and exp_range fitted
        to the same 30-epoch budget ended 4.1 and 5.4 points lower (docs/benchmarks.md).
        """
        ipe = integer("iterations_per_epoch", iterations_per_epoch, low=1)
        total = round(real("epochs", epochs, low=0.0, low_open=True) * ipe)
        top = self.one_cycle_peak if peak is None else real("peak", peak, low=0.0, low_open=True)
        return OneCycle(top, total_steps=total, div_factor=div_factor, **kwargs)

    # ------------------------------------------------------------------ text

    def summary(self) -> str:
        """A few lines for people: bounds, suggestions, confidence and reasons."""
        lines = [
            f"base_lr     {self.base_lr:.3g}",
            f"max_lr      {self.max_lr:.3g}",
            f"lr          {self.lr:.3g}   (a fixed rate)",
            f"1cycle peak {self.one_cycle_peak:.3g}   (recommended: to_one_cycle)",
            f"confidence  {self.confidence:.2f}",
            f"bounds from {self.bounds_from}" + ("" if self.diverged else " (no divergence seen)"),
            "suggestions " + ", ".join(f"{k}={v:.3g}" for k, v in self.suggestions.items()),
        ]
        lines += [f"- {r}" for r in self.reasons]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    # ------------------------------------------------------------------ files

    def to_dict(self) -> dict[str, Any]:
        """Plain, strict-JSON data (non-finite floats as ``"nan"``/``"inf"`` strings)."""

        def arr(v: tuple[float, ...] | None) -> list[float | str] | None:
            return None if v is None else [encode_float(x) for x in v]

        return {
            "format": "clr-rangetest/1",
            "base_lr": self.base_lr,
            "max_lr": self.max_lr,
            "lr": self.lr,
            "confidence": self.confidence,
            "reasons": list(self.reasons),
            "suggestions": {k: encode_float(v) for k, v in self.suggestions.items()},
            "diverged": self.diverged,
            "bounds_from": self.bounds_from,
            "diagnostics": self.diagnostics,
            "provenance": self.provenance,
            "lrs": arr(self.lrs),
            "losses": arr(self.losses),
            "smoothed": arr(self.smoothed),
            "metrics": arr(self.metrics),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RangeTestResult:
        """Invert :meth:`to_dict`."""
        if not isinstance(data, dict) or data.get("format") != "clr-rangetest/1":
            raise ValueError("Not a clr-rangetest result (missing format 'clr-rangetest/1').")

        def arr(v: Any) -> tuple[float, ...] | None:
            return None if v is None else tuple(decode_float(x) for x in v)

        return cls(
            base_lr=float(data["base_lr"]),
            max_lr=float(data["max_lr"]),
            lr=float(data["lr"]),
            confidence=float(data["confidence"]),
            reasons=tuple(data["reasons"]),
            suggestions={k: decode_float(v) for k, v in data["suggestions"].items()},
            lrs=arr(data["lrs"]) or (),
            losses=arr(data["losses"]) or (),
            smoothed=arr(data["smoothed"]) or (),
            metrics=arr(data["metrics"]),
            diverged=bool(data["diverged"]),
            bounds_from=str(data["bounds_from"]),
            diagnostics=dict(data["diagnostics"]),
            provenance=dict(data["provenance"]),
        )

    def to_json(self, path: str | os.PathLike[str] | None = None, *, indent: int | None = 1) -> str:
        """Lossless strict JSON text; also written to ``path`` when given.

        >>> r = RangeTestResult(0.01, 0.2, 0.1, 0.9, ("ok",), {"steepest": 0.05},
        ...                     (0.01, 0.1), (2.0, float("nan")), (2.0, float("nan")))
        >>> RangeTestResult.from_json(r.to_json()) == r
        True
        """
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            with open(os.fspath(path), "w", encoding="utf-8") as f:
                f.write(text + "\n")
        return text

    @classmethod
    def from_json(cls, source: str | os.PathLike[str]) -> RangeTestResult:
        """Load from JSON text (a string starting with ``{``) or from a file path."""
        if isinstance(source, str) and source.lstrip().startswith("{"):
            text = source
        else:
            with open(os.fspath(source), encoding="utf-8") as f:
                text = f.read()
        return cls.from_dict(json.loads(text))

    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        """CSV text: a ``# clr-rangetest {json}`` metadata line, then one row per point.

        Columns ``lr,loss,smoothed`` (and ``metric`` when present), floats
        written with ``repr`` so they read back exactly. Any program that skips
        ``#`` comment lines reads it as a plain table; ``clr analyze`` reads it too.
        """
        meta = self.to_dict()
        for key in ("lrs", "losses", "smoothed", "metrics"):
            meta.pop(key)
        meta["has_metric"] = self.metrics is not None
        buf = io.StringIO()
        buf.write(META_PREFIX + json.dumps(meta, allow_nan=False) + "\n")
        cols = ["lr", "loss", "smoothed"] + (["metric"] if self.metrics is not None else [])
        buf.write(",".join(cols) + "\n")
        for i in range(len(self.lrs)):
            row = [self.lrs[i], self.losses[i], self.smoothed[i]]
            if self.metrics is not None:
                row.append(self.metrics[i])
            buf.write(",".join(repr(float(v)) for v in row) + "\n")
        text = buf.getvalue()
        if path is not None:
            with open(os.fspath(path), "w", encoding="utf-8", newline="") as f:
                f.write(text)
        return text

    @classmethod
    def from_csv(cls, source: str | os.PathLike[str]) -> RangeTestResult:
        """Load what :meth:`to_csv` wrote (CSV text or a path).

        A plain sweep CSV without the metadata line is analysed afresh instead.
        """
        if isinstance(source, str) and "\n" in source:
            text = source
        else:
            with open(os.fspath(source), encoding="utf-8", newline="") as f:
                text = f.read()
        lrs, losses, _, meta = read_sweep_csv(io.StringIO(text))
        if meta is None:
            from ._analysis import analyze

            return analyze(lrs, losses)
        has_metric = bool(meta.get("has_metric"))
        metrics = read_sweep_csv(io.StringIO(text), "metric")[2] if has_metric else None
        smoothed = read_sweep_csv(io.StringIO(text), "smoothed")[2] or []
        meta = dict(meta)
        meta.pop("has_metric", None)
        meta["lrs"] = [encode_float(v) for v in lrs]
        meta["losses"] = [encode_float(v) for v in losses]
        meta["smoothed"] = [encode_float(v) for v in smoothed]
        meta["metrics"] = None if metrics is None else [encode_float(v) for v in metrics]
        return cls.from_dict(meta)

    # ------------------------------------------------------------------ plot

    def plot(self, ax: Any = None, *, show_suggestions: bool = True) -> Any:
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
        finite = [
            (a, b)
            for a, b in zip(self.lrs, self.losses, strict=False)
            if math.isfinite(b) and a > 0
        ]
        if finite:
            ax.plot(*zip(*finite, strict=False), color="0.75", lw=1, label="loss")
        sm = [
            (a, b)
            for a, b in zip(self.lrs, self.smoothed, strict=False)
            if math.isfinite(b) and a > 0
        ]
        if sm:
            ax.plot(*zip(*sm, strict=False), color="C0", lw=2, label="smoothed loss")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        ax.axvspan(self.base_lr, self.max_lr, color="C2", alpha=0.15,
                   label=f"CLR bounds {self.base_lr:.2g} - {self.max_lr:.2g}")  # fmt: skip
        ax.axvline(self.lr, color="C3", ls="--", lw=1.5, label=f"lr {self.lr:.2g}")
        peak = self.one_cycle_peak
        ax.axvline(peak, color="C1", ls="-.", lw=1.5, label=f"1cycle peak {peak:.2g}")
        if show_suggestions:
            for i, (name, v) in enumerate(self.suggestions.items()):
                ax.axvline(v, color=f"C{4 + i}", ls=":", lw=1, label=f"{name} {v:.2g}")
        if sm:
            lo = min(b for _, b in sm)
            hi = max(b for _, b in sm)
            pad = 0.15 * (hi - lo or 1.0)
            ax.set_ylim(lo - pad, hi + 2 * pad)
        if self.metrics is not None:
            ax2 = ax.twinx()
            pts = [
                (a, m)
                for a, m in zip(self.lrs, self.metrics, strict=False)
                if math.isfinite(m) and a > 0
            ]
            if pts:
                ax2.plot(*zip(*pts, strict=False), color="C1", lw=1, alpha=0.8, label="metric")
            ax2.set_ylabel(str(self.provenance.get("metric_name") or "metric"))
        ax.set_title(f"LR range test (confidence {self.confidence:.2f})")
        ax.legend(fontsize="small", loc="best")
        return ax
