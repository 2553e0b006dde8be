"""The planning problem on the benefit scale (positive = benefit) and the designs built from it: the
endpoint arithmetic, the plan every design function receives, and the registry :data:`DESIGNS` of
one function per design (D1 all-comers, D2 enrichment, D3 stratified, D3b MaST, D4 adaptive
enrichment, D5 enriched stratified), each returning its :class:`~subgroups.design.menu.DesignOption`.
Every claim on F is the marker-stratified (prevalence-weighted) estimator with one per-patient
variance: the outcome SD (continuous), one per event (time to event), and for binary outcomes the
prevalence-weighted mean of the two strata's binomial variances at the planning effects.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
from scipy import stats

from subgroups.design.adaptive import AdaptiveEnrichmentResult, simulate_adaptive_enrichment
from subgroups.design.checks import _ceil
from subgroups.design.menu import DesignOption
from subgroups.design.multiplicity import AlphaSplit, mast_type1_error, split_alpha
from subgroups.design.normal import _z, bivariate_normal_cdf
from subgroups.design.sample_size import _arms, _binary_statsmodels_args
from subgroups.design.screening import number_to_screen
from subgroups.design.settings import DesignSettings
from subgroups.narrative.recommendation import effect_words


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
        """An outcome-scale effect in words (as the reasons write it)."""
        return effect_words(effect, self.outcome)


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

    def strata_se(self, units: float, fraction: float) -> tuple[float, float, float]:
        """SEs of the effects in S, in Sc and of the stratified estimator of F, from ``units`` of which a
        share ``fraction`` are in S."""
        pi = self.prevalence
        se_s, se_c = self.stratum_se(fraction * units), self.stratum_se((1 - fraction) * units)
        return se_s, se_c, math.sqrt(pi**2 * se_s**2 + (1 - pi) ** 2 * se_c**2)


def _patients_from_units(plan: _Plan, units_raw: float) -> tuple[float, float | None, int | None]:
    """Raw patients, raw events and rounded-up events for a unit requirement."""
    if plan.endpoint.outcome == "time_to_event":
        events = _ceil(units_raw)
        return events / plan.endpoint.event_probability, units_raw, events
    return units_raw, None, None


@dataclass(frozen=True)
class _Size:
    """A design's randomized size: patients per arm rounded up (per stratum under quotas), events rounded
    up, and the unrounded requirements."""

    n_raw: float
    events_raw: float | None
    events: int | None
    n_treatment: int
    n_control: int

    @property
    def n(self) -> int:
        return self.n_treatment + self.n_control

    @property
    def units(self) -> int:
        """What the claims' standard errors count: events (time to event) or patients."""
        return self.events if self.events is not None else self.n

    def values(self) -> dict[str, Any]:
        """The option's size fields."""
        return {
            "n_randomized": self.n,
            "n_treatment": self.n_treatment,
            "n_control": self.n_control,
            "events": self.events,
            "events_raw": self.events_raw,
            "n_randomized_raw": self.n_raw,
        }

    def everyone(self, prevalence: float) -> dict[str, Any]:
        """Every screened patient randomized, the strata in proportion to the prevalence (when known)."""
        known = math.isfinite(prevalence)
        n_subgroup = int(round(prevalence * self.n)) if known else None
        return {
            "n_subgroup": n_subgroup,
            "n_complement": None if n_subgroup is None else self.n - n_subgroup,
            "n_screened_expected": float(self.n),
            "n_screened_quantile": self.n,
        }


def _size(plan: _Plan, units_raw: float) -> _Size:
    """The size of a design that needs ``units_raw`` units, randomized without quotas."""
    n_raw, events_raw, events = _patients_from_units(plan, units_raw)
    _, _, n_t, n_c = _arms(n_raw, plan.settings.allocation_ratio)
    return _Size(n_raw, events_raw, events, n_t, n_c)


def _quota_size(plan: _Plan, units_raw: float, fraction: float) -> tuple[_Size, int, int]:
    """The size under quotas (a share ``fraction`` of S), rounded up per arm within each stratum, and the
    randomized patients in S and in Sc."""
    n_raw, events_raw, events = _patients_from_units(plan, units_raw)
    r = plan.settings.allocation_ratio
    _, _, st, sc = _arms(fraction * n_raw, r)
    _, _, ct, cc = _arms((1 - fraction) * n_raw, r)
    return _Size(n_raw, events_raw, events, st + ct, sc + cc), st + sc, ct + cc


