"""SHAP importance of the effect model, per original feature and per family."""

from __future__ import annotations

import numpy as np


def test_true_predictive_snp_ranks_first(demo_analysis):
    assert demo_analysis.importance.index[0] == "snp_01"
    assert demo_analysis.importance_by_family.index[0] == "genetic"


def test_importance_is_per_original_feature(demo_analysis):
    importance = demo_analysis.importance
    assert set(importance.index) == set(demo_analysis.data.feature_names)
    assert "smoking" in importance.index and not any("=" in name for name in importance.index)
    assert (importance >= 0).all()
    assert set(demo_analysis.importance_by_family.index) == {"genetic", "lifestyle", "disease", "other"}


def test_rows_are_capped_and_gap_reported(demo_analysis):
    imp = demo_analysis.results["importance"]
    assert imp["rows_used"] == demo_analysis.params.estimation.shap_rows == 300
    assert imp["rows_total"] == 2000
    # The tree-SHAP reconstruction of the forest's prediction must be close (it is an approximation).
    assert 0 <= imp["approximation_gap_relative_to_effect_sd"] < 0.5
    assert np.isclose(sum(imp["share_by_feature"].values()), 1.0)


def test_an_effect_model_that_predicts_one_effect_for_everyone_has_no_important_feature(demo_analysis):
    """Every fold model shrunk to its intercept (the CDISC pilot's CIBIC+): the surrogate's SHAP values are rounding
    noise (1.6e-32 for one feature, a 100% share, before); now exactly 0 and the page says why."""
    from types import SimpleNamespace

    from subgroups import narrative
    from subgroups.explain import explain_effects

    data = demo_analysis.data
    flat = SimpleNamespace(effect=lambda X: np.full(len(X), 0.3), analysed=lambda n: np.ones(n, dtype=bool))
    explanation = explain_effects(flat, data, max_rows=50, seed=0)
    assert (explanation.by_feature == 0).all() and (explanation.by_family == 0).all()
    importance = explanation.to_dict()
    assert set(importance["share_by_feature"].values()) == {0.0}
    assert narrative.importance_sentence({"importance": importance}).startswith(
        "The effect model predicts the same effect for every patient, so no feature changes it"
    )
