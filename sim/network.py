"""The district graph: one networkx graph, layers as edge attributes.

Nodes are integers laid out in blocks (see :class:`NodeLayout`): the district (区委), streets
(街道党工委), one joint-conference node per street (党建联席会议), communities (社区"两委"),
resident units (驻区单位), two-new organisations (两新组织) and residents (居民). Every node
carries ``kind`` and ``index`` (position within its kind); organisational nodes also carry
``street`` (and ``community`` where they sit).

Every edge carries ``layers``, a frozenset of layer names (an edge can belong to several):

=================  =====================================================================
``hierarchy``      district → street → community (领导/指导关系)
``jurisdiction``   unit or organisation → the community it sits in (属地)
``conference``     joint-conference node ↔ its members (street, communities, units, orgs)
``fixed_contact``  street ↔ two-new organisation with a committee member as fixed contact
``cadre_exchange`` street ↔ resident unit in two-way cadre exchange (双向互选)
``social``         resident ↔ resident (small world inside a community, a few across)
``service``        unit/organisation ↔ community, formed when it resolves an item there
=================  =====================================================================

Service ties are formed every week but read only with the graph: the phases record them in
numpy arrays (:class:`ServiceTies`, :meth:`World.record_services`), and they are written to
the networkx graph whenever it is read (:attr:`World.org_graph`, :attr:`World.graph`), with
the same edges, attributes and edge order as if each had been added when it formed.

The graph is built only from the config and the model's ``numpy.random.Generator``.
Residents' ties are generated with numpy (a vectorised Watts–Strogatz) and kept as a CSR
matrix (:attr:`World.ties`), which the hot loop uses. The resident nodes and the ``social``
layer are added to the networkx graph from those same arrays the first time
:attr:`World.graph` is read — no random draw happens then, so the graph is identical whenever
it is built — because at the ``district`` scale (300,000 residents, ~900,000 ties) building
them costs seconds and hundreds of megabytes that a sweep run never uses. A test checks that
the graph's social layer equals the CSR matrix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx
import numpy as np
import scipy.sparse as sp

__all__ = [
    "LAYERS",
    "NodeLayout",
    "ServiceTies",
    "World",
    "add_service_tie",
    "build_world",
    "layer_edges",
    "small_world_ties",
    "sync_policy_layers",
    "within_street_quantile",
]

LAYERS = ("hierarchy", "jurisdiction", "conference", "fixed_contact", "cadre_exchange",
          "social", "service")

# One shared frozenset object per layer combination keeps memory low for 10^6 edges.
_L = {name: frozenset((name,)) for name in LAYERS}


@dataclass(frozen=True)
class NodeLayout:
    """Node-id blocks. ``<kind>0`` is the first node id of a kind; ids are contiguous.

    The block starts are computed once (``functools.cached_property``: the phases read them
    thousands of times a run).
    """

    n_streets: int
    n_communities: int
    n_units: int
    n_two_new: int
    n_residents: int

    @property
    def district(self) -> int:
        return 0

    @cached_property
    def street0(self) -> int:
        return 1

    @cached_property
    def conference0(self) -> int:
        return self.street0 + self.n_streets

    @cached_property
    def community0(self) -> int:
        return self.conference0 + self.n_streets

    @cached_property
    def unit0(self) -> int:
        return self.community0 + self.n_communities

    @cached_property
    def two_new0(self) -> int:
        return self.unit0 + self.n_units

    @cached_property
    def resident0(self) -> int:
        return self.two_new0 + self.n_two_new

    @cached_property
    def n_nodes(self) -> int:
        return self.resident0 + self.n_residents

    def kind_of(self, node: int) -> str:
        """The kind of a node id."""
        for kind, start in (("resident", self.resident0), ("two_new", self.two_new0),
                            ("unit", self.unit0), ("community", self.community0),
                            ("conference", self.conference0), ("street", self.street0)):
            if node >= start:
                return kind
        return "district"


class ServiceTies:
    """Service ties recorded since the graph was last brought up to date, as numpy arrays over
    (provider, community) pairs: providers are the units then the two-new organisations (node
    ``unit0 + p``), communities node ``community0 + c``; pair ``p * n_communities + c``.

    ``count`` (services), ``last`` (step of the latest) and ``first`` (order of the first
    service of the pair since the last :meth:`write_to`) are (P·C,) int64 arrays; every pair
    has count 0 and first ``_NOT_YET`` right after ``write_to``.
    """

    _NOT_YET = np.iinfo(np.int64).max

    def __init__(self, layout: NodeLayout):
        self.provider0 = layout.unit0
        self.community0 = layout.community0
        self.n_communities = layout.n_communities
        pairs = (layout.n_units + layout.n_two_new) * layout.n_communities
        self.count = np.zeros(pairs, np.int64)
        self.last = np.zeros(pairs, np.int64)
        self.first = np.full(pairs, self._NOT_YET, np.int64)
        self.n_recorded = 0  # services recorded so far (orders the first ones)
        self.pending = False

    def record(self, provider_node: np.ndarray, community: np.ndarray, step: int) -> None:
        """Services at ``step``, in this order: (m,) provider node ids and (m,) community
        indices (the same pair may come several times)."""
        m = provider_node.size
        if m == 0:
            return
        pair = (provider_node - self.provider0) * self.n_communities + community
        np.add.at(self.count, pair, 1)
        self.last[pair] = step
        np.minimum.at(self.first, pair, np.arange(self.n_recorded, self.n_recorded + m))
        self.n_recorded += m
        self.pending = True

    def write_to(self, G: nx.Graph) -> None:
        """Add the recorded services to ``G`` as :func:`add_service_tie` would have, one by
        one in the order they were recorded (new edges in the order they formed), and
        forget them."""
        if not self.pending:
            return
        pairs = np.flatnonzero(self.count)
        pairs = pairs[np.argsort(self.first[pairs], kind="stable")]
        C, p0, c0 = self.n_communities, self.provider0, self.community0
        for pair, n, last in zip(pairs.tolist(), self.count[pairs].tolist(),
                                 self.last[pairs].tolist()):
            p, c = divmod(pair, C)
            _add_services(G, p0 + p, c0 + c, n, last)
        self.count[pairs] = 0
        self.first[pairs] = self._NOT_YET
        self.pending = False


@dataclass
class World:
    """What the graph builder returns: the graph plus the same structure as numpy arrays."""

    base_graph: nx.Graph           # read it as ``org_graph`` or ``graph`` (service ties added)
    layout: NodeLayout
    community_street: np.ndarray   # (C,) street index of each community
    unit_street: np.ndarray        # (U,)
    unit_community: np.ndarray     # (U,)
    two_new_street: np.ndarray     # (K,)
    two_new_community: np.ndarray  # (K,)
    resident_community: np.ndarray  # (N,)
    ties: sp.csr_matrix            # (N, N) symmetric 0/1 adjacency of residents' social ties
    contact_order: np.ndarray      # (K,) rank of each organisation for fixed contact
    exchange_order: np.ndarray     # (U,) rank of each unit for cadre exchange
    domain_order: np.ndarray       # (D,) rank of each domain for the responsibility list
    social_u: np.ndarray = None    # ties (u < v) as resident indices, for the graph
    social_v: np.ndarray = None
    structure: object = None       # sim.structure.DistrictStructure (the streets table)
    unit_higher_rank: np.ndarray = None  # (U,) bool: unit outranks its street
    street_order: np.ndarray = None  # (S,) rank of each street in the per-seed pilot order
    street_adjacency: np.ndarray = None  # (S, S) 0/1: streets that border each other
    residents_in_graph: bool = False
    services: ServiceTies = field(default=None, repr=False)  # recorded, not yet in the graph

    def __post_init__(self):
        if self.services is None:
            self.services = ServiceTies(self.layout)

    @property
    def streets(self):
        """pandas DataFrame, one row per street (the district's structure)."""
        return self.structure.streets

    @property
    def org_graph(self) -> nx.Graph:
        """The graph without resident nodes (unless ``graph`` was read), service ties up to
        date. Read the graph only through this or ``graph``."""
        self.services.write_to(self.base_graph)
        return self.base_graph

    @property
    def graph(self) -> nx.Graph:
        """The whole district graph; resident nodes and social ties are added on first use."""
        if not self.residents_in_graph:
            _add_residents(self)
        return self.org_graph

    def record_services(self, provider_node: np.ndarray, community: np.ndarray,
                        step: int) -> None:
        """Service ties formed at ``step`` when providers (m,) node ids resolve items in
        communities (m,) indices, in this order (see :class:`ServiceTies`)."""
        self.services.record(provider_node, community, step)


def small_world_ties(resident_community: np.ndarray, community_street: np.ndarray,
                     k: int, p_rewire: float, cross_share: float,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Watts–Strogatz ties inside each community, vectorised over all residents.

    Each resident is joined to its ``k/2`` successors on a ring of its community; each such tie
    is rewired with probability ``p_rewire`` to a uniformly drawn resident — of another community
    of the same street with probability ``cross_share``, else of its own. Self-loops and
    duplicate ties created by rewiring are dropped (so the mean degree is slightly below ``k``).

    Returns:
        (u, v): int64 arrays of resident indices with u < v, each undirected tie once.
    """
    n = resident_community.size
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    counts = np.bincount(resident_community, minlength=community_street.size)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    own_start = starts[resident_community]
    own_size = counts[resident_community]
    local = np.arange(n) - own_start
    half = k // 2
    u = np.repeat(np.arange(n), half)
    d = np.tile(np.arange(1, half + 1), n)
    v = own_start[u] + (local[u] + d) % own_size[u]
    rewire = rng.random(u.size) < p_rewire
    m = int(rewire.sum())
    if m:
        ru = u[rewire]
        comm = resident_community[ru].copy()
        cross = rng.random(m) < cross_share
        if cross.any():
            # Another community of the same street, when the street has more than one.
            street = community_street[comm[cross]]
            per_street = np.bincount(community_street, minlength=community_street.max() + 1)
            first = np.searchsorted(community_street, street)  # communities are street-ordered
            size = per_street[street]
            offset = rng.integers(0, np.maximum(size - 1, 1))
            own_pos = comm[cross] - first
            pick = first + (own_pos + 1 + offset) % size
            comm[cross] = np.where(size > 1, pick, comm[cross])
        v[rewire] = starts[comm] + (rng.random(m) * counts[comm]).astype(np.int64)
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    keep = lo != hi
    pairs = np.unique(lo[keep] * n + hi[keep])
    return pairs // n, pairs % n


def _order(n: int, rng: np.random.Generator) -> np.ndarray:
    """Rank of each of n items in a random order (0 = first to be switched on)."""
    return np.argsort(rng.permutation(n)).astype(np.int64)


def build_world(cfg, rng: np.random.Generator) -> World:
    """Build the district graph and structure arrays from a validated config."""
    from .levers import street_adjacency
    from .structure import draw_structure

    pop = cfg.population
    structure = draw_structure(cfg, rng)
    col = structure.column
    comms = col("communities")
    S = len(comms)
    higher = col("units_higher_rank")
    n_units = higher + col("units_lower_rank")
    n_two_new = col("two_new")
    C, U, K = int(comms.sum()), int(n_units.sum()), int(n_two_new.sum())
    N = int(structure.community_size.sum())
    layout = NodeLayout(S, C, U, K, N)

    community_street = np.repeat(np.arange(S), comms)
    first_comm = np.r_[0, np.cumsum(comms)[:-1]].astype(np.int64)
    unit_street = np.repeat(np.arange(S), n_units)
    two_new_street = np.repeat(np.arange(S), n_two_new)
    # Units and organisations sit in a random community of their street.
    unit_community = first_comm[unit_street] + (rng.random(U) * comms[unit_street]).astype(np.int64)
    two_new_community = first_comm[two_new_street] + \
        (rng.random(K) * comms[two_new_street]).astype(np.int64)
    # Which of a street's units outrank it: the street's count, in random positions.
    unit_higher_rank = np.zeros(U, bool)
    start = 0
    for s_, (n, h) in enumerate(zip(n_units.tolist(), higher.tolist())):
        unit_higher_rank[start + rng.permutation(n)[:h]] = True
        start += n
    resident_community = np.repeat(np.arange(C), structure.community_size)

    tu, tv = small_world_ties(resident_community, community_street, pop.resident_ties,
                              pop.tie_rewiring, pop.cross_community_share, rng)
    ties = sp.coo_matrix((np.ones(2 * tu.size, np.float32),
                          (np.concatenate([tu, tv]), np.concatenate([tv, tu]))),
                         shape=(N, N)).tocsr()

    world = World(
        base_graph=nx.Graph(),
        layout=layout,
        community_street=community_street,
        unit_street=unit_street,
        unit_community=unit_community,
        two_new_street=two_new_street,
        two_new_community=two_new_community,
        resident_community=resident_community,
        ties=ties,
        contact_order=_order(K, rng),
        exchange_order=_order(U, rng),
        domain_order=_order(cfg.items.n_domains, rng),
        social_u=tu, social_v=tv,
        structure=structure, unit_higher_rank=unit_higher_rank,
        street_order=_order(S, rng), street_adjacency=street_adjacency(S, rng),
    )
    _fill_graph(world)
    return world


def _fill_graph(world: World) -> None:
    G, L = world.org_graph, world.layout
    G.graph["layout"] = L
    G.add_node(L.district, kind="district", index=0)
    for s in range(L.n_streets):
        G.add_node(L.street0 + s, kind="street", index=s, street=s)
        G.add_node(L.conference0 + s, kind="conference", index=s, street=s)
        G.add_edge(L.district, L.street0 + s, layers=_L["hierarchy"])
        G.add_edge(L.conference0 + s, L.street0 + s, layers=_L["conference"])
    for c, s in enumerate(world.community_street):
        node = L.community0 + c
        G.add_node(node, kind="community", index=c, street=int(s), community=c)
        G.add_edge(L.street0 + int(s), node, layers=_L["hierarchy"])
        G.add_edge(L.conference0 + int(s), node, layers=_L["conference"])
    for kind, start, streets, comms in (
        ("unit", L.unit0, world.unit_street, world.unit_community),
        ("two_new", L.two_new0, world.two_new_street, world.two_new_community),
    ):
        for i, (s, c) in enumerate(zip(streets.tolist(), comms.tolist())):
            node = start + i
            G.add_node(node, kind=kind, index=i, street=s, community=c)
            G.add_edge(node, L.community0 + c, layers=_L["jurisdiction"])
            G.add_edge(L.conference0 + s, node, layers=_L["conference"])


def _add_residents(world: World) -> None:
    """Add resident nodes and the social layer (from the arrays drawn at build time)."""
    G, r0 = world.org_graph, world.layout.resident0
    G.add_nodes_from(
        (r0 + i, {"kind": "resident", "index": i, "community": c})
        for i, c in enumerate(world.resident_community.tolist())
    )
    G.add_edges_from(zip((world.social_u + r0).tolist(), (world.social_v + r0).tolist()),
                     layers=_L["social"])
    world.residents_in_graph = True


def _set_layer(G: nx.Graph, u: int, v: int, layer: str, on: bool) -> None:
    data = G.get_edge_data(u, v)
    if on:
        if data is None:
            G.add_edge(u, v, layers=_L[layer])
        elif layer not in data["layers"]:
            data["layers"] = data["layers"] | _L[layer]
    elif data is not None and layer in data["layers"]:
        rest = data["layers"] - _L[layer]
        if rest:
            data["layers"] = rest
        else:
            G.remove_edge(u, v)


def within_street_quantile(order: np.ndarray, street: np.ndarray) -> np.ndarray:
    """(n,) position in (0, 1) of each member within its street, in the fixed random order
    ``order`` (drawn at build time): the members with quantile below ``share`` are switched on,
    i.e. share·n_s rounded to the nearest whole number (halves down) in each street."""
    n = order.size
    if n == 0:
        return np.zeros(0)
    idx = np.lexsort((order, street))
    counts = np.bincount(street)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    rank = np.empty(n, np.int64)
    rank[idx] = np.arange(n) - starts[street[idx]]
    return (rank + 0.5) / counts[street]


def sync_policy_layers(world: World, contact: np.ndarray, exchange: np.ndarray) -> None:
    """Make the fixed-contact and cadre-exchange layers match the (K,) and (U,) masks.

    Organisations (units) are switched on in the fixed random order drawn at build time, so
    raising a share mid-run (an intervention) adds ties without new random draws.
    """
    # (``org_graph`` writes the service ties recorded so far first: edges keep their order)
    G, L = world.org_graph, world.layout
    for k, s in enumerate(world.two_new_street.tolist()):
        _set_layer(G, L.street0 + s, L.two_new0 + k, "fixed_contact", bool(contact[k]))
    for j, s in enumerate(world.unit_street.tolist()):
        _set_layer(G, L.street0 + s, L.unit0 + j, "cadre_exchange", bool(exchange[j]))


def add_service_tie(G: nx.Graph, provider_node: int, community_node: int, step: int) -> None:
    """Record (or strengthen) a service tie formed when a provider resolves an item.

    The model's phases record ties with :meth:`World.record_services` instead (written to the
    graph when it is read); call this on ``world.org_graph`` only (which is up to date).
    """
    _add_services(G, provider_node, community_node, 1, step)


def _add_services(G: nx.Graph, provider_node: int, community_node: int, n: int,
                  last: int) -> None:
    """n services of a provider in a community, the latest at step ``last``."""
    data = G.get_edge_data(provider_node, community_node)
    if data is None:
        G.add_edge(provider_node, community_node, layers=_L["service"], services=n, last=last)
        return
    if "service" not in data["layers"]:
        data["layers"] = data["layers"] | _L["service"]
    data["services"] = data.get("services", 0) + n
    data["last"] = last


def layer_edges(G: nx.Graph, layer: str) -> list[tuple[int, int]]:
    """All edges of one layer."""
    return [(u, v) for u, v, ls in G.edges(data="layers") if layer in ls]
