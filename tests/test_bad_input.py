"""Bad input catalogue (issue 7): each case is one line on stderr, exit code 2, input file untouched."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from support import small_params

from subgroups.cli import main
from subgroups.datasets.synthetic import simulate_trial


def _frame() -> pd.DataFrame:
    return simulate_trial("PM-SNP", n=200, seed=5, b1_rel=2).data


def _tte_frame() -> pd.DataFrame:
    return simulate_trial("PM-TTE", n=200, seed=5).data


def _with(column, values):
    def change(frame):
        frame[column] = values(frame) if callable(values) else values
        return frame

    return change


CASES = {
    "empty file": (lambda f: None, {}, "empty"),
    "unknown extension": (lambda f: f, {"suffix": ".txt"}, "unknown file type"),
    "unreadable encoding": (lambda f: f.assign(smoking=f.smoking.where(f.index != 3, "naïve")), {"encoding": "latin-1"}, "UTF-8"),
    "missing treatment column": (lambda f: f.drop(columns="arm"), {}, "treatment column 'arm' not found"),
    "missing outcome column": (lambda f: f.drop(columns="response"), {}, "column 'response' not found"),
    "missing feature column": (lambda f: f.drop(columns="bmi"), {}, "'bmi' matches no column"),
    "one arm only": (lambda f: f[f.arm == "drug"], {}, "control label 'placebo' not found"),
    "arm label differing only in case": (
        _with("arm", lambda f: f.arm.where(f.index != 4, "Drug")),
        {},
        "1 patient(s) labelled 'Drug', which differs from the treated label 'drug' only in case",
    ),
    "treatment NaN": (_with("arm", lambda f: f.arm.where(f.index != 0, None)), {}, "is missing for 1 patient"),
    "constant outcome": (_with("response", 1.0), {}, "same value for every patient"),
    "non-numeric outcome": (
        _with("response", lambda f: f.response.astype(str).where(f.index != 0, "high")),
        {},
        "is not numeric",
    ),
    "binary outcome with three values": (
        _with("response", lambda f: np.arange(len(f)) % 3),
        {"binary": True},
        "3 different values",
    ),
    "all-missing feature": (_with("bmi", np.nan), {}, "missing for every patient"),
    "constant feature": (_with("bmi", 27.0), {}, "same value for every patient"),
    "duplicate patient ids": (
        _with("patient_id", lambda f: f.patient_id.where(f.index != 1, f.patient_id[0])),
        {},
        "duplicate id",
    ),
    "duplicate column names": (lambda f: f.rename(columns={"crp": "bmi"}), {}, "appears more than once"),
    "too few patients": (
        lambda f: pd.concat([f[f.arm == "drug"].head(8), f[f.arm == "placebo"].head(8)]),
        {},
        "at least 10 per arm",
    ),
    "one treated patient": (lambda f: pd.concat([f[f.arm == "placebo"], f[f.arm == "drug"].head(1)]), {}, "only 1 patient"),
    "infinite values": (_with("crp", lambda f: f.crp.where(f.index != 2, np.inf)), {}, "infinite values"),
    "identifier-like feature": (
        _with("email", lambda f: [f"p{i}@example.org" for i in range(len(f))]),
        {"feature": "email"},
        "identifier",
    ),
    "outcome copied into a feature": (
        _with("week12", lambda f: 2.0 * f.response + 1.0),
        {"feature": "week12"},
        "feature 'week12' is almost the outcome column 'response' (correlation +1.0000)",
    ),
    "binary outcome recoded as a text feature": (
        lambda f: f.assign(
            response=(f.response > f.response.median()).astype(int), status=lambda g: g.response.map({1: "yes", 0: "no"})
        ),
        {"binary": True, "feature": "status"},
        "feature 'status' is almost the outcome column 'response'",
    ),
    "feature in two families": (lambda f: f, {"families": {"genetic": ["snp_01"], "other": ["snp_01", "age"]}}, "two families"),
    "free-text column": (_with("notes", lambda f: [f"note {i}" for i in range(len(f))]), {"feature": "notes"}, "free text"),
}

TTE_CASES = {
    "negative survival times": (_with("time", lambda f: f.time.where(f.index != 0, -1.0)), "zero or negative times"),
    "event indicator as a feature": (_with("died", lambda f: f.event), "feature 'died' is almost the outcome column 'event'"),
    "event indicator not 0/1": (_with("event", lambda f: f.event.where(f.index != 0, 2)), "must be 0 (censored) or 1 (event)"),
}


def _run(tmp_path: Path, capsys, params: dict, path: Path) -> tuple[int, str]:
    before = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    code = main(["validate", str(params_file)])
    err = capsys.readouterr().err.strip()
    if before is not None:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before, "input file changed"
    return code, err


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_and_exit_2(case, tmp_path: Path, capsys):
    change, options, expected = CASES[case]
    frame = change(_frame())
    path = tmp_path / f"trial{options.get('suffix', '.csv')}"
    if frame is None:
        path.write_text("")
    else:
        frame.to_csv(path, index=False, encoding=options.get("encoding", "utf-8"))
    params = small_params(path)
    if options.get("binary"):
        params["data"]["outcome"] = {"column": "response", "type": "binary"}
    if "feature" in options:
        params["data"]["features"]["other"] = [*params["data"]["features"]["other"], options["feature"]]
    if "families" in options:
        params["data"]["features"] = options["families"]
    code, err = _run(tmp_path, capsys, params, path)
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert expected in err, err


@pytest.mark.parametrize("case", sorted(TTE_CASES))
def test_bad_survival_data(case, tmp_path: Path, capsys):
    change, expected = TTE_CASES[case]
    path = tmp_path / "tte.csv"
    frame = change(_tte_frame())
    frame.to_csv(path, index=False)
    params = small_params(path)
    params["data"]["outcome"] = {"type": "time_to_event", "time": "time", "event": "event", "time_unit": "months"}
    added = [c for c in frame.columns if c not in _tte_frame().columns]  # a column the case adds is a feature
    params["data"]["features"]["other"] = [*params["data"]["features"]["other"], *added]
    code, err = _run(tmp_path, capsys, params, path)
    assert code == 2 and len(err.splitlines()) == 1 and expected in err, err


def test_multi_arm_file_without_chosen_arms(tmp_path: Path, capsys):
    params = {
        "name": "x",
        "data": {
            "source": "builtin:actg175",
            "treatment": {"column": "arm"},
            "outcome": {"column": "cd420", "type": "continuous"},
        },
    }
    code, err = _run(tmp_path, capsys, params, tmp_path / "absent")
    assert code == 2 and "missing required key 'data.treatment.treated'" in err and len(err.splitlines()) == 1


# --- run folders and faults (issue 14.1, 14.3, 14.5) ---
# Each is refused by `validate` with one line and exit 2, before any fit (what `run` would otherwise reject only
# after fitting, or crash on as an internal error).


def _tte(change):
    def build():
        frame = _tte_frame()
        change(frame)
        return frame

    return build


VALIDATE_CASES = {
    "seed above 2**32-1": (_frame, {"estimation": {"seed": 2**32}}, "less than or equal to 4294967295"),
    "simulation seed above 2**32-1": (None, {"simulation_seed": 2**32}, "less than or equal to 4294967295"),
    "outcome near 1e307": (lambda: _with("response", lambda f: f.response * 1e306)(_frame()), {}, "rescale it"),
    "feature near 1e307": (lambda: _with("crp", lambda f: f.crp * 1e305)(_frame()), {}, "feature 'crp' has values as large"),
    "over-long header field": (lambda: _frame().assign(**{"x" * 200_000: 1.0}), {}, "field larger than field limit"),
    "no events at all": (_tte(lambda f: f.__setitem__("event", 0)), {"tte": True}, "no events in the treated arm"),
    "no events in the control arm": (
        _tte(lambda f: f.__setitem__("event", f.event.where(f.arm != "placebo", 0))),
        {"tte": True},
        "no events in the control arm ('placebo')",
    ),
    "four events in the treated arm": (
        _tte(
            lambda f: f.__setitem__(
                "event", f.event.where((f.arm != "drug") | (f.event.where(f.arm == "drug", 0).cumsum() <= 4), 0)
            )
        ),
        {"tte": True},
        "has only 4 event(s) in the treated arm ('drug'); a time-to-event analysis needs at least 10 events per arm",
    ),
    "infinite survival time": (
        _tte(lambda f: f.__setitem__("time", f.time.where(f.index != 4, np.inf))),
        {"tte": True},
        "infinite times",
    ),
    "pre-specified subgroup with a typo": (_frame, {"prespecified": ["bmii >= 30"]}, "names 'bmii', which is not an analysed"),
    "pre-specified subgroup unreadable": (_frame, {"prespecified": ["bmi is large"]}, "cannot read 'bmi is large'"),
    "pre-specified subgroup on text": (_frame, {"prespecified": ["bmi >= high"]}, "'high' is not a number"),
    "pre-specified subgroup selecting nobody": (
        _frame,
        {"prespecified": ["age >= 30 and age < 0"]},
        "selects 0 of 200 patients",
    ),
    # A misspelt level selected nobody silently inside `in [...]` (and the rule was estimated without it).
    "pre-specified level misspelt": (
        _frame,
        {"prespecified": ["smoking in [never, formr]"]},
        "subgroups.prespecified: 'smoking in [never, formr]': 'formr' is not a level of 'smoking' (its levels: current, former, never)",
    ),
    "pre-specified level in another case": (
        _frame,
        {"prespecified": ["smoking == Never"]},
        "'Never' is not a level of 'smoking'",
    ),
    "pre-specified set of levels on a number": (_frame, {"prespecified": ["snp_01 in [1, 2]"]}, "'snp_01' is numeric"),
    "pre-specified cut-point not finite": (_frame, {"prespecified": ["age >= nan"]}, "'nan' is not a finite number"),
    "pre-specified subgroup listed twice": (
        _frame,
        {"prespecified": ["age >= 65 and female == 1", "female == 1 & age>=65"]},
        "'female == 1 & age>=65' is listed twice ('age >= 65 and female == 1' and 'female == 1 & age>=65' select the same",
    ),
    # Errors in candidates were reported as "subgroups.prespecified: ..." (the other list).
    "candidate neither feature nor rule": (
        _frame,
        {"candidates": ["age and bmi"]},
        "heterogeneity.candidates: 'age and bmi' is not an analysed feature; name one feature per entry",
    ),
    "candidate rule with a misspelt level": (
        _frame,
        {"candidates": ["smoking == Current"]},
        "heterogeneity.candidates: 'smoking == Current': 'Current' is not a level",
    ),
    "candidate rule on a misspelt feature": (
        _frame,
        {"candidates": ["snp01 >= 1"]},
        "heterogeneity.candidates: 'snp01 >= 1' names 'snp01', which is not an analysed feature",
    ),
    "candidate listed twice": (_frame, {"candidates": ["snp_01", "severity", "snp_01"]}, "'snp_01' is listed twice"),
    "candidate rule listed twice in another order": (
        _frame,
        {"candidates": ["snp_01 >= 1 & age > 60", "age > 60 and snp_01 > 0"]},
        "'age > 60 and snp_01 > 0' is listed twice ('snp_01 >= 1 & age > 60' and 'age > 60 and snp_01 > 0' select the same",
    ),
    # Below 0.5 the sample-size formulas turn round: less power would need more patients.
    "trial sized for power 0.3": (_frame, {"trial_design": {"power": 0.3}}, "greater than or equal to 0.5"),
}


@pytest.mark.parametrize("case", sorted(VALIDATE_CASES))
def test_validate_refuses_what_run_would_reject_after_fitting(case, tmp_path: Path, capsys):
    build, options, expected = VALIDATE_CASES[case]
    path = tmp_path / "trial.csv"
    params = small_params(path)
    if build is None:
        params["data"]["source"] = "builtin:synthetic"
        params["data"]["simulation"] = {"seed": options["simulation_seed"]}
    else:
        build().to_csv(path, index=False)
    if options.get("tte"):
        params["data"]["outcome"] = {"type": "time_to_event", "time": "time", "event": "event", "time_unit": "months"}
    if "estimation" in options:
        params["estimation"].update(options["estimation"])
    if "prespecified" in options:
        params.setdefault("subgroups", {})["prespecified"] = options["prespecified"]
    if "candidates" in options:
        params.setdefault("heterogeneity", {})["candidates"] = options["candidates"]
    if "trial_design" in options:
        params["trial_design"] = options["trial_design"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a numpy overflow warning would be a second line on stderr
        code, err = _run(tmp_path, capsys, params, path)
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert expected in err, err


def test_run_refuses_a_trial_without_events_before_fitting(tmp_path: Path, capsys, monkeypatch):
    from subgroups import analysis

    monkeypatch.setattr(analysis, "_finish", lambda *a: pytest.fail("fitted although the data cannot be analysed"))
    path = tmp_path / "tte.csv"
    frame = _tte_frame()
    frame["event"] = 0
    frame.to_csv(path, index=False)
    params = small_params(path, name="no_events")
    params["data"]["outcome"] = {"type": "time_to_event", "time": "time", "event": "event", "time_unit": "months"}
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    assert main(["run", str(params_file), "-o", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no events in the treated arm" in err, err
    assert "no events" in (tmp_path / "runs" / "no_events" / "status.json").read_text()


# --- data reading (issue 13.5, 14.6) ---


def _semicolons(path: Path, frame: pd.DataFrame) -> None:
    frame.to_csv(path, index=False, sep=";", decimal=",")


def _gzip_named_csv(path: Path, frame: pd.DataFrame) -> None:
    import gzip

    path.write_bytes(gzip.compress(frame.to_csv(index=False).encode()))


def _spreadsheet_named_csv(path: Path, frame: pd.DataFrame) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w") as book:  # an .xlsx is a zip archive
        book.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")


READING_CASES = {
    "semicolon-delimited csv": ("trial.csv", _semicolons, {}, "separated by semicolons (';'), not commas"),
    "xlsx workbook": ("trial.xlsx", _spreadsheet_named_csv, {}, "export the sheet as CSV"),
    "xlsx saved as .csv": ("trial.csv", _spreadsheet_named_csv, {}, "spreadsheet or zip archive although it is named .csv"),
    "gzip saved as .csv": ("trial.csv", _gzip_named_csv, {}, "is gzip-compressed although it is named .csv"),
    "zip archive": ("trial.zip", _spreadsheet_named_csv, {}, "is a compressed file (.zip); extract the data file"),
    "folder as source": ("folder", None, {}, "is a folder, not a data file"),
    "ids differing by a trailing space": (
        "trial.csv",
        lambda p, f: f.assign(patient_id=f.patient_id.astype(str).where(f.index != 5, f.patient_id.astype(str)[0] + " ")).to_csv(
            p, index=False
        ),
        {},
        "1 duplicate id(s) (first at data rows 1 and 6), counting ids that differ only by surrounding spaces",
    ),
    "binary outcome coded as text": (
        "trial.csv",
        lambda p, f: f.assign(response=np.where(f.response > f.response.median(), "responder", "non-responder")).to_csv(
            p, index=False
        ),
        {"outcome": {"column": "response", "type": "binary"}},
        "(values found: 'non-responder', 'responder'); set data.outcome.positive",
    ),
    "row number as feature": (
        "trial.csv",
        lambda p, f: f.assign(subject=np.arange(len(f))[::-1] + 1).to_csv(p, index=False),
        {"feature": "subject"},
        "feature 'subject' holds the whole numbers 1 to 200 once each",
    ),
    "non-ISO dates as feature": (
        "trial.csv",
        lambda p, f: f.assign(visit=[f"2021/03/{1 + i % 28:02d}" for i in range(len(f))]).to_csv(p, index=False),
        {"feature": "visit"},
        "feature 'visit' holds dates",
    ),
    # Decimals with a stray word read as text; "61.2345678" was taken for a phone number.
    "a number column with a missing-value code": (
        "trial.csv",
        lambda p, f: f.assign(age=f.age.astype(str).where(f.index != 3, "unknown")).to_csv(p, index=False),
        {},
        "feature 'age' holds numbers and 1 value(s) that are not numbers ('unknown', first at data row 4); leave missing "
        "values empty (or NA)",
    ),
}


def test_empty_unnamed_columns_from_trailing_separators_are_dropped(tmp_path: Path):
    """A spreadsheet export ending every line with separators ("a,b,,") gave two columns named '' and was refused
    as 'column name '' appears more than once'; a saved pandas index (unnamed, holding values) is still read."""
    from subgroups.data import load_trial, read_source
    from subgroups.params import load_params

    path = tmp_path / "trial.csv"
    frame = _frame()
    path.write_text(frame.to_csv(index=False).replace("\n", ",,\n"))
    read, _, _ = read_source(load_params(small_params(path)).data, None)
    assert list(read.columns) == list(frame.columns)
    assert load_trial(small_params(path)).n == len(frame)
    frame.to_csv(path)  # with the index, in a column without a name
    read, _, _ = read_source(load_params(small_params(path)).data, None)
    assert list(read.columns) == ["Unnamed: 0", *frame.columns]
    assert load_trial(small_params(path)).n == len(frame)


@pytest.mark.parametrize("case", sorted(READING_CASES))
def test_bad_data_files_are_one_line_and_exit_2(case, tmp_path: Path, capsys):
    name, write, options, expected = READING_CASES[case]
    path = tmp_path / name
    if write is None:
        path.mkdir()
    else:
        write(path, _frame())
    params = small_params(path)
    if "outcome" in options:
        params["data"]["outcome"] = options["outcome"]
    if "feature" in options:
        params["data"]["features"]["other"] = [*params["data"]["features"]["other"], options["feature"]]
    code, err = _run(tmp_path, capsys, params, path if path.is_file() else tmp_path / "absent")
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert expected in err, err


def test_event_column_error_lists_the_values_found(tmp_path: Path, capsys):
    path = tmp_path / "tte.csv"
    frame = _tte_frame()
    frame.assign(event=np.where(frame.event == 1, "died", "censored")).to_csv(path, index=False)
    params = small_params(path)
    params["data"]["outcome"] = {"type": "time_to_event", "time": "time", "event": "event", "time_unit": "months"}
    code, err = _run(tmp_path, capsys, params, path)
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "must be 0 (censored) or 1 (event); values found: 'censored', 'died'" in err, err


def test_text_binary_outcome_with_positive_label_validates(tmp_path: Path, capsys):
    path = tmp_path / "trial.csv"
    frame = _frame()
    frame.assign(response=np.where(frame.response > frame.response.median(), "responder", "non-responder")).to_csv(
        path, index=False
    )
    params = small_params(path)
    params["data"]["outcome"] = {"column": "response", "type": "binary", "positive": "responder"}
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    assert main(["validate", str(params_file)]) == 0
    out = capsys.readouterr().out
    assert "200 patients" in out
    high = frame.response > frame.response.median()
    counts = [(int(high[frame.arm == arm].sum()), int((frame.arm == arm).sum())) for arm in ("drug", "placebo")]
    assert (
        f"outcome: 'response' = 'responder' in {counts[0][0]} of {counts[0][1]} on 'drug', {counts[1][0]} of {counts[1][1]} "
        "on 'placebo'"
    ) in out.splitlines()


def test_validate_says_what_it_left_out(tmp_path: Path, capsys):
    """Patients of a third arm and without an outcome are left out, and `validate` counts them (the analyst's data)."""
    path = tmp_path / "trial.csv"
    frame = _frame()
    frame.loc[[0, 1, 2], "arm"] = "low dose"
    frame.loc[5, "response"] = np.nan
    frame.to_csv(path, index=False)
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(small_params(path), sort_keys=False))
    assert main(["validate", str(params_file)]) == 0
    out = capsys.readouterr().out
    assert "196 patients" in out and "left out: other arms: 3; missing outcome: 1" in out, out


