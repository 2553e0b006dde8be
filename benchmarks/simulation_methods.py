"""The methods compared by the simulation benchmark: our pipeline, baselines and the oracle.

Each method is one function ``(replication, settings) -> MethodOutput`` in :data:`METHODS`
(adding a method is one function and one line). Every method sees the same simulated trial and the
same test set T (benchmarks docs/simulation.md §1).

============  ======================================================================================
ours          ``subgroups.analyze`` with ``learner: auto``; p_het = the p-value of its decision (weighted Holm over the
              one-sided calibration (BLP) slope on forward predictions (fold k from a model fitted on folds < k;
              before 2026-12-07 on the cross-fitted predictions) and the per-feature max-T test on the
              cross-fitted AIPW scores, α/2 each; parts recorded as p_blp and p_maxT); for time-to-event also the
              hazard-scale interaction test.
B0            ATE only: difference in means / proportions, or of Kaplan-Meier survival at 24 months.
B1            Full-interaction GLM Y ~ W + X + W:X (OLS, logistic, or Cox); global test of all W:X
              terms (F test for OLS, likelihood ratio otherwise); importance |z| of W:X_j.
B3            econml ``CausalForestDML`` with its defaults; p_het = one-sided BLP slope of econml's
              ``DRTester`` on a 50/50 split; importance = forest ``feature_importances_``.
oracle        The true-model interaction test with the true prognostic score s(x) as covariate;
              importance = 1{j in T_pred}; CATE = the truth.
ours+cand     ``ours`` with pre-specified candidates (the true modifiers; noise features in null cells), the same
              fit re-assembled; p_het = the smallest adjusted p over every heterogeneity claim.
ours+maxT     (before the max-T test joined the decision) ``ours`` (the same fit): the BLP calibration test
              and the max-T test over the encoded columns on the same cross-fitted AIPW scores, Bonferroni
              over the two (α/2 each); p_het = min(1, 2 min(p_BLP, p_maxT)).
ours+jointT   ``ours`` (the same fit) with one correlation-aware max-T over the held-out predictions τ̂ (one-sided:
              the BLP calibration t) and the encoded columns (two-sided); p_het = its multiplier-bootstrap p.
ceiling       The agnostic ceiling: the max-T test (``heterogeneity.max_t_test``) over the 31 encoded
              columns on AIPW scores from the true nuisance functions (continuous and binary scenarios).
ceiling-bonf  The same scores, per-feature tests, Bonferroni over the 30 features (the ceiling of issue 15).
============  ======================================================================================
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

import subgroups
from subgroups import outcomes
from subgroups.analysis import Analysis, most_credible_subgroup
from subgroups.datasets.synthetic import (
    FEATURE_FAMILIES,
    FEATURES,
    LIFESEV_INTERCEPT,
    PROG_BINARY,
    PROG_CONTINUOUS,
    TTE_T_STAR,
    SimulatedTrial,
    tte_truth,
)

#: Landmark of the time-to-event truth ΔS(t*) (docs/simulation.md §4, PM-TTE).
HORIZON = TTE_T_STAR


@dataclass(frozen=True)
class Replication:
    """One simulated trial, its test set T, and the seed the methods use."""

    scenario: str
    outcome: str  # continuous | binary | time_to_event
    trial: SimulatedTrial
    test: SimulatedTrial
    seed: int
    null_scale: str | None
    study: str = "rct"  # what the trial is declared as to our pipeline: rct | observational


@dataclass(frozen=True)
class MethodOutput:
    """What one method reports on one replication (docs/simulation.md §1, "what the pipeline must output").

    ``p_het`` maps the scale a test works on ("mean", "rd", "logit", "survival", "hazard") to its
    p-value. Arrays are on the outcome's truth scale (difference in means, risk difference, or
    ΔS(24)); None where a method cannot produce them. ``subgroup`` (membership on T) and
    ``theta_hat_G`` feed M4; ``design`` ({"recommended": key or None, "members": membership of the
    planned subgroup on T or None}) feeds M5.
    """

    p_het: dict[str, float]
    imp: pd.Series | None
    tau_hat_train: np.ndarray | None
    tau_hat_test: np.ndarray | None
    ate_hat: float
    subgroup: Any = None
    theta_hat_G: float = math.nan
    design: Any = None
    imp_tests: pd.Series | None = None  # evidence from per-feature effect-modification tests (-log10 p), ours only
    p_parts: dict[str, float] | None = None  # p-values of the parts of a combined decision (metrics p_<name>)
    rule: Any = None  # conditions (subgroups.rule_language.Condition) of the reported subgroup, for rule recovery
    theta_shrunken_G: float = math.nan  # the method's empirical-Bayes shrunken effect in Ĝ
    theta_raw_G: float = math.nan  # ours: the held-out estimate in Ĝ before adjusting for selection
    validated_features: Any = None  # ours: features of each validated rule (list of sets), for M4_false_refinement
    randomization_failed: bool | None = None  # ours, trials declared randomized: did the randomization check fail?
    #: ours: the uncalibrated effect model on T and the calibration behind `tau_hat_test` (slope β̂ before clipping, its
    #: SE, the centre = mean held-out τ̂, the average effect): M3 under any other slope rule can be recomputed offline.
    tau_raw_test: np.ndarray | None = None
    calibration: dict[str, float] | None = None


# --- shared pieces ------------------------------------------------------------------------------


def arm_of(data: pd.DataFrame) -> np.ndarray:
    return (data["arm"].to_numpy() == "drug").astype(int)


def design_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """Numeric covariates for the baselines: smoking as two indicators (never is the reference)."""
    X = frame[FEATURES].copy()
    smoking = X.pop("smoking").astype(str)
    X.insert(3, "smoking=former", (smoking == "former").astype(float))
    X.insert(4, "smoking=current", (smoking == "current").astype(float))
    return X.astype(float)


def original_feature(column: str) -> str:
    return column.split("=", 1)[0]


def to_original(values: pd.Series, how: str) -> pd.Series:
    """Collapse per-column importances to the 30 original features ('sum' or 'max' over a factor's dummies)."""
    grouped = values.groupby(values.index.map(original_feature))
    collapsed = grouped.sum() if how == "sum" else grouped.max()
    return collapsed.reindex(FEATURES)


def pipeline_params(outcome: str, seed: int, estimation: dict[str, Any], study: str = "rct") -> dict[str, Any]:
    """Parameters of one `subgroups.analyze` run on a simulated trial."""
    if outcome == "time_to_event":
        spec = {"type": "time_to_event", "time": "time", "event": "event", "estimand": "survival", "horizon": HORIZON}
        spec["time_unit"] = "months"
    else:
        spec = {"column": "response", "type": outcome}
    return {
        "name": "bench",
        "data": {
            "treatment": {"column": "arm", "treated": "drug", "control": "placebo"},
            "outcome": spec,
            "features": FEATURE_FAMILIES,
            "id_column": "patient_id",
            "study": study,
        },
        "estimation": {"learner": "auto", "folds": 5, **estimation, "seed": int(seed)},
        "report": {"min_cell": 10},
    }


def primary_scale(outcome: str) -> str:
    return {"continuous": "mean", "binary": "rd", "time_to_event": "survival"}[outcome]


# --- ours ---------------------------------------------------------------------------------------


def run_ours(rep: Replication, settings: dict[str, Any]) -> MethodOutput:
    return fit_ours(rep, settings)[0]


#: The last `ours` fit: (replication, settings key, result). `ours` and `ours+maxT` on the same replication
#: share one fit (the harness runs a replication's methods one after the other); one entry bounds memory.
_LAST_FIT: list[tuple[Replication, str, tuple[MethodOutput, Analysis]]] = []


def fit_ours(rep: Replication, settings: dict[str, Any]) -> tuple[MethodOutput, Analysis]:
    """`ours` on one replication: its output and the fitted analysis (for methods that change only the decision).

    The fit is deterministic in (replication, settings), so a second call for the same replication object and
    settings returns the first call's result."""
    key = json.dumps(settings, sort_keys=True, default=str)
    if _LAST_FIT and _LAST_FIT[0][0] is rep and _LAST_FIT[0][1] == key:
        return _LAST_FIT[0][2]
    result = _fit_ours(rep, settings)
    _LAST_FIT[:] = [(rep, key, result)]
    return result


def _fit_ours(rep: Replication, settings: dict[str, Any]) -> tuple[MethodOutput, Analysis]:
    params = pipeline_params(rep.outcome, rep.seed, settings.get("ours", {}), rep.study)
    analysis = subgroups.analyze(rep.trial.data, params)
    dump_scores(rep, analysis)
    return ours_output(rep, analysis), analysis


def ours_output(rep: Replication, analysis: Analysis) -> MethodOutput:
    """What `ours` reports from one finished analysis (with candidates, its decision is over every claim)."""
    data = rep.trial.data
    het = analysis.heterogeneity
    # The decision's p: the smallest adjusted p over every claim (agnostic tests and candidates), < alpha exactly when detected.
    p_het = {primary_scale(rep.outcome): float(het["p_value"])}
    parts = {"blp": float(het["calibration"]["p_value"])}
    if het.get("max_t"):
        parts["maxT"] = float(het["max_t"]["p_value"])
    if rep.outcome == "time_to_event":
        p_het["hazard"] = float(het["extra"]["hazard_scale"]["p_value"])
    cate = np.full(len(data), np.nan)
    cate[analysis.effects.analysed(len(data))] = analysis.calibrate(analysis.effects.cate)
    # M4: the subgroup the suite would report as validated (the same choice the design step plans for).
    validated = [s for s in analysis.subgroups if s.status == "validated"]
    best = most_credible_subgroup(validated)
    # M5: the design the report recommends and the subgroup it was planned for.
    menu, planned = analysis.design, analysis.results["design"]["subgroup"]
    planned_members = next((s.contains(rep.test.data).to_numpy() for s in analysis.subgroups if s.rule == planned), None)
    # The model's own predictions on T, and calibrated as `Analysis.effect` returns them (one prediction of T).
    tau_raw_test = np.asarray(analysis.effect(rep.test.data, calibrated=False), float)
    tau_hat_test = np.asarray(analysis.calibrate(tau_raw_test), float)
    slope = analysis.tests.reported_calibration or analysis.tests.calibration  # the slope that calibrates
    calibration = {
        "slope": float(slope.estimate),
        "se": float(slope.se),
        "centre": float(np.mean(analysis.effects.cate)),
        "ate": float(analysis.effects.ate.estimate),
    }
    return MethodOutput(
        p_het=p_het,
        imp=analysis.importance.reindex(FEATURES).fillna(0.0),
        tau_hat_train=cate,
        tau_hat_test=tau_hat_test,
        ate_hat=float(analysis.results["ate"]["estimate"]),
        subgroup=None if best is None else best.contains(rep.test.data).to_numpy(),
        theta_hat_G=math.nan if best is None else float(best.reported_effect),  # adjusted for selection
        design={"recommended": menu.recommended if menu is not None else "all_comers", "members": planned_members},
        imp_tests=modifier_evidence(analysis.results),
        rule=None if best is None else best.conditions,
        theta_shrunken_G=math.nan if best is None else float(best.shrunken_effect),
        theta_raw_G=math.nan if best is None else float(best.effect),
        validated_features=[{c.feature for c in s.conditions} for s in validated],
        randomization_failed=randomization_failed(analysis.results),
        p_parts=parts,
        tau_raw_test=tau_raw_test,
        calibration=calibration,
    )


#: Folder for the cross-fitted scores of every `ours` fit (environment variable; unset: nothing is written),
#: so that decision rules can be compared offline on the same fits (issue 15 item 2).
SCORES_DIR = "SUBGROUPS_BENCH_SCORES"


def dump_scores(rep: Replication, analysis: Analysis) -> None:
    folder = os.environ.get(SCORES_DIR)
    if not folder:
        return
    kept = analysis.effects.analysed(len(rep.trial.data))
    path = Path(folder) / f"{rep.scenario}-{rep.seed}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        scores=np.asarray(analysis.effects.scores, float),
        cate=np.asarray(analysis.effects.cate, float),
        X=analysis.data.X.loc[kept].to_numpy(float),
        columns=np.asarray(analysis.data.X.columns, str),
        p_blp=float(analysis.tests.calibration.p_value),
        true_scores=true_nuisance_scores(rep)[kept],
    )


