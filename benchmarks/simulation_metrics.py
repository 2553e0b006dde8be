"""Per-replication metrics of the simulation benchmark (benchmarks docs/simulation.md §3, M1-M3).

Every function here scores *one* replication of *one* method; averaging over replications and the
Monte-Carlo standard errors are done by ``summarize.py``. The ratio rMSE = MSE_T / MSE_T(B0) needs
two methods on the same replication, so it is also formed there, not here.

M4 (subgroup identification) and M5 (design recommendation) read ``subgroup``, ``theta_hat_G``
and ``design`` of :class:`~simulation_methods.MethodOutput`; a metric family is one function
``(output, truth) -> dict[str, float]`` in :data:`METRIC_FAMILIES`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

ALPHA = 0.05  # docs/simulation.md §3: reject if p_het < alpha

#: Metric names of the heterogeneity tests per scale. Time-to-event outcomes are tested on two
#: scales (docs/simulation.md §5.1), so their metrics carry the scale in the name; other outcomes have one.
TTE_SUFFIX = {"survival": "_abs", "hazard": "_hazard"}


@dataclass(frozen=True)
class Truth:
    """What a replication's scoring needs to know about the truth.

    Attributes
    ----------
    outcome : str
        "continuous", "binary" or "time_to_event".
    null_scale : str or None
        The scale on which this cell has no heterogeneity ("mean", "rd", "logit", "hazard"), or None
        in an alternative cell. A rejection counts as a *false* selection only for a test on this
        scale (docs/simulation.md §5.1: PM-LIFESEV b1_rel = 0 is null on the logit scale only, PM-TTE L0 on
        the hazard scale only).
    predictive, prognostic, decoys : tuple of str
        T_pred, T_prog (prognostic-only) and D of docs/simulation.md §4.
    locus : tuple of str
        Variables whose top-1 rank counts as a locus-level hit (PM-SNP: snp_01 or its LD partner
        snp_02); empty elsewhere.
    tau_train, tau_test : numpy.ndarray
        True effect on the primary scale for the trial's patients and for the test set T.
    features : tuple of str
        All original covariates, in a fixed order (the ranking universe of M2).
    """

    outcome: str
    null_scale: str | None
    predictive: tuple[str, ...]
    prognostic: tuple[str, ...]
    decoys: tuple[str, ...]
    locus: tuple[str, ...]
    tau_train: np.ndarray
    tau_test: np.ndarray
    features: tuple[str, ...] = field(default=())
    g_test: np.ndarray | None = None  # true subgroup G* on the test set T (None in null cells)
    # Rule recovery (docs/simulation.md §4, PM-LIFESEV): numeric feature -> accepted cut-point range, and factor -> the
    # true split (the levels on the benefiting side, and the others).
    cutpoints: dict[str, tuple[float, float]] = field(default_factory=dict)
    splits: dict[str, tuple[frozenset[str], frozenset[str]]] = field(default_factory=dict)

    @property
    def is_null(self) -> bool:
        return self.null_scale is not None


# --- building blocks (unit-tested on hand-made inputs) -------------------------------------------


def reject(p_value: float, alpha: float = ALPHA) -> float:
    """1.0 if p < alpha, 0.0 if not, NaN when there is no p-value."""
    if p_value is None or not np.isfinite(p_value):
        return math.nan
    return float(p_value < alpha)


def top_feature(imp: pd.Series | None) -> str | None:
    """The feature ranked first, or None when nothing is ranked (no importances, or all <= 0).

    A method whose importances are all zero (e.g. a constant effect model) has singled out no
    variable; counting its arbitrary first column as "ranked first" would inflate M2d/M2e.
    """
    if imp is None or imp.empty or not np.isfinite(imp.to_numpy(float)).any():
        return None
    values = imp.fillna(-np.inf)
    if values.max() <= 0:
        return None
    return str(values.idxmax())


def top1_hit(imp: pd.Series | None, targets: Iterable[str]) -> float:
    """M2a/M2d/M2e: 1.0 if the first-ranked feature is in `targets` (0.0 if nothing is ranked)."""
    if imp is None:
        return math.nan
    return float(top_feature(imp) in set(targets))


def all_in_top_k(imp: pd.Series | None, targets: Iterable[str]) -> float:
    """M2b: 1.0 if every target is among the top |targets| features (ties broken by column order)."""
    targets = set(targets)
    if imp is None or not targets:
        return math.nan
    if top_feature(imp) is None:
        return 0.0
    ranked = imp.fillna(-np.inf).sort_values(ascending=False, kind="stable").index[: len(targets)]
    return float(targets <= set(map(str, ranked)))


def ranking_auc_ap(imp: pd.Series | None, targets: Iterable[str]) -> tuple[float, float]:
    """M2c: ROC-AUC and average precision of the importances against the labels 1{j in targets}."""
    targets = set(targets)
    if imp is None or not targets or len(targets) == len(imp):
        return math.nan, math.nan
    labels = np.array([name in targets for name in imp.index], dtype=int)
    scores = imp.fillna(0.0).to_numpy(float)
    return float(roc_auc_score(labels, scores)), float(average_precision_score(labels, scores))


def max_share(imp: pd.Series | None) -> float:
    """Largest importance as a share of the total: how strongly one variable is singled out."""
    if imp is None:
        return math.nan
    values = imp.fillna(0.0).to_numpy(float)
    total = float(np.sum(np.abs(values)))
    return float(np.max(np.abs(values)) / total) if total > 0 else math.nan


def mse(estimate: np.ndarray | None, truth: np.ndarray) -> float:
    """Mean squared error of an effect estimate against the true effect (NaN without an estimate)."""
    if estimate is None:
        return math.nan
    estimate = np.asarray(estimate, float)
    if estimate.shape != np.shape(truth) or not np.all(np.isfinite(estimate)):
        return math.nan
    return float(np.mean((estimate - np.asarray(truth, float)) ** 2))


# --- metric families ----------------------------------------------------------------------------


def detection_metrics(output, truth: Truth) -> dict[str, float]:
    """M1 (reject at alpha) and the raw p-value for every heterogeneity test the method ran.

    Also, in a null cell, the false-selection rate of docs/simulation.md §3: a method "flags a variable as
    predictive" when its heterogeneity test rejects. It is recorded only for the test whose scale
    is the cell's null scale; rejecting on another scale is not an error (docs/simulation.md §5.1).
    A method whose decision combines several tests records each part's p-value as ``p_<part>``.
    """
    out: dict[str, float] = {}
    for scale, p in output.p_het.items():
        suffix = TTE_SUFFIX.get(scale, "") if truth.outcome == "time_to_event" else ""
        out[f"p_het{suffix}"] = float(p) if p is not None else math.nan
        out[f"M1{suffix}"] = reject(p)
        if truth.null_scale == scale:
            out["M2_false_selection"] = reject(p)
    for name, p in (getattr(output, "p_parts", None) or {}).items():  # the parts of a combined decision (ours+maxT)
        out[f"p_{name}"] = float(p)
    return out


def identification_metrics(output, truth: Truth) -> dict[str, float]:
    """M2a-M2e against T_pred (alternative cells); leakage and the severity check in null cells.

    For a method that also reports per-feature test evidence (`imp_tests`), the main rankings are
    repeated on it with the suffix `_tests`.
    """
    out = _identification(output.imp, truth)
    tests = getattr(output, "imp_tests", None)
    if tests is not None:
        keep = ("M2a_top1", "M2a_locus", "M2c_auc", "M2d_leakage", "M2e_decoy", "M2_top1_severity")
        out.update({f"{k}_tests": v for k, v in _identification(tests, truth).items() if k in keep})
    return out


def _identification(imp: pd.Series | None, truth: Truth) -> dict[str, float]:
    if imp is None:
        return {}
    imp = imp.reindex(list(truth.features)) if truth.features else imp
    out = {"imp_max_share": max_share(imp), "M2d_leakage": top1_hit(imp, truth.prognostic)}
    if truth.is_null:
        # docs/simulation.md §4, PM-NULL: importance should not single out severity more often than the test rejects.
        out["M2_top1_severity"] = top1_hit(imp, ("severity",))
        return out
    auc, ap = ranking_auc_ap(imp, truth.predictive)
    out.update(
        {
            "M2a_top1": top1_hit(imp, truth.predictive),
            "M2b_all_in_top_k": all_in_top_k(imp, truth.predictive),
            "M2c_auc": auc,
            "M2c_ap": ap,
            "M2e_decoy": top1_hit(imp, truth.decoys),
        }
    )
    if truth.locus:
        out["M2a_locus"] = top1_hit(imp, truth.locus)
    return out


def accuracy_metrics(output, truth: Truth) -> dict[str, float]:
    """M3: MSE on the test set T, in-sample MSE, and ATE bias against the sample's mean true effect."""
    out = {
        "MSE_T": mse(output.tau_hat_test, truth.tau_test),
        "MSE_in": mse(output.tau_hat_train, truth.tau_train),
    }
    if output.ate_hat is not None and np.isfinite(output.ate_hat):
        out["ATE_bias"] = float(output.ate_hat - np.mean(truth.tau_train))
    out.update(calibration_statistics(output, truth))
    return out


