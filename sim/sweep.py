"""Hydra multirun sweeps: the grid checked up front, one result file per job, one tidy table.

    rpbsim -m admin.burden=0.2,0.5,0.8 empowerment.street_authority=0.1,0.9 seed=1,2
    rpbsim -m hydra/launcher=joblib hydra.launcher.n_jobs=2 admin.burden=0.2,0.8 seed='range(5)'
    rpbsim-merge multirun/2025-01-31_10-00-00        # (re)build the table of a sweep dir

The pieces, in the order a sweep meets them (see ``docs/sweeps.md``):

* :func:`check_command_line` (called by :func:`sim.cli.main` before hydra starts): every
  point of the grid goes through the schema (:func:`sim.compose.compose`); an invalid value
  stops the sweep with the project's message (field, value, allowed range), exit status 2,
  before any folder is written. ``interval(...)`` sweeps are refused (a grid cannot list them).
* :class:`SweepCallback` (registered in ``hydra.callbacks``): writes ``sweep_metadata.json``
  when the multirun starts and merges the table when it ends.
* :func:`run_job` (the task of one multirun job): runs the config, saves its results under
  ``results/`` and writes ``job.json`` (overrides, parameters, scenario, seed, status, error,
  summary, config) atomically into the job dir; a run-time failure is recorded as
  ``status: failed`` and the sweep goes on. A job whose dir already holds an ``ok`` job.json
  for the same overrides returns at once (resume), and each job prints one line.
* :func:`merge` / :func:`write_sweep_table` / ``rpbsim-merge``: every ``job.json`` under the
  sweep dir → ``runs.parquet`` + ``runs.csv``, one row per job: ``job``, a column per swept
  parameter (dotted name), ``scenario``, ``seed``, ``status``, ``error``, then every summary
  metric (missing values stay NaN).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from hydra.experimental.callback import Callback

from .config import POPULATION_PRESETS, ConfigError, field_spec
from .io import write_atomic, write_json_atomic

__all__ = [
    "JOB_FILE",
    "METADATA_FILE",
    "TABLE_NAME",
    "Grid",
    "SweepCallback",
    "check_command_line",
    "check_grid",
    "merge",
    "merge_main",
    "parse_grid",
    "run_job",
    "write_sweep_table",
]

#: The result file of one job, in its job dir.
JOB_FILE = "job.json"
#: The sweep's metadata file, in the sweep dir.
METADATA_FILE = "sweep_metadata.json"
#: The merged table in the sweep dir: ``runs.parquet`` and ``runs.csv``.
TABLE_NAME = "runs"
#: Metrics shown on a job's one-line report.
LINE_METRICS = ("return_flow_rate", "resolution_rate", "satisfaction")
#: Columns of the table besides the swept parameters and the metrics.
ID_COLUMNS = ("scenario", "seed", "status", "error")
#: Hydra's loggers that print one line per launched job (replaced by the job's own line).
LAUNCHER_LOGGERS = ("hydra._internal.core_plugins.basic_launcher",
                    "hydra_plugins.hydra_joblib_launcher._core")


# --------------------------------------------------------------------------- the grid


@dataclass(frozen=True)
class Grid:
    """The jobs a multirun will launch: per override key the values it takes, in order.

    Attributes:
        axes: dotted key (or config group) → list of values (a fixed override: a list of one).
        swept: the keys given as sweeps (``a,b``, ``range(...)``, ``choice(...)``, ``glob(...)``).
    """

    axes: dict[str, list]
    swept: tuple[str, ...]

    @property
    def n_jobs(self) -> int:
        """Number of jobs: the product of the axes' lengths."""
        return math.prod(len(v) for v in self.axes.values())


def group_options() -> dict[str, Callable[[], list[str]]]:
    """The config groups a ``glob(...)`` sweep may range over, with their option lists."""
    from .compose import list_scenarios

    return {"scenario": list_scenarios, "population": lambda: list(POPULATION_PRESETS)}


