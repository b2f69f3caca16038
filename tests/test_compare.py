"""Known-answer tests of :mod:`sim.analysis.compare` on synthetic tidy run tables.

The tables have the tidy format of ``sim.experiments.run`` (point, replicate, seed, scenario,
status, error, metrics). Replicate r carries a noise term shared by every scenario (common
random numbers), so the paired difference is known by construction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.analysis import AnalysisError, compare_scenarios, response_surface

SHIFT = 0.5


def crn_table(n_reps: int = 12, shared_sd: float = 1.0, own_sd: float = 0.05,
              rng_seed: int = 0) -> pd.DataFrame:
    """Two scenarios, one point: y = level + shared noise of the replicate + own noise."""
    rng = np.random.default_rng(rng_seed)
    shared = rng.normal(0.0, shared_sd, n_reps)
    rows = []
    for scenario, level in (("baseline", 1.0), ("reform", 1.0 + SHIFT)):
        for r in range(n_reps):
            rows.append({"point": 0, "replicate": r, "seed": 100 + r, "scenario": scenario,
                         "status": "ok", "error": "",
                         "y": level + shared[r] + rng.normal(0.0, own_sd),
                         "z": 2.0 + rng.normal(0.0, 0.1)})
    return pd.DataFrame(rows)


def test_paired_difference_recovers_the_shift_and_beats_unpaired():
    table = crn_table()
    out = compare_scenarios(table, ["y"], reference="baseline")
    row = out[(out.scenario == "reform") & (out.metric == "y")].iloc[0]
    assert row.n_pairs == 12 and row.n == 12
    assert row.diff_ci_low < SHIFT < row.diff_ci_high
    assert abs(row["diff"] - SHIFT) < 0.05
    paired_width = row.diff_ci_high - row.diff_ci_low
    welch_width = row.welch_ci_high - row.welch_ci_low
    assert paired_width < welch_width / 5      # shared noise cancels in the pairs
    # The level interval covers the level and the difference equals the difference of means.
    assert row.ci_low < row["mean"] < row.ci_high
    assert row["diff"] == pytest.approx(row["mean"] - row.reference_mean)
    ref = out[(out.scenario == "baseline") & (out.metric == "y")].iloc[0]
    assert ref["diff"] == 0.0 and ref.diff_ci_low == 0.0


def test_paired_interval_matches_a_t_interval_by_hand():
    table = crn_table(n_reps=5)
    out = compare_scenarios(table, ["y"], conf_level=0.9)
    row = out[out.scenario == "reform"].iloc[0]
    a = table[table.scenario == "reform"].sort_values("replicate")["y"].to_numpy()
    b = table[table.scenario == "baseline"].sort_values("replicate")["y"].to_numpy()
    d = a - b
    from scipy import stats
    half = stats.t.ppf(0.95, 4) * d.std(ddof=1) / np.sqrt(5)
    assert row.diff_ci_low == pytest.approx(d.mean() - half)
    assert row.diff_ci_high == pytest.approx(d.mean() + half)


def test_nan_and_failed_runs_are_refused_by_name():
    table = crn_table(n_reps=4)
    table.loc[(table.scenario == "reform") & (table.replicate == 2), "y"] = np.nan
    table.loc[(table.scenario == "baseline") & (table.replicate == 1), ["status", "error"]] = \
        ["failed", "Traceback ...\nValueError: boom"]
    with pytest.raises(AnalysisError) as info:
        compare_scenarios(table, ["y", "z"])
    message = str(info.value)
    assert "metric 'y'" in message and "replicate=2" in message and "seed=102" in message
    assert "scenario=reform" in message
    assert "failed run: ValueError: boom" in message and "seed=101" in message
    kinds = {(p["scenario"], p["replicate"], p["metric"]) for p in info.value.problems}
    assert kinds == {("reform", 2, "y"), ("baseline", 1, None)}


def test_drop_mode_reports_counts_and_pairs_only_shared_replicates():
    table = crn_table(n_reps=6)
    table.loc[(table.scenario == "reform") & (table.replicate == 2), "y"] = np.nan
    table.loc[(table.scenario == "baseline") & (table.replicate == 1), "status"] = "failed"
    out = compare_scenarios(table, ["y", "z"], missing="drop")
    reform_y = out[(out.scenario == "reform") & (out.metric == "y")].iloc[0]
    assert reform_y.n == 5 and reform_y.n_missing == 1 and reform_y.n_pairs == 4
    reform_z = out[(out.scenario == "reform") & (out.metric == "z")].iloc[0]
    assert reform_z.n == 6 and reform_z.n_pairs == 5
    base_y = out[(out.scenario == "baseline") & (out.metric == "y")].iloc[0]
    assert base_y.n_failed == 1 and base_y.n == 5


def test_unknown_reference_is_refused():
    with pytest.raises(KeyError, match="nowhere"):
        compare_scenarios(crn_table(n_reps=3), ["y"], reference="nowhere")


def test_response_surface_grid_of_means_and_half_widths():
    rows = []
    for point, (a, b) in enumerate([(a, b) for a in (0.0, 1.0) for b in (0.0, 0.5, 1.0)]):
        for r in range(4):
            rows.append({"point": point, "replicate": r, "seed": r, "scenario": "baseline",
                         "status": "ok", "error": "", "lever.a": a, "lever.b": b,
                         "y": 2 * a + b + (r - 1.5) * 0.1})
    grid = response_surface(pd.DataFrame(rows), "lever.a", "lever.b", "y")
    assert len(grid) == 6 and set(grid.n) == {4}
    assert np.allclose(grid["mean"], 2 * grid["lever.a"] + grid["lever.b"])
    assert (grid.half_width > 0).all()
    wide = grid.pivot(index="lever.b", columns="lever.a", values="mean")
    assert wide.shape == (3, 2)
