"""Difference-in-differences (DiD) for pilot (试点) reforms across streets.

A reform switched on at step ``treat_start`` in a *pilot* set of streets is compared with the
streets left out of the pilot. One run gives a per-street, per-step table ``by_street`` with
columns ``street``, ``step``, a boolean ``pilot`` (constant per street) and metric columns.

* :func:`did_estimate` -- the classic 2 x 2 DiD of one run:
  (pilot post - pilot pre) - (control post - control pre).
* :func:`did_over_seeds` -- the DiD of every seed, with mean, standard error and t-interval.
* :func:`placebo_did` -- a fake reform date inside the pre-period; the interval should cover 0.
* :func:`paired_effect` -- common random numbers: the same seeds run with and without the
  reform, compared in the same streets.

Every group mean weights streets equally: first the mean of each street over the window, then
the mean over the streets of the group. Step windows are inclusive ranges (a, b).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping

import pandas as pd

from .warmup import mean_ci

__all__ = ["did_estimate", "did_over_seeds", "paired_effect", "placebo_did"]

Window = tuple[float, float]
Tables = Mapping[object, pd.DataFrame] | pd.DataFrame


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _check_columns(frame: pd.DataFrame, columns: Iterable[str]) -> None:
    """Raise ``KeyError`` naming the columns of ``columns`` that ``frame`` lacks."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise KeyError(f"by_street lacks column(s) {missing}; has {list(frame.columns)}")


def _check_window(window: Window, label: str) -> None:
    """Raise ``ValueError`` if the inclusive step range ``window`` is reversed."""
    start, end = window
    if start > end:
        raise ValueError(f"{label} window {window} has start > end")


def _pilot_flags(by_street: pd.DataFrame, street: str, pilot: str) -> pd.Series:
    """Pilot flag (bool) per street; raise if a street's flag changes between rows."""
    flags = by_street.groupby(street)[pilot]
    if (flags.nunique(dropna=False) > 1).any():
        raise ValueError(f"the {pilot!r} flag must be constant within each {street!r}")
    return flags.first().astype(bool)


def _street_window_means(
    by_street: pd.DataFrame, metric: str, window: Window, street: str, step: str
) -> pd.Series:
    """Mean of ``metric`` per street over the inclusive step range ``window`` (NaN skipped)."""
    start, end = window
    inside = by_street[(by_street[step] >= start) & (by_street[step] <= end)]
    return inside.groupby(street)[metric].mean()


def _split_tables(tables: Tables, seed: str) -> dict[object, pd.DataFrame]:
    """``tables`` as a dict seed -> by_street frame (a long frame is split on ``seed``)."""
    if isinstance(tables, pd.DataFrame):
        if seed not in tables.columns:
            raise KeyError(f"a single frame needs a {seed!r} column to tell the runs apart")
        return {key: group for key, group in tables.groupby(seed, sort=True)}
    return dict(tables)


def _summary(values: dict[object, float], confidence: float) -> dict:
    """Mean, SE and t-interval of per-seed values, plus the values themselves."""
    interval = mean_ci(values.values(), confidence)
    return {
        "mean": interval["mean"],
        "se": interval["se"],
        "ci_low": interval["ci_low"],
        "ci_high": interval["ci_high"],
        "confidence": confidence,
        "n_seeds": len(values),
        "seeds": list(values),
        "values": list(values.values()),
    }


# --------------------------------------------------------------------------------------------
# DiD
# --------------------------------------------------------------------------------------------


