"""The drop-ins' state as PyTorch's users rely on it: attributes, param-group keys,
``last_epoch`` resume, tensor arguments, and loading PyTorch's own state dicts."""

from __future__ import annotations

import dataclasses
import io
import warnings

import pytest
import torch
from torch.optim import lr_scheduler as tls

import clr_core
import clr_torch

REL = 1e-12


@clr_core.register
@dataclasses.dataclass(frozen=True)
class StateTestHalvingScale(clr_core.Scale):
    """``s(x) = base ** (x - 1)``: a custom scale whose field matches a callable's attribute."""

    base: float = 0.5

    def factor(self, x, xp):
        return xp.power(self.base, x - 1.0)


class TorchHalving:
    """PyTorch-style callable ``scale_fn`` object with an attribute (saved as its __dict__)."""

    def __init__(self, base=0.5):
        self.base = base

    def __call__(self, x):
        return self.base ** (x - 1.0)


def _opt(cls=torch.optim.SGD, **kw):
    p = [torch.nn.Parameter(torch.zeros(2)) for _ in range(2)]
    return cls([{"params": [p[0]]}, {"params": [p[1]], "lr": 0.2}], lr=0.1, **kw)


def _momentum(group):
    return group["betas"][0] if "betas" in group else group.get("momentum")


def _state_of(opt):
    return [(float(g["lr"]), _momentum(g)) for g in opt.param_groups]


def _checkpoint(opt, sched):
    buf = io.BytesIO()
    torch.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def _assert_same_run(o1, s1, o2, s2, steps=80):
    for _ in range(steps):
        for (lr1, m1), (lr2, m2) in zip(_state_of(o1), _state_of(o2), strict=True):
            assert lr2 == pytest.approx(lr1, rel=REL, abs=0)
            assert (m1 is None) == (m2 is None)
            if m1 is not None:
                assert m2 == pytest.approx(m1, rel=REL, abs=0)
        assert s2.get_last_lr() == pytest.approx([float(v) for v in s1.get_last_lr()], rel=REL)
        for o, s in ((o1, s1), (o2, s2)):
            o.step()
            s.step()


# --------------------------------------------------------------------------- #
# Migration: PyTorch's own state dicts
# --------------------------------------------------------------------------- #

TORCH_RUNS = {
    "cyclic-triangular2-sgd": (
        torch.optim.SGD,
        {"momentum": 0.9},
        lambda o: tls.CyclicLR(o, [0.01, 0.02], [0.1, 0.3], 7, 13, "triangular2"),
        lambda o: clr_torch.CyclicLR(o, 0.5, 0.9, 3, cycle_momentum=False),
    ),
    "cyclic-exp_range-adam": (
        torch.optim.Adam,
        {},
        lambda o: tls.CyclicLR(o, 0.01, 0.1, 7, mode="exp_range", gamma=0.99, max_momentum=0.95),
        lambda o: clr_torch.CyclicLR(o, 0.5, 0.9, 3),
    ),
    "cyclic-no-momentum": (
        torch.optim.SGD,
        {"momentum": 0.9},
        lambda o: tls.CyclicLR(o, 0.01, 0.1, 5, cycle_momentum=False),
        lambda o: clr_torch.CyclicLR(o, 0.5, 0.9, 3),
    ),
    "onecycle-three-phase-linear": (
        torch.optim.SGD,
        {"momentum": 0.9},
        lambda o: tls.OneCycleLR(
            o, [0.1, 0.3], total_steps=90, three_phase=True, anneal_strategy="linear"
        ),
        lambda o: clr_torch.OneCycleLR(o, 1.0, total_steps=7),
    ),
    "onecycle-cos-adamw": (
        torch.optim.AdamW,
        {},
        lambda o: tls.OneCycleLR(o, 0.1, total_steps=90, div_factor=10.0, base_momentum=0.8),
        lambda o: clr_torch.OneCycleLR(o, 1.0, total_steps=7, cycle_momentum=False),
    ),
    "cawr-t_mult-2": (
        torch.optim.SGD,
        {"momentum": 0.9},
        lambda o: tls.CosineAnnealingWarmRestarts(o, 5, 2, eta_min=0.001),
        lambda o: clr_torch.CosineAnnealingWarmRestarts(o, 3),
    ),
    "cawr-t_mult-1": (
        torch.optim.SGD,
        {},
        lambda o: tls.CosineAnnealingWarmRestarts(o, 6, eta_min=0.01),
        lambda o: clr_torch.CosineAnnealingWarmRestarts(o, 3, 3),
    ),
}


