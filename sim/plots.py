"""Matplotlib helpers shared by the comparison report, the classroom app and notebooks.

Every visible string comes from :mod:`sim.labels`; each function takes ``lang`` ("zh" or
"en") and first calls :func:`use_language`, which points matplotlib at an installed CJK font
(or falls back to English, with one warning, when none exists — never boxes).

Figures are built as :class:`matplotlib.figure.Figure` objects, not through ``pyplot``: they
need no GUI, are safe in the app's worker threads, and still display when returned as a
Jupyter cell's value. When no backend has been chosen (scripts, CI) the non-interactive
``Agg`` backend is selected at import; a backend chosen by Jupyter (``MPLBACKEND``) or by the
user is left alone.

Inputs:

* a timeseries (``RunResult.timeseries``): one row per step (weeks), one column per metric;
* a tidy table (the experiments code): one row per run with columns ``point``,
  ``replicate``, ``seed``, ``scenario``, one column per swept parameter (dotted name, e.g.
  ``admin.burden``), ``status`` ("ok"/"failed"), ``error``, then the summary metrics named as
  in ``RunResult.summary``. Rows whose ``status`` is not "ok" are ignored.

Confidence intervals are 95 % Student-t intervals of the mean over replicates (none for a
single replicate).
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .labels import (
    check_lang,
    column_label,
    has_key,
    metric_label,
    scenario_label,
    t,
    unit_label,
)
from .metrics import METRICS

__all__ = [
    "CJK_FAMILIES",
    "RESULT_PANELS",
    "find_cjk_font",
    "mean_ci",
    "mean_ci_table",
    "plot_response_curve",
    "plot_result",
    "plot_scenario_comparison",
    "plot_surface",
    "plot_timeseries",
    "save_figure",
    "use_language",
]


def _default_to_agg() -> None:
    """Select Agg only when nothing (env, Jupyter, the user) has chosen a backend."""
    if os.environ.get("MPLBACKEND") or "ipykernel" in sys.modules:
        return
    try:
        chosen = matplotlib.rcParams._get_backend_or_none()
    except AttributeError:  # an older/newer matplotlib without the helper: leave it alone
        return
    if chosen is None:
        matplotlib.use("Agg")


_default_to_agg()

# ----------------------------------------------------------------------------- fonts

#: CJK font families tried in order (simplified Chinese first).
CJK_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei", "PingFang SC",
    "Heiti SC", "Noto Sans CJK TC", "Noto Sans CJK JP", "Noto Sans CJK KR", "Noto Sans CJK HK",
    "Source Han Sans", "Noto Serif CJK SC", "AR PL UMing CN",
)
#: Lower-case fragments of CJK font file names (to find a font matplotlib's cache lacks).
_CJK_FILE_HINTS = ("notosanscjk", "notoserifcjk", "notosanssc", "sourcehansans", "wqy",
                   "simhei", "msyh", "pingfang", "uming")
_LATIN_FAMILY = "DejaVu Sans"
_INSTALL_HINT = "apt-get install fonts-noto-cjk"

_font_cache: dict[str, str | None] = {}
_warned_no_cjk = False


def _known_cjk_family() -> str | None:
    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((fam for fam in CJK_FAMILIES if fam in names), None)


def find_cjk_font() -> str | None:
    """The family name of an installed CJK font, or None.

    Looks in matplotlib's font list first; if that lacks a CJK font although a font file
    exists on the system (a stale cache), adds those files to the font manager once.
    The answer is cached for the process.
    """
    if "family" in _font_cache:
        return _font_cache["family"]
    family = _known_cjk_family()
    if family is None:
        for path in font_manager.findSystemFonts():
            if any(h in Path(path).name.lower() for h in _CJK_FILE_HINTS):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        family = _known_cjk_family()
    _font_cache["family"] = family
    return family


def use_language(lang: str = "zh") -> str:
    """Configure matplotlib's fonts for ``lang`` and return the language actually used.

    "zh" needs a CJK font: ``rcParams["font.family"]`` becomes ``["DejaVu Sans", <CJK
    family>]`` (per-character fallback: Latin from DejaVu, Chinese from the CJK font) and
    ``axes.unicode_minus`` is off. Without a CJK font, "en" is returned and one
    :class:`UserWarning` per process says what to install. "en" always works.
    """
    global _warned_no_cjk
    check_lang(lang)
    family = find_cjk_font()
    families = [_LATIN_FAMILY] + ([family] if family else [])
    matplotlib.rcParams["font.family"] = families
    matplotlib.rcParams["axes.unicode_minus"] = False
    if lang == "zh" and family is None:
        if not _warned_no_cjk:
            _warned_no_cjk = True
            warnings.warn("no CJK font found: Chinese plot labels fall back to English. "
                          f"Install one, e.g. `{_INSTALL_HINT}`.", UserWarning, stacklevel=2)
        return "en"
    return lang


# ----------------------------------------------------------------------------- helpers

_UNITS = {m.name: m.unit for m in METRICS}
_SHARE_UNITS = ("share", "index [0,1]")


def _unit_group(metric: str) -> str:
    """Panel group of a metric: shares and [0,1] indices share one panel; others by unit."""
    unit = _UNITS.get(metric, "")
    return "share" if unit in _SHARE_UNITS else unit


def _new_figure(n_panels: int, ncols: int = 3, panel_size=(4.6, 3.2)) -> tuple[Figure, list]:
    ncols = max(1, min(ncols, n_panels))
    nrows = max(1, math.ceil(n_panels / ncols))
    fig = Figure(figsize=(panel_size[0] * ncols, panel_size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, axes[:n_panels]


_WIDE_PANEL = 5  # a panel with more lines than this takes a whole row, legend on its right


def _grouped_axes(fig: Figure, n_lines: Sequence[int], ncols: int = 3,
                  panel_size=(4.6, 3.2), resize: bool = True) -> list:
    """One Axes per group: groups with many lines get a whole row, the others fill rows of
    ``ncols``; the figure is resized to fit (``panel_size`` inches per panel) if ``resize``."""
    rows: list[list[int]] = []
    for i, n in enumerate(n_lines):
        if n > _WIDE_PANEL:
            rows.append([i])
        elif rows and len(rows[-1]) < ncols and n_lines[rows[-1][0]] <= _WIDE_PANEL:
            rows[-1].append(i)
        else:
            rows.append([i])
    width = min(ncols, max((len(r) for r in rows), default=1))
    if any(n_lines[r[0]] > _WIDE_PANEL for r in rows):
        width = ncols
    if resize:
        fig.set_size_inches(panel_size[0] * width, panel_size[1] * max(len(rows), 1))
    gs = fig.add_gridspec(max(len(rows), 1), width)
    axes: list = [None] * len(n_lines)
    for r, members in enumerate(rows):
        if len(members) == 1 and n_lines[members[0]] > _WIDE_PANEL:
            axes[members[0]] = fig.add_subplot(gs[r, :])
        else:
            for c, i in enumerate(members):
                axes[i] = fig.add_subplot(gs[r, c])
    return axes


def _legend(ax) -> None:
    n = len(ax.get_legend_handles_labels()[0])
    if n > _WIDE_PANEL:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  ncols=1 + n // 12)
    elif n:
        ax.legend(fontsize="small")


def _label_of_series(name: str, lang: str) -> str:
    return metric_label(name, lang) if has_key(f"metric.{name}") else column_label(name, lang)


def _scenario_name(name, lang: str) -> str:
    return scenario_label(name, lang) if has_key(f"scenario.{name}") else str(name)


def _ok_rows(table: pd.DataFrame) -> pd.DataFrame:
    if "status" in table.columns:
        table = table[table["status"] == "ok"]
    return table


def mean_ci(values) -> tuple[float, float, int]:
    """(mean, half-width of the 95 % Student-t CI, n) of the finite ``values``; the
    half-width is NaN for fewer than two values."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    n = int(v.size)
    if n == 0:
        return float("nan"), float("nan"), 0
    mean = float(v.mean())
    if n < 2:
        return mean, float("nan"), n
    from scipy.special import stdtrit  # Student-t quantile; lighter than scipy.stats

    half = float(stdtrit(n - 1, 0.975) * v.std(ddof=1) / math.sqrt(n))
    return mean, half, n


