"""Book-keeping of flows: what happened this step, and per-step closure aggregates.

The :class:`StepLedger` is reset at the start of every step and filled by the phases. The
:class:`ClosureHistory` keeps, per step, sums over the items closed in that step, so windowed
rates (return flow, resolution, cost) are exact and cheap however many items exist, and stay
correct when closed items are compacted out of memory.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ClosureHistory", "StepLedger"]


class StepLedger:
    """Flows of the current step (reset each step)."""

    def __init__(self, n_communities: int, n_residents: int):
        self.n_communities = n_communities
        self.n_residents = n_residents
        self.reset()

    def reset(self) -> None:
        C = self.n_communities
        self.resources = 0.0  # hour-equivalents spent on items and form work
        self.created_by_community = np.zeros(C, np.int64)
        self.resolved_by_community = np.zeros(C, np.int64)
        self.expired_by_community = np.zeros(C, np.int64)
        self.flowed_back_by_community = np.zeros(C, np.int64)
        self.community_hours_on_items = np.zeros(C)
        self.pushed_down = 0
        self.outcome_by_community = np.zeros(C)  # sum of outcome values of items closed
        self.outcome_owners: list[np.ndarray] = []  # residents whose items closed
        self.outcome_values: list[np.ndarray] = []  # value in [0, 1] to that resident
        self.flow_back_owners: list[np.ndarray] = []

    def owner_outcomes(self) -> tuple[np.ndarray, np.ndarray]:
        """(owners, values) of items closed this step; values in [0, 1] (expired = 0)."""
        if not self.outcome_owners:
            return np.zeros(0, np.int64), np.zeros(0)
        return np.concatenate(self.outcome_owners), np.concatenate(self.outcome_values)


class ClosureHistory:
    """Per-step sums over items closed in that step (index = step)."""

    FIELDS = ("closed", "resolved", "expired", "assigned", "assigned_returned", "handoffs",
              "resolution_time", "resources")

    def __init__(self, steps: int):
        self.data = {f: np.zeros(steps + 1) for f in self.FIELDS}

    def grow(self, steps: int) -> None:
        for f, a in self.data.items():
            if a.size < steps + 1:
                b = np.zeros(max(steps + 1, 2 * a.size))
                b[: a.size] = a
                self.data[f] = b

    def add(self, step: int, **values) -> None:
        if step >= self.data["closed"].size:
            self.grow(step)
        for f, v in values.items():
            self.data[f][step] += v

    def window(self, field: str, step: int, width: int) -> float:
        lo = max(0, step - width + 1)
        return float(self.data[field][lo: step + 1].sum())
