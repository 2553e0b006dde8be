"""IHDP accuracy check (Hill 2011, response surface B), protocol of docs/simulation.md: seeds 0-19,
random 90/10 split, sqrt(PEHE) on the held-out 10%, median over seeds.

Runs `subgroups.analyze` (observational study: fitted propensity, trimming) and econml's
CausalForestDML with default settings on the same splits, and prints the median sqrt(PEHE) of
each, paired wins, and the time ratio. One row per (seed, method) is appended to the CSV, and
finished rows are skipped on restart.

    .venv/bin/python benchmarks/ihdp.py                      # all 20 seeds
    .venv/bin/python benchmarks/ihdp.py --seeds 0 1 2        # a few
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results" / "ihdp.csv"


def split(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    cut = int(round(0.9 * n))
    return order[:cut], order[cut:]


def load(seed: int):
    from econml.data.dgps import ihdp_surface_B

    Y, T, X, tau = ihdp_surface_B(random_state=seed)
    # econml's covariate matrix starts with a constant column (the intercept of surface B); drop it.
    X = X[:, np.std(X, axis=0) > 0]
    frame = pd.DataFrame(X, columns=[f"x{j:02d}" for j in range(X.shape[1])])
    frame.insert(0, "treated", np.asarray(T).astype(int).ravel())
    frame.insert(1, "y", np.asarray(Y, dtype=float).ravel())
    return frame, np.asarray(tau, dtype=float).ravel()


def ours(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> np.ndarray:
    import subgroups

    params = {
        "name": "ihdp",
        "data": {
            "treatment": {"column": "treated", "treated": 1, "control": 0},
            "outcome": {"column": "y", "type": "continuous"},
            "study": "observational",
        },
        "estimation": {"learner": "auto", "seed": seed, "shap_rows": 20},
    }
    return subgroups.analyze(train, params).effect(test)


def causal_forest_defaults(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> np.ndarray:
    from econml.dml import CausalForestDML

    features = [c for c in train.columns if c.startswith("x")]
    est = CausalForestDML(discrete_treatment=True, random_state=seed)
    est.fit(train["y"].to_numpy(), train["treated"].to_numpy(), X=train[features].to_numpy())
    return np.asarray(est.effect(test[features].to_numpy())).ravel()


METHODS = {"subgroups": ours, "CausalForestDML defaults": causal_forest_defaults}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="*", default=list(range(20)))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    done = pd.read_csv(args.out) if args.out.is_file() else pd.DataFrame(columns=["seed", "method", "sqrt_pehe", "seconds"])
    finished = set(zip(done["seed"], done["method"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        frame, tau = load(seed)
        train_rows, test_rows = split(seed, len(frame))
        for method, fit_predict in METHODS.items():
            if (seed, method) in finished:
                continue
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                estimate = fit_predict(
                    frame.iloc[train_rows].reset_index(drop=True), frame.iloc[test_rows].reset_index(drop=True), seed
                )
            seconds = time.perf_counter() - start
            pehe = float(np.sqrt(np.mean((estimate - tau[test_rows]) ** 2)))
            row = pd.DataFrame([{"seed": seed, "method": method, "sqrt_pehe": pehe, "seconds": seconds}])
            row.to_csv(args.out, mode="a", header=not args.out.is_file(), index=False)
            print(f"seed {seed:2d} {method:26s} sqrt(PEHE) {pehe:.3f}  {seconds:.1f}s", flush=True)
    summarize(pd.read_csv(args.out))


def summarize(results: pd.DataFrame) -> None:
    wide = results.pivot_table(index="seed", columns="method", values="sqrt_pehe")
    times = results.pivot_table(index="seed", columns="method", values="seconds")
    print(f"\nIHDP surface B, {len(wide)} seeds, held-out 10%: sqrt(PEHE) median [IQR]")
    for method in wide.columns:
        q = wide[method].quantile([0.25, 0.5, 0.75])
        print(f"  {method:26s} {q[0.5]:.3f} [{q[0.25]:.3f}-{q[0.75]:.3f}]  median time {times[method].median():.1f}s")
    if {"subgroups", "CausalForestDML defaults"} <= set(wide.columns):
        both = wide.dropna()
        wins = int((both["subgroups"] < both["CausalForestDML defaults"]).sum())
        ratio = float((times["subgroups"] / times["CausalForestDML defaults"]).median())
        print(
            f"  subgroups better on {wins} of {len(both)} seeds; time ratio (ours / CausalForestDML defaults) median {ratio:.2f}"
        )


if __name__ == "__main__":
    main()
