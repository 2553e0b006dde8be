"""The effects page in words: the average effect with its CI and estimand, the spread of per-patient effects,
overlap, the learner chosen and the heterogeneity test."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from subgroups.narrative.data_page import NO_UNMEASURED_CONFOUNDING
from subgroups.narrative.text import arm_name, fmt, md_code, md_escape, number, p_text, unit_suffix
from subgroups.privacy import count_text
from subgroups.rule_language import column_text


def ate_sentence(results: dict[str, Any]) -> str:
    ate = results["ate"]
    level = f"{ate['ci_level']:.0%}"
    # Time to event (RMST): a time; else the outcome's unit when data.labels declares one (the user's text: escaped).
    unit = md_escape(unit_suffix(results))
    return (
        f"**Average effect of {md_escape(arm_name('treated', results))} versus {md_escape(arm_name('control', results))} "
        f"({ate['scale']}): {number(ate['estimate'])}{unit} ({level} CI {ate['ci_low']:.3g} to {ate['ci_high']:.3g}{unit}; "
        f"{p_text(ate['p_value'])}; n = {count_text(ate['n'])}).** {difference_clause(results)} "
        f"Status: {ate['status']} ({ate['status_reason']}). Estimand: {ate['estimand']}.{horizon_clause(ate)} "
        f"Method: {ate['method']}.{hazard_ratio_clause(results)}"
    )


def difference_clause(results: dict[str, Any]) -> str:
    """What the average effect's CI says in words: no clear difference when it includes 0, else which arm it favours."""
    ate, arms = results["ate"], results["data"]["arms"]
    if ate["ci_low"] <= 0 <= ate["ci_high"]:
        return f"The {ate['ci_level']:.0%} CI includes no difference: on average these data show no clear difference between the arms."
    better = (ate["estimate"] > 0) == results["data"]["outcome"]["higher_is_better"]
    return f"On average the data favour {md_code(arms['treated'] if better else arms['control'])}."


def horizon_clause(ate: dict[str, Any]) -> str:
    """ " Horizon: 364 days, the largest time at which ..." (with a leading space), or "" without a horizon."""
    horizon = ate.get("horizon")
    if not horizon:
        return ""
    at_risk = ", ".join(f"{count_text(count)} on {md_code(arm)}" for arm, count in horizon["at_risk"].items())
    return (
        f" {horizon['kind'].capitalize()}: {horizon['value']:g} {horizon['unit']}, {horizon['rule']} (at risk then: {at_risk})."
    )


def hazard_ratio_clause(results: dict[str, Any]) -> str:
    """ " Secondary summary: hazard ratio ..." (with a leading space), or "" when there is none."""
    hr = results["ate"].get("hazard_ratio")
    if not hr or hr.get("estimate") is None:
        return ""
    return (
        f" Secondary summary: hazard ratio of {md_escape(arm_name('treated', results))} versus "
        f"{md_escape(arm_name('control', results))} {hr['estimate']:.3g} ({hr['ci_level']:.0%} CI "
        f"{fmt(hr['ci_low'], '.3g')} to {fmt(hr['ci_high'], '.3g')}; below 1: a lower event rate on treatment; {hr['method']})."
    )


def effect_spread_sentence(results: dict[str, Any]) -> str:
    effects = results["effects"]
    return (
        f"Per-patient effects, each held out (estimated by models, or forest trees, fitted without that patient) "
        f"(learner: {effects['learner_used'].replace('_', '-')}), have a standard deviation of "
        f"{effects['cate_sd']:.3g} ({results['ate']['scale']}). This spread mixes real differences "
        "between patients with estimation noise; the test below says whether any of it is real. "
        + _calibrated_clause(effects.get("calibrated"))
        + "Status: exploratory."
    )


def _calibrated_clause(calibrated: dict[str, Any] | None) -> str:
    if not calibrated:
        return ""
    return (
        f"Scaled by the share of their spread the held-out scores support (factor {calibrated['slope_applied']:.2f}, the posterior mean "
        "of their calibration slope given its uncertainty), the spread "
        f"the data support is {calibrated['cate_sd']:.3g}; per-patient effects returned for new patients are "
        "calibrated this way. "
    )


