"""Run an experiment: design × scenarios × replicates, streamed to disk, resumable.

:func:`run` plans every run (design point, replicate, scenario; seed from the replicate),
skips the ones an earlier attempt already finished, cuts the rest into chunks, hands them to
an executor and writes each finished chunk as a part. At the end it merges the parts into the
tidy table (one row per run) and writes ``runs.parquet``, ``runs.csv`` and
``metadata.json``. See ``docs/experiments.md``.
"""

from __future__ import annotations

import math
import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ..config import ConfigError
from ..io import git_revision, package_versions
from .design import Design, build_design
from .executors import make_executor, start_method
from .seeds import replicate_seeds
from .spec import ExperimentSpec, load_spec
from .store import (
    RUN_COLUMNS,
    SERIES_COLUMNS,
    ResultFileError,
    RunStore,
    read_json_object,
    read_table,
)
from .tasks import RunContext, RunFn, RunTask, base_overrides, failed_row, run_chunk

__all__ = ["DEFAULT_ROOT", "ExperimentResult", "Plan", "ResultFileError", "default_out",
           "load_experiment", "plan", "run"]

#: Parent folder of experiment outputs when ``out`` is not given (relative to the cwd).
DEFAULT_ROOT = Path("outputs") / "experiments"
#: Most runs of the model in one chunk (a killed experiment loses at most this many per worker).
MODEL_CHUNK_CAP = 16
#: Most runs of a ``run_fn`` in one chunk (cheap functions need big chunks).
FN_CHUNK_CAP = 4096
EXTRA_PACKAGES = ("SALib", "dask", "distributed", "tqdm")


@dataclass
class ExperimentResult:
    """What :func:`run` gives.

    Attributes:
        spec: the validated spec.
        table: one row per run: ``point``, ``replicate``, ``seed``, ``scenario``, one column
            per lever, ``status`` (``ok``/``failed``), ``error`` (``""`` when ok), the kept
            metrics, ``wall_s``; sorted by (scenario in spec order, point, replicate).
        metadata: the contents of ``metadata.json``.
        path: the output folder.
        series: per-step series (``scenario, point, replicate, step`` + the kept series) of
            the ok runs, or None when the spec keeps none.
    """

    spec: ExperimentSpec
    table: pd.DataFrame
    metadata: dict
    path: Path
    series: pd.DataFrame | None = None

    @property
    def n_failed(self) -> int:
        return int((self.table["status"] != "ok").sum())


#: Keys every experiment's ``metadata.json`` has.
METADATA_KEYS = ("name", "spec", "scenarios", "levers", "metrics", "series", "runs", "executor")


