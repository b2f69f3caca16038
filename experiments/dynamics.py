"""Credible-dynamics report: warm-up, stationarity, response curves, saturation, remedies, pilots.

    python experiments/dynamics.py [--quick] [--processes 2] [--out docs/validation/dynamics]
    python experiments/dynamics.py --plan        # count the runs and estimate the time, run nothing

Six checks that the model's dynamics are credible (in the spirit of TRACE, Grimm et al. 2014:
each section says what was checked, how, the numbers, and PASS/FAIL):

1. Warm-up detection: MSER-5 and Welch on a baseline run without spin-up; the schema's
   ``spin_up`` default must cover the detected warm-up W*.
2. Stationarity: with the default spin-up, an early and a late third of a long run agree.
3. Response curves: every headline lever over its schema range; local smoothness around the
   default, no flattened lever, tipping points listed.
4. Saturation: no headline share of any shipped scenario pinned near 0 or 1 (also with the
   spreads and noise halved); form effort versus the paperwork floor.
5. Remedies: gain and cost against the baseline (common random numbers), the budget
   constraint, and weeks to half effect when a remedy is switched on at week 53.
6. Pilot streets: difference-in-differences, a placebo, and agreement with the paired
   common-random-numbers effect when the spill-over between streets is switched off.

Every run of every section is planned first, duplicates are merged, and all runs go through
one ``ProcessPoolExecutor`` (each run depends only on its own arguments, so the results are
identical to a serial run). Writes ``README.md``, CSV tables and PNG+SVG figures under
``--out``; exits 1 if any check fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import itertools

from sim.analysis import (
    detect_warmup,
    did_over_seeds,
    mean_ci,
    paired_effect,
    placebo_did,
    stationarity,
)
from sim.compose import list_scenarios, load_scenario
from sim.config import DETERMINISTIC, field_spec
from sim.io import git_revision, package_versions
from sim.metrics import METRICS, SHARE_METRICS
from sim.patterns import HEADLINE_LEVERS
from sim.runner import run

OUT = ROOT / "docs" / "validation" / "dynamics"
METRIC = {m.name: m for m in METRICS}

#: Section 1-2 metrics.
HEADLINE_METRICS = ("participation_two_new", "participation_units", "participation_residents",
                    "return_flow_rate", "closure_rate", "resolution_rate", "satisfaction", "trust",
                    "form_effort_share", "staff_motivation", "backlog")
#: Section 3-4 headline shares.
HEADLINE_SHARES = ("participation_two_new", "participation_units", "participation_residents",
                   "return_flow_rate", "resolution_rate", "satisfaction", "form_effort_share")
REMEDIES = ("market_logic", "endogenous_motivation", "co_governance", "scientific_evaluation",
            "full_reform")
HALF_BUDGET = "budget.street_budget=300"
REMEDY_METRICS = ("items_solved", "satisfaction", "resolution_rate", "budget_spent",
                  "cost_per_solved_item")
ONSET_METRICS = ("satisfaction", "resolution_rate")
DID_METRICS = ("resolution_rate", "return_flow_rate")
#: The untreated arm of the pilot: the scenario's intervention moved past the end of the run
#: (an ``interventions`` override replaces the scenario's list; see sim/compose.py).
UNTREATED = ("interventions=[{step: 999, streets: {share: 0.5}, "
             "set: {empowerment.street_authority: 0.3}}]")
BUDGET_EXTRA_METRICS = ("participation_two_new", "participation_units", "participation_residents",
                        "trust")
NO_SPILLOVER = "two_new.spillover=0"

SMOOTH_STEP = 0.10      # ±10 % of the lever's range
SMOOTH_MAX = 0.15       # largest allowed move of a headline share for that step
FLAT_MIN = 0.02         # least move between the range ends for a lever to count as active
TIPPING = 0.15          # adjacent curve points further apart than this are listed
SAT_BAND = (0.02, 0.98)
FLOOR_TOL = 0.001
AGREE_TOL = 0.03
ONSET = 53
LATE = (91, 104)
PILOT_START, PLACEBO_START = 53, 27


@dataclass(frozen=True)
class Sizes:
    warm_seeds: int = 10
    warm_steps: int = 312
    curve_levers: tuple = HEADLINE_LEVERS
    curve_points: int = 11
    curve_seeds: int = 5
    scenarios: tuple = ()          # () = every shipped scenario
    sat_seeds: int = 5
    remedy_seeds: int = 10
    pilot_seeds: int = 20

    @classmethod
    def quick(cls) -> Sizes:
        levers = tuple(lv for lv in ("admin.burden", "evaluation.period") if lv in HEADLINE_LEVERS)
        return cls(warm_seeds=3, warm_steps=156, curve_levers=levers or HEADLINE_LEVERS[:2],
                   curve_points=5, curve_seeds=3,
                   scenarios=("baseline", "admin_overload", "full_reform"), sat_seeds=3,
                   remedy_seeds=3, pilot_seeds=3)


# --------------------------------------------------------------------------- running


def run_job(job: tuple) -> dict:
    """Worker: one run; returns its summary, timeseries and street table (module level, so a
    process pool can pickle it)."""
    scenario, overrides, interventions, seed, steps = job
    with warnings.catch_warnings():
        # the untreated pilot arm schedules its intervention past the end on purpose
        warnings.filterwarnings("ignore", message="interventions at steps",
                                category=RuntimeWarning)
        r = run(scenario, seed=seed, steps=steps, overrides=list(overrides),
                interventions=json.loads(interventions))
    return {"summary": r.summary, "ts": r.timeseries, "by_street": r.by_street,
            "paperwork_floor": float(r.config.staff.paperwork_floor),
            "spin_up": int(r.config.spin_up)}


def job(scenario="baseline", overrides=(), seed=0, steps=104, interventions=()) -> tuple:
    return (scenario, tuple(overrides), json.dumps(list(interventions), sort_keys=True),
            int(seed), int(steps))


def job_weeks(j: tuple) -> int:
    """Weeks a job simulates (spin-up included), for ordering and the time estimate."""
    spin = field_spec("spin_up").default
    for ov in j[1]:
        if ov.startswith("spin_up="):
            spin = int(ov.split("=", 1)[1])
    return spin + j[4]


# --------------------------------------------------------------------------- small helpers


def lever_values(name: str, n: int) -> list:
    spec = field_spec(name)
    raw = np.linspace(spec.lo, spec.hi, n)
    if spec.type is int:
        return sorted({int(np.rint(v)) for v in raw})
    return [round(float(v), 6) for v in raw]


def lever_override(name: str, value) -> tuple:
    """() at the schema default (so the run is shared with the baseline), else one override."""
    spec = field_spec(name)
    if value == spec.default:
        return ()
    return (f"{name}={int(value) if spec.type is int else repr(float(value))}",)


def near_values(name: str) -> list:
    """The default ± SMOOTH_STEP of the range (inside the range; ints rounded)."""
    spec = field_spec(name)
    step = SMOOTH_STEP * (spec.hi - spec.lo)
    out = []
    for v in (spec.default - step, spec.default + step):
        v = min(max(v, spec.lo), spec.hi)
        v = int(np.rint(v)) if spec.type is int else round(float(v), 6)
        if v != spec.default and v not in out:
            out.append(v)
    return out


def halved_spreads() -> tuple:
    out = []
    for name in DETERMINISTIC:
        d = field_spec(name).default
        if d:
            out.append(f"{name}={d / 2!r}")
    return tuple(out)


def scenario_settings(name: str) -> tuple[dict, list]:
    """A scenario's YAML as flat dotted keys (``name`` dropped) and the keys an intervention
    cannot set (population, lists)."""
    flat, skipped = {}, []
    for key, value in load_scenario(name).items():
        if key == "name":
            continue
        if key in ("population", "interventions", "street_levers", "steps", "seed", "spin_up"):
            skipped.append(key)
            continue
        if isinstance(value, dict):
            for sub, v in value.items():
                flat[f"{key}.{sub}"] = v
        else:
            flat[key] = value
    return flat, skipped


def ci_row(values) -> dict:
    c = mean_ci(values)
    return {"mean": c["mean"], "ci_low": c["ci_low"], "ci_high": c["ci_high"], "n": c["n"]}


def excludes_zero(c: dict) -> bool:
    return bool(c["ci_low"] > 0 or c["ci_high"] < 0)


def covers_zero(c: dict) -> bool:
    return bool(c["ci_low"] <= 0 <= c["ci_high"])


def fmt(x, d=4) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "NaN"
    return f"{x:.{d}g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"


def fci(c: dict, d=3) -> str:
    return f"{c['mean']:+.{d}f} [{c['ci_low']:+.{d}f}, {c['ci_high']:+.{d}f}]"


def verdict(ok: bool) -> str:
    return "**PASS**" if ok else "**FAIL**"


def md_table(df: pd.DataFrame) -> list[str]:
    cols = list(df.columns)
    lines = ["| " + " | ".join(map(cell_text, cols)) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(cell_text(v) for v in row) + " |")
    return lines


def cell_text(v) -> str:
    """A markdown table cell (a ``|`` inside would split the cell)."""
    return str(v).replace("|", "\\|")


def fv(lever: str, v) -> str:
    """A lever value as text, in the lever's type."""
    return str(int(v)) if field_spec(lever).type is int else f"{float(v):g}"


