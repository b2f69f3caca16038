"""Save and load run results: tidy tables (Parquet + CSV) and a metadata file per run.

A run directory holds ``timeseries.{parquet,csv}``, ``summary.{json,csv}``,
``items.parquet`` and ``handoffs.parquet`` (when recorded), and ``metadata.json`` (config,
seed, package versions, git revision, command). Files are written into a temporary
directory that is renamed into place at the end, so a crash never leaves a half-written
result. No pickles.
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

import pandas as pd

from .config import to_dict

__all__ = ["git_revision", "load_run", "package_versions", "run_metadata", "save_run"]

PACKAGES = ("rpb-sim", "mesa", "numpy", "scipy", "networkx", "pandas", "pyarrow", "hydra-core",
            "omegaconf", "matplotlib")


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_revision() -> str:
    """The git revision of the source tree (with ``-dirty`` if modified), or ``unknown``."""
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=5)
        if rev.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return rev.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def run_metadata(result) -> dict:
    cfg = result.config
    return {
        "scenario": cfg.name,
        "seed": cfg.seed,
        "steps": cfg.steps,
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
        ts = result.timeseries.reset_index()
        ts.to_parquet(tmp / "timeseries.parquet", index=False)
        ts.to_csv(tmp / "timeseries.csv", index=False)
        (tmp / "summary.json").write_text(json.dumps(result.summary, indent=2), encoding="utf-8")
        pd.DataFrame([result.summary]).to_csv(tmp / "summary.csv", index=False)
        if result.items is not None:
            result.items.to_parquet(tmp / "items.parquet", index=False)
        if result.handoffs is not None:
            result.handoffs.to_parquet(tmp / "handoffs.parquet", index=False)
        (tmp / "metadata.json").write_text(json.dumps(run_metadata(result), indent=2,
                                                      ensure_ascii=False, default=str),
                                           encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def load_run(path: str | os.PathLike) -> dict:
    """Load a saved run: dict with ``timeseries``, ``summary``, ``metadata`` (+ tables)."""
    p = Path(path)
    out = {
        "timeseries": pd.read_parquet(p / "timeseries.parquet").set_index("step"),
        "summary": json.loads((p / "summary.json").read_text(encoding="utf-8")),
        "metadata": json.loads((p / "metadata.json").read_text(encoding="utf-8")),
    }
    for name in ("items", "handoffs"):
        f = p / f"{name}.parquet"
        out[name] = pd.read_parquet(f) if f.exists() else None
    return out
