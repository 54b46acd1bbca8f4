"""Bad input raises at construction (or at call for the step), naming argument and value."""

from __future__ import annotations

import math

import pytest

import clr_core as C

NAN, INF = math.nan, math.inf


@pytest.mark.parametrize(
    ("make", "exc", "arg"),
    [
        (lambda: C.Triangular(NAN, 1.0, 10), ValueError, "base_lr"),
        (lambda: C.Triangular(0.1, INF, 10), ValueError, "max_lr"),
        (lambda: C.Triangular(-0.1, 1.0, 10), ValueError, "base_lr"),
        (lambda: C.Triangular(0.5, 0.1, 10), ValueError, "max_lr"),
        (lambda: C.Triangular(0.1, 1.0, 0), ValueError, "step_size_up"),
        (lambda: C.Triangular(0.1, 1.0, 2.5), ValueError, "step_size_up"),
        (lambda: C.Triangular(0.1, 1.0, 10, 0), ValueError, "step_size_down"),
        (lambda: C.Triangular(0.1, 1.0, True), TypeError, "step_size_up"),
        (lambda: C.Triangular("0.1", 1.0, 10), TypeError, "base_lr"),
        (lambda: C.Triangular2(0.1, 1.0, -3), ValueError, "step_size_up"),
        (lambda: C.ExpRange(0.1, 1.0, 10, gamma=0.0), ValueError, "gamma"),
        (lambda: C.ExpRange(0.1, 1.0, 10, gamma=1.5), ValueError, "gamma"),
        (lambda: C.ExpRange(0.1, 1.0, 10, gamma=NAN), ValueError, "gamma"),
        (lambda: C.ExpRange(0.1, 1.0, 10, decay="lower"), ValueError, "decay"),
        (lambda: C.Cyclic(0.1, 1.0, 10, shape="square"), ValueError, "shape"),
        (lambda: C.Cyclic(0.1, 1.0, 10, shape=3), TypeError, "shape"),
        (lambda: C.Cyclic(0.1, 1.0, 10, scale=lambda x: 1.0), TypeError, "scale"),
        (lambda: C.Cyclic(0.1, 1.0, 10, scale_mode="epoch"), ValueError, "scale_mode"),
        (lambda: C.Cyclic(0.1, 1.0, 10, scale_target="x"), ValueError, "scale_target"),
        (lambda: C.OneCycle(1.0, 1), ValueError, "total_steps"),
        (lambda: C.OneCycle(1.0, 100, pct_start=0.0), ValueError, "pct_start"),
        (lambda: C.OneCycle(1.0, 100, pct_start=1.0), ValueError, "pct_start"),
        (lambda: C.OneCycle(1.0, 100, pct_start=0.001), ValueError, "pct_start"),
        (lambda: C.OneCycle(1.0, 100, pct_start=0.6, three_phase=True), ValueError, "pct_start"),
        (lambda: C.OneCycle(1.0, 100, anneal_strategy="exp"), ValueError, "anneal_strategy"),
        (lambda: C.OneCycle(1.0, 100, div_factor=0.0), ValueError, "div_factor"),
        (lambda: C.OneCycle(1.0, 100, final_div_factor=-1.0), ValueError, "final_div_factor"),
        (lambda: C.OneCycle(1.0, 100, three_phase=1), TypeError, "three_phase"),
        (lambda: C.OneCycle(NAN, 100), ValueError, "max_lr"),
        (lambda: C.CosineRestarts(1.0, 0), ValueError, "T_0"),
        (lambda: C.CosineRestarts(1.0, 10, 0), ValueError, "T_mult"),
        (lambda: C.CosineRestarts(1.0, 10, eta_min=2.0), ValueError, "eta_min"),
        (lambda: C.CosineRestarts(1.0, 10, decay=0.0), ValueError, "decay"),
        (lambda: C.Linear(0.0, 1.0, 0), ValueError, "num_steps"),
        (lambda: C.Constant(-1.0), ValueError, "value"),
        (lambda: C.Join([], []), ValueError, "schedules"),
        (lambda: C.Join([C.Constant(1.0), C.Constant(2.0)], []), ValueError, "boundaries"),
        (
            lambda: C.Join([C.Constant(1.0), C.Constant(2.0), C.Constant(3.0)], [5, 5]),
            ValueError,
            "boundaries",
        ),
        (lambda: C.Join([C.Constant(1.0), 0.5], [3]), TypeError, "schedules[1]"),
        (lambda: C.Triangular(0.1, 1.0, 10).momentum(0.9, 0.8), ValueError, "max_momentum"),
        (lambda: C.OneCycle(1.0, 100).momentum(-0.1, 0.9), ValueError, "base_momentum"),
        (lambda: C.Inverse(C.Constant(1.0), 0.5, 1.5), ValueError, "max_momentum"),
        (lambda: C.warmup(C.Constant(1.0), 0), ValueError, "steps"),
    ],
)
def test_bad_arguments_raise_at_construction_naming_argument_and_value(make, exc, arg) -> None:
    with pytest.raises(exc) as info:
        make()
    msg = str(info.value)
    assert f"`{arg}`" in msg
    assert "Received:" in msg


