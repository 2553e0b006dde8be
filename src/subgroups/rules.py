"""Interpretable subgroups with honest effect estimates.

Procedure (sample splitting in both directions; Athey & Imbens 2016 honesty, cross-fitted):
1. Patients are split into two halves, stratified by arm and seeded.
2. In the *discovery* half, doubly robust scores ψ are built with outcome models cross-fitted
   inside that half only, and a shallow regression tree (depth ≤ `max_depth`, leaves with at least
   `min_size` patients) is fitted to ψ. Its leaves are the candidate subgroups, written as rules in
   original units and categories.
3. In the *estimation* half, scores are built with models fitted inside that half only, and each
   candidate's effect, its complement's effect and their difference are estimated by the mean of
   those scores with normal-theory CIs. No patient's outcome is used both to find a rule and to
   estimate its effect.
4. Both directions are run. Every split of a tree is one hypothesis: S (the side the discovery
   half predicts to benefit more) against the other side. A split of all patients compares S with
   its complement ("S vs not S"); a split inside a parent rule compares S with its sibling inside
   the parent (the held-out interaction within the parent), never with everyone outside S, so a
   refinement does not inherit its parent's difference.
5. Multiplicity: a graphical procedure (Bretz et al. 2009). The splits of all patients share alpha
   (Holm among them); a refinement starts with no alpha and is tested only once its parent split was
   rejected, with the alpha the parent passes on (half to its refinements, half to its peers). The
   family-wise error over all hypotheses is at most alpha. Effects are shrunk by empirical Bayes
   (normal-normal, DerSimonian-Laird) across the disjoint nodes of each depth, for planning.
A subgroup is `validated` only when the heterogeneity test of the analysis detected heterogeneity
and its held-out difference from the complement is significant after adjustment; otherwise it is
`exploratory`. Validated subgroups also carry estimates adjusted for that selection
(`selective_estimate`): the held-out estimate is unbiased for a fixed rule, not for a rule reported
because its estimate was large.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold
from sklearn.tree import DecisionTreeRegressor

from subgroups.data import TrialData
from subgroups.effects import EffectModel, aipw_scores, too_few_of_a_class
from subgroups.errors import DataError
from subgroups.inference import graphical_adjusted_p, holm, selective_estimate, shrink_estimates
from subgroups.params import SubgroupParams
from subgroups.privacy import rounded_share, suppress_count, suppress_events, too_small_reason, too_small_record
from subgroups.rule_language import (
    NUMERIC_OPS,
    Condition,
    members,
    parse_rule,
    round_threshold,
    rule_text,
)


@dataclass(frozen=True)
class Subgroup:
    """A candidate subgroup with effects estimated on patients not used to find it."""

    rule: str
    conditions: tuple[Condition, ...]
    effect: float
    ci: tuple[float, float]
    se: float
    complement_effect: float
    complement_ci: tuple[float, float]
    difference: float
    difference_ci: tuple[float, float]
    p_value: float  # two-sided, difference from the complement
    complement_se: float = float("nan")
    p_adjusted: float = float("nan")
    shrunken_effect: float = float("nan")
    shrunken_se: float = float("nan")
    prevalence: float = float("nan")
    n_treated: int = 0
    n_control: int = 0
    found_on: str = ""
    estimated_on: str = ""
    estimation_halves: tuple[int, ...] = ()  # halves (0, 1) whose patients gave the estimate; () = all patients
    status: str = "exploratory"
    scale: str = ""
    events_treated: int | None = None  # binary: patients with outcome 1; time to event: events (among those estimated on)
    events_control: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Validated subgroups only: estimates adjusted for having been selected on their own significance.
    selection_z: float = float("nan")  # the |z| of the difference that its Holm step required
    adjusted_effect: float = float("nan")
    adjusted_ci: tuple[float, float] = (float("nan"), float("nan"))
    adjusted_se: float = float("nan")  # half the adjusted CI's width over its normal quantile (for planning)
    adjusted_complement_effect: float = float("nan")
    adjusted_complement_se: float = float("nan")
    adjusted_complement_ci: tuple[float, float] = (float("nan"), float("nan"))
    adjusted_difference: float = float("nan")
    adjusted_difference_ci: tuple[float, float] = (float("nan"), float("nan"))
    # The hypothesis: S against its comparator. A split of all patients compares S with its complement
    # (level 1); a refinement compares S with its sibling inside the parent rule (level 2 and deeper).
    comparator_rule: str = ""  # "" = everyone not in S
    parent_rule: str = ""  # refinements: the rule inside which S and its sibling were split
    level: int = 1
    outside_effect: float = float("nan")  # everyone not in S (equals the complement at level 1), for planning
    outside_se: float = float("nan")
    alpha_share: float = float("nan")  # share of alpha the hypothesis was tested at when it was rejected

    @property
    def hypothesis(self) -> str:
        """The tested hypothesis in words: "S vs not S", or "S vs its sibling (within the parent rule)"."""
        if self.level > 1 and self.comparator_rule:
            prefix = self.parent_rule + " and "

            def own(rule: str) -> str:
                return rule[len(prefix) :] if rule.startswith(prefix) else rule

            return f"{own(self.rule)} vs {own(self.comparator_rule)}, within {self.parent_rule}"
        return f"{self.rule} vs {self.comparator_rule or 'the rest'}"

    @property
    def rest_effect(self) -> tuple[float, float]:
        """(effect, se) in everyone not in S: the complement at level 1, the rest of the population for a refinement."""
        if np.isfinite(self.outside_effect):
            return self.outside_effect, self.outside_se
        return self.complement_effect, self.complement_se

    @property
    def selection_adjusted(self) -> bool:
        """True for a validated subgroup whose estimates were adjusted for its selection."""
        return bool(np.isfinite(self.adjusted_effect))

    @property
    def reported_effect(self) -> float:
        """The headline effect: adjusted for selection when validated, else the held-out estimate."""
        return self.adjusted_effect if self.selection_adjusted else self.effect

    @property
    def reported_ci(self) -> tuple[float, float]:
        return self.adjusted_ci if self.selection_adjusted else self.ci

    @property
    def reported_complement_effect(self) -> float:
        return self.adjusted_complement_effect if self.selection_adjusted else self.complement_effect

    @property
    def estimator(self) -> str:
        """Which estimate `reported_*` are: the one every display of this hypothesis shows."""
        if self.selection_adjusted:
            return "adjusted for selection"
        return "held-out" if self.estimation_halves else "all patients, cross-fitted"

    def reported(self) -> dict[str, Any]:
        """The numbers every page, figure and the index show for this hypothesis (one estimator, stated)."""
        comp_ci = self.adjusted_complement_ci if self.selection_adjusted else self.complement_ci
        diff_ci = self.adjusted_difference_ci if self.selection_adjusted else self.difference_ci
        return {
            "estimator": self.estimator,
            "effect": self.reported_effect,
            "ci_low": self.reported_ci[0],
            "ci_high": self.reported_ci[1],
            "comparator_effect": self.reported_complement_effect,
            "comparator_ci_low": comp_ci[0],
            "comparator_ci_high": comp_ci[1],
            "difference": self.adjusted_difference if self.selection_adjusted else self.difference,
            "difference_ci_low": diff_ci[0],
            "difference_ci_high": diff_ci[1],
        }

    def planning_estimates(self) -> tuple[float, float, float, float]:
        """(effect, se, complement effect, complement se) to plan the next trial on: adjusted for
        selection when validated, else the held-out estimates."""
        rest, rest_se = self.rest_effect
        if self.selection_adjusted:
            if self.level > 1:  # the comparator was the sibling; the next trial's complement is everyone else
                return self.adjusted_effect, self.adjusted_se, rest, rest_se
            return self.adjusted_effect, self.adjusted_se, self.adjusted_complement_effect, self.adjusted_complement_se
        return self.effect, self.se, rest, rest_se

    def contains(self, df: pd.DataFrame) -> pd.Series:
        """Boolean membership of each row of `df` (original feature columns; one patient may be a Series or a dict),
        aligned to `df.index`: `df[s.contains(df)]` are the subgroup's patients. `members(s.conditions, df)` gives a
        plain array. A column the rule uses must be present and, for a cut-point, hold numbers (a value that is not a
        number would silently fall outside); a missing value is outside unless the rule is about missingness."""
        from subgroups.data import new_rows, not_numbers

        frame = new_rows(df, "contains")
        absent = sorted({c.feature for c in self.conditions if c.feature not in frame.columns})
        if absent:
            raise DataError(f"new data lacks column(s) {', '.join(absent)}, which the rule {self.rule!r} uses")
        for condition in self.conditions:
            if condition.kind in NUMERIC_OPS:
                column = frame[condition.feature]
                text = not_numbers(column)
                if text.any():
                    raise DataError(
                        f"column '{condition.feature}' of the new data has values that are not numbers "
                        f"({column[text].iloc[0]!r}, first at index {column.index[text.to_numpy()].tolist()[0]!r}); the rule "
                        f"{self.rule!r} compares it with a number"
                    )
        return pd.Series(members(self.conditions, frame), index=frame.index, name=self.rule, dtype=bool)

    def __repr__(self) -> str:
        if reason := self.extra.get("too_small"):
            return f"<Subgroup: too small to report ({reason}); {self.status}>"
        from subgroups.narrative import effect_text

        r = self.reported()
        return (
            f"<Subgroup: {self.hypothesis}; {self.status}; effect {effect_text(r['effect'], r['ci_low'], r['ci_high'])} "
            f"vs {r['comparator_effect']:+.3g} [{r['estimator']}]; adjusted p = {self.p_adjusted:.3g}>"
        )

    def to_dict(self, min_cell: int) -> dict[str, Any]:
        """JSON-ready record; a hypothesis too small to report (`subgroups.privacy`) keeps only that it exists.

        Too small: fewer than `min_cell` patients in either arm of the subgroup, or of its comparator
        when `extra["comparator_n"]` (treated, control) gives those counts, or `extra["too_small"]` set.
        """
        reason = self.extra.get("too_small") or too_small_reason(
            (self.n_treated, self.n_control), self.extra.get("comparator_n"), min_cell
        )
        record = self._record(min_cell)
        return too_small_record(record, reason) if reason else record

    def _record(self, min_cell: int) -> dict[str, Any]:
        rest, rest_se = self.rest_effect
        return {
            "rule": self.rule,
            "hypothesis": self.hypothesis,
            "comparator": self.comparator_rule or "the rest",
            "parent": self.parent_rule or None,
            "level": self.level,
            "reported": self.reported(),
            "effect": self.effect,
            "ci_low": self.ci[0],
            "ci_high": self.ci[1],
            "se": self.se,
            "complement_effect": self.complement_effect,
            "complement_ci_low": self.complement_ci[0],
            "complement_ci_high": self.complement_ci[1],
            "difference": self.difference,
            "difference_ci_low": self.difference_ci[0],
            "difference_ci_high": self.difference_ci[1],
            "rest_effect": rest,
            "rest_se": rest_se,
            "p_value": self.p_value,
            "p_adjusted": self.p_adjusted,
            "adjustment": ADJUSTMENT if self.status != "pre-specified" else "Holm over the pre-specified subgroups",
            "shrunken_effect": self.shrunken_effect,
            "shrunken_se": self.shrunken_se,
            "prevalence": self.prevalence
            if self.extra.get("n_total") is None
            else rounded_share(self.prevalence, self.extra["n_total"], min_cell),
            "n_treated": suppress_count(self.n_treated, min_cell),
            "n_control": suppress_count(self.n_control, min_cell),
            "events_treated": suppress_events(self.events_treated, self.n_treated, min_cell),
            "events_control": suppress_events(self.events_control, self.n_control, min_cell),
            "found_on": self.found_on,
            "estimated_on": self.estimated_on,
            "status": self.status,
            "scale": self.scale,
            "selection_adjusted": None
            if not self.selection_adjusted
            else {
                "what": "median-unbiased estimates and CIs (at the run's level) conditional on the held-out difference having passed "
                "its Holm step (truncated normal; Lee et al. 2016, Andrews et al. 2024)",
                "required_abs_z": self.selection_z,
                "effect": self.adjusted_effect,
                "ci_low": self.adjusted_ci[0],
                "ci_high": self.adjusted_ci[1],
                "complement_effect": self.adjusted_complement_effect,
                "difference": self.adjusted_difference,
                "difference_ci_low": self.adjusted_difference_ci[0],
                "difference_ci_high": self.adjusted_difference_ci[1],
            },
        }


def split_halves(treatment: np.ndarray, seed: int) -> np.ndarray:
    """0/1 half per patient, stratified by arm."""
    half = np.zeros(treatment.size, dtype=int)
    _, second = next(StratifiedKFold(n_splits=2, shuffle=True, random_state=seed).split(np.zeros(treatment.size), treatment))
    half[second] = 1
    return half


def within_scores(
    X: np.ndarray, T: np.ndarray, Y: np.ndarray, e: np.ndarray, model: Any, folds: int, seed: int, normalized: bool = False
) -> np.ndarray:
    """AIPW scores of a set of patients from outcome models cross-fitted inside that set only (`aipw_scores`;
    `normalized` for observational data)."""
    mu0, mu1 = np.empty(T.size), np.empty(T.size)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    binary = hasattr(model, "predict_proba")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for train, test in splitter.split(X, T):
            for arm, target in ((0, mu0), (1, mu1)):
                rows = train[T[train] == arm]
                if binary and too_few_of_a_class(Y[rows]):  # a rare outcome (nearly) absent or universal here
                    target[test] = float(np.mean(Y[rows]))
                    continue
                fitted = clone(model).fit(X[rows], Y[rows])
                target[test] = fitted.predict_proba(X[test])[:, 1] if binary else fitted.predict(X[test])
    return aipw_scores(Y, T, e, mu0, mu1, normalized)


def _conditions(tree: DecisionTreeRegressor, leaf: int, data: TrialData) -> tuple[Condition, ...]:
    """The path from the root to `leaf`, as conditions on original features (merged per feature)."""
    t = tree.tree_
    parent = {}
    for node in range(t.node_count):
        for child, side in ((t.children_left[node], "le"), (t.children_right[node], "gt")):
            if child != -1:
                parent[child] = (node, side)
    path, node = [], leaf
    while node in parent:
        node, side = parent[node]
        path.append((data.X.columns[t.feature[node]], side, float(t.threshold[node])))
    clauses: dict[str, Condition] = {}
    for column, side, threshold in reversed(path):
        original = data.encoder.original_of[column]
        if original in data.encoder.categorical:
            level = column.split("=", 1)[1]
            current = set(clauses[original].value) if original in clauses else set(data.encoder.categorical[original])
            current = {level} & current if side == "gt" else current - {level}
            clauses[original] = Condition(original, "in", tuple(sorted(current)))
        elif column.endswith(" (missing)"):
            clauses[original + " (missing)"] = Condition(original, "missing" if side == "gt" else "recorded")
        else:
            values = pd.to_numeric(data.features[original], errors="coerce").dropna()
            integer = bool(np.all(np.equal(np.mod(values, 1), 0)))
            genetic = data.family_of.get(original) == "genetic" and set(values.unique()) <= {0, 1, 2}
            key = f"{original} {side}"
            old = clauses.get(key)
            if old is not None:  # keep the tighter bound
                threshold = min(old.value, threshold) if side == "le" else max(old.value, threshold)
            clauses[key] = Condition(original, side, threshold, integer, genetic)
    return tuple(
        replace(c, value=round_threshold(c.value, data.features[c.feature])) if c.kind in ("le", "gt") and not c.integer else c
        for c in clauses.values()
    )


def _estimate(scores: np.ndarray, inside: np.ndarray) -> tuple[float, float]:
    n = int(inside.sum())
    if n < 2:
        return float("nan"), float("nan")
    return float(scores[inside].mean()), float(scores[inside].std(ddof=1) / np.sqrt(n))


@dataclass(frozen=True)
class HalfSplit:
    """The analysed patients split in two halves, with scores built inside each half only."""

    X: np.ndarray
    T: np.ndarray
    frame: pd.DataFrame  # original features (for rule membership)
    half: np.ndarray  # 0 or 1 per patient
    scores: dict[int, np.ndarray]  # half -> AIPW scores of that half's patients


def split_for_rules(data: TrialData, effects: EffectModel, seed: int) -> HalfSplit:
    retained = effects.analysed(data.n)
    X = data.X.to_numpy(dtype=float)[retained]
    T, Y, e = data.treatment[retained], effects_outcome(data, effects), effects.propensity
    half = split_halves(T, seed)
    folds = max(2, min(5, int(effects.folds.max()) + 1))
    observational = data.spec.study == "observational"
    scores = {
        h: within_scores(
            X[half == h], T[half == h], Y[half == h], e[half == h], effects.nuisance_family, folds, seed, observational
        )
        for h in (0, 1)
    }
    return HalfSplit(X, T, data.features.loc[retained].reset_index(drop=True), half, scores)


def _fit_tree(split: HalfSplit, params: SubgroupParams, seed: int, h: int) -> DecisionTreeRegressor:
    tree = DecisionTreeRegressor(max_depth=params.max_depth, min_samples_leaf=params.min_size, random_state=seed)
    return tree.fit(split.X[split.half == h], split.scores[h])


def discover_rules(
    split: HalfSplit, data: TrialData, params: SubgroupParams, seed: int, h: int
) -> list[tuple[tuple[Condition, ...], int]]:
    """Rules (and their depth) from a shallow tree fitted to half `h`'s scores: every node but the root."""
    tree = _fit_tree(split, params, seed, h)
    depth = _node_depths(tree)
    return [(_conditions(tree, node, data), depth[node]) for node in range(1, tree.tree_.node_count)]


