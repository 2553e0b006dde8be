"""Simulation benchmark of subgroup discovery (docs/simulation.md): run the methods, write per-rep rows.

For every scenario x cell x replication this simulates one trial, runs each method on it
(``simulation_methods.METHODS``), scores it (``simulation_metrics``) and appends one row per metric
to ``<out>/<scenario>.csv`` with the columns ``scenario, cell, rep, method, metric, value``. Rows
are flushed after every (replication, method), so an interrupted run loses at most one fit;
restarting the same command skips every (scenario, cell, rep, method) already on disk.

Seeds (docs/simulation.md §1): the trial of replication ``rep`` in cell ``cell_no`` of scenario
``scenario_no`` is drawn from ``SeedSequence([scenario_no, cell_no, rep])``; the methods' own seed
is derived from ``SeedSequence([scenario_no, cell_no, rep, 1])``. The test set T (N_T = 5,000) is
drawn once per scenario from ``SeedSequence([scenario_no, TEST_SET_KEY])``: its covariates are the
same in every cell, its true effects follow the cell.

Usage::

    .venv/bin/python benchmarks/simulate.py --tier smoke
    .venv/bin/python benchmarks/simulate.py --tier full --scenario PM-SNP
    .venv/bin/python benchmarks/simulate.py --tier full --scenario PM-TTE --cell level=L2 --reps 20 --methods ours,B0
"""

from __future__ import annotations

import os

# One thread per process for OpenMP/BLAS (scikit-learn's histogram boosting, numpy): on a shared
# 2-core machine, spinning OpenMP workers slowed single fits by 10-100x. Run shards as separate
# processes instead. An explicit setting in the environment wins.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import datetime as dt  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from collections.abc import Iterable, Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from simulation_methods import METHODS, MethodOutput, Replication  # noqa: E402
from simulation_metrics import Truth, replication_metrics  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from subgroups.datasets.synthetic import (  # noqa: E402
    FEATURES,
    PROGNOSTIC_FEATURES,
    SCENARIO_OUTCOME,
    SimulatedTrial,
    simulate_trial,
)

HERE = Path(__file__).resolve().parent
#: Results folder per tier. Kept apart so the full tier never resumes on (skips) smoke-tier reps.
DEFAULT_OUT = {"full": HERE / "results" / "simulation", "smoke": HERE / "results" / "simulation_smoke"}
COLUMNS = ("scenario", "cell", "rep", "method", "metric", "value")
DONE_METRIC = "wall_time_s"  # written last for each (rep, method): its presence marks the pair as done
N_TEST = 5_000
TEST_SET_KEY = 9_999  # the test set's seed: SeedSequence([scenario_no, TEST_SET_KEY]), never a cell number

#: Scenario numbers of the seeds (order of docs/simulation.md §4).
SCENARIO_NO = {"PM-NULL-a": 1, "PM-NULL-b": 2, "PM-SNP": 3, "PM-LIFESEV": 4, "PM-TTE": 5, "PM-OBS-NULL": 6}

#: Methods that apply to a scenario (default: all). The confounded null is for our pipeline: the
#: baselines and the oracle assume randomization.
SCENARIO_METHODS: dict[str, tuple[str, ...]] = {
    "PM-OBS-NULL": ("ours",),
}


@dataclass(frozen=True)
class Cell:
    """One cell of a scenario: its label, number (for seeds), simulator arguments and null scale."""

    label: str
    number: int
    kwargs: dict[str, Any]
    null_scale: str | None  # scale on which this cell has no heterogeneity; None = alternative
    study: str = "rct"  # how the trial is declared to the pipeline (the data of a cell do not depend on it)

    @property
    def is_null(self) -> bool:
        return self.null_scale is not None


