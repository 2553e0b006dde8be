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


OVERALL_CLAIMS = ("stratified", "stratified_mast", "adaptive_enrichment", "enriched_stratified")


def assert_menu_consistent(menu) -> int:
    """No design of `menu` that claims the overall population promises more power for that claim than
    all-comers would have with the same patients (events, for time to event) at all-comers' α, with
    all-comers' own power as the anchor (normal drift scaling, as the menu plans). Returns how many
    designs were compared."""
    import math

    from scipy import stats

    d1 = menu.option("all_comers")
    if d1.n_randomized is None:  # no overall benefit planned: no design may promise the overall claim
        assert all((menu.option(n).power_overall or 0.0) < 0.5 for n in OVERALL_CLAIMS)
        return 0
    tte = menu.outcome == "time_to_event"
    units_1 = d1.events_raw if tte else d1.n_randomized_raw
    per_patient = d1.events_raw / d1.n_randomized_raw if tte else 1.0
    z = stats.norm.isf(d1.alpha_overall)
    drift = z + stats.norm.ppf(d1.power_overall)
    compared = 0
    for name in OVERALL_CLAIMS:
        option = menu.option(name)
        if option.n_randomized is None or option.power_overall is None:
            continue
        assert option.alpha_overall <= d1.alpha_overall + 1e-12, name
        units = option.events if tte and name != "adaptive_enrichment" else option.n_randomized * per_patient
        all_comers_power = float(stats.norm.cdf(drift * math.sqrt(units / units_1) - z))
        slack = 0.02 if name == "adaptive_enrichment" else 1e-6  # simulated power
        assert option.power_overall <= all_comers_power + slack, (name, option.power_overall, all_comers_power)
        if option.power_overall >= d1.power_overall - 1e-9:  # as powerful for F: at least all-comers' size
            assert units >= units_1 * (1 - 1e-6) or name == "adaptive_enrichment", (name, units, units_1)
        compared += 1
    return compared
