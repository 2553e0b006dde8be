"""Data audit: schema, counts per arm, missingness and baseline balance, all aggregated.

Baseline balance uses standardized differences (Austin 2009): for a numeric feature
(mean₁ − mean₀) / √((s₁² + s₀²)/2); for a level of a categorical or 0/1 feature
(p₁ − p₀) / √((p₁(1 − p₁) + p₀(1 − p₀))/2). |d| > 0.1 is the usual flag for imbalance. Counts
below the small-cell threshold are suppressed (see `subgroups.privacy`). No patient-level value is
ever returned: only counts, percentages, means and SDs.

For ``study: rct`` the audit also tests the declared randomization against the data
(`check_randomization`): (a) the number treated against the declared allocation
(``data.treatment.allocation``, else ``data.randomization_probability``, else 1:1) by an exact
two-sided binomial test, and (b) covariate balance by the omnibus F-test of the linear regression
of the arm on every encoded feature (equivalently (n − 1)·R², Hansen & Bowers 2008's d²
statistic, against its randomization distribution, which has mean = the number of feature
columns). The check fails when either p-value is below ``RANDOMIZATION_ALPHA`` = 0.001. Blocked,
stratified or minimized randomization makes both tests conservative, not anti-conservative; they
detect imbalance in the arms' means of the encoded features, not in other aspects of their
distributions. The cross-fitted c-statistic of a ridge propensity model is reported beside them
as a size (0.5: the features do not predict the arm).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from subgroups.data import TrialData
from subgroups.errors import DataError, ParameterError
from subgroups.privacy import is_suppressed, suppress_count, suppress_group

IMBALANCE = 0.1
RANDOMIZATION_ALPHA = 0.001  # either test below this: the check fails
C_STATISTIC_FOLDS = 5
BALANCE_PERMUTATIONS = 2_000  # re-randomizations of the permutation balance test (p-values in steps of 1/2001)
F_TEST = "omnibus F-test of the linear regression of the arm on every encoded feature (Hansen & Bowers 2008)"
PERMUTATION_TEST = (
    "permutation test of the mean squared standardized difference over every encoded feature column "
    f"({BALANCE_PERMUTATIONS:,} re-randomizations; the F-test needs more patients than feature columns)"
)


@dataclass(frozen=True)
class Audit:
    """Aggregated description of a trial; every table is safe to print in a report."""

    schema: pd.DataFrame
    arms: pd.DataFrame
    balance: pd.DataFrame
    outcome: pd.DataFrame
    dropped: dict[str, int | str]
    min_cell: int
    randomization: RandomizationCheck | None = None  # study: rct only

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
            "randomization": None if self.randomization is None else self.randomization.to_dict(self.min_cell),
        }


def _is_binary(values: pd.Series) -> bool:
    return set(pd.unique(values.dropna())) <= {0, 1}


def _pct(count: int, total: int) -> float:
    return 100.0 * count / total if total else float("nan")


def _count_cell(count: int | str, total: int) -> str:
    return str(count) if is_suppressed(count) else f"{count} ({_pct(int(count), total):.1f}%)"


def audit_trial(trial: TrialData, min_cell: int = 10, seed: int = 0) -> Audit:
    """Describe a trial for the audit report; counts below `min_cell` are suppressed.

    In a randomized trial (``study: rct``) `Audit.randomization` holds `check_randomization`'s
    result (`seed` fixes the folds of its c-statistic).
    """
    treated, control = trial.arm_labels
    arm, n_by_arm = _arms(trial)

    names = dict(zip((treated, control), trial.arm_names))
    arms = pd.DataFrame(
        {
            "arm": [
                f"{names[label]} ({which}{'' if names[label] == label else f'; {trial.spec.treatment.column} = {label}'})"
                for label, which in ((treated, "treated"), (control, "control"))
            ],
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
                **({"label": trial.labels.get(name, "")} if trial.labels else {}),  # data.labels, else the files' labels
                **({"unit": trial.units.get(name, "")} if trial.units else {}),
                "family": trial.family_of[name],
                "type": kind,
                "missing": missing if is_suppressed(missing) else f"{missing} ({_pct(int(missing), trial.n):.1f}%)",
            }
        )
    schema = pd.DataFrame(schema_rows)
    balance = balance_table(trial, min_cell)
    outcome = _outcome_summary(trial, arm, n_by_arm, min_cell)
    dropped = {why: suppress_count(count, min_cell) for why, count in trial.dropped.items()}
    randomization = check_randomization(trial, min_cell, seed, balance) if trial.spec.study == "rct" else None
    return Audit(schema, arms, balance, outcome, dropped, min_cell, randomization)


def _arms(trial: TrialData) -> tuple[np.ndarray, dict[str, int]]:
    treated, control = trial.arm_labels
    arm = np.where(trial.treatment == 1, treated, control)
    return arm, {treated: int(trial.treatment.sum()), control: int((1 - trial.treatment).sum())}


def _is_dosage(trial: TrialData, name: str) -> bool:
    """A genetic feature coded as allele dosage (0/1/2): the audit shows carriers (dosage ≥ 1), not a mean dosage."""
    values = pd.to_numeric(trial.features[name], errors="coerce").dropna()
    return trial.family_of.get(name) == "genetic" and set(pd.unique(values)) <= {0, 1, 2} and (values == 2).any()


def balance_table(trial: TrialData, min_cell: int = 10) -> pd.DataFrame:
    """Standardized difference per feature (numeric) or level (0/1, categorical; carriers of a 0/1/2 genotype),
    with arm summaries; a "label" column when the variable dictionary names the features."""
    treated, control = trial.arm_labels
    arm, n_by_arm = _arms(trial)
    balance_rows = []
    for name in trial.feature_names:
        col = trial.features[name]
        if _is_dosage(trial, name):
            col = pd.to_numeric(col, errors="coerce").ge(1).astype(float).where(col.notna())  # carrier: dosage ≥ 1
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
        carrier = _is_dosage(trial, name)
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
                    "level": "carriers (dosage ≥ 1), n (%)" if carrier and level == "1" else f"= {level}, n (%)",
                    treated: _count_cell(cells[treated][0][level], n_by_arm[treated]),
                    control: _count_cell(cells[control][0][level], n_by_arm[control]),
                    "SMD": float("nan") if hidden else round(float(smd), 3),
                }
            )
    balance = pd.DataFrame(balance_rows, columns=["feature", "level", treated, control, "SMD"])
    balance["|SMD| > 0.1"] = np.where(balance["SMD"].abs() > IMBALANCE, "yes", "")
    if trial.labels:
        balance.insert(1, "label", balance["feature"].map(lambda f: trial.labels.get(f, "")))
    names = dict(zip((treated, control), trial.arm_names))
    others = set(balance.columns) - set(names)
    if list(names) != list(names.values()) and len(set(names.values())) == 2 and not set(names.values()) & others:
        balance = balance.rename(columns=names)  # the arms' display names (data.treatment.labels)
    return balance


def _outcome_summary(trial: TrialData, arm: np.ndarray, n_by_arm: dict[str, int], min_cell: int) -> pd.DataFrame:
    spec = trial.spec.outcome
    names = dict(zip(trial.arm_labels, trial.arm_names))
    rows = []
    for a in trial.arm_labels:
        mask = arm == a
        if spec.type == "continuous":
            y = trial.outcome[mask]
            rows.append({"arm": names[a], "summary": "mean (SD)", "value": f"{y.mean():.3g} ({y.std(ddof=1):.3g})"})
        else:
            hits = int((trial.event if spec.type == "time_to_event" else trial.outcome)[mask].sum())
            what = "events, n (%)" if spec.type == "time_to_event" else "responders (outcome = 1), n (%)"
            counts = suppress_group(pd.Series({"yes": hits, "no": int(mask.sum()) - hits}), min_cell)
            rows.append({"arm": names[a], "summary": what, "value": _count_cell(counts["yes"], n_by_arm[a])})
    return pd.DataFrame(rows)


# --- was the trial randomized as declared? -------------------------------------------------------


@dataclass(frozen=True)
class RandomizationCheck:
    """The declared randomization tested against the data (``study: rct``); numbers first.

    `failed` when the allocation test or the balance test has p < `alpha` (0.001). `worst` holds
    the rows of the balance table with the largest |standardized difference| (feature, level, SMD).
    The balance test is the F-test (`balance_f_test`, statistic F with `balance_df`) or, with too few
    patients for the feature columns, the permutation test (`balance_permutation_test`, statistic the
    mean squared standardized difference, no df); `balance_method` names it (None: not tested).
    """

    allocation: str  # declared treated:control ratio, e.g. "1:1"
    allocation_source: str  # which parameter declared it (or the default)
    declared_share: float
    n: int
    n_treated: int
    allocation_p: float
    balance_method: str | None  # F_TEST or PERMUTATION_TEST; None when not tested (no varying feature column)
    balance_statistic: float | None  # F, or the mean squared standardized difference (permutation test)
    balance_df: tuple[int, int] | None  # the F-test's; None for the permutation test
    balance_p: float | None
    c_statistic: float | None  # cross-fitted, descriptive
    worst: tuple[tuple[str, str, float], ...]
    alpha: float = RANDOMIZATION_ALPHA

    @property
    def allocation_failed(self) -> bool:
        return self.allocation_p < self.alpha

    @property
    def balance_expected(self) -> float | None:
        """The balance statistic's mean under randomization: the F distribution's df₂ / (df₂ − 2); for the permutation
        test's mean squared standardized difference, n / (n − 1) · (1/n₁ + 1/n₀) (the variance of a difference of
        means between random halves, in units of the column's SD over all patients)."""
        if self.balance_statistic is None:
            return None
        if self.balance_df is not None:
            return self.balance_df[1] / (self.balance_df[1] - 2)
        return self.n / (self.n - 1) * (1 / self.n_treated + 1 / (self.n - self.n_treated))

    @property
    def balance_failed(self) -> bool:
        return self.balance_p is not None and self.balance_p < self.alpha

    @property
    def failed(self) -> bool:
        return self.allocation_failed or self.balance_failed

    def worst_text(self, top: int = 3) -> str:
        """ "severity (SMD +0.61), age (SMD +0.57), smoking = current (SMD -0.31)" for the largest differences."""
        return ", ".join(f"{name}{' ' + level if level else ''} (SMD {smd:+.2f})" for name, level, smd in self.worst[:top])

    @property
    def message(self) -> str | None:
        """One line for a failed check (what failed, the worst covariates, what to do); None when it passed."""
        if not self.failed:
            return None
        found = []
        if self.allocation_failed:
            found.append(
                f"{self.n_treated / self.n:.0%} of patients were treated against {self.declared_share:.0%} for the declared "
                f"allocation {self.allocation} (exact binomial {_p(self.allocation_p)})"
            )
        if self.balance_failed:
            test = "balance F-test" if self.balance_method == F_TEST else "permutation balance test"
            c_stat = "" if self.c_statistic is None else f", c-statistic {self.c_statistic:.2f} where randomization gives 0.5"
            found.append(f"the features predict the arm beyond chance ({test} {_p(self.balance_p)}{c_stat})")
        found.append(f"largest standardized differences: {self.worst_text()}")
        fix = "if treatment was not randomized, set data.study: observational"
        if self.allocation_failed and not self.balance_failed:
            fix += f"; if the allocation ratio was not {self.allocation}, declare it as data.treatment.allocation (e.g. '2:1')"
        return f"randomization check failed (p < {self.alpha:g}): " + "; ".join(found) + f"; {fix}"

    def to_dict(self, min_cell: int = 10) -> dict[str, Any]:
        shown = suppress_count(self.n_treated, min_cell)
        return {
            "passed": not self.failed,
            "threshold": self.alpha,
            "allocation": {
                "declared": self.allocation,
                "declared_by": self.allocation_source,
                "declared_share_treated": self.declared_share,
                "observed_share_treated": self.n_treated / self.n if shown == self.n_treated else None,
                "test": "exact two-sided binomial test of the number treated",
                "p_value": self.allocation_p,
            },
            "balance": {
                "test": self.balance_method or "not tested: no feature column varies",
                "statistic": self.balance_statistic,
                "statistic_expected": self.balance_expected,
                "df": list(self.balance_df) if self.balance_df else None,
                "p_value": self.balance_p,
                "c_statistic": self.c_statistic,
                "c_statistic_meaning": f"cross-fitted ({C_STATISTIC_FOLDS}-fold) ridge propensity model; 0.5 under randomization",
            },
            "worst": [{"feature": name, "level": level, "smd": smd} for name, level, smd in self.worst[:5]],
            "message": self.message,
        }


