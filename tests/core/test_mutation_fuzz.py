"""Seeded mutation fuzzing of every core loader of untrusted data, and its findings.

Valid configs, sweep-monitor and AutoOneCycle states, plans and range-test results
are mutated several places at once (tampering.mutated: values replaced, numbers
nudged, keys deleted or added, subtrees of other valid inputs swapped in, deep
nesting) with a fixed seed. The only outcomes allowed: a ValueError/TypeError with a
short one-line message, leaving a loaded-into object as it was; or a load whose
value then works (evaluates finite, non-negative rates; round-trips through JSON).
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import threading
from collections.abc import Callable
from typing import Any

import pytest
from tampering import mutated, paths

import clr_core as C
from clr_core.rangetest import (
    PLAN_MIN_STEPS,
    AutoOneCycle,
    ExponentialSweep,
    Plan,
    RangeTestResult,
    SweepMonitor,
    analyze,
    read_sweep_csv,
)

CASES = 300
STEPS = (0, 1, 2, 5, 10, 99, 100, 101, 2000, 10**6, 2**53, 10**400)
LONG = "k" * 100_000


def _loss(lr: float) -> float:
    x = math.log10(lr)
    return 2.0 if x < -3 else (2.0 - 0.8 * (x + 3) if x < -1 else 0.4 + 9 * (x + 1) ** 2)


def _monitor(points: int) -> SweepMonitor:
    m = SweepMonitor(ExponentialSweep(1e-4, 10.0, 60))
    for i in range(points):
        if m.done:
            break
        m.update(m.lr(i), _loss(m.lr(i)))
    return m


def _auto(steps: int) -> AutoOneCycle:
    auto = AutoOneCycle(120, start_lr=1e-4, end_lr=1.0, ramp_fraction=0.5, min_steps=5)
    for t in range(steps):
        auto.update(t, 2.0 - 0.02 * t if t < 30 else 1.4 + 0.5 * (t - 30))
    return auto


def _reading() -> RangeTestResult:
    lrs = [10 ** (-5 + 6 * i / 59) for i in range(60)]
    return analyze(lrs, [_loss(lr) for lr in lrs], [0.1 + 0.01 * i for i in range(60)])


def _pool(valid: list[Any]) -> list[Any]:
    return [copy.deepcopy(_at(v, p)) for v in valid for p in paths(v)]


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def _fuzz(seed: int, valid: list[Any], load: Callable[[Any], Any]) -> int:
    """Load ``CASES`` mutations of ``valid``; return how many were accepted."""
    rng = random.Random(seed)
    pool = _pool(valid)
    accepted = 0
    for _ in range(CASES):
        case = mutated(rng, rng.choice(valid), pool, rng.choice([1, 1, 2, 3, 5]))
        try:
            load(case)
        except (ValueError, TypeError) as e:
            text = str(e)
            assert "\n" not in text, text[:300]
            assert len(text) < 2000, text[:300]
        else:
            accepted += 1
    return accepted


def _rate(v: Any) -> None:
    assert isinstance(v, float), v
    assert math.isfinite(v), v
    assert v >= 0.0, v


def _load_config(config: Any) -> None:
    s = C.from_config(config)
    assert C.from_config(json.loads(json.dumps(s.to_config(), allow_nan=False))) == s
    lo, hi = s.bounds()
    tol = 1e-12 * hi  # the formulas' rounding (b + (a - b) cancels)
    for t in STEPS:
        v = s(t)
        _rate(v)
        assert lo - tol <= v <= hi + tol


def _load_into(target: Any) -> Callable[[Any], None]:
    """Load a state into ``target`` in place: refused, it is unchanged; accepted, it works."""

    def load(state: Any) -> None:
        before = copy.deepcopy(target.__dict__)
        try:
            target.load_state_dict(state)
        except (ValueError, TypeError):
            assert repr(target.__dict__) == repr(before)
            raise
        saved = target.state_dict()
        json.dumps(saved, allow_nan=False)
        assert type(target).from_state_dict(json.loads(json.dumps(saved))).state_dict() == saved
        target.load_state_dict(before_state)  # the next case starts from the same object

    before_state = target.state_dict()
    return load


def _load_result(data: Any) -> None:
    r = RangeTestResult.from_dict(data)
    assert RangeTestResult.from_json(r.to_json()) == r
    assert RangeTestResult.from_csv(r.to_csv()) == r
    assert r.summary()
    _rate(r.one_cycle_peak)
    for policy in ("triangular", "triangular2", "exp_range", "one_cycle"):
        s = r.to_schedule(policy, 32, epochs=30)
        for t in STEPS:
            _rate(s(t))
    for plan in (r.recommend(32, 30), r.recommend(32)):
        for t in STEPS:
            _rate(plan(t))


def _load_plan(config: Any) -> None:
    plan = Plan.from_config(config)
    assert Plan.from_config(json.loads(json.dumps(plan.to_config(), allow_nan=False))) == plan
    for t in STEPS:
        _rate(plan(t))


# --------------------------------------------------------------------------- #
# The fuzz: every loader, a few hundred seeded cases each
# --------------------------------------------------------------------------- #


def test_fuzz_from_config_with_mutated_configs() -> None:
    tri = C.Triangular(0.001, 0.006, 20)
    schedules = [
        tri,
        tri.momentum(),
        C.Triangular2(0.001, 0.006, 3, 5),
        C.ExpRange(0.001, 0.006, 3, gamma=0.99, decay="both"),
        C.Cyclic(0.1, 1.0, 7, 3, shape="hann", scale=C.ExpScale(0.9), scale_mode="iterations"),
        C.OneCycle(0.1, 100, three_phase=True, anneal_strategy="linear"),
        C.OneCycle(0.1, 100).momentum(),
        C.CosineRestarts(0.1, 3, T_mult=2, decay=0.5),
        C.Inverse(C.Linear(0.0, 1.0, 5)),
        C.warmup(tri, 10),
        C.Join([tri, C.Constant(0.01), C.Linear(0.001, 0.0, 50)], [40, 60]),
        ExponentialSweep(1e-5, 1.0, 100),
    ]
    accepted = _fuzz(1, [s.to_config() for s in schedules], _load_config)
    assert accepted > 0  # the mutations also make valid configs (nudged numbers)


def test_fuzz_sweep_monitor_state_with_mutated_states() -> None:
    valid = [json.loads(json.dumps(_monitor(k).state_dict())) for k in (0, 3, 20, 60)]
    assert _fuzz(2, valid, _load_into(_monitor(7))) > 0


def test_fuzz_auto_one_cycle_state_with_mutated_states() -> None:
    valid = [json.loads(json.dumps(_auto(k).state_dict())) for k in (0, 10, 40)]
    assert _fuzz(3, valid, _load_into(_auto(12))) > 0


def test_fuzz_range_test_result_with_mutated_files() -> None:
    r = _reading()
    valid = [json.loads(r.to_json()), json.loads(analyze(r.lrs, r.losses).to_json())]
    assert _fuzz(4, valid, _load_result) > 0


def test_fuzz_plan_with_mutated_configs() -> None:
    r = _reading()
    valid = [json.loads(json.dumps(p.to_config())) for p in (r.recommend(32, 30), r.recommend(8))]
    assert _fuzz(5, valid, _load_plan) > 0


# --------------------------------------------------------------------------- #
# Findings
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("where", ["lrs", "losses", "metrics"])
def test_analyze_refuses_an_int_beyond_the_float_range_naming_the_point(where: str) -> None:
    curves = {"lrs": [0.1 * i for i in range(1, 21)], "losses": [1.0] * 20, "metrics": [0.5] * 20}
    curves[where][7] = 10**400  # was an OverflowError from float()
    with pytest.raises(ValueError, match=rf"`{where}\[7\]` must be a number within the float"):
        analyze(curves["lrs"], curves["losses"], curves["metrics"])


def test_an_int_too_long_to_print_is_named_not_written_out() -> None:
    # repr() of an int over 4300 digits raises: the message lost the argument's name
    with pytest.raises(ValueError, match=r"`step_size_up`.*=<int of about 5001 digits>"):
        C.Triangular(0.1, 1.0, 10**5000)
    config = C.Triangular(0.1, 1.0, 10).to_config()
    with pytest.raises(ValueError, match=r"config \(Triangular\): .*`base_lr`.*<int of about"):
        C.from_config({**config, "base_lr": 10**5000})
    with pytest.raises(ValueError, match=r"`step` must be >= 0.*<-int of about 5001 digits>"):
        C.Constant(0.1)(-(10**5000))


def test_untrusted_key_names_are_shortened_in_messages() -> None:
    # the messages repeated an attacker's key in full: a 100,000-character key, twice
    r = _reading()
    data = json.loads(r.to_json())
    state = json.loads(json.dumps(_monitor(5).state_dict()))
    refusals: list[tuple[Callable[[Any], Any], Any]] = [
        (RangeTestResult.from_dict, {**data, LONG: 1}),
        (RangeTestResult.from_dict, {**data, "suggestions": {LONG: -1.0}}),
        (RangeTestResult.from_dict, {**data, "provenance": {LONG: object()}}),
        (SweepMonitor.from_state_dict, {**state, LONG: 1}),
        (AutoOneCycle.from_state_dict, {**_auto(3).state_dict(), "monitor": {**state, LONG: 1}}),
    ]
    for load, bad in refusals:
        with pytest.raises((ValueError, TypeError)) as info:
            load(bad)
        assert "kkk" in str(info.value)
        assert len(str(info.value)) < 1000, (load, len(str(info.value)))


def test_a_sweep_csv_header_of_long_names_gives_a_short_message(tmp_path) -> None:
    path = tmp_path / "sweep.csv"
    path.write_text(f"{LONG},loss\n0.1,1.0\n")
    with pytest.raises(ValueError, match="missing column") as info:
        read_sweep_csv(path)
    assert len(str(info.value)) < 1000


@pytest.mark.parametrize("where", ["diagnostics", "provenance"])
def test_a_result_refuses_an_int_that_json_cannot_write_back(where: str) -> None:
    # 10**5000 was accepted as JSON data; the loaded result then failed to_json() with
    # Python's "Exceeds the limit (4300 digits)" error, naming nothing
    data = {**json.loads(_reading().to_json()), where: {"points": 10**5000}}
    with pytest.raises(ValueError, match=rf"`{where}\['points'\]` must be finite.*5001 digits"):
        RangeTestResult.from_dict(data)


@pytest.mark.parametrize("epochs", [2, 3])
def test_recommend_refuses_a_budget_too_short_for_its_one_cycle_naming_epochs(epochs: int) -> None:
    # 2 or 3 steps passed the budget check, then OneCycle refused `pct_start`, which the
    # caller never gave
    with pytest.raises(ValueError, match=r"`epochs` must be long enough for the plan's 1cycle"):
        _reading().recommend(1, epochs)
    plan = _reading().recommend(1, PLAN_MIN_STEPS)
    assert plan.lr.total_steps == PLAN_MIN_STEPS == 4


def test_a_state_swapped_in_for_a_field_gives_a_short_message() -> None:
    # short_repr kept eight items of eight items of 200-character values: a whole state
    # in place of one list gave a message of over 1000 characters
    state = json.loads(json.dumps(_auto(40).state_dict()))
    bad = {**state, "monitor": {**state["monitor"], "lrs": state}}
    with pytest.raises(TypeError, match=r"`lrs` must be a list of numbers") as info:
        AutoOneCycle.from_state_dict(bad)
    assert len(str(info.value)) < 500, len(str(info.value))


@pytest.mark.parametrize("big", [2**53 + 1, 10**400, 10**5000], ids=["2**53+1", "1e400", "1e5000"])
def test_sweep_monitor_refuses_min_steps_beyond_2_53_naming_it(big: int) -> None:
    # min_steps had no upper bound: 10**5000 in a state gave Python's "Exceeds the limit
    # (4300 digits)" naming nothing, and 10**400 was accepted, its result's provenance
    # then refused by RangeTestResult.from_json
    with pytest.raises(ValueError, match=r"`min_steps` must be <= 9007199254740992"):
        SweepMonitor(ExponentialSweep(1e-4, 10.0, 60), min_steps=big)
    state = json.loads(json.dumps(_monitor(0).state_dict()))
    target = _monitor(5)
    before = target.state_dict()
    with pytest.raises(ValueError, match=r"`min_steps` must be <= 9007199254740992"):
        target.load_state_dict({**state, "min_steps": big})
    assert target.state_dict() == before


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")
@pytest.mark.parametrize("load", [RangeTestResult.from_json, RangeTestResult.from_csv])
def test_a_result_file_that_is_a_fifo_without_writer_is_refused_not_waited_on(
    tmp_path, load: Callable[[Any], Any]
) -> None:
    # from_json and from_csv opened a path with open().read(): a FIFO with no writer
    # blocked forever, and /dev/zero was read until memory ran out
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            load(fifo)
        except BaseException as e:
            outcome.append(e)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "hung on a FIFO with no writer"
    [refusal] = outcome
    assert isinstance(refusal, ValueError), refusal
    assert str(fifo) in str(refusal)


def _written(load: Callable[[Any], Any]) -> str:
    """A result as the file ``load`` reads: JSON or CSV text."""
    return _reading().to_json() if load == RangeTestResult.from_json else _reading().to_csv()


@pytest.mark.parametrize("load", [RangeTestResult.from_json, RangeTestResult.from_csv])
def test_a_result_file_longer_than_the_limit_is_refused_naming_it(
    tmp_path, monkeypatch, load: Callable[[Any], Any]
) -> None:
    from clr_core.rangetest import _io

    monkeypatch.setattr(_io, "MAX_FILE_CHARS", 1000)
    path = tmp_path / "result"
    path.write_text(_written(load))
    with pytest.raises(ValueError, match=r"result: longer than 1,000 characters"):
        load(path)


@pytest.mark.parametrize("load", [RangeTestResult.from_json, RangeTestResult.from_csv])
def test_a_result_file_in_utf16_is_refused_naming_it(tmp_path, load: Callable[[Any], Any]) -> None:
    # a UnicodeDecodeError ("'utf-8' codec can't decode byte 0xff"), naming no file
    path = tmp_path / "result"
    path.write_text(_written(load), encoding="utf-16")
    with pytest.raises(ValueError, match=r"result: the file is UTF-16 text"):
        load(path)


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("lr", {"type": "Constant", "value": -1.0}),
        ("lr", None),
        ("momentum", {"type": "Constant", "value": "x"}),
        ("momentum", {"type": "Triangle"}),
    ],
)
def test_plan_from_config_names_the_schedule_a_refused_value_sits_in(field: str, bad: Any) -> None:
    # the messages said `config`, for the rate and the momentum alike
    config = json.loads(json.dumps(_reading().recommend(32, 30).to_config()))
    with pytest.raises((ValueError, TypeError), match=rf"^config\['{field}'\]: "):
        Plan.from_config({**config, field: bad})
