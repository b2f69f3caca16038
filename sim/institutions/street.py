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
   is worked with the street's substantive hours, oldest first. Specialised items that were
   passed back and cannot be served this week are pushed down to their community
   (结果回流), adding to its load.
"""

from __future__ import annotations

import numpy as np

from ..items import Reason, Stage
from ..network import add_service_tie
from .conference import decide_assignments
from .intake import PUSHED_DOWN_FACTOR
from .queues import serve_queue

__all__ = ["EXTERNAL_PROVIDER", "handle_street_queue", "work_provider_items"]

#: Holder id of an outside provider (not a node of the graph).
EXTERNAL_PROVIDER = -1


def _listed(model, domain: np.ndarray) -> np.ndarray:
    n_listed = int(round(model.config.empowerment.responsibility_list * model.config.items.n_domains))
    return model.world.domain_order[domain] < n_listed


def handle_street_queue(model) -> None:
    cfg, items, step = model.config, model.items, model.steps
    L, pool = model.layout, model.state["pool"]
    rows = items.open_rows(Stage.STREET)
    if rows.size == 0:
        return
    spec = items.specialised[rows] & (items.attempts[rows] < cfg.items.max_assign_attempts)
    route = rows[spec]
    domain = items.domain[route]
    outsource = items.outsource_draw[route] < cfg.market.outsourcing
    # 1a. outsourcing to a contracted professional organisation (or an outside provider)
    if outsource.any():
        r = route[outsource]
        provider = _strongest(pool, items.street[r], items.domain[r], organisations_only=True)
        holder = np.full(r.size, EXTERNAL_PROVIDER, dtype=np.int64)
        holder[provider >= 0] = pool.node[provider[provider >= 0]]
        model.events.record(items.item_id[r], step, L.street0 + items.street[r], holder,
                            Reason.OUTSOURCE)
        items.stage[r] = Stage.PROVIDER
        items.holder[r] = holder
        items.handoffs[r] += 1
        model.ledger.resources += float(cfg.market.outsourcing_cost * r.size)
    # 1b. responsibility list: one owner, decided at once
    listed = ~outsource & _listed(model, domain)
    if listed.any():
        r = route[listed]
        owner = _strongest(pool, items.street[r], items.domain[r], organisations_only=False)
        ok = owner >= 0
        assignees = np.full((r.size, 1), -1)
        assignees[ok, 0] = owner[ok]
        decide_assignments(model, r[ok], assignees[ok], from_node=L.street0 + items.street[r[ok]],
                           reason=Reason.ASSIGN_LIST)
        listed[np.flatnonzero(listed)[~ok]] = False  # no owner: go to the conference
    # 1c. everything else specialised goes to the joint conference
    conf = ~outsource & ~listed
    if conf.any():
        r = route[conf]
        model.events.record(items.item_id[r], step, L.street0 + items.street[r],
                            L.conference0 + items.street[r], Reason.TO_CONFERENCE)
        items.stage[r] = Stage.CONFERENCE
        items.holder[r] = L.conference0 + items.street[r]
        items.handoffs[r] += 1
    # 2. the street works the rest with its own hours; specialised items passed back this
    #    week with attempts left wait for next week's routing.
    rows = items.open_rows(Stage.STREET)
    rows = rows[~items.specialised[rows] | (items.attempts[rows] >= cfg.items.max_assign_attempts)]
    if rows.size == 0:
        return
    streets = model.state["streets"]
    returned = items.specialised[rows]
    work = items.work_left[rows]
    done, spent = serve_queue(items.street[rows], items.created[rows], work,
                              streets.substance_hours)
    items.work_left[rows] -= spent
    model.ledger.resources += float(spent.sum())
    model.resolve(rows[done], items.holder[rows[done]])
    push = returned & ~done
    if push.any():
        r = rows[push]
        comm = items.community[r]
        model.events.record(items.item_id[r], step, L.street0 + items.street[r],
                            L.community0 + comm, Reason.PUSH_DOWN)
        items.stage[r] = Stage.COMMUNITY
        items.holder[r] = L.community0 + comm
        items.handoffs[r] += 1
        items.work_left[r] = (cfg.items.hours_per_item * items.difficulty[r] * PUSHED_DOWN_FACTOR)
        model.ledger.pushed_down += r.size


def _strongest(pool, street: np.ndarray, domain: np.ndarray, organisations_only: bool) -> np.ndarray:
    """Pool index of the member of each item's street strongest in its domain (−1 if none)."""
    if pool.by_street.shape[1] == 0 or street.size == 0:
        return np.full(street.size, -1)
    members = pool.by_street[street]                           # (m, P_s)
    cap = pool.capacity[members, domain[:, None]]              # (m, P_s)
    if organisations_only:
        cap = np.where(pool.is_unit[members], -np.inf, cap)
    best = np.argmax(cap, axis=1)
    ok = np.isfinite(cap[np.arange(street.size), best])
    return np.where(ok, members[np.arange(street.size), best], -1)


def work_provider_items(model) -> None:
    """Contracted providers resolve each item with probability ``market.provider_success``."""
    items = model.items
    rows = items.open_rows(Stage.PROVIDER)
    if rows.size == 0:
        return
    ok = model.rng.random(rows.size) < model.config.market.provider_success
    L = model.layout
    for prov, comm in zip(items.holder[rows[ok]].tolist(), items.community[rows[ok]].tolist()):
        if prov != EXTERNAL_PROVIDER:  # a contracted organisation of the street
            add_service_tie(model.world.org_graph, prov, L.community0 + comm, model.steps)
    model.resolve(rows[ok], items.holder[rows[ok]])
    model.events.record(items.item_id[rows[~ok]], model.steps, items.holder[rows[~ok]],
                        items.holder[rows[~ok]], Reason.DELAY)
