"""One browser tab's simulation: the model, its controls and what the page shows.

Nothing here imports Solara: the page (:mod:`sim.app.page`) is a thin view over a
:class:`Session`, so the logic is tested without a browser and reused in notebooks.

* The lever controls are generated from the schema (:mod:`sim.config`): label, range,
  default and unit of each headline lever come from its ``param(...)`` declaration.
* Moving a lever mid-run schedules an intervention for the next week through the model's own
  mechanism (``{step: week + 1, set: {lever: value}}``, validated by
  :func:`sim.config.validate_interventions` and applied by
  :meth:`sim.RegionModel.apply_interventions`), so the change takes effect from the next
  step exactly as a scenario's interventions do. A value outside the schema's range can
  never reach the model: it is clamped to ``[lo, hi]`` and checked by the field's spec.
* Levers drawn once when the model is built (:data:`sim.config.BUILD_ONLY`, e.g. staff
  intrinsic motivation) cannot change mid-run; they apply at the next reset (at week 0 the
  model is rebuilt at once).
* Populations are capped (:data:`APP_POPULATIONS`, :data:`MAX_RESIDENTS`) so every tab
  stays fluid.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from ..compose import compose, list_scenarios
from ..config import (
    BUILD_ONLY,
    POPULATION_PRESETS,
    ConfigError,
    field_spec,
)
from ..items import Reason
from ..model import RegionModel

__all__ = [
    "APP_POPULATIONS",
    "HEADLINE_LEVERS",
    "MAX_RESIDENTS",
    "LeverControl",
    "Session",
    "lever_controls",
    "prebuild",
    "take_session",
]

#: The levers the page shows as sliders, in display order (dotted schema names).
HEADLINE_LEVERS: tuple[str, ...] = (
    "admin.burden",
    "empowerment.street_authority",
    "empowerment.responsibility_list",
    "empowerment.leading_group",
    "empowerment.conference_binding",
    "empowerment.two_new_voice",
    "evaluation.substance_weight",
    "evaluation.observability",
    "incentives.material",
    "incentives.recognition",
    "market.outsourcing",
    "market.volunteer_teams",
    "staff.intrinsic_motivation",
)

#: Population presets a tab may use (larger ones are refused: the page must stay fluid).
APP_POPULATIONS: tuple[str, ...] = ("classroom", "default")

#: Most residents a tab's district may have (the ``default`` preset has ~7,200).
MAX_RESIDENTS = 20_000


def _nice_step(span: float) -> float:
    """A round slider step: about a hundredth of the range (1, 2 or 5 × 10^k)."""
    if span <= 0:
        return 1.0
    raw = span / 100.0
    k = math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * 10 ** k >= raw:
            return float(m * 10 ** k)
    return float(10 ** (k + 1))


@dataclass(frozen=True)
class LeverControl:
    """A slider generated from one schema field."""

    name: str          # dotted schema name, e.g. "admin.burden"
    type: type         # float or int
    lo: float
    hi: float
    step: float
    default: float     # the schema default
    unit: str          # the schema's unit string (label it with sim.labels.unit_label)
    build_only: bool   # drawn once at build: applies from the next reset

    def clamp(self, value) -> float | int:
        """``value`` snapped to the slider grid, inside ``[lo, hi]``, checked by the schema."""
        v = float(value)
        if not math.isfinite(v):
            raise ConfigError(self.name, value, f"number in [{self.lo:g}, {self.hi:g}]")
        v = min(max(v, self.lo), self.hi)
        v = self.lo + round((v - self.lo) / self.step) * self.step
        v = min(max(v, self.lo), self.hi)
        v = round(v) if self.type is int else round(v, 10)
        return field_spec(self.name).check(v)


def lever_controls(names=HEADLINE_LEVERS) -> list[LeverControl]:
    """Slider definitions for ``names``, from the schema's metadata (one place)."""
    out = []
    for name in names:
        spec = field_spec(name)
        if spec.type not in (int, float) or spec.lo is None or spec.hi is None:
            raise ValueError(f"{name} is not a numeric field with a range")
        step = 1.0 if spec.type is int else (0.05 if (spec.lo, spec.hi) == (0.0, 1.0)
                                               else _nice_step(spec.hi - spec.lo))
        out.append(LeverControl(name, spec.type, float(spec.lo), float(spec.hi), step,
                                float(spec.default), spec.unit, name in BUILD_ONLY))
    return out


