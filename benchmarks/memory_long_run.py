"""Memory over long and large runs with items streamed (docs/reliability.md, "Long runs").

    python benchmarks/memory_long_run.py [--quick] [--json results.json]

Two cases, each in a fresh subprocess (so one cannot leave memory behind for the other), with
``items.record=stream`` into a temporary folder (removed afterwards):

* ``default``: the baseline scenario at the default size, 5,200 weeks after the spin-up;
  resident set size (RSS) at weeks 520, 1,040, …, 5,200. **Bound: RSS(5,200) − RSS(520)
  ≤ 50 MB.**
* ``district``: the baseline at the ``district`` preset (300,000 residents), 104 weeks; RSS
  every 13 weeks. **Bound (flat over its second half): the highest RSS of weeks 52–104 is at
  most 20 MB above RSS(52)**, about 4 % of what the run holds; a leak of 0.4 MB a week fails.

RSS is read after ``gc.collect()`` (psutil, else ``/proc/self/statm``). Each case also
reports its least-squares RSS slope (MB per 1,000 weeks), the weeks per second, the parts
and rows streamed to disk, and the memory of what legitimately grows by one row a week: the
timeseries (``model.timeseries()``), the per-street log and Mesa's DataCollector lists.

``--quick`` runs 520 weeks (RSS every 52) and the district for 26 weeks (every 13), with the
bounds scaled (10 MB from week 260, and 20 MB): a smoke test of the script, not a measurement.

Prints a table and exits 1 when a bound is exceeded.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: name: (population preset, weeks, RSS every, first week of the compared span, bound in MB)
CASES = {
    "default": ("default", 5200, 520, 520, 50.0),
    "district": ("district", 104, 13, 52, 20.0),
}
QUICK = {
    "default": ("default", 520, 52, 260, 10.0),
    "district": ("district", 26, 13, 13, 20.0),
}


def rss_mb() -> float:
    """Resident set size of this process, in MB (2**20 bytes)."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _deep_bytes(obj) -> int:
    """Bytes of lists/dicts of numpy arrays and Python scalars (containers included)."""
    import numpy as np

    if isinstance(obj, np.ndarray):
        return sys.getsizeof(obj)
    if isinstance(obj, dict):
        return sys.getsizeof(obj) + sum(_deep_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sys.getsizeof(obj) + sum(_deep_bytes(v) for v in obj)
    return sys.getsizeof(obj)


def run_case(name: str, quick: bool) -> dict:
    """Build and step one case in this process; return its figures."""
    import pandas as pd

    from sim.compose import compose
    from sim.items import RecordSink
    from sim.model import RegionModel

    population, weeks, every, start, bound = (QUICK if quick else CASES)[name]
    with tempfile.TemporaryDirectory(prefix="rpbsim-memory-") as tmp:
        stream = Path(tmp) / "items.parquet"
        cfg = compose("baseline", ["items.record=stream", f"items.stream_path={stream}",
                                   f"population={population}", f"steps={weeks}"], seed=0)
        t0 = time.perf_counter()
        model = RegionModel(config=cfg)
        build_s = time.perf_counter() - t0
        gc.collect()
        rss = {0: rss_mb()}
        t1 = time.perf_counter()
        for week in range(1, weeks + 1):
            model.step()
            if week % every == 0:
                gc.collect()
                rss[week] = rss_mb()
        steps_s = time.perf_counter() - t1
        ts = model.timeseries()
        grows = {
            "timeseries_mb": ts.memory_usage(deep=True).sum() / 2**20,
            "street_log_mb": _deep_bytes([model.street_log.rows,
                                          getattr(model.street_log, "_blocks", [])]) / 2**20,
            "datacollector_mb": _deep_bytes(model.datacollector.model_vars) / 2**20,
        }
        model.events.flush()
        items_parts = RecordSink.parts(stream)
        events_parts = RecordSink.parts(model.events.sink.path)
        disk_rows = {"items": sum(_rows(f) for f in items_parts),
                     "handoffs": sum(_rows(f) for f in events_parts)}
        assert disk_rows["items"] == model.items.sink.n_rows, "items on disk != rows streamed"
        assert disk_rows["handoffs"] == model.events.sink.n_rows, "handoffs on disk != streamed"
        disk_mb = sum(f.stat().st_size for f in (*items_parts, *events_parts)) / 2**20
        del pd
    later = [w for w in rss if w >= start]
    growth = (max(rss[w] for w in later) - rss[start]) if name == "district" \
        else rss[weeks] - rss[start]
    slope = _slope([(w, rss[w]) for w in later])
    return {"case": name, "population": population, "weeks": weeks, "residents":
            model.layout.n_residents, "rss_mb": {str(w): round(v, 1) for w, v in rss.items()},
            "start_week": start, "growth_mb": round(growth, 1), "bound_mb": bound,
            "ok": growth <= bound, "slope_mb_per_1000_weeks": round(slope * 1000, 2),
            "build_s": round(build_s, 1), "steps_s": round(steps_s, 1),
            "weeks_per_s": round(weeks / steps_s, 1), "parts": [len(items_parts), len(events_parts)],
            "rows_on_disk": disk_rows, "disk_mb": round(disk_mb, 1),
            **{k: round(v, 2) for k, v in grows.items()}}


def _rows(part: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(part).metadata.num_rows


def _slope(points) -> float:
    """Least-squares slope of (week, MB) points (MB per week)."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(w for w, _ in points) / n
    my = sum(v for _, v in points) / n
    sxx = sum((w - mx) ** 2 for w, _ in points)
    return sum((w - mx) * (v - my) for w, v in points) / sxx if sxx else 0.0


def run_in_subprocess(name: str, quick: bool) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--case", name]
    if quick:
        cmd.append("--quick")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"case {name} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def print_table(results: list[dict]) -> None:
    for r in results:
        print(f"\n{r['case']}: population={r['population']} ({r['residents']:,} residents), "
              f"{r['weeks']:,} weeks, items.record=stream")
        print(f"  {'week':>6} {'RSS MB':>9}")
        for week, mb in r["rss_mb"].items():
            print(f"  {int(week):>6} {mb:>9.1f}")
        span = ("max over weeks " if r["case"] == "district" else "RSS at week ") + \
            f"{r['weeks'] if r['case'] != 'district' else str(r['start_week']) + '-' + str(r['weeks'])}"
        print(f"  growth ({span} - RSS at week {r['start_week']}): {r['growth_mb']:.1f} MB "
              f"(bound {r['bound_mb']:.0f} MB) {'ok' if r['ok'] else 'EXCEEDED'}; "
              f"slope {r['slope_mb_per_1000_weeks']:.2f} MB per 1,000 weeks")
        print(f"  build + spin-up {r['build_s']} s, weeks {r['steps_s']} s ({r['weeks_per_s']} "
              f"weeks/s); streamed {r['rows_on_disk']['items']:,} item rows and "
              f"{r['rows_on_disk']['handoffs']:,} hand-offs in {r['parts'][0]} + {r['parts'][1]} "
              f"parts ({r['disk_mb']} MB)")
        print(f"  grows one row a week: timeseries {r['timeseries_mb']:.2f} MB, per-street log "
              f"{r['street_log_mb']:.2f} MB, DataCollector {r['datacollector_mb']:.2f} MB")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="short smoke run (not a measurement)")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)  # internal
    args = ap.parse_args(argv)
    if args.case:  # child: one case, its figures as the last line of stdout
        print(json.dumps(run_case(args.case, args.quick)))
        return 0
    t0 = time.perf_counter()
    results = [run_in_subprocess(name, args.quick) for name in CASES]
    print_table(results)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    failed = [r["case"] for r in results if not r["ok"]]
    if failed:
        print(f"FAILED: memory grew past the bound in {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
