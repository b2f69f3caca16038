"""Long and large runs (docs/reliability.md, "Long runs").

* Streamed items (``items.record=stream``) are written as whole Parquet parts, one per batch,
  so a run interrupted at any moment (SIGKILL, an exception, Ctrl-C) leaves files that read,
  holding every batch written before (:class:`sim.items.RecordSink`).
* A saved run that is truncated, foreign, incomplete or marked failed is refused on load with
  one :class:`sim.io.RunLoadError` naming the file and what is wrong.
* Memory stays flat over 5,200 weeks at the default size and 104 weeks at the district preset
  (slow: ``benchmarks/memory_long_run.py``, run by ``make validate``).
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.io import RunLoadError, load_run, save_run
from sim.items import RecordSink

ROOT = Path(__file__).resolve().parents[1]
#: A short classroom run (weeks after a short spin-up).
SHORT = {"population": "classroom", "spin_up": 10}


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Categories as text, a fresh index: tables from different readers compare equal."""
    out = df.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype(str)
    return out.reset_index(drop=True)


def _stream_model(path: Path, flush_every: int = 300, **params) -> sim.RegionModel:
    m = sim.RegionModel(rng=3, **{**{k.replace(".", "__"): v for k, v in SHORT.items()},
                                  "items__record": "stream", "items__stream_path": str(path),
                                  "steps": 400, **params})
    m.events.flush_every = flush_every  # many hand-off parts in a few weeks
    return m


def _events_path(items_path: Path) -> Path:
    return items_path.with_name(items_path.name.replace(".parquet", "") + ".handoffs.parquet")


# --------------------------------------------------------------------------- streaming


def test_a_stream_is_a_folder_of_whole_parts_readable_while_the_run_goes_on(tmp_path):
    path = tmp_path / "items.parquet"
    m = _stream_model(path)
    for week in range(1, 25):
        m.step()
        if week % 8 == 0:  # read mid-run, nothing closed: every part is a whole file
            items, events = pd.read_parquet(path), pd.read_parquet(_events_path(path))
            assert len(items) == m.items.sink.n_rows > 0
            assert len(events) == m.events.sink.n_rows > 0
    parts = RecordSink.parts(path)
    assert [p.name for p in parts] == [RecordSink.PART.format(i) for i in range(len(parts))]
    assert len(RecordSink.parts(_events_path(path))) > 3
    assert sorted(p.name for p in path.iterdir()) == [p.name for p in parts]  # no temporary files
    # the table read back is the one pandas reads from the folder, in the order written
    pd.testing.assert_frame_equal(RecordSink.read(path), pd.read_parquet(path))
    fds = Path("/proc/self/fd")
    if fds.is_dir():  # nothing is kept open between writes
        open_files = {os.path.realpath(fds / fd) for fd in os.listdir(fds)}
        assert not any(f.startswith(str(tmp_path)) for f in open_files)


def test_streamed_and_in_memory_tables_are_identical_and_reads_need_no_close(tmp_path):
    path = tmp_path / "s.parquet"
    streamed = _stream_model(path)
    memory = sim.RegionModel(rng=3, population="classroom", spin_up=10, steps=400)
    for _ in range(30):
        streamed.step()
        memory.step()
    pd.testing.assert_frame_equal(_plain(streamed.items.table()), _plain(memory.items.table()),
                                  check_dtype=False)
    pd.testing.assert_frame_equal(_plain(streamed.events.table()), _plain(memory.events.table()),
                                  check_dtype=False)


CHILD = textwrap.dedent("""
    import sys
    import sim
    m = sim.RegionModel(rng=3, population="classroom", spin_up=10, steps=5200,
                        items__record="stream", items__stream_path=sys.argv[1])
    m.events.flush_every = 300
    while m.steps < 5200:
        m.step()
        print(m.steps, m.items.sink.n_rows, m.events.sink.n_rows, flush=True)
""")