def calibration_statistics(output, truth: Truth) -> dict[str, float]:
    """ours: what MSE_T of ATE + s·(τ̂ − centre) is for any slope s, so slope rules compare offline on the same fits.

    MSE_T(s) = (ate + s·(raw_mean − centre) − mean τ)² + s²·raw_var − 2s·raw_cov + var τ, all over T; mean τ and
    var τ of T are fixed per cell (`Truth.tau_test`). `cal_slope` is the held-out BLP slope before clipping."""
    raw, cal = getattr(output, "tau_raw_test", None), getattr(output, "calibration", None)
    if raw is None or cal is None:
        return {}
    raw, tau = np.asarray(raw, float), np.asarray(truth.tau_test, float)
    return {
        "cal_slope": cal["slope"],
        "cal_se": cal["se"],
        "cal_centre": cal["centre"],
        "cal_ate": cal["ate"],
        "raw_mean_T": float(raw.mean()),
        "raw_var_T": float(raw.var()),
        "raw_cov_T": float(np.mean((raw - raw.mean()) * (tau - tau.mean()))),
    }


def subgroup_metrics(output, truth: Truth) -> dict[str, float]:
    """M4 on the test set T: a reported subgroup against G* (none reported = the empty set)."""
    if output.subgroup is None and not np.isfinite(output.theta_hat_G):
        if truth.is_null:
            return {"M4_false_subgroup": 0.0}
        if truth.g_test is None:
            return {}
        found = np.zeros(truth.tau_test.size, dtype=bool)
        reported = 0.0
    else:
        found = np.asarray(output.subgroup, dtype=bool)
        reported = 1.0
        if truth.is_null:
            return {"M4_false_subgroup": 1.0}
    if truth.g_test is None:
        return {}
    g = np.asarray(truth.g_test, dtype=bool)
    out = {
        "M4_reported": reported,
        "M4_accuracy": float(np.mean(found == g)),
        "M4_sensitivity": float(np.mean(found[g])) if g.any() else math.nan,
        "M4_specificity": float(np.mean(~found[~g])) if (~g).any() else math.nan,
        "M4_size": float(np.mean(found)),
    }
    if found.any():
        value = float(np.mean(truth.tau_test[found]))
        ate, best = float(np.mean(truth.tau_test)), float(np.mean(truth.tau_test[g]))
        out["M4_ppv"] = float(np.mean(g[found]))
        out["M4_value"] = value
        out["M4_lift"] = (value - ate) / (best - ate) if best != ate else math.nan
        if np.isfinite(output.theta_hat_G):
            out["M4_optimism"] = float(output.theta_hat_G) - value
        for name, attribute in (("shrunken", "theta_shrunken_G"), ("raw", "theta_raw_G")):
            estimate = getattr(output, attribute, math.nan)
            if np.isfinite(estimate):
                out[f"M4_optimism_{name}"] = float(estimate) - value
    conditions = getattr(output, "rule", None)
    if reported and conditions is not None:
        out.update(rule_recovery(conditions, truth))
    return out


