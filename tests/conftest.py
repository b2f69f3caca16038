"""Shared fixtures of the RPB-Sim test suite (helpers live in ``tests/helpers.py``)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

# Make ``import helpers`` work whatever pytest's import mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import ALL_PATHS, SMALL_POPULATION, make_model

import sim

# Mesa logs every step at INFO; keep test logs readable.
logging.getLogger("MESA").setLevel(logging.WARNING)


@pytest.fixture
def small_model() -> sim.RegionModel:
    """A freshly built (unstepped) multi-street district."""
    return make_model(SMALL_POPULATION, rng=11)


@pytest.fixture
def classroom_model() -> sim.RegionModel:
    """A freshly built (unstepped) classroom district."""
    return sim.RegionModel(rng=3, population="classroom")


@pytest.fixture
def all_paths_model() -> sim.RegionModel:
    """A classroom district where every item path happens (see helpers.ALL_PATHS)."""
    return make_model(ALL_PATHS, rng=3)
