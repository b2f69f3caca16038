"""Resident 居民 — the many (多元): raise items, volunteer, judge the service they get."""

from __future__ import annotations

import numpy as np

from ..numeric import clip
from ..submodels.participation import resident_motive, resident_participation
from .base import ArrayAgent, state_property

__all__ = ["Resident"]

#: Weight of one's own item outcome in satisfaction (vs the slow drift towards L).
OWN_ITEM_WEIGHT = 0.3
#: Satisfaction and trust lost when one's item flows back (buck-passing seen from below).
FLOW_BACK_PENALTY = 0.05
#: Trust lost per step in which one's item expired or flowed back.
TRUST_PENALTY = 0.02


class Resident(ArrayAgent):
    """A resident. All residents' state lives in ``model.state['residents']`` arrays.

    Each week a resident takes part (volunteers, joins deliberation) iff its motive reaches its
    threshold θ (:func:`sim.submodels.participation.resident_motive`): civic motive × the
    community's responsiveness, minus a cost that grows as administrative work eats the
    community's autonomy space, plus the participating share of its reference group (ties and
    community: threshold/complex contagion), plus time-bank and volunteer-team rewards (the
    latter only once ``residents.team_min_neighbours`` of its ties take part).
    """

    family = "residents"
    kind = "resident"
    community = state_property("community", "index of its community")
    civic = state_property("civic", "H ~ U(0,1), civic motive")
    cost_aversion = state_property("cost_aversion", "R ~ U(0,1)")
    threshold = state_property("threshold", "θ, participation threshold")
    participating = state_property("participating", "takes part this week")
    satisfaction = state_property("satisfaction", "satisfaction in [0, 1]")
    trust = state_property("trust", "trust in [0, 1]")

    @staticmethod
    def per_resident(model, values: np.ndarray, idx=slice(None)) -> np.ndarray:
        """Per-community ``values`` spread to residents ``idx`` (each its community's value).

        Residents are stored community by community, so for all of them ``np.repeat`` gives
        the very array that indexing by community gives, in less time.
        """
        counts = model.residents_by_community
        if counts is not None and isinstance(idx, slice) and idx == slice(None):
            return values.repeat(counts)
        return values[model.state["residents"].community[idx]]

    @staticmethod
    def count_by_community(model, mask: np.ndarray) -> np.ndarray:
        """(C,) float count of residents with ``mask`` (over all residents) in each community."""
        counts = model.residents_by_community
        if counts is not None:  # contiguous, non-empty communities: sum each block
            return np.add.reduceat(mask, model.community_first_resident, dtype=np.float64)
        return np.bincount(model.state["residents"].community, weights=mask,
                           minlength=model.layout.n_communities)

    @classmethod
    def motive(cls, model, idx=slice(None)):
        """Motive of residents ``idx`` given last week's participation (vectorised).

        :func:`sim.submodels.participation.resident_motive` of each resident's inputs; the
        inputs equal for all residents of a community are computed per community first.
        """
        cfg = model.config
        r, st, comm = cfg.residents, model.state["residents"], model.state["communities"]
        every = isinstance(idx, slice)
        ties = model.world.ties if every else model.world.ties[idx]
        neighbours = np.asarray(ties @ st.participating.astype(np.float32)).ravel()
        degree = model.degree[idx]
        if every and model.everyone_has_ties:
            neigh_share = neighbours / degree
        else:
            neigh_share = np.divide(neighbours, degree, out=np.zeros_like(neighbours),
                                    where=degree > 0)
        peer = (cls.per_resident(model, (1.0 - r.neighbour_weight) * comm.participation, idx)
                + r.neighbour_weight * neigh_share)
        team_reach = neighbours >= r.team_min_neighbours
        time_bank, teams = model.lever_derived(  # by community
            "resident_rewards", ("incentives.time_bank", "market.volunteer_teams"),
            lambda time_bank, teams: (time_bank[comm.street], teams[comm.street]))
        reward = (cls.per_resident(model, time_bank, idx)
                  + cls.per_resident(model, teams, idx) * team_reach)
        autonomy = cls.per_resident(model, comm.free_hours / comm.staff_hours, idx)
        return resident_motive(st.civic[idx], cls.per_resident(model, comm.responsiveness, idx),
                               st.cost_aversion[idx], autonomy, peer, reward, r)

    @classmethod
    def decide_all(cls, model) -> None:
        """Every resident decides whether to take part this week (two-phase: decide, commit)."""
        st, comm = model.state["residents"], model.state["communities"]
        if model.config.submodels.resident_participation == "nobody":
            new = np.zeros(st.community.size, bool)
        else:
            new = resident_participation(cls.motive(model), st.threshold)
        st.participating = new
        counts = cls.count_by_community(model, new)
        comm.participation = counts / comm.n_residents
        # Volunteers need organising: staff hours on substance bound the volunteer hours used,
        # and volunteer teams (market logic) organise themselves, loosening that bound.
        organised, bound = model.lever_derived(  # by community
            "volunteer_teams", ("market.volunteer_teams",),
            lambda teams: (0.5 + 0.5 * teams[comm.street], 1.0 + 2.0 * teams[comm.street]))
        offered = counts * model.config.residents.volunteer_hours * organised
        comm.volunteer_hours = np.minimum(offered, comm.substance_hours * bound)

    def decide(self) -> bool:
        """This resident's decision by the same rule, without committing it."""
        if self.model.config.submodels.resident_participation == "nobody":
            return False
        motive = self.motive(self.model, np.array([self.index]))[0]
        return bool(resident_participation(motive, self.threshold))

    @classmethod
    def update_all(cls, model) -> None:
        """Update responsiveness L, satisfaction and trust from this week's outcomes.

        Residents count solutions, not closures: an item solved after w steps is worth
        exp(−w/patience) to its resident; one closed unsolved (a sham closure) or expired is
        worth 0, and a sham closure also costs ``residents.sham_penalty`` of satisfaction and
        trust. L moves towards the mean worth of the community's items closed this week (an
        item flowing back counts half an item worth 0); every resident's satisfaction drifts
        towards L, an owner's moves ``OWN_ITEM_WEIGHT`` of the way to its item's worth; trust
        follows satisfaction slowly and drops when one's item expires or flows back.
        """
        cfg, led = model.config, model.ledger
        r, st, comm = cfg.residents, model.state["residents"], model.state["communities"]
        closed = led.closed_by_community + led.expired_by_community
        den = closed + 0.5 * led.flowed_back_by_community
        q = np.divide(led.outcome_by_community, den, out=np.zeros(den.size), where=den > 0)
        comm.responsiveness = np.where(den > 0, comm.responsiveness
                                       + r.responsiveness_rate * (q - comm.responsiveness),
                                       comm.responsiveness)
        sat = st.satisfaction
        sat += r.satisfaction_rate * (cls.per_resident(model, comm.responsiveness) - sat)
        owners, values = led.owner_outcomes()
        if owners.size:
            # np.add.at keeps every item of a resident with several closing this week.
            delta = np.zeros(sat.shape)
            np.add.at(delta, owners, OWN_ITEM_WEIGHT * (values - sat[owners]))
            sat += delta
            # Trust drops once per resident with an item worth 0 (subtracting 0 elsewhere
            # would change nothing).
            st.trust[owners[values == 0]] -= TRUST_PENALTY
        if led.sham_owners:
            sham = np.concatenate(led.sham_owners)
            np.subtract.at(sat, sham, r.sham_penalty)
            np.subtract.at(st.trust, sham, r.sham_penalty)
        if led.flow_back_owners:
            flowed = np.concatenate(led.flow_back_owners)
            sat[flowed] -= FLOW_BACK_PENALTY
            st.trust[flowed] -= TRUST_PENALTY
        clip(sat, 0.0, 1.0, out=sat)
        st.trust += r.trust_rate * (sat - st.trust)
        clip(st.trust, 0.0, 1.0, out=st.trust)
