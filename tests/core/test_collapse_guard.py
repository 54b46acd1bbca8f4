"""CollapseGuard: when it fires, what it leaves alone, and its state as untrusted data."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clr_core.rangetest import GUARD_ACTIONS, CollapseGuard


def feed(guard: CollapseGuard, losses: list[float]) -> list[str]:
    return [guard.update(x) for x in losses]


def test_a_run_that_goes_well_is_kept_at_every_epoch() -> None:
    guard = CollapseGuard()
    assert feed(guard, [2.3, 1.2, 0.8, 0.85, 0.6, 0.55]) == ["keep"] * 6
    assert guard.fired == ()
    assert guard.scale == 1.0
    assert (guard.first, guard.best) == (2.3, 0.55)


def test_a_collapse_fires_after_the_streak_and_halves_the_scale() -> None:
    guard = CollapseGuard()
    # best 0.5, first 2.3: an epoch loses its progress above 0.5 + 0.5 * 1.8 = 1.4
    assert feed(guard, [2.3, 0.9, 0.5, 1.41, 1.6]) == ["keep", "keep", "keep", "wait", "restore"]
    assert guard.fired == (4,)
    assert guard.scale == 0.5
    # after the restore the streak starts again, and a good epoch is kept
    assert feed(guard, [0.45, 1.5, 1.5]) == ["keep", "wait", "restore"]
    assert guard.fired == (4, 7)
    assert guard.scale == 0.25


def test_one_noisy_epoch_does_not_fire_with_the_default_streak() -> None:
    guard = CollapseGuard()
    assert feed(guard, [2.3, 0.9, 0.5, 1.5, 0.48]) == ["keep", "keep", "keep", "wait", "keep"]
    assert guard.fired == ()
    # the first screen's trigger (streak 1) fires on it
    once = CollapseGuard(streak=1)
    assert feed(once, [2.3, 0.9, 0.5, 1.5]) == ["keep", "keep", "keep", "restore"]


def test_with_a_rise_a_wobble_on_a_plateau_near_the_start_is_kept() -> None:
    # the first epoch barely above the best: half the progress is crossed by a wobble
    plain = CollapseGuard(rise=0.0)  # the second trigger's rule
    wobble = [1.02, 1.01, 1.017, 1.018]
    assert feed(plain, wobble) == ["keep", "keep", "wait", "restore"]
    guard = CollapseGuard()  # rise 0.1, the default
    assert feed(guard, wobble) == ["keep"] * 4
    # a real collapse rises by more than a tenth of the best, and fires
    assert feed(guard, [1.6, 2.3]) == ["wait", "restore"]
    # the boundary of the rise: exactly half the best above it is kept (progress: 1.3)
    edge = CollapseGuard(lost=0.1, rise=0.5, streak=1)
    feed(edge, [4.0, 1.0])
    assert edge.update(1.5) == "keep"
    assert edge.update(math.nextafter(1.5, 2.0)) == "restore"


def test_a_negative_best_loss_uses_its_size_for_the_rise() -> None:
    guard = CollapseGuard(rise=0.5, streak=1)
    feed(guard, [0.0, -2.0])  # best -2: a rise must exceed 0.5 * 2 = 1
    assert guard.update(-1.0) == "keep"  # -1.0 is exactly half the progress and a rise of 1
    assert guard.update(-0.5) == "restore"


def test_a_state_saved_before_rise_existed_loads_with_rise_zero() -> None:
    guard = CollapseGuard()
    feed(guard, [2.0, 1.0, 1.8])
    state = guard.state_dict()
    del state["config"]["rise"]
    again = CollapseGuard.from_state_dict(state)
    assert again.rise == 0.0
    assert again.update(1.9) == guard.update(1.9) == "restore"


def test_the_boundary_is_exactly_the_lost_share_of_the_progress() -> None:
    guard = CollapseGuard(streak=1)
    feed(guard, [3.0, 1.0])
    assert guard.update(2.0) == "keep"  # 1.0 + 0.5 * 2.0 = 2.0 is not above the bound
    assert guard.update(math.nextafter(2.0, 3.0)) == "restore"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_loss_fires_at_once_even_on_the_first_epoch(bad: float) -> None:
    guard = CollapseGuard(streak=5)
    assert guard.update(bad) == "restore"  # the caller restores its copy from before training
    assert guard.first is None
    assert feed(guard, [2.0, bad]) == ["keep", "restore"]


def test_with_no_tries_left_a_finite_loss_waits_and_a_non_finite_one_diverges() -> None:
    guard = CollapseGuard(streak=1, tries=1)
    assert feed(guard, [2.0, 1.0, 1.9, 1.9, math.nan]) == [
        "keep", "keep", "restore", "wait", "diverged"
    ]  # fmt: skip
    assert guard.fired == (2,)
    assert guard.scale == 0.5
    assert CollapseGuard(tries=0).update(math.inf) == "diverged"


def test_every_answer_is_one_of_the_documented_actions() -> None:
    guard = CollapseGuard(streak=1, tries=2)
    answers = feed(guard, [2.0, 1.0, 5.0, math.nan, math.nan, 1.0])
    assert set(answers) <= set(GUARD_ACTIONS)
    assert "diverged" in answers


def test_a_zero_dimensional_array_like_loss_is_read_as_a_number() -> None:
    class Scalar:
        def __float__(self) -> float:
            return 0.75

    assert CollapseGuard().update(Scalar()) == "keep"


@pytest.mark.parametrize("bad", ["1.0x", "1.0", None, [1.0], True, 10**400])
def test_a_loss_that_is_not_a_number_is_a_type_error(bad: object) -> None:
    guard = CollapseGuard()
    with pytest.raises(TypeError, match="loss"):
        guard.update(bad)
    assert guard.epochs == 0  # nothing was counted


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"lost": 0.0}, "lost"),
        ({"lost": 1.5}, "lost"),
        ({"lost": math.nan}, "lost"),
        ({"rise": -0.1}, "rise"),
        ({"rise": math.inf}, "rise"),
        ({"rise": "0.1"}, "rise"),
        ({"streak": 0}, "streak"),
        ({"streak": 1.5}, "streak"),
        ({"backoff": 1.0}, "backoff"),
        ({"backoff": 0.0}, "backoff"),
        ({"tries": -1}, "tries"),
        ({"tries": "3"}, "tries"),
    ],
)
def test_bad_arguments_are_refused_naming_the_argument(kwargs: dict, name: str) -> None:
    with pytest.raises((ValueError, TypeError), match=name):
        CollapseGuard(**kwargs)


losses = st.lists(
    st.one_of(st.floats(0.0, 10.0), st.sampled_from([math.nan, math.inf])), max_size=30
)


@given(losses, losses, st.integers(1, 3), st.integers(0, 3))
def test_a_restored_guard_continues_exactly(
    before: list[float], after: list[float], streak: int, tries: int
) -> None:
    guard = CollapseGuard(streak=streak, tries=tries)
    feed(guard, before)
    state = json.loads(json.dumps(guard.state_dict()))
    restored = CollapseGuard.from_state_dict(state)
    assert feed(restored, after) == feed(guard, after)
    assert restored.state_dict() == guard.state_dict()


def _state(**changes: object) -> dict:
    guard = CollapseGuard(streak=1)
    feed(guard, [2.0, 1.0, 1.9, 0.9])
    state = guard.state_dict()
    state.update(changes)
    return state


@pytest.mark.parametrize(
    ("changes", "name"),
    [
        ({"format": "other"}, "state"),
        ({"extra": 1}, "state"),
        ({"config": {"lost": 0.5}}, "config"),
        ({"config": {"lost": 2.0, "streak": 1, "backoff": 0.5, "tries": 3}}, "lost"),
        ({"epochs": -1}, "epochs"),
        ({"epochs": 10**400}, "epochs"),
        ({"failing": 9}, "failing"),
        ({"fired": [5]}, "fired"),
        ({"fired": [2, 2]}, "fired"),
        ({"fired": [0, 1, 2, 3]}, "fired"),
        ({"fired": "2"}, "fired"),
        ({"first": None}, "best"),
        ({"best": 3.0}, "best"),
        ({"first": math.nan}, "first"),
        ({"best": "0.9"}, "best"),
        ({"first": None, "best": None}, "first"),
    ],
)
def test_a_hostile_state_is_refused_naming_the_field(changes: dict, name: str) -> None:
    with pytest.raises((ValueError, TypeError), match=name):
        CollapseGuard.from_state_dict(_state(**changes))


def test_a_state_with_the_streak_reached_and_tries_left_is_refused() -> None:
    state = CollapseGuard(streak=2).state_dict()
    state.update(epochs=3, first=2.0, best=1.0, failing=2)
    with pytest.raises(ValueError, match="failing"):
        CollapseGuard.from_state_dict(state)


def test_state_is_plain_json_and_repr_names_the_configuration() -> None:
    guard = CollapseGuard(lost=0.25, streak=3, backoff=0.3, tries=2)
    feed(guard, [1.0, math.inf])
    assert json.loads(json.dumps(guard.state_dict())) == guard.state_dict()
    assert repr(guard) == "CollapseGuard(lost=0.25, streak=3, backoff=0.3, tries=2, rise=0.1)"


@given(st.lists(st.floats(0.0, 10.0), min_size=1, max_size=40), st.integers(1, 3))
def test_a_loss_that_never_rises_is_kept_at_every_epoch(falls: list[float], streak: int) -> None:
    guard = CollapseGuard(streak=streak)
    losses = sorted(falls, reverse=True)
    assert feed(guard, losses) == ["keep"] * len(losses)
    assert guard.scale == 1.0


@given(
    st.lists(st.floats(0.1, 10.0), min_size=1, max_size=20),
    st.floats(0.0, 1.0, exclude_max=True),
    st.integers(1, 4),
    st.sampled_from([0.0, 0.1]),
)
def test_a_loss_back_at_its_start_fires_after_exactly_the_streak(
    falls: list[float], depth: float, streak: int, rise: float
) -> None:
    losses = sorted(falls, reverse=True)
    start = losses[0]
    if rise:  # the new low must lie more than a tenth below the start (1.01 / 0.9 > 1.1)
        depth = min(depth, 0.9 * start / losses[-1])
    losses.append(depth * losses[-1])  # a new low: the progress to lose
    guard = CollapseGuard(streak=streak, rise=rise)
    feed(guard, losses)
    lost = [start * 1.01] * streak  # back above where it started: more than half the progress
    assert feed(guard, lost) == ["wait"] * (streak - 1) + ["restore"]
    assert guard.fired == (len(losses) + streak - 1,)


@given(st.lists(st.floats(1.0, 1.1, exclude_max=True), min_size=1, max_size=40))
def test_a_plateau_within_a_tenth_never_fires_with_the_default_rise(losses: list[float]) -> None:
    guard = CollapseGuard(streak=1)  # even one epoch would do without the rise
    assert set(feed(guard, losses)) == {"keep"}
    assert guard.fired == ()
