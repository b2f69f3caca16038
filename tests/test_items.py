"""Items and their hand-off history: conservation at every step (spin-up included), exact
book-keeping of hand-offs, return flows, closures (办结) and solutions (解决), repeat complaints
and responses, record modes and compaction that change nothing, and metrics that are
reconstructable from the item table, bounded, and missing (NaN) exactly when their
denominator ``<rate>_n`` is empty."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from helpers import (
    ALL_PATHS,
    EMPTY_DISTRICT,
    assert_run_results_equal,
    make_model,
    stepped,
)

import sim
import sim.model
from sim.items import Reason, Stage, Status
from sim.metrics import METRICS, RATE_METRICS

STEPS = 60
SEED = 3
#: A short spin-up for the tests of items carried over into week 1.
SPIN_UP = 20
#: ALL_PATHS from an empty start (no spin-up: every item and event of the run is kept, so the
#: book-keeping is exact from item 0), with overdue items closed on paper before they can
#: expire (overdue_after < max_age) so that paper closure is among the paths too.
PATHS = {**ALL_PATHS, "spin_up": 0, "items.overdue_after": 3}
HANDOFF_NAMES = {Reason.NAMES[r] for r in Reason.HANDOFFS}
ASSIGN_NAMES = {Reason.NAMES[Reason.ASSIGN_LIST], Reason.NAMES[Reason.ASSIGN_NEGOTIATED]}
CLOSE_NAMES = {Reason.NAMES[Reason.CLOSE], Reason.NAMES[Reason.PAPER_CLOSE]}
ENDING_NAMES = CLOSE_NAMES | {Reason.NAMES[Reason.EXPIRE]}
EVERY_PATH = (Reason.ESCALATE, Reason.TO_CONFERENCE, Reason.ASSIGN_LIST,
              Reason.ASSIGN_NEGOTIATED, Reason.OUTSOURCE, Reason.FLOW_BACK, Reason.PUSH_DOWN,
              Reason.CLOSE, Reason.PAPER_CLOSE, Reason.EXPIRE, Reason.REPEAT)


def run_all_paths(**extra):
    return sim.run(seed=SEED, steps=STEPS, overrides={**PATHS, **extra})


@pytest.fixture(scope="module")
def result():
    return run_all_paths()


@pytest.fixture(scope="module")
def spun_up():
    """The same district after a spin-up: items open at week 0 carry over into week 1."""
    return run_all_paths(spin_up=SPIN_UP)


@pytest.fixture(scope="module")
def events(result):
    """Hand-off table with a log position, sorted by item (stable: log order within an item)."""
    h = result.handoffs.copy()
    h["reason"] = h["reason"].astype(str)
    h["pos"] = np.arange(len(h))
    return h.sort_values("item_id", kind="stable")


def statuses(items):
    return items["status"].astype(str)


# --------------------------------------------------------------------------- conservation


@pytest.mark.parametrize("spin_up", [0, SPIN_UP])
def test_conservation_after_every_step(spin_up):
    model = make_model({**PATHS, "spin_up": spin_up}, rng=SEED)
    it, ev, h = model.items, model.events, model.history
    c0, cl0, so0, ex0 = model.counts_at_start
    assert model.steps == 0
    assert c0 == cl0 + ex0 + model.items_open_at_start
    if spin_up:
        assert model.items_open_at_start > 0 and cl0 > 0
    else:
        assert model.counts_at_start == (0, 0, 0, 0) and model.items_open_at_start == 0
    assert (ev.counts == 0).all()  # reset at the end of the spin-up
    for _ in range(STEPS):
        model.step()
        t = model.steps
        live_open = int((it.stage != Stage.CLOSED).sum())
        assert it.n_created == it.n_closed + it.n_expired + live_open
        assert it.n_open == live_open
        assert 0 <= it.n_solved <= it.n_closed
        # events count weeks 1..t
        assert ev.counts[Reason.RAISED] + ev.counts[Reason.REPEAT] == it.n_created - c0
        assert ev.counts[Reason.CLOSE] + ev.counts[Reason.PAPER_CLOSE] == it.n_closed - cl0
        assert ev.counts[Reason.EXPIRE] == it.n_expired - ex0
        # the history keeps every step, the spin-up's included
        assert h.first == min(0, 1 - spin_up)
        for field, n in (("created", it.n_created), ("closed", it.n_closed),
                         ("solved", it.n_solved), ("expired", it.n_expired)):
            assert h.total(field, h.first, t) == n, field
        assert h.total("solved", 1, t) == it.n_solved - so0
        assert h.total("repeats", 1, t) == ev.counts[Reason.REPEAT]
        assert model.timeseries()["backlog"].iloc[-1] == live_open
    c = model.item_counts()
    assert c["items_open_at_start"] + c["items_created"] == (c["items_closed"] + c["items_expired"]
                                                             + c["items_open"])
    # the scenario is built so that every path happened (in weeks 1..T)
    for reason in EVERY_PATH:
        assert ev.counts[reason] > 0, Reason.NAMES[reason]


def test_item_table_counts_match_the_summary(result):
    items, s = result.items, result.summary
    assert s["items_open_at_start"] == 0
    assert len(items) == s["items_created"]
    np.testing.assert_array_equal(items["item_id"], np.arange(len(items)))
    status = statuses(items)
    assert (status == "closed").sum() == s["items_closed"]
    assert (status == "expired").sum() == s["items_expired"]
    assert (status == "open").sum() == s["items_open"]
    assert s["items_created"] == s["items_closed"] + s["items_expired"] + s["items_open"]
    assert s["items_expired"] > 0 and s["items_open"] > 0
    assert list(items["status"].cat.categories) == list(Status.NAMES)
    assert list(items["stage"].cat.categories) == list(Stage.NAMES)


def test_solved_only_for_closed_items(result):
    """解决 ⊂ 办结: closed items are solved or not; expired and open items never are."""
    items, s = result.items, result.summary
    assert items["solved"].dtype == bool
    status = statuses(items)
    closed = status == "closed"
    assert not items.loc[~closed, "solved"].any()
    # both kinds of closure happened: real solutions and sham closures
    assert items.loc[closed, "solved"].any() and not items.loc[closed, "solved"].all()
    assert items["solved"].sum() == s["items_solved"]
    assert 0 < s["items_solved"] < s["items_closed"]


def test_items_open_at_week_one_carry_over(spun_up):
    """With a spin-up, items open at week 0 carry over (created ≤ 0) and are kept; items that
    ended during the spin-up are not; the counts cover weeks 1..T."""
    items, s, cfg = spun_up.items, spun_up.summary, spun_up.config
    assert s["items_open_at_start"] > 0
    assert s["items_open_at_start"] + s["items_created"] == (s["items_closed"] + s["items_expired"]
                                                             + s["items_open"])
    status = statuses(items)
    carried = items["created"] <= 0
    assert carried.sum() == s["items_open_at_start"]
    assert (~carried).sum() == s["items_created"]
    # open at the end of week 0: younger than max_age then, ended (if at all) in week 1 or later
    assert (items.loc[carried, "created"] > -cfg.items.max_age).all()
    assert (items.loc[carried & (status != "open"), "closed"] >= 1).all()
    assert (status == "closed").sum() == s["items_closed"]
    assert (status == "expired").sum() == s["items_expired"]
    assert (status == "open").sum() == s["items_open"]
    assert items["solved"].sum() == s["items_solved"]
    assert items["item_id"].is_unique and items["item_id"].is_monotonic_increasing
    # the hand-off table starts at week 1: carried-over items were raised before it
    h = spun_up.handoffs
    assert (h["step"] >= 1).all()
    raised = h["reason"].astype(str).isin([Reason.NAMES[Reason.RAISED],
                                           Reason.NAMES[Reason.REPEAT]])
    assert raised.sum() == s["items_created"]
    np.testing.assert_array_equal(np.sort(h.loc[raised, "item_id"].to_numpy()),
                                  items.loc[~carried, "item_id"].to_numpy())
    # pooled rates count every item that ended in weeks 1..T, carried-over ones included
    ended = s["items_closed"] + s["items_expired"]
    assert s["closure_rate_n"] == ended
    assert s["closure_rate"] == pytest.approx(s["items_closed"] / ended)
    assert s["resolution_rate"] == pytest.approx(s["items_solved"] / ended)


def test_item_lifecycle_fields(result):
    items, cfg = result.items, result.config
    status, stage = statuses(items), items["stage"].astype(str)
    ended = status != "open"
    assert ((stage == "closed") == ended).all()
    assert (items.loc[~ended, "closed"] == -1).all()
    assert (items.loc[ended, "closed"] >= items.loc[ended, "created"]).all()
    assert (items["created"] >= 1).all() and (items["created"] <= STEPS).all()
    assert (items.loc[ended, "closed"] <= STEPS).all()
    # an item expires exactly max_age steps after it was raised, never earlier or later
    # (work comes before expiry within a step: it may still be closed at age max_age)
    expired = items[status == "expired"]
    assert (expired["closed"] - expired["created"] == cfg.items.max_age).all()
    closed = items[status == "closed"]
    age = closed["closed"] - closed["created"]
    assert (age <= cfg.items.max_age).all()
    assert (age >= cfg.items.min_processing).all()
    assert (STEPS - items.loc[~ended, "created"] < cfg.items.max_age).all()
    # raised by one of its community's residents, in that community's street (community sizes
    # differ: residents are numbered community by community from community_first_resident)
    model = sim.RegionModel(config=cfg)
    origin, community = items["origin"].to_numpy(), items["community"].to_numpy()
    np.testing.assert_array_equal(model.world.resident_community[origin], community)
    first = model.community_first_resident[community]
    size = model.state["communities"].n_residents[community]
    assert ((origin >= first) & (origin < first + size)).all()
    np.testing.assert_array_equal(model.state["communities"].street[community], items["street"])


@pytest.mark.parametrize("min_processing", [0, 3])
def test_no_item_is_closed_before_min_processing(min_processing):
    items = run_all_paths(**{"items.min_processing": min_processing}).items
    closed = items[statuses(items) == "closed"]
    age = closed["closed"] - closed["created"]
    assert len(closed)
    assert (age >= min_processing).all()
    assert (age == min_processing).any()  # the floor binds: some are closed as soon as allowed


# --------------------------------------------------------------------------- hand-offs


def assignment_groups(events):
    """One row per assignment decision: (item, step, reason) with its assignees."""
    a = events[events["reason"].isin(ASSIGN_NAMES)]
    return a.groupby(["item_id", "step", "reason"], sort=False).agg(
        n=("to_node", "size"), assignees=("to_node", lambda s: frozenset(s)),
        n_distinct=("to_node", "nunique"), from_node=("from_node", "first"),
        n_from=("from_node", "nunique"), first_pos=("pos", "min"))


def test_handoff_count_equals_events_with_one_per_assignment(result, events):
    """decide_assignments records one event per assignee but counts ONE hand-off per item."""
    hand = events[events["reason"].isin(HANDOFF_NAMES)]
    single = hand[~hand["reason"].isin(ASSIGN_NAMES)].groupby("item_id").size()
    groups = assignment_groups(events).reset_index().groupby("item_id").size()
    expected = single.add(groups, fill_value=0)
    items = result.items.set_index("item_id")
    got = items["handoffs"]
    want = expected.reindex(items.index, fill_value=0)
    np.testing.assert_array_equal(got.to_numpy(), want.to_numpy())
    # every hand-off reason took part
    # no_assignee happens only where a street has no units or organisations (tested apart)
    assert set(hand["reason"]) == HANDOFF_NAMES - {"no_assignee"}


def test_negotiated_assignment_gives_n_distinct_assignees_of_the_street(result, events):
    cfg, items = result.config, result.items.set_index("item_id")
    model = sim.RegionModel(config=cfg)
    L = model.layout
    # streets differ in size: each street's pool is its own units and organisations
    pool_size = (np.bincount(model.unit_street, minlength=L.n_streets)
                 + np.bincount(model.two_new_street, minlength=L.n_streets))
    groups = assignment_groups(events).reset_index()
    neg = groups[groups["reason"] == Reason.NAMES[Reason.ASSIGN_NEGOTIATED]]
    lst = groups[groups["reason"] == Reason.NAMES[Reason.ASSIGN_LIST]]
    assert len(neg) and len(lst)
    neg_street = items.loc[neg["item_id"], "street"].to_numpy()
    np.testing.assert_array_equal(neg["n"].to_numpy(),
                                  np.minimum(cfg.items.n_coresponsible, pool_size[neg_street]))
    assert (neg["n_distinct"] == neg["n"]).all()
    assert (lst["n"] == 1).all()
    assert (groups["n_from"] == 1).all()
    street = items.loc[groups["item_id"], "street"].to_numpy()
    is_neg = (groups["reason"] == Reason.NAMES[Reason.ASSIGN_NEGOTIATED]).to_numpy()
    np.testing.assert_array_equal(groups["from_node"].to_numpy(),
                                  np.where(is_neg, L.conference0 + street, L.street0 + street))
    for assignees, s in zip(groups["assignees"], street):
        for node in assignees:
            assert L.unit0 <= node < L.resident0
            idx = node - L.unit0
            member_street = model.unit_street[idx] if idx < L.n_units else \
                model.two_new_street[idx - L.n_units]
            assert member_street == s


def test_attempts_and_assigned_count_assignment_decisions(result, events):
    items = result.items.set_index("item_id")
    per_item = assignment_groups(events).reset_index().groupby("item_id").size()
    n = per_item.reindex(items.index, fill_value=0)
    np.testing.assert_array_equal(items["attempts"].to_numpy(), n.to_numpy())
    np.testing.assert_array_equal(items["assigned"].to_numpy(), (n > 0).to_numpy())
    assert (items["attempts"] <= result.config.items.max_assign_attempts).all()


def test_return_flows_equal_flow_back_events(result, events):
    items = result.items.set_index("item_id")
    fb = events[events["reason"] == Reason.NAMES[Reason.FLOW_BACK]]
    n = fb.groupby("item_id").size().reindex(items.index, fill_value=0)
    np.testing.assert_array_equal(items["return_flows"].to_numpy(), n.to_numpy())
    assert n.sum() > 0
    assert (items["return_flows"] <= items["attempts"]).all()
    assert not (items["return_flows"] > 0)[~items["assigned"]].any()


def test_every_flow_back_follows_an_assignment(result, events):
    L = sim.RegionModel(config=result.config).layout
    items = result.items.set_index("item_id")
    groups = assignment_groups(events).reset_index()
    by_item_step = {}
    for g in groups.itertuples():
        by_item_step.setdefault((g.item_id, g.step), []).append(g)
    fb = events[events["reason"] == Reason.NAMES[Reason.FLOW_BACK]]
    assert len(fb)
    for row in fb.itertuples():
        match = by_item_step.get((row.item_id, row.step), [])
        assert len(match) == 1, f"flow_back of item {row.item_id} without one assignment"
        (g,) = match
        assert g.first_pos < row.pos
        assert row.from_node in g.assignees
        assert row.to_node == L.street0 + items.loc[row.item_id, "street"]


def holder_chain_breaks(events):
    """Events whose from_node is not where the previous event of the item left it."""
    breaks = []
    key = (events["item_id"].astype(str) + ":" + events["step"].astype(str) + ":"
           + events["reason"])
    grp = (key != key.shift()).cumsum()
    for item_id, g in events.groupby("item_id", sort=False):
        prev = None
        for _, gg in g.groupby(grp.loc[g.index], sort=False):
            if prev is not None and not set(gg["from_node"]) <= prev:
                breaks.append((item_id, gg["reason"].iloc[0], int(gg["step"].iloc[0])))
            prev = set(gg["to_node"])
    return breaks


def first_events(events, items):
    """The first event of each item (raised or repeat), indexed like ``items`` (by item_id)."""
    first = events.groupby("item_id", sort=False).first()
    return first.reindex(items["item_id"].to_numpy())


def test_every_move_of_an_item_is_an_event(result, events):
    """Each event starts where the previous one left the item (no unrecorded hand-off); each
    item starts with its raising: ``repeat`` for a repeat complaint, ``raised`` otherwise,
    from its resident to its community, at its creation step."""
    assert holder_chain_breaks(events) == []
    items = result.items
    L = sim.RegionModel(config=result.config).layout
    first = first_events(events, items)
    is_repeat = (items["repeat_of"] >= 0).to_numpy()
    want = np.where(is_repeat, Reason.NAMES[Reason.REPEAT], Reason.NAMES[Reason.RAISED])
    np.testing.assert_array_equal(first["reason"].to_numpy(), want)
    np.testing.assert_array_equal(first["step"].to_numpy(), items["created"].to_numpy())
    np.testing.assert_array_equal(first["from_node"].to_numpy(),
                                  L.resident0 + items["origin"].to_numpy())
    np.testing.assert_array_equal(first["to_node"].to_numpy(),
                                  L.community0 + items["community"].to_numpy())


def test_every_move_of_an_item_is_an_event_in_an_empty_district():
    """With no units and organisations the conference has no members: the item goes back
    to the street, and that hand-off must be recorded too."""
    r = sim.run(seed=1, steps=30, overrides={**EMPTY_DISTRICT, "spin_up": 0,
                                               "empowerment.responsibility_list": 0.5})
    h = r.handoffs.copy()
    h["reason"] = h["reason"].astype(str)
    h = h.sort_values("item_id", kind="stable")
    assert (h["reason"] == Reason.NAMES[Reason.TO_CONFERENCE]).any()
    assert (h["reason"] == Reason.NAMES[Reason.NO_ASSIGNEE]).any()
    assert holder_chain_breaks(h) == []
    first = h.groupby("item_id", sort=False)["reason"].first()
    assert first.isin([Reason.NAMES[Reason.RAISED], Reason.NAMES[Reason.REPEAT]]).all()


def test_close_delay_expire_stay_with_the_holder(result, events):
    same = events["reason"].isin(ENDING_NAMES | {Reason.NAMES[Reason.DELAY]})
    assert (events.loc[same, "from_node"] == events.loc[same, "to_node"]).all()
    closing = events["reason"].isin(ENDING_NAMES)
    assert not events.loc[closing, "item_id"].duplicated().any()


def test_every_ended_item_has_one_ending_event_of_its_kind(result, events):
    """Closed items end with ``close`` or ``paper_close``, expired ones with ``expire``, at
    their ``closed`` step; open items have none. Paper closures are of overdue items."""
    cfg = result.config
    items = result.items.set_index("item_id")
    status = statuses(items)
    end = events[events["reason"].isin(ENDING_NAMES)].set_index("item_id")
    ended = items[status != "open"]
    assert sorted(end.index) == sorted(ended.index)
    end = end.loc[ended.index]
    np.testing.assert_array_equal(end["step"].to_numpy(), ended["closed"].to_numpy())
    is_closed = (status.loc[ended.index] == "closed").to_numpy()
    assert end["reason"][is_closed].isin(CLOSE_NAMES).all()
    assert (end["reason"][~is_closed] == Reason.NAMES[Reason.EXPIRE]).all()
    paper = end["reason"] == Reason.NAMES[Reason.PAPER_CLOSE]
    assert paper.any()
    age = ended.loc[paper, "closed"] - ended.loc[paper, "created"]
    assert (age >= cfg.items.overdue_after).all()


# --------------------------------------------------------------------------- repeats, responses


def test_repeat_complaints_repeat_an_item_closed_unsolved(result):
    """Every repeat complaint names an item closed unsolved (a sham closure), raised again after
    it closed by the same resident in the same community: the same matter, at most once."""
    items = result.items.set_index("item_id")
    rep = items[items["repeat_of"] >= 0]
    assert len(rep)
    assert rep["repeat_of"].is_unique
    assert rep["repeat_of"].isin(items.index).all()  # no spin-up: every item is in the table
    orig = items.loc[rep["repeat_of"].to_numpy()]
    assert (statuses(orig) == "closed").all()
    assert not orig["solved"].any()
    assert (rep["created"].to_numpy() > orig["closed"].to_numpy()).all()
    for col in ("origin", "community", "street", "domain", "difficulty", "specialised"):
        np.testing.assert_array_equal(rep[col].to_numpy(), orig[col].to_numpy(), err_msg=col)
    # the summary's pooled repeat-complaint rate is the table's share of repeats
    s = result.summary
    assert s["repeat_complaint_rate_n"] == len(items)
    assert s["repeat_complaint_rate"] == pytest.approx(len(rep) / len(items))


def test_no_repeat_complaints_without_repeat_probability():
    r = run_all_paths(**{"items.repeat_probability": 0.0})
    assert (r.items["repeat_of"] == -1).all()
    assert (r.handoffs["reason"].astype(str) != Reason.NAMES[Reason.REPEAT]).all()
    rate = r.timeseries["repeat_complaint_rate"]
    assert (rate[rate.notna()] == 0).all() and r.summary["repeat_complaint_rate"] == 0


def test_responded_is_the_first_action_on_the_item(result, events):
    """``responded`` is the step of the first action (−1: none): never before the item was
    raised, never after it was taken on, outsourced or closed."""
    items = result.items.set_index("item_id")
    status = statuses(items)
    r, created = items["responded"], items["created"]
    acted = r >= 0
    assert acted.any() and not acted.all()
    assert (r[~acted] == -1).all()
    assert (r[acted] >= created[acted]).all() and (r <= STEPS).all()
    closed = status == "closed"
    assert acted[closed].all()  # closing is an action
    ended = status != "open"
    assert (r[ended & acted] <= items.loc[ended & acted, "closed"]).all()
    # taking an item on: outsourcing, an assignment nobody passed back, a closure
    taken = [events.loc[events["reason"].isin(CLOSE_NAMES | {Reason.NAMES[Reason.OUTSOURCE]}),
                        ["item_id", "step"]]]
    groups = assignment_groups(events).reset_index()
    fb = events[events["reason"] == Reason.NAMES[Reason.FLOW_BACK]]
    passed_back = set(zip(fb["item_id"], fb["step"]))
    took = [(i, s) not in passed_back for i, s in zip(groups["item_id"], groups["step"])]
    taken.append(groups.loc[took, ["item_id", "step"]])
    first_taken = pd.concat(taken).groupby("item_id")["step"].min()
    assert len(first_taken)
    assert (r.loc[first_taken.index] >= 0).all()
    assert (r.loc[first_taken.index] <= first_taken).all()


def test_response_rate_is_reproduced_from_the_item_table_at_one_step(result):
    """response_rate at t: of the items whose response deadline (created + d) fell in the
    window (t − w, t], the share acted on within d steps of being raised."""
    items, ts, cfg = result.items, result.timeseries, result.config
    d, w = cfg.items.response_deadline, cfg.metrics.window
    t = STEPS // 2
    deadline = items["created"] + d
    due = (deadline > t - w) & (deadline <= t)
    met = due & (items["responded"] >= 0) & (items["responded"] - items["created"] <= d)
    assert 0 < met.sum() < due.sum()
    assert ts.loc[t, "response_rate_n"] == due.sum()
    assert ts.loc[t, "response_rate"] == pytest.approx(met.sum() / due.sum())


def test_each_item_counts_once_towards_the_response_rate_with_a_spin_up():
    """Spin-up steps are ≤ 0, so an item first acted on at step −1 must not look unanswered
    (a −1 sentinel): it would be counted again at its next action."""
    model = stepped(make_model({**PATHS, "spin_up": SPIN_UP}, rng=SEED), 10)
    h = model.history
    assert (h.data["responded_by_created"] <= h.data["created"]).all()
    assert (h.data["response_met"] <= h.data["response_due"]).all()
    rate = model.timeseries()["response_rate"].dropna()
    assert len(rate) and ((rate >= 0) & (rate <= 1)).all()


# --------------------------------------------------------------------------- record modes


def test_record_none_keeps_no_rows_but_the_same_results(result):
    none = run_all_paths(**{"items.record": "none"})
    assert none.items is None and none.handoffs is None
    assert none.summary == result.summary
    pd.testing.assert_frame_equal(none.timeseries, result.timeseries)


def _plain(df):
    out = df.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype(str)
    return out.reset_index(drop=True)


def test_record_stream_gives_the_same_tables_as_memory(result, tmp_path):
    path = tmp_path / "items.parquet"
    streamed = run_all_paths(**{"items.record": "stream", "items.stream_path": str(path)})
    assert path.exists()
    assert streamed.summary == result.summary
    pd.testing.assert_frame_equal(streamed.timeseries, result.timeseries)
    pd.testing.assert_frame_equal(_plain(streamed.items), _plain(result.items),
                                  check_dtype=False)
    pd.testing.assert_frame_equal(_plain(streamed.handoffs), _plain(result.handoffs),
                                  check_dtype=False)
    on_disk = pd.read_parquet(path)
    assert 0 < len(on_disk) <= len(result.items)
    assert set(on_disk["item_id"]) <= set(result.items["item_id"])


@pytest.mark.parametrize("every", [1, 3, 10**9])
def test_compaction_does_not_change_results(result, monkeypatch, every):
    monkeypatch.setattr(sim.model, "COMPACT_EVERY", every)
    assert_run_results_equal(run_all_paths(), result)


def test_compaction_moves_closed_items_out(monkeypatch):
    monkeypatch.setattr(sim.model, "COMPACT_EVERY", 1)
    model = make_model(PATHS, rng=SEED)
    for _ in range(20):
        model.step()
        assert (model.items.stage != Stage.CLOSED).all()
        assert model.items.n == model.items.n_open
    assert model.items.n_closed > model.items.n_solved > 0


# --------------------------------------------------------------------------- metrics


def _ratio(num, den):
    return num / den if den else math.nan


def reconstruct_window_metrics(items, T, window, deadline):
    """Windowed event rates and their denominators at every step, from the final item table
    (no spin-up: the table holds every item). Rates at t = 0 are missing."""
    status = statuses(items)
    ended = status != "open"
    closed_status = status == "closed"
    created, closed, responded = items["created"], items["closed"], items["responded"]
    rows = []
    for t in range(T + 1):
        def in_window(step, t=t):
            return (step > t - window) & (step <= t)

        w = ended & in_window(closed)
        c = w & closed_status
        solved = c & items["solved"]
        assigned = w & items["assigned"]
        returned = assigned & (items["return_flows"] > 0)
        raised = in_window(created)
        repeats = raised & (items["repeat_of"] >= 0)
        due = in_window(created + deadline)
        met = due & (responded >= 0) & (responded - created <= deadline)
        n_w, n_c, n_as, n_raised, n_due = (int(x.sum()) for x in (w, c, assigned, raised, due))
        open_t = (created <= t) & (~ended | (closed > t))
        row = {
            "backlog": float(open_t.sum()),
            "closure_rate": _ratio(n_c, n_w), "closure_rate_n": n_w,
            "resolution_rate": _ratio(int(solved.sum()), n_w), "resolution_rate_n": n_w,
            "handoffs_per_item": _ratio(items.loc[w, "handoffs"].sum(), n_w),
            "handoffs_per_item_n": n_w,
            "return_flow_rate": _ratio(int(returned.sum()), n_as), "return_flow_rate_n": n_as,
            "mean_closure_time": _ratio((closed[c] - created[c]).sum(), n_c),
            "mean_closure_time_n": n_c,
            "repeat_complaint_rate": _ratio(int(repeats.sum()), n_raised),
            "repeat_complaint_rate_n": n_raised,
            "response_rate": _ratio(int(met.sum()), n_due), "response_rate_n": n_due,
            "cost_per_solved_item_n": int(solved.sum()),
        }
        if t == 0:
            row.update({k: math.nan for k in row if k in RATE_METRICS})
        rows.append(row)
    return pd.DataFrame(rows)


def test_item_metrics_are_reconstructable_from_the_item_table(result):
    cfg = result.config
    want = reconstruct_window_metrics(result.items, STEPS, cfg.metrics.window,
                                      cfg.items.response_deadline)
    got = result.timeseries[want.columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False, atol=1e-12, rtol=1e-9)
    # every reconstructed rate was measured at most steps, not missing throughout
    for name in ("closure_rate", "resolution_rate", "response_rate", "repeat_complaint_rate"):
        assert want[name].notna().sum() > STEPS // 2, name


def test_closure_and_resolution_rates_from_the_item_table_over_a_window(result):
    """办结率 = closed/(closed + expired), 解决率 = solved/(closed + expired), over the items
    that ended in the window (t − w, t]; and pooled over weeks 1..T in the summary."""
    items, ts, s = result.items, result.timeseries, result.summary
    w, t = result.config.metrics.window, STEPS
    status = statuses(items)
    ended = (status != "open") & (items["closed"] > t - w) & (items["closed"] <= t)
    closed = ended & (status == "closed")
    solved = closed & items["solved"]
    assert 0 < solved.sum() < closed.sum() < ended.sum()
    assert ts.loc[t, "closure_rate_n"] == ended.sum() == ts.loc[t, "resolution_rate_n"]
    assert ts.loc[t, "closure_rate"] == pytest.approx(closed.sum() / ended.sum())
    assert ts.loc[t, "resolution_rate"] == pytest.approx(solved.sum() / ended.sum())
    n_ended = s["items_closed"] + s["items_expired"]
    assert s["closure_rate_n"] == s["resolution_rate_n"] == n_ended
    assert s["closure_rate"] == pytest.approx(s["items_closed"] / n_ended)
    assert s["resolution_rate"] == pytest.approx(s["items_solved"] / n_ended)
    # a solution is a closure: the resolution rate never exceeds the closure rate
    body = ts.loc[1:].dropna(subset=["closure_rate"])
    assert len(body) > STEPS // 2
    assert (body["resolution_rate"] <= body["closure_rate"]).all()


def test_summary_rates_are_pooled_over_weeks_one_to_T():
    """With a one-step window each row's rate is that week's; the summary pools weeks 1..T:
    Σ numerators / Σ denominators (spin-up weeks left out), with the Σ denominators as _n."""
    r = run_all_paths(spin_up=SPIN_UP, **{"metrics.window": 1})
    ts, s = r.timeseries, r.summary
    body = ts.loc[1:]
    for name in RATE_METRICS:
        n = body[name + "_n"]
        assert s[name + "_n"] == n.sum() > 0, name
        num = (body[name].fillna(0.0) * n).sum()  # a week's numerator where it is measured
        if name == "cost_per_solved_item":
            # resources are also spent in weeks that solve nothing (rate missing there): the
            # pooled cost counts them too
            assert s[name] * n.sum() >= num - 1e-9, name
            if (n > 0).all():
                assert s[name] == pytest.approx(num / n.sum()), name
        else:  # nothing is counted in a week whose denominator is empty
            assert s[name] == pytest.approx(num / n.sum()), name


def metric_bounds(name):
    unit = next(m.unit for m in METRICS if m.name == name)
    if unit in ("share", "index [0,1]"):
        return 0.0, 1.0
    if unit == "index [-1,1]":
        return -1.0, 1.0
    return 0.0, math.inf


def expected_columns():
    """Each metric, with its denominator ``<rate>_n`` right after each rate."""
    return [c for m in METRICS for c in ((m.name, m.name + "_n") if m.is_rate else (m.name,))]


def same(a, b) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def check_metrics(result, may_be_missing=()):
    """The missing-rate rule and bounds.

    Rates: missing (NaN) at t = 0 and, from week 1, exactly where their denominator
    ``<rate>_n`` (a count, never missing) is 0; in bounds otherwise. Other metrics: the
    participation of units (organisations) is missing exactly when the district has none;
    the metrics in ``may_be_missing`` may be missing (the caller says why); every other value
    is finite. The summary follows the same rule with the pooled denominators.
    """
    ts, s = result.timeseries, result.summary
    assert list(ts.columns) == expected_columns()
    streets = result.streets
    n_members = {"participation_units": int((streets["units_higher_rank"]
                                             + streets["units_lower_rank"]).sum()),
                 "participation_two_new": int(streets["two_new"].sum())}
    body = ts.index >= 1
    assert ts.index[0] == 0 and body[1:].all()
    for m in METRICS:
        col = ts[m.name]
        lo, hi = metric_bounds(m.name)
        known = col.dropna()
        assert ((known >= lo) & (known <= hi)).all(), m.name
        if m.is_rate:
            n = ts[m.name + "_n"]
            assert np.isfinite(n).all() and (n >= 0).all(), m.name
            assert math.isnan(col.iloc[0]), m.name
            np.testing.assert_array_equal(col[body].isna().to_numpy(), (n[body] == 0).to_numpy(),
                                          err_msg=m.name)
            assert math.isnan(s[m.name]) == (s[m.name + "_n"] == 0), m.name
            assert s[m.name + "_n"] >= 0
        elif m.name in n_members:
            assert col.isna().all() == (n_members[m.name] == 0), m.name
            assert col.notna().all() or col.isna().all(), m.name
        elif m.name not in may_be_missing:
            assert np.isfinite(col.to_numpy(float)).all(), m.name
        if not math.isnan(s[m.name]):
            assert lo <= s[m.name] <= hi, m.name
        if m.name not in may_be_missing and not m.is_rate:
            assert math.isnan(s[m.name]) == col[body].isna().all(), m.name
        assert same(s[m.name + "_final"], float(col.iloc[-1])), m.name
    for k in ("items_open_at_start", "items_created", "items_closed", "items_solved",
              "items_expired", "items_open"):
        assert math.isfinite(s[k]) and s[k] >= 0, k
    assert s["items_solved"] <= s["items_closed"]
    assert math.isnan(s["participation_amplitude"]) == (n_members["participation_two_new"] == 0)


def test_metrics_bounded_or_missing(result):
    # From an empty start nobody has worked at step 0, nor been evaluated before the first
    # evaluation: those state metrics are missing until then, and only then.
    check_metrics(result, may_be_missing={"form_effort_share", "evaluation_gap"})
    ts = result.timeseries
    period = result.config.evaluation.period
    np.testing.assert_array_equal(ts["evaluation_gap"].isna().to_numpy(), ts.index < period)
    assert ts.loc[2:, "form_effort_share"].notna().all()


def test_metrics_bounded_or_missing_after_a_spin_up(spun_up):
    # after the spin-up every state metric is measured from week 0
    check_metrics(spun_up)


@pytest.mark.parametrize("extra, may_be_missing", [
    pytest.param({}, (), id="empty"),
    pytest.param({"empowerment.responsibility_list": 1.0}, (), id="empty-with-list"),
    # no item: a community's true performance (share of its items solved) is undefined
    pytest.param({"items.rate_per_resident": 0.0}, ("evaluation_gap",), id="empty-no-items"),
])
def test_metrics_bounded_or_missing_in_an_empty_district(extra, may_be_missing):
    r = sim.run(seed=2, steps=20, overrides={**EMPTY_DISTRICT, **extra})
    check_metrics(r, may_be_missing)
    ts = r.timeseries
    # no units, no organisations, nothing ever assigned: nothing to measure, not 0
    assert ts["participation_two_new"].isna().all()
    assert ts["participation_units"].isna().all()
    assert (ts["return_flow_rate_n"] == 0).all() and ts["return_flow_rate"].isna().all()
    assert r.summary["return_flow_rate_n"] == 0 and math.isnan(r.summary["return_flow_rate"])


def test_empty_district_with_outsourcing_runs():
    """Market logic in a street with no organisations buys from an outside provider."""
    r = sim.run(seed=2, steps=20, overrides={**EMPTY_DISTRICT, "market.outsourcing": 0.5})
    check_metrics(r)
    s = r.summary
    assert s["items_open_at_start"] + s["items_created"] == (s["items_closed"] + s["items_expired"]
                                                             + s["items_open"])
    out = r.handoffs[r.handoffs["reason"].astype(str) == Reason.NAMES[Reason.OUTSOURCE]]
    assert len(out) and (out["to_node"] == sim.institutions.street.EXTERNAL_PROVIDER).all()


def test_no_items_at_all_gives_missing_rates_not_zero():
    r = sim.run(seed=2, steps=8, overrides={"population": "classroom",
                                             "items.rate_per_resident": 0.0})
    # no item: a community's true performance (share of its items solved) is undefined
    check_metrics(r, may_be_missing={"evaluation_gap"})
    ts, s = r.timeseries, r.summary
    assert s["items_created"] == 0 and s["items_open_at_start"] == 0
    for name in RATE_METRICS:
        assert ts[name].isna().all(), name
        assert (ts[name + "_n"] == 0).all(), name
        assert math.isnan(s[name]) and s[name + "_n"] == 0, name
    assert (ts["backlog"] == 0).all()
    assert ts["evaluation_gap"].isna().all()
    assert len(r.items) == 0 and len(r.handoffs) == 0
