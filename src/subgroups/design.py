"""Next-trial designs for a discovered treatment-effect subgroup.

Given a subgroup S (prevalence pi among screened patients) and uncertain effect estimates in S,
in its complement Sc and overall (F), :func:`plan_designs` builds a menu of designs and
recommends one, with reasons written for scientists:

- D1 ``all_comers``: everyone randomized, one test of the overall effect;
- D2 ``enrichment``: only marker-positive patients randomized;
- D3 ``stratified``: everyone randomized, stratified by marker, co-primary tests in S and F with a
  correlation-adjusted alpha split (Spiessens & Debois 2010);
- D3b ``stratified_mast``: the fixed-sequence MaST variant (Freidlin, Korn & Gray 2014);
- D4 ``adaptive_enrichment``: two stages with an interim choice between stopping, continuing in
  F and restricting to S, closed testing with an inverse-normal combination (Jenkins, Stone &
  Jennison 2011; Wassmer & Dragalin 2015), operating characteristics simulated;
- D5 ``enriched_stratified``: S over-represented and Sc capped, F estimated by re-weighting
  (Wang, Zhou, Wang & George 2018).

Each design reports randomized and screened numbers, events (time-to-event), the alpha
allocation, power at the planning effects and assurance (probability of success averaged over the
uncertainty of the effects; O'Hagan, Stevens & Campbell 2005).

Conventions (research note ``trial_design.md``):

- alpha is **one-sided** everywhere (0.025 one-sided has the critical value of two-sided 0.05);
- sizes are rounded up per arm, events are rounded up;
- ``allocation_ratio`` is treated patients per control patient (1 = 1:1);
- effects are on the outcome's scale: difference in means (continuous), risk difference (binary),
  log hazard ratio with negative = benefit (time to event). For continuous and binary outcomes
  ``higher_is_better`` says which direction is a benefit.

One set of planning inputs for every design (so that no design contradicts another):

- the subgroup and complement planning effects are the shrunken (selection-adjusted when the
  subgroup is validated) estimates, or, without credible heterogeneity, both the overall estimate
  (complete pooling); the **overall planning effect is their prevalence-weighted
  combination** pi theta_S + (1 - pi) theta_Sc, for all-comers as for the overall claims of the
  stratified, MaST, adaptive and enriched-stratified designs (its prior SD from the same posterior);
- every claim on the overall population F is the marker-stratified (prevalence-weighted)
  estimator with one per-patient variance: the outcome SD (continuous), one per event (time to
  event), and for binary outcomes the prevalence-weighted mean of the two strata's binomial
  variances at the planning effects. All-comers is the stratified trial with all of alpha on F,
  so no design that claims F needs fewer patients than all-comers at the same one-sided alpha
  and power (the other designs test F at a smaller level, or only after a subgroup claim);
- without a subgroup to plan for (:func:`plan_all_comers`), or when the subgroup's estimates
  rest on fewer than ``min_cell`` patients or events per arm (the subgroup designs are then
  "not estimable"), all-comers is planned on the overall estimate of the discovery trial.

The same formulas are exposed as small functions (sample sizes, power, numbers to screen, alpha
splits, shrinkage, assurance, the adaptive-enrichment simulator) so that each can be checked
against published values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from numbers import Real
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from subgroups.errors import ParameterError

OutcomeType = Literal["continuous", "binary", "time_to_event"]
AlphaSplitMethod = Literal["spiessens_debois", "bonferroni", "common"]
IntersectionTest = Literal["spiessens_debois", "simes", "bonferroni"]

_OUTCOMES = ("continuous", "binary", "time_to_event")
_SPLITS = ("spiessens_debois", "bonferroni", "common")
_INTERSECTIONS = ("spiessens_debois", "simes", "bonferroni")
_TINY = 1e-150  # stands in for an exact zero in Owen's T formula (0/0 otherwise)

__all__ = [
    "AdaptiveEnrichmentResult",
    "AlphaSplit",
    "AssayStrata",
    "DESIGNS",
    "DesignInputs",
    "DesignMenu",
    "DesignOption",
    "DesignSettings",
    "EnrichmentEfficiency",
    "RecommendationRule",
    "SampleSize",
    "ScreeningNumbers",
    "ShrinkageResult",
    "assay_strata",
    "assurance",
    "assurance_limit",
    "bivariate_normal_cdf",
    "enrichment_efficiency",
    "event_probability",
    "events_schoenfeld",
    "mast_type1_error",
    "n_for_assurance",
    "number_to_screen",
    "plan_all_comers",
    "plan_designs",
    "power_binary",
    "power_continuous",
    "power_survival",
    "sample_size_binary",
    "sample_size_continuous",
    "sample_size_freedman",
    "sample_size_lachin_foulkes",
    "sample_size_survival",
    "shrink_estimates",
    "simulate_adaptive_enrichment",
    "split_alpha",
]


# --------------------------------------------------------------------------------------------
# Parameter checks: one line naming the parameter, the value and what to do.
# --------------------------------------------------------------------------------------------


def _check_alpha(alpha: float, name: str = "alpha") -> None:
    if not (isinstance(alpha, Real) and 0 < alpha < 0.5):
        raise ParameterError(
            f"{name}={alpha!r} is not a one-sided significance level in (0, 0.5); "
            f"pass e.g. {name}=0.025 (one-sided, equivalent to two-sided 0.05)"
        )


def _check_power(power: float, name: str = "power") -> None:
    if not (isinstance(power, Real) and 0 < power < 1):
        raise ParameterError(f"{name}={power!r} is not a probability strictly between 0 and 1; pass e.g. {name}=0.8")


def _check_probability(value: float, name: str, what: str, *, allow_one: bool = False) -> None:
    upper_ok = isinstance(value, Real) and (value <= 1 if allow_one else value < 1)
    if not (upper_ok and value > 0):
        interval = "(0, 1]" if allow_one else "(0, 1)"
        raise ParameterError(f"{name}={value!r} is outside {interval}; pass {what}")


def _check_positive(value: float, name: str, what: str) -> None:
    if not (isinstance(value, Real) and math.isfinite(value) and value > 0):
        raise ParameterError(f"{name}={value!r} must be a positive number; pass {what}")


def _check_hazard_ratio(hazard_ratio: float, name: str = "hazard_ratio") -> None:
    if not (isinstance(hazard_ratio, Real) and 0 < hazard_ratio < 1):
        raise ParameterError(
            f"{name}={hazard_ratio!r} is not a hazard ratio showing benefit; pass a value in (0, 1) "
            "(treatment hazard over control hazard, below 1 = treatment better)"
        )


def _ceil(x: float) -> int:
    """Round up, ignoring floating-point noise of the order of 1e-9 (84.0000000001 -> 84)."""
    return int(math.ceil(x - 1e-9))


def _z(alpha: float) -> float:
    """Upper critical value z_{1-alpha}."""
    return float(stats.norm.isf(alpha))


def _plain(value: Any) -> Any:
    """Convert numpy scalars and containers to plain Python values for JSON."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


class _FrameMixin:
    """One-row ``to_frame()`` and ``to_dict()`` for a flat frozen result."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dictionary of the result."""
        return _plain(asdict(self))  # type: ignore[call-overload]

    def to_frame(self) -> pd.DataFrame:
        """The result as a one-row DataFrame."""
        return pd.DataFrame([self.to_dict()])


# --------------------------------------------------------------------------------------------
# Bivariate normal
# --------------------------------------------------------------------------------------------


def bivariate_normal_cdf(h: Any, k: Any, rho: float) -> np.ndarray:
    """P(X <= h, Y <= k) for a standard bivariate normal with correlation ``rho``.

    Owen's (1956) T-function representation, vectorised over ``h`` and ``k`` (scipy's
    ``multivariate_normal.cdf`` evaluates one point at a time; the two agree to about 1e-15).

    Parameters
    ----------
    h, k : float or array_like
        Upper integration limits.
    rho : float
        Correlation in (-1, 1).

    Returns
    -------
    numpy.ndarray
        The probabilities, broadcast over ``h`` and ``k``.

    Examples
    --------
    >>> round(float(bivariate_normal_cdf(0.0, 0.0, 0.5)), 6)  # 1/4 + asin(0.5)/(2 pi)
    0.333333
    """
    h = np.asarray(h, dtype=float)
    k = np.asarray(k, dtype=float)
    h = np.where(h == 0, _TINY, h)
    k = np.where(k == 0, _TINY, k)
    s = math.sqrt(1 - rho * rho)
    a_h = (k - rho * h) / (h * s)
    a_k = (h - rho * k) / (k * s)
    correction = np.where(h * k < 0, 0.5, 0.0)
    return 0.5 * stats.norm.cdf(h) + 0.5 * stats.norm.cdf(k) - special.owens_t(h, a_h) - special.owens_t(k, a_k) - correction


def _max_normal_sf(m: np.ndarray, rho: float) -> np.ndarray:
    """P(max(Z1, Z2) > m) for a standard bivariate normal pair: the Spiessens-Debois p-value.

    Written as Phi(-m) + 2 T(m, sqrt((1 - rho)/(1 + rho))) so that small p-values keep their
    precision (1 - BVN(m, m) would cancel).
    """
    a = math.sqrt((1 - rho) / (1 + rho))
    return stats.norm.sf(m) + 2 * special.owens_t(m, a)


# --------------------------------------------------------------------------------------------
# One-population sample size and power
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleSize(_FrameMixin):
    """Size of a two-arm trial.

    Attributes
    ----------
    n_total : int
        Randomized patients, ``n_treatment + n_control``.
    n_treatment, n_control : int
        Patients per arm, each rounded up.
    n_treatment_raw, n_control_raw : float
        Unrounded sizes per arm (for 1:1 both equal the textbook "n per arm").
    power : float
        Power at the rounded size.
    events : int or None
        Events required (time to event), rounded up.
    events_raw : float or None
        Unrounded events.
    method : str
        The formula used.
    """

    n_total: int
    n_treatment: int
    n_control: int
    n_treatment_raw: float
    n_control_raw: float
    power: float
    events: int | None = None
    events_raw: float | None = None
    method: str = ""


def _arms(n_total_raw: float, allocation_ratio: float) -> tuple[float, float, int, int]:
    n_treatment_raw = n_total_raw * allocation_ratio / (1 + allocation_ratio)
    n_control_raw = n_total_raw / (1 + allocation_ratio)
    return n_treatment_raw, n_control_raw, _ceil(n_treatment_raw), _ceil(n_control_raw)


def sample_size_continuous(
    effect: float,
    sd: float = 1.0,
    *,
    alpha: float = 0.025,
    power: float = 0.8,
    allocation_ratio: float = 1.0,
    test: Literal["z", "t"] = "z",
) -> SampleSize:
    """Patients needed to detect a difference in means (common SD), one-sided test.

    ``test="z"`` is the normal approximation
    n_control = (1 + 1/r) sd^2 (z_{1-alpha} + z_{1-beta})^2 / effect^2 (times r for the treated arm);
    ``test="t"`` solves the noncentral-t power equation with statsmodels ``TTestIndPower``
    (identical to R ``power.t.test``).

    Parameters
    ----------
    effect : float
        Difference in means to detect; its sign gives the direction of the one-sided test.
    sd : float
        Common outcome standard deviation.
    alpha : float
        One-sided significance level.
    power : float
        Target power.
    allocation_ratio : float
        Treated per control patient.
    test : {"z", "t"}
        Normal approximation or t-test.

    Returns
    -------
    SampleSize

    Examples
    --------
    >>> sample_size_continuous(1.0, 1.0, alpha=0.025, power=0.9, test="t").n_control
    23
    """
    _check_alpha(alpha)
    _check_power(power)
    _check_positive(sd, "sd", "the outcome standard deviation, e.g. sd=1.0")
    _check_positive(allocation_ratio, "allocation_ratio", "treated per control patient, e.g. 1")
    if effect == 0:
        raise ParameterError("effect=0 cannot be detected; pass the difference in means to detect")
    r = allocation_ratio
    if test == "t":
        from statsmodels.stats.power import TTestIndPower

        # statsmodels' nobs1 is the first group; take it as control, ratio = treated per control.
        n_control_raw = float(
            TTestIndPower().solve_power(effect_size=abs(effect) / sd, alpha=alpha, power=power, ratio=r, alternative="larger")
        )
        n_total_raw = n_control_raw * (1 + r)
    elif test == "z":
        n_total_raw = (1 + r) ** 2 / r * sd**2 * (_z(alpha) + _z(1 - power)) ** 2 / effect**2
    else:
        raise ParameterError(f"test={test!r} is not 'z' or 't'; pass test='z' (normal) or 't'")
    n_t_raw, n_c_raw, n_t, n_c = _arms(n_total_raw, r)
    achieved = power_continuous(n_c, effect, sd, alpha=alpha, allocation_ratio=r, test=test)
    return SampleSize(
        n_total=n_t + n_c,
        n_treatment=n_t,
        n_control=n_c,
        n_treatment_raw=n_t_raw,
        n_control_raw=n_c_raw,
        power=achieved,
        method=f"difference in means, {'t-test' if test == 't' else 'normal approximation'}",
    )


def power_continuous(
    n_per_arm: float,
    effect: float,
    sd: float = 1.0,
    *,
    alpha: float = 0.025,
    allocation_ratio: float = 1.0,
    test: Literal["z", "t"] = "z",
) -> float:
    """Power of a one-sided two-sample test of a difference in means.

    Parameters
    ----------
    n_per_arm : float
        Control-arm size; the treated arm has ``allocation_ratio * n_per_arm`` patients.
    effect, sd, alpha, allocation_ratio, test
        As in :func:`sample_size_continuous`.

    Returns
    -------
    float
        Power. Only the tail in the effect's direction counts (R ``power.t.test``,
        ``strict=FALSE``).
    """
    _check_alpha(alpha)
    _check_positive(sd, "sd", "the outcome standard deviation, e.g. sd=1.0")
    _check_positive(n_per_arm, "n_per_arm", "the number of patients per arm")
    r = allocation_ratio
    if test == "t":
        from statsmodels.stats.power import TTestIndPower

        return float(TTestIndPower().power(abs(effect) / sd, n_per_arm, alpha, ratio=r, alternative="larger"))
    se = sd * math.sqrt(1 / n_per_arm + 1 / (r * n_per_arm))
    return float(stats.norm.cdf(abs(effect) / se - _z(alpha)))


def _binary_statsmodels_args(p_control: float, p_treatment: float, allocation_ratio: float) -> dict:
    # statsmodels: prop1 = prop2 + diff is group 1 (here: treated), nobs2 = ratio * nobs1.
    return {
        "diff": p_treatment - p_control,
        "prop2": p_control,
        "ratio": 1 / allocation_ratio,
        "alternative": "larger" if p_treatment > p_control else "smaller",
    }


def sample_size_binary(
    p_control: float,
    p_treatment: float,
    *,
    alpha: float = 0.025,
    power: float = 0.8,
    allocation_ratio: float = 1.0,
) -> SampleSize:
    """Patients needed to detect a difference in proportions (pooled null variance).

    n = [z_{1-alpha} sqrt(2 pbar qbar) + z_{1-beta} sqrt(p1 q1 + p2 q2)]^2 / (p1 - p2)^2 per arm
    (1:1), no continuity correction: R ``power.prop.test`` and statsmodels
    ``samplesize_proportions_2indep_onetail``, which does the work here. Cohen's h is a different
    (arcsine) method and is not used.

    Parameters
    ----------
    p_control, p_treatment : float
        Response probabilities; the test is one-sided in the direction of their difference.
    alpha, power, allocation_ratio
        One-sided level, target power, treated per control patient.

    Returns
    -------
    SampleSize
    """
    from statsmodels.stats.proportion import samplesize_proportions_2indep_onetail

    _check_alpha(alpha)
    _check_power(power)
    _check_probability(p_control, "p_control", "the control response probability, e.g. 0.2")
    _check_probability(p_treatment, "p_treatment", "the treated response probability, e.g. 0.4")
    _check_positive(allocation_ratio, "allocation_ratio", "treated per control patient, e.g. 1")
    if p_treatment == p_control:
        raise ParameterError(f"p_treatment={p_treatment!r} equals p_control; pass the response probability to detect")
    n_t_raw = float(
        samplesize_proportions_2indep_onetail(
            power=power,
            alpha=alpha,
            **_binary_statsmodels_args(p_control, p_treatment, allocation_ratio),
        )
    )
    n_t_raw, n_c_raw, n_t, n_c = _arms(n_t_raw * (1 + 1 / allocation_ratio), allocation_ratio)
    achieved = power_binary(n_c, p_control, p_treatment, alpha=alpha, allocation_ratio=allocation_ratio)
    return SampleSize(
        n_total=n_t + n_c,
        n_treatment=n_t,
        n_control=n_c,
        n_treatment_raw=n_t_raw,
        n_control_raw=n_c_raw,
        power=achieved,
        method="difference in proportions, pooled null variance (power.prop.test)",
    )