def estimate_rule(split: HalfSplit, conditions: tuple[Condition, ...], h: int) -> tuple[float, float, float, float, np.ndarray]:
    """Effect and SE inside and outside the rule, from half `h`'s scores: (eff, se, comp, comp_se, inside)."""
    frame = split.frame.loc[split.half == h].reset_index(drop=True)
    inside = members(conditions, frame)
    psi = split.scores[h]
    eff, se = _estimate(psi, inside)
    comp, comp_se = _estimate(psi, ~inside)
    return eff, se, comp, comp_se, inside


def find_subgroups(
    data: TrialData, effects: EffectModel, params: SubgroupParams, heterogeneity_detected: bool, seed: int, level: float = 0.95
) -> list[Subgroup]:
    """Subgroup hypotheses found in one half and estimated in the other, both ways (see module doc).

    Every split of the discovery tree is one hypothesis: S (the side the discovery half predicts to
    benefit more) against the other side. A split of all patients compares S with its complement; a
    split inside a parent rule compares S with its sibling inside that parent (the interaction within
    the parent), so a refinement never inherits the parent's difference from the rest.
    """
    split = split_for_rules(data, effects, seed)
    analysed = np.flatnonzero(effects.analysed(data.n))
    z = float(stats.norm.ppf(0.5 + level / 2))
    sign = 1.0 if data.spec.outcome.higher_is_better else -1.0
    found: list[Subgroup] = []
    for h in (0, 1):
        tree = _fit_tree(split, params, seed, h)
        t, depth = tree.tree_, _node_depths(tree)
        psi, T_est, rows = split.scores[1 - h], split.T[split.half == 1 - h], analysed[split.half == 1 - h]
        nodes = {}
        for node in range(1, t.node_count):
            conditions = _conditions(tree, node, data)
            nodes[node] = (conditions, *estimate_rule(split, conditions, 1 - h))
        shrunken = _shrunken_by_depth(nodes, depth)
        for parent in range(t.node_count):
            left, right = int(t.children_left[parent]), int(t.children_right[parent])
            if left == -1:
                continue
            # Orientation from the discovery half only: S is the side predicted to benefit more.
            first, second = (
                (right, left) if sign * t.value[right].ravel()[0] >= sign * t.value[left].ravel()[0] else (left, right)
            )
            conditions, eff, se, _, _, inside = nodes[first]
            other, comp, comp_se, _, _, inside_other = nodes[second]
            if inside.sum() < 2 or inside_other.sum() < 2:
                continue
            rest, rest_se = _estimate(psi, ~inside)
            found.append(
                _candidate(
                    conditions, eff, se, comp, comp_se, z,
                    prevalence=float(inside.mean()),
                    n_treated=int(T_est[inside].sum()),
                    n_control=int((1 - T_est[inside]).sum()),
                    **events_by_arm(data, rows, inside),
                    found_on=f"half {h + 1}",
                    estimation_halves=(1 - h,),
                    estimated_on=f"half {2 - h}",
                    scale=effects.scale,
                    comparator_rule=rule_text(other),
                    parent_rule="" if parent == 0 else rule_text(nodes[parent][0]),
                    level=depth[first],
                    outside_effect=rest,
                    outside_se=rest_se,
                    shrunken_effect=shrunken.get(first, (float("nan"),) * 2)[0],
                    shrunken_se=shrunken.get(first, (float("nan"),) * 2)[1],
                    extra={"depth": depth[first]},
                )
            )  # fmt: skip
    return _adjust(_pool(found, z), heterogeneity_detected, params.alpha, level, sign)


