"""Offline front-end assets of the classroom app (sim.app.assets).

* The asset list matches what the installed solara references (parsed from its source), so
  a solara upgrade without updating :data:`sim.app.assets.REQUIRED_ASSETS` fails here.
* The cache layout is the one solara's CDN proxy reads (checked with solara's own
  ``cdn_helper.get_path``, which must find every file without fetching).
* Missing assets without npm give a clear error; solara is configured never to use the CDN.
* With chromium available: a solara page (Markdown with math and a diagram, a matplotlib
  figure, a draggable grid) renders with every request to a non-local host blocked.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import time
from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace

import pytest

from sim.app import assets as A

ROOT = Path(__file__).resolve().parents[1]

_SOLARA_ENV = ("SOLARA_ASSETS_PROXY", "SOLARA_ASSETS_PROXY_CACHE_DIR", "SOLARA_ASSETS_CDN", "SOLARA_TELEMETRY_MIXPANEL_ENABLE", "SOLARA_HOME")


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No solara variables from the caller's environment; restored afterwards."""
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.upper() in _SOLARA_ENV:
            del os.environ[key]
    os.environ["SOLARA_HOME"] = str(tmp_path / "solara-home")
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def cache(tmp_path, clean_env):
    path = tmp_path / "cdn"
    os.environ["SOLARA_ASSETS_PROXY_CACHE_DIR"] = str(path)
    return path


