"""Whether a closure (办结) is a real solution (解决).

A closed item is solved with probability

    p = depth × min(1, capacity / difficulty) × quality,

where *depth* ∈ [0, 1] is the share of the hours a real solution needs that were actually
spent on it (substance hours; an item closed on paper after little work has low depth),
*capacity* the holder's capability in the item's domain, and *quality* ∈ [0, 1] the holder's
diligence: staff experience, an assignee's motivation, a provider's quality after shading.
Nothing else enters: evaluation rules act on it only through the hours staff choose to spend.
"""

from __future__ import annotations

import numpy as np

from ..numeric import clip

__all__ = ["p_solved"]


def p_solved(depth, capacity_ratio, quality):
    """Probability a closure is a real solution; arrays broadcast; result in [0, 1]."""
    d = clip(np.asarray(depth, float), 0.0, 1.0)
    c = clip(np.asarray(capacity_ratio, float), 0.0, 1.0)
    q = clip(np.asarray(quality, float), 0.0, 1.0)
    return d * c * q
