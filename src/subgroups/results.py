"""results.json as typed, frozen sections (pydantic): built from one analysis, versioned, and the JSON Schema they define.

Each section is a frozen model with `to_dict()`; `build_results` assembles them and returns the plain
dictionary `results.json` holds. The committed schema file (`schema/results.schema.json`) is
`results_schema()`; after changing a model, regenerate it with::

    python -m subgroups.schema --write-schema

and raise `SCHEMA_VERSION` when a reader of the old file could misread the new one.
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, WithJsonSchema, model_validator

from subgroups.audit import RandomizationCheck as RandomizationResult
from subgroups.audit import check_randomization
from subgroups.calibration import calibrated, calibration_factor
from subgroups.data import TrialData
from subgroups.design import DesignMenu
from subgroups.design.menu import FindingKind, RuleId
from subgroups.effects import EffectModel, overlap_summary
from subgroups.explain import Explanation
from subgroups.heterogeneity import Heterogeneity
from subgroups.params import RunParams
from subgroups.privacy import (
    SUPPRESSED_TEXT,
    count_text,
    suppress_count,
    suppress_part,
    suppress_reasons,
    suppress_total,
)
from subgroups.provenance import Provenance, provenance

SCHEMA_VERSION = 2  # 2: counts are records (value, suppressed flag, shown text), not a number or a text
SCHEMA_FILE = ("schema", "results.schema.json")  # inside the package (package data)

# --- value types ---------------------------------------------------------------------------------

# A number as computed: an int stays an int (the JSON text is what it was before the models), so the
# schema says "number" for both.
Number = Annotated[int | float, WithJsonSchema({"type": "number"})]
# A computed statistic: null where it is not finite (NaN, ±inf), since strict JSON has neither.
Statistic = Number | None


class Section(BaseModel):
    """A part of results.json whose structure is fixed: frozen, strict types, no unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    def to_dict(self) -> dict[str, Any]:
        """The section as results.json holds it (keys that were absent stay absent)."""
        return self.model_dump(mode="json", exclude_unset=True)


class CountRecord(Section):
    """A count of patients (or events) under the small-cell policy of `subgroups.privacy`."""

    value: Annotated[int, Field(ge=0)] | None = Field(description="the count; null when the policy hides it")
    suppressed: bool = Field(description="true when the small-cell policy hides the count")
    shown: str = Field(
        description='what every page prints: the count with thousands separators, "<m" (1 to m - 1, '
        'm = report.min_cell) or "suppressed" (a larger count hidden so that a small one cannot be recovered)'
    )

    @model_validator(mode="after")
    def _consistent(self) -> CountRecord:
        if self.suppressed != (self.value is None):
            raise ValueError("a count is either shown (value set, suppressed false) or hidden (value null, suppressed true)")
        if not self.suppressed and self.shown != count_text(self.value):
            raise ValueError(f"shown={self.shown!r} is not the count {self.value}")
        if self.suppressed and not SUPPRESSED_TEXT.fullmatch(self.shown):
            raise ValueError(f'shown={self.shown!r} of a hidden count is neither "<m" nor "suppressed"')
        return self


#: Validation context of the builders below: counts arrive as the analysis computes them.
COMPUTED = {"computed_counts": True}


def _count_record(value: Any, info: ValidationInfo) -> Any:
    """When building (context `COMPUTED`): a count as the analysis computes it (an integer, or the text
    "<m" / "suppressed" that hides it) as a `CountRecord`. Reading results.json, only records fit."""
    if not (info.context or {}).get("computed_counts"):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return {"value": int(value), "suppressed": False, "shown": count_text(int(value))}
    if isinstance(value, str):
        return {"value": None, "suppressed": True, "shown": value}
    return value


# A count in results.json: `{"value": 1054, "suppressed": false, "shown": "1,054"}` or
# `{"value": null, "suppressed": true, "shown": "<10"}`; `privacy.count_value` and `privacy.count_text`
# read either form.
Count = Annotated[CountRecord, BeforeValidator(_count_record)]


# --- data and audit ------------------------------------------------------------------------------


class Arms(Section):
    treated: str
    control: str


class VariableLabel(Section):
    label: str
    unit: str | None


class OutcomeSummary(Section):
    type: Literal["continuous", "binary", "time_to_event"]
    name: str
    higher_is_better: bool