_NO_SUBGROUP_BENEFIT = "the planning effect in marker-positive patients shows no benefit"


def _unsized(plan: _Plan, values: dict[str, Any], why: str) -> DesignOption:
    """A design that cannot be sized (no planned benefit), ``why`` as its note."""
    values["notes"] = why
    return _finish(plan, values)


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


def _by_claim(kind: str, **probabilities: float) -> dict[str, float]:
    """``power`` or ``assurance`` fields of an option from the probabilities per claim (subgroup, complement,
    overall, any)."""
    return {f"{kind}_{claim}": p for claim, p in probabilities.items()}


def _single_claim(drift: float, cov: np.ndarray, alpha: float) -> tuple[float, float]:
    """Power at the planning effect and assurance of a one-claim design: its z-statistic has mean ``drift``
    and the 1 x 1 prior-predictive covariance ``cov``."""
    crit = np.array([_z(alpha)])
    return float(stats.norm.cdf(drift - crit[0])), _upper(np.array([drift]), cov, crit, 0)


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
        return _unsized(plan, values, "the overall effect shows no benefit, so no all-comers size exists")
    size = _size(plan, units_raw)
    if plan.has_subgroup:
        se = plan.stratum_se(size.units)
        drift = theta / se
    else:
        se = ep.se(theta, size.units)
        drift = ep.drift(theta, size.units, s.alpha)
    slope = 1 / se
    power, assurance_f = _single_claim(drift, np.array([[1 + slope**2 * plan.overall_sd**2]]), s.alpha)
    values.update(
        size.values(),
        **size.everyone(plan.prevalence),
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
        return _unsized(plan, values, _NO_SUBGROUP_BENEFIT)
    size = _size(plan, units_raw)
    drift = ep.drift(theta, size.units, s.alpha)
    slope = 1 / ep.se(theta, size.units)
    _, cov = _predictive(plan, np.array([drift]), np.array([slope]), np.array([[1.0, 0.0]]), np.eye(1))
    power, assurance_s = _single_claim(drift, cov, s.alpha)
    screening = number_to_screen(size.n, plan.prevalence, quantile=s.screen_quantile)
    values.update(
        size.values(),
        n_subgroup=size.n,
        n_complement=0,
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
    # whole patients (events), rounded up as every size on the page; a claim without a planned benefit has no size
    words = (
        (f"the subgroup claim needs {_ceil(units_s):,} {unit} in total" if np.isfinite(units_s) else
         "the subgroup claim cannot be powered (no subgroup benefit)")
        + ", the overall claim "
        + (f"{_ceil(units_f):,}" if theta_f > 0 and np.isfinite(units_f) else "cannot be powered (no overall benefit)")
    )  # fmt: skip
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
        return _unsized(plan, values, _NO_SUBGROUP_BENEFIT)
    if controlled:
        size, n_sub, n_comp = _quota_size(plan, units_raw, fraction)
        screening = number_to_screen(n_sub, pi, n_negative=n_comp, quantile=s.screen_quantile)
        counts = {
            "n_subgroup": n_sub,
            "n_complement": n_comp,
            "n_screened_expected": screening.expected,
            "n_screened_quantile": screening.at_quantile,
        }
    else:
        size = _size(plan, units_raw)
        counts = size.everyone(pi)
    se_s, _, se_f = plan.strata_se(size.units, fraction)
    drift_s = ep.drift(theta_s, fraction * size.units, split.alpha_subgroup)
    drift_f = plan.overall_mixture / se_f
    crit = np.array([split.critical_subgroup, split.critical_overall])
    a = pi * se_s / se_f  # Z_F noise = a Z_S + sqrt(1 - a^2) Z_Sc
    noise = np.array([[1.0, a], [a, 1.0]])
    loadings = np.array([[1.0, 0.0], plan.mixture])
    drifts = np.array([drift_s, drift_f])
    slopes = np.array([1 / se_s, 1 / se_f])
    point = (drifts, noise)
    prior = _predictive(plan, drifts, slopes, loadings, noise)
    for kind, (mean, cov) in (("power", point), ("assurance", prior)):
        values.update(
            _by_claim(
                kind,
                subgroup=_upper(mean, cov, crit, 0),
                overall=_upper(mean, cov, crit, 1),
                any=1 - _lower_both(mean, cov, crit, 0, 1),
            )
        )
    values.update(
        size.values(),
        **counts,
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
        return _unsized(plan, values, _NO_SUBGROUP_BENEFIT)
    size = _size(plan, units_s / pi)
    units = size.units
    se_s, se_c, se_f = plan.strata_se(units, pi)
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
        size.values(),
        **size.everyone(pi),
        **_by_claim("power", subgroup=point[0], complement=point[1], overall=point[2], any=point[3]),
        **_by_claim("assurance", subgroup=prior[0], overall=prior[2], any=prior[3]),
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


def _adaptive_simulator(plan: _Plan) -> Callable[..., AdaptiveEnrichmentResult]:
    """D4's trial at the planning settings: ``simulate(n_max, effect_subgroup, effect_complement, offset)``
    with standardised effects (the planning effects by default) and the seed ``plan.seed + offset``."""
    s = plan.settings
    delta_s, delta_c = (float(_standardised(plan, theta)) for theta in plan.mean)

    def simulate(n_max: int, d_s: Any = delta_s, d_c: Any = delta_c, offset: int = 0) -> AdaptiveEnrichmentResult:
        n1 = max(1, int(round(s.interim_fraction * n_max)))
        n2 = max(1, n_max - n1)
        return simulate_adaptive_enrichment(
            plan.prevalence,
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
            seed=plan.seed + offset,
            screen_quantile=s.screen_quantile,
        )

    return simulate


def _adaptive_maximum(simulate: Callable[..., AdaptiveEnrichmentResult], s: DesignSettings) -> tuple[int, bool]:
    """Smallest even maximum size reaching the target P(any claim), and whether ``max_n`` caps it; common
    random numbers make the simulated power monotone enough for bisection."""
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
    return 2 * high, capped


def _design_adaptive(plan: _Plan) -> DesignOption:
    """D4: two-stage adaptive enrichment, maximum size chosen by simulation."""
    s, ep = plan.settings, plan.endpoint
    values = _blank_option("adaptive_enrichment", "D4", "Two-stage adaptive enrichment", "S and/or F")
    values.update(alpha_subgroup=s.alpha, alpha_overall=s.alpha)
    if plan.mean[0] <= 0:
        return _unsized(plan, values, _NO_SUBGROUP_BENEFIT)
    simulate = _adaptive_simulator(plan)
    n_max, capped = _adaptive_maximum(simulate, s)
    at_point = simulate(n_max)
    # Assurance: one true effect pair per simulated trial, drawn from the prior.
    rng = np.random.default_rng(plan.seed + 1)
    draws = rng.multivariate_normal(plan.mean, plan.covariance, size=s.n_simulations, method="eigh")
    at_prior = simulate(n_max, _standardised(plan, draws[:, 0]), _standardised(plan, draws[:, 1]), offset=2)
    global_null = simulate(n_max, 0.0, 0.0, offset=3)
    partial_null = simulate(n_max, 0.0, float(_standardised(plan, plan.mean[1])), offset=4)
    n_t = _ceil(n_max * s.allocation_ratio / (1 + s.allocation_ratio))
    values.update(
        n_randomized=n_max,
        n_treatment=n_t,
        n_control=n_max - n_t,
        events=_ceil(n_max * ep.event_probability) if ep.outcome == "time_to_event" else None,
        n_stage1=at_point.n_stage1,
        n_screened_expected=at_point.expected_n_screened,
        n_screened_quantile=int(math.ceil(at_point.n_screened_quantile)),
        **_by_claim("power", subgroup=at_point.reject_subgroup, overall=at_point.reject_overall, any=at_point.reject_any),
        **_by_claim("assurance", subgroup=at_prior.reject_subgroup, overall=at_prior.reject_overall, any=at_prior.reject_any),
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
            f"complement benefits ({s.n_simulations:,} trials each, seed {plan.seed})"
        ),
    )
    option = _finish(plan, values)
    if capped:
        why = f"the target power is not reached within max_n = {s.max_n:,}; "
        option = replace(option, feasible=False, notes=why + option.notes)
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
