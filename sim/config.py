"""The one parameter schema of RPB-Sim.

Every parameter is declared exactly once, here, as a field of a typed dataclass with

* a default,
* an allowed range (``lo``/``hi``, inclusive) or a set of ``choices``,
* a unit,
* a 简体中文 and an English label,
* a one-line meaning.

YAML scenario files, the hydra CLI, the flat keyword interface of
:class:`sim.RegionModel`, the docs tables and (later) app sliders and sweep bounds all read
this module. The dataclasses are registered with hydra's ``ConfigStore`` as structured
configs and are *not* frozen, so hydra can override them; :func:`validate` checks every
range and returns a *frozen* copy, which is the only thing the model ever sees.

Units: one step is one week. Shares, probabilities and lever strengths are in [0, 1].
"Hours" are staff working hours; resources are counted in hour-equivalents.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .levers import STREET_FIELDS

__all__ = [
    "BUILD_ONLY",
    "DETERMINISTIC",
    "POPULATION_PRESETS",
    "SUBMODEL_CHOICES",
    "ConfigError",
    "FieldSpec",
    "MemoryEstimate",
    "PopulationConfig",
    "RPBConfig",
    "estimate_memory",
    "field_spec",
    "freeze",
    "from_dict",
    "iter_field_specs",
    "machine_memory",
    "register_configs",
    "to_dict",
    "unknown_field",
    "validate",
]


class ConfigError(ValueError):
    """A parameter value is invalid, or a name is unknown.

    The message names the field, the value and what is allowed::

        invalid value for 'admin.burden': 1.5 (allowed: number in [0, 1])
        unknown field 'admin.burdon' (did you mean 'admin.burden'?)
        invalid value for 'items.record': 'memroy' (did you mean 'memory'? allowed: one of ...)
        my_scenario.yaml, line 3: invalid value for 'admin.burden': 'high' (allowed: ...)

    Attributes:
        field: dotted name of the offending field (``"admin.burden"``).
        value: the value that was given.
        allowed: human-readable description of what is allowed (``"[0, 1]"``).
        reason: why, when ``allowed`` alone does not say it (also accepted as ``detail=``).
        suggestion: the closest valid name or choice ("did you mean …?"), or None.
        source: where the value came from (a scenario file, with its line), or None.
        unknown: True when ``field`` itself is not a field of the schema.
    """

    def __init__(self, field: str, value: Any, allowed: str, reason: str = "",
                 suggestion: str | None = None, source: str | None = None,
                 unknown: bool = False, *, detail: str = ""):
        self.field = field
        self.value = value
        self.allowed = allowed
        self.reason = reason or detail
        self.suggestion = suggestion
        self.source = source
        self.unknown = unknown
        super().__init__(self._message())

    @property
    def detail(self) -> str:
        return self.reason

    def _message(self) -> str:
        hint = f"did you mean {self.suggestion!r}?" if self.suggestion else ""
        if self.unknown:
            msg = f"unknown field {self.field!r}"
            if hint:
                msg += f" ({hint})"
            elif self.reason and self.reason != "unknown field":
                msg += f" ({self.reason})"
            else:
                msg += " (the fields are listed in docs/parameters.md)"
        else:
            allowed = f"{hint} allowed: {self.allowed}" if hint else f"allowed: {self.allowed}"
            msg = f"invalid value for {self.field!r}: {self.value!r} ({allowed})"
            if self.reason:
                msg += f" — {self.reason}"
        if self.source:
            msg = f"{self.source}: {msg}"
        return msg

    def located(self, source: str) -> ConfigError:
        """A copy that names where the value came from (a scenario file and line)."""
        return ConfigError(self.field, self.value, self.allowed, self.reason, self.suggestion,
                           source, self.unknown)

    def __reduce__(self):  # picklable, so errors cross process boundaries intact
        return (type(self), (self.field, self.value, self.allowed, self.reason, self.suggestion,
                             self.source, self.unknown))


def unknown_field(name: str, value: Any = None, candidates=None, where: str | None = None) -> ConfigError:
    """The error for a name that is not a field of the schema, with a "did you mean …?".

    ``where`` is the field as reported (``interventions[0].set.admin.burdn``) when it differs
    from the name looked up (``admin.burdn``)."""
    from .suggest import suggest_field

    return ConfigError(where or name, value, "a field of the schema", "unknown field",
                       suggest_field(name, candidates), unknown=True)


def param(default, lo=None, hi=None, *, unit="", zh="", en="", doc="", choices=None):
    """Declare one schema field with its range, unit, labels and meaning."""
    meta = dict(lo=lo, hi=hi, unit=unit, zh=zh, en=en, doc=doc, choices=choices)
    return field(default=default, metadata=meta)


# --------------------------------------------------------------------------- groups


@dataclass
class PopulationConfig:
    """Who lives in the district and how they are tied together."""

    n_streets: int = param(4, 1, 200, unit="streets", zh="街道数", en="Streets",
                           doc="Number of street Party working committees (街道党工委).")
    communities_per_street: int = param(6, 1, 100, unit="communities", zh="每街道社区数",
                                        en="Communities per street",
                                        doc="Communities (社区'两委') under each street.")
    residents_per_community: int = param(300, 10, 200_000, unit="residents", zh="每社区居民数",
                                         en="Residents per community",
                                         doc="Simulated residents (居民) per community.")
    units_per_street: int = param(8, 0, 500, unit="units", zh="每街道驻区单位数",
                                  en="Resident units per street",
                                  doc="Resident units (驻区单位) in each street's jurisdiction.")
    two_new_per_street: int = param(12, 0, 1000, unit="organisations", zh="每街道两新组织数",
                                    en="Two-new organisations per street",
                                    doc="Non-public firms and social organisations (两新组织) per street.")
    share_social_orgs: float = param(0.4, 0.0, 1.0, unit="share", zh="社会组织占比",
                                     en="Share of social organisations",
                                     doc="Share of two-new organisations that are social organisations (rest: firms).")
    share_units_higher_rank: float = param(0.6, 0.0, 1.0, unit="share", zh="高位阶单位占比",
                                           en="Share of higher-rank units",
                                           doc="Share of resident units whose administrative rank is above the street's.")
    community_staff: int = param(6, 1, 100, unit="staff", zh="社区工作人员数", en="Community staff",
                                 doc="Full-time staff of each community's two committees.")
    street_staff: int = param(6, 1, 500, unit="staff", zh="街道党建工作人员数",
                              en="Street Party-building staff",
                              doc="Street staff who work on regional Party building and items.")
    hours_per_staff: float = param(40.0, 1.0, 80.0, unit="hours/week", zh="人均周工时",
                                   en="Hours per staff member",
                                   doc="Working hours per staff member per week.")
    resident_ties: int = param(6, 2, 30, unit="ties", zh="居民邻里联系数", en="Resident ties",
                               doc="Mean number of social ties per resident (Watts–Strogatz k, even).")
    tie_rewiring: float = param(0.1, 0.0, 1.0, unit="probability", zh="联系重连概率",
                                en="Tie rewiring probability",
                                doc="Watts–Strogatz rewiring probability inside a community.")
    cross_community_share: float = param(0.02, 0.0, 0.5, unit="share", zh="跨社区联系占比",
                                         en="Cross-community ties",
                                         doc="Share of rewired ties that land in another community of the street.")
    street_size_spread: float = param(0.3, 0.0, 1.0, unit="coefficient of variation",
                                      zh="街道规模差异", en="Street size spread",
                                      doc="CV of a street's size factor (residents per community, units and "
                                          "organisations scale with it; log-normal, mean 1; 0 = identical streets).")
    community_size_spread: float = param(0.2, 0.0, 1.0, unit="coefficient of variation",
                                         zh="社区规模差异", en="Community size spread",
                                         doc="CV of residents per community within a street (log-normal, mean 1).")
    street_rank_spread: float = param(0.15, 0.0, 0.5, unit="s.d.", zh="街道高位阶单位占比差异",
                                      en="Spread of higher-rank share",
                                      doc="S.d. of a street's share of higher-rank units around share_units_higher_rank "
                                          "(Beta distribution; 0 = the same share everywhere).")
    street_staff_spread: float = param(0.2, 0.0, 1.0, unit="coefficient of variation",
                                       zh="街道人员差异", en="Street staff spread",
                                       doc="CV of street Party-building staff across streets (log-normal, mean 1).")
    streets_csv: str = param("", unit="path", zh="街道数据文件", en="Streets CSV",
                             doc="Optional CSV, one row per street (communities, residents, units_higher_rank, "
                                 "units_lower_rank, two_new, street_staff); replaces the drawn structure.")


@dataclass
class AdminConfig:
    """Administrative tasks pushed down (工作转接和下移) and campaign pulses (运动式治理)."""

    burden: float = param(0.5, 0.0, 1.0, unit="share of maximum", zh="行政负担", en="Administrative burden",
                          doc="Rate of administrative tasks pushed down, as a share of max_tasks_per_week.")
    max_tasks_per_week: float = param(40.0, 0.0, 500.0, unit="tasks/community-week", zh="最大下移任务量",
                                      en="Maximum tasks per week",
                                      doc="Tasks per community-week when burden = 1 (outside campaigns).")
    hours_per_task: float = param(5.0, 0.1, 80.0, unit="hours/task", zh="每项任务工时",
                                  en="Hours per task", doc="Staff hours one administrative task takes.")
    street_share: float = param(0.25, 0.0, 1.0, unit="share", zh="街道自留任务占比",
                                en="Street's own share",
                                doc="Street's own administrative load, relative to one community's, per street staff hour.")
    campaign_amplitude: float = param(1.0, 0.0, 5.0, unit="multiplier", zh="运动式任务幅度",
                                      en="Campaign amplitude",
                                      doc="Task rate during a campaign is (1 + amplitude) times the normal rate.")
    campaign_period: int = param(13, 1, 520, unit="steps", zh="运动周期", en="Campaign period",
                                 doc="Steps between the starts of two campaign pulses.")
    campaign_length: int = param(3, 0, 52, unit="steps", zh="运动持续期", en="Campaign length",
                                 doc="Steps a campaign pulse lasts (0 = no campaigns).")


@dataclass
class EmpowermentConfig:
    """Co-governance levers (共治机制): authority, responsibility lists, leading group, voice."""

    street_authority: float = param(0.3, 0.0, 1.0, unit="index", zh="街道赋权", en="Street authority",
                                    doc="Authority of the street over units and organisations (0 = none, 1 = full).")
    rank_discount: float = param(0.8, 0.0, 1.0, unit="share", zh="级别折损", en="Rank discount",
                                 doc="Share of the street's authority lost towards a unit of higher rank.")
    responsibility_list: float = param(0.0, 0.0, 1.0, unit="share of domains", zh="责任清单覆盖",
                                       en="Responsibility list",
                                       doc="Share of item domains covered by a responsibility list with one owner.")
    leading_group: float = param(0.0, 0.0, 1.0, unit="strength", zh="区领导协调小组",
                                 en="District leading group",
                                 doc="Strength of the district leading group's rigid constraints (0 = none).")
    conference_binding: float = param(0.1, 0.0, 1.0, unit="index", zh="联席会议约束力",
                                      en="Conference binding force",
                                      doc="Binding force of joint-conference assignments (0 = friendship-type).")
    conference_period: int = param(4, 1, 52, unit="steps", zh="联席会议周期", en="Conference period",
                                   doc="Steps between two meetings of the Party-building joint conference.")
    two_new_voice: float = param(0.1, 0.0, 1.0, unit="index", zh="两新组织话语权", en="Two-new voice",
                                 doc="Voice (话语权) of two-new organisations in the joint conference.")
    list_hours: float = param(8.0, 0.0, 80.0, unit="street hours/week", zh="责任清单维护工时",
                              en="Responsibility-list hours",
                              doc="Street staff hours a full responsibility list takes each week to keep current.")
    leading_group_hours: float = param(12.0, 0.0, 80.0, unit="street hours/week", zh="领导小组协调工时",
                                       en="Leading-group hours",
                                       doc="Cadre hours per street per week the leading group takes at full strength.")


@dataclass
class IncentivesConfig:
    """Endogenous-motivation levers (内生动力)."""

    material: float = param(0.1, 0.0, 1.0, unit="index", zh="物质激励", en="Material incentives",
                            doc="Funds and material rewards for staff, units and organisations.")
    recognition: float = param(0.1, 0.0, 1.0, unit="index", zh="表彰激励", en="Recognition",
                               doc="Public recognition of model organisations and staff.")
    fixed_contact: float = param(0.0, 0.0, 1.0, unit="share", zh="党委委员固定联系", en="Fixed contact",
                                 doc="Share of two-new organisations with a committee member as fixed contact.")
    cadre_exchange: float = param(0.0, 0.0, 1.0, unit="share", zh="双向互选干部交流", en="Cadre exchange",
                                  doc="Share of resident units in two-way cadre exchange with their street.")
    time_bank: float = param(0.0, 0.0, 1.0, unit="index", zh="时间银行", en="Time bank",
                             doc="Strength of time-bank rewards for volunteering (爱心储蓄银行).")
    contact_hours: float = param(1.0, 0.0, 20.0, unit="street hours/organisation-week", zh="固定联系工时",
                                 en="Fixed-contact hours",
                                 doc="Committee members' hours per organisation in fixed contact per week.")
    exchange_hours: float = param(2.0, 0.0, 40.0, unit="street hours/unit-week", zh="干部交流工时",
                                  en="Cadre-exchange hours",
                                  doc="Street cadre hours per unit in two-way cadre exchange per week.")


@dataclass
class EvaluationConfig:
    """Evaluation (考核): what is rewarded, how it is observed, what it is tied to."""

    substance_weight: float = param(0.2, 0.0, 1.0, unit="weight", zh="实绩考核权重",
                                    en="Substance weight",
                                    doc="Weight w of substantive signals (inspection, resident feedback) in the score.")
    observability: float = param(0.3, 0.0, 1.0, unit="index", zh="实绩可观测度", en="Observability",
                                 doc="How well the evaluator sees true performance behind reported figures (κ): "
                                     "random checks, unescorted visits, verified closures.")
    promotion_link: float = param(0.5, 0.0, 1.0, unit="index", zh="考核与晋升挂钩",
                                  en="Promotion link",
                                  doc="Link β of evaluation results to promotion and rewards.")
    external_pressure: float = param(0.6, 0.0, 1.0, unit="index", zh="外部考核压力",
                                     en="External pressure",
                                     doc="Assessment pressure ('hard indicators') on two-new organisations and units.")
    pressure_between_campaigns: float = param(0.2, 0.0, 1.0, unit="share", zh="运动间歇压力",
                                              en="Pressure between campaigns",
                                              doc="Share of external pressure that remains outside campaign pulses.")
    effort_substitution: float = param(0.3, 0.0, 0.95, unit="index", zh="形式与实绩替代性",
                                       en="Effort substitution",
                                       doc="Substitution δ between form and substance effort in the cost function.")
    gameable_share: float = param(0.4, 0.0, 1.0, unit="share", zh="可做表面文章部分",
                                  en="Gameable share",
                                  doc="Share of the substantive signal that form effort can game.")
    period: int = param(13, 1, 104, unit="steps", zh="考核周期", en="Evaluation period",
                        doc="Steps between two evaluations.")
    preparation_hours: float = param(30.0, 0.0, 400.0, unit="hours/community-evaluation",
                                     zh="迎检准备工时", en="Preparation hours",
                                     doc="Staff hours each evaluation takes to prepare for (materials, reports, "
                                         "迎检), added to the administrative load at every evaluation: "
                                         "frequent evaluations crowd out other work.")
    inspection_cost: float = param(30.0, 0.0, 500.0, unit="hour-equivalents/community-week",
                                   zh="实地核查成本", en="Inspection cost",
                                   doc="Cost of substantive evaluation (random checks, surveys) per community-week "
                                       "at substance weight × observability = 1; paid from the street budget.")


@dataclass
class MarketConfig:
    """Market-logic levers (市场逻辑)."""

    outsourcing: float = param(0.0, 0.0, 1.0, unit="share", zh="专业外包", en="Outsourcing",
                               doc="Share of specialised items (and half as much admin load) bought from providers.")
    outsourcing_cost: float = param(12.0, 0.0, 200.0, unit="hour-equivalents/item", zh="外包价格",
                                    en="Outsourcing price",
                                    doc="Price paid to a provider per outsourced item (and per bought-in task ÷ 2).")
    provider_capacity: float = param(3.0, 0.0, 100.0, unit="items/provider-week", zh="专业机构产能",
                                     en="Provider capacity",
                                     doc="Items one contracted provider can close per week when its contract is "
                                         "paid in full (a contract paid in part buys that share of it).")
    provider_quality: float = param(0.85, 0.0, 1.0, unit="probability", zh="专业机构质量",
                                    en="Provider quality",
                                    doc="Probability a provider's closure is a real solution when fully monitored.")
    quality_shading: float = param(0.4, 0.0, 1.0, unit="share", zh="质量缩水", en="Quality shading",
                                   doc="Share of quality a provider shades when unmonitored "
                                       "(Hart, Shleifer & Vishny 1997).")
    monitoring: float = param(0.5, 0.0, 1.0, unit="index", zh="合同监管", en="Contract monitoring",
                              doc="Strength of monitoring of contracted providers (cuts shading; costs money).")
    monitoring_cost: float = param(4.0, 0.0, 100.0, unit="hour-equivalents/item", zh="监管成本",
                                   en="Monitoring cost", doc="Monitoring cost per outsourced item at full monitoring.")
    volunteer_teams: float = param(0.0, 0.0, 1.0, unit="index", zh="志愿服务队", en="Volunteer teams",
                                   doc="Strength of volunteer teams and interest groups organised by communities.")
    team_cost: float = param(20.0, 0.0, 500.0, unit="hour-equivalents/community-week", zh="志愿队经费",
                             en="Volunteer-team cost",
                             doc="Support for volunteer teams per community-week at full strength (budget).")


@dataclass
class BudgetConfig:
    """The street's weekly budget that remedies compete for (hour-equivalents)."""

    street_budget: float = param(600.0, 0.0, 100_000.0, unit="hour-equivalents/street-week",
                                 zh="街道周预算", en="Street budget",
                                 doc="Money a street can spend per week on incentives, time-bank credits, "
                                     "providers, monitoring, volunteer teams and inspections. When the bill is "
                                     "larger, every payment is cut pro rata and the cut levers act at the funded "
                                     "share the following week (for providers: their capacity).")
    material_price: float = param(6.0, 0.0, 200.0, unit="hour-equivalents/participant-week",
                                  zh="物质激励单价", en="Material incentive price",
                                  doc="Payment per participating unit or organisation per week at material = 1.")
    time_bank_price: float = param(1.0, 0.0, 50.0, unit="hour-equivalents/volunteer-hour",
                                   zh="时间银行单价", en="Time-bank price",
                                   doc="Credit redeemed per volunteer hour at time_bank = 1.")
    recognition_price: float = param(10.0, 0.0, 500.0, unit="hour-equivalents/street-week",
                                     zh="表彰经费", en="Recognition cost",
                                     doc="Cost of awards, ceremonies and publicity per street-week at recognition = 1.")


