"""StreetCommittee 街道党工委 — the core (一核) of regional Party building."""

from __future__ import annotations

from .base import ArrayAgent, state_property

__all__ = ["StreetCommittee"]


class StreetCommittee(ArrayAgent):
    """A street Party working committee.

    State (``model.state['streets']``): staff hours, administrative hours due and served,
    free hours, form/substance hours and efforts, intrinsic motivation. Its authority over
    units and organisations is the lever ``empowerment.street_authority`` (read from the
    config each step, so interventions act at once); it convenes the joint conference.
    """

    family = "streets"
    kind = "street"
    staff_hours = state_property("staff_hours", "working hours per week")
    admin_due = state_property("admin_due", "administrative hours waiting")
    free_hours = state_property("free_hours", "hours left after administrative tasks")
    form_hours = state_property("form_hours", "hours spent on form this week")
    substance_hours = state_property("substance_hours", "hours spent on items this week")
    intrinsic = state_property("intrinsic", "intrinsic motivation ι (utility)")

    @property
    def authority(self) -> float:
        """Authority over units of the same or lower rank, in [0, 1] (this street's value)."""
        return float(self.model.lever("empowerment.street_authority")[self.index])

    @property
    def conference_node(self) -> int:
        return self.model.layout.conference0 + self.index
