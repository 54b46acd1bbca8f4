"""PyTorch adapter for clr-core (placeholder until the adapter lands)."""

from __future__ import annotations

import torch  # noqa: F401  (fail loudly where torch is missing)

import clr_core

__all__ = ["clr_core"]
