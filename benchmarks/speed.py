"""Speed and memory of `subgroups.analyze` against the naive econml workflow (issue 6).

Grid: n in {1,000; 10,000; 100,000} x p in {30, 100} on PM-SNP (b1_rel = 1, continuous outcome).
p = 100 adds 70 pure-noise columns to the 30 PM-30 features (SNP-like 0/1/2 counts, lifestyle- and
disease-like normals), named so that the demo's family globs pick them up; the truth is unchanged.

Methods, each on the same training data and the same held-out set of 5,000 patients:
- `subgroups`: the full `analyze` (learner choice, effects, heterogeneity tests, SHAP, subgroups,
  trial designs) with package defaults;
- `naive econml`: CausalForestDML with default ('auto') nuisance selection, then SHAP values for
  every training row (`est.shap_values(X)`), the workflow the issue describes.

Every cell runs in a fresh Python process, so its peak resident memory (maximum RSS, imports
included) is its own; both methods compute in threads of that process. One row per
(n, p, method, rep) is appended to the CSV; finished rows are skipped on restart. Run it alone
on the machine: timings on a shared 2-core machine are meaningless.

    .venv/bin/python benchmarks/speed.py                          # whole grid (hours: the naive workflow at 100,000 is slow)
    .venv/bin/python benchmarks/speed.py --n 1000 10000 --p 30    # part of it
    .venv/bin/python benchmarks/speed.py --methods subgroups      # ours only
    .venv/bin/python benchmarks/speed.py --summary                # table of medians -> results/speed.md
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "speed.csv"
REPORT = ROOT / "benchmarks" / "results" / "speed.md"
SCENARIO, B1_REL, N_TEST = "PM-SNP", 1.0, 5_000
METHODS = ("subgroups", "naive econml")
COLUMNS = ["n", "p", "method", "rep", "seconds", "peak_mb", "sqrt_pehe", "error"]
PARAMS = {
    "name": "speed",
    "data": {
        "treatment": {"column": "arm", "treated": "drug", "control": "placebo"},
        "outcome": {"column": "response", "type": "continuous"},
        "features": {
            "genetic": ["snp_*"],
            "lifestyle": ["smoking", "bmi", "activity", "alcohol", "life_*"],
            "disease": ["severity", "duration", "crp", "comorbidities", "dis_*"],
            "other": ["age", "female"],
        },
        "id_column": "patient_id",
        "study": "rct",
    },
}


def trial(n: int, p: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A PM-SNP trial of n patients with p features, and its true effects."""
    from subgroups.datasets.synthetic import simulate_trial

    sim = simulate_trial(SCENARIO, n=n, seed=seed, b1_rel=B1_REL)
    frame = sim.data.copy()
    extra, rng = p - 30, np.random.default_rng([seed, p])
    if extra > 0:
        genetic, lifestyle = extra // 3, extra // 3
        columns = {}
        for j in range(genetic):
            columns[f"snp_noise_{j:02d}"] = rng.binomial(2, rng.uniform(0.05, 0.5), n)
        for j in range(lifestyle):
            columns[f"life_{j:02d}"] = rng.normal(size=n)
        for j in range(extra - genetic - lifestyle):
            columns[f"dis_{j:02d}"] = rng.normal(size=n)
        frame = pd.concat([frame, pd.DataFrame(columns, index=frame.index)], axis=1)
    return frame, np.asarray(sim.true_effect, dtype=float)


def features(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in ("patient_id", "arm", "response")]


def numeric(frame: pd.DataFrame) -> np.ndarray:
    """Features as numbers for econml (smoking one-hot), the way a user would prepare them."""
    return pd.get_dummies(frame[features(frame)], drop_first=True, dtype=float).to_numpy()


