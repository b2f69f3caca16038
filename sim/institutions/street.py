"""The street: outsource, assign by responsibility list, refer to the conference, or work.

Each week the street goes through its queue:

1. Specialised items not yet tried ``items.max_assign_attempts`` times are
   * outsourced (market logic) when the item's fixed draw < ``market.outsourcing``: a
     contracted professional organisation of the street (the two-new organisation strongest in
     the domain) or, if the street has none, an outside provider;
   * else, if the domain is on the responsibility list (责任清单), assigned to its one owner
     (the unit or organisation of the street strongest in that domain) and decided at once;
   * else referred to the joint conference (negotiated assignment, :mod:`.conference`).
2. Everything else (hard ordinary items, and specialised items every assignee passed back)
   is worked with the street's substantive hours, oldest first; a finished item is closed and
   solved with :func:`sim.submodels.solution.p_solved` (the street's capability is
   ``STREET_CAPABILITY`` × the community's for ordinary items, and 1 for specialised ones: it
   has no professional resources). Specialised items that were passed back and cannot be
   served this week are pushed down to their community (结果回流), adding to its load.

Providers (Hart, Shleifer & Vishny 1997): routing follows the contract the street signed
(``market.outsourcing`` as set); each contracted provider closes at most f ×
``market.provider_capacity`` items a week, oldest first, where f is the share of its bill the
street paid last week (:mod:`.budget`; part-weeks carry over), and an outside provider per
street has the same capacity; its closure is a solution with probability quality =
``provider_quality`` × (1 − ``quality_shading`` × (1 − monitoring)): unmonitored contractors
shade the quality they cannot be held to. Every outsourced item is billed to the street at
``market.outsourcing_cost`` plus monitoring × ``monitoring_cost``.
"""

from __future__ import annotations

import numpy as np

from ..items import Reason, Stage
from .conference import decide_assignments
from .intake import PUSHED_DOWN_FACTOR, STREET_CAPABILITY, productivity, work_queue
from .queues import serve_queue

__all__ = ["EXTERNAL_PROVIDER", "STREET_CAPABILITY", "handle_street_queue", "work_provider_items"]

#: Holder id of an outside provider (not a node of the graph).
EXTERNAL_PROVIDER = -1


def _n_listed(model) -> tuple[np.ndarray, bool]:
    """(S,) domains on each street's responsibility list (its share of the domains, rounded
    as ``np.round`` to 0 decimals: domain d is listed when its rank is below this), and
    whether any street lists any; kept while the config and levers are unchanged."""
    n_domains = model.config.items.n_domains

    def compute(share):
        n_listed = np.rint(share * n_domains)
        return n_listed, bool(n_listed.any())

    return model.lever_derived("street:n_listed", ("empowerment.responsibility_list",), compute)


def _outsourcing(model) -> tuple[np.ndarray, bool]:
    """(S,) outsourcing share each street contracted (the set lever, not what it can pay), and
    whether any street outsources; kept while the config and levers are unchanged."""
    return model.lever_derived("street:outsourcing", ("market.outsourcing",),
                               lambda share: (share, bool(share.any())), funded=False)


def handle_street_queue(model) -> None:
    cfg, items = model.config, model.items
    rows = items.open_rows(Stage.STREET)
    if rows.size == 0:
        return
    max_attempts = cfg.items.max_assign_attempts
    specialised = items.specialised[rows]
    spec = specialised & (items.attempts[rows] < max_attempts)
    if spec.any() and _route_specialised(model, rows[spec]):
        # Only the routed items changed stage (some may be back, passed back by their owner):
        # the street's queue is what is left of ``rows`` in the street stage. (When none can
        # be back, it is the items not routed: ``~spec`` below.)
        rows = rows[items.stage[rows] == Stage.STREET]
        specialised = items.specialised[rows]
        spec = specialised & (items.attempts[rows] < max_attempts)
    # 2. the street works the rest with its own hours; specialised items passed back this
    #    week with attempts left wait for next week's routing.
    work = ~spec
    rows = rows[work]
    if rows.size:
        _work_street_queue(model, rows, specialised[work])


