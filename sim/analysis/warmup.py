"""Warm-up (initial transient) detection and stationarity checks for simulation output.

A run starts from an artificial initial state, so the first steps of every metric are biased
towards it. Before averaging a metric over a run, the leading *warm-up* observations are
deleted. This module estimates how many:

* :func:`mser` / :func:`mser_replicated` -- the MSER-5 rule (White 1997; White, Cobb &
  Spratt 2000): delete the leading batches that minimise the squared standard error of the
  mean of what remains.
* :func:`welch` -- Welch's (1983) graphical method, made automatic: average the replicates,
  smooth with a centred moving average, and find where the smoothed curve settles.
* :func:`detect_warmup` -- both rules for several metrics of a tidy (long) run table.
* :func:`stationarity` -- after the warm-up, check that an early and a late window agree.

Conventions: a *series* holds one observation per step, in step order. Every warm-up count
returned here is a number of leading **observations** to delete (0 = keep everything), so
with one observation per step it is a number of steps. Replicates are independent runs
(different seeds) of the same configuration.

References:
    White, K. P. (1997). An effective truncation heuristic for bias reduction in simulation
    output. *Simulation*, 69(6), 323-334.
    White, K. P., Cobb, M. J., & Spratt, S. C. (2000). A comparison of five steady-state
    truncation heuristics for simulation. *Proceedings of the 2000 Winter Simulation
    Conference*, 755-760.
    Welch, P. D. (1983). The statistical analysis of simulation results. In S. S. Lavenberg
    (Ed.), *Computer Performance Modeling Handbook* (pp. 268-328). Academic Press.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "detect_warmup",
    "mean_ci",
    "mser",
    "mser_replicated",
    "stationarity",
    "welch",
]


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _fill_nan(series: np.ndarray) -> np.ndarray:
    """Forward-fill NaN; leading NaN take the first observed value.

    Args:
        series: 1-D float array.

    Returns:
        A new array without NaN, same length and step alignment.

    Raises:
        ValueError: if the series is empty or every value is NaN.
    """
    if series.size == 0:
        raise ValueError("series is empty")
    observed = ~np.isnan(series)
    if not observed.any():
        raise ValueError("series is all NaN")
    # Index of the last observed value at or before each position (-1 before the first).
    last_seen = np.maximum.accumulate(np.where(observed, np.arange(series.size), -1))
    first_seen = int(np.argmax(observed))
    return series[np.where(last_seen < 0, first_seen, last_seen)]


def _as_series(series: Iterable[float]) -> np.ndarray:
    """A 1-D float array of ``series`` with NaN filled (see :func:`_fill_nan`)."""
    array = np.asarray(series, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"series must be 1-D, got shape {array.shape}")
    return _fill_nan(array)


def _replicate_mean(matrix: Iterable[Iterable[float]]) -> np.ndarray:
    """Across-replicate mean per step, ignoring NaN (a step with no value gives NaN).

    Args:
        matrix: rows = replicates, columns = steps (a 1-D input is one replicate).

    Returns:
        1-D array with one mean per column.
    """
    array = np.atleast_2d(np.asarray(matrix, dtype=float))
    if array.ndim != 2:
        raise ValueError(f"matrix must be 2-D (replicates x steps), got shape {array.shape}")
    observed = ~np.isnan(array)
    counts = observed.sum(axis=0)
    sums = np.where(observed, array, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def mean_ci(values: Iterable[float], confidence: float = 0.95) -> dict:
    """Mean, standard error and Student-t confidence interval of independent values.

    Args:
        values: one value per independent replicate (NaN are dropped).
        confidence: coverage of the two-sided interval, in (0, 1).

    Returns:
        Dict with ``mean``, ``se`` (sample sd / sqrt(n)), ``ci_low``, ``ci_high`` and ``n``.
        With fewer than two values ``se`` and the interval are NaN.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    array = np.asarray(list(values), dtype=float)
    array = array[~np.isnan(array)]
    n = int(array.size)
    mean = float(array.mean()) if n else float("nan")
    if n < 2:
        return {"mean": mean, "se": float("nan"), "ci_low": float("nan"),
                "ci_high": float("nan"), "n": n}
    se = float(array.std(ddof=1) / np.sqrt(n))
    half_width = float(stats.t.ppf(0.5 + confidence / 2.0, df=n - 1)) * se
    return {"mean": mean, "se": se, "ci_low": mean - half_width, "ci_high": mean + half_width,
            "n": n}