class DataSection(Section):
    """The analysed patients: counts (suppressed below `report.min_cell`), arms, outcome and features by family."""

    n: Count
    n_read: Count = Field(description="rows read; hidden when rows read minus rows analysed is a small count")
    arms: Arms = Field(description="the arms' values in the data")
    labels: dict[str, VariableLabel] = Field(description="the variable dictionary (data.labels, else the files' labels)")
    arm_names: Arms = Field(description="the arms' display names")
    n_treated: Count
    n_control: Count
    dropped: dict[str, Count] = Field(description="rows excluded, by reason")
    outcome: OutcomeSummary
    study: Literal["rct", "observational"]
    features: dict[str, list[str]] = Field(description="analysed features by family")
    notes: list[str] = Field(
        default_factory=list,
        description="warnings about the input, as the reports state them (counts suppressed, no row numbers)",
    )


class AllocationCheck(Section):
    declared: str
    declared_by: str
    declared_share_treated: Number
    observed_share_treated: Statistic
    test: str
    p_value: Statistic


class BalanceCheck(Section):
    test: str
    statistic: Statistic
    statistic_expected: Statistic = Field(
        default=None,
        description="the statistic's mean under randomization (F-test: df₂ / (df₂ − 2); permutation test: n / (n − 1) · (1/n₁ + 1/n₀))",
    )
    df: list[Number] | None
    p_value: Statistic
    c_statistic: Statistic
    c_statistic_meaning: str


class Imbalance(Section):
    feature: str
    level: str
    smd: Statistic


class RandomizationCheck(Section):
    passed: bool
    threshold: Number
    allocation: AllocationCheck
    balance: BalanceCheck
    worst: list[Imbalance]
    message: str | None


class AuditSection(Section):
    randomization: RandomizationCheck | None = Field(description="the randomization check; null for observational data")


# --- average effect and effect model -------------------------------------------------------------


class Horizon(Section):
    value: Number
    unit: str
    kind: str
    source: str
    rule: str
    at_risk: dict[str, Count]


class HazardRatio(Section):
    estimate: Statistic
    ci_low: Statistic
    ci_high: Statistic
    ci_level: Number
    log_hr: Statistic
    se: Statistic
    method: str


class AverageEffectSection(Section):
    """The average effect over the analysed patients on `scale`, with its confirmatory status."""

    estimate: Statistic
    se: Statistic
    ci_low: Statistic
    ci_high: Statistic
    ci_level: Number
    p_value: Statistic
    n: Count
    scale: str
    estimand: str
    method: str
    status: Literal["confirmatory", "exploratory"]
    status_reason: str
    # Time to event only (absent otherwise): the effect's unit (RMST), its horizon, the hazard ratio.
    unit: str | None = None
    horizon: Horizon | None = None
    hazard_ratio: HazardRatio | None = None


class LearnerCandidate(Section):
    learner: str
    dr_loss: Statistic
    r_loss: Statistic
    folds_chosen: int


class CalibratedEffects(Section):
    what: str
    slope_applied: Number
    cate_sd: Statistic


class KnownPropensity(Section):
    study: Literal["rct", "observational"]
    propensity: str
    probability: Statistic
    warning: str | None


class EstimatedPropensity(Section):
    study: Literal["rct", "observational"]
    propensity: str
    trim: list[Number]
    n_trimmed: Count
    share_trimmed: Statistic
    quantiles_by_arm: dict[str, dict[str, Number]]
    c_statistic: Statistic
    warning: str | None


class EffectsSection(Section):
    """How the per-patient effects were estimated, and their (aggregate) spread."""

    learner_requested: str
    learner_used: str
    candidates: list[LearnerCandidate]
    selection: str
    per_patient: str
    cate_sd: Statistic
    calibrated: CalibratedEffects
    n_analysed: Count
    n_trimmed: Count
    scale: str
    overlap: KnownPropensity | EstimatedPropensity
    status: Literal["exploratory"]


# --- heterogeneity and importance ----------------------------------------------------------------


class HypothesisTest(Section):
    estimate: Statistic
    se: Statistic
    p_value: Statistic
    alternative: str
    meaning: str


class CandidateTest(HypothesisTest):
    name: str


class DescriptiveSlope(HypothesisTest):
    status: str


class MaxTColumn(Section):
    column: str
    feature: str
    t: Statistic
    p_adjusted: Statistic


class MaxTTest(HypothesisTest):
    """The per-feature max-T test of the decision rule; `columns`: the ten with the smallest adjusted p."""

    columns: list[MaxTColumn]
    n_columns: int


