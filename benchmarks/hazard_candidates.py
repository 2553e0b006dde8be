"""Hazard-scale candidate tests on PM-TTE: level (L0, constant hazard ratio) and power (L2) of
`heterogeneity.hazard_candidate_test` under three adjustments for prognosis.

Per trial (the harness's trials: same seeds as `simulate.py`), the p-values of three noise candidates
(snp_15, alcohol, duration), severity, the carrier rule snp_01 >= 1 and, for what a pre-specification could
reach at L2, the true subgroup's rule snp_01 >= 1 & severity >= 40 (``and``), the feature carrier × severity
(``product``) and the two named candidates tested as one set (``joint``: carrier, severity and their product, a
3-df Wald test), with the Cox model adjusted for
- ``true``: the true prognostic score s(x) (not available in practice: the reference),
- ``index``: the cross-fitted linear Cox prognostic index (`heterogeneity.prognostic_index`, 5 folds, seed 0),
  which is what the suite uses,
- ``all``: every encoded feature column (about 45 columns for about 320 events; L0 only, it is slow).

One row per trial is kept in ``results/hazard_candidates/<level>.csv``; finished trials (with every column) are
skipped, so an interrupted run resumes with the same command. It prints rejection rates at 0.05 (and at 0.02,
the share of alpha of each of two candidates under the suite's default weighted Holm).

    .venv/bin/python benchmarks/hazard_candidates.py --level L0 --reps 300
    .venv/bin/python benchmarks/hazard_candidates.py --level L2 --reps 200 --no-all
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
OUT = HERE / "results" / "hazard_candidates"
NOISE = ("snp_15", "alcohol", "duration")


def trial_row(level: str, rep: int, every_feature: bool) -> dict:
    from simulate import cell_by_label, harness_trial

    from subgroups.effects import assign_folds
    from subgroups.heterogeneity import Candidate, Survival, hazard_candidate_test, prognostic_index

    trial = harness_trial("PM-TTE", cell_by_label("PM-TTE", f"level={level}"), rep)
    d = trial.data
    X = pd.get_dummies(d.drop(columns=["patient_id", "arm", "time", "event"])).astype(float)
    w = (d["arm"] == "drug").to_numpy().astype(int)
    time, event = d["time"].to_numpy(float), d["event"].to_numpy(int)
    adjustments = {
        "true": trial.extra_truth["prognostic_score"],
        "index": prognostic_index(time, event, w, X.to_numpy(), assign_folds(w, 5, 0)),
    }
    if every_feature:
        adjustments["all"] = X.to_numpy()
    row: dict = {"rep": rep}
    for tag, prognosis in adjustments.items():
        survival = Survival(time, event, w, prognosis)
        for name in (*NOISE, "severity"):
            columns = X[[c for c in X.columns if c == name or c.startswith(name + "_")]].to_numpy()
            row[f"{name}_{tag}"] = hazard_candidate_test(survival, Candidate(name, "feature", columns=columns)).p_value
        carrier = Candidate("snp_01 >= 1", "rule", inside=(d["snp_01"] >= 1).to_numpy())
        row[f"carrier_{tag}"] = hazard_candidate_test(survival, carrier).p_value
        both = (d["snp_01"] >= 1).to_numpy() & (d["severity"] >= 40).to_numpy()
        row[f"and_{tag}"] = hazard_candidate_test(survival, Candidate("and", "rule", inside=both)).p_value
        product = ((d["snp_01"] >= 1) * d["severity"]).to_numpy(float)[:, None]
        row[f"product_{tag}"] = hazard_candidate_test(survival, Candidate("product", "feature", columns=product)).p_value
        # the two named candidates as one set: carrier, severity and their product (3-df Wald test)
        carrier_c = (d["snp_01"] >= 1).to_numpy(float) - float((d["snp_01"] >= 1).mean())
        severity_z = ((d["severity"] - d["severity"].mean()) / d["severity"].std()).to_numpy(float)
        joint = np.column_stack([carrier_c, severity_z, carrier_c * severity_z])
        row[f"joint_{tag}"] = hazard_candidate_test(survival, Candidate("joint", "feature", columns=joint)).p_value
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--level", choices=["L0", "L1", "L2"], required=True)
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument("--no-all", action="store_true", help="skip the every-feature adjustment (slow)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{args.level}.csv"
    rows = pd.read_csv(path) if path.exists() else pd.DataFrame({"rep": []})
    needed = [f"{name}_index" for name in ("carrier", "and", "product", "joint")]
    complete = rows.dropna(subset=[c for c in needed if c in rows.columns]) if set(needed) <= set(rows.columns) else rows.iloc[:0]
    for rep in range(args.reps):
        if rep not in set(complete["rep"]):
            fresh = pd.DataFrame([trial_row(args.level, rep, not args.no_all)])
            old = rows[rows["rep"] == rep]  # keep columns made earlier (e.g. the slow every-feature adjustment)
            if len(old):
                fresh = old.iloc[[0]].reset_index(drop=True).combine_first(fresh)
            rows = pd.concat([rows[rows["rep"] != rep], fresh], ignore_index=True).sort_values("rep")
            rows.to_csv(path, index=False)
    rows = rows[rows["rep"] < args.reps]
    print(f"PM-TTE {args.level}: {len(rows)} trials")
    for tag in ("true", "index", "all"):
        cols = [c for c in rows.columns if c.endswith("_" + tag)]
        if not cols:
            continue
        data = rows[cols].dropna()
        rates = {c.removesuffix("_" + tag): (float((data[c] < 0.05).mean()), float((data[c] < 0.02).mean())) for c in cols}
        noise = data[[f"{n}_{tag}" for n in NOISE]].min(axis=1)
        print(f"  {tag:5s} (n={len(data)}): " + "; ".join(f"{k} {a:.3f} / {b:.3f}" for k, (a, b) in rates.items())
              + f"; any noise at 0.05/3: {(noise < 0.05 / 3).mean():.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