MIGRATED_ATTRIBUTES = ("mode", "gamma", "scale_mode", "max_lrs", "total_size", "step_ratio")
MIGRATED_ATTRIBUTES += ("cycle_momentum", "base_momentums", "max_momentums", "total_steps")
MIGRATED_ATTRIBUTES += ("base_lrs", "T_0", "T_mult", "eta_min", "T_i", "T_cur")


@pytest.mark.parametrize("name", sorted(TORCH_RUNS))
@pytest.mark.parametrize("steps", [1, 37, 89])
def test_torch_state_dict_loads_as_a_migration_and_continues_the_torch_run(name, steps):
    opt_cls, kw, make_torch, make_ours = TORCH_RUNS[name]
    o1 = _opt(opt_cls, **kw)
    s1 = make_torch(o1)
    for _ in range(steps):
        o1.step()
        s1.step()
    ckpt = _checkpoint(o1, s1)
    o2 = _opt(opt_cls, **kw)
    s2 = make_ours(o2)  # other arguments; PyTorch's recommended order
    o2.load_state_dict(ckpt["opt"])
    s2.load_state_dict(ckpt["sched"])
    assert s2.last_epoch == s1.last_epoch
    assert s2._step_count == s1._step_count
    for attr in MIGRATED_ATTRIBUTES:
        if hasattr(s1, attr):
            want = getattr(s1, attr)
            want = want if isinstance(want, str) else pytest.approx(want, rel=REL)
            assert getattr(s2, attr) == want, attr
    _assert_same_run(o1, s1, o2, s2, steps=max(0, 89 - steps) if "onecycle" in name else 80)


def test_torch_cawr_state_after_fractional_epochs_migrates():
    o1, o2 = _opt(), _opt()
    s1 = tls.CosineAnnealingWarmRestarts(o1, 4, 3, eta_min=0.001)
    for e in (0.5, 1.25, 7.5, 16.75):
        s1.step(e)
    s2 = clr_torch.CosineAnnealingWarmRestarts(o2, 10)
    ckpt = _checkpoint(o1, s1)
    o2.load_state_dict(ckpt["opt"])
    s2.load_state_dict(ckpt["sched"])
    assert (s2.T_cur, s2.T_i, s2.last_epoch) == (s1.T_cur, s1.T_i, s1.last_epoch)
    for e in (17.0, 20.5, 50.25):
        s1.step(e)
        s2.step(e)
        assert s2.get_last_lr() == pytest.approx(s1.get_last_lr(), rel=1e-12)
    _assert_same_run(o1, s1, o2, s2, steps=60)


def test_torch_one_cycle_state_needs_the_saved_runs_param_groups():
    o1 = _opt(momentum=0.9)
    s1 = tls.OneCycleLR(o1, 0.1, total_steps=50)
    for _ in range(20):
        o1.step()
        s1.step()
    ckpt = _checkpoint(o1, s1)
    # built after the optimizer was restored: its own max_lr overwrote the group keys
    o2 = _opt(momentum=0.9)
    o2.load_state_dict(ckpt["opt"])
    s2 = clr_torch.OneCycleLR(o2, 1.0, total_steps=7)
    before = (s2.state_dict(), _state_of(o2))
    with pytest.raises(ValueError, match="Build the OneCycleLR first, then load the optimizer"):
        s2.load_state_dict(ckpt["sched"])
    assert (s2.state_dict(), _state_of(o2)) == before
    # an optimizer without the keys at all
    o3 = _opt(momentum=0.9)
    s3 = clr_torch.OneCycleLR(o3, 0.1, total_steps=50)
    for group in o3.param_groups:
        del group["max_lr"]
    with pytest.raises(ValueError, match="load the optimizer's state_dict"):
        s3.load_state_dict(ckpt["sched"])


