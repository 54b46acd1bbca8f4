"""Smoke tests of the PyTorch examples (tox env ``torch``).

Each example runs in a subprocess and prints what it checked; the tests assert
on those lines (identical sequences, agreement between ranks, accuracies), not
only on the exit status. torch is imported unconditionally: where it is
missing the module fails to collect instead of skipping.
"""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning  # noqa: F401
import torch  # noqa: F401
from example_runner import number, run_example


def run(script: str, tmp_path: Path) -> str:
    return run_example(script, tmp_path)


def test_custom_loop(tmp_path):
    out = run("torch_custom_loop.py", tmp_path)
    assert "lr equals schedule(step): True" in out
    assert "drop-in CyclicLR equals torch's within 1e-12: True" in out
    assert number(out, "test accuracy") > 0.9


def test_range_test_hand_off(tmp_path):
    out = run("range_test_hand_off.py", tmp_path)
    assert "bounds from metric" in out
    assert "Combined 3 sweeps" in out
    assert number(out, "triangular test accuracy") > 0.9
    assert number(out, "one_cycle test accuracy") > 0.9


def test_lightning(tmp_path):
    out = run("torch_lightning.py", tmp_path)
    assert "lrs match clr_core: True" in out
    assert number(out, "test accuracy") > 0.9
    assert "finder rates follow the plan: True" in out
    assert "guard fired at epochs: ()" in out  # the recipe's guard leaves a good fit alone
    assert number(out, "finder confidence") > 0.5
    assert number(out, "finder test accuracy") > 0.9


def test_resume(tmp_path):
    out = run("torch_resume.py", tmp_path)
    assert "learning rates identical: True" in out
    assert "final weights identical: True" in out


def test_collapse_guard(tmp_path):
    out = run("torch_collapse_guard.py", tmp_path)
    assert "runs on which it did not fire are the unguarded runs: True" in out
    assert "rates x 0.5" in out  # it fired on at least one seed
    assert number(out, "guarded mean accuracy") > number(out, "unguarded mean accuracy")


def test_amp_accumulation(tmp_path):
    out = run("torch_amp_accumulation.py", tmp_path)
    assert "batch size recorded: 64" in out
    assert "scheduler steps == optimizer steps: True" in out
    assert number(out, "test accuracy") > 0.9


def test_ddp_two_gloo_processes(tmp_path):
    out = run("torch_ddp.py", tmp_path)
    assert "batch size recorded: 64" in out
    assert "ranks agree on bounds and rates: True" in out
    assert "ranks hold identical weights: True" in out
    assert number(out, "test accuracy") > 0.9
