"""ScheduleLR and the drop-ins: state, resume, pickle, momentum mapping, integrations."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import pickle
import random
import warnings

import pytest
import torch
from torch.optim import lr_scheduler as tls

import clr_core
import clr_torch


@clr_core.register
@dataclasses.dataclass(frozen=True)
class TorchTestInverseScale(clr_core.Scale):
    """A custom amplitude scale: ``1 / (1 + x / k)``."""

    k: float = 10.0

    def factor(self, x, xp):
        return 1.0 / (1.0 + x / self.k)


@clr_core.register
@dataclasses.dataclass(frozen=True)
class TorchTestCubeShape(clr_core.Shape):
    """A custom cycle shape: ``w = f ** 3``."""

    max_slope = 3.0

    def profile(self, f, xp):
        return f * f * f


def _model(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))


def _data(n=64, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=g)
    return x, (x[:, :1] * 2 - x[:, 1:2]).tanh()


def _sgd(model):
    return torch.optim.SGD(
        [
            {"params": model[0].parameters()},
            {"params": model[2].parameters(), "lr": 0.05},
        ],
        lr=0.1,
        momentum=0.9,
    )


def _adam(model):
    return torch.optim.Adam(model.parameters(), lr=0.01)


def _train(model, opt, sched, steps, x, y, record):
    for _ in range(steps):
        g = opt.param_groups
        record.append(
            tuple(grp["lr"] for grp in g)
            + tuple(grp["momentum"] if "momentum" in grp else grp["betas"][0] for grp in g)
        )
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        sched.step()


BUILDERS = {
    "cyclic-tri2-sgd": (
        _sgd,
        lambda o: clr_torch.CyclicLR(o, [0.01, 0.02], [0.1, 0.3], 7, 13, "triangular2"),
    ),
    "cyclic-custom-adam": (
        _adam,
        lambda o: clr_torch.CyclicLR(
            o, 0.001, 0.01, 5, scale_fn=TorchTestInverseScale(4.0), scale_mode="iterations"
        ),
    ),
    "onecycle-sgd": (
        _sgd,
        lambda o: clr_torch.OneCycleLR(o, [0.1, 0.2], total_steps=40, three_phase=True),
    ),
    "schedule-custom-shape": (
        _sgd,
        lambda o: clr_torch.ScheduleLR(
            o,
            [
                clr_core.Cyclic(0.01, 0.1, 6, shape=TorchTestCubeShape()),
                clr_core.warmup(clr_core.Constant(0.05), 5),
            ],
            momentum=[clr_core.Cyclic(0.01, 0.1, 6).momentum(0.8, 0.95), None],
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
@pytest.mark.parametrize("optimizer_first", [True, False])
def test_resume_from_state_dict_at_random_steps(name, optimizer_first):
    make_opt, make_sched = BUILDERS[name]
    x, y = _data()
    total = 60
    ref_model = _model()
    ref_opt = make_opt(ref_model)
    ref_sched = make_sched(ref_opt)
    ref = []
    _train(ref_model, ref_opt, ref_sched, total, x, y, ref)

    rng = random.Random(hash(name) % 1000)
    for k in sorted(rng.sample(range(1, total), 4)):
        model = _model()
        opt = make_opt(model)
        sched = make_sched(opt)
        seq = []
        _train(model, opt, sched, k, x, y, seq)
        buf = io.BytesIO()
        torch.save(
            {"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()}, buf
        )
        buf.seek(0)
        ckpt = torch.load(buf, weights_only=True)
        json.dumps(ckpt["sched"])  # plain data

        model2 = _model(seed=123)
        model2.load_state_dict(ckpt["model"])
        opt2 = make_opt(model2)
        if optimizer_first:  # the order PyTorch warns against: the fresh scheduler writes f(0)
            opt2.load_state_dict(ckpt["opt"])
            sched2 = make_sched(opt2)
        else:
            sched2 = make_sched(opt2)
            opt2.load_state_dict(ckpt["opt"])
        sched2.load_state_dict(ckpt["sched"])
        assert sched2.last_epoch == k
        _train(model2, opt2, sched2, total - k, x, y, seq)
        assert seq == ref, f"resume at step {k} diverged"
        for a, b in zip(model2.parameters(), ref_model.parameters(), strict=True):
            assert torch.equal(a, b)


def test_state_dict_restores_the_checkpoint_schedule_not_the_constructor_arguments():
    opt = _sgd(_model())
    a = clr_torch.CyclicLR(opt, 0.01, 0.1, 10, mode="exp_range", gamma=0.99)
    for _ in range(7):
        opt.step()
        a.step()
    sd = a.state_dict()
    opt2 = _sgd(_model())
    b = clr_torch.CyclicLR(opt2, 0.5, 0.9, 3)  # different arguments
    b.load_state_dict(sd)
    assert b.schedules == a.schedules
    assert b.get_last_lr() == a.get_last_lr()
    assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in opt.param_groups]


@pytest.mark.parametrize("cls", ["torch", "clr"])
def test_resume_with_last_epoch_follows_torch_and_keeps_the_resumed_rates(cls):
    # PyTorch's rule: a scheduler saved at last_epoch == k is rebuilt with
    # last_epoch=k - 1 (the constructor steps once), lands on k and writes S(k):
    # exactly the rates the resumed optimizer already holds.
    one_cycle = tls.OneCycleLR if cls == "torch" else clr_torch.OneCycleLR
    model = _model()
    opt = _sgd(model)
    sched = one_cycle(opt, 0.2, total_steps=50)
    for _ in range(17):
        opt.step()
        sched.step()
    opt_state = copy.deepcopy(opt.state_dict())
    expected_next = []
    for _ in range(5):
        opt.step()
        sched.step()
        expected_next.append(sched.get_last_lr())

    opt2 = _sgd(_model())
    opt2.load_state_dict(opt_state)
    resumed = [(g["lr"], g["momentum"]) for g in opt2.param_groups]
    sched2 = one_cycle(opt2, 0.2, total_steps=50, last_epoch=16)
    assert [(g["lr"], g["momentum"]) for g in opt2.param_groups] == resumed  # the same values
    assert sched2.last_epoch == 17
    assert sched2.get_last_lr() == [g["lr"] for g in opt2.param_groups]
    got = []
    for _ in range(5):
        opt2.step()
        sched2.step()
        got.append(sched2.get_last_lr())
    assert got == expected_next


def test_fresh_scheduler_sets_the_initial_rate_and_momentum():
    opt = torch.optim.AdamW(_model().parameters(), lr=123.0, betas=(0.5, 0.777))
    clr_torch.OneCycleLR(opt, max_lr=0.25, total_steps=100, div_factor=5.0)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05, rel=1e-15)
    assert opt.param_groups[0]["betas"] == (0.95, 0.777)


def test_weights_only_load_with_custom_scale_and_shape():
    opt = _sgd(_model())
    sched = BUILDERS["schedule-custom-shape"][1](opt)
    sched2 = clr_torch.CyclicLR(_adam(_model()), 0.1, 0.2, scale_fn=TorchTestInverseScale(3.0))
    buf = io.BytesIO()
    torch.save({"a": sched.state_dict(), "b": sched2.state_dict()}, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=True)
    assert loaded["a"] == sched.state_dict()
    assert loaded["b"]["schedules"][0]["scale"] == {"type": "TorchTestInverseScale", "k": 3.0}


def test_pickle_scheduler_with_optimizer_and_custom_components():
    model = _model()
    opt = _sgd(model)
    sched = BUILDERS["schedule-custom-shape"][1](opt)
    for _ in range(9):
        opt.step()
        sched.step()
    _clone_model, clone_opt, clone_sched = pickle.loads(pickle.dumps((model, opt, sched)))
    assert clone_sched.optimizer is clone_opt
    assert clone_sched.schedules == sched.schedules
    for _ in range(10):
        opt.step()
        sched.step()
        clone_opt.step()
        clone_sched.step()
        assert clone_sched.get_last_lr() == sched.get_last_lr()
        assert [g["momentum"] for g in clone_opt.param_groups] == [
            g["momentum"] for g in opt.param_groups
        ]


def test_custom_scale_matches_torch_callable_scale_fn():
    def torch_scale(x):
        return 1.0 / (1.0 + x / 4.0)

    o1, o2 = _adam(_model()), _adam(_model())
    s1 = tls.CyclicLR(o1, 0.001, 0.01, 5, 3, scale_fn=torch_scale, scale_mode="iterations")
    s2 = clr_torch.CyclicLR(
        o2, 0.001, 0.01, 5, 3, scale_fn=TorchTestInverseScale(4.0), scale_mode="iterations"
    )
    for _ in range(200):
        assert o2.param_groups[0]["lr"] == pytest.approx(o1.param_groups[0]["lr"], rel=1e-12)
        assert o2.param_groups[0]["betas"][0] == pytest.approx(
            o1.param_groups[0]["betas"][0], rel=1e-12
        )
        o1.step()
        o2.step()
        s1.step()
        s2.step()


def test_callable_scale_fn_is_refused_with_guidance():
    opt = _adam(_model())
    with pytest.raises(TypeError, match=r"clr_core\.Scale.*clr_core\.register"):
        clr_torch.CyclicLR(opt, 0.001, 0.01, scale_fn=lambda x: 0.5)


def test_one_cycle_holds_past_the_end_where_torch_raises():
    o1, o2 = _sgd(_model()), _sgd(_model())
    s1 = tls.OneCycleLR(o1, 0.1, total_steps=20)
    s2 = clr_torch.OneCycleLR(o2, 0.1, total_steps=20)
    for _ in range(19):
        for o, s in ((o1, s1), (o2, s2)):
            o.step()
            s.step()
    final = s2.get_last_lr()
    assert final == pytest.approx(s1.get_last_lr(), rel=1e-12)
    o1.step()
    s1.step()  # torch: step 20 is still allowed (extrapolated); 21 raises
    o1.step()
    with pytest.raises(ValueError, match="Tried to step"):
        s1.step()
    for _ in range(100):
        o2.step()
        s2.step()
    assert s2.get_last_lr() == final
    assert final[0] == pytest.approx(0.1 / 25 / 1e4)


@pytest.mark.parametrize(
    ("opt_cls", "key"),
    [
        (torch.optim.SGD, "momentum"),
        (torch.optim.RMSprop, "momentum"),
        (torch.optim.Adam, "betas"),
        (torch.optim.AdamW, "betas"),
        (torch.optim.NAdam, "betas"),
        (torch.optim.RAdam, "betas"),
        (torch.optim.Adamax, "betas"),
    ],
)
def test_momentum_mapping(opt_cls, key):
    opt = opt_cls(_model().parameters(), lr=0.01)
    sched = clr_torch.CyclicLR(
        opt, 0.001, 0.01, step_size_up=2, base_momentum=0.7, max_momentum=0.9
    )
    assert sched.momentum_key == key
    assert clr_torch.MOMENTUM_KEYS[opt_cls] == key
    seen = []
    for _ in range(3):
        v = opt.param_groups[0][key]
        seen.append(v[0] if key == "betas" else v)
        opt.step()
        sched.step()
    assert seen == pytest.approx([0.9, 0.8, 0.7])
    if key == "betas":
        assert opt.param_groups[0]["betas"][1] == 0.999


def test_optimizer_without_momentum_gets_a_clear_error():
    opt = torch.optim.Adagrad(_model().parameters(), lr=0.01)
    with pytest.raises(ValueError, match=r"cycle_momentum=False"):
        clr_torch.CyclicLR(opt, 0.001, 0.01)
    with pytest.raises(ValueError, match=r"momentum=None"):
        clr_torch.ScheduleLR(opt, clr_core.Constant(0.1), momentum=clr_core.Constant(0.9))
    sched = clr_torch.CyclicLR(opt, 0.001, 0.01, cycle_momentum=False)
    assert sched.momentum_key is None
    # An optimizer that has the key torch sniffs, but in a group-less way, is refused too.
    sgd = torch.optim.SGD(_model().parameters(), lr=0.1)
    del sgd.param_groups[0]["momentum"]
    with pytest.raises(ValueError, match=r"param_groups\[0\].*'momentum'"):
        clr_torch.OneCycleLR(sgd, 0.1, total_steps=10)


class _Custom(torch.optim.Optimizer):
    """An optimizer outside the mapping, with momentum under its own names."""

    def __init__(self, params):
        super().__init__(params, {"lr": 0.1, "beta1": 0.9, "coeffs": (0.9, 0.99, 0.5)})

    def step(self, closure=None):
        return None


def test_custom_momentum_key_scalar_and_tuple():
    with pytest.raises(ValueError, match="momentum_key"):
        clr_torch.CyclicLR(_Custom(_model().parameters()), 0.01, 0.1)
    opt = _Custom(_model().parameters())
    clr_torch.CyclicLR(opt, 0.01, 0.1, 2, base_momentum=0.5, max_momentum=0.7, momentum_key="beta1")
    assert opt.param_groups[0]["beta1"] == 0.7
    opt = _Custom(_model().parameters())
    sched = clr_torch.OneCycleLR(opt, 0.1, total_steps=10, momentum_key="coeffs")
    assert opt.param_groups[0]["coeffs"] == (0.95, 0.99, 0.5)
    opt.step()
    sched.step()
    assert opt.param_groups[0]["coeffs"][1:] == (0.99, 0.5)
    assert opt.param_groups[0]["coeffs"][0] < 0.95


def test_schedule_lr_per_group_schedules_and_validation():
    opt = _sgd(_model())
    lr = [clr_core.Linear(0.0, 1.0, 4), clr_core.Constant(0.3)]
    sched = clr_torch.ScheduleLR(opt, lr)
    lrs = []
    for _ in range(6):
        lrs.append(sched.get_last_lr())
        opt.step()
        sched.step()
    assert lrs == [[0.0, 0.3], [0.25, 0.3], [0.5, 0.3], [0.75, 0.3], [1.0, 0.3], [1.0, 0.3]]
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.9]  # momentum untouched
    with pytest.raises(ValueError, match="one per param group"):
        clr_torch.ScheduleLR(opt, [clr_core.Constant(0.1)] * 3)
    with pytest.raises(TypeError, match="clr_core schedule"):
        clr_torch.ScheduleLR(opt, 0.1)
    with pytest.raises(TypeError, match="Optimizer"):
        clr_torch.ScheduleLR(object(), clr_core.Constant(0.1))


def test_tensor_valued_rates_are_filled_in_place():
    p = torch.nn.Parameter(torch.zeros(2))
    lr = torch.tensor(0.5)
    opt = torch.optim.Adam([p], lr=lr, betas=(torch.tensor(0.9), torch.tensor(0.99)))
    sched = clr_torch.CyclicLR(opt, 0.01, 0.1, 2)
    assert opt.param_groups[0]["lr"] is lr
    assert float(lr) == pytest.approx(0.01)
    opt.step()
    sched.step()
    assert float(lr) == pytest.approx(0.055)
    assert float(opt.param_groups[0]["betas"][0]) == pytest.approx(0.85)
    assert sched.get_last_lr() == pytest.approx([0.055])


def test_fused_path_sgd_with_tensor_rate_and_partial_momentum_groups():
    # one fused cycle: every group (tensor rate on SGD), and momentum on a subset of groups
    tri = clr_core.Triangular(0.01, 0.1, 3)
    mom = tri.momentum()
    a, b = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2))
    lr = torch.tensor(0.5)
    opt = torch.optim.SGD([{"params": [a], "lr": lr}, {"params": [b]}], lr=0.3, momentum=0.1)
    sched = clr_torch.ScheduleLR(opt, tri, momentum=[mom, None])
    other = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.3, momentum=0.9)
    whole = clr_torch.ScheduleLR(other, tri, momentum=mom)
    for t in range(1, 10):
        for o, s in ((opt, sched), (other, whole)):
            o.step()
            s.step()
        assert float(lr) == pytest.approx(tri(t))  # filled in place, float32
        assert opt.param_groups[0]["lr"] is lr
        assert opt.param_groups[1]["lr"] == tri(t)
        assert opt.param_groups[0]["momentum"] == mom(t)
        assert opt.param_groups[1]["momentum"] == 0.1  # not driven: left alone
        assert other.param_groups[0]["lr"] == tri(t)
        assert other.param_groups[0]["momentum"] == mom(t)
    # a group added later is not written by the planned write helper
    other.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "momentum": 0.3})
    other.step()
    whole.step()
    assert other.param_groups[1]["momentum"] == 0.3
    assert other.param_groups[0]["momentum"] == mom(10)


def test_call_order_warnings_match_torch():
    opt = _sgd(_model())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched = clr_torch.CyclicLR(opt, 0.01, 0.1)
        for _ in range(3):
            opt.step()
            sched.step()
    opt = _sgd(_model())
    sched = clr_torch.CyclicLR(opt, 0.01, 0.1)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()


def test_lr_scheduler_contract():
    opt = _sgd(_model())
    sched = clr_torch.CyclicLR(opt, 0.01, 0.1, 4)
    assert isinstance(sched, tls.LRScheduler)
    assert sched.optimizer is opt
    assert sched.last_epoch == 0
    assert sched.base_lrs == [0.01, 0.01]
    # as torch's CyclicLR: base_lr is written first, so it becomes initial_lr
    assert [g["initial_lr"] for g in opt.param_groups] == [0.01, 0.01]
    assert [(g["base_momentum"], g["max_momentum"]) for g in opt.param_groups] == [(0.8, 0.9)] * 2
    out = sched.get_last_lr()
    out.append(99.0)  # a copy: mutating it cannot corrupt the scheduler
    assert sched.get_last_lr() == [0.01, 0.01]
    assert sched.get_lr() == [0.01, 0.01]
    opt.step()
    sched.step()
    assert sched.get_last_lr() == [g["lr"] for g in opt.param_groups]
    assert "CyclicLR(last_epoch=1" in repr(sched)


def test_lightning_configure_optimizers_interval_step_and_resume(tmp_path):
    import pytorch_lightning as pl  # a tox dependency of the torch env: never skipped

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.lin = torch.nn.Linear(5, 1)
            self.rates = []

        def training_step(self, batch, batch_idx):
            group = self.trainer.optimizers[0].param_groups[0]
            self.rates.append((group["lr"], group["momentum"]))
            x, y = batch
            return torch.nn.functional.mse_loss(self.lin(x), y)

        def configure_optimizers(self):
            opt = torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)
            sched = clr_torch.CyclicLR(opt, 0.001, 0.01, step_size_up=3)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    x, y = _data(64)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8)
    kw = {
        "accelerator": "cpu",
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "default_root_dir": str(tmp_path),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = Module()
        pl.Trainer(max_steps=20, **kw).fit(full, loader)
        first = Module()
        trainer = pl.Trainer(max_steps=12, **kw)
        trainer.fit(first, loader)
        trainer.save_checkpoint(tmp_path / "a.ckpt")
        second = Module()
        pl.Trainer(max_steps=20, **kw).fit(
            second, loader, ckpt_path=str(tmp_path / "a.ckpt"), weights_only=True
        )
    schedule = clr_core.Triangular(0.001, 0.01, 3)
    momentum = schedule.momentum(0.8, 0.9)
    assert full.rates == [(schedule(t), momentum(t)) for t in range(20)]
    assert first.rates + second.rates == full.rates


def test_torch_compile_training_step_without_recompiles():
    import torch._dynamo

    torch._dynamo.reset()
    torch.manual_seed(0)
    model = torch.nn.Linear(5, 1)
    x, y = _data(32)
    compiled = torch.compile(model, fullgraph=True)

    @torch.compile(fullgraph=True)
    def sgd_update(params, lr: float):
        with torch.no_grad():
            for p in params:
                p.sub_(p.grad * lr)

    # (a) compiled forward, eager optimizer + scheduler; (b) a compiled update taking the
    # rate as a Python float; (c) a tensor-valued lr with a compiled optimizer step.
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = clr_torch.CyclicLR(opt, 0.001, 0.05, step_size_up=4)
    opt_t = torch.optim.SGD(model.parameters(), lr=torch.tensor(0.01), momentum=0.9)
    sched_t = clr_torch.CyclicLR(opt_t, 0.001, 0.05, step_size_up=4)

    @torch.compile
    def opt_t_step():
        opt_t.step()

    params = list(model.parameters())
    losses, rates = [], []
    prev = torch._dynamo.config.error_on_recompile
    try:
        for i in range(16):
            loss = torch.nn.functional.mse_loss(compiled(x), y)
            loss.backward()
            losses.append(loss.item())
            rates.append(sched.get_last_lr()[0])
            if i % 2:
                sgd_update(params, sched.get_last_lr()[0])
            else:
                opt_t_step()
            opt.step()  # momentum-free effect irrelevant here: grads are zeroed below
            model.zero_grad()
            sched.step()
            sched_t.step()
            if i == 4:  # each compiled function has run twice: a float input is
                # specialised on the first call and made dynamic on the second
                torch._dynamo.config.error_on_recompile = True
    finally:
        torch._dynamo.config.error_on_recompile = prev
        torch._dynamo.reset()
    schedule = clr_core.Triangular(0.001, 0.05, 4)
    assert rates == [schedule(t) for t in range(16)]
    assert float(opt_t.param_groups[0]["lr"]) == pytest.approx(schedule(16))
    assert losses[-1] < losses[0]


def test_sequential_lr_with_a_drop_in_resumes_exactly_in_either_order():
    def build():
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1, momentum=0.9)
        warm = tls.LinearLR(opt, start_factor=0.1, total_iters=5)
        cyc = clr_torch.CyclicLR(opt, 0.01, 0.1, step_size_up=4)
        return opt, tls.SequentialLR(opt, [warm, cyc], milestones=[5])

    def run(opt, sched, n, out):
        for _ in range(n):
            g = opt.param_groups[0]
            out.append((g["lr"], g["momentum"]))
            opt.step()
            sched.step()

    opt, sched = build()
    ref = []
    run(opt, sched, 30, ref)
    for k in (3, 5, 6, 13):
        opt, sched = build()
        seq = []
        run(opt, sched, k, seq)
        buf = io.BytesIO()
        torch.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, buf)
        for scheduler_first in (True, False):
            buf.seek(0)
            ckpt = torch.load(buf, weights_only=True)
            opt2, sched2 = build()
            if scheduler_first:
                sched2.load_state_dict(ckpt["sched"])
                opt2.load_state_dict(ckpt["opt"])
            else:
                opt2.load_state_dict(ckpt["opt"])
                sched2.load_state_dict(ckpt["sched"])
            out = list(seq)
            run(opt2, sched2, 30 - k, out)
            assert out == ref, (k, scheduler_first)
