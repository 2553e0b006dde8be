"""The public entry point: `analyze(data, params) -> Analysis` and `open_analysis` (the same through the fit cache).

The steps run here in order (checks, effects, explanation, heterogeneity, subgroups, next-trial designs);
`results.json` is assembled from typed sections by `subgroups.results`, the fit cache lives in
`subgroups.cache`, the notebook text and tables in `subgroups.summary`.
"""

from __future__ import annotations

import dataclasses
import html
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from subgroups import cache
from subgroups.audit import check_randomization, enforce_randomization
from subgroups.cache import FIT_PACKAGES, cache_key, code_fingerprint  # noqa: F401 - re-exported
from subgroups.calibration import calibrated, calibration_factor
from subgroups.data import MIN_PER_ARM, DataWarning, TrialData, load_trial, new_rows, not_numbers
from subgroups.design import DesignMenu
from subgroups.effects import SCALES, EffectModel, fit_effects
from subgroups.errors import DataError, ParameterError
from subgroups.explain import Explanation, explain_effects
from subgroups.heterogeneity import Candidate, Heterogeneity, Survival, modifier_tests, test_heterogeneity
from subgroups.narrative.text import p_text
from subgroups.next_trial import _overall_planning, most_credible_subgroup, plan_next_trial  # noqa: F401 - re-exported
from subgroups.params import RunParams, load_params
from subgroups.privacy import TOO_SMALL
from subgroups.provenance import PACKAGES, generated_now, git_commit, provenance  # noqa: F401 - re-exported
from subgroups.resources import MemoryWarning, check_memory
from subgroups.results import (  # noqa: F401 - re-exported
    SCHEMA_VERSION,
    TESTING_PROCEDURE,
    build_results,
    design_section,
    json_ready,
    subgroups_section,
)
from subgroups.rules import Subgroup, find_subgroups, prespecified_subgroups
from subgroups.summary import SUBGROUP_COLUMNS, AnalysisSummary, headline, subgroups_table  # noqa: F401 - re-exported


