"""PyTorch's own test cases for CyclicLR, OneCycleLR and CosineAnnealingWarmRestarts.

Every case of ``test/optim/test_lrscheduler.py`` (pytorch/pytorch) that builds one
of the three classes is re-created here with its expected values, and runs
against torch's classes *and* clr_torch's (the ``impl`` parameter), so the
expected values are proved to be torch's and clr_torch is held to them.

Two kinds of case differ, as listed in docs/torch.md ("Differences from
torch.optim.lr_scheduler"):

* momentum bounds above 1 (PyTorch uses 1..5 and 1..22 as markers): clr_torch
  refuses them, so these cases divide the momentum bounds by ``K`` and multiply
  the momentum read back by ``K``, leaving torch's expected values unchanged.
  torch's classes run both the original bounds and the divided ones.
* tests of private attributes (``_scale_fn_ref``, ``_scale_fn_custom``,
  ``_anneal_func_type``): the public part runs on both; the private part runs on
  torch's, and clr_torch's equivalent (a registered Scale, a migrated legacy
  state) runs on clr_torch's.
"""

from __future__ import annotations

import copy
import dataclasses
import gc
import json
import math
import pickle
import tempfile
import types
import warnings
import weakref
from functools import partial
from types import SimpleNamespace

import pytest
import torch
from torch.nn import functional as F
from torch.optim import SGD, Adam, Rprop
from torch.optim import lr_scheduler as tls

import clr_core
import clr_torch

IMPLS = {
    "torch": SimpleNamespace(
        name="torch",
        CyclicLR=tls.CyclicLR,
        OneCycleLR=tls.OneCycleLR,
        CosineAnnealingWarmRestarts=tls.CosineAnnealingWarmRestarts,
    ),
    "clr": SimpleNamespace(
        name="clr",
        CyclicLR=clr_torch.CyclicLR,
        OneCycleLR=clr_torch.OneCycleLR,
        CosineAnnealingWarmRestarts=clr_torch.CosineAnnealingWarmRestarts,
    ),
}
#: momentum bounds are divided by K where PyTorch's exceed 1 (22 / K = 0.22)
K = 100
#: (implementation, momentum divisor): torch runs PyTorch's bounds and the divided ones
MOMENTUM_RUNS = [("torch", 1), ("torch", K), ("clr", K)]
ATOL = 1e-5  # PyTorch's tolerance in these tests (rtol=0)


@pytest.fixture(params=sorted(IMPLS))
def impl(request):
    return IMPLS[request.param]


@clr_core.register
@dataclasses.dataclass(frozen=True)
class LrSchedulerCaseScale(clr_core.Scale):
    """PyTorch's test scale ``lambda _: 0.5`` (its ``ScaleFn`` with ``x = 0.5``), as a value."""

    x: float = 0.5

    def factor(self, x, xp):
        return self.x


class SchedulerTestNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 1, 1)
        self.conv2 = torch.nn.Conv2d(1, 1, 1)

    def forward(self, x):
        return self.conv2(F.relu(self.conv1(x)))


@pytest.fixture
def net():
    return SchedulerTestNet()


@pytest.fixture
def opt(net):
    # PyTorch's setUp: two groups, the second with a tensor rate
    return SGD(
        [
            {"params": net.conv1.parameters()},
            {"params": net.conv2.parameters(), "lr": torch.tensor(0.5)},
        ],
        lr=0.05,
    )


def _two_groups(net, cls=Adam):
    return cls(
        [{"params": net.conv1.parameters()}, {"params": net.conv2.parameters(), "lr": 0.5}],
        lr=0.05,
    )


def _close(actual, expected, atol=ATOL, rtol=0.0):
    return float(actual) == pytest.approx(float(expected), abs=atol, rel=rtol)


def _same(a, b):
    """PyTorch's assertEqual for the values a scheduler holds (float32 tolerances)."""
    if isinstance(a, (torch.Tensor, float, int)) and isinstance(b, (torch.Tensor, float, int)):
        return _close(a, b, atol=1e-5, rtol=1.3e-6)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def _no_call_order_warning(record):
    return not [w for w in record if "lr_scheduler.step()" in str(w.message)]


def _check_cycle(opt, scheduler, lr_targets, momentum_targets, n, *, k=1, use_beta1=False):
    """PyTorch's _test_cycle_lr; momenta read back are multiplied by ``k``."""
    for i in range(n):
        for group, lr_target, momentum_target in zip(
            opt.param_groups, lr_targets, momentum_targets, strict=True
        ):
            assert _close(group["lr"], lr_target[i]), (i, group["lr"], lr_target[i])
            if use_beta1 and "betas" in group:
                assert _close(group["betas"][0] * k, momentum_target[i]), i
            elif "momentum" in group:
                assert _close(group["momentum"] * k, momentum_target[i]), i
        opt.step()
        scheduler.step()


