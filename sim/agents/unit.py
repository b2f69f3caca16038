"""ResidentUnit 驻区单位 — functional departments, SOEs, public institutions in the street."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..institutions.admin import pressure_level
from ..numeric import clip
from ..submodels.motivation import update_unit_motivation
from ..submodels.participation import unit_participates
from .base import ArrayAgent, state_property

__all__ = ["ResidentUnit", "UnitLevers"]

#: Extra benefit share a unit in two-way cadre exchange feels (it shares the street's view).
EXCHANGE_BENEFIT_SHARE = 0.4


class UnitLevers(NamedTuple):
    """(U,) values of each unit that change only with the levers."""

    exchange_share: np.ndarray  # EXCHANGE_BENEFIT_SHARE × in cadre exchange
    half_exchange: np.ndarray   # ½ × in cadre exchange (motivation support)
    pressure: np.ndarray        # its street's evaluation.external_pressure
    material: np.ndarray        # its street's incentives.material
    recognition: np.ndarray     # its street's incentives.recognition


class ResidentUnit(ArrayAgent):
    """A resident unit, often of higher administrative rank than the street.

    Takes part this week iff α_j·B + R_j > c_j + ε_t (:func:`unit_participates`), with
    α_j its benefit share (+0.4 in cadre exchange), B ``units.public_benefit``, rewards
    R_j = material (paid per participating week: extrinsic) + m_j (its motivation, raised by
    recognition, cadre exchange and services) + ½·A_t (assessment pressure), and a weekly cost
    c_j (×``units.higher_rank_cost`` when it outranks the street) with noise ε_t.
    """

    family = "units"
    kind = "unit"
    street = state_property("street", "index of its street")
    community = state_property("community", "index of the community it sits in")
    higher_rank = state_property("higher_rank", "outranks the street")
    benefit_share = state_property("benefit_share", "α_j, share of the public benefit it feels")
    cost = state_property("cost", "weekly cost of taking part (utility)")
    motivation = state_property("motivation", "m_j ≥ 0, reward-like motivation")
    participating = state_property("participating", "takes part this week")

    @property
    def in_cadre_exchange(self) -> bool:
        return bool(self.model.unit_in_exchange()[self.index])

    @staticmethod
    def by_unit(model) -> UnitLevers:
        """Per-unit values that change only with the levers, kept by
        :meth:`RegionModel.lever_derived` (shared: do not change them in place)."""
        def compute(cadre_exchange, pressure, material, recognition):
            street, exchange = model.state["units"].street, model.unit_in_exchange()
            return UnitLevers(EXCHANGE_BENEFIT_SHARE * exchange, 0.5 * exchange,
                              pressure[street], material[street], recognition[street])

        return model.lever_derived(
            "unit_levers", ("incentives.cadre_exchange", "evaluation.external_pressure",
                            "incentives.material", "incentives.recognition"), compute)

    @classmethod
    def participation_margin(cls, model, idx, noise):
        """α_j·B + R_j − (c_j + noise) for units ``idx``: positive means take part."""
        st = model.state["units"]
        lv = cls.by_unit(model)
        alpha = clip(st.benefit_share[idx] + lv.exchange_share[idx], 0.0, 1.0)
        pressure = lv.pressure[idx] * pressure_level(model.steps, model.config)
        rewards = lv.material[idx] + st.motivation[idx] + 0.5 * pressure
        return alpha, rewards, st.cost[idx] + noise

    @classmethod
    def decide_all(cls, model) -> None:
        """Every unit decides whether to take part this week (vectorised)."""
        st = model.state["units"]
        n = st.cost.size
        if model.config.submodels.unit_participation == "always":
            st.participating = np.ones(n, bool)
            return
        noise = model.rng.normal(0.0, model.config.units.cost_noise, n)
        alpha, rewards, cost = cls.participation_margin(model, slice(None), noise)
        st.participating = unit_participates(alpha, model.config.units.public_benefit, rewards, cost)

    def decide(self, noise: float = 0.0) -> bool:
        """This unit's decision by the same rule (no commit), with a given cost shock."""
        if self.model.config.submodels.unit_participation == "always":
            return True
        alpha, rewards, cost = self.participation_margin(self.model, self.index, noise)
        return bool(unit_participates(alpha, self.model.config.units.public_benefit, rewards, cost))

    @classmethod
    def update_motivation_all(cls, model, solved: np.ndarray) -> None:
        """m moves towards cap·x/(1+x), x = recognition·taking part + ½·exchange + ½·solved."""
        if model.config.submodels.motivation == "static":
            return
        cfg, st = model.config, model.state["units"]
        lv = cls.by_unit(model)
        support = lv.recognition * st.participating + lv.half_exchange + 0.5 * solved
        st.motivation = update_unit_motivation(st.motivation, support, cfg.units.motivation_rate,
                                               cfg.units.motivation_cap)
