from __future__ import annotations

import gzip
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from support import small_params

from subgroups.data import DataWarning, load_trial, read_source
from subgroups.datasets.actg175 import BASELINE, load_actg175
from subgroups.errors import DataError, ParameterError
from subgroups.params import DataSpec


def test_csv_and_parquet_give_the_same_trial(small_csv: Path, tmp_path: Path):
    frame = pd.read_csv(small_csv)
    parquet = tmp_path / "trial.parquet"
    frame.to_parquet(parquet)
    a = load_trial(small_params(small_csv))
    b = load_trial(small_params(parquet))
    assert a.n == b.n == 400
    np.testing.assert_allclose(a.X.to_numpy(), b.X.to_numpy())
    np.testing.assert_array_equal(a.treatment, b.treatment)


def test_typed_parquet_columns_read_as_their_plain_counterparts(small_csv: Path, tmp_path: Path):
    """A parquet file keeps dtypes a CSV loses: True/False (numpy and pandas' nullable boolean), nullable integers with
    missing values, categories and pandas strings. Each reads as the plain column (a 0/1 feature for True/False),
    through to the report (a bool feature stopped the run with a numpy error in the SHAP direction)."""
    from support import FAST

    import subgroups

    frame = pd.read_csv(small_csv)
    plain = frame.assign(female=frame["female"].astype(float), comorbidities=frame["comorbidities"].astype(float))
    plain.loc[:6, "comorbidities"] = np.nan
    typed = frame.assign(
        female=frame["female"].astype(bool),
        comorbidities=plain["comorbidities"].astype("Int64"),
        smoking=frame["smoking"].astype("category"),
        arm=frame["arm"].astype("string"),
        activity=frame["activity"] > frame["activity"].median(),
    ).astype({"activity": "boolean"})
    typed.loc[3, "activity"] = pd.NA
    plain = plain.assign(activity=typed["activity"].astype("float64"))
    typed.to_parquet(tmp_path / "typed.parquet")
    a, b = load_trial(small_params(tmp_path / "typed.parquet")), load_trial(small_params(small_csv), plain)
    assert a.features["female"].dtype == float and a.features["activity"].isna().sum() == 1
    np.testing.assert_array_equal(a.X.to_numpy(), b.X.to_numpy())
    spans = frame.assign(age=pd.to_timedelta(frame["age"].round(), unit="D"))  # a parquet file can hold time spans
    with pytest.raises(DataError, match=r"feature 'age' holds time spans \(e.g. '\d+ days 00:00:00'\); convert them"):
        load_trial(small_params(small_csv), spans)
    result = subgroups.analyze(None, {**small_params(tmp_path / "typed.parquet"), **FAST})
    assert result.results["importance"]["direction"]["female"] is None or np.isfinite(
        result.results["importance"]["direction"]["female"]
    )


def test_sas_transport_file(small_csv: Path, tmp_path: Path):
    # SAS transport version 5 (the FDA submission format): names of at most 8 characters.
    frame = pd.read_csv(small_csv)[["arm", "response", "snp_01", "snp_02", "smoking", "bmi", "age"]]
    xpt = tmp_path / "trial.xpt"
    pyreadstat.write_xport(frame, str(xpt), table_name="TRIAL", file_format_version=5)
    params = small_params(xpt)
    params["data"]["features"] = {"genetic": ["snp_0*"], "lifestyle": ["smoking", "bmi"], "other": ["age"]}
    params["data"]["id_column"] = None
    trial = load_trial(params)
    assert trial.n == 400
    assert trial.encoder.categorical["smoking"] == ("current", "former", "never")
    np.testing.assert_allclose(trial.features["bmi"], frame["bmi"])


def test_treatment_mapping_is_explicit_not_alphabetical(small_csv: Path):
    trial = load_trial(small_params(small_csv))
    raw = pd.read_csv(small_csv)
    np.testing.assert_array_equal(trial.treatment, (raw["arm"] == "drug").astype(int))
    swapped = load_trial(small_params(small_csv, data__treatment={"column": "arm", "treated": "placebo", "control": "drug"}))
    np.testing.assert_array_equal(swapped.treatment, 1 - trial.treatment)


