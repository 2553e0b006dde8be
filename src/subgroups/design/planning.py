"""Planning entry points: :func:`plan_designs` builds the menu for a subgroup and recommends one design,
:func:`plan_all_comers` plans all-comers alone when there is no subgroup to plan for, and
:func:`power_assurance_curves` draws power and assurance against randomized N. One set of planning
inputs serves every design: the subgroup and complement planning effects are the shrunken
(selection-adjusted when the subgroup is validated) estimates, or, without credible heterogeneity,
both the overall estimate (complete pooling); the overall planning effect is their
prevalence-weighted combination pi theta_S + (1 - pi) theta_Sc for every design that claims F. When
the subgroup's estimates rest on fewer than ``min_cell`` patients or events per arm the subgroup
designs are "not estimable" and all-comers is planned on the overall estimate of the discovery trial.
"""

from __future__ import annotations

import math
from dataclasses import replace
from numbers import Real

import numpy as np
import pandas as pd
from scipy import stats

from subgroups.design.assurance import assurance
from subgroups.design.checks import _OUTCOMES, OutcomeType, _check_positive, _check_probability
from subgroups.design.designs import DESIGNS, _blank_option, _design_all_comers, _Endpoint, _finish, _not_estimable, _Plan
from subgroups.design.menu import DesignMenu, DesignOption
from subgroups.design.recommend import Evidence, context_findings, recommend, recommend_all_comers
from subgroups.design.sample_size import power_continuous
from subgroups.design.screening import AssayStrata, assay_strata
from subgroups.design.settings import DesignInputs, DesignSettings
from subgroups.errors import ParameterError
from subgroups.inference import ShrinkageResult, shrink_estimates
from subgroups.narrative.recommendation import recommendation_reasons, thin_estimates_words


def _probability_at_least(mean: np.ndarray, cov: np.ndarray, weights: np.ndarray, bound: float) -> float:
    """P(weights @ theta >= bound) for theta ~ N(mean, cov)."""
    m = float(weights @ mean)
    v = float(weights @ cov @ weights)
    if v <= 0:
        return 1.0 if m >= bound else 0.0
    return float(stats.norm.sf((bound - m) / math.sqrt(v)))


