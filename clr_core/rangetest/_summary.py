"""The text form of a range test's reading: a few lines for people."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

__all__ = ["summary"]


class Reading(Protocol):
    """What the summary reads off a result."""

    @property
    def base_lr(self) -> float: ...
    @property
    def max_lr(self) -> float: ...
    @property
    def lr(self) -> float: ...
    @property
    def one_cycle_peak(self) -> float: ...
    @property
    def confidence(self) -> float: ...
    @property
    def bounds_from(self) -> str: ...
    @property
    def diverged(self) -> bool: ...
    @property
    def suggestions(self) -> Mapping[str, float]: ...
    @property
    def reasons(self) -> Sequence[str]: ...


def summary(result: Reading) -> str:
    """Bounds, suggestions, confidence and reasons, one per line."""
    lines = [
        f"base_lr     {result.base_lr:.3g}",
        f"max_lr      {result.max_lr:.3g}",
        f"lr          {result.lr:.3g}   (a fixed rate)",
        f"1cycle peak {result.one_cycle_peak:.3g}   (recommended: to_one_cycle)",
        f"confidence  {result.confidence:.2f}",
        f"bounds from {result.bounds_from}" + ("" if result.diverged else " (no divergence seen)"),
        "suggestions " + ", ".join(f"{k}={v:.3g}" for k, v in result.suggestions.items()),
    ]
    lines += [f"- {r}" for r in result.reasons]
    return "\n".join(lines)
