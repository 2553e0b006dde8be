"""Memory: an up-front estimate, a one-line refusal when a run cannot fit, a warning when it is close."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from support import ROOT, small_params

from subgroups import analysis as analysis_module
from subgroups import analyze, resources
from subgroups.errors import DataError

GB = 2**30


def test_estimate_grows_with_patients_and_features_and_matches_measured_peaks():
    small, wide, large = (resources.estimate_peak_memory(n, p) for n, p in ((1_000, 30), (1_000, 100), (100_000, 30)))
    assert small < wide < large
    # Measured by benchmarks/speed.py (results/speed.csv): the estimate covers each peak without wild excess.
    rows = pd.read_csv(ROOT / "benchmarks" / "results" / "speed.csv")
    measured = rows[(rows["method"] == "subgroups") & rows["peak_mb"].notna()].groupby(["n", "p"])["peak_mb"].max()
    assert len(measured) >= 4
    for (n, p), measured_mb in measured.items():
        estimate_mb = resources.estimate_peak_memory(n, p) / 2**20
        assert measured_mb <= estimate_mb <= 2 * measured_mb, (n, p, measured_mb, estimate_mb)


def test_a_run_that_cannot_fit_is_refused_in_one_line_and_a_tight_one_warned():
    need = resources.estimate_peak_memory(1_000_000, 200)
    with pytest.raises(DataError, match=r"needs about .* GB of memory and only 4\.0 GB are available") as info:
        resources.check_memory(1_000_000, 200, available=4 * GB)
    assert "\n" not in str(info.value)
    assert "other programs may slow it down" in resources.check_memory(1_000_000, 200, available=int(need / 0.8))
    assert resources.check_memory(1_000, 30, available=64 * GB) is None


def test_analyze_stops_before_fitting_when_memory_is_short(small_csv: Path, monkeypatch):
    monkeypatch.setattr(resources, "available_memory", lambda: 100 * 2**20)
    with pytest.raises(DataError, match="GB of memory"):
        analyze(None, small_params(small_csv))
    monkeypatch.setattr(resources, "available_memory", lambda: int(resources.estimate_peak_memory(400, 30) / 0.7))

    class Fitted(Exception):
        pass

    def fit_effects(*args, **kwargs):  # the warning comes before any fitting: stop there
        raise Fitted

    monkeypatch.setattr(analysis_module, "fit_effects", fit_effects)
    with pytest.warns(resources.MemoryWarning, match="of the .* GB available"), pytest.raises(Fitted):
        analyze(None, small_params(small_csv))