def test_multi_arm_file_keeps_two_arms_and_counts_the_rest():
    trial = load_trial({"name": "x", "data": {"source": "builtin:actg175",
                        "treatment": {"column": "arm", "treated": "ZDV+ddI", "control": "ZDV"},
                        "outcome": {"column": "cd420", "type": "continuous"}, "id_column": "patient_id",
                        "features": {"other": ["age", "cd40", "karnof"]}}})  # fmt: skip
    assert trial.n == 522 + 532
    assert int(trial.treatment.sum()) == 522
    assert trial.dropped == {"other arms": 2139 - 1054}


def test_numeric_arm_labels_match_text_in_yaml(tmp_path: Path):
    frame = pd.DataFrame({"arm": [0, 1] * 30, "y": np.arange(60.0), "x": np.tile([1.0, 2.0, 3.0], 20)})
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    spec = {"name": "t", "data": {"source": str(path), "treatment": {"column": "arm", "treated": "1", "control": 0},
            "outcome": {"column": "y", "type": "continuous"}}}  # fmt: skip
    trial = load_trial(spec)
    assert int(trial.treatment.sum()) == 30 and trial.feature_names == ("x",)


def test_categorical_features_map_back_to_original_columns(small_csv: Path):
    trial = load_trial(small_params(small_csv))
    smoking_cols = [c for c in trial.X.columns if trial.encoder.original_of[c] == "smoking"]
    assert smoking_cols == ["smoking=current", "smoking=former", "smoking=never"]
    assert trial.X[smoking_cols].sum(axis=1).eq(1).all()
    assert trial.family_of["smoking"] == "lifestyle" and trial.family_of["snp_07"] == "genetic"
    assert set(trial.encoder.original_of.values()) == set(trial.feature_names)


def test_missing_value_policies(small_csv: Path, tmp_path: Path):
    frame = pd.read_csv(small_csv)
    frame.loc[:19, "bmi"] = np.nan
    frame.loc[0, "response"] = np.nan
    path = tmp_path / "missing.csv"
    frame.to_csv(path, index=False)
    imputed = load_trial(small_params(path))
    assert imputed.n == 399 and imputed.dropped == {"missing outcome": 1}
    assert "bmi (missing)" in imputed.X.columns and imputed.encoder.original_of["bmi (missing)"] == "bmi"
    assert imputed.X["bmi (missing)"].sum() == 19
    dropped = load_trial(small_params(path, data__missing="drop"))
    assert dropped.n == 380 and dropped.dropped["missing features"] == 19
    with pytest.raises(DataError, match="'bmi' has missing values"):
        load_trial(small_params(path, data__missing="error"))


def test_encoder_transforms_new_data_like_training(small_csv: Path):
    trial = load_trial(small_params(small_csv))
    again = trial.encoder.transform(trial.features.iloc[::-1])
    np.testing.assert_allclose(again.to_numpy(), trial.X.iloc[::-1].to_numpy())
    with pytest.raises(DataError, match="lacks feature column"):
        trial.encoder.transform(trial.features.drop(columns=["bmi"]))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"data__outcome": {"column": "respnse", "type": "continuous"}}, "outcome respnse column 'respnse' not found"),
        ({"data__treatment": {"column": "arm", "treated": "active", "control": "placebo"}}, "treated label 'active' not found"),
        ({"data__features": {"genetic": ["rs*"]}}, "'rs\\*' matches no column"),
        ({"data__features": {"genetic": ["snp_01"], "other": ["snp_01"]}}, "listed in two families"),
        ({"data__outcome": {"column": "response", "type": "binary"}}, "binary outcome 'response' has"),
        ({"data__source": "trial.txt"}, "unknown file type"),
        ({"data__source": "absent.csv"}, "not found"),
    ],
)
def test_bad_specifications_fail_with_one_line(small_csv: Path, change, message):
    if "data__source" in change:
        change = {"data__source": str(small_csv.parent / change["data__source"])}
    with pytest.raises(DataError, match=message) as info:
        load_trial(small_params(small_csv, **change))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("patient_name", lambda n: [f"Person {i}" for i in range(n)], "looks like a direct identifier"),
        ("contact", lambda n: [f"p{i}@example.org" for i in range(n)], "e-mail"),
        ("birth", lambda n: [f"1950-01-{1 + i % 28:02d}" for i in range(n)], "holds dates"),
        ("notes", lambda n: [f"free text {i}" for i in range(n)], "free text"),
        ("code", lambda n: [f"{1000 + i}-A" for i in range(n)], "free text or an identifier"),
        ("smoking=never", lambda n: np.arange(n) % 7, "has the name of the column of level 'never' of feature 'smoking'"),
        ("  ", lambda n: np.arange(n) % 7, "a feature column has a blank name"),
        ("crp_units", lambda n: [f"{1 + i / 7:.2f} mg/L" for i in range(n)], r"numbers written with text \(e.g. '1.00 mg/L'\)"),
        ("ldh", lambda n: [f"{100 + i},5" for i in range(n)], "numbers written with text.*decimals with a point"),
        ("constant", lambda n: [1.0] * n, "same value for every patient"),
        ("empty", lambda n: [np.nan] * n, "missing for every patient"),
    ],
)
def test_identifier_free_text_and_degenerate_features_are_refused(small_csv: Path, tmp_path: Path, column, values, message):
    frame = pd.read_csv(small_csv)
    frame[column] = values(len(frame))
    path = tmp_path / "extra.csv"
    frame.to_csv(path, index=False)
    params = small_params(path)
    params["data"]["features"]["other"] = [*params["data"]["features"]["other"], column]
    with pytest.raises(DataError, match=message):
        load_trial(params)


