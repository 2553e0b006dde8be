"""The explanation page in words: feature importance, per-feature effect-modification tests, possible proxies,
the direction of each feature, effect by genotype, and what is greyed when heterogeneity was not detected."""

from __future__ import annotations

from html import escape as escape_html
from typing import Any

import numpy as np
import pandas as pd

from subgroups.narrative.text import display_name, fmt, md_escape, p_text, p_value, unit_suffix

CONSTANT_EFFECT_MODEL = (
    "The effect model predicts the same effect for every patient, so no feature changes it: every SHAP importance is 0."
)


NOT_DRAWN_CONSTANT = "Not drawn: the effect model gives every patient the same estimate, so every value here would be 0."


def constant_effect_model(results: dict[str, Any]) -> bool:
    """Every SHAP importance is 0: the explained effect model predicts the same effect for every patient."""
    return not any(results["importance"]["by_feature"].values())


def importance_sentence(results: dict[str, Any]) -> str:
    imp = results["importance"]
    ranked = list(imp["by_feature"].items())
    if constant_effect_model(results):
        return CONSTANT_EFFECT_MODEL + " Status: exploratory."
    direction, notes = imp.get("direction") or {}, proxy_notes(results)
    top = ", ".join(
        f"{md_escape(display_name(name, results))} ({value:.3g}; {direction_text(direction.get(name), results)}"
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
        "The decision about heterogeneity (the calibration and per-feature max-T tests together) is in the effects report."
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
    moving = [name for name in ranked if results["importance"]["by_feature"][name]]  # all 0: the order says nothing
    chosen = set(moving[:FLAGGED_TOP]) | {r["feature"] for r in mods if r["p_holm"] < alpha}
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


def direction_text(value: float | None, results: dict[str, Any] | None = None) -> str:
    """The direction of a feature's SHAP values in words, from the rank correlation of value and SHAP value; with
    `results`, whether that is more or less benefit (a larger effect is less benefit when lower outcomes are better)."""
    if value is None or not np.isfinite(value) or abs(value) < 0.2:
        return "no clear direction"
    larger = value > 0
    text = "higher values, larger effect" if larger else "higher values, smaller effect"
    if results is None:
        return text
    better = bool(results.get("data", {}).get("outcome", {}).get("higher_is_better", True))
    return f"{text} ({'more' if larger == better else 'less'} benefit)"


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
            "direction": [direction_text(direction.get(name), results) for name, _ in ranked],
            "note": [notes.get(name, "") for name, _ in ranked],
        }
    )


def spread_summary(results: dict[str, Any]) -> tuple[str, str]:
    """The spread of per-patient effects as the index shows it, and its status tag: the calibrated spread (what
    the calibration test supports) when heterogeneity was detected, else "not supported"."""
    effects = results["effects"]
    calibrated = effects.get("calibrated") or {}
    supported = calibrated.get("cate_sd")
    u = unit_suffix(results)
    raw = f"the model's own estimates spread {effects['cate_sd']:.3g}{u}"
    if not importance_supported(results):
        text = f"{NOT_SUPPORTED}: heterogeneity was not detected, so the data support no spread beyond noise"
        return text + (f" (calibrated spread {supported:.3g}{u}; {raw})" if supported is not None else f" ({raw})"), NOT_SUPPORTED
    if supported is None:
        return f"{effects['cate_sd']:.3g}{u} (the model's own estimates)", "exploratory"
    factor = calibrated.get("slope_applied")
    share = "" if factor is None else f"; the held-out calibration slope supports {factor:.0%} of that spread"
    return f"{supported:.3g}{u}, calibrated by the held-out calibration slope ({raw}{share})", "exploratory"


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
