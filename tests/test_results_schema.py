"""results.json against its typed sections (`subgroups.results`) and the committed JSON Schema."""

from __future__ import annotations

import copy
import json

import pytest
from pydantic import ValidationError

from subgroups import results as results_module
from subgroups.narrative.recommendation import REASONS
from subgroups.privacy import TOO_SMALL, count_text, count_value, too_small_record
from subgroups.results import (
    SCHEMA_VERSION,
    SubgroupsSection,
    TooSmallRecord,
    committed_schema,
    design_section,
    json_ready,
    read_results,
    results_schema,
)

REGENERATE = "python -m subgroups.schema --write-schema"


@pytest.fixture(scope="module")
def validator():
    jsonschema = pytest.importorskip(
        "jsonschema", reason="jsonschema is not installed (it comes with nbformat, the [report] extra)"
    )
    schema = committed_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors(validator, results: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(results)]


def test_the_committed_schema_is_the_one_the_models_generate():
    generated = results_schema()
    assert committed_schema() == generated, (
        f"src/subgroups/schema/results.schema.json differs from the schema the models of subgroups.results generate; "
        f"regenerate it with `{REGENERATE}` (and raise SCHEMA_VERSION if old readers could misread the new shape)"
    )
    assert generated["properties"]["schema_version"]["const"] == SCHEMA_VERSION


def test_the_demo_results_validate_against_the_committed_schema(demo_analysis, validator):
    results = json.loads(json.dumps(demo_analysis.results, allow_nan=False))  # exactly what results.json holds
    assert errors(validator, results) == []
    # The typed sections read the same dictionary back, key for key.
    assert read_results(results).to_dict() == results
    assert list(read_results(results).to_dict()) == list(results)


def test_the_demo_design_carries_the_menus_decision(demo_analysis, validator):
    design, menu = demo_analysis.results["design"], demo_analysis.design
    assert menu is not None and menu.decision is not None
    decision = design["decision"]
    assert decision["rule"] == menu.decision.rule
    assert decision["design"] == design["recommended"] == menu.recommended
    assert decision == json_ready(menu.decision.to_dict())  # rule, design, and each finding with its facts
    # The reasons results.json shows are those its decision says, one per finding.
    assert [REASONS[f["kind"]](**f["facts"]) for f in decision["findings"]] == design["reasons"]


def test_results_without_a_design_validate(demo_analysis, validator):
    results = copy.deepcopy(demo_analysis.results)
    results["design"] = design_section(None, None, "No design planned: no events in one arm overall").to_dict()
    assert results["design"] == {
        "subgroup": None,
        "note": "No design planned: no events in one arm overall",
        "status": results_module.DESIGN_STATUS,
        "curves": None,
    }
    assert errors(validator, results) == []


def test_a_hypothesis_too_small_to_report_keeps_only_that_it_exists(demo_analysis, validator):
    first = demo_analysis.results["subgroups"]["candidates"][0]
    hidden = too_small_record(first, "fewer than 10 patients in an arm")
    assert TooSmallRecord.model_validate(hidden).to_dict() == hidden
    results = copy.deepcopy(demo_analysis.results)
    results["subgroups"]["too_small"]["candidates"] = [hidden]
    assert errors(validator, results) == []
    # A too-small record that names its rule, or a reported record without numbers, does not fit.
    with pytest.raises(ValidationError, match="too small to report"):
        TooSmallRecord.model_validate({**hidden, "rule": first["rule"]})
    with pytest.raises(ValidationError):
        SubgroupsSection.model_validate({**results["subgroups"], "candidates": [hidden]})
    assert hidden["rule"] == TOO_SMALL


@pytest.mark.parametrize(
    "where, value, fits",
    [
        (("data", "n_treated"), {"value": None, "suppressed": True, "shown": "<10"}, True),  # hidden small count
        (("data", "n_control"), {"value": None, "suppressed": True, "shown": "suppressed"}, True),  # complementary
        (("data", "n_treated"), "<10", False),  # schema 1's bare text: a record now
        (("data", "n_treated"), 1000, False),  # schema 1's bare number
        (("data", "n_treated"), {"value": -3, "suppressed": False, "shown": "-3"}, False),
        (("data", "n_treated"), {"value": 999.5, "suppressed": False, "shown": "1,000"}, False),
        (("data", "n_treated"), {"value": True, "suppressed": False, "shown": "True"}, False),
        (("ate", "estimate"), "0.17", False),
        (("ate", "estimate"), None, True),  # a statistic that is not finite is null
        (("ate", "status"), "maybe", False),
        (("schema_version",), SCHEMA_VERSION + 1, False),
        (("design", "decision", "rule"), "gut_feeling", False),  # not a rule of the recommendation
        (("design", "decision", "findings", 0, "kind"), "hunch", False),
        (("design", "decision", "findings", 0, "facts", "extra"), 1.5, True),  # facts differ by kind: any name
        (("design", "decision", "findings", 0, "facts", "extra"), {"nested": {"too": "deep"}}, False),
        (("design", "decision", "findings", 0, "facts", "extra"), [1, {"mixed": 2}], False),
        (("design", "decision", "findings", 0, "facts"), ["not", "a", "record"], False),
        (("design", "decision"), None, True),  # a menu built without its decision
    ],
)
def test_values_of_the_wrong_type_fail_validation(demo_analysis, validator, where, value, fits):
    results = copy.deepcopy(demo_analysis.results)
    node = results
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    assert (errors(validator, results) == []) is fits, errors(validator, results)
    if fits:
        read_results(results)
    else:
        with pytest.raises(ValidationError):
            read_results(results)


