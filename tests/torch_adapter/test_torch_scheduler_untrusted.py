"""A scheduler state dict is untrusted data: it is validated whole before anything changes.

One test per failure found by hand (tampered checkpoints that wrote into the model or
broke later steps), then Hypothesis fuzzing of ``load_state_dict`` with arbitrary
JSON-like data: the only outcomes allowed are a ValueError/TypeError naming the
field, or a load after which the scheduler steps correctly; a refused load leaves
the scheduler and the optimizer exactly as they were.
"""

from __future__ import annotations

import copy
import io
import math

import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st
from tampering import paths, replaced
from torch.optim import lr_scheduler as tls

import clr_core
import clr_torch


def _sgd():
    torch.manual_seed(0)
    weights = torch.nn.Parameter(torch.randn(3))
    frozen = torch.nn.Parameter(torch.randn(3), requires_grad=False)
    return torch.optim.SGD(
        [{"params": [weights]}, {"params": [frozen], "lr": 0.5}], lr=0.1, momentum=0.9
    )


def _schedule_lr(opt):
    tri = clr_core.Triangular(0.001, 0.1, 5)
    return clr_torch.ScheduleLR(opt, tri, momentum=tri.momentum(0.8, 0.95))


BUILDERS = {
    "ScheduleLR": _schedule_lr,
    "OneCycleLR": lambda opt: clr_torch.OneCycleLR(opt, [0.1, 0.2], total_steps=20),
    "CosineAnnealingWarmRestarts": lambda opt: clr_torch.CosineAnnealingWarmRestarts(opt, 3, 2),
}


def _scheduler(build=_schedule_lr):
    opt = _sgd()
    sched = build(opt)
    for _ in range(7):
        opt.step()
        sched.step()
    return opt, sched


def _weights_only(state):
    """The state as a tampered checkpoint would bring it: through weights_only loading."""
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def _snapshot(opt, sched):
    groups = [
        {k: (v.clone() if isinstance(v, torch.Tensor) else copy.deepcopy(v)) for k, v in g.items()}
        for g in opt.param_groups
    ]
    return sched.state_dict(), groups, sched.get_last_lr(), sched.last_epoch


def _same_snapshot(a, b):
    (sd_a, groups_a, last_a, epoch_a), (sd_b, groups_b, last_b, epoch_b) = a, b
    if (sd_a, last_a, epoch_a) != (sd_b, last_b, epoch_b):
        return False
    for ga, gb in zip(groups_a, groups_b, strict=True):
        if ga.keys() != gb.keys():
            return False
        for k in ga:
            if k == "params":
                if not all(torch.equal(x, y) for x, y in zip(ga[k], gb[k], strict=True)):
                    return False
            elif ga[k] != gb[k]:
                return False
    return True


def _refused(opt, sched, state, exc=(ValueError, TypeError), match=None):
    before = _snapshot(opt, sched)
    with pytest.raises(exc, match=match):
        sched.load_state_dict(state)
    assert _same_snapshot(before, _snapshot(opt, sched))


def _tampered(**changes):
    opt, sched = _scheduler()
    state = sched.state_dict()
    state.update(changes)
    return opt, sched, _weights_only(state)


# --------------------------------------------------------------------------- #
# One test per failure
# --------------------------------------------------------------------------- #


def test_momentum_key_params_never_writes_into_frozen_weights():
    opt, sched, state = _tampered(momentum_key="params")
    frozen = opt.param_groups[1]["params"][0].detach().clone()
    _refused(opt, sched, state, match=r"state_dict\['momentum_key'\].*'params'")
    assert torch.equal(opt.param_groups[1]["params"][0], frozen)


def test_momentum_key_lr_cannot_make_the_optimizer_train_at_the_momentum():
    opt, sched, state = _tampered(momentum_key="lr")
    _refused(opt, sched, state, match=r"state_dict\['momentum_key'\]")
    opt.step()
    sched.step()
    assert [g["lr"] for g in opt.param_groups] == sched.get_last_lr()


def test_momentum_key_of_another_hyper_parameter_is_refused():
    opt, sched, state = _tampered(momentum_key="weight_decay")
    _refused(opt, sched, state, match=r"'momentum', the momentum key of this optimizer")


def test_negative_position_is_refused():
    opt, sched, state = _tampered(position=-5.0)
    _refused(opt, sched, state, match=r"state_dict\['position'\].*>= 0")


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 10**400, "3", True])
def test_non_finite_position_is_refused(bad):
    opt, sched, state = _tampered()
    state["position"] = bad
    _refused(opt, sched, state, match=r"state_dict\['position'\]")
    opt.step()
    sched.step()  # later steps still work
    assert all(math.isfinite(v) for v in sched.get_last_lr())


