from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import yaml
from scipy import special, stats
from support import demo_tree, small_params
from threadpoolctl import threadpool_limits

import subgroups
from subgroups import cli, narrative
from subgroups.analysis import build_results
from subgroups.audit import (
    PERMUTATION_TEST,
    RANDOMIZATION_ALPHA,
    audit_trial,
    balance_f_test,
    balance_permutation_test,
    check_randomization,
    enforce_randomization,
)
from subgroups.data import load_trial
from subgroups.datasets.synthetic import simulate_trial
from subgroups.errors import DataError, ParameterError
from subgroups.params import load_params
from subgroups.privacy import suppress_count, suppress_group
from subgroups.runner import index_page


def test_suppress_count():
    assert suppress_count(0, 10) == 0
    assert suppress_count(3, 10) == "<10"
    assert suppress_count(10, 10) == 10


def test_complementary_suppression_hides_a_second_cell():
    shown = suppress_group(pd.Series({"a": 3, "b": 40, "c": 25}), 10)
    # With the total published, hiding only "a" would reveal it as total - b - c.
    assert shown.to_dict() == {"a": "<10", "b": 40, "c": "suppressed"}  # c (25) is hidden, but it is not below 10
    two_small = suppress_group(pd.Series({"a": 3, "b": 4, "c": 50}), 10)
    assert two_small.to_dict() == {"a": "<10", "b": "<10", "c": 50}


def test_standardized_differences_match_hand_computation(small_csv: Path):
    trial = load_trial(small_params(small_csv))
    audit = audit_trial(trial, 10)
    bmi = trial.features["bmi"].to_numpy()
    t, c = bmi[trial.treatment == 1], bmi[trial.treatment == 0]
    expected = (t.mean() - c.mean()) / np.sqrt((t.var(ddof=1) + c.var(ddof=1)) / 2)
    row = audit.balance[audit.balance.feature == "bmi"].iloc[0]
    assert row["SMD"] == pytest.approx(expected, abs=1e-3)
    current = audit.balance[(audit.balance.feature == "smoking") & audit.balance.level.str.contains("current")].iloc[0]
    p1 = (trial.features["smoking"][trial.treatment == 1] == "current").mean()
    p0 = (trial.features["smoking"][trial.treatment == 0] == "current").mean()
    assert current["SMD"] == pytest.approx((p1 - p0) / np.sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2), abs=1e-3)


def test_small_cells_and_rare_levels_are_not_shown(small_csv: Path, tmp_path: Path):
    frame = pd.read_csv(small_csv)
    frame.loc[0, "smoking"] = "rare-level-marker"
    path = tmp_path / "rare.csv"
    frame.to_csv(path, index=False)
    audit = audit_trial(load_trial(small_params(path)), 10)
    text = audit.balance.to_string() + audit.schema.to_string()
    assert "rare-level-marker" not in text
    assert "(levels with < 10 patients each)" in text
    smoking = audit.balance[audit.balance.feature == "smoking"]
    assert (smoking == "<10").any().any()


# --- randomization check ---------------------------------------------------------------------------


def _null_params() -> dict:
    tree = demo_tree()
    tree["data"].pop("simulation")
    tree["data"]["source"] = None
    return tree


def _z(values) -> np.ndarray:
    values = np.asarray(values, float)
    return (values - values.mean()) / values.std()


