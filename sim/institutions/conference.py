"""The joint conference (党建联席会议) and the assignees' choice: act, or pass the buck.

*Negotiated assignment.* Every ``empowerment.conference_period`` steps the conference of each
street meets and gives each waiting item to ``items.n_coresponsible`` members drawn without
replacement with probability proportional to their capacity in the item's domain (the
"several units jointly" of the paper). Its decisions carry the authority
max(street authority towards the member, ``empowerment.conference_binding``).

*Acting or passing the buck* is the volunteer's dilemma of :mod:`sim.submodels.volunteers_dilemma`:
each assignee that takes part in regional Party building this week acts with probability
p*(b, c, f, ρ, n); one that does not take part never acts. The authority ρ of the street
over a unit that outranks it is cut by ``empowerment.rank_discount``; the district leading
group lifts authority towards 1 and multiplies the blame (rigid constraints, pool punishment).
If someone acts, the most capable actor takes the item on; if nobody acts the item flows back
to the street (责任回流) and the attempt is counted.

*Work.* An assignee that took an item on closes it each week with probability
min(1, capacity/difficulty), halved while it does not take part; otherwise it delays. The
closure is a real solution with :func:`sim.submodels.solution.p_solved` at full depth, its
capacity ratio and quality = ``ASSIGNEE_QUALITY_BASE`` + ``ASSIGNEE_QUALITY_PARTICIPATING`` if
it takes part in regional Party building this week + the rest in proportion to its motivation
(saturating): a unit that does the job only because it was told to does it worse.
"""

from __future__ import annotations

import numpy as np

from ..items import Reason, Stage
from ..network import add_service_tie
from ..submodels.volunteers_dilemma import p_act

__all__ = ["ASSIGNEE_QUALITY_BASE", "ASSIGNEE_QUALITY_PARTICIPATING", "authority_towards",
           "decide_assignments", "hold_conference", "work_assigned_items"]

#: Solution quality of an assignee that does not take part and has no motivation.
ASSIGNEE_QUALITY_BASE = 0.5
#: Extra quality when it takes part this week (the rest, up to 1, comes with motivation).
ASSIGNEE_QUALITY_PARTICIPATING = 0.3


def authority_towards(cfg, higher_rank: np.ndarray, conference: bool, street_authority=None,
                      conference_binding=None, leading_group=None) -> np.ndarray:
    """Effective authority ρ ∈ [0, 1] of the assigner over each assignee.

    The lever arguments (arrays over assignees) default to the config's district values.
    """
    emp = cfg.empowerment
    authority = emp.street_authority if street_authority is None else street_authority
    binding = emp.conference_binding if conference_binding is None else conference_binding
    group = emp.leading_group if leading_group is None else leading_group
    rho = authority * (1.0 - emp.rank_discount * higher_rank)
    if conference:
        rho = np.maximum(rho, binding)
    return rho + (1.0 - rho) * group


