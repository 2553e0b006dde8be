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
:func:`default_horizon`.

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
from typing import Any

import numpy as np
import pandas as pd

from subgroups.errors import DataError, ParameterError

__all__ = ["default_horizon", "km_rmst", "km_survival", "rmst_pseudo_values", "survival_pseudo_values"]


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


def default_horizon(time: Any, event: Any, treatment: Any) -> float:
    """Default RMST horizon tau: the largest time up to which every arm's Kaplan-Meier curve is known.

    The rule of survRM2's ``rmst2`` (Uno et al. 2014; default since survRM2 1.0-2): tau is the
    smallest of the arms' largest observed times (event or censored), which Tian et al. (2020)
    show still gives valid inference about RMST(tau) under mild conditions on the censoring. An
    arm whose curve drops to 0 at its largest time (every patient still at risk there has the
    event) is known for all later times, so it does not limit tau; if every arm's curve reaches 0,
    tau is the largest observed time overall.

    Parameters
    ----------
    time : array-like of float
        Follow-up time per patient, > 0.
    event : array-like of {0, 1}
        1 if the event was observed at ``time``, 0 if censored.
    treatment : array-like
        Treatment arm per patient (any labels); at least two arms.

    Returns
    -------
    float
        The horizon tau, in the unit of ``time``.

    Raises
    ------
    DataError
        For invalid times or events, missing arm labels, or fewer than two arms.

    References
    ----------
    Tian L, Jin H, Uno H, et al. On the empirical choice of the time window for restricted mean
    survival time. Biometrics 2020;76:1157-1166. doi:10.1111/biom.13237

    Examples
    --------
    >>> default_horizon([1.0, 5.0, 2.0, 3.0], [1, 0, 1, 0], ["drug", "drug", "placebo", "placebo"])
    3.0
    """
    t, e = _check_time_event(time, event)
    labels = np.asarray(treatment, dtype=object) if not isinstance(treatment, pd.Series) else treatment.to_numpy(dtype=object)
    if labels.ndim != 1 or labels.size != t.size:
        raise DataError(f"treatment must have one label per patient: {labels.size} labels for {t.size} times")
    codes, levels = pd.factorize(labels)
    if (codes < 0).any():
        raise DataError(f"treatment has {int((codes < 0).sum())} missing label(s); give every patient a treatment arm")
    if levels.size < 2:
        raise DataError("default_horizon needs at least two treatment arms; check the treatment column")
    limits = []
    for code in range(levels.size):
        t_arm, e_arm = t[codes == code], e[codes == code]
        last = t_arm == t_arm.max()
        if not e_arm[last].all():  # the curve stays above 0, so it is unknown beyond the last time
            limits.append(float(t_arm.max()))
    return min(limits) if limits else float(t.max())