def run_subgroups(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> np.ndarray:
    import subgroups

    params = copy.deepcopy(PARAMS)
    params["estimation"] = {"seed": seed}
    for family in ("lifestyle", "disease"):  # the noise globs only when p > 30
        params["data"]["features"][family] = [
            g
            for g in params["data"]["features"][family]
            if not g.endswith("*") or any(c.startswith(g[:-1]) for c in train.columns)
        ]
    return subgroups.analyze(train, params).effect(test)


def run_naive(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> np.ndarray:
    from econml.dml import CausalForestDML

    X, Xtest = numeric(train), numeric(test)
    est = CausalForestDML(discrete_treatment=True, random_state=seed)
    est.fit(train["response"].to_numpy(), (train["arm"] == "drug").to_numpy().astype(int), X=X)
    est.shap_values(X)  # SHAP on every row
    return np.asarray(est.effect(Xtest)).ravel()


def cell(n: int, p: int, method: str, rep: int) -> dict:
    """One measurement, in this process (called in a child process by `main`)."""
    train, _ = trial(n, p, seed=rep)
    test, tau = trial(N_TEST, p, seed=10_000 + rep)
    run = run_subgroups if method == "subgroups" else run_naive
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimate = run(train, test, rep)
    seconds = time.perf_counter() - start
    # Both methods compute in threads of this process (no worker processes), so its own peak is the
    # figure. (Forked helpers such as `git` would report the parent's pages as theirs.)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "n": n, "p": p, "method": method, "rep": rep, "seconds": round(seconds, 2),
        "peak_mb": round(peak / 1024, 1), "sqrt_pehe": round(float(np.sqrt(np.mean((estimate - tau) ** 2))), 4), "error": "",
    }  # fmt: skip


def summarize(rows: pd.DataFrame) -> str:
    ok = rows[rows["error"].fillna("") == ""]
    med = ok.groupby(["n", "p", "method"]).agg(
        reps=("rep", "count"), seconds=("seconds", "median"), peak_mb=("peak_mb", "median"), sqrt_pehe=("sqrt_pehe", "median")
    )
    lines = [
        "# Speed and memory (`benchmarks/speed.py`)",
        "",
        f"PM-SNP (b1_rel = {B1_REL:g}, continuous outcome), held-out sqrt(PEHE) on {N_TEST:,} new patients; medians over reps.",
        "`subgroups` = the full `analyze` (learner choice, effects, heterogeneity tests, SHAP, subgroups, designs);",
        "`naive econml` = CausalForestDML defaults ('auto' nuisances) + SHAP on every row.",
        f"Machine: {os.cpu_count()} cores. Peak memory = maximum resident set of the process, imports included (~300 MB).",
        "",
        "| n | p | method | reps | wall time (s) | peak memory (MB) | held-out sqrt(PEHE) |",
        "|---:|---:|---|---:|---:|---:|---:|",
    ]
    for (n, p, method), r in med.iterrows():
        lines.append(f"| {n:,} | {p} | {method} | {int(r.reps)} | {r.seconds:.1f} | {r.peak_mb:,.0f} | {r.sqrt_pehe:.3f} |")
    lines += ["", "## Ratios and growth", ""]
    lines.insert(6, "Commands: `benchmarks/speed.py --n 1000 10000` (p = 30, 100), then `--n 100000 --methods subgroups`.")
    for p in sorted(ok["p"].unique()):
        for n in sorted(ok["n"].unique()):
            if (n, p, "subgroups") in med.index and (n, p, "naive econml") in med.index:
                ours, naive = med.loc[(n, p, "subgroups")], med.loc[(n, p, "naive econml")]
                lines.append(
                    f"- n = {n:,}, p = {p}: speed-up over the naive workflow (its time / ours) {naive.seconds / ours.seconds:.1f}; "
                    f"sqrt(PEHE) {ours.sqrt_pehe:.3f} vs {naive.sqrt_pehe:.3f}."
                )
        if (10_000, p, "subgroups") in med.index and (100_000, p, "subgroups") in med.index:
            t10, t100 = med.loc[(10_000, p, "subgroups"), "seconds"], med.loc[(100_000, p, "subgroups"), "seconds"]
            lines.append(f"- p = {p}: time of subgroups grows as n^{np.log(t100 / t10) / np.log(10):.2f} from 10,000 to 100,000.")
    missing = [
        f"n = {n:,}, p = {p}" for n in sorted(ok["n"].unique()) for p in sorted(ok["p"].unique())
        if (n, p, "naive econml") not in med.index
    ]  # fmt: skip
    if missing:
        lines.append(f"- naive workflow not measured at {'; '.join(missing)} (`--methods 'naive econml'` continues it).")
    failed = rows[rows["error"].fillna("") != ""]
    for r in failed.itertuples():
        lines.append(f"- not finished: n = {r.n:,}, p = {r.p}, {r.method}, rep {r.rep}: {r.error}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="*", default=[1_000, 10_000, 100_000])
    parser.add_argument("--p", type=int, nargs="*", default=[30, 100])
    parser.add_argument("--methods", nargs="*", default=list(METHODS), choices=METHODS)
    parser.add_argument("--reps", type=int, default=3, help="replications per cell (n = 100,000: at most 1)")
    parser.add_argument("--timeout", type=float, default=3 * 3600, help="seconds before a cell is recorded as not finished")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--summary", action="store_true", help="only write the table of medians")
    parser.add_argument("--cell", nargs=4, metavar=("N", "P", "METHOD", "REP"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cell:
        n, p, method, rep = args.cell
        print(json.dumps(cell(int(n), int(p), method, int(rep))))
        return
    done = pd.read_csv(args.out) if args.out.is_file() else pd.DataFrame(columns=COLUMNS)
    finished = {(r.n, r.p, r.method, r.rep) for r in done.itertuples() if not isinstance(r.error, str) or not r.error}
    if not args.summary:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        for n in args.n:
            for p in args.p:
                for method in args.methods:
                    for rep in range(1 if n >= 100_000 else args.reps):
                        if (n, p, method, rep) in finished:
                            continue
                        row = _child(n, p, method, rep, args.timeout)
                        print(
                            f"n={n} p={p} {method} rep={rep}: {row['seconds']}s {row['peak_mb']} MB sqrt(PEHE) {row['sqrt_pehe']} {row['error']}",
                            flush=True,
                        )
                        done = pd.concat(
                            [
                                done[~((done.n == n) & (done.p == p) & (done.method == method) & (done.rep == rep))],
                                pd.DataFrame([row]),
                            ]
                        )
                        done[COLUMNS].to_csv(args.out, index=False)
    REPORT.write_text(summarize(done))
    print(REPORT.read_text())


def _child(n: int, p: int, method: str, rep: int, timeout: float) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    command = [sys.executable, __file__, "--cell", str(n), str(p), method, str(rep)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {
            "n": n,
            "p": p,
            "method": method,
            "rep": rep,
            "seconds": timeout,
            "peak_mb": np.nan,
            "sqrt_pehe": np.nan,
            "error": f"not finished in {timeout:.0f} s",
        }
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["failed"])[-1][:200]
        return {
            "n": n,
            "p": p,
            "method": method,
            "rep": rep,
            "seconds": np.nan,
            "peak_mb": np.nan,
            "sqrt_pehe": np.nan,
            "error": reason,
        }
    return json.loads(result.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