def _parse_one(parser, text: str):
    from hydra.errors import HydraException

    try:
        (ov,) = parser.parse_overrides([text])
    except HydraException as e:
        raise ConfigError("overrides", text, "key=value (hydra override syntax)",
                          str(e).splitlines()[0]) from None
    return ov


def _glob_values(ov, text: str) -> list[str]:
    options = group_options().get(ov.key_or_group)
    if options is None:
        raise ConfigError(ov.key_or_group, text, "glob(...) over " + " or ".join(group_options()))
    values = ov.value().filter(options())
    if not values:
        raise ConfigError(ov.key_or_group, text, "one of " + ", ".join(options()),
                          "the glob matches nothing")
    return values


def axis_values(parser, ov, text: str) -> list:
    """The values one override takes, typed as hydra passes them to a job."""
    from hydra.core.override_parser.types import ValueType

    if ov.is_interval_sweep():
        raise ConfigError(ov.key_or_group, text, "a list a,b,c, range(...) or choice(...)",
                          "interval(...) needs an optimising sweeper; the grid sweeper cannot list it")
    if not ov.is_sweep_override():
        return [ov.value()]
    if ov.value_type is ValueType.GLOB_CHOICE_SWEEP:
        return _glob_values(ov, text)
    key = ov.key_or_group
    return [_parse_one(parser, f"{key}={s}").value() for s in ov.sweep_string_iterator()]


def parse_grid(overrides: Sequence[str]) -> Grid:
    """The grid of hydra override strings (hydra's own overrides and deletions left out).

    Raises:
        ConfigError: an override that does not parse, or an ``interval(...)`` sweep.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    axes: dict[str, list] = {}
    swept: list[str] = []
    for text in overrides:
        ov = _parse_one(parser, text)
        if ov.is_hydra_override() or ov.is_delete():
            continue
        axes[ov.key_or_group] = axis_values(parser, ov, text)
        if ov.is_sweep_override() and ov.key_or_group not in swept:
            swept.append(ov.key_or_group)
    return Grid(axes, tuple(swept))


def grid_points(axes: Mapping[str, list]) -> Iterator[dict]:
    """Every combination of the axes' values, as a dict key → value."""
    keys = list(axes)
    for combo in itertools.product(*axes.values()):
        yield dict(zip(keys, combo, strict=True))


def check_grid(grid: Grid) -> None:
    """Check every point of the grid against the schema, as :func:`sim.compose.compose` does.

    The seed axis is checked value by value (no rule ties the seed to another field); every
    other combination is composed in full, so cross-field rules are checked too.

    Raises:
        ConfigError: the first invalid value, naming the field, the value and the allowed range.
    """
    from .cli import CLI_KEYS
    from .compose import compose

    for key in CLI_KEYS:
        for value in grid.axes.get(key, ()):
            if not isinstance(value, bool):
                raise ConfigError(key, value, "true or false")
    for seed in grid.axes.get("seed", ()):
        field_spec("seed").check(seed)
    model_axes = {k: v for k, v in grid.axes.items() if k not in CLI_KEYS and k != "seed"}
    for point in grid_points(model_axes):
        compose(point.pop("scenario", "baseline"), point)


def multirun_overrides(argv: Sequence[str]) -> list[str] | None:
    """The overrides of ``rpbsim`` arguments when they start a multirun, else None.

    None also for ``--help``, ``--cfg``, ``--info`` and the like, and for arguments hydra's own
    parser refuses (hydra reports those itself).
    """
    from hydra._internal.utils import get_args_parser

    parser = get_args_parser()
    parser.exit_on_error = False
    try:
        args, _ = parser.parse_known_args(list(argv))
    except argparse.ArgumentError:
        return None
    if (args.help or args.hydra_help or args.cfg or args.info or args.shell_completion
            or args.experimental_rerun):
        return None
    if args.multirun or "hydra.mode=MULTIRUN" in args.overrides:
        return list(args.overrides)
    return None


