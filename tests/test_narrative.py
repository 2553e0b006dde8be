"""What the reports say the data support: importance without detected heterogeneity, SHAP direction, proxies,
effect by genotype, and the design page's planning assumptions and legend (issue 16, items 6 and 7)."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from subgroups import explain, narrative, runner
from subgroups.analysis import _overall_planning
from subgroups.privacy import SUPPRESSED


def _results(detected: bool = True, r: float = 0.79) -> dict:
    """A hand-made results dict: a, b, c ranked by importance; b correlates r with a; c is only a significant
    modifier; d correlates 0.9 with a but is not flagged (rank 4, modifier not significant)."""
    return {
        "data": {"features": {"genetic": ["a", "b", "d"], "disease": ["c"]}},
        "heterogeneity": {
            "detected": detected,
            "alpha": 0.05,
            "modifiers": {
                "scale": "difference in means",
                "table": [
                    {
                        "feature": "a",
                        "family": "genetic",
                        "p_value": 1e-4,
                        "p_holm": 4e-4,
                        "slope_per_sd": 0.2,
                        "se": 0.04,
                        "columns": 1,
                    },
                    {
                        "feature": "c",
                        "family": "disease",
                        "p_value": 0.002,
                        "p_holm": 0.006,
                        "slope_per_sd": 0.1,
                        "se": 0.03,
                        "columns": 1,
                    },
                    {
                        "feature": "b",
                        "family": "genetic",
                        "p_value": 0.2,
                        "p_holm": 0.6,
                        "slope_per_sd": 0.05,
                        "se": 0.04,
                        "columns": 1,
                    },
                    {
                        "feature": "d",
                        "family": "genetic",
                        "p_value": 0.3,
                        "p_holm": 0.9,
                        "slope_per_sd": 0.04,
                        "se": 0.04,
                        "columns": 1,
                    },
                ],
            },
        },
        "importance": {
            "by_feature": {"a": 0.4, "b": 0.2, "e": 0.1, "d": 0.05, "c": 0.01},
            "share_by_feature": {"a": 0.5, "b": 0.25, "e": 0.125, "d": 0.0625, "c": 0.0125},
            "by_family": {"genetic": 0.6, "disease": 0.01},
            "direction": {"a": 0.8, "b": -0.5, "e": 0.05},
            "correlated": [{"features": ["a", "d"], "r": 0.9}, {"features": ["a", "b"], "r": r}],
            "rows_used": 300,
            "rows_total": 2000,
            "surrogate_r2": 0.9,
            "approximation_gap_mean_abs": 0.01,
            "approximation_gap_relative_to_effect_sd": 0.1,
        },
        "effects": {"cate_sd": 0.3, "calibrated": {"slope_applied": 0.0, "cate_sd": 0.0}},
    }


def test_importance_is_not_supported_without_detected_heterogeneity():
    sentence = narrative.importance_sentence(_results(detected=False))
    assert sentence.startswith("**Not supported by the data.** The heterogeneity test did not detect heterogeneity")
    assert "may reflect noise" in sentence
    assert "Not supported" not in narrative.importance_sentence(_results(detected=True))
    text, tag = narrative.spread_summary(_results(detected=False))
    assert tag == "not supported" and text.startswith("not supported") and "calibrated spread 0" in text
    text, tag = narrative.spread_summary({**_results(), "effects": {"cate_sd": 0.3, "calibrated": {"cate_sd": 0.12}}})
    assert tag == "exploratory" and text.startswith("0.12")
    text, _ = narrative.spread_summary(
        {**_results(), "effects": {"cate_sd": 0.3, "calibrated": {"slope_applied": 0.4, "cate_sd": 0.12}}}
    )
    assert text.endswith("(the model's own estimates spread 0.3; the held-out calibration slope supports 40% of that spread)")
    labelled = {**_results(), "effects": {"cate_sd": 0.3, "calibrated": {"slope_applied": 0.4, "cate_sd": 0.12}}}
    labelled["params"] = {"data": {"outcome": {"column": "cd4"}, "labels": {"cd4": {"label": "CD4", "unit": "cells/mm³"}}}}
    text, _ = narrative.spread_summary(labelled)  # in the outcome's unit, as the average effect
    assert text.startswith("0.12 cells/mm³, calibrated") and "own estimates spread 0.3 cells/mm³;" in text
    muted = narrative.muted_unless_supported("<table></table>", _results(detected=False))
    assert 'class="sg-not-supported"' in muted and "may reflect noise" in muted
    assert narrative.muted_unless_supported("<table></table>", _results()) == "<table></table>"


def test_index_marks_importance_and_spread_not_supported(demo_analysis):
    results = copy.deepcopy(demo_analysis.results)
    assert results["heterogeneity"]["detected"]  # the demo detects it: nothing is greyed
    page = runner.index_page(results, [])
    assert "sg-not-supported" not in page and "may reflect noise" not in page
    results["heterogeneity"]["detected"] = False
    page = runner.index_page(results, [])
    section = page[page.index('<div class="sg-importance sg-not-supported"') :]
    assert "may reflect noise" in section[: section.index("</div>")]
    at = page.index("Spread of per-patient effects")
    spread_row = page[page.rindex("<tr", 0, at) : page.index("</tr>", at)]
    assert 'class="sg-not-supported"' in spread_row and '<span class="tag">not supported</span>' in spread_row
    cal = results["effects"]["calibrated"]["cate_sd"]
    assert f"calibrated spread {cal:.3g}" in spread_row


def test_proxy_label_for_two_correlated_flagged_features():
    results = _results()
    assert narrative.flagged_features(results) == ["a", "b", "e", "c"]  # top 3, then the significant modifier c
    # d correlates 0.9 with a but is not flagged: no label; b (rank 2) is labelled against a (rank 1)
    assert narrative.proxy_notes(results) == {"b": "correlated r = 0.79 with a: may be a proxy"}
    table = narrative.importance_table(results)
    assert table.set_index("feature").loc["b", "note"] == "correlated r = 0.79 with a: may be a proxy"
    assert table.set_index("feature").loc["a", "note"] == "" and table.set_index("feature").loc["d", "note"] == ""
    assert table["direction"].tolist()[:3] == [
        "higher values, larger effect (more benefit)",
        "higher values, smaller effect (less benefit)",
        "no clear direction",
    ]
    sentence = narrative.importance_sentence(results)
    assert "b (0.2; higher values, smaller effect (less benefit); correlated r \\= 0\\.79 with a\\: may be a proxy)" in sentence
    # When lower outcomes are better a larger effect is less benefit.
    lower = {**results, "data": {**results.get("data", {}), "outcome": {"higher_is_better": False}}}
    assert narrative.direction_text(0.5, lower) == "higher values, larger effect (less benefit)"
    assert narrative.direction_text(-0.5, lower) == "higher values, smaller effect (more benefit)"
    assert "Possible proxies: b (correlated" in sentence
    # below |r| = 0.7 there is no label
    assert narrative.proxy_notes(_results(r=0.69)) == {} and "proxies" not in narrative.importance_sentence(_results(r=0.69))


def test_correlated_pairs_one_hot_and_threshold():
    rng = np.random.default_rng(0)
    x = rng.normal(size=500)
    y = x + rng.normal(scale=0.8, size=500)  # r about 0.78
    level = (x > 0.5).astype(float)  # a one-hot column of categorical "cat", correlated with x
    frame = pd.DataFrame({"x": x, "y": y, "noise": rng.normal(size=500), "cat=b": level, "cat=c": 1 - level})
    pairs = explain.correlated_pairs(frame, {"cat=b": "cat", "cat=c": "cat"})
    expected_xy = np.corrcoef(x, y)[0, 1]
    assert ("x", "y", pytest.approx(expected_xy)) in [(a, b, pytest.approx(r)) for a, b, r in pairs]
    assert expected_xy > 0.7 and all("noise" not in (a, b) for a, b, _ in pairs)
    cat = [p for p in pairs if set(p[:2]) == {"cat", "x"}]
    r_cat = np.corrcoef(x, level)[0, 1]
    assert (abs(r_cat) >= 0.7) == bool(cat) and all(a != b for a, b, _ in pairs)


def test_demo_flags_the_ld_proxy_and_keeps_direction(demo_analysis):
    imp = demo_analysis.results["importance"]
    pairs = {tuple(p["features"]): p["r"] for p in imp["correlated"]}
    assert pairs[("snp_01", "snp_02")] == pytest.approx(0.79, abs=0.05)  # the simulated LD block
    assert "snp_02" in narrative.flagged_features(demo_analysis.results)  # significant modifier after Holm
    assert narrative.proxy_notes(demo_analysis.results)["snp_02"].endswith("with snp_01: may be a proxy")
    assert imp["direction"]["snp_01"] > 0.5  # carriers benefit more: higher dosage, larger effect
    ex = demo_analysis.explanation
    assert ex.values.shape == (imp["rows_used"], len(demo_analysis.data.feature_names))
    assert "values" not in imp and "sampled" not in imp  # results.json holds no row-level SHAP


def test_dependence_bands_hold_min_cell_and_true_means(demo_analysis):
    ex, min_cell = demo_analysis.explanation, demo_analysis.params.report.min_cell
    bands = ex.dependence("snp_01", min_cell)
    dosage = ex.sampled["snp_01"].to_numpy()
    assert bands["group"].tolist() == ["0", "1", "2"]
    for value, row in zip((0, 1, 2), bands.itertuples(), strict=True):
        assert row.n == int(np.sum(dosage == value))
        assert row.mean_shap == pytest.approx(float(ex.values["snp_01"][dosage == value].mean()))
    assert bands["mean_shap"].iloc[0] < 0 < bands["mean_shap"].iloc[1]  # non-carriers below, carriers above
    age = ex.dependence("age", min_cell)
    assert len(age) == 5 and (age["n"] >= min_cell).all() and age["n"].sum() == ex.rows_used
    assert ex.dependence("age", 100)["n"].min() >= 100  # bands merge to reach min_cell


def test_effect_by_genotype_suppresses_small_groups():
    dosage = pd.Series([0] * 30 + [1] * 15 + [2] * 4)
    effect = np.r_[np.full(30, 0.1), np.full(15, 0.3), np.full(4, 0.5)] + np.arange(49) * 1e-3
    table = explain.effect_by_genotype(dosage, effect, min_cell=10)
    assert table["n"].tolist() == [30, SUPPRESSED, "<10"]  # the 4 could be recovered from the total: 15 hidden too
    assert table["mean_effect"][0] == pytest.approx(effect[:30].mean()) and table["mean_effect"][1] == pytest.approx(
        effect[30:45].mean()
    )
    assert np.isnan(table["mean_effect"][2])
    shown = narrative.genotype_table(table, 10)
    assert shown["mean per-patient effect (calibrated)"].tolist() == [
        f"{effect[:30].mean():+.3g}",
        f"{effect[30:45].mean():+.3g}",
        "–",
    ]
    assert explain.is_snp(dosage, "genetic") and not explain.is_snp(dosage, "disease")
    assert not explain.is_snp(pd.Series([0.0, 1.5, 2.0]), "genetic")


def test_design_assumption_columns_carry_the_menu_numbers(demo_analysis):
    menu = demo_analysis.design
    assumptions = narrative.planning_assumptions(demo_analysis)
    _, _, extra = _overall_planning(demo_analysis.params, demo_analysis.data, demo_analysis.effects)
    assert assumptions["outcome_sd"] == pytest.approx(extra["outcome_sd"])  # the SD the designs were sized with
    table = narrative.design_assumptions(menu, assumptions).set_index("design")
    assert list(table.columns) == ["planning effect", "outcome SD", "one-sided α per claim", "power per claim", "dropout"]
    frame = menu.to_frame()
    enrichment, stratified = frame.loc["enrichment"], frame.loc["stratified"]
    assert table.loc["D2 enrichment", "planning effect"] == f"S {menu.planning_effect_subgroup:+.3g}"
    assert table.loc["D1 all comers", "planning effect"] == f"F {menu.planning_effect_overall:+.3g}"
    assert table.loc["D2 enrichment", "one-sided α per claim"] == f"S {enrichment['alpha_subgroup']:.3g}"
    assert table.loc["D3 stratified", "one-sided α per claim"] == (
        f"S {stratified['alpha_subgroup']:.3g}; F {stratified['alpha_overall']:.3g}"
    )
    assert (
        table.loc["D3 stratified", "power per claim"]
        == f"S {stratified['power_subgroup']:.0%}; F {stratified['power_overall']:.0%}"
    )
    assert (table["outcome SD"] == f"{extra['outcome_sd']:.3g}").all() and (table["dropout"] == "none assumed").all()
    assert "D3b stratified MaST" in table.index


def test_every_abbreviation_on_the_design_page_has_a_legend_entry(demo_analysis):
    menu = demo_analysis.design
    text = narrative.design_page_text(demo_analysis.results, menu, narrative.planning_assumptions(demo_analysis))
    assert "require_complement_data" not in text and "tau^2" not in text and "max_n" not in text
    found = narrative.abbreviations(text)
    assert {"S", "Sc", "F", "MaST", "D5", "τ²"} <= found  # the page uses them
    legend = narrative.design_legend(text)
    covered = {word for term, _ in legend for word in term.split()}
    assert found <= covered, f"no legend entry for {sorted(found - covered)}"
    markdown = narrative.design_legend_markdown(text)
    assert markdown.count("\n- **") == len(legend) and "**MaST**" in markdown
    # the collector sees an unknown abbreviation, so a new one without an entry fails this test
    assert "XYZ" in narrative.abbreviations("the XYZ design, Per protocol") and "Per" not in narrative.abbreviations("Per")
    assert narrative.reader_text("cohort (D5, set require_complement_data=True)") == (
        "cohort (D5; to plan it, require data on marker-negative patients in the trial-design settings)"
    )


def test_design_assumptions_on_the_hazard_ratio_and_risk_scales():
    frame = pd.DataFrame(
        {"label": ["D1", "D2"], "alpha_subgroup": [np.nan, 0.025], "alpha_complement": [np.nan, np.nan]}
        | {"alpha_overall": [0.025, np.nan], "power_subgroup": [np.nan, 0.81], "power_complement": [np.nan, np.nan]}
        | {"power_overall": [0.8, np.nan]},
        index=pd.Index(["all_comers", "enrichment"], name="design"),
    )
    effects = {"planning_effect_subgroup": np.log(0.7), "planning_effect_complement": np.log(0.95)}
    menu = SimpleNamespace(outcome="time_to_event", planning_effect_overall=np.log(0.8), to_frame=lambda: frame, **effects)
    table = narrative.design_assumptions(menu, {"event_probability": 0.42}).set_index("design")
    assert (
        table.loc["D2 enrichment", "planning effect"] == "S HR 0.70"
        and table.loc["D1 all comers", "planning effect"] == "F HR 0.80"
    )
    assert (table["event probability"] == "42%").all() and table.loc["D2 enrichment", "power per claim"] == "S 81%"
    menu = SimpleNamespace(
        outcome="binary", planning_effect_overall=0.05, to_frame=lambda: frame, **(effects | {"planning_effect_subgroup": 0.1})
    )
    table = narrative.design_assumptions(menu, {"control_rate": 0.3}).set_index("design")
    assert table.loc["D2 enrichment", "planning effect"] == "S +10.0 points" and (table["control response"] == "30.0%").all()


def test_learner_table_shows_losses_with_four_significant_digits():
    """ACTG 175's losses are about 54,600 (CD4 cells squared): no four decimals after them, no exponent."""
    results = {"effects": {"candidates": [
        {"learner": "causal_forest", "dr_loss": 54603.386, "r_loss": 13573.417, "folds_chosen": 3},
        {"learner": "t_learner", "dr_loss": 0.0123456, "r_loss": 1.23456, "folds_chosen": 0},
    ]}}  # fmt: skip
    table = narrative.learner_table(results)
    assert table.to_dict("records") == [
        {"learner": "causal-forest", "held-out DR-loss": "54,600", "held-out R-loss": "13,570", "folds where chosen": 3},
        {"learner": "t-learner", "held-out DR-loss": "0.01235", "held-out R-loss": "1.235", "folds where chosen": 0},
    ]


