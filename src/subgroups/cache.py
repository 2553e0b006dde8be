"""The fit cache of a run folder: keys from data, parameters, code and dependency versions; atomic pickle files."""

from __future__ import annotations

import functools
import hashlib
import json
import pickle
import platform
from pathlib import Path
from typing import Any

from subgroups.params import RunParams
from subgroups.provenance import package_version

# The packages whose code computes or pickles part of a fitted analysis: an upgrade of any of them invalidates the cache.
FIT_PACKAGES = ("subgroups", "numpy", "scipy", "pandas", "scikit-learn", "econml", "shap", "statsmodels", "lifelines")


def cache_key(run: RunParams, trial_fingerprint: str, whole: bool = False) -> str:
    """Key of a cached fit: data, the parameters that feed the fit, and the code with its dependencies' versions.

    With `whole`, every parameter counts: the key of a complete analysis (tests, subgroups, designs).
    """
    sections = (
        run.to_dict()
        if whole
        else {"data": run.data.model_dump(mode="json"), "estimation": run.estimation.model_dump(mode="json")}
    )
    if not whole and run.data.outcome.type == "time_to_event":
        sections["min_cell"] = run.report.min_cell  # the default horizon depends on it (outcomes.default_horizon)
    blob = json.dumps({"fp": trial_fingerprint, "params": sections, "code": code_fingerprint()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def code_fingerprint() -> str:
    """sha256 of the package's source, the Python version and the versions of `FIT_PACKAGES`: a cached fit
    is never reused by different code, nor unpickled by a different numpy, scikit-learn or econml."""
    versions = {name: package_version(name) for name in FIT_PACKAGES}
    blob = json.dumps({"source": _source_digest(), "python": platform.python_version(), "packages": versions}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


@functools.cache
def _source_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def fit_entry(folder: Path, run: RunParams, trial_fingerprint: str) -> Path:
    """The file of the fit (data, effects, explanation) for these data and fitting parameters."""
    return folder / f"analysis-{cache_key(run, trial_fingerprint)}.pkl"


def complete_entry(folder: Path, run: RunParams, trial_fingerprint: str) -> Path:
    """The file of the complete analysis for these data and all parameters."""
    return folder / f"complete-{cache_key(run, trial_fingerprint, whole=True)}.pkl"


def load(path: Path) -> Any:
    """The cached value, or None when there is none or it cannot be read back (a damaged or truncated file, e.g.
    after a full disk): a cache miss, so the analysis is fitted again and the entry replaced."""
    if not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)  # noqa: S301 - our own cache file, inside the run folder
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, TypeError, ValueError, OSError):
        return None


def writable_folder(folder: str | Path) -> Path:
    """`folder`, created if needed; a `RunError` in one line when it cannot be created or written."""
    import os

    from subgroups.errors import RunError

    path = Path(folder).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create the cache folder {path} ({exc.strerror}); pass a writable cache_dir") from None
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        raise RunError(f"the cache folder {path} is not a writable folder; pass a writable cache_dir")
    return path


def store(path: Path, value: Any) -> None:
    """Write `value` atomically to `path` (`<kind>-<key>.pkl`) and remove the folder's other entries of that kind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as handle:
        pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    kind = path.name.split("-", 1)[0]
    for old in path.parent.glob(f"{kind}-*.pkl"):
        if old != path:
            old.unlink(missing_ok=True)