@dataclass(frozen=True)
class Analysis:
    """Everything one analysis found; `results` is exactly what `results.json` holds."""

    params: RunParams
    data: TrialData
    effects: EffectModel
    explanation: Explanation
    tests: Heterogeneity
    results: dict[str, Any]
    found: tuple[Subgroup, ...] = ()
    menu: DesignMenu | None = None

    def effect(self, df: pd.DataFrame, calibrated: bool = True, impute: bool = False) -> np.ndarray:
        """Estimated effect for each row of new data (same feature columns), on `results['ate']['scale']`.

        By default calibrated by the held-out BLP slope (`calibrate`): the model's differences between
        patients are scaled by the share of them the held-out scores support (the posterior mean of the calibration
        slope, `calibration.posterior_slope`); when that factor is 0 (the slope could not be estimated, e.g. constant
        predictions) every row gets the average effect, and a `ConstantEffectWarning` says so.
        `calibrated=False` gives the effect model's own predictions (what SHAP explains).

        Category levels the analysed data did not have, and values that are not numbers in a numeric
        feature, are a `DataError` (the model has no estimate for them). So are missing feature values,
        unless `impute=True`: then they are imputed as in the analysed data (numbers: its median, with
        the missing indicator when it had missing values; categories: its level "(missing)").
        """
        df = new_rows(df, "effect")
        if df.empty:
            return np.empty(0)
        raw = self.effects.effect(self.data.encoder.transform(checked_new_rows(self.data, df, impute)))
        if not calibrated:
            return raw
        if self.calibration_slope == 0.0:
            from subgroups.errors import ConstantEffectWarning

            warnings.warn(
                f"calibrated effects are constant: the calibration factor (posterior mean of the held-out calibration slope) is 0, so every row gets the "
                f"average effect {self.effects.ate.estimate:+.3g}; effect(df, calibrated=False) gives the model's own predictions",
                ConstantEffectWarning,
                stacklevel=2,
            )
        return self.calibrate(raw)

    @property
    def calibration_slope(self) -> float:
        """The posterior mean, in [0, 1], of the BLP slope of the held-out (cross-fitted) predictions
        (`calibration.posterior_slope`): the factor applied by `calibrate` (`tests.reported_calibration`; the test's own
        slope is `tests.calibration`)."""
        return calibration_factor(self.tests)

    def calibrate(self, tau: np.ndarray) -> np.ndarray:
        """ATE + s·(τ̂ − mean held-out τ̂), s = `calibration_slope`: the best linear predictor of the
        effect given the model's prediction (Chernozhukov et al.), never stretched beyond the model."""
        try:
            values = np.asarray(tau, float)
        except (TypeError, ValueError):
            raise ParameterError(
                "calibrate: tau must be numbers (the effect model's predictions, e.g. effect(df, calibrated=False))"
            ) from None
        return calibrated(values, self.effects, self.tests)

    @property
    def importance(self) -> pd.Series:
        """Mean |SHAP| of the effect model per original feature, largest first."""
        return self.explanation.by_feature

    @property
    def importance_by_family(self) -> pd.Series:
        """Mean |SHAP| of each family's summed contribution to the effect model."""
        return self.explanation.by_family

    @property
    def ate(self) -> dict[str, Any]:
        return self.results["ate"]

    @property
    def heterogeneity(self) -> dict[str, Any]:
        """p-values, the decision and the scale tested (as in results.json)."""
        return self.results["heterogeneity"]

    @property
    def subgroups(self) -> list[Subgroup]:
        """Candidate subgroups, validated first: `.rule`, `.contains(df)`, `.effect`, `.ci`, `.p_adjusted`, `.status`."""
        return list(self.found)

    def profile(self, subgroup: Subgroup | str, top: int = 5) -> pd.DataFrame:
        """How the subgroup's patients differ from the rest, by family (aggregates; small cells hidden)."""
        from subgroups.subgroup_summaries import subgroup_profile

        _check_top("profile", top)
        if isinstance(subgroup, str):  # a rule or a hypothesis, as the reports print them
            subgroup = next((s for s in self.found if subgroup in (s.rule, s.hypothesis)), None) or _unknown_rule(
                subgroup, self.found
            )
        return subgroup_profile(self.data, subgroup, self.params.report.min_cell, top)

    @property
    def design(self) -> DesignMenu | None:
        """Designs for the next trial (D1-D5) with sizes, screening, power, assurance; recommended + reasons."""
        return self.menu

    # --- in a notebook: short text, tables and figures from `results` (the numbers of the reports) ---

    def __repr__(self) -> str:
        lines = headline(self.results)
        width = max(len(label) for label, _ in lines[1:])
        return "\n".join([lines[0][1]] + [f"  {label + ':':<{width + 1}} {value}" for label, value in lines[1:]])

    def _repr_html_(self) -> str:
        lines = headline(self.results)
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>{html.escape(v)}</td></tr>"
                       for k, v in lines[1:])  # fmt: skip
        return f"<div><strong>{html.escape(lines[0][1])}</strong><table>{rows}</table></div>"

    def summary(self) -> AnalysisSummary:
        """The results in tables, in the style of a statsmodels results summary: `print(a.summary())`, or
        display it in a notebook. Average effect; heterogeneity claims; subgroup hypotheses; designs."""
        return AnalysisSummary.from_results(self.results)

    def subgroups_frame(self) -> pd.DataFrame:
        """One row per subgroup hypothesis (discovered, then pre-specified) with the numbers `reported` in
        results.json: counts below `report.min_cell` stay suppressed, and a hypothesis too small to report
        has no rule and no numbers."""
        return subgroups_table(self.results)

    def plot_forest(self, ax: Any = None, which: str = "all", **kwargs: Any) -> Any:
        """Forest plot of the subgroup hypotheses (`which`: "all" — pre-specified first, then the
        discovered ones grouped by variable —, "candidates" or "prespecified"); returns `ax`."""
        from subgroups import plots

        if which not in ("all", "candidates", "prespecified"):
            raise ParameterError(f"plot_forest: which={which!r}; use 'all', 'candidates' or 'prespecified'")
        found = self.results["subgroups"]
        candidates = [] if which == "prespecified" else found["candidates"]
        prespecified = None if which == "candidates" else found["prespecified"]
        return plots.forest(
            candidates, self.results["ate"], ax=ax, **{"results": self.results, "prespecified": prespecified, **kwargs}
        )

    def plot_effects(self, ax: Any = None) -> Any:
        """Histogram of the cross-fitted per-patient effects with the calibrated spread and the average effect."""
        from subgroups import plots

        cate = self.effects.cate
        return plots.effect_distribution(cate, self.results["ate"], ax=ax, calibrated=self.calibrate(cate),
                                         min_cell=self.params.report.min_cell)  # fmt: skip

    def plot_importance(self, ax: Any = None, top: int = 15, by: str = "feature") -> Any:
        """Mean |SHAP| of the effect model per feature (`by="family"`: per family); returns `ax`."""
        from subgroups import plots

        _check_top("plot_importance", top)
        if by == "family":
            return plots.family_importance(self.importance_by_family, ax=ax)
        if by != "feature":
            raise ParameterError(f"plot_importance: by={by!r}; use 'feature' or 'family'")
        return plots.importance(self.importance, self.data.family_of, top=top, ax=ax, results=self.results)

    def plot_toc(self, ax: Any = None) -> Any:
        """Targeting operator characteristic (held-out): extra effect among the top-ranked patients."""
        from subgroups import plots

        return plots.toc(self.tests.toc, self.results["ate"]["scale"], ax=ax)

    def plot_design(self, ax: Any = None, kind: str = "burden") -> Any:
        """Randomized and screened patients per design (`kind="power"`: power and assurance against N)."""
        from subgroups import plots

        if self.menu is None:
            raise ParameterError(f"plot_design: no design was planned ({self.results['design']['note']})")
        if kind == "power":
            if self.menu.curves is None or not len(self.menu.curves):
                raise ParameterError("plot_design: no power curves were computed for this design menu; use kind='burden'")
            return plots.power_assurance(self.menu.curves, self.menu.recommended, ax=ax)
        if kind != "burden":
            raise ParameterError(f"plot_design: kind={kind!r}; use 'burden' or 'power'")
        return plots.design_burden(self.menu.to_frame(), self.menu.recommended, ax=ax)


