"""The one bilingual (简体中文 / English) label table of RPB-Sim.

Every visible string of reports, the classroom app, plots and notebooks is looked up here by a
namespaced key::

    t("metric.return_flow_rate", "zh")      # "事项回流率"
    t("param.admin.burden", "en")           # "Administrative burden"
    t("scenario.co_governance", "zh")       # "共治机制"
    t("ui.week_n", "en", n=3)               # "Week 3"

Namespaces and where their strings come from:

=================  ===========================================================================
``metric.``        :data:`sim.metrics.METRICS` (``.zh`` / ``.en``)
``param.``         the schema in :mod:`sim.config` (``param(..., zh=, en=)`` of each field)
``scenario.``      ``configs/labels/scenarios.yaml`` (one per preset in ``conf/scenario``)
``scenario_desc.`` ``configs/labels/scenarios.yaml`` (one or two sentences)
``actor.``         ``configs/labels/actors.yaml`` (node kinds, item holders, roles)
``reason.``        ``configs/labels/reasons.yaml`` (:attr:`sim.items.Reason.NAMES`)
``stage.``         ``configs/labels/states.yaml`` (:attr:`sim.items.Stage.NAMES`)
``status.``        ``configs/labels/states.yaml`` (:attr:`sim.items.Status.NAMES`)
``unit.``          ``configs/labels/units.yaml`` (exact unit strings, e.g. ``unit.share``)
``summary.``       ``configs/labels/summary.yaml`` (summary keys that are not metrics)
``ui.``            ``configs/labels/ui.yaml`` (flat mapping ``key: {zh, en}``)
=================  ===========================================================================

A missing key raises :class:`KeyError` naming the key; an unknown language raises
:class:`ValueError` listing :data:`LANGS`. Chinese strings use full-width punctuation.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml

__all__ = [
    "DEFAULT_LANG",
    "LANGS",
    "actor_label",
    "all_keys",
    "check_lang",
    "column_label",
    "has_key",
    "metric_label",
    "param_label",
    "reason_label",
    "reload",
    "resolve_scenario",
    "scenario_aliases",
    "scenario_label",
    "summary_label",
    "t",
    "unit_label",
]

LANGS: tuple[str, ...] = ("zh", "en")
DEFAULT_LANG = "zh"

_LABEL_DIR = resources.files("sim.conf") / "labels"


def check_lang(lang: str) -> str:
    """Return ``lang`` if it is one of :data:`LANGS`, else raise :class:`ValueError`."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGS)}")
    return lang


def _load(name: str) -> dict:
    text = (_LABEL_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text) or {}


def _pair(entry: dict, where: str) -> dict[str, str]:
    try:
        return {lang: str(entry[lang]) for lang in LANGS}
    except (KeyError, TypeError):
        raise ValueError(f"label entry {where!r} needs both 'zh' and 'en'") from None


@functools.cache
def _table() -> dict[str, dict[str, str]]:
    """Every key → {"zh": ..., "en": ...}. Built once per process."""
    from .config import iter_field_specs
    from .metrics import METRICS

    table: dict[str, dict[str, str]] = {}
    for m in METRICS:
        table[f"metric.{m.name}"] = {"zh": m.zh, "en": m.en}
    for spec in iter_field_specs():
        table[f"param.{spec.name}"] = {"zh": spec.zh, "en": spec.en}
    for name, entry in _load("scenarios").items():
        table[f"scenario.{name}"] = _pair(entry, f"scenario.{name}")
        table[f"scenario_desc.{name}"] = {"zh": str(entry["desc_zh"]),
                                          "en": str(entry["desc_en"])}
    for ns, fname in (("actor", "actors"), ("reason", "reasons"), ("unit", "units"),
                      ("summary", "summary"), ("ui", "ui")):
        for key, entry in _load(fname).items():
            table[f"{ns}.{key}"] = _pair(entry, f"{ns}.{key}")
    for ns, entries in _load("states").items():
        for key, entry in entries.items():
            table[f"{ns}.{key}"] = _pair(entry, f"{ns}.{key}")
    return table


def reload() -> None:
    """Forget the cached table (after editing a label YAML in a running session)."""
    _table.cache_clear()
    scenario_aliases.cache_clear()


