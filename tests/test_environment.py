"""environment.yml and pyproject.toml must name the same packages."""

from __future__ import annotations

import re
import tomllib

import yaml
from support import ROOT


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_and_pyproject_name_the_same_packages():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = {_name(r) for group in project["optional-dependencies"].values() for r in group} - {
        "subgroups"
    }  # dev = [report,batch] + tools
    declared = {_name(r) for r in project["dependencies"]} | extras
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = set(), set()
    for item in env["dependencies"]:
        if isinstance(item, dict):
            pip |= {_name(r) for r in item["pip"] if not r.startswith("-e")}
        else:
            conda.add(_name(item))
    assert declared == (conda | pip) - {"python", "pip"}


def test_constraints_pin_every_declared_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {_name(line): line for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line}
    optional = [r for group in project["optional-dependencies"].values() for r in group if _name(r) != "subgroups"]
    for requirement in [*project["dependencies"], *optional]:
        assert _name(requirement) in pins, f"{requirement} has no exact version in constraints.txt"
    assert pins["econml"] == "econml==0.17.0"
    assert pins["shap"].startswith("shap==0.51.")
