"""The classroom page (Solara): one component, :func:`Page`, for the server and for Jupyter.

``solara run sim.app.page`` (what ``python -m sim.app`` starts) serves :func:`Page`; in a
notebook ``from sim.app import Page; Page()`` renders the same component. Each browser tab
(each Solara session, each notebook cell) builds its own :class:`sim.app.session.Session`
inside the component — never at import time. Every visible string comes from
:mod:`sim.labels` (``ui.*`` keys in ``configs/labels/ui.yaml``); lever sliders are generated
from the schema (:func:`sim.app.session.lever_controls`).
"""

from __future__ import annotations

import html
import os
import time

import solara
import solara.lab

from ..compose import list_scenarios
from ..labels import DEFAULT_LANG, LANGS, param_label, scenario_label, t, unit_label
from .frames import charts_png, district_png
from .pacing import FramePacer
from .session import APP_POPULATIONS, Session, take_session

__all__ = ["Page", "default_lang"]

#: Seconds between two weeks while playing (plus the time a render takes, and any wait for
#: the page to show the previous week: see :mod:`sim.app.pacing`).
PLAY_INTERVAL = 0.15

CSS = """
.rpb-app { max-width: 1800px; margin: 0 auto; padding: 4px 12px; }
.rpb-app .rpb-title { margin: 4px 0; font-weight: 600; }
.rpb-counter { display: inline-block; padding: 4px 12px; margin: 2px 8px 2px 0;
  border-radius: 6px; background: #f1f4f8; border: 1px solid #c8cfdb; }
.rpb-counter b { font-size: 1.35em; margin-left: 4px; }
.rpb-note { color: #5a5a5a; font-size: 0.92em; }
.rpb-msg { color: #0b5394; font-weight: 500; }
.rpb-path { font-weight: 600; line-height: 1.6; }
.rpb-outcome { font-weight: 600; color: #1d1d1d; }
.rpb-story ol { padding-left: 1.3em; margin: 4px 0; }
.rpb-story li { margin-bottom: 3px; }
.rpb-story .rpb-when { color: #555; margin-right: 6px; white-space: nowrap; }
.rpb-app img { max-width: 100%; height: auto; }
.rpb-lever { margin-bottom: -4px; }
.rpb-lever-value b { color: #0b5394; font-size: 1.1em; }
/* projector mode: large type, high contrast */
.rpb-projector { zoom: 1.25; }
.rpb-projector, .rpb-projector .v-card, .rpb-projector .v-label, .rpb-projector .v-input,
.rpb-projector .v-select__selection, .rpb-projector .rpb-note, .rpb-projector .rpb-when,
.rpb-projector .v-card__title { color: #000 !important; }
.rpb-projector .v-card { border: 2px solid #000 !important; box-shadow: none !important; }
.rpb-projector .rpb-counter { background: #fff; border: 2px solid #000; font-size: 1.2em; }
.rpb-projector .rpb-msg { color: #000; font-weight: 700; }
.rpb-projector .v-btn:not(.v-btn--outlined) { font-weight: 700; }
.rpb-projector .rpb-path, .rpb-projector .rpb-story li { font-size: 1.1em; }
"""


def default_lang() -> str:
    """The page's first language: ``$RPB_APP_LANG`` (set by ``python -m sim.app --lang``)."""
    lang = os.environ.get("RPB_APP_LANG", DEFAULT_LANG)
    return lang if lang in LANGS else DEFAULT_LANG


