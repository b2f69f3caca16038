"""The comparison report (``make run`` = ``python -m sim.report``).

Runs the shipped experiment ``configs/experiment/comparison.yaml`` -- the baseline, each
sharpened dilemma, each remedy, full reform and the practice cases, replicated with common
random numbers on the default district -- through :func:`sim.experiments.run` (local
processes, progress bar), then writes ``outputs/report-<YYYYmmdd-HHMMSS>/``:

* ``report_zh.md`` / ``report_en.md`` -- what was run (scenarios, replicates, seeds, steps,
  spin-up, runtime, git revision), headline metrics per scenario (replicate means with 95 %
  t-intervals), paired differences from the baseline and of each remedy from its dilemma
  (95 % t-intervals over replicates), a plain-language reading generated from those numbers
  and a note on missing values;
* ``figures/`` -- per language, bar charts with CIs (participation, return flow, resolution,
  satisfaction, form share) and a forest plot of the paired differences, PNG + SVG;
* the experiment's tidy table (``runs.parquet``, ``runs.csv``) and ``metadata.json`` (with
  the experiment's own ``spec.json``, ``design.*`` and ``parts/``).

Options: ``--replicates``, ``--steps``, ``--workers``, ``--out`` (the folder under which
``report-<stamp>/`` is made, default ``outputs``), ``--lang zh,en``, ``--scenarios``,
``--seed``, ``--quick`` (classroom district, 10 + 10 weeks, 3 replicates: a smoke test) and
``--no-progress``. The last line printed is the report folder.

Scenario roles (dilemma N, remedy N, full reform, practice case) are read from the header
comment of each preset's YAML; remedy N is compared with dilemma N, the dilemma it answers.
Summary metrics are per-run summaries over weeks 1..T (:func:`sim.metrics.summarise`):
shares and levels are means over the weeks, rates are pooled over the run.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import re
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .analysis.compare import compare_scenarios, find_problems
from .labels import metric_label, scenario_label
from .metrics import METRICS

__all__ = [
    "FIGURE_METRICS",
    "HEADLINE_METRICS",
    "Role",
    "analyse",
    "fmt_diff",
    "fmt_number",
    "load_comparison_spec",
    "main",
    "render_markdown",
    "scenario_roles",
    "write_report",
]

#: Metrics of the report's tables, in order (summary keys of :func:`sim.run`).
HEADLINE_METRICS = ("participation_two_new", "participation_units", "participation_residents",
                    "return_flow_rate", "closure_rate", "resolution_rate", "satisfaction",
                    "form_effort_share", "budget_spent", "cost_per_solved_item", "items_solved")
#: The two tables of levels: participation and process / outcomes and cost.
TABLE_GROUPS = (HEADLINE_METRICS[:5], HEADLINE_METRICS[5:])
#: Metrics drawn as bar charts with CIs.
FIGURE_METRICS = ("participation_two_new", "participation_units", "participation_residents",
                  "return_flow_rate", "resolution_rate", "satisfaction", "form_effort_share")
#: Metrics of the forest plot of paired differences from the baseline.
FOREST_METRICS = ("participation_residents", "return_flow_rate", "resolution_rate",
                  "satisfaction", "form_effort_share", "budget_spent")
#: Metrics named in the reading of each remedy (gain and cost).
GAIN_METRIC, BUDGET_METRIC, COST_METRIC = "resolution_rate", "budget_spent", "cost_per_solved_item"
SPEC_FILE = "comparison.yaml"
REFERENCE = "baseline"
QUICK = {"population": "classroom", "steps": 10, "spin_up": 10, "replicates": 3}
_UNITS = {m.name: m.unit for m in METRICS}
_UNITS["items_solved"] = "items"

# --------------------------------------------------------------------------------------------
# Report sentences (zh / en). Labels of metrics and scenarios come from sim.labels.
# --------------------------------------------------------------------------------------------

_TEXT = {
    "title": {"zh": "RPB-Sim 情景比较报告", "en": "RPB-Sim scenario comparison report"},
    "generated": {"zh": "生成时间：{when}，命令：`{cmd}`。",
                  "en": "Generated {when} by `{cmd}`."},
    "what_run": {"zh": "运行内容", "en": "What was run"},
    "scenarios": {"zh": "情景（{n}个）", "en": "Scenarios ({n})"},
    "replicates": {
        "zh": "每个情景重复 {r} 次；公共随机数：第 r 次重复在所有情景中使用同一随机种子，"
              "情景之间按重复配对比较。主种子 {master}；各次重复的种子：{seeds}。",
        "en": "{r} replicates per scenario with common random numbers: replicate r uses the "
              "same seed in every scenario, so scenarios are compared paired by replicate. "
              "Master seed {master}; replicate seeds: {seeds}."},
    "district": {
        "zh": "辖区：人口预设 `{preset}`（街道数 × 每街道社区数 × 每社区居民数 = {streets} × "
              "{comms} × {res}）；"
              "预热期 {spin} 周之后运行 {steps} 周（每步一周）。",
        "en": "District: population preset `{preset}` (streets × communities per street × "
              "residents per community = {streets} × {comms} × {res}); {steps} weeks (one step "
              "per week) after a spin-up of {spin} weeks."},
    "runs": {"zh": "运行次数：{n}（成功 {ok}，失败 {failed}）；墙钟时间 {wall:.0f} 秒，"
                   "{workers} 个进程（各次运行时间合计 {cpu:.0f} 秒）。",
             "en": "Runs: {n} ({ok} ok, {failed} failed); wall time {wall:.0f} s on {workers} "
                   "worker process(es) (run times add up to {cpu:.0f} s)."},
    "revision": {"zh": "代码版本：`{rev}`；Python {py}，{machine}。",
                 "en": "Code revision: `{rev}`; Python {py}, {machine}."},
    "files": {"zh": "实验设定：`{spec}`；数据：`runs.parquet`、`runs.csv`、`metadata.json`"
                    "（每次运行一行）。",
              "en": "Experiment spec: `{spec}`; data: `runs.parquet`, `runs.csv`, "
                    "`metadata.json` (one row per run)."},
    "levels": {"zh": "各情景主要指标", "en": "Headline metrics by scenario"},
    "levels_note": {
        "zh": "表中为各次重复的均值 [95% 置信区间]（对重复做 t 区间）。每次运行先汇总第 1 周至"
              "第 T 周：份额与水平取各周均值，比率按全程汇总（分子之和 / 分母之和）。",
        "en": "Mean over replicates [95 % CI] (Student-t interval over replicates). Each run "
              "is first summarised over weeks 1..T: shares and levels are means over the "
              "weeks, rates are pooled over the run (sum of numerators / sum of "
              "denominators)."},
    "vs_base": {"zh": "与基线的配对差值", "en": "Paired differences from the baseline"},
    "vs_base_note": {
        "zh": "情景减基线，按重复配对（同一种子）后取均值 [95% 置信区间]；**加粗**表示区间不含 0。"
              "配对消除了两次运行共有的随机波动，区间比独立比较窄。",
        "en": "Scenario minus baseline, paired by replicate (same seed), mean [95 % CI]; "
              "**bold** where the interval excludes 0. Pairing removes the noise both runs "
              "share, so the intervals are narrower than those of independent runs."},
    "vs_dilemma": {"zh": "对策与其对应困境的配对差值", "en": "Each remedy against its dilemma"},
    "vs_dilemma_note": {
        "zh": "对策 N 针对困境 N（依据各情景 YAML 文件的说明）。表中为对策减困境，按重复配对，"
              "均值 [95% 置信区间]；**加粗**表示区间不含 0。",
        "en": "Remedy N answers dilemma N (from each preset's YAML header). Remedy minus "
              "dilemma, paired by replicate, mean [95 % CI]; **bold** where the interval "
              "excludes 0."},
    "no_pairs": {"zh": "本次没有可配对的困境与对策。", "en": "No dilemma–remedy pair was run."},
    "reading": {"zh": "结果解读（由数值自动生成）", "en": "Reading (generated from the numbers)"},
    "reading_note": {
        "zh": "以下文字由上表数值按固定规则生成：只提及 95% 置信区间不含 0 的差值；"
              "“在随机波动范围内”表示区间含 0，与随机波动无法区分。",
        "en": "Generated from the tables by fixed rules: only differences whose 95 % CI "
              "excludes 0 are named; 'within noise' means the interval covers 0."},
    "dilemmas_head": {"zh": "困境与基线相比：", "en": "Dilemmas against the baseline:"},
    "remedies_head": {"zh": "对策、综合改革与实践案例相比基线的解决率与经费：",
                      "en": "Remedies, full reform and practice cases against the baseline — "
                            "resolution and budget:"},
    "pairs_head": {"zh": "对策与其对应困境相比：", "en": "Each remedy against its dilemma:"},
    "effects": {"zh": "{label}：{effects}。", "en": "{label}: {effects}."},
    "no_effect": {"zh": "主要指标与参照情景的差异均在随机波动范围内",
                  "en": "no headline metric differs from the reference beyond noise"},
    "rel": {"zh": "（{rel}）", "en": " ({rel})"},
    "gain_up": {"zh": "显著提高", "en": "raised beyond noise"},
    "gain_down": {"zh": "显著降低", "en": "lowered beyond noise"},
    "gain_none": {"zh": "在随机波动范围内", "en": "within noise"},
    "gain": {"zh": "{label}：{metric} {diff} {ci}（基线 {ref}，{verb}）；{budget} {bdiff} {bci}；"
                   "{cost} {cdiff} {cci}。",
             "en": "{label}: {metric} {diff} {ci} against {ref} in the baseline ({verb}); "
                   "{budget} {bdiff} {bci}; {cost} {cdiff} {cci}."},
    "winners": {"zh": "解决率显著提高的：{names}。", "en": "Raise the resolution rate beyond "
                                                      "noise: {names}."},
    "losers": {"zh": "解决率显著降低的：{names}。", "en": "Lower it beyond noise: {names}."},
    "nobody": {"zh": "没有情景显著提高解决率。", "en": "No scenario raises the resolution rate "
                                                  "beyond noise."},
    "price": {"zh": "每提高 1 个百分点解决率所需的额外经费（{unit}）：{items}。",
              "en": "Extra budget per percentage point of resolution gained ({unit}): "
                    "{items}."},
    "free": {"zh": "不增加经费", "en": "no extra budget"},
    "figures": {"zh": "图", "en": "Figures"},
    "fig_levels": {"zh": "各情景均值与 95% 置信区间（灰色为基线，虚线为基线均值）：",
                   "en": "Mean and 95 % CI per scenario (grey: the baseline, dashed line: its "
                         "mean):"},
    "fig_forest": {"zh": "与基线的配对差值及 95% 置信区间（红色：区间不含 0）：",
                   "en": "Paired differences from the baseline with 95 % CIs (red: the interval "
                         "excludes 0):"},
    "forest_x": {"zh": "情景 − 基线", "en": "scenario − baseline"},
    "fig_lang": {"zh": "（未找到中文字体，图中文字为英文。）",
                 "en": ""},
    "missing": {"zh": "缺失值说明", "en": "Missing values"},
    "missing_none": {"zh": "没有失败的运行，所有主要指标均有数值。",
                     "en": "No run failed and every headline metric has a value in every run."},
    "missing_rule": {
        "zh": "比率的分母为 0 时（例如期间没有分派给单位的事项）该比率缺失（NaN），不是 0。"
              "缺失值和失败运行不参与均值；配对差值只用两个情景都有数值的重复。下列为缺失情况：",
        "en": "A rate whose denominator is empty (e.g. no item was assigned to units in the "
              "run) is missing (NaN), not 0. Missing values and failed runs are left out of "
              "the means; paired differences use the replicates where both scenarios have a "
              "value. What was missing:"},
    "missing_row": {"zh": "{scenario}：{metric} 缺失 {n} 次（重复 {reps}）",
                    "en": "{scenario}: {metric} missing in {n} run(s) (replicates {reps})"},
    "failed_row": {"zh": "{scenario}：重复 {rep}（种子 {seed}）运行失败：{error}",
                   "en": "{scenario}: replicate {rep} (seed {seed}) failed: {error}"},
    "col_scenario": {"zh": "情景", "en": "Scenario"},
    "col_role": {"zh": "类型", "en": "Role"},
    "col_pair": {"zh": "对策 − 困境", "en": "Remedy − dilemma"},
    "role_baseline": {"zh": "基线", "en": "baseline"},
    "role_dilemma": {"zh": "困境{n}", "en": "dilemma {n}"},
    "role_remedy": {"zh": "对策{n}", "en": "remedy {n}"},
    "role_full_reform": {"zh": "综合改革", "en": "full reform"},
    "role_practice": {"zh": "实践案例", "en": "practice case"},
    "role_pilot": {"zh": "试点", "en": "pilot"},
    "role_other": {"zh": "其他", "en": "other"},
    "forest_title": {"zh": "与基线的配对差值（95% 置信区间）",
                     "en": "Paired difference from the baseline (95 % CI)"},
    "sep": {"zh": "；", "en": "; "},
    "list_sep": {"zh": "、", "en": ", "},
}


def _s(key: str, lang: str, **fmt) -> str:
    """A report sentence in ``lang`` with ``fmt`` fields filled in."""
    return _TEXT[key][lang].format(**fmt)


def _paren(text: str, lang: str) -> str:
    """`` (text)`` in English, ``（text）`` (full-width) in Chinese."""
    return f"（{text}）" if lang == "zh" else f" ({text})"


# --------------------------------------------------------------------------------------------
# Scenario roles
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Role:
    """A scenario's role in the comparison.

    Attributes:
        kind: "baseline", "dilemma", "remedy", "full_reform", "practice", "pilot" or "other".
        number: the dilemma / remedy number (1-4) of the paper, else None.
    """

    kind: str
    number: int | None = None

    _ORDER = ("baseline", "dilemma", "remedy", "full_reform", "practice", "pilot", "other")

    def sort_key(self) -> tuple:
        return (self._ORDER.index(self.kind), self.number or 0)

    def label(self, lang: str) -> str:
        return _s(f"role_{self.kind}", lang, n=self.number)


def _scenario_header(name: str) -> str:
    """The leading comment block of a preset's YAML (empty if the preset is not a file)."""
    path = resources.files("sim.conf") / "scenario" / f"{name}.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return ""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("# "))
    return " ".join(lines)


