"""Faults in experiments (docs/reliability.md, "Faults in experiments").

Worker processes killed mid-experiment (local pool and Dask ``LocalCluster``), Ctrl-C at any
moment, and result files cut short, not Parquet or of another table. Each test injects its
faults into an Ishigami ``run_fn`` experiment (milliseconds a run) and checks that no run is
lost or duplicated: the final table equals that of a serial run without faults (timing aside).
``test_zz_fault_counts`` prints the totals the docs quote.
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
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.experiments import load_spec, plan, run
from sim.experiments.cli import main as cli_main
from sim.experiments.executors import MAX_ATTEMPTS
from sim.experiments.runner import load_experiment
from sim.experiments.store import ResultFileError
from sim.experiments.testfns import KillWorker, ishigami

ROOT = Path(__file__).resolve().parents[1]
PI = math.pi
KEY = ["scenario", "point", "replicate"]
#: Totals over this file (printed by test_zz_fault_counts, quoted in docs/reliability.md).
FAULTS: Counter = Counter()


def fn_spec(name="faults", n=16, replicates=2, **extra) -> dict:
    spec = {"name": name, "scenarios": ["fn"], "master_seed": 7, "replicates": replicates,
            "levers": {f"x{i}": {"low": -PI, "high": PI} for i in (1, 2, 3)},
            "design": {"kind": "lhs", "n": n}}
    spec.update(extra)
    return spec


def top_x1(spec: dict, k: int) -> list[float]:
    """The ``x1`` values of the ``k`` design points with the largest ``x1`` (the killers)."""
    return sorted(plan(load_spec(spec)).design.points["x1"])[-k:]


def clean_table(spec: dict, path: Path) -> pd.DataFrame:
    return run(spec, executor="serial", out=path, progress=False, run_fn=ishigami).table


def same_table(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.drop(columns="wall_s"), b.drop(columns="wall_s"))


def check_each_run_once(res, spec: dict) -> None:
    """Every planned run is in the table once, and in exactly one part."""
    planned = plan(load_spec(spec)).keys
    keys = list(zip(res.table["scenario"], res.table["point"], res.table["replicate"], strict=True))
    lost = len(planned - set(keys))
    duplicated = len(keys) - len(set(keys))
    parts = pd.concat([pd.read_parquet(p) for p in sorted((res.path / "parts").glob("part-*.parquet"))])
    in_parts = parts.duplicated(KEY).sum()
    FAULTS["runs checked"] += len(planned)
    FAULTS["lost"] += lost
    FAULTS["duplicated"] += duplicated + in_parts
    assert lost == 0 and duplicated == 0 and in_parts == 0
    assert len(parts) == len(planned)


def run_with_kills(spec: dict, tmp_path: Path, killers: list[float], times, executor: str,
                   chunk_size: int, progress: bool = False):
    """Run ``spec`` with workers killed while running the points whose ``x1`` is in
    ``killers`` (``times`` kills each, None = always); counts the kills. Returns (result, fn)."""
    (tmp_path / "marks").mkdir()
    fn = KillWorker(tmp_path / "marks", "x1", killers, times=times)
    res = run(spec, executor=executor, workers=2, out=tmp_path / "out", progress=progress,
              run_fn=fn, chunk_size=chunk_size)
    FAULTS["worker kills"] += fn.kills()
    FAULTS["experiments with kills"] += 1
    return res, fn


# --------------------------------------------------------------------------- killed workers


def test_a_killed_pool_worker_is_retried_and_nothing_is_lost_or_duplicated(tmp_path):
    spec = fn_spec()
    # 3 points kill once
    res, fn = run_with_kills(spec, tmp_path, top_x1(spec, 3), 1, "processes", chunk_size=4)
    assert fn.kills() == 3
    assert (res.table["status"] == "ok").all()
    check_each_run_once(res, spec)
    same_table(res.table, clean_table(spec, tmp_path / "clean"))
    assert 1 <= res.metadata["executor"]["worker_deaths"] <= 3
    assert res.metadata["runs"]["failed"] == 0


def test_a_run_that_always_kills_its_pool_worker_is_recorded_failed(tmp_path, capsys):
    spec = fn_spec(n=12)
    killer = top_x1(spec, 1)
    res, fn = run_with_kills(spec, tmp_path, killer, None, "processes", chunk_size=4,
                             progress=True)
    t = res.table
    failed = t[t["status"] == "failed"]
    assert list(failed["x1"]) == killer * 2  # both replicates of that point, nothing else
    for text in failed["error"]:
        assert text.startswith("WorkerDied: the worker process died while running this run")
        assert "SIGKILL: killed, or out of memory" in text and f"{MAX_ATTEMPTS} attempts" in text
    assert failed["y"].isna().all()
    # its chunk died once, then each of its two runs MAX_ATTEMPTS times on its own
    assert fn.kills() >= 1 + 2 * MAX_ATTEMPTS
    check_each_run_once(res, spec)
    ok = t["status"] == "ok"
    same_table(t[ok], clean_table(spec, tmp_path / "clean")[ok])
    assert res.metadata["runs"]["failed"] == 2
    out = capsys.readouterr().out
    assert "22 of 24 runs ok, 2 failed" in out and "a worker process died" in out
    # running again tries the failed runs again (here without the fault)
    again = run(spec, executor="serial", out=tmp_path / "out", progress=False, run_fn=ishigami)
    assert again.metadata["runs"]["run_now"] == 2 and again.n_failed == 0


def test_a_killed_dask_worker_is_retried_and_nothing_is_lost_or_duplicated(tmp_path):
    spec = fn_spec(n=8)
    res, fn = run_with_kills(spec, tmp_path, top_x1(spec, 2), 1, "dask", chunk_size=2)
    assert fn.kills() == 2
    assert (res.table["status"] == "ok").all()
    check_each_run_once(res, spec)
    same_table(res.table, clean_table(spec, tmp_path / "clean"))


def test_a_run_that_always_kills_its_dask_worker_is_recorded_failed(tmp_path):
    spec = fn_spec(n=4, replicates=1)
    killer = top_x1(spec, 1)
    res, fn = run_with_kills(spec, tmp_path, killer, None, "dask", chunk_size=2)
    t = res.table
    failed = t[t["status"] == "failed"]
    assert list(failed["x1"]) == killer
    assert "worker process died" in failed["error"].iloc[0]
    assert "KilledWorker" in failed["error"].iloc[0]
    # the chunk of two runs: MAX_ATTEMPTS deaths, then its killer alone MAX_ATTEMPTS more
    assert fn.kills() >= 2 * MAX_ATTEMPTS
    assert res.metadata["executor"]["killed_worker"] == 2
    check_each_run_once(res, spec)
    ok = t["status"] == "ok"
    same_table(t[ok], clean_table(spec, tmp_path / "clean")[ok])


# --------------------------------------------------------------------------- Ctrl-C

INTERRUPTED = textwrap.dedent("""
    import json, signal, sys
    from sim.experiments import run
    from sim.experiments.testfns import Sleepy

    if __name__ == "__main__":
        # as in a terminal, also where the tests run with Ctrl-C ignored (a background job)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        spec, executor, out = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
        run(spec, executor=executor, workers=2, out=out, progress=False, run_fn=Sleepy(0.02),
            chunk_size=4)
