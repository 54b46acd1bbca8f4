"""clr_torch.CollapseGuard: the core's collapse guard holding a model's and optimizer's copies."""

from __future__ import annotations

import gc
import io
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from tampering import paths, replaced

import clr_core
from clr_core.rangetest import CollapseGuard as CoreGuard
from clr_torch import CollapseGuard, ScheduleLR

STEPS = 10  # optimizer steps per epoch


def problem(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Least squares on 8 features: the loss's Hessian is 2 X^T X / n, its top eigenvalue
    ``lam``; full-batch gradient descent is stable below ``2 / lam``."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(256, 8, generator=g)
    y = x @ torch.randn(8, 1, generator=g) + 0.1 * torch.randn(256, 1, generator=g)
    lam = float(torch.linalg.eigvalsh(2.0 * x.T @ x / len(x)).max())
    return x, y, lam


def schedule(lam: float, high: float) -> clr_core.Schedule:
    """Three epochs at a safe rate, then ``high / lam`` for good."""
    return clr_core.Join(
        (clr_core.Constant(0.5 / lam), clr_core.Constant(high / lam)), (3 * STEPS,)
    )


def run(
    epochs: int,
    high: float,
    *,
    guarded: bool,
    momentum: float = 0.0,
    resume_at: int | None = None,
    optimizer: str = "sgd",
) -> tuple[list[float], torch.nn.Module, CollapseGuard | None]:
    """Full-batch training; returns each epoch's mean loss, the model and the guard. With
    ``resume_at``, everything is saved at that epoch, loaded into new objects
    (``weights_only=True``) and the run goes on with them."""
    x, y, lam = problem()

    def build() -> tuple[torch.nn.Module, torch.optim.Optimizer, ScheduleLR, CollapseGuard | None]:
        torch.manual_seed(0)
        model = torch.nn.Linear(8, 1)
        if optimizer == "sgd":
            opt: torch.optim.Optimizer = torch.optim.SGD(
                model.parameters(), lr=0.1, momentum=momentum
            )
        else:
            opt = torch.optim.Adam(model.parameters(), lr=0.1)
        sched = ScheduleLR(opt, schedule(lam, high))
        return model, opt, sched, (CollapseGuard(opt, model) if guarded else None)

    model, opt, sched, guard = build()
    losses: list[float] = []
    for epoch in range(epochs):
        if epoch == resume_at:
            buffer = io.BytesIO()
            torch.save(
                {
                    "model": model.state_dict(),
                    "opt": opt.state_dict(),
                    "sched": sched.state_dict(),
                    "guard": None if guard is None else guard.state_dict(),
                },
                buffer,
            )
            buffer.seek(0)
            saved = torch.load(buffer, weights_only=True)
            model, opt, sched, guard = build()
            model.load_state_dict(saved["model"])
            opt.load_state_dict(saved["opt"])
            sched.load_state_dict(saved["sched"])
            if guard is not None:
                guard.load_state_dict(saved["guard"])
        total = 0.0
        for _ in range(STEPS):
            loss = torch.nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach())
        losses.append(total / STEPS)
        if guard is not None and guard.step(losses[-1]) == "diverged":
            break
    return losses, model, guard


