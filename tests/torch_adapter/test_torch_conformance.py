"""The drop-in schedulers reproduce torch.optim.lr_scheduler step for step."""

from __future__ import annotations

import math
import random

import pytest
import torch
from torch.optim import lr_scheduler as tls

import clr_torch

REL = 1e-12
N_STEPS = 3000


def _params(n_groups: int) -> list[torch.nn.Parameter]:
    return [torch.nn.Parameter(torch.zeros(3)) for _ in range(n_groups)]


def _optimizer(opt_cls, n_groups: int = 3, **kw):
    groups = [{"params": [p], "lr": 0.1 * (i + 1)} for i, p in enumerate(_params(n_groups))]
    return opt_cls(groups, lr=0.1, **kw)


def _momentum_of(group, key):
    v = group[key]
    return v[0] if isinstance(v, tuple) else v


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def _compare(make_torch, make_ours, opt_cls, opt_kw, n_steps=N_STEPS, n_groups=3):
    """Step both side by side; return the max relative difference of rates and momenta."""
    o1, o2 = _optimizer(opt_cls, n_groups, **opt_kw), _optimizer(opt_cls, n_groups, **opt_kw)
    s1, s2 = make_torch(o1), make_ours(o2)
    key = "betas" if "betas" in o1.defaults else ("momentum" if "momentum" in o1.defaults else None)
    worst = 0.0
    for _ in range(n_steps):
        for g1, g2 in zip(o1.param_groups, o2.param_groups, strict=True):
            worst = max(worst, _rel(g1["lr"], g2["lr"]))
            if key is not None:
                worst = max(worst, _rel(_momentum_of(g1, key), _momentum_of(g2, key)))
                if key == "betas":
                    assert g1["betas"][1] == g2["betas"][1]
        assert s1.get_last_lr() == pytest.approx(s2.get_last_lr(), rel=REL, abs=0)
        o1.step()
        o2.step()
        s1.step()
        s2.step()
    return worst


CYCLIC_CASES = [
    {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 200, "mode": "triangular"},
    {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 70, "step_size_down": 130},
    {
        "base_lr": [1e-4, 1e-3, 1e-2],
        "max_lr": [0.1, 0.3, 0.5],
        "step_size_up": 150,
        "mode": "triangular2",
    },
    {
        "base_lr": [1e-4, 1e-3, 1e-2],
        "max_lr": [0.1, 0.3, 0.5],
        "step_size_up": 37,
        "step_size_down": 211,
        "mode": "triangular2",
        "base_momentum": [0.8, 0.85, 0.7],
        "max_momentum": [0.9, 0.95, 0.99],
    },
    {"base_lr": 0.001, "max_lr": 0.1, "step_size_up": 100, "mode": "exp_range", "gamma": 0.9995},
    {
        "base_lr": [0.001, 0.002, 0.003],
        "max_lr": 0.1,
        "step_size_up": 11,
        "step_size_down": 250,
        "mode": "exp_range",
        "gamma": 0.999,
    },
]


@pytest.mark.parametrize("case", CYCLIC_CASES)
@pytest.mark.parametrize(
    ("opt_cls", "opt_kw"),
    [
        (torch.optim.SGD, {"momentum": 0.9}),
        (torch.optim.Adam, {}),
        (torch.optim.RMSprop, {"momentum": 0.5}),
    ],
    ids=["sgd", "adam", "rmsprop"],
)
def test_cyclic_lr_matches_torch(case, opt_cls, opt_kw):
    worst = _compare(
        lambda o: tls.CyclicLR(o, **case),
        lambda o: clr_torch.CyclicLR(o, **case),
        opt_cls,
        opt_kw,
    )
    assert worst <= REL


def test_cyclic_lr_without_momentum_matches_torch():
    case = {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 50, "cycle_momentum": False}
    worst = _compare(
        lambda o: tls.CyclicLR(o, **case),
        lambda o: clr_torch.CyclicLR(o, **case),
        torch.optim.Adagrad,
        {},
    )
    assert worst <= REL


ONE_CYCLE_CASES = [
    {"max_lr": 0.1, "total_steps": N_STEPS},
    {"max_lr": [0.1, 0.5, 1.0], "total_steps": N_STEPS, "anneal_strategy": "linear"},
    {"max_lr": 0.3, "total_steps": N_STEPS, "three_phase": True, "pct_start": 0.25},
    {
        "max_lr": [0.1, 0.2, 0.4],
        "epochs": 30,
        "steps_per_epoch": 100,
        "anneal_strategy": "linear",
        "three_phase": True,
        "div_factor": 10.0,
        "final_div_factor": 100.0,
        "base_momentum": [0.8, 0.85, 0.9],
        "max_momentum": 0.95,
    },
]