def test_too_few_patients_in_an_arm(small_csv: Path, tmp_path: Path):
    frame = pd.read_csv(small_csv)
    frame = pd.concat([frame[frame.arm == "placebo"], frame[frame.arm == "drug"].head(3)])
    path = tmp_path / "few.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match="only 3 patient"):
        load_trial(small_params(path))


def test_duplicate_ids_and_empty_file(small_csv: Path, tmp_path: Path):
    frame = pd.read_csv(small_csv)
    frame.loc[1, "patient_id"] = frame.loc[0, "patient_id"]
    path = tmp_path / "dup.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match="1 duplicate id"):
        load_trial(small_params(path))
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty"):
        load_trial(small_params(empty))


def test_actg175_has_baseline_covariates_only():
    frame = load_actg175()
    assert len(frame) == 2139
    assert frame["arm"].value_counts().to_dict() == {"ddI": 561, "ZDV": 532, "ZDV+ddC": 524, "ZDV+ddI": 522}
    for post in ("treat", "offtrt", "r", "cd820", "cens", "arms", "pidnum"):
        assert post not in frame.columns
    assert set(BASELINE) <= set(frame.columns)
    assert frame["event"].isin([0, 1]).all() and frame["days"].gt(0).all()


# --- exact reading of SAS, CSV and compressed files ------------------------------------------------


def _exact_frame(n: int = 60) -> pd.DataFrame:
    """Zeros, negative values, missing numbers and text, a long column name (needs XPORT v8)."""
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(
        {
            "arm": np.where(np.arange(n) % 2 == 0, "drug", "placebo"),
            "response": np.round(rng.normal(0, 1, n), 3),
            "baseline_severity_score": np.round(rng.normal(0, 5, n), 4),
            "visits": rng.integers(-2, 3, n).astype(float),
            "smoking": rng.choice(["never", "former", "current"], n).astype(object),
        }
    )
    frame.loc[:4, "response"] = 0.0
    frame.loc[5:9, "baseline_severity_score"] = 0.0
    frame.loc[10:12, "baseline_severity_score"] = np.nan
    frame.loc[13:14, "smoking"] = np.nan
    frame.loc[15, "response"] = -0.0
    return frame


def _spec(path: Path, features: list[str], **outcome) -> DataSpec:
    return DataSpec(
        source=str(path),
        treatment={"column": "arm", "treated": "drug", "control": "placebo"},
        outcome=outcome or {"column": "response", "type": "continuous"},
        features={"other": features},
    )


