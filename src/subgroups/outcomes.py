"""Time-to-event outcomes as pseudo-observations on an absolute scale (RMST or landmark survival).

A censored outcome cannot enter the effect learners directly, so each patient's (time, event) is
replaced by a jackknife pseudo-observation of a Kaplan-Meier functional (Andersen, Hansen & Klein
2004; Andersen & Perme 2010):

    theta_i = n * theta - (n - 1) * theta_(-i),

where theta is the functional of the Kaplan-Meier curve of all n patients and theta_(-i) that of
the curve without patient i. Two functionals are offered:

- restricted mean survival time, RMST(tau) = integral of S(t) over [0, tau] (Royston & Parmar
  2013), in the unit of ``time``;
- survival probability at a landmark t*, S(t*).

Under censoring independent of the covariates, E[theta_i | x] is approximately the functional of
the conditional survival curve (Graw, Gerds & Schumacher 2009; Overgaard, Parner & Pedersen
2017), so pseudo-observations can be fed to any learner or regression built for a continuous
outcome, and arm differences are effects on the absolute scale (months of life gained,
difference in survival probability).

With ``groups`` (the treatment arms), pseudo-observations are computed within each group: the
censoring distribution may differ between arms, and a pooled Kaplan-Meier curve would mix the
arms' survival and so bias each arm's pseudo-observations towards the other arm.

Kaplan-Meier convention (as in lifelines and R's survival): at a tied time, events happen before
censorings, so a patient censored at t is still at risk at t. Beyond the largest observed time
the curve is carried flat (lifelines' convention); choose horizons inside the follow-up, e.g. with
:func:`default_horizon` (the largest time at which each arm still has at least max(10% of its
patients, ``report.min_cell``) at risk, rounded down to 3 significant digits); :func:`choose_horizon` refuses a horizon past an arm's
last follow-up. :func:`hazard_ratio` gives the Cox hazard ratio reported beside the absolute effect.

Exact leave-one-out in O(n log n)
---------------------------------
Let u_1 < ... < u_m be the distinct times, d_j the events and Y_j the number at risk at u_j, and
f_j = 1 - d_j / Y_j, so S(t) = prod_{u_j <= t} f_j. Removing patient i with time T_i = u_k and
event indicator delta_i changes only the counts of the times where i was at risk:

- u_j < T_i: Y_j -> Y_j - 1, factor g_j = 1 - d_j / (Y_j - 1) (the same for every such patient);
- u_j = T_i: Y_k -> Y_k - 1 and d_k -> d_k - delta_i, factor h_i = 1 - (d_k - delta_i) / (Y_k - 1);
- u_j > T_i: unchanged, factor f_j.

Hence S_(-i)(t) = G_{k-1} h_i prod_{k < j, u_j <= t} f_j with G_j = prod_{l <= j} g_l. For the
landmark, S_(-i)(t*) = G_{k-1} h_i C_k, C_k a suffix product of f; for RMST over the grid
0 = u_0 < u_1 < ... < u_K <= tau with widths w_j (w_K = tau - u_K),

    RMST_(-i) = sum_{j < k} G_j w_j + G_{k-1} h_i (sum_{j >= k} F_j w_j) / F_k,

with F_j the full-sample curve. Patients with T_i beyond tau (or t*) all share
sum_j G_j w_j (or G_K). Every piece is a cumulative sum or product, so after one sort the
pseudo-observations cost O(n), and they equal the brute-force jackknife to rounding error. The
division by F_k is well conditioned: a positive Kaplan-Meier value is at least Y_{k+1} / Y_1
>= 1/n because the factors telescope, and F_k = 0 only at the last time when every patient
still at risk has the event, where the sum reduces to w_k.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from subgroups.errors import DataError, ParameterError

if TYPE_CHECKING:
    from subgroups.data import TrialData

__all__ = [
    "AT_RISK_SHARE",
    "Horizon",
    "choose_horizon",
    "cox_hazard_ratio",
    "default_horizon",
    "hazard_ratio",
    "ipw_weights",
    "km_rmst",
    "km_survival",
    "required_at_risk",
    "rmst_pseudo_values",
    "survival_pseudo_values",
    "trial_horizon",
]

# Share of each arm that must still be at risk at the default horizon (with at least report.min_cell patients).
AT_RISK_SHARE = 0.10


# ---------------------------------------------------------------------------------------------
# Validation at the boundary
# ---------------------------------------------------------------------------------------------


def _check_time_event(time: Any, event: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return (time, event) as float and int arrays, or raise DataError naming the problem."""
    try:
        t = np.asarray(time, dtype=float)
    except (TypeError, ValueError):
        raise DataError("time must be numeric (follow-up time per patient); convert the time column to numbers") from None
    if t.ndim != 1:
        raise DataError(f"time must be one-dimensional (one value per patient); got shape {t.shape}")
    if t.size < 2:
        raise DataError(f"time-to-event outcomes need at least 2 patients; got {t.size}")
    bad = ~np.isfinite(t) | (t <= 0)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"time must be positive and finite; {int(bad.sum())} value(s) are not (first at position {first}: {t[first]!r}); "
            "correct or drop those patients"
        )
    try:
        e = np.asarray(event, dtype=float)
    except (TypeError, ValueError):
        raise DataError("event must be 0 (censored) or 1 (event); convert the event column to 0/1") from None
    if e.shape != t.shape:
        raise DataError(f"event must have one value per patient: {e.size} event values for {t.size} times")
    bad = ~np.isin(e, (0.0, 1.0))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"event must be 0 (censored) or 1 (event); {int(bad.sum())} value(s) are not (first at position {first}: {e[first]!r}); "
            "recode the event column"
        )
    return t, e.astype(np.int64)


