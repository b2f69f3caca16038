"""Holmström–Milgrom (1991) linear-quadratic multitask effort rule [holmstrom1991].

An evaluated actor chooses effort on *form* (t_F: materials, meetings, "数字谜语", "文字创新")
and *substance* (t_S: resolving items, organising residents) to maximise

    α_F t_F + α_S t_S − [½(t_F² + t_S²) + δ t_F t_S],     t_F, t_S ≥ 0,

where α_F, α_S are the marginal rewards the evaluation gives each task and δ ∈ [0, 1) the
substitution between them (time and attention spent on one raises the cost of the other).
"""

from __future__ import annotations

import numpy as np

__all__ = ["marginal_rewards", "multitask_effort"]


def marginal_rewards(promotion_link, reported_weight, intrinsic, form_blind: bool = False):
    """Marginal rewards (α_F, α_S) of form and substance effort.

    α_F = β·λ_F             form earns what reported figures weigh in the score
    α_S = β·(1 − λ_F) + ι   substance earns what true performance weighs, plus intrinsic ι

    λ_F = (1 − w)(1 − κ) + w·g is the weight of reported figures in the evaluation score
    (:func:`sim.institutions.evaluation.reported_weight`). With nothing observed of the truth
    (κ = 0) and g = 0 this is the textbook α_F = β(1 − w), α_S = βw + ι (Holmström & Milgrom's
    linear contract with substance observed only through the substantive signal).
    ``form_blind`` (null variant): the evaluation gives form nothing, λ_F = 0.
    """
    lam = np.zeros_like(np.asarray(reported_weight, float)) if form_blind \
        else np.asarray(reported_weight, float)
    beta = np.asarray(promotion_link, float)
    return beta * lam, beta * (1.0 - lam) + np.asarray(intrinsic, float)


def multitask_effort(alpha_f, alpha_s, delta):
    """Optimal efforts (t_F, t_S) ≥ 0, corners included.

    Interior (both positive): t_F = (α_F − δα_S)/(1 − δ²), t_S = (α_S − δα_F)/(1 − δ²).
    If α_S − δα_F ≤ 0: t_S = 0 and t_F = max(α_F, 0).
    If α_F − δα_S ≤ 0: t_F = 0 and t_S = max(α_S, 0).
    (Clipping the interior formula at zero is wrong at the corners; see the theory notes D4.)

    Args:
        alpha_f, alpha_s: marginal rewards, arrays or floats (utility per unit effort).
        delta: substitution, in [0, 1).
    Returns:
        (t_F, t_S): arrays of effort levels (effort units).
    """
    af = np.asarray(alpha_f, float)
    a_s = np.asarray(alpha_s, float)
    if af.shape != a_s.shape:
        af, a_s = np.broadcast_arrays(af, a_s)
    denom = 1.0 - delta * delta
    tf = (af - delta * a_s) / denom
    ts = (a_s - delta * af) / denom
    corner_f = (a_s - delta * af) <= 0  # substance not worth it: form only
    corner_s = (af - delta * a_s) <= 0  # form not worth it: substance only
    tf = np.where(corner_f, np.maximum(af, 0.0), np.where(corner_s, 0.0, tf))
    ts = np.where(corner_f, 0.0, np.where(corner_s, np.maximum(a_s, 0.0), ts))
    return tf, ts