def _check_lr(opt, scheduler, targets, epochs):
    """PyTorch's _test (no optimizer step): rates only, and never a call-order warning."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for epoch in range(epochs):
            for group, target in zip(opt.param_groups, targets, strict=True):
                assert _close(group["lr"], target[epoch]), epoch
            scheduler.step()
    assert _no_call_order_warning(record)


# --------------------------------------------------------------------------- #
# CyclicLR
# --------------------------------------------------------------------------- #

TRI = [1, 2, 3, 4, 5, 4, 3, 2, 1, 2, 3]
TRI_MOM = [5, 4, 3, 2, 1, 2, 3, 4, 5, 4, 3]
TRI2 = [1, 2, 3, 4, 5, 4, 3, 2, 1, 1.5, 2.0, 2.5, 3.0, 2.5, 2.0, 1.5, 1, 1.25, 1.50, 1.75, 2.00]
TRI2 += [1.75]
TRI2_MOM = [5.0, 4.0, 3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 5.0, 4.5, 4.0, 3.5, 3.0, 3.5, 4.0, 4.5, 5.0]
TRI2_MOM += [4.75, 4.5, 4.25, 4.0, 4.25]
XS = [0, 0.25, 0.5, 0.75, 1, 0.75, 0.50, 0.25, 0, 0.25, 0.5, 0.75, 1]


def test_cycle_lr_invalid_mode(impl, opt):
    with pytest.raises(ValueError):
        impl.CyclicLR(opt, base_lr=0, max_lr=0, mode="CATS")


@pytest.mark.parametrize(("impl_name", "k"), MOMENTUM_RUNS)
def test_cycle_lr_triangular_mode_one_lr(impl_name, k, opt):
    scheduler = IMPLS[impl_name].CyclicLR(
        opt,
        base_lr=1,
        max_lr=5,
        step_size_up=4,
        cycle_momentum=True,
        base_momentum=1 / k,
        max_momentum=5 / k,
        mode="triangular",
    )
    _check_cycle(opt, scheduler, [TRI, TRI], [TRI_MOM, TRI_MOM], len(TRI), k=k)


def test_cycle_lr_triangular_mode_one_lr_no_momentum(impl, opt):
    momentum = [opt.defaults["momentum"]] * len(TRI)
    scheduler = impl.CyclicLR(
        opt, base_lr=1, max_lr=5, step_size_up=4, cycle_momentum=False, mode="triangular"
    )
    _check_cycle(opt, scheduler, [TRI, TRI], [momentum, momentum], len(TRI))


@pytest.mark.parametrize(("impl_name", "k"), MOMENTUM_RUNS)
def test_cycle_lr_triangular2_mode_one_lr(impl_name, k, opt):
    scheduler = IMPLS[impl_name].CyclicLR(
        opt,
        base_lr=1,
        max_lr=5,
        step_size_up=4,
        cycle_momentum=True,
        base_momentum=1 / k,
        max_momentum=5 / k,
        mode="triangular2",
    )
    _check_cycle(opt, scheduler, [TRI2, TRI2], [TRI2_MOM, TRI2_MOM], len(TRI2), k=k)


@pytest.mark.parametrize(("impl_name", "k"), MOMENTUM_RUNS)
def test_cycle_lr_exp_range_mode_one_lr(impl_name, k, opt):
    base_lr, max_lr, gamma = 1, 5, 0.9
    lr_target = [base_lr + x * (max_lr - base_lr) * gamma**i for i, x in enumerate(XS)]
    momentum_target = [max_lr - x * (max_lr - base_lr) * gamma**i for i, x in enumerate(XS)]
    scheduler = IMPLS[impl_name].CyclicLR(
        opt,
        base_lr=base_lr,
        max_lr=max_lr,
        step_size_up=4,
        cycle_momentum=True,
        base_momentum=base_lr / k,
        max_momentum=max_lr / k,
        mode="exp_range",
        gamma=gamma,
    )
    _check_cycle(opt, scheduler, [lr_target] * 2, [momentum_target] * 2, len(lr_target), k=k)


@pytest.mark.parametrize(("impl_name", "k"), MOMENTUM_RUNS)
def test_cycle_lr_triangular_mode(impl_name, k, opt):
    scheduler = IMPLS[impl_name].CyclicLR(
        opt,
        base_lr=[1, 2],
        max_lr=[5, 6],
        step_size_up=4,
        cycle_momentum=True,
        base_momentum=[1 / k, 2 / k],
        max_momentum=[5 / k, 6 / k],
        mode="triangular",
    )
    _check_cycle(
        opt,
        scheduler,
        [TRI, [x + 1 for x in TRI]],
        [TRI_MOM, [x + 1 for x in TRI_MOM]],
        len(TRI),
        k=k,
    )


@pytest.mark.parametrize(("impl_name", "k"), MOMENTUM_RUNS)
def test_cycle_lr_triangular2_mode(impl_name, k, opt):
    scheduler = IMPLS[impl_name].CyclicLR(
        opt,
        base_lr=[1, 3],
        max_lr=[5, 7],
        step_size_up=4,
        cycle_momentum=True,
        base_momentum=[1 / k, 3 / k],
        max_momentum=[5 / k, 7 / k],
        mode="triangular2",
    )
    _check_cycle(
        opt,
        scheduler,
        [TRI2, [x + 2 for x in TRI2]],
        [TRI2_MOM, [x + 2 for x in TRI2_MOM]],
        len(TRI2),
        k=k,
    )


@pytest.mark.parametrize(("impl_name", "k"), MOMENTUM_RUNS)
def test_cycle_lr_exp_range_mode(impl_name, k, opt):
    (b1, m1), (b2, m2), gamma = (1, 5), (5, 12), 0.9
    lr_targets = [
        [b + x * (m - b) * gamma**i for i, x in enumerate(XS)] for b, m in ((b1, m1), (b2, m2))
    ]
    momentum_targets = [
        [m - x * (m - b) * gamma**i for i, x in enumerate(XS)] for b, m in ((b1, m1), (b2, m2))
    ]
    scheduler = IMPLS[impl_name].CyclicLR(
        opt,
        base_lr=[b1, b2],
        max_lr=[m1, m2],
        step_size_up=4,
        cycle_momentum=True,
        base_momentum=[b1 / k, b2 / k],
        max_momentum=[m1 / k, m2 / k],
        mode="exp_range",
        gamma=gamma,
    )
    _check_cycle(opt, scheduler, lr_targets, momentum_targets, len(XS), k=k)


@pytest.mark.parametrize(("impl_name", "k"), MOMENTUM_RUNS)
def test_cycle_lr_triangular_mode_step_size_up_down(impl_name, k, opt):
    lr_target = [1.0, 2.0, 3.0, 4.0, 5.0, 13.0 / 3, 11.0 / 3, 9.0 / 3, 7.0 / 3, 5.0 / 3, 1.0]
    momentum_target = [5.0, 4.0, 3.0, 2.0, 1.0, 5.0 / 3, 7.0 / 3, 3.0, 11.0 / 3, 13.0 / 3, 5.0]
    scheduler = IMPLS[impl_name].CyclicLR(
        opt,
        base_lr=1,
        max_lr=5,
        step_size_up=4,
        step_size_down=6,
        cycle_momentum=True,
        base_momentum=1 / k,
        max_momentum=5 / k,
        mode="triangular",
    )
    _check_cycle(opt, scheduler, [lr_target] * 2, [momentum_target] * 2, len(lr_target), k=k)


@pytest.mark.parametrize(("impl_name", "k"), MOMENTUM_RUNS)
def test_cycle_lr_triangular2_mode_step_size_up_down(impl_name, k, opt):
    lr_base = [1.0, 3.0, 5.0, 13.0 / 3, 11.0 / 3, 9.0 / 3, 7.0 / 3, 5.0 / 3, 1.0, 2.0, 3.0]
    lr_base += [8.0 / 3, 7.0 / 3, 6.0 / 3, 5.0 / 3, 4.0 / 3, 1.0, 3.0 / 2, 2.0, 11.0 / 6]
    lr_base += [10.0 / 6, 9.0 / 6, 8.0 / 6, 7.0 / 6]
    mom_base = [5.0, 3.0, 1.0, 5.0 / 3, 7.0 / 3, 3.0, 11.0 / 3, 13.0 / 3, 5.0, 4.0, 3.0]
    mom_base += [10.0 / 3, 11.0 / 3, 4.0, 13.0 / 3, 14.0 / 3, 5.0, 4.5, 4.0, 25.0 / 6]
    mom_base += [13.0 / 3, 4.5, 14.0 / 3, 29.0 / 6]
    deltas = [2 * i for i in range(2)]
    base_lrs = [1 + d for d in deltas]
    max_lrs = [5 + d for d in deltas]
    scheduler = IMPLS[impl_name].CyclicLR(
        opt,
        base_lr=base_lrs,
        max_lr=max_lrs,
        step_size_up=2,
        step_size_down=6,
        cycle_momentum=True,
        base_momentum=[b / k for b in base_lrs],
        max_momentum=[m / k for m in max_lrs],
        mode="triangular2",
    )
    _check_cycle(
        opt,
        scheduler,
        [[x + d for x in lr_base] for d in deltas],
        [[x + d for x in mom_base] for d in deltas],
        len(lr_base),
        k=k,
    )


@pytest.mark.parametrize(("impl_name", "k"), MOMENTUM_RUNS)
def test_cycle_lr_exp_range_mode_step_size_up_down(impl_name, k, opt):
    base_lr, max_lr, gamma = 1, 5, 0.9
    xs = [0.0, 0.5, 1.0, 5.0 / 6, 4.0 / 6, 3.0 / 6, 2.0 / 6, 1.0 / 6, 0.0, 0.5, 1.0, 5.0 / 6]
    xs += [4.0 / 6]
    lr_target = [base_lr + x * (max_lr - base_lr) * gamma**i for i, x in enumerate(xs)]
    momentum_target = [max_lr - x * (max_lr - base_lr) * gamma**i for i, x in enumerate(xs)]
    scheduler = IMPLS[impl_name].CyclicLR(
        opt,
        base_lr=base_lr,
        max_lr=max_lr,
        step_size_up=2,
        step_size_down=6,
        cycle_momentum=True,
        base_momentum=base_lr / k,
        max_momentum=max_lr / k,
        mode="exp_range",
        gamma=gamma,
    )
    _check_cycle(opt, scheduler, [lr_target] * 2, [momentum_target] * 2, len(lr_target), k=k)


def test_cycle_lr_with_momentumless_optimizer(impl, net):
    adam = _two_groups(net)
    scheduler = impl.CyclicLR(
        adam, base_lr=1, max_lr=5, step_size_up=4, cycle_momentum=False, mode="triangular"
    )
    _check_cycle(adam, scheduler, [TRI, TRI], [[None] * len(TRI)] * 2, len(TRI))
    assert [g["betas"] for g in adam.param_groups] == [(0.9, 0.999)] * 2  # untouched


def test_cycle_lr_cycle_momentum_fail_with_momentumless_optimizer(impl, net):
    with pytest.raises(ValueError):
        impl.CyclicLR(Rprop(net.parameters()), base_lr=1, max_lr=5, cycle_momentum=True)


def test_cycle_lr_cycle_momentum_with_beta1_optimizer(impl, net):
    adam = Adam(net.parameters())
    impl.CyclicLR(adam, base_lr=1, max_lr=5, cycle_momentum=True)
    assert adam.param_groups[0]["betas"] == (0.9, 0.999)  # max_momentum into beta1


def test_cycle_lr_removed_after_out_of_scope(impl, net):
    gc.disable()
    try:

        def build():
            adam = Adam(net.parameters())
            scheduler = impl.CyclicLR(adam, base_lr=1, max_lr=5, cycle_momentum=False)
            return weakref.ref(scheduler)

        ref = build()
        assert ref() is None  # no reference cycle keeps it alive
    finally:
        gc.enable()


def test_cycle_lr_state_dict_picklable(impl, net):
    """Private-attribute test (``_scale_fn_ref``, ``_scale_fn_custom``): see the module doc."""
    adam = Adam(net.parameters())
    # Case 1: built-in mode (public part: the state pickles)
    scheduler = impl.CyclicLR(adam, base_lr=1, max_lr=5, cycle_momentum=False)
    state = scheduler.state_dict()
    pickle.dumps(state)

    class ScaleFn:
        def __init__(self) -> None:
            self.x = 0.5

        def __call__(self, _):
            return self.x

    def scale_fn(_):
        return 0.5

    if impl.name == "torch":
        assert isinstance(scheduler._scale_fn_ref, types.FunctionType)
        assert "_scale_fn_ref" not in state
        assert state["_scale_fn_custom"] is None
        # Case 2: custom `scale_fn`, a function object: not saved
        scheduler = impl.CyclicLR(
            adam, base_lr=1, max_lr=5, cycle_momentum=False, scale_fn=scale_fn
        )
        state = scheduler.state_dict()
        assert "_scale_fn_ref" not in state
        assert state["_scale_fn_custom"] is None
        pickle.dumps(state)
        # Case 3: custom `scale_fn`, a callable class: its __dict__ is saved
        fn = ScaleFn()
        scheduler = impl.CyclicLR(adam, base_lr=1, max_lr=5, cycle_momentum=False, scale_fn=fn)
        state = scheduler.state_dict()
        assert "_scale_fn_ref" not in state
        assert state["_scale_fn_custom"] == fn.__dict__
        pickle.dumps(state)
        return
    # clr_torch: the state is plain JSON data, with no callable anywhere
    json.dumps(state)
    # Case 2: a function is refused, saying how to write a Scale
    with pytest.raises(TypeError, match=r"clr_core\.register"):
        impl.CyclicLR(adam, base_lr=1, max_lr=5, cycle_momentum=False, scale_fn=scale_fn)
    with pytest.raises(TypeError, match=r"clr_core\.Scale"):
        impl.CyclicLR(adam, base_lr=1, max_lr=5, cycle_momentum=False, scale_fn=ScaleFn())
    # Case 3: the callable class as a registered Scale: saved as its config
    scheduler = impl.CyclicLR(
        adam, base_lr=1, max_lr=5, cycle_momentum=False, scale_fn=LrSchedulerCaseScale(0.5)
    )
    state = scheduler.state_dict()
    assert state["schedules"][0]["scale"] == {"type": "LrSchedulerCaseScale", "x": 0.5}
    assert pickle.loads(pickle.dumps(state)) == json.loads(json.dumps(state))


def test_cycle_lr_scale_fn_restored_from_state_dict(impl, net):
    """Private-attribute test (``_scale_fn_ref``, ``_scale_fn_custom``): see the module doc."""
    adam = Adam(net.parameters())
    # Case 1: built-in mode
    scheduler = impl.CyclicLR(adam, base_lr=1, max_lr=5, cycle_momentum=False, mode="triangular2")
    restored = impl.CyclicLR(adam, base_lr=1, max_lr=5, cycle_momentum=False)
    restored.load_state_dict(scheduler.state_dict())
    assert restored.mode == scheduler.mode == "triangular2"
    assert [restored.scale_fn(c) for c in (1, 2, 3)] == [1.0, 0.5, 0.25]
    if impl.name == "torch":
        assert restored._scale_fn_ref is not None
        assert scheduler._scale_fn_ref is not None
        assert restored._scale_fn_custom is None
        assert scheduler._scale_fn_custom is None

        # Case 2: custom `scale_fn`
        def scale_fn(_):
            return 0.5

        scheduler = impl.CyclicLR(
            adam, base_lr=1, max_lr=5, cycle_momentum=False, scale_fn=scale_fn
        )
        restored = impl.CyclicLR(adam, base_lr=1, max_lr=5, cycle_momentum=False, scale_fn=scale_fn)
        restored.load_state_dict(scheduler.state_dict())
        assert scheduler._scale_fn_custom is scale_fn
        assert restored._scale_fn_custom is scale_fn
        return
    assert restored.schedules == scheduler.schedules
    # Case 2: the custom scale, as a Scale value, comes back from the state itself
    scale = LrSchedulerCaseScale(0.5)
    scheduler = impl.CyclicLR(adam, base_lr=1, max_lr=5, cycle_momentum=False, scale_fn=scale)
    restored = impl.CyclicLR(adam, base_lr=1, max_lr=5, cycle_momentum=False)
    restored.load_state_dict(scheduler.state_dict())
    assert restored.scale_fn(7) == scheduler.scale_fn(7) == 0.5
    assert restored.schedules == scheduler.schedules


# --------------------------------------------------------------------------- #
# OneCycleLR
# --------------------------------------------------------------------------- #


def _annealing_cos(start, end, pct):
    cos_out = math.cos(math.pi * pct) + 1
    return end + (start - end) / 2.0 * cos_out


ONE_CYCLE_COS_LR = [1, 13, 25] + [_annealing_cos(25, 0.5, i / 7.0) for i in range(1, 7)] + [0.5]
ONE_CYCLE_COS_MOM = [22, 11.5, 1] + [_annealing_cos(1, 22, i / 7.0) for i in range(1, 7)] + [22]
ONE_CYCLE_LIN_LR = [1, 13, 25, 21.5, 18, 14.5, 11, 7.5, 4, 0.5]
ONE_CYCLE_LIN_MOM = [22, 11.5, 1, 4, 7, 10, 13, 16, 19, 22]


def test_onecycle_lr_invalid_anneal_strategy(impl, opt):
    with pytest.raises(ValueError):
        impl.OneCycleLR(opt, max_lr=1e-3, total_steps=10, anneal_strategy="CATS")


def test_onecycle_lr_invalid_pct_start(impl, opt):
    with pytest.raises(ValueError):
        impl.OneCycleLR(opt, max_lr=1e-3, total_steps=10, pct_start=1.1)


def test_onecycle_lr_cannot_calculate_total_steps(impl, opt):
    with pytest.raises(ValueError):
        impl.OneCycleLR(opt, max_lr=1e-3)


@pytest.mark.parametrize(("impl_name", "k"), MOMENTUM_RUNS)
def test_onecycle_lr_linear_annealing(impl_name, k, opt):
    scheduler = IMPLS[impl_name].OneCycleLR(
        opt,
        max_lr=25,
        final_div_factor=2,
        base_momentum=1 / k,
        max_momentum=22 / k,
        total_steps=10,
        anneal_strategy="linear",
    )
    _check_cycle(opt, scheduler, [ONE_CYCLE_LIN_LR] * 2, [ONE_CYCLE_LIN_MOM] * 2, 10, k=k)


@pytest.mark.parametrize(("impl_name", "k"), MOMENTUM_RUNS)
def test_onecycle_lr_linear_annealing_three_phases(impl_name, k, opt):
    lr_target = [1, 9, 17, 25, 17, 9, 1, 0.75, 0.5, 0.25]
    momentum_target = [22, 15, 8, 1, 8, 15, 22, 22, 22, 22]
    scheduler = IMPLS[impl_name].OneCycleLR(
        opt,
        max_lr=25,
        div_factor=25,
        base_momentum=1 / k,
        max_momentum=22 / k,
        total_steps=10,
        anneal_strategy="linear",
        pct_start=0.4,
        final_div_factor=4,
        three_phase=True,
    )
    _check_cycle(opt, scheduler, [lr_target] * 2, [momentum_target] * 2, 10, k=k)


@pytest.mark.parametrize(("impl_name", "k"), MOMENTUM_RUNS)
def test_onecycle_lr_cosine_annealing(impl_name, k, opt):
    scheduler = IMPLS[impl_name].OneCycleLR(
        opt,
        max_lr=25,
        final_div_factor=2,
        base_momentum=1 / k,
        max_momentum=22 / k,
        total_steps=10,
    )
    _check_cycle(opt, scheduler, [ONE_CYCLE_COS_LR] * 2, [ONE_CYCLE_COS_MOM] * 2, 10, k=k)


@pytest.mark.parametrize(("impl_name", "k"), MOMENTUM_RUNS)
def test_onecycle_lr_legacy_state_dict(impl_name, k, net):
    """Private-attribute test (``_anneal_func_type``): PyTorch's legacy state, which holds the
    anneal function itself, is made by torch's class; clr_torch loads it as a migration."""
    kw = {
        "max_lr": 25,
        "final_div_factor": 2,
        "base_momentum": 1 / k,
        "max_momentum": 22 / k,
        "total_steps": 10,
        "anneal_strategy": "cos",
    }
    opt = _two_groups(net, SGD)
    scheduler = IMPLS[impl_name].OneCycleLR(opt, **kw)
    legacy = scheduler if impl_name == "torch" else tls.OneCycleLR(_two_groups(net, SGD), **kw)
    delattr(legacy, "_anneal_func_type")
    state_dict = legacy.state_dict()
    assert "anneal_func_type" not in state_dict
    state_dict["anneal_func"] = tls.OneCycleLR._annealing_cos
    scheduler.load_state_dict(state_dict)
    _check_cycle(opt, scheduler, [ONE_CYCLE_COS_LR] * 2, [ONE_CYCLE_COS_MOM] * 2, 10, k=k)