def hold_conference(model) -> None:
    """If the conference meets this week, assign its waiting items."""
    cfg, items = model.config, model.items
    if model.steps % cfg.empowerment.conference_period:
        return
    rows = items.open_rows(Stage.CONFERENCE)
    pool = model.state["pool"]
    if rows.size == 0:
        return
    members = pool.by_street[items.street[rows]]  # (m, P_max), −1 = none
    P_s = members.shape[1]
    n_real = (members >= 0).sum(axis=1)
    none = n_real == 0
    if none.any():
        # Nobody to assign to: the street gets the item back and handles it itself.
        L = model.layout
        r = rows[none]
        model.events.record(items.item_id[r], model.steps, items.holder[r],
                            L.street0 + items.street[r], Reason.NO_ASSIGNEE)
        items.handoffs[r] += 1
        items.stage[r] = Stage.STREET
        items.attempts[r] = cfg.items.max_assign_attempts
        items.holder[r] = L.street0 + items.street[r]
        rows, members, n_real = rows[~none], members[~none], n_real[~none]
        if rows.size == 0:
            return
    n = min(cfg.items.n_coresponsible, P_s)
    valid = members >= 0
    weight = np.where(valid, pool.capacity[np.where(valid, members, 0), items.domain[rows][:, None]],
                      0.0)
    # Weighted sampling without replacement (Gumbel top-k).
    with np.errstate(divide="ignore"):
        keys = np.log(weight) + model.rng.gumbel(size=weight.shape)
    # The n largest keys, in descending order (argpartition, then sort only those n: the
    # same columns in the same order as a full stable argsort, for a fraction of its cost).
    top = np.argpartition(-keys, n - 1, axis=1)[:, :n] if n < P_s else \
        np.broadcast_to(np.arange(P_s), keys.shape)
    order = np.argsort(-np.take_along_axis(keys, top, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    assignees = np.take_along_axis(members, top, axis=1)
    # Streets with fewer members than n: the padded slots stay empty.
    assignees = np.where(np.arange(n)[None, :] < np.minimum(n_real, n)[:, None], assignees, -1)
    decide_assignments(model, rows, assignees,
                       from_node=model.layout.conference0 + items.street[rows],
                       reason=Reason.ASSIGN_NEGOTIATED, conference=True)


def decide_assignments(model, rows: np.ndarray, assignees: np.ndarray, from_node,
                       reason: int, conference: bool = False) -> None:
    """Assign items ``rows`` to ``assignees`` (m, n; −1 = empty) and play the dilemma."""
    if rows.size == 0:
        return
    cfg, items, step, rng = model.config, model.items, model.steps, model.rng
    pool, L = model.state["pool"], model.layout
    bp = cfg.buck_passing
    valid = assignees >= 0
    a = np.where(valid, assignees, 0)
    n = valid.sum(axis=1)
    street = items.street[rows][:, None]
    lv = model.lever
    group = lv("empowerment.leading_group")[street]
    rho = authority_towards(cfg, pool.higher_rank[a], conference,
                            lv("empowerment.street_authority")[street],
                            lv("empowerment.conference_binding")[street], group)
    blame = bp.blame * (1.0 + group * bp.leading_group_sanction)
    benefit = bp.benefit + model.assignee_motivation()[a]
    cost = bp.cost * items.difficulty[rows][:, None]
    p = p_act(benefit, cost, blame, rho, n[:, None], cfg.submodels.buck_passing)
    p = p * model.assignee_participating()[a] * valid
    acts = rng.random(p.shape) < p
    ids = items.item_id[rows]
    from_node = np.broadcast_to(np.asarray(from_node), rows.shape)
    for col in range(assignees.shape[1]):
        v = valid[:, col]
        model.events.record(ids[v], step, from_node[v], pool.node[a[v, col]], reason)
    items.handoffs[rows] += 1
    items.assigned[rows] = True
    items.attempts[rows] += 1
    anyone = acts.any(axis=1)
    model.assignment_stats["decisions"] += rows.size
    model.assignment_stats["nobody"] += int((~anyone).sum())
    # The most capable of those who act takes the item on.
    cap = np.where(acts, pool.capacity[a, items.domain[rows][:, None]], -np.inf)
    taker = a[np.arange(rows.size), np.argmax(cap, axis=1)]
    took = rows[anyone]
    items.stage[took] = Stage.ASSIGNED
    items.holder[took] = pool.node[taker[anyone]]
    items.work_left[took] = cfg.items.hours_per_item * items.difficulty[took]
    items.needed[took] = items.work_left[took]
    items.substance_done[took] = 0.0
    model.mark_responded(took)
    back = rows[~anyone]
    if back.size:
        first = a[~anyone, 0]
        model.events.record(items.item_id[back], step, pool.node[first],
                            L.street0 + items.street[back], Reason.FLOW_BACK)
        items.stage[back] = Stage.STREET
        items.holder[back] = L.street0 + items.street[back]
        items.handoffs[back] += 1
        items.return_flows[back] += 1
        model.ledger.flowed_back_by_community += np.bincount(
            items.community[back], minlength=model.ledger.flowed_back_by_community.size)
        model.ledger.flow_back_owners.append(items.origin[back].copy())


def assignee_quality(participating, motivation):
    """Solution quality of assignees in [0.5, 1]: base, taking part, and saturating motivation."""
    rest = 1.0 - ASSIGNEE_QUALITY_BASE - ASSIGNEE_QUALITY_PARTICIPATING
    m = np.maximum(motivation, 0.0)
    return (ASSIGNEE_QUALITY_BASE + ASSIGNEE_QUALITY_PARTICIPATING * participating
            + rest * m / (1.0 + m))


def work_assigned_items(model) -> None:
    """Assignees that took items on close them (solved or not) or delay."""
    items, pool, L = model.items, model.state["pool"], model.layout
    rows = items.open_rows(Stage.ASSIGNED)
    if rows.size == 0:
        return
    p_idx = items.holder[rows] - L.unit0  # pool index: units then organisations, contiguous
    cap = pool.capacity[p_idx, items.domain[rows]]
    ratio = cap / np.maximum(items.difficulty[rows], 1e-9)
    part = model.assignee_participating()[p_idx]
    p = np.minimum(1.0, ratio) * np.where(part, 1.0, 0.5)
    ok = model.rng.random(rows.size) < p
    ok &= model.steps - items.created[rows] >= model.config.items.min_processing
    hours = model.config.items.hours_per_item * items.difficulty[rows]
    # A week spent without closing costs half the item's hours; the closing week its full hours.
    model.ledger.resources += float(np.where(ok, hours, 0.5 * hours).sum())
    done = rows[ok]
    for prov, comm in zip(items.holder[done].tolist(), items.community[done].tolist()):
        add_service_tie(model.world.org_graph, prov, L.community0 + comm, model.steps)
    quality = assignee_quality(part[ok], model.assignee_motivation()[p_idx[ok]])
    items.substance_done[done] = items.needed[done]
    model.close(done, items.holder[done], np.ones(done.size), ratio[ok], quality, Reason.CLOSE)
    model.events.record(items.item_id[rows[~ok]], model.steps, items.holder[rows[~ok]],
                        items.holder[rows[~ok]], Reason.DELAY)
