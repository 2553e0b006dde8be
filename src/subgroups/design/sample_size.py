"""One-population sample size and power of a two-arm randomized trial, one-sided: difference in means
(common SD), difference in proportions (pooled null variance, through statsmodels), and time to
event: events for a log-rank / Cox test (Schoenfeld 1981), the probability of an event by the
analysis, and patients by Schoenfeld, by Lachin & Foulkes (1986) and by Freedman (1982). Sizes are
rounded up per arm, events are rounded up; ``allocation_ratio`` is treated patients per control
patient (1 = 1:1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

from subgroups.design.checks import (
    _ceil,
    _check_alpha,
    _check_finite,
    _check_hazard_ratio,
    _check_positive,
    _check_probability,
    _check_sizing,
)
from subgroups.design.normal import _z
from subgroups.errors import ParameterError
from subgroups.plain import _FrameMixin


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


def _normal_units(effect: float, sd: float, alpha: float, power: float, allocation_ratio: float) -> float:
    """Units (patients, or events with ``sd = 1``) for a one-sided z-test of ``effect``, unrounded:
    (1 + r)^2 / r sd^2 (z_{1-alpha} + z_{1-beta})^2 / effect^2."""
    r = allocation_ratio
    return (1 + r) ** 2 / r * sd**2 * (_z(alpha) + _z(1 - power)) ** 2 / effect**2


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
    _check_sizing(alpha, power, allocation_ratio)
    _check_positive(sd, "sd", "the outcome standard deviation, e.g. sd=1.0")
    _check_finite(effect, "effect", "the difference in means to detect")
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
        n_total_raw = _normal_units(effect, sd, alpha, power, r)
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
    _check_finite(effect, "effect", "the difference in means")
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

    _check_sizing(alpha, power, allocation_ratio)
    _check_probability(p_control, "p_control", "the control response probability, e.g. 0.2")
    _check_probability(p_treatment, "p_treatment", "the treated response probability, e.g. 0.4")
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
    _check_sizing(alpha, power, allocation_ratio)
    return _normal_units(math.log(hazard_ratio), 1.0, alpha, power, allocation_ratio)


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
    _check_finite(dropout_hazard, "dropout_hazard", "the dropout hazard per unit time, 0 or more")
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
    _check_sizing(alpha, power, allocation_ratio)
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
    _check_sizing(alpha, power, allocation_ratio)
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