# --------------------------------------------------------------------------------------------
# MSER-5
# --------------------------------------------------------------------------------------------


def _batch_means(series: np.ndarray, batch: int) -> np.ndarray:
    """Means of consecutive non-overlapping batches; an incomplete tail batch is dropped."""
    n_batches = series.size // batch
    return series[: n_batches * batch].reshape(n_batches, batch).mean(axis=1)


def _mser_statistic(batch_means: np.ndarray, d_max: int) -> np.ndarray:
    """MSER(d) for d = 0..d_max (in batches).

    MSER(d) = 1 / (n - d)^2 * sum_{i > d} (Y_i - mean(Y_{d+1..n}))^2, i.e. the sample variance
    of the retained batch means divided by their number (up to a constant factor): the squared
    standard error of the truncated mean.
    """
    n = batch_means.size
    centred = batch_means - batch_means.mean()  # reduces cancellation in the sums below
    suffix_sum = np.cumsum(centred[::-1])[::-1]
    suffix_sq = np.cumsum((centred**2)[::-1])[::-1]
    d = np.arange(d_max + 1)
    kept = n - d
    sum_sq_dev = suffix_sq[d] - suffix_sum[d] ** 2 / kept
    return np.maximum(sum_sq_dev, 0.0) / kept**2


def mser(series: Iterable[float], batch: int = 5, max_fraction: float = 0.5) -> int:
    """MSER-5 truncation point of one output series (White 1997; White, Cobb & Spratt 2000).

    The series is cut into non-overlapping batches of ``batch`` observations (an incomplete
    tail batch is dropped) and their means Y_1..Y_n are taken. For each candidate truncation
    d = 0..floor(max_fraction * n) batches (and at most n - 2, so two batches always remain)
    the statistic

        MSER(d) = 1 / (n - d)^2 * sum_{i = d+1..n} (Y_i - Ybar_{n,d})^2

    is computed, where Ybar_{n,d} is the mean of the retained batch means. The truncation
    d* = argmin MSER(d) (the smallest d on ties) is returned in observations: d* * batch.

    NaN: interior and trailing NaN are forward-filled, leading NaN take the first observed
    value, so the step alignment is kept.

    A d* at the upper end of the search range means the series had not settled within the
    first ``max_fraction`` of the run: treat it as a warning that the run is too short.

    Args:
        series: one observation per step, in step order (any real units).
        batch: observations per batch, >= 1 (5 gives MSER-5; 1 gives plain MSER).
        max_fraction: largest truncation considered, as a fraction of the batches, in [0, 1).

    Returns:
        Number of leading observations to delete, a multiple of ``batch`` in
        [0, max_fraction * len(series)]. A constant series gives 0.

    Raises:
        ValueError: if the series is empty or all NaN, if it holds fewer than two full
            batches, or if ``batch`` / ``max_fraction`` are out of range.
    """
    if int(batch) != batch or batch < 1:
        raise ValueError(f"batch must be a positive integer, got {batch}")
    if not 0.0 <= max_fraction < 1.0:
        raise ValueError(f"max_fraction must lie in [0, 1), got {max_fraction}")
    batch = int(batch)
    values = _as_series(series)
    batch_means = _batch_means(values, batch)
    if batch_means.size < 2:
        raise ValueError(
            f"MSER needs at least two batches of {batch} observations, got {values.size}"
        )
    if np.ptp(batch_means) == 0.0:
        return 0
    d_max = min(int(np.floor(max_fraction * batch_means.size)), batch_means.size - 2)
    statistic = _mser_statistic(batch_means, d_max)
    return int(np.argmin(statistic)) * batch


