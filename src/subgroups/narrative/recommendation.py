"""The recommendation in words: each finding of a :class:`~subgroups.design.Recommendation` (the rule
that chose the design, its cautions and the always-shown context) as one reason, for the analyst
(`subgroups.narrative.design_page` translates the settings' names for the reader).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from subgroups.narrative.text import count_text

if TYPE_CHECKING:
    from subgroups.design import Recommendation

# A design as the reasons name it inside a sentence.
SHORT_NAMES = {
    "all_comers": "an all-comers trial",
    "enrichment": "enrichment",
    "stratified": "the stratified design",
    "stratified_mast": "MaST",
    "adaptive_enrichment": "adaptive enrichment",
    "enriched_stratified": "the enriched-stratified design",
}
MIXTURE_WORDS = "the prevalence-weighted mean of the subgroup and complement planning effects"
_SOURCES = {"mixture": MIXTURE_WORDS, "discovery": "the discovery trial's overall estimate"}

# The FDA guidance on enrichment strategies (2019), as it bears on an enrichment recommendation.
ENRICHMENT_GUIDANCE = (
    "Per the FDA enrichment guidance (2019) the label would cover marker-positive patients "
    "only, the assay must be analytically validated (companion diagnostic), and excluding "
    "marker-negative patients needs a mechanistic or safety justification; otherwise keep a "
    "smaller stratified marker-negative cohort (D5, set require_complement_data=True)"
)


def effect_words(effect: float, outcome: str, *, compact: bool = False) -> str:
    """A planning effect on the outcome's scale in words: "HR 0.70", "+5.0 percentage points", "+0.25";
    ``compact`` for a table cell: "+5.0 points", three significant digits ("+0.253")."""
    if outcome == "time_to_event":
        return f"HR {math.exp(effect):.2f}"
    if outcome == "binary":
        return f"{100 * effect:+.1f} {'points' if compact else 'percentage points'}"
    return f"{effect:+.3g}" if compact else f"{effect:+.2f}"


def thin_estimates_words(label: str, count: int, min_cell: int) -> str:
    """Why the subgroup designs are not estimable: "only 9 treated events in ..., fewer than min_cell = 10"."""
    return f"only {count} {label}, fewer than min_cell = {min_cell}"


def _n(value: float | None) -> str:
    return count_text(value, "n/a")


def _screened(value: float | None) -> str:
    """An expected number screened, rounded up as in the design table."""
    return "n/a" if value is None else count_text(math.ceil(value - 1e-9))


def _p(x: float) -> str:
    """A probability for a sentence: two decimals, or a bound when it rounds to 0 or 1."""
    if x < 0.005:
        return "< 0.01"
    if x > 0.995:
        return "> 0.99"
    return f"= {x:.2f}"


# --- the pieces several reasons share ---------------------------------------------------------------


def _all_comers_size(
    n_randomized: int | None,
    n_treatment: int | None,
    n_control: int | None,
    assurance: float | None,
    power: float,
    alpha: float,
    effect: float,
    effect_source: str,
    outcome: str,
) -> str:
    """All-comers' size in a sentence (`subgroups.design.recommend.all_comers_facts`)."""
    effect_text, source = effect_words(effect, outcome), _SOURCES[effect_source]
    if n_randomized is None:
        return f"the overall effect {effect_text} ({source}) shows no benefit, so an all-comers trial cannot be sized"
    return (
        f"it needs {_n(n_randomized)} randomized patients ({_n(n_treatment)} treated, "
        f"{_n(n_control)} control) for {power:.0%} power on the overall effect "
        f"{effect_text} ({source}) at one-sided alpha {alpha:g}; assurance "
        f"(chance of success allowing for the uncertainty of that effect) is {assurance:.0%}"
    )


