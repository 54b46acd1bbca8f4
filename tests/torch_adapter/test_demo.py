"""`clr demo`: the real --quick preset end to end, atomic outputs, options, missing deps,
worker processes (the same numbers as a serial run; Ctrl-C stops them).

Needs the demo extra (torch, tqdm, matplotlib, mnist1d, scikit-learn): missing
ones fail the run here rather than skip it.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import signal
import sys
from typing import ClassVar

import matplotlib
import mnist1d  # noqa: F401  (the demo's data: fail loudly where it is missing)
import pytest
import sklearn  # noqa: F401
from clr_entry_points import make_visible

from clr_core.cli import main
from clr_core.rangetest import Plan, RangeTestResult
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
    """The table's rows by policy: the cells of each ``| policy | ... |`` line, bold
    markers removed; the recommended row's ``recommended: <plan policy>`` keyed
    ``recommended``."""
    rows = {}
    for line in markdown.splitlines():
        cells = [
            c.strip().removeprefix("**").removesuffix("**") for c in line.strip("|").split("|")
        ]
        key = cells[0].split(":")[0]
        if line.startswith("|") and key in POLICIES:
            rows[key] = cells
    return rows


def _expected_policies(out) -> list[str]:
    """POLICIES in order, 1cycle left out when the hand-off's 1cycle is the recommended plan;
    checks that results.json's plan is the recommendation of range_test.json's reading."""
    data = json.loads((out / "results.json").read_text())
    result = RangeTestResult.from_json(out / "range_test.json")
    ipe, epochs = data["iterations_per_epoch"], data["config"]["epochs"]
    plan = Plan.from_config(data["recommendation"])
    assert plan == result.recommend(ipe, epochs)
    one = result.to_one_cycle(ipe, epochs)
    same = (plan.lr, plan.momentum) == (one, one.momentum(*run.ONE_CYCLE_MOMENTUM))
    return [p for p in POLICIES if p != "1cycle" or not same]


def _numbers(data) -> dict:
    """results.json without how the run was done (processes, seconds)."""
    return {k: v for k, v in data.items() if k not in ("jobs", "seconds")}


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

    assert [r["policy"] for r in data["policies"]] == _expected_policies(out)
    assert data["jobs"] >= 1
    fixed = data["policies"][0]
    assert data["target_accuracy"] == pytest.approx(max(fixed["mean_curve"]))
    assert fixed["iterations_to_target"] is not None
    assert fixed["speedup"] == pytest.approx(1.0)
    for row in data["policies"]:
        epochs = c["fixed_epochs"] if row["policy"] == "fixed" else c["epochs"]
        assert ("plan_policy" in row) == (row["policy"] == "recommended")
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
    by_policy = {r["policy"]: r for r in data["policies"]}
    if "1cycle" in by_policy:
        one = by_policy["1cycle"]
        assert one["momentum_schedule"] is not None  # 1cycle cycles momentum
        assert one["lr_schedule"]["max_lr"] == pytest.approx(rt["one_cycle_peak"])
    assert rt["one_cycle_peak"] >= rt["max_lr"]
    # the recommended row trains exactly the plan that results.json records, and is last
    plan = Plan.from_config(data["recommendation"])
    rec = data["policies"][-1]
    assert rec["policy"] == "recommended"
    assert rec["plan_policy"] == plan.policy
    assert rec["lr_schedule"] == plan.lr.to_config()
    assert rec["momentum_schedule"] == (
        None if plan.momentum is None else plan.momentum.to_config()
    )
    if plan.policy == "one_cycle":
        assert plan.lr.total_steps == rec["iterations"]
    assert plan.reasons
    # the recipe: the recommended plan trains under the collapse guard, the others do not
    for row in data["policies"]:
        assert row["guarded"] == (row["policy"] == "recommended")
        assert len(row["guard_fired"]) == c["seeds"]
        assert row["guarded"] or row["guard_fired"] == [[]] * c["seeds"]

    table = (out / "results.md").read_text()
    rows = _rows(table)
    assert list(rows) == _expected_policies(out)
    assert rows["recommended"][0] == f"recommended: {plan.policy}"
    rec_line = next(line for line in table.splitlines() if line.startswith("| **recommended"))
    assert rec_line.count("**") == 2 * 5  # the highlighted row: every cell in bold
    for reason in plan.reasons:
        assert reason in table
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
    args += ["--jobs", "1"]  # the report, not the workers (tested above): no start-up cost
    assert main([*args, "--optimizer", optimizer]) == 0
    text = capsys.readouterr().out
    for word in ("base_lr", "max_lr", "confidence", "per sweep", "speed-up", "wrote"):
        assert word in text
    data = json.loads((out / "results.json").read_text())
    assert list(_rows(text)) == _expected_policies(out)
    plan = data["recommendation"]
    assert f"recommended for 4 epochs (result.recommend(22, 4)): {plan['policy']}" in text
    for reason in plan["reasons"]:
        assert reason in text
    assert data["config"]["dataset"] == "digits"
    assert data["config"]["optimizer"] == optimizer
    assert data["iterations_per_epoch"] == 22  # 1400 examples, batch 64
    assert data["range_test"]["base_lr"] < data["range_test"]["max_lr"]
    rec = data["policies"][-1]
    assert rec["policy"] == "recommended"
    assert (rec["momentum_schedule"] is None) == (plan["momentum"] is None)
    assert (out / "results.md").read_text().count("\n| ") >= len(_expected_policies(out)) + 1


def test_worker_processes_give_the_serial_numbers(tmp_path):
    """--jobs 2 (range tests and training in two worker processes) and --jobs 1 (all in
    this process) write the same results.json, apart from how the run was done."""
    data = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        args = ["demo", "--quick", "--seeds", "2", "--epochs", "2", "--out", str(out)]
        assert main([*args, "--jobs", jobs]) == 0
        data[jobs] = json.loads((out / "results.json").read_text())
    assert (data["1"]["jobs"], data["2"]["jobs"]) == (1, 2)
    assert _numbers(data["1"]) == _numbers(data["2"])
    assert (tmp_path / "jobs1" / "range_test.json").read_text() == (
        tmp_path / "jobs2" / "range_test.json"
    ).read_text()
    assert len(data["1"]["policies"]) >= 5
    assert data["1"]["range_test"]["sweeps"] == run.PRESETS["quick"].sweeps


class _Bar(run.tqdm):
    """The demo's progress bar, knowing its label even when disabled."""

    def __init__(self, *args, **kwargs):
        self.label = kwargs.get("desc", "")
        super().__init__(*args, **kwargs)