def _check_top(method: str, top: Any) -> None:
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ParameterError(f"{method}: top={top!r}; pass a whole number of at least 1")


def checked_new_rows(trial: TrialData, df: pd.DataFrame, impute: bool) -> pd.DataFrame:
    """`df` after the checks `Analysis.effect` makes before encoding (one-line `DataError`s): numeric features
    hold numbers, categorical features only levels of the analysed data, and no feature value is missing
    unless `impute` (a category that had no missing values in the analysed data cannot be imputed)."""

    encoder = trial.encoder

    def where(mask: pd.Series) -> str:
        rows = list(df.index[mask.to_numpy()])
        return f"{len(rows)} row(s), first at index {rows[0]!r}"

    for name in (*encoder.numeric, *encoder.categorical):
        if name not in df.columns:
            continue  # the encoder names every absent column in one line
        column = df[name]
        isna = column.isna()
        if name in encoder.numeric:
            text = not_numbers(column)
            if text.any():
                raise DataError(
                    f"feature '{name}' of the new data has values that are not numbers ({where(text)}: "
                    f"{column[text].iloc[0]!r}); the analysed data had numbers there"
                )
        else:
            levels = encoder.categorical[name]
            unseen = ~isna & ~column.astype(str).isin(levels)
            if unseen.any():
                new = sorted(set(column[unseen].astype(str)))
                shown = ", ".join(repr(v) for v in new[:5]) + (f" and {len(new) - 5} more" if len(new) > 5 else "")
                known = ", ".join(repr(v) for v in levels[:10]) + (", …" if len(levels) > 10 else "")
                raise DataError(
                    f"feature '{name}' of the new data has level(s) {shown} not seen in the analysed data ({where(unseen)}); "
                    f"the model has no estimate for them: use one of {known}"
                )
        if isna.any():
            if not impute:
                raise DataError(
                    f"feature '{name}' of the new data has missing values ({where(isna)}); fill them, or pass impute=True "
                    "to impute them as in the analysed data"
                )
            if name in encoder.categorical and "(missing)" not in encoder.categorical[name]:
                raise DataError(
                    f"feature '{name}' of the new data has missing values ({where(isna)}) but had none in the analysed data, "
                    "so there is no imputation to repeat; fill them"
                )
    return df


def _unknown_rule(rule: str, found: tuple[Subgroup, ...]) -> Subgroup:
    raise ParameterError(f"no candidate subgroup {rule!r}; candidates: {', '.join(s.rule for s in found) or 'none'}")


def analyze(data: pd.DataFrame | str | Path | None, params: RunParams | dict | str | Path, overrides: Any = None) -> Analysis:
    """Run the analysis: load and check the data, estimate effects, explain them.

    Parameters
    ----------
    data : DataFrame, path, or None
        The trial table; None reads ``data.source`` from the parameters.
    params : RunParams, dict, or path to a YAML file
        Validated against the schema of `subgroups.params`.
    overrides : dict of dotted keys or list of "key=value", optional

    Examples
    --------
    >>> a = subgroups.analyze(None, "params/demo.yaml")            # doctest: +SKIP
    >>> a.results["ate"]["estimate"], a.importance.index[0]        # doctest: +SKIP
    """
    run = load_params(params, overrides)
    trial = load_trial(run, data)
    check_trial(run, trial)
    return _finish(run, trial)