@pytest.mark.parametrize("case", ONE_CYCLE_CASES)
@pytest.mark.parametrize(
    ("opt_cls", "opt_kw"),
    [(torch.optim.SGD, {"momentum": 0.9}), (torch.optim.AdamW, {}), (torch.optim.NAdam, {})],
    ids=["sgd", "adamw", "nadam"],
)
def test_one_cycle_lr_matches_torch(case, opt_cls, opt_kw):
    worst = _compare(
        lambda o: tls.OneCycleLR(o, **case),
        lambda o: clr_torch.OneCycleLR(o, **case),
        opt_cls,
        opt_kw,
    )
    assert worst <= REL


@pytest.mark.parametrize("t_mult", [1, 2, 3])
def test_cosine_warm_restarts_matches_torch(t_mult):
    worst = _compare(
        lambda o: tls.CosineAnnealingWarmRestarts(o, T_0=17, T_mult=t_mult, eta_min=1e-4),
        lambda o: clr_torch.CosineAnnealingWarmRestarts(o, T_0=17, T_mult=t_mult, eta_min=1e-4),
        torch.optim.SGD,
        {"momentum": 0.9},
    )
    assert worst <= REL


def test_cosine_warm_restarts_fractional_epochs_match_torch():
    o1, o2 = _optimizer(torch.optim.SGD, 2), _optimizer(torch.optim.SGD, 2)
    s1 = tls.CosineAnnealingWarmRestarts(o1, T_0=10, T_mult=2, eta_min=1e-3)
    s2 = clr_torch.CosineAnnealingWarmRestarts(o2, T_0=10, T_mult=2, eta_min=1e-3)
    rng = random.Random(3)
    epochs = sorted(rng.uniform(0, 60) for _ in range(200))
    for e in epochs:
        o1.step()
        o2.step()
        s1.step(e)
        s2.step(e)
        for g1, g2 in zip(o1.param_groups, o2.param_groups, strict=True):
            assert _rel(g1["lr"], g2["lr"]) <= 1e-9
        assert s1.last_epoch == s2.last_epoch


# --------------------------------------------------------------------------- #
# PyTorch's own golden vectors (test/optim/test_lrscheduler.py). Those tests use
# momentum bounds 1..5, outside clr_core's [0, 1]; here the momentum bounds are
# divided by 10, which divides the targets by 10 (the formula is linear in them).
# --------------------------------------------------------------------------- #

TRI = [1, 2, 3, 4, 5, 4, 3, 2, 1, 2, 3]
TRI_MOM = [5, 4, 3, 2, 1, 2, 3, 4, 5, 4, 3]
TRI2 = [1, 2, 3, 4, 5, 4, 3, 2, 1, 1.5, 2.0, 2.5, 3.0, 2.5, 2.0, 1.5, 1, 1.25, 1.5, 1.75, 2.0, 1.75]
TRI2_MOM = [5.0, 4.0, 3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 5.0, 4.5, 4.0, 3.5, 3.0, 3.5, 4.0, 4.5, 5.0]
TRI2_MOM += [4.75, 4.5, 4.25, 4.0, 4.25]
XS = [0, 0.25, 0.5, 0.75, 1, 0.75, 0.50, 0.25, 0, 0.25, 0.5, 0.75, 1]
TRI_UD = [1.0, 2.0, 3.0, 4.0, 5.0, 13.0 / 3, 11.0 / 3, 9.0 / 3, 7.0 / 3, 5.0 / 3, 1.0]
TRI_UD_MOM = [5.0, 4.0, 3.0, 2.0, 1.0, 5.0 / 3, 7.0 / 3, 3.0, 11.0 / 3, 13.0 / 3, 5.0]


def _golden(sched, opt, lr_targets, mom_targets, key="momentum"):
    for i in range(len(lr_targets[0])):
        for g, group in enumerate(opt.param_groups):
            assert group["lr"] == pytest.approx(lr_targets[g][i], rel=REL), (i, g)
            if mom_targets is not None:
                m = _momentum_of(group, key)
                assert m == pytest.approx(mom_targets[g][i], rel=REL), (i, g)
        opt.step()
        sched.step()


def _two_groups(opt_cls=torch.optim.SGD, **kw):
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 1), torch.nn.Conv2d(1, 1, 1))
    return opt_cls(
        [{"params": net[0].parameters()}, {"params": net[1].parameters(), "lr": 0.5}],
        lr=0.05,
        **kw,
    )


def test_golden_triangular_two_groups():
    opt = _two_groups(momentum=0.9)
    sched = clr_torch.CyclicLR(
        opt, base_lr=[1, 2], max_lr=[5, 6], step_size_up=4, base_momentum=[0.1, 0.2],
        max_momentum=[0.5, 0.6],
    )  # fmt: skip
    _golden(
        sched,
        opt,
        [TRI, [x + 1 for x in TRI]],
        [[x / 10 for x in TRI_MOM], [(x + 1) / 10 for x in TRI_MOM]],
    )


