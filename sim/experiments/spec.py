"""Experiment specs: what to vary, how to sample it, how often to replicate, what to keep.

A spec is a YAML file in ``configs/experiment/<name>.yaml`` (or any path, or a dict)::

    name: burden_authority_grid
    scenarios: [baseline]                 # scenario presets, every one run at every point
    levers:                               # dotted schema fields
      admin.burden: [0.1, 0.5, 0.9]       # a list of values ...
      empowerment.street_authority: {low: 0.0, high: 1.0}   # ... or a range
    overrides: ["population=classroom"]   # fixed for every run (hydra override strings)
    design: {kind: factorial, levels: 3}  # factorial | lhs | sobol | morris
    replicates: 3                         # seeds per point (common random numbers)
    master_seed: 1
    steps: null                           # weeks after the spin-up (null: the schema's, 104)
    population: null                      # population preset (null: the scenario's)
    metrics: null                         # summary metrics kept (null: all)
    series: null                          # per-step series kept (null: none)

:func:`load_spec` validates everything against the parameter schema (``sim.config``) and
raises :class:`sim.ConfigError` naming the field, the value and what is allowed. The
reserved scenario name ``fn`` marks a *function experiment*: the model is replaced by a
``run_fn`` (see :func:`sim.experiments.run`), levers are free names with explicit numeric
values or ranges, and ``metrics`` are whatever the function returns.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..compose import CONF_DIR, compose, parse_overrides
from ..config import POPULATION_PRESETS, ConfigError, field_spec
from ..metrics import METRICS
from .seeds import MAX_SEED

__all__ = [
    "DESIGN_KINDS",
    "EXPERIMENT_DIR",
    "FN_SCENARIO",
    "RESERVED_COLUMNS",
    "SPEC_KEYS",
    "DesignSpec",
    "ExperimentSpec",
    "Lever",
    "list_experiments",
    "load_spec",
    "raw_spec",
    "series_names",
    "summary_metric_names",
]

#: Where named specs live (``configs/experiment`` is the same folder).
EXPERIMENT_DIR = CONF_DIR / "experiment"
#: Scenario name of a function experiment (``run_fn`` replaces the model).
FN_SCENARIO = "fn"
DESIGN_KINDS = ("factorial", "lhs", "sobol", "morris")
SPEC_KEYS = ("name", "description", "scenarios", "levers", "overrides", "design", "replicates",
             "master_seed", "steps", "population", "metrics", "series")
#: Keys a ``design`` mapping may hold, per kind.
DESIGN_KEYS = {
    "factorial": ("kind", "levels"),
    "lhs": ("kind", "n"),
    "sobol": ("kind", "n", "calc_second_order", "scramble"),
    "morris": ("kind", "n", "levels"),
}
#: Columns of the run table that are not levers or metrics.
RESERVED_COLUMNS = ("point", "replicate", "seed", "scenario", "status", "error", "wall_s")
#: Schema fields that cannot be levers (the seed comes from the master seed).
NOT_LEVERS = ("seed", "name")
#: Item-count keys of the run summary (:meth:`sim.RegionModel.item_counts`).
ITEM_COUNT_KEYS = ("items_open_at_start", "items_created", "items_closed", "items_solved",
                   "items_expired", "items_open")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def summary_metric_names() -> tuple[str, ...]:
    """Every key of a model run's summary (``RunResult.summary``), in its order.

    Per metric: the metric, ``<rate>_n`` (pooled denominator, rates only) and ``_final``;
    then ``participation_amplitude`` and the item counts (see :func:`sim.metrics.summarise`).
    """
    out: list[str] = []
    for m in METRICS:
        out.append(m.name)
        if m.is_rate:
            out.append(m.name + "_n")
        out.append(m.name + "_final")
    return (*out, "participation_amplitude", *ITEM_COUNT_KEYS)


def series_names() -> tuple[str, ...]:
    """Columns of a model run's per-step series (``RunResult.timeseries``)."""
    out: list[str] = []
    for m in METRICS:
        out.append(m.name)
        if m.is_rate:
            out.append(m.name + "_n")
    return tuple(out)


# --------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class Lever:
    """One varied parameter: a list of ``values`` or a range ``[low, high]``.

    ``dtype`` is the schema type (``float``, ``int``, ``str``, ``bool``); sampled values of an
    ``int`` lever are rounded to the nearest integer.
    """

    name: str
    values: tuple | None = None
    low: float | None = None
    high: float | None = None
    dtype: str = "float"

    @property
    def is_range(self) -> bool:
        return self.values is None

    @property
    def numeric(self) -> bool:
        return self.dtype in ("float", "int")

    @property
    def bounds(self) -> tuple[float, float]:
        """``[low, high]`` of a range; of a list, its smallest and largest value (level
        indices ``[0, k - 1]`` for strings and booleans)."""
        if self.is_range:
            return float(self.low), float(self.high)
        if self.numeric:
            return float(min(self.values)), float(max(self.values))
        return 0.0, float(len(self.values) - 1)

    def to_spec(self):
        """The lever as written in a spec: a list or ``{low, high}``."""
        if self.is_range:
            return {"low": self.low, "high": self.high}
        return list(self.values)


