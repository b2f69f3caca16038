"""Golden outputs: summaries of fixed runs, to prove optimisations leave results unchanged.

    python tests/golden.py      # rewrite tests/data/golden.json (only on purpose: a change of
                                # model behaviour, never to make a performance change pass)
"""

from __future__ import annotations

import json
from pathlib import Path

GOLDEN = Path(__file__).parent / "data" / "golden.json"

CASES = {
    "baseline_default_seed7_52": dict(scenario="baseline", seed=7, steps=52),
    "full_reform_default_seed3_40": dict(scenario="full_reform", seed=3, steps=40),
    "all_paths_classroom_seed11_60": dict(
        scenario="shanghai_project_based", seed=11, steps=60,
        overrides=["population=classroom", "items.max_age=12", "empowerment.conference_period=2"]),
}


def compute() -> dict:
    import sim

    return {name: sim.run(**case).summary for name, case in CASES.items()}


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(compute(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}")
