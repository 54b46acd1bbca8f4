"""Argument checks shared by clr_core and its adapters.

Every check takes the argument's *name* and its value, returns the value
normalised (``float``, ``int``...), and raises ``TypeError`` for a value of the
wrong kind or ``ValueError`` for one out of range, with one message form
(Keras')::

    Argument `x` must be <requirement>. Received: x=<value>

The schedules build their checks by composing these: a pair of bounds is
:func:`interval`, a momentum pair is :func:`interval` in ``[0, 1]``, a step
count is :func:`integer` up to :data:`MAX_STEPS`.

Examples
--------
>>> from clr_core import validation as v
>>> v.real("max_lr", 0.1, low=0.0)
0.1
>>> v.interval("base_lr", 0.2, "max_lr", 0.1)
Traceback (most recent call last):
...
ValueError: Argument `max_lr` must be >= base_lr=0.2. Received: max_lr=0.1
"""

from __future__ import annotations

import contextlib
import math
import numbers
import re
import reprlib
from collections.abc import Iterator
from typing import Any, TypeVar

__all__ = [
    "MAX_DEPTH",
    "MAX_PIECES",
    "MAX_STEPS",
    "argument_names",
    "array_step",
    "boolean",
    "choice",
    "fail",
    "instance",
    "integer",
    "interval",
    "momentum_pair",
    "real",
    "step",
]

#: The largest step count a schedule parameter may take (``2**53``: every count up to
#: it is an exact float, so a schedule's own arithmetic never rounds a parameter).
MAX_STEPS = 2**53

#: The deepest schedules may nest in one another (a Join of Joins..., an Inverse of one).
MAX_DEPTH = 32
#: The most schedules one Join may hold, counting the pieces of nested Joins.
MAX_PIECES = 1000

T = TypeVar("T")


class _ShortRepr(reprlib.Repr):
    """``reprlib.Repr`` that also shortens ints too long for ``repr`` (over 4300 digits,
    Python's limit on int-to-str conversion): they are described, not written out."""

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 10_000:  # about 3000 digits: well within the limit
            sign = "-" if x < 0 else ""
            return f"<{sign}int of about {int(x.bit_length() * math.log10(2)) + 1} digits>"
        return super().repr_int(x, level)


# Values in messages are shortened: a refused 20,000-piece config stays one line.
_REPR = _ShortRepr()
_REPR.maxlevel = 3
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 8
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 200
_MAX_NAME = 200  # argument names built from the keys of untrusted data are shortened too
# The whole of a shortened value: eight items of eight items of 200-character strings
# would still fill a screen (a refused state dict with another state dict inside).
_MAX_REPR = 300


def short_repr(value: Any) -> str:
    """``repr(value)``, shortened for a message (long containers and strings elided,
    at most 300 characters in all).

    >>> short_repr(list(range(100)))
    '[0, 1, 2, 3, 4, 5, 6, 7, ...]'
    """
    text = _REPR.repr(value)
    if len(text) > _MAX_REPR:
        text = text[: _MAX_REPR - 60] + "..." + text[-40:]
    return text


