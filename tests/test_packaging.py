"""Packaging: the YAML configs live once, in ``configs/`` (a plain folder, no symlink, so a
Windows checkout works), and are installed as the package ``sim.conf``. pyproject.toml lists
the packages by hand (``sim.conf`` sits outside ``sim/``); these tests fail when a new
subpackage or config folder is missing there, or when a second copy appears."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"

pytestmark = pytest.mark.skipif(not (ROOT / "configs").is_dir() or not PYPROJECT.is_file(),
                                reason="needs the source tree")


def _setuptools() -> dict:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["setuptools"]


def _sim_packages() -> set[str]:
    out = set()
    for init in (ROOT / "sim").rglob("__init__.py"):
        if "__pycache__" in init.parts:
            continue
        rel = init.parent.relative_to(ROOT)
        out.add(".".join(rel.parts))
    return out


def _conf_folders() -> set[Path]:
    """configs/ and every folder below it that holds YAML files."""
    conf = ROOT / "configs"
    return {conf} | {p.parent for p in conf.rglob("*.yaml") if "__pycache__" not in p.parts}


def _conf_package(folder: Path) -> str:
    return ".".join(("sim", "conf", *folder.relative_to(ROOT / "configs").parts))


def test_configs_is_the_one_copy():
    conf = ROOT / "configs"
    assert conf.is_dir() and not conf.is_symlink()
    assert not (ROOT / "sim" / "conf").exists(), \
        "sim/conf/ came back: configs/ is the only copy of the YAML files (installed as sim.conf)"
    assert (conf / "config.yaml").is_file() and list((conf / "scenario").glob("*.yaml"))


def test_every_package_is_listed_in_pyproject():
    st = _setuptools()
    listed = set(st["packages"])
    assert st["package-dir"] == {"sim.conf": "configs"}
    missing = _sim_packages() - listed
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"
    for folder in _conf_folders():
        name = _conf_package(folder)
        assert (folder / "__init__.py").is_file(), f"{folder} needs an (empty) __init__.py"
        assert name in listed, f"add {name!r} to [tool.setuptools] packages in pyproject.toml"
        assert "*.yaml" in st["package-data"].get(name, []), \
            f'add "{name}" = ["*.yaml"] to [tool.setuptools.package-data]'
    assert not listed - _sim_packages() - {_conf_package(f) for f in _conf_folders()}


def test_installed_package_reads_configs():
    """The installed (editable or not) ``sim.conf`` is what compose and labels read."""
    import importlib

    compose = importlib.import_module("sim.compose")
    conf = resources.files("sim.conf")
    assert (conf / "config.yaml").is_file()
    names = sorted(p.name[:-5] for p in (conf / "scenario").iterdir() if p.name.endswith(".yaml"))
    assert names == compose.list_scenarios() == sorted(
        p.stem for p in (ROOT / "configs" / "scenario").glob("*.yaml"))


def test_data_files_of_sim_are_listed_in_pyproject():
    """A non-Python file inside sim/ (the app's Vue template) ships only when package-data
    names it; a wheel without it would break the page at run time."""
    from fnmatch import fnmatch

    data = _setuptools()["package-data"]
    for path in (ROOT / "sim").rglob("*"):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix in {".py", ".pyc"}:
            continue
        package = ".".join(path.parent.relative_to(ROOT).parts)
        patterns = data.get(package, [])
        assert any(fnmatch(path.name, pat) for pat in patterns), \
            f'add "{package}" = ["*{path.suffix}"] to [tool.setuptools.package-data] ({path})'
