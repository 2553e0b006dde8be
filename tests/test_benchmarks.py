"""The simulation benchmark harness (benchmarks/): the smoke tier runs, resumes, and summarizes;
each metric is right on hand-made inputs."""

from __future__ import annotations

import io
import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import simulate  # noqa: E402
import simulation_metrics as sm  # noqa: E402
import summarize  # noqa: E402
from simulation_methods import METHODS, MethodOutput  # noqa: E402

FEATURES = ("a", "b", "c", "d", "e")


def truth(null_scale=None, outcome="continuous", predictive=("a",), locus=()) -> sm.Truth:
    return sm.Truth(
        outcome=outcome,
        null_scale=null_scale,
        predictive=predictive,
        prognostic=("c", "d"),
        decoys=("b",),
        locus=locus,
        tau_train=np.array([0.0, 1.0]),
        tau_test=np.array([0.0, 1.0, 2.0]),
        features=FEATURES,
    )


def output(p_het=None, imp=None, train=None, test=None, ate=math.nan) -> MethodOutput:
    return MethodOutput(p_het=p_het or {}, imp=imp, tau_hat_train=train, tau_hat_test=test, ate_hat=ate)


# --- metric functions on hand-made inputs --------------------------------------------------------


def test_reject_is_strictly_below_alpha_and_nan_without_p():
    assert sm.reject(0.049) == 1.0
    assert sm.reject(0.05) == 0.0
    assert math.isnan(sm.reject(math.nan))


def test_top1_hit_uses_the_largest_importance_and_nothing_when_all_zero():
    imp = pd.Series([0.1, 0.5, 0.2], index=["a", "b", "c"])
    assert sm.top1_hit(imp, {"b"}) == 1.0
    assert sm.top1_hit(imp, {"a", "c"}) == 0.0
    assert sm.top1_hit(pd.Series([0.0, 0.0], index=["a", "b"]), {"a"}) == 0.0  # nothing singled out
    assert math.isnan(sm.top1_hit(None, {"a"}))


def test_all_in_top_k():
    imp = pd.Series([0.9, 0.1, 0.8, 0.3], index=["a", "b", "c", "d"])
    assert sm.all_in_top_k(imp, {"a", "c"}) == 1.0
    assert sm.all_in_top_k(imp, {"a", "d"}) == 0.0
    assert math.isnan(sm.all_in_top_k(imp, set()))


def test_auc_and_ap_of_a_perfect_ranking_are_one_and_of_a_reversed_ranking_low():
    imp = pd.Series([0.9, 0.8, 0.1, 0.05], index=["a", "b", "c", "d"])
    assert sm.ranking_auc_ap(imp, {"a", "b"}) == (1.0, 1.0)
    auc, ap = sm.ranking_auc_ap(imp, {"c", "d"})
    assert auc == 0.0
    assert ap == pytest.approx((1 / 3 + 2 / 4) / 2)  # precision at ranks 3 and 4


def test_max_share_and_mse():
    assert sm.max_share(pd.Series([1.0, 3.0], index=["a", "b"])) == 0.75
    assert sm.mse(np.array([1.0, 1.0]), np.array([0.0, 2.0])) == 1.0
    assert math.isnan(sm.mse(None, np.zeros(2)))


def test_identification_metrics_in_an_alternative_cell():
    imp = pd.Series([0.1, 0.9, 0.0, 0.2, 0.0], index=list(FEATURES))  # decoy b first, a second
    got = sm.identification_metrics(output(imp=imp), truth(locus=("a", "b")))
    assert got["M2a_top1"] == 0.0
    assert got["M2a_locus"] == 1.0
    assert got["M2e_decoy"] == 1.0
    assert got["M2d_leakage"] == 0.0
    assert got["M2b_all_in_top_k"] == 0.0
    assert got["M2c_auc"] == pytest.approx(0.5)  # a ranks above c and e, below b and d


def test_identification_metrics_repeat_the_ranking_on_test_evidence():
    imp = pd.Series([0.1, 0.9, 0.0, 0.2, 0.0], index=FEATURES)  # SHAP ranks the decoy b first
    evidence = pd.Series([3.0, 1.0, 0.1, 0.2, 0.0], index=FEATURES)  # the tests rank a first
    got = sm.identification_metrics(replace(output(imp=imp), imp_tests=evidence), truth())
    assert got["M2a_top1"] == 0.0 and got["M2e_decoy"] == 1.0
    assert got["M2a_top1_tests"] == 1.0 and got["M2e_decoy_tests"] == 0.0 and got["M2c_auc_tests"] == 1.0
    assert "M2b_all_in_top_k_tests" not in got


def test_identification_metrics_in_a_null_cell_report_leakage_not_hits():
    imp = pd.Series([0.0, 0.0, 0.5, 0.1, 0.0], index=list(FEATURES))
    got = sm.identification_metrics(output(imp=imp), truth(null_scale="mean", predictive=()))
    assert got["M2d_leakage"] == 1.0
    assert "M2a_top1" not in got and "M2_top1_severity" in got


