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

import re
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold
from sklearn.tree import DecisionTreeRegressor

from subgroups.data import TrialData
from subgroups.effects import EffectModel
from subgroups.errors import DataError, ParameterError
from subgroups.inference import graphical_adjusted_p, holm
from subgroups.params import SubgroupParams
from subgroups.privacy import rounded_share, suppress_count, suppress_events, too_small_reason, too_small_record

NUMERIC_OPS = {
    "le": ("≤", np.less_equal),
    "lt": ("<", np.less),
    "gt": (">", np.greater),
    "ge": ("≥", np.greater_equal),
    "eq": ("=", np.equal),
    "ne": ("≠", np.not_equal),
}
_PARSE_OPS = {"<=": "le", "<": "lt", ">=": "ge", ">": "gt", "==": "eq", "=": "eq", "!=": "ne"}
_EXPRESSION = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(<=|>=|==|!=|<|>|=|not in|in)\s*(.+?)\s*$")


@dataclass(frozen=True)
class Condition:
    """One clause of a rule, on an original feature: numeric (<=, >), category set, or missingness."""

    feature: str
    kind: str  # "le", "gt", "in", "missing", "recorded"
    value: Any = None  # threshold (numeric) or tuple of levels (categorical)
    integer: bool = False
    genetic: bool = False

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        col = frame[self.feature]
        if self.kind in ("missing", "recorded"):
            isna = col.isna().to_numpy()
            return isna if self.kind == "missing" else ~isna
        if self.kind == "in":
            return col.astype("string").fillna("(missing)").isin(list(self.value)).to_numpy()
        if self.kind == "not_in":
            return ~col.astype("string").fillna("(missing)").isin(list(self.value)).to_numpy()
        values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            return NUMERIC_OPS[self.kind][1](values, float(self.value))

    @property
    def text(self) -> str:
        if self.kind == "missing":
            return f"{self.feature} missing"
        if self.kind == "recorded":
            return f"{self.feature} recorded"
        if self.kind in ("in", "not_in"):
            levels = sorted(self.value)
            if self.kind == "not_in":
                return f"{self.feature} not in {{{', '.join(levels)}}}"
            return f"{self.feature} = {levels[0]}" if len(levels) == 1 else f"{self.feature} in {{{', '.join(levels)}}}"
        if self.kind not in ("le", "gt"):
            return f"{self.feature} {NUMERIC_OPS[self.kind][0]} {self.value:g}"
        if self.integer:
            if self.kind == "gt":
                bound = int(np.floor(self.value)) + 1
                label = " (carrier)" if self.genetic and bound == 1 else " (homozygous)" if self.genetic and bound == 2 else ""
                return f"{self.feature} ≥ {bound}{label}"
            bound = int(np.floor(self.value))
            label = " (non-carrier)" if self.genetic and bound == 0 else ""
            return f"{self.feature} = 0{label}" if bound == 0 and self.genetic else f"{self.feature} ≤ {bound}"
        return f"{self.feature} {'≤' if self.kind == 'le' else '>'} {self.value:.4g}"


def members(conditions: tuple[Condition, ...], frame: pd.DataFrame) -> np.ndarray:
    """Rows of `frame` (original feature columns) that meet every condition."""
    inside = np.ones(len(frame), dtype=bool)
    for condition in conditions:
        inside &= condition.mask(frame)
    return inside


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
        """Boolean membership of each row of `df` (original feature columns), aligned to `df.index`:
        `df[s.contains(df)]` are the subgroup's patients. `members(s.conditions, df)` gives a plain array."""
        return pd.Series(members(self.conditions, df), index=df.index, name=self.rule, dtype=bool)

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
            "events_treated": _suppress_events(self.events_treated, self.n_treated, min_cell),
            "events_control": _suppress_events(self.events_control, self.n_control, min_cell),
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


