"""Participation decisions of residents, two-new organisations and resident units."""

from __future__ import annotations

import numpy as np

__all__ = ["motive_of_terms", "resident_motive", "resident_participation", "two_new_probability",
           "unit_participates"]


def resident_motive(civic, responsiveness, cost_aversion, autonomy, peer_share, reward, res):
    """A resident's motive to volunteer or join deliberation this week.

    A grievance/legitimacy rule after Epstein (2002) [epstein2002] turned to participation,
    plus threshold contagion [granovetter1978; centola2007]:

        motive = w_G·H·L − w_N·R·(1 − s/T) + w_P·peer + w_W·reward

    * H ~ U(0,1): civic motive; L ∈ [0,1]: responsiveness (moving average of the worth of
      the community's closed items: resolved soon = 1, late = less, expired = 0)
      — Epstein's G = H·L, "worth joining when the organisation answers".
    * R ~ U(0,1): cost aversion; s/T: the community's autonomy space (hours left after
      administrative tasks) — with little space left, taking part costs more (N = R(1 − s/T)).
    * peer ∈ [0,1]: share of the reference group (ties and community) that took part last week.
    * reward: time-bank and volunteer-team rewards reaching the resident.

    Args are arrays over residents (or scalars); ``res`` is the residents config group.
    """
    return motive_of_terms(res.civic_weight * civic * responsiveness,
                           res.cost_weight * cost_aversion * (1.0 - autonomy),
                           res.peer_weight * peer_share, res.reward_weight * reward)


def motive_of_terms(grievance, cost, peer, reward):
    """The motive from its weighted terms: w_G·H·L − w_N·R·(1 − s/T) + w_P·peer + w_W·reward,
    added in this order (:func:`resident_motive`)."""
    return grievance - cost + peer + reward


def resident_participation(motive, threshold):
    """Take part iff motive ≥ threshold θ (Granovetter: act once enough others have)."""
    return motive >= threshold


def two_new_probability(motivation, sensitivity, pressure, others_share, cost, slope, gamma,
                        material=0.0, pressure_blind: bool = False):
    """Probability that a two-new organisation takes part this week.

    p = logistic(β[b_k + s_k·A_t + M + γ·x̄_{t−1} − c_k])   (the theory notes D2)

    * b_k: endogenous motivation (utility); s_k: sensitivity to external pressure;
      A_t ∈ [0,1]: assessment pressure now (high in campaigns);
    * x̄_{t−1}: share of the street's organisations that took part last week; γ < 1 is
      imperfect conditional cooperation [fischbacher2001];
    * M: material incentive paid per participating week (extrinsic utility);
    * c_k: cost of taking part.
    ``pressure_blind`` (null variant) drops the pressure term.
    """
    push = 0.0 if pressure_blind else sensitivity * pressure
    u = motivation + push + material + gamma * others_share - cost
    return 1.0 / (1.0 + np.exp(-slope * u))


def unit_participates(benefit_share, public_benefit, rewards, cost):
    """A resident unit takes part iff α_j·B + R_j > c_j (public-goods logic, the theory notes D2).

    With α_j·B < c_j and no rewards R_j, defection dominates: the unit gives little and
    gets little back ("提供专业服务较多,但获得相关“收益”较少").
    """
    return benefit_share * public_benefit + rewards > cost
