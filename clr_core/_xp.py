"""The tiny math namespace every schedule formula is written against.

Each formula in :mod:`clr_core` is written once, as a function of a step value
and a namespace ``xp`` offering::

    floor, abs, minimum, maximum, where, cos, exp, log, power

These names exist with the same meaning in ``math``-style scalars (this
module's :data:`SCALAR`), in ``numpy`` and in ``keras.ops``, so the same code
evaluates on Python floats, vectorised over NumPy arrays, and inside a
compiled Keras train step on any backend. This module imports nothing beyond
the standard library; it never imports numpy, torch or keras.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["SCALAR", "ScalarNamespace", "PI"]

#: pi as a plain float, so formulas never need a namespace constant.
PI = math.pi


class ScalarNamespace:
    """``xp`` for plain Python floats (and ints), built on :mod:`math`.

    ``where`` takes the branch the condition picks; ``power`` is Python's ``**``
    on floats, which underflows to ``0.0`` instead of raising.
    """

    name = "scalar"

    @staticmethod
    def floor(x: Any) -> float:
        return float(math.floor(x))

    @staticmethod
    def abs(x: Any) -> float:
        return float(abs(x))

    @staticmethod
    def minimum(a: Any, b: Any) -> Any:
        return a if a <= b else b

    @staticmethod
    def maximum(a: Any, b: Any) -> Any:
        return a if a >= b else b

    @staticmethod
    def where(cond: Any, a: Any, b: Any) -> Any:
        return a if cond else b

    @staticmethod
    def cos(x: Any) -> float:
        return math.cos(x)

    @staticmethod
    def exp(x: Any) -> float:
        try:
            return math.exp(x)
        except OverflowError:
            return math.inf

    @staticmethod
    def log(x: Any) -> float:
        return math.log(x)

    @staticmethod
    def power(a: Any, b: Any) -> float:
        try:
            out: float = float(a) ** float(b)
        except OverflowError:
            return math.inf
        return out

    def __repr__(self) -> str:
        return "clr_core._xp.SCALAR"


#: The namespace used by ``schedule(step)``.
SCALAR = ScalarNamespace()
