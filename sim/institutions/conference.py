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
from ..submodels.volunteers_dilemma import p_act

__all__ = ["ASSIGNEE_QUALITY_BASE", "ASSIGNEE_QUALITY_PARTICIPATING", "authority_towards",
           "decide_assignments", "hold_conference", "top_columns", "work_assigned_items"]

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
    street = items.street[rows]
    P_s = pool.by_street.shape[1]  # members of the largest street (rows padded with −1)
    n_real = pool.n_by_street[street]
    if n_real.min() == 0:
        # Nobody to assign to: the street gets the item back and handles it itself.
        L = model.layout
        none = n_real == 0
        r = rows[none]
        model.events.record(items.item_id[r], model.steps, items.holder[r],
                            L.street0 + items.street[r], Reason.NO_ASSIGNEE)
        items.handoffs[r] += 1
        items.stage[r] = Stage.STREET
        items.attempts[r] = cfg.items.max_assign_attempts
        items.holder[r] = L.street0 + items.street[r]
        keep = ~none
        rows, n_real, street = rows[keep], n_real[keep], street[keep]
        if rows.size == 0:
            return
    n = min(cfg.items.n_coresponsible, P_s)
    # Weighted sampling without replacement (Gumbel top-k): weights are the members'
    # capacities in the item's domain; log weights come from the pool's table (−inf = none).
    # (the draws plus the log weights, added in place: the same sums)
    keys = model.rng.gumbel(size=(rows.size, P_s))
    keys += _street_domain_rows(pool.log_capacity_by_street, street, items.domain[rows])
    top = top_columns(keys, n)
    assignees = pool.by_street[street[:, None], top]  # (m, n) pool indices
    if n_real.min() < n:
        # Streets with fewer members than n: the padded slots stay empty.
        assignees = np.where(np.arange(n)[None, :] < np.minimum(n_real, n)[:, None], assignees,
                             -1)
    decide_assignments(model, rows, assignees,
                       from_node=model.layout.conference0 + street,
                       reason=Reason.ASSIGN_NEGOTIATED, conference=True)


def top_columns(keys: np.ndarray, n: int) -> np.ndarray:
    """(m, n) columns of the n largest keys of each row, largest first; overwrites ``keys``.

    n passes of ``argmax`` (n is small: the co-responsible assignees): with distinct keys the
    same columns in the same order as a full descending sort. Where a row has fewer than n
    finite keys the surplus slots hold arbitrary columns (the caller empties them).
    """
    m, p = keys.shape
    top = np.empty((m, n), np.intp)
    if keys.flags.c_contiguous:  # keys[row, best] set by flat position (cheaper)
        flat, at = keys.reshape(-1), np.arange(m) * p  # (a view of keys; row starts)
    else:
        flat, at = keys, np.arange(m)
    for j in range(n):
        best = keys.argmax(axis=1)
        top[:, j] = best
        if flat is keys:
            keys[at, best] = -np.inf
        else:
            flat[at + best] = -np.inf
    return top


def _street_domain_rows(table: np.ndarray, street: np.ndarray, domain: np.ndarray) -> np.ndarray:
    """(m, P) rows ``table[street, domain]`` of a C-contiguous (S, D, P) table: the same
    copy as the two-array index, taken as whole rows of the (S·D, P) view (cheaper)."""
    S, D, P = table.shape
    return table.reshape(S * D, P).take(street * D + domain, axis=0)


def decide_assignments(model, rows: np.ndarray, assignees: np.ndarray, from_node,
                       reason: int, conference: bool = False) -> None:
    """Assign items ``rows`` to ``assignees`` (m, n; −1 = empty) and play the dilemma."""
    if rows.size == 0:
        return
    cfg, items, step, rng = model.config, model.items, model.steps, model.rng
    pool, L = model.state["pool"], model.layout
    bp = cfg.buck_passing
    valid = assignees >= 0
    all_valid = bool(valid.all())
    if all_valid:  # every slot filled (the usual case): the same values, fewer passes
        a = assignees
        n = np.full(rows.size, assignees.shape[1])
    else:
        a = np.where(valid, assignees, 0)
        n = _count_by_row(valid)
    # Only assignees that take part this week can act: the dilemma is played on those slots
    # (every other slot acts with probability 0). Each value below is computed for a slot
    # with the same element-wise arithmetic as over the whole (m, n) table.
    live = model.assignee_participating()[a]
    if not all_valid:
        live &= valid
    p = np.zeros(valid.shape)
    if live.any():
        row, col = live.nonzero()
        member = a[row, col]
        street = items.street[rows][row]
        # authority of each street over each pool member (S, P) and blame by street (S,),
        # looked up per slot
        rho, blame = _authority_and_blame(model, conference)
        benefit = (bp.benefit + model.assignee_motivation())[member]
        cost = bp.cost * items.difficulty[rows][row]
        p[row, col] = p_act(benefit, cost, blame[street], rho[street, member], n[row],
                            cfg.submodels.buck_passing)
    acts = rng.random(p.shape) < p
    ids = items.item_id[rows]
    assignee_node = pool.node[a]
    for col in range(assignees.shape[1]):
        v = valid[:, col]
        if all_valid or v.all():
            model.events.record(ids, step, from_node, assignee_node[:, col], reason)
        else:
            from_v = np.broadcast_to(np.asarray(from_node), rows.shape)[v]
            model.events.record(ids[v], step, from_v, assignee_node[v, col], reason)
    items.handoffs[rows] += 1
    items.assigned[rows] = True
    items.attempts[rows] += 1
    anyone = _any_by_row(acts)
    n_took = int(np.count_nonzero(anyone))
    model.assignment_stats["decisions"] += rows.size
    model.assignment_stats["nobody"] += rows.size - n_took
    if n_took:
        # The most capable of those who act takes the item on.
        took = rows[anyone]
        a_took = a[anyone]
        cap = np.where(acts[anyone], pool.capacity[a_took, items.domain[took][:, None]], -np.inf)
        taker = a_took[np.arange(took.size), np.argmax(cap, axis=1)]
        items.stage[took] = Stage.ASSIGNED
        items.holder[took] = pool.node[taker]
        hours = cfg.items.hours_per_item * items.difficulty[took]
        items.work_left[took] = hours
        items.needed[took] = hours
        items.substance_done[took] = 0.0
        model.mark_responded(took)
    if n_took < rows.size:
        nobody = ~anyone
        back = rows[nobody]
        first = a[nobody, 0]
        back_street = items.street[back]
        model.events.record(items.item_id[back], step, pool.node[first],
                            L.street0 + back_street, Reason.FLOW_BACK)
        items.stage[back] = Stage.STREET
        items.holder[back] = L.street0 + back_street
        items.handoffs[back] += 1
        items.return_flows[back] += 1
        model.ledger.flowed_back_by_community += np.bincount(
            items.community[back], minlength=model.ledger.flowed_back_by_community.size)
        model.ledger.flow_back_owners.append(items.origin[back])


