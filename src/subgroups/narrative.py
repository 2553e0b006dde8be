"""Sentences for the reports: each number says what it estimates, how sure it is, and its status."""

from __future__ import annotations

import re
import string
from html import escape as escape_html
from typing import Any

import numpy as np
import pandas as pd

from subgroups.audit import Audit
from subgroups.privacy import SUPPRESSED, SUPPRESSED_NOTE, TOO_SMALL

# Line breaks that Markdown (or str.splitlines) would honour: a label must not start a new block.
_LINE_BREAKS = re.compile(r"\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
# Entities, not backslashes, for the HTML-special characters: entities stay inert even where a
# Markdown renderer treats a line as raw HTML and ignores backslash escapes.
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}


def md_escape(value: object) -> str:
    """Text from the data or the parameters (column names, levels, arm labels, file names, rules) made
    safe for report Markdown: it renders literally, never as markup, HTML, a link or `$` math.

    Every user-supplied string passes through here before it reaches a Markdown sentence; tables
    go through `table` (HTML-escaped by pandas). HTML-special characters become entities, every
    other ASCII punctuation character is backslash-escaped (CommonMark allows this for all of them),
    and line breaks become spaces.
    """
    text = _LINE_BREAKS.sub(" ", str(value))
    return "".join(_ENTITIES.get(c) or (f"\\{c}" if c in string.punctuation else c) for c in text)


def md_code(value: object) -> str:
    """A name shown as code in report Markdown, escaped by `md_escape` (a backtick code span would
    let a name containing backticks close the span and inject markup)."""
    return f"<code>{md_escape(value)}</code>"


def fmt(value: float | None, spec: str) -> str:
    """A number formatted with `spec`, or "n/a" when it is missing (null in results.json)."""
    return "n/a" if value is None else format(value, spec)


def number(value: float, digits: int = 3) -> str:
    return f"{value:+.{digits}g}" if abs(value) >= 1e-3 else f"{value:+.2e}"


def p_value(p: float | None) -> str:
    """A p-value as every table prints it: "< 0.001" below 0.001, else 2 significant digits ("0.038"); "–" when null."""
    return "–" if p is None else "< 0.001" if p < 0.001 else f"{p:.2g}"


def p_text(p: float | None) -> str:
    """A p-value in a sentence: "p < 0.001", else "p = 0.038" (2 significant digits, as `p_value`)."""
    return "p n/a" if p is None else "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


# --- names as the reader knows them (the variable dictionary, data.labels) ------------------------


def display_name(name: object, results: dict[str, Any] | None, unit: bool = False) -> str:
    """How the reports name a variable: its label from the variable dictionary (`results["data"]["labels"]`:
    `data.labels` of the parameters, else the data file's labels), with " (unit)" when `unit`; else the
    column name. Plain text: escape it (`md_escape`, `md_code`) before it reaches Markdown."""
    entry = ((results or {}).get("data") or {}).get("labels", {}).get(str(name))
    if not entry:
        return str(name)
    return entry["label"] + (f" ({entry['unit']})" if unit and entry.get("unit") else "")


def arm_name(which: str, results: dict[str, Any]) -> str:
    """How the reports name an arm ("treated" or "control"): `data.treatment.labels`, else its value in the data."""
    data = results["data"]
    return (data.get("arm_names") or {}).get(which) or str(data["arms"][which])


def display_rule(text: str, results: dict[str, Any] | None) -> str:
    """A rule, hypothesis or comparator with every labelled feature named by its label ("Karnofsky score ≥ 90").

    Replaces a feature name only where a condition starts (the start, or after a space, "{" or "(") and an
    operator follows, as the rules are written (`subgroups.rules.Condition.text`); longest names first.
    """
    labels = ((results or {}).get("data") or {}).get("labels") or {}
    if not labels or not isinstance(text, str):
        return text
    names = sorted(labels, key=len, reverse=True)
    pattern = re.compile(
        r"(?:^|(?<=[ {(]))(" + "|".join(re.escape(n) for n in names) + r")(?= (?:≤|<|>|≥|=|≠|in \{|not in \{|missing|recorded))"
    )
    return pattern.sub(lambda m: labels[m.group(1)]["label"], text)


def data_summary(results: dict[str, Any], audit: Audit) -> str:
    data = results["data"]
    lines = [
        f"**Data:** {md_escape(results['provenance']['data_source'])} (sha256 `{results['provenance']['data_sha256'][:16]}…`).",
        f"**Comparison:** {_arm_md('treated', results)} (treated, {data['n_treated']} patients) versus "
        f"{_arm_md('control', results)} (control, {data['n_control']} patients); {data['study'].upper()} data.",
        f"**Outcome:** {md_code(data['outcome']['name'])} ({data['outcome']['type'].replace('_', '-')}; "
        f"{'higher' if data['outcome']['higher_is_better'] else 'lower'} is better).",
    ]
    if data["dropped"]:
        lines.append(
            "**Excluded before analysis:** "
            + "; ".join(f"{_count_words(count)}: {md_escape(why)}" for why, count in data["dropped"].items())
            + "."
        )
    imbalanced = audit.imbalanced
    check = results.get("audit", {}).get("randomization")
    chance = (
        "The randomization check above finds more imbalance than chance allows."
        if check and not check["passed"]
        else "In a randomized trial some imbalance arises by chance; the effect estimates adjust for all features."
        if data["study"] == "rct"
        else "The effect estimates adjust for all features through the propensity and outcome models."
    )
    lines.append(
        "**Balance:** every feature has |standardized difference| ≤ 0.1 between arms."
        if not imbalanced
        else f"**Balance:** {len(imbalanced)} feature(s) differ between arms by more than 0.1 SD: "
        + ", ".join(md_escape(display_name(f, results)) for f in imbalanced[:10])
        + f". {chance}"
    )
    if check and not check["passed"]:
        lines.insert(0, randomization_sentence(results))  # first: it changes how every later number reads
    elif data["study"] == "observational":
        lines.append(f"**Observational data:** {NO_UNMEASURED_CONFOUNDING}")
    return "\n\n".join(lines)