def fail(name: str, requirement: str, value: Any, exc: type[Exception] = ValueError) -> Exception:
    """The exception for argument ``name``: ``"Argument `name` must be <requirement>. ..."``.

    Returned, not raised, so the caller writes ``raise fail(...)`` and the
    traceback points at the check.

    >>> fail("beta", "in [0, 1)", 2.0)
    ValueError('Argument `beta` must be in [0, 1). Received: beta=2.0')
    """
    if len(name) > _MAX_NAME:  # a name built from an untrusted key (suggestions['...'])
        name = name[: _MAX_NAME // 2] + "..." + name[-_MAX_NAME // 4 :]
    return exc(f"Argument `{name}` must be {requirement}. Received: {name}={short_repr(value)}")


@contextlib.contextmanager
def argument_names(names: dict[str, str]) -> Iterator[None]:
    """Report errors raised inside the block under the caller's own argument names.

    An adapter that passes its arguments on to a core class under other names
    (``min_lr`` -> ``start_lr``) wraps the call, so the user reads the name they wrote.
    Only ``ValueError`` and ``TypeError`` are renamed, and only whole names.

    >>> with argument_names({"start_lr": "min_lr"}):
    ...     raise fail("start_lr", "> 0", -1.0)
    Traceback (most recent call last):
    ...
    ValueError: Argument `min_lr` must be > 0. Received: min_lr=-1.0
    """
    try:
        yield
    except (ValueError, TypeError) as error:
        message = str(error)
        for theirs, ours in names.items():
            message = re.sub(rf"(?<![\w`]){re.escape(theirs)}(?![\w`])", ours, message)
            message = message.replace(f"`{theirs}`", f"`{ours}`")
        if message == str(error):
            raise
        raise type(error)(message).with_traceback(error.__traceback__) from None


def real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite real number (not a bool), optionally within ``[low, high]``, as ``float``.

    ``low_open`` / ``high_open`` exclude the end itself. An int too large for a
    float is refused as not finite.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise fail(name, "a real number", value, TypeError)
    try:
        v = float(value)
    except OverflowError:
        v = math.inf
    if not math.isfinite(v):
        raise fail(name, "finite", value)
    if low is not None and (v < low or (low_open and v == low)):
        raise fail(name, (">" if low_open else ">=") + f" {low}", value)
    if high is not None and (v > high or (high_open and v == high)):
        raise fail(name, ("<" if high_open else "<=") + f" {high}", value)
    return v


def integer(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """An integer (not a bool; an integral float is accepted) within ``[low, high]``, as ``int``."""
    if isinstance(value, bool):
        raise fail(name, "an integer", value, TypeError)
    if isinstance(value, numbers.Integral):
        v = int(value)
    elif isinstance(value, numbers.Real):
        f = float(value)
        if not (math.isfinite(f) and f.is_integer()):
            raise fail(name, "an integer", value)
        v = int(f)
    else:
        raise fail(name, "an integer", value, TypeError)
    if low is not None and v < low:
        raise fail(name, f">= {low}", value)
    if high is not None and v > high:
        raise fail(name, f"<= {high}" + (" (2**53)" if high == MAX_STEPS else ""), value)
    return v


def choice(name: str, value: Any, options: tuple[str, ...]) -> str:
    """One of the strings ``options``."""
    if not isinstance(value, str):
        raise fail(name, f"one of {options}", value, TypeError)
    if value not in options:
        raise fail(name, f"one of {options}", value)
    return value


def boolean(name: str, value: Any) -> bool:
    """A bool (``0`` and ``1`` are refused: they are usually a misplaced argument)."""
    if not isinstance(value, bool):
        raise fail(name, "a bool", value, TypeError)
    return value


def instance(name: str, value: Any, cls: type[T], what: str) -> T:
    """``value`` itself when it is an instance of ``cls``; ``what`` describes it in the error.

    >>> instance("n", "3", int, "an int")
    Traceback (most recent call last):
    ...
    TypeError: Argument `n` must be an int. Received: n='3'
    """
    if not isinstance(value, cls):
        raise fail(name, what, value, TypeError)
    return value


def interval(
    low_name: str,
    low_value: Any,
    high_name: str,
    high_value: Any,
    *,
    floor: float | None = 0.0,
    ceiling: float | None = None,
) -> tuple[float, float]:
    """Two reals ``low <= high``, both within ``[floor, ceiling]``: a schedule's bounds.

    >>> interval("base_lr", 0.001, "max_lr", 0.006)
    (0.001, 0.006)
    """
    lo = real(low_name, low_value, low=floor, high=ceiling)
    hi = real(high_name, high_value, low=floor, high=ceiling)
    if hi < lo:
        raise fail(high_name, f">= {low_name}={lo!r}", high_value)
    return lo, hi


def momentum_pair(base_momentum: Any, max_momentum: Any) -> tuple[float, float]:
    """``(base_momentum, max_momentum)``: both in ``[0, 1]``, ``base <= max``."""
    return interval(
        "base_momentum", base_momentum, "max_momentum", max_momentum, floor=0.0, ceiling=1.0
    )


def step(value: Any) -> int:
    """A schedule step: a non-negative int of any size; an integral float (``5.0``) is
    taken as that int; bools are refused.

    >>> step(3), step(5.0)
    (3, 5)
    >>> step(-1)
    Traceback (most recent call last):
    ...
    ValueError: Argument `step` must be >= 0. Received: step=-1
    >>> step(2.5)
    Traceback (most recent call last):
    ...
    ValueError: Argument `step` must be a whole number of steps. Received: step=2.5
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise fail("step", "a non-negative int", value, TypeError)
    if isinstance(value, numbers.Integral):
        s = int(value)
    else:
        f = float(value)
        if not (math.isfinite(f) and f.is_integer()):
            raise fail("step", "a whole number of steps", value)
        s = int(f)
    if s < 0:
        raise fail("step", ">= 0", value)
    return s


def array_step(value: Any, xp: Any) -> None:
    """Check an array or tensor of steps: an integer or floating dtype. A NumPy array,
    concrete on the host, is also checked to hold whole, non-negative steps; other
    frameworks' values may be symbolic (``jax.jit``, ``tf.function``) and are not read."""
    dtype = str(getattr(value, "dtype", ""))
    if not ("int" in dtype or "float" in dtype):  # (u)int8..64, (b)float16..64; not bool
        raise fail("step", "an array of integer (or float) steps", value, TypeError)
    if getattr(xp, "__name__", None) != "numpy":
        return
    if bool((value < 0).any()):
        raise fail("step", "an array of steps >= 0", value)
    if "float" in dtype and not bool((xp.isfinite(value) & (xp.floor(value) == value)).all()):
        raise fail("step", "an array of whole numbers of steps", value)