def _enrichment_size(
    design: str,
    n_randomized: int | None,
    n_screened_expected: float | None,
    n_screened_quantile: int | None,
    screen_quantile: float,
    all_comers_n: int | None,
) -> str:
    """An enrichment design's randomized and screened numbers, and how they compare with all-comers'."""
    text = (
        f"{SHORT_NAMES[design]} needs {_n(n_randomized)} randomized and about "
        f"{_screened(n_screened_expected)} screened patients ({_n(n_screened_quantile)} "
        f"to be {screen_quantile:.0%} sure)"
    )
    if all_comers_n is not None and n_randomized:
        counts = f"({_n(n_randomized)} vs {_n(all_comers_n)})"
        if all_comers_n >= n_randomized:
            text += f", {all_comers_n / n_randomized:.1f}× fewer randomized patients than all-comers {counts}"
        else:
            text += f", {n_randomized / all_comers_n:.1f}× the randomized patients of all-comers {counts}"
    return text


def _relevant_words(fraction: float, min_effect: float | None, outcome: str) -> str:
    """What the enrichment rule calls a relevant complement effect."""
    if min_effect is not None:
        return f"is at least {effect_words(min_effect, outcome)}"
    return f"exceeds {fraction:.0%} of the subgroup effect" if fraction != 0.5 else "exceeds half the subgroup effect"


def _uncertain_words(p_benefit: float, fraction: float) -> str:
    return (
        f"whether the marker is predictive is uncertain (P {_p(p_benefit)} that the "
        f"complement's effect is at least {fraction:.0%} of the "
        "subgroup's)"
    )


# --- the rules that decide ----------------------------------------------------------------------------


def _no_heterogeneity(all_comers: dict[str, Any]) -> str:
    return (
        "all-comers: the discovery analysis found no credible treatment-effect "
        "heterogeneity, so the trial is sized from the overall effect: " + _all_comers_size(**all_comers)
    )


def _no_subgroup(why: str, all_comers: dict[str, Any]) -> str:
    return f"all-comers: {why}; the trial is sized from the overall effect: " + _all_comers_size(**all_comers)


def _not_estimable(label: str, count: int, min_cell: int, all_comers: dict[str, Any]) -> str:
    why = f"the subgroup designs are not estimable ({thin_estimates_words(label, count, min_cell)})"
    return _no_subgroup(why, all_comers)


def _all_comers_infeasible(
    design: str, title: str, prevalence: float, all_comers_n: int | None, max_n: int, size: dict[str, Any]
) -> str:
    why = (
        "the overall effect shows no benefit"
        if all_comers_n is None
        else f"an all-comers trial would need {_n(all_comers_n)} randomized patients, more than the feasible maximum of {_n(max_n)}"
    )
    return f"{title.split(' (')[0].lower()}: prevalence is {prevalence:.0%} and {why}; " + _enrichment_size(**size)


def _complement_no_benefit(
    design: str, title: str, p_relevant: float, relevant: dict[str, Any], prevalence: float, size: dict[str, Any]
) -> str:
    return (
        f"{'enrichment' if design == 'enrichment' else title.lower()}: the complement "
        f"shows no benefit (P {_p(p_relevant)} that its effect {_relevant_words(**relevant)}) and "
        f"prevalence is {prevalence:.0%}, so " + _enrichment_size(**size)
    )


def _enrichment_premature(
    p_relevant: float, relevant: dict[str, Any], sensitivity: float, specificity: float, validated: bool
) -> str:
    return (
        f"the complement shows no benefit (P {_p(p_relevant)} that its effect "
        f"{_relevant_words(**relevant)}) but the assay is not validated (sensitivity "
        f"{sensitivity:.0%}, specificity {specificity:.0%}, validated: "
        f"{validated}), so enrichment is premature"
    )


def _small_heterogeneity(p_benefit: float, fraction: float, all_comers: dict[str, Any]) -> str:
    return (
        f"all-comers: heterogeneity looks small (P {_p(p_benefit)} that the complement's "
        f"effect is at least {fraction:.0%} of the subgroup's), so "
        + _all_comers_size(**all_comers)
        + "; analyse the subgroup as a stratified secondary analysis"
    )