def mser_replicated(
    matrix: Iterable[Iterable[float]], batch: int = 5, max_fraction: float = 0.5
) -> int:
    """MSER-5 truncation point of the across-replicate mean series.

    The replicates are averaged step by step (ignoring NaN), then :func:`mser` is applied to
    the mean series. Averaging first lowers the noise, so the transient stands out better
    than in any single replicate.

    Args:
        matrix: rows = replicates, columns = steps (a 1-D input is one replicate).
        batch: observations per batch, >= 1.
        max_fraction: largest truncation considered, as a fraction of the batches, in [0, 1).

    Returns:
        Number of leading steps (columns) to delete, a multiple of ``batch``.

    Raises:
        ValueError: as :func:`mser`, e.g. when every value is NaN.
    """
    return mser(_replicate_mean(matrix), batch=batch, max_fraction=max_fraction)


# --------------------------------------------------------------------------------------------
# Welch's method
# --------------------------------------------------------------------------------------------


def _centred_moving_average(series: np.ndarray, window: int) -> np.ndarray:
    """Welch's centred moving average with half-width ``window``.

    Point i averages series[i - h .. i + h] with h = min(window, i, n - 1 - i): the full
    2 * window + 1 points in the middle, a shrinking symmetric window near both ends (Welch
    1983 uses the shrinking window at the start; the end is treated the same way here so the
    smoothed series has the length of the input).
    """
    n = series.size
    cumulative = np.concatenate(([0.0], np.cumsum(series)))
    index = np.arange(n)
    half = np.minimum(window, np.minimum(index, n - 1 - index))
    return (cumulative[index + half + 1] - cumulative[index - half]) / (2 * half + 1)


def _settling_index(smoothed: np.ndarray, reference: float, tolerance: float) -> int:
    """First index from which every smoothed value lies within reference +/- tolerance."""
    outside = np.flatnonzero(np.abs(smoothed - reference) > tolerance)
    return int(outside[-1]) + 1 if outside.size else 0


