"""Heterogeneity tests against known truth: calibration slope, RATE weights and their error rate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from subgroups.heterogeneity import (
    PRIMARY,
    _rank_weights,
    calibration_test,
    modifier_tests,
    rate_tests,
    test_heterogeneity,
    toc_curve,
)


def _simulate(n: int, rng: np.random.Generator, slope: float):
    """Held-out predictions τ̂ ~ N(0, 1) and scores ψ = 0.3 + slope·τ̂ + noise (noise SD 2, like AIPW scores)."""
    cate = rng.normal(size=n)
    scores = 0.3 + slope * cate + rng.normal(0, 2, size=n)
    return scores, cate


def test_calibration_slope_recovers_known_slope():
    rng = np.random.default_rng(1)
    scores, cate = _simulate(20_000, rng, slope=1.0)
    slope, mean = calibration_test(scores, cate)
    assert abs(slope.estimate - 1.0) < 4 * slope.se
    assert abs(mean.estimate - 0.3) < 4 * mean.se
    assert slope.p_value < 1e-10


@pytest.mark.slow
def test_null_rejection_rates_are_nominal():
    # 2,000 null trials at α = 0.05: MC SE of the rate is 0.0049; accept within 3 SE.
    rng = np.random.default_rng(2)
    rejections = np.zeros(3)
    for _ in range(2000):
        scores, cate = _simulate(400, rng, slope=0.0)
        h = test_heterogeneity(scores, cate, alpha=0.05, scale="difference in means")
        rejections += [h.calibration.p_value < 0.05, h.autoc.p_value < 0.05, h.qini.p_value < 0.05]
    rates = rejections / 2000
    assert np.all(np.abs(rates - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 2000)), rates


def test_rate_weights_match_the_toc_integral():
    rng = np.random.default_rng(3)
    scores, cate = _simulate(50, rng, slope=0.5)
    order = np.argsort(-cate)
    ranked = scores[order]
    n = ranked.size
    toc = np.array([ranked[:j].mean() - ranked.mean() for j in range(1, n + 1)])
    q = np.arange(1, n + 1) / n
    autoc, qini = rate_tests(scores, cate)
    assert autoc.estimate == pytest.approx(toc.mean())
    assert qini.estimate == pytest.approx(np.mean(q * toc))
    a, b = _rank_weights(n)
    assert a.sum() == pytest.approx(0, abs=1e-12) and b.sum() == pytest.approx(0, abs=1e-12)


def test_toc_curve_respects_small_cells_and_its_ci_covers_truth():
    from scipy import stats

    rng = np.random.default_rng(4)
    curve = toc_curve(*_simulate(5000, rng, slope=1.0), min_cell=300)
    assert (curve["n_top"] >= 300).all() and curve["q"].max() == 1.0
    # True TOC(q) for τ = τ̂ ~ N(0, 1) at q = 0.5: E[τ | τ > 0] = φ(0)/0.5. Coverage over 400 trials
    # (MC SE of a 95% coverage is 0.011; accept within 3 SE).
    truth = stats.norm.pdf(0) / 0.5
    covered = 0
    for _ in range(400):
        half = toc_curve(*_simulate(1000, rng, slope=1.0), min_cell=10).set_index("q").loc[0.5]
        covered += half.ci_low <= truth <= half.ci_high
    assert abs(covered / 400 - 0.95) < 3 * np.sqrt(0.95 * 0.05 / 400)


def test_constant_predictions_cannot_reject():
    rng = np.random.default_rng(5)
    scores = rng.normal(size=100)
    h = test_heterogeneity(scores, np.zeros(100), alpha=0.05, scale="difference in means")
    assert not h.detected and h.calibration.p_value == 1.0
    assert "No credible heterogeneity" in h.decision
    # no "slope 0.00, SE inf" in a report: the reason instead (a tiny trial's fold models predict a constant)
    assert "calibration slope not estimable: effect predictions are constant" in h.decision and "inf" not in h.decision


def _features(n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, str], dict[str, str]]:
    """Six numeric features, a 0/1/2 SNP and a three-level factor (two one-hot columns)."""
    X = pd.DataFrame(rng.normal(size=(n, 6)), columns=[f"x{j}" for j in range(6)])
    X["snp"] = rng.binomial(2, 0.3, n)
    level = rng.choice(3, n)
    X["smoking=former"], X["smoking=current"] = (level == 1).astype(float), (level == 2).astype(float)
    original = {c: c for c in X.columns} | {"smoking=former": "smoking", "smoking=current": "smoking"}
    return X, original, {"snp": "genetic", "smoking": "lifestyle"}


@pytest.mark.slow
def test_feature_modification_tests_hold_their_error_rate_and_find_a_modifier():
    # 400 null data sets (effect the same for everyone): any Holm-adjusted rejection at α = 0.05 is a
    # family-wise error; MC SE of the rate ≈ 0.011, accept up to 0.05 + 3 SE.
    rng = np.random.default_rng(5)
    errors, single = 0, 0
    for _ in range(400):
        X, original, family = _features(300, rng)
        table = modifier_tests(0.3 + rng.normal(0, 2, 300), X, original, family)
        errors += int((table["p_holm"] < 0.05).any())
        single += int(table.set_index("feature").loc["x0", "p_value"] < 0.05)
    assert errors / 400 <= 0.083
    assert 0.02 <= single / 400 <= 0.085  # one unadjusted test is nominal
    # The effect grows by 0.5 per SD of x2 and differs for current smokers: both found, nothing else.
    X, original, family = _features(4000, rng)
    scores = 0.3 + 0.5 * X["x2"] + 0.8 * X["smoking=current"] + rng.normal(0, 2, 4000)
    table = modifier_tests(scores.to_numpy(), X, original, family).set_index("feature")
    assert set(table.index[table["p_holm"] < 0.05]) == {"x2", "smoking"}
    assert table.loc["x2", "slope_per_sd"] == pytest.approx(0.5, abs=4 * table.loc["x2", "se"])
    assert table.loc["smoking", "columns"] == 2 and np.isnan(table.loc["smoking", "slope_per_sd"])
    assert table.loc["snp", "family"] == "genetic" and table.loc["x0", "family"] == "other"


def test_demo_names_the_genetic_modifier(demo_analysis):
    mods = demo_analysis.results["heterogeneity"]["modifiers"]
    top = mods["table"][0]
    assert top["feature"] in {"snp_01", "snp_02"} and top["p_holm"] < 0.05  # snp_02 is the LD decoy
    assert len(mods["table"]) == len(demo_analysis.data.feature_names)


def _candidates(X: np.ndarray, rule: np.ndarray | None = None) -> tuple:
    from subgroups.heterogeneity import Candidate

    features = tuple(Candidate(f"x{j}", "feature", columns=X[:, [j]]) for j in range(X.shape[1]))
    return features if rule is None else (*features, Candidate("x0 > 0", "rule", inside=rule))


@pytest.mark.slow
def test_pre_specified_candidates_and_the_agnostic_test_hold_the_family_wise_error_together():
    """Null: a constant effect. Three noise candidates share 80% of alpha with the agnostic test: any claim in at
    most alpha of trials (3 Monte-Carlo SE); without candidates the decision is the calibration test alone."""
    from subgroups.heterogeneity import candidate_test
    from subgroups.inference import weighted_holm

    rng = np.random.default_rng(21)
    reps, n, claims = 1000, 300, 0
    for _ in range(reps):
        X = rng.normal(size=(n, 3))
        scores = 0.3 + rng.normal(0, 1.5, n)
        slope, _ = calibration_test(scores, rng.normal(0, 0.1, n))  # a ranking that knows nothing
        p = [slope.p_value, *(candidate_test(scores, c, n_boot=400).p_value for c in _candidates(X))]
        claims += bool(np.any(weighted_holm(p, [0.2, 0.8 / 3, 0.8 / 3, 0.8 / 3])[0] < 0.05))
    assert 0.025 < claims / reps < 0.05 + 3 * np.sqrt(0.05 * 0.95 / reps)  # the shares are used, never exceeded
    X, scores, cate = rng.normal(size=(n, 3)), rng.normal(size=n), rng.normal(size=n)
    plain = test_heterogeneity(scores, cate, 0.05, "mean")
    assert plain.detected == (plain.calibration.p_value < 0.05) and plain.claims()[0]["p_adjusted"] == plain.calibration.p_value
    both = test_heterogeneity(scores, cate, 0.05, "mean", candidates=_candidates(X))
    adjusted, _ = weighted_holm(
        [both.calibration.p_value, *(c.p_value for c in both.candidates)], [0.2, 0.8 / 3, 0.8 / 3, 0.8 / 3]
    )
    assert [c["p_adjusted"] for c in both.claims()] == pytest.approx(list(adjusted))
    assert (
        both.primary_test
        == "calibration slope of the best linear predictor (one-sided) and 3 pre-specified candidates, weighted Holm"
    )


def test_a_pre_specified_rule_finds_what_the_agnostic_search_misses():
    """Carriers (x0 > 0) gain +0.5: the candidate rule is rejected at its share of alpha although the
    model's ranking (noise) is not, and the decision says where the claim came from."""
    rng = np.random.default_rng(4)
    n = 500
    X = rng.normal(size=(n, 3))
    rule = X[:, 0] > 0
    scores = 0.1 + 0.5 * rule + rng.normal(0, 1.0, n)
    result = test_heterogeneity(scores, rng.normal(0, 0.1, n), 0.05, "mean", candidates=_candidates(X, rule))
    claims = {c["claim"]: c for c in result.claims()}
    assert claims["x0 > 0"]["rejected"] and claims["x0 > 0"]["origin"] == "pre-specified"
    assert claims["x0 > 0"]["p_adjusted"] == pytest.approx(min(1.0, result.candidates[3].p_value / (0.8 / 4)), rel=1e-9)
    # Each claim's level at the start: the candidates share 80% of alpha, the calibration test has the rest.
    assert [c["alpha_start"] for c in result.claims()] == pytest.approx([0.01, 0.01, 0.01, 0.01, 0.01])
    assert result.candidates[3].estimate == pytest.approx(scores[rule].mean() - scores[~rule].mean())
    assert result.detected and "pre-specified candidate" in result.decision and "x0 > 0" in result.decision
    # The same rule in the other direction (lower is better) is not a benefit: one-sided p near 1.
    from subgroups.heterogeneity import Candidate, candidate_test

    assert candidate_test(scores, Candidate("x0 > 0", "rule", inside=rule, sign=-1.0)).p_value > 0.99