def did_estimate(
    by_street: pd.DataFrame,
    metric: str,
    treat_start: int,
    *,
    pre: Window | None = None,
    post: Window | None = None,
    street: str = "street",
    step: str = "step",
    pilot: str = "pilot",
) -> dict:
    """Classic 2 x 2 difference-in-differences of one run.

    DiD = (pilot_post - pilot_pre) - (control_post - control_pre), where each term is the
    mean over the group's streets of the per-street mean over the window (streets weighted
    equally). Streets without data in both windows are left out.

    Args:
        by_street: one row per (street, step) with the metric and a boolean pilot flag.
        metric: metric column name (any units; the DiD has the same units).
        treat_start: first step of the reform (steps are integers, the first model step is 1).
        pre: inclusive step range before the reform; default (1, treat_start - 1), so the
            initial state at step 0 is left out.
        post: inclusive step range after the reform; default (treat_start, last step).
        street: name of the street column.
        step: name of the step column.
        pilot: name of the boolean pilot column.

    Returns:
        Dict with ``did``, ``pilot_pre``, ``pilot_post``, ``control_pre``, ``control_post``,
        ``n_pilot``, ``n_control`` (streets used) and the ``pre`` / ``post`` windows used.

    Raises:
        KeyError: if a named column is missing.
        ValueError: if the pilot or the control group is empty, a window is reversed or
            empty, or a street's pilot flag is not constant.
    """
    _check_columns(by_street, [street, step, pilot, metric])
    pre = (1, treat_start - 1) if pre is None else tuple(pre)
    last_step = by_street[step].max()
    last_step = last_step.item() if hasattr(last_step, "item") else last_step
    post = (treat_start, last_step) if post is None else tuple(post)
    _check_window(pre, "pre")
    _check_window(post, "post")
    means = pd.DataFrame({
        "pre": _street_window_means(by_street, metric, pre, street, step),
        "post": _street_window_means(by_street, metric, post, street, step),
    })
    if means["pre"].isna().all() or means["post"].isna().all():
        raise ValueError(f"no {metric!r} values in the pre window {pre} or post window {post}")
    means["pilot"] = _pilot_flags(by_street, street, pilot).reindex(means.index)
    means = means.dropna(subset=["pre", "post"])
    pilot_means = means[means["pilot"]]
    control_means = means[~means["pilot"]]
    for label, group in (("pilot", pilot_means), ("control", control_means)):
        if group.empty:
            raise ValueError(f"the {label} group has no street with data in both windows")
    result = {
        "pilot_pre": float(pilot_means["pre"].mean()),
        "pilot_post": float(pilot_means["post"].mean()),
        "control_pre": float(control_means["pre"].mean()),
        "control_post": float(control_means["post"].mean()),
        "n_pilot": len(pilot_means),
        "n_control": len(control_means),
        "pre": pre,
        "post": post,
    }
    result["did"] = ((result["pilot_post"] - result["pilot_pre"])
                     - (result["control_post"] - result["control_pre"]))
    return result


def did_over_seeds(
    tables: Tables,
    metric: str,
    treat_start: int,
    *,
    seed: str = "seed",
    confidence: float = 0.95,
    **kw,
) -> dict:
    """DiD of every seed (independent replicate), with a Student-t interval of the mean.

    Args:
        tables: a mapping seed -> by_street frame, or one long frame with a ``seed`` column.
        metric: metric column name.
        treat_start: first step of the reform.
        seed: name of the seed column when ``tables`` is a single frame.
        confidence: coverage of the two-sided interval, in (0, 1).
        **kw: passed to :func:`did_estimate` (``pre``, ``post``, column names).

    Returns:
        Dict with ``mean`` (mean DiD), ``se`` (sd / sqrt(n_seeds)), ``ci_low``, ``ci_high``,
        ``confidence``, ``n_seeds``, ``seeds`` and ``values`` (per-seed DiD, same order).
        With a single seed ``se`` and the interval are NaN.

    Raises:
        ValueError: if there is no table, or as :func:`did_estimate`.
    """
    runs = _split_tables(tables, seed)
    if not runs:
        raise ValueError("no tables given")
    values = {key: did_estimate(frame, metric, treat_start, **kw)["did"]
              for key, frame in runs.items()}
    return _summary(values, confidence)


def placebo_did(
    tables: Tables, metric: str, fake_start: int, pre_end: int, **kw
) -> dict:
    """Placebo DiD with a fake reform date inside the pre-period.

    Uses pre = (1, fake_start - 1) and post = (fake_start, pre_end), all before the real
    reform. With parallel trends and no anticipation the interval should cover 0; a placebo
    that excludes 0 warns that the real DiD picks up pre-existing differences in trends.

    Args:
        tables: as :func:`did_over_seeds`.
        metric: metric column name.
        fake_start: fake reform step, in [2, pre_end].
        pre_end: last step before the real reform (treat_start - 1).
        **kw: passed to :func:`did_over_seeds` (``seed``, ``confidence``, column names).

    Returns:
        The same dict as :func:`did_over_seeds`.

    Raises:
        ValueError: if ``fake_start`` is not in [2, pre_end], or as :func:`did_over_seeds`.
    """
    if not 2 <= fake_start <= pre_end:
        raise ValueError(f"fake_start must lie in [2, pre_end={pre_end}], got {fake_start}")
    return did_over_seeds(tables, metric, fake_start, pre=(1, fake_start - 1),
                          post=(fake_start, pre_end), **kw)


