"""`clr demo`: the real --quick preset end to end, atomic outputs, options, missing deps.

Needs the demo extra (torch, tqdm, matplotlib, mnist1d, scikit-learn): missing
ones fail the run here rather than skip it.
"""

from __future__ import annotations

import json
import math
import sys

import matplotlib
import mnist1d  # noqa: F401  (the demo's data: fail loudly where it is missing)
import pytest
import sklearn  # noqa: F401
from clr_entry_points import make_visible

from clr_core.cli import main
from clr_torch.demo import cli as demo_cli
from clr_torch.demo import run
from clr_torch.demo.cli import INSTALL_HINT
from clr_torch.demo.run import FILES, POLICIES, DemoConfig, run_demo

matplotlib.use("Agg")

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _clr_demo_is_registered(monkeypatch, tmp_path_factory):
    """`clr demo` comes from the ``clr.commands`` entry point (the source tree's, when the
    package is not installed; tox installs the wheel)."""
    make_visible(monkeypatch, tmp_path_factory)


def _rows(markdown: str) -> dict[str, list[str]]:
    """The table's rows by policy: the cells of each ``| policy | ... |`` line."""
    rows = {}
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] in POLICIES:
            rows[cells[0]] = cells
    return rows


def _no_staging_left(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".partial")]


