"""The street budget (街道经费) that remedies compete for, in hour-equivalents per week.

Each week every street is billed for what its remedies used (stated unit: hour-equivalents):

============== ==============================================================================
material       ``budget.material_price`` × material × participating units and organisations
               (paid per participating week: an extrinsic reward, not a wage)
time_bank      ``budget.time_bank_price`` × time_bank × volunteer hours in its communities
recognition    ``budget.recognition_price`` × recognition (awards, ceremonies, publicity)
outsourcing    ``market.outsourcing_cost`` per item outsourced, half of it per bought-in task
monitoring     ``market.monitoring_cost`` × monitoring per item outsourced
teams          ``market.team_cost`` × volunteer_teams per community
inspections    ``evaluation.inspection_cost`` × substance weight × observability per community
============== ==============================================================================

Pro-rata rule: if a street's bill exceeds ``budget.street_budget`` every payment is cut by
the same factor f = budget / bill, so spending never exceeds the budget. Bills are computed at
the set lever values (what the remedies ask for); next week the funded
levers (material, time bank, recognition, outsourcing, monitoring, volunteer teams,
observability) act at f times their set value (:data:`FUNDED_LEVERS`), except that items keep
being routed to providers at the set outsourcing share and the providers' capacity is cut to f
instead (:func:`sim.institutions.street.work_provider_items`). Time costs (cadre
hours of the leading group, responsibility lists, fixed contact, cadre exchange) are paid in
street staff hours instead (:func:`sim.institutions.admin.cadre_duties`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["CATEGORIES", "FUNDED_LEVERS", "settle_budget"]

CATEGORIES = ("material", "time_bank", "recognition", "outsourcing", "monitoring", "teams",
              "inspections")

FUNDED_LEVERS = frozenset({"incentives.material", "incentives.time_bank", "incentives.recognition",
                           "market.outsourcing", "market.monitoring", "market.volunteer_teams",
                           "evaluation.observability"})


def settle_budget(model) -> None:
    """Bill this week's remedies, pay pro rata within each street's budget, set next week's
    funding share."""
    cfg = model.config
    comm = model.state["communities"]
    S = model.layout.n_streets
    b = cfg.budget

    def prices(material, time_bank, recognition, teams, weight, observability):
        # per-street prices of this week's remedies at the set lever values
        n_comm = np.bincount(comm.street, minlength=S)
        return (b.material_price * material, b.time_bank_price * time_bank,
                b.recognition_price * recognition, cfg.market.team_cost * teams * n_comm,
                cfg.evaluation.inspection_cost * weight * observability * n_comm)

    # Bills at the set lever values (funded=False): the funding share acts next week.
    per_participant, per_volunteer_hour, recognition, teams, inspections = model.lever_derived(
        "budget_prices", ("incentives.material", "incentives.time_bank", "incentives.recognition",
                          "market.volunteer_teams", "evaluation.substance_weight",
                          "evaluation.observability"), prices, funded=False)
    participants = (np.bincount(model.unit_street, weights=model.state["units"].participating, minlength=S)
                    + np.bincount(model.two_new_street, weights=model.state["two_new"].participating,
                                  minlength=S))
    vol = np.bincount(comm.street, weights=comm.volunteer_hours, minlength=S)
    model.bill("material", per_participant * participants)
    model.bill("time_bank", per_volunteer_hour * vol)
    model.bill("recognition", recognition)
    model.bill("teams", teams)
    model.bill("inspections", inspections)
    bill = sum(model.bills.values())
    budget = model.lever("budget.street_budget", funded=False)
    over = bill > budget
    if np.count_nonzero(over):
        funded = np.where(over, budget / np.maximum(bill, 1e-12), 1.0)
        spent = bill * funded
        model.spent_by_category = {k: v * funded for k, v in model.bills.items()}
    else:  # every bill paid in full (a share of 1 would change no value)
        funded = np.ones(S)
        spent = bill
        model.spent_by_category = dict(model.bills)
    model.funding = funded
    total = float(spent.sum())
    model.ledger.budget_spent = total
    model.ledger.budget_by_street = spent
    model.ledger.resources += total
    model.bills = {k: np.zeros(S) for k in CATEGORIES}
