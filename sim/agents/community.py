"""CommunityCommittee 社区"两委" — the base (基础) of regional Party building."""

from __future__ import annotations

import numpy as np

from .base import ArrayAgent, state_property

__all__ = ["CommunityCommittee", "update_staff_motivation_all"]


class CommunityCommittee(ArrayAgent):
    """A community's Party organisation and residents' committee.

    State (``model.state['communities']``): staff hours, administrative hours due/served,
    autonomy space (free hours), form/substance hours and efforts, volunteer hours, intrinsic
    motivation (morale), form output, evaluation score, responsiveness L as residents see it.
    """

    family = "communities"
    kind = "community"
    street = state_property("street", "index of its street")
    staff_hours = state_property("staff_hours", "working hours per week")
    admin_due = state_property("admin_due", "administrative hours waiting")
    admin_served = state_property("admin_served", "administrative hours served this week")
    free_hours = state_property("free_hours", "autonomy space: hours left after tasks")
    form_hours = state_property("form_hours", "hours on form this week")
    substance_hours = state_property("substance_hours", "hours on items this week")
    volunteer_hours = state_property("volunteer_hours", "residents' volunteer hours this week")
    intrinsic = state_property("intrinsic", "staff intrinsic motivation ι (utility)")
    score = state_property("score", "latest evaluation score in [0, 1]")
    responsiveness = state_property("responsiveness",
                                    "L: moving average of the worth of closed items, in [0, 1]")

    @property
    def autonomy_space(self) -> float:
        """Share of staff hours left after administrative tasks, in [0, 1]."""
        return float(self.free_hours / self.staff_hours)

    @property
    def form_share(self) -> float:
        """φ = t_F / (t_F + t_S) of this week's effort (0 when no effort)."""
        st = self.model.state[self.family]
        total = st.t_form[self.index] + st.t_substance[self.index]
        return float(st.t_form[self.index] / total) if total > 0 else 0.0


def update_staff_motivation_all(model, family: str) -> None:
    """Staff morale of streets or communities: burnout under overload, recovery to a level
    raised by material incentives and recognition (``staff.*``)."""
    cfg = model.config
    if cfg.submodels.motivation == "static":
        return
    from ..submodels.motivation import update_staff_motivation

    g = model.state[family]
    load = np.minimum(g.admin_served / g.staff_hours, 1.0)
    overload = np.clip((load - 0.25) / 0.75, 0.0, 1.0)
    target = g.intrinsic0 * (1.0 + cfg.incentives.material + 0.5 * cfg.incentives.recognition)
    g.intrinsic = update_staff_motivation(g.intrinsic, target, overload, cfg.staff.burnout_rate,
                                          cfg.staff.recovery_rate)

