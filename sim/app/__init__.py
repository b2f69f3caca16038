"""The classroom app of RPB-Sim (Solara): ``python -m sim.app`` or, in Jupyter,
``from sim.app import Page; Page()``.

See ``docs/app.md``. Needs the ``[app]`` extra (``pip install "rpb-sim[app]"``). Importing
this package is cheap: Solara is imported only when :func:`Page` is first used.
"""

from __future__ import annotations

__all__ = ["Page", "Session"]


def __getattr__(name):
    if name == "Page":
        from .page import Page

        return Page
    if name == "Session":
        from .session import Session

        return Session
    raise AttributeError(f"module 'sim.app' has no attribute {name!r}")