def t(key: str, lang: str = DEFAULT_LANG, **fmt: Any) -> str:
    """The label of ``key`` in ``lang`` ("zh" or "en"), with ``str.format(**fmt)`` applied."""
    check_lang(lang)
    try:
        text = _table()[key][lang]
    except KeyError:
        raise KeyError(f"no label for key {key!r}") from None
    return text.format(**fmt) if fmt else text


def all_keys() -> list[str]:
    """Every label key, sorted."""
    return sorted(_table())


def has_key(key: str) -> bool:
    """Whether ``key`` has a label."""
    return key in _table()


def unit_label(unit: str, lang: str = DEFAULT_LANG) -> str:
    """A unit string (as in METRICS or the schema) in ``lang``; unknown units pass through."""
    check_lang(lang)
    key = f"unit.{unit}"
    return t(key, lang) if has_key(key) else unit


def metric_label(name: str, lang: str = DEFAULT_LANG, with_unit: bool = False) -> str:
    """A metric's label, e.g. "事项回流率" or, ``with_unit``, "事项回流率（份额）"."""
    text = t(f"metric.{name}", lang)
    if not with_unit:
        return text
    from .metrics import METRICS

    unit = next(m.unit for m in METRICS if m.name == name)
    u = unit_label(unit, lang)
    if not u:
        return text
    return f"{text}（{u}）" if lang == "zh" else f"{text} ({u})"


def param_label(dotted: str, lang: str = DEFAULT_LANG) -> str:
    """A schema field's label from its dotted name, e.g. ``"admin.burden"`` → "行政负担"."""
    return t(f"param.{dotted}", lang)


def scenario_label(name: str, lang: str = DEFAULT_LANG) -> str:
    """A scenario preset's name, e.g. ``"co_governance"`` → "共治机制"."""
    return t(f"scenario.{name}", lang)


def actor_label(kind: str, lang: str = DEFAULT_LANG) -> str:
    """An actor kind's name, e.g. ``"street"`` → "街道党工委"."""
    return t(f"actor.{kind}", lang)


def reason_label(name: str, lang: str = DEFAULT_LANG) -> str:
    """An item event's name, e.g. ``"flow_back"`` → "责任回流"."""
    return t(f"reason.{name}", lang)


def summary_label(name: str, lang: str = DEFAULT_LANG) -> str:
    """A :attr:`sim.RunResult.summary` key's label: a metric (mean or pooled over the run),
    ``<metric>_final`` (value in the last week), ``<rate>_n`` (pooled denominator), or one of
    ``summary.yaml`` (item counts, ``participation_amplitude``)."""
    check_lang(lang)
    if has_key(f"metric.{name}"):
        return t(f"metric.{name}", lang)
    if has_key(f"summary.{name}"):
        return t(f"summary.{name}", lang)
    for suffix, zh, en in (("_final", "{}（末周）", "{} (final week)"),
                           ("_n", "{}（分母）", "{} (denominator)")):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and has_key(f"metric.{base}"):
            return (zh if lang == "zh" else en).format(t(f"metric.{base}", lang))
    raise KeyError(f"no label for summary key {name!r}")


def column_label(name: str, lang: str = DEFAULT_LANG) -> str:
    """The label of a tidy-table column: a summary key / metric, a dotted schema field
    (``admin.burden``), or a ``ui`` key (``scenario``, ``seed``, ``replicate`` …); anything
    else is returned unchanged."""
    check_lang(lang)
    for key in (f"param.{name}", f"ui.{name}"):
        if has_key(key):
            return t(key, lang)
    try:
        return summary_label(name, lang)
    except KeyError:
        return name


@functools.cache
def scenario_aliases() -> dict[str, str]:
    """Every Chinese scenario name (and a few variants) → preset name, e.g. "共治机制" →
    "co_governance". Includes the English display names, case as written."""
    out: dict[str, str] = {}
    for name, entry in _load("scenarios").items():
        for alias in (entry["zh"], entry["en"], *entry.get("aliases", ())):
            alias = str(alias).strip()
            if alias in out and out[alias] != name:
                raise ValueError(f"scenario alias {alias!r} names both {out[alias]} and {name}")
            out[alias] = name
    return out


def resolve_scenario(name: str) -> str:
    """A preset name for ``name`` if it is an alias (Chinese name), else ``name`` unchanged."""
    return scenario_aliases().get(str(name).strip(), name)