def params(model: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


# ------------------------------------------------------------------ what it does


def test_a_run_it_never_fires_on_is_the_unguarded_run_bit_for_bit():
    plain, m0, _ = run(12, 1.5, guarded=False, momentum=0.5)
    guarded, m1, guard = run(12, 1.5, guarded=True, momentum=0.5)
    assert guard is not None
    assert guard.fired == ()
    assert guard.scale == 1.0
    assert plain == guarded
    assert all(torch.equal(a, b) for a, b in zip(params(m0), params(m1), strict=True))


def test_it_rescues_a_run_that_collapses():
    plain, _, _ = run(12, 3.0, guarded=False)  # 3/lam: above the edge 2/lam
    guarded, _, guard = run(12, 3.0, guarded=True)
    assert guard is not None
    assert guard.fired
    assert guard.scale == 0.5
    assert not (plain[-1] < plain[0])  # diverged (or not finite)
    assert guarded[-1] < 0.05 * guarded[0]
    assert guard.fired[0] >= 4  # two epochs that lost their progress, after the jump


def test_a_restore_loads_the_last_copy_and_keeps_the_schedules_values():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = ScheduleLR(
        opt, clr_core.Triangular(0.01, 0.1, 5), momentum=clr_core.Triangular(0.85, 0.95, 5)
    )
    guard = CollapseGuard(opt, model)

    def epoch() -> None:
        for _ in range(3):
            opt.zero_grad()
            model(torch.randn(4, 3)).pow(2).sum().backward()
            opt.step()
            sched.step()

    epoch()
    assert guard.step(1.0) == "keep"
    kept = params(model)
    kept_buffers = [opt.state[p]["momentum_buffer"].clone() for p in model.parameters()]
    epoch()
    assert guard.step(0.5) == "keep"
    kept, kept_buffers = (
        params(model),
        [opt.state[p]["momentum_buffer"].clone() for p in model.parameters()],
    )
    groups = opt.param_groups[0]
    for loss in (0.9,):
        epoch()
        assert guard.step(loss) == "wait"
    epoch()
    hyper = {k: v for k, v in groups.items() if k != "params"}
    assert guard.step(0.95) == "restore"
    assert all(torch.equal(a, b) for a, b in zip(params(model), kept, strict=True))
    assert all(
        torch.equal(opt.state[p]["momentum_buffer"], b)
        for p, b in zip(model.parameters(), kept_buffers, strict=True)
    )
    assert opt.param_groups[0] is groups  # the same dict, the scheduler's values
    assert {k: v for k, v in groups.items() if k != "params"} == hyper
    assert guard.scale == 0.5
    assert guard.fired == (3,)


def test_the_step_runs_at_the_scaled_rate_and_the_group_keeps_the_schedules():
    model = torch.nn.Linear(2, 1, bias=False)
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)  # chainable: reads group lr
    guard = CollapseGuard(opt, model, streak=1)
    assert guard.step(1.0) == "keep"
    assert guard.step(5.0) == "restore"
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 2.0]]))
    for expected_lr in (0.2, 0.1, 0.05):
        assert opt.param_groups[0]["lr"] == pytest.approx(expected_lr)
        before = model.weight.detach().clone()
        opt.zero_grad()
        model(torch.tensor([[1.0, 0.0]])).sum().backward()  # gradient [1, 0]
        opt.step()
        assert opt.param_groups[0]["lr"] == pytest.approx(expected_lr)  # put back after it
        step = before - model.weight.detach()
        assert step[0, 0].item() == pytest.approx(expected_lr * 0.5)
        sched.step()
    assert sched.get_last_lr() == pytest.approx([0.025])  # never compounded


def test_a_tensor_rate_keeps_its_identity_and_is_scaled_for_the_step():
    model = torch.nn.Linear(2, 1, bias=False)
    lr = torch.tensor(0.2)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    guard = CollapseGuard(opt, model, streak=1)
    for _ in range(2):
        opt.zero_grad()
        model(torch.ones(1, 2)).sum().backward()
        opt.step()
    guard.step(1.0)
    assert guard.step(math.nan) == "restore"
    assert opt.param_groups[0]["lr"] is lr
    assert float(lr) == pytest.approx(0.2)
    seen: list[float] = []
    opt.register_step_pre_hook(lambda o, a, k: seen.append(float(o.param_groups[0]["lr"])))
    opt.zero_grad()
    model(torch.ones(1, 2)).sum().backward()
    opt.step()
    assert seen == [pytest.approx(0.1)]
    assert opt.param_groups[0]["lr"] is lr
    assert float(lr) == pytest.approx(0.2)


def test_a_step_that_raises_does_not_leave_the_rate_scaled():
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    guard = CollapseGuard(opt, model, streak=1)
    guard.step(1.0)
    guard.step(9.0)

    def closure() -> torch.Tensor:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        opt.step(closure)
    assert opt.param_groups[0]["lr"] == 0.1  # scaled: the post-hook did not run
    opt.step()  # the next step puts the schedule's value back first
    assert opt.param_groups[0]["lr"] == 0.2


def test_remove_and_garbage_collection_stop_the_scaling():
    for how in ("remove", "gc"):
        model = torch.nn.Linear(2, 1, bias=False)
        opt = torch.optim.SGD(model.parameters(), lr=0.2)
        guard: CollapseGuard | None = CollapseGuard(opt, model, streak=1)
        assert guard is not None
        guard.step(1.0)
        guard.step(9.0)
        if how == "remove":
            guard.remove()
        else:
            guard = None
            gc.collect()
        seen: list[float] = []

        def record(o, a, k, seen=seen):
            seen.append(o.param_groups[0]["lr"])

        opt.register_step_pre_hook(record)
        opt.step()
        assert seen == [0.2], how
        assert len(opt._optimizer_step_pre_hooks) == 1, how  # only the recorder is left