def check_command_line(argv: Sequence[str]) -> Grid | None:
    """Before hydra starts: the checked grid of a multirun command line (None for a single run).

    Raises:
        ConfigError: an invalid value anywhere in the grid (nothing has been written yet).
    """
    overrides = multirun_overrides(argv)
    if overrides is None:
        return None
    grid = parse_grid(overrides)
    check_grid(grid)
    return grid


# --------------------------------------------------------------------------- files


def read_json(path: Path) -> dict | None:
    """A JSON object from ``path``, or None when it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_metadata(sweep_dir: Path) -> dict:
    """The sweep's ``sweep_metadata.json`` (empty when there is none)."""
    return read_json(Path(sweep_dir) / METADATA_FILE) or {}


def environment() -> dict:
    """Package versions, Python, platform and git revision of this process."""
    from .io import git_revision, package_versions

    return {"packages": package_versions(), "python": sys.version.split()[0],
            "platform": platform.platform(), "git_revision": git_revision()}


def now() -> str:
    """The current UTC time, ISO format to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- one job


def override_key(text: str) -> str:
    """The key of an override string (``+a.b=1`` → ``a.b``)."""
    return text.split("=", 1)[0].lstrip("+~")


def job_params(overrides: Sequence[str]) -> dict[str, Any]:
    """A job's task overrides as dotted key → typed value (hydra's parsing)."""
    grid = parse_grid(overrides)
    return {key: values[0] for key, values in grid.axes.items()}


def finished_record(job_dir: Path, overrides: Sequence[str]) -> dict | None:
    """The job's earlier ``ok`` record for the same overrides, if there is one (resume)."""
    record = read_json(job_dir / JOB_FILE)
    if record and record.get("status") == "ok" and record.get("overrides") == list(overrides):
        return record
    return None


def swept_keys(sweep_dir: Path) -> list[str] | None:
    """The swept keys recorded when the sweep started (None when unknown)."""
    swept = read_metadata(sweep_dir).get("swept")
    return list(swept) if isinstance(swept, list) else None


def execute(cfg, job_dir: Path) -> dict:
    """Run one job's config and save its results; never raises for a run-time failure."""
    from omegaconf import OmegaConf

    from .cli import config_from_hydra, run_and_save

    start = time.perf_counter()
    try:
        result, _ = run_and_save(config_from_hydra(cfg), cfg, job_dir / "results", progress=False)
        out = {"status": "ok", "error": None, "summary": result.summary}
    except Exception as e:  # noqa: BLE001 - any run-time failure is recorded; the sweep goes on
        out = {"status": "failed", "error": f"{type(e).__name__}: {e}",
               "traceback": traceback.format_exc(), "summary": {}}
    out["seconds"] = round(time.perf_counter() - start, 3)
    out["config"] = OmegaConf.to_container(cfg, resolve=True)
    return out


def jobs(n: int) -> str:
    """``1 job``, ``4 jobs``."""
    return f"{n} job" if n == 1 else f"{n} jobs"


def format_value(value) -> str:
    """A metric value for the one-line report."""
    if value is None or isinstance(value, float) and math.isnan(value):
        return "nan"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def job_line(record: dict, swept: Sequence[str] | None, *, skipped: bool = False) -> str:
    """A job's one-line report: number, swept overrides, status, headline metrics, time."""
    shown = [o for o in record["overrides"] if not swept or override_key(o) in swept]
    head = f"#{record['job']} {' '.join(shown) or '(defaults)'}"
    if skipped:
        return f"{head}: done already, skipped"
    if record["status"] == "ok":
        metrics = ", ".join(f"{m}={format_value(record['summary'].get(m))}" for m in LINE_METRICS)
        return f"{head}: ok, {metrics} ({record['seconds']:.1f} s)"
    error = (record["error"] or "").splitlines()[0]
    return f"{head}: FAILED, {error} ({record['seconds']:.1f} s)"


