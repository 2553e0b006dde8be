"""What designs and reports show of a subgroup beside its effect: Cox hazard ratios on the patients
its effect was estimated on, and the profile of who is inside (aggregates only)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from subgroups.data import TrialData
from subgroups.effects import EffectModel
from subgroups.privacy import too_small_reason
from subgroups.rules import Subgroup, split_halves


def hazard_ratios(data: TrialData, effects: EffectModel, subgroup: Subgroup | None, seed: int) -> dict[str, tuple[float, float]]:
    """Log hazard ratios (treated vs control, Cox) with SEs in the subgroup, its complement and overall.

    The subgroup's and complement's come from the half (or halves) its effect was estimated on,
    never the half that found it; the overall one from every analysed patient (it was not searched
    for). Keys: "subgroup", "complement", "overall" (only "overall" without a subgroup); values
    (log HR, SE), NaN where a group has no event in an arm. In an observational study each is
    adjusted for confounding: a Cox model weighted by inverse probabilities of the treatment
    received, from the cross-fitted propensity, with the robust variance (Austin 2016; Lin & Wei
    1989); in a randomized trial an unweighted Cox model.
    """
    from subgroups.outcomes import ipw_weights

    retained = effects.analysed(data.n)
    time, event, T = data.outcome[retained], data.event[retained], data.treatment[retained]
    weights = None if data.spec.study == "rct" else ipw_weights(T, effects.propensity)
    out = {"overall": _log_hazard_ratio(time, event, T, np.ones(T.size, dtype=bool), weights)}
    if subgroup is None:
        return out
    half = split_halves(T, seed)
    estimation = np.isin(half, subgroup.estimation_halves) if subgroup.estimation_halves else np.ones(T.size, dtype=bool)
    inside = subgroup.contains(data.features.loc[retained].reset_index(drop=True)).to_numpy()
    return {
        "subgroup": _log_hazard_ratio(time, event, T, estimation & inside, weights),
        "complement": _log_hazard_ratio(time, event, T, estimation & ~inside, weights),
        **out,
    }


def _log_hazard_ratio(
    time: np.ndarray, event: np.ndarray, T: np.ndarray, rows: np.ndarray, weights: np.ndarray | None = None
) -> tuple[float, float]:
    from subgroups.outcomes import cox_hazard_ratio

    return cox_hazard_ratio(time[rows], event[rows], T[rows], None if weights is None else weights[rows])


def subgroup_profile(data: TrialData, subgroup: Subgroup, min_cell: int = 10, top: int = 5) -> pd.DataFrame:
    """How patients in the subgroup differ from the rest, feature by feature, grouped by family.

    Numeric features: mean inside and outside; categorical features: the share of each level. The
    standardized difference (difference / pooled SD; for a level, of the 0/1 indicator) orders
    the `top` features of each family. Aggregates only (`subgroups.privacy`): a level (or the 1s of a
    0/1 feature) is shown only when, inside and outside the subgroup, at least `min_cell` patients
    have it and at least `min_cell` do not (a share near 0% or 100% would give a small count away);
    a subgroup too small to report has no profile.
    """
    columns = ["family", "feature", "in subgroup", "rest", "standardized difference", "share"]
    frame = data.features
    inside = subgroup.contains(frame).to_numpy()
    if subgroup.extra.get("too_small") or too_small_reason((subgroup.n_treated, subgroup.n_control), None, min_cell):
        return pd.DataFrame(columns=columns)

    def safe(flag: np.ndarray) -> bool:
        cells = [flag[side].sum() for side in (inside, ~inside)] + [(1 - flag)[side].sum() for side in (inside, ~inside)]
        return min(cells) >= min_cell

    rows = []
    for name, family in data.family_of.items():
        column = frame[name]
        if name in data.encoder.categorical:
            for level in data.encoder.categorical[name]:
                flag = data.X[f"{name}={level}"].to_numpy(dtype=float)  # the encoder's level indicator
                if safe(flag):
                    rows.append(_profile_row(family, f"{name} = {level}", flag, inside, share=True))
        else:
            values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
            recorded = values[np.isfinite(values)]
            if recorded.size and np.isin(recorded, (0.0, 1.0)).all() and not safe(np.nan_to_num(values) == 1):
                continue  # a 0/1 feature's mean is a share
            rows.append(_profile_row(family, name, values, inside, share=False))
    profile = pd.DataFrame(rows, columns=columns)
    order = profile["standardized difference"].abs().fillna(0)
    profile = profile.assign(_order=-order).sort_values(["family", "_order"], kind="stable")
    profile = profile.groupby("family", sort=False).head(top).drop(columns="_order")
    families = {f: i for i, f in enumerate(("genetic", "lifestyle", "disease", "other"))}
    return profile.sort_values("family", key=lambda s: s.map(families), kind="stable").reset_index(drop=True)


def _profile_row(family: str, label: str, values: np.ndarray, inside: np.ndarray, share: bool) -> list[Any]:
    a, b = values[inside], values[~inside]
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    mean_a, mean_b = (float(a.mean()) if a.size else float("nan")), (float(b.mean()) if b.size else float("nan"))
    pooled = float(np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)) if a.size > 1 and b.size > 1 else float("nan")
    smd = (mean_a - mean_b) / pooled if pooled > 0 else 0.0
    return [family, label, mean_a, mean_b, smd, share]