class Claim(Section):
    claim: str
    origin: str
    p_value: Statistic
    p_adjusted: Statistic
    alpha_start: Statistic = None  # the claim's share of alpha under the decision rule, before any is passed on
    alternative: str
    rejected: bool


class TargetingCurve(Section):
    """The targeting operator characteristic: extra effect (benefit) among the top q of held-out patients ranked by
    predicted benefit."""

    q: list[Number]
    toc: list[Statistic]
    ci_low: list[Statistic]
    ci_high: list[Statistic]
    n_top: list[int]
    measure: str = Field(
        default="effect",
        description='"effect", or "benefit (-1 x effect; lower outcomes are better)": the scale of toc and its CI',
    )


class ModifierTest(Section):
    feature: str
    family: str
    columns: int
    slope_per_sd: Statistic
    se: Statistic
    p_value: Statistic
    p_holm: Statistic


class Modifiers(Section):
    method: str
    status: str
    scale: str
    table: list[ModifierTest]


class HeterogeneitySection(Section):
    """The confirmatory decision on heterogeneity (held-out BLP calibration slope and per-feature max-T, with any
    pre-specified candidates, by weighted Holm; `p_value` is the decision's) and supporting tests."""

    detected: bool
    alpha: Number
    scale: str
    primary_test: str
    p_value: Statistic
    decision: str
    calibration: HypothesisTest
    reported_calibration: DescriptiveSlope | None = None  # the slope that calibrates the reported effects (not a test)
    mean_forecast: HypothesisTest
    autoc: HypothesisTest
    qini: HypothesisTest
    extra: dict[str, HypothesisTest]
    toc: TargetingCurve
    modifiers: Modifiers | None
    max_t: MaxTTest | None
    candidates: list[CandidateTest]
    candidate_share: Statistic
    claims: list[Claim]
    status: str


class CorrelatedPair(Section):
    features: list[str]
    r: Statistic


class ImportanceSection(Section):
    """Mean |SHAP| of the effect model per feature and family (exploratory)."""

    by_feature: dict[str, Statistic]
    by_family: dict[str, Statistic]
    share_by_feature: dict[str, Statistic]
    rows_used: int
    rows_total: int
    approximation_gap_mean_abs: Statistic
    approximation_gap_relative_to_effect_sd: Statistic
    surrogate_r2: Statistic
    method: str
    direction: dict[str, Statistic]
    correlated: list[CorrelatedPair]
    status: Literal["exploratory"]


# --- subgroups -----------------------------------------------------------------------------------

SUBGROUP_METHOD = (
    "rules found by a shallow tree on doubly robust scores in one half, effects estimated in the other half "
    "(both directions); one hypothesis per split: a split of all patients compares the subgroup with its complement, "
    "a refinement compares it with its sibling inside the parent rule; p-values adjusted over all hypotheses by a "
    "graphical procedure (Holm among first splits; a refinement is tested only after its parent is validated)"
)
TESTING_PROCEDURE = (
    "Each rule is tested on patients who were not used to find it. First, each split of all patients "
    "(a subgroup against everyone else) is tested, sharing the error rate among them; a narrower rule inside a "
    "validated subgroup is then tested only by whether it differs from the rest of that subgroup, with the error "
    "rate the validated subgroup passes on, so that the chance of any false claim stays below the stated level."
)


class ReportedEstimate(Section):
    """The one estimator every page, figure and the index show for a hypothesis (`estimator` says which)."""

    estimator: str
    effect: Statistic
    ci_low: Statistic
    ci_high: Statistic
    comparator_effect: Statistic
    comparator_ci_low: Statistic
    comparator_ci_high: Statistic
    difference: Statistic
    difference_ci_low: Statistic
    difference_ci_high: Statistic


class SelectionAdjusted(Section):
    what: str
    required_abs_z: Statistic
    effect: Statistic
    ci_low: Statistic
    ci_high: Statistic
    complement_effect: Statistic
    difference: Statistic
    difference_ci_low: Statistic
    difference_ci_high: Statistic


