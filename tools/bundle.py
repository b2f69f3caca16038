#!/usr/bin/env python
"""Build the offline installer of RPB-Sim under ``dist/bundle/`` (``make bundle``).

For classroom machines without internet (docs/offline.md).  On a connected machine this
collects everything ``pip install rpb-sim[app]`` and the app's page need, for CPython 3.12
on Linux (manylinux x86_64) and Windows (win_amd64):

* ``wheels/<platform>/`` -- the project's own wheel and every dependency, at the versions of
  ``constraints.txt`` (``pip download --only-binary=:all: --platform ... --python-version
  3.12``), plus wheels built here for packages published only as source (e.g.
  ``antlr4-python3-runtime``, which hydra needs), found by a dry pass;
* ``requirements-<platform>.txt`` -- that exact set with sha256 hashes (the installers use
  ``pip install --no-index --require-hashes``, so a damaged copy is refused);
* ``assets/`` -- the npm tarballs of Solara's front-end (:mod:`sim.app.assets`);
* ``install.sh`` / ``install.bat``, ``start-app.sh`` / ``start-app.bat``, ``README.txt``
  (English and Chinese) and ``manifest.json`` (versions, sizes, hashes).

Dependencies with environment markers (``colorama; platform_system == "Windows"``) are
evaluated for the *target* platform (pip evaluates them for the machine it runs on), so the
Windows set gets its Windows-only packages.  Packages the lock does not pin (Windows-only
ones: the lock is made on Linux) are resolved to their newest release and listed as
``unpinned`` in the manifest.

Usage::

    python tools/bundle.py                       # both platforms, extras "app"
    python tools/bundle.py --platform linux      # one platform
    python tools/bundle.py --extras app,dask     # also the Dask executor
    python tools/bundle.py --dry-run             # resolve + manifest only (no wheel/npm downloads)
    python tools/bundle.py --python-installer python-3.12.10-amd64.exe   # ship it for Windows
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PROJECT = "rpb-sim"
PYTHON_VERSION = "3.12"
DEFAULT_EXTRAS = ("app",)
DEFAULT_GLIBC = "2.28"  # numpy/scipy/pandas/pillow of the lock ship manylinux_2_28 wheels only

_PY_FULL = ".".join(map(str, sys.version_info[:3])) if sys.version_info[:2] == (3, 12) else "3.12.0"


@dataclass(frozen=True)
class Platform:
    key: str  # folder name: wheels/<key>, requirements-<key>.txt
    label: str
    markers: dict[str, str]  # PEP 508 environment of the target

    def tags(self, glibc: str = DEFAULT_GLIBC) -> list[str]:
        if self.key == "windows":
            return ["win_amd64"]
        major, minor = (int(x) for x in glibc.split("."))
        tags = [f"manylinux_{major}_{m}_x86_64" for m in range(minor, 4, -1)]
        return tags + ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]


_COMMON = {
    "implementation_name": "cpython",
    "implementation_version": _PY_FULL,
    "platform_python_implementation": "CPython",
    "python_full_version": _PY_FULL,
    "python_version": PYTHON_VERSION,
    "platform_release": "",
    "platform_version": "",
}

PLATFORMS: dict[str, Platform] = {
    "linux": Platform(
        "linux",
        "Linux x86_64 (manylinux), CPython 3.12",
        {**_COMMON, "os_name": "posix", "platform_machine": "x86_64", "platform_system": "Linux", "sys_platform": "linux"},
    ),
    "windows": Platform(
        "windows",
        "Windows 64-bit (win_amd64), CPython 3.12",
        {**_COMMON, "os_name": "nt", "platform_machine": "AMD64", "platform_system": "Windows", "sys_platform": "win32"},
    ),
}


class BundleError(RuntimeError):
    pass


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def pip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pip", *args]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8", errors="replace", check=False)
    if os.environ.get("RPB_BUNDLE_DEBUG"):
        log(f"    [{time.monotonic() - t0:5.1f} s] pip {' '.join(args[:6])} ...")
    if check and proc.returncode != 0:
        out = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise BundleError(f"pip {' '.join(args[:1])} failed (exit {proc.returncode}):\n{out}")
    return proc


def read_pins(constraints: Path) -> dict[str, str]:
    """``{canonical name: version}`` of the ``name==version`` lines of a lock file."""
    pins = {}
    for line in constraints.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        specs = list(req.specifier)
        if len(specs) == 1 and specs[0].operator == "==":
            pins[canonicalize_name(req.name)] = specs[0].version
    return pins


def project_version() -> str:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    m = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    if not m:
        raise BundleError("no version in pyproject.toml")
    return m.group(1)


# ---------------------------------------------------------------------------
# Wheels built here: the project, and dependencies published only as source
# ---------------------------------------------------------------------------


# never part of a wheel's sources (the fallback copy when git is not available)
_NOT_SOURCE = (".git", ".venv", "dist", "build", "outputs", "multirun", "node_modules", "__pycache__", "*.pyc",
               "*.egg-info", ".pytest_cache", ".ruff_cache", ".benchmarks", ".ipynb_checkpoints")  # fmt: skip


def copy_sources(dest: Path) -> None:
    """Copy the working tree's source files (tracked + untracked, not git-ignored) to ``dest``."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, check=True,
        ).stdout  # fmt: skip
        files = [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]
    except (OSError, subprocess.CalledProcessError):
        files = None
    if not files:
        shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(*_NOT_SOURCE), dirs_exist_ok=True)
        return
    for rel in files:
        src = ROOT / rel
        if src.is_file():  # a tracked file deleted in the working tree is skipped
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def build_project_wheel(built: Path, work: Path) -> Path:
    """The project's wheel, built from a clean copy (no stale ``build/`` files)."""
    src = work / "src"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    copy_sources(src)
    version = project_version()
    for old in built.glob("rpb_sim-*.whl"):
        old.unlink()
    log(f"Building the {PROJECT} {version} wheel ...")
    pip("wheel", "--no-deps", "--progress-bar", "off", "-w", str(built), str(src))
    wheels = sorted(built.glob(f"rpb_sim-{version}-*.whl"))
    if len(wheels) != 1:
        raise BundleError(f"expected one rpb_sim-{version} wheel in {built}, found {wheels}")
    return wheels[0]


