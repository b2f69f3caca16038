"""The paper's dilemmas and remedies as testable patterns (pattern-oriented modelling).

Each :class:`Pattern` names a row of the dilemma or remedy table of the model brief, the
claim of the paper it encodes, two arms (scenario + overrides) or one, a measure, and the
expected sign of (measure(B) − measure(A)) — or of measure(A) for one-arm patterns. Patterns
are evaluated over replicate seeds with common random numbers (arm A and B share the seed),
and a pattern *holds* when the 95 % t-interval of the paired differences excludes zero on the
expected side [grimm2005]. Where a mechanism can be switched off, ``ablation`` names the null
submodel; :func:`evaluate` on the ablated arms must show the effect gone.

Used by ``tests/test_patterns.py`` (CI, >= 5 seeds, default population) and by
``experiments/validate.py`` (``make validate``: more seeds and a Latin hypercube over the other
headline levers). Patterns are declared once, here.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

from .compose import parse_overrides
from .institutions.admin import campaign_active, external_pressure
from .runner import run

__all__ = [
    "HEADLINE_LEVERS",
    "MEASURES",
    "PATTERNS",
    "Arm",
    "Pattern",
    "PatternResult",
    "ablation_removes",
    "evaluate",
    "measure",
    "paired_result",
    "pattern",
    "run_measure",
]

#: The headline levers of the brief (§5b); the Latin hypercube of ``make validate`` varies
#: those a pattern's arms do not set.
HEADLINE_LEVERS = ("admin.burden", "empowerment.street_authority",
                   "empowerment.responsibility_list", "empowerment.leading_group",
                   "empowerment.two_new_voice", "incentives.material", "incentives.recognition",
                   "incentives.fixed_contact", "incentives.cadre_exchange",
                   "evaluation.substance_weight", "evaluation.promotion_link",
                   "evaluation.external_pressure", "evaluation.period", "market.outsourcing",
                   "market.volunteer_teams")


@dataclass(frozen=True)
class Arm:
    """One experimental condition: a scenario, overrides and interventions."""

    scenario: str = "baseline"
    overrides: tuple[str, ...] = ()
    interventions: tuple = ()

    def fields(self) -> set[str]:
        from .compose import _flatten, load_scenario

        keys = set(_flatten(load_scenario(self.scenario)))
        keys |= set(parse_overrides(list(self.overrides)))
        for iv in self.interventions:
            keys |= set(iv["set"])
        return keys


@dataclass(frozen=True)
class Pattern:
    name: str
    row: str        # the row of the brief's table, e.g. "D1 administrative operation"
    claim: str      # what the paper says (Chinese quote where there is one)
    measure: str    # key of MEASURES or a summary key
    a: Arm
    b: Arm | None   # None: one-arm pattern, the sign of measure(A) is tested
    sign: int       # expected sign of measure(B) − measure(A) (or of measure(A))
    ablation: tuple[str, ...] = ()  # overrides that switch the responsible mechanism off
    steps: int = 104
    # Headline levers the Latin hypercube of ``make validate`` holds at their baseline values
    # for this pattern: the pattern's own cause, or the remedy that by the model's (and the
    # paper's) logic neutralises its mechanism. Every other headline lever is varied.
    held: tuple[str, ...] = ()
    # Fewest replicate seeds that resolve the effect: small effects that vary between districts
    # (streets and communities are drawn per seed) need more than the CI's default of 5.
    min_seeds: int = 5


@dataclass
class PatternResult:
    pattern: str
    values_a: list[float]
    values_b: list[float]
    diffs: list[float]
    mean: float
    ci_low: float
    ci_high: float

    @property
    def holds(self) -> bool:
        """True when the 95 % interval excludes zero on the expected side."""
        sign = pattern(self.pattern).sign
        return self.ci_low > 0 if sign > 0 else self.ci_high < 0


def ablation_removes(full: PatternResult, ablated: PatternResult, tolerance: float = 0.25) -> bool:
    """The null mechanism removes the pattern: what is left in the expected direction is at
    most ``tolerance`` of the full effect (a reversed effect counts as removed)."""
    sign = pattern(full.pattern).sign
    return sign * ablated.mean <= tolerance * abs(full.mean)


# --------------------------------------------------------------------------- measures


def _steps(result):
    """Weeks 1..T (the spin-up already brought the model to its steady state)."""
    ts = result.timeseries
    return ts.loc[ts.index >= 1]


_after_burn_in = _steps


def campaign_trough(result) -> float:
    """Relative dip of resident participation during campaign pulses: 1 − p_in / p_out."""
    ts = _after_burn_in(result)
    camp = np.array([campaign_active(t, result.config.admin) for t in ts.index])
    p = ts["participation_residents"].to_numpy()
    if not camp.any() or camp.all() or p[~camp].mean() == 0:
        return 0.0
    return float(1.0 - p[camp].mean() / p[~camp].mean())


def pressure_correlation(result) -> float:
    """Correlation over steps of two-new participation with external pressure A_t."""
    ts = _after_burn_in(result)
    pressure = np.array([external_pressure(t, result.config) for t in ts.index])
    p = ts["participation_two_new"].to_numpy()
    if pressure.std() == 0 or p.std() == 0:
        return 0.0
    return float(np.corrcoef(pressure, p)[0, 1])


def campaign_lift(result) -> float:
    """Two-new participation in campaign weeks minus outside them (share points)."""
    ts = _after_burn_in(result)
    camp = np.array([campaign_active(t, result.config.admin) for t in ts.index])
    p = ts["participation_two_new"].to_numpy()
    if not camp.any() or camp.all():
        return 0.0
    return float(p[camp].mean() - p[~camp].mean())


def two_new_late(result) -> float:
    """Mean two-new participation over the last 40 % of the run."""
    ts = _steps(result)
    return float(ts["participation_two_new"].iloc[int(0.6 * len(ts)):].mean())


def closure_resolution_gap(result) -> float:
    """closure_rate − resolution_rate (pooled): the share of ended items closed on the record
    but not solved — sham closures (办结 but not 解决)."""
    return float(result.summary["closure_rate"] - result.summary["resolution_rate"])


MEASURES = {
    "campaign_trough": campaign_trough,
    "pressure_correlation": pressure_correlation,
    "campaign_lift": campaign_lift,
    "two_new_late": two_new_late,
    "closure_resolution_gap": closure_resolution_gap,
}


class MissingMeasure(ValueError):
    """A pattern's measure is missing (NaN) for a run."""


