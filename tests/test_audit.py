from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import small_params

from subgroups.audit import audit_trial
from subgroups.data import load_trial
from subgroups.privacy import suppress_count, suppress_group


def test_suppress_count():
    assert suppress_count(0, 10) == 0
    assert suppress_count(3, 10) == "<10"
    assert suppress_count(10, 10) == 10


def test_complementary_suppression_hides_a_second_cell():
    shown = suppress_group(pd.Series({"a": 3, "b": 40, "c": 25}), 10)
    # With the total published, hiding only "a" would reveal it as total - b - c.
    assert shown.to_dict() == {"a": "<10", "b": 40, "c": "<10"}
    two_small = suppress_group(pd.Series({"a": 3, "b": 4, "c": 50}), 10)
    assert two_small.to_dict() == {"a": "<10", "b": "<10", "c": 50}


def test_standardized_differences_match_hand_computation(small_csv: Path):
    trial = load_trial(small_params(small_csv))
    audit = audit_trial(trial, 10)
    bmi = trial.features["bmi"].to_numpy()
    t, c = bmi[trial.treatment == 1], bmi[trial.treatment == 0]
    expected = (t.mean() - c.mean()) / np.sqrt((t.var(ddof=1) + c.var(ddof=1)) / 2)
    row = audit.balance[audit.balance.feature == "bmi"].iloc[0]
    assert row["SMD"] == pytest.approx(expected, abs=1e-3)
    current = audit.balance[(audit.balance.feature == "smoking") & audit.balance.level.str.contains("current")].iloc[0]
    p1 = (trial.features["smoking"][trial.treatment == 1] == "current").mean()
    p0 = (trial.features["smoking"][trial.treatment == 0] == "current").mean()
    assert current["SMD"] == pytest.approx((p1 - p0) / np.sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2), abs=1e-3)


def test_small_cells_and_rare_levels_are_not_shown(small_csv: Path, tmp_path: Path):
    frame = pd.read_csv(small_csv)
    frame.loc[0, "smoking"] = "rare-level-marker"
    path = tmp_path / "rare.csv"
    frame.to_csv(path, index=False)
    audit = audit_trial(load_trial(small_params(path)), 10)
    text = audit.balance.to_string() + audit.schema.to_string()
    assert "rare-level-marker" not in text
    assert "(levels with < 10 patients each)" in text
    smoking = audit.balance[audit.balance.feature == "smoking"]
    assert (smoking == "<10").any().any()