class _CountingBar(_Bar):
    """Counts the training epochs it is told of."""

    epochs: ClassVar[list[int]] = []

    def update(self, n=1):
        if self.label.startswith("(2)"):
            type(self).epochs.append(n)
        return super().update(n)


def test_the_bar_counts_every_workers_epochs(tmp_path, monkeypatch):
    _CountingBar.epochs = []
    monkeypatch.setattr(run, "tqdm", _CountingBar)
    config = DemoConfig(dataset="digits", seeds=2, epochs=2, fixed_epochs=3, sweeps=1)
    data = run_demo(config, tmp_path / "o", progress=False, jobs=2)
    epochs = sum(len(r["mean_curve"]) * config.seeds for r in data["policies"])
    assert epochs == config.seeds * (3 + 2 * (len(data["policies"]) - 1))
    assert _CountingBar.epochs == [1] * epochs  # one tick per epoch, from the workers


class _Recording:
    """The demo's training function, recording each call's ``guard`` keyword; the guarded
    runs report that the guard fired at epoch 2 (0-based 1) of seed 0."""

    def __init__(self) -> None:
        self.guards: list[object] = []

    def __call__(self, *args, **kwargs):
        self.guards.append(kwargs.get("guard", "absent"))
        out = run.train(*args, **kwargs)
        if "guard" in kwargs and kwargs["seed"] == 0:
            out.fired = (1,)
        return out


def test_the_recommended_plan_trains_under_the_guard_and_the_table_says_so(tmp_path):
    trainer = _Recording()
    config = DemoConfig(dataset="digits", seeds=2, epochs=2, fixed_epochs=3, sweeps=1)
    data = run_demo(config, tmp_path / "o", progress=False, jobs=1, trainer=trainer)
    # only the recommended row's two runs get the guard, at its defaults
    assert trainer.guards.count({}) == config.seeds
    assert trainer.guards.count("absent") == config.seeds * (len(data["policies"]) - 1)
    rec = data["policies"][-1]
    assert (rec["policy"], rec["guarded"], rec["guard_fired"]) == ("recommended", True, [[1], []])
    table = (tmp_path / "o" / "results.md").read_text()
    assert "under the collapse guard" in table
    assert "it restored 1 of the 2 runs (at epoch 2)" in table


def test_a_guard_that_never_fired_is_reported_as_such():
    rows = [{"guarded": True, "guard_fired": [[], [], []]}, {"guarded": False, "guard_fired": [[]]}]
    assert run._fired({"policies": rows}) == "none of the 3 runs"
    rows[0]["guard_fired"] = [[0, 4], [], [2]]
    assert run._fired({"policies": rows}) == "2 of the 3 runs (at epoch 1, 5; 3)"


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
    args += ["--jobs", "1"]  # the failing trainer lives in this process
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


