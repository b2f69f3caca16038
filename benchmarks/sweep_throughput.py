"""Sweep throughput of the experiment runner (runs per second), local processes vs Dask.

    python benchmarks/sweep_throughput.py [--runs 64] [--quick] [--json PATH]

Runs one cheap spec on the default district (7,200 residents; 52-week spin-up, 52 steps,
≈ 0.4 s a run) through :func:`sim.experiments.run` three ways:

* ``processes_1``: a local pool of 1 worker process,
* ``processes_2``: a local pool of 2 worker processes,
* ``dask_2``: a Dask ``LocalCluster`` of 2 single-threaded worker processes on 127.0.0.1,
  reached through its scheduler address.

Start-up is left out of every timing: the forkserver that starts local workers is warmed by a
two-run experiment first, and the Dask cluster is started (and its workers have imported the
model) before its clock starts. Each timing covers planning, chunking, the runs, writing the
parts and merging the table. Targets: 2 workers at least 1.7× one; Dask within 15 % of local
processes (``dask_vs_processes`` >= 0.85). Other programs sharing the CPU spoil the numbers:
the 1-minute load average before and after is recorded beside them.

Prints a table, writes JSON (default ``outputs/benchmarks/sweep_throughput.json``) and exits 1
when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGETS = {"speedup_2_vs_1": 1.7, "dask_vs_processes": 0.85}


def spec(runs: int) -> dict:
    """A cheap spec of ``runs`` runs (8 design points × runs/8 replicates) on the default
    district."""
    replicates = max(1, runs // 8)
    return {
        "name": "sweep_throughput",
        "scenarios": ["baseline"],
        "levers": {"admin.burden": [round(0.1 * i, 1) for i in range(1, 9)]},
        "design": {"kind": "factorial"},
        "replicates": replicates,
        "master_seed": 1,
        "population": "default",
        "overrides": ["spin_up=52"],
        "steps": 52,
        "metrics": ["satisfaction", "closure_rate", "resolution_rate", "backlog"],
    }


def _timed(the_spec: dict, out: Path, **kwargs) -> dict:
    from sim.experiments import run

    t0 = time.perf_counter()
    res = run(the_spec, out=out, resume=False, progress=False, **kwargs)
    seconds = time.perf_counter() - t0
    n = len(res.table)
    assert (res.table["status"] == "ok").all(), res.table["error"].unique()
    return {"runs": n, "seconds": seconds, "runs_per_s": n / seconds,
            "mean_run_s": float(res.table["wall_s"].mean()),
            "chunk_size": res.metadata["executor"]["chunk_size"]}


def measure(runs: int = 64) -> dict:
    """Runs/second of ``processes`` with 1 and 2 workers and of a 2-worker Dask cluster."""
    from distributed import Client, LocalCluster

    the_spec = spec(runs)
    load_before = os.getloadavg()
    res: dict = {"runs": 8 * the_spec["replicates"], "spec": the_spec, "cpu_count": os.cpu_count(),
                 "python": sys.version.split()[0], "platform": platform.platform()}
    with tempfile.TemporaryDirectory(prefix="sweep-throughput-") as tmp:
        tmp = Path(tmp)
        warm = {**the_spec, "levers": {"admin.burden": [0.5, 0.6]}, "replicates": 1}
        _timed(warm, tmp / "warm", executor="processes", workers=2)  # forkserver + imports
        res["processes_1"] = _timed(the_spec, tmp / "p1", executor="processes", workers=1)
        res["processes_2"] = _timed(the_spec, tmp / "p2", executor="processes", workers=2)
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster, Client(cluster) as client:
            from sim.experiments.tasks import warm_up

            client.run(warm_up)  # workers import the model before the clock starts
            res["dask_2"] = _timed(the_spec, tmp / "d2", executor="dask",
                                   address=cluster.scheduler_address)
    res["speedup_2_vs_1"] = res["processes_2"]["runs_per_s"] / res["processes_1"]["runs_per_s"]
    res["dask_vs_processes"] = res["dask_2"]["runs_per_s"] / res["processes_2"]["runs_per_s"]
    res["loadavg_before"] = list(load_before)
    res["loadavg_after"] = list(os.getloadavg())
    res["targets"] = {k: {"value": res[k], "floor": v, "ok": res[k] >= v} for k, v in TARGETS.items()}
    return res


def report(res: dict) -> str:
    lines = [(f"sweep throughput, {res['runs']} runs of the default district (52 + 52 weeks), "
              f"{res['cpu_count']} CPUs, load average before {res['loadavg_before'][0]:.2f}, "
              f"after {res['loadavg_after'][0]:.2f}"),
             f"{'executor':<14}{'runs':>6}{'seconds':>10}{'runs/s':>9}{'s/run':>8}{'chunk':>7}"]
    for key in ("processes_1", "processes_2", "dask_2"):
        r = res[key]
        lines.append(f"{key:<14}{r['runs']:>6}{r['seconds']:>10.2f}{r['runs_per_s']:>9.3f}"
                     f"{r['mean_run_s']:>8.3f}{r['chunk_size']:>7}")
    for key, t in res["targets"].items():
        lines.append(f"  {'ok  ' if t['ok'] else 'MISS'} {key:<20} {t['value']:.3f} >= {t['floor']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=64, help="runs per timing (multiple of 8; >= 64 "
                                                         "for the Dask comparison)")
    ap.add_argument("--quick", action="store_true", help="32 runs")
    ap.add_argument("--json", type=Path, default=ROOT / "outputs" / "benchmarks" / "sweep_throughput.json")
    args = ap.parse_args(argv)
    res = measure(32 if args.quick else args.runs)
    print(report(res))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(res, indent=2), encoding="utf-8")
    print(f"written {args.json}")
    return 0 if all(t["ok"] for t in res["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