def _authority_and_blame(model, conference: bool) -> tuple[np.ndarray, np.ndarray]:
    """(S, P) authority ρ of each street over each pool member (:func:`authority_towards`) and
    (S,) blame f of each street; kept while the config and levers are unchanged
    (:meth:`sim.model.RegionModel.lever_derived`)."""
    cfg, pool = model.config, model.state["pool"]
    bp = cfg.buck_passing

    def compute(street_authority, conference_binding, leading_group):
        rho = authority_towards(cfg, pool.higher_rank[None, :], conference,
                                street_authority[:, None], conference_binding[:, None],
                                leading_group[:, None])
        blame = bp.blame * (1.0 + leading_group * bp.leading_group_sanction)
        return rho, blame

    return model.lever_derived(f"authority_and_blame:{conference}", _AUTHORITY_LEVERS, compute)


#: The levers behind :func:`_authority_and_blame`, in the order ``compute`` takes them.
_AUTHORITY_LEVERS = ("empowerment.street_authority", "empowerment.conference_binding",
                     "empowerment.leading_group")


def _count_by_row(mask: np.ndarray) -> np.ndarray:
    """(m,) int64 number of True in each row of an (m, n) bool array, n small (column by
    column: ``mask.sum(axis=1)`` in less time)."""
    if mask.shape[1] == 0:
        return np.zeros(mask.shape[0], np.int64)
    count = mask[:, 0].astype(np.int64)
    for j in range(1, mask.shape[1]):
        count += mask[:, j]
    return count


def _any_by_row(mask: np.ndarray) -> np.ndarray:
    """(m,) bool: any True in each row of an (m, n) bool array, n small (column by column:
    ``mask.any(axis=1)`` in less time)."""
    if mask.shape[1] == 0:
        return np.zeros(mask.shape[0], bool)
    anyone = mask[:, 0].copy()
    for j in range(1, mask.shape[1]):
        anyone |= mask[:, j]
    return anyone


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
    holder = items.holder[rows]
    p_idx = holder - L.unit0  # pool index: units then organisations, contiguous
    difficulty = items.difficulty[rows]
    cap = pool.capacity[p_idx, items.domain[rows]]
    ratio = cap / np.maximum(difficulty, 1e-9)
    participating = model.assignee_participating()
    p = np.minimum(1.0, ratio) * np.where(participating[p_idx], 1.0, 0.5)
    ok = model.rng.random(rows.size) < p
    # (whole steps: ``created <= steps − min_processing`` is ``steps − created >= ...``)
    ok &= items.created[rows] <= model.steps - model.config.items.min_processing
    hours = model.config.items.hours_per_item * difficulty
    # A week spent without closing costs half the item's hours; the closing week its full hours.
    model.ledger.resources += float(np.where(ok, hours, 0.5 * hours).sum())
    done = rows[ok]
    done_holder = holder[ok]
    model.world.record_services(done_holder, items.community[done], model.steps)
    # (quality of every assignee, then of the closing ones: the same element-wise arithmetic)
    quality = assignee_quality(participating, model.assignee_motivation())[p_idx[ok]]
    items.substance_done[done] = items.needed[done]
    model.close(done, done_holder, np.ones(done.size), ratio[ok], quality, Reason.CLOSE)
    wait = ~ok
    wait_holder = holder[wait]
    model.events.record(items.item_id[rows[wait]], model.steps, wait_holder, wait_holder,
                        Reason.DELAY)
