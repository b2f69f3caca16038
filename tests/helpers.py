"""Helpers shared by the test modules (imported as ``from helpers import ...``).

Tests run on tiny districts (the ``classroom`` preset or smaller custom populations) for a few
steps. They assert invariants, exact book-keeping and directions in constructed extreme
situations, never calibrated outcomes: behavioural defaults are tuned elsewhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import sim
from sim.config import DETERMINISTIC

#: A small district with several streets (multi-street structure, still fast to build).
SMALL_POPULATION = {
    "population.n_streets": 3,
    "population.communities_per_street": 3,
    "population.residents_per_community": 40,
    "population.units_per_street": 5,
    "population.two_new_per_street": 6,
}

#: A classroom district where every item path happens within ~60 steps: expiry (short
#: max_age), outsourcing, the responsibility list, negotiated assignment with flow-back, and
#: push-down (one assignment attempt only, a street swamped by administrative tasks).
ALL_PATHS = {
    "population": "classroom",
    "items.max_age": 6,
    "market.outsourcing": 0.4,
    "empowerment.responsibility_list": 0.5,
    "items.max_assign_attempts": 1,
    "population.street_staff": 1,
    "admin.burden": 1.0,
}

#: An empty district: no resident units and no two-new organisations.
EMPTY_DISTRICT = {
    "population": "classroom",
    "population.units_per_street": 0,
    "population.two_new_per_street": 0,
}


#: Identical streets and communities (every structural spread at 0): the textbook layout, where
#: node counts are exact products of the per-street sizes (add to a population's overrides).
UNIFORM_STREETS = {k: v for k, v in DETERMINISTIC.items() if k.startswith("population.")}


def switched_on(share: float, n: int) -> int:
    """How many of a street's n members a lever share (fixed contact, cadre exchange) switches
    on: those whose within-street quantile (r + ½)/n, r their rank in the order drawn at build,
    lies below the share — share·n rounded to the nearest integer per street, halves down."""
    return sum((r + 0.5) / n < share for r in range(n))


def switched_on_by_street(share: float, street: np.ndarray, n_streets: int) -> np.ndarray:
    """(S,) members switched on in each street by a district-wide lever share."""
    sizes = np.bincount(street, minlength=n_streets)
    return np.array([switched_on(share, int(n)) for n in sizes], dtype=np.int64)


def kwargs(overrides: dict) -> dict:
    """Dotted overrides → RegionModel keyword parameters (``admin.burden`` → ``admin__burden``)."""
    return {k.replace(".", "__"): v for k, v in overrides.items()}


def make_model(overrides: dict | None = None, rng: int = 0, **params) -> sim.RegionModel:
    """A RegionModel from dotted overrides plus keyword parameters."""
    return sim.RegionModel(rng=rng, **kwargs(overrides or {}), **params)


def stepped(model: sim.RegionModel, n: int) -> sim.RegionModel:
    """Step ``model`` n times and return it."""
    for _ in range(n):
        model.step()
    return model


def assert_run_results_equal(a, b) -> None:
    """Two RunResults are identical in every table."""
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries)
    assert a.summary.keys() == b.summary.keys()
    for key, x in a.summary.items():  # NaN (a missing rate) equals NaN here
        y = b.summary[key]
        assert x == y or (x != x and y != y), (key, x, y)
    for name in ("items", "handoffs", "streets", "by_street"):
        x, y = getattr(a, name), getattr(b, name)
        if x is None or y is None:
            assert x is None and y is None, name
        else:
            pd.testing.assert_frame_equal(x, y)


def graph_signature(G):
    """Nodes and edges of a graph with all their attributes, in a canonical order."""
    def attrs(d):
        return tuple(sorted((k, tuple(sorted(v)) if isinstance(v, frozenset) else v)
                            for k, v in d.items()))

    nodes = sorted((n, attrs(d)) for n, d in G.nodes(data=True))
    edges = sorted((min(u, v), max(u, v), attrs(d)) for u, v, d in G.edges(data=True))
    return nodes, edges
