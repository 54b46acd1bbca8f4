"""Smoke tests of the PyTorch examples (tox env ``torch``).

Each example runs in a subprocess and prints what it checked; the tests assert
on those lines (identical sequences, agreement between ranks, accuracies), not
only on the exit status. torch is imported unconditionally: where it is
missing the module fails to collect instead of skipping.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytorch_lightning  # noqa: F401
import torch  # noqa: F401

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(script: str, tmp_path: Path) -> str:
    """Run an example in a subprocess (cwd: a fresh folder); return its stdout."""
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        cwd=tmp_path,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def number(out: str, label: str) -> float:
    match = re.search(rf"^{re.escape(label)}:\s*([-+0-9.eE]+)", out, re.MULTILINE)
    assert match, f"no line '{label}: <number>' in:\n{out}"
    return float(match.group(1))


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


def test_resume(tmp_path):
    out = run("torch_resume.py", tmp_path)
    assert "learning rates identical: True" in out
    assert "final weights identical: True" in out


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
