"""AutoOneCycleLR: the core's self-finding 1cycle driven by step(loss) on a torch optimizer."""

from __future__ import annotations

import io
import json
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from tampering import paths, replaced

from clr_core.rangetest import AutoOneCycle
from clr_torch import AutoOneCycleLR

EDGE = 0.05


def fake_loss(lr: float, t: int) -> float:
    return 1.0 + 400.0 * (lr - EDGE) if lr > EDGE else 2.0 - min(1.5, 30.0 * lr) - 1e-4 * t


def make(opt_cls=torch.optim.SGD, **opt_kw):
    model = torch.nn.Linear(3, 1)
    opt_kw = {"lr": 0.1, "momentum": 0.9, **opt_kw} if opt_cls is torch.optim.SGD else opt_kw
    return opt_cls(model.parameters(), **opt_kw)


def drive(sched, opt, steps, start=0):
    seen = []
    for t in range(start, start + steps):
        seen.append((opt.param_groups[0]["lr"], _mom(opt)))
        opt.step()
        sched.step(fake_loss(opt.param_groups[0]["lr"], t))
    return seen


def _mom(opt):
    g = opt.param_groups[0]
    return g["betas"][0] if "betas" in g else g["momentum"]


def test_matches_the_core_object_step_for_step():
    opt = make()
    sched = AutoOneCycleLR(opt, 600, start_lr=1e-5, end_lr=1.0)
    core = AutoOneCycle(600, start_lr=1e-5, end_lr=1.0)
    seen = drive(sched, opt, 600)
    for t, (lr, m) in enumerate(seen):
        assert lr == core.lr(t)
        assert m == core.momentum_at(t)
        core.update(t, fake_loss(lr, t))
    assert sched.auto.decided
    assert sched.auto.peak == core.peak
    assert sched.get_last_lr() == [opt.param_groups[0]["lr"]]


def test_adam_beta1_is_cycled_and_beta2_kept():
    opt = make(torch.optim.Adam, lr=1e-3, betas=(0.9, 0.99))
    sched = AutoOneCycleLR(opt, 300, start_lr=1e-5, end_lr=1.0)
    drive(sched, opt, 300)
    assert opt.param_groups[0]["betas"][1] == 0.99
    assert opt.param_groups[0]["betas"][0] == pytest.approx(0.95, abs=1e-3)


def test_groups_keep_their_ratio():
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(
        [{"params": [model.weight], "lr": 0.1}, {"params": [model.bias], "lr": 0.01}],
        momentum=0.9,
    )
    sched = AutoOneCycleLR(opt, 300, start_lr=1e-4, end_lr=1.0)
    drive(sched, opt, 50)
    a, b = (g["lr"] for g in opt.param_groups)
    assert b == pytest.approx(a / 10)


def test_step_without_loss_before_the_decision_says_what_it_needs():
    opt = make()
    sched = AutoOneCycleLR(opt, 300)
    opt.step()
    with pytest.raises(ValueError, match="step\\(loss\\)"):
        sched.step()


@pytest.mark.parametrize("split", [0, 17, 150, 299])
def test_checkpoint_with_weights_only_resumes_exactly(split):
    opt = make()
    ref = AutoOneCycleLR(opt, 400, start_lr=1e-5, end_lr=1.0)
    expected = drive(ref, opt, 400)

    opt2 = make()
    s2 = AutoOneCycleLR(opt2, 400, start_lr=1e-5, end_lr=1.0)
    got = drive(s2, opt2, split)
    buf = io.BytesIO()
    torch.save({"sched": s2.state_dict(), "opt": opt2.state_dict()}, buf)
    buf.seek(0)
    ckpt = torch.load(buf, weights_only=True)
    opt3 = make()
    opt3.load_state_dict(ckpt["opt"])
    s3 = AutoOneCycleLR(opt3, 400, start_lr=1e-5, end_lr=1.0)
    s3.load_state_dict(ckpt["sched"])
    got += drive(s3, opt3, 400 - split, start=split)
    assert got == expected


