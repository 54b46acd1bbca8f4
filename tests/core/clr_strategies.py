"""Hypothesis strategies that build valid schedules constructively (no ``assume``)."""

from __future__ import annotations

from hypothesis import strategies as st

import clr_core as C

rates = st.floats(min_value=1e-6, max_value=10.0, allow_nan=False, allow_infinity=False)
half_cycles = st.integers(min_value=1, max_value=500)
shapes = st.sampled_from(["triangle", "welch", "hann"])
gammas = st.floats(min_value=0.9, max_value=1.0, exclude_min=False)


@st.composite
def bounds(draw: st.DrawFn) -> tuple[float, float]:
    base = draw(rates)
    top = draw(st.floats(min_value=base, max_value=base * 100 + 1.0))
    return base, top


@st.composite
def triangular(draw: st.DrawFn) -> C.Triangular:
    base, top = draw(bounds())
    return C.Triangular(base, top, draw(half_cycles), draw(st.none() | half_cycles))


@st.composite
def triangular2(draw: st.DrawFn) -> C.Triangular2:
    base, top = draw(bounds())
    return C.Triangular2(base, top, draw(half_cycles), draw(st.none() | half_cycles))


@st.composite
def exp_range(draw: st.DrawFn) -> C.ExpRange:
    base, top = draw(bounds())
    return C.ExpRange(
        base,
        top,
        draw(half_cycles),
        draw(st.none() | half_cycles),
        gamma=draw(gammas),
        decay=draw(st.sampled_from(["amplitude", "both"])),
    )


@st.composite
def cyclic(draw: st.DrawFn) -> C.Cyclic:
    base, top = draw(bounds())
    scale = draw(
        st.sampled_from([C.ConstantScale(), C.HalvingScale()]) | gammas.map(lambda g: C.ExpScale(g))
    )
    return C.Cyclic(
        base,
        top,
        draw(half_cycles),
        draw(st.none() | half_cycles),
        shape=draw(shapes),
        scale=scale,
        scale_mode=draw(st.sampled_from(["cycle", "iterations"])),
        scale_target=draw(st.sampled_from(["amplitude", "both"])),
    )


@st.composite
def one_cycle(draw: st.DrawFn) -> C.OneCycle:
    n = draw(st.integers(min_value=10, max_value=5000))
    three = draw(st.booleans())
    # every phase must be non-empty: pct * n >= 2 and (three-phase) 2 * pct * n <= n - 1
    lo = 2.5 / n
    hi = 0.45 if three else 0.95
    return C.OneCycle(
        draw(rates),
        n,
        pct_start=draw(st.floats(min_value=lo, max_value=hi)),
        anneal_strategy=draw(st.sampled_from(["cos", "linear"])),
        div_factor=draw(st.floats(min_value=1.0, max_value=1e3)),
        final_div_factor=draw(st.floats(min_value=1.0, max_value=1e5)),
        three_phase=three,
    )


@st.composite
def restarts(draw: st.DrawFn) -> C.CosineRestarts:
    top = draw(rates)
    return C.CosineRestarts(
        top,
        draw(st.integers(min_value=1, max_value=200)),
        draw(st.integers(min_value=1, max_value=4)),
        eta_min=draw(st.floats(min_value=0.0, max_value=top)),
        decay=draw(st.floats(min_value=0.1, max_value=1.0)),
    )


@st.composite
def simple(draw: st.DrawFn) -> C.Schedule:
    start, end = draw(rates), draw(rates)
    return draw(
        st.sampled_from(
            [C.Constant(start), C.Linear(start, end, draw(st.integers(min_value=1, max_value=300)))]
        )
    )


@st.composite
def joined(draw: st.DrawFn) -> C.Join:
    pieces = draw(st.lists(triangular() | one_cycle() | simple(), min_size=1, max_size=3))
    gaps = draw(
        st.lists(
            st.integers(min_value=1, max_value=400),
            min_size=len(pieces) - 1,
            max_size=len(pieces) - 1,
        )
    )
    boundaries, at = [], 0
    for g in gaps:
        at += g
        boundaries.append(at)
    return C.Join(pieces, boundaries)


any_schedule = (
    triangular()
    | triangular2()
    | exp_range()
    | cyclic()
    | one_cycle()
    | restarts()
    | simple()
    | joined()
)
any_with_momentum = any_schedule.map(lambda s: s.momentum())
steps = st.integers(min_value=0, max_value=2**53)
small_steps = st.integers(min_value=0, max_value=20_000)