def scenario_roles(names: Sequence[str]) -> dict[str, Role]:
    """Role of each scenario, read from its YAML header ("dilemma 1", "Remedy 3", "Practice
    case", "All four remedies", "Baseline", "Pilot"); the reference scenario is "baseline"."""
    roles = {}
    for name in names:
        head = _scenario_header(name)
        low = head.lower()
        if name == REFERENCE or low.startswith("baseline"):
            role = Role("baseline")
        elif m := re.search(r"\bdilemma (\d+)", low):
            role = Role("dilemma", int(m.group(1)))
        elif m := re.search(r"\bremedy (\d+)", low):
            role = Role("remedy", int(m.group(1)))
        elif "all four remedies" in low:
            role = Role("full_reform")
        elif "practice case" in low:
            role = Role("practice")
        elif low.startswith("pilot"):
            role = Role("pilot")
        else:
            role = Role("other")
        roles[name] = role
    return roles


def ordered_scenarios(roles: dict[str, Role]) -> list[str]:
    """Scenario names in report order: baseline, dilemmas, remedies, full reform, cases."""
    return sorted(roles, key=lambda n: roles[n].sort_key())


def remedy_pairs(roles: dict[str, Role]) -> list[tuple[str, str]]:
    """(remedy, dilemma) pairs with the same number, in remedy order."""
    dilemmas = {r.number: n for n, r in roles.items() if r.kind == "dilemma"}
    return [(n, dilemmas[r.number]) for n in ordered_scenarios(roles)
            if (r := roles[n]).kind == "remedy" and r.number in dilemmas]