@dataclass
class ItemsConfig:
    """Items (事项/诉求) raised by residents."""

    rate_per_resident: float = param(0.02, 0.0, 1.0, unit="items/resident-week", zh="诉求发生率",
                                     en="Item rate", doc="Expected items a resident raises per week.")
    n_domains: int = param(6, 1, 24, unit="domains", zh="事项领域数", en="Item domains",
                           doc="Number of item domains (environment, safety, elderly care, ...).")
    share_specialised: float = param(0.35, 0.0, 1.0, unit="share", zh="专业事项占比",
                                     en="Specialised share",
                                     doc="Share of items needing professional resources of units or organisations.")
    difficulty_sigma: float = param(0.5, 0.0, 3.0, unit="log-sd", zh="难度离散度", en="Difficulty spread",
                                    doc="Log-normal sigma of item difficulty (mean difficulty is 1).")
    hours_per_item: float = param(10.0, 0.1, 200.0, unit="hours", zh="每件工时", en="Hours per item",
                                  doc="Staff hours an item of difficulty 1 takes.")
    community_capability: float = param(1.6, 0.0, 20.0, unit="difficulty", zh="社区办理能力",
                                        en="Community capability",
                                        doc="Hardest non-specialised item a community handles itself.")
    max_age: int = param(26, 1, 520, unit="steps", zh="办理时限", en="Maximum age",
                         doc="An item still open after this many steps expires.")
    response_deadline: int = param(2, 1, 52, unit="steps", zh="响应时限", en="Response deadline",
                                   doc="An item counts as responded to (响应) if acted on within this many steps.")
    min_processing: int = param(1, 0, 26, unit="steps", zh="最短办理时长", en="Minimum processing time",
                                doc="No item is closed fewer than this many steps after it was raised.")
    overdue_after: int = param(8, 1, 520, unit="steps", zh="超期时限", en="Overdue after",
                               doc="Items older than this count against closure statistics; staff may close "
                                   "them on paper with form hours (formal reply, 以文办结).")
    paper_close_hours: float = param(2.0, 0.1, 80.0, unit="hours", zh="书面办结工时", en="Paper-closure hours",
                                     doc="Form hours needed to close an overdue item on paper.")
    repeat_probability: float = param(0.6, 0.0, 1.0, unit="probability", zh="重复诉求概率",
                                      en="Repeat probability",
                                      doc="Probability a resident raises an item closed unsolved again (重复诉求).")
    repeat_delay: float = param(4.0, 1.0, 52.0, unit="steps", zh="重复诉求间隔", en="Repeat delay",
                                doc="Mean steps before an unsolved closure comes back (geometric).")
    n_coresponsible: int = param(3, 1, 10, unit="assignees", zh="共同责任单位数",
                                 en="Co-responsible assignees",
                                 doc="Assignees a negotiated (non-listed) item is given to.")
    max_assign_attempts: int = param(3, 1, 20, unit="attempts", zh="最多派单次数",
                                     en="Assignment attempts",
                                     doc="Assignments tried before the street works the item itself "
                                         "(and pushes it down when it has no hours).")
    record: str = param("memory", unit="", zh="事项记录方式", en="Item records",
                        doc="Keep item rows in memory, stream them to disk, or keep none.",
                        choices=("memory", "stream", "none"))
    stream_path: str = param("", unit="path", zh="事项流式文件夹", en="Item stream folder",
                             doc="Folder of Parquet parts for streamed item rows (record = stream; hand-offs in "
                                 "<name>.handoffs.parquet beside it); empty = a temporary folder.")


