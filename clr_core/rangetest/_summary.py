"""The text form of a range test's reading: a few lines for people."""

from __future__ import annotations

from ._reading import Reading

__all__ = ["summary"]


def summary(result: Reading) -> str:
    """Bounds, suggestions, confidence and reasons, one per line."""
    lines = [
        f"base_lr     {result.base_lr:.3g}",
        f"max_lr      {result.max_lr:.3g}",
        f"lr          {result.lr:.3g}   (a fixed rate)",
        f"1cycle peak {result.one_cycle_peak:.3g}   (the plan's peak: recommend())",
        f"confidence  {result.confidence:.2f}",
    ]
    if result.noise_weight > 0.0:
        lines.append(
            f"noise-limited {result.noise_weight:.2f}   (the loss is noisy next to its fall: "
            "peak and lr lowered)"
        )
    lines += [
        f"bounds from {result.bounds_from}" + ("" if result.diverged else " (no divergence seen)"),
        "suggestions " + ", ".join(f"{k}={v:.3g}" for k, v in result.suggestions.items()),
    ]
    lines += [f"- {r}" for r in result.reasons]
    return "\n".join(lines)
