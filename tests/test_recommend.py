"""The recommendation as a structured decision (`subgroups.design.recommend`) and its reasons in words
(`subgroups.narrative.recommendation`): the rule that decided, the facts behind it, and one sentence per
finding."""

from __future__ import annotations

import dataclasses
import inspect
import json
import typing

import numpy as np
import pytest
from support import design_scenario_a

from subgroups import narrative
from subgroups.design import (
    DesignInputs,
    DesignSettings,
    Recommendation,
    RecommendationRule,
    plan_all_comers,
    plan_designs,
)
from subgroups.design.menu import FindingKind, RuleId
from subgroups.narrative.recommendation import REASONS, effect_words, recommendation_reasons
from subgroups.results import DesignDecision, design_section

UNCERTAIN = design_scenario_a()
QUALITATIVE = DesignInputs(
    outcome="continuous",
    prevalence=0.3,
    effect_subgroup=0.5,
    se_subgroup=0.1,
    effect_complement=-0.05,
    se_complement=0.07,
    effect_overall=0.115,
    se_overall=0.06,
    heterogeneity_detected=True,
    outcome_sd=1.0,
)


def _settings(**kwargs) -> DesignSettings:
    return DesignSettings(n_simulations=2000, **kwargs)


CASES = {
    "no_heterogeneity": (dataclasses.replace(UNCERTAIN, heterogeneity_detected=False), _settings()),
    "complement_no_benefit": (QUALITATIVE, _settings()),
    "all_comers_infeasible": (QUALITATIVE, _settings(max_n=1000)),
    "uncertain_adaptive": (UNCERTAIN, _settings(endpoint_delay=0.1)),
    "uncertain_stratified": (UNCERTAIN, _settings(endpoint_delay=0.5)),
    "best_value": (UNCERTAIN, _settings(endpoint_delay=0.5, max_n=700)),
    "small_heterogeneity": (
        dataclasses.replace(UNCERTAIN, effect_complement=0.25, effect_overall=0.31),
        _settings(rule=RecommendationRule(all_comers_min_probability=0.3)),
    ),
    "not_estimable": (dataclasses.replace(UNCERTAIN, estimation_counts=(("treated events in the subgroup", 9),)), _settings()),
}


@pytest.fixture(scope="module")
def menus():
    return {rule: plan_designs(inputs, settings, seed=1) for rule, (inputs, settings) in CASES.items()}


@pytest.mark.parametrize("rule", list(CASES))
def test_each_rule_is_named_by_the_decision_and_the_reasons_are_written_from_it(menus, rule):
    menu = menus[rule]
    decision = menu.decision
    assert isinstance(decision, Recommendation)
    assert decision.rule == rule
    assert decision.design == menu.recommended
    assert menu.reasons == recommendation_reasons(decision)
    assert len(menu.reasons) == len(decision.findings)
    # The decision is plain data: it serialises without NaN and without custom encoders.
    assert json.loads(json.dumps(decision.to_dict(), allow_nan=False))["rule"] == rule


def test_every_finding_kind_has_one_sentence_whose_parameters_are_its_facts(menus):
    kinds = {f.kind for menu in menus.values() for f in menu.decision.findings}
    assert kinds <= set(REASONS)
    for menu in menus.values():
        for finding in menu.decision.findings:
            parameters = set(inspect.signature(REASONS[finding.kind]).parameters)
            assert parameters == set(finding.facts), finding.kind


def test_facts_are_the_numbers_of_the_menu(menus):
    menu = menus["complement_no_benefit"]
    decisive = menu.decision.findings[0]
    assert decisive.kind == "complement_no_benefit"
    assert decisive.facts["p_relevant"] == menu.probability_complement_relevant
    assert decisive.facts["size"]["n_randomized"] == menu.option("enrichment").n_randomized
    assert decisive.facts["size"]["all_comers_n"] == menu.option("all_comers").n_randomized
    efficiency = menu.decision.finding("efficiency")
    assert efficiency.facts["ratio_randomized"] == menu.enrichment_ratio_randomized
    assert efficiency.facts["ratio_screened"] == menu.enrichment_ratio_screened
    assert menu.decision.finding("enrichment_guidance") is not None
    assert menu.reasons[1].startswith("Per the FDA enrichment guidance (2019)")


def test_the_best_value_reason_names_only_the_designs_the_rule_tried(menus):
    # A slow endpoint rules adaptive enrichment out before feasibility is looked at.
    menu = menus["best_value"]
    assert not menu.option("stratified").feasible
    assert "candidates" in menu.decision.findings[0].facts
    assert "the stratified design exceeds the feasible maximum" in menu.reasons[0]
    assert "adaptive" not in menu.reasons[0]


