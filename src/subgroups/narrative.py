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
            + "; ".join(f"{count} patient(s): {md_escape(why)}" for why, count in data["dropped"].items())
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
        "log-loss, fitted on the other folds. This adjusts for the features only: "
        + NO_UNMEASURED_CONFOUNDING
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
    top = ", ".join(f"{md_escape(display_name(name, results))} ({value:.3g})" for name, value in ranked[:3])
    fam = max(imp["by_family"].items(), key=lambda kv: kv[1]) if imp["by_family"] else ("none", 0.0)
    return (
        f"Features that most change the estimated effect (mean |SHAP| on the effect scale): {top}. "
        f"By family, **{md_escape(fam[0])}** features contribute most ({fam[1]:.3g}). "
        f"Computed on {imp['rows_used']} of {imp['rows_total']} patients (random sample). "
        f"SHAP is computed exactly on a tree surrogate of the effect model; the surrogate reproduces it with "
        f"R² = {fmt(imp['surrogate_r2'], '.2f')} on held-out patients (mean gap {fmt(imp['approximation_gap_mean_abs'], '.3g')}, "
        f"{fmt(imp['approximation_gap_relative_to_effect_sd'], '.0%')} of the SD of the explained effects). "
        "Status: exploratory; importance is not evidence that the effect differs between patients."
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
            f"{md_escape(display_name(r['feature'], results))} (Holm-adjusted {p_text(r['p_holm'])})" for r in hits[:5]
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
                f"effect in comparator ({level})": effect_text(r["comparator_effect"], r["comparator_ci_low"], r["comparator_ci_high"]),
                f"difference ({level})": effect_text(r["difference"], r["difference_ci_low"], r["difference_ci_high"]),
                "adjusted p": p_value(c["p_adjusted"]),
                **(
                    {"unadjusted held-out effect": effect_text(c["effect"], c["ci_low"], c["ci_high"]) if c["selection_adjusted"] else "–"}
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


def profile_table(profile: pd.DataFrame, results: dict[str, Any] | None = None) -> pd.DataFrame:
    """A subgroup's feature profile for reading: shares as percentages, means to 3 significant digits;
    features named by the variable dictionary of `results` when given."""

    def show(value: float, share: bool) -> str:
        return "" if not np.isfinite(value) else f"{value:.0%}" if share else f"{value:.3g}"

    return pd.DataFrame(
        {
            "family": profile["family"],
            "feature": [display_name(f, results) for f in profile["feature"]],
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
        target = f"for all eligible patients (the subgroup considered, *{md_escape(d['subgroup'])}*, is not credible enough to target)"
    else:
        target = f"planned for the subgroup *{md_escape(d['subgroup'])}*"
    lines = [f"**Recommended next trial: {d['recommended'].replace('_', ' ')}**, {target}. Status: {d['status']}."]
    lines += [f"- {md_escape(reason)}" for reason in d["reasons"]]
    return "\n".join(lines)


def design_table(menu: Any) -> pd.DataFrame:
    """The design menu as a readable table (sizes, screening, power and assurance)."""
    frame = menu.to_frame()
    shown = pd.DataFrame(
        {
            "design": [name.replace("_", " ") for name in frame.index],
            "randomized N": [
                "not estimable" if estimable is False else n
                for n, estimable in zip(frame["n_randomized"], frame.get("estimable", [True] * len(frame)), strict=True)
            ],
            **({"events": frame["events"]} if menu.outcome == "time_to_event" else {}),
            "screened (expected)": frame["n_screened_expected"].map(lambda v: f"{np.ceil(v):,.0f}" if pd.notna(v) else ""),
            "screened (90% sure)": frame["n_screened_quantile"],
            "power (any claim)": frame["power_any"].map(lambda v: f"{v:.0%}" if pd.notna(v) else ""),
            "assurance (any claim)": frame["assurance_any"].map(lambda v: f"{v:.0%}" if pd.notna(v) else ""),
            "claims": frame["claims"],
        }
    )
    return shown


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
        f"is better); effects are the {ate['scale']}, {data['arms']['treated']} minus {data['arms']['control']}, {unit}."
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


def _subgroup_effect(c: dict[str, Any]) -> str:
    r = c["reported"]
    return (
        f"{c['hypothesis']}: effect {effect_text(r['effect'], r['ci_low'], r['ci_high'])} against "
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
        found = f"Validated subgroup: {_subgroup_effect(c)} ({how})."
    else:
        found = f"Subgroup search: {sub['conclusion']}"
        gated = [c for c in sub["candidates"] if c["p_adjusted"] is not None and c["p_adjusted"] < alpha]
        if gated and not h["detected"]:
            found += (
                f" Its strongest rule, {gated[0]['hypothesis']}, has adjusted {adjusted_p_text(gated[0]['p_adjusted'])}, but a "
                "discovered rule is called validated only when the calibration test detects heterogeneity overall, which it did not."
            )
    pre = sub.get("prespecified") or []
    if not pre:
        return found + " No subgroup was pre-specified."
    significant = [c for c in pre if c["p_adjusted"] is not None and c["p_adjusted"] < alpha]
    if significant:
        named = "; ".join(f"{_subgroup_effect(c)}, Holm-adjusted {adjusted_p_text(c['p_adjusted'])}" for c in significant)
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