def test_torch_cyclic_state_with_a_callable_scale_fn_object_is_refused_with_guidance():
    o1 = _opt(momentum=0.9)
    s1 = tls.CyclicLR(o1, 0.01, 0.1, 5, scale_fn=TorchHalving(0.25))
    for _ in range(12):
        o1.step()
        s1.step()
    ckpt = _checkpoint(o1, s1)
    assert ckpt["sched"]["_scale_fn_custom"] == {"base": 0.25}
    o2 = _opt(momentum=0.9)
    s2 = clr_torch.CyclicLR(o2, 0.01, 0.1, 5)
    before = (s2.state_dict(), _state_of(o2))
    with pytest.raises(ValueError, match=r"callable object \(attributes \['base'\]\).*register"):
        s2.load_state_dict(ckpt["sched"])
    assert (s2.state_dict(), _state_of(o2)) == before
    # the way out the message gives: build with the Scale; its field takes the saved value
    s2 = clr_torch.CyclicLR(o2, 0.01, 0.1, 5, scale_fn=StateTestHalvingScale(0.5))
    o2.load_state_dict(ckpt["opt"])
    s2.load_state_dict(ckpt["sched"])
    assert s2.schedules[0].scale == StateTestHalvingScale(0.25)
    _assert_same_run(o1, s1, o2, s2)


def test_torch_cyclic_state_with_a_function_scale_fn_is_refused_where_it_shows():
    o1 = _opt(momentum=0.9)
    s1 = tls.CyclicLR(o1, 0.01, 0.1, 5, scale_fn=lambda x: 0.99**x, scale_mode="iterations")
    ckpt = _checkpoint(o1, s1)
    assert ckpt["sched"]["_scale_fn_custom"] is None  # PyTorch saves nothing of a function
    s2 = clr_torch.CyclicLR(_opt(momentum=0.9), 0.01, 0.1, 5)
    with pytest.raises(ValueError, match=r"a function \(PyTorch saves none\).*scale_mode='iter"):
        s2.load_state_dict(ckpt["sched"])


def test_torch_one_cycle_legacy_state_with_a_foreign_anneal_function_is_refused():
    o1 = _opt(momentum=0.9)
    s1 = tls.OneCycleLR(o1, 0.1, total_steps=20)
    sd = s1.state_dict()
    del sd["_anneal_func_type"]
    sd["anneal_func"] = lambda a, b, p: a
    s2 = clr_torch.OneCycleLR(o1, 0.1, total_steps=20)
    with pytest.raises(ValueError, match="never runs callables"):
        s2.load_state_dict(sd)


def test_one_cycle_loaded_into_a_differently_built_instance_continues_exactly():
    def run(cls, resume_at):
        o = _opt(momentum=0.9)
        s = cls(o, 0.1, total_steps=60, pct_start=0.25)
        seq = []
        for t in range(60):
            if t == resume_at:
                fresh = cls(o, 1.0, total_steps=30, three_phase=True)
                fresh.load_state_dict(s.state_dict())
                s = fresh
            seq.append(float(o.param_groups[0]["lr"]))
            o.step()
            s.step()
        return seq

    reference = run(tls.OneCycleLR, None)
    assert run(clr_torch.OneCycleLR, 20) == pytest.approx(reference, rel=REL)
    # PyTorch's reads max_lr from the param groups the new instance overwrote
    assert max(abs(a - b) for a, b in zip(run(tls.OneCycleLR, 20), reference, strict=True)) > 0.1


def test_a_state_of_another_kind_is_refused_naming_the_scheduler_to_use():
    o = _opt(momentum=0.9)
    one = clr_torch.OneCycleLR(o, 0.1, total_steps=10)
    cyc = clr_torch.CyclicLR(o, 0.01, 0.1)
    before = cyc.state_dict()
    with pytest.raises(ValueError, match=r"not a CyclicLR's.*ScheduleLR"):
        cyc.load_state_dict(one.state_dict())
    assert cyc.state_dict() == before
    with pytest.raises(ValueError, match="not a OneCycleLR's"):
        one.load_state_dict(before)
    cawr = clr_torch.CosineAnnealingWarmRestarts(o, 5)
    with pytest.raises(ValueError, match="not a CosineAnnealingWarmRestarts'"):
        cawr.load_state_dict(before)
    with pytest.raises(ValueError, match="format"):
        clr_torch.ScheduleLR(o, clr_core.Constant(0.1)).load_state_dict(
            tls.CyclicLR(o, 0.01, 0.1).state_dict()
        )


# --------------------------------------------------------------------------- #
# Attributes, param-group keys, last_epoch, tensors, warnings
# --------------------------------------------------------------------------- #


