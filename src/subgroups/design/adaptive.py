"""Two-stage adaptive enrichment (design D4): a vectorised simulator of the trial with an interim
choice between stopping, continuing in F and restricting to S, closed testing with an
inverse-normal combination of the stages (Jenkins, Stone & Jennison 2011; Wassmer & Dragalin 2015),
returning its simulated operating characteristics.

The trial: stage 1 randomizes n1 all-comers. The stratum z-statistics are
Z_S1 ~ N(theta_S sqrt(pi n1 r)/(sd (1 + r)), 1), likewise Z_Sc1, and
Z_F1 = sqrt(pi) Z_S1 + sqrt(1 - pi) Z_Sc1 (stratified overall). At the interim: stop for futility
if Z_S1 and Z_F1 are both below ``futility_z``; else restrict stage 2 to S if Z_Sc1 <
``enrich_below_z``; else continue in F. Stage 2 uses its own data only. H_S and H_F are tested by
closed testing: each of H_S, H_F and their intersection is tested by the inverse-normal combination
C = w1 z1 + w2 z2 with pre-fixed weights w_k = sqrt(n_k / (n1 + n2)), rejecting when
C >= z_{1-alpha} (Bauer & Koehne 1994; Lehmacher & Wassmer 1999). After enrichment the
intersection's stage-2 p-value is H_S's and H_F cannot be rejected. Futility is binding. Same
structure as rpact ``getSimulationEnrichmentMeans`` and asd ``subpop.sim``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
from scipy import stats

from subgroups.design.checks import (
    _INTERSECTIONS,
    IntersectionTest,
    _check_alpha,
    _check_count,
    _check_positive,
    _check_probability,
)
from subgroups.design.normal import _max_normal_sf, _z
from subgroups.errors import ParameterError
from subgroups.plain import _FrameMixin


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


def _check_simulation(
    prevalence: float,
    alpha: float,
    sd: float,
    allocation_ratio: float,
    intersection_test: str,
    n_stage1: int,
    n_stage2: int,
    n_simulations: int,
) -> None:
    _check_probability(prevalence, "prevalence", "the marker prevalence, e.g. 0.4")
    _check_alpha(alpha)
    _check_positive(sd, "sd", "the outcome standard deviation")
    _check_positive(allocation_ratio, "allocation_ratio", "treated per control patient, e.g. 1")
    if intersection_test not in _INTERSECTIONS:
        raise ParameterError(f"intersection_test={intersection_test!r} is not one of {_INTERSECTIONS}; pick one")
    _check_count(n_stage1, "n_stage1", "the patients randomized before the interim", minimum=1)
    _check_count(n_stage2, "n_stage2", "the patients randomized after the interim", minimum=1)
    _check_count(n_simulations, "n_simulations", "the number of simulated trials, e.g. 100000", minimum=1000)


@dataclass(frozen=True)
class _Trials:
    """The simulated trials, one entry per trial: the stage-wise z-statistics of H_S, H_F and their
    intersection, and the interim decision (stop, enrich or go on in F)."""

    z_s1: np.ndarray
    z_f1: np.ndarray
    z_i1: np.ndarray
    z_s2: np.ndarray
    z_f2: np.ndarray
    z_i2: np.ndarray
    stop: np.ndarray
    enrich: np.ndarray
    go_on: np.ndarray


def _simulate_stages(
    rng: np.random.Generator,
    pi: float,
    theta_s: np.ndarray,
    theta_c: np.ndarray,
    stages: tuple[float, float],
    scale: float,
    thresholds: tuple[float, float],
    intersection_test: str,
) -> _Trials:
    """Both stages of every trial at once (vectorised over trials): stratum z-statistics, the interim
    rule (``thresholds``: futility and enrichment), and stage 2 from its own data only."""
    (n1, n2), (futility_z, enrich_below_z) = stages, thresholds
    e = rng.standard_normal((4, theta_s.size))
    rho = math.sqrt(pi)  # sqrt(n_S / n_F) at every stage where F is randomized

    z_s1 = theta_s * scale * math.sqrt(pi * n1) + e[0]
    z_c1 = theta_c * scale * math.sqrt((1 - pi) * n1) + e[1]
    z_f1 = math.sqrt(pi) * z_s1 + math.sqrt(1 - pi) * z_c1

    stop = (z_s1 < futility_z) & (z_f1 < futility_z)
    enrich = ~stop & (z_c1 < enrich_below_z)

    # Stage 2 from its own data: all-comers when continuing, S only when enriching.
    z_s2_continue = theta_s * scale * math.sqrt(pi * n2) + e[2]
    z_c2 = theta_c * scale * math.sqrt((1 - pi) * n2) + e[3]
    z_f2 = math.sqrt(pi) * z_s2_continue + math.sqrt(1 - pi) * z_c2
    z_s2_enrich = theta_s * scale * math.sqrt(n2) + e[2]
    z_s2 = np.where(enrich, z_s2_enrich, z_s2_continue)
    return _Trials(
        z_s1=z_s1,
        z_f1=z_f1,
        z_i1=_intersection_z(z_s1, z_f1, rho, intersection_test),
        z_s2=z_s2,
        z_f2=z_f2,
        z_i2=np.where(enrich, z_s2, _intersection_z(z_s2_continue, z_f2, rho, intersection_test)),
        stop=stop,
        enrich=enrich,
        go_on=~stop & ~enrich,
    )


def _closed_test(trials: _Trials, n1: float, n2: float, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Rejections of H_S and H_F by closed testing, each hypothesis and the intersection by the
    inverse-normal combination of the stages with pre-fixed weights."""
    w1, w2 = math.sqrt(n1 / (n1 + n2)), math.sqrt(n2 / (n1 + n2))
    c = _z(alpha)
    t = trials
    reject_intersection = w1 * t.z_i1 + w2 * t.z_i2 >= c
    reject_s = ~t.stop & reject_intersection & (w1 * t.z_s1 + w2 * t.z_s2 >= c)
    reject_f = t.go_on & reject_intersection & (w1 * t.z_f1 + w2 * t.z_f2 >= c)
    return reject_s, reject_f


