"""Small-cell protection (`subgroups.privacy`): the policy functions, and one run whose outputs must not let a
planted 3-patient level, a 3-patient pre-specified subgroup or 3 excluded rows be recovered."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import yaml
from support import small_params

from subgroups import plots, privacy
from subgroups.rules import Subgroup

MIN_CELL = 10
RARE = "Rareville"


# --- the policy functions ---------------------------------------------------------------------------


def test_a_total_is_hidden_when_the_difference_to_a_shown_part_is_a_small_count():
    assert privacy.suppress_total(400, 397, 10) == privacy.SUPPRESSED
    assert privacy.suppress_total(400, 400, 10) == 400  # nothing excluded: nothing to recover
    assert privacy.suppress_total(400, 390, 10) == 400  # 10 excluded may be shown


def test_reasons_with_a_known_total_get_complementary_suppression():
    assert privacy.suppress_reasons({"missing outcome": 3, "other arms": 40}, 10) == {
        "missing outcome": "<10",
        "other arms": "suppressed",  # 40 hidden only to protect the 3: never shown as "<10"
    }
    assert privacy.suppress_reasons({"missing outcome": 3}, 10) == {"missing outcome": "<10"}
    assert privacy.suppress_reasons({"missing outcome": 12, "other arms": 40}, 10) == {"missing outcome": 12, "other arms": 40}
    assert privacy.suppress_reasons({}, 10) == {}


def test_a_hypothesis_needs_min_cell_patients_per_arm_on_both_sides():
    assert privacy.too_small_reason((10, 10), (10, 10), 10) is None
    assert privacy.too_small_reason((10, 9), (50, 50), 10) == "fewer than 10 control patients in the subgroup"
    assert privacy.too_small_reason((30, 30), (3, 40), 10, "its sibling") == "fewer than 10 treated patients in its sibling"
    assert privacy.too_small_reason((30, 30), None, 10) is None  # unknown comparator: judged on the subgroup


def test_prevalence_is_rounded_to_a_multiple_of_min_cell_patients():
    assert privacy.rounded_share(0.0075, 400, 10) == 0.0  # 3 of 400 shows as 0 of 400
    assert privacy.rounded_share(0.9925, 400, 10) == 1.0  # and its complement of 3 likewise
    assert privacy.rounded_share(57 / 400, 400, 10) * 400 == pytest.approx(60)
    assert privacy.rounded_share(0.3, 400, 1) == 0.3
    assert np.isnan(privacy.rounded_share(float("nan"), 400, 10))


def _subgroup(n_treated: int, n_control: int, **extra) -> Subgroup:
    nan2 = (float("nan"), float("nan"))
    return Subgroup(
        rule=f"site = {RARE}", conditions=(), effect=0.5, ci=(0.1, 0.9), se=0.2, complement_effect=0.1, complement_ci=nan2,
        difference=0.4, difference_ci=nan2, p_value=0.01, prevalence=0.0075, n_treated=n_treated, n_control=n_control,
        found_on="pre-specified", status="pre-specified", comparator_rule="", extra=extra,
    )  # fmt: skip


def test_a_small_subgroup_serializes_to_a_stub_without_name_numbers_or_prevalence():
    record = _subgroup(2, 1).to_dict(MIN_CELL)
    assert record == {
        "rule": privacy.TOO_SMALL,
        "hypothesis": privacy.TOO_SMALL,
        "too_small": "fewer than 10 treated patients in the subgroup",
        "level": 1,
        "found_on": "pre-specified",
        "status": "pre-specified",
    }
    # a large subgroup whose comparator is small is a stub too; with both sides large, the full record
    assert (
        _subgroup(40, 40, comparator_n=(3, 50)).to_dict(MIN_CELL)["too_small"]
        == "fewer than 10 treated patients in its comparator"
    )
    full = _subgroup(40, 40, comparator_n=(50, 50), n_total=400).to_dict(MIN_CELL)
    assert full["rule"] == f"site = {RARE}" and full["effect"] == 0.5 and full["prevalence"] == 0.0  # 3/400 rounded


def test_rare_levels_are_found_and_masked_in_every_rule_form():
    features = pd.DataFrame({"site": ["north"] * 20 + ["south"] * 15 + [RARE] * 3 + ["a, b}"] * 2, "x": range(40)})
    levels = {"site": ["a, b}", RARE, "north", "south"]}
    rare = privacy.rare_levels(features, levels, 10)
    assert rare == {"site": {RARE, "a, b}"}}
    mask = privacy.rare_placeholder(10)
    assert privacy.mask_levels(f"site = {RARE}", rare, levels, 10) == f"site = {mask}"
    assert (
        privacy.mask_levels(f"site in {{a, b}}, {RARE}, north}} and x ≤ 3", rare, levels, 10)
        == f"site in {{north, {mask}}} and x ≤ 3"
    )
    assert (
        privacy.mask_levels(f"age > 3 vs site not in {{{RARE}, south}}", rare, levels, 10)
        == f"age > 3 vs site not in {{south, {mask}}}"
    )
    assert privacy.mask_levels("site in {north, south}", rare, levels, 10) == "site in {north, south}"  # nothing rare named
    assert privacy.mask_levels("xsite = north", rare, levels, 10) == "xsite = north"  # another feature's name


def test_histogram_bins_never_hold_1_to_min_cell_minus_1_patients():
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.normal(0, 1, 300), [6.0, 6.1, 9.0]])  # a sparse tail of 3
    other = 0.5 * values
    edges = privacy.merged_bin_edges([values, other], np.histogram_bin_edges(np.concatenate([values, other]), 30), 10)
    for sample in (values, other):
        counts = np.histogram(sample, bins=edges)[0]
        assert counts.sum() == sample.size and np.all((counts == 0) | (counts >= 10)), counts
    assert edges[0] == pytest.approx(min(values.min(), other.min())) and edges[-1] == pytest.approx(values.max())
    assert len(edges) > 5  # merged where needed, not into one bar


def test_effect_histogram_draws_bars_of_at_least_min_cell_patients():
    rng = np.random.default_rng(4)
    cate = np.concatenate([rng.normal(0.2, 0.3, 200), [3.0, 3.5]])
    ate = {"estimate": 0.2, "ci_low": 0.1, "ci_high": 0.3, "ci_level": 0.95, "scale": "difference in means"}
    ax = plots.effect_distribution(cate, ate, calibrated=0.2 + 0.5 * (cate - cate.mean()), min_cell=15)
    for patch in ax.patches[:2]:  # the two step histograms
        heights, edges, _ = patch.get_data()
        counts = np.round(heights * np.diff(edges)).astype(int)
        assert np.all((counts == 0) | (counts >= 15)), counts
    assert np.round(ax.patches[0].get_data()[0] @ np.diff(ax.patches[0].get_data()[1])) == cate.size
    plt.close("all")


def test_calibrated_effects_are_drawn_over_their_own_range():
    """Little supported spread (calibration factor 0.04, as in ACTG 175): the calibrated histogram stays within
    its own narrow range instead of filling the model's widest bin, its peak is cut at the axis and labelled; no
    supported spread at all is one line."""
    rng = np.random.default_rng(5)
    cate = rng.normal(70, 12, 1000)
    ate = {"estimate": 70.0, "ci_low": 56.0, "ci_high": 84.0, "ci_level": 0.95, "scale": "difference in means"}
    ax = plots.effect_distribution(cate, ate, calibrated=70 + 0.04 * (cate - cate.mean()), min_cell=10)
    model, calibrated = (patch.get_data() for patch in ax.patches[:2])
    assert np.ptp(calibrated[1]) < 0.1 * np.ptp(model[1])  # about 4% of the model's range
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert calibrated[0].max() == pytest.approx(ax.get_ylim()[1]) and any("peak cut at the top" in t for t in legend)
    ax = plots.effect_distribution(cate, ate, calibrated=np.full(1000, 70.0), min_cell=10)
    assert any("none, every patient 70" in text.get_text() for text in ax.get_legend().get_texts())
    plt.close("all")


# --- one run end to end with planted small cells ------------------------------------------------------


def _integers(text: str) -> set[int]:
    return {int(t) for t in re.findall(r"(?<![\d.])\d+(?![\d.])", text)}


@pytest.fixture(scope="module")
def small_cell_run(tmp_path_factory) -> Path:
    """A PM-SNP trial of 400 with a 3-patient site level, a 3-patient 0/1 feature, 3 rows without outcome and
    two 3-patient pre-specified subgroups, run once with cheap settings."""
    from subgroups.datasets.synthetic import simulate_trial

    tmp = tmp_path_factory.mktemp("privacy")
    frame = simulate_trial("PM-SNP", n=403, seed=11, b1_rel=2).data
    frame["site"] = np.where(np.arange(len(frame)) % 2 == 0, "north", "south")
    frame.loc[[5, 6, 7], "site"] = RARE
    frame["rare_flag"] = 0
    frame.loc[[20, 21, 22], "rare_flag"] = 1
    frame["age"] = frame["age"].astype(float).clip(upper=80)
    frame.loc[[30, 31, 32], "age"] = 95.0  # exactly 3 patients aged 90 or more
    frame["response"] = frame["response"].astype(float)
    frame.loc[[40, 41, 42], "response"] = np.nan  # 3 rows excluded: rows read - rows analysed = 3
    csv = tmp / "trial.csv"
    frame.to_csv(csv, index=False)
    tree = small_params(csv, name="smallcells")
    tree["data"]["features"]["other"] = ["age", "female", "site", "rare_flag"]
    tree["subgroups"] = {**tree["subgroups"], "min_size": 20, "prespecified": [f"site == {RARE}", "age >= 90", "female == 1"]}
    path = tmp / "params.yaml"
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    result = subprocess.run(
        [sys.executable, "-m", "subgroups.cli", "run", str(path), "-o", str(tmp / "runs")],
        cwd=tmp, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return tmp / "runs" / "smallcells"


def _outputs(run: Path) -> dict[str, str]:
    """Every output as text: results.json, and each page's (and the index's) visible text."""
    texts = {"results.json": (run / "results.json").read_text()}
    for page in sorted(run.glob("*.html")):
        raw = page.read_text()
        raw = re.sub(r"<(script|style)\b.*?</\1>", " ", raw, flags=re.S | re.I)
        raw = re.sub(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=]+", " ", raw)
        texts[page.name] = html.unescape(re.sub(r"<[^>]+>", " ", raw))
    return texts


@pytest.mark.slow
def test_no_output_lets_a_planted_small_cell_be_recovered(small_cell_run: Path):
    outputs = _outputs(small_cell_run)
    assert {"index.html", "01_data_audit.html", "04_subgroups.html", "results.json"} <= set(outputs)
    for name, text in outputs.items():
        assert RARE not in text, f"the 3-patient level is named in {name}"
    results = json.loads(outputs["results.json"])
    sub = results["subgroups"]

    # the two 3-patient pre-specified subgroups are listed as too small, without rule or numbers
    small = sub["too_small"]["prespecified"]
    assert len(small) == 2 and all(s["rule"] == privacy.TOO_SMALL for s in small)
    assert all(set(s) == {"rule", "hypothesis", "too_small", "level", "found_on", "status"} for s in small)
    assert [s["rule"] for s in sub["prespecified"]] == ["female = 1"]
    assert results["params"]["subgroups"]["prespecified"] == [privacy.TOO_SMALL, privacy.TOO_SMALL, "female == 1"]
    page = outputs["04_subgroups.html"]
    assert page.count(privacy.TOO_SMALL) >= 2 and "age ≥ 90" not in page and "age >= 90" not in page

    # no count below min_cell anywhere in results.json (a count is a record: value, suppressed flag, shown text);
    # every reported subgroup has min_cell per arm on both sides
    def counts(node, key=""):
        if isinstance(node, dict) and set(node) == {"value", "suppressed", "shown"}:
            yield key, node
        elif isinstance(node, dict):
            for k, v in node.items():
                yield from counts(v, k)
        elif isinstance(node, list):
            for v in node:
                yield from counts(v, key)

    found = list(counts(results))
    assert len(found) > 10, "the count records were not found: the walk above does not see them"
    assert [(k, c) for k, c in found if c["value"] is not None and 0 < c["value"] < MIN_CELL] == []
    # a hidden count shows only the policy's texts, never a number
    assert {c["shown"] for _, c in found if c["suppressed"]} <= {f"<{MIN_CELL}", privacy.SUPPRESSED}
    hidden = {"value": None, "suppressed": True, "shown": f"<{MIN_CELL}"}
    assert results["data"]["dropped"] == {"missing outcome": hidden}
    reported = sub["candidates"] + sub["prespecified"]
    assert reported, "nothing reported at all: the run cannot show the policy"
    for c in reported:
        assert c["n_treated"]["value"] >= MIN_CELL and c["n_control"]["value"] >= MIN_CELL
        assert MIN_CELL <= c["prevalence"] * 400 <= 400 - MIN_CELL  # neither side of a reported rule is a small count
    for c in sub["prespecified"]:  # a share of all 400: the count it implies is a multiple of min_cell
        assert c["prevalence"] * 400 == pytest.approx(round(c["prevalence"] * 400 / MIN_CELL) * MIN_CELL)

    # rows read minus rows analysed would give the 3 excluded rows: rows read are not shown
    assert results["data"]["n_read"] == {"value": None, "suppressed": True, "shown": privacy.SUPPRESSED}
    assert results["data"]["n"] == {"value": 400, "suppressed": False, "shown": "400"}
    for name, text in outputs.items():
        if name != "results.json":
            assert 403 not in _integers(text), f"rows read shown in {name}"

    # no standardized difference from a small cell: the 0/1 feature with 3 ones and the grouped rare levels
    raw = (small_cell_run / "01_data_audit.html").read_text()
    cells = [re.findall(r"<td>(.*?)</td>", row, flags=re.S) for row in re.findall(r"<tr>(.*?)</tr>", raw, flags=re.S)]
    balance = [c for c in cells if len(c) == 6 and (c[0].strip() == "rare_flag" or "levels with" in html.unescape(c[1]))]
    assert len(balance) == 2 and all(c[4].strip() == "" for c in balance), balance


@pytest.mark.slow
def test_the_audit_and_profiles_of_the_run_hide_small_cells(small_cell_run: Path):
    import subgroups

    params = subgroups.load_params(small_cell_run / "params.yaml")
    analysis = subgroups.open_analysis(params, cache_dir=small_cell_run / "cache")  # the cached fit
    audit = subgroups.audit_trial(analysis.data, MIN_CELL)
    flagged = audit.balance[
        audit.balance["feature"].isin(["rare_flag", "site"]) & audit.balance["level"].str.contains("1|levels")
    ]
    assert len(flagged) == 2 and flagged["SMD"].isna().all(), flagged
    assert not audit.balance["level"].str.contains(RARE).any()
    for s in analysis.subgroups:
        profile = analysis.profile(s)
        assert not profile["feature"].str.contains(RARE).any() and "rare_flag" not in set(profile["feature"])
        assert RARE not in s.rule + s.comparator_rule + s.parent_rule


def test_a_few_trimmed_patients_cannot_be_recovered_from_the_analysed_count():
    """Observational trimming: with the data's n shown, an analysed n fewer by 1 to min_cell - 1 is hidden."""
    from subgroups.privacy import SUPPRESSED, suppress_part

    assert suppress_part(1997, 2000, 10) == SUPPRESSED  # 3 trimmed
    assert suppress_part(1990, 2000, 10) == 1990 and suppress_part(2000, 2000, 10) == 2000


def test_events_per_arm_are_suppressed_when_they_or_the_patients_without_one_are_few():
    from subgroups.privacy import suppress_events

    assert suppress_events(None, 40, 10) is None
    assert suppress_events(12, 40, 10) == 12
    assert suppress_events(4, 40, 10) == "<10"
    assert suppress_events(35, 40, 10) == "suppressed"  # 5 without an event could be recovered from n; 35 is not small
    assert suppress_events(0, 40, 10) == 0