def build_source_wheel(name: str, version: str | None, built: Path) -> Path:
    """Build a wheel for a package with no wheel on PyPI; it must be pure Python."""
    spec = f"{name}=={version}" if version else name
    log(f"  {spec} has no wheel for the target: building one from its source ...")
    before = set(built.glob("*.whl"))
    pip("wheel", "--no-deps", "--no-binary", name, "--progress-bar", "off", "-w", str(built), spec)
    new = [p for p in built.glob("*.whl") if p not in before and canonicalize_name(parse_wheel_filename(p.name)[0]) == canonicalize_name(name)]
    if not new:  # already there from an earlier run
        new = [p for p in built.glob("*.whl") if canonicalize_name(parse_wheel_filename(p.name)[0]) == canonicalize_name(name)]
    if not new:
        raise BundleError(f"pip wheel {spec} produced no wheel")
    wheel = new[0]
    tags = parse_wheel_filename(wheel.name)[3]
    if not all(t.platform == "any" and t.abi == "none" for t in tags):
        raise BundleError(
            f"{name} has no wheel for the target platform and its source builds a platform-specific "
            f"wheel ({wheel.name}) that cannot be made here for another platform"
        )
    return wheel


# ---------------------------------------------------------------------------
# The dry pass: resolve for a target platform without downloading wheels
# ---------------------------------------------------------------------------

_NO_MATCH = re.compile(r"No matching distribution found for ([A-Za-z0-9][A-Za-z0-9._-]*)")
_NO_MATCH_BLOCK = re.compile(r"no matching distributions available for your environment:\s*\n((?:[ \t]+\S.*\n?)+)")


def missing_distributions(output: str) -> list[str]:
    """Package names pip found no usable distribution for (from its error output)."""
    names = [m.group(1) for m in _NO_MATCH.finditer(output)]
    for m in _NO_MATCH_BLOCK.finditer(output):
        names += [line.strip() for line in m.group(1).splitlines() if line.strip()]
    return list(dict.fromkeys(canonicalize_name(n) for n in names))


def target_args(platform: Platform, glibc: str) -> list[str]:
    args = ["--only-binary=:all:"]
    for tag in platform.tags(glibc):
        args += ["--platform", tag]
    return args + ["--python-version", PYTHON_VERSION, "--implementation", "cp", "--abi", "cp312"]