def tidy(results: list[dict], seeds: list[int], key: str = "ts") -> pd.DataFrame:
    frames = []
    for seed, r in zip(seeds, results):
        f = r[key].reset_index() if key == "ts" else r[key].copy()
        f["seed"] = seed
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def savefig(fig, out: Path, name: str) -> None:
    for ext in ("png", "svg"):
        fig.savefig(out / f"{name}.{ext}", dpi=120)


def label(metric: str) -> str:
    m = METRIC.get(metric)
    return m.en if m else metric


# --------------------------------------------------------------------------- plan


class Plan:
    """Every run of every section, deduplicated."""

    def __init__(self, sz: Sizes):
        self.sz = sz
        self.jobs: dict[tuple, None] = {}
        self.default_spin = field_spec("spin_up").default
        self.scenarios = list(sz.scenarios) if sz.scenarios else list_scenarios()
        self.scenarios = [s for s in self.scenarios if s in list_scenarios()]
        self.section_runs: dict[str, int] = {}

        def add(section, jobs):
            jobs = list(jobs)
            self.section_runs[section] = len(set(jobs))
            for j in jobs:
                self.jobs.setdefault(j, None)
            return jobs

        s = sz
        self.warm_seeds = list(range(s.warm_seeds))
        self.s1 = add("1 warm-up", [job(overrides=("metrics.record_spin_up=false", "spin_up=0"),
                                        seed=k, steps=s.warm_steps) for k in self.warm_seeds])
        self.s2 = add("2 stationarity", [job(seed=k, steps=s.warm_steps) for k in self.warm_seeds])

        self.curve_seeds = list(range(s.curve_seeds))
        self.curves = {}   # lever -> list of (value, [jobs])
        self.near = {}     # lever -> list of (value, [jobs])
        s3 = []
        self.base_curve = [job(seed=k) for k in self.curve_seeds]
        s3 += self.base_curve
        for lv in s.curve_levers:
            self.curves[lv] = [(v, [job(overrides=lever_override(lv, v), seed=k)
                                    for k in self.curve_seeds]) for v in lever_values(lv, s.curve_points)]
            self.near[lv] = [(v, [job(overrides=lever_override(lv, v), seed=k)
                                  for k in self.curve_seeds]) for v in near_values(lv)]
            s3 += [j for _, js in self.curves[lv] + self.near[lv] for j in js]
        add("3 response curves", s3)

        self.sat_seeds = list(range(s.sat_seeds))
        self.halved = halved_spreads()
        self.sat = {(sc, cond): [job(sc, ov, seed=k) for k in self.sat_seeds]
                    for sc in self.scenarios
                    for cond, ov in (("default", ()), ("spreads halved", self.halved))}
        add("4 saturation", [j for js in self.sat.values() for j in js])

        self.remedy_seeds = list(range(s.remedy_seeds))
        self.arms = {r: (r, ()) for r in REMEDIES}
        self.arms["full_reform, budget 300"] = ("full_reform", (HALF_BUDGET,))
        self.remedy_base = [job(seed=k) for k in self.remedy_seeds]
        self.remedy = {a: [job(sc, ov, seed=k) for k in self.remedy_seeds]
                       for a, (sc, ov) in self.arms.items()}
        self.onset, self.onset_skipped = {}, {}
        for a, (sc, ov) in self.arms.items():
            flat, skipped = scenario_settings(sc)
            if ov:
                k, v = ov[0].split("=")
                flat[k] = float(v)
            self.onset_skipped[a] = skipped
            self.onset[a] = [job(seed=k, interventions=[{"step": ONSET, "set": flat}])
                             for k in self.remedy_seeds]
        add("5 remedies", self.remedy_base + [j for js in self.remedy.values() for j in js]
            + [j for js in self.onset.values() for j in js])

        self.pilot_seeds = list(range(s.pilot_seeds))
        self.pilot = {
            "treated": [job("pilot_streets", (), k) for k in self.pilot_seeds],
            "untreated": [job("pilot_streets", (UNTREATED,), k) for k in self.pilot_seeds],
            "treated, no spill-over": [job("pilot_streets", (NO_SPILLOVER,), k)
                                       for k in self.pilot_seeds],
            "untreated, no spill-over": [job("pilot_streets", (NO_SPILLOVER, UNTREATED), k)
                                         for k in self.pilot_seeds],
        }
        add("6 pilot DiD", [j for js in self.pilot.values() for j in js])

    @property
    def n_runs(self) -> int:
        return len(self.jobs)

    @property
    def n_weeks(self) -> int:
        return sum(job_weeks(j) for j in self.jobs)


