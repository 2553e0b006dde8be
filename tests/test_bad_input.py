"""Bad input catalogue (issue 7): each case is one line on stderr, exit code 2, input file untouched."""

from __future__ import annotations

import hashlib
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
    "feature in two families": (lambda f: f, {"families": {"genetic": ["snp_01"], "other": ["snp_01", "age"]}}, "two families"),
    "free-text column": (_with("notes", lambda f: [f"note {i}" for i in range(len(f))]), {"feature": "notes"}, "free text"),
}

TTE_CASES = {
    "negative survival times": (_with("time", lambda f: f.time.where(f.index != 0, -1.0)), "zero or negative times"),
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
    change(_tte_frame()).to_csv(path, index=False)
    params = small_params(path)
    params["data"]["outcome"] = {"type": "time_to_event", "time": "time", "event": "event"}
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
