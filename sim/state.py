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
    "StaffState",
    "StreetState",
    "TwoNewState",
    "UnitState",
    "init_state",
]


@dataclass
class StaffState:
    """Evaluated staff of streets (S,) or communities (C,): hours, effort, morale, experience.

    ``delta`` is each actor's form/substance substitution δ, ``shock_form``/``shock_substance``
    its random-utility shocks to the marginal rewards (redrawn each evaluation period).
    """

    street: np.ndarray           # street index (a street's own index for streets)
    n_staff: np.ndarray          # staff members
    staff_hours: np.ndarray      # hours/week
    admin_due: np.ndarray        # hours of administrative work waiting
    admin_served: np.ndarray     # hours served this week
    free_hours: np.ndarray       # hours left after administrative work (and cadre duties)
    form_hours: np.ndarray       # hours on form this week
    substance_hours: np.ndarray  # staff hours on items this week (productivity applies in the queues)
    paper_hours: np.ndarray      # form hours spent closing overdue items on paper this week
    t_form: np.ndarray           # effort on form (multitask rule)
    t_substance: np.ndarray
    intrinsic: np.ndarray        # ι, intrinsic reward of substantive work (utility)
    intrinsic0: np.ndarray       # ι0, this actor's level when rested and recognised
    experience: np.ndarray       # [0, 1]: 0 = all staff new, 1 = all experienced
    delta: np.ndarray            # δ
    shock_form: np.ndarray
    shock_substance: np.ndarray
    form_output: np.ndarray      # moving average of the form share of working time
    score: np.ndarray            # latest evaluation score in [0, 1]
    true_performance: np.ndarray  # P of the latest evaluation period (solved share), NaN if none
    leavers: np.ndarray          # staff who left this week


@dataclass
class CommunityState(StaffState):
    """Community two committees (C,)."""

    n_residents: np.ndarray = None
    volunteer_hours: np.ndarray = None
    responsiveness: np.ndarray = None  # L: moving average of the worth of closed items
    participation: np.ndarray = None   # share of residents taking part last week


StreetState = StaffState


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
    motivation: np.ndarray       # b_k (intrinsic)
    motivation0: np.ndarray
    sensitivity: np.ndarray      # s_k, response to external pressure
    cost: np.ndarray             # c_k
    participating: np.ndarray    # bool, this week
    p_participate: np.ndarray    # probability used this week
    weeks_in: np.ndarray         # (2,) per organisation: weeks taking part outside/inside campaigns
    weeks_seen: np.ndarray       # (2,) weeks outside/inside campaigns since week 1


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
    by_street: np.ndarray        # (S, P_max) pool indices of each street's members, −1 = none
    n_units: int

    def __post_init__(self) -> None:
        # Lookup tables derived once from the fixed membership and capacities, so that the
        # weekly routing gathers whole rows instead of recomputing the same values per item.
        valid = self.by_street >= 0
        safe = np.where(valid, self.by_street, 0)
        #: (S,) members of each street.
        self.n_by_street = valid.sum(axis=1)
        cap = self.capacity[safe].transpose(0, 2, 1)  # (S, D, P_max)
        with np.errstate(divide="ignore"):
            log_cap = np.log(self.capacity)[safe].transpose(0, 2, 1)
        #: (S, D, P_max) log capacity of each street's members in each domain, −inf = none
        #: (the conference's sampling weights; ``np.log`` of the very same values).
        self.log_capacity_by_street = np.ascontiguousarray(
            np.where(valid[:, None, :], log_cap, -np.inf))
        #: (2, S, D) pool index of the street's member strongest in the domain, −1 if none
        #: (first of equals in ``by_street`` order); [0] any member, [1] organisations only.
        self.strongest_by_street = np.stack([
            _strongest_member(cap, safe, valid),
            _strongest_member(cap, safe, valid & ~self.is_unit[safe])])


