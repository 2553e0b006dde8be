"""Shared fixtures: one fitted demo analysis per session, two complete runs with planted markers (the
end-to-end, privacy and browser tests read them), and small trials written to files.

`make test` runs the suite on two pytest-xdist workers (`-n auto --dist loadfile`): a file's tests share one
worker, so module fixtures are built once; the two complete runs are built once for both workers (`_once`)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import yaml
from support import ACTG_MARKERS, ACTG_YAML, DEMO_YAML, FAST, MARKERS, cli, demo_tree, small_params, write_params

import subgroups
from subgroups.datasets.synthetic import simulate_trial


@pytest.fixture(scope="session")
def demo_analysis() -> subgroups.Analysis:
    return subgroups.analyze(None, DEMO_YAML)


@pytest.fixture(scope="session")
def demo_truth():
    sim = demo_tree()["data"]["simulation"]
    return simulate_trial(scenario=sim["scenario"], n=sim["n"], seed=sim["seed"], b1_rel=sim["b1_rel"])


@pytest.fixture()
def small_csv(tmp_path: Path) -> Path:
    frame: pd.DataFrame = simulate_trial("PM-SNP", n=400, seed=5, b1_rel=2).data
    path = tmp_path / "trial.csv"
    frame.to_csv(path, index=False)
    return path


def _once(tmp_path_factory, name: str, build: Callable[[Path], Path]) -> Path:
    """`build(folder)` once per test session. Under pytest-xdist the first worker to ask builds it in a folder
    all workers share, holding a lock; the others wait on the lock and read the path it wrote."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return build(tmp_path_factory.mktemp(name))
    folder = tmp_path_factory.getbasetemp().parent / f"shared-{name}"
    with open(folder.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        done = folder.with_suffix(".done")
        if not done.exists():
            folder.mkdir(exist_ok=True)
            done.write_text(str(build(folder)))
        return Path(done.read_text())


@pytest.fixture(scope="session")
def marked_run(tmp_path_factory) -> Path:
    """One complete run on a small trial in which every patient id and some values are unique markers."""
    return _once(tmp_path_factory, "run", _build_marked_run)


def _build_marked_run(tmp: Path) -> Path:
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


@pytest.fixture(scope="session")
def marked_actg_run(tmp_path_factory) -> Path:
    """The built-in ACTG 175 trial with unique markers planted, analysed on its time-to-event outcome."""
    return _once(tmp_path_factory, "actg", _build_marked_actg_run)


def _build_marked_actg_run(tmp: Path) -> Path:
    from subgroups.datasets.actg175 import load_actg175

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
        "time_unit": "days",
        "higher_is_better": True,
    }
    tree["estimation"] = {**tree["estimation"], **FAST["estimation"]}
    result = cli("run", str(write_params(tmp, tree)), "-o", str(tmp / "runs"), cwd=tmp)
    assert result.returncode == 0, result.stderr
    return tmp / "runs" / "actg_marked"