def _shrunken_by_depth(nodes: dict[int, tuple], depth: dict[int, int]) -> dict[int, tuple[float, float]]:
    """Empirical-Bayes shrunken (effect, se) per node, shrunk together with the other nodes of its depth (disjoint)."""
    out: dict[int, tuple[float, float]] = {}
    for d in sorted({depth[n] for n in nodes}):
        ids = [n for n in nodes if depth[n] == d and np.isfinite(nodes[n][2]) and nodes[n][2] > 0]
        if len(ids) < 2:
            continue
        result = shrink_estimates([nodes[n][1] for n in ids], [nodes[n][2] for n in ids])
        out.update({n: (float(b), float(se)) for n, b, se in zip(ids, result.estimates, result.standard_errors)})
    return out


def _node_depths(tree: DecisionTreeRegressor) -> dict[int, int]:
    t, depth = tree.tree_, {0: 0}
    for node in range(t.node_count):
        for child in (t.children_left[node], t.children_right[node]):
            if child != -1:
                depth[child] = depth[node] + 1
    return depth


def _candidate(conditions, eff, se, comp, comp_se, z, **fields) -> Subgroup:
    diff, diff_se = eff - comp, float(np.hypot(se, comp_se))
    p = float(2 * stats.norm.sf(abs(diff / diff_se))) if diff_se > 0 else 1.0
    return Subgroup(
        rule=rule_text(conditions),
        conditions=conditions,
        effect=eff,
        ci=(eff - z * se, eff + z * se),
        se=se,
        complement_effect=comp,
        complement_ci=(comp - z * comp_se, comp + z * comp_se),
        complement_se=comp_se,
        difference=diff,
        difference_ci=(diff - z * diff_se, diff + z * diff_se),
        p_value=p,
        **fields,
    )