def _count_words(count: int | str) -> str:
    """ "12 patient(s)", "<10 patient(s)", or "a number of patients suppressed" (complementary suppression, subgroups.privacy)."""
    return (
        "a number of patients suppressed (to protect a small count beside it)" if count == SUPPRESSED else f"{count} patient(s)"
    )


def _arm_md(which: str, results: dict[str, Any]) -> str:
    """An arm in Markdown: its display name, with its value in the data as code when the two differ."""
    name, value = arm_name(which, results), str(results["data"]["arms"][which])
    return md_code(value) if name == value else f"{md_escape(name)} ({md_code(value)})"


NO_UNMEASURED_CONFOUNDING = (
    "every estimate and claim in these reports assumes no unmeasured confounding: that everything which "
    "influenced both the choice of treatment and the outcome is among the features. The data cannot confirm this."
)


def randomization_sentence(results: dict[str, Any]) -> str:
    """The randomization check of a `study: rct` run in words: a warning when the data contradict it."""
    check = results.get("audit", {}).get("randomization")
    if check is None:
        return (
            "Not a randomized trial (`study: observational`): there is no randomization to check; the effects report "
            "shows the estimated propensity of treatment and how well the arms overlap."
        )
    alloc, bal = check["allocation"], check["balance"]
    observed = "" if alloc["observed_share_treated"] is None else f"{alloc['observed_share_treated']:.0%} treated; "
    allocation = (
        f"declared allocation {md_escape(alloc['declared'])} ({md_escape(alloc['declared_by'])}): {observed}"
        f"exact binomial {p_text(alloc['p_value'])}"
    )
    balance = (
        f"covariate balance: F-test of the arm on all features {p_text(bal['p_value'])}, cross-fitted c-statistic "
        f"{bal['c_statistic']:.2f} (0.5 under randomization)"
        if bal["p_value"] is not None
        else "covariate balance: not tested (too few patients for the number of feature columns)"
    )
    if check["passed"]:
        return (
            f"**Randomization check:** passed ({allocation}; {balance}; it fails below p = {check['threshold']:g}). "
            "The data are consistent with the declared randomization."
        )
    worst = ", ".join(
        f"{md_code(w['feature'] + (' ' + w['level'] if w['level'] else ''))} ({w['smd']:+.2f})" for w in check["worst"][:3]
    )
    return (
        f"**Warning: randomization check failed** (p < {check['threshold']:g}; {allocation}; {balance}). "
        f"Largest standardized differences: {worst}. The arms differ more than a randomized allocation makes them, "
        "so the comparison may be confounded and the average effect is not labelled confirmatory. If treatment was not "
        "assigned at random, analyse the data with `study: observational` (the propensity is then estimated and "
        f"adjusted for); if the allocation ratio was not {md_escape(alloc['declared'])}, declare it as "
        "`data.treatment.allocation`."
    )


