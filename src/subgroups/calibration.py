"""Per-patient effects calibrated by the held-out BLP slope (Chernozhukov, Demirer, Duflo & Fernández-Val 2018)."""

from __future__ import annotations

import numpy as np

from subgroups.effects import EffectModel
from subgroups.heterogeneity import Heterogeneity


def shrunk_slope(slope: float, se: float) -> float:
    """The BLP slope shrunk by its own uncertainty, then clipped to [0, 1] (0 when it could not be estimated).

    β̂·max(0, 1 − SE²/β̂²): the empirical-Bayes posterior mean of the true slope β under a normal prior
    N(0, A) with A estimated by max(0, β̂² − SE²) (Efron & Morris 1973, positive-part rule). A slope within
    one SE of 0 gives 0; a precise slope is barely moved. The factor that minimizes the mean squared
    error of ATE + s·(τ̂ − mean τ̂) is the true slope β, which β̂ estimates with noise: scaling by β̂ itself
    adds that noise to every patient's effect when heterogeneity is weak.
    """
    if not (np.isfinite(slope) and np.isfinite(se)) or slope <= 0.0:
        return 0.0
    return float(np.clip(slope * max(0.0, 1.0 - (se / slope) ** 2), 0.0, 1.0))


def calibration_factor(tests: Heterogeneity) -> float:
    """The factor applied to the model's spread: the BLP slope of the reported held-out predictions, shrunk by
    its SE (`shrunk_slope`); the test's own slope when the test was made on those predictions."""
    slope = tests.reported_calibration or tests.calibration
    return shrunk_slope(slope.estimate, slope.se)


def calibrated(tau: np.ndarray, effects: EffectModel, tests: Heterogeneity) -> np.ndarray:
    """Effect predictions pulled toward the average effect by the calibration slope (see `Analysis.calibrate`)."""
    return effects.ate.estimate + calibration_factor(tests) * (tau - float(np.mean(effects.cate)))