def within_scores(X: np.ndarray, T: np.ndarray, Y: np.ndarray, e: np.ndarray, model: Any, folds: int, seed: int) -> np.ndarray:
    """AIPW scores of a set of patients from outcome models cross-fitted inside that set only."""
    mu0, mu1 = np.empty(T.size), np.empty(T.size)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    binary = hasattr(model, "predict_proba")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for train, test in splitter.split(X, T):
            for arm, target in ((0, mu0), (1, mu1)):
                rows = train[T[train] == arm]
                fitted = clone(model).fit(X[rows], Y[rows])
                target[test] = fitted.predict_proba(X[test])[:, 1] if binary else fitted.predict(X[test])
    return mu1 - mu0 + T * (Y - mu1) / e - (1 - T) * (Y - mu0) / (1 - e)


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


#: A rounded threshold may move at most this share of patients across the tree's own cut-point.
ROUNDING_TOLERANCE = 0.05


def round_threshold(threshold: float, column: pd.Series) -> float:
    """The tree's cut-point rounded to 2 significant digits (32.63 -> 33, 7.144 -> 7.1), or to more
    digits when 2 would move more than `ROUNDING_TOLERANCE` of the patients to the other side (a year
    2015.5 stays 2016, never 2000).

    The rule is rounded before its effect is estimated, so the printed rule is the estimated rule;
    only the features (never outcomes) decide the rounding.
    """
    values = pd.to_numeric(column, errors="coerce").dropna().to_numpy(dtype=float)
    if not np.isfinite(threshold) or threshold == 0 or values.size == 0:
        return threshold
    below = values <= threshold
    for digits in range(2, 16):
        rounded = float(f"{threshold:.{digits}g}")
        if np.mean((values <= rounded) != below) <= ROUNDING_TOLERANCE:
            return rounded
    return threshold


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
    scores = {
        h: within_scores(X[half == h], T[half == h], Y[half == h], e[half == h], effects.nuisance_family, folds, seed)
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


def rule_text(conditions: tuple[Condition, ...]) -> str:
    return " and ".join(c.text for c in conditions)


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
    return _adjust(_pool(found, z), heterogeneity_detected, params.alpha, level)


def _shrunken_by_depth(nodes: dict[int, tuple], depth: dict[int, int]) -> dict[int, tuple[float, float]]:
    """Empirical-Bayes shrunken (effect, se) per node, shrunk together with the other nodes of its depth (disjoint)."""
    from subgroups.design import shrink_estimates

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


def _adjust(found: list[Subgroup], detected: bool, alpha: float, level: float = 0.95) -> list[Subgroup]:
    """Multiplicity-adjusted p-values over the subgroup hypotheses (`hypothesis_graph`); status from the
    adjusted p and the heterogeneity decision.

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
    return sorted(out, key=lambda s: (s.status != "validated", s.level, s.p_adjusted, -s.effect))


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


def selective_estimate(t: float, se: float, low: float, high: float, level: float = 0.95) -> tuple[float, float, float]:
    """Median-unbiased estimate and equal-tailed CI of μ, from T ~ N(μ, se²) reported only because T ≤ low or T ≥ high.

    Inverts the CDF of the truncated normal (Lee, Sun, Sun & Taylor 2016, Ann. Statist.; the
    conditional median-unbiased estimator of Andrews, Kitagawa & McCloskey 2024, QJE): μ̂ solves
    P_μ(T ≤ t | selected) = 1/2, the CI ends solve it at (1 ± level)/2. With low = high (no
    selection) it returns t and t ∓ z·se. Returns (estimate, ci_low, ci_high).
    """
    if not (se > 0 and np.isfinite(t)) or low > high or low < t < high:
        raise ParameterError(
            f"selective_estimate: t={t!r} lies inside the excluded interval ({low!r}, {high!r}) or se={se!r} ≤ 0"
        )
    upper = t >= high  # which side of the excluded interval t lies on

    def log_tail(mu: float) -> float:
        # log P_mu(T beyond t, on t's side | selected)
        a, b, x = (low - mu) / se, (high - mu) / se, (t - mu) / se
        mass = np.logaddexp(stats.norm.logcdf(a), stats.norm.logsf(b))
        return float((stats.norm.logsf(x) if upper else stats.norm.logcdf(x)) - mass)

    span = 40 * se + (high - low)
    bracket = (min(t, low) - span, max(t, high) + span)

    def solve(q: float) -> float:
        # q = P(T ≤ t | selected); on the upper side the tail above t is 1 − q, below it q.
        target = np.log(1 - q) if upper else np.log(q)
        sign = 1.0 if upper else -1.0  # the upper tail grows with mu, the lower tail shrinks
        return float(optimize.brentq(lambda mu: sign * (log_tail(mu) - target), *bracket, xtol=1e-10 * se))

    alpha = 1 - level
    return solve(0.5), solve(1 - alpha / 2), solve(alpha / 2)


def parse_rule(expression: str, data: TrialData) -> tuple[Condition, ...]:
    """A pre-specified rule such as ``age >= 65 and smoking in [never, former]`` (``&`` also joins conditions)."""
    return tuple(parse_condition(part, data) for part in re.split(r"\s+and\s+|\s*&\s*", expression))


def parse_condition(expression: str, data: TrialData) -> Condition:
    """A pre-specified condition such as ``age >= 65``, ``female == 1`` or ``smoking in [never, former]``."""
    match = _EXPRESSION.match(expression)
    if not match:
        raise ParameterError(
            f"subgroups.prespecified: cannot read {expression!r}; write e.g. 'age >= 65' or 'smoking in [never, former]'"
        )
    feature, op, raw = match.groups()
    if feature not in data.features.columns:
        raise DataError(f"subgroups.prespecified: {expression!r} names '{feature}', which is not an analysed feature")
    if op in ("in", "not in"):
        levels = tuple(part.strip().strip("'\"") for part in raw.strip("[](){}").split(",") if part.strip())
        return Condition(feature, "in" if op == "in" else "not_in", levels)
    value = raw.strip().strip("'\"")
    if feature in data.encoder.categorical:
        if op not in ("==", "=", "!="):
            raise ParameterError(f"subgroups.prespecified: {expression!r}: '{feature}' is categorical; use ==, != or in [...]")
        return Condition(feature, "in" if op != "!=" else "not_in", (value,))
    try:
        number = float(value)
    except ValueError:
        raise ParameterError(f"subgroups.prespecified: {expression!r}: '{value}' is not a number") from None
    return Condition(feature, _PARSE_OPS[op], number)


def _suppress_events(events: int | None, n: int, min_cell: int) -> int | str | None:
    """Events shown unless they ("<min_cell"), or the patients without one (n minus events, since n is shown;
    then "suppressed"), are a small cell (`subgroups.privacy.suppress_events`)."""
    return suppress_events(events, n, min_cell)


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


def hazard_ratios(data: TrialData, effects: EffectModel, subgroup: Subgroup | None, seed: int) -> dict[str, tuple[float, float]]:
    """Log hazard ratios (treated vs control, Cox) with SEs in the subgroup, its complement and overall.

    The subgroup's and complement's come from the half (or halves) its effect was estimated on,
    never the half that found it; the overall one from every analysed patient (it was not searched
    for). Keys: "subgroup", "complement", "overall" (only "overall" without a subgroup); values
    (log HR, SE), NaN where a group has no event in an arm. In an observational study each is
    adjusted for confounding: a Cox model weighted by inverse probabilities of the treatment
    received, from the cross-fitted propensity, with the robust variance (Austin 2016; Lin & Wei
    1989); in a randomized trial an unweighted Cox model.
    """
    from subgroups.outcomes import ipw_weights

    retained = effects.analysed(data.n)
    time, event, T = data.outcome[retained], data.event[retained], data.treatment[retained]
    weights = None if data.spec.study == "rct" else ipw_weights(T, effects.propensity)
    out = {"overall": _log_hazard_ratio(time, event, T, np.ones(T.size, dtype=bool), weights)}
    if subgroup is None:
        return out
    half = split_halves(T, seed)
    estimation = np.isin(half, subgroup.estimation_halves) if subgroup.estimation_halves else np.ones(T.size, dtype=bool)
    inside = subgroup.contains(data.features.loc[retained].reset_index(drop=True)).to_numpy()
    return {
        "subgroup": _log_hazard_ratio(time, event, T, estimation & inside, weights),
        "complement": _log_hazard_ratio(time, event, T, estimation & ~inside, weights),
        **out,
    }


def _log_hazard_ratio(
    time: np.ndarray, event: np.ndarray, T: np.ndarray, rows: np.ndarray, weights: np.ndarray | None = None
) -> tuple[float, float]:
    from subgroups.outcomes import cox_hazard_ratio

    return cox_hazard_ratio(time[rows], event[rows], T[rows], None if weights is None else weights[rows])


def subgroup_profile(data: TrialData, subgroup: Subgroup, min_cell: int = 10, top: int = 5) -> pd.DataFrame:
    """How patients in the subgroup differ from the rest, feature by feature, grouped by family.

    Numeric features: mean inside and outside; categorical features: the share of each level. The
    standardized difference (difference / pooled SD; for a level, of the 0/1 indicator) orders
    the `top` features of each family. Aggregates only (`subgroups.privacy`): a level (or the 1s of a
    0/1 feature) is shown only when, inside and outside the subgroup, at least `min_cell` patients
    have it and at least `min_cell` do not (a share near 0% or 100% would give a small count away);
    a subgroup too small to report has no profile.
    """
    columns = ["family", "feature", "in subgroup", "rest", "standardized difference", "share"]
    frame = data.features
    inside = subgroup.contains(frame).to_numpy()
    if subgroup.extra.get("too_small") or too_small_reason((subgroup.n_treated, subgroup.n_control), None, min_cell):
        return pd.DataFrame(columns=columns)

    def safe(flag: np.ndarray) -> bool:
        cells = [flag[side].sum() for side in (inside, ~inside)] + [(1 - flag)[side].sum() for side in (inside, ~inside)]
        return min(cells) >= min_cell

    rows = []
    for name, family in data.family_of.items():
        column = frame[name]
        if name in data.encoder.categorical:
            for level in data.encoder.categorical[name]:
                flag = data.X[f"{name}={level}"].to_numpy(dtype=float)  # the encoder's level indicator
                if safe(flag):
                    rows.append(_profile_row(family, f"{name} = {level}", flag, inside, share=True))
        else:
            values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
            recorded = values[np.isfinite(values)]
            if recorded.size and np.isin(recorded, (0.0, 1.0)).all() and not safe(np.nan_to_num(values) == 1):
                continue  # a 0/1 feature's mean is a share
            rows.append(_profile_row(family, name, values, inside, share=False))
    profile = pd.DataFrame(rows, columns=columns)
    order = profile["standardized difference"].abs().fillna(0)
    profile = profile.assign(_order=-order).sort_values(["family", "_order"], kind="stable")
    profile = profile.groupby("family", sort=False).head(top).drop(columns="_order")
    families = {f: i for i, f in enumerate(("genetic", "lifestyle", "disease", "other"))}
    return profile.sort_values("family", key=lambda s: s.map(families), kind="stable").reset_index(drop=True)


def _profile_row(family: str, label: str, values: np.ndarray, inside: np.ndarray, share: bool) -> list[Any]:
    a, b = values[inside], values[~inside]
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    mean_a, mean_b = (float(a.mean()) if a.size else float("nan")), (float(b.mean()) if b.size else float("nan"))
    pooled = float(np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)) if a.size > 1 and b.size > 1 else float("nan")
    smd = (mean_a - mean_b) / pooled if pooled > 0 else 0.0
    return [family, label, mean_a, mean_b, smd, share]