def test_a_refused_state_changes_nothing():
    opt = make()
    sched = AutoOneCycleLR(opt, 300, start_lr=1e-5, end_lr=1.0)
    drive(sched, opt, 120)
    state = sched.state_dict()
    before = (sched.state_dict(), [dict(g) for g in opt.param_groups])
    bad = dict(state, auto=dict(state["auto"], peak=-3.0, decided_at=5))
    with pytest.raises(ValueError):
        sched.load_state_dict(bad)
    with pytest.raises(ValueError, match="momentum_key"):
        sched.load_state_dict(dict(state, momentum_key="params"))
    deep: list[object] = []
    for _ in range(5000):  # repr() of this raises RecursionError
        deep = [deep]
    for hostile in (deep, "k" * 100_000):
        with pytest.raises(ValueError, match="momentum_key") as info:
            sched.load_state_dict(dict(state, momentum_key=hostile))
        assert len(str(info.value)) < 400
    assert sched.state_dict() == before[0]
    assert [dict(g) for g in opt.param_groups] == before[1]


def test_optimizer_without_momentum_needs_momentum_none():
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.Adagrad(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="momentum"):
        AutoOneCycleLR(opt, 300)
    sched = AutoOneCycleLR(opt, 300, momentum=None)
    assert sched.auto.momentum is None


def test_trains_a_real_model_without_collapse():
    torch.manual_seed(0)
    x = torch.randn(512, 8)
    y = (x[:, :1] * 2 - x[:, 1:2]).squeeze(1)
    model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    sched = AutoOneCycleLR(opt, 600, start_lr=1e-4, end_lr=10.0)
    first = None
    for _t in range(600):
        idx = torch.randint(0, 512, (32,))
        loss = torch.nn.functional.mse_loss(model(x[idx]).squeeze(1), y[idx])
        first = first if first is not None else float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step(loss)
    with torch.no_grad():
        final = float(torch.nn.functional.mse_loss(model(x).squeeze(1), y))
    assert sched.auto.decided
    assert final < 0.1 * first


def test_schedule_lr_applies_a_plan_rate_and_momentum():
    import math

    from clr_core.rangetest import analyze
    from clr_torch import ScheduleLR

    lrs = [10 ** (-4 + 5 * i / 99) for i in range(100)]

    def v(lr):
        x = math.log10(lr)
        return 2.0 if x < -3 else (2.0 - (x + 3) if x < -1 else 40 * (x + 1) ** 2)

    plan = analyze(lrs, [v(x) for x in lrs]).recommend(10, 5)
    opt = make()
    sched = ScheduleLR(opt, plan)
    for t in range(50):
        assert opt.param_groups[0]["lr"] == plan.lr(t)
        assert opt.param_groups[0]["momentum"] == plan.momentum(t)
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="`momentum`"):
        ScheduleLR(make(), plan, momentum=plan.momentum)


def _two_groups():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    return torch.optim.SGD(
        [{"params": [model.weight]}, {"params": [model.bias], "lr": 0.05}], lr=0.1, momentum=0.9
    )


def _snapshot(sched, opt):
    return sched.state_dict(), [(g["lr"], g["momentum"]) for g in opt.param_groups]


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("ratios", [math.nan, 0.5]),  # was written into the optimizer as lr=nan
        ("ratios", ["nan", 0.5]),
        ("ratios", [1.0, -5.0]),  # a negative rate
        ("ratios", [1.0, 1e300]),  # a rate of 1e297
        ("ratios", [1.0, 10**400]),  # OverflowError
        ("ratios", [1.0, "x"]),  # raised half-way, after the scheduler had changed
        ("ratios", [3.0, 0.5]),  # group 0 runs at the plan's own rate
        ("base_lrs", ["x", 0.05]),  # raised half-way
        ("base_lrs", [0.1]),  # one per group
        ("base_lrs", {"a": 1}),
        ("last_epoch", 10**400),
        ("extra", 1),
    ],
)
def test_a_tampered_state_is_refused_naming_the_field_and_changes_nothing(field, bad):
    opt = _two_groups()
    sched = AutoOneCycleLR(opt, 300, start_lr=1e-5, end_lr=1.0)
    drive(sched, opt, 40)
    state = sched.state_dict()
    before = _snapshot(sched, opt)
    with pytest.raises((ValueError, TypeError), match=field):
        sched.load_state_dict({**state, field: bad})
    assert _snapshot(sched, opt) == before


