"""``rpbsim-experiment``: run an experiment spec from the command line.

    rpbsim-experiment NAME|PATH [--executor processes|dask|serial] [--workers N]
                      [--address tcp://host:8786] [--out DIR] [--dry-run] [--no-resume]
                      [--set key=value ...] [--quiet]
    rpbsim-experiment --list

``NAME`` is a spec in ``configs/experiment/`` (installed as ``sim.conf.experiment``), ``PATH`` a YAML file.
``--set`` changes the spec before it is validated: ``replicates=5``, ``design.n=64``,
``steps=20``, ``population=classroom``, ``overrides=[spin_up=10]``,
``levers.admin.burden.high=0.8``, ``levers.admin.burden=[0.2,0.8]`` (values are YAML).
``--dry-run`` prints the number of runs and an ETA from one timed run, and runs nothing else.
An invalid spec prints the field, the value and what is allowed, and exits with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta

import yaml

from ..config import ConfigError
from .executors import EXECUTORS
from .runner import default_out, plan, run, summary_line
from .spec import SPEC_KEYS, list_experiments, load_spec, raw_spec
from .store import RunStore

__all__ = ["apply_sets", "main"]


def apply_sets(data: dict, sets: list[str]) -> dict:
    """The raw spec ``data`` with ``key=value`` settings applied (values parsed as YAML)."""
    data = dict(data)
    for text in sets:
        if "=" not in text:
            raise ConfigError("--set", text, "key=value")
        key, _, value_text = text.partition("=")
        key = key.strip()
        try:
            value = yaml.safe_load(value_text)
        except yaml.YAMLError:
            raise ConfigError(key, value_text, "a YAML value") from None
        head, _, rest = key.partition(".")
        if not rest:
            data[key] = value
        elif head == "design":
            design = data.get("design") or {}
            design = {"kind": design} if isinstance(design, str) else dict(design)
            design[rest] = value
            data["design"] = design
        elif head == "levers":
            levers = dict(data.get("levers") or {})
            name, _, bound = rest.rpartition(".")
            if bound in ("low", "high") and name:
                current = levers.get(name)
                lever = dict(current) if isinstance(current, dict) else {}
                lever[bound] = value
                levers[name] = lever
            else:
                levers[rest] = value
            data["levers"] = levers
        else:
            raise ConfigError(key, value, "a spec key (" + ", ".join(SPEC_KEYS)
                              + "), design.<key> or levers.<name>[.low|.high]")
    return data


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="rpbsim-experiment",
                                 description="Run an RPB-Sim experiment spec (design × scenarios × "
                                             "replicates), resumable, on local processes or Dask.")
    ap.add_argument("spec", nargs="?", help="spec name (configs/experiment/NAME.yaml) or YAML path")
    ap.add_argument("--executor", choices=EXECUTORS, default="processes")
    ap.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    ap.add_argument("--address", default=None, help="Dask scheduler address (with --executor dask)")
    ap.add_argument("--out", default=None, help="output folder (default outputs/experiments/NAME)")
    ap.add_argument("--dry-run", action="store_true", help="print run count and ETA; run nothing")
    ap.add_argument("--no-resume", action="store_true", help="discard earlier parts in the folder")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="change a spec key before validation (repeatable)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    ap.add_argument("--list", action="store_true", help="list the shipped specs and exit")
    return ap


def _fmt(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))


def dry_run(spec, args) -> None:
    """Print the runs of ``spec`` and an ETA from one timed run of its first task."""
    from .runner import _context
    from .tasks import run_one

    pl = plan(spec)
    out = args.out or default_out(spec)
    done = set() if args.no_resume else RunStore(out).completed()
    todo = [t for t in pl.tasks if t.key not in done]
    print(f"experiment {spec.name}: {spec.design.kind} design, {pl.design.n_points} points x "
          f"{len(spec.scenarios)} scenario(s) x {spec.replicates} replicate(s) = {len(pl.tasks)} runs")
    print(f"to run: {len(todo)} ({len(pl.tasks) - len(todo)} already done in {out})")
    if not todo:
        return
    if spec.is_function:
        print("a function experiment: the ETA needs its run_fn (use sim.experiments.run)")
        return
    task = todo[0]
    t0 = time.perf_counter()
    row, _ = run_one(task, _context(spec, None))
    one = time.perf_counter() - t0
    if args.executor == "serial":
        workers = 1
    elif args.executor == "dask" and args.address:
        workers = args.workers or 1
    else:
        workers = args.workers or os.cpu_count() or 1
    workers = min(workers, len(todo))
    eta = one * len(todo) / workers
    status = "" if row["status"] == "ok" else f" (it failed: {row['error']})"
    print(f"calibration: one run ({task.scenario}, point {task.point}, replicate {task.replicate}) "
          f"took {one:.2f} s{status}")
    print(f"ETA: about {_fmt(eta)} on {workers} {args.executor} worker(s) "
          f"({len(todo)} runs x {one:.2f} s / {workers})")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.list:
        for name in list_experiments():
            print(name)
        return 0
    if not args.spec:
        _parser().print_usage(sys.stderr)
        print("rpbsim-experiment: error: give a spec name or path (or --list)", file=sys.stderr)
        return 2
    try:
        spec = load_spec(apply_sets(raw_spec(args.spec), args.sets))
        if args.dry_run:
            dry_run(spec, args)
            return 0
        result = run(spec, executor=args.executor, workers=args.workers, address=args.address,
                     out=args.out, resume=not args.no_resume, progress=not args.quiet)
    except ConfigError as e:
        print(f"rpbsim-experiment: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nrpbsim-experiment: interrupted; finished runs are saved, run again to resume",
              file=sys.stderr)
        return 130
    if args.quiet:  # run() printed the summary line (with the output folder) otherwise
        print(summary_line(spec.name, result.metadata["runs"], result.path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
