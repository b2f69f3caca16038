"""Metrics: one table (name, unit, zh/en label, formula) and one reporter function each.

Collected by Mesa's ``DataCollector`` at t = 0 and after every step. Event rates use the items
that *ended* (closed or expired) in a trailing window of ``metrics.window`` steps (exact sums
kept by :class:`sim.ledger.ClosureHistory`). Missing-rate rule: a rate whose denominator is
empty is missing (NaN) in the per-step series, with its denominator beside it as
``<rate>_n``; the t = 0 row's rates are missing; a summary rate is *pooled* (Σ numerators /
Σ denominators over weeks 1..T), NaN when nothing was counted. ``docs/metrics.md`` is
generated from :data:`METRICS` (``python -m sim.docs``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["METRICS", "METRIC_NAMES", "RATE_METRICS", "SHARE_METRICS", "Metric", "StreetLog",
           "model_reporters", "participation_amplitude", "ratio", "summarise"]


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    zh: str
    en: str
    formula: str
    num: str = ""   # for rates: ClosureHistory field of the numerator
    den: tuple = ()  # for rates: ClosureHistory field(s) summed into the denominator

    @property
    def is_rate(self) -> bool:
        return bool(self.num)


_ENDED = ("closed", "expired")

METRICS: tuple[Metric, ...] = (
    Metric("participation_two_new", "share", "两新组织参与率", "Two-new participation",
           "share of two-new organisations taking part this week"),
    Metric("participation_units", "share", "驻区单位参与率", "Unit participation",
           "share of resident units taking part this week"),
    Metric("participation_residents", "share", "居民参与率", "Resident participation",
           "share of residents volunteering or joining deliberation this week"),
    Metric("return_flow_rate", "share", "事项回流率", "Item return-flow rate",
           "of items ended in the window that were ever assigned to units/organisations, the "
           "share that flowed back at least once", "assigned_returned", ("assigned",)),
    Metric("handoffs_per_item", "hand-offs/item", "每件事项转手次数", "Hand-offs per item",
           "mean hand-offs of items ended in the window", "handoffs", _ENDED),
    Metric("closure_rate", "share", "办结率", "Closure rate",
           "closed / (closed + expired) among items ended in the window (办结: closed on the "
           "record, solved or not)", "closed", _ENDED),
    Metric("resolution_rate", "share", "解决率", "Resolution rate",
           "solved / (closed + expired) among items ended in the window (解决: actually solved)",
           "solved", _ENDED),
    Metric("response_rate", "share", "响应率", "Response rate",
           "share of items whose response deadline (items.response_deadline) fell in the window "
           "that were acted on in time", "response_met", ("response_due",)),
    Metric("repeat_complaint_rate", "share", "重复诉求率", "Repeat-complaint rate",
           "share of items raised in the window that repeat an item closed unsolved",
           "repeats", ("created",)),
    Metric("mean_closure_time", "steps", "平均办结时长", "Mean closure time",
           "mean of (closed − created) over items closed in the window", "closure_time",
           ("closed",)),
    Metric("backlog", "items", "积压事项", "Backlog", "items open at the end of the step"),
    Metric("satisfaction", "index [0,1]", "居民满意度", "Resident satisfaction",
           "mean satisfaction of residents"),
    Metric("trust", "index [0,1]", "居民信任", "Resident trust", "mean trust of residents"),
    Metric("admin_load_share", "share", "社区行政负担占比", "Administrative load share",
           "mean over communities of administrative hours served / staff hours (capped at 1)"),
    Metric("autonomy_space", "share", "社区自治空间", "Autonomy space",
           "mean over communities of hours left after administrative tasks / staff hours"),
    Metric("form_effort_share", "share", "形式努力占比", "Form effort share",
           "mean over streets and communities that worked of form hours / (form + substance "
           "hours) this week"),
    Metric("staff_motivation", "utility", "工作人员内在动机", "Staff intrinsic motivation",
           "mean intrinsic motivation ι of community staff"),
    Metric("staff_turnover", "1/year", "工作人员年流失率", "Staff turnover",
           "community staff who left this week / staff, × 52"),
    Metric("evaluation_gap", "index [-1,1]", "考核偏差", "Evaluation gap",
           "mean over communities of (latest evaluation score − true performance P of that "
           "period, the share of its items solved); positive = the score overstates"),
    Metric("score_satisfaction_gap", "index [-1,1]", "考核得分与满意度差距",
           "Score–satisfaction gap",
           "mean over communities of (latest evaluation score − mean satisfaction of its residents)"),
    Metric("budget_spent", "hour-equivalents/street-week", "街道经费支出", "Budget spent",
           "mean over streets of remedy spending this week (never above budget.street_budget)"),
    Metric("cost_per_solved_item", "hour-equivalents/item", "每件解决成本", "Cost per solved item",
           "resources spent in the window (staff hours on items, form and cadre duties, "
           "assignees' hours, budget spending) / items solved in the window", "resources",
           ("solved",)),
)

METRIC_NAMES = tuple(m.name for m in METRICS)
RATE_METRICS = tuple(m.name for m in METRICS if m.is_rate)
SHARE_METRICS = tuple(m.name for m in METRICS if m.unit == "share" or m.unit.startswith("index"))
_BY_NAME = {m.name: m for m in METRICS}


def ratio(num: float, den: float) -> float:
    """num/den, or NaN when the denominator is empty (the missing-rate rule)."""
    return float(num / den) if den > 0 else float("nan")


def _mean(a) -> float:
    # a.sum() / a.size is what ndarray.mean computes (the same reduction, then one division;
    # bools sum exactly), without mean's Python-level overhead.
    return float(a.sum() / a.size) if a.size else float("nan")


def _windows(model) -> dict[str, float]:
    """Every ClosureHistory field summed over the metric window ending this step."""
    return model.history.window_sums(model.steps, model.config.metrics.window)


def _rate_reporters():
    out = {}
    for m in METRICS:
        if not m.is_rate:
            continue

        def den(model, fields=m.den):
            w = _windows(model)
            return sum(w[f] for f in fields)

        def rate(model, num=m.num, fields=m.den):
            w = _windows(model)
            return ratio(w[num], sum(w[f] for f in fields))

        out[m.name] = rate
        out[m.name + "_n"] = den
    return out


def participation_two_new(model):
    return _mean(model.state["two_new"].participating)


def participation_units(model):
    return _mean(model.state["units"].participating)


def participation_residents(model):
    return _mean(model.state["residents"].participating)


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
    s, c = model.state["streets"], model.state["communities"]
    form = np.concatenate((s.form_hours, c.form_hours))  # streets, then communities
    worked = form + np.concatenate((s.substance_hours, c.substance_hours))
    pos = worked > 0
    return _mean(form[pos] / worked[pos])


def staff_motivation(model):
    return _mean(model.state["communities"].intrinsic)


def staff_turnover(model):
    c = model.state["communities"]
    return float(52.0 * c.leavers.sum() / c.n_staff.sum())


def evaluation_gap(model):
    c = model.state["communities"]
    known = ~np.isnan(c.true_performance)
    return _mean((c.score - c.true_performance)[known])


def score_satisfaction_gap(model):
    return _mean(model.state["communities"].score - model.satisfaction_by_community())


def budget_spent(model):
    return float(model.ledger.budget_spent / model.layout.n_streets)


def model_reporters() -> dict:
    """Reporter functions for Mesa's DataCollector: each metric, and ``<rate>_n`` beside each
    rate."""
    g = globals()
    rates = _rate_reporters()
    out = {}
    for name in METRIC_NAMES:
        out[name] = rates[name] if name in rates else g[name]
        if name + "_n" in rates:
            out[name + "_n"] = rates[name + "_n"]
    return out


def participation_amplitude(model) -> float:
    """Campaign-locked amplitude of two-new participation: per organisation, its share of
    campaign weeks taking part minus its share of other weeks, averaged over organisations
    (weeks 1..T; NaN without both kinds of week or without organisations)."""
    st = model.state["two_new"]
    if st.cost.size == 0 or (st.weeks_seen == 0).any():
        return float("nan")
    share = st.weeks_in / st.weeks_seen
    return float((share[:, 1] - share[:, 0]).mean())


def summarise(model) -> dict[str, float]:
    """Per-run summary over weeks 1..T.

    Shares and levels: mean over steps 1..T and ``_final`` (step T). Rates: pooled over weeks
    1..T (Σ numerators / Σ denominators), with ``<rate>_n`` the pooled denominator and
    ``<rate>_final`` the windowed value at T. Also ``participation_amplitude`` and item counts.
    """
    ts = model.timeseries()
    body = ts.loc[ts.index >= 1]
    T = int(body.index.max()) if len(body) else 0
    out: dict[str, float] = {}
    h = model.history
    for m in METRICS:
        if m.is_rate:
            den = sum(h.total(f, 1, T) for f in m.den)
            out[m.name] = ratio(h.total(m.num, 1, T), den)
            out[m.name + "_n"] = float(den)
        else:
            col = body[m.name].to_numpy(float)
            out[m.name] = float(np.nanmean(col)) if np.isfinite(col).any() else float("nan")
        out[f"{m.name}_final"] = float(ts[m.name].iloc[-1])
    out["participation_amplitude"] = participation_amplitude(model)
    out.update({k: float(v) for k, v in model.item_counts().items()})
    return out


class StreetLog:
    """Street × step records of the headline metrics (``RunResult.by_street``)."""

    RATES = (("closure_rate", "closed"), ("resolution_rate", "solved"),
             ("return_flow_rate", "returned"))

    #: What is counted for each street and week (rows of the count arrays).
    KINDS = ("closed", "solved", "expired", "assigned", "returned")
    #: Weeks of rows joined into one block of arrays (keeps memory per week flat in long runs).
    BLOCK = 52

    def __init__(self, n_streets: int):
        self.S = n_streets
        # (kinds, S) counts of the weeks in the trailing window, oldest first, and their sum
        # (whole numbers: adding the new week and taking off the week that leaves is exact).
        self.weeks: list[np.ndarray] = []
        self._now = np.zeros((len(self.KINDS), n_streets))
        self._window_sum = np.zeros((len(self.KINDS), n_streets))
        self._window = None
        self._structure = None  # per-street counts that do not change (first collection)
        self.rows: list[dict[str, np.ndarray]] = []  # the rows of the weeks since the last block
        self._blocks: list[dict[str, np.ndarray]] = []  # earlier rows, BLOCK weeks at a time

    def add_counts(self, counts: np.ndarray) -> None:
        """Add (kinds, S) whole counts of items that ended this step (rows as in ``KINDS``)."""
        self._now += counts

    def close_week(self, window: int) -> None:
        """Move this week's counts into the trailing window (called every week, spin-up too)."""
        if window != self._window:  # (first week, or a new window width): sum afresh
            self._window = window
            del self.weeks[:-window]
            self._window_sum = sum(self.weeks, np.zeros_like(self._now))
        self.weeks.append(self._now)
        self._window_sum += self._now
        if len(self.weeks) > window:
            self._window_sum -= self.weeks.pop(0)
        self._now = np.zeros_like(self._now)

    def _window_counts(self, w: int) -> np.ndarray:
        """(kinds, S) counts summed over the last ``w`` weeks, by street (a new array)."""
        if w == self._window:
            return self._window_sum.copy()
        if self.weeks:
            return np.sum(self.weeks[-w:], axis=0)
        return np.zeros_like(self._now)

    def _street_structure(self, model) -> dict[str, np.ndarray]:
        """Street of each resident and member counts by street (fixed once the model is built);
        ``<kind>_all`` is the count when every street has members, else None."""
        if self._structure is None:
            S = self.S
            comm, res = model.state["communities"], model.state["residents"]
            resident_street = comm.street[res.community]
            fixed = {
                "resident_street": resident_street,
                "residents": np.bincount(resident_street, minlength=S),
                "two_new": np.bincount(model.two_new_street, minlength=S),
                "units": np.bincount(model.unit_street, minlength=S),
            }
            for k in ("residents", "two_new", "units"):
                fixed[k + "_all"] = fixed[k] if fixed[k].all() else None
            self._structure = fixed
        return self._structure

    def collect(self, model) -> None:
        closed, solved, expired, assigned, returned = self._window_counts(
            model.config.metrics.window)
        ended = closed + expired
        S = self.S
        state = model.state
        comm, streets = state["communities"], state["streets"]
        per_comm_street = comm.street
        fixed = self._street_structure(model)

        def by_street(values, index_street, n, n_all=None):
            """Mean of ``values`` by street: sum / n (NaN where n = 0)."""
            tot = np.bincount(index_street, weights=values, minlength=S)
            if n_all is not None:  # every n > 0: the plain quotient
                return tot / n_all
            return np.divide(tot, n, out=np.full(S, np.nan), where=n > 0)

        with np.errstate(invalid="ignore", divide="ignore"):
            row = {
                "step": np.full(S, model.steps), "street": np.arange(S),
                # (bincount weighs with the 0/1 participation as floats)
                "participation_two_new": by_street(state["two_new"].participating,
                                                   model.two_new_street, fixed["two_new"],
                                                   fixed["two_new_all"]),
                "participation_units": by_street(state["units"].participating,
                                                 model.unit_street, fixed["units"],
                                                 fixed["units_all"]),
                "participation_residents": by_street(comm.participation * comm.n_residents,
                                                     per_comm_street,
                                                     np.bincount(per_comm_street, comm.n_residents, S)),
                "satisfaction": by_street(state["residents"].satisfaction,
                                          fixed["resident_street"], fixed["residents"],
                                          fixed["residents_all"]),
                "form_effort_share": streets.form_hours
                / np.maximum(streets.form_hours + streets.substance_hours, 1e-9),
                "budget_spent": getattr(model.ledger, "budget_by_street", np.zeros(S)),
                "ended_n": ended,
                "return_flow_rate_n": assigned,
            }
            if model.steps == 0:  # no rates at t = 0
                row["closure_rate"] = np.full(S, np.nan)
                row["resolution_rate"] = np.full(S, np.nan)
                row["return_flow_rate"] = np.full(S, np.nan)
            else:
                some, at_least_1 = ended > 0, np.maximum(ended, 1)
                row["closure_rate"] = np.where(some, closed / at_least_1, np.nan)
                row["resolution_rate"] = np.where(some, solved / at_least_1, np.nan)
                row["return_flow_rate"] = np.where(assigned > 0,
                                                   returned / np.maximum(assigned, 1), np.nan)
        self.rows.append(row)
        if len(self.rows) >= self.BLOCK:
            self._blocks.append(_join(self.rows))
            self.rows = []

    def frame(self) -> pd.DataFrame:
        chunks = self._blocks + self.rows
        if not chunks:
            return pd.DataFrame()
        return pd.DataFrame(_join(chunks))


def _join(rows: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Rows (dicts of arrays with the same keys) joined column by column."""
    return {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
