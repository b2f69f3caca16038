"""Experiments (sim.experiments): spec validation, seeds, designs, executors, resume, CLI.

Model runs here are classroom-sized with a 10-week spin-up and 10 steps (≈ 0.1 s each); the
pipeline's statistics are checked on the Ishigami function through ``run_fn``.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.experiments import (
    build_design,
    load_spec,
    n_points,
    replicate_seed,
    replicate_seeds,
    run,
)
from sim.experiments.cli import main as cli_main
from sim.experiments.spec import list_experiments, series_names, summary_metric_names
from sim.experiments.testfns import ishigami, ishigami_indices

ROOT = Path(__file__).resolve().parents[1]
PI = math.pi

#: A tiny model experiment: 2 scenarios × 4 points × 2 replicates = 16 runs of ≈ 0.1 s.
TINY = {
    "name": "tiny",
    "scenarios": ["baseline", "admin_overload"],
    "levers": {"admin.burden": [0.2, 0.8], "evaluation.period": {"low": 4, "high": 13}},
    "design": {"kind": "factorial", "levels": 2},
    "replicates": 2,
    "master_seed": 5,
    "population": "classroom",
    "overrides": ["spin_up=10"],
    "steps": 10,
    "metrics": ["satisfaction", "closure_rate", "trust", "backlog"],
    "series": ["backlog"],
}


def ishigami_spec(kind="sobol", n=64, **extra) -> dict:
    spec = {"name": "ishigami", "scenarios": ["fn"],
            "levers": {f"x{i}": {"low": -PI, "high": PI} for i in (1, 2, 3)},
            "design": {"kind": kind, "n": n}, "master_seed": 11}
    spec.update(extra)
    return spec


def same_table(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.drop(columns="wall_s"), b.drop(columns="wall_s"))


# --------------------------------------------------------------------------- spec validation


def _error(spec: dict) -> sim.ConfigError:
    with pytest.raises(sim.ConfigError) as info:
        load_spec(spec)
    return info.value


def test_unknown_keys_are_refused_by_name():
    e = _error({**TINY, "replicate": 3})
    assert e.field == "replicate" and "unknown key" in str(e)
    e = _error({**TINY, "design": {"kind": "factorial", "n": 4}})
    assert e.field == "design.n"
    e = _error({**TINY, "levers": {"admin.burdn": [0.1]}})
    assert e.field == "levers.admin.burdn" and "unknown field" in str(e)


def test_lever_range_outside_schema_names_field_bounds_and_range():
    e = _error({**TINY, "design": {"kind": "lhs", "n": 4},
                "levers": {"admin.burden": {"low": 0.2, "high": 1.5}}})
    assert e.field == "levers.admin.burden"
    text = str(e)
    assert "1.5" in text and "0.2" in text and "[0, 1]" in text
    e = _error({**TINY, "levers": {"evaluation.period": [4, 500]}})
    assert e.field == "levers.evaluation.period" and e.value == 500 and "[1, 104]" in e.allowed


def test_bad_metric_and_series_names_are_refused():
    e = _error({**TINY, "metrics": ["satisfaction", "happiness"]})
    assert e.field == "metrics" and e.value == "happiness"
    e = _error({**TINY, "series": ["trust_final"]})  # a summary key, not a per-step series
    assert e.field == "series" and e.value == "trust_final"


def test_other_spec_errors():
    assert _error({**TINY, "design": {"kind": "sobol", "n": 100},
                   "levers": {"admin.burden": {"low": 0, "high": 1}}}).field == "design.n"
    assert _error({**TINY, "design": {"kind": "morris", "n": 4}}).field == "levers.admin.burden"
    assert _error({**TINY, "design": {"kind": "grid"}}).field == "design.kind"
    assert _error({**TINY, "overrides": ["seed=3"]}).field == "overrides"
    assert _error({**TINY, "overrides": ["admin.burden=0.3"]}).field == "overrides"
    assert _error({**TINY, "scenarios": ["baseline", "utopia"]}).field == "scenario"
    assert _error({**TINY, "replicates": 0}).field == "replicates"
    assert _error({**TINY, "levers": {"seed": [1, 2]}}).field == "levers.seed"
    assert _error(ishigami_spec(steps=10)).field == "steps"


def test_spec_round_trips_and_shipped_specs_load():
    spec = load_spec(TINY)
    assert load_spec(spec.to_dict()) == spec
    sizes = {"burden_authority_grid": 75, "sobol_levers": 6144, "morris_levers": 520,
             "lhs_levers": 400}
    assert set(sizes) <= set(list_experiments())
    for name, runs in sizes.items():
        s = load_spec(name)
        assert s.name == name
        assert n_points(s) * len(s.scenarios) * s.replicates == runs, name


def test_summary_and_series_names_match_a_run():
    r = sim.run("baseline", seed=1, steps=3, overrides=["population=classroom", "spin_up=2"])
    assert tuple(r.summary) == summary_metric_names()
    assert tuple(r.timeseries.columns) == series_names()


# --------------------------------------------------------------------------- seeds


def test_replicate_seeds_are_crn_and_stable_when_replicates_grow():
    assert replicate_seeds(7, 3) == replicate_seeds(7, 10)[:3]
    children = np.random.SeedSequence(7).spawn(4)
    assert replicate_seeds(7, 4) == [int(c.generate_state(1)[0]) for c in children]
    assert len(set(replicate_seeds(7, 50))) == 50
    assert replicate_seed(7, 0) != replicate_seed(8, 0)

    spec = load_spec({**TINY, "replicates": 3})
    from sim.experiments import plan

    tasks = plan(spec).tasks
    for r in range(3):
        assert {t.seed for t in tasks if t.replicate == r} == {replicate_seed(5, r)}


# --------------------------------------------------------------------------- designs


@pytest.mark.parametrize(("design", "levers", "expected"), [
    ({"kind": "factorial"}, {"a": [1.0, 2.0, 3.0], "b": [0.0, 1.0]}, 6),
    ({"kind": "factorial", "levels": 4}, {"a": {"low": 0, "high": 1}, "b": [0.0, 1.0]}, 8),
    ({"kind": "factorial"}, {}, 1),
    ({"kind": "lhs", "n": 17}, {"a": {"low": 0, "high": 1}, "b": {"low": 0, "high": 1}}, 17),
    ({"kind": "sobol", "n": 16}, {k: {"low": 0, "high": 1} for k in "abc"}, 16 * 8),
    ({"kind": "sobol", "n": 16, "calc_second_order": False}, {k: {"low": 0, "high": 1} for k in "abc"},
     16 * 5),
    ({"kind": "morris", "n": 6, "levels": 4}, {k: {"low": 0, "high": 1} for k in "abcd"}, 6 * 5),
])
def test_design_sizes(design, levers, expected):
    spec = load_spec({"name": "d", "scenarios": ["fn"], "levers": levers, "design": design})
    d = build_design(spec)
    assert n_points(spec) == d.n_points == expected
    assert list(d.points.columns) == list(levers)
    assert d.problem["num_vars"] == len(levers) and d.problem["names"] == list(levers)
    for j, name in enumerate(levers):
        lo, hi = d.problem["bounds"][j]
        assert d.points[name].between(lo, hi).all()


def test_designs_are_reproducible_and_integer_levers_rounded():
    spec = load_spec({**TINY, "design": {"kind": "lhs", "n": 30},
                      "levers": {"admin.burden": {"low": 0.1, "high": 0.9},
                                 "evaluation.period": {"low": 4, "high": 13}}})
    a, b = build_design(spec), build_design(spec)
    pd.testing.assert_frame_equal(a.points, b.points)
    assert a.points["evaluation.period"].dtype == np.int64
    assert a.points["evaluation.period"].between(4, 13).all()
    other = build_design(load_spec({**spec.to_dict(), "master_seed": 6}))
    assert not np.allclose(other.points["admin.burden"], a.points["admin.burden"])


# --------------------------------------------------------------------------- executors


def test_serial_processes_and_dask_give_identical_tables(tmp_path):
    results = {ex: run(TINY, executor=ex, workers=2, out=tmp_path / ex, progress=False)
               for ex in ("serial", "processes", "dask")}
    serial = results["serial"]
    t = serial.table
    assert len(t) == 16 and (t["status"] == "ok").all()
    assert list(t.columns[:8]) == ["point", "replicate", "seed", "scenario", "admin.burden",
                                   "evaluation.period", "status", "error"]
    assert list(t.columns[8:]) == TINY["metrics"] + ["wall_s"]
    assert list(t["scenario"].unique()) == ["baseline", "admin_overload"]
    assert t.equals(t.sort_values(["point", "replicate"]).sort_values(
        "scenario", key=lambda s: s.map({"baseline": 0, "admin_overload": 1}), kind="stable"))
    # replicate r shares its seed across points and scenarios (common random numbers)
    assert t.groupby("replicate")["seed"].nunique().eq(1).all()
    for ex in ("processes", "dask"):
        same_table(serial.table, results[ex].table)
        pd.testing.assert_frame_equal(serial.series, results[ex].series)
        assert results[ex].metadata["executor"]["kind"] == ex
    # one experiment run equals the plain API with the same seed and overrides
    row = t.iloc[5]
    direct = sim.run(row["scenario"], seed=int(row["seed"]), steps=10,
                     overrides=["population=classroom", "spin_up=10",
                                f"admin.burden={row['admin.burden']}",
                                f"evaluation.period={row['evaluation.period']}"]).summary
    assert row["satisfaction"] == direct["satisfaction"]
    assert row["trust"] == direct["trust"]
    # series: one row per step 0..10 of each run
    assert len(serial.series) == 16 * 11
    assert (tmp_path / "serial" / "series.parquet").exists()


def test_failing_runs_are_recorded_and_the_rest_complete(tmp_path):
    # campaign_length 20 > campaign_period 13: that point's runs fail validation
    spec = {**TINY, "scenarios": ["baseline"], "replicates": 1, "series": None,
            "levers": {"admin.campaign_length": [3, 20, 5]}}
    res = run(spec, executor="serial", out=tmp_path / "x", progress=False)
    t = res.table
    assert list(t["status"]) == ["ok", "failed", "ok"]
    assert "admin.campaign_length" in t.loc[1, "error"] and t.loc[0, "error"] == ""
    assert math.isnan(t.loc[1, "satisfaction"]) and not math.isnan(t.loc[2, "satisfaction"])
    assert res.metadata["runs"]["failed"] == 1 and res.metadata["runs"]["ok"] == 2


def _flaky(params, scenario, seed):
    if params["x1"] > 2.5:
        raise ValueError("x1 too large")
    return ishigami(params, scenario, seed)


def test_failing_run_fn_is_recorded(tmp_path):
    res = run(ishigami_spec(kind="lhs", n=40), executor="serial", out=tmp_path, progress=False,
              run_fn=_flaky)
    failed = res.table[res.table["status"] == "failed"]
    assert len(failed) == (res.table["x1"] > 2.5).sum() > 0
    assert failed["error"].str.contains("ValueError: x1 too large").all()
    assert failed["y"].isna().all() and res.table.loc[res.table.status == "ok", "y"].notna().all()


def test_failed_runs_are_retried_on_resume(tmp_path):
    spec = ishigami_spec(kind="lhs", n=40)
    first = run(spec, executor="serial", out=tmp_path, progress=False, run_fn=_flaky)
    n_failed = first.n_failed
    again = run(spec, executor="serial", out=tmp_path, progress=False, run_fn=ishigami)
    assert n_failed > 0 and again.metadata["runs"]["run_now"] == n_failed
    assert again.n_failed == 0 and len(again.table) == 40
    with pytest.raises(sim.ConfigError) as info:
        run(spec, executor="serial", out=tmp_path / "none", progress=False)  # fn needs run_fn
    assert info.value.field == "scenarios"


# --------------------------------------------------------------------------- resume


class _Interrupt:
    """A run_fn that behaves like ishigami but is interrupted on its ``after``-th call."""

    def __init__(self, after):
        self.after, self.calls = after, 0

    def __call__(self, params, scenario, seed):
        self.calls += 1
        if self.calls > self.after:
            raise KeyboardInterrupt
        return ishigami(params, scenario, seed)


def test_interrupted_then_resumed_loses_and_duplicates_nothing(tmp_path):
    spec = ishigami_spec(kind="lhs", n=50, replicates=2)
    with pytest.raises(KeyboardInterrupt):
        run(spec, executor="serial", out=tmp_path, progress=False, run_fn=_Interrupt(37),
            chunk_size=8)
    parts = sorted((tmp_path / "parts").glob("part-*.parquet"))
    assert len(parts) == 4  # 37 runs done: four whole chunks of 8 saved, the fifth lost
    res = run(spec, executor="serial", out=tmp_path, progress=False, run_fn=ishigami)
    assert res.metadata["runs"]["reused"] == 32 and res.metadata["runs"]["run_now"] == 68
    clean = run(spec, executor="serial", out=tmp_path / "clean", progress=False, run_fn=ishigami)
    same_table(res.table, clean.table)
    assert not res.table.duplicated(["scenario", "point", "replicate"]).any()


KILLED = textwrap.dedent("""
    import sys, time
    from sim.experiments import run
    from sim.experiments.testfns import ishigami
    from math import pi

    def slow(params, scenario, seed):
        time.sleep(0.02)
        return ishigami(params, scenario, seed)

    spec = {"name": "killed", "scenarios": ["fn"], "master_seed": 3, "replicates": 2,
            "levers": {f"x{i}": {"low": -pi, "high": pi} for i in (1, 2, 3)},
            "design": {"kind": "lhs", "n": 100}}
    run(spec, executor="serial", out=sys.argv[1], progress=False, run_fn=slow, chunk_size=5)