def _p(p: float) -> str:
    """As `subgroups.narrative.p_text` ("p < 0.001", else 2 significant digits); kept here so the audit needs no report text."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def declared_allocation(trial: TrialData) -> tuple[str, str, float]:
    """(ratio text, which parameter declared it, treated share) of the declared randomization."""
    spec = trial.spec
    share, prob = spec.treatment.treated_share, spec.randomization_probability
    if share is not None:
        if prob is not None and abs(prob - share) > 1e-6:
            raise ParameterError(
                f"data.treatment.allocation {spec.treatment.allocation} (treated share {share:.4g}) contradicts "
                f"data.randomization_probability {prob:g}; give one of them"
            )
        return str(spec.treatment.allocation), "data.treatment.allocation", share
    if prob is not None:
        return f"{prob:g}:{1 - prob:g}", "data.randomization_probability", float(prob)
    return "1:1", "default: data.treatment.allocation not given", 0.5


def _standardized_varying(X: np.ndarray) -> np.ndarray:
    """The feature columns centred and scaled to mean square 1, constant columns dropped (relative to the
    column's size, so rounding noise is not a regressor)."""
    Z = np.asarray(X, float)
    centre = Z.mean(axis=0)
    Z = Z - centre
    scale = np.sqrt((Z**2).mean(axis=0))
    varies = scale > 1e-9 * np.maximum(np.abs(centre), np.finfo(float).tiny)
    return Z[:, varies] / scale[varies]


def balance_f_test(X: np.ndarray, treatment: np.ndarray) -> tuple[float, tuple[int, int], float] | None:
    """(F, (df1, df2), p) of regressing the arm on the features; None with fewer than 10 residual df.

    F = (R²/r) / ((1 − R²)/(n − r − 1)), r = the rank of the centred features. Under randomization
    (arm labels exchangeable given the features) (n − 1)·R² has mean r and is approximately χ²_r
    (Hansen & Bowers 2008); the F reference has the same mean and is the better approximation when
    r is not small against n. Invariant to rescaling or re-coding the features linearly.
    """
    t = np.asarray(treatment, float)
    n = t.size
    Z = _standardized_varying(X)
    tc = t - t.mean()
    if Z.shape[1] == 0 or not tc.any():
        return None
    beta, _, rank, _ = np.linalg.lstsq(Z, tc, rcond=None)
    df2 = n - rank - 1
    if rank == 0 or df2 < 10:
        return None
    r2 = min(float(np.sum((Z @ beta) ** 2) / np.sum(tc**2)), 1.0)
    f = (r2 / rank) / max((1 - r2) / df2, 1e-300)
    return float(f), (int(rank), int(df2)), float(stats.f.sf(f, rank, df2))


def balance_permutation_test(
    X: np.ndarray, treatment: np.ndarray, draws: int = BALANCE_PERMUTATIONS, seed: int = 0
) -> tuple[float, float] | None:
    """(statistic, p) of the permutation test of covariate balance; None when no column varies or one arm is empty.

    Statistic: the mean over the varying feature columns of the squared standardized difference of
    the arms' means, (x̄₁ − x̄₀)² / s², with s the column's SD over all patients (so only the arm
    labels change between re-randomizations). p = (1 + #{re-randomized statistic ≥ observed}) / (1 +
    draws), each draw a random permutation of the arm labels (complete randomization with the trial's
    arm sizes): exact under that randomization whatever the number of columns, which is why it
    replaces `balance_f_test` when the features have about as many columns as there are patients.
    """
    t = np.asarray(treatment, float)
    n, n1 = t.size, int(t.sum())
    if n1 == 0 or n1 == n:
        return None
    Z = _standardized_varying(X)
    if Z.shape[1] == 0:
        return None
    factor = 1 / n1 + 1 / (n - n1)  # centred columns: x̄₁ − x̄₀ = (Σ_treated z) · (1/n₁ + 1/n₀)

    def statistic(labels: np.ndarray) -> np.ndarray:  # labels: n × k of 0/1
        return ((Z.T @ labels) * factor) ** 2

    observed = float(statistic(t[:, None]).mean())
    rng = np.random.default_rng(seed)
    exceed, done = 0, 0
    while done < draws:  # blocks of 250 draws: memory stays at n × 250
        k = min(250, draws - done)
        labels = np.zeros((n, k))
        labels[np.argsort(rng.random((n, k)), axis=0)[:n1], np.arange(k)] = 1.0
        exceed += int((statistic(labels).mean(axis=0) >= observed * (1 - 1e-12)).sum())
        done += k
    return observed, (1 + exceed) / (1 + draws)


def cross_fitted_c_statistic(X: np.ndarray, treatment: np.ndarray, folds: int = C_STATISTIC_FOLDS, seed: int = 0) -> float | None:
    """Out-of-fold c-statistic (AUC) of a ridge regression of the arm on the standardized features.

    Descriptive: the probability that a treated patient's held-out score exceeds a control patient's
    (0.5 when the features do not predict the arm; cross-fitting pulls it slightly below 0.5 then).
    Ridge (penalty 1 on standardized columns) rather than logistic regression: closed form, fast.
    """
    t = np.asarray(treatment, float)
    if min(t.sum(), t.size - t.sum()) < folds:
        return None
    Z = np.asarray(X, float)
    order = np.random.default_rng(seed).permutation(t.size)
    fold = np.empty(t.size, int)
    for arm in (0, 1):  # stratified by arm: every fold holds both arms
        members = order[t[order] == arm]
        fold[members] = np.arange(members.size) % folds
    score = np.empty(t.size)
    for k in range(folds):
        train, test = fold != k, fold == k
        mean, sd = Z[train].mean(axis=0), Z[train].std(axis=0)
        sd[sd == 0] = 1.0
        A = (Z[train] - mean) / sd
        beta = np.linalg.solve(A.T @ A + np.eye(A.shape[1]), A.T @ (t[train] - t[train].mean()))
        score[test] = ((Z[test] - mean) / sd) @ beta
    ranks = stats.rankdata(score)
    n1 = t.sum()
    return float((ranks[t == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * (t.size - n1)))


def check_randomization(
    trial: TrialData, min_cell: int = 10, seed: int = 0, balance: pd.DataFrame | None = None
) -> RandomizationCheck:
    """Test the declared randomization of a ``study: rct`` trial against its data.

    Allocation: exact two-sided binomial test of the number treated against the declared share
    (`declared_allocation`). Balance: `balance_f_test` on the encoded feature matrix, or, when there
    are too few patients for its columns (wide genetic data), `balance_permutation_test`. The check
    fails when either p-value is below 0.001 (`RANDOMIZATION_ALPHA`). Fast (a least-squares fit and
    five ridge fits; well under a second at 2,000 patients × 30 features), so it runs on every
    ``subgroups validate`` and ``run``.
    """
    ratio, source, share = declared_allocation(trial)
    t = np.asarray(trial.treatment)
    n, n_treated = int(t.size), int(t.sum())
    allocation_p = float(stats.binomtest(n_treated, n, share).pvalue)
    X = trial.X.to_numpy(float)
    tested, method = balance_f_test(X, t), F_TEST
    if tested is None and (permuted := balance_permutation_test(X, t, seed=seed)) is not None:
        tested, method = (permuted[0], None, permuted[1]), PERMUTATION_TEST
    c_stat = cross_fitted_c_statistic(X, t, seed=seed) if tested is not None else None
    table = balance_table(trial, min_cell) if balance is None else balance
    ranked = table.assign(size=table["SMD"].abs()).dropna(subset=["size"]).sort_values("size", ascending=False, kind="stable")
    ranked = ranked.drop_duplicates("feature")  # one row per feature: its most imbalanced level
    worst = tuple(
        (str(row.feature), "" if str(row.level).startswith("mean") else str(row.level).removesuffix(", n (%)"), float(row.SMD))
        for row in ranked.head(5).itertuples()
    )
    return RandomizationCheck(
        allocation=ratio,
        allocation_source=source,
        declared_share=share,
        n=n,
        n_treated=n_treated,
        allocation_p=allocation_p,
        balance_method=None if tested is None else method,
        balance_statistic=None if tested is None else tested[0],
        balance_df=None if tested is None else tested[1],
        balance_p=None if tested is None else tested[2],
        c_statistic=c_stat,
        worst=worst,
    )


def enforce_randomization(check: RandomizationCheck | None, strict: bool) -> str | None:
    """The check's one-line message when it failed (None otherwise); with `strict` a failure is a `DataError`."""
    if check is None or not check.failed:
        return None
    if strict:
        raise DataError(f"{check.message} (data.treatment.strict: true makes this an error)")
    return check.message