@dataclass
class Resolution:
    platform: Platform
    items: dict[str, dict]  # canonical name -> pip report item (the packages the target needs)
    built: set[str] = field(default_factory=set)  # names whose wheel was built here
    unpinned: dict[str, str] = field(default_factory=dict)  # needed but not in the lock
    extra_requirements: list[str] = field(default_factory=list)


def closure(items: dict[str, dict], env: dict[str, str], root: str, extras: set[str]) -> tuple[set[str], dict[str, Requirement]]:
    """Names the target needs (markers evaluated for ``env``), and requirements not in ``items``."""
    need: dict[str, set[str]] = {}
    missing: dict[str, Requirement] = {}
    stack = [(canonicalize_name(root), {canonicalize_name(e) for e in extras})]
    while stack:
        name, ex = stack.pop()
        seen = need.get(name)
        if seen is not None and ex <= seen:
            continue
        need[name] = (seen or set()) | ex
        item = items.get(name)
        if item is None:
            continue
        for text in item["metadata"].get("requires_dist") or []:
            req = Requirement(text)
            if req.marker is not None and not any(req.marker.evaluate({**env, "extra": e}) for e in need[name] | {""}):
                continue
            dep = canonicalize_name(req.name)
            if dep not in items:
                bare = Requirement(str(req))
                bare.marker = None
                if dep in missing:
                    bare.specifier = SpecifierSet(str(missing[dep].specifier & req.specifier))
                    bare.extras |= missing[dep].extras
                missing[dep] = bare
            stack.append((dep, {canonicalize_name(e) for e in req.extras}))
    return set(need), missing


def resolve(
    platform: Platform,
    project_wheel: Path,
    extras: tuple[str, ...],
    built: Path,
    constraints: Path,
    glibc: str,
    work: Path,
) -> Resolution:
    """The dry pass: which wheels the target needs, building the source-only ones."""
    pins = read_pins(constraints)
    target = f"{project_wheel}[{','.join(extras)}]" if extras else str(project_wheel)
    extra_reqs: dict[str, Requirement] = {}
    tried_build: set[str] = set()
    report = work / f"report-{platform.key}.json"
    for _ in range(20):
        args = [
            "install", "--dry-run", "--ignore-installed", "--progress-bar", "off",
            "--report", str(report), "--target", str(work / "never-written"),
            *target_args(platform, glibc), "-c", str(constraints), "--find-links", str(built),
            target, *(str(r) for r in extra_reqs.values()),
        ]  # fmt: skip
        proc = pip(*args, check=False)
        if proc.returncode != 0:
            output = proc.stdout + proc.stderr
            names = [n for n in missing_distributions(output) if n not in tried_build]
            if not names:
                tail = "\n".join(output.strip().splitlines()[-25:])
                raise BundleError(f"cannot resolve {PROJECT} for {platform.label}:\n{tail}")
            for name in names:
                tried_build.add(name)
                build_source_wheel(name, pins.get(name), built)
            continue
        data = json.loads(report.read_text(encoding="utf-8"))
        items = {canonicalize_name(i["metadata"]["name"]): i for i in data["install"]}
        needed, missing = closure(items, platform.markers, PROJECT, set(extras))
        new = {n: r for n, r in missing.items() if n not in extra_reqs}
        if new:
            log(f"  {platform.key}: also needs {', '.join(str(r) for r in new.values())} (platform markers)")
            extra_reqs.update(new)
            continue
        kept = {n: items[n] for n in sorted(needed) if n in items}
        res = Resolution(platform, kept, extra_requirements=[str(r) for r in extra_reqs.values()])
        for name, item in kept.items():
            url = item["download_info"]["url"]
            if url.startswith("file:") and Path(url_to_path(url)).resolve().parent == built.resolve() and name != canonicalize_name(PROJECT):
                res.built.add(name)
            if name != canonicalize_name(PROJECT) and name not in pins:
                res.unpinned[name] = item["metadata"]["version"]
        return res
    raise BundleError(f"resolution for {platform.label} did not settle")


def url_to_path(url: str) -> str:
    from urllib.parse import unquote, urlparse
    from urllib.request import url2pathname

    return url2pathname(unquote(urlparse(url).path))


def report_sha256(item: dict) -> str | None:
    info = item["download_info"].get("archive_info", {})
    return info.get("hashes", {}).get("sha256") or (info.get("hash", "").partition("sha256=")[2] or None)


