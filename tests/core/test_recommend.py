"""result.recommend(): one plan for a budget, a frozen plain-data value."""

from __future__ import annotations

import json
import math
import pickle

import pytest

from clr_core import Constant, OneCycle, Triangular, from_config
from clr_core.rangetest import Plan, RangeTestResult, analyze, plan_peak, recommend

LRS = [10 ** (-4 + 5 * i / 99) for i in range(100)]


def v_curve(lr: float) -> float:
    """Flat, falls from 1e-3, bottoms out at 0.1, blows up."""
    x = math.log10(lr)
    return 2.0 if x < -3 else (2.0 - (x + 3) if x < -1 else 40 * (x + 1) ** 2)


@pytest.fixture(scope="module")
def clear() -> RangeTestResult:
    return analyze(LRS, [v_curve(v) for v in LRS])


def test_a_budget_gives_a_one_cycle_over_it_below_the_blow_up(clear):
    plan = clear.recommend(32, 30)
    assert plan.policy == "one_cycle"
    assert isinstance(plan.lr, OneCycle)
    assert plan.lr.total_steps == 960
    peak, _ = plan_peak(clear)
    assert plan.lr.max_lr == pytest.approx(peak)
    assert clear.base_lr < peak <= clear.blow_up_lr
    assert max(plan.lr(t) for t in range(960)) == pytest.approx(peak)
    assert plan.momentum is not None
    assert plan.momentum(0) == pytest.approx(0.95)
    assert min(plan.momentum(t) for t in range(960)) == pytest.approx(0.85)
    assert plan.reasons
    assert all(isinstance(r, str) for r in plan.reasons)


def test_no_budget_gives_the_papers_open_ended_triangular_cycle(clear):
    plan = clear.recommend(32)
    assert plan.policy == "triangular"
    assert isinstance(plan.lr, Triangular)
    assert (plan.lr.base_lr, plan.lr.max_lr) == (clear.base_lr, clear.max_lr)
    assert "pass epochs" in plan.reasons[0]  # it never anneals: the benchmarks' advice
    assert not any("pass epochs" in r for r in clear.recommend(32, 30).reasons)


def test_cycle_momentum_false_leaves_momentum_alone(clear):
    assert clear.recommend(32, 30, cycle_momentum=False).momentum is None


def test_a_reading_without_confidence_gives_a_fixed_rate():
    flat = analyze(LRS, [0.5] * 100)
    plan = flat.recommend(32, 30)
    assert plan.policy == "constant"
    assert plan.lr == Constant(flat.lr)
    assert plan.momentum is None
    assert "confidence" in plan.reasons[0]


def test_recommend_function_and_method_agree(clear):
    assert recommend(clear, 32, 30) == clear.recommend(32, 30)


def test_plan_is_a_value_config_json_and_pickle_round_trip(clear):
    plan = clear.recommend(32, 30)
    config = json.loads(json.dumps(plan.to_config(), allow_nan=False))
    assert Plan.from_config(config) == plan
    assert pickle.loads(pickle.dumps(plan)) == plan
    assert plan(100) == plan.lr(100)
    assert from_config(config["lr"]) == plan.lr


@pytest.mark.parametrize(
    ("config", "error", "match"),
    [
        ([], TypeError, "config"),
        ({"format": "other"}, ValueError, "format"),
        (
            {"format": "clr-plan/1", "policy": "one_cycle", "lr": {"type": "Nope"}},
            ValueError,
            "Nope",
        ),
        (
            {"format": "clr-plan/1", "policy": "bogus", "lr": Constant(0.1).to_config()},
            ValueError,
            "policy",
        ),
        (
            {"format": "clr-plan/1", "policy": "constant", "lr": Constant(0.1).to_config(),
             "reasons": "no"},
            TypeError,
            "reasons",
        ),
        (
            {"format": "clr-plan/1", "policy": "constant", "lr": Constant(0.1).to_config(),
             "extra": 1},
            ValueError,
            "unknown",
        ),
    ],
)  # fmt: skip
def test_untrusted_plan_configs_are_refused(config, error, match):
    with pytest.raises(error, match=match):
        Plan.from_config(config)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"iterations_per_epoch": 0, "epochs": 3}, "iterations_per_epoch"),
        ({"iterations_per_epoch": 32, "epochs": -1}, "epochs"),
        ({"iterations_per_epoch": 1, "epochs": 1}, "epochs"),
        ({"iterations_per_epoch": 32, "epochs": 3, "cycle_momentum": "yes"}, "cycle_momentum"),
    ],
)
def test_bad_arguments_name_themselves(clear, kwargs, name):
    with pytest.raises((ValueError, TypeError), match=f"`{name}`"):
        clear.recommend(**kwargs)


