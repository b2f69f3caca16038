"""Motivation dynamics: bounded, with diminishing returns to supportive stimuli, crowded out
by controlling pressure, restored by rest and by staff turnover.

* Two-new organisations (the theory notes D2/R2): intrinsic motivation b_k moves at ``rate`` towards
  b0_k + cap·x/(1 + x), where x is the supportive stimulus (voice and recognition while
  taking part, fixed contact, services rendered) — recognition and voice *crowd in*
  [frey1997]; controlling external pressure crowds it out by ε·s_k·A_t a week
  [gneezy2000; frey1997]. Money is an extrinsic reward in the participation decision
  (:mod:`.participation`), never part of b_k.
* Units: reward-like motivation m_j moves towards cap·x/(1 + x) (recognition while taking
  part, cadre exchange, services rendered); it is 0 without stimulus.
* Staff of streets and communities: intrinsic reward ι of substantive work. Overload burns
  it out; it recovers towards its target only in weeks without campaigns and in proportion to
  the hours left free (rest); the target is the actor's ι0, raised by recognition and moved by
  its evaluation score relative to its peers (promotion chances, scaled by β). Burned-out
  staff leave more often and are replaced by new staff with fresh ι0 and no experience
  (社区工作者流失) [ding2022].
"""

from __future__ import annotations

import numpy as np

from ..numeric import clip

__all__ = ["quit_probability", "saturating", "update_staff_motivation", "update_two_new_motivation",
           "update_unit_motivation"]


def saturating(x):
    """x/(1 + x) for x ≥ 0: diminishing returns, bounded by 1."""
    x = np.maximum(np.asarray(x, float), 0.0)
    return x / (1.0 + x)


def update_two_new_motivation(b, b0, support, pressure_push, rate, cap, crowding_out):
    """b ← b + rate·(b0 + cap·x/(1+x) − b) − ε·(s_k·A_t).

    Args:
        b, b0: current and baseline motivation (utility).
        support: supportive stimulus x ≥ 0 this week.
        pressure_push: s_k·A_t ≥ 0, controlling pressure felt this week.
    """
    target = b0 + cap * saturating(support)
    return b + rate * (target - b) - crowding_out * pressure_push


def update_unit_motivation(m, support, rate, cap):
    """m ← m + rate·(cap·x/(1+x) − m), m ∈ [0, cap]."""
    return m + rate * (cap * saturating(support) - m)


def update_staff_motivation(iota, iota_target, overload, rest, burnout_rate, recovery_rate,
                            iota0):
    """ι ← ι + recovery·rest·(ι* − ι) − burnout·ι0·overload, kept ≥ 0.

    overload ∈ [0, 1]: administrative share of working time beyond a quarter, rescaled;
    rest ∈ [0, 1]: 0 in campaign weeks, else the share of working time not taken by tasks.
    """
    new = iota + recovery_rate * rest * (iota_target - iota) - burnout_rate * iota0 * overload
    return np.maximum(new, 0.0)


def quit_probability(iota, iota0, base, burnout):
    """Weekly quit probability: base + burnout·max(0, 1 − ι/ι0) ∈ [0, 1] (ι/ι0 taken as 1
    where ι0 ≤ 0)."""
    positive = np.greater(iota0, 0.0)
    if positive.all():  # (the same quotients as the guarded division below, faster)
        ratio = iota / iota0
    else:
        ratio = np.divide(iota, iota0, out=np.ones_like(iota), where=positive)
    return clip(base + burnout * np.maximum(0.0, 1.0 - ratio), 0.0, 1.0)