def measure(name: str, result) -> float:
    value = MEASURES[name](result) if name in MEASURES else float(result.summary[name])
    if value != value:
        raise MissingMeasure(f"measure '{name}' is missing (NaN) for seed {result.config.seed} "
                             f"of scenario '{result.config.name}': its denominator was empty")
    return value


# --------------------------------------------------------------------------- the patterns

_LOW, _HIGH = ("admin.burden=0.2",), ("admin.burden=0.8",)
# Levers held at baseline in the Latin hypercube (see ``Pattern.held``):
_CO_GOVERNANCE = ("empowerment.leading_group", "empowerment.responsibility_list")
_MOTIVATION = ("incentives.material", "incentives.recognition", "incentives.fixed_contact",
               "empowerment.two_new_voice")
_FORM_REWARD = ("evaluation.promotion_link", "evaluation.substance_weight")
_NO_CROWD = ("submodels.crowding_out=separate_budget",)
_PRESSURE_OFF_52 = ({"step": 52, "set": {"evaluation.external_pressure": 0.0}},)
_FORMALISTIC = ("evaluation.substance_weight=0.05", "evaluation.observability=0.2",
                "evaluation.gameable_share=0.6")
_SUBSTANTIVE = ("evaluation.substance_weight=0.8", "evaluation.observability=0.9",
                "evaluation.gameable_share=0.1")

