"""The five agent types, Axelrod style: one inherited base class of common checks per type,
then scripted scenarios that drive each type's own ``decide()`` / ``decide_all`` in
constructed extreme situations (directions, never calibrated values)."""

from __future__ import annotations

import dataclasses
import inspect
from typing import ClassVar

import mesa
import numpy as np
import pytest
from helpers import SMALL_POPULATION, make_model, stepped, switched_on_by_street

from sim.agents import (
    ArrayAgent,
    CommunityCommittee,
    Resident,
    ResidentUnit,
    StreetCommittee,
    TwoNewOrganization,
)
from sim.config import SUBMODEL_CHOICES, field_spec
from sim.institutions.admin import campaign_active


def null_variant(submodel: str) -> str:
    """The one non-default variant of a two-way submodel switch (its null/ablation)."""
    default = field_spec(f"submodels.{submodel}").default
    (other,) = [c for c in SUBMODEL_CHOICES[submodel] if c != default]
    return other


def state_properties(cls, model):
    """Names of ``cls``'s properties that are views onto a field of its family's state."""
    fields = {f.name for f in dataclasses.fields(model.state[cls.family])}
    return [name for name, attr in inspect.getmembers(cls)
            if isinstance(inspect.getattr_static(cls, name), property) and name in fields]


