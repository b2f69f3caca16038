"""Experiments: designs over the levers, replicated with common random numbers, run on a local
process pool or a Dask cluster, streamed to disk and resumable.

    from sim.experiments import load_spec, run
    spec = load_spec("burden_authority_grid")        # configs/experiment/<name>.yaml
    result = run(spec, executor="processes", workers=2)
    result.table                                      # one row per run (pandas)
    result = load_experiment("outputs/experiments/burden_authority_grid")   # read it back, checked

Command line: ``rpbsim-experiment NAME [--executor dask] [--dry-run] ...``. See
``docs/experiments.md``.
"""

from .design import Design, build_design, n_points
from .runner import ExperimentResult, load_experiment, plan, run
from .seeds import replicate_seed, replicate_seeds
from .spec import DesignSpec, ExperimentSpec, Lever, list_experiments, load_spec
from .store import ResultFileError

__all__ = [
    "Design",
    "DesignSpec",
    "ExperimentResult",
    "ExperimentSpec",
    "Lever",
    "ResultFileError",
    "build_design",
    "list_experiments",
    "load_experiment",
    "load_spec",
    "n_points",
    "plan",
    "replicate_seed",
    "replicate_seeds",
    "run",
]