@dataclass
class ResidentBehaviourConfig:
    """Resident participation: grievance/legitimacy threshold with complex contagion."""

    civic_weight: float = param(1.0, 0.0, 5.0, unit="weight", zh="公共动机权重", en="Civic weight",
                                doc="Weight of civic motive × responsiveness (Epstein's grievance G).")
    peer_weight: float = param(0.5, 0.0, 5.0, unit="weight", zh="同伴影响权重", en="Peer weight",
                               doc="Weight of the participating share of a resident's reference group.")
    cost_weight: float = param(0.8, 0.0, 5.0, unit="weight", zh="参与成本权重", en="Cost weight",
                               doc="Weight of the participation cost that grows as autonomy space shrinks.")
    reward_weight: float = param(0.25, 0.0, 5.0, unit="weight", zh="回报权重", en="Reward weight",
                                 doc="Weight of volunteer-team and time-bank rewards.")
    threshold_mean: float = param(0.5, -2.0, 5.0, unit="motive", zh="阈值均值", en="Threshold mean",
                                  doc="Mean participation threshold θ.")
    threshold_sd: float = param(0.35, 0.0, 5.0, unit="motive", zh="阈值标准差", en="Threshold s.d.",
                                doc="Standard deviation of participation thresholds.")
    threshold_assignment: str = param("random", zh="阈值分配", en="Threshold assignment",
                                      doc="Draw thresholds at random or at the normal quantiles (deterministic).",
                                      choices=("random", "quantile"))
    neighbour_weight: float = param(0.7, 0.0, 1.0, unit="share", zh="邻里参照权重",
                                    en="Neighbour reference",
                                    doc="Weight of ties (vs the whole community) in the reference group.")
    team_min_neighbours: int = param(2, 0, 20, unit="neighbours", zh="复杂传染门槛",
                                     en="Team contagion threshold",
                                     doc="Participating neighbours needed before team rewards reach a resident.")
    volunteer_hours: float = param(1.0, 0.0, 40.0, unit="hours/week", zh="志愿工时", en="Volunteer hours",
                                   doc="Hours a participating resident gives per week.")
    patience: float = param(8.0, 0.5, 104.0, unit="steps", zh="等待耐心", en="Patience",
                            doc="An item resolved after w steps is worth exp(−w/patience) to its resident.")
    responsiveness_rate: float = param(0.15, 0.0, 1.0, unit="1/step", zh="回应性记忆", en="Responsiveness rate",
                                       doc="Update rate of perceived responsiveness L (moving average).")
    satisfaction_rate: float = param(0.08, 0.0, 1.0, unit="1/step", zh="满意度调整速度",
                                     en="Satisfaction rate", doc="Update rate of satisfaction.")
    trust_rate: float = param(0.08, 0.0, 1.0, unit="1/step", zh="信任调整速度", en="Trust rate",
                              doc="Update rate of trust.")
    sham_penalty: float = param(0.05, 0.0, 1.0, unit="index", zh="虚假办结信任损失", en="Sham-closure penalty",
                                doc="Trust and satisfaction a resident loses when its item is closed unsolved.")


