"""Known-answer tests of :mod:`sim.analysis.sensitivity` (Sobol, Morris via SALib).

* Ishigami function (a = 7, b = 0.1): analytic first-order indices S1 = (0.314, 0.442, 0)
  and total indices ST = (0.558, 0.442, 0.244), recovered within the bootstrap interval,
  through the experiment pipeline (``sim.experiments.run`` with ``run_fn``, Sobol design).
* A linear function through the pipeline (Morris design): mu* equals each coefficient (lever
  ranges [0, 1]), so the ranking is known.
* Failed runs, missing values, absent runs and a shuffled point order are refused by name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from SALib.sample import sobol as sobol_sample

from sim import experiments
from sim.analysis import (
    AnalysisError,
    morris_indices,
    sensitivity_indices,
    sobol_indices,
)
from sim.experiments.testfns import ishigami_indices

ISHIGAMI_PROBLEM = {"num_vars": 3, "names": ["x1", "x2", "x3"],
                    "bounds": [[-np.pi, np.pi]] * 3}
ISHIGAMI_S1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ISHIGAMI_ST = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}
NOISE_SD = 0.01   # seed noise added to the Ishigami output (tiny against its sd of ~3.7)


def ishigami(params: dict, scenario: str, seed: int) -> dict[str, float]:
    """Ishigami function (a = 7, b = 0.1) plus a little noise drawn from the seed and the
    point (so, like the model's, it differs between points run with the same seed)."""
    x1, x2, x3 = params["x1"], params["x2"], params["x3"]
    y = np.sin(x1) + 7.0 * np.sin(x2) ** 2 + 0.1 * x3 ** 4 * np.sin(x1)
    point_key = [int(abs(v) * 1e9) for v in (x1, x2, x3)]
    noise = np.random.default_rng([seed, *point_key]).normal(0.0, NOISE_SD)
    return {"y": float(y + noise), "x1_echo": float(x1)}


def tidy_table(problem: dict, sample: np.ndarray, fn, replicates: int = 2) -> pd.DataFrame:
    """The tidy table ``sim.experiments.run`` writes, built by hand from a SALib sample
    (for the cases the pipeline is not needed for: refusals, Morris, second order)."""
    rows = []
    for point, values in enumerate(sample):
        params = dict(zip(problem["names"], values))
        for replicate in range(replicates):
            seed = 1000 + replicate
            rows.append({"point": point, "replicate": replicate, "seed": seed,
                         "scenario": "test", **params, "status": "ok", "error": "",
                         **fn(params, "test", seed + 7919 * point), "wall_s": 0.0})
    return pd.DataFrame(rows)


def ishigami_table(n_base: int, out) -> tuple[pd.DataFrame, dict]:
    """Ishigami over a Saltelli design, run through the experiment pipeline
    (``sim.experiments.run`` with ``run_fn``, serial executor)."""
    spec = experiments.load_spec({
        "name": "ishigami", "scenarios": ["fn"],
        "levers": {name: {"low": -np.pi, "high": np.pi} for name in ISHIGAMI_PROBLEM["names"]},
        "design": {"kind": "sobol", "n": n_base, "calc_second_order": False},
        "replicates": 2, "master_seed": 3,
    })
    result = experiments.run(spec, executor="serial", run_fn=ishigami, out=out, progress=False)
    return result.table, result.metadata["problem"]


def test_analytic_ishigami_indices():
    exact = ishigami_indices()
    for name in ISHIGAMI_PROBLEM["names"]:
        assert exact["S1"][name] == pytest.approx(ISHIGAMI_S1[name], abs=1e-3)
        assert exact["ST"][name] == pytest.approx(ISHIGAMI_ST[name], abs=1e-3)


def test_ishigami_sobol_indices_match_the_analytic_values(tmp_path):
    table, problem = ishigami_table(512, tmp_path)
    assert len(table) == 512 * 5 * 2 and (table.status == "ok").all()
    out = sobol_indices(table, problem, ["y"], num_resamples=200)
    again = sensitivity_indices(table, {"design": {"kind": "sobol", "calc_second_order": False},
                                        "problem": problem}, ["y"], num_resamples=200)
    pd.testing.assert_frame_equal(out, again)
    first = out[out.order == 1].set_index("parameter")
    assert list(first.index) == ["x1", "x2", "x3"]
    for name in first.index:
        row = first.loc[name]
        # Within the 95 % bootstrap interval (doubled: the interval is itself estimated),
        # and never looser than 0.1.
        assert abs(row.S1 - ISHIGAMI_S1[name]) <= min(2 * row.S1_conf, 0.1) + 0.01, name
        assert abs(row.ST - ISHIGAMI_ST[name]) <= min(2 * row.ST_conf, 0.1) + 0.01, name
    # Seed noise is reported beside the indices and is negligible here.
    assert (first.n_replicates == 2).all()
    assert first.seed_variance.iloc[0] == pytest.approx(NOISE_SD ** 2, rel=0.3)
    assert first.noise_share.iloc[0] < 1e-4
    assert first.point_variance.iloc[0] == pytest.approx(13.84, rel=0.1)  # var of Ishigami


def test_sobol_second_order_rows():
    sample = sobol_sample.sample(ISHIGAMI_PROBLEM, 256, calc_second_order=True, seed=5)
    table = tidy_table(ISHIGAMI_PROBLEM, sample, ishigami, replicates=1)
    out = sobol_indices(table, ISHIGAMI_PROBLEM, ["y"], num_resamples=100)
    pairs = out[out.order == 2].set_index(["parameter", "parameter_2"])
    assert len(pairs) == 3
    # The only interaction of the Ishigami function is x1 x x3 (S13 = 0.244).
    assert pairs.loc[("x1", "x3"), "S2"] > 0.1
    assert abs(pairs.loc[("x1", "x2"), "S2"]) < 0.1
    assert np.isnan(out.seed_variance).all()  # one replicate: no seed variance


LINEAR = {"a.big": 5.0, "a.mid": 2.0, "a.small": 0.5, "a.none": 0.0}


def linear(params: dict, scenario: str, seed: int) -> dict[str, float]:
    """y = sum of coefficient x lever (levers on [0, 1]) plus tiny noise."""
    key = [int(params[k] * 1e6) for k in LINEAR]
    return {"y": sum(c * params[k] for k, c in LINEAR.items())
            + np.random.default_rng([seed, *key]).normal(0.0, 0.001)}


def test_morris_ranks_the_parameters_of_a_linear_function(tmp_path):
    spec = experiments.load_spec({
        "name": "linear", "scenarios": ["fn"],
        "levers": {name: {"low": 0.0, "high": 1.0} for name in LINEAR},
        "design": {"kind": "morris", "n": 20, "levels": 4}, "replicates": 3, "master_seed": 2,
    })
    result = experiments.run(spec, executor="serial", run_fn=linear, out=tmp_path,
                             progress=False)
    out = sensitivity_indices(result.table, result.metadata, ["y"]).set_index("parameter")
    assert list(out.sort_values("mu_star", ascending=False).index) == list(LINEAR)
    for name, coefficient in LINEAR.items():
        assert out.loc[name, "mu_star"] == pytest.approx(coefficient, abs=0.01)
        assert out.loc[name, "mu"] == pytest.approx(coefficient, abs=0.01)
        assert out.loc[name, "sigma"] < 0.01            # linear: no interaction
    assert (out.n_replicates == 3).all()
    assert out.noise_share.iloc[0] < 1e-3


def test_nan_and_failed_runs_are_refused_with_their_names():
    sample = sobol_sample.sample(ISHIGAMI_PROBLEM, 8, calc_second_order=False, seed=1)
    table = tidy_table(ISHIGAMI_PROBLEM, sample, ishigami)
    table.loc[(table.point == 7) & (table.replicate == 1), "y"] = np.nan
    table.loc[(table.point == 3) & (table.replicate == 0), ["status", "error"]] = \
        ["failed", "RuntimeError: diverged"]
    with pytest.raises(AnalysisError) as info:
        sobol_indices(table, ISHIGAMI_PROBLEM, ["y", "x1_echo"])
    message = str(info.value)
    assert "metric 'y'" in message and "point=7" in message and "seed=1001" in message
    assert "failed run: RuntimeError: diverged" in message and "point=3" in message
    assert {(p["point"], p["replicate"], p["metric"]) for p in info.value.problems} == \
        {(7, 1, "y"), (3, 0, None)}
    with pytest.raises(AnalysisError, match="point=7"):
        morris_indices(table, ISHIGAMI_PROBLEM, ["y"])


def test_incomplete_design_and_wrong_point_order_are_refused():
    sample = sobol_sample.sample(ISHIGAMI_PROBLEM, 8, calc_second_order=False, seed=1)
    table = tidy_table(ISHIGAMI_PROBLEM, sample, ishigami)
    absent = table.drop(table[(table.point == 4) & (table.replicate == 1)].index)
    with pytest.raises(AnalysisError, match="point 4, replicate 1: run absent"):
        sobol_indices(absent, ISHIGAMI_PROBLEM, ["y"])
    shuffled = table.copy()
    order = np.random.default_rng(0).permutation(len(sample))
    shuffled["point"] = order[shuffled["point"]]
    with pytest.raises(AnalysisError, match="Saltelli order"):
        sobol_indices(shuffled, ISHIGAMI_PROBLEM, ["y"])
    with pytest.raises(AnalysisError, match="not a Saltelli sample"):
        sobol_indices(table[table.point < 7], ISHIGAMI_PROBLEM, ["y"])
