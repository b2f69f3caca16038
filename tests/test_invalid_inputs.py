"""Every bad input explains itself, in Python and on the command line alike.

An invalid value, an unknown name (with "did you mean …?"), a malformed scenario file (named
with its line), a bad intervention or per-street lever, or a config too large for this
machine's memory: each is refused before anything is built, with one message naming the
field, the value and what is allowed. On the command line the same message comes before hydra
starts (exit status 2, no folder written); a run that fails later leaves nothing behind, or a
folder marked ``FAILED.txt``. See docs/reliability.md.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import sim
import sim.cli
from sim.compose import compose
from sim.config import (
    BYTES_PER_RESIDENT,
    ConfigError,
    check_memory,
    estimate_memory,
    machine_memory,
)
from sim.suggest import suggest_field, suggest_population, suggest_scenario

RPBSIM = Path(sys.executable).parent / "rpbsim"
HUGE = ["population.n_streets=200", "population.communities_per_street=100",
        "population.residents_per_community=200000"]


def refused(call) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        call()
    return info.value


# --------------------------------------------------------------------------- did you mean


@pytest.mark.parametrize(("typed", "meant"), [
    ("admin.burdon", "admin.burden"),
    ("admin.burdn", "admin.burden"),
    ("burden", "admin.burden"),
    ("empowerment.street_autority", "empowerment.street_authority"),
    ("evaluation.substance_wieght", "evaluation.substance_weight"),
    ("Admin.Burden", "admin.burden"),
    ("steps_", "steps"),
    ("interventons", "interventions"),
    ("popluation.n_streets", "population.n_streets"),
])
def test_a_misspelled_field_gets_the_closest_name(typed, meant):
    assert suggest_field(typed) == meant
    for call in (lambda: compose(overrides={typed: 0.5}),
                 lambda: compose(overrides=[f"{typed}=0.5"]),
                 lambda: sim.RegionModel(**{typed.replace(".", "__"): 0.5})):
        err = refused(call)
        assert err.unknown and err.suggestion == meant
        assert str(err) == f"unknown field {typed!r} (did you mean {meant!r}?)"


def test_a_name_nothing_like_a_field_gets_no_suggestion():
    err = refused(lambda: compose(overrides={"qqqqqqqq": 1}))
    assert err.suggestion is None
    assert str(err) == "unknown field 'qqqqqqqq' (the fields are listed in docs/parameters.md)"


def test_misspelled_scenarios_presets_and_choices():
    assert suggest_scenario("co_governence") == "co_governance"
    assert suggest_scenario("共治机智") == "共治机制"  # Chinese aliases are candidates too
    assert suggest_population("distrct") == "district"
    err = refused(lambda: compose("co_governence"))
    assert err.field == "scenario" and "did you mean 'co_governance'?" in str(err)
    err = refused(lambda: compose("共治机智"))
    assert "did you mean '共治机制'?" in str(err)
    err = refused(lambda: compose(overrides=["population=distrct"]))
    assert str(err) == ("invalid value for 'population': 'distrct' (did you mean 'district'? "
                        "allowed: one of classroom, default, district)")
    err = refused(lambda: compose(overrides=["items.record=memroy"]))
    assert str(err) == ("invalid value for 'items.record': 'memroy' (did you mean 'memory'? "
                        "allowed: one of 'memory', 'stream', 'none')")


def test_wrong_type_names_field_value_and_range():
    err = refused(lambda: compose(overrides=["admin.burden=abc"]))
    assert str(err) == ("invalid value for 'admin.burden': 'abc' (allowed: number in [0, 1]) "
                        "— must be a number")


def test_config_errors_pickle_with_their_suggestion_and_source():
    err = ConfigError("admin.burden", 2, "number in [0, 1]", "too big", "x", "f.yaml, line 2")
    back = pickle.loads(pickle.dumps(err))
    assert str(back) == str(err) and back.suggestion == "x" and back.source == "f.yaml, line 2"
    unknown = refused(lambda: compose(overrides={"admin.burdon": 1}))
    assert str(pickle.loads(pickle.dumps(unknown))) == str(unknown)
    assert ConfigError("a", 1, "b", detail="why").reason == "why"


# --------------------------------------------------------------------------- scenario files


def write(tmp_path: Path, text: str, name: str = "mine.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("name: x\nadmin:\n  burden: 0.5\n  burdn: 0.3\n",
                 "{path}, line 4: unknown field 'admin.burdn' (did you mean 'admin.burden'?)",
                 id="unknown-key"),
    pytest.param("admin:\n  burden: high\n",
                 "{path}, line 2: invalid value for 'admin.burden': 'high' "
                 "(allowed: number in [0, 1]) — must be a number", id="wrong-type"),
    pytest.param("steps: 1.5\n",
                 "{path}, line 1: invalid value for 'steps': 1.5 (allowed: integer in [1, 5200]) "
                 "— must be an integer", id="fraction-for-int"),
    pytest.param("admin: 0.5\n",
                 "{path}, line 1: invalid value for 'admin': 0.5 (allowed: a mapping of fields) "
                 "— admin is a group: write its fields under it", id="group-as-value"),
    pytest.param("population: huge\n",
                 "{path}, line 1: invalid value for 'population': 'huge' "
                 "(allowed: one of classroom, default, district)", id="unknown-preset"),
    pytest.param("interventions:\n  - step: 3\n    set: {admin.burden: 0.2}\n  - step: 0\n"
                 "    set: {admin.burden: 0.1}\n",
                 "{path}, line 4: invalid value for 'interventions[1].step': 0 "
                 "(allowed: an integer >= 1 (steps count from 1))", id="intervention-step-0"),
    pytest.param("interventions:\n  - step: 3\n    set:\n      empowerment.street_autority: 0.5\n",
                 "{path}, line 4: unknown field 'interventions[0].set.empowerment.street_autority' "
                 "(did you mean 'empowerment.street_authority'?)", id="intervention-unknown-field"),
    pytest.param("name: x\nadmin:\n  burden: 0.5\n bad: [1\n",
                 "{path}, line 4, column 2: invalid value for 'scenario': '{path}' "
                 "(allowed: valid YAML) — YAML syntax error: expected <block end>, but found "
                 "'<block mapping start>'", id="yaml-syntax"),
    pytest.param("- a\n- b\n",
                 "{path}: invalid value for 'scenario': '{path}' (allowed: a YAML mapping of "
                 "overrides) — the file holds a list", id="not-a-mapping"),
])
def test_a_malformed_scenario_file_is_named_with_its_line(tmp_path, text, message):
    path = write(tmp_path, text)
    err = refused(lambda: compose(path))
    assert str(err) == message.format(path=path)
    assert sim.cli.main  # the command line gives the same message (below)


def test_a_missing_scenario_file():
    err = refused(lambda: compose("no/such/file.yaml"))
    assert str(err) == ("invalid value for 'scenario': 'no/such/file.yaml' (allowed: an existing "
                        "YAML file or a preset name) — file not found")


def test_a_scenario_file_can_be_run_from_the_command_line_as_from_python(tmp_path, monkeypatch):
    from hydra import compose as hcompose
    from hydra import initialize_config_module

    path = write(tmp_path, "population: classroom\nadmin:\n  burden: 0.8\n"
                           "empowerment.street_authority: 0.7\nname: \"it's mine\"\n"
                           "interventions:\n  - {step: 2, set: {incentives.material: 0.5}, "
                           "streets: [0]}\n  - {step: 3, set: {submodels.evaluation: form_blind}}\n")
    argv = sim.cli.check_arguments([f"scenario={path}", "seed=4", "admin.burden=0.1"])
    assert not any(a.startswith("scenario=") for a in argv)
    with initialize_config_module(config_module="sim.conf", version_base="1.3"):
        cfg = hcompose(config_name="config", overrides=argv)
    expected = compose(path, ["seed=4", "admin.burden=0.1"])
    assert sim.config.to_dict(sim.cli.config_from_hydra(cfg)) == sim.config.to_dict(expected)


def test_a_scenario_file_cannot_be_swept_on_the_command_line(tmp_path):
    a, b = write(tmp_path, "admin: {burden: 0.1}\n", "a.yaml"), write(tmp_path, "{}\n", "b.yaml")
    err = refused(lambda: sim.cli.check_arguments(["-m", f"scenario={a},{b}"]))
    assert err.field == "scenario" and "preset names in a sweep" in str(err)


def test_a_fixed_scenario_file_in_a_sweep_stays_out_of_the_job_dir_names(tmp_path):
    path = write(tmp_path, "admin: {burden: 0.1}\nname: x\n")
    argv = sim.cli.check_arguments(["-m", f"scenario={path}", "seed=1,2"])
    assert argv == ["-m", "admin.burden=0.1", "name='x'", "seed=1,2",
                    "hydra.job.config.override_dirname.exclude_keys=[progress,admin.burden,name]"]


# --------------------------------------------------------------------------- interventions, levers


def test_intervention_steps_below_1_are_errors_and_past_the_end_a_warning():
    err = refused(lambda: compose(interventions=[{"step": 0, "set": {"admin.burden": 0.1}}]))
    assert err.field == "interventions[0].step"
    cfg = compose(overrides=["population=classroom", "spin_up=0"], steps=2,
                  interventions=[{"step": 3, "set": {"admin.burden": 0.1}}])
    with pytest.warns(RuntimeWarning, match="past the run's last step"):
        sim.RegionModel(config=cfg)


def test_intervention_with_unknown_field_suggests_the_name():
    err = refused(lambda: compose(interventions=[{"step": 2, "set": {"admin.burdn": 0.1}}]))
    assert str(err) == ("unknown field 'interventions[0].set.admin.burdn' "
                        "(did you mean 'admin.burden'?)")


def test_interventions_that_break_a_rule_later_are_refused_up_front():
    """Before: accepted, then the run stopped half-way with a ConfigError at that step."""
    ivs = [{"step": 2, "set": {"admin.campaign_length": 20}}]
    err = refused(lambda: compose(interventions=ivs))
    assert str(err) == ("invalid value for 'interventions[0].set': {'admin.campaign_length': 20} "
                        "(allowed: values that keep every rule of the schema from step 2 on) — "
                        "then admin.campaign_length = 20, but it must be at most "
                        "admin.campaign_period (13)")
    # a sequence that keeps the rules at every step runs (checked in the order applied)
    ok = [{"step": 3, "set": {"admin.campaign_period": 5, "admin.campaign_length": 2}},
          {"step": 2, "set": {"admin.campaign_length": 10}}]
    result = sim.run(steps=4, overrides=["population=classroom", "spin_up=0"], interventions=ok)
    assert result.final_config.admin.campaign_period == 5


def test_a_per_street_lever_must_be_a_per_street_field():
    err = refused(lambda: compose(overrides={"street_levers": [
        {"streets": [0], "set": {"admin.max_tasks_per_week": 3}}]}))
    assert err.field == "street_levers[0].set.admin.max_tasks_per_week"
    assert "a lever that can differ between streets: admin.burden" in str(err)
    err = refused(lambda: compose(interventions=[
        {"step": 2, "streets": [0], "set": {"market.monitoring_cost": 3}}]))
    assert err.suggestion == "market.monitoring"
    err = refused(lambda: compose(overrides={"street_levers": [
        {"streets": [0], "set": {"admin.burdn": 0.3}}]}))
    assert err.unknown and err.suggestion == "admin.burden"


# --------------------------------------------------------------------------- memory


def test_a_config_larger_than_the_machine_is_refused_with_the_estimate():
    err = refused(lambda: compose(overrides=HUGE))
    assert err.field == "population" and err.value == 4_000_000_000
    msg = str(err)
    assert "residents on this machine" in msg and "estimated memory" in msg
    assert "exceeds this machine's" in msg


def test_item_rows_kept_in_memory_count_and_point_to_record_none():
    ok = compose(overrides=["population=district"])
    est = estimate_memory(ok)
    assert est.total > est.residents * BYTES_PER_RESIDENT and est.items_kept > 0
    assert estimate_memory(compose(overrides=["population=district", "items.record=none"])
                           ).items_kept == 0
    data = {s: v for s, v in _flat(ok).items()}
    with pytest.raises(ConfigError) as info:
        check_memory(data, available=est.residents_bytes + 1)
    assert info.value.field == "items.record" and info.value.suggestion == "stream"
    check_memory(data, available=est.total)  # fits exactly: accepted
    assert machine_memory() > 2**28


def _flat(cfg) -> dict:
    out = {}
    for group, values in sim.config.to_dict(cfg).items():
        if isinstance(values, dict):
            out.update({f"{group}.{k}": v for k, v in values.items()})
        else:
            out[group] = values
    return out


# --------------------------------------------------------------------------- the command line

CLI_CASES = [
    pytest.param(["admin.burden=abc"], "invalid value for 'admin.burden': 'abc' "
                 "(allowed: number in [0, 1]) — must be a number", id="wrong-type"),
    pytest.param(["admin.burden=1.5"], "invalid value for 'admin.burden': 1.5 "
                 "(allowed: number in [0, 1])", id="out-of-range"),
    pytest.param(["admin.burdon=0.5"], "unknown field 'admin.burdon' (did you mean 'admin.burden'?)",
                 id="unknown-field"),
    pytest.param(["+admin.burdon=0.5"], "unknown field 'admin.burdon' (did you mean 'admin.burden'?)",
                 id="plus-unknown-field"),
    pytest.param(["++admin.burdon=0.5"], "unknown field 'admin.burdon' (did you mean 'admin.burden'?)",
                 id="plusplus-unknown-field"),
    pytest.param(["~admin.burden"], "invalid value for 'admin.burden': '~admin.burden' "
                 "(allowed: key=value) — a field cannot be deleted (every field has a default); "
                 "set a value", id="deletion"),
    pytest.param(["scenario=co_governence"], "did you mean 'co_governance'?", id="scenario"),
    pytest.param(["population=distrct"], "invalid value for 'population': 'distrct' "
                 "(did you mean 'district'? allowed: one of classroom, default, district)",
                 id="population"),
    pytest.param(["admin={burdn: 0.5}"], "unknown field 'admin.burdn' (did you mean 'admin.burden'?)",
                 id="group-dict"),
    pytest.param(["experiment=comparison"], "unknown field 'experiment' (experiments run with "
                 "`rpbsim-experiment NAME`)", id="experiment"),
    pytest.param(["progress=maybe"], "invalid value for 'progress': 'maybe' (allowed: true or false)",
                 id="cli-option"),
    pytest.param(["interventions=[{step: 0, set: {admin.burden: 0.1}}]"],
                 "invalid value for 'interventions[0].step': 0 (allowed: an integer >= 1 "
                 "(steps count from 1))", id="intervention-step"),
    pytest.param(["street_levers=[{streets: [0], set: {admin.hours_per_task: 2}}]"],
                 "invalid value for 'street_levers[0].set.admin.hours_per_task'", id="street-lever"),
    pytest.param(HUGE, "estimated memory", id="memory"),
    pytest.param(["-m", "admin.burdon=0.1,0.2"],
                 "unknown field 'admin.burdon' (did you mean 'admin.burden'?)", id="sweep-unknown"),
    pytest.param(["-m", "admin.burden=0.5,abc"], "invalid value for 'admin.burden': 'abc'",
                 id="sweep-wrong-type"),
    pytest.param(["admin.burden=[1"], "invalid value for 'overrides': 'admin.burden=[1' "
                 "(allowed: key=value (hydra override syntax))", id="syntax"),
    pytest.param(["admin.burdon=0.5", "--cfg", "job"], "unknown field 'admin.burdon'", id="cfg"),
]


@pytest.mark.parametrize(("argv", "message"), CLI_CASES)
def test_the_command_line_refuses_before_hydra_with_the_python_message(argv, message, tmp_path,
                                                                      monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["rpbsim", *argv])
    monkeypatch.setattr(sim.cli, "_app", lambda: pytest.fail("hydra was reached"))
    with pytest.raises(SystemExit) as info:
        sim.cli.main()
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("rpbsim: ") and message in err
    assert list(tmp_path.iterdir()) == []  # nothing written
    overrides = [a for a in argv if a not in ("-m", "--cfg", "job")]
    key = overrides[0].split("=")[0]
    if "-m" in argv or key in ("experiment", "progress"):
        return  # a sweep, or words of the command line only
    with pytest.raises(ConfigError) as py:  # the Python API: the same words
        if key == "scenario":
            compose(overrides[0].split("=")[1])
        else:
            compose("baseline", overrides)
    assert err.strip() == f"rpbsim: {py.value}"


def test_a_scenario_file_error_reads_the_same_on_the_command_line(tmp_path, monkeypatch, capsys):
    path = write(tmp_path, "admin:\n  burdn: 0.3\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["rpbsim", "scenario=mine.yaml"])
    with pytest.raises(SystemExit) as info:
        sim.cli.main()
    assert info.value.code == 2
    assert capsys.readouterr().err.strip() == f"rpbsim: {refused(lambda: compose('mine.yaml'))}"
    assert list(tmp_path.iterdir()) == [path]


def test_plus_before_a_field_of_the_schema_just_sets_it():
    assert sim.cli.check_arguments(["+admin.burden=0.3", "seed=2"]) == ["admin.burden=0.3", "seed=2"]
    assert sim.cli.check_arguments(["-m", "admin.burden=0.3,0.4"]) == ["-m", "admin.burden=0.3,0.4"]
    assert sim.cli.check_arguments(["--help"]) == ["--help"]


def rpbsim(*args, cwd):
    return subprocess.run([str(RPBSIM), *args], cwd=cwd, capture_output=True, text=True,
                          check=False, timeout=120)


def test_the_real_command_exits_2_with_the_project_message_and_writes_nothing(tmp_path):
    p = rpbsim("admin.burdon=0.5", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.strip() == "rpbsim: unknown field 'admin.burdon' (did you mean 'admin.burden'?)"
    assert "To append" not in p.stderr and "Hydra" not in p.stderr
    p = rpbsim("admin.burden=abc", cwd=tmp_path)
    assert p.returncode == 2 and "Error merging override" not in p.stderr
    assert p.stderr.strip() == ("rpbsim: invalid value for 'admin.burden': 'abc' "
                                "(allowed: number in [0, 1]) — must be a number")
    assert list(tmp_path.iterdir()) == []


def test_help_opens_with_the_project_text(tmp_path):
    p = rpbsim("--help", cwd=tmp_path)
    assert p.returncode == 0
    assert p.stdout.startswith("rpbsim — run RPB-Sim (区域化党建仿真)")
    assert "powered by Hydra" not in p.stdout
    for text in ("Examples:", "outputs/<name>/", "scenario=co_governance", "population: classroom"):
        assert text in p.stdout
    for name in sim.list_scenarios():
        assert name in p.stdout
    assert list(tmp_path.iterdir()) == []


def test_a_run_refused_while_building_leaves_no_folder(tmp_path):
    """The streets CSV is read when the model is built: the refusal comes after hydra made
    the run dir, which is removed again."""
    p = rpbsim("population.streets_csv=missing.csv", "steps=1", "spin_up=0", "progress=false",
               cwd=tmp_path)
    assert p.returncode == 2
    assert "rpbsim: invalid value for 'population.streets_csv': 'missing.csv'" in p.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_failed_run_dir_is_removed_or_marked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "outputs" / "baseline" / "2025-01-01_00-00-00"
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "config.yaml").write_text("x: 1\n")
    (run_dir / "cli.log").write_text("")
    (run_dir / "results").mkdir()
    assert sim.cli.discard_failed_run(run_dir, RuntimeError("boom")) == ""
    assert list(tmp_path.iterdir()) == []  # the run dir and the folders it left empty
    (run_dir / "results").mkdir(parents=True)
    (run_dir / "results" / "timeseries.parquet").write_text("partial")
    try:
        raise RuntimeError("boom")
    except RuntimeError as e:
        note = sim.cli.discard_failed_run(run_dir, e)
    marker = run_dir / "FAILED.txt"
    assert str(marker) in note
    text = marker.read_text()
    assert text.startswith("This run FAILED") and "RuntimeError: boom" in text
    assert "Traceback" in text


def test_a_run_failing_at_run_time_exits_1_and_cleans_up(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)

    def fail(*args, **kwargs):
        raise RuntimeError("the model broke")

    monkeypatch.setattr(sim.cli, "run_and_save", fail)
    monkeypatch.setattr(sys, "argv", ["rpbsim", "population=classroom", "steps=1", "spin_up=0",
                                      "progress=false"])
    with warnings.catch_warnings(), pytest.raises(SystemExit) as info:
        warnings.simplefilter("ignore")
        sim.cli.main()
    assert info.value.code == 1
    assert "rpbsim: run failed: RuntimeError: the model broke" in capsys.readouterr().err
    assert not (tmp_path / "outputs").exists() or not any((tmp_path / "outputs").rglob("*.yaml"))


def test_numpy_numbers_are_valid_values_and_come_out_as_python_types():
    """Before: ``population.n_streets=np.int64(2)`` (a loop over np.arange) was refused."""
    import numpy as np

    cfg = compose(overrides={"population.n_streets": np.int64(2), "admin.burden": np.float32(0.25),
                             "metrics.record_spin_up": np.True_, "steps": 3.0,
                             "street_levers": [{"streets": [np.int64(0)],
                                                "set": {"admin.burden": np.float64(0.5)}}]},
                  interventions=[{"step": np.int64(2), "set": {"admin.burden": 0.3},
                                  "streets": {"share": np.float32(0.5)}}])
    assert type(cfg.population.n_streets) is int and type(cfg.admin.burden) is float
    assert cfg.metrics.record_spin_up is True and type(cfg.steps) is int
    assert type(cfg.interventions[0]["step"]) is int and cfg.street_levers[0]["streets"] == (0,)
    for bad in (np.float64(2.5), np.True_):
        assert refused(lambda bad=bad: compose(overrides={"population.n_streets": bad})
                       ).field == "population.n_streets"
