"""Subgroups: recovery of the true subgroup, honest estimation, and multiplicity."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from subgroups.datasets.synthetic import simulate_trial
from subgroups.rules import (
    Subgroup,
    _adjust,
    discover_rules,
    estimate_rule,
    graphical_adjusted_p,
    hypothesis_graph,
    split_for_rules,
)


def test_demo_finds_carriers_with_an_honest_ci(demo_analysis):
    carriers = [s for s in demo_analysis.subgroups if s.rule == "snp_01 ≥ 1 (carrier)"]
    assert carriers, [s.rule for s in demo_analysis.subgroups]
    best = carriers[0]
    assert best.status == "validated" and best.p_adjusted < 0.05
    assert best.ci[0] <= 0.477 <= best.ci[1]  # true effect in carriers (docs/simulation.md §4, PM-SNP b1_rel = 2)
    assert best.complement_ci[0] <= -0.060 <= best.complement_ci[1]
    fresh = simulate_trial("PM-SNP", n=2000, seed=123, b1_rel=2)
    assert (best.contains(fresh.data) == fresh.true_subgroup).mean() == 1.0
    first = demo_analysis.subgroups[0]
    assert first.status == "validated"
    assert demo_analysis.results["subgroups"]["conclusion"].startswith("Validated subgroup")


def test_discovery_and_estimation_use_different_patients(demo_analysis):
    data, effects, seed = demo_analysis.data, demo_analysis.effects, 7
    params = demo_analysis.params.subgroups
    split = split_for_rules(data, effects, seed)
    rng = np.random.default_rng(0)
    for h in (0, 1):
        noisy = effects.outcome.copy()
        noisy[split.half == 1 - h] += rng.normal(0, 5, int((split.half == 1 - h).sum()))
        changed = split_for_rules(data, dataclasses.replace(effects, outcome=noisy), seed)
        # Rules found in half h do not move when the other half's outcomes change ...
        before = [(tuple(c.text for c in cond), d) for cond, d in discover_rules(split, data, params, seed, h)]
        after = [(tuple(c.text for c in cond), d) for cond, d in discover_rules(changed, data, params, seed, h)]
        assert before == after
        # ... and estimates made in half h do not move when the other half's outcomes (which found the rule) change.
        for conditions, _ in discover_rules(split, data, params, seed, 1 - h):
            np.testing.assert_allclose(estimate_rule(split, conditions, h)[:4], estimate_rule(changed, conditions, h)[:4])
        assert not np.allclose(split.scores[1 - h], changed.scores[1 - h])


def test_no_validated_subgroup_without_detected_heterogeneity(demo_analysis):
    undetected = _adjust(list(demo_analysis.subgroups), detected=False, alpha=0.05)
    assert undetected and all(s.status == "exploratory" for s in undetected)


def test_holm_adjustment():
    from subgroups.rules import Subgroup

    template = Subgroup("r", (), 0.0, (0, 0), 1, 0, (0, 0), 0, (0, 0), 0.01)
    found = [dataclasses.replace(template, rule=f"r{i}", p_value=p) for i, p in enumerate([0.01, 0.04, 0.03, 0.5])]
    adjusted = {s.rule: s.p_adjusted for s in _adjust(found, detected=True, alpha=0.05)}
    assert adjusted == pytest.approx({"r0": 0.04, "r2": 0.09, "r1": 0.09, "r3": 0.5})


def test_prespecified_subgroups_use_all_patients(demo_analysis):
    from subgroups.rule_language import parse_condition
    from subgroups.rules import prespecified_subgroups

    a = demo_analysis
    found = prespecified_subgroups(a.data, a.effects, ["snp_01 >= 1", "smoking in [never, former] and severity > 50"])
    carriers, combo = found
    assert carriers.rule == "snp_01 ≥ 1 (carrier)" and carriers.status == "pre-specified"
    assert carriers.ci[0] <= 0.477 <= carriers.ci[1]
    assert carriers.n_treated + carriers.n_control == int((a.data.features["snp_01"] >= 1).sum())
    assert carriers.p_value <= carriers.p_adjusted <= min(1.0, 2 * carriers.p_value)
    assert combo.rule == "smoking in {former, never} and severity > 50"
    assert parse_condition("smoking == current", a.data).text == "smoking = current"
    with pytest.raises(Exception, match="cannot read"):
        parse_condition("age ~ 3", a.data)
    with pytest.raises(Exception, match="not an analysed feature"):
        parse_condition("height > 3", a.data)
    assert len(a.results["subgroups"]["prespecified"]) == len(a.params.subgroups.prespecified) == 4


@pytest.mark.slow
def test_binary_subgroups_report_events_per_arm():
    from subgroups import analyze

    sim = simulate_trial("PM-LIFESEV", n=800, seed=4, b1_rel=2)
    params = {
        "name": "b",
        "data": {"treatment": {"column": "arm", "treated": "drug", "control": "placebo"}, "id_column": "patient_id",
                 "outcome": {"column": "response", "type": "binary"}},
        "estimation": {"n_estimators": 100, "nuisance_iterations": 60, "folds": 3, "shap_rows": 50},
        "subgroups": {"prespecified": ["severity >= 50"]},
    }  # fmt: skip
    a = analyze(sim.data, params)
    pre = a.results["subgroups"]["prespecified"][0]
    inside = (sim.data["severity"] >= 50).to_numpy()
    treated = (sim.data["arm"] == "drug").to_numpy()
    assert pre["events_treated"]["value"] == int(sim.data["response"][inside & treated].sum())
    for c in a.results["subgroups"]["candidates"]:
        for arm in ("treated", "control"):
            events, n = c[f"events_{arm}"], c[f"n_{arm}"]
            assert events["suppressed"] or (isinstance(n["value"], int) and 0 <= events["value"] <= n["value"])


def test_rule_tree_draws_every_first_split_and_its_refinements():
    """One box per side of each hypothesis: a first split (subgroup and complement), then each refinement
    (subgroup and sibling) under the side it splits, with the numbers the table reports."""
    import matplotlib

    matplotlib.use("Agg")
    from subgroups import plots

    def hypothesis(rule, comparator, status="exploratory", parent=None, effect=0.1, prevalence=0.3):
        reported = {"estimator": "held-out", "effect": effect, "ci_low": effect - 0.1, "ci_high": effect + 0.1}
        reported |= {"comparator_effect": -0.05, "comparator_ci_low": -0.15, "comparator_ci_high": 0.05}
        return {"rule": rule, "comparator": comparator, "parent": parent, "level": 2 if parent else 1, "status": status,
                "prevalence": prevalence, "reported": reported}  # fmt: skip

    candidates = [
        hypothesis("a ≥ 1", "a = 0", "validated", effect=0.42),
        hypothesis("a ≥ 1 and b > 2", "a ≥ 1 and b ≤ 2", parent="a ≥ 1", prevalence=0.1),
        hypothesis("a = 0 and c > 1", "a = 0 and c ≤ 1", parent="a = 0", prevalence=0.45),
    ]
    ax = plots.rule_tree(candidates, {"estimate": 0.05, "ci_low": 0.0, "ci_high": 0.1, "scale": "difference in means"})
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 1 + 2 * len(candidates)  # all patients, then two sides per hypothesis
    assert texts[0].startswith("All patients")
    assert {"… and b > 2", "… and b ≤ 2", "… and c > 1", "… and c ≤ 1"} <= {t.split("\n")[0] for t in texts}
    carriers = next(t for t in texts if t.startswith("a ≥ 1\n"))
    assert "+0.42 (0.32 to 0.52)" in carriers  # the reported estimate, formatted as in the table
    # both sides carry their own share of all patients and the status of the split (not of either side alone)
    assert sum("validated split" in t for t in texts) == 2 and sum("exploratory split" in t for t in texts) == 4
    shares = {t.split("\n")[0]: t.split("\n")[2] for t in texts[1:]}
    assert shares["a ≥ 1"] == "30% of patients" and shares["a = 0"] == "70% of patients"
    assert shares["… and b > 2"] == "10% of patients" and shares["… and b ≤ 2"] == "20% of patients"
    assert shares["… and c > 1"] == "45% of patients" and shares["… and c ≤ 1"] == "25% of patients"


def test_validated_subgroups_carry_estimates_adjusted_for_selection(demo_analysis):
    for s in demo_analysis.subgroups:
        entry = next(c for c in demo_analysis.results["subgroups"]["candidates"] if c["rule"] == s.rule)
        if s.status != "validated":
            assert entry["selection_adjusted"] is None and s.reported_effect == s.effect
            continue
        assert entry["selection_adjusted"]["effect"] == pytest.approx(s.adjusted_effect)
        assert s.selection_z >= 1.95996
        # Pulled from the raw held-out estimate toward the complement, never past it.
        lo, hi = sorted((s.effect, s.complement_effect))
        assert lo <= s.adjusted_effect <= hi
        assert s.adjusted_ci[0] <= s.adjusted_effect <= s.adjusted_ci[1]
    # The demo's carriers are far past the threshold: the adjustment is then negligible.
    carriers = next(s for s in demo_analysis.subgroups if s.rule == "snp_01 ≥ 1 (carrier)")
    assert abs(carriers.difference) / np.hypot(carriers.se, carriers.complement_se) > carriers.selection_z + 2
    assert carriers.adjusted_effect == pytest.approx(carriers.effect, abs=0.02)


def test_a_barely_significant_subgroup_is_pulled_toward_its_complement():
    base = dict(conditions=(), ci=(0, 0), complement_ci=(0, 0), difference_ci=(0, 0))
    # difference 0.62 with se 0.25: z = 2.48, just past the 2.39 of the first of 6 Holm steps.
    barely = Subgroup(
        rule="r", effect=0.6, se=0.2, complement_effect=-0.02, complement_se=0.15, difference=0.62, p_value=0.0131, **base
    )
    others = [dataclasses.replace(barely, rule=f"o{i}", p_value=0.5 + i / 20, difference=0.01) for i in range(5)]
    (s,) = [x for x in _adjust([barely, *others], detected=True, alpha=0.1) if x.rule == "r"]
    assert s.status == "validated" and s.selection_z == pytest.approx(2.394, abs=1e-3)
    assert -0.02 < s.adjusted_effect < 0.3  # most of the raw 0.6 was selection
    assert s.adjusted_complement_effect > -0.02
    assert s.adjusted_ci[0] < 0 < s.adjusted_ci[1]
    assert s.planning_estimates()[0] == s.adjusted_effect


def test_the_demo_reports_one_validated_hypothesis_carriers_vs_non_carriers(demo_analysis):
    """Truth: only carriers of snp_01 benefit. One split, one row, one validated hypothesis; refinements
    are judged by their interaction inside the parent, which the true model does not have."""
    validated = [s for s in demo_analysis.subgroups if s.status == "validated"]
    assert [s.hypothesis for s in validated] == ["snp_01 ≥ 1 (carrier) vs snp_01 = 0 (non-carrier)"]
    splits = [s for s in demo_analysis.subgroups if s.level == 1]
    assert len({frozenset((s.rule, s.comparator_rule)) for s in splits}) == len(splits)  # never S and not-S twice
    refinements = [s for s in demo_analysis.subgroups if s.level == 2]
    assert refinements and all(s.parent_rule in ("snp_01 ≥ 1 (carrier)", "snp_01 = 0 (non-carrier)") for s in refinements)
    for s in refinements:  # the comparator is the sibling inside the parent, not everyone outside S
        assert s.comparator_rule.startswith(s.parent_rule + " and ") and s.rule.startswith(s.parent_rule + " and ")
        assert s.difference == pytest.approx(s.effect - s.complement_effect)
        assert s.rest_effect[0] != pytest.approx(s.complement_effect)
    entry = demo_analysis.results["subgroups"]["candidates"][0]
    assert (
        entry["hypothesis"] == validated[0].hypothesis
        and entry["level"] == 1
        and entry["comparator"] == "snp_01 = 0 (non-carrier)"
    )


def _hypothesis(rule, p, level=1, parent="", comparator=""):
    base = Subgroup(rule, (), 0.0, (0, 0), 1, 0, (0, 0), 0, (0, 0), p)
    return dataclasses.replace(base, level=level, parent_rule=parent, comparator_rule=comparator or f"not {rule}")


def test_a_refinement_is_tested_only_after_its_parent_with_the_alpha_it_passes_on():
    root = _hypothesis("A", 0.001, comparator="B")
    kids = [_hypothesis("A and x", 0.02, 2, "A"), _hypothesis("B and y", 0.03, 2, "B")]
    weights, transitions = hypothesis_graph([root, *kids])
    assert list(weights) == [1, 0, 0]  # refinements start with no alpha
    assert transitions[0].tolist() == [0, 0.5, 0.5] and transitions[1].tolist() == [0, 0, 1]
    adjusted, shares = graphical_adjusted_p([0.001, 0.02, 0.03], weights, transitions)
    # The root is rejected at alpha; each refinement then gets alpha / 2, and the first rejected passes its share on.
    assert adjusted == pytest.approx([0.001, 0.04, 0.04]) and shares == pytest.approx([1, 0.5, 1])
    # A parent that is not rejected keeps its refinements from being validated, however small their p.
    weak = _adjust([dataclasses.replace(root, p_value=0.2), dataclasses.replace(kids[0], p_value=1e-9)], True, 0.05)
    assert [s.status for s in weak] == ["exploratory", "exploratory"] and min(s.p_adjusted for s in weak) == pytest.approx(0.2)
    # A refinement whose parent split is missing can never be validated.
    (orphan,) = _adjust([dataclasses.replace(kids[0], p_value=1e-9)], True, 0.05)
    assert orphan.status == "exploratory" and orphan.p_adjusted == 1.0


@pytest.mark.slow
def test_the_subgroup_hypotheses_hold_the_family_wise_error():
    """Two level-1 splits, each with two refinements, all null with independent uniform p-values:
    the graphical procedure rejects any of them in at most alpha of trials (3 Monte-Carlo SE)."""
    rng = np.random.default_rng(5)
    found = [
        _hypothesis("A", 0.5, comparator="B"),
        _hypothesis("C", 0.5, comparator="D"),
        _hypothesis("A and x", 0.5, 2, "A"),
        _hypothesis("B and y", 0.5, 2, "B"),
        _hypothesis("C and z", 0.5, 2, "C"),
        _hypothesis("D and w", 0.5, 2, "D"),
    ]
    weights, transitions = hypothesis_graph(found)
    assert weights.sum() == pytest.approx(1) and np.all(transitions.sum(axis=1) <= 1 + 1e-12)
    reps = 20_000
    rejected = np.array([graphical_adjusted_p(rng.uniform(size=6), weights, transitions)[0].min() < 0.05 for _ in range(reps)])
    assert abs(rejected.mean() - 0.05) < 3 * np.sqrt(0.05 * 0.95 / reps)  # exhausts alpha, never exceeds it


def test_tree_cut_points_are_rounded_before_estimation_without_moving_patients():
    """32.63 -> 33 and 7.144 -> 7.1 on spread-out features; a year keeps the digits it needs; the rule
    that is estimated is the rounded one (its printed text is its mask)."""
    from subgroups.rule_language import ROUNDING_TOLERANCE, round_threshold

    rng = np.random.default_rng(4)
    bmi, activity = pd.Series(rng.normal(30, 5, 2000)), pd.Series(rng.gamma(4, 2, 2000))
    assert round_threshold(32.63, bmi) == 33.0
    assert round_threshold(7.144, activity) == 7.1
    year = pd.Series(rng.uniform(2005, 2025, 2000))  # e.g. a decimal calendar year
    assert round_threshold(2015.5, year) == 2016.0  # 2 digits (2000) would move half the patients
    for threshold, column in ((32.63, bmi), (7.144, activity), (2015.5, year)):
        moved = np.mean((column <= round_threshold(threshold, column)) != (column <= threshold))
        assert moved <= ROUNDING_TOLERANCE


def test_within_scores_survive_an_arm_part_without_events():
    """A rare binary outcome: inside a half, some cross-fitting part of an arm holds no event. That arm's outcome
    model there predicts the observed rate (0) instead of stopping the run with scikit-learn's one-class error."""
    from subgroups.effects import _classifier
    from subgroups.params import EstimationParams
    from subgroups.rules import within_scores

    rng = np.random.default_rng(0)
    T = np.tile([0, 1], 40)
    Y = np.zeros(80)
    Y[[0, 2, 4]] = 1.0  # three events, all on control: the treated arm never has one
    X = rng.normal(size=(80, 3))
    scores = within_scores(X, T, Y, np.full(80, 0.5), _classifier(EstimationParams()), folds=5, seed=0)
    assert np.all(np.isfinite(scores))
    # treated patients' outcome model predicts 0 events, so their score is μ̂₁ − μ̂₀ + (0 − 0)/0.5 = −μ̂₀ ≤ 0
    assert np.all(scores[T == 1] <= 0) and scores[T == 1].min() > -0.2


