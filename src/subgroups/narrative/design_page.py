"""The design page in words: the recommendation, the design table, the planning assumptions, how each design is
sized, raw setting names translated for the reader, and the legend of its abbreviations."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from subgroups.narrative.recommendation import effect_words
from subgroups.narrative.text import count_text, md_escape


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


NO_SIZE = "–"  # a design without a size (no planned benefit to power): its note under the tables says why
NO_DESIGN_PLANNED = "No design was planned for this analysis; the sentence at the top of the page says why."
NO_CURVES = "No power or assurance curve could be computed for these designs; the table above gives each design's power."
NO_DESIGN_SIZED = (
    "No design has a size here: no claim carries a planned benefit (the notes under the planning assumptions say "
    "why for each design), so there is nothing to draw."
)


def design_table(menu: Any) -> pd.DataFrame:
    """The design menu as a readable table (sizes, screening, power and assurance); "–" where a design has no size."""
    frame = menu.to_frame()

    def count(v: Any) -> Any:
        return count_text(v, missing=NO_SIZE)

    shown = pd.DataFrame(
        {
            "design": [name.replace("_", " ") for name in frame.index],
            "randomized N": [
                "not estimable" if estimable is False else count(n)
                for n, estimable in zip(frame["n_randomized"], frame.get("estimable", [True] * len(frame)), strict=True)
            ],
            **({"events": frame["events"].map(count)} if menu.outcome == "time_to_event" else {}),
            "screened (expected)": frame["n_screened_expected"].map(lambda v: count(np.ceil(v)) if pd.notna(v) else NO_SIZE),
            "screened (90% sure)": frame["n_screened_quantile"].map(count),
            "power (any claim)": frame["power_any"].map(lambda v: f"{v:.0%}" if pd.notna(v) else NO_SIZE),
            "assurance (any claim)": frame["assurance_any"].map(lambda v: f"{v:.0%}" if pd.notna(v) else NO_SIZE),
            "claims": frame["claims"],
        }
    )
    return shown


# --- the design page in the reader's words: planning assumptions, raw settings translated, legend ----

# The design package writes its notes, and the recommendation its reasons, with the settings' own names; the reports
# translate what a reader cannot know.
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
    (
        "screened",
        "patients assessed for the marker to randomize N: the expected number, and the number that suffices in 90% of "
        "trials (for adaptive enrichment it can be below the expected one: a rare continuation in S screens many more)",
    ),
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
                "planning effect": "; ".join(f"{c} {effect_words(effects[w], menu.outcome, compact=True)}" for c, w in claimed),
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
    screened, power, assurance and planning effect always (the table's columns use them)."""
    always = {"S", "Sc", "F", "α", "N", "screened", "power", "assurance", "planning effect"}
    found = abbreviations(text)
    return [(term, meaning) for term, meaning in DESIGN_LEGEND if term in always or set(term.split()) <= found]


def design_legend_markdown(text: str) -> str:
    """The legend as a Markdown definition list (one line per term), shown under the design table."""
    return "**Legend**\n\n" + "\n".join(f"- **{md_escape(term)}**: {md_escape(meaning)}" for term, meaning in design_legend(text))
