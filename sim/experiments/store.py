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
Temporary files a killed experiment left behind are deleted when the folder is opened again;
``metadata.json`` is deleted before the final files are rewritten and written last, so it is
there only beside a complete set of them.

Every Parquet file is checked when it is read (resume, merge, :func:`sim.experiments.runner.load_experiment`):
one that is cut short, not Parquet, or another table (without the key columns ``scenario``,
``point``, ``replicate``, ``status``) raises :class:`ResultFileError` naming the file, what is
wrong and what to do, never a raw pyarrow error.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from ..config import ConfigError
from ..io import json_safe, parquet_problem, write_atomic, write_json_atomic

__all__ = ["KEY", "ResultFileError", "RunStore", "read_json_object", "write_atomic"]

#: The columns that identify a run.
KEY = ["scenario", "point", "replicate"]
#: Columns every table of runs (a part, ``runs.parquet``) has, with their kind of type.
RUN_COLUMNS = {"scenario": "string", "point": "integer", "replicate": "integer", "status": "string"}
#: Columns every table of per-step series has.
SERIES_COLUMNS = {"scenario": "string", "point": "integer", "replicate": "integer", "step": "integer"}
STATUSES = ("ok", "failed")
#: Files an experiment writes in its folder (beside ``parts/``).
FILES = ("spec.json", "design.parquet", "design.csv", "runs.parquet", "runs.csv", "series.parquet",
         "metadata.json")


class ResultFileError(ConfigError):
    """A file in an experiment's output folder that cannot be used: cut short, not the format
    its name says, another table than its name says, or disagreeing with the others. The
    message names the file, what is wrong, and what to do::

        outputs/experiments/grid/parts/part-00003.parquet: truncated Parquet file: its end (the
        footer) is missing, the file was cut short (1,204 bytes) — delete it and run the
        experiment again: the runs it held are run again (or kept from runs.parquet)

    A :class:`sim.ConfigError` (field ``out``), so the command line prints it and exits 2.

    Attributes:
        path: the file (or folder) at fault.
        problem: what is wrong with it.
        remedy: what to do.
    """

    def __init__(self, path, problem: str, remedy: str = ""):
        self.path = Path(path)
        self.problem = problem
        self.remedy = remedy
        super().__init__("out", str(self.path), "an experiment's output folder", problem)

    def _message(self) -> str:
        return f"{self.path}: {self.problem}" + (f" — {self.remedy}" if self.remedy else "")

    def __reduce__(self):
        return type(self), (self.path, self.problem, self.remedy)


def _remedy(path: Path) -> str:
    """What to do about an unusable file ``path`` of an experiment folder."""
    m = _PART.match(path.name)
    if m and m.group(1) == "part":
        return ("delete it and run the experiment again: the runs it held are run again (or kept "
                "from runs.parquet)")
    if m:
        return (f"delete it and part-{m.group(2)}.parquet beside it, and run the experiment again: "
                "those runs are run again")
    if path.name == "runs.parquet":
        return ("delete it (and runs.csv, metadata.json) and run the experiment again: the table is "
                "merged again from parts/, and runs no longer there are run again")
    if path.name == "series.parquet":
        return ("delete it and runs.parquet (and runs.csv, metadata.json), and run the experiment "
                "again: both are merged again from parts/, and runs no longer there are run again")
    return "run the experiment again to write it anew (its finished runs are reused)"


def _kind_of(arrow_type) -> str:
    import pyarrow as pa

    if pa.types.is_integer(arrow_type):
        return "integer"
    if (pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
            or getattr(pa.types, "is_string_view", lambda _: False)(arrow_type)):
        return "string"
    if pa.types.is_dictionary(arrow_type):
        return _kind_of(arrow_type.value_type)
    return str(arrow_type)