class _InterruptingBar(_Bar):
    """Sends this process a real SIGINT (what Ctrl-C sends) at the first training epoch a
    worker reports, and records how many epochs the training bar was told of in all."""

    counts: ClassVar[list[tuple[int, int]]] = []
    ticks = 0

    def update(self, n=1):
        if self.label.startswith("(2)"):
            if not self.ticks:
                os.kill(os.getpid(), signal.SIGINT)
            self.ticks += n
        return super().update(n)

    def close(self):  # tqdm closes a bar again when it is collected
        if self.label.startswith("(2)") and not getattr(self, "counted", False):
            self.counted = True
            type(self).counts.append((self.ticks, self.total))
        super().close()


def test_ctrl_c_stops_the_workers_and_writes_nothing(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.md").write_text("from an earlier run\n")
    monkeypatch.setattr(run, "tqdm", _InterruptingBar)
    _InterruptingBar.counts = []
    config = DemoConfig(dataset="digits", seeds=2, epochs=30, sweeps=1, sweep_steps=50)
    with pytest.raises(KeyboardInterrupt):
        run_demo(config, out, progress=False, jobs=2)
    [(done, total)] = _InterruptingBar.counts
    assert 1 <= done < total // 2  # stopped, not waited for: most epochs never ran
    assert multiprocessing.active_children() == []  # the workers and the manager are gone
    assert [p.name for p in out.iterdir()] == ["results.md"]
    assert (out / "results.md").read_text() == "from an earlier run\n"
    assert _no_staging_left(tmp_path) == []


def test_interrupt_before_the_folder_exists_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "train", _Boom(KeyboardInterrupt))
    out = tmp_path / "new"
    assert main(["demo", "--dataset", "digits", "--seeds", "1", "--epochs", "1",
                 "--jobs", "1", "--out", str(out)]) == 130  # fmt: skip
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seeds", "0"], "--seeds"),
        (["--epochs", "-3"], "--epochs"),
        (["--epochs", "ten"], "'ten'"),
        (["--threads", "0"], "--threads"),
        (["--jobs", "0"], "--jobs"),
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
    with pytest.raises(ValueError, match=r"epochs=2.5"):
        DemoConfig(epochs=2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"epochs='3'"):
        DemoConfig(epochs="3")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"sweep_steps=10"):
        DemoConfig(sweep_steps=10)
    with pytest.raises(ValueError, match=r"dataset='cifar10'"):
        DemoConfig(dataset="cifar10")
    with pytest.raises(ValueError, match=r"preset='huge'"):
        DemoConfig.from_preset("huge")
    with pytest.raises(TypeError, match=r"config"):
        run_demo({"seeds": 1}, "out")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"jobs=0"):
        run_demo(DemoConfig(), "out", jobs=0)
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
                   "--out", "--json", "--threads", "--jobs"):  # fmt: skip
        assert option in text


def test_python_dash_m_runs_the_same_command(tmp_path, capsys):
    assert demo_cli.main(["--seeds", "0", "--out", str(tmp_path / "o")]) == 2
    assert "--seeds" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_schedules_plot_values_match_the_hand_off(monkeypatch):
    """The plans are exactly the range test's hand-off and recommendation (no restated
    formulas); 1cycle gets its own row only when it differs from the recommended plan."""
    r = RangeTestResult(0.01, 0.2, 0.1, 1.0, (), {}, (), (), ())
    task = run.load_task("digits")
    config = DemoConfig(dataset="digits", epochs=8)
    plans = {p.policy: p for p in run._plans(r, task, config)}
    ipe = task.steps_per_epoch
    assert list(plans) == list(POLICIES)
    assert plans["triangular"].lr == r.to_triangular(ipe, epochs=8)
    assert plans["exp_range"].lr == r.to_exp_range(ipe, epochs=8)
    assert plans["1cycle"].lr == r.to_one_cycle(ipe, 8)
    assert plans["fixed"].epochs == config.fixed_epochs
    assert math.isclose(plans["fixed"].lr(123), 0.1)
    assert plans["1cycle"].epochs == 8
    plan = r.recommend(ipe, 8)
    rec = plans["recommended"]
    assert (rec.lr, rec.momentum, rec.plan_policy, rec.epochs) == (
        plan.lr, plan.momentum, plan.policy, 8
    )  # fmt: skip
    assert plans["1cycle"].lr != plan.lr

    one = r.to_one_cycle(ipe, 8)
    same = Plan(one, one.momentum(*run.ONE_CYCLE_MOMENTUM), "one_cycle", ("the hand-off",))
    monkeypatch.setattr(RangeTestResult, "recommend", lambda self, ipe, epochs: same)
    plans = {p.policy: p for p in run._plans(r, task, config)}
    assert list(plans) == [p for p in POLICIES if p != "1cycle"]
    assert plans["recommended"].lr == one
