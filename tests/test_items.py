"""Items and their hand-off history: conservation at every step, exact book-keeping of
hand-offs and return flows, record modes and compaction that change nothing, and metrics
that are reconstructable from the item table, bounded and never NaN."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from helpers import ALL_PATHS, EMPTY_DISTRICT, assert_run_results_equal, make_model

import sim
import sim.model
from sim.items import Reason, Stage, Status
from sim.metrics import METRICS

STEPS = 60
SEED = 3
HANDOFF_NAMES = {Reason.NAMES[r] for r in Reason.HANDOFFS}
ASSIGN_NAMES = {Reason.NAMES[Reason.ASSIGN_LIST], Reason.NAMES[Reason.ASSIGN_NEGOTIATED]}
EVERY_PATH = (Reason.ESCALATE, Reason.TO_CONFERENCE, Reason.ASSIGN_LIST,
              Reason.ASSIGN_NEGOTIATED, Reason.OUTSOURCE, Reason.FLOW_BACK, Reason.PUSH_DOWN,
              Reason.RESOLVE, Reason.EXPIRE)


def run_all_paths(**extra):
    return sim.run(seed=SEED, steps=STEPS, overrides={**ALL_PATHS, **extra})


@pytest.fixture(scope="module")
def result():
    return run_all_paths()


@pytest.fixture(scope="module")
def events(result):
    """Hand-off table with a log position, sorted by item (stable: log order within an item)."""
    h = result.handoffs.copy()
    h["reason"] = h["reason"].astype(str)
    h["pos"] = np.arange(len(h))
    return h.sort_values("item_id", kind="stable")


# --------------------------------------------------------------------------- conservation


def test_conservation_after_every_step(all_paths_model):
    model = all_paths_model
    it, ev = model.items, model.events
    for _ in range(STEPS):
        model.step()
        live_open = int((it.stage != Stage.CLOSED).sum())
        assert it.n_created == it.n_resolved + it.n_expired + live_open
        assert it.n_open == live_open
        assert ev.counts[Reason.RAISED] == it.n_created
        assert ev.counts[Reason.RESOLVE] == it.n_resolved
        assert ev.counts[Reason.EXPIRE] == it.n_expired
        closures = model.closures.data
        assert closures["closed"].sum() == it.n_resolved + it.n_expired
        assert closures["resolved"].sum() == it.n_resolved
        assert closures["expired"].sum() == it.n_expired
        assert model.timeseries()["backlog"].iloc[-1] == live_open
    # the scenario is built so that every path happened
    for reason in EVERY_PATH:
        assert ev.counts[reason] > 0, Reason.NAMES[reason]


def test_item_table_counts_match_the_summary(result):
    items, s = result.items, result.summary
    assert len(items) == s["items_created"]
    np.testing.assert_array_equal(items["item_id"], np.arange(len(items)))
    status = items["status"].astype(str)
    assert (status == "resolved").sum() == s["items_resolved"]
    assert (status == "expired").sum() == s["items_expired"]
    assert (status == "open").sum() == s["items_open"]
    assert s["items_created"] == s["items_resolved"] + s["items_expired"] + s["items_open"]
    assert s["items_expired"] > 0 and s["items_open"] > 0
    assert list(items["status"].cat.categories) == list(Status.NAMES)
    assert list(items["stage"].cat.categories) == list(Stage.NAMES)


def test_item_lifecycle_fields(result):
    items, cfg = result.items, result.config
    status, stage = items["status"].astype(str), items["stage"].astype(str)
    closed = status != "open"
    assert ((stage == "closed") == closed).all()
    assert (items.loc[~closed, "closed"] == -1).all()
    assert (items.loc[closed, "closed"] >= items.loc[closed, "created"]).all()
    assert (items["created"] >= 1).all() and (items["created"] <= STEPS).all()
    assert (items.loc[closed, "closed"] <= STEPS).all()
    # an item expires exactly max_age steps after it was raised, never earlier or later
    # (work comes before expiry within a step: it may still be resolved at age max_age)
    expired = items[status == "expired"]
    assert (expired["closed"] - expired["created"] == cfg.items.max_age).all()
    resolved = items[status == "resolved"]
    assert (resolved["closed"] - resolved["created"] <= cfg.items.max_age).all()
    assert (STEPS - items.loc[~closed, "created"] < cfg.items.max_age).all()
    # raised by one of its community's residents
    per = cfg.population.residents_per_community
    assert (items["origin"] // per == items["community"]).all()


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
    pop = cfg.population
    L = sim.RegionModel(config=cfg).layout
    pool_size = pop.units_per_street + pop.two_new_per_street
    groups = assignment_groups(events).reset_index()
    neg = groups[groups["reason"] == Reason.NAMES[Reason.ASSIGN_NEGOTIATED]]
    lst = groups[groups["reason"] == Reason.NAMES[Reason.ASSIGN_LIST]]
    assert len(neg) and len(lst)
    assert (neg["n"] == min(cfg.items.n_coresponsible, pool_size)).all()
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
            member_street = idx // pop.units_per_street if idx < L.n_units else \
                (idx - L.n_units) // pop.two_new_per_street
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


def test_every_move_of_an_item_is_an_event(events):
    """Each event starts where the previous one left the item (no unrecorded hand-off)."""
    assert holder_chain_breaks(events) == []
    first = events.groupby("item_id", sort=False)["reason"].first()
    assert (first == Reason.NAMES[Reason.RAISED]).all()


def test_every_move_of_an_item_is_an_event_in_an_empty_district():
    """With no units and organisations the conference has no members: the item goes back
    to the street, and that hand-off must be recorded too."""
    r = sim.run(seed=1, steps=30, overrides={**EMPTY_DISTRICT,
                                               "empowerment.responsibility_list": 0.5})
    h = r.handoffs.copy()
    h["reason"] = h["reason"].astype(str)
    h = h.sort_values("item_id", kind="stable")
    assert (h["reason"] == Reason.NAMES[Reason.TO_CONFERENCE]).any()
    assert holder_chain_breaks(h) == []


def test_resolve_delay_expire_stay_with_the_holder(events):
    same = events["reason"].isin([Reason.NAMES[r] for r in (Reason.RESOLVE, Reason.DELAY,
                                                             Reason.EXPIRE)])
    assert (events.loc[same, "from_node"] == events.loc[same, "to_node"]).all()
    closing = events["reason"].isin([Reason.NAMES[Reason.RESOLVE], Reason.NAMES[Reason.EXPIRE]])
    assert not events.loc[closing, "item_id"].duplicated().any()


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
    model = make_model(ALL_PATHS, rng=SEED)
    for _ in range(20):
        model.step()
        assert (model.items.stage != Stage.CLOSED).all()
        assert model.items.n == model.items.n_open
    assert model.items.n_resolved > 0


# --------------------------------------------------------------------------- metrics


def reconstruct_window_metrics(items, T, window):
    """Windowed event rates at every step, computed from the final item table."""
    status = items["status"].astype(str)
    closed = status != "open"
    rows = []
    for t in range(T + 1):
        w = closed & (items["closed"] > t - window) & (items["closed"] <= t)
        res = w & (status == "resolved")
        assigned = w & items["assigned"]
        returned = assigned & (items["return_flows"] > 0)
        n_w, n_res, n_as = int(w.sum()), int(res.sum()), int(assigned.sum())
        open_t = (items["created"] <= t) & (~closed | (items["closed"] > t))
        rows.append({
            "backlog": float(open_t.sum()),
            "resolution_rate": n_res / n_w if n_w else 0.0,
            "handoffs_per_item": items.loc[w, "handoffs"].sum() / n_w if n_w else 0.0,
            "return_flow_rate": int(returned.sum()) / n_as if n_as else 0.0,
            "mean_resolution_time": ((items.loc[res, "closed"] - items.loc[res, "created"]).sum()
                                     / n_res if n_res else 0.0),
        })
    return pd.DataFrame(rows)


def test_item_metrics_are_reconstructable_from_the_item_table(result):
    want = reconstruct_window_metrics(result.items, STEPS, result.config.metrics.window)
    got = result.timeseries[want.columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False, atol=1e-12, rtol=1e-9)


def metric_bounds(name):
    unit = next(m.unit for m in METRICS if m.name == name)
    if unit in ("share", "index [0,1]"):
        return 0.0, 1.0
    if unit == "index [-1,1]":
        return -1.0, 1.0
    return 0.0, math.inf


def check_metrics(result):
    ts = result.timeseries
    assert list(ts.columns) == list(sim.METRIC_NAMES)
    assert np.isfinite(ts.to_numpy(float)).all()
    for name in ts.columns:
        lo, hi = metric_bounds(name)
        assert ((ts[name] >= lo) & (ts[name] <= hi)).all(), name
    assert all(math.isfinite(v) for v in result.summary.values())


def test_metrics_bounded_and_finite(result):
    check_metrics(result)


@pytest.mark.parametrize("extra", [
    pytest.param({}, id="empty"),
    pytest.param({"empowerment.responsibility_list": 1.0}, id="empty-with-list"),
    pytest.param({"items.rate_per_resident": 0.0}, id="empty-no-items"),
])
def test_metrics_bounded_and_finite_in_an_empty_district(extra):
    r = sim.run(seed=2, steps=20, overrides={**EMPTY_DISTRICT, **extra})
    check_metrics(r)
    assert (r.timeseries["participation_two_new"] == 0).all()
    assert (r.timeseries["participation_units"] == 0).all()
    assert (r.timeseries["return_flow_rate"] == 0).all()


def test_empty_district_with_outsourcing_runs():
    """Market logic in a street with no organisations buys from an outside provider."""
    r = sim.run(seed=2, steps=20, overrides={**EMPTY_DISTRICT, "market.outsourcing": 0.5})
    check_metrics(r)
    s = r.summary
    assert s["items_created"] == s["items_resolved"] + s["items_expired"] + s["items_open"]


def test_no_items_at_all_gives_zero_rates_not_nan():
    r = sim.run(seed=2, steps=8, overrides={"population": "classroom",
                                             "items.rate_per_resident": 0.0})
    check_metrics(r)
    assert r.summary["items_created"] == 0
    for name in ("resolution_rate", "handoffs_per_item", "return_flow_rate",
                 "mean_resolution_time", "cost_per_resolved_item", "backlog"):
        assert (r.timeseries[name] == 0).all(), name
    assert len(r.items) == 0 and len(r.handoffs) == 0
