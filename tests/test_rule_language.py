"""The rule language: conditions in original units, parsing, rounding of cut-points."""

from __future__ import annotations

from subgroups.rule_language import Condition


def test_rule_text_in_original_units():
    assert Condition("snp_01", "gt", 0.5, integer=True, genetic=True).text == "snp_01 ≥ 1 (carrier)"
    assert Condition("snp_01", "le", 0.5, integer=True, genetic=True).text == "snp_01 = 0 (non-carrier)"
    assert Condition("smoking", "in", ("former", "never")).text == "smoking in {former, never}"
    assert Condition("severity", "gt", 49.5).text == "severity > 49.5"


def test_names_that_are_not_plain_words_are_quoted_and_read_back(small_csv):
    """A feature named "a and b" printed bare ("a and b ≤ -0.58") reads as two conditions and could not be
    pre-specified; rules write it in backticks, and parse_rule reads a rule as reports print it."""
    import numpy as np
    import pandas as pd
    from support import small_params

    from subgroups.data import load_trial
    from subgroups.narrative.text import display_rule
    from subgroups.rule_language import members, parse_rule, rule_text

    frame = pd.read_csv(small_csv).assign(**{"a and b": np.linspace(-1, 1, 400), "BMI (kg/m2)": np.linspace(18, 40, 400)})
    params = small_params(small_csv)
    params["data"]["features"]["other"] = [*params["data"]["features"]["other"], "a and b", "BMI (kg/m2)"]
    trial = load_trial(params, frame)
    rule = (Condition("a and b", "le", -0.58), Condition("BMI (kg/m2)", "gt", 30.0), Condition("age", "gt", 60.0))
    assert rule_text(rule) == "`a and b` ≤ -0.58 and `BMI (kg/m2)` > 30 and age > 60"
    read = parse_rule(rule_text(rule) + " & smoking in [never]", trial)
    assert [c.feature for c in read] == ["a and b", "BMI (kg/m2)", "age", "smoking"]
    np.testing.assert_array_equal(members(read[:3], trial.features), members(rule, trial.features))
    carriers = parse_rule("snp_01 ≥ 1 (carrier) and snp_02 = 0 (non-carrier)", trial)
    # Cut-points on whole numbers are written as the search writes its own (same patients): "(carrier)" everywhere.
    assert [(c.kind, c.value) for c in carriers] == [("gt", 0.5), ("le", 0.5)]
    assert rule_text(carriers) == "snp_01 ≥ 1 (carrier) and snp_02 = 0 (non-carrier)"
    for written, read in (("snp_01 >= 1", "snp_01 ≥ 1 (carrier)"), ("snp_01 > 1", "snp_01 ≥ 2 (homozygous)"),
                          ("snp_01 < 1", "snp_01 = 0 (non-carrier)"), ("snp_01 <= 1", "snp_01 ≤ 1"),
                          ("snp_01 == 1", "snp_01 = 1"), ("female == 1", "female = 1"), ("age >= 65", "age ≥ 65"),
                          ("smoking == never", "smoking = never")):  # fmt: skip
        parsed = parse_rule(written, trial)
        assert rule_text(parsed) == read, written
        np.testing.assert_array_equal(members(parsed, trial.features), trial.features.eval(written.replace("never", "'never'")))
    labelled = {"data": {"labels": {"BMI (kg/m2)": {"label": "Body-mass index"}}}}
    assert display_rule(rule_text(rule), labelled) == "`a and b` ≤ -0.58 and Body-mass index > 30 and age > 60"


def test_encoded_columns_are_written_as_the_rule_language_reads_them():
    """The max-T sentence named the strongest column by its encoded name ("the effect changes with grp=non")."""
    from subgroups.rule_language import column_text

    assert column_text("grp=non", "grp") == "grp = non"
    assert column_text("bmi (missing)", "bmi") == "bmi missing"
    assert column_text("age", "age") == "age"
    assert column_text("snp_01 ≥ 1 (carrier)", "snp_01") == "snp_01 ≥ 1 (carrier)"
    assert column_text("a and b=x", "a and b") == "`a and b` = x"


def test_the_max_t_sentence_names_a_level_as_a_rule(demo_analysis):
    import dataclasses

    tests = demo_analysis.tests
    assert "the effect changes with snp_01 ≥ 1 (carrier) (slope t" in tests.decision
    table = tests.max_t_columns.copy()
    table.loc[table.index[0], ["column", "feature"]] = ["smoking=former", "smoking"]
    assert "the effect changes with smoking = former (slope t" in dataclasses.replace(tests, max_t_columns=table).decision
