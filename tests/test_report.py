"""End-to-end test of the comparison report (``python -m sim.report --quick``).

The command runs every scenario of ``configs/experiment/comparison.yaml`` on the classroom
district (3 replicates, 10 weeks after a 10-week spin-up) and writes the report folder; one
test (one run of the command, so pytest-xdist cannot run it twice) checks that every promised
file is there and that the numbers printed in the Markdown are those of the run table. The
missing-value note is checked on a synthetic table with a NaN and a failed run (Markdown
only, no model, no figures).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from sim import report
from sim.report import (
    FIGURE_METRICS,
    HEADLINE_METRICS,
    analyse,
    fmt_number,
    remedy_pairs,
    render_markdown,
    scenario_roles,
)

ROOT = Path(__file__).resolve().parent.parent


def run_quick_report(out: Path) -> Path:
    """Run ``python -m sim.report --quick`` in a fresh process; the folder it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "sim.report", "--quick", "--out", str(out), "--no-progress",
         "--workers", "2"],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    folder = Path(done.stdout.strip().splitlines()[-1])
    assert folder.parent == out and folder.name.startswith("report-")
    return folder


def _table_row(markdown: str, first_cell: str, after: str) -> list[str]:
    """Cells of the first table row starting with ``first_cell`` after heading ``after``."""
    text = markdown[markdown.index(after):]
    for line in text.splitlines():
        if line.startswith(f"| {first_cell} |"):
            return [c.strip() for c in line.strip("|").split(" | ")]
    raise AssertionError(f"no row {first_cell!r} after {after!r}")


def test_quick_report_end_to_end(tmp_path):
    folder = run_quick_report(tmp_path)
    check_files(folder)
    check_numbers(folder)


def check_files(folder: Path) -> None:
    """Both reports, every figure in PNG and SVG per language, the table and metadata."""
    for lang in ("zh", "en"):
        assert (folder / f"report_{lang}.md").stat().st_size > 1000
        for name in (*FIGURE_METRICS, "forest"):
            for suffix in (".png", ".svg"):
                path = folder / "figures" / f"{name}_{lang}{suffix}"
                assert path.stat().st_size > 1000, path
    for name in ("runs.parquet", "runs.csv", "metadata.json"):
        assert (folder / name).is_file()
    table = pd.read_parquet(folder / "runs.parquet")
    spec = report.load_comparison_spec()
    assert list(pd.unique(table.scenario)) == spec["scenarios"]
    assert len(table) == len(spec["scenarios"]) * report.QUICK["replicates"]
    assert (table.status == "ok").all()
    # Common random numbers: one seed per replicate, the same in every scenario.
    assert (table.groupby("replicate").seed.nunique() == 1).all()
    metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["runs"]["ok"] == len(table)


def check_numbers(folder: Path) -> None:
    """The numbers printed in the Markdown are those of ``runs.csv``."""
    table = pd.read_csv(folder / "runs.csv")
    en = (folder / "report_en.md").read_text(encoding="utf-8")
    zh = (folder / "report_zh.md").read_text(encoding="utf-8")
    metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    for seed in metadata["replicate_seeds"]:
        assert str(seed) in en and str(seed) in zh
    # Levels: each cell of the baseline row starts with the replicate mean.
    groups = report.TABLE_GROUPS
    for group in groups:
        label = report.metric_label(group[0], "en", with_unit=True)
        row = _table_row(en, "Baseline", label)
        base = table[table.scenario == "baseline"]
        for cell, metric in zip(row[2:], group, strict=True):
            mean = base[metric].mean()
            assert cell.split(" ")[0] == fmt_number(mean, metric), (metric, cell)
    # Paired differences: full reform minus baseline, replicate by replicate.
    after = "## Paired differences from the baseline"
    for group in groups:
        text = en[en.index(after):]
        text = text[text.index(report.metric_label(group[0], "en")):]
        row = _table_row(text, "Full reform", report.metric_label(group[0], "en"))
        for cell, metric in zip(row[1:], group, strict=True):
            a = table[table.scenario == "full_reform"].set_index("replicate")[metric]
            b = table[table.scenario == "baseline"].set_index("replicate")[metric]
            d = (a - b).dropna()
            like = b.loc[d.index].mean()
            expected = fmt_number(d.mean(), metric, signed=True, like=like)
            assert cell.strip("*").split(" ")[0] == expected, (metric, cell)
    # The Chinese report prints the same numbers.
    zh_row = _table_row(zh, "基线", report.metric_label(groups[0][0], "zh", with_unit=True))
    en_row = _table_row(en, "Baseline", report.metric_label(groups[0][0], "en", with_unit=True))
    assert zh_row[2:] == en_row[2:]
    # Every section is there.
    for heading in ("## What was run", "## Headline metrics by scenario",
                    "## Each remedy against its dilemma", "## Reading", "## Figures",
                    "## Missing values"):
        assert heading in en
    assert "figures/forest_en.png" in en and "figures/forest_zh.png" in zh


