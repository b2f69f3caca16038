"""Compose a validated config from a scenario, hydra-style overrides and interventions.

This is what :func:`sim.run` and :class:`sim.RegionModel` use. It does *not* touch hydra's
global state (safe in worker processes, notebooks and an installed package): the schema's
defaults, then the population preset, then the scenario file (overrides only), then the
user's overrides, then ``seed``/``steps``, then the interventions; finally
:func:`sim.config.validate`. The hydra CLI composes the same layers through hydra itself; a
test checks that both give identical configs for every scenario.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .config import (
    _GROUPS,
    LIST_FIELDS,
    POPULATION_PRESETS,
    ConfigError,
    RPBConfig,
    _intervention_list,
    check_memory,
    field_spec,
    from_dict,
    to_dict,
    validate,
    validate_interventions,
    validate_street_levers,
)

__all__ = [
    "CONF_DIR",
    "check_scenario",
    "compose",
    "flat_params",
    "list_scenarios",
    "load_scenario",
    "model_config",
    "parse_overrides",
    "with_values",
]

CONF_DIR = resources.files("sim.conf")  # configs/ in the source tree (see pyproject.toml)


def list_scenarios() -> list[str]:
    """Names of the scenario presets shipped with the package."""
    return sorted(p.name[:-5] for p in (CONF_DIR / "scenario").iterdir()
                  if p.name.endswith(".yaml"))


def load_scenario(scenario: str | Path) -> dict:
    """A scenario's overrides as a nested dict. ``scenario`` is a preset name (or a Chinese or
    English alias of one) or a YAML path.

    Raises:
        ConfigError: an unknown preset (with a "did you mean …?"), a missing file, a YAML
            syntax error, or a key or value the schema refuses; for a file the message names
            the file and the line (``my.yaml, line 3: invalid value for 'admin.burden' …``).
    """
    path = Path(str(scenario))
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ConfigError("scenario", str(scenario), "an existing YAML file or a preset name",
                              "file not found" if not path.exists() else "not a file")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError("scenario", str(scenario), "a readable UTF-8 YAML file",
                              str(e)) from None
        source = str(scenario)
    else:
        from .labels import resolve_scenario, scenario_label

        scenario = resolve_scenario(str(scenario))  # Chinese names: "共治机制" → co_governance
        f = CONF_DIR / "scenario" / f"{scenario}.yaml"
        if not f.is_file():
            from .suggest import suggest_scenario

            raise ConfigError("scenario", scenario, "one of " + ", ".join(
                f"{n} ({scenario_label(n, 'zh')})" for n in list_scenarios()),
                suggestion=suggest_scenario(str(scenario)))
        text = f.read_text(encoding="utf-8")
        source = f"scenario {scenario}"
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{source}, line {mark.line + 1}, column {mark.column + 1}" if mark else source
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError("scenario", str(scenario), "valid YAML", f"YAML syntax error: {problem}",
                          source=where) from None
    if not isinstance(data, dict):
        raise ConfigError("scenario", str(scenario), "a YAML mapping of overrides",
                          f"the file holds a {type(data).__name__}", source=source)
    data.pop("defaults", None)
    check_scenario(data, source, text)
    return data


def _key_lines(text: str) -> dict[str, int]:
    """Line (1-based) of every key of a YAML text, by dotted path (``interventions[0].step``)."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    lines: dict[str, int] = {}

    def walk(node, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                name = f"{prefix}{k.value}"
                lines.setdefault(name, k.start_mark.line + 1)
                walk(v, name + ".")
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                name = f"{prefix.rstrip('.')}[{i}]"
                lines.setdefault(name, item.start_mark.line + 1)
                walk(item, name + ".")

    if root is not None:
        walk(root, "")
    return lines


def _line_of(field: str, lines: dict[str, int]) -> int | None:
    """The line of ``field`` or of the nearest enclosing key found in ``lines``."""
    name = field
    while name:
        if name in lines:
            return lines[name]
        cut = max(name.rfind("."), name.rfind("["))
        name = name[:cut] if cut > 0 else ""
    return None


def check_scenario(data: Mapping, source: str = "scenario", text: str | None = None) -> None:
    """Check every key and value of a scenario's overrides against the schema, on its own.

    Cross-field rules (which may depend on the other layers) are checked when the config is
    composed. Raises a :class:`ConfigError` located at ``source`` (and the key's line when
    the YAML ``text`` is given)."""
    lines = _key_lines(text) if text else {}
    for key, value in data.items():
        key = str(key)
        try:
            if key == "population" and isinstance(value, str):
                _population_preset(value)
            elif key == "interventions":
                validate_interventions(value)
            elif key == "street_levers":
                validate_street_levers(value)
            elif key in _GROUPS:
                if not isinstance(value, Mapping):
                    raise ConfigError(key, value, "a mapping of fields",
                                      f"{key} is a group: write its fields under it")
                for sub, v in value.items():
                    field_spec(f"{key}.{sub}", v).check(v)
            else:
                field_spec(key, value).check(value)
        except ConfigError as e:
            line = _line_of(e.field, lines) or _line_of(key, lines)
            raise e.located(f"{source}, line {line}" if line else source) from None


def _set_dotted(tree: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    node = tree
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(key, value, "a field of the schema")
    node[parts[-1]] = value


def _flatten(tree: Mapping, prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in tree.items():
        if isinstance(v, Mapping) and k in _GROUPS and not prefix:
            out.update(_flatten(v, f"{k}."))
        else:
            out[prefix + str(k)] = v
    return out


def parse_overrides(overrides: Iterable[str] | Mapping[str, Any] | None) -> dict[str, Any]:
    """Hydra-style strings (``"admin.burden=0.6"``, ``"population=district"``) or a dict with
    dotted keys → a flat dict of dotted names. ``population`` selects a preset."""
    if not overrides:
        return {}
    if isinstance(overrides, Mapping):
        return _flatten(overrides)
    if isinstance(overrides, str):
        overrides = [overrides]
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create()
    out: dict[str, Any] = {}
    for text in overrides:
        try:
            (ov,) = parser.parse_overrides([text])
        except HydraException as e:
            raise ConfigError("overrides", text, "key=value (hydra override syntax)",
                              str(e).splitlines()[0]) from None
        if ov.is_sweep_override():
            raise ConfigError(ov.key_or_group, text, "a single value",
                              "sweeps belong to the sweep runner, not to one run")
        if ov.is_delete():
            raise deletion_error(ov.key_or_group, text)
        key = ov.key_or_group.lstrip("+~")
        out[key] = ov.value()
    return out


def deletion_error(key: str, text: str) -> ConfigError:
    """``~admin.burden``: hydra's deletion syntax, refused (every field has a default)."""
    return ConfigError(key, text, "key=value",
                       "a field cannot be deleted (every field has a default); set a value")


def _population_preset(name: Any) -> dict:
    if not isinstance(name, str) or name not in POPULATION_PRESETS:
        from .suggest import suggest_population

        raise ConfigError("population", name, "one of " + ", ".join(POPULATION_PRESETS),
                          suggestion=suggest_population(name))
    return dict(POPULATION_PRESETS[name])


def _expand_groups(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"admin": {"burden": 0.6}}`` given as one key (hydra's ``admin={burden: 0.6}``) →
    ``{"admin.burden": 0.6}``; everything else unchanged."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if key in _GROUPS and key != "population" and isinstance(value, Mapping):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def _build(tree: dict) -> RPBConfig:
    try:
        return from_dict(tree)
    except ConfigError:
        raise
    except (TypeError, ValueError) as e:  # OmegaConf/hydra-typed input reaching the API
        raise ConfigError("config", tree, "the schema", str(e)) from None


def compose(scenario: str | Path = "baseline", overrides=(), *, seed: int | None = None,
            steps: int | None = None, interventions: Iterable = ()) -> RPBConfig:
    """The validated, immutable config of one run."""
    tree: dict = {}
    scen = load_scenario(scenario)
    flat = _expand_groups(parse_overrides(overrides))
    # A scenario may name a population preset, or set population fields (kept in ``scen``).
    scen_population = scen.get("population")
    if not isinstance(scen_population, Mapping):
        scen.pop("population", None)
    preset = flat.pop("population",
                      scen_population if isinstance(scen_population, str) else "default")
    if isinstance(preset, Mapping):  # a dict of population fields given directly
        flat.update({f"population.{k}": v for k, v in preset.items()})
        preset = "default"
    tree["population"] = _population_preset(preset)
    for key, value in _flatten(scen).items():
        _set_dotted(tree, key, value)
    ivs = _intervention_list(tree.pop("interventions", []))
    for key, value in flat.items():
        if key == "interventions":
            ivs = _intervention_list(value)
            continue
        if key == "street_levers":
            tree["street_levers"] = _intervention_list(value, key)
            continue
        field_spec(key, value)
        _set_dotted(tree, key, value)
    if seed is not None:
        tree["seed"] = seed
    if steps is not None:
        tree["steps"] = steps
    ivs.extend(_intervention_list(interventions))
    tree["interventions"] = ivs
    tree.setdefault("name", Path(str(scenario)).stem)
    cfg = validate(_build(tree))
    check_memory(cfg)
    return cfg


def with_values(cfg: RPBConfig, values: Mapping[str, Any]) -> RPBConfig:
    """A new validated config: ``cfg`` with dotted ``values`` set (used by interventions)."""
    tree = to_dict(cfg)
    for key, value in values.items():
        field_spec(key, value)
        _set_dotted(tree, key, value)
    # the listed interventions were checked in order when the run was composed; replaying
    # them from a mid-run config would not be what the model does
    return validate(_build(tree), rules_over_time=False)


def flat_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword parameters ``admin__burden=0.6`` → ``{"admin.burden": 0.6}``."""
    return {k.replace("__", "."): v for k, v in params.items()}


def model_config(config=None, params: Mapping[str, Any] | None = None,
                 seed: int | None = None) -> RPBConfig:
    """The config a :class:`sim.RegionModel` is built with.

    ``config`` may be None (defaults), a scenario name/path, a nested dict, or an
    :class:`RPBConfig`; ``params`` are flat keyword parameters (``admin__burden``).
    """
    flat = _expand_groups(flat_params(params or {}))
    if "seed" in flat:
        raise ConfigError("seed", flat["seed"], "rng=<int>",
                          "RegionModel takes rng=, never seed= (Mesa's batch_run passes rng)")
    if config is None or isinstance(config, (str, Path)):
        return compose(config or "baseline", flat, seed=seed)
    if isinstance(config, Mapping):
        base = _build(dict(config))
    elif dataclasses.is_dataclass(config):
        base = config
    else:
        raise ConfigError("config", config, "None, a scenario name, a dict or an RPBConfig")
    tree = to_dict(base)
    preset = flat.pop("population", None)
    if preset is not None:
        tree["population"] = _population_preset(preset)
    for key, value in flat.items():
        if key in LIST_FIELDS:
            tree[key] = _intervention_list(value, key)
            continue
        field_spec(key, value)
        _set_dotted(tree, key, value)
    if seed is not None:
        tree["seed"] = seed
    cfg = validate(_build(tree))
    check_memory(cfg)
    return cfg
