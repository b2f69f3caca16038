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
        self.budget_spent = 0.0  # hour-equivalents paid from street budgets
        self.created_by_community = np.zeros(C, np.int64)
        self.closed_by_community = np.zeros(C, np.int64)
        self.solved_by_community = np.zeros(C, np.int64)
        self.expired_by_community = np.zeros(C, np.int64)
        self.sham_owners: list[np.ndarray] = []  # residents whose item was closed unsolved
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
    """Per-step sums of item events (index = step, spin-up steps ≤ 0 included).

    Fields: items ``closed`` (办结), ``solved`` (解决), ``expired``; of those ended, the
    ``assigned`` ones and those that ``assigned_returned`` (flowed back at least once);
    ``handoffs`` and ``closure_time`` summed over ended/closed items; ``resources`` and
    ``budget_spent`` (hour-equivalents); ``created`` and ``repeats`` (new items that repeat an
    unsolved closure); ``response_due`` (items whose response deadline fell this step) and
    ``response_met`` (of those, acted on in time); ``responded_by_created`` (helper: items
    acted on in time, by creation step).
    """

    FIELDS = ("closed", "solved", "expired", "assigned", "assigned_returned", "handoffs",
              "closure_time", "resources", "budget_spent", "created", "repeats", "response_due",
              "response_met", "responded_by_created")

    def __init__(self, steps: int, first_step: int = 0):
        self.first = min(0, first_step)  # lowest step stored
        self._set_table(np.zeros((len(self.FIELDS), steps + 1 - self.first)))
        # Window sums already computed since the last change (the metrics read each one up
        # to three times per collection); any change of the data empties it.
        self._windows: dict[tuple, float | dict[str, float]] = {}

    def _set_table(self, table: np.ndarray) -> None:
        """Keep the (fields, steps) table; ``data[field]`` is its row (a view: the rows are
        changed in place, never replaced)."""
        self._table = table
        self.data = dict(zip(self.FIELDS, table))

    def __getstate__(self) -> dict:
        # ``data`` holds views of the table: rebuilt on restore (copies would not share it)
        return {k: v for k, v in self.__dict__.items() if k != "data"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._set_table(self._table)

    def grow(self, steps: int) -> None:
        self._windows.clear()
        need = steps + 1 - self.first
        old = self._table
        if old.shape[1] < need:
            table = np.zeros((old.shape[0], max(need, 2 * old.shape[1])))
            table[:, : old.shape[1]] = old
            self._set_table(table)

    def add(self, step: int, **values) -> None:
        if step - self.first >= self.data["closed"].size:
            self.grow(step)
        if self._windows:
            self._windows.clear()
        i = step - self.first
        for f, v in values.items():
            self.data[f][i] += v

    def add_by_step(self, field: str, steps: np.ndarray) -> None:
        """Add 1 at each of ``steps`` (may repeat)."""
        if steps.size:
            if self._windows:
                self._windows.clear()
            if int(steps.max()) - self.first >= self.data[field].size:
                self.grow(int(steps.max()))
            np.add.at(self.data[field], steps - self.first, 1.0)

    def add_counts(self, field: str, start: int, counts: np.ndarray) -> None:
        """Add ``counts[j]`` (whole counts) at step ``start + j``: what :meth:`add_by_step`
        adds for ``counts[j]`` events at each of those steps (a float holding a whole number
        gains the same from one addition of n as from n additions of 1). Steps before the
        first stored step must count nothing."""
        lo = start - self.first
        if lo < 0:
            if counts[:-lo].any():
                raise ValueError(f"counts at steps before the first step ({self.first})")
            counts, lo = counts[-lo:], 0
        if self._windows:
            self._windows.clear()
        hi = lo + counts.size
        a = self.data[field]
        if hi > a.size:
            self.grow(start + counts.size - 1)
            a = self.data[field]
        a[lo:hi] += counts

    def get(self, field: str, step: int) -> float:
        i = step - self.first
        a = self.data[field]
        return float(a[i]) if 0 <= i < a.size else 0.0

    def window(self, field: str, step: int, width: int) -> float:
        """Sum of ``field`` over the ``width`` steps ending at ``step``."""
        key = (field, step, width)
        out = self._windows.get(key)
        if out is None:
            lo = max(self.first, step - width + 1)
            out = float(self.data[field][lo - self.first: step + 1 - self.first].sum())
            self._windows[key] = out
        return out

    def window_sums(self, step: int, width: int) -> dict[str, float]:
        """Every field's sum over the ``width`` steps ending at ``step`` (what :meth:`window`
        gives field by field: a row sum of the C-ordered table runs along the row, the way
        the sum of that row's slice does, so the values are the same bit for bit)."""
        key = (step, width)
        out = self._windows.get(key)
        if out is None:
            lo = max(self.first, step - width + 1)
            sums = self._table[:, lo - self.first: step + 1 - self.first].sum(axis=1)
            out = dict(zip(self.FIELDS, sums.tolist()))
            self._windows[key] = out
        return out

    def total(self, field: str, start: int, stop: int) -> float:
        """Sum over steps start..stop (inclusive)."""
        lo = max(self.first, start)
        return float(self.data[field][lo - self.first: stop + 1 - self.first].sum())
