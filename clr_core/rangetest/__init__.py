"""The LR range test: sweeps, an online stop rule, and the reading of the curve.

Standard library only. An adapter runs the model; this package decides the
rates, when to stop and what the curve says::

    >>> from clr_core.rangetest import ExponentialSweep, SweepMonitor
    >>> import math
    >>> monitor = SweepMonitor(ExponentialSweep(1e-4, 10.0, num_steps=100))
    >>> def fake_loss(lr):   # stands in for one training step at rate lr
    ...     x = math.log10(lr)
    ...     return 2.0 if x < -3 else (2.0 - 0.8 * (x + 3) if x < -1 else 0.4 + 9 * (x + 1) ** 2)
    >>> for i in range(100):
    ...     if monitor.update(monitor.lr(i), fake_loss(monitor.lr(i))):
    ...         break
    >>> r = monitor.result(batch_size=128)
    >>> r.base_lr < r.lr < r.max_lr < 0.1
    True
    >>> r.to_schedule("triangular", iterations_per_epoch=32, epochs=24).step_size_up
    128

See :func:`analyze` for the rules, :class:`RangeTestResult` for the hand-off.
"""

from ._analysis import MIN_POINTS, analyze, combine, smooth
from ._auto import AutoOneCycle
from ._guard import GUARD_ACTIONS, CollapseGuard
from ._handoff import (
    DEFAULT_EPOCHS_PER_HALF_CYCLE,
    NOISE_LIMITED,
    NOISY_PEAK_FACTOR,
    ONE_CYCLE_DIV,
    PEAK_CAP,
    PEAK_FACTOR,
    RECOMMENDED_POLICY,
    half_cycle,
    noise_limited,
)
from ._io import SweepFileError, read_sweep_csv
from ._monitor import SweepMonitor
from ._recommend import PLAN_MIN_STEPS, Plan, plan_peak, recommend
from ._result import RangeTestResult
from ._sweep import (
    DEFAULT_END_LR,
    DEFAULT_NUM_STEPS,
    DEFAULT_START_LR,
    ExponentialSweep,
    LinearSweep,
)

__all__ = [
    "ExponentialSweep",
    "DEFAULT_START_LR",
    "DEFAULT_END_LR",
    "DEFAULT_NUM_STEPS",
    "LinearSweep",
    "SweepMonitor",
    "analyze",
    "combine",
    "smooth",
    "RangeTestResult",
    "Plan",
    "recommend",
    "plan_peak",
    "PLAN_MIN_STEPS",
    "AutoOneCycle",
    "CollapseGuard",
    "GUARD_ACTIONS",
    "half_cycle",
    "read_sweep_csv",
    "SweepFileError",
    "MIN_POINTS",
    "DEFAULT_EPOCHS_PER_HALF_CYCLE",
    "ONE_CYCLE_DIV",
    "RECOMMENDED_POLICY",
    "PEAK_FACTOR",
    "PEAK_CAP",
    "NOISY_PEAK_FACTOR",
    "NOISE_LIMITED",
    "noise_limited",
]
