"""Offline front-end assets of the classroom app (Solara's JavaScript/CSS bundles).

Solara's page does not ship its JavaScript with the Python wheel: the page asks its own
server for ``/_solara/cdn/<package>@<version>/<path>`` and the server answers from a cache
directory, fetching a missing file from a public CDN (``cdn.jsdelivr.net``) and keeping
it.  On a classroom machine without internet the page then stays blank.  This module puts
the exact npm packages that solara |version| references into that cache *before* the
server starts, and tells solara never to use the public CDN:

* :data:`REQUIRED_ASSETS` -- ``package@version`` of every bundle the app's pages load;
  ``tests/test_assets.py`` parses solara's installed source so a solara upgrade without
  updating this list fails.
* :func:`cache_dir` -- the directory solara reads (``$SOLARA_ASSETS_PROXY_CACHE_DIR``, else
  ``<prefix>/share/solara/cdn`` as in ``solara.server.settings``).
* :func:`missing_assets`, :func:`install_assets`, :func:`ensure_assets` -- check and fill
  the cache, from the npm registry (``npm pack``) or from a folder of tarballs (the offline
  bundle's ``assets/``, made by ``make bundle``).
* :func:`configure_solara` -- the solara settings for an offline classroom (assets proxied
  by the app's own server, no CDN, no telemetry), applied by :func:`ensure_assets`.

Cache layout (``solara.server.cdn_helper.get_path``): the URL path below ``/_solara/cdn/``
is the file path below the cache directory, and it is the path of the file inside the npm
package, e.g. ``<cache>/@widgetti/solara-vuetify-app@10.1.1/dist/main8.css`` is
``package/dist/main8.css`` of ``npm pack @widgetti/solara-vuetify-app@10.1.1``.  Files that
jsdelivr generates on the fly but the npm package lacks (``requirejs@2.3.6/require.min.js``)
are derived from the package (:data:`DERIVED_FILES`).

Command line::

    python -m sim.app.assets                  # install what is missing (npm), same as `install`
    python -m sim.app.assets check            # list what is installed / missing; exit 1 if missing
    python -m sim.app.assets install --from DIR   # install from a folder of npm tarballs (offline)
    python -m sim.app.assets --from DIR           # the same
    python -m sim.app.assets download DIR     # npm pack the tarballs into DIR (+ manifest.json)
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.util
import json
import os
import re
import shutil
import site
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ASSETS",
    "DERIVED_FILES",
    "NOT_NEEDED",
    "REQUIRED_ASSETS",
    "SOLARA_VERSION",
    "Asset",
    "AssetError",
    "cache_dir",
    "configure_solara",
    "download_assets",
    "ensure_assets",
    "install_assets",
    "missing_assets",
    "solara_references",
]

#: The solara release the asset list below was read from (pinned in pyproject's ``[app]``).
SOLARA_VERSION = "1.64.1"
#: ipywidgets major version of the lock (solara picks ``main8.css``/``...app8.js`` for it).
IPYWIDGETS_MAJOR = 8

#: Where solara's proxy fetches a file that is not in the cache.  The app points it at a
#: closed local port, so a page never makes the server reach a public host (set the
#: environment variable ``SOLARA_ASSETS_CDN`` yourself to allow it).
NO_CDN = "http://127.0.0.1:9/rpb-sim-offline-no-cdn/"


@dataclass(frozen=True)
class Asset:
    """One npm package solara loads through its CDN proxy."""

    name: str  # npm name, e.g. "@widgetti/solara-vuetify-app"
    version: str  # exact version, as in solara's source
    files: tuple[str, ...]  # paths below the package root that solara's pages request
    why: str

    @property
    def spec(self) -> str:
        """``name@version`` (npm spec, and the cache directory's name)."""
        return f"{self.name}@{self.version}"

    @property
    def tarball(self) -> str:
        """File name ``npm pack`` gives the package (``@scope/name`` -> ``scope-name``)."""
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"


_W = IPYWIDGETS_MAJOR

#: Every npm package the app's pages load, with the files solara requests from it
#: (``solara/server/templates/solara.html.j2``, ``solara/server/settings.py``,
#: ``solara/components/markdown.py``, ``solara/widgets/vue/gridlayout.vue``).
ASSETS: tuple[Asset, ...] = (
    Asset(
        "@widgetti/solara-vuetify-app",
        "10.1.1",
        (
            f"dist/main{_W}.css",
            "dist/fonts.css",
            f"dist/solara-vuetify-app{_W}.min.js",
            f"dist/solara-vuetify-app{_W}.js",
        ),
        "the page itself: Vue 2 + Vuetify 2 + the widget manager (solara.html.j2)",
    ),
    Asset(
        "requirejs",
        "2.3.6",
        ("require.js", "require.min.js"),
        "module loader of the page and of Markdown / GridLayout / Vega widgets",
    ),
    Asset(
        "font-awesome",
        "4.5.0",
        ("css/font-awesome.min.css",),
        "icons (SOLARA_ASSETS_FONTAWESOME_PATH default)",
    ),
    Asset(
        "@widgetti/vue-grid-layout",
        "2.3.13-alpha.2",
        ("dist/vue-grid-layout.umd.js",),
        "solara.GridFixed/GridDraggable (gridlayout.vue)",
    ),
    Asset(
        "mermaid",
        "10.8.0",
        ("dist/mermaid.min.js",),
        "loaded by every solara.Markdown (diagrams)",
    ),
    Asset(
        "katex",
        "0.16.9",
        ("dist/katex.min.js", "dist/katex.min.css", "dist/contrib/auto-render.min.js"),
        "loaded by every solara.Markdown (math)",
    ),
)

#: ``package@version`` of every required bundle (see :data:`ASSETS`).
REQUIRED_ASSETS: list[str] = [a.spec for a in ASSETS]

#: Files jsdelivr serves (it minifies on the fly) that the npm package does not contain:
#: ``{spec: {file: made_from}}``; the file is a copy (un-minified code behaves the same).
DERIVED_FILES: dict[str, dict[str, str]] = {
    "requirejs@2.3.6": {"require.min.js": "require.js"},
}

#: Packages solara's source references that this app does not load, and why.  A package
#: solara references that is in neither list fails ``tests/test_assets.py``.
NOT_NEEDED: dict[str, str] = {
    "@widgetti/solara-vuetify3-app": "Vue 3 / ipyvuetify 3 only (the lock pins ipyvuetify<3)",
    "vega": "solara.FigureAltair only (the app does not use Altair)",
    "vega-lite": "solara.FigureAltair only",
    "vega-embed": "solara.FigureAltair only",
    "echarts": "solara.FigureEcharts only",
    "@widgetti/solara-milkdown": "solara.MarkdownEditor only",
    "codemirror": "solara.SqlCode only",
    "vuetify": "commented out in solara's unused plain.html template",
    "hack-font": "solara's unused plain.html template",
}


class AssetError(RuntimeError):
    """The front-end assets are missing and cannot be installed here."""


def _say(verbose: bool, msg: str) -> None:
    if verbose:
        print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Where solara looks
# ---------------------------------------------------------------------------


def _getenv(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Case-insensitive environment lookup, as solara's settings do."""
    environ = os.environ if environ is None else environ
    upper = name.upper()
    for key, value in environ.items():
        if key.upper() == upper:
            return value
    return None


def _solara_prefix() -> str:
    """The prefix solara.server.settings derives its default cache directory from."""
    try:
        spec = importlib.util.find_spec("solara")
    except (ImportError, ValueError):
        spec = None
    origin = spec.origin if spec is not None else None
    userbase = site.getuserbase()
    if origin and userbase and origin.startswith(userbase):
        return userbase  # solara installed with `pip install --user`
    return sys.prefix


def cache_dir() -> Path:
    """The directory solara's CDN proxy reads (``SOLARA_ASSETS_PROXY_CACHE_DIR``, else
    ``<sys.prefix>/share/solara/cdn``)."""
    env = _getenv("SOLARA_ASSETS_PROXY_CACHE_DIR")
    if env:
        return Path(env)
    return Path(_solara_prefix()) / "share" / "solara" / "cdn"


def _asset_dir(cache: Path, asset: Asset) -> Path:
    return cache.joinpath(*asset.spec.split("/"))


def _required_files(asset: Asset) -> list[str]:
    return list(dict.fromkeys([*asset.files, *DERIVED_FILES.get(asset.spec, {})]))


def missing_assets(cache: Path | None = None) -> list[str]:
    """``package@version`` of the required bundles with a file missing from the cache."""
    cache = cache_dir() if cache is None else Path(cache)
    missing = []
    for asset in ASSETS:
        root = _asset_dir(cache, asset)
        if not all((root / f).is_file() for f in _required_files(asset)):
            missing.append(asset.spec)
    return missing


# ---------------------------------------------------------------------------
# Getting the tarballs: npm pack, or a folder of them
# ---------------------------------------------------------------------------


def _npm() -> str | None:
    """Path of the npm executable (``npm.cmd`` on Windows), or None."""
    return shutil.which("npm")


def _how_to_get_them(missing: Iterable[str]) -> str:
    names = ", ".join(missing)
    return (
        f"The classroom app needs front-end files that are not installed: {names}\n"
        f"(cache directory: {cache_dir()}).\n"
        "Get them in one of these ways:\n"
        "  * On a machine with internet run `make bundle`, copy dist/bundle/ to this machine and\n"
        "    run install.bat (Windows) or install.sh (Linux) -- or only its assets/ folder:\n"
        "        python -m sim.app.assets install --from <bundle>/assets\n"
        "  * Or install Node.js (it brings npm) and, while connected to the internet (or to an\n"
        "    npm mirror: npm config set registry <url>), run:  python -m sim.app.assets install\n"
        "See docs/offline.md.\n"
        "课堂应用缺少前端文件。请在联网电脑上运行 `make bundle`，把 dist/bundle/ 拷到本机后运行\n"
        "install.bat（Windows）或 install.sh（Linux）；或安装 Node.js (npm) 后联网运行\n"
        "`python -m sim.app.assets install`。详见 docs/offline.md。"
    )


def _integrity(path: Path) -> str:
    """npm's ``integrity`` string (``sha512-<base64>``) of a file."""
    digest = hashlib.sha512(path.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode("ascii")


def download_assets(dest: Path | str, specs: Iterable[str] | None = None, verbose: bool = True) -> list[dict]:
    """``npm pack`` the given (default: all required) bundles into ``dest``.

    Writes ``dest/manifest.json`` (name, version, file, npm integrity, size) so an install
    from ``dest`` verifies the tarballs.  Raises :class:`AssetError` when npm is missing or
    fails.
    """
    dest = Path(dest)
    specs = list(REQUIRED_ASSETS if specs is None else specs)
    npm = _npm()
    if npm is None:
        raise AssetError("npm (Node.js) is not installed, so the front-end assets cannot be downloaded.\n" + _how_to_get_them(specs))
    dest.mkdir(parents=True, exist_ok=True)
    _say(verbose, f"npm pack {' '.join(specs)}")
    # --prefer-offline: a package already in npm's cache needs no network; bounded retries,
    # so a machine without internet fails within minutes rather than hanging
    cmd = [npm, "pack", "--json", "--ignore-scripts", "--prefer-offline", "--fetch-retries=1", "--fetch-timeout=120000",
           "--pack-destination", str(dest), *specs]  # fmt: skip
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AssetError(f"`npm pack` could not run: {exc}\n" + _how_to_get_them(specs)) from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise AssetError(f"`npm pack` failed (exit {proc.returncode}):\n{tail}\n" + _how_to_get_them(specs))
    by_spec = {a.spec: a for a in ASSETS}
    entries = []
    for spec in specs:
        asset = by_spec.get(spec)
        name, _, version = spec.rpartition("@")
        tarball = asset.tarball if asset else f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
        path = dest / tarball
        if not path.is_file():
            raise AssetError(f"`npm pack {spec}` did not write {path}")
        entries.append(
            {"name": name, "version": version, "spec": spec, "file": tarball, "integrity": _integrity(path), "size": path.stat().st_size}
        )
    # cross-check npm's own integrity (it verified the tarball against the registry's)
    try:
        reported = {f"{e['name']}@{e['version']}": e.get("integrity") for e in json.loads(proc.stdout)}
    except (ValueError, TypeError, KeyError):
        reported = {}
    for entry in entries:
        npm_integrity = reported.get(entry["spec"])
        if npm_integrity and npm_integrity != entry["integrity"]:
            raise AssetError(f"{entry['file']}: integrity differs from npm's ({npm_integrity})")
    manifest = dest / "manifest.json"
    old = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else {}
    merged = {e["spec"]: e for e in old.get("assets", [])}
    merged.update({e["spec"]: e for e in entries})
    manifest.write_text(
        json.dumps({"solara": SOLARA_VERSION, "assets": list(merged.values())}, indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    return entries


def _tarball_in(source: Path, asset: Asset) -> Path:
    path = source / asset.tarball
    if not path.is_file():
        # also accept the layout of npm's cache-less `npm pack` in a subfolder, or a renamed file
        candidates = sorted(source.glob(f"**/{asset.tarball}"))
        if not candidates:
            raise AssetError(f"{asset.tarball} (npm pack {asset.spec}) is not in {source}.\n" + _how_to_get_them([asset.spec]))
        path = candidates[0]
    manifest = source / "manifest.json"
    if manifest.is_file():
        known = {e.get("spec"): e for e in json.loads(manifest.read_text(encoding="utf-8")).get("assets", [])}
        entry = known.get(asset.spec)
        if entry and entry.get("integrity") and entry["integrity"] != _integrity(path):
            raise AssetError(f"{path} is damaged (its checksum differs from {manifest}); copy the bundle again.")
    return path


# ---------------------------------------------------------------------------
# Unpacking into the cache
# ---------------------------------------------------------------------------


def _extract(tarball: Path, asset: Asset, cache: Path) -> Path:
    """Unpack ``tarball``'s package folder as ``<cache>/<name>@<version>/`` (replacing it)."""
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=cache))
    try:
        with tarfile.open(tarball, "r:*") as tar:
            try:
                tar.extractall(staging, filter="data")  # refuses absolute paths, "..", devices, links out
            except tarfile.FilterError as exc:
                raise AssetError(f"{tarball}: unsafe member refused ({exc})") from exc
        tops = [p for p in staging.iterdir()]
        if len(tops) != 1 or not tops[0].is_dir():
            raise AssetError(f"{tarball}: expected one top folder (npm's 'package/'), found {[p.name for p in tops]}")
        root = tops[0]
        for made, source in DERIVED_FILES.get(asset.spec, {}).items():
            if (root / source).is_file() and not (root / made).exists():
                shutil.copyfile(root / source, root / made)
        lacking = [f for f in _required_files(asset) if not (root / f).is_file()]
        if lacking:
            raise AssetError(f"{tarball} is not {asset.spec}: it lacks {', '.join(lacking)}")
        final = _asset_dir(cache, asset)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            old = staging / ".old"
            os.replace(final, old)
        os.replace(root, final)
        return final
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def install_assets(
    source: Path | str | None = None,
    verbose: bool = True,
    *,
    cache: Path | str | None = None,
    force: bool = False,
) -> list[str]:
    """Install the missing (``force``: all) bundles into the cache; returns their specs.

    ``source``: a folder of ``npm pack`` tarballs (the offline bundle's ``assets/``);
    ``None``: fetch them with ``npm pack`` (needs npm and the npm registry or a mirror).
    """
    cache = cache_dir() if cache is None else Path(cache)
    wanted = REQUIRED_ASSETS if force else missing_assets(cache)
    if not wanted:
        _say(verbose, f"Front-end assets: all {len(REQUIRED_ASSETS)} present in {cache}")
        return []
    by_spec = {a.spec: a for a in ASSETS}
    with tempfile.TemporaryDirectory(prefix="rpb-assets-") as tmp:
        if source is None:
            download_assets(Path(tmp), wanted, verbose=verbose)
            folder = Path(tmp)
        else:
            folder = Path(source)
            if not folder.is_dir():
                raise AssetError(f"{folder} is not a folder of npm tarballs.\n" + _how_to_get_them(wanted))
        for spec in wanted:
            asset = by_spec[spec]
            tarball = _tarball_in(folder, asset)
            where = _extract(tarball, asset, cache)
            _say(verbose, f"  installed {spec} -> {where}")
    still = missing_assets(cache)
    if still:
        raise AssetError("Still missing after install: " + ", ".join(still))
    return list(wanted)


# ---------------------------------------------------------------------------
# Solara settings for an offline classroom
# ---------------------------------------------------------------------------


def _solara_home(environ: Mapping[str, str]) -> Path | None:
    home = _getenv("SOLARA_HOME", environ)
    if home:
        return Path(home)
    try:
        return Path.home() / ".solara"
    except (RuntimeError, KeyError):
        return None


def configure_solara(
    cache: Path | str | None = None,
    *,
    environ: MutableMapping[str, str] | None = None,
    modules: Mapping[str, object] | None = None,
) -> dict[str, str]:
    """Tell solara to serve the assets from ``cache`` through the app's own server.

    Sets (only where the user has not set them) the environment variables solara reads
    when it is imported, and updates solara's settings objects when it already is:

    * ``SOLARA_ASSETS_PROXY=True`` -- the page loads ``/_solara/cdn/...`` from the app's
      server (never ``cdn.jsdelivr.net``), also under VS Code / Voila where solara would
      otherwise switch the proxy off;
    * ``SOLARA_ASSETS_PROXY_CACHE_DIR=<cache>`` -- where :func:`install_assets` put them;
    * ``SOLARA_ASSETS_CDN=`` a closed local port -- a file missing from the cache fails at
      once instead of the server reaching for the internet;
    * ``SOLARA_TELEMETRY_MIXPANEL_ENABLE=False`` -- no usage reports to api.mixpanel.com.

    It also marks solara's one-time "installation check" (a hidden iframe to solara.dev in
    development mode) as done.  Returns the settings in effect.
    """
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    cache = cache_dir() if cache is None else Path(cache)
    wanted = {
        "SOLARA_ASSETS_PROXY": "True",
        "SOLARA_ASSETS_PROXY_CACHE_DIR": str(cache),
        "SOLARA_ASSETS_CDN": NO_CDN,
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    }
    effective = {}
    for key, value in wanted.items():
        current = _getenv(key, environ)
        if current is None:
            environ[key] = value
            current = value
        effective[key] = current

    # solara already imported: its settings were read at import time, update them
    main = modules.get("solara.settings")
    if main is not None and hasattr(main, "assets"):
        main.assets.proxy = effective["SOLARA_ASSETS_PROXY"] in ("True", "true", "1")
        main.assets.cdn = effective["SOLARA_ASSETS_CDN"]
    server = modules.get("solara.server.settings")
    if server is not None:
        if hasattr(server, "assets"):
            server.assets.proxy_cache_dir = Path(effective["SOLARA_ASSETS_PROXY_CACHE_DIR"])
        if hasattr(server, "telemetry"):
            server.telemetry.mixpanel_enable = effective["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] in ("True", "true", "1")

    home = _solara_home(environ)
    if home is not None:
        try:
            home.mkdir(parents=True, exist_ok=True)
            flag = home / ".solara_checked"
            if not flag.exists():
                flag.write_text("")
        except OSError:
            pass  # read-only home: the hidden check iframe just fails offline
    return effective


def ensure_assets(verbose: bool = True, *, configure: bool = True) -> Path:
    """Install the missing front-end assets (if any) and configure solara; returns the cache.

    Call before the solara server is imported/started.  Raises :class:`AssetError` (with
    instructions) when assets are missing and npm is not available to fetch them.
    """
    cache = cache_dir()
    missing = missing_assets(cache)
    if missing:
        if _npm() is None:
            raise AssetError(_how_to_get_them(missing))
        _say(verbose, f"Installing {len(missing)} front-end asset(s) into {cache} (once) ...")
        install_assets(verbose=verbose, cache=cache)
    if configure:
        configure_solara(cache)
    return cache


# ---------------------------------------------------------------------------
# What solara's source references (for the test and `check`)
# ---------------------------------------------------------------------------

# `{{cdn}}/pkg@ver/path`, `${this.getCdn()}/pkg@ver/path`, fontawesome_path "/pkg@ver/path"
_REF = re.compile(
    r"(?:\}\}|\}|fontawesome_path:\s*str\s*=\s*\"|//cdn\.jsdelivr\.net/npm)/"
    r"(?P<name>(?:@[\w.-]+/)?[\w.-]+)@(?P<version>[^/\s\"'`]+)/(?P<path>[^\s\"'`)]+)"
)


def solara_references(root: Path | str | None = None) -> dict[tuple[str, str], set[str]]:
    """``{(package, version): {paths}}`` that solara's installed source loads via its CDN.

    ``{{ipywidget_major_version}}`` is read as :data:`IPYWIDGETS_MAJOR`; versions that are
    template variables (``echarts@${version}``) come back as they are written.
    """
    if root is None:
        spec = importlib.util.find_spec("solara")
        if spec is None or not spec.submodule_search_locations:
            raise AssetError("solara is not installed")
        root = Path(next(iter(spec.submodule_search_locations)))
    root = Path(root)
    refs: dict[tuple[str, str], set[str]] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).parts
        if path.suffix not in {".py", ".vue", ".j2", ".html", ".js"} or rel[0] in {"website", "test", "__pycache__"}:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        text = text.replace("{{ipywidget_major_version}}", str(IPYWIDGETS_MAJOR))
        for m in _REF.finditer(text):
            refs.setdefault((m["name"], m["version"]), set()).add(m["path"])
    return refs


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def _check(verbose: bool = True) -> int:
    cache = cache_dir()
    missing = set(missing_assets(cache))
    print(f"cache directory: {cache}")
    for asset in ASSETS:
        state = "MISSING" if asset.spec in missing else "ok"
        print(f"  {state:8} {asset.spec:45} {asset.why}")
    try:
        from importlib.metadata import version

        installed = version("solara")
    except Exception:  # noqa: BLE001 - solara absent: only the cache is checked
        installed = None
    if installed and installed != SOLARA_VERSION:
        print(f"WARNING: solara {installed} is installed; this list was made for solara {SOLARA_VERSION}")
    if missing:
        print(f"{len(missing)} missing: run `python -m sim.app.assets install` (npm) or `... install --from <bundle>/assets`")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sim.app.assets",
        description="Install / check the classroom app's offline front-end assets (Solara's JavaScript bundles).",
    )
    parser.add_argument(
        "command",
        nargs="?",
        default="install",
        choices=["install", "check", "download", "list"],
        help="install (default): fill the cache; check: report, exit 1 if missing; "
        "download DIR: npm pack the tarballs into DIR; list: print the package@version list",
    )
    parser.add_argument("dir", nargs="?", help="target folder of `download`")
    parser.add_argument("--from", dest="source", metavar="DIR", help="install from a folder of npm tarballs (offline bundle's assets/)")
    parser.add_argument("--force", action="store_true", help="reinstall even what is present")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)
    verbose = not args.quiet
    try:
        if args.command == "list":
            print("\n".join(REQUIRED_ASSETS))
            return 0
        if args.command == "check":
            return _check()
        if args.command == "download":
            if not args.dir:
                parser.error("download needs a target folder")
            download_assets(args.dir, verbose=verbose)
            return 0
        if args.dir:
            parser.error(f"unexpected argument {args.dir!r} (use --from DIR)")
        install_assets(args.source, verbose=verbose, force=args.force)
        _say(verbose, f"Front-end assets ready in {cache_dir()}")
        return 0
    except AssetError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