def _fmt(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _counter(label: str, value, cls: str) -> str:
    return (f'<span class="rpb-counter {cls}">{html.escape(label)}'
            f"<b>{html.escape(str(value))}</b></span>")


@solara.component
def LeverSlider(control, value, label: str, on_change, disabled: bool = False):
    """One lever's slider. The model hears of a move when the slider is released (Vuetify's
    ``change`` event), not on every pixel of a drag; the value the session accepted (clamped
    to the schema's range, snapped to the step) is written back to the slider."""
    el = solara.v.Slider(label=label, v_model=value, min=control.lo, max=control.hi,
                         step=control.step, thumb_label=True, hide_details=True,
                         disabled=disabled, class_="rpb-slider")

    def on_release(widget, event, data):
        accepted = on_change(control.name, data)
        if data != accepted:  # clamped or snapped: show what the model got
            widget.v_model = accepted

    solara.v.use_event(el, "change", on_release)
    return el


@solara.component
def Levers(session: Session, values: dict, lang: str, on_change, disabled: bool):
    """Sliders of the headline levers, generated from the schema. ``values`` (a copy of the
    session's) is a prop so that the sliders re-render when a value changes."""
    for c in session.controls:
        label = param_label(c.name, lang)
        if c.build_only:
            label = f"{label}{t('ui.app_on_reset_suffix', lang)}"
        unit = unit_label(c.unit, lang)
        with solara.Div(classes=["rpb-lever", "rpb-lever-" + c.name.replace(".", "-")]):
            LeverSlider(c, values[c.name], label, on_change, disabled)
            solara.HTML(tag="div", classes=["rpb-note", "rpb-lever-value"],
                        unsafe_innerHTML=f"<b>{html.escape(_fmt(values[c.name]))}</b>　"
                                         + html.escape(f"{_fmt(c.lo)}–{_fmt(c.hi)} {unit}".strip()))


@solara.component
def StoryView(story, lang: str):
    if story is None:
        return
    rows = "".join(f'<li><span class="rpb-when">{html.escape(s.when)}</span>'
                   f"{html.escape(s.text)}</li>" for s in story.steps)
    notes = "".join(f'<div class="rpb-note">{html.escape(n)}</div>' for n in story.notes)
    body = (f"<div><b>{html.escape(story.title)}</b></div>{notes}"
            f'<div class="rpb-path">{html.escape(story.path)}</div>'
            f'<div class="rpb-outcome">{html.escape(story.outcome)}</div>'
            f"<ol>{rows}</ol>")
    solara.HTML(tag="div", classes=["rpb-story", "rpb-story-body"], unsafe_innerHTML=body)


@solara.component_vue("frame_ack.vue")
def FrameAck(frame: int, event_shown=None):
    """Hidden: reports each ``frame`` the browser has received to ``event_shown(frame)``."""


@solara.component
def Page(lang: str | None = None, scenario: str = "baseline", seed: int = 1,
         population: str = "classroom"):
    """The classroom app. In Jupyter: ``from sim.app import Page; Page()``.

    Args:
        lang: "zh" or "en" (default ``$RPB_APP_LANG`` or "zh"); switchable on the page.
        scenario, seed, population: the first run (each changeable on the page);
            ``population`` must be one of :data:`sim.app.session.APP_POPULATIONS`.
    """
    session: Session = solara.use_memo(lambda: take_session(scenario, seed, population), [])
    lang_r = solara.use_reactive(lang if lang in LANGS else default_lang())
    projector = solara.use_reactive(False)
    version = solara.use_reactive(0)
    playing = solara.use_reactive(False)
    speed = solara.use_reactive(1)
    story_id = solara.use_reactive(None)
    message = solara.use_reactive(("", {}))
    item_number = solara.use_reactive(0)
    pacer = solara.use_memo(FramePacer, [])
    L = lang_r.value

    def bump():
        version.set(version.value + 1)

    def say(key: str = "", **fmt):
        message.set((key, fmt))

    # ------------------------------------------------------------------ actions
    def play_loop():
        # a solara task (a thread bound to this tab's kernel): each tick steps the model and
        # re-renders, then waits until the page has shown that frame (a slow browser slows
        # play down instead of falling behind it); a new value of ``playing`` ends the loop
        while playing.value:
            if session.at_end:
                playing.set(False)
                say("ui.app_run_ended")
                break
            session.step(speed.value)
            bump()
            pacer.wait_shown(version.value)
            time.sleep(PLAY_INTERVAL)

    solara.lab.use_task(play_loop, dependencies=[playing.value], prefer_threaded=True)

    def toggle_play():
        if session.at_end:
            say("ui.app_run_ended")
            return
        playing.set(not playing.value)

    def step_once():
        session.step(1)
        say("ui.app_run_ended" if session.at_end else "")
        bump()

    def reset():
        playing.set(False)
        session.reset()
        story_id.set(None)
        say("ui.app_reset_done")
        bump()

    def on_lever(name, value):
        when = session.set_lever(name, value)
        if when == "next_week":
            say("ui.app_applies_next_week", n=session.week + 1)
        elif when == "rebuilt":
            story_id.set(None)
            say("ui.app_rebuilt")
        elif when == "on_reset":
            say("ui.app_applies_on_reset")
        bump()
        return session.values[name]

    def on_scenario(name):
        if name and name != session.scenario:
            playing.set(False)
            session.set_scenario(name)
            story_id.set(None)
            say("")
            bump()

    def on_population(name):
        if name and name != session.population:
            playing.set(False)
            session.set_population(name)
            story_id.set(None)
            bump()

    def on_seed(value):
        if value is not None and int(value) != session.seed and 0 <= int(value) < 2**32:
            playing.set(False)
            session.set_seed(int(value))
            story_id.set(None)
            bump()

    def restore():
        playing.set(False)
        session.restore_scenario_values()
        story_id.set(None)
        say("ui.app_reset_done")
        bump()

    def pick_typical():
        item = session.typical_returned_item()
        story_id.set(item)
        say("" if item is not None else "ui.app_no_returned_item")

    def pick_random():
        item = session.random_item(salt=version.value)
        story_id.set(item)
        say("" if item is not None else "ui.app_no_item")

    def pick_number(value):
        item_number.set(value or 0)
        if value is not None:
            story_id.set(int(value))

    # ------------------------------------------------------------------ derived views
    gen = session.generation
    key = [version.value, gen, L, projector.value]
    counters = session.counters()
    story = solara.use_memo(
        lambda: session.story(story_id.value, L) if story_id.value is not None else None,
        [story_id.value, *key])
    charts = solara.use_memo(lambda: charts_png(session, L, projector.value), key)
    district = solara.use_memo(
        lambda: district_png(session, L, projector.value, story.hops if story else None),
        [*key, story_id.value])

    # ------------------------------------------------------------------ cards
    c = counters

    def levers_card():
        with solara.Card(t("ui.levers", L), margin=0, classes=["rpb-levers"]):
            solara.HTML(tag="div", classes=["rpb-note"],
                        unsafe_innerHTML=html.escape(t("ui.app_levers_help", L)))
            Levers(session, dict(session.values), L, on_lever, disabled=False)
            solara.Button(t("ui.app_restore_scenario", L), on_click=restore, text=True,
                          classes=["rpb-restore"])
            lines = [t("ui.app_change", L, week=ch.week, lever=param_label(ch.name, L),
                       old=_fmt(ch.old), new=_fmt(ch.new)) for ch in session.changes]
            if session.pending_build:
                lines.append(t("ui.app_pending_reset", L, levers="、".join(
                    param_label(n, L) for n in sorted(session.pending_build))))
            if lines:
                solara.HTML(tag="div", classes=["rpb-note", "rpb-changes"],
                            unsafe_innerHTML="<br>".join(html.escape(x) for x in lines))

    def charts_card():
        with solara.Card(t("ui.app_charts", L), margin=0, classes=["rpb-charts"]):
            solara.Image(charts, width="100%", classes=["rpb-charts-img"])
            solara.FileDownload(
                charts, mime_type="image/png", label=t("ui.export_png", L),
                filename=f"rpb-{session.scenario}-seed{session.seed}-week{c['week']}.png")

    def district_card():
        with solara.Card(t("ui.app_district", L), margin=0, classes=["rpb-district"]):
            solara.HTML(tag="div", classes=["rpb-note"],
                        unsafe_innerHTML=html.escape(t("ui.app_district_help", L)))
            solara.Image(district, width="100%", classes=["rpb-district-img"])
            solara.FileDownload(
                district, mime_type="image/png", label=t("ui.app_export_district", L),
                filename=f"rpb-{session.scenario}-seed{session.seed}-week{c['week']}-district.png")

    def story_card():
        with solara.Card(t("ui.item_story", L), margin=0, classes=["rpb-story-card"]):
            with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
                solara.Button(t("ui.typical_returned_item", L), on_click=pick_typical,
                              color="primary", outlined=True, classes=["rpb-typical"])
                solara.Button(t("ui.app_random_item", L), on_click=pick_random,
                              outlined=True, classes=["rpb-random"])
                solara.InputInt(t("ui.app_item_number", L), value=item_number.value,
                                on_value=pick_number, dense=True,
                                style="max-width: 140px", classes=["rpb-item-number"])
            if story_id.value is not None and story is None:
                solara.HTML(tag="div", classes=["rpb-note"],
                            unsafe_innerHTML=html.escape(t("ui.app_no_item", L)))
            elif story is None:
                solara.HTML(tag="div", classes=["rpb-note"],
                            unsafe_innerHTML=html.escape(t("ui.app_story_help", L)))
            StoryView(story, L)

    # ------------------------------------------------------------------ layout
    classes = ["rpb-app"] + (["rpb-projector"] if projector.value else [])
    with solara.Column(classes=classes, gap="6px") as main:
        solara.Style(CSS)
        solara.Title(t("ui.app_title", L))
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.HTML(tag="h2", classes=["rpb-title"],
                        unsafe_innerHTML=html.escape(t("ui.app_title", L)))
            solara.v.Spacer()
            for code in LANGS:
                solara.Button(t(f"ui.app_lang_{code}", L), on_click=lambda c=code: lang_r.set(c),
                              outlined=code != L, color="primary", classes=[f"rpb-lang-{code}"])
            solara.Switch(label=t("ui.projector_mode", L), value=projector,
                          classes=["rpb-projector-switch"])

        with solara.Card(margin=0, classes=["rpb-controlbar"]):
            with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
                solara.v.Select(label=t("ui.scenario", L), v_model=session.scenario,
                                items=[{"text": scenario_label(s, L), "value": s}
                                       for s in list_scenarios()],
                                on_v_model=on_scenario, dense=True, hide_details=True,
                                style_="max-width: 260px; min-width: 200px",
                                class_="rpb-scenario")
                solara.v.Select(label=t("ui.population", L), v_model=session.population,
                                items=[{"text": t(f"ui.app_pop_{p}", L), "value": p}
                                       for p in APP_POPULATIONS],
                                on_v_model=on_population, dense=True, hide_details=True,
                                style_="max-width: 230px", class_="rpb-population")
                solara.InputInt(t("ui.seed", L), value=session.seed, on_value=on_seed,
                                dense=True, style="max-width: 120px", classes=["rpb-seed"])
                solara.Button(t("ui.pause", L) if playing.value else t("ui.play", L),
                              icon_name="mdi-pause" if playing.value else "mdi-play",
                              on_click=toggle_play, color="primary", classes=["rpb-play"],
                              disabled=session.at_end)
                solara.Button(t("ui.step", L), icon_name="mdi-step-forward", on_click=step_once,
                              disabled=playing.value or session.at_end, classes=["rpb-step"])
                solara.Button(t("ui.reset", L), icon_name="mdi-restore", on_click=reset,
                              classes=["rpb-reset"])
                solara.ToggleButtonsSingle(value=speed, values=[1, 4],
                                           classes=["rpb-speed"])
                solara.HTML(tag="span", classes=["rpb-note"],
                            unsafe_innerHTML=html.escape(t("ui.app_weeks_per_tick", L)))
            solara.HTML(tag="div", classes=["rpb-note", "rpb-scenario-desc"],
                        unsafe_innerHTML=html.escape(t(f"scenario_desc.{session.scenario}", L)))

        solara.HTML(tag="div", classes=["rpb-counters"], unsafe_innerHTML="".join([
            _counter(t("ui.app_counter_week", L),
                     f"{c['week']} / {c['total_weeks']}", "rpb-c-week"),
            _counter(t("ui.app_counter_open", L), c["open"], "rpb-c-open"),
            _counter(t("ui.app_counter_closed", L), c["closed"], "rpb-c-closed"),
            _counter(t("ui.app_counter_solved", L), c["solved"], "rpb-c-solved"),
            _counter(t("ui.app_counter_returned", L), c["returned"], "rpb-c-returned"),
        ]))
        msg_key, msg_fmt = message.value
        solara.HTML(tag="div", classes=["rpb-msg"],
                    unsafe_innerHTML=html.escape(t(msg_key, L, **msg_fmt)) if msg_key else "")

        if projector.value:  # the charts across the screen, the rest below them
            charts_card()
            with solara.Columns([1, 1, 1]):
                levers_card()
                district_card()
                story_card()
        else:
            with solara.Columns([1, 3]):
                levers_card()
                with solara.Column():
                    charts_card()
                    with solara.Columns([1, 1]):
                        district_card()
                        story_card()
        FrameAck(frame=version.value, event_shown=pacer.shown)
    return main
