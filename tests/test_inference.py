"""Holm's step-down adjustment against statsmodels' implementation and a published example; the selection-adjusted estimate."""

import numpy as np
import pytest

from subgroups.errors import ParameterError
from subgroups.inference import holm, selective_estimate, weighted_holm


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


def test_selective_estimate_without_selection_is_the_usual_estimate():
    est, low, high = selective_estimate(0.7, 0.2, 0.7, 0.7)
    assert est == pytest.approx(0.7, abs=1e-8)
    assert (low, high) == pytest.approx((0.7 - 1.959964 * 0.2, 0.7 + 1.959964 * 0.2), abs=1e-6)
    # Mirror image on the lower side of the excluded interval.
    up, down = selective_estimate(2.3, 1.0, -2.0, 2.0), selective_estimate(-2.3, 1.0, -2.0, 2.0)
    assert up == pytest.approx(tuple(-x for x in (down[0], down[2], down[1])), abs=1e-7)
    with pytest.raises(ParameterError, match="inside the excluded interval"):
        selective_estimate(0.5, 1.0, -2.0, 2.0)


@pytest.mark.parametrize("mu", [0.0, 1.0, 3.0])
@pytest.mark.slow
def test_selective_estimate_is_median_unbiased_and_covers_given_selection(mu):
    # T ~ N(mu, 1) reported only when |T| > 2.4 (the Bonferroni threshold for ~10 candidates).
    rng = np.random.default_rng(11)
    t = rng.normal(mu, 1.0, 200_000)
    t = t[np.abs(t) > 2.4][:700]  # the tolerances below scale with the number of selected draws
    fits = np.array([selective_estimate(x, 1.0, -2.4, 2.4) for x in t])
    mc = 3 * np.sqrt(0.25 / t.size)
    assert abs(np.mean(fits[:, 0] > mu) - 0.5) < mc  # conditionally median-unbiased
    assert abs(np.mean((fits[:, 1] <= mu) & (mu <= fits[:, 2])) - 0.95) < 3 * np.sqrt(0.95 * 0.05 / t.size)
    if mu == 1.0:  # where selection matters, the raw estimate is far too large; the adjusted one is not
        assert np.mean(t[t > 0]) - mu > 1.0
        assert abs(np.median(fits[:, 0]) - mu) < 0.2