@dataclass(frozen=True)
class DesignSpec:
    """How design points are chosen.

    * ``factorial``: every combination of the levers' values; a range lever contributes
      ``levels`` evenly spaced values (default 3). Points: product of the level counts.
    * ``lhs``: ``n`` Latin-hypercube points over the ranges. Points: ``n``.
    * ``sobol``: SALib's Saltelli scheme on a (scrambled) Sobol' sequence, ``n`` a power of 2.
      Points: ``n·(2D + 2)`` with ``calc_second_order`` (default), else ``n·(D + 2)``.
    * ``morris``: ``n`` Morris trajectories on a grid of ``levels`` (default 4). Points:
      ``n·(D + 1)``.
    """

    kind: str = "factorial"
    n: int | None = None
    levels: int | None = None
    calc_second_order: bool = True
    scramble: bool = True

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"kind": self.kind}
        for key in DESIGN_KEYS[self.kind][1:]:
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True)
class ExperimentSpec:
    """A validated experiment (see the module docstring for the YAML form)."""

    name: str
    scenarios: list[str] = field(default_factory=lambda: ["baseline"])
    levers: dict[str, Lever] = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)
    design: DesignSpec = field(default_factory=DesignSpec)
    replicates: int = 1
    master_seed: int = 0
    steps: int | None = None
    population: str | None = None
    metrics: list[str] | None = None
    series: list[str] | None = None
    description: str = ""

    @property
    def is_function(self) -> bool:
        """True when a ``run_fn`` replaces the model (``scenarios: [fn]``)."""
        return self.scenarios == [FN_SCENARIO]

    @property
    def lever_names(self) -> list[str]:
        return list(self.levers)

    def to_dict(self) -> dict:
        """The spec as a plain dict (``load_spec(spec.to_dict())`` gives it back)."""
        return {
            "name": self.name,
            "description": self.description,
            "scenarios": list(self.scenarios),
            "levers": {k: lv.to_spec() for k, lv in self.levers.items()},
            "overrides": list(self.overrides),
            "design": self.design.to_dict(),
            "replicates": self.replicates,
            "master_seed": self.master_seed,
            "steps": self.steps,
            "population": self.population,
            "metrics": None if self.metrics is None else list(self.metrics),
            "series": None if self.series is None else list(self.series),
        }


# --------------------------------------------------------------------------- loading


def list_experiments() -> list[str]:
    """Names of the specs shipped in ``configs/experiment/``."""
    if not EXPERIMENT_DIR.is_dir():
        return []
    return sorted(p.name[:-5] for p in EXPERIMENT_DIR.iterdir() if p.name.endswith(".yaml"))