def ate_sentence(results: dict[str, Any]) -> str:
    ate = results["ate"]
    level = f"{ate['ci_level']:.0%}"
    unit = f" {ate['unit']}" if ate.get("unit") else ""  # time-to-event RMST: the difference is a time
    return (
        f"**Average effect of {md_escape(arm_name('treated', results))} versus {md_escape(arm_name('control', results))} "
        f"({ate['scale']}): {number(ate['estimate'])}{unit} ({level} CI {ate['ci_low']:.3g} to {ate['ci_high']:.3g}{unit}; "
        f"{p_text(ate['p_value'])}; n = {ate['n']}).** {difference_clause(results)} "
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
    at_risk = ", ".join(f"{count} on {md_code(arm)}" for arm, count in horizon["at_risk"].items())
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
        f"Scaled by the test's calibration slope ({calibrated['slope_applied']:.2f}, clipped to 0-1), the spread "
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
    trimmed = o["n_trimmed"] if o["share_trimmed"] is None else f"{o['n_trimmed']} ({o['share_trimmed']:.1%})"
    text = (
        f"Observational data: the probability of treatment given the features (propensity) was estimated out-of-fold "
        f"({medians}). Its c-statistic is {o['c_statistic']:.2f} (0.5: the arms look alike; near 1: treated and "
        f"control patients barely overlap). {trimmed} patients with a propensity outside "
        f"[{o['trim'][0]:g}, {o['trim'][1]:g}] were excluded from all estimates (`estimation.trim`). "
        "Propensity model: L2-penalized logistic regression or gradient boosting, whichever had the smaller held-out "
        "log-loss, fitted on the other folds. This adjusts for the features only: " + NO_UNMEASURED_CONFOUNDING
    )
    return text + (f"\n\n**Warning:** {o['warning']}" if o["warning"] else "")


def learner_sentence(results: dict[str, Any]) -> str:
    effects = results["effects"]
    best = effects["candidates"][0]
    return (
        f"Candidate learners were compared by their held-out doubly robust loss (lower is better; "
        f"{effects['selection']}). Lowest: **{best['learner'].replace('_', '-')}** (DR-loss {best['dr_loss']:.4g})."
        if len(effects["candidates"]) > 1
        else f"Learner fixed by the parameters: **{best['learner'].replace('_', '-')}** (DR-loss {best['dr_loss']:.4g})."
    )


def heterogeneity_sentence(results: dict[str, Any]) -> str:
    h = results["heterogeneity"]
    lines = [f"**{h['decision']}**", f"Primary test: {h['primary_test']}; status: {h['status']}."]
    for key, label in (("autoc", "AUTOC"), ("qini", "Qini coefficient")):
        t = h[key]
        lines.append(
            f"Supporting: {label} {t['estimate']:.3g} (SE {t['se']:.3g}; one-sided {p_text(t['p_value'])}) — {t['meaning']}."
        )
    for name, t in h["extra"].items():
        lines.append(
            f"{name.replace('_', '-')} test: estimate {t['estimate']:.3g} (SE {t['se']:.3g}; one-sided {p_text(t['p_value'])}) — {t['meaning']}."
        )
    return "\n\n".join(lines)


def importance_sentence(results: dict[str, Any]) -> str:
    imp = results["importance"]
    ranked = list(imp["by_feature"].items())
    direction, notes = imp.get("direction") or {}, proxy_notes(results)
    top = ", ".join(
        f"{md_escape(display_name(name, results))} ({value:.3g}; {direction_text(direction.get(name))}"
        + (f"; {md_escape(notes[name])})" if name in notes else ")")
        for name, value in ranked[:3]
    )
    fam = max(imp["by_family"].items(), key=lambda kv: kv[1]) if imp["by_family"] else ("none", 0.0)
    caveat = "" if importance_supported(results) else f"**{NOT_SUPPORTED.capitalize()} by the data.** {IMPORTANCE_NOT_SUPPORTED} "
    return (
        caveat + f"Features that most change the estimated effect (mean |SHAP| on the effect scale): {top}. "
        f"By family, **{md_escape(fam[0])}** features contribute most ({fam[1]:.3g}). "
        f"Computed on {imp['rows_used']} of {imp['rows_total']} patients (random sample). "
        f"SHAP is computed exactly on a tree surrogate of the effect model; the surrogate reproduces it with "
        f"R² = {fmt(imp['surrogate_r2'], '.2f')} on held-out patients (mean gap {fmt(imp['approximation_gap_mean_abs'], '.3g')}, "
        f"{fmt(imp['approximation_gap_relative_to_effect_sd'], '.0%')} of the SD of the explained effects). "
        "Status: exploratory; importance is not evidence that the effect differs between patients."
        + (f" {proxy_sentence(results)}" if proxy_notes(results) else "")
    )


def modifier_sentence(results: dict[str, Any]) -> str:
    """The per-feature effect-modification tests in words (supporting evidence)."""
    mods = results["heterogeneity"].get("modifiers")
    if mods is None:
        return "Per-feature effect-modification tests were not run for this analysis."
    rows, alpha = mods["table"], results["heterogeneity"]["alpha"]
    if not rows:
        return "No feature varies, so no feature could be tested for effect modification."
    hits = [r for r in rows if r["p_holm"] < alpha]
    intro = (
        f"Each of the {len(rows)} features was tested for changing the effect ({mods['scale']}) on held-out doubly "
        "robust scores, one test per feature, Holm-adjusted for testing them all. "
    )
    if hits:
        named = ", ".join(
            f"{md_escape(display_name(r['feature'], results))} (Holm-adjusted {p_text(r['p_holm'])}"
            + (f"; {md_escape(proxy_notes(results)[r['feature']])})" if r["feature"] in proxy_notes(results) else ")")
            for r in hits[:5]
        )
        found = f"**The effect changes with {named}** at α = {alpha:g}."
    else:
        best = rows[0]
        found = (
            f"No single feature changes the effect detectably after adjustment (smallest: "
            f"{md_escape(display_name(best['feature'], results))}, two-sided {p_text(best['p_value'])}, Holm-adjusted "
            f"{p_value(best['p_holm'])})."
        )
    return (
        intro + found + " These tests see only effects that change steadily with one feature; status: supporting evidence. "
        "The decision about heterogeneity is the calibration test in the effects report."
    )


def modifier_table(results: dict[str, Any], top: int = 10) -> pd.DataFrame:
    """The most significant per-feature tests as a readable table."""
    mods = results["heterogeneity"].get("modifiers")
    rows = mods["table"][:top] if mods else []
    return pd.DataFrame(
        {
            "feature": [display_name(r["feature"], results) for r in rows],
            "family": [r["family"] for r in rows],
            "change in effect per SD (SE)": [
                f"{r['slope_per_sd']:+.3g} ({r['se']:.2g})" if r["columns"] == 1 else f"joint test of {r['columns']} columns"
                for r in rows
            ],
            "p (two-sided)": [p_value(r["p_value"]) for r in rows],
            "Holm-adjusted p": [p_value(r["p_holm"]) for r in rows],
        }
    )


# --- what the data support: importance without detected heterogeneity, direction, proxies ----------

NOT_SUPPORTED = "not supported"
IMPORTANCE_NOT_SUPPORTED = (
    "The heterogeneity test did not detect heterogeneity, so these rankings may reflect noise: "
    "the data do not support that any feature changes the effect."
)
PROXY_R = 0.7  # as subgroups.explain.PROXY_R: from this |r| a flagged feature may stand in for another
FLAGGED_TOP = 3  # the features the importance sentence names


def importance_supported(results: dict[str, Any]) -> bool:
    """Whether the data support ranking features by how they change the effect: heterogeneity detected (a results
    dict without the decision, e.g. one made by hand, is not greyed)."""
    return bool(results["heterogeneity"].get("detected", True))


def importance_caveat(results: dict[str, Any]) -> str:
    """One sentence why importance is not supported ("" when heterogeneity was detected), plain text."""
    return "" if importance_supported(results) else f"Not supported by the data. {IMPORTANCE_NOT_SUPPORTED}"


def flagged_features(results: dict[str, Any]) -> list[str]:
    """Features the reports single out, in importance order: the top `FLAGGED_TOP` by mean |SHAP| and every
    feature whose effect-modification test is significant after Holm."""
    ranked = list(results["importance"]["by_feature"])
    mods = (results["heterogeneity"].get("modifiers") or {}).get("table") or []
    alpha = results["heterogeneity"]["alpha"]
    chosen = set(ranked[:FLAGGED_TOP]) | {r["feature"] for r in mods if r["p_holm"] < alpha}
    return sorted(chosen, key=lambda name: ranked.index(name) if name in ranked else len(ranked))


def proxy_notes(results: dict[str, Any]) -> dict[str, str]:
    """For a flagged feature correlated |r| >= 0.7 with a flagged feature ranked above it (by importance), the note
    "correlated r = 0.79 with snp_01: may be a proxy" (plain text; keyed by column name, the other one named by
    `display_name`)."""
    flagged = flagged_features(results)
    rank = {name: i for i, name in enumerate(flagged)}
    notes: dict[str, str] = {}
    for pair in results["importance"].get("correlated") or []:
        a, b = pair["features"]
        if a in rank and b in rank and abs(pair["r"]) >= PROXY_R:
            first, second = (a, b) if rank[a] < rank[b] else (b, a)
            notes.setdefault(second, f"correlated r = {pair['r']:.2f} with {display_name(first, results)}: may be a proxy")
    return notes


def proxy_sentence(results: dict[str, Any]) -> str:
    """The flagged features that may be proxies, in words ("" when none)."""
    notes = proxy_notes(results)
    if not notes:
        return ""
    named = "; ".join(f"{md_escape(display_name(name, results))} ({md_escape(note)})" for name, note in notes.items())
    return (
        f"Possible proxies: {named}. Correlated features share the credit (SHAP) and the tests' signal, so a "
        "feature correlated with a stronger one may only stand in for it."
    )


def direction_text(value: float | None) -> str:
    """The direction of a feature's SHAP values in words, from the rank correlation of value and SHAP value."""
    if value is None or not np.isfinite(value) or abs(value) < 0.2:
        return "no clear direction"
    return "higher values, larger effect" if value > 0 else "higher values, smaller effect"


def importance_table(results: dict[str, Any], top: int = 10) -> pd.DataFrame:
    """The `top` features by mean |SHAP| with their share, direction and any proxy note."""
    imp = results["importance"]
    families = {f: fam for fam, names in results["data"]["features"].items() for f in names}
    notes, direction = proxy_notes(results), imp.get("direction") or {}
    ranked = list(imp["by_feature"].items())[:top]
    return pd.DataFrame(
        {
            "feature": [display_name(name, results) for name, _ in ranked],
            "family": [families.get(name, "") for name, _ in ranked],
            "mean |SHAP|": [f"{value:.3g}" for _, value in ranked],
            "share": [f"{imp['share_by_feature'].get(name, 0.0):.0%}" for name, _ in ranked],
            "direction": [direction_text(direction.get(name)) for name, _ in ranked],
            "note": [notes.get(name, "") for name, _ in ranked],
        }
    )


def spread_summary(results: dict[str, Any]) -> tuple[str, str]:
    """The spread of per-patient effects as the index shows it, and its status tag: the calibrated spread (what
    the calibration test supports) when heterogeneity was detected, else "not supported"."""
    effects = results["effects"]
    calibrated = effects.get("calibrated") or {}
    supported = calibrated.get("cate_sd")
    raw = f"the model's own estimates spread {effects['cate_sd']:.3g}"
    if not importance_supported(results):
        text = f"{NOT_SUPPORTED}: heterogeneity was not detected, so the data support no spread beyond noise"
        return text + (f" (calibrated spread {supported:.3g}; {raw})" if supported is not None else f" ({raw})"), NOT_SUPPORTED
    if supported is None:
        return f"{effects['cate_sd']:.3g} (the model's own estimates)", "exploratory"
    return f"{supported:.3g}, calibrated by the held-out calibration slope ({raw})", "exploratory"


def muted_unless_supported(fragment: str, results: dict[str, Any]) -> str:
    """An HTML fragment (a table) as is when heterogeneity was detected, else greyed with the one-line reason."""
    if importance_supported(results):
        return fragment
    return (
        '<div class="sg-not-supported" style="opacity:.55"><p><em>'
        + escape_html(IMPORTANCE_NOT_SUPPORTED)
        + "</em></p>"
        + fragment
        + "</div>"
    )


def genotype_table(by_genotype: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """`explain.effect_by_genotype` as a table: dosage in words, patients, mean effect ("–" where hidden)."""
    words = {0: "0 (non-carrier)", 1: "1 (one copy)", 2: "2 (two copies)"}
    return pd.DataFrame(
        {
            "dosage": [words.get(int(d), str(d)) for d in by_genotype["dosage"]],
            "patients": [str(n) for n in by_genotype["n"]],
            "mean per-patient effect (calibrated)": [
                "–" if m is None or not np.isfinite(m) else f"{m:+.3g}" for m in by_genotype["mean_effect"]
            ],
        }
    )


def table(frame: pd.DataFrame) -> str:
    """A DataFrame as a plain HTML table without the index, with a footnote for each kind of hidden count
    it holds (`suppression_notes`)."""
    html = frame.to_html(index=False, border=0, classes="sg-table", na_rep="", escape=True)
    notes = suppression_notes(frame)
    return html + "".join(f'\n<p class="sg-note"><small>{escape_html(note)}</small></p>' for note in notes)


_SMALL_CELL = re.compile(r"(?:^|\s)<(\d+)(?:\s|$)")
_SUPPRESSED_CELL = re.compile(r"(?:^|[\s(/])" + re.escape(SUPPRESSED) + r"(?:[\s)/]|$)")


def suppression_notes(frame: pd.DataFrame) -> list[str]:
    """The footnotes a table's hidden counts need (subgroups.privacy): "<m" for a small count, and
    "suppressed" for a count hidden only to protect a small one."""
    cells = [str(v) for v in frame.to_numpy().ravel() if isinstance(v, str)]
    notes = []
    small = next((m.group(1) for c in cells if (m := _SMALL_CELL.search(c))), None)
    if small is not None:
        notes.append(f"“<{small}”: a count between 1 and {int(small) - 1}, not shown so that no patient can be singled out.")
    if any(_SUPPRESSED_CELL.search(c) for c in cells):
        notes.append(SUPPRESSED_NOTE)
    return notes


EVENT_COLUMN = {"binary": "outcome = 1, treated / control", "time_to_event": "events, treated / control"}


def effect_text(effect: float | None, low: float | None, high: float | None) -> str:
    """An effect with its CI, formatted the same way in every table, figure and sentence of the reports."""
    if effect is None:
        return "n/a"
    return f"{effect:+.3g} ({fmt(low, '.3g')} to {fmt(high, '.3g')})"


def subgroup_table(results: dict[str, Any], which: str = "candidates") -> pd.DataFrame:
    """Subgroup hypotheses (discovered or pre-specified) as a readable table, one row per hypothesis.

    Effects are those `reported` in results.json (the figures and the index show the same numbers);
    the "estimate" column says which estimator they are.
    """
    rows = []
    level = f"{results['ate']['ci_level']:.0%} CI"
    adjusted = any(x.get("selection_adjusted") for x in results["subgroups"][which])
    for c in results["subgroups"][which]:
        r = c["reported"]
        rows.append(
            {
                "hypothesis (subgroup vs comparator)": display_rule(c.get("hypothesis", c["rule"]), results),
                "status": c["status"],
                "estimate": r["estimator"],
                f"effect in subgroup ({level})": effect_text(r["effect"], r["ci_low"], r["ci_high"]),
                f"effect in comparator ({level})": effect_text(
                    r["comparator_effect"], r["comparator_ci_low"], r["comparator_ci_high"]
                ),
                f"difference ({level})": effect_text(r["difference"], r["difference_ci_low"], r["difference_ci_high"]),
                "adjusted p": p_value(c["p_adjusted"]),
                **(
                    {
                        "unadjusted held-out effect": effect_text(c["effect"], c["ci_low"], c["ci_high"])
                        if c["selection_adjusted"]
                        else "–"
                    }
                    if adjusted
                    else {}
                ),
                "prevalence": f"{c['prevalence']:.0%}",
                "n treated / control": f"{c['n_treated']} / {c['n_control']}",
                **(
                    {EVENT_COLUMN[results["params"]["data"]["outcome"]["type"]]: f"{c['events_treated']} / {c['events_control']}"}
                    if c.get("events_treated") is not None
                    else {}
                ),
                "found on / estimated on": f"{c['found_on']} / {c['estimated_on']}",
            }
        )
    # Hypotheses with fewer than report.min_cell patients in an arm (subgroups.privacy): listed, never described.
    for c in results["subgroups"].get("too_small", {}).get(which, []):
        row = dict.fromkeys(rows[0] if rows else ("hypothesis (subgroup vs comparator)",), "–")
        row["hypothesis (subgroup vs comparator)"] = f"{c['hypothesis']} ({c['too_small']})"
        rows.append(row)
    return pd.DataFrame(rows)


def testing_sentence(results: dict[str, Any]) -> str:
    """How the subgroup hypotheses were tested, in two sentences a clinician can read."""
    return results["subgroups"].get("testing", "")


def _labels(results: dict[str, Any] | None) -> dict[str, Any]:
    return ((results or {}).get("data") or {}).get("labels", {})


def profile_table(profile: pd.DataFrame, results: dict[str, Any] | None = None) -> pd.DataFrame:
    """A subgroup's feature profile for reading: shares as percentages, means to 3 significant digits;
    features named by the variable dictionary of `results` when given."""

    def show(value: float, share: bool) -> str:
        return "" if not np.isfinite(value) else f"{value:.0%}" if share else f"{value:.3g}"

    return pd.DataFrame(
        {
            "family": profile["family"],
            # A numeric feature is its name; a category level reads "name = level": both named by the dictionary.
            "feature": [
                display_name(f, results) if f in _labels(results) else display_rule(f, results) for f in profile["feature"]
            ],
            "in subgroup": [show(v, s) for v, s in zip(profile["in subgroup"], profile["share"])],
            "rest": [show(v, s) for v, s in zip(profile["rest"], profile["share"])],
            "standardized difference": [f"{v:+.2f}" for v in profile["standardized difference"]],
        }
    )


def subgroup_sentence(results: dict[str, Any]) -> str:
    sub = results["subgroups"]
    return f"**{md_escape(display_rule(sub['conclusion'], results))}** Scale: {md_escape(results['ate']['scale'])}. Method: {md_escape(sub['method'])}."


def subgroup_heading(subgroup: Any, results: dict[str, Any] | None = None) -> str:
    """The heading of one subgroup's profile: its rule (escaped; labelled features named as in the variable
    dictionary of `results`), status and share of patients; for a subgroup too small to report
    (subgroups.privacy) only that (its profile is empty)."""
    reason = (getattr(subgroup, "extra", None) or {}).get("too_small")
    if reason:
        return f"**{TOO_SMALL}** ({md_escape(reason)})"
    share = (getattr(subgroup, "extra", None) or {}).get("prevalence_shown", subgroup.prevalence)
    return f"**{md_escape(display_rule(subgroup.rule, results))}** ({md_escape(subgroup.status)}; {share:.0%} of patients)"


def design_sentence(results: dict[str, Any]) -> str:
    d = results["design"]
    if not d.get("options"):
        return f"**{md_escape(d['note'])}**"
    if d["subgroup"] is None:
        target = "for all eligible patients (no candidate subgroup to target)"
    elif d["recommended"] == "all_comers":
        target = (
            f"for all eligible patients (the subgroup considered, *{md_escape(d['subgroup'])}*, is not credible enough to target)"
        )
    else:
        target = f"planned for the subgroup *{md_escape(d['subgroup'])}*"
    lines = [f"**Recommended next trial: {d['recommended'].replace('_', ' ')}**, {target}. Status: {d['status']}."]
    lines += [f"- {md_escape(reader_text(reason))}" for reason in d["reasons"]]
    return "\n".join(lines)


def _count(value: Any) -> Any:
    """A patient or event count with thousands separators (1,414); anything else (None, text) as it is."""
    if isinstance(value, (int, float, np.integer, np.floating)) and pd.notna(value) and float(value).is_integer():
        return f"{int(value):,}"
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else value


def design_table(menu: Any) -> pd.DataFrame:
    """The design menu as a readable table (sizes, screening, power and assurance)."""
    frame = menu.to_frame()
    shown = pd.DataFrame(
        {
            "design": [name.replace("_", " ") for name in frame.index],
            "randomized N": [
                "not estimable" if estimable is False else _count(n)
                for n, estimable in zip(frame["n_randomized"], frame.get("estimable", [True] * len(frame)), strict=True)
            ],
            **({"events": frame["events"].map(_count)} if menu.outcome == "time_to_event" else {}),
            "screened (expected)": frame["n_screened_expected"].map(lambda v: _count(np.ceil(v)) if pd.notna(v) else ""),
            "screened (90% sure)": frame["n_screened_quantile"].map(_count),
            "power (any claim)": frame["power_any"].map(lambda v: f"{v:.0%}" if pd.notna(v) else ""),
            "assurance (any claim)": frame["assurance_any"].map(lambda v: f"{v:.0%}" if pd.notna(v) else ""),
            "claims": frame["claims"],
        }
    )
    return shown


# --- the design page in the reader's words: planning assumptions, raw settings translated, legend ----

# design.py writes its reasons and notes for the analyst; the reports translate what a reader cannot know.
READER_WORDS = (
    (
        re.compile(r",? ?set require_complement_data\s*=\s*True"),
        "; to plan it, require data on marker-negative patients in the trial-design settings",
    ),
    (
        re.compile(r"require_complement_data\s*=\s*(True|true)"),
        "the trial-design setting that requires data on marker-negative patients",
    ),
    (re.compile(r"within max_n = ([0-9,]+)"), r"within the feasible maximum of \1 randomized patients"),
    (re.compile(r"tau\^2"), "τ²"),
    (re.compile(r"spiessens-debois", re.IGNORECASE), "Spiessens-Debois"),
)

# Every abbreviation and term of art the design page uses, with its meaning (shown under the table).
DESIGN_LEGEND = (
    ("S", "the subgroup planned for (marker-positive patients)"),
    ("Sc", "the complement of S: every other patient (marker-negative)"),
    ("F", "the full population: S and Sc together; a claim on F is a claim for all eligible patients"),
    ("N", "number of patients"),
    ("SD", "standard deviation of the outcome between patients of one arm (pooled over the arms)"),
    ("α", "one-sided significance level of a claim: the chance of claiming a benefit that does not exist"),
    ("power", "the chance that a claim succeeds if the planning effect is exactly right"),
    ("assurance", "the chance of success averaged over the uncertainty of the planning effects (Spiegelhalter et al. 2004)"),
    ("planning effect", "the effect a design is sized on: held-out estimates, adjusted for selection, shrunk by empirical Bayes"),
    ("D1", "all-comers: every eligible patient randomized, one test on F"),
    ("D2", "enrichment: only marker-positive patients (S) randomized"),
    ("D3", "biomarker-stratified: every patient randomized, stratified by marker, co-primary tests in S and F"),
    ("D3b", "biomarker-stratified with the MaST fixed sequence"),
    ("D4", "two-stage adaptive enrichment: an interim look decides between continuing in F, in S only, or stopping"),
    ("D5", "enriched-stratified: S over-represented and Sc capped; F estimated by re-weighting"),
    ("MaST", "marker sequential test (Freidlin, Korn & Gray 2014): S first; if it succeeds Sc, otherwise F"),
    ("H_S", "the hypothesis that treatment gives no benefit in S"),
    ("τ²", "between-subgroup variance of the true effects; the larger it is, the less S and Sc are pulled together"),
    ("DerSimonian-Laird", "the moment estimator of τ² of random-effects meta-analysis (DerSimonian & Laird 1986)"),
    (
        "Spiessens-Debois",
        "the split of α between the correlated S and F tests that keeps the overall error at α (Spiessens & Debois 2010)",
    ),
    ("MC SE", "Monte-Carlo standard error of a simulated rate"),
    ("P", "probability: P(x) reads “the probability of x”"),
    ("HR", "hazard ratio, treated vs control (below 1: fewer events on treatment)"),
    ("FDA", "US Food and Drug Administration"),
)


def reader_text(text: str) -> str:
    """A reason or note of the design menu with its raw setting names translated into words (plain text)."""
    for pattern, words in READER_WORDS:
        text = pattern.sub(words, text)
    return text


def planning_assumptions(analysis: Any) -> dict[str, float]:
    """The endpoint's planning assumption the designs were sized with: the outcome SD (continuous: the pooled
    within-arm SD), the control-arm response probability (binary) or the share of patients with an event (time to
    event), from the analysed patients as `subgroups.analysis` computes them for the design."""
    kept = analysis.effects.analysed(analysis.data.n)
    kind = analysis.data.spec.outcome.type
    if kind == "time_to_event":
        return {"event_probability": float(np.mean(analysis.data.event[kept]))}
    y, t = analysis.effects.outcome, analysis.data.treatment[kept]
    if kind == "continuous":
        return {"outcome_sd": float(np.sqrt((np.var(y[t == 1], ddof=1) + np.var(y[t == 0], ddof=1)) / 2))}
    return {"control_rate": float(np.mean(y[t == 0]))}


ASSUMPTION_COLUMN = {
    "continuous": ("outcome_sd", "outcome SD", "{:.3g}"),
    "binary": ("control_rate", "control response", "{:.1%}"),
    "time_to_event": ("event_probability", "event probability", "{:.0%}"),
}
_CLAIMS = (("S", "subgroup"), ("Sc", "complement"), ("F", "overall"))


def _design_name(key: str) -> str:
    """A design's registry key in words ("stratified_mast" -> "stratified MaST")."""
    return key.replace("_", " ").replace("mast", "MaST")


def _planning_effect(value: float, outcome: str) -> str:
    if outcome == "time_to_event":
        return f"HR {np.exp(value):.2f}"
    if outcome == "binary":
        return f"{100 * value:+.1f} points"
    return f"{value:+.3g}"


def _per_claim(row: pd.Series, column: str, spec: str) -> str:
    parts = [
        f"{claim} {format(row[f'{column}_{which}'], spec)}"
        for claim, which in _CLAIMS
        if f"{column}_{which}" in row and pd.notna(row[f"{column}_{which}"])
    ]
    return "; ".join(parts)


def design_assumptions(menu: Any, assumptions: dict[str, float] | None = None) -> pd.DataFrame:
    """The planning assumptions of each design: planning effect and one-sided α per claim, power per claim, the
    endpoint's SD, control response or event probability, and dropout (none is assumed: the settings have none)."""
    frame = menu.to_frame()
    effects = {"subgroup": menu.planning_effect_subgroup, "complement": menu.planning_effect_complement}
    effects["overall"] = menu.planning_effect_overall
    key, label, spec = ASSUMPTION_COLUMN[menu.outcome]
    value = (assumptions or {}).get(key)
    rows = []
    for name, row in frame.iterrows():
        claimed = [(c, w) for c, w in _CLAIMS if pd.notna(row.get(f"alpha_{w}"))]
        rows.append(
            {
                "design": f"{row['label']} {_design_name(name)}",
                "planning effect": "; ".join(f"{c} {_planning_effect(effects[w], menu.outcome)}" for c, w in claimed),
                label: "" if value is None else spec.format(value),
                "one-sided α per claim": _per_claim(row, "alpha", ".3g"),
                "power per claim": _per_claim(row, "power", ".0%"),
                "dropout": "none assumed",
            }
        )
    return pd.DataFrame(rows)


def design_notes(menu: Any) -> str:
    """How each design is sized, in the reader's words (Markdown list)."""
    frame = menu.to_frame()
    return "\n".join(
        f"- **{md_escape(row['label'])} {md_escape(_design_name(name))}**: {md_escape(reader_text(row['notes']))}"
        for name, row in frame.iterrows()
        if row.get("notes")
    )


_TOKEN = re.compile(r"[A-Za-z0-9_τα²-]+")
_SHORT_WORDS = {"If", "In", "On", "As", "An", "No", "Of", "Or", "At", "By", "To", "Is", "It", "Be", "So", "Up", "Do", "We"}


def abbreviations(text: str) -> set[str]:
    """The abbreviations and named methods in `text`: one capital letter (S, F, N, P), a capital with a small
    letter (Sc), capitals or digits after the first letter (MaST, FDA, D3b, H_S, DerSimonian-Laird), τ² and α;
    not ordinary capitalized words ("The", "Per", "No")."""
    found = set()
    for token in _TOKEN.findall(text):
        token = token.strip("-_")
        if token in ("τ²", "α") or (len(token) == 1 and token.isupper()):
            found.add(token)
        elif re.fullmatch(r"[A-Z][a-z]", token) and token not in _SHORT_WORDS:
            found.add(token)
        elif token[:1].isupper() and any(c.isupper() or c.isdigit() for c in token[1:]):
            found.add(token)
    return found


def design_page_text(results: dict[str, Any], menu: Any, assumptions: dict[str, float] | None = None) -> str:
    """Every reader-facing text of the design page, plain (for the legend and its test)."""
    parts = [design_sentence(results)]
    if menu is not None:
        for frame in (design_table(menu), design_assumptions(menu, assumptions)):
            parts += [" ".join(map(str, frame.columns))] + [" ".join(map(str, r)) for r in frame.to_numpy()]
        parts.append(design_notes(menu))
    return re.sub(r"\\(.)", r"\1", "\n".join(parts))  # Markdown escapes removed


def design_legend(text: str) -> list[tuple[str, str]]:
    """The `DESIGN_LEGEND` entries for the terms in `text` (`abbreviations`), in the legend's order; S, Sc, F, α, N,
    power, assurance and planning effect always (the table's columns use them)."""
    always = {"S", "Sc", "F", "α", "N", "power", "assurance", "planning effect"}
    found = abbreviations(text)
    return [(term, meaning) for term, meaning in DESIGN_LEGEND if term in always or set(term.split()) <= found]


def design_legend_markdown(text: str) -> str:
    """The legend as a Markdown definition list (one line per term), shown under the design table."""
    return "**Legend**\n\n" + "\n".join(f"- **{md_escape(term)}**: {md_escape(meaning)}" for term, meaning in design_legend(text))


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
    # The unit of a continuous outcome, when the variable dictionary (data.labels) declares one.
    entry = (results["params"]["data"].get("labels") or {}).get(results["params"]["data"]["outcome"].get("column") or "")
    declared = entry.get("unit") if isinstance(entry, dict) else None
    unit = f"in {ate['unit']}" if ate.get("unit") else f"in {declared}" if declared else "in the outcome's own units"
    if outcome["type"] == "binary":
        unit = "as a difference in proportions"
    return (
        f"Endpoint: {outcome['name']} ({outcome['type'].replace('_', '-')}; {'higher' if outcome['higher_is_better'] else 'lower'} "
        f"is better); effects are the {ate['scale']}, {arm_name('treated', results)} minus {arm_name('control', results)}, {unit}."
    )


def average_effect_summary(results: dict[str, Any]) -> str:
    """Sentence 2: the average effect with its CI, formatted as on the effects page."""
    ate = results["ate"]
    unit = f" {ate['unit']}" if ate.get("unit") else ""
    return (
        f"Average treatment effect: {number(ate['estimate'])}{unit} ({ate['ci_level']:.0%} CI {ate['ci_low']:.3g} to {ate['ci_high']:.3g}{unit}; "
        f"{p_text(ate['p_value'])}; n = {ate['n']}); status: {ate['status']}."
    )


def heterogeneity_summary(results: dict[str, Any]) -> str:
    """Sentence 3: is the heterogeneity real? The verdict, then the decision as the effects page states it."""
    h = results["heterogeneity"]
    return h["decision"]  # it opens with the verdict ("Heterogeneity detected at α = …" / "No credible heterogeneity at α = …")


def _subgroup_effect(c: dict[str, Any], results: dict[str, Any] | None = None) -> str:
    r = c["reported"]
    return (
        f"{display_rule(c['hypothesis'], results)}: effect {effect_text(r['effect'], r['ci_low'], r['ci_high'])} against "
        f"{effect_text(r['comparator_effect'], r['comparator_ci_low'], r['comparator_ci_high'])} in the comparator"
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
        found = f"Subgroup search: {sub['conclusion']}"
        gated = [c for c in sub["candidates"] if c["p_adjusted"] is not None and c["p_adjusted"] < alpha]
        if gated and not h["detected"]:
            found += (
                f" Its strongest rule, {display_rule(gated[0]['hypothesis'], results)}, has adjusted {adjusted_p_text(gated[0]['p_adjusted'])}, but a "
                "discovered rule is called validated only when the calibration test detects heterogeneity overall, which it did not."
            )
    pre = sub.get("prespecified") or []
    if not pre:
        return found + " No subgroup was pre-specified."
    significant = [c for c in pre if c["p_adjusted"] is not None and c["p_adjusted"] < alpha]
    if significant:
        named = "; ".join(
            f"{_subgroup_effect(c, results)}, Holm-adjusted {adjusted_p_text(c['p_adjusted'])}" for c in significant
        )
        stated = (
            f" Pre-specified: {len(significant)} of {len(pre)} pre-specified subgroups {'differs' if len(significant) == 1 else 'differ'} "
            "from the rest after Holm adjustment "
            f"at α = {alpha:g} ({named})."
        )
    else:
        smallest = min((c["p_adjusted"] for c in pre if c["p_adjusted"] is not None), default=None)
        stated = (
            f" Pre-specified: none of the {len(pre)} pre-specified subgroups differs from the rest after Holm adjustment "
            f"(smallest Holm-adjusted {adjusted_p_text(smallest)})."
        )
    if significant and not validated:
        stated += (
            " The two answers differ because they test different things: each pre-specified subgroup is one hypothesis named "
            "before the data were seen and tested on all patients, adjusted only over the pre-specified list, whereas the search "
            "chooses its rules from the data, so it must test them on patients not used to find them and, before calling any "
            "validated, needs the calibration test to detect heterogeneity in the effect overall"
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
        return (
            f"Recommended next trial: {option['title']}{target}; its size is not estimable from these data. {d.get('note') or ''}"
        ).strip()
    events = f" ({option['events']} events)" if option.get("events") is not None else ""
    screened = f"{np.ceil(option['n_screened_expected']):,.0f}" if option.get("n_screened_expected") is not None else "n/a"
    power = fmt(option.get("power_any"), ".0%")
    assurance = fmt(option.get("assurance_any"), ".0%")
    return (
        f"Recommended next trial: {option['title']}{target}: {option['n_randomized']} patients randomized{events}, {screened} "
        f"screened (expected), power {power} and assurance {assurance} (the chance of success allowing for the uncertainty "
        "of the planning effect)."
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
        "2018): 1 means the predicted differences between patients are real, 0 that they carry no information. It is the "
        "primary test of heterogeneity.",
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
