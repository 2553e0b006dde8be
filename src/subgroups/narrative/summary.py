"""The index as an executive summary: five plain sentences (no Markdown; the index escapes them) and the glossary."""

from __future__ import annotations

from typing import Any

import numpy as np

from subgroups.narrative.text import (
    arm_name,
    count_text,
    display_rule,
    effect_text,
    effect_unit,
    fmt,
    number,
    p_text,
    unit_suffix,
)

# --------------------------------------------------------------------------------------------
# The index as an executive summary: five plain sentences (no Markdown; the index escapes them)
# --------------------------------------------------------------------------------------------


def adjusted_p_text(p: float | None) -> str:
    """ "p = 0.038": an adjusted p-value as the subgroup table prints it (`p_text`: "p < 0.001" below 0.001)."""
    return p_text(p)


def endpoint_summary(results: dict[str, Any]) -> str:
    """Sentence 1: the endpoint, the effect scale and its unit."""
    data, ate = results["data"], results["ate"]
    outcome = data["outcome"]
    declared = effect_unit(results)  # the average effect's unit, else the one data.labels declares for the outcome
    unit = f"in {declared}" if declared else "in the outcome's own units"
    if outcome["type"] == "binary":
        unit = "as a difference in proportions"
    return (
        f"Endpoint: {outcome['name']} ({outcome['type'].replace('_', '-')}; {'higher' if outcome['higher_is_better'] else 'lower'} "
        f"is better); effects are the {ate['scale']}, {arm_name('treated', results)} minus {arm_name('control', results)}, {unit}."
    )


def average_effect_summary(results: dict[str, Any]) -> str:
    """Sentence 2: the average effect with its CI, formatted as on the effects page."""
    ate = results["ate"]
    unit = unit_suffix(results)
    return (
        f"Average treatment effect: {number(ate['estimate'])}{unit} ({ate['ci_level']:.0%} CI {ate['ci_low']:.3g} to {ate['ci_high']:.3g}{unit}; "
        f"{p_text(ate['p_value'])}; n = {count_text(ate['n'])}); status: {ate['status']}."
    )


def heterogeneity_summary(results: dict[str, Any]) -> str:
    """Sentence 3: is the heterogeneity real? The verdict, then the decision as the effects page states it."""
    from subgroups.narrative.effects_page import DETECTION_POWER, detectable_difference_value

    h = results["heterogeneity"]
    # The decision opens with the verdict ("Heterogeneity detected at α = …" / "No credible heterogeneity at α = …").
    decision = h["decision"]
    difference = None if h["detected"] else detectable_difference_value(results)
    if difference is None:
        return decision
    unit = unit_suffix(results)
    return (
        f"{decision} For scale: two halves of the patients named in advance would have been told apart "
        f"{DETECTION_POWER:.0%} of the time only if their effects differed by {difference:.3g}{unit} or more."
    )


def _subgroup_effect(c: dict[str, Any], results: dict[str, Any] | None = None) -> str:
    r = c["reported"]
    unit = effect_unit(results) if results else None

    def shown(effect: float | None, low: float | None, high: float | None) -> str:  # "+2.51 months (0.581 to 4.43)"
        text = effect_text(effect, low, high)
        return text.replace(" (", f" {unit} (", 1) if unit and effect is not None else text

    return (
        f"{display_rule(c['hypothesis'], results)}: effect {shown(r['effect'], r['ci_low'], r['ci_high'])} against "
        f"{shown(r['comparator_effect'], r['comparator_ci_low'], r['comparator_ci_high'])} in the comparator"
    )