def power_binary(
    n_per_arm: float,
    p_control: float,
    p_treatment: Any,
    *,
    alpha: float = 0.025,
    allocation_ratio: float = 1.0,
) -> Any:
    """Power of the one-sided pooled-variance z-test of two proportions.

    Uses statsmodels ``power_proportions_2indep``; ``p_treatment`` may be an array.

    Parameters
    ----------
    n_per_arm : float
        Control-arm size; the treated arm has ``allocation_ratio * n_per_arm`` patients.
    p_control : float
        Control response probability.
    p_treatment : float or array_like
        Treated response probability.
    alpha, allocation_ratio
        One-sided level, treated per control patient.

    Returns
    -------
    float or numpy.ndarray
    """
    from statsmodels.stats.proportion import power_proportions_2indep

    _check_alpha(alpha)
    _check_positive(n_per_arm, "n_per_arm", "the number of patients per arm")
    p_treatment_arr = np.asarray(p_treatment, dtype=float)
    args = _binary_statsmodels_args(p_control, float(np.mean(p_treatment_arr)), allocation_ratio)
    args["diff"] = p_treatment_arr - p_control
    result = power_proportions_2indep(nobs1=n_per_arm * allocation_ratio, alpha=alpha, return_results=False, **args)
    return float(result) if np.ndim(result) == 0 else np.asarray(result)


def events_schoenfeld(
    hazard_ratio: float,
    *,
    alpha: float = 0.025,
    power: float = 0.8,
    allocation_ratio: float = 1.0,
) -> float:
    """Events needed for a log-rank / Cox test (Schoenfeld 1981), unrounded.

    d = (1 + r)^2 / r (z_{1-alpha} + z_{1-beta})^2 / log(HR)^2, as gsDesign ``nEvents``.

    Parameters
    ----------
    hazard_ratio : float
        Treatment over control hazard, in (0, 1).
    alpha, power, allocation_ratio
        One-sided level, target power, treated per control patient.

    Returns
    -------
    float

    Examples
    --------
    >>> round(events_schoenfeld(0.5, alpha=0.025, power=0.9), 3)
    87.479
    """
    _check_hazard_ratio(hazard_ratio)
    _check_alpha(alpha)
    _check_power(power)
    _check_positive(allocation_ratio, "allocation_ratio", "treated per control patient, e.g. 1")
    r = allocation_ratio
    return (1 + r) ** 2 / r * (_z(alpha) + _z(1 - power)) ** 2 / math.log(hazard_ratio) ** 2


def power_survival(
    events: float,
    hazard_ratio: float,
    *,
    alpha: float = 0.025,
    allocation_ratio: float = 1.0,
) -> float:
    """Power of a one-sided log-rank test with ``events`` events (Schoenfeld 1981).

    Phi(sqrt(d r)/(1 + r) |log HR| - z_{1-alpha}).

    Parameters
    ----------
    events : float
        Number of events.
    hazard_ratio : float
        Treatment over control hazard, in (0, 1).
    alpha, allocation_ratio
        One-sided level, treated per control patient.

    Returns
    -------
    float
    """
    _check_hazard_ratio(hazard_ratio)
    _check_alpha(alpha)
    _check_positive(events, "events", "the number of events")
    r = allocation_ratio
    drift = math.sqrt(events * r) / (1 + r) * abs(math.log(hazard_ratio))
    return float(stats.norm.cdf(drift - _z(alpha)))


def event_probability(
    hazard: float,
    *,
    accrual_time: float,
    total_time: float,
    dropout_hazard: float = 0.0,
) -> float:
    """Probability that a patient has an event by the analysis (gsDesign ``pe``).

    Exponential event hazard lambda, exponential dropout hazard eta, uniform accrual over
    [0, R] and analysis at T:
    lambda/(lambda+eta) [1 - (exp(-(lambda+eta)(T-R)) - exp(-(lambda+eta)T)) / ((lambda+eta) R)].

    Parameters
    ----------
    hazard : float
        Event hazard per unit time.
    accrual_time : float
        Length R of uniform accrual.
    total_time : float
        Time T of the analysis from the first patient in (T >= R).
    dropout_hazard : float
        Dropout hazard per unit time.

    Returns
    -------
    float
    """
    _check_positive(hazard, "hazard", "the event hazard per unit time")
    _check_positive(accrual_time, "accrual_time", "the accrual duration")
    if total_time < accrual_time:
        raise ParameterError(
            f"total_time={total_time!r} is shorter than accrual_time={accrual_time!r}; "
            "pass the analysis time counted from the first patient in"
        )
    if dropout_hazard < 0:
        raise ParameterError(f"dropout_hazard={dropout_hazard!r} is negative; pass 0 or more")
    rate = hazard + dropout_hazard
    tail = (math.exp(-rate * (total_time - accrual_time)) - math.exp(-rate * total_time)) / (rate * accrual_time)
    return hazard / rate * (1 - tail)


def sample_size_survival(
    hazard_ratio: float,
    event_probability: float,
    *,
    alpha: float = 0.025,
    power: float = 0.8,
    allocation_ratio: float = 1.0,
) -> SampleSize:
    """Events (Schoenfeld 1981) and patients (events / event probability) for a log-rank test.

    Parameters
    ----------
    hazard_ratio : float
        Treatment over control hazard, in (0, 1).
    event_probability : float
        Arm-averaged probability that a randomized patient has an event by the analysis (see
        :func:`event_probability`).
    alpha, power, allocation_ratio
        One-sided level, target power, treated per control patient.

    Returns
    -------
    SampleSize
    """
    _check_probability(
        event_probability,
        "event_probability",
        "the probability of an event, e.g. 0.6",
        allow_one=True,
    )
    d_raw = events_schoenfeld(hazard_ratio, alpha=alpha, power=power, allocation_ratio=allocation_ratio)
    d = _ceil(d_raw)
    n_t_raw, n_c_raw, n_t, n_c = _arms(d / event_probability, allocation_ratio)
    return SampleSize(
        n_total=n_t + n_c,
        n_treatment=n_t,
        n_control=n_c,
        n_treatment_raw=n_t_raw,
        n_control_raw=n_c_raw,
        power=power_survival(d, hazard_ratio, alpha=alpha, allocation_ratio=allocation_ratio),
        events=d,
        events_raw=d_raw,
        method="log-rank, Schoenfeld events / event probability",
    )


def sample_size_lachin_foulkes(
    hazard_control: float,
    hazard_treatment: float,
    *,
    accrual_time: float,
    total_time: float,
    dropout_hazard: float = 0.0,
    alpha: float = 0.025,
    power: float = 0.8,
    allocation_ratio: float = 1.0,
) -> SampleSize:
    """Patients and events for exponential survival (Lachin & Foulkes 1986; gsDesign ``nSurvival``).

    Uses the null variance at the average hazard and the alternative variance per arm, uniform
    accrual and exponential dropout (port of gsDesign ``nSurvival``, ``type="rr"``).

    Parameters
    ----------
    hazard_control, hazard_treatment : float
        Exponential event hazards per unit time.
    accrual_time, total_time, dropout_hazard
        As in :func:`event_probability`.
    alpha, power, allocation_ratio
        One-sided level, target power, treated per control patient.

    Returns
    -------
    SampleSize
    """
    _check_alpha(alpha)
    _check_power(power)
    _check_positive(hazard_control, "hazard_control", "the control event hazard")
    _check_positive(hazard_treatment, "hazard_treatment", "the treated event hazard")
    _check_hazard_ratio(hazard_treatment / hazard_control, "hazard_treatment/hazard_control")
    xi_control = 1 / (1 + allocation_ratio)
    xi_treatment = 1 - xi_control
    average_hazard = hazard_control * xi_control + hazard_treatment * xi_treatment

    def pe(rate: float) -> float:
        return event_probability(rate, accrual_time=accrual_time, total_time=total_time, dropout_hazard=dropout_hazard)

    pe_control, pe_treatment, pe_average = pe(hazard_control), pe(hazard_treatment), pe(average_hazard)
    root = _z(alpha) / math.sqrt(pe_average * xi_control * xi_treatment) + _z(1 - power) * math.sqrt(
        1 / (xi_control * pe_control) + 1 / (xi_treatment * pe_treatment)
    )
    n_raw = (root / math.log(hazard_control / hazard_treatment)) ** 2
    events_raw = n_raw * (xi_control * pe_control + xi_treatment * pe_treatment)
    n_t_raw, n_c_raw, n_t, n_c = _arms(n_raw, allocation_ratio)
    return SampleSize(
        n_total=n_t + n_c,
        n_treatment=n_t,
        n_control=n_c,
        n_treatment_raw=n_t_raw,
        n_control_raw=n_c_raw,
        power=power,
        events=_ceil(events_raw),
        events_raw=events_raw,
        method="exponential survival, Lachin-Foulkes (gsDesign nSurvival)",
    )


def sample_size_freedman(
    hazard_ratio: float,
    p_event_treatment: float,
    p_event_control: float,
    *,
    alpha: float = 0.025,
    power: float = 0.8,
    allocation_ratio: float = 1.0,
) -> SampleSize:
    """Patients for a Cox / log-rank test by Freedman's (1982) formula, via lifelines.

    lifelines ``sample_size_necessary_under_cph`` takes a two-sided alpha; it is passed
    ``2 * alpha`` so that ``alpha`` keeps the one-sided convention of this module.

    Parameters
    ----------
    hazard_ratio : float
        Treatment over control hazard, in (0, 1).
    p_event_treatment, p_event_control : float
        Probability of an event over the study in each arm.
    alpha, power, allocation_ratio
        One-sided level, target power, treated per control patient.

    Returns
    -------
    SampleSize
    """
    from lifelines.statistics import power_under_cph, sample_size_necessary_under_cph

    _check_hazard_ratio(hazard_ratio)
    _check_alpha(alpha)
    _check_power(power)
    _check_probability(p_event_treatment, "p_event_treatment", "an event probability", allow_one=True)
    _check_probability(p_event_control, "p_event_control", "an event probability", allow_one=True)
    r = allocation_ratio
    n_t, n_c = sample_size_necessary_under_cph(power, r, p_event_treatment, p_event_control, hazard_ratio, alpha=2 * alpha)
    events_raw = (_z(alpha) + _z(1 - power)) ** 2 * (1 + r * hazard_ratio) ** 2 / (r * (1 - hazard_ratio) ** 2)
    n_c_raw = events_raw / (r * p_event_treatment + p_event_control)
    achieved = float(power_under_cph(n_t, n_c, p_event_treatment, p_event_control, hazard_ratio, alpha=2 * alpha))
    return SampleSize(
        n_total=int(n_t + n_c),
        n_treatment=int(n_t),
        n_control=int(n_c),
        n_treatment_raw=r * n_c_raw,
        n_control_raw=n_c_raw,
        power=achieved,
        events=_ceil(events_raw),
        events_raw=events_raw,
        method="Cox model, Freedman (lifelines sample_size_necessary_under_cph)",
    )


# --------------------------------------------------------------------------------------------
# Screening and enrichment efficiency
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScreeningNumbers(_FrameMixin):
    """Patients to screen to find the marker-positive (and -negative) patients needed.

    Attributes
    ----------
    expected : float
        Expected number screened, max(n_positive / prevalence, n_negative / (1 - prevalence)).
    at_quantile : int
        Smallest number screened that yields the quotas with probability ``quantile``.
    quantile : float
        The probability used for ``at_quantile``.
    n_positive, n_negative : int
        The quotas.
    prevalence : float
        P(marker positive) among screened patients.
    """

    expected: float
    at_quantile: int
    quantile: float
    n_positive: int
    n_negative: int
    prevalence: float


def number_to_screen(
    n_positive: int,
    prevalence: float,
    *,
    n_negative: int = 0,
    quantile: float = 0.9,
) -> ScreeningNumbers:
    """Numbers to screen to enrol ``n_positive`` marker-positive patients.

    The number screened until the n-th positive is n + NegativeBinomial(n, prevalence), so the
    ``quantile`` is ``n + nbinom.ppf(quantile, n, prevalence)``. With a negative quota too the
    smallest m with P(n_positive <= Bin(m, prevalence) <= m - n_negative) >= quantile is found.

    Parameters
    ----------
    n_positive : int
        Marker-positive patients required.
    prevalence : float
        P(marker positive) among screened patients (with an imperfect assay: P(assay positive)).
    n_negative : int
        Marker-negative patients required as well (enriched-stratified design).
    quantile : float
        Probability that screening this many suffices.

    Returns
    -------
    ScreeningNumbers

    Examples
    --------
    >>> number_to_screen(264, 0.4).at_quantile
    701
    """
    _check_probability(prevalence, "prevalence", "the marker prevalence among screened patients")
    _check_power(quantile, "quantile")
    if n_positive < 0 or n_negative < 0:
        raise ParameterError(f"n_positive={n_positive!r}, n_negative={n_negative!r}: pass non-negative counts")
    expected = max(n_positive / prevalence, n_negative / (1 - prevalence))
    lower = 0
    if n_positive > 0:
        lower = n_positive + int(stats.nbinom.ppf(quantile, n_positive, prevalence))
    if n_negative > 0:
        lower = max(lower, n_negative + int(stats.nbinom.ppf(quantile, n_negative, 1 - prevalence)))
    m = lower
    if n_positive > 0 and n_negative > 0:
        # Both quotas at once: step up from the larger single-quota quantile (a lower bound).
        while stats.binom.cdf(m - n_negative, m, prevalence) - stats.binom.cdf(n_positive - 1, m, prevalence) < quantile:
            m += 1
    return ScreeningNumbers(
        expected=float(expected),
        at_quantile=int(m),
        quantile=float(quantile),
        n_positive=int(n_positive),
        n_negative=int(n_negative),
        prevalence=float(prevalence),
    )


@dataclass(frozen=True)
class AssayStrata(_FrameMixin):
    """Who tests positive with an imperfect assay (Maitournam & Simon 2005).

    Attributes
    ----------
    p_positive : float
        P(assay positive) = pi se + (1 - pi)(1 - sp).
    ppv : float
        P(in S | assay positive).
    npv : float
        P(in Sc | assay negative).
    prevalence, sensitivity, specificity : float
        The inputs.
    """

    p_positive: float
    ppv: float
    npv: float
    prevalence: float
    sensitivity: float
    specificity: float

    def effect_positive(self, effect_subgroup: Any, effect_complement: Any) -> Any:
        """Effect among assay-positive patients: ppv theta_S + (1 - ppv) theta_Sc."""
        return self.ppv * effect_subgroup + (1 - self.ppv) * effect_complement

    def effect_negative(self, effect_subgroup: Any, effect_complement: Any) -> Any:
        """Effect among assay-negative patients: (1 - npv) theta_S + npv theta_Sc."""
        return (1 - self.npv) * effect_subgroup + self.npv * effect_complement


def assay_strata(prevalence: float, sensitivity: float = 1.0, specificity: float = 1.0) -> AssayStrata:
    """Assay-positive fraction and predictive values.

    Parameters
    ----------
    prevalence : float
        True prevalence of S.
    sensitivity, specificity : float
        Of the assay that defines marker status in the trial.

    Returns
    -------
    AssayStrata

    Examples
    --------
    >>> s = assay_strata(0.25, 0.9, 0.9)
    >>> round(s.p_positive, 2), round(s.ppv, 2)
    (0.3, 0.75)
    """
    _check_probability(prevalence, "prevalence", "the subgroup prevalence, e.g. 0.3")
    _check_probability(sensitivity, "sensitivity", "the assay sensitivity, e.g. 0.95", allow_one=True)
    _check_probability(specificity, "specificity", "the assay specificity, e.g. 0.95", allow_one=True)
    if sensitivity + specificity <= 1:
        raise ParameterError(
            f"sensitivity + specificity = {sensitivity + specificity!r} <= 1: the assay carries "
            "no information; pass the validated sensitivity and specificity"
        )
    p_positive = prevalence * sensitivity + (1 - prevalence) * (1 - specificity)
    p_negative = 1 - p_positive
    return AssayStrata(
        p_positive=p_positive,
        ppv=prevalence * sensitivity / p_positive,
        npv=(1 - prevalence) * specificity / p_negative if p_negative > 0 else 1.0,
        prevalence=prevalence,
        sensitivity=sensitivity,
        specificity=specificity,
    )


@dataclass(frozen=True)
class EnrichmentEfficiency(_FrameMixin):
    """Simon & Maitournam (2004) efficiency of enrichment over all-comers.

    Attributes
    ----------
    ratio_randomized : float
        R_rand = N_all-comers / N_enrichment (randomized patients).
    ratio_screened : float
        R_screen = screened for enrichment / randomized for all-comers.
    p_positive : float
        P(assay positive).
    ppv : float
        P(in S | assay positive).
    effect_ratio : float
        f = theta_Sc / theta_S.
    prevalence : float
        True prevalence of S.
    """

    ratio_randomized: float
    ratio_screened: float
    p_positive: float
    ppv: float
    effect_ratio: float
    prevalence: float


