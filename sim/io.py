"""Save and load run results: tidy tables (Parquet + CSV) and a metadata file per run.

A run directory holds ``timeseries.{parquet,csv}``, ``summary.{json,csv}``,
``streets.{parquet,csv}`` (one row per street) and ``by_street.{parquet,csv}`` (street × step),
``items.parquet`` and ``handoffs.parquet`` (when recorded), ``actors.{parquet,csv}`` (the
name, kind and street of every node id that appears in the item tables, see
:func:`sim.readable.actors_table`; the CSV is UTF-8 with a byte-order mark so that Excel shows
the Chinese names), and ``metadata.json`` (config, final config, seed, spin-up, population
preset, package versions, git revision, command). JSON files are strict JSON: a missing
value (NaN, e.g. a rate with an empty denominator) is written as ``null`` and read back by
:func:`load_run` as NaN in the summary. :func:`load_run` returns a :class:`sim.RunResult`
(configs rebuilt through the schema), so a saved run reads like a fresh one. Files are written into a temporary directory that is
renamed into place at the end, so a crash never leaves a half-written result. No pickles.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np
import pandas as pd

from .config import to_dict

__all__ = ["RunLoadError", "git_revision", "json_safe", "load_run", "package_versions", "parquet_problem",
           "read_json_object", "run_metadata", "save_run", "write_atomic", "write_json_atomic"]

#: Tables written as Parquet + CSV (when the result has them).
TABLES = ("timeseries", "streets", "by_street")
#: Tables written as Parquet only (when recorded).
ITEM_TABLES = ("items", "handoffs")

PACKAGES = ("rpb-sim", "mesa", "numpy", "scipy", "networkx", "pandas", "pyarrow", "hydra-core",
            "omegaconf", "matplotlib")


def package_versions(extra=()) -> dict[str, str]:
    """Installed versions of the packages a result depends on (and of ``extra`` ones)."""
    out = {}
    for name in (*PACKAGES, *extra):
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def write_atomic(path: Path, write) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path`` (``.<name>.tmp-<pid>``), then
    rename it into place: readers see the old file or the whole new one, never half of it."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data) -> None:
    """Strict JSON (NaN → null, :func:`json_safe`), UTF-8, written atomically."""
    text = json.dumps(json_safe(data), indent=2, ensure_ascii=False, allow_nan=False, default=str)
    write_atomic(path, lambda tmp: tmp.write_text(text + "\n", encoding="utf-8"))


def git_revision(ignore: Iterable[str | Path] = (), *, cwd: str | Path | None = None) -> str:
    """The git revision of the source tree (with ``-dirty`` if modified), or ``unknown``.

    ``ignore``: folders or files whose modifications do not count as dirty, e.g. a report's
    own tracked output folder (``docs/validation``), which a rerun rewrites. Paths outside
    the work tree are not in it anyway and are passed over. ``cwd``: a folder inside the
    work tree to read (default: this package's folder).
    """
    here = Path(cwd) if cwd is not None else Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "--show-toplevel", "HEAD"], cwd=here,
                             capture_output=True, check=False, text=True, timeout=5)
        if rev.returncode != 0:
            return "unknown"
        top, head = rev.stdout.splitlines()
        # the whole work tree (":(top)") minus the ignored paths inside it
        ignored = [Path(p).resolve() for p in ignore]
        excluded = [f":(exclude,top){p.relative_to(top)}" for p in ignored if p.is_relative_to(top)]
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                 ":(top)", *excluded], cwd=here, check=False, capture_output=True,
                                text=True, timeout=5)
        if status.returncode != 0:
            return "unknown"
        return head + ("-dirty" if status.stdout.strip() else "")
    except (OSError, ValueError, subprocess.SubprocessError):
        return "unknown"


def json_safe(obj):
    """``obj`` with every NaN float replaced by None (JSON ``null``), tuples as lists."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return None if np.isnan(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(json_safe(data), indent=2, ensure_ascii=False, allow_nan=False,
                               default=str), encoding="utf-8")


#: Version of the saved-run layout: 2 added ``actors`` and ``population``.
FORMAT_VERSION = 2


