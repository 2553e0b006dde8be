"""Next-trial designs for a discovered treatment-effect subgroup.

Given a subgroup S (prevalence pi among screened patients) and uncertain effect estimates in S,
in its complement Sc and overall (F), :func:`plan_designs` builds a menu of designs and
recommends one (a :class:`Recommendation`: the rule, the design and the facts behind it, which
`subgroups.narrative.recommendation` writes as reasons for scientists):

- D1 ``all_comers``: everyone randomized, one test of the overall effect;
- D2 ``enrichment``: only marker-positive patients randomized;
- D3 ``stratified``: everyone randomized, stratified by marker, co-primary tests in S and F with a
  correlation-adjusted alpha split (Spiessens & Debois 2010);
- D3b ``stratified_mast``: the fixed-sequence MaST variant (Freidlin, Korn & Gray 2014);
- D4 ``adaptive_enrichment``: two stages with an interim choice between stopping, continuing in
  F and restricting to S, closed testing with an inverse-normal combination (Jenkins, Stone &
  Jennison 2011; Wassmer & Dragalin 2015), operating characteristics simulated;
- D5 ``enriched_stratified``: S over-represented and Sc capped, F estimated by re-weighting
  (Wang, Zhou, Wang & George 2018).

Each design reports randomized and screened numbers, events (time-to-event), the alpha
allocation, power at the planning effects and assurance (probability of success averaged over the
uncertainty of the effects; O'Hagan, Stevens & Campbell 2005).

Conventions:

- alpha is **one-sided** everywhere (0.025 one-sided has the critical value of two-sided 0.05);
- sizes are rounded up per arm, events are rounded up;
- ``allocation_ratio`` is treated patients per control patient (1 = 1:1);
- effects are on the outcome's scale: difference in means (continuous), risk difference (binary),
  log hazard ratio with negative = benefit (time to event). For continuous and binary outcomes
  ``higher_is_better`` says which direction is a benefit.

Modules, each importing only those above it: ``checks`` (parameter checks, accepted values),
``results`` (plain values, one-row frames), ``normal`` (critical values, bivariate normal),
``sample_size`` (sample size and power), ``screening`` (numbers to screen, assay, enrichment
efficiency), ``multiplicity`` (alpha split, MaST), ``shrinkage`` (empirical Bayes),
``assurance``, ``adaptive`` (the adaptive-enrichment simulator), ``settings`` (inputs, the one
settings model, whose first part is a run's ``trial_design:`` section, and the recommendation
thresholds), ``menu`` (design options, the recommendation and the menu), ``designs`` (the planning
problem and the design registry), ``recommend`` (the recommendation rules and their findings) and
``planning`` (:func:`plan_designs`, :func:`plan_all_comers`, :func:`power_assurance_curves`).
Outside the package they use only `subgroups.errors` and `subgroups.narrative.recommendation` (the
words of the reasons and of an effect on the outcome's scale); `subgroups.params` uses ``settings``.

The same formulas are exposed as small functions (sample sizes, power, numbers to screen, alpha
splits, shrinkage, assurance, the adaptive-enrichment simulator) so that each can be checked
against published values. Every public name of the former single module is re-exported here, and
the private ones that still exist, so that code written against it keeps working; the wording of
the reasons moved to `subgroups.narrative.recommendation`.
"""

from __future__ import annotations

