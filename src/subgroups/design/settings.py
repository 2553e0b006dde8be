"""The inputs and settings of the planning: :class:`DesignInputs` (what the discovery analysis says about
the subgroup, on the outcome's scale), :class:`RecommendationRule` (the tunable thresholds of the
recommendation) and :class:`DesignSettings` (alpha, power, allocation, the assay, costs, the options
of each design, shrinkage and the recommendation rule), each checked when built.

`DesignSettings` is the one settings model (pydantic, frozen): its first settings,
:class:`TrialDesignParams`, are the ``trial_design:`` section of a run's parameters
(`subgroups.params`), so a YAML file and the design accept the same values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from numbers import Real
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from subgroups.design.checks import (
    _OUTCOMES,
    AlphaSplitMethod,
    IntersectionTest,
    OutcomeType,
    _check_positive,
    _check_power,
    _check_probability,
)
from subgroups.design.multiplicity import _MAST_LEVELS
from subgroups.errors import ParameterError


@dataclass(frozen=True)
class DesignInputs:
    """What the discovery analysis says about the subgroup, on the outcome's scale.

    Attributes
    ----------
    outcome : {"continuous", "binary", "time_to_event"}
        Endpoint of the next trial.
    prevalence : float
        Prevalence pi of the subgroup S among patients who would be screened.
    effect_subgroup, se_subgroup : float
        Effect in S and its standard error (difference in means, risk difference, or log HR
        with negative = benefit). Prefer honest (held-out) estimates: a subgroup found by
        searching has an optimistic in-sample estimate.
    effect_complement, se_complement : float
        Effect in the complement Sc and its standard error.
    effect_overall, se_overall : float
        Effect in the whole population F and its standard error.
    heterogeneity_detected : bool
        Whether the heterogeneity analysis found credible effect heterogeneity (and a validated
        subgroup). Without it every design is planned on the overall effect (complete pooling:
        subgroup and complement share it), the recommendation is all-comers, and the subgroup
        estimate may show no benefit. With it the subgroup effect must show a benefit.
    outcome_sd : float, optional
        Outcome standard deviation (continuous; required).
    control_rate : float, optional
        Control-arm response probability (binary; required), assumed equal in S and Sc.
    event_probability : float, optional
        Probability that a randomized patient has an event by the analysis (time to event;
        required; see :func:`event_probability`), assumed equal in S and Sc so that the event
        share of S is pi.
    higher_is_better : bool
        For continuous and binary outcomes: whether a higher outcome is a benefit. Ignored for
        time to event (a lower hazard is a benefit).
    estimation_counts : tuple of (str, int)
        Per-arm counts behind the subgroup and complement estimates, labelled, e.g.
        ``(("treated events in the subgroup", 7), ...)``: patients, and events for binary and
        time-to-event outcomes, among the patients the estimates come from (the estimation half).
        A count below ``DesignSettings.min_cell`` makes the subgroup designs "not estimable".
    """

    outcome: OutcomeType
    prevalence: float
    effect_subgroup: float
    se_subgroup: float
    effect_complement: float
    se_complement: float
    effect_overall: float
    se_overall: float
    heterogeneity_detected: bool
    outcome_sd: float | None = None
    control_rate: float | None = None
    event_probability: float | None = None
    higher_is_better: bool = True
    estimation_counts: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        for label, count in self.estimation_counts:
            if not (isinstance(count, Real) and count >= 0 and float(count).is_integer()):
                raise ParameterError(f"estimation_counts: {label!r} = {count!r} is not a count; pass whole numbers >= 0")
        if self.outcome not in _OUTCOMES:
            raise ParameterError(f"outcome={self.outcome!r} is not one of {_OUTCOMES}; pick the endpoint type")
        _check_probability(self.prevalence, "prevalence", "the share of screened patients in the subgroup, e.g. 0.3")
        for name in ("effect_subgroup", "effect_complement", "effect_overall"):
            value = getattr(self, name)
            if not (isinstance(value, Real) and math.isfinite(value)):
                raise ParameterError(f"{name}={value!r} is not a finite number; pass the estimate")
        for name in ("se_subgroup", "se_complement", "se_overall"):
            _check_positive(getattr(self, name), name, "the standard error of the estimate")
        sign = self.benefit_sign
        if self.outcome == "continuous":
            if self.outcome_sd is None:
                raise ParameterError(
                    "outcome_sd=None: a continuous outcome needs its standard deviation; "
                    "pass outcome_sd (e.g. the pooled SD of the discovery trial)"
                )
            if not (isinstance(self.outcome_sd, Real) and self.outcome_sd > 0):
                raise ParameterError(f"outcome_sd={self.outcome_sd!r} must be positive; pass the outcome's standard deviation")
        if self.outcome == "binary":
            if self.control_rate is None:
                raise ParameterError(
                    "control_rate=None: a binary outcome needs the control response probability; pass control_rate, e.g. 0.2"
                )
            _check_probability(self.control_rate, "control_rate", "the control response rate")
            for name in ("effect_subgroup", "effect_complement", "effect_overall"):
                p = self.control_rate + getattr(self, name)
                if not 0 < p < 1:
                    raise ParameterError(
                        f"{name}={getattr(self, name)!r} with control_rate={self.control_rate!r} "
                        f"gives a treated response probability of {p:.3f}, outside (0, 1); "
                        "pass a risk difference"
                    )
        if self.outcome == "time_to_event":
            if self.event_probability is None:
                raise ParameterError(
                    "event_probability=None: a time-to-event design converts events to patients; "
                    "pass the probability of an event by the analysis, e.g. 0.6"
                )
            _check_probability(
                self.event_probability,
                "event_probability",
                "an event probability, e.g. 0.6",
                allow_one=True,
            )
            if self.heterogeneity_detected and self.effect_subgroup >= 0:
                raise ParameterError(
                    f"effect_subgroup={self.effect_subgroup!r} is a log hazard ratio >= 0 "
                    f"(HR {math.exp(self.effect_subgroup):.2f}, no benefit); pass log(HR) with "
                    "negative = benefit, e.g. log(0.6) = -0.51"
                )
        elif self.heterogeneity_detected and sign * self.effect_subgroup <= 0:
            direction = "positive" if self.higher_is_better else "negative"
            raise ParameterError(
                f"effect_subgroup={self.effect_subgroup!r} shows no benefit in the subgroup; "
                f"a subgroup-targeted trial needs a {direction} planning effect (or set "
                "higher_is_better to match the outcome)"
            )

    @property
    def benefit_sign(self) -> float:
        """+1 if a larger effect is a benefit, -1 otherwise (log HR, lower-is-better)."""
        if self.outcome == "time_to_event" or not self.higher_is_better:
            return -1.0
        return 1.0


@dataclass(frozen=True)
class RecommendationRule:
    """Thresholds of the recommendation (`subgroups.design.recommend`). Tunable defaults, not
    published constants.

    Attributes
    ----------
    complement_relevant_fraction : float
        The complement "benefits" if its effect is at least this fraction of the subgroup
        effect (used by both the enrichment and the all-comers rule).
    complement_min_effect : float, optional
        Absolute smallest relevant effect in the complement for the enrichment rule, on the
        outcome's scale (log HR for time to event). ``None``: the fraction above.
    enrichment_max_probability : float
        Enrich when P(complement benefits) is below this (rule 2).
    all_comers_min_probability : float
        All-comers when P(complement effect >= fraction x subgroup effect) exceeds this
        (rule 3: little heterogeneity).
    adaptive_prevalence_min, adaptive_prevalence_max : float
        Prevalence range where adaptive enrichment is offered (rule 4).
    adaptive_max_endpoint_delay : float
        Adaptive enrichment needs the interim endpoint quickly: time to observe it as a
        fraction of the accrual period at most this.
    min_assay_accuracy : float
        Sensitivity and specificity an assay needs before enrichment is recommended.
    """

    complement_relevant_fraction: float = 0.5
    complement_min_effect: float | None = None
    enrichment_max_probability: float = 0.1
    all_comers_min_probability: float = 0.7
    adaptive_prevalence_min: float = 0.2
    adaptive_prevalence_max: float = 0.6
    adaptive_max_endpoint_delay: float = 0.25
    min_assay_accuracy: float = 0.9

    def __post_init__(self) -> None:
        for name in ("enrichment_max_probability", "all_comers_min_probability"):
            _check_power(getattr(self, name), name)
        if not 0 <= self.complement_relevant_fraction <= 1:
            raise ParameterError(
                f"complement_relevant_fraction={self.complement_relevant_fraction!r} is outside "
                "[0, 1]; pass e.g. 0.5 (half the subgroup effect)"
            )
        if not 0 <= self.adaptive_prevalence_min < self.adaptive_prevalence_max <= 1:
            raise ParameterError(
                f"adaptive_prevalence_min={self.adaptive_prevalence_min!r} and "
                f"adaptive_prevalence_max={self.adaptive_prevalence_max!r} must satisfy "
                "0 <= min < max <= 1"
            )
        if self.adaptive_max_endpoint_delay < 0:
            raise ParameterError(
                f"adaptive_max_endpoint_delay={self.adaptive_max_endpoint_delay!r} is negative; "
                "pass a fraction of the accrual period, e.g. 0.25"
            )
        _check_probability(self.min_assay_accuracy, "min_assay_accuracy", "e.g. 0.9", allow_one=True)


# --- the settings model -------------------------------------------------------------------------
# Each setting is declared once, with its bounds: a run's `trial_design:` section (`subgroups.params`)
# is `TrialDesignParams`, and `DesignSettings` adds the settings a YAML file does not set, so a value
# one of them accepts the other accepts too.

OneSidedLevel = Annotated[float, Field(gt=0, lt=0.5)]
Probability = Annotated[float, Field(gt=0, lt=1)]
Accuracy = Annotated[float, Field(gt=0, le=1)]
Cost = Annotated[float, Field(ge=0)]


def _one_line(exc: ValidationError, valid: Iterable[str]) -> str:
    """The first problem of a settings model as one line naming the setting and its value (``valid``: the
    settings' names, for an unknown one)."""
    errors = exc.errors()
    first = errors[0]
    name = ".".join(str(part) for part in first["loc"])
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    if first["type"] == "extra_forbidden":
        return f"unknown setting '{name}' (valid: {', '.join(valid)}){more}"
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{name}={first['input']!r}: {message}{more}" if name else f"{message}{more}"


class TrialDesignParams(BaseModel):
    """Planning the next trial: error rates, allocation, assay accuracy, costs, limits, interim timing
    (the ``trial_design:`` section of a run's parameters, also the first settings of `DesignSettings`).

    Attributes
    ----------
    alpha : float
        One-sided family-wise significance level, in (0, 0.5).
    power : float
        Target power for each primary claim, in [0.5, 1).
    allocation_ratio : float
        Treated per control patient, in (0, 10].
    assay_sensitivity, assay_specificity : float
        Of the assay defining marker status in the trial, in (0, 1]; together above 1 (an assay
        with sensitivity + specificity <= 1 carries no information).
    cost_per_screened, cost_per_randomized : float
        Relative costs of screening and of randomizing a patient (>= 0, not both 0).
    max_n : int
        Largest feasible number of randomized patients (at least 10).
    interim_fraction : float
        Share of the maximum sample size randomized before the adaptive interim (D4).
    require_complement_data : bool
        Keep marker-negative patients in the trial even when enrichment is recommended (the FDA
        default unless their exclusion is justified): D5 instead of D2.
    n_simulations : int
        Simulated trials per D4 evaluation (1,000 to 2,000,000).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    alpha: OneSidedLevel = 0.025
    power: float = Field(default=0.8, ge=0.5, lt=1)
    allocation_ratio: float = Field(default=1.0, gt=0, le=10)
    assay_sensitivity: Accuracy = 1.0
    assay_specificity: Accuracy = 1.0
    cost_per_screened: Cost = 1.0
    cost_per_randomized: Cost = 20.0
    max_n: int = Field(default=5000, ge=10)
    interim_fraction: Probability = 0.5
    require_complement_data: bool = False
    n_simulations: int = Field(default=20_000, ge=1000, le=2_000_000)

    @model_validator(mode="after")
    def _informative(self) -> TrialDesignParams:
        accuracy = self.assay_sensitivity + self.assay_specificity
        if accuracy <= 1:
            raise ValueError(
                f"assay_sensitivity + assay_specificity = {accuracy!r} <= 1: the assay carries no information; "
                "pass its validated accuracy"
            )
        if self.cost_per_screened + self.cost_per_randomized <= 0:
            raise ValueError("cost_per_screened and cost_per_randomized are both 0; give at least one a positive relative cost")
        return self


class DesignSettings(TrialDesignParams):
    """How the next trial is to be planned: the settings of `TrialDesignParams` (alpha, power,
    allocation, the assay, costs, limits, interim timing), then these.

    Built with keywords (``DesignSettings(power=0.9, shrinkage="none")``); a value out of bounds, or
    an unknown setting, is a :class:`~subgroups.errors.ParameterError` of one line naming the setting.

    Attributes
    ----------
    assay_validated : bool
        Whether the assay is analytically validated (companion diagnostic); enrichment is only
        recommended for a validated assay.
    endpoint_delay : float
        Time to observe the endpoint, as a fraction of the accrual period (>= 0).
    alpha_split : {"spiessens_debois", "bonferroni", "common"}
        Alpha split of the stratified designs (D3, D5).
    alpha_overall : float, optional
        One-sided level for the overall test in D3/D5, below ``alpha``; ``None`` is alpha / 2.
    mast_levels : tuple of float
        MaST levels for S, then Sc, else F (Freidlin, Korn & Gray 2014), scaled by alpha/0.025.
    enriched_fraction : float
        Share of marker-positive patients among those randomized in D5 (at least pi).
    intersection_test : {"spiessens_debois", "simes", "bonferroni"}
        Intersection test of D4.
    futility_z, enrich_below_z : float
        D4 interim rule: stop if Z_S and Z_F are below ``futility_z``; enrich if Z_Sc is below
        ``enrich_below_z`` (-inf: never).
    screen_quantile : float
        Quantile reported for the number to screen.
    shrinkage : {"dl", "pm", "none"}
        Empirical-Bayes shrinkage of the S and Sc estimates before planning.
    shrinkage_tau2 : float, optional
        Fixed between-subgroup variance for the shrinkage (sceptical choice with K = 2).
    prior_sd_inflation : float
        Factor applied to the posterior SDs when computing assurance (>1 = discount the
        evidence).
    rule : RecommendationRule
        Thresholds of the recommendation.
    min_cell : int
        Fewest patients (and events, for binary and time-to-event outcomes) per arm in the subgroup
        or its complement, among the patients their planning effects were estimated on, for the
        subgroup designs to be estimable (``report.min_cell`` in a run).
    """

    assay_validated: bool = True
    endpoint_delay: float = Field(default=0.1, ge=0)
    alpha_split: AlphaSplitMethod = "spiessens_debois"
    alpha_overall: OneSidedLevel | None = None
    mast_levels: tuple[OneSidedLevel, OneSidedLevel, OneSidedLevel] = _MAST_LEVELS
    enriched_fraction: Probability = 0.5
    intersection_test: IntersectionTest = "spiessens_debois"
    futility_z: float = Field(default=0.0, allow_inf_nan=True)
    enrich_below_z: float = Field(default=0.0, allow_inf_nan=True)
    screen_quantile: Probability = 0.9
    shrinkage: Literal["dl", "pm", "none"] = "dl"
    shrinkage_tau2: Annotated[float, Field(ge=0)] | None = None
    prior_sd_inflation: float = Field(default=1.0, gt=0)
    rule: RecommendationRule = Field(default_factory=RecommendationRule)
    min_cell: int = Field(default=10, ge=0)

    def __init__(self, **settings: Any) -> None:
        # Only here, not in TrialDesignParams: as a section of a run's parameters, pydantic reports the
        # problem with its place in the file (`subgroups.params` words it), which a custom __init__ would hide.
        try:
            super().__init__(**settings)
        except ValidationError as exc:
            raise ParameterError(_one_line(exc, type(self).model_fields)) from None

    @model_validator(mode="after")
    def _overall_below_alpha(self) -> DesignSettings:
        if self.alpha_overall is not None and not self.alpha_overall < self.alpha:
            raise ValueError(
                f"alpha_overall={self.alpha_overall!r} must lie in (0, alpha={self.alpha}); "
                "pass the share of alpha for the overall test, or None for alpha/2"
            )
        return self
