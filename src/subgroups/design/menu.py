"""The outputs of the planning: :class:`DesignOption`, one design of the menu with its randomized and
screened numbers, events (time to event), alpha allocation, power at the planning effects and
assurance; :class:`Recommendation`, the rule that chose a design and the :class:`Finding` objects
(kind and facts) behind it; and :class:`DesignMenu`, the designs for the next trial, the
recommended one and why.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import pandas as pd

from subgroups.plain import _plain

# The rules that choose a design (`subgroups.design.recommend`), as `Recommendation.rule` names them.
RuleId = Literal[
    "no_heterogeneity",
    "all_comers_infeasible",
    "complement_no_benefit",
    "small_heterogeneity",
    "uncertain_adaptive",
    "uncertain_stratified",
    "best_value",
    "no_subgroup",
    "not_estimable",
]
# What a finding states: the decisive finding of each rule, then cautions and context. The narrative has one
# sentence per kind (`subgroups.narrative.recommendation.REASONS`); results.json's schema lists them.
FindingKind = Literal[
    "no_heterogeneity",
    "no_subgroup",
    "not_estimable",
    "all_comers_infeasible",
    "complement_no_benefit",
    "enrichment_premature",
    "small_heterogeneity",
    "uncertain_adaptive",
    "uncertain_stratified",
    "stratified_alternatives",
    "best_value",
    "exceeds_max_n",
    "none_feasible",
    "record_marker",
    "assay_not_validated",
    "enrichment_guidance",
    "planning_effect_mixture",
    "planning_effect_pooled",
    "efficiency",
    "shrinkage",
    "assay_dilution",
    "hazard_ratio_mixture",
]


@dataclass(frozen=True)
class DesignOption:
    """One design of the menu. ``None`` marks a quantity that does not apply.

    Attributes
    ----------
    n_randomized : int or None
        Randomized patients (maximum for D4).
    n_treatment, n_control : int or None
        Per arm, rounded up.
    n_subgroup, n_complement : int or None
        Randomized marker-positive / marker-negative patients (expected where accrual is not
        controlled by stratum).
    events : int or None
        Events required (time to event).
    n_screened_expected : float or None
        Expected number of patients screened.
    n_screened_quantile : int or None
        Number screened that suffices with probability ``screen_quantile``.
    alpha_subgroup, alpha_complement, alpha_overall : float or None
        One-sided nominal levels of the tests in S, Sc and F.
    power_subgroup, power_complement, power_overall, power_any : float or None
        Power at the planning effects for a claim in S, Sc (MaST: S and Sc), F (any claim
        covering all patients) and at least one claim.
    assurance_subgroup, assurance_overall, assurance_any : float or None
        The same, averaged over the uncertainty of the effects.
    cost : float or None
        cost_per_screened x screened + cost_per_randomized x randomized (expected for D4).
    assurance_per_cost : float or None
        ``assurance_any`` per 1000 cost units (tie-break).
    expected_n_randomized : float or None
        E[N randomized] (D4).
    probability_enrich, probability_futility : float or None
        Interim decisions (D4).
    type1_error, type1_error_se : float or None
        Simulated family-wise error under the global null and its Monte-Carlo SE (D4).
    n_stage1 : int or None
        Stage-1 patients (D4).
    n_randomized_raw, events_raw : float or None
        Unrounded requirements.
    design : str
        Registry key (``"all_comers"``, ``"enrichment"``, ...).
    label : str
        D1 ... D5.
    title : str
        Short description.
    claims : str
        Claims the design can support.
    feasible : bool
        A benefit is planned, the design is estimable and the size is within ``max_n``.
    estimable : bool
        False when the planning effects rest on fewer than ``min_cell`` patients or events per arm
        (every size is then None and the design is never feasible).
    notes : str
        Sizing details in words.
    """

    n_randomized: int | None
    n_treatment: int | None
    n_control: int | None
    n_subgroup: int | None
    n_complement: int | None
    events: int | None
    n_screened_expected: float | None
    n_screened_quantile: int | None
    alpha_subgroup: float | None
    alpha_complement: float | None
    alpha_overall: float | None
    power_subgroup: float | None
    power_complement: float | None
    power_overall: float | None
    power_any: float | None
    assurance_subgroup: float | None
    assurance_overall: float | None
    assurance_any: float | None
    cost: float | None
    assurance_per_cost: float | None
    expected_n_randomized: float | None
    probability_enrich: float | None
    probability_futility: float | None
    type1_error: float | None
    type1_error_se: float | None
    n_stage1: int | None
    n_randomized_raw: float | None
    events_raw: float | None
    design: str
    label: str
    title: str
    claims: str
    feasible: bool
    notes: str
    estimable: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dictionary."""
        return _plain(asdict(self))


