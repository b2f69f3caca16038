"""The district's structure: one row per street, drawn from the schema's distributions or read
from a CSV file, plus each community's size.

Streets differ in size (residents per community, units and organisations scale with a
log-normal size factor of mean 1), in their share of higher-rank units (Beta around
``population.share_units_higher_rank``), in two-new density and in staff. With every spread at
0 all streets are identical, as in a textbook district. A CSV (``population.streets_csv``)
describes a real district instead: columns ``communities``, ``residents``,
``units_higher_rank``, ``units_lower_rank``, ``two_new`` and optionally ``street_staff``; one
row per street.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import ConfigError

__all__ = ["CSV_COLUMNS", "DistrictStructure", "draw_structure", "lognormal_factor", "read_streets_csv"]

CSV_COLUMNS = ("communities", "residents", "units_higher_rank", "units_lower_rank", "two_new")


def lognormal_factor(cv: float, size, rng: np.random.Generator) -> np.ndarray:
    """Log-normal factors with mean 1 and coefficient of variation ``cv`` (1 when cv = 0)."""
    if cv <= 0:
        return np.ones(size)
    s2 = np.log1p(cv * cv)
    return np.exp(rng.normal(-0.5 * s2, np.sqrt(s2), size))


def beta_around(mean: float, sd: float, size, rng: np.random.Generator) -> np.ndarray:
    """Beta draws with the given mean and s.d. (the mean itself when sd = 0 or mean ∈ {0, 1}).

    An s.d. or a distance of the mean from 0 or 1 below ``1e-12`` counts as 0: the beta
    parameters would underflow there (division by zero, NaN, or a shape ≤ 0)."""
    tiny = 1e-12
    if sd <= tiny or mean <= tiny or mean >= 1 - tiny:
        return np.full(size, float(mean))
    var = min(sd * sd, 0.95 * mean * (1 - mean))
    k = mean * (1 - mean) / var - 1
    return rng.beta(mean * k, (1 - mean) * k, size)


class DistrictStructure:
    """Per-street structure (the ``streets`` table) and per-community sizes.

    Args:
        streets: the table, one row per street: a DataFrame, or its columns as a dict of
            numpy arrays, made a DataFrame only when :attr:`streets` is first read (a run
            reads the columns; the table is for output, and a fresh process's first pandas
            table with text column names costs more than building the whole district).
        community_size: (C,) residents of each community.
    """

    def __init__(self, streets, community_size: np.ndarray):
        self._table = streets if isinstance(streets, pd.DataFrame) else None
        self._columns = None if self._table is not None else dict(streets)
        self.community_size = community_size

    @property
    def streets(self) -> pd.DataFrame:
        """The streets table (one row per street)."""
        if self._table is None:
            self._table = pd.DataFrame(self._columns)
        return self._table

    def column(self, name: str) -> np.ndarray:
        """One column of the streets table as a numpy array."""
        if self._columns is not None:
            return self._columns[name]
        return self._table[name].to_numpy()

    @property
    def n_streets(self) -> int:
        return len(self.column("communities"))


def _split_residents(total: np.ndarray, communities: np.ndarray, cv: float,
                     rng: np.random.Generator) -> np.ndarray:
    sizes = []
    for tot, n in zip(total.tolist(), communities.tolist()):
        w = lognormal_factor(cv, n, rng)
        s = np.maximum(np.round(tot * w / w.sum()), 10).astype(np.int64)
        sizes.append(s)
    return np.concatenate(sizes) if sizes else np.zeros(0, np.int64)


def draw_structure(cfg, rng: np.random.Generator) -> DistrictStructure:
    """The district's streets and community sizes from the config (or its CSV)."""
    pop = cfg.population
    if pop.streets_csv:
        table = read_streets_csv(pop.streets_csv, pop.street_staff)
        sizes = _split_residents(table["residents"].to_numpy(float),
                                 table["communities"].to_numpy(), pop.community_size_spread, rng)
        table["residents"] = np.add.reduceat(sizes, np.r_[0, np.cumsum(table["communities"])[:-1]])
        table["size_factor"] = np.nan
        return DistrictStructure(table, sizes)
    S = pop.n_streets
    size = lognormal_factor(pop.street_size_spread, S, rng)
    density = lognormal_factor(pop.street_size_spread, S, rng)
    share_high = beta_around(pop.share_units_higher_rank, pop.street_rank_spread, S, rng)
    staff = np.maximum(np.round(pop.street_staff * lognormal_factor(pop.street_staff_spread, S, rng)),
                       1).astype(np.int64)
    communities = np.full(S, pop.communities_per_street, np.int64)
    n_units = np.round(pop.units_per_street * size).astype(np.int64)
    if pop.units_per_street > 0:
        n_units = np.maximum(n_units, 1)
    high = np.round(n_units * share_high).astype(np.int64)
    n_two_new = np.round(pop.two_new_per_street * size * density).astype(np.int64)
    if pop.two_new_per_street > 0:
        n_two_new = np.maximum(n_two_new, 1)
    total = pop.residents_per_community * communities * size
    sizes = _split_residents(total, communities, pop.community_size_spread, rng)
    starts = np.r_[0, np.cumsum(communities)[:-1]]
    columns = {
        "street": np.arange(S), "communities": communities,
        "residents": np.add.reduceat(sizes, starts) if S else np.zeros(0, np.int64),
        "units_higher_rank": high, "units_lower_rank": n_units - high, "two_new": n_two_new,
        "street_staff": staff, "size_factor": size}
    return DistrictStructure(columns, sizes)


def read_streets_csv(path: str, default_staff: int) -> pd.DataFrame:
    """Read and check a streets CSV; raise :class:`ConfigError` naming what is wrong."""
    try:
        df = pd.read_csv(path)
    except FileNotFoundError:
        raise ConfigError("population.streets_csv", path, "an existing CSV file", "file not found") from None
    except Exception as e:  # noqa: BLE001 - any parse error is the user's file
        raise ConfigError("population.streets_csv", path, "a CSV file", str(e).splitlines()[0]) from None
    missing = [c for c in CSV_COLUMNS if c not in df.columns]
    if missing:
        raise ConfigError("population.streets_csv", path, "columns " + ", ".join(CSV_COLUMNS),
                          "missing: " + ", ".join(missing))
    if df.empty:
        raise ConfigError("population.streets_csv", path, "at least one street row")
    if "street_staff" not in df.columns:
        df["street_staff"] = default_staff
    cols = list(CSV_COLUMNS) + ["street_staff"]
    for c in cols:
        v = pd.to_numeric(df[c], errors="coerce")
        lo = 1 if c in ("communities", "street_staff") else 0
        if v.isna().any() or (v < lo).any() or (v % 1 != 0).any():
            raise ConfigError(f"population.streets_csv:{c}", df[c].tolist(), f"whole numbers >= {lo}")
        df[c] = v.astype(np.int64)
    bad = df["residents"] < 10 * df["communities"]
    if bad.any():
        raise ConfigError("population.streets_csv:residents", df["residents"].tolist(),
                          "at least 10 residents per community")
    df.insert(0, "street", np.arange(len(df)))
    return df[["street"] + cols].reset_index(drop=True)
