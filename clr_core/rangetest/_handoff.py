"""The hand-off: from a range test's bounds to a configured clr_core schedule.

Plain functions of numbers (the bounds and the single-rate suggestions), so
this module knows nothing of how the numbers were read off a curve.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .._cyclic import ExpRange, Triangular, Triangular2
from .._one_cycle import OneCycle
from ..validation import MAX_STEPS, choice, fail, integer, real

__all__ = [
    "DEFAULT_EPOCHS_PER_HALF_CYCLE",
    "NOISE_LIMITED",
    "NOISY_PEAK_FACTOR",
    "ONE_CYCLE_DIV",
    "PEAK_CAP",
    "PEAK_FACTOR",
    "POLICIES",
    "RECOMMENDED_POLICY",
    "budget_steps",
    "edge_factor",
    "half_cycle",
    "noise_limited",
    "one_cycle_peak",
    "to_one_cycle",
    "to_schedule",
]

#: The CLR paper (section 3.2) advises a half cycle of 2-10 epochs; we default to 4,
#: in the lower middle: short enough for several cycles in a modest budget.
DEFAULT_EPOCHS_PER_HALF_CYCLE = 4.0
#: 1cycle starts at ``peak / 10``: the low end about an order of magnitude below the peak,
#: as in Smith's 1cycle examples (arXiv 1708.07120, 1803.09820). PyTorch and fastai default
#: to 25; pass ``div_factor=25`` for theirs (on MNIST-1D, docs/benchmarks.md, 25 helped a
#: hand-picked peak of 0.25 and did not help the range test's own peak).
ONE_CYCLE_DIV = 10.0
#: The 1cycle peak as a multiple of the reading's edge (three quarters of the way across
#: the loss valley, toward the blow-up). Fitted on the suite's fitted tasks; the evidence
#: and the held-out check are in docs/benchmarks.md ("The recommendation").
PEAK_FACTOR = 0.8
#: The loss's point-to-point noise as a fraction of its fall (``noise / span``) where a
#: reading starts to count as *noise-limited* and where it fully does. Such a loss (noisy
#: labels, a noisy regression target) trains to a point where generalisation, not
#: stability, sets the best rate, far below the edge. Fitted on the suite's fitted tasks:
#: the clean ones read at most 0.057, the noisy-label task 0.069-0.115 (one seed 0.050);
#: docs/benchmarks.md ("Noise-limited readings") has the evidence and the held-out check.
NOISE_LIMITED = (0.06, 0.07)
#: The 1cycle peak as a multiple of the edge on a fully noise-limited reading (the best
#: peak of the noisy-label task's scan, 0.11 times its median edge).
NOISY_PEAK_FACTOR = 0.11
#: The 1cycle peak is at most this multiple of ``max_lr`` (the valley's centre), as
#: ``result.lr`` is at most ``max_lr / 1.25``: on a wide valley the edge can lie far out.
#: The fitted tasks' peaks lie at most 2.52 times ``max_lr``, every other task's at most 3.35,
#: and a fine-tuning task's seed at 5.5 collapsed; set after that blind result, at the less
#: intrusive of 3 and 4 that stopped the collapse (docs/benchmarks.md, the fourteenth blind
#: task).
PEAK_CAP = 4.0
#: The policy the hand-off recommends: 1cycle (see :meth:`RangeTestResult.to_one_cycle`).
RECOMMENDED_POLICY = "one_cycle"
#: The policies :func:`to_schedule` knows.
POLICIES = ("triangular", "triangular2", "exp_range", "one_cycle")


def iterations(iterations_per_epoch: Any) -> int:
    """``iterations_per_epoch`` checked: an integer in ``[1, 2**53]``."""
    return integer("iterations_per_epoch", iterations_per_epoch, low=1, high=MAX_STEPS)


def _steps(name: str, epochs: Any, ipe: int) -> int:
    """``round(epochs * ipe)`` for a positive real ``epochs`` giving at most 2**53 steps,
    or an error naming ``name``."""
    total = real(name, epochs, low=0.0, low_open=True) * ipe
    if not total <= MAX_STEPS:  # also inf
        raise fail(name, f"at most 2**53 steps at {ipe} iterations per epoch", epochs)
    return round(total)


def budget_steps(iterations_per_epoch: Any, epochs: Any) -> int:
    """The budget in optimizer steps, ``round(epochs * iterations_per_epoch)``: checked
    once for every hand-off (at least 2 steps, at most 2**53), naming the argument.

    >>> budget_steps(32, 30)
    960
    """
    ipe = iterations(iterations_per_epoch)
    total = _steps("epochs", epochs, ipe)
    if total < 2:
        raise fail("epochs", f"long enough for 2 steps at {ipe} iterations per epoch", epochs)
    return total


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
    ipe = iterations(iterations_per_epoch)
    target = max(1, _steps("epochs_per_half_cycle", epochs_per_half_cycle, ipe))
    if epochs is None:
        return target, 0
    total = budget_steps(ipe, epochs)
    cycles = max(1, round(total / (2 * target)))
    return total // (2 * cycles), cycles


def noise_limited(noise_to_span: float) -> float:
    r"""How noise-limited a reading is, from 0 (clean) to 1, by the loss's noise / span.

    With :math:`(a, b)` = :data:`NOISE_LIMITED` and :math:`r` the loss's point-to-point
    noise over its fall,

    .. math:: w = \operatorname{clip}\left(\frac{\ln(r / a)}{\ln(b / a)}, 0, 1\right),

    0 for a ``nan`` or non-positive ``r``.

    >>> noise_limited(0.03), noise_limited(0.2)
    (0.0, 1.0)
    >>> round(noise_limited(0.065), 3)
    0.519
    """
    a, b = NOISE_LIMITED
    if not noise_to_span > a:  # also nan
        return 0.0
    return min(1.0, math.log(noise_to_span / a) / math.log(b / a))


def edge_factor(clean: float, noisy: float, weight: float) -> float:
    r"""The multiple of the edge for a reading ``weight`` noise-limited (see
    :func:`noise_limited`): :math:`c^{1-w} n^{w}`, log-linear between the clean and the
    noisy factor, so a small change in the noise moves the rate a little.

    >>> edge_factor(0.8, 0.11, 0.0), edge_factor(0.8, 0.11, 1.0)
    (0.8, 0.11)
    """
    if weight <= 0.0 or weight >= 1.0:  # the ends exactly
        return clean if weight <= 0.0 else noisy
    return math.exp((1.0 - weight) * math.log(clean) + weight * math.log(noisy))


def one_cycle_peak(
    max_lr: float,
    suggestions: Mapping[str, float],
    noise_weight: float = 0.0,
    cap: float = PEAK_CAP,
    noisy: float = NOISY_PEAK_FACTOR,
) -> float:
    """The 1cycle peak: the ``edge`` suggestion times :data:`PEAK_FACTOR` on a clean
    reading, ``noisy`` (:data:`NOISY_PEAK_FACTOR`) on a noise-limited one
    (``noise_weight`` 1, see :func:`noise_limited`), log-linear between, and at most
    ``cap`` (:data:`PEAK_CAP`) times ``max_lr``; ``max_lr`` when there is no edge.
    ``cap`` and ``noisy`` are there for the benchmarks' screens of other values.

    >>> one_cycle_peak(0.1, {"edge": 0.3})
    0.24
    >>> round(one_cycle_peak(0.1, {"edge": 0.3}, noise_weight=1.0), 4)
    0.033
    >>> round(one_cycle_peak(0.1, {"edge": 0.3}, noise_weight=1.0, noisy=0.25), 4)
    0.075
    >>> one_cycle_peak(0.1, {"edge": 0.8})   # a wide valley: capped at 4 x max_lr
    0.4
    >>> one_cycle_peak(0.1, {"steepest": 0.01})
    0.1
    """
    edge = suggestions.get("edge")
    if edge is None:
        return max_lr
    return min(edge_factor(PEAK_FACTOR, noisy, noise_weight) * edge, cap * max_lr)


def to_one_cycle(
    default_peak: float,
    iterations_per_epoch: int,
    epochs: float,
    *,
    peak: float | None = None,
    div_factor: float = ONE_CYCLE_DIV,
    **kwargs: Any,
) -> OneCycle:
    """1cycle of ``round(epochs * iterations_per_epoch)`` steps peaking at ``peak``
    (``default_peak`` when ``None``), starting at ``peak / div_factor``."""
    total = budget_steps(iterations_per_epoch, epochs)
    top = default_peak if peak is None else real("peak", peak, low=0.0, low_open=True)
    return OneCycle(top, total_steps=total, div_factor=div_factor, **kwargs)


def to_schedule(
    base_lr: float,
    max_lr: float,
    default_peak: float,
    policy: str = "triangular",
    iterations_per_epoch: int = 1,
    *,
    epochs: float | None = None,
    epochs_per_half_cycle: float = DEFAULT_EPOCHS_PER_HALF_CYCLE,
    **kwargs: Any,
) -> Triangular | Triangular2 | ExpRange | OneCycle:
    """A ``policy`` schedule between ``base_lr`` and ``max_lr`` (1cycle: peaking at
    ``default_peak``); see :meth:`RangeTestResult.to_schedule`."""
    choice("policy", policy, POLICIES)
    if policy == "one_cycle":
        if epochs is None:
            raise fail("epochs", "given for policy='one_cycle' (its total length)", epochs)
        return to_one_cycle(default_peak, iterations_per_epoch, epochs, **kwargs)
    step, cycles = half_cycle(iterations_per_epoch, epochs, epochs_per_half_cycle)
    if policy == "triangular":
        return Triangular(base_lr, max_lr, step, **kwargs)
    if policy == "triangular2":
        return Triangular2(base_lr, max_lr, step, **kwargs)
    if "gamma" not in kwargs:
        kwargs["gamma"] = 0.1 ** (1.0 / (2 * step * cycles)) if cycles else 0.99994
    return ExpRange(base_lr, max_lr, step, **kwargs)
