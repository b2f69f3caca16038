"""Run one config: build the model, step it, collect the results.

:func:`run` is also the plain-function form of the model (EMA-workbench style):
``run(scenario, seed=..., overrides=...) -> RunResult`` with ``.summary`` a dict of floats.
It uses no hydra global state, so it works from an installed package and in worker processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .compose import compose
from .config import RPBConfig, validate
from .model import RegionModel

__all__ = ["RunResult", "run", "run_config"]


@dataclass
class RunResult:
    """What one run gives.

    Attributes:
        config: the validated config the run started with (its interventions included).
        final_config: the config in force at the end, after the interventions took effect.
        summary: per-run summary over weeks 1..T (:func:`sim.metrics.summarise`: means of
            shares and levels, pooled rates with their ``_n``, final values,
            ``participation_amplitude``, item counts).
        timeseries: per-step metrics, index ``step`` 0..T (rates NaN where their ``_n`` is 0).
        items: one row per item (None when ``items.record = none``).
        handoffs: one row per item event (who, when, why; None when not recorded).
        assignment_stats: counts of assignment decisions and of those where nobody acted.
        streets: one row per street: structure, levers set per street, ``pilot``.
        by_street: street × step table of the headline metrics.
    """

    config: RPBConfig
    final_config: RPBConfig
    summary: dict[str, float]
    timeseries: pd.DataFrame
    items: pd.DataFrame | None = None
    handoffs: pd.DataFrame | None = None
    assignment_stats: dict = field(default_factory=dict)
    streets: pd.DataFrame | None = None
    by_street: pd.DataFrame | None = None


def run_config(cfg: RPBConfig, *, progress: bool = False) -> RunResult:
    """Run a (validated) config for ``cfg.steps`` steps."""
    cfg = validate(cfg)
    model = RegionModel(config=cfg)
    steps = range(cfg.steps)
    if progress:
        from tqdm import tqdm

        steps = tqdm(steps, desc=f"{cfg.name} (seed {cfg.seed})", unit="week")
    for _ in steps:
        model.step()
    ts = model.timeseries()
    items = model.items.table()
    handoffs = model.events.table()
    model.items.sink.close()
    model.events.sink.close()
    return RunResult(config=model.initial_config, final_config=model.config,
                     summary=model.summary(), timeseries=ts, items=items, handoffs=handoffs,
                     assignment_stats=dict(model.assignment_stats),
                     streets=model.streets_table(), by_street=model.by_street())


def run(scenario="baseline", *, seed: int | None = None, steps: int | None = None, overrides=(),
        interventions=(), progress: bool = False) -> RunResult:
    """Run a scenario preset (or YAML path) with overrides; see :func:`sim.compose.compose`.

    ``seed`` (default: the config's, 0 unless an override or the scenario sets it) and
    ``steps`` (default: the config's, 104) win over the same keys in ``overrides``.
    """
    cfg = compose(scenario, overrides, seed=seed, steps=steps, interventions=interventions)
    return run_config(cfg, progress=progress)