def test_load_state_dict_restores_pytorchs_public_attributes():
    o = _opt(momentum=0.9)
    a = clr_torch.CyclicLR(
        o,
        [0.01, 0.02],
        [0.1, 0.2],
        6,
        4,
        "exp_range",
        gamma=0.9,
        base_momentum=0.7,
        max_momentum=0.95,
    )
    b = clr_torch.CyclicLR(
        _opt(momentum=0.9), 0.5, 0.9, 3, mode="triangular2", cycle_momentum=False
    )
    b.load_state_dict(a.state_dict())
    attrs = ("mode", "gamma", "scale_mode", "max_lrs", "total_size", "step_ratio", "base_lrs")
    attrs += ("cycle_momentum", "use_beta1", "base_momentums", "max_momentums")
    for attr in attrs:
        assert getattr(b, attr) == getattr(a, attr), attr
    assert (a.mode, a.total_size, a.step_ratio, a.scale_mode) == (
        "exp_range",
        10.0,
        0.6,
        "iterations",
    )
    t = tls.CyclicLR(
        _opt(momentum=0.9),
        [0.01, 0.02],
        [0.1, 0.2],
        6,
        4,
        "exp_range",
        gamma=0.9,
        base_momentum=0.7,
        max_momentum=0.95,
    )
    for attr in attrs:
        assert getattr(a, attr) == getattr(t, attr), attr

    one = clr_torch.OneCycleLR(o, [0.1, 0.2], total_steps=40)
    other = clr_torch.OneCycleLR(_opt(momentum=0.9), 1.0, total_steps=7, cycle_momentum=False)
    other.load_state_dict(one.state_dict())
    for attr in ("total_steps", "max_lrs", "cycle_momentum", "use_beta1", "base_lrs"):
        assert getattr(other, attr) == getattr(one, attr), attr
    assert (other.total_steps, other.cycle_momentum) == (40, True)

    w = clr_torch.CosineAnnealingWarmRestarts(_opt(), 4, 2, eta_min=0.01)
    for _ in range(9):
        w.step()
    v = clr_torch.CosineAnnealingWarmRestarts(_opt(), 100)
    v.load_state_dict(w.state_dict())
    for attr in ("T_0", "T_mult", "eta_min", "T_i", "T_cur", "base_lrs", "last_epoch"):
        assert getattr(v, attr) == getattr(w, attr), attr
    assert (v.T_0, v.T_mult, v.T_i, v.T_cur) == (4, 2, 8, 5)


def test_cawr_t_cur_and_t_i_follow_torch_and_t_cur_moves_the_position():
    o1, o2 = _opt(), _opt()
    s1 = tls.CosineAnnealingWarmRestarts(o1, 3, 2)
    s2 = clr_torch.CosineAnnealingWarmRestarts(o2, 3, 2)
    for t in range(40):
        assert (s2.T_cur, s2.T_i) == (s1.T_cur, s1.T_i), t
        if t == 11:  # jump within the cycle, as code that sets T_cur does
            s1.T_cur = s2.T_cur = 2
        s1.step()
        s2.step()
        assert s2.get_last_lr() == pytest.approx(s1.get_last_lr(), rel=REL)
    with pytest.raises(ValueError, match="T_cur"):
        s2.T_cur = -1


def test_param_group_keys_written_as_torch_does():
    for ours, theirs in (
        (clr_torch.CyclicLR, tls.CyclicLR),
        (
            lambda o, b, m, **k: clr_torch.OneCycleLR(o, m, total_steps=10, **k),
            lambda o, b, m, **k: tls.OneCycleLR(o, m, total_steps=10, **k),
        ),
    ):
        o1, o2 = _opt(momentum=0.9), _opt(momentum=0.9)
        theirs(o1, [0.01, 0.02], [0.1, 0.2], base_momentum=0.8, max_momentum=0.9)
        ours(o2, [0.01, 0.02], [0.1, 0.2], base_momentum=0.8, max_momentum=0.9)
        for g1, g2 in zip(o1.param_groups, o2.param_groups, strict=True):
            assert g1.keys() == g2.keys()
            for key in g1.keys() - {"params"}:
                want = g1[key]
                if isinstance(want, float):
                    want = pytest.approx(want, rel=REL)
                assert g2[key] == want, key