@pytest.mark.parametrize(("impl_name", "k"), MOMENTUM_RUNS)
def test_cycle_lr_with_adam(impl_name, k, net):
    adam = _two_groups(net)
    scheduler = IMPLS[impl_name].OneCycleLR(
        adam,
        max_lr=25,
        final_div_factor=2,
        base_momentum=1 / k,
        max_momentum=22 / k,
        total_steps=10,
        anneal_strategy="linear",
    )
    _check_cycle(
        adam,
        scheduler,
        [ONE_CYCLE_LIN_LR] * 2,
        [ONE_CYCLE_LIN_MOM] * 2,
        10,
        k=k,
        use_beta1=True,
    )


def test_momentum_above_one_is_refused_naming_the_bound(opt):
    """The deliberate difference behind K: PyTorch's marker momenta 5 and 22 are refused."""
    with pytest.raises(ValueError, match=r"max_momentum.*above 1 makes SGD diverge"):
        clr_torch.CyclicLR(
            opt, base_lr=1, max_lr=5, step_size_up=4, base_momentum=1, max_momentum=5
        )
    with pytest.raises(ValueError, match=r"base_momentum=1.*max_momentum=22"):
        clr_torch.OneCycleLR(opt, max_lr=25, total_steps=10, base_momentum=1, max_momentum=22)
    assert [float(g["lr"]) for g in opt.param_groups] == [0.05, 0.5]  # nothing written