def rule_recovery(conditions, truth: Truth) -> dict[str, float]:
    """Does the reported rule cut each numeric feature inside its accepted range, and split each
    factor as the truth does? 1/0 per feature of the truth's rule (0 when the rule omits it)."""
    out: dict[str, float] = {}
    for feature, (low, high) in truth.cutpoints.items():
        cuts = [float(c.value) for c in conditions if c.feature == feature and c.kind in ("le", "gt")]
        out[f"M4_cut_{feature}"] = float(any(low <= cut <= high for cut in cuts))
    for feature, (inside, outside) in truth.splits.items():
        same = [
            (c.kind == "in" and frozenset(c.value) == inside) or (c.kind == "not_in" and frozenset(c.value) == outside)
            for c in conditions
            if c.feature == feature
        ]
        out[f"M4_split_{feature}"] = float(any(same))
    return out


def refinement_metrics(output, truth: Truth) -> dict[str, float]:
    """M4_false_refinement: any *validated* rule (every one, not only the first) conditions on a feature
    outside T_pred and the decoys D; M4_decoy_rule: any validated rule conditions on a decoy in D.
    Alternative cells only (in null cells every validated rule is already a false subgroup)."""
    rules = getattr(output, "validated_features", None)
    if rules is None or truth.is_null:
        return {}
    allowed, decoys = set(truth.predictive), set(truth.decoys)
    return {
        "M4_false_refinement": float(any(features - allowed - decoys for features in rules)),
        "M4_decoy_rule": float(any(features & decoys for features in rules)),
        "M4_validated_rules": float(len(rules)),
    }


