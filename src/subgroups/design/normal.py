"""Normal-distribution building blocks: the upper critical value z_{1-alpha}, the standard bivariate
normal CDF through Owen's (1956) T-function, vectorised over the limits, and the p-value of the
maximum of two correlated standard normals (the Spiessens & Debois 2010 test), written so that
small p-values keep their precision.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special, stats

_TINY = 1e-150  # stands in for an exact zero in Owen's T formula (0/0 otherwise)


def _z(alpha: float) -> float:
    """Upper critical value z_{1-alpha}."""
    return float(stats.norm.isf(alpha))


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
