"""Benchmarks of RPB-Sim against the floors of the performance issue (``make bench``).

    python benchmarks/run_benchmarks.py [--quick] [--json results.json]

Every measurement runs in a fresh subprocess (so peak memory is that run's own, and one
measurement cannot warm another's caches), on one core (``OMP_NUM_THREADS=1`` and friends),
and reports the median of repeats:

* CPU seconds per run (model build and its spin-up weeks included, interpreter start-up and
  imports not; the floors are stated in CPU time, and a one-core run's wall time, also
  reported, only adds what other processes on the machine take) and CPU microseconds per
  resident-step (steps only) at four sizes: the ``default`` district
  (7,200 residents), ten times its residents (72,000), 100,000 residents and the
  ``district`` preset (300,000);
* peak resident memory of each, and of a 1,000,000-resident run (time reported);
* Mesa's own Boltzmann-wealth example, microseconds per agent-step, measured in the same
  benchmark run, and the ratio to ours at 100,000+ residents;
* memory over a long run (items streamed): growth between week 200 and week 2,000;
* sweep throughput of the experiment runner (``benchmarks/sweep_throughput.py``): runs/s of
  the default district on 1 and 2 local worker processes and on a 2-worker Dask LocalCluster.

Prints a table and exits 1 when a floor is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ONE_CORE = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

FLOORS = {
    "default_run_s": 0.5,              # CPU s: default district, 104 steps, build and spin-up included
    "us_per_resident_step_100k": 0.5,  # at 100k+ residents
    "boltzmann_ratio": 10.0,           # Mesa Boltzmann µs/agent-step ÷ ours, at least
    "district_run_s": 30.0,            # CPU s: 300,000 residents, 104 steps, build and spin-up included
    "district_peak_mb": 2048.0,
    "million_peak_mb": 4096.0,
    "sweep_speedup": 1.7,              # 2 workers vs 1 (sim.experiments, processes), >= 32 runs
    "dask_vs_processes": 0.85,         # Dask LocalCluster runs/s ÷ local processes', 2 workers
    "long_run_growth_mb": 50.0,        # week 200 -> week 2000, items streamed
}

SIZES = {
    "default": ["population=default"],
    "10x": ["population=default", "population.residents_per_community=3000"],
    "100k": ["population=district", "population.communities_per_street=10",
             "population.residents_per_community=1000"],
    "district": ["population=district"],
    "1M": ["population=district", "population.residents_per_community=6667"],
}

RUN_ONE = textwrap.dedent("""
    import json, resource, sys, time
    import sim
    from sim.compose import compose
    from sim.model import RegionModel
    overrides, steps, seed = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    cfg = compose("baseline", overrides, seed=seed, steps=steps)
    t0, c0 = time.perf_counter(), time.process_time()
    model = RegionModel(config=cfg)
    t1, c1 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        model.step()
    t2, c2 = time.perf_counter(), time.process_time()
    model.timeseries()
    n = model.layout.n_residents
    print(json.dumps({"build_s": c1 - c0, "steps_s": c2 - c1, "run_s": c2 - c0,
                      "wall_run_s": t2 - t0, "residents": n,
                      "us_per_resident_step": 1e6 * (c2 - c1) / (n * steps),
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")

LONG_RUN = textwrap.dedent("""
    import json, resource, sys, tempfile, os
    import sim
    from sim.model import RegionModel
    path = os.path.join(tempfile.mkdtemp(), "items.parquet")
    m = RegionModel(rng=1, population="classroom", steps=2000, items__record="stream",
                    items__stream_path=path)
    rss = {}
    for week in range(1, 2001):
        m.step()
        if week in (200, 2000):
            with open("/proc/self/status") as f:
                rss[week] = [int(l.split()[1]) / 1024 for l in f if l.startswith("VmRSS")][0]
    print(json.dumps({"rss_200_mb": rss[200], "rss_2000_mb": rss[2000],
                      "growth_mb": rss[2000] - rss[200]}))
""")

BOLTZMANN = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, sys.argv[3])
    from boltzmann_reference import boltzmann_us_per_agent_step
    print(json.dumps({"us_per_agent_step": boltzmann_us_per_agent_step(
        int(sys.argv[1]), int(sys.argv[2]), 3)}))
""")

def _py(code: str, *args, env_extra=None) -> dict:
    env = dict(os.environ, **ONE_CORE, **(env_extra or {}))
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                         text=True, env=env, cwd=ROOT, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def sweep_throughput(quick: bool) -> dict:
    """``benchmarks/sweep_throughput.py`` in a subprocess (it starts its own worker pools)."""
    out = Path(tempfile.mkdtemp(prefix="rpb-bench-")) / "sweep_throughput.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "sweep_throughput.py"), "--json", str(out)]
    if quick:
        cmd.append("--quick")
    env = dict(os.environ, **ONE_CORE)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if not out.exists():
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(out.read_text(encoding="utf-8"))


def run_size(name: str, steps: int, repeats: int) -> dict:
    results = [_py(RUN_ONE, json.dumps(SIZES[name]), steps, seed) for seed in range(repeats)]
    med = {k: statistics.median(r[k] for r in results) for k in results[0]}
    med["repeats"] = repeats
    return med


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats and sweep runs")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args(argv)
    reps = 3 if args.quick else 5
    res: dict = {}
    print("benchmarking (each measurement in a fresh one-core subprocess)...", flush=True)
    res["default"] = run_size("default", 104, reps)
    res["10x"] = run_size("10x", 104, 1 if args.quick else 3)
    res["100k"] = run_size("100k", 104, 1 if args.quick else 3)
    res["district"] = run_size("district", 104, 1 if args.quick else 3)
    res["1M"] = run_size("1M", 104, 1)
    here = str(ROOT / "benchmarks")
    res["boltzmann_10k"] = _py(BOLTZMANN, 10_000, 20, here)
    res["boltzmann_100k"] = _py(BOLTZMANN, 100_000, 5, here)
    res["long_run"] = _py(LONG_RUN)
    res["sweep"] = sweep_throughput(args.quick)

    ours_100k = min(res["100k"]["us_per_resident_step"], res["district"]["us_per_resident_step"])
    ratio = res["boltzmann_100k"]["us_per_agent_step"] / max(ours_100k, 1e-12)
    speedup = res["sweep"]["speedup_2_vs_1"]
    checks = {
        "default_run_s": (res["default"]["run_s"], "<="),
        "us_per_resident_step_100k": (max(res["100k"]["us_per_resident_step"],
                                          res["district"]["us_per_resident_step"]), "<="),
        "boltzmann_ratio": (ratio, ">="),
        "district_run_s": (res["district"]["run_s"], "<="),
        "district_peak_mb": (res["district"]["peak_mb"], "<"),
        "million_peak_mb": (res["1M"]["peak_mb"], "<"),
        "sweep_speedup": (speedup, ">="),
        "dask_vs_processes": (res["sweep"]["dask_vs_processes"], ">="),
        "long_run_growth_mb": (res["long_run"]["growth_mb"], "<="),
    }
    print()
    print("CPU seconds (medians); wall = wall-clock seconds of the same runs")
    print(f"{'size':<10}{'residents':>10}{'run s':>9}{'wall s':>9}{'build s':>9}"
          f"{'µs/res-step':>13}{'peak MB':>9}")
    for name in ("default", "10x", "100k", "district", "1M"):
        r = res[name]
        print(f"{name:<10}{r['residents']:>10,d}{r['run_s']:>9.2f}{r['wall_run_s']:>9.2f}"
              f"{r['build_s']:>9.2f}{r['us_per_resident_step']:>13.3f}{r['peak_mb']:>9.0f}")
    print(f"\nMesa Boltzmann (same benchmark run): "
          f"{res['boltzmann_10k']['us_per_agent_step']:.2f} µs/agent-step at 10k, "
          f"{res['boltzmann_100k']['us_per_agent_step']:.2f} at 100k; ratio to ours at "
          f"100k+: {ratio:.1f}x")
    sw = res["sweep"]
    print(f"sweep (sim.experiments), {sw['runs']} default-district runs: "
          f"{sw['processes_1']['runs_per_s']:.2f} runs/s on 1 worker, "
          f"{sw['processes_2']['runs_per_s']:.2f} on 2 ({speedup:.2f}x), "
          f"{sw['dask_2']['runs_per_s']:.2f} on a 2-worker Dask LocalCluster "
          f"({sw['dask_vs_processes']:.2f}x processes; load average {sw['loadavg_before'][0]:.2f})")
    print(f"long run (classroom, items streamed): RSS {res['long_run']['rss_200_mb']:.0f} MB at "
          f"week 200, {res['long_run']['rss_2000_mb']:.0f} MB at week 2000")
    print()
    failed = []
    for key, (value, op) in checks.items():
        floor = FLOORS[key]
        ok = {"<=": value <= floor, "<": value < floor, ">=": value >= floor}[op]
        print(f"  {'ok  ' if ok else 'MISS'} {key:<28} {value:10.3f} {op} {floor}")
        if not ok:
            failed.append(key)
    res["checks"] = {k: {"value": v, "op": op, "floor": FLOORS[k]} for k, (v, op) in checks.items()}
    if args.json:
        args.json.write_text(json.dumps(res, indent=2), encoding="utf-8")
    print(f"\n{'all floors met' if not failed else 'floors missed: ' + ', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