#: Candidates named before the data (heterogeneity.candidates) for `ours+cand`: the true modifiers as a
#: scientist would pre-specify them in alternative cells, three noise features in null cells.
CANDIDATES: dict[str, list[str]] = {
    "PM-SNP": ["snp_01 >= 1"],
    "PM-LIFESEV": ["smoking", "severity"],
    "PM-TTE": ["snp_01 >= 1", "severity"],
}
NOISE_CANDIDATES = ["snp_15", "alcohol", "duration"]


def run_ours_with_candidates(rep: Replication, settings: dict[str, Any]) -> MethodOutput:
    """`ours` with pre-specified candidates; p_het = the smallest adjusted p over every heterogeneity claim
    (the agnostic test and the candidates: rejected at 0.05 exactly when the suite reports heterogeneity).
    Candidates change no fit: the same fit as `ours` (one per replication), re-assembled with them."""
    from subgroups.analysis import _assemble

    candidates = NOISE_CANDIDATES if rep.null_scale is not None else CANDIDATES.get(rep.scenario, NOISE_CANDIDATES)
    _, analysis = fit_ours(rep, settings)
    run = analysis.params
    run = run.model_copy(update={"heterogeneity": run.heterogeneity.model_copy(update={"candidates": list(candidates)})})
    with warnings.catch_warnings():  # the fit's warnings were shown once, by `ours`
        warnings.simplefilter("ignore")
        with_candidates = _assemble(run, analysis.data, analysis.effects, analysis.explanation)
    return ours_output(rep, with_candidates)