@pytest.mark.slow
def test_negating_the_outcome_with_lower_is_better_mirrors_every_finding(demo_analysis, demo_truth):
    """The demo's outcome negated and declared lower-is-better is the same trial: every effect changes sign, and the
    tests, the subgroup hypotheses (in the same order), their p-values and the designs' sizes stay as they were."""
    from support import demo_tree

    import subgroups

    tree = demo_tree()
    tree["data"].pop("simulation")
    tree["data"]["source"] = None
    tree["data"]["outcome"]["higher_is_better"] = False
    mirror = subgroups.analyze(demo_truth.data.assign(response=-demo_truth.data["response"]), tree).results
    base = demo_analysis.results
    assert mirror["ate"]["estimate"] == pytest.approx(-base["ate"]["estimate"], abs=1e-9)
    assert (mirror["ate"]["ci_low"], mirror["ate"]["ci_high"]) == pytest.approx((-base["ate"]["ci_high"], -base["ate"]["ci_low"]))
    assert mirror["heterogeneity"]["detected"] == base["heterogeneity"]["detected"]
    assert mirror["heterogeneity"]["p_value"] == pytest.approx(base["heterogeneity"]["p_value"])
    for key in ("autoc", "qini"):  # ranked by predicted benefit, on the benefit scale: as before
        assert mirror["heterogeneity"][key]["estimate"] == pytest.approx(base["heterogeneity"][key]["estimate"])
    assert mirror["heterogeneity"]["toc"]["toc"] == pytest.approx(base["heterogeneity"]["toc"]["toc"])
    ours, theirs = base["subgroups"]["candidates"], mirror["subgroups"]["candidates"]
    assert [c["hypothesis"] for c in theirs] == [c["hypothesis"] for c in ours]  # same rules, same order
    assert [c["status"] for c in theirs] == [c["status"] for c in ours]
    assert [c["p_adjusted"] for c in theirs] == pytest.approx([c["p_adjusted"] for c in ours])
    assert [c["reported"]["effect"] for c in theirs] == pytest.approx([-c["reported"]["effect"] for c in ours])
    assert mirror["design"]["recommended"] == base["design"]["recommended"]
    sizes = {o["design"]: o["n_randomized"] for o in base["design"]["options"]}
    assert {o["design"]: o["n_randomized"] for o in mirror["design"]["options"]} == sizes


