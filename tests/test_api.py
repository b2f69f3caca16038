"""The public Python API: sim.run in all its input forms, the result tables, Mesa's
batch_run on RegionModel, interventions at the right step, and saving/loading runs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import mesa
import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import stepped

import sim
from sim.compose import load_scenario
from sim.config import field_spec, to_dict
from sim.io import PACKAGES, load_run, save_run

CLASSROOM = ["population=classroom"]


def leaf(cfg, dotted):
    for part in dotted.split("."):
        cfg = getattr(cfg, part)
    return cfg


# --------------------------------------------------------------------------- sim.run inputs


def test_run_with_a_preset_name():
    r = sim.run("co_governance", steps=2, overrides=CLASSROOM)
    assert r.config.name == "co_governance"
    for group, values in load_scenario("co_governance").items():
        if isinstance(values, dict):
            for key, value in values.items():
                assert leaf(r.config, f"{group}.{key}") == value


def test_run_with_a_yaml_path_of_overrides(tmp_path):
    path = tmp_path / "my_reform.yaml"
    path.write_text("admin:\n  burden: 0.123\nincentives:\n  material: 0.77\n", encoding="utf-8")
    r = sim.run(path, steps=2, overrides=CLASSROOM)
    assert r.config.admin.burden == 0.123
    assert r.config.incentives.material == 0.77
    assert r.config.name == "my_reform"  # the file's stem when it names no scenario
    assert r.config.empowerment.street_authority == field_spec("empowerment.street_authority").default
    r2 = sim.run(str(path), steps=2, overrides=CLASSROOM)
    assert to_dict(r2.config) == to_dict(r.config)


def test_yaml_path_with_a_population_preset_and_interventions(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "mine", "population": "classroom",
                                    "interventions": [{"step": 2, "set": {"admin.burden": 0.9}}]}),
                    encoding="utf-8")
    r = sim.run(path, steps=3)
    assert r.config.name == "mine"
    assert r.config.population.n_streets == 1 and r.config.population.residents_per_community == 100
    assert r.config.admin.burden == field_spec("admin.burden").default  # as the run started
    assert r.final_config.admin.burden == 0.9  # in force at the end
    assert [iv["step"] for iv in r.config.interventions] == [2]


def test_missing_yaml_path_is_a_config_error(tmp_path):
    with pytest.raises(sim.ConfigError) as info:
        sim.run(tmp_path / "nope.yaml", steps=1)
    assert info.value.field == "scenario"


def test_overrides_as_hydra_strings_and_as_dotted_dict_agree():
    strings = sim.compose(overrides=["population=classroom", "admin.burden=0.25",
                                     "submodels.motivation=static", "items.n_domains=4"])
    dotted = sim.compose(overrides={"population": "classroom", "admin.burden": 0.25,
                                    "submodels.motivation": "static", "items.n_domains": 4})
    nested = sim.compose(overrides={"population": "classroom", "admin": {"burden": 0.25},
                                    "submodels": {"motivation": "static"},
                                    "items": {"n_domains": 4}})
    assert to_dict(strings) == to_dict(dotted) == to_dict(nested)
    assert strings.admin.burden == 0.25 and strings.items.n_domains == 4
    a = sim.run(steps=3, overrides=["population=classroom", "admin.burden=0.25"])
    b = sim.run(steps=3, overrides={"population": "classroom", "admin.burden": 0.25})
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries)


def test_a_single_override_string_is_accepted():
    assert sim.compose(overrides="admin.burden=0.3").admin.burden == 0.3


def test_sweep_overrides_are_refused():
    with pytest.raises(sim.ConfigError):
        sim.compose(overrides=["admin.burden=0.1,0.2"])


@pytest.mark.parametrize("preset,sizes", [("classroom", (1, 3, 100)), ("default", (4, 6, 300))])
def test_population_preset_selection(preset, sizes):
    r = sim.run(steps=1, overrides=[f"population={preset}"])
    pop = r.config.population
    assert (pop.n_streets, pop.communities_per_street, pop.residents_per_community) == sizes
    model = sim.RegionModel(population=preset)
    assert model.layout.n_residents == sizes[0] * sizes[1] * sizes[2]


def test_population_field_override_on_top_of_a_preset():
    cfg = sim.compose(overrides=["population=classroom", "population.units_per_street=9"])
    assert cfg.population.n_streets == 1 and cfg.population.units_per_street == 9


# --------------------------------------------------------------------------- result tables


@pytest.fixture(scope="module")
def short_run():
    return sim.run(seed=2, steps=7, overrides=CLASSROOM)


def test_summary_has_every_metric_mean_final_and_volatility(short_run):
    s = short_run.summary
    for name in sim.METRIC_NAMES:
        assert name in s and f"{name}_final" in s
        assert s[f"{name}_final"] == short_run.timeseries[name].iloc[-1]
        assert s[name] == pytest.approx(short_run.timeseries[name].iloc[1:].mean())
    assert "participation_volatility" in s
    for key in ("items_created", "items_resolved", "items_expired", "items_open"):
        assert key in s
    assert all(isinstance(v, float) for v in s.values())


def test_timeseries_indexed_by_step_with_exactly_the_metric_columns(short_run):
    ts = short_run.timeseries
    assert list(ts.index) == list(range(8))
    assert ts.index.name == "step"
    assert list(ts.columns) == list(sim.METRIC_NAMES)
    assert len(sim.METRIC_NAMES) == len(set(sim.METRIC_NAMES)) == len(sim.METRICS)


def test_metric_table_is_complete():
    for m in sim.METRICS:
        assert m.name.isidentifier() and m.unit and m.zh and m.en and m.formula


def test_participation_volatility_is_the_cv_after_burn_in():
    r = sim.run(seed=2, steps=10, overrides=CLASSROOM + ["metrics.burn_in=4"])
    p = r.timeseries["participation_two_new"].to_numpy()[5:]
    want = p.std() / p.mean() if p.mean() > 0 else 0.0
    assert r.summary["participation_volatility"] == pytest.approx(want)


# --------------------------------------------------------------------------- Mesa batch_run


def test_mesa_batch_run_on_region_model():
    rows = mesa.batch_run(sim.RegionModel,
                          parameters={"admin__burden": [0.2, 0.9], "population": "classroom"},
                          rng=[0], max_steps=5, number_processes=1, display_progress=False)
    assert len(rows) == 2
    for row in rows:
        assert row["Step"] == 5
        for name in sim.METRIC_NAMES:
            assert name in row and np.isfinite(row[name])
    by_burden = {row["admin__burden"]: row for row in rows}
    assert set(by_burden) == {0.2, 0.9}
    # the keyword reached the model: more tasks pushed down, less autonomy left
    assert by_burden[0.9]["admin_load_share"] > by_burden[0.2]["admin_load_share"]


def test_mesa_batch_run_rejects_bad_values_before_building():
    with pytest.raises(sim.ConfigError):
        mesa.batch_run(sim.RegionModel, parameters={"admin__burden": [3.0], "population": "classroom"},
                       rng=[0], max_steps=2, number_processes=1, display_progress=False)


# --------------------------------------------------------------------------- interventions


def test_intervention_from_config_changes_the_config_at_its_step():
    model = sim.RegionModel(population="classroom", admin__burden=0.2,
                            interventions=[{"step": 3, "set": {"admin.burden": 0.9,
                                                               "incentives.material": 0.8}}])
    seen = []
    for _ in range(5):
        model.step()
        seen.append((model.steps, model.config.admin.burden, model.config.incentives.material))
    assert [b for _, b, _ in seen] == [0.2, 0.2, 0.9, 0.9, 0.9]
    assert [m for _, _, m in seen][2:] == [0.8, 0.8, 0.8]
    assert seen[0][2] == field_spec("incentives.material").default


def test_interventions_in_a_scenario_dict_config():
    model = sim.RegionModel(config={"admin": {"burden": 0.1},
                                    "interventions": [{"step": 2, "set": {"admin.burden": 0.7}}]},
                            population="classroom")
    stepped(model, 1)
    assert model.config.admin.burden == 0.1
    stepped(model, 1)
    assert model.config.admin.burden == 0.7


def test_several_interventions_apply_in_step_order():
    model = sim.RegionModel(population="classroom", interventions=[
        {"step": 4, "set": {"admin.burden": 0.4}},
        {"step": 2, "set": {"admin.burden": 0.2}},
        {"step": 2, "set": {"incentives.material": 0.9}},
    ])
    burdens = [stepped(model, 1).config.admin.burden for _ in range(5)]
    d = field_spec("admin.burden").default
    assert burdens == [d, 0.2, 0.2, 0.4, 0.4]
    assert model.config.incentives.material == 0.9


def test_run_interventions_act_at_the_right_step():
    """A unit participation switch observed exactly from the intervention step on."""
    never = ["population=classroom", "units.public_benefit=0", "units.participation_cost=10",
             "units.higher_rank_cost=5", "units.cost_noise=0", "incentives.material=0",
             "incentives.recognition=0", "evaluation.external_pressure=0",
             "empowerment.leading_group=0", "units.motivation_gain=0"]
    always = next(c for c in sim.config.SUBMODEL_CHOICES["unit_participation"]
                  if c != field_spec("submodels.unit_participation").default)
    r = sim.run(seed=1, steps=6, overrides=never,
                interventions=[{"step": 4, "set": {"submodels.unit_participation": always}}])
    p = r.timeseries["participation_units"]
    assert (p.loc[1:3] == 0.0).all()
    assert (p.loc[4:] == 1.0).all()
    assert r.final_config.submodels.unit_participation == always
    assert r.config.submodels.unit_participation != always


def test_run_interventions_equal_config_interventions(tmp_path):
    iv = [{"step": 3, "set": {"admin.burden": 0.95, "market.outsourcing": 0.5}}]
    path = tmp_path / "iv.yaml"
    path.write_text(yaml.safe_dump({"interventions": iv}), encoding="utf-8")
    a = sim.run(path, seed=4, steps=6, overrides=CLASSROOM)
    b = sim.run(seed=4, steps=6, overrides=CLASSROOM, interventions=iv)
    c = sim.run(seed=4, steps=6, overrides=CLASSROOM + [
        "interventions=[{step: 3, set: {admin.burden: 0.95, market.outsourcing: 0.5}}]"])
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries)
    pd.testing.assert_frame_equal(b.timeseries, c.timeseries)
    assert b.final_config.admin.burden == 0.95
    assert a.config.name == "iv" and b.config.name == c.config.name == "baseline"
    strip = lambda cfg: {k: v for k, v in to_dict(cfg).items() if k != "name"}
    assert strip(a.config) == strip(b.config) == strip(c.config)
    plain = sim.run(seed=4, steps=6, overrides=CLASSROOM)
    pd.testing.assert_frame_equal(plain.timeseries.loc[:2], b.timeseries.loc[:2])
    assert not plain.timeseries.loc[3:].equals(b.timeseries.loc[3:])


# --------------------------------------------------------------------------- save / load


def test_save_run_writes_every_table_and_metadata(short_run, tmp_path):
    out = save_run(short_run, tmp_path / "run1")
    assert out == tmp_path / "run1"
    for name in ("timeseries.parquet", "timeseries.csv", "summary.json", "summary.csv",
                 "items.parquet", "handoffs.parquet", "metadata.json"):
        assert (out / name).is_file(), name
    meta = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    assert meta["seed"] == short_run.config.seed == 2
    assert meta["steps"] == 7
    assert meta["config"] == json.loads(json.dumps(to_dict(short_run.config)))
    assert set(meta["packages"]) == set(PACKAGES)
    assert meta["packages"]["mesa"] == mesa.__version__
    assert meta["packages"]["numpy"] == np.__version__
    rev = meta["git_revision"]
    assert isinstance(rev, str) and rev
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(sim.__file__).parent,
                          capture_output=True, text=True, check=False)
    if head.returncode == 0:
        assert rev.split("-")[0] == head.stdout.strip()
    csv = pd.read_csv(out / "timeseries.csv")
    assert list(csv.columns) == ["step", *sim.METRIC_NAMES]
    # no partial directories left behind
    assert [p.name for p in tmp_path.iterdir()] == ["run1"]


def test_load_run_round_trips(short_run, tmp_path):
    out = save_run(short_run, tmp_path / "run")
    back = load_run(out)
    pd.testing.assert_frame_equal(back["timeseries"], short_run.timeseries)
    assert back["summary"] == short_run.summary
    for name in ("items", "handoffs"):
        pd.testing.assert_frame_equal(back[name], getattr(short_run, name))
    cfg = sim.config.validate(sim.config.from_dict(back["metadata"]["config"]))
    assert to_dict(cfg) == to_dict(short_run.config)


def test_save_run_replaces_an_existing_directory(short_run, tmp_path):
    out = tmp_path / "run"
    save_run(short_run, out)
    (out / "stale.txt").write_text("old", encoding="utf-8")
    save_run(short_run, out)
    assert not (out / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_save_and_load_without_item_tables(tmp_path):
    r = sim.run(seed=2, steps=3, overrides=CLASSROOM + ["items.record=none"])
    out = save_run(r, tmp_path / "r")
    assert not (out / "items.parquet").exists() and not (out / "handoffs.parquet").exists()
    back = load_run(out)
    assert back["items"] is None and back["handoffs"] is None
    assert back["summary"] == r.summary


def test_saved_config_with_interventions_round_trips(tmp_path):
    r = sim.run(seed=2, steps=3, overrides=CLASSROOM,
                interventions=[{"step": 2, "set": {"admin.burden": 0.3}}])
    back = load_run(save_run(r, tmp_path / "r"))
    assert back["metadata"]["config"]["interventions"] == [{"step": 2,
                                                            "set": {"admin.burden": 0.3}}]
