"""Pseudo-observations of time-to-event outcomes: exact against the brute-force jackknife, unbiased
against simulated truth, fast at n = 100,000, and strict about their input."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from lifelines import KaplanMeierFitter
from lifelines.utils import restricted_mean_survival_time

from subgroups.datasets.synthetic import simulate_trial
from subgroups.errors import DataError, ParameterError
from subgroups.outcomes import (
    default_horizon,
    km_rmst,
    km_survival,
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
# Default horizon (survRM2 rule; Tian et al. 2020)
# ---------------------------------------------------------------------------------------------


def test_default_horizon_is_smallest_largest_time_of_arms_with_censored_tail():
    time = [1.0, 4.0, 9.0, 2.0, 3.0, 6.0]
    arm = ["drug"] * 3 + ["placebo"] * 3
    assert default_horizon(time, [1, 0, 0, 1, 0, 0], arm) == 6.0
    # Placebo's curve reaches 0 at 6: known beyond, so drug's follow-up limits tau.
    assert default_horizon(time, [1, 0, 0, 1, 0, 1], arm) == 9.0
    # Both curves reach 0: tau is the largest time.
    assert default_horizon(time, [1, 0, 1, 1, 0, 1], arm) == 9.0
    # An event tied with a censoring at the last time leaves the curve above 0.
    assert default_horizon([1.0, 9.0, 9.0, 2.0, 6.0], [0, 1, 0, 1, 0], arm[:5]) == 6.0


def test_default_horizon_on_simulated_trial_is_within_follow_up(large_trial):
    data = large_trial.data
    tau = default_horizon(data["time"], data["event"], data["arm"])
    assert tau == min(data.groupby("arm")["time"].max())
    assert 30.0 < tau <= 36.0


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