def _config_value(cfg, name: str):
    group, field = name.split(".")
    return getattr(getattr(cfg, group), field)


@dataclass(frozen=True)
class Change:
    """A lever moved mid-run: effective from ``week`` (the week after it was moved)."""

    week: int
    name: str
    old: float
    new: float


class Session:
    """The model of one tab, with play/step/reset, lever changes and item stories.

    Every method is thread-safe (the page's play loop steps from a worker thread).
    """

    def __init__(self, scenario: str = "baseline", seed: int = 1, population: str = "classroom"):
        self.lock = threading.RLock()
        self.controls = lever_controls()
        self.control = {c.name: c for c in self.controls}
        self.scenario = scenario
        self.seed = int(seed)
        self.population = population
        self._check_population(population)
        self.scenario_values = self._scenario_values(scenario)
        self.values = dict(self.scenario_values)  # what the sliders show
        self.changes: list[Change] = []
        self.pending_build: set[str] = set()  # build-only levers moved mid-run
        self.model: RegionModel | None = None
        self.generation = 0  # bumped on every rebuild (caches key on it)
        self.build()

    # ------------------------------------------------------------------ build
    @staticmethod
    def _check_population(population: str) -> None:
        if population not in APP_POPULATIONS:
            raise ConfigError("population", population, "one of " + ", ".join(APP_POPULATIONS),
                              "larger districts are for the command line, not the classroom app")
        p = POPULATION_PRESETS[population]
        n = p["n_streets"] * p["communities_per_street"] * p["residents_per_community"]
        if n > MAX_RESIDENTS:
            raise ConfigError("population", population, f"at most {MAX_RESIDENTS} residents")

    def _scenario_values(self, scenario: str) -> dict:
        cfg = compose(scenario, {"population": self.population}, seed=self.seed)
        return {c.name: _config_value(cfg, c.name) for c in self.controls}

    def _overrides(self) -> dict:
        out = {"population": self.population}
        for name, value in self.values.items():
            if value != self.scenario_values[name]:
                out[name] = value
        return out

    def build(self) -> None:
        """(Re)build the model at week 0: scenario, population, seed and the sliders' values."""
        with self.lock:
            cfg = compose(self.scenario, self._overrides(), seed=self.seed)
            model = RegionModel(config=cfg)
            if model.layout.n_residents > MAX_RESIDENTS:
                raise ConfigError("population", self.population, f"at most {MAX_RESIDENTS} residents")
            self.model = model
            self.changes = []
            self.pending_build = set()
            self.generation += 1

    reset = build

    def set_scenario(self, scenario: str) -> None:
        """Switch preset: the sliders take the preset's values; the model is rebuilt."""
        if scenario not in list_scenarios():
            raise ConfigError("scenario", scenario, "one of " + ", ".join(list_scenarios()))
        with self.lock:
            self.scenario = scenario
            self.scenario_values = self._scenario_values(scenario)
            self.values = dict(self.scenario_values)
            self.build()

    def restore_scenario_values(self) -> None:
        """Sliders back to the preset's values; the model is rebuilt."""
        with self.lock:
            self.values = dict(self.scenario_values)
            self.build()

    def set_seed(self, seed: int) -> None:
        field_spec("seed").check(int(seed))
        with self.lock:
            self.seed = int(seed)
            self.scenario_values = self._scenario_values(self.scenario)
            self.build()

    def set_population(self, population: str) -> None:
        self._check_population(population)
        with self.lock:
            self.population = population
            self.scenario_values = self._scenario_values(self.scenario)
            self.build()

    # ------------------------------------------------------------------ running
    @property
    def week(self) -> int:
        return int(self.model.steps)

    @property
    def total_weeks(self) -> int:
        return int(self.model.config.steps)

    @property
    def at_end(self) -> bool:
        return self.week >= self.total_weeks

    def step(self, n: int = 1) -> int:
        """Advance up to ``n`` weeks (never past the run's last week); returns the week."""
        with self.lock:
            for _ in range(n):
                if self.at_end:
                    break
                self.model.step()
            return self.week

    def set_lever(self, name: str, value) -> str:
        """Move a slider. Returns when it acts: ``"next_week"`` (an intervention at week + 1),
        ``"rebuilt"`` (week 0: the model was rebuilt with it), ``"on_reset"`` (a build-only
        lever mid-run, or the run has ended) or ``"unchanged"``."""
        control = self.control[name]  # KeyError: not a page lever
        value = control.clamp(value)
        with self.lock:
            old = self.values[name]
            if value == old:
                return "unchanged"
            self.values[name] = value
            model = self.model
            if model.steps == 0:
                self.build()
                return "rebuilt"
            if control.build_only or self.at_end:
                self.pending_build.add(name)
                return "on_reset"
            week = model.steps + 1
            # The model's own intervention queue, applied at the start of step ``week`` (after
            # the scenario's own interventions of that week). A second move before that week
            # updates the pending change instead of adding another.
            model.schedule_intervention({name: value}, step=week)
            self.changes = [c for c in self.changes if not (c.week == week and c.name == name)]
            was = _config_value(model.config, name)
            self.changes.append(Change(week, name, float(was), float(value)))
            return "next_week"

    # ------------------------------------------------------------------ what the page shows
    def timeseries(self):
        with self.lock:
            return self.model.timeseries()

    def counters(self) -> dict[str, int]:
        """Week, items open, closed and solved (since week 1), return flows (since week 1)."""
        with self.lock:
            m = self.model
            c = m.item_counts()
            return {"week": self.week, "total_weeks": self.total_weeks,
                    "open": int(c["items_open"]), "closed": int(c["items_closed"]),
                    "solved": int(c["items_solved"]),
                    "returned": int(m.events.counts[Reason.FLOW_BACK])}

    def events(self):
        """The hand-off event table (cached per week)."""
        with self.lock:
            key = (self.generation, self.week)
            if getattr(self, "_events_key", None) != key:
                self._events = self.model.events.table()
                self._items = self.model.items.table()
                self._events_key = key
            return self._events, self._items

    def typical_returned_item(self) -> int | None:
        """An item raised during the run that flowed back at least once (责任回流), ended if
        possible, with the median number of return flows; None if there is none yet."""
        ev, items = self.events()
        if ev is None or not len(ev):
            return None
        started = set(ev.loc[ev["reason"].isin(["raised", "repeat"]), "item_id"].tolist())
        back = ev[ev["reason"] == "flow_back"]
        if back.empty:
            return None
        counts = back.groupby("item_id").size()
        counts = counts[counts.index.isin(started)]
        if counts.empty:
            return None
        ended = set(items.loc[items["status"].astype(str) != "open", "item_id"].tolist())
        done = counts[counts.index.isin(ended)]
        pool = done if len(done) else counts
        median = float(np.median(pool.to_numpy()))
        best = (pool - median).abs()
        return int(best[best == best.min()].index.min())

    def random_item(self, salt: int = 0) -> int | None:
        """An item raised during the run (fixed by seed, week and ``salt``)."""
        ev, _ = self.events()
        if ev is None or not len(ev):
            return None
        ids = np.unique(ev.loc[ev["reason"].isin(["raised", "repeat"]), "item_id"].to_numpy())
        if ids.size == 0:
            return None
        rng = np.random.default_rng([self.seed, self.week, int(salt)])
        return int(ids[rng.integers(ids.size)])

    def story(self, item_id: int, lang: str):
        """The item's path in words (see :func:`sim.app.story.item_story`)."""
        from .story import item_story

        ev, items = self.events()
        with self.lock:
            return item_story(self.model, int(item_id), lang, events=ev, items=items)


_PREBUILT: dict[tuple, Session] = {}
_PREBUILT_LOCK = threading.Lock()


def prebuild(scenario: str = "baseline", seed: int = 1, population: str = "classroom") -> Session:
    """Build a session ahead of time (the server's warm-up) for the next tab that asks for
    exactly these settings."""
    s = Session(scenario, seed, population)
    with _PREBUILT_LOCK:
        _PREBUILT[(scenario, int(seed), population)] = s
    return s


def take_session(scenario: str = "baseline", seed: int = 1, population: str = "classroom") -> Session:
    """A fresh session: the prebuilt one if it matches (and is still at week 0), else a new
    one. Each session is handed out once: every tab has its own model."""
    with _PREBUILT_LOCK:
        s = _PREBUILT.pop((scenario, int(seed), population), None)
    if s is not None and s.week == 0 and not s.changes:
        return s
    return Session(scenario, seed, population)
