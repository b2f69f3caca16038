"""Run one config: build the model, step it, collect the results.

:func:`run` is also the plain-function form of the model (EMA-workbench style):
``run(scenario, seed=..., overrides=...) -> RunResult`` with ``.summary`` a dict of floats.
It uses no hydra global state, so it works from an installed package and in worker processes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import pandas as pd

from .compose import compose
from .config import POPULATION_PRESETS, RPBConfig, validate
from .model import RegionModel

__all__ = ["HEADLINE", "RunResult", "run", "run_config"]

#: Summary numbers shown by ``repr(result)`` and in a notebook.
HEADLINE = ("resolution_rate", "closure_rate", "return_flow_rate", "satisfaction",
            "participation_residents", "participation_two_new", "form_effort_share")


def _population_name(cfg: RPBConfig | None, metadata: dict) -> str:
    """The population preset a config's counts match (``classroom`` …), else ``custom``."""
    if metadata.get("population"):
        return str(metadata["population"])
    if cfg is None:
        return "?"
    pop = cfg.population
    for name, preset in POPULATION_PRESETS.items():
        if all(getattr(pop, k, None) == v for k, v in preset.items()):
            return name
    return "custom"


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "nan"
    return f"{v:.3g}" if isinstance(v, float) else str(v)


@dataclass
class RunResult:
    """What one run gives.

    Attributes:
        config: the validated config the run started with (its interventions included).
        final_config: the config in force at the end, after the interventions took effect.
        summary: per-run summary over weeks 1..T (:func:`sim.metrics.summarise`: means of
            shares and levels, pooled rates with their ``_n``, final values,
            ``participation_amplitude``, item counts).
        timeseries: per-step metrics, index ``step`` 0..T (rates NaN where their ``_n`` is 0).
        items: one row per item (None when ``items.record = none``) — the raw table,
            holders as node ids; see :meth:`items_table` for names and labels.
        handoffs: one row per item event (who, when, why; None when not recorded) — node ids
            and reason codes; see :meth:`handoffs_table`.
        assignment_stats: counts of assignment decisions and of those where nobody acted.
        streets: one row per street: structure, levers set per street, ``pilot``.
        by_street: street × step table of the headline metrics.
        actors: one row per actor an item can pass through — node id, kind, street,
            community, Chinese and English name (:func:`sim.readable.actors_table`), so the
            item tables can be read without the model.
        metadata: what :func:`sim.io.load_run` read from ``metadata.json`` (package
            versions, git revision, command …); empty for a run made in this session.

    In a notebook a result shows a short summary (``repr`` and an HTML table), never the
    whole config; :meth:`plot` draws the headline panels. A result also answers
    ``result["summary"]``-style access (the dict that ``load_run`` used to return).

    Items live in two places that look alike: ``model.items`` is the *live store* of a
    running :class:`sim.RegionModel` (``model.items.table()`` gives the raw table so far),
    while ``result.items`` is that raw table at the end of the run. For readable tables of
    either, use :mod:`sim.readable` (``sim.readable.items(result_or_model, lang)``), or
    :meth:`items_table` / :meth:`handoffs_table` here.
    """

    config: RPBConfig
    final_config: RPBConfig
    summary: dict[str, float]
    timeseries: pd.DataFrame
    items: pd.DataFrame | None = None
    handoffs: pd.DataFrame | None = None
    assignment_stats: dict = field(default_factory=dict)
    streets: pd.DataFrame | None = None
    by_street: pd.DataFrame | None = None
    actors: pd.DataFrame | None = None
    metadata: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ dict-style access
    def keys(self) -> list[str]:
        """The field names (``result[name]`` works for each, as for the old dict)."""
        return [f.name for f in fields(self)]

    def __getitem__(self, key: str):
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    # ------------------------------------------------------------------ display
    def _meta(self) -> dict:
        cfg, md = self.config, self.metadata
        return {"scenario": cfg.name if cfg is not None else md.get("scenario", "?"),
                "seed": cfg.seed if cfg is not None else md.get("seed"),
                "steps": cfg.steps if cfg is not None else md.get("steps"),
                "spin_up": cfg.spin_up if cfg is not None else md.get("spin_up"),
                "population": _population_name(cfg, md)}

    def _counts(self) -> dict[str, int]:
        s = self.streets
        if s is None or not len(s):
            return {}
        out = {"streets": len(s)}
        for col, key in (("communities", "communities"), ("residents", "residents")):
            if col in s:
                out[key] = int(s[col].sum())
        if "units_higher_rank" in s and "units_lower_rank" in s:
            out["units"] = int(s["units_higher_rank"].sum() + s["units_lower_rank"].sum())
        if "two_new" in s:
            out["two_new"] = int(s["two_new"].sum())
        return out

    def __repr__(self) -> str:
        m = self._meta()
        counts = " ".join(f"{k}={v}" for k, v in self._counts().items())
        head = ", ".join(f"{k}={_fmt(self.summary.get(k))}" for k in HEADLINE[:5]
                         if k in self.summary)
        items = ""
        if "items_created" in self.summary:
            items = (f"; items created={_fmt(self.summary['items_created'])} "
                     f"solved={_fmt(self.summary.get('items_solved'))}")
        return (f"RunResult(scenario={m['scenario']!r}, seed={m['seed']}, steps={m['steps']}, "
                f"spin_up={m['spin_up']}, population={m['population']!r} ({counts}); "
                f"{head}{items})")

    def _repr_html_(self) -> str:
        from html import escape

        try:
            from .labels import metric_label, scenario_label

            zh_name = scenario_label(self._meta()["scenario"], "zh")
        except (ImportError, KeyError, OSError):
            metric_label, zh_name = None, ""
        m = self._meta()
        counts = "，".join(f"{k} {v}" for k, v in self._counts().items())
        rows = []
        for k in HEADLINE:
            if k not in self.summary:
                continue
            zh = metric_label(k, "zh") if metric_label else ""
            rows.append(f"<tr><td>{escape(zh)}</td><td><code>{k}</code></td>"
                        f"<td style='text-align:right'>{_fmt(self.summary[k])}</td></tr>")
        tables = [f"timeseries {self.timeseries.shape[0]}×{self.timeseries.shape[1]}"]
        for name in ("items", "handoffs"):
            t = getattr(self, name)
            if t is not None:
                tables.append(f"{name} {len(t)}")
        title = escape(str(m["scenario"])) + (f"（{escape(zh_name)}）" if zh_name else "")
        return (f"<div><b>RunResult</b> {title} — seed {m['seed']}, {m['steps']} weeks "
                f"(spin-up {m['spin_up']}), population {escape(str(m['population']))}"
                f"{'：' + escape(counts) if counts else ''}"
                f"<table><tr><th>指标</th><th>metric</th><th>weeks 1..T</th></tr>"
                f"{''.join(rows)}</table>"
                f"<small>{escape(', '.join(tables))} · .plot() · .items_table() · "
                f".handoffs_table() · .summary · .config</small></div>")

    # ------------------------------------------------------------------ plots and tables
    def plot(self, lang: str = "zh", metrics=None):
        """A matplotlib Figure: the headline panels (:func:`sim.plots.plot_result`), or the
        given ``metrics`` over weeks (:func:`sim.plots.plot_timeseries`)."""
        from . import plots

        if metrics is None:
            return plots.plot_result(self, lang=lang)
        if isinstance(metrics, str):
            metrics = [metrics]
        return plots.plot_timeseries(self.timeseries, metrics=list(metrics), lang=lang)

    def items_table(self, lang: str = "zh") -> pd.DataFrame | None:
        """The item table with names and labels (:func:`sim.readable.items`)."""
        from .readable import items

        return items(self, lang)

    def handoffs_table(self, lang: str = "zh", **kwargs) -> pd.DataFrame | None:
        """The hand-off table with actor names and reason labels (:func:`sim.readable.handoffs`;
        ``item=``, ``only_handoffs=`` pass through)."""
        from .readable import handoffs

        return handoffs(self, lang, **kwargs)