def test_detection_metrics_name_tte_scales_and_count_false_selection_on_the_null_scale_only():
    tte = truth(null_scale="hazard", outcome="time_to_event", predictive=())
    got = sm.detection_metrics(output(p_het={"survival": 0.01, "hazard": 0.20}), tte)
    assert got["M1_abs"] == 1.0 and got["M1_hazard"] == 0.0
    assert got["M2_false_selection"] == 0.0  # only the hazard-scale test can make a false selection here
    binary = sm.detection_metrics(output(p_het={"logit": 0.01}), truth(null_scale="rd", outcome="binary"))
    assert binary["M1"] == 1.0 and "M2_false_selection" not in binary


def test_accuracy_metrics():
    got = sm.accuracy_metrics(output(train=np.array([0.0, 2.0]), test=np.array([0.0, 1.0, 2.0]), ate=1.5), truth())
    assert got == {"MSE_T": 0.0, "MSE_in": 0.5, "ATE_bias": 1.0}


def test_relative_mse_divides_by_b0_on_the_same_replication():
    rows = pd.DataFrame(
        {
            "scenario": ["S"] * 4,
            "cell": ["c"] * 4,
            "rep": [0, 0, 1, 1],
            "method": ["B0", "ours", "B0", "ours"],
            "metric": ["MSE_T"] * 4,
            "value": [2.0, 1.0, 4.0, 1.0],
        }
    )
    rel = summarize.add_relative_mse(rows)
    ours = rel[(rel["metric"] == "rMSE") & (rel["method"] == "ours")].sort_values("rep")["value"].tolist()
    assert ours == [0.5, 0.25]
    # In a constant-effect null cell (PM-NULL-a) the ratio is not formed; in an alternative cell it is.
    null = summarize.add_relative_mse(rows.assign(scenario="PM-NULL-a", cell="base"))
    assert not (null["metric"] == "rMSE").any()
    assert (summarize.add_relative_mse(rows.assign(scenario="PM-SNP", cell="b1_rel=1"))["metric"] == "rMSE").sum() == 4


def test_failed_fits_are_retried_and_a_torn_last_line_is_survived(tmp_path):
    path = tmp_path / "S.csv"
    simulate.append_rows(
        path, [("S", "c", 0, "ours", "M1", "1"), ("S", "c", 0, "ours", "error", "0"), ("S", "c", 0, "ours", "wall_time_s", "1")]
    )
    simulate.append_rows(path, [("S", "c", 1, "ours", "error", "1"), ("S", "c", 1, "ours", "wall_time_s", "1")])
    with path.open("a") as handle:
        handle.write("S,c,2,ours,M")  # killed mid-line
    assert simulate.finished(path) == {("c", 0, "ours")}
    simulate.append_rows(path, [("S", "c", 2, "ours", "wall_time_s", "1")])
    assert ("c", 2, "ours") in simulate.finished(path)


# --- the smoke tier end to end -------------------------------------------------------------------

SMOKE = {"PM-NULL-a": "base", "PM-SNP": "b1_rel=2", "PM-TTE": "level=L2"}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("simulation")
    log = io.StringIO()
    fits = simulate.run("smoke", out=out, log=log)
    return out, fits, log.getvalue()


def rows_of(out: Path) -> pd.DataFrame:
    return pd.concat([pd.read_csv(p, dtype={"cell": str}) for p in sorted(out.glob("*.csv"))], ignore_index=True)


@pytest.mark.slow
def test_smoke_tier_writes_every_scenario_cell_rep_method(smoke_run):
    out, fits, log = smoke_run
    reps = simulate.TIERS["smoke"]["reps_alt"]
    applicable = {scenario: [m for m in METHODS if m in simulate.SCENARIO_METHODS.get(scenario, METHODS)] for scenario in SMOKE}
    assert fits == reps * sum(len(methods) for methods in applicable.values())
    assert log.count("\n") == len(SMOKE) * reps  # one progress line per replication
    rows = rows_of(out)
    assert list(rows.columns) == list(simulate.COLUMNS)
    assert sorted(p.stem for p in out.glob("*.csv")) == sorted(SMOKE)
    have = set(map(tuple, rows[["scenario", "cell", "rep", "method", "metric"]].itertuples(index=False)))
    for scenario, cell in SMOKE.items():
        tte = scenario == "PM-TTE"
        null = scenario == "PM-NULL-a"
        m1 = ("M1_abs", "M1_hazard") if tte else ("M1",)
        expected = {
            "ours": (*m1, "MSE_T", "MSE_in", "ATE_bias", "M2d_leakage", "imp_max_share"),
            "B0": ("MSE_T", "MSE_in", "ATE_bias"),
            "B1": ("M1_hazard",) if tte else ("M1",),
            "B2": ("M1_hazard",) if tte else ("M1",),
            "B3": ("M1_abs",) if tte else ("M1",),
            "oracle": ("M1_hazard",) if tte else ("M1",),
            "ours+cand": (*m1, "MSE_T", "ATE_bias"),
            "ours+maxT": (*m1, "p_blp", "p_maxT", "MSE_T"),
            "ours+jointT": (*m1, "p_blp", "p_maxT", "MSE_T"),
        }
        if not tte:
            expected["ceiling"] = expected["ceiling-bonf"] = ("M1",)
        if null:
            expected["ours"] += ("M2_false_selection", "M2_top1_severity", "M2_top1_severity_tests")
        else:
            expected["ours"] += ("M2a_top1", "M2b_all_in_top_k", "M2c_auc", "M2c_ap", "M2e_decoy", "M2a_top1_tests")
        if scenario == "PM-SNP":
            expected["ours"] += ("M2a_locus", "M2a_locus_tests")
        for rep in range(reps):
            for method, metrics in expected.items():
                for metric in (*metrics, "wall_time_s", "error"):
                    assert (scenario, cell, rep, method, metric) in have, (scenario, cell, rep, method, metric)
    assert not rows.loc[rows["method"] == "B0", "metric"].str.startswith("M1").any()  # ATE only: no test
    assert rows.loc[rows["metric"] == "error", "value"].eq(0).all()