# --------------------------------------------------------------------------------------------
# Common random numbers
# --------------------------------------------------------------------------------------------


def _chosen_streets(
    treated: pd.DataFrame, streets: str | Iterable[object], street: str, pilot: str
) -> list[object]:
    """Street ids selected by ``streets`` ("pilot", "control", "all" or explicit ids)."""
    if not isinstance(streets, str):
        ids = list(streets)
        if not ids:
            raise ValueError("the explicit street collection is empty")
        return ids
    if streets == "all":
        return list(treated[street].unique())
    if streets not in ("pilot", "control"):
        raise ValueError(f"streets must be 'pilot', 'control', 'all' or ids, got {streets!r}")
    _check_columns(treated, [pilot])
    flags = _pilot_flags(treated, street, pilot)
    chosen = flags[flags] if streets == "pilot" else flags[~flags]
    if chosen.empty:
        raise ValueError(f"the treated run has no {streets} street")
    return list(chosen.index)


def _group_window_mean(
    by_street: pd.DataFrame, metric: str, window: Window, ids: list[object], street: str,
    step: str,
) -> float:
    """Mean over streets ``ids`` of each street's mean of ``metric`` over ``window``."""
    means = _street_window_means(by_street, metric, window, street, step)
    missing = [key for key in ids if key not in means.index]
    if missing:
        raise ValueError(f"street(s) {missing} have no {metric!r} values in window {window}")
    return float(means.loc[ids].mean())


def paired_effect(
    treated_tables: Tables,
    control_tables: Tables,
    metric: str,
    window: Window,
    *,
    streets: str | Iterable[object] = "pilot",
    street: str = "street",
    step: str = "step",
    pilot: str = "pilot",
    seed: str = "seed",
    confidence: float = 0.95,
) -> dict:
    """Effect of the reform by common random numbers: treated run minus untreated run.

    For each seed present in both sets, the metric is averaged over ``window`` in the chosen
    streets of the treated run and of the untreated run with the same seed (same streets, so
    the street set is taken from the *treated* run's pilot flags); the effect of that seed is
    the difference. Matching seeds removes most run-to-run noise, so the interval is much
    tighter than a comparison of independent runs.

    Args:
        treated_tables: runs with the reform, as in :func:`did_over_seeds`.
        control_tables: runs without the reform, keyed by the same seeds.
        metric: metric column name (the effect has the same units).
        window: inclusive step range (a, b) over which the metric is averaged.
        streets: "pilot" (default), "control" (the non-pilot streets, for spill-overs),
            "all", or an explicit collection of street ids.
        street: name of the street column.
        step: name of the step column.
        pilot: name of the boolean pilot column.
        seed: name of the seed column when a table set is a single frame.
        confidence: coverage of the two-sided interval, in (0, 1).

    Returns:
        Dict as :func:`did_over_seeds` (``mean`` is the mean effect, ``values`` the per-seed
        effects) plus ``treated_mean`` and ``control_mean`` (means over seeds of the two
        levels) and ``streets`` (the street ids used, from the first matched seed).

    Raises:
        ValueError: if no seed is in both sets, a window is reversed, or a chosen street has
            no data in the window. Seeds present in one set only are skipped with a warning.
    """
    _check_window(window, "effect")
    treated_runs = _split_tables(treated_tables, seed)
    control_runs = _split_tables(control_tables, seed)
    common = [key for key in treated_runs if key in control_runs]
    if not common:
        raise ValueError("treated and control runs share no seed")
    unmatched = set(treated_runs).symmetric_difference(control_runs)
    if unmatched:
        warnings.warn(f"seeds without a matching run are skipped: {sorted(map(str, unmatched))}",
                      stacklevel=2)
    effects, treated_levels, control_levels, first_ids = {}, [], [], None
    for key in common:
        treated, control = treated_runs[key], control_runs[key]
        _check_columns(treated, [street, step, metric])
        _check_columns(control, [street, step, metric])
        ids = _chosen_streets(treated, streets, street, pilot)
        first_ids = ids if first_ids is None else first_ids
        treated_level = _group_window_mean(treated, metric, window, ids, street, step)
        control_level = _group_window_mean(control, metric, window, ids, street, step)
        treated_levels.append(treated_level)
        control_levels.append(control_level)
        effects[key] = treated_level - control_level
    result = _summary(effects, confidence)
    result["treated_mean"] = sum(treated_levels) / len(treated_levels)
    result["control_mean"] = sum(control_levels) / len(control_levels)
    result["streets"] = first_ids
    return result