# --------------------------------------------------------------------------- #
# CosineAnnealingWarmRestarts
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("T_mult", [1, 2, 4])
def test_CosineAnnealingWarmRestarts_lr1(impl, opt, T_mult):
    iters, eta_min, T_i, T_cur = 100, 1e-10, 10, 0
    targets = [[0.05], [0.5]]
    scheduler = impl.CosineAnnealingWarmRestarts(opt, T_0=T_i, T_mult=T_mult, eta_min=eta_min)
    for _ in range(1, iters, 1):
        T_cur += 1
        if T_cur >= T_i:
            T_cur = T_cur - T_i
            T_i = int(T_mult) * T_i
        for target, peak in zip(targets, (0.05, 0.5), strict=True):
            target.append(eta_min + (peak - eta_min) * (1 + math.cos(math.pi * T_cur / T_i)) / 2)
    _check_lr(opt, scheduler, targets, iters)


def test_CosineAnnealingWarmRestarts_lr2(impl, opt):
    iters, eta_min = 30, 1e-10
    for T_mult in [1, 2, 4]:
        T_i, T_cur = 10, 0
        targets = [[0.05], [0.5]]
        scheduler = impl.CosineAnnealingWarmRestarts(opt, T_0=T_i, T_mult=T_mult, eta_min=eta_min)
        for _ in torch.arange(0.1, iters, 0.1):
            T_cur = round(T_cur + 0.1, 1)
            if T_cur >= T_i:
                T_cur = T_cur - T_i
                T_i = int(T_mult) * T_i
            for target, peak in zip(targets, (0.05, 0.5), strict=True):
                target.append(
                    eta_min + (peak - eta_min) * (1 + math.cos(math.pi * T_cur / T_i)) / 2
                )
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            for index, epoch in enumerate(torch.arange(0, iters, 0.1)):
                scheduler.step(round(epoch.item(), 1))
                for group, target in zip(opt.param_groups, targets, strict=True):
                    assert _close(group["lr"], target[index]), (T_mult, epoch)
        assert _no_call_order_warning(record)


