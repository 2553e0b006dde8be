"""Assurance: the probability of success of a one-sided z-test averaged over a normal prior on the
effect (O'Hagan, Stevens & Campbell 2005), its limit as the trial grows (the prior probability of
benefit) and the size at which it reaches a target.
"""

from __future__ import annotations

import math

from scipy import optimize, stats

from subgroups.design.checks import _check_alpha, _check_finite, _check_positive, _check_power
from subgroups.design.normal import _z
from subgroups.errors import ParameterError


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
    _check_finite(prior_mean, "prior_mean", "the prior mean of the effect")
    _check_finite(prior_sd, "prior_sd", "the prior standard deviation")
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
    _check_finite(prior_mean, "prior_mean", "the prior mean of the effect")
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