@pytest.mark.parametrize("version", [5, 8])
def test_sas_transport_v5_and_v8_read_back_identical_to_csv(tmp_path: Path, version: int):
    frame = _exact_frame()
    if version == 5:  # XPORT v5 allows names of at most 8 characters
        frame = frame.rename(columns={"baseline_severity_score": "severity"})
    xpt, csv = tmp_path / "trial.xpt", tmp_path / "trial.csv"
    pyreadstat.write_xport(frame, str(xpt), table_name="TRIAL", file_format_version=version)
    frame.to_csv(csv, index=False)
    features = list(frame.columns[2:])
    from_xpt, sha, _ = read_source(_spec(xpt, features))
    from_csv, _, _ = read_source(_spec(csv, features))
    assert list(from_xpt.columns) == list(frame.columns)
    pd.testing.assert_frame_equal(from_xpt, from_csv, check_dtype=False)
    pd.testing.assert_frame_equal(from_xpt, frame, check_dtype=False)
    # Zeros stay exactly zero (pandas.read_sas turns them into 5.4e-79 in XPORT v5).
    assert int((from_xpt["response"] == 0).sum()) == 6 and int((from_xpt.iloc[:, 2] == 0).sum()) == 5
    assert from_xpt["smoking"].isna().sum() == 2 and from_xpt.iloc[:, 2].isna().sum() == 3
    assert from_xpt["visits"].min() == -2
    a, b = load_trial(_spec(xpt, features)), load_trial(_spec(csv, features))
    np.testing.assert_array_equal(a.outcome, b.outcome)
    pd.testing.assert_frame_equal(a.X, b.X)
    assert len(sha) == 64


def test_sas7bdat_is_read_through_pyreadstat_with_blank_text_missing(tmp_path: Path, monkeypatch):
    path = tmp_path / "trial.sas7bdat"
    path.write_bytes(b"not a SAS file at all" * 10)
    with pytest.raises(DataError, match="cannot read the sas7bdat file") as info:
        read_source(_spec(path, ["smoking"]))
    assert "\n" not in str(info.value)
    stored = pd.DataFrame(
        {"arm": ["drug", "placebo", "drug"], "response": [0.0, -1.0, 2.0], "smoking": ["never", "  ", "current"]}
    )
    calls = []
    monkeypatch.setattr(pyreadstat, "read_sas7bdat", lambda name: (calls.append(name), (stored.copy(), None))[1])
    frame, _, _ = read_source(_spec(path, ["smoking"]))
    assert calls == [str(path)]
    assert frame["smoking"].isna().tolist() == [False, True, False] and frame["response"].tolist() == [0.0, -1.0, 2.0]


def test_gzipped_csv_reads_identical_and_misnamed_files_are_explained(tmp_path: Path):
    frame = _exact_frame()
    plain, packed = tmp_path / "trial.csv", tmp_path / "trial.csv.gz"
    frame.to_csv(plain, index=False)
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    features = list(frame.columns[2:])
    pd.testing.assert_frame_equal(read_source(_spec(packed, features))[0], read_source(_spec(plain, features))[0])
    misnamed = tmp_path / "packed.csv"
    misnamed.write_bytes(packed.read_bytes())
    with pytest.raises(DataError, match="is gzip-compressed although it is named .csv; rename it to packed.csv.gz"):
        read_source(_spec(misnamed, features))
    workbook = tmp_path / "book.csv"
    workbook.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(DataError, match="spreadsheet or zip archive although it is named .csv"):
        read_source(_spec(workbook, features))
    bom = tmp_path / "excel.csv"  # Excel's "CSV UTF-8" starts with a byte-order mark
    bom.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    assert list(read_source(_spec(bom, features))[0].columns) == list(frame.columns)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("trial.csv", "arm;response;age\ndrug;1,5;40\n", "separated by semicolons (';'), not commas; re-save it comma-separated"),
        ("trial.csv", "arm\tresponse\tage\ndrug\t1.5\t40\n", "separated by tabs ('\\t'), not commas; name the file trial.tsv"),
        ("trial.tsv", "arm,response,age\ndrug,1.5,40\n", "separated by commas (','), not tabs; name the file trial.csv"),
        ("trial.xlsx", "x", "is a spreadsheet (.xlsx); export the sheet as CSV"),
        ("trial.xls", "x", "is a spreadsheet (.xls)"),
        ("trial.zip", "x", "is a compressed file (.zip); extract the data file"),
        ("trial.csv.bz2", "x", "is a compressed file (.bz2)"),
    ],
)
def test_wrong_delimiter_spreadsheets_and_archives_are_named(tmp_path: Path, name: str, content: str, message: str):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataError, match=re.escape(message)) as info:
        read_source(_spec(path, ["age"]))
    assert "\n" not in str(info.value) and str(info.value).startswith(str(path))


