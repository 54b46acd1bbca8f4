"""The torch range test: real sweeps, exact restoration, accumulation, AMP skips."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import clr_core
import clr_torch
from clr_core import rangetest
from clr_torch._scheduler import sweep_momentum


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    x = torch.tensor(d.data / 16.0, dtype=torch.float32)
    y = torch.tensor(d.target, dtype=torch.long)
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(len(x), generator=g)
    x, y = x[perm], y[perm]
    return (x[:1400], y[:1400]), (x[1400:], y[1400:])


def _mlp(seed=0, bn=False):
    torch.manual_seed(seed)
    layers = [torch.nn.Linear(64, 64)]
    if bn:
        layers.append(torch.nn.BatchNorm1d(64))
    layers += [torch.nn.ReLU(), torch.nn.Dropout(0.1), torch.nn.Linear(64, 10)]
    return torch.nn.Sequential(*layers)


def _loader(xy, batch_size=64, shuffle=True, seed=None):
    ds = torch.utils.data.TensorDataset(*xy)
    gen = None if seed is None else torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=shuffle, generator=gen)


def _evaluate(model, xy):
    model.eval()
    with torch.no_grad():
        return clr_torch.accuracy(model(xy[0]), xy[1])


def _train(model, opt, sched, loader, epochs):
    model.train()
    for _ in range(epochs):
        for x, y in loader:
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
            sched.step()


def test_range_test_suggestion_trains_digits_to_good_accuracy(digits):
    train, test = digits
    model = _mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loader = _loader(train, seed=1)
    result = clr_torch.range_test(
        model,
        opt,
        loader,
        torch.nn.functional.cross_entropy,
        start_lr=1e-4,
        end_lr=10.0,
        num_steps=100,
        metric="accuracy",
        val_loader=_loader(test, batch_size=100, shuffle=False),
        val_batches=2,
        progress=False,
    )
    assert isinstance(result, rangetest.RangeTestResult)
    assert 1e-4 <= result.base_lr < result.max_lr <= 10.0
    assert result.provenance["batch_size"] == 64
    assert result.provenance["metric_name"] == "val_accuracy"
    assert result.provenance["world_size"] == 1
    assert len(result.lrs) == len(result.losses) >= 20
    assert result.metrics is not None
    assert len(result.metrics) == len(result.lrs)
    # The model is untouched: training from here is training from scratch.
    ipe = len(loader)
    schedule = result.to_schedule("one_cycle", iterations_per_epoch=ipe, epochs=12)
    sched = clr_torch.ScheduleLR(opt, schedule, momentum=schedule.momentum(0.85, 0.95))
    _train(model, opt, sched, loader, 12)
    acc = _evaluate(model, test)
    assert acc >= 0.93, (acc, result.summary())


def _state(model, opt):
    tensors = [t.detach().clone() for t in model.parameters()] + [
        b.detach().clone() for b in model.buffers()
    ]
    grads = [None if p.grad is None else p.grad.clone() for p in model.parameters()]
    opt_state = {
        id(p): {k: (v.clone() if torch.is_tensor(v) else v) for k, v in s.items()}
        for p, s in opt.state.items()
    }
    groups = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    return tensors, grads, opt_state, groups, [m.training for m in model.modules()]


def _assert_same(a, b):
    ta, ga, sa, gra, ma = a
    tb, gb, sb, grb, mb = b
    assert len(ta) == len(tb)
    for x, y in zip(ta, tb, strict=True):
        assert torch.equal(x, y)
    for x, y in zip(ga, gb, strict=True):
        assert (x is None and y is None) or torch.equal(x, y)
    assert sa.keys() == sb.keys()
    for k in sa:
        assert sa[k].keys() == sb[k].keys()
        for name in sa[k]:
            va, vb = sa[k][name], sb[k][name]
            assert torch.equal(va, vb) if torch.is_tensor(va) else va == vb
    assert gra == grb
    assert ma == mb


def _rng_states():
    return random.getstate(), np.random.get_state(), torch.get_rng_state()  # noqa: NPY002


def _assert_rng_same(a, b):
    assert a[0] == b[0]
    assert a[1][0] == b[1][0]
    assert np.array_equal(a[1][1], b[1][1])
    assert a[1][2:] == b[1][2:]
    assert torch.equal(a[2], b[2])


def _prepared(digits):
    """A model mid-training: BN buffers, momentum buffers, grads, a scheduler's keys."""
    train, _ = digits
    model = _mlp(bn=True)
    opt = torch.optim.SGD(
        [
            {"params": model[0].parameters()},
            {"params": list(model[1].parameters()) + list(model[4].parameters()), "lr": 0.01},
        ],
        lr=0.05,
        momentum=0.9,
        nesterov=True,
    )
    sched = clr_torch.CyclicLR(opt, [0.01, 0.001], [0.1, 0.01], 5)
    loader = _loader(train, seed=3)
    for i, (x, y) in enumerate(loader):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        sched.step()
        if i == 4:
            break
    model.eval()  # a mode to restore
    model[3].train()
    random.seed(5)
    np.random.seed(5)  # noqa: NPY002  (the global RNG must be restored)
    torch.manual_seed(5)
    return model, opt, loader