# Values this large overflow double precision once squared (variances, ridge Gram matrices).
MAX_MAGNITUDE = 1e100


def check_trial(run: RunParams, trial: TrialData) -> None:
    """Refuse, before any fitting, what the analysis would otherwise reject only after fitting.

    Checks: time-to-event times finite and at least `MIN_PER_ARM` events per arm (as a binary outcome
    needs that many patients with it per arm: each arm's models are fitted on parts of it), outcome and numeric features small enough that their
    squares stay finite, and every pre-specified subgroup readable, on analysed features, and
    holding patients on both sides. `subgroups validate` runs the same checks.
    """
    from subgroups.rule_language import members, parse_rule

    out = trial.spec.outcome
    treated, control = (str(label) for label in trial.arm_labels)
    if out.type == "time_to_event":
        if not np.isfinite(trial.outcome).all():
            raise DataError(f"time column '{out.time}' has infinite times; replace them by the last follow-up time")
        for which, label, arm in (("treated", treated, 1), ("control", control, 0)):
            events = int(np.sum(trial.event[trial.treatment == arm] == 1))
            if events < MIN_PER_ARM:
                counted = "no events" if events == 0 else f"only {events} event(s)"
                raise DataError(
                    f"event column '{out.event}' has {counted} in the {which} arm ('{label}'); a time-to-event analysis "
                    f"needs at least {MIN_PER_ARM} events per arm (survival curves, Cox models and the horizon rest on them)"
                )
    columns = [(f"outcome column '{out.time if out.type == 'time_to_event' else out.column}'", trial.outcome)]
    columns += [
        (f"feature '{name}'", pd.to_numeric(trial.features[name], errors="coerce").to_numpy(float))
        for name in trial.encoder.numeric
    ]
    for what, values in columns:
        largest = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 0.0
        if largest > MAX_MAGNITUDE:
            raise DataError(f"{what} has values as large as {largest:.3g}; rescale it (e.g. other units) below {MAX_MAGNITUDE:g}")
    heterogeneity_candidates(run, trial, np.ones(trial.n, dtype=bool))  # readable, on analysed features, both sides
    meanings = [
        text if text in trial.features.columns else " and ".join(sorted(c.text for c in parse_rule(text, trial)))
        for text in run.heterogeneity.candidates
    ]
    _refuse_repeats("heterogeneity.candidates", run.heterogeneity.candidates, meanings)
    read = []
    for expression in run.subgroups.prespecified:
        # The same reading as rules.prespecified_subgroups, which runs only after fitting.
        conditions = parse_rule(expression, trial)
        inside = members(conditions, trial.features)
        if inside.sum() < 2 or (~inside).sum() < 2:
            raise DataError(
                f"subgroups.prespecified: {expression!r} selects {int(inside.sum())} of {inside.size} patients; it needs both sides"
            )
        read.append(" and ".join(sorted(c.text for c in conditions)))
    _refuse_repeats("subgroups.prespecified", run.subgroups.prespecified, read)


def _refuse_repeats(key: str, written: list[str], read: list[str]) -> None:
    """One line for an entry listed twice (also when written differently, `age >= 65` and `age>=65`): it would be
    counted as two hypotheses, one of them tested for nothing."""
    seen: dict[str, str] = {}
    for text, meaning in zip(written, read):
        if meaning in seen:
            same = "twice" if seen[meaning] == text else f"twice ({seen[meaning]!r} and {text!r} select the same patients)"
            raise ParameterError(f"{key}: {text!r} is listed {same}; name each hypothesis once")
        seen[meaning] = text