def _work_street_queue(model, rows: np.ndarray, returned: np.ndarray) -> None:
    """The street works ``rows`` (ordinary items, then the ``returned`` specialised ones with
    the hours left) and pushes down the returned ones it could not finish."""
    cfg, items, step = model.config, model.items, model.steps
    L = model.layout
    streets = model.state["streets"]
    street = items.street[rows]
    prod = productivity(model, streets)
    hours = streets.substance_hours * prod
    cap_ordinary = STREET_CAPABILITY * cfg.items.community_capability
    if not returned.any():
        used = work_queue(model, rows, street, hours, prod, cap_ordinary)
        model.ledger.resources += float((used / np.maximum(prod, 1e-9)).sum())
        return
    # Specialised items: the street has no professional capability (ratio 1/difficulty).
    ordinary = ~returned
    spec_rows = rows[returned]
    used = work_queue(model, rows[ordinary], street[ordinary], hours, prod, cap_ordinary)
    used += work_queue(model, spec_rows, street[returned], np.maximum(hours - used, 0.0),
                       prod, 1.0)
    model.ledger.resources += float((used / np.maximum(prod, 1e-9)).sum())
    r = spec_rows[items.stage[spec_rows] != Stage.CLOSED]
    if r.size:
        comm = items.community[r]
        model.events.record(items.item_id[r], step, L.street0 + items.street[r],
                            L.community0 + comm, Reason.PUSH_DOWN)
        items.stage[r] = Stage.COMMUNITY
        items.holder[r] = L.community0 + comm
        items.handoffs[r] += 1
        items.work_left[r] = (cfg.items.hours_per_item * items.difficulty[r] * PUSHED_DOWN_FACTOR)
        items.needed[r] = items.work_left[r]
        items.substance_done[r] = 0.0
        model.ledger.pushed_down += r.size


def _route_specialised(model, route: np.ndarray) -> bool:
    """Step 1: outsource, assign by the responsibility list, or refer to the conference.

    Each step takes its items out of ``route`` (order kept); what is left goes on. Returns
    whether items were assigned by the list (only those can be back in the street stage).
    """
    items, step = model.items, model.steps
    L, pool = model.layout, model.state["pool"]
    street = items.street[route]
    # Routing follows the contract the street signed (the set lever); what the street can pay
    # for limits the provider's capacity instead (:func:`work_provider_items`).
    share, any_outsourcing = _outsourcing(model)
    n_listed, any_listed = _n_listed(model)
    domain = items.domain[route] if any_outsourcing or any_listed else None
    by_list = False
    if any_outsourcing:  # (the draws lie in [0, 1): a street with share 0 outsources nothing)
        outsource = items.outsource_draw[route] < share[street]
        if outsource.any():
            # 1a. outsourcing to a contracted professional organisation (or an outside provider)
            _outsource(model, route[outsource], street[outsource], domain[outsource])
            rest = ~outsource
            route, street, domain = route[rest], street[rest], domain[rest]
    if any_listed:  # (domain ranks are ≥ 0: a street with none listed lists nothing)
        # 1b. responsibility list: one owner, decided at once; a listed domain without an
        #     owner in the street goes to the conference
        listed = model.world.domain_order[domain] < n_listed[street]
        if listed.any():
            owner = _strongest(pool, street, domain, organisations_only=False)
            listed &= owner >= 0
            decide_assignments(model, route[listed], owner[listed][:, None],
                               from_node=L.street0 + street[listed], reason=Reason.ASSIGN_LIST)
            by_list = True
            rest = ~listed
            route, street = route[rest], street[rest]
    # 1c. everything else specialised goes to the joint conference
    if route.size:
        to_node = L.conference0 + street
        model.events.record(items.item_id[route], step, L.street0 + street, to_node,
                            Reason.TO_CONFERENCE)
        items.stage[route] = Stage.CONFERENCE
        items.holder[route] = to_node
        items.handoffs[route] += 1
    return by_list