def test_quick_preset_end_to_end(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--json", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "it/s" not in printed.err
    assert "epoch" not in printed.err
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    assert _no_staging_left(tmp_path) == []

    data = json.loads((out / "results.json").read_text())
    assert json.loads(printed.out) == data
    c = data["config"]
    assert (c["preset"], c["dataset"], c["optimizer"]) == ("quick", "mnist1d", "sgd")
    assert c["fixed_epochs"] == 2 * c["epochs"]
    rt = data["range_test"]
    assert 0 < rt["base_lr"] < rt["max_lr"]
    assert rt["base_lr"] <= rt["lr"] <= rt["max_lr"]
    assert 0 <= rt["confidence"] <= 1
    assert rt["sweeps"] == len(rt["per_sweep"])
    assert rt["iterations"] > 0
    ipe = data["iterations_per_epoch"]
    assert ipe == 32

    assert [r["policy"] for r in data["policies"]] == list(POLICIES)
    fixed = data["policies"][0]
    assert data["target_accuracy"] == pytest.approx(max(fixed["mean_curve"]))
    assert fixed["iterations_to_target"] is not None
    assert fixed["speedup"] == pytest.approx(1.0)
    for row in data["policies"]:
        epochs = c["fixed_epochs"] if row["policy"] == "fixed" else c["epochs"]
        assert row["iterations"] == epochs * ipe
        assert len(row["final_accuracies"]) == c["seeds"]
        assert all(0 < a <= 1 for a in row["final_accuracies"])
        assert 0 < row["final_accuracy_mean"] <= 1
        assert row["final_accuracy_std"] >= 0
        assert len(row["mean_curve"]) == epochs
        reach = row["iterations_to_target"]
        if reach is None:
            assert max(row["mean_curve"]) < data["target_accuracy"] - data["tolerance"]
            assert row["speedup"] is None
        else:
            assert reach % ipe == 0
            assert 0 < reach <= row["iterations"]
            assert row["mean_curve"][reach // ipe - 1] >= data["target_accuracy"] - 0.005
            assert row["speedup"] == pytest.approx(fixed["iterations_to_target"] / reach)
    # the schedules really span the bounds found
    tri = data["policies"][1]["lr_schedule"]
    assert tri["base_lr"] == pytest.approx(rt["base_lr"])
    assert tri["max_lr"] == pytest.approx(rt["max_lr"])
    assert data["policies"][0]["lr_schedule"]["value"] == pytest.approx(rt["lr"])
    assert data["policies"][-1]["momentum_schedule"] is not None  # 1cycle cycles momentum
    assert data["policies"][-1]["lr_schedule"]["max_lr"] == pytest.approx(rt["one_cycle_peak"])
    assert rt["one_cycle_peak"] >= rt["max_lr"]

    table = (out / "results.md").read_text()
    rows = _rows(table)
    assert list(rows) == list(POLICIES)
    for row in data["policies"]:
        cells = rows[row["policy"]]
        assert cells[1] == f"{row['iterations']:,}"
        assert cells[2] == (
            f"{100 * row['final_accuracy_mean']:.2f} ± {100 * row['final_accuracy_std']:.2f}"
        )
        reach = row["iterations_to_target"]
        assert cells[3] == ("not reached" if reach is None else f"{reach:,}")
    assert f"{100 * data['target_accuracy']:.2f}%" in table

    for name in FILES:
        if name.endswith(".png"):
            blob = (out / name).read_bytes()
            assert blob.startswith(PNG)
            assert len(blob) > 5_000
    sweep = json.loads((out / "range_test.json").read_text())
    assert sweep["base_lr"] == pytest.approx(rt["base_lr"])
    assert len(sweep["lrs"]) > 20


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_digits_small_run_prints_the_report(tmp_path, capsys, optimizer):
    out = tmp_path / "digits"
    args = ["demo", "--dataset", "digits", "--seeds", "1", "--epochs", "4", "--out", str(out)]
    assert main([*args, "--optimizer", optimizer]) == 0
    text = capsys.readouterr().out
    for word in ("base_lr", "max_lr", "confidence", "per sweep", "speed-up", "wrote"):
        assert word in text
    assert list(_rows(text)) == list(POLICIES)
    data = json.loads((out / "results.json").read_text())
    assert data["config"]["dataset"] == "digits"
    assert data["config"]["optimizer"] == optimizer
    assert data["iterations_per_epoch"] == 22  # 1400 examples, batch 64
    assert data["range_test"]["base_lr"] < data["range_test"]["max_lr"]
    one = data["policies"][-1]
    assert one["momentum_schedule"] is not None
    assert (out / "results.md").read_text().count("\n| ") >= len(POLICIES)


def test_same_config_same_numbers(tmp_path):
    config = DemoConfig(dataset="digits", seeds=2, epochs=2, fixed_epochs=2, sweeps=1)
    a = run_demo(config, tmp_path / "a", progress=False)
    b = run_demo(config, tmp_path / "b", progress=False)
    a.pop("seconds"), b.pop("seconds")
    assert a == b


class _Boom:
    """A training function that trains once, then fails like Ctrl-C (or a bug)."""

    def __init__(self, error: type[BaseException]) -> None:
        self.calls, self.error = 0, error

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls > 1:
            raise self.error("stop")
        return run.train(*args, **kwargs)


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_interrupted_run_leaves_out_as_it_was(tmp_path, monkeypatch, capsys, error):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.md").write_text("from an earlier run\n")
    boom = _Boom(error)
    monkeypatch.setattr(run, "train", boom)
    args = ["demo", "--dataset", "digits", "--seeds", "1", "--epochs", "2", "--out", str(out)]
    if error is KeyboardInterrupt:
        assert main(args) == 130
        assert "interrupted" in capsys.readouterr().err
    else:
        with pytest.raises(RuntimeError, match="stop"):
            main(args)
    assert boom.calls == 2
    assert [p.name for p in out.iterdir()] == ["results.md"]
    assert (out / "results.md").read_text() == "from an earlier run\n"
    assert _no_staging_left(tmp_path) == []


def test_interrupt_before_the_folder_exists_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "train", _Boom(KeyboardInterrupt))
    out = tmp_path / "new"
    assert main(["demo", "--dataset", "digits", "--seeds", "1", "--epochs", "1",
                 "--out", str(out)]) == 130  # fmt: skip
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seeds", "0"], "--seeds"),
        (["--epochs", "-3"], "--epochs"),
        (["--epochs", "ten"], "'ten'"),
        (["--threads", "0"], "--threads"),
        (["--quick", "--full"], "not allowed with"),
        (["--dataset", "cifar10"], "cifar10"),
        (["--optimizer", "lamb"], "lamb"),
    ],
)
def test_bad_options_exit_2_with_a_message(tmp_path, capsys, argv, message):
    assert main(["demo", *argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_out_naming_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "a-file"
    target.write_text("keep me")
    assert main(["demo", "--quick", "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "out" in err
    assert str(target) in err
    assert target.read_text() == "keep me"


def test_config_validation_names_the_argument():
    with pytest.raises(ValueError, match=r"seeds=0"):
        DemoConfig(seeds=0)
    with pytest.raises(TypeError, match=r"epochs=2.5"):
        DemoConfig(epochs=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"dataset='cifar10'"):
        DemoConfig(dataset="cifar10")
    with pytest.raises(ValueError, match=r"preset='huge'"):
        DemoConfig.from_preset("huge")
    with pytest.raises(TypeError, match=r"config"):
        run_demo({"seeds": 1}, "out")  # type: ignore[arg-type]
    quick = DemoConfig.from_preset("quick", seeds=3, epochs=None)
    assert quick.seeds == 3
    assert quick.epochs == run.PRESETS["quick"].epochs
    assert quick.fixed_epochs == 2 * quick.epochs


@pytest.mark.parametrize("module", ["mnist1d", "matplotlib", "torch", "clr_torch.demo.run"])
def test_missing_dependency_says_how_to_install(tmp_path, monkeypatch, capsys, module):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    assert main(["demo", "--quick", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert INSTALL_HINT in err
    assert INSTALL_HINT == 'pip install "torch==2.13.0" ".[demo]"'
    assert module.split(".")[0] in err or module in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("entry", ["clr demo", "python -m clr_torch.demo"])
def test_help_lists_every_option(capsys, entry):
    if entry == "clr demo":
        assert main(["demo", "--help"]) == 0  # clr's main turns argparse's exit into a status
    else:
        assert demo_cli.main(["--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--quick", "--full", "--dataset", "--optimizer", "--seeds", "--epochs",
                   "--out", "--json", "--threads"):  # fmt: skip
        assert option in text


def test_python_dash_m_runs_the_same_command(tmp_path, capsys):
    assert demo_cli.main(["--seeds", "0", "--out", str(tmp_path / "o")]) == 2
    assert "--seeds" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_schedules_plot_values_match_the_hand_off():
    """The plans are exactly the range test's hand-off (no restated formulas)."""
    from clr_core.rangetest import RangeTestResult

    r = RangeTestResult(0.01, 0.2, 0.1, 1.0, (), {}, (), (), ())
    task = run.load_task("digits")
    config = DemoConfig(dataset="digits", epochs=8)
    plans = {p.policy: p for p in run._plans(r, task, config)}
    ipe = task.steps_per_epoch
    assert plans["triangular"].lr == r.to_triangular(ipe, epochs=8)
    assert plans["exp_range"].lr == r.to_exp_range(ipe, epochs=8)
    assert plans["1cycle"].lr == r.to_one_cycle(ipe, 8)
    assert plans["fixed"].epochs == config.fixed_epochs
    assert math.isclose(plans["fixed"].lr(123), 0.1)
    assert plans["1cycle"].epochs == 8
