"""Administrative tasks pushed down to streets and communities (工作转接和下移).

Tasks arrive at rate λ(t) = λ0·(1 + A·campaign(t)) per community-week, with λ0 = burden ×
``max_tasks_per_week`` (THEORY.md D1); campaign pulses (运动式治理) last ``campaign_length``
steps every ``campaign_period`` steps. Tasks are assessed, so they are served first: the hours
left are the community's autonomy space s = max(0, T − h·n_admin) for items, deliberation and
volunteering. Market logic lets providers absorb half the outsourcing share of tasks.
"""

from __future__ import annotations

import numpy as np

__all__ = ["campaign_active", "external_pressure", "push_down_tasks"]


def campaign_active(step: int, admin) -> bool:
    """Whether a campaign pulse runs at ``step`` (steps count from 1)."""
    if admin.campaign_length <= 0 or step < 1:
        return False
    return (step - 1) % admin.campaign_period < admin.campaign_length


def external_pressure(step: int, cfg) -> float:
    """Assessment pressure A_t ∈ [0, 1] on organisations and units this week.

    Full ``evaluation.external_pressure`` during campaign pulses, a share
    ``pressure_between_campaigns`` of it otherwise: pressure comes and goes with campaigns.
    """
    ev = cfg.evaluation
    if campaign_active(step, cfg.admin):
        return ev.external_pressure
    return ev.external_pressure * ev.pressure_between_campaigns


def _serve(due, staff_hours, crowding_out: str):
    if crowding_out == "separate_budget":
        # Null variant: a separate budget does every task; staff time is untouched.
        return np.zeros_like(due), staff_hours.copy()
    served = np.minimum(due, staff_hours)
    return served, staff_hours - served


def push_down_tasks(model) -> float:
    """Push this week's tasks down; serve them first. Returns resources spent on outsourcing."""
    cfg, rng, step = model.config, model.rng, model.steps
    a = cfg.admin
    comm, streets = model.state["communities"], model.state["streets"]
    rate = a.burden * a.max_tasks_per_week * (1.0 + a.campaign_amplitude * campaign_active(step, a))
    outsourced_share = 0.5 * cfg.market.outsourcing
    tasks_c = rng.poisson(rate, comm.staff_hours.size)
    bought_c = rng.binomial(tasks_c, outsourced_share)
    comm.admin_due += (tasks_c - bought_c) * a.hours_per_task
    # A street's own load: street_share of a community's rate per staff hour of the street.
    street_rate = rate * a.street_share * streets.staff_hours / comm.staff_hours.mean()
    tasks_s = rng.poisson(street_rate)
    bought_s = rng.binomial(tasks_s, outsourced_share)
    streets.admin_due += (tasks_s - bought_s) * a.hours_per_task
    mode = cfg.submodels.crowding_out
    comm.admin_served, comm.free_hours = _serve(comm.admin_due, comm.staff_hours, mode)
    streets.admin_served, streets.free_hours = _serve(streets.admin_due, streets.staff_hours, mode)
    if mode == "separate_budget":
        comm.admin_due[:] = 0.0
        streets.admin_due[:] = 0.0
    comm.admin_due -= comm.admin_served
    streets.admin_due -= streets.admin_served
    return float((bought_c.sum() + bought_s.sum()) * a.hours_per_task)
