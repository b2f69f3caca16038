"""Hydra multirun sweeps (``sim.sweep``): the grid is checked up front, each job records its
result (ok or failed) and prints one line, a rerun resumes, and the sweep dir gets one tidy
table, at the end of the multirun and from ``rpbsim-merge``. Jobs are classroom-sized
(``spin_up=10 steps=8``): well under a second each."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.config import ConfigError
from sim.sweep import (
    JOB_FILE,
    METADATA_FILE,
    check_command_line,
    merge,
    merge_main,
    parse_grid,
)

SMALL = ["population=classroom", "spin_up=10", "steps=8"]
GRID = ["admin.burden=0.2,0.5", "seed=1,2"]
MERGE = Path(sys.executable).parent / "rpbsim-merge"
STREETS_CSV = ("communities,residents,units_higher_rank,units_lower_rank,two_new,street_staff\n"
               "3,100,2,2,6,6\n")


def rpbsim(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], cwd=cwd, capture_output=True,
                          text=True, check=False, timeout=300)


def multirun(sweep_dir: Path, *overrides, cwd) -> subprocess.CompletedProcess:
    return rpbsim("-m", *SMALL, *overrides, f"hydra.sweep.dir={sweep_dir}", cwd=cwd)


def job_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("#")]


def job_files(sweep_dir: Path) -> list[Path]:
    return sorted(sweep_dir.rglob(JOB_FILE))


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """One 4-job sweep (admin.burden × seed), shared by the tests that only read it."""
    root = tmp_path_factory.mktemp("sweep")
    sweep_dir = root / "sweep"
    proc = multirun(sweep_dir, *GRID, cwd=root)
    assert proc.returncode == 0, proc.stderr
    return sweep_dir, proc


# --------------------------------------------------------------------------- a sweep


def test_sweep_merges_one_row_per_job_with_the_swept_columns(sweep):
    sweep_dir, _ = sweep
    table = pd.read_parquet(sweep_dir / "runs.parquet")
    assert len(table) == 4
    assert list(table.columns[:6]) == ["job", "admin.burden", "scenario", "seed", "status", "error"]
    assert sorted(zip(table["admin.burden"], table["seed"], strict=True)) == [
        (0.2, 1), (0.2, 2), (0.5, 1), (0.5, 2)]
    assert (table["status"] == "ok").all() and table["error"].isna().all()
    assert (table["scenario"] == "baseline").all()
    for name in sim.METRIC_NAMES:
        assert name in table.columns
    assert table["satisfaction"].notna().all()
    # the same table as CSV, and in Python
    csv = pd.read_csv(sweep_dir / "runs.csv")
    assert list(csv.columns) == list(table.columns) and len(csv) == 4
    pd.testing.assert_frame_equal(merge(sweep_dir), table)
    # each job: job.json (and its full results); the sweep: metadata with the counts
    assert len(job_files(sweep_dir)) == 4
    record = json.loads(job_files(sweep_dir)[0].read_text())
    assert {"overrides", "params", "scenario", "seed", "status", "error", "summary", "config"} <= set(record)
    assert (job_files(sweep_dir)[0].parent / "results" / "summary.json").is_file()
    meta = json.loads((sweep_dir / METADATA_FILE).read_text())
    assert meta["swept"] == ["admin.burden", "seed"]
    assert (meta["n_planned"], meta["n_jobs"], meta["n_ok"], meta["n_failed"]) == (4, 4, 4, 0)
    assert meta["packages"]["mesa"] and meta["git_revision"] and "admin.burden=0.2,0.5" in meta["command"]


def test_each_job_prints_one_line_not_the_summary_table(sweep):
    _, proc = sweep
    lines = job_lines(proc.stdout)
    assert len(lines) == 4
    assert any(line.startswith("#3 admin.burden=0.5 seed=2: ok, return_flow_rate=") for line in lines)
    assert "participation_amplitude" not in proc.stdout  # the single run's table


def test_rerunning_the_sweep_skips_finished_jobs(sweep, tmp_path):
    sweep_dir, _ = sweep
    before = {p: p.stat().st_mtime_ns for p in job_files(sweep_dir)}
    proc = multirun(sweep_dir, *GRID, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = job_lines(proc.stdout)
    assert len(lines) == 4 and all(line.endswith("done already, skipped") for line in lines)
    assert {p: p.stat().st_mtime_ns for p in job_files(sweep_dir)} == before
    assert len(pd.read_parquet(sweep_dir / "runs.parquet")) == 4


def test_merge_command_builds_the_table_of_the_jobs_that_finished(sweep, tmp_path):
    crashed = tmp_path / "crashed"
    shutil.copytree(sweep[0], crashed)
    for name in ("runs.parquet", "runs.csv"):
        (crashed / name).unlink()
    lost = job_files(crashed)[1]
    lost.unlink()  # this job died before writing its result
    proc = subprocess.run([str(MERGE), str(crashed)], capture_output=True, text=True, check=False,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "3 jobs of 4 planned merged (3 ok, 0 failed)" in proc.stdout
    table = pd.read_parquet(crashed / "runs.parquet")
    assert len(table) == 3 and len(pd.read_csv(crashed / "runs.csv")) == 3
    assert json.loads((crashed / METADATA_FILE).read_text())["n_jobs"] == 3


def test_merge_command_has_help(capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        merge_main(["--help"])
    assert info.value.code == 0 and "sweep_dir" in capsys.readouterr().out
    assert merge_main([str(tmp_path)]) == 1  # no job results: nothing written
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- failures


def test_a_failing_job_is_recorded_and_the_sweep_goes_on(tmp_path):
    # passes the schema (a path is a string) but fails when the model reads the file
    (tmp_path / "streets.csv").write_text(STREETS_CSV)
    sweep_dir = tmp_path / "sweep"
    proc = multirun(sweep_dir, "population.streets_csv=streets.csv,missing.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert any(": FAILED, ConfigError" in line for line in job_lines(proc.stdout))
    table = pd.read_parquet(sweep_dir / "runs.parquet").set_index("population.streets_csv")
    assert list(table["status"].sort_index()) == ["failed", "ok"]
    assert "file not found" in table.loc["missing.csv", "error"]
    assert math.isnan(table.loc["missing.csv", "satisfaction"])  # NaN, never 0
    assert not math.isnan(table.loc["streets.csv", "satisfaction"])
    failed = json.loads(next(p for p in job_files(sweep_dir) if "missing" in str(p)).read_text())
    assert failed["status"] == "failed" and failed["config"]["population"]["streets_csv"] == "missing.csv"
    assert "Traceback" in failed["traceback"]


def test_an_invalid_grid_is_refused_before_anything_is_written(tmp_path):
    proc = rpbsim("-m", *SMALL, "admin.burden=1.5,0.5", f"hydra.sweep.dir={tmp_path / 'sweep'}",
                  cwd=tmp_path)
    assert proc.returncode == 2
    assert "admin.burden" in proc.stderr and "1.5" in proc.stderr and "[0, 1]" in proc.stderr
    assert list(tmp_path.iterdir()) == []  # no sweep dir, no job dir, no outputs/


@pytest.mark.parametrize(("overrides", "field"), [
    (["admin.campaign_length=20", "admin.campaign_period=13,26"], "admin.campaign_length"),  # one combination
    (["seed=0,-1"], "seed"),
    (["admin.burden=interval(0,1)"], "admin.burden"),
    (["admin.burdn=0.1,0.2"], "admin.burdn"),
    (["population=classroom,huge"], "population"),
    (["scenario=baseline,nope"], "scenario"),
    (["progress=maybe,true"], "progress"),
])
def test_grid_check_names_the_field(overrides, field):
    with pytest.raises(ConfigError) as info:
        check_command_line(["-m", *overrides])
    assert info.value.field == field


def test_grid_check_lists_every_job_and_leaves_single_runs_alone():
    grid = check_command_line(["-m", "hydra/launcher=joblib", "population=classroom",
                               "scenario=glob(co*)", "admin.burden=choice(0.2,0.8)", "seed=range(3)"])
    assert grid.swept == ("scenario", "admin.burden", "seed")
    assert grid.axes["scenario"] == ["co_governance"] and grid.axes["seed"] == [0, 1, 2]
    assert grid.n_jobs == 6
    assert check_command_line(["admin.burden=0.3"]) is None
    assert check_command_line(["-m", "--help"]) is None
    assert parse_grid(["admin.burden=0.3"]).swept == ()


# --------------------------------------------------------------------------- the table


def write_record(sweep_dir: Path, name: str, **record) -> None:
    (sweep_dir / name).mkdir(parents=True)
    (sweep_dir / name / JOB_FILE).write_text(json.dumps(record))


def test_merge_keeps_missing_metrics_nan_and_finds_the_swept_keys_without_metadata(tmp_path):
    base = {"scenario": "baseline", "seed": 0, "error": None}
    write_record(tmp_path, "a", job=0, params={"steps": 8, "admin.burden": 0.2}, status="ok",
                 summary={"satisfaction": 0.5, "trust": None}, **base)
    write_record(tmp_path, "b", job=1, params={"steps": 8, "admin.burden": 0.8}, status="ok",
                 summary={"satisfaction": 0.7}, **base)
    write_record(tmp_path, "c", job=2, params={"steps": 8, "admin.burden": 0.5}, status="failed",
                 summary={}, **{**base, "error": "RuntimeError: boom"})
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / JOB_FILE).write_text("{not json")
    with pytest.warns(UserWarning, match="unreadable"):
        table = merge(tmp_path)
    assert list(table.columns) == ["job", "admin.burden", "scenario", "seed", "status", "error",
                                   "satisfaction", "trust"]
    assert list(table["status"]) == ["ok", "ok", "failed"]
    assert table["trust"].isna().all() and table["trust"].dtype == "float64"
    assert math.isnan(table.loc[2, "satisfaction"])


# --------------------------------------------------------------------------- launchers


def test_joblib_launcher_runs_the_jobs_and_merges(tmp_path):
    sweep_dir = tmp_path / "sweep"
    proc = multirun(sweep_dir, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "seed=1,2",
                    cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert len(job_lines(proc.stdout)) == 2
    table = pd.read_parquet(sweep_dir / "runs.parquet")
    assert sorted(table["seed"]) == [1, 2] and (table["status"] == "ok").all()


def test_a_sweep_over_a_scenario_file_records_the_files_scenario(tmp_path):
    (tmp_path / "my_reform.yaml").write_text("admin:\n  burden: 0.3\n", encoding="utf-8")
    sweep_dir = tmp_path / "sweep"
    proc = multirun(sweep_dir, "scenario=my_reform.yaml", "seed=1,2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    table = pd.read_parquet(sweep_dir / "runs.parquet")
    assert list(table["scenario"]) == ["my_reform", "my_reform"]
    records = [json.loads(p.read_text()) for p in job_files(sweep_dir)]
    assert {r["scenario"] for r in records} == {"my_reform"}
    assert {r["config"]["admin"]["burden"] for r in records} == {0.3}
