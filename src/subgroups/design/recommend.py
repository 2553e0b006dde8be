"""The recommendation: the rules, in order, that choose one design of the menu (with the tie-break on
assurance per unit cost), returned as a :class:`~subgroups.design.menu.Recommendation` (the rule, the
design and the findings with their facts), and the always-shown context findings (the overall
planning effect, the efficiency ratios, shrinkage, the assay and the hazard-ratio mixture). No
English here: `subgroups.narrative.recommendation` writes each finding as a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from subgroups.design.checks import _SPLITS
from subgroups.design.designs import _blank_option, _Plan, _split_for, _stratified_option
from subgroups.design.menu import DesignOption, Finding, Recommendation
from subgroups.design.screening import AssayStrata
from subgroups.design.settings import DesignInputs, DesignSettings
from subgroups.inference import ShrinkageResult


@dataclass(frozen=True)
class Evidence:
    """How strongly the discovery data say the complement benefits, on the benefit scale.

    Attributes
    ----------
    p_benefit : float
        P(theta_Sc >= fraction x theta_S): the heterogeneity evidence of rules 3 and 4.
    p_relevant : float
        P(the complement benefits relevantly) as the enrichment rule defines it (rule 2): the same
        fraction, or ``complement_min_effect`` when set.
    """

    p_benefit: float
    p_relevant: float


@dataclass(frozen=True)
class _Case:
    """What every rule reads: the inputs, the settings, the plan, the menu by name and the evidence."""

    inputs: DesignInputs
    settings: DesignSettings
    plan: _Plan
    by_name: dict[str, DesignOption]
    evidence: Evidence

    @property
    def all_comers(self) -> DesignOption:
        return self.by_name["all_comers"]

    @property
    def enrich_choice(self) -> str:
        """Enrichment, or enriched-stratified when marker-negative patients must stay in the trial."""
        return "enriched_stratified" if self.settings.require_complement_data else "enrichment"

    @property
    def assay_ok(self) -> bool:
        s = self.settings
        accuracy = self.settings.rule.min_assay_accuracy
        return s.assay_validated and s.assay_sensitivity >= accuracy and s.assay_specificity >= accuracy

    @property
    def uncertain(self) -> dict[str, Any]:
        """The facts of "whether the marker is predictive is uncertain"."""
        return {"p_benefit": self.evidence.p_benefit, "fraction": self.settings.rule.complement_relevant_fraction}

    @property
    def relevant(self) -> dict[str, Any]:
        """How the enrichment rule defines a relevant complement effect."""
        rule = self.settings.rule
        return {
            "fraction": rule.complement_relevant_fraction,
            "min_effect": rule.complement_min_effect,
            "outcome": self.inputs.outcome,
        }

    def all_comers_size(self) -> dict[str, Any]:
        """All-comers' size, on the planning effect every design's overall claim uses."""
        source = "mixture" if self.inputs.heterogeneity_detected else "discovery"
        ep = self.plan.endpoint
        return all_comers_facts(self.all_comers, self.settings, self.inputs.outcome, ep.sign * self.plan.overall, source)

    def enrichment_size(self, design: str) -> dict[str, Any]:
        """An enrichment design's randomized and screened numbers, beside all-comers' randomized N."""
        option = self.by_name[design]
        return {
            "design": option.design,
            "n_randomized": option.n_randomized,
            "n_screened_expected": option.n_screened_expected,
            "n_screened_quantile": option.n_screened_quantile,
            "screen_quantile": self.settings.screen_quantile,
            "all_comers_n": self.all_comers.n_randomized,
        }


def all_comers_facts(d1: DesignOption, s: DesignSettings, outcome: str, effect: float, source: str) -> dict[str, Any]:
    """All-comers' size as the reasons quote it; ``effect`` on the outcome scale, ``source`` ("mixture" of
    the subgroup and complement planning effects, or the "discovery" trial's overall estimate) where it
    comes from."""
    return {
        "n_randomized": d1.n_randomized,
        "n_treatment": d1.n_treatment,
        "n_control": d1.n_control,
        "assurance": d1.assurance_any,
        "power": s.power,
        "alpha": s.alpha,
        "effect": float(effect),
        "effect_source": source,
        "outcome": outcome,
    }


def _first_feasible(candidates: list[str], by_name: dict[str, DesignOption]) -> str | None:
    for name in candidates:
        if by_name[name].feasible:
            return name
    return None


def _best_value(by_name: dict[str, DesignOption]) -> str | None:
    """Tie-break (rule 5): the feasible design with the highest assurance per unit cost."""
    feasible = [o for o in by_name.values() if o.feasible and o.assurance_per_cost is not None]
    if not feasible:
        return None
    return max(feasible, key=lambda o: o.assurance_per_cost or 0.0).design


_Decision = tuple[str, str, list[Finding]]  # rule, design, findings
# Rules that recommend their default design when none of their candidates is feasible.
_DEFAULTING_RULES = ("all_comers_infeasible", "complement_no_benefit", "uncertain_stratified")


def _no_heterogeneity(case: _Case) -> _Decision:
    """Rule 0: no credible heterogeneity, so all-comers sized on the overall estimate."""
    d1 = case.all_comers
    findings = [Finding("no_heterogeneity", {"all_comers": case.all_comers_size()})]
    if not d1.feasible and d1.n_randomized is not None:
        findings.append(Finding("exceeds_max_n", {"max_n": case.settings.max_n}))
    findings.append(Finding("record_marker", {"subgroup_estimate": "not_credible"}))
    return "no_heterogeneity", "all_comers", findings


def _all_comers_infeasible(case: _Case) -> _Decision:
    """Rule 1: the prevalence is too small for an all-comers trial within ``max_n``, so enrich."""
    choice = _first_feasible([case.enrich_choice, "enrichment"], case.by_name) or case.enrich_choice
    option = case.by_name[choice]
    facts = {
        "design": choice,
        "title": option.title,
        "prevalence": case.plan.prevalence,
        "all_comers_n": case.all_comers.n_randomized,
        "max_n": case.settings.max_n,
        "size": case.enrichment_size(choice),
    }
    findings = [Finding("all_comers_infeasible", facts)]
    if not case.assay_ok:
        findings.append(Finding("assay_not_validated", {"min_accuracy": case.settings.rule.min_assay_accuracy}))
    findings.append(Finding("enrichment_guidance"))
    return "all_comers_infeasible", choice, findings


def _complement_no_benefit(case: _Case) -> _Decision:
    """Rule 2: the complement shows no benefit and the assay is validated, so enrich."""
    choice = _first_feasible([case.enrich_choice], case.by_name) or _best_value(case.by_name) or case.enrich_choice
    facts = {
        "design": choice,
        "title": case.by_name[choice].title,
        "p_relevant": case.evidence.p_relevant,
        "relevant": case.relevant,
        "prevalence": case.plan.prevalence,
        "size": case.enrichment_size(choice),
    }
    return "complement_no_benefit", choice, [Finding("complement_no_benefit", facts), Finding("enrichment_guidance")]


def _enrichment_premature(case: _Case) -> Finding:
    """Rule 2 declined: the complement shows no benefit, but the assay is not validated."""
    s = case.settings
    return Finding(
        "enrichment_premature",
        {
            "p_relevant": case.evidence.p_relevant,
            "relevant": case.relevant,
            "sensitivity": s.assay_sensitivity,
            "specificity": s.assay_specificity,
            "validated": s.assay_validated,
        },
    )


def _small_heterogeneity(case: _Case) -> _Decision:
    """Rule 3: the complement likely benefits nearly as much, so all-comers."""
    facts = {**case.uncertain, "all_comers": case.all_comers_size()}
    return "small_heterogeneity", "all_comers", [Finding("small_heterogeneity", facts)]


def _uncertain_predictivity(case: _Case) -> _Decision:
    """Rule 4: whether the marker is predictive is uncertain: adaptive enrichment where it pays, else
    stratified, else (both infeasible) the feasible design with the highest assurance per unit cost."""
    s, rule, pi = case.settings, case.settings.rule, case.plan.prevalence
    quick = s.endpoint_delay <= rule.adaptive_max_endpoint_delay
    in_range = rule.adaptive_prevalence_min <= pi <= rule.adaptive_prevalence_max
    candidates = (["adaptive_enrichment"] if quick and in_range else []) + ["stratified"]
    choice = _first_feasible(candidates, case.by_name)
    if choice == "adaptive_enrichment":
        return "uncertain_adaptive", choice, [_adaptive_finding(case)]
    best = None if choice else _best_value(case.by_name)
    if best is not None:
        facts = {**case.uncertain, "design": best, "title": case.by_name[best].title, "candidates": candidates}
        return "best_value", best, [Finding("best_value", facts)]
    why_not_adaptive = "slow_endpoint" if not quick else "prevalence_out_of_range" if not in_range else "adaptive_infeasible"
    return "uncertain_stratified", "stratified", [_stratified_finding(case, why_not_adaptive), _alternatives_finding(case)]


def _adaptive_finding(case: _Case) -> Finding:
    s, rule, d4 = case.settings, case.settings.rule, case.by_name["adaptive_enrichment"]
    return Finding(
        "uncertain_adaptive",
        {
            **case.uncertain,
            "prevalence": case.plan.prevalence,
            "prevalence_range": [rule.adaptive_prevalence_min, rule.adaptive_prevalence_max],
            "endpoint_delay": s.endpoint_delay,
            "n_stage1": d4.n_stage1,
            "n_randomized": d4.n_randomized,
            "expected_n_randomized": d4.expected_n_randomized,
            "power_any": d4.power_any,
            "assurance_any": d4.assurance_any,
            "type1_error": d4.type1_error,
            "alpha": s.alpha,
        },
    )


def _stratified_finding(case: _Case, why_not_adaptive: str) -> Finding:
    d3 = case.by_name["stratified"]
    return Finding(
        "uncertain_stratified",
        {
            **case.uncertain,
            "why_not_adaptive": why_not_adaptive,
            "prevalence": case.plan.prevalence,
            "alpha_subgroup": d3.alpha_subgroup,
            "alpha_overall": d3.alpha_overall,
            "n_randomized": d3.n_randomized,
            "power_subgroup": d3.power_subgroup,
            "power_overall": d3.power_overall,
            "assurance_any": d3.assurance_any,
        },
    )


def _alternatives_finding(case: _Case) -> Finding:
    """The stratified design's size under the other alpha splits, and MaST's."""
    plan, splits = case.plan, []
    for method in _SPLITS:
        if method == case.settings.alpha_split:
            continue
        split = _split_for(plan, plan.prevalence, method)
        alt = _stratified_option(plan, _blank_option("stratified", "D3", "", ""), plan.prevalence, split, controlled=False)
        splits.append(
            {
                "method": method,
                "alpha_subgroup": alt.alpha_subgroup,
                "alpha_overall": alt.alpha_overall,
                "n_randomized": alt.n_randomized,
            }
        )
    mast = case.by_name["stratified_mast"]
    facts = {"splits": splits, "mast_n": mast.n_randomized, "mast_power_subgroup": mast.power_subgroup}
    return Finding("stratified_alternatives", facts)


def _decide(case: _Case) -> _Decision:
    """The rules in order (RecommendationRule thresholds)."""
    rule = case.settings.rule
    if not case.inputs.heterogeneity_detected:
        return _no_heterogeneity(case)
    if not case.all_comers.feasible:
        return _all_comers_infeasible(case)
    declined = []
    if case.evidence.p_relevant < rule.enrichment_max_probability:
        if case.assay_ok:
            return _complement_no_benefit(case)
        declined.append(_enrichment_premature(case))
    if case.evidence.p_benefit > rule.all_comers_min_probability:
        name, design, findings = _small_heterogeneity(case)
    else:
        name, design, findings = _uncertain_predictivity(case)
    return name, design, declined + findings


def recommend(
    inputs: DesignInputs,
    settings: DesignSettings,
    plan: _Plan,
    by_name: dict[str, DesignOption],
    evidence: Evidence,
    context: list[Finding],
) -> Recommendation:
    """The recommended design of the menu ``by_name``, the rule that chose it and its findings, followed by
    the ``context`` findings (:func:`context_findings`)."""
    rule, design, findings = _decide(_Case(inputs, settings, plan, by_name, evidence))
    if rule in _DEFAULTING_RULES and not by_name[design].feasible:
        # No candidate of the rule is feasible and it fell back to its default: say so, after the rule.
        decisive = next(i for i, f in enumerate(findings) if f.kind == rule)
        findings.insert(decisive + 1, Finding("none_feasible", {"design": design, "max_n": settings.max_n}))
    return Recommendation(design=design, rule=rule, findings=tuple(findings + context))


def recommend_all_comers(
    d1: DesignOption,
    settings: DesignSettings,
    outcome: str,
    effect_overall: float,
    *,
    why: str | None = None,
    thin: tuple[str, int] | None = None,
) -> Recommendation:
    """All-comers alone, sized on the discovery trial's overall estimate: because there is no subgroup to
    plan for (``why``, the caller's words) or because the subgroup's estimates rest on too few patients
    or events per arm (``thin``: the smallest count and what it counts)."""
    size = all_comers_facts(d1, settings, outcome, effect_overall, "discovery")
    if thin is None:
        rule, findings = "no_subgroup", [Finding("no_subgroup", {"why": why, "all_comers": size})]
    else:
        label, count = thin
        facts = {"label": label, "count": count, "min_cell": settings.min_cell, "all_comers": size}
        rule, findings = "not_estimable", [Finding("not_estimable", facts)]
    if not d1.feasible and d1.n_randomized is not None:
        findings.append(Finding("exceeds_max_n", {"max_n": settings.max_n}))
    if thin is not None:
        findings.append(Finding("record_marker", {"subgroup_estimate": "not_estimable"}))
    return Recommendation(design="all_comers", rule=rule, findings=tuple(findings))


def context_findings(
    inputs: DesignInputs,
    s: DesignSettings,
    plan: _Plan,
    shrinkage: ShrinkageResult | None,
    strata: AssayStrata,
    by_name: dict[str, DesignOption],
    ratios: tuple[float | None, float | None],
    mean: np.ndarray,
) -> list[Finding]:
    """Always-shown context: the overall planning effect, efficiency ratios (from the table), shrinkage and assay."""
    ep, outcome = plan.endpoint, inputs.outcome
    if inputs.heterogeneity_detected:
        planned = {"effect": ep.sign * plan.overall, "discovery": inputs.effect_overall, "outcome": outcome}
        out = [Finding("planning_effect_mixture", planned)]
    else:
        pooled = {
            "discovery": inputs.effect_overall,
            "subgroup": inputs.effect_subgroup,
            "complement": inputs.effect_complement,
            "outcome": outcome,
        }
        out = [Finding("planning_effect_pooled", pooled)]
    if ratios[0] is not None and ratios[1] is not None:
        d1, d2 = by_name["all_comers"], by_name["enrichment"]
        efficiency = {
            "ratio_randomized": ratios[0],
            "ratio_screened": ratios[1],
            "all_comers_n": d1.n_randomized,
            "enrichment_n": d2.n_randomized,
            "enrichment_screened": d2.n_screened_expected,
        }
        out.append(Finding("efficiency", efficiency))
    if shrinkage is not None:
        shrunk = {
            "method": shrinkage.method,
            "tau2": shrinkage.tau2,
            "subgroup_raw": inputs.effect_subgroup,
            "complement_raw": inputs.effect_complement,
            "subgroup": float(mean[0]),
            "complement": float(mean[1]),
            "outcome": outcome,
        }
        out.append(Finding("shrinkage", shrunk))
    if s.assay_sensitivity < 1 or s.assay_specificity < 1:
        assay = {
            "sensitivity": s.assay_sensitivity,
            "specificity": s.assay_specificity,
            "p_positive": strata.p_positive,
            "ppv": strata.ppv,
            "enriched_effect": ep.sign * float(plan.mean[0]),
            "outcome": outcome,
        }
        out.append(Finding("assay_dilution", assay))
    if outcome == "time_to_event":
        out.append(Finding("hazard_ratio_mixture"))
    return out