def plan_designs(
    inputs: DesignInputs,
    settings: DesignSettings | None = None,
    seed: int = 0,
) -> DesignMenu:
    """Build the design menu for the next trial and recommend one.

    Steps: (1) shrink the subgroup and complement estimates toward their common mean
    (empirical Bayes, DerSimonian & Laird 1986) so that the designs are not planned on an
    optimistic discovery estimate; (2) map true subgroup effects to assay-positive and
    assay-negative strata (Maitournam & Simon 2005); (3) size every design in :data:`DESIGNS`;
    (4) apply the recommendation rule (`subgroups.design.recommend`), whose findings
    `subgroups.narrative.recommendation` writes as the reasons.

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
    s = DesignSettings() if settings is None else settings
    endpoint = _endpoint(inputs.outcome, s, inputs.benefit_sign, inputs.outcome_sd, inputs.control_rate, inputs.event_probability)
    # Subgroup estimates resting on too few patients or events per arm cannot be planned on: the
    # menu falls back to all-comers on the overall estimate, the subgroup designs not estimable.
    thin = [(label, int(count)) for label, count in inputs.estimation_counts if count < s.min_cell]
    if thin:
        smallest = min(thin, key=lambda item: item[1])
        return _overall_menu(
            endpoint, s, seed, inputs.effect_overall, inputs.se_overall, prevalence=inputs.prevalence, thin=smallest
        )
    mean, cov, shrinkage = _posterior(inputs, s)
    strata = assay_strata(inputs.prevalence, s.assay_sensitivity, s.assay_specificity)
    plan = _assay_plan(endpoint, s, strata, inputs.benefit_sign * mean, cov, seed)
    options = [build(plan) for build in DESIGNS.values()]
    by_name = {o.design: o for o in options}
    ratios = _enrichment_ratios(by_name)
    evidence = _complement_evidence(inputs.benefit_sign * mean, cov, s, inputs.benefit_sign)
    context = context_findings(inputs, s, plan, shrinkage, strata, by_name, ratios, mean)
    decision = recommend(inputs, s, plan, by_name, evidence, context)
    return DesignMenu(
        prevalence=strata.p_positive,
        planning_effect_subgroup=float(mean[0]),
        planning_effect_complement=float(mean[1]),
        planning_effect_overall=float(endpoint.sign * plan.overall),
        planning_sd_subgroup=float(math.sqrt(cov[0, 0])),
        planning_sd_complement=float(math.sqrt(cov[1, 1])),
        planning_sd_overall=plan.overall_sd,
        probability_complement_benefit=evidence.p_benefit,
        probability_complement_relevant=evidence.p_relevant,
        enrichment_ratio_randomized=ratios[0],
        enrichment_ratio_screened=ratios[1],
        tau2=None if shrinkage is None else shrinkage.tau2,
        options=options,
        recommended=decision.design,
        reasons=recommendation_reasons(decision),
        outcome=inputs.outcome,
        decision=decision,
    )


def _endpoint(
    outcome: str,
    s: DesignSettings,
    sign: float,
    outcome_sd: float | None,
    control_rate: float | None,
    event_probability: float | None,
) -> _Endpoint:
    """The endpoint arithmetic, with placeholders for the nuisance parameters the outcome does not use."""
    return _Endpoint(
        outcome=outcome,
        sd=float(outcome_sd or 1.0),
        control_rate=float(control_rate or 0.5),
        event_probability=float(event_probability or 1.0),
        ratio=s.allocation_ratio,
        sign=sign,
    )


def _posterior(inputs: DesignInputs, s: DesignSettings) -> tuple[np.ndarray, np.ndarray, ShrinkageResult | None]:
    """Step (1): the posterior mean and covariance of the true effects in S and Sc, on the outcome scale,
    and the shrinkage behind them (None without)."""
    if not inputs.heterogeneity_detected:
        # No credible heterogeneity: complete pooling. Subgroup and complement share the overall
        # estimate (perfectly correlated), so every design is planned on that one effect.
        return np.full(2, float(inputs.effect_overall)), np.full((2, 2), float(inputs.se_overall) ** 2), None
    raw = np.array([inputs.effect_subgroup, inputs.effect_complement], dtype=float)
    raw_se = np.array([inputs.se_subgroup, inputs.se_complement], dtype=float)
    if s.shrinkage == "none":
        return raw.copy(), np.diag(raw_se**2), None
    shrinkage = shrink_estimates(raw, raw_se, method=s.shrinkage, tau2=s.shrinkage_tau2)
    return np.array(shrinkage.estimates), shrinkage.covariance(), shrinkage


def _complement_evidence(benefit_mean: np.ndarray, cov: np.ndarray, s: DesignSettings, sign: float) -> Evidence:
    """Heterogeneity evidence on the benefit scale: P(theta_Sc >= f theta_S) (rules 3 and 4) and, for
    the enrichment rule (2), P(theta_Sc >= complement_min_effect) when that is set."""
    rule = s.rule
    f = rule.complement_relevant_fraction
    p_benefit = _probability_at_least(benefit_mean, cov, np.array([-f, 1.0]), 0.0)
    if rule.complement_min_effect is None:
        return Evidence(p_benefit=p_benefit, p_relevant=p_benefit)
    p_relevant = _probability_at_least(benefit_mean, cov, np.array([0.0, 1.0]), sign * rule.complement_min_effect)
    return Evidence(p_benefit=p_benefit, p_relevant=p_relevant)


def _assay_plan(
    endpoint: _Endpoint, s: DesignSettings, strata: AssayStrata, benefit_mean: np.ndarray, cov: np.ndarray, seed: int
) -> _Plan:
    """Step (2): the planning problem for the assay-defined strata, on the benefit scale."""
    to_strata = np.array([[strata.ppv, 1 - strata.ppv], [1 - strata.npv, strata.npv]])
    strata_mean = to_strata @ benefit_mean
    strata_cov = s.prior_sd_inflation**2 * (to_strata @ cov @ to_strata.T)
    mixture = np.array([strata.p_positive, 1 - strata.p_positive])
    if endpoint.outcome == "binary":
        # One per-patient variance for every overall claim: the strata's binomial variances averaged.
        common_sd = math.sqrt(float(mixture @ [endpoint.unit_sd(b) ** 2 for b in strata_mean]))
    else:
        common_sd = endpoint.unit_sd(0.0)
    return _Plan(
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


def _enrichment_ratios(by_name: dict[str, DesignOption]) -> tuple[float | None, float | None]:
    """(all-comers N / enrichment N, enrichment expected screened / all-comers N) from the menu's numbers."""
    d1, d2 = by_name["all_comers"], by_name.get("enrichment")
    if d2 is None or not d1.n_randomized or not d2.n_randomized or d2.n_screened_expected is None:
        return None, None
    return d1.n_randomized / d2.n_randomized, d2.n_screened_expected / d1.n_randomized


def _overall_menu(
    endpoint: _Endpoint,
    s: DesignSettings,
    seed: int,
    effect_overall: float,
    se_overall: float,
    *,
    why: str | None = None,
    prevalence: float = float("nan"),
    thin: tuple[str, int] | None = None,
) -> DesignMenu:
    """All-comers on the overall estimate, recommended because there is no subgroup to plan for (``why``)
    or because its estimates are too thin (``thin``: what is counted and the count); then the subgroup
    designs are listed with blank numbers."""
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
    if thin is not None:
        why_not = thin_estimates_words(*thin, s.min_cell)
        named = replace(plan, prevalence=float(prevalence))
        options += [_not_estimable(_blank(name, named), why_not) for name in DESIGNS if name != "all_comers"]
    decision = recommend_all_comers(d1, s, endpoint.outcome, float(effect_overall), why=why, thin=thin)
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
        recommended=decision.design,
        reasons=recommendation_reasons(decision),
        outcome=endpoint.outcome,
        decision=decision,
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
    endpoint = _endpoint(outcome, s, sign, outcome_sd, control_rate, event_probability)
    return _overall_menu(endpoint, s, seed, float(effect_overall), float(se_overall), why=why)


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