# --- injection and YAML (issue 14.2, 14.4) ---


def test_alias_bomb_is_one_line_and_fast(tmp_path: Path, capsys):
    import time

    from test_params import BILLION_LAUGHS

    path = tmp_path / "bomb.yaml"
    path.write_text(BILLION_LAUGHS + "\n")
    started = time.perf_counter()
    code = main(["validate", str(path)])
    err = capsys.readouterr().err.strip()
    assert time.perf_counter() - started < 1.0
    assert code == 2 and len(err.splitlines()) == 1 and "aliases (*name) expand this file" in err, err


def test_duplicate_yaml_key_is_one_line_naming_key_and_line(tmp_path: Path, capsys):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(small_params(tmp_path / "trial.csv"), sort_keys=False) + "name: other\n")
    line = len(path.read_text().splitlines())
    code = main(["validate", str(path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == f"error: {path} line {line}: duplicate key 'name' (first given on line 1); keep only one", err


@pytest.mark.parametrize("separator", ["\n", "\r\n", "\u2028", "\x0b"])
def test_a_line_break_in_a_label_keeps_the_error_on_one_line(separator, tmp_path: Path, capsys):
    path = tmp_path / "trial.csv"
    _frame().to_csv(path, index=False)
    params = small_params(path)
    params["data"]["treatment"]["control"] = f"pla{separator}cebo"
    code, err = _run(tmp_path, capsys, params, path)
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("error: "), err
    shown = separator.encode("unicode_escape").decode()  # \n, \r\n, \u2028, \x0b
    assert f"pla{shown}cebo" in err, err


# --- small cells (issue 14.3) ---


@pytest.mark.parametrize(("min_size", "min_cell", "ok"), [(5, 10, False), (19, 20, False), (10, 10, True)])
def test_min_size_below_min_cell_is_one_line_naming_both(min_size, min_cell, ok, tmp_path: Path, capsys):
    path = tmp_path / "trial.csv"
    _frame().to_csv(path, index=False)
    params = small_params(path, subgroups__min_size=min_size, report__min_cell=min_cell)
    code, err = _run(tmp_path, capsys, params, path)
    if ok:
        assert code == 0, err
        return
    assert code == 2 and len(err.splitlines()) == 1, err
    assert f"subgroups.min_size ({min_size}) is below report.min_cell ({min_cell})" in err, err


# --- warnings on the command line ---


def test_a_warning_about_the_data_is_one_line_on_the_command_line(tmp_path: Path, capsys):
    """Repeated rows are a warning, not an error: validate passes and prints one 'warning:' line (no file/line prefix)."""
    frame = _frame()
    frame = pd.concat([frame, frame.iloc[:3].assign(patient_id=lambda f: f["patient_id"] + "x")], ignore_index=True)
    path = tmp_path / "trial.csv"
    frame.to_csv(path, index=False)
    code, err = _run(tmp_path, capsys, small_params(path), path)
    warned = [line for line in err.splitlines() if line.startswith("warning:")]
    assert code == 0 and len(warned) == 1, err
    assert "DataWarning" not in err and ".py:" not in err


# --- labels (issue 16.4) ---


def test_labels_of_columns_not_in_the_data_are_one_line_naming_them(tmp_path: Path, capsys):
    path = tmp_path / "trial.csv"
    _frame().to_csv(path, index=False)
    labels = {"age": {"label": "Age", "unit": "years"}, "karnof": "Karnofsky score", "cd4_baseline": {"label": "CD4"}}
    code, err = _run(tmp_path, capsys, small_params(path, data__labels=labels), path)
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "data.labels: 'karnof', 'cd4_baseline' are not columns of" in err and "'age'" not in err, err
    code, err = _run(tmp_path, capsys, small_params(path, data__labels={"age": {"label": "Age", "units": "years"}}), path)
    assert code == 2 and len(err.splitlines()) == 1 and "units" in err, err  # a misspelt key is named, on one line