def heterogeneity_candidates(run: RunParams, trial: TrialData, kept: np.ndarray) -> tuple[Candidate, ...]:
    """The pre-specified candidate modifiers (`heterogeneity.candidates`) on the analysed patients: a name
    of an analysed feature is a feature candidate; anything else is read as a rule (`snp_01 >= 1 and age > 60`)."""
    from subgroups.rule_language import members, parse_rule

    out = []
    sign = 1.0 if trial.spec.outcome.higher_is_better else -1.0
    for text in run.heterogeneity.candidates:
        if text in trial.features.columns:
            columns = [c for c in trial.X.columns if trial.encoder.original_of[c] == text]
            out.append(Candidate(text, "feature", columns=trial.X.loc[kept, columns].to_numpy(dtype=float)))
            continue
        if not re.search(r"[<>=≤≥≠]|\bin\b", text):
            raise ParameterError(
                f"heterogeneity.candidates: {text!r} is not an analysed feature; name one feature per entry "
                "(e.g. [snp_01, severity]) or write a rule (e.g. 'snp_01 >= 1')"
            )
        conditions = parse_rule(text, trial, "heterogeneity.candidates")
        inside = members(conditions, trial.features.loc[kept].reset_index(drop=True))
        if inside.sum() < 2 or (~inside).sum() < 2:
            raise DataError(
                f"heterogeneity.candidates: {text!r} selects {int(inside.sum())} of {inside.size} patients; it needs both sides"
            )
        out.append(Candidate(" and ".join(c.text for c in conditions), "rule", inside=inside, sign=sign))
    return tuple(out)


def max_t_columns(run: RunParams, trial: TrialData, kept: np.ndarray) -> tuple[pd.DataFrame, dict[str, str]] | None:
    """The columns of the per-feature max-T test (`heterogeneity.max_t_test`): every encoded column of the analysed
    patients and the carrier indicator of each genotype count with max(min_cell, 5% of them) on each side, with the
    feature of each column. None in an observational study, where the test is not part of the decision (`subgroups.heterogeneity`)."""
    from subgroups.heterogeneity import genotype_carriers

    if run.data.study != "rct":
        return None
    X = trial.X.loc[kept]
    min_side = max(run.report.min_cell, int(np.ceil(0.05 * len(X))))
    carriers, feature_of = genotype_carriers(trial.features.loc[kept], trial.family_of, min_side)
    return pd.concat([X, carriers.set_axis(X.index)], axis=1), {**trial.encoder.original_of, **feature_of}


def survival_data(run: RunParams, trial: TrialData, kept: np.ndarray) -> Survival | None:
    """The analysed patients of a randomized time-to-event trial for the hazard-scale candidate tests; None otherwise
    (other outcomes, and observational studies, whose candidates are tested on the held-out scores)."""
    if trial.spec.outcome.type != "time_to_event" or run.data.study != "rct" or not run.heterogeneity.candidates:
        return None
    from subgroups.effects import assign_folds
    from subgroups.heterogeneity import prognostic_index

    time, event, treatment = trial.outcome[kept], trial.event[kept], trial.treatment[kept]
    folds = assign_folds(treatment, run.estimation.folds, run.estimation.seed)
    features = trial.X.loc[kept].to_numpy(dtype=float)
    return Survival(time, event, treatment, prognostic_index(time, event, treatment, features, folds))


def candidate_subgroups(run: RunParams, trial: TrialData, effects: EffectModel, tests: Heterogeneity) -> list[Subgroup]:
    """Rule candidates as subgroup hypotheses estimated on all patients (cross-fitted scores): validated when
    their heterogeneity claim was rejected, exploratory otherwise; p_adjusted is that claim's adjusted p."""
    rules = [(text, c) for text, c in zip(run.heterogeneity.candidates, tests.candidates) if text not in trial.features.columns]
    if not rules:
        return []
    adjusted = dict(zip((c.name for c in tests.candidates), tests.candidate_adjusted))
    found = prespecified_subgroups(trial, effects, [text for text, _ in rules], run.estimation.level)
    return [
        dataclasses.replace(
            s,
            status="validated" if adjusted[test.name] < tests.alpha else "exploratory",
            p_adjusted=float(adjusted[test.name]),
            found_on="pre-specified candidate (heterogeneity.candidates)",
        )
        for s, (_, test) in zip(found, rules)
    ]


