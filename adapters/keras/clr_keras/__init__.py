"""Keras 3 adapter for clr-core: serialisable schedules, momentum cycling, the range test.

* :class:`CoreSchedule` evaluates any clr_core schedule inside Keras (eager or
  compiled, TensorFlow / JAX / torch backends) through the core's own formula
  on ``keras.ops``; :class:`TriangularCyclicalLearningRate`,
  :class:`Triangular2CyclicalLearningRate`, :class:`ExponentialCyclicalLearningRate`
  (tensorflow-addons' names and arguments) and :class:`OneCycleSchedule` are
  named forms. All are registered for Keras serialisation under the package
  name ``clr_keras``: importing this module is all ``keras.models.load_model``
  needs, and it must be imported before ``load_model`` in every process that
  loads such a file (Keras cannot locate the classes otherwise).
* :class:`CyclicalMomentum` cycles SGD's ``momentum`` or Adam's ``beta_1``.
* :class:`AutoOneCycleCallback` runs a 1cycle that reads its own peak off
  its warm-up (``clr_core.rangetest.AutoOneCycle``) during ``model.fit``.
* :class:`CollapseGuard` watches each epoch's loss and, when training collapses,
  restores the last good epoch and lowers the rate (:class:`ScaledSchedule` over a
  schedule): the recommended plan trains under it.
* :func:`range_test` runs the LR range test through ``model.fit`` and returns
  clr_core's ``RangeTestResult``, restoring the model and optimizer exactly.

This package imports keras at import time: it fails loudly where keras is missing.
"""

from __future__ import annotations

import keras  # noqa: F401  (fail loudly where keras is missing)

from ._auto import AutoOneCycleCallback
from ._guard import CollapseGuard
from ._momentum import CyclicalMomentum
from ._rangetest import RangeTestCallback, range_test
from ._schedules import (
    CoreSchedule,
    ExponentialCyclicalLearningRate,
    OneCycleSchedule,
    ScaledSchedule,
    Triangular2CyclicalLearningRate,
    TriangularCyclicalLearningRate,
)

__all__ = [
    "CoreSchedule",
    "TriangularCyclicalLearningRate",
    "Triangular2CyclicalLearningRate",
    "ExponentialCyclicalLearningRate",
    "OneCycleSchedule",
    "CyclicalMomentum",
    "AutoOneCycleCallback",
    "CollapseGuard",
    "ScaledSchedule",
    "range_test",
    "RangeTestCallback",
]
