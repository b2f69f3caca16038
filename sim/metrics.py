"""Metrics: one table (name, unit, zh/en label, formula) and one reporter function each.

Collected by Mesa's ``DataCollector`` at t = 0 and after every step. Event rates use the items
*closed* in a trailing window of ``metrics.window`` steps (exact sums kept by
:class:`sim.ledger.ClosureHistory`). A rate with an empty denominator is 0.0, never NaN.
``docs/metrics.md`` is generated from :data:`METRICS` (``python -m sim.docs``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["METRICS", "METRIC_NAMES", "Metric", "model_reporters", "ratio", "summarise"]


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    zh: str
    en: str
    formula: str


METRICS: tuple[Metric, ...] = (
    Metric("participation_two_new", "share", "两新组织参与率", "Two-new participation",
           "share of two-new organisations taking part this week"),
    Metric("participation_units", "share", "驻区单位参与率", "Unit participation",
           "share of resident units taking part this week"),
    Metric("participation_residents", "share", "居民参与率", "Resident participation",
           "share of residents volunteering or joining deliberation this week"),
    Metric("return_flow_rate", "share", "事项回流率", "Item return-flow rate",
           "of items closed in the window that were ever assigned to units/organisations, the "
           "share that flowed back at least once"),
    Metric("handoffs_per_item", "hand-offs/item", "每件事项转手次数", "Hand-offs per item",
           "mean hand-offs of items closed in the window"),
    Metric("resolution_rate", "share", "办结率", "Resolution rate",
           "resolved / (resolved + expired) among items closed in the window"),
    Metric("mean_resolution_time", "steps", "平均办结时长", "Mean resolution time",
           "mean of (closed − created) over items resolved in the window"),
    Metric("backlog", "items", "积压事项", "Backlog", "items open at the end of the step"),
    Metric("satisfaction", "index [0,1]", "居民满意度", "Resident satisfaction",
           "mean satisfaction of residents"),
    Metric("trust", "index [0,1]", "居民信任", "Resident trust", "mean trust of residents"),
    Metric("admin_load_share", "share", "社区行政负担占比", "Administrative load share",
           "mean over communities of administrative hours served / staff hours (capped at 1)"),
    Metric("autonomy_space", "share", "社区自治空间", "Autonomy space",
           "mean over communities of hours left after administrative tasks / staff hours"),
    Metric("form_effort_share", "share", "形式努力占比", "Form effort share",
           "mean over streets and communities of t_F / (t_F + t_S)"),
    Metric("evaluation_gap", "index [-1,1]", "考核得分与满意度差距", "Evaluation gap",
           "mean over communities of (evaluation score now − mean satisfaction of its "
           "residents); positive = the score overstates"),
    Metric("cost_per_resolved_item", "hour-equivalents/item", "每件办结成本",
           "Cost per resolved item",
           "resources spent in the window (staff hours on items and form, assignees' hours, "
           "outsourcing) / items resolved in the window"),
)

METRIC_NAMES = tuple(m.name for m in METRICS)


def ratio(num: float, den: float) -> float:
    """num/den, or 0.0 when the denominator is empty."""
    return float(num / den) if den > 0 else 0.0


def _mean(a) -> float:
    return float(a.mean()) if a.size else 0.0


def _window(model, field):
    return model.closures.window(field, model.steps, model.config.metrics.window)


def participation_two_new(model):
    return _mean(model.state["two_new"].participating)


def participation_units(model):
    return _mean(model.state["units"].participating)


def participation_residents(model):
    return _mean(model.state["residents"].participating)


def return_flow_rate(model):
    return ratio(_window(model, "assigned_returned"), _window(model, "assigned"))


def handoffs_per_item(model):
    return ratio(_window(model, "handoffs"), _window(model, "closed"))


def resolution_rate(model):
    return ratio(_window(model, "resolved"), _window(model, "closed"))


def mean_resolution_time(model):
    return ratio(_window(model, "resolution_time"), _window(model, "resolved"))


def backlog(model):
    return float(model.items.n_open)


def satisfaction(model):
    return _mean(model.state["residents"].satisfaction)


def trust(model):
    return _mean(model.state["residents"].trust)


def admin_load_share(model):
    c = model.state["communities"]
    return _mean(np.minimum(c.admin_served / c.staff_hours, 1.0))


def autonomy_space(model):
    c = model.state["communities"]
    return _mean(c.free_hours / c.staff_hours)


def form_effort_share(model):
    shares = []
    for key in ("streets", "communities"):
        g = model.state[key]
        total = g.t_form + g.t_substance
        shares.append(np.divide(g.t_form, total, out=np.zeros_like(total), where=total > 0))
    return _mean(np.concatenate(shares))


def evaluation_gap(model):
    from .institutions.evaluation import evaluation_score

    sat = model.satisfaction_by_community()
    score = evaluation_score(model.state["communities"].form_output, sat, model.config.evaluation)
    return _mean(score - sat)


def cost_per_resolved_item(model):
    return ratio(_window(model, "resources"), _window(model, "resolved"))


def model_reporters() -> dict:
    """Reporter functions for Mesa's DataCollector, keyed by metric name."""
    g = globals()
    return {name: g[name] for name in METRIC_NAMES}


def summarise(timeseries, burn_in: int, counts: dict | None = None) -> dict[str, float]:
    """Per-run summary: mean over steps 1..T and final value of each metric, plus
    ``participation_volatility`` (coefficient of variation of ``participation_two_new``
    over the steps after ``burn_in``; all steps 1..T if the run is shorter)."""
    body = timeseries.iloc[1:] if len(timeseries) > 1 else timeseries
    out: dict[str, float] = {}
    for name in METRIC_NAMES:
        col = body[name].to_numpy(float)
        out[name] = float(col.mean()) if col.size else 0.0
        out[f"{name}_final"] = float(timeseries[name].iloc[-1])
    p = timeseries["participation_two_new"].to_numpy(float)
    after = p[burn_in + 1:] if burn_in + 1 < p.size else p[1:]
    out["participation_volatility"] = ratio(float(after.std()), float(after.mean())) if after.size else 0.0
    if counts:
        out.update({k: float(v) for k, v in counts.items()})
    return out