def _check_positive(value: Any, name: str) -> float:
    """Return a horizon or landmark as a positive finite float, or raise ParameterError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value <= 0:
        raise ParameterError(f"{name} must be a positive number in the unit of time; got {value!r}")
    return float(value)


def _group_codes(groups: Any, n: int) -> np.ndarray:
    """Integer codes 0..G-1 of the groups (all zero without groups), or raise DataError."""
    if groups is None:
        return np.zeros(n, dtype=np.int64)
    labels = np.asarray(groups, dtype=object) if not isinstance(groups, pd.Series) else groups.to_numpy(dtype=object)
    if labels.ndim != 1 or labels.size != n:
        raise DataError(f"groups must have one label per patient: {labels.size} labels for {n} times")
    codes, _ = pd.factorize(labels)
    if (codes < 0).any():
        raise DataError(f"groups has {int((codes < 0).sum())} missing label(s); give every patient a treatment arm")
    sizes = np.bincount(codes)
    if (sizes < 2).any():
        raise DataError(
            "every group needs at least 2 patients for leave-one-out pseudo-observations; merge or drop the tiny group"
        )
    return codes


# ---------------------------------------------------------------------------------------------
# Kaplan-Meier pieces
# ---------------------------------------------------------------------------------------------


def _risk_table(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct times u, events d and at-risk counts Y at each u, and each patient's index into u."""
    u, index = np.unique(time, return_inverse=True)
    d = np.bincount(index, weights=event, minlength=u.size)
    # Y_j counts every patient with time >= u_j: censored-at-u_j patients are still at risk
    # (events precede censorings at ties).
    y = np.cumsum(np.bincount(index, minlength=u.size)[::-1])[::-1].astype(float)
    return u, d, y, index