""")


def check_every_file_is_whole(folder: Path) -> int:
    """Every file under ``folder`` is a complete Parquet, CSV or JSON file; no temporaries."""
    n = 0
    for f in sorted(folder.rglob("*")):
        if f.is_dir():
            continue
        assert ".tmp-" not in f.name, f"temporary file left: {f}"
        if f.suffix == ".parquet":
            pd.read_parquet(f)
        elif f.suffix == ".csv":
            pd.read_csv(f)
        elif f.suffix == ".json":
            json.loads(f.read_text(encoding="utf-8"))
        else:
            raise AssertionError(f"unexpected file {f}")
        n += 1
    return n


@pytest.mark.parametrize(("executor", "parts_before"), [("processes", 1), ("processes", 8),
                                                         ("serial", 3), ("dask", 2)])
def test_ctrl_c_leaves_only_whole_files_and_resumes_to_the_same_table(tmp_path, executor, parts_before):
    spec = fn_spec(name="ctrl_c", n=60)  # 120 runs, 30 chunks of 4, ≈ 0.1 s a chunk
    out = tmp_path / "out"
    script = tmp_path / "interrupted.py"  # a file: pool workers re-import __main__
    script.write_text(INTERRUPTED, encoding="utf-8")
    # a session of its own: Ctrl-C in a terminal reaches the whole process group (workers too)
    proc = subprocess.Popen([sys.executable, str(script), json.dumps(spec), executor, str(out)],
                            cwd=ROOT, start_new_session=True, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while len(list((out / "parts").glob("part-*.parquet"))) < parts_before:
            assert proc.poll() is None, f"the experiment ended before it was interrupted: {proc.stderr.read()}"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGINT)
        FAULTS["interrupts (Ctrl-C)"] += 1
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    check_every_file_is_whole(out)
    done = len(list((out / "parts").glob("part-*.parquet")))
    assert parts_before <= done < 30 and not (out / "runs.parquet").exists()
    res = run(spec, executor="processes", workers=2, out=out, progress=False, run_fn=ishigami)
    assert res.metadata["runs"]["reused"] >= 4 * parts_before
    check_each_run_once(res, spec)
    same_table(res.table, clean_table(spec, tmp_path / "clean"))
    check_every_file_is_whole(out)


def test_ctrl_c_while_the_results_are_written_leaves_whole_files(tmp_path, monkeypatch):
    spec = fn_spec(name="ctrl_c_merge", n=10)
    out = tmp_path / "out"
    run(spec, executor="serial", out=out, progress=False, run_fn=ishigami)  # a finished attempt
    to_csv = pd.DataFrame.to_csv

    def interrupted(self, path=None, *args, **kwargs):  # Ctrl-C halfway through runs.csv
        if path is not None and "runs.csv" in str(path):
            Path(path).write_text("point,replicate\n1,", encoding="utf-8")
            raise KeyboardInterrupt
        return to_csv(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(fn_spec(name="ctrl_c_merge", n=10, replicates=3), executor="serial", out=out,
            progress=False, run_fn=ishigami)
    FAULTS["interrupts (Ctrl-C)"] += 1
    monkeypatch.undo()
    check_every_file_is_whole(out)
    # runs.parquet is new, runs.csv old: metadata.json was removed first, so no stale one says
    # the experiment is complete
    assert len(pd.read_parquet(out / "runs.parquet")) == 30 and len(pd.read_csv(out / "runs.csv")) == 20
    with pytest.raises(ResultFileError, match="did not finish"):
        load_experiment(out)
    res = run(fn_spec(name="ctrl_c_merge", n=10, replicates=3), executor="serial", out=out,
              progress=False, run_fn=ishigami)
    assert res.metadata["runs"]["run_now"] == 0
    check_each_run_once(res, fn_spec(name="ctrl_c_merge", n=10, replicates=3))
    loaded = load_experiment(out)
    pd.testing.assert_frame_equal(loaded.table, res.table)
    assert len(pd.read_csv(out / "runs.csv")) == 30


def test_temporary_files_of_a_killed_experiment_are_removed_on_resume(tmp_path):
    spec = fn_spec(name="tmp_left", n=6)
    out = tmp_path / "out"
    run(spec, executor="serial", out=out, progress=False, run_fn=ishigami, chunk_size=4)
    left = [out / ".runs.parquet.tmp-4242", out / ".metadata.json.tmp-4242",
            out / "parts" / ".part-00009.parquet.tmp-4242"]
    for f in left:
        f.write_bytes(b"PAR1 half")
    mine = out / ".notes.tmp-1"  # not a file the experiment writes: left alone
    mine.write_text("x", encoding="utf-8")
    run(spec, executor="serial", out=out, progress=False, run_fn=ishigami)
    assert not any(f.exists() for f in left) and mine.exists()


# --------------------------------------------------------------------------- damaged files


def damage(path: Path, how: str) -> None:
    if how == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif how == "not parquet":
        path.write_bytes(os.urandom(3000))
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "other table":
        pd.DataFrame({"job": [1, 2], "satisfaction": [0.5, 0.6]}).to_parquet(path)
    elif how == "wrong types":
        t = pd.read_parquet(path)
        t["point"] = t["point"].astype(str)
        t.to_parquet(path)
    FAULTS["files damaged"] += 1


PROBLEMS = {"truncated": "truncated Parquet file: its end (the footer) is missing",
            "not parquet": "not a Parquet file",
            "empty": "empty file (0 bytes), not Parquet",
            "other table": "missing columns scenario, point, replicate, status (it has job, satisfaction)",
            "wrong types": "point is string, not integer"}


@pytest.mark.parametrize("how", list(PROBLEMS))
def test_a_damaged_part_is_named_on_resume_and_deleting_it_reruns_its_runs(tmp_path, how):
    spec = fn_spec(name="damaged", n=10)
    out = tmp_path / "out"
    first = run(spec, executor="serial", out=out, progress=False, run_fn=ishigami, chunk_size=4)
    part = out / "parts" / "part-00001.parquet"
    damage(part, how)
    with pytest.raises(ResultFileError) as info:
        run(spec, executor="serial", out=out, progress=False, run_fn=ishigami)
    e = info.value
    assert isinstance(e, sim.ConfigError) and e.path == part
    text = str(e)
    assert text.startswith(f"{part}: ") and PROBLEMS[how] in text
    assert "delete it and run the experiment again: the runs it held are run again" in text
    assert "pyarrow" not in text and "Traceback" not in text
    part.unlink()
    res = run(spec, executor="serial", out=out, progress=False, run_fn=ishigami)
    assert res.metadata["runs"]["run_now"] == 0  # runs.parquet holds them as well
    same_table(res.table, first.table)
    (out / "runs.parquet").unlink()
    res = run(spec, executor="serial", out=out, progress=False, run_fn=ishigami)
    assert res.metadata["runs"]["run_now"] == 4
    check_each_run_once(res, spec)
    same_table(res.table, first.table)


@pytest.mark.parametrize("how", ["truncated", "not parquet", "other table"])
def test_a_damaged_runs_table_is_named_on_load_and_on_resume(tmp_path, how):
    spec = fn_spec(name="damaged_runs", n=10)
    out = tmp_path / "out"
    first = run(spec, executor="serial", out=out, progress=False, run_fn=ishigami, chunk_size=4)
    damage(out / "runs.parquet", how)
    for attempt in (lambda: load_experiment(out),
                    lambda: run(spec, executor="serial", out=out, progress=False, run_fn=ishigami)):
        with pytest.raises(ResultFileError) as info:
            attempt()
        text = str(info.value)
        assert text.startswith(f"{out / 'runs.parquet'}: ") and PROBLEMS[how] in text
        assert "delete it (and runs.csv, metadata.json) and run the experiment again" in text
    (out / "runs.parquet").unlink()
    res = run(spec, executor="serial", out=out, progress=False, run_fn=ishigami)
    assert res.metadata["runs"]["run_now"] == 0  # merged again from the parts
    same_table(res.table, first.table)
    same_table(load_experiment(out).table, first.table)


@pytest.mark.parametrize(("content", "problem"), [
    ("{\"name\": \"x\", \"spec\": {", "not valid JSON (cut short? it does not end with '}')"),
    ("", "empty file (0 bytes), not JSON"),
    ("[1, 2]", "expected a JSON object ({...}), found a list"),
    ("{\"name\": \"x\"}", ("missing keys 'spec', 'scenarios', 'levers', 'metrics', 'series', "
                           "'runs', 'executor': not the metadata.json of an experiment")),
])
def test_a_damaged_metadata_file_is_named_on_load(tmp_path, content, problem):
    out = tmp_path / "out"
    run(fn_spec(name="meta", n=4), executor="serial", out=out, progress=False, run_fn=ishigami)
    (out / "metadata.json").write_text(content, encoding="utf-8")
    FAULTS["files damaged"] += 1
    with pytest.raises(ResultFileError) as info:
        load_experiment(out)
    text = str(info.value)
    assert text.startswith(f"{out / 'metadata.json'}: ") and problem in text
    assert "run the experiment again to write it anew" in text


def test_load_experiment_reads_what_run_wrote_and_checks_it_agrees(tmp_path):
    out = tmp_path / "out"
    res = run(fn_spec(name="load", n=6), executor="serial", out=out, progress=False, run_fn=ishigami)
    loaded = load_experiment(out)
    pd.testing.assert_frame_equal(loaded.table, res.table)
    assert loaded.spec == res.spec and loaded.path == out and loaded.series is None
    assert loaded.metadata == json.loads(json.dumps(res.metadata, default=str))
    # a runs.parquet of another attempt than metadata.json
    res.table.iloc[:5].to_parquet(out / "runs.parquet", index=False)
    FAULTS["files damaged"] += 1
    with pytest.raises(ResultFileError, match="holds 5 ok and 0 failed runs, metadata.json says 12 and 0"):
        load_experiment(out)
    with pytest.raises(ResultFileError, match="no such folder"):
        load_experiment(tmp_path / "nowhere")
    with pytest.raises(ResultFileError, match="not an experiment's output folder"):
        load_experiment(tmp_path)


#: A tiny model experiment (2 runs of the classroom district, 3 + 3 weeks).
GRID = textwrap.dedent("""
    name: grid
    levers:
      admin.burden: [0.2, 0.8]
    population: classroom
    overrides: [spin_up=3]
    steps: 3
    metrics: [satisfaction]
