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

**Arrays and tensors.** :func:`namespace_of` finds the namespace of an array
or tensor from its type's module, as einops finds its backends: ``numpy``,
``jax.numpy``, ``keras.ops`` as they are; small adapters for PyTorch and
TensorFlow (whose names and promotion rules differ); any other object with
``__array_namespace__`` through the array API's names. A framework is never
imported here: its module is taken from :data:`sys.modules`, where the array's
own existence proves it already is.

With integer tensors the formulas need, besides the float functions, integer
``mod`` and ``minimum``/``maximum`` against Python ints, comparisons, ``+``/``-``
with Python ints, and ``true_divide`` returning floats: ``keras.ops`` has all of
them. Step-count parameters must fit the step's integer dtype (below ``2**31``
for JAX's default int32).

This module imports nothing beyond the standard library; it never imports numpy,
torch or keras.
"""

from __future__ import annotations

import math
import operator
import sys
from typing import Any

__all__ = ["SCALAR", "ScalarNamespace", "PI", "namespace_of", "to_float"]

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


class _Torch:
    """``xp`` over PyTorch: its ``minimum``/``maximum`` take tensors only, it has no ``mod``
    or ``power``, and an integer quotient is taken in float64 and rounded once."""

    name = "torch"

    def __init__(self, torch: Any) -> None:
        self.t = torch
        for f in ("floor", "abs", "where", "cos", "exp", "log"):
            setattr(self, f, getattr(torch, f))
        self.power = torch.pow
        self.mod = torch.remainder

    def _tensors(self, a: Any, b: Any) -> tuple[Any, Any]:
        is_a, is_b = self.t.is_tensor(a), self.t.is_tensor(b)
        if not is_a:
            a = self.t.as_tensor(a, device=b.device if is_b else None)
        if not is_b:
            b = self.t.as_tensor(b, device=a.device)
        return a, b

    def minimum(self, a: Any, b: Any) -> Any:
        return self.t.minimum(*self._tensors(a, b))

    def maximum(self, a: Any, b: Any) -> Any:
        return self.t.maximum(*self._tensors(a, b))

    def true_divide(self, a: Any, b: Any) -> Any:
        t = self.t
        if t.is_tensor(a) and not (a.is_floating_point() or a.is_complex()):
            return t.true_divide(a.to(t.float64), b).to(t.get_default_dtype())
        return t.true_divide(a, b)


class _TensorFlow:
    """``xp`` over TensorFlow, which never promotes: operands are brought to one dtype
    (an int meeting a float becomes float32), Python floats through float64 (so 1e250
    becomes inf in float32 instead of raising), integer quotients taken in float64."""

    name = "tensorflow"

    def __init__(self, tf: Any) -> None:
        self.tf = tf
        self.mod = tf.math.floormod

    def _float(self, x: Any) -> Any:
        tf = self.tf
        x = tf.convert_to_tensor(x)
        return x if x.dtype.is_floating else tf.cast(x, tf.float32)

    def _common(self, *xs: Any) -> list[Any]:
        tf = self.tf
        dtypes = [x.dtype for x in xs if tf.is_tensor(x)]
        floats = [d for d in dtypes if d.is_floating]
        if floats:
            dtype = floats[0]
        elif any(isinstance(x, float) for x in xs) or not dtypes:
            dtype = tf.float32
        else:
            dtype = dtypes[0]
        out = []
        for x in xs:
            if not tf.is_tensor(x):
                x = tf.constant(x, tf.float64 if isinstance(x, float) else tf.int64)
            out.append(x if x.dtype == dtype else tf.cast(x, dtype))
        return out

    def floor(self, x: Any) -> Any:
        return self.tf.math.floor(self._float(x))

    def abs(self, x: Any) -> Any:
        return self.tf.math.abs(x)

    def minimum(self, a: Any, b: Any) -> Any:
        return self.tf.minimum(*self._common(a, b))

    def maximum(self, a: Any, b: Any) -> Any:
        return self.tf.maximum(*self._common(a, b))

    def where(self, cond: Any, a: Any, b: Any) -> Any:
        return self.tf.where(cond, *self._common(a, b))

    def cos(self, x: Any) -> Any:
        return self.tf.math.cos(self._float(x))

    def exp(self, x: Any) -> Any:
        return self.tf.math.exp(self._float(x))

    def log(self, x: Any) -> Any:
        return self.tf.math.log(self._float(x))

    def power(self, a: Any, b: Any) -> Any:
        a, b = self._common(a, b)
        if not a.dtype.is_floating:
            a, b = self.tf.cast(a, self.tf.float32), self.tf.cast(b, self.tf.float32)
        return self.tf.pow(a, b)

    def true_divide(self, a: Any, b: Any) -> Any:
        tf = self.tf
        a, b = self._common(a, b)
        if a.dtype.is_floating:
            return a / b
        return tf.cast(tf.cast(a, tf.float64) / tf.cast(b, tf.float64), tf.float32)


class _ArrayAPI:
    """``xp`` over a namespace of the array API standard (``__array_namespace__``)."""

    def __init__(self, ns: Any) -> None:
        self.name = getattr(ns, "__name__", "array-api")
        for f in ("floor", "abs", "minimum", "maximum", "where", "cos", "exp", "log"):
            setattr(self, f, getattr(ns, f))
        self.power = ns.pow
        self.mod = ns.remainder
        self.true_divide = ns.divide


def _module(name: str) -> Any:
    module = sys.modules.get(name)
    if module is None:  # pragma: no cover - an array of the framework implies it is loaded
        raise RuntimeError(f"{name} is not imported, yet an array of it was given")
    return module


#: Module root of an array's type -> how to get its namespace (never importing it).
_FRAMEWORKS: dict[str, Any] = {
    "numpy": lambda: _module("numpy"),
    "jax": lambda: _module("jax.numpy"),
    "jaxlib": lambda: _module("jax.numpy"),
    "torch": lambda: _Torch(_module("torch")),
    "tensorflow": lambda: _TensorFlow(_module("tensorflow")),
    "keras": lambda: _module("keras").ops,
}
_NAMESPACES: dict[str, Any] = {}


def namespace_of(x: Any) -> Any | None:
    """The ``xp`` that evaluates a formula on array or tensor ``x``, or ``None``.

    Found from the module of ``type(x)`` (or of a base class): NumPy arrays get
    ``numpy``, JAX arrays and tracers ``jax.numpy``, Keras tensors and variables
    ``keras.ops``, PyTorch and TensorFlow tensors an adapter over their own
    functions; another object with ``__array_namespace__`` its array-API
    namespace. Nothing is imported.

    >>> namespace_of(3) is None
    True
    """
    for cls in type(x).__mro__:
        root = cls.__module__.partition(".")[0]
        make = _FRAMEWORKS.get(root)
        if make is not None:
            ns = _NAMESPACES.get(root)
            if ns is None:
                ns = _NAMESPACES[root] = make()
            return ns
    get = getattr(x, "__array_namespace__", None)
    return None if get is None else _ArrayAPI(get())
