"""The bilingual label table (sim.labels): complete over the real sources, natural Chinese,
clear errors, and Chinese scenario names that compose to the right preset."""

from __future__ import annotations

import re
from importlib import resources

import pytest
import yaml

import sim
from sim import labels
from sim.compose import list_scenarios
from sim.config import ConfigError, iter_field_specs, to_dict
from sim.items import Reason, Stage, Status
from sim.metrics import METRICS

CJK = re.compile(r"[\u3400-\u9fff]")
# a half-width bracket, comma, colon or semicolon touching a Chinese character
HALF_WIDTH_NEXT_TO_CJK = re.compile(r"[\u3400-\u9fff][(),:;]|[(),:;][\u3400-\u9fff]")
FORMAT_FIELD = re.compile(r"\{[^{}]*\}")
SCENARIOS = list_scenarios()


def both(key: str) -> tuple[str, str]:
    zh, en = labels.t(key, "zh"), labels.t(key, "en")
    assert zh.strip() and en.strip(), key
    return zh, en


@pytest.fixture(scope="module")
def classroom_run() -> sim.RunResult:
    return sim.run("共治机制", seed=2, steps=6, overrides=["population=classroom", "spin_up=10"])


# ----------------------------------------------------------------------------- completeness


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m.name)
def test_every_metric_has_labels_and_unit(metric):
    zh, en = both(f"metric.{metric.name}")
    assert (zh, en) == (metric.zh, metric.en)
    assert labels.has_key(f"unit.{metric.unit}"), f"no unit label for {metric.unit!r}"
    assert labels.metric_label(metric.name, "zh", with_unit=True).startswith(zh)


def test_every_schema_field_has_labels_and_unit():
    for spec in iter_field_specs():
        both(f"param.{spec.name}")
        assert labels.param_label(spec.name, "en") == spec.en
        assert labels.has_key(f"unit.{spec.unit}"), f"{spec.name}: no unit label {spec.unit!r}"


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_has_name_and_description(name):
    zh, _ = both(f"scenario.{name}")
    both(f"scenario_desc.{name}")
    assert labels.scenario_label(name, "zh") == zh
    assert zh != name


def test_label_file_names_only_existing_scenarios():
    named = {k.split(".", 1)[1] for k in labels.all_keys() if k.startswith("scenario.")}
    assert named == set(SCENARIOS)


def test_every_item_reason_stage_and_status_has_labels():
    for name in Reason.NAMES:
        both(f"reason.{name}")
        assert labels.reason_label(name, "zh") == labels.t(f"reason.{name}")
    for name in Stage.NAMES:
        both(f"stage.{name}")
    for name in Status.NAMES:
        both(f"status.{name}")
    assert labels.reason_label("flow_back", "zh") == "责任回流"
    assert labels.reason_label("paper_close", "zh") == "以文办结"


def test_every_network_node_kind_has_an_actor_label():
    model = sim.RegionModel(rng=1, population="classroom")
    kinds = {model.layout.kind_of(n) for n in range(model.layout.n_nodes)}
    assert {"district", "street", "conference", "community", "unit", "two_new",
            "resident"} <= kinds
    for kind in kinds | {"provider", "leading_group"}:
        both(f"actor.{kind}")
    assert labels.actor_label("street", "zh") == "街道党工委"
    assert labels.actor_label("community", "zh") == "社区“两委”"


def test_every_summary_key_has_a_label(classroom_run):
    for key in classroom_run.summary:
        zh = labels.summary_label(key, "zh")
        en = labels.summary_label(key, "en")
        assert CJK.search(zh) and not CJK.search(en), key
        assert labels.column_label(key, "zh") == zh


def test_core_ui_keys_exist():
    for key in ("play", "pause", "step", "reset", "language", "scenario", "seed", "week",
                "lever", "export_png", "item_story", "typical_returned_item",
                "projector_mode"):
        both(f"ui.{key}")


def test_ui_yaml_is_a_flat_mapping():
    text = (resources.files("sim.conf") / "labels" / "ui.yaml").read_text(encoding="utf-8")
    for key, entry in yaml.safe_load(text).items():
        assert isinstance(key, str) and "." not in key
        assert set(entry) == {"zh", "en"}, key
        assert all(isinstance(v, str) for v in entry.values()), key


# ----------------------------------------------------------------------------- Chinese text


def test_chinese_strings_are_chinese_with_full_width_punctuation():
    for key in labels.all_keys():
        zh, en = labels.t(key, "zh"), labels.t(key, "en")
        if key.startswith("unit.") and not CJK.search(zh):
            assert zh in ("",), key  # only the empty unit has no Chinese
            continue
        if not re.search(r"[^\W\d_]", FORMAT_FIELD.sub("", zh)):
            continue  # a pure template such as "{actor}{n}": no words to translate
        if zh == en:
            continue  # the same in both languages on purpose (a language's own name)
        assert CJK.search(zh), f"{key}: {zh!r} has no Chinese"
        assert not HALF_WIDTH_NEXT_TO_CJK.search(zh), f"{key}: half-width punctuation in {zh!r}"
        assert not CJK.search(en), f"{key}: Chinese in the English label {en!r}"


# ----------------------------------------------------------------------------- lookup API


def test_lookup_errors_and_formatting():
    assert labels.LANGS == ("zh", "en") and labels.DEFAULT_LANG == "zh"
    assert labels.t("metric.return_flow_rate") == "事项回流率"
    assert labels.t("ui.week_n", "en", n=3) == "Week 3"
    assert labels.t("ui.week_n", "zh", n=3) == "第3周"
    with pytest.raises(KeyError, match="metric.no_such_metric"):
        labels.t("metric.no_such_metric")
    with pytest.raises(ValueError, match="zh, en"):
        labels.t("metric.backlog", "fr")
    assert labels.metric_label("backlog", "zh", with_unit=True) == "积压事项（件）"
    assert labels.metric_label("backlog", "en", with_unit=True) == "Backlog (items)"
    assert labels.param_label("admin.burden", "zh") == "行政负担"
    assert labels.column_label("admin.burden", "en") == "Administrative burden"
    assert labels.column_label("not_a_column", "zh") == "not_a_column"
    assert labels.all_keys() == sorted(labels.all_keys())


# ----------------------------------------------------------------------------- aliases


def test_every_chinese_scenario_name_is_an_alias():
    aliases = labels.scenario_aliases()
    for name in SCENARIOS:
        assert aliases[labels.scenario_label(name, "zh")] == name
    assert set(aliases.values()) <= set(SCENARIOS)
    assert not set(aliases) & set(SCENARIOS), "an alias shadows a preset name"
    assert aliases["运行过程行政化"] == "admin_overload"


def test_chinese_names_compose_to_the_preset():
    assert to_dict(sim.compose("综合改革")) == to_dict(sim.compose("full_reform"))
    assert sim.compose("共治机制").name == "co_governance"


def test_run_accepts_a_chinese_name(classroom_run):
    assert classroom_run.config.name == "co_governance"
    assert classroom_run.config.empowerment.street_authority == \
        sim.compose("co_governance").empowerment.street_authority


def test_unknown_scenario_error_lists_chinese_names():
    with pytest.raises(ConfigError, match="共治机制") as err:
        sim.compose("没有这个情景")
    assert err.value.field == "scenario"
    assert "co_governance" in str(err.value)
