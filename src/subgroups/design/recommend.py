"""The recommendation: the rules, in order, that choose one design of the menu (with the tie-break on
assurance per unit cost), and the reasons written for scientists, including the always-shown
context (the overall planning effect, efficiency ratios, shrinkage and the assay).
"""

from __future__ import annotations

import math

import numpy as np

from subgroups.design.checks import _SPLITS
from subgroups.design.designs import _blank_option, _Endpoint, _Plan, _split_for, _stratified_option
from subgroups.design.menu import DesignOption
from subgroups.design.screening import AssayStrata
from subgroups.design.settings import DesignInputs, DesignSettings
from subgroups.design.shrinkage import ShrinkageResult


def _n(x: float | int | None) -> str:
    return "n/a" if x is None else f"{int(round(x)):,}"


def _screened(x: float | None) -> str:
    """An expected number screened, rounded up as in the design table."""
    return "n/a" if x is None else f"{math.ceil(x - 1e-9):,}"


def _p(x: float) -> str:
    """A probability for a sentence: two decimals, or a bound when it rounds to 0 or 1."""
    if x < 0.005:
        return "< 0.01"
    if x > 0.995:
        return "> 0.99"
    return f"= {x:.2f}"


_SHORT_NAMES = {
    "all_comers": "an all-comers trial",
    "enrichment": "enrichment",
    "stratified": "the stratified design",
    "stratified_mast": "MaST",
    "adaptive_enrichment": "adaptive enrichment",
    "enriched_stratified": "the enriched-stratified design",
}


def _all_comers_words(d1: DesignOption, s: DesignSettings, ep: _Endpoint, effect: float, source: str) -> str:
    """All-comers' size in a sentence; ``effect`` on the outcome scale, ``source`` says where it comes from."""
    if d1.n_randomized is None:
        return f"the overall effect {ep.describe(effect)} ({source}) shows no benefit, so an all-comers trial cannot be sized"
    return (
        f"it needs {_n(d1.n_randomized)} randomized patients ({_n(d1.n_treatment)} treated, "
        f"{_n(d1.n_control)} control) for {s.power:.0%} power on the overall effect "
        f"{ep.describe(effect)} ({source}) at one-sided alpha {s.alpha:g}; assurance "
        f"(chance of success allowing for the uncertainty of that effect) is {d1.assurance_any:.0%}"
    )


_MIXTURE_WORDS = "the prevalence-weighted mean of the subgroup and complement planning effects"


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