@dataclass(frozen=True)
class Finding:
    """One statement behind a recommendation: what kind of statement it is and the facts it rests on.

    Attributes
    ----------
    kind : FindingKind
        What the statement says, e.g. ``"complement_no_benefit"`` (a rule that decided),
        ``"exceeds_max_n"`` (a caution) or ``"shrinkage"`` (context); the narrative has one
        sentence per kind (`subgroups.narrative.recommendation`).
    facts : dict
        Plain values only (numbers, design keys and titles, flags, None, and lists or dicts of
        them): sizes, probabilities, thresholds and ratios as the rule compared them. Effects are
        on the outcome's scale, with the ``outcome`` beside them. Read-only by convention.
    """

    kind: FindingKind
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Recommendation:
    """The structured decision of `subgroups.design.recommend`: which design, by which rule, and why.

    Attributes
    ----------
    design : str
        Registry key of the recommended design.
    rule : RuleId
        The rule that chose it: ``"no_heterogeneity"``, ``"all_comers_infeasible"``,
        ``"complement_no_benefit"``, ``"small_heterogeneity"``, ``"uncertain_adaptive"``,
        ``"uncertain_stratified"``, ``"best_value"`` (the feasible design with the highest
        assurance per unit cost), ``"no_subgroup"`` or ``"not_estimable"`` (all-comers alone).
    findings : tuple of Finding
        The decisive finding first, then cautions, then the always-shown context, in the order the
        reasons are written.
    """

    design: str
    rule: RuleId
    findings: tuple[Finding, ...]

    def finding(self, kind: str) -> Finding | None:
        """The first finding of ``kind``, or None."""
        return next((f for f in self.findings if f.kind == kind), None)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dictionary."""
        return _plain(asdict(self))


@dataclass(frozen=True)
class DesignMenu:
    """Designs for the next trial, the recommended one and why.

    Attributes
    ----------
    prevalence : float
        P(marker positive) in the trial (assay-positive fraction).
    planning_effect_subgroup, planning_effect_complement, planning_effect_overall : float
        Effects the designs are sized on, outcome scale (after shrinkage). The overall one is
        pi x subgroup + (1 - pi) x complement, used by every design's overall claim (all-comers
        included); without a subgroup (or when it is not estimable) the discovery trial's overall
        estimate, and the subgroup and complement ones are NaN.
    planning_sd_subgroup, planning_sd_complement, planning_sd_overall : float
        Their uncertainty (posterior SDs) used for assurance.
    probability_complement_benefit : float
        P(complement effect >= fraction x subgroup effect): the heterogeneity evidence of rules
        2 and 3.
    probability_complement_relevant : float
        P(complement effect >= smallest relevant effect) (rule 2).
    enrichment_ratio_randomized, enrichment_ratio_screened : float or None
        From the menu's own numbers: all-comers randomized N over enrichment's, and enrichment's
        expected number screened over all-comers' randomized N (the Simon & Maitournam 2005 ratios,
        with this menu's rounding and variance model); None when either design has no size.
    tau2 : float or None
        Between-subgroup variance of the shrinkage.
    options : list of DesignOption
        The menu, D1 to D5.
    recommended : str
        Registry key of the recommended design.
    reasons : list of str
        Why, in words: the findings of ``decision`` as `subgroups.narrative.recommendation` writes them.
    outcome : str
        Endpoint type.
    decision : Recommendation or None
        The structured decision the reasons are written from.
    """

    prevalence: float
    planning_effect_subgroup: float
    planning_effect_complement: float
    planning_effect_overall: float
    planning_sd_subgroup: float
    planning_sd_complement: float
    planning_sd_overall: float
    probability_complement_benefit: float
    probability_complement_relevant: float
    enrichment_ratio_randomized: float | None
    enrichment_ratio_screened: float | None
    tau2: float | None
    options: list[DesignOption]
    recommended: str
    reasons: list[str]
    outcome: str
    curves: pd.DataFrame | None = None  # power and assurance against N (power_assurance_curves)
    decision: Recommendation | None = None

    def option(self, design: str) -> DesignOption:
        """The option with registry key ``design``."""
        for option in self.options:
            if option.design == design:
                return option
        raise KeyError(f"no design {design!r} in the menu; have {[o.design for o in self.options]}")

    @property
    def sized(self) -> bool:
        """Has any design a size? None has when no claim carries a planned benefit (each option's notes say why)."""
        return any(option.n_randomized is not None for option in self.options)

    def to_frame(self) -> pd.DataFrame:
        """One row per design, indexed by registry key, with a ``recommended`` column."""
        frame = pd.DataFrame([option.to_dict() for option in self.options]).set_index("design")
        frame["recommended"] = frame.index == self.recommended
        return frame

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dictionary (plain floats, ints, str, bool and None only), the decision included
        (as ``decision.to_dict()``); the curves excluded (``curves.to_dict(orient="list")`` has them)."""
        out = asdict(replace(self, curves=None))
        out.pop("curves")
        return _plain(out)