def _noisy_step(model, batch):
    # Uses every RNG, so an unrestored state would show.
    x, y = batch
    x = x + 0.01 * torch.randn_like(x) + 0.0 * random.random() + 0.0 * float(np.random.rand())  # noqa: NPY002
    return torch.nn.functional.cross_entropy(model(x), y)


def test_everything_restored_after_a_sweep(digits):
    model, opt, loader = _prepared(digits)
    before, rng = _state(model, opt), _rng_states()
    result = clr_torch.range_test(
        model, opt, loader, step_fn=_noisy_step, start_lr=1e-4, end_lr=1.0, num_steps=30,
        progress=False,
    )  # fmt: skip
    assert len(result.lrs) >= 10
    _assert_same(before, _state(model, opt))
    _assert_rng_same(rng, _rng_states())


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_everything_restored_after_an_exception_mid_sweep(digits, exc):
    model, opt, loader = _prepared(digits)
    before, rng = _state(model, opt), _rng_states()
    calls = {"n": 0}

    def failing(model, batch):
        calls["n"] += 1
        if calls["n"] == 9:
            raise exc("injected")
        return _noisy_step(model, batch)

    test = clr_torch.RangeTest(model, opt, step_fn=failing, num_steps=30, progress=False)
    with pytest.raises(exc, match="injected"):
        test.run(loader)
    assert test.monitor.step_index == 8  # the points before the failure are kept
    _assert_same(before, _state(model, opt))
    _assert_rng_same(rng, _rng_states())


class _Counting:
    """A loader of ``n`` fixed batches that counts what it hands out."""

    def __init__(self, xy, n, batch_size=32):
        self.batches = [
            (
                xy[0][i * batch_size : (i + 1) * batch_size],
                xy[1][i * batch_size : (i + 1) * batch_size],
            )
            for i in range(n)
        ]
        self.served = 0

    def __iter__(self):
        for b in self.batches:
            self.served += 1
            yield b


def test_gradient_accumulation_one_point_per_optimizer_step_and_cycling_loader(digits):
    train, _ = digits
    model = _mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    steps = []
    opt.register_step_post_hook(lambda o, a, k: steps.append(o.param_groups[0]["lr"]))
    loader = _Counting(train, n=4)  # shorter than the sweep: cycled
    test = clr_torch.RangeTest(
        model, opt, torch.nn.functional.cross_entropy, start_lr=1e-4, end_lr=1e-2, num_steps=10,
        accumulation_steps=3, progress=False,
    )  # fmt: skip
    result = test.run(loader)
    sweep = rangetest.ExponentialSweep(1e-4, 1e-2, 10)
    assert loader.served == 30
    assert steps == [sweep(i) for i in range(10)]
    assert list(result.lrs) == steps
    assert result.provenance["batch_size"] == 32 * 3