def fake_tarballs(folder: Path, *, drop: dict[str, str] | None = None, top: str = "package") -> Path:
    """npm-pack-like tarballs of every required asset with its files (content = its path)."""
    folder.mkdir(parents=True, exist_ok=True)
    drop = drop or {}
    for asset in A.ASSETS:
        derived = A.DERIVED_FILES.get(asset.spec, {})
        files = [f for f in asset.files if f not in derived and f != drop.get(asset.spec)]
        with tarfile.open(folder / asset.tarball, "w:gz") as tar:
            for f in [*files, "package.json"]:
                data = f"{asset.spec}/{f}".encode()
                info = tarfile.TarInfo(f"{top}/{f}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return folder


# ---------------------------------------------------------------------------
# The list matches solara
# ---------------------------------------------------------------------------


def test_solara_version_is_the_pinned_one():
    assert version("solara") == A.SOLARA_VERSION
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"solara=={A.SOLARA_VERSION}"' in pyproject
    assert version("ipywidgets").split(".")[0] == str(A.IPYWIDGETS_MAJOR)


def test_required_assets_match_solara_source():
    refs = A.solara_references()
    versions: dict[str, dict[str, set[str]]] = {}
    for (name, ver), paths in refs.items():
        versions.setdefault(name, {})[ver] = paths
    # the parser does see the page's own bundle and requirejs
    assert ("@widgetti/solara-vuetify-app", "10.1.1") in refs or "@widgetti/solara-vuetify-app" in versions
    assert "requirejs" in versions

    unknown = set(versions) - {a.name for a in A.ASSETS} - set(A.NOT_NEEDED)
    assert not unknown, f"solara references packages neither required nor excluded: {unknown}"
    for asset in A.ASSETS:
        assert set(versions.get(asset.name, {})) == {asset.version}, (
            f"{asset.name}: solara {A.SOLARA_VERSION} references {sorted(versions.get(asset.name, {}))}, REQUIRED_ASSETS has {asset.version}"
        )
        used = versions[asset.name][asset.version]
        assert used <= set(asset.files), f"{asset.spec}: solara loads {sorted(used - set(asset.files))} not checked by missing_assets"
    assert A.REQUIRED_ASSETS == [a.spec for a in A.ASSETS]
    assert len(set(A.REQUIRED_ASSETS)) == len(A.REQUIRED_ASSETS)


def test_cache_dir_is_the_one_solara_reads(clean_env):
    code = "import solara.server.settings as s, sim.app.assets as a; print(s.assets.proxy_cache_dir); print(a.cache_dir())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ.copy()).stdout.split("\n")
    assert Path(out[0]) == Path(out[1]) == Path(sys.prefix) / "share" / "solara" / "cdn"


def test_cache_dir_honours_the_environment(clean_env, tmp_path):
    os.environ["solara_assets_proxy_cache_dir"] = str(tmp_path / "x")  # solara reads it case-insensitively
    assert A.cache_dir() == tmp_path / "x"


# ---------------------------------------------------------------------------
# Installing into the cache
# ---------------------------------------------------------------------------


def test_install_from_tarballs_gives_solaras_layout(cache, tmp_path, monkeypatch):
    src = fake_tarballs(tmp_path / "src")
    assert A.missing_assets() == A.REQUIRED_ASSETS
    installed = A.install_assets(src, verbose=False)
    assert installed == A.REQUIRED_ASSETS
    assert A.missing_assets() == []

    main_css = cache / "@widgetti" / "solara-vuetify-app@10.1.1" / "dist" / "main8.css"
    assert main_css.read_text() == "@widgetti/solara-vuetify-app@10.1.1/dist/main8.css"
    assert (cache / "requirejs@2.3.6" / "require.min.js").read_bytes() == (cache / "requirejs@2.3.6" / "require.js").read_bytes()
    assert not list(cache.glob(".staging-*"))

    # solara's proxy finds every file in this layout, without going to the CDN
    from solara.server import cdn_helper

    monkeypatch.setattr(cdn_helper, "fetch_from_cdn", lambda url: pytest.fail(f"fetched {url}"))
    for asset in A.ASSETS:
        for f in asset.files:
            assert cdn_helper.get_path(cache, f"{asset.spec}/{f}").read_bytes()

    # a lost file is noticed and only that package is reinstalled
    (cache / "katex@0.16.9" / "dist" / "katex.min.css").unlink()
    assert A.missing_assets() == ["katex@0.16.9"]
    assert A.install_assets(src, verbose=False) == ["katex@0.16.9"]
    assert A.install_assets(src, verbose=False) == []


def test_tarball_layout_other_top_folder(cache, tmp_path):
    src = fake_tarballs(tmp_path / "src", top="node")  # e.g. @types packages use another name
    A.install_assets(src, verbose=False)
    assert A.missing_assets() == []


def test_tarball_without_a_required_file_is_refused(cache, tmp_path):
    src = fake_tarballs(tmp_path / "src", drop={"mermaid@10.8.0": "dist/mermaid.min.js"})
    with pytest.raises(A.AssetError, match="lacks dist/mermaid.min.js"):
        A.install_assets(src, verbose=False)
    assert not (cache / "mermaid@10.8.0").exists()


def test_unsafe_tarball_is_refused(cache, tmp_path):
    src = fake_tarballs(tmp_path / "src")
    asset = A.ASSETS[1]
    with tarfile.open(src / asset.tarball, "w:gz") as tar:
        info = tarfile.TarInfo("package/../../evil.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(A.AssetError, match="unsafe"):
        A.install_assets(src, verbose=False)
    assert not (tmp_path / "evil.txt").exists()


def test_damaged_tarball_is_refused(cache, tmp_path):
    src = fake_tarballs(tmp_path / "src")
    entries = [{"spec": a.spec, "file": a.tarball, "integrity": A._integrity(src / a.tarball)} for a in A.ASSETS]
    entries[0]["integrity"] = "sha512-AAAA"
    (src / "manifest.json").write_text(json.dumps({"assets": entries}))
    with pytest.raises(A.AssetError, match="damaged"):
        A.install_assets(src, verbose=False)


def test_ensure_assets_without_npm_says_how_to_get_them(cache, tmp_path):
    os.environ["PATH"] = str(tmp_path / "no-npm-here")
    assert A._npm() is None
    with pytest.raises(A.AssetError) as err:
        A.ensure_assets(verbose=False)
    msg = str(err.value)
    for needle in ("make bundle", "npm", "install --from", "install.bat", "@widgetti/solara-vuetify-app@10.1.1", str(cache)):
        assert needle in msg
    assert not cache.exists() or not any(cache.iterdir())
    assert "SOLARA_ASSETS_PROXY" not in os.environ  # nothing configured when it fails


def test_ensure_assets_with_everything_present(cache, tmp_path):
    A.install_assets(fake_tarballs(tmp_path / "src"), verbose=False)
    os.environ["PATH"] = str(tmp_path / "no-npm-here")  # not needed when nothing is missing
    assert A.ensure_assets(verbose=False, configure=False) == cache


def test_configure_solara_never_uses_the_cdn(tmp_path):
    environ = {"SOLARA_HOME": str(tmp_path / "home"), "solara_assets_cdn": "https://npm.example.edu.cn/"}
    main = SimpleNamespace(assets=SimpleNamespace(proxy=False, cdn="https://cdn.jsdelivr.net/npm/"))
    server = SimpleNamespace(assets=SimpleNamespace(proxy_cache_dir=Path("/elsewhere")), telemetry=SimpleNamespace(mixpanel_enable=True))
    modules = {"solara.settings": main, "solara.server.settings": server}
    eff = A.configure_solara(tmp_path / "cdn", environ=environ, modules=modules)
    assert environ["SOLARA_ASSETS_PROXY"] == "True"
    assert environ["SOLARA_ASSETS_PROXY_CACHE_DIR"] == str(tmp_path / "cdn")
    assert environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert eff["SOLARA_ASSETS_CDN"] == "https://npm.example.edu.cn/"  # the user's own choice is kept
    assert "SOLARA_ASSETS_CDN" not in environ
    assert main.assets.proxy is True and main.assets.cdn == "https://npm.example.edu.cn/"
    assert server.assets.proxy_cache_dir == tmp_path / "cdn" and server.telemetry.mixpanel_enable is False
    assert (tmp_path / "home" / ".solara_checked").exists()

    environ = {"SOLARA_HOME": str(tmp_path / "home")}
    A.configure_solara(tmp_path / "cdn", environ=environ, modules={})
    assert environ["SOLARA_ASSETS_CDN"] == A.NO_CDN
    assert re.match(r"http://127\.0\.0\.1:\d+/", A.NO_CDN)


def test_command_line(cache, tmp_path, capsys):
    assert A.main(["list"]) == 0
    assert capsys.readouterr().out.split() == A.REQUIRED_ASSETS
    assert A.main(["check"]) == 1
    assert "MISSING" in capsys.readouterr().out
    assert A.main(["--from", str(fake_tarballs(tmp_path / "src")), "-q"]) == 0
    assert A.main(["check"]) == 0
    os.environ["PATH"] = str(tmp_path / "no-npm-here")
    assert A.main(["download", str(tmp_path / "dl")]) == 1
    assert "make bundle" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# The page renders with the internet blocked (needs chromium; real assets)
# ---------------------------------------------------------------------------

PAGE = '''
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import solara

@solara.component
def Page():
    solara.Markdown("# Offline $x^2$\\n\\n```mermaid\\ngraph TD; A-->B;\\n```\\n")
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    solara.FigureMatplotlib(fig)
    solara.GridDraggable(items=[solara.Text("grid item")], grid_layout=[{"x": 0, "y": 0, "w": 4, "h": 2, "i": "0"}])
'''


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


@pytest.mark.slow
def test_page_renders_with_the_internet_blocked(tmp_path, clean_env):
    chromium = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    if chromium is None:
        pytest.skip("no chromium (make sysdeps)")
    real_cache = A.cache_dir()
    if A.missing_assets(real_cache):
        if A._npm() is None:
            pytest.skip("front-end assets not installed and no npm")
        A.install_assets(verbose=False)
    env = os.environ.copy()
    A.configure_solara(real_cache, environ=env, modules={})
    (tmp_path / "page.py").write_text(PAGE)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - closed in finally, after the server
    server = subprocess.Popen(
        [sys.executable, "-m", "solara", "run", str(tmp_path / "page.py"), "--port", str(port), "--host", "127.0.0.1", "--production"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "server.log").read_text()
                assert time.monotonic() < deadline, "solara did not start"
                time.sleep(0.5)
        outside, bad = [], []
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page()

            def route(r):
                url = r.request.url
                if url.startswith((base, "data:", "blob:")):
                    r.continue_()
                else:
                    outside.append(url)
                    r.abort()

            page.route("**/*", route)
            page.on("response", lambda r: bad.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            page.goto(base + "/", timeout=60_000)
            page.wait_for_selector(".katex", timeout=60_000)  # katex (Markdown math)
            page.wait_for_selector(".mermaid svg, svg[id^=mermaid]", timeout=60_000)  # mermaid
            page.wait_for_selector("img", timeout=60_000)  # the matplotlib figure
            page.wait_for_selector(".vue-grid-item", timeout=60_000)  # vue-grid-layout
            browser.close()
        assert outside == [], f"the page asked for non-local hosts: {outside}"
        assert bad == [], f"failed requests: {bad}"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