def open_analysis(params: RunParams | dict | str | Path, overrides: Any = None, cache_dir: str | Path | None = None) -> Analysis:
    """The analysis for a parameter file, reusing a cached fit from `cache_dir` when data and parameters match.

    Notebooks call this: the runner fits once and each notebook loads the same fit. The folder keeps one
    fit and one complete analysis, those of the latest key: older entries are removed when a new one is written.
    """
    run = load_params(params, overrides)
    trial = load_trial(run)
    check_trial(run, trial)
    if cache_dir is None:
        return _finish(run, trial)
    folder = cache.writable_folder(cache_dir)  # before fitting: a fit that cannot be stored would be lost
    whole = cache.complete_entry(folder, run, trial.fingerprint)
    analysis = cache.load(whole)
    if analysis is not None:  # same data, parameters and code: the finished analysis (each notebook of a run)
        stamp = {"generated_at": generated_now(), "git_commit": git_commit()}
        results = {**analysis.results, "provenance": {**analysis.results["provenance"], **stamp}}
        return dataclasses.replace(analysis, results=results)  # a new object: the cached one stays as stored
    fit = cache.fit_entry(folder, run, trial.fingerprint)
    stored = cache.load(fit)
    if stored is not None:
        trial, effects, explanation = stored
        # Everything downstream of the fit (tests, subgroups, designs, report settings) follows this call's parameters.
        analysis = _assemble(run, trial, effects, explanation)
    else:
        analysis = _finish(run, trial)
        cache.store(fit, (analysis.data, analysis.effects, analysis.explanation))
    cache.store(whole, analysis)
    return analysis


def _finish(run: RunParams, trial: TrialData) -> Analysis:
    # Before any fitting: refuse a run that cannot fit in memory, warn when it is close.
    note = check_memory(trial.n, trial.X.shape[1])
    if note:
        warnings.warn(note, MemoryWarning, stacklevel=3)
    # A "randomized" trial whose data contradict the declared randomization: warn, or stop (data.treatment.strict).
    if run.data.study == "rct":
        check = check_randomization(trial, run.report.min_cell, run.estimation.seed)
        if message := enforce_randomization(check, run.data.treatment.strict):
            warnings.warn(message, DataWarning, stacklevel=3)
    # Many small models: OpenMP threads cost more than they give below ~20,000 patients and spin
    # against other processes (batch runs, notebooks) on a small machine.
    with threadpool_limits(limits=1 if trial.n < 20_000 else None):
        outcome, scale = analysis_outcome(trial, run.report.min_cell)
        survival = None
        if trial.spec.outcome.type == "time_to_event":
            from subgroups import outcomes

            survival = (outcomes.trial_horizon(trial, run.report.min_cell).value, trial.spec.outcome.estimand)
        effects = fit_effects(trial, run.estimation, outcome=outcome, scale=scale, survival=survival)
        explanation = explain_effects(effects, trial, run.estimation.shap_rows, run.estimation.seed)
    return _assemble(run, trial, effects, explanation)


def analysis_outcome(trial: TrialData, min_cell: int = 10) -> tuple[np.ndarray, tuple[str, str]]:
    """The outcome the effect models see and its scale; time-to-event becomes pseudo-observations.

    The horizon (or landmark) is `data.outcome.horizon`, else the default of `outcomes.trial_horizon`
    (each arm keeps at least max(10% of its patients, `min_cell`) at risk), in `data.outcome.time_unit`.
    """
    spec = trial.spec.outcome
    if spec.type != "time_to_event":
        return trial.outcome, SCALES[spec.type]
    from subgroups import outcomes

    chosen = outcomes.trial_horizon(trial, min_cell)
    horizon, at, unit = chosen.value, chosen.text, chosen.unit
    if spec.estimand == "rmst":
        values = outcomes.rmst_pseudo_values(trial.outcome, trial.event, horizon, groups=trial.treatment)
        scale = (
            f"difference in restricted mean survival time up to {at}",
            f"E[min(T(1), {horizon:g}) - min(T(0), {horizon:g})]: mean event-free time during the first {at} "
            f"on treatment minus on control, in {unit} (time column '{spec.time}'), via pseudo-observations",
        )
    else:
        values = outcomes.survival_pseudo_values(trial.outcome, trial.event, horizon, groups=trial.treatment)
        scale = (
            f"difference in survival probability at {at}",
            f"P(T(1) > {horizon:g}) - P(T(0) > {horizon:g}): probability of being event-free at {at} on treatment "
            "minus on control, via pseudo-observations",
        )
    return values, scale


