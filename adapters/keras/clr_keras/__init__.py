"""Keras 3 adapter for clr-core (placeholder until the adapter lands)."""

from __future__ import annotations

import keras  # noqa: F401  (fail loudly where keras is missing)

import clr_core

__all__ = ["clr_core"]
