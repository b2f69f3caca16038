"""Administrative tasks pushed down to streets and communities (工作转接和下移).

Tasks arrive at rate λ(t) = λ0·(1 + A·campaign(t)) per community-week, with λ0 = burden ×
``max_tasks_per_week`` (the theory notes D1); campaign pulses (运动式治理) last ``campaign_length``
steps every ``campaign_period`` steps. Tasks are assessed, so they are served first: the hours
left are the community's autonomy space s = max(0, T − h·n_admin) for items, deliberation and
volunteering. Market logic lets providers absorb half the outsourcing share of tasks.
"""

from __future__ import annotations

import numpy as np

__all__ = ["cadre_duties", "campaign_active", "external_pressure", "pressure_level", "push_down_tasks"]


def campaign_active(step: int, admin) -> bool:
    """Whether a campaign pulse runs at ``step`` (weeks count from 1; spin-up weeks ≤ 0 follow
    the same calendar)."""
    if admin.campaign_length <= 0:
        return False
    return (step - 1) % admin.campaign_period < admin.campaign_length


def pressure_level(step: int, cfg):
    """Share of ``evaluation.external_pressure`` in force at ``step``: 1 in campaigns,
    ``pressure_between_campaigns`` otherwise."""
    return 1.0 if campaign_active(step, cfg.admin) else cfg.evaluation.pressure_between_campaigns


def external_pressure(step: int, cfg) -> float:
    """District-wide assessment pressure A_t ∈ [0, 1] on organisations and units this week
    (per-street values: ``model.lever("evaluation.external_pressure") × pressure_level``)."""
    return cfg.evaluation.external_pressure * pressure_level(step, cfg)


def _serve(due, staff_hours, crowding_out: str):
    if crowding_out == "separate_budget":
        # Null variant: a separate budget does every task; staff time is untouched.
        return np.zeros_like(due), staff_hours.copy()
    served = np.minimum(due, staff_hours)
    return served, staff_hours - served


def push_down_tasks(model) -> None:
    """Push this week's tasks down and serve them first. Bought-in tasks (market logic) are
    billed to the street budget at half the outsourcing price."""
    cfg, rng, step = model.config, model.rng, model.steps
    a = cfg.admin
    comm, streets = model.state["communities"], model.state["streets"]
    pulse = 1.0 + a.campaign_amplitude * campaign_active(step, a)

    def rates(burden, outsourcing):
        rate_s = burden * a.max_tasks_per_week * pulse                # per community, by street
        bought_share = 0.5 * outsourcing
        # A street's own load: street_share of a community's rate per staff hour of the street
        # (sum / size: the mean, as ndarray.mean computes it).
        mean_staff_hours = comm.staff_hours.sum() / comm.staff_hours.size
        street_rate = rate_s * a.street_share * streets.staff_hours / mean_staff_hours
        bought_share_c = bought_share[comm.street]
        return (rate_s[comm.street], bought_share_c, street_rate, bought_share,
                bool(bought_share_c.any()), bool(bought_share.any()))

    rate_c, bought_share_c, street_rate, bought_share, buys_c, buys_s = model.lever_derived(
        f"push_down:{pulse}", ("admin.burden", "market.outsourcing"), rates)
    # Nothing bought where every share is 0: no binomial draw (NumPy draws nothing for p = 0,
    # so the random stream is the same) and nothing taken off (tasks − 0 = tasks, whole numbers).
    tasks_c = rng.poisson(rate_c)
    bought_c = rng.binomial(tasks_c, bought_share_c) if buys_c else None
    comm.admin_due += (tasks_c if bought_c is None else tasks_c - bought_c) * a.hours_per_task
    if step % cfg.evaluation.period == 0:  # preparing for this week's evaluation (迎检)
        comm.admin_due += cfg.evaluation.preparation_hours
    tasks_s = rng.poisson(street_rate)
    bought_s = rng.binomial(tasks_s, bought_share) if buys_s else None
    streets.admin_due += (tasks_s if bought_s is None else tasks_s - bought_s) * a.hours_per_task
    mode = cfg.submodels.crowding_out
    comm.admin_served, comm.free_hours = _serve(comm.admin_due, comm.staff_hours, mode)
    streets.admin_served, streets.free_hours = _serve(streets.admin_due, streets.staff_hours, mode)
    if mode == "separate_budget":
        comm.admin_due[:] = 0.0
        streets.admin_due[:] = 0.0
    comm.admin_due -= comm.admin_served
    streets.admin_due -= streets.admin_served
    if buys_s:  # (nothing bought: a bill of zeros would change nothing)
        S = streets.street.size
        by_street = np.bincount(comm.street, weights=bought_c, minlength=S) \
            if bought_c is not None else np.zeros(S)
        bought = by_street + bought_s
        model.bill("outsourcing", 0.5 * cfg.market.outsourcing_cost * bought)


def cadre_duties(model) -> None:
    """Street cadre hours that co-governance and motivation levers take (their cost in time):
    keeping the responsibility list current, leading-group coordination, fixed contacts with
    organisations and two-way cadre exchange with units. Taken from the street's free hours."""
    cfg, streets = model.config, model.state["streets"]
    S = streets.street.size

    def duty_hours(responsibility_list, leading_group, fixed_contact, cadre_exchange):
        # (the contact and exchange masks follow the last two levers)
        contact = np.bincount(model.two_new_street, weights=model.two_new_in_contact(),
                              minlength=S)
        exchange = np.bincount(model.unit_street, weights=model.unit_in_exchange(), minlength=S)
        return (responsibility_list * cfg.empowerment.list_hours
                + leading_group * cfg.empowerment.leading_group_hours
                + contact * cfg.incentives.contact_hours
                + exchange * cfg.incentives.exchange_hours)

    hours = model.lever_derived(
        "cadre_duties", ("empowerment.responsibility_list", "empowerment.leading_group",
                         "incentives.fixed_contact", "incentives.cadre_exchange"), duty_hours)
    taken = np.minimum(hours, streets.free_hours)
    streets.free_hours = streets.free_hours - taken
    model.ledger.resources += float(taken.sum())
    model.ledger.cadre_hours = taken
