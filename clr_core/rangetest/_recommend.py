"""The recommendation: one learning-rate plan we stand behind, for a budget.

:func:`recommend` turns a range test's reading into a :class:`Plan`: a rate
schedule, a momentum schedule (or ``None``), the policy's name and the reasons
for every choice. The rules and the evidence behind their constants are in
docs/benchmarks.md ("The recommendation"); the constants below are the ones that
table fitted on the suite's fitted tasks and checked on its held-out ones.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from .._base import Schedule, from_config
from .._compose import Constant
from .._cyclic import Triangular
from .._one_cycle import OneCycle
from ..validation import boolean, fail, instance, real
from ._handoff import PEAK_CAP, PEAK_FACTOR, budget_steps, iterations
from ._reading import Reading

__all__ = [
    "Plan",
    "recommend",
    "plan_peak",
    "recorded_momentum",
    "PEAK_FACTOR",
    "PLAN_DIV",
    "PLAN_PCT_START",
    "PLAN_MIN_STEPS",
    "PLAN_MOMENTUM",
    "POLICIES",
]

#: 1cycle in the plan starts at ``peak / PLAN_DIV`` (PyTorch's and fastai's 25).
PLAN_DIV = 25.0
#: Fraction of the budget spent warming up to the peak (PyTorch's 0.3).
PLAN_PCT_START = 0.3
#: The shortest budget the plan's 1cycle fits (4 steps): its warm-up, ending at step
#: ``PLAN_PCT_START * T - 1``, must end after step 0.
PLAN_MIN_STEPS = math.floor(1 / PLAN_PCT_START) + 1
#: The inverse momentum cycle (Smith 2018): ``(base, max)``.
PLAN_MOMENTUM = (0.85, 0.95)
#: The policies a plan can have.
POLICIES = ("one_cycle", "triangular", "constant")

_PLAN_FORMAT = "clr-plan/1"


@dataclasses.dataclass(frozen=True)
class Plan:
    """A learning-rate plan: what to run, and why.

    Attributes
    ----------
    lr : Schedule
        The rate at each optimizer step (a clr_core schedule: plain data).
    momentum : Schedule or None
        Momentum (SGD) or beta1 (Adam) at each step, or ``None`` to leave the
        optimizer's own alone.
    policy : str
        ``"one_cycle"`` (a budget was given), ``"triangular"`` (open-ended
        training) or ``"constant"`` (the reading was too poor for anything else).
    reasons : tuple of str
        Why each choice was made, in plain English.

    The adapters apply it: in PyTorch ``ScheduleLR(optimizer, plan)`` (or
    ``ScheduleLR(optimizer, plan.lr, momentum=plan.momentum)``); in Keras
    ``CoreSchedule(plan.lr)`` and the ``CyclicalMomentum(plan.momentum)`` callback.

    Examples
    --------
    >>> from clr_core import Constant
    >>> p = Plan(Constant(0.1), None, "constant", ("a fixed rate",))
    >>> Plan.from_config(p.to_config()) == p
    True
    """

    lr: Schedule
    momentum: Schedule | None
    policy: str
    reasons: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        instance("lr", self.lr, Schedule, "a clr_core schedule")
        if self.momentum is not None:
            instance("momentum", self.momentum, Schedule, "a clr_core schedule or None")
            low, high = self.momentum.bounds()
            if not (low >= 0.0 and high <= 1.0):
                raise fail("momentum", "a schedule within [0, 1]", self.momentum)
        if self.policy not in POLICIES:
            raise fail("policy", f"one of {POLICIES}", self.policy)
        if isinstance(self.reasons, (str, bytes)) or not all(
            isinstance(r, str) for r in self.reasons
        ):
            raise fail("reasons", "a sequence of str", self.reasons, TypeError)
        object.__setattr__(self, "reasons", tuple(self.reasons))

    def __call__(self, step: Any) -> Any:
        """The rate at ``step``: ``plan.lr(step)``."""
        return self.lr(step)

    def to_config(self) -> dict[str, Any]:
        """Plain JSON data; :meth:`from_config` inverts it exactly."""
        return {
            "format": _PLAN_FORMAT,
            "policy": self.policy,
            "lr": self.lr.to_config(),
            "momentum": None if self.momentum is None else self.momentum.to_config(),
            "reasons": list(self.reasons),
        }

    @classmethod
    def from_config(cls, config: Any) -> Plan:
        """Build a plan from :meth:`to_config` data (untrusted: every field is checked)."""
        if not isinstance(config, Mapping):
            raise fail("config", "a dict", config, TypeError)
        if config.get("format") != _PLAN_FORMAT:
            raise fail("config['format']", repr(_PLAN_FORMAT), config.get("format"))
        extra = set(config) - {"format", "policy", "lr", "momentum", "reasons"}
        if extra:
            raise fail("config", "free of unknown keys", sorted(map(str, extra)))
        reasons = config.get("reasons", [])
        if not isinstance(reasons, list):
            raise fail("config['reasons']", "a list of str", reasons, TypeError)
        mom = config.get("momentum")
        return cls(
            lr=_schedule_at(config, "lr"),
            momentum=None if mom is None else _schedule_at(config, "momentum"),
            policy=config.get("policy"),  # type: ignore[arg-type]
            reasons=tuple(reasons),
        )


def _schedule_at(config: Mapping[str, Any], key: str) -> Schedule:
    """The schedule ``config[key]`` describes; a refusal names where it sits."""
    try:
        schedule: Schedule = from_config(config.get(key))
    except (TypeError, ValueError) as e:
        raise type(e)(f"config[{key!r}]: {e}") from None
    return schedule


#: The batch size at and below which a plan's reasons say that the best peak is uncertain:
#: in the benchmarks (docs/benchmarks.md, "the batch size" and the eighteenth blind task) the
#: best 1cycle peak at batches of 8-32 lay at 0.1-0.9 of the edge, on clean and noise-limited
#: readings alike.
SMALL_BATCH = 32


def plan_peak(result: Reading) -> tuple[float, list[str]]:
    """The plan's peak rate and why: :attr:`RangeTestResult.one_cycle_peak`,
    ``PEAK_FACTOR`` times the reading's edge (less on a noise-limited reading), at most
    ``PEAK_CAP`` times ``max_lr``.

    The edge (the ``edge`` suggestion) lies three quarters of the way across the
    loss valley on the log-LR axis, from where the loss has fallen half its fall to
    where it has risen back half of it. Without one (a flat curve, or a sweep whose
    loss never rose back halfway) the peak is ``max_lr``, the valley's centre.
    """
    if result.suggestions.get("edge") is None:
        return result.max_lr, [
            "The loss never rose back halfway to where it started, so there is no edge and "
            "the peak is max_lr, the valley's centre. If the loss blows up past end_lr, a "
            "wider sweep (raise end_lr) finds the edge. A model whose loss blows up at no "
            "rate may never show one: on such a benchmark task (logistic regression) max_lr "
            "lay 1.2-2.8 times above the best 1cycle peak, so compare a lower one: "
            "result.to_one_cycle(iterations_per_epoch, epochs, peak=0.5 * result.max_lr)."
        ]
    peak = result.one_cycle_peak
    factor = peak / result.suggestions["edge"]
    reasons = []
    if peak >= PEAK_CAP * result.max_lr:
        reasons.append(
            f"The valley is wide: its edge lies {result.suggestions['edge'] / result.max_lr:.2g} "
            f"times max_lr, so the peak is capped at {PEAK_CAP:g} x max_lr. In the benchmarks a "
            "fine-tuning run peaked at 5.5 x max_lr and collapsed; no other task's peak went "
            "past 3.35 x."
        )
    w = result.noise_weight
    if w > 0.0:
        reasons.append(
            f"The loss is noisy next to its fall: the reading counts as noise-limited (weight "
            f"{w:.2f} of 1), as on tasks where generalisation rather than stability sets the "
            f"best rate, so the peak is {factor:.2g} times the edge instead of {PEAK_FACTOR}. "
            "A loss that falls little within the sweep (a network slow to learn) reads the "
            "same; in the benchmarks one such task did as well at any peak over a wide range."
        )
    batch = result.provenance.get("batch_size")
    compare = (
        "compare with a peak of half the edge: result.to_one_cycle(iterations_per_epoch, "
        "epochs, peak=0.5 * result.suggestions['edge'])."
    )
    if batch is not None and batch <= SMALL_BATCH:
        reasons.append(
            f"The batch is small ({int(batch)}). In the benchmarks the best 1cycle peak at batches "
            f"of 8-32 lay anywhere from 0.1 to 0.9 times the edge, and the sweep did not "
            f"show where (this plan takes {factor:.2g}), so " + compare
        )
    elif w > 0.0:
        reasons.append(
            "A small batch makes the loss noisy too: with clean data in batches of 32 or "
            "fewer this peak can be several times too low (in the benchmarks, two tasks at "
            "batch 32 lost about 5 points to it); with such a batch, " + compare
        )
    return peak, reasons


def recorded_momentum(provenance: Mapping[str, Any]) -> float | None:
    """The momentum (or beta1) the range test ran with, from its provenance: the adapters
    record it as ``"momentum"``; a ``combine``-d result has it if every repeat agrees.
    ``None`` when unknown (older files, other tools) or not a number in [0, 1] (provenance
    is untrusted data: anything else is ignored, never an error).

    >>> recorded_momentum({"momentum": 0.9}), recorded_momentum({"momentum": "x"})
    (0.9, None)
    >>> recorded_momentum({"combined": [{"momentum": 0.0}, {"momentum": 0.0}]})
    0.0
    """

    def one(value: Any) -> float | None:
        try:
            return real("momentum", value, low=0.0, high=1.0)
        except (TypeError, ValueError):
            return None

    if "momentum" in provenance:
        return one(provenance["momentum"])
    repeats = provenance.get("combined")
    if isinstance(repeats, list) and repeats and all(isinstance(p, Mapping) for p in repeats):
        values = {one(p.get("momentum")) for p in repeats}
        return values.pop() if len(values) == 1 else None
    return None


#: The advice a plan gives after a sweep without momentum (docs/benchmarks.md, "the plan's
#: momentum after a sweep without momentum").
_PLAIN_SGD = (
    "In the benchmarks the same plans trained up to 23 points better (22% in test MSE) with "
    "momentum: give the optimizer momentum (e.g. 0.9) and run the range test again."
)


#: Why a plan after a sweep without momentum leaves it at 0.
_LEFT_AT_ZERO = (
    "The sweep ran without momentum, so the plan leaves it at 0: cycling it would turn "
    "heavy-ball momentum on at rates read without it, which collapsed runs on a benchmark "
    "task. " + _PLAIN_SGD
)
#: What a plan's momentum cycle does.
_CYCLED = (
    "Momentum (beta1 for Adam) cycled 0.95 -> 0.85 -> 0.95 inversely to the rate; it "
    "replaces the optimizer's own (cycle_momentum=False leaves that alone). With SGD the "
    "cycle's 0.85 keeps the step at the peak a third below a fixed 0.9's: without it, "
    "the benchmarks' plans collapsed 5 of 10 runs where the peak was read too high."
)


def _constant_reasons(plain: bool) -> tuple[str, ...]:
    """The reasons of the plan for a reading without confidence (a fixed rate)."""
    reasons = [
        "The reading has no confidence (see its reasons): a fixed rate at result.lr, "
        "the safest reading; run the range test again as its reasons say."
    ]
    if plain:
        reasons.append(
            "The sweep ran without momentum. The fallback rate was set on sweeps with "
            "momentum 0.9, which moves the weights up to ten times further at the same rate: "
            "in the benchmarks, plain SGD at this rate collapsed every run on two tasks of "
            "three. " + _PLAIN_SGD
        )
    return tuple(reasons)


def _one_cycle(result: Reading, ipe: int, epochs: float) -> tuple[OneCycle, list[str]]:
    """The plan's 1cycle over ``epochs`` and the reasons for its peak."""
    total = budget_steps(ipe, epochs)
    if total < PLAN_MIN_STEPS:
        raise fail(
            "epochs",
            f"long enough for the plan's 1cycle ({PLAN_MIN_STEPS} steps or more) at {ipe} "
            "iterations per epoch",
            epochs,
        )
    peak, reasons = plan_peak(result)
    one = OneCycle(peak, total_steps=total, pct_start=PLAN_PCT_START, div_factor=PLAN_DIV)
    edge = result.suggestions.get("edge")
    source = "max_lr" if edge is None else f"{peak / edge:.2g} x the edge read off the sweep"
    reasons.append(
        f"1cycle over the budget ({total} steps): peak {peak:.3g} "
        f"({source}), from peak/{PLAN_DIV:g}, "
        f"warm-up {PLAN_PCT_START:.0%} of the budget, annealed to peak/{PLAN_DIV * 1e4:g}."
    )
    return one, reasons