def _assemble(run: RunParams, trial: TrialData, effects: EffectModel, explanation: Explanation) -> Analysis:
    kept = effects.analysed(trial.n)
    columns, feature_of = max_t_columns(run, trial, kept) or (None, trial.encoder.original_of)
    tests = test_heterogeneity(
        effects.scores, effects.cate, run.heterogeneity.alpha, effects.scale, run.report.min_cell,
        candidates=heterogeneity_candidates(run, trial, kept), candidate_share=run.heterogeneity.candidate_share,
        level=run.estimation.level, columns=columns, original_of=feature_of,
        seed=run.estimation.seed, survival=survival_data(run, trial, kept),
        forward=(effects.forward, effects.folds) if effects.forward.size else None,
        benefit_sign=1.0 if trial.spec.outcome.higher_is_better else -1.0,
    )  # fmt: skip
    extra = dict(tests.extra)
    if trial.spec.outcome.type == "time_to_event":
        from subgroups.heterogeneity import hazard_scale_test

        ranking = (effects.forward, effects.folds) if effects.forward.size else (effects.cate, None)
        extra["hazard_scale"] = hazard_scale_test(trial.outcome[kept], trial.event[kept], trial.treatment[kept], *ranking)
    modifiers = modifier_tests(effects.scores, trial.X.loc[kept], trial.encoder.original_of, trial.family_of)
    tests = dataclasses.replace(tests, modifiers=modifiers, extra=extra)
    found = find_subgroups(trial, effects, run.subgroups, tests.detected, run.estimation.seed, run.estimation.level)
    found = candidate_subgroups(run, trial, effects, tests) + found  # pre-specified first
    found = protect_subgroups(trial, effects, found, run.report.min_cell, run.estimation.seed)
    shown = [s for s in found if not s.extra.get("too_small")]
    masked = level_mask(trial, run.report.min_cell)
    pre = prespecified_subgroups(trial, effects, run.subgroups.prespecified, run.estimation.level)
    prespecified = [dataclasses.replace(s, rule=masked(s.rule)).to_dict(run.report.min_cell) for s in pre]
    conclusion = subgroup_conclusion(
        shown, tests.detected, run.estimation.level, hidden=len(found) - len(shown), tested_on=tests.candidate_scale
    )
    subgroups = subgroups_section(conclusion, [s.to_dict(run.report.min_cell) for s in found], prespecified)
    # A subgroup that cannot be named in the reports is not planned for either.
    menu, subgroup, note = plan_next_trial(run, trial, effects, shown, tests.detected)
    design = design_section(menu, subgroup.rule if subgroup is not None else None, note)
    # The parameters as reported: a pre-specified subgroup too small to report, or naming a rare level, not verbatim.
    params = run.to_dict()
    params["subgroups"]["prespecified"] = [
        TOO_SMALL if "too_small" in c else expression if masked(s.rule) == s.rule else c["rule"]
        for expression, s, c in zip(run.subgroups.prespecified, pre, prespecified)
    ]
    results = build_results(run, trial, effects, explanation, tests, subgroups, design, params=params)
    return Analysis(run, trial, effects, explanation, tests, results, tuple(found), menu)


def protect_subgroups(trial: TrialData, effects: EffectModel, found: list[Subgroup], min_cell: int, seed: int) -> list[Subgroup]:
    """`found` with the small-cell policy of `subgroups.privacy` attached.

    Per hypothesis, among the patients its estimates come from: the per-arm patients of its comparator
    (`extra["comparator_n"]`: the complement for a split of all patients, the sibling inside the parent
    for a refinement) and how many patients its prevalence is a share of (`extra["n_total"]`); a
    hypothesis with fewer than `min_cell` patients in an arm of either side, or inside a parent side
    that is too small, gets `extra["too_small"]` (the reason). Rare level names in its rule texts
    (levels held by fewer than `min_cell` patients) are replaced by a placeholder.
    """
    from dataclasses import replace

    from subgroups.privacy import rounded_share, too_small_reason
    from subgroups.rules import split_halves

    kept = effects.analysed(trial.n)
    frame = trial.features.loc[kept].reset_index(drop=True)
    T = trial.treatment[kept]
    half = split_halves(T, seed)
    inside = {s.rule: s.contains(frame).to_numpy() for s in found}

    def region(rule: str, level: int, rows: np.ndarray) -> np.ndarray | None:
        """Members (within `rows`) of the side `rule` at depth `level`; None when it is not among `found`."""
        if level == 0:
            return rows
        for r in found:
            if r.level == level and r.rule == rule:
                return rows & inside[r.rule]
        for r in found:
            if r.level == level and r.comparator_rule == rule:
                parent = region(r.parent_rule, level - 1, rows)
                return None if parent is None else parent & ~inside[r.rule]
        return None

    out, small_sides = [], set()
    for s in found:
        rows = np.isin(half, s.estimation_halves) if s.estimation_halves else np.ones(T.size, dtype=bool)
        parent = rows if s.level <= 1 else region(s.parent_rule, s.level - 1, rows)
        comparator = None if parent is None else parent & ~inside[s.rule]
        counts = None if comparator is None else (int((comparator & (T == 1)).sum()), int((comparator & (T == 0)).sum()))
        reason = too_small_reason((s.n_treated, s.n_control), counts, min_cell, "its comparator")
        out.append([s, counts, int(rows.sum()), reason])
        if reason:
            small_sides |= {(s.level, s.rule), (s.level, s.comparator_rule or "the rest")}
    # A refinement inside a side that is too small to report is not reported either (its parent names that side).
    for _ in range(max((s.level for s in found), default=0)):
        for item in out:
            s = item[0]
            if not item[3] and s.level > 1 and (s.level - 1, s.parent_rule) in small_sides:
                item[3] = f"inside a subgroup with fewer than {min_cell} patients in an arm"
                small_sides |= {(s.level, s.rule), (s.level, s.comparator_rule)}
    masked = level_mask(trial, min_cell)
    protected = []
    for s, counts, n_total, reason in out:
        extra = {
            **s.extra,
            "comparator_n": counts,
            "n_total": n_total,
            "prevalence_shown": rounded_share(s.prevalence, n_total, min_cell),
            **({"too_small": reason} if reason else {}),
        }
        protected.append(
            replace(
                s, rule=masked(s.rule), comparator_rule=masked(s.comparator_rule), parent_rule=masked(s.parent_rule), extra=extra
            )
        )
    return protected


