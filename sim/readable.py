"""Readable item and hand-off tables: actor names and reason labels instead of node ids.

The raw tables use integers: a hand-off is ``(item_id, step, from_node, to_node, reason)`` and
an item's holder is a node id. To read them without the model, a run keeps an **actors table**
(:func:`actors_table`, stored as :attr:`sim.RunResult.actors` and as ``actors.parquet|csv``
in a saved run): one row per organisational actor — the district, every street Party working
committee, joint conference, community, resident unit and two-new organisation — plus the
outside service provider (node −1) and every resident who raised a recorded item, each with
its kind, street, community and a name in Chinese and English ("街道1党工委" / "Street 1
committee"). Streets are numbered from 1; communities, units and organisations from 1 within
their street (a one-street district leaves the street out of their names).

Where the tables live — one design for a model and a result:

- ``model.items`` is the *live store* of a running :class:`sim.RegionModel` (numpy columns);
  ``model.items.table()`` and ``model.events.table()`` return the raw tables so far.
- ``result.items`` and ``result.handoffs`` of a :class:`sim.RunResult` are those same raw
  tables (pandas DataFrames) taken at the end of the run.
- For people, every route ends here: :func:`items`, :func:`handoffs` and :func:`story` accept
  a ``RunResult`` (also one read back by :func:`sim.io.load_run`), a ``RegionModel`` (during
  or after a run) or the directory of a saved run, and return tables with names and labels
  in ``lang`` ("zh" or "en"). ``result.items_table(lang)`` and ``result.handoffs_table(lang)``
  are shortcuts.

Example::

    r = sim.run("suspended_structure", seed=1, steps=30,
                overrides=["population=classroom", "spin_up=20"])
    sim.readable.handoffs(r, "zh").head()     # 事项 周 从 到 事由
    sim.readable.items(r, "en")
    print(sim.readable.story(r, sim.readable.returned_items(r)[0], "zh"))
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "EXTERNAL_PROVIDER",
    "actor_names",
    "actors_table",
    "handoffs",
    "items",
    "model_repr",
    "model_repr_html",
    "returned_items",
    "story",
]

#: Node id of the outside service provider (``sim.institutions.street.EXTERNAL_PROVIDER``).
EXTERNAL_PROVIDER = -1

ACTOR_COLUMNS = ("node", "kind", "index", "street", "community", "number", "name_zh", "name_en")

# ---------------------------------------------------------------------------- labels
# sim.labels is the one label table; the few strings here are compositions (names, story
# sentences) that have no key there. A key missing from sim.labels falls back to these.
_FALLBACK_REASON = {
    "raised": ("居民提出", "Raised by a resident"), "escalate": ("上报街道", "Escalated"),
    "to_conference": ("提交联席会议", "Sent to the conference"),
    "assign_list": ("按清单交办", "Assigned by the list"),
    "assign_negotiated": ("协商交办", "Assigned by negotiation"),
    "outsource": ("购买服务", "Outsourced"), "flow_back": ("责任回流", "Flowed back"),
    "push_down": ("下压社区", "Pushed down"), "close": ("办结", "Closed"),
    "delay": ("搁置", "Delayed"), "expire": ("逾期失效", "Expired"),
    "no_assignee": ("无人可派", "No one to assign"), "paper_close": ("以文办结", "Closed on paper"),
    "repeat": ("重复诉求", "Repeat complaint"),
}
_FALLBACK_STAGE = {
    "community": ("社区办理中", "At the community"), "street": ("街道办理中", "At the street"),
    "conference": ("待联席会议", "Waiting for the conference"), "assigned": ("已交办", "Assigned"),
    "provider": ("服务供应方办理中", "With a provider"), "closed": ("已办结", "Closed"),
}


def _lang(lang: str) -> str:
    if lang not in ("zh", "en"):
        raise ValueError(f"unknown language {lang!r}; expected one of zh, en")
    return lang


def _label(namespace: str, name: str, lang: str, fallback: dict) -> str:
    try:
        from .labels import t

        return t(f"{namespace}.{name}", lang)
    except (ImportError, KeyError, OSError):
        pair = fallback.get(name)
        return pair[0 if lang == "zh" else 1] if pair else name


def _reason(name: str, lang: str) -> str:
    return _label("reason", name, lang, _FALLBACK_REASON)


def _stage(name: str, lang: str) -> str:
    return _label("stage", name, lang, _FALLBACK_STAGE)


def _kind(kind: str, lang: str) -> str:
    return _label("actor", kind, lang, {})


# ---------------------------------------------------------------------------- actors
def _number_within(street: np.ndarray) -> np.ndarray:
    """1-based position of each member within its street (in index order)."""
    return pd.Series(street).groupby(street).cumcount().to_numpy() + 1


def actor_names(kind: str, number, street, multi_street: bool, community_number=None,
                lang: str = "zh"):
    """Names of actors of one kind (vectorised over ``number``/``street`` arrays)."""
    number = np.asarray(number, dtype=np.int64)
    s = np.asarray(street, dtype=np.int64) + 1
    zh = lang == "zh"
    if kind == "street":
        return [f"街道{n}党工委" if zh else f"Street {n} committee" for n in number]
    if kind == "conference":
        return [f"街道{n}党建联席会议" if zh else f"Street {n} joint conference" for n in number]
    if kind == "resident":
        cn = np.asarray(community_number, dtype=np.int64)
        if multi_street:
            where = [f"街道{a}·社区{c}" if zh else f"Street {a} · Community {c}" for a, c in zip(s, cn)]
        else:
            where = [f"社区{c}" if zh else f"Community {c}" for c in cn]
        return [f"居民{n}（{w}）" if zh else f"Resident {n} ({w})" for n, w in zip(number, where)]
    base = {"community": ("社区", "Community"), "unit": ("驻区单位", "Unit"),
            "two_new": ("两新组织", "Two-new org")}[kind][0 if zh else 1]
    sep = "" if zh else " "
    if multi_street:
        pre = [f"街道{a}·" if zh else f"Street {a} · " for a in s]
    else:
        pre = [""] * len(number)
    return [f"{p}{base}{sep}{n}" for p, n in zip(pre, number)]


def actors_table(model, residents=None) -> pd.DataFrame:
    """One row per actor of ``model`` that an item can pass through, with names.

    Columns: ``node`` (graph node id; −1 the outside provider), ``kind`` (district, street,
    conference, community, unit, two_new, provider, resident), ``index`` (position within the
    kind), ``street`` and ``community`` (indices; −1 where not applicable), ``number``
    (1-based: within the street for communities, units and organisations; the street's own
    number for streets and conferences; residents are numbered across the district),
    ``name_zh``, ``name_en``.

    Args:
        residents: resident indices to include (default: every resident who raised an item in
            the model's item table so far; residents are many, so only those are listed).
    """
    L, w = model.layout, model.world
    multi = L.n_streets > 1
    frames = []

    def add(kind, nodes, index, street, community, number, cnum=None):
        frames.append(pd.DataFrame({
            "node": np.asarray(nodes, np.int64), "kind": kind,
            "index": np.asarray(index, np.int64), "street": np.asarray(street, np.int64),
            "community": np.asarray(community, np.int64), "number": np.asarray(number, np.int64),
            "name_zh": actor_names(kind, number, street, multi, cnum, "zh"),
            "name_en": actor_names(kind, number, street, multi, cnum, "en")}))

    frames.append(pd.DataFrame({"node": [EXTERNAL_PROVIDER, L.district], "kind": ["provider", "district"],
                                "index": [0, 0], "street": [-1, -1], "community": [-1, -1],
                                "number": [0, 0], "name_zh": ["外部服务供应方", "区委"],
                                "name_en": ["Outside service provider", "District committee"]}))
    S = np.arange(L.n_streets)
    add("street", L.street0 + S, S, S, np.full(S.size, -1), S + 1)
    add("conference", L.conference0 + S, S, S, np.full(S.size, -1), S + 1)
    C = np.arange(L.n_communities)
    comm_number = _number_within(w.community_street)
    add("community", L.community0 + C, C, w.community_street, C, comm_number)
    U = np.arange(L.n_units)
    add("unit", L.unit0 + U, U, w.unit_street, w.unit_community, _number_within(w.unit_street))
    K = np.arange(L.n_two_new)
    add("two_new", L.two_new0 + K, K, w.two_new_street, w.two_new_community,
        _number_within(w.two_new_street))
    if residents is None:
        table = model.items.table()
        residents = table["origin"].to_numpy() if table is not None else np.zeros(0, np.int64)
    r = np.unique(np.asarray(residents, np.int64))
    r = r[(r >= 0) & (r < L.n_residents)]
    rc = w.resident_community[r]
    add("resident", L.resident0 + r, r, w.community_street[rc], rc, r + 1, comm_number[rc])
    out = pd.concat(frames, ignore_index=True)
    out["kind"] = out["kind"].astype(str)
    return out[list(ACTOR_COLUMNS)]


# ---------------------------------------------------------------------------- sources
def _tables(source):
    """(items, handoffs, actors) of a RunResult, a RegionModel, a saved run or a dict."""
    if isinstance(source, (str, os.PathLike)):
        from .io import load_run

        source = load_run(Path(source))
    if hasattr(source, "layout") and hasattr(source, "events"):  # a RegionModel
        it = source.items.table()
        ev = source.events.table()
        origins = it["origin"].to_numpy() if it is not None else None
        return it, ev, actors_table(source, origins)
    get = source.get if isinstance(source, dict) else (lambda k, d=None: getattr(source, k, d))
    return get("items"), get("handoffs"), get("actors")


def _namer(actors: pd.DataFrame | None, lang: str):
    """node id → name; unknown ids (an old saved run without actors) read "节点 17"."""
    col = "name_zh" if lang == "zh" else "name_en"
    names = dict(zip(actors["node"].tolist(), actors[col].tolist())) if actors is not None else {}
    unknown = "节点{}" if lang == "zh" else "node {}"

    def name(node) -> str:
        node = int(node)
        return names.get(node) or unknown.format(node)

    return name


def _item_ref(item_id) -> str:
    return f"#{int(item_id)}"


# ---------------------------------------------------------------------------- tables
_HANDOFF_COLUMNS = {"zh": ("事项", "周", "从", "到", "事由"),
                    "en": ("item", "week", "from", "to", "reason")}
_ITEM_COLUMNS = {
    "zh": ("事项", "提出人", "社区", "提出周", "结束周", "结果", "转手次数", "回流次数", "重复自",
           "最后经手"),
    "en": ("item", "raised_by", "community", "raised_week", "ended_week", "outcome", "handoffs",
           "flow_backs", "repeat_of", "last_holder"),
}


def handoffs(source, lang: str = "zh", *, item=None, only_handoffs: bool = False) -> pd.DataFrame:
    """The hand-off and event table with actor names and reason labels.

    One row per item event, in the order they happened: the item (``#129``), the week, who
    passed it (从 / from), to whom (到 / to; "—" when the holder acted on it itself: closed,
    delayed, expired) and why (事由 / reason, e.g. 责任回流). Column names follow ``lang``.

    Args:
        source: a :class:`sim.RunResult`, a :class:`sim.RegionModel` or a saved run's directory.
        lang: "zh" or "en".
        item: keep only this item id (or a list of ids).
        only_handoffs: keep only moves between holders (drop raised, closed, delayed, ...).

    Returns None when the run did not record its events (``items.record=none``).
    """
    lang = _lang(lang)
    _, ev, actors = _tables(source)
    if ev is None:
        return None
    if item is not None:
        ids = [item] if np.isscalar(item) else list(item)
        ev = ev[ev["item_id"].isin(ids)]
    reasons = ev["reason"].astype(str)
    if only_handoffs:
        from .items import Reason

        keep = reasons.isin([Reason.NAMES[r] for r in Reason.HANDOFFS])
        ev, reasons = ev[keep], reasons[keep]
    name = _namer(actors, lang)
    same = ev["from_node"].to_numpy() == ev["to_node"].to_numpy()
    cols = _HANDOFF_COLUMNS[lang]
    out = pd.DataFrame({
        cols[0]: [_item_ref(i) for i in ev["item_id"]],
        cols[1]: ev["step"].astype(int).to_numpy(),
        cols[2]: [name(n) for n in ev["from_node"]],
        cols[3]: ["—" if s else name(n) for n, s in zip(ev["to_node"], same)],
        cols[4]: [_reason(r, lang) for r in reasons],
    })
    return out.reset_index(drop=True)


def _outcome(status: str, solved: bool, stage: str, lang: str) -> str:
    zh = lang == "zh"
    if status == "closed":
        if solved:
            return "办结并解决" if zh else "closed, solved"
        return "办结但未解决" if zh else "closed, not solved"
    if status == "expired":
        return "逾期失效" if zh else "expired"
    return ("办理中：" if zh else "open: ") + _stage(stage, lang)


def items(source, lang: str = "zh") -> pd.DataFrame:
    """The item table with names: who raised each item, in which community, when it was raised
    and ended, its outcome (办结并解决 / 办结但未解决 / 逾期失效 / 办理中：阶段), its hand-offs and
    flow-backs, the item it repeats, and its last holder. Column names follow ``lang``.
    Returns None when the run did not record its items."""
    lang = _lang(lang)
    it, _, actors = _tables(source)
    if it is None:
        return None
    name = _namer(actors, lang)
    if actors is not None:
        comm = actors[actors["kind"] == "community"]
        comm_node = dict(zip(comm["index"].tolist(), comm["node"].tolist()))
        res = actors[actors["kind"] == "resident"]
        res_node = dict(zip(res["index"].tolist(), res["node"].tolist()))
    else:
        comm_node, res_node = {}, {}
    cols = _ITEM_COLUMNS[lang]

    def resident(i):
        node = res_node.get(int(i))
        if node is not None:
            return name(node)
        return f"居民{int(i) + 1}" if lang == "zh" else f"Resident {int(i) + 1}"

    def community(c):
        node = comm_node.get(int(c))
        return name(node) if node is not None else (f"社区{int(c) + 1}" if lang == "zh"
                                                    else f"Community {int(c) + 1}")

    status = it["status"].astype(str).tolist()
    stage = it["stage"].astype(str).tolist()
    closed = it["closed"].astype(int).tolist()
    out = pd.DataFrame({
        cols[0]: [_item_ref(i) for i in it["item_id"]],
        cols[1]: [resident(i) for i in it["origin"]],
        cols[2]: [community(c) for c in it["community"]],
        cols[3]: it["created"].astype(int).to_numpy(),
        cols[4]: pd.array([c if s != "open" else pd.NA for c, s in zip(closed, status)],
                          dtype="Int64"),
        cols[5]: [_outcome(s, bool(v), g, lang) for s, v, g in zip(status, it["solved"], stage)],
        cols[6]: it["handoffs"].astype(int).to_numpy(),
        cols[7]: it["return_flows"].astype(int).to_numpy(),
        cols[8]: ["" if int(r) < 0 else _item_ref(r) for r in it["repeat_of"]],
        cols[9]: [name(h) for h in it["holder"]],
    })
    return out


def returned_items(source, min_week: int | None = 1) -> list[int]:
    """Ids of the items that flowed back at least once (责任回流), most flow-backs first.

    ``min_week``: only items raised in that week or later (default 1: items whose whole story
    is in the record, since spin-up events are not kept); None for all."""
    it, _, _ = _tables(source)
    if it is None:
        return []
    r = it[it["return_flows"] > 0]
    if min_week is not None:
        r = r[r["created"] >= min_week]
    r = r.sort_values(["return_flows", "item_id"], ascending=[False, True])
    return [int(i) for i in r["item_id"]]


# ---------------------------------------------------------------------------- story
_SENTENCES = {
    "raised": ("第{w}周，{a}向{b}提出了这件事。", "Week {w}: {a} raised it with {b}."),
    "repeat": ("第{w}周，{a}再次向{b}提出（重复诉求{x}）。",
               "Week {w}: {a} raised it again with {b} (a repeat complaint{x})."),
    "escalate": ("第{w}周，{a}把它上报给{b}。", "Week {w}: {a} escalated it to {b}."),
    "to_conference": ("第{w}周，{a}把它提交给{b}。", "Week {w}: {a} sent it to {b}."),
    "assign_list": ("第{w}周，{a}按责任清单把它交给{b}办理。",
                    "Week {w}: {a} assigned it to {b} by the responsibility list."),
    "assign_negotiated": ("第{w}周，{a}协商后把它交给{b}办理。",
                          "Week {w}: {a} assigned it by negotiation to {b}."),
    "outsource": ("第{w}周，{a}向{b}购买服务，把它外包出去。",
                  "Week {w}: {a} outsourced it to {b}."),
    "flow_back": ("第{w}周，{a}没有接手，事项回流到{b}（责任回流）。",
                  "Week {w}: {a} did not take it on; it flowed back to {b}."),
    "flow_back_many": ("第{w}周，共同负责的各方互相推诿，没有一家接手，事项回流到{b}（责任回流）。",
                       ("Week {w}: the co-responsible members passed the buck and nobody took "
                        "it on; it flowed back to {b}.")),
    "push_down": ("第{w}周，{a}把它下压给{b}（结果回流）。",
                  "Week {w}: {a} pushed it down to {b}."),
    "no_assignee": ("第{w}周，{a}找不到可以交办的成员，退回{b}。",
                    "Week {w}: {a} had no member to assign it to and returned it to {b}."),
    "close": ("第{w}周，{a}办结了这件事。", "Week {w}: {a} closed it."),
    "paper_close": ("第{w}周，{a}以文办结：书面答复了事，问题并没有真正处理。",
                    "Week {w}: {a} closed it on paper, with a written reply and no real work."),
    "expire": ("第{w}周，事项在{a}手中逾期失效。", "Week {w}: it expired while with {a}."),
    "delay": ("第{w}周，{a}搁置未办。", "Week {w}: {a} let it wait."),
    "delay_span": ("第{w}至{v}周，{a}一直搁置未办。", "Weeks {w}–{v}: {a} let it wait."),
}


def _join(names: list[str], lang: str) -> str:
    if lang == "zh":
        return "、".join(names) + ("（共同负责）" if len(names) > 1 else "")
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1] + " (jointly)"


def story(source, item_id: int, lang: str = "zh") -> str:
    """One item's history in words: who raised it, every hand-off and why, how it ended
    (办结 and 解决 are told apart), and whether it came back as a repeat complaint."""
    lang = _lang(lang)
    it, ev, actors = _tables(source)
    if it is None or ev is None:
        raise ValueError("this run did not record its items (items.record=none)")
    row = it[it["item_id"] == item_id]
    if row.empty:
        raise KeyError(f"no item {item_id} in this run's item table")
    row = row.iloc[0]
    name = _namer(actors, lang)
    zh = lang == "zh"
    ev = ev[ev["item_id"] == item_id]
    lines = [(f"事项{_item_ref(item_id)}的经历：" if zh else f"The story of item {_item_ref(item_id)}:")]
    if int(row["created"]) <= 0:
        lines.append("（这件事在预热期就已提出，第1周时仍未办结；预热期的记录没有保留。）" if zh else
                     "(It was raised during the spin-up and was still open in week 1; spin-up "
                     "events are not kept.)")
    groups = []  # (step, reason, from, [to...])
    for step, reason, a, b in zip(ev["step"].astype(int), ev["reason"].astype(str),
                                  ev["from_node"].astype(int), ev["to_node"].astype(int)):
        if groups and groups[-1][:3] == (step, reason, a) and reason == "assign_negotiated":
            groups[-1][3].append(b)
        else:
            groups.append((step, reason, a, [b]))
    i = 0
    n_assigned = 1
    while i < len(groups):
        step, reason, a, bs = groups[i]
        if reason in ("assign_list", "assign_negotiated"):
            n_assigned = len(bs)
        if reason == "flow_back" and n_assigned > 1:
            reason = "flow_back_many"
        if reason == "delay":  # a run of delays by the same holder reads as one sentence
            j = i
            while j + 1 < len(groups) and groups[j + 1][1] == "delay" and groups[j + 1][2] == a:
                j += 1
            if j > i:
                lines.append(_SENTENCES["delay_span"][0 if zh else 1].format(
                    w=step, v=groups[j][0], a=name(a)))
                i = j + 1
                continue
        x = ""
        if reason == "repeat" and int(row["repeat_of"]) >= 0:
            x = (f"，原事项{_item_ref(row['repeat_of'])}办结了但没有解决" if zh
                 else f" of item {_item_ref(row['repeat_of'])}, closed but not solved")
        template = _SENTENCES.get(reason)
        if template is None:
            lines.append(f"第{step}周：{_reason(reason, lang)}。" if zh else
                         f"Week {step}: {_reason(reason, lang)}.")
        else:
            lines.append(template[0 if zh else 1].format(
                w=step, a=name(a), b=_join([name(b) for b in bs], lang), x=x))
        i += 1
    status = str(row["status"])
    if status == "closed":
        if bool(row["solved"]):
            end = "结果：办结，问题也解决了。" if zh else "Outcome: closed, and the problem was solved."
        else:
            end = ("结果：账面上办结了，问题却没有解决——居民可能会再次提出。" if zh else
                   "Outcome: closed on the record but not solved — the resident may raise it again.")
    elif status == "expired":
        end = "结果：逾期失效，无人办结。" if zh else "Outcome: it expired; nobody closed it."
    else:
        end = (f"结果：运行结束时仍在办理（{_stage(str(row['stage']), lang)}）。" if zh else
               f"Outcome: still open at the end of the run ({_stage(str(row['stage']), lang)}).")
    lines.append(end)
    n_h, n_r = int(row["handoffs"]), int(row["return_flows"])
    lines.append(f"共转手{n_h}次，其中回流{n_r}次。" if zh else
                 f"{n_h} hand-offs in all, {n_r} of them flow-backs.")
    again = it[it["repeat_of"] == item_id]
    if len(again):
        refs = "、".join(_item_ref(i) for i in again["item_id"]) if zh else \
            ", ".join(_item_ref(i) for i in again["item_id"])
        lines.append(f"后来，居民又把它作为重复诉求提了出来：{refs}。" if zh else
                     f"Later the resident raised it again as a repeat complaint: {refs}.")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- model reprs
def _model_counts(model) -> dict[str, int]:
    L = model.layout
    return {"street": L.n_streets, "community": L.n_communities, "unit": L.n_units,
            "two_new": L.n_two_new, "resident": L.n_residents}


def model_repr(model) -> str:
    """``repr(RegionModel)``: scenario, week, agents by kind, open items (short)."""
    c = _model_counts(model)
    agents = " ".join(f"{k}={v}" for k, v in c.items())
    return (f"<RegionModel scenario={model.config.name!r} seed={model.config.seed} "
            f"week={model.steps}/{model.config.steps} agents({agents}) "
            f"open items={model.items.n_open}>")


def model_repr_html(model) -> str:
    """The notebook display of a RegionModel: a small bilingual table."""
    from html import escape

    c = _model_counts(model)
    rows = "".join(f"<tr><td>{escape(_kind(k, 'zh'))}</td><td>{escape(k)}</td>"
                   f"<td style='text-align:right'>{v}</td></tr>" for k, v in c.items())
    try:
        from .labels import scenario_label

        title = scenario_label(model.config.name, "zh")
    except (ImportError, KeyError, OSError):
        title = model.config.name
    return (f"<div><b>RegionModel</b> {escape(model.config.name)}（{escape(title)}），"
            f"seed {model.config.seed}，第{model.steps}周 / {model.config.steps}"
            f"（week {model.steps} of {model.config.steps}），"
            f"办理中事项 open items: <b>{model.items.n_open}</b>"
            f"<table><tr><th>主体</th><th>kind</th><th>数量</th></tr>{rows}</table></div>")
