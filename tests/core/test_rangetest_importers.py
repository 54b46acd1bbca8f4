"""Importers for torch-lr-finder, Lightning and fastai sweeps: smoothing undone exactly.

The fixtures in ``fixtures/tool_sweeps`` were recorded by the tools themselves
(torch-lr-finder 0.2.2, Lightning 2.6; fastai's recorder arithmetic reproduced in
float32) together with the losses the model really gave (``measured``); see
``fixtures/record_tool_sweeps.py``.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import pathlib
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clr_core.cli import main
from clr_core.rangetest import SweepFileError, analyze
from clr_core.rangetest.importers import (
    TOOLS,
    from_fastai,
    from_lightning,
    from_torch_lr_finder,
    import_sweep,
    read_sweep_file,
)

SWEEPS = pathlib.Path(__file__).parent / "fixtures" / "tool_sweeps"
#: fixture -> (importer, key holding the tool's data, lr key, loss key, tolerance)
CASES = {
    "torch_lr_finder": (from_torch_lr_finder, "history", "lr", "loss", 1e-12),
    "lightning": (from_lightning, "results", "lr", "loss", 1e-12),
    "fastai": (from_fastai, "recorder", "lrs", "losses", 5e-3),  # float32 arithmetic
}


def _fixture(name: str) -> dict:
    return json.loads((SWEEPS / f"{name}.json").read_text())


def _ema(raw, beta, offset):
    """Lightning's (offset 2) and fastai's (offset 1) bias-corrected moving average."""
    a, out = 0.0, []
    for k, v in enumerate(raw):
        a = beta * a + (1 - beta) * v
        out.append(a / (1 - beta ** (k + offset)))
    return out


def _torch_lr_finder_smoothing(raw, f):
    out = [raw[0]]
    for v in raw[1:]:
        out.append(f * v + (1 - f) * out[-1])
    return out


def _curve(n=100, seed=0, noise=0.03):
    """A range-test-shaped loss: flat, a fall from 1e-3 to 0.1, then a blow-up; with noise."""
    rng = random.Random(seed)
    lrs = [1e-5 * 1e6 ** (i / (n - 1)) for i in range(n)]
    losses = []
    for lr in lrs:
        x = math.log10(lr)
        base = 2.3 if x < -3 else (2.3 - 0.9 * (x + 3) if x < -1 else 0.5 + 6 * (x + 1) ** 2)
        losses.append(base + noise * rng.gauss(0, 1))
    return lrs, losses


@pytest.mark.parametrize("name", sorted(CASES))
def test_real_tool_sweeps_recover_the_measured_losses(name):
    importer, key, lr_key, loss_key, tol = CASES[name]
    data = _fixture(name)
    sweep = importer(data[key])
    measured = data["measured"][: len(sweep.losses)]
    assert len(sweep.losses) == len(data[key][loss_key]) == len(measured) > 80
    assert sweep.recorded == tuple(data[key][loss_key])
    assert sweep.lrs == tuple(data[key][lr_key])
    for got, want in zip(sweep.losses, measured, strict=True):
        assert got == pytest.approx(want, rel=tol)


@pytest.mark.parametrize("name", sorted(CASES))
def test_imported_reading_is_the_reading_of_the_measured_losses(name):
    importer, key, lr_key, loss_key, tol = CASES[name]
    data = _fixture(name)
    sweep = importer(data[key])
    imported = sweep.analyze(batch_size=64)
    truth = analyze(sweep.lrs, data["measured"][: len(sweep.lrs)])
    for attr in ("base_lr", "max_lr", "lr"):
        assert getattr(imported, attr) == pytest.approx(getattr(truth, attr), rel=max(tol, 1e-9))
    # read as stored, the lag of the moving average puts the top of the cycle too high
    naive = analyze(data[key][lr_key], data[key][loss_key])
    assert naive.max_lr > 1.5 * truth.max_lr
    # the result says what was done
    assert imported.provenance["imported_from"] == sweep.tool
    assert imported.provenance["presmoothed"] is True
    assert imported.provenance["smoothing_undone"] is True
    assert imported.provenance["batch_size"] == 64
    assert any(r.startswith("Imported from") and "smoothed loss" in r for r in imported.reasons)
    assert any("Imported from" in line for line in imported.summary().splitlines())


def test_lightning_artefact_starts_low_and_is_undone():
    """Lightning's bias correction runs a step ahead: its curve starts at about half the
    loss and climbs. Read as stored, a clean sweep loses its onset; imported, it is exact."""
    lrs, raw = _curve(seed=3)
    stored = _ema(raw, 0.98, 2)
    assert stored[0] == pytest.approx(raw[0] * 0.02 / (1 - 0.98**2))  # about half of it
    assert stored[0] < 0.6 * raw[0]
    assert all(b > a for a, b in itertools.pairwise(stored[:11]))  # climbs
    sweep = from_lightning({"lr": lrs, "loss": stored})
    assert sweep.losses == pytest.approx(raw, rel=1e-9)
    truth, imported = analyze(lrs, raw), sweep.analyze()
    assert (imported.base_lr, imported.max_lr) == pytest.approx((truth.base_lr, truth.max_lr))
    assert imported.confidence == pytest.approx(truth.confidence)
    naive = analyze(lrs, stored)
    assert naive.max_lr > 2 * truth.max_lr  # and it says so with high confidence


@given(
    raw=st.lists(st.floats(0.01, 100.0), min_size=1, max_size=120),
    beta=st.floats(0.5, 0.995),
    f=st.floats(0.01, 0.5),
    start=st.integers(0, 10_000),
)
def test_any_curve_round_trips_through_each_tools_smoothing(raw, beta, f, start):
    lrs = [1e-5 * 1.1**i for i in range(len(raw))]
    got = from_torch_lr_finder({"lr": lrs, "loss": _torch_lr_finder_smoothing(raw, f)}, smooth_f=f)
    assert got.losses == pytest.approx(raw, rel=1e-6, abs=1e-9 / f)
    a, stored = 0.0, []
    for k, v in enumerate(raw):
        a = beta * a + (1 - beta) * v
        stored.append(a / (1 - beta ** (start + k + 2)))
    got = from_lightning({"lr": lrs, "loss": stored}, beta=beta, start_step=start)
    assert got.losses == pytest.approx(raw, rel=1e-6, abs=1e-6)
    got = from_fastai({"lrs": lrs, "losses": _ema(raw, beta, 1)}, beta=beta)
    assert got.losses == pytest.approx(raw, rel=1e-6, abs=1e-6)


def test_no_smoothing_means_nothing_to_undo():
    lrs, raw = _curve()
    for sweep in (
        from_torch_lr_finder({"lr": lrs, "loss": raw}, smooth_f=0),
        from_lightning({"lr": lrs, "loss": raw}, beta=0),
        from_fastai({"lrs": lrs, "losses": raw}, beta=0.0),
    ):
        assert sweep.losses == tuple(raw)
        assert sweep.presmoothed is False
        assert sweep.provenance()["smoothing"] == {"kind": "none"}
        assert sweep.notes == ()


def test_tools_objects_are_read_by_attribute():
    lrs, raw = _curve(n=30)

    class LRFinder:  # torch-lr-finder
        def __init__(self):
            self.history = {"lr": lrs, "loss": _torch_lr_finder_smoothing(raw, 0.05)}

    class LightningFinder:  # what Tuner.lr_find returns
        def __init__(self):
            self.results = {"lr": lrs, "loss": _ema(raw, 0.98, 2)}

    class Recorder:  # fastai, with 0-d "tensors" (anything float() takes)
        def __init__(self):
            self.lrs = list(lrs)
            self.losses = [_Scalar(v) for v in _ema(raw, 0.98, 1)]

    class Learner:
        def __init__(self):
            self.recorder = Recorder()

    for sweep in (from_torch_lr_finder(LRFinder()), from_lightning(LightningFinder()),
                  from_fastai(Recorder()), from_fastai(Learner())):  # fmt: skip
        assert sweep.losses == pytest.approx(raw, rel=1e-9)


class _Scalar:
    def __init__(self, v: float) -> None:
        self.v = v

    def __float__(self) -> float:
        return self.v


def test_lightning_skipped_batches_are_dropped_divergence_is_kept():
    lrs, raw = _curve(n=40)
    stored = _ema(raw, 0.98, 2)
    marked = [*stored[:10], math.nan, *stored[10:]]  # training_step returned None once
    between = 0.5 * (lrs[9] + lrs[10])
    sweep = from_lightning({"lr": [*lrs[:10], between, *lrs[10:]], "loss": marked})
    assert sweep.dropped == 1
    assert sweep.losses == pytest.approx(raw, rel=1e-9)
    assert any("skipped batches" in n for n in sweep.notes)
    diverged = [*stored[:30], math.inf, math.nan, math.nan]
    sweep = from_lightning({"lr": lrs[:33], "loss": diverged})
    assert sweep.dropped == 0
    assert sweep.losses[:30] == pytest.approx(raw[:30], rel=1e-9)
    assert sweep.losses[30] == math.inf
    assert all(math.isnan(v) for v in sweep.losses[31:])
    result = sweep.analyze()
    assert result.diverged


def test_nan_in_torch_lr_finder_history_ends_the_curve():
    lrs, raw = _curve(n=30)
    stored = _torch_lr_finder_smoothing(raw[:20], 0.05) + [math.nan] * 10
    sweep = from_torch_lr_finder({"lr": lrs, "loss": stored})
    assert sweep.losses[:20] == pytest.approx(raw[:20], rel=1e-9)
    assert all(math.isnan(v) for v in sweep.losses[20:])


def test_a_wrong_smoothing_factor_is_flagged():
    lrs, raw = _curve(seed=1, noise=0.2)
    sweep = from_fastai({"lrs": lrs, "losses": raw})  # raw losses, read as if smoothed
    assert any("negative" in n and "beta" in n for n in sweep.notes)
    assert any("negative" in r for r in sweep.analyze().reasons)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: from_lightning({"lr": [1, 2], "loss": [1]}), ValueError, "2 rates but 1 losses"),
        (lambda: from_lightning({"lrs": [1], "losses": [1]}), ValueError, "'lr' and 'loss'"),
        (lambda: from_lightning([1, 2]), TypeError, "must be a dict"),
        (lambda: from_lightning({"lr": [1, "x"], "loss": [1, 2]}), ValueError, r"lr\[1\]"),
        (lambda: from_lightning({"lr": [1, True], "loss": [1, 2]}), TypeError, r"lr\[1\]"),
        (lambda: from_lightning({"lr": "12", "loss": [1, 2]}), TypeError, "list of numbers"),
        (lambda: from_lightning({"lr": [1], "loss": [[1]]}), TypeError, r"loss\[0\]"),
        (lambda: from_lightning({"lr": [1], "loss": [1]}, beta=1.0), ValueError, "beta=1.0"),
        (lambda: from_lightning({"lr": [1], "loss": [1]}, start_step=-1), ValueError, "start_step"),
        # was OverflowError (beta ** start_step)
        (lambda: from_lightning({"lr": [1], "loss": [1]}, start_step=10**400), ValueError,
         "start_step"),
        (lambda: from_lightning({"lr": [1], "loss": [1]}, start_step=True), TypeError,
         "start_step"),
        (lambda: from_fastai({"lr": [1]}), ValueError, "'lrs' and 'losses'"),
        # was TypeError: '<' not supported between instances of 'int' and 'str'
        (lambda: from_fastai({1: [1], "x": [2]}), ValueError, r"Received keys: \['1', 'x'\]"),
        (lambda: from_torch_lr_finder({"lr": [1], "loss": [1]}, smooth_f=-0.1), ValueError,
         "smooth_f"),
        (lambda: import_sweep("keras", {}), ValueError, "tool='keras'"),
        (lambda: import_sweep("fastai", {}, smooth_f=0.1), TypeError, "smooth_f"),
    ],
)  # fmt: skip
def test_bad_input_names_the_field(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_files_json_with_nan_and_csv(tmp_path):
    lrs, raw = _curve(n=60)
    stored = [*_ema(raw, 0.98, 2), math.nan]
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"lr": [*lrs, 20.0], "loss": stored}))  # Python writes NaN
    sweep = read_sweep_file(path, "lightning")
    assert sweep.losses[:60] == pytest.approx(raw, rel=1e-9)
    csv = tmp_path / "history.csv"
    smoothed = _torch_lr_finder_smoothing(raw, 0.05)
    csv.write_text(
        "lr,loss\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(lrs, smoothed, strict=True))
    )
    assert read_sweep_file(csv, "torch-lr-finder").losses == pytest.approx(raw, rel=1e-9)
    bad = tmp_path / "bad.json"
    bad.write_text('{"lr": [1, 2, 3], "loss": [1, 2]}')
    with pytest.raises(SweepFileError) as info:
        read_sweep_file(bad, "fastai")
    assert str(info.value).count("bad.json") == 1
    assert TOOLS == ("torch-lr-finder", "lightning", "fastai")


@pytest.mark.parametrize("name", sorted(CASES))
def test_clr_analyze_from(tmp_path, capsys, name):
    importer, key, *_ = CASES[name]
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(_fixture(name)[key]))
    tool = {"torch_lr_finder": "torch-lr-finder"}.get(name, name)
    assert main(["analyze", str(path), "--from", tool, "--json", "--batch-size", "64"]) == 0
    out = json.loads(capsys.readouterr().out)
    want = importer(_fixture(name)[key]).analyze()
    assert out["max_lr"] == pytest.approx(want.max_lr)
    assert out["provenance"]["presmoothed"] is True
    assert out["provenance"]["imported_from"] == tool
    assert out["provenance"]["source"] == str(path)
    assert any(r.startswith("Imported from") for r in out["reasons"])
    assert main(["analyze", str(path), "--from", tool]) == 0
    assert "smoothed loss" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--from", "lightning", "--smooth-f", "0.1"], ["--smooth-f does not apply", "--beta"]),
        (["--from", "torch-lr-finder", "--beta", "0.9"], ["--beta does not apply"]),
        (["--from", "fastai", "--start-step", "3"], ["--start-step does not apply"]),
        (["--beta", "0.9"], ["--beta applies to --from files only"]),
        (["--from", "fastai", "--metric", "accuracy"], ["holds no metric"]),
        (["--from", "fastai", "--beta", "1.5"], ["--beta", "[0, 1)"]),
        # was "error: s.json: int too large to convert to float"
        (["--from", "lightning", "--start-step", str(10**400)], ["start_step", "2**53"]),
        (["--from", "keras"], ["invalid choice: 'keras'"]),
    ],
)
def test_clr_analyze_from_option_errors(tmp_path, capsys, argv, words):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(_fixture("fastai")["recorder"]))
    assert main(["analyze", str(path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    for word in words:
        assert word in err


@pytest.mark.parametrize(
    "bad",
    [10**5000, "9" * 100_000, functools.reduce(lambda inner, _: [inner], range(5000), [])],
    ids=["int-of-5001-digits", "long-string", "nested-5000-deep"],
)
def test_an_untrusted_loss_value_gives_a_short_message_naming_it(bad: Any) -> None:
    history = {"lr": [1e-4, 1e-3, 1e-2], "loss": [1.0, bad, 0.8]}
    with pytest.raises((TypeError, ValueError)) as info:
        from_torch_lr_finder(history)
    message = str(info.value)
    assert "loss[1]" in message
    assert len(message) < 400


def test_an_unknown_tool_of_any_shape_is_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match="Argument `tool` must be one of") as info:
        import_sweep("x" * 100_000, {})
    assert len(str(info.value)) < 400