def mean_ci_table(table: pd.DataFrame, by: str | Sequence[str], metric: str) -> pd.DataFrame:
    """Replicate mean and 95 % CI of ``metric`` per group of ``by`` (ok rows only).

    Columns: the ``by`` columns, ``mean``, ``ci_low``, ``ci_high``, ``n``; groups in order of
    first appearance.
    """
    by = [by] if isinstance(by, str) else list(by)
    rows = []
    for key, g in _ok_rows(table).groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        mean, half, n = mean_ci(g[metric])
        rows.append((*key, mean, mean - half, mean + half, n))
    return pd.DataFrame(rows, columns=[*by, "mean", "ci_low", "ci_high", "n"])


def _yerr(df: pd.DataFrame) -> np.ndarray:
    return np.nan_to_num((df["mean"] - df["ci_low"]).to_numpy(float), nan=0.0)


# ----------------------------------------------------------------------------- single runs


def plot_timeseries(timeseries: pd.DataFrame, metrics: Sequence[str] | None = None,
                    lang: str = "zh", ax=None, fig: Figure | None = None,
                    title: str | None = None) -> Figure:
    """Metrics over weeks, one panel per unit group (shares and [0,1] indices together;
    backlog in items, times in weeks, hours … each in their own panel).

    ``metrics``: metric names (default: every metric in the table). ``ax``: draw everything
    into this one Axes; ``fig``: draw the panels into this Figure (cleared first).
    """
    lang = use_language(lang)
    if metrics is None:
        metrics = [m.name for m in METRICS if m.name in timeseries.columns]
    metrics = list(metrics)
    groups: dict[str, list[str]] = {}
    for name in metrics:
        groups.setdefault(_unit_group(name), []).append(name)
    keys = list(groups)
    if ax is not None:
        fig, axes = ax.figure, [ax] * len(keys)
    else:
        resize = fig is None
        if fig is None:
            fig = Figure(layout="constrained")
        else:
            fig.clear()
        axes = _grouped_axes(fig, [len(groups[k]) for k in keys], resize=resize)
    x = timeseries.index.to_numpy()
    for panel, key in zip(axes, keys):
        for name in groups[key]:
            panel.plot(x, timeseries[name].to_numpy(float), label=_label_of_series(name, lang))
        unit = _UNITS.get(groups[key][0], "")
        panel.set_ylabel(unit_label(unit, lang))
        panel.set_xlabel(t("ui.week", lang))
        panel.xaxis.set_major_locator(MaxNLocator(integer=True))
        if ax is None:
            if key == "share":
                panel.set_title(t("ui.panel_shares", lang))
                panel.set_ylim(-0.02, 1.02)
            else:
                sep = "、" if lang == "zh" else ", "
                panel.set_title(sep.join(_label_of_series(n, lang) for n in groups[key]))
        _legend(panel)
    if title:
        fig.suptitle(title)
    return fig


