"""Pseudo-observations of time-to-event outcomes: exact against the brute-force jackknife, unbiased
against simulated truth, fast at n = 100,000, and strict about their input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from lifelines import KaplanMeierFitter
from lifelines.utils import restricted_mean_survival_time

from subgroups.datasets.synthetic import simulate_trial
from subgroups.errors import DataError, ParameterError
from subgroups.outcomes import (
    choose_horizon,
    cox_hazard_ratio,
    default_horizon,
    hazard_ratio,
    ipw_weights,
    km_rmst,
    km_survival,
    required_at_risk,
    rmst_pseudo_values,
    survival_pseudo_values,
)

EXACT = 1e-9  # pseudo-values are n * theta - (n - 1) * theta_(-i): rounding only


# ---------------------------------------------------------------------------------------------
# Brute-force references
# ---------------------------------------------------------------------------------------------


def lifelines_rmst(time: np.ndarray, event: np.ndarray, horizon: float) -> float:
    return float(restricted_mean_survival_time(KaplanMeierFitter().fit(time, event), t=horizon))


def lifelines_survival(time: np.ndarray, event: np.ndarray, landmark: float) -> float:
    return float(KaplanMeierFitter().fit(time, event).predict(landmark))


def numpy_km(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Textbook product-limit estimate at each distinct time, one time at a time."""
    times = np.unique(time)
    surv, s = [], 1.0
    for u in times:
        s *= 1.0 - np.sum((time == u) & (event == 1)) / np.sum(time >= u)
        surv.append(s)
    return times, np.array(surv)


def numpy_rmst(time: np.ndarray, event: np.ndarray, horizon: float) -> float:
    times, surv = numpy_km(time, event)
    keep = times <= horizon
    grid = np.concatenate(([0.0], times[keep], [horizon]))
    return float(np.sum(np.concatenate(([1.0], surv[keep])) * np.diff(grid)))


def numpy_survival(time: np.ndarray, event: np.ndarray, landmark: float) -> float:
    times, surv = numpy_km(time, event)
    keep = times <= landmark
    return float(surv[keep][-1]) if keep.any() else 1.0


def jackknife(functional, time: np.ndarray, event: np.ndarray, value: float, groups=None) -> np.ndarray:
    """theta_i = n theta - (n - 1) theta_(-i) by n refits, within each group."""
    groups = np.zeros(time.size) if groups is None else np.asarray(groups)
    out = np.empty(time.size)
    for label in np.unique(groups):
        rows = np.flatnonzero(groups == label)
        t, e = time[rows], event[rows]
        n = rows.size
        full = functional(t, e, value)
        out[rows] = [n * full - (n - 1) * functional(np.delete(t, i), np.delete(e, i), value) for i in range(n)]
    return out


# ---------------------------------------------------------------------------------------------
# Small data sets with every awkward configuration
# ---------------------------------------------------------------------------------------------


