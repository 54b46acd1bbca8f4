"""PyTorch adapter for clr-core: schedulers over the core's schedules, and the range test.

* :class:`ScheduleLR` drives an optimizer from any clr_core schedule (one per
  param group if you like), with an optional momentum schedule.
* :class:`CyclicLR`, :class:`OneCycleLR`, :class:`CosineAnnealingWarmRestarts`
  are drop-ins for PyTorch's classes of the same names: identical sequences,
  plain-data state, no clobbered rates on resume, no error past a 1cycle's end.
* :func:`range_test` / :class:`RangeTest` run the LR range test on a model and
  return clr_core's ``RangeTestResult``, restoring everything afterwards.

This package imports torch at import time: it fails loudly where torch is missing.
"""

from __future__ import annotations

import torch  # noqa: F401  (fail loudly where torch is missing)

from ._dropin import CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR
from ._rangetest import RangeTest, accuracy, range_test
from ._scheduler import MOMENTUM_KEYS, ScheduleLR, momentum_key_for

__all__ = [
    "ScheduleLR",
    "CyclicLR",
    "OneCycleLR",
    "CosineAnnealingWarmRestarts",
    "MOMENTUM_KEYS",
    "momentum_key_for",
    "range_test",
    "RangeTest",
    "accuracy",
]