def run_metadata(result) -> dict:
    from .runner import _population_name

    cfg = result.config
    return {
        "format_version": FORMAT_VERSION,
        "scenario": cfg.name,
        "seed": cfg.seed,
        "steps": cfg.steps,
        "spin_up": cfg.spin_up,
        "population": _population_name(cfg, {}),
        "config": to_dict(cfg),
        "final_config": to_dict(getattr(result, "final_config", cfg)),
        "packages": package_versions(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "git_revision": git_revision(),
        "command": " ".join(sys.argv),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "assignment_stats": result.assignment_stats,
    }


def save_run(result, out_dir: str | os.PathLike) -> Path:
    """Write one run's results atomically into ``out_dir`` (created; replaced if it exists)."""
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        for name in TABLES:
            table = getattr(result, name, None)
            if table is None:
                continue
            if name == "timeseries":
                table = table.reset_index()
            table.to_parquet(tmp / f"{name}.parquet", index=False)
            table.to_csv(tmp / f"{name}.csv", index=False)
        _write_json(tmp / "summary.json", result.summary)
        pd.DataFrame([result.summary]).to_csv(tmp / "summary.csv", index=False)
        for name in ITEM_TABLES:
            table = getattr(result, name, None)
            if table is not None:
                table.to_parquet(tmp / f"{name}.parquet", index=False)
        actors = getattr(result, "actors", None)
        if actors is not None:
            actors.to_parquet(tmp / "actors.parquet", index=False)
            actors.to_csv(tmp / "actors.csv", index=False, encoding="utf-8-sig")
        _write_json(tmp / "metadata.json", run_metadata(result))
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _config_or_none(data, what: str, path: Path):
    """A validated config rebuilt from saved metadata; None (with a warning) if the schema
    has changed since the run was saved and no longer accepts it."""
    import warnings

    from .config import ConfigError, from_dict, validate

    if data is None:
        return None
    try:
        return validate(from_dict(data))
    except (ConfigError, TypeError, ValueError) as e:
        warnings.warn(f"{path}: the saved {what} no longer fits the schema ({e}); "
                      f"result.{what} is None, the tables are loaded", RuntimeWarning, stacklevel=3)
        return None


class RunLoadError(ValueError):
    """A folder that :func:`load_run` cannot read as a saved run: not a run folder, a run
    marked failed, or a file that is missing, cut short, not the format its name says, or
    another table than the one its name says. The message names the file and what is wrong.

    Attributes:
        path: the file (or folder) at fault.
        reason: what is wrong with it.
    """

    def __init__(self, path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):
        return type(self), (self.path, self.reason)


#: Files every saved run has (``save_run`` writes them whatever the result holds).
RUN_FILES = ("summary.json", "metadata.json", "timeseries.parquet")
#: Keys every ``metadata.json`` has had since the first saved-run format.
METADATA_KEYS = ("scenario", "seed", "steps", "config")
#: Columns that identify each saved table (present in every format that wrote the table;
#: later columns are not required, so older runs still load).
TABLE_COLUMNS = {
    "timeseries": ("step",),
    "streets": ("street", "communities", "residents", "pilot"),
    "by_street": ("step", "street"),
    "items": ("item_id", "origin", "community", "street", "created", "closed", "status", "stage",
              "holder", "handoffs"),
    "handoffs": ("item_id", "step", "from_node", "to_node", "reason"),
    "actors": ("node", "kind", "name_zh", "name_en"),
}
_PARQUET_MAGIC = b"PAR1"


def _failed_marker(p: Path) -> Path | None:
    """The ``FAILED.txt`` that marks ``p`` (or the run dir holding it, as ``rpbsim`` lays
    out ``<run dir>/results/``) as a failed run, if any."""
    for marker in (p / "FAILED.txt", p.parent / "FAILED.txt"):
        if marker.is_file():
            return marker
    return None


def _failure_text(marker: Path) -> str:
    """The error line of a ``FAILED.txt`` (written by :func:`sim.cli.discard_failed_run`)."""
    try:
        paragraphs = marker.read_text(encoding="utf-8", errors="replace").split("\n\n")
    except OSError:
        return "(FAILED.txt unreadable)"
    error = paragraphs[1].strip().splitlines() if len(paragraphs) > 1 else []
    return error[0] if error else paragraphs[0].strip()[:200]


def _check_run_folder(p: Path) -> None:
    """Raise :class:`RunLoadError` unless ``p`` is a folder with a run's files in it."""
    if not p.exists():
        raise RunLoadError(p, "no such folder")
    if not p.is_dir():
        raise RunLoadError(p, "is a file, not a run folder (load_run takes the folder that "
                              "save_run wrote, with summary.json, metadata.json and "
                              "timeseries.parquet in it)")
    marker = _failed_marker(p)
    if marker is not None:
        raise RunLoadError(marker, f"this run FAILED and its results are incomplete: "
                                   f"{_failure_text(marker)}")
    present = [name for name in RUN_FILES if (p / name).exists()]
    if not present:
        hint = ""
        if all((p / "results" / name).exists() for name in RUN_FILES):
            hint = f"; did you mean {p / 'results'}?"
        elif (p / "runs.parquet").exists():
            hint = "; it looks like a sweep or experiment folder: read its runs.parquet"
        raise RunLoadError(p, f"not a saved run: none of {', '.join(RUN_FILES)} is in it{hint}")
    missing = [name for name in RUN_FILES if name not in present]
    if missing:
        raise RunLoadError(p / missing[0], "missing: the run folder is incomplete (it has "
                                           f"{', '.join(present)})")


def read_json_object(f: Path, required=()) -> dict:
    """A JSON object read from ``f``, with the keys ``required``; else RunLoadError."""
    try:
        raw = f.read_bytes()
    except OSError as e:
        raise RunLoadError(f, f"cannot be read ({e.strerror or e})") from e
    if not raw.strip():
        raise RunLoadError(f, f"empty file ({len(raw)} bytes), not JSON")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RunLoadError(f, f"not a JSON file (not UTF-8 text: {_starts_with(raw)})") from e
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        body = text.strip()
        cut = " (cut short? it does not end with '}')" if body[:1] == "{" and body[-1:] != "}" else ""
        raise RunLoadError(f, f"not valid JSON{cut}: {e.msg} (line {e.lineno}, "
                              f"column {e.colno})") from e
    if not isinstance(data, dict):
        raise RunLoadError(f, f"expected a JSON object ({{...}}), found a {type(data).__name__}")
    missing = [k for k in required if k not in data]
    if missing:
        raise RunLoadError(f, f"missing key{'s' if len(missing) > 1 else ''} "
                              f"{', '.join(map(repr, missing))}: not the {f.name} of a saved run")
    return data


def _starts_with(raw: bytes) -> str:
    return f"it starts with {raw[:16]!r}"


def parquet_problem(f: Path, error: BaseException) -> str:
    """What is wrong with a Parquet file that pyarrow could not read."""
    try:
        size = f.stat().st_size
        with open(f, "rb") as fh:
            head = fh.read(4)
            fh.seek(max(size - 4, 0))
            tail = fh.read(4)
    except OSError as e:
        return f"cannot be read ({e.strerror or e})"
    if size == 0:
        return "empty file (0 bytes), not Parquet"
    if head != _PARQUET_MAGIC:
        with open(f, "rb") as fh:
            return f"not a Parquet file ({_starts_with(fh.read(16))}, not with {_PARQUET_MAGIC!r})"
    if tail != _PARQUET_MAGIC or size < 12:
        return (f"truncated Parquet file: its end (the footer) is missing, the file was cut short "
                f"({size:,} bytes)")
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"damaged Parquet file, unreadable ({reason})"


def _read_parquet(p: Path, name: str) -> pd.DataFrame:
    """Table ``name`` of run folder ``p``, checked to be that table; else RunLoadError."""
    import pyarrow.parquet as pq

    f = p / f"{name}.parquet"
    try:
        columns = pq.read_schema(f).names if f.is_file() else list(pd.read_parquet(f).columns)
    except MemoryError:
        raise
    except Exception as e:  # any reader error: say what is wrong with the file
        raise RunLoadError(f, parquet_problem(f, e)) from e
    need = TABLE_COLUMNS[name]
    missing = [c for c in need if c not in columns]
    if name == "timeseries" and not missing:
        from .metrics import METRIC_NAMES

        if not any(c in METRIC_NAMES for c in columns):
            missing = ["a metric column"]
    if missing:
        shown = ", ".join(columns[:8]) + (", …" if len(columns) > 8 else "")
        raise RunLoadError(f, f"not a {name} table: missing column{'s' if len(missing) > 1 else ''} "
                              f"{', '.join(missing)} (it has {shown or 'no columns'})")
    try:
        return pd.read_parquet(f)
    except MemoryError:
        raise
    except Exception as e:  # (the same)
        raise RunLoadError(f, parquet_problem(f, e)) from e


def _check_summary(p: Path, summary: dict, timeseries: pd.DataFrame) -> None:
    """A summary holds numbers (or null), and summarises the metrics of the timeseries: the
    metrics named in one are those named in the other (whatever the version that saved them)."""
    from .metrics import METRIC_NAMES

    f = p / "summary.json"
    for k, v in summary.items():
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise RunLoadError(f, f"not a run summary: {k!r} is {v!r} ({type(v).__name__}); "
                                  "every value must be a number or null")
    in_table = [m for m in METRIC_NAMES if m in timeseries.columns]
    in_summary = [m for m in METRIC_NAMES if m in summary]
    if not in_summary and in_table:
        raise RunLoadError(f, "not a run summary: it names none of the metrics")
    no_column = [m for m in in_summary if m not in timeseries.columns]
    if no_column:
        raise RunLoadError(p / "timeseries.parquet",
                           f"not the timeseries of this run: no column for {_names(no_column)} "
                           "(summary.json has them)")
    no_key = [m for m in in_table if m not in summary]
    if no_key:
        raise RunLoadError(f, f"missing key{'s' if len(no_key) > 1 else ''} {_names(no_key)}: the "
                              "summary does not match timeseries.parquet")


def _names(names: list[str], most: int = 5) -> str:
    return ", ".join(map(repr, names[:most])) + (f" and {len(names) - most} more"
                                                if len(names) > most else "")


def load_run(path: str | os.PathLike):
    """Load a saved run as a :class:`sim.RunResult`.

    ``config`` and ``final_config`` are rebuilt from ``metadata.json`` through the schema
    (validated); ``summary`` reads ``null`` back as NaN; ``timeseries`` is indexed by step;
    ``streets``, ``by_street``, ``items``, ``handoffs`` and ``actors`` are None when absent
    (``actors`` is absent in runs saved before it existed); ``metadata`` is the whole
    ``metadata.json``. Dict-style access still works: ``load_run(p)["summary"]``.

    Raises:
        RunLoadError: (a ``ValueError``) naming the file and what is wrong, when ``path`` is
            not a run folder (no such folder, a file, a folder without a run's files — with a
            hint when it holds a run in ``results/``), the run is marked failed
            (``FAILED.txt`` in it or in the run dir above it, as ``rpbsim`` leaves a failed
            run), a file is missing, a JSON file is not JSON, not an object or lacks its keys,
            a Parquet file is empty, cut short, not Parquet or another table (its identifying
            columns missing), or the summary holds other than numbers. Never a raw
            pyarrow or JSON error.
    """
    from .runner import RunResult

    p = Path(path)
    _check_run_folder(p)
    meta = read_json_object(p / "metadata.json", METADATA_KEYS)
    if meta["config"] is not None and not isinstance(meta["config"], dict):
        raise RunLoadError(p / "metadata.json", f"'config' is a {type(meta['config']).__name__}, "
                                                "not an object: not the metadata of a saved run")
    version = meta.get("format_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version > FORMAT_VERSION:
        raise RunLoadError(p / "metadata.json", f"format_version {version!r}: this version of "
                                                f"RPB-Sim reads saved runs of format 1 to {FORMAT_VERSION}")
    summary = read_json_object(p / "summary.json")
    timeseries = _read_parquet(p, "timeseries")
    if not timeseries["step"].is_unique:
        raise RunLoadError(p / "timeseries.parquet", "not a timeseries table: steps repeat "
                                                     "(one row per step expected)")
    _check_summary(p, summary, timeseries)
    tables = {}
    for name in ("streets", "by_street", *ITEM_TABLES, "actors"):
        tables[name] = _read_parquet(p, name) if (p / f"{name}.parquet").exists() else None
    config = _config_or_none(meta.get("config"), "config", p)
    final = _config_or_none(meta.get("final_config", meta.get("config")), "final_config", p)
    return RunResult(
        config=config, final_config=final,
        summary={k: float("nan") if v is None else v for k, v in summary.items()},
        timeseries=timeseries.set_index("step"),
        assignment_stats=dict(meta.get("assignment_stats") or {}), metadata=meta, **tables)
