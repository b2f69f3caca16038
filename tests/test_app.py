"""The classroom app without a browser: the Session logic and the Page rendered headless with
``solara.render`` (real buttons clicked, real sliders moved)."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest

pytest.importorskip("solara")

import ipyvuetify as v
import solara
import solara.widgets

from sim.app.page import Page, StoryView
from sim.app.session import HEADLINE_LEVERS, Session, lever_controls
from sim.config import BUILD_ONLY, ConfigError, field_spec
from sim.items import Reason
from sim.labels import param_label, reason_label, t

_NODE_RE = re.compile(r"\b(node|from_node|to_node)\b")


# ----------------------------------------------------------------------------- helpers


def _render(**kwargs):
    box, rc = solara.render(Page(**kwargs), handle_error=False)
    return box, rc


def _button(rc, cls):
    return rc.find(v.Btn, class_=cls).widget


def _html(rc, cls) -> str:
    found = [w for w in rc.find(solara.widgets.HTML).widgets
             if cls in (w.attributes or {}).get("class", "").split()]
    assert found, f"no HTML element with class {cls}"
    return " ".join(w.unsafe_innerHTML or "" for w in found)


def _week(rc) -> int:
    text = _html(rc, "rpb-counters")
    return int(re.search(r"rpb-c-week\">[^<]*<b>(\d+) /", text).group(1))


def _slider(rc, name, lang):
    label = param_label(name, lang)
    for s in rc.find(v.Slider).widgets:
        if s.label.startswith(label):
            return s
    raise AssertionError(f"no slider for {name}")


def _charts_width(rc) -> int:
    import io

    import ipywidgets
    from PIL import Image

    (img,) = [w for w in rc.find(ipywidgets.Image).widgets if "rpb-charts-img" in w._dom_classes]
    return Image.open(io.BytesIO(img.value)).size[0]


def _move(slider, value):
    """What a browser does: the slider's value changes, then it fires ``change``."""
    slider.v_model = value
    slider.fire_event("change", value)