def test_roles_pair_each_remedy_with_its_dilemma():
    spec = report.load_comparison_spec()
    roles = scenario_roles(spec["scenarios"])
    assert roles["baseline"].kind == "baseline"
    assert roles["full_reform"].kind == "full_reform"
    assert roles["niujie_time_bank"].kind == "practice"
    assert remedy_pairs(roles) == [("market_logic", "admin_overload"),
                                   ("endogenous_motivation", "alienation"),
                                   ("co_governance", "suspended_structure"),
                                   ("scientific_evaluation", "formalistic_evaluation")]


def synthetic_table(replicates: int = 3) -> pd.DataFrame:
    """A run table of the comparison's scenarios with random headline metrics (no model)."""
    rng = np.random.default_rng(5)
    rows = []
    for scenario in report.load_comparison_spec()["scenarios"]:
        for r in range(replicates):
            rows.append({"point": 0, "replicate": r, "seed": 10 + r, "scenario": scenario,
                         "status": "ok", "error": "", "wall_s": 0.1,
                         **{m: float(rng.uniform(0.2, 0.8)) for m in HEADLINE_METRICS}})
    return pd.DataFrame(rows)


def test_missing_values_and_failed_runs_are_reported():
    table = synthetic_table()
    hit = (table.scenario == "co_governance") & (table.replicate == 1)
    table.loc[hit, "resolution_rate"] = np.nan
    gone = (table.scenario == "alienation") & (table.replicate == 0)
    table.loc[gone, ["status", "error"]] = ["failed", "Traceback\nRuntimeError: boom"]
    a = analyse(table)
    row = a.vs_base[(a.vs_base.scenario == "co_governance")
                    & (a.vs_base.metric == "resolution_rate")].iloc[0]
    assert row.n == 2 and row.n_missing == 1 and row.n_pairs == 2
    info = report.RunInfo(
        command="test", spec_path="spec", when="now", population="classroom", streets=1,
        communities=3, residents=100, steps=10, spin_up=10, master_seed=1, seeds=[10, 11, 12],
        replicates=3, n_runs=len(table), n_ok=len(table) - 1, wall_s=1.0, run_s=1.0,
        workers=1, revision="abc")
    for lang, words in (("en", ("Resolution rate missing in 1 run(s) (replicates 1)",
                                "replicate 0", "failed: RuntimeError: boom")),
                        ("zh", ("解决率 缺失 1 次", "运行失败"))):
        text = render_markdown(a, table, info, lang)
        note = text[text.index("## " + report._s("missing", lang)):]
        for word in words:
            assert word in note, (lang, word)
    clean = render_markdown(analyse(synthetic_table()), synthetic_table(), info, "en")
    assert "No run failed and every headline metric has a value" in clean


def test_fmt_number_decimals():
    assert fmt_number(0.12345, "resolution_rate") == "0.123"
    assert fmt_number(-0.0001, "resolution_rate", signed=True) == "-0.000"
    assert fmt_number(-0.0001, "resolution_rate") == "0.000"
    assert fmt_number(123.4, "budget_spent") == "123"
    assert fmt_number(12.34, "budget_spent") == "12.3"
    assert fmt_number(1.234, "budget_spent") == "1.23"
    assert fmt_number(float("nan"), "budget_spent") == "—"
    assert re.fullmatch(r"\+\d+\.\d{2}", fmt_number(5.0, "budget_spent", signed=True, like=3.0))
