"""The live charts of the classroom app (matplotlib, labels from :mod:`sim.labels`).

Six panels over the weeks run so far: participation (units, two-new organisations,
residents), return flow, closure vs resolution, satisfaction and trust, form vs substance
effort, backlog. Weeks in which a lever was moved are marked with a dashed line. Figures are
plain :class:`matplotlib.figure.Figure` objects (thread-safe, no pyplot), rendered to PNG
for the page and for the export button.
"""

from __future__ import annotations

import io

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ..labels import metric_label, t, unit_label
from ..plots import use_language

__all__ = ["PANELS", "charts_figure", "figure_png", "plot_context", "style"]

#: (title key, metrics) of each panel; "substance_effort_share" is 1 − form_effort_share.
PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ui.panel_participation", ("participation_units", "participation_two_new",
                                "participation_residents")),
    ("ui.panel_return_flow", ("return_flow_rate", "repeat_complaint_rate")),
    ("ui.panel_closure", ("closure_rate", "resolution_rate")),
    ("ui.panel_satisfaction", ("satisfaction", "trust")),
    ("ui.panel_effort", ("form_effort_share", "substance_effort_share")),
    ("ui.panel_backlog", ("backlog",)),
)

_COLOURS = ("#1b65a6", "#e0701b", "#2a9d3c", "#c0392b")


def plot_context(projector: bool) -> dict:
    """rcParams for normal or projector mode (large type, thick lines, high contrast).

    Under Solara's server rcParams are scoped per tab and may not reach a figure drawn in a
    worker thread, so :func:`charts_figure` and :func:`sim.app.district.district_figure` also
    pass the sizes of :func:`style` explicitly; this context is for anything else."""
    st = style(projector)
    return {"font.size": st["font"], "axes.titlesize": st["title"], "axes.labelsize": st["font"],
            "legend.fontsize": st["legend"], "xtick.labelsize": st["tick"],
            "ytick.labelsize": st["tick"], "lines.linewidth": st["line"],
            "axes.linewidth": st["frame"], "text.color": "black", "axes.labelcolor": "black",
            "xtick.color": "black", "ytick.color": "black", "axes.edgecolor": "black"}


def style(projector: bool) -> dict:
    """Explicit sizes (points) of the app's figures, normal or projector."""
    if projector:
        return {"font": 15, "title": 17, "legend": 13, "tick": 13, "line": 3.2, "frame": 1.6,
                "dot": 7.0, "suptitle": 18}
    return {"font": 10, "title": 11, "legend": 9, "tick": 9, "line": 1.8, "frame": 0.8,
            "dot": 4.5, "suptitle": 12}


def _series(ts, name):
    if name == "substance_effort_share":
        return 1.0 - ts["form_effort_share"].to_numpy(float)
    return ts[name].to_numpy(float)


def _label(name, lang):
    if name == "substance_effort_share":
        return t("ui.substance_effort_share", lang)
    return metric_label(name, lang)


def charts_figure(ts, lang: str, projector: bool = False, changes=(), title: str | None = None,
                  total_weeks: int | None = None, ncols: int = 3) -> Figure:
    """The live charts of a timeseries (weeks 0..now) in ``lang``."""
    lang = use_language(lang)
    st = style(projector)
    with matplotlib.rc_context(plot_context(projector)):
        nrows = -(-len(PANELS) // ncols)
        size = (4.6 * ncols, 3.3 * nrows) if projector else (4.4 * ncols, 3.0 * nrows)
        fig = Figure(figsize=size, layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        x = ts.index.to_numpy()
        for ax, (key, names) in zip(axes, PANELS):
            for colour, name in zip(_COLOURS, names):
                y = _series(ts, name) if len(ts) else np.zeros(0)
                ax.plot(x, y, color=colour, lw=st["line"], label=_label(name, lang))
                if x.size:  # this week's value as a dot (visible from week 0 on)
                    ax.plot(x[-1:], y[-1:], "o", color=colour, markersize=st["dot"])
            ax.set_title(t(key, lang), fontsize=st["title"])
            if names != ("backlog",):
                ax.set_ylim(-0.02, 1.02)
                ax.set_yticks([0.0, 0.25, 0.5, 0.75, 1.0])  # fixed ticks: cheaper to draw
            else:
                ax.set_ylabel(unit_label("items", lang), fontsize=st["font"])
                ax.set_ylim(bottom=0)
            last = max(total_weeks or 0, int(x.max()) if x.size else 1, 1)
            ax.set_xlim(0, last)
            ax.set_xticks(np.unique(np.linspace(0, last, 5).round().astype(int)))
            ax.set_xlabel(t("ui.week", lang), fontsize=st["font"])
            ax.tick_params(labelsize=st["tick"], width=st["frame"], colors="black")
            for spine in ax.spines.values():
                spine.set_linewidth(st["frame"])
            ax.grid(alpha=0.35)
            for ch in changes:
                ax.axvline(ch.week - 0.5, color="#555555", ls="--", lw=st["frame"] * 1.5, zorder=0)
            if len(names) > 1:
                ax.legend(loc="best", frameon=False, fontsize=st["legend"])
        for ax in axes[len(PANELS):]:
            ax.set_visible(False)
        if title:
            fig.suptitle(title, fontsize=st["suptitle"])
        return fig


def figure_png(fig: Figure, dpi: int = 96) -> bytes:
    """PNG bytes of a figure."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()
