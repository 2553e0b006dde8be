"""The subgroups page in words: the table of subgroup hypotheses, how they were tested, each subgroup's
feature profile and heading."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from subgroups.narrative.text import display_name, display_rule, effect_text, md_escape, p_value, variable_labels
from subgroups.privacy import TOO_SMALL, count_text

EVENT_COLUMN = {"binary": "outcome = 1, treated / control", "time_to_event": "events, treated / control"}


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
                "n treated / control": f"{count_text(c['n_treated'])} / {count_text(c['n_control'])}",
                **(
                    {
                        EVENT_COLUMN[
                            results["params"]["data"]["outcome"]["type"]
                        ]: f"{count_text(c['events_treated'])} / {count_text(c['events_control'])}"
                    }
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
            # A numeric feature is its name; a category level reads "name = level": both named by the dictionary.
            "feature": [
                display_name(f, results) if f in variable_labels(results) else display_rule(f, results)
                for f in profile["feature"]
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