def _wait(cond, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


# ----------------------------------------------------------------------------- session logic


def test_controls_come_from_the_schema():
    controls = lever_controls()
    assert [c.name for c in controls] == list(HEADLINE_LEVERS)
    for c in controls:
        spec = field_spec(c.name)
        assert (c.lo, c.hi, c.default) == (spec.lo, spec.hi, spec.default)
        assert c.build_only == (c.name in BUILD_ONLY)
        assert c.clamp(spec.hi + 10) == spec.hi and c.clamp(spec.lo - 10) == spec.lo
        assert spec.lo <= c.clamp((spec.lo + spec.hi) / 3) <= spec.hi
    assert lever_controls(["admin.burden"])[0].clamp(0.2512) == 0.25  # snapped to the step
    with pytest.raises(ConfigError):
        controls[0].clamp(float("nan"))


def test_session_lever_mid_run_uses_the_intervention_mechanism():
    s = Session(seed=2)
    assert s.set_lever("admin.burden", 0.8) == "rebuilt"  # week 0: rebuilt with the value
    assert s.model.config.admin.burden == 0.8
    s.step(3)
    assert s.set_lever("admin.burden", 7.0) == "next_week"  # clamped to the schema's hi
    assert s.values["admin.burden"] == 1.0
    assert s.model.config.admin.burden == 0.8  # not before the next week
    assert s.set_lever("admin.burden", 0.2) == "next_week"  # replaces the pending change
    assert sum(1 for iv in s.model.pending_interventions if iv["step"] == 4) == 1
    s.step(1)
    assert s.model.config.admin.burden == 0.2
    assert [(c.week, c.name, c.new) for c in s.changes] == [(4, "admin.burden", 0.2)]
    assert s.set_lever("staff.intrinsic_motivation", 1.0) == "on_reset"
    assert s.pending_build == {"staff.intrinsic_motivation"}
    s.reset()
    assert s.week == 0 and s.model.config.staff.intrinsic_motivation == 1.0
    assert s.model.config.admin.burden == 0.2 and not s.pending_build


def test_session_is_reproducible_and_capped():
    a, b = Session(seed=5), Session(seed=5)
    a.step(6)
    b.step(6)
    assert a.counters() == b.counters()
    with pytest.raises(ConfigError):
        Session(population="district")
    with pytest.raises(ConfigError):
        a.set_population("district")


def test_item_story_is_words_not_ids():
    s = Session(seed=1)
    s.step(16)
    item = s.typical_returned_item()
    assert item is not None
    for lang in ("zh", "en"):
        story = s.story(item, lang)
        text = " ".join([story.path, story.outcome, *story.notes, *(x.text for x in story.steps)])
        assert reason_label("flow_back", lang) in text
        assert t("actor.street", lang) in text and t("actor.conference", lang) in text
        for name in Reason.NAMES:  # no reason codes
            assert not re.search(rf"\b{name}\b", text), name
        assert not _NODE_RE.search(text)
        # no raw graph node ids: every number shown is an actor's number within its kind
        # (≤ the largest kind) or a week
        L = s.model.layout
        biggest = max(L.n_units, L.n_two_new, L.n_communities, s.week)
        assert all(int(n) <= biggest for n in re.findall(r"\d+", " ".join(
            [story.path, *(x.text for x in story.steps)])))
        assert story.hops and all(isinstance(h, tuple) for h in story.hops)
    assert s.story(10**9, "zh") is None


# ----------------------------------------------------------------------------- the page


def test_page_builds_steps_resets_and_switches_language():
    _, rc = _render(lang="en")
    assert _week(rc) == 0
    assert "Step" in _button(rc, "rpb-step").children
    _button(rc, "rpb-step").click()
    assert _week(rc) == 1
    _button(rc, "rpb-step").click()
    assert _week(rc) == 2
    # language switch: every control label changes
    en = {s.label for s in rc.find(v.Slider).widgets}
    _button(rc, "rpb-lang-zh").click()
    zh = {s.label for s in rc.find(v.Slider).widgets}
    assert en.isdisjoint(zh)
    assert param_label("admin.burden", "zh") in zh
    assert t("ui.step", "zh") in _button(rc, "rpb-step").children
    assert t("ui.app_counter_open", "zh") in _html(rc, "rpb-counters")
    assert _week(rc) == 2  # the same run
    _button(rc, "rpb-reset").click()
    assert _week(rc) == 0
    # projector mode: the page's class, and charts redrawn larger
    width = _charts_width(rc)
    rc.find(v.Switch, class_="rpb-projector-switch").widget.v_model = True
    assert any("rpb-projector" in (w.class_ or "").split() for w in rc.find(v.Sheet).widgets)
    assert _charts_width(rc) > width


def test_page_slider_stays_in_schema_range_and_acts_next_week():
    _, rc = _render(lang="en")
    for name in HEADLINE_LEVERS:
        spec, slider = field_spec(name), _slider(rc, name, "en")
        assert (slider.min, slider.max) == (spec.lo, spec.hi)
    _button(rc, "rpb-step").click()
    slider = _slider(rc, "admin.burden", "en")
    _move(slider, 3.5)  # beyond the schema's range
    slider = _slider(rc, "admin.burden", "en")
    assert slider.v_model == field_spec("admin.burden").hi
    assert "2" in _html(rc, "rpb-msg")  # "takes effect from week 2"
    _move(slider, 0.3)  # an ordinary move stays where it was put
    assert _slider(rc, "admin.burden", "en").v_model == 0.3
    _button(rc, "rpb-step").click()
    assert _slider(rc, "admin.burden", "en").v_model == 0.3
    assert "0.3" in _html(rc, "rpb-changes")


def test_page_play_pause_and_item_story():
    _, rc = _render(lang="zh")
    rc.find(v.BtnToggle, class_="rpb-speed").widget.v_model = 1  # 4 weeks per tick
    _button(rc, "rpb-play").click()
    assert _wait(lambda: _week(rc) >= 12)
    _button(rc, "rpb-play").click()  # pause
    week = _week(rc)
    time.sleep(0.5)
    assert _week(rc) in (week, week + 4)  # at most the tick in flight
    _button(rc, "rpb-typical").click()
    story = _html(rc, "rpb-story-body")
    assert reason_label("flow_back", "zh") in story
    assert t("actor.conference", "zh") in story
    for name in Reason.NAMES:
        assert not re.search(rf"\b{name}\b", story)
    _button(rc, "rpb-lang-en").click()
    assert reason_label("flow_back", "en") in _html(rc, "rpb-story-body")


def test_story_view_renders_nothing_without_story():
    solara.render(StoryView(None, "zh"), handle_error=False)


def test_page_embeds_in_a_notebook():
    from sim.app import Page as Exported

    assert Exported is Page
    assert hasattr(Exported(lang="en"), "_ipython_display_")  # a cell's value displays it


def test_import_is_cheap_and_cli_defaults(capsys):
    code = "import sys, sim.app; assert 'solara' not in sys.modules; print(sim.app.__all__)"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    from sim.app.__main__ import parse_args, server_env

    args = parse_args([])
    assert (args.host, args.port, args.lang) == ("127.0.0.1", 8765, "zh")
    assert parse_args(["--lang", "en", "--port", "0"]).lang == "en"
    with pytest.raises(SystemExit):
        parse_args(["--lang", "fr"])
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    assert "--host" in capsys.readouterr().out
    assert server_env("en")["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
