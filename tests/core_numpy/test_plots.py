"""Plots need the ``plot`` extra (matplotlib), which the stdlib-only core env lacks.

They run here, in the ``numpy`` tox env, where matplotlib is installed: the import
below fails the run if it is missing (no skip).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

from clr_core.cli import main
from clr_core.rangetest import analyze, read_sweep_csv

matplotlib.use("Agg")

FIXTURE = Path(__file__).resolve().parents[1] / "core" / "fixtures" / "mnist1d_sgd_seed0.csv"
PNG = b"\x89PNG\r\n\x1a\n"


def test_cli_plot_writes_a_png(tmp_path):
    out = tmp_path / "curve.png"
    assert main(["analyze", str(FIXTURE), "--metric", "accuracy", "--plot", str(out)]) == 0
    assert out.read_bytes()[:8] == PNG
    assert out.stat().st_size > 10_000  # a real figure, not an empty canvas


def test_result_plot_marks_both_bounds(tmp_path):
    lrs, losses, acc = read_sweep_csv(FIXTURE, "accuracy")[:3]
    r = analyze(lrs, losses, acc)
    ax = r.plot()
    labels = ax.get_legend_handles_labels()[1]
    assert f"CLR bounds {r.base_lr:.2g} - {r.max_lr:.2g}" in labels
    assert f"1cycle peak {r.one_cycle_peak:.2g}" in labels
    assert ax.get_xscale() == "log"
    path = tmp_path / "r.png"
    ax.figure.savefig(path)
    assert path.read_bytes()[:8] == PNG
