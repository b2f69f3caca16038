"""The district view: streets, conferences, communities, units and organisations as a graph.

The layout is computed once per built model, in closed form (no force-directed layout):
streets on a ring, each street's communities around it, units and organisations around
their community. Residents are not drawn one by one: each community's marker grows with its
residents. Communities are coloured by their residents' mean satisfaction; units and
two-new organisations are filled when they take part this week (hollow when not). Ties of
the policy layers (fixed contact, cadre exchange) and service ties formed by resolved items
are drawn from the model's graph (:attr:`sim.network.World.org_graph`, never the resident
graph). An item's story can be overlaid as arrows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..labels import actor_label, metric_label, t

__all__ = ["DistrictLayout", "district_figure", "district_layout"]


@dataclass
class DistrictLayout:
    pos: dict[int, tuple[float, float]]   # node -> (x, y) for every organisational node
    provider: tuple[float, float]         # where an outside provider is drawn
    community_size: np.ndarray            # (C,) residents per community


def _ring(center, radius, n, phase=0.0):
    cx, cy = center
    return [(cx + radius * math.cos(phase + 2 * math.pi * i / max(n, 1)),
             cy + radius * math.sin(phase + 2 * math.pi * i / max(n, 1))) for i in range(n)]


def district_layout(model) -> DistrictLayout:
    """Closed-form positions of the organisational nodes (cheap; call once per build)."""
    L, w = model.layout, model.world
    S = L.n_streets
    pos: dict[int, tuple[float, float]] = {L.district: (0.0, 0.0)}
    per_street = np.bincount(w.community_street, minlength=S)
    r_comm = 0.7 if S == 1 else 0.5
    # streets on a ring wide enough that neighbouring clusters do not touch
    r_street = 0.0 if S == 1 else max(1.3, 1.25 * (r_comm * 1.5) / math.sin(math.pi / S))
    street_xy = [(0.0, 0.0)] if S == 1 else _ring((0.0, 0.0), r_street, S, math.pi / 2)
    members: dict[int, list[int]] = {}
    for j, c in enumerate(w.unit_community.tolist()):
        members.setdefault(c, []).append(L.unit0 + j)
    for k, c in enumerate(w.two_new_community.tolist()):
        members.setdefault(c, []).append(L.two_new0 + k)
    for s in range(S):
        sx, sy = street_xy[s]
        pos[L.street0 + s] = (sx, sy)
        # the conference sits beside its street, towards the district centre (or above)
        if S == 1:
            pos[L.conference0 + s] = (sx, sy + 0.22)
        else:
            pos[L.conference0 + s] = (sx, sy + 0.16)
        comms = np.flatnonzero(w.community_street == s)
        phase = math.atan2(sy, sx) if S > 1 else -math.pi / 2
        for (x, y), c in zip(_ring((sx, sy), r_comm, per_street[s], phase), comms.tolist()):
            pos[L.community0 + c] = (x, y)
    for c, nodes in members.items():
        cx, cy = pos[L.community0 + c]
        r = (0.24 if S == 1 else r_comm * 0.36)
        for (x, y), node in zip(_ring((cx, cy), r, len(nodes), 0.3), nodes):
            pos[node] = (x, y)
    xs = [p[0] for p in pos.values()]
    provider = (max(xs) + 0.35, min(p[1] for p in pos.values()))
    size = np.bincount(w.resident_community, minlength=L.n_communities).astype(float)
    return DistrictLayout(pos, provider, size)


_COLOURS = {"street": "#b2182b", "conference": "#762a83", "district": "#444444",
            "unit": "#2166ac", "two_new": "#e08214", "path": "#d6004c"}


def district_figure(model, layout: DistrictLayout, lang: str, projector: bool = False,
                    story_hops: list[tuple[int, int]] | None = None, title: str | None = None) -> Figure:
    """The district view as a matplotlib figure (labels in ``lang``)."""
    L, w = model.layout, model.world
    G = w.org_graph
    scale = 1.5 if projector else 1.0
    fig = Figure(figsize=(7.2, 7.0))
    ax = fig.add_axes((0.01, 0.22, 0.84, 0.74))
    cax = fig.add_axes((0.88, 0.36, 0.025, 0.5))
    ax.set_aspect("equal")
    ax.axis("off")
    P = layout.pos
    # ties: hierarchy (street–community), jurisdiction (member–community), policy layers
    # (fixed contact, cadre exchange), service ties formed by resolved items
    styles = {"hierarchy": ("#999999", 1.2, "-"), "jurisdiction": ("#cccccc", 0.7, "-"),
              "fixed_contact": (_COLOURS["two_new"], 0.9, "--"),
              "cadre_exchange": (_COLOURS["unit"], 0.9, "--"),
              "service": ("#7fbf7b", 0.6, "-")}
    segments: dict[str, list] = {k: [] for k in styles}
    for u, v, layers in G.edges(data="layers"):
        if u == L.district or v == L.district or u not in P or v not in P:
            continue
        for layer in ("service", "fixed_contact", "cadre_exchange", "hierarchy", "jurisdiction"):
            if layer in layers:
                segments[layer].append((P[u], P[v]))
                break
    for layer, segs in segments.items():
        if segs:
            colour, lw, ls = styles[layer]
            ax.add_collection(LineCollection(
                segs, colors=colour, linewidths=lw * scale, linestyles=ls,
                zorder=0 if layer == "service" else 1, alpha=0.6 if layer == "service" else 1.0))
    for s in range(L.n_streets):
        a, b = P[L.street0 + s], P[L.conference0 + s]
        ax.plot([a[0], b[0]], [a[1], b[1]], color="#999999", lw=1.2 * scale, zorder=1)

    # communities: size ∝ residents, colour = mean satisfaction
    C = L.n_communities
    cxy = np.array([P[L.community0 + c] for c in range(C)])
    sat = model.satisfaction_by_community()
    big = layout.community_size.max() or 1.0
    top = 1400.0 if C <= 6 else 420.0
    sizes = (top / 6 + top * layout.community_size / big) * scale
    sc = ax.scatter(cxy[:, 0], cxy[:, 1], s=sizes, c=sat, cmap="RdYlGn", vmin=0.0, vmax=1.0,
                    edgecolors="#333333", linewidths=1.0 * scale, zorder=3)
    cb = fig.colorbar(sc, cax=cax)
    cb.set_label(metric_label("satisfaction", lang), fontsize=12 if projector else 10)
    cb.ax.tick_params(labelsize=11 if projector else 9)
    # units (squares) and organisations (triangles): filled when taking part
    for kind, start, n, marker, part in (
            ("unit", L.unit0, L.n_units, "s", model.state["units"].participating),
            ("two_new", L.two_new0, L.n_two_new, "^", model.state["two_new"].participating)):
        if n == 0:
            continue
        xy = np.array([P[start + i] for i in range(n)])
        colour = _COLOURS[kind]
        face = np.where(part, colour, "white")
        ax.scatter(xy[:, 0], xy[:, 1], s=70 * scale, marker=marker, c=list(face),
                   edgecolors=colour, linewidths=1.4 * scale, zorder=4)
    sxy = np.array([P[L.street0 + s] for s in range(L.n_streets)])
    ax.scatter(sxy[:, 0], sxy[:, 1], s=(320 if L.n_streets == 1 else 170) * scale, marker="D", c=_COLOURS["street"],
               edgecolors="black", zorder=5)
    kxy = np.array([P[L.conference0 + s] for s in range(L.n_streets)])
    ax.scatter(kxy[:, 0], kxy[:, 1], s=(260 if L.n_streets == 1 else 150) * scale, marker="*", c=_COLOURS["conference"],
               edgecolors="black", zorder=5)

    if story_hops:
        where = lambda n: layout.provider if n < 0 else P.get(int(n))
        if any(n < 0 for hop in story_hops for n in hop):
            ax.scatter(*layout.provider, s=160 * scale, marker="P", c="#555555", zorder=5)
        for a, b in dict.fromkeys(story_hops):
            pa, pb = where(a), where(b)
            if pa is None or pb is None or pa == pb:
                continue
            ax.annotate("", xy=pb, xytext=pa, zorder=6,
                        arrowprops={"arrowstyle": "-|>", "color": _COLOURS["path"],
                                    "lw": 2.2 * scale, "shrinkA": 7, "shrinkB": 7,
                                    "connectionstyle": "arc3,rad=0.18"})

    handles = [
        Line2D([], [], ls="", marker="D", color=_COLOURS["street"], markersize=9,
               label=actor_label("street", lang)),
        Line2D([], [], ls="", marker="*", color=_COLOURS["conference"], markersize=11,
               label=actor_label("conference", lang)),
        Line2D([], [], ls="", marker="o", color="#91cf60", markeredgecolor="#333333",
               markersize=10, label=t("ui.app_legend_community", lang)),
        Line2D([], [], ls="", marker="s", color=_COLOURS["unit"], markersize=8,
               label=actor_label("unit", lang)),
        Line2D([], [], ls="", marker="^", color=_COLOURS["two_new"], markersize=8,
               label=actor_label("two_new", lang)),
        Line2D([], [], ls="", marker="s", markerfacecolor="white", color="#555555",
               markersize=8, label=t("ui.app_legend_not_taking_part", lang)),
        Line2D([], [], color="#7fbf7b", lw=1.2, label=t("ui.app_legend_service", lang)),
        Line2D([], [], color="#777777", lw=0.9, ls="--", label=t("ui.app_legend_contact", lang)),
    ]
    if story_hops:
        handles.append(Line2D([], [], color=_COLOURS["path"], lw=2.2,
                              label=t("ui.app_legend_story", lang)))
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=2,
               frameon=False, fontsize=11 if projector else 9.5)
    if title:
        ax.set_title(title)
    ax.margins(0.08)
    return fig
