"""The online side of a range test: which rate to use next, and when to stop."""

from __future__ import annotations

import math
from typing import Any

from .._base import Schedule, from_config
from ..validation import MAX_STEPS, fail, integer, real, short_repr
from ._io import decode_float, encode_float
from ._result import RangeTestResult

__all__ = ["SweepMonitor"]

_STATE_FORMAT = "clr-sweep-monitor/1"
_STATE_KEYS = frozenset(
    ("format", "sweep", "beta", "diverge_threshold", "min_steps", "lrs", "losses", "metrics",
     "smoothed", "stop_reason", "avg", "noise", "first", "best", "noise_at_best", "noise_floor")
)  # fmt: skip


def _number(name: str, value: Any) -> float:
    """``float(value)`` for a real number or a 0-d tensor; strings and bools are refused."""
    if isinstance(value, (str, bytes, bool)):
        raise fail(name, "a real number", value, TypeError)
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        raise fail(name, "a real number", value, TypeError) from None


def _decoded(
    name: str, value: Any, *, low: float = -math.inf, nan: bool = False, finite: bool = False
) -> float:
    """A float of a state dict (``"nan"``/``"inf"`` strings allowed), ``>= low``; NaN only
    if ``nan``; infinities not if ``finite``."""
    try:
        v = decode_float(value)
    except (TypeError, ValueError, OverflowError):
        raise fail(name, "a number or 'nan'/'inf'", value, TypeError) from None
    if math.isnan(v):
        if not nan:
            raise fail(name, "a number, not NaN", value)
    elif v < low or (finite and math.isinf(v)):
        raise fail(name, ("finite and " if finite else "") + f">= {low}", value)
    return v


def _same(saved: Any, replayed: Any) -> bool:
    """Equal, both NaN, or within 1e-9 relative (an ulp of pow on another platform)."""
    if saved is None or replayed is None:
        return saved is replayed
    if math.isnan(saved) or math.isnan(replayed):
        return math.isnan(saved) and math.isnan(replayed)
    return bool(saved == replayed or math.isclose(saved, replayed, rel_tol=1e-9, abs_tol=1e-300))


def _decoded_list(name: str, values: Any, **kw: Any) -> list[float]:
    if not isinstance(values, list):
        raise fail(name, "a list of numbers", values, TypeError)
    return [_decoded(f"{name}[{i}]", v, **kw) for i, v in enumerate(values)]