def test_a_non_finite_loss_with_no_tries_left_is_diverged():
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    guard = CollapseGuard(opt, model, tries=0)
    assert guard.step(torch.tensor(1.0)) == "keep"
    assert not guard.diverged
    assert guard.step(torch.tensor(math.inf)) == "diverged"
    assert guard.diverged
    assert guard.scale == 1.0


def test_the_grad_scaler_is_restored_with_the_model():
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    scaler.scale(torch.tensor(1.0))  # the scale tensor is made on first use
    guard = CollapseGuard(opt, model, scaler=scaler, streak=1)
    guard.step(1.0)
    scaler.update(new_scale=2.0)  # a cascade of overflows
    assert scaler.get_scale() == 2.0
    assert guard.step(9.0) == "restore"
    assert scaler.get_scale() == 1024.0
    disabled = torch.amp.GradScaler("cpu", enabled=False)  # no state: nothing to restore
    other = CollapseGuard(opt, model, scaler=disabled, streak=1)
    other.step(1.0)
    assert other.step(9.0) == "restore"


def test_offloaded_copies_live_on_the_cpu_and_restore():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    guard = CollapseGuard(opt, model, offload=True, streak=1)
    opt.zero_grad()
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    guard.step(1.0)
    kept = params(model)
    state = guard.state_dict()
    assert all(t.device.type == "cpu" for t in state["model"].values())
    opt.step()
    guard.step(5.0)
    assert all(torch.equal(a, b) for a, b in zip(params(model), kept, strict=True))


# ------------------------------------------------------------------ state


@pytest.mark.parametrize("split", [2, 5, 8])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_resume_through_weights_only_is_exact(split, optimizer):
    momentum = 0.5 if optimizer == "sgd" else 0.0
    whole, m0, g0 = run(12, 3.0, guarded=True, momentum=momentum, optimizer=optimizer)
    resumed, m1, g1 = run(
        12, 3.0, guarded=True, momentum=momentum, optimizer=optimizer, resume_at=split
    )
    assert g0 is not None
    assert g1 is not None
    assert whole == resumed
    assert g0.fired == g1.fired
    assert g0.scale == g1.scale
    assert all(torch.equal(a, b) for a, b in zip(params(m0), params(m1), strict=True))


def test_the_decision_is_the_cores():
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    guard = CollapseGuard(opt, model, lost=0.3, streak=3, backoff=0.25, tries=2)
    core = CoreGuard(lost=0.3, streak=3, backoff=0.25, tries=2)
    for loss in (3.0, 1.0, 2.0, 2.5, 2.6, 0.8, math.nan, 0.7, math.inf, 0.5):
        assert guard.step(loss) == core.update(loss)
    assert guard.state_dict()["guard"] == core.state_dict()


def _snapshot(guard: CollapseGuard, model: torch.nn.Module, opt: torch.optim.Optimizer) -> str:
    buffer = io.BytesIO()
    torch.save({"g": guard.state_dict(), "m": model.state_dict(), "o": opt.state_dict()}, buffer)
    return buffer.getvalue().hex()


