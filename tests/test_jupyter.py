"""Jupyter niceties: short reprs, HTML displays, ``plot()``, saved runs read back as RunResults,
readable item and hand-off tables, Chinese scenario names (tiny classroom runs)."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

import sim
import sim.readable as rd
from sim.config import to_dict
from sim.io import load_run, save_run

SMALL = ["population=classroom", "spin_up=10"]


@pytest.fixture(scope="module")
def result():
    """A run where items flow back (suspended structure), 14 weeks."""
    return sim.run("suspended_structure", seed=1, steps=14, overrides=SMALL)


# --------------------------------------------------------------------------- reprs


def test_run_result_repr_is_short_and_informative(result):
    text = repr(result)
    assert len(text) < 600, len(text)
    for part in ("suspended_structure", "seed=1", "steps=14", "spin_up=10", "classroom",
                 "residents=", "resolution_rate=", "return_flow_rate="):
        assert part in text, part
    assert "interventions" not in text and "street_levers" not in text  # no config dump


def test_run_result_repr_html_is_html(result):
    html = result._repr_html_()
    assert html.startswith("<div>") and html.endswith("</div>") and "<table>" in html
    assert len(html) < 4000
    assert "组织架构悬浮" in html  # the scenario's Chinese name
    assert "事项回流率" in html     # a metric's Chinese label


def test_region_model_repr_and_html():
    model = sim.RegionModel(rng=2, population="classroom", spin_up=3)
    text = repr(model)
    assert len(text) < 600
    for part in ("baseline", "week=0", "street=1", "community=3", "resident=", "open items="):
        assert part in text, part
    model.step()
    assert "week=1" in repr(model)
    html = model._repr_html_()
    assert html.startswith("<div>") and "<table>" in html and "街道党工委" in html


def test_plot_returns_a_figure(result):
    from matplotlib.figure import Figure

    fig = result.plot()
    assert isinstance(fig, Figure)
    fig2 = result.plot(lang="en", metrics=["satisfaction", "trust"])
    assert isinstance(fig2, Figure)


# --------------------------------------------------------------------------- save / load


def test_load_run_returns_an_equal_run_result(result, tmp_path):
    back = load_run(save_run(result, tmp_path / "run"))
    assert isinstance(back, sim.RunResult)
    assert back.summary.keys() == result.summary.keys()
    for k, v in result.summary.items():
        w = back.summary[k]
        assert (math.isnan(v) and math.isnan(w)) or v == pytest.approx(w), k
    pd.testing.assert_frame_equal(back.timeseries, result.timeseries)
    for name in ("items", "handoffs", "streets", "by_street", "actors"):
        pd.testing.assert_frame_equal(getattr(back, name), getattr(result, name))
    assert to_dict(back.config) == to_dict(result.config)
    assert to_dict(back.final_config) == to_dict(result.final_config)
    assert back.metadata["population"] == "classroom"
    # the old dict-style access still works
    assert back["summary"] is back.summary and back["metadata"]["seed"] == 1
    with pytest.raises(KeyError):
        back["nope"]
    assert repr(back) == repr(result)


def test_saved_actors_csv_opens_in_excel(result, tmp_path):
    out = save_run(result, tmp_path / "run")
    raw = (out / "actors.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel shows the Chinese names
    assert "街道1党工委" in raw.decode("utf-8-sig")


def test_old_saved_run_without_actors_still_loads(result, tmp_path):
    out = save_run(result, tmp_path / "run")
    (out / "actors.parquet").unlink()
    back = load_run(out)
    assert back.actors is None
    table = rd.handoffs(back, "zh")
    assert table["从"].str.startswith("节点").any()  # unnamed, but readable


# --------------------------------------------------------------------------- readable tables


def test_actors_table_names_every_node_in_the_tables(result):
    actors = result.actors
    assert actors["node"].is_unique
    known = set(actors["node"])
    nodes = set(result.handoffs["from_node"]) | set(result.handoffs["to_node"])
    nodes |= set(result.items["holder"])
    assert nodes <= known
    name = dict(zip(actors["node"], actors["name_zh"]))
    assert name[1] == "街道1党工委" and name[2] == "街道1党建联席会议"
    assert dict(zip(actors["node"], actors["name_en"]))[1] == "Street 1 committee"


def test_readable_handoffs_show_names_and_chinese_reasons(result):
    table = rd.handoffs(result, "zh")
    assert list(table.columns) == ["事项", "周", "从", "到", "事由"]
    assert len(table) == len(result.handoffs)
    for col in ("事项", "从", "到", "事由"):
        assert table[col].map(type).eq(str).all(), col
        assert not table[col].str.fullmatch(r"-?\d+").any(), col  # no bare integer ids
    assert "街道1党工委" in set(table["从"])
    assert {"居民提出", "上报街道", "责任回流"} <= set(table["事由"])
    assert table["事由"].map(lambda s: re.search(r"[\u4e00-\u9fff]", s) is not None).all()
    en = rd.handoffs(result, "en", only_handoffs=True)
    assert list(en.columns) == ["item", "week", "from", "to", "reason"]
    assert "Flowed back" in set(en["reason"]) and "Raised by a resident" not in set(en["reason"])
    assert result.handoffs_table("zh").equals(table)


def test_readable_items_and_story(result):
    table = rd.items(result, "zh")
    assert len(table) == len(result.items)
    assert table["提出人"].str.startswith("居民").all()
    assert set(table["结果"]) & {"办结并解决", "办结但未解决", "逾期失效"}
    ids = rd.returned_items(result)
    assert ids, "suspended_structure should return items"
    text = rd.story(result, ids[0], "zh")
    assert "责任回流" in text and "结果：" in text and "居民" in text
    assert "flowed back" in rd.story(result, ids[0], "en")
    with pytest.raises(KeyError):
        rd.story(result, -5)


def test_readable_tables_work_on_a_model_and_a_saved_run(result, tmp_path):
    model = sim.RegionModel(rng=1, population="classroom", spin_up=3)
    for _ in range(3):
        model.step()
    table = rd.handoffs(model, "zh")
    assert len(table) and not table["从"].str.fullmatch(r"-?\d+").any()
    assert len(rd.items(model, "en")) == len(model.items.table())
    out = save_run(result, tmp_path / "run")
    assert rd.handoffs(out, "zh").equals(rd.handoffs(result, "zh"))


def test_readable_tables_are_none_without_records():
    r = sim.run(seed=1, steps=3, overrides=SMALL + ["items.record=none"])
    assert rd.handoffs(r) is None and rd.items(r) is None and r.items_table() is None


# --------------------------------------------------------------------------- scenario names


def test_chinese_scenario_names_are_accepted():
    labels = pytest.importorskip("sim.labels")
    zh = labels.scenario_label("co_governance", "zh")
    r = sim.run(zh, seed=3, steps=2, overrides=["population=classroom", "spin_up=2"])
    assert r.config.name == "co_governance"
    same = sim.run("co_governance", seed=3, steps=2, overrides=["population=classroom", "spin_up=2"])
    pd.testing.assert_frame_equal(r.timeseries, same.timeseries)


def test_run_docstring_explains_overrides():
    doc = sim.run.__doc__
    for part in ("admin.burden=0.8", "population=classroom", "street_levers", "interventions",
                 "共治机制", "dict"):
        assert part in doc, part