def level_mask(trial: TrialData, min_cell: int) -> Callable[[str], str]:
    """A function that replaces, in a rule text, the names of levels held by fewer than `min_cell` patients."""
    from subgroups.privacy import mask_levels, rare_levels

    rare = rare_levels(trial.features, trial.encoder.categorical, min_cell)
    return lambda text: mask_levels(text, rare, trial.encoder.categorical, min_cell) if text and rare else text


def subgroup_conclusion(found: list[Subgroup], detected: bool, level: float = 0.95, hidden: int = 0, tested_on: str = "") -> str:
    """One sentence a scientist can act on, about the hypotheses that may be reported (`hidden`: how many may not).
    `tested_on`: the scale the pre-specified candidates were tested on when it is not the effects' (time to event:
    "hazard ratio"), so that a candidate validated there is not read against the CI of a difference on another scale."""
    validated = [s for s in found if s.status == "validated"]
    if hidden and not validated and detected:
        return (
            "Heterogeneity was detected, but no reportable rule differs from its complement after multiplicity adjustment "
            f"({hidden} hypothesis(es) too small to report: fewer than report.min_cell patients in an arm); rules are exploratory."
        )
    if not detected:
        return "No credible subgroup, since the heterogeneity test did not detect heterogeneity; every rule below is exploratory."
    if not validated:
        return "Heterogeneity was detected, but no single rule differs from its complement after multiplicity adjustment; rules are exploratory."
    best = validated[0]
    r = best.reported()
    versus = "in the complement" if best.level == 1 else "in its sibling inside the parent rule"
    more = f" ({len(validated) - 1} further validated hypothesis(es) in the table)" if len(validated) > 1 else ""
    if not best.estimation_halves:  # a pre-specified candidate: tested once, before any search
        return (
            f"Validated subgroup (pre-specified candidate): {best.hypothesis} — effect {r['effect']:+.3g} "
            f"({level:.0%} CI {r['ci_low']:.3g} to {r['ci_high']:.3g}) versus {r['comparator_effect']:+.3g} {versus}, "
            f"estimated on all patients' cross-fitted scores; named before the data were seen, so not adjusted for "
            f"selection (adjusted {p_text(best.p_adjusted)}, over every heterogeneity claim"
            + (
                f", from its test on the {tested_on} scale; the effects shown are on the {best.scale} scale, where the "
                "difference's own CI may include 0"
                if tested_on
                else ""
            )
            + f"){more}."
        )
    return (
        f"Validated subgroup: {best.hypothesis} — effect {r['effect']:+.3g} "
        f"({level:.0%} CI {r['ci_low']:.3g} to {r['ci_high']:.3g}) versus {r['comparator_effect']:+.3g} "
        f"{versus}, estimated on patients not used to find the rule and adjusted for having been selected "
        f"as significant (unadjusted held-out estimate {best.effect:+.3g}; adjusted {p_text(best.p_adjusted)}){more}."
    )