def test_feature_test_matches_statsmodels_hc3():
    """The direct HC3 Wald test gives statsmodels' numbers (one column: slope, SE, p; several: joint p)."""
    import statsmodels.api as sm

    from subgroups.heterogeneity import _feature_test

    rng = np.random.default_rng(3)
    for k in (1, 3):
        Z = rng.normal(size=(250, k))
        y = 0.3 + 0.2 * Z[:, 0] + rng.normal(0, 2, 250) * (1 + np.abs(Z[:, 0]))
        slope, se, p, width = _feature_test(y, Z)
        standardized = (Z - Z.mean(axis=0)) / Z.std(axis=0)
        fit = sm.OLS(y, sm.add_constant(standardized)).fit(cov_type="HC3")
        assert width == k
        if k == 1:
            assert (slope, se, p) == pytest.approx((fit.params[1], fit.bse[1], fit.pvalues[1]), rel=1e-9)
        else:
            assert np.isnan(slope) and p == pytest.approx(float(fit.wald_test(np.eye(k + 1)[1:], scalar=True).pvalue), rel=1e-9)


def test_toc_confidence_band_follows_the_level():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from subgroups import plots
    from subgroups.heterogeneity import toc_curve

    rng = np.random.default_rng(2)
    cate = rng.normal(size=400)
    scores = cate + rng.normal(0, 2, 400)
    wide, narrow = toc_curve(scores, cate, 10, 0.95), toc_curve(scores, cate, 10, 0.80)
    wide, narrow = wide[wide["q"] < 1], narrow[narrow["q"] < 1]  # TOC(1) = 0 exactly
    assert np.all(wide["ci_high"] - wide["ci_low"] > narrow["ci_high"] - narrow["ci_low"])
    ratio = (wide["ci_high"] - wide["ci_low"]) / (narrow["ci_high"] - narrow["ci_low"])
    assert np.allclose(ratio, 1.959964 / 1.281552, rtol=1e-5)
    labels = plots.toc(narrow, "difference in means").get_legend_handles_labels()[1]
    assert "80% pointwise CI" in labels
    plt.close("all")


