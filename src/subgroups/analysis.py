"""The public entry point: `analyze(data, params) -> Analysis`, and the `results.json` content."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import html
import json
import pickle
import platform
import subprocess
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from subgroups.audit import check_randomization, enforce_randomization
from subgroups.data import DataWarning, TrialData, load_trial
from subgroups.design import DesignMenu
from subgroups.effects import SCALES, EffectModel, fit_effects, overlap_summary
from subgroups.explain import Explanation, explain_effects
from subgroups.heterogeneity import Candidate, Heterogeneity, modifier_tests, test_heterogeneity
from subgroups.params import RunParams, load_params
from subgroups.privacy import TOO_SMALL, suppress_count, suppress_part, suppress_reasons, suppress_total
from subgroups.resources import MemoryWarning, check_memory
from subgroups.rules import Subgroup, find_subgroups, prespecified_subgroups

SCHEMA_VERSION = 1
PACKAGES = ("subgroups", "econml", "shap", "scikit-learn", "numpy", "pandas", "scipy", "statsmodels", "lifelines", "papermill")


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
        patients are scaled by the share of them the calibration test finds real; when that slope is
        clipped to 0 every row gets the average effect, and a `ConstantEffectWarning` says so.
        `calibrated=False` gives the effect model's own predictions (what SHAP explains).

        Category levels the analysed data did not have, and values that are not numbers in a numeric
        feature, are a `DataError` (the model has no estimate for them). So are missing feature values,
        unless `impute=True`: then they are imputed as in the analysed data (numbers: its median, with
        the missing indicator when it had missing values; categories: its level "(missing)").
        """
        raw = self.effects.effect(self.data.encoder.transform(checked_new_rows(self.data, df, impute)))
        if not calibrated:
            return raw
        if self.calibration_slope == 0.0:
            from subgroups.errors import ConstantEffectWarning

            warnings.warn(
                f"calibrated effects are constant: the held-out calibration slope is clipped to 0, so every row gets the "
                f"average effect {self.effects.ate.estimate:+.3g}; effect(df, calibrated=False) gives the model's own predictions",
                ConstantEffectWarning,
                stacklevel=2,
            )
        return self.calibrate(raw)

    @property
    def calibration_slope(self) -> float:
        """The held-out BLP slope β₂, clipped to [0, 1]: the factor applied by `calibrate`."""
        return calibration_factor(self.tests)

    def calibrate(self, tau: np.ndarray) -> np.ndarray:
        """ATE + s·(τ̂ − mean held-out τ̂), s = `calibration_slope`: the best linear predictor of the
        effect given the model's prediction (Chernozhukov et al.), never stretched beyond the model."""
        return calibrated(np.asarray(tau, float), self.effects, self.tests)

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
        from subgroups.rules import subgroup_profile

        if isinstance(subgroup, str):
            subgroup = next((s for s in self.found if s.rule == subgroup), None) or _unknown_rule(subgroup, self.found)
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
        from subgroups.errors import ParameterError

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
        from subgroups.errors import ParameterError

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
        from subgroups.errors import ParameterError

        if self.menu is None:
            raise ParameterError(f"plot_design: no design was planned ({self.results['design']['note']})")
        if kind == "power":
            if self.menu.curves is None or not len(self.menu.curves):
                raise ParameterError("plot_design: no power curves were computed for this design menu; use kind='burden'")
            return plots.power_assurance(self.menu.curves, self.menu.recommended, ax=ax)
        if kind != "burden":
            raise ParameterError(f"plot_design: kind={kind!r}; use 'burden' or 'power'")
        return plots.design_burden(self.menu.to_frame(), self.menu.recommended, ax=ax)


def checked_new_rows(trial: TrialData, df: pd.DataFrame, impute: bool) -> pd.DataFrame:
    """`df` after the checks `Analysis.effect` makes before encoding (one-line `DataError`s): numeric features
    hold numbers, categorical features only levels of the analysed data, and no feature value is missing
    unless `impute` (a category that had no missing values in the analysed data cannot be imputed)."""
    from subgroups.errors import DataError

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
            text = pd.to_numeric(column, errors="coerce").isna() & ~isna
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


def _value(value: Any, spec: str = ".3g", missing: str = "–") -> str:
    """A number as the reports format it, or `missing` for null; a suppressed count ("<10") as it is."""
    if value is None:
        return missing
    if isinstance(value, str):
        return value
    return format(value, spec)


def _p(p: float | None) -> str:
    """A p-value after "p": "< 0.001" or "= 0.0123" ("= –" when null)."""
    return "< 0.001" if p is not None and p < 0.001 else f"= {_value(p)}"


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else _value(value)