def raw_spec(source: str | Path | Mapping) -> dict:
    """The unvalidated spec dict of a name, a YAML path or a dict (``name`` filled in from a
    file's stem when missing)."""
    if isinstance(source, Mapping):
        return dict(source)
    path = Path(str(source))
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ConfigError("experiment", str(source), "an existing YAML file or a spec name",
                              "file not found")
        text = path.read_text(encoding="utf-8")
    else:
        f = EXPERIMENT_DIR / f"{source}.yaml"
        if not f.is_file():
            raise ConfigError("experiment", str(source),
                              "a YAML path or one of " + ", ".join(list_experiments()))
        text = f.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError("experiment", str(source), "valid YAML", str(e).splitlines()[0]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("experiment", str(source), "a YAML mapping of spec keys")
    data.setdefault("name", path.stem)
    return data


def load_spec(source: str | Path | Mapping | ExperimentSpec) -> ExperimentSpec:
    """A validated :class:`ExperimentSpec` from a spec name, a YAML path or a dict.

    Raises:
        sim.ConfigError: naming the offending key (``levers.admin.burden``, ``design.n``,
            ``metrics``, ...), its value and what is allowed.
    """
    if isinstance(source, ExperimentSpec):
        return source
    data = raw_spec(source)
    for key in data:
        if key not in SPEC_KEYS:
            raise ConfigError(str(key), data[key], "one of the spec keys: " + ", ".join(SPEC_KEYS),
                              "unknown key")
    name = data.get("name", "experiment")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError("name", name, "letters, digits, '_', '-', '.' (it names the output folder)")
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise ConfigError("description", description, "a string")
    scenarios = _scenarios(data.get("scenarios", ["baseline"]))
    is_fn = scenarios == [FN_SCENARIO]
    design = _design(data.get("design", {"kind": "factorial"}))
    levers = _levers(data.get("levers") or {}, is_fn)
    _check_design_levers(design, levers)
    replicates = _int("replicates", data.get("replicates", 1), 1, None)
    master_seed = _int("master_seed", data.get("master_seed", 0), 0, MAX_SEED)
    steps = data.get("steps")
    population = data.get("population")
    overrides = _overrides(data.get("overrides") or [])
    metrics = _names("metrics", data.get("metrics"), None if is_fn else summary_metric_names())
    series = _names("series", data.get("series"), None if is_fn else series_names())
    if is_fn:
        for key, value in (("steps", steps), ("population", population), ("series", series)):
            if value is not None:
                raise ConfigError(key, value, "null in a function experiment (scenarios: [fn])")
        if overrides:
            raise ConfigError("overrides", overrides, "[] in a function experiment (scenarios: [fn])")
    else:
        if steps is not None:
            steps = field_spec("steps").check(steps) if _is_int(steps) else _bad_steps(steps)
        if population is not None and population not in POPULATION_PRESETS:
            raise ConfigError("population", population, "null or one of " + ", ".join(POPULATION_PRESETS))
        _check_overrides(overrides, levers, population)
    spec = ExperimentSpec(name=name, scenarios=scenarios, levers=levers, overrides=overrides,
                          design=design, replicates=replicates, master_seed=master_seed, steps=steps,
                          population=population, metrics=metrics, series=series,
                          description=description.strip())
    if not is_fn:
        _check_composes(spec)
    return spec


# --------------------------------------------------------------------------- field checks


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _bad_steps(steps):
    raise ConfigError("steps", steps, "null or " + field_spec("steps").allowed)


def _int(key: str, value, lo: int | None, hi: int | None) -> int:
    if not _is_int(value) or (lo is not None and value < lo) or (hi is not None and value > hi):
        allowed = f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]"
        raise ConfigError(key, value, allowed)
    return int(value)


def _str_list(key: str, value) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ConfigError(key, value, "a list of strings")
    return list(value)


def _scenarios(value) -> list[str]:
    scenarios = _str_list("scenarios", value)
    if not scenarios:
        raise ConfigError("scenarios", scenarios, "at least one scenario preset")
    if len(set(scenarios)) != len(scenarios):
        raise ConfigError("scenarios", scenarios, "distinct scenario names")
    if FN_SCENARIO in scenarios and scenarios != [FN_SCENARIO]:
        raise ConfigError("scenarios", scenarios, f"preset names, or just [{FN_SCENARIO}] (a function experiment)")
    return scenarios


def _names(key: str, value, known) -> list[str] | None:
    if value is None:
        return None
    names = _str_list(key, value)
    if not names:
        raise ConfigError(key, names, "null (all) or a non-empty list")
    if len(set(names)) != len(names):
        raise ConfigError(key, names, "distinct names")
    for n in names:
        if n in RESERVED_COLUMNS:
            raise ConfigError(key, n, "not one of the table's own columns: " + ", ".join(RESERVED_COLUMNS))
        if known is not None and n not in known:
            what = "summary metrics" if key == "metrics" else "per-step series"
            raise ConfigError(key, n, f"one of the {what}: " + ", ".join(known))
    return names


def _overrides(value) -> list[str]:
    overrides = _str_list("overrides", value)
    for text in overrides:
        if "=" not in text:
            raise ConfigError("overrides", text, "key=value strings (hydra override syntax)")
    return overrides


def _check_overrides(overrides: list[str], levers: dict, population) -> None:
    flat = parse_overrides(overrides)
    for key, value in flat.items():
        if key == "seed":
            raise ConfigError("overrides", f"seed={value}", "no seed (run seeds come from master_seed)")
        if key in levers:
            raise ConfigError("overrides", f"{key}={value}", f"no override of a lever ({key} is varied)")
        if key == "population" and population is not None:
            raise ConfigError("overrides", f"population={value}",
                              "no population preset here when the spec's population is set")


def _design(value) -> DesignSpec:
    if isinstance(value, str):
        value = {"kind": value}
    if not isinstance(value, Mapping):
        raise ConfigError("design", value, "a mapping {kind: factorial|lhs|sobol|morris, ...}")
    kind = value.get("kind", "factorial")
    if kind not in DESIGN_KINDS:
        raise ConfigError("design.kind", kind, "one of " + ", ".join(DESIGN_KINDS))
    for key in value:
        if key not in DESIGN_KEYS[kind]:
            raise ConfigError(f"design.{key}", value[key],
                              f"a key of a {kind} design: " + ", ".join(DESIGN_KEYS[kind]), "unknown key")
    n = value.get("n")
    levels = value.get("levels")
    if kind != "factorial":
        n = _int("design.n", n, 2 if kind == "morris" else 1, None)
    if kind == "sobol" and n & (n - 1):
        raise ConfigError("design.n", n, "a power of 2 (… 64, 128, 256, 512, 1024 …)",
                          "Sobol' sequences balance only at powers of 2")
    if kind in ("factorial", "morris") and levels is not None:
        levels = _int("design.levels", levels, 2, None)
    if kind == "morris":
        levels = 4 if levels is None else levels
        if levels % 2:
            raise ConfigError("design.levels", levels, "an even integer >= 2 (Morris grid)")
    flags = {}
    for key in ("calc_second_order", "scramble"):
        flag = value.get(key, True)
        if not isinstance(flag, bool):
            raise ConfigError(f"design.{key}", flag, "true or false")
        flags[key] = flag
    return DesignSpec(kind=kind, n=n, levels=levels, **flags)


