"""Tampering with nested plain data (configs, state dicts, result files) for the fuzz tests.

One home for the walk every untrusted-input test uses: list the places in a nested
value, and replace the value at one of them in a copy.
"""

from __future__ import annotations

import copy
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
