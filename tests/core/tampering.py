"""Tampering with nested plain data (configs, state dicts, result files) for the fuzz tests.

One home for the walk every untrusted-input test uses: list the places in a nested
value, and replace the value at one of them in a copy.
"""

from __future__ import annotations

import copy
import math
import random
from typing import Any


def paths(
    data: Any, *, keep_type: bool = True, path: tuple[Any, ...] = ()
) -> list[tuple[Any, ...]]:
    """Every place in ``data`` (dict keys and list indices, inner nodes and leaves), in
    pre-order, the root excluded. ``keep_type=False`` leaves out a top-level ``"type"``
    key (a config's kind: replacing it tests the registry, not the fields)."""
    out = [path] if path else []
    if isinstance(data, dict):
        for k, v in data.items():
            if keep_type or k != "type" or path:
                out += paths(v, keep_type=keep_type, path=(*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += paths(v, keep_type=keep_type, path=(*path, i))
    return out


def replaced(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A deep copy of ``data`` with the value at ``path`` replaced (``value`` for the root)."""
    if not path:
        return value
    data = copy.deepcopy(data)
    here = data
    for key in path[:-1]:
        here = here[key]
    here[path[-1]] = value
    return data


#: Values a tampered file may hold: every JSON type, numbers at and beyond the float
#: range's edges, huge ints and strings, bools where numbers go, nested containers.
HOSTILE: tuple[Any, ...] = (
    math.nan, math.inf, -math.inf, 0, 0.0, -0.0, 1, -1, 0.5, 2, 7, 1e308, -1e308, 5e-324,
    -5e-324, 1e-300, 2**53, 2**53 + 1, 2**63, 10**18, 10**400, -(10**400), 10**5000,
    True, False, None, "", "nan", "inf", "1", "\u2603", "k" * 5000, [], {}, [0], [None],
    {"a": 1}, [1.0, 2.0], {"type": "Constant", "value": 0.1}, {"type": None},
)  # fmt: skip


def _deep(n: int) -> Any:
    x: Any = 0
    for _ in range(n):
        x = [x]
    return x


def mutated(rng: random.Random, data: Any, pool: list[Any], changes: int) -> Any:
    """A copy of ``data`` with ``changes`` random mutations: a value replaced by a hostile
    one, a number nudged (doubled, negated, to the next float, times 1e300...), a subtree
    of another valid input (``pool``) swapped in, a key deleted or added, a list cut,
    grown or reordered, a value wrapped in a list or a dict, or (last) a list nested
    thousands deep. Seeded by ``rng``: the same seed gives the same cases."""
    data = copy.deepcopy(data)
    for j in range(changes):
        places = [(), *paths(data)]
        place = rng.choice(places)
        here = _at(data, place)
        r = rng.random()
        if r < 0.3:
            new: Any = copy.deepcopy(rng.choice(HOSTILE))
        elif r < 0.5 and isinstance(here, (int, float)) and not isinstance(here, bool):
            new = _nudged(rng, here)
        elif r < 0.6 and pool:
            new = copy.deepcopy(rng.choice(pool))
        elif r < 0.7 and isinstance(here, dict):
            if here and rng.random() < 0.6:
                del here[rng.choice(list(here))]
            else:
                here[rng.choice(["extra", "type", "format", "k" * 5000])] = rng.choice(HOSTILE)
            continue
        elif r < 0.8 and isinstance(here, list):
            op = rng.randrange(4)
            if op == 0 and here:
                here.pop(rng.randrange(len(here)))
            elif op == 1 and here:
                here.append(copy.deepcopy(rng.choice(here)))
            elif op == 2:
                here.reverse()
            else:
                here.clear()
            continue
        elif r < 0.9:
            new = rng.choice([[here], {"v": here}])
        elif j == changes - 1:
            new = _deep(rng.choice([200, 5000]))
        else:
            new = None
        data = replaced(data, place, new) if place else new
    return data


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def _nudged(rng: random.Random, x: float) -> Any:
    nudge = rng.choice([
        lambda v: v * 2, lambda v: v / 2, lambda v: -v, lambda v: v + 1, lambda v: v - 1,
        lambda v: v * 1e300, lambda v: v * 1e-300, lambda v: 0, lambda v: str(v), lambda v: True,
        lambda v: math.nextafter(v, math.inf), lambda v: math.nextafter(v, -math.inf),
    ])  # fmt: skip
    try:
        return nudge(x)
    except (OverflowError, ValueError):
        return x