@pytest.mark.slow
def test_rerunning_skips_finished_replications(smoke_run):
    out, _, _ = smoke_run
    before = len(rows_of(out))
    assert simulate.run("smoke", out=out, log=io.StringIO()) == 0
    assert len(rows_of(out)) == before


@pytest.mark.slow
def test_summary_reports_means_with_monte_carlo_standard_errors(smoke_run, tmp_path):
    out, _, _ = smoke_run
    report = tmp_path / "simulation.md"
    table = summarize.summarize(out, report)
    text = report.read_text()
    assert "R = 500" in text and "[0.031, 0.069]" in text and "Tier: **smoke**" in text
    for scenario in SMOKE:
        assert f"## {scenario}" in text
    assert "±" in text
    ours = table[(table["scenario"] == "PM-SNP") & (table["method"] == "ours") & (table["metric"] == "M1")].iloc[0]
    assert ours["n"] == 2 and np.isfinite(ours["se"])
    no_cate_model = {"B2", "ceiling", "ceiling-bonf"}
    assert set(table.loc[table["metric"] == "rMSE", "method"]) == set(METHODS) - no_cate_model
    # A notes.md in the results folder (which code made which rows) is carried into the report.
    assert "Code versions" in summarize.render(table, [], "cmd", "smoke", "**Code versions**: see the log.")


@pytest.mark.slow
def test_a_folder_of_one_tier_refuses_the_other(smoke_run):
    out, _, _ = smoke_run
    with pytest.raises(SystemExit, match="smoke-tier"):
        simulate.run("full", scenarios=["PM-SNP"], cells=["b1_rel=2"], reps=1, out=out, log=io.StringIO())


def test_subgroup_metrics_against_the_true_subgroup():
    Truth, subgroup_metrics = sm.Truth, sm.subgroup_metrics
    tau = np.array([1.0, 1.0, 0.0, 0.0])
    g = tau > 0.5
    truth = Truth("continuous", None, ("x",), (), (), (), tau, tau, g_test=g)
    perfect = subgroup_metrics(MethodOutput({}, None, None, None, 0.5, subgroup=g, theta_hat_G=1.2, theta_shrunken_G=0.9), truth)
    assert perfect["M4_accuracy"] == 1.0 and perfect["M4_lift"] == 1.0 and perfect["M4_ppv"] == 1.0
    assert perfect["M4_optimism"] == pytest.approx(0.2) and perfect["M4_optimism_shrunken"] == pytest.approx(-0.1)
    none = subgroup_metrics(MethodOutput({}, None, None, None, 0.5), truth)
    assert none["M4_reported"] == 0.0 and none["M4_accuracy"] == 0.5 and "M4_optimism" not in none
    null = Truth("continuous", "mean", (), (), (), (), tau * 0, tau * 0)
    assert subgroup_metrics(MethodOutput({}, None, None, None, 0.5, subgroup=g, theta_hat_G=0.1), null) == {
        "M4_false_subgroup": 1.0
    }


def test_every_validated_rule_is_scored_for_false_refinements():
    tau = np.array([1.0, 0.0])
    truth = sm.Truth("continuous", None, ("snp_01",), (), ("snp_02",), (), tau, tau)
    score = lambda rules: sm.refinement_metrics(MethodOutput({}, None, None, None, 0.5, validated_features=rules), truth)  # noqa: E731
    assert score([{"snp_01"}]) == {"M4_false_refinement": 0.0, "M4_decoy_rule": 0.0, "M4_validated_rules": 1.0}
    # The first rule is right, the second refines it on a noise feature: the replication counts as a false refinement.
    assert score([{"snp_01"}, {"snp_01", "bmi"}])["M4_false_refinement"] == 1.0
    decoy = score([{"snp_02"}])
    assert decoy["M4_false_refinement"] == 0.0 and decoy["M4_decoy_rule"] == 1.0
    assert score([]) == {"M4_false_refinement": 0.0, "M4_decoy_rule": 0.0, "M4_validated_rules": 0.0}
    null = sm.Truth("continuous", "mean", (), (), (), (), tau * 0, tau * 0)
    assert sm.refinement_metrics(MethodOutput({}, None, None, None, 0.5, validated_features=[{"bmi"}]), null) == {}