def test_zero_dim_tensor_arguments_are_accepted():
    f = torch.tensor
    o = _opt(torch.optim.Adam)
    s = clr_torch.CyclicLR(
        o, f(0.01), [f(0.1), 0.2], f(4), base_momentum=f(0.8), max_momentum=f(0.9), gamma=f(1.0)
    )
    assert s.max_lrs == pytest.approx([0.1, 0.2])
    assert type(s.max_lrs[0]) is float
    assert s.schedules[0] == clr_core.Triangular(float(f(0.01)), float(f(0.1)), 4)
    s = clr_torch.OneCycleLR(o, f(0.1), total_steps=10, div_factor=f(10.0), base_momentum=f(0.8))
    assert s.get_last_lr() == pytest.approx([0.01, 0.01])
    s = clr_torch.CosineAnnealingWarmRestarts(o, 5, eta_min=f(0.001))
    assert s.eta_min == pytest.approx(0.001)
    with pytest.raises(ValueError, match="one-element tensor"):
        clr_torch.CyclicLR(o, f([0.01, 0.02]), 0.1)


def test_cawr_never_warns_about_the_call_order_as_torch():
    for cls in (tls.CosineAnnealingWarmRestarts, clr_torch.CosineAnnealingWarmRestarts):
        o = _opt()
        s = cls(o, 5)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for _ in range(3):
                s.step()  # no optimizer.step() at all
            s.step(7.5)


def test_off_by_one_resume_of_the_issue_is_gone():
    # torch's checkpoint rule, rebuilt with last_epoch = saved last_epoch - 1
    def seq(cls):
        o = _opt(momentum=0.9)
        s = cls(o, 0.01, 0.1, step_size_up=4)
        for _ in range(3):
            o.step()
            s.step()
        o2 = _opt(momentum=0.9)
        o2.load_state_dict(o.state_dict())
        s2 = cls(o2, 0.01, 0.1, step_size_up=4, last_epoch=s.last_epoch - 1)
        out = []
        for _ in range(3):
            out.append(float(o2.param_groups[0]["lr"]))
            o2.step()
            s2.step()
        return out

    assert seq(clr_torch.CyclicLR) == seq(tls.CyclicLR) == pytest.approx([0.0775, 0.1, 0.0775])


def test_cawr_resume_with_last_epoch_lands_in_the_right_cycle():
    # torch wraps T_cur once when rebuilt with last_epoch >= T_0 and T_mult > 1; the
    # closed form lands where the uninterrupted run is
    o = _opt()
    s = clr_torch.CosineAnnealingWarmRestarts(o, 2, 2)
    for _ in range(9):
        s.step()
    o2 = _opt()
    o2.load_state_dict(o.state_dict())
    s2 = clr_torch.CosineAnnealingWarmRestarts(o2, 2, 2, last_epoch=8)
    assert (s2.T_cur, s2.T_i) == (s.T_cur, s.T_i) == (3, 8)
    assert s2.get_last_lr() == s.get_last_lr()
    t = tls.CosineAnnealingWarmRestarts(o2, 2, 2, last_epoch=8)
    assert (t.T_cur, t.T_i) == (1, 4)  # torch's


# --------------------------------------------------------------------------- #
# The deliberate differences of docs/torch.md, each pinned
# --------------------------------------------------------------------------- #


def test_difference_one_cycle_of_one_step_is_refused():
    tls.OneCycleLR(_opt(momentum=0.9), 0.1, total_steps=1)  # PyTorch accepts it
    with pytest.raises(ValueError, match="total_steps"):
        clr_torch.OneCycleLR(_opt(momentum=0.9), 0.1, total_steps=1)


def test_difference_one_cycle_never_reads_its_param_group_keys_back():
    o = _opt(momentum=0.9)
    s = clr_torch.OneCycleLR(o, 0.1, total_steps=20)
    expected = [s.schedules[0](t) for t in range(1, 6)]
    for group in o.param_groups:
        group["max_lr"] = 5.0  # PyTorch's would follow this
    got = []
    for _ in range(5):
        o.step()
        s.step()
        got.append(s.get_last_lr()[0])
    assert got == expected


def test_difference_setting_t_cur_past_t_i_counts_into_the_next_cycles():
    s = clr_torch.CosineAnnealingWarmRestarts(_opt(), 2, 2)  # cycles 2, 4, 8, ...
    s.T_cur = 5  # at step 0: position 5 is step 3 of the 4-step cycle
    s.step()
    assert (s.T_cur, s.T_i) == (0, 8)
    t = tls.CosineAnnealingWarmRestarts(_opt(), 2, 2)
    t.T_cur = 5
    t.step()
    assert (t.T_cur, t.T_i) == (0, 4)  # PyTorch: (5 + 1) % 2 in a cycle of 4