def _uncertain_adaptive(
    p_benefit: float,
    fraction: float,
    prevalence: float,
    prevalence_range: list[float],
    endpoint_delay: float,
    n_stage1: int | None,
    n_randomized: int | None,
    expected_n_randomized: float | None,
    power_any: float,
    assurance_any: float,
    type1_error: float,
    alpha: float,
) -> str:
    low, high = prevalence_range
    return (
        f"adaptive enrichment: {_uncertain_words(p_benefit, fraction)}, prevalence {prevalence:.0%} lies in "
        f"{low:.0%}-{high:.0%} and the "
        f"endpoint is observed quickly ({endpoint_delay:.0%} of the accrual period), so "
        f"a two-stage trial can decide at the interim (after {_n(n_stage1)} patients) "
        f"whether to continue in everyone or only in the subgroup: at most "
        f"{_n(n_randomized)} randomized (expected {_n(expected_n_randomized)}), "
        f"P(claim) {power_any:.0%} at the planning effects, assurance "
        f"{assurance_any:.0%}, simulated family-wise error {type1_error:.4f} "
        f"(alpha {alpha:g})"
    )


_WHY_NOT_ADAPTIVE = {
    "slow_endpoint": "the endpoint is too slow for an interim decision",
    "prevalence_out_of_range": "prevalence {prevalence:.0%} is outside the range where adaptation pays",
    "adaptive_infeasible": "the adaptive design is not feasible",
}


def _uncertain_stratified(
    p_benefit: float,
    fraction: float,
    why_not_adaptive: str,
    prevalence: float,
    alpha_subgroup: float,
    alpha_overall: float,
    n_randomized: int | None,
    power_subgroup: float | None,
    power_overall: float | None,
    assurance_any: float | None,
) -> str:
    why = _WHY_NOT_ADAPTIVE[why_not_adaptive].format(prevalence=prevalence)
    return (
        f"stratified: {_uncertain_words(p_benefit, fraction)} and {why}, so randomize everyone, stratified "
        f"by marker, with co-primary tests in S (alpha {alpha_subgroup:.4f}) and F "
        f"(alpha {alpha_overall:.4f}): {_n(n_randomized)} randomized, power "
        f"{power_subgroup:.0%} in S and {power_overall:.0%} in F, assurance of any "
        f"claim {assurance_any:.0%}"
    )


def _stratified_alternatives(splits: list[dict[str, Any]], mast_n: int | None, mast_power_subgroup: float | None) -> str:
    alternatives = [
        f"{split['method'].replace('_', '-')} split (S {split['alpha_subgroup']:.4f} / F "
        f"{split['alpha_overall']:.4f}) needs {_n(split['n_randomized'])}"
        for split in splits
    ]
    alternatives.append(f"MaST (D3b) needs {_n(mast_n)} with power {mast_power_subgroup:.0%} in S")
    return "alternatives: " + "; ".join(alternatives)


def _best_value(p_benefit: float, fraction: float, design: str, title: str, candidates: list[str]) -> str:
    tried = (
        "the stratified and adaptive designs exceed" if "adaptive_enrichment" in candidates else "the stratified design exceeds"
    )
    return (
        f"{title.lower()}: {_uncertain_words(p_benefit, fraction)}; {tried} "
        f"the feasible maximum, and this design has the highest assurance per unit cost"
    )


# --- cautions ---------------------------------------------------------------------------------------------


def _exceeds_max_n(max_n: int) -> str:
    return f"note: this exceeds the feasible maximum of {_n(max_n)} randomized patients"


def _none_feasible(design: str, max_n: int) -> str:
    return (
        f"note: {SHORT_NAMES[design]} is not feasible either: it exceeds the feasible maximum of {_n(max_n)} "
        "randomized patients or cannot be sized"
    )


def _record_marker(subgroup_estimate: str) -> str:
    text = "record the marker and analyse the subgroup as a stratified secondary analysis"
    return text + ("; planning on the subgroup estimate would chase noise" if subgroup_estimate == "not_credible" else "")


def _assay_not_validated(min_accuracy: float) -> str:
    return (
        "caution: the assay is not validated to the required accuracy "
        f"({min_accuracy:.0%} sensitivity and specificity); validate it first"
    )


# --- the always-shown context -----------------------------------------------------------------------------


