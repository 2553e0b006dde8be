"""Per-patient effects calibrated by the held-out BLP slope (Chernozhukov, Demirer, Duflo & Fernández-Val 2018)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtr

from subgroups.effects import EffectModel
from subgroups.heterogeneity import Heterogeneity

PRIOR_ZERO = 0.5  # prior probability that the model's spread carries no information about the effect (β = 0)
SLAB_TOP = 2.0  # otherwise β is uniform on [0, SLAB_TOP]: slopes above 1 are common (forests under-disperse)


def posterior_slope(slope: Any, se: Any, prior_zero: float = PRIOR_ZERO, top: float = SLAB_TOP) -> Any:
    """The Bayes factor s ∈ [0, 1] for the true BLP slope β given its estimate β̂ ~ N(β, SE²): the posterior mean
    of β clipped to [0, 1] (0 when the slope could not be estimated). Elementwise on arrays; a float for scalars.

    Prior: β = 0 with probability `prior_zero` (the model's spread is noise), otherwise uniform on [0, `top`]
    (the spread is real; honest forests often under-disperse, so slopes above 1 are allowed). The mean squared
    error of ATE + s·(τ̂ − mean τ̂) is var(τ̂)·(s − β)² plus terms free of s, so its posterior expectation is
    (s − E[β | β̂])² plus a constant: the best s within [0, 1] (never stretching the model's spread) is the
    posterior mean clipped to [0, 1]. With U = `top`,

        E[β | β̂] = (1 − π₀)·∫₀ᵁ β φ_SE(β̂ − β) dβ/U / (π₀·φ_SE(β̂) + (1 − π₀)·∫₀ᵁ φ_SE(β̂ − β) dβ/U).

    A slope estimated at 0 with SE 0.3 gives about 0.04; a precise slope near 1 is not moved. It replaced the
    positive-part empirical-Bayes rule β̂·max(0, 1 − SE²/β̂²) (Efron & Morris 1973), whose prior variance comes
    from the one estimate it shrinks: on the simulation benchmark's fits (`benchmarks/slope_rules.py`) the error was
    smaller where the heterogeneity is strong and about the same where it is weak (docs/architecture.md).
    """
    b, e = np.broadcast_arrays(np.asarray(slope, float), np.asarray(se, float))
    out = np.zeros(b.shape)
    known = np.isfinite(b) & (e == 0)
    out[known] = np.clip(b[known], 0.0, 1.0)
    noisy = np.isfinite(b) & np.isfinite(e) & (e > 0)
    b, e = b[noisy], e[noisy]
    low, high = -b / e, (top - b) / e
    mass = (ndtr(high) - ndtr(low)) / top  # ∫₀ᵁ φ_SE(β̂ − β) dβ/U
    first = (b * (ndtr(high) - ndtr(low)) + e * (_phi(low) - _phi(high))) / top  # ∫₀ᵁ β φ_SE(β̂ − β) dβ/U
    denominator = prior_zero * _phi(b / e) / e + (1.0 - prior_zero) * mass
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = (1.0 - prior_zero) * first / denominator
    # β̂ so many SEs outside the prior's support that the densities underflow: the nearest end
    out[noisy] = np.clip(np.where(denominator > 0, mean, (b > top / 2).astype(float)), 0.0, 1.0)
    return float(out) if out.ndim == 0 else out


def _phi(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi)


def calibration_factor(tests: Heterogeneity) -> float:
    """The factor applied to the model's spread: the posterior mean of the BLP slope of the reported held-out
    predictions (`posterior_slope`); the test's own slope when the test was made on those predictions."""
    slope = tests.reported_calibration or tests.calibration
    return float(posterior_slope(slope.estimate, slope.se))


def calibrated(tau: np.ndarray, effects: EffectModel, tests: Heterogeneity) -> np.ndarray:
    """Effect predictions pulled toward the average effect by the calibration slope (see `Analysis.calibrate`)."""
    return effects.ate.estimate + calibration_factor(tests) * (tau - float(np.mean(effects.cate)))