def test_message_shows_the_received_value() -> None:
    with pytest.raises(ValueError, match=r"Received: max_lr=0\.05"):
        C.Triangular(0.1, 0.05, 10)


@pytest.mark.parametrize(
    ("step", "exc"),
    [
        (-1, ValueError),
        (-1.0, ValueError),
        (2.5, ValueError),
        (math.nan, ValueError),
        (math.inf, ValueError),
        (True, TypeError),
        ("3", TypeError),
        (None, TypeError),
        (b"3", TypeError),
    ],
)
def test_bad_steps_raise_at_call_time(step, exc) -> None:
    with pytest.raises(exc, match="`step`"):
        C.Triangular(0.1, 1.0, 10)(step)


def test_any_integral_step_type_is_accepted() -> None:
    import fractions

    class MyInt(int):
        pass

    s = C.Triangular(0.1, 1.0, 10)
    assert s(MyInt(10)) == 1.0
    assert s(10.0) == s(10) == s(fractions.Fraction(20, 2))  # whole numbers of steps
    assert type(s(10.0)) is float
    with pytest.raises(ValueError, match="whole number"):
        s(fractions.Fraction(1, 2))


# --------------------------------------------------------------------------- #
# clr_core.validation: the shared checks themselves
# --------------------------------------------------------------------------- #


def test_validation_checks_normalise_and_name_the_argument() -> None:
    from clr_core import validation as v

    assert v.real("x", 3) == 3.0
    assert type(v.real("x", 3)) is float
    assert v.integer("n", 4.0) == 4
    assert type(v.integer("n", 4.0)) is int
    assert v.interval("lo", 1, "hi", 2) == (1.0, 2.0)
    assert v.momentum_pair(0.85, 0.95) == (0.85, 0.95)
    assert v.choice("mode", "a", ("a", "b")) == "a"
    assert v.boolean("flag", True) is True
    assert v.step(10**400) == 10**400
    with pytest.raises(ValueError, match=r"Argument `hi` must be >= lo=2.0\. Received: hi=1"):
        v.interval("lo", 2, "hi", 1)
    with pytest.raises(ValueError, match="max_momentum"):
        v.momentum_pair(0.5, 1.5)
    with pytest.raises(ValueError, match=r"`n` must be <= 9007199254740992 \(2\*\*53\)"):
        v.integer("n", 2**53 + 1, high=v.MAX_STEPS)
    with pytest.raises(ValueError, match="`x` must be finite"):
        v.real("x", 10**400)  # an int too large for a float is not finite
    with pytest.raises(TypeError, match="`flag` must be a bool"):
        v.boolean("flag", 1)
    with pytest.raises(TypeError, match=r"`s` must be a thing\. Received: s=3"):
        v.instance("s", 3, str, "a thing")


def test_old_private_check_names_stay_importable() -> None:
    from clr_core import validation as v
    from clr_core._base import _fail, boolean, choice, integer, real

    assert (boolean, choice, integer, real) == (v.boolean, v.choice, v.integer, v.real)
    assert _fail is v.fail
