"""Family-wise error and power of the two-stage adaptive-enrichment design (D4) by simulation.

Simulates the design of trial_design.md section 5.2 (continuous endpoint, sigma = 1,
N1 = N2 = 300, futility and enrichment thresholds 0, one-sided alpha 0.025) with
:func:`subgroups.design.simulate_adaptive_enrichment`:

- the global null (theta_S = theta_Sc = 0) at prevalences 0.2, 0.4 and 0.6, for each intersection
  test: the family-wise error P(any rejection) must stay below alpha;
- the partial null theta_S = 0, theta_Sc = 0.3: P(reject H_S) must stay below alpha;
- the no-adaptation design (no futility stop, never enrich): conservative closed test;
- alternatives: S-only effect, homogeneous effect and Scenario A.

Prints one row per scenario with the Monte-Carlo standard error and writes
``benchmarks/results/design_fwer.csv``.

Usage::

    PYTHONPATH=src .venv/bin/python benchmarks/design_fwer.py --sims 100000 --seed 2024
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from subgroups.design import simulate_adaptive_enrichment

ALPHA = 0.025
TESTS = ("bonferroni", "simes", "spiessens_debois")
RESULTS = Path(__file__).resolve().parent / "results" / "design_fwer.csv"


def scenarios() -> list[dict]:
    """(name, prevalence, theta_S, theta_Sc, null hypothesis checked, rule thresholds)."""
    rows = []
    for prevalence in (0.2, 0.4, 0.6):
        rows.append({"scenario": "global null", "prevalence": prevalence, "theta_s": 0.0, "theta_c": 0.0, "null": "any"})
    rows.append({"scenario": "partial null (H_S true)", "prevalence": 0.4, "theta_s": 0.0, "theta_c": 0.3, "null": "subgroup"})
    rows.append({"scenario": "partial null (H_S true)", "prevalence": 0.2, "theta_s": 0.0, "theta_c": 0.3, "null": "subgroup"})
    rows.append(
        {
            "scenario": "global null, no adaptation",
            "prevalence": 0.4,
            "theta_s": 0.0,
            "theta_c": 0.0,
            "null": "any",
            "futility_z": -np.inf,
            "enrich_below_z": -np.inf,
        }
    )
    rows.append({"scenario": "S-only effect", "prevalence": 0.4, "theta_s": 0.4, "theta_c": 0.0, "null": ""})
    rows.append({"scenario": "homogeneous effect", "prevalence": 0.4, "theta_s": 0.25, "theta_c": 0.25, "null": ""})
    rows.append({"scenario": "Scenario A", "prevalence": 0.4, "theta_s": 0.4, "theta_c": 0.1, "null": ""})
    return rows


def run(n_simulations: int, seed: int, n_stage: int = 300) -> pd.DataFrame:
    records = []
    for row in scenarios():
        for test in TESTS:
            result = simulate_adaptive_enrichment(
                row["prevalence"],
                row["theta_s"],
                row["theta_c"],
                n_stage,
                n_stage,
                alpha=ALPHA,
                intersection_test=test,
                futility_z=row.get("futility_z", 0.0),
                enrich_below_z=row.get("enrich_below_z", 0.0),
                n_simulations=n_simulations,
                seed=seed,
            )
            error = {"any": result.reject_any, "subgroup": result.reject_subgroup}.get(row["null"])
            error_se = None if error is None else math.sqrt(error * (1 - error) / n_simulations)
            records.append(
                {
                    "scenario": row["scenario"],
                    "prevalence": row["prevalence"],
                    "theta_subgroup": row["theta_s"],
                    "theta_complement": row["theta_c"],
                    "intersection_test": test,
                    "type1_error": error,
                    "type1_error_se": error_se,
                    "within_alpha": None if error is None else bool(error <= ALPHA + 3 * error_se),
                    "reject_subgroup": result.reject_subgroup,
                    "reject_overall": result.reject_overall,
                    "reject_any": result.reject_any,
                    "reject_any_se": result.reject_any_se,
                    "probability_enrich": result.probability_enrich,
                    "probability_futility": result.probability_futility,
                    "expected_n_randomized": result.expected_n_randomized,
                    "expected_n_screened": result.expected_n_screened,
                    "n_stage1": n_stage,
                    "n_stage2": n_stage,
                    "alpha": ALPHA,
                    "n_simulations": n_simulations,
                    "seed": seed,
                }
            )
    return pd.DataFrame.from_records(records)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=100_000, help="simulated trials per scenario (default 100000)")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the numpy generator (default 2024)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"CSV to write (default {RESULTS})")
    args = parser.parse_args(argv)
    if args.sims < 100_000:
        print(f"note: --sims {args.sims} is below the 100,000 used for the reported FWER", file=sys.stderr)

    start = time.perf_counter()
    frame = run(args.sims, args.seed)
    elapsed = time.perf_counter() - start
    args.output.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.output, index=False)

    shown = frame[
        [
            "scenario",
            "prevalence",
            "intersection_test",
            "type1_error",
            "type1_error_se",
            "within_alpha",
            "reject_subgroup",
            "reject_overall",
            "reject_any",
            "probability_enrich",
            "expected_n_randomized",
        ]
    ]
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", "{:.4f}".format):
        print(shown.to_string(index=False))
    nulls = frame.dropna(subset=["type1_error"])
    worst = nulls.loc[nulls["type1_error"].idxmax()]
    print(
        f"\nlargest type I error: {worst['type1_error']:.4f} (MC SE {worst['type1_error_se']:.4f}) in "
        f"'{worst['scenario']}', prevalence {worst['prevalence']}, {worst['intersection_test']}; "
        f"all within alpha + 3 SE: {bool(nulls['within_alpha'].all())}"
    )
    print(f"{len(frame)} scenarios x {args.sims:,} trials in {elapsed:.1f} s; wrote {args.output}")
    return 0 if bool(nulls["within_alpha"].all()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
