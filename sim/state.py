"""Agent state as numpy arrays owned by the model, one container per actor family.

Residents are many, so their state lives in arrays and their weekly update is vectorised;
the organisational actors use the same layout so that one vectorised rule serves all of them.
Mesa agent objects (``sim.agents``) are thin views onto a row of these arrays.

Levers that a user sets (authority, incentives, ...) are *not* copied here: the model reads
them from its (immutable) config every step, so an intervention that swaps the config takes
effect at once. Here live only heterogeneous traits drawn at build time and dynamic state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from .network import World

__all__ = [
    "AssigneePool",
    "CommunityState",
    "ResidentState",
    "StreetState",
    "TwoNewState",
    "UnitState",
    "init_state",
]


@dataclass
class StreetState:
    """Street Party working committees (S,)."""

    staff_hours: np.ndarray      # hours/week
    admin_due: np.ndarray        # hours of administrative work waiting
    admin_served: np.ndarray     # hours served this week
    free_hours: np.ndarray       # hours left after administrative work
    form_hours: np.ndarray       # hours on form this week
    substance_hours: np.ndarray  # hours on items this week
    t_form: np.ndarray           # effort on form (multitask rule)
    t_substance: np.ndarray
    intrinsic: np.ndarray        # ι, intrinsic reward of substantive work
    intrinsic0: np.ndarray


@dataclass
class CommunityState:
    """Community two committees (C,)."""

    street: np.ndarray
    n_residents: np.ndarray
    staff_hours: np.ndarray
    admin_due: np.ndarray
    admin_served: np.ndarray
    free_hours: np.ndarray
    form_hours: np.ndarray
    substance_hours: np.ndarray
    volunteer_hours: np.ndarray
    t_form: np.ndarray
    t_substance: np.ndarray
    intrinsic: np.ndarray
    intrinsic0: np.ndarray
    form_output: np.ndarray      # moving average of the form share of working time
    score: np.ndarray            # latest evaluation score in [0, 1]
    responsiveness: np.ndarray   # L: moving average of what closed items were worth (timeliness)
    participation: np.ndarray    # share of residents taking part last week


@dataclass
class UnitState:
    """Resident units (U,)."""

    street: np.ndarray
    community: np.ndarray
    higher_rank: np.ndarray      # bool: outranks the street
    capacity: np.ndarray         # (U, D) professional resources by domain, ~[0, 2]
    benefit_share: np.ndarray    # α_j
    cost: np.ndarray             # c_j, weekly cost of taking part
    motivation: np.ndarray       # m_j ≥ 0
    participating: np.ndarray    # bool, this week


@dataclass
class TwoNewState:
    """Two-new organisations (K,)."""

    street: np.ndarray
    community: np.ndarray
    social: np.ndarray           # bool: social organisation (else firm)
    party_members: np.ndarray    # int
    capacity: np.ndarray         # (K, D)
    motivation: np.ndarray       # b_k
    motivation0: np.ndarray
    sensitivity: np.ndarray      # s_k, response to external pressure
    cost: np.ndarray             # c_k
    participating: np.ndarray    # bool, this week
    p_participate: np.ndarray    # probability used this week


@dataclass
class ResidentState:
    """Residents (N,)."""

    community: np.ndarray
    civic: np.ndarray            # H ~ U(0,1)
    cost_aversion: np.ndarray    # R ~ U(0,1)
    threshold: np.ndarray        # θ
    participating: np.ndarray    # bool, this week
    satisfaction: np.ndarray     # [0, 1]
    trust: np.ndarray            # [0, 1]


@dataclass
class AssigneePool:
    """Units then organisations, as one pool of possible assignees, grouped by street."""

    node: np.ndarray             # (P,) graph node
    street: np.ndarray           # (P,)
    community: np.ndarray        # (P,)
    is_unit: np.ndarray          # (P,) bool
    higher_rank: np.ndarray      # (P,) bool
    capacity: np.ndarray         # (P, D)
    by_street: np.ndarray        # (S, P_s) pool indices of each street's members
    n_units: int


def _capacity(n: int, n_domains: int, n_strong: np.ndarray, scale: np.ndarray,
              rng: np.random.Generator) -> np.ndarray:
    """Domain capacities: strong (0.6–1.4 × scale) in a few domains, weak (0.1) elsewhere."""
    cap = np.full((n, n_domains), 0.1)
    if n == 0:
        return cap
    keys = rng.random((n, n_domains))
    rank = np.argsort(np.argsort(keys, axis=1), axis=1)
    strong = rank < n_strong[:, None]
    cap[strong] = (rng.uniform(0.6, 1.4, (n, n_domains)) * scale[:, None])[strong]
    return cap


def init_state(cfg, world: World, rng: np.random.Generator):
    """Draw every agent's traits and initial state. Returns a dict of the containers."""
    pop, D = cfg.population, cfg.items.n_domains
    L = world.layout
    S, C, U, K, N = L.n_streets, L.n_communities, L.n_units, L.n_two_new, L.n_residents
    staff_hours_c = pop.community_staff * pop.hours_per_staff
    staff_hours_s = pop.street_staff * pop.hours_per_staff
    iota = cfg.staff.intrinsic_motivation

    def z(n):
        return np.zeros(n)

    streets = StreetState(
        staff_hours=np.full(S, float(staff_hours_s)), admin_due=z(S), admin_served=z(S),
        free_hours=z(S), form_hours=z(S), substance_hours=z(S), t_form=z(S), t_substance=z(S),
        intrinsic=np.full(S, iota), intrinsic0=np.full(S, iota))

    communities = CommunityState(
        street=world.community_street.copy(),
        n_residents=np.bincount(world.resident_community, minlength=C).astype(float),
        staff_hours=np.full(C, float(staff_hours_c)), admin_due=z(C), admin_served=z(C),
        free_hours=z(C), form_hours=z(C), substance_hours=z(C), volunteer_hours=z(C),
        t_form=z(C), t_substance=z(C), intrinsic=np.full(C, iota), intrinsic0=np.full(C, iota),
        form_output=z(C), score=z(C), responsiveness=np.full(C, 0.5), participation=z(C))

    higher = rng.random(U) < pop.share_units_higher_rank
    u_cap = _capacity(U, D, rng.integers(1, 3, U), np.where(higher, 1.5, 1.0), rng)
    ucfg = cfg.units
    units = UnitState(
        street=world.unit_street.copy(), community=world.unit_community.copy(),
        higher_rank=higher, capacity=u_cap,
        benefit_share=np.clip(rng.normal(ucfg.benefit_share, 0.1, U), 0.0, 1.0),
        cost=np.maximum(rng.normal(ucfg.participation_cost, 0.15, U), 0.0)
        * np.where(higher, ucfg.higher_rank_cost, 1.0),
        motivation=z(U), participating=np.zeros(U, bool))

    social = rng.random(K) < pop.share_social_orgs
    k_cap = _capacity(K, D, np.where(social, 2, 1), np.where(social, 0.9, 1.2), rng)
    tcfg = cfg.two_new
    # Few Party members, little discipline or support: motivation grows with members (paper:
    # "两新组织中的党组织党员数量较少…参与'党建联席会议'的动机不强").
    members = rng.poisson(2.0, K)
    b0 = rng.normal(tcfg.motivation_mean, tcfg.motivation_sd, K) \
        + tcfg.party_member_motivation * (members - 2.0)
    two_new = TwoNewState(
        street=world.two_new_street.copy(), community=world.two_new_community.copy(),
        social=social, party_members=members, capacity=k_cap,
        motivation=b0.copy(), motivation0=b0,
        sensitivity=tcfg.pressure_sensitivity * np.where(social, 0.75, 1.25)
        * rng.uniform(0.7, 1.3, K),
        cost=np.maximum(rng.normal(tcfg.participation_cost, 0.15, K), 0.0),
        participating=np.zeros(K, bool), p_participate=z(K))

    rcfg = cfg.residents
    civic = rng.random(N)
    aversion = rng.random(N)
    if rcfg.threshold_assignment == "quantile":
        # Thresholds at the normal quantiles of each community, handed out in random order.
        counts = np.bincount(world.resident_community, minlength=C)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        order = np.lexsort((rng.random(N), world.resident_community))
        rank = np.empty(N, np.int64)
        rank[order] = np.arange(N) - starts[world.resident_community[order]]
        q = (rank + 0.5) / counts[world.resident_community]
        threshold = rcfg.threshold_mean + rcfg.threshold_sd * ndtri(q)
    else:
        threshold = rng.normal(rcfg.threshold_mean, rcfg.threshold_sd, N)
    residents = ResidentState(
        community=world.resident_community.copy(), civic=civic, cost_aversion=aversion,
        threshold=threshold, participating=np.zeros(N, bool),
        satisfaction=np.full(N, 0.5), trust=np.full(N, 0.5))

    P_s = pop.units_per_street + pop.two_new_per_street
    node = np.concatenate([L.unit0 + np.arange(U), L.two_new0 + np.arange(K)])
    street = np.concatenate([world.unit_street, world.two_new_street])
    by_street = np.argsort(street, kind="stable").reshape(S, P_s) if P_s else np.zeros((S, 0), int)
    pool = AssigneePool(
        node=node, street=street,
        community=np.concatenate([world.unit_community, world.two_new_community]),
        is_unit=np.concatenate([np.ones(U, bool), np.zeros(K, bool)]),
        higher_rank=np.concatenate([higher, np.zeros(K, bool)]),
        capacity=np.concatenate([u_cap, k_cap]), by_street=by_street, n_units=U)
    return dict(streets=streets, communities=communities, units=units, two_new=two_new,
                residents=residents, pool=pool)