#: Cells per scenario (docs/simulation.md §4). Null cells are null on the named scale only (pitfall 1).
CELLS: dict[str, tuple[Cell, ...]] = {
    "PM-NULL-a": (Cell("base", 0, {}, "mean"),),
    "PM-NULL-b": (Cell("base", 0, {}, "rd"),),
    "PM-SNP": (
        Cell("b1_rel=0", 0, {"b1_rel": 0}, "mean"),
        Cell("b1_rel=1", 1, {"b1_rel": 1}, None),
        Cell("b1_rel=2", 2, {"b1_rel": 2}, None),
    ),
    "PM-LIFESEV": (
        Cell("b1_rel=0", 0, {"b1_rel": 0}, "logit"),
        Cell("b1_rel=1", 1, {"b1_rel": 1}, None),
        Cell("b1_rel=2", 2, {"b1_rel": 2}, None),
    ),
    "PM-TTE": (
        Cell("level=L0", 0, {"level": "L0"}, "hazard"),
        Cell("level=L1", 1, {"level": "L1"}, None),
        Cell("level=L2", 2, {"level": "L2"}, None),
    ),
    # Confounded nulls: analysed as observational (the level of the observational test), and the same
    # trials (same cell number, so the same seeds) declared randomized (the randomization check).
    "PM-OBS-NULL": (
        Cell("c=1", 0, {"confounding": 1.0}, "mean", "observational"),
        Cell("c=2", 1, {"confounding": 2.0}, "mean", "observational"),
        Cell("c=1-rct", 0, {"confounding": 1.0}, "mean", "rct"),
        Cell("c=2-rct", 1, {"confounding": 2.0}, "mean", "rct"),
    ),
}

#: Replications (docs/simulation.md §1): full = 500 in null cells, 200 in alternative cells.
TIERS: dict[str, dict[str, Any]] = {
    "smoke": {
        "cells": {"PM-NULL-a": ("base",), "PM-SNP": ("b1_rel=2",), "PM-TTE": ("level=L2",)},
        "reps_null": 2,
        "reps_alt": 2,
        # Cheap settings: the smoke tier only checks that everything runs.
        "settings": {
            "ours": {"n_estimators": 40, "nuisance_iterations": 40, "folds": 3, "shap_rows": 50},
            "b3_n_estimators": 40,
        },
    },
    "full": {
        "cells": {name: tuple(c.label for c in cells) for name, cells in CELLS.items()},
        "reps_null": 500,
        "reps_alt": 200,
        "settings": {"ours": {}, "b3_n_estimators": None},  # package defaults
    },
}


def cell_by_label(scenario: str, label: str) -> Cell:
    for cell in CELLS[scenario]:
        if cell.label == label:
            return cell
    raise KeyError(label)


def normalize_cell_label(text: str) -> str:
    """'b1_rel=2.0' -> 'b1_rel=2', 'level = l2' -> 'level=L2'."""
    key, sep, value = text.replace(" ", "").partition("=")
    if not sep:
        return text.strip()
    if key == "level":
        return f"level={value.upper()}"
    try:
        number = float(value)
        value = str(int(number)) if number.is_integer() else value
    except ValueError:
        pass
    return f"{key}={value}"


# --- truth and test set ---------------------------------------------------------------------------


def trial_seed(scenario: str, cell: Cell, rep: int) -> np.random.SeedSequence:
    return np.random.SeedSequence([SCENARIO_NO[scenario], cell.number, rep])


def method_seed(scenario: str, cell: Cell, rep: int) -> int:
    state = np.random.SeedSequence([SCENARIO_NO[scenario], cell.number, rep, 1]).generate_state(1)[0]
    return int(state % (2**31 - 1))


def harness_trial(scenario: str, cell: Cell, rep: int, n: int | None = None) -> SimulatedTrial:
    """Replication `rep`'s trial of a scenario and cell (n patients; None: the scenario's size): the data every
    method sees for that replication here, and what the offline scripts (`learner_gap.py`, ...) rebuild."""
    return simulate_trial(scenario, n=n, seed=trial_seed(scenario, cell, rep), **cell.kwargs)


def harness_replication(scenario: str, cell: Cell, rep: int) -> Replication:
    """Replication `rep` at the scenario's size, with the trial itself as the test set (offline scripts)."""
    trial = harness_trial(scenario, cell, rep)
    return Replication(scenario, SCENARIO_OUTCOME[scenario], trial, trial, method_seed(scenario, cell, rep), None, cell.study)


def test_set(scenario: str, cell: Cell, cache: dict | None = None) -> SimulatedTrial:
    """The test set T of a scenario and cell: same covariates in every cell of the scenario."""
    key = (scenario, cell.label)
    if cache is not None and key in cache:
        return cache[key]
    seed = np.random.SeedSequence([SCENARIO_NO[scenario], TEST_SET_KEY])
    trial = simulate_trial(scenario, n=N_TEST, seed=seed, **cell.kwargs)
    if cache is not None:
        cache[key] = trial
    return trial


