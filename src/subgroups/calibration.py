"""Per-patient effects calibrated by the held-out BLP slope (Chernozhukov, Demirer, Duflo & Fernández-Val 2018)."""

from __future__ import annotations

import numpy as np

from subgroups.effects import EffectModel
from subgroups.heterogeneity import Heterogeneity


def calibration_factor(tests: Heterogeneity) -> float:
    """The held-out BLP calibration slope clipped to [0, 1] (0 when it could not be estimated)."""
    slope = tests.calibration.estimate
    return float(np.clip(slope, 0.0, 1.0)) if np.isfinite(slope) else 0.0


def calibrated(tau: np.ndarray, effects: EffectModel, tests: Heterogeneity) -> np.ndarray:
    """Effect predictions pulled toward the average effect by the calibration slope (see `Analysis.calibrate`)."""
    return effects.ate.estimate + calibration_factor(tests) * (tau - float(np.mean(effects.cate)))
