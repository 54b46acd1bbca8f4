"""PyTorch adapter for clr-core: schedulers over the core's schedules, and the range test.

* :class:`ScheduleLR` drives an optimizer from any clr_core schedule (one per
  param group if you like), with an optional momentum schedule.
* :class:`CyclicLR`, :class:`OneCycleLR`, :class:`CosineAnnealingWarmRestarts`
  are drop-ins for PyTorch's classes of the same names: identical sequences,
  plain-data state, no clobbered rates on resume, no error past a 1cycle's end.
* :class:`AutoOneCycleLR` is a 1cycle that finds its own peak during its warm-up,
  fed each step's loss (``scheduler.step(loss)``): no separate range test.
* :class:`CollapseGuard` watches each epoch's loss and, when training collapses,
  restores the last good epoch and lowers every later rate: the recommended plan trains
  under it.
* :func:`range_test` / :class:`RangeTest` run the LR range test on a model and
  return clr_core's ``RangeTestResult``, restoring everything afterwards.
* :class:`LearningRateFinder` is the range test as a Lightning callback: it runs
  at fit start and installs the plan it reads; :class:`CollapseGuardCallback` is the
  collapse guard as one. It is imported on first use, so
  ``import clr_torch`` never imports Lightning.

This package imports torch at import time. Where torch is missing, ``import
clr_torch`` still succeeds (so that ``clr demo --help``, whose registration in
:mod:`clr_torch.demo.cli` is standard library only, works), and every name
below fails loudly, saying what to install.
"""

from __future__ import annotations

import importlib.util as _util
from typing import TYPE_CHECKING, Any

_TORCH = _util.find_spec("torch") is not None
if TYPE_CHECKING or _TORCH:
    from ._auto import AutoOneCycleLR
    from ._dropin import CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR
    from ._guard import CollapseGuard
    from ._rangetest import RangeTest, accuracy, range_test
    from ._scheduler import MOMENTUM_KEYS, ScheduleLR, momentum_key_for


__all__ = [
    "ScheduleLR",
    "AutoOneCycleLR",
    "CyclicLR",
    "OneCycleLR",
    "CosineAnnealingWarmRestarts",
    "CollapseGuard",
    "MOMENTUM_KEYS",
    "momentum_key_for",
    "range_test",
    "RangeTest",
    "accuracy",
]
# Not in __all__: `from clr_torch import *` must work without Lightning.

_LAZY = {"LearningRateFinder": "._lightning", "CollapseGuardCallback": "._lightning_guard"}


def __getattr__(name: str) -> Any:
    """Lightning-only names, imported on first use (Lightning stays optional); without
    torch, every name fails loudly, saying what to install."""
    if not _TORCH and not name.startswith("__"):  # dunders: hasattr(), pickle, doctest
        raise ModuleNotFoundError(
            f"clr_torch.{name} needs PyTorch, which is not installed: "
            "pip install 'clr-core[torch]'",
            name="torch",
        )
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