def test_last_epoch_below_minus_one_is_refused():
    opt, sched, state = _tampered(last_epoch=-5)
    _refused(opt, sched, state, match=r"state_dict\['last_epoch'\].*\[-1, ")


@pytest.mark.parametrize("key", ["params", "lr", "initial_lr", "max_momentum"])
def test_constructor_refuses_a_momentum_key_that_holds_no_momentum(key):
    opt = _sgd()
    before = copy.deepcopy(
        [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    )
    tri = clr_core.Triangular(0.001, 0.1, 5)
    with pytest.raises(ValueError, match=r"momentum_key"):
        clr_torch.ScheduleLR(opt, tri, momentum=tri.momentum(), momentum_key=key)
    with pytest.raises(ValueError, match=r"momentum_key"):
        clr_torch.CyclicLR(opt, 0.001, 0.1, momentum_key=key)
    with pytest.raises(ValueError, match=r"momentum_key"):
        clr_torch.ScheduleLR(opt, tri, momentum_key=key)  # refused even when unused
    assert [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups] == before


def test_a_load_that_fails_half_way_changes_nothing():
    # valid schedules and counters, then one bad entry at the end of the state
    opt, sched = _scheduler()
    other = clr_core.ExpRange(0.01, 0.5, 3, gamma=0.9)
    state = sched.state_dict()
    state["schedules"] = [other.to_config()] * 2
    state["momentum"] = [None, None]
    state["last_epoch"], state["position"] = 40, 40.0
    state["base_lrs"] = [0.01, -1.0]
    _refused(opt, sched, _weights_only(state), match=r"state_dict\['base_lrs'\]\[1\]")
    assert sched.schedules == [clr_core.Triangular(0.001, 0.1, 5)] * 2
    opt.step()
    sched.step()
    assert sched.get_last_lr() == [clr_core.Triangular(0.001, 0.1, 5)(8)] * 2


def test_a_shape_where_a_schedule_belongs_is_refused():
    opt, sched = _scheduler()
    state = sched.state_dict()
    state["schedules"] = [{"type": "Triangle"}, state["schedules"][1]]
    _refused(opt, sched, state, TypeError, match=r"state_dict\['schedules'\]\[0\]")


def test_a_momentum_schedule_above_one_is_refused():
    opt, sched = _scheduler()
    state = sched.state_dict()
    state["momentum"] = [clr_core.Constant(5.0).to_config()] * 2
    _refused(opt, sched, state, ValueError, match=r"state_dict\['momentum'\].*\[0, 1\]")


def test_a_drop_in_refuses_a_tampered_torch_state_without_changes():
    opt = _sgd()
    sched = clr_torch.CyclicLR(opt, 0.01, 0.1, 4)
    state = tls.CyclicLR(_sgd(), 0.01, 0.1, 4).state_dict()
    for field, bad in (
        ("use_beta1", "yes"),
        ("max_momentums", [5.0, 5.0]),
        ("base_lrs", [math.nan, 0.1]),
        ("total_size", 2.5),
        ("_last_lr", [0.1]),
    ):
        _refused(opt, sched, {**state, field: bad})


# --------------------------------------------------------------------------- #
# Fuzzing
# --------------------------------------------------------------------------- #

LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([10**400, -(10**400)])
    # Magnitudes up to 1e300: that the core refuses finite arguments whose formulas
    # overflow (CosineRestarts(1e308, ...)) is the core's test, not this adapter's.
    | st.floats(min_value=-1e300, max_value=1e300)
    | st.sampled_from([math.nan, math.inf, -math.inf])
    | st.text(max_size=8)
    | st.sampled_from(["params", "lr", "momentum", "betas", "Triangular", "Constant", "Join"])
)
JSON_LIKE = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = [
    "format",
    "schedules",
    "momentum",
    "momentum_key",
    "last_epoch",
    "position",
    "_step_count",
    "_last_lr",
    "base_lrs",
]