def _patients(rng: np.random.Generator, trials: _Trials, n1: float, n2: float, pi: float) -> tuple[np.ndarray, np.ndarray]:
    """Patients randomized and screened in each simulated trial."""
    n_randomized = n1 + n2 * (~trials.stop)
    extra = np.zeros(trials.stop.size)
    if trials.enrich.any():
        # Screening until n2 marker-positives are found: n2 + NegBin(n2, pi) patients.
        extra[trials.enrich] = rng.negative_binomial(max(int(round(n2)), 1), pi, size=int(trials.enrich.sum()))
    return n_randomized, n_randomized + extra


# Over 80 lines only for its public signature and numpydoc parameters: the steps are the functions above.
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
    """Simulate a two-stage adaptive-enrichment trial (closed testing with inverse-normal combination; Jenkins, Stone & Jennison 2011).

    Stage 1 randomizes ``n_stage1`` all-comers, stage 2 ``n_stage2`` patients in F or in S only, as
    the module docstring describes.

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
    _check_simulation(prevalence, alpha, sd, allocation_ratio, intersection_test, n_stage1, n_stage2, n_simulations)
    for name, effect in (("effect_subgroup", effect_subgroup), ("effect_complement", effect_complement)):
        try:
            finite = bool(np.all(np.isfinite(np.asarray(effect, dtype=float))))
        except (TypeError, ValueError):
            finite = False
        if not finite:
            raise ParameterError(f"{name} must be finite numbers (one, or one per simulated trial); got {str(effect)[:60]}")
    for name, z in (("futility_z", futility_z), ("enrich_below_z", enrich_below_z)):
        if not isinstance(z, Real) or math.isnan(z):
            raise ParameterError(f"{name}={z!r} is not a z threshold; pass a number (-inf switches the rule off)")
    n_sim = int(n_simulations)
    pi = float(prevalence)
    n1, n2 = float(n_stage1), float(n_stage2)
    rng = np.random.default_rng(seed)
    trials = _simulate_stages(
        rng,
        pi,
        np.broadcast_to(np.asarray(effect_subgroup, dtype=float), (n_sim,)),
        np.broadcast_to(np.asarray(effect_complement, dtype=float), (n_sim,)),
        (n1, n2),
        math.sqrt(allocation_ratio) / (sd * (1 + allocation_ratio)),  # drift per sqrt(patient) per unit effect
        (futility_z, enrich_below_z),
        intersection_test,
    )
    reject_s, reject_f = _closed_test(trials, n1, n2, alpha)
    reject_any = reject_s | reject_f
    n_randomized, n_screened = _patients(rng, trials, n1, n2, pi)
    p_any = float(reject_any.mean())
    return AdaptiveEnrichmentResult(
        reject_subgroup=float(reject_s.mean()),
        reject_overall=float(reject_f.mean()),
        reject_any=p_any,
        probability_enrich=float(trials.enrich.mean()),
        probability_continue=float(trials.go_on.mean()),
        probability_futility=float(trials.stop.mean()),
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
