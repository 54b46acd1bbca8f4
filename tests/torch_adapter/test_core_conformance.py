"""clr_core schedules reproduce torch.optim.lr_scheduler step for step (max rel. diff <= 1e-12).

These compare the *core* formulas with the real PyTorch schedulers driven the
usual way (one ``sched.step()`` per optimizer step); the adapter's own
conformance lives beside this file.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.optim import lr_scheduler as L

import clr_core as C

REL = 1e-12


def torch_run(make, steps: int, opt_cls=torch.optim.SGD, **opt_kwargs):
    p = [torch.nn.Parameter(torch.zeros(1))]
    opt = opt_cls(p, **(opt_kwargs or {"lr": 0.1, "momentum": 0.9}))
    sched = make(opt)
    lrs, moms = [], []
    for _ in range(steps):
        g = opt.param_groups[0]
        lrs.append(g["lr"])
        moms.append(g["momentum"] if "momentum" in g else g["betas"][0])
        opt.step()
        sched.step()
    return lrs, moms


def max_rel(ours: list[float], ref: list[float]) -> float:
    return max(abs(a - b) / max(abs(b), 1e-300) for a, b in zip(ours, ref, strict=True))


CYCLIC_CASES = [
    # (base, max, up, down, gamma)
    (0.001, 0.006, 2000, None, 1.0),
    (0.01, 0.1, 7, 13, 0.999),
    (0.1, 1.0, 1, 1, 0.9),
    (1e-5, 3.0, 3, 17, 0.99),
    (0.2, 0.2, 5, 5, 1.0),
    (0.0, 1.0, 250, 50, 0.9999),
]


@pytest.mark.parametrize(("base", "top", "up", "down", "gamma"), CYCLIC_CASES)
@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_cyclic_modes_match_torch_cycliclr_over_ten_cycles(
    base, top, up, down, gamma, mode
) -> None:
    cycle = up + (up if down is None else down)
    steps = min(10 * cycle + 7, 41_000)
    ref_lr, ref_m = torch_run(
        lambda o: L.CyclicLR(
            o,
            base,
            top,
            step_size_up=up,
            step_size_down=down,
            mode=mode,
            gamma=gamma,
            base_momentum=0.8,
            max_momentum=0.9,
        ),
        steps,
    )
    cls = {"triangular": C.Triangular, "triangular2": C.Triangular2, "exp_range": C.ExpRange}[mode]
    s = cls(base, top, up, down, gamma=gamma) if mode == "exp_range" else cls(base, top, up, down)
    m = s.momentum(0.8, 0.9)
    assert max_rel([s(t) for t in range(steps)], ref_lr) <= REL
    assert max_rel([m(t) for t in range(steps)], ref_m) <= REL


def test_cyclic_momentum_matches_torch_beta1_for_adam() -> None:
    ref_lr, ref_b1 = torch_run(
        lambda o: L.CyclicLR(o, 0.001, 0.01, step_size_up=5, step_size_down=9),
        300,
        opt_cls=torch.optim.Adam,
        lr=0.001,
        betas=(0.9, 0.999),
    )
    s = C.Triangular(0.001, 0.01, 5, 9)
    assert max_rel([s(t) for t in range(300)], ref_lr) <= REL
    assert max_rel([s.momentum(0.8, 0.9)(t) for t in range(300)], ref_b1) <= REL


@pytest.mark.parametrize("three_phase", [False, True])
@pytest.mark.parametrize("anneal", ["cos", "linear"])
@pytest.mark.parametrize(
    ("max_lr", "total", "pct", "div", "final_div"),
    [
        (0.1, 1000, 0.3, 25.0, 1e4),
        (25.0, 10, 0.4, 25.0, 4.0),
        (1.0, 37, 0.25, 10.0, 100.0),
        (0.5, 5000, 0.1, 5.0, 1e3),
    ],
)
def test_one_cycle_matches_torch(max_lr, total, pct, div, final_div, anneal, three_phase) -> None:
    ref_lr, ref_m = torch_run(
        lambda o: L.OneCycleLR(
            o,
            max_lr,
            total_steps=total,
            pct_start=pct,
            anneal_strategy=anneal,
            div_factor=div,
            final_div_factor=final_div,
            three_phase=three_phase,
        ),
        total,
    )
    s = C.OneCycle(max_lr, total, pct, anneal, div, final_div, three_phase)
    assert max_rel([s(t) for t in range(total)], ref_lr) <= REL
    assert max_rel([s.momentum()(t) for t in range(total)], ref_m) <= REL


@pytest.mark.parametrize(
    ("t0", "t_mult", "eta_min"), [(10, 1, 0.0), (5, 2, 0.001), (3, 3, 0.01), (1, 2, 0.0)]
)
def test_cosine_restarts_match_torch(t0, t_mult, eta_min) -> None:
    steps = 5000
    ref, _ = torch_run(
        lambda o: L.CosineAnnealingWarmRestarts(o, T_0=t0, T_mult=t_mult, eta_min=eta_min), steps
    )
    s = C.CosineRestarts(0.1, t0, t_mult, eta_min)
    assert max_rel([s(t) for t in range(steps)], ref) <= REL


# PyTorch's own golden vectors (test/optim/test_lrscheduler.py).
def test_golden_triangular_step_size_up_down() -> None:
    s = C.Triangular(1.0, 5.0, step_size_up=4, step_size_down=6)
    target = [1.0, 2.0, 3.0, 4.0, 5.0, 13.0 / 3, 11.0 / 3, 9.0 / 3, 7.0 / 3, 5.0 / 3, 1.0]
    assert max_rel([s(t) for t in range(len(target))], target) <= REL


def test_golden_triangular2() -> None:
    s = C.Triangular2(1.0, 5.0, step_size_up=4)
    target = [
        1,
        2,
        3,
        4,
        5,
        4,
        3,
        2,
        1,
        1.5,
        2.0,
        2.5,
        3.0,
        2.5,
        2.0,
        1.5,
        1,
        1.25,
        1.50,
        1.75,
        2.00,
        1.75,
    ]
    assert max_rel([s(t) for t in range(len(target))], target) <= REL


def test_golden_one_cycle_linear_three_phases() -> None:
    s = C.OneCycle(
        25.0,
        10,
        pct_start=0.4,
        anneal_strategy="linear",
        div_factor=25,
        final_div_factor=4,
        three_phase=True,
    )
    target = [1, 9, 17, 25, 17, 9, 1, 0.75, 0.5, 0.25]
    assert max_rel([s(t) for t in range(10)], target) <= REL


def test_golden_one_cycle_cosine() -> None:
    def annealing_cos(start: float, end: float, pct: float) -> float:
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)

    s = C.OneCycle(25.0, 10, final_div_factor=2)
    target = [1, 13, 25, *(annealing_cos(25, 0.5, k / 7.0) for k in range(1, 7)), 0.5]
    assert max_rel([s(t) for t in range(10)], target) <= REL
    assert s(10) == s(9) == s(10**6)  # torch raises past the end; we hold the final value