def run_ours_max_t(rep: Replication, settings: dict[str, Any]) -> MethodOutput:
    """`ours` (one fit, the same as `ours` makes) with a stronger agnostic decision: the BLP calibration test
    (one-sided) and the max-T test of `heterogeneity.max_t_test` over every encoded column of the analysed
    patients (two-sided; multiplier bootstrap, 10,000 draws, seeded by the replication), both on the pipeline's
    cross-fitted AIPW scores, combined by Bonferroni over the two: each at α/2, so the family-wise error of
    "heterogeneity detected" stays ≤ α under any dependence between them. p_het = min(1, 2 min(p_BLP, p_maxT))
    (Holm over the two rejects the same "any" hypothesis). The parts are recorded as p_blp and p_maxT.
    Subgroups, designs and importances are those of `ours` (they follow the pipeline's own decision)."""
    from subgroups.heterogeneity import max_t_test

    output, analysis = fit_ours(rep, settings)
    kept = analysis.effects.analysed(len(rep.trial.data))
    max_t = max_t_test(analysis.effects.scores, analysis.data.X.loc[kept], seed=rep.seed)
    scale = primary_scale(rep.outcome)
    p_blp = float(analysis.tests.calibration.p_value)
    p_het = dict(output.p_het)
    p_het[scale] = min(1.0, 2.0 * min(p_blp, max_t.p_value))
    return dataclasses.replace(output, p_het=p_het, p_parts={"blp": p_blp, "maxT": float(max_t.p_value)})