def overlap_sentence(results: dict[str, Any]) -> str:
    """Overlap in words: known randomization, or the propensity model's diagnostics and trimming."""
    o = results["effects"]["overlap"]
    if o["study"] == "rct":
        check = results.get("audit", {}).get("randomization")
        if check and not check["passed"]:
            return (
                f"Declared randomized: every patient is given the same probability of treatment ({o['probability']:.2g}) "
                "and no patient is excluded for lack of overlap, **but the randomization check failed** (see the data "
                "audit): the arms may not be comparable, and only the outcome models adjust these estimates for the features. "
                "Re-run with `study: observational` to estimate the propensity and adjust for it."
            )
        return (
            f"Randomized trial: every patient had the same known probability of treatment ({o['probability']:.2g}), "
            "so the arms are comparable by design and no patient is excluded for lack of overlap."
        )
    arms = o["quantiles_by_arm"]
    medians = "; ".join(f"median {arms[arm]['q50']:.2f} among {arm} patients" for arm in ("treated", "control") if arm in arms)
    trimmed = count_text(o["n_trimmed"])
    trimmed = trimmed if o["share_trimmed"] is None else f"{trimmed} ({o['share_trimmed']:.1%})"
    text = (
        f"Observational data: the probability of treatment given the features (propensity) was estimated out-of-fold "
        f"({medians}). Its c-statistic is {o['c_statistic']:.2f} (0.5: the arms look alike; near 1: treated and "
        f"control patients barely overlap). {trimmed} patients with a propensity outside "
        f"[{o['trim'][0]:g}, {o['trim'][1]:g}] were excluded from all estimates (`estimation.trim`). "
        "Propensity model: L2-penalized logistic regression or gradient boosting, whichever had the smaller held-out "
        "log-loss, fitted on the other folds. In the doubly robust estimates each arm's inverse-propensity weights are "
        "normalized to average 1, so that noise in the estimated propensity does not inflate the correction. "
        "This adjusts for the features only: " + NO_UNMEASURED_CONFOUNDING
    )
    return text + (f"\n\n**Warning:** {o['warning']}" if o["warning"] else "")


def learner_sentence(results: dict[str, Any]) -> str:
    effects = results["effects"]
    best = effects["candidates"][0]
    return (
        f"Candidate learners were compared by their held-out doubly robust loss (lower is better; "
        f"{effects['selection']}). Lowest: **{best['learner'].replace('_', '-')}** (held-out DR-loss {_loss(best['dr_loss'])})."
        if len(effects["candidates"]) > 1
        else f"Learner fixed by the parameters: **{best['learner'].replace('_', '-')}** (held-out DR-loss {_loss(best['dr_loss'])})."
    )


def _loss(value: float | None) -> str:
    """A held-out loss with 4 significant digits and no exponent ("54,600", "1.234", "0.0123")."""
    if value is None:
        return "n/a"
    digits = 3 - int(np.floor(np.log10(abs(value)))) if value else 0  # decimals for 4 significant digits
    return f"{round(value, digits):,.{max(0, digits)}f}"


def learner_table(results: dict[str, Any]) -> pd.DataFrame:
    """The candidate learners with their held-out losses (4 significant digits) and how many folds chose each."""
    return pd.DataFrame(
        [
            {
                "learner": c["learner"].replace("_", "-"),
                "held-out DR-loss": _loss(c["dr_loss"]),
                "held-out R-loss": _loss(c["r_loss"]),
                "folds where chosen": c["folds_chosen"],
            }
            for c in results["effects"]["candidates"]
        ]
    )


