"""Output analysis of RPB-Sim runs: warm-up detection, stationarity and pilot-reform DiD.

* :mod:`sim.analysis.warmup` -- MSER-5 and Welch warm-up rules, early/late stationarity check.
* :mod:`sim.analysis.did` -- difference-in-differences across pilot (试点) and other streets,
  placebo tests, and common-random-numbers paired effects.
* :mod:`sim.analysis.compare` -- scenario means and paired (CRN) differences of an experiment
  table, response surfaces; refuses failed runs and missing values by name.
* :mod:`sim.analysis.sensitivity` -- Sobol and Morris indices (SALib) on replicate means, with
  the seed variance beside them.

The module only reads tables (pandas / numpy); it never builds or runs a model.
"""

from __future__ import annotations

from .compare import AnalysisError, check_runs, compare_scenarios, response_surface
from .did import did_estimate, did_over_seeds, paired_effect, placebo_did
from .sensitivity import (
    morris_indices,
    replicate_means,
    sensitivity_indices,
    sobol_indices,
)
from .warmup import detect_warmup, mean_ci, mser, mser_replicated, stationarity, welch

__all__ = [
    "AnalysisError",
    "check_runs",
    "compare_scenarios",
    "detect_warmup",
    "did_estimate",
    "did_over_seeds",
    "mean_ci",
    "morris_indices",
    "mser",
    "mser_replicated",
    "paired_effect",
    "placebo_did",
    "replicate_means",
    "response_surface",
    "sensitivity_indices",
    "sobol_indices",
    "stationarity",
    "welch",
]
