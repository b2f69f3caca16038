"""Safe by default: results and inputs are data, never code; the classroom app listens on this
machine only, and nothing the page sends can set a value outside the schema or name a file."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest

import sim
from sim.config import field_spec

SIM = Path(sim.__file__).parent

#: Calls that would run code from a file or a message (module, attribute) — none in sim/.
UNSAFE_CALLS = {("pickle", "load"), ("pickle", "loads"), ("yaml", "load"), ("yaml", "unsafe_load"),
                ("yaml", "full_load"), ("pd", "read_pickle"), ("pandas", "read_pickle"),
                ("marshal", "loads"), ("dill", "loads")}


def _unsafe_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Name) and f.id in ("eval", "exec"):
            found.append(f"{path.name}:{node.lineno} {f.id}()")
        elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and (
                (f.value.id, f.attr) in UNSAFE_CALLS):
            found.append(f"{path.name}:{node.lineno} {f.value.id}.{f.attr}()")
        for kw in node.keywords:  # np.load(..., allow_pickle=True)
            if kw.arg == "allow_pickle" and not (isinstance(kw.value, ast.Constant)
                                                 and kw.value.value is False):
                found.append(f"{path.name}:{node.lineno} allow_pickle")
    return found


def test_the_scanner_finds_what_it_looks_for(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import pickle, yaml, numpy as np\npickle.loads(b'')\neval('1')\n"
                   "yaml.load('a', Loader=None)\nnp.load('x', allow_pickle=True)\n")
    assert len(_unsafe_uses(bad)) == 4


def test_no_module_of_the_package_unpickles_or_evaluates_anything():
    found = [u for p in sorted(SIM.rglob("*.py")) for u in _unsafe_uses(p)]
    assert found == []


def test_a_scenario_file_with_a_python_tag_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    f = tmp_path / "evil.yaml"
    f.write_text(f"admin:\n  burden: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(sim.ConfigError) as e:
        sim.compose(str(f))
    assert "evil.yaml" in str(e.value)
    assert not marker.exists()


def test_a_saved_run_is_only_parquet_csv_and_json(tmp_path):
    from sim.io import save_run

    result = sim.run("baseline", seed=1, steps=3, overrides=["population=classroom", "spin_up=2"])
    out = save_run(result, tmp_path / "run")
    suffixes = {p.suffix for p in out.rglob("*") if p.is_file()}
    assert suffixes <= {".parquet", ".csv", ".json"}, suffixes


# --------------------------------------------------------------------------- the app


def test_the_app_binds_to_this_machine_by_default():
    from sim.app.__main__ import parse_args

    assert parse_args([]).host == "127.0.0.1"


@pytest.fixture(scope="module")
def session():
    pytest.importorskip("solara")
    from sim.app.session import Session

    s = Session(seed=2)
    s.step(2)
    return s


HOSTILE_VALUES = [-1e300, -1.0, 1e300, 2.0, math.inf, -math.inf, math.nan, "0.5", "1e9", True,
                  10**30]


def test_no_slider_value_leaves_the_schema(session):
    """Every page lever, every hostile value: clamped into the schema's range, or refused with
    the project's error; never stored outside the range."""
    tried = 0
    for name, control in session.control.items():
        spec = field_spec(name)
        for value in HOSTILE_VALUES:
            tried += 1
            try:
                session.set_lever(name, value)
            except (sim.ConfigError, TypeError, ValueError):
                pass
            stored = session.values[name]
            assert spec.lo <= stored <= spec.hi, (name, value, stored)
            field_spec(name).check(stored)
        for iv in session.model.pending_interventions:
            for key, v in iv["set"].items():
                assert field_spec(key).lo <= v <= field_spec(key).hi
    assert tried == len(session.control) * len(HOSTILE_VALUES)


@pytest.mark.parametrize("name", ["items.stream_path", "population.streets_csv", "seed",
                                  "population.n_streets", "../../etc/passwd", "__class__"])
def test_the_page_cannot_set_a_field_that_is_not_a_page_lever(session, name):
    with pytest.raises(KeyError):
        session.set_lever(name, 0.5)


@pytest.mark.parametrize(("method", "value"), [
    ("set_scenario", "/etc/passwd"), ("set_scenario", "../configs/scenario/baseline.yaml"),
    ("set_scenario", "baseline.yaml"), ("set_population", "district"),
    ("set_population", "/tmp/streets.csv"), ("set_seed", -5), ("set_seed", 2**70)])
def test_the_page_cannot_name_a_file_or_a_large_district(session, method, value):
    with pytest.raises((sim.ConfigError, ValueError, OverflowError)):
        getattr(session, method)(value)