def decision_levels(claims: list[dict[str, Any]]) -> str:
    """The level each heterogeneity claim starts with under the decision rule, in one sentence ("" if none is known)."""
    known = [c for c in claims if c.get("alpha_start") is not None]
    if not known:
        return ""
    # "agnostic (each feature in turn)" reads "agnostic, each feature in turn" inside the sentence's brackets
    parts = [f"{md_escape(c['claim'])} at {c['alpha_start']:.3g} ({_unbracketed(c['origin'])})" for c in known]
    return (
        "Levels at the start (weighted Holm; a rejected claim passes its level on to the others, so the chance of any "
        "false claim stays within α): " + "; ".join(parts) + "."
    )


def _unbracketed(origin: str) -> str:
    return origin.replace(" (", ", ").rstrip(")")


DETECTION_POWER = 0.8  # the power of the "for scale" sentence under a non-detection (`detectable_difference`)


def detectable_difference_value(results: dict[str, Any]) -> float | None:
    """The smallest difference between the effects of two pre-specified equal halves of the patients that a two-sided
    test at α of the held-out scores would find with 80% power, (z₁₋α/₂ + z₀.₈) · 2 · SE, where SE = SD(scores)/√n
    is the mean score's standard error (each half's mean has SE √2 · SE, so their difference 2 · SE). None without
    that SE."""
    from scipy.stats import norm

    h = results["heterogeneity"]
    se = (h.get("mean_forecast") or {}).get("se")
    if se is None or not np.isfinite(se) or se <= 0:
        return None
    return float((norm.isf(h["alpha"] / 2) + norm.ppf(DETECTION_POWER)) * 2 * se)


def detectable_difference(results: dict[str, Any]) -> str:
    """Why a non-detection is not evidence of one effect for everyone, in this trial's numbers
    (`detectable_difference_value`). "" without it."""
    h = results["heterogeneity"]
    difference = detectable_difference_value(results)
    if difference is None:
        return ""
    unit = md_escape(unit_suffix(results))  # data.labels: the user's text
    return (
        f"For scale (a planning figure, not a test): not detecting heterogeneity is not evidence that every patient has "
        f"the same effect. With these data, even a split of the patients into two equal halves named in advance would be "
        f"found {DETECTION_POWER:.0%} of the time (two-sided α = {h['alpha']:g}) only if the halves' effects differed by "
        f"{difference:.3g}{unit} or more ({results['ate']['scale']}); smaller real differences would usually go unseen."
    )


def heterogeneity_sentence(results: dict[str, Any]) -> str:
    h = results["heterogeneity"]
    # The decision names features and candidates from the data and the parameters: escaped as a whole.
    lines = [f"**{md_escape(h['decision'])}**", f"Primary test: {h['primary_test']}; status: {h['status']}."]
    if not h["detected"] and (scale := detectable_difference(results)):
        lines.append(scale)
    if levels := decision_levels(h.get("claims") or []):
        lines.append(levels)
    if h.get("max_t"):
        m, top = h["max_t"], (h["max_t"]["columns"] or [{}])[0]
        shown = column_text(top["column"], top.get("feature") or top["column"]) if top else ""
        strongest = f"; strongest column {md_escape(shown)} (t = {top['t']:.2f})" if top else ""
        lines.append(
            f"Per-feature max-T: largest |t| {m['estimate']:.2f}{strongest}; two-sided {p_text(m['p_value'])} — {m['meaning']}."
        )
    for key, label in (("autoc", "AUTOC"), ("qini", "Qini coefficient")):
        t = h[key]
        if t["estimate"] is None or t["se"] is None:
            lines.append(f"Supporting: {label} {t['meaning']}.")
            continue
        lines.append(
            f"Supporting: {label} {t['estimate']:.3g} (SE {t['se']:.3g}; one-sided {p_text(t['p_value'])}) — {t['meaning']}."
        )
    for name, t in h["extra"].items():
        lines.append(
            f"{name.replace('_', '-')} test: estimate {t['estimate']:.3g} (SE {t['se']:.3g}; one-sided {p_text(t['p_value'])}) — {t['meaning']}."
        )
    return "\n\n".join(lines)