def _inverse_variance(estimates: list[float], ses: list[float]) -> tuple[float, float]:
    w = 1 / np.asarray(ses, dtype=float) ** 2
    return float(np.sum(w * np.asarray(estimates)) / w.sum()), float(1 / np.sqrt(w.sum()))


def _pool(found: list[Subgroup], z: float) -> list[Subgroup]:
    """The same hypothesis found in both halves: combine its two honest estimates (inverse variance).

    The same hypothesis = the same S, the same comparator and the same parent; a split whose two
    halves disagree on which side benefits stays two hypotheses.
    """

    by_hypothesis: dict[tuple[str, str, str], list[Subgroup]] = {}
    for s in found:
        by_hypothesis.setdefault((s.rule, s.comparator_rule, s.parent_rule), []).append(s)
    pooled = []
    for group in by_hypothesis.values():
        if len(group) == 1:
            pooled.append(group[0])
            continue
        eff, se = _inverse_variance([s.effect for s in group], [s.se for s in group])
        comp, comp_se = _inverse_variance([s.complement_effect for s in group], [s.complement_se for s in group])
        rest, rest_se = _inverse_variance([s.outside_effect for s in group], [s.outside_se for s in group])
        first = group[0]
        merged = _candidate(
            first.conditions, eff, se, comp, comp_se, z,
            prevalence=float(np.mean([s.prevalence for s in group])),
            n_treated=sum(s.n_treated for s in group),
            n_control=sum(s.n_control for s in group),
            events_treated=None if first.events_treated is None else sum(s.events_treated for s in group),
            events_control=None if first.events_control is None else sum(s.events_control for s in group),
            found_on="both halves",
            estimation_halves=(0, 1),
            estimated_on="each half, for the rule found in the other",
            scale=first.scale,
            extra=first.extra,
            comparator_rule=first.comparator_rule,
            parent_rule=first.parent_rule,
            level=first.level,
            outside_effect=rest,
            outside_se=rest_se,
        )  # fmt: skip
        pooled.append(
            replace(
                merged,
                shrunken_effect=float(np.mean([s.shrunken_effect for s in group])),
                shrunken_se=float(np.mean([s.shrunken_se for s in group])),
            )
        )
    return pooled


