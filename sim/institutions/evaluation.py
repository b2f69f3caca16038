"""Evaluation (考核): how evaluated actors split effort, and the score they get.

*Effort split.* Streets and communities choose form effort t_F and substance effort t_S by
the multitask rule (:mod:`sim.submodels.multitask`) with α_F = β[(1 − w) + w·g] and
α_S = β·w·(1 − g)·κ + ι, where β = ``evaluation.promotion_link``, w = ``substance_weight``,
g = ``gameable_share``, κ = ``observability`` and ι the actor's intrinsic motivation. They
split their free hours (after administrative tasks) in the proportion φ = t_F/(t_F + t_S)
between form (materials, meetings, showcase "innovation") and substance (items).

*Score.* Form output F ∈ [0, 1] saturates in the (moving-average) share of working time spent
on form; residents' satisfaction S is the substantive performance they feel. The score is

    score = (1 − w)·F + w·[(1 − g)·(κ·S + (1 − κ)·F) + g·F]

— what the inspectors cannot observe (1 − κ) they judge from materials and escorted visits,
and a share g of the substantive signal can be gamed. ``evaluation_gap`` = score − S.
The evaluation runs every ``evaluation.period`` steps; the gap metric uses the score the
evaluation would give now.
"""

from __future__ import annotations

import numpy as np

from ..submodels.multitask import marginal_rewards, multitask_effort

__all__ = ["FORM_SATURATION", "allocate_effort", "evaluation_score", "update_scores"]

#: Form output F = 1 − exp(−FORM_SATURATION × form share of working time).
FORM_SATURATION = 10.0


def _split(group, cfg) -> None:
    ev = cfg.evaluation
    af, a_s = marginal_rewards(ev.promotion_link, ev.substance_weight, ev.observability,
                               ev.gameable_share, group.intrinsic,
                               form_blind=cfg.submodels.evaluation == "form_blind")
    tf, ts = multitask_effort(af, a_s, ev.effort_substitution)
    group.t_form, group.t_substance = tf, ts
    total = tf + ts
    # Staff work all their free hours; the evaluation decides how they split them. With no
    # reward for either task at all (t_F = t_S = 0) they default to substance.
    phi = np.divide(tf, total, out=np.zeros_like(total), where=total > 0)
    group.form_hours = group.free_hours * phi
    group.substance_hours = group.free_hours - group.form_hours


def allocate_effort(model) -> None:
    """Split the free hours of streets and communities between form and substance."""
    for key in ("streets", "communities"):
        _split(model.state[key], model.config)
    comm = model.state["communities"]
    share = comm.form_hours / comm.staff_hours
    rate = 1.0 / model.config.evaluation.period
    comm.form_output += rate * (share - comm.form_output)
    s = model.state["streets"]
    model.ledger.resources += float(comm.form_hours.sum() + s.form_hours.sum())


def evaluation_score(form_output, satisfaction, ev) -> np.ndarray:
    """Evaluation score in [0, 1] from form output share and residents' satisfaction."""
    F = 1.0 - np.exp(-FORM_SATURATION * np.asarray(form_output))
    w, g, k = ev.substance_weight, ev.gameable_share, ev.observability
    return (1.0 - w) * F + w * ((1.0 - g) * (k * satisfaction + (1.0 - k) * F) + g * F)


def update_scores(model, satisfaction_by_community: np.ndarray) -> None:
    """Score communities on evaluation steps (every ``evaluation.period``)."""
    ev = model.config.evaluation
    if model.steps % ev.period == 0:
        comm = model.state["communities"]
        comm.score = evaluation_score(comm.form_output, satisfaction_by_community, ev)
