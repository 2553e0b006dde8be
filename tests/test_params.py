from __future__ import annotations

from pathlib import Path

import pytest
from support import ACTG_YAML, DEMO_YAML, demo_tree

from subgroups.design import DesignSettings
from subgroups.design.settings import TrialDesignParams as DesignTrialParams
from subgroups.errors import ParameterError
from subgroups.params import TrialDesignParams, load_params, parse_overrides, parse_yaml


def test_shipped_parameter_files_validate():
    demo = load_params(DEMO_YAML)
    assert demo.name == "demo"
    assert demo.data.simulation.n == 2000 and demo.data.simulation.scenario == "PM-SNP"
    assert demo.data.treatment.treated == "drug" and demo.data.treatment.control == "placebo"
    actg = load_params(ACTG_YAML)
    assert actg.data.treatment.treated == "ZDV+ddI" and actg.data.outcome.column == "cd420"


def test_misspelled_key_names_key_and_closest_valid_one():
    tree = demo_tree()
    tree["estimation"]["sed"] = 3
    with pytest.raises(ParameterError) as info:
        load_params(tree)
    message = str(info.value)
    assert "estimation.sed" in message and "did you mean 'estimation.seed'" in message
    assert "\n" not in message


def test_misspelled_section_is_an_error():
    tree = demo_tree()
    tree["estimaton"] = tree.pop("estimation")
    with pytest.raises(ParameterError, match="did you mean 'estimation'"):
        load_params(tree)


def test_yaml_traps_exponent_is_number_and_no_is_text():
    parsed = parse_yaml("a: 1e-3\nb: no\nc: yes\nd: true\ne: 2.5E+2\nf: off\n")
    assert parsed == {"a": 0.001, "b": "no", "c": "yes", "d": True, "e": 250.0, "f": "off"}


def test_control_label_no_stays_text(tmp_path: Path):
    text = DEMO_YAML.read_text().replace("treated: drug, control: placebo", "treated: yes, control: no")
    path = tmp_path / "p.yaml"
    path.write_text(text)
    params = load_params(path)
    assert params.data.treatment.treated == "yes" and params.data.treatment.control == "no"


def test_overrides_from_command_line_strings():
    params = load_params(DEMO_YAML, ["estimation.seed=3", "subgroups.alpha=1e-2", "report.title=hello world"])
    assert params.estimation.seed == 3
    assert params.subgroups.alpha == pytest.approx(0.01)
    assert params.report.title == "hello world"


def test_override_with_unknown_key_is_an_error():
    with pytest.raises(ParameterError, match="unknown key 'estimation.seeed'"):
        load_params(DEMO_YAML, {"estimation.seeed": 3})


@pytest.mark.parametrize("bad", ["estimation.seed", "=3", "estimation"])
def test_malformed_override(bad):
    if bad == "estimation.seed":
        assert parse_overrides([bad + "=4"]) == {"estimation.seed": 4}
        return
    with pytest.raises(ParameterError):
        parse_overrides([bad])


def test_invalid_values_are_one_line_errors():
    tree = demo_tree()
    tree["estimation"]["folds"] = 1
    with pytest.raises(ParameterError, match="estimation.folds"):
        load_params(tree)
    tree = demo_tree()
    tree["estimation"]["n_estimators"] = 101
    with pytest.raises(ParameterError, match="multiple of 4"):
        load_params(tree)
    tree = demo_tree()
    tree["data"]["treatment"]["control"] = "drug"
    with pytest.raises(ParameterError, match="two different arms"):
        load_params(tree)
    tree = demo_tree()
    tree["report"]["min_cell"] = 3  # a cell of 3 could describe one or two patients: disclosure control needs a floor
    with pytest.raises(ParameterError, match=r"'report.min_cell': must be at least 5: .* \(got 3\)$"):
        load_params(tree)
    tree["report"]["min_cell"] = 5
    tree["subgroups"] = {**tree.get("subgroups", {}), "min_size": 5}
    assert load_params(tree).report.min_cell == 5


def test_time_to_event_needs_time_and_event():
    tree = demo_tree()
    tree["data"]["outcome"] = {"type": "time_to_event", "time": "time"}
    with pytest.raises(ParameterError, match="'time' and 'event'"):
        load_params(tree)
    # An event that is good (time to recovery) would turn the hazard-scale tests and designs the wrong way round.
    tree["data"]["outcome"] = {"type": "time_to_event", "time": "time", "event": "event", "higher_is_better": False}
    with pytest.raises(ParameterError, match="higher_is_better: false is not supported for a time_to_event outcome"):
        load_params(tree)
    tree["data"]["outcome"]["higher_is_better"] = True
    assert load_params(tree).data.outcome.higher_is_better


def test_bad_yaml_and_missing_file(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(ParameterError, match="not valid YAML"):
        load_params(path)
    with pytest.raises(ParameterError, match="not found"):
        load_params(tmp_path / "absent.yaml")
    with pytest.raises(ParameterError, match=r"\.yaml or \.yml"):
        load_params(tmp_path / "params.json")


# --- injection and YAML (issue 14.2, 14.4) ---

BILLION_LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{b}: &{b} [{','.join([f'*{a}'] * 9)}]" for a, b in zip("abcdefgh", "bcdefghi")]
)  # 9 levels of 9 aliases: 9**9 ≈ 387 million strings once expanded


def test_alias_bomb_fails_fast_in_one_line_without_memory(tmp_path: Path):
    import time
    import tracemalloc

    path = tmp_path / "bomb.yaml"
    path.write_text(BILLION_LAUGHS + "\n")
    assert len(BILLION_LAUGHS) < 500
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(ParameterError) as caught:
        load_params(path)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert elapsed < 0.5 and peak < 20e6, (elapsed, peak)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path} line ") and "expand this file to more than 100,000" in message