def _planning_effect_mixture(effect: float, discovery: float, outcome: str) -> str:
    return (
        f"every design plans its overall claim on one overall effect, {effect_words(effect, outcome)}: "
        f"{MIXTURE_WORDS} (the discovery trial's overall estimate was {effect_words(discovery, outcome)})"
    )


def _planning_effect_pooled(discovery: float, subgroup: float, complement: float, outcome: str) -> str:
    return (
        f"every design is planned on the discovery trial's overall estimate {effect_words(discovery, outcome)} "
        "in the subgroup and the complement alike (no credible heterogeneity: complete pooling); their held-out "
        f"estimates were {effect_words(subgroup, outcome)} and {effect_words(complement, outcome)}"
    )


def _efficiency(
    ratio_randomized: float, ratio_screened: float, all_comers_n: int, enrichment_n: int, enrichment_screened: float
) -> str:
    return (
        f"efficiency (Simon & Maitournam 2005), from the table: all-comers randomizes {ratio_randomized:.1f}× the patients "
        f"enrichment randomizes ({_n(all_comers_n)} vs {_n(enrichment_n)}), and enrichment screens "
        f"{ratio_screened:.2f}× the number all-comers randomizes ({_screened(enrichment_screened)} vs {_n(all_comers_n)})"
    )


def _shrinkage(
    method: str,
    tau2: float,
    subgroup_raw: float,
    complement_raw: float,
    subgroup: float,
    complement: float,
    outcome: str,
) -> str:
    return (
        f"planning effects are empirical-Bayes shrunk toward the common mean "
        f"({method} tau^2 = {tau2:.4g}): subgroup "
        f"{effect_words(subgroup_raw, outcome)} → {effect_words(subgroup, outcome)}, complement "
        f"{effect_words(complement_raw, outcome)} → {effect_words(complement, outcome)}; a subgroup found "
        "by searching overstates its effect (winner's curse)"
    )


def _assay_dilution(
    sensitivity: float, specificity: float, p_positive: float, ppv: float, enriched_effect: float, outcome: str
) -> str:
    return (
        f"with assay sensitivity {sensitivity:.0%} and specificity "
        f"{specificity:.0%}, {p_positive:.0%} of screened patients test "
        f"positive and {ppv:.0%} of them are truly in the subgroup, which dilutes the "
        f"enriched effect to {effect_words(enriched_effect, outcome)}"
    )


def _hazard_ratio_mixture() -> str:
    return (
        "time to event: the overall log hazard ratio of every design, all-comers included, is the event-weighted "
        "mean of the stratum log hazard ratios (hazard ratios do not average, and proportional hazards within strata "
        "do not imply them overall); check by simulation if the design is close to a boundary"
    )


# One sentence per finding kind; its facts are the function's keyword arguments.
REASONS: dict[str, Callable[..., str]] = {
    "no_heterogeneity": _no_heterogeneity,
    "no_subgroup": _no_subgroup,
    "not_estimable": _not_estimable,
    "all_comers_infeasible": _all_comers_infeasible,
    "complement_no_benefit": _complement_no_benefit,
    "enrichment_premature": _enrichment_premature,
    "small_heterogeneity": _small_heterogeneity,
    "uncertain_adaptive": _uncertain_adaptive,
    "uncertain_stratified": _uncertain_stratified,
    "stratified_alternatives": _stratified_alternatives,
    "best_value": _best_value,
    "exceeds_max_n": _exceeds_max_n,
    "none_feasible": _none_feasible,
    "record_marker": _record_marker,
    "assay_not_validated": _assay_not_validated,
    "enrichment_guidance": lambda: ENRICHMENT_GUIDANCE,
    "planning_effect_mixture": _planning_effect_mixture,
    "planning_effect_pooled": _planning_effect_pooled,
    "efficiency": _efficiency,
    "shrinkage": _shrinkage,
    "assay_dilution": _assay_dilution,
    "hazard_ratio_mixture": _hazard_ratio_mixture,
}


def recommendation_reasons(decision: Recommendation) -> list[str]:
    """The reasons of a recommendation, one per finding, in its order."""
    return [REASONS[finding.kind](**finding.facts) for finding in decision.findings]
