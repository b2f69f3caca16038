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
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np
import pandas as pd

from .config import to_dict

__all__ = ["git_revision", "json_safe", "load_run", "package_versions", "run_metadata", "save_run",
           "write_atomic", "write_json_atomic"]

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


def git_revision() -> str:
    """The git revision of the source tree (with ``-dirty`` if modified), or ``unknown``."""
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, check=False,
                             text=True, timeout=5)
        if rev.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here, check=False,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return rev.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
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


def load_run(path: str | os.PathLike):
    """Load a saved run as a :class:`sim.RunResult`.

    ``config`` and ``final_config`` are rebuilt from ``metadata.json`` through the schema
    (validated); ``summary`` reads ``null`` back as NaN; ``timeseries`` is indexed by step;
    ``streets``, ``by_street``, ``items``, ``handoffs`` and ``actors`` are None when absent
    (``actors`` is absent in runs saved before it existed); ``metadata`` is the whole
    ``metadata.json``. Dict-style access still works: ``load_run(p)["summary"]``.
    """
    from .runner import RunResult

    p = Path(path)
    summary = json.loads((p / "summary.json").read_text(encoding="utf-8"))
    meta = json.loads((p / "metadata.json").read_text(encoding="utf-8"))
    tables = {}
    for name in ("streets", "by_street", *ITEM_TABLES, "actors"):
        f = p / f"{name}.parquet"
        tables[name] = pd.read_parquet(f) if f.exists() else None
    config = _config_or_none(meta.get("config"), "config", p)
    final = _config_or_none(meta.get("final_config", meta.get("config")), "final_config", p)
    return RunResult(
        config=config, final_config=final,
        summary={k: float("nan") if v is None else v for k, v in summary.items()},
        timeseries=pd.read_parquet(p / "timeseries.parquet").set_index("step"),
        assignment_stats=dict(meta.get("assignment_stats") or {}), metadata=meta, **tables)