def test_folder_as_source(tmp_path: Path):
    with pytest.raises(DataError, match="is a folder, not a data file; set data.source to the file inside it"):
        read_source(_spec(tmp_path, ["age"]))


# --- outcomes coded as text, event columns ---------------------------------------------------------


def _text_outcome_frame(values: list[str], n: int = 40) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "arm": ["drug", "drug", "placebo", "placebo"] * (n // 4),  # each arm sees every value of a 2- or 4-cycle
            "status": [values[i % len(values)] for i in range(n)],
            "age": np.arange(n) * 0.5 + 40.25,  # all different: no repeated rows
        }
    )


def test_binary_outcome_coded_as_text_needs_an_explicit_positive_label():
    frame = _text_outcome_frame(["responder", "non-responder", " responder", "non-responder"], n=48)
    frame.loc[3, "status"] = None
    spec = _spec(Path("x"), ["age"], column="status", type="binary", positive="responder")
    trial = load_trial(spec, frame)
    assert trial.n == 47 and trial.dropped == {"missing outcome": 1}
    expected = frame["status"].dropna().str.strip().eq("responder").to_numpy(float)
    np.testing.assert_array_equal(trial.outcome, expected)
    assert trial.outcome.sum() == 24
    flipped = load_trial(
        spec.model_copy(update={"outcome": spec.outcome.model_copy(update={"positive": "non-responder"})}), frame
    )
    np.testing.assert_array_equal(flipped.outcome, 1 - trial.outcome)
    unset = spec.model_copy(update={"outcome": spec.outcome.model_copy(update={"positive": None})})
    with pytest.raises(DataError) as info:
        load_trial(unset, frame)
    assert str(info.value) == (
        "binary outcome 'status' is not coded 0/1 (values found: 'non-responder', 'responder'); "
        "set data.outcome.positive to the value that counts as 1"
    )
    wrong = spec.model_copy(update={"outcome": spec.outcome.model_copy(update={"positive": "yes"})})
    with pytest.raises(DataError, match="positive 'yes' is not a value of binary outcome 'status' \\(values found: 'non-resp"):
        load_trial(wrong, frame)
    three = _text_outcome_frame(["good", "bad", "ugly"])
    with pytest.raises(DataError, match="has 3 different values \\(values found: 'bad', 'good', 'ugly'\\)"):
        load_trial(spec.model_copy(update={"outcome": spec.outcome.model_copy(update={"positive": "good"})}), three)


def test_binary_outcome_coded_1_2_needs_positive_and_positive_only_for_binary():
    frame = _text_outcome_frame(["1", "2"])
    frame["status"] = frame["status"].astype(int)
    spec = _spec(Path("x"), ["age"], column="status", type="binary")
    with pytest.raises(DataError, match="not coded 0/1 \\(values found: '1', '2'\\); set data.outcome.positive"):
        load_trial(spec, frame)
    coded = load_trial(spec.model_copy(update={"outcome": spec.outcome.model_copy(update={"positive": 2})}), frame)
    np.testing.assert_array_equal(coded.outcome, (frame["status"] == 2).to_numpy(float))
    with pytest.raises(ParameterError, match="'positive' applies to binary outcomes only"):
        load_trial({"name": "x", "data": {"source": "builtin:actg175", "treatment": {"column": "arm", "treated": "ZDV", "control": "ddI"},
                    "outcome": {"column": "cd420", "type": "continuous", "positive": 1}}})  # fmt: skip