from subgroups.design.adaptive import AdaptiveEnrichmentResult, simulate_adaptive_enrichment
from subgroups.design.adaptive import _intersection_z as _intersection_z
from subgroups.design.assurance import assurance, assurance_limit, n_for_assurance
from subgroups.design.checks import _INTERSECTIONS as _INTERSECTIONS
from subgroups.design.checks import _OUTCOMES as _OUTCOMES
from subgroups.design.checks import _SPLITS as _SPLITS
from subgroups.design.checks import AlphaSplitMethod as AlphaSplitMethod
from subgroups.design.checks import IntersectionTest as IntersectionTest
from subgroups.design.checks import OutcomeType as OutcomeType
from subgroups.design.checks import _ceil as _ceil
from subgroups.design.checks import _check_alpha as _check_alpha
from subgroups.design.checks import _check_hazard_ratio as _check_hazard_ratio
from subgroups.design.checks import _check_positive as _check_positive
from subgroups.design.checks import _check_power as _check_power
from subgroups.design.checks import _check_probability as _check_probability
from subgroups.design.designs import DESIGNS
from subgroups.design.designs import _blank_option as _blank_option
from subgroups.design.designs import _design_adaptive as _design_adaptive
from subgroups.design.designs import _design_all_comers as _design_all_comers
from subgroups.design.designs import _design_enriched_stratified as _design_enriched_stratified
from subgroups.design.designs import _design_enrichment as _design_enrichment
from subgroups.design.designs import _design_mast as _design_mast
from subgroups.design.designs import _design_stratified as _design_stratified
from subgroups.design.designs import _Endpoint as _Endpoint
from subgroups.design.designs import _finish as _finish
from subgroups.design.designs import _lower_both as _lower_both
from subgroups.design.designs import _not_estimable as _not_estimable
from subgroups.design.designs import _patients_from_units as _patients_from_units
from subgroups.design.designs import _Plan as _Plan
from subgroups.design.designs import _predictive as _predictive
from subgroups.design.designs import _split_for as _split_for
from subgroups.design.designs import _standardised as _standardised
from subgroups.design.designs import _stratified_correlation as _stratified_correlation
from subgroups.design.designs import _stratified_option as _stratified_option
from subgroups.design.designs import _stratified_units as _stratified_units
from subgroups.design.designs import _upper as _upper
from subgroups.design.designs import _upper_both as _upper_both
from subgroups.design.menu import DesignMenu, DesignOption, Finding, Recommendation
from subgroups.design.multiplicity import _MAST_LEVELS as _MAST_LEVELS
from subgroups.design.multiplicity import AlphaSplit, mast_type1_error, split_alpha
from subgroups.design.normal import _TINY as _TINY
from subgroups.design.normal import _max_normal_sf as _max_normal_sf
from subgroups.design.normal import _z as _z
from subgroups.design.normal import bivariate_normal_cdf
from subgroups.design.planning import _blank as _blank
from subgroups.design.planning import _enrichment_ratios as _enrichment_ratios
from subgroups.design.planning import _overall_menu as _overall_menu
from subgroups.design.planning import _probability_at_least as _probability_at_least
from subgroups.design.planning import plan_all_comers, plan_designs
from subgroups.design.planning import power_assurance_curves as power_assurance_curves
from subgroups.design.recommend import Evidence, context_findings, recommend, recommend_all_comers
from subgroups.design.recommend import _best_value as _best_value
from subgroups.design.recommend import _first_feasible as _first_feasible
from subgroups.design.sample_size import (
    SampleSize,
    event_probability,
    events_schoenfeld,
    power_binary,
    power_continuous,
    power_survival,
    sample_size_binary,
    sample_size_continuous,
    sample_size_freedman,
    sample_size_lachin_foulkes,
    sample_size_survival,
)
from subgroups.design.sample_size import _arms as _arms
from subgroups.design.sample_size import _binary_statsmodels_args as _binary_statsmodels_args
from subgroups.design.screening import (
    AssayStrata,
    EnrichmentEfficiency,
    ScreeningNumbers,
    assay_strata,
    enrichment_efficiency,
    number_to_screen,
)
from subgroups.design.settings import DesignInputs, DesignSettings, RecommendationRule
from subgroups.inference import ShrinkageResult, shrink_estimates
from subgroups.plain import _FrameMixin as _FrameMixin
from subgroups.plain import _plain as _plain

__all__ = [
    "AdaptiveEnrichmentResult",
    "AlphaSplit",
    "AssayStrata",
    "DESIGNS",
    "DesignInputs",
    "DesignMenu",
    "DesignOption",
    "DesignSettings",
    "EnrichmentEfficiency",
    "Evidence",
    "Finding",
    "Recommendation",
    "RecommendationRule",
    "SampleSize",
    "ScreeningNumbers",
    "ShrinkageResult",
    "assay_strata",
    "assurance",
    "assurance_limit",
    "bivariate_normal_cdf",
    "context_findings",
    "enrichment_efficiency",
    "event_probability",
    "events_schoenfeld",
    "mast_type1_error",
    "n_for_assurance",
    "number_to_screen",
    "plan_all_comers",
    "plan_designs",
    "power_binary",
    "power_continuous",
    "power_survival",
    "recommend",
    "recommend_all_comers",
    "sample_size_binary",
    "sample_size_continuous",
    "sample_size_freedman",
    "sample_size_lachin_foulkes",
    "sample_size_survival",
    "shrink_estimates",
    "simulate_adaptive_enrichment",
    "split_alpha",
]
