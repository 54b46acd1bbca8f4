"""Untrusted input never corrupts, hangs or crashes the core.

One test per failure found by feeding the core hostile and careless input
(configs, checkpoints, sweep state, numbers at the edge of the float range),
then Hypothesis fuzzing of ``from_config``, ``SweepMonitor`` state and
``RangeTestResult.from_dict`` with arbitrary JSON-like data: the only allowed
outcomes are a clear ``ValueError``/``TypeError`` naming the field, or a
correct load, and a refused load changes nothing.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from fractions import Fraction
from typing import Any, ClassVar

import clr_strategies as cs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tampering import paths, replaced

import clr_core as C
from clr_core import validation
from clr_core.rangetest import (
    AutoOneCycle,
    ExponentialSweep,
    LinearSweep,
    RangeTestResult,
    SweepMonitor,
    analyze,
    combine,
)

BIG = 10**400  # a JSON integer beyond the float range


def every_kind_of_schedule() -> list[C.Schedule]:
    tri = C.Triangular(0.001, 0.006, 2000)
    return [
        tri,
        C.Triangular2(0.001, 0.006, 3, 5),
        C.ExpRange(0.001, 0.006, 3, gamma=0.99),
        C.ExpRange(0.001, 0.006, 3, gamma=1.0, decay="both"),
        C.Cyclic(0.1, 1.0, 7, 3, shape="hann", scale=C.HalvingScale(), scale_mode="iterations"),
        C.OneCycle(0.1, 100),
        C.OneCycle(0.1, 100, three_phase=True, anneal_strategy="linear"),
        C.CosineRestarts(0.1, 3),
        C.CosineRestarts(0.1, 3, T_mult=2, decay=0.5),
        C.Constant(0.1),
        C.Linear(0.0, 1.0, 5),
        C.warmup(tri, 10),
        C.Join([tri, C.Linear(0.001, 0.0, 50)], [4000]),
        ExponentialSweep(1e-5, 1.0, 100),
        LinearSweep(0.0, 1.0, 100),
    ]


# --------------------------------------------------------------------------- #
# Numbers at the edge
# --------------------------------------------------------------------------- #


def test_one_cycle_bounds_hold_every_value_even_with_div_factor_below_one() -> None:
    for s in (
        C.OneCycle(0.1, 50, div_factor=0.5),
        C.OneCycle(0.1, 50, final_div_factor=1e-300),
        C.OneCycle(0.1, 50, div_factor=0.5, final_div_factor=0.1, three_phase=True),
    ):
        lo, hi = s.bounds()
        values = [s(t) for t in range(60)]
        assert lo <= min(values)
        assert max(values) <= hi
        assert hi == max(values)  # the bound is attained: not just true, tight
    assert C.OneCycle(0.1, 50, div_factor=0.5).bounds()[1] == 0.2


def test_one_cycle_refuses_div_factors_that_overflow_its_rates() -> None:
    with pytest.raises(ValueError, match="div_factor"):
        C.OneCycle(1e308, 100, div_factor=1e-10)
    with pytest.raises(ValueError, match="final_div_factor"):
        C.OneCycle(1e300, 100, div_factor=1.0, final_div_factor=1e-10)


def test_cosine_restarts_with_a_peak_near_the_float_maximum_stays_finite() -> None:
    s = C.CosineRestarts(1e308, 10, eta_min=0.0)
    values = [s(t) for t in range(25)]
    assert all(math.isfinite(v) and 0.0 <= v <= 1e308 for v in values)
    assert s(0) == 1e308


def test_exponential_sweep_refuses_a_ratio_beyond_the_float_range() -> None:
    with pytest.raises(ValueError, match="end_lr"):
        ExponentialSweep(1e-5, 1e308, 100)
    s = ExponentialSweep(1e-300, 1e8, 100)  # a huge but finite ratio is fine
    assert s(0) == 1e-300
    assert s(99) == 1e8
    assert all(math.isfinite(s(i)) for i in range(100))


def test_linear_never_leaves_its_bounds() -> None:
    s = C.Linear(1e308, 0.1, 10)
    assert s(10) == 0.1  # was 0.0: 1e308 + (0.1 - 1e308) rounds to zero
    lo, hi = s.bounds()
    assert all(lo <= s(t) <= hi for t in range(20))


def _exact_triangular(step: int) -> float:
    """Triangular(0.001, 0.006, 2000) at ``step`` in exact rational arithmetic."""
    p = step % 4000
    ramp = Fraction(p, 2000) if p <= 2000 else Fraction(4000 - p, 2000)
    return float(Fraction(1, 1000) + (Fraction(6, 1000) - Fraction(1, 1000)) * ramp)


def test_integer_steps_past_2_53_are_computed_exactly() -> None:
    s = C.Triangular(0.001, 0.006, 2000)
    assert s(2**63 + 1000) == pytest.approx(0.00302, rel=1e-14)  # float(step) gave 0.001
    for step in (2**63 + 1000, 2**63 + 3000, 2**80 + 17, 3**90):
        assert s(step) == pytest.approx(_exact_triangular(step), rel=1e-15)
    assert s(4000 * 2**70 + 2000) == s(2000) == 0.006  # a whole number of cycles later


def test_a_step_of_10_to_the_400_evaluates_every_schedule() -> None:
    for s in every_kind_of_schedule():
        lo, hi = s.bounds()
        v = s(BIG)  # raised OverflowError (int too large to convert to float)
        assert math.isfinite(v), s
        assert lo <= v <= hi, s
        m = s.momentum()(BIG)
        assert 0.0 <= m <= 1.0, s


def test_step_sizes_beyond_2_53_are_refused_at_construction() -> None:
    with pytest.raises(ValueError, match=r"step_size_up.*2\*\*53"):
        C.Triangular(0.001, 0.006, step_size_up=2**63, step_size_down=10)
    for make, name in (
        (lambda: C.Triangular(0.1, 1.0, 10, step_size_down=2**60), "step_size_down"),
        (lambda: C.OneCycle(0.1, total_steps=BIG), "total_steps"),
        (lambda: C.CosineRestarts(0.1, T_0=BIG), "T_0"),
        (lambda: C.Linear(0.0, 1.0, BIG), "num_steps"),
        (lambda: C.Join([C.Constant(0.1), C.Constant(0.2)], [BIG]), "boundaries"),
        (lambda: ExponentialSweep(1e-5, 1.0, BIG), "num_steps"),
    ):
        with pytest.raises(ValueError, match=name):
            make()


def test_from_config_refuses_json_integers_beyond_the_float_range() -> None:
    for key, value in (("base_lr", BIG), ("max_lr", BIG), ("step_size_up", BIG)):
        config = C.Triangular(0.1, 1.0, 10).to_config()
        config[key] = value
        with pytest.raises(ValueError, match=key):
            C.from_config(json.loads(json.dumps(config)))


# --------------------------------------------------------------------------- #
# Configs: shape, depth, size
# --------------------------------------------------------------------------- #


def test_from_config_refuses_a_shape_or_scale_where_a_schedule_is_expected() -> None:
    for config, kind in (
        ({"type": "Triangle"}, "a cycle shape"),
        ({"type": "Hann"}, "a cycle shape"),
        ({"type": "ExpScale", "gamma": 0.9}, "an amplitude scale"),
    ):
        with pytest.raises(TypeError, match=f"must describe a schedule; .* is {kind}, not a sched"):
            C.from_config(config)
    assert C.from_config({"type": "Triangle"}, kind=C.Shape) == C.Triangle()
    with pytest.raises(TypeError, match="shape"):  # nested: the field names itself
        C.from_config({**C.Cyclic(0.1, 1.0, 2).to_config(), "shape": C.Constant(0.1).to_config()})


def _nested_join(depth: int) -> dict[str, Any]:
    config: dict[str, Any] = C.Constant(0.1).to_config()
    for _ in range(depth):
        config = {"type": "Join", "schedules": [config, C.Constant(0.2).to_config()],
                  "boundaries": [5]}  # fmt: skip
    return config


def test_from_config_refuses_joins_nested_beyond_the_depth_limit() -> None:
    deepest = C.from_config(_nested_join(validation.MAX_DEPTH - 1))  # 31 Joins + a leaf: 32 deep
    assert deepest(3) == 0.1
    for depth in (validation.MAX_DEPTH, 200, 5000):  # 200 deep raised RecursionError
        with pytest.raises(ValueError, match="deep"):
            C.from_config(_nested_join(depth))
    with pytest.raises(ValueError, match="deep"):
        C.Join([deepest, C.Constant(0.3)], [5])  # the same limit when built in Python
    deep_list: Any = [1.0]
    for _ in range(5000):
        deep_list = [deep_list]
    with pytest.raises(ValueError, match="deep"):
        C.from_config({"type": "Constant", "value": deep_list})


@C.register
@dataclasses.dataclass(frozen=True)
class _CountingConstant(C.Constant):
    """A Constant that counts how many were built."""

    built: ClassVar[list[int]] = [0]

    def __post_init__(self) -> None:
        type(self).built[0] += 1
        super().__post_init__()


def test_a_20000_piece_join_is_refused_before_any_piece_is_built() -> None:
    piece = {"type": "_CountingConstant", "value": 0.1}
    config = {"type": "Join", "schedules": [piece] * 20_000, "boundaries": list(range(1, 20_000))}
    _CountingConstant.built[0] = 0
    with pytest.raises(ValueError, match="20000 items; at most 1000"):
        C.from_config(config)
    assert _CountingConstant.built[0] == 0
    pieces = [C.Constant(0.1)] * 20_000
    with pytest.raises(ValueError, match="at most 1000"):
        C.Join(pieces, list(range(1, 20_000)))
    nested = C.Join([C.Constant(0.1)] * 600, list(range(1, 600)))
    with pytest.raises(ValueError, match="at most 1000 pieces in all"):
        C.Join([nested, nested], [1000])  # nested pieces count


def test_from_config_names_where_a_refused_value_sits() -> None:
    config = C.Join([C.Constant(0.1), C.Triangular(0.1, 1.0, 2)], [3]).to_config()
    config["schedules"][1]["max_lr"] = -1.0
    with pytest.raises(
        ValueError, match=r"config\.schedules\[1\] \(Triangular\): Argument `max_lr`"
    ):
        C.from_config(config)
    with pytest.raises(ValueError, match="Unknown key"):
        C.from_config({"type": "Constant", "value": 0.1, 3: "x"})  # a non-str key


# --------------------------------------------------------------------------- #
# The range test's state and result
# --------------------------------------------------------------------------- #


def _monitor(points: int = 12) -> SweepMonitor:
    m = SweepMonitor(ExponentialSweep(1e-4, 1.0, 50), min_steps=5)
    for i in range(points):
        m.update(m.lr(i), 2.0 - 0.01 * i, metric=0.1 * i)
    return m


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda s: s.pop("avg"), "avg"),  # was KeyError: 'avg'
        (lambda s: s.update(avg="nan"), "avg"),  # was accepted
        (lambda s: s.update(avg="x"), "avg"),
        (lambda s: s.update(lrs=s["lrs"][:-1]), "lrs"),
        (lambda s: s.update(lrs=[*s["lrs"][:-1], -1.0]), "lrs"),
        # rates out of order loaded, and result() then refused them
        (lambda s: s.update(lrs=[*s["lrs"][:-2], s["lrs"][-1], s["lrs"][-2]]), "lrs"),
        (lambda s: s.update(lrs=[*s["lrs"][:-1], s["lrs"][-2]]), "lrs"),
        # a sweep whose next rate is below the recorded ones: the next update() refused it
        (lambda s: s.update(sweep={**s["sweep"], "num_steps": 500}), "lrs"),
        (lambda s: s.update(losses=[*s["losses"][:-1], "loss"]), "losses"),
        (lambda s: s.update(metrics=[1.0]), "metrics"),
        (lambda s: s.update(beta=2.0), "beta"),
        (lambda s: s.update(min_steps="5"), "min_steps"),
        (lambda s: s.update(sweep={"type": "Triangle"}), "sweep"),
        (lambda s: s.update(sweep={**s["sweep"], "num_steps": 3}), "losses"),
        (lambda s: s.update(stop_reason=3), "stop_reason"),
        (lambda s: s.update(noise=-1.0), "noise"),
        (lambda s: s.update(extra=1), "extra"),
        # the stop rule's running values were taken as they came: best=-inf loaded and
        # switched the divergence test off; the others moved where the sweep would stop
        (lambda s: s.update(best="-inf"), "best"),
        (lambda s: s.update(best=-5.0), "best"),
        (lambda s: s.update(avg=s["avg"] * 3), "avg"),
        (lambda s: s.update(noise=s["noise"] * 100 + 1.0), "noise"),
        (lambda s: s.update(first=-100.0), "first"),
        (lambda s: s.update(noise_floor=1e6), "noise_floor"),
        (lambda s: s["smoothed"].__setitem__(3, 0.0), "smoothed"),
        (lambda s: s.update(stop_reason="sweep complete"), "stop_reason"),
        (lambda s: s.update(losses=[*s["losses"][:5], "nan", *s["losses"][6:]]), "losses"),
    ],
)
def test_sweep_monitor_refuses_tampered_state_naming_the_field(change, field: str) -> None:
    m = _monitor()
    before = copy.deepcopy(m.__dict__)
    state = json.loads(json.dumps(m.state_dict()))
    change(state)
    with pytest.raises((ValueError, TypeError), match=field):
        m.load_state_dict(state)
    assert m.__dict__ == before  # a refused load changes nothing


def _diverged_monitor() -> SweepMonitor:
    m = SweepMonitor(ExponentialSweep(1e-4, 1.0, 50), min_steps=5)
    for i in range(50):
        if m.update(m.lr(i), 2.0 - 0.05 * i if i < 20 else 1.0 + 0.5 * (i - 20)):
            break
    assert m.stop_reason is not None
    assert m.stop_reason.startswith("diverged")
    return m


def test_a_diverged_sweep_cannot_be_resumed_by_clearing_its_stop_reason() -> None:
    state = json.loads(json.dumps(_diverged_monitor().state_dict()))
    state["stop_reason"] = None  # was accepted: the sweep went on past its divergence
    with pytest.raises(ValueError, match="stop_reason"):
        SweepMonitor.from_state_dict(state)


def test_sweep_monitor_update_refuses_nan_and_string_rates() -> None:
    m = _monitor(0)
    for bad, exc in ((math.nan, ValueError), (-0.1, ValueError), (math.inf, ValueError),
                     ("0.1", TypeError), (None, TypeError)):  # fmt: skip
        with pytest.raises(exc, match="lr"):
            m.update(bad, 1.0)
    with pytest.raises(TypeError, match="loss"):
        m.update(0.1, "1.0")
    with pytest.raises(TypeError, match="metric"):
        m.update(0.1, 1.0, metric="high")
    assert m.step_index == 0  # nothing was recorded
    m.update(0.1, 1.0)
    for bad in (0.1, 0.05):  # the analysis would refuse the sweep later
        with pytest.raises(ValueError, match=r"`lr`.*above"):
            m.update(bad, 1.0)
    assert m.step_index == 1


def test_range_test_result_refuses_inconsistent_numbers() -> None:
    good = RangeTestResult(0.01, 0.2, 0.1, 0.9, ("ok",), {}, (0.01, 0.1), (2.0, 1.0), (2.0, 1.0))
    for key, value, exc in (
        ("base_lr", 0.5, ValueError),  # base_lr > max_lr was accepted
        ("confidence", 7, ValueError),  # was accepted
        ("base_lr", 0.0, ValueError),  # combine then failed with "math domain error"
        ("lr", "0.1", TypeError),
        ("bounds_from", "accuracy", ValueError),
        ("diverged", "yes", TypeError),
        ("reasons", "ok", TypeError),
        ("losses", [1.0], ValueError),
        ("lrs", [0.01, {}], TypeError),
        ("suggestions", {"steepest": "fast"}, TypeError),
        ("suggestions", {"edge": 0.0}, ValueError),  # recommend() then divided by zero
        ("suggestions", {"edge": -1.0}, ValueError),  # to_one_cycle() then failed on max_lr
        ("suggestions", {"edge": "nan"}, ValueError),
        ("diagnostics", {"blow_up_lr": "abc"}, TypeError),  # .blow_up_lr then failed
        ("diagnostics", {"blow_up_lr": -2.0}, ValueError),
        ("diagnostics", {"noise_limited": 2.0}, ValueError),
        ("diagnostics", {"x": {1, 2}}, TypeError),
        ("provenance", [], TypeError),
        ("provenance", {"batch_size": "16"}, TypeError),  # the plan's reasons compare it
        ("provenance", {"batch_size": True}, TypeError),
        ("provenance", {"batch_size": 0}, ValueError),
        ("provenance", {"batch_size": 2.5}, ValueError),
        ("provenance", {"batch_size": math.inf}, ValueError),
    ):
        data = good.to_dict()
        data[key] = value
        with pytest.raises(exc, match=key):
            RangeTestResult.from_dict(data)
    with pytest.raises(ValueError, match="base_lr"):
        combine([dataclasses.replace(good, base_lr=0.0), good])


def test_warmup_names_start_lr() -> None:
    with pytest.raises(ValueError, match="`start_lr`"):
        C.warmup(C.Constant(0.1), 10, start_lr=math.nan)


def test_to_json_and_state_dict_stay_strict_json_with_huge_losses() -> None:
    lrs = [10 ** (-4 + 4 * i / 99) for i in range(100)]
    losses = [1e308 * (1 - 0.5 * i / 100) if i < 80 else -1.7e308 for i in range(100)]
    r = analyze(lrs, losses)
    text = r.to_json()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    assert RangeTestResult.from_json(text) == r
    m = SweepMonitor(ExponentialSweep(1e-4, 1.0, 100), min_steps=3)
    for i, loss in enumerate([1.7e308, -1.7e308, 1.7e308, -1.7e308, 1.0]):
        if m.update(m.lr(i), loss):
            break
    text = json.dumps(m.state_dict(), allow_nan=False)  # raised: noise overflowed to inf
    assert SweepMonitor.from_state_dict(json.loads(text)).state_dict() == m.state_dict()


# --------------------------------------------------------------------------- #
# Fuzzing with arbitrary JSON-like data
# --------------------------------------------------------------------------- #

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([BIG, -BIG, 0, 1, 2, 10**16])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from([*sorted(C.registered_types()), "nan", "inf", "cycle", "cos", "both"])
)
json_data = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _assert_refusal_names(err: Exception, *names: str) -> None:
    text = str(err)
    assert any(n in text for n in names), (names, text)


def _assert_correct_schedule(s: Any) -> None:
    assert isinstance(s, C.Schedule)
    assert C.from_config(json.loads(json.dumps(s.to_config()))) == s
    lo, hi = s.bounds()
    for t in (0, 1, 7, 10**6, BIG):
        v = s(t)
        assert math.isfinite(v)
        tol = 1e-12 * max(abs(lo), abs(hi))  # the formulas' rounding (b + (a - b) cancels)
        assert lo - tol <= v <= hi + tol


@given(json_data)
def test_fuzz_from_config_with_arbitrary_json(data: Any) -> None:
    try:
        s = C.from_config(data)
    except (ValueError, TypeError) as e:
        _assert_refusal_names(e, "config", "`")
    else:
        _assert_correct_schedule(s)


@given(cs.any_schedule, st.data(), json_data)
def test_fuzz_from_config_with_one_field_of_a_valid_config_replaced(s, data, value) -> None:
    config = s.to_config()
    path = data.draw(st.sampled_from(paths(config, keep_type=False)))
    tampered = replaced(config, path, value)
    try:
        loaded = C.from_config(tampered)
    except (ValueError, TypeError) as e:
        names = [str(k) for k in path if isinstance(k, str)] or ["config"]
        _assert_refusal_names(e, names[-1], "config")
    else:
        _assert_correct_schedule(loaded)


@given(st.data(), json_data)
def test_fuzz_sweep_monitor_state_with_one_field_replaced(data, value) -> None:
    m = _monitor(data.draw(st.integers(0, 20)))
    state = json.loads(json.dumps(m.state_dict()))
    path = data.draw(st.sampled_from(paths(state)))
    tampered = replaced(state, path, value)
    target = _monitor(3)
    before = copy.deepcopy(target.__dict__)
    try:
        target.load_state_dict(tampered)
    except (ValueError, TypeError) as e:
        assert target.__dict__ == before
        _assert_refusal_names(e, str(path[0]), "state")
    else:  # a correct load: the state round-trips and the monitor keeps working
        assert target.state_dict() == SweepMonitor.from_state_dict(target.state_dict()).state_dict()
        json.dumps(target.state_dict(), allow_nan=False)
        if not target.done:
            target.update(
                target.lr(target.step_index), 1.0, metric=None if target.metrics is None else 0.5
            )
        if target.step_index >= 5:  # the analysis accepts what the load accepted
            assert target.result().max_lr > 0.0


@given(json_data)
def test_fuzz_sweep_monitor_state_with_arbitrary_json(data: Any) -> None:
    with pytest.raises((ValueError, TypeError), match="state"):
        SweepMonitor.from_state_dict(data)


@given(st.data(), json_data)
def test_fuzz_range_test_result_with_one_field_replaced(data, value) -> None:
    good = analyze(
        [10 ** (-4 + 4 * i / 29) for i in range(30)], [2.0 - 0.05 * i for i in range(30)]
    )
    d = json.loads(good.to_json())
    path = data.draw(st.sampled_from(paths(d)))
    try:
        r = RangeTestResult.from_dict(replaced(d, path, value))
    except (ValueError, TypeError) as e:
        _assert_refusal_names(e, str(path[0]), "clr-rangetest")
    else:
        assert RangeTestResult.from_json(r.to_json()) == r
        assert r.base_lr <= r.max_lr
        assert 0.0 <= r.confidence <= 1.0
        # an accepted file works everywhere a reading is read, without crashing
        assert r.summary()
        assert r.one_cycle_peak > 0.0
        assert r.blow_up_lr is None or r.blow_up_lr > 0.0
        assert 0.0 <= r.noise_weight <= 1.0
        assert r.recommend(10, 3).lr(0) >= 0.0
        assert r.to_one_cycle(10, 3).total_steps == 30


def _auto(steps: int) -> AutoOneCycle:
    auto = AutoOneCycle(120, start_lr=1e-4, end_lr=1.0, ramp_fraction=0.5, min_steps=5)
    for t in range(steps):
        auto.update(t, 2.0 - 0.02 * t if t < 30 else 1.4 + 0.5 * (t - 30))
    return auto


@pytest.mark.parametrize(
    ("change", "field"),
    [
        # the ramp's recorded rates were not checked: the next update() raised in the
        # analysis and left the object stuck, every later update() a RuntimeError
        (lambda s: s["monitor"]["lrs"].__setitem__(3, 1e300), "lrs"),
        (lambda s: s["monitor"]["lrs"].__setitem__(3, s["monitor"]["lrs"][3] * 1.5), "lrs"),
        # a metric the object never feeds: every later update() raised
        (lambda s: s["monitor"].update(metrics=[0.5] * len(s["monitor"]["losses"])), "metrics"),
        (lambda s: s["config"].update(total_steps=BIG), "total_steps"),  # was OverflowError
        (lambda s: s["config"].update(momentum={"a": 0.85, "b": 0.95}), "momentum"),  # KeyError
        (lambda s: s["config"].update(min_steps=None), "min_steps"),  # was None + 1
        # a decided state with a peak of its own (up to end_lr) trained at that peak
        (lambda s: s.update(peak=s["config"]["end_lr"] * 0.9), "peak"),
        # an undecided state past its edge ramped on toward end_lr
        (lambda s: s.update(decided_at=None, peak=None), "decided_at"),
        (lambda s: s["config"].update({"1": 2}), "config"),
        (lambda s: s.update(extra=1), "state"),
    ],
)
def test_auto_one_cycle_refuses_tampered_state_naming_the_field(change, field: str) -> None:
    auto = _auto(40)
    assert auto.decided
    before = json.dumps(auto.state_dict())
    state = json.loads(before)
    change(state)
    with pytest.raises((ValueError, TypeError), match=field):
        auto.load_state_dict(state)
    assert json.dumps(auto.state_dict()) == before


def test_auto_one_cycle_config_with_an_int_key_is_refused_naming_the_config() -> None:
    state = _auto(3).state_dict()
    state["config"] = {**state["config"], 1: 2}  # was "'<' not supported between int and str"
    with pytest.raises(ValueError, match=r"state\['config'\]"):
        AutoOneCycle.from_state_dict(state)


def test_auto_one_cycle_refuses_a_budget_beyond_2_53() -> None:
    with pytest.raises(ValueError, match="`total_steps`"):  # was OverflowError
        AutoOneCycle(BIG)


# numbers near the valid ones, so that many tampered states load and are then driven
json_numbers = (
    st.floats(allow_nan=True, allow_infinity=True)
    | st.floats(min_value=0.0, max_value=2.0)
    | st.integers(min_value=-3, max_value=130)
    | st.sampled_from([BIG, 2**53, "nan", "inf", "-inf", None])
)


@given(st.data(), json_data | json_numbers)
def test_fuzz_auto_one_cycle_state_with_one_field_replaced(data, value) -> None:
    auto = _auto(data.draw(st.sampled_from([0, 3, 12, 40, 80])))
    state = json.loads(json.dumps(auto.state_dict()))
    path = data.draw(st.sampled_from(paths(state)))
    target = _auto(7)
    before = json.dumps(target.state_dict())
    try:
        target.load_state_dict(replaced(state, path, value))
    except (ValueError, TypeError) as e:
        assert json.dumps(target.state_dict()) == before
        # the field itself, or its partner in a pair (start_lr < end_lr), named as an argument
        _assert_refusal_names(e, *[str(k) for k in path if isinstance(k, str)], "state", "`")
        return
    # an accepted state round-trips and runs to the end of its budget within its ramp
    text = json.dumps(target.state_dict(), allow_nan=False)
    assert AutoOneCycle.from_state_dict(json.loads(text)).state_dict() == target.state_dict()
    for t in range(target.monitor.step_index, target.total_steps):
        assert 0.0 <= target.lr(t) <= target.end_lr
        m = target.momentum_at(t)
        assert m is None or 0.0 <= m <= 1.0
        target.update(t, 1.0 + 0.01 * t)
    assert target.decided
    assert target.peak is not None
    assert 0.0 < target.peak <= target.end_lr
    json.dumps(target.state_dict(), allow_nan=False)


@pytest.mark.parametrize("source", [5, None, 1.5, ["{}"]])
@pytest.mark.parametrize("load", ["from_json", "from_csv"])
def test_a_result_source_that_is_neither_text_nor_a_path_is_refused_naming_it(load, source):
    with pytest.raises(TypeError, match=r"Argument `source` must be the text itself or a path"):
        getattr(RangeTestResult, load)(source)