class SubgroupRecord(Section):
    """A reported subgroup hypothesis: the subgroup against its comparator."""

    rule: str
    hypothesis: str
    comparator: str
    parent: str | None
    level: int
    reported: ReportedEstimate
    effect: Statistic
    ci_low: Statistic
    ci_high: Statistic
    se: Statistic
    complement_effect: Statistic
    complement_ci_low: Statistic
    complement_ci_high: Statistic
    difference: Statistic
    difference_ci_low: Statistic
    difference_ci_high: Statistic
    rest_effect: Statistic
    rest_se: Statistic
    p_value: Statistic
    p_adjusted: Statistic
    adjustment: str
    shrunken_effect: Statistic
    shrunken_se: Statistic
    prevalence: Statistic
    n_treated: Count
    n_control: Count
    events_treated: Count | None = Field(description="events (outcome 1, or events for time to event); null otherwise")
    events_control: Count | None
    found_on: str
    estimated_on: str
    status: Literal["validated", "exploratory", "pre-specified"]
    scale: str
    selection_adjusted: SelectionAdjusted | None


class TooSmallRecord(Section):
    """A hypothesis too small to report: that it exists, how it was found and its status; nothing else."""

    rule: Literal["too small to report"]
    hypothesis: Literal["too small to report"]
    too_small: str = Field(description="why it may not be reported")
    level: int
    found_on: str
    status: str


class TooSmall(Section):
    candidates: list[TooSmallRecord]
    prespecified: list[TooSmallRecord]


class SubgroupsSection(Section):
    """Subgroup hypotheses: discovered (validated first) and pre-specified; those too small to report apart."""

    method: str
    testing: str
    conclusion: str
    candidates: list[SubgroupRecord]
    prespecified: list[SubgroupRecord]
    too_small: TooSmall


def subgroups_section(conclusion: str, candidates: list[dict[str, Any]], prespecified: list[dict[str, Any]]) -> SubgroupsSection:
    """The subgroups section from the hypotheses' records (`Subgroup.to_dict`): those with fewer than
    `report.min_cell` patients in an arm (a `too_small` key) are listed apart, without rule or numbers."""
    return _computed(
        SubgroupsSection,
        (
            {
                "method": SUBGROUP_METHOD,
                "testing": TESTING_PROCEDURE,
                "conclusion": conclusion,
                "candidates": [c for c in candidates if "too_small" not in c],
                "prespecified": [c for c in prespecified if "too_small" not in c],
                "too_small": {
                    "candidates": [c for c in candidates if "too_small" in c],
                    "prespecified": [c for c in prespecified if "too_small" in c],
                },
            }
        ),
    )


# --- design --------------------------------------------------------------------------------------

DESIGN_STATUS = "planning scenario from shrunken held-out estimates, adjusted for selection when validated (exploratory)"


class DesignCurves(Section):
    """Power and assurance against the number randomized, per design (long format)."""

    design: list[str]
    n_randomized: list[int]
    power: list[Statistic]
    assurance: list[Statistic]


# A fact behind a finding. The facts differ by kind (`subgroups.design.recommend` states them and
# `subgroups.narrative.recommendation` words them, one sentence per kind, the facts as its parameters),
# so here they are typed by shape: a number (null where not finite), a text (a design key or title, a
# method, a reason code), a flag, or one level of lists and records of these (a design's size, the
# prevalence range, the alpha splits tried).
FactValue = Statistic | str | bool
Fact = FactValue | list[FactValue] | dict[str, FactValue] | list[dict[str, FactValue]]


class DecisionFinding(Section):
    """One statement behind the recommendation (`design.Finding`): its kind and the facts it rests on."""

    kind: FindingKind
    facts: dict[str, Fact]


class DesignDecision(Section):
    """The structured recommendation (`design.Recommendation`): the design, the rule that chose it, its findings."""

    design: str = Field(description="registry key of the recommended design (the section's `recommended`)")
    rule: RuleId
    findings: list[DecisionFinding] = Field(description="the decisive finding, cautions, then context: one reason each")


class NoDesign(Section):
    """The design section when no design could be planned (`note` says why)."""

    subgroup: str | None
    note: str
    status: str
    curves: None


class PlannedDesign(Section):
    """The design menu for the next trial (`design.DesignMenu`), for `subgroup` (null: all-comers only)."""

    subgroup: str | None
    note: str
    status: str
    prevalence: Statistic
    planning_effect_subgroup: Statistic
    planning_effect_complement: Statistic
    planning_effect_overall: Statistic
    planning_sd_subgroup: Statistic
    planning_sd_complement: Statistic
    planning_sd_overall: Statistic
    probability_complement_benefit: Statistic
    probability_complement_relevant: Statistic
    enrichment_ratio_randomized: Statistic
    enrichment_ratio_screened: Statistic
    tau2: Statistic
    # Free-form here: one `design.DesignOption.to_dict()` per design (D1-D5); the design package owns its fields.
    options: list[dict[str, Any]]
    recommended: str
    reasons: list[str]
    outcome: str
    decision: DesignDecision | None = Field(description="the decision the reasons are written from; null if not recorded")
    curves: DesignCurves | None


