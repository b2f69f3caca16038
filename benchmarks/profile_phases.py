"""Time each phase of a step (``python benchmarks/profile_phases.py [population] [steps]``).

Wraps the model's phase functions with timers; prints milliseconds per step for each phase
and its share of the step. Used for docs/performance.md.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict

import sim
import sim.model as model_module

PHASES = ["push_down_tasks", "cadre_duties", "allocate_effort", "raise_items",
          "work_community_queue", "handle_street_queue", "hold_conference",
          "work_assigned_items", "work_provider_items", "paper_close", "update_form_output",
          "update_scores", "update_staff_all", "settle_budget"]
METHODS = ["decide_participation", "expire_items", "_book_endings", "update_motivation",
           "check_conservation", "_collect"]


def main(population: str = "default", steps: int = 104) -> None:
    spent: dict[str, float] = defaultdict(float)

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - t
        return wrapper

    for name in PHASES:
        setattr(model_module, name, timed(name, getattr(model_module, name)))
    for name in METHODS:
        setattr(model_module.RegionModel, name,
                timed(name, getattr(model_module.RegionModel, name)))
    model_module.Resident.update_all = classmethod(
        timed("residents.update_all", model_module.Resident.update_all.__func__))
    t0 = time.perf_counter()
    m = sim.RegionModel(rng=1, population=population)
    build = time.perf_counter() - t0
    collect = m.datacollector.collect
    m.datacollector.collect = timed("datacollector.collect", collect)
    t0 = time.perf_counter()
    for _ in range(steps):
        m.step()
    total = time.perf_counter() - t0
    print(f"{population}: {m.layout.n_residents:,} residents; build {build:.2f} s; "
          f"{steps} steps {total:.2f} s ({1e3 * total / steps:.2f} ms/step)")
    for name, sec in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<28}{1e3 * sec / steps:8.3f} ms/step {100 * sec / total:6.1f} %")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "default",
         int(sys.argv[2]) if len(sys.argv) > 2 else 104)
