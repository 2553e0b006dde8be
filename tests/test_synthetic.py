"""Tests for subgroups.datasets.synthetic against the realized values of docs/simulation.md.

Large-sample checks use one draw per fixture (module scope) and tolerances of
``K_SE`` Monte-Carlo standard errors plus half a unit of the last digit docs/simulation.md reports.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from subgroups.datasets import synthetic as syn
from subgroups.datasets.synthetic import (
    FEATURE_FAMILIES,
    SCENARIO_OUTCOME,
    SCENARIOS,
    SimulatedTrial,
    prognostic_score,
    simulate_covariates,
    simulate_trial,
)
from subgroups.errors import ParameterError

N_BIG = 100_000
N_TRIAL = 60_000
K_SE = 4.0


def assert_mc(value: float, target: float, se: float, rounding: float = 0.0) -> None:
    """Assert |value - target| <= K_SE * se + rounding (rounding = half a unit of the digits docs/simulation.md reports)."""
    tol = K_SE * se + rounding
    assert abs(value - target) <= tol, f"{value:.4f} vs {target} (tol {tol:.4f})"


def prop_se(p: float, n: int) -> float:
    return float(np.sqrt(p * (1 - p) / n))


def km_at(time: np.ndarray, event: np.ndarray, t: float) -> float:
    """Kaplan-Meier survival estimate at time t (vectorised)."""
    order = np.argsort(time, kind="stable")
    time, event = time[order], event[order]
    at_risk = len(time) - np.arange(len(time))
    keep = (time <= t) & (event == 1)
    return float(np.prod(1.0 - 1.0 / at_risk[keep]))


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_x() -> pd.DataFrame:
    return simulate_covariates(N_BIG, np.random.default_rng(20240601))


@pytest.fixture(scope="module")
def big_s(big_x: pd.DataFrame) -> np.ndarray:
    return prognostic_score(big_x)


@pytest.fixture(scope="module")
def nullb() -> SimulatedTrial:
    return simulate_trial("PM-NULL-b", n=N_TRIAL, seed=11)


@pytest.fixture(scope="module")
def lifesev() -> SimulatedTrial:
    return simulate_trial("PM-LIFESEV", n=N_TRIAL, seed=12, b1_rel=2)


@pytest.fixture(scope="module")
def tte() -> SimulatedTrial:
    return simulate_trial("PM-TTE", n=N_TRIAL, seed=13, level="L2")


@pytest.fixture(scope="module")
def snp() -> SimulatedTrial:
    return simulate_trial("PM-SNP", n=N_TRIAL, seed=14, b1_rel=2)


# ---------------------------------------------------------------------------------------------
# Interface
# ---------------------------------------------------------------------------------------------


def test_constants() -> None:
    assert SCENARIOS == ("PM-NULL-a", "PM-NULL-b", "PM-SNP", "PM-LIFESEV", "PM-TTE", "PM-OBS-NULL")
    assert set(SCENARIO_OUTCOME) == set(SCENARIOS)
    assert FEATURE_FAMILIES["genetic"] == [f"snp_{j:02d}" for j in range(1, 21)]
    assert FEATURE_FAMILIES["lifestyle"] == ["smoking", "bmi", "activity", "alcohol"]
    assert FEATURE_FAMILIES["disease"] == [
        "severity",
        "duration",
        "crp",
        "comorbidities",
    ]
    assert FEATURE_FAMILIES["other"] == ["age", "female"]
    fam = [v for vs in FEATURE_FAMILIES.values() for v in vs]
    assert sorted(fam) == sorted(syn.FEATURES) and len(fam) == 30
    # docs/simulation.md §2: R is positive definite.
    assert np.linalg.eigvalsh(syn.LATENT_CORR).min() > 0


@pytest.mark.parametrize(
    ("scenario", "n_default", "outcome_cols"),
    [
        ("PM-NULL-a", 500, ["response"]),
        ("PM-NULL-b", 500, ["response"]),
        ("PM-SNP", 500, ["response"]),
        ("PM-LIFESEV", 800, ["response"]),
        ("PM-TTE", 800, ["time", "event"]),
    ],
)
def test_trial_layout(scenario: str, n_default: int, outcome_cols: list[str]) -> None:
    tr = simulate_trial(scenario, seed=3)
    d = tr.data
    assert len(d) == n_default
    assert list(d.columns) == ["patient_id", "arm", *outcome_cols, *syn.FEATURES]
    assert d["patient_id"].iloc[0] == "P00001" and d["patient_id"].is_unique
    assert set(d["arm"]) == {"drug", "placebo"}
    assert (d["arm"] == "drug").sum() == n_default // 2  # exact 1:1
    assert set(d["smoking"]) <= {"never", "former", "current"}
    for col in ["female", "comorbidities", *FEATURE_FAMILIES["genetic"]]:
        assert pd.api.types.is_integer_dtype(d[col]), col
    for col in ["age", "bmi", "activity", "alcohol", "severity", "duration", "crp"]:
        assert pd.api.types.is_float_dtype(d[col]), col
    assert d[FEATURE_FAMILIES["genetic"]].isin([0, 1, 2]).all().all()
    outcome = SCENARIO_OUTCOME[scenario]
    if outcome == "continuous":
        assert pd.api.types.is_float_dtype(d["response"])
    elif outcome == "binary":
        assert pd.api.types.is_integer_dtype(d["response"]) and set(d["response"]) <= {
            0,
            1,
        }
    else:
        assert (d["time"] > 0).all() and set(d["event"]) <= {0, 1}
        assert pd.api.types.is_integer_dtype(d["event"])
        assert d["time"].max() <= 36.0
    assert tr.true_effect.shape == (n_default,)
    assert tr.scenario == scenario
    assert (
        tr.truth_scale
        == {
            "continuous": "difference in means",
            "binary": "risk difference",
            "time_to_event": "survival difference at 24 months",
        }[outcome]
    )
    if scenario.startswith("PM-NULL"):
        assert tr.true_subgroup is None and tr.predictive == () and tr.cell == {}
    else:
        assert tr.true_subgroup.dtype == bool and tr.true_subgroup.shape == (n_default,)
        assert set(tr.predictive) <= set(syn.FEATURES) and set(tr.decoys) <= set(syn.FEATURES)
    assert np.allclose(tr.extra_truth["prognostic_score"], prognostic_score(d))


def test_odd_n_is_balanced() -> None:
    d = simulate_trial("PM-NULL-a", n=101, seed=1).data
    assert abs((d["arm"] == "drug").sum() - (d["arm"] == "placebo").sum()) == 1


def test_determinism_and_seed_sequence() -> None:
    a = simulate_trial("PM-TTE", n=200, seed=7)
    b = simulate_trial("PM-TTE", n=200, seed=7)
    c = simulate_trial("PM-TTE", n=200, seed=8)
    pd.testing.assert_frame_equal(a.data, b.data)
    np.testing.assert_array_equal(a.true_effect, b.true_effect)
    assert not a.data[["time", "age"]].equals(c.data[["time", "age"]])
    s1 = simulate_trial("PM-SNP", n=200, seed=np.random.SeedSequence([3, 2, 1]))
    s2 = simulate_trial("PM-SNP", n=200, seed=np.random.SeedSequence([3, 2, 1]))
    s3 = simulate_trial("PM-SNP", n=200, seed=np.random.SeedSequence([3, 2, 2]))
    pd.testing.assert_frame_equal(s1.data, s2.data)
    assert not s1.data["response"].equals(s3.data["response"])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scenario": "PM-FOO"},
        {"scenario": "PM-SNP", "b1_rel": 3},
        {"scenario": "PM-LIFESEV", "b1_rel": 0.5},
        {"scenario": "PM-TTE", "level": "L3"},
        {"scenario": "PM-SNP", "n": 1},
    ],
)
def test_bad_parameters_raise(kwargs: dict) -> None:
    with pytest.raises(ParameterError):
        simulate_trial(**kwargs)


def test_cells() -> None:
    assert simulate_trial("PM-SNP", n=10, b1_rel=1).cell == {"b1_rel": 1.0}
    assert simulate_trial("PM-LIFESEV", n=10, b1_rel=0).cell == {"b1_rel": 0.0}
    assert simulate_trial("PM-TTE", n=10, level="L0").cell == {"level": "L0"}


# ---------------------------------------------------------------------------------------------
# PM-30 covariates (docs/simulation.md §2)
# ---------------------------------------------------------------------------------------------


def test_clinical_marginals(big_x: pd.DataFrame) -> None:
    x, n = big_x, N_BIG
    assert_mc(x["age"].mean(), 59.9, 9.9 / np.sqrt(n), 0.05)
    assert_mc(x["age"].std(), 9.9, 9.9 / np.sqrt(2 * n), 0.05)
    assert_mc(x["female"].mean(), 0.50, prop_se(0.5, n), 0.005)
    assert_mc(x["bmi"].mean(), 27.3, x["bmi"].std() / np.sqrt(n), 0.05)
    freq = x["smoking"].value_counts(normalize=True)
    for level, p in [("never", 0.55), ("former", 0.25), ("current", 0.20)]:
        assert_mc(freq[level], p, prop_se(p, n), 0.005)
    assert_mc(x["activity"].mean(), 16.0, 11.3 / np.sqrt(n), 0.05)
    assert_mc(x["activity"].std(), 11.3, 11.3 / np.sqrt(n), 0.05)  # skewed: wider SE
    assert_mc(x["alcohol"].mean(), 5.8, x["alcohol"].std() / np.sqrt(n), 0.05)
    assert_mc(x["severity"].mean(), 39.9, 20.0 / np.sqrt(n), 0.05)
    assert_mc(x["severity"].std(), 20.0, 20.0 / np.sqrt(2 * n), 0.05)
    assert_mc((x["severity"] >= 40).mean(), 0.47, prop_se(0.47, n), 0.005)
    assert_mc((x["severity"] >= 50).mean(), 0.31, prop_se(0.31, n), 0.005)
    assert_mc(x["duration"].mean(), 6.0, x["duration"].std() / np.sqrt(n), 0.05)
    assert_mc(x["comorbidities"].mean(), 1.2, np.sqrt(1.2 / n), 0.05)
    # Median SE ~ 1.2533 sd / sqrt(n) on the log scale, mapped back: 2 * 0.9 * 1.2533 / sqrt(n).
    assert_mc(x["crp"].median(), 2.0, 2.0 * 0.9 * 1.2533 / np.sqrt(n), 0.05)
    assert x["age"].between(18, 85).all() and (x["alcohol"] >= 0).all()
    assert_mc((x["alcohol"] == 0).mean(), 0.30, prop_se(0.3, n))


def test_latent_correlations_signs(big_x: pd.DataFrame) -> None:
    """Observed rank correlations carry the sign of the listed latent correlations."""
    x = big_x.assign(smoking=big_x["smoking"].map({"never": 0, "former": 1, "current": 2}))
    rho = x[syn.CLINICAL].corr(method="spearman")
    assert rho.loc["age", "duration"] > 0.3
    assert rho.loc["severity", "crp"] > 0.3
    assert rho.loc["bmi", "activity"] < -0.2
    assert rho.loc["smoking", "alcohol"] > 0.15
    # Latent female-alcohol correlation is -.15 but female = 1{U < .5} flips the sign, so the
    # observed association is positive (women drink more); docs/simulation.md §2 as written.
    assert rho.loc["female", "alcohol"] > 0.05
    assert abs(rho.loc["age", "bmi"]) < 0.02  # a zero pair


def test_snps(big_x: pd.DataFrame) -> None:
    x, n = big_x, N_BIG
    carrier = (x["snp_01"] >= 1).mean()
    # docs/simulation.md reports 0.513; the formula gives 1 - 0.7^2 = 0.51 exactly (both inside the band).
    assert_mc(carrier, 0.51, prop_se(0.51, n), 0.0)
    assert_mc(carrier, 0.513, prop_se(0.51, n), 0.0005)
    r = np.corrcoef(x["snp_01"], x["snp_02"])[0, 1]
    assert_mc(r, 0.79, (1 - 0.79**2) / np.sqrt(n), 0.005)
    assert_mc(
        np.corrcoef(x["snp_01"], x["snp_03"])[0, 1],
        0.59,
        (1 - 0.59**2) / np.sqrt(n),
        0.005,
    )
    agree = ((x["snp_01"] >= 1) == (x["snp_02"] >= 1)).mean()
    assert_mc(agree, 0.88, prop_se(0.88, n), 0.005)
    # Allele frequencies equal the MAFs and genotypes are in Hardy-Weinberg equilibrium.
    g = x[FEATURE_FAMILIES["genetic"]].to_numpy()
    maf = g.mean(axis=0) / 2
    assert np.all(np.abs(maf - syn.SNP_MAF) <= K_SE * np.sqrt(syn.SNP_MAF * (1 - syn.SNP_MAF) / (2 * n)))
    hom = (g == 2).mean(axis=0)
    assert np.all(np.abs(hom - syn.SNP_MAF**2) <= K_SE * np.sqrt(syn.SNP_MAF**2 / n) + 1e-4)
    # Different blocks are independent.
    assert abs(np.corrcoef(x["snp_05"], x["snp_06"])[0, 1]) < K_SE / np.sqrt(n)


def test_prognostic_score(big_x: pd.DataFrame, big_s: np.ndarray) -> None:
    v = big_s.var()
    assert_mc(v, 0.872, v * np.sqrt(2 / N_BIG), 0.0005)
    # Continuous scaling gives control R^2 = 0.32 (docs/simulation.md §2).
    r2 = 0.735**2 * v / (0.735**2 * v + 1)
    assert abs(r2 - 0.32) < 0.01
    # Hand-computed value for one reference patient.
    ref = pd.DataFrame(
        {
            "severity": [60.0], "age": [70.0], "smoking": ["current"], "bmi": [35.0],
            "activity": [27.0], "snp_06": [1], "comorbidities": [2], "female": [1],
        }
    )  # fmt: skip
    expected = -0.6 - 0.3 - 0.4 - 0.3 + 0.25 + 0.3 - 0.2 * 0.8 + 0.2
    assert prognostic_score(ref)[0] == pytest.approx(expected)
    assert prognostic_score(ref.assign(smoking=[2]))[0] == pytest.approx(expected)


# ---------------------------------------------------------------------------------------------
# Scenarios (docs/simulation.md §4)
# ---------------------------------------------------------------------------------------------


def test_null_a() -> None:
    tr = simulate_trial("PM-NULL-a", seed=5)
    np.testing.assert_allclose(tr.true_effect, 0.304)
    assert tr.extra_truth.keys() == {"prognostic_score"}


def test_null_b(nullb: SimulatedTrial) -> None:
    tr, n = nullb, N_TRIAL
    np.testing.assert_allclose(tr.true_effect, 0.124)
    s = tr.extra_truth["prognostic_score"]
    p0 = 0.15 + 0.6 * special.expit(1.2 * s)
    assert_mc(p0.mean(), 0.469, p0.std() / np.sqrt(n), 0.0005)
    ctrl = tr.data["arm"] == "placebo"
    assert_mc(tr.data.loc[ctrl, "response"].mean(), 0.469, prop_se(0.469, n // 2), 0.0005)
    assert_mc(tr.data.loc[~ctrl, "response"].mean(), 0.593, prop_se(0.593, n // 2), 0.0005)
    link = tr.extra_truth["link_effect"]
    np.testing.assert_allclose(link, special.logit(p0 + 0.124) - special.logit(p0))
    assert link.std() > 0.01  # the logit-scale effect varies
    p1 = p0 + 0.124
    assert p1.min() >= 0.28 - 0.005 and p1.max() <= 0.87 + 0.005


def test_snp_truth(snp: SimulatedTrial) -> None:
    tr = snp
    carrier = tr.data["snp_01"].to_numpy() >= 1
    np.testing.assert_array_equal(tr.true_subgroup, carrier)
    np.testing.assert_allclose(tr.true_effect[carrier], 0.477)
    np.testing.assert_allclose(tr.true_effect[~carrier], -0.060)
    assert tr.predictive == ("snp_01",) and tr.decoys == ("snp_02", "snp_03")
    assert "snp_01" not in tr.prognostic and "severity" in tr.prognostic
    # ATE .215 (docs/simulation.md §4) = -0.060 + 0.537 * P(carrier).
    assert_mc(tr.true_effect.mean(), 0.215, 0.537 * prop_se(0.51, N_TRIAL), 0.0005)
    # The simulated outcomes carry the effect: arm difference in carriers and non-carriers.
    d = tr.data
    drug = (d["arm"] == "drug").to_numpy()
    y = d["response"].to_numpy()
    sd = np.sqrt(1 + 0.735**2 * 0.872)
    for mask, target in [(carrier, 0.477), (~carrier, -0.060)]:
        diff = y[mask & drug].mean() - y[mask & ~drug].mean()
        assert_mc(diff, target, sd * np.sqrt(4 / mask.sum()))


@pytest.mark.parametrize(("rel", "ate"), [(0, 0.213), (1, 0.213)])
def test_snp_other_cells(rel: int, ate: float) -> None:
    tr = simulate_trial("PM-SNP", n=20_000, seed=rel, b1_rel=rel)
    carrier = tr.true_subgroup
    b0, b1 = {0: (0.213, 0.0), 1: (0.076, 0.268)}[rel]
    np.testing.assert_allclose(tr.true_effect, b0 + b1 * carrier)
    assert_mc(tr.true_effect.mean(), ate, 0.268 * prop_se(0.51, 20_000), 0.0005)


def test_lifesev(lifesev: SimulatedTrial) -> None:
    tr, n = lifesev, N_TRIAL
    d = tr.data
    G = tr.true_subgroup
    np.testing.assert_array_equal(G, (d["smoking"] != "current").to_numpy() & (d["severity"] > 50).to_numpy())
    # docs/simulation.md §4: P(g > .5) = P(G*) = .249 (the formula gives .8 * P(Beta(2,3) > .5) = .25).
    assert_mc(G.mean(), 0.249, prop_se(0.25, n), 0.0005)
    tau = tr.true_effect
    assert_mc(tau[G].mean(), 0.221, tau[G].std() / np.sqrt(G.sum()), 0.0005)
    assert_mc(tau[~G].mean(), 0.016, tau[~G].std() / np.sqrt((~G).sum()), 0.0005)
    assert_mc(tau.mean(), 0.067, tau.std() / np.sqrt(n), 0.0005)
    s = tr.extra_truth["prognostic_score"]
    p0 = special.expit(-0.935 + 1.2 * s)
    assert_mc(p0.mean(), 0.35, p0.std() / np.sqrt(n), 0.005)
    ctrl = (d["arm"] == "placebo").to_numpy()
    assert_mc(d.loc[ctrl, "response"].mean(), 0.35, prop_se(0.35, n // 2), 0.005)
    assert_mc(d.loc[~ctrl, "response"].mean(), 0.417, prop_se(0.417, n // 2), 0.0005)
    g = (d["smoking"] != "current").to_numpy() * stats.norm.cdf((d["severity"].to_numpy() - 50) / 5)
    np.testing.assert_allclose(tr.extra_truth["link_effect"], 0.032 + 1.347 * g)
    assert tr.predictive == ("smoking", "severity")
    assert set(tr.decoys) == {"crp", "alcohol", "activity"}


@pytest.mark.parametrize(("rel", "g_rd", "notg_rd"), [(1, 0.132, 0.046), (0, None, None)])
def test_lifesev_other_cells(rel: int, g_rd: float | None, notg_rd: float | None) -> None:
    tr = simulate_trial("PM-LIFESEV", n=20_000, seed=2, b1_rel=rel)
    tau, G = tr.true_effect, tr.true_subgroup
    if rel == 0:  # logit null: constant link effect, RD mean .067, sd .021
        np.testing.assert_allclose(tr.extra_truth["link_effect"], 0.355)
        assert_mc(tau.mean(), 0.067, tau.std() / np.sqrt(len(tau)), 0.0005)
        assert_mc(tau.std(), 0.021, tau.std() / np.sqrt(2 * len(tau)), 0.0005)
    else:
        assert_mc(tau[G].mean(), g_rd, tau[G].std() / np.sqrt(G.sum()), 0.0005)
        assert_mc(tau[~G].mean(), notg_rd, tau[~G].std() / np.sqrt((~G).sum()), 0.0005)


def test_tte_truth(tte: SimulatedTrial) -> None:
    tr, n = tte, N_TRIAL
    d = tr.data
    S = tr.true_subgroup
    np.testing.assert_array_equal(S, (d["snp_01"] >= 1).to_numpy() & (d["severity"] >= 40).to_numpy())
    assert_mc(S.mean(), 0.242, prop_se(0.242, n), 0.0005)
    tau = tr.true_effect
    assert_mc(tau[S].mean(), 0.201, tau[S].std() / np.sqrt(S.sum()), 0.0005)
    assert_mc(tau[~S].mean(), -0.025, tau[~S].std() / np.sqrt((~S).sum()), 0.0005)
    assert_mc(tau.mean(), 0.030, tau.std() / np.sqrt(n), 0.0005)
    np.testing.assert_allclose(tr.extra_truth["log_hr"], np.where(S, np.log(0.5), np.log(1.1)))
    rmst = tr.extra_truth["rmst_diff"]
    # docs/simulation.md §4: 3.98 / -0.50; see test_tte_levels for the exact values of the formula.
    assert_mc(rmst[S].mean(), 3.98, rmst[S].std() / np.sqrt(S.sum()), 0.005)
    assert_mc(rmst[~S].mean(), -0.50, rmst[~S].std() / np.sqrt((~S).sum()), 0.005)
    # Control 24-month event probability 0.40 (sets the Weibull scale).
    s = tr.extra_truth["prognostic_score"]
    ev24 = 1 - np.exp(-((24 / 40.25) ** 1.3) * np.exp(-0.7 * s))
    assert_mc(ev24.mean(), 0.40, ev24.std() / np.sqrt(n), 0.005)


def test_tte_observed(tte: SimulatedTrial) -> None:
    """Event rate ~40%, and Kaplan-Meier recovers the control risk and ΔS(24) in / out of S."""
    tr, n = tte, N_TRIAL
    d = tr.data
    assert_mc(d["event"].mean(), 0.40, prop_se(0.4, n), 0.005)
    time, event = d["time"].to_numpy(), d["event"].to_numpy()
    drug = (d["arm"] == "drug").to_numpy()
    S = tr.true_subgroup

    def km_se(
        m: np.ndarray,
    ) -> float:  # generous KM SE (binomial at p = .5, +20% for censoring)
        return float(np.sqrt(0.25 / m.sum()) * 1.2)

    assert_mc(1 - km_at(time[~drug], event[~drug], 24.0), 0.40, km_se(~drug), 0.005)
    for mask, target in [(S, 0.201), (~S, -0.025)]:
        a, b = mask & drug, mask & ~drug
        diff = km_at(time[a], event[a], 24.0) - km_at(time[b], event[b], 24.0)
        assert_mc(diff, target, np.hypot(km_se(a), km_se(b)), 0.0005)
    assert time.max() <= 36.0 and (time[event == 0] > 0).all()


def test_tte_levels(big_x: pd.DataFrame, big_s: np.ndarray) -> None:
    """ΔS(24) and RMST per level (docs/simulation.md §4 table), evaluated on the big covariate draw."""
    S = (big_x["snp_01"] >= 1).to_numpy() & (big_x["severity"] >= 40).to_numpy()
    table = {
        "L0": (0.070, 0.055, 0.058, 1.43, 1.06),
        "L1": (0.110, -0.013, 0.017, 2.22, -0.25),
        "L2": (0.201, -0.025, 0.030, 3.98, -0.50),
    }
    for level, (ds_in, ds_out, ds_all, r_in, r_out) in table.items():
        hr_pos, hr_neg = syn.TTE_LEVELS[level]
        truth = syn.tte_truth(big_s, np.where(S, np.log(hr_pos), np.log(hr_neg)))
        ds, rm = truth["surv_diff_24"], truth["rmst_diff"]
        assert_mc(ds[S].mean(), ds_in, ds[S].std() / np.sqrt(S.sum()), 0.0005)
        assert_mc(ds[~S].mean(), ds_out, ds[~S].std() / np.sqrt((~S).sum()), 0.0005)
        assert_mc(ds.mean(), ds_all, ds.std() / np.sqrt(N_BIG), 0.0005)
        # RMST: the closed form gives 4.00 / -0.494 at L2 (docs/simulation.md §4: 3.98 / -0.50); allow 0.02 extra.
        assert_mc(rm[S].mean(), r_in, rm[S].std() / np.sqrt(S.sum()), 0.02)
        assert_mc(rm[~S].mean(), r_out, rm[~S].std() / np.sqrt((~S).sum()), 0.01)


def test_rmst_matches_numerical_integration() -> None:
    lp = np.array([-1.5, -0.3, 0.0, 0.7, 2.0])
    t = np.linspace(0.0, 30.0, 30_001)
    surv = np.exp(-((t[None, :] / 40.25) ** 1.3) * np.exp(lp)[:, None])
    numeric = np.trapezoid(surv, t, axis=1)
    np.testing.assert_allclose(syn._weibull_rmst(lp, 30.0), numeric, rtol=1e-7)


def test_confounded_null_assigns_treatment_by_the_covariates_with_a_constant_effect():
    """PM-OBS-NULL: c-statistic of the true propensity about 0.8 (c = 1), some propensities below 0.05,
    and the naive difference in means far from the constant true effect 0.304."""
    from sklearn.metrics import roc_auc_score

    trial = simulate_trial("PM-OBS-NULL", n=20_000, seed=3)
    w = (trial.data["arm"] == "drug").to_numpy()
    e = trial.extra_truth["propensity"]
    assert 0.78 < roc_auc_score(w, e) < 0.86 and 0.03 < (e < 0.05).mean() < 0.10
    assert np.all(trial.true_effect == pytest.approx(0.304))
    y = trial.data["response"].to_numpy()
    assert y[w].mean() - y[~w].mean() < 0.304 - 0.3  # severity raises treatment and worsens the outcome
    strong = simulate_trial("PM-OBS-NULL", n=20_000, seed=3, confounding=2.0)
    assert roc_auc_score((strong.data["arm"] == "drug").to_numpy(), strong.extra_truth["propensity"]) > 0.9
