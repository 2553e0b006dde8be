"""Shared fixtures: one fitted demo analysis per session, and small trials written to files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from support import DEMO_YAML, demo_tree

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