def run_job(cfg) -> dict:
    """The task of one multirun job: run, record ``job.json``, print one line; never raises
    for a run-time failure. Returns at once when the job finished in an earlier launch."""
    from hydra.core.hydra_config import HydraConfig

    hc = HydraConfig.get()
    job_dir = Path(hc.runtime.output_dir)
    overrides = list(hc.overrides.task)
    swept = swept_keys(Path(hc.sweep.dir))
    previous = finished_record(job_dir, overrides)
    if previous is not None:
        print(job_line({**previous, "job": hc.job.num}, swept, skipped=True), flush=True)
        return previous
    record = {"job": hc.job.num, "overrides": overrides, "params": job_params(overrides),
              # the config's name: a preset's, or a scenario file's (its stem unless it names
              # itself), which hydra's group choice would report as the default preset
              "scenario": cfg.get("name") or hc.runtime.choices.get("scenario"), "seed": cfg.get("seed"),
              "started": now()}
    record.update(execute(cfg, job_dir))
    job_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(job_dir / JOB_FILE, record)
    print(job_line(record, swept), flush=True)
    return record


# --------------------------------------------------------------------------- the table


def read_job_records(sweep_dir: Path) -> list[dict]:
    """Every readable ``job.json`` under the sweep dir, each with its ``job_dir``."""
    records = []
    for path in sorted(Path(sweep_dir).rglob(JOB_FILE)):
        record = read_json(path)
        if record is None or "status" not in record:
            warnings.warn(f"skipped unreadable job result {path}", stacklevel=2)
            continue
        record["job_dir"] = str(path.parent.relative_to(sweep_dir))
        records.append(record)
    return records


def param_columns(records: Sequence[dict], recorded: Sequence[str] | None) -> list[str]:
    """The swept parameters: the keys recorded at the sweep's start, then any other
    override key whose value differs between jobs (``scenario`` and ``seed`` have own columns)."""
    keys = list(recorded or [])
    seen: dict[str, set] = {}
    for record in records:
        for key, value in record.get("params", {}).items():
            seen.setdefault(key, set()).add(json.dumps(value, sort_keys=True, default=str))
    keys += [k for k, values in seen.items() if len(values) > 1 and k not in keys]
    return [k for k in keys if k not in ("scenario", "seed")]


def metric_columns(records: Sequence[dict]) -> list[str]:
    """Every summary metric found, in the order the summaries list them."""
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record.get("summary") or {}))
    return list(names)


def cell(value):
    """A parameter value as a table cell (lists and mappings as JSON text)."""
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def job_row(record: dict, params: Sequence[str]) -> dict:
    """One row of the table (metrics missing from the record are left out: NaN)."""
    row = {"job": record.get("job")}
    row.update({k: cell(record.get("params", {}).get(k)) for k in params})
    row.update({k: record.get(k) for k in ID_COLUMNS})
    row.update({k: math.nan if v is None else v for k, v in (record.get("summary") or {}).items()})
    return row


def merge(sweep_dir: str | os.PathLike) -> pd.DataFrame:
    """The tidy table of a sweep dir: one row per ``job.json`` found, columns ``job``, the
    swept parameters (dotted names), ``scenario``, ``seed``, ``status``, ``error``, then every
    summary metric (NaN where a job has no value, e.g. a failed job)."""
    sweep_dir = Path(sweep_dir)
    records = read_job_records(sweep_dir)
    params = param_columns(records, swept_keys(sweep_dir))
    metrics = metric_columns(records)
    columns = ["job", *params, *ID_COLUMNS, *metrics]
    table = pd.DataFrame([job_row(r, params) for r in records], columns=columns)
    table[metrics] = table[metrics].astype("float64")
    return table.sort_values("job", kind="stable").reset_index(drop=True)


def write_table(table: pd.DataFrame, sweep_dir: Path) -> None:
    """``runs.parquet`` and ``runs.csv`` in the sweep dir, each written atomically."""
    write_atomic(sweep_dir / f"{TABLE_NAME}.parquet", lambda tmp: table.to_parquet(tmp, index=False))
    write_atomic(sweep_dir / f"{TABLE_NAME}.csv", lambda tmp: table.to_csv(tmp, index=False))


