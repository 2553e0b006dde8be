"""End to end: `subgroups run` turns a parameter file into HTML reports, or fails with one line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml
from scipy import stats
from support import ACTG_MARKERS, ACTG_YAML, MARKERS, cli, small_params, write_params

from subgroups import runner
from subgroups.errors import RunError

# The module fixtures run `subgroups run` end to end (papermill kernels): the whole module is slow, `make check` skips it.
pytestmark = pytest.mark.slow


def test_run_leaves_reports_index_and_results(marked_run: Path):
    for name in (*runner.NOTEBOOKS, "index"):
        assert (marked_run / f"{name}.html").is_file()
    results = json.loads((marked_run / "results.json").read_text())
    assert results["schema_version"] == 2
    assert {"provenance", "params", "data", "ate", "importance", "heterogeneity", "subgroups", "design"} <= set(results)
    assert results["data"]["n_treated"]["value"] == 200 and results["data"]["n_control"]["value"] == 200
    assert len(results["provenance"]["data_sha256"]) == 64
    assert results["provenance"]["packages"]["econml"] == "0.17.0"
    status = json.loads((marked_run / "status.json").read_text())
    assert status["status"] == "succeeded" and status["written"] == status["outputs"]  # a run leaves every report


def test_reports_are_self_contained_without_code(marked_run: Path):
    for name in runner.NOTEBOOKS:
        page = (marked_run / f"{name}.html").read_text()
        assert 'src="http' not in page and 'href="http' not in page
        assert "subgroups.open_analysis" not in page  # code cells are not rendered
        assert "Traceback" not in page and "Warning" not in page
    from bs4 import BeautifulSoup

    figures = BeautifulSoup((marked_run / "04_subgroups.html").read_text(), "html.parser").find_all("img")
    assert figures and all(img["src"].startswith("data:image/svg+xml;base64,") for img in figures)  # vector figures
    alts = [img["alt"] for img in figures]
    assert alts[0].startswith("Forest plot of subgroup effects (difference in means, estimate and CI): all patients +")
    assert alts[1].startswith("Figure: Subgroup hypotheses as a tree")  # the generic alt text: titles and axes


def test_reports_name_the_data_file_without_the_analysts_folder(marked_run: Path):
    folder = str(marked_run.parent.parent)  # where trial.csv lies: a folder of the analyst's machine
    for page in marked_run.glob("*.html"):
        assert folder not in page.read_text(), page.name
    assert json.loads((marked_run / "results.json").read_text())["provenance"]["data_source"] == "trial.csv"
    assert re.search(r"Data:\s+trial\.csv \(sha256", _page_text(marked_run, "01_data_audit"))


def assert_no_marker_in_outputs(run_dir: Path, markers: dict[str, str]) -> None:
    """No planted marker in any HTML report or in results.json of a finished run."""
    outputs = [*run_dir.glob("*.html"), run_dir / "results.json"]
    assert len(outputs) == len(runner.NOTEBOOKS) + 3  # the pages, index.html, report.html and results.json
    for path in outputs:
        text = path.read_text()
        for marker in markers.values():
            assert marker not in text, f"{marker} found in {path.name}"


def test_no_patient_level_value_in_any_report(marked_run: Path):
    assert_no_marker_in_outputs(marked_run, MARKERS)


def test_no_patient_level_value_from_the_builtin_trial_in_any_report(marked_actg_run: Path):
    results = json.loads((marked_actg_run / "results.json").read_text())
    assert results["ate"]["scale"].startswith("difference in restricted mean survival time")
    assert_no_marker_in_outputs(marked_actg_run, ACTG_MARKERS)


def test_time_to_event_index_shows_the_effect_with_its_unit_and_the_hazard_ratio(marked_actg_run: Path):
    from lifelines import CoxPHFitter

    results = json.loads((marked_actg_run / "results.json").read_text())
    ate, index = results["ate"], (marked_actg_run / "index.html").read_text()
    assert ate["scale"] == "difference in restricted mean survival time up to 900 days" and ate["unit"] == "days"
    assert f"{ate['estimate']:+.3g} days ({ate['ci_level']:.0%} CI {ate['ci_low']:.3g} to {ate['ci_high']:.3g} days;" in index
    assert "900 days: set by data.outcome.horizon" in index
    # The hazard ratio (randomized: plain Cox) is the one lifelines fits on the same patients.
    frame = pd.read_csv(marked_actg_run.parents[1] / "actg.csv")
    frame = frame[frame["arm"].isin(["ZDV+ddI", "ZDV"])].copy()  # the file holds all four arms
    assert results["data"]["n"]["value"] == len(frame)
    frame["treated"] = (frame["arm"] == "ZDV+ddI").astype(int)
    direct = CoxPHFitter().fit(frame[["days", "event", "treated"]], "days", "event").summary.loc["treated"]
    hr = ate["hazard_ratio"]
    assert hr["estimate"] == pytest.approx(direct["exp(coef)"], rel=1e-6)
    assert (hr["ci_low"], hr["ci_high"]) == pytest.approx(
        (direct["exp(coef) lower 95%"], direct["exp(coef) upper 95%"]), rel=1e-6
    )
    assert f"{hr['estimate']:.3g} (95% CI {hr['ci_low']:.3g} to {hr['ci_high']:.3g})" in index
    assert "Horizon: 900 days, set by data.outcome.horizon" in (marked_actg_run / "02_effects.html").read_text()


def test_validate_prints_the_horizon_and_refuses_one_past_follow_up(tmp_path: Path, capsys):
    from subgroups.cli import main
    from subgroups.datasets.actg175 import load_actg175

    tree = yaml.safe_load(ACTG_YAML.read_text())
    tree["data"]["outcome"] = {"type": "time_to_event", "time": "days", "event": "event", "time_unit": "days"}
    path = write_params(tmp_path, tree)
    # By hand: each arm keeps max(ceil(10% of its patients), 10) at risk, i.e. tau is that order statistic of its times.
    frame = load_actg175()
    arms = {arm: frame.loc[frame["arm"] == arm, "days"] for arm in ("ZDV+ddI", "ZDV")}
    needed = {arm: max(-(-len(days) // 10), 10) for arm, days in arms.items()}
    tau = min(float(days.nlargest(needed[arm]).iloc[-1]) for arm, days in arms.items())  # 1133 days
    tau = float(tau // 10 * 10)  # rounded down to 3 significant digits: 1130
    assert main(["validate", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    at_risk = ", ".join(f"{int((days >= tau).sum())} of {len(days)} on {arm!r}" for arm, days in arms.items())
    events = ", ".join(
        f"{int(frame.loc[frame['arm'] == arm, 'event'].sum())} of {len(days)} on {arm!r}" for arm, days in arms.items()
    )
    assert lines[1] == f"outcome: events in 'event' (days): {events}"  # counted by hand, as the horizon
    # The pre-specified subgroups as the analysis reads them (off genotypes, in the protocol's words).
    assert lines[2] == "pre-specified subgroups: str2 = 1; symptom = 1; cd40 < 300; age ≥ 40; gender = 1"
    assert lines[3] == (
        f"horizon: {tau:g} days (default: the largest time at which each arm still had at least max(10% of its patients, "
        f"report.min_cell = 10) patients at risk, rounded down to 3 significant digits; at risk then: {at_risk})"
    )
    assert main(["validate", str(path), "-p", "data.outcome.horizon=1300", "-p", "data.outcome.time_unit=weeks"]) == 2
    captured = capsys.readouterr()
    last = {arm: float(days.max()) for arm, days in arms.items()}
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("error: data.outcome.horizon = 1300 weeks is past the last follow-up of an arm")
    assert f"arm 'ZDV+ddI': {last['ZDV+ddI']:g} weeks; arm 'ZDV': {last['ZDV']:g} weeks" in captured.err


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"estimation__seeed": 3}, "unknown key 'estimation.seeed'; did you mean 'estimation.seed'?"),
        (
            {"data__outcome": {"column": "outcome_score", "type": "continuous"}},
            "outcome outcome_score column 'outcome_score' not found",
        ),
        ({"data__treatment": {"column": "arm", "treated": "Drug A", "control": "placebo"}}, "treated label 'Drug A' not found"),
    ],
)
def test_user_errors_exit_2_with_one_line(small_csv: Path, tmp_path: Path, change, expected):
    params = write_params(tmp_path, small_params(small_csv, name="bad", **change))
    result = cli("run", str(params), "-o", str(tmp_path / "runs"), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0]
    assert not (tmp_path / "runs" / "bad" / "index.html").exists()


def test_failing_notebook_marks_run_failed(small_csv: Path, tmp_path: Path, monkeypatch):
    """A bug in a notebook (any exception but the package's own) is a NotebookError: the CLI calls it an internal
    error with a log; the package refusing the data inside a notebook stays a user error (RunError)."""
    from subgroups.errors import NotebookError

    monkeypatch.setattr(runner, "notebooks_dir", lambda: _notebooks(tmp_path, "raise ValueError('deliberate failure')"))
    with pytest.raises(NotebookError, match="notebook 01_data_audit failed in cell .*ValueError: deliberate failure") as info:
        runner.run(small_params(small_csv, name="broken"), out_dir=tmp_path / "runs")
    assert not isinstance(info.value, RunError)
    assert "\n" not in str(info.value)
    run_dir = tmp_path / "runs" / "broken"
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "failed" and "deliberate failure" in status["reason"]
    assert not (run_dir / "index.html").exists() and not (run_dir / "results.json").exists()
    assert "index.html" in status["outputs"] and "index.html" not in status["written"]  # owned, not written
    assert set(status["written"]) == {p.name for p in run_dir.iterdir() if p.is_file()} & set(status["outputs"])
    # The package's own refusal inside a notebook is the user's to fix (the fit is cached: no second fit).
    code = "from subgroups.errors import DataError\nraise DataError('column x is odd')"
    (tmp_path / "second").mkdir()
    monkeypatch.setattr(runner, "notebooks_dir", lambda: _notebooks(tmp_path / "second", code))
    with pytest.raises(RunError, match="DataError: column x is odd"):
        runner.run(small_params(small_csv, name="broken"), out_dir=tmp_path / "runs")


def test_validate_shows_the_hypotheses_as_the_analysis_reads_them(small_csv: Path, tmp_path: Path, capsys):
    from subgroups.cli import main

    tree = small_params(small_csv, heterogeneity__candidates=["snp_01 >= 1", "severity"])
    tree.setdefault("subgroups", {})["prespecified"] = ["snp_02 == 0 & age >= 65"]
    assert main(["validate", str(write_params(tmp_path, tree))]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "candidate modifiers (heterogeneity.candidates, sharing 80% of alpha): snp_01 ≥ 1 (carrier); severity" in lines
    assert "pre-specified subgroups: snp_02 = 0 (non-carrier) and age ≥ 65" in lines


def test_validate_command(small_csv: Path, tmp_path: Path):
    params = write_params(tmp_path, small_params(small_csv))
    result = cli("validate", str(params), cwd=tmp_path)
    assert result.returncode == 0 and "400 patients, 30 features" in result.stdout
    assert "estimated peak memory" in result.stdout and "GB available" in result.stdout
    frame = pd.read_csv(small_csv)
    assert len(frame) == 400  # input untouched
    arms = [frame.loc[frame["arm"] == arm, "response"] for arm in ("drug", "placebo")]
    assert (
        f"outcome: 'response' mean {arms[0].mean():.3g} (SD {arms[0].std():.3g}) on 'drug', mean {arms[1].mean():.3g} "
        f"(SD {arms[1].std():.3g}) on 'placebo'"
    ) in result.stdout.splitlines()


def _notebooks(tmp_path: Path, code: str) -> Path:
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir(exist_ok=True)
    for name in runner.NOTEBOOKS:
        nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "subgroups", "language": "python", "display_name": "x"}})
        params_cell = nbformat.v4.new_code_cell('params_file = ""\nrun_dir = ""')
        params_cell.metadata["tags"] = ["parameters"]
        nb.cells = [params_cell, nbformat.v4.new_code_cell(code)]
        nbformat.write(nb, notebooks / f"{name}.ipynb")
    return notebooks


def test_killed_kernel_marks_run_failed(small_csv: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(runner, "notebooks_dir", lambda: _notebooks(tmp_path, "import os\nos._exit(1)"))
    with pytest.raises(RunError, match="notebook 01_data_audit") as info:
        runner.run(small_params(small_csv, name="killed"), out_dir=tmp_path / "runs")
    assert "\n" not in str(info.value)
    status = json.loads((tmp_path / "runs" / "killed" / "status.json").read_text())
    assert status["status"] == "failed" and not (tmp_path / "runs" / "killed" / "index.html").exists()


def test_interrupted_run_is_failed_and_a_rerun_starts_clean(small_csv: Path, tmp_path: Path, monkeypatch):
    params = small_params(small_csv, name="interrupted")
    run_dir = tmp_path / "runs" / "interrupted"
    run_dir.mkdir(parents=True)
    # A run folder of the previous version: status.json without the signature, only the suite's own names.
    (run_dir / "status.json").write_text('{"status": "succeeded", "at": "2026-01-01T00:00:00+00:00"}')
    (run_dir / "index.html").write_text("stale page from an older run")

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(runner, "_execute", interrupt)
        with pytest.raises(KeyboardInterrupt):
            runner.run(params, out_dir=tmp_path / "runs")
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "failed" and "KeyboardInterrupt" in status["reason"]
    assert status["written_by"] == runner.SIGNATURE and "index.html" in status["outputs"]
    assert not (run_dir / "index.html").exists()
    (run_dir / "notes.txt").write_text("the analyst's own notes")  # not the suite's: a re-run keeps it
    result = runner.run(params, out_dir=tmp_path / "runs")
    assert json.loads((run_dir / "status.json").read_text())["status"] == "succeeded"
    assert result.index_html.read_text() != "stale page from an older run"
    assert (run_dir / "notes.txt").read_text() == "the analyst's own notes"
    assert len(list((run_dir / "cache").glob("analysis-*.pkl"))) == 1  # the interrupted run's fit was reused


# --- run folders: never delete what the suite did not write; one run at a time (issue 14) ---


def _no_fit(*args, **kwargs):
    raise AssertionError("the run folder should have been refused before any data was read")


def test_folder_not_written_by_the_suite_is_refused_untouched(small_csv: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(runner, "open_analysis", _no_fit)
    precious = tmp_path / "home" / "precious"
    precious.mkdir(parents=True)
    (precious / "thesis.docx").write_text("years of work")
    (precious / "index.html").write_text("my own page")
    with pytest.raises(RunError, match="was not written by subgroups run .*'index.html'.*nothing was deleted") as info:
        runner.run(small_params(small_csv, name="precious"), out_dir=tmp_path / "home")
    assert "\n" not in str(info.value)
    assert sorted(p.name for p in precious.iterdir()) == ["index.html", "thesis.docx"]  # no status.json, no lock
    assert (precious / "thesis.docx").read_text() == "years of work" and (precious / "index.html").read_text() == "my own page"
    # An old-format status.json does not make unrelated files the suite's either.
    (precious / "status.json").write_text('{"status": "failed", "at": "2025-01-01T00:00:00+00:00"}')
    with pytest.raises(RunError, match="'thesis.docx'"):
        runner.run(small_params(small_csv, name="precious"), out_dir=tmp_path / "home")
    assert (precious / "thesis.docx").exists() and (precious / "index.html").exists()


def test_only_the_suites_own_outputs_are_cleared(tmp_path: Path):
    run_dir = tmp_path / "mine"
    (run_dir / "cache").mkdir(parents=True)
    runner._write_status(run_dir, "succeeded")
    for name in ("index.html", "02_effects.ipynb", "results.json", "notes.txt", "evil.json"):
        (run_dir / name).write_text("x")
    (run_dir / "cache" / "analysis-1.pkl").write_text("fit")
    # A tampered list names a file outside the suite's outputs: it is still not removed.
    status = json.loads((run_dir / "status.json").read_text())
    (run_dir / "status.json").write_text(json.dumps({**status, "outputs": [*status["outputs"], "notes.txt", "../x"]}))
    cleared = sorted(p.name for p in runner._own_outputs(run_dir))
    assert cleared == ["02_effects.ipynb", "index.html", "results.json", "status.json"]


def test_symlinked_run_folder_is_refused(small_csv: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(runner, "open_analysis", _no_fit)
    target = tmp_path / "elsewhere"
    target.mkdir()
    runner._write_status(target, "succeeded")  # even a genuine run folder, when reached through a link
    (target / "index.html").write_text("keep")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "linked").symlink_to(target, target_is_directory=True)
    with pytest.raises(RunError, match="is a symbolic link"):
        runner.run(small_params(small_csv, name="linked"), out_dir=tmp_path / "runs")
    assert (target / "index.html").read_text() == "keep"
    assert json.loads((target / "status.json").read_text())["status"] == "succeeded"


@pytest.mark.parametrize("signed", [True, False])
def test_data_inside_the_run_folder_is_refused(tmp_path: Path, monkeypatch, signed: bool):
    monkeypatch.setattr(runner, "open_analysis", _no_fit)
    run_dir = tmp_path / "runs" / "inside"
    run_dir.mkdir(parents=True)
    if signed:
        runner._write_status(run_dir, "failed", reason="earlier")
    from subgroups.datasets.synthetic import simulate_trial

    simulate_trial("PM-SNP", n=60, seed=1).data.to_csv(run_dir / "trial.csv", index=False)
    before = (run_dir / "trial.csv").read_bytes()
    tree = small_params(Path("runs/inside/trial.csv"), name="inside")  # relative to the parameter file's folder
    params = write_params(tmp_path, tree)
    with pytest.raises(RunError, match="lies inside the run folder"):
        runner.run(params, out_dir=tmp_path / "runs")
    assert (run_dir / "trial.csv").read_bytes() == before
    assert sorted(p.name for p in run_dir.iterdir()) == (["status.json", "trial.csv"] if signed else ["trial.csv"])


def test_second_run_into_a_busy_folder_exits_2_and_a_stale_lock_does_not_block(small_csv: Path, tmp_path: Path, monkeypatch):
    import os

    params = write_params(tmp_path, small_params(small_csv, name="busy"))
    run_dir = tmp_path / "runs" / "busy"
    run_dir.mkdir(parents=True)
    with runner.run_folder_lock(run_dir):  # this test process is "the first run"
        result = cli("run", str(params), "-o", str(tmp_path / "runs"), cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "another run is writing this folder" in lines[0] and f"pid {os.getpid()}" in lines[0]
        assert not (run_dir / "status.json").exists()  # the first run's folder was not touched
    # A lock file left by a process that died: recorded pid is gone, the kernel released its flock.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (run_dir / runner.LOCK_NAME).write_text(json.dumps({"pid": int(dead.stdout), "host": "x", "since": "earlier"}))

    def stop(*args, **kwargs):
        raise RunError("stopped after the lock")

    monkeypatch.setattr(runner, "open_analysis", stop)
    with pytest.raises(RunError, match="stopped after the lock"):
        runner.run(params, out_dir=tmp_path / "runs")
    assert json.loads((run_dir / runner.LOCK_NAME).read_text())["pid"] == os.getpid()
    assert json.loads((run_dir / "status.json").read_text())["reason"] == "stopped after the lock"


def test_sigterm_marks_the_run_failed(small_csv: Path, tmp_path: Path, monkeypatch, capsys):
    import os
    import signal
    import time

    from subgroups.cli import main

    def terminated(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)  # the handler interrupts this
        raise AssertionError("SIGTERM was not handled")

    monkeypatch.setattr(runner, "open_analysis", terminated)
    params = write_params(tmp_path, small_params(small_csv, name="termed"))
    before = signal.getsignal(signal.SIGTERM)
    assert main(["run", str(params), "-o", str(tmp_path / "runs")]) == 143
    err = capsys.readouterr().err.strip()
    assert err == "error: terminated; the run is marked failed"
    status = json.loads((tmp_path / "runs" / "termed" / "status.json").read_text())
    assert status["status"] == "failed" and "SIGTERM" in status["reason"]
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is the command's only


def test_output_folder_that_is_a_file_or_not_writable_exits_2(small_csv: Path, tmp_path: Path, monkeypatch, capsys):
    from subgroups.cli import main

    monkeypatch.setattr(runner, "open_analysis", _no_fit)
    params = write_params(tmp_path, small_params(small_csv, name="nowhere"))
    (tmp_path / "afile").write_text("x")
    for out, expected in ((tmp_path / "afile", "is a file, not a folder"), (tmp_path / "afile" / "sub", "cannot create")):
        assert main(["run", str(params), "-o", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("error: ") and expected in err, err

    def denied(self, *args, **kwargs):  # tests run as root here, where chmod does not deny
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", denied)
    assert main(["run", str(params), "-o", str(tmp_path / "readonly")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Permission denied" in err and "writable" in err, err


def test_a_bug_is_an_internal_error_with_a_log(small_csv: Path, tmp_path: Path, monkeypatch, capsys):
    from subgroups.cli import main

    def bug(*args, **kwargs):
        return 1 / 0

    monkeypatch.setattr(runner, "open_analysis", bug)
    params = write_params(tmp_path, small_params(small_csv, name="buggy"))
    assert main(["run", str(params), "-o", str(tmp_path / "runs")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("internal error") and "ZeroDivisionError" in err, err
    log = Path(err.rsplit("traceback in ", 1)[1].rstrip(")"))
    try:
        assert "Traceback" in log.read_text() and "1 / 0" in log.read_text()
        assert log.stat().st_mode & 0o077 == 0  # private: a traceback may quote data
    finally:
        log.unlink()
    status = json.loads((tmp_path / "runs" / "buggy" / "status.json").read_text())
    assert status["status"] == "failed" and status["reason"].startswith("ZeroDivisionError")


def test_every_headline_number_is_the_same_on_the_index_the_pages_and_results_json(marked_run: Path):
    """One number per quantity: the index, the sub-pages and results.json show the same estimate, rounded the same way."""
    import html

    from subgroups.narrative import effect_text

    results = json.loads((marked_run / "results.json").read_text())
    index = (marked_run / "index.html").read_text()
    effects_page = (marked_run / "02_effects.html").read_text()
    subgroups_page = (marked_run / "04_subgroups.html").read_text()
    ate = results["ate"]
    for page in (index, effects_page):
        assert f"{ate['estimate']:+.3g}" in page and f"{ate['ci_low']:.3g} to {ate['ci_high']:.3g}" in page
    assert html.escape(results["subgroups"]["conclusion"]) in index
    assert results["subgroups"]["testing"] in subgroups_page
    candidates = results["subgroups"]["candidates"]
    assert candidates
    for c in candidates:  # every hypothesis is one row, with the numbers it reports
        r = c["reported"]
        row = html.escape(c["hypothesis"])
        assert subgroups_page.count(f"<td>{row}</td>") == 1, c["hypothesis"]
        assert effect_text(r["effect"], r["ci_low"], r["ci_high"]) in subgroups_page
        assert r["estimator"] == ("adjusted for selection" if c["status"] == "validated" else "held-out")
    validated = [c for c in candidates if c["status"] == "validated"]
    if validated:  # the index quotes the first validated hypothesis with the estimate the table shows
        r = validated[0]["reported"]
        assert f"effect {r['effect']:+.3g} (95% CI {r['ci_low']:.3g} to {r['ci_high']:.3g})" in html.unescape(index)


def _summary_sentences(page: str) -> list[str]:
    from bs4 import BeautifulSoup

    return [li.get_text() for li in BeautifulSoup(page, "html.parser").select("ol.sg-summary-sentences > li")]


def test_index_opens_with_five_sentences_whose_numbers_are_those_of_results_json(marked_run: Path):
    import math

    from subgroups.narrative import effect_text

    results = json.loads((marked_run / "results.json").read_text())
    endpoint, average, heterogeneity, subgroups, design = _summary_sentences((marked_run / "index.html").read_text())
    data, ate, h = results["data"], results["ate"], results["heterogeneity"]
    assert endpoint.startswith(f"Endpoint: {data['outcome']['name']} (continuous; higher is better)")
    assert f"the {ate['scale']}, drug minus placebo, in the outcome's own units" in endpoint
    assert average.startswith(
        f"Average treatment effect: {ate['estimate']:+.3g} ({ate['ci_level']:.0%} CI {ate['ci_low']:.3g} to {ate['ci_high']:.3g};"
    )
    assert f"n = {ate['n']['shown']}); status: {ate['status']}." in average
    assert heterogeneity.startswith(h["decision"])  # the verdict, stated once
    assert heterogeneity.startswith("Heterogeneity detected at α" if h["detected"] else "No credible heterogeneity at α")
    # A non-detection says, for scale, what the data could have found: (z₀.₉₇₅ + z₀.₈)·2·SE of the mean score.
    scale = (stats.norm.isf(h["alpha"] / 2) + stats.norm.ppf(0.8)) * 2 * h["mean_forecast"]["se"]
    if h["detected"]:
        assert heterogeneity == h["decision"]
    else:
        from subgroups.narrative.text import effect_unit

        unit = f" {effect_unit(results)}" if effect_unit(results) else ""  # the outcome's unit, when data.labels gives one
        assert heterogeneity == f"{h['decision']} For scale: two halves of the patients named in advance would have been told apart 80% of the time only if their effects differed by {scale:.3g}{unit} or more."  # fmt: skip
    validated = [c for c in results["subgroups"]["candidates"] if c["status"] == "validated"]
    if validated:
        r = validated[0]["reported"]
        assert (
            f"Validated subgroup: {validated[0]['hypothesis']}: effect {effect_text(r['effect'], r['ci_low'], r['ci_high'])}"
            in subgroups
        )
    else:
        conclusion = results["subgroups"]["conclusion"]
        assert subgroups.startswith(f"Subgroup search: {conclusion[:1].lower()}{conclusion[1:]}")
    pre = results["subgroups"]["prespecified"]
    assert len(pre) == 4
    assert f"of the {len(pre)} pre-specified subgroups" in subgroups or f"of {len(pre)} pre-specified" in subgroups
    if not any(c["p_adjusted"] < 0.05 for c in pre):
        assert f"(smallest Holm-adjusted p = {min(c['p_adjusted'] for c in pre):.2g})" in subgroups  # p >= 0.05 here
    d = results["design"]
    option = next(o for o in d["options"] if o["design"] == d["recommended"])
    assert design.startswith(f"Recommended next trial: {option['title']}")
    assert (
        f"{option['n_randomized']} patients randomized, {math.ceil(option['n_screened_expected']):,} screened (expected)"
        in design
    )
    assert f"power {option['power_any']:.0%} and assurance {option['assurance_any']:.0%}" in design
    # The design page's table shows the same N, screening, power and assurance.
    design_page = (marked_run / "05_trial_design.html").read_text()
    assert f"<td>{option['n_randomized']}</td>" in design_page and f"<td>{option['assurance_any']:.0%}</td>" in design_page


def test_index_explains_a_prespecified_subgroup_that_holds_when_the_search_found_none(marked_run: Path):
    """ACTG 175 (issue 16): a pre-specified subgroup significant after Holm while the search found no credible subgroup."""
    from subgroups.narrative import effect_text

    results = json.loads((marked_run / "results.json").read_text())
    results["heterogeneity"]["detected"] = False
    for c in results["subgroups"]["candidates"]:
        c["status"], c["p_adjusted"] = "exploratory", 0.5
    results["subgroups"]["candidates"][0]["p_adjusted"] = 0.0004  # significant, but gated by the heterogeneity test
    pre = results["subgroups"]["prespecified"][1]
    pre["p_adjusted"] = 0.0213
    page = runner.index_page(results, [])
    subgroups = _summary_sentences(page)[3]
    assert "For scale: two halves of the patients named in advance" in _summary_sentences(page)[2]  # not detected now
    r = pre["reported"]
    assert "1 of the 4 pre-specified subgroups differs from the rest after Holm adjustment at α = 0.05" in subgroups
    assert f"{pre['hypothesis']}: effect {effect_text(r['effect'], r['ci_low'], r['ci_high'])} against" in subgroups
    assert "Holm-adjusted p = 0.021" in subgroups  # 2 significant digits, as the subgroup table (narrative.p_text)
    assert "The two answers differ because they test different things" in subgroups and "which it did not." in subgroups
    first = results["subgroups"]["candidates"][0]["hypothesis"]
    assert f"Its strongest rule, {first}, has adjusted p < 0.001, but a discovered rule is called validated only" in subgroups
    # A unit declared in the variable dictionary labels the endpoint.
    results["params"]["data"]["labels"] = {"response": {"label": "Symptom score", "unit": "points"}}
    sentences = _summary_sentences(runner.index_page(results, []))
    assert "drug minus placebo, in points." in sentences[0]
    assert re.search(r"differed by [\d.]+ points or more\.$", sentences[2])  # the scale sentence in the same unit
    assert re.match(r"Average treatment effect: [+-][\d.]+ points \(95% CI [-\d.]+ to [-\d.]+ points;", sentences[1])
    # Without the conflict there is nothing to explain.
    pre["p_adjusted"] = 0.2
    assert "The two answers differ" not in _summary_sentences(runner.index_page(results, []))[3]


def test_every_page_has_the_header_and_links_that_resolve(marked_run: Path):
    from bs4 import BeautifulSoup

    results = json.loads((marked_run / "results.json").read_text())
    study = results["params"]["report"]["title"]
    pages = {"index": "Summary", **runner.TITLES, "report": "All pages"}
    assert {path.stem for path in marked_run.glob("*.html")} == set(pages)
    for stem, title in pages.items():
        soup = BeautifulSoup((marked_run / f"{stem}.html").read_text(), "html.parser")
        headers = soup.select("header.sg-header")
        assert len(headers) == 1, stem
        header = headers[0]
        assert header.select_one(".sg-study").get_text() == study and header.select_one(".sg-page").get_text() == title
        assert results["provenance"]["data_sha256"][:16] in header.get_text() and "subgroups 0.1.0" in header.get_text()
        links = [a["href"] for a in header.select("nav a")]
        assert len(links) == len(runner.NOTEBOOKS) + 2, stem
        for link in links:
            if link.startswith("#"):
                assert soup.find(id=link[1:]) is not None, f"{stem}: no section {link}"
            else:
                assert (marked_run / link).is_file(), f"{stem}: broken link {link}"
        if stem != "report":
            assert set(links) == {"index.html", *(f"{nb}.html" for nb in runner.NOTEBOOKS), "report.html"}
            assert [a["href"] for a in header.select("a[aria-current=page]")] == [f"{stem}.html"]
    index = BeautifulSoup((marked_run / "index.html").read_text(), "html.parser")
    terms = [dt.get_text() for dt in index.select("#glossary + dl dt")]
    assert terms == ["RMST", "Holm", "Calibration slope", "Max-T", "AUTOC / Qini", "Assurance", "MaST", "Enrichment",
                     "Stratified", "Adaptive enrichment"]  # fmt: skip
    assert all(len(dd.get_text()) > 60 for dd in index.select("#glossary + dl dd"))


def test_report_html_holds_every_page_in_one_file(marked_run: Path):
    from bs4 import BeautifulSoup

    assert "report.html" in json.loads((marked_run / "status.json").read_text())["outputs"]
    text = (marked_run / "report.html").read_text()
    report = BeautifulSoup(text, "html.parser")
    assert [s["id"] for s in report.select("section.sg-section")] == ["summary", *runner.NOTEBOOKS]
    assert _summary_sentences(text) == _summary_sentences((marked_run / "index.html").read_text())
    for notebook in runner.NOTEBOOKS:
        page = BeautifulSoup((marked_run / f"{notebook}.html").read_text(), "html.parser")
        section = report.find(id=notebook)
        shown = [img["src"] for img in section.find_all("img")]
        assert shown and shown == [img["src"] for img in page.main.find_all("img")], notebook  # the figures, inline
        assert section.select_one(".sg-page-body").get_text() == page.main.get_text(), notebook
    assert 'src="http' not in text and 'href="http' not in text


# --- labels, number formats and suppression on the pages (issue 16.4, 16.5) ---


def _page_text(run_dir: Path, stem: str) -> str:
    from bs4 import BeautifulSoup

    return BeautifulSoup((run_dir / f"{stem}.html").read_text(), "html.parser").get_text(" ")


def test_names_shown_as_code_keep_their_text_inside_the_code_element(marked_actg_run: Path):
    """Arm labels and column names in report sentences render as <code>name</code>, never an empty element."""
    pages = sorted(marked_actg_run.glob("*.html"))
    assert len(pages) >= 7
    for page in pages:
        assert "<code></code>" not in page.read_text(), page.name
    assert "the data favour <code>ZDV+ddI</code>." in (marked_actg_run / "02_effects.html").read_text()


def test_the_survival_section_is_shown_only_for_a_time_to_event_outcome(marked_run: Path, marked_actg_run: Path):
    """A continuous outcome's effects page has no empty "Survival curves" section; a time-to-event one has it."""
    from bs4 import BeautifulSoup

    def headings(run_dir: Path) -> list[str]:
        page = BeautifulSoup((run_dir / "02_effects.html").read_text(), "html.parser")
        return [" ".join(h.get_text(" ").replace("¶", "").split()) for h in page.find_all("h2")]

    assert "Survival curves" not in _page_text(marked_run, "02_effects") and "Overlap" in headings(marked_run)
    assert "Survival curves" in headings(marked_actg_run)
    assert "The Kaplan-Meier curve of each arm" in _page_text(marked_actg_run, "02_effects")


def test_the_variable_dictionary_names_variables_and_arms_on_the_pages(marked_actg_run: Path):
    from subgroups.narrative import display_rule

    results = json.loads((marked_actg_run / "results.json").read_text())
    assert results["data"]["labels"]["karnof"] == {"label": "Karnofsky score", "unit": "points, 0-100"}
    assert results["data"]["arm_names"] == {"treated": "ZDV + ddI", "control": "ZDV alone"}
    audit = _page_text(marked_actg_run, "01_data_audit")
    assert "ZDV + ddI (treated; arm = ZDV+ddI)" in audit and "Karnofsky score" in audit and "points, 0-100" in audit
    explain = _page_text(marked_actg_run, "03_explain")
    for row in results["heterogeneity"]["modifiers"]["table"][:10]:  # the modifier table
        assert results["data"]["labels"][row["feature"]]["label"] in explain, row["feature"]
    top = next(iter(results["importance"]["by_feature"]))
    assert f"{results['data']['labels'][top]['label']} (" in explain  # the importance sentence
    import html as html_module

    index = (marked_actg_run / "index.html").read_text(encoding="utf-8")
    assert f"<td>{html_module.escape(results['data']['labels'][top]['label'])}" in index  # the index's importance table
    shown = [c for c in results["subgroups"]["prespecified"] if c.get("hypothesis") != "too small to report"]
    page = _page_text(marked_actg_run, "04_subgroups")
    assert shown and all(display_rule(c["hypothesis"], results) in page for c in shown)
    assert "Baseline CD4 count < 300" in page


def test_hidden_counts_say_what_they_are_and_p_values_read_below_0_001(marked_actg_run: Path):
    import re

    from subgroups.privacy import SUPPRESSED_NOTE, count_text, suppress_events

    results = json.loads((marked_actg_run / "results.json").read_text())
    frame = pd.read_csv(marked_actg_run.parents[1] / "actg.csv")
    frame = frame[frame["arm"].isin(["ZDV+ddI", "ZDV"])]
    for c in results["subgroups"]["prespecified"]:  # estimated on all patients: the counts can be recomputed
        if "events_treated" not in c:
            continue
        expression = c["rule"].replace("≥", ">=").replace("≤", "<=").replace("≠", "!=").replace(" = ", " == ")
        inside = frame[frame.eval(expression)]
        for arm, key in (("ZDV+ddI", "events_treated"), ("ZDV", "events_control")):
            rows = inside[inside["arm"] == arm]
            assert c[key]["shown"] == count_text(suppress_events(int(rows["event"].sum()), len(rows), 10)), (c["rule"], key)
    from bs4 import BeautifulSoup

    for stem in (*runner.NOTEBOOKS, "index"):
        text = _page_text(marked_actg_run, stem)
        assert not re.search(r"p = \d(\.\d+)?e-\d", text), stem
        page = BeautifulSoup((marked_actg_run / f"{stem}.html").read_text(), "html.parser")
        cells = [td.get_text() for td in page.find_all("td")]
        if any("suppressed" in cell for cell in cells):  # a complementary suppression is explained under its table
            assert SUPPRESSED_NOTE in text, stem
    assert results["ate"]["p_value"] < 0.001 and "p < 0.001" in _page_text(marked_actg_run, "02_effects")


def test_the_demo_and_actg_menus_never_claim_the_overall_population_cheaper_than_all_comers(marked_actg_run: Path, demo_analysis):
    """Issue 13 acceptance on the real menus: all-comers N >= every design's N for the same overall claim at
    the same alpha and power (and no design promises more power for it than all-comers with its patients)."""
    from support import assert_menu_consistent

    import subgroups

    actg = subgroups.open_analysis(marked_actg_run / "params.yaml", cache_dir=marked_actg_run / "cache")
    compared = 0
    for analysis in (demo_analysis, actg):
        assert analysis.design is not None and analysis.design.option("all_comers").n_randomized is not None
        compared += assert_menu_consistent(analysis.design)
    assert compared >= 4  # stratified designs of both menus were compared, not skipped


def _markdown_of_notebook_on(analysis_change, notebook: str, small_csv: Path, tmp_path: Path) -> list[str]:
    """The Markdown outputs of `notebook` executed on the small trial's analysis after `analysis_change` (the changed
    analysis is stored as the run's cached one, which the notebook opens)."""
    from subgroups import cache
    from subgroups.analysis import open_analysis

    params_file = write_params(tmp_path, small_params(small_csv))
    run_dir = tmp_path / "run"
    analysis = open_analysis(params_file, cache_dir=run_dir / "cache")
    cache.store(cache.complete_entry(run_dir / "cache", analysis.params, analysis.data.fingerprint), analysis_change(analysis))
    executed = runner._execute(notebook, params_file, run_dir, runner.ensure_kernel(runner.KERNEL))
    return [
        "".join(output.get("data", {}).get("text/markdown", ""))
        for cell in nbformat.read(executed, as_version=4).cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    ]


@pytest.mark.slow
def test_design_page_says_so_under_every_heading_when_no_design_was_planned(small_csv: Path, tmp_path: Path):
    """When planning failed (`results['design']` has only its note) the headings of the design page stood over nothing."""
    import dataclasses

    from subgroups import narrative
    from subgroups.results import design_section

    note = "No design planned: a planning setting could not be met"

    def unplanned(analysis):
        return dataclasses.replace(
            analysis, menu=None, results={**analysis.results, "design": design_section(None, None, note).to_dict()}
        )

    texts = _markdown_of_notebook_on(unplanned, "05_trial_design", small_csv, tmp_path)
    assert any("a planning setting could not be met" in text for text in texts), texts
    assert sum(text == narrative.NO_DESIGN_PLANNED for text in texts) == 3  # the menu, the assumptions, the curves


@pytest.mark.slow
def test_explanation_page_draws_no_chart_of_zeros_for_a_constant_effect_model(small_csv: Path, tmp_path: Path):
    import copy
    import dataclasses

    from subgroups import narrative

    def constant(analysis):
        results = copy.deepcopy(analysis.results)
        for level in ("by_feature", "by_family"):
            results["importance"][level] = dict.fromkeys(results["importance"][level], 0.0)
        return dataclasses.replace(analysis, results=results)

    texts = _markdown_of_notebook_on(constant, "03_explain", small_csv, tmp_path)
    assert texts[0].startswith(narrative.CONSTANT_EFFECT_MODEL)
    assert texts.count(narrative.NOT_DRAWN_CONSTANT) == 3  # by feature, by family, direction
