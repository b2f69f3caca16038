"""TwoNewOrganization 两新组织 — non-public firms and social organisations."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..institutions.admin import campaign_active, pressure_level
from ..submodels.motivation import update_two_new_motivation
from ..submodels.participation import two_new_probability
from .base import ArrayAgent, state_property

__all__ = ["TwoNewLevers", "TwoNewOrganization"]


class TwoNewLevers(NamedTuple):
    """(K,) values of each organisation that change only with the levers."""

    pressure: np.ndarray  # its street's evaluation.external_pressure
    material: np.ndarray  # its street's incentives.material
    voice: np.ndarray     # its street's incentives.recognition + empowerment.two_new_voice


class TwoNewOrganization(ArrayAgent):
    """A non-public firm or social organisation with few Party members.

    Takes part with probability logistic(β[b_k + s_k·A_t + M + γ·x̄ − c_k]) (the theory notes D2): its
    own (intrinsic) motivation b_k, its sensitivity s_k to external assessment pressure A_t
    (firms more than social organisations), the material incentive M paid per participating
    week (extrinsic), conditional cooperation with organisations of its street (and of
    neighbouring streets: ``two_new.spillover``) last week, and its cost. Motivation moves with
    recognition and voice (when it takes part), fixed contact and services (saturating), and
    is crowded out by pressure.
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

    @staticmethod
    def by_organisation(model) -> TwoNewLevers:
        """Per-organisation values that change only with the levers, kept by
        :meth:`RegionModel.lever_derived` (shared: do not change them in place)."""
        def compute(pressure, material, recognition, two_new_voice):
            street = model.state["two_new"].street
            return TwoNewLevers(pressure[street], material[street],
                                (recognition + two_new_voice)[street])

        return model.lever_derived(
            "two_new_levers", ("evaluation.external_pressure", "incentives.material",
                               "incentives.recognition", "empowerment.two_new_voice"), compute)

    @classmethod
    def pressure(cls, model, idx=slice(None)):
        """A_t felt by organisations ``idx``: their street's external pressure × the campaign level."""
        level = pressure_level(model.steps, model.config)
        return cls.by_organisation(model).pressure[idx] * level

    @classmethod
    def probability(cls, model, idx, others_share):
        cfg, st = model.config, model.state["two_new"]
        t = cfg.two_new
        return two_new_probability(
            st.motivation[idx], st.sensitivity[idx], cls.pressure(model, idx),
            others_share, st.cost[idx], t.logit_slope, t.conditional_cooperation,
            material=cls.by_organisation(model).material[idx],
            pressure_blind=cfg.submodels.two_new_participation == "pressure_blind")

    @classmethod
    def decide_all(cls, model) -> None:
        """Every organisation decides whether to take part this week (vectorised)."""
        st = model.state["two_new"]
        if st.cost.size == 0:
            return
        S = model.layout.n_streets
        A = model.world.street_adjacency

        def structure():  # streets' sizes, neighbours and spill-over weights (fixed)
            n_street = np.bincount(st.street, minlength=S)
            n_nb = A.sum(axis=1)
            w = model.config.two_new.spillover * (n_nb > 0)
            return (np.maximum(n_street[st.street] - 1, 1), np.maximum(n_street, 1), n_nb,
                    n_nb > 0, bool(np.all(n_nb > 0)), 1.0 - w[st.street], w[st.street])

        n_others, n_orgs, n_nb, has_nb, all_have_nb, own_weight, nb_weight = model.lever_derived(
            "two_new_structure", (), structure)
        # Others' participation last week: the street's organisations, excluding oneself,
        # and (with weight two_new.spillover) those of neighbouring streets.
        by_street = np.bincount(st.street, weights=st.participating, minlength=S)
        own = (by_street[st.street] - st.participating) / n_others
        share = by_street / n_orgs
        if all_have_nb:  # (the same quotients as the guarded division, faster)
            nb = (A @ share) / n_nb
        else:
            nb = np.divide(A @ share, n_nb, out=np.zeros(S), where=has_nb)
        others = own_weight * own + nb_weight * nb[st.street]
        st.p_participate = cls.probability(model, slice(None), others)
        st.participating = model.rng.random(st.cost.size) < st.p_participate
        if model.steps >= 1:
            camp = int(campaign_active(model.steps, model.config.admin))
            st.weeks_in[:, camp] += st.participating
            st.weeks_seen[camp] += 1

    def decide(self, others_share: float) -> float:
        """This organisation's participation probability by the same rule (no draw)."""
        return float(self.probability(self.model, self.index, others_share))

    @classmethod
    def update_motivation_all(cls, model, solved: np.ndarray) -> None:
        """b moves towards b0 + cap·x/(1+x) (x: voice and recognition while taking part, fixed
        contact, services solved); controlling pressure crowds it out."""
        if model.config.submodels.motivation == "static":
            return
        cfg, st = model.config, model.state["two_new"]
        t = cfg.two_new
        voice = cls.by_organisation(model).voice
        support = voice * st.participating + model.two_new_in_contact() + 0.5 * solved
        push = st.sensitivity * cls.pressure(model)
        st.motivation = update_two_new_motivation(st.motivation, st.motivation0, support, push,
                                                  t.motivation_rate, t.motivation_cap, t.crowding_out)