def test_golden_triangular2_and_adam_beta1():
    opt = _two_groups(torch.optim.Adam)
    sched = clr_torch.CyclicLR(
        opt, base_lr=1, max_lr=5, step_size_up=4, mode="triangular2", base_momentum=0.1,
        max_momentum=0.5,
    )  # fmt: skip
    mom = [x / 10 for x in TRI2_MOM]
    _golden(sched, opt, [TRI2, TRI2], [mom, mom], key="betas")


def test_golden_exp_range():
    gamma = 0.9
    opt = _two_groups(momentum=0.9)
    sched = clr_torch.CyclicLR(
        opt, base_lr=[1, 5], max_lr=[5, 12], step_size_up=4, mode="exp_range", gamma=gamma,
        base_momentum=[0.1, 0.5], max_momentum=[0.5, 1.0],
    )  # fmt: skip
    lr1 = [1 + x * 4 * gamma**i for i, x in enumerate(XS)]
    lr2 = [5 + x * 7 * gamma**i for i, x in enumerate(XS)]
    m1 = [0.5 - x * 0.4 * gamma**i for i, x in enumerate(XS)]
    m2 = [1.0 - x * 0.5 * gamma**i for i, x in enumerate(XS)]
    _golden(sched, opt, [lr1, lr2], [m1, m2])


def test_golden_asymmetric_triangular():
    opt = _two_groups(momentum=0.9)
    sched = clr_torch.CyclicLR(
        opt, base_lr=1, max_lr=5, step_size_up=4, step_size_down=6, base_momentum=0.1,
        max_momentum=0.5,
    )  # fmt: skip
    mom = [x / 10 for x in TRI_UD_MOM]
    _golden(sched, opt, [TRI_UD, TRI_UD], [mom, mom])


def test_golden_one_cycle_linear_and_three_phase():
    opt = _two_groups(momentum=0.9)
    sched = clr_torch.OneCycleLR(
        opt, max_lr=25, final_div_factor=2, base_momentum=0.01, max_momentum=0.22,
        total_steps=10, anneal_strategy="linear",
    )  # fmt: skip
    lr = [1, 13, 25, 21.5, 18, 14.5, 11, 7.5, 4, 0.5]
    mom = [x / 100 for x in [22, 11.5, 1, 4, 7, 10, 13, 16, 19, 22]]
    _golden(sched, opt, [lr, lr], [mom, mom])

    opt = _two_groups(torch.optim.Adam)
    sched = clr_torch.OneCycleLR(
        opt, max_lr=25, div_factor=25, base_momentum=0.01, max_momentum=0.22, total_steps=10,
        anneal_strategy="linear", pct_start=0.4, final_div_factor=4, three_phase=True,
    )  # fmt: skip
    lr = [1, 9, 17, 25, 17, 9, 1, 0.75, 0.5, 0.25]
    mom = [x / 100 for x in [22, 15, 8, 1, 8, 15, 22, 22, 22, 22]]
    _golden(sched, opt, [lr, lr], [mom, mom], key="betas")


def test_golden_one_cycle_cosine():
    def cos(start, end, pct):
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)

    opt = _two_groups(momentum=0.9)
    sched = clr_torch.OneCycleLR(
        opt, max_lr=25, final_div_factor=2, base_momentum=0.01, max_momentum=0.22,
        total_steps=10,
    )  # fmt: skip
    lr = [1, 13, 25] + [cos(25, 0.5, k / 7.0) for k in range(1, 7)] + [0.5]
    mom = [0.22, 0.115, 0.01] + [cos(0.01, 0.22, k / 7.0) for k in range(1, 7)] + [0.22]
    _golden(sched, opt, [lr, lr], [mom, mom])


def test_chained_and_sequential_match_torch():
    def run(cyclic_cls, build):
        opt = _optimizer(torch.optim.SGD, 2, momentum=0.9)
        sched = build(opt, cyclic_cls)
        out = []
        for _ in range(120):
            out.append(
                [g["lr"] for g in opt.param_groups] + [g["momentum"] for g in opt.param_groups]
            )
            opt.step()
            sched.step()
        return out

    def chained(opt, cls):
        return tls.ChainedScheduler(
            [cls(opt, 0.01, 0.1, step_size_up=10), tls.ExponentialLR(opt, gamma=0.99)]
        )

    def sequential(opt, cls):
        warm = tls.LinearLR(opt, start_factor=0.1, total_iters=20)
        return tls.SequentialLR(opt, [warm, cls(opt, 0.01, 0.1, step_size_up=10)], milestones=[20])

    for build in (chained, sequential):
        ref, ours = run(tls.CyclicLR, build), run(clr_torch.CyclicLR, build)
        for a, b in zip(ref, ours, strict=True):
            assert b == pytest.approx(a, rel=REL)