def test_tables_print_whole_numbers_with_thousands_separators():
    """The audit's patients per arm (integers from the data) read "1,000" as every count on the pages; floats,
    booleans and hidden counts are left as they are."""
    frame = pd.DataFrame({"arm": ["drug", "placebo"], "patients": [1000, 12], "share": [0.5, 1500.0], "flag": [True, False]})
    html = narrative.table(frame)
    assert "<td>1,000</td>" in html and "<td>12</td>" in html and "<td>1500.0</td>" in html and "<td>True</td>" in html


def test_a_muted_figure_keeps_its_title_first():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from subgroups import plots

    _, ax = plt.subplots()
    ax.set_title("Direction: light = lowest values")
    assert plots.mute(ax).get_title() == "Direction: light = lowest values (not supported by the data)"
    plt.close("all")


def test_the_balance_sentence_names_the_largest_differences_first_and_counts_the_rest():
    """508 features (hundreds of genotyped variants): the sentence names the ten largest |SMD| and says how many more."""
    balance = pd.DataFrame({"feature": [f"rs{k}" for k in range(12)], "SMD": [0.11 + 0.01 * k * (-1) ** k for k in range(12)]})
    audit = SimpleNamespace(imbalanced=[f"rs{k}" for k in range(12)], balance=balance)
    results = {"provenance": {"data_source": "x.csv", "data_sha256": "ab" * 32}, "data": {
        "n_treated": 200, "n_control": 200, "study": "rct", "dropped": {}, "arms": {"treated": "drug", "control": "placebo"},
        "outcome": {"name": "y", "type": "continuous", "higher_is_better": True}}}  # fmt: skip
    text = narrative.data_summary(results, audit)
    ranked = sorted(range(12), key=lambda k: -abs(0.11 + 0.01 * k * (-1) ** k))
    listed = ", ".join(f"rs{k}" for k in ranked[:10])
    assert f"randomization alone would put about 32% of features, 4 of 12, beyond it): {listed} and 2 more" in text