def _strongest_member(cap: np.ndarray, safe: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """(S, D) pool index of the eligible member with the highest capacity (−1 if none)."""
    if cap.shape[2] == 0:
        return np.full(cap.shape[:2], -1, np.int64)
    masked = np.where(eligible[:, None, :], cap, -np.inf)
    best = np.argmax(masked, axis=2)  # (S, D): first maximum, as np.argmax over members
    found = np.isfinite(np.take_along_axis(masked, best[:, :, None], axis=2)[:, :, 0])
    member = np.take_along_axis(np.broadcast_to(safe[:, None, :], masked.shape),
                                best[:, :, None], axis=2)[:, :, 0]
    return np.where(found, member, -1)


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


def _staff(n: int, street: np.ndarray, n_staff: np.ndarray, cfg, rng) -> StaffState | dict:
    from .structure import beta_around, lognormal_factor

    st = cfg.staff
    hours = n_staff * cfg.population.hours_per_staff
    iota0 = st.intrinsic_motivation * lognormal_factor(st.intrinsic_spread, n, rng)
    delta = np.minimum(beta_around(cfg.evaluation.effort_substitution, st.substitution_spread, n, rng),
                       0.95)

    def z():
        return np.zeros(n)

    return dict(street=street, n_staff=n_staff.astype(float), staff_hours=hours.astype(float),
                admin_due=z(), admin_served=z(), free_hours=z(), form_hours=z(),
                substance_hours=z(), paper_hours=z(), t_form=z(), t_substance=z(),
                intrinsic=iota0.copy(), intrinsic0=iota0, experience=np.ones(n), delta=delta,
                shock_form=z(), shock_substance=z(), form_output=z(), score=np.full(n, 0.5),
                true_performance=np.full(n, np.nan), leavers=z())


def init_state(cfg, world: World, rng: np.random.Generator):
    """Draw every agent's traits and initial state. Returns a dict of the containers."""
    pop, D = cfg.population, cfg.items.n_domains
    L = world.layout
    S, C, U, K, N = L.n_streets, L.n_communities, L.n_units, L.n_two_new, L.n_residents
    streets = StaffState(**_staff(S, np.arange(S), world.structure.column("street_staff"), cfg,
                                  rng))
    communities = CommunityState(
        **_staff(C, world.community_street.copy(), np.full(C, pop.community_staff), cfg, rng),
        n_residents=np.bincount(world.resident_community, minlength=C).astype(float),
        volunteer_hours=np.zeros(C), responsiveness=np.full(C, 0.5), participation=np.zeros(C))

    higher = world.unit_higher_rank
    u_cap = _capacity(U, D, rng.integers(1, 3, U), np.where(higher, 1.5, 1.0), rng)
    ucfg = cfg.units
    units = UnitState(
        street=world.unit_street.copy(), community=world.unit_community.copy(),
        higher_rank=higher, capacity=u_cap,
        benefit_share=np.clip(rng.normal(ucfg.benefit_share, ucfg.benefit_share_spread, U), 0.0, 1.0),
        cost=np.maximum(rng.normal(ucfg.participation_cost, ucfg.cost_spread, U), 0.0)
        * np.where(higher, ucfg.higher_rank_cost, 1.0),
        motivation=np.zeros(U), participating=np.zeros(U, bool))

    social = rng.random(K) < pop.share_social_orgs
    k_cap = _capacity(K, D, np.where(social, 2, 1), np.where(social, 0.9, 1.2), rng)
    tcfg = cfg.two_new
    # Few Party members, little discipline or support: motivation grows with members (paper:
    # "两新组织中的党组织党员数量较少…参与'党建联席会议'的动机不强").
    members = rng.poisson(2.0, K)
    b0 = rng.normal(tcfg.motivation_mean, tcfg.motivation_sd, K) \
        + tcfg.party_member_motivation * (members - 2.0)
    spread = tcfg.sensitivity_spread
    two_new = TwoNewState(
        street=world.two_new_street.copy(), community=world.two_new_community.copy(),
        social=social, party_members=members, capacity=k_cap,
        motivation=b0.copy(), motivation0=b0,
        sensitivity=tcfg.pressure_sensitivity * np.where(social, 0.75, 1.25)
        * rng.uniform(1 - spread, 1 + spread, K),
        cost=np.maximum(rng.normal(tcfg.participation_cost, tcfg.cost_spread, K), 0.0),
        participating=np.zeros(K, bool), p_participate=np.zeros(K),
        weeks_in=np.zeros((K, 2)), weeks_seen=np.zeros(2))

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

    node = np.concatenate([L.unit0 + np.arange(U), L.two_new0 + np.arange(K)])
    street = np.concatenate([world.unit_street, world.two_new_street]).astype(np.int64)
    pool = AssigneePool(
        node=node, street=street,
        community=np.concatenate([world.unit_community, world.two_new_community]),
        is_unit=np.concatenate([np.ones(U, bool), np.zeros(K, bool)]),
        higher_rank=np.concatenate([higher, np.zeros(K, bool)]),
        capacity=np.concatenate([u_cap, k_cap]), by_street=_by_street(street, S), n_units=U)
    return dict(streets=streets, communities=communities, units=units, two_new=two_new,
                residents=residents, pool=pool)


def _by_street(street: np.ndarray, S: int) -> np.ndarray:
    """(S, P_max) pool indices of each street's members, padded with −1."""
    counts = np.bincount(street, minlength=S) if street.size else np.zeros(S, np.int64)
    width = int(counts.max()) if S and street.size else 0
    out = np.full((S, width), -1, np.int64)
    order = np.argsort(street, kind="stable")
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    pos = np.arange(street.size) - starts[street[order]]
    out[street[order], pos] = order
    return out