def _levers(value, is_fn: bool) -> dict[str, Lever]:
    if not isinstance(value, Mapping):
        raise ConfigError("levers", value, "a mapping {dotted.field: [values] | {low: x, high: y}}")
    out = {}
    for name, lv in value.items():
        name = str(name)
        out[name] = _fn_lever(name, lv) if is_fn else _model_lever(name, lv)
    return out


def _lever_shape(where: str, lv):
    """``("values", list)`` or ``("range", (low, high))``; anything else is refused."""
    if isinstance(lv, (list, tuple)):
        if not lv:
            raise ConfigError(where, list(lv), "a non-empty list of values")
        if len({repr(v) for v in lv}) != len(lv):
            raise ConfigError(where, list(lv), "distinct values")
        return "values", list(lv)
    if isinstance(lv, Mapping):
        if set(lv) != {"low", "high"}:
            raise ConfigError(where, dict(lv), "a list of values or a range {low: x, high: y}")
        low, high = lv["low"], lv["high"]
        for v in (low, high):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ConfigError(where, dict(lv), "a range {low: x, high: y} of finite numbers")
        if not low < high:
            raise ConfigError(where, dict(lv), "a range with low < high")
        return "range", (low, high)
    raise ConfigError(where, lv, "a list of values or a range {low: x, high: y}")


def _fn_lever(name: str, lv) -> Lever:
    where = f"levers.{name}"
    shape, data = _lever_shape(where, lv)
    if shape == "range":
        return Lever(name, low=float(data[0]), high=float(data[1]), dtype="float")
    for v in data:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ConfigError(where, data, "a list of finite numbers (function experiment)")
    return Lever(name, values=tuple(float(v) for v in data), dtype="float")


def _model_lever(name: str, lv) -> Lever:
    where = f"levers.{name}"
    try:
        fs = field_spec(name, lv)
    except ConfigError:
        raise ConfigError(where, lv, "a dotted field of the schema (see docs/parameters.md)",
                          "unknown field") from None
    if name in NOT_LEVERS:
        raise ConfigError(where, lv, "a model parameter (seeds come from master_seed)")
    dtype = fs.type.__name__
    shape, data = _lever_shape(where, lv)
    if shape == "values":
        checked = []
        for v in data:
            try:
                checked.append(fs.check(v))
            except ConfigError as e:
                raise ConfigError(where, v, e.allowed, e.reason) from None
        return Lever(name, values=tuple(checked), dtype=dtype)
    if dtype not in ("float", "int"):
        raise ConfigError(where, lv, f"a list of values ({fs.allowed}): a range needs a numeric field")
    low, high = data
    if fs.lo is not None and low < fs.lo or fs.hi is not None and high > fs.hi:
        raise ConfigError(where, {"low": low, "high": high}, f"a range inside the schema's {fs.allowed}",
                          "range outside the schema")
    if dtype == "int":
        ilow, ihigh = math.ceil(low), math.floor(high)
        if ilow >= ihigh:
            raise ConfigError(where, {"low": low, "high": high}, "a range holding at least two integers")
        return Lever(name, low=ilow, high=ihigh, dtype=dtype)
    return Lever(name, low=float(low), high=float(high), dtype=dtype)


def _check_design_levers(design: DesignSpec, levers: dict[str, Lever]) -> None:
    if design.kind == "factorial":
        return
    if not levers:
        raise ConfigError("levers", {}, f"at least one range lever (a {design.kind} design)")
    for name, lv in levers.items():
        if not lv.is_range:
            raise ConfigError(f"levers.{name}", list(lv.values),
                              f"a range {{low: x, high: y}} (a {design.kind} design samples ranges)")


def _check_composes(spec: ExperimentSpec) -> None:
    """Compose every scenario once with the levers at their first value / low end."""
    from .tasks import base_overrides

    flat = base_overrides(spec)
    for name, lv in spec.levers.items():
        flat[name] = lv.low if lv.is_range else lv.values[0]
    for scenario in spec.scenarios:
        compose(scenario, flat, seed=0, steps=spec.steps)
