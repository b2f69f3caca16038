"""Scenario comparison on a tidy experiment table: replicate means, paired differences, grids.

The input is the tidy run table of :func:`sim.experiments.run`: one row per run with the
columns ``point`` (design point, 0-based), ``replicate`` (0-based), ``seed``, ``scenario``,
one column per lever (dotted name), ``status`` ("ok" / "failed"), ``error``, the kept
metrics and ``wall_s``. Replicate ``r`` uses the same seed at every point and in every
scenario (common random numbers, CRN), so two scenarios are compared *paired by replicate*:
the difference of each replicate removes the noise both runs share.

* :func:`check_runs` -- refuse failed runs and missing (NaN) metric values, naming them
  (:class:`AnalysisError`), or drop them with an explicit count.
* :func:`compare_scenarios` -- per scenario x metric: replicate mean with its t-interval,
  and the paired difference from a reference scenario with its t-interval.
* :func:`response_surface` -- replicate means (and CI half-widths) over a grid of two levers.

Intervals are two-sided Student-t intervals over independent replicates
(:func:`sim.analysis.warmup.mean_ci`); differences are in the metric's own units.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .warmup import mean_ci

__all__ = ["AnalysisError", "check_runs", "compare_scenarios", "response_surface"]

#: Columns that identify a run in the tidy table (those present are used in messages).
RUN_KEYS = ("scenario", "point", "replicate", "seed")
#: How many offending runs an error message lists before it says "and N more".
_LIST_MAX = 20


class AnalysisError(ValueError):
    """The table has runs an analysis cannot use (failed runs, missing metric values).

    Attributes:
        problems: one dict per offending (run, metric): the run's keys (``scenario``,
            ``point``, ``replicate``, ``seed`` where present), ``metric`` (None for a failed
            run) and ``reason`` ("failed: <error>", "missing (NaN)" or a structural reason).
    """

    def __init__(self, message: str, problems: Sequence[dict] = ()):
        super().__init__(message)
        self.problems = list(problems)


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


def _run_keys(row: pd.Series, table: pd.DataFrame) -> dict:
    """The identifying keys (scenario, point, replicate, seed) of one run row."""
    out = {}
    for key in RUN_KEYS:
        if key in table.columns:
            value = row[key]
            out[key] = value.item() if hasattr(value, "item") else value
    return out


def _describe(problems: list[dict]) -> str:
    """One line per problem (at most ``_LIST_MAX``), for an error message."""
    lines = []
    for p in problems[:_LIST_MAX]:
        where = ", ".join(f"{k}={p[k]}" for k in RUN_KEYS if k in p)
        what = f"metric {p['metric']!r}: " if p.get("metric") else ""
        lines.append(f"  - {what}{p['reason']} ({where})")
    if len(problems) > _LIST_MAX:
        lines.append(f"  - ... and {len(problems) - _LIST_MAX} more")
    return "\n".join(lines)


def find_problems(table: pd.DataFrame, metrics: Iterable[str]) -> list[dict]:
    """Failed runs and missing metric values of ``table``, one dict per (run, metric).

    A run whose ``status`` is not "ok" gives one problem with ``metric`` None (its metrics
    are not looked at); a successful run gives one problem per metric that is NaN or absent.

    Raises:
        KeyError: if a metric is not a column of ``table``.
    """
    metrics = list(metrics)
    missing_cols = [m for m in metrics if m not in table.columns]
    if missing_cols:
        raise KeyError(f"metric column(s) {missing_cols} not in the table; columns: "
                       f"{list(table.columns)}")
    problems: list[dict] = []
    failed = (table["status"] != "ok") if "status" in table.columns else \
        pd.Series(False, index=table.index)
    for _, row in table[failed].iterrows():
        error = row.get("error", "")
        error = "" if error is None or (isinstance(error, float) and np.isnan(error)) else error
        first_line = str(error).strip().splitlines()[-1] if str(error).strip() else "no error text"
        problems.append({**_run_keys(row, table), "metric": None,
                         "reason": f"failed run: {first_line}"})
    ok = table[~failed]
    for metric in metrics:
        values = pd.to_numeric(ok[metric], errors="coerce")
        for _, row in ok[values.isna()].iterrows():
            problems.append({**_run_keys(row, table), "metric": metric,
                             "reason": "missing value (NaN)"})
    return problems


def check_runs(table: pd.DataFrame, metrics: Iterable[str], *, missing: str = "raise",
               what: str = "analysis") -> tuple[pd.DataFrame, list[dict]]:
    """Refuse (or drop) failed runs and missing metric values before an analysis.

    Args:
        table: tidy run table (see the module docstring).
        metrics: metric columns the analysis uses.
        missing: "raise" -- raise :class:`AnalysisError` naming every failed run and every
            (run, metric) that is NaN; "drop" -- drop failed runs, keep NaN values in place
            (each analysis then skips them per metric) and return the list of problems.
        what: name of the analysis, for the message.

    Returns:
        ``(table of successful runs, problems)``; problems is empty with ``missing="raise"``.

    Raises:
        AnalysisError: with ``missing="raise"`` when anything is failed or missing.
        ValueError: if ``missing`` is neither "raise" nor "drop".
    """
    if missing not in ("raise", "drop"):
        raise ValueError(f"missing must be 'raise' or 'drop', got {missing!r}")
    problems = find_problems(table, metrics)
    if problems and missing == "raise":
        n_failed = sum(p["metric"] is None for p in problems)
        raise AnalysisError(
            f"{what} refused: {n_failed} failed run(s) and {len(problems) - n_failed} missing "
            f"metric value(s) in a table of {len(table)} runs:\n{_describe(problems)}",
            problems)
    ok = table[table["status"] == "ok"] if "status" in table.columns else table
    return ok, problems


# --------------------------------------------------------------------------------------------
# Scenario comparison
# --------------------------------------------------------------------------------------------


def _welch_interval(a: np.ndarray, b: np.ndarray, conf_level: float) -> tuple[float, float]:
    """Welch (unpaired) t-interval of mean(a) - mean(b); NaN with fewer than 2 values each."""
    if a.size < 2 or b.size < 2:
        return float("nan"), float("nan")
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = np.sqrt(va + vb)
    if se == 0:
        d = float(a.mean() - b.mean())
        return d, d
    df = (va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1))
    half = float(stats.t.ppf(0.5 + conf_level / 2.0, df)) * se
    d = float(a.mean() - b.mean())
    return d - half, d + half


def compare_scenarios(
    table: pd.DataFrame,
    metrics: Iterable[str],
    reference: str = "baseline",
    conf_level: float = 0.95,
    *,
    missing: str = "raise",
) -> pd.DataFrame:
    """Replicate means per scenario and paired (CRN) differences from a reference scenario.

    For every scenario and metric: the mean over replicates with its Student-t interval;
    and, on the replicates both the scenario and ``reference`` have a value for, the mean of
    the paired differences (scenario - reference, same replicate = same seed) with its
    t-interval. Beside it the Welch interval of the *unpaired* difference of the same values,
    to show what pairing gains. When the table has several design points the comparison is
    made within each point (pairs never cross points).

    Args:
        table: tidy run table (columns ``scenario``, ``replicate``, ``status``, metrics...).
        metrics: metric columns to compare (any units; differences have the same units).
        reference: scenario the differences are taken from; its own rows have difference 0.
        conf_level: coverage of the two-sided intervals, in (0, 1).
        missing: "raise" (default) refuses failed runs and NaN values, naming them
            (:class:`AnalysisError`); "drop" leaves failed runs out and skips NaN per metric,
            reporting the counts in ``n_failed`` / ``n_missing``.

    Returns:
        Tidy DataFrame, one row per (point,) scenario x metric, in the table's scenario
        order: ``scenario``, ``metric``, ``n`` (replicates with a value), ``mean``, ``se``,
        ``ci_low``, ``ci_high``, ``reference``, ``reference_mean`` (on the paired
        replicates), ``diff``, ``diff_se``, ``diff_ci_low``, ``diff_ci_high``, ``n_pairs``,
        ``welch_ci_low``, ``welch_ci_high``, ``n_failed`` (failed runs of the scenario),
        ``n_missing`` (successful runs whose value is NaN), ``conf_level``; plus ``point``
        when the table has more than one.

    Raises:
        AnalysisError: as :func:`check_runs`.
        KeyError: if ``reference`` is not a scenario of the table, or a metric is missing.
    """
    metrics = list(metrics)
    if not 0.0 < conf_level < 1.0:
        raise ValueError(f"conf_level must lie in (0, 1), got {conf_level}")
    if reference not in set(table["scenario"]):
        raise KeyError(f"reference scenario {reference!r} not in the table; scenarios: "
                       f"{list(pd.unique(table['scenario']))}")
    ok, problems = check_runs(table, metrics, missing=missing, what="compare_scenarios")
    failed_by = pd.Series([p.get("scenario") for p in problems if p["metric"] is None],
                          dtype=object).value_counts()
    by_point = "point" in table.columns and table["point"].nunique() > 1
    points = sorted(table["point"].unique()) if by_point else [None]
    scenarios = list(pd.unique(table["scenario"]))
    rows = []
    for point in points:
        here = ok[ok["point"] == point] if by_point else ok
        ref = here[here["scenario"] == reference].set_index("replicate")
        for scenario in scenarios:
            mine = here[here["scenario"] == scenario].set_index("replicate")
            for metric in metrics:
                values = pd.to_numeric(mine[metric], errors="coerce")
                ref_values = pd.to_numeric(ref[metric], errors="coerce")
                level = mean_ci(values.dropna(), conf_level)
                paired = pd.concat({"a": values, "b": ref_values}, axis=1).dropna()
                diff = mean_ci(paired["a"] - paired["b"], conf_level)
                welch = _welch_interval(paired["a"].to_numpy(float),
                                        paired["b"].to_numpy(float), conf_level)
                row = {"scenario": scenario, "metric": metric, "n": level["n"],
                       "mean": level["mean"], "se": level["se"], "ci_low": level["ci_low"],
                       "ci_high": level["ci_high"], "reference": reference,
                       "reference_mean": float(paired["b"].mean()) if len(paired) else np.nan,
                       "diff": diff["mean"], "diff_se": diff["se"],
                       "diff_ci_low": diff["ci_low"], "diff_ci_high": diff["ci_high"],
                       "n_pairs": len(paired), "welch_ci_low": welch[0],
                       "welch_ci_high": welch[1],
                       "n_failed": int(failed_by.get(scenario, 0)),
                       "n_missing": int(values.isna().sum()), "conf_level": conf_level}
                if by_point:
                    row = {"point": point, **row}
                rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Response surface
# --------------------------------------------------------------------------------------------


def response_surface(
    table: pd.DataFrame,
    x: str,
    y: str,
    metric: str,
    *,
    conf_level: float = 0.95,
    missing: str = "raise",
) -> pd.DataFrame:
    """Replicate means of ``metric`` over the grid of two levers (a factorial design).

    Args:
        table: tidy run table with lever columns ``x`` and ``y`` (dotted names).
        x: lever on the first axis.
        y: lever on the second axis.
        metric: metric column.
        conf_level: coverage of the t-interval whose half-width is reported, in (0, 1).
        missing: "raise" or "drop", as :func:`check_runs`.

    Returns:
        Tidy DataFrame, one row per (scenario,) x value, y value, sorted: ``x`` value column
        named ``x``, ``y`` value column named ``y``, ``mean`` (over replicates and over any
        other levers varied at the same (x, y)), ``half_width`` (t-interval half-width,
        NaN with one value), ``n`` (runs averaged); plus ``scenario`` when the table has
        several. ``frame.pivot(index=y, columns=x, values="mean")`` gives the grid.

    Raises:
        AnalysisError: as :func:`check_runs`.
        KeyError: if ``x``, ``y`` or ``metric`` is not a column.
    """
    for column in (x, y):
        if column not in table.columns:
            raise KeyError(f"lever column {column!r} not in the table")
    ok, _ = check_runs(table, [metric], missing=missing, what="response_surface")
    keys = (["scenario"] if table["scenario"].nunique() > 1 else []) + [x, y]
    rows = []
    for key, group in ok.groupby(keys, sort=True):
        ci = mean_ci(pd.to_numeric(group[metric], errors="coerce"), conf_level)
        half = (ci["ci_high"] - ci["mean"]) if ci["n"] >= 2 else float("nan")
        rows.append({**dict(zip(keys, key)), "mean": ci["mean"], "half_width": half,
                     "n": ci["n"]})
    return pd.DataFrame(rows)