@dataclass
class TwoNewBehaviourConfig:
    """Two-new organisations: logistic participation under pressure, motivation, cooperation."""

    logit_slope: float = param(4.0, 0.0, 50.0, unit="1/utility", zh="决策敏感度", en="Decision slope",
                               doc="Slope β of the logistic participation rule.")
    motivation_mean: float = param(0.0, -3.0, 3.0, unit="utility", zh="内生动力均值",
                                   en="Mean motivation", doc="Initial mean endogenous motivation b_k.")
    motivation_sd: float = param(0.2, 0.0, 3.0, unit="utility", zh="内生动力离散度",
                                 en="Motivation s.d.", doc="Spread of initial motivation.")
    participation_cost: float = param(0.6, 0.0, 5.0, unit="utility", zh="参与成本", en="Participation cost",
                                      doc="Mean cost c_k of taking part for a week.")
    cost_spread: float = param(0.35, 0.0, 3.0, unit="utility", zh="参与成本离散度", en="Cost s.d.",
                               doc="S.d. of organisations' participation costs (normal, floored at 0).")
    sensitivity_spread: float = param(0.3, 0.0, 1.0, unit="share", zh="压力敏感度差异",
                                      en="Sensitivity spread",
                                      doc="Half-width of the uniform factor on pressure sensitivity (1 ± spread).")
    motivation_cap: float = param(0.8, 0.0, 5.0, unit="utility", zh="内生动力上限增量",
                                  en="Motivation ceiling",
                                  doc="Most that supportive stimuli can add to motivation (diminishing returns).")
    pressure_sensitivity: float = param(1.2, 0.0, 5.0, unit="utility", zh="压力敏感度",
                                        en="Pressure sensitivity",
                                        doc="Mean response to external pressure (firms 1.25×, social orgs 0.75×).")
    conditional_cooperation: float = param(0.4, 0.0, 1.0, unit="weight", zh="条件合作", en="Conditional cooperation",
                                           doc="Weight γ < 1 of others' participation last week.")
    spillover: float = param(0.3, 0.0, 1.0, unit="weight", zh="邻街道溢出", en="Spill-over",
                             doc="Weight of neighbouring streets' organisations in an organisation's "
                                 "reference group (imitation across street borders; 0 = no spill-over).")
    party_member_motivation: float = param(0.05, 0.0, 1.0, unit="utility/member",
                                           zh="党员带动", en="Party-member motivation",
                                           doc="Initial motivation each Party member adds to its organisation.")
    crowding_out: float = param(0.03, 0.0, 1.0, unit="1/step", zh="压力挤出", en="Crowding out",
                                doc="Motivation lost per step per unit of controlling pressure felt (ε).")
    motivation_rate: float = param(0.05, 0.0, 1.0, unit="1/step", zh="动力调整速度", en="Motivation rate",
                                   doc="Rate at which motivation moves towards its target (b0 plus the "
                                       "saturating effect of voice, recognition, contact and services).")


@dataclass
class UnitBehaviourConfig:
    """Resident units: participate only if benefit share × public benefit + rewards > cost."""

    public_benefit: float = param(1.0, 0.0, 10.0, unit="utility", zh="公共收益", en="Public benefit",
                                  doc="Public benefit B of a well-governed district to a unit.")
    benefit_share: float = param(0.3, 0.0, 1.0, unit="share", zh="收益分享", en="Benefit share",
                                 doc="Mean share α_j of the public benefit a unit feels as its own.")
    participation_cost: float = param(0.8, 0.0, 10.0, unit="utility", zh="参与成本", en="Participation cost",
                                      doc="Mean weekly cost c_j of participation (staff and resources diverted).")
    higher_rank_cost: float = param(1.3, 1.0, 5.0, unit="multiplier", zh="高位阶成本倍数",
                                    en="Higher-rank cost factor",
                                    doc="Cost multiplier for units that outrank the street.")
    cost_noise: float = param(0.3, 0.0, 5.0, unit="utility", zh="成本波动", en="Cost noise",
                              doc="Week-to-week s.d. of a unit's participation cost.")
    cost_spread: float = param(0.3, 0.0, 5.0, unit="utility", zh="参与成本离散度", en="Cost s.d.",
                               doc="S.d. of units' participation costs across units (normal, floored at 0).")
    benefit_share_spread: float = param(0.1, 0.0, 0.5, unit="share", zh="收益分享离散度",
                                        en="Benefit-share s.d.", doc="S.d. of units' benefit shares α_j.")
    motivation_cap: float = param(0.6, 0.0, 5.0, unit="utility", zh="动力上限", en="Motivation ceiling",
                                  doc="Most that recognition, cadre exchange and services can add (saturating).")
    motivation_rate: float = param(0.05, 0.0, 1.0, unit="1/step", zh="动力调整速度", en="Motivation rate",
                                   doc="Rate at which a unit's motivation moves towards its target.")


