"""Plot helpers (sim.plots): Chinese renders without missing glyphs, a machine without a CJK
font falls back to English with one warning, and every plot reads the shared tables."""

from __future__ import annotations

import math
import re
import warnings
from io import BytesIO

import matplotlib
import numpy as np
import pandas as pd
import pytest

import sim
from sim import plots
from sim.labels import metric_label, param_label, scenario_label

CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture(autouse=True)
def restore_rcparams():
    """use_language sets global rcParams; undo that after each test."""
    with matplotlib.rc_context():
        yield


@pytest.fixture(scope="module")
def result() -> sim.RunResult:
    return sim.run("baseline", seed=1, steps=8, overrides=["population=classroom", "spin_up=10"])


@pytest.fixture
def tidy() -> pd.DataFrame:
    """A tidy experiments table: 3 scenarios × 3 burdens × 2 authorities × 3 replicates, plus
    one failed run whose (absurd) values must be ignored."""
    rng = np.random.default_rng(0)
    rows = []
    point = 0
    for scen in ("baseline", "co_governance", "full_reform"):
        for burden in (0.2, 0.5, 0.8):
            for authority in (0.3, 0.8):
                for rep in range(3):
                    rows.append({"point": point, "replicate": rep, "seed": rep,
                                 "scenario": scen, "admin.burden": burden,
                                 "empowerment.street_authority": authority, "status": "ok",
                                 "error": "", "closure_rate": burden + rng.normal(0, 0.05),
                                 "return_flow_rate": authority * burden})
                point += 1
    rows.append({**rows[0], "status": "failed", "error": "boom", "closure_rate": 99.0})
    return pd.DataFrame(rows)


def texts_of(fig) -> list[str]:
    """Every visible string of a figure (titles, labels, tick labels, legends)."""
    fig.canvas.draw()
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]


