"""Known-answer tests of :mod:`sim.analysis` (warm-up detection, stationarity, DiD).

All data are synthetic, drawn with seeded ``numpy.random.default_rng`` generators, so every
expected value is known by construction and every test is deterministic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.analysis import (
    detect_warmup,
    did_estimate,
    did_over_seeds,
    mean_ci,
    mser,
    mser_replicated,
    paired_effect,
    placebo_did,
    stationarity,
    welch,
)

# --------------------------------------------------------------------------------------------
# Synthetic data
# --------------------------------------------------------------------------------------------


def exponential_transient(
    rng: np.random.Generator, n_steps: int = 300, tau: float = 10.0,
    n_replicates: int | None = None, amplitude: float = 5.0, noise: float = 0.1,
) -> np.ndarray:
    """y_t = amplitude * exp(-t / tau) + N(0, noise^2); one row per replicate if asked."""
    t = np.arange(n_steps)
    shape = (n_steps,) if n_replicates is None else (n_replicates, n_steps)
    return amplitude * np.exp(-t / tau) + rng.normal(0.0, noise, shape)


def tidy_frame(matrices: dict[str, np.ndarray]) -> pd.DataFrame:
    """Long table (seed, step, metric columns) from replicates x steps matrices."""
    first = next(iter(matrices.values()))
    seeds, steps = np.meshgrid(np.arange(first.shape[0]), np.arange(first.shape[1]),
                               indexing="ij")
    columns = {"seed": seeds.ravel(), "step": steps.ravel()}
    columns.update({name: matrix.ravel() for name, matrix in matrices.items()})
    return pd.DataFrame(columns)


N_STREETS = 10
N_STEPS = 104  # steps 0..104 (two years of weeks)
TREAT_START = 53


def street_frame(
    seed: int, effect: float, *, noise: float = 0.01, pilot: bool = True,
    extra_noise: float = 0.0,
) -> pd.DataFrame:
    """One run's by_street table: street fixed effects + common trend + effect + noise.

    Streets 0..4 are pilots (if ``pilot``); from step TREAT_START on their metric rises by
    ``effect``. The same ``seed`` gives the same fixed effects, trend and noise (common random
    numbers); ``extra_noise`` adds run-specific noise drawn from a different stream.
    """
    rng = np.random.default_rng(seed)
    steps = np.arange(N_STEPS + 1)
    street_effects = rng.normal(0.0, 0.1, N_STREETS)
    trend = 0.3 + 0.002 * steps + np.cumsum(rng.normal(0.0, 0.005, steps.size))
    is_pilot = np.arange(N_STREETS) < N_STREETS // 2
    values = (street_effects[:, None] + trend[None, :]
              + rng.normal(0.0, noise, (N_STREETS, steps.size)))
    values += effect * (is_pilot[:, None] & (steps[None, :] >= TREAT_START))
    if extra_noise:
        values += np.random.default_rng([seed, 1]).normal(0.0, extra_noise, values.shape)
    return pd.DataFrame({
        "street": np.repeat(np.arange(N_STREETS), steps.size),
        "step": np.tile(steps, N_STREETS),
        "metric": values.ravel(),
        "pilot": np.repeat(is_pilot & pilot, steps.size),
    })


# --------------------------------------------------------------------------------------------
# MSER-5
# --------------------------------------------------------------------------------------------


def test_mser_exponential_transient_truncates_between_20_and_80():
    series = exponential_transient(np.random.default_rng(2024))
    truncation = mser(series)
    assert 20 <= truncation <= 80
    assert truncation % 5 == 0


def test_mser_exponential_transient_median_over_seeds_is_near_the_decay():
    # 5 exp(-t/10) falls to the noise level (0.1) at t = 10 ln 50 ~ 39.
    truncations = [mser(exponential_transient(np.random.default_rng(seed)))
                   for seed in range(20)]
    assert 30 <= np.median(truncations) <= 60


def test_mser_white_noise_truncates_little():
    series = np.random.default_rng(7).normal(0.0, 1.0, 300)
    assert mser(series) <= 0.15 * series.size


def test_mser_constant_series_is_zero():
    assert mser(np.full(100, 3.5)) == 0


def test_mser_fills_interior_nan_forward():
    series = exponential_transient(np.random.default_rng(3))
    with_gaps = series.copy()
    with_gaps[[17, 120, 121, 299]] = np.nan
    filled = series.copy()
    filled[17], filled[[120, 121]], filled[299] = series[16], series[119], series[298]
    assert mser(with_gaps) == mser(filled)


def test_mser_leading_nan_keeps_step_alignment():
    series = exponential_transient(np.random.default_rng(3))
    series[:3] = np.nan
    assert 20 <= mser(series) <= 80


def test_mser_all_nan_raises():
    with pytest.raises(ValueError, match="all NaN"):
        mser(np.full(50, np.nan))


def test_mser_too_short_or_bad_parameters_raise():
    with pytest.raises(ValueError, match="two batches"):
        mser(np.arange(9.0))
    with pytest.raises(ValueError, match="batch"):
        mser(np.arange(50.0), batch=0)
    with pytest.raises(ValueError, match="max_fraction"):
        mser(np.arange(50.0), max_fraction=1.0)


def test_mser_respects_max_fraction():
    # A linear ramp never settles: MSER picks the largest truncation allowed.
    ramp = np.linspace(0.0, 1.0, 200)
    assert mser(ramp, max_fraction=0.25) <= 50


def test_mser_batch_one_is_plain_mser():
    series = exponential_transient(np.random.default_rng(11))
    assert 20 <= mser(series, batch=1) <= 80


def test_mser_replicated_uses_nan_mean_of_replicates():
    matrix = exponential_transient(np.random.default_rng(5), n_replicates=8)
    truncation = mser_replicated(matrix)
    assert 20 <= truncation <= 80
    matrix[0, :] = np.nan  # a replicate without data changes nothing
    matrix[1, 40:60] = np.nan
    assert 20 <= mser_replicated(matrix) <= 80


# --------------------------------------------------------------------------------------------
# Welch
# --------------------------------------------------------------------------------------------


def test_welch_detects_replicated_transient():
    # 5 exp(-t/10) falls inside the default band (2 % of the 5-unit range = 0.1) at t ~ 39.
    matrix = exponential_transient(np.random.default_rng(8), n_steps=400, n_replicates=10)
    assert 30 <= welch(matrix) <= 50


def test_welch_longer_transient_gives_longer_warmup():
    rng = np.random.default_rng(9)
    warmups = [welch(exponential_transient(rng, n_steps=400, tau=tau, n_replicates=10))
               for tau in (5, 20, 40)]
    assert warmups[0] < warmups[1] < warmups[2]
    assert 10 <= warmups[0] <= 35 and 60 <= warmups[1] <= 100 and 130 <= warmups[2] <= 200


def test_welch_stationary_noise_needs_no_warmup():
    matrix = np.random.default_rng(10).normal(0.0, 0.1, (10, 400))
    assert welch(matrix) <= 40


def test_welch_absolute_tolerance_widens_or_narrows_the_band():
    matrix = exponential_transient(np.random.default_rng(12), n_steps=400, n_replicates=10)
    assert welch(matrix, abs_tol=1.0) < welch(matrix, abs_tol=0.05)


def test_welch_never_exceeds_half_the_run():
    ramp = np.tile(np.linspace(0.0, 1.0, 200), (3, 1))
    assert welch(ramp) <= 100


# --------------------------------------------------------------------------------------------
# Tidy front ends
# --------------------------------------------------------------------------------------------


def test_detect_warmup_one_row_per_metric():
    rng = np.random.default_rng(13)
    frame = tidy_frame({
        "transient": exponential_transient(rng, n_steps=200, n_replicates=6),
        "flat": rng.normal(1.0, 0.1, (6, 200)),
    })
    table = detect_warmup(frame, ["transient", "flat"])
    assert list(table.columns) == ["metric", "mser5_steps", "welch_steps", "warmup_steps",
                                   "first_steady_step", "n_replicates", "n_steps"]
    assert list(table["metric"]) == ["transient", "flat"]
    assert (table["warmup_steps"] == table[["mser5_steps", "welch_steps"]].max(axis=1)).all()
    assert (table["n_replicates"] == 6).all() and (table["n_steps"] == 200).all()
    transient, flat = table.to_dict("records")
    assert 20 <= transient["warmup_steps"] <= 80
    assert flat["warmup_steps"] < transient["warmup_steps"]


def test_detect_warmup_rejects_duplicate_rows_and_missing_columns():
    frame = tidy_frame({"x": np.random.default_rng(14).normal(size=(2, 20))})
    with pytest.raises(ValueError, match="several rows"):
        detect_warmup(pd.concat([frame, frame.iloc[:1]]), "x")
    with pytest.raises(KeyError, match="missing_metric"):
        detect_warmup(frame, "missing_metric")


def test_stationarity_passes_on_noise_and_fails_on_drift():
    rng = np.random.default_rng(15)
    steps = np.arange(200)
    frame = tidy_frame({
        "flat_share": rng.normal(0.4, 0.05, (8, 200)),
        "flat_count": rng.normal(10.0, 0.5, (8, 200)),
        "drift": 10.0 + 0.02 * steps + rng.normal(0.0, 0.5, (8, 200)),
    })
    table = stationarity(frame, ["flat_share", "flat_count", "drift"], early=(50, 99),
                         late=(150, 199), shares=["flat_share"]).set_index("metric")
    assert table.loc["flat_share", "passes"] and table.loc["flat_count", "passes"]
    assert table.loc["flat_share", "tolerance_kind"] == "absolute"
    assert table.loc["flat_share", "tolerance"] == pytest.approx(0.03)
    assert table.loc["flat_count", "tolerance"] == pytest.approx(0.05 * 10.0, rel=0.02)
    assert table.loc["flat_count", "ci_low"] < 0.0 < table.loc["flat_count", "ci_high"]
    assert not table.loc["drift", "passes"]
    # Drift of 0.02/step over 100 steps = +2.
    assert table.loc["drift", "difference"] == pytest.approx(2.0, abs=0.1)
    assert table.loc["drift", "ci_low"] > 0.0
    assert (table["n_replicates"] == 8).all()


def test_stationarity_rejects_empty_window():
    frame = tidy_frame({"x": np.random.default_rng(16).normal(size=(2, 20))})
    with pytest.raises(ValueError, match="no rows"):
        stationarity(frame, "x", early=(0, 9), late=(50, 60))


def test_mean_ci_matches_hand_computation():
    summary = mean_ci([1.0, 2.0, 3.0, 4.0])
    # sd = 1.29099, se = 0.645497, t(0.975, 3) = 3.182446
    assert summary["mean"] == pytest.approx(2.5)
    assert summary["se"] == pytest.approx(0.645497, rel=1e-5)
    assert summary["ci_low"] == pytest.approx(2.5 - 3.182446 * 0.645497, rel=1e-5)
    assert np.isnan(mean_ci([1.0])["se"])


# --------------------------------------------------------------------------------------------
# Difference in differences
# --------------------------------------------------------------------------------------------


def test_did_one_run_recovers_known_effect():
    result = did_estimate(street_frame(1, effect=0.1), "metric", TREAT_START)
    assert result["did"] == pytest.approx(0.1, abs=0.02)
    assert result["n_pilot"] == 5 and result["n_control"] == 5
    assert result["pre"] == (1, TREAT_START - 1) and result["post"] == (TREAT_START, N_STEPS)
    assert type(result["post"][1]) is int
    assert result["did"] == pytest.approx((result["pilot_post"] - result["pilot_pre"])
                                          - (result["control_post"] - result["control_pre"]))


def test_did_explicit_windows():
    frame = street_frame(2, effect=0.1)
    result = did_estimate(frame, "metric", TREAT_START, pre=(40, 52), post=(53, 60))
    assert result["did"] == pytest.approx(0.1, abs=0.02)


def test_did_weights_streets_equally():
    frame = street_frame(3, effect=0.1)
    # Street 0 loses half of its post rows: pooling rows would weight it less than the
    # other pilot streets; per-street means first must not.
    thinned = frame.drop(frame[(frame["street"] == 0) & (frame["step"] % 2 == 1)
                               & (frame["step"] >= TREAT_START)].index)
    post = thinned[thinned["step"] >= TREAT_START]
    street_means = post[post["pilot"]].groupby("street")["metric"].mean()
    result = did_estimate(thinned, "metric", TREAT_START)
    assert result["pilot_post"] == pytest.approx(street_means.mean(), rel=1e-12)
    assert result["pilot_post"] != pytest.approx(post[post["pilot"]]["metric"].mean(),
                                                 rel=1e-9)
    assert result["did"] == pytest.approx(0.1, abs=0.02)


def test_did_over_seeds_interval_covers_true_effect():
    tables = {seed: street_frame(seed, effect=0.1) for seed in range(20)}
    result = did_over_seeds(tables, "metric", TREAT_START)
    assert result["n_seeds"] == 20 and len(result["values"]) == 20
    assert result["ci_low"] < 0.1 < result["ci_high"]
    assert result["mean"] == pytest.approx(0.1, abs=0.01)
    assert result["se"] > 0.0


def test_did_over_seeds_accepts_one_long_frame():
    tables = {seed: street_frame(seed, effect=0.1) for seed in range(5)}
    long = pd.concat([frame.assign(seed=seed) for seed, frame in tables.items()])
    assert did_over_seeds(long, "metric", TREAT_START)["values"] == pytest.approx(
        did_over_seeds(tables, "metric", TREAT_START)["values"])


def test_did_over_seeds_zero_effect_covers_zero():
    # Seeds independent of the other DiD tests, so this is a separate coverage check.
    tables = {seed: street_frame(seed, effect=0.0) for seed in range(100, 120)}
    result = did_over_seeds(tables, "metric", TREAT_START)
    assert result["ci_low"] < 0.0 < result["ci_high"]


def test_placebo_in_pre_period_covers_zero():
    tables = {seed: street_frame(seed, effect=0.1) for seed in range(20)}
    result = placebo_did(tables, "metric", fake_start=27, pre_end=TREAT_START - 1)
    assert result["ci_low"] < 0.0 < result["ci_high"]
    assert abs(result["mean"]) < 0.01


def test_placebo_rejects_fake_start_outside_pre_period():
    with pytest.raises(ValueError, match="fake_start"):
        placebo_did({0: street_frame(0, 0.1)}, "metric", fake_start=60, pre_end=52)


def test_paired_effect_recovers_effect_with_common_random_numbers():
    treated = {seed: street_frame(seed, effect=0.1, extra_noise=0.005) for seed in range(10)}
    untreated = {seed: street_frame(seed, effect=0.0, pilot=False) for seed in range(10)}
    result = paired_effect(treated, untreated, "metric", (TREAT_START, N_STEPS))
    assert result["mean"] == pytest.approx(0.1, abs=0.005)
    assert result["ci_low"] < 0.1 < result["ci_high"]
    assert result["streets"] == [0, 1, 2, 3, 4]
    spill_over = paired_effect(treated, untreated, "metric", (TREAT_START, N_STEPS),
                               streets="control")
    assert spill_over["ci_low"] < 0.0 < spill_over["ci_high"]


def test_paired_effect_needs_common_seeds():
    with pytest.raises(ValueError, match="share no seed"):
        paired_effect({0: street_frame(0, 0.1)}, {1: street_frame(1, 0.0)}, "metric", (53, 60))


def test_empty_pilot_group_raises():
    with pytest.raises(ValueError, match="pilot"):
        did_estimate(street_frame(4, effect=0.1, pilot=False), "metric", TREAT_START)


def test_empty_control_group_raises():
    frame = street_frame(4, effect=0.1).assign(pilot=True)
    with pytest.raises(ValueError, match="control"):
        did_estimate(frame, "metric", TREAT_START)


def test_pilot_flag_must_be_constant_per_street():
    frame = street_frame(5, effect=0.1)
    frame.loc[frame.index[0], "pilot"] = not frame.loc[frame.index[0], "pilot"]
    with pytest.raises(ValueError, match="constant"):
        did_estimate(frame, "metric", TREAT_START)