# --------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------


def _decimals(metric: str, value: float) -> int:
    """Decimals shown for ``metric``: 3 for shares and [0, 1] indices, else by magnitude."""
    unit = _UNITS.get(metric, "")
    if unit == "share" or unit.startswith("index"):
        return 3
    size = abs(value) if np.isfinite(value) else 0.0
    return 0 if size >= 100 else 1 if size >= 10 else 2


def fmt_number(value: float, metric: str, *, signed: bool = False, like: float | None = None
               ) -> str:
    """A metric value as the report prints it ("—" for NaN).

    Args:
        value: the number.
        metric: metric name (chooses the decimals: shares 3, others by magnitude of ``like``
            or of ``value``: >= 100 none, >= 10 one, else two).
        signed: print a "+" before positive values (differences).
        like: value whose magnitude chooses the decimals (e.g. the level for a difference).
    """
    if value is None or not np.isfinite(value):
        return "—"
    d = _decimals(metric, value if like is None else like)
    if signed:  # a difference keeps its sign even when it rounds to zero ("-0.000")
        return f"{value:+.{d}f}"
    text = f"{value:.{d}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def fmt_ci(low: float, high: float, metric: str, *, signed: bool = False,
           like: float | None = None) -> str:
    """A 95 % interval "[low, high]" (empty when the interval is NaN)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return ""
    return (f"[{fmt_number(low, metric, signed=signed, like=like)}, "
            f"{fmt_number(high, metric, signed=signed, like=like)}]")


def fmt_level(row: pd.Series) -> str:
    """"mean [low, high]" of a compare_scenarios row."""
    text = fmt_number(row["mean"], row["metric"])
    ci = fmt_ci(row["ci_low"], row["ci_high"], row["metric"], like=row["mean"])
    return f"{text} {ci}".strip()


def excludes_zero(row: pd.Series) -> bool:
    """Whether the paired interval of a compare_scenarios row lies strictly on one side of 0."""
    lo, hi = row["diff_ci_low"], row["diff_ci_high"]
    return bool(np.isfinite(lo) and np.isfinite(hi) and (lo > 0 or hi < 0))


def fmt_diff(row: pd.Series, *, bold: bool = True) -> str:
    """"+diff [low, high]" of a compare_scenarios row; bold when the CI excludes 0."""
    like = row["reference_mean"] if np.isfinite(row["reference_mean"]) else row["diff"]
    text = fmt_number(row["diff"], row["metric"], signed=True, like=like)
    ci = fmt_ci(row["diff_ci_low"], row["diff_ci_high"], row["metric"], signed=True, like=like)
    text = f"{text} {ci}".strip()
    return f"**{text}**" if bold and excludes_zero(row) else text


# --------------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------------


@dataclass
class Analysis:
    """The numbers the report prints.

    Attributes:
        roles: role of each scenario.
        order: scenarios in report order.
        vs_base: compare_scenarios against the baseline (levels and paired differences).
        vs_dilemma: paired differences of each remedy from its dilemma (``reference`` column
            names the dilemma).
        problems: failed runs and missing values (see :func:`sim.analysis.compare.find_problems`).
        metrics: the headline metrics present in the table.
    """

    roles: dict[str, Role]
    order: list[str]
    vs_base: pd.DataFrame
    vs_dilemma: pd.DataFrame
    problems: list[dict]
    metrics: list[str]


def analyse(table: pd.DataFrame, metrics: Sequence[str] = HEADLINE_METRICS,
            conf_level: float = 0.95) -> Analysis:
    """Levels, differences from the baseline and remedy-vs-dilemma differences of a table.

    Failed runs are dropped and missing values skipped per metric, with the counts kept
    (``missing="drop"`` of :func:`sim.analysis.compare_scenarios`) and listed in the report.
    """
    metrics = [m for m in metrics if m in table.columns]
    roles = scenario_roles(list(pd.unique(table["scenario"])))
    order = ordered_scenarios(roles)
    vs_base = compare_scenarios(table, metrics, reference=REFERENCE, conf_level=conf_level,
                                missing="drop")
    parts = []
    for remedy, dilemma in remedy_pairs(roles):
        pair = table[table["scenario"].isin([remedy, dilemma])]
        out = compare_scenarios(pair, metrics, reference=dilemma, conf_level=conf_level,
                                missing="drop")
        parts.append(out[out["scenario"] == remedy])
    vs_dilemma = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return Analysis(roles=roles, order=order, vs_base=vs_base, vs_dilemma=vs_dilemma,
                    problems=find_problems(table, metrics), metrics=metrics)


def _row(frame: pd.DataFrame, scenario: str, metric: str) -> pd.Series:
    return frame[(frame["scenario"] == scenario) & (frame["metric"] == metric)].iloc[0]


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    def clean(cell: str) -> str:
        return str(cell).replace("|", "\\|")

    lines = ["| " + " | ".join(clean(h) for h in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(clean(c) for c in row) + " |" for row in rows]
    return lines


def _scen(name: str, lang: str) -> str:
    try:
        return scenario_label(name, lang)
    except KeyError:
        return name


def _metric(name: str, lang: str, with_unit: bool = False) -> str:
    try:
        return metric_label(name, lang, with_unit=with_unit)
    except (KeyError, StopIteration):
        from .labels import column_label

        return column_label(name, lang)


def _effects(frame: pd.DataFrame, scenario: str, metrics: Sequence[str], lang: str,
             limit: int = 4) -> str:
    """The metrics whose paired CI excludes 0, largest relative change first."""
    found = []
    for metric in metrics:
        row = _row(frame, scenario, metric)
        if not excludes_zero(row):
            continue
        ref = row["reference_mean"]
        rel = row["diff"] / abs(ref) if np.isfinite(ref) and ref != 0 else np.inf
        found.append((abs(rel), metric, row, rel))
    if not found:
        return _s("no_effect", lang)
    found.sort(key=lambda f: -f[0])
    parts = []
    for _, metric, row, rel in found[:limit]:
        text = f"{_metric(metric, lang)} {fmt_diff(row, bold=False)}"
        if np.isfinite(rel):
            text += _s("rel", lang, rel=f"{rel:+.0%}")
        parts.append(text)
    return _s("sep", lang).join(parts)


def _reading(a: Analysis, lang: str) -> list[str]:
    """Plain-language bullets generated from the paired differences."""
    lines = [_s("reading_note", lang), ""]
    dilemmas = [n for n in a.order if a.roles[n].kind == "dilemma"]
    if dilemmas:
        lines.append(_s("dilemmas_head", lang))
        lines += ["- " + _s("effects", lang, label=f"{_scen(n, lang)}",
                            effects=_effects(a.vs_base, n, a.metrics, lang)) for n in dilemmas]
        lines.append("")
    arms = [n for n in a.order if a.roles[n].kind in ("remedy", "full_reform", "practice")]
    needed = {GAIN_METRIC, BUDGET_METRIC, COST_METRIC}
    if arms and needed <= set(a.metrics):
        lines.append(_s("remedies_head", lang))
        winners, losers, prices = [], [], []
        for n in arms:
            g, b, c = (_row(a.vs_base, n, m) for m in (GAIN_METRIC, BUDGET_METRIC, COST_METRIC))
            verb = "gain_none"
            if excludes_zero(g):
                verb = "gain_up" if g["diff"] > 0 else "gain_down"
                (winners if g["diff"] > 0 else losers).append((g["diff"], n))
            lines.append("- " + _s(
                "gain", lang, label=_scen(n, lang), verb=_s(verb, lang),
                metric=_metric(GAIN_METRIC, lang),
                diff=fmt_number(g["diff"], GAIN_METRIC, signed=True),
                ci=fmt_ci(g["diff_ci_low"], g["diff_ci_high"], GAIN_METRIC, signed=True),
                ref=fmt_number(g["reference_mean"], GAIN_METRIC),
                budget=_metric(BUDGET_METRIC, lang),
                bdiff=fmt_number(b["diff"], BUDGET_METRIC, signed=True, like=b["reference_mean"]),
                bci=fmt_ci(b["diff_ci_low"], b["diff_ci_high"], BUDGET_METRIC, signed=True,
                           like=b["reference_mean"]),
                cost=_metric(COST_METRIC, lang),
                cdiff=fmt_number(c["diff"], COST_METRIC, signed=True, like=c["reference_mean"]),
                cci=fmt_ci(c["diff_ci_low"], c["diff_ci_high"], COST_METRIC, signed=True,
                           like=c["reference_mean"])))
            if excludes_zero(g) and g["diff"] > 0:
                extra = b["diff"] if excludes_zero(b) else 0.0
                prices.append((extra / (100 * g["diff"]), n))
        lines.append("")
        sep = _s("list_sep", lang)
        if winners:
            names = sep.join(_scen(n, lang) + _paren(fmt_number(d, GAIN_METRIC, signed=True), lang)
                             for d, n in sorted(winners, reverse=True))
            lines.append("- " + _s("winners", lang, names=names))
        else:
            lines.append("- " + _s("nobody", lang))
        if losers:
            names = sep.join(_scen(n, lang) + _paren(fmt_number(d, GAIN_METRIC, signed=True), lang)
                             for d, n in sorted(losers))
            lines.append("- " + _s("losers", lang, names=names))
        if prices:
            from .labels import unit_label

            unit = unit_label(_UNITS[BUDGET_METRIC], lang)
            items = sep.join(
                f"{_scen(n, lang)} " + (_s("free", lang) if p <= 0 else
                                        fmt_number(p, BUDGET_METRIC, like=p))
                for p, n in sorted(prices))
            lines.append("- " + _s("price", lang, unit=unit, items=items))
        lines.append("")
    pairs = remedy_pairs(a.roles)
    if pairs and not a.vs_dilemma.empty:
        lines.append(_s("pairs_head", lang))
        for remedy, dilemma in pairs:
            frame = a.vs_dilemma[a.vs_dilemma["reference"] == dilemma]
            label = f"{_scen(remedy, lang)} − {_scen(dilemma, lang)}"
            lines.append("- " + _s("effects", lang, label=label,
                                   effects=_effects(frame, remedy, a.metrics, lang)))
        lines.append("")
    return lines


def _missing_lines(a: Analysis, lang: str) -> list[str]:
    if not a.problems:
        return [_s("missing_none", lang)]
    lines = [_s("missing_rule", lang), ""]
    failed = [p for p in a.problems if p["metric"] is None]
    for p in failed:
        lines.append("- " + _s("failed_row", lang, scenario=_scen(p["scenario"], lang),
                               rep=p.get("replicate"), seed=p.get("seed"),
                               error=p["reason"].removeprefix("failed run: ")))
    missing = pd.DataFrame([p for p in a.problems if p["metric"] is not None])
    if not missing.empty:
        for (scenario, metric), group in missing.groupby(["scenario", "metric"], sort=False):
            reps = ", ".join(str(r) for r in sorted(group["replicate"]))
            lines.append("- " + _s("missing_row", lang, scenario=_scen(scenario, lang),
                                   metric=_metric(metric, lang), n=len(group), reps=reps))
    return lines


@dataclass
class RunInfo:
    """What the report says about how the experiment was run."""

    command: str
    spec_path: str
    when: str
    population: str
    streets: int
    communities: int
    residents: int
    steps: int
    spin_up: int
    master_seed: int
    seeds: list[int]
    replicates: int
    n_runs: int
    n_ok: int
    wall_s: float
    run_s: float
    workers: int
    revision: str


def render_markdown(a: Analysis, table: pd.DataFrame, info: RunInfo, lang: str,
                    figures: dict[str, str] | None = None, figure_lang: str | None = None
                    ) -> str:
    """The report in ``lang`` ("zh" or "en") as Markdown text.

    Args:
        a: the analysis of ``table`` (:func:`analyse`).
        table: the tidy run table.
        info: how the experiment was run.
        lang: report language.
        figures: figure name -> relative PNG path, for this language.
        figure_lang: the language the figures were drawn in (a note when it differs).
    """
    sep = _s("list_sep", lang)
    lines = [f"# {_s('title', lang)}", "", _s("generated", lang, when=info.when,
                                              cmd=info.command), ""]
    # What was run
    lines += [f"## {_s('what_run', lang)}", ""]
    comma, colon = ("，", "：") if lang == "zh" else (", ", ": ")
    scen_list = sep.join(_scen(n, lang) + _paren(f"`{n}`{comma}{a.roles[n].label(lang)}", lang)
                         for n in a.order)
    lines += [f"- {_s('scenarios', lang, n=len(a.order))}{colon}{scen_list}",
              "- " + _s("replicates", lang, r=info.replicates, master=info.master_seed,
                        seeds=", ".join(str(s) for s in info.seeds)),
              "- " + _s("district", lang, preset=info.population, streets=info.streets,
                        comms=info.communities, res=info.residents, steps=info.steps,
                        spin=info.spin_up),
              "- " + _s("runs", lang, n=info.n_runs, ok=info.n_ok, failed=info.n_runs - info.n_ok,
                        wall=info.wall_s, workers=info.workers, cpu=info.run_s),
              "- " + _s("revision", lang, rev=info.revision, py=platform.python_version(),
                        machine=f"{platform.system()} {platform.machine()}, "
                                f"{os.cpu_count()} CPU"),
              "- " + _s("files", lang, spec=info.spec_path), ""]
    # Levels
    lines += [f"## {_s('levels', lang)}", "", _s("levels_note", lang), ""]
    for group in TABLE_GROUPS:
        group = [m for m in group if m in a.metrics]
        if not group:
            continue
        header = [_s("col_scenario", lang), _s("col_role", lang)] + \
            [_metric(m, lang, with_unit=True) for m in group]
        rows = [[_scen(n, lang), a.roles[n].label(lang)]
                + [fmt_level(_row(a.vs_base, n, m)) for m in group] for n in a.order]
        lines += _md_table(header, rows) + [""]
    # Differences from the baseline
    others = [n for n in a.order if n != REFERENCE]
    lines += [f"## {_s('vs_base', lang)}", "", _s("vs_base_note", lang), ""]
    for group in TABLE_GROUPS:
        group = [m for m in group if m in a.metrics]
        header = [_s("col_scenario", lang)] + [_metric(m, lang) for m in group]
        rows = [[_scen(n, lang)] + [fmt_diff(_row(a.vs_base, n, m)) for m in group]
                for n in others]
        lines += _md_table(header, rows) + [""]
    # Remedies against dilemmas
    lines += [f"## {_s('vs_dilemma', lang)}", "", _s("vs_dilemma_note", lang), ""]
    pairs = remedy_pairs(a.roles)
    if pairs and not a.vs_dilemma.empty:
        for group in TABLE_GROUPS:
            group = [m for m in group if m in a.metrics]
            header = [_s("col_pair", lang)] + [_metric(m, lang) for m in group]
            rows = []
            for remedy, dilemma in pairs:
                frame = a.vs_dilemma[a.vs_dilemma["reference"] == dilemma]
                rows.append([f"{_scen(remedy, lang)} − {_scen(dilemma, lang)}"]
                            + [fmt_diff(_row(frame, remedy, m)) for m in group])
            lines += _md_table(header, rows) + [""]
    else:
        lines += [_s("no_pairs", lang), ""]
    # Reading
    lines += [f"## {_s('reading', lang)}", ""] + _reading(a, lang)
    # Figures
    if figures:
        lines += [f"## {_s('figures', lang)}", ""]
        if figure_lang and figure_lang != lang:
            lines += [_s("fig_lang", lang), ""]
        lines += [_s("fig_levels", lang), ""]
        for name, path in figures.items():
            if name != "forest":
                lines += [f"![{_metric(name, lang)}]({path})", ""]
        if "forest" in figures:
            lines += [_s("fig_forest", lang), "", f"![forest]({figures['forest']})", ""]
    # Missing values
    lines += [f"## {_s('missing', lang)}", ""] + _missing_lines(a, lang) + [""]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def plot_forest(a: Analysis, lang: str, metrics: Sequence[str] = FOREST_METRICS):
    """Forest plot: paired difference from the baseline with its 95 % CI, one panel per
    metric, one row per scenario (a :class:`matplotlib.figure.Figure`)."""
    from matplotlib.figure import Figure

    from .plots import use_language

    lang = use_language(lang)
    metrics = [m for m in metrics if m in a.metrics]
    others = [n for n in a.order if n != REFERENCE]
    ncols = min(3, max(len(metrics), 1))
    nrows = int(np.ceil(len(metrics) / ncols)) if metrics else 1
    fig = Figure(figsize=(4.2 * ncols, 0.6 + nrows * (0.9 + 0.3 * len(others))),
                 layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    y = np.arange(len(others))[::-1]
    for i, (ax, metric) in enumerate(zip(axes, metrics)):
        rows = [_row(a.vs_base, n, metric) for n in others]
        mid = np.array([r["diff"] for r in rows], float)
        lo = np.array([r["diff_ci_low"] for r in rows], float)
        hi = np.array([r["diff_ci_high"] for r in rows], float)
        err = np.vstack([np.where(np.isfinite(lo), mid - lo, 0),
                         np.where(np.isfinite(hi), hi - mid, 0)])
        strong = np.array([excludes_zero(r) for r in rows], bool)
        ax.axvline(0.0, color="0.3", lw=0.8, ls="--")
        for mask, colour in ((strong, "C3"), (~strong, "0.45")):  # red: CI excludes 0
            if mask.any():
                ax.errorbar(mid[mask], y[mask], xerr=err[:, mask], fmt="o", ms=4,
                            color=colour, elinewidth=1.2, capsize=2)
        ax.set_yticks(y, [_scen(n, lang) for n in others] if i % ncols == 0 else [])
        ax.set_title(_metric(metric, lang), fontsize="medium")
        ax.set_xlabel(_s("forest_x", lang), fontsize="small")
        ax.tick_params(labelsize="small")
    for ax in axes[len(metrics):]:
        ax.set_visible(False)
    fig.suptitle(_s("forest_title", lang))
    return fig


def write_figures(table: pd.DataFrame, a: Analysis, out: Path, lang: str
                  ) -> tuple[dict[str, str], str]:
    """Bar charts and the forest plot in ``lang`` under ``out/figures``; PNG + SVG each.

    Returns:
        (figure name -> PNG path relative to ``out``, language actually drawn).
    """
    from . import plots

    drawn = plots.use_language(lang)
    paths = {}
    for metric in FIGURE_METRICS:
        if metric not in table.columns:
            continue
        fig = plots.plot_scenario_comparison(table, metric, lang, reference=REFERENCE,
                                             order=a.order)
        plots.save_figure(fig, out / "figures" / f"{metric}_{lang}")
        paths[metric] = f"figures/{metric}_{lang}.png"
    fig = plot_forest(a, lang)
    plots.save_figure(fig, out / "figures" / f"forest_{lang}")
    paths["forest"] = f"figures/forest_{lang}.png"
    return paths, drawn


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def load_comparison_spec() -> dict:
    """The shipped comparison spec (``configs/experiment/comparison.yaml``) as a dict."""
    text = (resources.files("sim.conf") / "experiment" / SPEC_FILE).read_text("utf-8")
    return yaml.safe_load(text)


def _spec_dict(args: argparse.Namespace) -> dict:
    """The comparison spec with the command line's changes."""
    spec = load_comparison_spec()
    overrides = list(spec.get("overrides") or [])
    if args.quick:
        spec["population"] = QUICK["population"]
        spec["steps"] = QUICK["steps"]
        spec["replicates"] = QUICK["replicates"]
        overrides.append(f"spin_up={QUICK['spin_up']}")
    if args.scenarios:
        spec["scenarios"] = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if args.replicates is not None:
        spec["replicates"] = args.replicates
    if args.steps is not None:
        spec["steps"] = args.steps
    if args.seed is not None:
        spec["master_seed"] = args.seed
    spec["overrides"] = overrides
    if REFERENCE not in spec["scenarios"]:
        spec["scenarios"] = [REFERENCE] + list(spec["scenarios"])
    return spec