def test_plan_refuses_non_schedules():
    with pytest.raises(TypeError, match="`lr`"):
        Plan(0.1, None, "constant")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`momentum`"):
        Plan(Constant(0.1), 0.9, "constant")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda r: r.recommend(10**400, 3), "iterations_per_epoch"),
        (lambda r: r.recommend(2**60, 3), "iterations_per_epoch"),
        (lambda r: r.recommend(2**50, 30), "epochs"),
        (lambda r: r.recommend(10, 1e308), "epochs"),
        (lambda r: r.to_one_cycle(10**400, 3), "iterations_per_epoch"),
        (lambda r: r.to_one_cycle(10, math.inf), "epochs"),
        (lambda r: r.to_schedule("triangular", 10, epochs=1e308), "epochs"),
        (lambda r: r.to_schedule("exp_range", 10, epochs_per_half_cycle=1e308),
         "epochs_per_half_cycle"),
        (lambda r: r.to_triangular(10**400), "iterations_per_epoch"),
    ],
)  # fmt: skip
def test_budgets_beyond_2_53_steps_are_refused_naming_the_argument(clear, call, name):
    # these overflowed (OverflowError) or blamed total_steps / step_size_up
    with pytest.raises(ValueError, match=rf"Argument `{name}`"):
        call(clear)


def test_a_plan_refuses_a_momentum_outside_0_1_also_from_a_file(clear):
    config = clear.recommend(32, 30).to_config()
    config["momentum"] = {"type": "Constant", "value": 5.0}
    with pytest.raises(ValueError, match="momentum"):
        Plan.from_config(config)
    with pytest.raises(ValueError, match="momentum"):
        Plan(Constant(0.1), Constant(1.5), "constant")
    assert Plan(Constant(0.1), Constant(0.9), "constant").momentum == Constant(0.9)


def test_unknown_plan_keys_of_mixed_types_are_named(clear):
    config = {**clear.recommend(32, 30).to_config(), 1: 2, "a": 3}
    with pytest.raises(ValueError, match=r"\['1', 'a'\]"):
        Plan.from_config(config)


# --- the sweep's momentum (docs/benchmarks.md: the plan's momentum after a sweep without it)


def _with_momentum(result: RangeTestResult, momentum: object) -> RangeTestResult:
    return analyze(result.lrs, result.losses, provenance={"momentum": momentum})


def test_a_cycled_plan_says_that_its_cycle_replaces_the_optimizers_momentum(clear):
    for plan in (clear.recommend(32, 30), clear.recommend(32)):
        assert plan.momentum is not None
        cycled = [r for r in plan.reasons if "replaces the optimizer's own" in r]
        assert len(cycled) == 1
        # and why to keep it (docs/benchmarks.md: the momentum cycle itself)
        assert "a third below a fixed 0.9" in cycled[0]
        assert "collapsed 5 of 10" in cycled[0]
    quiet = clear.recommend(32, 30, cycle_momentum=False)
    assert not any("replaces the optimizer's own" in r for r in quiet.reasons)


@pytest.mark.parametrize("momentum", [0.9, 0.5, 1.0])
def test_a_sweep_with_momentum_keeps_the_cycle(clear, momentum):
    plan = _with_momentum(clear, momentum).recommend(32, 30)
    assert plan.momentum == clear.recommend(32, 30).momentum
    assert not any("without momentum" in r for r in plan.reasons)


@pytest.mark.parametrize("epochs", [30, None])
def test_a_sweep_without_momentum_gets_no_momentum_cycle(clear, epochs):
    plain = _with_momentum(clear, 0.0)
    plan = plain.recommend(32, epochs)
    assert plan.momentum is None
    assert plan.lr == clear.recommend(32, epochs).lr  # the rates are the same
    why = [r for r in plan.reasons if "without momentum" in r]
    assert len(why) == 1
    assert "momentum (e.g. 0.9)" in why[0]
    assert not any("replaces the optimizer's own" in r for r in plan.reasons)


def test_a_flat_reading_after_a_sweep_without_momentum_advises_momentum():
    flat = analyze(LRS, [0.5] * 100, provenance={"momentum": 0})
    plan = flat.recommend(32, 30)
    assert (plan.policy, plan.momentum) == ("constant", None)
    assert any("without momentum" in r and "momentum (e.g. 0.9)" in r for r in plan.reasons)
    with_momentum = analyze(LRS, [0.5] * 100, provenance={"momentum": 0.9}).recommend(32, 30)
    assert not any("without momentum" in r for r in with_momentum.reasons)


