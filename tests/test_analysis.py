"""The public API: analyze(data, params) -> Analysis, its results, effect(df) on new data, and caching."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import small_params

import subgroups
from subgroups import analysis as analysis_module
from subgroups import cache, plots
from subgroups.datasets.synthetic import simulate_trial
from subgroups.errors import ConstantEffectWarning


def test_results_are_json_and_name_their_scale(demo_analysis):
    results = demo_analysis.results
    text = json.dumps(results, allow_nan=False)
    assert json.loads(text)["ate"]["scale"] == "difference in means"
    assert results["ate"]["status"] == "confirmatory"
    assert results["importance"]["status"] == "exploratory"
    assert results["provenance"]["seed"] == 7
    assert results["data"]["arms"] == {"treated": "drug", "control": "placebo"}
    assert list(results["importance"]["by_feature"])[0] == "snp_01"


def test_effect_on_new_patients_tracks_the_truth(demo_analysis):
    fresh = simulate_trial("PM-SNP", n=1000, seed=99, b1_rel=2)
    estimated = demo_analysis.effect(fresh.data)
    assert estimated.shape == (1000,)
    assert np.corrcoef(estimated, fresh.true_effect)[0, 1] > 0.5
    carriers = fresh.true_subgroup
    assert estimated[carriers].mean() > estimated[~carriers].mean()


@pytest.mark.slow
def test_analyze_accepts_a_data_frame_and_a_dict(small_csv: Path):
    import pandas as pd

    params = small_params(small_csv)
    params["data"].pop("source")
    a = subgroups.analyze(pd.read_csv(small_csv), params)
    assert a.results["data"]["n"]["value"] == 400 and a.results["provenance"]["data_source"] == "data frame"


@pytest.mark.slow
def test_open_analysis_reuses_the_cached_fit(small_csv: Path, tmp_path: Path, monkeypatch):
    params = small_params(small_csv)
    first = subgroups.open_analysis(params, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("analysis-*.pkl"))) == 1

    def refit(*args, **kwargs):
        raise AssertionError("refitted although data and parameters are unchanged")

    monkeypatch.setattr(analysis_module, "fit_effects", refit)
    second = subgroups.open_analysis(params, cache_dir=tmp_path)
    np.testing.assert_array_equal(first.effects.cate, second.effects.cate)
    # A report-only change reuses the fit; a change of seed does not.
    retitled = subgroups.open_analysis(small_params(small_csv, report__title="new title"), cache_dir=tmp_path)
    assert retitled.results["params"]["report"]["title"] == "new title"
    # The folder keeps only the latest key's entries: one fit, one complete analysis (the retitled one).
    assert sorted(p.name.split("-")[0] for p in tmp_path.glob("*.pkl")) == ["analysis", "complete"]
    with pytest.raises(AssertionError, match="refitted"):
        subgroups.open_analysis(params, overrides={"estimation.seed": 8}, cache_dir=tmp_path)


@pytest.mark.parametrize("package", ["subgroups", "numpy", "scikit-learn", "econml", "shap", "pandas", "scipy"])
def test_an_upgraded_dependency_changes_the_cache_key(package: str, monkeypatch):
    from support import DEMO_YAML

    from subgroups.params import load_params

    run = load_params(DEMO_YAML)
    before = (cache.cache_key(run, "same data"), cache.cache_key(run, "same data", whole=True))
    real = cache.package_version
    monkeypatch.setattr(cache, "package_version", lambda name: "999.0" if name == package else real(name))
    after = (cache.cache_key(run, "same data"), cache.cache_key(run, "same data", whole=True))
    assert before[0] != after[0] and before[1] != after[1]
    monkeypatch.setattr(cache, "package_version", real)
    assert cache.cache_key(run, "same data") == before[0]  # the key is a function of the versions, not of time
    assert analysis_module.cache_key is cache.cache_key  # still importable from subgroups.analysis


def test_a_cache_hit_returns_a_new_analysis_and_leaves_the_cached_one_unchanged(small_csv: Path, tmp_path: Path, monkeypatch):
    import copy

    from subgroups.data import load_trial
    from subgroups.params import load_params

    params = small_params(small_csv)
    run = load_params(params)
    trial = load_trial(run)
    old = {"generated_at": "2020-01-01T00:00:00+00:00", "git_commit": "0ld", "seed": 7}
    cached = subgroups.Analysis(run, trial, None, None, None, results={"provenance": old, "ate": {"estimate": 0.5}})
    path = cache.complete_entry(tmp_path, run, trial.fingerprint)
    path.write_bytes(b"")  # only its presence counts: load hands back the very object the cache holds
    monkeypatch.setattr(cache, "load", lambda _: cached)
    snapshot = copy.deepcopy(cached.results)
    hit = subgroups.open_analysis(params, cache_dir=tmp_path)
    assert cached.results == snapshot and cached.results["provenance"] is old  # nothing stored was touched
    assert hit is not cached and hit.data is cached.data and hit.results["ate"] == {"estimate": 0.5}
    assert hit.results["provenance"]["seed"] == 7 and hit.results["provenance"]["generated_at"] != old["generated_at"]


def test_storing_an_entry_evicts_the_older_entries_of_its_kind(tmp_path: Path):
    for name in ("analysis-old1.pkl", "analysis-old2.pkl", "complete-old1.pkl", "notes.txt"):
        (tmp_path / name).write_text("x")
    cache.store(tmp_path / "analysis-new.pkl", {"fit": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["analysis-new.pkl", "complete-old1.pkl", "notes.txt"]
    cache.store(tmp_path / "complete-new.pkl", {"whole": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["analysis-new.pkl", "complete-new.pkl", "notes.txt"]
    assert cache.load(tmp_path / "analysis-new.pkl") == {"fit": 1}


def test_design_menu_for_the_validated_subgroup(demo_analysis):
    design = demo_analysis.results["design"]
    assert design["subgroup"] == "snp_01 ≥ 1 (carrier)"
    assert design["recommended"] == "enrichment"  # qualitative interaction, prevalence ~ 0.5 (docs/simulation.md §4)
    names = {option["design"] for option in design["options"]}
    assert {"all_comers", "enrichment", "stratified", "adaptive_enrichment"} <= names
    menu = demo_analysis.design
    table = menu.to_frame()
    assert table.loc["enrichment", "n_randomized"] < table.loc["all_comers", "n_randomized"]
    curves = pd.DataFrame(design["curves"])
    for _, part in curves.groupby("design"):
        assert part["power"].is_monotonic_increasing and (part["assurance"] <= part["power"].max() + 1e-9).all()


def test_without_detected_heterogeneity_the_recommendation_is_all_comers(demo_analysis):
    from subgroups.analysis import plan_next_trial

    a = demo_analysis
    menu, subgroup, _ = plan_next_trial(a.params, a.data, a.effects, list(a.subgroups), detected=False)
    assert menu is not None and menu.recommended == "all_comers"


@pytest.mark.slow
def test_same_inputs_give_identical_results_json(small_csv: Path):
    params = small_params(small_csv)
    texts = []
    for _ in range(2):
        results = subgroups.analyze(None, params).results
        results["provenance"].pop("generated_at")
        texts.append(json.dumps(results, sort_keys=True))
    assert texts[0] == texts[1]


def test_trial_design_parameters_reach_the_plan(demo_analysis):
    from subgroups.analysis import plan_next_trial
    from subgroups.params import load_params

    a = demo_analysis
    base, _, _ = plan_next_trial(a.params, a.data, a.effects, list(a.subgroups), detected=True)
    stricter = load_params(a.params, {"trial_design.power": 0.9, "trial_design.assay_specificity": 0.9})
    menu, _, _ = plan_next_trial(stricter, a.data, a.effects, list(a.subgroups), detected=True)
    assert menu.option("enrichment").n_randomized > base.option("enrichment").n_randomized
    with pytest.raises(subgroups.ParameterError, match="trial_design.power"):
        load_params(a.params, {"trial_design.power": 1.0})


@pytest.mark.slow
def test_calibrated_effects_keep_only_the_spread_the_data_support(demo_analysis, tmp_path: Path):
    # Demo (real heterogeneity): the slope stays near 1 and calibration barely changes the predictions.
    fresh = simulate_trial("PM-SNP", n=1000, seed=99, b1_rel=2)
    raw, cal = demo_analysis.effect(fresh.data, calibrated=False), demo_analysis.effect(fresh.data)
    s = demo_analysis.calibration_slope
    assert 0.6 < s <= 1.0 and s == demo_analysis.results["effects"]["calibrated"]["slope_applied"]
    np.testing.assert_allclose(cal - cal.mean(), s * (raw - raw.mean()), atol=1e-9)
    mse = lambda tau: float(np.mean((tau - fresh.true_effect) ** 2))  # noqa: E731
    assert mse(cal) < 1.2 * mse(raw)
    # No heterogeneity (b1_rel = 0): the model's spread is noise and calibration removes most of it.
    frame = simulate_trial("PM-SNP", n=400, seed=8, b1_rel=0).data
    frame.to_csv(tmp_path / "flat.csv", index=False)
    flat = subgroups.analyze(None, small_params(tmp_path / "flat.csv"))
    new = simulate_trial("PM-SNP", n=2000, seed=98, b1_rel=0)
    assert np.ptp(new.true_effect) < 1e-9
    raw = flat.effect(new.data, calibrated=False)
    cal = flat.effect(new.data)
    assert 0.0 <= flat.calibration_slope < 0.2, flat.calibration_slope  # the posterior mean of a slope near 0
    truth = new.true_effect
    assert np.mean((cal - truth) ** 2) < 0.5 * np.mean((raw - truth) ** 2), (flat.calibration_slope, np.std(raw))
    assert flat.results["effects"]["calibrated"]["cate_sd"] < 0.5 * flat.results["effects"]["cate_sd"]


@pytest.mark.slow
def test_observational_time_to_event_hazard_ratio_is_weighted_by_the_cross_fitted_propensity(monkeypatch):
    from lifelines import CoxPHFitter
    from support import FAST

    tested = []  # the Heterogeneity test_heterogeneity returns: _assemble adds the hazard-scale test to a copy
    real_test = analysis_module.test_heterogeneity
    monkeypatch.setattr(analysis_module, "test_heterogeneity", lambda *a, **k: tested.append(real_test(*a, **k)) or tested[-1])

    frame = simulate_trial("PM-TTE", n=400, seed=8, level="L2").data
    params = {
        "name": "obs_tte",
        "data": {
            "treatment": {"column": "arm", "treated": "drug", "control": "placebo"},
            "outcome": {"type": "time_to_event", "time": "time", "event": "event", "time_unit": "months"},
            "id_column": "patient_id",
            "study": "observational",
        },
        **FAST,
    }
    a = subgroups.analyze(frame, params)
    kept = a.effects.retained
    e = a.effects.propensity  # cross-fitted, on the analysed (not trimmed) patients
    sub = frame.loc[kept, ["time", "event"]].assign(treated=(frame.loc[kept, "arm"] == "drug").astype(int).to_numpy())
    sub["w"] = np.where(sub["treated"] == 1, 1 / e, 1 / (1 - e))
    direct = CoxPHFitter().fit(sub, "time", "event", weights_col="w", robust=True).summary.loc["treated"]
    hr = a.results["ate"]["hazard_ratio"]
    assert hr["estimate"] == pytest.approx(direct["exp(coef)"], rel=1e-6)
    assert (hr["ci_low"], hr["ci_high"]) == pytest.approx(
        (direct["exp(coef) lower 95%"], direct["exp(coef) upper 95%"]), rel=1e-6
    )
    assert "inverse-probability weighted" in hr["method"]
    assert "hazard_scale" in a.tests.extra and tested[0].extra == {} and a.tests is not tested[0]
    # Observational: the per-feature max-T test is not part of the decision; calibration keeps the agnostic share.
    assert a.tests.max_t is None and a.results["heterogeneity"]["max_t"] is None
    assert a.results["heterogeneity"]["p_value"] == a.tests.calibration.p_value
    # The default horizon keeps a tenth of each arm (at least min_cell) at risk, in the stated unit.
    horizon = a.results["ate"]["horizon"]
    assert horizon["source"] == "default" and horizon["unit"] == "months"
    for arm in ("drug", "placebo"):
        times = frame.loc[frame["arm"] == arm, "time"]
        assert (times >= horizon["value"]).sum() >= max(np.ceil(0.1 * len(times)), 10)
    assert a.results["ate"]["scale"] == f"difference in restricted mean survival time up to {horizon['value']:g} months"
    # The time-to-event sections (unit, horizon, hazard ratio; estimated propensity) fit the typed results.json.
    from subgroups.results import read_results

    assert read_results(a.results).to_dict() == a.results and a.results["effects"]["overlap"]["c_statistic"] is not None


def test_the_max_t_test_runs_on_every_feature_column_and_each_genotype_carrier_in_a_randomized_trial(demo_analysis):
    """The demo (PM-SNP, carriers of snp_01 benefit): max-T sees the encoded columns and the SNPs' carrier
    indicators, names the carrier column strongest, and its numbers reach results.json; not in an observational study."""
    from subgroups.analysis import max_t_columns

    a = demo_analysis
    kept = a.effects.analysed(a.data.n)
    columns, feature_of = max_t_columns(a.params, a.data, kept)
    carriers = [c for c in columns.columns if str(c).endswith("(carrier)")]
    assert set(a.data.X.columns) <= set(columns.columns) and "snp_01 ≥ 1 (carrier)" in carriers
    assert feature_of["snp_01 ≥ 1 (carrier)"] == "snp_01" and set(feature_of) >= set(columns.columns)
    assert all(a.data.family_of[feature_of[c]] == "genetic" for c in carriers)
    top = a.tests.max_t_columns.iloc[0]
    assert top["feature"] == "snp_01" and a.tests.max_t.p_value < 0.01
    section = a.results["heterogeneity"]["max_t"]
    assert section["n_columns"] == len(a.tests.max_t_columns) and section["columns"][0]["column"] == top["column"]
    assert a.results["heterogeneity"]["p_value"] == pytest.approx(
        min(c["p_adjusted"] for c in a.results["heterogeneity"]["claims"])
    )
    observational = a.params.model_copy(update={"data": a.params.data.model_copy(update={"study": "observational"})})
    assert max_t_columns(observational, a.data, kept) is None


def test_pre_specified_candidates_reach_the_decision_and_the_subgroups(demo_analysis):
    """A candidate rule named in the parameters is tested on all patients' cross-fitted scores within the
    heterogeneity family and, when rejected, is a validated subgroup (no selection adjustment: it was not searched for)."""
    from subgroups.analysis import candidate_subgroups, heterogeneity_candidates, subgroup_conclusion
    from subgroups.errors import DataError
    from subgroups.heterogeneity import test_heterogeneity

    a = demo_analysis
    het = a.params.heterogeneity.model_copy(update={"candidates": ["snp_01 >= 1", "bmi"]})
    run = a.params.model_copy(update={"heterogeneity": het})
    kept = a.effects.analysed(a.data.n)
    candidates = heterogeneity_candidates(run, a.data, kept)
    assert [(c.name, c.kind) for c in candidates] == [("snp_01 ≥ 1 (carrier)", "rule"), ("bmi", "feature")]
    tests = test_heterogeneity(a.effects.scores, a.effects.cate, 0.05, a.effects.scale, candidates=candidates)
    claims = {c["claim"]: c for c in tests.claims()}
    assert claims["snp_01 ≥ 1 (carrier)"]["rejected"] and not claims["bmi"]["rejected"] and tests.detected
    (carriers,) = candidate_subgroups(run, a.data, a.effects, tests)
    assert carriers.status == "validated" and carriers.reported()["estimator"] == "all patients, cross-fitted"
    assert carriers.ci[0] <= 0.477 <= carriers.ci[1]  # true effect in carriers (PM-SNP b1_rel = 2)
    assert carriers.p_adjusted == pytest.approx(claims["snp_01 ≥ 1 (carrier)"]["p_adjusted"])
    assert subgroup_conclusion([carriers], True).startswith(
        "Validated subgroup (pre-specified candidate): snp_01 ≥ 1 (carrier) vs the rest"
    )
    assert "from its test on" not in subgroup_conclusion([carriers], True)
    # Time to event: candidates are tested on the hazard scale, the effects shown are RMST differences.
    assert subgroup_conclusion([carriers], True, tested_on="hazard ratio").endswith(
        "over every heterogeneity claim, from its test on the hazard ratio scale; the effects shown are on the difference "
        "in means scale, where the difference's own CI may include 0)."
    )
    for bad, message in ((["snp_01 >= 5"], "needs both sides"), (["height > 3"], "not an analysed feature")):
        wrong = a.params.model_copy(update={"heterogeneity": het.model_copy(update={"candidates": bad})})
        with pytest.raises(DataError, match=message):
            heterogeneity_candidates(wrong, a.data, kept)


@pytest.mark.slow
def test_a_time_to_event_trial_tests_its_candidates_on_the_hazard_scale(demo_analysis):
    """PM-TTE L2 (hazard ratio 0.5 for carriers with severity >= 40, 1.1 elsewhere): the pre-specified rule is
    tested by a Cox interaction adjusted for a cross-fitted prognostic index; its estimate (log HR outside minus inside) covers the
    true log(1.1 / 0.5) = 0.79 within 3 SE, is rejected and makes a validated subgroup. A continuous outcome
    (the demo) keeps the score-based candidate tests."""
    from support import FAST

    from subgroups.analysis import survival_data

    frame = simulate_trial("PM-TTE", n=800, seed=12, level="L2").data
    params = {
        "name": "tte_candidates",
        "data": {
            "treatment": {"column": "arm", "treated": "drug", "control": "placebo"},
            "outcome": {"type": "time_to_event", "time": "time", "event": "event", "time_unit": "months"},
            "id_column": "patient_id",
        },
        "heterogeneity": {"candidates": ["snp_01 >= 1 and severity >= 40", "crp"]},
        **FAST,
    }
    a = subgroups.analyze(frame, params)
    rule, crp = a.tests.candidates
    assert "Cox model, adjusted for a cross-fitted prognostic index" in rule.meaning and rule.alternative == "benefit inside"
    assert abs(rule.estimate - np.log(1.1 / 0.5)) < 3 * rule.se and rule.p_value < 0.01
    assert "log hazard ratio" in crp.meaning and crp.alternative == "two-sided"
    claims = {c["claim"]: c for c in a.results["heterogeneity"]["claims"]}
    assert claims[rule.name]["rejected"] and claims[rule.name]["origin"] == "pre-specified"
    assert "tested on the hazard ratio scale" in a.tests.decision
    validated = [s for s in a.subgroups if s.found_on.startswith("pre-specified candidate")]
    assert validated and validated[0].status == "validated"
    demo = demo_analysis
    assert survival_data(demo.params, demo.data, demo.effects.analysed(demo.data.n)) is None


# --- in a notebook: repr, summary, frame, plots, effect on new rows, membership --------------------


def test_repr_is_short_and_gives_the_headline_numbers(demo_analysis):
    from subgroups.narrative import effect_text

    a, results = demo_analysis, demo_analysis.results
    text = repr(a)
    assert len(text.splitlines()) <= 15 and len(text.encode()) < 2048 and "array(" not in text
    ate = results["ate"]
    assert effect_text(ate["estimate"], ate["ci_low"], ate["ci_high"]) in text
    shown = results["subgroups"]["candidates"]
    validated = [c for c in shown if c["status"] == "validated"]
    assert f"{len(validated)} of {len(shown)} hypotheses validated" in text and validated[0]["hypothesis"] in text
    enrichment = next(o for o in results["design"]["options"] if o["design"] == results["design"]["recommended"])
    assert f"N = {enrichment['n_randomized']:,} randomized" in text and "detected at α = 0.05" in text
    assert "1,000 on drug (treated), 1,000 on placebo (control)" in text
    # Each subgroup prints as one line (no dataclass dump of its conditions and estimates).
    for s in a.subgroups:
        line = repr(s)
        assert "\n" not in line and len(line) < 300 and s.hypothesis in line and s.status in line
    r = a.subgroups[0].reported()
    assert effect_text(r["effect"], r["ci_low"], r["ci_high"]) in repr(a.subgroups[0])
    assert len(repr(a.data)) < 1000 and len(repr(a.effects)) < 1000


def test_summary_and_html_show_the_numbers_of_results_json_escaped(demo_analysis):
    import copy
    import dataclasses

    from subgroups.narrative import effect_text

    results = demo_analysis.results
    summary = demo_analysis.summary()
    text = str(summary)
    ate, first = results["ate"], results["subgroups"]["candidates"][0]
    assert effect_text(ate["estimate"], ate["ci_low"], ate["ci_high"]) in text
    r = first["reported"]
    assert first["hypothesis"] in text and effect_text(r["effect"], r["ci_low"], r["ci_high"]) in text
    assert list(summary.tables) == ["Average effect", "Heterogeneity claims", "Subgroup hypotheses", "Designs for the next trial"]
    claims = summary.tables["Heterogeneity claims"].set_index("claim")
    starts = [c["alpha_start"] for c in results["heterogeneity"]["claims"]]
    assert sum(starts) == pytest.approx(results["heterogeneity"]["alpha"])  # the decision's levels use all of alpha
    assert list(claims["level at start"][: len(starts)]) == [format(a, ".3g") for a in starts]
    from subgroups.narrative import heterogeneity_sentence  # the report's effects page says the same levels

    page = heterogeneity_sentence(results)
    assert "Levels at the start" in page and all(f"at {a:.3g}" in page for a in starts)
    assert "(agnostic, each feature in turn)" in page  # the origin's own brackets are not nested in the sentence's
    rows = len(results["subgroups"]["candidates"]) + len(results["subgroups"]["prespecified"])
    assert len(summary.tables["Subgroup hypotheses"]) == rows
    assert len(summary.tables["Designs for the next trial"]) == len(results["design"]["options"])
    assert "D2 enrichment (recommended)" in text and results["subgroups"]["conclusion"] in text
    # Every user string is escaped in HTML (a title, a hypothesis).
    hostile = copy.deepcopy(results)
    hostile["params"]["report"]["title"] = "<script>alert(1)</script>"
    hostile["subgroups"]["candidates"][0]["hypothesis"] = "<b>bold</b> vs rest"
    tricked = dataclasses.replace(demo_analysis, results=hostile)
    for page in (tricked._repr_html_(), tricked.summary()._repr_html_()):
        assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<b>bold</b>" not in tricked.summary()._repr_html_() and "&lt;b&gt;bold&lt;/b&gt;" in tricked.summary()._repr_html_()


def test_subgroups_frame_has_one_row_per_hypothesis_with_the_reported_numbers(demo_analysis):
    results = demo_analysis.results
    frame = demo_analysis.subgroups_frame()
    records = results["subgroups"]["candidates"] + results["subgroups"]["prespecified"]
    assert len(frame) == len(records) + sum(len(v) for v in results["subgroups"]["too_small"].values())
    assert list(frame["hypothesis"][: len(records)]) == [c["hypothesis"] for c in records]
    for column in ("effect", "ci_low", "ci_high", "comparator_effect", "difference"):
        np.testing.assert_array_equal(frame[column][: len(records)], [c["reported"][column] for c in records])
    assert list(frame["p_adjusted"][: len(records)]) == [c["p_adjusted"] for c in records]
    assert list(frame["n_treated"][: len(records)]) == [c["n_treated"]["value"] for c in records]
    assert list(frame["source"]).count("pre-specified") == len(results["subgroups"]["prespecified"])
    assert frame.loc[0, "status"] == "validated" and frame.loc[0, "estimator"] == "adjusted for selection"


def test_suppressed_and_missing_results_stay_so_in_the_frame_the_repr_and_the_summary(demo_analysis):
    import copy
    import dataclasses

    from subgroups.privacy import TOO_SMALL

    results = copy.deepcopy(demo_analysis.results)
    results["subgroups"]["candidates"] = [dict(c, status="exploratory") for c in results["subgroups"]["candidates"]]
    results["subgroups"]["candidates"][1]["n_control"] = {"value": None, "suppressed": True, "shown": "<10"}
    hidden = {"rule": TOO_SMALL, "hypothesis": TOO_SMALL, "too_small": "fewer than 10", "level": 1, "status": "exploratory"}
    results["subgroups"]["too_small"]["candidates"] = [hidden]
    results["design"] = {"subgroup": None, "note": "No design planned: no events in one arm", "curves": None}
    a = dataclasses.replace(demo_analysis, results=results)
    frame = a.subgroups_frame()
    assert frame.iloc[-1]["hypothesis"] == TOO_SMALL and frame.iloc[-1][["effect", "p_adjusted"]].isna().all()
    assert (
        frame.loc[1, "n_control"] == "<10"
        and frame.loc[0, "n_control"] == results["subgroups"]["candidates"][0]["n_control"]["value"]
    )
    text = repr(a)
    assert f"0 of {len(results['subgroups']['candidates'])} hypotheses validated (1 too small to report)" in text
    assert "next trial:     No design planned: no events in one arm" in text and "first:" not in text
    summary = a.summary()
    assert "Designs for the next trial" not in summary.tables and "<10" in str(summary)
    assert summary.tables["Subgroup hypotheses"].iloc[-1].tolist()[:3] == [TOO_SMALL, "exploratory", "–"]


def test_plot_methods_draw_on_the_given_axes(demo_analysis):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3)
    try:
        a = demo_analysis
        drawn = [
            a.plot_forest(ax=axes[0, 0]),
            a.plot_forest(ax=axes[0, 1], which="prespecified"),
            a.plot_effects(ax=axes[0, 2]),
            a.plot_importance(ax=axes[1, 0]),
            a.plot_toc(ax=axes[1, 1]),
            a.plot_design(ax=axes[1, 2]),
        ]
        assert all(got is want for got, want in zip(drawn, axes.flat))
        found = a.results["subgroups"]
        rows = plots.forest_rows(found["candidates"], found["prespecified"])
        assert len(axes[0, 0].get_yticklabels()) == 1 + len(rows)  # + all patients
        headers = [title for title, c in rows if c is None]
        assert headers[0] == ("Pre-specified" if found["prespecified"] else "snp_01")
        assert axes[1, 0].get_yticklabels()[-1].get_text() == a.importance.index[0]
        with pytest.raises(subgroups.ParameterError, match="which="):
            a.plot_forest(which="everything")
    finally:
        plt.close(fig)


def test_effect_refuses_unseen_levels_and_missing_values_unless_imputed(demo_analysis):
    a = demo_analysis
    new = simulate_trial("PM-SNP", n=40, seed=31, b1_rel=2).data
    baseline = a.effect(new)
    unseen = new.copy()
    unseen.loc[3, "smoking"] = "vaping"
    with pytest.raises(subgroups.DataError, match=r"feature 'smoking' .* level\(s\) 'vaping' not seen .*index 3") as error:
        a.effect(unseen)
    assert "\n" not in str(error.value)
    with pytest.raises(subgroups.DataError, match="level"):
        a.effect(unseen, impute=True)  # imputation is for missing values, not for unknown levels
    gap = new.copy()
    gap.loc[5, "bmi"] = np.nan
    with pytest.raises(
        subgroups.DataError, match=r"feature 'bmi' .* missing values \(1 row\(s\), first at index 5\).*impute=True"
    ):
        a.effect(gap)
    # impute=True repeats the analysed data's imputation: the training median.
    imputed = a.effect(gap, impute=True)
    filled = gap.copy()
    filled.loc[5, "bmi"] = a.data.encoder.medians["bmi"]
    np.testing.assert_allclose(imputed, a.effect(filled))
    np.testing.assert_allclose(np.delete(imputed, 5), np.delete(baseline, 5))
    no_level = new.copy()
    no_level.loc[2, "smoking"] = None  # the analysed data had no missing smoking, so no "(missing)" level
    with pytest.raises(subgroups.DataError, match="had none in the analysed data"):
        a.effect(no_level, impute=True)
    text = new.astype({"bmi": object})
    text.loc[1, "bmi"] = "thirty"
    with pytest.raises(subgroups.DataError, match="not numbers"):
        a.effect(text)


def test_effect_takes_one_patient_and_refuses_what_has_no_feature_names(demo_analysis):
    """One patient as a Series (a row of a frame) or a dict, and no patients at all, were internal errors."""
    a = demo_analysis
    new = simulate_trial("PM-SNP", n=5, seed=33, b1_rel=2).data
    rows = a.effect(new)
    np.testing.assert_allclose(a.effect(new.iloc[2]), rows[2:3])
    np.testing.assert_allclose(a.effect(new.iloc[4].to_dict()), rows[4:5])
    assert a.effect(new.head(0)).shape == (0,)
    with pytest.raises(subgroups.ParameterError, match="must be a DataFrame with the feature columns .* not ndarray"):
        a.effect(new.to_numpy())
    with pytest.raises(subgroups.DataError, match="new data has a column named 'age' more than once"):
        a.effect(pd.concat([new, new[["age"]]], axis=1))  # was an internal TypeError
    # Subgroup.contains the same way; a missing column was a KeyError, text in a cut-point column silently "outside".
    s = a.subgroups[0]
    inside = s.contains(new)
    assert s.contains(new.iloc[2]).tolist() == [inside.iloc[2]] and s.contains(new.iloc[4].to_dict()).tolist() == [inside.iloc[4]]
    assert a.profile(s.hypothesis).equals(a.profile(s))  # a rule or a hypothesis, as the reports print them
    feature = s.conditions[0].feature
    with pytest.raises(subgroups.DataError, match=f"new data lacks column\\(s\\) {feature}, which the rule"):
        s.contains(new.drop(columns=feature))
    with pytest.raises(
        subgroups.DataError,
        match=f"column '{feature}' of the new data has values that are not numbers \\('x', first at index 0\\)",
    ):
        s.contains(new.assign(**{feature: "x"}))
    with pytest.raises(subgroups.ParameterError, match="contains: new data must be a DataFrame"):
        s.contains(new.to_numpy())
    with pytest.raises(subgroups.ParameterError, match="tau must be numbers"):
        a.calibrate(["high", "low"])
    np.testing.assert_allclose(a.calibrate(list(a.effect(new, calibrated=False))), rows)
    for top in (0, -1, 2.5, True):
        with pytest.raises(subgroups.ParameterError, match=r"top=.*whole number of at least 1"):
            a.profile(a.subgroups[0], top=top)
        with pytest.raises(subgroups.ParameterError, match=r"plot_importance: top="):
            a.plot_importance(top=top)


def test_analyze_refuses_parameters_and_data_of_the_wrong_kind(small_csv: Path):
    with pytest.raises(
        subgroups.ParameterError, match="parameters must be a path to a YAML file, a dict or a RunParams, not int"
    ):
        subgroups.analyze(None, 42)
    with pytest.raises(subgroups.ParameterError, match="data must be a DataFrame, a path to a data file or None .* not ndarray"):
        subgroups.analyze(np.zeros((3, 3)), small_params(small_csv))


def test_a_damaged_cache_entry_is_refitted_and_an_unwritable_cache_refused_before_fitting(
    small_csv: Path, tmp_path: Path, monkeypatch
):
    params = small_params(small_csv)
    first = subgroups.open_analysis(params, cache_dir=tmp_path)
    for entry in tmp_path.glob("*.pkl"):
        entry.write_bytes(entry.read_bytes()[:100])  # truncated, as after a full disk
    again = subgroups.open_analysis(params, cache_dir=tmp_path)
    np.testing.assert_array_equal(first.effects.cate, again.effects.cate)
    assert cache.load(next(tmp_path.glob("analysis-*.pkl"))) is not None  # replaced by a whole one
    monkeypatch.setattr(analysis_module, "fit_effects", lambda *a, **k: pytest.fail("fitted although nothing could be stored"))
    blocked = tmp_path / "a file"
    blocked.write_text("")
    with pytest.raises(subgroups.RunError, match="cannot create the cache folder .*a file/cache"):
        subgroups.open_analysis(params, cache_dir=blocked / "cache")


def test_effect_warns_when_the_calibrated_effect_is_constant(demo_analysis):
    import dataclasses
    import warnings

    a = demo_analysis
    new = simulate_trial("PM-SNP", n=30, seed=32, b1_rel=2).data
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConstantEffectWarning)
        assert np.ptp(a.effect(new)) > 0  # a slope near 1: no warning
    slope = a.tests.reported_calibration  # the slope that calibrates the reported effects (the test used forward ones)
    # A slope that could not be estimated (constant predictions: infinite SE) gives factor 0.
    flat = dataclasses.replace(a.tests, reported_calibration=dataclasses.replace(slope, se=float("inf")))
    clipped = dataclasses.replace(a, tests=flat)
    with pytest.warns(ConstantEffectWarning, match="posterior mean of the held-out calibration slope.*is 0") as caught:
        values = clipped.effect(new)
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    np.testing.assert_allclose(values, a.results["ate"]["estimate"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConstantEffectWarning)
        assert np.ptp(clipped.effect(new, calibrated=False)) > 0


def test_contains_is_a_mask_aligned_to_the_input_index(demo_analysis):
    carriers = demo_analysis.subgroups[0]
    assert carriers.rule == "snp_01 ≥ 1 (carrier)"
    shuffled = demo_analysis.data.features.sample(frac=1.0, random_state=3)
    shuffled.index = shuffled.index + 1000
    inside = carriers.contains(shuffled)
    assert isinstance(inside, pd.Series) and inside.dtype == bool and inside.index.equals(shuffled.index)
    pd.testing.assert_series_equal(inside, (shuffled["snp_01"] >= 1).rename(carriers.rule))
    assert len(shuffled[inside]) == int((shuffled["snp_01"] >= 1).sum()) > 0


def test_forest_rows_n_and_ci_text_are_the_subgroup_tables(demo_analysis):
    """Every hypothesis of the subgroup tables is a forest row with the same n per arm and estimate (CI)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from subgroups import narrative

    results = demo_analysis.results
    ax = demo_analysis.plot_forest()
    try:
        labels = [t.get_text() for t in ax.get_yticklabels()]
        rows = [label.split("\n") for label in labels if "\n" in label]  # data rows: hypothesis, then n
        texts = [t.get_text().split("\n")[0] for t in ax.texts if t.get_text().endswith("]")]  # estimate (CI), p [estimator]
        drawn = {hypothesis: (n_line, text) for (hypothesis, n_line), text in zip(rows, texts[: len(rows)])}
        expected = 0
        for which in ("prespecified", "candidates"):
            table = narrative.subgroup_table(results, which)
            for _, row in table.iterrows():
                expected += 1
                treated, control = row["n treated / control"].split(" / ")
                n_line, text = drawn[row["hypothesis (subgroup vs comparator)"]]
                assert n_line == f"n = {treated} + {control} (treated + control)"
                assert text.startswith(row["effect in subgroup (95% CI)"] + "  ")
        assert len(drawn) == expected == len(rows)
    finally:
        plt.close("all")