""")


def test_killed_process_then_resumed(tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(out)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while len(list((out / "parts").glob("part-*.parquet"))) < 3:
            assert proc.poll() is None, "the experiment ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    done = len(list((out / "parts").glob("part-*.parquet")))
    assert 3 <= done < 40 and not (out / "runs.parquet").exists()
    spec = load_spec({"name": "killed", "scenarios": ["fn"], "master_seed": 3, "replicates": 2,
                      "levers": {f"x{i}": {"low": -PI, "high": PI} for i in (1, 2, 3)},
                      "design": {"kind": "lhs", "n": 100}})
    res = run(spec, executor="serial", out=out, progress=False, run_fn=ishigami)
    assert len(res.table) == 200 and (res.table["status"] == "ok").all()
    assert res.metadata["runs"]["reused"] == 5 * done
    clean = run(spec, executor="serial", out=tmp_path / "clean", progress=False, run_fn=ishigami)
    same_table(res.table, clean.table)


def test_more_replicates_keep_the_existing_runs(tmp_path):
    first = run(ishigami_spec(kind="lhs", n=10, replicates=1), executor="serial", out=tmp_path,
                progress=False, run_fn=ishigami)
    more = run(ishigami_spec(kind="lhs", n=10, replicates=3), executor="serial", out=tmp_path,
               progress=False, run_fn=ishigami)
    assert more.metadata["runs"]["run_now"] == 20 and len(more.table) == 30
    pd.testing.assert_frame_equal(first.table, more.table[more.table.replicate == 0].reset_index(drop=True))
    with pytest.raises(sim.ConfigError) as info:  # a different design cannot reuse these runs
        run(ishigami_spec(kind="lhs", n=12), executor="serial", out=tmp_path, progress=False,
            run_fn=ishigami)
    assert info.value.field == "out" and "design" in str(info.value)


# --------------------------------------------------------------------------- outputs


def test_metadata_is_complete(tmp_path):
    res = run(ishigami_spec(n=8, replicates=2), executor="serial", out=tmp_path, progress=False,
              run_fn=ishigami)
    meta = json.loads((tmp_path / "metadata.json").read_text(encoding="utf-8"))
    assert meta == json.loads(json.dumps(res.metadata, default=str))
    assert meta["spec"] == load_spec(ishigami_spec(n=8, replicates=2)).to_dict()
    assert meta["master_seed"] == 11 and meta["replicate_seeds"] == replicate_seeds(11, 2)
    assert meta["design"]["kind"] == "sobol" and meta["design"]["n"] == 8
    assert meta["design"]["calc_second_order"] is True and meta["design"]["n_points"] == 64
    assert meta["problem"] == {"num_vars": 3, "names": ["x1", "x2", "x3"],
                               "bounds": [[-PI, PI]] * 3}
    assert meta["runs"] == {"total": 128, "ok": 128, "failed": 0, "missing": 0, "run_now": 128,
                            "reused": 0}
    for key in ("packages", "git_revision", "created", "python", "executor", "run_fn"):
        assert meta[key], key
    assert meta["packages"]["SALib"] != "not installed"
    assert meta["run_fn"] == "sim.experiments.testfns.ishigami"
    disk = pd.read_parquet(tmp_path / "runs.parquet")
    pd.testing.assert_frame_equal(disk, res.table)
    csv = pd.read_csv(tmp_path / "runs.csv", keep_default_na=False, na_values=[""])
    assert list(csv.columns) == list(res.table.columns) and len(csv) == 128
    design = pd.read_parquet(tmp_path / "design.parquet")
    assert len(design) == 64 and list(design.columns) == ["point", "x1", "x2", "x3"]


def test_ishigami_sobol_table_gives_the_known_indices(tmp_path):
    from SALib.analyze import sobol

    res = run(ishigami_spec(n=1024), executor="serial", out=tmp_path, progress=False,
              run_fn=ishigami)
    t = res.table
    assert len(t) == 1024 * 8 and t["point"].is_monotonic_increasing
    si = sobol.analyze(res.metadata["problem"], t["y"].to_numpy(), seed=1)
    exact = ishigami_indices()
    for j, name in enumerate(("x1", "x2", "x3")):
        assert si["S1"][j] == pytest.approx(exact["S1"][name], abs=0.1)
        assert si["ST"][j] == pytest.approx(exact["ST"][name], abs=0.1)


# --------------------------------------------------------------------------- CLI


def test_cli_dry_run_prints_run_count(tmp_path, capsys):
    code = cli_main(["burden_authority_grid", "--dry-run", "--out", str(tmp_path),
                     "--set", "population=classroom", "--set", "steps=5",
                     "--set", "overrides=[spin_up=5]"])
    out = capsys.readouterr().out
    assert code == 0
    assert "= 75 runs" in out and "ETA" in out and "calibration" in out
    assert not (tmp_path / "runs.parquet").exists()


def test_cli_invalid_spec_exits_2_naming_the_field(capsys):
    code = cli_main(["burden_authority_grid", "--dry-run", "--set", "levers.admin.burden=[0.1, 1.5]"])
    err = capsys.readouterr().err
    assert code == 2 and "levers.admin.burden" in err and "1.5" in err and "[0, 1]" in err
    assert cli_main(["no_such_experiment"]) == 2


def test_cli_runs_a_spec_file(tmp_path, capsys):
    spec_file = tmp_path / "grid.yaml"
    spec_file.write_text(textwrap.dedent("""
        name: grid
        levers:
          admin.burden: [0.2, 0.8]
        population: classroom
        overrides: [spin_up=5]
        steps: 5
        metrics: [satisfaction]
    """), encoding="utf-8")
    out = tmp_path / "out"
    code = cli_main([str(spec_file), "--executor", "serial", "--out", str(out), "--quiet",
                     "--set", "replicates=2"])
    text = capsys.readouterr().out
    assert code == 0 and str(out) in text and "4 of 4 runs ok" in text
    assert len(pd.read_csv(out / "runs.csv")) == 4


@pytest.mark.skipif(not os.access(Path(sys.executable).with_name("rpbsim-experiment"), os.X_OK),
                    reason="console script not installed")
def test_console_script_lists_specs():
    exe = Path(sys.executable).with_name("rpbsim-experiment")
    out = subprocess.run([str(exe), "--list"], capture_output=True, text=True, check=True).stdout
    assert "sobol_levers" in out.split()