def truth_of(scenario: str, cell: Cell, trial: SimulatedTrial, test: SimulatedTrial) -> Truth:
    null = cell.is_null
    return Truth(
        outcome=SCENARIO_OUTCOME[scenario],
        null_scale=cell.null_scale,
        predictive=() if null else tuple(trial.predictive),
        # Null cells have no T_pred, so every variable of s(x) counts as prognostic (docs/simulation.md §4, PM-NULL);
        # alternative cells use T_prog = prognostic variables outside T_pred.
        prognostic=PROGNOSTIC_FEATURES if null else tuple(trial.prognostic),
        decoys=() if null else tuple(trial.decoys),
        locus=("snp_01", "snp_02") if scenario == "PM-SNP" and not null else (),
        tau_train=trial.true_effect,
        tau_test=test.true_effect,
        features=tuple(FEATURES),
        g_test=None if null or test.true_subgroup is None else np.asarray(test.true_subgroup, dtype=bool),
        cutpoints={"severity": (45.0, 55.0)} if scenario == "PM-LIFESEV" and not null else {},
        splits={"smoking": (frozenset({"never", "former"}), frozenset({"current"}))}
        if scenario == "PM-LIFESEV" and not null
        else {},
    )


# --- CSV: append, flush, resume ---------------------------------------------------------------------


def csv_path(out: Path, scenario: str) -> Path:
    return Path(out) / f"{scenario}.csv"


def finished(path: Path) -> set[tuple[str, int, str]]:
    """(cell, rep, method) triples complete on disk: their last metric is present and they did not fail.

    A failed fit (metric ``error`` = 1) is retried by the next run, so fixing a bug and re-running
    the same command fills the gaps; the summary keeps the last value of every metric.
    """
    if not path.is_file() or path.stat().st_size == 0:
        return set()
    frame = pd.read_csv(path, on_bad_lines="skip", dtype={"cell": str, "method": str, "metric": str})
    frame = frame.dropna(subset=["cell", "rep", "method", "metric"])
    frame["rep"] = pd.to_numeric(frame["rep"], errors="coerce")
    frame = frame.dropna(subset=["rep"])
    key = ["cell", "rep", "method"]
    done = set(map(tuple, frame.loc[frame["metric"] == DONE_METRIC, key].itertuples(index=False)))
    errors = frame[frame["metric"] == "error"].drop_duplicates(subset=key, keep="last")
    failed = set(map(tuple, errors.loc[pd.to_numeric(errors["value"], errors="coerce") != 0, key].itertuples(index=False)))
    return {(str(c), int(r), str(m)) for c, r, m in done - failed}