def test_a_streaming_run_killed_with_sigkill_leaves_readable_parts(tmp_path):
    """Killed mid-run (at whatever point of a week, a part write included), the folders read
    with pandas and hold every row written before: the rows of the same run uninterrupted."""
    path = tmp_path / "items.parquet"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE,
                            text=True, cwd=ROOT)
    week = n_items = n_events = 0
    try:
        for line in proc.stdout:
            week, n_items, n_events = map(int, line.split())
            if week >= 20:
                break
        proc.send_signal(signal.SIGKILL)  # while the child goes on stepping and writing
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
    assert week >= 20 and proc.returncode == -signal.SIGKILL, (week, proc.returncode)
    items, events = pd.read_parquet(path), pd.read_parquet(_events_path(path))
    assert len(items) >= n_items > 0 and len(events) >= n_events > 0
    pd.testing.assert_frame_equal(RecordSink.read(path), items)
    # The same run, uninterrupted, in memory: what is on disk is exactly its rows.
    full = sim.RegionModel(rng=3, population="classroom", spin_up=10, steps=5200)
    while full.steps < max(int(events["step"].max()), int(items["closed"].max())) + 1:
        full.step()
    pd.testing.assert_frame_equal(_plain(events), _plain(full.events.table()).iloc[:len(events)],
                                  check_dtype=False)
    every = full.items.table().set_index("item_id")
    pd.testing.assert_frame_equal(
        _plain(items.set_index("item_id")).reset_index(drop=True),
        _plain(every.loc[items["item_id"]]).reset_index(drop=True), check_dtype=False)


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_an_exception_or_ctrl_c_mid_run_leaves_readable_parts(tmp_path, error):
    path = tmp_path / "items.parquet"
    m = _stream_model(path)
    expire = m.expire_items

    def fail_in_week_13():
        expire()
        if m.steps == 13:
            raise error

    m.expire_items = fail_in_week_13
    with pytest.raises(type(error)):
        for _ in range(20):
            m.step()
    assert m.steps == 13
    assert len(pd.read_parquet(path)) == m.items.sink.n_rows > 0  # compacted at weeks 8
    assert len(pd.read_parquet(_events_path(path))) == m.events.sink.n_rows > 0


def test_a_part_write_cut_short_leaves_no_part(tmp_path, monkeypatch):
    """A write interrupted inside pyarrow (Ctrl-C) leaves no file; one a SIGKILL cut short
    leaves a hidden temporary file that no reader takes for a part, and the next run clears."""
    import pyarrow.parquet as pq

    path = tmp_path / "items.parquet"
    m = _stream_model(path)
    for _ in range(8):
        m.step()
    n_parts = len(RecordSink.parts(path))
    real = pq.write_table

    def interrupted(table, where, **kw):
        real(table.slice(0, 1), where, **kw)
        raise KeyboardInterrupt

    monkeypatch.setattr(pq, "write_table", interrupted)
    with pytest.raises(KeyboardInterrupt):
        m.items.sink.write(m.items.frame())
    monkeypatch.undo()
    assert len(RecordSink.parts(path)) == n_parts
    assert not [p for p in path.iterdir() if p.name.startswith(".")]
    # What SIGKILL leaves mid-write: a hidden, partly written file.
    (path / f".{RecordSink.PART.format(n_parts)}.tmp-12345").write_bytes(b"PAR1\x15\x04")
    before = pd.read_parquet(path)
    assert len(before) == len(RecordSink.read(path)) > 0
    # A new run into the same folder starts afresh (and leaves other files alone).
    (path / "notes.txt").write_text("mine", encoding="utf-8")
    again = _stream_model(path)
    for _ in range(8):
        again.step()
    assert sorted(p.name for p in path.iterdir()) == sorted(
        [p.name for p in RecordSink.parts(path)] + ["notes.txt"])
    assert len(RecordSink.read(path)) == again.items.sink.n_rows


def test_a_single_file_stream_of_an_older_version_is_replaced_and_still_reads(tmp_path):
    path = tmp_path / "items.parquet"
    pd.DataFrame({"item_id": [1, 2]}).to_parquet(path)
    assert list(RecordSink.read(path)["item_id"]) == [1, 2]  # read as before
    m = _stream_model(path)
    assert len(m.items.table()) == m.items.n  # nothing streamed yet: not the old file's rows
    for _ in range(8):
        m.step()
    assert path.is_dir() and len(pd.read_parquet(path)) == m.items.sink.n_rows


def test_an_empty_stream_path_streams_to_a_temporary_folder():
    m = sim.RegionModel(rng=3, population="classroom", spin_up=10, steps=8,
                        items__record="stream")
    for _ in range(8):
        m.step()
    folder = Path(m.items.sink.path)
    try:
        assert folder.is_dir() and len(pd.read_parquet(folder)) == m.items.sink.n_rows > 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(m.events.sink.path, ignore_errors=True)


# --------------------------------------------------------------------------- load_run


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    """A saved run with every table (items, hand-offs and actors included)."""
    r = sim.run(seed=2, steps=6, overrides=["population=classroom", "spin_up=10"])
    return save_run(r, tmp_path_factory.mktemp("saved") / "run")


