"""End to end: `subgroups run` turns a parameter file into HTML reports, or fails with one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml
from support import ACTG_YAML, FAST, small_params

from subgroups import runner
from subgroups.errors import RunError

MARKERS = {"id": "QZXPATIENT", "bmi": "31.7654321", "crp": "98765.4321", "age": "18.1234567", "response": "4.8675309"}


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "subgroups.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def write_params(tmp_path: Path, tree: dict, name: str = "params.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def marked_run(tmp_path_factory) -> Path:
    """One complete run on a small trial in which every patient id and some values are unique markers."""
    tmp = tmp_path_factory.mktemp("run")
    from subgroups.datasets.synthetic import simulate_trial

    frame = simulate_trial("PM-SNP", n=400, seed=5, b1_rel=2).data
    frame["patient_id"] = [f"{MARKERS['id']}{i:05d}" for i in range(len(frame))]
    for column in ("bmi", "crp", "age", "response"):
        frame[column] = frame[column].astype(float)
        frame.loc[7, column] = float(MARKERS[column])
    csv = tmp / "trial.csv"
    frame.to_csv(csv, index=False)
    params = write_params(tmp, small_params(csv, name="marked"))
    result = cli("run", str(params), "-o", str(tmp / "runs"), cwd=tmp)
    assert result.returncode == 0, result.stderr
    assert "reports:" in result.stdout
    return tmp / "runs" / "marked"


def test_run_leaves_reports_index_and_results(marked_run: Path):
    for name in (*runner.NOTEBOOKS, "index"):
        assert (marked_run / f"{name}.html").is_file()
    results = json.loads((marked_run / "results.json").read_text())
    assert results["schema_version"] == 1
    assert {"provenance", "params", "data", "ate", "importance", "heterogeneity", "subgroups", "design"} <= set(results)
    assert results["data"]["n_treated"] == 200 and results["data"]["n_control"] == 200
    assert len(results["provenance"]["data_sha256"]) == 64
    assert results["provenance"]["packages"]["econml"] == "0.17.0"
    assert json.loads((marked_run / "status.json").read_text())["status"] == "succeeded"


def test_reports_are_self_contained_without_code(marked_run: Path):
    for name in runner.NOTEBOOKS:
        page = (marked_run / f"{name}.html").read_text()
        assert 'src="http' not in page and 'href="http' not in page
        assert "subgroups.open_analysis" not in page  # code cells are not rendered
        assert "Traceback" not in page and "Warning" not in page
    assert "data:image/png;base64" in (marked_run / "03_explain.html").read_text()


def assert_no_marker_in_outputs(run_dir: Path, markers: dict[str, str]) -> None:
    """No planted marker in any HTML report or in results.json of a finished run."""
    outputs = [*run_dir.glob("*.html"), run_dir / "results.json"]
    assert len(outputs) == len(runner.NOTEBOOKS) + 2
    for path in outputs:
        text = path.read_text()
        for marker in markers.values():
            assert marker not in text, f"{marker} found in {path.name}"


def test_no_patient_level_value_in_any_report(marked_run: Path):
    assert_no_marker_in_outputs(marked_run, MARKERS)


ACTG_MARKERS = {"patient_id": "QZXACTG", "wtkg": "71.2345678", "cd40": "351.987654", "days": "777.123457", "age": "44.5671234"}


@pytest.fixture(scope="module")
def marked_actg_run(tmp_path_factory) -> Path:
    """The built-in ACTG 175 trial with unique markers planted, analysed on its time-to-event outcome."""
    from subgroups.datasets.actg175 import load_actg175

    tmp = tmp_path_factory.mktemp("actg")
    frame = load_actg175()
    frame["patient_id"] = [f"{ACTG_MARKERS['patient_id']}{i:05d}" for i in range(len(frame))]
    for column in ("wtkg", "cd40", "days", "age"):
        frame[column] = frame[column].astype(float)
        frame.loc[11, column] = float(ACTG_MARKERS[column])
    frame.to_csv(tmp / "actg.csv", index=False)
    tree = yaml.safe_load(ACTG_YAML.read_text())
    tree["name"] = "actg_marked"
    tree["data"]["source"] = str(tmp / "actg.csv")
    tree["data"]["outcome"] = {
        "type": "time_to_event",
        "time": "days",
        "event": "event",
        "horizon": 900,
        "higher_is_better": True,
    }
    tree["estimation"] = {**tree["estimation"], **FAST["estimation"]}
    result = cli("run", str(write_params(tmp, tree)), "-o", str(tmp / "runs"), cwd=tmp)
    assert result.returncode == 0, result.stderr
    return tmp / "runs" / "actg_marked"


def test_no_patient_level_value_from_the_builtin_trial_in_any_report(marked_actg_run: Path):
    results = json.loads((marked_actg_run / "results.json").read_text())
    assert results["ate"]["scale"].startswith("difference in restricted mean survival time")
    assert_no_marker_in_outputs(marked_actg_run, ACTG_MARKERS)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"estimation__seeed": 3}, "unknown key 'estimation.seeed'; did you mean 'estimation.seed'?"),
        (
            {"data__outcome": {"column": "outcome_score", "type": "continuous"}},
            "outcome outcome_score column 'outcome_score' not found",
        ),
        ({"data__treatment": {"column": "arm", "treated": "Drug A", "control": "placebo"}}, "treated label 'Drug A' not found"),
    ],
)
def test_user_errors_exit_2_with_one_line(small_csv: Path, tmp_path: Path, change, expected):
    params = write_params(tmp_path, small_params(small_csv, name="bad", **change))
    result = cli("run", str(params), "-o", str(tmp_path / "runs"), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0]
    assert not (tmp_path / "runs" / "bad" / "index.html").exists()


def test_failing_notebook_marks_run_failed(small_csv: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(runner, "notebooks_dir", lambda: _notebooks(tmp_path, "raise ValueError('deliberate failure')"))
    with pytest.raises(RunError, match="notebook 01_data_audit failed in cell .*ValueError: deliberate failure") as info:
        runner.run(small_params(small_csv, name="broken"), out_dir=tmp_path / "runs")
    assert "\n" not in str(info.value)
    run_dir = tmp_path / "runs" / "broken"
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "failed" and "deliberate failure" in status["reason"]
    assert not (run_dir / "index.html").exists() and not (run_dir / "results.json").exists()


def test_validate_command(small_csv: Path, tmp_path: Path):
    params = write_params(tmp_path, small_params(small_csv))
    result = cli("validate", str(params), cwd=tmp_path)
    assert result.returncode == 0 and "400 patients, 30 features" in result.stdout
    assert "estimated peak memory" in result.stdout and "GB available" in result.stdout
    frame = pd.read_csv(small_csv)
    assert len(frame) == 400  # input untouched


def _notebooks(tmp_path: Path, code: str) -> Path:
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir(exist_ok=True)
    for name in runner.NOTEBOOKS:
        nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "subgroups", "language": "python", "display_name": "x"}})
        params_cell = nbformat.v4.new_code_cell('params_file = ""\nrun_dir = ""')
        params_cell.metadata["tags"] = ["parameters"]
        nb.cells = [params_cell, nbformat.v4.new_code_cell(code)]
        nbformat.write(nb, notebooks / f"{name}.ipynb")
    return notebooks


def test_killed_kernel_marks_run_failed(small_csv: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(runner, "notebooks_dir", lambda: _notebooks(tmp_path, "import os\nos._exit(1)"))
    with pytest.raises(RunError, match="notebook 01_data_audit") as info:
        runner.run(small_params(small_csv, name="killed"), out_dir=tmp_path / "runs")
    assert "\n" not in str(info.value)
    status = json.loads((tmp_path / "runs" / "killed" / "status.json").read_text())
    assert status["status"] == "failed" and not (tmp_path / "runs" / "killed" / "index.html").exists()


def test_interrupted_run_is_failed_and_a_rerun_starts_clean(small_csv: Path, tmp_path: Path, monkeypatch):
    params = small_params(small_csv, name="interrupted")
    run_dir = tmp_path / "runs" / "interrupted"
    run_dir.mkdir(parents=True)
    (run_dir / "index.html").write_text("stale page from an older run")

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(runner, "_execute", interrupt)
        with pytest.raises(KeyboardInterrupt):
            runner.run(params, out_dir=tmp_path / "runs")
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "failed" and "KeyboardInterrupt" in status["reason"]
    assert not (run_dir / "index.html").exists()
    result = runner.run(params, out_dir=tmp_path / "runs")
    assert json.loads((run_dir / "status.json").read_text())["status"] == "succeeded"
    assert result.index_html.read_text() != "stale page from an older run"
    assert len(list((run_dir / "cache").glob("analysis-*.pkl"))) == 1  # the interrupted run's fit was reused
