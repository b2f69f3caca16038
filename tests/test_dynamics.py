"""Credible dynamics: budgets that bind, streets that differ, pilots, spin-up, the
deterministic setting, and the rules' bounds (fast checks; the statistical report is
``experiments/dynamics.py``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.compose import compose
from sim.config import DETERMINISTIC, ConfigError
from sim.institutions.budget import CATEGORIES

SMALL = ["population=classroom", "spin_up=20"]


def test_spending_never_exceeds_the_street_budget():
    # A tight budget against an expensive reform: every street pays pro rata, never more.
    m = sim.RegionModel(rng=4, config="full_reform", population="classroom", spin_up=10,
                        budget__street_budget=50.0)
    for _ in range(30):
        m.step()
        spent = m.ledger.budget_by_street
        assert (spent <= 50.0 + 1e-9).all()
        assert (m.funding <= 1.0).all() and (m.funding > 0).all()
        assert sum(v.sum() for v in m.spent_by_category.values()) == pytest.approx(spent.sum())
    assert (m.funding < 1.0).any(), "the budget should bind in this test"
    assert set(m.spent_by_category) == set(CATEGORIES)


def test_a_binding_budget_cuts_the_funded_levers_and_their_effect():
    rich = sim.run("full_reform", seed=5, steps=30, overrides=SMALL)
    poor = sim.run("full_reform", seed=5, steps=30, overrides=SMALL + ["budget.street_budget=20"])
    assert poor.summary["budget_spent"] <= 20.0 + 1e-9
    assert rich.summary["budget_spent"] > poor.summary["budget_spent"]


def test_an_underfunded_contract_delivers_its_funded_share_of_provider_capacity():
    # Routing follows the contract signed (the set lever); a provider works the share of its
    # capacity the street paid for, carrying part-weeks over: over four weeks a provider of
    # capacity 2 closes 8, 4 or 2 items when paid in full, half or a quarter.
    from sim.institutions.street import work_provider_items
    from sim.items import Stage

    closed = {}
    for share in (1.0, 0.5, 0.25):
        m = sim.RegionModel(rng=3, config="market_logic", spin_up=0, market__outsourcing=1.0,
                            market__provider_capacity=2.0, items__min_processing=0,
                            budget__street_budget=100_000.0)
        for _ in range(12):
            m.step()
        queue = m.items.open_rows(Stage.PROVIDER)
        providers, per_provider = np.unique(m.items.holder[queue], return_counts=True)
        busy = providers[per_provider >= 8]  # a queue longer than four weeks' work
        assert busy.size >= 3
        m.funding = np.full(m.layout.n_streets, share)
        for _ in range(4):
            work_provider_items(m)
        left = m.items.holder[m.items.open_rows(Stage.PROVIDER)]
        closed[share] = {int(p): int(n - np.count_nonzero(left == p))
                         for p, n in zip(providers, per_provider) if p in busy}
    for share, expected in ((1.0, 8), (0.5, 4), (0.25, 2)):
        assert set(closed[share].values()) == {expected}, (share, closed[share])


def test_halving_the_budget_shrinks_full_reforms_items_solved():
    over = ["population=classroom", "spin_up=52", "items.record=none", "steps=52"]
    full = sim.run("full_reform", seed=4, overrides=over).summary
    half = sim.run("full_reform", seed=4, overrides=over + ["budget.street_budget=150"]).summary
    assert half["budget_spent"] <= 150 + 1e-9 < full["budget_spent"]
    assert half["items_solved"] < full["items_solved"]
    assert half["backlog"] > full["backlog"]


def test_a_free_baseline_spends_little_and_remedies_cost_money():
    base = sim.run("baseline", seed=1, steps=20, overrides=SMALL).summary["budget_spent"]
    reform = sim.run("full_reform", seed=1, steps=20, overrides=SMALL).summary["budget_spent"]
    assert reform > 5 * base > 0


def test_deterministic_setting_gives_identical_streets_and_actors():
    over = [f"{k}={v}" for k, v in DETERMINISTIC.items()] + ["spin_up=0"]
    m = sim.RegionModel(rng=2, config=compose("baseline", over))
    streets = m.world.streets
    for col in ("communities", "residents", "units_higher_rank", "units_lower_rank", "two_new",
                "street_staff"):
        assert streets[col].nunique() == 1, col
    c = m.state["communities"]
    assert np.ptp(c.intrinsic0) == 0 and np.ptp(c.delta) == 0
    assert np.ptp(m.state["two_new"].cost) == 0 and np.ptp(m.state["units"].benefit_share) == 0


def test_streets_differ_by_default():
    m = sim.RegionModel(rng=2, spin_up=0)
    s = m.world.streets
    assert s["residents"].nunique() > 1 and s["street_staff"].nunique() >= 1
    assert np.ptp(m.state["communities"].intrinsic0) > 0


def test_streets_read_from_a_csv(tmp_path):
    path = tmp_path / "district.csv"
    pd.DataFrame({"communities": [2, 3], "residents": [400, 900], "units_higher_rank": [3, 0],
                  "units_lower_rank": [1, 2], "two_new": [5, 1]}).to_csv(path, index=False)
    m = sim.RegionModel(rng=0, spin_up=0, population__streets_csv=str(path))
    L = m.layout
    assert (L.n_streets, L.n_communities, L.n_units, L.n_two_new) == (2, 5, 6, 6)
    assert L.n_residents == pytest.approx(1300, abs=5)
    assert m.state["units"].higher_rank.sum() == 3
    assert m.state["units"].higher_rank[m.world.unit_street == 1].sum() == 0
    for _ in range(3):
        m.step()


def test_a_bad_streets_csv_is_refused_naming_the_column(tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"communities": [2], "residents": [400], "units_higher_rank": [-1],
                  "units_lower_rank": [1], "two_new": [5]}).to_csv(path, index=False)
    with pytest.raises(ConfigError, match="units_higher_rank"):
        sim.RegionModel(rng=0, spin_up=0, population__streets_csv=str(path))
    with pytest.raises(ConfigError, match="file not found"):
        sim.RegionModel(rng=0, spin_up=0, population__streets_csv=str(tmp_path / "none.csv"))


def test_street_levers_in_the_config_apply_to_named_streets_only():
    m = sim.RegionModel(rng=1, spin_up=0, street_levers=[
        {"streets": [1, 3], "set": {"admin.burden": 0.1, "empowerment.street_authority": 0.9}}])
    burden = m.lever("admin.burden")
    base = m.config.admin.burden
    assert burden.tolist() == [base, 0.1, base, 0.1]
    assert m.lever("empowerment.street_authority")[[1, 3]].tolist() == [0.9, 0.9]
    assert m.streets_table()["pilot"].tolist() == [False, True, False, True]


def test_a_street_level_field_outside_the_lever_set_is_refused():
    with pytest.raises(ConfigError, match="differ between streets"):
        compose("baseline", {"street_levers": [
            {"streets": [0], "set": {"items.max_age": 10}}]})
    with pytest.raises(ConfigError, match="street indices"):
        sim.RegionModel(rng=1, spin_up=0, street_levers=[
            {"streets": [7], "set": {"admin.burden": 0.1}}])


def test_a_pilot_share_draws_the_same_streets_for_every_lever_and_nested_sets():
    def pilots(share, seed):
        m = sim.RegionModel(rng=seed, config="pilot_streets", spin_up=0,
                            street_levers=[{"streets": {"share": share},
                                            "set": {"market.outsourcing": 0.5}}])
        return set(np.flatnonzero(m.lever("market.outsourcing") == 0.5))
    assert len(pilots(0.5, 3)) == 6
    assert pilots(0.25, 3) <= pilots(0.5, 3)
    assert pilots(0.5, 3) != pilots(0.5, 4)  # drawn per seed


def test_pilot_intervention_changes_pilot_streets_from_its_step():
    r = sim.run("pilot_streets", seed=1, steps=60, overrides=["spin_up=10"])
    pilot = r.streets["pilot"].to_numpy()
    assert pilot.sum() == 6
    assert (r.streets.loc[pilot, "empowerment.street_authority"] == 0.8).all()
    assert (r.streets.loc[~pilot, "empowerment.street_authority"] == 0.3).all()
    bs = r.by_street
    assert set(bs.columns) >= {"step", "street", "pilot", "resolution_rate", "return_flow_rate",
                               "satisfaction", "participation_two_new"}
    assert len(bs) == 12 * 61


def test_spillover_channel_can_be_switched_off():
    # Organisations look at neighbouring streets only when spill-over is on.
    on = sim.RegionModel(rng=6, config="pilot_streets", spin_up=0)
    off = sim.RegionModel(rng=6, config="pilot_streets", spin_up=0, two_new__spillover=0.0)
    A = on.world.street_adjacency
    assert (A == A.T).all() and (A.sum(axis=1) >= 2).all() and np.trace(A) == 0
    for m in (on, off):
        for _ in range(8):
            m.step()
    assert not np.array_equal(on.state["two_new"].p_participate, off.state["two_new"].p_participate)


def test_spin_up_runs_before_week_one_and_is_left_out():
    r = sim.run("baseline", seed=2, steps=5, overrides=["population=classroom", "spin_up=30"])
    assert r.timeseries.index.tolist() == list(range(6))
    assert r.summary["items_open_at_start"] > 0
    assert (r.items["created"] > -30).all()
    rec = sim.run("baseline", seed=2, steps=5, overrides=["population=classroom", "spin_up=30",
                                                          "metrics.record_spin_up=true"])
    assert rec.timeseries.index.min() == -29
    # Recording the spin-up changes no number of weeks 0..T.
    pd.testing.assert_frame_equal(rec.timeseries.loc[0:], r.timeseries)


def test_staff_turnover_replaces_burned_out_staff_with_novices():
    m = sim.RegionModel(rng=3, population="classroom", spin_up=0, admin__burden=1.0,
                        admin__campaign_amplitude=3.0, staff__burnout_turnover=0.3)
    for _ in range(40):
        m.step()
    c = m.state["communities"]
    assert c.experience.min() < 1.0
    assert (c.intrinsic >= 0).all()
    assert m.timeseries()["staff_turnover"].iloc[1:].max() > 0


def test_motivation_stays_bounded_under_any_stimulus():
    m = sim.RegionModel(rng=1, config="full_reform", population="classroom", spin_up=0,
                        incentives__recognition=1.0, empowerment__two_new_voice=1.0,
                        incentives__fixed_contact=1.0, evaluation__external_pressure=0.0)
    for _ in range(200):
        m.step()
    st, cfg = m.state["two_new"], m.config.two_new
    assert (st.motivation <= st.motivation0 + cfg.motivation_cap + 1e-9).all()
    assert (m.state["units"].motivation <= m.config.units.motivation_cap + 1e-9).all()


def test_effort_levels_respond_to_the_promotion_link():
    hours = []
    for beta in (0.1, 0.9):
        m = sim.RegionModel(rng=2, population="classroom", spin_up=0, evaluation__promotion_link=beta,
                            staff__effort_noise=0.0, submodels__motivation="static")
        m.step()
        c = m.state["communities"]
        hours.append(float((c.form_hours + c.substance_hours).sum() / c.free_hours.sum()))
    assert hours[1] > hours[0]


def test_paperwork_floor_holds():
    m = sim.RegionModel(rng=2, config="scientific_evaluation", population="classroom", spin_up=0)
    for _ in range(5):
        m.step()
        for key in ("streets", "communities"):
            g = m.state[key]
            assert (g.form_hours >= m.config.staff.paperwork_floor * g.free_hours - 1e-9).all()


@pytest.mark.parametrize("field", sorted(__import__("sim.config", fromlist=["BUILD_ONLY"]).BUILD_ONLY))
def test_an_intervention_on_a_field_drawn_at_build_is_refused(field):
    from sim.config import field_spec

    value = field_spec(field).default
    with pytest.raises(ConfigError, match="built"):
        compose("baseline", interventions=[{"step": 2, "set": {field: value}}])
