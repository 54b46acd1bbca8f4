"""`clr analyze` and `clr schedule`, in process and as a subprocess."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

import clr_core
from clr_core.cli import main

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "mnist1d_sgd_seed0.csv"
ROOT = pathlib.Path(clr_core.__file__).resolve().parent.parent


def test_analyze_prints_bounds_suggestions_confidence(capsys):
    assert main(["analyze", str(FIXTURE)]) == 0
    out = capsys.readouterr().out
    for word in ("base_lr", "max_lr", "lr ", "confidence", "steepest", "valley", "min_div_10"):
        assert word in out


def test_analyze_json_with_metric(capsys):
    assert main(["analyze", str(FIXTURE), "--metric", "accuracy", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["bounds_from"] == "metric"
    assert 0.0 < data["base_lr"] < data["lr"] < data["max_lr"]
    assert 0.0 <= data["confidence"] <= 1.0
    assert isinstance(data["reasons"], list)
    assert "metric_peak" in data["suggestions"]


BAD = {
    "missing.csv": ("lr,accuracy\n0.1,0.5\n", "missing column"),
    "text.csv": ("lr,loss\n0.1,2.0\n0.2,abc\n", "non-numeric"),
    "few.csv": ("lr,loss\n0.1,2.0\n0.2,1.9\n", "at least 5 points"),
    "decreasing.csv": ("lr,loss\n" + "".join(f"{1 / (i + 1)},{2.0}\n" for i in range(9)),
                       "strictly increasing"),
    "empty.csv": ("", "no header"),
    "ragged.csv": ("lr,loss\n0.1,2.0,3\n", "expected 2 values"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_give_one_line_and_exit_2(tmp_path, capsys, name):
    text, message = BAD[name]
    path = tmp_path / name
    path.write_text(text)
    assert main(["analyze", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert message in err
    assert "Traceback" not in err


def test_missing_file_and_unknown_metric(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nope.csv")]) == 2
    assert main(["analyze", str(FIXTURE), "--metric", "f1"]) == 2
    err = capsys.readouterr().err
    assert "nope.csv" in err
    assert "'f1'" in err


def test_plot_without_matplotlib_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    assert main(["analyze", str(FIXTURE), "--plot", str(tmp_path / "x.png")]) == 2
    assert "pip install 'clr-core[plot]'" in capsys.readouterr().err


def test_schedule_prints_values(capsys):
    config = json.dumps(clr_core.Triangular(0.1, 0.5, 2).to_config())
    assert main(["schedule", config, "--steps", "5"]) == 0
    lines = capsys.readouterr().out.split("\n")
    assert [float(line.split("\t")[1]) for line in lines[:5]] == pytest.approx(
        [0.1, 0.3, 0.5, 0.3, 0.1]
    )
    assert main(["schedule", '{"type": "Nope"}', "--steps", "3"]) == 2


def test_usage_errors_exit_2(capsys):
    assert main([]) == 2
    assert main(["analyze"]) == 2
    assert main(["frobnicate"]) == 2


def test_python_dash_m_subprocess(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    ok = subprocess.run(
        [sys.executable, "-m", "clr_core.cli", "analyze", str(FIXTURE), "--json"],
        capture_output=True, text=True, env=env, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["max_lr"] > 0
    bad = tmp_path / "bad.csv"
    bad.write_text("lr,loss\n0.3,1\n0.2,1\n0.1,1\n0.05,1\n0.01,1\n")
    err = subprocess.run(
        [sys.executable, "-m", "clr_core.cli", "analyze", str(bad)],
        capture_output=True, text=True, env=env, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert err.returncode == 2
    assert err.stderr.count("\n") == 1
    assert "Traceback" not in err.stderr