SEC_PER_WEEK = 0.007  # per simulated week and process: 1.25-1.5 s for a default run (104 + 104)


def execute(plan: Plan, processes: int) -> dict[tuple, dict]:
    jobs = sorted(plan.jobs, key=job_weeks, reverse=True)  # longest first: better packing
    with ProcessPoolExecutor(processes) as ex:
        out = list(ex.map(run_job, jobs, chunksize=1))
    return dict(zip(jobs, out))


# --------------------------------------------------------------------------- sections


def section_warmup(plan: Plan, R: dict, out: Path) -> dict:
    res = [R[j] for j in plan.s1]
    frame = tidy(res, plan.warm_seeds)
    frame = frame[frame["step"] >= 0]
    table = detect_warmup(frame, list(HEADLINE_METRICS))
    n = int(table["n_steps"].iloc[0])
    batches = n // 5
    limit = min(int(np.floor(0.5 * batches)), batches - 2) * 5
    table["mser_at_search_limit"] = table["mser5_steps"] >= limit
    table.to_csv(out / "warmup.csv", index=False)
    w_star = int(table["first_steady_step"].max())
    worst = table.loc[table["first_steady_step"].idxmax(), "metric"]
    ok = plan.default_spin >= w_star

    mean = frame.groupby("step")[list(HEADLINE_METRICS)].mean()
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 4, figsize=(14, 8.5), sharex=True)
    for ax, m in zip(axes.flat, HEADLINE_METRICS):
        ax.plot(mean.index, mean[m], lw=1, color="tab:blue")
        w = int(table.loc[table["metric"] == m, "first_steady_step"].iloc[0])
        ax.axvline(w, color="tab:orange", lw=0.8, ls="-", label="this metric's warm-up")
        ax.axvline(w_star, color="tab:red", lw=1, ls="--", label=f"W* = {w_star}")
        ax.axvline(plan.default_spin, color="k", lw=1, ls=":",
                   label=f"default spin-up = {plan.default_spin}")
        ax.set_title(label(m), fontsize=9)
        ax.tick_params(labelsize=7)
    axes.flat[-1].axis("off")
    h, lab = axes.flat[0].get_legend_handles_labels()
    axes.flat[-1].legend(h, lab, fontsize=8, loc="center")
    for ax in axes[-1]:
        ax.set_xlabel("week since initialisation (no spin-up)", fontsize=8)
    fig.suptitle(f"Replicate mean ({len(plan.warm_seeds)} seeds), baseline without spin-up",
                 fontsize=10)
    fig.tight_layout()
    savefig(fig, out, "warmup")
    plt.close(fig)

    show = table.assign(
        mser5=table["mser5_steps"].astype(str) + np.where(table["mser_at_search_limit"],
                                                          " (search limit!)", ""),
    )[["metric", "mser5", "welch_steps", "warmup_steps", "first_steady_step"]]
    lines = [
        "## 1. Warm-up detection", "",
        (f"**What.** How many weeks the model needs from its artificial initial state to its "
        f"statistical steady state (W*), and whether the schema's `spin_up` default "
        f"({plan.default_spin} weeks) covers it."), "",
        (f"**How.** Baseline with `spin_up=0`, `metrics.record_spin_up=false`, "
        f"{plan.sz.warm_steps} weeks, {len(plan.warm_seeds)} seeds (0..{len(plan.warm_seeds) - 1}). "
        "`sim.analysis.detect_warmup` on weeks 0..T of each metric: MSER-5 on the replicate-mean "
        "series (search limit: half the run) and Welch's method (centred moving average of "
        "half-width 5, band 2 % of the range or the second half's noise). A metric's warm-up is "
        "the larger of the two; W* is the largest over the metrics. An MSER result at its "
        "search limit means the series did not settle within half the run."), "",
        (f"**Numbers.** W* = **{w_star}** weeks (set by `{worst}`); default spin-up = "
        f"**{plan.default_spin}** weeks."), "",
        *md_table(show), "",
        "![warm-up](warmup.png)", "",
        f"**Check** `spin_up` default ({plan.default_spin}) ≥ W* ({w_star}): {verdict(ok)}", "",
    ]
    return {"lines": lines, "checks": [("1 warm-up: spin_up default ≥ W*", ok,
                                        f"default {plan.default_spin}, W* {w_star} ({worst})")]}


def section_stationarity(plan: Plan, R: dict, out: Path) -> dict:
    T = plan.sz.warm_steps
    third = T // 3
    early, late = (1, third), (T - third + 1, T)
    frame = tidy([R[j] for j in plan.s2], plan.warm_seeds)
    shares = [m for m in HEADLINE_METRICS if m in SHARE_METRICS]
    table = stationarity(frame, list(HEADLINE_METRICS), early, late, shares=shares,
                         share_tolerance=0.03, relative_tolerance=0.05)
    table.to_csv(out / "stationarity.csv", index=False)
    ok = bool(table["passes"].all())
    show = pd.DataFrame({
        "metric": table["metric"],
        "early mean": table["mean_early"].map(fmt),
        "late mean": table["mean_late"].map(fmt),
        "late − early [95 % CI]": [f"{d:+.4g} [{lo:+.4g}, {hi:+.4g}]" for d, lo, hi in
                                   zip(table["difference"], table["ci_low"], table["ci_high"])],
        "tolerance": [f"{t:.4g} ({k})" for t, k in zip(table["tolerance"], table["tolerance_kind"])],
        "passes": np.where(table["passes"], "PASS", "**FAIL**"),
        "CI inside ±tol": np.where(table["equivalent"], "yes", "no"),
    })
    lines = [
        "## 2. Stationarity after the spin-up", "",
        ("**What.** After the default spin-up the output series are stationary: an early and a "
        "late window of a long run have the same level."), "",
        (f"**How.** Baseline with the default spin-up ({plan.default_spin} weeks), {T} weeks, "
        f"{len(plan.warm_seeds)} seeds; `sim.analysis.stationarity` compares per-seed means over "
        f"weeks {early[0]}–{early[1]} and {late[0]}–{late[1]} (paired over seeds). Tolerance: "
        "0.03 absolute for shares and indices (unit `share` or `index…`), 5 % of the early mean "
        "otherwise. A metric passes when |late − early| < tolerance; the last column gives the "
        "stricter equivalence reading (whole CI inside ±tolerance), for information."), "",
        *md_table(show), "",
        f"**Check** all metrics stationary: {verdict(ok)}", "",
    ]
    failed = ", ".join(table.loc[~table["passes"], "metric"]) or "none"
    return {"lines": lines, "checks": [("2 stationarity: early vs late window", ok,
                                        f"failing metrics: {failed}")]}