def render(fig) -> list[str]:
    """Save to PNG and return the glyph warnings raised while drawing."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(BytesIO(), format="png", dpi=40)
    return [str(w.message) for w in caught if "Glyph" in str(w.message)]


# ----------------------------------------------------------------------------- fonts


def test_chinese_figure_renders_without_missing_glyphs(result):
    if plots.find_cjk_font() is None:
        pytest.skip("no CJK font installed on this machine (apt-get install fonts-noto-cjk)")
    assert plots.use_language("zh") == "zh"
    assert matplotlib.rcParams["font.family"][0] == "DejaVu Sans"
    fig = plots.plot_result(result, "zh")
    assert render(fig) == []
    assert any(CJK.search(s) for s in texts_of(fig))
    assert metric_label("closure_rate", "zh") in texts_of(fig)


def test_without_cjk_font_zh_falls_back_to_english_once(monkeypatch, result):
    monkeypatch.setattr(plots, "find_cjk_font", lambda: None)
    monkeypatch.setattr(plots, "_warned_no_cjk", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert plots.use_language("zh") == "en"
        assert plots.use_language("zh") == "en"
        fig = plots.plot_result(result, "zh")
    mine = [w for w in caught if issubclass(w.category, UserWarning)
            and "fonts-noto-cjk" in str(w.message)]
    assert len(mine) == 1
    texts = texts_of(fig)
    assert not any(CJK.search(s) for s in texts), texts
    assert metric_label("closure_rate", "en") in texts
    assert render(fig) == []


def test_a_cjk_font_missing_from_matplotlibs_cache_is_found(monkeypatch):
    if plots.find_cjk_font() is None:
        pytest.skip("no CJK font installed on this machine (apt-get install fonts-noto-cjk)")
    fm = matplotlib.font_manager.fontManager
    monkeypatch.setattr(fm, "ttflist", [f for f in fm.ttflist
                                        if f.name not in plots.CJK_FAMILIES])
    monkeypatch.setattr(plots, "_font_cache", {})
    assert plots._known_cjk_family() is None
    assert plots.find_cjk_font() in plots.CJK_FAMILIES


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="zh, en"):
        plots.use_language("fr")


# ----------------------------------------------------------------------------- single runs


def test_timeseries_panels_are_grouped_by_unit(result):
    names = ["closure_rate", "satisfaction", "backlog", "mean_closure_time"]
    fig = plots.plot_timeseries(result.timeseries, names, lang="en")
    axes = [ax for ax in fig.axes if ax.get_visible()]
    lines = sorted(len(ax.get_lines()) for ax in axes)
    assert lines == [1, 1, 2]  # shares + [0,1] index together; items; weeks
    ylabels = {ax.get_ylabel() for ax in axes}
    assert {"share", "items", "weeks"} == ylabels


def test_timeseries_into_a_given_axes(result):
    fig = plots.plot_result(result, "en")
    ax = fig.axes[0]
    n_before = len(ax.get_lines())
    assert plots.plot_timeseries(result.timeseries, ["trust"], lang="en", ax=ax) is fig
    assert len(ax.get_lines()) == n_before + 1


def test_timeseries_into_a_given_figure_keeps_its_size(result):
    fig = matplotlib.figure.Figure(figsize=(5, 4))
    assert plots.plot_timeseries(result.timeseries, lang="en", fig=fig) is fig
    assert tuple(fig.get_size_inches()) == (5, 4)
    assert len(fig.axes) > 1


def test_result_panels(result):
    fig = plots.plot_result(result, "en")
    assert len(fig.axes) == len(plots.RESULT_PANELS)
    legend = {t.get_text() for ax in fig.axes for t in ax.get_legend().get_texts()}
    for name in ("participation_units", "participation_two_new", "participation_residents",
                 "return_flow_rate", "closure_rate", "resolution_rate", "satisfaction",
                 "form_effort_share", "backlog"):
        assert metric_label(name, "en") in legend
    assert "Substance effort share" in legend
    assert fig._suptitle.get_text() == "Baseline (seed 1)"


# ----------------------------------------------------------------------------- experiments


def test_mean_ci_is_the_student_t_interval():
    mean, half, n = plots.mean_ci([1.0, 2.0, 3.0, float("nan")])
    assert (mean, n) == (2.0, 3)
    assert half == pytest.approx(4.302653 / math.sqrt(3), rel=1e-5)
    assert math.isnan(plots.mean_ci([5.0])[1])


def test_scenario_comparison_ignores_failed_runs(tidy):
    stats = plots.mean_ci_table(tidy, "scenario", "closure_rate")
    assert stats["n"].tolist() == [18, 18, 18] and stats["mean"].max() < 1
    fig = plots.plot_scenario_comparison(tidy, "closure_rate", "en", reference="full_reform")
    ax = fig.axes[0]
    ticks = dict(zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels())))
    assert ticks[max(ticks)] == scenario_label("full_reform", "en")  # reference on top
    assert len(ax.patches) == 3
    assert render(fig) == []


def test_response_curve_and_surface(tidy):
    fig = plots.plot_response_curve(tidy, "admin.burden", "closure_rate", "en")
    ax = fig.axes[0]
    assert ax.get_xlabel() == param_label("admin.burden", "en")
    assert len(ax.get_lines()) == 3  # one per scenario
    assert ax.get_lines()[0].get_xdata().tolist() == [0.2, 0.5, 0.8]
    one = tidy[tidy["scenario"] == "baseline"]
    fig = plots.plot_surface(one, "admin.burden", "empowerment.street_authority",
                             "return_flow_rate", "en")
    image = fig.axes[0].get_images()[0].get_array()
    assert image.shape == (2, 3)
    assert image[1, 2] == pytest.approx(0.8 * 0.8)


def test_save_figure_writes_png_and_svg(tmp_path, tidy):
    fig = plots.plot_scenario_comparison(tidy, "closure_rate", "en")
    paths = plots.save_figure(fig, tmp_path / "sub" / "comparison")
    assert [p.name for p in paths] == ["comparison.png", "comparison.svg"]
    assert all(p.stat().st_size > 0 for p in paths)
    assert paths[0].read_bytes()[:4] == b"\x89PNG"