def test_design_metrics_count_targeted_designs_and_size_enrichment_at_the_true_effect():
    Truth, design_metrics = sm.Truth, sm.design_metrics
    tau = np.array([1.0, 1.0, 0.0, 0.0])  # ATE 0.5; the true subgroup's value is 1
    g = tau > 0.5
    truth = Truth("continuous", None, ("x",), (), (), (), tau, tau, g_test=g)
    enrich = design_metrics(MethodOutput({}, None, None, None, 0.5, design={"recommended": "enrichment", "members": g}), truth)
    # N ∝ 1/effect²: enriching on a subgroup with twice the average effect needs a quarter of the patients.
    assert enrich == {"M5_targeted": 1.0, "M5_enrichment": 1.0, "M5_screening": 2.0, "M5_N_ratio": 0.25}
    wrong = np.array([False, False, True, True])  # no benefit in the planned subgroup: no ratio
    out = design_metrics(MethodOutput({}, None, None, None, 0.5, design={"recommended": "all_comers", "members": wrong}), truth)
    assert out == {"M5_targeted": 0.0, "M5_enrichment": 0.0, "M5_screening": 2.0}
    null = Truth("continuous", "mean", (), (), (), (), tau * 0, tau * 0)
    for key, targeted in (("stratified", 1.0), ("adaptive_enrichment", 1.0), ("all_comers", 0.0)):
        result = design_metrics(MethodOutput({}, None, None, None, 0.5, design={"recommended": key, "members": g}), null)
        assert result == {"M5_targeted": targeted}
    assert design_metrics(MethodOutput({}, None, None, None, 0.5), truth) == {}


@pytest.mark.slow
def test_design_check_simulation_reproduces_the_power_formula_at_the_truth(demo_analysis):
    import design_check

    assert demo_analysis.design.recommended == "enrichment"
    result = design_check.simulate_next_trials(demo_analysis, "enrichment", sims=400, seed=5)
    # PM-SNP b1_rel = 2: the true effect in carriers is +0.477 (docs/simulation.md §4).
    assert result["true_effect"] == pytest.approx(0.477, abs=0.01)
    assert abs(result["empirical_power"] - result["power_at_truth"]) < 4 * result["mc_se"] + 0.01
    option = demo_analysis.design.option("enrichment")
    assert result["screened_mean"] == pytest.approx(option.n_screened_expected, rel=0.05)


def test_rule_recovery_checks_the_cut_point_range_and_the_factor_split():
    from subgroups.rule_language import Condition

    lifesev = replace(
        truth(),
        cutpoints={"severity": (45.0, 55.0)},
        splits={"smoking": (frozenset({"never", "former"}), frozenset({"current"}))},
    )
    right = (Condition("severity", "gt", 49.5), Condition("smoking", "in", ("former", "never")))
    assert sm.rule_recovery(right, lifesev) == {"M4_cut_severity": 1.0, "M4_split_smoking": 1.0}
    wrong = (Condition("severity", "gt", 38.0), Condition("smoking", "in", ("never",)))
    assert sm.rule_recovery(wrong, lifesev) == {"M4_cut_severity": 0.0, "M4_split_smoking": 0.0}
    assert sm.rule_recovery((Condition("smoking", "not_in", ("current",)),), lifesev) == {
        "M4_cut_severity": 0.0,
        "M4_split_smoking": 1.0,
    }


@pytest.mark.slow
def test_b2_univariate_tests_find_the_modifier_and_hold_their_level():
    from simulation_methods import Replication, run_b2

    from subgroups.datasets.synthetic import simulate_trial

    def b2(scenario, n, seed, **kwargs):
        trial = simulate_trial(scenario, n=n, seed=seed, **kwargs)
        return run_b2(Replication(scenario, "continuous", trial, trial, seed, None), {})

    strong = b2("PM-SNP", 3000, 1, b1_rel=2)
    assert strong.p_het["mean"] < 1e-6 and strong.imp.idxmax() in ("snp_01", "snp_02")  # the variant or its LD decoy
    assert np.isnan(strong.ate_hat) and strong.tau_hat_test is None  # tests only: no CATE model
    # Bonferroni over 30 covariates: at most alpha under the null (150 trials, 3 MC SE).
    rejected = [b2("PM-NULL-a", 500, 1000 + r).p_het["mean"] < 0.05 for r in range(150)]
    assert np.mean(rejected) <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 150)


def test_confounded_null_cells_share_their_trials_and_run_only_our_pipeline():
    cells = dict((cell.label, cell) for _, cell in simulate.plan("full", ["PM-OBS-NULL"], None))
    assert set(cells) == {"c=1", "c=2", "c=1-rct", "c=2-rct"}
    assert cells["c=1"].study == "observational" and cells["c=1-rct"].study == "rct"
    same = [
        simulate.simulate_trial("PM-OBS-NULL", seed=simulate.trial_seed("PM-OBS-NULL", cells[c], 4), **cells[c].kwargs)
        for c in ("c=1", "c=1-rct")
    ]
    pd.testing.assert_frame_equal(same[0].data, same[1].data)  # the same trials, declared differently
    assert simulate.SCENARIO_METHODS["PM-OBS-NULL"] == ("ours",)
    assert simulate.CELLS["PM-OBS-NULL"][0].is_null


