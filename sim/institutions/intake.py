"""Residents raise items; communities triage them and work their queue.

* Items arise in each community as a Poisson process, ``items.rate_per_resident`` per
  resident-week, each from a random resident, with a domain, a log-normal difficulty (mean 1)
  and, with probability ``items.share_specialised``, a need for professional resources.
* Triage: the community keeps what it can handle (not specialised, difficulty at most
  ``items.community_capability``) and escalates the rest to the street (hand-off ``escalate``).
* Work: substantive staff hours plus volunteer hours serve the community queue oldest first.
  Items pushed down by the street (结果回流) take twice the hours, the community lacking the
  expertise.
"""

from __future__ import annotations

import numpy as np

from ..items import Reason, Stage, Status
from .queues import serve_queue

__all__ = ["PUSHED_DOWN_FACTOR", "raise_items", "work_community_queue"]

#: Extra hours a community needs for a specialised item pushed down to it.
PUSHED_DOWN_FACTOR = 2.0


def raise_items(model) -> None:
    """Create this week's items and triage them."""
    cfg, rng, step = model.config, model.rng, model.steps
    it = cfg.items
    L = model.layout
    comm = model.state["communities"]
    n_new = rng.poisson(it.rate_per_resident * comm.n_residents)
    m = int(n_new.sum())
    if m == 0:
        return
    community = np.repeat(np.arange(n_new.size), n_new)
    start = model.community_first_resident[community]
    origin = start + (rng.random(m) * comm.n_residents[community]).astype(np.int64)
    sigma = it.difficulty_sigma
    difficulty = np.exp(rng.normal(-0.5 * sigma * sigma, sigma, m)) if sigma > 0 else np.ones(m)
    specialised = rng.random(m) < it.share_specialised
    domain = rng.integers(0, it.n_domains, m)
    draw = rng.random(m)
    keep = ~specialised & (difficulty <= it.community_capability)
    street = comm.street[community]
    rows = model.items.add(
        origin=origin, community=community, street=street, domain=domain,
        difficulty=difficulty, specialised=specialised, created=np.full(m, step),
        status=np.full(m, Status.OPEN), outsource_draw=draw,
        stage=np.where(keep, Stage.COMMUNITY, Stage.STREET),
        holder=np.where(keep, L.community0 + community, L.street0 + street),
        handoffs=(~keep).astype(np.int16),
        work_left=it.hours_per_item * difficulty)
    ids = model.items.item_id[rows]
    model.events.record(ids, step, L.resident0 + origin, L.community0 + community, Reason.RAISED)
    esc = ~keep
    model.events.record(ids[esc], step, L.community0 + community[esc], L.street0 + street[esc],
                        Reason.ESCALATE)
    model.ledger.created_by_community += np.bincount(community, minlength=comm.n_residents.size)


def work_community_queue(model) -> None:
    """Communities spend substantive and volunteer hours on their queue, oldest first."""
    items = model.items
    rows = items.open_rows(Stage.COMMUNITY)
    comm = model.state["communities"]
    capacity = comm.substance_hours + comm.volunteer_hours
    done, spent = serve_queue(items.community[rows], items.created[rows], items.work_left[rows],
                              capacity)
    items.work_left[rows] -= spent
    used = np.bincount(items.community[rows], weights=spent, minlength=capacity.size)
    # Staff hours are used before volunteers' (volunteers are free of charge).
    staff_used = np.minimum(used, comm.substance_hours)
    model.ledger.resources += float(staff_used.sum())
    model.ledger.community_hours_on_items += used
    model.resolve(rows[done], items.holder[rows[done]])