def test_difference_step_with_an_epoch_does_not_warn():
    o = _opt(momentum=0.9)
    s = clr_torch.CyclicLR(o, 0.01, 0.1, 4)
    o.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s.step(6)
    assert s.get_last_lr() == [s.schedules[0](6), s.schedules[1](6)]
    t = tls.CyclicLR(_opt(momentum=0.9), 0.01, 0.1, 4)
    with pytest.warns(UserWarning, match="epoch parameter"):
        t.step(6)


def test_difference_tensor_rates_give_float_last_rates_and_are_filled_in_place():
    lr = torch.tensor(0.5)
    o = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr, momentum=0.9)
    s = clr_torch.CyclicLR(o, torch.tensor(0.01), 0.1, 4)
    o.step()
    s.step()
    assert type(s.get_last_lr()[0]) is float
    assert o.param_groups[0]["lr"] is lr
    assert float(lr) == pytest.approx(s.get_last_lr()[0])


def test_difference_step_sizes_are_whole_steps():
    tls.CyclicLR(_opt(momentum=0.9), 0.01, 0.1, 2.5)  # PyTorch accepts it
    clr_torch.CyclicLR(_opt(momentum=0.9), 0.01, 0.1, 2000.0)
    with pytest.raises(ValueError, match="step_size_up"):
        clr_torch.CyclicLR(_opt(momentum=0.9), 0.01, 0.1, 2.5)


def test_difference_cawr_floor_above_the_peak_is_refused():
    tls.CosineAnnealingWarmRestarts(_opt(), 5, eta_min=1.0)  # PyTorch accepts it
    with pytest.raises(ValueError, match="eta_min"):
        clr_torch.CosineAnnealingWarmRestarts(_opt(), 5, eta_min=1.0)


class _Lion(torch.optim.Optimizer):
    """An optimizer outside the mapping with PyTorch's 'betas' in its defaults."""

    def __init__(self, params):
        super().__init__(params, {"lr": 0.1, "betas": (0.9, 0.99)})

    def step(self, closure=None):
        return None


def test_difference_momentum_of_an_unmapped_optimizer_follows_torchs_rule():
    o1, o2 = (
        _Lion([torch.nn.Parameter(torch.zeros(1))]),
        _Lion([torch.nn.Parameter(torch.zeros(1))]),
    )
    tls.CyclicLR(o1, 0.01, 0.1, 4, max_momentum=0.95)
    s = clr_torch.CyclicLR(o2, 0.01, 0.1, 4, max_momentum=0.95)
    assert s.momentum_key == "betas"
    assert o2.param_groups[0]["betas"] == o1.param_groups[0]["betas"] == (0.95, 0.99)
    o3 = _Lion([torch.nn.Parameter(torch.zeros(1))])
    o3.param_groups[0]["betas"] = "not a momentum"
    with pytest.raises(ValueError, match="momentum_key"):
        clr_torch.CyclicLR(o3, 0.01, 0.1, 4)


def test_difference_one_cycle_at_total_steps_holds_where_torch_extrapolates():
    # torch evaluates step total_steps past the last phase's end: a cos anneal rises
    # again, a three-phase linear one goes below zero; clr_torch holds the final rate
    for kw in ({}, {"three_phase": True, "anneal_strategy": "linear"}):
        o1, o2 = _opt(momentum=0.9), _opt(momentum=0.9)
        s1 = tls.OneCycleLR(o1, 0.1, total_steps=10, **kw)
        s2 = clr_torch.OneCycleLR(o2, 0.1, total_steps=10, **kw)
        for _ in range(9):
            for o, s in ((o1, s1), (o2, s2)):
                o.step()
                s.step()
        final = s2.get_last_lr()
        assert final == pytest.approx(s1.get_last_lr(), rel=1e-9)
        for o, s in ((o1, s1), (o2, s2)):
            o.step()
            s.step()
        assert s2.get_last_lr() == final
        assert o2.param_groups[0]["momentum"] == 0.95
        if kw:
            assert s1.get_last_lr()[0] < 0.0
        else:
            assert s1.get_last_lr()[0] > 100 * final[0]
            assert o1.param_groups[0]["momentum"] < 0.95