def enrichment_efficiency(
    prevalence: float,
    effect_ratio: float,
    *,
    sensitivity: float = 1.0,
    specificity: float = 1.0,
) -> EnrichmentEfficiency:
    """Randomized and screened ratios of enrichment versus all-comers (continuous, equal SD).

    With a perfect assay R_rand = 1/(pi + (1 - pi) f)^2 and R_screen = (pi + (1 - pi) f)^2 / pi
    (Simon & Maitournam 2004). With an imperfect assay the enriched effect is diluted to
    ppv + (1 - ppv) f (in units of theta_S) and screening divides by P(assay positive)
    (Maitournam & Simon 2005).

    Parameters
    ----------
    prevalence : float
        True prevalence of S.
    effect_ratio : float
        f = theta_Sc / theta_S (0 = no effect outside S).
    sensitivity, specificity : float
        Of the assay.

    Returns
    -------
    EnrichmentEfficiency

    Examples
    --------
    >>> e = enrichment_efficiency(0.25, 0.0)
    >>> e.ratio_randomized, e.ratio_screened
    (16.0, 0.25)
    """
    strata = assay_strata(prevalence, sensitivity, specificity)
    overall = prevalence + (1 - prevalence) * effect_ratio
    enriched = strata.ppv + (1 - strata.ppv) * effect_ratio
    if overall <= 0 or enriched <= 0:
        raise ParameterError(
            f"effect_ratio={effect_ratio!r} makes the overall or enriched effect non-positive; "
            "pass f = theta_Sc/theta_S above -pi/(1-pi)"
        )
    ratio_randomized = (enriched / overall) ** 2
    return EnrichmentEfficiency(
        ratio_randomized=float(ratio_randomized),
        ratio_screened=float(1 / (ratio_randomized * strata.p_positive)),
        p_positive=strata.p_positive,
        ppv=strata.ppv,
        effect_ratio=float(effect_ratio),
        prevalence=float(prevalence),
    )


# --------------------------------------------------------------------------------------------
# Multiplicity: alpha split between S and F, MaST
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlphaSplit(_FrameMixin):
    """Family-wise alpha allocated to the subgroup (S) and overall (F) hypotheses.

    Attributes
    ----------
    alpha_subgroup, alpha_overall : float
        Nominal one-sided levels of the two tests.
    critical_subgroup, critical_overall : float
        Their z critical values.
    correlation : float
        Correlation of the two test statistics under the null.
    alpha : float
        Family-wise one-sided level.
    method : str
        ``"spiessens_debois"``, ``"bonferroni"`` or ``"common"``.
    """

    alpha_subgroup: float
    alpha_overall: float
    critical_subgroup: float
    critical_overall: float
    correlation: float
    alpha: float
    method: str


def split_alpha(
    alpha: float = 0.025,
    correlation: float = 0.0,
    *,
    alpha_overall: float | None = None,
    method: AlphaSplitMethod = "spiessens_debois",
) -> AlphaSplit:
    """Split a one-sided family-wise alpha between H_S and H_F.

    - ``bonferroni``: alpha_S = alpha - alpha_F;
    - ``spiessens_debois`` (Spiessens & Debois 2010): fix c_F = z_{1-alpha_F} and solve
      1 - BVN(c_F, c_S; rho) = alpha for c_S, using the known correlation
      rho = sqrt(I_S / I_F) (sqrt(pi) for means with stratified randomization);
    - ``common``: one critical value c with 1 - BVN(c, c; rho) = alpha (Dunnett-type).

    Parameters
    ----------
    alpha : float
        Family-wise one-sided level.
    correlation : float
        Correlation of Z_S and Z_F, in [0, 1).
    alpha_overall : float, optional
        Level given to H_F (not used by ``common``); defaults to alpha / 2.
    method : {"spiessens_debois", "bonferroni", "common"}

    Returns
    -------
    AlphaSplit

    Examples
    --------
    >>> round(split_alpha(0.025, 0.4 ** 0.5, alpha_overall=0.0125).alpha_subgroup, 6)
    0.015743
    """
    _check_alpha(alpha)
    if not (0 <= correlation < 1):
        raise ParameterError(f"correlation={correlation!r} is outside [0, 1); pass rho = sqrt(I_S/I_F), e.g. sqrt(prevalence)")
    if method not in _SPLITS:
        raise ParameterError(f"method={method!r} is not one of {_SPLITS}; pick one of them")
    rho = float(correlation)

    def family_error(c_f: float, c_s: float) -> float:
        return float(1 - bivariate_normal_cdf(c_f, c_s, rho))

    if method == "common":
        c = optimize.brentq(lambda c: family_error(c, c) - alpha, 0.0, 10.0, xtol=1e-14)
        return AlphaSplit(
            alpha_subgroup=float(stats.norm.sf(c)),
            alpha_overall=float(stats.norm.sf(c)),
            critical_subgroup=float(c),
            critical_overall=float(c),
            correlation=rho,
            alpha=alpha,
            method=method,
        )
    alpha_f = alpha / 2 if alpha_overall is None else alpha_overall
    if not (0 < alpha_f < alpha):
        raise ParameterError(
            f"alpha_overall={alpha_f!r} must lie strictly between 0 and alpha={alpha!r}; "
            "pass the share of alpha given to the overall test, e.g. alpha/2"
        )
    c_f = _z(alpha_f)
    if method == "bonferroni":
        alpha_s = alpha - alpha_f
        c_s = _z(alpha_s)
    else:
        c_s = optimize.brentq(lambda c: family_error(c_f, c) - alpha, -10.0, 20.0, xtol=1e-14)
        alpha_s = float(stats.norm.sf(c_s))
    return AlphaSplit(
        alpha_subgroup=float(alpha_s),
        alpha_overall=float(alpha_f),
        critical_subgroup=float(c_s),
        critical_overall=float(c_f),
        correlation=rho,
        alpha=alpha,
        method=method,
    )


_MAST_LEVELS = (0.022, 0.025, 0.003)  # esDesign MaST.sim: S, then Sc; F if S fails


def mast_type1_error(
    prevalence: float,
    levels: tuple[float, float, float] = _MAST_LEVELS,
) -> float:
    """Family-wise error of MaST under the global null (Freidlin, Korn & Gray 2014).

    S is tested at ``levels[0]``; if rejected Sc is tested at ``levels[1]``; if S is not rejected
    F is tested at ``levels[2]``. Under the global null an error occurs iff S is rejected or
    (S is not and F is): alpha_S + P(Z_S <= c_S, Z_F > c_F) with corr(Z_S, Z_F) = sqrt(pi).

    Parameters
    ----------
    prevalence : float
        Prevalence of S (sets the correlation sqrt(pi)).
    levels : tuple of float
        One-sided levels for S, Sc and F.

    Returns
    -------
    float

    Examples
    --------
    >>> round(mast_type1_error(0.3), 6)
    0.023972
    """
    _check_probability(prevalence, "prevalence", "the subgroup prevalence, e.g. 0.3")
    c_s, c_f = _z(levels[0]), _z(levels[2])
    rho = math.sqrt(prevalence)
    return float(levels[0] + stats.norm.cdf(c_s) - bivariate_normal_cdf(c_s, c_f, rho))