def test_a_binary_outcome_needs_ten_patients_with_and_without_it_in_each_arm():
    """3% events in 400 patients: some cross-fitting part of an arm would hold no event (a raw scikit-learn error
    before); now a one-line error naming the arm and the count."""
    frame = _text_outcome_frame(["no"], n=400)
    drug, placebo = (np.flatnonzero(frame["arm"] == arm) for arm in ("drug", "placebo"))
    frame.loc[np.r_[drug[:6], placebo[:20]], "status"] = "yes"
    spec = _spec(Path("x"), ["age"], column="status", type="binary", positive="yes")
    with pytest.raises(DataError) as info:
        load_trial(spec, frame)
    assert str(info.value) == (
        "binary outcome 'status': only 6 patient(s) with the outcome in the treated arm ('drug'); at least 10 per arm "
        "are needed to model it"
    )
    frame.loc[drug[6:], "status"] = "no"
    frame.loc[drug[:194], "status"] = "yes"  # 194 of 200 with it: 6 without
    with pytest.raises(DataError, match="only 6 patient\\(s\\) without the outcome in the treated arm"):
        load_trial(spec, frame)
    frame.loc[drug[20:], "status"] = "no"
    assert load_trial(spec, frame).outcome.sum() == 40  # 20 with it in each arm: enough


def test_event_and_time_column_errors_show_the_values_found():
    frame = _text_outcome_frame(["x"])
    frame["time"] = np.arange(40) + 1.0
    frame["event"] = ["yes", "no", "Yes", "2"] * 10
    spec = _spec(Path("x"), ["age"], type="time_to_event", time="time", event="event")
    with pytest.raises(DataError) as info:
        load_trial(spec, frame)
    assert str(info.value) == (
        "event column 'event' must be 0 (censored) or 1 (event); values found: '2', 'Yes', 'no', 'yes'; recode it"
    )
    frame["event"] = 1
    frame["time"] = frame["time"].astype(object)
    frame.loc[0, "time"] = "lost"
    with pytest.raises(DataError, match="time column 'time' is not numeric \\(values such as 'lost'\\)"):
        load_trial(spec, frame)


# --- duplicates ------------------------------------------------------------------------------------


def test_ids_differing_only_by_spaces_are_duplicates(small_csv: Path, tmp_path: Path):
    frame = pd.read_csv(small_csv)
    frame["patient_id"] = frame["patient_id"].astype(str)
    frame.loc[7, "patient_id"] = f" {frame.loc[2, 'patient_id']} "
    path = tmp_path / "ids.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError) as info:
        load_trial(small_params(path))
    assert str(info.value) == (
        "id column 'patient_id' has 1 duplicate id(s) (first at data rows 3 and 8), counting ids that differ only by "
        "surrounding spaces; ids must be unique: remove repeated rows or correct the ids"
    )
    frame.loc[7, "patient_id"] = "  "
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match="has 1 missing or blank id"):
        load_trial(small_params(path))


def test_repeated_rows_warn_with_counts(small_csv: Path):
    frame = pd.read_csv(small_csv)
    repeated = pd.concat([frame, frame.iloc[[4, 9, 9]]], ignore_index=True)
    params = small_params(small_csv, data__id_column=None)
    with pytest.warns(DataWarning, match="3 of 403 rows repeat an earlier row exactly \\(first: data row 401 repeats row 5\\)"):
        trial = load_trial(params, repeated)
    assert trial.n == 403 and len(trial.notes) == 1 and "set data.id_column" in trial.notes[0]
    relabelled = repeated.assign(patient_id=np.arange(403) + 10_000)
    with pytest.warns(DataWarning, match="3 of 403 rows repeat an earlier row exactly apart from the id"):
        load_trial(small_params(small_csv), relabelled)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_trial(small_params(small_csv), frame).notes == ()
    # The reports state the count (suppressed below min_cell) without row numbers.
    from subgroups.results import input_notes

    trial = load_trial(small_params(small_csv), relabelled)
    assert input_notes(trial, 10) == [
        "<10 of the rows read repeat an earlier row exactly apart from the id: possibly double entry; they were analysed "
        "as separate patients"
    ]
    assert (
        input_notes(trial, 3)[0].startswith("3 of the rows read")
        and input_notes(load_trial(small_params(small_csv), frame), 10) == []
    )