def job_counts(table: pd.DataFrame) -> dict[str, int]:
    """Number of jobs in the table, ok and failed."""
    return {"n_jobs": len(table), "n_ok": int((table["status"] == "ok").sum()),
            "n_failed": int((table["status"] == "failed").sum())}


def write_sweep_table(sweep_dir: str | os.PathLike) -> pd.DataFrame:
    """Merge the sweep dir, write ``runs.parquet`` + ``runs.csv`` and update
    ``sweep_metadata.json`` (job counts; environment when the start left none)."""
    sweep_dir = Path(sweep_dir)
    table = merge(sweep_dir)
    write_table(table, sweep_dir)
    metadata = read_metadata(sweep_dir) or {"command": None, **environment()}
    metadata.update(job_counts(table), merged=now(), merge_command=" ".join(sys.argv))
    write_json_atomic(sweep_dir / METADATA_FILE, metadata)
    return table


def merge_report(table: pd.DataFrame, sweep_dir: Path) -> str:
    """One line: how many jobs were merged, ok and failed, and where the table is."""
    counts = job_counts(table)
    planned = read_metadata(sweep_dir).get("n_planned")
    of = f" of {planned} planned" if planned else ""
    return (f"{jobs(counts['n_jobs'])}{of} merged ({counts['n_ok']} ok, {counts['n_failed']} failed)"
            f" into {sweep_dir / TABLE_NAME}.parquet and .csv")


def merge_main(argv: Sequence[str] | None = None) -> int:
    """``rpbsim-merge DIR``: (re)build the table of a sweep dir, e.g. after a crash."""
    parser = argparse.ArgumentParser(
        prog="rpbsim-merge",
        description="Merge the job results (job.json) of an rpbsim multirun into one table: "
                    "runs.parquet and runs.csv in the sweep dir, one row per job (swept "
                    "parameters, scenario, seed, status, error, summary metrics); updates "
                    "sweep_metadata.json. Jobs without a result are left out.")
    parser.add_argument("sweep_dir", type=Path, help="the sweep dir (hydra.sweep.dir)")
    args = parser.parse_args(argv)
    if not args.sweep_dir.is_dir():
        print(f"rpbsim-merge: no such directory: {args.sweep_dir}", file=sys.stderr)
        return 2
    if not read_job_records(args.sweep_dir):
        print(f"rpbsim-merge: no job results ({JOB_FILE}) under {args.sweep_dir}", file=sys.stderr)
        return 1
    table = write_sweep_table(args.sweep_dir)
    print(merge_report(table, args.sweep_dir))
    return 0


# --------------------------------------------------------------------------- hydra callback


def start_metadata(grid: Grid, overrides: Sequence[str]) -> dict:
    """What ``sweep_metadata.json`` holds when the sweep starts."""
    return {"command": " ".join(sys.argv), "overrides": list(overrides), "swept": list(grid.swept),
            "n_planned": grid.n_jobs, "started": now(), **environment()}


def quiet_launcher_logs() -> None:
    """Silence hydra's per-job launch lines: each job prints its own."""
    import logging

    for name in LAUNCHER_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


class SweepCallback(Callback):
    """Hydra callback (``hydra.callbacks.sweep`` in ``conf/config.yaml``): sweep metadata at
    the start of a multirun, the merged table at its end."""

    def on_multirun_start(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        overrides = list(config.hydra.overrides.task)
        grid = parse_grid(overrides)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(sweep_dir / METADATA_FILE, start_metadata(grid, overrides))
        quiet_launcher_logs()
        swept = " × ".join(grid.swept) or "no swept parameter"
        print(f"rpbsim: {jobs(grid.n_jobs)} ({swept}) into {sweep_dir}", flush=True)

    def on_multirun_end(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        table = write_sweep_table(sweep_dir)
        print(f"rpbsim: {merge_report(table, sweep_dir)}", flush=True)