def test_CosineAnnealingWarmRestarts_lr3(impl, opt):
    epochs_for_T_mults = [
        [0, 1, 2, 3, 4, 5, 12, 27, 3, 4, 5, 6, 13],
        [0, 1, 2, 3, 4, 5, 25, 32, 33, 34, 80, 81, 3],
        [0, 0.1, 0.2, 0.3, 1.3, 2.3, 17.5, 18.5, 19.5, 29.5, 30.5, 31.5, 50],
    ]
    T_curs_for_T_mults = [
        [1, 2, 3, 4, 5, 2, 7, 3, 4, 5, 6, 3],
        [1, 2, 3, 4, 5, 15, 2, 3, 4, 10, 11, 3],
        [0.1, 0.2, 0.3, 1.3, 2.3, 7.5, 8.5, 9.5, 19.5, 20.5, 21.5, 10],
    ]
    T_is_for_T_mults = [
        [10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10],
        [10, 10, 10, 10, 10, 20, 40, 40, 40, 80, 80, 10],
        [10, 10, 10, 10, 10, 30, 30, 30, 30, 30, 30, 90],
    ]
    eta_min = 1e-10
    for epochs, T_mult, T_curs, T_is in zip(
        epochs_for_T_mults, [1, 2, 3], T_curs_for_T_mults, T_is_for_T_mults, strict=True
    ):
        targets = [[0.05], [0.5]]
        scheduler = impl.CosineAnnealingWarmRestarts(opt, T_0=10, T_mult=T_mult, eta_min=eta_min)
        for T_cur, T_i in zip(T_curs, T_is, strict=True):
            for target, peak in zip(targets, (0.05, 0.5), strict=True):
                target.append(
                    eta_min + (peak - eta_min) * (1 + math.cos(math.pi * T_cur / T_i)) / 2
                )
        for index, epoch in enumerate(epochs):
            scheduler.step(epoch)
            for group, target in zip(opt.param_groups, targets, strict=True):
                assert _close(group["lr"], target[index]), (T_mult, epoch)


