"""Shared fixtures of the Keras adapter tests.

keras is imported unconditionally: where it is missing the whole folder fails
to collect instead of skipping. The backend is whatever KERAS_BACKEND selects
(tox: keras-tensorflow, keras-jax, keras-torch).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest

import clr_keras  # noqa: F401  (registers the schedules for load_model)

BACKEND = keras.backend.backend()

# tf.distribute and tf.data are TensorFlow features: that module is only
# collected on the TensorFlow backend. Every other test runs on all three.
TF_ONLY = ["test_tf_only.py"]
collect_ignore = [] if BACKEND == "tensorflow" else TF_ONLY
_NOT_COLLECTED = (
    ""
    if BACKEND == "tensorflow"
    else (
        f"keras_adapter: {', '.join(TF_ONLY)} NOT collected on the {BACKEND} backend: "
        "tf.distribute.MirroredStrategy and tf.data are TensorFlow features "
        "(run the keras-tensorflow env for them)."
    )
)


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [f"keras {keras.__version__}, backend {BACKEND}"]
    if _NOT_COLLECTED:
        lines.append(_NOT_COLLECTED)
    return lines


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    if _NOT_COLLECTED:
        terminalreporter.write_line(_NOT_COLLECTED)


@pytest.fixture(autouse=True)
def _fresh_keras():
    keras.utils.set_random_seed(0)
    yield
    keras.backend.clear_session()


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's bundled 8x8 digits (1797 samples), scaled to [0, 1], split 1400/397."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    y = y.astype("int32")
    perm = np.random.default_rng(0).permutation(len(x))
    x, y = x[perm], y[perm]
    return x[:1400], y[:1400], x[1400:], y[1400:]