# --- max-T test over encoded columns (max_t_test) ----------------------------------------------


def _ld_genotypes(n: int, rng: np.random.Generator, blocks: int = 6, size: int = 5, rho: float = 0.9) -> np.ndarray:
    """SNP-like 0/1/2 columns in blocks of `size` whose latent liabilities correlate at `rho` (linkage disequilibrium)."""
    shared = rng.normal(size=(n, blocks)).repeat(size, axis=1)
    latent = np.sqrt(rho) * shared + np.sqrt(1 - rho) * rng.normal(size=(n, blocks * size))
    return (latent > 0.5).astype(float) + (latent > 1.2)


def _null_scores(Z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """AIPW-like scores of a randomized trial with a constant effect 0.3 and a prognostic column:
    E[ψ | Z] = 0.3, but the variance of ψ depends on Z (heteroskedastic, as real scores are)."""
    w = rng.integers(0, 2, size=len(Z))
    y = 0.3 * w + 0.8 * Z[:, 0] + rng.normal(size=len(Z))
    return 2 * w * y - 2 * (1 - w) * y


def test_max_t_statistics_are_the_per_column_hc3_tests():
    from subgroups.heterogeneity import _feature_test, max_t_test

    rng = np.random.default_rng(11)
    Z = np.column_stack([rng.normal(size=300), rng.integers(0, 3, 300), np.ones(300)])  # the constant is skipped
    scores = 0.2 * Z[:, 0] + rng.normal(0, 2, 300)
    result = max_t_test(scores, pd.DataFrame(Z, columns=["a", "b", "flat"]), n_boot=2000, seed=1)
    assert list(result.t.index) == ["a", "b"] and result.n_features == 2 and result.n_boot == 2000
    for name, j in (("a", 0), ("b", 1)):
        slope, se, _, _ = _feature_test(scores, Z[:, [j]])
        assert result.t[name] == pytest.approx(slope / se, rel=1e-10)
    assert result.statistic == pytest.approx(np.abs(result.t).max())
    assert result.p_value == result.adjusted.min() and (result.adjusted >= result.p_value).all()
    assert max_t_test(scores, np.ones((300, 2))).p_value == 1.0  # nothing to test
    again = max_t_test(scores, Z, n_boot=2000, seed=1)
    assert again.p_value == result.p_value  # seeded


def test_a_one_sided_column_is_the_blp_calibration_test_inside_the_maximum():
    """A flagged column is tested against a positive slope: alone, its p is the one-sided normal p of the BLP
    calibration t (the same HC3 statistic); a negative slope is no evidence; beside other columns, the joint
    p lies between the smallest part's p and the sum of the parts' p."""
    from subgroups.errors import ParameterError
    from subgroups.heterogeneity import _feature_test, max_t_test

    rng = np.random.default_rng(21)
    x = rng.normal(size=400)
    cate = 0.5 * x + rng.normal(0, 0.5, 400)  # held-out predictions that carry some of the truth
    B = 40_000
    for sign in (1, -1):
        scores = sign * 0.2 * x + rng.normal(0, 2, 400)
        slope, _ = calibration_test(scores, cate)
        joint = max_t_test(scores, cate[:, None], n_boot=B, seed=5, one_sided=[True])
        assert joint.t.iloc[0] == pytest.approx(slope.estimate / slope.se, rel=1e-8)
        assert abs(joint.p_value - slope.p_value) < 4 * np.sqrt(0.25 / B) + 1 / B, (sign, joint.p_value, slope.p_value)
    scores = 0.2 * x + rng.normal(0, 2, 400)
    Z = np.column_stack([cate, x, rng.normal(size=400)])
    joint = max_t_test(scores, Z, n_boot=B, seed=6, one_sided=[True, False, False])
    parts = [calibration_test(scores, cate)[0].p_value, _feature_test(scores, Z[:, [1]])[2], _feature_test(scores, Z[:, [2]])[2]]
    tolerance = 4 * np.sqrt(0.25 / B) + 1 / B
    # The maximum's tail lies between that of its largest part and the union bound over the parts.
    assert min(parts) - tolerance <= joint.p_value <= sum(parts) + tolerance, (joint.p_value, parts)
    with pytest.raises(ParameterError, match="one flag per column"):
        max_t_test(scores, Z, one_sided=[True])


def test_max_t_pays_nothing_for_a_duplicated_column_where_bonferroni_pays_double():
    from subgroups.heterogeneity import _feature_test, max_t_test

    rng = np.random.default_rng(12)
    x = rng.normal(size=(400, 1))
    scores = 0.25 * x[:, 0] + rng.normal(0, 2, 400)
    single = _feature_test(scores, x)[2]  # two-sided normal p of the one column: 0.100
    B = 40_000
    tolerance = 4 * np.sqrt(single * (1 - single) / B) + 1 / B  # bootstrap precision
    for copies in (1, 2, 3):
        p = max_t_test(scores, np.repeat(x, copies, axis=1), n_boot=B, seed=copies).p_value
        assert abs(p - single) < tolerance, (copies, p, single)
    assert 2 * single - single > 5 * tolerance  # Bonferroni over the two copies would double it


def test_max_t_over_independent_columns_is_close_to_sidak():
    from subgroups.heterogeneity import _feature_test, max_t_test

    rng = np.random.default_rng(13)
    Z = rng.normal(size=(4000, 10))
    scores = 0.06 * Z[:, 0] + rng.normal(0, 2, 4000)
    p_min = min(_feature_test(scores, Z[:, [j]])[2] for j in range(10))
    sidak = 1 - (1 - p_min) ** 10
    B = 40_000
    p = max_t_test(scores, Z, n_boot=B, seed=3).p_value
    # Sample correlations of the columns are O(1/√n): Šidák holds up to that and the bootstrap precision.
    assert abs(p - sidak) < 4 * np.sqrt(sidak * (1 - sidak) / B) + 0.05 * sidak, (p, sidak, p_min)


def test_max_t_finds_a_real_modifier_among_linked_columns():
    from subgroups.heterogeneity import max_t_test

    rng = np.random.default_rng(14)
    Z = _ld_genotypes(500, rng)
    scores = _null_scores(Z, rng) + 1.0 * (Z[:, 7] >= 1)  # carriers of column 7 benefit by +1.0
    result = max_t_test(scores, Z, n_boot=10_000, seed=4)
    assert result.p_value < 0.01
    assert result.adjusted.idxmin() in range(5, 10)  # column 7 or a partner in its LD block
    assert (result.adjusted.drop(range(5, 10)) > 0.05).all()  # no other block is claimed


@pytest.mark.slow
def test_max_t_holds_its_level_under_linkage_and_beats_bonferroni():
    """400 null trials (n = 300, 30 SNP-like columns in 6 LD blocks, heteroskedastic scores): the max-T
    rejection rate at 0.05 is within 3 Monte-Carlo SE (0.011) of 0.05; Bonferroni over the columns is
    conservative here, and on the same trials with a modifier the max-T test rejects at least as often."""
    from subgroups.heterogeneity import _feature_test, max_t_test

    rng = np.random.default_rng(15)
    R = 400
    null_maxt, null_bonf, alt_maxt, alt_bonf = [], [], [], []
    for r in range(R):
        Z = _ld_genotypes(300, rng)
        scores = _null_scores(Z, rng)
        for shift, maxt, bonf in ((0.0, null_maxt, null_bonf), (0.8, alt_maxt, alt_bonf)):
            psi = scores + shift * (Z[:, 7] >= 1)
            maxt.append(max_t_test(psi, Z, n_boot=2000, seed=r).p_value < 0.05)
            p_min = min(_feature_test(psi, Z[:, [j]])[2] for j in range(Z.shape[1]))
            bonf.append(30 * p_min < 0.05)
    rate = float(np.mean(null_maxt))
    assert abs(rate - 0.05) < 3 * np.sqrt(0.05 * 0.95 / R), rate
    assert np.mean(null_bonf) <= rate
    assert np.mean(alt_maxt) >= np.mean(alt_bonf)
    print(f"level max-T {rate:.3f}, Bonferroni {np.mean(null_bonf):.3f}; power max-T {np.mean(alt_maxt):.3f}, "
          f"Bonferroni {np.mean(alt_bonf):.3f}")  # fmt: skip


# --- the decision rule: calibration and max-T (wild bootstrap, genotype carriers) -----------------


def test_wild_bootstrap_draws_are_studentized_like_the_observed_statistics():
    """Each wild draw's t is the HC3 t of `_feature_test` on the drawn scores ψ̄ + v(ψ − ψ̄), column by column."""
    from subgroups.heterogeneity import _feature_test, _wild_draws

    rng = np.random.default_rng(31)
    n = 200
    Z = np.column_stack([rng.normal(size=n), rng.integers(0, 3, n)]).astype(float)
    scores = 0.3 + rng.normal(0, 2, n) * (1 + 0.5 * np.abs(Z[:, 0]))
    z = (Z - Z.mean(axis=0)) / Z.std(axis=0)
    leverage = 1.0 / n + z**2 / n
    deviation = scores - scores.mean()
    draws = _wild_draws(deviation, z, leverage, 5, np.random.default_rng(7))
    v = 2.0 * np.random.default_rng(7).integers(0, 2, size=(5, n)) - 1.0  # the same Rademacher draws
    for b in range(5):
        drawn = scores.mean() + v[b] * deviation
        for j in range(2):
            slope, se, _, _ = _feature_test(drawn, Z[:, [j]])
            assert draws[b, j] == pytest.approx(slope / se, rel=1e-9)


@pytest.mark.slow
def test_wild_max_t_holds_its_level_on_binary_scores_where_the_gaussian_multiplier_runs_hot():
    """500 null trials with a binary outcome (n = 300, risk 0.15-0.75 by a prognostic column, a constant risk
    difference) and 30 SNP-like columns: the wild max-T rejects at most 0.05 + 2 Monte-Carlo SE at 0.05."""
    from subgroups.heterogeneity import max_t_test

    rng = np.random.default_rng(32)
    R, n = 500, 300
    wild = []
    for r in range(R):
        Z = _ld_genotypes(n, rng)
        x = rng.normal(size=n)
        w = rng.integers(0, 2, n)
        p0 = 0.15 + 0.6 / (1 + np.exp(-1.5 * x))
        y = (rng.random(n) < p0 + 0.1 * w).astype(float)
        mu0, mu1 = p0, p0 + 0.1  # true nuisances: E[ψ | X] = 0.1 for every patient
        psi = mu1 - mu0 + 2 * w * (y - mu1) - 2 * (1 - w) * (y - mu0)
        wild.append(max_t_test(psi, np.column_stack([Z, x]), n_boot=1000, seed=r, bootstrap="wild").p_value < 0.05)
    rate = float(np.mean(wild))
    assert rate < 0.05 + 2 * np.sqrt(0.05 * 0.95 / R), rate
    assert rate > 0.02, rate  # not a test that never rejects


def test_genotype_counts_gain_a_carrier_column_and_other_features_do_not():
    from subgroups.heterogeneity import genotype_carriers

    rng = np.random.default_rng(33)
    n = 400
    features = pd.DataFrame(
        {
            "snp_a": rng.choice([0, 1, 2], n, p=[0.49, 0.42, 0.09]),
            "snp_rare": rng.choice([0, 1, 2], n, p=[0.97, 0.025, 0.005]),  # too few carriers
            "snp_binary": rng.choice([0, 1], n),  # already a carrier indicator
            "comorbidities": rng.choice([0, 1, 2], n),  # a count, but not genetic
            "snp_missing": rng.choice([0.0, 1.0, 2.0, np.nan], n),
        }
    )
    family = {"snp_a": "genetic", "snp_rare": "genetic", "snp_binary": "genetic", "comorbidities": "disease",
              "snp_missing": "genetic"}  # fmt: skip
    carriers, feature_of = genotype_carriers(features, family, min_side=20)
    assert list(carriers.columns) == ["snp_a ≥ 1 (carrier)"] and feature_of == {"snp_a ≥ 1 (carrier)": "snp_a"}
    assert (carriers["snp_a ≥ 1 (carrier)"] == (features["snp_a"] >= 1)).all()


def test_max_t_finds_a_dominant_modifier_the_effect_model_misses_and_shares_the_agnostic_alpha():
    """Carriers of g gain +0.6 (scores of SD 2, n = 600) while the held-out predictions are noise: the calibration
    test does not reject, the max-T test does, its strongest column is g's carrier indicator, the two agnostic
    claims start with alpha/2 each (weighted Holm), and the decision names the column."""
    from subgroups.heterogeneity import genotype_carriers
    from subgroups.inference import weighted_holm

    rng = np.random.default_rng(34)
    n = 600
    g = rng.choice([0, 1, 2], n, p=[0.49, 0.42, 0.09])
    noise = rng.normal(size=(n, 5))
    scores = 0.2 + 0.6 * (g >= 1) + rng.normal(0, 2, n)
    features = pd.DataFrame({"g": g})
    columns = pd.concat([pd.DataFrame(noise, columns=[f"x{j}" for j in range(5)]).assign(g=g.astype(float)),
                         genotype_carriers(features, {"g": "genetic"}, 30)[0]], axis=1)  # fmt: skip
    result = test_heterogeneity(scores, rng.normal(0, 0.1, n), 0.05, "mean", columns=columns, seed=3,
                                original_of={"g ≥ 1 (carrier)": "g"})  # fmt: skip
    assert result.calibration.p_value > 0.05 and result.max_t.p_value < 0.01
    assert result.max_t_columns.iloc[0]["column"] == "g ≥ 1 (carrier)" and result.max_t_columns.iloc[0]["feature"] == "g"
    expected, _ = weighted_holm([result.calibration.p_value, result.max_t.p_value], [0.5, 0.5])
    assert result.agnostic_adjusted == pytest.approx(expected) and result.p_value == pytest.approx(expected.min())
    assert result.detected and "g ≥ 1 (carrier)" in result.decision
    claims = result.claims()
    assert [c["origin"] for c in claims] == ["agnostic (effect model learned from the data)", "agnostic (each feature in turn)"]
    assert [c["alpha_start"] for c in claims] == pytest.approx([0.025, 0.025])  # half of alpha each, no candidates
    without = test_heterogeneity(scores, rng.normal(0, 0.1, n), 0.05, "mean")  # no columns: calibration alone
    assert without.max_t is None and without.p_value == without.calibration.p_value
    # The report names the tests that decided (an observational study runs no max-T).
    assert result.to_dict()["primary_test"] == PRIMARY
    assert without.to_dict()["primary_test"] == "calibration slope of the best linear predictor (one-sided)"


def test_wild_wald_p_agrees_with_the_chi2_reference_on_well_behaved_scores_and_is_used_for_feature_candidates():
    """Normal scores, 2,000 patients: the wild-bootstrap p of the HC3 Wald test lies within bootstrap precision
    (plus 15% of p) of the normal / χ² reference, for one column and for two; a feature candidate reports it."""
    from subgroups.heterogeneity import Candidate, _feature_test, candidate_test, wild_wald_p

    rng = np.random.default_rng(35)
    n, B = 2000, 8000
    Z = np.column_stack([rng.normal(size=n), rng.integers(0, 3, n)]).astype(float)
    scores = 0.3 + 0.09 * Z[:, 0] + rng.normal(0, 2, n)
    for columns in ([0], [0, 1]):
        reference = _feature_test(scores, Z[:, columns])[2]
        p = wild_wald_p(scores, Z[:, columns], n_boot=B, seed=1)
        assert abs(p - reference) < 4 * np.sqrt(reference * (1 - reference) / B) + 0.15 * reference, (columns, p, reference)
    assert wild_wald_p(scores, np.ones((n, 1))) == 1.0
    tested = candidate_test(scores, Candidate("z0", "feature", columns=Z[:, [0]]), seed=4)
    assert tested.p_value == wild_wald_p(scores, Z[:, [0]], seed=4) and "wild bootstrap" in tested.meaning


def _cox_trial(n: int, rng: np.random.Generator, modifier: float, folds: int = 5):
    """Randomized trial with exponential times: log hazard 0.8·x1 + w·(−0.2 − modifier·1{x0 > 0}), uniform censoring;
    the tests adjust for the cross-fitted prognostic index of the four features."""
    from subgroups.heterogeneity import Survival, prognostic_index

    X = rng.normal(size=(n, 4))
    w = rng.permutation(np.arange(n) % 2)
    rule = X[:, 0] > 0
    hazard = 0.05 * np.exp(0.8 * X[:, 1] + w * (-0.2 - modifier * rule))
    death, censor = rng.exponential(1 / hazard), rng.uniform(5, 40, n)
    time, event = np.minimum(death, censor), (death <= censor).astype(int)
    return Survival(time, event, w, prognostic_index(time, event, w, X, np.arange(n) % folds)), X, rule


def test_hazard_scale_candidate_recovers_a_known_interaction():
    """The hazard ratio is exp(−0.8) times smaller for x0 > 0: the rule's estimate (log HR outside minus inside) is
    0.8 within 3 SE and rejected; the feature x0 (a linear stand-in for the step) is found two-sided; noise x3 is not;
    the opposite direction of benefit (events are good) gives p near 1; the prognostic index tracks the true 0.8·x1."""
    from subgroups.heterogeneity import Candidate, hazard_candidate_test

    survival, X, rule = _cox_trial(2000, np.random.default_rng(5), modifier=0.8)
    assert np.corrcoef(survival.prognosis, X[:, 1])[0, 1] > 0.95
    found = hazard_candidate_test(survival, Candidate("x0 > 0", "rule", inside=rule))
    assert abs(found.estimate - 0.8) < 3 * found.se and found.se < 0.15 and found.p_value < 1e-4
    assert found.alternative == "benefit inside" and "adjusted for a cross-fitted prognostic index" in found.meaning
    assert hazard_candidate_test(survival, Candidate("x0 > 0", "rule", inside=rule, sign=-1.0)).p_value > 0.999
    x0 = hazard_candidate_test(survival, Candidate("x0", "feature", columns=X[:, [0]]))
    assert x0.estimate < 0 and x0.p_value < 1e-3 and x0.alternative == "two-sided"
    assert hazard_candidate_test(survival, Candidate("x3", "feature", columns=X[:, [3]])).p_value > 0.01
    constant = hazard_candidate_test(survival, Candidate("k", "feature", columns=np.ones((2000, 1))))
    assert constant.p_value == 1.0 and "constant" in constant.meaning


def test_hazard_scale_test_sees_a_modifier_and_not_prognosis_within_folds_or_pooled():
    """Predicted benefit rising with x0 (the true modifier of the hazard ratio) is rejected, pooled and within folds
    (forward predictions: fold 0 has none); predictions tracking prognosis x1 under a constant hazard ratio are not."""
    from subgroups.heterogeneity import hazard_scale_test

    rng = np.random.default_rng(6)
    folds = np.arange(2000) % 5
    for modifier, column in ((0.8, 0), (0.0, 1)):
        survival, X, _ = _cox_trial(2000, rng, modifier=modifier)
        cate = X[:, column] + rng.normal(0, 0.5, 2000)
        forward = np.where(folds == 0, np.nan, cate)
        for result in (hazard_scale_test(survival.time, survival.event, survival.treatment, cate),
                       hazard_scale_test(survival.time, survival.event, survival.treatment, forward, folds)):  # fmt: skip
            if modifier:
                assert 0.1 < result.estimate < 0.4 and result.p_value < 0.01, result  # a step seen by a line: about 0.2
            else:
                assert abs(result.estimate) < 3 * result.se, result
    assert "stratified by fold" in result.meaning


@pytest.mark.slow
def test_hazard_scale_candidates_hold_their_level_with_a_treatment_effect():
    """Constant hazard ratio exp(−0.2): a noise feature (two-sided) and the rule x0 > 0 (one-sided) are rejected at
    0.05 in at most 0.05 + 3 Monte-Carlo SE of 150 trials of 250 patients, and not far below it (a 2-fold index:
    fewer fits)."""
    from subgroups.heterogeneity import Candidate, hazard_candidate_test

    rng = np.random.default_rng(8)
    p = np.array(
        [
            [
                hazard_candidate_test(s, Candidate("x3", "feature", columns=X[:, [3]])).p_value,
                hazard_candidate_test(s, Candidate("x0 > 0", "rule", inside=rule)).p_value,
            ]
            for s, X, rule in (_cox_trial(250, rng, modifier=0.0, folds=2) for _ in range(150))
        ]
    )
    rejected = (p < 0.05).mean(axis=0)
    assert np.all(rejected < 0.05 + 3 * np.sqrt(0.05 * 0.95 / 150)) and np.all(rejected > 0.01), rejected


def test_blocked_calibration_slope_compares_patients_within_folds_and_skips_missing_predictions():
    # Predictions of four folds, each shifted by a large fold-specific level the scores do not share: the
    # within-fold slope still recovers 1; a fifth fold without predictions (NaN) is left out.
    rng = np.random.default_rng(5)
    n = 20_000
    folds = rng.integers(0, 5, n)
    scores, cate = _simulate(n, rng, slope=1.0)
    shifted = cate + np.array([np.nan, 4.0, -3.0, 6.0, -5.0])[folds]
    slope, _ = calibration_test(scores, shifted, folds)
    assert abs(slope.estimate - 1.0) < 4 * slope.se
    pooled, _ = calibration_test(scores[folds > 0], shifted[folds > 0])
    assert pooled.estimate < 0.2  # the levels swamp the pooled regression
    one_block, _ = calibration_test(scores, cate, np.zeros(n, int))
    plain, _ = calibration_test(scores, cate)
    assert one_block.estimate == pytest.approx(plain.estimate, rel=1e-10)
    assert one_block.se == pytest.approx(plain.se, rel=1e-10)


def _knn_effects(X, y, T, train, test, k=5):
    """A deliberately flexible effect model: k-NN regressions per arm of the outcome, differenced."""
    from sklearn.neighbors import KNeighborsRegressor

    arm = [KNeighborsRegressor(k).fit(X[train & (T == a)], y[train & (T == a)]) for a in (0, 1)]
    return arm[1].predict(X[test]) - arm[0].predict(X[test])


@pytest.mark.slow
def test_forward_predictions_hold_the_calibration_tests_level_where_cross_fitted_ones_do_not():
    # No heterogeneity (constant effect 0.5), a flexible learner, 5 folds. Cross-fitted predictions of the
    # folds learn from each other's outcomes: the pooled BLP t is off-centre or overdispersed. Forward
    # predictions (fold k from folds < k) give a t with mean 0 and SD 1. 400 trials: MC SE of the SD ≈ 0.035.
    rng = np.random.default_rng(11)
    t_cross, t_forward, t_autoc = [], [], []
    for _ in range(400):
        n = 300
        X = rng.normal(size=(n, 3))
        T = rng.integers(0, 2, n)
        Y = X[:, 0] + 0.5 * T + rng.normal(size=n)
        folds = rng.permutation(np.arange(n) % 5)
        cross = np.empty(n)
        forward = np.full(n, np.nan)
        mu = np.empty((n, 2))
        for k in range(5):
            test = folds == k
            cross[test] = _knn_effects(X, Y, T, ~test, test)
            for a in (0, 1):  # cross-fitted outcome models (linear) for the AIPW scores
                keep = ~test & (T == a)
                beta = np.linalg.lstsq(np.c_[np.ones(keep.sum()), X[keep]], Y[keep], rcond=None)[0]
                mu[test, a] = np.c_[np.ones(test.sum()), X[test]] @ beta
            if k:
                forward[test] = _knn_effects(X, Y, T, folds < k, test)
        psi = mu[:, 1] - mu[:, 0] + T * (Y - mu[:, 1]) / 0.5 - (1 - T) * (Y - mu[:, 0]) / 0.5
        c, _ = calibration_test(psi, cross)
        f, _ = calibration_test(psi, forward, folds)
        t_cross.append(c.estimate / c.se)
        t_forward.append(f.estimate / f.se)
        # AUTOC ranked within folds by the forward predictions: the same (cross-fitted, pooled: t mean -0.24, SD 1.25,
        # 7% one-sided rejections at 5% when this was written; forward: -0.06, 0.97, 5%).
        autoc, _ = rate_tests(psi, forward, folds)
        t_autoc.append(autoc.estimate / autoc.se)
    t_cross, t_forward, t_autoc = np.array(t_cross), np.array(t_forward), np.array(t_autoc)
    assert abs(t_autoc.mean()) < 0.15 and 0.9 < t_autoc.std() < 1.12, (t_autoc.mean(), t_autoc.std())
    assert abs(t_forward.mean()) < 0.15 and 0.9 < t_forward.std() < 1.12, (t_forward.mean(), t_forward.std())
    assert np.mean(t_forward > stats.norm.ppf(0.95)) < 0.05 + 3 * np.sqrt(0.05 * 0.95 / 400)
    assert abs(t_cross.mean()) > 0.3 or t_cross.std() > 1.2, (t_cross.mean(), t_cross.std())


def test_lower_is_better_ranks_by_predicted_benefit():
    """The same trial with the outcome negated and lower declared better: AUTOC, Qini and the TOC curve rank by
    predicted benefit and read exactly as before (they ranked from the wrong end: the patients predicted to benefit
    least); the calibration slope is unchanged by the sign."""
    rng = np.random.default_rng(12)
    scores, cate = _simulate(3000, rng, slope=1.0)
    folds = np.repeat(np.arange(5), 600)
    forward = np.where(folds > 0, cate + rng.normal(0, 0.5, 3000), np.nan)
    up = test_heterogeneity(scores, cate, 0.05, "mean", forward=(forward, folds))
    down = test_heterogeneity(-scores, -cate, 0.05, "mean", forward=(-forward, folds), benefit_sign=-1.0)
    for name in ("autoc", "qini", "calibration"):
        assert getattr(down, name).estimate == pytest.approx(getattr(up, name).estimate, rel=1e-12)
        assert getattr(down, name).p_value == pytest.approx(getattr(up, name).p_value, rel=1e-9)
    assert up.autoc.estimate > 0 and up.autoc.p_value < 0.001
    pd.testing.assert_frame_equal(down.toc, up.toc, check_exact=False, rtol=1e-12)
    assert down.to_dict()["toc"]["measure"].startswith("benefit") and "sign turned" in down.autoc.meaning
    # Without the sign the lower-is-better trial was ranked from the wrong end: a different (bottom-q) curve.
    wrong = test_heterogeneity(-scores, -cate, 0.05, "mean", forward=(-forward, folds))
    assert not np.allclose(wrong.toc["toc"].to_numpy()[:-1], up.toc["toc"].to_numpy()[:-1])


def test_constant_predictions_give_no_ranking_statistics():
    """A fold whose model predicts one effect for everyone has no ranking: AUTOC and Qini leave it out (its order
    would be the data's), and with no ranking anywhere they, and the TOC curve, are not estimable."""
    from subgroups import narrative

    rng = np.random.default_rng(5)
    scores, cate = _simulate(1200, rng, slope=1.0)
    folds = np.repeat(np.arange(3), 400)
    forward = np.where(folds == 1, 0.7, cate)  # fold 1: a constant prediction
    autoc, qini = rate_tests(scores, forward, folds)
    keep = folds != 1
    alone = rate_tests(scores[keep], cate[keep], folds[keep])
    assert (autoc.estimate, qini.estimate) == pytest.approx((alone[0].estimate, alone[1].estimate), rel=1e-12)
    assert autoc.se == pytest.approx(alone[0].se, rel=1e-12)
    flat = rate_tests(scores, np.full(1200, 0.7), folds)
    assert all(np.isnan(t.estimate) and t.p_value == 1.0 and "no ranking" in t.meaning for t in flat)
    assert toc_curve(scores, np.full(1200, 0.7), 10).empty
    h = test_heterogeneity(scores, np.full(1200, 0.7), 0.05, "mean", forward=(np.full(1200, 0.7), folds))
    page = narrative.heterogeneity_sentence(_as_results(h))
    assert "Supporting: AUTOC not estimable: effect predictions are constant" in page


def _as_results(h) -> dict:
    """The heterogeneity section as results.json holds it (NaN as null), inside a minimal results tree."""
    from subgroups.results import json_ready

    return {"heterogeneity": json_ready(h.to_dict()) | {"status": "test"}, "ate": {"unit": None, "scale": "mean"}}