def _check_outcome(opt, sched, state, field=None):
    before = _snapshot(opt, sched)
    refused = None
    try:
        sched.load_state_dict(state)
    except (ValueError, TypeError) as exc:
        refused = str(exc)
    if refused is not None:
        assert _same_snapshot(before, _snapshot(opt, sched))
        assert "state_dict" in refused
        assert field is None or field in refused, (field, refused)
        return
    # a load that went through: the scheduler is consistent and steps correctly
    again = sched.state_dict()
    assert again == _weights_only(again)
    assert sched.momentum_key in (None, "momentum")
    for _ in range(3):
        opt.step()
        sched.step()
        rates = sched.get_last_lr()
        assert all(math.isfinite(r) and r >= 0.0 for r in rates)
        assert [float(g["lr"]) for g in opt.param_groups] == rates
        for g, m in zip(opt.param_groups, sched.momentum_schedules, strict=True):
            assert 0.0 <= g["momentum"] <= 1.0
            if m is not None:
                assert g["momentum"] == m.evaluate(sched._position)


@given(junk=JSON_LIKE)
@example(junk={})
@example(junk=[])
@example(junk={"format": "clr_torch.ScheduleLR/1"})
def test_fuzz_load_state_dict_with_arbitrary_data(junk):
    opt, sched = _scheduler()
    _check_outcome(opt, sched, junk)


@pytest.mark.parametrize("kind", sorted(BUILDERS))
@given(field=st.sampled_from(FIELDS), value=JSON_LIKE)
@example(field="momentum_key", value="params")
@example(field="position", value=-5)
@example(field="last_epoch", value=-5)
def test_fuzz_load_state_dict_with_one_field_replaced(kind, field, value):
    opt, sched = _scheduler(BUILDERS[kind])
    state = sched.state_dict()
    state[field] = value
    _check_outcome(opt, sched, state, field)


@pytest.mark.parametrize("kind", sorted(BUILDERS))
@given(data=st.data())
def test_fuzz_load_state_dict_with_a_nested_value_replaced(kind, data):
    opt, sched = _scheduler(BUILDERS[kind])
    state = sched.state_dict()
    path = data.draw(st.sampled_from(paths(state)))
    value = data.draw(JSON_LIKE | st.sampled_from([0, 1, -1, 0.5, 2.0, 1e300, "cycle"]))
    _check_outcome(opt, sched, replaced(state, path, value), str(path[0]))


@given(field=st.sampled_from(sorted(tls.CyclicLR(_sgd(), 0.01, 0.1).state_dict())), value=JSON_LIKE)
def test_fuzz_loading_a_tampered_torch_cyclic_state(field, value):
    opt = _sgd()
    sched = clr_torch.CyclicLR(opt, 0.01, 0.1, 4)
    state = tls.CyclicLR(_sgd(), 0.02, 0.2, 6).state_dict()
    state[field] = value
    before = _snapshot(opt, sched)
    try:
        sched.load_state_dict(state)
    except (ValueError, TypeError):
        assert _same_snapshot(before, _snapshot(opt, sched))
        return
    opt.step()
    sched.step()
    assert all(math.isfinite(r) and r >= 0.0 for r in sched.get_last_lr())


@pytest.mark.parametrize("key", ["initial_lr", "min_lr"])
def test_a_torch_one_cycle_state_with_a_zero_rate_in_its_groups_is_refused(key):
    # the peak and floor of a torch OneCycleLR state sit in the optimizer's param groups,
    # restored from the same checkpoint: a 0 there was a ZeroDivisionError (div_factor =
    # max_lr / initial_lr, final_div_factor = initial_lr / min_lr)
    source = _sgd()
    torch_sched = tls.OneCycleLR(source, [0.1, 0.2], total_steps=20)
    for _ in range(3):
        source.step()
        torch_sched.step()
    opt_state = copy.deepcopy(source.state_dict())
    opt_state["param_groups"][1][key] = 0.0
    opt = _sgd()
    sched = clr_torch.OneCycleLR(opt, [0.1, 0.2], total_steps=20)
    opt.load_state_dict(opt_state)
    where = rf"param_groups\[1\]\['{key}'\]` must be > 0"
    _refused(opt, sched, torch_sched.state_dict(), ValueError, match=where)


@pytest.mark.parametrize("field", ["mode", "scale_mode"])
def test_a_torch_cyclic_state_with_an_unhashable_mode_is_refused_naming_it(field):
    # a list as mode gave "unhashable type: 'list'", naming nothing
    opt = _sgd()
    sched = clr_torch.CyclicLR(opt, 0.01, 0.1, 4)
    state = tls.CyclicLR(_sgd(), 0.01, 0.1, 4).state_dict()
    _refused(opt, sched, {**state, field: [state[field]]}, match=rf"state_dict\['{field}'\]")
