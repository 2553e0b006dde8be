"""Helpers shared by the tests: paths of the shipped parameter files and small fast configurations."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEMO_YAML = ROOT / "params" / "demo.yaml"
ACTG_YAML = ROOT / "params" / "actg175.yaml"

# A fast configuration for end-to-end tests: small forest, few SHAP rows.
FAST = {"estimation": {"n_estimators": 100, "shap_rows": 80, "folds": 3, "nuisance_iterations": 60}}


def demo_tree() -> dict:
    return yaml.safe_load(DEMO_YAML.read_text())


def small_params(csv: Path, **changes) -> dict:
    """Parameters for a small simulated trial saved as CSV (PM-SNP columns)."""
    tree = demo_tree()
    tree["name"] = changes.pop("name", "small")
    tree["data"]["source"] = str(csv)
    tree["data"].pop("simulation", None)
    tree["estimation"] = {**tree["estimation"], **FAST["estimation"]}
    for dotted, value in changes.items():
        node = tree
        *path, last = dotted.split("__")
        for key in path:
            node = node.setdefault(key, {})
        node[last] = value
    return copy.deepcopy(tree)


# Unique values planted in the end-to-end runs (conftest's marked_run, marked_actg_run): none may reach a report.
MARKERS = {"id": "QZXPATIENT", "bmi": "31.7654321", "crp": "98765.4321", "age": "18.1234567", "response": "4.8675309"}


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "subgroups.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def write_params(tmp_path: Path, tree: dict, name: str = "params.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    return path


ACTG_MARKERS = {"patient_id": "QZXACTG", "wtkg": "71.2345678", "cd40": "351.987654", "days": "777.123457", "age": "44.5671234"}


def design_scenario_a():
    """Design inputs of a worked example used by the design and recommendation tests: sigma 1, prevalence
    0.4, effects 0.4 in the subgroup, 0.1 in the complement, 0.22 overall, heterogeneity detected."""
    from subgroups.design import DesignInputs

    return DesignInputs(
        outcome="continuous",
        prevalence=0.4,
        effect_subgroup=0.4,
        se_subgroup=0.1,
        effect_complement=0.1,
        se_complement=0.08,
        effect_overall=0.22,
        se_overall=0.06,
        heterogeneity_detected=True,
        outcome_sd=1.0,
    )
