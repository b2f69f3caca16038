"""Time each phase of a week (``python benchmarks/profile_phases.py [population] [steps]``).

Wraps the model's phase functions with CPU-time timers (``time.process_time``), builds a
model (its spin-up weeks run inside the constructor) and steps it; prints the build time
and, for every phase, milliseconds per week over *all* simulated weeks (spin-up and steps)
and its share of the week loop. Nested timers overlap (``update_motivation`` includes
``update_staff_all``; ``_collect`` includes ``datacollector.collect``; ``_collect`` runs only
on recorded weeks). Used for docs/performance.md.
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
           "check_conservation", "_collect", "_week", "spin_up"]


def main(population: str = "default", steps: int = 104) -> None:
    spent: dict[str, float] = defaultdict(float)
    clock = time.process_time

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            t = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += clock() - t
        return wrapper

    for name in PHASES:
        setattr(model_module, name, timed(name, getattr(model_module, name)))
    for name in METHODS:
        setattr(model_module.RegionModel, name,
                timed(name, getattr(model_module.RegionModel, name)))
    model_module.Resident.update_all = classmethod(
        timed("residents.update_all", model_module.Resident.update_all.__func__))
    collect = sim.model.mesa.DataCollector.collect
    sim.model.mesa.DataCollector.collect = timed("datacollector.collect", collect)
    t0 = clock()
    m = sim.RegionModel(rng=1, population=population)
    build = clock() - t0
    t1 = clock()
    for _ in range(steps):
        m.step()
    run = clock() - t1
    weeks = m.config.spin_up + steps
    loop = spent.pop("_week")
    print(f"{population}: {m.layout.n_residents:,} residents; build {build:.3f} s "
          f"({build - spent.pop('spin_up'):.3f} s without the spin-up); "
          f"{steps} steps {run:.3f} s; {weeks} weeks at {1e3 * loop / weeks:.2f} ms/week "
          f"(CPU time)")
    for name, sec in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<28}{1e3 * sec / weeks:8.3f} ms/week {100 * sec / loop:6.1f} %")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "default",
         int(sys.argv[2]) if len(sys.argv) > 2 else 104)