def load_experiment(path: str | os.PathLike) -> ExperimentResult:
    """The results an experiment wrote to ``path`` (``runs.parquet``, ``metadata.json``,
    ``series.parquet``), checked, as the :class:`ExperimentResult` :func:`run` returned.

    Raises:
        ResultFileError: (a :class:`sim.ConfigError`) naming the file, what is wrong and what
            to do, when ``path`` is not an experiment folder, the experiment did not finish
            (no ``metadata.json``: interrupted, or still running), ``metadata.json`` is not
            JSON or lacks its keys, a Parquet file is cut short, not Parquet or another table
            (key columns, levers or metrics missing), runs repeat, or the table and
            ``metadata.json`` disagree on the run counts. Never a raw pyarrow or JSON error.
    """
    p = Path(path)
    if not p.is_dir():
        raise ResultFileError(p, "no such folder" if not p.exists() else "not a folder",
                              "give the output folder of an experiment (outputs/experiments/<name>/)")
    meta_file = p / "metadata.json"
    if not meta_file.is_file():
        if RunStore(p)._has_runs():
            raise ResultFileError(p, "the experiment did not finish (no metadata.json: it was "
                                     "interrupted, or is still running)",
                                  "run it again to resume: its finished runs are reused")
        raise ResultFileError(p, "not an experiment's output folder (no metadata.json, runs.parquet "
                                 "or parts/)", "give the folder run() or rpbsim-experiment wrote")
    meta = read_json_object(meta_file, METADATA_KEYS, "the metadata.json of an experiment")
    runs = meta["runs"]
    anew = "run the experiment again to write it anew (its finished runs are reused)"
    if not isinstance(runs, dict) or not all(isinstance(runs.get(k), int) for k in ("ok", "failed")):
        raise ResultFileError(meta_file, f"'runs' is {runs!r}, not the run counts of an experiment", anew)
    for key in ("metrics", "series"):
        if meta[key] is not None and not (isinstance(meta[key], list)
                                          and all(isinstance(c, str) for c in meta[key])):
            raise ResultFileError(meta_file, f"{key!r} is {meta[key]!r}, not a list of column names", anew)
    try:
        spec = load_spec(meta["spec"])
    except ConfigError as e:
        raise ResultFileError(meta_file, f"its 'spec' is not a valid experiment spec ({e})",
                              anew) from e
    metrics = meta["metrics"] or []
    table = read_table(p / "runs.parquet", RUN_COLUMNS, "a table of runs")
    missing = [c for c in ["seed", *spec.lever_names, *metrics] if c not in table.columns]
    if missing:
        raise ResultFileError(p / "runs.parquet", "not the table of this experiment: missing "
                                                  f"column{'s' if len(missing) > 1 else ''} "
                                                  f"{', '.join(missing)} (named in metadata.json)",
                              "run the experiment again to write both anew (its finished runs are reused)")
    repeated = table.duplicated(["scenario", "point", "replicate"])
    if repeated.any():
        first = table.loc[repeated, ["scenario", "point", "replicate"]].iloc[0].tolist()
        raise ResultFileError(p / "runs.parquet", f"{int(repeated.sum())} run(s) appear twice "
                                                  f"(first: scenario, point, replicate = {first})",
                              "delete it and run the experiment again: it is merged again from parts/")
    n_ok = int((table["status"] == "ok").sum())
    if (n_ok, len(table) - n_ok) != (runs["ok"], runs["failed"]):
        raise ResultFileError(p / "runs.parquet", f"it holds {n_ok} ok and {len(table) - n_ok} failed "
                                                  f"runs, metadata.json says {runs['ok']} and "
                                                  f"{runs['failed']}: they are not from the same attempt",
                              "run the experiment again to write both anew (its finished runs are reused)")
    series = None
    if meta["series"]:
        series = read_table(p / "series.parquet", SERIES_COLUMNS, "a table of per-step series")
        missing = [c for c in meta["series"] if c not in series.columns]
        if missing:
            raise ResultFileError(p / "series.parquet", f"missing series {', '.join(missing)} "
                                                        "(named in metadata.json)",
                                  anew)
    return ExperimentResult(spec=spec, table=table, metadata=meta, path=p, series=series)


@dataclass
class Plan:
    """Every run of an experiment, before any runs."""

    spec: ExperimentSpec
    design: Design
    seeds: list[int]
    tasks: list[RunTask]

    @property
    def keys(self) -> set[tuple[str, int, int]]:
        return {t.key for t in self.tasks}


def plan(spec: ExperimentSpec) -> Plan:
    """The design and the run list of ``spec``: for each scenario (spec order), point and
    replicate, a :class:`RunTask` whose seed is the replicate's (common random numbers)."""
    design = build_design(spec)
    seeds = replicate_seeds(spec.master_seed, spec.replicates)
    params = [design.params_of(p) for p in range(design.n_points)]
    tasks = [RunTask(point=p, replicate=r, scenario=s, seed=seeds[r], params=params[p])
             for s in spec.scenarios for p in range(design.n_points) for r in range(spec.replicates)]
    return Plan(spec=spec, design=design, seeds=seeds, tasks=tasks)


def default_out(spec: ExperimentSpec) -> Path:
    return DEFAULT_ROOT / spec.name


def _context(spec: ExperimentSpec, run_fn: RunFn | None) -> RunContext:
    if run_fn is None and spec.is_function:
        raise ConfigError("scenarios", spec.scenarios, "scenario presets (scenarios: [fn] needs run_fn)")
    return RunContext(
        overrides={} if spec.is_function else base_overrides(spec),
        steps=spec.steps,
        metrics=None if spec.metrics is None else tuple(spec.metrics),
        series=None if spec.series is None else tuple(spec.series),
        run_fn=run_fn,
    )


def _chunks(tasks: list[RunTask], workers: int, size: int | None, is_fn: bool) -> list[list[RunTask]]:
    if size is None:
        cap = FN_CHUNK_CAP if is_fn else MODEL_CHUNK_CAP
        size = max(1, min(cap, math.ceil(len(tasks) / (8 * workers))))
    return [tasks[i:i + size] for i in range(0, len(tasks), size)]


