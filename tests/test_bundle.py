"""The offline installer (tools/bundle.py, ``make bundle``).

* Offline unit checks: marker evaluation for the target platform, parsing pip's "no
  matching distribution" errors, the glibc floor, the generated scripts.
* ``test_dry_pass_*`` (needs the package index): the dry pass for Windows resolves the
  locked set from a Linux machine, builds the wheel of the source-only
  ``antlr4-python3-runtime`` and adds the Windows-only ``colorama``.
* ``test_bundle_installs_offline`` (slow, ``make validate``): builds the Linux bundle,
  installs it with ``install.sh`` into a fresh venv with pip cut off from every index and
  every configured wheel folder, and runs a tiny simulation there.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import bundle

from sim.app import assets as A


def _index_reachable() -> bool:
    if os.environ.get("PIP_INDEX_URL") or os.environ.get("PIP_NO_INDEX"):
        return not os.environ.get("PIP_NO_INDEX")
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
        return True
    except OSError:
        return False


needs_index = pytest.mark.skipif(not _index_reachable(), reason="the package index (pypi.org) is not reachable")


# ---------------------------------------------------------------------------
# Offline unit checks
# ---------------------------------------------------------------------------


def _item(name, version, requires=()):
    return {"metadata": {"name": name, "version": version, "requires_dist": list(requires)}, "download_info": {"url": f"https://x/{name}.whl"}}


def test_closure_evaluates_markers_for_the_target():
    items = {
        "rpb-sim": _item("rpb-sim", "0.1.0", ["click", 'solara==1.64.1; extra == "app"', 'pytest; extra == "dev"']),
        "click": _item("click", "8.5.1", ['colorama; platform_system == "Windows"']),
        "solara": _item("solara", "1.64.1", ['pexpect>4.3; sys_platform != "win32"', "tqdm[notebook]>=4"]),
        "pexpect": _item("pexpect", "4.9.0"),
    }
    linux, win = bundle.PLATFORMS["linux"].markers, bundle.PLATFORMS["windows"].markers
    need, missing = bundle.closure(items, linux, "rpb-sim", {"app"})
    assert need == {"rpb-sim", "click", "solara", "pexpect", "tqdm"}
    assert {n: str(r) for n, r in missing.items()} == {"tqdm": "tqdm[notebook]>=4"}
    need, missing = bundle.closure(items, win, "rpb-sim", {"app"})
    assert "pexpect" not in need and "colorama" in need
    assert str(missing["colorama"]) == "colorama" and missing["colorama"].marker is None
    need, _ = bundle.closure(items, win, "rpb-sim", set())
    assert "solara" not in need


def test_missing_distributions_parses_pip_errors():
    out = (
        "ERROR: Cannot install rpb-sim because these package versions have conflicting dependencies.\n"
        "Additionally, some packages in these conflicts have no matching distributions available for your environment:\n"
        "    antlr4-python3-runtime\n"
        "    Foo_Bar\n"
        "\nTo fix this you could try to:\n"
        "ERROR: No matching distribution found for baz==1.0\n"
    )
    assert sorted(bundle.missing_distributions(out)) == ["antlr4-python3-runtime", "baz", "foo-bar"]


def test_min_glibc():
    assert bundle.min_glibc(["a-1-py3-none-any.whl"]) is None
    files = [
        "numpy-2.5.5-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
        "matplotlib-3.11.2-cp312-cp312-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
        "psutil-7.2.2-cp36-abi3-manylinux2010_x86_64.manylinux_2_12_x86_64.manylinux_2_28_x86_64.whl",
    ]
    assert bundle.min_glibc(files) == "2.27"
    assert bundle.PLATFORMS["linux"].tags("2.28")[0] == "manylinux_2_28_x86_64"
    assert "manylinux2014_x86_64" in bundle.PLATFORMS["linux"].tags("2.28")


def test_scripts(tmp_path):
    bundle.write_scripts(tmp_path, "2.28", ["linux", "windows"], ("app",))
    bat = (tmp_path / "install.bat").read_bytes()
    assert bat.isascii() and b"\r\n" in bat and b"\n" not in bat.replace(b"\r\n", b"")
    assert b"--require-hashes" in bat and b"requirements-windows.txt" in bat and b"sim.app.assets install --from" in bat
    sh = (tmp_path / "install.sh").read_text()
    assert "\r" not in sh and os.access(tmp_path / "install.sh", os.X_OK)
    assert "--no-index" in sh and "requirements-linux.txt" in sh
    readme = (tmp_path / "README.txt").read_bytes()
    assert readme.startswith(b"\xef\xbb\xbf")  # BOM: Windows Notepad shows the Chinese right
    text = readme.decode("utf-8-sig")
    assert "安装说明" in text and "install.bat" in text and "glibc >= 2.28" in text
    subprocess.run(["sh", "-n", str(tmp_path / "install.sh")], check=True)


def test_dist_is_git_ignored():
    ignored = (ROOT / ".gitignore").read_text().split()
    assert "dist/" in ignored and "build/" in ignored


# ---------------------------------------------------------------------------
# The dry pass (needs the index; no wheel downloads)
# ---------------------------------------------------------------------------


@needs_index
def test_dry_pass_windows_manifest(tmp_path):
    manifest = bundle.build(tmp_path, ["windows"], ("app",), dry_run=True)
    win = manifest["platforms"]["windows"]
    wheels = {bundle.canonicalize_name(w["name"]): w for w in win["wheels"]}
    pins = bundle.read_pins(ROOT / "constraints.txt")
    # the locked versions, binary wheels for win_amd64 / pure ones
    for name, w in wheels.items():
        if name in pins:
            assert w["version"] == pins[name], name
        assert w["file"].endswith(("-win_amd64.whl", "-none-any.whl")), w["file"]
        assert w["sha256"], name
    assert wheels["solara"]["version"] == A.SOLARA_VERSION
    assert wheels["rpb-sim"]["source"] == "project"
    assert "antlr4-python3-runtime" in win["built_from_sdist"]  # hydra's source-only dependency
    assert "colorama" in wheels  # Windows-only (click/tqdm), invisible to pip on Linux
    assert "pexpect" not in wheels  # not used on Windows
    assert not {"pytest", "ruff", "playwright", "dask"} & set(wheels)  # users get core + app only
    req = (tmp_path / "requirements-windows.txt").read_text().splitlines()
    assert any(line.startswith("rpb-sim[app]==") for line in req)
    assert all("--hash=sha256:" in line for line in req if not line.startswith("#"))
    assert [a["spec"] for a in manifest["assets"]] == A.REQUIRED_ASSETS
    assert json.loads((tmp_path / "manifest.json").read_text())["dry_run"] is True


# ---------------------------------------------------------------------------
# Build the Linux bundle and install from it with no index (slow)
# ---------------------------------------------------------------------------


def _offline_pip_env(**extra: str) -> dict[str, str]:
    """An environment in which pip sees no config file, index or extra wheel folder."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("PIP_", "SOLARA_", "VIRTUAL_ENV", "PYTHONPATH"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra)
    return env


