"""SHAP explanation of the effect model, per original feature and per feature family.

The model explained is the estimated *effect* τ̂(x), not the outcome: a feature with high SHAP
importance here changes how much a patient benefits, not how well they do (Lundberg & Lee 2017;
econml's tree SHAP of the causal forest's trees). Because a causal forest's prediction is a weighted
moment solution rather than an average of tree leaves, tree SHAP is an approximation; the
approximation gap (how far base value + SHAP values are from the forest's prediction) is reported
so readers know how far to trust the attribution.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from subgroups.data import TrialData
from subgroups.effects import EffectModel
from subgroups.params import FAMILIES


@dataclass(frozen=True)
class Explanation:
    """Mean |SHAP| of the effect model per original feature and per family, on the effect scale."""

    by_feature: pd.Series  # original feature -> mean |SHAP| (sorted, largest first)
    by_family: pd.Series  # family -> mean |SHAP| of the family's summed contribution
    rows_used: int
    rows_total: int
    gap_mean_abs: float  # mean |base + sum(SHAP) - prediction|
    effect_sd: float  # SD of the explained predictions, to judge the gap against
    method: str

    @property
    def gap_relative(self) -> float:
        return float(self.gap_mean_abs / self.effect_sd) if self.effect_sd > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "by_feature": {k: float(v) for k, v in self.by_feature.items()},
            "by_family": {k: float(v) for k, v in self.by_family.items()},
            "share_by_feature": {k: float(v) for k, v in (self.by_feature / max(self.by_feature.sum(), 1e-300)).items()},
            "rows_used": self.rows_used,
            "rows_total": self.rows_total,
            "approximation_gap_mean_abs": self.gap_mean_abs,
            "approximation_gap_relative_to_effect_sd": self.gap_relative,
            "method": self.method,
            "status": "exploratory",
        }


def explain_effects(model: EffectModel, data: TrialData, max_rows: int, seed: int) -> Explanation:
    """SHAP importance of the effect model on at most `max_rows` patients (a seeded random sample)."""
    X = data.X.to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(X), size=min(max_rows, len(X)), replace=False))
    sample = X[rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outputs = model.estimator.shap_values(sample, feature_names=list(data.X.columns), background_samples=100)
    explanation = _first_leaf(outputs)
    values = np.asarray(explanation.values, dtype=float).reshape(len(rows), -1)
    base = np.asarray(explanation.base_values, dtype=float).reshape(len(rows))
    predicted = model.effect(sample)
    gap = float(np.mean(np.abs(base + values.sum(axis=1) - predicted)))

    encoded = pd.DataFrame(values, columns=data.X.columns)
    per_feature_rows = encoded.T.groupby(data.encoder.original_of).sum().T  # sum one-hot parts per row
    by_feature = per_feature_rows.abs().mean().reindex(data.feature_names).fillna(0.0).sort_values(ascending=False)
    family_rows = per_feature_rows.T.groupby(data.family_of).sum().T
    by_family = family_rows.abs().mean().reindex([f for f in FAMILIES if f in family_rows.columns]).fillna(0.0)
    return Explanation(
        by_feature=by_feature,
        by_family=by_family.sort_values(ascending=False),
        rows_used=len(rows),
        rows_total=len(X),
        gap_mean_abs=gap,
        effect_sd=float(np.std(predicted)),
        method="tree SHAP of the causal forest's effect model (econml shap_values, 100 background rows)",
    )


def _first_leaf(outputs: Any) -> Any:
    while isinstance(outputs, dict):
        outputs = next(iter(outputs.values()))
    return outputs
