"""M3 under other calibration-slope rules, offline, on the committed fits of `ours`.

`Analysis.effect` reports ATE + s·(τ̂ − mean τ̂), with s a rule applied to the held-out BLP slope β̂ and its SE.
Each `ours` row of the full tier keeps what MSE_T(s) needs for *any* s (`simulation_metrics.calibration_statistics`:
cal_slope, cal_se, cal_centre, cal_ate, raw_mean_T, raw_var_T, raw_cov_T), so the rules compare on the same fits:

    MSE_T(s) = (ate + s·(raw_mean − centre) − mean τ)² + s²·raw_var − 2s·raw_cov + var τ   (over the test set T)

and rMSE = mean over replications of MSE_T(s) / MSE_T(B0), as `summarize.py` forms it. Rules:

- ``posterior π₀, U(0, u)``: the posterior mean of β, clipped to [0, 1], under a prior with mass π₀ at 0 and the
  rest uniform on [0, u] (`calibration.posterior_slope`; the suite uses π₀ = 0.5, u = 2);
- ``eb c``: β̂·max(0, 1 − c·SE²/β̂²) within [0, 1]; c = 1 is the empirical-Bayes positive-part rule (Efron & Morris
  1973) that the suite used until 2026-12-07;
- ``lower k``: max(0, β̂ − k·SE) within [0, 1], a lower confidence bound (k = 1, 1.2816, 1.645, 1.96);
- ``pretest``: the suite's posterior rule where the heterogeneity test rejected (`ours`'s M1; M1_abs for PM-TTE), else 0
  (``pretest, else lower 1.645``: else the lower bound);
- ``ate only``: s = 0; ``hindsight``: the best s for each fit, known only with the truth (a bound, not a rule).

Usage (prints one line per cell that has the statistics; ± is the Monte-Carlo SE)::

    .venv/bin/python benchmarks/slope_rules.py
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
RESULTS = HERE / "results" / "simulation"
NEEDED = ["cal_slope", "cal_se", "cal_centre", "cal_ate", "raw_mean_T", "raw_var_T", "raw_cov_T"]


def eb(slope: np.ndarray, se: np.ndarray, c: float = 1.0) -> np.ndarray:
    """β̂·max(0, 1 − c·SE²/β̂²) within [0, 1]; 0 where β̂ ≤ 0 or is not finite."""
    ok = np.isfinite(slope) & np.isfinite(se) & (slope > 0)
    safe = np.where(ok, slope, 1.0)
    return np.where(ok, np.clip(safe * np.maximum(0.0, 1.0 - c * (se / safe) ** 2), 0.0, 1.0), 0.0)


def lower(slope: np.ndarray, se: np.ndarray, k: float) -> np.ndarray:
    ok = np.isfinite(slope) & np.isfinite(se)
    return np.where(ok, np.clip(slope - k * se, 0.0, 1.0), 0.0)


def rules(fits: pd.DataFrame) -> dict[str, np.ndarray]:
    b, se = fits["cal_slope"].to_numpy(float), fits["cal_se"].to_numpy(float)
    from subgroups.calibration import posterior_slope

    out = {f"posterior {p:g}, U(0, {t:g})": posterior_slope(b, se, p, t) for p, t in ((0.5, 2.0), (0.5, 1.0), (0.7, 2.0))}
    out |= {f"eb c={c:g}": eb(b, se, c) for c in (1, 2, 4)}
    out |= {f"lower {k:g}": lower(b, se, k) for k in (1, 1.2816, 1.645, 1.96)}
    decision = next((c for c in ("M1", "M1_abs") if c in fits.columns), None)  # the decision (TTE: on ΔS(t*))
    if decision is not None:  # pretest: the posterior rule only where heterogeneity was detected, else 0 (or lower)
        detected = fits[decision].to_numpy(float) > 0.5
        out["pretest"] = np.where(detected, out["posterior 0.5, U(0, 2)"], 0.0)
        out["pretest, else lower 1.645"] = np.where(detected, out["posterior 0.5, U(0, 2)"], out["lower 1.645"])
    out["ate only"] = np.zeros_like(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["hindsight"] = np.clip(np.nan_to_num((fits["raw_cov_T"] / fits["raw_var_T"]).to_numpy(float)), 0.0, 1.0)
    return out


def mse_t(fits: pd.DataFrame, s: np.ndarray, tau_mean: float, tau_var: float) -> np.ndarray:
    level = fits["cal_ate"] + s * (fits["raw_mean_T"] - fits["cal_centre"]) - tau_mean
    return (level**2 + s**2 * fits["raw_var_T"] - 2 * s * fits["raw_cov_T"] + tau_var).to_numpy(float)


def cell_table(scenario: str, cell: str, rows: pd.DataFrame) -> dict[str, tuple[float, float, int]] | None:
    from simulate import cell_by_label, test_set

    wide = rows.pivot_table(index="rep", columns=["method", "metric"], values="value", aggfunc="last")
    if "ours" not in wide.columns.get_level_values(0) or "B0" not in wide.columns.get_level_values(0):
        return None
    fits, b0 = wide["ours"], wide["B0"]["MSE_T"]
    if not set(NEEDED) <= set(fits.columns):
        return None
    keep = fits[NEEDED].notna().all(axis=1) & b0.notna()
    fits, b0 = fits[keep], b0[keep].to_numpy(float)
    tau = test_set(scenario, cell_by_label(scenario, cell)).true_effect
    out = {}
    for name, s in rules(fits).items():
        ratio = mse_t(fits, s, float(np.mean(tau)), float(np.var(tau))) / b0
        out[name] = (float(ratio.mean()), float(ratio.std(ddof=1) / np.sqrt(ratio.size)), int(ratio.size))
    return out


def main() -> int:
    warnings.simplefilter("ignore")
    from summarize import constant_effect

    for path in sorted(RESULTS.glob("*.csv")):
        data = pd.read_csv(path, dtype={"cell": str})
        for cell, rows in data.groupby("cell"):
            if constant_effect(path.stem, cell):  # rMSE is not defined where every patient has the same effect
                continue
            table = cell_table(path.stem, cell, rows)
            if table:
                reps = next(iter(table.values()))[2]
                shown = "; ".join(f"{name} {mean:.3f} ± {se:.3f}" for name, (mean, se, _) in table.items())
                print(f"{path.stem} {cell} (R = {reps}): {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