@pytest.mark.slow
@needs_index
@pytest.mark.skipif(sys.platform != "linux", reason="builds and installs the Linux bundle")
def test_bundle_installs_offline(tmp_path):
    t0 = time.monotonic()
    out = tmp_path / "bundle"
    manifest = bundle.build(out, ["linux"], ("app",))
    t_build = time.monotonic() - t0
    linux = manifest["platforms"]["linux"]
    files = {p.name for p in (out / "wheels" / "linux").glob("*.whl")}
    assert files == {w["file"] for w in linux["wheels"]}
    assert {a["file"] for a in manifest["assets"]} == {a.tarball for a in A.ASSETS}
    assert all((out / "assets" / a.tarball).is_file() for a in A.ASSETS)
    assert linux["min_glibc"]

    target = tmp_path / "target"
    env = _offline_pip_env(PYTHON=sys._base_executable, HOME=str(tmp_path / "home"))
    proc = subprocess.run(["sh", str(out / "install.sh"), str(target)], capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "RPB-Sim OK" in proc.stdout
    t_install = time.monotonic() - t0 - t_build

    py = target / "venv" / "bin" / "python"
    smoke = "import sim; sim.run('baseline', seed=1, steps=2, overrides=['population=classroom','spin_up=2'])"
    subprocess.run([str(py), "-c", smoke], check=True, env=env, cwd=tmp_path)
    check = subprocess.run([str(py), "-m", "sim.app.assets", "check"], capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert check.returncode == 0, check.stdout
    assert str(target / "venv" / "share" / "solara" / "cdn") in check.stdout
    freeze = subprocess.run([str(py), "-m", "pip", "freeze"], capture_output=True, text=True, env=env, check=True).stdout
    assert f"solara=={A.SOLARA_VERSION}" in freeze and "antlr4-python3-runtime==4.9.3" in freeze
    assert (target / "start-app.sh").is_file()
    print(f"\nbundle build {t_build:.0f} s, install {t_install:.0f} s, linux wheels {linux['size'] / 1e6:.0f} MB")