@pytest.mark.parametrize(
    ("build", "torch_does", "ours"),
    [
        # torch accepts arguments that describe no valid schedule
        (lambda M, o: M.CyclicLR(o, 0.2, 0.1), None, ValueError),  # base_lr > max_lr
        (lambda M, o: M.CyclicLR(o, -0.1, 0.1), None, ValueError),  # a negative rate
        (lambda M, o: M.CyclicLR(o, 0.01, 0.1, base_momentum=0.95), None, ValueError),
        (lambda M, o: M.CyclicLR(o, 0.01, 0.1, cycle_momentum=None), None, TypeError),
        (lambda M, o: M.OneCycleLR(o, -0.1, total_steps=10), None, ValueError),
        (lambda M, o: M.OneCycleLR(o, 0.1, total_steps=10, pct_start=0.0), None, ValueError),
        (lambda M, o: M.OneCycleLR(o, 0.1, total_steps=10, pct_start=1.0), None, ValueError),
        (lambda M, o: M.OneCycleLR(o, 0.1, total_steps=10, pct_start=0.01), None, ValueError),
        (lambda M, o: M.OneCycleLR(o, 0.1, total_steps=10, three_phase=None), None, TypeError),
        (lambda M, o: M.CosineAnnealingWarmRestarts(o, 3, eta_min=-0.1), None, ValueError),
        # torch refuses whole floats; clr_torch counts them as the steps they are
        (lambda M, o: M.OneCycleLR(o, 0.1, total_steps=10.0), ValueError, None),
        (lambda M, o: M.CosineAnnealingWarmRestarts(o, 3.0), ValueError, None),
        (lambda M, o: M.CosineAnnealingWarmRestarts(o, 3, 2.0), ValueError, None),
        (
            lambda M, o: M.CosineAnnealingWarmRestarts(o, 3, eta_min=torch.tensor(0.0)),
            ValueError,
            None,
        ),
        # another exception class
        (lambda M, o: M.CosineAnnealingWarmRestarts(o, 3, eta_min="0"), ValueError, TypeError),
        (lambda M, o: M.CosineAnnealingWarmRestarts(o, True), None, TypeError),
        (
            lambda M, o: M.OneCycleLR(o, 0.1, total_steps=10, div_factor=0),
            ZeroDivisionError,
            ValueError,
        ),
        (lambda M, o: M.OneCycleLR(o, 0.1, total_steps=10, pct_start="0.3"), ValueError, TypeError),
    ],
)
def test_difference_argument_validation(build, torch_does, ours):
    for impl, expected in ((tls, torch_does), (clr_torch, ours)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if expected is None:
                build(impl, _opt(momentum=0.9))
            else:
                with pytest.raises(expected):
                    build(impl, _opt(momentum=0.9))


@pytest.mark.filterwarnings("ignore:The epoch parameter")
def test_difference_step_with_an_epoch_sets_last_epoch_to_its_floor():
    for cls, args in ((tls.CyclicLR, (0.01, 0.1, 4)), (clr_torch.CyclicLR, (0.01, 0.1, 4))):
        o = _opt(momentum=0.9)
        s = cls(o, *args)
        o.step()
        s.step(2.5)
        assert s.get_last_lr()[0] == pytest.approx(0.06625, rel=1e-12)  # the rate at 2.5
        assert s.last_epoch == (2.5 if cls is tls.CyclicLR else 2)
        if cls is tls.CyclicLR:
            s.step(-3)  # torch evaluates a negative epoch
        else:
            with pytest.raises(ValueError, match="epoch"):
                s.step(-3)
    for cls in (tls.CosineAnnealingWarmRestarts, clr_torch.CosineAnnealingWarmRestarts):
        s = cls(_opt(), 3)
        s.step(6.0)  # torch keeps the float it computed; clr_torch a whole T_cur as int
        assert s.T_cur == 0
        assert type(s.T_cur) is (float if cls is tls.CosineAnnealingWarmRestarts else int)


def test_difference_get_lr_outside_step_does_not_warn():
    for cls in (tls.CyclicLR, clr_torch.CyclicLR):
        o = _opt(momentum=0.9)
        s = cls(o, 0.01, 0.1, 4)
        o.step()
        s.step()
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            assert s.get_lr() == pytest.approx(s.get_last_lr(), rel=1e-12)
        warned = [w for w in record if "get_last_lr()" in str(w.message)]
        assert bool(warned) is (cls is tls.CyclicLR)


def test_difference_extra_public_attributes():
    for impl in (tls, clr_torch):
        one = impl.OneCycleLR(_opt(), [0.1, 0.2], total_steps=10, cycle_momentum=False)
        cyc = impl.CyclicLR(_opt(), 0.01, 0.1, cycle_momentum=False)
        sgdr = impl.CosineAnnealingWarmRestarts(_opt(), 3)
        extra = impl is clr_torch
        assert hasattr(one, "max_lrs") is extra
        assert hasattr(one, "use_beta1") is extra
        assert hasattr(cyc, "use_beta1") is extra
        assert hasattr(cyc, "base_momentums") is False
        assert hasattr(sgdr, "decay") is extra
    assert (one.max_lrs, one.use_beta1, cyc.use_beta1, sgdr.decay) == (
        [0.1, 0.2],
        False,
        False,
        1.0,
    )


@pytest.mark.parametrize("name", ["CyclicLR", "OneCycleLR", "CosineAnnealingWarmRestarts"])
def test_difference_a_param_group_added_later_is_left_alone(name):
    args = {
        "CyclicLR": (0.01, 0.1, 3),
        "OneCycleLR": (0.1, 10),
        "CosineAnnealingWarmRestarts": (3, 2),
    }[name]
    for impl in (tls, clr_torch):
        o = _opt(momentum=0.9)
        s = getattr(impl, name)(o, *args)
        o.step()
        s.step()
        o.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.5})
        o.step()
        if impl is tls:
            with pytest.raises((ValueError, KeyError)):  # zip(strict=True) / 'initial_lr'
                s.step()
        else:
            s.step()
            assert len(s.get_last_lr()) == 2
            assert o.param_groups[2]["lr"] == 0.5
            assert [g["lr"] for g in o.param_groups[:2]] == s.get_last_lr()