def test_grad_scaler_skipped_steps_record_no_point(digits):
    train, _ = digits
    model = _mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    real_steps = []
    opt.register_step_post_hook(lambda o, a, k: real_steps.append(o.param_groups[0]["lr"]))
    inject = {4, 5, 11}
    calls = {"n": 0}

    def poison(grad):
        return grad * float("inf") if calls["n"] in inject else grad

    model[0].weight.register_hook(poison)

    def step(model, batch):
        calls["n"] += 1
        x, y = batch
        return torch.nn.functional.cross_entropy(model(x), y)

    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**8)
    scale_before = scaler.get_scale()
    test = clr_torch.RangeTest(
        model, opt, step_fn=step, start_lr=1e-4, end_lr=1e-2, num_steps=12, scaler=scaler,
        progress=False,
    )  # fmt: skip
    result = test.run(_loader(train, seed=0))
    sweep = rangetest.ExponentialSweep(1e-4, 1e-2, 12)
    assert calls["n"] == 12 + len(inject)
    assert test.skipped_steps == len(inject)
    assert list(result.lrs) == [sweep(i) for i in range(12)]  # no gap, no repeat
    assert real_steps == list(result.lrs)
    assert result.provenance["skipped_steps"] == len(inject)
    assert scaler.get_scale() == scale_before  # restored


def test_batches_as_tuples_lists_and_dicts_give_the_same_sweep(digits):
    train, _ = digits
    xs, ys = train[0][:256], train[1][:256]
    forms = {
        "tuple": [(xs[i : i + 32], ys[i : i + 32]) for i in range(0, 256, 32)],
        "list": [[xs[i : i + 32], ys[i : i + 32], "extra"] for i in range(0, 256, 32)],
        "dict": [{"inputs": xs[i : i + 32], "labels": ys[i : i + 32]} for i in range(0, 256, 32)],
    }
    results = {}
    for name, batches in forms.items():
        model = _mlp()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        results[name] = clr_torch.range_test(
            model, opt, batches, torch.nn.functional.cross_entropy, num_steps=20, start_lr=1e-4,
            end_lr=1.0, device="cpu", progress=False,
        )  # fmt: skip
    assert list(results["tuple"].losses) == list(results["list"].losses)
    assert list(results["tuple"].losses) == list(results["dict"].losses)
    with pytest.raises(KeyError, match="step_fn"):
        clr_torch.range_test(
            _mlp(), torch.optim.SGD(_mlp().parameters(), lr=0.1), [{"a": xs, "b": ys}],
            torch.nn.functional.cross_entropy, progress=False,
        )  # fmt: skip


def test_param_groups_keep_their_ratio(digits):
    train, _ = digits
    model = _mlp()
    opt = torch.optim.SGD(
        [{"params": model[0].parameters()}, {"params": model[3].parameters(), "lr": 0.001}],
        lr=0.01,
    )
    seen = []

    def step(model, batch):
        seen.append([g["lr"] for g in opt.param_groups])
        return torch.nn.functional.cross_entropy(model(batch[0]), batch[1])

    clr_torch.range_test(
        model, opt, _loader(train), step_fn=step, num_steps=8, start_lr=1e-3, end_lr=1e-1,
        progress=False,
    )  # fmt: skip
    assert len(seen) == 8
    for a, b in seen:
        assert b == pytest.approx(a * 0.1, rel=1e-12)
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.001]


def test_linear_mode_progress_bar_and_validation(digits, capsys):
    train, _ = digits
    model = _mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    result = clr_torch.range_test(
        model, opt, _loader(train), torch.nn.functional.cross_entropy, start_lr=1e-4,
        end_lr=0.05, num_steps=15, mode="linear", progress=True, metric="accuracy",
    )  # fmt: skip
    assert result.lrs[1] - result.lrs[0] == pytest.approx(result.lrs[2] - result.lrs[1])
    assert result.metrics is not None
    assert "range test" in capsys.readouterr().err
    with pytest.raises(ValueError, match="mode"):
        clr_torch.RangeTest(model, opt, mode="cubic")
    with pytest.raises(ValueError, match="accumulation_steps"):
        clr_torch.RangeTest(model, opt, accumulation_steps=0)
    with pytest.raises(ValueError, match="metric"):
        clr_torch.RangeTest(model, opt, torch.nn.functional.cross_entropy, val_loader=[1])
    with pytest.raises(TypeError, match="loss_fn"):
        clr_torch.range_test(model, opt, _loader(train), progress=False)