def append_rows(path: Path, rows: Sequence[tuple]) -> None:
    """Append rows (with a header for a new file) and flush them to disk at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.is_file() or path.stat().st_size == 0
    broken = False
    if not new:
        with path.open("rb") as handle:  # a run killed mid-line leaves no newline: start a fresh line
            handle.seek(-1, 2)
            broken = handle.read(1) != b"\n"
    with path.open("a", newline="", encoding="utf-8") as handle:
        if broken:
            handle.write("\n")
        writer = csv.writer(handle, lineterminator="\n")
        if new:
            writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(row)
        handle.flush()


def format_value(value: float) -> str:
    return "nan" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.10g}"


# --- the loop -------------------------------------------------------------------------------------------


def run_method(name: str, rep: Replication, settings: dict[str, Any]) -> tuple[MethodOutput | None, float, str]:
    """Run one method; a failure is recorded (metric 'error' = 1), never fatal for the benchmark."""
    start = time.perf_counter()
    try:
        output = METHODS[name](rep, settings)
        return output, time.perf_counter() - start, ""
    except Exception as exc:  # noqa: BLE001 - one failed fit must not stop a 10^4-fit run
        message = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        traceback.print_exc(limit=3, file=sys.stderr)
        return None, time.perf_counter() - start, message


def run_cell(
    scenario: str,
    cell: Cell,
    reps: int,
    methods: Sequence[str],
    settings: dict[str, Any],
    out: Path,
    cache: dict | None = None,
    log=sys.stderr,
    shard: tuple[int, int] = (0, 1),
    n: int | None = None,
) -> int:
    """Run the missing (rep, method) pairs of one cell; returns the number of fits made.

    `n`: the trials' sample size (default: the scenario's, docs/simulation.md §4); the test set keeps its size.

    `shard` (i, k): only the replications r with r % k == i, so that k processes (each writing to its
    own --out folder, merged afterwards) share a cell; a rep's seeds depend on (scenario, cell, r) alone.
    """
    path = csv_path(out, scenario)
    done = finished(path)
    test = None
    fits = 0
    for r in range(reps):
        if r % shard[1] != shard[0]:
            continue
        todo = [m for m in methods if (cell.label, r, m) not in done and m in SCENARIO_METHODS.get(scenario, METHODS)]
        if not todo:
            continue
        if test is None:
            test = test_set(scenario, cell, cache)
        trial = harness_trial(scenario, cell, r, n)
        seed = method_seed(scenario, cell, r)
        rep = Replication(scenario, SCENARIO_OUTCOME[scenario], trial, test, seed, cell.null_scale, cell.study)
        truth = truth_of(scenario, cell, trial, test)
        notes = []
        for name in todo:
            output, seconds, error = run_method(name, rep, settings)
            metrics = replication_metrics(output, truth) if output is not None else {}
            metrics["error"] = 1.0 if error else 0.0
            metrics[DONE_METRIC] = seconds  # last: marks (rep, method) as done
            append_rows(path, [(scenario, cell.label, r, name, key, format_value(v)) for key, v in metrics.items()])
            fits += 1
            p = {k: v for k, v in metrics.items() if k.startswith("p_het")}
            shown = " ".join(f"{k.removeprefix('p_het') or 'p'}={v:.3g}" for k, v in p.items())
            notes.append(f"{name} {seconds:.1f}s{' ' + shown if shown else ''}{' ERROR ' + error if error else ''}")
        print(f"[{scenario} {cell.label} rep {r + 1}/{reps}] " + " | ".join(notes), file=log, flush=True)
    return fits


def check_tier(out: Path, tier: str) -> None:
    """Refuse to mix tiers in one folder: resuming would count cheap smoke fits as full-tier reps."""
    marker = out / "tier.txt"
    if marker.is_file():
        found = marker.read_text(encoding="utf-8").strip()
        if found != tier:
            raise SystemExit(f"{out} holds {found}-tier results; write the {tier} tier to another folder with --out")
    else:
        out.mkdir(parents=True, exist_ok=True)
        marker.write_text(tier + "\n", encoding="utf-8")


def plan(tier: str, scenarios: Iterable[str] | None, cells: Iterable[str] | None) -> list[tuple[str, Cell]]:
    """The (scenario, cell) pairs to run: the tier's, narrowed by --scenario and --cell."""
    chosen = TIERS[tier]["cells"]
    names = list(scenarios) if scenarios else list(chosen)
    wanted = {normalize_cell_label(c) for c in cells} if cells else None
    pairs: list[tuple[str, Cell]] = []
    for name in names:
        if name not in CELLS:
            raise SystemExit(f"unknown scenario {name!r}; valid: {', '.join(CELLS)}")
        labels = chosen.get(name, tuple(c.label for c in CELLS[name])) if wanted is None else None
        for cell in CELLS[name]:
            if (wanted is None and cell.label in labels) or (wanted is not None and cell.label in wanted):
                pairs.append((name, cell))
    if wanted is not None:
        unknown = wanted - {cell.label for _, cell in pairs}
        if unknown:
            raise SystemExit(f"cell(s) {', '.join(sorted(unknown))} not found in {', '.join(names)}")
    return pairs