# --------------------------------------------------------------------------------------------
# Empirical-Bayes shrinkage and assurance
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShrinkageResult:
    """Normal-normal empirical-Bayes shrinkage of subgroup estimates (DerSimonian & Laird 1986).

    Attributes
    ----------
    tau2 : float
        Between-subgroup variance.
    mean : float
        Random-effects mean mu.
    mean_variance : float
        Var(mu) = 1 / sum 1/(v_k + tau2).
    q : float
        Cochran's Q.
    estimates : tuple of float
        Shrunken estimates B_k mu + (1 - B_k) theta_k.
    standard_errors : tuple of float
        Their posterior SDs, sqrt((1 - B_k) v_k + B_k^2 Var(mu)).
    shrinkage : tuple of float
        B_k = v_k / (v_k + tau2) (1 = pulled all the way to mu).
    raw_estimates, raw_standard_errors : tuple of float
        The inputs.
    method : str
        How tau2 was obtained.
    """

    tau2: float
    mean: float
    mean_variance: float
    q: float
    estimates: tuple[float, ...]
    standard_errors: tuple[float, ...]
    shrinkage: tuple[float, ...]
    raw_estimates: tuple[float, ...]
    raw_standard_errors: tuple[float, ...]
    method: str

    def covariance(self) -> np.ndarray:
        """Posterior covariance of the subgroup effects.

        Given mu the effects are independent with variance (1 - B_k) v_k; integrating over
        mu ~ N(mu_hat, Var(mu)) adds B_j B_k Var(mu).
        """
        b = np.asarray(self.shrinkage)
        v = np.asarray(self.raw_standard_errors) ** 2
        return np.diag((1 - b) * v) + np.outer(b, b) * self.mean_variance

    def to_frame(self) -> pd.DataFrame:
        """One row per subgroup: raw and shrunken estimate, SE and shrinkage factor."""
        return pd.DataFrame(
            {
                "raw_estimate": self.raw_estimates,
                "raw_standard_error": self.raw_standard_errors,
                "shrinkage": self.shrinkage,
                "estimate": self.estimates,
                "standard_error": self.standard_errors,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dictionary."""
        return _plain(asdict(self))


def shrink_estimates(
    estimates: Sequence[float],
    standard_errors: Sequence[float],
    *,
    method: Literal["dl", "pm"] = "dl",
    tau2: float | None = None,
) -> ShrinkageResult:
    """Empirical-Bayes shrinkage of disjoint subgroup estimates toward their common mean.

    tau2 comes from statsmodels ``combine_effects`` (DerSimonian-Laird ``"dl"`` or Paule-Mandel
    ``"pm"``) unless given. With two subgroups (S vs Sc) tau2 is barely identified: consider
    passing a sceptical fixed ``tau2``.

    Parameters
    ----------
    estimates : sequence of float
        Effect estimates theta_k, one per disjoint subgroup.
    standard_errors : sequence of float
        Their standard errors.
    method : {"dl", "pm"}
        Estimator of tau2.
    tau2 : float, optional
        Fixed between-subgroup variance instead of an estimate.

    Returns
    -------
    ShrinkageResult

    Examples
    --------
    >>> r = shrink_estimates([0.6, 0.25, 0.1, -0.05], [0.2, 0.15, 0.15, 0.2])
    >>> round(r.estimates[0], 4)
    0.3834
    """
    from statsmodels.stats.meta_analysis import combine_effects

    theta = np.asarray(estimates, dtype=float)
    se = np.asarray(standard_errors, dtype=float)
    if theta.ndim != 1 or theta.shape != se.shape or theta.size < 2:
        raise ParameterError(
            f"estimates has {theta.size} values and standard_errors {se.size}: pass two "
            "equal-length sequences with at least two subgroups"
        )
    if not np.all(np.isfinite(se)) or np.any(se <= 0):
        raise ParameterError(f"standard_errors={se.tolist()!r} must all be positive; pass the SE of each estimate")
    if method not in ("dl", "pm"):
        raise ParameterError(f"method={method!r} is not 'dl' or 'pm'; pick one of them")
    v = se**2
    with np.errstate(invalid="ignore"):  # statsmodels' HKSJ variant (unused here) takes sqrt of negatives
        result = combine_effects(theta, v, method_re=method)
    q = float(result.q)
    if tau2 is None:
        # statsmodels returns the untruncated DerSimonian-Laird moment estimate, which is
        # negative when Q < K - 1; the estimator is max(0, .) (DerSimonian & Laird 1986).
        tau2_value = max(0.0, float(result.tau2))
        how = {"dl": "DerSimonian-Laird", "pm": "Paule-Mandel"}[method]
    else:
        if tau2 < 0:
            raise ParameterError(f"tau2={tau2!r} is negative; pass a variance >= 0 or None")
        tau2_value = float(tau2)
        how = "fixed tau2"
    precision = 1 / (v + tau2_value)
    mu = float(np.sum(precision * theta) / np.sum(precision))
    mu_var = float(1 / np.sum(precision))
    b = v / (v + tau2_value)
    shrunk = b * mu + (1 - b) * theta
    sd = np.sqrt((1 - b) * v + b**2 * mu_var)
    return ShrinkageResult(
        tau2=tau2_value,
        mean=mu,
        mean_variance=mu_var,
        q=q,
        estimates=tuple(float(x) for x in shrunk),
        standard_errors=tuple(float(x) for x in sd),
        shrinkage=tuple(float(x) for x in b),
        raw_estimates=tuple(float(x) for x in theta),
        raw_standard_errors=tuple(float(x) for x in se),
        method=how,
    )


def assurance(
    n_per_arm: float,
    prior_mean: float,
    prior_sd: float,
    *,
    sd: float = 1.0,
    alpha: float = 0.025,
    allocation_ratio: float = 1.0,
) -> float:
    """Probability of success of a one-sided z-test averaged over a normal prior on the effect.

    Assurance = Phi((m - z_{1-alpha} s) / sqrt(s^2 + v)) with s the standard error of the
    estimated difference in means and theta ~ N(m, v) (O'Hagan, Stevens & Campbell 2005).

    Parameters
    ----------
    n_per_arm : float
        Control-arm size; the treated arm has ``allocation_ratio * n_per_arm``.
    prior_mean, prior_sd : float
        Normal prior (e.g. a shrunken estimate and its SD).
    sd : float
        Outcome standard deviation.
    alpha, allocation_ratio
        One-sided level, treated per control patient.

    Returns
    -------
    float

    Examples
    --------
    >>> round(assurance(172, 0.35, 0.15), 6)
    0.773533
    """
    _check_alpha(alpha)
    _check_positive(n_per_arm, "n_per_arm", "the number of patients per arm")
    _check_positive(sd, "sd", "the outcome standard deviation")
    if prior_sd < 0:
        raise ParameterError(f"prior_sd={prior_sd!r} is negative; pass the prior standard deviation")
    s = sd * math.sqrt(1 / n_per_arm + 1 / (allocation_ratio * n_per_arm))
    return float(stats.norm.cdf((prior_mean - _z(alpha) * s) / math.sqrt(s**2 + prior_sd**2)))


def assurance_limit(prior_mean: float, prior_sd: float) -> float:
    """Largest achievable assurance, Phi(m / sqrt(v)): the prior probability of benefit.

    Parameters
    ----------
    prior_mean, prior_sd : float
        Normal prior on the effect.

    Returns
    -------
    float
    """
    _check_positive(prior_sd, "prior_sd", "the prior standard deviation")
    return float(stats.norm.cdf(prior_mean / prior_sd))


def n_for_assurance(
    target: float,
    prior_mean: float,
    prior_sd: float,
    *,
    sd: float = 1.0,
    alpha: float = 0.025,
    allocation_ratio: float = 1.0,
) -> float:
    """Control-arm size (unrounded) at which :func:`assurance` reaches ``target``.

    Parameters
    ----------
    target : float
        Target assurance; must be below :func:`assurance_limit`.
    prior_mean, prior_sd, sd, alpha, allocation_ratio
        As in :func:`assurance`.

    Returns
    -------
    float
    """
    _check_power(target, "target")
    limit = assurance_limit(prior_mean, prior_sd)
    if target >= limit:
        raise ParameterError(
            f"target={target!r} is unreachable: with this prior the assurance can never exceed "
            f"{limit:.4f} (the probability that the effect is positive); lower the target"
        )

    def gap(n: float) -> float:
        return assurance(n, prior_mean, prior_sd, sd=sd, alpha=alpha, allocation_ratio=allocation_ratio) - target

    upper = 1.0
    while gap(upper) < 0:
        upper *= 2
    return float(optimize.brentq(gap, 1e-6, upper, xtol=1e-10))


# --------------------------------------------------------------------------------------------
# Two-stage adaptive enrichment (D4): vectorised simulator of section 5.2
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdaptiveEnrichmentResult(_FrameMixin):
    """Simulated operating characteristics of a two-stage adaptive-enrichment design.

    Attributes
    ----------
    reject_subgroup, reject_overall, reject_any : float
        P(reject H_S), P(reject H_F), P(reject at least one): power, or type I error under a null.
    probability_enrich, probability_continue, probability_futility : float
        Interim decisions.
    expected_n_randomized, expected_n_screened : float
        E[N randomized] and E[N screened].
    n_screened_quantile : float
        Quantile (``screen_quantile``) of the number screened.
    reject_any_se : float
        Monte-Carlo standard error of ``reject_any``.
    n_stage1, n_stage2 : int
        Planned randomized patients per stage.
    prevalence : float
        P(marker positive).
    n_simulations, seed : int
        Simulation size and seed.
    intersection_test : str
        Test of H_S and H_F jointly within each stage.
    """

    reject_subgroup: float
    reject_overall: float
    reject_any: float
    probability_enrich: float
    probability_continue: float
    probability_futility: float
    expected_n_randomized: float
    expected_n_screened: float
    n_screened_quantile: float
    reject_any_se: float
    n_stage1: int
    n_stage2: int
    prevalence: float
    n_simulations: int
    seed: int
    intersection_test: str

    def standard_error(self, probability: float) -> float:
        """Monte-Carlo standard error of a simulated probability."""
        return math.sqrt(probability * (1 - probability) / self.n_simulations)


def _intersection_z(z_s: np.ndarray, z_f: np.ndarray, rho: float, test: str) -> np.ndarray:
    """z-score of the stage-wise p-value of H_S and H_F jointly."""
    if test == "spiessens_debois":
        # Spiessens & Debois (2010): p = P(max(Z_S, Z_F) > observed max) under the null.
        p = _max_normal_sf(np.maximum(z_s, z_f), rho)
    else:
        p_s, p_f = stats.norm.sf(z_s), stats.norm.sf(z_f)
        p_min, p_max = np.minimum(p_s, p_f), np.maximum(p_s, p_f)
        if test == "simes":
            p = np.minimum(2 * p_min, p_max)  # Simes (1986)
        else:
            p = np.minimum(1.0, 2 * p_min)  # Bonferroni
    return stats.norm.isf(np.clip(p, 1e-300, 1.0 - 1e-16))


def simulate_adaptive_enrichment(
    prevalence: float,
    effect_subgroup: Any,
    effect_complement: Any,
    n_stage1: int,
    n_stage2: int,
    *,
    sd: float = 1.0,
    allocation_ratio: float = 1.0,
    alpha: float = 0.025,
    intersection_test: IntersectionTest = "spiessens_debois",
    futility_z: float = 0.0,
    enrich_below_z: float = 0.0,
    n_simulations: int = 100_000,
    seed: int = 0,
    screen_quantile: float = 0.9,
) -> AdaptiveEnrichmentResult:
    """Simulate a two-stage adaptive-enrichment trial (research note section 5.2).

    Stage 1 randomizes ``n_stage1`` all-comers. The stratum z-statistics are
    Z_S1 ~ N(theta_S sqrt(pi n1 r)/(sd (1 + r)), 1), likewise Z_Sc1, and
    Z_F1 = sqrt(pi) Z_S1 + sqrt(1 - pi) Z_Sc1 (stratified overall). At the interim: stop for
    futility if Z_S1 and Z_F1 are both below ``futility_z``; else restrict stage 2 to S if
    Z_Sc1 < ``enrich_below_z``; else continue in F. Stage 2 uses its own data only. H_S and H_F
    are tested by closed testing: each of H_S, H_F and their intersection is tested by the
    inverse-normal combination C = w1 z1 + w2 z2 with pre-fixed weights
    w_k = sqrt(n_k / (n1 + n2)), rejecting when C >= z_{1-alpha} (Bauer & Koehne 1994;
    Lehmacher & Wassmer 1999). After enrichment the intersection's stage-2 p-value is H_S's and
    H_F cannot be rejected. Futility is binding. Same structure as rpact
    ``getSimulationEnrichmentMeans`` and asd ``subpop.sim``.

    Binary and time-to-event outcomes plug in through a standardised effect: pass
    effect / per-patient SD with ``sd=1`` (for time to event, -log HR times sqrt(event
    probability)).

    Parameters
    ----------
    prevalence : float
        P(marker positive) among screened patients.
    effect_subgroup, effect_complement : float or array_like
        Difference in means in S and Sc (positive = benefit). Arrays of length
        ``n_simulations`` give one true effect per simulated trial (for assurance).
    n_stage1, n_stage2 : int
        Randomized patients in each stage.
    sd : float
        Outcome standard deviation.
    allocation_ratio : float
        Treated per control patient.
    alpha : float
        One-sided family-wise level.
    intersection_test : {"spiessens_debois", "simes", "bonferroni"}
        Stage-wise test of the intersection hypothesis.
    futility_z, enrich_below_z : float
        Interim thresholds (``-inf`` switches a rule off).
    n_simulations : int
        Simulated trials.
    seed : int
        Seed of the numpy generator.
    screen_quantile : float
        Quantile reported for the number screened.

    Returns
    -------
    AdaptiveEnrichmentResult
    """
    _check_probability(prevalence, "prevalence", "the marker prevalence, e.g. 0.4")
    _check_alpha(alpha)
    _check_positive(sd, "sd", "the outcome standard deviation")
    _check_positive(allocation_ratio, "allocation_ratio", "treated per control patient, e.g. 1")
    if intersection_test not in _INTERSECTIONS:
        raise ParameterError(f"intersection_test={intersection_test!r} is not one of {_INTERSECTIONS}; pick one")
    if int(n_stage1) < 1 or int(n_stage2) < 1:
        raise ParameterError(f"n_stage1={n_stage1!r}, n_stage2={n_stage2!r}: both stages need at least one patient")
    if int(n_simulations) < 100:
        raise ParameterError(f"n_simulations={n_simulations!r} is too small; pass at least 1000")
    n_sim = int(n_simulations)
    pi = float(prevalence)
    r = allocation_ratio
    n1, n2 = float(n_stage1), float(n_stage2)
    scale = math.sqrt(r) / (sd * (1 + r))  # drift per sqrt(patient) per unit effect
    theta_s = np.broadcast_to(np.asarray(effect_subgroup, dtype=float), (n_sim,))
    theta_c = np.broadcast_to(np.asarray(effect_complement, dtype=float), (n_sim,))

    rng = np.random.default_rng(seed)
    e = rng.standard_normal((4, n_sim))
    rho = math.sqrt(pi)  # sqrt(n_S / n_F) at every stage where F is randomized

    z_s1 = theta_s * scale * math.sqrt(pi * n1) + e[0]
    z_c1 = theta_c * scale * math.sqrt((1 - pi) * n1) + e[1]
    z_f1 = math.sqrt(pi) * z_s1 + math.sqrt(1 - pi) * z_c1

    stop = (z_s1 < futility_z) & (z_f1 < futility_z)
    enrich = ~stop & (z_c1 < enrich_below_z)
    go_on = ~stop & ~enrich

    # Stage 2 from its own data: all-comers when continuing, S only when enriching.
    z_s2_continue = theta_s * scale * math.sqrt(pi * n2) + e[2]
    z_c2 = theta_c * scale * math.sqrt((1 - pi) * n2) + e[3]
    z_f2 = math.sqrt(pi) * z_s2_continue + math.sqrt(1 - pi) * z_c2
    z_s2_enrich = theta_s * scale * math.sqrt(n2) + e[2]
    z_s2 = np.where(enrich, z_s2_enrich, z_s2_continue)

    z_i1 = _intersection_z(z_s1, z_f1, rho, intersection_test)
    z_i2 = np.where(enrich, z_s2, _intersection_z(z_s2_continue, z_f2, rho, intersection_test))

    w1, w2 = math.sqrt(n1 / (n1 + n2)), math.sqrt(n2 / (n1 + n2))
    c = _z(alpha)
    reject_intersection = w1 * z_i1 + w2 * z_i2 >= c
    reject_s = ~stop & reject_intersection & (w1 * z_s1 + w2 * z_s2 >= c)
    reject_f = go_on & reject_intersection & (w1 * z_f1 + w2 * z_f2 >= c)
    reject_any = reject_s | reject_f

    n_randomized = n1 + n2 * (~stop)
    extra = np.zeros(n_sim)
    if enrich.any():
        # Screening until n2 marker-positives are found: n2 + NegBin(n2, pi) patients.
        extra[enrich] = rng.negative_binomial(max(int(round(n2)), 1), pi, size=int(enrich.sum()))
    n_screened = n1 + n2 * (~stop) + extra

    p_any = float(reject_any.mean())
    return AdaptiveEnrichmentResult(
        reject_subgroup=float(reject_s.mean()),
        reject_overall=float(reject_f.mean()),
        reject_any=p_any,
        probability_enrich=float(enrich.mean()),
        probability_continue=float(go_on.mean()),
        probability_futility=float(stop.mean()),
        expected_n_randomized=float(n_randomized.mean()),
        expected_n_screened=float(n_screened.mean()),
        n_screened_quantile=float(np.quantile(n_screened, screen_quantile)),
        reject_any_se=math.sqrt(p_any * (1 - p_any) / n_sim),
        n_stage1=int(n_stage1),
        n_stage2=int(n_stage2),
        prevalence=pi,
        n_simulations=n_sim,
        seed=int(seed),
        intersection_test=intersection_test,
    )


# --------------------------------------------------------------------------------------------
# Inputs, settings and the recommendation rule
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DesignInputs:
    """What the discovery analysis says about the subgroup, on the outcome's scale.

    Attributes
    ----------
    outcome : {"continuous", "binary", "time_to_event"}
        Endpoint of the next trial.
    prevalence : float
        Prevalence pi of the subgroup S among patients who would be screened.
    effect_subgroup, se_subgroup : float
        Effect in S and its standard error (difference in means, risk difference, or log HR
        with negative = benefit). Prefer honest (held-out) estimates: a subgroup found by
        searching has an optimistic in-sample estimate.
    effect_complement, se_complement : float
        Effect in the complement Sc and its standard error.
    effect_overall, se_overall : float
        Effect in the whole population F and its standard error.
    heterogeneity_detected : bool
        Whether the heterogeneity analysis found credible effect heterogeneity (and a validated
        subgroup). Without it every design is planned on the overall effect (complete pooling:
        subgroup and complement share it), the recommendation is all-comers, and the subgroup
        estimate may show no benefit. With it the subgroup effect must show a benefit.
    outcome_sd : float, optional
        Outcome standard deviation (continuous; required).
    control_rate : float, optional
        Control-arm response probability (binary; required), assumed equal in S and Sc.
    event_probability : float, optional
        Probability that a randomized patient has an event by the analysis (time to event;
        required; see :func:`event_probability`), assumed equal in S and Sc so that the event
        share of S is pi.
    higher_is_better : bool
        For continuous and binary outcomes: whether a higher outcome is a benefit. Ignored for
        time to event (a lower hazard is a benefit).
    estimation_counts : tuple of (str, int)
        Per-arm counts behind the subgroup and complement estimates, labelled, e.g.
        ``(("treated events in the subgroup", 7), ...)``: patients, and events for binary and
        time-to-event outcomes, among the patients the estimates come from (the estimation half).
        A count below ``DesignSettings.min_cell`` makes the subgroup designs "not estimable".
    """

    outcome: OutcomeType
    prevalence: float
    effect_subgroup: float
    se_subgroup: float
    effect_complement: float
    se_complement: float
    effect_overall: float
    se_overall: float
    heterogeneity_detected: bool
    outcome_sd: float | None = None
    control_rate: float | None = None
    event_probability: float | None = None
    higher_is_better: bool = True
    estimation_counts: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        for label, count in self.estimation_counts:
            if not (isinstance(count, Real) and count >= 0 and float(count).is_integer()):
                raise ParameterError(f"estimation_counts: {label!r} = {count!r} is not a count; pass whole numbers >= 0")
        if self.outcome not in _OUTCOMES:
            raise ParameterError(f"outcome={self.outcome!r} is not one of {_OUTCOMES}; pick the endpoint type")
        _check_probability(self.prevalence, "prevalence", "the share of screened patients in the subgroup, e.g. 0.3")
        for name in ("effect_subgroup", "effect_complement", "effect_overall"):
            value = getattr(self, name)
            if not (isinstance(value, Real) and math.isfinite(value)):
                raise ParameterError(f"{name}={value!r} is not a finite number; pass the estimate")
        for name in ("se_subgroup", "se_complement", "se_overall"):
            _check_positive(getattr(self, name), name, "the standard error of the estimate")
        sign = self.benefit_sign
        if self.outcome == "continuous":
            if self.outcome_sd is None:
                raise ParameterError(
                    "outcome_sd=None: a continuous outcome needs its standard deviation; "
                    "pass outcome_sd (e.g. the pooled SD of the discovery trial)"
                )
            if not (isinstance(self.outcome_sd, Real) and self.outcome_sd > 0):
                raise ParameterError(f"outcome_sd={self.outcome_sd!r} must be positive; pass the outcome's standard deviation")
        if self.outcome == "binary":
            if self.control_rate is None:
                raise ParameterError(
                    "control_rate=None: a binary outcome needs the control response probability; pass control_rate, e.g. 0.2"
                )
            _check_probability(self.control_rate, "control_rate", "the control response rate")
            for name in ("effect_subgroup", "effect_complement", "effect_overall"):
                p = self.control_rate + getattr(self, name)
                if not 0 < p < 1:
                    raise ParameterError(
                        f"{name}={getattr(self, name)!r} with control_rate={self.control_rate!r} "
                        f"gives a treated response probability of {p:.3f}, outside (0, 1); "
                        "pass a risk difference"
                    )
        if self.outcome == "time_to_event":
            if self.event_probability is None:
                raise ParameterError(
                    "event_probability=None: a time-to-event design converts events to patients; "
                    "pass the probability of an event by the analysis, e.g. 0.6"
                )
            _check_probability(
                self.event_probability,
                "event_probability",
                "an event probability, e.g. 0.6",
                allow_one=True,
            )
            if self.heterogeneity_detected and self.effect_subgroup >= 0:
                raise ParameterError(
                    f"effect_subgroup={self.effect_subgroup!r} is a log hazard ratio >= 0 "
                    f"(HR {math.exp(self.effect_subgroup):.2f}, no benefit); pass log(HR) with "
                    "negative = benefit, e.g. log(0.6) = -0.51"
                )
        elif self.heterogeneity_detected and sign * self.effect_subgroup <= 0:
            direction = "positive" if self.higher_is_better else "negative"
            raise ParameterError(
                f"effect_subgroup={self.effect_subgroup!r} shows no benefit in the subgroup; "
                f"a subgroup-targeted trial needs a {direction} planning effect (or set "
                "higher_is_better to match the outcome)"
            )

    @property
    def benefit_sign(self) -> float:
        """+1 if a larger effect is a benefit, -1 otherwise (log HR, lower-is-better)."""
        if self.outcome == "time_to_event" or not self.higher_is_better:
            return -1.0
        return 1.0


@dataclass(frozen=True)
class RecommendationRule:
    """Thresholds of the recommendation (research note section 7). Tunable defaults, not
    published constants.

    Attributes
    ----------
    complement_relevant_fraction : float
        The complement "benefits" if its effect is at least this fraction of the subgroup
        effect (used by both the enrichment and the all-comers rule).
    complement_min_effect : float, optional
        Absolute smallest relevant effect in the complement for the enrichment rule, on the
        outcome's scale (log HR for time to event). ``None``: the fraction above.
    enrichment_max_probability : float
        Enrich when P(complement benefits) is below this (rule 2).
    all_comers_min_probability : float
        All-comers when P(complement effect >= fraction x subgroup effect) exceeds this
        (rule 3: little heterogeneity).
    adaptive_prevalence_min, adaptive_prevalence_max : float
        Prevalence range where adaptive enrichment is offered (rule 4).
    adaptive_max_endpoint_delay : float
        Adaptive enrichment needs the interim endpoint quickly: time to observe it as a
        fraction of the accrual period at most this.
    min_assay_accuracy : float
        Sensitivity and specificity an assay needs before enrichment is recommended.
    """

    complement_relevant_fraction: float = 0.5
    complement_min_effect: float | None = None
    enrichment_max_probability: float = 0.1
    all_comers_min_probability: float = 0.7
    adaptive_prevalence_min: float = 0.2
    adaptive_prevalence_max: float = 0.6
    adaptive_max_endpoint_delay: float = 0.25
    min_assay_accuracy: float = 0.9

    def __post_init__(self) -> None:
        for name in ("enrichment_max_probability", "all_comers_min_probability"):
            _check_power(getattr(self, name), name)
        if not 0 <= self.complement_relevant_fraction <= 1:
            raise ParameterError(
                f"complement_relevant_fraction={self.complement_relevant_fraction!r} is outside "
                "[0, 1]; pass e.g. 0.5 (half the subgroup effect)"
            )
        if not 0 <= self.adaptive_prevalence_min < self.adaptive_prevalence_max <= 1:
            raise ParameterError(
                f"adaptive_prevalence_min={self.adaptive_prevalence_min!r} and "
                f"adaptive_prevalence_max={self.adaptive_prevalence_max!r} must satisfy "
                "0 <= min < max <= 1"
            )
        if self.adaptive_max_endpoint_delay < 0:
            raise ParameterError(
                f"adaptive_max_endpoint_delay={self.adaptive_max_endpoint_delay!r} is negative; "
                "pass a fraction of the accrual period, e.g. 0.25"
            )
        _check_probability(self.min_assay_accuracy, "min_assay_accuracy", "e.g. 0.9", allow_one=True)


@dataclass(frozen=True)
class DesignSettings:
    """How the next trial is to be planned.

    Attributes
    ----------
    alpha : float
        One-sided family-wise significance level.
    power : float
        Target power for each primary claim.
    allocation_ratio : float
        Treated per control patient.
    assay_sensitivity, assay_specificity : float
        Of the assay defining marker status in the trial.
    assay_validated : bool
        Whether the assay is analytically validated (companion diagnostic); enrichment is only
        recommended for a validated assay.
    cost_per_screened, cost_per_randomized : float
        Relative costs of screening and of randomizing a patient.
    max_n : int
        Largest feasible number of randomized patients.
    interim_fraction : float
        Share of the maximum sample size randomized before the adaptive interim (D4).
    endpoint_delay : float
        Time to observe the endpoint, as a fraction of the accrual period.
    alpha_split : {"spiessens_debois", "bonferroni", "common"}
        Alpha split of the stratified designs (D3, D5).
    alpha_overall : float, optional
        One-sided level for the overall test in D3/D5; ``None`` is alpha / 2.
    mast_levels : tuple of float
        MaST levels for S, then Sc, else F (Freidlin, Korn & Gray 2014), scaled by alpha/0.025.
    enriched_fraction : float
        Share of marker-positive patients among those randomized in D5 (at least pi).
    intersection_test : {"spiessens_debois", "simes", "bonferroni"}
        Intersection test of D4.
    futility_z, enrich_below_z : float
        D4 interim rule: stop if Z_S and Z_F are below ``futility_z``; enrich if Z_Sc is below
        ``enrich_below_z``.
    n_simulations : int
        Simulated trials per D4 evaluation.
    screen_quantile : float
        Quantile reported for the number to screen.
    shrinkage : {"dl", "pm", "none"}
        Empirical-Bayes shrinkage of the S and Sc estimates before planning.
    shrinkage_tau2 : float, optional
        Fixed between-subgroup variance for the shrinkage (sceptical choice with K = 2).
    prior_sd_inflation : float
        Factor applied to the posterior SDs when computing assurance (>1 = discount the
        evidence).
    require_complement_data : bool
        Keep marker-negative patients in the trial even when enrichment is recommended (the FDA
        default unless their exclusion is justified): D5 instead of D2.
    rule : RecommendationRule
        Thresholds of the recommendation.
    min_cell : int
        Fewest patients (and events, for binary and time-to-event outcomes) per arm in the subgroup
        or its complement, among the patients their planning effects were estimated on, for the
        subgroup designs to be estimable (``report.min_cell`` in a run).
    """

    alpha: float = 0.025
    power: float = 0.8
    allocation_ratio: float = 1.0
    assay_sensitivity: float = 1.0
    assay_specificity: float = 1.0
    assay_validated: bool = True
    cost_per_screened: float = 1.0
    cost_per_randomized: float = 20.0
    max_n: int = 5000
    interim_fraction: float = 0.5
    endpoint_delay: float = 0.1
    alpha_split: AlphaSplitMethod = "spiessens_debois"
    alpha_overall: float | None = None
    mast_levels: tuple[float, float, float] = _MAST_LEVELS
    enriched_fraction: float = 0.5
    intersection_test: IntersectionTest = "spiessens_debois"
    futility_z: float = 0.0
    enrich_below_z: float = 0.0
    n_simulations: int = 20_000
    screen_quantile: float = 0.9
    shrinkage: Literal["dl", "pm", "none"] = "dl"
    shrinkage_tau2: float | None = None
    prior_sd_inflation: float = 1.0
    require_complement_data: bool = False
    rule: RecommendationRule = field(default_factory=RecommendationRule)
    min_cell: int = 10

    def __post_init__(self) -> None:
        _check_alpha(self.alpha)
        if not (isinstance(self.min_cell, Real) and self.min_cell >= 0):
            raise ParameterError(f"min_cell={self.min_cell!r} is negative; pass the smallest count per arm, e.g. 10")
        _check_power(self.power)
        _check_positive(self.allocation_ratio, "allocation_ratio", "treated per control, e.g. 1")
        _check_probability(self.assay_sensitivity, "assay_sensitivity", "e.g. 0.95", allow_one=True)
        _check_probability(self.assay_specificity, "assay_specificity", "e.g. 0.95", allow_one=True)
        if self.assay_sensitivity + self.assay_specificity <= 1:
            raise ParameterError(
                f"assay_sensitivity + assay_specificity = "
                f"{self.assay_sensitivity + self.assay_specificity!r} <= 1: the assay carries no "
                "information; pass its validated accuracy"
            )
        for name in ("cost_per_screened", "cost_per_randomized"):
            value = getattr(self, name)
            if not (isinstance(value, Real) and value >= 0):
                raise ParameterError(f"{name}={value!r} is negative; pass a cost >= 0")
        if self.cost_per_screened + self.cost_per_randomized <= 0:
            raise ParameterError(
                "cost_per_screened and cost_per_randomized are both 0; give at least one a positive relative cost"
            )
        _check_positive(self.max_n, "max_n", "the largest feasible number of randomized patients")
        _check_power(self.interim_fraction, "interim_fraction")
        if self.endpoint_delay < 0:
            raise ParameterError(
                f"endpoint_delay={self.endpoint_delay!r} is negative; pass the time to observe "
                "the endpoint as a fraction of the accrual period"
            )
        if self.alpha_split not in _SPLITS:
            raise ParameterError(f"alpha_split={self.alpha_split!r} is not one of {_SPLITS}")
        if self.alpha_overall is not None and not 0 < self.alpha_overall < self.alpha:
            raise ParameterError(
                f"alpha_overall={self.alpha_overall!r} must lie in (0, alpha={self.alpha}); "
                "pass the share of alpha for the overall test, or None for alpha/2"
            )
        if len(self.mast_levels) != 3 or not all(0 < x < 0.5 for x in self.mast_levels):
            raise ParameterError(
                f"mast_levels={self.mast_levels!r} must be three one-sided levels (S, Sc, F), e.g. (0.022, 0.025, 0.003)"
            )
        _check_probability(self.enriched_fraction, "enriched_fraction", "e.g. 0.5")
        if self.intersection_test not in _INTERSECTIONS:
            raise ParameterError(f"intersection_test={self.intersection_test!r} is not one of {_INTERSECTIONS}")
        if int(self.n_simulations) < 1000:
            raise ParameterError(
                f"n_simulations={self.n_simulations!r} is too few for stable operating characteristics; pass at least 1000"
            )
        _check_power(self.screen_quantile, "screen_quantile")
        if self.shrinkage not in ("dl", "pm", "none"):
            raise ParameterError(f"shrinkage={self.shrinkage!r} is not 'dl', 'pm' or 'none'; pick one")
        if self.shrinkage_tau2 is not None and self.shrinkage_tau2 < 0:
            raise ParameterError(f"shrinkage_tau2={self.shrinkage_tau2!r} is negative; pass a variance or None")
        _check_positive(self.prior_sd_inflation, "prior_sd_inflation", "1 (no discount) or more")


# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DesignOption:
    """One design of the menu. ``None`` marks a quantity that does not apply.

    Attributes
    ----------
    n_randomized : int or None
        Randomized patients (maximum for D4).
    n_treatment, n_control : int or None
        Per arm, rounded up.
    n_subgroup, n_complement : int or None
        Randomized marker-positive / marker-negative patients (expected where accrual is not
        controlled by stratum).
    events : int or None
        Events required (time to event).
    n_screened_expected : float or None
        Expected number of patients screened.
    n_screened_quantile : int or None
        Number screened that suffices with probability ``screen_quantile``.
    alpha_subgroup, alpha_complement, alpha_overall : float or None
        One-sided nominal levels of the tests in S, Sc and F.
    power_subgroup, power_complement, power_overall, power_any : float or None
        Power at the planning effects for a claim in S, Sc (MaST: S and Sc), F (any claim
        covering all patients) and at least one claim.
    assurance_subgroup, assurance_overall, assurance_any : float or None
        The same, averaged over the uncertainty of the effects.
    cost : float or None
        cost_per_screened x screened + cost_per_randomized x randomized (expected for D4).
    assurance_per_cost : float or None
        ``assurance_any`` per 1000 cost units (tie-break).
    expected_n_randomized : float or None
        E[N randomized] (D4).
    probability_enrich, probability_futility : float or None
        Interim decisions (D4).
    type1_error, type1_error_se : float or None
        Simulated family-wise error under the global null and its Monte-Carlo SE (D4).
    n_stage1 : int or None
        Stage-1 patients (D4).
    n_randomized_raw, events_raw : float or None
        Unrounded requirements.
    design : str
        Registry key (``"all_comers"``, ``"enrichment"``, ...).
    label : str
        D1 ... D5.
    title : str
        Short description.
    claims : str
        Claims the design can support.
    feasible : bool
        A benefit is planned, the design is estimable and the size is within ``max_n``.
    estimable : bool
        False when the planning effects rest on fewer than ``min_cell`` patients or events per arm
        (every size is then None and the design is never feasible).
    notes : str
        Sizing details in words.
    """

    n_randomized: int | None
    n_treatment: int | None
    n_control: int | None
    n_subgroup: int | None
    n_complement: int | None
    events: int | None
    n_screened_expected: float | None
    n_screened_quantile: int | None
    alpha_subgroup: float | None
    alpha_complement: float | None
    alpha_overall: float | None
    power_subgroup: float | None
    power_complement: float | None
    power_overall: float | None
    power_any: float | None
    assurance_subgroup: float | None
    assurance_overall: float | None
    assurance_any: float | None
    cost: float | None
    assurance_per_cost: float | None
    expected_n_randomized: float | None
    probability_enrich: float | None
    probability_futility: float | None
    type1_error: float | None
    type1_error_se: float | None
    n_stage1: int | None
    n_randomized_raw: float | None
    events_raw: float | None
    design: str
    label: str
    title: str
    claims: str
    feasible: bool
    notes: str
    estimable: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dictionary."""
        return _plain(asdict(self))


@dataclass(frozen=True)
class DesignMenu:
    """Designs for the next trial, the recommended one and why.

    Attributes
    ----------
    prevalence : float
        P(marker positive) in the trial (assay-positive fraction).
    planning_effect_subgroup, planning_effect_complement, planning_effect_overall : float
        Effects the designs are sized on, outcome scale (after shrinkage). The overall one is
        pi x subgroup + (1 - pi) x complement, used by every design's overall claim (all-comers
        included); without a subgroup (or when it is not estimable) the discovery trial's overall
        estimate, and the subgroup and complement ones are NaN.
    planning_sd_subgroup, planning_sd_complement, planning_sd_overall : float
        Their uncertainty (posterior SDs) used for assurance.
    probability_complement_benefit : float
        P(complement effect >= fraction x subgroup effect): the heterogeneity evidence of rules
        2 and 3.
    probability_complement_relevant : float
        P(complement effect >= smallest relevant effect) (rule 2).
    enrichment_ratio_randomized, enrichment_ratio_screened : float or None
        From the menu's own numbers: all-comers randomized N over enrichment's, and enrichment's
        expected number screened over all-comers' randomized N (the Simon & Maitournam 2005 ratios,
        with this menu's rounding and variance model); None when either design has no size.
    tau2 : float or None
        Between-subgroup variance of the shrinkage.
    options : list of DesignOption
        The menu, D1 to D5.
    recommended : str
        Registry key of the recommended design.
    reasons : list of str
        Why, in words.
    outcome : str
        Endpoint type.
    """

    prevalence: float
    planning_effect_subgroup: float
    planning_effect_complement: float
    planning_effect_overall: float
    planning_sd_subgroup: float
    planning_sd_complement: float
    planning_sd_overall: float
    probability_complement_benefit: float
    probability_complement_relevant: float
    enrichment_ratio_randomized: float | None
    enrichment_ratio_screened: float | None
    tau2: float | None
    options: list[DesignOption]
    recommended: str
    reasons: list[str]
    outcome: str
    curves: pd.DataFrame | None = None  # power and assurance against N (power_assurance_curves)

    def option(self, design: str) -> DesignOption:
        """The option with registry key ``design``."""
        for option in self.options:
            if option.design == design:
                return option
        raise KeyError(f"no design {design!r} in the menu; have {[o.design for o in self.options]}")

    def to_frame(self) -> pd.DataFrame:
        """One row per design, indexed by registry key, with a ``recommended`` column."""
        frame = pd.DataFrame([option.to_dict() for option in self.options]).set_index("design")
        frame["recommended"] = frame.index == self.recommended
        return frame

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dictionary (plain floats, ints, str, bool and None only); curves excluded."""
        out = asdict(replace(self, curves=None))
        out.pop("curves")
        return _plain(out)


# --------------------------------------------------------------------------------------------
# The planning problem on the benefit scale
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Endpoint:
    """Endpoint arithmetic on the benefit scale (positive = benefit).

    A "unit" is a patient (continuous, binary) or an event (time to event). The estimated
    effect from u units has standard error unit_sd (1 + r) / sqrt(r u).
    """

    outcome: str
    sd: float
    control_rate: float
    event_probability: float
    ratio: float
    sign: float  # effect on the outcome scale = sign x benefit

    @property
    def units_per_patient(self) -> float:
        return self.event_probability if self.outcome == "time_to_event" else 1.0

    def unit_sd(self, benefit: float) -> float:
        if self.outcome == "continuous":
            return self.sd
        if self.outcome == "time_to_event":
            return 1.0  # log HR from d events: variance (1 + r)^2 / (r d) (Schoenfeld 1981)
        p_c = self.control_rate
        p_t = min(max(p_c + self.sign * benefit, 1e-6), 1 - 1e-6)
        return math.sqrt((p_t * (1 - p_t) + self.ratio * p_c * (1 - p_c)) / (1 + self.ratio))

    def se(self, benefit: float, units: float) -> float:
        return self.unit_sd(benefit) * (1 + self.ratio) / math.sqrt(self.ratio * units)

    def required_units(self, benefit: float, alpha: float, power: float) -> float:
        """Unrounded units for one claim (inf without a benefit)."""
        if benefit <= 0:
            return math.inf
        if self.outcome == "binary":
            p_t = self.control_rate + self.sign * benefit
            if not 0 < p_t < 1:
                return math.inf
            from statsmodels.stats.proportion import samplesize_proportions_2indep_onetail

            n_t = float(
                samplesize_proportions_2indep_onetail(
                    power=power,
                    alpha=alpha,
                    **_binary_statsmodels_args(self.control_rate, p_t, self.ratio),
                )
            )
            return n_t * (1 + 1 / self.ratio)
        return self.unit_sd(benefit) ** 2 * (1 + self.ratio) ** 2 / self.ratio * (_z(alpha) + _z(1 - power)) ** 2 / benefit**2

    def drift(self, benefit: float, units: float, alpha: float) -> float:
        """Mean of the claim's z-statistic, so that power = Phi(drift - z_{1-alpha})."""
        if self.outcome == "binary":
            p_t = self.control_rate + self.sign * benefit
            if not 0 < p_t < 1:
                return -40.0  # an impossible response probability: no chance of success
            from statsmodels.stats.proportion import power_proportions_2indep

            args = _binary_statsmodels_args(self.control_rate, p_t, self.ratio)
            # The test keeps the planned direction even when this effect points the other way.
            args["alternative"] = "smaller" if self.sign < 0 else "larger"
            nobs_treated = units * self.ratio / (1 + self.ratio)
            power = float(power_proportions_2indep(nobs1=nobs_treated, alpha=alpha, return_results=False, **args))
            power = min(max(power, 1e-15), 1 - 1e-15)
            return _z(alpha) + float(stats.norm.ppf(power))
        return benefit / self.se(benefit, units)

    def describe(self, effect: float) -> str:
        """An outcome-scale effect in words."""
        if self.outcome == "time_to_event":
            return f"HR {math.exp(effect):.2f}"
        if self.outcome == "binary":
            return f"{100 * effect:+.1f} percentage points"
        return f"{effect:+.2f}"


@dataclass(frozen=True)
class _Plan:
    """Everything a design function needs, on the benefit scale, for the assay-defined strata."""

    endpoint: _Endpoint
    settings: DesignSettings
    prevalence: float  # P(assay positive)
    mean: np.ndarray  # planning benefit in A+ and A-
    covariance: np.ndarray  # prior covariance of (A+, A-) benefits (inflated)
    overall: float  # overall planning benefit: mixture @ mean with a subgroup, else the overall estimate
    overall_sd: float  # its prior SD (inflated)
    seed: int
    has_subgroup: bool = True  # False: all-comers only, planned on the overall estimate
    common_sd: float = 1.0  # per-unit SD of every claim on F (see the module docstring)

    @property
    def mixture(self) -> np.ndarray:
        """Loadings of theta_F on (theta_A+, theta_A-)."""
        return np.array([self.prevalence, 1 - self.prevalence])

    @property
    def overall_mixture(self) -> float:
        return float(self.mixture @ self.mean)

    def stratum_se(self, units: float) -> float:
        """SE of a stratum's effect from ``units`` of it, with the common per-unit SD."""
        r = self.endpoint.ratio
        return self.common_sd * (1 + r) / math.sqrt(r * units)


def _patients_from_units(plan: _Plan, units_raw: float) -> tuple[float, float | None, int | None]:
    """Raw patients, raw events and rounded-up events for a unit requirement."""
    if plan.endpoint.outcome == "time_to_event":
        events = _ceil(units_raw)
        return events / plan.endpoint.event_probability, units_raw, events
    return units_raw, None, None


def _blank_option(design: str, label: str, title: str, claims: str) -> dict[str, Any]:
    values: dict[str, Any] = {f.name: None for f in fields(DesignOption)}
    values.update(design=design, label=label, title=title, claims=claims, feasible=False, notes="", estimable=True)
    return values


def _finish(plan: _Plan, values: dict[str, Any]) -> DesignOption:
    """Fill cost, assurance per cost and feasibility."""
    s = plan.settings
    screened = values["n_screened_expected"]
    randomized = values["expected_n_randomized"] or values["n_randomized"]
    if screened is not None and randomized is not None:
        values["cost"] = float(s.cost_per_screened * screened + s.cost_per_randomized * randomized)
        if values["assurance_any"] is not None and values["cost"] > 0:
            values["assurance_per_cost"] = 1000 * values["assurance_any"] / values["cost"]
    if values["n_randomized"] is not None:
        values["feasible"] = bool(values["n_randomized"] <= s.max_n and values["estimable"])
    return DesignOption(**values)


def _not_estimable(option: DesignOption, why: str) -> DesignOption:
    """The design's name, claims and levels kept; every number blank; never feasible."""
    kept = {"design", "label", "title", "claims", "alpha_subgroup", "alpha_complement", "alpha_overall"}
    values = {f.name: getattr(option, f.name) if f.name in kept else None for f in fields(DesignOption)}
    values.update(feasible=False, estimable=False, notes=f"not estimable: {why}")
    return DesignOption(**values)


def _predictive(
    plan: _Plan,
    drifts: np.ndarray,
    slopes: np.ndarray,
    loadings: np.ndarray,
    noise: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Prior-predictive mean and covariance of the claims' z-statistics.

    Z_k = drift_k + slope_k (theta_k - m_k) + noise with theta = loadings @ (theta_A+, theta_A-)
    and the prior N(m, covariance): the O'Hagan et al. (2005) assurance generalised to several
    correlated claims (exactly linear for means and time to event; linearised at the planning
    effect for proportions).
    """
    jacobian = slopes[:, None] * loadings
    return drifts, noise + jacobian @ plan.covariance @ jacobian.T


def _upper(mean: np.ndarray, cov: np.ndarray, crit: np.ndarray, k: int) -> float:
    """P(Z_k > c_k)."""
    return float(stats.norm.sf((crit[k] - mean[k]) / math.sqrt(cov[k, k])))


def _lower_both(mean: np.ndarray, cov: np.ndarray, crit: np.ndarray, j: int, k: int) -> float:
    """P(Z_j <= c_j, Z_k <= c_k)."""
    sj, sk = math.sqrt(cov[j, j]), math.sqrt(cov[k, k])
    rho = float(np.clip(cov[j, k] / (sj * sk), -0.999999999, 0.999999999))
    return float(bivariate_normal_cdf((crit[j] - mean[j]) / sj, (crit[k] - mean[k]) / sk, rho))


def _upper_both(mean: np.ndarray, cov: np.ndarray, crit: np.ndarray, j: int, k: int) -> float:
    """P(Z_j > c_j, Z_k > c_k)."""
    sj, sk = math.sqrt(cov[j, j]), math.sqrt(cov[k, k])
    rho = float(np.clip(cov[j, k] / (sj * sk), -0.999999999, 0.999999999))
    return float(bivariate_normal_cdf((mean[j] - crit[j]) / sj, (mean[k] - crit[k]) / sk, rho))


# --------------------------------------------------------------------------------------------
# The designs (registry: one function per design)
# --------------------------------------------------------------------------------------------


def _design_all_comers(plan: _Plan) -> DesignOption:
    """D1: everyone randomized; H_F at the full alpha, sized from the overall estimate."""
    s, ep = plan.settings, plan.endpoint
    values = _blank_option("all_comers", "D1", "All-comers (untargeted)", "F")
    values["alpha_overall"] = s.alpha
    theta = plan.overall
    if not plan.has_subgroup:
        units_raw = ep.required_units(theta, s.alpha, s.power)
    elif theta > 0:
        # The stratified estimator of F (as in D3) with all of alpha: the same variance model as
        # every other design's overall claim.
        units_raw = plan.stratum_se(1.0) ** 2 * (_z(s.alpha) + _z(1 - s.power)) ** 2 / theta**2
    else:
        units_raw = math.inf
    if not math.isfinite(units_raw):
        values["notes"] = "the overall effect shows no benefit, so no all-comers size exists"
        return _finish(plan, values)
    n_raw, events_raw, events = _patients_from_units(plan, units_raw)
    _, _, n_t, n_c = _arms(n_raw, s.allocation_ratio)
    n = n_t + n_c
    units = events if events is not None else n
    if plan.has_subgroup:
        se = plan.stratum_se(units)
        drift = theta / se
    else:
        se = ep.se(theta, units)
        drift = ep.drift(theta, units, s.alpha)
    crit = np.array([_z(s.alpha)])
    slope = 1 / se
    cov = np.array([[1 + slope**2 * plan.overall_sd**2]])
    power = float(stats.norm.cdf(drift - crit[0]))
    assurance_f = _upper(np.array([drift]), cov, crit, 0)
    values.update(
        n_randomized=n,
        n_treatment=n_t,
        n_control=n_c,
        n_subgroup=int(round(plan.prevalence * n)) if math.isfinite(plan.prevalence) else None,
        n_complement=n - int(round(plan.prevalence * n)) if math.isfinite(plan.prevalence) else None,
        events=events,
        events_raw=events_raw,
        n_randomized_raw=n_raw,
        n_screened_expected=float(n),
        n_screened_quantile=n,
        power_overall=power,
        power_any=power,
        assurance_overall=assurance_f,
        assurance_any=assurance_f,
        notes=(
            f"sized for {s.power:.0%} power on the overall effect {ep.describe(ep.sign * theta)}"
            + (
                " (prevalence-weighted mean of the subgroup and complement planning effects), analysed stratified by marker"
                if plan.has_subgroup
                else " (the discovery trial's overall estimate)"
            )
        ),
    )
    return _finish(plan, values)


def _design_enrichment(plan: _Plan) -> DesignOption:
    """D2: only assay-positive patients randomized; H_S at the full alpha."""
    s, ep = plan.settings, plan.endpoint
    values = _blank_option("enrichment", "D2", "Enrichment (targeted)", "S only")
    values["alpha_subgroup"] = s.alpha
    theta = float(plan.mean[0])
    units_raw = ep.required_units(theta, s.alpha, s.power)
    if not math.isfinite(units_raw):
        values["notes"] = "the planning effect in marker-positive patients shows no benefit"
        return _finish(plan, values)
    n_raw, events_raw, events = _patients_from_units(plan, units_raw)
    _, _, n_t, n_c = _arms(n_raw, s.allocation_ratio)
    n = n_t + n_c
    units = events if events is not None else n
    drift = ep.drift(theta, units, s.alpha)
    slope = 1 / ep.se(theta, units)
    crit = np.array([_z(s.alpha)])
    mean, cov = _predictive(plan, np.array([drift]), np.array([slope]), np.array([[1.0, 0.0]]), np.eye(1))
    screening = number_to_screen(n, plan.prevalence, quantile=s.screen_quantile)
    power = float(stats.norm.cdf(drift - crit[0]))
    assurance_s = _upper(mean, cov, crit, 0)
    values.update(
        n_randomized=n,
        n_treatment=n_t,
        n_control=n_c,
        n_subgroup=n,
        n_complement=0,
        events=events,
        events_raw=events_raw,
        n_randomized_raw=n_raw,
        n_screened_expected=screening.expected,
        n_screened_quantile=screening.at_quantile,
        power_subgroup=power,
        power_any=power,
        assurance_subgroup=assurance_s,
        assurance_any=assurance_s,
        notes=(
            f"marker-positive patients only ({plan.prevalence:.0%} of those screened); no "
            "information on marker-negative patients and a label limited to S"
        ),
    )
    return _finish(plan, values)


def _stratified_units(plan: _Plan, fraction: float, split: AlphaSplit) -> tuple[float, float, float, str]:
    """Units needed by a stratified design with a share ``fraction`` of S among randomized.

    F is estimated by the prevalence-weighted (stratified) estimator, so with the common per-unit
    SD sd: Var(theta_F) = (1 + r)^2 sd^2/(r U) (pi^2 / lambda + (1 - pi)^2 / (1 - lambda)), at
    least all-comers' (1 + r)^2 sd^2/(r U), with equality at lambda = pi.
    """
    s, ep = plan.settings, plan.endpoint
    pi, theta_s = plan.prevalence, float(plan.mean[0])
    theta_f = plan.overall_mixture
    k = (1 + s.allocation_ratio) ** 2 / s.allocation_ratio
    var_f = k * plan.common_sd**2 * (pi**2 / fraction + (1 - pi) ** 2 / (1 - fraction))
    units_s = ep.required_units(theta_s, split.alpha_subgroup, s.power) / fraction
    if theta_f > 0:
        units_f = var_f * (split.critical_overall + _z(1 - s.power)) ** 2 / theta_f**2
    else:
        units_f = 0.0
    unit = "events" if ep.outcome == "time_to_event" else "patients"
    words = f"the subgroup claim needs {units_s:,.1f} {unit} in total, the overall claim " + (
        f"{units_f:,.1f}" if theta_f > 0 else "cannot be powered (no overall benefit)"
    )
    return max(units_s, units_f), units_s, units_f, words


def _stratified_correlation(plan: _Plan, fraction: float) -> float:
    """corr(Z_S, Z_F) = pi SE_S / SE_F for the stratified estimator (sqrt(pi) for lambda = pi)."""
    pi = plan.prevalence
    a = pi**2 / fraction
    b = (1 - pi) ** 2 / (1 - fraction)
    return math.sqrt(a / (a + b))


def _stratified_option(
    plan: _Plan,
    values: dict[str, Any],
    fraction: float,
    split: AlphaSplit,
    *,
    controlled: bool,
) -> DesignOption:
    """Shared by D3 (fraction = pi, accrual by prevalence) and D5 (fraction > pi, quotas)."""
    s, ep = plan.settings, plan.endpoint
    pi, theta_s = plan.prevalence, float(plan.mean[0])
    values.update(alpha_subgroup=split.alpha_subgroup, alpha_overall=split.alpha_overall)
    units_raw, _, _, words = _stratified_units(plan, fraction, split)
    if not math.isfinite(units_raw):
        values["notes"] = "the planning effect in marker-positive patients shows no benefit"
        return _finish(plan, values)
    n_raw, events_raw, events = _patients_from_units(plan, units_raw)
    r = s.allocation_ratio
    if controlled:
        # Quotas per stratum: round up per arm within each stratum.
        _, _, st, sc = _arms(fraction * n_raw, r)
        _, _, ct, cc = _arms((1 - fraction) * n_raw, r)
        n_t, n_c = st + ct, sc + cc
        n_sub, n_comp = st + sc, ct + cc
    else:
        _, _, n_t, n_c = _arms(n_raw, r)
        n_sub = int(round(pi * (n_t + n_c)))
        n_comp = n_t + n_c - n_sub
    n = n_t + n_c
    units = events if events is not None else n
    se_s = plan.stratum_se(fraction * units)
    se_c = plan.stratum_se((1 - fraction) * units)
    se_f = math.sqrt(pi**2 * se_s**2 + (1 - pi) ** 2 * se_c**2)
    theta_f = plan.overall_mixture
    drift_s = ep.drift(theta_s, fraction * units, split.alpha_subgroup)
    drift_f = theta_f / se_f
    crit = np.array([split.critical_subgroup, split.critical_overall])
    a = pi * se_s / se_f  # Z_F noise = a Z_S + sqrt(1 - a^2) Z_Sc
    noise = np.array([[1.0, a], [a, 1.0]])
    loadings = np.array([[1.0, 0.0], plan.mixture])
    drifts = np.array([drift_s, drift_f])
    slopes = np.array([1 / se_s, 1 / se_f])
    point = (drifts, noise)
    prior = _predictive(plan, drifts, slopes, loadings, noise)
    powers = [_upper(*point, crit, 0), _upper(*point, crit, 1), 1 - _lower_both(*point, crit, 0, 1)]
    sure = [_upper(*prior, crit, 0), _upper(*prior, crit, 1), 1 - _lower_both(*prior, crit, 0, 1)]
    if controlled:
        screening = number_to_screen(n_sub, pi, n_negative=n_comp, quantile=s.screen_quantile)
        screened, screened_q = screening.expected, screening.at_quantile
    else:
        screened, screened_q = float(n), n
    values.update(
        n_randomized=n,
        n_treatment=n_t,
        n_control=n_c,
        n_subgroup=n_sub,
        n_complement=n_comp,
        events=events,
        events_raw=events_raw,
        n_randomized_raw=n_raw,
        n_screened_expected=screened,
        n_screened_quantile=screened_q,
        power_subgroup=powers[0],
        power_overall=powers[1],
        power_any=powers[2],
        assurance_subgroup=sure[0],
        assurance_overall=sure[1],
        assurance_any=sure[2],
        notes=(f"{split.method.replace('_', '-')} split (correlation {split.correlation:.3f}): {words}"),
    )
    return _finish(plan, values)


def _split_for(plan: _Plan, fraction: float, method: str | None = None) -> AlphaSplit:
    s = plan.settings
    return split_alpha(
        s.alpha,
        _stratified_correlation(plan, fraction),
        alpha_overall=s.alpha_overall,
        method=method or s.alpha_split,  # type: ignore[arg-type]
    )


def _design_stratified(plan: _Plan) -> DesignOption:
    """D3: everyone randomized, stratified by marker; H_S and H_F with a correlated alpha split."""
    values = _blank_option("stratified", "D3", "Biomarker-stratified, co-primary S and F", "S and/or F")
    fraction = plan.prevalence
    return _stratified_option(plan, values, fraction, _split_for(plan, fraction), controlled=False)


def _design_enriched_stratified(plan: _Plan) -> DesignOption:
    """D5: S over-represented (share ``enriched_fraction``), Sc capped; F re-weighted."""
    fraction = max(plan.settings.enriched_fraction, plan.prevalence)
    values = _blank_option(
        "enriched_stratified",
        "D5",
        f"Enriched-stratified ({fraction:.0%} marker-positive)",
        "S and/or F (re-weighted)",
    )
    return _stratified_option(plan, values, fraction, _split_for(plan, fraction), controlled=True)


def _design_mast(plan: _Plan) -> DesignOption:
    """D3b: MaST (Freidlin, Korn & Gray 2014): S first, then Sc if S wins, else F.

    Sized for the subgroup test (the primary question of MaST); the levels are the esDesign
    ``MaST.sim`` ones scaled to alpha.
    """
    s, ep = plan.settings, plan.endpoint
    values = _blank_option("stratified_mast", "D3b", "Biomarker-stratified, MaST fixed sequence", "S, S and Sc, or F")
    scale = s.alpha / 0.025
    a_s, a_c, a_f = (level * scale for level in s.mast_levels)
    values.update(alpha_subgroup=a_s, alpha_complement=a_c, alpha_overall=a_f)
    pi, (theta_s, theta_c) = plan.prevalence, plan.mean
    units_s = ep.required_units(theta_s, a_s, s.power)
    if not math.isfinite(units_s):
        values["notes"] = "the planning effect in marker-positive patients shows no benefit"
        return _finish(plan, values)
    n_raw, events_raw, events = _patients_from_units(plan, units_s / pi)
    _, _, n_t, n_c = _arms(n_raw, s.allocation_ratio)
    n = n_t + n_c
    units = events if events is not None else n
    se_s, se_c = plan.stratum_se(pi * units), plan.stratum_se((1 - pi) * units)
    se_f = math.sqrt(pi**2 * se_s**2 + (1 - pi) ** 2 * se_c**2)
    a, b = pi * se_s / se_f, (1 - pi) * se_c / se_f
    # Claims in order S, Sc, F; Z_S and Z_Sc independent, Z_F = a Z_S + b Z_Sc in noise.
    noise = np.array([[1.0, 0.0, a], [0.0, 1.0, b], [a, b, 1.0]])
    loadings = np.array([[1.0, 0.0], [0.0, 1.0], plan.mixture])
    drifts = np.array(
        [
            ep.drift(theta_s, pi * units, a_s),
            ep.drift(theta_c, (1 - pi) * units, a_c),
            plan.overall_mixture / se_f,
        ]
    )
    slopes = np.array([1 / se_s, 1 / se_c, 1 / se_f])
    crit = np.array([_z(a_s), _z(a_c), _z(a_f)])

    def claims(mean: np.ndarray, cov: np.ndarray) -> tuple[float, float, float, float]:
        p_s = _upper(mean, cov, crit, 0)
        p_s_and_c = _upper_both(mean, cov, crit, 0, 1)
        # F is tested only when S fails: P(Z_S <= c_S, Z_F > c_F).
        p_fallback = (1 - p_s) - _lower_both(mean, cov, crit, 0, 2)
        p_any = 1 - _lower_both(mean, cov, crit, 0, 2)
        return p_s, p_s_and_c, p_s_and_c + p_fallback, p_any

    point = claims(drifts, noise)
    prior = claims(*_predictive(plan, drifts, slopes, loadings, noise))
    values.update(
        n_randomized=n,
        n_treatment=n_t,
        n_control=n_c,
        n_subgroup=int(round(pi * n)),
        n_complement=n - int(round(pi * n)),
        events=events,
        events_raw=events_raw,
        n_randomized_raw=n_raw,
        n_screened_expected=float(n),
        n_screened_quantile=n,
        power_subgroup=point[0],
        power_complement=point[1],
        power_overall=point[2],
        power_any=point[3],
        assurance_subgroup=prior[0],
        assurance_overall=prior[2],
        assurance_any=prior[3],
        notes=(
            f"S tested at {a_s:.4f}; if it succeeds Sc at {a_c:.4f}, otherwise F at {a_f:.4f} "
            f"(family-wise error {mast_type1_error(pi, (a_s, a_c, a_f)):.4f} under the global "
            "null); sized for the subgroup test. 'overall' = a claim covering all patients "
            "(S and Sc, or F)"
        ),
    )
    return _finish(plan, values)


def _standardised(plan: _Plan, benefit: Any) -> Any:
    """Effect per patient-SD for the simulator: benefit / (common unit SD / sqrt(units per patient)).

    The common SD (not the stratum's own) keeps the simulated overall claim on the same variance
    model as all-comers.
    """
    return np.asarray(benefit) * math.sqrt(plan.endpoint.units_per_patient) / plan.common_sd


def _design_adaptive(plan: _Plan) -> DesignOption:
    """D4: two-stage adaptive enrichment, maximum size chosen by simulation."""
    s, ep = plan.settings, plan.endpoint
    values = _blank_option("adaptive_enrichment", "D4", "Two-stage adaptive enrichment", "S and/or F")
    values.update(alpha_subgroup=s.alpha, alpha_overall=s.alpha)
    pi, (theta_s, theta_c) = plan.prevalence, plan.mean
    if theta_s <= 0:
        values["notes"] = "the planning effect in marker-positive patients shows no benefit"
        return _finish(plan, values)
    delta_s = float(_standardised(plan, theta_s))
    delta_c = float(_standardised(plan, theta_c))
    seed = plan.seed

    def simulate(n_max: int, d_s: Any = delta_s, d_c: Any = delta_c, offset: int = 0):
        n1 = max(1, int(round(s.interim_fraction * n_max)))
        n2 = max(1, n_max - n1)
        return simulate_adaptive_enrichment(
            pi,
            d_s,
            d_c,
            n1,
            n2,
            allocation_ratio=s.allocation_ratio,
            alpha=s.alpha,
            intersection_test=s.intersection_test,
            futility_z=s.futility_z,
            enrich_below_z=s.enrich_below_z,
            n_simulations=s.n_simulations,
            seed=seed + offset,
            screen_quantile=s.screen_quantile,
        )

    # Smallest even maximum size reaching the target P(any claim); common random numbers make
    # the simulated power monotone enough for bisection.
    low, high = 1, max(2, int(s.max_n) // 2)
    capped = simulate(2 * high).reject_any < s.power
    if capped:
        low = high
    while high - low > 1:
        middle = (low + high) // 2
        if simulate(2 * middle).reject_any >= s.power:
            high = middle
        else:
            low = middle
    n_max = 2 * high
    at_point = simulate(n_max)

    # Assurance: one true effect pair per simulated trial, drawn from the prior.
    rng = np.random.default_rng(seed + 1)
    draws = rng.multivariate_normal(plan.mean, plan.covariance, size=s.n_simulations, method="eigh")
    at_prior = simulate(
        n_max,
        _standardised(plan, draws[:, 0]),
        _standardised(plan, draws[:, 1]),
        offset=2,
    )
    global_null = simulate(n_max, 0.0, 0.0, offset=3)
    partial_null = simulate(n_max, 0.0, delta_c, offset=4)
    n_t = _ceil(n_max * s.allocation_ratio / (1 + s.allocation_ratio))
    n_c = n_max - n_t
    events = _ceil(n_max * ep.event_probability) if ep.outcome == "time_to_event" else None
    values.update(
        n_randomized=n_max,
        n_treatment=n_t,
        n_control=n_c,
        n_subgroup=None,
        n_complement=None,
        events=events,
        n_stage1=at_point.n_stage1,
        n_screened_expected=at_point.expected_n_screened,
        n_screened_quantile=int(math.ceil(at_point.n_screened_quantile)),
        power_subgroup=at_point.reject_subgroup,
        power_overall=at_point.reject_overall,
        power_any=at_point.reject_any,
        assurance_subgroup=at_prior.reject_subgroup,
        assurance_overall=at_prior.reject_overall,
        assurance_any=at_prior.reject_any,
        expected_n_randomized=at_point.expected_n_randomized,
        probability_enrich=at_point.probability_enrich,
        probability_futility=at_point.probability_futility,
        type1_error=global_null.reject_any,
        type1_error_se=global_null.reject_any_se,
        notes=(
            f"{at_point.n_stage1} all-comers in stage 1, then {n_max - at_point.n_stage1} more "
            f"in F or in S only; {s.intersection_test.replace('_', '-')} intersection test, "
            f"inverse-normal combination; simulated family-wise error "
            f"{global_null.reject_any:.4f} (MC SE {global_null.reject_any_se:.4f}) under the "
            f"global null and P(reject H_S) = {partial_null.reject_subgroup:.4f} when only the "
            f"complement benefits ({s.n_simulations:,} trials each, seed {seed})"
        ),
    )
    option = _finish(plan, values)
    if capped:
        option = DesignOption(
            **{
                **asdict(option),
                "feasible": False,
                "notes": f"the target power is not reached within max_n = {s.max_n:,}; " + option.notes,
            }
        )
    return option


DESIGNS: dict[str, Callable[[_Plan], DesignOption]] = {
    "all_comers": _design_all_comers,
    "enrichment": _design_enrichment,
    "stratified": _design_stratified,
    "stratified_mast": _design_mast,
    "adaptive_enrichment": _design_adaptive,
    "enriched_stratified": _design_enriched_stratified,
}
"""Design registry: key -> function building its :class:`DesignOption` from the planning problem."""


# --------------------------------------------------------------------------------------------
# Planning and recommendation
# --------------------------------------------------------------------------------------------


def _probability_at_least(mean: np.ndarray, cov: np.ndarray, weights: np.ndarray, bound: float) -> float:
    """P(weights @ theta >= bound) for theta ~ N(mean, cov)."""
    m = float(weights @ mean)
    v = float(weights @ cov @ weights)
    if v <= 0:
        return 1.0 if m >= bound else 0.0
    return float(stats.norm.sf((bound - m) / math.sqrt(v)))


def _n(x: float | int | None) -> str:
    return "n/a" if x is None else f"{int(round(x)):,}"


def _screened(x: float | None) -> str:
    """An expected number screened, rounded up as in the design table."""
    return "n/a" if x is None else f"{math.ceil(x - 1e-9):,}"


def _p(x: float) -> str:
    """A probability for a sentence: two decimals, or a bound when it rounds to 0 or 1."""
    if x < 0.005:
        return "< 0.01"
    if x > 0.995:
        return "> 0.99"
    return f"= {x:.2f}"


_SHORT_NAMES = {
    "all_comers": "an all-comers trial",
    "enrichment": "enrichment",
    "stratified": "the stratified design",
    "stratified_mast": "MaST",
    "adaptive_enrichment": "adaptive enrichment",
    "enriched_stratified": "the enriched-stratified design",
}


def plan_designs(
    inputs: DesignInputs,
    settings: DesignSettings | None = None,
    seed: int = 0,
) -> DesignMenu:
    """Build the design menu for the next trial and recommend one.

    Steps: (1) shrink the subgroup and complement estimates toward their common mean
    (empirical Bayes, research note section 6.2) so that the designs are not planned on an
    optimistic discovery estimate; (2) map true subgroup effects to assay-positive and
    assay-negative strata (Maitournam & Simon 2005); (3) size every design in :data:`DESIGNS`;
    (4) apply the recommendation rule (section 7).

    Parameters
    ----------
    inputs : DesignInputs
        Estimates from the discovery analysis.
    settings : DesignSettings, optional
        Planning settings; defaults to ``DesignSettings()``.
    seed : int
        Seed for the adaptive-enrichment simulations.

    Returns
    -------
    DesignMenu

    Examples
    --------
    >>> menu = plan_designs(DesignInputs(
    ...     outcome="continuous", prevalence=0.3, effect_subgroup=0.5, se_subgroup=0.1,
    ...     effect_complement=-0.05, se_complement=0.07, effect_overall=0.115, se_overall=0.06,
    ...     heterogeneity_detected=True, outcome_sd=1.0))
    >>> menu.recommended
    'enrichment'
    """
    settings = DesignSettings() if settings is None else settings
    s, rule = settings, settings.rule
    sign = inputs.benefit_sign
    endpoint = _Endpoint(
        outcome=inputs.outcome,
        sd=float(inputs.outcome_sd or 1.0),
        control_rate=float(inputs.control_rate or 0.5),
        event_probability=float(inputs.event_probability or 1.0),
        ratio=s.allocation_ratio,
        sign=sign,
    )

    # (1) Posterior of the true effects in S and Sc, on the outcome scale.
    raw = np.array([inputs.effect_subgroup, inputs.effect_complement], dtype=float)
    raw_se = np.array([inputs.se_subgroup, inputs.se_complement], dtype=float)
    shrinkage: ShrinkageResult | None = None
    if not inputs.heterogeneity_detected:
        # No credible heterogeneity: complete pooling. Subgroup and complement share the overall
        # estimate (perfectly correlated), so every design is planned on that one effect.
        mean = np.full(2, float(inputs.effect_overall))
        cov = np.full((2, 2), float(inputs.se_overall) ** 2)
    elif s.shrinkage == "none":
        mean, cov = raw.copy(), np.diag(raw_se**2)
    else:
        shrinkage = shrink_estimates(raw, raw_se, method=s.shrinkage, tau2=s.shrinkage_tau2)
        mean, cov = np.array(shrinkage.estimates), shrinkage.covariance()

    # Heterogeneity evidence on the benefit scale: P(theta_Sc >= f theta_S) (rules 2 and 3).
    benefit_mean = sign * mean
    f = rule.complement_relevant_fraction
    p_benefit = _probability_at_least(benefit_mean, cov, np.array([-f, 1.0]), 0.0)
    if rule.complement_min_effect is None:
        p_relevant = p_benefit
        relevant_words = f"exceeds {f:.0%} of the subgroup effect" if f != 0.5 else "exceeds half the subgroup effect"
    else:
        p_relevant = _probability_at_least(benefit_mean, cov, np.array([0.0, 1.0]), sign * rule.complement_min_effect)
        relevant_words = f"is at least {endpoint.describe(rule.complement_min_effect)}"

    # Subgroup estimates resting on too few patients or events per arm cannot be planned on: the
    # menu falls back to all-comers on the overall estimate, the subgroup designs not estimable.
    thin = [(label, int(count)) for label, count in inputs.estimation_counts if count < s.min_cell]
    if thin:
        label, count = min(thin, key=lambda item: item[1])
        why = f"only {count} {label}, fewer than min_cell = {s.min_cell}"
        return _overall_menu(
            endpoint,
            s,
            seed,
            inputs.effect_overall,
            inputs.se_overall,
            head=f"the subgroup designs are not estimable ({why})",
            prevalence=inputs.prevalence,
            not_estimable=why,
        )

    # (2) Assay-defined strata.
    strata = assay_strata(inputs.prevalence, s.assay_sensitivity, s.assay_specificity)
    to_strata = np.array([[strata.ppv, 1 - strata.ppv], [1 - strata.npv, strata.npv]])
    inflation = s.prior_sd_inflation**2
    strata_mean = to_strata @ benefit_mean
    strata_cov = inflation * (to_strata @ cov @ to_strata.T)
    mixture = np.array([strata.p_positive, 1 - strata.p_positive])
    if inputs.outcome == "binary":
        # One per-patient variance for every overall claim: the strata's binomial variances averaged.
        common_sd = math.sqrt(float(mixture @ [endpoint.unit_sd(b) ** 2 for b in strata_mean]))
    else:
        common_sd = endpoint.unit_sd(0.0)
    plan = _Plan(
        endpoint=endpoint,
        settings=s,
        prevalence=strata.p_positive,
        mean=strata_mean,
        covariance=strata_cov,
        overall=float(mixture @ strata_mean),
        overall_sd=math.sqrt(float(mixture @ strata_cov @ mixture)),
        seed=int(seed),
        has_subgroup=True,
        common_sd=common_sd,
    )

    # (3) The menu.
    options = [build(plan) for build in DESIGNS.values()]
    by_name = {o.design: o for o in options}
    ratios = _enrichment_ratios(by_name)

    recommended, reasons = _recommend(inputs, s, plan, by_name, p_benefit, p_relevant, relevant_words)
    reasons.extend(_context_reasons(inputs, s, plan, shrinkage, strata, by_name, ratios, mean))

    return DesignMenu(
        prevalence=strata.p_positive,
        planning_effect_subgroup=float(mean[0]),
        planning_effect_complement=float(mean[1]),
        planning_effect_overall=float(sign * plan.overall),
        planning_sd_subgroup=float(math.sqrt(cov[0, 0])),
        planning_sd_complement=float(math.sqrt(cov[1, 1])),
        planning_sd_overall=plan.overall_sd,
        probability_complement_benefit=p_benefit,
        probability_complement_relevant=p_relevant,
        enrichment_ratio_randomized=ratios[0],
        enrichment_ratio_screened=ratios[1],
        tau2=None if shrinkage is None else shrinkage.tau2,
        options=options,
        recommended=recommended,
        reasons=reasons,
        outcome=inputs.outcome,
    )


def _enrichment_ratios(by_name: dict[str, DesignOption]) -> tuple[float | None, float | None]:
    """(all-comers N / enrichment N, enrichment expected screened / all-comers N) from the menu's numbers."""
    d1, d2 = by_name["all_comers"], by_name.get("enrichment")
    if d2 is None or not d1.n_randomized or not d2.n_randomized or d2.n_screened_expected is None:
        return None, None
    return d1.n_randomized / d2.n_randomized, d2.n_screened_expected / d1.n_randomized


def _all_comers_words(d1: DesignOption, s: DesignSettings, ep: _Endpoint, effect: float, source: str) -> str:
    """All-comers' size in a sentence; ``effect`` on the outcome scale, ``source`` says where it comes from."""
    if d1.n_randomized is None:
        return f"the overall effect {ep.describe(effect)} ({source}) shows no benefit, so an all-comers trial cannot be sized"
    return (
        f"it needs {_n(d1.n_randomized)} randomized patients ({_n(d1.n_treatment)} treated, "
        f"{_n(d1.n_control)} control) for {s.power:.0%} power on the overall effect "
        f"{ep.describe(effect)} ({source}) at one-sided alpha {s.alpha:g}; assurance "
        f"(chance of success allowing for the uncertainty of that effect) is {d1.assurance_any:.0%}"
    )


_MIXTURE_WORDS = "the prevalence-weighted mean of the subgroup and complement planning effects"


def _overall_menu(
    endpoint: _Endpoint,
    s: DesignSettings,
    seed: int,
    effect_overall: float,
    se_overall: float,
    *,
    head: str,
    prevalence: float = float("nan"),
    not_estimable: str | None = None,
) -> DesignMenu:
    """All-comers on the overall estimate, recommended because of ``head``; with ``not_estimable`` (why),
    the subgroup designs listed with blank numbers."""
    benefit = float(endpoint.sign * effect_overall)
    sd = math.sqrt(s.prior_sd_inflation**2) * float(se_overall)
    plan = _Plan(
        endpoint=endpoint,
        settings=s,
        prevalence=prevalence,
        mean=np.array([benefit, benefit]),
        covariance=np.diag([sd**2, sd**2]),
        overall=benefit,
        overall_sd=sd,
        seed=int(seed),
        has_subgroup=False,
        common_sd=endpoint.unit_sd(benefit),
    )
    d1 = _design_all_comers(plan)
    options = [d1]
    if not_estimable is not None:
        named = replace(plan, prevalence=float(prevalence))
        options += [_not_estimable(_blank(name, named), not_estimable) for name in DESIGNS if name != "all_comers"]
    reasons = [
        f"all-comers: {head}; the trial is sized from the overall effect: "
        + _all_comers_words(d1, s, endpoint, effect_overall, "the discovery trial's overall estimate")
    ]
    if not d1.feasible and d1.n_randomized is not None:
        reasons.append(f"note: this exceeds the feasible maximum of {_n(s.max_n)} randomized patients")
    if not_estimable is not None:
        reasons.append("record the marker and analyse the subgroup as a stratified secondary analysis")
    nan = float("nan")
    return DesignMenu(
        prevalence=prevalence,
        planning_effect_subgroup=nan,
        planning_effect_complement=nan,
        planning_effect_overall=float(effect_overall),
        planning_sd_subgroup=nan,
        planning_sd_complement=nan,
        planning_sd_overall=sd,
        probability_complement_benefit=nan,
        probability_complement_relevant=nan,
        enrichment_ratio_randomized=None,
        enrichment_ratio_screened=None,
        tau2=None,
        options=options,
        recommended="all_comers",
        reasons=reasons,
        outcome=endpoint.outcome,
    )


def _blank(design: str, plan: _Plan) -> DesignOption:
    """A design's option with its labels only (no sizing): what `_not_estimable` keeps."""
    labels = {
        "enrichment": ("D2", "Enrichment (targeted)", "S only"),
        "stratified": ("D3", "Biomarker-stratified, co-primary S and F", "S and/or F"),
        "stratified_mast": ("D3b", "Biomarker-stratified, MaST fixed sequence", "S, S and Sc, or F"),
        "adaptive_enrichment": ("D4", "Two-stage adaptive enrichment", "S and/or F"),
        "enriched_stratified": (
            "D5",
            f"Enriched-stratified ({max(plan.settings.enriched_fraction, plan.prevalence):.0%} marker-positive)",
            "S and/or F (re-weighted)",
        ),
    }
    label, title, claims = labels[design]
    return _finish(plan, _blank_option(design, label, title, claims))


def plan_all_comers(
    outcome: OutcomeType,
    effect_overall: float,
    se_overall: float,
    settings: DesignSettings | None = None,
    *,
    outcome_sd: float | None = None,
    control_rate: float | None = None,
    event_probability: float | None = None,
    higher_is_better: bool = True,
    why: str = "there is no candidate subgroup to target",
    seed: int = 0,
) -> DesignMenu:
    """The menu when there is no subgroup to plan for: all-comers, sized on the overall estimate, recommended.

    Parameters are those of :class:`DesignInputs` for the overall effect; ``why`` opens the first
    reason ("all-comers: <why>; the trial is sized from the overall effect: ...").

    Examples
    --------
    >>> menu = plan_all_comers("continuous", 0.25, 0.08, outcome_sd=1.0)
    >>> menu.recommended, menu.option("all_comers").n_randomized
    ('all_comers', 504)
    """
    s = DesignSettings() if settings is None else settings
    if outcome not in _OUTCOMES:
        raise ParameterError(f"outcome={outcome!r} is not one of {_OUTCOMES}; pick the endpoint type")
    if not (isinstance(effect_overall, Real) and math.isfinite(effect_overall)):
        raise ParameterError(f"effect_overall={effect_overall!r} is not a finite number; pass the estimate")
    _check_positive(se_overall, "se_overall", "the standard error of the estimate")
    if outcome == "continuous" and not (isinstance(outcome_sd, Real) and outcome_sd > 0):
        raise ParameterError(f"outcome_sd={outcome_sd!r}: a continuous outcome needs its positive standard deviation")
    if outcome == "binary":
        _check_probability(control_rate, "control_rate", "the control response rate, e.g. 0.2")  # type: ignore[arg-type]
        if not 0 < control_rate + effect_overall < 1:  # type: ignore[operator]
            raise ParameterError(
                f"effect_overall={effect_overall!r} with control_rate={control_rate!r} gives a treated response "
                "probability outside (0, 1); pass a risk difference"
            )
    if outcome == "time_to_event":
        _check_probability(event_probability, "event_probability", "an event probability, e.g. 0.6", allow_one=True)  # type: ignore[arg-type]
    sign = -1.0 if outcome == "time_to_event" or not higher_is_better else 1.0
    endpoint = _Endpoint(
        outcome=outcome,
        sd=float(outcome_sd or 1.0),
        control_rate=float(control_rate or 0.5),
        event_probability=float(event_probability or 1.0),
        ratio=s.allocation_ratio,
        sign=sign,
    )
    return _overall_menu(endpoint, s, seed, float(effect_overall), float(se_overall), head=why)


def _first_feasible(candidates: list[str], by_name: dict[str, DesignOption]) -> str | None:
    for name in candidates:
        if by_name[name].feasible:
            return name
    return None


def _best_value(by_name: dict[str, DesignOption]) -> str | None:
    """Tie-break (rule 5): the feasible design with the highest assurance per unit cost."""
    feasible = [o for o in by_name.values() if o.feasible and o.assurance_per_cost is not None]
    if not feasible:
        return None
    return max(feasible, key=lambda o: o.assurance_per_cost or 0.0).design


def _recommend(
    inputs: DesignInputs,
    s: DesignSettings,
    plan: _Plan,
    by_name: dict[str, DesignOption],
    p_benefit: float,
    p_relevant: float,
    relevant_words: str,
) -> tuple[str, list[str]]:
    """Rules of section 7, in order; returns the design key and the reasons."""
    rule = s.rule
    ep = plan.endpoint
    d1 = by_name["all_comers"]
    pi = plan.prevalence
    enrich_choice = "enriched_stratified" if s.require_complement_data else "enrichment"
    reasons: list[str] = []

    def all_comers_words() -> str:
        source = _MIXTURE_WORDS if inputs.heterogeneity_detected else "the discovery trial's overall estimate"
        return _all_comers_words(d1, s, ep, ep.sign * plan.overall, source)

    def enrichment_words(option: DesignOption) -> str:
        text = (
            f"{_SHORT_NAMES[option.design]} needs {_n(option.n_randomized)} randomized and about "
            f"{_screened(option.n_screened_expected)} screened patients ({_n(option.n_screened_quantile)} "
            f"to be {s.screen_quantile:.0%} sure)"
        )
        if d1.n_randomized is not None and option.n_randomized:
            counts = f"({_n(option.n_randomized)} vs {_n(d1.n_randomized)})"
            if d1.n_randomized >= option.n_randomized:
                text += f", {d1.n_randomized / option.n_randomized:.1f}× fewer randomized patients than all-comers {counts}"
            else:
                text += f", {option.n_randomized / d1.n_randomized:.1f}× the randomized patients of all-comers {counts}"
        return text

    fda = (
        "Per the FDA enrichment guidance (2019) the label would cover marker-positive patients "
        "only, the assay must be analytically validated (companion diagnostic), and excluding "
        "marker-negative patients needs a mechanistic or safety justification; otherwise keep a "
        "smaller stratified marker-negative cohort (D5, set require_complement_data=True)"
    )

    # Rule 0: no credible heterogeneity.
    if not inputs.heterogeneity_detected:
        reasons.append(
            "all-comers: the discovery analysis found no credible treatment-effect "
            "heterogeneity, so the trial is sized from the overall effect: " + all_comers_words()
        )
        if not d1.feasible and d1.n_randomized is not None:
            reasons.append(f"note: this exceeds the feasible maximum of {_n(s.max_n)} randomized patients")
        reasons.append(
            "record the marker and analyse the subgroup as a stratified secondary analysis; "
            "planning on the subgroup estimate would chase noise"
        )
        return "all_comers", reasons

    assay_ok = (
        s.assay_validated and s.assay_sensitivity >= rule.min_assay_accuracy and s.assay_specificity >= rule.min_assay_accuracy
    )

    # Rule 1: prevalence too small for an all-comers trial.
    if not d1.feasible:
        choice = _first_feasible([enrich_choice, "enrichment"], by_name) or enrich_choice
        why = (
            "the overall effect shows no benefit"
            if d1.n_randomized is None
            else f"an all-comers trial would need {_n(d1.n_randomized)} randomized patients, "
            f"more than the feasible maximum of {_n(s.max_n)}"
        )
        reasons.append(
            f"{by_name[choice].title.split(' (')[0].lower()}: prevalence is {pi:.0%} and {why}; "
            + enrichment_words(by_name[choice])
        )
        if not assay_ok:
            reasons.append(
                "caution: the assay is not validated to the required accuracy "
                f"({rule.min_assay_accuracy:.0%} sensitivity and specificity); validate it first"
            )
        reasons.append(fda)
        return choice, reasons

    # Rule 2: the complement shows no benefit and the assay is validated.
    if p_relevant < rule.enrichment_max_probability and assay_ok:
        choice = _first_feasible([enrich_choice], by_name) or _best_value(by_name) or enrich_choice
        option = by_name[choice]
        reasons.append(
            f"{'enrichment' if choice == 'enrichment' else option.title.lower()}: the complement "
            f"shows no benefit (P {_p(p_relevant)} that its effect {relevant_words}) and "
            f"prevalence is {pi:.0%}, so " + enrichment_words(option)
        )
        reasons.append(fda)
        return choice, reasons
    if p_relevant < rule.enrichment_max_probability:
        reasons.append(
            f"the complement shows no benefit (P {_p(p_relevant)} that its effect "
            f"{relevant_words}) but the assay is not validated (sensitivity "
            f"{s.assay_sensitivity:.0%}, specificity {s.assay_specificity:.0%}, validated: "
            f"{s.assay_validated}), so enrichment is premature"
        )

    # Rule 3: little heterogeneity.
    if p_benefit > rule.all_comers_min_probability:
        reasons.append(
            f"all-comers: heterogeneity looks small (P {_p(p_benefit)} that the complement's "
            f"effect is at least {rule.complement_relevant_fraction:.0%} of the subgroup's), so "
            + all_comers_words()
            + "; analyse the subgroup as a stratified secondary analysis"
        )
        return "all_comers", reasons

    # Rule 4: uncertain predictivity.
    quick = s.endpoint_delay <= rule.adaptive_max_endpoint_delay
    in_range = rule.adaptive_prevalence_min <= pi <= rule.adaptive_prevalence_max
    uncertain = (
        f"whether the marker is predictive is uncertain (P {_p(p_benefit)} that the "
        f"complement's effect is at least {rule.complement_relevant_fraction:.0%} of the "
        "subgroup's)"
    )
    d3, d3b, d4 = by_name["stratified"], by_name["stratified_mast"], by_name["adaptive_enrichment"]
    candidates = (["adaptive_enrichment"] if quick and in_range else []) + ["stratified"]
    choice = _first_feasible(candidates, by_name) or _best_value(by_name) or "stratified"
    if choice == "adaptive_enrichment":
        reasons.append(
            f"adaptive enrichment: {uncertain}, prevalence {pi:.0%} lies in "
            f"{rule.adaptive_prevalence_min:.0%}-{rule.adaptive_prevalence_max:.0%} and the "
            f"endpoint is observed quickly ({s.endpoint_delay:.0%} of the accrual period), so "
            f"a two-stage trial can decide at the interim (after {_n(d4.n_stage1)} patients) "
            f"whether to continue in everyone or only in the subgroup: at most "
            f"{_n(d4.n_randomized)} randomized (expected {_n(d4.expected_n_randomized)}), "
            f"P(claim) {d4.power_any:.0%} at the planning effects, assurance "
            f"{d4.assurance_any:.0%}, simulated family-wise error {d4.type1_error:.4f} "
            f"(alpha {s.alpha:g})"
        )
    elif choice == "stratified":
        why_not_adaptive = (
            "the endpoint is too slow for an interim decision"
            if not quick
            else f"prevalence {pi:.0%} is outside the range where adaptation pays"
            if not in_range
            else "the adaptive design is not feasible"
        )
        reasons.append(
            f"stratified: {uncertain} and {why_not_adaptive}, so randomize everyone, stratified "
            f"by marker, with co-primary tests in S (alpha {d3.alpha_subgroup:.4f}) and F "
            f"(alpha {d3.alpha_overall:.4f}): {_n(d3.n_randomized)} randomized, power "
            f"{d3.power_subgroup:.0%} in S and {d3.power_overall:.0%} in F, assurance of any "
            f"claim {d3.assurance_any:.0%}"
        )
        alternatives = []
        for method in _SPLITS:
            if method == s.alpha_split:
                continue
            alt = _stratified_option(
                plan,
                _blank_option("stratified", "D3", "", ""),
                plan.prevalence,
                _split_for(plan, plan.prevalence, method),
                controlled=False,
            )
            alternatives.append(
                f"{method.replace('_', '-')} split (S {alt.alpha_subgroup:.4f} / F "
                f"{alt.alpha_overall:.4f}) needs {_n(alt.n_randomized)}"
            )
        alternatives.append(f"MaST (D3b) needs {_n(d3b.n_randomized)} with power {d3b.power_subgroup:.0%} in S")
        reasons.append("alternatives: " + "; ".join(alternatives))
    else:
        option = by_name[choice]
        reasons.append(
            f"{option.title.lower()}: {uncertain}; the stratified and adaptive designs exceed "
            f"the feasible maximum, and this design has the highest assurance per unit cost"
        )
    return choice, reasons


def _context_reasons(
    inputs: DesignInputs,
    s: DesignSettings,
    plan: _Plan,
    shrinkage: ShrinkageResult | None,
    strata: AssayStrata,
    by_name: dict[str, DesignOption],
    ratios: tuple[float | None, float | None],
    mean: np.ndarray,
) -> list[str]:
    """Always-shown context: the overall planning effect, efficiency ratios (from the table), shrinkage and assay."""
    ep = plan.endpoint
    if inputs.heterogeneity_detected:
        out = [
            f"every design plans its overall claim on one overall effect, {ep.describe(ep.sign * plan.overall)}: "
            f"{_MIXTURE_WORDS} (the discovery trial's overall estimate was {ep.describe(inputs.effect_overall)})"
        ]
    else:
        out = [
            f"every design is planned on the discovery trial's overall estimate {ep.describe(inputs.effect_overall)} "
            "in the subgroup and the complement alike (no credible heterogeneity: complete pooling); their held-out "
            f"estimates were {ep.describe(inputs.effect_subgroup)} and {ep.describe(inputs.effect_complement)}"
        ]
    if ratios[0] is not None and ratios[1] is not None:
        d1, d2 = by_name["all_comers"], by_name["enrichment"]
        out.append(
            f"efficiency (Simon & Maitournam 2005), from the table: all-comers randomizes {ratios[0]:.1f}× the patients "
            f"enrichment randomizes ({_n(d1.n_randomized)} vs {_n(d2.n_randomized)}), and enrichment screens "
            f"{ratios[1]:.2f}× the number all-comers randomizes ({_screened(d2.n_screened_expected)} vs {_n(d1.n_randomized)})"
        )
    if shrinkage is not None:
        out.append(
            f"planning effects are empirical-Bayes shrunk toward the common mean "
            f"({shrinkage.method} tau^2 = {shrinkage.tau2:.4g}): subgroup "
            f"{ep.describe(inputs.effect_subgroup)} -> {ep.describe(mean[0])}, complement "
            f"{ep.describe(inputs.effect_complement)} -> {ep.describe(mean[1])}; a subgroup found "
            "by searching overstates its effect (winner's curse)"
        )
    if s.assay_sensitivity < 1 or s.assay_specificity < 1:
        out.append(
            f"with assay sensitivity {s.assay_sensitivity:.0%} and specificity "
            f"{s.assay_specificity:.0%}, {strata.p_positive:.0%} of screened patients test "
            f"positive and {strata.ppv:.0%} of them are truly in the subgroup, which dilutes the "
            f"enriched effect to {ep.describe(ep.sign * plan.mean[0])}"
        )
    if inputs.outcome == "time_to_event":
        out.append(
            "time to event: the overall log hazard ratio of every design, all-comers included, is the event-weighted "
            "mean of the stratum log hazard ratios (hazard ratios do not average, and proportional hazards within strata "
            "do not imply them overall); check by simulation if the design is close to a boundary"
        )
    return out


def power_assurance_curves(menu: DesignMenu, inputs: DesignInputs, settings: DesignSettings, points: int = 40) -> pd.DataFrame:
    """Power at the planning effect and assurance, against randomized N, for all-comers and enrichment.

    Normal approximation on the outcome's scale (binary outcomes: SD sqrt(p(1 - p)) at the control
    rate); time-to-event menus are sized in events and are not drawn here.
    """
    if inputs.outcome == "time_to_event":
        return pd.DataFrame(columns=["design", "n_randomized", "power", "assurance"])
    sd = (
        float(inputs.outcome_sd)
        if inputs.outcome == "continuous"
        else float(np.sqrt(inputs.control_rate * (1 - inputs.control_rate)))
    )
    sign = inputs.benefit_sign
    plans = {"all_comers": (sign * menu.planning_effect_overall, float(menu.planning_sd_overall))}
    if math.isfinite(menu.planning_effect_subgroup):
        plans["enrichment"] = (sign * menu.planning_effect_subgroup, float(menu.planning_sd_subgroup))
    largest = max(option.n_randomized or 0 for option in menu.options if option.design in plans)
    grid = np.unique(np.linspace(20, max(2 * largest, 100), points).astype(int) // 2 * 2)
    rows = []
    for design, (effect, prior_sd) in plans.items():
        for n in grid:
            per_arm = n / 2
            rows.append(
                {
                    "design": design,
                    "n_randomized": int(n),
                    "power": power_continuous(per_arm, effect, sd, alpha=settings.alpha) if effect > 0 else float("nan"),
                    "assurance": assurance(per_arm, effect, prior_sd, sd=sd, alpha=settings.alpha),
                }
            )
    return pd.DataFrame(rows)