def test_long_audit_tables_are_folded_and_the_balance_figure_shows_the_largest_differences():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from subgroups import plots

    short = pd.DataFrame({"feature": ["a", "b"]})
    assert narrative.folded_table(short, "Every feature") == narrative.table(short)
    long = pd.DataFrame({"feature": [f"rs{k}" for k in range(508)]})
    html = narrative.folded_table(long, "Every feature")
    assert html.startswith("<details><summary>Every feature (508 rows; click to show)</summary>") and "rs507" in html
    smd = np.linspace(-0.3, 0.3, 101)
    balance = pd.DataFrame({"feature": [f"rs{k}" for k in range(101)], "level": "mean (SD)", "SMD": smd})
    ax = plots.balance(SimpleNamespace(balance=balance))
    shown = [tick.get_text() for tick in ax.get_yticklabels()]
    assert len(shown) == 40 and "rs0" in shown and "rs100" in shown and "rs50" not in shown  # the largest |SMD| only
    assert ax.get_title() == "Baseline balance between arms: the 40 largest of 101 differences (grey band: |SMD| ≤ 0.1)"
    plt.close("all")


def test_a_non_detection_states_the_difference_the_data_could_have_found():
    """(z₀.₉₇₅ + z₀.₈) · 2 · SE: with SE = 0.1 that is 2.8016 · 0.2 = 0.560; checked by simulating halves whose
    effects differ by it (the two-sample z-test on the scores finds it in 80% of 4,000 trials)."""
    from subgroups.narrative.effects_page import detectable_difference

    results = {"heterogeneity": {"alpha": 0.05, "mean_forecast": {"se": 0.1}}, "ate": {"scale": "difference in means"}}
    text = detectable_difference(results)
    assert "differed by 0.56 or more (difference in means)" in text and "found 80% of the time" in text
    rng = np.random.default_rng(0)
    n, sd = 400, 0.1 * np.sqrt(400)  # scores whose mean has SE 0.1
    a = rng.normal(0.56, sd, size=(4000, n // 2))
    b = rng.normal(0.0, sd, size=(4000, n // 2))
    z = (a.mean(axis=1) - b.mean(axis=1)) / np.sqrt(a.var(axis=1, ddof=1) / (n // 2) + b.var(axis=1, ddof=1) / (n // 2))
    assert np.mean(np.abs(z) > 1.96) == pytest.approx(0.8, abs=0.02)
    assert detectable_difference({"heterogeneity": {"alpha": 0.05, "mean_forecast": {"se": None}}, "ate": {}}) == ""


def test_prespecified_sentence_counts_the_subgroups_too_small_to_report():
    """Holm adjusts over every pre-specified subgroup; the index said "none of the 1" of four (three too small), and
    "No subgroup was pre-specified" when all were too small."""
    from subgroups.narrative.summary import subgroups_summary

    def results(shown: int, hidden: int) -> dict:
        reported = [{"p_adjusted": 1.0, "hypothesis": f"x{i} vs the rest"} for i in range(shown)]
        small = [{"rule": "too small to report"}] * hidden
        return {
            "params": {"subgroups": {"alpha": 0.05}},
            "heterogeneity": {"detected": False},
            "subgroups": {"candidates": [], "conclusion": "No credible subgroup.", "prespecified": reported,
                          "too_small": {"candidates": [], "prespecified": small}},
        }  # fmt: skip

    assert "none of the 4 pre-specified subgroups (3 too small to report) differs from the rest after Holm adjustment " \
        "(Holm-adjusted p = 1)" in subgroups_summary(results(1, 3))  # fmt: skip
    assert "the 1 pre-specified subgroup does not differ" in subgroups_summary(results(1, 0))
    assert "none of the 2 pre-specified subgroups differs" in subgroups_summary(results(2, 0))
    assert "Pre-specified: all 3 pre-specified subgroups are too small to report." in subgroups_summary(results(0, 3))
    assert "Pre-specified: the 1 pre-specified subgroup is too small to report." in subgroups_summary(results(0, 1))
    assert "No subgroup was pre-specified." in subgroups_summary(results(0, 0))


def test_a_constant_effect_model_is_said_in_words_not_as_a_table_of_zeros(demo_analysis):
    """With every SHAP importance 0 the index listed five features at 0 (their order arbitrary) and flagged one of
    them as a possible proxy of another; only the significant effect modifiers stay flagged."""
    import copy

    from subgroups import narrative, runner

    results = copy.deepcopy(demo_analysis.results)
    page = runner._summary(results, [])
    assert "<th>importance</th>" in page and narrative.CONSTANT_EFFECT_MODEL not in page
    results["importance"]["by_feature"] = dict.fromkeys(results["importance"]["by_feature"], 0.0)
    results["importance"]["by_family"] = dict.fromkeys(results["importance"]["by_family"], 0.0)
    page = runner._summary(results, [])
    assert narrative.CONSTANT_EFFECT_MODEL in page and "<th>importance</th>" not in page
    assert set(narrative.flagged_features(results)) <= {
        r["feature"] for r in results["heterogeneity"]["modifiers"]["table"] if r["p_holm"] < results["heterogeneity"]["alpha"]
    }


def test_an_unsized_recommendation_says_why():
    """ "its size is not estimable from these data" left the reader to guess; the design's own note says why."""
    from subgroups.narrative.summary import design_summary

    option = {"design": "all_comers", "title": "All-comers (untargeted)", "n_randomized": None,
              "notes": "the overall effect shows no benefit, so no all-comers size exists"}  # fmt: skip
    results = {"design": {"recommended": "all_comers", "subgroup": None, "options": [option], "note": "No candidate subgroup."}}
    assert design_summary(results) == (
        "Recommended next trial: All-comers (untargeted), for all eligible patients; its size is not estimable from these "
        "data: the overall effect shows no benefit, so no all-comers size exists. No candidate subgroup."
    )


def test_a_recommendation_beyond_the_feasible_maximum_says_so_on_the_index():
    """The design page noted "this exceeds the feasible maximum", the index's sentence did not."""
    from subgroups.narrative.summary import design_summary

    def results(feasible: bool, others: bool) -> dict:
        option = {"design": "all_comers", "title": "All-comers (untargeted)", "n_randomized": 3484, "feasible": feasible,
                  "n_screened_expected": 3484, "power_any": 0.8, "assurance_any": 0.66}  # fmt: skip
        other = {"design": "enrichment", "title": "Enrichment", "n_randomized": 90, "feasible": others}
        return {"params": {"trial_design": {"max_n": 100}},
                "design": {"recommended": "all_comers", "subgroup": None, "options": [option, other]}}  # fmt: skip

    assert "feasible maximum" not in design_summary(results(True, True))
    assert design_summary(results(False, True)).endswith(
        "This exceeds the feasible maximum of 100 randomized patients (trial_design.max_n)."
    )
    assert design_summary(results(False, False)).endswith("(trial_design.max_n): no design on the menu fits it.")


def test_the_subgroup_sentence_gives_effects_in_the_outcome_unit():
    """The average effect said "+1.23 months", the validated subgroup beside it "+2.51 (0.581 to 4.43)"."""
    from subgroups.narrative.summary import subgroups_summary

    reported = {"estimator": "all patients, cross-fitted", "effect": 2.51, "ci_low": 0.581, "ci_high": 4.43,
                "comparator_effect": 0.0589, "comparator_ci_low": -1.87, "comparator_ci_high": 1.99}  # fmt: skip
    results = {
        "params": {"subgroups": {"alpha": 0.05}, "data": {}},
        "heterogeneity": {"detected": True},
        "ate": {"unit": "months"},
        "subgroups": {"candidates": [{"status": "validated", "hypothesis": "snp_01 ≥ 1 (carrier) vs the rest",
                                      "reported": reported, "p_adjusted": 0.045}], "prespecified": []},
    }  # fmt: skip
    assert subgroups_summary(results).startswith(
        "Validated subgroup: snp_01 ≥ 1 (carrier) vs the rest: effect +2.51 months (0.581 to 4.43) against +0.0589 months "
        "(-1.87 to 1.99) in the comparator (all patients, cross-fitted; adjusted p = 0.045)."
    )
