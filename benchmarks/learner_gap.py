"""How much of the calibration test's power is lost to the effect model: the test with a perfect model.

The suite's calibration test (`heterogeneity.calibration_test` on forward predictions: folds 1–4 of 5, one
intercept per fold) regresses AIPW scores on the effect model's predictions. Its power is bounded by what it
would reach if the predictions were the true effects. This computes that bound on the simulation benchmark's
trials (same seeds as the committed cells, no model fit): per replication, scores from the *true* nuisance
functions (`simulation_methods.true_nuisance_scores`: for PM-TTE, pseudo-observations of S(24)), the true effect
as the prediction on folds 1–4 (fold 0 left out as the forward test leaves it out; the pipeline's folds and seed),
one-sided p. It prints the rejection rate at α/2 = 0.025 (the calibration test's starting level in the suite's
decision) and at 0.05, next to the rate of the suite's own calibration test at 0.025 (`p_blp` of the committed
`ours` rows, same trials) and the ratio of the two: the part of the gap that a better effect model could close.

    .venv/bin/python benchmarks/learner_gap.py                       # every alternative cell, R = 200
    .venv/bin/python benchmarks/learner_gap.py --scenario PM-TTE --reps 50
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
SIMULATION = HERE / "results" / "simulation"
SCENARIOS = ("PM-SNP", "PM-LIFESEV", "PM-TTE")
FOLDS = 5  # the pipeline's default number of folds


def perfect_model_p(scores: np.ndarray, effect: np.ndarray, folds: np.ndarray) -> float:
    """One-sided p of the calibration slope when the forward predictions are the true effects (fold 0 has none)."""
    from subgroups.heterogeneity import calibration_test

    predictions = np.where(folds == 0, np.nan, np.asarray(effect, float))
    return calibration_test(scores, predictions, folds)[0].p_value


def cell_p_values(scenario: str, label: str, reps: int) -> pd.Series:
    """Per replication r < reps: the perfect-model calibration p on that cell's trial."""
    from simulate import cell_by_label, harness_replication
    from simulation_methods import arm_of, true_nuisance_scores

    from subgroups.effects import assign_folds

    cell = cell_by_label(scenario, label)
    out = {}
    for r in range(reps):
        rep = harness_replication(scenario, cell, r)
        trial = rep.trial
        folds = assign_folds(arm_of(trial.data), FOLDS, rep.seed)
        out[r] = perfect_model_p(true_nuisance_scores(rep), trial.true_effect, folds)
    return pd.Series(out, name="p_perfect")


def committed_p_blp(scenario: str, label: str) -> pd.Series:
    """`p_blp` of the committed `ours` rows of a cell, by replication (empty when the rows lack it)."""
    path = SIMULATION / f"{scenario}.csv"
    rows = pd.read_csv(path, dtype={"cell": str}) if path.exists() else pd.DataFrame(columns=["cell", "method", "metric"])
    rows = rows[(rows["cell"] == label) & (rows["method"] == "ours") & (rows["metric"] == "p_blp")]
    return rows.drop_duplicates("rep", keep="last").set_index("rep")["value"].astype(float)


def main(argv: list[str] | None = None) -> int:
    from simulate import CELLS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", action="append", choices=SCENARIOS, help="default: all three")
    parser.add_argument("--reps", type=int, default=200)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    print("cell                     R   perfect@0.025  perfect@0.05  suite@0.025 (R)   suite / perfect")
    for scenario in args.scenario or SCENARIOS:
        for cell in CELLS[scenario]:
            if cell.null_scale is not None:
                continue
            perfect = cell_p_values(scenario, cell.label, args.reps)
            ours = committed_p_blp(scenario, cell.label).reindex(perfect.index).dropna()
            bound = float(np.mean(perfect < 0.025))
            suite = float(np.mean(ours < 0.025)) if len(ours) else float("nan")
            same = float(np.mean(perfect[ours.index] < 0.025)) if len(ours) else float("nan")
            ratio = suite / same if same > 0 else float("nan")
            print(
                f"{scenario + ' ' + cell.label:24s} {len(perfect):3d}   {bound:13.3f}  {np.mean(perfect < 0.05):12.3f}"
                f"  {suite:11.3f} ({len(ours):3d})   {ratio:15.2f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