def _summary_matrix(R, jobs) -> pd.DataFrame:
    """seeds × HEADLINE_SHARES summary values."""
    return pd.DataFrame([{m: R[j]["summary"].get(m, np.nan) for m in HEADLINE_SHARES}
                         for j in jobs])


def section_curves(plan: Plan, R: dict, out: Path) -> dict:
    rows, smooth, flat, tips = [], [], [], []
    base = _summary_matrix(R, plan.base_curve)
    for lv, points in plan.curves.items():
        spec = field_spec(lv)
        mats = []
        for v, jobs in points:
            mat = _summary_matrix(R, jobs)
            mats.append((v, mat))
            for m in HEADLINE_SHARES:
                rows.append({"lever": lv, "value": v, "is_default": v == spec.default,
                             "metric": m, **ci_row(mat[m])})
        # (a) local smoothness: default ± 10 % of the range, paired with the default
        largest, where = 0.0, ""
        for v, jobs in plan.near[lv]:
            mat = _summary_matrix(R, jobs)
            for m in HEADLINE_SHARES:
                c = ci_row(mat[m] - base[m])
                smooth.append({"lever": lv, "value": v, "default": spec.default, "metric": m,
                               **{f"move_{k}": c[k] for k in ("mean", "ci_low", "ci_high")}})
                if np.isfinite(c["mean"]) and abs(c["mean"]) >= abs(largest):
                    largest, where = c["mean"], f"{m} at {fv(lv, v)}"
        # (b) no flattened lever: range ends, paired
        lo_mat, hi_mat = mats[0][1], mats[-1][1]
        best = None
        for m in HEADLINE_SHARES:
            c = ci_row(hi_mat[m] - lo_mat[m])
            active = bool(np.isfinite(c["mean"]) and abs(c["mean"]) >= FLAT_MIN and excludes_zero(c))
            cand = (active, abs(c["mean"]) if np.isfinite(c["mean"]) else -1, m, c)
            if best is None or cand[:2] > best[:2]:
                best = cand
        flat.append({"lever": lv, "lo": mats[0][0], "hi": mats[-1][0], "metric": best[2],
                     "end_difference": best[3]["mean"], "ci_low": best[3]["ci_low"],
                     "ci_high": best[3]["ci_high"], "active": best[0]})
        smooth_ok = abs(largest) <= SMOOTH_MAX
        smooth_row = {"lever": lv, "near_values": ", ".join(fv(lv, v) for v, _ in plan.near[lv]),
                      "largest_move": largest, "where": where, "smooth": smooth_ok}
        flat[-1].update(smooth_row)
        # (c) tipping points
        for (v0, a), (v1, b) in itertools.pairwise(mats):
            for m in HEADLINE_SHARES:
                d = float(b[m].mean() - a[m].mean())
                if np.isfinite(d) and abs(d) > TIPPING:
                    tips.append({"lever": lv, "from": v0, "to": v1, "metric": m, "change": d})
    curves = pd.DataFrame(rows)
    curves.to_csv(out / "response_curves.csv", index=False)
    pd.DataFrame(smooth).to_csv(out / "response_smoothness.csv", index=False)
    levers = pd.DataFrame(flat)
    levers.to_csv(out / "response_levers.csv", index=False)
    tips_df = pd.DataFrame(tips, columns=["lever", "from", "to", "metric", "change"])
    tips_df.to_csv(out / "response_tipping_points.csv", index=False)

    import matplotlib.pyplot as plt

    n = len(plan.curves)
    ncol = min(4, n)
    nrow = int(np.ceil((n + 1) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 2.9 * nrow), squeeze=False)
    colors = plt.get_cmap("tab10").colors
    for ax, lv in zip(axes.flat, plan.curves):
        d = curves[curves["lever"] == lv]
        for c, m in zip(colors, HEADLINE_SHARES):
            dm = d[d["metric"] == m]
            ax.plot(dm["value"], dm["mean"], color=c, lw=1.2, marker=".", ms=3, label=label(m))
            ax.fill_between(dm["value"], dm["ci_low"], dm["ci_high"], color=c, alpha=0.18, lw=0)
        ax.axvline(field_spec(lv).default, color="k", ls=":", lw=1)
        ax.set_ylim(0, 1)
        ax.set_title(f"{field_spec(lv).en} ({lv})", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    h, lab = axes.flat[0].get_legend_handles_labels()
    axes.flat[n].legend(h + [plt.Line2D([], [], color="k", ls=":")], lab + ["default"],
                        fontsize=8, loc="center")
    fig.suptitle(f"Response curves: summary over weeks 1–104,\nmean of {len(plan.curve_seeds)} "
                 "seeds with 95 % t-CI (same seeds at every point)", fontsize=10)
    fig.tight_layout()
    savefig(fig, out, "response_curves")
    plt.close(fig)

    smooth_ok = bool(levers["smooth"].all())
    flat_ok = bool(levers["active"].all())
    show = pd.DataFrame({
        "lever": levers["lever"],
        "default ± 10 %": levers["near_values"],
        "largest move (share)": [f"{x:+.3f} ({w})" for x, w in zip(levers["largest_move"], levers["where"])],
        "(a) smooth": np.where(levers["smooth"], "PASS", "**FAIL**"),
        "range ends": [f"{fv(lv, a)} → {fv(lv, b)}" for lv, a, b in
                       zip(levers["lever"], levers["lo"], levers["hi"])],
        "strongest end difference [95 % CI]": [
            f"{m}: {d:+.3f} [{lo:+.3f}, {hi:+.3f}]" for m, d, lo, hi in
            zip(levers["metric"], levers["end_difference"], levers["ci_low"], levers["ci_high"])],
        "(b) active": np.where(levers["active"], "PASS", "**FAIL**"),
    })
    # the curve table: mean [CI] per lever value and metric
    wide = curves.assign(value=[fv(lv, v) for lv, v in zip(curves["lever"], curves["value"])],
                         order=curves["value"].astype(float),
                         cell=[f"{m:.3f} [{lo:.3f}, {hi:.3f}]" for m, lo, hi in
                               zip(curves["mean"], curves["ci_low"], curves["ci_high"])])
    wide = (wide.pivot_table(index=["lever", "order", "value"], columns="metric", values="cell",
                             aggfunc="first")[list(HEADLINE_SHARES)].reset_index()
            .drop(columns="order"))
    lines = [
        "## 3. Response curves", "",
        ("**What.** Each headline lever moves the headline shares smoothly near its default, no "
        "lever is flat over its whole range, and abrupt changes (tipping points) are listed."), "",
        (f"**How.** For each of {len(plan.curves)} levers, {plan.sz.curve_points} evenly spaced "
        "values over its schema range [lo, hi] (integers rounded), everything else at baseline, "
        f"104 weeks, {len(plan.curve_seeds)} seeds (0..{len(plan.curve_seeds) - 1}) at every point "
        "(common random numbers). Measured: each run's summary (mean over weeks 1..104; rates "
        "pooled) of the headline shares. (a) *Local smoothness*: the lever at its default ± 10 % "
        "of its range (inside the range; on [0, 1] these are grid points), paired over seeds with "
        f"the default: no mean move may exceed {SMOOTH_MAX}. (b) *No flattened lever*: between "
        f"the range ends, some share moves by ≥ {FLAT_MIN} with a paired 95 % CI excluding 0. "
        f"(c) *Tipping points*: adjacent curve points whose means differ by more than {TIPPING} "
        "in any share (documented, not a failure). Full numbers: `response_curves.csv`, "
        "`response_smoothness.csv`, `response_levers.csv`, `response_tipping_points.csv`."), "",
        "![response curves](response_curves.png)", "",
        *md_table(show), "",
        f"**Check (a)** local smoothness (largest move ≤ {SMOOTH_MAX}): {verdict(smooth_ok)}", "",
        f"**Check (b)** no flattened lever: {verdict(flat_ok)}", "",
        f"**(c) Tipping points** (|change| > {TIPPING} between adjacent points): "
        + (f"{len(tips_df)} found." if len(tips_df) else "none."), "",
    ]
    if len(tips_df):
        t = tips_df.assign(change=tips_df["change"].map(lambda x: f"{x:+.3f}"),
                           **{"from": [fv(lv, v) for lv, v in zip(tips_df["lever"], tips_df["from"])],
                              "to": [fv(lv, v) for lv, v in zip(tips_df["lever"], tips_df["to"])]})
        lines += [*md_table(t), ""]
    lines += ["<details><summary>Curve table: mean [95 % CI] per lever value</summary>", "",
              *md_table(wide), "", "</details>", ""]
    bad_s = ", ".join(levers.loc[~levers["smooth"], "lever"]) or "none"
    bad_f = ", ".join(levers.loc[~levers["active"], "lever"]) or "none"
    return {"lines": lines, "checks": [
        ("3a response: local smoothness", smooth_ok,
         f"largest move {levers['largest_move'].abs().max():.3f}; failing: {bad_s}"),
        ("3b response: no flattened lever", flat_ok, f"flat levers: {bad_f}"),
    ]}


def section_saturation(plan: Plan, R: dict, out: Path) -> dict:
    lo_b, hi_b = SAT_BAND
    rows, floors = [], []
    for (sc, cond), jobs in plan.sat.items():
        res = [R[j] for j in jobs]
        T = int(res[0]["ts"].index.max())
        win = (T // 2 + 1, T)
        for m in HEADLINE_SHARES:
            per_seed = []
            nan_weeks = 0
            for r in res:
                s = r["ts"].loc[win[0]:win[1], m]
                nan_weeks += int(s.isna().sum())
                per_seed.append(float(s.mean()) if s.notna().any() else np.nan)
            v = float(np.mean(per_seed))  # NaN if any seed has no value at all
            ok = bool(np.isfinite(v) and lo_b <= v <= hi_b)
            rows.append({"scenario": sc, "condition": cond, "metric": m, "weeks": f"{win[0]}-{win[1]}",
                         "value": v, "nan_weeks": nan_weeks, "pass": ok})
        fe = np.concatenate([r["ts"].loc[1:, "form_effort_share"].to_numpy(float) for r in res])
        floor = res[0]["paperwork_floor"]
        floors.append({"scenario": sc, "condition": cond, "paperwork_floor": floor,
                       "min_form_effort_share": float(np.nanmin(fe)),
                       "share_of_weeks_at_floor": float(np.mean(np.abs(fe - floor) <= FLOOR_TOL)),
                       "share_of_weeks_below_floor": float(np.mean(fe < floor - FLOOR_TOL))})
    sat = pd.DataFrame(rows)
    sat.to_csv(out / "saturation.csv", index=False)
    fl = pd.DataFrame(floors)
    fl.to_csv(out / "form_floor.csv", index=False)
    ok = bool(sat["pass"].all())

    def cell(r):
        v = "NaN" if not np.isfinite(r.value) else f"{r.value:.3f}"
        return f"{v}" if r.pass_ else f"**{v} FAIL**"

    sat2 = sat.rename(columns={"pass": "pass_"})
    sat2["cell"] = [cell(r) for r in sat2.itertuples()]
    wide = sat2.pivot_table(index=["scenario", "condition"], columns="metric", values="cell",
                            aggfunc="first")[list(HEADLINE_SHARES)]
    verdicts = sat.groupby(["scenario", "condition"])["pass"].all()
    wide["row"] = np.where(verdicts.reindex(wide.index), "PASS", "**FAIL**")
    wide = wide.reset_index()
    n_fail = int((~sat["pass"]).sum())
    fails = sat.loc[~sat["pass"]]
    show_fl = pd.DataFrame({
        "scenario": fl["scenario"], "condition": fl["condition"],
        "paperwork floor": fl["paperwork_floor"].map(fmt),
        "min weekly form_effort_share": fl["min_form_effort_share"].map(lambda x: f"{x:.4f}"),
        "weeks at floor ±0.001": fl["share_of_weeks_at_floor"].map(lambda x: f"{x:.1%}"),
        "weeks below floor": fl["share_of_weeks_below_floor"].map(lambda x: f"{x:.1%}"),
    })
    lines = [
        "## 4. Saturation", "",
        ("**What.** No headline share of any shipped scenario is pinned at (near) 0 or 1, where "
        "levers could no longer move it — also when the heterogeneity (spreads and noise) is "
        "halved, which removes part of what keeps shares off their bounds."), "",
        (f"**How.** Every scenario ({len(plan.scenarios)}: {', '.join(plan.scenarios)}), "
        f"{len(plan.sat_seeds)} seeds, 104 weeks; the value is the mean over seeds of each run's "
        "mean over weeks 53–104 of the per-week timeseries (a run with no value at all gives "
        f"NaN, which fails). Pass: every value in [{lo_b}, {hi_b}]. Second condition: every "
        "field of `sim.config.DETERMINISTIC` that is nonzero by default set to half its default "
        f"(`{' '.join(plan.halved)}`). Full numbers (incl. the count of NaN weeks): "
        "`saturation.csv`."), "",
        *md_table(wide), "",
        (f"**Check** every value in [{lo_b}, {hi_b}]: {verdict(ok)} "
        f"({n_fail} of {len(sat)} cells fail)."), "",
    ]
    if n_fail:
        lines += ["Failing cells:", ""] + [
            f"- `{r.scenario}` ({r.condition}): {r.metric} = "
            f"{'NaN' if not np.isfinite(r.value) else f'{r.value:.4f}'}"
            + (f" ({r.nan_weeks} NaN weeks)" if r.nan_weeks else "") for r in fails.itertuples()
        ] + [""]
    lines += [
        ("**Form effort versus the paperwork floor** (documented, not a check). "
        "`staff.paperwork_floor` is the least share of free hours staff spend on form whatever "
        "the rewards; the table gives, over all seeds and weeks 1–104, the smallest weekly "
        "`form_effort_share` (a mean over streets and communities that worked) and the share of "
        f"(seed, week) cells within ±{FLOOR_TOL} of the floor (form effort pinned at the floor) "
        "or below it (`form_floor.csv`)."), "",
        *md_table(show_fl), "",
    ]
    return {"lines": lines, "checks": [
        ("4 saturation: headline shares in [0.02, 0.98]", ok,
         f"{n_fail} of {len(sat)} cells outside" + (
             ": " + "; ".join(f"{r.scenario}/{r.condition}/{r.metric}" for r in fails.itertuples())
             if 0 < n_fail <= 6 else ""))]}


def _weeks_to_half(diff: pd.DataFrame, seeds) -> dict:
    """diff: steps × seeds paired differences (remedy switched on − baseline)."""
    mean = diff.mean(axis=1)
    ma = mean.rolling(4, min_periods=4).mean()
    late = ci_row(diff.loc[LATE[0]:LATE[1]].mean(axis=0))
    pre = float(np.nanmax(np.abs(diff.loc[1:ONSET - 1].to_numpy()))) if ONSET > 1 else 0.0
    target = late["mean"]
    weeks = np.nan
    if np.isfinite(target) and excludes_zero(late):
        after = ma.loc[ONSET:]
        hit = after[np.sign(target) * after >= abs(target) / 2]
        if len(hit):
            weeks = int(hit.index[0]) - ONSET
    return {"late": late, "weeks": weeks, "pre_max": pre, "ma": ma}


def section_remedies(plan: Plan, R: dict, out: Path) -> dict:
    base = pd.DataFrame([R[j]["summary"] for j in plan.remedy_base])
    rows = []
    arm_sum = {}
    for a, jobs in plan.remedy.items():
        s = pd.DataFrame([R[j]["summary"] for j in jobs])
        arm_sum[a] = s
        for m in REMEDY_METRICS:
            c = ci_row(s[m] - base[m])
            rows.append({"arm": a, "metric": m, "baseline": float(base[m].mean()),
                         "remedy": float(s[m].mean()), "difference": c["mean"],
                         "ci_low": c["ci_low"], "ci_high": c["ci_high"], "n": c["n"]})
    gains = pd.DataFrame(rows)
    gains.to_csv(out / "remedies.csv", index=False)
    full, half = arm_sum["full_reform"], arm_sum["full_reform, budget 300"]
    dg = ci_row(half["items_solved"] - full["items_solved"])
    budget_ok = bool(dg["ci_high"] < 0)
    full_gain = ci_row(full["items_solved"] - base["items_solved"])
    half_gain = ci_row(half["items_solved"] - base["items_solved"])
    # Where the halved budget does cut the gain (reported, not a check): every kept metric.
    cut_rows = []
    for m in REMEDY_METRICS + BUDGET_EXTRA_METRICS:
        if m in half and m in full:
            c = ci_row(half[m] - full[m])
            cut_rows.append(f"`{m}` {fci(c, 0 if m == 'items_solved' else 3)}")

    onset_rows, series = [], {}
    for a, jobs in plan.onset.items():
        for m in ONSET_METRICS:
            diff = pd.concat({k: R[j]["ts"][m] - R[b]["ts"][m] for k, j, b in
                              zip(plan.remedy_seeds, jobs, plan.remedy_base)}, axis=1)
            diff = diff.loc[1:]
            w = _weeks_to_half(diff, plan.remedy_seeds)
            series[(a, m)] = w["ma"]
            onset_rows.append({"arm": a, "metric": m, "late_effect": w["late"]["mean"],
                               "late_ci_low": w["late"]["ci_low"], "late_ci_high": w["late"]["ci_high"],
                               "weeks_to_half": w["weeks"], "pre_onset_max_abs_difference": w["pre_max"],
                               "not_settable": "; ".join(plan.onset_skipped[a])})
    onset = pd.DataFrame(onset_rows)
    onset.to_csv(out / "remedy_onset.csv", index=False)

    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(ONSET_METRICS), figsize=(12, 4))
    for ax, m in zip(np.atleast_1d(axes), ONSET_METRICS):
        for a in plan.onset:
            s = series[(a, m)]
            ax.plot(s.index, s.values, lw=1.2, label=a)
        ax.axvline(ONSET, color="k", ls=":", lw=1)
        ax.axhline(0, color="grey", lw=0.6)
        ax.axvspan(*LATE, color="grey", alpha=0.12)
        ax.set_title(f"{label(m)}: remedy switched on at week {ONSET} − baseline", fontsize=9)
        ax.set_xlabel("week", fontsize=8)
        ax.set_ylabel("paired difference, 4-week moving average", fontsize=8)
        ax.tick_params(labelsize=7)
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    savefig(fig, out, "remedy_onset")
    plt.close(fig)

    def gcell(a, m):
        r = gains[(gains["arm"] == a) & (gains["metric"] == m)].iloc[0]
        d = 0 if m == "items_solved" else 3
        return (f"{r.difference:+.{d}f} [{r.ci_low:+.{d}f}, {r.ci_high:+.{d}f}]"
                if np.isfinite(r.difference) else "NaN")

    show = pd.DataFrame({"arm": list(plan.remedy)})
    for m in REMEDY_METRICS:
        show[m] = [gcell(a, m) for a in plan.remedy]
    levels = pd.DataFrame({"arm": ["baseline"] + list(plan.remedy)})
    for m in REMEDY_METRICS:
        levels[m] = [fmt(float(base[m].mean()))] + [fmt(float(arm_sum[a][m].mean()))
                                                    for a in plan.remedy]
    show_on = pd.DataFrame({
        "remedy (switched on at week 53)": onset["arm"], "metric": onset["metric"],
        f"effect, weeks {LATE[0]}–{LATE[1]} [95 % CI]": [
            f"{x:+.3f} [{lo:+.3f}, {hi:+.3f}]" for x, lo, hi in
            zip(onset["late_effect"], onset["late_ci_low"], onset["late_ci_high"])],
        "weeks to half effect": [("—" if not np.isfinite(w) else str(int(w))) for w in onset["weeks_to_half"]],
        "max |diff| weeks 1–52": onset["pre_onset_max_abs_difference"].map(lambda x: f"{x:.2g}"),
    })
    lines = [
        "## 5. Remedies: gain and cost", "",
        ("**What.** What each remedy of the paper buys against the baseline, at what budget, "
        "whether the street budget binds, and how fast a remedy's effect builds up."), "",
        f"**How.** Each remedy scenario, and full reform with the street budget halved "
        f"(`{HALF_BUDGET}`), paired with the baseline on the same {len(plan.remedy_seeds)} seeds "
        "(0..{0}), 104 weeks. Paired differences (remedy − baseline) of the run summaries: "
        "items solved (count over weeks 1–104), satisfaction and resolution rate (shares), "
        "`budget_spent` (hour-equivalents per street-week) and `cost_per_solved_item` "
        "(hour-equivalents per item), with 95 % t-CIs.".format(len(plan.remedy_seeds) - 1), "",
        *md_table(show), "",
        "Levels (means over seeds):", "",
        *md_table(levels), "",
        (f"**Budget check.** Full reform's gain in items solved: {fci(full_gain, 0)}; with the "
        f"budget halved: {fci(half_gain, 0)}. Difference of the gains (halved − full, paired): "
        f"{fci(dg, 0)}. Halving the budget must shrink the gain (CI of the difference below 0): "
        f"{verdict(budget_ok)}"), "",
        ("Paired effect of halving the budget on full reform (halved − full, 95 % CI), metric "
         "by metric: " + "; ".join(cut_rows) + "."), "",
        (f"**Weeks to half effect.** From the baseline, the remedy's settings (its scenario YAML, "
        f"flattened into dotted keys, `name` dropped) are switched on district-wide by an "
        f"intervention at week {ONSET}; 104 weeks, the same seeds, paired with the baseline run. "
        "The paired difference series is averaged over seeds and smoothed with a trailing "
        f"4-week moving average; the effect is its mean over weeks {LATE[0]}–{LATE[1]} (CI over "
        f"seeds); the count is the weeks after week {ONSET} until the smoothed series first "
        "reaches half of that effect ('—' where the effect's CI covers 0). The trailing average "
        "adds about 1.5 weeks of delay. Before the switch the paired runs are identical (common "
        "random numbers), which the last column confirms. Figure: the smoothed paired "
        "differences (grey band: the weeks over which the effect is measured)."), "",
        *md_table(show_on), "",
        "![remedy onset](remedy_onset.png)", "",
    ]
    return {"lines": lines, "checks": [
        ("5 remedies: halving the budget shrinks full reform's gain in items solved", budget_ok,
         f"difference of gains {fci(dg, 0)}")]}


def section_pilot(plan: Plan, R: dict, out: Path) -> dict:
    tables = {arm: {k: R[j]["by_street"] for k, j in zip(plan.pilot_seeds, jobs)}
              for arm, jobs in plan.pilot.items()}
    T = int(tables["treated"][plan.pilot_seeds[0]]["step"].max())
    pre, post = (1, PILOT_START - 1), (PILOT_START, T)
    rows, checks = [], []
    for m in DID_METRICS:
        did = did_over_seeds(tables["treated"], m, PILOT_START, pre=pre, post=post)
        plac = placebo_did(tables["treated"], m, PLACEBO_START, PILOT_START - 1)
        did0 = did_over_seeds(tables["treated, no spill-over"], m, PILOT_START, pre=pre, post=post)
        plac0 = placebo_did(tables["treated, no spill-over"], m, PLACEBO_START, PILOT_START - 1)
        pe0 = paired_effect(tables["treated, no spill-over"], tables["untreated, no spill-over"],
                            m, post, streets="pilot")
        pe0c = paired_effect(tables["treated, no spill-over"], tables["untreated, no spill-over"],
                             m, post, streets="control")
        pe = paired_effect(tables["treated"], tables["untreated"], m, post, streets="pilot")
        pec = paired_effect(tables["treated"], tables["untreated"], m, post, streets="control")
        overlap = bool(did0["ci_low"] <= pe0["ci_high"] and pe0["ci_low"] <= did0["ci_high"])
        gap = abs(did0["mean"] - pe0["mean"])
        agree = bool(overlap and gap <= AGREE_TOL)
        plac_ok = covers_zero(plac)
        for name, c in (("DiD", did), ("placebo DiD (fake start 27)", plac),
                        ("paired effect, pilot streets", pe),
                        ("paired effect, control streets (spill-over)", pec),
                        ("DiD, no spill-over", did0), ("placebo DiD, no spill-over", plac0),
                        ("paired effect, pilot streets, no spill-over", pe0),
                        ("paired effect, control streets, no spill-over", pe0c)):
            rows.append({"metric": m, "estimate": name, "mean": c["mean"], "ci_low": c["ci_low"],
                         "ci_high": c["ci_high"], "n_seeds": c["n_seeds"]})
        checks.append((f"6 pilot: placebo DiD covers 0 ({m})", plac_ok, fci(plac)))
        checks.append((f"6 pilot: DiD agrees with paired effect without spill-over ({m})", agree,
                       (f"DiD {fci(did0)}, paired {fci(pe0)}, |gap| {gap:.3f}, "
                       f"CIs {'overlap' if overlap else 'do not overlap'}")))
    est = pd.DataFrame(rows)
    est.to_csv(out / "pilot_did.csv", index=False)

    import matplotlib.pyplot as plt

    long = tidy([R[j] for j in plan.pilot["treated"]], plan.pilot_seeds, key="by_street")
    long = long[long["step"] >= 1]
    fig, axes = plt.subplots(1, len(DID_METRICS), figsize=(12, 4))
    for ax, m in zip(np.atleast_1d(axes), DID_METRICS):
        g = long.groupby(["pilot", "step"])[m].mean()
        for flag, name, c in ((True, "pilot streets", "tab:red"), (False, "other streets", "tab:blue")):
            if flag in g.index.get_level_values(0):
                s = g.loc[flag]
                ax.plot(s.index, s.values, color=c, lw=1.2, label=name)
        ax.axvline(PILOT_START, color="k", ls=":", lw=1, label=f"reform (week {PILOT_START})")
        ax.axvline(PLACEBO_START, color="grey", ls="--", lw=0.8,
                   label=f"placebo date (week {PLACEBO_START})")
        ax.set_title(f"{label(m)} by street group (pilot_streets, mean of "
                     f"{len(plan.pilot_seeds)} seeds)", fontsize=9)
        ax.set_xlabel("week", fontsize=8)
        ax.tick_params(labelsize=7)
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    savefig(fig, out, "pilot_did")
    plt.close(fig)

    show = pd.DataFrame({"metric": est["metric"], "estimate": est["estimate"],
                         "mean [95 % CI]": [f"{x:+.4f} [{lo:+.4f}, {hi:+.4f}]" for x, lo, hi in
                                            zip(est["mean"], est["ci_low"], est["ci_high"])]})
    lines = [
        "## 6. Pilot streets (difference-in-differences)", "",
        ("**What.** A reform piloted in some streets (试点) can be evaluated the way it would be in "
        "the field — by a difference-in-differences between pilot and other streets — and that "
        "estimate is credible: a placebo date shows no effect, and without spill-over between "
        "streets the DiD recovers the true effect measured with common random numbers."), "",
        (f"**How.** Scenario `pilot_streets` (12 streets; the co-governance reform in half of "
        f"them from week {PILOT_START}), {len(plan.pilot_seeds)} seeds, 104 weeks, street × week "
        f"table `by_street`. `did_over_seeds`: pre weeks {pre[0]}–{pre[1]}, post {post[0]}–{post[1]} "
        f"(streets weighted equally). `placebo_did`: fake start {PLACEBO_START}, pre-period ending "
        f"{PILOT_START - 1}; its CI must cover 0. Then with `{NO_SPILLOVER}`: the DiD against "
        "`paired_effect` (pilot streets of the treated run minus the same streets of the same "
        "seed without the reform, post window); the untreated arm is the same scenario with "
        f"the override `{UNTREATED}` (the intervention moved past the end). Agreement: the two "
        f"95 % CIs overlap and the point estimates differ by at most {AGREE_TOL}. The paired "
        "effect on the *control* streets measures the spill-over the DiD subtracts; it is "
        "reported with the spill-over on and off."), "",
        *md_table(show), "",
        "![pilot DiD](pilot_did.png)", "",
    ]
    for name, ok, detail in checks:
        lines.append(f"**Check** {name.split(': ', 1)[1]}: {verdict(ok)} — {detail}")
        lines.append("")
    return {"lines": lines, "checks": checks}


# --------------------------------------------------------------------------- main


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: 3 seeds, 156 weeks, 2 levers x 5 points, 3 scenarios")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--plan", action="store_true",
                    help="print the number of runs and the estimated time, run nothing")
    args = ap.parse_args(argv)
    # The reports' own outputs are tracked files that a rerun rewrites: changes under
    # docs/validation (here and validate.py's, which `make validate` writes first) and
    # under --out do not mark the revision "-dirty"; any other change does.
    args.revision = git_revision(ignore=[args.out, OUT.parent])
    sz = Sizes.quick() if args.quick else Sizes()
    plan = Plan(sz)
    est = plan.n_weeks * SEC_PER_WEEK / max(args.processes, 1)
    print(f"dynamics: {plan.n_runs} distinct runs ({plan.n_weeks} simulated weeks), "
          f"{args.processes} processes, estimated {est / 60:.1f} min; per section: "
          + ", ".join(f"{k} {v}" for k, v in plan.section_runs.items()), flush=True)
    if args.plan:
        return 0

    import matplotlib

    matplotlib.use("Agg")
    t0 = time.time()
    R = execute(plan, args.processes)
    t_runs = time.time() - t0
    args.out.mkdir(parents=True, exist_ok=True)
    sections = [section_warmup(plan, R, args.out), section_stationarity(plan, R, args.out),
                section_curves(plan, R, args.out), section_saturation(plan, R, args.out),
                section_remedies(plan, R, args.out), section_pilot(plan, R, args.out)]
    elapsed = time.time() - t0
    checks = [c for s in sections for c in s["checks"]]
    ok = all(c[1] for c in checks)
    pd.DataFrame(checks, columns=["check", "passes", "detail"]).to_csv(args.out / "checks.csv",
                                                                       index=False)
    versions = package_versions()
    command = "python experiments/dynamics.py" + ("" if not argv else " " + " ".join(argv))
    header = [
        "# Credible dynamics", "",
        "Generated by `make dynamics` (`python experiments/dynamics.py`); do not edit by hand.", "",
        (f"- result: **{'PASSED' if ok else 'FAILED'}** ({sum(c[1] for c in checks)} of "
        f"{len(checks)} checks pass)"),
        f"- command: `{command}`" + (" — **quick smoke run: reduced sizes, not the report of "
                                      "record**" if args.quick else ""),
        f"- git revision: `{args.revision}` (read when the run started)",
        "- packages: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        (f"- seeds: warm-up and stationarity 0..{sz.warm_seeds - 1}; response curves "
        f"0..{sz.curve_seeds - 1}; saturation 0..{sz.sat_seeds - 1}; remedies "
        f"0..{sz.remedy_seeds - 1}; pilot 0..{sz.pilot_seeds - 1} (common random numbers: "
        "every arm of a comparison uses the same seeds)"),
        (f"- runs: {plan.n_runs} distinct runs ({plan.n_weeks} simulated weeks, spin-up "
        "included; runs shared between sections are run once), "
        f"{args.processes} processes; wall time {elapsed:.0f} s (runs {t_runs:.0f} s)"),
        ("- population: default (4 streets × 6 communities × 300 residents) except "
        "`pilot_streets` (12 × 4 × 200); spin-up "
        f"{plan.default_spin} weeks unless stated; one step = one week"),
        "",
        "Sizes: " + ("**quick** — " if args.quick else "") +
        f"warm-up/stationarity {sz.warm_seeds} seeds × {sz.warm_steps} weeks; response curves "
        f"{len(sz.curve_levers)} levers × {sz.curve_points} points × {sz.curve_seeds} seeds; "
        f"saturation {len(plan.scenarios)} scenarios × {sz.sat_seeds} seeds × 2 conditions; "
        f"remedies {sz.remedy_seeds} seeds; pilot {sz.pilot_seeds} seeds."
        + (" A smoke test only: too few seeds, weeks, levers and scenarios for the checks to "
           "mean much." if args.quick else
           " The response curves (most of the runs) use 5 seeds, not more, to keep the full "
           "report within about 25 minutes on 2 cores; their paired design (common random "
           "numbers) keeps the differences tight."),
        "",
        "## Summary of checks", "",
        "| check | result | numbers |", "|---|---|---|",
        *[f"| {name} | {'PASS' if passed else '**FAIL**'} | {cell_text(detail)} |"
          for name, passed, detail in checks],
        "",
    ]
    lines = header + [ln for s in sections for ln in s["lines"]]
    lines += ["## Files", "",
              ("`checks.csv` (every check), `warmup.csv`, `stationarity.csv`, "
              "`response_curves.csv`, `response_smoothness.csv`, `response_levers.csv`, "
              "`response_tipping_points.csv`, `saturation.csv`, `form_floor.csv`, "
              "`remedies.csv`, `remedy_onset.csv`, `pilot_did.csv`; figures `warmup`, "
              "`response_curves`, `remedy_onset`, `pilot_did` (PNG and SVG)."), ""]
    (args.out / "README.md").write_text("\n".join(lines), encoding="utf-8")
    for name, passed, detail in checks:
        print(f"{'PASS' if passed else 'FAIL'}  {name}: {detail}")
    print(f"dynamics {'PASSED' if ok else 'FAILED'} in {elapsed:.0f} s; report in {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