def _trained() -> tuple[CollapseGuard, torch.nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    scaler = torch.amp.GradScaler("cpu")
    guard = CollapseGuard(opt, model, scaler=scaler)
    for loss in (2.0, 1.0, 1.8):
        opt.zero_grad()
        model(torch.randn(5, 3)).sum().backward()
        opt.step()
        guard.step(loss)
    return guard, model, opt


@pytest.mark.parametrize(
    ("path", "bad", "field"),
    [
        ((), [], "state_dict"),
        (("format",), "clr_torch.CollapseGuard/2", "state_dict"),
        (("extra",), 1, "state_dict"),
        (("guard", "best"), 9.0, "best"),
        (("guard", "config", "lost"), 2.0, "lost"),
        (("model", "0.weight"), torch.zeros(3, 4), "0.weight"),
        (("model", "0.weight"), [[0.0]], "0.weight"),
        (("model", "0.weight"), torch.full((4, 3), math.nan), "0.weight"),
        (("model", "1.running_mean"), torch.zeros(4, dtype=torch.float64), "running_mean"),
        (("model", "junk"), torch.zeros(1), "model"),
        (("optimizer", 0, "exp_avg"), torch.zeros(7), "exp_avg"),
        (("optimizer", 0, "exp_avg"), {"a": 1}, "exp_avg"),
        (("optimizer", 0, "extra"), torch.zeros(1), "optimizer"),
        (("optimizer", 0, "exp_avg"), torch.full((4, 3), math.inf), "exp_avg"),
        (("optimizer", 0, "step"), torch.tensor(math.nan), "step"),
        (("optimizer", 99), {}, "optimizer"),
        (("optimizer", "0"), {}, "optimizer"),
        (("optimizer", 1), [], "optimizer"),
        (("scaler", "scale"), -1.0, "scale"),
        (("scaler", "scale"), math.nan, "scale"),
        (("scaler", "scale"), "1", "scale"),
        (("scaler", "scale"), 10**400, "scale"),
        (("scaler", "growth_interval"), 2.5, "growth_interval"),
        (("scaler", "growth_interval"), 0, "growth_interval"),
        (("scaler", "_growth_tracker"), -1, "_growth_tracker"),
        (("scaler", "backoff_factor"), 1.5, "backoff_factor"),
        (("scaler", "growth_factor"), 0.5, "growth_factor"),
        (("scaler", "junk"), 1.0, "scaler"),
        (("scaler",), None, "scaler"),
    ],
)
def test_a_tampered_state_is_refused_naming_the_field_and_changes_nothing(path, bad, field):
    guard, model, opt = _trained()
    state = guard.state_dict()
    tampered = replaced(state, path, bad)
    before = _snapshot(guard, model, opt)
    with pytest.raises((ValueError, TypeError), match=field):
        guard.load_state_dict(tampered)
    assert _snapshot(guard, model, opt) == before


VALUES = (
    st.none()
    | st.booleans()
    | st.integers(-3, 400)
    | st.sampled_from(
        [
            10**400,
            2**53,
            "nan",
            "x",
            torch.zeros(2),
            torch.zeros(4, 3),
            torch.tensor(math.nan),
            torch.zeros(4, dtype=torch.int64),
        ]
    )
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.lists(st.floats(0.0, 2.0), max_size=3)
    | st.dictionaries(st.text(max_size=4), st.integers(), max_size=2)
)


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_fuzz_a_refused_state_changes_nothing_and_an_accepted_one_trains(data):
    guard, _model, _opt = _trained()
    state = guard.state_dict()
    path = data.draw(st.sampled_from(paths(state)))
    tampered = replaced(state, path, data.draw(VALUES))
    target, target_model, target_opt = _trained()
    before = _snapshot(target, target_model, target_opt)
    try:
        target.load_state_dict(tampered)
    except (ValueError, TypeError):
        assert _snapshot(target, target_model, target_opt) == before
        return
    # an accepted state restores and trains without error
    for loss in (5.0, 6.0, 1.0):
        target_opt.zero_grad()
        target_model(torch.randn(5, 3)).sum().backward()
        target_opt.step()
        target.step(loss)


# ------------------------------------------------------------------ arguments


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"optimizer": "sgd"}, "optimizer"),
        ({"model": {"weight": 1}}, "model"),
        ({"scaler": 1.0}, "scaler"),
        ({"offload": 1}, "offload"),
        ({"lost": 0.0}, "lost"),
        ({"streak": 0}, "streak"),
        ({"backoff": 1.0}, "backoff"),
        ({"tries": -1}, "tries"),
        ({"rise": -1.0}, "rise"),
        ({"patience": 3}, "patience"),
    ],
)
def test_bad_arguments_are_refused_at_construction_naming_them(kwargs, name):
    model = torch.nn.Linear(2, 1)
    args = {"optimizer": torch.optim.SGD(model.parameters(), lr=0.1), "model": model, **kwargs}
    optimizer, module = args.pop("optimizer"), args.pop("model")
    with pytest.raises((ValueError, TypeError), match=name):
        CollapseGuard(optimizer, module, **args)


def test_step_refuses_a_loss_that_is_not_one_number():
    model = torch.nn.Linear(2, 1)
    guard = CollapseGuard(torch.optim.SGD(model.parameters(), lr=0.1), model)
    for bad in (torch.ones(3), "1.0", None, [1.0]):
        with pytest.raises(TypeError, match="loss"):
            guard.step(bad)
    assert guard.decision.epochs == 0