def min_glibc(filenames: list[str]) -> str | None:
    """The newest glibc any wheel needs (``manylinux_2_28`` -> ``2.28``), None if all pure."""
    legacy = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
    need = None
    for fname in filenames:
        lows = []
        for tag in parse_wheel_filename(fname)[3]:
            m = re.match(r"manylinux_(\d+)_(\d+)_", tag.platform)
            if m:
                lows.append((int(m.group(1)), int(m.group(2))))
            elif tag.platform.rsplit("_x86_64", 1)[0] in legacy:
                lows.append(legacy[tag.platform.rsplit("_x86_64", 1)[0]])
        if lows:
            low = min(lows)
            need = low if need is None or low > need else need
    return f"{need[0]}.{need[1]}" if need else None


# ---------------------------------------------------------------------------
# Downloading
# ---------------------------------------------------------------------------


def download(res: Resolution, dest: Path, built: Path, glibc: str, project_wheel: Path) -> list[dict]:
    """Download the resolved wheels into ``dest`` (cached by pip); returns their records."""
    dest.mkdir(parents=True, exist_ok=True)
    project = canonicalize_name(PROJECT)
    for old in dest.glob("rpb_sim-*.whl"):
        old.unlink()
    shutil.copy2(project_wheel, dest / project_wheel.name)  # never a same-named package of an index
    pinned = [f"{item['metadata']['name']}=={item['metadata']['version']}" for name, item in res.items.items() if name != project]
    log(f"Downloading {len(pinned)} wheels for {res.platform.label} ...")
    pip("download", "--no-deps", "--progress-bar", "off", *target_args(res.platform, glibc), "--find-links", str(built), "-d", str(dest), *pinned)
    # pip itself (pure Python): the installers upgrade the venv's pip to it, and bootstrap
    # it on Debian/Ubuntu machines whose Python lacks ensurepip (no python3.12-venv)
    import pip as host_pip

    pip("download", "--no-deps", "--only-binary=:all:", "--progress-bar", "off", "-d", str(dest), f"pip=={host_pip.__version__}")
    by_name: dict[str, Path] = {}
    for path in dest.glob("*.whl"):
        name = canonicalize_name(parse_wheel_filename(path.name)[0])
        if name in res.items or name == "pip":
            if name in by_name:
                raise BundleError(f"two wheels of {name} in {dest}: {by_name[name].name}, {path.name}")
            by_name[name] = path
        else:
            path.unlink()  # stale, from an earlier bundle
    records = []
    for name, item in res.items.items():
        path = by_name.get(name)
        if path is None:
            raise BundleError(f"{name} was not downloaded into {dest}")
        digest = sha256(path)
        expected = report_sha256(item)
        if expected and expected != digest and name not in res.built and name != canonicalize_name(PROJECT):
            raise BundleError(f"{path.name}: sha256 {digest} differs from the index's {expected}")
        records.append(_record(name, item, path.name, digest, path.stat().st_size, res))
    pip_whl = by_name["pip"]
    records.append({"name": "pip", "version": host_pip.__version__, "file": pip_whl.name, "sha256": sha256(pip_whl),
                    "size": pip_whl.stat().st_size, "source": "pypi", "installer_only": True})  # fmt: skip
    return records


def _record(name: str, item: dict, fname: str, digest: str | None, size: int | None, res: Resolution) -> dict:
    source = "project" if name == canonicalize_name(PROJECT) else "built-from-sdist" if name in res.built else "pypi"
    rec = {"name": item["metadata"]["name"], "version": item["metadata"]["version"], "file": fname, "sha256": digest, "size": size, "source": source}
    if name in res.unpinned:
        rec["unpinned"] = True
    return rec


def dry_records(res: Resolution) -> list[dict]:
    """Records from the report alone (``--dry-run``: nothing downloaded)."""
    out = []
    for name, item in res.items.items():
        fname = item["download_info"]["url"].rsplit("/", 1)[-1]
        out.append(_record(name, item, fname, report_sha256(item), None, res))
    return out