@pytest.fixture
def run_dir(saved, tmp_path) -> Path:
    """A fresh copy of the saved run, to damage."""
    return Path(shutil.copytree(saved, tmp_path / "run"))


def edit_json(f: Path, change) -> None:
    """Rewrite the JSON object in file ``f`` after ``change(obj)`` edits it in place."""
    obj = json.loads(f.read_text(encoding="utf-8"))
    change(obj)
    f.write_text(json.dumps(obj), encoding="utf-8")


def refused(path, *words) -> RunLoadError:
    """load_run(path) raises RunLoadError whose message has every one of ``words``."""
    with pytest.raises(RunLoadError) as info:
        load_run(path)
    err = info.value
    assert isinstance(err, ValueError)
    message = str(err)
    for w in words:
        assert w in message, (w, message)
    assert "Traceback" not in message and "pyarrow" not in message.lower()
    return err


def test_an_intact_saved_run_loads(run_dir, saved):
    back = load_run(run_dir)
    assert back.items is not None and back.handoffs is not None and back.actors is not None


@pytest.mark.parametrize("name", ["timeseries", "streets", "by_street", "items", "handoffs",
                                  "actors"])
def test_a_truncated_parquet_file_is_named(run_dir, name):
    f = run_dir / f"{name}.parquet"
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    err = refused(run_dir, f"{name}.parquet", "truncated", "cut short")
    assert err.path == f


def test_a_parquet_file_damaged_in_the_middle_is_named(run_dir):
    f = run_dir / "handoffs.parquet"
    data = f.read_bytes()
    f.write_bytes(data[:64] + b"\0" * (len(data) - 128) + data[-64:])
    refused(run_dir, "handoffs.parquet", "Parquet")


@pytest.mark.parametrize("content, words", [
    (b"item_id,step\n1,2\n", ("not a Parquet file", "item_id,step")),
    (b"", ("empty file",)),
    (b'{"summary": 1}', ("not a Parquet file",)),
])
def test_a_file_that_is_not_parquet_under_a_parquet_name_is_named(run_dir, content, words):
    (run_dir / "items.parquet").write_bytes(content)
    refused(run_dir, "items.parquet", *words)


@pytest.mark.parametrize("target, source, words", [
    ("handoffs", "items", ("not a handoffs table", "missing columns", "from_node")),
    ("items", "timeseries", ("not a items table", "item_id")),
    ("timeseries", "streets", ("not a timeseries table", "missing column step")),
    ("timeseries", "by_street", ("not the timeseries of this run", "no column for")),
    ("actors", "handoffs", ("not a actors table",)),
    ("streets", "actors", ("not a streets table",)),
])
def test_a_parquet_file_of_another_table_is_named(run_dir, target, source, words):
    shutil.copy(run_dir / f"{source}.parquet", run_dir / f"{target}.parquet")
    refused(run_dir, f"{target}.parquet", *words)


def test_a_foreign_parquet_file_is_named(run_dir):
    f = run_dir / "timeseries.parquet"
    pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}).to_parquet(f)
    refused(run_dir, "timeseries.parquet", "not a timeseries table", "(it has a, b)")
    pd.DataFrame({"step": [0, 0, 1], "satisfaction": [0.5, 0.4, 0.3]}).to_parquet(f)
    refused(run_dir, "timeseries.parquet", "not a timeseries table", "steps repeat")


