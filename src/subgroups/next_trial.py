"""The next trial from an analysis: the subgroup to plan for, and design inputs from its held-out estimates."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from subgroups.data import TrialData
from subgroups.design import DesignMenu
from subgroups.effects import EffectModel
from subgroups.params import RunParams
from subgroups.rules import Subgroup


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
    from subgroups.subgroup_summaries import hazard_ratios

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
    from subgroups.subgroup_summaries import hazard_ratios

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