def test_CosineAnnealingWarmRestarts_T_cur_reset(impl, opt):
    sch = impl.CosineAnnealingWarmRestarts(opt, T_0=4)
    for epoch in [7, 8, 9]:
        sch.T_cur = epoch
        sch.step()
        assert sch.T_cur == (epoch + 1) % sch.T_0


def _check_scheduler_state_dict(constr, constr2, epochs=10):
    """PyTorch's: after a load every entry of ``__dict__`` and the last rates agree."""
    scheduler = constr()
    for _ in range(epochs):
        scheduler.optimizer.step()
        scheduler.step()
    scheduler_copy = constr2()
    scheduler_copy.load_state_dict(scheduler.state_dict())
    for key in scheduler.__dict__:
        if key != "optimizer":
            assert _same(scheduler.__dict__[key], scheduler_copy.__dict__[key]), key
    assert _same(scheduler.get_last_lr(), scheduler_copy.get_last_lr())


def test_CosineAnnealingWarmRestarts_lr_state_dict(impl, opt):
    _check_scheduler_state_dict(
        lambda: impl.CosineAnnealingWarmRestarts(opt, T_0=10, T_mult=2),
        lambda: impl.CosineAnnealingWarmRestarts(opt, T_0=100),
    )


# --------------------------------------------------------------------------- #
# Cases shared with the other schedulers
# --------------------------------------------------------------------------- #


