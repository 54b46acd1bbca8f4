"""Noise-limited readings: a loss that is noisy next to its fall lowers the peak and lr."""

from __future__ import annotations

import itertools
import json
import math
import random

import pytest

from clr_core.rangetest import (
    NOISE_LIMITED,
    NOISY_PEAK_FACTOR,
    PEAK_FACTOR,
    RangeTestResult,
    analyze,
    combine,
    noise_limited,
)
from clr_core.rangetest._analysis import LR_FACTOR, NOISY_LR_FACTOR

LRS = [10 ** (-4 + 5 * i / 199) for i in range(200)]


def v_curve(lr: float) -> float:
    """Flat, falls from 1e-3 to 0.1, blows up."""
    x = math.log10(lr)
    return 2.0 if x < -3 else (2.0 - 0.5 * (x + 3) if x < -1 else 1.0 + 40 * (x + 1) ** 2)


def reading(sigma: float, seed: int = 1) -> RangeTestResult:
    rng = random.Random(seed)
    return analyze(LRS, [v_curve(lr) * math.exp(sigma * rng.gauss(0.0, 1.0)) for lr in LRS])


def test_the_weight_is_zero_below_the_band_one_above_it_and_rises_between():
    a, b = NOISE_LIMITED
    assert noise_limited(a) == 0.0
    assert noise_limited(0.0) == 0.0
    assert noise_limited(math.nan) == 0.0
    assert noise_limited(-1.0) == 0.0
    assert noise_limited(b) == 1.0
    assert noise_limited(10.0) == 1.0
    inside = [a * (b / a) ** (k / 20) for k in range(21)]
    weights = [noise_limited(r) for r in inside]
    assert all(x < y for x, y in itertools.pairwise(weights))
    # continuous: no jump anywhere in the band
    assert max(y - x for x, y in itertools.pairwise(weights)) < 0.06


def test_a_clean_reading_keeps_the_clean_factors():
    r = reading(0.0)
    assert r.noise_weight == 0.0
    edge = r.suggestions["edge"]
    assert r.one_cycle_peak == pytest.approx(PEAK_FACTOR * edge)
    assert r.lr == pytest.approx(min(LR_FACTOR * edge, r.max_lr / 1.25))
    assert not any("noise-limited" in s for s in r.recommend(32, 30).reasons)


def test_a_noisy_reading_is_noise_limited_and_reads_lower():
    clean, noisy = reading(0.0), reading(0.08)
    d = noisy.diagnostics
    assert d["loss_noise"] / d["loss_span"] > NOISE_LIMITED[1]
    assert noisy.noise_weight == 1.0
    edge = noisy.suggestions["edge"]
    # the landmarks barely move; what they are turned into does
    assert edge == pytest.approx(clean.suggestions["edge"], rel=0.1)
    assert noisy.one_cycle_peak == pytest.approx(NOISY_PEAK_FACTOR * edge)
    assert noisy.lr == pytest.approx(max(NOISY_LR_FACTOR * edge, noisy.base_lr))
    plan = noisy.recommend(32, 30)
    assert plan.lr.max_lr == pytest.approx(noisy.one_cycle_peak)
    assert any("noise-limited" in s for s in plan.reasons)
    assert any(f"{NOISY_PEAK_FACTOR:.2g} x the edge" in s for s in plan.reasons)
    # the reading names both causes the benchmarks found: overfitting, and a loss slow to fall
    (why,) = [s for s in plan.reasons if s.startswith("The loss is noisy next to its fall")]
    assert "generalisation" in why
    assert "falls little within the sweep" in why
    assert not any("falls little" in s for s in clean.recommend(32, 30).reasons)
    # the small-batch caveat comes with the noise-limited peak, and only with it
    assert any("small batch" in s for s in plan.reasons)
    assert not any("small batch" in s for s in clean.recommend(32, 30).reasons)


