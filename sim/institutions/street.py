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
from ..network import add_service_tie
from .conference import decide_assignments
from .intake import PUSHED_DOWN_FACTOR, STREET_CAPABILITY, productivity, work_queue
from .queues import serve_queue

__all__ = ["EXTERNAL_PROVIDER", "STREET_CAPABILITY", "handle_street_queue", "work_provider_items"]

#: Holder id of an outside provider (not a node of the graph).
EXTERNAL_PROVIDER = -1


def _listed(model, street: np.ndarray, domain: np.ndarray) -> np.ndarray:
    share = model.lever("empowerment.responsibility_list")[street]
    n_listed = np.rint(share * model.config.items.n_domains)  # (np.round to 0 decimals)
    return model.world.domain_order[domain] < n_listed


def handle_street_queue(model) -> None:
    cfg, items, step = model.config, model.items, model.steps
    L = model.layout
    rows = items.open_rows(Stage.STREET)
    if rows.size == 0:
        return
    max_attempts = cfg.items.max_assign_attempts
    specialised = items.specialised[rows]
    attempts = items.attempts[rows]
    spec = specialised & (attempts < max_attempts)
    if spec.any():
        _route_specialised(model, rows[spec])
        # Only the routed items changed stage (some may be back, passed back by their owner):
        # the street's queue is what is left of ``rows`` in the street stage.
        rows = rows[items.stage[rows] == Stage.STREET]
        specialised = items.specialised[rows]
        attempts = items.attempts[rows]
    # 2. the street works the rest with its own hours; specialised items passed back this
    #    week with attempts left wait for next week's routing.
    work = ~specialised | (attempts >= max_attempts)
    rows = rows[work]
    if rows.size == 0:
        return
    streets = model.state["streets"]
    returned = specialised[work]
    street = items.street[rows]
    prod = productivity(model, streets)
    hours = streets.substance_hours * prod
    cap_ordinary = STREET_CAPABILITY * cfg.items.community_capability
    # Specialised items: the street has no professional capability (ratio 1/difficulty).
    ordinary = ~returned
    spec_rows = rows[returned]
    used = work_queue(model, rows[ordinary], street[ordinary], hours, prod, cap_ordinary)
    used += work_queue(model, spec_rows, street[returned], np.maximum(hours - used, 0.0),
                       prod, 1.0)
    model.ledger.resources += float((used / np.maximum(prod, 1e-9)).sum())
    if spec_rows.size == 0:
        return
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


def _route_specialised(model, route: np.ndarray) -> None:
    """Step 1: outsource, assign by the responsibility list, or refer to the conference."""
    cfg, items, step = model.config, model.items, model.steps
    L, pool = model.layout, model.state["pool"]
    street = items.street[route]
    domain = items.domain[route]
    # Routing follows the contract the street signed (the set lever); what the street can pay
    # for limits the provider's capacity instead (:func:`work_provider_items`).
    outsource = items.outsource_draw[route] < model.lever("market.outsourcing", funded=False)[street]
    # 1a. outsourcing to a contracted professional organisation (or an outside provider)
    if outsource.any():
        r = route[outsource]
        r_street = street[outsource]
        provider = _strongest(pool, r_street, domain[outsource], organisations_only=True)
        holder = np.full(r.size, EXTERNAL_PROVIDER, dtype=np.int64)
        holder[provider >= 0] = pool.node[provider[provider >= 0]]
        model.events.record(items.item_id[r], step, L.street0 + r_street, holder,
                            Reason.OUTSOURCE)
        items.stage[r] = Stage.PROVIDER
        items.holder[r] = holder
        items.handoffs[r] += 1
        items.needed[r] = cfg.items.hours_per_item * items.difficulty[r]
        items.substance_done[r] = 0.0
        items.work_left[r] = 1.0  # in provider-weeks' items: one item of the provider's capacity
        model.mark_responded(r)
        S = model.layout.n_streets
        n_out = np.bincount(r_street, minlength=S)
        model.bill("outsourcing", cfg.market.outsourcing_cost * n_out)
        model.bill("monitoring", cfg.market.monitoring_cost
                   * model.lever("market.monitoring", funded=False) * n_out)
    # 1b. responsibility list: one owner, decided at once
    listed = ~outsource & _listed(model, street, domain)
    if listed.any():
        r = route[listed]
        owner = _strongest(pool, street[listed], domain[listed], organisations_only=False)
        ok = owner >= 0
        assignees = np.full((r.size, 1), -1)
        assignees[ok, 0] = owner[ok]
        decide_assignments(model, r[ok], assignees[ok], from_node=L.street0 + street[listed][ok],
                           reason=Reason.ASSIGN_LIST)
        listed[np.flatnonzero(listed)[~ok]] = False  # no owner: go to the conference
    # 1c. everything else specialised goes to the joint conference
    conf = ~outsource & ~listed
    if conf.any():
        r = route[conf]
        to_node = L.conference0 + street[conf]
        model.events.record(items.item_id[r], step, L.street0 + street[conf], to_node,
                            Reason.TO_CONFERENCE)
        items.stage[r] = Stage.CONFERENCE
        items.holder[r] = to_node
        items.handoffs[r] += 1


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
    done, spent = serve_queue(group, items.created[rows], work, capacity)
    # Part of a provider-week (a contract paid in part) is progress carried to next week.
    partial = ~done
    items.work_left[rows[partial]] = work[partial] - spent[partial]
    done &= model.steps - items.created[rows] >= cfg.items.min_processing
    monitoring = model.lever("market.monitoring")[street]
    quality = m.provider_quality * (1.0 - m.quality_shading * (1.0 - monitoring))
    r = rows[done]
    for prov, comm in zip(items.holder[r].tolist(), items.community[r].tolist()):
        if prov != EXTERNAL_PROVIDER:  # a contracted organisation of the street
            add_service_tie(model.world.org_graph, prov, L.community0 + comm, model.steps)
    items.substance_done[r] = items.needed[r]
    model.close(r, items.holder[r], np.ones(r.size), np.ones(r.size), quality[done], Reason.CLOSE)
    wait = rows[~done]
    model.events.record(items.item_id[wait], model.steps, items.holder[wait], items.holder[wait],
                        Reason.DELAY)