def test_an_outcome_far_from_the_rest_is_flagged_not_removed(small_csv: Path):
    from subgroups.results import input_notes

    frame = pd.read_csv(small_csv)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a normal outcome: nothing to say
        assert load_trial(small_params(small_csv), frame).far_outcomes == 0
    entered = frame.assign(response=frame["response"].where(frame.index != 7, 1e6))  # one value in the wrong unit
    with pytest.warns(
        DataWarning, match=r"1 value\(s\) of outcome 'response' lie more than 10 interquartile ranges .*farthest: 1e\+06"
    ):
        trial = load_trial(small_params(small_csv), entered)
    assert trial.n == 400 and trial.outcome.max() == 1e6  # kept: the analyst decides
    (note,) = input_notes(trial, 10)
    assert note.startswith("<10 value(s) of the outcome lie more than 10 interquartile ranges") and "1e" not in note


def test_an_undeclared_time_unit_is_said_wherever_times_are_labelled(small_csv: Path, tmp_path: Path):
    from subgroups.datasets.synthetic import simulate_trial
    from subgroups.params import load_params
    from subgroups.results import input_notes

    path = tmp_path / "tte.csv"
    simulate_trial("PM-TTE", n=200, seed=5).data.to_csv(path, index=False)
    params = small_params(path)
    params["data"]["outcome"] = {"type": "time_to_event", "time": "time", "event": "event"}
    with pytest.warns(DataWarning, match="data.outcome.time_unit is not declared, so the times in 'time' are labelled as days"):
        trial = load_trial(params)
    assert trial.spec.outcome.unit_of_time == "days" and input_notes(trial, 10) == [trial.notes[0]]
    # A run writes its parameters with defaults filled in and reads them back: the unit stays undeclared.
    again = load_params(load_params(params).to_dict())
    assert again.data.outcome.time_unit is None
    params["data"]["outcome"]["time_unit"] = "months"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        declared = load_trial(params)
    assert declared.notes == () and input_notes(declared, 10) == [] and declared.spec.outcome.unit_of_time == "months"


# --- identifiers: row numbers and dates --------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (lambda n, rng: rng.permutation(n) + 1, "'subject' holds the whole numbers 1 to 400 once each"),
        (lambda n, rng: rng.permutation(n).astype(float), "'subject' holds the whole numbers 0 to 399 once each"),
        (lambda n, rng: 10_000 + 7 * rng.permutation(n), "'subject' holds a different whole number for every patient"),
        (lambda n, rng: [f"2021/{1 + i % 12:02d}/{1 + i % 28:02d}" for i in range(n)], "'subject' holds dates"),
        (lambda n, rng: [f"{1 + i % 28:02d}.{1 + i % 12:02d}.2021" for i in range(n)], "'subject' holds dates"),
        (lambda n, rng: [f"{1 + i % 28:02d}MAR2021" for i in range(n)], "'subject' holds dates"),
        (lambda n, rng: [20210101 + i % 28 for i in range(n)], "'subject' holds dates"),
        (lambda n, rng: pd.to_datetime("2021-01-01") + pd.to_timedelta(np.arange(n) % 50, unit="D"), "'subject' holds dates"),
    ],
)
def test_row_numbers_and_dates_are_refused_as_features(small_csv: Path, values, message):
    frame = pd.read_csv(small_csv)
    frame["subject"] = values(len(frame), np.random.default_rng(3))
    params = small_params(small_csv)
    params["data"]["features"]["other"] = [*params["data"]["features"]["other"], "subject"]
    with pytest.raises(DataError, match=message) as info:
        load_trial(params, frame)
    assert "\n" not in str(info.value)


def test_whole_number_measurements_are_not_mistaken_for_identifiers(small_csv: Path):
    frame = pd.read_csv(small_csv)
    rng = np.random.default_rng(4)
    frame["cells"] = rng.choice(1_000_000, len(frame), replace=False)  # all different, but spread too wide to be an id
    frame["visits"] = rng.integers(0, 12, len(frame))
    params = small_params(small_csv)
    params["data"]["features"]["other"] = [*params["data"]["features"]["other"], "cells", "visits"]
    trial = load_trial(params, frame)
    assert trial.encoder.describe("cells") == "numeric" and "visits" in trial.feature_names