@pytest.mark.parametrize("name", ["summary.json", "metadata.json"])
@pytest.mark.parametrize("damage, words", [
    (lambda text: text[: len(text) // 2], ("not valid JSON", "cut short")),
    (lambda text: "summary: not json", ("not valid JSON", "line 1")),
    (lambda text: "", ("empty file",)),
    (lambda text: "[1, 2]", ("expected a JSON object", "list")),
])
def test_a_json_file_that_is_not_a_json_object_is_named(run_dir, name, damage, words):
    f = run_dir / name
    f.write_text(damage(f.read_text(encoding="utf-8")), encoding="utf-8")
    refused(run_dir, name, *words)


def test_binary_bytes_under_a_json_name_are_named(run_dir):
    (run_dir / "metadata.json").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    refused(run_dir, "metadata.json", "not a JSON file", "not UTF-8")


def test_metadata_without_its_keys_is_named(run_dir):
    edit_json(run_dir / "metadata.json", lambda meta: meta.pop("config"))
    refused(run_dir, "metadata.json", "missing key 'config'")


def test_json_files_swapped_are_named(run_dir):
    summary, metadata = run_dir / "summary.json", run_dir / "metadata.json"
    s, m = summary.read_bytes(), metadata.read_bytes()
    summary.write_bytes(m)
    metadata.write_bytes(s)
    refused(run_dir, "metadata.json", "missing keys 'scenario', 'seed', 'steps', 'config'")
    metadata.write_bytes(m)
    refused(run_dir, "summary.json", "not a run summary", "every value must be a number or null")


def test_a_summary_without_a_metric_of_the_timeseries_is_named(run_dir):
    edit_json(run_dir / "summary.json", lambda summary: summary.pop("satisfaction"))
    refused(run_dir, "summary.json", "missing key 'satisfaction'", "timeseries.parquet")


def test_a_newer_format_is_named(run_dir):
    edit_json(run_dir / "metadata.json", lambda meta: meta.update(format_version=99))
    refused(run_dir, "metadata.json", "format_version 99")


@pytest.mark.parametrize("name", ["summary.json", "metadata.json", "timeseries.parquet"])
def test_a_missing_file_is_named(run_dir, name):
    (run_dir / name).unlink()
    refused(run_dir, name, "missing", "incomplete")


def test_a_folder_that_is_not_a_run_is_refused(tmp_path, run_dir):
    refused(tmp_path / "nowhere", "nowhere", "no such folder")
    refused(run_dir / "summary.json", "is a file, not a run folder")
    empty = tmp_path / "empty"
    empty.mkdir()
    refused(empty, "empty", "not a saved run")
    (empty / "notes.txt").write_text("hello", encoding="utf-8")
    refused(empty, "not a saved run")
    # rpbsim's run dir: the results are in results/
    hydra_dir = tmp_path / "outputs" / "baseline" / "2026-01-01_00-00-00"
    shutil.copytree(run_dir, hydra_dir / "results")
    (hydra_dir / ".hydra").mkdir()
    refused(hydra_dir, "not a saved run", f"did you mean {hydra_dir / 'results'}?")
    assert load_run(hydra_dir / "results").summary


def test_a_run_marked_failed_is_refused_saying_so(tmp_path, run_dir):
    error = RuntimeError("boom in week 7")
    text = ("This run FAILED; its results are incomplete.\n\n"
            f"{type(error).__name__}: {error}\n\nTraceback (most recent call last): ...\n")
    (run_dir / "FAILED.txt").write_text(text, encoding="utf-8")
    err = refused(run_dir, "FAILED.txt", "this run FAILED", "RuntimeError: boom in week 7")
    assert err.path == run_dir / "FAILED.txt"
    # as rpbsim leaves it: FAILED.txt in the run dir, above results/
    hydra_dir = tmp_path / "hydra_run"
    (run_dir / "FAILED.txt").unlink()
    shutil.move(run_dir, hydra_dir / "results")
    (hydra_dir / "FAILED.txt").write_text(text, encoding="utf-8")
    refused(hydra_dir / "results", "this run FAILED", "boom in week 7")


def test_the_marker_text_of_sim_cli_is_understood(tmp_path, run_dir):
    from sim.cli import discard_failed_run

    try:
        raise ValueError("bad week")
    except ValueError as e:
        discard_failed_run(run_dir, e)
    refused(run_dir, "this run FAILED", "ValueError: bad week")


def test_the_error_pickles_with_its_file_and_reason(run_dir):
    (run_dir / "items.parquet").write_bytes(b"not parquet")
    err = refused(run_dir, "items.parquet")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is RunLoadError and str(back) == str(err)
    assert back.path == err.path and back.reason == err.reason


# --------------------------------------------------------------------------- memory (slow)


@pytest.mark.slow
def test_memory_stays_flat_over_5200_weeks_and_a_district_run(tmp_path):
    """RSS(5,200) − RSS(520) ≤ 50 MB at the default size, items streamed; the district preset
    flat over weeks 52–104 (≤ 20 MB above week 52). About a minute on 2 shared cores."""
    out = tmp_path / "memory.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "memory_long_run.py"),
                           "--json", str(out)], capture_output=True, text=True, cwd=ROOT,
                          check=False, timeout=1800)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = {r["case"]: r for r in json.loads(out.read_text(encoding="utf-8"))}
    default, district = results["default"], results["district"]
    assert default["weeks"] == 5200 and district["weeks"] == 104
    assert default["growth_mb"] <= 50.0 and district["growth_mb"] <= 20.0
    assert default["rows_on_disk"]["items"] > 0 and district["rows_on_disk"]["handoffs"] > 0