def _short_revision(revision: str) -> str:
    """A git hash shortened to 12 characters, keeping a "-dirty" mark."""
    head, dirty, _ = str(revision).partition("-dirty")
    return (head[:12] if len(head) == 40 else head) + dirty


def run_info(spec: dict, table: pd.DataFrame, metadata: dict, command: str) -> RunInfo:
    """What the report says about the run, from the spec dict, the table and the
    experiment's ``metadata.json``."""
    from .compose import compose

    overrides = list(spec.get("overrides") or [])
    overrides.append(f"population={spec.get('population') or 'default'}")
    cfg = compose(REFERENCE, overrides, steps=spec.get("steps"))
    pop = cfg.population
    executor = metadata.get("executor") or {}
    return RunInfo(
        command=command, spec_path=f"configs/experiment/{SPEC_FILE}",
        when=_dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        population=str(spec.get("population") or "default"), streets=pop.n_streets,
        communities=pop.communities_per_street, residents=pop.residents_per_community,
        steps=int(cfg.steps), spin_up=int(cfg.spin_up), master_seed=int(spec["master_seed"]),
        seeds=[int(s) for s in metadata.get("replicate_seeds") or
               table.sort_values("replicate").drop_duplicates("replicate")["seed"]],
        replicates=int(table["replicate"].nunique()), n_runs=len(table),
        n_ok=int((table["status"] == "ok").sum()), wall_s=float(metadata.get("wall_s", np.nan)),
        run_s=float(pd.to_numeric(table["wall_s"]).sum()) if "wall_s" in table else np.nan,
        workers=int(executor.get("workers") or 1),
        revision=_short_revision(metadata.get("git_revision", "unknown")))