def effects_outcome(data: TrialData, effects: EffectModel) -> np.ndarray:
    """The outcome the effect models analysed (pseudo-observations for time-to-event)."""
    return effects.outcome if effects.outcome.size else data.outcome[effects.retained]


ADJUSTMENT = (
    "graphical sequentially rejective procedure (Bretz et al. 2009): the splits of all patients share alpha (Holm among "
    "them); a refinement is tested only after its parent split was rejected, at the alpha its parent passes on"
)


def hypothesis_graph(found: list[Subgroup]) -> tuple[np.ndarray, np.ndarray]:
    """Initial alpha weights and transition matrix of the subgroup hypotheses (Bretz et al. 2009).

    Splits of all patients (level 1) share alpha equally; refinements start with weight 0, so they
    can be rejected only after their parent. A rejected hypothesis passes its alpha on: to its own
    refinements and to its peers (the other level-1 splits, or its siblings inside the same parent),
    half each when it has both, all to whichever exists. With every hypothesis at level 1 this is
    Holm's procedure. A refinement whose parent split is not among `found` is never testable.
    """
    m = len(found)

    def halves(s: Subgroup) -> set[int]:
        return set(s.estimation_halves or (0, 1))

    parent: list[int | None] = []
    for s in found:
        if s.level <= 1 or not s.parent_rule:
            parent.append(None)
            continue
        match = [
            j
            for j, r in enumerate(found)
            if r.level == s.level - 1 and s.parent_rule in (r.rule, r.comparator_rule) and halves(r) & halves(s)
        ]
        parent.append(match[0] if match else -1)
    roots = [i for i in range(m) if parent[i] is None]
    weights = np.zeros(m)
    weights[roots] = 1.0 / len(roots) if roots else 0.0
    transitions = np.zeros((m, m))
    for j in range(m):
        children = [i for i in range(m) if parent[i] == j]
        peers = [i for i in (roots if parent[j] is None else range(m)) if i != j and parent[i] == parent[j]]
        shares = [(group, 0.5 if children and peers else 1.0) for group in (children, peers) if group]
        for group, share in shares:
            transitions[j, group] += share / len(group)
    return weights, transitions