#: plot_result's headline panels: (title key, metric names).
RESULT_PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ui.panel_participation",
     ("participation_units", "participation_two_new", "participation_residents")),
    ("ui.panel_return_flow", ("return_flow_rate",)),
    ("ui.panel_closure", ("closure_rate", "resolution_rate")),
    ("ui.panel_satisfaction", ("satisfaction", "trust")),
    ("ui.panel_effort", ("form_effort_share",)),
    ("ui.panel_backlog", ("backlog",)),
)


def plot_result(result, lang: str = "zh", fig: Figure | None = None) -> Figure:
    """Headline panels of one :class:`sim.RunResult`: participation of units, two-new
    organisations and residents; return flow; closure vs resolution; satisfaction and trust;
    form vs substance effort (substance = 1 − form share); backlog. X axis in weeks."""
    lang = use_language(lang)
    ts = result.timeseries
    if fig is None:
        fig, axes = _new_figure(len(RESULT_PANELS))
    else:
        fig.clear()
        axes = fig.subplots(2, 3, squeeze=False).ravel().tolist()
    x = ts.index.to_numpy()
    for ax, (title_key, names) in zip(axes, RESULT_PANELS):
        for name in names:
            if name in ts.columns:
                ax.plot(x, ts[name].to_numpy(float), label=metric_label(name, lang))
        if title_key == "ui.panel_effort" and "form_effort_share" in ts.columns:
            ax.plot(x, 1.0 - ts["form_effort_share"].to_numpy(float),
                    label=t("ui.substance_effort_share", lang))
        ax.set_title(t(title_key, lang))
        ax.set_xlabel(t("ui.week", lang))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(unit_label(_UNITS[names[0]], lang))
        if _unit_group(names[0]) == "share":
            ax.set_ylim(-0.02, 1.02)
        _legend(ax)
    cfg = getattr(result, "config", None)
    if cfg is not None:
        fig.suptitle(t("ui.result_title", lang, scenario=_scenario_name(cfg.name, lang),
                       seed=cfg.seed))
    return fig


# ----------------------------------------------------------------------------- experiments