PATTERNS: tuple[Pattern, ...] = (
    # D1 运行过程行政化 -----------------------------------------------------------------
    Pattern("d1_burden_lowers_participation", "D1 administrative operation",
            "压缩了基层民主与基层自治的空间", "participation_residents",
            Arm(overrides=_LOW), Arm(overrides=_HIGH), -1, ablation=_NO_CROWD),
    Pattern("d1_burden_lowers_satisfaction", "D1 administrative operation",
            "基层群众亟待解决的现实难题难以进入基层党组织视野", "satisfaction",
            Arm(overrides=_LOW), Arm(overrides=_HIGH), -1, ablation=_NO_CROWD),
    Pattern("d1_burden_raises_backlog", "D1 administrative operation",
            "运用了大量的人力物力却没有产生相对应的治理绩效", "backlog",
            Arm(overrides=_LOW), Arm(overrides=_HIGH), +1, ablation=_NO_CROWD),
    Pattern("d1_campaign_troughs", "D1 administrative operation",
            "运动式治理: campaign pulses bring participation troughs", "campaign_trough",
            Arm(), None, +1, ablation=_NO_CROWD),
    # D2 参与主体疏离化 -----------------------------------------------------------------
    Pattern("d2_two_new_tracks_pressure", "D2 participant alienation",
            "外部考核压力较强时，其参与治理和提供服务的力度较大，反之则较小", "participation_two_new",
            Arm(overrides=("evaluation.external_pressure=0.1",)),
            Arm(overrides=("evaluation.external_pressure=0.9",)), +1,
            ablation=("submodels.two_new_participation=pressure_blind",)),
    Pattern("d2_participation_follows_campaigns", "D2 participant alienation",
            "当区域化党建工作的推进力度较大…反之则较小", "campaign_lift",
            Arm(), None, +1, ablation=("submodels.two_new_participation=pressure_blind",),
            held=("evaluation.external_pressure",)),
    Pattern("d2_pressure_alone_is_volatile", "D2 participant alienation",
            "其内生动力持续性较差且波动幅度较大", "participation_amplitude",
            Arm("endogenous_motivation"), Arm("alienation"), +1),
    Pattern("d2_units_cost_exceeds_benefit", "D2 participant alienation",
            "提供专业服务较多，但获得相关'收益'较少…驻区单位参与区域化党建动力较弱",
            "participation_units",
            Arm(overrides=("units.participation_cost=0.3",)),
            Arm(overrides=("units.participation_cost=1.5",)), -1,
            ablation=("submodels.unit_participation=always",)),
    Pattern("d2_overloaded_staff_form_only", "D2 participant alienation",
            "党务工作者和居委会成员疲于应付…'假积极，真疏离'", "form_effort_share",
            Arm(overrides=_LOW), Arm(overrides=_HIGH), +1, ablation=_NO_CROWD,
            held=_FORM_REWARD),
    # D3 组织架构悬浮化 -----------------------------------------------------------------
    Pattern("d3_low_authority_raises_return_flow", "D3 suspended structure",
            "街道党工委行政级别较低，出现了有责无权的窘迫状况…许多工作最终回流到街道(社区)党组织",
            "return_flow_rate",
            Arm(overrides=("empowerment.street_authority=0.9",)),
            Arm(overrides=("empowerment.street_authority=0.1",)), +1,
            ablation=("submodels.buck_passing=authority_blind",)),
    Pattern("d3_weak_street_facing_higher_rank_units", "D3 suspended structure",
            "街道党工委行政级别较低…在与级别较高的驻区单位协调合作时明显底气不足", "return_flow_rate",
            Arm(overrides=("empowerment.street_authority=0.9",
                           "population.share_units_higher_rank=0.1")),
            Arm(overrides=("empowerment.street_authority=0.1",
                           "population.share_units_higher_rank=0.9")), +1,
            # Rank works through authority (buck-passing) and through the unit's higher cost
            # of taking part (a non-participating assignee never acts): null both.
            ablation=("submodels.buck_passing=authority_blind",
                      "submodels.unit_participation=always"),
            held=_CO_GOVERNANCE),
    Pattern("d3_more_hands_more_buck_passing", "D3 suspended structure",
            "驻区各职能部门互相推诿的情况", "return_flow_rate",
            Arm(overrides=("items.n_coresponsible=2",)),
            Arm(overrides=("items.n_coresponsible=5",)), +1,
            ablation=("submodels.buck_passing=authority_blind",)),
    Pattern("d3_friendship_conference", "D3 suspended structure",
            "党建联席会议的'联谊性'合作关系…对于参与成员硬性约束不强", "return_flow_rate",
            Arm(overrides=("empowerment.conference_binding=0.8",)),
            Arm(overrides=("empowerment.conference_binding=0.0",)), +1,
            ablation=("submodels.buck_passing=authority_blind",)),
    Pattern("d3_load_piles_up_below", "D3 suspended structure",
            "进一步加重了基层工作者的负担", "handoffs_per_item",
            Arm(overrides=("empowerment.street_authority=0.9",)),
            Arm(overrides=("empowerment.street_authority=0.1",)), +1,
            ablation=("submodels.buck_passing=authority_blind",), held=_CO_GOVERNANCE),
    # D4 考核评价形式化 -----------------------------------------------------------------
    Pattern("d4_form_weighted_raises_form_effort", "D4 formalistic evaluation",
            "考核形式多为材料考核、文件考核及座谈交流…考核评价工作流于形式", "form_effort_share",
            Arm(overrides=("evaluation.substance_weight=0.8",)),
            Arm(overrides=("evaluation.substance_weight=0.1",)), +1,
            ablation=("submodels.evaluation=form_blind",)),
    Pattern("d4_form_weighted_raises_gap", "D4 formalistic evaluation",
            "在考核过程中缺乏与基层群众的直接交流，便难以较为真实的考察其实际绩效", "evaluation_gap",
            Arm(overrides=("evaluation.substance_weight=0.8",)),
            Arm(overrides=("evaluation.substance_weight=0.1",)), +1,
            ablation=("submodels.evaluation=form_blind",)),
    Pattern("d4_formalism_raises_closure", "D4 formalistic evaluation",
            "数字谜语: under overload, material-based evaluation keeps the closure figures up "
            "(办结 on paper)", "closure_rate",
            Arm(overrides=_HIGH + _SUBSTANTIVE), Arm(overrides=_HIGH + _FORMALISTIC), +1,
            ablation=("submodels.evaluation=form_blind",)),
    Pattern("d4_formalism_lowers_resolution", "D4 formalistic evaluation",
            "难以较为真实的考察其实际绩效: what is closed is less often solved (解决)",
            "resolution_rate",
            Arm(overrides=_HIGH + _SUBSTANTIVE), Arm(overrides=_HIGH + _FORMALISTIC), -1,
            ablation=("submodels.evaluation=form_blind",)),
    Pattern("d4_substantive_evaluation_narrows_sham_gap", "D4 formalistic evaluation",
            "以基层治理实效为考核标准: closure and true resolution come together",
            "closure_resolution_gap",
            Arm(overrides=_FORMALISTIC), Arm(overrides=_SUBSTANTIVE), -1,
            ablation=("submodels.evaluation=form_blind",)),
    # Remedies ---------------------------------------------------------------------------
    Pattern("r1_market_logic_raises_participation", "R1 market logic",
            "开展灵活多样的志愿服务和社区活动，调动社区群众参与积极性和活跃度",
            "participation_residents", Arm(), Arm("market_logic"), +1),
    Pattern("r1_market_logic_frees_autonomy", "R1 market logic",
            "大力推动基层减负工作，减少工作转接和下移", "autonomy_space",
            Arm(), Arm("market_logic"), +1),
    Pattern("r2_motivation_steadies_two_new", "R2 endogenous motivation",
            "促使其向内生性参与转变", "participation_amplitude",
            Arm(), Arm("endogenous_motivation"), -1),
    Pattern("r2_participation_stays_after_pressure", "R2 endogenous motivation",
            "使区域化党建获得内生性发展动力", "two_new_late",
            Arm(interventions=_PRESSURE_OFF_52),
            Arm("endogenous_motivation", interventions=_PRESSURE_OFF_52), +1),
    Pattern("r2_pressure_crowds_out", "R2 endogenous motivation",
            "crowding out (Gneezy & Rustichini 2000): at default pressure and crowding, "
            "participation falls below its never-pressured level after pressure ends",
            "two_new_late",
            Arm(overrides=("evaluation.external_pressure=0.0",)),
            Arm(interventions=_PRESSURE_OFF_52), -1,
            ablation=("submodels.motivation=static",), held=_MOTIVATION),
    Pattern("r3_co_governance_cuts_return_flow", "R3 co-governance",
            "减少区域化党建过程中'责任回流'和'结果回流'现象", "return_flow_rate",
            Arm(), Arm("co_governance"), -1),
    Pattern("r4_scientific_evaluation_cuts_form", "R4 scientific evaluation",
            "以基层治理实效为考核标准", "form_effort_share",
            Arm(), Arm("scientific_evaluation"), -1),
    Pattern("r4_scientific_evaluation_raises_satisfaction", "R4 scientific evaluation",
            "重视基层群众对于区域化党建开展实效的评价", "satisfaction",
            Arm(), Arm("scientific_evaluation"), +1, min_seeds=12),
    Pattern("full_reform_raises_participation", "All remedies", "共建共治共享",
            "participation_residents", Arm(), Arm("full_reform"), +1),
    Pattern("full_reform_raises_two_new_participation", "All remedies", "共建共治共享",
            "participation_two_new", Arm(), Arm("full_reform"), +1),
    Pattern("full_reform_cuts_return_flow", "All remedies", "共建共治共享",
            "return_flow_rate", Arm(), Arm("full_reform"), -1),
    Pattern("full_reform_raises_satisfaction", "All remedies", "共建共治共享",
            "satisfaction", Arm(), Arm("full_reform"), +1),
)