class SweepMonitor:
    r"""Drive a range test: the rate for each step, and an online stop rule.

    Feed it one point per optimizer step that really happened::

        for i in range(sweep.num_steps):
            set_lr(monitor.lr(i)); loss = train_step()
            if monitor.update(monitor.lr(i), loss):
                break
        result = monitor.result(batch_size=128)

    **Smoothing.** A debiased EMA counted from the start of the sweep (not
    from a global step): ``a_k = beta a_{k-1} + (1 - beta) L_k``, ``a_0 = 0``,
    ``S_k = a_k / (1 - beta^k)`` for the ``k``-th point, ``k = 1, 2, ...``; so
    ``S_1 = L_1``.

    **Stop rule.** A non-finite loss (NaN, +-inf) stops at once and is recorded
    as it is. Otherwise, from ``min_steps`` points on, the sweep stops when the
    smoothed loss has risen above its best by ``diverge_threshold`` times the
    *span*, the fall from the first smoothed loss ``S_1`` to the best
    ``S_best``::

        S_k - S_best > diverge_threshold * max(S_1 - S_best, 3 * noise)

    with ``noise`` an EMA (same ``beta``, debiased) of ``|L_k - S_{k-1}|``, taken
    at the point where ``S_best`` was reached (so the blow-up cannot raise it),
    and never below its value at point ``min_steps``. ``S_best`` is the lowest
    smoothed loss from point ``ceil(min_steps / 2)`` on, once the EMA averages
    a few points. Both guard a flat, noisy start whose first loss happens to
    be its lowest: a single lucky sample neither sets the best nor zeroes the
    noise estimate, so noise alone does not stop the sweep. The
    test is unchanged by adding a constant to every loss or by scaling them all
    by a positive factor, so it works for negative and shifted losses (a rule
    ``S_k > 4 S_best`` does not). The default threshold 1 stops once the
    smoothed loss is back above where the sweep started, past the blow-up the
    analysis needs to see. The sweep also ends when it is exhausted.

    **State.** :meth:`state_dict` is plain JSON data; a monitor rebuilt with
    :meth:`from_state_dict` continues exactly as the original would have.

    Parameters
    ----------
    sweep : Schedule
        Usually :class:`ExponentialSweep` or :class:`LinearSweep`; any schedule
        with a ``num_steps`` field (or whose ``duration`` is not ``None``) works.
    beta : float
        EMA factor in ``[0, 1)``; 0.98 as fastai and Lightning.
    diverge_threshold : float
        Rise above the best, in spans, that stops the sweep (``> 0``).
    min_steps : int
        Points before the divergence test may stop the sweep.

    Examples
    --------
    >>> from clr_core.rangetest import ExponentialSweep
    >>> m = SweepMonitor(ExponentialSweep(1e-3, 1.0, num_steps=50))
    >>> [m.update(m.lr(i), 1.0) for i in range(3)]
    [False, False, False]
    >>> m.update(m.lr(3), float("nan")), m.stop_reason
    (True, 'non-finite loss (nan) at point 3')
    """

    def __init__(
        self,
        sweep: Schedule,
        *,
        beta: float = 0.98,
        diverge_threshold: float = 1.0,
        min_steps: int = 10,
    ) -> None:
        if not isinstance(sweep, Schedule):
            raise fail("sweep", "a clr_core schedule (e.g. ExponentialSweep)", sweep, TypeError)
        num = getattr(sweep, "num_steps", None)
        if num is None:
            num = None if sweep.duration is None else sweep.duration + 1
        if num is None:
            raise fail("sweep", "a schedule with a finite length (num_steps)", sweep)
        self.sweep = sweep
        self.num_steps = int(num)
        self.beta = real("beta", beta, low=0.0, high=1.0, high_open=True)
        self.diverge_threshold = real(
            "diverge_threshold", diverge_threshold, low=0.0, low_open=True
        )
        self.min_steps = integer("min_steps", min_steps, low=1, high=MAX_STEPS)
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.metrics: list[float] | None = None
        self.smoothed: list[float] = []
        self.stop_reason: str | None = None
        self._avg = 0.0
        self._noise = 0.0
        self._first: float | None = None
        self._best = math.inf
        self._noise_at_best = 0.0
        self._noise_floor = 0.0
        # the best is tracked once the debiased EMA has averaged a few points, so a
        # single lucky early loss cannot set a best that noise alone then "rises" from
        self._settle = max(1, (self.min_steps + 1) // 2)

    # ------------------------------------------------------------------ running

    def lr(self, i: int) -> float:
        """The rate for sweep point ``i``: ``sweep(i)``."""
        return self.sweep(i)

    @property
    def step_index(self) -> int:
        """Points recorded so far (the index of the next point)."""
        return len(self.losses)

    @property
    def done(self) -> bool:
        """Whether the sweep has stopped or is exhausted."""
        return self.stop_reason is not None or self.step_index >= self.num_steps

    @property
    def best_lr(self) -> float | None:
        """The rate at the lowest smoothed loss so far."""
        if not self.smoothed:
            return None
        i = min(range(len(self.smoothed)), key=self.smoothed.__getitem__)
        return self.lrs[i]

    def update(self, lr: float, loss: Any, metric: Any = None) -> bool:
        """Record one point; return ``True`` when the sweep should stop now.

        ``loss`` may be a float or anything ``float()`` accepts (a 0-d tensor).
        ``lr`` must rise from point to point (the analysis reads a rising sweep).
        Calling it after the sweep stopped raises ``RuntimeError``.
        """
        if self.done:
            raise RuntimeError(f"The sweep is over ({self.stop_reason or 'exhausted'}).")
        lr_f = _number("lr", lr)
        if not (math.isfinite(lr_f) and lr_f >= 0.0):
            raise fail("lr", "a finite rate >= 0", lr)
        if self.lrs and lr_f <= self.lrs[-1]:  # the analysis reads a rising sweep only
            raise fail("lr", f"above the previous point's rate {self.lrs[-1]!r}", lr)
        value = _number("loss", loss)
        if metric is not None:
            m = _number("metric", metric)
            if self.metrics is None:
                if self.losses:
                    raise ValueError("A metric must be given for every point or for none.")
                self.metrics = []
            self.metrics.append(m)
        elif self.metrics is not None:
            raise ValueError("A metric must be given for every point or for none.")
        k = len(self.losses) + 1
        self.lrs.append(lr_f)
        self.losses.append(value)
        if not math.isfinite(value):
            self.smoothed.append(math.nan)
            self.stop_reason = f"non-finite loss ({value}) at point {k - 1}"
            return True
        prev = self.smoothed[-1] if self.smoothed else value
        self._avg = self.beta * self._avg + (1.0 - self.beta) * value
        self._noise = self.beta * self._noise + (1.0 - self.beta) * abs(value - prev)
        debias = 1.0 - self.beta**k
        s = self._avg / debias if debias > 0 else value
        noise = self._noise / debias if debias > 0 else 0.0
        self.smoothed.append(s)
        if self._first is None:
            self._first = s
        if k >= self._settle and s < self._best:
            self._best = s
            self._noise_at_best = noise
        if k == self.min_steps:
            self._noise_floor = noise
        if k >= self.min_steps:
            noise_ref = max(self._noise_at_best, self._noise_floor)
            span = max(self._first - self._best, 3.0 * noise_ref)
            # (a floor at rounding level, so a constant loss never "diverges")
            span = max(span, 1e-9 * max(abs(self._first), abs(self._best)))
            if span > 0 and s - self._best > self.diverge_threshold * span:
                self.stop_reason = (
                    f"diverged at point {k - 1}: smoothed loss {s:.4g} rose more than "
                    f"{self.diverge_threshold:g} x the span above the best {self._best:.4g}"
                )
                return True
        if k >= self.num_steps:
            self.stop_reason = "sweep complete"
            return True
        return False

    # ------------------------------------------------------------------ results

    def provenance(self) -> dict[str, Any]:
        """The sweep parameters and how it ended, as JSON data."""
        return {
            "sweep": self.sweep.to_config(),
            "beta": self.beta,
            "diverge_threshold": self.diverge_threshold,
            "min_steps": self.min_steps,
            "points": self.step_index,
            "stop_reason": self.stop_reason,
        }

    def result(self, **kwargs: Any) -> RangeTestResult:
        """:func:`analyze` the recorded points, with the sweep's provenance.

        Keywords go to :func:`analyze` (``batch_size``, ``metric_name``...);
        a ``provenance`` dict is merged with the sweep's.
        """
        from ._analysis import analyze

        prov = self.provenance()
        prov.update(kwargs.pop("provenance", None) or {})
        return analyze(self.lrs, self.losses, self.metrics, provenance=prov, **kwargs)

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume, as plain JSON data (non-finite floats as strings)."""

        def arr(v: list[float] | None) -> list[float | str] | None:
            return None if v is None else [encode_float(x) for x in v]

        return {
            "format": _STATE_FORMAT,
            "sweep": self.sweep.to_config(),
            "beta": self.beta,
            "diverge_threshold": self.diverge_threshold,
            "min_steps": self.min_steps,
            "lrs": arr(self.lrs),
            "losses": arr(self.losses),
            "metrics": arr(self.metrics),
            "smoothed": arr(self.smoothed),
            "stop_reason": self.stop_reason,
            "avg": encode_float(self._avg),
            "noise": encode_float(self._noise),
            "first": None if self._first is None else encode_float(self._first),
            "best": encode_float(self._best),
            "noise_at_best": encode_float(self._noise_at_best),
            "noise_floor": encode_float(self._noise_floor),
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> SweepMonitor:
        """Rebuild a monitor from :meth:`state_dict` data (e.g. after ``json.loads``).

        The state is untrusted data: every field is checked (types, ranges,
        lengths, the sweep's config, rates that rise) before the monitor is built,
        and the stop rule's running values (``smoothed``, ``avg``, ``best``...,
        ``stop_reason``) must be what replaying the recorded points gives, to
        rounding; a bad one raises ``ValueError`` or ``TypeError`` naming it.
        """
        if not isinstance(state, dict) or state.get("format") != _STATE_FORMAT:
            raise fail("state", f"a SweepMonitor.state_dict() ({_STATE_FORMAT})", state)
        missing = sorted(_STATE_KEYS - {"noise_floor"} - set(state))
        unknown = sorted(map(str, set(state) - _STATE_KEYS))
        if missing or unknown:
            raise ValueError(
                f"A SweepMonitor state lacks key(s) {missing} or has unknown key(s) "
                f"{short_repr(unknown)}."
            )
        try:
            sweep = from_config(state["sweep"])
        except (TypeError, ValueError) as e:
            raise type(e)(f"state['sweep']: {e}") from None
        m = cls(
            sweep,
            beta=state["beta"],
            diverge_threshold=state["diverge_threshold"],
            min_steps=state["min_steps"],
        )
        m._restore(state)
        return m

    def _restore(self, state: dict[str, Any]) -> None:
        """Check and adopt the recorded points and the stop rule's running values."""
        lrs = _decoded_list("lrs", state["lrs"], low=0.0, finite=True)
        losses = _decoded_list("losses", state["losses"], nan=True)
        smoothed = _decoded_list("smoothed", state["smoothed"], nan=True)
        metrics = state["metrics"]
        metrics = None if metrics is None else _decoded_list("metrics", metrics, nan=True)
        k = len(losses)
        for i in range(1, len(lrs)):
            if lrs[i] <= lrs[i - 1]:
                raise fail(f"lrs[{i}]", f"above lrs[{i - 1}]={lrs[i - 1]!r}", lrs[i])
        for name, v in (("lrs", lrs), ("smoothed", smoothed), ("metrics", metrics)):
            if v is not None and len(v) != k:
                raise fail(name, f"as long as losses ({k} points)", f"{len(v)} points")
        if k > self.num_steps:
            raise fail(
                "losses", f"at most the sweep's num_steps={self.num_steps} points", f"{k} points"
            )
        stop = state["stop_reason"]
        if stop is not None and not isinstance(stop, str):
            raise fail("stop_reason", "None or a str", stop, TypeError)
        if stop is None and 0 < k < self.num_steps and lrs[-1] >= self.sweep(k):
            # the next point, at the sweep's rate, must continue the rising sweep
            raise fail(f"lrs[{k - 1}]", f"below the sweep's next rate {self.sweep(k)!r}", lrs[-1])
        first = state["first"]
        values = {
            "_avg": _decoded("avg", state["avg"], finite=True),
            "_noise": _decoded("noise", state["noise"], low=0.0),
            "_first": None if first is None else _decoded("first", first, finite=True),
            "_best": _decoded("best", state["best"]),
            "_noise_at_best": _decoded("noise_at_best", state["noise_at_best"], low=0.0),
            "_noise_floor": _decoded("noise_floor", state.get("noise_floor", 0.0), low=0.0),
        }
        self._replay(lrs, losses, metrics)
        # The running values follow from the points: each must be what the replay gave
        # (to rounding: pow may differ by an ulp across platforms), so none is tampered
        # on its own; the saved ones are kept, and the sweep continues exactly.
        rule = (
            f"under beta={self.beta}, diverge_threshold={self.diverge_threshold}, "
            f"min_steps={self.min_steps} and the sweep's {self.num_steps} steps"
        )
        if (stop is None) != (self.stop_reason is None):
            raise fail(
                "stop_reason",
                f"{self.stop_reason!r}, as the points (lrs, losses) give {rule}",
                stop,
            )
        for i, (saved, replayed) in enumerate(zip(smoothed, self.smoothed, strict=True)):
            if not _same(saved, replayed):
                raise fail(
                    f"smoothed[{i}]",
                    f"{replayed!r}, as the points (lrs, losses) give {rule}",
                    saved,
                )
        if "noise_floor" not in state:  # a state saved before it was kept
            values["_noise_floor"] = self._noise_floor
        for key, kept in values.items():
            if not _same(kept, getattr(self, key)):
                raise fail(
                    key[1:],
                    f"{getattr(self, key)!r}, as the points (lrs, losses) give {rule}",
                    kept,
                )
        self.smoothed, self.stop_reason = smoothed, stop
        self.__dict__.update(values)

    def _replay(self, lrs: list[float], losses: list[float], metrics: list[float] | None) -> None:
        """Feed the recorded points to this fresh monitor, as they were fed when recorded."""
        for i, (lr, loss) in enumerate(zip(lrs, losses, strict=True)):
            if self.stop_reason is not None:
                raise fail(
                    "losses", f"no points after the sweep stopped at point {i - 1}",
                    f"{len(losses)} points",
                )  # fmt: skip
            self.update(lr, loss, None if metrics is None else metrics[i])

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore in place (the PyTorch idiom)."""
        other = type(self).from_state_dict(state)
        self.__dict__.update(other.__dict__)

    def __repr__(self) -> str:
        return (
            f"SweepMonitor({self.sweep!r}, beta={self.beta}, points={self.step_index}, "
            f"stop_reason={self.stop_reason!r})"
        )
