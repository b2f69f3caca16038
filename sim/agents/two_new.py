"""TwoNewOrganization 两新组织 — non-public firms and social organisations."""

from __future__ import annotations

import numpy as np

from ..institutions.admin import external_pressure
from ..submodels.motivation import update_two_new_motivation
from ..submodels.participation import two_new_probability
from .base import ArrayAgent, state_property

__all__ = ["TwoNewOrganization"]


class TwoNewOrganization(ArrayAgent):
    """A non-public firm or social organisation with few Party members.

    Takes part with probability logistic(β[b_k + s_k·A_t + γ·x̄ − c_k]) (THEORY.md D2): its
    own motivation b_k, its sensitivity s_k to external assessment pressure A_t (firms more
    than social organisations), conditional cooperation with its street's organisations last
    week, and its cost. Motivation grows with material rewards, recognition and voice (when
    it takes part) and fixed contact, decays without them, and is crowded out by pressure.
    """

    family = "two_new"
    kind = "two_new"
    street = state_property("street", "index of its street")
    community = state_property("community", "index of the community it sits in")
    social = state_property("social", "social organisation (else firm)")
    party_members = state_property("party_members", "Party members in the organisation")
    motivation = state_property("motivation", "b_k, endogenous motivation (utility)")
    sensitivity = state_property("sensitivity", "s_k, response to external pressure")
    cost = state_property("cost", "c_k, weekly cost of taking part (utility)")
    participating = state_property("participating", "takes part this week")

    @property
    def has_fixed_contact(self) -> bool:
        return bool(self.model.two_new_in_contact()[self.index])

    @classmethod
    def probability(cls, model, idx, others_share):
        cfg, st = model.config, model.state["two_new"]
        t = cfg.two_new
        return two_new_probability(
            st.motivation[idx], st.sensitivity[idx], external_pressure(model.steps, cfg),
            others_share, st.cost[idx], t.logit_slope, t.conditional_cooperation,
            pressure_blind=cfg.submodels.two_new_participation == "pressure_blind")

    @classmethod
    def decide_all(cls, model) -> None:
        """Every organisation decides whether to take part this week (vectorised)."""
        st = model.state["two_new"]
        if st.cost.size == 0:
            return
        S = model.layout.n_streets
        # Others' participation last week: the street's organisations, excluding oneself.
        by_street = np.bincount(st.street, weights=st.participating, minlength=S)
        n_street = np.bincount(st.street, minlength=S)
        others = (by_street[st.street] - st.participating) / np.maximum(n_street[st.street] - 1, 1)
        st.p_participate = cls.probability(model, slice(None), others)
        st.participating = model.rng.random(st.cost.size) < st.p_participate

    def decide(self, others_share: float) -> float:
        """This organisation's participation probability by the same rule (no draw)."""
        return float(self.probability(self.model, self.index, others_share))

    @classmethod
    def update_motivation_all(cls, model, resolved: np.ndarray) -> None:
        """b ← b + gain·stimulus − decay·(b − b0) − ε·s_k·A_t."""
        if model.config.submodels.motivation == "static":
            return
        cfg, st = model.config, model.state["two_new"]
        inc, t = cfg.incentives, cfg.two_new
        stimulus = (inc.material + (inc.recognition + cfg.empowerment.two_new_voice) * st.participating
                    + model.two_new_in_contact() + 0.5 * resolved)
        push = st.sensitivity * external_pressure(model.steps, cfg)
        st.motivation = update_two_new_motivation(st.motivation, st.motivation0, stimulus, push,
                                                  t.motivation_gain, t.motivation_decay, t.crowding_out)
