"""The rule language: conditions in original units, parsing, rounding of cut-points."""

from __future__ import annotations

from subgroups.rule_language import Condition


def test_rule_text_in_original_units():
    assert Condition("snp_01", "gt", 0.5, integer=True, genetic=True).text == "snp_01 ≥ 1 (carrier)"
    assert Condition("snp_01", "le", 0.5, integer=True, genetic=True).text == "snp_01 = 0 (non-carrier)"
    assert Condition("smoking", "in", ("former", "never")).text == "smoking in {former, never}"
    assert Condition("severity", "gt", 49.5).text == "severity > 49.5"
