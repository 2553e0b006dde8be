"""The observational average effect on PM-OBS-NULL: bias, CI coverage, and where the error comes from.

PM-OBS-NULL (n = 500) has a constant effect 0.304 and treatment assigned by severity, age and smoking. Per trial
of the harness (same seeds as `simulate.py`), `subgroups.effects.fit_effects` runs as the pipeline runs it on
observational data (cross-fitted outcome models and propensity, trimming at 0.05; learner fixed to the T-learner,
which does not enter the average), and on the analysed patients the average effect is computed seven ways:

- ``normalized``: the suite's estimate (each arm's inverse-propensity weights divided by their mean: Hájek);
- ``plain``: the same scores with unnormalized weights (the suite's estimate before 2026-12-07);
- ``plugin``: the outcome models alone (mean of μ̂₁ − μ̂₀), to show how much the weights must correct;
- ``true_e``: unnormalized AIPW with the true propensity (the generator's) instead of ê;
- ``true_mu``: unnormalized AIPW with the true outcome means (0.735 s(x) + 0.304 W) and ê;
- ``ols`` and ``ols_plugin``: normalized AIPW, and the outcome model alone, with an unpenalized pooled least-squares
  outcome model (arm plus every standardized feature column) cross-fitted on the suite's folds, to see whether the
  ridge models' shrinkage is what leaves the bias (it is not: see benchmarks/README.md).

Printed: bias ± Monte-Carlo SE and root mean squared error of each, the paired difference in squared error
between ``plain`` and ``normalized``, and the coverage of the suite's 95% CI.

    .venv/bin/python benchmarks/obs_ate.py --cell c=1 --reps 120
    .venv/bin/python benchmarks/obs_ate.py --cell c=2 --reps 120
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
EFFECT = 0.304  # PM-NULL-a's constant effect
PROGNOSIS = 0.735  # the outcome's coefficient on the prognostic score s(x)


def trial_row(cell: str, rep: int) -> dict:
    from simulate import cell_by_label, harness_trial
    from simulation_methods import pipeline_params

    from subgroups.data import load_trial
    from subgroups.datasets.synthetic import prognostic_score
    from subgroups.effects import aipw_scores, fit_effects
    from subgroups.params import load_params

    trial = harness_trial("PM-OBS-NULL", cell_by_label("PM-OBS-NULL", cell), rep)
    run = load_params(pipeline_params("continuous", rep, {"learner": "t_learner"}, "observational"))
    data = load_trial(run, trial.data)
    fit = fit_effects(data, run.estimation)
    kept = fit.retained
    T, Y, e, mu0, mu1 = data.treatment[kept], fit.outcome, fit.propensity, fit.mu0, fit.mu1
    true_e = np.clip(np.asarray(trial.extra_truth["propensity"], float)[kept], 0.01, 0.99)
    mu = PROGNOSIS * prognostic_score(trial.data)[kept]
    ols0, ols1 = pooled_least_squares(StandardScaler().fit_transform(data.X.to_numpy(float)[kept]), T, Y, fit.folds)
    return {
        "rep": rep,
        "truth": float(np.mean(trial.true_effect)),
        "n": int(kept.sum()),
        "normalized": fit.ate.estimate,
        "ci_low": fit.ate.ci_low,
        "ci_high": fit.ate.ci_high,
        "plain": float(aipw_scores(Y, T, e, mu0, mu1).mean()),
        "plugin": float(np.mean(mu1 - mu0)),
        "true_e": float(aipw_scores(Y, T, true_e, mu0, mu1).mean()),
        "true_mu": float(aipw_scores(Y, T, e, mu, mu + EFFECT).mean()),
        "ols": float(aipw_scores(Y, T, e, ols0, ols1, normalized=True).mean()),
        "ols_plugin": float(np.mean(ols1 - ols0)),
    }


def pooled_least_squares(X: np.ndarray, T: np.ndarray, Y: np.ndarray, folds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold (μ̂₀, μ̂₁) of an unpenalized least-squares model of Y on the arm and every column of X."""
    from sklearn.linear_model import LinearRegression

    mu0, mu1 = np.zeros(T.size), np.zeros(T.size)
    for fold in np.unique(folds):
        train, test = folds != fold, folds == fold
        model = LinearRegression().fit(np.column_stack([T[train], X[train]]), Y[train])
        mu0[test] = model.predict(np.column_stack([np.zeros(test.sum()), X[test]]))
        mu1[test] = model.predict(np.column_stack([np.ones(test.sum()), X[test]]))
    return mu0, mu1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell", default="c=1", choices=["c=1", "c=2"])
    parser.add_argument("--reps", type=int, default=120)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    rows = pd.DataFrame([trial_row(args.cell, r) for r in range(args.reps)])
    root = np.sqrt(len(rows))
    print(f"PM-OBS-NULL {args.cell}, R = {args.reps}, analysed patients {rows['n'].mean():.0f} on average")
    print("  average effect      bias ± MC SE      rMSE")
    for column in ("normalized", "plain", "plugin", "true_e", "true_mu", "ols", "ols_plugin"):
        error = rows[column] - rows["truth"]
        print(f"  {column:12s} {error.mean():+9.4f} ± {error.std() / root:.4f}   {np.sqrt(np.mean(error**2)):.4f}")
    gain = (rows["plain"] - rows["truth"]) ** 2 - (rows["normalized"] - rows["truth"]) ** 2
    ratio = np.mean((rows["normalized"] - rows["truth"]) ** 2) / np.mean((rows["plain"] - rows["truth"]) ** 2)
    print(f"  squared error, plain − normalized: {gain.mean():+.5f} ± {gain.std() / root:.5f} (MSE ratio {ratio:.3f})")
    covered = (rows["ci_low"] <= rows["truth"]) & (rows["truth"] <= rows["ci_high"])
    print(f"  the suite's 95% CI covers the truth in {covered.mean():.3f} of trials")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