class AgentTypeTests:
    """Checks every agent type must pass. Subclasses set the class attributes."""

    agent_cls: type = ArrayAgent
    collection = ""       # RegionModel attribute holding the AgentSet
    count = ""            # NodeLayout attribute with the number of agents
    first_node = ""       # NodeLayout attribute with the first node id of the kind

    @pytest.fixture
    def model(self):
        return make_model({**SMALL_POPULATION, "population.n_streets": 2}, rng=7)

    @pytest.fixture
    def agents(self, model):
        return list(getattr(model, self.collection))

    def test_is_a_mesa_agent(self):
        assert issubclass(self.agent_cls, mesa.Agent)
        assert issubclass(self.agent_cls, ArrayAgent)
        assert self.agent_cls.family and self.agent_cls.kind

    def test_one_agent_per_row(self, model, agents):
        n = getattr(model.layout, self.count)
        assert n > 0
        assert len(agents) == n
        assert sorted(a.index for a in agents) == list(range(n))
        assert all(type(a) is self.agent_cls for a in agents)
        assert len(model.agents_by_type[self.agent_cls]) == n
        st = model.state[self.agent_cls.family]
        family_level = {"weeks_seen": (2,)}  # one counter per family, not per agent
        for f in dataclasses.fields(st):
            arr = getattr(st, f.name)
            if f.name in family_level:
                assert arr.shape == family_level[f.name], f.name
            elif isinstance(arr, np.ndarray) and arr.ndim >= 1 and f.name not in ("by_street",):
                assert arr.shape[0] == n, f.name

    def test_node_is_a_graph_node_of_its_kind(self, model, agents):
        G, L = model.graph, model.layout
        nodes = [a.node for a in agents]
        assert len(set(nodes)) == len(nodes)
        for a in agents:
            assert a.node in G
            assert G.nodes[a.node]["kind"] == self.agent_cls.kind
            assert G.nodes[a.node]["index"] == a.index
            assert a.node == getattr(L, self.first_node) + a.index
            assert model.agent_at(a.node) is a

    def test_street_and_community_match_the_graph(self, model, agents):
        G = model.graph
        for a in agents:
            d = G.nodes[a.node]
            if "street" in state_properties(self.agent_cls, model):
                assert a.street == d["street"]
            if "community" in state_properties(self.agent_cls, model):
                assert a.community == d["community"]

    def test_properties_read_and_write_the_model_arrays(self, model, agents):
        names = state_properties(self.agent_cls, model)
        assert names, "an agent type exposes its state as properties"
        st = model.state[self.agent_cls.family]
        agent = agents[len(agents) // 2]
        for name in names:
            arr = getattr(st, name)
            before = arr.copy()
            assert agent.__getattribute__(name) == arr[agent.index]
            if arr.dtype == bool:
                new = not bool(arr[agent.index])
            elif np.issubdtype(arr.dtype, np.integer):
                new = int(arr[agent.index]) + 1
            else:
                new = float(arr[agent.index]) + 0.375
            setattr(agent, name, new)
            arr = getattr(st, name)
            assert arr[agent.index] == new, name
            others = np.arange(arr.size) != agent.index
            np.testing.assert_array_equal(arr[others], before[others])
            # and the property reads what the array holds
            arr[agent.index] = before[agent.index]
            assert getattr(agent, name) == before[agent.index], name

    def test_repr_names_type_index_and_node(self, agents):
        a = agents[0]
        assert type(a).__name__ in repr(a) and str(a.node) in repr(a)


class TestStreetCommittee(AgentTypeTests):
    agent_cls = StreetCommittee
    collection, count, first_node = "streets", "n_streets", "street0"

    def test_authority_is_the_config_lever_and_follows_interventions(self):
        model = make_model({"population": "classroom", "empowerment.street_authority": 0.2},
                           interventions=[{"step": 2, "set": {"empowerment.street_authority": 0.9}}])
        street = next(iter(model.streets))
        assert street.authority == 0.2
        stepped(model, 1)
        assert street.authority == 0.2
        stepped(model, 1)
        assert street.authority == 0.9

    def test_conference_node(self, model, agents):
        for s in agents:
            d = model.graph.nodes[s.conference_node]
            assert d["kind"] == "conference" and d["street"] == s.index
            assert model.graph.has_edge(s.node, s.conference_node)


class TestCommunityCommittee(AgentTypeTests):
    agent_cls = CommunityCommittee
    collection, count, first_node = "communities", "n_communities", "community0"

    @staticmethod
    def staff_model(burden, static=False, material=0.0, recognition=0.0, steps=6):
        # Every community's ι0 is exactly 1 (no spread) and the morale target does not move
        # with the evaluation score (score_feedback 0): only the admin load and recognition
        # move morale here.
        model = make_model({"population": "classroom", "admin.burden": burden,
                            "admin.max_tasks_per_week": 500.0, "admin.hours_per_task": 5.0,
                            "staff.intrinsic_motivation": 1.0, "staff.intrinsic_spread": 0.0,
                            "staff.score_feedback": 0.0, "staff.burnout_rate": 0.1,
                            "staff.recovery_rate": 0.01, "incentives.material": material,
                            "incentives.recognition": recognition,
                            "evaluation.promotion_link": 0.5,
                            "evaluation.substance_weight": 0.2,
                            "submodels.motivation": null_variant("motivation") if static
                            else field_spec("submodels.motivation").default}, rng=2)
        return stepped(model, steps)

    def test_autonomy_space_is_free_share_of_staff_hours(self):
        free = self.staff_model(burden=0.0, steps=1)
        full = self.staff_model(burden=1.0, steps=1)
        for c in free.communities:
            assert c.autonomy_space == 1.0
            assert c.free_hours == c.staff_hours
        for c in full.communities:
            assert c.autonomy_space == 0.0
            assert c.admin_served == c.staff_hours
        for c in list(free.communities) + list(full.communities):
            assert 0.0 <= c.form_share <= 1.0

    def test_staff_motivation_falls_under_admin_overload(self):
        model = self.staff_model(burden=1.0)
        st = model.state["communities"]
        assert (st.intrinsic < st.intrinsic0).all()
        assert all(c.intrinsic < 1.0 for c in model.communities)

    def test_staff_motivation_holds_without_admin_burden(self):
        model = self.staff_model(burden=0.0)
        st = model.state["communities"]
        np.testing.assert_array_equal(st.intrinsic, st.intrinsic0)

    def test_staff_motivation_is_static_under_the_null_submodel(self):
        model = self.staff_model(burden=1.0, static=True)
        st = model.state["communities"]
        np.testing.assert_array_equal(st.intrinsic, st.intrinsic0)

    def test_recognition_raises_staff_motivation(self):
        """The morale target is ι0·(1 + ½·recognition); material pay is not part of it."""
        model = self.staff_model(burden=0.0, recognition=1.0)
        for family in ("communities", "streets"):
            st = model.state[family]
            assert (st.intrinsic > st.intrinsic0).all(), family
            assert (st.intrinsic <= 1.5 * st.intrinsic0 + 1e-12).all(), family
        paid = self.staff_model(burden=0.0, material=1.0)
        st = paid.state["communities"]
        np.testing.assert_array_equal(st.intrinsic, st.intrinsic0)

    def test_overloaded_staff_shift_effort_to_form(self):
        overloaded = self.staff_model(burden=1.0, steps=10)
        relaxed = self.staff_model(burden=0.0, steps=10)
        for a, b in zip(overloaded.communities, relaxed.communities):
            assert a.form_share > b.form_share


class TestResidentUnit(AgentTypeTests):
    agent_cls = ResidentUnit
    collection, count, first_node = "units", "n_units", "unit0"

    @staticmethod
    def unit_model(**over):
        base = {"population": "classroom", "population.units_per_street": 40,
                "population.share_units_higher_rank": 0.5, "units.public_benefit": 1.0}
        return make_model({**base, **over}, rng=4)

    def test_zero_cost_participates_huge_cost_does_not(self):
        model = self.unit_model()
        for u in model.units:
            u.benefit_share = 0.5
            u.cost = 0.0
            assert u.decide(0.0) is True
            u.cost = 1e6
            assert u.decide(0.0) is False

    def test_decide_all_commits_the_same_rule(self):
        model = self.unit_model(**{"units.cost_noise": 0.0})
        st = model.state["units"]
        st.cost[::2] = 0.0
        st.benefit_share[::2] = 0.5
        st.cost[1::2] = 1e6
        expected = np.array([u.decide(0.0) for u in model.units])
        ResidentUnit.decide_all(model)
        np.testing.assert_array_equal(st.participating, expected)
        assert st.participating[::2].all() and not st.participating[1::2].any()

    def test_always_participating_null_submodel(self):
        model = self.unit_model(**{"submodels.unit_participation": null_variant("unit_participation")})
        for u in model.units:
            u.cost = 1e6
            assert u.decide(0.0) is True
        ResidentUnit.decide_all(model)
        assert model.state["units"].participating.all()

    def test_higher_rank_cost_multiplier(self):
        plain = self.unit_model(**{"units.higher_rank_cost": 1.0})
        costly = self.unit_model(**{"units.higher_rank_cost": 3.0})
        a, b = plain.state["units"], costly.state["units"]
        higher = a.higher_rank
        assert 0 < higher.sum() < higher.size
        np.testing.assert_array_equal(higher, b.higher_rank)
        np.testing.assert_allclose(b.cost[higher], 3.0 * a.cost[higher])
        np.testing.assert_array_equal(b.cost[~higher], a.cost[~higher])
        # a dearer unit never takes part where the cheaper one would not
        for u_plain, u_costly in zip(plain.units, costly.units):
            assert u_plain.decide(0.0) or not u_costly.decide(0.0)

    def test_cadre_exchange_raises_the_margin(self):
        # At build (no spin-up): exchange also raises motivation m_j over the weeks (see
        # test_unit_motivation_rises_with_incentives); here its benefit share alone.
        without = self.unit_model(**{"incentives.cadre_exchange": 0.0, "spin_up": 0})
        with_ex = self.unit_model(**{"incentives.cadre_exchange": 1.0, "spin_up": 0})
        B = 1.0
        for m in (without, with_ex):
            m.state["units"].benefit_share[:] = 0.2
        a0, r0, c0 = ResidentUnit.participation_margin(without, slice(None), 0.0)
        a1, r1, c1 = ResidentUnit.participation_margin(with_ex, slice(None), 0.0)
        assert (a1 > a0).all()
        np.testing.assert_array_equal(r0, r1)
        np.testing.assert_array_equal(c0, c1)
        assert all(u.in_cadre_exchange for u in with_ex.units)
        assert not any(u.in_cadre_exchange for u in without.units)
        # a cost just above the margin without exchange, below it with exchange
        threshold = a0 * B + r0 + 0.5 * (a1 - a0) * B
        for m in (without, with_ex):
            m.state["units"].cost[:] = threshold
        assert not any(u.decide(0.0) for u in without.units)
        assert all(u.decide(0.0) for u in with_ex.units)

    def test_cadre_exchange_count(self):
        model = self.unit_model(**{"incentives.cadre_exchange": 0.25})
        n = sum(u.in_cadre_exchange for u in model.units)
        L = model.layout
        assert n == switched_on_by_street(0.25, model.world.unit_street, L.n_streets).sum()
        assert abs(n - 0.25 * L.n_units) <= 0.5 * L.n_streets

    def test_unit_motivation_rises_with_incentives(self):
        """m_j moves towards cap·x/(1+x), x = recognition·taking part + ½·exchange + ½·solved;
        material pay is an extrinsic reward in the decision, never motivation."""
        over = {"incentives.material": 1.0, "items.rate_per_resident": 0.0,
                "incentives.cadre_exchange": 0.0}
        recognised = stepped(self.unit_model(**over, **{"incentives.recognition": 1.0}), 4)
        paid_only = stepped(self.unit_model(**over, **{"incentives.recognition": 0.0}), 4)
        exchange = stepped(self.unit_model(**{**over, "incentives.material": 0.0,
                                              "incentives.recognition": 0.0,
                                              "incentives.cadre_exchange": 1.0}), 4)
        static = stepped(self.unit_model(**over, **{"incentives.recognition": 1.0,
                                                    "submodels.motivation": null_variant("motivation")}), 4)
        cap = recognised.config.units.motivation_cap
        assert recognised.state["units"].participating.any()
        assert (recognised.state["units"].motivation > 0).all()
        assert (recognised.state["units"].motivation <= cap).all()
        assert (exchange.state["units"].motivation > 0).all()
        assert (paid_only.state["units"].motivation == 0).all()
        assert (static.state["units"].motivation == 0).all()


class TestTwoNewOrganization(AgentTypeTests):
    agent_cls = TwoNewOrganization
    collection, count, first_node = "two_new_orgs", "n_two_new", "two_new0"

    CAMPAIGN: ClassVar[dict] = {"admin.campaign_period": 13, "admin.campaign_length": 3,
                                "evaluation.pressure_between_campaigns": 0.2,
                                "two_new.logit_slope": 2.0, "two_new.pressure_sensitivity": 1.0,
                                "two_new.conditional_cooperation": 0.5}

    @classmethod
    def org_model(cls, step=1, **over):
        model = make_model({"population": "classroom", "population.two_new_per_street": 12,
                            **cls.CAMPAIGN, **over}, rng=5)
        model.steps = step  # scripted: the week at which the organisations decide
        return model

    def probs(self, model, share=0.5):
        return np.array([o.decide(share) for o in model.two_new_orgs])

    def test_decide_is_a_probability(self):
        model = self.org_model()
        for share in (0.0, 0.5, 1.0):
            p = self.probs(model, share)
            assert ((p >= 0) & (p <= 1)).all()

    def test_participation_rises_with_pressure_during_a_campaign(self):
        assert campaign_active(1, self.org_model().config.admin)
        assert not campaign_active(5, self.org_model().config.admin)
        in_campaign = self.probs(self.org_model(step=1, **{"evaluation.external_pressure": 1.0}))
        between = self.probs(self.org_model(step=5, **{"evaluation.external_pressure": 1.0}))
        low = self.probs(self.org_model(step=1, **{"evaluation.external_pressure": 0.2}))
        assert (in_campaign > between).all()
        assert (in_campaign > low).all()

    def test_participation_rises_with_others_share(self):
        model = self.org_model()
        assert (self.probs(model, 1.0) > self.probs(model, 0.0)).all()

    def test_participation_rises_with_motivation(self):
        model = self.org_model()
        for org in model.two_new_orgs:
            org.motivation = -1.0
            low = org.decide(0.5)
            org.motivation = 1.0
            assert org.decide(0.5) > low

    def test_pressure_blind_ignores_pressure(self):
        # No spin-up: pressure crowds out motivation b over the spin-up weeks, so the three
        # models would decide from different states; the rule is compared on the same state.
        blind = {"submodels.two_new_participation": null_variant("two_new_participation"),
                 "spin_up": 0}
        in_campaign = self.probs(self.org_model(step=1, **blind, **{"evaluation.external_pressure": 1.0}))
        between = self.probs(self.org_model(step=5, **blind, **{"evaluation.external_pressure": 1.0}))
        none = self.probs(self.org_model(step=1, **blind, **{"evaluation.external_pressure": 0.0}))
        np.testing.assert_array_equal(in_campaign, between)
        np.testing.assert_array_equal(in_campaign, none)
        # and still responds to others and to motivation
        m = self.org_model(**blind)
        assert (self.probs(m, 1.0) > self.probs(m, 0.0)).all()

    def test_decide_all_uses_the_others_share_of_last_week(self):
        model = self.org_model()
        st = model.state["two_new"]
        st.participating[:] = np.arange(st.participating.size) % 3 == 0
        n, k = st.participating.size, st.participating.sum()  # one street in the classroom
        others = (k - st.participating) / (n - 1)  # the street's other organisations
        expected = np.array([o.decide(x) for o, x in zip(model.two_new_orgs, others)])
        TwoNewOrganization.decide_all(model)
        np.testing.assert_allclose(st.p_participate, expected)

    def test_decide_all_extremes(self):
        model = self.org_model()
        st = model.state["two_new"]
        st.cost[:] = -100.0
        TwoNewOrganization.decide_all(model)
        assert st.participating.all()
        st.cost[:] = 100.0
        TwoNewOrganization.decide_all(model)
        assert not st.participating.any()

    def test_fixed_contact_count(self):
        model = self.org_model(**{"incentives.fixed_contact": 0.5})
        n = sum(o.has_fixed_contact for o in model.two_new_orgs)
        L = model.layout
        assert n == switched_on_by_street(0.5, model.world.two_new_street, L.n_streets).sum()
        assert abs(n - 0.5 * L.n_two_new) <= 0.5 * L.n_streets

    @staticmethod
    def motivation_run(steps=6, **over):
        base = {"population": "classroom", "items.rate_per_resident": 0.0,
                "incentives.material": 0.0, "incentives.recognition": 0.0,
                "incentives.fixed_contact": 0.0, "empowerment.two_new_voice": 0.0,
                "two_new.pressure_sensitivity": 1.0, "two_new.motivation_rate": 0.1,
                "two_new.motivation_cap": 1.0, "two_new.crowding_out": 0.3}
        return stepped(make_model({**base, **over}, rng=6), steps)

    def test_motivation_rises_with_incentives(self):
        """Recognition (and voice) while taking part raise b, up to b0 + cap; material pay is
        an extrinsic reward in the decision and leaves b alone."""
        model = self.motivation_run(**{"incentives.material": 1.0, "incentives.recognition": 1.0,
                                       "evaluation.external_pressure": 0.0})
        st = model.state["two_new"]
        cap = model.config.two_new.motivation_cap
        assert (st.motivation > st.motivation0).all()
        assert (st.motivation <= st.motivation0 + cap + 1e-12).all()
        voiced = self.motivation_run(**{"incentives.material": 1.0,
                                        "empowerment.two_new_voice": 1.0,
                                        "evaluation.external_pressure": 0.0})
        st = voiced.state["two_new"]
        assert (st.motivation > st.motivation0).all()
        paid = self.motivation_run(**{"incentives.material": 1.0,
                                      "evaluation.external_pressure": 0.0})
        st = paid.state["two_new"]
        np.testing.assert_allclose(st.motivation, st.motivation0)
        # ... but it makes taking part more likely at the same motivation
        unpaid = self.motivation_run(**{"evaluation.external_pressure": 0.0})
        np.testing.assert_array_equal(unpaid.state["two_new"].motivation, st.motivation)
        p_paid = np.array([o.decide(0.5) for o in paid.two_new_orgs])
        p_unpaid = np.array([o.decide(0.5) for o in unpaid.two_new_orgs])
        assert (p_paid > p_unpaid).all()

    def test_motivation_rises_with_fixed_contact(self):
        model = self.motivation_run(**{"incentives.fixed_contact": 1.0,
                                       "evaluation.external_pressure": 0.0})
        st = model.state["two_new"]
        assert (st.motivation > st.motivation0).all()

    def test_motivation_is_crowded_out_by_pressure(self):
        model = self.motivation_run(**{"evaluation.external_pressure": 1.0})
        st = model.state["two_new"]
        assert (st.motivation < st.motivation0).all()

    def test_no_stimulus_no_pressure_motivation_stays(self):
        model = self.motivation_run(**{"evaluation.external_pressure": 0.0})
        st = model.state["two_new"]
        np.testing.assert_allclose(st.motivation, st.motivation0)

    def test_static_motivation_never_changes(self):
        model = self.motivation_run(**{"evaluation.external_pressure": 1.0,
                                       "incentives.material": 1.0,
                                       "submodels.motivation": null_variant("motivation")})
        st = model.state["two_new"]
        np.testing.assert_array_equal(st.motivation, st.motivation0)


class TestResident(AgentTypeTests):
    agent_cls = Resident
    collection, count, first_node = "residents", "n_residents", "resident0"

    WEIGHTS: ClassVar[dict] = {"residents.civic_weight": 1.0, "residents.peer_weight": 1.0,
                               "residents.cost_weight": 1.0, "residents.reward_weight": 1.0}

    def resident_model(self, **over):
        return stepped(make_model({"population": "classroom", **self.WEIGHTS, **over}, rng=8), 2)

    def test_threshold_minus_ten_participates_plus_ten_does_not(self):
        model = self.resident_model()
        for r in list(model.residents)[::7]:
            r.threshold = -10.0
            assert r.decide() is True
            r.threshold = 10.0
            assert r.decide() is False

    def test_decide_all_commits_the_same_rule(self):
        model = self.resident_model()
        st = model.state["residents"]
        st.threshold[::2] = -10.0
        expected = np.array([r.decide() for r in model.residents])
        Resident.decide_all(model)
        np.testing.assert_array_equal(st.participating, expected)
        assert st.participating[::2].all()
        comm = model.state["communities"]
        np.testing.assert_allclose(
            comm.participation,
            np.bincount(st.community, weights=st.participating) / comm.n_residents)

    def test_null_submodel_nobody_ever_participates(self):
        model = make_model({"population": "classroom",
                            "submodels.resident_participation": null_variant("resident_participation")},
                           rng=8)
        model.state["residents"].threshold[:] = -10.0
        for _ in range(4):
            model.step()
            assert not model.state["residents"].participating.any()
            assert not any(r.decide() for r in list(model.residents)[::10])
        assert (model.timeseries()["participation_residents"] == 0).all()

    def test_everyone_participates_at_very_low_thresholds(self):
        model = make_model({"population": "classroom", **self.WEIGHTS}, rng=8)
        model.state["residents"].threshold[:] = -10.0
        stepped(model, 2)
        assert model.state["residents"].participating.all()
        assert model.timeseries()["participation_residents"].iloc[-1] == 1.0

    def test_volunteer_hours_bounded_by_organising_staff(self):
        model = make_model({"population": "classroom", **self.WEIGHTS,
                            "market.volunteer_teams": 0.0}, rng=8)
        model.state["residents"].threshold[:] = -10.0
        stepped(model, 2)
        comm = model.state["communities"]
        assert (comm.volunteer_hours <= comm.substance_hours + 1e-9).all()

    def test_satisfaction_and_trust_stay_in_unit_interval(self):
        model = stepped(make_model({"population": "classroom"}, rng=8), 15)
        st = model.state["residents"]
        for arr in (st.satisfaction, st.trust):
            assert ((arr >= 0) & (arr <= 1)).all()