def _confounded_arm(features: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Treatment by the features (benchmark PM-OBS-NULL): expit(-0.4 + 1.2 z(severity) + 0.8 z(age) - 0.6 1{current})."""
    lp = -0.4 + 1.2 * _z(features["severity"]) + 0.8 * _z(features["age"]) - 0.6 * (features["smoking"] == "current")
    return (rng.random(len(features)) < special.expit(lp)).astype(int)


def test_balance_f_test_is_the_regression_f_test():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 4))
    level = rng.integers(0, 3, 120)
    onehot = np.eye(3)[level]  # all three levels: collinear with the intercept, rank 2 of 3
    full = np.column_stack([X, onehot, np.full(120, 7.0)])  # and a constant column
    t = (rng.random(120) < special.expit(0.8 * X[:, 0])).astype(int)
    f, df, p = balance_f_test(full, t)
    ols = sm.OLS(t.astype(float), sm.add_constant(np.column_stack([X, onehot[:, 1:]]))).fit()
    assert df == (6, 113)
    assert f == pytest.approx(ols.fvalue, rel=1e-9)
    assert p == pytest.approx(ols.f_pvalue, rel=1e-6)
    assert balance_f_test(full[:12], t[:12]) is None  # 5 residual df: not tested


def test_balance_test_holds_its_level_over_randomizations():
    # The randomization distribution given one trial's features: re-randomize its arms 1:1 many times.
    trial = load_trial(_null_params(), simulate_trial("PM-NULL-a", n=500, seed=11).data)
    X, rng = trial.X.to_numpy(float), np.random.default_rng(3)
    with threadpool_limits(limits=1):  # BLAS threads spin against other processes on small problems
        p = np.array([balance_f_test(X, rng.permutation(trial.treatment))[2] for _ in range(1000)])
    # 3 Monte-Carlo SE around the nominal rates (SE 0.0069 at 0.05; Poisson(1) at 0.001: P(> 5) < 0.001).
    assert 0.029 <= (p < 0.05).mean() <= 0.071
    assert (p < 0.01).mean() <= 0.02
    assert (p < RANDOMIZATION_ALPHA).sum() <= 5


@pytest.mark.slow
def test_randomized_trials_are_rarely_flagged_and_confounded_ones_always():
    params, rng = _null_params(), np.random.default_rng(5)
    randomized, confounded, worst, c_stats = 0, 0, [], []
    with threadpool_limits(limits=1):  # BLAS threads spin against other processes on small problems
        for seed in range(20):
            frame = simulate_trial("PM-NULL-a", n=500, seed=100 + seed).data
            randomized += check_randomization(load_trial(params, frame), seed=seed).failed
            frame = frame.assign(arm=np.where(_confounded_arm(frame, rng) == 1, "drug", "placebo"))
            check = check_randomization(load_trial(params, frame), seed=seed)
            confounded += check.balance_failed
            worst.append(check.worst[0][0])
            c_stats.append(check.c_statistic)
    # Nominal false-flag rate about 0.002 per trial: 2 or more of 20 has probability below 0.001. Power
    # at n = 500 is about 1 (200 of 200 flagged in a longer run; c-statistic about 0.8).
    assert randomized <= 1
    assert confounded == 20
    assert worst.count("severity") >= 15  # the strongest driver of treatment has the largest difference
    assert 0.72 <= np.median(c_stats) <= 0.88


def _wide(frame: pd.DataFrame, seed: int, extra: int = 480) -> pd.DataFrame:
    """The trial with `extra` more variants (0/1/2, frequency 0.3): more feature columns than patients at n = 400."""
    snps = np.random.default_rng(seed).binomial(2, 0.3, size=(len(frame), extra))
    return pd.concat([frame, pd.DataFrame(snps, columns=[f"snp_x{j}" for j in range(extra)], index=frame.index)], axis=1)


def test_wide_data_get_the_permutation_balance_test():
    frame = _wide(simulate_trial("PM-NULL-a", n=400, seed=7).data, seed=1)
    trial = load_trial(_null_params(), frame)
    assert trial.X.shape[1] > 400 and balance_f_test(trial.X.to_numpy(float), trial.treatment) is None
    check = check_randomization(trial)
    assert check.balance_method == PERMUTATION_TEST and check.balance_df is None and not check.failed
    # The statistic by hand: mean over columns of ((treated mean - control mean) / SD over all patients)².
    X, t = trial.X.to_numpy(float), np.asarray(trial.treatment) == 1
    X = X[:, X.std(axis=0) > 0]
    assert check.balance_statistic == pytest.approx(np.mean(((X[t].mean(0) - X[~t].mean(0)) / X.std(0)) ** 2), rel=1e-9)
    sentence = narrative.randomization_sentence({"audit": {"randomization": check.to_dict()}})
    assert "permutation test of the mean squared standardized difference" in sentence and sentence.startswith(
        "**Randomization check:** passed"
    )
    # Treatment by severity, age and smoking (as in the observational benchmark): found among 500+ columns.
    confounded = check_randomization(load_trial(_null_params(), frame.assign(arm=np.where(
        _confounded_arm(frame, np.random.default_rng(2)) == 1, "drug", "placebo"))))  # fmt: skip
    assert confounded.balance_failed and confounded.balance_p < RANDOMIZATION_ALPHA
    assert "permutation balance test p < 0.001" in confounded.message and confounded.worst[0][0] == "severity"
    assert "permutation test" in narrative.randomization_sentence({"audit": {"randomization": confounded.to_dict()}})


def test_permutation_balance_test_holds_its_level_over_randomizations():
    frame = _wide(simulate_trial("PM-NULL-a", n=400, seed=8).data, seed=2)
    trial = load_trial(_null_params(), frame)
    X, rng = trial.X.to_numpy(float), np.random.default_rng(4)
    with threadpool_limits(limits=1):
        tests = np.array([balance_permutation_test(X, rng.permutation(trial.treatment), draws=400, seed=i) for i in range(300)])
    statistic, p = tests[:, 0], tests[:, 1]
    # 3 Monte-Carlo SE (0.0126) around 0.05; p-values in steps of 1/401 are uniform under the null.
    assert 0.012 <= (p < 0.05).mean() <= 0.088
    assert 0.4 <= p.mean() <= 0.6
    # The statistic's mean under randomization, as the report states it: n/(n − 1)·(1/n₁ + 1/n₀) (Monte-Carlo SE ~4e-5).
    expected = check_randomization(trial).balance_expected
    assert expected == pytest.approx(400 / 399 * (1 / 200 + 1 / 200))
    assert abs(statistic.mean() - expected) < 2e-4


def test_allocation_is_tested_against_the_declared_ratio():
    frame = simulate_trial("PM-NULL-a", n=600, seed=2).data
    arm = np.where(np.random.default_rng(0).permutation(600) < 400, "drug", "placebo")  # exactly 2:1
    frame = frame.assign(arm=arm)
    default = check_randomization(load_trial(_null_params(), frame))
    assert default.allocation == "1:1" and default.allocation_failed and not default.balance_failed
    assert default.allocation_p == pytest.approx(stats.binomtest(400, 600, 0.5).pvalue)
    assert "declare it as data.treatment.allocation" in default.message and "data.study: observational" in default.message
    tree = _null_params()
    tree["data"]["treatment"]["allocation"] = "2:1"
    declared = check_randomization(load_trial(tree, frame))
    assert declared.declared_share == pytest.approx(2 / 3) and not declared.failed and declared.message is None
    tree["data"]["randomization_probability"] = 0.5
    with pytest.raises(ParameterError, match="contradicts data.randomization_probability"):
        check_randomization(load_trial(tree, frame))
    with pytest.raises(ParameterError, match="in quotes"):
        load_params(_null_params(), ["data.treatment.allocation=2:1"])  # YAML would read 121


def test_strict_turns_a_failed_check_into_one_line_error():
    frame = simulate_trial("PM-NULL-a", n=400, seed=4).data
    frame = frame.assign(arm=np.where(_confounded_arm(frame, np.random.default_rng(1)) == 1, "drug", "placebo"))
    check = check_randomization(load_trial(_null_params(), frame))
    assert enforce_randomization(check, strict=False) == check.message
    tree = _null_params()
    tree["data"]["treatment"]["strict"] = True
    with pytest.raises(DataError, match="randomization check failed") as caught:
        subgroups.analyze(frame, tree)  # stops before any fitting
    assert "\n" not in str(caught.value) and "severity" in str(caught.value)


def test_a_failed_check_withholds_confirmatory_and_warns_in_every_report(demo_analysis):
    a = demo_analysis
    assert a.results["audit"]["randomization"]["passed"] and a.results["ate"]["status"] == "confirmatory"
    sentence = narrative.randomization_sentence(a.results)
    assert sentence.startswith("**Randomization check:** passed (declared allocation 1\\:1") and "F-test" in sentence
    assert "randomization check" not in narrative.data_summary(a.results, audit_trial(a.data)).lower()
    assert a.results["data"]["notes"] == [] and "Notes on the input" not in narrative.data_summary(a.results, audit_trial(a.data))
    noted = {**a.results, "data": {**a.results["data"], "notes": ["<10 of the rows read repeat an earlier row", "a *second*"]}}
    summary = narrative.data_summary(noted, audit_trial(a.data))
    assert "**Notes on the input:** &lt;10 of the rows read repeat an earlier row; a \\*second\\*." in summary
    # The same patients with treatment assigned by their features: only the arm labels change.
    confounded = dataclasses.replace(a.data, treatment=_confounded_arm(a.data.features, np.random.default_rng(2)))
    results = build_results(a.params, confounded, a.effects, a.explanation, a.tests, a.results["subgroups"], a.results["design"])
    check = results["audit"]["randomization"]
    assert not check["passed"] and check["balance"]["p_value"] < 1e-10 and check["worst"][0]["feature"] == "severity"
    assert results["ate"]["status"] == "exploratory" and "randomization check failed" in results["ate"]["status_reason"]
    summary = narrative.data_summary(results, audit_trial(confounded))
    assert summary.startswith("**Warning: randomization check failed**")
    assert "<code>severity</code>" in summary and "`study: observational`" in summary
    assert "more imbalance than chance" in summary and "arises by chance" not in summary
    assert "Status: exploratory (randomization check failed" in narrative.ate_sentence(results)
    assert "randomization check failed" in narrative.overlap_sentence(results)
    page = index_page(results, [])
    assert "Warning: the randomization check failed." in page and "data.study: observational" in page
    assert '<span class="tag">exploratory</span></td></tr>' in page.split("Average effect")[1].split("\n")[0] + "</td></tr>"


def test_observational_reports_state_the_propensity_model_and_the_assumption(demo_analysis):
    results = json.loads(json.dumps(demo_analysis.results))
    results["data"]["study"] = "observational"
    results["audit"]["randomization"] = None
    results["effects"]["overlap"] = {
        "study": "observational",
        "trim": [0.05, 0.95],
        "n_trimmed": 12,
        "share_trimmed": 0.006,
        "quantiles_by_arm": {"treated": {"q50": 0.61}, "control": {"q50": 0.42}},
        "c_statistic": 0.71,
        "warning": None,
    }
    overlap = narrative.overlap_sentence(results)
    assert "12 (0.6%) patients" in overlap and "logistic regression or gradient boosting" in overlap
    assert "no unmeasured confounding" in overlap
    assert "no unmeasured confounding" in narrative.data_summary(results, audit_trial(demo_analysis.data))
    assert "no unmeasured confounding" in index_page(results, [])
    assert "no randomization to check" in narrative.randomization_sentence(results)
    assert (
        audit_trial(dataclasses.replace(demo_analysis.data, spec=_observational(demo_analysis.data.spec))).randomization is None
    )


def _observational(spec):
    return spec.model_copy(update={"study": "observational"})


def test_check_is_fast_at_2000_patients_and_30_features():
    trial = load_trial(_null_params(), simulate_trial("PM-NULL-a", n=2000, seed=1).data)
    check_randomization(trial)  # warm-up (first BLAS call)
    start = time.perf_counter()
    check = check_randomization(trial)
    assert time.perf_counter() - start < 2.0
    assert check.balance_df[0] >= 30 and not check.failed


def test_validate_prints_the_warning_and_strict_exits_2(tmp_path: Path, capsys):
    frame = simulate_trial("PM-NULL-a", n=400, seed=6).data
    frame = frame.assign(arm=np.where(_confounded_arm(frame, np.random.default_rng(3)) == 1, "drug", "placebo"))
    frame.to_csv(tmp_path / "confounded.csv", index=False)
    tree = _null_params()
    tree["data"]["source"] = str(tmp_path / "confounded.csv")
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(tree))
    assert cli.main(["validate", str(tmp_path / "p.yaml")]) == 0
    out = capsys.readouterr().out
    assert "WARNING: randomization check failed" in out and "severity (SMD +" in out and "data.study: observational" in out
    assert cli.main(["validate", str(tmp_path / "p.yaml"), "-p", "data.treatment.strict=true"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: randomization check failed") and err.count("\n") == 1
