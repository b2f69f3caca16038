"""Pattern tests: every row of the brief's dilemma and remedy tables, over replicate seeds.

Each pattern (declared once in :mod:`sim.patterns`) must hold at the ``default`` population
with at least 5 seeds: the paired differences' 95 % t-interval excludes zero on the expected
side. Each pattern with a responsible mechanism is also run with that mechanism replaced by
its null variant, which must remove it. ``make validate`` runs the same patterns with more
seeds and over a Latin hypercube of the other levers (experiments/validate.py).
"""

from __future__ import annotations

import os

import pytest

from sim.patterns import PATTERNS, ablation_removes, evaluate

SEEDS = list(range(int(os.environ.get("RPB_PATTERN_SEEDS", "5"))))
assert len(SEEDS) >= 5


def seeds_for(p):
    """The replicate seeds of a pattern: at least its ``min_seeds`` (small effects that vary
    between districts need more replicates to resolve)."""
    return list(range(max(len(SEEDS), p.min_seeds)))


@pytest.mark.pattern
@pytest.mark.parametrize("p", PATTERNS, ids=[p.name for p in PATTERNS])
def test_pattern_holds(p):
    r = evaluate(p, seeds_for(p))
    assert r.holds, (f"{p.name} ({p.row}): mean difference {r.mean:+.4f}, 95% CI "
                     f"[{r.ci_low:+.4f}, {r.ci_high:+.4f}], expected sign {p.sign:+d}")


ABLATED = [p for p in PATTERNS if p.ablation]


@pytest.mark.pattern
@pytest.mark.parametrize("p", ABLATED, ids=[p.name for p in ABLATED])
def test_null_mechanism_removes_pattern(p):
    full = evaluate(p, seeds_for(p))
    ablated = evaluate(p, seeds_for(p), ablated=True)
    assert full.holds
    assert ablation_removes(full, ablated), (
        f"{p.name}: with {p.ablation} the effect is {ablated.mean:+.4f} "
        f"(full mechanism {full.mean:+.4f})")


def test_every_dilemma_and_remedy_row_has_patterns():
    rows = {p.row.split()[0] for p in PATTERNS}
    assert {"D1", "D2", "D3", "D4", "R1", "R2", "R3", "R4", "All"} <= rows
    for d in ("D1", "D2", "D3", "D4"):
        assert any(p.row.startswith(d) and p.ablation for p in PATTERNS), d