def subgroups_summary(results: dict[str, Any]) -> str:
    """Sentence 4: validated and pre-specified subgroups, and why they disagree when they do."""
    sub, h = results["subgroups"], results["heterogeneity"]
    alpha = results["params"]["subgroups"]["alpha"]
    validated = [c for c in sub["candidates"] if c["status"] == "validated"]
    if validated:
        c = validated[0]
        how = f"{c['reported']['estimator']}; adjusted {adjusted_p_text(c['p_adjusted'])}"
        found = f"Validated subgroup: {_subgroup_effect(c, results)} ({how})."
    else:
        conclusion = sub["conclusion"]  # a sentence of its own: lower-case after the label ("Heterogeneity was ...")
        found = f"Subgroup search: {conclusion[:1].lower()}{conclusion[1:]}"
        gated = [c for c in sub["candidates"] if c["p_adjusted"] is not None and c["p_adjusted"] < alpha]
        if gated and not h["detected"]:
            found += (
                f" Its strongest rule, {display_rule(gated[0]['hypothesis'], results)}, has adjusted {adjusted_p_text(gated[0]['p_adjusted'])}, but a "
                "discovered rule is called validated only when the heterogeneity tests detect heterogeneity overall, which they did not."
            )
    pre = sub.get("prespecified") or []
    hidden = len((sub.get("too_small") or {}).get("prespecified") or [])
    total = len(pre) + hidden  # Holm adjusts over every pre-specified subgroup, reported or too small to report
    if not total:
        return found + " No subgroup was pre-specified."
    if not pre:
        return found + (
            f" Pre-specified: {'the' if total == 1 else 'all'} {total} pre-specified subgroup{'' if total == 1 else 's'} "
            f"{'is' if total == 1 else 'are'} too small to report."
        )
    of = f"{total} pre-specified subgroup{'' if total == 1 else 's'}" + (f" ({hidden} too small to report)" if hidden else "")
    significant = [c for c in pre if c["p_adjusted"] is not None and c["p_adjusted"] < alpha]
    if significant:
        named = "; ".join(
            f"{_subgroup_effect(c, results)}, Holm-adjusted {adjusted_p_text(c['p_adjusted'])}" for c in significant
        )
        stated = (
            f" Pre-specified: {len(significant)} of the {of} {'differs' if len(significant) == 1 else 'differ'} "
            "from the rest after Holm adjustment "
            f"at α = {alpha:g} ({named})."
        )
    else:
        smallest = min((c["p_adjusted"] for c in pre if c["p_adjusted"] is not None), default=None)
        subject = f"the {of} does not differ" if total == 1 else f"none of the {of} differs"
        stated = (
            f" Pre-specified: {subject} from the rest after Holm adjustment "
            f"({'smallest ' if len(pre) > 1 else ''}Holm-adjusted {adjusted_p_text(smallest)})."
        )
    if significant and not validated:
        stated += (
            " The two answers differ because they test different things: each pre-specified subgroup is one hypothesis named "
            "before the data were seen and tested on all patients, adjusted only over the pre-specified list, whereas the search "
            "chooses its rules from the data, so it must test them on patients not used to find them and, before calling any "
            "validated, needs the heterogeneity tests to detect heterogeneity in the effect overall"
            + (", which it did not." if not h["detected"] else ".")
        )
    return found + stated


