"""Up-front memory estimate of an analysis, and a one-line refusal when it cannot fit.

The estimate is a fit to peak resident memory measured by `benchmarks/speed.py` (full `analyze`,
imports included) on n in {1,000; 10,000; 100,000} x p in {30, 100}:

    peak ≈ BASE + n · (PER_PATIENT + PER_CELL · p)

with a safety factor. Memory-aware choices keep the growth linear: causal-forest trees grow on
subsamples of at most `effects.TREE_ROWS` patients, SHAP runs on `estimation.shap_rows` patients, and
nuisance models are histogram gradient boosting (binned features) or ridge.
"""

from __future__ import annotations

import psutil

from subgroups.errors import DataError

MB = 2**20
BASE = 355 * MB  # interpreter, numpy / scikit-learn / econml / shap imports
PER_PATIENT = 4_000  # bytes per patient: folds, scores, the forest's per-patient arrays
PER_CELL = 56  # bytes per patient x feature: copies of the feature matrix (float64, binned) across folds and learners
SAFETY = 1.3
WARN_SHARE = 0.6  # warn when the estimate exceeds this share of the memory available


class MemoryWarning(UserWarning):
    """An analysis will use most of the memory available."""


def estimate_peak_memory(n: int, p: int) -> int:
    """Estimated peak memory of `analyze` in bytes for n patients and p encoded features."""
    return int(SAFETY * (BASE + n * (PER_PATIENT + PER_CELL * p)))


def available_memory() -> int:
    """Memory the operating system can give this process now, in bytes."""
    return int(psutil.virtual_memory().available)


def check_memory(n: int, p: int, available: int | None = None) -> str | None:
    """Refuse (DataError) a run that cannot fit in memory; a warning text when it is close; else None."""
    need, have = estimate_peak_memory(n, p), available_memory() if available is None else available
    if need > have:
        raise DataError(
            f"this analysis of {n:,} patients x {p} features needs about {need / 2**30:.1f} GB of memory and only "
            f"{have / 2**30:.1f} GB are available; run it on a larger machine or analyse a random sample of patients"
        )
    if need > WARN_SHARE * have:
        return (
            f"this analysis needs about {need / 2**30:.1f} GB of memory, {need / have:.0%} of the {have / 2**30:.1f} GB "
            "available; other programs may slow it down"
        )
    return None


def describe(n: int, p: int) -> str:
    """One line for `subgroups validate`: the estimate against what is available."""
    return f"estimated peak memory {estimate_peak_memory(n, p) / 2**30:.1f} GB ({available_memory() / 2**30:.1f} GB available)"
