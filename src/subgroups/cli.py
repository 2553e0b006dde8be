"""Command line: ``subgroups run PARAMS.yaml [-o runs/] [-p key=value ...]`` and ``subgroups validate``.

User errors print one line on stderr and exit with code 2; no traceback. Unexpected failures
(bugs) print one line naming a log file with the traceback and exit with code 1 (``--debug`` shows
the traceback instead). Ctrl-C (exit 130) and SIGTERM (exit 143) mark a running run failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from subgroups.errors import ParameterError, SubgroupsError

EXIT_USER_ERROR = 2
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM
TERMINATED = "terminated by SIGTERM"


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM takes the Ctrl-C path: the runner marks the run failed with this reason, the kernel is shut down.
    raise KeyboardInterrupt(TERMINATED)


def _write_log(exc: BaseException) -> str:
    """The traceback of an unexpected failure, in a private file (mode 0600: it may quote data values)."""
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    fd, path = tempfile.mkstemp(prefix=f"subgroups-error-{stamp}-", suffix=".log")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f"subgroups {' '.join(sys.argv[1:])}\n")
        handle.write("".join(traceback.format_exception(exc)))
    return path


def outcome_line(trial: Any) -> str:
    """What `validate` says of the outcome per arm, for a sanity check before fitting (the analyst's own data:
    counts and means, no patient): events, responders, or mean and SD."""
    import numpy as np

    out = trial.spec.outcome
    arms = [(str(label), trial.treatment == arm) for label, arm in zip(trial.arm_labels, (1, 0))]
    if out.type == "time_to_event":
        unit = out.time_unit or "undeclared time unit"
        per_arm = ", ".join(f"{int(trial.event[rows].sum())} of {int(rows.sum())} on {label!r}" for label, rows in arms)
        return f"outcome: events in '{out.event}' ({unit}): {per_arm}"
    if out.type == "binary":
        per_arm = ", ".join(f"{int(trial.outcome[rows].sum())} of {int(rows.sum())} on {label!r}" for label, rows in arms)
        value = f"'{out.positive}'" if out.positive is not None else "1"
        return f"outcome: '{out.column}' = {value} in {per_arm}"
    per_arm = ", ".join(
        f"mean {np.mean(trial.outcome[rows]):.3g} (SD {np.std(trial.outcome[rows], ddof=1):.3g}) on {label!r}"
        for label, rows in arms
    )
    return f"outcome: '{out.column}' {per_arm}"


def hypotheses_lines(params: Any, trial: Any) -> list[str]:
    """The pre-specified hypotheses as the analysis reads them (rules in the reports' words), so that a reader can see
    before fitting that "snp_01 >= 1" means the carriers; none when none were named."""
    from subgroups.rule_language import parse_rule, rule_text

    lines = []
    candidates = params.heterogeneity.candidates
    if candidates:
        read = [
            c if c in trial.features.columns else rule_text(parse_rule(c, trial, "heterogeneity.candidates")) for c in candidates
        ]
        lines.append(
            f"candidate modifiers (heterogeneity.candidates, sharing {params.heterogeneity.candidate_share:.0%} of alpha): "
            + "; ".join(read)
        )
    if params.subgroups.prespecified:
        lines.append(
            "pre-specified subgroups: " + "; ".join(rule_text(parse_rule(r, trial)) for r in params.subgroups.prespecified)
        )
    return lines


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="subgroups", description="Personalized-medicine subgroup discovery.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run one analysis and render its HTML reports")
    run.add_argument("params", help="parameter file (YAML)")
    run.add_argument("-o", "--out", default="runs", help="folder for run folders (default: runs)")
    run.add_argument(
        "-p", "--param", action="append", default=[], metavar="KEY=VALUE", help="override, e.g. -p estimation.seed=3"
    )

    batch = commands.add_parser("batch", help="run many parameter files (and sweeps) in parallel with Dask")
    batch.add_argument("params", nargs="+", help="parameter files (YAML); a 'sweep' section expands to several runs")
    batch.add_argument("-o", "--out", default="runs", help="folder for run folders, index.html and summary.csv (default: runs)")
    batch.add_argument("--workers", type=int, default=2, help="local worker processes (default: 2)")
    batch.add_argument(
        "--scheduler", default=None, metavar="ADDRESS", help="address of a Dask scheduler, e.g. tcp://10.0.0.5:8786"
    )

    validate = commands.add_parser("validate", help="check a parameter file and its data without fitting")
    validate.add_argument("params")
    validate.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE")
    return parser


# Characters that would end the line of an error message (str.splitlines' set) or drive the terminal.
_CONTROL = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F, 0x85)} | {
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def one_line(message: object) -> str:
    """An error message as one printable line: a newline in a label or a column name (they come
    from the user's files) is shown as ``\\n`` instead of splitting the message."""
    return str(message).translate(_CONTROL)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """The suite's own warnings (data, memory, randomization) as one line on stderr; other libraries' warnings are
    noise for a user of the command line and are shown only with --debug."""
    if getattr(category, "__module__", "").startswith("subgroups"):
        text = " ".join(str(message).split())
        print(f"warning: {text}", file=file or sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    import warnings

    shown = warnings.showwarning
    if not args.debug:
        warnings.showwarning = _show_warning
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread: signals stay as they are
        previous = None
    try:
        return _command(args)
    except KeyboardInterrupt as exc:
        terminated = str(exc) == TERMINATED
        print(f"error: {'terminated' if terminated else 'interrupted'}; the run is marked failed", file=sys.stderr)
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    finally:
        warnings.showwarning = shown
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _command(args: argparse.Namespace) -> int:
    try:
        if args.command == "run":
            from subgroups.runner import run

            result = run(args.params, out_dir=args.out, overrides=args.param)
            ate = result.results["ate"]
            print(
                f"{result.name}: average effect {ate['estimate']:+.3g} "
                f"({ate['ci_level']:.0%} CI {ate['ci_low']:.3g} to {ate['ci_high']:.3g}); reports: {result.index_html}"
            )
        elif args.command == "batch":
            from subgroups.batch import run_batch

            if args.workers < 1:
                raise ParameterError(f"--workers must be at least 1 (got {args.workers})")
            summary = run_batch(args.params, out_dir=args.out, workers=args.workers, scheduler=args.scheduler)
            failed = int((summary["status"] != "succeeded").sum())
            print(f"{len(summary)} runs, {failed} failed; overview: {Path(args.out).resolve() / 'index.html'}")
            if not failed:
                return 0
            # Every failure a mistake in a parameter file or its data: a user error, like a single run's.
            user = summary.loc[summary["status"] != "succeeded", "user_error"].fillna(False).astype(bool).all()
            return EXIT_USER_ERROR if user else EXIT_FAILURE
        elif args.command == "validate":
            from subgroups.data import load_trial
            from subgroups.params import load_params

            params = load_params(args.params, args.param)
            trial = load_trial(params)
            from subgroups.analysis import check_trial

            check_trial(params, trial)  # what run would reject after fitting, rejected now
            from subgroups.resources import check_memory, describe

            check_memory(trial.n, trial.X.shape[1])
            horizon = None
            if params.data.outcome.type == "time_to_event":
                from subgroups.outcomes import trial_horizon

                horizon = trial_horizon(trial, params.report.min_cell)  # a horizon past follow-up stops here
            from subgroups.audit import check_randomization, enforce_randomization

            randomization = (
                check_randomization(trial, params.report.min_cell, params.estimation.seed) if params.data.study == "rct" else None
            )
            warning = enforce_randomization(randomization, params.data.treatment.strict)  # strict: a failure stops here
            print(
                f"{params.name}: parameters valid; {trial.n} patients, {len(trial.feature_names)} features; "
                f"{describe(trial.n, trial.X.shape[1])}"
            )
            print(outcome_line(trial))
            for line in hypotheses_lines(params, trial):
                print(line)
            if horizon is not None:
                at_risk = ", ".join(f"{count} of {horizon.n_arm[arm]} on {arm!r}" for arm, count in horizon.at_risk.items())
                why = f"default: {horizon.rule}" if horizon.source == "default" else horizon.rule
                print(f"{horizon.kind}: {horizon.text} ({why}; at risk then: {at_risk})")
            if trial.dropped:  # the analyst's own data: counts, not patients
                print("left out: " + "; ".join(f"{why}: {count}" for why, count in trial.dropped.items()))
            if warning:
                print(f"WARNING: {one_line(warning)}")
            elif randomization is not None:
                balance = "not tested" if randomization.balance_p is None else f"p = {randomization.balance_p:.3g}"
                if randomization.balance_df is None and randomization.balance_p is not None:
                    balance += " (permutation test: too few patients for the F-test)"
                print(
                    f"randomization check: passed (allocation {randomization.allocation}: p = {randomization.allocation_p:.3g}; "
                    f"covariate balance: {balance}; fails below p = {randomization.alpha:g})"
                )
        return 0
    except SubgroupsError as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except Exception as exc:
        if args.debug:
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        try:
            details = f"traceback in {_write_log(exc)}"
        except OSError:
            details = "rerun with --debug for the traceback"
        print(f"internal error (a bug, please report it): {type(exc).__name__}: {first} ({details})", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
