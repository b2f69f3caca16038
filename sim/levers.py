"""Per-street lever values: the district-wide config plus street-level settings (pilots, 试点).

Every policy lever a street can set for itself is listed in :data:`STREET_FIELDS`. The rules
read these levers through :meth:`StreetLevers.get`, which returns one value per street, so a
reform can run in some streets only: in the config (``street_levers``) or from a step on
(an intervention with ``streets``). A district-wide intervention on a field clears the
street-level settings of that field. Street selectors ``{share: x}`` take the first
round(x·S) streets of one random order drawn per seed at build time, so the pilot set does not
depend on the levers and nested shares give nested sets.
"""

from __future__ import annotations

import numpy as np

__all__ = ["STREET_FIELDS", "StreetLevers", "street_adjacency"]

#: Fields that can differ between streets.
STREET_FIELDS = frozenset({
    "admin.burden",
    "empowerment.street_authority", "empowerment.responsibility_list",
    "empowerment.leading_group", "empowerment.conference_binding", "empowerment.two_new_voice",
    "incentives.material", "incentives.recognition", "incentives.fixed_contact",
    "incentives.cadre_exchange", "incentives.time_bank",
    "evaluation.substance_weight", "evaluation.observability", "evaluation.promotion_link",
    "evaluation.external_pressure", "evaluation.gameable_share",
    "market.outsourcing", "market.volunteer_teams", "market.monitoring",
    "budget.street_budget",
})


class StreetLevers:
    """Lever values per street (S,), from the config in force and street-level settings."""

    def __init__(self, cfg, n_streets: int, street_order: np.ndarray):
        self.n_streets = n_streets
        self.order = street_order  # rank of each street in the per-seed pilot order
        self.settings: dict[str, np.ndarray] = {}  # field -> (S,) values, NaN = district value
        self._cache: dict[str, np.ndarray] = {}
        #: Bumped whenever lever values may change (a new config or street-level settings).
        self.version = 0
        self.cfg = cfg
        for sl in cfg.street_levers:
            self.apply(sl["set"], sl["streets"])

    def streets(self, selector) -> np.ndarray:
        """(S,) bool mask of the streets a selector names."""
        mask = np.zeros(self.n_streets, bool)
        if hasattr(selector, "items"):
            k = int(round(selector["share"] * self.n_streets))
            mask[self.order < k] = True
        else:
            mask[list(selector)] = True
        return mask

    def apply(self, values: dict, selector=None) -> None:
        """Set ``values`` in the streets of ``selector`` (None: district-wide, clears settings)."""
        self._cache.clear()
        self.version += 1
        if selector is None:
            for key in values:
                self.settings.pop(key, None)
            return
        mask = self.streets(selector)
        for key, value in values.items():
            arr = self.settings.setdefault(key, np.full(self.n_streets, np.nan))
            arr[mask] = float(value)

    def set_config(self, cfg) -> None:
        self.cfg = cfg
        self._cache.clear()
        self.version += 1

    def get(self, name: str) -> np.ndarray:
        """(S,) float values of a dotted lever name in each street."""
        out = self._cache.get(name)
        if out is None:
            group, field = name.split(".")
            base = float(getattr(getattr(self.cfg, group), field))
            out = np.full(self.n_streets, base)
            setting = self.settings.get(name)
            if setting is not None:
                out = np.where(np.isnan(setting), out, setting)
            self._cache[name] = out
        return out

    def is_uniform(self, name: str) -> bool:
        v = self.get(name)
        return bool(np.all(v == v[0]))

    def pilot_mask(self) -> np.ndarray:
        """(S,) bool: streets with any street-level setting (the pilot set)."""
        mask = np.zeros(self.n_streets, bool)
        for arr in self.settings.values():
            mask |= ~np.isnan(arr)
        return mask


def street_adjacency(n_streets: int, rng: np.random.Generator) -> np.ndarray:
    """(S, S) symmetric 0/1 adjacency: streets on a ring in a random order (each borders two),
    plus one random chord per five streets — a planar-ish map of a district."""
    A = np.zeros((n_streets, n_streets))
    if n_streets < 2:
        return A
    order = rng.permutation(n_streets)
    for i in range(n_streets):
        a, b = order[i], order[(i + 1) % n_streets]
        if a != b:
            A[a, b] = A[b, a] = 1.0
    for _ in range(n_streets // 5):
        a, b = rng.choice(n_streets, 2, replace=False)
        A[a, b] = A[b, a] = 1.0
    return A