def test_no_progress_on_other_ranks():
    test = clr_torch.RangeTest(_mlp(), torch.optim.SGD(_mlp().parameters(), lr=0.1))
    assert test._bar(rank=1) is None
    bar = test._bar(rank=0)
    assert bar is not None
    bar.close()


def test_result_hands_off_to_a_schedule(digits):
    train, _ = digits
    model = _mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    result = clr_torch.range_test(
        model, opt, _loader(train), torch.nn.functional.cross_entropy, start_lr=1e-4,
        end_lr=10.0, num_steps=60, progress=False,
    )  # fmt: skip
    tri = result.to_schedule("triangular", iterations_per_epoch=22)
    assert isinstance(tri, clr_core.Triangular)
    sched = clr_torch.ScheduleLR(opt, tri)
    assert sched.get_last_lr() == [tri(0)]


def test_autocast_with_grad_scaler_and_early_validation(digits):
    train, _ = digits
    model = _mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    before = [p.detach().clone() for p in model.parameters()]
    result = clr_torch.range_test(
        model, opt, _loader(train), torch.nn.functional.cross_entropy, num_steps=12,
        start_lr=1e-4, end_lr=1e-1, autocast_dtype=torch.bfloat16,
        scaler=torch.amp.GradScaler("cpu"), progress=False, min_steps=5,
    )  # fmt: skip
    assert len(result.lrs) == 12
    assert result.provenance["min_steps"] == 5
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    with pytest.raises(ValueError, match="beta"):
        clr_torch.RangeTest(model, opt, beta=1.5)
    with pytest.raises(ValueError, match="end_lr"):
        clr_torch.RangeTest(model, opt, start_lr=1.0, end_lr=0.1)


def _one_shot(xy, n, batch_size=32):
    """A generator: one pass of ``n`` batches, nothing after."""
    for i in range(n):
        yield (
            xy[0][i * batch_size : (i + 1) * batch_size],
            xy[1][i * batch_size : (i + 1) * batch_size],
        )


def test_a_one_shot_generator_shorter_than_the_sweep_uses_what_it_gave(digits):
    train, _ = digits
    model = _mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    before, rng = _state(model, opt), _rng_states()
    test = clr_torch.RangeTest(
        model, opt, torch.nn.functional.cross_entropy, start_lr=1e-4, end_lr=1.0, num_steps=30,
        progress=False,
    )  # fmt: skip
    with pytest.warns(RuntimeWarning, match="cut short: train_loader ran out after 10 batches"):
        result = test.run(_one_shot(train, 10))
    sweep = rangetest.ExponentialSweep(1e-4, 1.0, 30)
    assert list(result.lrs) == [sweep(i) for i in range(10)]  # the 10 points it gave
    assert result.provenance["stop_reason"] == (
        "cut short: train_loader ran out after 10 batches, at point 10 of 30"
    )
    assert any("cut short" in r for r in result.reasons)
    assert test.cut_short is not None
    _assert_same(before, _state(model, opt))
    _assert_rng_same(rng, _rng_states())


def test_a_one_shot_generator_with_accumulation_drops_the_partial_step(digits):
    train, _ = digits
    model = _mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    steps = []
    opt.register_step_post_hook(lambda o, a, k: steps.append(o.param_groups[0]["lr"]))
    with pytest.warns(RuntimeWarning, match="after 20 batches, at point 6 of 30"):
        result = clr_torch.range_test(
            model, opt, _one_shot(train, 20), torch.nn.functional.cross_entropy, num_steps=30,
            accumulation_steps=3, progress=False,
        )  # fmt: skip
    assert len(result.lrs) == len(steps) == 6  # 18 batches in 6 steps; 2 left over, unused


