"""Check by simulation: does the trial the demo report recommends have the power it promises?

1. Runs `analyze` on the demo (`params/demo.yaml`: PM-SNP, n = 2,000, seed 2026) and reads the
   recommended design: its subgroup rule, patients per arm, one-sided alpha, promised power (at the
   shrunken planning effect) and assurance (power averaged over the planning effect's uncertainty).
2. Simulates that next trial many times from the true data-generating process: patients arrive
   from the PM-SNP population (new seeds), are screened with the rule (enrichment) or all enrolled
   (all-comers) until each arm is full, and the trial's one-sided Welch t-test is run at the
   design's alpha.
3. Prints the empirical power with its Monte-Carlo SE beside the promised power and assurance,
   the power that the same formula gives at the *true* effect and SD (which the simulation must
   reproduce), and screened patients against the promised expected number and 90% quantile.
   Appends one row per run to `benchmarks/results/design_check.csv`.

    .venv/bin/python benchmarks/design_check.py                 # 20,000 simulated trials
    .venv/bin/python benchmarks/design_check.py --sims 2000     # quicker
    .venv/bin/python benchmarks/design_check.py --discovery 30  # assurance vs true power over 30 new discovery trials
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.power import NormalIndPower

import subgroups
from subgroups.datasets.synthetic import simulate_trial

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "design_check.csv"
CALIBRATION = ROOT / "benchmarks" / "results" / "design_calibration.csv"
CHECKED = ("enrichment", "all_comers")
BLOCK = 100_000  # patients simulated at a time; consecutive patients of the stream are independent


def stream(scenario: str, b1_rel: float, seed: int):
    """Endless iid patients of the scenario: blocks of simulated trials with fresh seeds."""
    block = 0
    while True:
        yield simulate_trial(scenario, n=BLOCK, seed=[seed, block], b1_rel=b1_rel)
        block += 1


def eligible_and_alpha(analysis, design: str, frame: pd.DataFrame) -> tuple[np.ndarray, float]:
    """Who the design enrols among `frame`'s patients, and the one-sided alpha of its test."""
    option = analysis.design.option(design)
    if design == "enrichment":
        rule = next(s for s in analysis.subgroups if s.rule == analysis.results["design"]["subgroup"])
        return rule.contains(frame).to_numpy(), option.alpha_subgroup
    return np.ones(len(frame), dtype=bool), option.alpha_overall


def promised(option, design: str) -> tuple[float, float]:
    """Power at the planning effect and assurance of the design's primary claim, as the report shows them."""
    if design == "enrichment":
        return option.power_subgroup, option.assurance_subgroup
    return option.power_overall, option.assurance_overall


def formula_power(option, effect: float, sd: float, alpha: float) -> float:
    """Power of the design's one-sided two-sample test at a given effect and SD (normal approximation)."""
    n_t, n_c = int(option.n_treatment), int(option.n_control)
    return float(NormalIndPower().power(effect_size=effect / sd, nobs1=n_t, alpha=alpha, ratio=n_c / n_t, alternative="larger"))


def pooled_sd(treated: np.ndarray, control: np.ndarray) -> float:
    return math.sqrt((np.var(treated, ddof=1) + np.var(control, ddof=1)) / 2)


def simulate_next_trials(analysis, design: str, sims: int, seed: int) -> dict[str, float]:
    """Run `sims` new trials of `design` on patients from the true process; power and screening."""
    sim = analysis.params.data.simulation
    option = analysis.design.option(design)
    n_t, n_c = int(option.n_treatment), int(option.n_control)
    rejects, screened = np.zeros(sims, dtype=bool), np.zeros(sims)
    done, effects, ys = 0, [], {0: [], 1: []}
    for trial in stream(sim.scenario, sim.b1_rel, seed):
        frame = trial.data
        eligible, alpha = eligible_and_alpha(analysis, design, frame)
        drug, y = (frame["arm"] == "drug").to_numpy(), frame["response"].to_numpy(dtype=float)
        effects.append(trial.true_effect[eligible])
        for arm in (0, 1):
            ys[arm].append(y[eligible & (drug == bool(arm))])
        # Patients arrive in row order; a trial enrols eligible patients until both arms are full.
        # Patients are iid, so the tail of a block that cannot fill a trial is simply not used.
        treated, control = np.flatnonzero(eligible & drug), np.flatnonzero(eligible & ~drug)
        start = 0  # first row of the next trial
        while done < sims:
            it = np.searchsorted(treated, start)
            ic = np.searchsorted(control, start)
            if it + n_t > treated.size or ic + n_c > control.size:
                break
            rows_t, rows_c = treated[it : it + n_t], control[ic : ic + n_c]
            end = max(rows_t[-1], rows_c[-1]) + 1
            test = stats.ttest_ind(y[rows_t], y[rows_c], equal_var=False, alternative="greater")
            rejects[done], screened[done] = test.pvalue < alpha, end - start
            done, start = done + 1, end
        if done == sims:
            break
    tau = np.concatenate(effects)
    sd = pooled_sd(np.concatenate(ys[1]), np.concatenate(ys[0]))
    power = float(rejects.mean())
    return {
        "empirical_power": power,
        "mc_se": math.sqrt(power * (1 - power) / sims),
        "true_effect": float(tau.mean()),
        "true_sd": sd,
        "power_at_truth": formula_power(option, float(tau.mean()), sd, alpha),
        "screened_mean": float(screened.mean()),
        "screened_q90": float(np.quantile(screened, 0.9)),
    }


