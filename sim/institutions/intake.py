"""Residents raise items; communities triage them and work their queue; overdue items may be
closed on paper.

* Items arise in each community as a Poisson process, ``items.rate_per_resident`` per
  resident-week, each from a random resident, with a domain, a log-normal difficulty (mean 1)
  and, with probability ``items.share_specialised``, a need for professional resources.
  Items closed unsolved come back as repeat complaints (重复诉求) when their resident raises
  them again (:meth:`sim.model.RegionModel.close`); they carry ``repeat_of``.
* Triage: the community keeps what it can handle (not specialised, difficulty at most
  ``items.community_capability``) and escalates the rest to the street (hand-off ``escalate``).
* Work: substantive staff hours (× productivity, which grows with experience) plus volunteer
  hours serve the community queue oldest first. An item whose hours are all served is closed
  (no earlier than ``items.min_processing`` steps after it was raised) and is solved with the
  probability of :func:`sim.submodels.solution.p_solved`. Items pushed down by the street
  (结果回流) take twice the hours, the community lacking the expertise.
* Paper closure (以文办结): items older than ``items.overdue_after`` count against the
  closure statistics the evaluation reads; staff close them on paper with form hours
  (``items.paper_close_hours`` each, oldest first). Their chance of being a real solution is
  that of the substantive hours already spent on them.
"""

from __future__ import annotations

import numpy as np

from ..items import Reason, Stage, Status
from .queues import serve_queue

__all__ = ["PUSHED_DOWN_FACTOR", "paper_close", "productivity", "raise_items",
           "work_community_queue"]

#: Extra hours a community needs for a specialised item pushed down to it.
PUSHED_DOWN_FACTOR = 2.0
#: The street's capability for ordinary items, relative to a community's.
STREET_CAPABILITY = 2.0


def productivity(model, group) -> np.ndarray:
    """Substantive output per hour, in [novice_productivity, 1], growing with experience."""
    nov = model.config.staff.novice_productivity
    return nov + (1.0 - nov) * group.experience


def raise_items(model) -> None:
    """Create this week's items (new matters and repeat complaints) and triage them."""
    cfg, rng, step = model.config, model.rng, model.steps
    it = cfg.items
    comm = model.state["communities"]
    n_new = rng.poisson(it.rate_per_resident * comm.n_residents)
    m = int(n_new.sum())
    community = np.arange(n_new.size).repeat(n_new)
    # (repeating per-community values = indexing them by ``community``, in less time)
    start = model.community_first_resident.repeat(n_new)
    origin = start + (rng.random(m) * comm.n_residents.repeat(n_new)).astype(np.int64)
    sigma = it.difficulty_sigma
    difficulty = np.exp(rng.normal(-0.5 * sigma * sigma, sigma, m)) if sigma > 0 else np.ones(m)
    specialised = rng.random(m) < it.share_specialised
    domain = rng.integers(0, it.n_domains, m)  # int64
    repeat_of = np.full(m, -1, np.int64)
    rep = model.repeats.due(step)
    if rep is not None:
        origin = np.concatenate([origin, rep["origin"]])
        community = np.concatenate([community, rep["community"]])
        difficulty = np.concatenate([difficulty, rep["difficulty"]])
        specialised = np.concatenate([specialised, rep["specialised"]])
        domain = np.concatenate([domain, rep["domain"]])
        repeat_of = np.concatenate([repeat_of, rep["item_id"]])
    if origin.size == 0:
        return
    add_items(model, origin, community, difficulty, specialised, domain, repeat_of,
              rng.random(origin.size), n_new=m)


def add_items(model, origin, community, difficulty, specialised, domain, repeat_of, draw, *,
              n_new: int):
    """Append items raised this step; triage them; record the events.

    The first ``n_new`` items are new matters, the rest repeat complaints (``repeat_of`` ≥ 0).
    """
    cfg, step = model.config, model.steps
    it, L = cfg.items, model.layout
    comm = model.state["communities"]
    m = origin.size
    keep = ~specialised & (difficulty <= it.community_capability)
    esc = ~keep
    street = comm.street[community]
    hours = it.hours_per_item * difficulty
    community_node = L.community0 + community
    street_node = L.street0 + street
    rows = model.items.add(
        origin=origin, community=community, street=street, domain=domain,
        difficulty=difficulty, specialised=specialised, created=step,
        status=Status.OPEN, outsource_draw=draw, repeat_of=repeat_of,
        stage=np.where(keep, Stage.COMMUNITY, Stage.STREET),
        holder=np.where(keep, community_node, street_node),
        handoffs=esc.astype(np.int16), work_left=hours, needed=hours)
    ids = model.items.item_id[rows]
    resident_node = L.resident0 + origin
    # (the event log keeps these slices as given: nothing changes their arrays afterwards)
    model.events.record(ids[:n_new], step, resident_node[:n_new], community_node[:n_new],
                        Reason.RAISED)
    model.events.record(ids[n_new:], step, resident_node[n_new:], community_node[n_new:],
                        Reason.REPEAT)
    model.events.record(ids[esc], step, community_node[esc], street_node[esc],
                        Reason.ESCALATE)
    model.history.add(step, created=m, repeats=m - n_new)


