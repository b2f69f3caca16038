"""The one parameter schema: every field's range, type and choices are enforced at every entry
point (compose, RegionModel keywords, sim.run hydra strings), before anything is built."""

from __future__ import annotations

import dataclasses
import math

import pytest

import sim
import sim.model
from sim.compose import compose
from sim.config import (
    POPULATION_PRESETS,
    ConfigError,
    iter_field_specs,
    register_configs,
    to_dict,
)

SPECS = list(iter_field_specs())
SPEC_BY_NAME = {s.name: s for s in SPECS}


# --------------------------------------------------------------------------- bad values


def bad_values(spec):
    """(kind, value) pairs that the schema must reject for ``spec``."""
    out = []
    if spec.choices:
        out.append(("invalid_choice", "not_a_" + spec.name.split(".")[-1]))
        out.append(("wrong_type", 3))
        return out
    if spec.type in (int, float):
        assert spec.lo is not None and spec.hi is not None, f"{spec.name} has no range"
        one = spec.type(1)
        out.append(("below_lo", spec.lo - one))
        out.append(("above_hi", spec.hi + one))
        out.append(("wrong_type_str", "abc"))
        out.append(("wrong_type_bool", True))
        if spec.type is int:
            out.append(("wrong_type_float", 2.5))
        return out
    if spec.type is str:
        out.append(("wrong_type_int", 5))
        out.append(("wrong_type_float", 1.5))
        return out
    if spec.type is bool:
        out.append(("wrong_type_int", 1))
        out.append(("wrong_type_str", "yes"))
        return out
    raise AssertionError(f"unexpected field type {spec.type} of {spec.name}")


CASES = [pytest.param(spec.name, kind, value, id=f"{spec.name}-{kind}")
         for spec in SPECS for kind, value in bad_values(spec)]


def check_error(err: ConfigError, name: str, value) -> None:
    """The error names the field, the value and what is allowed — attributes and message."""
    spec = SPEC_BY_NAME[name]
    assert err.field == name
    assert err.value == value and type(err.value) is type(value)
    allowed = err.allowed
    if spec.choices:
        for c in spec.choices:
            assert repr(c) in allowed or str(c) in allowed
    elif spec.type in (int, float):
        for bound in (spec.lo, spec.hi):
            assert f"{bound:g}" in allowed or str(bound) in allowed, (bound, allowed)
    elif spec.type is bool:
        assert allowed == "true or false"
    else:
        assert spec.type.__name__ in allowed
    msg = str(err)
    assert name in msg
    assert repr(value) in msg
    assert allowed in msg


def test_every_leaf_field_has_a_range_or_choices_and_labels():
    assert len(SPECS) == len(SPEC_BY_NAME)
    for spec in SPECS:
        assert spec.en and spec.zh and spec.doc, spec.name
        if spec.type in (int, float):
            assert spec.lo is not None and spec.hi is not None and spec.lo <= spec.hi, spec.name
            assert spec.lo <= spec.default <= spec.hi, spec.name
        if spec.choices:
            assert spec.default in spec.choices, spec.name
        assert spec.check(spec.default) == spec.default


def test_defaults_compose_to_a_valid_config():
    cfg = compose()
    for spec in SPECS:
        if spec.name.startswith("population."):
            continue  # the default population preset applies
        obj = cfg
        for part in spec.name.split("."):
            obj = getattr(obj, part)
        if spec.name != "name":
            assert obj == spec.default, spec.name


@pytest.mark.parametrize("name,kind,value", CASES)
def test_bad_value_through_compose(name, kind, value):
    with pytest.raises(ConfigError) as info:
        compose(overrides={name: value})
    check_error(info.value, name, value)


@pytest.mark.parametrize("name,kind,value", CASES)
def test_bad_value_through_region_model_keywords(name, kind, value):
    if name == "seed":
        # RegionModel takes its seed as rng=, never seed= (tested below).
        with pytest.raises(ConfigError) as info:
            sim.RegionModel(rng=value)
        if isinstance(value, int) and not isinstance(value, bool):
            check_error(info.value, "seed", value)
        else:
            assert info.value.field == "rng" and info.value.value is value
        return
    with pytest.raises(ConfigError) as info:
        sim.RegionModel(**{name.replace(".", "__"): value})
    check_error(info.value, name, value)