def run_config(cfg: RPBConfig, *, progress: bool = False) -> RunResult:
    """Run a (validated) config for ``cfg.steps`` steps."""
    from .readable import actors_table

    cfg = validate(cfg)
    model = RegionModel(config=cfg)
    steps = range(cfg.steps)
    if progress:
        from tqdm import tqdm

        steps = tqdm(steps, desc=f"{cfg.name} (seed {cfg.seed})", unit="week")
    for _ in steps:
        model.step()
    ts = model.timeseries()
    items = model.items.table()
    handoffs = model.events.table()
    model.items.sink.close()
    model.events.sink.close()
    actors = actors_table(model, items["origin"].to_numpy() if items is not None else ())
    return RunResult(config=model.initial_config, final_config=model.config,
                     summary=model.summary(), timeseries=ts, items=items, handoffs=handoffs,
                     assignment_stats=dict(model.assignment_stats),
                     streets=model.streets_table(), by_street=model.by_street(), actors=actors)


def run(scenario="baseline", *, seed: int | None = None, steps: int | None = None, overrides=(),
        interventions=(), progress: bool = False) -> RunResult:
    """Run one scenario and return its :class:`RunResult`.

    Args:
        scenario: a preset name (``"co_governance"``; see :func:`sim.list_scenarios`), its
            Chinese name (``"共治机制"``, ``"行政负担过重"``, ``"组织架构悬浮化"`` … — every
            name in ``configs/labels/scenarios.yaml``), or the path of a YAML file of
            overrides.
        seed: the run's seed (default: the config's, 0 unless an override or the scenario
            sets it). The same seed always gives the same run.
        steps: weeks to run after the spin-up (default: the config's, 104).
        overrides: changes to the scenario, applied after it. Either a list of hydra-style
            strings::

                ["admin.burden=0.8",                  # a dotted schema field (docs/parameters.md)
                 "population=classroom",              # a size preset: classroom, default, district
                 "spin_up=20",                        # weeks run before week 1 (default 156)
                 "population.n_streets=2",            # one field of the population
                 "submodels.evaluation=form_blind"]   # a null variant of a submodel

            or a dict, nested or with dotted keys: ``{"admin.burden": 0.8, "population":
            "classroom"}`` or ``{"admin": {"burden": 0.8}}``. Per-street levers go under
            ``street_levers`` (a list of ``{streets: [...] or {share: x}, set: {...}}``, in
            force from the start)::

                {"street_levers": [{"streets": [0], "set": {"empowerment.street_authority": 0.9}}]}

            An invalid name or value raises :class:`sim.ConfigError` (naming the field, the
            value and the allowed range) before anything is built.
        interventions: policy changes during the run, a list of ``{"step": N, "set": {dotted:
            value, ...}}`` taking effect at the start of week N (weeks count from 1),
            optionally with ``"streets": [indices]`` or ``{"share": x}`` for a pilot in some
            streets only. They add to the scenario's own interventions.
        progress: show a progress bar (tqdm).

    ``seed`` and ``steps`` win over the same keys in ``overrides``. Layers are applied in
    this order: the schema's defaults, the population preset, the scenario file, the
    overrides, ``seed``/``steps``, the interventions (see :func:`sim.compose.compose`).

    Examples::

        sim.run("baseline", seed=1)
        sim.run("共治机制", seed=1, steps=30, overrides=["population=classroom", "spin_up=20"])
        sim.run("alienation", seed=2,
                interventions=[{"step": 53, "set": {"evaluation.external_pressure": 0.0}}])
        sim.run("baseline", seed=1, interventions=[
            {"step": 53, "streets": {"share": 0.5}, "set": {"empowerment.street_authority": 0.8}}])
    """
    cfg = compose(scenario, overrides, seed=seed, steps=steps, interventions=interventions)
    return run_config(cfg, progress=progress)