def recommend(
    result: Reading,
    iterations_per_epoch: int,
    epochs: float | None = None,
    *,
    cycle_momentum: bool = True,
) -> Plan:
    """The plan we recommend for a budget of ``epochs`` (see :class:`Plan`).

    Parameters
    ----------
    result : RangeTestResult
        The reading of a range test.
    iterations_per_epoch : int
        Optimizer steps per epoch.
    epochs : float, optional
        The training budget. With one, a 1cycle over it; without, an open-ended
        triangular cycle between the bounds (the paper's policy).
    cycle_momentum : bool
        Cycle momentum / beta1 inversely to the rate (``False``: ``plan.momentum``
        is ``None`` and the optimizer keeps its own). A sweep that ran without
        momentum (its provenance's ``"momentum"`` is 0, see :func:`recorded_momentum`)
        never gets a momentum cycle: turning momentum on at rates read without it
        collapsed runs in the benchmarks.

    Returns
    -------
    Plan

    Notes
    -----
    With a budget of ``T = round(epochs * iterations_per_epoch)`` steps and the
    peak :math:`\\eta^*` of :func:`plan_peak`:

    .. math::

        \\eta_t = \\text{OneCycle}(\\eta^*, T, \\text{pct\\_start}=0.3,
        \\text{div}=25, \\text{final\\_div}=10^4)

    with momentum cycled ``0.95 -> 0.85 -> 0.95`` (unless the sweep ran without
    momentum).
    """
    ipe = iterations(iterations_per_epoch)
    cycle_momentum = boolean("cycle_momentum", cycle_momentum)
    plain = recorded_momentum(result.provenance) == 0.0
    if result.confidence <= 0.0 or not math.isfinite(result.max_lr):
        return Plan(Constant(result.lr), None, "constant", _constant_reasons(plain))
    reasons: list[str] = []
    if cycle_momentum and plain:
        cycle_momentum = False
        reasons.append(_LEFT_AT_ZERO)
    if epochs is None:
        from ._handoff import half_cycle

        step, _ = half_cycle(ipe)
        lr_s: Schedule = Triangular(result.base_lr, result.max_lr, step)
        policy = "triangular"
        reasons.append(
            "No budget given: the paper's triangular cycle between base_lr and max_lr, "
            "half cycles of 4 epochs, open-ended. It never anneals: in the benchmarks, stopped "
            "after a fixed budget, it ended 2.1 points below the budgeted plan on the fitted "
            "tasks' mean, and below it on 13 of 15 tasks; pass epochs for the 1cycle plan."
        )
    else:
        lr_s, why = _one_cycle(result, ipe, epochs)
        policy = "one_cycle"
        reasons += why
    mom = lr_s.momentum(*PLAN_MOMENTUM) if cycle_momentum else None
    if mom is not None:
        reasons.append(_CYCLED)
    return Plan(lr_s, mom, policy, tuple(reasons))