def tied_times(rng: np.random.Generator, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Integer times: many ties among events, among censorings and between the two."""
    return rng.integers(1, 9, n).astype(float), rng.integers(0, 2, n)


CASES = {
    # name: (time, event, horizon/landmark)
    "ties, horizon between times": (*tied_times(np.random.default_rng(1)), 4.5),
    "ties, horizon on an event time": (*tied_times(np.random.default_rng(2)), 5.0),
    "censored and events at the horizon": (
        np.array([1, 2, 2, 3, 3, 3, 4, 4, 6, 6, 6, 6, 7, 8], float),
        np.array([1, 1, 0, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1]),
        6.0,
    ),
    "all-censored tail, horizon beyond follow-up": (
        np.array([0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0]),
        np.array([1, 0, 1, 1, 0, 0, 0, 0, 0, 0]),
        7.0,
    ),
    "last observation censored alone": (
        np.array([1.0, 2.0, 2.0, 3.0, 4.0, 9.0]),
        np.array([1, 1, 0, 1, 1, 0]),
        10.0,
    ),
    "curve reaches zero at the last time": (
        np.array([1.0, 2.0, 3.0, 3.0, 5.0, 5.0]),
        np.array([0, 1, 1, 0, 1, 1]),
        8.0,
    ),
    "event and censoring tied at the last time": (
        np.array([1.0, 2.0, 3.0, 4.0, 4.0, 4.0]),
        np.array([1, 0, 1, 1, 0, 1]),
        6.0,
    ),
    "horizon before the first time": (np.array([3.0, 4.0, 5.0, 6.0]), np.array([1, 0, 1, 1]), 2.0),
    "continuous times": (np.random.default_rng(3).exponential(5.0, 30), np.random.default_rng(4).integers(0, 2, 30), 6.0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_rmst_pseudo_values_equal_lifelines_jackknife(case):
    time, event, horizon = CASES[case]
    expected = jackknife(lifelines_rmst, time, event, horizon)
    np.testing.assert_allclose(rmst_pseudo_values(time, event, horizon), expected, rtol=0, atol=EXACT)
    assert km_rmst(time, event, horizon) == pytest.approx(lifelines_rmst(time, event, horizon), abs=1e-12)


@pytest.mark.parametrize("case", list(CASES))
def test_survival_pseudo_values_equal_lifelines_jackknife(case):
    time, event, landmark = CASES[case]
    expected = jackknife(lifelines_survival, time, event, landmark)
    np.testing.assert_allclose(survival_pseudo_values(time, event, landmark), expected, rtol=0, atol=EXACT)
    assert km_survival(time, event, landmark) == pytest.approx(lifelines_survival(time, event, landmark), abs=1e-12)


@pytest.mark.slow
def test_pseudo_values_within_groups_equal_lifelines_jackknife():
    rng = np.random.default_rng(5)
    time, event = tied_times(rng, 60)
    # Arms with different censoring: a pooled curve would give different pseudo-values.
    groups = np.where(rng.random(60) < 0.5, "drug", "placebo")
    event[(groups == "drug") & (time >= 6)] = 0
    for functional, pseudo in ((lifelines_rmst, rmst_pseudo_values), (lifelines_survival, survival_pseudo_values)):
        expected = jackknife(functional, time, event, 6.0, groups)
        np.testing.assert_allclose(pseudo(time, event, 6.0, groups=groups), expected, rtol=0, atol=EXACT)
        assert np.abs(pseudo(time, event, 6.0) - expected).max() > 1e-3


@pytest.mark.slow
def test_pseudo_values_equal_jackknife_on_many_random_samples():
    """300 small samples drawn to hit ties, tiny samples, zero-reaching and censored tails."""
    rng = np.random.default_rng(6)
    worst = 0.0
    for rep in range(300):
        n = int(rng.integers(2, 25))
        time = rng.integers(1, 8, n).astype(float)
        event = rng.integers(0, 2, n)
        last = time == time.max()
        event[last] = 1 if rep % 3 == 0 else (0 if rep % 3 == 1 else event[last])
        value = float(rng.choice([0.5, 3.0, 4.5, 7.0, 9.0, time.max()]))
        groups = rng.integers(0, 2, n) if (rep % 2 and n >= 6) else None
        if groups is not None and np.bincount(groups, minlength=2).min() < 2:
            groups = None
        rmst = rmst_pseudo_values(time, event, value, groups)
        surv = survival_pseudo_values(time, event, value, groups)
        worst = max(
            worst,
            np.abs(rmst - jackknife(numpy_rmst, time, event, value, groups)).max(),
            np.abs(surv - jackknife(numpy_survival, time, event, value, groups)).max(),
        )
    assert worst < EXACT


def test_pseudo_values_without_censoring_are_the_observed_outcomes():
    """Without censoring before the horizon, KM is the empirical distribution and the jackknife is exact."""
    time = np.array([1.0, 2.0, 2.0, 4.0, 7.0, 9.0])
    event = np.array([1, 1, 1, 1, 1, 0])
    np.testing.assert_allclose(rmst_pseudo_values(time, event, 5.0), np.minimum(time, 5.0), atol=EXACT)
    np.testing.assert_allclose(survival_pseudo_values(time, event, 4.0), (time > 4.0).astype(float), atol=EXACT)


# ---------------------------------------------------------------------------------------------
# Unbiasedness against simulated truth (PM-TTE, L2)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def large_trial():
    return simulate_trial("PM-TTE", n=40_000, seed=11, level="L2")


def arm_difference(pseudo: np.ndarray, drug: np.ndarray) -> tuple[float, float]:
    """Difference of arm means and its SE; var(pseudo)/n is the jackknife variance of each arm's KM functional."""
    diff = pseudo[drug].mean() - pseudo[~drug].mean()
    se = np.sqrt(pseudo[drug].var(ddof=1) / drug.sum() + pseudo[~drug].var(ddof=1) / (~drug).sum())
    return float(diff), float(se)


def test_rmst_pseudo_values_recover_true_rmst_difference(large_trial):
    data = large_trial.data
    drug = (data["arm"] == "drug").to_numpy()
    pseudo = rmst_pseudo_values(data["time"], data["event"], 30.0, groups=data["arm"])
    diff, se = arm_difference(pseudo, drug)
    truth = large_trial.extra_truth["rmst_diff"].mean()
    assert abs(diff - truth) < 4 * se, (diff, truth, se)


def test_survival_pseudo_values_recover_true_survival_difference(large_trial):
    data = large_trial.data
    drug = (data["arm"] == "drug").to_numpy()
    pseudo = survival_pseudo_values(data["time"], data["event"], 24.0, groups=data["arm"])
    diff, se = arm_difference(pseudo, drug)
    truth = large_trial.true_effect.mean()
    assert abs(diff - truth) < 4 * se, (diff, truth, se)


def test_regression_on_pseudo_values_recovers_subgroup_rmst_differences(large_trial):
    """OLS of pseudo-values on arm x subgroup with sandwich SEs (Andersen & Perme 2010)."""
    data = large_trial.data
    drug = (data["arm"] == "drug").to_numpy().astype(float)
    in_s = large_trial.true_subgroup.astype(float)
    pseudo = rmst_pseudo_values(data["time"], data["event"], 30.0, groups=data["arm"])
    design = np.column_stack([np.ones_like(drug), drug, in_s, drug * in_s])
    fit = sm.OLS(pseudo, design).fit(cov_type="HC3")
    true_diff = large_trial.extra_truth["rmst_diff"]
    truth_s, truth_not_s = true_diff[in_s == 1].mean(), true_diff[in_s == 0].mean()
    assert truth_s == pytest.approx(3.99, abs=0.05) and truth_not_s == pytest.approx(-0.49, abs=0.05)

    effect_not_s, se_not_s = fit.params[1], fit.bse[1]
    contrast = np.array([0.0, 1.0, 0.0, 1.0])
    effect_s = contrast @ fit.params
    se_s = np.sqrt(contrast @ fit.cov_params() @ contrast)
    assert abs(effect_s - truth_s) < 4 * se_s, (effect_s, truth_s, se_s)
    assert abs(effect_not_s - truth_not_s) < 4 * se_not_s, (effect_not_s, truth_not_s, se_not_s)


# ---------------------------------------------------------------------------------------------
# Scale
# ---------------------------------------------------------------------------------------------


def test_pseudo_values_run_at_100000_patients():
    rng = np.random.default_rng(7)
    n = 100_000
    time = np.round(rng.exponential(20.0, n), 1) + 0.1  # rounded: many ties
    event = (rng.random(n) < 0.6).astype(int)
    arm = rng.integers(0, 2, n)
    rmst = rmst_pseudo_values(time, event, 30.0, groups=arm)
    surv = survival_pseudo_values(time, event, 24.0, groups=arm)
    assert rmst.shape == surv.shape == (n,)
    assert np.isfinite(rmst).all() and np.isfinite(surv).all()
    # Spot-check a few patients against one brute-force refit each: still exact up to n * eps.
    for i in rng.choice(np.flatnonzero(arm == 1), 3, replace=False):
        t, e = time[arm == 1], event[arm == 1]
        j = int(np.flatnonzero(np.flatnonzero(arm == 1) == i)[0])
        m = t.size
        brute = m * numpy_rmst(t, e, 30.0) - (m - 1) * numpy_rmst(np.delete(t, j), np.delete(e, j), 30.0)
        assert rmst[i] == pytest.approx(brute, abs=1e-6)


# ---------------------------------------------------------------------------------------------
# Default horizon: every arm keeps max(10% of its patients, min_cell) at risk
# ---------------------------------------------------------------------------------------------


def hand_made_arms() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """drug: 30 patients at times 1, 2, ..., 30; placebo: 120 patients at 0.5, 1.0, ..., 60 (every 3rd an event)."""
    time = np.concatenate((np.arange(1.0, 31.0), np.arange(1, 121) * 0.5))
    arm = np.array(["drug"] * 30 + ["placebo"] * 120)
    event = (np.arange(time.size) % 3 == 0).astype(int)
    return time, event, arm


def test_default_horizon_keeps_the_required_number_at_risk_in_every_arm():
    time, event, arm = hand_made_arms()
    # min_cell = 10: drug needs max(3, 10) = 10 at risk -> its 10th largest time, 21;
    # placebo needs max(12, 10) = 12 -> its 12th largest, 60 - 11 * 0.5 = 54.5; tau = min = 21.
    assert default_horizon(time, event, arm, min_at_risk=10) == 21.0
    # min_cell = 2: drug needs max(3, 2) = 3 -> 28; placebo still 12 -> 54.5.
    assert default_horizon(time, event, arm, min_at_risk=2) == 28.0
    # Placebo alone limits tau when drug is followed longer: drug times + 100 -> tau = 54.5.
    later = np.where(arm == "drug", time + 100.0, time)
    assert default_horizon(later, event, arm, min_at_risk=10) == 54.5
    chosen = choose_horizon(time, event, arm, min_at_risk=10, unit="months")
    assert (chosen.value, chosen.source, chosen.text) == (21.0, "default", "21 months")
    assert chosen.at_risk == {"drug": 10, "placebo": 79}  # placebo: 21, 21.5, ..., 60
    assert chosen.n_arm == {"drug": 30, "placebo": 120}
    assert chosen.last_follow_up == {"drug": 30.0, "placebo": 60.0}
    # Just past tau, drug has 9 at risk: tau is the largest time with 10.
    assert int((time[arm == "drug"] >= 21.0 + 1e-9).sum()) == 9
    assert "max(10% of its patients, report.min_cell = 10)" in chosen.rule
    assert required_at_risk(30, 10) == 10 and required_at_risk(120, 10) == 12 and required_at_risk(101, 10) == 11


def test_default_horizon_counts_ties_at_risk():
    # 8 events at 1..8 and 12 patients censored at 10: at t = 10 all 12 are still at risk (events before
    # censorings at ties), so 10 patients at risk are kept up to 10.
    time = np.concatenate((np.arange(1.0, 9.0), np.full(12, 10.0), np.arange(1.0, 21.0)))
    event = np.concatenate((np.ones(8, int), np.zeros(12, int), np.ones(20, int)))
    arm = ["drug"] * 20 + ["placebo"] * 20
    assert default_horizon(time, event, arm, min_at_risk=10) == 10.0
    assert choose_horizon(time, event, arm, min_at_risk=10).at_risk == {"drug": 12, "placebo": 11}


def test_default_horizon_on_simulated_trial_keeps_a_tenth_of_each_arm(large_trial):
    data = large_trial.data
    tau = default_horizon(data["time"], data["event"], data["arm"], min_at_risk=10)
    for _, group in data.groupby("arm"):
        assert (group["time"] >= tau).sum() >= np.ceil(0.1 * len(group))
    # ... and it is the largest such time with 3 significant digits: one arm drops below a tenth before the next one.
    step = 10.0 ** (np.floor(np.log10(tau)) - 2)
    assert tau == pytest.approx(round(tau / step) * step, abs=1e-12)
    assert min(((g["time"] >= tau + step).sum() / len(g)) for _, g in data.groupby("arm")) < 0.1
    assert 18.0 < tau < min(data.groupby("arm")["time"].max())


def test_default_horizon_needs_enough_patients_per_arm():
    time, event, arm = hand_made_arms()
    with pytest.raises(DataError, match="arm 'drug' has 30 patient\\(s\\), fewer than the 31") as info:
        default_horizon(time, event, arm, min_at_risk=31)
    assert "set data.outcome.horizon" in str(info.value) and "\n" not in str(info.value)


def test_a_horizon_set_by_the_user_is_checked_against_each_arms_follow_up():
    time, event, arm = hand_made_arms()
    chosen = choose_horizon(time, event, arm, horizon=30.0, unit="weeks")  # drug's last follow-up: allowed
    assert (chosen.value, chosen.source, chosen.rule) == (30.0, "parameter", "set by data.outcome.horizon")
    assert chosen.at_risk == {"drug": 1, "placebo": 61}
    assert chosen.to_dict(min_cell=10)["at_risk"] == {"drug": "<10", "placebo": 61}  # small counts suppressed
    with pytest.raises(ParameterError) as info:
        choose_horizon(time, event, arm, horizon=30.5, unit="weeks", kind="landmark")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("data.outcome.horizon = 30.5 weeks is past the last follow-up of an arm")
    assert "arm 'drug': 30 weeks; arm 'placebo': 60 weeks" in message
    assert "set a landmark of at most 30 weeks" in message


# ---------------------------------------------------------------------------------------------
# Hazard ratio against lifelines
# ---------------------------------------------------------------------------------------------


def test_hazard_ratio_matches_a_direct_lifelines_fit():
    from lifelines import CoxPHFitter

    sim = simulate_trial("PM-TTE", n=600, seed=4, level="L2").data
    time, event = sim["time"].to_numpy(), sim["event"].to_numpy()
    treated = (sim["arm"] == "drug").to_numpy().astype(int)
    frame = pd.DataFrame({"time": time, "event": event, "treated": treated})
    direct = CoxPHFitter().fit(frame, duration_col="time", event_col="event").summary.loc["treated"]
    hr = hazard_ratio(time, event, treated, level=0.95)
    assert hr["estimate"] == pytest.approx(direct["exp(coef)"], rel=1e-6)
    assert hr["ci_low"] == pytest.approx(direct["exp(coef) lower 95%"], rel=1e-6)
    assert hr["ci_high"] == pytest.approx(direct["exp(coef) upper 95%"], rel=1e-6)
    assert "randomized" in hr["method"]
    # Weighted by a propensity (here a made-up one that depends on a prognostic feature): a weighted
    # Cox fit with the robust variance, as lifelines computes it.
    e = 1 / (1 + np.exp(-(sim["severity"].to_numpy() - sim["severity"].mean()) / 20))
    weights = np.where(treated == 1, 1 / e, 1 / (1 - e))
    np.testing.assert_allclose(ipw_weights(treated, e), weights)
    frame["w"] = weights
    robust = CoxPHFitter().fit(frame, duration_col="time", event_col="event", weights_col="w", robust=True)
    weighted = hazard_ratio(time, event, treated, propensity=e, level=0.9)
    row = robust.summary.loc["treated"]
    z = 1.6448536269514722
    assert weighted["estimate"] == pytest.approx(row["exp(coef)"], rel=1e-6)
    assert weighted["se"] == pytest.approx(row["se(coef)"], rel=1e-6)
    assert weighted["ci_low"] == pytest.approx(np.exp(row["coef"] - z * row["se(coef)"]), rel=1e-6)
    assert weighted["ci_level"] == 0.9 and "inverse-probability weighted" in weighted["method"]
    assert weighted["estimate"] != pytest.approx(hr["estimate"], rel=1e-3)  # the weights matter
    # No event in an arm: no finite hazard ratio.
    assert np.isnan(cox_hazard_ratio(time, np.where(treated == 1, 0, event), treated)[0])


# ---------------------------------------------------------------------------------------------
# Invalid input
# ---------------------------------------------------------------------------------------------


GOOD_TIME = np.array([1.0, 2.0, 3.0, 4.0])
GOOD_EVENT = np.array([1, 0, 1, 0])


@pytest.mark.parametrize(
    ("time", "event", "match"),
    [
        ([1.0, 0.0, 3.0, 4.0], GOOD_EVENT, "time must be positive"),
        ([1.0, -2.0, 3.0, 4.0], GOOD_EVENT, "time must be positive"),
        ([1.0, np.nan, 3.0, 4.0], GOOD_EVENT, "time must be positive"),
        ([1.0, np.inf, 3.0, 4.0], GOOD_EVENT, "time must be positive"),
        (["a", "b", "c", "d"], GOOD_EVENT, "time must be numeric"),
        (np.ones((2, 2)), GOOD_EVENT, "one-dimensional"),
        ([1.0], [1], "at least 2 patients"),
        (GOOD_TIME, [1, 2, 0, 1], "event must be 0"),
        (GOOD_TIME, [1, np.nan, 0, 1], "event must be 0"),
        (GOOD_TIME, [1, 0, 1], "one value per patient"),
    ],
)
def test_invalid_data_raises_data_error(time, event, match):
    for call in (
        lambda: km_rmst(time, event, 2.0),
        lambda: km_survival(time, event, 2.0),
        lambda: rmst_pseudo_values(time, event, 2.0),
        lambda: survival_pseudo_values(time, event, 2.0),
        lambda: default_horizon(time, event, ["a", "b"] * (len(event) // 2) + ["a"] * (len(event) % 2)),
    ):
        with pytest.raises(DataError, match=match) as info:
            call()
        assert "\n" not in str(info.value)


@pytest.mark.parametrize("value", [0.0, -1.0, np.nan, np.inf, "30", None, True])
def test_invalid_horizon_or_landmark_raises_parameter_error(value):
    for call, name in (
        (km_rmst, "horizon"),
        (rmst_pseudo_values, "horizon"),
        (km_survival, "landmark"),
        (survival_pseudo_values, "landmark"),
    ):
        with pytest.raises(ParameterError, match=name):
            call(GOOD_TIME, GOOD_EVENT, value)


@pytest.mark.parametrize(
    ("groups", "match"),
    [
        (["a", "a", "b"], "one label per patient"),
        (["a", None, "b", "b"], "missing label"),
        (["a", "a", "a", "b"], "at least 2 patients"),
    ],
)
def test_invalid_groups_raise_data_error(groups, match):
    with pytest.raises(DataError, match=match):
        rmst_pseudo_values(GOOD_TIME, GOOD_EVENT, 2.0, groups=groups)


def test_default_horizon_needs_two_arms():
    with pytest.raises(DataError, match="at least two treatment arms"):
        default_horizon(GOOD_TIME, GOOD_EVENT, ["drug"] * 4)
    with pytest.raises(DataError, match="missing label"):
        default_horizon(GOOD_TIME, GOOD_EVENT, ["drug", np.nan, "placebo", "placebo"])
