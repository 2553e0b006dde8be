"""Screening and the efficiency of enrichment: the numbers to screen to enrol the marker-positive (and
-negative) patients a design needs, who tests positive with an imperfect assay and the predictive
values (Maitournam & Simon 2005), and the randomized and screened ratios of enrichment versus
all-comers (Simon & Maitournam 2004).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scipy import stats

from subgroups.design.checks import _check_count, _check_power, _check_probability
from subgroups.errors import ParameterError
from subgroups.plain import _FrameMixin


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
    _check_count(n_positive, "n_positive", "the marker-positive patients to randomize")
    _check_count(n_negative, "n_negative", "the marker-negative patients to randomize (0 if none)")
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
