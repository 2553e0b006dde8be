"""Heterogeneous treatment effects (CATE) behind one learner registry.

Estimands, on the outcome's own scale (treated minus control):
- continuous outcome: difference in means, E[Y(1) - Y(0) | X];
- binary outcome: risk difference, P(Y(1) = 1 | X) - P(Y(0) = 1 | X).

The causal forest (Wager & Athey 2018; Athey, Tibshirani & Wager 2019) is fitted by econml's
`CausalForestDML` with explicit gradient-boosting nuisance models (econml's 'auto' selection is
slow) and, in a randomized trial, the known randomization probability instead of a fitted
propensity model. Nuisances are cross-fitted over `folds`; per-patient effects are out-of-bag
predictions of an honest forest, so no patient's estimate uses that patient's outcome. The average
effect is the mean of doubly robust (AIPW) scores (Robins, Rotnitzky & Zhao 1994) with its
normal-theory confidence interval.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from subgroups.data import FeatureEncoder, TrialData
from subgroups.errors import DataError
from subgroups.params import EstimationParams

SCALES = {
    "continuous": ("difference in means", "E[Y(1) - Y(0)]: mean outcome on treatment minus on control"),
    "binary": ("risk difference", "P(Y(1) = 1) - P(Y(0) = 1): response probability on treatment minus on control"),
}


class KnownPropensity(ClassifierMixin, BaseEstimator):
    """A 'classifier' returning the randomization probability: the propensity of a randomized trial.

    Using the design's probability instead of a fitted model removes a source of noise and of
    bias (the treatment model cannot be misspecified in an RCT).
    """

    def __init__(self, probability: float = 0.5):
        self.probability = probability

    def fit(self, X: Any, y: Any, **_: Any) -> KnownPropensity:
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        n = len(X)
        return np.column_stack([np.full(n, 1 - self.probability), np.full(n, self.probability)])

    def predict(self, X: Any) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] > 0.5).astype(int)


@dataclass(frozen=True)
class AverageEffect:
    """The average treatment effect with its uncertainty."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    level: float
    p_value: float
    n: int
    scale: str
    estimand: str
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "estimate": self.estimate,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "ci_level": self.level,
            "p_value": self.p_value,
            "n": self.n,
            "scale": self.scale,
            "estimand": self.estimand,
            "method": self.method,
        }


@dataclass(frozen=True)
class EffectModel:
    """A fitted effect model with cross-fitted per-patient effects and doubly robust scores."""

    estimator: Any
    encoder: FeatureEncoder
    cate: np.ndarray  # out-of-bag effect estimate per analysed patient
    scores: np.ndarray  # doubly robust (AIPW) score per patient; mean = average effect
    propensity: np.ndarray  # treatment probability per patient used in the scores
    ate: AverageEffect
    learner: str
    seed: int
    outcome_type: str

    @property
    def scale(self) -> str:
        return self.ate.scale

    def effect(self, X: Any) -> np.ndarray:
        """Estimated effect for rows of an encoded feature matrix (same columns as training)."""
        return np.asarray(self.estimator.effect(np.asarray(X, dtype=float)), dtype=float).ravel()


def _regressor(cfg: EstimationParams) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(
        max_iter=cfg.nuisance_iterations, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=20, random_state=cfg.seed
    )


def _classifier(cfg: EstimationParams) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=cfg.nuisance_iterations, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=20, random_state=cfg.seed
    )


def _causal_forest(data: TrialData, cfg: EstimationParams, propensity_model: Any, discrete_outcome: bool) -> Any:
    from econml.dml import CausalForestDML

    return CausalForestDML(
        model_y=_classifier(cfg) if discrete_outcome else _regressor(cfg),
        model_t=propensity_model,
        discrete_treatment=True,
        discrete_outcome=discrete_outcome,
        cv=cfg.folds,
        n_estimators=cfg.n_estimators,
        min_samples_leaf=cfg.min_samples_leaf,
        honest=True,
        inference=True,
        drate=True,
        random_state=cfg.seed,
        n_jobs=-1,
    )


# One registry: adding a learner is one function and one line.
LEARNERS: dict[str, Callable[..., Any]] = {"causal_forest": _causal_forest}


def fit_effects(data: TrialData, cfg: EstimationParams) -> EffectModel:
    """Fit the effect model and return cross-fitted per-patient effects and the average effect."""
    outcome_type = data.spec.outcome.type
    if outcome_type not in SCALES:
        raise DataError(
            f"effect estimation for '{outcome_type}' outcomes is not available yet; "
            "use a continuous or binary outcome (time-to-event estimation is planned)"
        )
    discrete_outcome = outcome_type == "binary"
    if data.spec.study == "rct":
        p = data.spec.randomization_probability or float(data.treatment.mean())
        propensity_model: Any = KnownPropensity(p)
    else:
        propensity_model = _classifier(cfg)
    estimator = LEARNERS[cfg.learner](data, cfg, propensity_model, discrete_outcome)
    X = data.X.to_numpy(dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(data.outcome, data.treatment, X=X, cache_values=True)
        # Forest predictions sum tree outputs across threads in arrival order; one thread keeps the
        # floating-point sums, and so every reported number, identical from run to run.
        for forest in getattr(estimator.model_final_, "estimators_", [estimator.model_final_]):
            forest.n_jobs = 1
        cate = np.asarray(estimator.model_final_.oob_predict(X), dtype=float).reshape(len(X))
    y_res, t_res, *_ = estimator.residuals_
    y_res, t_res = np.asarray(y_res, float).reshape(-1), np.asarray(t_res, float).reshape(-1)
    propensity = data.treatment - t_res
    # AIPW score in residual form (as econml's drate): tau(x) + (Y~ - tau(x) T~) T~ / Var(T | X).
    variance = np.clip(propensity * (1 - propensity), 1e-2, None)
    scores = cate + (y_res - cate * t_res) * t_res / variance
    scale, estimand = SCALES[outcome_type]
    ate = summarize_scores(scores, cfg.level, scale, estimand, "mean of doubly robust (AIPW) scores, cross-fitted nuisances")
    return EffectModel(
        estimator=estimator,
        encoder=data.encoder,
        cate=cate,
        scores=scores,
        propensity=propensity,
        ate=ate,
        learner=cfg.learner,
        seed=cfg.seed,
        outcome_type=outcome_type,
    )


def summarize_scores(scores: np.ndarray, level: float, scale: str, estimand: str, method: str) -> AverageEffect:
    """Mean of per-patient scores with its normal-theory CI and two-sided p-value for zero."""
    n = scores.size
    estimate = float(np.mean(scores))
    se = float(np.std(scores, ddof=1) / np.sqrt(n))
    z = float(stats.norm.ppf(0.5 + level / 2))
    p_value = float(2 * stats.norm.sf(abs(estimate / se))) if se > 0 else float("nan")
    return AverageEffect(estimate, se, estimate - z * se, estimate + z * se, level, p_value, n, scale, estimand, method)