def headline(results: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, text) lines of `Analysis.__repr__` and `_repr_html_`, from results.json: the first is the title."""
    from subgroups.narrative import effect_text

    data, ate, het, sub, design = (results[k] for k in ("data", "ate", "heterogeneity", "subgroups", "design"))
    title = (results["params"].get("report") or {}).get("title")
    arms, out = data["arms"], data["outcome"]
    unit = f" {ate['unit']}" if ate.get("unit") else ""
    lines = [("", f"subgroups.Analysis {results['name']!r}" + (f": {title}" if title else ""))]
    lines.append(("data", f"{_count(data['n'])} patients ({data['study']}): {_count(data['n_treated'])} on {arms['treated']} "
                          f"(treated), {_count(data['n_control'])} on {arms['control']} (control)"))  # fmt: skip
    better = "higher" if out["higher_is_better"] else "lower"
    lines.append(("outcome", f"{out['name']} ({out['type']}, {better} is better); effect: {ate['scale']}"))
    hr = ate.get("hazard_ratio")
    hr_text = f"; hazard ratio {effect_text(hr['estimate'], hr['ci_low'], hr['ci_high']).lstrip('+')}" if hr else ""
    lines.append(("average effect", f"{effect_text(ate['estimate'], ate['ci_low'], ate['ci_high'])}{unit}, "
                  f"{ate['ci_level']:.0%} CI, p {_p(ate['p_value'])}, {ate['status']}{hr_text}"))  # fmt: skip
    calibration = het["calibration"]
    claims = het.get("claims") or []
    rejected = sum(bool(c.get("rejected")) for c in claims)
    lines.append(("heterogeneity", f"{'detected' if het['detected'] else 'not detected'} at α = {het['alpha']:g} "
                  f"(calibration slope {_value(calibration['estimate'])}, one-sided p {_p(calibration['p_value'])}"
                  + (f"; {rejected} of {len(claims)} claims rejected" if len(claims) > 1 else "") + ")"))  # fmt: skip
    shown = [c for c in sub["candidates"]]
    validated = [c for c in shown if c["status"] == "validated"]
    hidden = len(sub["too_small"]["candidates"])
    text = f"{len(validated)} of {len(shown)} hypotheses validated" + (f" ({hidden} too small to report)" if hidden else "")
    if validated:
        first, r = validated[0], validated[0]["reported"]
        text += f"; first: {first['hypothesis']}, {effect_text(r['effect'], r['ci_low'], r['ci_high'])} [{r['estimator']}]"
    lines.append(("subgroups", text + (f"; {len(sub['prespecified'])} pre-specified" if sub["prespecified"] else "")))
    options = {o["design"]: o for o in design.get("options") or []}
    if design.get("recommended") in options:
        best = options[design["recommended"]]
        target = "" if design["recommended"] == "all_comers" or not design.get("subgroup") else f" in {design['subgroup']}"
        screened = best.get("n_screened_expected")
        more = (
            f", about {np.ceil(screened):,.0f} screened"
            if screened is not None and screened > (best["n_randomized"] or 0)
            else ""
        )
        lines.append(("next trial", f"{design['recommended'].replace('_', ' ')}{target}: N = {_count(best['n_randomized'])} "
                      f"randomized{more}, power {_value(best.get('power_any'), '.0%')}, assurance {_value(best.get('assurance_any'), '.0%')}"))  # fmt: skip
    else:
        lines.append(("next trial", design.get("note") or "no design planned"))
    prov = results["provenance"]
    lines.append(("provenance", f"data sha256 {prov['data_sha256'][:12]}…, seed {prov['seed']}, subgroups "
                  f"{prov['packages'].get('subgroups')}, {prov['generated_at']}"))  # fmt: skip
    lines.append(("more", "summary(), subgroups_frame(), plot_forest(ax=...), effect(new_rows), results"))
    return lines


SUBGROUP_COLUMNS = ("hypothesis", "status", "estimator", "effect", "ci_low", "ci_high", "comparator_effect", "difference",
                    "p_adjusted", "prevalence", "n_treated", "n_control", "rule", "level", "source")  # fmt: skip


def subgroups_table(results: dict[str, Any]) -> pd.DataFrame:
    """`Analysis.subgroups_frame`: one row per hypothesis as results.json reports it (suppressed stays suppressed)."""
    rows = []
    section = results["subgroups"]
    listed = [("discovered", c) for c in section["candidates"]] + [("pre-specified", c) for c in section["prespecified"]]
    hidden = [("discovered", c) for c in section["too_small"]["candidates"]]
    hidden += [("pre-specified", c) for c in section["too_small"]["prespecified"]]
    # Reported hypotheses first, then those too small to report (no rule, no numbers).
    for source, c in listed + hidden:
        r = c.get("reported") or {}
        rows.append({
            "hypothesis": c.get("hypothesis", c["rule"]), "status": c.get("status"), "estimator": r.get("estimator"),
            "effect": r.get("effect"), "ci_low": r.get("ci_low"), "ci_high": r.get("ci_high"),
            "comparator_effect": r.get("comparator_effect"), "difference": r.get("difference"),
            "p_adjusted": c.get("p_adjusted"), "prevalence": c.get("prevalence"),
            "n_treated": c.get("n_treated"), "n_control": c.get("n_control"),
            "rule": c["rule"], "level": c.get("level", 1), "source": source,
        })  # fmt: skip
    frame = pd.DataFrame(rows, columns=list(SUBGROUP_COLUMNS))
    numbers = ["effect", "ci_low", "ci_high", "comparator_effect", "difference", "p_adjusted", "prevalence"]
    frame[numbers] = frame[numbers].astype(float)
    for column in ("n_treated", "n_control"):  # integers, unless a count is suppressed ("<10") or absent
        values = [row[column] for row in rows]
        frame[column] = pd.Series(values, dtype=int if all(isinstance(v, int) for v in values) else object)
    return frame


class AnalysisSummary:
    """`Analysis.summary()`: the headline results as titled tables (statsmodels-style); `print` it, or let a
    notebook display it. `tables` maps each title to its DataFrame (formatted text, as in the reports)."""

    def __init__(self, title: str, header: list[tuple[str, str]], tables: dict[str, pd.DataFrame], notes: list[str]):
        self.title, self.header, self.tables, self.notes = title, header, tables, notes

    @classmethod
    def from_results(cls, results: dict[str, Any]) -> AnalysisSummary:
        from subgroups.narrative import effect_text

        lines = headline(results)
        ate, het, sub, design = (results[k] for k in ("ate", "heterogeneity", "subgroups", "design"))
        level = f"{ate['ci_level']:.0%} CI"
        effect_rows = [{"": "average effect", "scale": ate["scale"] + (f"; effect in {ate['unit']}" if ate.get("unit") else ""),
                        f"estimate ({level})": effect_text(ate["estimate"], ate["ci_low"], ate["ci_high"]),
                        "p": _p(ate["p_value"]).lstrip("= "), "n": _count(ate["n"]), "status": ate["status"]}]  # fmt: skip
        if hr := ate.get("hazard_ratio"):
            effect_rows.append({"": "hazard ratio", "scale": "treated vs control (Cox)",
                                f"estimate ({level})": effect_text(hr["estimate"], hr["ci_low"], hr["ci_high"]).lstrip("+"),
                                "p": _value(hr.get("p_value")), "n": _count(ate["n"]), "status": "secondary summary"})  # fmt: skip
        claims = [{"claim": c["claim"], "origin": c.get("origin", ""), "p": _p(c["p_value"]).lstrip("= "),
                   "adjusted p": _p(c["p_adjusted"]).lstrip("= "),
                   "rejected": "yes" if c.get("rejected") else "no"} for c in het.get("claims") or []]  # fmt: skip
        for key, label in (("autoc", "AUTOC (supporting)"), ("qini", "Qini (supporting)")):
            t = het[key]
            claims.append({"claim": f"{label} {_value(t['estimate'])}", "origin": "held-out ranking", "p": _p(t["p_value"]).lstrip("= "),
                           "adjusted p": "–", "rejected": "–"})  # fmt: skip
        frame = subgroups_table(results)
        hypotheses = pd.DataFrame({
            "hypothesis (subgroup vs comparator)": frame["hypothesis"], "status": frame["status"],
            "estimate": frame["estimator"].fillna("–"),
            f"effect ({level})": [effect_text(*(None if pd.isna(v) else v for v in x))
                                  for x in zip(frame["effect"], frame["ci_low"], frame["ci_high"])],
            "comparator": [_value(None if pd.isna(v) else v, "+.3g") for v in frame["comparator_effect"]],
            "difference": [_value(None if pd.isna(v) else v, "+.3g") for v in frame["difference"]],
            "adjusted p": [_p(None if pd.isna(v) else v).lstrip("= ") for v in frame["p_adjusted"]],
            "n (treated + control)": [f"{_count(t)} + {_count(c)}" if t is not None else "–"
                                      for t, c in zip(frame["n_treated"], frame["n_control"])],
        })  # fmt: skip
        tables = {"Average effect": pd.DataFrame(effect_rows), "Heterogeneity claims": pd.DataFrame(claims),
                  "Subgroup hypotheses": hypotheses}  # fmt: skip
        options = design.get("options") or []
        if options:
            tables["Designs for the next trial"] = pd.DataFrame([{
                "design": f"{o.get('label', '')} {o['design'].replace('_', ' ')}".strip()
                + (" (recommended)" if o["design"] == design.get("recommended") else ""),
                "claims": o.get("claims") or "",
                "N randomized": "not estimable" if o.get("estimable") is False else _count(o["n_randomized"]),
                "screened (expected)": _value(None if o.get("n_screened_expected") is None else np.ceil(o["n_screened_expected"]), ",.0f"),
                "power (any claim)": _value(o.get("power_any"), ".0%"),
                "assurance (any claim)": _value(o.get("assurance_any"), ".0%"),
            } for o in options])  # fmt: skip
        notes = [het["decision"], sub["conclusion"]] + ([design["note"]] if design.get("note") else [])
        return cls(lines[0][1], lines[1:-1], tables, notes)

    def __str__(self) -> str:
        blocks = {title: table.to_string(index=False) for title, table in self.tables.items()}
        width = max([78, len(self.title) + 4] + [len(line) for text in blocks.values() for line in text.splitlines()])
        width = min(width, 160)
        label = max(len(k) for k, _ in self.header)
        out = [self.title.center(width), "=" * width]
        out += [f"{k + ':':<{label + 1}} {v}" for k, v in self.header]
        for title, text in blocks.items():
            out += ["", f" {title} ".center(width, "-"), text]
        out += ["=" * width, "Notes:"] + [f"[{i}] {note}" for i, note in enumerate(self.notes, 1)]
        return "\n".join(out)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        header = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in self.header
        )
        parts = [f"<h4>{html.escape(self.title)}</h4>", f"<table>{header}</table>"]
        for title, table in self.tables.items():
            parts += [f"<h5>{html.escape(title)}</h5>", table.to_html(index=False, escape=True, border=0)]
        parts.append("<ol>" + "".join(f"<li>{html.escape(note)}</li>" for note in self.notes) + "</ol>")
        return "<div>" + "".join(parts) + "</div>"


def _unknown_rule(rule: str, found: tuple[Subgroup, ...]) -> Subgroup:
    from subgroups.errors import ParameterError

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

    Checks: time-to-event times finite and at least one event per arm (a Cox model or a survival
    curve without events has no estimate), outcome and numeric features small enough that their
    squares stay finite, and every pre-specified subgroup readable, on analysed features, and
    holding patients on both sides. `subgroups validate` runs the same checks.
    """
    from subgroups.errors import DataError
    from subgroups.rules import members, parse_rule

    out = trial.spec.outcome
    treated, control = (str(label) for label in trial.arm_labels)
    if out.type == "time_to_event":
        if not np.isfinite(trial.outcome).all():
            raise DataError(f"time column '{out.time}' has infinite times; replace them by the last follow-up time")
        for which, label, arm in (("treated", treated, 1), ("control", control, 0)):
            if not (trial.event[trial.treatment == arm] == 1).any():
                raise DataError(
                    f"event column '{out.event}' has no events in the {which} arm ('{label}'); "
                    "a time-to-event analysis needs at least one event per arm"
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
    for expression in run.subgroups.prespecified:
        # The same reading as rules.prespecified_subgroups, which runs only after fitting.
        conditions = parse_rule(expression, trial)
        inside = members(conditions, trial.features)
        if inside.sum() < 2 or (~inside).sum() < 2:
            raise DataError(
                f"subgroups.prespecified: {expression!r} selects {int(inside.sum())} of {inside.size} patients; it needs both sides"
            )


def heterogeneity_candidates(run: RunParams, trial: TrialData, kept: np.ndarray) -> tuple[Candidate, ...]:
    """The pre-specified candidate modifiers (`heterogeneity.candidates`) on the analysed patients: a name
    of an analysed feature is a feature candidate; anything else is read as a rule (`snp_01 >= 1 and age > 60`)."""
    from subgroups.errors import DataError
    from subgroups.rules import members, parse_rule

    out = []
    sign = 1.0 if trial.spec.outcome.higher_is_better else -1.0
    for text in run.heterogeneity.candidates:
        if text in trial.features.columns:
            columns = [c for c in trial.X.columns if trial.encoder.original_of[c] == text]
            out.append(Candidate(text, "feature", columns=trial.X.loc[kept, columns].to_numpy(dtype=float)))
            continue
        conditions = parse_rule(text, trial)
        inside = members(conditions, trial.features.loc[kept].reset_index(drop=True))
        if inside.sum() < 2 or (~inside).sum() < 2:
            raise DataError(
                f"heterogeneity.candidates: {text!r} selects {int(inside.sum())} of {inside.size} patients; it needs both sides"
            )
        out.append(Candidate(" and ".join(c.text for c in conditions), "rule", inside=inside, sign=sign))
    return tuple(out)


def candidate_subgroups(run: RunParams, trial: TrialData, effects: EffectModel, tests: Heterogeneity) -> list[Subgroup]:
    """Rule candidates as subgroup hypotheses estimated on all patients (cross-fitted scores): validated when
    their heterogeneity claim was rejected, exploratory otherwise; p_adjusted is that claim's adjusted p."""
    rules = [(text, c) for text, c in zip(run.heterogeneity.candidates, tests.candidates) if text not in trial.features.columns]
    if not rules:
        return []
    adjusted = dict(zip((c.name for c in tests.candidates), tests.adjusted[0][1:]))
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


def cache_key(run: RunParams, trial_fingerprint: str, whole: bool = False) -> str:
    """Key of a cached fit: data, the parameters that feed the fit, and the code with its dependencies' versions.

    With `whole`, every parameter counts: the key of a complete analysis (tests, subgroups, designs).
    """
    sections = (
        run.to_dict()
        if whole
        else {"data": run.data.model_dump(mode="json"), "estimation": run.estimation.model_dump(mode="json")}
    )
    if not whole and run.data.outcome.type == "time_to_event":
        sections["min_cell"] = run.report.min_cell  # the default horizon depends on it (outcomes.default_horizon)
    blob = json.dumps({"fp": trial_fingerprint, "params": sections, "code": code_fingerprint()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


# The packages whose code computes or pickles part of a fitted analysis: an upgrade of any of them invalidates the cache.
FIT_PACKAGES = ("subgroups", "numpy", "scipy", "pandas", "scikit-learn", "econml", "shap", "statsmodels", "lifelines")


def code_fingerprint() -> str:
    """sha256 of the package's source, the Python version and the versions of `FIT_PACKAGES`: a cached fit
    is never reused by different code, nor unpickled by a different numpy, scikit-learn or econml."""
    versions = {name: _version(name) for name in FIT_PACKAGES}
    blob = json.dumps({"source": _source_digest(), "python": platform.python_version(), "packages": versions}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


@functools.cache
def _source_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


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
    folder = Path(cache_dir)
    whole = folder / f"complete-{cache_key(run, trial.fingerprint, whole=True)}.pkl"
    if whole.is_file():  # same data, parameters and code: the finished analysis (each notebook of a run)
        analysis = _load(whole)
        stamp = {"generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "git_commit": git_commit()}
        results = {**analysis.results, "provenance": {**analysis.results["provenance"], **stamp}}
        return dataclasses.replace(analysis, results=results)  # a new object: the cached one stays as stored
    fit = folder / f"analysis-{cache_key(run, trial.fingerprint)}.pkl"
    if fit.is_file():
        trial, effects, explanation = _load(fit)
        # Everything downstream of the fit (tests, subgroups, designs, report settings) follows this call's parameters.
        analysis = _assemble(run, trial, effects, explanation)
    else:
        analysis = _finish(run, trial)
        _store(fit, (analysis.data, analysis.effects, analysis.explanation))
    _store(whole, analysis)
    return analysis


def _load(path: Path) -> Any:
    with path.open("rb") as handle:
        return pickle.load(handle)  # noqa: S301 - our own cache file, inside the run folder


def _store(path: Path, value: Any) -> None:
    """Write `value` atomically to `path` (`<kind>-<key>.pkl`) and remove the folder's other entries of that kind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as handle:
        pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    kind = path.name.split("-", 1)[0]
    for old in path.parent.glob(f"{kind}-*.pkl"):
        if old != path:
            old.unlink(missing_ok=True)


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
    tests = test_heterogeneity(
        effects.scores, effects.cate, run.heterogeneity.alpha, effects.scale, run.report.min_cell,
        candidates=heterogeneity_candidates(run, trial, kept), candidate_share=run.heterogeneity.candidate_share,
        level=run.estimation.level,
    )  # fmt: skip
    extra = dict(tests.extra)
    if trial.spec.outcome.type == "time_to_event":
        from subgroups.heterogeneity import hazard_scale_test

        extra["hazard_scale"] = hazard_scale_test(trial.outcome[kept], trial.event[kept], trial.treatment[kept], effects.cate)
    modifiers = modifier_tests(effects.scores, trial.X.loc[kept], trial.encoder.original_of, trial.family_of)
    tests = dataclasses.replace(tests, modifiers=modifiers, extra=extra)
    found = find_subgroups(trial, effects, run.subgroups, tests.detected, run.estimation.seed, run.estimation.level)
    found = candidate_subgroups(run, trial, effects, tests) + found  # pre-specified first
    found = protect_subgroups(trial, effects, found, run.report.min_cell, run.estimation.seed)
    shown = [s for s in found if not s.extra.get("too_small")]
    masked = level_mask(trial, run.report.min_cell)
    pre = prespecified_subgroups(trial, effects, run.subgroups.prespecified, run.estimation.level)
    prespecified = [dataclasses.replace(s, rule=masked(s.rule)).to_dict(run.report.min_cell) for s in pre]
    candidates = [s.to_dict(run.report.min_cell) for s in found]
    subgroups_section = {
        "method": "rules found by a shallow tree on doubly robust scores in one half, effects estimated in the other half "
        "(both directions); one hypothesis per split: a split of all patients compares the subgroup with its complement, "
        "a refinement compares it with its sibling inside the parent rule; p-values adjusted over all hypotheses by a "
        "graphical procedure (Holm among first splits; a refinement is tested only after its parent is validated)",
        "testing": TESTING_PROCEDURE,
        "conclusion": subgroup_conclusion(shown, tests.detected, run.estimation.level, hidden=len(found) - len(shown)),
        # Hypotheses with fewer than report.min_cell patients in an arm are listed apart, without rule or numbers.
        "candidates": [c for c in candidates if "too_small" not in c],
        "prespecified": [c for c in prespecified if "too_small" not in c],
        "too_small": {
            "candidates": [c for c in candidates if "too_small" in c],
            "prespecified": [c for c in prespecified if "too_small" in c],
        },
    }
    # A subgroup that cannot be named in the reports is not planned for either.
    menu, subgroup, note = plan_next_trial(run, trial, effects, shown, tests.detected)
    design_section = {
        "subgroup": subgroup.rule if subgroup is not None else None,
        "note": note,
        "status": "planning scenario from shrunken held-out estimates, adjusted for selection when validated (exploratory)",
        **(menu.to_dict() if menu is not None else {}),
        "curves": menu.curves.to_dict(orient="list") if menu is not None and menu.curves is not None else None,
    }
    results = build_results(run, trial, effects, explanation, tests, subgroups_section, design_section)
    # The parameters as reported: a pre-specified subgroup too small to report, or naming a rare level, not verbatim.
    results["params"]["subgroups"]["prespecified"] = [
        TOO_SMALL if "too_small" in c else expression if masked(s.rule) == s.rule else c["rule"]
        for expression, s, c in zip(run.subgroups.prespecified, pre, prespecified)
    ]
    return Analysis(run, trial, effects, explanation, tests, json_ready(results), tuple(found), menu)


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


def json_ready(value: Any) -> Any:
    """Plain JSON values: NaN and infinities become null (strict JSON has no NaN)."""
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def calibration_factor(tests: Heterogeneity) -> float:
    """The held-out BLP calibration slope clipped to [0, 1] (0 when it could not be estimated)."""
    slope = tests.calibration.estimate
    return float(np.clip(slope, 0.0, 1.0)) if np.isfinite(slope) else 0.0


def calibrated(tau: np.ndarray, effects: EffectModel, tests: Heterogeneity) -> np.ndarray:
    """Effect predictions pulled toward the average effect by the calibration slope (see `Analysis.calibrate`)."""
    return effects.ate.estimate + calibration_factor(tests) * (tau - float(np.mean(effects.cate)))


def most_credible_subgroup(candidates: list[Subgroup], higher_is_better: bool = True) -> Subgroup | None:
    """The rule with the smallest adjusted p (then the largest prevalence) whose patients benefit
    more than the rest, among rules covering 5-95% of patients; None if there is none."""
    sign = 1.0 if higher_is_better else -1.0
    pool = [s for s in candidates if 0.05 <= s.prevalence <= 0.95 and sign * (s.effect - s.rest_effect[0]) > 0]
    return min(pool, key=lambda s: (s.p_adjusted, -s.prevalence)) if pool else None


def plan_next_trial(
    run: RunParams, trial: TrialData, effects: EffectModel, found: list[Subgroup], detected: bool
) -> tuple[DesignMenu | None, Subgroup | None, str]:
    """Designs for the next trial in the most promising subgroup, sized from held-out estimates
    (adjusted for selection when the subgroup is validated; `Subgroup.planning_estimates`).

    The subgroup is the most credible validated rule (smallest adjusted p) whose patients benefit
    more than the rest; without a validated rule, the most credible candidate, planned as
    exploratory: the recommendation rule then gives an all-comers trial. Without any candidate, the
    menu is all-comers alone, sized on the overall estimate (the average effect; the overall Cox
    hazard ratio for time to event). The per-arm counts behind the subgroup's estimates go to the
    design, which calls the subgroup designs not estimable below `report.min_cell`.
    """
    from subgroups.design import DesignInputs, DesignSettings, plan_all_comers, plan_designs, power_assurance_curves
    from subgroups.errors import ParameterError

    # Invalid planning settings are the user's to fix: built outside the try, they stop the run.
    settings = DesignSettings(**run.trial_design.model_dump(), min_cell=max(1, run.report.min_cell))
    outcome = trial.spec.outcome
    validated = [s for s in found if s.status == "validated"]
    best = most_credible_subgroup(validated or found, outcome.higher_is_better)
    try:
        if best is None:
            why = "no candidate subgroup (prevalence 5-95%) benefits more than its complement"
            effect, se, extra = _overall_planning(run, trial, effects)
            menu = plan_all_comers(outcome.type, effect, se, settings, why=why, seed=run.estimation.seed, **extra)
            return menu, None, f"{why[0].upper()}{why[1:]}: all-comers is planned on the overall effect."
        if outcome.type == "time_to_event":
            inputs, note = _time_to_event_inputs(run, trial, effects, best, bool(detected and validated))
        else:
            note = ""
            effect, se, complement, complement_se = best.planning_estimates()
            overall, overall_se, extra = _overall_planning(run, trial, effects)
            inputs = DesignInputs(
                outcome=outcome.type,
                prevalence=best.prevalence,
                effect_subgroup=effect,
                se_subgroup=se,
                effect_complement=complement,
                se_complement=complement_se,
                effect_overall=overall,
                se_overall=overall_se,
                heterogeneity_detected=bool(detected and validated),
                estimation_counts=_estimation_counts(run, trial, effects, best),
                **extra,
            )
        menu = plan_designs(inputs, settings, seed=run.estimation.seed)
        curves = power_assurance_curves(menu, inputs, settings)
        return dataclasses.replace(menu, curves=curves), best, note
    except ParameterError as exc:
        return None, best, f"No design planned: {exc}"


def _overall_planning(run: RunParams, trial: TrialData, effects: EffectModel) -> tuple[float, float, dict[str, Any]]:
    """The overall estimate (average effect; overall log HR for time to event, confounding-adjusted in an
    observational study), its SE, and the endpoint's nuisance parameters for the design."""
    from subgroups.errors import ParameterError
    from subgroups.rules import hazard_ratios

    outcome = trial.spec.outcome
    kept = effects.analysed(trial.n)
    if outcome.type == "time_to_event":
        log_hr, se = hazard_ratios(trial, effects, None, run.estimation.seed)["overall"]
        if not np.isfinite(log_hr):
            raise ParameterError("no events in one arm overall, so no hazard ratio to plan with")
        return log_hr, se, {"event_probability": float(np.mean(trial.event[kept]))}
    Y, T = effects.outcome, trial.treatment[kept]
    extra: dict[str, Any] = {"higher_is_better": outcome.higher_is_better}
    if outcome.type == "continuous":
        extra["outcome_sd"] = float(np.sqrt((np.var(Y[T == 1], ddof=1) + np.var(Y[T == 0], ddof=1)) / 2))
    else:
        extra["control_rate"] = float(np.mean(Y[T == 0]))
    return effects.ate.estimate, effects.ate.se, extra


def _estimation_counts(run: RunParams, trial: TrialData, effects: EffectModel, best: Subgroup) -> tuple[tuple[str, int], ...]:
    """Per-arm patients (and events: outcome 1 for binary, events for time to event) in the subgroup and
    its complement among the patients their estimates come from (the half that did not find the rule)."""
    from subgroups.rules import split_halves

    kept = effects.analysed(trial.n)
    T = trial.treatment[kept]
    half = split_halves(T, run.estimation.seed)
    estimation = np.isin(half, best.estimation_halves) if best.estimation_halves else np.ones(T.size, dtype=bool)
    inside = best.contains(trial.features.loc[kept].reset_index(drop=True)).to_numpy()
    kind = trial.spec.outcome.type
    events = trial.event[kept] if kind == "time_to_event" else effects.outcome if kind == "binary" else None
    counts = []
    for where, rows in (("the subgroup", estimation & inside), ("the complement", estimation & ~inside)):
        for arm, name in ((1, "treated"), (0, "control")):
            cell = rows & (T == arm)
            counts.append((f"{name} patients in {where} (estimation half)", int(cell.sum())))
            if events is not None:
                counts.append((f"{name} events in {where} (estimation half)", int(np.sum(events[cell] == 1))))
    return tuple(counts)


def _time_to_event_inputs(run: RunParams, trial: TrialData, effects: EffectModel, best: Subgroup, detected: bool):
    """Design inputs on the hazard-ratio scale: Cox log HRs in the subgroup (held-out half), its
    complement and overall (inverse-probability weighted in an observational study), and the trial's
    share of patients with an event as the event probability."""
    from subgroups.design import DesignInputs
    from subgroups.errors import ParameterError
    from subgroups.rules import hazard_ratios

    hr = hazard_ratios(trial, effects, best, run.estimation.seed)
    if not np.isfinite(hr["overall"][0]):
        raise ParameterError("no events in one arm overall, so no hazard ratio to plan with")
    counts = _estimation_counts(run, trial, effects, best)
    note = ""
    if not (np.isfinite(hr["subgroup"][0]) and np.isfinite(hr["complement"][0])):
        # An arm without events: the design reports the subgroup designs as not estimable (its
        # counts include that zero); the overall HR stands in so that the inputs are numbers.
        hr = {**hr, "subgroup": hr["overall"], "complement": hr["overall"]}
        detected = False
    if detected and hr["subgroup"][0] >= 0:
        detected = False
        note = (
            f"The subgroup's held-out hazard ratio ({np.exp(hr['subgroup'][0]):.2f}) shows no benefit on the hazard scale, "
            "so the designs are planned as for no credible heterogeneity."
        )
    kept = effects.analysed(trial.n)
    inputs = DesignInputs(
        outcome="time_to_event",
        prevalence=best.prevalence,
        effect_subgroup=hr["subgroup"][0],
        se_subgroup=hr["subgroup"][1],
        effect_complement=hr["complement"][0],
        se_complement=hr["complement"][1],
        effect_overall=hr["overall"][0],
        se_overall=hr["overall"][1],
        heterogeneity_detected=detected,
        event_probability=float(np.mean(trial.event[kept])),
        estimation_counts=counts,
    )
    return inputs, note


TESTING_PROCEDURE = (
    "Each rule is tested on patients who were not used to find it. First, each split of all patients "
    "(a subgroup against everyone else) is tested, sharing the error rate among them; a narrower rule inside a "
    "validated subgroup is then tested only by whether it differs from the rest of that subgroup, with the error "
    "rate the validated subgroup passes on, so that the chance of any false claim stays below the stated level."
)


def subgroup_conclusion(found: list[Subgroup], detected: bool, level: float = 0.95, hidden: int = 0) -> str:
    """One sentence a scientist can act on, about the hypotheses that may be reported (`hidden`: how many may not)."""
    validated = [s for s in found if s.status == "validated"]
    if hidden and not validated and detected:
        return (
            "Heterogeneity was detected, but no reportable rule differs from its complement after multiplicity adjustment "
            f"({hidden} hypothesis(es) too small to report: fewer than report.min_cell patients in an arm); rules are exploratory."
        )
    if not detected:
        return "No credible subgroup: the heterogeneity test did not detect heterogeneity, so every rule below is exploratory."
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
            f"selection (adjusted p = {best.p_adjusted:.3g}, over every heterogeneity claim){more}."
        )
    return (
        f"Validated subgroup: {best.hypothesis} — effect {r['effect']:+.3g} "
        f"({level:.0%} CI {r['ci_low']:.3g} to {r['ci_high']:.3g}) versus {r['comparator_effect']:+.3g} "
        f"{versus}, estimated on patients not used to find the rule and adjusted for having been selected "
        f"as significant (unadjusted held-out estimate {best.effect:+.3g}; adjusted p = {best.p_adjusted:.3g}){more}."
    )


# --- results.json ------------------------------------------------------------------------------


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def git_commit() -> str | None:
    """The project's git commit when it runs from a checkout, else None."""
    try:
        here = Path(__file__).resolve().parent
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5, check=False)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def provenance(run: RunParams, trial: TrialData) -> dict[str, Any]:
    return {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "data_source": trial.source,
        "data_sha256": trial.fingerprint,
        "seed": run.estimation.seed,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
    }


def build_results(
    run: RunParams,
    trial: TrialData,
    effects: EffectModel,
    explanation: Explanation,
    tests: Heterogeneity,
    subgroups: dict[str, Any],
    design: dict[str, Any],
) -> dict[str, Any]:
    """Every headline number of the analysis, JSON-ready; counts below `report.min_cell` suppressed."""
    min_cell = run.report.min_cell
    treated, control = trial.arm_labels
    n_treated, n_control = int(trial.treatment.sum()), int((1 - trial.treatment).sum())
    ate = effects.ate.to_dict()
    # The data's n is shown: an analysed n that differs from it by a few trimmed patients would give them away.
    ate["n"] = suppress_part(ate["n"], trial.n, min_cell)
    randomization = check_randomization(trial, min_cell, run.estimation.seed) if run.data.study == "rct" else None
    ate["status"] = "confirmatory" if randomization is not None and not randomization.failed else "exploratory"
    ate["status_reason"] = (
        "observational data: every estimate assumes no unmeasured confounding (all common causes of treatment and "
        "outcome are among the features), which the data cannot confirm"
        if randomization is None
        else "randomization check failed: the data contradict the declared randomization; see the data audit"
        if randomization.failed
        else "randomized comparison of the two arms over all analysed patients"
    )
    if trial.spec.outcome.type == "time_to_event":
        from subgroups import outcomes

        # The absolute effect's unit and horizon, and the hazard ratio as a secondary summary
        # (inverse-probability weighted with the cross-fitted propensity in observational data).
        kept = effects.analysed(trial.n)
        ate["unit"] = trial.spec.outcome.time_unit if trial.spec.outcome.estimand == "rmst" else None
        ate["horizon"] = outcomes.trial_horizon(trial, min_cell).to_dict(min_cell)
        ate["hazard_ratio"] = outcomes.hazard_ratio(
            trial.outcome[kept],
            trial.event[kept],
            trial.treatment[kept],
            propensity=effects.propensity if run.data.study == "observational" else None,
            level=run.estimation.level,
        )
    return {
        "schema_version": SCHEMA_VERSION,
        "name": run.name,
        "provenance": provenance(run, trial),
        "params": run.to_dict(),
        "data": {
            "n": suppress_count(trial.n, min_cell),
            # Rows read minus rows analysed would give a small number of excluded rows away: then not shown.
            "n_read": suppress_total(trial.n_read, trial.n, min_cell),
            "arms": {"treated": treated, "control": control},
            # The variable dictionary (data.labels, else the files' labels) and the arms' display names, as the pages show them.
            "labels": {name: {"label": text, "unit": trial.units.get(name)} for name, text in trial.labels.items()},
            "arm_names": dict(zip(("treated", "control"), trial.arm_names)),
            "n_treated": suppress_count(n_treated, min_cell),
            "n_control": suppress_count(n_control, min_cell),
            "dropped": suppress_reasons(trial.dropped, min_cell),
            "outcome": {
                "type": trial.spec.outcome.type,
                "name": trial.spec.outcome.name,
                "higher_is_better": trial.spec.outcome.higher_is_better,
            },
            "study": run.data.study,
            "features": {fam: list(names) for fam, names in trial.families.items()},
        },
        "audit": {"randomization": None if randomization is None else randomization.to_dict(min_cell)},
        "ate": ate,
        "effects": {
            "learner_requested": effects.learner,
            "learner_used": effects.chosen,
            "candidates": effects.candidates.to_dict(orient="records"),
            "selection": "per fold, the candidate with the smallest held-out DR-loss on the other folds",
            "per_patient": "out-of-fold (cross-fitted) estimates, out-of-bag for the causal forest; never shown patient by patient",
            "cate_sd": float(np.std(effects.cate)),
            "calibrated": {
                "what": "per-patient effects as returned by Analysis.effect: average effect + s × (model prediction − its "
                "mean), s = the held-out BLP calibration slope clipped to [0, 1], the share of the model's spread the "
                "calibration test finds real",
                "slope_applied": calibration_factor(tests),
                "cate_sd": float(np.std(calibrated(effects.cate, effects, tests))),
            },
            "n_analysed": suppress_count(effects.cate.size, min_cell),
            "n_trimmed": suppress_count(int(effects.retained.size - effects.retained.sum()), min_cell),
            "scale": effects.scale,
            "overlap": overlap_summary(effects, trial.treatment, run.data.study, run.estimation.trim, min_cell),
            "status": "exploratory",
        },
        "heterogeneity": tests.to_dict(),
        "importance": explanation.to_dict(),
        "subgroups": subgroups,
        "design": design,
    }
