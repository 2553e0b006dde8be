"""Does a finer forward layout, or weighting later folds more, make the calibration test stronger? (exploratory)

The suite's forward calibration test (`heterogeneity.calibration_test` with folds) predicts fold k (k = 1, …, K − 1
of the K = 5 cross-fitting folds) from a model fitted on folds < k and pools the folds in one regression (one
intercept per fold). A model fitted on k·n/K patients predicts better as k grows, so the early folds dilute the
test. Alternatives, each valid under no heterogeneity because fold k's t is N(0, 1) given the folds before it:

- ``pooled``: the suite's regression (HC3), for K = 5, 10, 20 forward folds;
- ``w=k``, ``w=sqrt(k)``: per-fold slope t (HC3 within the fold) combined as Σ wₖ tₖ / √Σ wₖ² (weighted Stouffer,
  weights fixed before the data: the fold's training size k, or its square root);
- ``last``: the last fold alone.

Everything is computed on the simulation harness's trials (the committed cells' seeds) with AIPW scores from the
*true* nuisance functions (`simulation_methods.true_nuisance_scores`) and, as the effect model, a DR-learner with a
ridge final stage (standardized columns, RidgeCV over 10⁻³…10³) fitted to the scores of folds < k, so that only the
layout and the combination differ; it measures the test, not the suite's learners. Prints the rejection rate at
0.025 (the calibration test's starting level in the suite's decision) per layout: a null cell gives the level, an
alternative the power.

    .venv/bin/python benchmarks/forward_layout.py --scenario PM-NULL-a --cell base --reps 300
    .venv/bin/python benchmarks/forward_layout.py --scenario PM-SNP --cell b1_rel=2 --reps 200
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
from scipy import stats

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
LAYOUTS = (5, 10, 20)
LEVEL = 0.025


def fold_t(scores: np.ndarray, predictions: np.ndarray) -> float:
    """t of the slope of scores on predictions within one fold (intercept; HC3 standard error); 0 when flat."""
    x = predictions - predictions.mean()
    sxx = float(np.sum(x * x))
    if x.size < 3 or sxx <= 1e-24:
        return 0.0
    y = scores - scores.mean()
    slope = float(np.sum(x * y)) / sxx
    residual = y - slope * x
    leverage = 1.0 / x.size + x * x / sxx
    se = float(np.sqrt(np.sum(x * x * residual**2 / (1.0 - leverage) ** 2))) / sxx
    return slope / se if se > 0 else 0.0


def combined_p(ts: np.ndarray, weights: np.ndarray) -> float:
    """One-sided p of the weighted Stouffer combination Σ wₖ tₖ / √Σ wₖ²."""
    ts, weights = np.asarray(ts, float), np.asarray(weights, float)
    return float(stats.norm.sf(np.sum(weights * ts) / np.sqrt(np.sum(weights**2))))


def trial_rates(scores: np.ndarray, X: np.ndarray, arm: np.ndarray, seed: int) -> dict[str, bool]:
    """Rejections at LEVEL of every layout and combination on one trial."""
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from subgroups.effects import assign_folds
    from subgroups.heterogeneity import calibration_test

    out = {}
    for K in LAYOUTS:
        folds = assign_folds(arm, K, seed)
        predictions = np.full(scores.size, np.nan)
        ts = []
        for k in range(1, K):
            train, test = folds < k, folds == k
            model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13))).fit(X[train], scores[train])
            predictions[test] = model.predict(X[test])
            ts.append(fold_t(scores[test], predictions[test]))
        ks = np.arange(1, K, dtype=float)
        out[f"K={K} pooled"] = calibration_test(scores, predictions, folds)[0].p_value < LEVEL
        out[f"K={K} w=k"] = combined_p(np.array(ts), ks) < LEVEL
        out[f"K={K} w=sqrt(k)"] = combined_p(np.array(ts), np.sqrt(ks)) < LEVEL
        out[f"K={K} last"] = stats.norm.sf(ts[-1]) < LEVEL
    return out


def main(argv: list[str] | None = None) -> int:
    from simulate import cell_by_label, harness_replication
    from simulation_methods import arm_of, design_matrix, true_nuisance_scores

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--cell", required=True)
    parser.add_argument("--reps", type=int, default=200)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    cell = cell_by_label(args.scenario, args.cell)
    rows = []
    for r in range(args.reps):
        rep = harness_replication(args.scenario, cell, r)
        X = design_matrix(rep.trial.data).to_numpy(float)
        rows.append(trial_rates(true_nuisance_scores(rep), X, arm_of(rep.trial.data), rep.seed))
    se = np.sqrt(LEVEL * (1 - LEVEL) / args.reps)
    print(f"{args.scenario} {args.cell}, R = {args.reps}, rejection rate at {LEVEL} (Monte-Carlo SE at {LEVEL}: {se:.3f}):")
    for name in rows[0]:
        print(f"  {name:16s} {np.mean([row[name] for row in rows]):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