def run_ours_joint_t(rep: Replication, settings: dict[str, Any]) -> MethodOutput:
    """`ours` (one fit) with the BLP calibration test and the per-column tests joined in one max-T
    (`heterogeneity.max_t_test` with τ̂ as a one-sided column): the calibration t is the same HC3 statistic,
    and the bootstrap knows how it correlates with the column tests (τ̂ is a function of the columns), so
    the maximum pays less than the Bonferroni split of ``ours+maxT``. Family-wise error ≤ α for the one
    hypothesis "no heterogeneity". The parts' separate p-values are recorded as p_blp and p_maxT."""
    from subgroups.heterogeneity import max_t_test

    output, analysis = fit_ours(rep, settings)
    kept = analysis.effects.analysed(len(rep.trial.data))
    X = analysis.data.X.loc[kept]
    Z = pd.concat([pd.Series(analysis.effects.cate, index=X.index, name="__cate__"), X], axis=1)
    joint = max_t_test(analysis.effects.scores, Z, seed=rep.seed, one_sided=[True] + [False] * X.shape[1])
    columns = max_t_test(analysis.effects.scores, X, seed=rep.seed)
    p_het = dict(output.p_het)
    p_het[primary_scale(rep.outcome)] = float(joint.p_value)
    return dataclasses.replace(
        output, p_het=p_het, p_parts={"blp": float(analysis.tests.calibration.p_value), "maxT": float(columns.p_value)}
    )


def randomization_failed(results: dict[str, Any]) -> bool | None:
    """Whether the check of a declared randomization failed (None: no check, e.g. an observational study)."""
    check = (results.get("audit") or {}).get("randomization")
    return None if check is None else not check["passed"]


def modifier_evidence(results: dict[str, Any]) -> pd.Series:
    """-log10 p of the per-feature effect-modification tests, per original feature."""
    table = results["heterogeneity"]["modifiers"]["table"]
    p = pd.Series({row["feature"]: row["p_value"] for row in table}, dtype=float)
    return (-np.log10(p.clip(lower=1e-300))).reindex(FEATURES).fillna(0.0)


# --- B0: ATE only -------------------------------------------------------------------------------


def run_b0(rep: Replication, settings: dict[str, Any]) -> MethodOutput:
    data, w = rep.trial.data, arm_of(rep.trial.data)
    if rep.outcome == "time_to_event":
        t, e = data["time"].to_numpy(float), data["event"].to_numpy(int)
        ate = outcomes.km_survival(t[w == 1], e[w == 1], HORIZON) - outcomes.km_survival(t[w == 0], e[w == 0], HORIZON)
    else:
        y = data["response"].to_numpy(float)
        ate = float(y[w == 1].mean() - y[w == 0].mean())
    return MethodOutput(
        p_het={},
        imp=None,
        tau_hat_train=np.full(len(data), ate),
        tau_hat_test=np.full(len(rep.test.data), ate),
        ate_hat=float(ate),
    )


# --- B1: full-interaction GLM / Cox -------------------------------------------------------------


def _interaction_frames(rep: Replication) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, list[str]]:
    """Standardized covariates of the trial and of T (scaled with the trial's mean and SD)."""
    X = design_matrix(rep.trial.data)
    XT = design_matrix(rep.test.data)
    centre, spread = X.mean(), X.std(ddof=0).replace(0.0, 1.0)
    # Centring and scaling leave the W:X_j coefficients' z-values and the global test unchanged;
    # they only keep the optimizers of the logistic and Cox fits well conditioned.
    return (X - centre) / spread, (XT - centre) / spread, arm_of(rep.trial.data), list(X.columns)