def welch(
    matrix: Iterable[Iterable[float]],
    window: int = 5,
    threshold: float = 0.02,
    *,
    abs_tol: float | None = None,
    noise_z: float = 4.0,
) -> int:
    """Warm-up by Welch's (1983) graphical method, made automatic.

    Rule, step by step:

    1. Average the replicates step by step (ignoring NaN; NaN steps are forward-filled).
    2. Smooth with a centred moving average of half-width ``window`` (2 * window + 1 points,
       shrinking symmetrically near both ends).
    3. Steady level m = mean of the smoothed series over its second half (steps n // 2 ..).
    4. Band half-width tol = max(base, noise), where
       base = ``abs_tol`` if given, else ``threshold`` * (max - min of the whole smoothed
       series), i.e. a fraction of the transient's size; and
       noise = max(largest |smoothed - m| over the second half,
       ``noise_z`` * sd of the smoothed second half).
       The ``noise`` floor is the wobble that has to be accepted as steady state: a band
       narrower than the residual noise would never count a series as settled, and one just
       as wide as the second half's largest excursion would make a stationary series
       "settle" after its largest first-half excursion half of the time.
    5. Return the first index k such that every smoothed value from k on lies within
       m +/- tol.

    Because tol >= the second half's largest excursion, the result is at most n // 2: a
    result close to n // 2 means the transient may outlast half of the run (lengthen it).

    Args:
        matrix: rows = replicates, columns = steps (a 1-D input is one replicate).
        window: half-width w of the moving average, in steps, >= 0 (0 = no smoothing).
        threshold: band half-width as a fraction of the smoothed series' total range, >= 0
            (0.02 = 2 % of the transient's size). Ignored when ``abs_tol`` is given.
        abs_tol: band half-width in the metric's own units, >= 0 (optional).
        noise_z: noise floor of the band in standard deviations of the smoothed second
            half, >= 0. The default 4 keeps false warm-ups of stationary white noise rare
            (about 4 % of series longer than 10 % of the run, in simulation).

    Returns:
        Number of leading steps to delete, in [0, n // 2].

    Raises:
        ValueError: for an empty or all-NaN input or out-of-range parameters.
    """
    if int(window) != window or window < 0:
        raise ValueError(f"window must be a non-negative integer, got {window}")
    if threshold < 0:
        raise ValueError(f"threshold must be >= 0, got {threshold}")
    if abs_tol is not None and abs_tol < 0:
        raise ValueError(f"abs_tol must be >= 0, got {abs_tol}")
    if noise_z < 0:
        raise ValueError(f"noise_z must be >= 0, got {noise_z}")
    mean_series = _fill_nan(_replicate_mean(matrix))
    smoothed = _centred_moving_average(mean_series, int(window))
    second_half = smoothed[smoothed.size // 2 :]
    steady_level = float(second_half.mean())
    base = abs_tol if abs_tol is not None else threshold * float(np.ptp(smoothed))
    noise = max(float(np.max(np.abs(second_half - steady_level))),
                noise_z * float(second_half.std()))
    return _settling_index(smoothed, steady_level, max(base, noise))


# --------------------------------------------------------------------------------------------
# Tidy-frame front ends
# --------------------------------------------------------------------------------------------


def _metric_list(metrics: str | Sequence[str]) -> list[str]:
    """``metrics`` as a list of column names (a single name is allowed)."""
    return [metrics] if isinstance(metrics, str) else list(metrics)


def _check_columns(frame: pd.DataFrame, columns: Iterable[str]) -> None:
    """Raise ``KeyError`` naming the columns of ``columns`` that ``frame`` lacks."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise KeyError(f"frame lacks column(s) {missing}; has {list(frame.columns)}")


def _replicate_matrix(
    frame: pd.DataFrame, metric: str, step: str, replicate: str
) -> pd.DataFrame:
    """Metric as a replicates x steps table (steps sorted; missing cells NaN)."""
    if frame.duplicated([replicate, step]).any():
        raise ValueError(f"frame has several rows for one ({replicate}, {step}) pair")
    return frame.pivot(index=replicate, columns=step, values=metric).sort_index(axis=1)


def detect_warmup(
    frame: pd.DataFrame,
    metrics: str | Sequence[str],
    *,
    step: str = "step",
    replicate: str = "seed",
    batch: int = 5,
    max_fraction: float = 0.5,
    window: int = 5,
    threshold: float = 0.02,
) -> pd.DataFrame:
    """Warm-up of several metrics by MSER-5 and Welch's method.

    Args:
        frame: tidy table with one row per (replicate, step) and one column per metric.
        metrics: metric column name(s).
        step: name of the step column (sorted ascending; one observation per step assumed).
        replicate: name of the replicate (seed) column.
        batch: MSER batch size in steps (see :func:`mser_replicated`).
        max_fraction: largest MSER truncation, as a fraction of the run, in [0, 1).
        window: Welch moving-average half-width in steps (see :func:`welch`).
        threshold: Welch band as a fraction of the smoothed range (see :func:`welch`).

    Returns:
        One row per metric with columns ``metric``, ``mser5_steps``, ``welch_steps``,
        ``warmup_steps`` (the larger of the two; leading observations to delete),
        ``first_steady_step`` (the step value of the first retained observation),
        ``n_replicates`` and ``n_steps`` (distinct steps).

    Raises:
        KeyError: if a named column is missing.
        ValueError: if a (replicate, step) pair repeats or a metric is all NaN.
    """
    names = _metric_list(metrics)
    _check_columns(frame, [step, replicate, *names])
    rows = []
    for name in names:
        matrix = _replicate_matrix(frame, name, step, replicate)
        values = matrix.to_numpy(dtype=float)
        mser_steps = mser_replicated(values, batch=batch, max_fraction=max_fraction)
        welch_steps = welch(values, window=window, threshold=threshold)
        warmup_steps = max(mser_steps, welch_steps)
        rows.append({
            "metric": name,
            "mser5_steps": mser_steps,
            "welch_steps": welch_steps,
            "warmup_steps": warmup_steps,
            "first_steady_step": matrix.columns[min(warmup_steps, matrix.shape[1] - 1)],
            "n_replicates": int(matrix.shape[0]),
            "n_steps": int(matrix.shape[1]),
        })
    return pd.DataFrame(rows)


def _window_means(
    frame: pd.DataFrame, metric: str, window: tuple[float, float], step: str, replicate: str
) -> pd.Series:
    """Per-replicate mean of ``metric`` over the inclusive step range ``window``."""
    start, end = window
    if start > end:
        raise ValueError(f"window {window} has start > end")
    inside = frame[(frame[step] >= start) & (frame[step] <= end)]
    if inside.empty:
        raise ValueError(f"no rows with {step} in [{start}, {end}]")
    return inside.groupby(replicate)[metric].mean()


def stationarity(
    frame: pd.DataFrame,
    metrics: str | Sequence[str],
    early: tuple[float, float],
    late: tuple[float, float],
    *,
    share_tolerance: float = 0.03,
    relative_tolerance: float = 0.05,
    shares: Iterable[str] | None = None,
    step: str = "step",
    replicate: str = "seed",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Check that each metric's level agrees between an early and a late window.

    For every replicate the metric is averaged over ``early = (a, b)`` and ``late = (c, d)``
    (inclusive step ranges); the paired differences late - early across replicates give a
    Student-t interval. The tolerance is absolute (``share_tolerance``) for metrics named in
    ``shares`` and relative (``relative_tolerance`` * |mean_early|) otherwise; a metric
    *passes* when |mean_late - mean_early| < tolerance. The stricter ``equivalent`` column
    also asks the whole interval to lie within +/- tolerance (a TOST-style equivalence check).

    Args:
        frame: tidy table with one row per (replicate, step) and one column per metric.
        metrics: metric column name(s).
        early: inclusive step range (a, b) right after the warm-up.
        late: inclusive step range (c, d) near the end of the run.
        share_tolerance: absolute tolerance for share metrics, in share units (0.03 = 3
            percentage points), >= 0.
        relative_tolerance: tolerance for other metrics as a fraction of |mean_early|, >= 0.
            A metric with mean_early == 0 then has tolerance 0 and cannot pass.
        shares: names of the metrics measured as shares in [0, 1] (None = none of them).
        step: name of the step column.
        replicate: name of the replicate (seed) column.
        confidence: coverage of the interval of the difference, in (0, 1).

    Returns:
        One row per metric: ``metric``, ``mean_early``, ``mean_late``, ``difference``,
        ``ci_low``, ``ci_high``, ``n_replicates`` (replicates present in both windows),
        ``tolerance``, ``tolerance_kind`` ("absolute" or "relative"), ``passes``,
        ``equivalent``.

    Raises:
        KeyError: if a named column is missing.
        ValueError: if a window is empty or reversed, or no replicate spans both windows.
    """
    names = _metric_list(metrics)
    _check_columns(frame, [step, replicate, *names])
    share_names = set(shares or ())
    rows = []
    for name in names:
        paired = pd.concat(
            {"early": _window_means(frame, name, early, step, replicate),
             "late": _window_means(frame, name, late, step, replicate)},
            axis=1,
        ).dropna()
        if paired.empty:
            raise ValueError(f"no replicate has values of {name!r} in both windows")
        summary = mean_ci(paired["late"] - paired["early"], confidence)
        mean_early = float(paired["early"].mean())
        mean_late = float(paired["late"].mean())
        is_share = name in share_names
        tolerance = share_tolerance if is_share else relative_tolerance * abs(mean_early)
        rows.append({
            "metric": name,
            "mean_early": mean_early,
            "mean_late": mean_late,
            "difference": mean_late - mean_early,
            "ci_low": summary["ci_low"],
            "ci_high": summary["ci_high"],
            "n_replicates": summary["n"],
            "tolerance": tolerance,
            "tolerance_kind": "absolute" if is_share else "relative",
            "passes": bool(abs(mean_late - mean_early) < tolerance),
            "equivalent": bool(-tolerance < summary["ci_low"]
                               and summary["ci_high"] < tolerance),
        })
    return pd.DataFrame(rows)