def test_the_randomization_flag_is_scored_only_when_a_randomization_was_declared():
    from simulation_methods import randomization_failed

    out = lambda failed: MethodOutput({}, None, None, None, 0.5, randomization_failed=failed)  # noqa: E731
    truth = sm.Truth("continuous", "mean", (), (), (), (), np.zeros(2), np.zeros(2))
    assert sm.randomization_metrics(out(True), truth) == {"randomization_flag": 1.0}
    assert sm.randomization_metrics(out(False), truth) == {"randomization_flag": 0.0}
    assert sm.randomization_metrics(out(None), truth) == {}
    assert randomization_failed({"audit": {"randomization": {"passed": False}}}) is True
    assert randomization_failed({"audit": {"randomization": None}}) is None and randomization_failed({}) is None


@pytest.mark.slow
def test_the_agnostic_ceiling_holds_its_level_and_reaches_the_published_power():
    """Bonferroni ceiling (true nuisances, per-feature tests, Bonferroni over 30 features): about 0.41 at PM-SNP
    b1_rel = 2 (n = 500, 300 trials in issue 15); the max-T ceiling on the same trials rejects at least as
    often up to bootstrap noise; both at most 0.05 on PM-NULL-a. 60 trials each, tolerance 3 Monte-Carlo SE."""
    from simulation_methods import Replication, run_ceiling, run_ceiling_bonferroni

    def rates(scenario: str, **kwargs) -> tuple[float, float]:
        hits = []
        for r in range(60):
            trial = simulate.simulate_trial(scenario, seed=np.random.SeedSequence([77, r]), **kwargs)
            rep = Replication(scenario, "continuous", trial, trial, r, None)
            hits.append([run(rep, {}).p_het["mean"] < 0.05 for run in (run_ceiling_bonferroni, run_ceiling)])
        bonferroni, max_t = np.mean(hits, axis=0)
        return float(bonferroni), float(max_t)

    bonferroni, max_t = rates("PM-SNP", b1_rel=2)
    assert abs(bonferroni - 0.41) < 3 * np.sqrt(0.41 * 0.59 / 60)
    assert max_t >= bonferroni - 2 / 60  # two trials of slack for bootstrap noise at the threshold
    assert max(rates("PM-NULL-a")) < 0.05 + 3 * np.sqrt(0.05 * 0.95 / 60)


def _tiny_replication(scenario: str = "PM-SNP", n: int = 300, **kwargs):
    from simulation_methods import Replication

    trial = simulate.simulate_trial(scenario, n=n, seed=np.random.SeedSequence([78, 0]), **kwargs)
    return Replication(scenario, "continuous", trial, trial, 5, None)


def test_the_max_t_ceiling_is_at_most_the_bonferroni_ceiling_on_one_trial():
    from simulation_methods import FEATURES as ALL_FEATURES
    from simulation_methods import run_ceiling, run_ceiling_bonferroni

    rep = _tiny_replication(b1_rel=2)
    max_t, bonferroni = run_ceiling(rep, {}), run_ceiling_bonferroni(rep, {})
    for out in (max_t, bonferroni):
        assert set(out.p_het) == {"mean"} and 0 < out.p_het["mean"] <= 1
        assert list(out.imp.index) == list(ALL_FEATURES) and out.tau_hat_test is None
    assert max_t.p_het["mean"] <= bonferroni.p_het["mean"] + 0.01  # correlation-aware: never (much) above Bonferroni
    assert max_t.p_het["mean"] == run_ceiling(rep, {}).p_het["mean"]  # seeded by the replication
    assert max_t.ate_hat == bonferroni.ate_hat


def test_time_to_event_ceiling_scores_are_unbiased_for_the_true_survival_difference():
    """PM-TTE L2, 6,000 patients: the true-nuisance scores of the S(24) pseudo-observations average to the true ΔS(24)
    inside and outside the true subgroup (tolerance 4 standard errors of each mean), and the ceiling runs on them."""
    from simulation_methods import Replication, run_ceiling, true_nuisance_scores

    trial = simulate.simulate_trial("PM-TTE", n=6_000, seed=np.random.SeedSequence([79, 0]), level="L2")
    rep = Replication("PM-TTE", "time_to_event", trial, trial, 3, None)
    psi, tau, inside = true_nuisance_scores(rep), trial.true_effect, np.asarray(trial.true_subgroup, bool)
    for rows in (inside, ~inside):
        se = psi[rows].std(ddof=1) / np.sqrt(rows.sum())
        assert abs(psi[rows].mean() - tau[rows].mean()) < 4 * se
    assert tau[inside].mean() - tau[~inside].mean() > 5 * np.sqrt(
        psi[inside].var() / inside.sum() + psi[~inside].var() / (~inside).sum()
    )
    assert 0 < run_ceiling(rep, {}).p_het["survival"] < 0.05  # 6,000 patients: the carriers' larger benefit is found