def _run_subset():
    """One field of each group, every top-level field but seed, and every choice field."""
    seen, out = set(), []
    for spec in SPECS:
        group = spec.name.split(".")[0] if "." in spec.name else spec.name
        if spec.name == "seed":
            continue  # sim.run's own seed= argument wins over an override (tested below)
        if group not in seen or spec.choices:
            seen.add(group)
            out.extend(pytest.param(spec.name, kind, value, id=f"{spec.name}-{kind}")
                       for kind, value in bad_values(spec))
    return out


@pytest.mark.parametrize("name,kind,value", _run_subset())
def test_bad_value_through_run_hydra_strings(name, kind, value):
    with pytest.raises(ConfigError) as info:
        sim.run(overrides=[f"{name}={value!r}"])
    check_error(info.value, name, value)


@pytest.mark.parametrize("value", [-1, 2**32, 2.5])
def test_bad_seed_through_run(value):
    with pytest.raises(ConfigError) as info:
        sim.run(seed=value, steps=1, overrides=["population=classroom"])
    assert info.value.field == "seed" and info.value.value == value


@pytest.mark.parametrize("name", [s.name for s in SPECS if s.type is float])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_are_rejected(name, value):
    with pytest.raises(ConfigError) as info:
        compose(overrides={name: value})
    assert info.value.field == name


@pytest.mark.parametrize("name", [s.name for s in SPECS if s.type is int][:6])
def test_integral_floats_are_accepted_for_int_fields_and_coerced(name):
    spec = SPEC_BY_NAME[name]
    value = float(spec.default)
    cfg = compose(overrides={name: value})
    obj = cfg
    for part in name.split("."):
        obj = getattr(obj, part)
    assert obj == spec.default and type(obj) is int


# --------------------------------------------------------------------------- cross-field rules


CROSS_FIELD = [
    pytest.param({"population.resident_ties": 5}, "population.resident_ties", 5, id="odd-ties"),
    pytest.param({"population.residents_per_community": 10, "population.resident_ties": 10},
                 "population.resident_ties", 10, id="ties-equal-residents"),
    pytest.param({"population.residents_per_community": 12, "population.resident_ties": 14},
                 "population.resident_ties", 14, id="ties-above-residents"),
    pytest.param({"admin.campaign_period": 3, "admin.campaign_length": 5},
                 "admin.campaign_length", 5, id="campaign-longer-than-period"),
]


@pytest.mark.parametrize("overrides,field,value", CROSS_FIELD)
def test_cross_field_rules(overrides, field, value):
    for call in (lambda: compose(overrides=overrides),
                 lambda: sim.RegionModel(**{k.replace(".", "__"): v for k, v in overrides.items()}),
                 lambda: sim.run(overrides=[f"{k}={v!r}" for k, v in overrides.items()])):
        with pytest.raises(ConfigError) as info:
            call()
        assert info.value.field == field
        assert info.value.value == value
        assert field in str(info.value)


def test_cross_field_rules_accept_their_boundaries():
    cfg = compose(overrides={"population.residents_per_community": 10,
                             "population.resident_ties": 8,
                             "admin.campaign_period": 4, "admin.campaign_length": 4})
    assert cfg.population.resident_ties == 8 and cfg.admin.campaign_length == 4


# --------------------------------------------------------------------------- unknown names


@pytest.mark.parametrize("name", ["bogus", "admin.bogus", "admin", "population.bogus",
                                  "admin.burden.extra"])
def test_unknown_field_names(name):
    with pytest.raises(ConfigError) as info:
        compose(overrides={name: 1})
    assert info.value.field.startswith(name.split(".")[0])
    assert name.split(".")[-1] in str(info.value) or name in str(info.value)
    with pytest.raises(ConfigError):
        sim.RegionModel(**{name.replace(".", "__"): 1})
    with pytest.raises(ConfigError):
        sim.run(overrides=[f"{name}=1"])