@pytest.mark.parametrize(
    "momentum",
    [None, True, False, "0", [0.0], {"m": 0}, math.nan, -0.5, 1.5, math.inf, 10**400],
)
def test_an_untrusted_momentum_in_the_provenance_is_ignored_not_an_error(clear, momentum):
    plan = _with_momentum(clear, momentum).recommend(32, 30)
    assert plan.momentum == clear.recommend(32, 30).momentum


def test_recorded_momentum_of_combined_sweeps_needs_them_to_agree(clear):
    from clr_core.rangetest import combine
    from clr_core.rangetest._recommend import recorded_momentum

    plain = [_with_momentum(clear, 0.0), _with_momentum(clear, 0)]
    assert recorded_momentum(combine(plain).provenance) == 0.0
    assert combine(plain).recommend(32, 30).momentum is None
    mixed = [_with_momentum(clear, 0.0), _with_momentum(clear, 0.9)]
    assert recorded_momentum(combine(mixed).provenance) is None
    assert combine(mixed).recommend(32, 30).momentum is not None
    assert recorded_momentum({"combined": "junk"}) is None
    assert recorded_momentum({"combined": [1, 2]}) is None


@pytest.mark.parametrize("suffix", ["json", "csv"])
def test_the_sweeps_momentum_survives_a_file_round_trip(clear, tmp_path, suffix):
    plain = _with_momentum(clear, 0.0)
    path = tmp_path / f"sweep.{suffix}"
    getattr(plain, f"to_{suffix}")(path)
    loaded = getattr(RangeTestResult, f"from_{suffix}")(path)
    assert loaded.provenance["momentum"] == 0.0
    assert loaded.recommend(32, 30).momentum is None


def test_a_loss_that_never_rises_back_halfway_peaks_at_max_lr_and_says_so():
    # falls from 2.3 to 0.1, then rises to 0.8 by the end: a rise, but not halfway back
    losses = [0.1 + 2.2 / (1 + (v / 1e-2) ** 2) + 0.3 * max(0.0, math.log10(v / 0.1)) for v in LRS]
    result = analyze(LRS, losses)
    assert result.confidence > 0.0
    assert result.suggestions.get("edge") is None
    peak, reasons = plan_peak(result)
    assert peak == result.max_lr
    (why,) = reasons
    assert "never rose back halfway" in why
    assert "lower bound" not in why  # it is not one: it can lie above the best peak
    assert "peak=0.5 * result.max_lr" in why
    plan = result.recommend(32, 30)
    assert plan.lr.max_lr == result.max_lr
    assert why in plan.reasons


def test_a_wide_valleys_far_edge_is_capped_at_peak_cap_times_max_lr():
    from clr_core.rangetest import PEAK_CAP
    from clr_core.rangetest._handoff import one_cycle_peak

    lrs = [10 ** (-6 + 7 * i / 199) for i in range(200)]
    # falls around 1e-5, rises back only near 1: a valley five decades wide
    losses = [0.1 + 2.2 / (1 + (v / 1e-5) ** 2) + 3 * (v / 0.5) ** 2 for v in lrs]
    result = analyze(lrs, losses)
    edge = result.suggestions["edge"]
    assert 0.8 * edge > PEAK_CAP * result.max_lr  # the edge rule alone would go past the cap
    assert result.one_cycle_peak == pytest.approx(PEAK_CAP * result.max_lr)
    uncapped = one_cycle_peak(result.max_lr, result.suggestions, result.noise_weight, math.inf)
    assert uncapped == pytest.approx(0.8 * edge)  # the cap is a parameter of the one formula
    assert result.to_one_cycle(100, 10).max_lr == pytest.approx(result.one_cycle_peak)
    plan = result.recommend(100, 10)
    assert plan.lr.max_lr == pytest.approx(PEAK_CAP * result.max_lr)
    (why,) = (r for r in plan.reasons if r.startswith("The valley is wide"))
    assert f"capped at {PEAK_CAP:g} x max_lr" in why
    # a narrow valley is untouched, and says nothing of a cap
    narrow = analyze(LRS, [v_curve(v) for v in LRS])
    assert narrow.one_cycle_peak == pytest.approx(0.8 * narrow.suggestions["edge"])
    assert not any(r.startswith("The valley is wide") for r in narrow.recommend(100, 10).reasons)
