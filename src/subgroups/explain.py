"""SHAP explanation of the effect model, per original feature and per feature family.

The model explained is the estimated *effect* τ̂(x), not the outcome: a feature with high SHAP
importance here changes how much a patient benefits, not how well they do (Lundberg & Lee 2017).

Because the effect model may be any learner (or a different one per fold), it is explained
through a **surrogate**: a gradient-boosted tree model fitted to the effect model's predictions,
whose SHAP values tree SHAP computes exactly (Lundberg et al. 2020). The surrogate's fidelity is
reported as the approximation gap: mean |surrogate − effect model| and R² on patients held out from
the surrogate's fit, so readers know how far to trust the attribution.

Direction (does a higher value raise or lower the effect?) is read from the same SHAP values: per
feature, the rank correlation between the feature's value and its SHAP value, and its mean SHAP value
by value band (a dependence plot aggregated to groups of at least ``report.min_cell`` patients). Two
features correlated |r| >= 0.7 can share one attribution (SHAP splits credit between correlated
features arbitrarily; Aas, Jullum & Løland 2021), so such pairs are recorded for the reports to name
a flagged feature as a possible proxy of another.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

from subgroups.data import TrialData
from subgroups.effects import EffectModel, threads_for
from subgroups.params import FAMILIES
from subgroups.privacy import suppress_group

SURROGATE_ROWS = 20_000  # the surrogate learns a smooth function: more rows add time, not fidelity
PROXY_R = 0.7  # |correlation| from which one flagged feature may stand in for another
DOSAGES = (0, 1, 2)  # a feature of the genetic family holding only these values is a SNP (minor-allele dosage)


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
    correlated: tuple[tuple[str, str, float], ...] = ()  # pairs of features with |r| >= PROXY_R, on the analysed patients
    # Row-level, kept for the aggregated direction figures only (never in results.json, never shown per patient):
    values: pd.DataFrame | None = None  # SHAP value per sampled patient and original feature (one-hot parts summed)
    sampled: pd.DataFrame | None = None  # the sampled patients' original feature values, aligned with `values`

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
            "direction": {k: (None if np.isnan(v) else float(v)) for k, v in self.direction().items()},
            "correlated": [{"features": [a, b], "r": r} for a, b, r in self.correlated],
            "status": "exploratory",
        }

    def direction(self) -> pd.Series:
        """Per feature, the Spearman correlation of its value with its SHAP value: positive when a higher value
        raises the estimated effect. NaN for a categorical feature or one whose value or SHAP value is constant."""
        if self.values is None or self.sampled is None:
            return pd.Series(np.nan, index=self.by_feature.index)
        out = {}
        for name in self.by_feature.index:
            x = pd.to_numeric(self.sampled[name], errors="coerce") if name in self.sampled else pd.Series(dtype=float)
            shap_values = self.values[name].to_numpy()
            ok = x.notna().to_numpy() if len(x) else np.zeros(len(shap_values), bool)
            if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(shap_values[ok]) == 0:
                out[name] = np.nan
                continue
            out[name] = float(pd.Series(x[ok].to_numpy()).corr(pd.Series(shap_values[ok]), method="spearman"))
        return pd.Series(out, dtype=float)

    def dependence(self, feature: str, min_cell: int, bins: int = 5) -> pd.DataFrame:
        """Mean SHAP value of `feature` by value band: quantile bands of a numeric feature (at most `bins`, merged
        until each holds at least `min_cell` sampled patients), or the levels of a categorical one (levels held by
        fewer than `min_cell` are left out). Columns: group (a value, or a band labelled by its quantile edges), n, mean_shap."""
        if self.values is None or self.sampled is None:
            raise ValueError("this Explanation keeps no SHAP values; re-run the analysis to compute them")
        x, shap_values = self.sampled[feature], self.values[feature].to_numpy()
        numeric = pd.to_numeric(x, errors="coerce")
        rows = []
        if x.dtype != object and numeric.notna().all():
            levels = np.sort(numeric.unique())
            if len(levels) <= bins:  # few distinct values (a SNP dosage, a 0/1 flag): one band per value
                band, cuts = np.searchsorted(levels, numeric), [(v, v) for v in levels]
            else:  # quantile bands [q_k, q_k+1), the last one closed; the edges are quantiles, not patients' values
                edges = np.unique(np.quantile(numeric, np.linspace(0, 1, bins + 1)))
                band = np.clip(np.searchsorted(edges, numeric, side="right") - 1, 0, len(edges) - 2)
                cuts = list(zip(edges[:-1], edges[1:], strict=True))
            merged: list[list[int]] = []  # runs of neighbouring bands, merged from the left to >= min_cell patients
            for k in range(len(cuts)):
                if merged and np.isin(band, merged[-1]).sum() < min_cell:
                    merged[-1].append(k)
                else:
                    merged.append([k])
            if len(merged) > 1 and np.isin(band, merged[-1]).sum() < min_cell:
                merged[-2].extend(merged.pop())
            for i, run in enumerate(merged):
                inside = np.isin(band, run)
                low, high = cuts[run[0]][0], cuts[run[-1]][1]
                if low == high:
                    label = f"{low:.3g}"
                elif len(merged) == 1:
                    label = "all values"
                else:
                    label = (
                        f"< {high:.2g}" if i == 0 else f"≥ {low:.2g}" if i == len(merged) - 1 else f"{low:.2g} to < {high:.2g}"
                    )
                if inside.sum() >= min_cell:
                    rows.append((label, int(inside.sum()), float(shap_values[inside].mean())))
        else:
            text = x.astype(str)
            for level, count in text.value_counts().sort_index().items():
                if count >= min_cell:
                    rows.append((str(level), int(count), float(shap_values[(text == level).to_numpy()].mean())))
        return pd.DataFrame(rows, columns=["group", "n", "mean_shap"])


def explain_effects(model: EffectModel, data: TrialData, max_rows: int, seed: int) -> Explanation:
    """SHAP importance of the effect model on at most `max_rows` patients (a seeded random sample)."""
    import shap

    X = data.X.to_numpy(dtype=float)[model.analysed(data.n)]
    rng = np.random.default_rng(seed)
    target = model.effect(X)
    order = rng.permutation(len(X))
    held_out, fit_rows = order[: max(len(X) // 5, 1)], order[max(len(X) // 5, 1) :][:SURROGATE_ROWS]
    with threads_for(len(fit_rows)):
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
    if np.ptp(target) <= 1e-9 * max(1.0, float(np.max(np.abs(target)))):
        values = np.zeros_like(values)  # one effect for every patient: no feature changes it (not rounding noise)

    encoded = pd.DataFrame(values, columns=data.X.columns)
    per_feature_rows = encoded.T.groupby(data.encoder.original_of).sum().T  # sum one-hot parts per row
    by_feature = per_feature_rows.abs().mean().reindex(data.feature_names).fillna(0.0).sort_values(ascending=False, kind="stable")
    family_rows = per_feature_rows.T.groupby(data.family_of).sum().T
    sampled = data.features.iloc[model.analysed(data.n)].iloc[rows].reset_index(drop=True)
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
        correlated=correlated_pairs(pd.DataFrame(X, columns=data.X.columns), data.encoder.original_of),
        values=per_feature_rows.reindex(columns=list(data.feature_names)).fillna(0.0).reset_index(drop=True),
        sampled=sampled,
    )


def correlated_pairs(
    X: pd.DataFrame, original_of: dict[str, str], threshold: float = PROXY_R
) -> tuple[tuple[str, str, float], ...]:
    """Pairs of original features whose encoded columns correlate |r| >= `threshold` (Pearson; for a one-hot
    feature its most correlated column), strongest first, with the signed r."""
    values = X.to_numpy(dtype=float)
    keep = np.nanstd(values, axis=0) > 0
    if keep.sum() < 2:
        return ()
    columns = X.columns[keep]
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.corrcoef(np.nan_to_num(values[:, keep] - np.nanmean(values[:, keep], axis=0)), rowvar=False)
    best: dict[tuple[str, str], float] = {}
    for i, j in zip(*np.nonzero(np.triu(np.abs(r) >= threshold, k=1)), strict=True):
        a, b = original_of.get(columns[i], columns[i]), original_of.get(columns[j], columns[j])
        if a == b:
            continue
        key = (a, b) if a < b else (b, a)
        if abs(r[i, j]) > abs(best.get(key, 0.0)):
            best[key] = float(r[i, j])
    return tuple((a, b, v) for (a, b), v in sorted(best.items(), key=lambda kv: -abs(kv[1])))


def is_snp(values: pd.Series, family: str) -> bool:
    """A genetic feature whose values are all dosages 0, 1 or 2 (missing values aside)."""
    numeric = pd.to_numeric(values, errors="coerce")
    return family == "genetic" and numeric.notna().any() and bool(numeric.dropna().isin(DOSAGES).all())


def effect_by_genotype(dosage: pd.Series, effect: np.ndarray, min_cell: int) -> pd.DataFrame:
    """Mean per-patient (calibrated) effect by dosage 0/1/2 of one SNP, with the number of patients.

    A dosage held by fewer than `min_cell` patients shows no mean and its count as "<min_cell"; a second count
    is hidden ("suppressed") when the small one could otherwise be recovered from the total
    (`privacy.suppress_group`). Columns: dosage, n, mean_effect (NaN where hidden).
    """
    numeric = pd.to_numeric(dosage, errors="coerce").to_numpy()
    effect = np.asarray(effect, dtype=float)
    counts = pd.Series({d: int(np.sum(numeric == d)) for d in DOSAGES})
    shown = suppress_group(counts, min_cell)
    means = [float(effect[numeric == d].mean()) if counts[d] >= min_cell else np.nan for d in DOSAGES]
    return pd.DataFrame({"dosage": list(DOSAGES), "n": shown.to_numpy(), "mean_effect": means})


def genotype_effects(analysis: Any, features: list[str], top: int = 4) -> dict[str, pd.DataFrame]:
    """`effect_by_genotype` for the SNPs among `features` (at most `top`), from the analysed patients' cross-fitted
    effects calibrated as `Analysis.effect` returns them, with the run's `report.min_cell`."""
    data, kept = analysis.data, analysis.effects.analysed(analysis.data.n)
    snps = [f for f in features if f in data.family_of and is_snp(data.features[f], data.family_of[f])][:top]
    effect = analysis.calibrate(analysis.effects.cate)
    rows = data.features.iloc[np.asarray(kept)]  # a boolean mask or positions of the analysed patients
    return {name: effect_by_genotype(rows[name], effect, analysis.params.report.min_cell) for name in snps}