def _glm_blocks(X: pd.DataFrame, w: np.ndarray, cols: list[str], arm: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Full design [1, W, X, W*X] and reduced design [1, W, X]; `arm` fixes W for prediction."""
    W = np.full(len(X), arm, float) if arm is not None else w.astype(float)
    Xv = X[cols].to_numpy(float)
    reduced = np.column_stack([np.ones(len(X)), W, Xv])
    full = np.column_stack([reduced, W[:, None] * Xv])
    return full, reduced


def run_b1(rep: Replication, settings: dict[str, Any]) -> MethodOutput:
    import statsmodels.api as sm

    X, XT, w, cols = _interaction_frames(rep)
    k = len(cols)
    if rep.outcome == "time_to_event":
        return _b1_cox(rep, X, XT, w, cols)
    y = rep.trial.data["response"].to_numpy(float)
    full, reduced = _glm_blocks(X, w, cols)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if rep.outcome == "continuous":
            fit_full = sm.OLS(y, full).fit()
            fit_red = sm.OLS(y, reduced).fit()
            _, p_value, _ = fit_full.compare_f_test(fit_red)  # exact F test of all W:X terms
            z = fit_full.tvalues[2 + k :]
            scale = "mean"
        else:
            fit_full = sm.GLM(y, full, family=sm.families.Binomial()).fit()
            fit_red = sm.GLM(y, reduced, family=sm.families.Binomial()).fit()
            p_value = float(stats.chi2.sf(2 * (fit_full.llf - fit_red.llf), k))  # likelihood ratio, k df
            z = fit_full.tvalues[2 + k :]
            scale = "logit"
    beta = np.asarray(fit_full.params, float)

    def effect(frame: pd.DataFrame) -> np.ndarray:
        one, _ = _glm_blocks(frame, w, cols, arm=1)
        zero, _ = _glm_blocks(frame, w, cols, arm=0)
        if rep.outcome == "continuous":
            return (one - zero) @ beta  # exact: b_W + x'b_WX
        return special.expit(one @ beta) - special.expit(zero @ beta)  # predicted p1 - p0

    tau_train = effect(X)
    return MethodOutput(
        p_het={scale: float(p_value)},
        # A factor's importance is the largest |z| over its dummies (benchmarks/README.md: |z| of the W:X_j terms).
        imp=to_original(pd.Series(np.abs(np.asarray(z, float)), index=cols), "max"),
        tau_hat_train=tau_train,
        tau_hat_test=effect(XT),
        ate_hat=float(np.mean(tau_train)),
    )


def _b1_cox(rep: Replication, X: pd.DataFrame, XT: pd.DataFrame, w: np.ndarray, cols: list[str]) -> MethodOutput:
    from lifelines import CoxPHFitter

    data = rep.trial.data
    names = [f"x{j}" for j in range(len(cols))]  # lifelines formulas dislike '=' in column names

    def frame(Z: pd.DataFrame, arm: np.ndarray, interactions: bool) -> pd.DataFrame:
        out = pd.DataFrame(Z[cols].to_numpy(float), columns=names)
        out.insert(0, "w", arm.astype(float))
        if interactions:
            for name in names:
                out[f"w:{name}"] = out["w"] * out[name]
        return out

    base = frame(X, w, True).assign(time=data["time"].to_numpy(float), event=data["event"].to_numpy(int))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = CoxPHFitter().fit(base, duration_col="time", event_col="event")
        reduced = CoxPHFitter().fit(base.drop(columns=[f"w:{n}" for n in names]), duration_col="time", event_col="event")
    p_value = float(stats.chi2.sf(2 * (full.log_likelihood_ - reduced.log_likelihood_), len(names)))
    z = full.summary.loc[[f"w:{n}" for n in names], "z"].to_numpy(float)

    def effect(Z: pd.DataFrame) -> np.ndarray:
        # Predicted ΔS(24) from the Cox model with its Breslow baseline hazard.
        s1 = full.predict_survival_function(frame(Z, np.ones(len(Z)), True), times=[HORIZON]).to_numpy()[0]
        s0 = full.predict_survival_function(frame(Z, np.zeros(len(Z)), True), times=[HORIZON]).to_numpy()[0]
        return s1 - s0

    tau_train = effect(X)
    return MethodOutput(
        p_het={"hazard": p_value},
        imp=to_original(pd.Series(np.abs(z), index=cols), "max"),
        tau_hat_train=tau_train,
        tau_hat_test=effect(XT),
        ate_hat=float(np.mean(tau_train)),
    )


# --- B2: univariate W×X_j interaction tests, Bonferroni ---------------------------------------


def run_b2(rep: Replication, settings: dict[str, Any]) -> MethodOutput:
    """One interaction test per original covariate, Y ~ W + X_j + W·X_j (smoking: both dummies,
    a 2-df Wald test); p_het = Bonferroni over the 30 covariates; importance = −log10 p_j.

    Scales: OLS for continuous outcomes, OLS with HC3 (linear probability, risk-difference scale)
    for binary ones, Cox for time to event (hazard scale). No CATE model, so no M3.
    """
    import statsmodels.api as sm

    X, _, w, cols = _interaction_frames(rep)
    data = rep.trial.data
    p_values = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for feature in FEATURES:
            block = [c for c in cols if original_feature(c) == feature]
            Xj = X[block].to_numpy(float)
            if rep.outcome == "time_to_event":
                from lifelines import CoxPHFitter

                frame = pd.DataFrame(Xj, columns=[f"x{i}" for i in range(len(block))])
                frame["w"] = w.astype(float)
                for i in range(len(block)):
                    frame[f"wx{i}"] = frame["w"] * frame[f"x{i}"]
                fit = CoxPHFitter().fit(
                    frame.assign(time=data["time"].to_numpy(float), event=data["event"].to_numpy(int)), "time", "event"
                )
                names = [f"wx{i}" for i in range(len(block))]
                beta, cov = fit.params_[names].to_numpy(), fit.variance_matrix_.loc[names, names].to_numpy()
            else:
                design = np.column_stack([np.ones(len(X)), w, Xj, w[:, None] * Xj])
                y = data["response"].to_numpy(float)
                fit = sm.OLS(y, design).fit(cov_type="HC3" if rep.outcome == "binary" else "nonrobust")
                idx = np.arange(2 + len(block), 2 + 2 * len(block))
                beta, cov = np.asarray(fit.params)[idx], np.asarray(fit.cov_params())[np.ix_(idx, idx)]
            wald = float(beta @ np.linalg.solve(cov, beta))
            p_values[feature] = float(stats.chi2.sf(wald, len(block)))
    p = pd.Series(p_values).reindex(FEATURES)
    scale = {"continuous": "mean", "binary": "rd", "time_to_event": "hazard"}[rep.outcome]
    return MethodOutput(
        p_het={scale: float(min(1.0, len(FEATURES) * p.min()))},
        imp=-np.log10(p.clip(lower=1e-300)),
        tau_hat_train=None,
        tau_hat_test=None,
        ate_hat=math.nan,
    )


# --- B3: econml CausalForestDML defaults + DRTester BLP -----------------------------------------


def _forest(binary: bool, seed: int, settings: dict[str, Any]):
    from econml.dml import CausalForestDML

    extra = {"n_estimators": settings["b3_n_estimators"]} if settings.get("b3_n_estimators") else {}
    # Defaults otherwise (model_y / model_t 'auto', cv 2, 100 trees); only the treatment (and a
    # binary outcome) must be declared discrete.
    return CausalForestDML(discrete_treatment=True, discrete_outcome=binary, random_state=seed, **extra)


def _b3_outcome(rep: Replication, rows: np.ndarray) -> np.ndarray:
    """The outcome the forest sees: Y, or jackknife pseudo-values of S(24) within `rows` (per arm)."""
    data = rep.trial.data.iloc[rows]
    if rep.outcome != "time_to_event":
        return data["response"].to_numpy(float)
    return outcomes.survival_pseudo_values(
        data["time"].to_numpy(float), data["event"].to_numpy(int), HORIZON, groups=arm_of(data)
    )


class _FlatEffect:
    """The fitted forest as DRTester sees it, with 1-d effects (a binary outcome gives (n, 1))."""

    def __init__(self, estimator: Any):
        self.estimator = estimator

    def effect(self, X: np.ndarray, T0: Any = 0, T1: Any = 1) -> np.ndarray:
        return np.asarray(self.estimator.effect(X, T0=T0, T1=T1), float).reshape(len(X))


def run_b3(rep: Replication, settings: dict[str, Any]) -> MethodOutput:
    from econml.validate import DRTester
    from sklearn.dummy import DummyClassifier
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.model_selection import train_test_split

    X = design_matrix(rep.trial.data)
    XT = design_matrix(rep.test.data)
    cols = list(X.columns)
    Xv, XTv, w = X.to_numpy(float), XT.to_numpy(float), arm_of(rep.trial.data)
    binary = rep.outcome == "binary"
    everyone = np.arange(len(X))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Effects and importance: one forest on all patients.
        forest = _forest(binary, rep.seed, settings).fit(_b3_outcome(rep, everyone), w, X=Xv)
        tau_train = _FlatEffect(forest).effect(Xv)
        tau_test = _FlatEffect(forest).effect(XTv)
        imp = to_original(pd.Series(np.asarray(forest.feature_importances_, float).ravel(), index=cols), "sum")

        # Test: as econml's validation docs show, fit the CATE model on a training half, the
        # nuisances on the training half (cross-fitted there), and run the BLP on the other half.
        train, val = train_test_split(everyone, test_size=0.5, stratify=w, random_state=rep.seed)
        y_train, y_val = _b3_outcome(rep, train), _b3_outcome(rep, val)
        half = _forest(binary, rep.seed, settings).fit(y_train, w[train], X=Xv[train])
        tester = DRTester(
            model_regression=GradientBoostingRegressor(random_state=rep.seed),
            # Randomized trial: the propensity is the design's allocation ratio, not a fitted model.
            model_propensity=DummyClassifier(strategy="prior"),
            cate=_FlatEffect(half),
        )
        tester.fit_nuisance(Xv[val], w[val], y_val, Xv[train], w[train], y_train)
        blp = tester.evaluate_blp(Xv[val], Xv[train])
    slope, se = float(blp.params[0]), float(blp.errs[0])
    # econml reports a two-sided p; the protocol (benchmarks/README.md) asks for the one-sided test of a positive slope.
    p_value = float(stats.t.sf(slope / se, df=len(val) - 2)) if se > 0 else math.nan
    return MethodOutput(
        p_het={primary_scale(rep.outcome): p_value},
        imp=imp,
        tau_hat_train=tau_train,
        tau_hat_test=tau_test,
        ate_hat=float(np.mean(tau_train)),
    )


# --- oracle -------------------------------------------------------------------------------------


def effect_modifier(trial: SimulatedTrial) -> np.ndarray:
    """The true effect-modifying term m(x) of the scenario (PM-NULL: the prognostic score itself)."""
    X = trial.data
    s = trial.extra_truth["prognostic_score"]
    if trial.scenario == "PM-NULL-a":
        return s
    if trial.scenario == "PM-NULL-b":
        return 0.15 + 0.6 * special.expit(PROG_BINARY * s)  # control risk; the RD is constant in it
    if trial.scenario == "PM-SNP":
        return (X["snp_01"].to_numpy() >= 1).astype(float)
    if trial.scenario == "PM-LIFESEV":
        not_current = (X["smoking"].astype(str) != "current").to_numpy()
        return not_current * stats.norm.cdf((X["severity"].to_numpy(float) - 50.0) / 5.0)
    return ((X["snp_01"].to_numpy() >= 1) & (X["severity"].to_numpy(float) >= 40.0)).astype(float)


#: Direction of benefit of the oracle's interaction coefficient; None = two-sided (PM-NULL-a/b,
#: where no modifier and hence no direction exists).
ORACLE_SIGN = {"PM-NULL-a": None, "PM-NULL-b": None, "PM-SNP": 1.0, "PM-LIFESEV": 1.0, "PM-TTE": -1.0}


def oracle_test(rep: Replication) -> tuple[str, float]:
    """(scale, p) of the true-model interaction test.

    ==========  ===================================================================  ==========
    PM-NULL-a   OLS  Y ~ s + W + W*s                                                  two-sided
    PM-NULL-b   OLS  Y ~ q + W + W*q, q = 0.15 + 0.6 expit(1.2 s) (HC3; RD scale)    two-sided
    PM-SNP      OLS  Y ~ s + W + W*1{snp_01 >= 1}                                     one-sided
    PM-LIFESEV  logistic  Y ~ s + W + W*g(x)                                          one-sided
    PM-TTE      Cox  h ~ s + W + W*S(x)                                               one-sided
    ==========  ===================================================================  ==========

    Each is the scenario's true outcome model with the true prognostic score s(x) as covariate.
    One-sided tests look in the known direction of benefit; ``2 min(p, 1 - p)`` recovers the
    two-sided p-value from the stored one.
    """
    import statsmodels.api as sm

    data = rep.trial.data
    w = arm_of(data).astype(float)
    s = rep.trial.extra_truth["prognostic_score"]
    m = effect_modifier(rep.trial)
    base = s if rep.scenario != "PM-NULL-b" else m
    design = np.column_stack([np.ones(len(data)), base, w, w * m])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if rep.outcome == "time_to_event":
            from lifelines import CoxPHFitter

            frame = pd.DataFrame({"s": s, "w": w, "wm": w * m, "time": data["time"], "event": data["event"]})
            fit = CoxPHFitter().fit(frame, duration_col="time", event_col="event")
            z, scale = float(fit.summary.loc["wm", "z"]), "hazard"
        elif rep.scenario == "PM-LIFESEV":
            fit = sm.GLM(data["response"].to_numpy(float), design, family=sm.families.Binomial()).fit()
            z, scale = float(fit.tvalues[3]), "logit"
        else:
            cov = "HC3" if rep.outcome == "binary" else "nonrobust"
            fit = sm.OLS(data["response"].to_numpy(float), design).fit(cov_type=cov)
            z, scale = float(fit.tvalues[3]), primary_scale(rep.outcome)
    # Exact t reference for OLS with normal errors (continuous outcomes), normal otherwise.
    dist = stats.t(df=len(data) - design.shape[1]) if rep.outcome == "continuous" else stats.norm()
    sign = ORACLE_SIGN[rep.scenario]
    p = 2 * float(dist.sf(abs(z))) if sign is None else float(dist.sf(sign * z))
    return scale, p


def true_control_mean(trial: SimulatedTrial) -> np.ndarray:
    """E[Y | X, W = 0] of the scenario's true outcome model (continuous and binary scenarios)."""
    s = trial.extra_truth["prognostic_score"]
    if trial.scenario in ("PM-NULL-a", "PM-SNP"):
        return PROG_CONTINUOUS * s
    if trial.scenario == "PM-NULL-b":
        return 0.15 + 0.6 * special.expit(PROG_BINARY * s)
    if trial.scenario == "PM-LIFESEV":
        return special.expit(LIFESEV_INTERCEPT + PROG_BINARY * s)
    raise ValueError(f"no closed-form control mean for {trial.scenario}")


def true_nuisance_scores(rep: Replication) -> np.ndarray:
    """AIPW scores from the true nuisance functions (true control mean, true effect, randomization probability 1/2).

    Time to event: the outcome is the within-arm jackknife pseudo-observation of S(24) (what the pipeline
    analyses), its true control mean S₀(24 | x) of the Weibull model and the true effect ΔS(24 | x)."""
    w = arm_of(rep.trial.data)
    if rep.outcome == "time_to_event":
        data = rep.trial.data
        y = outcomes.survival_pseudo_values(data["time"].to_numpy(float), data["event"].to_numpy(int), HORIZON, groups=w)
        s = rep.trial.extra_truth["prognostic_score"]
        mu0 = tte_truth(s, np.zeros_like(s))["surv0_24"]
    else:
        y = rep.trial.data["response"].to_numpy(float)
        mu0 = true_control_mean(rep.trial)
    mu1 = mu0 + rep.trial.true_effect
    return mu1 - mu0 + w * (y - mu1) / 0.5 - (1 - w) * (y - mu0) / 0.5


def run_ceiling(rep: Replication, settings: dict[str, Any]) -> MethodOutput:
    """The agnostic ceiling (issue 15 item 3): the max-T test (`heterogeneity.max_t_test`: per-column HC3 t of the
    AIPW score on each of the 31 encoded columns, the p-value of max |t| from a Gaussian multiplier bootstrap,
    10,000 draws seeded by the replication) on scores built from the *true* nuisance functions. The best a method
    can do that knows the form of the test but not which feature modifies the effect; correlation-aware, so the
    LD partners of a SNP do not cost a Bonferroni factor. Importance: max |t| over a feature's columns. Time to
    event: on the ΔS(24) scale, scores of the pseudo-observations of S(24) (`true_nuisance_scores`)."""
    from subgroups.heterogeneity import max_t_test

    psi = true_nuisance_scores(rep)
    X = design_matrix(rep.trial.data)
    result = max_t_test(psi, X, seed=rep.seed)
    imp = to_original(result.t.abs().reindex(X.columns).fillna(0.0), "max").fillna(0.0)
    return MethodOutput({primary_scale(rep.outcome): result.p_value}, imp, None, None, float(np.mean(psi)))


def run_ceiling_bonferroni(rep: Replication, settings: dict[str, Any]) -> MethodOutput:
    """The first agnostic ceiling (issue 15): per-feature tests (as `heterogeneity.modifier_tests`: OLS of the true-
    nuisance AIPW score on each feature's standardized columns, HC3; smoking a 2-df Wald test), Bonferroni over the
    30 features (an upper bound on the max-T p-value of `ceiling`)."""
    from subgroups.heterogeneity import modifier_tests

    psi = true_nuisance_scores(rep)
    X = design_matrix(rep.trial.data)
    table = modifier_tests(psi, X, {c: original_feature(c) for c in X.columns}, {})
    p = float(min(1.0, len(table) * table["p_value"].min()))
    imp = pd.Series(-np.log10(table["p_value"].to_numpy()), index=table["feature"]).reindex(FEATURES).fillna(0.0)
    return MethodOutput({primary_scale(rep.outcome): p}, imp, None, None, float(np.mean(psi)))


def run_oracle(rep: Replication, settings: dict[str, Any]) -> MethodOutput:
    scale, p = oracle_test(rep)
    predictive = set(rep.trial.predictive)
    imp = None if rep.null_scale is not None else pd.Series([float(f in predictive) for f in FEATURES], index=FEATURES)
    return MethodOutput(
        p_het={scale: p},
        imp=imp,
        tau_hat_train=rep.trial.true_effect,
        tau_hat_test=rep.test.true_effect,
        ate_hat=float(np.mean(rep.trial.true_effect)),
        # The oracle reports the true subgroup G* with its true effect (docs/simulation.md §5.4: ceilings).
        subgroup=None if rep.test.true_subgroup is None else np.asarray(rep.test.true_subgroup, dtype=bool),
        theta_hat_G=math.nan if rep.test.true_subgroup is None else float(np.mean(rep.test.true_effect[rep.test.true_subgroup])),
        design={
            "recommended": None,
            "members": None if rep.test.true_subgroup is None else np.asarray(rep.test.true_subgroup, dtype=bool),
        },
    )


# One registry: adding a method is one function and one line.
METHODS: dict[str, Callable[[Replication, dict[str, Any]], MethodOutput]] = {
    "ours": run_ours,
    "ours+cand": run_ours_with_candidates,
    "ours+maxT": run_ours_max_t,
    "ours+jointT": run_ours_joint_t,
    "B0": run_b0,
    "B1": run_b1,
    "B2": run_b2,
    "B3": run_b3,
    "oracle": run_oracle,
    "ceiling": run_ceiling,
    "ceiling-bonf": run_ceiling_bonferroni,
}

#: The scale of each method's heterogeneity test, per outcome type (for the summary table).
TEST_SCALE: dict[str, dict[str, str]] = {
    "continuous": {
        "ours": "mean",
        "ours+cand": "mean",
        "ours+maxT": "mean",
        "ours+jointT": "mean",
        "ceiling": "mean",
        "ceiling-bonf": "mean",
        "B1": "mean",
        "B2": "mean",
        "B3": "mean",
        "oracle": "mean",
    },
    "binary": {
        "ours": "risk difference",
        "ours+cand": "risk difference",
        "ours+maxT": "risk difference",
        "ours+jointT": "risk difference",
        "ceiling": "risk difference",
        "ceiling-bonf": "risk difference",
        "B1": "logit",
        "B2": "risk difference",
        "B3": "risk difference",
        "oracle": "logit (PM-NULL-b: RD)",
    },
    "time_to_event": {
        "ours": "ΔS(24) and hazard",
        "ours+cand": "ΔS(24) and hazard",
        "ours+maxT": "ΔS(24) and hazard",
        "ours+jointT": "ΔS(24) and hazard",
        "B1": "hazard",
        "B2": "hazard",
        "B3": "ΔS(24)",
        "oracle": "hazard",
        "ceiling": "ΔS(24)",
        "ceiling-bonf": "ΔS(24)",
    },
}
