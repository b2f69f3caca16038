"""Evaluation (考核): staff split their hours between form and substance; the score estimates
true performance from what the evaluator observes.

*Effort.* Each evaluated actor (street staff, community staff) chooses form effort t_F and
substance effort t_S by the multitask rule (:mod:`sim.submodels.multitask`) with marginal
rewards α_F = β·λ_F and α_S = β·(1 − λ_F) + ι, where λ_F is the weight of *reported* figures
in the score (below), β = ``evaluation.promotion_link`` and ι the actor's intrinsic motivation.
Random-utility shocks (s.d. ``staff.effort_noise``, redrawn each evaluation period) perturb
both rewards: choices are noisy around the optimum. Effort *levels* matter: staff use the share
min(1, (t_F + t_S)/``staff.effort_scale``) of their free hours, split in the proportion
φ = t_F/(t_F + t_S), with at least ``staff.paperwork_floor`` of the free hours on form (留痕).

*Score.* The evaluator wants true performance P — the share of the community's items ended
in the period that were solved (解决). What it sees: reported figures R (closure statistics
and materials: R = ½·closure share + ½·F, F the saturating form output) and substantive
signals (random checks, resident feedback). Observability κ is the share of every figure the
evaluator verifies against the truth; a gameable share g of the substantive signal can be
staged (escorted visits, coached residents):

    seen_reported    = κ·P + (1 − κ)·R
    seen_substantive = (1 − g)·P + g·R
    score            = (1 − w)·seen_reported + w·seen_substantive
                     = P + λ_F·(R − P),    λ_F = (1 − w)(1 − κ) + w·g.

With full observability and nothing gameable (κ = 1, g = 0) λ_F = 0 and the score equals P
for any substance weight w. ``evaluation_gap`` = score − P; ``score_satisfaction_gap`` =
score − the residents' mean satisfaction.
"""

from __future__ import annotations

import numpy as np

from ..submodels.multitask import marginal_rewards, multitask_effort

__all__ = ["FORM_SATURATION", "allocate_effort", "evaluation_score", "reported_weight",
           "update_scores"]

#: Form output F = 1 − exp(−FORM_SATURATION × form share of working time).
FORM_SATURATION = 10.0


def reported_weight(w, kappa, g):
    """λ_F = (1 − w)(1 − κ) + w·g ∈ [0, 1]: the weight of reported figures in the score."""
    return (1.0 - w) * (1.0 - kappa) + w * g


def evaluation_score(true_performance, reported, w, kappa, g):
    """score = P + λ_F·(R − P) (see module docstring); arrays broadcast."""
    lam = reported_weight(w, kappa, g)
    return true_performance + lam * (reported - true_performance)


def _levers(model, group):
    street = group.street
    lv = model.lever
    return (lv("evaluation.substance_weight")[street], lv("evaluation.observability")[street],
            lv("evaluation.gameable_share")[street], lv("evaluation.promotion_link")[street])


def draw_effort_shocks(model) -> None:
    """Redraw random-utility shocks of every evaluated actor (start of a period)."""
    sd = model.config.staff.effort_noise
    for key in ("streets", "communities"):
        g = model.state[key]
        if sd > 0:
            g.shock_form = model.rng.normal(0.0, sd, g.street.size)
            g.shock_substance = model.rng.normal(0.0, sd, g.street.size)
        else:
            g.shock_form = np.zeros(g.street.size)
            g.shock_substance = np.zeros(g.street.size)


_EVALUATION_LEVERS = ("evaluation.substance_weight", "evaluation.observability",
                      "evaluation.gameable_share", "evaluation.promotion_link")


#: The evaluated groups, in the order their actors are joined in :func:`_split`.
_EVALUATED = ("streets", "communities")


def _split(model) -> None:
    """The multitask split of every evaluated actor, streets and communities in one pass:
    each actor's values depend only on its own inputs (elementwise), so joining the two
    groups' arrays changes no value."""
    cfg = model.config
    st = cfg.staff
    groups = [model.state[key] for key in _EVALUATED]

    def joined(name):
        return np.concatenate([getattr(g, name) for g in groups])

    def weights(w, kappa, g, beta):  # λ_F and β of each actor, from its street's levers
        street = joined("street")
        return reported_weight(w[street], kappa[street], g[street]), beta[street]

    lam, beta = model.lever_derived("effort_weights", _EVALUATION_LEVERS, weights)
    alpha_f, alpha_s = marginal_rewards(beta, lam, joined("intrinsic"),
                                        form_blind=cfg.submodels.evaluation == "form_blind")
    alpha_f = alpha_f + joined("shock_form")
    alpha_s = alpha_s + joined("shock_substance")
    tf, ts = multitask_effort(alpha_f, alpha_s, joined("delta"))
    free_hours = joined("free_hours")
    total = tf + ts
    use = np.minimum(1.0, total / st.effort_scale)
    phi = np.divide(tf, total, out=np.zeros(total.shape), where=total > 0)
    worked = free_hours * use
    floor = st.paperwork_floor * free_hours
    form_hours = np.minimum(np.maximum(phi * worked, floor), free_hours)
    substance_hours = np.maximum(worked - form_hours, 0.0)
    lo = 0
    for g in groups:  # each group gets its slice (views of the joined results)
        part = slice(lo, lo + g.free_hours.size)
        lo = part.stop
        g.t_form, g.t_substance = tf[part], ts[part]
        g.form_hours, g.substance_hours = form_hours[part], substance_hours[part]
        g.paper_hours = np.zeros(part.stop - part.start)


def allocate_effort(model) -> None:
    """Split the free hours of streets and communities between form and substance."""
    if model.steps % model.config.evaluation.period == 1 or model.config.evaluation.period == 1:
        draw_effort_shocks(model)
    _split(model)


def update_form_output(model) -> None:
    """Form output: moving average of the share of working time on materials (after the
    form hours spent closing overdue items on paper)."""
    rate = 1.0 / model.config.evaluation.period
    for key in ("streets", "communities"):
        g = model.state[key]
        share = np.maximum(g.form_hours - g.paper_hours, 0.0) / g.staff_hours
        g.form_output += rate * (share - g.form_output)
    c, s = model.state["communities"], model.state["streets"]
    model.ledger.resources += float(c.form_hours.sum() + s.form_hours.sum())


def current_scores(model):
    """(score, P, reported) of every community from the current evaluation period's figures
    (P NaN where nothing ended in the period)."""
    comm = model.state["communities"]
    per = model.period
    ended = per["closed"] + per["expired"]
    with np.errstate(invalid="ignore", divide="ignore"):
        P = np.where(ended > 0, per["solved"] / np.maximum(ended, 1), np.nan)
        closure = np.where(ended > 0, per["closed"] / np.maximum(ended, 1), np.nan)
    F = 1.0 - np.exp(-FORM_SATURATION * comm.form_output)
    reported = 0.5 * closure + 0.5 * F
    w, kappa, g, _ = _levers(model, comm)
    return evaluation_score(P, reported, w, kappa, g), P, reported


def update_scores(model) -> None:
    """Score communities on evaluation steps (every ``evaluation.period``); reset the period."""
    ev = model.config.evaluation
    if model.steps % ev.period:
        return
    comm = model.state["communities"]
    score, P, _ = current_scores(model)
    known = ~np.isnan(score)
    comm.score = np.where(known, score, comm.score)
    comm.true_performance = P
    for a in model.period.values():
        a[:] = 0