def test_a_decided_state_must_step_from_the_decision_on():
    opt = make()
    sched = AutoOneCycleLR(opt, 300, start_lr=1e-5, end_lr=1.0)
    drive(sched, opt, 150)
    assert sched.auto.decided
    state = sched.state_dict()
    with pytest.raises(ValueError, match="last_epoch"):
        sched.load_state_dict({**state, "last_epoch": sched.auto.decided_at - 1})


VALUES = (
    st.none()
    | st.booleans()
    | st.integers(-3, 400)
    | st.sampled_from([10**400, 2**53, 2**60, "nan", "inf", "momentum", "params", "lr"])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.floats(0.0, 2.0)
    | st.lists(st.floats(0.0, 2.0), max_size=3)
    | st.dictionaries(st.text(max_size=4), st.integers(), max_size=2)
)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_fuzz_load_state_dict_with_a_nested_value_replaced(data):
    opt = _two_groups()
    sched = AutoOneCycleLR(opt, 300, start_lr=1e-5, end_lr=1.0)
    drive(sched, opt, data.draw(st.sampled_from([0, 5, 40, 150])))
    state = sched.state_dict()
    path = data.draw(st.sampled_from(paths(state)))
    tampered = replaced(state, path, data.draw(VALUES))
    target_opt = _two_groups()
    target = AutoOneCycleLR(target_opt, 300, start_lr=1e-5, end_lr=1.0)
    drive(target, target_opt, 5)
    before = _snapshot(target, target_opt)
    try:
        target.load_state_dict(tampered)
    except (ValueError, TypeError):
        assert _snapshot(target, target_opt) == before
        return
    # an accepted state steps to the end of the budget at rates within the ramp
    for t in range(target.last_epoch, 300):
        target_opt.step()
        target.step(fake_loss(target_opt.param_groups[0]["lr"], t))
        rates = target.get_last_lr()
        assert [g["lr"] for g in target_opt.param_groups] == rates
        assert all(0.0 <= r <= 1.0 for r in rates)
        assert all(0.0 <= g["momentum"] <= 1.0 for g in target_opt.param_groups)


def test_tensor_valued_rate_and_beta1_are_filled_in_place_as_schedule_lr_does():
    # A captured CUDA graph (capturable Adam) reads these tensors: replacing one by a float
    # would leave the graph on the old value. AutoOneCycleLR wrote a float beta1 before.
    lr, b1, b2 = torch.tensor(0.01), torch.tensor(0.9), torch.tensor(0.999)
    opt = make(torch.optim.Adam, lr=lr, betas=(b1, b2))
    sched = AutoOneCycleLR(opt, total_steps=60, start_lr=1e-4, end_lr=1.0, ramp_fraction=0.5)
    seen = set()
    for start in range(0, 60, 6):
        drive(sched, opt, 6, start)
        group = opt.param_groups[0]
        assert group["lr"] is lr
        assert group["betas"][0] is b1
        assert group["betas"][1] is b2
        assert float(lr) == pytest.approx(sched.get_last_lr()[0])
        assert float(b1) == pytest.approx(sched.auto.momentum_at(sched.last_epoch))
        assert float(b2) == pytest.approx(0.999)  # beta2 untouched
        seen.add(round(float(b1), 4))
    assert sched.auto.decided
    assert len(seen) > 3  # the cycle moved beta1
    # the rates it reports and saves are floats, as ScheduleLR's: plain data, no tensors
    assert all(type(v) is float for v in sched.get_last_lr())
    assert json.loads(json.dumps(sched.state_dict())) == sched.state_dict()
