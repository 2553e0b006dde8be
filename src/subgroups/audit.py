"""Data audit: schema, counts per arm, missingness and baseline balance, all aggregated.

Baseline balance uses standardized differences (Austin 2009): for a numeric feature
(mean₁ − mean₀) / √((s₁² + s₀²)/2); for a level of a categorical or 0/1 feature
(p₁ − p₀) / √((p₁(1 − p₁) + p₀(1 − p₀))/2). |d| > 0.1 is the usual flag for imbalance. Counts
below the small-cell threshold are suppressed (see `subgroups.privacy`). No patient-level value is
ever returned: only counts, percentages, means and SDs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from subgroups.data import TrialData
from subgroups.privacy import is_suppressed, suppress_count, suppress_group

IMBALANCE = 0.1


@dataclass(frozen=True)
class Audit:
    """Aggregated description of a trial; every table is safe to print in a report."""

    schema: pd.DataFrame
    arms: pd.DataFrame
    balance: pd.DataFrame
    outcome: pd.DataFrame
    dropped: dict[str, int | str]
    min_cell: int

    @property
    def imbalanced(self) -> list[str]:
        """Features with any |standardized difference| above 0.1."""
        flagged = self.balance[self.balance["|SMD| > 0.1"] == "yes"]
        return list(dict.fromkeys(flagged["feature"]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "arms": self.arms.to_dict(orient="records"),
            "imbalanced_features": self.imbalanced,
            "max_abs_smd": float(pd.to_numeric(self.balance["SMD"], errors="coerce").abs().max()),
            "dropped": self.dropped,
        }


def _is_binary(values: pd.Series) -> bool:
    return set(pd.unique(values.dropna())) <= {0, 1}


def _pct(count: int, total: int) -> float:
    return 100.0 * count / total if total else float("nan")


def _count_cell(count: int | str, total: int) -> str:
    return str(count) if is_suppressed(count) else f"{count} ({_pct(int(count), total):.1f}%)"


def audit_trial(trial: TrialData, min_cell: int = 10) -> Audit:
    """Describe a trial for the audit report; counts below `min_cell` are suppressed."""
    treated, control = trial.arm_labels
    arm = np.where(trial.treatment == 1, treated, control)
    n_by_arm = {treated: int(trial.treatment.sum()), control: int((1 - trial.treatment).sum())}

    arms = pd.DataFrame(
        {
            "arm": [f"{treated} (treated)", f"{control} (control)"],
            "patients": [suppress_count(n_by_arm[treated], min_cell), suppress_count(n_by_arm[control], min_cell)],
        }
    )

    schema_rows = []
    for name in trial.feature_names:
        col = trial.features[name]
        missing = suppress_count(int(col.isna().sum()), min_cell)
        kind = trial.encoder.describe(name)
        if kind == "numeric" and _is_binary(col):
            kind = "binary (0/1)"
        schema_rows.append(
            {
                "feature": name,
                **({"label": trial.labels.get(name, "")} if trial.labels else {}),  # variable labels (e.g. ADaM metadata)
                "family": trial.family_of[name],
                "type": kind,
                "missing": missing if is_suppressed(missing) else f"{missing} ({_pct(int(missing), trial.n):.1f}%)",
            }
        )
    schema = pd.DataFrame(schema_rows)

    balance_rows = []
    for name in trial.feature_names:
        col = trial.features[name]
        if trial.encoder.describe(name) == "numeric" and not _is_binary(col):
            values = pd.to_numeric(col, errors="coerce").astype(float)
            parts = {a: values[arm == a] for a in (treated, control)}
            sd = np.sqrt((parts[treated].var() + parts[control].var()) / 2)
            smd = (parts[treated].mean() - parts[control].mean()) / sd if sd > 0 else 0.0
            balance_rows.append(
                {
                    "feature": name,
                    "level": "mean (SD)",
                    treated: f"{parts[treated].mean():.3g} ({parts[treated].std():.3g})",
                    control: f"{parts[control].mean():.3g} ({parts[control].std():.3g})",
                    "SMD": round(float(smd), 3),
                }
            )
            continue
        text = col.map(
            lambda v: (
                "(missing)"
                if pd.isna(v)
                else str(int(v))
                if isinstance(v, bool | np.bool_ | int | np.integer | float) and float(v).is_integer()
                else str(v)
            )
        )
        if not _is_binary(col):
            # A rare level's name can single out a patient: rare levels are shown only as a group.
            totals = text.value_counts()
            rare = totals.index[totals < min_cell]
            text = text.where(~text.isin(rare), f"(levels with < {min_cell} patients each)")
        levels = sorted(text.unique())
        if _is_binary(col) and "0" in levels:
            levels = [lv for lv in levels if lv != "0"]  # one row for a 0/1 feature: share of 1
        cells = {}
        for a in (treated, control):
            counts = text[arm == a].value_counts().reindex(sorted(text.unique()), fill_value=0)
            cells[a] = (suppress_group(counts, min_cell), counts)
        for level in levels:
            p = {a: cells[a][1][level] / max(n_by_arm[a], 1) for a in (treated, control)}
            denom = np.sqrt((p[treated] * (1 - p[treated]) + p[control] * (1 - p[control])) / 2)
            smd = (p[treated] - p[control]) / denom if denom > 0 else 0.0
            # A difference of shares solves for the counts behind it: none next to a hidden cell (subgroups.privacy).
            hidden = is_suppressed(cells[treated][0][level]) or is_suppressed(cells[control][0][level])
            balance_rows.append(
                {
                    "feature": name,
                    "level": f"= {level}, n (%)",
                    treated: _count_cell(cells[treated][0][level], n_by_arm[treated]),
                    control: _count_cell(cells[control][0][level], n_by_arm[control]),
                    "SMD": float("nan") if hidden else round(float(smd), 3),
                }
            )
    balance = pd.DataFrame(balance_rows)
    balance["|SMD| > 0.1"] = np.where(balance["SMD"].abs() > IMBALANCE, "yes", "")

    outcome = _outcome_summary(trial, arm, n_by_arm, min_cell)
    dropped = {why: suppress_count(count, min_cell) for why, count in trial.dropped.items()}
    return Audit(schema, arms, balance, outcome, dropped, min_cell)


def _outcome_summary(trial: TrialData, arm: np.ndarray, n_by_arm: dict[str, int], min_cell: int) -> pd.DataFrame:
    spec = trial.spec.outcome
    rows = []
    for a in trial.arm_labels:
        mask = arm == a
        if spec.type == "continuous":
            y = trial.outcome[mask]
            rows.append({"arm": a, "summary": "mean (SD)", "value": f"{y.mean():.3g} ({y.std(ddof=1):.3g})"})
        else:
            hits = int((trial.event if spec.type == "time_to_event" else trial.outcome)[mask].sum())
            what = "events, n (%)" if spec.type == "time_to_event" else "responders (outcome = 1), n (%)"
            counts = suppress_group(pd.Series({"yes": hits, "no": int(mask.sum()) - hits}), min_cell)
            rows.append({"arm": a, "summary": what, "value": _count_cell(counts["yes"], n_by_arm[a])})
    return pd.DataFrame(rows)
