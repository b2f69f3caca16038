"""An item's story (事项经历): its path through the district, in words.

The hand-off events of one item (:class:`sim.items.EventLog`) become a timeline of actors
and reasons — 居民 → 社区“两委”1 → 街道党工委 → 党建联席会议 → 驻区单位3、两新组织2 →
责任回流 → 街道党工委 → … — using the graph's node kinds for actors
(:meth:`sim.network.NodeLayout.kind_of` → :func:`sim.labels.actor_label`) and
:func:`sim.labels.reason_label` for reasons. No node id or reason code is shown: actors are
named by kind and their number within that kind (1-based).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..items import Reason
from ..labels import actor_label, reason_label, t

__all__ = ["Story", "StoryStep", "actor_name", "item_story"]

_ENDINGS = {"close", "paper_close", "expire"}
_BACK = {"flow_back", "push_down", "no_assignee"}


@dataclass
class StoryStep:
    """One line of the timeline."""

    week: int
    week_end: int
    reason: str          # Reason name (internal; shown only as its label)
    when: str            # "第3周" / "Weeks 4–6"
    text: str            # the sentence, in words
    hops: list[tuple[int, int]] = field(default_factory=list)  # (from, to) places moved between


@dataclass
class Story:
    item_id: int
    title: str
    steps: list[StoryStep]
    path: str            # the whole path on one line
    outcome: str
    notes: list[str]
    hops: list[tuple[int, int]]  # every move (from, to) in order, for the district view
                                 # (a resident is drawn at its community; −1 = a provider)


def actor_name(model, node: int, lang: str) -> str:
    """A node in words: its kind's label and, where the district has several, its number."""
    node = int(node)
    if node < 0:
        return actor_label("provider", lang)
    L = model.layout
    kind = L.kind_of(node)
    if kind in ("district", "resident"):
        return actor_label(kind, lang)
    start, count = {"street": (L.street0, L.n_streets), "conference": (L.conference0, L.n_streets),
                    "community": (L.community0, L.n_communities), "unit": (L.unit0, L.n_units),
                    "two_new": (L.two_new0, L.n_two_new)}[kind]
    idx = node - start
    label = actor_label(kind, lang)
    if kind == "two_new":
        label = actor_label("social_org" if model.state["two_new"].social[idx] else "firm", lang)
    if count == 1:
        return label
    return t("ui.app_actor_n", lang, actor=label, n=idx + 1)


def _join(names: list[str], lang: str) -> str:
    seen = list(dict.fromkeys(names))
    return ("、" if lang == "zh" else ", ").join(seen)


def _when(a: int, b: int, lang: str) -> str:
    return t("ui.week_n", lang, n=a) if a == b else t("ui.app_weeks_range", lang, a=a, b=b)


def _place(model, node: int) -> int:
    """Where a node sits in the district view (a resident → its community)."""
    L = model.layout
    if node >= L.resident0:
        return L.community0 + int(model.world.resident_community[node - L.resident0])
    return int(node)


def item_story(model, item_id: int, lang: str, events=None, items=None) -> Story | None:
    """The story of item ``item_id``, or None if the model has no record of it."""
    if events is None:
        events = model.events.table()
    if items is None:
        items = model.items.table()
    if events is None or items is None:
        return None
    row = items[items["item_id"] == item_id]
    ev = events[events["item_id"] == item_id].sort_values("step", kind="stable")
    if row.empty and ev.empty:
        return None
    name = lambda n: actor_name(model, n, lang)
    recs = [(int(s), int(f), int(to), str(r)) for s, f, to, r in
            zip(ev["step"], ev["from_node"], ev["to_node"], ev["reason"])]
    # Group consecutive events of the same week, reason and sender (co-responsible assignees).
    groups: list[list[tuple[int, int, int, str]]] = []
    for rec in recs:
        g = groups[-1] if groups else None
        if g and rec[3] not in ("delay",) and (g[0][0], g[0][1], g[0][3]) == (rec[0], rec[1], rec[3]) or g and rec[3] == "delay" and g[0][3] == "delay" and g[-1][1] == rec[1] \
                and rec[0] - g[-1][0] <= 1:
            g.append(rec)
        else:
            groups.append([rec])

    solved = bool(row["solved"].iloc[0]) if not row.empty else False
    status = str(row["status"].iloc[0]) if not row.empty else "open"
    steps: list[StoryStep] = []
    path: list[str] = []
    hops: list[tuple[int, int]] = []
    last_assignees: list[int] = []
    for g in groups:
        week, sender, _, reason = g[0]
        week_end = g[-1][0]
        to = [rec[2] for rec in g]
        what = reason_label(reason, lang)
        if reason == "delay":
            n = len(g)
            text = t("ui.app_story_act", lang, who=name(sender),
                     what=f"{what}（{t('ui.app_n_weeks', lang, n=n)}）" if lang == "zh"
                     else f"{what} ({t('ui.app_n_weeks', lang, n=n)})")
            path.append(f"{what}{t('ui.app_n_weeks', lang, n=n)}" if lang == "zh"
                        else f"{what} {t('ui.app_n_weeks', lang, n=n)}")
            moves = []
        elif reason in _ENDINGS:
            if reason != "expire":
                what_full = f"{what}（{t('ui.app_solved' if solved else 'ui.app_not_solved', lang)}）" \
                    if lang == "zh" else \
                    f"{what} ({t('ui.app_solved' if solved else 'ui.app_not_solved', lang)})"
            else:
                what_full = what
            text = t("ui.app_story_act", lang, who=name(sender), what=what_full)
            path.append(what_full)
            moves = []
        else:
            who = sender
            who_name = name(sender)
            if reason == "flow_back" and last_assignees:
                who_name = _join([name(a) for a in last_assignees], lang)
            text = t("ui.app_story_move", lang, who=who_name,
                     to=_join([name(x) for x in to], lang), what=what)
            if not path:
                path.append(name(who))
            if reason in _BACK:
                path.append(what)
            path.append(_join([name(x) for x in to], lang))
            senders = last_assignees if reason == "flow_back" and last_assignees else [sender]
            moves = [(a, b) for a in senders for b in to]
            last_assignees = to if reason in ("assign_negotiated", "assign_list") else []
        moves = [(_place(model, a), _place(model, b)) for a, b in moves]
        moves = [m for m in moves if m[0] != m[1]]
        hops.extend(moves)
        steps.append(StoryStep(week, week_end, reason, _when(week, week_end, lang), text, moves))

    notes = []
    first_reason = groups[0][0][3] if groups else ""
    if first_reason not in ("raised", "repeat"):
        notes.append(t("ui.app_story_before", lang))
    if not row.empty and int(row["repeat_of"].iloc[0]) >= 0:
        notes.append(t("ui.app_story_repeat", lang))
    if status == "closed":
        outcome = t("ui.app_outcome_solved" if solved else "ui.app_outcome_unsolved", lang)
    elif status == "expired":
        outcome = t("ui.app_outcome_expired", lang)
    else:
        stage = str(row["stage"].iloc[0]) if not row.empty else "community"
        outcome = t("ui.app_outcome_open", lang, stage=t(f"stage.{stage}", lang))
    title = t("ui.app_item_title", lang, n=int(item_id))
    return Story(int(item_id), title, steps, " → ".join(path), outcome, notes, hops)


# Keep the reasons this module words in step with sim.items.Reason.
assert _ENDINGS | _BACK | {"delay"} <= set(Reason.NAMES)
