"""Motivation dynamics: rises with rewards, voice, recognition and contact; decays without.

Two-new organisations (THEORY.md D2/R2): pressure crowds out motivation
[gneezy2000; frey1997], voice and fixed contact raise it [milinski2002]. Units: rewards,
recognition, cadre exchange and services rendered. Community staff: burnout under
administrative overload, recovery towards a level raised by material incentives and
recognition [ding2022].
"""

from __future__ import annotations

import numpy as np

__all__ = ["update_staff_motivation", "update_two_new_motivation", "update_unit_motivation"]


def update_two_new_motivation(b, b0, stimulus, pressure_push, gain, decay, crowding_out):
    """b ← b + gain·stimulus − decay·(b − b0) − ε·(s_k·A_t).

    Args:
        b, b0: current and initial motivation (utility).
        stimulus: rewards, voice, recognition, contact this week (≥ 0).
        pressure_push: s_k·A_t, pressure felt this week (≥ 0).
    """
    return b + gain * stimulus - decay * (b - b0) - crowding_out * pressure_push


def update_unit_motivation(m, stimulus, gain, decay):
    """m ← m + gain·stimulus − decay·m (m ≥ 0 is reward-like utility from taking part)."""
    return np.maximum(m + gain * stimulus - decay * m, 0.0)


def update_staff_motivation(iota, iota_target, overload, burnout_rate, recovery_rate):
    """ι ← ι + recovery·(ι* − ι) − burnout·overload, kept ≥ 0.

    overload ∈ [0,1] is the share of working time taken by administrative tasks beyond a
    quarter of it, rescaled to [0, 1].
    """
    return np.maximum(iota + recovery_rate * (iota_target - iota) - burnout_rate * overload, 0.0)