def design_summary(results: dict[str, Any]) -> str:
    """Sentence 5: the recommended next trial with N randomized, N screened, power and assurance (as the design table)."""
    d = results["design"]
    option = next((o for o in d.get("options") or [] if o["design"] == d.get("recommended")), None)
    if option is None:
        return f"Next trial: no design could be sized. {d.get('note') or ''}".strip()
    if d.get("subgroup") and d["recommended"] != "all_comers":
        target = f", planned for the subgroup {d['subgroup']}"
    else:
        target = ", for all eligible patients"
    if option["n_randomized"] is None:
        why = f": {option['notes']}" if option.get("notes") else ""  # e.g. the overall effect shows no benefit
        return (
            f"Recommended next trial: {option['title']}{target}; its size is not estimable from these data{why}. {d.get('note') or ''}"
        ).strip()
    events = f" ({count_text(option['events'])} events)" if option.get("events") is not None else ""
    expected = option.get("n_screened_expected")
    screened = "n/a" if expected is None else count_text(np.ceil(expected))
    power = fmt(option.get("power_any"), ".0%")
    assurance = fmt(option.get("assurance_any"), ".0%")
    limit = ((results.get("params") or {}).get("trial_design") or {}).get("max_n")
    infeasible = ""
    if option.get("feasible") is False and limit is not None:
        none_fits = not any(o.get("feasible") for o in d.get("options") or [])
        infeasible = f" This exceeds the feasible maximum of {count_text(limit)} randomized patients (trial_design.max_n)"
        infeasible += ": no design on the menu fits it." if none_fits else "."
    return (
        f"Recommended next trial: {option['title']}{target}: {count_text(option['n_randomized'])} patients randomized{events}, {screened} "
        f"screened (expected), power {power} and assurance {assurance} (the chance of success allowing for the uncertainty "
        f"of the planning effect).{infeasible}"
    )


def index_summary(results: dict[str, Any]) -> list[str]:
    """The five sentences that open the index: endpoint, average effect, heterogeneity, subgroups, next trial."""
    return [
        endpoint_summary(results),
        average_effect_summary(results),
        heterogeneity_summary(results),
        subgroups_summary(results),
        design_summary(results),
    ]


GLOSSARY = (
    (
        "RMST",
        "Restricted mean survival time: the average event-free time up to a fixed horizon, the area under the survival curve "
        "(Royston & Parmar 2013). A difference in RMST is a difference in time, e.g. days.",
    ),
    (
        "Holm",
        "Holm's (1979) step-down adjustment of p-values for testing several hypotheses: the smallest p-value is multiplied by "
        "the number of hypotheses, the next by one fewer, and so on, so the chance of any false claim stays below α.",
    ),
    (
        "Calibration slope",
        "The slope of the best linear predictor of the held-out effect on the model's predicted effect (Chernozhukov et al. "
        "2018): 1 means the predicted differences between patients are real, 0 that they carry no information. Its "
        "one-sided test is one of the two tests that decide whether heterogeneity is real (with max-T; in an "
        "observational study it decides alone).",
    ),
    (
        "Max-T",
        "The per-feature test of heterogeneity: the cross-fitted doubly robust effect scores regressed on each feature (and each genotype's carrier "
        "indicator) in turn, the largest |t| compared with its distribution under no heterogeneity (wild bootstrap; "
        "Westfall & Young 1993), so that many correlated features cost less than a Bonferroni correction. With the "
        "calibration test it decides at α under weighted Holm.",
    ),
    (
        "AUTOC / Qini",
        "Areas under the targeting-operator-characteristic and Qini curves (Yadlowsky et al. 2021): how much more patients "
        "ranked first by the model benefit than the average patient. Above 0: the ranking finds patients who benefit more.",
    ),
    (
        "Assurance",
        "The probability that the next trial succeeds, averaged over the uncertainty in the planning effect (O'Hagan et al. "
        "2005), unlike power, which assumes the planning effect is exactly true.",
    ),
    (
        "MaST",
        "Marker sequential test (Freidlin et al. 2014): a stratified design that tests the marker-positive subgroup first and "
        "all patients next, in a fixed sequence that keeps the overall error rate.",
    ),
    (
        "Enrichment",
        "A trial that screens patients and randomizes only those in the subgroup (marker-positive); it says nothing about the "
        "others (Simon & Maitournam 2005).",
    ),
    (
        "Stratified",
        "A biomarker-stratified trial randomizes all patients, stratified by the marker, and tests the subgroup and all "
        "patients as co-primary claims with α split between them.",
    ),
    (
        "Adaptive enrichment",
        "A two-stage trial that enrolls all patients, looks at an interim analysis, and continues in the subgroup alone when "
        "the complement does not benefit (Wang et al. 2007); the final test accounts for the choice.",
    ),
)
