"""Smoke tests of the Keras examples (tox envs ``keras-tensorflow``, ``keras-jax``,
``keras-torch``): each runs on the backend that ``KERAS_BACKEND`` selects, which the
subprocess inherits. keras is imported unconditionally: where it is missing the
module fails to collect instead of skipping.
"""

from __future__ import annotations

from pathlib import Path

import keras
from example_runner import number, run_example

BACKEND = keras.backend.backend()


def run(script: str, tmp_path: Path) -> str:
    return run_example(
        script, tmp_path, KERAS_BACKEND=BACKEND, TF_CPP_MIN_LOG_LEVEL="2", OMP_NUM_THREADS="1"
    )


def test_fit(tmp_path):
    out = run("keras_fit.py", tmp_path)
    assert f"backend: {BACKEND}," in out
    assert "plan: one_cycle;" in out  # the recommended plan, with its momentum cycle
    assert "guard fired at epochs: ()" in out  # a run that goes well is left alone
    assert "lr matches the core schedule: True" in out
    assert number(out, "test accuracy") > 0.9


def test_save_load(tmp_path):
    out = run("keras_save_load.py", tmp_path)
    assert "schedule restored equal: True" in out
    assert "optimizer steps restored: True" in out
    assert "predictions identical: True" in out
    assert number(out, "training accuracy after resuming") > 0.9
    # a fresh process: the error without `import clr_keras`, the load with it
    assert (
        "without import clr_keras: TypeError: Could not locate class "
        "'TriangularCyclicalLearningRate'" in out
    )
    assert "loaded in a fresh process: TriangularCyclicalLearningRate at step 87" in out


def test_momentum(tmp_path):
    out = run("keras_momentum.py", tmp_path)
    assert "momentum followed the core schedule: True" in out
    assert "momentum after fit: 0.95 (the float it was built with)" in out
    assert number(out, "test accuracy") > 0.9


def test_auto_one_cycle(tmp_path):
    out = run("keras_auto_one_cycle.py", tmp_path)
    assert f"backend: {BACKEND}, steps: 264 of 264" in out
    assert "decided on the warm-up: True" in out
    assert "rates followed the core object: True" in out  # across the save / resume
    assert "momentum after fit: 0.95 (the float it was built with)" in out
    assert number(out, "test accuracy") > 0.9
