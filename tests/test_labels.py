"""The variable dictionary (data.labels, arm names), the reports' number formats, and suppression that says what it is."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from support import small_params

from subgroups import narrative
from subgroups.audit import audit_trial
from subgroups.data import frame_fingerprint, load_trial, prepare_trial
from subgroups.params import load_params
from subgroups.privacy import SUPPRESSED, SUPPRESSED_NOTE, suppress_events, suppress_group

LABELS = {"bmi": {"label": "Body-mass index", "unit": "kg/m²"}, "smoking": "Smoking status", "snp_01": {"label": "rs123 <A>"}}
ARMS = {"treated": "Drug X 10 mg", "control": "Placebo"}


def _trial(csv: Path, **changes):
    return load_trial(small_params(csv, data__labels=LABELS, data__treatment__labels=ARMS, **changes))


def test_parameter_labels_reach_the_trial_and_win_over_the_files_labels(small_csv: Path):
    run = load_params(small_params(small_csv, data__labels=LABELS))
    frame = pd.read_csv(small_csv)
    files = {"bmi": "BMI (kg/m2) from the transport file", "age": "Age at baseline", "arm": "Planned arm"}
    trial = prepare_trial(frame, run.data, frame_fingerprint(frame), "trial.csv", variable_labels=files)
    assert trial.labels == {
        "bmi": "Body-mass index",
        "age": "Age at baseline",
        "smoking": "Smoking status",
        "snp_01": "rs123 <A>",
    }
    assert trial.units == {"bmi": "kg/m²"}
    assert trial.arm_names == trial.arm_labels  # no data.treatment.labels: the arms' values


def test_audit_tables_name_arms_and_variables_and_show_snps_as_carriers(small_csv: Path):
    trial = _trial(small_csv)
    treated, control = trial.arm_labels
    audit = audit_trial(trial, 10)
    assert audit.arms["arm"].tolist() == [f"Drug X 10 mg (treated; arm = {treated})", f"Placebo (control; arm = {control})"]
    schema = audit.schema.set_index("feature")
    assert schema.loc["bmi", "label"] == "Body-mass index" and schema.loc["bmi", "unit"] == "kg/m²"
    assert schema.loc["age", "label"] == "" and schema.loc["smoking", "unit"] == ""
    assert audit.outcome["arm"].tolist() == ["Drug X 10 mg", "Placebo"]
    balance = audit.balance
    assert {"Drug X 10 mg", "Placebo"} <= set(balance.columns) and treated not in balance.columns
    snp = balance[balance.feature == "snp_01"]
    assert snp["level"].tolist() == ["carriers (dosage ≥ 1), n (%)"] and (snp["label"] == "rs123 <A>").all()
    frame = pd.read_csv(small_csv)
    carriers = frame[frame["arm"].astype(str) == treated]["snp_01"].ge(1)
    assert snp["Drug X 10 mg"].iloc[0] == f"{int(carriers.sum())} ({100 * carriers.mean():.1f}%)"
    assert not balance["level"].str.contains("mean").loc[balance.feature.str.startswith("snp_")].any()
    html = narrative.table(audit.schema)
    assert "Body-mass index" in html and "rs123 &lt;A&gt;" in html  # labels are escaped text, never markup


def test_complementary_suppression_reads_suppressed_with_a_footnote(small_csv: Path, tmp_path: Path):
    frame = pd.read_csv(small_csv)
    treated = frame.index[frame["arm"] == frame["arm"].iloc[0]]
    frame.loc[treated[:3], "smoking"] = "pipe"  # 3 pipe smokers in one arm: "<10", and a complement hidden
    frame.loc[frame.index.difference(treated[:3]).intersection(frame.index[frame["smoking"] == "pipe"]), "smoking"] = "never"
    frame.loc[frame.index.difference(treated)[:12], "smoking"] = "pipe"  # 12 in the other arm: shown
    path = tmp_path / "pipe.csv"
    frame.to_csv(path, index=False)
    audit = audit_trial(load_trial(small_params(path)), 10)
    smoking = audit.balance[audit.balance.feature == "smoking"]
    arm = str(frame["arm"].iloc[0])
    counts = frame.loc[frame["arm"].astype(str) == arm, "smoking"].value_counts()
    shown = dict(zip(smoking["level"], smoking[arm]))
    assert shown["= pipe, n (%)"] == "<10"
    hidden = [level for level, text in shown.items() if text == SUPPRESSED]
    assert len(hidden) == 1 and counts[hidden[0][2:-7]] == counts.drop("pipe").min() >= 10
    assert not any(text == "<10" and counts[level[2:-7]] >= 10 for level, text in shown.items())
    html = narrative.table(audit.balance)
    assert SUPPRESSED_NOTE in html and "“&lt;10”: a count between 1 and 9" in html


def test_suppression_keeps_small_and_complementary_apart():
    assert suppress_group(pd.Series({"a": 3, "b": 40, "c": 25}), 10).to_dict() == {"a": "<10", "b": 40, "c": SUPPRESSED}
    assert suppress_group(pd.Series({"a": 3, "b": 4, "c": 50}), 10).to_dict() == {"a": "<10", "b": "<10", "c": 50}
    assert suppress_events(38, 40, 10) == SUPPRESSED  # 2 without an event are protected; 38 is not small
    assert suppress_events(4, 40, 10) == "<10" and suppress_events(12, 40, 10) == 12
    assert narrative.suppression_notes(pd.DataFrame({"n": ["12 / 40"]})) == []
    assert narrative.suppression_notes(pd.DataFrame({"events": ["suppressed / 40"]})) == [SUPPRESSED_NOTE]
    assert narrative.suppression_notes(pd.DataFrame({"events": ["<20 / 40"]})) == [
        "“<20”: a count between 1 and 19, not shown so that no patient can be singled out."
    ]


@pytest.mark.parametrize(
    ("p", "sentence", "cell"),
    [
        (4.17e-22, "p < 0.001", "< 0.001"),
        (3.39e-06, "p < 0.001", "< 0.001"),
        (0.0382, "p = 0.038", "0.038"),
        (0.5, "p = 0.5", "0.5"),
    ],
)
def test_p_values_read_p_below_0_001_else_two_significant_digits(p, sentence, cell):
    assert narrative.p_text(p) == sentence and narrative.p_value(p) == cell


def _results() -> dict:
    row = {"feature": "karnof", "family": "disease", "slope_per_sd": 12.3456, "se": 3.21, "columns": 1}
    candidate = {
        "rule": "karnof ≤ 90",
        "hypothesis": "karnof ≤ 90 and cd40 < 300 vs not (karnof ≤ 90 and cd40 < 300)",
        "status": "not validated",
        "reported": {
            "estimator": "held-out",
            "effect": 52.345,
            "ci_low": 10.0,
            "ci_high": 94.69,
            "comparator_effect": 20.0,
            "comparator_ci_low": 5.0,
            "comparator_ci_high": 35.0,
            "difference": 32.345,
            "difference_ci_low": -10.0,
            "difference_ci_high": 74.7,
        },  # fmt: skip
        "p_adjusted": 4.2e-05,
        "selection_adjusted": False,
        "prevalence": 0.3,
        "n_treated": 150,
        "n_control": 160,
        "events_treated": SUPPRESSED,
        "events_control": 40,
        "found_on": "half A",
        "estimated_on": "half B",
    }
    return {
        "data": {
            "arms": {"treated": "1", "control": "0"},
            "arm_names": {"treated": "ZDV + ddI", "control": "ZDV"},
            "labels": {"karnof": {"label": "Karnofsky score", "unit": "points"}, "cd40": {"label": "Baseline CD4", "unit": None}},
        },
        "ate": {"ci_level": 0.95},
        "params": {"data": {"outcome": {"type": "binary"}}},
        "heterogeneity": {
            "alpha": 0.05,
            "detected": True,
            "modifiers": {
                "scale": "risk difference",
                "table": [
                    {**row, "p_value": 1.2e-05, "p_holm": 3.3e-04},
                    {**row, "feature": "age", "p_value": 0.0456, "p_holm": 0.5},
                ],
            },
        },  # fmt: skip
        "importance": {
            "by_feature": {"cd40": 0.5, "age": 0.2},
            "by_family": {"disease": 0.5},
            "rows_used": 80,
            "rows_total": 400,
            "surrogate_r2": 0.9,
            "approximation_gap_mean_abs": 0.01,
            "approximation_gap_relative_to_effect_sd": 0.1,
        },  # fmt: skip
        "subgroups": {"candidates": [candidate], "prespecified": []},
    }


def test_labels_reach_the_importance_modifier_and_subgroup_tables():
    results = _results()
    assert narrative.display_name("karnof", results) == "Karnofsky score"
    assert narrative.display_name("karnof", results, unit=True) == "Karnofsky score (points)"
    assert narrative.display_name("age", results) == "age" and narrative.arm_name("treated", results) == "ZDV + ddI"
    sentence = narrative.importance_sentence(results)
    assert "Baseline CD4 (0.5" in sentence and "age (0.2" in sentence and "cd40" not in sentence
    mods = narrative.modifier_table(results)
    assert mods["feature"].tolist() == ["Karnofsky score", "age"]
    assert mods["p (two-sided)"].tolist() == ["< 0.001", "0.046"] and mods["Holm-adjusted p"].tolist() == ["< 0.001", "0.5"]
    assert "**The effect changes with Karnofsky score (Holm-adjusted p < 0.001)**" in narrative.modifier_sentence(results)
    table = narrative.subgroup_table(results)
    row = table.iloc[0]
    assert row["hypothesis (subgroup vs comparator)"] == (
        "Karnofsky score ≤ 90 and Baseline CD4 < 300 vs not (Karnofsky score ≤ 90 and Baseline CD4 < 300)"
    )
    assert row["adjusted p"] == "< 0.001" and row["effect in subgroup (95% CI)"] == "+52.3 (10 to 94.7)"
    assert row["outcome = 1, treated / control"] == "suppressed / 40"
    html = narrative.table(table)
    assert SUPPRESSED_NOTE in html and "&lt;10" not in html


def test_figures_name_features_by_their_labels():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from subgroups import plots

    results = _results()
    ax = plots.forest(results["subgroups"]["candidates"], {"estimate": 30.0, "scale": "risk difference"}, results=results)
    assert [t.get_text().splitlines()[0] for t in ax.get_yticklabels()] == [
        "Karnofsky score ≤ 90 and Baseline CD4 < 300 vs not (Karnofsky score ≤ 90 and Baseline CD4 < 300)",
        "Discovered: Karnofsky score",
        "All patients",
    ]
    ax = plots.importance(pd.Series({"cd40": 0.5, "age": 0.2}), {"cd40": "disease", "age": "other"}, results=results)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["age", "Baseline CD4"]
    plt.close("all")


def test_the_index_sentences_name_arms_and_subgroups_by_their_labels():
    results = _results()
    results["data"]["outcome"] = {"name": "CD4 count at week 20", "type": "continuous", "higher_is_better": True}
    results["ate"].update(scale="difference in means", unit=None)
    assert "difference in means, ZDV + ddI minus ZDV," in narrative.endpoint_summary(results)
    candidate = {**results["subgroups"]["candidates"][0], "status": "validated"}
    assert narrative._subgroup_effect(candidate, results).startswith("Karnofsky score ≤ 90 and Baseline CD4 < 300 vs not (")


def test_the_data_summary_names_arms_and_says_when_a_count_of_excluded_rows_is_suppressed():
    from types import SimpleNamespace

    results = _results()
    results["provenance"] = {"data_source": "trial.csv", "data_sha256": "ab" * 32}
    results["data"].update(
        n_treated=150,
        n_control=160,
        study="rct",
        outcome={"name": "CD4 count at week 20", "type": "continuous", "higher_is_better": True},
        dropped={"missing outcome": "<10", "other arms": SUPPRESSED},
    )
    balance = pd.DataFrame({"feature": ["karnof", *(f"x{k}" for k in range(19))], "SMD": [0.15, *([0.01] * 19)]})
    text = narrative.data_summary(results, SimpleNamespace(imbalanced=["karnof"], balance=balance))
    assert "**Comparison:** ZDV \\+ ddI (<code>1</code>) (treated, 150 patients) versus ZDV (<code>0</code>)" in text
    assert (
        "<10 patient(s): missing outcome; a number of patients suppressed (to protect a small count beside it): other arms"
        in text
    )
    # 150 and 160 patients: |SMD| > 0.1 with probability 2Φ(−0.1/√(1/150 + 1/160)) = 0.379 for a randomized feature
    assert "more than 0.1 SD (randomization alone would put about 38% of features, 8 of 20, beyond it): Karnofsky score." in text


def test_the_subgroup_profile_names_features_and_levels_by_the_dictionary():
    profile = pd.DataFrame(
        {"family": ["disease", "other"], "feature": ["karnof", "karnof = 100"], "in subgroup": [80.0, 0.4], "rest": [90.0, 0.5],
         "standardized difference": [-0.5, -0.2], "share": [False, True]}
    )  # fmt: skip
    shown = narrative.profile_table(profile, _results())
    assert shown["feature"].tolist() == ["Karnofsky score", "Karnofsky score = 100"]
    assert shown["in subgroup"].tolist() == ["80", "40%"]


def test_design_table_counts_have_thousands_separators():
    from types import SimpleNamespace

    frame = pd.DataFrame(
        {"n_randomized": [1414, None], "estimable": [True, False], "n_screened_expected": [1413.2, None],
         "n_screened_quantile": [1480, None], "power_any": [0.8, None], "assurance_any": [0.76, None], "claims": ["F", "S"]},
        index=["all_comers", "enrichment"],
    )  # fmt: skip
    shown = narrative.design_table(SimpleNamespace(to_frame=lambda: frame, outcome="continuous"))
    assert shown.iloc[0][["randomized N", "screened (expected)", "screened (90% sure)"]].tolist() == ["1,414", "1,414", "1,480"]
    assert shown.iloc[1][["randomized N", "screened (expected)", "screened (90% sure)"]].tolist() == ["not estimable", "–", "–"]