_DESCRIBED = {
    "CyclicLR": ["base_lrs", "max_lrs", "total_size", "step_ratio", "mode", "gamma",
                 "scale_mode", "cycle_momentum", "use_beta1", "base_momentums", "max_momentums"],
    "OneCycleLR": ["base_lrs", "total_steps", "max_lrs", "cycle_momentum", "use_beta1"],
    "CosineAnnealingWarmRestarts": ["base_lrs", "T_0", "T_mult", "eta_min", "decay"],
}  # fmt: skip


def _built(impl, name, o):
    if name == "CyclicLR":
        return impl.CyclicLR(o, 0.01, 0.1, 3, mode="exp_range", gamma=0.99)
    if name == "OneCycleLR":
        return impl.OneCycleLR(o, 0.1, total_steps=10)
    return impl.CosineAnnealingWarmRestarts(o, 3)


def test_difference_assigning_an_attribute_that_describes_the_schedules_is_refused():
    # PyTorch reads base_lrs, max_lrs, eta_min... back at every step, so assigning one
    # changes its rates; ours describe the schedules (values), so an assignment that would
    # be ignored is refused instead, and changes nothing
    for name, attrs in _DESCRIBED.items():
        o = _opt(momentum=0.9)
        s = _built(clr_torch, name, o)
        o.step()
        s.step()
        before = (s.state_dict(), [dict(g, params=None) for g in o.param_groups])
        for attr in attrs:
            if not hasattr(s, attr):  # PyTorch sets some only with momentum cycling
                continue
            value = getattr(s, attr)
            with pytest.raises(AttributeError, match=rf"{name}\.{attr} describes the schedules"):
                setattr(s, attr, value)
            assert getattr(s, attr) == value
        assert (s.state_dict(), [dict(g, params=None) for g in o.param_groups]) == before
        # still a plain attribute to read, as in PyTorch's __dict__
        theirs = _built(tls, name, _opt(momentum=0.9))
        shared = [a for a in attrs if a in vars(theirs)]
        assert shared, name
        assert all(a in vars(s) for a in shared), name


def test_describing_attributes_follow_a_loaded_state():
    # load_state_dict may still set them: they describe the schedules it loads
    o = _opt(momentum=0.9)
    s = clr_torch.CyclicLR(o, 0.01, 0.1, 3)
    other = clr_torch.CyclicLR(_opt(momentum=0.9), 0.02, 0.5, 5)
    s.load_state_dict(other.state_dict())
    assert s.max_lrs == [0.5, 0.5]
    assert s.total_size == 10.0
    with pytest.raises(AttributeError, match="max_lrs"):
        s.max_lrs = [0.1, 0.1]
    with pytest.raises(AttributeError, match="T_i"):  # a property: read-only as before
        clr_torch.CosineAnnealingWarmRestarts(_opt(), 3).T_i = 5
