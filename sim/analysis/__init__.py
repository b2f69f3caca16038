"""Output analysis of RPB-Sim runs: warm-up detection, stationarity and pilot-reform DiD.

* :mod:`sim.analysis.warmup` -- MSER-5 and Welch warm-up rules, early/late stationarity check.
* :mod:`sim.analysis.did` -- difference-in-differences across pilot (试点) and other streets,
  placebo tests, and common-random-numbers paired effects.

The module only reads tables (pandas / numpy); it never builds or runs a model.
"""

from __future__ import annotations

from .did import did_estimate, did_over_seeds, paired_effect, placebo_did
from .warmup import detect_warmup, mean_ci, mser, mser_replicated, stationarity, welch

__all__ = [
    "detect_warmup",
    "did_estimate",
    "did_over_seeds",
    "mean_ci",
    "mser",
    "mser_replicated",
    "paired_effect",
    "placebo_did",
    "stationarity",
    "welch",
]
