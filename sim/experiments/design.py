"""Design points of an experiment: factorial grids, Latin hypercubes, Sobol' (Saltelli) and
Morris samples.

:func:`build_design` returns a :class:`Design`: the point table the model gets (one row per
design point, one column per lever, integer levers rounded), the sampler's raw matrix (before
rounding, the ``X`` that SALib's analysers expect) and SALib's ``problem`` dict. The samplers
are SALib's (``SALib.sample.latin``, ``.sobol``, ``.morris``), fed the design generator of
:func:`sim.experiments.seeds.design_rng`, so the same spec and master seed give the same points
on every machine. Point ``i`` is row ``i`` of the sampler's output: a Sobol' design's rows are
in Saltelli order, a Morris design's in trajectory order, as the analysers need.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .seeds import design_rng
from .spec import ExperimentSpec, Lever

__all__ = ["Design", "build_design", "factorial_levels", "n_points", "problem"]


@dataclass(frozen=True)
class Design:
    """The points of an experiment.

    Attributes:
        kind: ``factorial``, ``lhs``, ``sobol`` or ``morris``.
        points: index ``point`` (0..P−1), one column per lever: the values the runs get.
        raw: P × D matrix from the sampler before integer levers are rounded (factorial:
            the values; a string or boolean lever: its level index).
        problem: SALib's ``{num_vars, names, bounds}``.
        params: the design's parameters (kind, n, levels, ...) and ``n_points``.
    """

    kind: str
    points: pd.DataFrame
    raw: np.ndarray
    problem: dict
    params: dict

    @property
    def n_points(self) -> int:
        return len(self.points)

    def params_of(self, point: int) -> dict:
        """Lever values of design point ``point`` as plain Python scalars."""
        row = self.points.iloc[point]
        return {name: _plain(row[name]) for name in self.points.columns}

    def table(self) -> pd.DataFrame:
        """``point`` and the raw sampled value of every lever (the design file)."""
        out = pd.DataFrame(self.raw, columns=list(self.points.columns))
        out.insert(0, "point", np.arange(len(out), dtype=np.int64))
        return out


def _plain(v):
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


def _sampling_bounds(lv: Lever) -> list[float]:
    """Sampler bounds: integer ranges widen by ½ on each side so rounding hits every integer
    with equal probability."""
    low, high = lv.bounds
    if lv.dtype == "int":
        return [low - 0.5, high + 0.5]
    return [low, high]


def problem(spec: ExperimentSpec) -> dict:
    """SALib's ``problem`` dict of the spec's levers (in spec order)."""
    names = spec.lever_names
    return {"num_vars": len(names), "names": names,
            "bounds": [_sampling_bounds(spec.levers[n]) for n in names]}


def factorial_levels(spec: ExperimentSpec) -> dict[str, list]:
    """The values each lever takes in a factorial design (range levers: ``levels`` evenly
    spaced values, default 3; integer ranges rounded, duplicates dropped)."""
    levels = spec.design.levels or 3
    out = {}
    for name, lv in spec.levers.items():
        if not lv.is_range:
            out[name] = list(lv.values)
            continue
        grid = np.linspace(lv.low, lv.high, levels)
        if lv.dtype == "int":
            out[name] = list(dict.fromkeys(int(v) for v in np.rint(grid)))
        else:
            out[name] = [float(v) for v in grid]
    return out


def n_points(spec: ExperimentSpec) -> int:
    """Number of design points, without sampling them."""
    d, k = spec.design, len(spec.levers)
    if d.kind == "factorial":
        return int(np.prod([len(v) for v in factorial_levels(spec).values()], dtype=np.int64))
    if d.kind == "lhs":
        return d.n
    if d.kind == "sobol":
        return d.n * (2 * k + 2 if d.calc_second_order else k + 2)
    return d.n * (k + 1)  # morris


def _sample(spec: ExperimentSpec, prob: dict) -> np.ndarray:
    d, rng = spec.design, design_rng(spec.master_seed)
    prob = {k: list(v) if isinstance(v, list) else v for k, v in prob.items()}  # SALib adds keys
    if d.kind == "lhs":
        from SALib.sample import latin

        return latin.sample(prob, d.n, seed=rng)
    if d.kind == "sobol":
        from SALib.sample import sobol

        return sobol.sample(prob, d.n, calc_second_order=d.calc_second_order, scramble=d.scramble,
                            seed=rng)
    from SALib.sample import morris

    return morris.sample(prob, d.n, num_levels=d.levels, seed=rng)


def _round_column(lv: Lever, column: np.ndarray) -> np.ndarray:
    if lv.dtype == "int":
        return np.clip(np.rint(column), lv.low, lv.high).astype(np.int64)
    return column.astype(float)


def build_design(spec: ExperimentSpec) -> Design:
    """The design points of ``spec`` (deterministic given the spec and its master seed)."""
    names = spec.lever_names
    prob = problem(spec)
    params = spec.design.to_dict()
    if spec.design.kind == "factorial":
        levels = factorial_levels(spec)
        combos = list(itertools.product(*(levels[n] for n in names)))
        points = pd.DataFrame({n: [c[j] for c in combos] for j, n in enumerate(names)},
                              index=pd.RangeIndex(len(combos), name="point"))
        for n in names:
            if spec.levers[n].dtype == "int":
                points[n] = points[n].astype(np.int64)
            elif spec.levers[n].dtype == "float":
                points[n] = points[n].astype(float)
        raw = np.array([[_level_code(spec.levers[n], levels[n], c[j]) for j, n in enumerate(names)]
                        for c in combos], dtype=float).reshape(len(combos), len(names))
        params["levels_per_lever"] = {n: len(levels[n]) for n in names}
        prob = {"num_vars": len(names), "names": names,
                "bounds": [list(spec.levers[n].bounds) for n in names]}
    else:
        raw = np.asarray(_sample(spec, prob), dtype=float)
        points = pd.DataFrame({n: _round_column(spec.levers[n], raw[:, j]) for j, n in enumerate(names)},
                              index=pd.RangeIndex(len(raw), name="point"))
    params["n_points"] = len(points)
    return Design(kind=spec.design.kind, points=points, raw=raw, problem=prob, params=params)


def _level_code(lv: Lever, levels: list, value) -> float:
    return float(value) if lv.numeric else float(levels.index(value))
