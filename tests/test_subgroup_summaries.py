"""Subgroup summaries: hazard ratios on the half that did not find the rule, and the profile of who is inside."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from subgroups.datasets.synthetic import simulate_trial
from subgroups.errors import ParameterError


def test_hazard_ratios_come_from_the_half_that_did_not_find_the_rule():
    """PM-TTE L2: true HR 0.50 in S = carriers with severity >= 40, 1.10 outside (conditional on prognosis;
    the marginal Cox HR within a group is pulled towards 1)."""
    from types import SimpleNamespace

    from subgroups.data import load_trial
    from subgroups.rule_language import parse_condition
    from subgroups.rules import Subgroup, split_halves
    from subgroups.subgroup_summaries import hazard_ratios

    sim = simulate_trial("PM-TTE", n=6000, seed=11, level="L2")
    params = {
        "name": "tte",
        "data": {
            "treatment": {"column": "arm", "treated": "drug", "control": "placebo"},
            "outcome": {"type": "time_to_event", "time": "time", "event": "event", "time_unit": "months"},
            "features": {"genetic": ["snp_*"], "disease": ["severity"]},
            "id_column": "patient_id",
        },
    }
    trial = load_trial(params, sim.data)
    conditions = (parse_condition("snp_01 >= 1", trial), parse_condition("severity >= 40", trial))
    effects = SimpleNamespace(analysed=lambda n: np.ones(n, dtype=bool))  # nobody trimmed
    rule = Subgroup(
        "S", conditions, 0.0, (0.0, 0.0), 0.1, 0.0, (0.0, 0.0), 0.0, (0.0, 0.0), 0.5, found_on="half 1", estimation_halves=(1,)
    )
    hr = hazard_ratios(trial, effects, rule, seed=3)
    (s, s_se), (c, _), (overall, _) = hr["subgroup"], hr["complement"], hr["overall"]
    assert np.log(0.5) - 2 * s_se < s < np.log(0.8) and 0 < c < np.log(1.2)
    assert s < overall < c
    # Estimated on half 2 only: about half the subgroup's patients, so its SE is about sqrt(2) x the full-data one.
    both = hazard_ratios(trial, effects, dataclasses.replace(rule, found_on="both halves", estimation_halves=(0, 1)), seed=3)
    assert 1.25 < s_se / both["subgroup"][1] < 1.6
    half = split_halves(trial.treatment, 3)
    assert 0.45 < (half == 1).mean() < 0.55


def test_profile_shows_carriers_differ_in_snp_01_and_its_ld_partner(demo_analysis):
    profile = demo_analysis.profile("snp_01 ≥ 1 (carrier)")
    assert list(dict.fromkeys(profile["family"])) == ["genetic", "lifestyle", "disease", "other"]
    genetic = profile[profile["family"] == "genetic"]
    assert genetic.iloc[0]["feature"] == "snp_01" and genetic.iloc[0]["rest"] == 0.0 and genetic.iloc[0]["in subgroup"] >= 1
    assert genetic.iloc[1]["feature"] == "snp_02"  # in linkage disequilibrium with snp_01 (docs/simulation.md §2)
    assert (profile.groupby("family").size() <= 5).all()
    lifestyle = profile[profile["family"] == "lifestyle"]
    assert lifestyle["standardized difference"].abs().max() < 0.2  # randomization does not pick carriers by lifestyle
    with pytest.raises(ParameterError, match="no candidate subgroup 'nobody'"):
        demo_analysis.profile("nobody")