def randomization_metrics(output, truth: Truth) -> dict[str, float]:
    """randomization_flag: the pipeline's check of a declared randomization failed (trials declared rct only)."""
    failed = getattr(output, "randomization_failed", None)
    return {} if failed is None else {"randomization_flag": float(failed)}


#: Designs that target a subgroup (benchmarks/README.md, M5: "enrichment or stratification"); all-comers does not.
TARGETED_DESIGNS = ("enrichment", "stratified", "stratified_mast", "adaptive_enrichment", "enriched_stratified")


def design_metrics(output, truth: Truth) -> dict[str, float]:
    """M5: the recommended design, and the sample-size ratio and screening burden of enriching on the
    planned subgroup at its *true* effect.

    ``output.design`` is a dict with ``recommended`` (design registry key, or None for a method that
    recommends nothing, e.g. the oracle) and ``members`` (membership of the planned subgroup on T,
    or None). N for 90% power at one-sided 2.5% is proportional to variance / effect², so with the
    outcome variance taken equal inside and outside the subgroup N_enrich / N_all-comers =
    (ATE / V(Ĝ))²; reported only when V(Ĝ) > 0 (enrichment on a subgroup without benefit cannot succeed).
    """
    design = output.design
    if design is None:
        return {}
    out: dict[str, float] = {}
    recommended = design.get("recommended")
    if recommended is not None:
        out["M5_targeted"] = float(recommended in TARGETED_DESIGNS)
        if truth.is_null:
            return out
        out["M5_enrichment"] = float(recommended == "enrichment")
    members = design.get("members")
    if truth.is_null or members is None:
        return out
    members = np.asarray(members, dtype=bool)
    if members.any():
        value, ate = float(np.mean(truth.tau_test[members])), float(np.mean(truth.tau_test))
        out["M5_screening"] = 1.0 / float(np.mean(members))
        if value > 0:
            out["M5_N_ratio"] = (ate / value) ** 2
    return out


#: Metric families run on every (replication, method).
METRIC_FAMILIES: list[Callable[..., dict[str, float]]] = [
    detection_metrics,
    identification_metrics,
    accuracy_metrics,
    subgroup_metrics,
    refinement_metrics,
    design_metrics,
    randomization_metrics,
]


def replication_metrics(output, truth: Truth) -> dict[str, float]:
    """All metrics of one method on one replication; metrics the method cannot produce are left out."""
    out: dict[str, float] = {}
    for family in METRIC_FAMILIES:
        out.update(family(output, truth))
    return {name: value for name, value in out.items() if not (isinstance(value, float) and math.isnan(value))}
