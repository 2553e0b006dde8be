"""Multiplicity for the designs that claim both the subgroup (S) and the overall population (F): the
split of a one-sided family-wise alpha between H_S and H_F (correlation-adjusted after Spiessens &
Debois 2010, Bonferroni, or common), and the family-wise error of the fixed-sequence MaST at its
levels (Freidlin, Korn & Gray 2014).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import optimize, stats

from subgroups.design.checks import _SPLITS, AlphaSplitMethod, _check_alpha, _check_probability
from subgroups.design.normal import _z, bivariate_normal_cdf
from subgroups.errors import ParameterError
from subgroups.plain import _FrameMixin


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
