"""The district graph: built only from the config and the model's generator, every layer with
the right endpoints, residents' ties kept identically in the graph and the CSR matrix."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest
from helpers import (
    SMALL_POPULATION,
    UNIFORM_STREETS,
    graph_signature,
    make_model,
    stepped,
    switched_on_by_street,
)

import sim
from sim.compose import compose, with_values
from sim.items import Reason
from sim.network import LAYERS, build_world, layer_edges, sync_policy_layers

KIND_COUNTS = {"district": lambda L: 1, "street": lambda L: L.n_streets,
               "conference": lambda L: L.n_streets, "community": lambda L: L.n_communities,
               "unit": lambda L: L.n_units, "two_new": lambda L: L.n_two_new,
               "resident": lambda L: L.n_residents}


def small_cfg(**extra):
    return compose(overrides={**SMALL_POPULATION, **extra})


def kinds(G):
    return dict(G.nodes(data="kind"))


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_graph():
    cfg = small_cfg(**{"population.tie_rewiring": 0.3, "incentives.fixed_contact": 0.5,
                       "incentives.cadre_exchange": 0.5})
    a = build_world(cfg, np.random.default_rng(42))
    b = build_world(cfg, np.random.default_rng(42))
    assert graph_signature(a.graph) == graph_signature(b.graph)
    assert (a.ties != b.ties).nnz == 0
    for name in ("unit_community", "two_new_community", "contact_order", "exchange_order",
                 "domain_order"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_same_seed_same_graph_through_the_model():
    a = make_model(SMALL_POPULATION, rng=5)
    b = make_model(SMALL_POPULATION, rng=5)
    assert graph_signature(a.graph) == graph_signature(b.graph)


def test_different_seed_different_graph():
    cfg = small_cfg()
    a = build_world(cfg, np.random.default_rng(1))
    b = build_world(cfg, np.random.default_rng(2))
    assert set(layer_edges(a.graph, "social")) != set(layer_edges(b.graph, "social"))
    assert graph_signature(a.graph) != graph_signature(b.graph)


def test_no_global_rng_is_used():
    """Seeding numpy's and Python's global generators differently changes nothing."""
    results = []
    for g in (1, 2):
        np.random.seed(g)
        random.seed(g)
        model = make_model(SMALL_POPULATION, rng=9)
        results.append(graph_signature(model.graph))
        np.random.seed(g + 100)
        random.seed(g + 100)
        res = sim.run(seed=9, steps=5, overrides=["population=classroom"])
        results.append(res.timeseries)
    assert results[0] == results[2]
    assert results[1].equals(results[3])


# --------------------------------------------------------------------------- nodes


POPULATIONS = [SMALL_POPULATION, {"population": "classroom"},
               {**SMALL_POPULATION, **UNIFORM_STREETS}, {"population": "classroom", **UNIFORM_STREETS}]


@pytest.mark.parametrize("population", POPULATIONS,
                         ids=["small", "classroom", "small-uniform", "classroom-uniform"])
def test_node_counts_per_kind_match_the_layout(population):
    model = make_model({**population, "spin_up": 0})
    G, L = model.graph, model.layout
    counts = Counter(kinds(G).values())
    assert set(counts) <= set(KIND_COUNTS)
    for kind, n in KIND_COUNTS.items():
        assert counts.get(kind, 0) == n(L), kind
    assert G.number_of_nodes() == L.n_nodes
    assert sorted(G.nodes) == list(range(L.n_nodes))
    pop = model.config.population
    # Heterogeneous streets: the layout adds up the structure's per-street rows.
    T = model.world.streets
    assert len(T) == L.n_streets == pop.n_streets
    assert L.n_communities == T["communities"].sum() == pop.n_streets * pop.communities_per_street
    assert L.n_units == (T["units_higher_rank"] + T["units_lower_rank"]).sum()
    assert L.n_two_new == T["two_new"].sum()
    assert L.n_residents == T["residents"].sum()
    assert (T["units_higher_rank"] + T["units_lower_rank"] >= 1).all()  # at least one per street
    assert (T["two_new"] >= 1).all()
    assert model.world.unit_higher_rank.sum() == T["units_higher_rank"].sum()
    if all(getattr(pop, k.split(".")[1]) == 0 for k in UNIFORM_STREETS):
        # identical streets: the textbook counts exactly
        assert L.n_units == pop.n_streets * pop.units_per_street
        assert L.n_two_new == pop.n_streets * pop.two_new_per_street
        assert L.n_residents == L.n_communities * pop.residents_per_community


def test_node_kind_and_index_match_layout_blocks(small_model):
    G, L = small_model.graph, small_model.layout
    seen = Counter()
    for node, data in G.nodes(data=True):
        assert L.kind_of(node) == data["kind"]
        assert data["index"] == seen[data["kind"]]  # blocks are contiguous, in index order
        seen[data["kind"]] += 1


@pytest.mark.parametrize("uniform", [False, True], ids=["heterogeneous", "uniform"])
def test_node_street_and_community_attributes(uniform):
    model = make_model({**SMALL_POPULATION, **(UNIFORM_STREETS if uniform else {})}, rng=11)
    G, L, W = model.graph, model.layout, model.world
    pop = model.config.population
    # Residents sit in contiguous blocks, one per community in community order, of the
    # community's size (drawn per community; all equal with identical streets).
    sizes = np.bincount(W.resident_community, minlength=L.n_communities)
    assert (sizes >= 10).all()
    np.testing.assert_array_equal(sizes, model.state["communities"].n_residents)
    first = np.r_[0, np.cumsum(sizes)[:-1]]
    for node, d in G.nodes(data=True):
        if d["kind"] == "community":
            assert d["street"] == d["index"] // pop.communities_per_street
        if d["kind"] in ("unit", "two_new"):
            comm = d["community"]
            assert G.nodes[L.community0 + comm]["street"] == d["street"]
        if d["kind"] == "resident":
            assert d["community"] == W.resident_community[d["index"]]
            c = d["community"]
            assert first[c] <= d["index"] < first[c] + sizes[c]
            if uniform:
                assert d["community"] == d["index"] // pop.residents_per_community


# --------------------------------------------------------------------------- layers


def edges_by_layer(G):
    out = {layer: [] for layer in LAYERS}
    for u, v, ls in G.edges(data="layers"):
        assert ls, (u, v)
        assert set(ls) <= set(LAYERS), ls
        for layer in ls:
            out[layer].append((u, v))
    return out


def kind_pair(G, u, v):
    k = kinds(G)
    return frozenset((k[u], k[v])) if k[u] != k[v] else frozenset((k[u],))


def test_hierarchy_district_street_community(small_model):
    G, L = small_model.graph, small_model.layout
    edges = edges_by_layer(G)["hierarchy"]
    assert len(edges) == L.n_streets + L.n_communities
    for u, v in edges:
        a, b = sorted((u, v))
        ka, kb = G.nodes[a]["kind"], G.nodes[b]["kind"]
        if ka == "district":
            assert kb == "street"
        else:
            assert (ka, kb) == ("street", "community")
            assert G.nodes[b]["street"] == G.nodes[a]["index"]
    # every community has exactly one street above it, every street the district
    for c in range(L.n_communities):
        ups = [n for n in G[L.community0 + c] if "hierarchy" in G[L.community0 + c][n]["layers"]]
        assert len(ups) == 1 and G.nodes[ups[0]]["kind"] == "street"


def test_jurisdiction_unit_or_org_to_a_community_of_its_street(small_model):
    G, L = small_model.graph, small_model.layout
    edges = edges_by_layer(G)["jurisdiction"]
    assert len(edges) == L.n_units + L.n_two_new
    members = Counter()
    for u, v in edges:
        org, comm = (u, v) if G.nodes[u]["kind"] in ("unit", "two_new") else (v, u)
        assert G.nodes[org]["kind"] in ("unit", "two_new")
        assert G.nodes[comm]["kind"] == "community"
        assert G.nodes[comm]["street"] == G.nodes[org]["street"]
        assert G.nodes[org]["community"] == G.nodes[comm]["index"]
        members[org] += 1
    assert all(n == 1 for n in members.values())


def test_conference_membership(small_model):
    G, L = small_model.graph, small_model.layout
    edges = edges_by_layer(G)["conference"]
    assert len(edges) == L.n_streets + L.n_communities + L.n_units + L.n_two_new
    for s in range(L.n_streets):
        conf = L.conference0 + s
        assert G.nodes[conf]["kind"] == "conference" and G.nodes[conf]["street"] == s
        got = {n for n in G[conf] if "conference" in G[conf][n]["layers"]}
        want = {L.street0 + s}
        want |= {n for n, d in G.nodes(data=True)
                 if d["kind"] in ("community", "unit", "two_new") and d["street"] == s}
        assert got == want
        assert set(G[conf]) == want  # a conference node has no other ties


POLICY_LAYERS = [  # (lever, layer, kind of the non-street end, flags, first node of that kind)
    ("incentives.fixed_contact", "fixed_contact", "two_new", "two_new_in_contact", "two_new0"),
    ("incentives.cadre_exchange", "cadre_exchange", "unit", "unit_in_exchange", "unit0"),
]


@pytest.mark.parametrize("share", [0.0, 0.3, 0.5, 1.0])
@pytest.mark.parametrize("lever,layer,kind,flags,first", POLICY_LAYERS,
                         ids=[row[1] for row in POLICY_LAYERS])
def test_policy_layer_count_and_endpoints(share, lever, layer, kind, flags, first):
    model = make_model({**SMALL_POPULATION, lever: share})
    G, L, W = model.graph, model.layout, model.world
    edges = edges_by_layer(G)[layer]
    street_of = W.two_new_street if kind == "two_new" else W.unit_street
    order = W.contact_order if kind == "two_new" else W.exchange_order
    # The share applies in each street (streets differ in size), rounded off per street.
    want = switched_on_by_street(share, street_of, L.n_streets)
    sizes = np.bincount(street_of, minlength=L.n_streets)
    assert (np.abs(want - share * sizes) <= 0.5).all()
    assert len(edges) == want.sum()
    per_street = Counter()
    for u, v in edges:
        street, other = sorted((u, v))
        assert G.nodes[street]["kind"] == "street" and G.nodes[other]["kind"] == kind
        assert G.nodes[other]["street"] == G.nodes[street]["index"]
        per_street[G.nodes[street]["index"]] += 1
    assert [per_street[s] for s in range(L.n_streets)] == want.tolist()
    flagged = getattr(model, flags)()
    assert flagged.sum() == len(edges)
    assert {max(e) - getattr(L, first) for e in edges} == set(np.flatnonzero(flagged).tolist())
    # within a street, members are switched on in the fixed order drawn at build
    for s in range(L.n_streets):
        mine = np.flatnonzero(street_of == s)
        ranked = mine[np.argsort(order[mine], kind="stable")]
        np.testing.assert_array_equal(np.sort(ranked[:want[s]]), np.sort(mine[flagged[mine]]))


def test_every_layer_but_service_is_present_at_build():
    # "At build": before any week, the spin-up included (spin-up weeks are real weeks).
    model = make_model({**SMALL_POPULATION, "incentives.fixed_contact": 0.5,
                        "incentives.cadre_exchange": 0.5, "spin_up": 0})
    layers = edges_by_layer(model.graph)
    for layer in LAYERS:
        assert bool(layers[layer]) == (layer != "service"), layer


def test_no_service_ties_before_any_step():
    model = make_model({**SMALL_POPULATION, "spin_up": 0}, rng=11)
    assert edges_by_layer(model.graph)["service"] == []
    # The spin-up weeks run the same rules before week 1, so they form service ties.
    spun = make_model({**SMALL_POPULATION, "spin_up": 26}, rng=11)
    assert model.steps == spun.steps == 0
    assert edges_by_layer(spun.graph)["service"]


def test_social_ties_only_between_residents(small_model):
    G = small_model.graph
    edges = edges_by_layer(G)["social"]
    assert edges
    for u, v in edges:
        assert G.nodes[u]["kind"] == G.nodes[v]["kind"] == "resident"
        assert u != v
    # residents have no ties other than social ones
    for u, v, ls in G.edges(data="layers"):
        if "resident" in (G.nodes[u]["kind"], G.nodes[v]["kind"]):
            assert ls == frozenset({"social"})


@pytest.mark.parametrize("k", [2, 6, 10])
def test_mean_degree_close_to_resident_ties(k):
    model = make_model({**SMALL_POPULATION, "population.resident_ties": k}, rng=4)
    degree = np.asarray(model.world.ties.sum(axis=1)).ravel()
    # rewiring drops a few duplicate ties and self-loops, never adds any
    assert 0.9 * k <= degree.mean() <= k
    np.testing.assert_array_equal(model.degree, degree)


@pytest.mark.parametrize("k", [2, 4, 8])
def test_no_rewiring_gives_exact_ring_lattice(k):
    model = make_model({**SMALL_POPULATION, "population.resident_ties": k,
                        "population.tie_rewiring": 0.0})
    W = model.world
    # communities differ in size: the ring of each resident is its own community's
    n_per = np.bincount(W.resident_community)[W.resident_community]
    assert (n_per > k).all()
    degree = np.asarray(W.ties.sum(axis=1)).ravel()
    assert (degree == k).all()
    rows, cols = W.ties.nonzero()
    same = W.resident_community[rows] == W.resident_community[cols]
    assert same.all()
    n = n_per[rows]
    ring = np.minimum((rows - cols) % n, (cols - rows) % n)
    assert ((ring >= 1) & (ring <= k // 2)).all()


def test_without_cross_share_ties_stay_in_their_community():
    model = make_model({**SMALL_POPULATION, "population.tie_rewiring": 0.5,
                        "population.cross_community_share": 0.0})
    W = model.world
    rows, cols = W.ties.nonzero()
    assert (W.resident_community[rows] == W.resident_community[cols]).all()


def test_cross_community_ties_only_within_the_same_street():
    model = make_model({**SMALL_POPULATION, "population.tie_rewiring": 0.6,
                        "population.cross_community_share": 0.5}, rng=2)
    W = model.world
    rows, cols = W.ties.nonzero()
    cr, cc = W.resident_community[rows], W.resident_community[cols]
    cross = cr != cc
    assert cross.sum() > 0  # the situation is constructed to have many
    np.testing.assert_array_equal(W.community_street[cr[cross]], W.community_street[cc[cross]])


def test_single_community_streets_keep_cross_ties_at_home():
    model = make_model({**SMALL_POPULATION, "population.communities_per_street": 1,
                        "population.tie_rewiring": 0.6,
                        "population.cross_community_share": 0.5})
    W = model.world
    rows, cols = W.ties.nonzero()
    assert (W.resident_community[rows] == W.resident_community[cols]).all()


@pytest.mark.parametrize("rewiring", [0.0, 0.1, 0.7])
def test_csr_ties_equal_the_social_layer(rewiring):
    model = make_model({**SMALL_POPULATION, "population.tie_rewiring": rewiring,
                        "population.cross_community_share": 0.3}, rng=8)
    W, L = model.world, model.layout
    T = W.ties
    assert (T != T.T).nnz == 0  # symmetric
    assert set(np.unique(T.data).tolist()) <= {1.0}
    assert T.diagonal().sum() == 0
    rows, cols = T.nonzero()
    from_csr = {(int(u) + L.resident0, int(v) + L.resident0) for u, v in zip(rows, cols) if u < v}
    from_graph = {(min(u, v), max(u, v)) for u, v in layer_edges(model.graph, "social")}
    assert from_csr == from_graph
    assert T.nnz == 2 * len(from_graph)


# --------------------------------------------------------------------------- policy layers


def test_intervention_raising_fixed_contact_adds_edges():
    ivs = [{"step": 2, "set": {"incentives.fixed_contact": 1.0, "incentives.cadre_exchange": 0.6}},
           {"step": 3, "set": {"incentives.cadre_exchange": 0.0}}]
    model = make_model({**SMALL_POPULATION, "incentives.fixed_contact": 0.25,
                        "incentives.cadre_exchange": 0.2}, interventions=ivs)
    G, L = model.graph, model.layout
    other = lambda: {layer: sorted(e) for layer, e in edges_by_layer(G).items()
                     if layer in ("hierarchy", "jurisdiction", "conference", "social")}
    before_other = other()
    W = model.world
    n_contact = lambda share: switched_on_by_street(share, W.two_new_street, L.n_streets).sum()
    n_exchange = lambda share: switched_on_by_street(share, W.unit_street, L.n_streets).sum()
    stepped(model, 1)
    contact1 = set(edges_by_layer(G)["fixed_contact"])
    assert len(contact1) == n_contact(0.25) > 0
    exchange1 = set(edges_by_layer(G)["cadre_exchange"])
    assert len(exchange1) == n_exchange(0.2) > 0
    stepped(model, 1)
    assert model.config.incentives.fixed_contact == 1.0
    contact2 = set(edges_by_layer(G)["fixed_contact"])
    assert len(contact2) == L.n_two_new and contact1 < contact2
    exchange2 = set(edges_by_layer(G)["cadre_exchange"])
    assert len(exchange2) == n_exchange(0.6) and exchange1 < exchange2
    stepped(model, 1)
    assert edges_by_layer(G)["cadre_exchange"] == []
    assert set(edges_by_layer(G)["fixed_contact"]) == contact2
    assert other() == before_other  # other layers untouched


def test_sync_policy_layers_draws_no_random_numbers(small_model):
    model, W, L = small_model, small_model.world, small_model.layout
    rng = model.rng
    state = rng.bit_generator.state
    # New shares take effect the way an intervention sets them: config, then street levers;
    # the masks come from within-street quantiles of the orders drawn at build.
    model.config = with_values(model.config, {"incentives.fixed_contact": 0.7,
                                              "incentives.cadre_exchange": 0.9})
    model.levers.set_config(model.config)
    contact, exchange = model.two_new_in_contact(), model.unit_in_exchange()
    sync_policy_layers(W, contact, exchange)
    assert rng.bit_generator.state == state
    layers = edges_by_layer(model.graph)
    assert len(layers["fixed_contact"]) == contact.sum() \
        == switched_on_by_street(0.7, W.two_new_street, L.n_streets).sum()
    assert len(layers["cadre_exchange"]) == exchange.sum() \
        == switched_on_by_street(0.9, W.unit_street, L.n_streets).sum()
    # the layers follow arbitrary masks exactly, and switching them off removes the ties
    sync_policy_layers(W, ~contact, np.zeros_like(exchange))
    assert rng.bit_generator.state == state
    layers = edges_by_layer(model.graph)
    assert {max(e) - L.two_new0 for e in layers["fixed_contact"]} == \
        set(np.flatnonzero(~contact).tolist())
    assert layers["cadre_exchange"] == []


def test_policy_layers_from_config_equal_layers_after_intervention():
    """Switching a share on mid-run gives the very ties a run that starts with it has."""
    start = make_model({**SMALL_POPULATION, "incentives.fixed_contact": 0.5}, rng=6)
    later = make_model(SMALL_POPULATION, rng=6,
                       interventions=[{"step": 1, "set": {"incentives.fixed_contact": 0.5}}])
    stepped(later, 1)
    assert set(layer_edges(start.graph, "fixed_contact")) == \
        set(layer_edges(later.graph, "fixed_contact"))


# --------------------------------------------------------------------------- service ties


def closures_by_pool(model):
    """Counter of (provider node, community node) over items closed (办结, solved or not) by
    units/organisations after working them (not paper closures by staff)."""
    L = model.layout
    h = model.events.table()
    items = model.items.table().set_index("item_id")
    res = h[(h["reason"] == Reason.NAMES[Reason.CLOSE])
            & (h["to_node"] >= L.unit0) & (h["to_node"] < L.resident0)]
    comm = L.community0 + items.loc[res["item_id"], "community"].to_numpy()
    return Counter(zip(res["to_node"].tolist(), comm.tolist()))


def service_ties(model):
    G = model.graph
    return {(min(u, v), max(u, v)): d.get("services")
            for u, v, d in G.edges(data=True) if "service" in d["layers"]}


def check_service_ties(model):
    G = model.graph
    want = closures_by_pool(model)
    assert want, "the scenario must have closures by units or organisations"
    got = service_ties(model)
    assert {(min(k), max(k)): v for k, v in want.items()} == got
    for u, v in got:
        a, b = sorted((u, v))
        assert G.nodes[a]["kind"] == "community"
        assert G.nodes[b]["kind"] in ("unit", "two_new")


def test_service_ties_appear_when_assignees_close_items():
    # spin_up=0: spin-up weeks form ties too but are not kept in the event log.
    model = make_model({"population": "classroom", "submodels.unit_participation": "always",
                        "empowerment.responsibility_list": 1.0, "market.outsourcing": 0.0,
                        "spin_up": 0}, rng=1)
    assert service_ties(model) == {}
    stepped(model, 25)
    check_service_ties(model)
    last = {(min(u, v), max(u, v)): d["last"] for u, v, d in model.graph.edges(data=True)
            if "service" in d["layers"]}
    assert all(1 <= s <= model.steps for s in last.values())


def test_service_ties_appear_when_contracted_organisations_close_outsourced_items():
    """Outsourced items closed by a street's contracted two-new organisation are closures
    by a unit/organisation node too (network.py: service ties form 'when it resolves an item
    there'; add_service_tie: 'when a provider resolves an item')."""
    model = make_model({"population": "classroom", "market.outsourcing": 1.0,
                        "market.provider_capacity": 100.0, "spin_up": 0}, rng=1)
    stepped(model, 10)
    check_service_ties(model)