def true_power(analysis, design: str, population) -> float:
    """Power of the recommended fixed design at the true effect and SD of its target population."""
    frame = population.data
    eligible, alpha = eligible_and_alpha(analysis, design, frame)
    drug, y = (frame["arm"] == "drug").to_numpy(), frame["response"].to_numpy(dtype=float)
    sd = pooled_sd(y[eligible & drug], y[eligible & ~drug])
    return formula_power(analysis.design.option(design), float(population.true_effect[eligible].mean()), sd, alpha)


def calibration(params: Path, reps: int, seed: int) -> pd.DataFrame:
    """Assurance against reality over many discovery trials of the demo's process.

    Each replication simulates a new discovery trial (demo settings, seed `seed + r`), runs the
    analysis and takes its recommended design; the design's true power comes from the formula at
    the true effect and SD (which the single-trial simulation above reproduces). Averaged over
    discovery trials, the true power should match the promised assurance.
    """
    sim = subgroups.load_params(params).data.simulation
    population = simulate_trial(sim.scenario, n=400_000, seed=[seed, 99], b1_rel=sim.b1_rel)
    rows = []
    for r in range(reps):
        analysis = subgroups.analyze(None, params, {"data.simulation.seed": seed + r})
        menu = analysis.design
        design = menu.recommended if menu is not None else None
        if design not in CHECKED:
            rows.append({"rep": r, "design": design})
            continue
        option = menu.option(design)
        rows.append(
            {
                "rep": r,
                "design": design,
                "subgroup": analysis.results["design"]["subgroup"] if design == "enrichment" else "all patients",
                "n_randomized": int(option.n_randomized),
                **dict(zip(("promised_power", "assurance"), promised(option, design))),
                "true_power": true_power(analysis, design, population),
            }
        )
        print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", type=Path, default=ROOT / "params" / "demo.yaml")
    parser.add_argument("--sims", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2027, help="seed of the simulated next trials (the demo data keep theirs)")
    parser.add_argument("--discovery", type=int, default=0, help="also check assurance over this many new discovery trials")
    args = parser.parse_args()
    if args.discovery:
        frame = calibration(args.params, args.discovery, args.seed)
        frame.to_csv(CALIBRATION, index=False)
        done = frame.dropna(subset=["true_power"])
        n = len(done)
        print(
            f"{len(frame)} discovery trials; recommended: {frame['design'].value_counts(dropna=False).to_dict()}\n"
            f"  mean promised power {done['promised_power'].mean():.3f}, mean assurance {done['assurance'].mean():.3f}, "
            f"mean true power {done['true_power'].mean():.3f} (SE {done['true_power'].std(ddof=1) / math.sqrt(n):.3f}, n = {n})"
        )
        return

    analysis = subgroups.analyze(None, args.params)
    menu = analysis.design
    if menu is None:
        raise SystemExit(f"no design planned: {analysis.results['design']['note']}")
    design = menu.recommended
    if design not in CHECKED:
        raise SystemExit(f"recommended design {design!r}: this check simulates {', '.join(CHECKED)} only")
    option = menu.option(design)
    promised_power, assurance = promised(option, design)
    start = time.perf_counter()
    result = simulate_next_trials(analysis, design, args.sims, args.seed)
    row = {
        "params": args.params.name,
        "design": design,
        "subgroup": analysis.results["design"]["subgroup"],
        "n_per_arm": int(option.n_treatment),
        "planning_effect": menu.planning_effect_subgroup if design == "enrichment" else menu.planning_effect_overall,
        "promised_power": promised_power,
        "assurance": assurance,
        **result,
        "screened_promised": option.n_screened_expected,
        "screened_q90_promised": option.n_screened_quantile,
        "sims": args.sims,
        "seed": args.seed,
        "seconds": round(time.perf_counter() - start, 1),
    }
    frame = pd.DataFrame([row])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(RESULTS, mode="a", header=not RESULTS.exists(), index=False)
    gap_power = (row["empirical_power"] - promised_power) / row["mc_se"]
    gap_truth = (row["empirical_power"] - row["power_at_truth"]) / row["mc_se"]
    print(
        f"{design} in '{row['subgroup']}', {row['n_per_arm']} per arm, one-sided alpha "
        f"{option.alpha_subgroup if design == 'enrichment' else option.alpha_overall:g}\n"
        f"  empirical power      {row['empirical_power']:.4f} (MC SE {row['mc_se']:.4f}, {args.sims:,} simulated trials)\n"
        f"  promised power       {promised_power:.4f} at planning effect {row['planning_effect']:+.3f}  ({gap_power:+.1f} MC SE)\n"
        f"  promised assurance   {assurance:.4f}\n"
        f"  power at the truth   {row['power_at_truth']:.4f} (true effect {row['true_effect']:+.3f}, SD {row['true_sd']:.3f}; "
        f"{gap_truth:+.1f} MC SE)\n"
        f"  screened per trial   mean {row['screened_mean']:.1f} (promised {row['screened_promised']:.1f}), "
        f"90% quantile {row['screened_q90']:.0f} (promised {row['screened_q90_promised']})"
    )


if __name__ == "__main__":
    main()