def _adjust(found: list[Subgroup], detected: bool, alpha: float, level: float = 0.95, sign: float = 1.0) -> list[Subgroup]:
    """Multiplicity-adjusted p-values over the subgroup hypotheses (`hypothesis_graph`); status from the
    adjusted p and the heterogeneity decision. Listed validated first, then by level and adjusted p, ties by
    the larger benefit (`sign` · effect; `sign` = −1 when lower outcomes are better), so a run on the negated
    outcome with `higher_is_better: false` lists the same rules in the same order.

    A validated subgroup was reported *because* its held-out difference was significant, so that
    estimate is biased away from zero given the report (winner's curse). Validated subgroups also
    carry estimates conditional on that selection (`selective_estimate`), with the threshold at which
    their own hypothesis was rejected (two-sided, at alpha times its share).
    """

    if not found:
        return []
    adjusted, shares = graphical_adjusted_p([s.p_value for s in found], *hypothesis_graph(found))
    out = []
    for s, p_adj, share in zip(found, adjusted, shares):
        status = "validated" if detected and p_adj < alpha else "exploratory"
        s = replace(s, p_adjusted=float(p_adj), status=status)
        if status == "validated":
            s = replace(s, alpha_share=float(share))
            s = _selection_adjusted(s, float(stats.norm.isf(alpha * share / 2)), level)
        out.append(s)
    return sorted(out, key=lambda s: (s.status != "validated", s.level, s.p_adjusted, -sign * s.effect))