def _outsource(model, r: np.ndarray, r_street: np.ndarray, r_domain: np.ndarray) -> None:
    """Hand items ``r`` to the contracted organisation of their street strongest in their
    domain, or to the street's outside provider if it has none; bill the street."""
    cfg, items = model.config, model.items
    pool = model.state["pool"]
    provider = _strongest(pool, r_street, r_domain, organisations_only=True)
    holder = np.full(r.size, EXTERNAL_PROVIDER, dtype=np.int64)
    found = provider >= 0
    holder[found] = pool.node[provider[found]]
    model.events.record(items.item_id[r], model.steps, model.layout.street0 + r_street, holder,
                        Reason.OUTSOURCE)
    items.stage[r] = Stage.PROVIDER
    items.holder[r] = holder
    items.handoffs[r] += 1
    items.needed[r] = cfg.items.hours_per_item * items.difficulty[r]
    items.substance_done[r] = 0.0
    items.work_left[r] = 1.0  # in provider-weeks' items: one item of the provider's capacity
    model.mark_responded(r)
    n_out = np.bincount(r_street, minlength=model.layout.n_streets)
    model.bill("outsourcing", cfg.market.outsourcing_cost * n_out)
    model.bill("monitoring", cfg.market.monitoring_cost
               * model.lever("market.monitoring", funded=False) * n_out)


def _strongest(pool, street: np.ndarray, domain: np.ndarray, organisations_only: bool) -> np.ndarray:
    """Pool index of the member of each item's street strongest in its domain (−1 if none);
    looked up in the pool's table (:attr:`sim.state.AssigneePool.strongest_by_street`)."""
    return pool.strongest_by_street[int(organisations_only), street, domain]


def work_provider_items(model) -> None:
    """Contracted providers close up to their capacity, oldest first; quality is shaded
    where monitoring is weak."""
    items, cfg = model.items, model.config
    rows = items.open_rows(Stage.PROVIDER)
    if rows.size == 0:
        return
    m = cfg.market
    L = model.layout
    holder = items.holder[rows]
    street = items.street[rows]
    # Group: a contracted organisation (its pool index), or the street's outside provider.
    pool = model.state["pool"]
    P = pool.node.size
    group = np.where(holder == EXTERNAL_PROVIDER, P + street, holder - L.unit0)
    # A contract paid in part buys that part of the provider's week (pro rata, like every bill).
    capacity = m.provider_capacity * model.funding[np.concatenate([pool.street, np.arange(L.n_streets)])]
    work = items.work_left[rows]
    created = items.created[rows]
    done, spent = serve_queue(group, created, work, capacity)
    # Part of a provider-week (a contract paid in part) is progress carried to next week.
    partial = ~done
    items.work_left[rows[partial]] = work[partial] - spent[partial]
    done &= created <= model.steps - cfg.items.min_processing  # (whole steps)
    monitoring = model.lever("market.monitoring")[street]
    quality = m.provider_quality * (1.0 - m.quality_shading * (1.0 - monitoring))
    r = rows[done]
    r_holder = holder[done]
    contracted = r_holder != EXTERNAL_PROVIDER  # a contracted organisation of the street
    model.world.record_services(r_holder[contracted], items.community[r[contracted]], model.steps)
    items.substance_done[r] = items.needed[r]
    model.close(r, r_holder, np.ones(r.size), np.ones(r.size), quality[done], Reason.CLOSE)
    wait = ~done
    wait_holder = holder[wait]
    model.events.record(items.item_id[rows[wait]], model.steps, wait_holder, wait_holder,
                        Reason.DELAY)