def work_queue(model, rows, group_of_row, hours, quality, capability):
    """Serve ``rows`` oldest first with ``hours`` (G,) of substantive work per group; close the
    finished ones (old enough) as worked; return hours used per group.

    ``capability`` is one value per group (G,) or one for all; ``quality`` one per group.
    """
    if rows.size == 0:
        return np.zeros(hours.size)
    items = model.items
    created = items.created[rows]
    work = items.work_left[rows]
    done, spent = serve_queue(group_of_row, created, work, hours)
    items.work_left[rows] = work - spent
    items.substance_done[rows] += spent
    model.mark_responded(rows[spent > 0])
    # (whole steps: ``created <= steps − min_processing`` is ``steps − created >= ...``)
    ok = done & (created <= model.steps - model.config.items.min_processing)
    r = rows[ok]
    if r.size:
        group = group_of_row[ok]
        depth = items.substance_done[r] / np.maximum(items.needed[r], 1e-9)
        if isinstance(capability, np.ndarray) and capability.ndim:
            capability = capability[group]
        cap = capability / np.maximum(items.difficulty[r], 1e-9)
        model.close(r, items.holder[r], depth, cap, quality[group], Reason.CLOSE,
                    assignees=False)
    return np.bincount(group_of_row, weights=spent, minlength=hours.size)


def work_community_queue(model) -> None:
    """Communities spend substantive and volunteer hours on their queue, oldest first."""
    items = model.items
    rows = items.open_rows(Stage.COMMUNITY)
    comm = model.state["communities"]
    prod = productivity(model, comm)
    staff_hours = comm.substance_hours * prod
    capacity = staff_hours + comm.volunteer_hours
    used = work_queue(model, rows, items.community[rows], capacity, prod,
                      model.config.items.community_capability)
    # Staff hours are used before volunteers' (volunteers are free of charge).
    staff_used = np.minimum(used, staff_hours) / np.maximum(prod, 1e-9)
    model.ledger.resources += float(staff_used.sum())
    model.ledger.community_hours_on_items += used


def paper_close(model, key: str) -> None:
    """Streets or communities close overdue items in their queue on paper with form hours."""
    items, cfg = model.items, model.config
    stage = Stage.COMMUNITY if key == "communities" else Stage.STREET
    # open items of the stage raised at least ``overdue_after`` steps ago (whole steps)
    rows = ((items.stage == stage)
            & (items.created <= model.steps - cfg.items.overdue_after)).nonzero()[0]
    if rows.size == 0:
        return
    g = model.state[key]
    group = items.community[rows] if key == "communities" else items.street[rows]
    cost = np.full(rows.size, cfg.items.paper_close_hours)
    done, _spent = serve_queue(group, items.created[rows], cost, g.form_hours)
    r = rows[done]
    group_done = group[done]
    # Partial paper work on an item is not kept: only whole formal replies count (every
    # item costs the same hours: ``cost[:r.size]`` is ``cost[done]``).
    used = np.bincount(group_done, weights=cost[:r.size], minlength=g.form_hours.size)
    g.paper_hours = g.paper_hours + used
    if r.size == 0:
        return
    depth = items.substance_done[r] / np.maximum(items.needed[r], 1e-9)
    capability = cfg.items.community_capability
    if key == "streets":  # as when the street works an item itself (sim.institutions.street)
        capability = np.where(items.specialised[r], 1.0, STREET_CAPABILITY * capability)
    cap = capability / np.maximum(items.difficulty[r], 1e-9)
    quality = productivity(model, g)[group_done]
    model.close(r, items.holder[r], depth, cap, quality, Reason.PAPER_CLOSE, assignees=False)
