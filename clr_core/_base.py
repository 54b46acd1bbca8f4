"""Base classes, the type registry and the default (inverse) momentum.

Every schedule, cycle shape and amplitude scale in clr_core is a frozen
dataclass deriving from :class:`Component`. Components are plain values: equal
when their fields are equal, hashable, picklable, and convertible to plain
JSON data with :meth:`Component.to_config`. Nothing callable is ever stored in
a field.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable
from typing import Any, TypeVar, overload

from ._xp import SCALAR, namespace_of
from .validation import (
    MAX_DEPTH,
    MAX_PIECES,
    array_step,
    fail,
    instance,
    momentum_pair,
    short_repr,
)
from .validation import step as check_step

# The checks live in clr_core.validation; the names the adapters imported from
# here stay importable until they import them from there.
from .validation import boolean as boolean  # isort: skip
from .validation import choice as choice  # isort: skip
from .validation import integer as integer  # isort: skip
from .validation import real as real  # isort: skip

_fail = fail

__all__ = [
    "Component",
    "Inverse",
    "Schedule",
    "fuse",
    "register",
    "check_step",
]

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
        raise fail("cls", "a subclass of clr_core.Component", cls, TypeError)
    if not dataclasses.is_dataclass(cls) or not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        raise fail("cls", "a frozen dataclass", cls, TypeError)
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


#: The deepest a config's JSON may nest (dicts and lists): a MAX_DEPTH-deep Join
#: takes a dict and a list per level, and its innermost piece a shape or scale.
MAX_CONFIG_DEPTH = 2 * MAX_DEPTH + 2
#: The most components (dicts) one config may describe.
MAX_COMPONENTS = 10 * MAX_PIECES


def _from_data(value: Any, path: str, depth: int, budget: list[int]) -> Any:
    if isinstance(value, dict):
        return _build(value, path, depth + 1, budget, None)
    if isinstance(value, list):
        if depth + 1 > MAX_CONFIG_DEPTH:
            raise ValueError(f"Config at `{path}` nests deeper than {MAX_CONFIG_DEPTH} levels.")
        if len(value) > MAX_PIECES:
            raise ValueError(
                f"Config value at `{path}` holds {len(value)} items; at most {MAX_PIECES} "
                "(clr_core.validation.MAX_PIECES)."
            )
        return tuple(_from_data(v, f"{path}[{i}]", depth + 1, budget) for i, v in enumerate(value))
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(
        f"Config value at `{path}` must be JSON data (dict, list, str, number, bool or null). "
        f"Received: {short_repr(value)} (type {type(value).__name__})"
    )


def _config_class(config: Any, path: str, depth: int, kind: type | None) -> type[Component]:
    """The registered class a config names, after checking its shape."""
    if depth > MAX_CONFIG_DEPTH:
        raise ValueError(f"Config at `{path}` nests deeper than {MAX_CONFIG_DEPTH} levels.")
    if not isinstance(config, dict):
        raise TypeError(
            f"Argument `{path}` must be a dict produced by to_config(). "
            f"Received: {path}={short_repr(config)}"
        )
    tag = config.get("type")
    if not isinstance(tag, str):
        raise ValueError(
            f"Config at `{path}` needs a string 'type' key. Received: {short_repr(config)}"
        )
    cls = _REGISTRY.get(tag)
    if cls is None:
        raise ValueError(
            f"Unknown type {short_repr(tag)} at `{path}`. Known types: {sorted(_REGISTRY)}. "
            "Register your own class with clr_core.register."
        )
    if kind is not None and not issubclass(cls, kind):
        wanted = _kind_of(kind)
        raise TypeError(
            f"Config at `{path}` must describe {wanted}; {tag!r} is {_kind_of(cls)}, not {wanted}."
        )
    return cls


_KIND_WORDS = {"Schedule": "a schedule", "Shape": "a cycle shape", "Scale": "an amplitude scale"}


def _kind_of(cls: type) -> str:
    """What a component is, in words: from its base directly below Component."""
    base = next((b.__name__ for b in cls.__mro__ if Component in b.__bases__), cls.__name__)
    return _KIND_WORDS.get(base, f"a {base}")


def _build(config: Any, path: str, depth: int, budget: list[int], kind: type | None) -> Component:
    cls = _config_class(config, path, depth, kind)
    budget[0] -= 1
    if budget[0] < 0:
        raise ValueError(f"Config describes more than {MAX_COMPONENTS} components.")
    tag = cls.__name__
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    keys = set(config) - {"type"}
    unknown = sorted(short_repr(k) for k in keys - set(names))
    missing = [n for n in names if n not in keys]
    if unknown:
        raise ValueError(f"Unknown key(s) {', '.join(unknown)} in config for {tag} at `{path}`.")
    if missing:
        raise ValueError(f"Missing key(s) {missing} in config for {tag} at `{path}`.")
    kwargs = {n: _from_data(config[n], f"{path}.{n}", depth, budget) for n in names}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:  # name where in the config the refused value sits
        raise (TypeError if isinstance(e, TypeError) else ValueError)(
            f"{path} ({tag}): {e}"
        ) from None


def from_config(config: Any, *, kind: type[Component] | None = None) -> Any:
    """Rebuild a schedule from :meth:`Component.to_config` data.

    A config is data, safe to load from an untrusted checkpoint: its ``"type"``
    is looked up only in clr_core's registry (library classes and those a user
    registered with :func:`register`); nothing is imported or evaluated. Unknown
    types, unknown or missing keys, wrong value types and values a constructor
    refuses raise ``ValueError`` or ``TypeError`` naming where in the config
    they sit. A config nests at most 66 levels of JSON (a Join 32 deep,
    :data:`~clr_core.validation.MAX_DEPTH`), holds at most 1000 items in a list
    (:data:`~clr_core.validation.MAX_PIECES`) and 10,000 components: larger ones
    are refused before anything is built.

    Parameters
    ----------
    config : dict
        What ``to_config()`` returned (e.g. after a JSON round trip).
    kind : type, optional
        What the config must describe: :class:`Schedule` (the default), or
        :class:`~clr_core.Shape`, :class:`~clr_core.Scale`, :class:`Component`.

    Examples
    --------
    >>> import clr_core
    >>> s = clr_core.Triangular(0.001, 0.006, step_size_up=2000)
    >>> clr_core.from_config(s.to_config()) == s
    True
    >>> clr_core.from_config({"type": "Triangle"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: Config at `config` must describe a schedule; 'Triangle' is a cycle shape, ...
    >>> clr_core.from_config({"type": "Triangle"}, kind=clr_core.Shape)
    Triangle()
    """
    if kind is None:
        kind = Schedule
    return _build(config, "config", 1, [MAX_COMPONENTS], instance("kind", kind, type, "a class"))


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

    def _same(self, other: object, *names: str) -> bool:
        """Whether ``other`` has the same type family and equal values of fields ``names``."""
        return isinstance(other, Component) and all(
            getattr(self, n) == getattr(other, n, None) for n in names
        )


@dataclasses.dataclass(frozen=True)
class Schedule(Component):
    """A learning-rate (or momentum) schedule: a pure function of the optimizer step.

    Subclasses implement :meth:`evaluate`, written against the math namespace
    ``xp`` so that the one formula runs on Python floats, NumPy arrays and
    ``keras.ops`` tensors; and :meth:`bounds`.

    Steps are 0-based optimizer steps. ``schedule(step)`` validates ``step``
    (a non-negative int) and returns a float; an array of steps gives an array
    of values in the array's framework. Past its end a schedule holds its
    final value; it never raises for a valid step.
    """

    @overload
    def __call__(self, step: int | float) -> float: ...
    @overload
    def __call__(self, step: Any) -> Any: ...

    def __call__(self, step: Any) -> Any:
        """The value at ``step``.

        A Python int (or NumPy integer, or integral float such as ``5.0``) is
        evaluated exactly, at any size, and gives a ``float``. An array or
        tensor of steps (NumPy, JAX, PyTorch, TensorFlow, Keras; 0-d or not) is
        evaluated in its own namespace (:func:`~clr_core._xp.namespace_of`) and
        gives that framework's array: under ``jax.jit`` the formula traces once.
        Integer arrays keep the cycle position exact, so float32 results are
        right to the rounding of the value at any step.
        """
        if isinstance(step, numbers.Real):
            return float(self.evaluate(check_step(step), SCALAR))
        xp = namespace_of(step)
        if xp is None:
            raise fail("step", "a non-negative int or an array of steps", step, TypeError)
        array_step(step, xp)
        return self.evaluate(step, xp)

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
        return Inverse(self, base_momentum=base_momentum, max_momentum=max_momentum)

    def _fuse(self, momentum: Schedule) -> Callable[..., tuple[Any, Any]] | None:
        """The hook behind :func:`fuse`: a joint evaluator with ``momentum``, or ``None``."""
        return None


def fuse(rate: Schedule, momentum: Schedule) -> Callable[..., tuple[Any, Any]] | None:
    """One function computing a rate and its momentum together, or ``None``.

    When ``momentum`` is the inverse cycle of ``rate`` (what ``rate.momentum(...)``
    returns for the cyclic policies and for 1cycle) the two share their
    expensive part: the ramp and scale of a cycle, the phase and its
    fraction in 1cycle. The returned ``f(step, xp=SCALAR)`` computes that part
    once and gives ``(rate.evaluate(step, xp), momentum.evaluate(step, xp))``,
    bit for bit, through the very functions those methods call. For any other
    pair it returns ``None``: evaluate the two schedules separately.

    No validation happens in ``f``: like :meth:`Schedule.evaluate` it is the hot
    path of an adapter (``f(t)`` with a float or int ``t >= 0``).

    Examples
    --------
    >>> import clr_core
    >>> lr = clr_core.Triangular(0.001, 0.006, step_size_up=2000)
    >>> f = clr_core.fuse(lr, lr.momentum(0.85, 0.95))
    >>> f(1000) == (lr(1000), lr.momentum(0.85, 0.95)(1000))
    True
    >>> clr_core.fuse(lr, clr_core.Constant(0.9)) is None
    True
    """
    instance("rate", rate, Schedule, "a clr_core schedule")
    instance("momentum", momentum, Schedule, "a clr_core schedule")
    return rate._fuse(momentum)


def nesting(schedule: Schedule) -> tuple[int, int]:
    """``(depth, pieces)``: 1 and 1 for a plain schedule; a composite records its own."""
    nest: tuple[int, int] = getattr(schedule, "_nest", (1, 1))
    return nest


def check_nesting(name: str, children: tuple[Schedule, ...]) -> tuple[int, int]:
    """The ``(depth, pieces)`` of a composite of ``children``, within the limits.

    Schedules nest at most :data:`~clr_core.validation.MAX_DEPTH` deep and a
    composite holds at most :data:`~clr_core.validation.MAX_PIECES` pieces in
    all (the pieces of nested Joins count), so evaluation, ``to_config`` and
    ``from_config`` stay fast and far from the recursion limit.
    """
    if len(children) > MAX_PIECES:
        raise fail(name, f"at most {MAX_PIECES} schedules", children)
    nests = [nesting(c) for c in children]
    depth = 1 + max(d for d, _ in nests)
    pieces = sum(n for _, n in nests)
    if depth > MAX_DEPTH:
        raise fail(name, f"nested at most {MAX_DEPTH} deep (found {depth})", children)
    if pieces > MAX_PIECES:
        raise fail(name, f"at most {MAX_PIECES} pieces in all (found {pieces})", children)
    return depth, pieces


@register
@dataclasses.dataclass(frozen=True)
class Inverse(Schedule):
    r"""Momentum moving opposite to a rate schedule.

    .. math::

        m_t = m_{max} - (m_{max} - m_{base})
              \operatorname{clip}\left(\frac{\eta_t - \eta_{lo}}{\eta_{hi} - \eta_{lo}}, 0, 1\right)

    with ``(eta_lo, eta_hi) = schedule.bounds()``: ``max_momentum`` where the
    rate is lowest, ``base_momentum`` at its peak. It is the default
    :meth:`Schedule.momentum`; cyclic and one-cycle schedules use their own
    exact (PyTorch-equal) forms instead.

    Examples
    --------
    >>> from clr_core import Linear
    >>> m = Inverse(Linear(0.0, 1.0, 2), base_momentum=0.85, max_momentum=0.95)
    >>> [round(m(t), 4) for t in range(3)]
    [0.95, 0.9, 0.85]
    """

    schedule: Schedule
    base_momentum: float = 0.85
    max_momentum: float = 0.95

    def __post_init__(self) -> None:
        instance("schedule", self.schedule, Schedule, "a clr_core schedule")
        self._set("_nest", check_nesting("schedule", (self.schedule,)))
        base, top = momentum_pair(self.base_momentum, self.max_momentum)
        self._set("base_momentum", base)
        self._set("max_momentum", top)

    def evaluate(self, step: Any, xp: Any = SCALAR) -> Any:
        lo, hi = self.schedule.bounds()
        lr = self.schedule.evaluate(step, xp)
        if hi <= lo:
            return self.max_momentum + 0.0 * lr
        frac = xp.minimum(xp.maximum((lr - lo) / (hi - lo), 0.0), 1.0)
        return self.max_momentum - (self.max_momentum - self.base_momentum) * frac

    def bounds(self) -> tuple[float, float]:
        return (self.base_momentum, self.max_momentum)

    @property
    def duration(self) -> int | None:
        return self.schedule.duration