def _selection_adjusted(s: Subgroup, z: float, level: float) -> Subgroup:
    """`s` with estimates conditional on |difference / se| > z (the event that validated it).

    The subgroup and complement estimates are independent (disjoint patients), so given the
    complement's estimate the subgroup's is a normal truncated to |effect − complement| > z·se_diff,
    and the same the other way round; the difference itself is truncated to |difference| > z·se_diff.
    """

    if not (np.isfinite(s.se) and np.isfinite(s.complement_se) and s.se > 0 and s.complement_se > 0):
        return s  # no standard errors to condition with
    # Validated means |difference| / se_diff passed z; min() only guards against rounding at the edge.
    cut = min(z * float(np.hypot(s.se, s.complement_se)), abs(s.difference))
    diff = selective_estimate(s.difference, float(np.hypot(s.se, s.complement_se)), -cut, cut, level)
    eff = selective_estimate(s.effect, s.se, s.complement_effect - cut, s.complement_effect + cut, level)
    comp = selective_estimate(s.complement_effect, s.complement_se, s.effect - cut, s.effect + cut, level)
    width = 2 * float(stats.norm.ppf(0.5 + level / 2))
    return replace(
        s,
        selection_z=z,
        adjusted_effect=eff[0],
        adjusted_ci=(eff[1], eff[2]),
        adjusted_se=(eff[2] - eff[1]) / width,
        adjusted_complement_effect=comp[0],
        adjusted_complement_se=(comp[2] - comp[1]) / width,
        adjusted_complement_ci=(comp[1], comp[2]),
        adjusted_difference=diff[0],
        adjusted_difference_ci=(diff[1], diff[2]),
    )