def test_unknown_key_in_a_scenario_file(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("admin:\n  burdn: 0.5\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        compose(path)
    assert info.value.field == "admin.burdn"


def test_unknown_population_preset():
    with pytest.raises(ConfigError) as info:
        compose(overrides=["population=huge"])
    assert info.value.field == "population"
    for preset in POPULATION_PRESETS:
        assert preset in info.value.allowed


def test_unknown_scenario():
    with pytest.raises(ConfigError) as info:
        compose("no_such_scenario")
    assert info.value.field == "scenario"


def test_region_model_refuses_seed_and_points_to_rng():
    with pytest.raises(ConfigError) as info:
        sim.RegionModel(seed=1)
    assert info.value.field == "seed"
    assert "rng" in info.value.allowed and "rng" in str(info.value)


# --------------------------------------------------------------------------- interventions

GOOD_SET = {"admin.burden": 0.123}

BAD_INTERVENTIONS = [
    pytest.param([{"set": GOOD_SET}], "interventions[0]", id="missing-step"),
    pytest.param([{"step": 0, "set": GOOD_SET}], "interventions[0].step", id="step-0"),
    pytest.param([{"step": -3, "set": GOOD_SET}], "interventions[0].step", id="step-negative"),
    pytest.param([{"step": 2.5, "set": GOOD_SET}], "interventions[0].step", id="step-float"),
    pytest.param([{"step": 2, "set": GOOD_SET}, {"step": 0, "set": GOOD_SET}],
                 "interventions[1].step", id="second-step-0"),
    pytest.param([{"step": 2, "set": {"admin.bogus": 1}}], "interventions[0].set.admin.bogus",
                 id="unknown-field"),
    pytest.param([{"step": 2, "set": {"admin.burden": 3}}], "interventions[0].set.admin.burden",
                 id="out-of-range"),
    pytest.param([{"step": 2, "set": {"items.record": "paper"}}],
                 "interventions[0].set.items.record", id="invalid-choice"),
    pytest.param([{"step": 2, "set": {"population.n_streets": 2}}],
                 "interventions[0].set.population.n_streets", id="population-field"),
    pytest.param([{"step": 2, "set": {"seed": 2}}], "interventions[0].set.seed", id="seed"),
    pytest.param([{"step": 2, "set": {"steps": 9}}], "interventions[0].set.steps", id="steps"),
    pytest.param([{"step": 2, "set": GOOD_SET, "when": "now"}], "interventions[0]",
                 id="extra-key"),
    pytest.param([{"step": 2, "set": [1, 2]}], "interventions[0].set", id="set-not-mapping"),
    pytest.param([5], "interventions[0]", id="entry-not-mapping"),
]


def _intervention_entry_points(interventions):
    yield "compose", lambda: compose(interventions=interventions)
    yield "RegionModel", lambda: sim.RegionModel(population="classroom",
                                                 interventions=interventions)
    yield "run", lambda: sim.run(steps=1, overrides=["population=classroom"],
                                 interventions=interventions)
    yield "config", lambda: compose(overrides={"interventions": interventions})


@pytest.mark.parametrize("interventions,field", BAD_INTERVENTIONS)
def test_bad_interventions(interventions, field, monkeypatch):
    monkeypatch.setattr(sim.model, "build_world", _must_not_build)
    for where, call in _intervention_entry_points(interventions):
        with pytest.raises(ConfigError) as info:
            call()
        assert info.value.field == field, where
        assert field in str(info.value), where


def test_intervention_out_of_range_names_the_range():
    with pytest.raises(ConfigError) as info:
        compose(interventions=[{"step": 2, "set": {"admin.burden": 3}}])
    assert info.value.value == 3
    assert "[0, 1]" in info.value.allowed and "[0, 1]" in str(info.value)


@pytest.mark.parametrize("interventions", [
    pytest.param({"step": 1, "set": GOOD_SET}, id="dict"),
    pytest.param("step=1", id="string"),
    pytest.param(5, id="int"),
])
def test_interventions_not_a_list_raise_config_error(interventions):
    for where, call in _intervention_entry_points(interventions):
        with pytest.raises(ConfigError) as info:
            call()
        assert info.value.field.startswith("interventions"), where


def test_nested_intervention_set_is_accepted():
    cfg = compose(interventions=[{"step": 3, "set": {"admin": {"burden": 0.9}}}])
    (iv,) = cfg.interventions
    assert iv["step"] == 3 and dict(iv["set"]) == {"admin.burden": 0.9}


def test_interventions_are_sorted_by_step():
    cfg = compose(interventions=[{"step": 5, "set": {"admin.burden": 0.1}},
                                 {"step": 2, "set": {"admin.burden": 0.2}}])
    assert [iv["step"] for iv in cfg.interventions] == [2, 5]


def test_intervention_past_last_step_warns_not_errors():
    cfg = compose(steps=3, overrides=["population=classroom"],
                  interventions=[{"step": 10, "set": GOOD_SET}])
    with pytest.warns(RuntimeWarning, match="past the run's last step"):
        model = sim.RegionModel(config=cfg)
    with pytest.warns(RuntimeWarning):
        result = sim.run(steps=3, overrides=["population=classroom"],
                         interventions=[{"step": 10, "set": GOOD_SET}])
    assert result.config.admin.burden == model.config.admin.burden != 0.123


# --------------------------------------------------------------------------- immutability


def test_validated_config_is_immutable():
    cfg = compose()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.steps = 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.admin.burden = 0.1
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.population.n_streets = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.admin = None
    assert isinstance(cfg, sim.RPBConfig)


def test_validated_config_refuses_attribute_deletion():
    cfg = compose()
    with pytest.raises(dataclasses.FrozenInstanceError):
        del cfg.name
    with pytest.raises(dataclasses.FrozenInstanceError):
        del cfg.admin.burden


def test_model_config_is_immutable_and_interventions_too():
    model = sim.RegionModel(population="classroom",
                            interventions=[{"step": 2, "set": GOOD_SET}])
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.config.admin.burden = 0.9
    with pytest.raises(TypeError):
        model.config.interventions[0]["step"] = 1
    with pytest.raises(TypeError):
        model.config.interventions[0]["set"]["admin.burden"] = 1.0
    with pytest.raises((TypeError, AttributeError)):
        model.config.interventions.append({})


def test_validated_config_round_trips_through_dict():
    cfg = compose("co_governance", ["population=classroom"],
                  interventions=[{"step": 4, "set": {"admin.burden": 0.3}}])
    again = sim.config.validate(sim.config.from_dict(to_dict(cfg)))
    assert to_dict(again) == to_dict(cfg)


# --------------------------------------------------------------------------- hydra ConfigStore


def test_config_store_has_schema_and_population_presets():
    from hydra.core.config_store import ConfigStore

    register_configs()
    cs = ConfigStore.instance()
    assert "rpb_schema.yaml" in cs.repo
    sizes = {"classroom": (1, 3, 100), "default": (4, 6, 300), "district": (10, 15, 2000)}
    assert set(cs.repo["population"]) >= {f"{name}.yaml" for name in sizes}
    for name, (s, c, r) in sizes.items():
        node = cs.load(f"population/{name}.yaml").node
        assert (node.n_streets, node.communities_per_street, node.residents_per_community) == (s, c, r)
        for key, value in POPULATION_PRESETS[name].items():
            assert node[key] == value
        cfg = compose(overrides=[f"population={name}"])
        assert (cfg.population.n_streets, cfg.population.communities_per_street,
                cfg.population.residents_per_community) == (s, c, r)
    schema = cs.load("rpb_schema.yaml").node
    assert schema.admin.burden == SPEC_BY_NAME["admin.burden"].default


# --------------------------------------------------------------------------- nothing built first


def _must_not_build(*args, **kwargs):
    raise AssertionError("the world was built before the config was validated")


@pytest.mark.parametrize("call", [
    pytest.param(lambda: sim.RegionModel(admin__burden=3), id="RegionModel-range"),
    pytest.param(lambda: sim.RegionModel(population="classroom", items__record="paper"),
                 id="RegionModel-choice"),
    pytest.param(lambda: sim.RegionModel(population__resident_ties=5), id="RegionModel-cross"),
    pytest.param(lambda: sim.RegionModel(seed=1), id="RegionModel-seed"),
    pytest.param(lambda: sim.RegionModel(rng="x"), id="RegionModel-rng"),
    pytest.param(lambda: sim.run(overrides=["admin.burden=3"]), id="run"),
    pytest.param(lambda: sim.run(interventions=[{"step": 0, "set": GOOD_SET}]),
                 id="run-intervention"),
])
def test_no_agent_is_built_before_an_error(call, monkeypatch):
    monkeypatch.setattr(sim.model, "build_world", _must_not_build)
    monkeypatch.setattr(sim.model, "init_state", _must_not_build)
    monkeypatch.setattr(sim.model.RegionModel, "_create_agents", _must_not_build)
    with pytest.raises(ConfigError):
        call()
