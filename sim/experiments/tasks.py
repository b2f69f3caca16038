"""What a worker does: run one design point × replicate × scenario, or a chunk of them.

This module is imported by every worker process (local pool or Dask), so it stays small:
a :class:`RunTask` says which run, a :class:`RunContext` says how (shared by all runs of an
experiment), :func:`run_chunk` runs a list of tasks and returns one plain row dict per run
(plus its per-step series when asked). A run that raises is returned as a ``failed`` row
with the error text; it never stops the chunk.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..compose import compose, parse_overrides
from ..runner import run_config
from .spec import RESERVED_COLUMNS, ExperimentSpec

__all__ = ["RunContext", "RunTask", "base_overrides", "failed_row", "run_chunk", "run_one", "warm_up"]

RunFn = Callable[[dict, str, int], Mapping[str, float]]


@dataclass(frozen=True)
class RunTask:
    """One run: design point ``point``, replicate ``replicate`` (model seed ``seed``) of
    ``scenario``, with the lever values ``params`` (dotted name → value)."""

    point: int
    replicate: int
    scenario: str
    seed: int
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.scenario, self.point, self.replicate)


@dataclass(frozen=True)
class RunContext:
    """Everything shared by the runs of one experiment (sent once per chunk).

    Attributes:
        overrides: fixed flat overrides (dotted name → value; ``population`` a preset).
        steps: weeks after the spin-up (None: the config's).
        metrics: summary keys kept (None: all).
        series: per-step series kept (None: none).
        run_fn: replaces the model when given: ``run_fn(params, scenario, seed) -> dict``.
    """

    overrides: dict[str, Any] = field(default_factory=dict)
    steps: int | None = None
    metrics: tuple[str, ...] | None = None
    series: tuple[str, ...] | None = None
    run_fn: RunFn | None = None


def base_overrides(spec: ExperimentSpec) -> dict[str, Any]:
    """The spec's fixed overrides as a flat dict, with its population preset, and item rows
    not recorded (``items.record=none``: the summary is the same, memory is not) unless the
    spec sets ``items.record`` itself."""
    flat = parse_overrides(spec.overrides)
    if spec.population is not None:
        flat["population"] = spec.population
    flat.setdefault("items.record", "none")
    return flat


def _model(task: RunTask, ctx: RunContext):
    cfg = compose(task.scenario, {**ctx.overrides, **task.params}, seed=task.seed, steps=ctx.steps)
    result = run_config(cfg)
    series = None
    if ctx.series:
        ts = result.timeseries
        series = {"step": [int(s) for s in ts.index]}
        for name in ctx.series:
            series[name] = [float(v) for v in ts[name].to_numpy(float)]
    return result.summary, series


def _as_float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"metric value {value!r} is not a number") from None


def run_one(task: RunTask, ctx: RunContext) -> tuple[dict, dict | None]:
    """Run one task: ``(row, series)``; ``series`` is None unless ``ctx.series`` is set."""
    t0 = time.perf_counter()
    row: dict[str, Any] = {"point": task.point, "replicate": task.replicate, "seed": task.seed,
                           "scenario": task.scenario, **task.params}
    series = None
    try:
        if ctx.run_fn is not None:
            out = ctx.run_fn(dict(task.params), task.scenario, task.seed)
        else:
            out, series = _model(task, ctx)
        names = ctx.metrics if ctx.metrics is not None else tuple(out)
        metrics = {}
        for name in names:
            if name in RESERVED_COLUMNS or name in task.params:
                raise KeyError(f"metric {name!r} clashes with a column of the run table")
            metrics[name] = _as_float(out[name])
        row.update(status="ok", error="", **metrics)
    except Exception as e:  # noqa: BLE001 - a failed run is a result, not the end
        row.update(status="failed", error=_error_text(e))
        series = None
    row["wall_s"] = time.perf_counter() - t0
    return row, series


def _error_text(e: BaseException) -> str:
    where = traceback.extract_tb(e.__traceback__)[-1:] if e.__traceback__ else []
    at = f" (at {where[0].filename.rsplit('/', 1)[-1]}:{where[0].lineno})" if where else ""
    return f"{type(e).__name__}: {e}{at}"


def failed_row(task: RunTask, error: BaseException | str) -> dict:
    """The row of a run lost with its whole chunk (e.g. a worker that died)."""
    text = error if isinstance(error, str) else _error_text(error)
    return {"point": task.point, "replicate": task.replicate, "seed": task.seed,
            "scenario": task.scenario, **task.params, "status": "failed", "error": text,
            "wall_s": math.nan}


def run_chunk(tasks: list[RunTask], ctx: RunContext) -> list[tuple[dict, dict | None]]:
    """Run a chunk of tasks in order; one ``(row, series)`` per task."""
    return [run_one(task, ctx) for task in tasks]


def warm_up() -> bool:
    """Nothing: calling it on a fresh worker imports this module (and the model) ahead of the
    first task."""
    return True