def events_by_arm(data: TrialData, rows: np.ndarray, inside: np.ndarray) -> dict[str, int | None]:
    """Responders (binary) or events (time to event) per arm among `rows` (analysed patients) inside the subgroup."""
    kind = data.spec.outcome.type
    if kind == "continuous":
        return {"events_treated": None, "events_control": None}
    values = (data.event if kind == "time_to_event" else data.outcome)[rows]
    T = data.treatment[rows]
    return {
        "events_treated": int(values[inside & (T == 1)].sum()),
        "events_control": int(values[inside & (T == 0)].sum()),
    }


def prespecified_subgroups(data: TrialData, effects: EffectModel, expressions: list[str], level: float = 0.95) -> list[Subgroup]:
    """Pre-specified subgroups estimated from the cross-fitted doubly robust scores of all patients.

    No rule was searched for, so every patient contributes; p-values of the difference from the
    complement are Holm-adjusted over the pre-specified list.
    """

    if not expressions:
        return []
    retained = effects.analysed(data.n)
    frame = data.features.loc[retained].reset_index(drop=True)
    T = data.treatment[retained]
    z = float(stats.norm.ppf(0.5 + level / 2))
    out = []
    for expression in expressions:
        conditions = parse_rule(expression, data)
        inside = members(conditions, frame)
        if inside.sum() < 2 or (~inside).sum() < 2:
            raise DataError(
                f"subgroups.prespecified: {expression!r} selects {int(inside.sum())} of {inside.size} patients; it needs both sides"
            )
        eff, se = _estimate(effects.scores, inside)
        comp, comp_se = _estimate(effects.scores, ~inside)
        out.append(
            _candidate(
                conditions, eff, se, comp, comp_se, z,
                prevalence=float(inside.mean()),
                n_treated=int(T[inside].sum()),
                n_control=int((1 - T[inside]).sum()),
                **events_by_arm(data, np.flatnonzero(retained), inside),
                found_on="pre-specified",
                estimated_on="all patients (cross-fitted scores)",
                scale=effects.scale,
                # the comparator is everyone else; reported only with min_cell per arm on both sides (to_dict)
                extra={"comparator_n": (int(T[~inside].sum()), int((1 - T[~inside]).sum())), "n_total": int(inside.size)},
            )
        )  # fmt: skip
    adjusted = holm([s.p_value for s in out])
    return [replace(s, p_adjusted=float(a), status="pre-specified") for s, a in zip(out, adjusted)]
