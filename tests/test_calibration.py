"""The factor that scales the model's spread in calibrated effects: the BLP slope shrunk by its SE."""

from __future__ import annotations

import numpy as np
import pytest

from subgroups.calibration import shrunk_slope


@pytest.mark.parametrize(
    ("slope", "se", "expected"),
    [
        (0.5, 0.25, 0.375),  # 0.5 × (1 − 0.25)
        (0.8, 0.2, 0.75),  # 0.8 × (1 − 1/16)
        (0.2, 0.3, 0.0),  # within one SE of 0
        (-0.4, 0.1, 0.0),  # the model ranks patients the wrong way round
        (2.0, 0.1, 1.0),  # never stretched beyond the model
        (0.6, 0.0, 0.6),  # known exactly: not moved
        (float("nan"), 0.1, 0.0),
        (0.5, float("nan"), 0.0),
    ],
)
def test_shrunk_slope_values(slope, se, expected):
    assert shrunk_slope(slope, se) == pytest.approx(expected)


def _errors(beta: float, se: float) -> tuple[float, float]:
    draws = np.random.default_rng(1).normal(beta, se, 20_000)
    shrunk = np.array([shrunk_slope(b, se) for b in draws])
    return float(np.mean((shrunk - beta) ** 2)), float(np.mean((np.clip(draws, 0.0, 1.0) - beta) ** 2))


@pytest.mark.parametrize("beta", [0.0, 0.1])
def test_shrinking_beats_clipping_when_the_true_slope_is_within_the_noise(beta):
    # β̂ ~ N(β, SE²) with SE = 0.3, as at n = 500 with weak heterogeneity. The calibrated effect's MSE is
    # var(τ̂)·(s − β)² plus terms free of s, so the factor's squared error against β is what matters.
    shrunk, clipped = _errors(beta, 0.3)
    assert shrunk < 0.6 * clipped


def test_the_price_of_shrinking_when_the_true_slope_is_two_ses_from_zero():
    # One parameter: no rule dominates (Stein's paradox needs three). At β = 2 SE shrinking loses; this pins
    # the size of the loss the benchmark's strong cells pay (docs/architecture.md, "Calibrated per-patient effects").
    shrunk, clipped = _errors(0.6, 0.3)
    assert clipped < shrunk < 2.0 * clipped


def test_shrinking_costs_little_when_the_slope_is_precise():
    # β = 0.9, SE = 0.1: the shrinkage moves the factor by about SE²/β = 0.011, and the error stays near the SE.
    draws = np.random.default_rng(2).normal(0.9, 0.1, 20_000)
    shrunk = np.array([shrunk_slope(b, 0.1) for b in draws])
    assert abs(np.mean(shrunk) - np.mean(np.clip(draws, 0, 1))) < 0.02
    assert np.sqrt(np.mean((shrunk - 0.9) ** 2)) < 0.1
