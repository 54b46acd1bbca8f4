"""The value a range test produces; its methods hand each job to its own module.

:mod:`._handoff` turns the bounds into a schedule, :mod:`._summary` into text,
:mod:`._files` into dict, JSON and CSV data, :mod:`._plot` into a figure.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import TYPE_CHECKING, Any, TypeVar

from .._cyclic import ExpRange, Triangular, Triangular2
from .._one_cycle import OneCycle
from ..validation import choice, fail, integer, interval, real
from . import _files, _handoff, _plot, _summary
from ._handoff import (
    DEFAULT_EPOCHS_PER_HALF_CYCLE,
    ONE_CYCLE_DIV,
    RECOMMENDED_POLICY,
    half_cycle,
)

if TYPE_CHECKING:
    from ._recommend import Plan

S = TypeVar("S")

__all__ = [
    "RangeTestResult",
    "half_cycle",
    "DEFAULT_EPOCHS_PER_HALF_CYCLE",
    "ONE_CYCLE_DIV",
    "RECOMMENDED_POLICY",
]


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

    def __post_init__(self) -> None:
        # The numbers every consumer relies on (combine takes their logs): checked once here.
        set_ = functools.partial(object.__setattr__, self)
        set_("base_lr", real("base_lr", self.base_lr, low=0.0, low_open=True))
        set_("max_lr", interval("base_lr", self.base_lr, "max_lr", self.max_lr)[1])
        set_("lr", real("lr", self.lr, low=0.0, low_open=True))
        set_("confidence", real("confidence", self.confidence, low=0.0, high=1.0))
        choice("bounds_from", self.bounds_from, ("loss", "metric"))
        self._check_read_fields()

    def _check_read_fields(self) -> None:
        """The parts of ``suggestions`` and ``diagnostics`` the hand-off and the plan read:
        every suggestion is a rate (finite, > 0), ``blow_up_lr`` a rate or None,
        ``noise_limited`` a weight in [0, 1], and the provenance's ``batch_size`` a positive
        integer or None. Checked here, so a file that would crash a
        later call is refused when it is loaded."""
        for field in ("suggestions", "diagnostics", "provenance"):
            if not isinstance(getattr(self, field), dict):
                raise fail(field, "a dict", getattr(self, field), TypeError)
        for name, value in self.suggestions.items():
            if not isinstance(name, str):
                raise fail("suggestions", "a dict of named rates", self.suggestions, TypeError)
            real(f"suggestions[{name!r}]", value, low=0.0, low_open=True)
        d = self.diagnostics
        if d.get("blow_up_lr") is not None:
            real("diagnostics['blow_up_lr']", d["blow_up_lr"], low=0.0, low_open=True)
        if "noise_limited" in d:
            real("diagnostics['noise_limited']", d["noise_limited"], low=0.0, high=1.0)
        if self.provenance.get("batch_size") is not None:  # the plan's reasons read it
            integer("provenance['batch_size']", self.provenance["batch_size"], low=1)

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
    ) -> Triangular | Triangular2 | ExpRange | OneCycle:
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
        return _handoff.to_schedule(
            self.base_lr, self.max_lr, self.one_cycle_peak, policy, iterations_per_epoch,
            epochs=epochs, epochs_per_half_cycle=epochs_per_half_cycle, **kwargs,
        )  # fmt: skip

    def _policy(self, policy: str, cls: type[S], ipe: int, **kwargs: Any) -> S:
        s = self.to_schedule(policy, ipe, **kwargs)
        assert isinstance(s, cls)
        return s

    def to_triangular(
        self,
        iterations_per_epoch: int,
        *,
        epochs: float | None = None,
        epochs_per_half_cycle: float = DEFAULT_EPOCHS_PER_HALF_CYCLE,
    ) -> Triangular:
        """:meth:`to_schedule` with ``policy="triangular"``."""
        return self._policy("triangular", Triangular, iterations_per_epoch, epochs=epochs,
                            epochs_per_half_cycle=epochs_per_half_cycle)  # fmt: skip

    def to_triangular2(
        self,
        iterations_per_epoch: int,
        *,
        epochs: float | None = None,
        epochs_per_half_cycle: float = DEFAULT_EPOCHS_PER_HALF_CYCLE,
    ) -> Triangular2:
        """:meth:`to_schedule` with ``policy="triangular2"``."""
        return self._policy("triangular2", Triangular2, iterations_per_epoch, epochs=epochs,
                            epochs_per_half_cycle=epochs_per_half_cycle)  # fmt: skip

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
        return self._policy("exp_range", ExpRange, iterations_per_epoch, epochs=epochs,
                            epochs_per_half_cycle=epochs_per_half_cycle, **extra)  # fmt: skip

    @property
    def noise_weight(self) -> float:
        """How noise-limited the reading is, 0 (clean) to 1 (``diagnostics["noise_limited"]``,
        see :func:`~clr_core.rangetest.noise_limited`; 0 for results saved without it)."""
        return float(self.diagnostics.get("noise_limited", 0.0))

    @property
    def one_cycle_peak(self) -> float:
        """The peak for 1cycle: a multiple of the ``edge`` suggestion (three quarters of
        the way across the loss valley, toward the blow-up).

        :data:`~clr_core.rangetest.PEAK_FACTOR` (0.8) times the edge on a clean reading,
        :data:`~clr_core.rangetest.NOISY_PEAK_FACTOR` (0.11) on a noise-limited one
        (:attr:`noise_weight`), log-linear between, at most
        :data:`~clr_core.rangetest.PEAK_CAP` (4) times ``max_lr``; ``max_lr`` when there
        is no edge.
        1cycle passes its peak once and then anneals, so it peaks above ``max_lr``, the
        centre of the valley; where the loss is noisy next to its fall (noisy labels, a
        noisy target) generalisation, not stability, limits the rate. The evidence is
        in docs/benchmarks.md.
        """
        return _handoff.one_cycle_peak(self.max_lr, self.suggestions, self.noise_weight)

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
        return _handoff.to_one_cycle(
            self.one_cycle_peak, iterations_per_epoch, epochs,
            peak=peak, div_factor=div_factor, **kwargs,
        )  # fmt: skip

    def recommend(
        self, iterations_per_epoch: int, epochs: float | None = None, *, cycle_momentum: bool = True
    ) -> Plan:
        """The plan we stand behind for ``epochs`` (see :func:`~clr_core.rangetest.recommend`)."""
        from ._recommend import recommend

        return recommend(self, iterations_per_epoch, epochs, cycle_momentum=cycle_momentum)

    # ------------------------------------------------------------------ text

    def summary(self) -> str:
        """A few lines for people: bounds, suggestions, confidence and reasons."""
        return _summary.summary(self)

    def __str__(self) -> str:
        return self.summary()

    # ------------------------------------------------------------------ files

    def to_dict(self) -> dict[str, Any]:
        """Plain, strict-JSON data (non-finite floats as ``"nan"``/``"inf"`` strings)."""
        return _files.to_dict({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RangeTestResult:
        """Invert :meth:`to_dict`."""
        return cls(**_files.from_dict(data))

    def to_json(self, path: str | os.PathLike[str] | None = None, *, indent: int | None = 1) -> str:
        """Lossless strict JSON text; also written to ``path`` when given.

        >>> r = RangeTestResult(0.01, 0.2, 0.1, 0.9, ("ok",), {"steepest": 0.05},
        ...                     (0.01, 0.1), (2.0, float("nan")), (2.0, float("nan")))
        >>> RangeTestResult.from_json(r.to_json()) == r
        True
        """
        return _files.write_json(self.to_dict(), path, indent)

    @classmethod
    def from_json(cls, source: str | os.PathLike[str]) -> RangeTestResult:
        """Load from JSON text (a string starting with ``{``) or from a file path."""
        return cls.from_dict(_files.read_json(source))

    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        """CSV text: a ``# clr-rangetest {json}`` metadata line, then one row per point.

        Columns ``lr,loss,smoothed`` (and ``metric`` when present), floats
        written with ``repr`` so they read back exactly. Any program that skips
        ``#`` comment lines reads it as a plain table; ``clr analyze`` reads it too.
        """
        return _files.write_csv(self.to_dict(), path)

    @classmethod
    def from_csv(cls, source: str | os.PathLike[str]) -> RangeTestResult:
        """Load what :meth:`to_csv` wrote (CSV text or a path).

        A plain sweep CSV (no metadata line) raises
        :class:`~clr_core.rangetest.SweepFileError`: analyse it with
        ``analyze(*read_sweep_csv(path)[:2])``.
        """
        return cls.from_dict(_files.read_csv(source))

    # ------------------------------------------------------------------ plot

    def plot(self, ax: Any = None, *, show_suggestions: bool = True) -> Any:
        """Draw the loss (raw and smoothed) against the rate on a log axis, bounds marked.

        Needs matplotlib (``pip install clr-core[plot]``). Returns the axes.
        """
        return _plot.plot(self, ax, show_suggestions=show_suggestions)
