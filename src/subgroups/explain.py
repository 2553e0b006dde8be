"""SHAP explanation of the effect model, per original feature and per feature family.

The model explained is the estimated *effect* τ̂(x), not the outcome: a feature with high SHAP
importance here changes how much a patient benefits, not how well they do (Lundberg & Lee 2017).

Because the effect model may be any learner (or a different one per fold), it is explained
through a **surrogate**: a gradient-boosted tree model fitted to the effect model's predictions,
whose SHAP values tree SHAP computes exactly (Lundberg et al. 2020). The surrogate's fidelity is
reported as the approximation gap: mean |surrogate − effect model| and R² on patients held out from
the surrogate's fit, so readers know how far to trust the attribution.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

from subgroups.data import TrialData
from subgroups.effects import EffectModel
from subgroups.params import FAMILIES

SURROGATE_ROWS = 20_000  # the surrogate learns a smooth function: more rows add time, not fidelity


@dataclass(frozen=True)
class Explanation:
    """Mean |SHAP| of the effect model per original feature and per family, on the effect scale."""

    by_feature: pd.Series  # original feature -> mean |SHAP| (sorted, largest first)
    by_family: pd.Series  # family -> mean |SHAP| of the family's summed contribution
    rows_used: int
    rows_total: int
    gap_mean_abs: float  # mean |surrogate - effect model| on held-out patients
    fidelity_r2: float  # R² of the surrogate against the effect model on held-out patients
    effect_sd: float  # SD of the explained predictions, to judge the gap against
    method: str

    @property
    def gap_relative(self) -> float:
        return float(self.gap_mean_abs / self.effect_sd) if self.effect_sd > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        total = max(float(self.by_feature.sum()), 1e-300)
        return {
            "by_feature": {k: float(v) for k, v in self.by_feature.items()},
            "by_family": {k: float(v) for k, v in self.by_family.items()},
            "share_by_feature": {k: float(v) / total for k, v in self.by_feature.items()},
            "rows_used": self.rows_used,
            "rows_total": self.rows_total,
            "approximation_gap_mean_abs": self.gap_mean_abs,
            "approximation_gap_relative_to_effect_sd": self.gap_relative,
            "surrogate_r2": self.fidelity_r2,
            "method": self.method,
            "status": "exploratory",
        }


def explain_effects(model: EffectModel, data: TrialData, max_rows: int, seed: int) -> Explanation:
    """SHAP importance of the effect model on at most `max_rows` patients (a seeded random sample)."""
    import shap

    X = data.X.to_numpy(dtype=float)[model.analysed(data.n)]
    rng = np.random.default_rng(seed)
    target = model.effect(X)
    order = rng.permutation(len(X))
    held_out, fit_rows = order[: max(len(X) // 5, 1)], order[max(len(X) // 5, 1) :][:SURROGATE_ROWS]
    surrogate = HistGradientBoostingRegressor(
        max_iter=300, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=5, random_state=seed
    ).fit(X[fit_rows], target[fit_rows])
    check = surrogate.predict(X[held_out])
    gap = float(np.mean(np.abs(check - target[held_out])))
    spread = float(np.var(target[held_out]))
    r2 = float(1 - np.mean((check - target[held_out]) ** 2) / spread) if spread > 0 else float("nan")

    rows = np.sort(rng.choice(len(X), size=min(max_rows, len(X)), replace=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = np.asarray(shap.TreeExplainer(surrogate).shap_values(X[rows]), dtype=float).reshape(len(rows), -1)

    encoded = pd.DataFrame(values, columns=data.X.columns)
    per_feature_rows = encoded.T.groupby(data.encoder.original_of).sum().T  # sum one-hot parts per row
    by_feature = per_feature_rows.abs().mean().reindex(data.feature_names).fillna(0.0).sort_values(ascending=False, kind="stable")
    family_rows = per_feature_rows.T.groupby(data.family_of).sum().T
    by_family = family_rows.abs().mean().reindex([f for f in FAMILIES if f in family_rows.columns]).fillna(0.0)
    return Explanation(
        by_feature=by_feature,
        by_family=by_family.sort_values(ascending=False, kind="stable"),
        rows_used=len(rows),
        rows_total=len(X),
        gap_mean_abs=gap,
        fidelity_r2=r2,
        effect_sd=float(np.std(target)),
        method="exact tree SHAP of a gradient-boosted surrogate fitted to the effect model's predictions",
    )
