"""Heterogeneous treatment effects (CATE): cross-fitted learners behind one registry.

Estimands, on the outcome's own scale (treated minus control):
- continuous outcome: difference in means, E[Y(1) - Y(0) | X];
- binary outcome: risk difference, P(Y(1) = 1 | X) - P(Y(0) = 1 | X);
- time-to-event: difference in restricted mean survival time up to a horizon (or in survival
  probability at a landmark), through pseudo-observations (`subgroups.outcomes`).

How the numbers are made honest (Chernozhukov et al. 2018; Kennedy 2023):
1. Patients are split into `folds` (stratified by arm). For each fold, every model (outcome
   regressions per arm, propensity when not randomized, and each candidate effect learner) is
   fitted on the *other* folds only and predicts the held-out fold. Each patient's effect estimate
   therefore never used that patient's outcome. The causal forest is grown once on all patients
   from those held-out nuisances, and each patient's estimate uses only the trees that left the
   patient out (out-of-bag, as in grf).
2. Doubly robust (AIPW) scores ψᵢ = μ̂₁ − μ̂₀ + T(Y − μ̂₁)/ê − (1 − T)(Y − μ̂₀)/(1 − ê)
   (Robins, Rotnitzky & Zhao 1994) use the same held-out nuisances; their mean is the average
   effect, with the usual normal-theory CI.
3. `learner: auto` compares candidates by the out-of-fold DR-loss mean((ψ − τ̂)²) (and reports the
   R-loss of Nie & Wager 2021). To keep the held-out predictions independent of the patients they
   are scored on, the learner used for fold k is the one with the smallest loss on the *other*
   folds (cross-selection); selecting on the same patients would bias later calibration tests.
4. Forward predictions for the calibration test (`forward_fit`): for k = 1, …, K − 1 the learner chosen
   for fold k is fitted again, with its own outcome models, on folds 0, …, k − 1 only, and predicts fold k.
   Cross-fitted predictions of different folds are not independent (fold j's model learnt from fold k's
   outcomes and vice versa), which makes a regression of held-out scores on them wrongly centred and
   overdispersed; forward predictions depend only on earlier folds, so fold k's contribution to the
   test has mean zero given the folds before it (a martingale, as in the online estimators of Luedtke &
   van der Laan 2016) and the usual standard error holds. See `heterogeneity.calibration_test`. Not
   forward: *which* learner and which outcome-model family fold k uses are chosen once from held-out
   losses over all folds (a choice among a few, not a fitted parameter); the null simulations bound the
   approximation (docs/architecture.md).
In a randomized trial the known randomization probability replaces a fitted propensity model.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, RidgeCV, TweedieRegressor
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from subgroups.data import TrialData
from subgroups.errors import DataError, ParameterError
from subgroups.params import EstimationParams
from subgroups.privacy import suppress_count

SCALES = {
    "continuous": ("difference in means", "E[Y(1) - Y(0)]: mean outcome on treatment minus on control"),
    "binary": ("risk difference", "P(Y(1) = 1) - P(Y(0) = 1): response probability on treatment minus on control"),
}
TREE_ROWS = 10_000  # largest subsample a causal-forest tree is grown on (see _tree_sample)
CANDIDATES = ("t_learner", "x_learner", "dr_learner", "causal_forest")
PROPENSITY_FLOOR = 0.01
RIDGE_ALPHAS = np.logspace(-3, 3, 13)


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
    """Cross-fitted per-patient effects, doubly robust scores, and the fold models for new data."""

    fold_models: tuple[Any, ...]  # per fold: the chosen learner's model, with .effect(X)
    fold_learners: tuple[str, ...]  # which learner each fold used
    folds: np.ndarray  # fold id per analysed patient
    cate: np.ndarray  # out-of-fold effect estimate per analysed patient
    scores: np.ndarray  # doubly robust (AIPW) score per patient; mean = average effect
    mu0: np.ndarray  # out-of-fold outcome prediction on control
    mu1: np.ndarray  # out-of-fold outcome prediction on treatment
    propensity: np.ndarray  # treatment probability per patient used in the scores
    ate: AverageEffect
    learner: str  # as requested ("auto" or a learner name)
    candidates: pd.DataFrame  # learner, DR-loss, R-loss, folds where chosen
    candidate_cate: dict[str, np.ndarray]  # out-of-fold estimates of every candidate
    outcome_type: str
    seed: int
    retained: np.ndarray = field(default_factory=lambda: np.ones(0, bool))  # analysed rows of the input
    outcome: np.ndarray = field(default_factory=lambda: np.zeros(0))  # the analysed outcome (pseudo-values for time-to-event)
    nuisance_family: Any = None  # unfitted outcome model with the smallest held-out loss over folds
    propensity_all: np.ndarray = field(default_factory=lambda: np.zeros(0))  # out-of-fold, every input patient, before trimming
    forward: np.ndarray = field(
        default_factory=lambda: np.zeros(0)
    )  # forward prediction per analysed patient (NaN in fold 0; `forward_fit`)

    @property
    def scale(self) -> str:
        return self.ate.scale

    def __repr__(self) -> str:  # the arrays and fold models would fill a screen
        a = self.ate
        return (
            f"<EffectModel: {self.chosen} ({self.learner} requested), {len(self.fold_models)} folds, {self.cate.size} patients; "
            f"average effect {a.estimate:+.3g} ({a.level:.0%} CI {a.ci_low:.3g} to {a.ci_high:.3g}), {a.scale}>"
        )

    def analysed(self, n: int) -> np.ndarray:
        """Boolean mask of the `n` input rows that were analysed (all of them when none were trimmed)."""
        return self.retained if self.retained.size else np.ones(n, dtype=bool)

    @property
    def chosen(self) -> str:
        """The learner used (or 'mixed: a/b' when cross-selection chose differently by fold)."""
        names = sorted(set(self.fold_learners))
        return names[0] if len(names) == 1 else "mixed: " + "/".join(names)

    def effect(self, X: Any) -> np.ndarray:
        """Estimated effect for rows of an encoded feature matrix: mean of the fold models."""
        X = np.asarray(X, dtype=float)
        predictions: dict[int, np.ndarray] = {}  # an out-of-bag learner serves every fold: predict once
        for model in self.fold_models:
            if id(model) not in predictions:
                predictions[id(model)] = model.effect(X)
        return np.mean([predictions[id(model)] for model in self.fold_models], axis=0)


# --- models ------------------------------------------------------------------------------------


class LinearPlusBoosting(RegressorMixin, BaseEstimator):
    """Ridge regression, then gradient boosting on its residuals: linear trends plus what they miss."""

    def __init__(self, boosting: Any = None):
        self.boosting = boosting

    def fit(self, X: np.ndarray, y: np.ndarray) -> LinearPlusBoosting:
        self.linear_ = make_pipeline(StandardScaler(), RidgeCV(alphas=RIDGE_ALPHAS)).fit(X, y)
        self.boosting_ = clone(self.boosting).fit(X, y - self.linear_.predict(X))
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.linear_.predict(X) + self.boosting_.predict(X)


LOG_LINK_NEGATIVE_SHARE = 0.05  # LogLinear is fitted only when at most this share of the outcomes is negative


class LogLinear(RegressorMixin, BaseEstimator):
    """A linear model of log E[Y | x]: least squares with a log link (a Normal GLM; scikit-learn's `TweedieRegressor`
    with power 0) on standardized features, lightly ridge-penalized. It fits multiplicative outcome surfaces (a cost,
    a count, a biomarker's level; the control arm of IHDP's surface B is exp(linear)) that a linear model of y and
    shallow trees only approximate. It is for positive outcomes measured with some noise: when more than
    `LOG_LINK_NEGATIVE_SHARE` of the outcomes are negative (or their mean is not positive) it is not fitted
    (`applicable_` is False), predicts the mean, and `ChosenByValidation` never chooses it. Predictions extrapolate
    at most a factor e beyond the fitted range.
    """

    def __init__(self, alpha: float = 1e-3):
        self.alpha = alpha

    def fit(self, X: np.ndarray, y: np.ndarray) -> LogLinear:
        self.mean_ = float(np.mean(y))
        self.model_ = None
        if self.mean_ > 0 and np.mean(np.asarray(y) < 0) <= LOG_LINK_NEGATIVE_SHARE:
            glm = TweedieRegressor(power=0, link="log", alpha=self.alpha, max_iter=1000)
            with warnings.catch_warnings(), np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                warnings.simplefilter("ignore")
                self.model_ = make_pipeline(StandardScaler(), glm).fit(X, y)
                eta = np.log(self.model_.predict(X))
            if np.all(np.isfinite(eta)):
                self.range_ = (float(eta.min()) - 1.0, float(eta.max()) + 1.0)
            else:
                self.model_ = None
        self.applicable_ = self.model_ is not None
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.model_ is None:
            return np.full(len(X), self.mean_)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            eta = np.log(self.model_.predict(X))
        return np.exp(np.clip(np.nan_to_num(eta, nan=self.range_[0], posinf=self.range_[1]), *self.range_))


class ChosenByValidation(BaseEstimator):
    """Fits each candidate model and keeps the one with the smallest held-out loss.

    Explicit and cheap, unlike econml's 'auto' model search: a few candidates, 3-fold
    cross-validation below 20,000 rows and a single 80/20 split above. The loss is squared error
    for regressors and log-loss for classifiers.
    """

    def __init__(self, candidates: tuple[Any, ...] = (), classifier: bool = False, seed: int = 0):
        self.candidates = candidates
        self.classifier = classifier
        self.seed = seed

    def fit(self, X: np.ndarray, y: np.ndarray) -> ChosenByValidation:
        n = len(y)
        if n >= 20_000:
            rows = np.random.default_rng(self.seed).permutation(n)
            splits = [(rows[n // 5 :], rows[: n // 5])]
        else:
            splitter = (StratifiedKFold if self.classifier else KFold)(n_splits=3, shuffle=True, random_state=self.seed)
            splits = list(splitter.split(X, y))
        losses = []
        for candidate in self.candidates:
            loss = 0.0
            for train, test in splits:
                model = clone(candidate).fit(X[train], y[train])
                if not getattr(model, "applicable_", True):  # e.g. LogLinear on outcomes that are not positive
                    loss = float("inf")
                    break
                if self.classifier:
                    p = np.clip(model.predict_proba(X[test])[:, 1], 1e-6, 1 - 1e-6)
                    loss -= float(np.sum(y[test] * np.log(p) + (1 - y[test]) * np.log(1 - p)))
                else:
                    loss += float(np.sum((model.predict(X[test]) - y[test]) ** 2))
            losses.append(loss)
        self.losses_ = losses
        self.model_ = clone(self.candidates[int(np.argmin(losses))]).fit(X, y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict(X)


class _ChosenRegressor(RegressorMixin, ChosenByValidation):
    pass


class _ChosenClassifier(ClassifierMixin, ChosenByValidation):
    def fit(self, X: np.ndarray, y: np.ndarray) -> _ChosenClassifier:
        super().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(X)


def _boosting(cfg: EstimationParams, final: bool = False) -> HistGradientBoostingRegressor:
    # Final (effect) stages are smaller: effects are usually simpler than outcome surfaces.
    return HistGradientBoostingRegressor(
        max_iter=cfg.nuisance_iterations // 2 if final else cfg.nuisance_iterations,
        learning_rate=0.1,
        max_leaf_nodes=7 if final else 15,
        min_samples_leaf=40 if final else 20,
        l2_regularization=1.0 if final else 0.0,
        random_state=cfg.seed,
    )


def _regressor(cfg: EstimationParams, final: bool = False) -> Any:
    """Ridge, boosting, ridge + boosting on residuals, or a log-link linear model (`LogLinear`), whichever predicts
    held-out rows best.

    Effect (final) stages choose between ridge and a small boosting model only (effects may be of either sign).
    """
    boosting = _boosting(cfg, final)
    ridge = make_pipeline(StandardScaler(), RidgeCV(alphas=RIDGE_ALPHAS))
    candidates = (ridge, boosting) if final else (ridge, boosting, LinearPlusBoosting(boosting), LogLinear())
    return _ChosenRegressor(candidates, classifier=False, seed=cfg.seed)


def _classifier(cfg: EstimationParams) -> Any:
    """Penalized logistic regression or boosting, whichever has the smaller held-out log-loss."""
    boosting = HistGradientBoostingClassifier(
        max_iter=cfg.nuisance_iterations, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=20, random_state=cfg.seed
    )
    logistic = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    return _ChosenClassifier((logistic, boosting), classifier=True, seed=cfg.seed)


@dataclass(frozen=True)
class SurvivalTarget:
    """A time-to-event outcome as survival learners see it: each patient's own time and event, and the
    estimand of the pseudo-observations the other learners analyse (RMST up to, or survival at, `horizon`)."""

    time: np.ndarray
    event: np.ndarray
    horizon: float
    estimand: str  # "rmst" or "survival"

    def rows(self, mask: np.ndarray) -> SurvivalTarget:
        return SurvivalTarget(self.time[mask], self.event[mask], self.horizon, self.estimand)


@dataclass(frozen=True)
class _Context:
    cfg: EstimationParams
    binary: bool
    propensity_model: Any  # unfitted; KnownPropensity in an RCT
    survival: SurvivalTarget | None = None  # time to event: the training rows' own times and events


class _TwoModels:
    """T-learner: separate outcome models per arm; effect = μ̂₁(x) − μ̂₀(x) (Künzel et al. 2019)."""

    def __init__(self, model0: Any, model1: Any, binary: bool, chosen_family: Any = None):
        self.model0, self.model1, self.binary = model0, model1, binary
        self.chosen_family = chosen_family  # set when the models are of one given family (no search ran)

    def predict_arms(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.binary:
            return self.model0.predict_proba(X)[:, 1], self.model1.predict_proba(X)[:, 1]
        return self.model0.predict(X), self.model1.predict(X)

    def effect(self, X: np.ndarray) -> np.ndarray:
        mu0, mu1 = self.predict_arms(X)
        return mu1 - mu0

    def family(self) -> Any:
        """The candidate model with the smallest held-out loss over both arms, unfitted.

        Other learners' outcome nuisances reuse it, so the model search runs once per fold.
        """
        if self.chosen_family is not None:
            return clone(self.chosen_family)
        losses = np.add(self.model0.losses_, self.model1.losses_)
        return clone(self.model0.candidates[int(np.argmin(losses))])


class _Econml:
    """An econml CATE estimator (the DR-learner) seen through `.effect(X)`, flattened."""

    def __init__(self, estimator: Any):
        self.estimator = estimator

    def effect(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.estimator.effect(X), dtype=float).reshape(len(X))


def _fit_outcome_models(X: np.ndarray, T: np.ndarray, Y: np.ndarray, ctx: _Context, family: Any = None) -> _TwoModels:
    """Outcome models per arm: the family with the smallest held-out loss, or the given `family` (no search)."""
    base = family if family is not None else _classifier(ctx.cfg) if ctx.binary else _regressor(ctx.cfg)
    models = clone(base).fit(X[T == 0], Y[T == 0]), clone(base).fit(X[T == 1], Y[T == 1])
    return _TwoModels(*models, ctx.binary, chosen_family=family)


class _XModels:
    """X-learner (Künzel, Sekhon, Bickel & Yu 2019): imputed effects regressed per arm, blended by
    the propensity: τ(x) = e(x)·τ₀(x) + (1 − e(x))·τ₁(x)."""

    def __init__(self, tau0: Any, tau1: Any, propensity: Any):
        self.tau0, self.tau1, self.propensity = tau0, tau1, propensity

    def effect(self, X: np.ndarray) -> np.ndarray:
        e = self.propensity.predict_proba(X)[:, 1]
        return e * self.tau0.predict(X) + (1 - e) * self.tau1.predict(X)


def _x_learner(X: np.ndarray, T: np.ndarray, Y: np.ndarray, ctx: _Context, outcome_models: _TwoModels) -> Any:
    # Stage 1 reuses the fold's outcome models (the T-learner): no second fit of the same thing.
    mu0, mu1 = outcome_models.predict_arms(X)
    imputed = np.where(T == 1, Y - mu0, mu1 - Y)
    final = _regressor(ctx.cfg, final=True)
    tau0 = clone(final).fit(X[T == 0], imputed[T == 0])
    tau1 = clone(final).fit(X[T == 1], imputed[T == 1])
    return _XModels(tau0, tau1, clone(ctx.propensity_model).fit(X, T))


def _dr_learner(X: np.ndarray, T: np.ndarray, Y: np.ndarray, ctx: _Context, outcome_models: _TwoModels) -> Any:
    from econml.dr import DRLearner

    return _Econml(
        DRLearner(
            model_propensity=clone(ctx.propensity_model),
            model_regression=outcome_models.family(),
            model_final=_regressor(ctx.cfg, final=True),
            discrete_outcome=ctx.binary,
            min_propensity=PROPENSITY_FLOOR,
            cv=2,
            random_state=ctx.cfg.seed,
        ).fit(Y, T, X=X)
    )


class _Forest:
    """A fitted grf causal forest seen through `.effect(X)` (single-threaded, so reproducible)."""

    def __init__(self, forest: Any):
        self.forest = forest
        # Forest predictions sum tree outputs across threads in arrival order; one thread keeps
        # every reported number identical from run to run.
        self.forest.n_jobs = 1

    def effect(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.forest.predict(X), dtype=float).reshape(len(X))


def _causal_forest(
    X: np.ndarray, T: np.ndarray, Y: np.ndarray, e: np.ndarray, mu0: np.ndarray, mu1: np.ndarray, cfg: EstimationParams
) -> tuple[_Forest, np.ndarray]:
    """Causal forest (Athey, Tibshirani & Wager 2019) grown once on every patient; out-of-bag effects.

    The forest solves the R-learner moment on residuals Y − m̂(x) and T − ê(x), with m̂ = ê·μ̂₁ +
    (1 − ê)·μ̂₀ from the cross-fitted nuisances, as econml's CausalForestDML does with its own.
    Each patient's estimate comes from the trees whose subsample left that patient out (grf's
    out-of-bag prediction): no tree that predicts a patient saw that patient. The patient's outcome
    reaches the estimate only at second order, through other patients' cross-fitted residuals (as
    in grf). One forest on all patients instead of one per fold costs about a quarter of the time
    and grows each tree on more patients.
    """
    forest = _grow_forest(X, T - e, Y - (e * mu1 + (1 - e) * mu0), cfg)
    model = _Forest(forest)
    oob = np.asarray(forest.oob_predict(X), dtype=float).reshape(len(X))
    if np.isnan(oob).any():  # a patient drawn into every tree's subsample: only with very few trees
        raise ParameterError(
            f"estimation.n_estimators = {cfg.n_estimators} is too few for out-of-bag causal-forest estimates "
            f"({int(np.isnan(oob).sum())} patient(s) were in every tree); use at least 100"
        )
    return model, oob


def _causal_forest_in_sample(X: np.ndarray, T: np.ndarray, Y: np.ndarray, ctx: _Context, outcome_models: _TwoModels) -> _Forest:
    """The causal forest fitted on these patients alone, for `forward_fit`: residuals from the given outcome
    models' (in-sample) predictions and a propensity fitted on the same patients, so nothing it sees comes
    from patients outside them (the out-of-bag forest's cross-fitted residuals come from every fold)."""
    mu0, mu1 = outcome_models.predict_arms(X)
    e = np.clip(clone(ctx.propensity_model).fit(X, T).predict_proba(X)[:, 1], PROPENSITY_FLOOR, 1 - PROPENSITY_FLOOR)
    return _Forest(_grow_forest(X, T - e, Y - (e * mu1 + (1 - e) * mu0), ctx.cfg))


def _grow_forest(X: np.ndarray, t_residual: np.ndarray, y_residual: np.ndarray, cfg: EstimationParams) -> Any:
    """econml's grf CausalForest (honest, no variance estimates) on R-learner residuals, sized by `cfg`."""
    from econml.grf import CausalForest

    return CausalForest(
        n_estimators=cfg.n_estimators,
        min_samples_leaf=cfg.min_samples_leaf,
        max_samples=_tree_sample(len(X)),
        honest=True,
        inference=False,
        random_state=cfg.seed,
        n_jobs=-1,
    ).fit(X, t_residual, y_residual)


def _tree_sample(n: int) -> float | int:
    """Patients drawn for each causal-forest tree: econml's default 45%, at most `TREE_ROWS`.

    Past ~22,000 training patients each tree sees a fixed-size subsample, so forest time and memory
    stop growing with n while the forest as a whole still uses every patient.
    """
    return 0.45 if 0.45 * n <= TREE_ROWS else TREE_ROWS


def _t_learner(X: np.ndarray, T: np.ndarray, Y: np.ndarray, ctx: _Context, outcome_models: _TwoModels) -> Any:
    return outcome_models  # the nuisance outcome models are the T-learner: no second fit


COX_PENALIZER = 0.1  # ridge penalty of the per-arm Cox models (lifelines' `penalizer`, on standardized columns)


class _CoxArms:
    """Cox T-learner: one ridge-penalized Cox proportional-hazards model per arm, fitted to the patients'
    own times and events (Cox 1972; lifelines), so that it sees the hazard-scale signal that pseudo-values
    of one horizon blur; the effect is the difference of the two predicted survival curves on the
    analysis' estimand: S₁(t*|x) − S₀(t*|x), or the difference of their areas up to the horizon (RMST)."""

    def __init__(self, models: tuple[Any, Any], keep: tuple[np.ndarray, np.ndarray], horizon: float, estimand: str):
        self.models, self.keep, self.horizon, self.estimand = models, keep, horizon, estimand

    def _value(self, arm: int, X: np.ndarray) -> np.ndarray:
        model, keep = self.models[arm], self.keep[arm]
        frame = pd.DataFrame(X[:, keep], columns=[f"x{j}" for j in np.flatnonzero(keep)])
        if self.estimand == "survival":
            return model.predict_survival_function(frame, times=[self.horizon]).to_numpy()[0]
        times = model.baseline_survival_.index.to_numpy(dtype=float)
        grid = np.unique(np.concatenate([[0.0], times[times < self.horizon], [self.horizon]]))
        curves = model.predict_survival_function(frame, times=grid).to_numpy()  # grid × patients, right-continuous steps
        return np.sum(curves[:-1] * np.diff(grid)[:, None], axis=0)

    def effect(self, X: np.ndarray) -> np.ndarray:
        return self._value(1, X) - self._value(0, X)


def _cox_t_learner(X: np.ndarray, T: np.ndarray, Y: np.ndarray, ctx: _Context, outcome_models: _TwoModels) -> Any:
    from lifelines import CoxPHFitter

    target = ctx.survival
    if target is None:
        raise DataError("estimation.learner: cox_t_learner needs a time-to-event outcome")
    models, keeps = [], []
    for arm in (0, 1):
        rows = T == arm
        keep = X[rows].std(axis=0) > 0  # a column constant in one arm has no coefficient there
        frame = pd.DataFrame(X[rows][:, keep], columns=[f"x{j}" for j in np.flatnonzero(keep)])
        frame["time"], frame["event"] = target.time[rows], target.event[rows]
        models.append(CoxPHFitter(penalizer=COX_PENALIZER).fit(frame, duration_col="time", event_col="event"))
        keeps.append(keep)
    return _CoxArms((models[0], models[1]), (keeps[0], keeps[1]), target.horizon, target.estimand)


# One registry: adding a learner is one function and one line. Fold learners are fitted per
# fold on the other folds; out-of-bag learners once on all patients, after the nuisances.
LEARNERS: dict[str, Callable[..., Any]] = {
    "t_learner": _t_learner,
    "x_learner": _x_learner,
    "dr_learner": _dr_learner,
    "cox_t_learner": _cox_t_learner,
}
SURVIVAL_LEARNERS = ("cox_t_learner",)  # candidates of `learner: auto` for time-to-event outcomes only
OUT_OF_BAG_LEARNERS: dict[str, Callable[..., tuple[Any, np.ndarray]]] = {
    "causal_forest": _causal_forest,
}
#: What `forward_fit` fits for an out-of-bag learner: the same learner fitted on the earlier folds alone.
FORWARD_LEARNERS: dict[str, Callable[..., Any]] = {**LEARNERS, "causal_forest": _causal_forest_in_sample}


# --- cross-fitting -----------------------------------------------------------------------------


def assign_folds(treatment: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold id per patient, stratified by arm, reproducible from the seed."""
    ids = np.empty(treatment.size, dtype=int)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for k, (_, test) in enumerate(splitter.split(np.zeros(treatment.size), treatment)):
        ids[test] = k
    return ids


def _propensity(
    data: TrialData, cfg: EstimationParams, X: np.ndarray, T: np.ndarray, folds: np.ndarray
) -> tuple[Any, np.ndarray]:
    """The propensity model handed to learners (unfitted) and out-of-fold propensities.

    In an RCT both are the known randomization probability. Otherwise the model family with the
    smallest held-out log-loss summed over folds is handed on, so learners refit one model only.
    """
    if data.spec.study == "rct":
        p = data.spec.randomization_probability or float(T.mean())
        return KnownPropensity(p), np.full(T.size, p)
    chooser, e, losses = _classifier(cfg), np.empty(T.size), 0.0
    for k in np.unique(folds):
        train = folds != k
        fitted = clone(chooser).fit(X[train], T[train])
        e[~train] = fitted.predict_proba(X[~train])[:, 1]
        losses = np.add(losses, fitted.losses_)
    return clone(chooser.candidates[int(np.argmin(losses))]), e


#: Below this many patients the boosted trees (scikit-learn's OpenMP histogram boosting) fit faster on
#: one thread: at trial sizes, thread start-up and synchronisation cost more than they save, and on a
#: machine busy with other work they cost many times more (`benchmarks/threads.py` measures it).
SINGLE_THREAD_BELOW = 10_000


@contextmanager
def threads_for(n: int) -> Iterator[None]:
    """Limit OpenMP to one thread while fitting on `n` < `SINGLE_THREAD_BELOW` patients."""
    if n >= SINGLE_THREAD_BELOW:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def fit_effects(
    data: TrialData,
    cfg: EstimationParams,
    outcome: np.ndarray | None = None,
    scale: tuple[str, str] | None = None,
    survival: tuple[float, str] | None = None,
) -> EffectModel:
    """Cross-fit the candidate learners and return out-of-fold effects, AIPW scores and the ATE.

    Below `SINGLE_THREAD_BELOW` patients OpenMP runs on one thread (`threads_for`).

    Parameters
    ----------
    data : TrialData
    cfg : EstimationParams
    outcome : array, optional
        The outcome to analyse (e.g. pseudo-observations of a time-to-event outcome); default
        `data.outcome`.
    scale : (name, estimand), optional
        How the effect is expressed; default from the outcome type.
    survival : (horizon, "rmst" or "survival"), optional
        For a time-to-event outcome: what the pseudo-observations estimate. Survival learners
        (the Cox T-learner) then join the candidates, fitted to the patients' own times and events.
    """
    outcome_type = data.spec.outcome.type
    if outcome is None:
        if outcome_type not in SCALES:
            raise DataError(
                f"time-to-event outcomes are analysed through pseudo-observations; call analyze() for '{outcome_type}'"
            )
        outcome = data.outcome
    scale = scale or SCALES[outcome_type]
    X_all, T_all, Y_all = data.X.to_numpy(dtype=float), data.treatment, np.asarray(outcome, dtype=float)
    with threads_for(T_all.size):
        all_folds = assign_folds(T_all, cfg.folds, cfg.seed)
        propensity_model, e_all = _propensity(data, cfg, X_all, T_all, all_folds)
        observational = data.spec.study == "observational"  # estimated propensity: trimmed, weights normalized
        retained = _overlapping(e_all, T_all, cfg) if observational else np.ones(T_all.size, dtype=bool)
        X, T, Y, folds = X_all[retained], T_all[retained], Y_all[retained], all_folds[retained]
        e = np.clip(e_all[retained], PROPENSITY_FLOOR, 1 - PROPENSITY_FLOOR)
        target = None
        if survival is not None and outcome_type == "time_to_event":
            target = SurvivalTarget(np.asarray(data.outcome, float)[retained], np.asarray(data.event)[retained], *survival)
        ctx = _Context(cfg, outcome_type == "binary", propensity_model, target)
        names = (
            list(CANDIDATES) + (list(SURVIVAL_LEARNERS) if target is not None else []) if cfg.learner == "auto" else [cfg.learner]
        )
        fit = _cross_fit(X, T, Y, e, folds, names, ctx)
        mu0, mu1, cand = fit.mu0, fit.mu1, fit.effects
        scores = aipw_scores(Y, T, e, mu0, mu1, normalized=observational)
        chosen, table = _select(names, cand, scores, Y, T, e, mu0, mu1, folds)
        forward = forward_fit(X, T, Y, folds, chosen, ctx, fit.nuisance_family)
    cate = np.empty(T.size)
    for k, name in enumerate(chosen):
        cate[folds == k] = cand[name][folds == k]
    method = "mean of doubly robust (AIPW) scores, cross-fitted nuisances" + (
        "; inverse-propensity weights normalized within each arm" if observational else ""
    )
    ate = summarize_scores(scores, cfg.level, scale[0], scale[1], method)
    return EffectModel(
        fold_models=tuple(fit.models[name][k] for k, name in enumerate(chosen)),
        fold_learners=tuple(chosen),
        folds=folds,
        cate=cate,
        scores=scores,
        mu0=mu0,
        mu1=mu1,
        propensity=e,
        ate=ate,
        learner=cfg.learner,
        candidates=table,
        candidate_cate=cand,
        outcome_type=outcome_type,
        seed=cfg.seed,
        retained=retained,
        outcome=Y,
        nuisance_family=fit.nuisance_family,
        propensity_all=e_all,
        forward=forward,
    )


def aipw_scores(
    Y: np.ndarray, T: np.ndarray, e: np.ndarray, mu0: np.ndarray, mu1: np.ndarray, normalized: bool = False
) -> np.ndarray:
    """Doubly robust (AIPW) score per patient: μ₁ − μ₀ + T(Y − μ₁)/e − (1 − T)(Y − μ₀)/(1 − e); its mean is the ATE.

    `normalized` (observational data, estimated propensity): each arm's inverse-propensity weights are divided
    by their mean, so that they average 1 as the true weights do in expectation (the Hájek form; Robins, Sued,
    Lei-Gomez & Rotnitzky 2007, Statistical Science 22:544). Noise in an estimated ê inflates the mean of 1/ê
    (Jensen), and the unnormalized correction term then overshoots. On the benchmark's confounded trials
    (PM-OBS-NULL, n = 500, the same 500 trials per cell before and after; benchmarks/README.md) normalizing
    lowered the ATE's mean squared error to 0.85 of before where the propensity's c-statistic is about 0.83 (bias
    +0.036 -> +0.010) and to 0.88 at about 0.93 (bias -0.002 -> -0.029: less variance, some bias where 45% of
    patients are trimmed). With a known randomization probability equal to the treated share the two forms agree.
    """
    w1, w0 = T / e, (1 - T) / (1 - e)
    if normalized:
        w1, w0 = w1 / w1.mean(), w0 / w0.mean()
    return mu1 - mu0 + w1 * (Y - mu1) - w0 * (Y - mu0)


def forward_fit(
    X: np.ndarray, T: np.ndarray, Y: np.ndarray, folds: np.ndarray, chosen: list[str], ctx: _Context, family: Any = None
) -> np.ndarray:
    """Forward predictions: fold k (k ≥ 1) predicted by `chosen[k]` fitted, with its own outcome models (of the
    cross-fit's best `family` when given, so no model search runs again), on folds < k.

    Fold 0 is only learnt from (NaN). A fold's predictions therefore never depend on the outcomes of that
    fold or of any later one, which is what makes the calibration test's standard error right (module
    docstring, point 4). Costs one more fit of the outcome models and of the chosen learner per fold but one,
    each on fewer patients than the cross-fit's.
    """
    forward = np.full(T.size, np.nan)
    target = ctx.survival
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(1, int(folds.max()) + 1):
            train, test = folds < k, folds == k
            if not _learnable(T[train], Y[train], ctx.binary):
                continue  # too few patients before fold k (a tiny trial): fold k stays out of the test
            outcome_models = _fit_outcome_models(X[train], T[train], Y[train], ctx, family)
            fold_ctx = ctx if target is None else replace(ctx, survival=target.rows(train))
            model = FORWARD_LEARNERS[chosen[k]](X[train], T[train], Y[train], fold_ctx, outcome_models)
            forward[test] = model.effect(X[test])
    return forward


def too_few_of_a_class(y: np.ndarray) -> bool:
    """Fewer than 2 patients with, or without, a binary outcome: the outcome models' 3-fold model search would leave
    a part with one class (the subgroup halves then predict the observed rate instead)."""
    return min(np.sum(y == 1), np.sum(y == 0)) < 2


def _learnable(T: np.ndarray, Y: np.ndarray, binary: bool) -> bool:
    """Can the outcome models be fitted here: at least 5 patients per arm, and at least 2 of each outcome in each arm if
    binary."""
    for arm in (0, 1):
        y = Y[T == arm]
        if y.size < 5 or (binary and too_few_of_a_class(y)):
            return False
    return True


def _overlapping(e_all: np.ndarray, T_all: np.ndarray, cfg: EstimationParams) -> np.ndarray:
    """Observational data: the patients with propensity inside [trim, 1 - trim] (Crump et al. 2009), the rest
    analysed with the same folds and out-of-fold propensities; a one-line error when an arm is left with too few."""
    retained = (e_all >= cfg.trim) & (e_all <= 1 - cfg.trim)
    for arm, label in ((1, "treated"), (0, "control")):
        left = int((T_all[retained] == arm).sum())
        if left < 2 * cfg.folds:
            raise DataError(
                f"treated and control patients do not overlap: the features predict treatment almost perfectly, and only "
                f"{left} {label} patient(s) have a propensity inside [{cfg.trim:g}, {1 - cfg.trim:g}] "
                f"(at least {2 * cfg.folds} needed); effects cannot be compared without extrapolating"
            )
    return retained


@dataclass(frozen=True)
class _CrossFit:
    """Out-of-fold outcome predictions per arm, each candidate's out-of-fold effects and its fitted models."""

    mu0: np.ndarray
    mu1: np.ndarray
    effects: dict[str, np.ndarray]
    models: dict[str, list[Any]]
    nuisance_family: Any  # an unfitted copy of the outcome model family with the smallest held-out loss


def _cross_fit(
    X: np.ndarray, T: np.ndarray, Y: np.ndarray, e: np.ndarray, folds: np.ndarray, names: list[str], ctx: _Context
) -> _CrossFit:
    """Fit the outcome models and every candidate learner on all folds but one, predict the held-out fold."""
    cfg, target, n = ctx.cfg, ctx.survival, T.size
    mu0, mu1 = np.empty(n), np.empty(n)
    cand = {name: np.empty(n) for name in names}
    models: dict[str, list[Any]] = {name: [] for name in names}
    family_losses: Any = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(cfg.folds):
            train, test = folds != k, folds == k
            outcome_models = _fit_outcome_models(X[train], T[train], Y[train], ctx)
            family_losses = np.add(family_losses, np.add(outcome_models.model0.losses_, outcome_models.model1.losses_))
            mu0[test], mu1[test] = outcome_models.predict_arms(X[test])
            fold_ctx = ctx if target is None else replace(ctx, survival=target.rows(train))
            for name in (name for name in names if name in LEARNERS):
                model = LEARNERS[name](X[train], T[train], Y[train], fold_ctx, outcome_models)
                models[name].append(model)
                cand[name][test] = model.effect(X[test])
        for name in (name for name in names if name in OUT_OF_BAG_LEARNERS):
            model, cand[name] = OUT_OF_BAG_LEARNERS[name](X, T, Y, e, mu0, mu1, cfg)
            models[name] = [model] * cfg.folds
    family = clone(outcome_models.model0.candidates[int(np.argmin(family_losses))])
    return _CrossFit(mu0, mu1, cand, models, family)


def _select(names, cand, scores, Y, T, e, mu0, mu1, folds) -> tuple[list[str], pd.DataFrame]:
    """Per fold, the learner with the smallest DR-loss on the other folds (cross-selection)."""
    m = e * mu1 + (1 - e) * mu0  # E[Y | X]
    fold_ids = np.unique(folds)
    dr = np.array([[np.sum((scores[folds == k] - cand[name][folds == k]) ** 2) for k in fold_ids] for name in names])
    r = np.array([[np.sum(((Y - m) - cand[name] * (T - e))[folds == k] ** 2) for k in fold_ids] for name in names])
    chosen = [names[int(np.argmin(dr.sum(axis=1) - dr[:, k]))] for k in fold_ids]
    table = pd.DataFrame(
        {
            "learner": names,
            "dr_loss": dr.sum(axis=1) / Y.size,
            "r_loss": r.sum(axis=1) / Y.size,
            "folds_chosen": [chosen.count(name) for name in names],
        }
    ).sort_values("dr_loss", kind="stable")
    return chosen, table.reset_index(drop=True)


OVERLAP_WARN_SHARE = 0.10  # warn when more than this share of patients is trimmed


def overlap_summary(effects: EffectModel, treatment: np.ndarray, study: str, trim: float, min_cell: int) -> dict[str, Any]:
    """Aggregate overlap diagnostics: propensity quantiles per arm, c-statistic, share trimmed.

    No per-patient value: quantiles (5th to 95th percentile, only for arms of at least `min_cell`
    patients) and counts, small ones suppressed with the share they would reveal. The c-statistic is the
    probability that a treated patient has a higher propensity than a control patient (0.5: arms
    indistinguishable, as randomization makes them; near 1: little overlap).
    """
    if study == "rct" or effects.propensity_all.size == 0:
        p = float(effects.propensity[0]) if effects.propensity.size else float("nan")
        return {"study": study, "propensity": "known randomization probability", "probability": p, "warning": None}
    e, T = effects.propensity_all, np.asarray(treatment)
    quantiles = (0.05, 0.25, 0.5, 0.75, 0.95)
    by_arm = {
        label: {f"q{int(q * 100):02d}": float(np.quantile(e[T == arm], q)) for q in quantiles}
        for arm, label in ((1, "treated"), (0, "control"))
        if (T == arm).sum() >= min_cell
    }
    c_statistic = float(stats.mannwhitneyu(e[T == 1], e[T == 0]).statistic / ((T == 1).sum() * (T == 0).sum()))
    trimmed = int(e.size - effects.retained.sum())
    shown = suppress_count(trimmed, min_cell)
    share = trimmed / e.size if shown == trimmed else None
    warning = (
        f"{f'{share:.0%}' if share is not None else f'More than {OVERLAP_WARN_SHARE:.0%}'} of patients had an estimated propensity outside "
        f"[{trim:g}, {1 - trim:g}] and were excluded: the effects describe the patients for whom both treatments "
        "were plausible, not everyone."
        if trimmed / e.size > OVERLAP_WARN_SHARE
        else None
    )
    return {
        "study": study,
        "propensity": "out-of-fold estimate (cross-fitted propensity model)",
        "trim": [trim, 1 - trim],
        "n_trimmed": shown,
        "share_trimmed": share,
        "quantiles_by_arm": by_arm,
        "c_statistic": c_statistic,
        "warning": warning,
    }


def summarize_scores(scores: np.ndarray, level: float, scale: str, estimand: str, method: str) -> AverageEffect:
    """Mean of per-patient scores with its normal-theory CI and two-sided p-value for zero."""
    n = scores.size
    estimate = float(np.mean(scores))
    se = float(np.std(scores, ddof=1) / np.sqrt(n))
    z = float(stats.norm.ppf(0.5 + level / 2))
    p_value = float(2 * stats.norm.sf(abs(estimate / se))) if se > 0 else float("nan")
    return AverageEffect(estimate, se, estimate - z * se, estimate + z * se, level, p_value, n, scale, estimand, method)