def test_calibration_statistics_give_mse_on_the_test_set_for_any_slope():
    """MSE_T(s) recomputed from the recorded statistics equals the MSE of ATE + s·(τ̂ − centre) computed directly."""
    rng = np.random.default_rng(5)
    tau, raw = rng.normal(0.3, 0.2, 400), rng.normal(0.25, 0.3, 400)
    cal = {"slope": 0.62, "se": 0.2, "centre": 0.21, "ate": 0.33}
    out = MethodOutput({}, None, None, None, 0.33, tau_raw_test=raw, calibration=cal)
    truth = sm.Truth("continuous", None, (), (), (), (), np.zeros(2), tau)
    st = sm.calibration_statistics(out, truth)
    for s in (0.0, 0.62, 1.0):
        direct = np.mean((cal["ate"] + s * (raw - cal["centre"]) - tau) ** 2)
        offline = (st["cal_ate"] + s * (st["raw_mean_T"] - st["cal_centre"]) - tau.mean()) ** 2
        offline += s**2 * st["raw_var_T"] - 2 * s * st["raw_cov_T"] + tau.var()
        assert offline == pytest.approx(direct, rel=1e-12)
    assert sm.calibration_statistics(MethodOutput({}, None, None, None, 0.3), truth) == {}


def test_the_parts_of_a_combined_decision_are_recorded():
    out = MethodOutput({"mean": 0.04}, None, None, None, 0.0, p_parts={"blp": 0.3, "maxT": 0.02})
    metrics = sm.detection_metrics(out, truth())
    assert metrics["p_het"] == 0.04 and metrics["M1"] == 1.0
    assert metrics["p_blp"] == 0.3 and metrics["p_maxT"] == 0.02


@pytest.mark.slow
def test_ours_max_t_reuses_the_one_fit_and_combines_by_bonferroni(monkeypatch):
    import simulation_methods

    calls = []
    analyze = simulation_methods.subgroups.analyze
    monkeypatch.setattr(simulation_methods.subgroups, "analyze", lambda *a, **k: calls.append(1) or analyze(*a, **k))
    rep = _tiny_replication(b1_rel=2)
    settings = simulate.TIERS["smoke"]["settings"]
    combined = simulation_methods.run_ours_max_t(rep, settings)
    assert len(calls) == 1  # one fit
    parts = combined.p_parts
    assert set(parts) == {"blp", "maxT"} and 0 < parts["maxT"] <= 1
    assert combined.p_het["mean"] == pytest.approx(min(1.0, 2 * min(parts.values())))
    ours = simulation_methods.run_ours(rep, settings)
    assert parts["blp"] == pytest.approx(ours.p_parts["blp"])  # the same fit as `ours` (same seed)
    # `ours` decides by weighted Holm over its calibration and (wild, carrier-coded) max-T parts, α/2 each.
    assert ours.p_het["mean"] == pytest.approx(min(1.0, 2 * min(ours.p_parts.values())))
    np.testing.assert_array_equal(combined.tau_hat_test, ours.tau_hat_test)


def test_replace_deletes_only_the_chosen_cells_and_methods(tmp_path):
    rows = [("PM-SNP", cell, 0, method, "M1", "1") for cell in ("b1_rel=1", "b1_rel=2") for method in ("ours", "B1")]
    simulate.append_rows(simulate.csv_path(tmp_path, "PM-SNP"), rows)
    pairs = simulate.plan("full", ["PM-SNP"], ["b1_rel=2"])
    assert simulate.replace_rows(tmp_path, pairs, ["ours"]) == 1
    left = set(map(tuple, rows_of(tmp_path)[["cell", "method"]].itertuples(index=False)))
    assert left == {("b1_rel=1", "ours"), ("b1_rel=1", "B1"), ("b1_rel=2", "B1")}


def test_shards_split_the_replications_of_a_cell_between_processes(tmp_path, monkeypatch):
    """Two shards (0/2, 1/2) run the even and the odd replications; together exactly every one, once."""
    assert simulate.parse_shard("1/3") == (1, 3)
    for bad in ("2/2", "1", "a/b", "-1/2"):
        with pytest.raises(Exception, match="I/K"):
            simulate.parse_shard(bad)
    monkeypatch.setattr(simulate, "run_method", lambda name, rep, settings: (None, 0.0, ""))  # no fit: seeds and rows only
    cell = next(c for c in simulate.CELLS["PM-SNP"] if c.label == "b1_rel=2")
    for i in (0, 1):
        fits = simulate.run_cell("PM-SNP", cell, 5, ["ours"], {}, tmp_path / str(i), log=io.StringIO(), shard=(i, 2))
        assert fits == (3 if i == 0 else 2)
    reps = [sorted(r for _, r, _ in simulate.finished(tmp_path / str(i) / "PM-SNP.csv")) for i in (0, 1)]
    assert reps == [[0, 2, 4], [1, 3]]


