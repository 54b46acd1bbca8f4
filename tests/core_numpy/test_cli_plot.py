"""`clr ... --plot`: the path written is the path given, and every failure is one line.

Needs matplotlib (the ``numpy`` tox env); the import below fails the run where it is
missing (no skip).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import matplotlib
import pytest

from clr_core.cli import MAX_PLOT_POINTS, main

matplotlib.use("Agg")

FIXTURE = Path(__file__).resolve().parents[1] / "core" / "fixtures" / "mnist1d_sgd_seed0.csv"
PNG = b"\x89PNG\r\n\x1a\n"
CONFIG = (
    '{"type": "Triangular", "base_lr": 0.001, "max_lr": 0.006, "step_size_up": 5, '
    '"step_size_down": null}'
)


def _one_error(capsys, *words):
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, (word, err)


def test_a_path_without_extension_is_written_as_given(tmp_path, capsys):
    out = tmp_path / "curve"
    assert main(["analyze", str(FIXTURE), "--plot", str(out)]) == 0
    assert out.read_bytes()[:8] == PNG
    assert list(tmp_path.iterdir()) == [out]  # no curve.png beside it
    assert f"plot written to {out} (PNG)" in capsys.readouterr().out


@pytest.mark.parametrize(("suffix", "magic"), [(".pdf", b"%PDF"), (".svg", b"<?xml")])
def test_the_extension_picks_the_format(tmp_path, capsys, suffix, magic):
    out = tmp_path / f"curve{suffix}"
    assert main(["analyze", str(FIXTURE), "--plot", str(out)]) == 0
    assert out.read_bytes().startswith(magic)
    assert capsys.readouterr().out.rstrip().endswith(f"plot written to {out}")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("command", ["analyze", "schedule"])
def test_a_full_device_fails_with_exit_2(capsys, command):
    argv = (
        ["analyze", str(FIXTURE)] if command == "analyze" else ["schedule", CONFIG, "--steps", "20"]
    )
    assert main([*argv, "--plot", "/dev/full"]) == 2
    _one_error(capsys, "/dev/full", "No space left on device")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")
def test_a_fifo_with_no_reader_fails_instead_of_hanging(tmp_path, capsys):
    fifo = tmp_path / "plot.png"
    os.mkfifo(fifo)
    assert main(["analyze", str(FIXTURE), "--plot", str(fifo)]) == 2
    _one_error(capsys, "cannot write the plot")


@pytest.mark.parametrize(
    ("target", "words"),
    [("curve.xyz", ["'xyz'", "png"]), ("", ["--plot needs a file name"]),
     ("missing-dir/curve.png", ["No such file or directory"]), (".", ["Is a directory"])],
)  # fmt: skip
def test_bad_plot_targets_are_one_line(tmp_path, capsys, monkeypatch, target, words):
    monkeypatch.chdir(tmp_path)
    assert main(["analyze", str(FIXTURE), "--plot", target]) == 2
    _one_error(capsys, *words)
    assert capsys.readouterr().out == ""


def test_schedule_plot_of_many_steps_draws_the_envelope(tmp_path, capsys):
    small, big = tmp_path / "small.png", tmp_path / "big.png"
    assert main(["schedule", CONFIG, "--steps", "40", "--plot", str(small)]) == 0
    assert main(["schedule", CONFIG, "--steps", str(3 * MAX_PLOT_POINTS), "--plot", str(big)]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 40 + 3 * MAX_PLOT_POINTS
    assert small.read_bytes()[:8] == PNG
    assert big.read_bytes()[:8] == PNG
    assert f"plot written to {big}" in captured.err  # stdout keeps only the values


def test_huge_losses_plot_or_refuse_in_one_line(tmp_path, capsys):
    path = tmp_path / "huge.csv"
    path.write_text("lr,loss\n" + "".join(f"{10 ** (-4 + i / 10)!r},{1e308 * (1 - i / 100)!r}\n"
                                          for i in range(40)))  # fmt: skip
    rc = main(["analyze", str(path), "--json", "--plot", str(tmp_path / "h.png")])
    captured = capsys.readouterr()
    assert rc in (0, 2)
    if rc == 0:
        json.loads(captured.out, parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))
    else:
        assert captured.err.count("\n") == 1
        assert "Traceback" not in captured.err
