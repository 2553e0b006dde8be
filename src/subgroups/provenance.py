"""Where a result came from: time, data fingerprint, seed, git commit, Python and package versions."""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from subgroups.data import TrialData
from subgroups.params import RunParams

# The packages whose versions results.json records (what computed, explained and rendered the numbers).
PACKAGES = ("subgroups", "econml", "shap", "scikit-learn", "numpy", "pandas", "scipy", "statsmodels", "lifelines", "papermill")


class Provenance(BaseModel):
    """The `provenance` section of results.json: enough to reproduce the run, or to see why it differs."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    generated_at: str = Field(description="UTC time the results were built (ISO 8601, seconds); renewed on a cache hit")
    data_source: str = Field(
        description="where the data came from: the file's name (without its folder; params.yaml in the run folder "
        "holds the path), a built-in data set, or 'data frame'"
    )
    data_sha256: str = Field(description="sha256 of the analysed data")
    seed: int
    git_commit: str | None = Field(description="the project's commit when it runs from a git checkout, else null")
    python: str
    packages: dict[str, str | None] = Field(description="installed version per package of PACKAGES; null when not installed")

    def to_dict(self) -> dict[str, object]:
        return self.model_dump(mode="json")


def package_version(package: str) -> str | None:
    """The installed version of `package`, or None when it is not installed."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def git_commit() -> str | None:
    """The project's git commit when it runs from a checkout, else None."""
    try:
        here = Path(__file__).resolve().parent
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5, check=False)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def generated_now() -> str:
    """The current UTC time as results.json states it (ISO 8601, seconds)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def provenance(run: RunParams, trial: TrialData) -> Provenance:
    return Provenance(
        generated_at=generated_now(),
        data_source=trial.source,
        data_sha256=trial.fingerprint,
        seed=run.estimation.seed,
        git_commit=git_commit(),
        python=platform.python_version(),
        packages={name: package_version(name) for name in PACKAGES},
    )