def design_section(menu: DesignMenu | None, subgroup: str | None, note: str) -> PlannedDesign | NoDesign:
    """The design section: the menu planned for `subgroup`, or why none was planned."""
    head = {"subgroup": subgroup, "note": note, "status": DESIGN_STATUS}
    if menu is None:
        return NoDesign.model_validate({**head, "curves": None})
    curves = menu.curves.to_dict(orient="list") if menu.curves is not None else None
    return _computed(PlannedDesign, {**head, **menu.to_dict(), "curves": curves})


# --- results.json --------------------------------------------------------------------------------


class Results(Section):
    """Everything results.json holds, section by section (`schema_version` names this structure)."""

    model_config = ConfigDict(title="subgroups results.json")

    schema_version: Literal[2]
    name: str
    provenance: Provenance
    # Free-form here: the run's parameters as reported (`RunParams.to_dict()`, pre-specified subgroups too small to
    # report or naming a rare level not verbatim); `subgroups.params.RunParams` is their schema.
    params: dict[str, Any]
    data: DataSection
    audit: AuditSection
    ate: AverageEffectSection
    effects: EffectsSection
    heterogeneity: HeterogeneitySection
    importance: ImportanceSection
    subgroups: SubgroupsSection
    design: PlannedDesign | NoDesign


SectionT = TypeVar("SectionT", bound=Section)


def _computed(model: type[SectionT], value: Any) -> SectionT:
    """A section from what the analysis computed (numpy values made plain; counts become records)."""
    return model.model_validate(json_ready(value), context=COMPUTED)