def test_cosine_then_cyclic(impl):
    # https://github.com/pytorch/pytorch/issues/21965
    max_lr, base_lr, optim_lr = 0.3, 0.1, 0.5
    model = torch.nn.Linear(2, 1)
    optimizer = SGD(model.parameters(), lr=optim_lr)
    lr_scheduler_1 = tls.CosineAnnealingLR(optimizer, T_max=20, eta_min=0.1)
    lr_scheduler_2 = impl.CyclicLR(
        optimizer, base_lr=base_lr, max_lr=max_lr, step_size_up=1, step_size_down=3
    )
    for i in range(40):
        optimizer.step()
        if i <= lr_scheduler_1.T_max:
            lr_scheduler_1.step()
        else:
            lr_scheduler_2.step()
        last_lr = optimizer.param_groups[0]["lr"]
    assert last_lr <= max_lr


def _classes(impl):
    return {
        "CyclicLR": partial(impl.CyclicLR, base_lr=0.01, max_lr=0.1),
        "OneCycleLR": partial(
            impl.OneCycleLR, max_lr=0.01, total_steps=10, anneal_strategy="linear"
        ),
        "CosineAnnealingWarmRestarts": partial(impl.CosineAnnealingWarmRestarts, T_0=20),
    }


CLASSES = ["CyclicLR", "OneCycleLR", "CosineAnnealingWarmRestarts"]


@pytest.mark.parametrize("weights_only", [True, False])
@pytest.mark.parametrize("cls", CLASSES)
def test_lr_scheduler_state_dict_load(impl, opt, cls, weights_only):
    lr_class = _classes(impl)[cls]
    scheduler = lr_class(opt)
    state_dict = scheduler.state_dict()
    with tempfile.TemporaryFile() as f:
        torch.save(state_dict, f)
        f.seek(0)
        state_dict_loaded = torch.load(f, weights_only=weights_only)
        assert _same(state_dict, state_dict_loaded)
        # Make sure state_dict can be loaded
        scheduler2 = lr_class(opt)
        scheduler2.load_state_dict(state_dict_loaded)
        assert _same(scheduler2.state_dict(), state_dict)


