"""The tiny math namespace every schedule formula is written against.

Each formula in :mod:`clr_core` is written once, as a function of a step value
and a namespace ``xp`` offering::

    floor, abs, minimum, maximum, where, cos, exp, log, power   (on floats)
    mod, true_divide                                            (from integers to floats)

These names exist with the same meaning in ``math``-style scalars (this
module's :data:`SCALAR`), in ``numpy``, ``jax.numpy`` and ``keras.ops``, so the
same code evaluates on Python numbers, vectorised over NumPy arrays, and inside
a compiled Keras train step on any backend.

**Integer steps.** A formula receives the step as the caller has it: an int
(Python, or an integer array or tensor) or a float. It computes the position
inside a cycle or a piece from the step with integer-safe operations first:

* ``mod(step, n)`` for a non-negative step and a positive Python int ``n``: the
  remainder, exact in integer arithmetic (and exact for floats: ``fmod``);
* ``step - r``, ``n - r``, ``step >= b``, ``minimum(step, n)``, ``maximum(step - b, 0)``
  with Python ints: the step's own arithmetic;
* ``true_divide(a, b)``: ``a / b`` as a float (for integer operands, the
  namespace's default float: float64 in NumPy, float32 in JAX and Keras).

Only then does it turn to floats, so in float32 the error stays at the rounding of
the final value at any step, and a Python int step of any size is exact. Integer
operands never meet a Python float in an operator (TensorFlow refuses int64 * 0.5):
they go through ``true_divide`` first.

This module imports nothing beyond the standard library; it never imports numpy,
torch or keras.
"""

from __future__ import annotations

import math
import operator
from typing import Any

__all__ = ["SCALAR", "ScalarNamespace", "PI", "to_float"]

#: pi as a plain float, so formulas never need a namespace constant.
PI = math.pi


class ScalarNamespace:
    """``xp`` for plain Python floats and ints, built on :mod:`math`.

    ``where`` takes the branch the condition picks; ``power`` is Python's ``**``
    on floats, which underflows to ``0.0`` instead of raising; ``mod`` and
    ``true_divide`` are ``%`` and ``/``, exact on ints of any size (a quotient
    beyond the float range is ``inf``).
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
            if not isinstance(b, int):
                return math.inf  # the result is beyond the float range
            # an int exponent beyond the float range (a huge step): the limit
            base = abs(float(a))
            if base == 1.0:
                return 1.0
            return math.inf if (base > 1.0) == (b > 0) else 0.0
        return out

    mod = staticmethod(operator.mod)

    @staticmethod
    def true_divide(a: Any, b: Any) -> float:
        try:
            out: float = a / b
        except OverflowError:  # int / int beyond the float range
            return math.inf if (a > 0) == (b > 0) else -math.inf
        return out

    def __repr__(self) -> str:
        return "clr_core._xp.SCALAR"


#: The namespace used by ``schedule(step)``.
SCALAR = ScalarNamespace()


def to_float(x: Any, xp: Any) -> Any:
    """``x`` (an int, a float, an array) as a float of ``xp``: ``true_divide(x, 1)``."""
    return xp.true_divide(x, 1)
