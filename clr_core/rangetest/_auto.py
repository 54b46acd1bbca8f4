r"""A 1cycle that finds its own peak during its warm-up: no separate range test.

The warm-up *is* the sweep. The rate ramps up exponentially from ``start_lr``;
each step's training loss goes to a :class:`SweepMonitor`; when its stop rule
reads the edge (after a real fall, the smoothed loss rising ``rise`` times that fall
above its best, or one loss back at the starting level), the
ramp's points are read by :func:`analyze` like any range test, the peak is fixed
at :func:`~clr_core.rangetest.plan_peak`-style ``peak_factor`` times the edge,
and the rest of the budget anneals from that peak to ``peak / final_div_factor``
along a half cosine. Warm-up raises the rate a network tolerates as it trains
(Gilmer et al. 2021; Kalra and Barkeshli 2024), so an edge read along the run
itself is read where the peak will be used; the idea is AutoWU's (Kim et al.
2021), which ramps until the loss stops improving and then decays.

The object is pure data driven by ``(step, loss)``: :meth:`AutoOneCycle.lr` is
a function of the step and the decision so far, :meth:`AutoOneCycle.state_dict`
is plain JSON, and a restored object continues exactly. Adapters feed it:
PyTorch's ``AutoOneCycleLR.step(loss)``, a callback in Keras.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Mapping
from typing import Any

from .._base import Inverse, Schedule
from .._compose import Constant, Join
from .._one_cycle import CosineRestarts
from ..validation import MAX_STEPS, fail, integer, momentum_pair, real
from ._monitor import SweepMonitor
from ._result import RangeTestResult
from ._sweep import ExponentialSweep

__all__ = ["AutoOneCycle"]

_FORMAT = "clr-auto-one-cycle/1"
_STATE_KEYS = frozenset(("format", "config", "monitor", "decided_at", "peak"))
#: A fall counts as real once it exceeds this many times the median point-to-point
#: change of the raw loss (about its standard deviation): a flat, noisy start never does.
_REAL_FALL = 3.0
#: "Stopped improving": no new low of the smoothed loss while the ramp's rate grew this much.
_STALL_RATIO = 1.5
#: The default EMA lags this many decades of the ramp (and at least _MIN_LAG steps).
_LAG_DECADES = 0.1
_MIN_LAG = 4.0


class AutoOneCycle:
    r"""1cycle whose peak is read off its own warm-up.

    Before the decision, step :math:`t` runs at the ramp's rate
    :math:`\eta_t = \eta_0 (\eta_1 / \eta_0)^{t / (R - 1)}` (``R`` ramp steps at
    most) with momentum held at its maximum. At the decision step ``k`` (the stop
    rule fired, or the ramp ran out) the ramp's points give the edge ``e`` (the
    bottom of the loss valley, :func:`analyze`'s ``minimum``; ``max_lr`` when no
    valley was seen) and the peak :math:`\eta^* = \min(f e, \eta_k)`. From step
    ``k + 1`` to the end of the budget ``T``:

    .. math::

        \eta_{k+1+u} = \eta_{min} + \tfrac12 (\eta^* - \eta_{min})
                       (1 + \cos(\pi u / (T - k - 1))),
        \qquad \eta_{min} = \eta^* / \text{final\_div\_factor}

    and momentum rises back from ``base`` to ``max`` inversely to the rate.

    Parameters
    ----------
    total_steps : int
        The budget ``T`` in optimizer steps (``>= 20``).
    start_lr, end_lr : float
        The ramp's range (``0 < start_lr < end_lr``).
    ramp_fraction : float
        The longest the ramp may take, as a fraction of the budget, in ``(0, 1)``.
    peak_factor : float
        ``f``: the peak as a multiple of the edge, in ``(0, 1]``.
    final_div_factor : float
        The anneal ends at ``peak / final_div_factor`` (``>= 1``).
    momentum : tuple of float or None
        ``(base, max)`` momentum / beta1 cycled inversely to the rate; ``None``
        leaves the optimizer's own alone.
    rise : float
        The edge is called once the smoothed loss, after falling by more than the
        loss's point-to-point noise, rises above its best by ``rise`` times that
        fall, or a single loss is back at the ramp's starting level (``> 0``).
    beta : float, optional
        The stop rule's EMA factor; default: lagging about a tenth of a decade of
        the ramp, ``1 - 1 / max(4, 0.1 R / log10(end_lr / start_lr))``.
    min_steps
        The stop rule's EMA factor and warm-up (:class:`SweepMonitor`).

    Examples
    --------
    >>> auto = AutoOneCycle(1000, start_lr=1e-4, end_lr=1.0, ramp_fraction=0.5)
    >>> for t in range(1000):
    ...     lr = auto.lr(t)
    ...     loss = 1.0 / (1.0 + 50 * t / 1000) if lr < 0.05 else 1.0 + 200 * lr
    ...     _ = auto.update(t, loss)
    >>> auto.decided, 0.01 < auto.peak < 0.05
    (True, True)
    >>> AutoOneCycle.from_state_dict(auto.state_dict()).lr(900) == auto.lr(900)
    True
    """

    def __init__(
        self,
        total_steps: int,
        *,
        start_lr: float = 1e-5,
        end_lr: float = 10.0,
        ramp_fraction: float = 0.3,
        peak_factor: float = 1.0,
        final_div_factor: float = 1e4,
        momentum: tuple[float, float] | None = (0.85, 0.95),
        rise: float = 0.5,
        beta: float | None = None,
        min_steps: int = 10,
    ) -> None:
        self.total_steps = integer("total_steps", total_steps, low=20, high=MAX_STEPS)
        self.start_lr = real("start_lr", start_lr, low=0.0, low_open=True)
        self.end_lr = real("end_lr", end_lr, low=self.start_lr, low_open=True)
        self.ramp_fraction = real("ramp_fraction", ramp_fraction, low=0.0, high=1.0,
                                  low_open=True, high_open=True)  # fmt: skip
        self.peak_factor = real("peak_factor", peak_factor, low=0.0, high=1.0, low_open=True)
        self.final_div_factor = real("final_div_factor", final_div_factor, low=1.0)
        self.momentum = None if momentum is None else momentum_pair(*_pair(momentum))
        min_steps = integer("min_steps", min_steps, low=1)
        by_fraction = round(self.ramp_fraction * self.total_steps)
        ramp_steps = max(min_steps + 1, by_fraction)
        if ramp_steps >= self.total_steps - 2:
            if min_steps + 1 > by_fraction:
                raise fail("min_steps", "small enough to leave steps to anneal", min_steps)
            raise fail("ramp_fraction", "small enough to leave steps to anneal", ramp_fraction)
        self.ramp = ExponentialSweep(self.start_lr, self.end_lr, num_steps=ramp_steps)
        self.rise = real("rise", rise, low=0.0, low_open=True)
        if beta is None:
            # the EMA lags about 1/(1-beta) steps: keep that near a tenth of a decade of
            # the ramp, so the edge is called before the rate has run far past it
            per_decade = ramp_steps / math.log10(self.end_lr / self.start_lr)
            beta = 1.0 - 1.0 / max(_MIN_LAG, _LAG_DECADES * per_decade)
            if beta >= 1.0:  # a ramp so narrow that the EMA would never move
                raise fail("end_lr", f"a measurable range above start_lr={self.start_lr!r}", end_lr)
        self.monitor = SweepMonitor(self.ramp, beta=beta, min_steps=min_steps)
        per_decade = ramp_steps / math.log10(self.end_lr / self.start_lr)
        self._stall_steps = max(3, round(math.log10(_STALL_RATIO) * per_decade))
        self.decided_at: int | None = None  # first step of the anneal
        self.peak: float | None = None
        self.reading: RangeTestResult | None = None
        self._schedule: Schedule = self.ramp
        self._momentum: Schedule | None = (
            None if self.momentum is None else Constant(self.momentum[1])
        )

    # ------------------------------------------------------------------ values

    @property
    def decided(self) -> bool:
        """Whether the peak has been read."""
        return self.decided_at is not None

    @property
    def schedule(self) -> Schedule:
        """The rate schedule as far as it is known: the ramp, then (once decided) the anneal."""
        return self._schedule

    @property
    def momentum_schedule(self) -> Schedule | None:
        """The momentum schedule as far as it is known (``None``: leave momentum alone)."""
        return self._momentum

    def lr(self, step: int) -> float:
        """The rate at ``step`` given the decision so far."""
        return float(self._schedule(step))

    def momentum_at(self, step: int) -> float | None:
        """The momentum / beta1 at ``step`` (``None``: leave it alone)."""
        return None if self._momentum is None else float(self._momentum(step))

    # ------------------------------------------------------------------ feeding

    def update(self, step: int, loss: Any) -> bool:
        """Feed the training loss of ``step`` (taken at rate ``lr(step)``).

        Returns ``True`` on the call that fixes the peak. Steps must come in
        order while the ramp runs; after the decision the loss is ignored.
        """
        step = integer("step", step, low=0)
        if self.decided:
            return False
        if step != self.monitor.step_index:
            raise fail("step", f"the next ramp step ({self.monitor.step_index})", step)
        stop = self.monitor.update(self.ramp(step), loss) or self._edge_reached()
        if stop or self.monitor.done:
            self._decide(step + 1)
            return True
        return False

    def _edge_reached(self) -> bool:
        """Past the edge, called as soon as it shows, since in a run a blow-up costs weights.
        After a real fall (over three times the point-to-point noise of the loss): the
        smoothed loss has made no new low while the rate rose by half (it stopped
        improving), or it has risen ``rise`` falls above its low, or one loss is back
        where the ramp started."""
        m = self.monitor
        k = len(m.smoothed)
        if k <= m.min_steps:
            return False
        first = statistics.median(m.losses[: m.min_steps])
        tail = m.smoothed[m.min_steps // 2 :]
        i_best = min(range(len(tail)), key=tail.__getitem__)
        best = tail[i_best]
        recent = m.losses[-51:]
        noise = statistics.median(abs(a - b) for a, b in itertools.pairwise(recent))
        fall = first - best
        if fall <= max(_REAL_FALL * noise, 1e-9 * max(abs(first), abs(best))):
            return False
        stalled = len(tail) - 1 - i_best >= self._stall_steps
        return stalled or m.smoothed[-1] - best > self.rise * fall or m.losses[-1] >= first

    def _decide(self, at: int) -> None:
        m = self.monitor
        self.reading = m.result() if m.step_index >= 5 else None
        finite = [(v, i) for i, v in enumerate(m.smoothed) if math.isfinite(v)]
        i_best = min(finite)[1] if finite else 0
        self._fix(at, self.peak_factor * m.lrs[i_best])

    def _fix(self, at: int, peak: float) -> None:
        self.decided_at, self.peak = at, peak
        # the half cosine spans steps at .. T-2 and the last step T-1 sits at its floor
        span = max(1, self.total_steps - 1 - at)
        low = peak / self.final_div_factor
        anneal = CosineRestarts(peak, T_0=span, eta_min=low)
        self._schedule = Join((self.ramp, anneal, Constant(low)), (at, at + span))
        if self.momentum is not None:
            base, top = self.momentum
            self._momentum = Join(
                (Constant(top), Inverse(anneal, base, top), Constant(top)), (at, at + span)
            )

    # ------------------------------------------------------------------ state

    def config(self) -> dict[str, Any]:
        """The constructor's keywords as plain data."""
        return {
            "total_steps": self.total_steps,
            "start_lr": self.start_lr,
            "end_lr": self.end_lr,
            "ramp_fraction": self.ramp_fraction,
            "peak_factor": self.peak_factor,
            "final_div_factor": self.final_div_factor,
            "momentum": None if self.momentum is None else list(self.momentum),
            "rise": self.rise,
            "beta": self.monitor.beta,
            "min_steps": self.monitor.min_steps,
        }

    def state_dict(self) -> dict[str, Any]:
        """Plain JSON data: the configuration, the stop rule's state and the decision."""
        return {
            "format": _FORMAT,
            "config": self.config(),
            "monitor": self.monitor.state_dict(),
            "decided_at": self.decided_at,
            "peak": self.peak,
        }

    @classmethod
    def from_state_dict(cls, state: Any) -> AutoOneCycle:
        """Rebuild from :meth:`state_dict` data (untrusted: validated before use; the saved
        decision must be the one the ramp's recorded losses give)."""
        if not isinstance(state, Mapping) or state.get("format") != _FORMAT:
            raise fail("state", f"an AutoOneCycle.state_dict() ({_FORMAT})", state)
        if set(state) - _STATE_KEYS:
            unknown = sorted(map(str, set(state) - _STATE_KEYS))
            raise fail("state", f"a dict with the keys {sorted(_STATE_KEYS)}", unknown)
        config = state.get("config")
        if not isinstance(config, Mapping):
            raise fail("state['config']", "a dict", config, TypeError)
        known = set(cls(100).config())
        if set(config) != known:
            raise fail(
                "state['config']", f"exactly the keys {sorted(known)}", sorted(map(str, config))
            )
        cfg = dict(config)
        mom = cfg.pop("momentum")
        new = cls(momentum=None if mom is None else _pair(mom), **cfg)
        monitor_state = state.get("monitor")
        if not isinstance(monitor_state, dict):
            raise fail("state['monitor']", "a dict", monitor_state, TypeError)
        try:
            monitor = SweepMonitor.from_state_dict(monitor_state)
        except (TypeError, ValueError) as e:
            raise type(e)(f"state['monitor']: {e}") from None
        if monitor.sweep != new.ramp or (
            monitor.beta,
            monitor.diverge_threshold,
            monitor.min_steps,
        ) != (new.monitor.beta, new.monitor.diverge_threshold, new.monitor.min_steps):
            raise fail("state['monitor']", "the stop rule of this configuration", "<other>")
        # the ramp feeds the monitor its own rates and no metric: anything else was not
        # recorded by this object, and the analysis at the decision would refuse it later
        if monitor.metrics is not None:
            raise fail("state['monitor']['metrics']", "None (the ramp feeds no metric)", "<list>")
        for i, lr in enumerate(monitor.lrs):
            if lr != new.ramp(i):
                raise fail(f"state['monitor']['lrs'][{i}]", f"the ramp's rate {new.ramp(i)!r}", lr)
        at, peak = state.get("decided_at"), state.get("peak")
        if (at is None) != (peak is None):
            raise fail("state['peak']", "given exactly when decided_at is", peak)
        if at is not None:
            at = integer("state['decided_at']", at, low=1)
            if at != monitor.step_index or at >= new.total_steps - 1:
                raise fail("state['decided_at']", "the step after the ramp's last point", at)
            peak = real("state['peak']", peak, low=0.0, low_open=True)
            if peak > new.end_lr:
                raise fail("state['peak']", f"<= end_lr={new.end_lr}", peak)
        elif monitor.stop_reason is not None:
            raise fail(
                "state['monitor']", "still running when no decision is recorded", "<stopped>"
            )
        new._replay_decision(monitor.losses, at, peak)
        new.monitor = monitor
        if at is not None and peak is not None:
            new.reading = monitor.result() if monitor.step_index >= 5 else None
            new._fix(at, peak)
        return new

    def _replay_decision(self, losses: list[float], at: int | None, peak: float | None) -> None:
        """Feed the ramp's recorded losses to this fresh object and hold the saved decision
        to what they give: a state that ramps on past its edge, or that carries a peak of
        its own choosing (up to ``end_lr``), is refused. The peak is compared to rounding
        (1e-9 relative), as the monitor's running values are."""
        for t, loss in enumerate(losses):
            if self.decided:
                break
            self.update(t, loss)
        if self.decided_at != at:
            raise fail("state['decided_at']", f"{self.decided_at!r}, as the ramp's losses give", at)
        if (
            peak is not None
            and self.peak is not None
            and not math.isclose(peak, self.peak, rel_tol=1e-9)
        ):
            raise fail("state['peak']", f"{self.peak!r}, as the ramp's losses give", peak)

    def load_state_dict(self, state: Any) -> None:
        """Restore in place, atomically: a refused state leaves this object as it was."""
        other = type(self).from_state_dict(state)
        self.__dict__.update(other.__dict__)

    def __repr__(self) -> str:
        where = f"peak={self.peak:.4g} from step {self.decided_at}" if self.decided else "ramping"
        return f"AutoOneCycle(total_steps={self.total_steps}, {where})"


def _pair(value: Any) -> tuple[Any, Any]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise fail("momentum", "a pair (base, max) or None", value, TypeError)
    return value[0], value[1]