def test_the_rates_fall_steadily_as_the_noise_grows():
    peaks, lrs = [], []
    for sigma in (0.0, 0.02, 0.03, 0.035, 0.04, 0.05, 0.08):
        r = reading(sigma)
        peaks.append(r.one_cycle_peak / r.suggestions["edge"])
        lrs.append(r.lr / r.suggestions["edge"])
    assert all(x >= y * 0.999 for x, y in itertools.pairwise(peaks)), peaks
    assert all(x >= y * 0.999 for x, y in itertools.pairwise(lrs)), lrs
    assert peaks[0] == pytest.approx(PEAK_FACTOR)
    assert peaks[-1] == pytest.approx(NOISY_PEAK_FACTOR)


def test_results_saved_before_the_rule_read_as_clean():
    r = reading(0.08)
    data = json.loads(r.to_json())
    del data["diagnostics"]["noise_limited"]
    old = RangeTestResult.from_dict(data)
    assert old.noise_weight == 0.0
    assert old.one_cycle_peak == pytest.approx(PEAK_FACTOR * old.suggestions["edge"])


def test_the_weight_survives_a_file_round_trip():
    r = reading(0.05)
    back = RangeTestResult.from_json(r.to_json())
    assert back.noise_weight == r.noise_weight
    assert back.one_cycle_peak == r.one_cycle_peak


@pytest.mark.parametrize(
    ("value", "error"),
    [(-0.1, ValueError), (1.5, ValueError), (math.nan, ValueError), ("high", TypeError),
     (None, TypeError), (True, TypeError)],
)  # fmt: skip
def test_a_hostile_weight_in_a_file_is_refused_by_name(value, error):
    data = json.loads(reading(0.05).to_json())
    data["diagnostics"]["noise_limited"] = value
    with pytest.raises(error, match=r"noise_limited"):
        RangeTestResult.from_dict(data)


def test_combine_takes_the_median_weight():
    rs = [reading(0.0, 1), reading(0.08, 2), reading(0.08, 3)]
    assert [r.noise_weight for r in rs] == [0.0, 1.0, 1.0]
    c = combine(rs)
    assert c.noise_weight == 1.0
    assert c.one_cycle_peak == pytest.approx(NOISY_PEAK_FACTOR * c.suggestions["edge"])


def test_the_summary_says_when_a_reading_is_noise_limited():
    assert "noise-limited" not in reading(0.0).summary()
    line = next(x for x in reading(0.08).summary().splitlines() if x.startswith("noise-limited"))
    assert "1.00" in line


def batch_reasons(sigma: float, batch: int | None) -> list[str]:
    rng = random.Random(1)
    losses = [v_curve(lr) * math.exp(sigma * rng.gauss(0.0, 1.0)) for lr in LRS]
    return list(analyze(LRS, losses, batch_size=batch).recommend(32, 30).reasons)


def test_a_small_batch_says_the_best_peak_is_uncertain_on_any_reading():
    for sigma in (0.0, 0.08):  # a clean and a noise-limited reading
        small = batch_reasons(sigma, 16)
        assert sum("The batch is small (16)" in s for s in small) == 1
        assert not any("makes the loss noisy too" in s for s in small)  # said once, not twice
        assert any("peak=0.5 * result.suggestions['edge']" in s for s in small)
        assert not any("batch is small" in s for s in batch_reasons(sigma, 33))
    # how far the plan sits from the edge is named, so the user can compare
    factor = f"this plan takes {PEAK_FACTOR:.2g}"
    assert any(factor in s for s in batch_reasons(0.0, 32))


def test_a_noise_limited_reading_of_unknown_or_large_batch_keeps_the_noise_caveat():
    for batch in (None, 64):
        reasons = batch_reasons(0.08, batch)
        assert any("makes the loss noisy too" in s for s in reasons)
        assert not any("batch is small" in s for s in reasons)
    assert not any("small batch" in s or "batch is small" in s for s in batch_reasons(0.0, None))


def test_a_saved_reading_keeps_its_batch_and_its_reasons():
    r = analyze(LRS, [v_curve(lr) for lr in LRS], batch_size=16)
    back = RangeTestResult.from_json(r.to_json())
    assert back.provenance["batch_size"] == 16
    assert back.recommend(32, 30).reasons == r.recommend(32, 30).reasons
    # a file that wrote the batch as an integral float reads the same
    data = r.to_dict()
    data["provenance"]["batch_size"] = 16.0
    assert RangeTestResult.from_dict(data).recommend(32, 30).reasons == r.recommend(32, 30).reasons
