"""Every shipped config composes and runs; scenario files hold overrides only; hydra and
sim.compose give identical configs; the ``rpbsim`` command line works and fails cleanly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

import sim
import sim.cli
import sim.io
from sim.compose import CONF_DIR, compose
from sim.config import ConfigError, field_spec, to_dict

SCENARIOS = sim.list_scenarios()
RPBSIM = Path(sys.executable).parent / "rpbsim"


def test_there_are_scenarios_and_baseline_is_one():
    assert "baseline" in SCENARIOS
    assert len(SCENARIOS) == len(set(SCENARIOS))


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_composes_and_runs(name):
    """Every scenario runs through the default spin-up and at least three weeks (long enough
    for its interventions to take effect), keeping the books."""
    steps = max([3] + [iv["step"] for iv in compose(name).interventions])
    r = sim.run(name, steps=steps, overrides=["population=classroom"])
    assert r.config.name == name
    assert r.config.spin_up == field_spec("spin_up").default
    assert list(r.timeseries.index) == list(range(steps + 1))
    s = r.summary
    assert s["items_open_at_start"] + s["items_created"] == \
        s["items_closed"] + s["items_expired"] + s["items_open"]
    assert 0 <= s["items_solved"] <= s["items_closed"]
    assert len(r.streets) == r.config.population.n_streets
    assert len(r.by_street) == (steps + 1) * len(r.streets)


def walk(tree, prefix=""):
    """Dotted leaf names of a nested YAML mapping."""
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from walk(value, name + ".")
        else:
            yield name, value


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_file_holds_only_overrides(name):
    text = (CONF_DIR / "scenario" / f"{name}.yaml").read_text(encoding="utf-8")
    assert text.lstrip().startswith("#"), "a scenario file starts with a comment saying why"
    assert "@package _global_" in text
    data = yaml.safe_load(text) or {}
    assert isinstance(data, dict)
    assert "defaults" not in data
    for key, value in walk(data):
        if key == "interventions":
            sim.config.validate_interventions(value)
            continue
        if key == "population" and not isinstance(value, dict):
            continue  # a preset name
        spec = field_spec(key)  # raises ConfigError for anything not in the schema
        spec.check(value)
    if "name" in data:
        assert data["name"] == name


@pytest.fixture(scope="module")
def hydra_compose():
    from hydra import compose as hcompose
    from hydra import initialize_config_module

    with initialize_config_module(config_module="sim.conf", version_base="1.3"):
        yield hcompose


@pytest.mark.parametrize("name", SCENARIOS)
def test_hydra_and_sim_compose_agree(name, hydra_compose):
    cfg = hydra_compose(config_name="config", overrides=[f"scenario={name}"])
    assert to_dict(sim.cli.config_from_hydra(cfg)) == to_dict(compose(name))


@pytest.mark.parametrize("overrides", [
    ["population=classroom"],
    ["population=district", "admin.burden=0.9"],
    ["scenario=suspended_structure", "population=classroom", "seed=5", "steps=7"],
    ["scenario=market_logic", "items.record=none", "submodels.motivation=static"],
    ["interventions=[{step: 3, set: {admin.burden: 0.2}}]"],
])
def test_hydra_and_sim_compose_agree_with_overrides(overrides, hydra_compose):
    cfg = hydra_compose(config_name="config", overrides=overrides)
    scenario = next((o.split("=", 1)[1] for o in overrides if o.startswith("scenario=")),
                    "baseline")
    rest = [o for o in overrides if not o.startswith("scenario=")]
    assert to_dict(sim.cli.config_from_hydra(cfg)) == to_dict(compose(scenario, rest))


def test_hydra_out_of_range_value_is_caught_by_the_schema(hydra_compose):
    cfg = hydra_compose(config_name="config", overrides=["admin.burden=3"])
    with pytest.raises(ConfigError) as info:
        sim.cli.config_from_hydra(cfg)
    assert info.value.field == "admin.burden"


# --------------------------------------------------------------------------- the CLI


def rpbsim(*args, cwd):
    return subprocess.run([str(RPBSIM), *args], cwd=cwd, capture_output=True, text=True, check=False,
                          timeout=120)


def test_cli_runs_prints_the_summary_and_writes_results(tmp_path):
    run_dir = tmp_path / "run"
    p = rpbsim("population=classroom", "steps=3", "spin_up=10", "progress=false",
               f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    for name in sim.METRIC_NAMES:
        assert name in p.stdout
    assert "participation_amplitude" in p.stdout
    for count in ("open at start", "created", "closed", "solved", "expired", "open"):
        assert count in p.stdout
    results = run_dir / "results"
    for name in ("timeseries.parquet", "timeseries.csv", "summary.json", "summary.csv",
                 "streets.parquet", "streets.csv", "by_street.parquet", "by_street.csv",
                 "items.parquet", "handoffs.parquet", "metadata.json"):
        assert (results / name).is_file(), name
    saved = sim.io.load_run(results)
    assert len(saved["timeseries"]) == 4
    assert saved["metadata"]["config"]["population"]["n_streets"] == 1
    assert saved["metadata"]["spin_up"] == 10
    assert len(saved["streets"]) == 1 and len(saved["by_street"]) == 4
    # the CLI and the Python API give the same run
    api = sim.run(steps=3, overrides=["population=classroom", "spin_up=10"])
    assert saved["summary"].keys() == api.summary.keys()
    assert saved["summary"] == pytest.approx(api.summary, nan_ok=True)
    pd.testing.assert_frame_equal(saved["timeseries"], api.timeseries)
    pd.testing.assert_frame_equal(saved["streets"], api.streets)
    pd.testing.assert_frame_equal(saved["by_street"], api.by_street)


def test_cli_rejects_out_of_range_value_and_writes_nothing(tmp_path):
    p = rpbsim("admin.burden=3", cwd=tmp_path)
    assert p.returncode != 0
    assert "admin.burden" in p.stderr
    assert "[0, 1]" in p.stderr
    assert not list(tmp_path.rglob("results"))
    assert not list(tmp_path.rglob("*.parquet"))
