"""The output folder of an experiment: parts written as runs finish, the merged table, metadata.

Layout of ``outputs/experiments/<name>/``::

    spec.json            the spec the parts were run with (checked on resume)
    design.parquet/.csv  point and raw sampled lever values (SALib's X)
    parts/part-00000.parquet, part-00001.parquet, ...   runs, one file per finished chunk
    parts/series-00000.parquet, ...                     per-step series (when kept)
    runs.parquet, runs.csv   the merged table: one row per run
    series.parquet           the merged per-step series (when kept)
    metadata.json

Every file is written to a temporary name in the same folder and renamed into place
(``os.replace``, atomic on POSIX), so a killed experiment leaves only whole parts: resuming
skips the runs they hold (those with status ``ok``; failed runs are tried again) and the merge
keeps, for each (scenario, point, replicate), the row of the latest part. A series part is
written before its runs part, so a series part without a runs part is ignored. No pickles.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from ..config import ConfigError
from ..io import json_safe, write_atomic, write_json_atomic

__all__ = ["KEY", "RunStore", "write_atomic"]

#: The columns that identify a run.
KEY = ["scenario", "point", "replicate"]
#: Spec keys that may change between a run and its resumption (they add or drop runs, but do
#: not change the ones already done).
RESUMABLE_KEYS = ("name", "description", "scenarios", "replicates")
_PART = re.compile(r"^(part|series)-(\d{5,})\.parquet$")


class RunStore:
    """Reads and writes one experiment's output folder (see the module docstring)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.parts = self.path / "parts"
        self._next: int | None = None  # number of the next part (scanned once, then counted)

    # ------------------------------------------------------------------ opening

    def open(self, spec_dict: dict, resume: bool) -> None:
        """Create the folder; with ``resume`` check that earlier parts belong to the same
        experiment, without it delete what an earlier run left here."""
        self.path.mkdir(parents=True, exist_ok=True)
        if not resume:
            self.clear()
        spec_file = self.path / "spec.json"
        if spec_file.exists() and self._has_runs():
            old = json.loads(spec_file.read_text(encoding="utf-8"))
            differ = [k for k in sorted(set(old) | set(spec_dict))
                      if k not in RESUMABLE_KEYS and json_safe(old.get(k)) != json_safe(spec_dict.get(k))]
            if differ:
                raise ConfigError("out", str(self.path),
                                  "a new folder, resume=False (--no-resume), or the same experiment",
                                  "it holds runs of a different experiment (differs in: "
                                  + ", ".join(differ) + ")")
        self.parts.mkdir(exist_ok=True)
        for tmp in self.parts.glob(".*.tmp-*"):
            tmp.unlink(missing_ok=True)
        write_json_atomic(spec_file, spec_dict)

    def clear(self) -> None:
        """Delete the files an experiment writes here (and nothing else)."""
        shutil.rmtree(self.parts, ignore_errors=True)
        self._next = None
        for name in ("spec.json", "design.parquet", "design.csv", "runs.parquet", "runs.csv",
                     "series.parquet", "metadata.json"):
            (self.path / name).unlink(missing_ok=True)

    def _has_runs(self) -> bool:
        return (self.path / "runs.parquet").exists() or any(self._part_files("part"))

    # ------------------------------------------------------------------ parts

    def _part_files(self, kind: str) -> list[tuple[int, Path]]:
        if not self.parts.is_dir():
            return []
        out = []
        for p in self.parts.iterdir():
            m = _PART.match(p.name)
            if m and m.group(1) == kind:
                out.append((int(m.group(2)), p))
        return sorted(out)

    def _next_number(self) -> int:
        if self._next is None:
            numbers = [n for kind in ("part", "series") for n, _ in self._part_files(kind)]
            self._next = max(numbers, default=-1) + 1
        self._next += 1
        return self._next - 1

    def write_part(self, rows: list[dict], series: Iterable[dict] = ()) -> Path:
        """Write one chunk's rows (and per-step series) as the next part; returns its path."""
        number = self._next_number()
        series_frames = [pd.DataFrame(s) for s in series if s]
        if series_frames:
            frame = pd.concat(series_frames, ignore_index=True)
            write_atomic(self.parts / f"series-{number:05d}.parquet",
                         lambda p: frame.to_parquet(p, index=False))
        table = pd.DataFrame(rows)
        path = self.parts / f"part-{number:05d}.parquet"
        write_atomic(path, lambda p: table.to_parquet(p, index=False))
        return path

    def _sources(self, kind: str) -> list[tuple[int, Path]]:
        """Merged file (order −1) then parts in order; series only of parts with runs."""
        merged = self.path / ("runs.parquet" if kind == "part" else "series.parquet")
        out = [(-1, merged)] if merged.exists() else []
        parts = self._part_files(kind)
        if kind == "series":
            with_runs = {n for n, _ in self._part_files("part")}
            parts = [(n, p) for n, p in parts if n in with_runs]
        return out + parts

    def completed(self) -> set[tuple[str, int, int]]:
        """Keys ``(scenario, point, replicate)`` whose latest row has status ``ok``."""
        latest: dict[tuple, str] = {}
        for _, path in self._sources("part"):
            t = pd.read_parquet(path, columns=[*KEY, "status"])
            for s, p, r, st in zip(t["scenario"], t["point"], t["replicate"], t["status"], strict=True):
                latest[(str(s), int(p), int(r))] = str(st)
        return {k for k, st in latest.items() if st == "ok"}

    def merged(self, scenarios: list[str], keys: set[tuple[str, int, int]] | None = None,
               columns: list[str] | None = None) -> pd.DataFrame:
        """All rows, latest per key, restricted to ``keys``, sorted by (scenario in spec
        order, point, replicate); ``columns`` first in that order, any others after."""
        frames = []
        for order, path in self._sources("part"):
            t = pd.read_parquet(path)
            t["_order"] = order
            frames.append(t)
        if not frames:
            return pd.DataFrame(columns=columns or [*KEY])
        table = pd.concat(frames, ignore_index=True)
        table = table.sort_values("_order", kind="stable").drop_duplicates(KEY, keep="last")
        if keys is not None:
            keep = [(str(s), int(p), int(r)) in keys
                    for s, p, r in zip(table["scenario"], table["point"], table["replicate"], strict=True)]
            table = table[keep]
        table = _sorted(table.drop(columns="_order"), scenarios)
        if columns is not None:
            table = table[[c for c in columns if c in table.columns]
                          + [c for c in table.columns if c not in columns]]
        return table.reset_index(drop=True)

    def merged_series(self, table: pd.DataFrame, scenarios: list[str]) -> pd.DataFrame | None:
        """Per-step series of the runs in ``table`` (from the latest part holding each run)."""
        frames = []
        for order, path in self._sources("series"):
            t = pd.read_parquet(path)
            t["_order"] = order
            frames.append(t)
        if not frames:
            return None
        s = pd.concat(frames, ignore_index=True)
        s = s[s["_order"] == s.groupby(KEY)["_order"].transform("max")]
        ok = table.loc[table["status"] == "ok", KEY]
        s = s.merge(ok, on=KEY, how="inner")
        s = _sorted(s.drop(columns="_order"), scenarios, extra=["step"])
        return s.reset_index(drop=True)

    # ------------------------------------------------------------------ final files

    def write_design(self, design_table: pd.DataFrame) -> None:
        write_atomic(self.path / "design.parquet", lambda p: design_table.to_parquet(p, index=False))
        write_atomic(self.path / "design.csv", lambda p: design_table.to_csv(p, index=False))

    def write_results(self, table: pd.DataFrame, series: pd.DataFrame | None, metadata: dict) -> None:
        """``runs.parquet``, ``runs.csv``, ``series.parquet`` (if any) and ``metadata.json``."""
        write_atomic(self.path / "runs.parquet", lambda p: table.to_parquet(p, index=False))
        write_atomic(self.path / "runs.csv", lambda p: table.to_csv(p, index=False))
        if series is not None:
            write_atomic(self.path / "series.parquet", lambda p: series.to_parquet(p, index=False))
        else:
            (self.path / "series.parquet").unlink(missing_ok=True)
        write_json_atomic(self.path / "metadata.json", metadata)


def _sorted(table: pd.DataFrame, scenarios: list[str], extra: list[str] = ()) -> pd.DataFrame:
    rank = {s: i for i, s in enumerate(scenarios)}

    def key(col: pd.Series) -> pd.Series:
        if col.name == "scenario":
            return col.map(lambda s: rank.get(s, len(rank)))
        return col

    return table.sort_values([*KEY, *extra], key=key, kind="stable")