@pytest.mark.parametrize(
    "record",
    [
        {"value": 1000, "suppressed": False, "shown": "1000"},  # the pages print "1,000"
        {"value": 12, "suppressed": True, "shown": "<10"},  # hidden, yet given
        {"value": None, "suppressed": False, "shown": ""},  # neither shown nor hidden
        {"value": None, "suppressed": True, "shown": "12"},  # a hidden count's text gives it away
    ],
)
def test_a_count_record_that_contradicts_itself_is_refused(demo_analysis, record):
    """What the JSON Schema cannot say (the three fields agree) the typed sections check."""
    results = copy.deepcopy(demo_analysis.results)
    results["data"]["n_treated"] = record
    with pytest.raises(ValidationError, match="count"):
        read_results(results)


def test_unknown_and_missing_keys_fail_validation(demo_analysis, validator):
    extra = copy.deepcopy(demo_analysis.results)
    extra["ate"]["estimate_raw"] = 0.1
    assert any("estimate_raw" in e for e in errors(validator, extra))
    with pytest.raises(ValidationError, match="estimate_raw"):
        read_results(extra)
    extra = copy.deepcopy(demo_analysis.results)
    extra["surprise"] = {}
    assert errors(validator, extra)
    missing = copy.deepcopy(demo_analysis.results)
    del missing["subgroups"]["candidates"][0]["n_control"]
    assert any("n_control" in e for e in errors(validator, missing))
    with pytest.raises(ValidationError, match="n_control"):
        read_results(missing)
    # Free-form parts stay free: a new parameter section does not break the schema.
    free = copy.deepcopy(demo_analysis.results)
    free["params"]["new_section"] = {"anything": [1, "two"]}
    assert errors(validator, free) == []


def test_count_value_is_the_integer_or_none():
    assert [count_value(v) for v in (0, 12, "<10", "suppressed", None, True)] == [0, 12, None, None, None, None]
    shown = {"value": 1054, "suppressed": False, "shown": "1,054"}
    hidden = {"value": None, "suppressed": True, "shown": "<10"}
    assert [count_value(shown), count_value(hidden)] == [1054, None]
    assert [count_text(shown), count_text(hidden), count_text(1054), count_text("suppressed")] == [
        "1,054",
        "<10",
        "1,054",
        "suppressed",
    ]


def test_counts_in_results_json_are_integers_with_a_separate_suppressed_flag(demo_analysis, validator):
    data = demo_analysis.results["data"]
    n = data["n"]
    assert n == {"value": n["value"], "suppressed": False, "shown": f"{n['value']:,}"} and isinstance(n["value"], int)
    assert count_value(data["n_treated"]) + count_value(data["n_control"]) == n["value"]
    for c in demo_analysis.results["subgroups"]["candidates"]:
        assert isinstance(c["n_treated"]["value"], int) and c["n_treated"]["suppressed"] is False
    # Built from the analysis's own forms, a small count is hidden: no value, the flag, the text the pages print.
    section = results_module._computed(results_module.DataSection, {**data, "n_treated": "<10", "n_control": "suppressed"})
    assert section.n_treated.to_dict() == {"value": None, "suppressed": True, "shown": "<10"}
    assert section.n_control.to_dict() == {"value": None, "suppressed": True, "shown": "suppressed"}


def test_the_schema_command_prints_and_writes_the_schema(tmp_path, capsys):
    results_module.main([])
    assert json.loads(capsys.readouterr().out) == results_schema()
    target = tmp_path / "schema.json"
    results_module.main(["--write-schema", str(target)])
    assert capsys.readouterr().out.strip() == str(target)
    assert json.loads(target.read_text(encoding="utf-8")) == results_schema()
