""""Did you mean …?" for misspelled names: schema fields, scenarios, population presets.

Every refusal of an unknown name (:class:`sim.config.ConfigError`) carries the closest known
name, found with :mod:`difflib` among

* every dotted schema key (``admin.burden``), the list fields (``interventions``,
  ``street_levers``) and the command line's own options (``progress``, ``save_items``);
* the scenario presets and every alias of theirs (Chinese names such as 共治机制, English
  display names) from ``configs/labels/scenarios.yaml``;
* the population presets (``classroom``, ``default``, ``district``).

A name whose last part is right but whose group is wrong or missing (``burden``,
``empowerment.burden``) is matched on that last part too.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest", "field_names", "suggest_choice", "suggest_field", "suggest_population",
           "suggest_scenario"]

#: How close a candidate must be (difflib ratio) to be suggested.
CUTOFF = 0.6


def closest(name: str, candidates: Iterable[str], cutoff: float = CUTOFF) -> str | None:
    """The candidate closest to ``name`` (difflib), or None when none is close enough."""
    cands = [str(c) for c in candidates]
    if not cands:
        return None
    hits = difflib.get_close_matches(str(name), cands, n=1, cutoff=cutoff)
    if not hits:  # case-insensitive second try ("Admin.Burden")
        lower = {c.lower(): c for c in cands}
        hits = [lower[h] for h in difflib.get_close_matches(str(name).lower(), list(lower), n=1,
                                                           cutoff=cutoff)]
    return hits[0] if hits else None


def field_names(*, extra: Iterable[str] = ()) -> list[str]:
    """Every name the command line and the config accept as a key: dotted schema fields,
    list fields, and ``extra`` (e.g. the command line's own options)."""
    from .config import LIST_FIELDS, iter_field_specs

    return [s.name for s in iter_field_specs()] + list(LIST_FIELDS) + list(extra)


def suggest_field(name: str, candidates: Iterable[str] | None = None) -> str | None:
    """The schema field ``name`` most likely means (``admin.burdon`` → ``admin.burden``)."""
    name = str(name).lstrip("+~")
    cands = list(candidates) if candidates is not None else field_names(extra=("progress",
                                                                               "save_items"))
    if name in cands:
        return None
    group, _, leaf = name.rpartition(".")
    by_group: dict[str, list[str]] = {}
    for c in cands:
        g, _, l = c.rpartition(".")
        by_group.setdefault(g, []).append(l)
    if group in by_group:  # the group is right: look among its fields first
        hit = closest(leaf, by_group[group])
        if hit is not None:
            return f"{group}.{hit}" if group else hit
    hit = closest(name, cands)
    if hit is not None:
        return hit
    # the group is wrong or missing: match the last part alone, if it is unambiguous
    leaves: dict[str, list[str]] = {}
    for c in cands:
        leaves.setdefault(c.rpartition(".")[2], []).append(c)
    hit = closest(leaf, leaves)
    if hit is not None and len(leaves[hit]) == 1:
        return leaves[hit][0]
    return None


def suggest_choice(value, choices: Iterable) -> str | None:
    """The choice closest to a misspelled string value (``memroy`` → ``memory``)."""
    if not isinstance(value, str):
        return None
    return closest(value, [c for c in choices if isinstance(c, str)])


def suggest_scenario(name: str) -> str | None:
    """The scenario preset (or Chinese/English alias) closest to ``name``."""
    from .compose import list_scenarios
    from .labels import scenario_aliases

    try:
        aliases = scenario_aliases()
    except Exception:  # noqa: BLE001 - a suggestion must never hide the real error
        aliases = {}
    return closest(name, [*list_scenarios(), *aliases])


def suggest_population(name) -> str | None:
    """The population preset closest to ``name``."""
    from .config import POPULATION_PRESETS

    return suggest_choice(name, POPULATION_PRESETS)