def write_requirements(path: Path, records: list[dict], extras: tuple[str, ...], platform: Platform) -> None:
    lines = [
        f"# Exact wheels of {PROJECT}[{','.join(extras)}] for {platform.label}, made by tools/bundle.py.",
        f"# pip install --no-index --find-links wheels/{platform.key} --require-hashes -r {path.name}",
    ]
    for rec in sorted(records, key=lambda r: canonicalize_name(r["name"])):
        if rec.get("installer_only"):
            continue
        name = rec["name"]
        if canonicalize_name(name) == canonicalize_name(PROJECT) and extras:
            name = f"{name}[{','.join(extras)}]"
        lines.append(f"{name}=={rec['version']} --hash=sha256:{rec['sha256']}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------
# Scripts and README
# ---------------------------------------------------------------------------

SMOKE = "import sim; sim.run('baseline', seed=1, steps=2, overrides=['population=classroom', 'spin_up=2']); print('RPB-Sim OK')"

INSTALL_SH = """\
#!/bin/sh
# RPB-Sim offline installer for Linux x86_64 (glibc >= @GLIBC@), CPython 3.12.
# Usage:  sh install.sh [TARGET]          (default TARGET: $HOME/rpb-sim)
#         PYTHON=/path/to/python3.12 sh install.sh [TARGET]
# Needs no internet: everything comes from this folder.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
TARGET=${1:-"$HOME/rpb-sim"}
VENV="$TARGET/venv"

PY=""
for c in ${PYTHON:-} python3.12 python3; do
  if "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1; then PY=$c; break; fi
done
if [ -z "$PY" ]; then
  echo "ERROR: Python 3.12 is needed (e.g. 'sudo apt-get install python3.12 python3.12-venv'," >&2
  echo "       or set PYTHON=/path/to/python3.12).  需要 Python 3.12。" >&2
  exit 1
fi
echo "Installing RPB-Sim into $VENV with $PY ..."
mkdir -p "$TARGET"
if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PY" -m venv "$VENV" >/dev/null 2>&1; then
    # Python without ensurepip (Debian/Ubuntu without python3.12-venv): bring pip from here
    rm -rf "$VENV"
    "$PY" -m venv --without-pip "$VENV"
    PIPWHL=$(ls "$HERE"/wheels/linux/pip-*.whl | head -n 1)
    "$VENV/bin/python" "$PIPWHL/pip" install -q --no-index --no-cache-dir "$PIPWHL"
  fi
fi
"$VENV/bin/python" -m pip install -q --no-index --find-links "$HERE/wheels/linux" --upgrade pip
"$VENV/bin/python" -m pip install --no-index --find-links "$HERE/wheels/linux" --require-hashes -r "$HERE/requirements-linux.txt"
"$VENV/bin/python" -m sim.app.assets install --from "$HERE/assets"
"$VENV/bin/python" -c "@SMOKE@"
cp "$HERE/start-app.sh" "$TARGET/start-app.sh"
chmod +x "$TARGET/start-app.sh"
echo
echo "Done.  Start the classroom app with:   $TARGET/start-app.sh"
echo "安装完成。启动课堂应用：               $TARGET/start-app.sh"
"""

START_SH = """\
#!/bin/sh
# Start the RPB-Sim classroom app (http://127.0.0.1:8765); extra arguments go to `python -m sim.app`.
exec "$(cd "$(dirname "$0")" && pwd)/venv/bin/python" -m sim.app "$@"
"""

# cmd.exe: ASCII only, CRLF line ends, no %VAR% expansion inside ( ) blocks (paths such as
# "C:\\Program Files (x86)" would break them) -- hence the goto style.
INSTALL_BAT = r"""@echo off
rem RPB-Sim offline installer for Windows 64-bit, CPython 3.12.
rem Usage:  install.bat [TARGET]        (default TARGET: %USERPROFILE%\rpb-sim)
rem Needs no internet: everything comes from this folder.
setlocal EnableExtensions
set "HERE=%~dp0"
if "%HERE:~-1%"=="\" set "HERE=%HERE:~0,-1%"
set "TARGET=%~1"
if "%TARGET%"=="" set "TARGET=%USERPROFILE%\rpb-sim"
set "VENV=%TARGET%\venv"
set "PYHOME=%LOCALAPPDATA%\Programs\Python\Python312"

rem --- find Python 3.12 ---------------------------------------------------------------
set "PY="
if exist "%VENV%\Scripts\python.exe" goto :have_venv
py -3.12 -c "import sys" >nul 2>&1
if not errorlevel 1 set "PY=py -3.12"
if defined PY goto :make_venv
python -c "import sys; sys.exit(sys.version_info[:2] != (3, 12))" >nul 2>&1
if not errorlevel 1 set "PY=python"
if defined PY goto :make_venv
if exist "%PYHOME%\python.exe" set PY="%PYHOME%\python.exe"
if defined PY goto :make_venv

rem --- no Python 3.12: install the one shipped in python\ (if any) -----------------
set "PYINST="
for %%F in ("%HERE%\python\python-3.12*-amd64.exe") do set "PYINST=%%~fF"
if not defined PYINST goto :no_python
echo Installing Python 3.12 for this user from "%PYINST%" ...
start "" /wait "%PYINST%" /passive InstallAllUsers=0 Include_launcher=0 Include_test=0 PrependPath=0 TargetDir="%PYHOME%"
if errorlevel 1 goto :fail
if not exist "%PYHOME%\python.exe" goto :no_python
set PY="%PYHOME%\python.exe"

:make_venv
echo Creating "%VENV%" with %PY% ...
if not exist "%TARGET%" mkdir "%TARGET%"
%PY% -m venv "%VENV%"
if errorlevel 1 goto :fail

:have_venv
set "VPY=%VENV%\Scripts\python.exe"
"%VPY%" -m pip install -q --no-index --find-links "%HERE%\wheels\windows" --upgrade pip
if errorlevel 1 goto :fail
"%VPY%" -m pip install --no-index --find-links "%HERE%\wheels\windows" --require-hashes -r "%HERE%\requirements-windows.txt"
if errorlevel 1 goto :fail
"%VPY%" -m sim.app.assets install --from "%HERE%\assets"
if errorlevel 1 goto :fail
"%VPY%" -c "@SMOKE@"
if errorlevel 1 goto :fail
copy /y "%HERE%\start-app.bat" "%TARGET%\start-app.bat" >nul
echo.
echo Done. Start the classroom app by double-clicking:
echo     %TARGET%\start-app.bat
echo (see README.txt)
pause
exit /b 0

:no_python
echo.
echo ERROR: Python 3.12 (64-bit) was not found.
echo Install python-3.12.x-amd64.exe from python.org (on a connected machine: copy it into
echo the python\ folder of this bundle and run install.bat again), then retry.
echo See README.txt.
pause
exit /b 1

:fail
echo.
echo ERROR: the installation failed (see the messages above and README.txt).
pause
exit /b 1
"""

START_BAT = r"""@echo off
rem Start the RPB-Sim classroom app (http://127.0.0.1:8765); keep this window open while teaching.
"%~dp0venv\Scripts\python.exe" -m sim.app %*
if errorlevel 1 pause
"""

README = """\
RPB-Sim offline installer / RPB-Sim 离线安装包
=============================================

@PROJECT@ @VERSION@ with extras [@EXTRAS@], built @DATE@ by tools/bundle.py.
Platforms: @PLATFORMS@

English
-------
This folder installs RPB-Sim and its classroom app on a computer WITHOUT internet.
Nothing is downloaded during installation.

Copy this whole folder to the computer first (from a USB stick or the intranet; if it
came as a .zip, extract it -- do not run the scripts from inside the zip).

Windows (64-bit, Windows 10 or later):
  1. Python 3.12 (64-bit) must be installed ("py -3.12" or "python" in a command prompt).
     If it is not, and the folder python\\ of this bundle holds python-3.12.x-amd64.exe,
     install.bat installs it for the current user.
  2. Double-click install.bat (or run:  install.bat [TARGET]).
     Default TARGET: %USERPROFILE%\\rpb-sim.  It takes a few minutes.
  3. Start the app: double-click TARGET\\start-app.bat, then open http://127.0.0.1:8765
     in a browser (Edge, Chrome, Firefox).  Keep the black window open while teaching.

Linux (x86_64, glibc >= @GLIBC@@DISTROS_EN@):
  1. Python 3.12 must be installed (python3.12, or set PYTHON=/path/to/python3.12).
  2. sh install.sh [TARGET]           (default TARGET: $HOME/rpb-sim)
  3. TARGET/start-app.sh, then open http://127.0.0.1:8765

Checking: "TARGET/venv/bin/python -m sim.app.assets check" (Windows:
TARGET\\venv\\Scripts\\python -m sim.app.assets check) lists the front-end files.
Contents: wheels/<platform>/ (Python packages), requirements-<platform>.txt (exact versions
and sha256 hashes: a damaged copy is refused), assets/ (the app's JavaScript/CSS),
manifest.json (everything with sizes and hashes).  More: docs/offline.md in the source.

中文（安装说明）
----------------
本文件夹用于在【没有互联网】的电脑上安装 RPB-Sim 及其课堂应用，安装过程不需要联网。

请先把整个文件夹拷贝到本机（U 盘或内网共享；如果是 .zip 压缩包，请先解压，
不要在压缩包里直接运行脚本）。

Windows（64 位，Windows 10 及以上）：
  1. 需要先安装 Python 3.12（64 位）。在命令提示符中 "py -3.12" 或 "python" 可用即可。
     若未安装，而本安装包的 python\\ 文件夹中有 python-3.12.x-amd64.exe，
     install.bat 会为当前用户自动安装。
  2. 双击 install.bat（或在命令行运行：install.bat [安装目录]）。
     默认安装目录：%USERPROFILE%\\rpb-sim。需要几分钟。
  3. 启动：双击 安装目录\\start-app.bat，然后用浏览器（Edge、Chrome、Firefox）打开
     http://127.0.0.1:8765 。上课期间请不要关闭黑色的命令行窗口。

Linux（x86_64，glibc >= @GLIBC@@DISTROS_ZH@）：
  1. 需要 Python 3.12（python3.12，或设置 PYTHON=/python3.12/的路径）。
  2. sh install.sh [安装目录]          （默认：$HOME/rpb-sim）
  3. 运行 安装目录/start-app.sh，然后打开 http://127.0.0.1:8765

检查：运行 "安装目录/venv/bin/python -m sim.app.assets check"（Windows：
安装目录\\venv\\Scripts\\python -m sim.app.assets check）可列出前端文件是否齐全。
内容：wheels/<平台>/（Python 包）、requirements-<平台>.txt（精确版本与 sha256 校验值，
拷贝损坏的文件会被拒绝安装）、assets/（应用的 JavaScript/CSS 前端文件）、manifest.json。
详见源代码中的 docs/offline.md。
"""


def write_scripts(out: Path, glibc: str | None, platforms: list[str], extras: tuple[str, ...]) -> None:
    if "linux" in platforms:
        (out / "install.sh").write_text(INSTALL_SH.replace("@GLIBC@", glibc or "2.17").replace("@SMOKE@", SMOKE), encoding="utf-8", newline="\n")
        (out / "start-app.sh").write_text(START_SH, encoding="utf-8", newline="\n")
        for name in ("install.sh", "start-app.sh"):
            (out / name).chmod(0o755)
    if "windows" in platforms:
        bat = INSTALL_BAT.replace("@SMOKE@", SMOKE)
        assert bat.isascii() and START_BAT.isascii()
        (out / "install.bat").write_text(bat, encoding="ascii", newline="\r\n")
        (out / "start-app.bat").write_text(START_BAT, encoding="ascii", newline="\r\n")
    readme = (
        README.replace("@PROJECT@", PROJECT)
        .replace("@VERSION@", project_version())
        .replace("@EXTRAS@", ",".join(extras))
        .replace("@DATE@", time.strftime("%Y-%m-%d"))
        .replace("@PLATFORMS@", "; ".join(PLATFORMS[p].label for p in platforms))
        .replace("@GLIBC@", glibc or "2.17")
    )
    old_enough = tuple(int(x) for x in (glibc or "2.17").split(".")) <= (2, 28)
    readme = readme.replace("@DISTROS_EN@", ", e.g. Ubuntu 20.04+, Debian 10+, RHEL/CentOS 8+, UOS/Kylin V10" if old_enough else "")
    readme = readme.replace("@DISTROS_ZH@", "，如 Ubuntu 20.04+、Debian 10+、RHEL/CentOS 8+、统信 UOS/麒麟 V10" if old_enough else "")
    # UTF-8 with BOM and CRLF, so Windows Notepad shows the Chinese text correctly
    (out / "README.txt").write_text(readme, encoding="utf-8-sig", newline="\r\n")


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def build(
    out: Path,
    platforms: list[str],
    extras: tuple[str, ...] = DEFAULT_EXTRAS,
    *,
    dry_run: bool = False,
    glibc: str = DEFAULT_GLIBC,
    constraints: Path = ROOT / "constraints.txt",
    python_installer: Path | None = None,
    wheel_cache: Path = ROOT / "build" / "bundle-wheels",
) -> dict:
    """Build the bundle (or, ``dry_run``, only its manifest); returns the manifest."""
    t0 = time.monotonic()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rpb-bundle-"))
    try:
        # wheels built from source-only packages, kept between runs (build/ is git-ignored)
        built = Path(wheel_cache).resolve()
        built.mkdir(parents=True, exist_ok=True)
        project_wheel = build_project_wheel(work / "project", work)
        manifest: dict = {
            "project": PROJECT,
            "version": project_version(),
            "extras": list(extras),
            "python": PYTHON_VERSION,
            "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "dry_run": dry_run,
            "platforms": {},
        }
        glibc_needed = None
        for key in platforms:
            platform = PLATFORMS[key]
            log(f"Resolving for {platform.label} (dry pass) ...")
            res = resolve(platform, project_wheel, extras, built, constraints, glibc, work)
            if dry_run:
                records = dry_records(res)
            else:
                records = download(res, out / "wheels" / key, built, glibc, project_wheel)
            write_requirements(out / f"requirements-{key}.txt", records, extras, platform)
            entry = {
                "label": platform.label,
                "wheels": records,
                "count": len([r for r in records if not r.get("installer_only")]),
                "built_from_sdist": sorted(res.built),
                "unpinned": res.unpinned,
            }
            if not dry_run:
                entry["size"] = sum(r["size"] for r in records)
            if key == "linux":
                glibc_needed = min_glibc([r["file"] for r in records])
                entry["min_glibc"] = glibc_needed
            manifest["platforms"][key] = entry
            log(f"  {key}: {entry['count']} packages" + (f", {entry['size'] / 1e6:.0f} MB" if not dry_run else "")
                + (f"; built here: {', '.join(sorted(res.built))}" if res.built else "")
                + (f"; not in the lock: {res.unpinned}" if res.unpinned else ""))  # fmt: skip
        from sim.app import assets as A

        if dry_run:
            manifest["assets"] = [{"spec": a.spec, "file": a.tarball} for a in A.ASSETS]
        else:
            log("Fetching the front-end assets (npm pack) ...")
            adir = out / "assets"
            for old in adir.glob("*.tgz"):
                if old.name not in {a.tarball for a in A.ASSETS}:
                    old.unlink()
            manifest["assets"] = A.download_assets(adir, verbose=False)
            manifest["assets_size"] = sum(e["size"] for e in manifest["assets"])
            if python_installer is not None:
                (out / "python").mkdir(exist_ok=True)
                shutil.copy2(python_installer, out / "python" / Path(python_installer).name)
            write_scripts(out, glibc_needed, platforms, extras)
        manifest["seconds"] = round(time.monotonic() - t0, 1)
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "dist" / "bundle", help="bundle folder (default: dist/bundle)")
    ap.add_argument("--platform", action="append", choices=sorted(PLATFORMS), help="target platform (repeatable; default: all)")
    ap.add_argument("--extras", default=",".join(DEFAULT_EXTRAS), help="extras of rpb-sim to include (default: app; e.g. app,dask)")
    ap.add_argument("--glibc", default=DEFAULT_GLIBC, help=f"newest glibc a Linux wheel may need (default {DEFAULT_GLIBC})")
    ap.add_argument("--constraints", type=Path, default=ROOT / "constraints.txt")
    ap.add_argument("--python-installer", type=Path, help="python-3.12.x-amd64.exe to ship in python/ for Windows")
    ap.add_argument("--dry-run", action="store_true", help="resolve only: write manifest.json + requirements files, download nothing")
    args = ap.parse_args(argv)
    platforms = args.platform or list(PLATFORMS)
    extras = tuple(e.strip() for e in args.extras.split(",") if e.strip())
    try:
        manifest = build(
            args.out, platforms, extras, dry_run=args.dry_run, glibc=args.glibc,
            constraints=args.constraints, python_installer=args.python_installer,
        )  # fmt: skip
    except BundleError as exc:
        log(f"ERROR: {exc}")
        return 1
    except Exception as exc:  # AssetError from npm, OSError, ...
        if type(exc).__name__ == "AssetError":
            log(f"ERROR: {exc}")
            return 1
        raise
    sizes = ", ".join(f"{k} {v['size'] / 1e6:.0f} MB" for k, v in manifest["platforms"].items() if "size" in v)
    log(f"Bundle {'manifest ' if args.dry_run else ''}written to {args.out} in {manifest['seconds']} s" + (f" ({sizes}, assets {manifest.get('assets_size', 0) / 1e6:.0f} MB)" if sizes else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