def write_report(table: pd.DataFrame, out: Path, info: RunInfo,
                 langs: Sequence[str] = ("zh", "en")) -> dict[str, Path]:
    """Analyse ``table`` and write the Markdown reports and figures under ``out``.

    Returns:
        lang -> path of ``report_<lang>.md``.
    """
    a = analyse(table)
    written = {}
    for lang in langs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # font fallback: noted in the text
            figures, drawn = write_figures(table, a, out, lang)
        text = render_markdown(a, table, info, lang, figures, drawn)
        path = out / f"report_{lang}.md"
        path.write_text(text, encoding="utf-8")
        written[lang] = path
    return written


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m sim.report",
        description="Run the scenario comparison (configs/experiment/comparison.yaml) and "
                    "write a bilingual Markdown report with figures and the run table.")
    p.add_argument("--replicates", type=int, default=None,
                   help="replicates per scenario (default: the spec's, 8)")
    p.add_argument("--steps", type=int, default=None,
                   help="weeks per run after the spin-up (default: the model's, 104)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: all CPU cores)")
    p.add_argument("--out", type=Path, default=Path("outputs"),
                   help="folder under which report-<YYYYmmdd-HHMMSS>/ is made (default: outputs)")
    p.add_argument("--lang", default="zh,en", help="report languages, comma-separated (zh,en)")
    p.add_argument("--scenarios", default=None,
                   help="comma-separated scenarios instead of the spec's (baseline always in)")
    p.add_argument("--seed", type=int, default=None, help="master seed (default: the spec's)")
    p.add_argument("--quick", action="store_true",
                   help="tiny district (classroom), 10 weeks after a 10-week spin-up, "
                        "3 replicates: a smoke test, not results")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point: run the comparison, write the report, print its folder."""
    from . import experiments

    args = _parser().parse_args(argv)
    langs = [lang.strip() for lang in args.lang.split(",") if lang.strip()]
    for lang in langs:
        if lang not in _TEXT["title"]:
            raise SystemExit(f"unknown language {lang!r}; use zh and/or en")
    out = args.out / f"report-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=False)
    spec = _spec_dict(args)
    result = experiments.run(experiments.load_spec(spec), executor="processes",
                             workers=args.workers, out=out, resume=False,
                             progress=not args.no_progress)
    argv_text = list(sys.argv[1:] if argv is None else argv)
    command = " ".join(["python -m sim.report", *argv_text])
    info = run_info(spec, result.table, result.metadata, command)
    started = time.perf_counter()
    write_report(result.table, out, info, langs)
    print(f"report written in {time.perf_counter() - started:.0f} s after "
          f"{info.wall_s:.0f} s of runs ({info.n_ok} of {info.n_runs} ok)")
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