def test_a_rule_that_falls_back_to_an_infeasible_design_says_so():
    menu = plan_designs(UNCERTAIN, _settings(endpoint_delay=0.5, max_n=100))
    assert not menu.option(menu.recommended).feasible
    kinds = [f.kind for f in menu.decision.findings]
    assert kinds[kinds.index(menu.decision.rule) + 1] == "none_feasible"
    assert any(r.startswith("note: ") and "is not feasible either" in r for r in menu.reasons)


def test_all_comers_alone_is_a_decision_too():
    menu = plan_all_comers("continuous", 0.05, 0.08, _settings(max_n=1000), outcome_sd=1.0, why="no subgroup was found")
    assert (menu.decision.rule, menu.decision.design) == ("no_subgroup", "all_comers")
    assert [f.kind for f in menu.decision.findings] == ["no_subgroup", "exceeds_max_n"]
    assert menu.reasons[0].startswith("all-comers: no subgroup was found; the trial is sized from the overall effect: ")
    assert menu.reasons[1] == "note: this exceeds the feasible maximum of 1,000 randomized patients"


def test_not_estimable_names_the_thin_count_in_the_reason_and_the_notes(menus):
    menu = menus["not_estimable"]
    facts = menu.decision.findings[0].facts
    assert (facts["label"], facts["count"], facts["min_cell"]) == ("treated events in the subgroup", 9, 10)
    why = "only 9 treated events in the subgroup, fewer than min_cell = 10"
    assert why in menu.reasons[0]
    assert menu.option("enrichment").notes == f"not estimable: {why}"


def test_effect_words_in_sentences_and_in_table_cells():
    assert effect_words(np.log(0.7), "time_to_event") == "HR 0.70"
    assert effect_words(0.05, "binary") == "+5.0 percentage points"
    assert effect_words(0.05, "binary", compact=True) == "+5.0 points"
    assert effect_words(0.2534, "continuous") == "+0.25"
    assert effect_words(0.2534, "continuous", compact=True) == "+0.253"


@pytest.mark.parametrize(
    ("value", "missing", "shown"),
    [
        (1414, "", "1,414"),
        (1414.0, "", "1,414"),
        (np.int64(23), "", "23"),
        (np.float64(612.4), "n/a", "612"),
        (None, "", ""),
        (None, "n/a", "n/a"),
        (float("nan"), "", ""),
        ("<10", "", "<10"),
    ],
)
def test_one_count_formatter_for_tables_and_sentences(value, missing, shown):
    assert narrative.count_text(value, missing) == shown


def test_every_narrative_name_is_reexported():
    for name in narrative.__all__:
        assert getattr(narrative, name) is not None
    # The modules split from the former narrative.py, each reachable as before.
    assert narrative.table is narrative.text.table
    assert narrative.design_table is narrative.design_page.design_table


def test_the_rules_and_finding_kinds_are_one_vocabulary_with_the_narrative(menus):
    assert set(typing.get_args(FindingKind)) == set(REASONS)  # one sentence per kind, no kind without one
    assert set(typing.get_args(RuleId)) <= set(typing.get_args(FindingKind))  # a rule's decisive finding has its name
    assert set(CASES) <= set(typing.get_args(RuleId))
    for rule, menu in menus.items():
        assert menu.decision.finding(rule) is not None, rule


@pytest.mark.parametrize("rule", [*CASES, "no_subgroup"])
def test_the_decision_in_results_json_is_typed_and_the_reasons_come_back_from_it(menus, rule):
    menu = (
        menus[rule]
        if rule in menus
        else plan_all_comers("continuous", 0.05, 0.08, _settings(max_n=1000), outcome_sd=1.0, why="no subgroup was found")
    )
    stored = json.loads(json.dumps(design_section(menu, "snp_01 >= 1", "").to_dict(), allow_nan=False))
    decision = stored["decision"]
    assert DesignDecision.model_validate(decision).to_dict() == decision
    assert (decision["rule"], decision["design"]) == (menu.decision.rule, menu.recommended) == (rule, stored["recommended"])
    assert [f["kind"] for f in decision["findings"]] == [f.kind for f in menu.decision.findings]
    # The stored facts are enough to write every reason again, word for word.
    assert [REASONS[f["kind"]](**f["facts"]) for f in decision["findings"]] == stored["reasons"] == menu.reasons