@dataclass
class BuckPassingConfig:
    """Volunteer's dilemma among co-responsible assignees (互相推诿)."""

    benefit: float = param(1.0, 0.0, 20.0, unit="utility", zh="办结收益", en="Benefit of resolution",
                           doc="Benefit b an assignee gets when the item is resolved by anyone.")
    cost: float = param(0.9, 0.0, 20.0, unit="utility", zh="办理成本", en="Cost of acting",
                        doc="Cost c of acting on an item of difficulty 1 with full domain capacity.")
    blame: float = param(2.0, 0.0, 50.0, unit="utility", zh="问责强度", en="Blame sanction",
                         doc="Sanction f shared by the assignees when nobody acts.")
    leading_group_sanction: float = param(3.0, 0.0, 20.0, unit="multiplier", zh="领导小组问责倍数",
                                          en="Leading-group sanction",
                                          doc="Extra sanction multiplier at full leading-group strength.")


@dataclass
class StaffBehaviourConfig:
    """Community and street staff: intrinsic motivation, burnout, rewards."""

    intrinsic_motivation: float = param(0.2, 0.0, 3.0, unit="utility", zh="工作人员内在动机",
                                        en="Staff intrinsic motivation",
                                        doc="Mean intrinsic reward ι0 of substantive work of new staff.")
    intrinsic_spread: float = param(0.4, 0.0, 2.0, unit="coefficient of variation", zh="内在动机差异",
                                    en="Intrinsic-motivation spread",
                                    doc="CV of ι0 across communities and streets (log-normal).")
    substitution_spread: float = param(0.15, 0.0, 0.4, unit="s.d.", zh="替代性差异", en="Substitution spread",
                                       doc="S.d. of δ across actors around evaluation.effort_substitution (Beta).")
    effort_noise: float = param(0.1, 0.0, 1.0, unit="utility", zh="决策噪声", en="Effort noise",
                                doc="S.d. of random-utility shocks to the marginal rewards, redrawn each "
                                    "evaluation period (quantal response around the optimum; 0 = exact optimum).")
    effort_scale: float = param(0.6, 0.01, 10.0, unit="effort", zh="满负荷努力", en="Full-time effort",
                                doc="Total effort t_F + t_S at which staff use all their free hours; "
                                    "below it they use that share of them.")
    paperwork_floor: float = param(0.1, 0.0, 0.5, unit="share of free hours", zh="留痕底线",
                                   en="Paperwork floor",
                                   doc="Least share of free hours spent on form (records, 留痕) whatever the rewards.")
    score_feedback: float = param(0.5, 0.0, 2.0, unit="multiplier", zh="考核结果反馈",
                                  en="Score feedback",
                                  doc="How much a community's evaluation score (relative to the mean) moves its staff's "
                                      "morale target, scaled by the promotion link β.")
    burnout_rate: float = param(0.01, 0.0, 1.0, unit="1/step", zh="倦怠速度", en="Burnout rate",
                                doc="Intrinsic motivation lost per step at full overload (share of ι0).")
    recovery_rate: float = param(0.1, 0.0, 1.0, unit="1/step", zh="恢复速度", en="Recovery rate",
                                 doc="Rate at which ι returns towards its target in weeks without campaigns "
                                     "(rest between campaigns), scaled by the hours left free.")
    turnover_rate: float = param(0.004, 0.0, 0.2, unit="1/staff-week", zh="人员流动率", en="Turnover rate",
                                 doc="Weekly probability a staff member leaves for ordinary reasons.")
    burnout_turnover: float = param(0.02, 0.0, 0.5, unit="1/staff-week", zh="倦怠离职率",
                                    en="Burnout turnover",
                                    doc="Extra weekly quit probability of fully burned-out staff (ι → 0); "
                                        "leavers are replaced by new staff with fresh ι and no experience.")
    learning_weeks: float = param(26.0, 1.0, 520.0, unit="steps", zh="上手周期", en="Learning time",
                                  doc="Time constant with which new staff gain experience.")
    novice_productivity: float = param(0.5, 0.0, 1.0, unit="share", zh="新手效率", en="Novice productivity",
                                       doc="Productivity and solution quality of staff with no experience "
                                           "(experienced staff: 1).")


@dataclass
class SubmodelConfig:
    """Which variant of each submodel runs (null variants serve ablations)."""

    crowding_out: str = param("priority_queue", zh="行政挤出", en="Administrative crowding-out",
                              doc="priority_queue: tasks served first; separate_budget: null, no crowding-out.",
                              choices=("priority_queue", "separate_budget"))
    resident_participation: str = param("threshold_contagion", zh="居民参与", en="Resident participation",
                                        doc="threshold_contagion, or nobody (null variant: nobody participates).",
                                        choices=("threshold_contagion", "nobody"))
    two_new_participation: str = param("pressure_motivation", zh="两新组织参与", en="Two-new participation",
                                       doc="pressure_motivation, or pressure_blind (null: pressure ignored).",
                                       choices=("pressure_motivation", "pressure_blind"))
    unit_participation: str = param("cost_benefit", zh="驻区单位参与", en="Unit participation",
                                    doc="cost_benefit, or always (null: every unit takes part).",
                                    choices=("cost_benefit", "always"))
    buck_passing: str = param("volunteers_dilemma", zh="推诿", en="Buck-passing",
                              doc="volunteers_dilemma, no_blame_diffusion, or authority_blind (null: fixed p).",
                              choices=("volunteers_dilemma", "no_blame_diffusion", "authority_blind"))
    evaluation: str = param("multitask", zh="考核", en="Evaluation",
                            doc="multitask, or form_blind (null: form earns nothing).",
                            choices=("multitask", "form_blind"))
    motivation: str = param("reinforcement", zh="动力演化", en="Motivation dynamics",
                            doc="reinforcement, or static (null: motivation never changes).",
                            choices=("reinforcement", "static"))


@dataclass
class MetricsConfig:
    """How the per-step metrics are computed."""

    window: int = param(4, 1, 52, unit="steps", zh="统计窗口", en="Metric window",
                        doc="Trailing window for event rates (return flow, closure, resolution, cost).")
    record_spin_up: bool = param(False, zh="记录预热期", en="Record spin-up",
                                 doc="Keep the spin-up weeks (steps ≤ 0) in the timeseries.")


