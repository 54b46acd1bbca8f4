"""Base classes, argument validation and the type registry.

Every schedule, cycle shape and amplitude scale in clr_core is a frozen
dataclass deriving from :class:`Component`. Components are plain values: equal
when their fields are equal, hashable, picklable, and convertible to plain
JSON data with :meth:`Component.to_config`. Nothing callable is ever stored in
a field.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any, TypeVar

from ._xp import SCALAR

__all__ = [
    "Component",
    "Schedule",
    "register",
    "check_step",
]

# --------------------------------------------------------------------------- #
# Validation helpers. Messages follow Keras: "Argument `x` must be ... Received: x=..."
# --------------------------------------------------------------------------- #


def _fail(name: str, requirement: str, value: Any, exc: type[Exception] = ValueError) -> Exception:
    return exc(f"Argument `{name}` must be {requirement}. Received: {name}={value!r}")


def real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Validate a finite real number (not bool) and return it as ``float``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _fail(name, "a real number", value, TypeError)
    v = float(value)
    if not math.isfinite(v):
        raise _fail(name, "finite", value)
    if low is not None and (v < low or (low_open and v == low)):
        raise _fail(name, (">" if low_open else ">=") + f" {low}", value)
    if high is not None and (v > high or (high_open and v == high)):
        raise _fail(name, ("<" if high_open else "<=") + f" {high}", value)
    return v


def integer(name: str, value: Any, *, low: int | None = None) -> int:
    """Validate an integer (not bool; an integral float is accepted) and return ``int``."""
    if isinstance(value, bool):
        raise _fail(name, "an integer", value, TypeError)
    if isinstance(value, numbers.Integral):
        v = int(value)
    elif isinstance(value, numbers.Real):
        f = float(value)
        if not (math.isfinite(f) and f.is_integer()):
            raise _fail(name, "an integer", value)
        v = int(f)
    else:
        raise _fail(name, "an integer", value, TypeError)
    if low is not None and v < low:
        raise _fail(name, f">= {low}", value)
    return v


def choice(name: str, value: Any, options: tuple[str, ...]) -> str:
    """Validate that ``value`` is one of the strings ``options``."""
    if not isinstance(value, str):
        raise _fail(name, f"one of {options}", value, TypeError)
    if value not in options:
        raise _fail(name, f"one of {options}", value)
    return value


def boolean(name: str, value: Any) -> bool:
    """Validate a bool."""
    if not isinstance(value, bool):
        raise _fail(name, "a bool", value, TypeError)
    return value


def check_step(step: Any) -> int:
    """Validate a schedule step: a non-negative int (bools are rejected).

    Examples
    --------
    >>> check_step(3)
    3
    >>> check_step(-1)
    Traceback (most recent call last):
    ...
    ValueError: Argument `step` must be >= 0. Received: step=-1
    """
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise _fail("step", "a non-negative int", step, TypeError)
    s = int(step)
    if s < 0:
        raise _fail("step", ">= 0", step)
    return s


# --------------------------------------------------------------------------- #
# Registry and config
# --------------------------------------------------------------------------- #

_REGISTRY: dict[str, type[Component]] = {}

C = TypeVar("C", bound="type[Component]")


def register(cls: C) -> C:
    """Register a :class:`Component` subclass so :func:`from_config` can rebuild it.

    Use it as a class decorator on your own frozen dataclass that subclasses
    :class:`~clr_core.Scale`, :class:`~clr_core.Shape` or
    :class:`~clr_core.Schedule`. The config type tag is the class name; a
    second class with the same name is refused.

    Examples
    --------
    >>> import dataclasses, clr_core
    >>> @clr_core.register
    ... @dataclasses.dataclass(frozen=True)
    ... class Quarter(clr_core.Scale):
    ...     def factor(self, x, xp):
    ...         return 0.25 + 0.0 * x
    >>> clr_core.Cyclic(0.1, 1.0, 2, scale=Quarter())(2)
    0.325
    """
    if not (isinstance(cls, type) and issubclass(cls, Component)):
        raise _fail("cls", "a subclass of clr_core.Component", cls, TypeError)
    if not dataclasses.is_dataclass(cls) or not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        raise _fail("cls", "a frozen dataclass", cls, TypeError)
    name = cls.__name__
    existing = _REGISTRY.get(name)
    # Re-registering the same class (a module reloaded) is fine; a second class is not.
    if (
        existing is not None
        and existing is not cls
        and (existing.__module__, existing.__qualname__) != (cls.__module__, cls.__qualname__)
    ):
        raise ValueError(
            f"A component named {name!r} is already registered "
            f"({existing.__module__}.{existing.__qualname__})."
        )
    _REGISTRY[name] = cls
    return cls


def registered_types() -> dict[str, type[Component]]:
    """A copy of the registry: config type tag -> class."""
    return dict(_REGISTRY)


def _to_data(value: Any) -> Any:
    if isinstance(value, Component):
        return value.to_config()
    if isinstance(value, tuple):
        return [_to_data(v) for v in value]
    return value


def _from_data(value: Any, path: str) -> Any:
    if isinstance(value, dict):
        return from_config(value, _path=path)
    if isinstance(value, list):
        return tuple(_from_data(v, f"{path}[{i}]") for i, v in enumerate(value))
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(
        f"Config value at `{path}` must be JSON data (dict, list, str, number, bool or null). "
        f"Received: {value!r} (type {type(value).__name__})"
    )


def from_config(config: Any, *, _path: str = "config") -> Any:
    """Rebuild a schedule (or shape, or scale) from :meth:`Component.to_config` data.

    A config is data, safe to load from an untrusted checkpoint: its ``"type"``
    is looked up only in clr_core's registry (library classes and those a user
    registered with :func:`register`); nothing is imported or evaluated. Unknown
    types, unknown or missing keys and wrong value types raise ``ValueError`` or
    ``TypeError``.

    Examples
    --------
    >>> import clr_core
    >>> s = clr_core.Triangular(0.001, 0.006, step_size_up=2000)
    >>> clr_core.from_config(s.to_config()) == s
    True
    """
    if not isinstance(config, dict):
        raise TypeError(
            f"Argument `{_path}` must be a dict produced by to_config(). "
            f"Received: {_path}={config!r}"
        )
    tag = config.get("type")
    if not isinstance(tag, str):
        raise ValueError(f"Config at `{_path}` needs a string 'type' key. Received: {config!r}")
    cls = _REGISTRY.get(tag)
    if cls is None:
        raise ValueError(
            f"Unknown type {tag!r} at `{_path}`. Known types: {sorted(_REGISTRY)}. "
            "Register your own class with clr_core.register."
        )
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    keys = set(config) - {"type"}
    unknown = sorted(keys - set(names))
    missing = [n for n in names if n not in keys]
    if unknown:
        raise ValueError(f"Unknown key(s) {unknown} in config for {tag} at `{_path}`.")
    if missing:
        raise ValueError(f"Missing key(s) {missing} in config for {tag} at `{_path}`.")
    kwargs = {n: _from_data(config[n], f"{_path}.{n}") for n in names}
    return cls(**kwargs)


# --------------------------------------------------------------------------- #
# Base classes
# --------------------------------------------------------------------------- #


@dataclasses.dataclass(frozen=True)
class Component:
    """A plain, immutable value that round-trips through :meth:`to_config`."""

    def to_config(self) -> dict[str, Any]:
        """Plain JSON data: ``{"type": <class name>, <field>: <value>, ...}``."""
        out: dict[str, Any] = {"type": type(self).__name__}
        for f in dataclasses.fields(self):
            if f.init:
                out[f.name] = _to_data(getattr(self, f.name))
        return out

    def _set(self, name: str, value: Any) -> None:
        """Normalise a field inside ``__post_init__`` (the dataclass is frozen)."""
        object.__setattr__(self, name, value)


@dataclasses.dataclass(frozen=True)
class Schedule(Component):
    """A learning-rate (or momentum) schedule: a pure function of the optimizer step.

    Subclasses implement :meth:`evaluate`, written against the math namespace
    ``xp`` so that the one formula runs on Python floats, NumPy arrays and
    ``keras.ops`` tensors; and :meth:`bounds`.

    Steps are 0-based optimizer steps. ``schedule(step)`` validates ``step``
    (a non-negative int) and returns a float. Past its end a schedule holds
    its final value; it never raises for a valid step.
    """

    def __call__(self, step: Any) -> float:
        return float(self.evaluate(float(check_step(step)), SCALAR))

    def evaluate(self, step: Any, xp: Any = SCALAR) -> Any:
        """Evaluate the formula at ``step`` (a float, an array or a tensor) with namespace ``xp``.

        No validation happens here: this is the hot path used by the adapters
        and for vectorised evaluation, e.g. ``s.evaluate(numpy.arange(1000.0), numpy)``.
        """
        raise NotImplementedError

    def bounds(self) -> tuple[float, float]:
        """``(low, high)``: every value the schedule takes lies in this closed interval."""
        raise NotImplementedError

    @property
    def duration(self) -> int | None:
        """Steps until the schedule settles on its final value (held from then on),
        or ``None`` for a schedule that never settles (cyclic policies, restarts)."""
        return None

    def momentum(self, base_momentum: float = 0.85, max_momentum: float = 0.95) -> Schedule:
        """The inverse momentum schedule: ``max_momentum`` where the rate is lowest.

        The default maps the rate linearly from :meth:`bounds` onto
        ``[max_momentum, base_momentum]`` (see :class:`~clr_core.Inverse`);
        cyclic and one-cycle schedules override it with the exact formula
        PyTorch uses.
        """
        from ._compose import Inverse

        return Inverse(self, base_momentum=base_momentum, max_momentum=max_momentum)
