"""Resident 居民 — the many (多元): raise items, volunteer, judge the service they get."""

from __future__ import annotations

import numpy as np

from ..numeric import clip
from ..submodels.participation import motive_of_terms, resident_participation
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
        if counts is not None and _everyone(idx):
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

    @staticmethod
    def participating_neighbours(model, idx=slice(None)) -> np.ndarray:
        """(n,) float32 count of ties of residents ``idx`` that took part last week."""
        ties = model.world.ties if isinstance(idx, slice) else model.world.ties[idx]
        return np.asarray(ties @ model.state["residents"].participating.astype(np.float32)).ravel()

    @classmethod
    def peer_share(cls, model, neighbours: np.ndarray, idx=slice(None)) -> np.ndarray:
        """(n,) share of the reference group of residents ``idx`` that took part last week.

        (1 − w)·(community's share) + w·(share of one's ties), w = ``residents.neighbour_weight``;
        the ties' share and its weighting are float32 (``neighbours`` is), the sum float64.
        """
        r, comm = model.config.residents, model.state["communities"]
        degree = model.degree[idx]
        if isinstance(idx, slice) and model.everyone_has_ties:
            ties_share = neighbours / degree
        else:
            ties_share = np.divide(neighbours, degree, out=np.zeros_like(neighbours),
                                   where=degree > 0)
        ties_share *= r.neighbour_weight  # (the float32 product w·share, as w * share gives)
        peer = cls.per_resident(model, (1.0 - r.neighbour_weight) * comm.participation, idx)
        peer += ties_share
        return peer

    @classmethod
    def weighted_reward(cls, model, neighbours: np.ndarray, idx=slice(None)) -> np.ndarray:
        """(n,) w_W·(time bank + volunteer teams·[enough ties take part]) of residents ``idx``.

        Both rewards are per community, so a resident's reward is one of two per-community
        values (its ties reach ``residents.team_min_neighbours`` or not), each computed per
        community as ``w_W * (time_bank + teams * reach)`` is per resident. They and their
        spread to all residents change only with the levers and are kept
        (:meth:`RegionModel.lever_derived`); when the two are equal bit for bit in every
        community (no volunteer teams), the reach is not needed.
        """
        def compute(time_bank, teams):
            comm, w = model.state["communities"], model.config.residents.reward_weight
            by_comm = [w * (time_bank[comm.street] + teams[comm.street] * reach)
                       for reach in (False, True)]
            spread = [cls.per_resident(model, v) for v in by_comm]
            same = np.array_equal(by_comm[0].view(np.int64), by_comm[1].view(np.int64))
            return by_comm, spread, same

        by_comm, spread, same = model.lever_derived(
            "resident_reward_weighted", ("incentives.time_bank", "market.volunteer_teams"),
            compute)
        if not _everyone(idx):
            spread = [cls.per_resident(model, v, idx) for v in by_comm]
        if same:
            return spread[0]
        return np.where(neighbours >= model.config.residents.team_min_neighbours,
                        spread[1], spread[0])

    @classmethod
    def motive(cls, model, idx=slice(None)):
        """Motive of residents ``idx`` given last week's participation (vectorised).

        :func:`sim.submodels.participation.resident_motive` of each resident's inputs, its
        weighted terms formed as there (:func:`~sim.submodels.participation.motive_of_terms`);
        the factors equal for all residents of a community (responsiveness, 1 − autonomy
        space, rewards) are computed per community and spread once.
        """
        r, st, comm = model.config.residents, model.state["residents"], model.state["communities"]
        neighbours = cls.participating_neighbours(model, idx)
        grievance = r.civic_weight * st.civic[idx] * cls.per_resident(model, comm.responsiveness, idx)
        lack_of_space = cls.per_resident(model, 1.0 - comm.free_hours / comm.staff_hours, idx)
        cost = r.cost_weight * st.cost_aversion[idx] * lack_of_space
        peer = cls.peer_share(model, neighbours, idx)
        peer *= r.peer_weight
        return motive_of_terms(grievance, cost, peer, cls.weighted_reward(model, neighbours, idx))

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
        any_closed = den > 0
        # Mean worth where items closed (the quotient elsewhere is not used).
        q = led.outcome_by_community / np.where(any_closed, den, 1.0)
        resp = comm.responsiveness
        comm.responsiveness = np.where(any_closed, resp + r.responsiveness_rate * (q - resp), resp)
        sat = st.satisfaction
        sat += r.satisfaction_rate * (cls.per_resident(model, comm.responsiveness) - sat)
        owners, values = led.owner_outcomes()
        if owners.size:
            # Summed by resident in item order from 0 (as np.add.at into zeros), so every item
            # of a resident with several closing this week counts.
            sat += np.bincount(owners, weights=OWN_ITEM_WEIGHT * (values - sat[owners]),
                               minlength=sat.size)
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


def _everyone(idx) -> bool:
    """Whether ``idx`` selects all residents (``slice(None)``)."""
    return isinstance(idx, slice) and idx == slice(None)
