"""Why M3 stays near 1 at PM-TTE L1: the average effect on ΔS(24), and what a Cox model would add.

M3 compares the calibrated effects' error on the test set with the Kaplan–Meier difference at 24 months (B0, one
number for everyone). At PM-TTE L1 the suite's error is 1.03 × B0's, and with no spread at all (its average effect
alone) 0.99 × (`slope_rules.py`): the average effect is barely better than B0's. This asks, on the harness's
PM-TTE trials (same seeds; no pipeline fit), whether a survival model would do better, and whether through the
average or through the spread. Per trial, cross-fitted over the pipeline's 5 folds (seed 0):

- ``cox_ph``: one Cox model with the 31 encoded columns (standardized; ridge 0.1, lifelines' penalizer) and
  treatment (unpenalized), i.e. a constant hazard ratio;
- ``cox_int``: the same plus treatment × column interactions (ridge 10: a penalized interaction model, one shared
  prognosis, which the suite's per-arm Cox T-learner does not share).

From each, the held-out S₁(24 | x) and S₀(24 | x) give the plug-in average ΔS(24) (mean of S₁ − S₀) and the AIPW
average with them as outcome models (the pipeline's scores: within-arm pseudo-observations of S(24),
randomization probability 1/2). The reference is the difference of the arms' pseudo-observation means (= the
Kaplan–Meier difference up to jackknife terms). Errors are against the mean true ΔS(24 | x) of the trial's patients.
Also the per-patient error of ``cox_int``'s held-out effects, as they are and re-centred on the reference
average (the spread alone), relative to the reference constant: the in-trial analogue of M3.

    .venv/bin/python benchmarks/tte_ate.py --level L1 --reps 60
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
HORIZON = 24.0
FOLDS = 5


def cox_survival(X: np.ndarray, w: np.ndarray, time: np.ndarray, event: np.ndarray, X_new: np.ndarray,
                 interactions: float | None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """S₀(24 | x) and S₁(24 | x) on `X_new` from one Cox model fitted on (X, w): columns standardized on the training
    rows, ridge 0.1 on the columns, none on treatment, `interactions` (None: no treatment × column terms) on those."""
    from lifelines import CoxPHFitter

    mean, sd = X.mean(axis=0), X.std(axis=0)
    sd[sd == 0] = 1.0
    Z, Z_new = (X - mean) / sd, (X_new - mean) / sd
    p = Z.shape[1]
    names = [f"x{j}" for j in range(p)] + ["w"] + ([f"wx{j}" for j in range(p)] if interactions is not None else [])

    def frame(z: np.ndarray, arm: np.ndarray) -> pd.DataFrame:
        parts = [z, arm[:, None]] + ([z * arm[:, None]] if interactions is not None else [])
        return pd.DataFrame(np.hstack(parts), columns=names)

    train = frame(Z, w.astype(float)).assign(time=time, event=event)
    penalty = np.r_[np.full(p, 0.1), 0.0, np.full(p, interactions) if interactions is not None else []]
    model = CoxPHFitter(penalizer=penalty).fit(train, duration_col="time", event_col="event")
    n = len(Z_new)
    s0 = model.predict_survival_function(frame(Z_new, np.zeros(n)), times=[HORIZON]).to_numpy()[0]
    s1 = model.predict_survival_function(frame(Z_new, np.ones(n)), times=[HORIZON]).to_numpy()[0]
    return s0, s1


def trial_row(level: str, rep: int) -> dict:
    from simulate import cell_by_label, harness_trial
    from simulation_methods import design_matrix

    from subgroups.effects import assign_folds
    from subgroups.outcomes import survival_pseudo_values

    trial = harness_trial("PM-TTE", cell_by_label("PM-TTE", f"level={level}"), rep)
    d = trial.data
    X = design_matrix(d).to_numpy(float)
    w = (d["arm"] == "drug").to_numpy().astype(int)
    time, event = d["time"].to_numpy(float), d["event"].to_numpy(int)
    tau = trial.true_effect
    y = survival_pseudo_values(time, event, HORIZON, groups=w)
    folds = assign_folds(w, FOLDS, 0)
    reference = y[w == 1].mean() - y[w == 0].mean()
    row = {"rep": rep, "truth": tau.mean(), "reference": reference}
    for tag, interactions in (("cox_ph", None), ("cox_int", 10.0)):
        s0, s1 = np.empty(w.size), np.empty(w.size)
        for k in range(FOLDS):
            train, test = folds != k, folds == k
            s0[test], s1[test] = cox_survival(X[train], w[train], time[train], event[train], X[test], interactions)
        scores = s1 - s0 + w * (y - s1) / 0.5 - (1 - w) * (y - s0) / 0.5
        row[f"plugin_{tag}"], row[f"aipw_{tag}"] = float(np.mean(s1 - s0)), float(np.mean(scores))
        if tag == "cox_int":
            constant = np.mean((reference - tau) ** 2)
            row["effects_cox_int"] = np.mean((s1 - s0 - tau) ** 2) / constant
            row["spread_cox_int"] = np.mean((s1 - s0 - np.mean(s1 - s0) + reference - tau) ** 2) / constant
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--level", default="L1", choices=["L0", "L1", "L2"])
    parser.add_argument("--reps", type=int, default=60)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    rows = pd.DataFrame([trial_row(args.level, r) for r in range(args.reps)])
    print(f"PM-TTE {args.level}, R = {args.reps}: squared error of the average ΔS(24) × 10⁴ (± Monte-Carlo SE)")
    for column in ("reference", "aipw_cox_ph", "aipw_cox_int", "plugin_cox_ph", "plugin_cox_int"):
        error = (rows[column] - rows["truth"]) ** 2 * 1e4
        print(f"  {column:16s} {error.mean():6.2f} ± {error.std() / np.sqrt(len(rows)):.2f}")
    print("per-patient error relative to the reference constant (mean of per-trial ratios):")
    for column in ("effects_cox_int", "spread_cox_int"):
        print(f"  {column:16s} {rows[column].mean():.3f} ± {rows[column].std() / np.sqrt(len(rows)):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