def _recommend(
    inputs: DesignInputs,
    s: DesignSettings,
    plan: _Plan,
    by_name: dict[str, DesignOption],
    p_benefit: float,
    p_relevant: float,
    relevant_words: str,
) -> tuple[str, list[str]]:
    """The recommendation rules (RecommendationRule thresholds), in order; returns the design key and the reasons."""
    rule = s.rule
    ep = plan.endpoint
    d1 = by_name["all_comers"]
    pi = plan.prevalence
    enrich_choice = "enriched_stratified" if s.require_complement_data else "enrichment"
    reasons: list[str] = []

    def all_comers_words() -> str:
        source = _MIXTURE_WORDS if inputs.heterogeneity_detected else "the discovery trial's overall estimate"
        return _all_comers_words(d1, s, ep, ep.sign * plan.overall, source)

    def enrichment_words(option: DesignOption) -> str:
        text = (
            f"{_SHORT_NAMES[option.design]} needs {_n(option.n_randomized)} randomized and about "
            f"{_screened(option.n_screened_expected)} screened patients ({_n(option.n_screened_quantile)} "
            f"to be {s.screen_quantile:.0%} sure)"
        )
        if d1.n_randomized is not None and option.n_randomized:
            counts = f"({_n(option.n_randomized)} vs {_n(d1.n_randomized)})"
            if d1.n_randomized >= option.n_randomized:
                text += f", {d1.n_randomized / option.n_randomized:.1f}× fewer randomized patients than all-comers {counts}"
            else:
                text += f", {option.n_randomized / d1.n_randomized:.1f}× the randomized patients of all-comers {counts}"
        return text

    fda = (
        "Per the FDA enrichment guidance (2019) the label would cover marker-positive patients "
        "only, the assay must be analytically validated (companion diagnostic), and excluding "
        "marker-negative patients needs a mechanistic or safety justification; otherwise keep a "
        "smaller stratified marker-negative cohort (D5, set require_complement_data=True)"
    )

    # Rule 0: no credible heterogeneity.
    if not inputs.heterogeneity_detected:
        reasons.append(
            "all-comers: the discovery analysis found no credible treatment-effect "
            "heterogeneity, so the trial is sized from the overall effect: " + all_comers_words()
        )
        if not d1.feasible and d1.n_randomized is not None:
            reasons.append(f"note: this exceeds the feasible maximum of {_n(s.max_n)} randomized patients")
        reasons.append(
            "record the marker and analyse the subgroup as a stratified secondary analysis; "
            "planning on the subgroup estimate would chase noise"
        )
        return "all_comers", reasons

    assay_ok = (
        s.assay_validated and s.assay_sensitivity >= rule.min_assay_accuracy and s.assay_specificity >= rule.min_assay_accuracy
    )

    # Rule 1: prevalence too small for an all-comers trial.
    if not d1.feasible:
        choice = _first_feasible([enrich_choice, "enrichment"], by_name) or enrich_choice
        why = (
            "the overall effect shows no benefit"
            if d1.n_randomized is None
            else f"an all-comers trial would need {_n(d1.n_randomized)} randomized patients, "
            f"more than the feasible maximum of {_n(s.max_n)}"
        )
        reasons.append(
            f"{by_name[choice].title.split(' (')[0].lower()}: prevalence is {pi:.0%} and {why}; "
            + enrichment_words(by_name[choice])
        )
        if not assay_ok:
            reasons.append(
                "caution: the assay is not validated to the required accuracy "
                f"({rule.min_assay_accuracy:.0%} sensitivity and specificity); validate it first"
            )
        reasons.append(fda)
        return choice, reasons

    # Rule 2: the complement shows no benefit and the assay is validated.
    if p_relevant < rule.enrichment_max_probability and assay_ok:
        choice = _first_feasible([enrich_choice], by_name) or _best_value(by_name) or enrich_choice
        option = by_name[choice]
        reasons.append(
            f"{'enrichment' if choice == 'enrichment' else option.title.lower()}: the complement "
            f"shows no benefit (P {_p(p_relevant)} that its effect {relevant_words}) and "
            f"prevalence is {pi:.0%}, so " + enrichment_words(option)
        )
        reasons.append(fda)
        return choice, reasons
    if p_relevant < rule.enrichment_max_probability:
        reasons.append(
            f"the complement shows no benefit (P {_p(p_relevant)} that its effect "
            f"{relevant_words}) but the assay is not validated (sensitivity "
            f"{s.assay_sensitivity:.0%}, specificity {s.assay_specificity:.0%}, validated: "
            f"{s.assay_validated}), so enrichment is premature"
        )

    # Rule 3: little heterogeneity.
    if p_benefit > rule.all_comers_min_probability:
        reasons.append(
            f"all-comers: heterogeneity looks small (P {_p(p_benefit)} that the complement's "
            f"effect is at least {rule.complement_relevant_fraction:.0%} of the subgroup's), so "
            + all_comers_words()
            + "; analyse the subgroup as a stratified secondary analysis"
        )
        return "all_comers", reasons

    # Rule 4: uncertain predictivity.
    quick = s.endpoint_delay <= rule.adaptive_max_endpoint_delay
    in_range = rule.adaptive_prevalence_min <= pi <= rule.adaptive_prevalence_max
    uncertain = (
        f"whether the marker is predictive is uncertain (P {_p(p_benefit)} that the "
        f"complement's effect is at least {rule.complement_relevant_fraction:.0%} of the "
        "subgroup's)"
    )
    d3, d3b, d4 = by_name["stratified"], by_name["stratified_mast"], by_name["adaptive_enrichment"]
    candidates = (["adaptive_enrichment"] if quick and in_range else []) + ["stratified"]
    choice = _first_feasible(candidates, by_name) or _best_value(by_name) or "stratified"
    if choice == "adaptive_enrichment":
        reasons.append(
            f"adaptive enrichment: {uncertain}, prevalence {pi:.0%} lies in "
            f"{rule.adaptive_prevalence_min:.0%}-{rule.adaptive_prevalence_max:.0%} and the "
            f"endpoint is observed quickly ({s.endpoint_delay:.0%} of the accrual period), so "
            f"a two-stage trial can decide at the interim (after {_n(d4.n_stage1)} patients) "
            f"whether to continue in everyone or only in the subgroup: at most "
            f"{_n(d4.n_randomized)} randomized (expected {_n(d4.expected_n_randomized)}), "
            f"P(claim) {d4.power_any:.0%} at the planning effects, assurance "
            f"{d4.assurance_any:.0%}, simulated family-wise error {d4.type1_error:.4f} "
            f"(alpha {s.alpha:g})"
        )
    elif choice == "stratified":
        why_not_adaptive = (
            "the endpoint is too slow for an interim decision"
            if not quick
            else f"prevalence {pi:.0%} is outside the range where adaptation pays"
            if not in_range
            else "the adaptive design is not feasible"
        )
        reasons.append(
            f"stratified: {uncertain} and {why_not_adaptive}, so randomize everyone, stratified "
            f"by marker, with co-primary tests in S (alpha {d3.alpha_subgroup:.4f}) and F "
            f"(alpha {d3.alpha_overall:.4f}): {_n(d3.n_randomized)} randomized, power "
            f"{d3.power_subgroup:.0%} in S and {d3.power_overall:.0%} in F, assurance of any "
            f"claim {d3.assurance_any:.0%}"
        )
        alternatives = []
        for method in _SPLITS:
            if method == s.alpha_split:
                continue
            alt = _stratified_option(
                plan,
                _blank_option("stratified", "D3", "", ""),
                plan.prevalence,
                _split_for(plan, plan.prevalence, method),
                controlled=False,
            )
            alternatives.append(
                f"{method.replace('_', '-')} split (S {alt.alpha_subgroup:.4f} / F "
                f"{alt.alpha_overall:.4f}) needs {_n(alt.n_randomized)}"
            )
        alternatives.append(f"MaST (D3b) needs {_n(d3b.n_randomized)} with power {d3b.power_subgroup:.0%} in S")
        reasons.append("alternatives: " + "; ".join(alternatives))
    else:
        option = by_name[choice]
        reasons.append(
            f"{option.title.lower()}: {uncertain}; the stratified and adaptive designs exceed "
            f"the feasible maximum, and this design has the highest assurance per unit cost"
        )
    return choice, reasons


