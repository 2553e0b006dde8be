"""Holm's step-down adjustment against statsmodels' implementation and a published example."""

import numpy as np
import pytest

from subgroups.inference import holm, weighted_holm


def test_holm_matches_statsmodels_on_random_p_values_with_ties():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(8)
    for m in (1, 2, 5, 30):
        p = np.round(rng.uniform(0, 0.2, m), 3)  # rounding makes ties
        assert holm(p) == pytest.approx(multipletests(p, method="holm")[1], abs=1e-15)


def test_holm_worked_example_and_equal_weight_graph():
    # Holm (1979): p = 0.01, 0.04, 0.03, 0.005 -> adjusted 0.03, 0.06, 0.06, 0.02.
    p = [0.01, 0.04, 0.03, 0.005]
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert weighted_holm(p, [0.25] * 4)[0] == pytest.approx(holm(p))