def _axes(ax, size=(6.4, 4.0)):
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def plot_scenario_comparison(table: pd.DataFrame, metric: str, lang: str = "zh",
                             reference: str | None = None, ax=None,
                             order: Sequence[str] | None = None) -> Figure:
    """Replicate mean of ``metric`` per scenario with 95 % CI error bars (horizontal bars,
    scenario names readable in Chinese). ``reference``: a scenario drawn in grey and marked by
    a dashed line at its mean. ``order``: scenario order (default: reference first, then the
    table's order)."""
    lang = use_language(lang)
    stats = mean_ci_table(table, "scenario", metric).set_index("scenario")
    names = list(order) if order is not None else list(stats.index)
    if order is None and reference in names:
        names.remove(reference)
        names.insert(0, reference)
    stats = stats.loc[[n for n in names if n in stats.index]]
    fig, ax = _axes(ax, size=(6.4, 0.9 + 0.45 * max(len(stats), 1)))
    y = np.arange(len(stats))[::-1]
    colours = ["0.6" if s == reference else "C0" for s in stats.index]
    ax.barh(y, stats["mean"].to_numpy(float), xerr=_yerr(stats), color=colours,
            capsize=3, error_kw={"elinewidth": 1})
    ax.set_yticks(y, [_scenario_name(s, lang) for s in stats.index])
    if reference in stats.index:
        ax.axvline(float(stats.loc[reference, "mean"]), color="0.3", ls="--", lw=1)
    ax.set_xlabel(f"{column_label(metric, lang)} — {t('ui.mean_ci95', lang)}")
    ax.set_title(column_label(metric, lang))
    return fig


def plot_response_curve(table: pd.DataFrame, x: str, metric: str, lang: str = "zh",
                        ax=None, by: str | None = "scenario") -> Figure:
    """Replicate mean ± 95 % CI of ``metric`` against the swept parameter ``x`` (a dotted
    column, e.g. ``admin.burden``); one line per value of ``by`` when it has several."""
    lang = use_language(lang)
    fig, ax = _axes(ax)
    table = _ok_rows(table)
    split = by is not None and by in table.columns and table[by].nunique() > 1
    groups = table.groupby(by, sort=False) if split else [(None, table)]
    for key, g in groups:
        stats = mean_ci_table(g, x, metric).sort_values(x)
        xs, m = stats[x].to_numpy(float), stats["mean"].to_numpy(float)
        label = _scenario_name(key, lang) if split and by == "scenario" else \
            (str(key) if split else None)
        line, = ax.plot(xs, m, marker="o", label=label)
        ax.fill_between(xs, stats["ci_low"].to_numpy(float), stats["ci_high"].to_numpy(float),
                        color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xlabel(column_label(x, lang))
    ax.set_ylabel(column_label(metric, lang))
    ax.set_title(f"{column_label(metric, lang)} — {t('ui.mean_ci95', lang)}")
    if split:
        ax.legend(fontsize="small")
    return fig


def plot_surface(table: pd.DataFrame, x: str, y: str, metric: str, lang: str = "zh",
                 ax=None, annotate: bool | None = None) -> Figure:
    """Heatmap of the replicate mean of ``metric`` over two swept parameters ``x`` and ``y``
    (cells annotated with their value when the grid is at most 10 × 10)."""
    lang = use_language(lang)
    stats = mean_ci_table(table, [y, x], metric)
    grid = stats.pivot(index=y, columns=x, values="mean").sort_index().sort_index(axis=1)
    fig, ax = _axes(ax, size=(6.4, 5.0))
    im = ax.imshow(grid.to_numpy(float), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(grid.shape[1]), [f"{v:g}" for v in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [f"{v:g}" for v in grid.index])
    ax.set_xlabel(column_label(x, lang))
    ax.set_ylabel(column_label(y, lang))
    ax.set_title(f"{column_label(metric, lang)}（{t('ui.mean', lang)}）" if lang == "zh"
                 else f"{column_label(metric, lang)} ({t('ui.mean', lang)})")
    fig.colorbar(im, ax=ax, label=column_label(metric, lang))
    if annotate is None:
        annotate = grid.shape[0] <= 10 and grid.shape[1] <= 10
    if annotate:
        vals = grid.to_numpy(float)
        finite = vals[np.isfinite(vals)]
        mid = (finite.min() + finite.max()) / 2 if finite.size else 0.0
        for i in range(vals.shape[0]):
            for j in range(vals.shape[1]):
                if np.isfinite(vals[i, j]):
                    ax.text(j, i, f"{vals[i, j]:.2f}", ha="center", va="center",
                            fontsize="small", color="black" if vals[i, j] > mid else "white")
    return fig


# ----------------------------------------------------------------------------- output


def save_figure(fig: Figure, path_without_suffix: str | Path, dpi: int = 150) -> list[Path]:
    """Write ``<path>.png`` (``dpi``) and ``<path>.svg``; return both paths."""
    base = Path(path_without_suffix)
    base.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for suffix in (".png", ".svg"):
        path = base.with_name(base.name + suffix)
        fig.savefig(path, dpi=dpi if suffix == ".png" else None)
        out.append(path)
    return out