def _fn_name(run_fn) -> str | None:
    if run_fn is None:
        return None
    name = getattr(run_fn, "__qualname__", None) or type(run_fn).__qualname__  # or a callable object
    return f"{getattr(run_fn, '__module__', '?')}.{name}"


def _columns(spec: ExperimentSpec, table: pd.DataFrame) -> list[str]:
    head = ["point", "replicate", "seed", "scenario", *spec.lever_names, "status", "error"]
    if spec.metrics is not None:
        metrics = list(spec.metrics)
    else:
        metrics = [c for c in table.columns if c not in head and c != "wall_s"]
    return [*head, *metrics, "wall_s"]


def _typed(table: pd.DataFrame, spec: ExperimentSpec, columns: list[str]) -> pd.DataFrame:
    """Fixed dtypes: key columns int64, status/error strings, metrics and wall_s float64."""
    for c in columns:
        if c not in table.columns:
            table[c] = "" if c == "error" else float("nan")
    for c in ("point", "replicate", "seed"):
        table[c] = table[c].astype("int64")
    table["error"] = table["error"].fillna("").astype(str)
    table["status"] = table["status"].astype(str)
    table["scenario"] = table["scenario"].astype(str)
    head = {"point", "replicate", "seed", "scenario", "status", "error", *spec.lever_names}
    for c in columns:
        if c not in head:
            table[c] = table[c].astype("float64")
    return table[columns]


def _metadata(spec, pl: Plan, table, series, executor, chunk_size, run_fn, counts, wall_s) -> dict:
    d = pl.design
    design_meta = {"kind": d.kind, **{k: v for k, v in d.params.items() if k != "kind"},
                   "problem": d.problem, "file": "design.parquet"}
    return {
        "name": spec.name,
        "spec": spec.to_dict(),
        "master_seed": spec.master_seed,
        "replicate_seeds": list(pl.seeds),
        "seed_rule": "replicate r: SeedSequence(master_seed, spawn_key=(r,)).generate_state(1)[0]",
        "design": design_meta,
        "problem": d.problem,
        "scenarios": list(spec.scenarios),
        "levers": spec.lever_names,
        "metrics": [c for c in table.columns
                    if c not in ("point", "replicate", "seed", "scenario", "status", "error", "wall_s",
                                 *spec.lever_names)],
        "series": None if series is None else [c for c in series.columns
                                               if c not in ("scenario", "point", "replicate", "step")],
        "runs": counts,
        "executor": {"kind": executor.kind, "workers": executor.workers,
                     "address": getattr(executor, "address", None), "chunk_size": chunk_size,
                     "start_method": start_method() if executor.kind == "processes" else None,
                     **_fault_counts(executor)},
        "run_fn": _fn_name(run_fn),
        "overrides": {} if spec.is_function else base_overrides(spec),
        "files": {"runs": "runs.parquet", "csv": "runs.csv", "design": "design.parquet",
                  "series": None if series is None else "series.parquet", "parts": "parts/"},
        "packages": package_versions(extra=EXTRA_PACKAGES),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "git_revision": git_revision(),
        "command": " ".join(sys.argv),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_s": wall_s,
    }


def _fault_counts(executor) -> dict:
    """How often workers died under this attempt's chunks (see :mod:`.executors`): local pool
    ``worker_deaths`` (times the pool broke and was restarted); Dask ``killed_worker`` (chunks
    the scheduler gave up on after its own retries)."""
    if executor.kind == "dask":
        return {"killed_worker": getattr(executor, "killed_worker", 0)}
    return {"worker_deaths": getattr(executor, "worker_deaths", 0)}


