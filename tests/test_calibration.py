"""The factor that scales the model's spread in calibrated effects: the posterior mean of the BLP slope."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from subgroups.calibration import SLAB_TOP, posterior_slope


def _by_quadrature(slope: float, se: float, prior_zero: float) -> float:
    """E[β | β̂] under β = 0 (probability prior_zero) or uniform on [0, SLAB_TOP], clipped to [0, 1]."""
    likelihood = lambda beta: stats.norm.pdf(slope, beta, se) / SLAB_TOP  # noqa: E731
    near = [min(max(slope, 0), SLAB_TOP)]
    first = integrate.quad(lambda beta: beta * likelihood(beta), 0, SLAB_TOP, points=near)[0]
    mass = integrate.quad(likelihood, 0, SLAB_TOP, points=near)[0]
    mean = (1 - prior_zero) * first / (prior_zero * stats.norm.pdf(slope, 0, se) + (1 - prior_zero) * mass)
    return min(max(mean, 0.0), 1.0)


@pytest.mark.parametrize(
    ("slope", "se", "prior_zero"),
    [(0.0, 0.3, 0.5), (0.5, 0.25, 0.5), (0.8, 0.2, 0.5), (0.7, 0.1, 0.5), (-0.8, 0.9, 0.5), (0.3, 0.5, 0.2), (1.4, 0.6, 0.8)],
)
def test_the_closed_form_is_the_posterior_mean_by_quadrature(slope, se, prior_zero):
    assert posterior_slope(slope, se, prior_zero) == pytest.approx(_by_quadrature(slope, se, prior_zero), rel=1e-6)


@pytest.mark.parametrize(
    ("slope", "se", "expected"),
    [
        (0.6, 0.0, 0.6),  # known exactly: not moved
        (2.0, 0.0, 1.0),  # never stretched beyond the model
        (float("nan"), 0.1, 0.0),
        (0.5, float("nan"), 0.0),
        (0.5, float("inf"), 0.0),  # no information: the prior mean would be 0.5, but nothing was estimated
        (-50.0, 0.01, 0.0),  # far outside [0, 1] (the densities underflow): the nearest end
        (50.0, 0.01, 1.0),
    ],
)
def test_edges(slope, se, expected):
    assert posterior_slope(slope, se) == pytest.approx(expected)


def test_a_slope_near_zero_is_pulled_to_zero_and_a_precise_one_stays():
    assert posterior_slope(-0.4, 0.1) < 0.01
    assert 0.02 < posterior_slope(0.0, 0.3) < 0.1
    assert posterior_slope(1.0, 0.1) == pytest.approx(1.0, abs=0.001)
    assert posterior_slope(1.13, 0.39) == pytest.approx(1.0, abs=0.01)  # the demo's slope: not moved
    slopes = posterior_slope(np.linspace(-1, 2, 31), 0.3)
    assert np.all(np.diff(slopes) >= 0) and np.all(np.diff(slopes[:15]) > 0)  # increasing, until clipped at 1


def _squared_errors(beta: np.ndarray, se: float, seed: int = 1) -> dict[str, float]:
    draws = np.random.default_rng(seed).normal(beta, se)
    rules = {
        "posterior": posterior_slope(draws, se),
        "empirical Bayes": np.clip(draws * np.maximum(0, 1 - se**2 / np.where(draws > 0, draws, 1) ** 2) * (draws > 0), 0, 1),
        "clipped": np.clip(draws, 0, 1),
    }
    return {name: float(np.mean((s - beta) ** 2)) for name, s in rules.items()}


def test_under_its_prior_it_beats_the_empirical_bayes_and_the_clipped_slope():
    # The calibrated effect's MSE is var(τ̂)·(s − β)² plus terms free of s, so the factor's squared error against
    # β is what matters; the clipped posterior mean minimizes its average over the prior (β = 0 or U(0, 2)).
    rng = np.random.default_rng(0)
    beta = np.where(rng.random(20_000) < 0.5, 0.0, SLAB_TOP * rng.random(20_000))
    for se in (0.3, 0.6):
        errors = _squared_errors(beta, se)
        assert errors["posterior"] < min(errors["empirical Bayes"], errors["clipped"]), (se, errors)


def test_the_price_when_the_true_slope_is_two_ses_from_zero_and_when_it_is_precise():
    # One parameter: no rule dominates everywhere. At β = 0.6, SE = 0.3 shrinking loses to clipping (by less than
    # the empirical-Bayes rule did); at β = 0.9, SE = 0.1 the factor stays within about one SE.
    errors = _squared_errors(np.full(20_000, 0.6), 0.3)
    assert errors["clipped"] < errors["posterior"] < min(1.6 * errors["clipped"], errors["empirical Bayes"]), errors
    errors = _squared_errors(np.full(20_000, 0.9), 0.1)
    assert np.sqrt(errors["posterior"]) < 0.1, errors
