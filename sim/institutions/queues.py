"""Serving queues of work with limited hours, vectorised over all groups at once."""

from __future__ import annotations

import numpy as np

from ..numeric import clip

__all__ = ["serve_queue"]


def serve_queue(group: np.ndarray, priority: np.ndarray, work: np.ndarray,
                capacity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Serve items first-come-first-served within each group until its hours run out.

    Args:
        group: (m,) group index of each item (a community or a street).
        priority: (m,) lower is served first (e.g. the step the item was created).
        work: (m,) hours each item still needs (≥ 0).
        capacity: (G,) hours each group has this step.
    Returns:
        done: (m,) bool, the item's remaining work was fully served;
        spent: (m,) hours spent on each item this step (partial progress included).
    """
    m = group.size
    if m == 0:
        return np.zeros(0, bool), np.zeros(0)
    idx = np.lexsort((priority, group))
    g, w = group[idx], work[idx]
    before_all = w.cumsum() - w  # (ndarray methods: np.cumsum without its wrapper)
    # Hours taken by earlier items of the same group: the running total less its value at the
    # group's first item (``searchsorted`` of the sorted groups finds that item).
    before = before_all - before_all[g.searchsorted(g)]
    spent_sorted = clip(capacity[g] - before, 0.0, w)
    done_sorted = spent_sorted >= w - 1e-9
    done = np.empty(m, bool)
    spent = np.empty(m)
    done[idx] = done_sorted
    spent[idx] = spent_sorted
    return done, spent
