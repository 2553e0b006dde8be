from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import small_params

from subgroups.data import load_trial
from subgroups.datasets.actg175 import BASELINE, load_actg175
from subgroups.errors import DataError


def test_csv_and_parquet_give_the_same_trial(small_csv: Path, tmp_path: Path):
    frame = pd.read_csv(small_csv)
    parquet = tmp_path / "trial.parquet"
    frame.to_parquet(parquet)
    a = load_trial(small_params(small_csv))
    b = load_trial(small_params(parquet))
    assert a.n == b.n == 400
    np.testing.assert_allclose(a.X.to_numpy(), b.X.to_numpy())
    np.testing.assert_array_equal(a.treatment, b.treatment)


def test_sas_transport_file(small_csv: Path, tmp_path: Path):
    pyreadstat = pytest.importorskip("pyreadstat")
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
        ("birth", lambda n: [f"1950-01-{1 + i % 28:02d}" for i in range(n)], "look like dates"),
        ("notes", lambda n: [f"free text {i}" for i in range(n)], "free text"),
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