def _km_curve(d: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kaplan-Meier values with a leading 1: F[0] = S(0) = 1 and F[j] = S(u_j)."""
    return np.concatenate(([1.0], np.cumprod(1.0 - d / y)))


def _widths(u: np.ndarray, horizon: float) -> tuple[int, np.ndarray]:
    """K = number of distinct times <= horizon and the widths of [0, u_1), ..., [u_K, horizon]."""
    k = int(np.searchsorted(u, horizon, side="right"))
    return k, np.diff(np.concatenate(([0.0], u[:k], [horizon])))


def _leave_one_out_parts(d: np.ndarray, y: np.ndarray, index: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Curve G of 'one fewer at risk' (with leading 1) and each patient's factor h_i at own time."""
    safe = y > 1
    # g_j is only ever used by patients still at risk after u_j, for whom Y_j >= 2.
    g = 1.0 - np.divide(d, y - 1.0, out=np.zeros_like(d), where=safe)
    big_g = np.concatenate(([1.0], np.cumprod(g)))
    # A patient alone at the last time leaves nobody at risk there: no event, factor 1.
    y_i = y[index] - 1.0
    h = 1.0 - np.divide(d[index] - event, y_i, out=np.zeros_like(y_i), where=y_i > 0)
    return big_g, h


def _rmst_one(time: np.ndarray, event: np.ndarray, horizon: float) -> np.ndarray:
    """Pseudo-observations of RMST(horizon) for one homogeneous sample (see module docstring)."""
    n = time.size
    u, d, y, index = _risk_table(time, event)
    big_f = _km_curve(d, y)
    big_k, w = _widths(u, horizon)
    theta = float(big_f[: big_k + 1] @ w)

    big_g, h = _leave_one_out_parts(d, y, index, event)
    gw = big_g[: big_k + 1] * w
    before = np.concatenate(([0.0], np.cumsum(gw)))  # before[k] = sum_{j<k} G_j w_j
    fw = big_f[: big_k + 1] * w
    tail = np.cumsum(fw[::-1])[::-1]  # tail[k] = sum_{j>=k} F_j w_j
    f_k = big_f[: big_k + 1]
    # F_k = 0 only at the last time when all at risk die; the tail then is w_k alone.
    after = np.divide(tail, f_k, out=w.copy(), where=f_k > 0)

    k = index + 1  # 1-based position of each patient's time among u
    inside = k <= big_k
    loo = np.full(n, before[big_k + 1])
    ki = k[inside]
    loo[inside] = before[ki] + big_g[ki - 1] * h[inside] * after[ki]
    return n * theta - (n - 1) * loo


def _survival_one(time: np.ndarray, event: np.ndarray, landmark: float) -> np.ndarray:
    """Pseudo-observations of S(landmark) for one homogeneous sample (see module docstring)."""
    n = time.size
    u, d, y, index = _risk_table(time, event)
    f = 1.0 - d / y
    big_k = int(np.searchsorted(u, landmark, side="right"))
    theta = float(np.prod(f[:big_k]))

    big_g, h = _leave_one_out_parts(d, y, index, event)
    # suffix[k] = prod_{k < j <= K} f_j for k = 1..K (index 0 unused); no division, so zeros are safe.
    suffix = np.ones(big_k + 1)
    suffix[:big_k] = np.cumprod(f[:big_k][::-1])[::-1]

    k = index + 1
    inside = k <= big_k
    loo = np.full(n, big_g[big_k])
    ki = k[inside]
    loo[inside] = big_g[ki - 1] * h[inside] * suffix[ki]
    return n * theta - (n - 1) * loo


def _by_group(one: Any, time: Any, event: Any, value: float, groups: Any) -> np.ndarray:
    """Apply a one-sample pseudo-observation function within each group, in input order."""
    t, e = _check_time_event(time, event)
    codes = _group_codes(groups, t.size)
    out = np.empty(t.size)
    for code in range(int(codes.max()) + 1):
        rows = np.flatnonzero(codes == code)
        out[rows] = one(t[rows], e[rows], value)
    return out


# ---------------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------------


def km_rmst(time: Any, event: Any, horizon: float) -> float:
    """Restricted mean survival time up to ``horizon`` from the Kaplan-Meier curve.

    RMST(tau) = integral of S(t) over [0, tau], the mean event-free time during the first tau
    time units (Royston & Parmar 2013).

    Parameters
    ----------
    time : array-like of float
        Follow-up time per patient, > 0.
    event : array-like of {0, 1}
        1 if the event was observed at ``time``, 0 if censored.
    horizon : float
        Upper limit tau of the integral, > 0, in the unit of ``time``. Beyond the largest
        observed time the curve is carried flat.

    Returns
    -------
    float
        The estimated RMST, in the unit of ``time``.

    Raises
    ------
    DataError
        For non-positive or missing times, events other than 0/1, or fewer than 2 patients.
    ParameterError
        For a horizon that is not a positive number.

    Examples
    --------
    >>> km_rmst([2.0, 4.0, 6.0], [1, 0, 1], horizon=5.0)
    4.0
    """
    t, e = _check_time_event(time, event)
    tau = _check_positive(horizon, "horizon")
    u, d, y, _ = _risk_table(t, e)
    k, w = _widths(u, tau)
    return float(_km_curve(d, y)[: k + 1] @ w)


def km_survival(time: Any, event: Any, landmark: float) -> float:
    """Kaplan-Meier survival probability S(landmark).

    Parameters
    ----------
    time : array-like of float
        Follow-up time per patient, > 0.
    event : array-like of {0, 1}
        1 if the event was observed at ``time``, 0 if censored.
    landmark : float
        Time t* > 0 at which the curve is read; events at exactly t* count (right-continuous).

    Returns
    -------
    float
        The estimated probability of being event-free at ``landmark``.

    Raises
    ------
    DataError
        For non-positive or missing times, events other than 0/1, or fewer than 2 patients.
    ParameterError
        For a landmark that is not a positive number.

    Examples
    --------
    >>> km_survival([2.0, 4.0, 6.0], [1, 0, 1], landmark=5.0)
    0.6666666666666667
    """
    t, e = _check_time_event(time, event)
    landmark = _check_positive(landmark, "landmark")
    u, d, y, _ = _risk_table(t, e)
    k = int(np.searchsorted(u, landmark, side="right"))
    return float(np.prod(1.0 - d[:k] / y[:k]))


def rmst_pseudo_values(time: Any, event: Any, horizon: float, groups: Any = None) -> np.ndarray:
    """Jackknife pseudo-observations of the restricted mean survival time RMST(horizon).

    theta_i = n RMST - (n - 1) RMST_(-i) with Kaplan-Meier RMSTs (Andersen, Hansen & Klein
    2004), computed exactly in O(n log n) (see the module docstring for the formula).

    Parameters
    ----------
    time : array-like of float
        Follow-up time per patient, > 0.
    event : array-like of {0, 1}
        1 if the event was observed at ``time``, 0 if censored.
    horizon : float
        Restriction time tau > 0, in the unit of ``time``; see :func:`default_horizon`.
    groups : array-like, optional
        Treatment arm per patient. Pseudo-observations are then computed within each arm, which
        allows the censoring to differ between arms; n is the arm's size.

    Returns
    -------
    numpy.ndarray
        One pseudo-observation per patient, in input order, in the unit of ``time``. Their mean
        over patients estimates RMST(tau); individual values can fall outside [0, tau].

    Raises
    ------
    DataError
        For invalid times, events or groups, or a group with fewer than 2 patients.
    ParameterError
        For a horizon that is not a positive number.

    Examples
    --------
    >>> rmst_pseudo_values([2.0, 4.0, 6.0], [1, 0, 1], horizon=5.0).round(3)
    array([2., 5., 5.])
    """
    return _by_group(_rmst_one, time, event, _check_positive(horizon, "horizon"), groups)


def survival_pseudo_values(time: Any, event: Any, landmark: float, groups: Any = None) -> np.ndarray:
    """Jackknife pseudo-observations of the survival probability S(landmark).

    theta_i = n S(t*) - (n - 1) S_(-i)(t*) with Kaplan-Meier estimates (Andersen, Hansen & Klein
    2004; Klein et al. 2007), computed exactly in O(n log n) (see the module docstring).

    Parameters
    ----------
    time : array-like of float
        Follow-up time per patient, > 0.
    event : array-like of {0, 1}
        1 if the event was observed at ``time``, 0 if censored.
    landmark : float
        Time t* > 0 at which survival is read.
    groups : array-like, optional
        Treatment arm per patient; pseudo-observations are then computed within each arm.

    Returns
    -------
    numpy.ndarray
        One pseudo-observation per patient, in input order. Without censoring before t* they are
        the indicators 1{T_i > t*}; with censoring they can fall outside [0, 1].

    Raises
    ------
    DataError
        For invalid times, events or groups, or a group with fewer than 2 patients.
    ParameterError
        For a landmark that is not a positive number.

    Examples
    --------
    >>> survival_pseudo_values([2.0, 4.0, 6.0], [1, 1, 0], landmark=3.0)
    array([0., 1., 1.])
    """
    return _by_group(_survival_one, time, event, _check_positive(landmark, "landmark"), groups)


def default_horizon(time: Any, event: Any, treatment: Any, min_at_risk: int = 10, share: float = AT_RISK_SHARE) -> float:
    """Default RMST horizon (or landmark) tau: the largest time at which every arm still has enough patients at risk,
    rounded down to 3 significant digits.

    Rule: tau is the largest time t at which EACH arm still has at least max(``share`` of its
    patients, ``min_at_risk``) patients at risk (follow-up time >= t); the report uses
    ``share`` = 10% and ``min_at_risk`` = ``report.min_cell``. Because the number at risk
    Y_a(t) = #{T_i >= t in arm a} only falls with t, Y_a(t) >= k_a exactly when t is at most
    the k_a-th largest time of arm a, so tau = min over arms of that order statistic.

    Why not the last follow-up (survRM2's default, Uno et al. 2014): the tail of a Kaplan-Meier
    curve rests on the few patients still followed, and an RMST up to a time where one arm has
    a handful of patients left can change sign with the choice of tau. Requiring a share of
    each arm to remain at risk keeps tau where both curves are estimated from enough patients
    (Tian et al. 2020 study the empirical choice of the window).

    Parameters
    ----------
    time : array-like of float
        Follow-up time per patient, > 0.
    event : array-like of {0, 1}
        1 if the event was observed at ``time``, 0 if censored (checked; the rule uses only time).
    treatment : array-like
        Treatment arm per patient (any labels); at least two arms.
    min_at_risk : int
        Fewest patients that must remain at risk in every arm (the report's ``min_cell``).
    share : float
        Smallest share of each arm's patients that must remain at risk.

    Returns
    -------
    float
        The horizon tau, in the unit of ``time``: that observed time rounded down to 3 significant digits
        (the reports state it exactly, and it is not one patient's follow-up time).

    Raises
    ------
    DataError
        For invalid times or events, missing arm labels, fewer than two arms, or an arm with
        fewer than ``min_at_risk`` patients (no time has that many at risk; set the horizon).

    References
    ----------
    Tian L, Jin H, Uno H, et al. On the empirical choice of the time window for restricted mean
    survival time. Biometrics 2020;76:1157-1166. doi:10.1111/biom.13237

    Examples
    --------
    Arm a (10 patients) needs max(1, 2) = 2 at risk: its 2nd largest time is 9; arm b needs 2:
    its 2nd largest time is 7; tau = min(9, 7) = 7.

    >>> a = [1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    >>> b = [1.0, 3, 5, 7, 11]
    >>> default_horizon(a + b, [1] * 15, ["a"] * 10 + ["b"] * 5, min_at_risk=2)
    7.0
    """
    t, _ = _check_time_event(time, event)
    codes, levels = _arm_codes(treatment, t.size)
    limits = []
    for code, label in enumerate(levels):
        arm = np.sort(t[codes == code])[::-1]
        needed = required_at_risk(arm.size, min_at_risk, share)
        if arm.size < needed:
            raise DataError(
                f"arm {label!r} has {arm.size} patient(s), fewer than the {needed} that the default horizon needs at risk; "
                "set data.outcome.horizon"
            )
        limits.append(float(arm[needed - 1]))  # the needed-th largest time: Y(t) >= needed exactly up to it
    return _round_down(min(limits))


def _round_down(value: float, digits: int = 3) -> float:
    """`value` rounded down to `digits` significant digits (30.7339 -> 30.7, 1234.5 -> 1230): a horizon the reports can
    state exactly, and not one patient's own follow-up time. Rounding down keeps at least as many patients at risk."""
    if value <= 0 or not np.isfinite(value):
        return value
    scale = 10.0 ** (digits - 1 - int(np.floor(np.log10(value))))
    return float(np.floor(round(value * scale, 9)) / scale)


def required_at_risk(n_arm: int, min_at_risk: int = 10, share: float = AT_RISK_SHARE) -> int:
    """Patients an arm of ``n_arm`` must keep at risk at the default horizon: max(ceil(share * n_arm), min_at_risk)."""
    # round() first: 0.1 * 30 is 3.0000000000000004 in floating point, whose ceiling would be 4.
    return max(int(np.ceil(round(share * n_arm, 9))), int(min_at_risk))


def _arm_codes(treatment: Any, n: int) -> tuple[np.ndarray, Any]:
    """Integer codes and labels of the arms, or raise DataError (missing labels, fewer than two arms)."""
    labels = np.asarray(treatment, dtype=object) if not isinstance(treatment, pd.Series) else treatment.to_numpy(dtype=object)
    if labels.ndim != 1 or labels.size != n:
        raise DataError(f"treatment must have one label per patient: {labels.size} labels for {n} times")
    codes, levels = pd.factorize(labels)
    if (codes < 0).any():
        raise DataError(f"treatment has {int((codes < 0).sum())} missing label(s); give every patient a treatment arm")
    if levels.size < 2:
        raise DataError("the horizon needs at least two treatment arms; check the treatment column")
    return codes, levels


# ---------------------------------------------------------------------------------------------
# The horizon of an analysis, and why
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Horizon:
    """The time up to which RMST is compared (or at which survival is read), its unit, and why.

    ``source`` is "default" (the at-risk rule of :func:`default_horizon`) or "parameter" (set by
    ``data.outcome.horizon``). ``at_risk`` and ``n_arm`` are per arm (treated first);
    ``last_follow_up`` is each arm's largest observed time, used in messages to the user only
    (it is one patient's value, so it never goes into a report).
    """

    value: float
    unit: str
    source: str
    kind: str  # "horizon" (RMST) or "landmark" (survival probability)
    min_at_risk: int
    share: float
    at_risk: dict[str, int]
    n_arm: dict[str, int]
    last_follow_up: dict[str, float]

    @property
    def text(self) -> str:
        """The horizon with its unit, e.g. "364 days"."""
        return f"{self.value:g} {self.unit}"

    @property
    def rule(self) -> str:
        """Why this value, in words: the default rule or the parameter."""
        if self.source == "parameter":
            return "set by data.outcome.horizon"
        return (
            f"the largest time at which each arm still had at least max({self.share:.0%} of its patients, "
            f"report.min_cell = {self.min_at_risk}) patients at risk, rounded down to 3 significant digits"
        )

    def to_dict(self, min_cell: int = 10) -> dict[str, Any]:
        """JSON-ready summary for results.json: value, unit, rule, and per-arm counts at risk (small counts suppressed)."""
        from subgroups.privacy import suppress_count

        return {
            "value": self.value,
            "unit": self.unit,
            "kind": self.kind,
            "source": self.source,
            "rule": self.rule,
            "at_risk": {arm: suppress_count(count, min_cell) for arm, count in self.at_risk.items()},
        }


def choose_horizon(
    time: Any,
    event: Any,
    treatment: Any,
    horizon: float | None = None,
    min_at_risk: int = 10,
    unit: str = "days",
    kind: str = "horizon",
) -> Horizon:
    """The analysis horizon: ``horizon`` when given (checked against follow-up), else :func:`default_horizon`.

    Parameters
    ----------
    time, event : array-like
        Follow-up time (> 0) and event indicator (0/1) per patient.
    treatment : array-like
        Arm label per patient (two or more arms).
    horizon : float, optional
        A horizon set by the user (``data.outcome.horizon``), in the unit of ``time``.
    min_at_risk : int
        ``report.min_cell``: fewest patients at risk per arm at the default horizon.
    unit : str
        Unit of ``time`` (``data.outcome.time_unit``), for messages and reports.
    kind : str
        "horizon" (RMST) or "landmark" (survival probability), for messages.

    Raises
    ------
    ParameterError
        When ``horizon`` lies past the last follow-up of an arm: the Kaplan-Meier curve of that
        arm is unknown there (one line naming every arm's last follow-up).
    DataError
        For invalid data, or when no default exists (an arm smaller than ``min_at_risk``).
    """
    t, e = _check_time_event(time, event)
    codes, levels = _arm_codes(treatment, t.size)
    arms = [t[codes == code] for code in range(levels.size)]
    last = {str(label): float(arm.max()) for label, arm in zip(levels, arms, strict=True)}
    if horizon is None:
        value, source = default_horizon(t, e, treatment, min_at_risk), "default"
    else:
        value, source = _check_positive(horizon, "data.outcome.horizon"), "parameter"
        if value > min(last.values()):
            ends = "; ".join(f"arm {label!r}: {end:g} {unit}" for label, end in last.items())
            raise ParameterError(
                f"data.outcome.horizon = {value:g} {unit} is past the last follow-up of an arm ({ends}); "
                f"set a {kind} of at most {min(last.values()):g} {unit}, or remove it to use the default"
            )
    return Horizon(
        value=float(value),
        unit=unit,
        source=source,
        kind=kind,
        min_at_risk=int(min_at_risk),
        share=AT_RISK_SHARE,
        at_risk={str(label): int((arm >= value).sum()) for label, arm in zip(levels, arms, strict=True)},
        n_arm={str(label): int(arm.size) for label, arm in zip(levels, arms, strict=True)},
        last_follow_up=last,
    )


def trial_horizon(trial: TrialData, min_cell: int = 10) -> Horizon:
    """The horizon of a time-to-event trial as its parameters ask (``data.outcome``), arms named by their labels."""
    spec = trial.spec.outcome
    treated, control = trial.arm_labels
    arms = np.where(np.asarray(trial.treatment) == 1, treated, control)
    # Treated first, so messages and reports name the arms in the same order everywhere.
    order = np.argsort(np.asarray(trial.treatment) == 0, kind="stable")
    return choose_horizon(
        np.asarray(trial.outcome)[order],
        np.asarray(trial.event)[order],
        arms[order],
        horizon=spec.horizon,
        min_at_risk=min_cell,
        unit=spec.unit_of_time,
        kind="landmark" if spec.estimand == "survival" else "horizon",
    )


# ---------------------------------------------------------------------------------------------
# Hazard ratio (secondary summary; the planning scale of time-to-event designs)
# ---------------------------------------------------------------------------------------------


def cox_hazard_ratio(time: Any, event: Any, treatment: Any, weights: Any = None) -> tuple[float, float]:
    """Log hazard ratio of treated (1) versus control (0) from a Cox model with treatment only, and its SE.

    With ``weights`` (e.g. inverse-probability weights from :func:`ipw_weights`), a weighted Cox
    model with the robust (sandwich) variance, which a weighted partial likelihood needs (Lin &
    Wei 1989; Austin 2016); without, the model-based variance. Returns (NaN, NaN) when an arm has
    no event (no finite estimate).

    Examples
    --------
    >>> log_hr, se = cox_hazard_ratio([1.0, 2, 3, 4, 5, 6], [1, 1, 0, 1, 1, 0], [0, 0, 0, 1, 1, 1])
    >>> bool(log_hr < 0 and se > 0)
    True
    """
    from lifelines import CoxPHFitter

    t, e = _check_time_event(time, event)
    arm = np.asarray(treatment, dtype=float)
    if arm.shape != t.shape or not np.isin(arm, (0.0, 1.0)).all():
        raise DataError("treatment must be 0 (control) or 1 (treated), one value per patient, for the hazard ratio")
    if any(e[arm == level].sum() == 0 for level in (0.0, 1.0)):
        return float("nan"), float("nan")
    frame = pd.DataFrame({"time": t, "event": e, "treated": arm})
    options: dict[str, Any] = {}
    if weights is not None:
        w = np.asarray(weights, dtype=float)
        if w.shape != t.shape or not (np.isfinite(w) & (w > 0)).all():
            raise DataError("weights must be positive and finite, one per patient, for the weighted hazard ratio")
        frame["weight"] = w
        options = {"weights_col": "weight", "robust": True}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines' convergence and weight notes; the SE says how sure the fit is
        fit = CoxPHFitter().fit(frame, duration_col="time", event_col="event", **options)
    return float(fit.params_["treated"]), float(fit.standard_errors_["treated"])


def ipw_weights(treatment: Any, propensity: Any) -> np.ndarray:
    """Inverse-probability-of-treatment weights for the average effect: 1/e on treated, 1/(1 - e) on control."""
    arm, e = np.asarray(treatment, dtype=float), np.asarray(propensity, dtype=float)
    return np.where(arm == 1, 1.0 / e, 1.0 / (1.0 - e))


def hazard_ratio(time: Any, event: Any, treatment: Any, propensity: Any = None, level: float = 0.95) -> dict[str, Any]:
    """The hazard ratio (treated vs control) with its confidence interval, as reported next to the average effect.

    Cox model with treatment only; with ``propensity`` (observational data: the cross-fitted
    propensities), weighted by :func:`ipw_weights` with a robust variance, so it estimates the
    marginal hazard ratio of the whole population under no unmeasured confounding. The interval
    is exp(log HR +/- z SE). A marginal HR averages a hazard ratio that may change over time;
    it is a secondary summary beside the RMST (or survival) difference.
    """
    from scipy.stats import norm

    weights = None if propensity is None else ipw_weights(treatment, propensity)
    log_hr, se = cox_hazard_ratio(time, event, treatment, weights)
    z = float(norm.ppf(0.5 + level / 2))
    return {
        "estimate": float(np.exp(log_hr)),
        "ci_low": float(np.exp(log_hr - z * se)),
        "ci_high": float(np.exp(log_hr + z * se)),
        "ci_level": level,
        "log_hr": log_hr,
        "se": se,
        "method": (
            "Cox proportional hazards model with treatment only, inverse-probability weighted with the cross-fitted "
            "propensity (robust variance)"
            if propensity is not None
            else "Cox proportional hazards model with treatment only (randomized comparison)"
        ),
    }