def test_constant_initial_lr(impl):
    # The initial rate is constant and does not alias base_lrs (CosineAnnealingWarmRestarts)
    lr = torch.as_tensor(0.1)
    opt = SGD([torch.nn.Parameter(torch.randn(1))], lr=lr)
    sch = impl.CosineAnnealingWarmRestarts(opt, T_0=20)
    ori_param_groups = copy.deepcopy(opt.param_groups)
    for i in range(2):
        opt.step()
        sch.step(i)
        lr.multiply_(0.1)
        for group, ori_group in zip(opt.param_groups, ori_param_groups, strict=True):
            assert _same(group["initial_lr"], ori_group["initial_lr"])
            assert _same(sch.base_lrs, [0.1])
            assert sch.base_lrs[0] is not group["initial_lr"]


@pytest.mark.filterwarnings("ignore:The epoch parameter")
def test_constant_initial_params_cyclelr(impl):
    lr = torch.as_tensor(0.1)
    max_lr = torch.as_tensor(0.2)
    base_momentum = torch.as_tensor(0.8)
    max_momentum = torch.as_tensor(0.9)
    opt = SGD([torch.nn.Parameter(torch.randn(1))], lr=lr)
    sch = impl.CyclicLR(
        opt, base_lr=lr, max_lr=max_lr, base_momentum=base_momentum, max_momentum=max_momentum
    )
    ori_param_groups = copy.deepcopy(opt.param_groups)
    for i in range(2):
        lr.multiply_(0.5)
        max_lr.multiply_(0.5)
        base_momentum.multiply_(0.5)
        max_momentum.multiply_(0.5)
        opt.step()
        sch.step(i)
        for group, ori_group in zip(opt.param_groups, ori_param_groups, strict=True):
            assert _same(group["initial_lr"], ori_group["initial_lr"])
            assert _same(group["max_momentum"], ori_group["max_momentum"])
            assert _same(group["base_momentum"], ori_group["base_momentum"])
            assert _same(sch.base_lrs, [0.1])
            assert _same(sch.max_lrs, [0.2])
            assert _same(group["max_momentum"], 0.9)
            assert _same(group["base_momentum"], 0.8)


@pytest.mark.filterwarnings("ignore:The epoch parameter")
def test_constant_initial_params_onecyclelr(impl):
    lr = torch.as_tensor(0.1)
    base_momentum = torch.as_tensor(0.85)
    max_momentum = torch.as_tensor(0.95)
    opt = SGD([torch.nn.Parameter(torch.randn(1))], lr=lr)
    sch = impl.OneCycleLR(
        opt, max_lr=lr, total_steps=10, base_momentum=base_momentum, max_momentum=max_momentum
    )
    ori_param_groups = copy.deepcopy(opt.param_groups)
    for i in range(2):
        lr.multiply_(0.5)
        base_momentum.multiply_(0.5)
        max_momentum.multiply_(0.5)
        opt.step()
        sch.step(i)
        for group, ori_group in zip(opt.param_groups, ori_param_groups, strict=True):
            for key in ("initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"):
                assert _same(group[key], ori_group[key]), key
            assert _same(group["max_momentum"], 0.95)
            assert _same(group["base_momentum"], 0.85)


@pytest.mark.parametrize("cls", CLASSES)
def test_lr_scheduler_checkpoint(impl, cls):
    lr_class = {
        "CyclicLR": partial(impl.CyclicLR, base_lr=0.01, max_lr=0.1),
        "OneCycleLR": partial(impl.OneCycleLR, max_lr=0.01, total_steps=10),
        "CosineAnnealingWarmRestarts": partial(impl.CosineAnnealingWarmRestarts, T_0=20),
    }[cls]
    model = torch.nn.Linear(3, 3)
    optim = torch.optim.AdamW(model.parameters())
    sch = lr_class(optim)
    optim.step()
    sch.step()
    optim2 = torch.optim.AdamW(model.parameters())
    optim2.load_state_dict(optim.state_dict())
    sch2 = lr_class(optim2, last_epoch=0)
    assert sch2.get_last_lr()[0] == optim.param_groups[0]["lr"]


@pytest.mark.parametrize("cls", CLASSES)
def test_raise_error_when_last_epoch_is_greater_than_0_and_initial_lr_is_not_specified(
    impl, net, cls
):
    # PyTorch's case (for StepLR; the rule is its base class's, so all three keep it)
    lr_class = {
        "CyclicLR": partial(impl.CyclicLR, base_lr=0.01, max_lr=0.1),
        "OneCycleLR": partial(impl.OneCycleLR, max_lr=0.01, total_steps=10),
        "CosineAnnealingWarmRestarts": partial(impl.CosineAnnealingWarmRestarts, T_0=20),
    }[cls]
    optimizer = SGD(net.parameters(), 0.1, momentum=0.9)
    before = copy.deepcopy(optimizer.param_groups)
    with pytest.raises(KeyError, match=r"'initial_lr' .*param_groups\[0\].*last_epoch"):
        lr_class(optimizer, last_epoch=1)
    assert optimizer.param_groups == before  # refused before anything was written
