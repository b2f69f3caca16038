"""``python -m sim.app [--host 127.0.0.1] [--port 8765] [--lang zh|en]``: serve the classroom
page with Solara, offline.

Binds to 127.0.0.1 unless ``--host`` says otherwise. Before the server starts, the Solara
front-end assets are made available offline (:func:`sim.app.assets.ensure_assets`), and
Solara's telemetry and version check are switched off, so the page makes no request beyond
the server.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from ..labels import LANGS


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m sim.app",
                                description="RPB-Sim classroom app (区域化党建仿真课堂).")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only; "
                        "0.0.0.0 serves the classroom network)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free port)")
    p.add_argument("--lang", choices=LANGS, default="zh", help="first language of the page")
    p.add_argument("--no-assets", action="store_true",
                   help="skip the offline front-end asset check")
    return p.parse_args(argv)


def server_env(lang: str) -> dict[str, str]:
    """Environment the Solara server needs (set before solara is imported)."""
    return {"RPB_APP_LANG": lang, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}


def _warm_up(lang: str) -> None:
    """Before the server starts: import the page (Solara would import it on the first visit),
    build the first visitor's model and draw its week-0 pictures, so the first page appears
    without waiting for imports, font loading or drawing."""
    try:
        from .frames import charts_png, district_png
        from .page import Page  # noqa: F401 - Solara imports it on the first visit otherwise
        from .session import prebuild

        s = prebuild()  # the first visitor's model, and its week-0 pictures (cached)
        charts_png(s, lang)
        district_png(s, lang)
    except Exception as e:  # noqa: BLE001 - a warm-up must never stop the server
        print(f"sim.app: warm-up skipped ({e})", file=sys.stderr)


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.update(server_env(args.lang))
    if not args.no_assets:
        try:
            from .assets import ensure_assets
        except ImportError:
            print("sim.app: sim/app/assets.py not available; front-end assets are not checked "
                  "(the page may need the internet on first use)", file=sys.stderr)
        else:
            try:
                ensure_assets(verbose=True)
            except Exception as e:  # noqa: BLE001 - report and serve anyway
                print(f"sim.app: offline assets not ready: {e}", file=sys.stderr)
    try:
        from solara.__main__ import cli
    except ImportError:
        print('sim.app needs the app extra: pip install "rpb-sim[app]"', file=sys.stderr)
        return 2
    # http on a classroom network: Solara's note about SameSite cookies needing https is noise
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
    _warm_up(args.lang)
    host = "localhost" if args.host in ("127.0.0.1", "localhost") else args.host
    print(f"RPB-Sim classroom app: http://{host}:{args.port}/  (Ctrl+C to stop)", flush=True)
    cli(["run", "sim.app.page", "--host", args.host, "--port", str(args.port), "--production",
         "--no-open", "--no-check-version", "--no-access-log", "--log-level", "warning",
         "--theme-loader", "plain"],
        standalone_mode=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