def run(
    tier: str = "smoke",
    scenarios: Iterable[str] | None = None,
    cells: Iterable[str] | None = None,
    reps: int | None = None,
    methods: Sequence[str] | None = None,
    out: Path | str | None = None,
    log=sys.stderr,
    shard: tuple[int, int] = (0, 1),
    n: int | None = None,
) -> int:
    """Run a tier (or part of it); returns the number of (rep, method) fits made (`shard`, `n`: see `run_cell`)."""
    config = TIERS[tier]
    out = Path(out) if out is not None else DEFAULT_OUT[tier]
    check_tier(out, tier)
    methods = list(methods) if methods else list(METHODS)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise SystemExit(f"unknown method(s) {', '.join(unknown)}; valid: {', '.join(METHODS)}")
    cache: dict = {}
    fits = 0
    # Also when imported (tests), where OpenMP may already be initialised before the variables above.
    with threadpool_limits(limits=int(os.environ.get("OMP_NUM_THREADS", "1"))):
        for scenario, cell in plan(tier, scenarios, cells):
            r = reps if reps is not None else (config["reps_null"] if cell.is_null else config["reps_alt"])
            fits += run_cell(scenario, cell, r, methods, config["settings"], out, cache, log, shard, n)
    return fits


def replace_rows(out: Path, pairs: Sequence[tuple[str, Cell]], methods: Sequence[str]) -> int:
    """Delete the rows of these (scenario, cell) pairs and methods from the scenario CSVs; returns how many."""
    dropped = 0
    for scenario in sorted({scenario for scenario, _ in pairs}):
        path = csv_path(out, scenario)
        if not path.is_file():
            continue
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        cells = {cell.label for name, cell in pairs if name == scenario}
        gone = frame["cell"].isin(cells) & frame["method"].isin(methods)
        dropped += int(gone.sum())
        frame[~gone].to_csv(path, index=False)
    return dropped


def parse_shard(text: str) -> tuple[int, int]:
    """ "I/K" as (I, K) with 0 <= I < K."""
    index, sep, count = text.partition("/")
    if not (sep and index.isdigit() and count.isdigit() and 0 <= int(index) < int(count)):
        raise argparse.ArgumentTypeError(f"{text!r} is not I/K with 0 <= I < K, e.g. 0/2")
    return int(index), int(count)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tier",
        choices=sorted(TIERS),
        default="smoke",
        help="smoke (R = 2, cheap settings) or full (R of docs/simulation.md §1)",
    )
    parser.add_argument("--scenario", action="append", help="scenario to run (repeatable); default: all of the tier")
    parser.add_argument("--cell", action="append", help="cell to run, e.g. b1_rel=2 or level=L2 (repeatable); default: all")
    parser.add_argument("--reps", type=int, help="replications per cell (overrides the tier's R)")
    parser.add_argument("--methods", help=f"comma-separated methods; default all: {','.join(METHODS)}")
    parser.add_argument(
        "--out",
        type=Path,
        help="folder of the per-scenario CSV files; default benchmarks/results/simulation (full) or simulation_smoke (smoke)",
    )
    parser.add_argument(
        "--replace",
        action="store_true",
        help="first delete the rows of the chosen scenarios, cells and methods (a re-run with new code); "
        "then run as usual, so an interrupted re-run resumes with the same command without --replace",
    )
    parser.add_argument(
        "--shard",
        type=parse_shard,
        default=(0, 1),
        metavar="I/K",
        help="run only the replications r with r %% K == I (e.g. 0/2 and 1/2 in two processes with separate --out "
        "folders, merged afterwards); default: all",
    )
    parser.add_argument(
        "--n",
        type=int,
        help="sample size of every simulated trial instead of the scenario's (power against n); needs its own --out "
        "folder, since the committed folder holds the scenarios' own sizes",
    )
    args = parser.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()] if args.methods else None
    if args.n is not None and (args.out is None or args.n < 50):
        raise SystemExit("--n needs its own --out folder (e.g. benchmarks/results/power_vs_n/n=1000) and n >= 50")
    args.out = args.out or DEFAULT_OUT[args.tier]
    check_tier(args.out, args.tier)
    if args.replace:
        dropped = replace_rows(args.out, plan(args.tier, args.scenario, args.cell), methods or list(METHODS))
        print(f"deleted {dropped} row(s) to re-run", file=sys.stderr)
    command = " ".join(["benchmarks/simulate.py", *(argv if argv is not None else sys.argv[1:])])
    with (args.out / "commands.log").open("a", encoding="utf-8") as handle:
        handle.write(f"{dt.datetime.now().isoformat(timespec='seconds')}\t{command}\n")
    start = time.perf_counter()
    fits = run(args.tier, args.scenario, args.cell, args.reps, methods, args.out, shard=args.shard, n=args.n)
    print(f"done: {fits} fit(s) in {time.perf_counter() - start:.0f}s; rows in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
