"""CDISC ADaM input (`subgroups.adam`) and the built-in CDISC pilot study."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
import yaml
from support import FAST, ROOT

from subgroups.adam import read_adam
from subgroups.data import load_trial
from subgroups.datasets import cdiscpilot
from subgroups.errors import DataError, ParameterError
from subgroups.params import load_params

PILOT_YAML = ROOT / "params" / "cdiscpilot.yaml"
DERM_YAML = ROOT / "params" / "cdiscpilot_derm.yaml"
HIGH, PLACEBO = "Xanomeline High Dose", "Placebo"


def pilot(name: str) -> pd.DataFrame:
    frame, _ = pyreadstat.read_xport(str(cdiscpilot.folder() / name))
    return frame


# --- small ADaM-shaped transport files -----------------------------------------------------------


def _subjects(n: int = 24) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "STUDYID": "S1",
            "USUBJID": [f"S1-{i:03d}" for i in range(n)],
            "SUBJID": [f"{i:03d}" for i in range(n)],
            "SITEID": ["01", "02"] * (n // 2),
            "TRT01P": ["Drug", "Placebo"] * (n // 2),
            "ITTFL": ["Y"] * (n - 2) + ["N", "N"],
            "AGE": rng.integers(50, 85, n).astype(float),
            "SEX": ["F", "M", "M", "F"] * (n // 4),
            "TRTSDT": [datetime.date(2020, 1, 1) + datetime.timedelta(days=i) for i in range(n)],
        }
    )


def write_adam(folder: Path, adsl: pd.DataFrame, bds: pd.DataFrame, name: str = "adtte.xpt") -> tuple[Path, Path]:
    labels = {"USUBJID": "Unique Subject Identifier", "AGE": "Age in Years", "SEX": "Sex", "TRT01P": "Planned Treatment"}
    adsl_path, bds_path = folder / "adsl.xpt", folder / name
    pyreadstat.write_xport(adsl, str(adsl_path), table_name="ADSL", column_labels=[labels.get(c, c) for c in adsl.columns])
    pyreadstat.write_xport(bds, str(bds_path), table_name="BDS", file_format_version=5)
    return adsl_path, bds_path


def spec(adsl: Path, bds: Path, outcome: dict | None = None, **adam) -> dict:
    return {
        "name": "adam",
        "data": {
            "adam": {"adsl": str(adsl), "bds": str(bds), "paramcd": "TTE", "population": "ITTFL", **adam},
            "treatment": {"treated": "Drug", "control": "Placebo"},
            "outcome": outcome or {"type": "time_to_event"},
            "features": {"other": ["AGE", "SEX"]},
        },
    }


@pytest.fixture
def tte_files(tmp_path: Path) -> tuple[Path, Path]:
    adsl = _subjects()
    cnsr = np.tile([0.0, 1.0, 2.0], len(adsl) // 3)
    bds = pd.DataFrame(
        {
            "USUBJID": adsl["USUBJID"],
            "PARAMCD": "TTE",
            "PARAM": "Time to First Rash",
            "AVAL": np.arange(1, len(adsl) + 1, dtype=float) * 3,
            "CNSR": cnsr,
        }
    )
    return write_adam(tmp_path, adsl, bds)


def test_cnsr_zero_is_the_event_and_every_positive_cnsr_is_censored(tte_files):
    table = read_adam(load_params(spec(*tte_files)).data)
    raw = pd.DataFrame({"USUBJID": _subjects()["USUBJID"], "CNSR": np.tile([0.0, 1.0, 2.0], 8)}).iloc[:22]  # ITTFL = Y
    merged = table.frame.merge(raw, on="USUBJID")
    assert len(merged) == 22
    assert (merged.loc[merged["CNSR"] == 0, "EVENT"] == 1).all()
    assert (merged.loc[merged["CNSR"] >= 1, "EVENT"] == 0).all()  # CNSR = 1 and CNSR = 2: censored
    trial = load_trial(spec(*tte_files))
    assert int(trial.event.sum()) == 8 and trial.n == 22  # 8 subjects with CNSR = 0 among the 22 in ITTFL
    assert "CNSR" not in trial.features.columns and "CNSR" not in table.frame.columns


def test_avalu_declares_the_time_unit_unless_it_contradicts_the_parameters(tmp_path: Path):
    adsl = _subjects()
    bds = pd.DataFrame({"USUBJID": adsl["USUBJID"], "PARAMCD": "TTE", "PARAM": "Time to First Rash",
                        "AVAL": np.arange(1, 25, dtype=float), "CNSR": np.tile([0.0, 1.0, 2.0], 8), "AVALU": "WEEKS"})  # fmt: skip
    files = write_adam(tmp_path, adsl, bds)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "time unit not declared" warning: AVALU declares it
        trial = load_trial(spec(*files))
    assert trial.spec.outcome.unit_of_time == "weeks" and trial.notes == ()
    declared = load_trial(spec(*files, outcome={"type": "time_to_event", "time_unit": "weeks"}))
    assert declared.spec.outcome.time_unit == "weeks"
    with pytest.raises(DataError, match="AVALU of parameter TTE says WEEKS but data.outcome.time_unit is days"):
        load_trial(spec(*files, outcome={"type": "time_to_event", "time_unit": "days"}))
    mixed = write_adam(tmp_path, adsl, bds.assign(AVALU=["DAYS", "MONTHS"] * 12), name="mixed.xpt")
    with pytest.raises(DataError, match=r"AVALU of parameter TTE holds several units \(DAYS, MONTHS\)"):
        load_trial(spec(*mixed))
    hours = write_adam(tmp_path, adsl, bds.assign(AVALU="HOURS"), name="hours.xpt")
    with pytest.raises(DataError, match="AVALU of parameter TTE is 'HOURS', not a unit the suite reads"):
        load_trial(spec(*hours))
    assert load_trial(spec(*hours, outcome={"type": "time_to_event", "time_unit": "days"})).spec.outcome.time_unit == "days"


def test_avalu_of_a_continuous_parameter_is_the_outcome_s_unit(tmp_path: Path):
    from subgroups.narrative.text import effect_unit

    adsl = _subjects()
    bds = pd.DataFrame({"USUBJID": adsl["USUBJID"], "PARAMCD": "TTE", "PARAM": "LDL cholesterol",
                        "AVAL": np.linspace(90, 160, 24), "AVALU": "mg/dL"})  # fmt: skip
    files = write_adam(tmp_path, adsl, bds)
    trial = load_trial(spec(*files, outcome={"type": "continuous"}))
    assert trial.units == {"AVAL": "mg/dL"}
    results = {"ate": {"unit": None}, "data": {"labels": {"AVAL": {"label": "LDL", "unit": "mg/dL"}}},
               "params": {"data": {"outcome": {"column": "AVAL"}, "labels": {}}}}  # fmt: skip
    assert effect_unit(results) == "mg/dL"
    declared = spec(*files, outcome={"type": "continuous"})
    declared["data"]["labels"] = {"AVAL": {"label": "LDL cholesterol", "unit": "mmol/L"}}  # the analyst's word wins
    assert load_trial(declared).units == {"AVAL": "mmol/L"}


def test_cnsr_given_as_the_event_column_is_refused(tte_files):
    with pytest.raises(ParameterError, match=r"outcome.event is CNSR, ADaM's censoring flag \(CNSR = 0 is the event\)"):
        load_params(spec(*tte_files, outcome={"type": "time_to_event", "time": "AVAL", "event": "CNSR"}))


def test_a_time_to_event_parameter_analysed_as_continuous_is_refused(tte_files):
    with pytest.raises(DataError, match="has CNSR values, so AVAL is a time to event"):
        load_trial(spec(*tte_files, outcome={"type": "continuous"}))


def test_bad_cnsr_values_are_one_line(tmp_path: Path):
    adsl = _subjects()
    bds = pd.DataFrame({"USUBJID": adsl["USUBJID"], "PARAMCD": "TTE", "AVAL": 5.0, "CNSR": np.tile([0.0, -1.0], 12)})
    with pytest.raises(DataError, match=r"CNSR of parameter TTE must be 0 \(event\) or a positive whole number"):
        load_trial(spec(*write_adam(tmp_path, adsl, bds)))


def test_labels_from_the_transport_file_and_identifiers_and_dates_kept_out(tte_files):
    table = read_adam(load_params(spec(*tte_files)).data)
    assert table.labels["AGE"] == "Age in Years" and table.labels["AVAL"] == "Time to First Rash"
    assert table.labels["EVENT"] == "Time to First Rash: event (CNSR = 0)"
    assert not {"STUDYID", "SUBJID", "SITEID", "TRTSDT"} & set(table.frame.columns)
    assert list(table.frame["USUBJID"]) == list(_subjects()["USUBJID"][:22])
    assert "population ITTFL = Y (22 of 24 subjects)" in table.source
    with_site = spec(*tte_files)
    with_site["data"]["features"]["other"].append("SITEID")  # a feature only when asked
    assert "SITEID" in load_trial(with_site).features.columns
    for name, why in (("TRTSDT", "is an ADaM date variable"), ("SUBJID", "identifies subjects in ADaM")):
        tree = spec(*tte_files)
        tree["data"]["features"]["other"].append(name)
        with pytest.raises(DataError, match=why):
            load_trial(tree)
    everything = spec(*tte_files)
    everything["data"]["features"] = {"other": ["*"]}  # a pattern never reaches identifiers or dates
    assert set(load_trial(everything).features.columns) == {"AGE", "SEX"}  # not the population flag (Y for all) either


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"paramcd": "OS"}, "data.adam.paramcd 'OS' is not a PARAMCD of adtte.xpt; parameters there: TTE"),
        ({"population": "EFFFL"}, "data.adam.population 'EFFFL' is not a variable of adsl.xpt; population flags there: ITTFL"),
        ({"visit": "Week 4"}, "data.adam.visit is set but adtte.xpt has no AVISIT column"),
        ({"record_flag": "ANL01FL"}, "data.adam.record_flag 'ANL01FL' is not a variable of adtte.xpt"),
        ({"treatment": "TRTP"}, "data.adam.treatment 'TRTP' is a variable of neither adsl.xpt nor adtte.xpt"),
        ({"bds": "missing.xpt"}, "data.adam.bds missing.xpt: file not found"),
        ({"bds": "adtte.csv"}, "ADaM datasets are read from SAS files"),
    ],
)
def test_adam_mistakes_are_one_line(tte_files, change, expected):
    tree = spec(*tte_files)
    tree["data"]["adam"].update(change)
    with pytest.raises(DataError) as info:
        load_trial(tree)
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_parameter_rules_of_data_adam(tte_files):
    tree = spec(*tte_files)
    assert load_params(tree).data.treatment.column == "TRT01P" and load_params(tree).data.id_column == "USUBJID"
    for edit, message in (
        (lambda d: d.update(source="trial.csv"), "source 'trial.csv' and adam are both given"),
        (lambda d: d.update(features={}), "data.adam needs data.features"),
        (lambda d: d["treatment"].update(column="ARM"), "treatment.column 'ARM' differs from adam.treatment 'TRT01P'"),
        (lambda d: d["adam"].update(population="IT TFL"), "data.adam.population"),
    ):
        bad = spec(*tte_files)
        edit(bad["data"])
        with pytest.raises(ParameterError, match=message):
            load_params(bad)


def test_relative_adam_paths_are_read_beside_the_parameter_file_and_made_absolute_for_the_run(tte_files, tmp_path):
    from subgroups import runner

    tree = spec(Path("adsl.xpt"), Path("adtte.xpt"))
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(tree))
    run = load_params(path)
    assert load_trial(run).n == 22
    resolved = runner._resolved_params(run)["data"]["adam"]
    assert resolved["adsl"] == str(tte_files[0].resolve()) and resolved["bds"] == str(tte_files[1].resolve())


# --- the built-in CDISC pilot study --------------------------------------------------------------


def test_more_than_one_record_per_subject_is_refused_naming_the_count_and_the_filter():
    tree = yaml.safe_load(PILOT_YAML.read_text())
    del tree["data"]["adam"]["visit"], tree["data"]["adam"]["record_flag"]
    with pytest.raises(DataError) as info:
        load_trial(tree)
    records = pilot("adqscibc.xpt").groupby("USUBJID").size()  # every subject is in ITTFL
    assert f"adqscibc.xpt: {(records > 1).sum()} subject(s) have more than one record after filtering" in str(info.value)
    assert f"up to {records.max()} records each" in str(info.value) and (records > 1).sum() == 236
    assert "set data.adam.visit" in str(info.value)
    tree["data"]["adam"]["visit"] = "Week 24"  # 3 subjects have a second, non-analysis week-24 record
    with pytest.raises(DataError, match=r"3 subject\(s\) have more than one record .*set data.adam.record_flag \(e.g. ANL01FL\)"):
        load_trial(tree)


def test_cibic_week_24_equals_a_hand_written_merge_and_reproduces_the_arm_means():
    trial = load_trial(PILOT_YAML)
    adsl, q = pilot("adsl.xpt"), pilot("adqscibc.xpt")
    records = q[(q["PARAMCD"] == "CIBICVAL") & (q["AVISIT"] == "Week 24") & (q["ANL01FL"] == "Y")]
    expected = adsl[(adsl["ITTFL"] == "Y") & adsl["TRT01P"].isin([HIGH, PLACEBO])].merge(
        records[["USUBJID", "AVAL"]], on="USUBJID", how="left"
    )
    expected = expected[expected["AVAL"].notna()].reset_index(drop=True)
    assert trial.n == len(expected) == 155 and trial.dropped == {"other arms": 84, "missing outcome": 15}
    np.testing.assert_array_equal(trial.outcome, expected["AVAL"].to_numpy())
    np.testing.assert_array_equal(trial.treatment, (expected["TRT01P"] == HIGH).astype(int).to_numpy())
    pd.testing.assert_frame_equal(trial.features, expected[list(trial.features.columns)], check_dtype=False)
    # Arm means at week 24 (CIBIC+, 1-7, lower is better): no clear difference.
    assert trial.outcome[trial.treatment == 0].mean() == pytest.approx(4.2875) and (trial.treatment == 0).sum() == 80
    assert trial.outcome[trial.treatment == 1].mean() == pytest.approx(4.32) and (trial.treatment == 1).sum() == 75
    assert "parameter CIBICVAL (CIBIC Score); population ITTFL = Y (254 of 254 subjects); visit Week 24" in trial.source


def test_dermatologic_events_hazard_ratio_and_kaplan_meier_reproduce_the_records():
    from lifelines import KaplanMeierFitter

    from subgroups.outcomes import hazard_ratio, km_survival

    trial = load_trial(DERM_YAML)
    treated, control = trial.treatment == 1, trial.treatment == 0
    assert (int(trial.event[treated].sum()), int(treated.sum())) == (61, 84)
    assert (int(trial.event[control].sum()), int(control.sum())) == (29, 86)
    hr = hazard_ratio(trial.outcome, trial.event, trial.treatment)
    assert hr["estimate"] == pytest.approx(4.92, abs=0.005)
    assert (hr["ci_low"], hr["ci_high"]) == pytest.approx((3.08, 7.85), abs=0.005)
    # Against lifelines on the raw ADTTE records with the event coded by hand (CNSR = 0).
    tte = pilot("adtte.xpt")
    for arm, mask in ((HIGH, treated), (PLACEBO, control)):
        rows = tte[tte["TRTP"] == arm]
        km = KaplanMeierFitter().fit(rows["AVAL"], rows["CNSR"] == 0)
        for day in (7, 30, 90, 180):
            assert km_survival(trial.outcome[mask], trial.event[mask], day) == pytest.approx(km.predict(day), abs=1e-12)


def test_adam_labels_reach_the_audit_table():
    from subgroups.audit import audit_trial

    schema = audit_trial(load_trial(PILOT_YAML)).schema.set_index("feature")
    assert schema.loc["MMSETOT", "label"] == "MMSE Total" and schema.loc["AGE", "label"] == "Age"
    assert schema.loc["BMIBL", "label"] == "Baseline BMI (kg/m^2)"


def test_the_builtin_ships_its_files_and_license():
    folder = cdiscpilot.folder()
    assert "Permission is hereby granted, free of charge" in (folder / "LICENSE.md").read_text()
    assert "11b416b7b379f6094caccbc1f9069713033500c4" in (folder / "README.md").read_text()
    assert {p.name for p in folder.glob("*.xpt")} == set(cdiscpilot.FILES)
    tree = yaml.safe_load(PILOT_YAML.read_text())
    del tree["data"]["adam"]
    tree["data"]["treatment"]["column"], tree["data"]["outcome"]["column"] = "TRT01P", "AVAL"
    with pytest.raises(DataError, match="builtin:cdiscpilot is a set of CDISC ADaM datasets; add data.adam"):
        load_trial(tree)


@pytest.mark.slow
def test_dermatologic_event_analysis_runs_end_to_end(tmp_path: Path):
    tree = yaml.safe_load(DERM_YAML.read_text())
    tree["estimation"] = {**tree["estimation"], **FAST["estimation"]}
    params = tmp_path / "derm.yaml"
    params.write_text(yaml.safe_dump(tree, sort_keys=False))
    result = subprocess.run(
        [sys.executable, "-m", "subgroups.cli", "run", str(params), "-o", str(tmp_path / "runs")],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    run = tmp_path / "runs" / "cdiscpilot_derm"
    results = json.loads((run / "results.json").read_text())
    assert (results["data"]["n_treated"]["value"], results["data"]["n_control"]["value"]) == (84, 86)
    assert results["ate"]["hazard_ratio"]["estimate"] == pytest.approx(4.92, abs=0.005)
    assert results["ate"]["estimate"] < 0  # the drug shortens the time to a skin reaction
    audit = (run / "01_data_audit.html").read_text()
    assert "MMSE Total" in audit and "Baseline BMI (kg/m^2)" in audit
    assert "parameter TTDE (Time to First Dermatologic Event); population ITTFL = Y (254 of 254 subjects)" in audit


def test_the_report_s_kaplan_meier_curves_are_lifelines_on_the_same_records_and_stop_at_small_risk_sets():
    import matplotlib

    matplotlib.use("Agg")
    from lifelines import KaplanMeierFitter

    from subgroups import plots

    trial = load_trial(DERM_YAML)
    ax = plots.kaplan_meier(trial.outcome, trial.event, trial.treatment, trial.arm_labels, 10, "days")
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {HIGH, PLACEBO}
    for arm, label in ((1, HIGH), (0, PLACEBO)):
        t, e = trial.outcome[trial.treatment == arm], trial.event[trial.treatment == arm]
        km = KaplanMeierFitter().fit(t, e)
        x, y = lines[label].get_data()
        np.testing.assert_allclose(y, km.predict(x), atol=1e-12)
        assert min((t >= value).sum() for value in x) >= 10  # never drawn where fewer than 10 are at risk
    texts = [text.get_text() for text in ax.texts]
    assert "84" in texts and "86" in texts and not any(text.isdigit() and 0 < int(text) < 10 for text in texts)


def test_the_average_effect_sentence_says_when_there_is_no_clear_difference():
    from subgroups.narrative import difference_clause

    results = {"data": {"arms": {"treated": "high dose", "control": "placebo"}, "outcome": {"higher_is_better": False}}}
    results["ate"] = {"estimate": 0.04, "ci_low": -0.2, "ci_high": 0.28, "ci_level": 0.95}
    assert "no clear difference" in difference_clause(results)
    results["ate"] = {"estimate": -0.5, "ci_low": -0.8, "ci_high": -0.2, "ci_level": 0.95}
    assert "favour <code>high dose</code>" in difference_clause(results)  # lower is better and the effect is negative


@pytest.mark.slow
def test_cibic_analysis_runs_and_plans_no_trial_without_a_benefit():
    """The built-in CIBIC+ analysis (no clear difference between the arms, lower is better) runs through the design
    menu: no claim has a planned benefit, so no size is promised (an infinite size stopped this run once)."""
    from subgroups import analyze, narrative
    from subgroups.narrative.summary import design_summary

    tree = yaml.safe_load(PILOT_YAML.read_text())
    tree["estimation"] = {**tree["estimation"], **FAST["estimation"]}
    a = analyze(None, tree)
    assert a.results["data"]["n_treated"]["value"] + a.results["data"]["n_control"]["value"] == 155
    assert a.design.recommended == "all_comers" and a.design.option("all_comers").n_randomized is None
    assert "its size is not estimable from these data" in design_summary(a.results)
    # the page says so: no empty cells or empty charts ("–" in the table, the notebook draws no size chart)
    table = narrative.design_table(a.design)
    assert not a.design.sized and (table[["randomized N", "power (any claim)"]] == narrative.design_page.NO_SIZE).all().all()