def _context_reasons(
    inputs: DesignInputs,
    s: DesignSettings,
    plan: _Plan,
    shrinkage: ShrinkageResult | None,
    strata: AssayStrata,
    by_name: dict[str, DesignOption],
    ratios: tuple[float | None, float | None],
    mean: np.ndarray,
) -> list[str]:
    """Always-shown context: the overall planning effect, efficiency ratios (from the table), shrinkage and assay."""
    ep = plan.endpoint
    if inputs.heterogeneity_detected:
        out = [
            f"every design plans its overall claim on one overall effect, {ep.describe(ep.sign * plan.overall)}: "
            f"{_MIXTURE_WORDS} (the discovery trial's overall estimate was {ep.describe(inputs.effect_overall)})"
        ]
    else:
        out = [
            f"every design is planned on the discovery trial's overall estimate {ep.describe(inputs.effect_overall)} "
            "in the subgroup and the complement alike (no credible heterogeneity: complete pooling); their held-out "
            f"estimates were {ep.describe(inputs.effect_subgroup)} and {ep.describe(inputs.effect_complement)}"
        ]
    if ratios[0] is not None and ratios[1] is not None:
        d1, d2 = by_name["all_comers"], by_name["enrichment"]
        out.append(
            f"efficiency (Simon & Maitournam 2005), from the table: all-comers randomizes {ratios[0]:.1f}× the patients "
            f"enrichment randomizes ({_n(d1.n_randomized)} vs {_n(d2.n_randomized)}), and enrichment screens "
            f"{ratios[1]:.2f}× the number all-comers randomizes ({_screened(d2.n_screened_expected)} vs {_n(d1.n_randomized)})"
        )
    if shrinkage is not None:
        out.append(
            f"planning effects are empirical-Bayes shrunk toward the common mean "
            f"({shrinkage.method} tau^2 = {shrinkage.tau2:.4g}): subgroup "
            f"{ep.describe(inputs.effect_subgroup)} -> {ep.describe(mean[0])}, complement "
            f"{ep.describe(inputs.effect_complement)} -> {ep.describe(mean[1])}; a subgroup found "
            "by searching overstates its effect (winner's curse)"
        )
    if s.assay_sensitivity < 1 or s.assay_specificity < 1:
        out.append(
            f"with assay sensitivity {s.assay_sensitivity:.0%} and specificity "
            f"{s.assay_specificity:.0%}, {strata.p_positive:.0%} of screened patients test "
            f"positive and {strata.ppv:.0%} of them are truly in the subgroup, which dilutes the "
            f"enriched effect to {ep.describe(ep.sign * plan.mean[0])}"
        )
    if inputs.outcome == "time_to_event":
        out.append(
            "time to event: the overall log hazard ratio of every design, all-comers included, is the event-weighted "
            "mean of the stratum log hazard ratios (hazard ratios do not average, and proportional hazards within strata "
            "do not imply them overall); check by simulation if the design is close to a boundary"
        )
    return out