def run(spec, *, executor: str = "processes", workers: int | None = None, address: str | None = None,
        out: str | os.PathLike | None = None, resume: bool = True, progress: bool = True,
        run_fn: RunFn | None = None, chunk_size: int | None = None) -> ExperimentResult:
    """Run an experiment and return its tidy table.

    Args:
        spec: an :class:`ExperimentSpec`, a spec name (``configs/experiment/<name>.yaml``),
            a YAML path or a dict (see :func:`sim.experiments.load_spec`).
        executor: ``processes`` (local pool, default), ``dask`` or ``serial``.
        workers: worker processes (default ``os.cpu_count()``; with a Dask ``address`` the
            cluster's own workers).
        address: a Dask scheduler address (``tcp://host:8786``); None starts a local cluster.
        out: output folder (default ``outputs/experiments/<name>/``).
        resume: reuse the ok runs an earlier attempt wrote to ``out``; False starts afresh.
        progress: show a progress bar with ETA and print a summary line.
        run_fn: ``run_fn(params, scenario, seed) -> dict[str, float]`` replaces the model
            (``params``: lever name → value); with it ``scenarios`` may be ``[fn]``. Must be
            picklable (a module-level function) for the process and Dask executors.
        chunk_size: runs per task and per part (default: about 8 chunks per worker, at most
            16 model runs or 4,096 function runs).

    Returns:
        :class:`ExperimentResult` (also written to ``out``).
    """
    t0 = time.perf_counter()
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
                                   or chunk_size < 1):
        raise ConfigError("chunk_size", chunk_size, "null (automatic) or an integer >= 1")
    spec = load_spec(spec)
    ctx = _context(spec, run_fn)
    ex = make_executor(executor, workers, address)
    path = Path(out) if out is not None else default_out(spec)
    pl = plan(spec)
    store = RunStore(path)
    store.open(spec.to_dict(), resume=resume)
    store.write_design(pl.design.table())
    done = store.completed() if resume else set()
    todo = [t for t in pl.tasks if t.key not in done]
    reused = len(pl.tasks) - len(todo)
    size_used = None
    if todo:
        with ex:
            chunks = _chunks(todo, ex.workers, chunk_size, spec.is_function)
            size_used = len(chunks[0])
            _execute(ex, chunks, ctx, store, spec, progress)
    table = store.merged(spec.scenarios, keys=pl.keys)
    columns = _columns(spec, table)
    table = _typed(table, spec, columns)
    series = store.merged_series(table, spec.scenarios) if spec.series else None
    n_ok = int((table["status"] == "ok").sum())
    counts = {"total": len(pl.tasks), "ok": n_ok, "failed": len(table) - n_ok,
              "missing": len(pl.tasks) - len(table), "run_now": len(todo), "reused": reused}
    meta = _metadata(spec, pl, table, series, ex, size_used, run_fn, counts,
                     time.perf_counter() - t0)
    store.write_results(table, series, meta)
    if progress:
        print(summary_line(spec.name, counts, path, meta["executor"]), flush=True)
    return ExperimentResult(spec=spec, table=table, metadata=meta, path=path, series=series)


def summary_line(name: str, counts: dict, path: Path, executor: dict | None = None) -> str:
    """The line :func:`run` prints at the end (``executor``: the metadata's, for worker deaths)."""
    failed = counts["failed"]
    text = (f"{name}: {counts['ok']} of {counts['total']} runs ok, {failed} failed "
            f"({counts['run_now']} run now, {counts['reused']} from earlier parts) -> {path}")
    executor = executor or {}
    if executor.get("worker_deaths"):
        text += (f"\n  a worker process died {executor['worker_deaths']} time(s): the runs it held "
                 "were run again")
    if executor.get("killed_worker"):
        text += (f"\n  Dask gave up on {executor['killed_worker']} task(s) whose workers died "
                 "(KilledWorker): their runs were split up and run again, or recorded as failed")
    if failed:
        text += "\n  failed runs have status 'failed' and the error text in runs.parquet"
    return text


def _execute(ex, chunks, ctx, store: RunStore, spec: ExperimentSpec, progress: bool) -> None:
    from tqdm.auto import tqdm

    total = sum(len(c) for c in chunks)
    n_failed = 0
    with tqdm(total=total, unit="run", desc=spec.name, disable=not progress, smoothing=0.05) as bar:
        for chunk, result in ex.imap_unordered(run_chunk, chunks, ctx):
            if isinstance(result, BaseException):
                pairs = [(failed_row(task, result), None) for task in chunk]
            else:
                pairs = result
            store.write_part([row for row, _ in pairs],
                             [_series_frame(task, s) for task, (_, s) in zip(chunk, pairs, strict=True)])
            n_failed += sum(row["status"] != "ok" for row, _ in pairs)
            bar.update(len(chunk))
            if n_failed:
                bar.set_postfix(failed=n_failed)


def _series_frame(task: RunTask, series: dict | None) -> dict | None:
    if not series:
        return None
    n = len(series["step"])
    return {"scenario": [task.scenario] * n, "point": [task.point] * n,
            "replicate": [task.replicate] * n, **series}