@pytest.mark.slow
def test_a_binary_outcome_coded_the_other_way_mirrors_every_finding():
    """A responder outcome y with higher better, and the same trial coded 1 − y (non-response) with lower better:
    risk differences change sign; tests, rules (in order), adjusted p-values and design sizes stay the same."""
    from support import FAST, demo_tree

    import subgroups

    frame = simulate_trial("PM-SNP", n=1000, seed=21, b1_rel=2).data
    frame["response"] = (frame["response"] > frame["response"].median()).astype(int)

    def analysed(data, higher_is_better):
        tree = {**demo_tree(), **FAST}
        tree["data"].pop("simulation")
        tree["data"]["source"] = None
        tree["data"]["outcome"].update({"type": "binary", "higher_is_better": higher_is_better})
        return subgroups.analyze(data, tree).results

    base, mirror = analysed(frame, True), analysed(frame.assign(response=1 - frame["response"]), False)
    assert mirror["ate"]["estimate"] == pytest.approx(-base["ate"]["estimate"], abs=1e-9)
    h, m = base["heterogeneity"], mirror["heterogeneity"]
    assert (m["detected"], m["p_value"]) == (h["detected"], pytest.approx(h["p_value"]))
    assert [m[k]["estimate"] for k in ("autoc", "qini")] == pytest.approx([h[k]["estimate"] for k in ("autoc", "qini")])
    ours, theirs = base["subgroups"]["candidates"], mirror["subgroups"]["candidates"]
    assert [c["hypothesis"] for c in theirs] == [c["hypothesis"] for c in ours] and len(ours) > 0
    assert [c["p_adjusted"] for c in theirs] == pytest.approx([c["p_adjusted"] for c in ours])
    assert [c["reported"]["effect"] for c in theirs] == pytest.approx([-c["reported"]["effect"] for c in ours])
    assert mirror["design"]["recommended"] == base["design"]["recommended"]
    assert [o["n_randomized"] for o in mirror["design"]["options"]] == [o["n_randomized"] for o in base["design"]["options"]]