def build_results(
    run: RunParams,
    trial: TrialData,
    effects: EffectModel,
    explanation: Explanation,
    tests: Heterogeneity,
    subgroups: SubgroupsSection | dict[str, Any],
    design: PlannedDesign | NoDesign | dict[str, Any],
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every headline number of the analysis, JSON-ready; counts below `report.min_cell` suppressed.

    `params`: the parameters as reported (default `run.to_dict()`).
    """
    randomization = check_randomization(trial, run.report.min_cell, run.estimation.seed) if run.data.study == "rct" else None
    return Results(
        schema_version=SCHEMA_VERSION,
        name=run.name,
        provenance=provenance(run, trial),
        params=json_ready(run.to_dict() if params is None else params),
        data=data_section(run, trial),
        audit=audit_section(run, randomization),
        ate=ate_section(run, trial, effects, randomization),
        effects=effects_section(run, trial, effects, tests),
        heterogeneity=_computed(HeterogeneitySection, tests.to_dict()),
        importance=_computed(ImportanceSection, explanation.to_dict()),
        subgroups=subgroups if isinstance(subgroups, Section) else _computed(SubgroupsSection, subgroups),
        design=design if isinstance(design, Section) else json_ready(design),
    ).to_dict()


def data_section(run: RunParams, trial: TrialData) -> DataSection:
    min_cell = run.report.min_cell
    treated, control = trial.arm_labels
    n_treated, n_control = int(trial.treatment.sum()), int((1 - trial.treatment).sum())
    section = {
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
        "notes": input_notes(trial, min_cell),
    }
    return _computed(DataSection, section)


def input_notes(trial: TrialData, min_cell: int) -> list[str]:
    """The warnings about the input as a report may state them: repeated rows and far outcome values as (suppressed)
    counts without row numbers or values, an undeclared time unit."""
    from subgroups.data import time_unit_note
    from subgroups.privacy import count_text

    notes = []
    if trial.repeated_rows:
        apart = " apart from the id" if trial.spec.id_column else ""
        notes.append(
            f"{count_text(suppress_count(trial.repeated_rows, min_cell))} of the rows read repeat an earlier row exactly"
            f"{apart}: possibly double entry; they were analysed as separate patients"
        )
    if trial.far_outcomes:
        from subgroups.data import FAR_IQRS

        notes.append(
            f"{count_text(suppress_count(trial.far_outcomes, min_cell))} value(s) of the outcome lie more than {FAR_IQRS} "
            "interquartile ranges from its median: possibly entry or unit errors; they were analysed as recorded"
        )
    if (unit := time_unit_note(trial.spec)) is not None:
        notes.append(unit)
    return notes


def audit_section(run: RunParams, randomization: RandomizationResult | None) -> AuditSection:
    shown = None if randomization is None else randomization.to_dict(run.report.min_cell)
    return _computed(AuditSection, {"randomization": shown})


def ate_section(
    run: RunParams, trial: TrialData, effects: EffectModel, randomization: RandomizationResult | None
) -> AverageEffectSection:
    """The average effect; confirmatory only in a randomized trial whose randomization check passed."""
    min_cell = run.report.min_cell
    ate = effects.ate.to_dict()
    # The data's n is shown: an analysed n that differs from it by a few trimmed patients would give them away.
    ate["n"] = suppress_part(ate["n"], trial.n, min_cell)
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
        ate["unit"] = trial.spec.outcome.unit_of_time if trial.spec.outcome.estimand == "rmst" else None
        ate["horizon"] = outcomes.trial_horizon(trial, min_cell).to_dict(min_cell)
        ate["hazard_ratio"] = outcomes.hazard_ratio(
            trial.outcome[kept],
            trial.event[kept],
            trial.treatment[kept],
            propensity=effects.propensity if run.data.study == "observational" else None,
            level=run.estimation.level,
        )
    return _computed(AverageEffectSection, ate)


def effects_section(run: RunParams, trial: TrialData, effects: EffectModel, tests: Heterogeneity) -> EffectsSection:
    min_cell = run.report.min_cell
    section = {
        "learner_requested": effects.learner,
        "learner_used": effects.chosen,
        "candidates": effects.candidates.to_dict(orient="records"),
        "selection": "per fold, the candidate with the smallest held-out DR-loss on the other folds",
        "per_patient": "out-of-fold (cross-fitted) estimates, out-of-bag for the causal forest; never shown patient by patient",
        "cate_sd": float(np.std(effects.cate)),
        "calibrated": {
            "what": "per-patient effects as returned by Analysis.effect: average effect + s × (model prediction − its "
            "mean), s = the posterior mean of the BLP calibration slope of the held-out (cross-fitted) predictions "
            "(prior: 0 with probability 0.5, else uniform on [0, 2]; the estimate normal with its SE), clipped to [0, 1], the share of the "
            "model's spread the held-out scores support (the heterogeneity test itself uses forward predictions)",
            "slope_applied": calibration_factor(tests),
            "cate_sd": float(np.std(calibrated(effects.cate, effects, tests))),
        },
        "n_analysed": suppress_count(effects.cate.size, min_cell),
        "n_trimmed": suppress_count(int(effects.retained.size - effects.retained.sum()), min_cell),
        "scale": effects.scale,
        "overlap": overlap_summary(effects, trial.treatment, run.data.study, run.estimation.trim, min_cell),
        "status": "exploratory",
    }
    return _computed(EffectsSection, section)


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


def read_results(results: dict[str, Any]) -> Results:
    """A results.json dictionary as typed sections (a `pydantic.ValidationError` says what does not fit)."""
    return Results.model_validate(results)


# --- the JSON Schema -----------------------------------------------------------------------------


def results_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of results.json, as the models define it."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **Results.model_json_schema()}


def schema_text() -> str:
    """`results_schema()` as the committed file holds it."""
    return json.dumps(results_schema(), indent=2, ensure_ascii=False) + "\n"


def committed_schema() -> dict[str, Any]:
    """The schema file shipped with the package (`schema/results.schema.json`)."""
    return json.loads(importlib.resources.files("subgroups").joinpath(*SCHEMA_FILE).read_text(encoding="utf-8"))


def write_schema(path: str | Path | None = None) -> Path:
    """Write `results_schema()` to `path` (default: the package's schema file in this source tree)."""
    target = Path(path) if path is not None else Path(__file__).resolve().parent.joinpath(*SCHEMA_FILE)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(schema_text(), encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> None:
    """`python -m subgroups.schema`: print the schema, or write it (`--write-schema [PATH]`)."""
    parser = argparse.ArgumentParser(prog="python -m subgroups.schema", description="The JSON Schema of results.json.")
    parser.add_argument("--write-schema", nargs="?", const="", metavar="PATH", help="write it (default: the package's file)")
    args = parser.parse_args(argv)
    if args.write_schema is None:
        print(schema_text(), end="")
    else:
        print(write_schema(args.write_schema or None))
