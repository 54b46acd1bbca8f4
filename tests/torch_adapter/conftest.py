"""Torch adapter tests: torch is imported unconditionally, so a missing torch fails
the run instead of skipping it."""

from __future__ import annotations

import torch

import clr_torch  # noqa: F401

torch.set_num_threads(1)