@dataclass
class RPBConfig:
    """The whole configuration of one run."""

    name: str = param("baseline", zh="情景名称", en="Scenario name", doc="Name of the scenario.")
    steps: int = param(104, 1, 5200, unit="steps (weeks)", zh="仿真步数", en="Steps",
                       doc="Number of weekly steps to run (after the spin-up).")
    spin_up: int = param(156, 0, 1040, unit="steps (weeks)", zh="预热期", en="Spin-up",
                         doc="Weeks run before week 1 to reach the steady state (detected warm-up, see "
                             "docs/validation); left out of outputs. The same for every arm of a comparison.")
    seed: int = param(0, 0, 2**32 - 1, unit="", zh="随机种子", en="Seed",
                      doc="Seed of the model's one numpy Generator.")
    population: PopulationConfig = field(default_factory=PopulationConfig)
    admin: AdminConfig = field(default_factory=AdminConfig)
    empowerment: EmpowermentConfig = field(default_factory=EmpowermentConfig)
    incentives: IncentivesConfig = field(default_factory=IncentivesConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    market: MarketConfig = field(default_factory=MarketConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    items: ItemsConfig = field(default_factory=ItemsConfig)
    residents: ResidentBehaviourConfig = field(default_factory=ResidentBehaviourConfig)
    two_new: TwoNewBehaviourConfig = field(default_factory=TwoNewBehaviourConfig)
    units: UnitBehaviourConfig = field(default_factory=UnitBehaviourConfig)
    buck_passing: BuckPassingConfig = field(default_factory=BuckPassingConfig)
    staff: StaffBehaviourConfig = field(default_factory=StaffBehaviourConfig)
    submodels: SubmodelConfig = field(default_factory=SubmodelConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    street_levers: list[Any] = field(
        default_factory=list,
        metadata=dict(lo=None, hi=None, unit="", zh="分街道政策", en="Per-street levers", choices=None,
                      doc="List of {streets: [i, ...] | {share: x}, set: {dotted.field: value}}: lever values "
                          "in some streets only (a share draws the streets from the seed)."),
    )
    interventions: list[Any] = field(
        default_factory=list,
        metadata=dict(lo=None, hi=None, unit="", zh="政策干预", en="Interventions", choices=None,
                      doc="List of {step: N, set: {dotted.field: value}, streets: optional} applied at the "
                          "start of step N (in the named streets only when streets is given: a pilot)."),
    )


# Population presets (config group ``population``). Units and two-new organisations scale
# with the number of communities per street.
POPULATION_PRESETS: dict[str, dict[str, int]] = {
    "classroom": dict(n_streets=1, communities_per_street=3, residents_per_community=100,
                      units_per_street=4, two_new_per_street=6),
    "default": dict(n_streets=4, communities_per_street=6, residents_per_community=300,
                    units_per_street=8, two_new_per_street=12),
    "district": dict(n_streets=10, communities_per_street=15, residents_per_community=2000,
                     units_per_street=20, two_new_per_street=30),
}

#: Every spread and noise parameter at its deterministic setting (0): identical streets and
#: communities, identical actors within a kind, choices exactly at the optimum. The
#: known-answer tests run here.
DETERMINISTIC: dict[str, float] = {
    "population.street_size_spread": 0.0, "population.community_size_spread": 0.0,
    "population.street_rank_spread": 0.0, "population.street_staff_spread": 0.0,
    "staff.intrinsic_spread": 0.0, "staff.substitution_spread": 0.0, "staff.effort_noise": 0.0,
    "two_new.cost_spread": 0.0, "two_new.sensitivity_spread": 0.0, "two_new.motivation_sd": 0.0,
    "units.cost_spread": 0.0, "units.benefit_share_spread": 0.0, "units.cost_noise": 0.0,
}

#: Fields read only when the model is built (traits drawn once, record settings): an
#: intervention cannot change them (set them in the config instead).
BUILD_ONLY: frozenset[str] = frozenset({
    "evaluation.effort_substitution",
    "staff.intrinsic_motivation", "staff.intrinsic_spread", "staff.substitution_spread",
    "two_new.motivation_mean", "two_new.motivation_sd", "two_new.participation_cost",
    "two_new.cost_spread", "two_new.pressure_sensitivity", "two_new.sensitivity_spread",
    "two_new.party_member_motivation",
    "units.benefit_share", "units.benefit_share_spread", "units.participation_cost",
    "units.cost_spread", "units.higher_rank_cost",
    "residents.threshold_mean", "residents.threshold_sd", "residents.threshold_assignment",
    "items.record", "items.stream_path",
    "items.n_domains",  # capacities, lists and provider tables are drawn per domain at build
})

SUBMODEL_CHOICES = {f.name: f.metadata["choices"] for f in dataclasses.fields(SubmodelConfig)}

# --------------------------------------------------------------------------- introspection


@dataclass(frozen=True)
class FieldSpec:
    """Everything the schema says about one leaf field."""

    name: str  # dotted, e.g. "admin.burden"
    type: type
    default: Any
    lo: float | None
    hi: float | None
    choices: tuple | None
    unit: str
    zh: str
    en: str
    doc: str

    @property
    def allowed(self) -> str:
        if self.type is bool:
            return "true or false"
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.lo is not None and self.hi is not None:
            if self.type is int:
                return f"integer in [{self.lo:d}, {self.hi:d}]"
            return f"number in [{self.lo:g}, {self.hi:g}]"
        return self.type.__name__

    def check(self, value: Any) -> Any:
        """Return ``value`` coerced to the field's type, or raise :class:`ConfigError`."""
        t = self.type
        is_bool = isinstance(value, bool) or (type(value).__module__ == "numpy"
                                              and type(value).__name__ in ("bool", "bool_"))
        if t is bool:
            if not is_bool:
                raise ConfigError(self.name, value, "true or false")
            return bool(value)
        if t is int:  # numpy integers, and floats with an integral value, are integers too
            if is_bool or not isinstance(value, numbers.Real) or (
                not isinstance(value, numbers.Integral) and not float(value).is_integer()
            ):
                raise ConfigError(self.name, value, self.allowed, "must be an integer")
            value = int(value)
        elif t is float:
            if is_bool or not isinstance(value, numbers.Real):
                raise ConfigError(self.name, value, self.allowed, "must be a number")
            value = float(value)
            if not math.isfinite(value):
                raise ConfigError(self.name, value, self.allowed, "must be finite")
        elif t is str:
            if not isinstance(value, str):
                raise ConfigError(self.name, value, self.allowed, "must be a string")
        if self.choices and value not in self.choices:
            from .suggest import suggest_choice

            raise ConfigError(self.name, value, self.allowed,
                              suggestion=suggest_choice(value, self.choices))
        if self.lo is not None and value < self.lo or self.hi is not None and value > self.hi:
            raise ConfigError(self.name, value, self.allowed)
        return value


_TYPES = {"int": int, "float": float, "str": str, "bool": bool}


def _walk(cls, prefix="") -> Iterator[FieldSpec]:
    for f in dataclasses.fields(cls):
        name = prefix + f.name
        tp = f.type if isinstance(f.type, type) else _TYPES.get(str(f.type))
        if tp is None and dataclasses.is_dataclass(_GROUPS.get(f.name)):
            yield from _walk(_GROUPS[f.name], name + ".")
            continue
        if tp is None:  # interventions
            continue
        m = f.metadata
        yield FieldSpec(name, tp, f.default, m.get("lo"), m.get("hi"), m.get("choices"),
                        m.get("unit", ""), m.get("zh", ""), m.get("en", ""), m.get("doc", ""))


#: Top-level fields that hold lists of policy changes rather than schema leaves.
LIST_FIELDS = ("street_levers", "interventions")

_GROUPS = {f.name: f.default_factory for f in dataclasses.fields(RPBConfig)
           if f.default_factory is not dataclasses.MISSING and f.name not in LIST_FIELDS}


def iter_field_specs() -> Iterator[FieldSpec]:
    """Every leaf field of the schema, in declaration order."""
    yield from _walk(RPBConfig)


_SPECS: dict[str, FieldSpec] = {s.name: s for s in iter_field_specs()}


def field_spec(name: str, value: Any = None) -> FieldSpec:
    """The :class:`FieldSpec` of a dotted field name; unknown names raise ConfigError."""
    try:
        return _SPECS[name]
    except KeyError:
        raise unknown_field(name, value) from None


# --------------------------------------------------------------------------- dict <-> config


def to_dict(cfg: RPBConfig) -> dict:
    """A plain nested dict of ``cfg`` (for YAML/JSON metadata)."""
    out = {}
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if dataclasses.is_dataclass(v):
            out[f.name] = {g.name: getattr(v, g.name) for g in dataclasses.fields(v)}
        elif f.name in LIST_FIELDS:
            out[f.name] = [_plain_intervention(iv) for iv in v]
        else:
            out[f.name] = v
    return out


def _plain_intervention(iv):
    if not hasattr(iv, "keys"):
        return iv
    d = dict(iv)
    if hasattr(d.get("set"), "items"):
        d["set"] = dict(d["set"])
    if hasattr(d.get("streets"), "items"):
        d["streets"] = dict(d["streets"])
    elif isinstance(d.get("streets"), tuple):
        d["streets"] = list(d["streets"])
    return d


def from_dict(data: dict) -> RPBConfig:
    """Build an (unvalidated, mutable) config from a nested dict; unknown keys raise."""
    cfg = RPBConfig()
    for key, value in data.items():
        if key in _GROUPS:
            if not isinstance(value, dict):
                raise ConfigError(key, value, "a mapping of fields")
            group = getattr(cfg, key)
            for sub, v in value.items():
                field_spec(f"{key}.{sub}", v)
                setattr(group, sub, v)
        elif key in LIST_FIELDS:
            setattr(cfg, key, _intervention_list(value, key))
        else:
            field_spec(key, value)
            setattr(cfg, key, value)
    return cfg


# --------------------------------------------------------------------------- validation


def _frozen_setattr(self, name, value):
    raise dataclasses.FrozenInstanceError(
        f"the validated config is immutable; use interventions or sim.config overrides "
        f"instead of setting '{name}'")


def _frozen_delattr(self, name):
    raise dataclasses.FrozenInstanceError(f"the validated config is immutable; cannot delete '{name}'")


def _refreeze(base: type, values: dict):
    """Unpickle a frozen config: rebuild the mutable dataclass, then freeze it again."""
    obj = base.__new__(base)
    for k, v in values.items():
        object.__setattr__(obj, k, v)
    return freeze(obj)


def _frozen_reduce(self):
    base = type(self).__mro__[1]
    return (_refreeze, (base, {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}))


_FROZEN_CLASSES: dict[type, type] = {}


def _frozen_class(cls: type) -> type:
    """A subclass of ``cls`` whose instances refuse assignment and deletion (picklable)."""
    if cls not in _FROZEN_CLASSES:
        _FROZEN_CLASSES[cls] = type("Frozen" + cls.__name__, (cls,),
                                    {"__setattr__": _frozen_setattr,
                                     "__delattr__": _frozen_delattr,
                                     "__reduce__": _frozen_reduce,
                                     "__hash__": None,
                                     "__module__": cls.__module__})
    return _FROZEN_CLASSES[cls]


class FrozenDict(dict):
    """A dict that refuses changes (interventions inside a validated config); picklable."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("the validated config is immutable")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self):
        return (FrozenDict, (dict(self),))


def freeze(obj):
    """Return an immutable copy of a (validated) config or config group."""
    cls = type(obj)
    if cls in _FROZEN_CLASSES.values():
        return obj
    frozen = object.__new__(_frozen_class(cls))
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if dataclasses.is_dataclass(v):
            v = freeze(v)
        elif isinstance(v, (list, tuple)):
            v = tuple(_freeze_intervention(iv) for iv in v)
        object.__setattr__(frozen, f.name, v)
    return frozen


def _freeze_intervention(iv):
    out = {k: v for k, v in iv.items() if k not in ("set", "streets")}
    out["set"] = FrozenDict(dict(iv["set"]))
    streets = iv.get("streets")
    if streets is not None:
        out["streets"] = FrozenDict(dict(streets)) if hasattr(streets, "items") else tuple(streets)
    return FrozenDict(out)


def validate(cfg: RPBConfig, *, rules_over_time: bool = True) -> RPBConfig:
    """Check every field and the cross-field rules; return a frozen, coerced copy.

    The cross-field rules are also checked after each district-wide intervention, in step
    order (``rules_over_time``; off when the model applies an intervention mid-run, whose
    config is the start of what remains, not of the listed interventions). Whether the run
    fits this machine's memory is checked where a run is composed or built
    (:func:`check_memory`, called by :func:`sim.compose.compose` and :class:`sim.RegionModel`),
    not here: a saved config must load anywhere.

    Raises:
        ConfigError: naming the field, the value and the allowed range.
    """
    data = {}
    for spec in iter_field_specs():
        obj = cfg
        parts = spec.name.split(".")
        for p in parts[:-1]:
            obj = getattr(obj, p)
        data[spec.name] = spec.check(getattr(obj, parts[-1]))
    _check_cross_field(data)
    out = RPBConfig()
    for name, value in data.items():
        obj = out
        parts = name.split(".")
        for p in parts[:-1]:
            obj = getattr(obj, p)
        setattr(obj, parts[-1], value)
    out.street_levers = validate_street_levers(cfg.street_levers, data)
    out.interventions = validate_interventions(cfg.interventions, data,
                                               rules_over_time=rules_over_time)
    return freeze(out)


def _check_cross_field(data: dict) -> None:
    k = data["population.resident_ties"]
    n = data["population.residents_per_community"]
    if k % 2:
        raise ConfigError("population.resident_ties", k, "an even integer in [2, 30]",
                          "Watts–Strogatz ties come in pairs")
    if k >= n:
        raise ConfigError("population.resident_ties", k,
                          f"less than population.residents_per_community ({n})")
    if data["admin.campaign_length"] > data["admin.campaign_period"]:
        raise ConfigError("admin.campaign_length", data["admin.campaign_length"],
                          f"at most admin.campaign_period ({data['admin.campaign_period']})")


# --------------------------------------------------------------------------- memory

#: Rough memory use of one run, calibrated by the peak RSS of ``sim.run_config`` at 0.1 and
#: 0.9 million residents, 5–100 weeks (docs/reliability.md): the interpreter with numpy,
#: pandas, mesa and hydra loaded; each resident (state arrays, ties, Mesa agent); each other
#: actor; each item row kept in memory (``items.record = memory``: items, hand-offs and the
#: tables built from them at the end); each live item.
MEMORY_BASE = 160_000_000
BYTES_PER_RESIDENT = 800
BYTES_PER_ACTOR = 2000
BYTES_PER_KEPT_ITEM = 850
BYTES_PER_LIVE_ITEM = 300


@dataclass(frozen=True)
class MemoryEstimate:
    """The estimated peak memory of one run (bytes) and what it is made of."""

    residents: int
    items_kept: int
    residents_bytes: int
    items_bytes: int
    total: int


def machine_memory() -> int | None:
    """Bytes of memory this machine has (its cgroup limit when lower); None if unknown."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path, encoding="ascii") as f:
                limit = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if 0 < limit < total:
            total = limit
    return total if total > 0 else None


def estimate_memory(cfg) -> MemoryEstimate:
    """Estimated peak memory of a run of ``cfg`` (a config, or validate's flat dict of dotted
    names). Populations read from ``population.streets_csv`` count as the drawn one would."""
    if not isinstance(cfg, dict):
        cfg = {s.name: getattr(getattr(cfg, s.name.split(".")[0]), s.name.split(".")[1])
               if "." in s.name else getattr(cfg, s.name) for s in iter_field_specs()}
    S = cfg["population.n_streets"]
    C = S * cfg["population.communities_per_street"]
    residents = C * cfg["population.residents_per_community"]
    actors = S * (cfg["population.units_per_street"] + cfg["population.two_new_per_street"] + 1) + C
    weeks = cfg["steps"] + cfg["spin_up"]
    # repeats of items closed unsolved come on top (about half of them are, at most)
    per_week = cfg["items.rate_per_resident"] * residents * (1 + cfg["items.repeat_probability"] / 2)
    kept_weeks = weeks if cfg["metrics.record_spin_up"] else cfg["steps"]
    kept = int(per_week * kept_weeks) if cfg["items.record"] == "memory" else 0
    live = int(per_week * min(weeks, cfg["items.max_age"]))
    res_bytes = MEMORY_BASE + residents * BYTES_PER_RESIDENT + actors * BYTES_PER_ACTOR
    item_bytes = kept * BYTES_PER_KEPT_ITEM + live * BYTES_PER_LIVE_ITEM
    return MemoryEstimate(residents, kept, res_bytes, item_bytes, res_bytes + item_bytes)


def _bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"


def check_memory(cfg, available: int | None = None) -> None:
    """Refuse a config (or validate's flat dict) whose estimated memory exceeds this machine's
    (``available`` bytes; default :func:`machine_memory`) with a ConfigError."""
    available = machine_memory() if available is None else available
    if not available:
        return
    est = estimate_memory(cfg)
    record = cfg["items.record"] if isinstance(cfg, dict) else cfg.items.record
    if est.total <= available:
        return
    need = (f"estimated memory {_bytes(est.total)} exceeds this machine's {_bytes(available)} "
            f"(about {BYTES_PER_RESIDENT} bytes per resident, {BYTES_PER_KEPT_ITEM} per item kept; "
            f"docs/reliability.md)")
    if est.residents_bytes > available:
        most = max(0, (available - MEMORY_BASE) // BYTES_PER_RESIDENT)
        most_text = f"{most / 1e6:.2g} million" if most >= 1e6 else f"{most:,}"
        raise ConfigError("population", est.residents,
                          f"at most about {most_text} residents on this machine",
                          f"n_streets × communities_per_street × residents_per_community = "
                          f"{est.residents:,} residents: {need}")
    raise ConfigError("items.record", record,
                      "'none' or 'stream' for a run this long, or fewer steps or residents",
                      f"{est.items_kept:,} item rows kept in memory: {need}",
                      suggestion="stream")


def _intervention_list(value, name: str = "interventions") -> list:
    """``interventions`` (or ``street_levers``) as a list, or ConfigError if it is not a list."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or hasattr(value, "keys") or not hasattr(value, "__iter__"):
        shape = "{step: N, set: {...}}" if name == "interventions" else "{streets: [...], set: {...}}"
        raise ConfigError(name, value, f"a list of {shape}")
    return list(value)


def _check_streets(where: str, streets, base: dict | None):
    """A street selector: a list of street indices, or {share: x} (drawn per seed)."""
    n = base.get("population.n_streets") if base else None
    if hasattr(streets, "items"):
        if set(streets.keys()) != {"share"}:
            raise ConfigError(where, dict(streets), "a list of street indices or {share: x}")
        share = streets["share"]
        if isinstance(share, bool) or not isinstance(share, numbers.Real) or not 0 <= share <= 1:
            raise ConfigError(where + ".share", share, "number in [0, 1]")
        return {"share": float(share)}
    if isinstance(streets, (str, bytes)) or not hasattr(streets, "__iter__"):
        raise ConfigError(where, streets, "a list of street indices or {share: x}")
    out = []
    for s in streets:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0 or (
                n is not None and s >= n):
            hi = f"{n - 1}" if n is not None else "n_streets − 1"
            raise ConfigError(where, list(streets), f"street indices in [0, {hi}]")
        out.append(int(s))
    return sorted(set(out))


def _check_set(where: str, sets, per_street: bool = False) -> dict:
    if not hasattr(sets, "items"):
        raise ConfigError(where + ".set", sets, "a mapping of dotted field names to values")
    checked = {}
    for key, value in _flatten_set(sets):
        if key in ("seed", "steps", "name", "spin_up") or key.startswith(("population.", "metrics.")):
            raise ConfigError(f"{where}.set.{key}", value,
                              "a behavioural or policy field (population, steps, spin-up, metrics and "
                              "seed are fixed at build)")
        if key in BUILD_ONLY:
            raise ConfigError(f"{where}.set.{key}", value,
                              "a field read after the model is built",
                              "drawn once when the model is built: set it in the config instead")
        try:
            spec = field_spec(key)
        except ConfigError:
            raise unknown_field(key, value, where=f"{where}.set.{key}") from None
        if per_street and key not in STREET_FIELDS:
            from .suggest import suggest_field

            raise ConfigError(f"{where}.set.{key}", value, "a lever that can differ between streets: "
                              + ", ".join(sorted(STREET_FIELDS)),
                              suggestion=suggest_field(key, sorted(STREET_FIELDS)))
        try:
            checked[key] = spec.check(value)
        except ConfigError as e:
            raise ConfigError(f"{where}.set.{key}", value, e.allowed) from None
    return checked


def validate_street_levers(street_levers, base: dict | None = None) -> list[dict]:
    """Check ``[{streets: [...] | {share: x}, set: {dotted.field: value}}]``; normalised copies."""
    out = []
    for i, sl in enumerate(_intervention_list(street_levers, "street_levers")):
        where = f"street_levers[{i}]"
        if not hasattr(sl, "keys") or set(sl.keys()) != {"streets", "set"}:
            raise ConfigError(where, sl, "a mapping {streets: [...] | {share: x}, set: {...}}")
        out.append({"streets": _check_streets(where + ".streets", sl["streets"], base),
                    "set": _check_set(where, sl.get("set") or {}, per_street=True)})
    return out


def validate_interventions(interventions, base: dict | None = None, *,
                           rules_over_time: bool = True) -> list[dict]:
    """Check a list of ``{step: N, set: {dotted.field: value}}``; return normalised copies.

    Each value is checked against its field's range. ``step`` must be an integer >= 1;
    a step beyond the run's last step is allowed here (the runner warns about it).
    """
    interventions = _intervention_list(interventions)
    out = []
    for i, iv in enumerate(interventions):
        where = f"interventions[{i}]"
        if not hasattr(iv, "keys") or set(iv.keys()) - {"step", "set", "streets"} or "step" not in iv:
            raise ConfigError(where, iv, "a mapping {step: N, set: {dotted.field: value}, "
                                         "streets: optional}")
        step = iv["step"]
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 1:
            raise ConfigError(where + ".step", step, "an integer >= 1 (steps count from 1)")
        step = int(step)
        per_street = iv.get("streets") is not None
        entry = {"step": step, "set": _check_set(where, iv.get("set") or {}, per_street)}
        if iv.get("streets") is not None:
            entry["streets"] = _check_streets(where + ".streets", iv["streets"], base)
        out.append(entry)
    order = sorted(range(len(out)), key=lambda i: out[i]["step"])
    if base is not None and rules_over_time:
        _check_rules_over_time(base, [(i, out[i]) for i in order])
    return [out[i] for i in order]


def _check_rules_over_time(base: dict, indexed: list[tuple[int, dict]]) -> None:
    """The cross-field rules must hold after every district-wide intervention, in the order
    the model applies them (else the run would stop half-way)."""
    state = dict(base)
    for i, iv in indexed:
        if iv.get("streets") is not None:
            continue
        state.update(iv["set"])
        try:
            _check_cross_field(state)
        except ConfigError as e:
            raise ConfigError(f"interventions[{i}].set", dict(iv["set"]),
                              f"values that keep every rule of the schema from step {iv['step']} on",
                              f"then {e.field} = {e.value!r}, but it must be {e.allowed}") from None


def _flatten_set(mapping, prefix=""):
    for k, v in mapping.items():
        k = str(k)
        if hasattr(v, "items") and prefix + k in _GROUPS:
            yield from _flatten_set(v, prefix + k + ".")
        elif hasattr(v, "items") and not prefix and k in _GROUPS:
            yield from _flatten_set(v, k + ".")
        else:
            yield prefix + k, v


# --------------------------------------------------------------------------- hydra


def register_configs() -> None:
    """Register the schema and the population presets with hydra's ConfigStore."""
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    cs.store(name="rpb_schema", node=RPBConfig)
    for name, values in POPULATION_PRESETS.items():
        cs.store(group="population", name=name, node=PopulationConfig(**values))
