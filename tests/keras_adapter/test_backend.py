"""The requested backend is the one running, and the package imports on it."""

from __future__ import annotations

import os

import keras
import pytest

import clr_keras


def test_backend_is_the_requested_one():
    requested = os.environ.get("KERAS_BACKEND")
    if requested is None:
        pytest.skip("KERAS_BACKEND is not set (the keras-* tox envs always set it)")
    assert keras.backend.backend() == requested


def test_public_api():
    assert set(clr_keras.__all__) == {
        "CoreSchedule",
        "TriangularCyclicalLearningRate",
        "Triangular2CyclicalLearningRate",
        "ExponentialCyclicalLearningRate",
        "OneCycleSchedule",
        "CyclicalMomentum",
        "AutoOneCycleCallback",
        "CollapseGuard",
        "ScaledSchedule",
        "range_test",
        "RangeTestCallback",
    }