def test_n_sets_the_trials_sample_size_and_keeps_the_seeds(tmp_path, monkeypatch):
    """--n (power against n): the trials of a cell have n patients; the test set keeps its size."""
    sizes = []
    monkeypatch.setattr(
        simulate,
        "run_method",
        lambda name, rep, settings: (sizes.append((len(rep.trial.data), len(rep.test.data))), (None, 0.0, ""))[1],
    )
    cell = next(c for c in simulate.CELLS["PM-SNP"] if c.label == "b1_rel=2")
    simulate.run_cell("PM-SNP", cell, 2, ["ours"], {}, tmp_path / "a", log=io.StringIO(), n=1200)
    simulate.run_cell("PM-SNP", cell, 1, ["ours"], {}, tmp_path / "b", log=io.StringIO())
    assert sizes == [(1200, simulate.N_TEST), (1200, simulate.N_TEST), (500, simulate.N_TEST)]
    with pytest.raises(SystemExit, match="own --out"):
        simulate.main(["--tier", "full", "--scenario", "PM-SNP", "--n", "1000"])


def test_power_vs_n_reads_ours_at_n_500_from_the_committed_cells(tmp_path):
    """`ours` at n = 500 comes from the committed simulation cell (same seeds) when the n=500 folder lacks it; a
    method the folder has is not read twice; rates, SEs and ratios to the ceiling are the rows' own."""
    import power_vs_n

    def rows(cell, method, hits, reps):
        return [("PM-SNP", cell, r, method, "M1", float(r < hits)) for r in range(reps)]

    columns = ["scenario", "cell", "rep", "method", "metric", "value"]
    (tmp_path / "n=500").mkdir()
    pd.DataFrame(rows("b1_rel=2", "ceiling", 4, 10), columns=columns).to_csv(tmp_path / "n=500" / "PM-SNP.csv", index=False)
    main = tmp_path / "main.csv"
    pd.DataFrame(rows("b1_rel=2", "ours", 3, 10) + rows("b1_rel=2", "ceiling", 9, 10) + rows("b1_rel=0", "ours", 1, 10),
                 columns=columns).to_csv(main, index=False)  # fmt: skip
    table = power_vs_n.with_ratios(power_vs_n.read_rates(tmp_path, main)).set_index("method")
    assert list(table["cell"]) == ["b1_rel=2", "b1_rel=2"] and set(table["n"]) == {500}
    assert table.loc["ceiling", "rate"] == 0.4 and table.loc["ours", "rate"] == 0.3  # the folder's ceiling, not main's
    assert table.loc["ours", "vs_ceiling"] == pytest.approx(0.75)
    assert table.loc["ours", "se"] == pytest.approx(math.sqrt(0.3 * 0.7 / 10))


def test_alpha_split_detection_is_weighted_holm_over_the_two_parts():
    """Detection under a calibration share w: min(p_blp / w, p_maxT / (1 − w)) < α, counted by hand on five trials."""
    import alpha_split

    p_blp, p_max_t = np.array([0.02, 0.2, 0.04, 0.2, 0.01]), np.array([0.5, 0.03, 0.5, 0.01, 0.5])
    assert alpha_split.detection(p_blp, p_max_t, 0.5) == 0.6  # 0.04, 0.02, 0.02 below 0.05; 0.06 and 0.08 are not
    assert alpha_split.detection(p_blp, p_max_t, 0.0) == 0.4  # max-T alone at 0.05
    assert alpha_split.detection(p_blp, p_max_t, 1.0) == 0.6  # calibration alone at 0.05
    assert alpha_split.detection(p_blp, p_max_t, 0.25) == 0.6  # 0.04, 0.0133, 0.04


def test_alpha_split_detection_agrees_with_the_suites_weighted_holm():
    """The closed form of `alpha_split.detection` is the suite's rule (`inference.weighted_holm`) on 300 random pairs."""
    import alpha_split

    from subgroups.inference import weighted_holm

    rng = np.random.default_rng(5)
    p_blp, p_max_t = rng.uniform(0, 0.2, 300), rng.uniform(0, 0.2, 300)
    for w in (0.25, 0.5, 0.75):
        holm = [bool(np.any(weighted_holm([a, b], [w, 1 - w])[0] < 0.05)) for a, b in zip(p_blp, p_max_t)]
        assert alpha_split.detection(p_blp, p_max_t, w) == pytest.approx(np.mean(holm))


def test_perfect_model_calibration_leaves_fold_0_out_and_holds_its_level():
    """`learner_gap.perfect_model_p` is the suite's forward calibration test with the true effects as predictions:
    fold 0 is not tested (its scores cannot move p), a real slope is found, and predictions unrelated to the
    scores reject at about the nominal rate."""
    import learner_gap

    rng = np.random.default_rng(11)
    n = 2000
    x, folds = rng.normal(size=n), rng.integers(0, 5, n)
    effect = 0.5 * x
    scores = effect + rng.normal(0, 1.5, n)
    p = learner_gap.perfect_model_p(scores, effect, folds)
    assert p < 1e-6
    wild = np.where(folds == 0, 1e3 * rng.normal(size=n), scores)
    assert learner_gap.perfect_model_p(wild, effect, folds) == pytest.approx(p, rel=1e-9)
    rejections = [
        learner_gap.perfect_model_p(rng.normal(0, 1.5, 300), rng.normal(size=300), rng.integers(0, 5, 300)) < 0.05
        for _ in range(400)
    ]
    assert 0.02 <= np.mean(rejections) <= 0.085  # one-sided 0.05; Monte-Carlo SD 0.011