def test_a_one_shot_generator_with_too_few_batches_names_train_loader(digits):
    train, _ = digits
    model = _mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    before = _state(model, opt)
    with (
        pytest.warns(RuntimeWarning, match="cut short"),
        pytest.raises(ValueError, match=r"`train_loader` ran out after 3 point\(s\)"),
    ):
        clr_torch.range_test(
            model, opt, _one_shot(train, 3), torch.nn.functional.cross_entropy, progress=False
        )
    _assert_same(before, _state(model, opt))
    with pytest.raises(ValueError, match="`train_loader` yields no batches"):
        clr_torch.range_test(model, opt, [], torch.nn.functional.cross_entropy, progress=False)


@pytest.mark.parametrize("bad_at", [0, 1, 3])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_non_finite_loss_in_the_first_steps_reads_diverged_at_once(digits, bad_at, bad):
    model, opt, loader = _prepared(digits)
    before, rng = _state(model, opt), _rng_states()
    calls = {"n": 0}

    def step(model, batch):
        loss = _noisy_step(model, batch)
        calls["n"] += 1
        return loss * bad if calls["n"] == bad_at + 1 else loss

    result = clr_torch.range_test(
        model, opt, loader, step_fn=step, start_lr=1e-4, end_lr=1.0, num_steps=30,
        progress=False,
    )  # fmt: skip
    assert len(result.lrs) == bad_at + 1  # every point it had, the non-finite one last
    assert not np.isfinite(result.losses[-1])
    assert result.diverged
    assert result.confidence == 0.0
    assert any("diverged at once" in r and "tart" in r for r in result.reasons), result.reasons
    _assert_same(before, _state(model, opt))
    _assert_rng_same(rng, _rng_states())


@pytest.mark.parametrize(
    ("make", "momentum"),
    [
        (lambda p: torch.optim.SGD(p, lr=0.1), 0.0),
        (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), 0.9),
        (lambda p: torch.optim.Adam(p, betas=(0.8, 0.99)), 0.8),
        (lambda p: torch.optim.Adagrad(p), None),
    ],
)
def test_the_sweeps_momentum_is_recorded_for_recommend(digits, make, momentum):
    train, _ = digits
    model = _mlp()
    opt = make(model.parameters())
    result = clr_torch.range_test(
        model, opt, _loader(train, seed=0), torch.nn.functional.cross_entropy,
        start_lr=1e-4, end_lr=1.0, num_steps=20, progress=False,
    )  # fmt: skip
    recorded = result.provenance["momentum"]
    assert recorded == (None if momentum is None else pytest.approx(momentum))
    again = rangetest.RangeTestResult.from_json(result.to_json())
    assert again.provenance["momentum"] == recorded


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.9, 0.9), (torch.tensor(0.5), 0.5), (None, None), ("0.9", None), (True, None),
     (float("nan"), None), ((), None), (torch.ones(2), None)],
)  # fmt: skip
def test_a_momentum_that_is_not_a_plain_number_is_recorded_as_unknown(value, expected):
    # a custom optimizer's param group is the user's: never a crash at the end of a sweep
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    opt.param_groups[0]["momentum"] = value
    assert sweep_momentum(opt) == expected


def test_the_plan_after_plain_sgd_leaves_its_momentum_at_zero(digits):
    train, _ = digits
    model = _mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)  # momentum 0, torch's default
    loader = _loader(train, seed=0)
    result = clr_torch.range_test(
        model, opt, loader, torch.nn.functional.cross_entropy, progress=False
    )
    plan = result.recommend(len(loader), 3)
    assert plan.momentum is None
    assert any("without momentum" in r for r in plan.reasons)
    sched = clr_torch.ScheduleLR(opt, plan)
    _train(model, opt, sched, loader, 1)
    assert opt.param_groups[0]["momentum"] == 0.0  # still plain SGD
    assert opt.param_groups[0]["lr"] == pytest.approx(plan.lr(len(loader)))
