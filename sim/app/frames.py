"""The page's two pictures as PNG bytes: the live charts and the district view.

Both are drawn from a :class:`sim.app.session.Session`. A run at week 0 with the scenario's own
lever values is the same picture for every tab (scenario, seed and population fix it), so
those frames are cached: a new tab, and the first visitor after the server's warm-up, get
their first paint without drawing.
"""

from __future__ import annotations

import threading

import matplotlib

from ..labels import scenario_label, t
from ..plots import use_language
from .charts import charts_figure, figure_png, plot_context
from .district import district_figure, district_layout

__all__ = ["chart_title", "charts_png", "district_png", "layout_of"]

_WEEK0: dict[tuple, bytes] = {}
_WEEK0_MAX = 64
_LOCK = threading.Lock()


def _pristine(session) -> bool:
    return session.week == 0 and not session.changes and session.values == session.scenario_values


def _cached(kind: str, session, lang: str, projector: bool, draw) -> bytes:
    if not _pristine(session):
        return draw()
    key = (kind, session.scenario, session.seed, session.population, lang, projector)
    with _LOCK:
        png = _WEEK0.get(key)
    if png is None:
        png = draw()
        with _LOCK:
            if len(_WEEK0) >= _WEEK0_MAX:
                _WEEK0.pop(next(iter(_WEEK0)))
            _WEEK0[key] = png
    return png


def chart_title(session, lang: str) -> str:
    return t("ui.app_chart_title", lang, scenario=scenario_label(session.scenario, lang),
             seed=session.seed, week=t("ui.week_n", lang, n=session.week))


def charts_png(session, lang: str, projector: bool = False) -> bytes:
    """The live charts of the session's run so far."""
    def draw():
        fig = charts_figure(session.timeseries(), lang, projector, session.changes,
                            title=chart_title(session, lang), total_weeks=session.total_weeks)
        return figure_png(fig)

    return _cached("charts", session, lang, projector, draw)


def layout_of(session):
    """The district layout of the session's model (computed once per build)."""
    with session.lock:
        cached = getattr(session, "_layout", None)
        if cached is None or cached[0] != session.generation:
            session._layout = (session.generation, district_layout(session.model))
        return session._layout[1]


def district_png(session, lang: str, projector: bool = False, hops=None) -> bytes:
    """The district view this week, with an item's path (``hops``) drawn as arrows."""
    def draw():
        lang_used = use_language(lang)
        with matplotlib.rc_context(plot_context(projector)), session.lock:
            fig = district_figure(session.model, layout_of(session), lang_used, projector, hops)
        return figure_png(fig)

    if hops:
        return draw()
    return _cached("district", session, lang, projector, draw)
