"""Helpers shared by the tests: paths of the shipped parameter files and small fast configurations."""

from __future__ import annotations

import copy
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
