"""Global sensitivity analysis (Sobol, Morris) of a replicated experiment, with SALib.

Input: the tidy run table of :func:`sim.experiments.run` for a ``sobol`` or ``morris``
design (one row per run: ``point``, ``replicate``, ``seed``, ``scenario``, one column per
lever, ``status``, ``error``, metrics) and the SALib ``problem`` dict of its
``metadata.json`` (``num_vars``, ``names`` = lever columns, ``bounds``).

The model is stochastic, so each design point is run with several replicates (common
random numbers: replicate r has the same seed at every point). The indices are computed on
the **replicate means per point**, in ``point`` order, which must be SALib's sample order.
Beside the indices the seed (replicate-to-replicate) variance is reported, so a reader can
see how much of the variance being decomposed is noise:

* ``seed_variance`` -- mean over points of the between-replicate variance (ddof 1) of the
  metric (metric units squared; NaN with one replicate);
* ``point_variance`` -- variance (ddof 1) of the point means, the variance SALib decomposes;
* ``seed_variance_ratio`` -- seed_variance / point_variance;
* ``noise_share`` -- (seed_variance / n_replicates) / point_variance: the expected share of
  the point means' variance that is seed noise (0 = none, near 1 = indices are noise).

SALib silently turns a NaN output into nonsense (zeros or NaN indices), so the analysis
refuses failed runs, NaN metric values and incomplete points, naming them
(:class:`sim.analysis.compare.AnalysisError`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from .compare import AnalysisError, check_runs

__all__ = ["AnalysisError", "morris_indices", "replicate_means", "sensitivity_indices",
           "sobol_indices"]


# --------------------------------------------------------------------------------------------
# Replicate means
# --------------------------------------------------------------------------------------------


def _check_design(table: pd.DataFrame, what: str) -> None:
    """Every point must have the same set of replicates, and points must run 0..n-1."""
    problems = []
    reps = table.groupby("point")["replicate"].apply(lambda s: frozenset(s.tolist()))
    full = frozenset().union(*reps.tolist()) if len(reps) else frozenset()
    for point, have in reps.items():
        for replicate in sorted(full - have):
            problems.append({"point": int(point), "replicate": int(replicate), "metric": None,
                             "reason": "run absent from the table"})
    points = sorted(int(p) for p in reps.index)
    absent = sorted(set(range(points[-1] + 1)) - set(points)) if points else []
    for point in absent:
        problems.append({"point": point, "metric": None, "reason": "design point absent"})
    if problems:
        lines = "\n".join(f"  - point {p['point']}"
                          + (f", replicate {p['replicate']}" if "replicate" in p else "")
                          + f": {p['reason']}" for p in problems[:20])
        more = f"\n  - ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise AnalysisError(f"{what} refused: incomplete design ({len(problems)} gap(s)):\n"
                            f"{lines}{more}", problems)


def replicate_means(table: pd.DataFrame, metrics: Iterable[str], names: Iterable[str] = ()
                    ) -> pd.DataFrame:
    """Mean of each metric over the replicates of each point, in ``point`` order.

    Args:
        table: tidy run table of ONE scenario, already checked (no failed run, no NaN).
        metrics: metric columns.
        names: lever columns to carry along (their value at the point, first run's).

    Returns:
        DataFrame indexed by ``point`` (sorted) with the lever columns and the metric means.
    """
    metrics, names = list(metrics), [n for n in names if n in table.columns]
    grouped = table.sort_values(["point", "replicate"]).groupby("point", sort=True)
    means = grouped[metrics].mean()
    if names:
        means = pd.concat([grouped[names].first(), means], axis=1)
    return means


def _seed_variance(table: pd.DataFrame, metric: str, means: pd.Series) -> dict:
    """Seed variance of one metric beside the variance of its point means (see module doc)."""
    n_reps = int(table.groupby("point")["replicate"].nunique().min())
    within = table.groupby("point")[metric].var(ddof=1)
    seed_var = float(within.mean()) if n_reps > 1 else float("nan")
    point_var = float(means.var(ddof=1)) if len(means) > 1 else float("nan")
    ratio = seed_var / point_var if point_var > 0 else float("nan")
    return {"n_replicates": n_reps, "seed_variance": seed_var, "point_variance": point_var,
            "seed_variance_ratio": ratio,
            "noise_share": ratio / n_reps if np.isfinite(ratio) else float("nan")}


def _prepared(table: pd.DataFrame, problem: Mapping, metrics: list[str], what: str):
    """Checked table split by scenario: yields (scenario, runs of that scenario)."""
    names = list(problem["names"])
    if len(names) != int(problem["num_vars"]):
        raise ValueError(f"problem has num_vars={problem['num_vars']} but {len(names)} names")
    ok, _ = check_runs(table, metrics, missing="raise", what=what)
    scenarios = list(pd.unique(ok["scenario"])) if "scenario" in ok.columns else [None]
    for scenario in scenarios:
        runs = ok if scenario is None else ok[ok["scenario"] == scenario]
        _check_design(runs, f"{what} ({scenario})" if scenario is not None else what)
        yield scenario, runs


# --------------------------------------------------------------------------------------------
# Sobol
# --------------------------------------------------------------------------------------------


def _is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _second_order(n_points: int, d: int, requested: bool | None) -> bool:
    """Whether the Saltelli sample of ``n_points`` rows holds second-order columns."""
    fits = {so: n_points % (2 * d + 2 if so else d + 2) == 0 for so in (True, False)}
    if requested is not None:
        if not fits[requested]:
            raise AnalysisError(f"{n_points} points is not a Saltelli sample of {d} parameters "
                                f"with calc_second_order={requested}")
        return requested
    if fits[True] and fits[False]:
        pow2 = {so: _is_power_of_two(n_points // (2 * d + 2 if so else d + 2))
                for so in (True, False)}
        if pow2[True] != pow2[False]:
            return pow2[True]
        raise AnalysisError(f"{n_points} points fit a Saltelli sample of {d} parameters with "
                            "and without second-order terms; pass calc_second_order")
    if not (fits[True] or fits[False]):
        raise AnalysisError(f"{n_points} points is not a Saltelli sample of {d} parameters "
                            f"(needs a multiple of {d + 2} or {2 * d + 2})")
    return fits[True]


def _check_saltelli_order(x: np.ndarray, second_order: bool) -> None:
    """Check that the lever values follow SALib's Saltelli row order (A, AB_j, [BA_j], B).

    AB_j is A with column j taken from B, so each block must match that pattern; a table
    whose ``point`` order is not the sample order fails here instead of giving wrong indices.
    """
    n_points, d = x.shape
    size = 2 * d + 2 if second_order else d + 2
    bad = []
    for start in range(0, n_points, size):
        block = x[start:start + size]
        a, b = block[0], block[-1]
        for j in range(d):
            expected = a.copy()
            expected[j] = b[j]
            if not np.allclose(block[1 + j], expected, rtol=1e-9, atol=1e-12):
                bad.append(start + 1 + j)
            if second_order:
                expected = b.copy()
                expected[j] = a[j]
                if not np.allclose(block[1 + d + j], expected, rtol=1e-9, atol=1e-12):
                    bad.append(start + 1 + d + j)
    if bad:
        raise AnalysisError(f"lever values are not in SALib's Saltelli order at point(s) "
                            f"{bad[:20]}{' ...' if len(bad) > 20 else ''}: is `point` the "
                            "sample row?",
                            [{"point": p, "metric": None, "reason": "not in Saltelli order"}
                             for p in bad])


def sobol_indices(
    table: pd.DataFrame,
    problem: Mapping,
    metrics: Iterable[str],
    *,
    calc_second_order: bool | None = None,
    conf_level: float = 0.95,
    num_resamples: int = 1000,
    seed: int | None = 1,
) -> pd.DataFrame:
    """Sobol first-order, total (and second-order) indices of each metric, SALib estimators.

    Args:
        table: tidy run table of a Sobol (Saltelli) design: ``point`` 0..n-1 in SALib's sample
            order, ``replicate``, ``status``, lever columns named as ``problem["names"]``,
            metric columns. Several scenarios are analysed one by one.
        problem: SALib problem dict (``num_vars``, ``names``, ``bounds``), as in the
            experiment's ``metadata.json``.
        metrics: metric columns to analyse.
        calc_second_order: whether the sample has second-order rows (2D + 2 per base row
            instead of D + 2); None infers it from the number of points.
        conf_level: coverage of SALib's bootstrap intervals, in (0, 1).
        num_resamples: bootstrap resamples for the intervals.
        seed: seed of the bootstrap, a positive integer (SALib ignores 0 and None: then the
            intervals change from call to call).

    Returns:
        Tidy DataFrame, one row per index: ``scenario``, ``metric``, ``order`` (1 for a
        parameter's S1/ST row, 2 for a pair's S2 row), ``parameter``, ``parameter_2`` (the
        pair's second parameter, None on order-1 rows), ``S1``, ``S1_conf``, ``ST``,
        ``ST_conf``, ``S2``, ``S2_conf`` (NaN where not applicable; ``_conf`` are half-widths
        at ``conf_level``), then the seed-variance columns of the module docstring
        (``n_replicates``, ``seed_variance``, ``point_variance``, ``seed_variance_ratio``,
        ``noise_share``) and ``n_points``.

    Raises:
        AnalysisError: on failed runs, NaN values (named), an incomplete design, a number of
            points that is not a Saltelli sample, or lever values out of Saltelli order.
    """
    from SALib.analyze import sobol

    metrics = list(metrics)
    names = list(problem["names"])
    d = len(names)
    rows = []
    for scenario, runs in _prepared(table, problem, metrics, "sobol_indices"):
        means = replicate_means(runs, metrics, names)
        second = _second_order(len(means), d, calc_second_order)
        if all(n in means.columns for n in names) and "groups" not in problem:
            lever_values = means[names].apply(pd.to_numeric, errors="coerce").to_numpy(float)
            if np.isfinite(lever_values).all():
                _check_saltelli_order(lever_values, second)
        for metric in metrics:
            y = means[metric].to_numpy(float)
            si = sobol.analyze(dict(problem), y, calc_second_order=second,
                               num_resamples=num_resamples, conf_level=conf_level, seed=seed)
            extra = {**_seed_variance(runs, metric, means[metric]), "n_points": len(means)}
            base = {"scenario": scenario, "metric": metric}
            for i, name in enumerate(names):
                rows.append({**base, "order": 1, "parameter": name, "parameter_2": None,
                             "S1": float(si["S1"][i]), "S1_conf": float(si["S1_conf"][i]),
                             "ST": float(si["ST"][i]), "ST_conf": float(si["ST_conf"][i]),
                             "S2": np.nan, "S2_conf": np.nan, **extra})
            if second:
                for i in range(d):
                    for j in range(i + 1, d):
                        rows.append({**base, "order": 2, "parameter": names[i],
                                     "parameter_2": names[j], "S1": np.nan, "S1_conf": np.nan,
                                     "ST": np.nan, "ST_conf": np.nan,
                                     "S2": float(si["S2"][i, j]),
                                     "S2_conf": float(si["S2_conf"][i, j]), **extra})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Morris
# --------------------------------------------------------------------------------------------


def morris_indices(
    table: pd.DataFrame,
    problem: Mapping,
    metrics: Iterable[str],
    *,
    num_levels: int = 4,
    conf_level: float = 0.95,
    num_resamples: int = 1000,
    scaled: bool = False,
    seed: int | None = 1,
) -> pd.DataFrame:
    """Morris elementary-effects screening of each metric (SALib), on replicate means.

    Args:
        table: tidy run table of a Morris design: ``point`` 0..n-1 in SALib's sample order
            (trajectories of D + 1 points), lever columns named as ``problem["names"]`` (the
            design matrix X is read from them), ``replicate``, ``status``, metric columns.
        problem: SALib problem dict (``num_vars``, ``names``, ``bounds``).
        metrics: metric columns to analyse.
        num_levels: grid levels of the Morris sample (must match the design; SALib default 4).
        conf_level: coverage of the bootstrap interval of ``mu_star``, in (0, 1).
        num_resamples: bootstrap resamples.
        scaled: SALib's scaled elementary effects (effects per unit of the output's range).
        seed: seed of the bootstrap, a positive integer (SALib ignores 0 and None).

    Returns:
        Tidy DataFrame: ``scenario``, ``metric``, ``parameter``, ``mu``, ``mu_star``,
        ``mu_star_conf`` (half-width), ``sigma`` (metric units per unit of the lever's range
        scaled to [0, 1]), then the seed-variance columns of the module docstring and
        ``n_points``. Rank parameters by ``mu_star``.

    Raises:
        AnalysisError: on failed runs, NaN values (named), an incomplete design, a lever
            column missing from the table, or a point count that is not a multiple of D + 1.
    """
    from SALib.analyze import morris

    metrics = list(metrics)
    names = list(problem["names"])
    d = len(names)
    rows = []
    for scenario, runs in _prepared(table, problem, metrics, "morris_indices"):
        absent = [n for n in names if n not in runs.columns]
        if absent:
            raise AnalysisError(f"morris_indices needs the lever columns {absent}")
        means = replicate_means(runs, metrics, names)
        if len(means) % (d + 1):
            raise AnalysisError(f"{len(means)} points is not a Morris sample of {d} parameters "
                                f"(needs a multiple of {d + 1})")
        x = means[names].to_numpy(float)
        for metric in metrics:
            y = means[metric].to_numpy(float)
            si = morris.analyze(dict(problem), x, y, num_resamples=num_resamples,
                                conf_level=conf_level, num_levels=num_levels, scaled=scaled,
                                seed=seed)
            extra = {**_seed_variance(runs, metric, means[metric]), "n_points": len(means)}
            for i, name in enumerate(names):
                rows.append({"scenario": scenario, "metric": metric, "parameter": name,
                             "mu": float(si["mu"][i]), "mu_star": float(si["mu_star"][i]),
                             "mu_star_conf": float(si["mu_star_conf"][i]),
                             "sigma": float(si["sigma"][i]), **extra})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# From an experiment's metadata
# --------------------------------------------------------------------------------------------


def sensitivity_indices(table: pd.DataFrame, metadata: Mapping, metrics: Iterable[str],
                        **kw) -> pd.DataFrame:
    """Sobol or Morris indices of an experiment, chosen by its design (``metadata.json``).

    Args:
        table: the experiment's tidy run table (``ExperimentResult.table`` / ``runs.parquet``).
        metadata: the experiment's metadata (``ExperimentResult.metadata`` /
            ``metadata.json``): ``problem`` and ``design`` (``kind``, ``calc_second_order``
            of a Sobol design, ``levels`` of a Morris design) are read.
        metrics: metric columns to analyse.
        **kw: passed on (``conf_level``, ``num_resamples``, ``seed``, ...).

    Returns:
        :func:`sobol_indices` or :func:`morris_indices` of the table.

    Raises:
        ValueError: if the design is neither ``sobol`` nor ``morris``.
        AnalysisError: as the two functions.
    """
    design = metadata.get("design") or {}
    kind = design.get("kind")
    problem = metadata.get("problem") or design.get("problem")
    if kind == "sobol":
        kw.setdefault("calc_second_order", design.get("calc_second_order"))
        return sobol_indices(table, problem, metrics, **kw)
    if kind == "morris":
        kw.setdefault("num_levels", design.get("levels") or 4)
        return morris_indices(table, problem, metrics, **kw)
    raise ValueError(f"sensitivity indices need a sobol or morris design, not {kind!r}")