""")


def load_spec_text(text: str) -> dict:
    import yaml

    return yaml.safe_load(text)


def test_a_damaged_series_file_is_named_on_load_and_on_resume(tmp_path):
    spec = {**load_spec_text(GRID), "series": ["backlog"]}
    out = tmp_path / "out"
    first = run(spec, executor="serial", out=out, progress=False)
    loaded = load_experiment(out)
    pd.testing.assert_frame_equal(loaded.series, first.series)
    assert len(loaded.series) == 2 * 4  # steps 0..3 of each run
    damage(out / "series.parquet", "truncated")
    for attempt in (lambda: load_experiment(out),
                    lambda: run(spec, executor="serial", out=out, progress=False)):
        with pytest.raises(ResultFileError) as info:
            attempt()
        text = str(info.value)
        assert text.startswith(f"{out / 'series.parquet'}: truncated Parquet file")
        assert "delete it and runs.parquet (and runs.csv, metadata.json)" in text
    for name in ("series.parquet", "runs.parquet", "runs.csv", "metadata.json"):
        (out / name).unlink()
    again = run(spec, executor="serial", out=out, progress=False)
    assert again.metadata["runs"]["run_now"] == 0
    same_table(again.table, first.table)
    pd.testing.assert_frame_equal(again.series, first.series)


def test_the_command_line_names_a_damaged_part_and_exits_2(tmp_path, capsys):
    spec_file = tmp_path / "grid.yaml"
    spec_file.write_text(GRID, encoding="utf-8")
    out = tmp_path / "out"
    assert cli_main([str(spec_file), "--executor", "serial", "--out", str(out), "--quiet"]) == 0
    damage(out / "parts" / "part-00000.parquet", "not parquet")
    capsys.readouterr()
    assert cli_main([str(spec_file), "--executor", "serial", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rpbsim-experiment: {out / 'parts' / 'part-00000.parquet'}: not a Parquet file")
    assert "Traceback" not in err


# --------------------------------------------------------------------------- figures


def test_zz_fault_counts(capsys):
    """Print the faults this session injected (docs/reliability.md quotes the figures)."""
    with capsys.disabled():
        print("\nexperiment faults: " + ", ".join(f"{v} {k}" for k, v in FAULTS.items()))
