"""Summarize the simulation benchmark: per scenario x cell x method, the mean of every metric.

Reads the per-replication CSV files written by ``simulate.py`` (``scenario, cell, rep, method,
metric, value``) and writes a Markdown report with, for each metric, the mean over replications,
its Monte-Carlo standard error (SD / sqrt(R)) and R. The ratio rMSE = MSE_T / MSE_T(B0) is formed
per replication (same simulated trial for both methods) and then averaged (docs/simulation.md §3).

Usage::

    .venv/bin/python benchmarks/summarize.py                  # full tier -> results/simulation.md
    .venv/bin/python benchmarks/summarize.py --tier smoke     # -> results/simulation_smoke.md
    .venv/bin/python benchmarks/summarize.py --results /tmp/sim --out /tmp/sim.md
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from simulate import CELLS, DEFAULT_OUT, SCENARIO_NO
from simulation_methods import METHODS, TEST_SCALE

from subgroups.datasets.synthetic import SCENARIO_OUTCOME

HERE = Path(__file__).resolve().parent
DEFAULT_REPORT = {"full": HERE / "results" / "simulation.md", "smoke": HERE / "results" / "simulation_smoke.md"}
KEY = ["scenario", "cell", "rep", "method", "metric"]

#: Per-replication statistics kept in the CSVs for offline comparisons (M3 under other calibration-slope rules:
#: `simulation_metrics.calibration_statistics`), not averaged in the report.
OFFLINE_ONLY = {"cal_slope", "cal_se", "cal_centre", "cal_ate", "raw_mean_T", "raw_var_T", "raw_cov_T"}

#: Row order and one-line meaning of each metric in the report.
METRICS: dict[str, str] = {
    "M1": "heterogeneity test rejects at α = .05",
    "M1_abs": "rejects on the absolute scale ΔS(24)",
    "M1_hazard": "rejects on the hazard scale",
    "M2_false_selection": "null cell: test on the null's scale rejects (= flags a variable as predictive)",
    "M2_top1_severity": "null cell: severity ranked first",
    "M2a_top1": "top-1 variable ∈ T_pred",
    "M2a_locus": "top-1 ∈ {snp_01, snp_02} (locus-level hit)",
    "M2b_all_in_top_k": "T_pred ⊆ top-|T_pred|",
    "M2c_auc": "ROC-AUC of importance vs 1{T_pred}",
    "M2c_ap": "average precision of importance vs 1{T_pred}",
    "M2d_leakage": "top-1 ∈ T_prog (prognostic leakage)",
    "M2e_decoy": "top-1 ∈ D (decoy confusion)",
    "M2a_top1_tests": "same as M2a, ranking by per-feature effect-modification tests (ours)",
    "M2a_locus_tests": "same as M2a locus, ranking by per-feature tests (ours)",
    "M2c_auc_tests": "ROC-AUC of per-feature test evidence (−log10 p) vs 1{T_pred} (ours)",
    "M2d_leakage_tests": "top-1 by per-feature tests ∈ T_prog (ours)",
    "M2e_decoy_tests": "top-1 by per-feature tests ∈ D (ours)",
    "M2_top1_severity_tests": "null cell: severity ranked first by per-feature tests (ours)",
    "imp_max_share": "largest importance / total importance",
    "MSE_T": "MSE of τ̂ on the test set T (N = 5,000)",
    "rMSE": "MSE_T / MSE_T(B0), same replication",
    "MSE_in": "in-sample MSE of τ̂",
    "ATE_bias": "ATE estimate − mean true τ in the sample",
    "M4_false_subgroup": "null cell: a validated subgroup is reported",
    "M4_reported": "a validated subgroup is reported",
    "M4_accuracy": "subgroup accuracy on T against G* (none = empty set)",
    "M4_sensitivity": "subgroup sensitivity on T",
    "M4_specificity": "subgroup specificity on T",
    "M4_ppv": "subgroup PPV on T (when reported)",
    "M4_size": "share of T in the reported subgroup",
    "M4_value": "true mean effect in the reported subgroup",
    "M4_lift": "lift (V(Ĝ) − ATE) / (V(G*) − ATE)",
    "M4_optimism": "reported effect (ours: adjusted for selection) − true mean effect in Ĝ",
    "M4_optimism_raw": "held-out effect before the selection adjustment − true mean effect in Ĝ (ours)",
    "M4_optimism_shrunken": "empirical-Bayes shrunken effect − true mean effect in Ĝ (ours)",
    "randomization_flag": "declared randomized: the randomization check failed (p < 0.001)",
    "M4_false_refinement": "a validated rule conditions on a feature outside T_pred and D (every validated rule scored)",
    "M4_decoy_rule": "a validated rule conditions on a decoy in D",
    "M4_validated_rules": "number of validated rules reported",
    "M4_cut_severity": "reported rule cuts severity within [45, 55] (when reported)",
    "M4_split_smoking": "reported rule splits smoking as never/former vs current (when reported)",
    "M5_targeted": "enrichment or stratification recommended (null: false targeting)",
    "M5_enrichment": "enrichment recommended",
    "M5_N_ratio": "N enrichment / N all-comers at the true V(Ĝ) and ATE (90% power, one-sided 2.5%)",
    "M5_screening": "screening burden 1/π̂ of the planned subgroup",
    "p_het": "mean p-value of the heterogeneity test",
    "p_het_abs": "mean p-value, absolute scale",
    "p_het_hazard": "mean p-value, hazard scale",
    "error": "share of replications where the method failed",
    "wall_time_s": "wall time per fit (s)",
}


def read_results(folder: Path) -> pd.DataFrame:
    """All per-rep rows of a results folder; a (rep, method, metric) written twice keeps the last."""
    frames = []
    for path in sorted(Path(folder).glob("*.csv")):
        frame = pd.read_csv(path, on_bad_lines="skip", dtype={"cell": str, "method": str, "metric": str})
        frames.append(frame)
    if not frames:
        raise SystemExit(f"no result files (*.csv) in {folder}; run benchmarks/simulate.py first")
    rows = pd.concat(frames, ignore_index=True)
    rows["value"] = pd.to_numeric(rows["value"], errors="coerce")
    rows = rows.dropna(subset=["scenario", "cell", "rep", "method", "metric"])
    rows["rep"] = rows["rep"].astype(int)
    return rows.drop_duplicates(subset=KEY, keep="last")


def constant_effect(scenario: str, cell: str) -> bool:
    """Null cells whose true effect is the same for everyone on the scale MSE is computed on."""
    return any(c.label == cell and c.null_scale in ("mean", "rd") for c in CELLS.get(scenario, ()))


def add_relative_mse(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of rMSE = MSE_T(method) / MSE_T(B0) on the same replication.

    Not formed in constant-effect null cells: there B0 is the right model and its MSE is only the
    error of one average, which can come arbitrarily close to 0 and make the ratio meaningless.
    """
    mse = rows[rows["metric"] == "MSE_T"]
    mse = mse[[not constant_effect(s, c) for s, c in zip(mse["scenario"], mse["cell"], strict=True)]]
    base = mse[mse["method"] == "B0"].set_index(["scenario", "cell", "rep"])["value"].rename("b0")
    joined = mse.join(base, on=["scenario", "cell", "rep"], how="inner")
    joined = joined[joined["b0"] > 0]
    rel = joined.assign(metric="rMSE", value=joined["value"] / joined["b0"]).drop(columns="b0")
    return pd.concat([rows, rel], ignore_index=True)