def test_aliases_that_stay_small_and_merge_keys_still_work():
    tree = parse_yaml("base: &b {seed: 3, folds: 4}\nestimation:\n  <<: *b\n  seed: 5\nagain: *b\n")
    assert tree == {"base": {"seed": 3, "folds": 4}, "estimation": {"seed": 5, "folds": 4}, "again": {"seed": 3, "folds": 4}}
    with pytest.raises(ParameterError, match=r"^parameters line 2: an alias refers to a value that contains it"):
        parse_yaml("name: x\ndata: &d {copy: *d}\n")
    with pytest.raises(ParameterError, match="nested too deeply"):
        parse_yaml("[" * 600 + "]" * 600)


def test_duplicate_keys_are_errors_naming_key_and_line():
    text = "name: x\nestimation:\n  seed: 1\n  folds: 3\n  seed: 2\n"
    with pytest.raises(ParameterError, match=r"^p.yaml line 5: duplicate key 'seed' \(first given on line 3\); keep only one$"):
        parse_yaml(text, where="p.yaml")
    with pytest.raises(ParameterError, match=r"line 3: duplicate key 'name'"):
        parse_yaml("name: x\ndata: {}\nname: y\n")
    assert parse_yaml("a: {seed: 1}\nb: {seed: 1}\n") == {"a": {"seed": 1}, "b": {"seed": 1}}  # same key, other mapping


def test_the_trial_design_section_is_the_designs_settings_model():
    # One model: the YAML section is the first part of DesignSettings, each setting declared once.
    assert TrialDesignParams is DesignTrialParams and issubclass(DesignSettings, TrialDesignParams)
    for name, field in TrialDesignParams.model_fields.items():
        assert DesignSettings.model_fields[name].metadata == field.metadata, name
        assert DesignSettings.model_fields[name].default == field.default, name
    run = load_params(demo_tree(), {"trial_design.allocation_ratio": 10, "trial_design.max_n": 10})
    settings = DesignSettings(**run.trial_design.model_dump(), min_cell=run.report.min_cell)
    assert (
        settings.allocation_ratio == 10
        and settings.max_n == 10
        and settings.model_dump(include=set(TrialDesignParams.model_fields)) == run.trial_design.model_dump()
    )


@pytest.mark.parametrize(
    "values, bound",
    [
        ({"allocation_ratio": 11}, "less than or equal to 10"),
        ({"allocation_ratio": 0}, "greater than 0"),
        ({"alpha": 0.5}, "less than 0.5"),
        ({"power": 1.0}, "less than 1"),
        ({"assay_sensitivity": 1.01}, "less than or equal to 1"),
        ({"cost_per_randomized": -1}, "greater than or equal to 0"),
        ({"max_n": 9}, "greater than or equal to 10"),
        ({"interim_fraction": 1.0}, "less than 1"),
        ({"n_simulations": 999}, "greater than or equal to 1000"),
        ({"n_simulations": 2_000_001}, "less than or equal to 2000000"),
        ({"cost_per_screened": float("inf")}, "finite number"),
        ({"assay_sensitivity": 0.4, "assay_specificity": 0.5}, "carries no information"),
        ({"cost_per_screened": 0, "cost_per_randomized": 0}, "both 0"),
    ],
)
def test_a_value_the_yaml_refuses_the_design_refuses_too(values, bound):
    key = next(iter(values))
    with pytest.raises(ParameterError) as from_yaml:
        load_params(demo_tree(), {f"trial_design.{k}": v for k, v in values.items()})
    with pytest.raises(ParameterError) as from_design:
        DesignSettings(**values)
    for message in (str(from_yaml.value), str(from_design.value)):
        assert "\n" not in message and key in message and bound in message, message
    if len(values) == 1:  # a bound of one setting names it with its place in the file
        assert f"'trial_design.{key}'" in str(from_yaml.value)
        assert str(from_design.value).startswith(f"{key}=")


@pytest.mark.parametrize(
    "values",
    [
        {"allocation_ratio": 10},
        {"alpha": 0.49, "power": 0.99},
        {"assay_sensitivity": 1.0, "assay_specificity": 0.5},
        {"cost_per_screened": 0},
        {"max_n": 10, "n_simulations": 1000},
        {"n_simulations": 2_000_000},
    ],
)
def test_a_value_the_yaml_accepts_the_design_accepts_too(values):
    run = load_params(demo_tree(), {f"trial_design.{k}": v for k, v in values.items()})
    settings = DesignSettings(**run.trial_design.model_dump())
    assert {k: getattr(settings, k) for k in values} == values


def test_an_unknown_design_setting_is_one_line_naming_it():
    with pytest.raises(ParameterError, match=r"^unknown setting 'alocation_ratio' \(valid: alpha, power, allocation_ratio, "):
        DesignSettings(alocation_ratio=2)
    with pytest.raises(ParameterError, match="did you mean 'trial_design.allocation_ratio'"):
        load_params(demo_tree(), {"trial_design.alocation_ratio": 2})


@pytest.mark.parametrize(("written", "read"), [("  ", None), ("", None), (" Phase II\n  trial ", "Phase II trial"), (None, None)])
def test_a_blank_report_title_falls_back_to_the_run_name(written, read):
    """A title of spaces headed every page with nothing (the run's name is used only when there is no title)."""
    tree = demo_tree()
    tree["report"]["title"] = written
    assert load_params(tree).report.title == read