_BY_NAME = {p.name: p for p in PATTERNS}


def pattern(name: str) -> Pattern:
    return _BY_NAME[name]


# --------------------------------------------------------------------------- evaluation


def run_measure(job) -> float:
    """Run one job ``(arm, measure, seed, extra overrides, steps)``; return the measure."""
    arm, name, seed, extra, steps = job
    result = run(arm.scenario, seed=seed, steps=steps, overrides=list(arm.overrides) + list(extra),
                 interventions=list(arm.interventions))
    return measure(name, result)


def _with_extra(arm: Arm, extra) -> Arm:
    return replace(arm, overrides=tuple(arm.overrides) + tuple(extra))


def evaluate(p: Pattern | str, seeds, extra=(), *, ablated: bool = False,
             processes: int = 1, steps: int | None = None) -> PatternResult:
    """Evaluate a pattern over ``seeds`` (common random numbers across arms).

    Args:
        extra: overrides added to both arms (population, LHS point, ...).
        ablated: add the pattern's ``ablation`` overrides to both arms.
        processes: worker processes (results identical to serial).
    """
    p = pattern(p) if isinstance(p, str) else p
    extra = tuple(extra) + (tuple(p.ablation) if ablated else ())
    steps = steps or p.steps
    arms = [p.a] + ([p.b] if p.b is not None else [])
    jobs = [(arm, p.measure, seed, extra, steps) for arm in arms for seed in seeds]
    if processes > 1:
        with ProcessPoolExecutor(processes) as ex:
            values = list(ex.map(run_measure, jobs))
    else:
        values = [run_measure(j) for j in jobs]
    return paired_result(p, values, len(seeds))


def paired_result(p: Pattern, values: list[float], n: int) -> PatternResult:
    """Paired differences (B − A, or A alone) and their 95 % t-interval from the measures of
    ``n`` seeds of arm A followed by ``n`` of arm B."""
    va = list(values[:n])
    vb = list(values[n:]) if p.b is not None else []
    diffs = [b - a for a, b in zip(va, vb)] if p.b is not None else list(va)
    d = np.asarray(diffs)
    mean = float(d.mean())
    half = float(stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n)) if n > 1 else np.inf
    return PatternResult(p.name, va, vb, diffs, mean, mean - half, mean + half)