def read_table(path: Path, need: dict[str, str], what: str, columns: list[str] | None = None,
               remedy: str | None = None) -> pd.DataFrame:
    """The Parquet table at ``path``, checked to be whole and to have the columns ``need``
    (name → ``integer``/``string``) of ``what`` (e.g. "a table of runs"); else
    :class:`ResultFileError`."""
    import pyarrow.parquet as pq

    remedy = _remedy(path) if remedy is None else remedy
    try:
        schema = pq.read_schema(path)
    except MemoryError:
        raise
    except Exception as e:  # any reader error: say what is wrong with the file
        raise ResultFileError(path, parquet_problem(path, e), remedy) from e
    names = list(schema.names)
    missing = [c for c in need if c not in names]
    if missing:
        shown = ", ".join(names[:8]) + (", …" if len(names) > 8 else "")
        raise ResultFileError(path, f"not {what} of an experiment: missing column"
                                    f"{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                                    f"(it has {shown or 'no columns'})", remedy)
    wrong = [f"{c} is {_kind_of(schema.field(c).type)}, not {kind}" for c, kind in need.items()
             if _kind_of(schema.field(c).type) not in (kind, "null")]  # null: a table without rows
    if wrong:
        raise ResultFileError(path, f"not {what} of an experiment: {'; '.join(wrong)}", remedy)
    try:
        table = pd.read_parquet(path, columns=columns)
    except MemoryError:
        raise
    except Exception as e:  # (the same)
        raise ResultFileError(path, parquet_problem(path, e), remedy) from e
    if "status" in need and "status" in table.columns:
        bad = sorted(set(table["status"].dropna().astype(str)) - set(STATUSES))
        if bad or table["status"].isna().any():
            raise ResultFileError(path, f"not {what} of an experiment: status "
                                        f"{', '.join(map(repr, bad)) or 'missing'} (expected 'ok' "
                                        "or 'failed')", remedy)
    return table


def read_json_object(path: Path, required=(), what: str = "", remedy: str | None = None) -> dict:
    """The JSON object in ``path`` with the keys ``required`` (else it is not ``what``); else
    :class:`ResultFileError`."""
    from ..io import RunLoadError
    from ..io import read_json_object as read_run_json

    remedy = _remedy(path) if remedy is None else remedy
    try:
        data = read_run_json(path)
    except RunLoadError as e:
        raise ResultFileError(path, e.reason, remedy) from e
    missing = [k for k in required if k not in data]
    if missing:
        raise ResultFileError(path, f"missing key{'s' if len(missing) > 1 else ''} "
                                    f"{', '.join(map(repr, missing))}: not {what or 'this file'}",
                              remedy)
    return data


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
        self._remove_temporaries()
        spec_file = self.path / "spec.json"
        if spec_file.exists() and self._has_runs():
            old = read_json_object(spec_file, remedy="delete it to reuse the runs here without "
                                   "checking their spec, or run with resume=False (--no-resume) to "
                                   "start afresh")
            differ = [k for k in sorted(set(old) | set(spec_dict))
                      if k not in RESUMABLE_KEYS and json_safe(old.get(k)) != json_safe(spec_dict.get(k))]
            if differ:
                raise ConfigError("out", str(self.path),
                                  "a new folder, resume=False (--no-resume), or the same experiment",
                                  "it holds runs of a different experiment (differs in: "
                                  + ", ".join(differ) + ")")
        self.parts.mkdir(exist_ok=True)
        write_json_atomic(spec_file, spec_dict)

    def _remove_temporaries(self) -> None:
        """Delete the temporary files (``.<name>.tmp-<pid>``) a killed experiment left: in
        ``parts/``, and of this folder's own files."""
        for tmp in self.parts.glob(".*.tmp-*") if self.parts.is_dir() else ():
            tmp.unlink(missing_ok=True)
        for name in FILES:
            for tmp in self.path.glob(f".{name}.tmp-*"):
                tmp.unlink(missing_ok=True)

    def clear(self) -> None:
        """Delete the files an experiment writes here (and nothing else)."""
        shutil.rmtree(self.parts, ignore_errors=True)
        self._next = None
        for name in FILES:
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
            t = read_table(path, RUN_COLUMNS, "a table of runs", columns=[*KEY, "status"])
            for s, p, r, st in zip(t["scenario"], t["point"], t["replicate"], t["status"], strict=True):
                latest[(str(s), int(p), int(r))] = str(st)
        return {k for k, st in latest.items() if st == "ok"}

    def merged(self, scenarios: list[str], keys: set[tuple[str, int, int]] | None = None,
               columns: list[str] | None = None) -> pd.DataFrame:
        """All rows, latest per key, restricted to ``keys``, sorted by (scenario in spec
        order, point, replicate); ``columns`` first in that order, any others after."""
        frames = []
        for order, path in self._sources("part"):
            t = read_table(path, RUN_COLUMNS, "a table of runs")
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
            t = read_table(path, SERIES_COLUMNS, "a table of per-step series")
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
        """``runs.parquet``, ``runs.csv``, ``series.parquet`` (if any) and ``metadata.json``
        (deleted first and written last: present only beside a complete set of the others)."""
        (self.path / "metadata.json").unlink(missing_ok=True)
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
