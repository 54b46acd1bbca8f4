"""Shared by the example smoke tests: run a script from ``examples/``, read what it printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(script: str, cwd: Path, **env: str) -> str:
    """Run ``examples/<script>`` in a subprocess (in ``cwd``, with ``env`` added); its stdout.

    A non-zero exit fails the test with the script's output.
    """
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        cwd=cwd,
        env=dict(os.environ, **env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def number(out: str, label: str) -> float:
    """The number on the line ``<label>: <number>`` of ``out`` (fails if there is none)."""
    match = re.search(rf"^{re.escape(label)}:\s*([-+0-9.eE]+)", out, re.MULTILINE)
    assert match, f"no line '{label}: <number>' in:\n{out}"
    return float(match.group(1))