def aggregate(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean, Monte-Carlo SE and number of replications per scenario, cell, method and metric."""
    clean = rows.dropna(subset=["value"])
    grouped = clean.groupby(["scenario", "cell", "method", "metric"])["value"]
    table = grouped.agg(mean="mean", sd="std", n="count").reset_index()
    table["se"] = table["sd"] / np.sqrt(table["n"])
    table.loc[table["n"] < 2, "se"] = np.nan
    reps = clean[clean["metric"] == "wall_time_s"].groupby(["scenario", "cell", "method"])["rep"].nunique().rename("reps")
    return table.join(reps, on=["scenario", "cell", "method"])


def fmt(mean: float, se: float, n: int, reps: float) -> str:
    digits = 3 if abs(mean) < 100 else 1
    text = f"{mean:.{digits}f}"
    text += f" ± {se:.{digits}f}" if np.isfinite(se) else " ± –"
    if not (isinstance(reps, float) and math.isnan(reps)) and n != reps:
        text += f" (n={n})"
    return text


def order_key(scenario: str, cell: str) -> tuple[int, int]:
    numbers = {c.label: c.number for c in CELLS.get(scenario, ())}
    return SCENARIO_NO.get(scenario, 99), numbers.get(cell, 99)


def cell_note(scenario: str, cell: str) -> str:
    for c in CELLS.get(scenario, ()):
        if c.label == cell and c.is_null:
            return (
                f"Null cell on the **{c.null_scale}** scale: M1 and the false-selection rate of a test on that scale target α = .05, "
                "judged at R = 500 (95% acceptance band [0.031, 0.069])."
            )
    return "Alternative cell."


def render(table: pd.DataFrame, commands: Sequence[str], summarize_command: str, tier: str = "unknown", notes: str = "") -> str:
    lines = [
        "# Simulation benchmark: results",
        "",
        f"Tier: **{tier}**. Produced by (from the repository root, with `.venv/bin/python`):",
        "",
        "```",
        *(commands or ["(no simulate.py command recorded in the results folder)"]),
        summarize_command,
        "```",
        "",
        "Each entry is the mean over replications ± its Monte-Carlo standard error (SD/√R); `(n=…)` marks a metric "
        "available in fewer replications than the method completed (row `replications`). Null-cell rejection rates "
        "are judged at R = 500: the 95% acceptance band for α = .05 is [0.031, 0.069]; smaller R only shows that the "
        'harness runs. A method "flags a variable as predictive" when its heterogeneity test rejects. '
        "p_het of ours and B3 is one-sided; B1 is a global F (OLS) or likelihood-ratio test; B2 is Bonferroni over "
        "30 two-sided univariate interaction tests; the oracle is one-sided "
        "in the known direction of benefit, two-sided in PM-NULL-a/b. See benchmarks/README.md.",
        "",
        *([notes.strip(), ""] if notes.strip() else []),
    ]
    methods_all = [m for m in METHODS if m in set(table["method"])] + sorted(set(table["method"]) - set(METHODS))
    pairs = sorted({(s, c) for s, c in zip(table["scenario"], table["cell"])}, key=lambda sc: order_key(*sc))
    current = None
    for scenario, cell in pairs:
        if scenario != current:
            lines += [f"## {scenario} ({SCENARIO_OUTCOME.get(scenario, '?')})", ""]
            current = scenario
        part = table[(table["scenario"] == scenario) & (table["cell"] == cell)]
        methods = [m for m in methods_all if m in set(part["method"])]
        lines += [f"### {scenario}, {cell}", "", cell_note(scenario, cell), ""]
        lines.append("| metric | " + " | ".join(methods) + " |")
        lines.append("|---|" + "---|" * len(methods))
        scales = TEST_SCALE.get(SCENARIO_OUTCOME.get(scenario, ""), {})
        lines.append("| scale of p_het | " + " | ".join(scales.get(m, "–") for m in methods) + " |")
        reps = part.drop_duplicates("method").set_index("method")["reps"]
        lines.append(
            "| replications | " + " | ".join(str(int(reps.get(m, 0))) if pd.notna(reps.get(m)) else "0" for m in methods) + " |"
        )
        shown = set(part["metric"]) - OFFLINE_ONLY
        names = [m for m in METRICS if m in shown] + sorted(shown - set(METRICS))
        for metric in names:
            cells = []
            for method in methods:
                row = part[(part["method"] == method) & (part["metric"] == metric)]
                cells.append("" if row.empty else fmt(*row.iloc[0][["mean", "se", "n", "reps"]]))
            label = f"{metric}: {METRICS[metric]}" if metric in METRICS else metric
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def summarize(results: Path | str | None = None, out: Path | str | None = None, command: str | None = None) -> pd.DataFrame:
    """Write the Markdown report and return the aggregated table (defaults: the full tier's folder and report)."""
    results = Path(results) if results is not None else DEFAULT_OUT["full"]
    out = Path(out) if out is not None else DEFAULT_REPORT["full"]
    table = aggregate(add_relative_mse(read_results(results)))
    log = results / "commands.log"
    commands = []
    if log.is_file():
        for line in log.read_text(encoding="utf-8").splitlines():
            cmd = line.split("\t", 1)[-1].strip()
            if cmd and cmd not in commands:
                commands.append(cmd)
    command = command or f"benchmarks/summarize.py --results {results} --out {out}"
    marker = results / "tier.txt"
    tier = marker.read_text(encoding="utf-8").strip() if marker.is_file() else "unknown"
    out.parent.mkdir(parents=True, exist_ok=True)
    notes = results / "notes.md"  # which rows were made by which version of the code, in words
    text = notes.read_text(encoding="utf-8") if notes.is_file() else ""
    out.write_text(render(table, commands, command, tier, text) + "\n", encoding="utf-8")
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tier", choices=sorted(DEFAULT_OUT), default="full", help="whose default folder and report to use")
    parser.add_argument("--results", type=Path, help="folder of the per-scenario CSV files (default: the tier's)")
    parser.add_argument(
        "--out", type=Path, help="Markdown report to write (default: results/simulation.md or simulation_smoke.md)"
    )
    args = parser.parse_args(argv)
    command = " ".join(["benchmarks/summarize.py", *(argv if argv is not None else sys.argv[1:])])
    out = args.out or DEFAULT_REPORT[args.tier]
    table = summarize(args.results or DEFAULT_OUT[args.tier], out, command)
    print(f"wrote {out} ({table[['scenario', 'cell']].drop_duplicates().shape[0]} cell(s))", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