def test_perfect_model_bound_on_the_snp_cell_and_the_committed_calibration_p_values():
    """With the true effects as predictions the calibration test finds the carrier effect of PM-SNP b1_rel = 2 in
    most trials (0.765 at 0.025 over 200); the committed `ours` rows carry the suite's own p for all 200."""
    import learner_gap

    perfect = learner_gap.cell_p_values("PM-SNP", "b1_rel=2", 30)
    assert list(perfect.index) == list(range(30))
    assert np.mean(perfect < 0.025) >= 0.5
    ours = learner_gap.committed_p_blp("PM-SNP", "b1_rel=2")
    assert len(ours) == 200 and ours.between(0, 1).all()


def test_forward_layout_fold_t_is_the_suites_hc3_slope_t_and_stouffer_weights_add_up():
    """`forward_layout.fold_t` is the HC3 t of the calibration slope the suite computes on one block, and the
    weighted Stouffer combination of four t's of 1 with equal weights is N(0, 1) at 2."""
    import forward_layout

    from subgroups.heterogeneity import calibration_test

    rng = np.random.default_rng(3)
    predictions = rng.normal(size=80)
    scores = 0.4 * predictions + rng.standard_t(4, size=80)
    slope = calibration_test(scores, predictions)[0]
    assert forward_layout.fold_t(scores, predictions) == pytest.approx(slope.estimate / slope.se, rel=1e-9)
    assert forward_layout.fold_t(scores, np.ones(80)) == 0.0
    assert forward_layout.combined_p(np.ones(4), np.ones(4)) == pytest.approx(0.022750131948179, rel=1e-9)
    assert forward_layout.combined_p(np.array([3.0, 0.0]), np.array([1.0, 0.0])) == pytest.approx(0.0013498980316301, rel=1e-9)


def test_tte_ate_cox_model_recovers_the_average_survival_difference():
    """`tte_ate.cox_survival` on a large PM-TTE L0 trial (hazard ratio 0.8 for everyone): held-out S₁(24) − S₀(24)
    averages to the true mean ΔS(24) (0.058), and with the interactions penalized hard it is the constant-HR model."""
    import tte_ate
    from simulation_methods import design_matrix

    from subgroups.datasets.synthetic import simulate_trial

    train, test = (simulate_trial("PM-TTE", n=n, seed=seed, level="L0") for n, seed in ((3000, 11), (1000, 12)))
    X, X_new = design_matrix(train.data).to_numpy(float), design_matrix(test.data).to_numpy(float)
    w = (train.data["arm"] == "drug").to_numpy().astype(int)
    time, event = train.data["time"].to_numpy(float), train.data["event"].to_numpy(int)
    s0, s1 = tte_ate.cox_survival(X, w, time, event, X_new, None)
    assert np.mean(s1 - s0) == pytest.approx(test.true_effect.mean(), abs=0.015)
    assert np.corrcoef(s1 - s0, test.true_effect)[0, 1] > 0.9  # on ΔS(24) a constant HR still varies with risk
    h0, h1 = tte_ate.cox_survival(X, w, time, event, X_new, 1e4)
    assert np.max(np.abs((h1 - h0) - (s1 - s0))) < 0.01


def test_obs_ate_true_outcome_means_are_the_generators_and_one_trial_runs():
    """`obs_ate`'s true outcome means (0.735 s(x) + 0.304 W) leave N(0, 1) noise on a large PM-OBS-NULL trial, and
    one harness trial gives the suite's estimate inside its CI and the seven averages (the pooled least-squares ones close to the suite's)."""
    import obs_ate

    from subgroups.datasets.synthetic import prognostic_score, simulate_trial

    big = simulate_trial("PM-OBS-NULL", n=20_000, seed=3, confounding=1.0).data
    w = (big["arm"] == "drug").to_numpy()
    noise = big["response"].to_numpy(float) - obs_ate.PROGNOSIS * prognostic_score(big) - obs_ate.EFFECT * w
    assert abs(noise.mean()) < 0.03 and noise.std() == pytest.approx(1.0, abs=0.03)
    row = obs_ate.trial_row("c=1", 0)
    assert row["truth"] == pytest.approx(obs_ate.EFFECT) and 350 < row["n"] <= 500
    assert row["ci_low"] < row["normalized"] < row["ci_high"] and abs(row["plain"] - row["normalized"]) < 0.1
    assert row["plugin"] < row["normalized"]  # shrunken outcome models leave part of the confounding (plug-in biased down)
    assert (
        abs(row["ols"] - row["normalized"]) < 0.15 and row["ols_plugin"] > row["plugin"]
    )  # no shrinkage: less left to the weights
